"""``stormhub check``: content and channels checked together, every problem at once."""

from __future__ import annotations

from pathlib import Path

from hub.config import ChannelConfig, check_channels
from hub.content import load_hub
from hub.errors import ContentError, Problem
from hub.located import Collector
from hub.memo import Memo, bulk
from hub.model import Hub
from hub.privacy import record_overrides, review


def check_hub(root: Path | str) -> tuple[Hub, list[ChannelConfig], list[Problem]]:
    """Load the hub and its channels.

    Returns:
        The hub, its channel configs, and warnings: enabled channels whose
        environment variables are not set (named, never with values), and privacy
        overrides that silence nothing. Privacy overrides used go to the audit log.

    Raises:
        ContentError: every problem in content/ and channels.yaml, and every likely
            piece of patient information (:mod:`hub.privacy`).
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
    if out.problems or privacy.problems:
        raise ContentError(out.problems + privacy.problems)
    warnings += privacy.warnings + record_overrides(root, hub, privacy.overrides)
    return hub, configs, warnings
