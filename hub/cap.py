"""CAP 1.2 alerts (OASIS Common Alerting Protocol) of the hub's updates, and their index.

Every update of severity advisory or higher is an alert at ``cap/<update id>.xml``, and so
is an update that corrects one (it must tell aggregators the earlier alert changed, even
when it lowers the severity). ``cap/index.atom`` links every alert, newest first.

- a correction (``supersedes:``) is ``msgType`` Update, referencing the alert it corrects;
- a retracted update's alert becomes a Cancel (with an identifier of its own, as each CAP
  message needs) referencing the alert it withdraws;
- identifiers come from the site's host and the update id, so every build writes the
  same bytes; an exercise hub's carry ``exercise`` so they never collide with real ones.

CAP values default per hub severity (:data:`DEFAULTS`) and an update's ``cap:`` front
matter overrides them. :func:`problems` checks the rules that the OASIS schema does not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from lxml import etree

from hub import i18n
from hub.model import CAP_RESTRICTED, Area, CapUpdate, Severity, cap_polygon
from hub.text import plain_text, shorten
from hub.words import translator

if TYPE_CHECKING:
    from hub.model import Hub, Update

NS = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
INDEX = "cap/index.atom"
HEADLINE_MAX = 160  # CAP 1.2 3.2.2: headline "SHOULD be less than 160 characters"
_ATOM = "{http://www.w3.org/2005/Atom}"
_C = f"{{{NS}}}"

# (urgency, severity, certainty) of an alert, from the hub's severity of its update
DEFAULTS: dict[Severity, tuple[str, str, str]] = {
    Severity.INFO: ("Future", "Minor", "Likely"),
    Severity.ADVISORY: ("Expected", "Moderate", "Likely"),
    Severity.WARNING: ("Immediate", "Severe", "Likely"),
    Severity.EMERGENCY: ("Immediate", "Extreme", "Observed"),
}
SENT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


def is_alert(hub: Hub, update: Update) -> bool:
    """Whether *update* has a CAP alert: advisory or higher, or a correction of one."""
    if update.severity.rank >= Severity.ADVISORY.rank:
        return True
    return update.supersedes is not None and is_alert(hub, hub.update(update.supersedes))


def uri(update: Update) -> str:
    return f"cap/{update.id}.xml"


def sender(hub: Hub) -> str:
    """``cap.sender`` of hub.yaml, else the site's host name."""
    return hub.info.cap.sender or _host(hub)


def _host(hub: Hub) -> str:
    return urlsplit(str(hub.site_url)).hostname or "localhost"


def identifier(hub: Hub, update: Update, *, cancel: bool = False) -> str:
    """The alert's identifier: the same in every build of the hub."""
    parts = [_host(hub), *(["exercise"] if hub.exercise else []), update.id]
    if cancel:
        parts.append("cancel")
    return ":".join(parts)


def cap_time(hub: Hub, moment: dt.datetime) -> str:
    """``2026-11-26T06:00:00-05:00``: local to the hub, with a numeric offset (never Z).

    CAP 1.2 3.3.2 writes UTC itself as ``-00:00``.
    """
    text = hub.local(moment).isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def reference(hub: Hub, update: Update) -> str:
    """``sender,identifier,sent`` of *update*'s first alert, for ``<references>``."""
    return f"{sender(hub)},{identifier(hub, update)},{cap_time(hub, update.time)}"


def _language(hub: Hub) -> str:
    tag = hub.lang
    return tag if "-" in tag else f"{tag}-{hub.info.country}"


def views(hub: Hub, updates: Sequence[Update] | None = None) -> list[Hub]:
    """*hub*, then its view in each other language (for their ``<info>`` blocks).

    With *updates*, only the languages some of them are translated into.
    """
    index = hub.translation_index
    return [hub, *(
        i18n.localize(hub, language) for language in hub.info.languages[1:]
        if updates is None or any(("update", u.id, language) in index for u in updates)
    )]  # fmt: skip


def alert(hub: Hub, update: Update, languages: list[Hub] | None = None) -> bytes:
    """The CAP 1.2 alert of *update* (see :func:`is_alert`), as UTF-8 XML.

    One ``<info>`` per language that has a current translation of *update* (the hub's
    default language always): *languages* are :func:`views` of *hub*, made once for
    many alerts.
    """
    cancel = update.retracted is not None
    root = etree.Element(f"{_C}alert", nsmap={None: NS})

    def add(parent: etree._Element, name: str, text: str) -> etree._Element:
        element = etree.SubElement(parent, f"{_C}{name}")
        element.text = text
        return element

    add(root, "identifier", identifier(hub, update, cancel=cancel))
    add(root, "sender", sender(hub))
    add(root, "sent", cap_time(hub, update.retracted or update.time))
    add(root, "status", "Exercise" if hub.exercise else "Actual")
    old = hub.update(update.supersedes) if update.supersedes else None
    corrects = old is not None and is_alert(hub, old)
    add(root, "msgType", "Cancel" if cancel else "Update" if corrects else "Alert")
    add(root, "scope", "Public")
    notes = []
    if hub.exercise:
        notes.append("Exercise: this is not a real alert.")
    if cancel:
        notes.append(f"Retracted: {update.retraction}" if update.retraction else "Retracted.")
    if notes:
        add(root, "note", " ".join(notes))
    if cancel:
        add(root, "references", reference(hub, update))
    elif corrects and old is not None:
        add(root, "references", reference(hub, old))

    for view in languages or views(hub):
        if view is hub or i18n.reads_in(view, "update", update.id) == view.lang:
            shown = update if view is hub else view.update(update.id)
            _info(root, view, shown, add, cancel=cancel)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _info(
    root: etree._Element,
    hub: Hub,
    update: Update,
    add: Callable[[etree._Element, str, str], etree._Element],
    *,
    cancel: bool,
) -> None:
    """The ``<info>`` of *update* in the language of *hub* (a view of the hub)."""
    _ = translator(hub.lang)
    info = etree.SubElement(root, f"{_C}info")
    add(info, "language", _language(hub))
    chosen = update.cap or CapUpdate()  # the update's own values, else the defaults
    for category in chosen.category or hub.info.cap.category:
        add(info, "category", category)
    add(info, "event", chosen.event or hub.info.event)
    urgency, severity, certainty = DEFAULTS[update.severity]
    add(info, "urgency", chosen.urgency or urgency)
    add(info, "severity", chosen.severity or severity)
    add(info, "certainty", chosen.certainty or certainty)
    if update.expires is not None:
        add(info, "expires", cap_time(hub, update.expires))
    add(info, "senderName", hub.info.organisation)
    title = f"{_('Retracted:')} {update.title}" if cancel else update.title
    add(info, "headline", shorten(title, HEADLINE_MAX))
    if cancel:
        reason = f" {update.retraction}" if update.retraction else ""
        add(info, "description", _("Please disregard this update.") + reason)
    else:
        add(info, "description", plain_text(update.body))
        if update.instruction:
            add(info, "instruction", update.instruction)
    add(info, "web", hub.permalink(update))
    add(info, "contact", hub.info.cap.contact or hub.info.organisation)

    area = update.area or hub.info.area or Area(description=f"{hub.info.organisation} area")
    where = etree.SubElement(info, f"{_C}area")
    add(where, "areaDesc", area.description)
    for polygon in area.polygons:
        add(where, "polygon", polygon)
    for code in area.geocodes:
        geocode = etree.SubElement(where, f"{_C}geocode")
        add(geocode, "valueName", code.name)
        add(geocode, "value", code.value)


INDEX_LATEST = 50  # alerts listed in cap/index.atom, as the feeds list 50 updates


def alerts(hub: Hub) -> list[Update]:
    """The updates that have alerts, newest message first."""
    found = [u for u in hub.updates if is_alert(hub, u)]
    return sorted(found, key=lambda u: (u.retracted or u.time, u.id), reverse=True)


def index(hub: Hub, now: dt.datetime) -> bytes:
    """``cap/index.atom``: an Atom feed linking the newest :data:`INDEX_LATEST` alerts.

    Bounded like the other feeds: an aggregator polls it for what is new, and every
    alert stays at its own address.
    """
    info = hub.info
    listed = alerts(hub)[:INDEX_LATEST]
    fg = FeedGenerator()
    fg.id(hub.url(INDEX))
    fg.title(f"CAP alerts: {info.event}: {info.organisation}")
    fg.subtitle(f"Common Alerting Protocol 1.2 alerts from {info.organisation}")
    fg.link(href=hub.url(), rel="alternate")
    fg.link(href=hub.url(INDEX), rel="self", type="application/atom+xml")
    fg.language(info.language)
    fg.author({"name": info.organisation, "uri": hub.url()})
    fg.generator("StormHub")
    fg.updated(max((u.retracted or u.time for u in listed), default=now))
    for update in listed:
        fe = fg.add_entry(order="append")
        fe.id(hub.url(uri(update)))
        fe.title(f"Retracted: {update.title}" if update.retracted else update.title)
        fe.link(href=hub.url(uri(update)))
        fe.updated(update.retracted or update.time)
        fe.published(update.time)
        fe.summary(shorten(plain_text(update.body), 300))
        fe.category(term=update.severity.value)
    tree = etree.fromstring(fg.atom_str())
    # feedgen 1.0 drops an entry link's type and rel (see hub.feeds); set them here
    for entry, update in zip(tree.iterfind(f"{_ATOM}entry"), listed, strict=True):
        link = entry.find(f"{_ATOM}link")
        assert link is not None
        link.set("rel", "alternate")
        link.set("type", MEDIA_TYPE)
        page = etree.SubElement(entry, f"{_ATOM}link", rel="related", type="text/html")
        page.set("href", hub.permalink(update))
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def site_files(hub: Hub, now: dt.datetime) -> dict[str, str | bytes]:
    """Every alert and the index, for a full build of the default language's site.

    (An alert holds every language: the other languages' sites have none.)
    """
    if hub.language is not None:
        return {}
    languages = views(hub)
    files: dict[str, str | bytes] = {uri(u): alert(hub, u, languages) for u in alerts(hub)}
    files[INDEX] = index(hub, now)
    return files


def touched_files(hub: Hub, now: dt.datetime, touched: Sequence[Update]) -> dict[str, str | bytes]:
    """The alerts of the *touched* updates, and the index, for the fast path."""
    if hub.language is not None:
        return {}
    made = [u for u in touched if is_alert(hub, u)]
    languages = views(hub, made)
    files: dict[str, str | bytes] = {uri(u): alert(hub, u, languages) for u in made}
    files[INDEX] = index(hub, now)
    return files


def problems(xml: bytes) -> list[str]:
    """What breaks the CAP 1.2 rules the OASIS schema does not check, in an alert's XML."""
    root = etree.fromstring(xml)
    found = []

    def texts(path: str) -> list[str]:
        return [e.text or "" for e in root.iterfind(path, {"c": NS})]

    for name in ("identifier", "sender"):
        for text in texts(f"c:{name}"):
            if not text or CAP_RESTRICTED.search(text):
                found.append(f"{name} {text!r} is empty or holds a space, comma, < or &")
    for path in ("c:sent", "c:info/c:effective", "c:info/c:onset", "c:info/c:expires"):
        for text in texts(path):
            if not SENT_RE.match(text):
                name = path.rsplit(":", 1)[-1]
                found.append(f"{name} {text!r} is not YYYY-MM-DDThh:mm:ss+hh:mm")
    for text in texts("c:references"):
        for ref in text.split():
            parts = ref.split(",")
            if len(parts) != 3 or not SENT_RE.match(parts[2]):
                found.append(f"reference {ref!r} is not sender,identifier,sent")
    for text in texts("c:info/c:area/c:polygon"):
        try:
            cap_polygon(text)
        except ValueError as exc:
            found.append(f"polygon {text!r}: {exc}")
    msg_type = texts("c:msgType")
    if (
        msg_type
        and msg_type[0] in {"Update", "Cancel", "Ack", "Error"}
        and not texts("c:references")
    ):
        found.append(f"msgType {msg_type[0]} without references")
    for text in texts("c:info/c:headline"):
        if len(text) > HEADLINE_MAX:
            found.append(f"headline is {len(text)} characters, more than {HEADLINE_MAX}")
    return found
