"""``stormhub check``: content and channels checked together, every problem at once."""

from __future__ import annotations

from pathlib import Path

from hub.config import ChannelConfig, check_channels
from hub.content import load_hub
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
    return hub, configs, warnings


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
