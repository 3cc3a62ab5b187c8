"""``stormhub check``: content and channels checked together, every problem at once."""

from __future__ import annotations

from pathlib import Path

from hub.config import ChannelConfig, check_channels
from hub.content import docs_dir_of, load_hub, page_translations
from hub.errors import ContentError, Problem
from hub.i18n import stale
from hub.located import Collector
from hub.memo import Memo, bulk
from hub.model import Hub
from hub.privacy import record_overrides, review


def check_hub(root: Path | str) -> tuple[Hub, list[ChannelConfig], list[Problem]]:
    """Load the hub and its channels.

    Returns:
        The hub, its channel configs, and warnings: enabled channels whose
        environment variables are not set (named, never with values), privacy
        overrides that silence nothing, and stale translations. Privacy overrides used
        go to the audit log.

    Raises:
        ContentError: every problem in content/ and channels.yaml, and every likely
            piece of patient information (:mod:`hub.privacy`), and channels in a
            language the hub does not list.
    """
    root = Path(root).resolve()
    out = Collector(root)
    configs, warnings = check_channels(root, out)
    memo = Memo.open(root)  # earlier runs' work on files that have not changed
    try:
        hub = load_hub(root, memo=memo)
    except ContentError as exc:
        memo.save()
        raise ContentError(exc.problems + out.problems) from None
    from hub.standby import check_templates  # it builds on check_hub

    check_templates(root, hub, out)  # a dark site's prepared updates, long before they are needed
    with bulk():  # thousands of memoised scans, unpickled: no collection walks them
        privacy = review(hub, memo=memo)  # likely patient information, missing consent
    memo.save()
    out.problems += _channel_languages(hub, configs)
    if out.problems or privacy.problems:
        raise ContentError(out.problems + privacy.problems)
    warnings += privacy.warnings + record_overrides(root, hub, privacy.overrides)
    # A stale translation never holds up the default text: readers of that language see
    # the default text marked "Translation pending" until it is brought up to date.
    warnings += stale(hub)
    problems, stale_pages = _page_translations(root, hub)
    if problems:
        raise ContentError(problems)
    return hub, configs, warnings + stale_pages


def _page_translations(root: Path, hub: Hub) -> tuple[list[Problem], list[Problem]]:
    """Hand-written pages' translations: problems, and warnings.

    One of a page that does not exist is a problem; a stale one, or one without a
    source, is a warning, as for every translation.
    """
    problems, warnings = [], []
    default = hub.info.language
    for t in page_translations(root, docs_dir_of(root), hub.info.languages):
        if t.wanted is None:
            problems.append(
                Problem(
                    t.path,
                    1,
                    1,
                    "file",
                    f"translates docs/{t.page}, which does not exist: name it "
                    "<page>.<language>.md after the page it translates",
                )
            )
        elif t.source is None:
            warnings.append(
                Problem(
                    t.path,
                    1,
                    1,
                    "translation",
                    f"no source: if it is up to date with the {default} page, "
                    f"add source: {t.wanted} to its front matter",
                )
            )
        elif t.source != t.wanted:
            warnings.append(
                Problem(
                    t.path,
                    1,
                    1,
                    "translation",
                    f"stale: docs/{t.page} changed after this translation was "
                    f"made (it was made from {t.source}, the page is now "
                    f"{t.wanted}); until it is updated, readers see the {default} "
                    f"page marked 'Translation pending'. Update the translation, "
                    f"then set source: {t.wanted}",
                )
            )
    return problems, warnings


def _channel_languages(hub: Hub, configs: list[ChannelConfig]) -> list[Problem]:
    """A channel that names a language the hub does not list."""
    found = []
    languages = hub.info.languages
    for config in configs:
        if config.language is not None and config.language not in languages:
            path, line, col = config.position
            found.append(
                Problem(
                    path,
                    line,
                    col,
                    "language",
                    f"{config.name}: {config.language!r} is not one of the hub's languages "
                    f"({', '.join(languages)}): add it to content/hub.yaml's languages, "
                    "or fix the channel's language:",
                )
            )
    return found
