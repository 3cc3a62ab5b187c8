r"""schema.org ``SpecialAnnouncement`` JSON-LD for the home page and each update page.

Search engines and news aggregators read it for emergency information. The block is
written into the page's Markdown as a raw ``<script type="application/ld+json">``, which
Python-Markdown passes through untouched and the search index skips. ``<``, ``>`` and
``&`` are written as JSON ``\u`` escapes, so no text (an update saying ``</script>``)
can end the script early.

No ``category`` is given: the only one Google documents is COVID-19's Wikidata item.
No ``spatialCoverage`` yet: ``area:`` in hub.yaml (added for CAP alerts, at the same time)
could give it as a ``Place``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hub import i18n
from hub.model import HubStatus
from hub.text import plain_text

if TYPE_CHECKING:
    import datetime as dt

    from hub.model import Hub, Update

CONTEXT = "https://schema.org"
_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script(data: dict[str, Any]) -> str:
    """*data* as a ``<script type="application/ld+json">`` element that cannot be broken out of."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Outside strings JSON has none of these characters, so only string contents change.
    return f'<script type="application/ld+json">{text.translate(_UNSAFE)}</script>'


def _time(hub: Hub, moment: dt.datetime) -> str:
    """ISO 8601 with the hub's local offset, as people there read it."""
    return hub.local(moment).isoformat()


def _publisher(hub: Hub) -> dict[str, Any]:
    return {"@type": "Organization", "name": hub.info.organisation, "url": hub.url()}


def hub_announcement(hub: Hub) -> dict[str, Any] | None:
    """The hub as one announcement; None on standby or before the first update.

    ``datePosted`` is the first update's time and ``dateModified`` the latest's.
    """
    if hub.info.status is HubStatus.STANDBY or not hub.updates:
        return None
    info = hub.info
    text = " ".join(t for t in (info.banner.text if info.banner else "", info.description) if t)
    return {
        "@context": CONTEXT,
        "@type": "SpecialAnnouncement",
        "name": info.event,
        "text": text or info.event,
        "datePosted": _time(hub, hub.updates[-1].time),
        "dateModified": _time(hub, hub.updates[0].time),
        "url": hub.url(),
        "newsUpdatesAndGuidelines": hub.url("updates/"),
        "webFeed": hub.url("feed.xml"),
        "publisher": _publisher(hub),
        "inLanguage": hub.lang,
    }


def update_announcement(hub: Hub, update: Update) -> dict[str, Any]:
    """One update as an announcement; a retracted one expires when it was retracted."""
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "SpecialAnnouncement",
        "name": update.title,
        "text": plain_text(update.body),
        "datePosted": _time(hub, update.time),
        "url": hub.permalink(update),
        "publisher": _publisher(hub),
        "inLanguage": i18n.reads_in(hub, "update", update.id),
    }
    ends = [t for t in (update.expires, update.retracted) if t is not None]
    if ends:
        data["expires"] = _time(hub, min(ends))
    return data
