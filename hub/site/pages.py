"""The hub's pages as Markdown: a pure function of the :class:`~hub.model.Hub`.

Nothing here imports mkdocs; :mod:`hub.site.plugin` hands the result to it.
Updates are never listed in the navigation: the home page shows the latest,
``updates/`` the latest :data:`LATEST`, and bounded archive pages the rest.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import posixpath
import re
from collections.abc import Iterable
from itertools import groupby
from typing import TYPE_CHECKING

from hub import jsonld
from hub.model import ClosureStatus, HubStatus, Severity, display_phone
from hub.text import plain_text, shorten

if TYPE_CHECKING:
    from hub.model import Closure, Contact, Hub, Update

LATEST = 50  # updates on the live updates page, and per archive page
HOME_LATEST = 8
ADMONITION = {
    Severity.INFO: "info",
    Severity.ADVISORY: "note",
    Severity.WARNING: "warning",
    Severity.EMERGENCY: "danger",
}
FEEDS = (
    ("feed.xml", "application/rss+xml", "RSS"),
    ("atom.xml", "application/atom+xml", "Atom"),
    ("feed.json", "application/feed+json", "JSON Feed"),
)

# Lists of updates stay out of the search index: each update is found on its own page.
NOT_SEARCHED: dict[str, object] = {"search": {"exclude": True}}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def esc(text: str) -> str:
    """Text that Markdown and HTML will show literally."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def time_label(hub: Hub, moment: dt.datetime, *, date: bool = True) -> str:
    """``Fri Nov 27, 6:15 AM EST``: local time with the zone's abbreviation."""
    local = hub.local(moment)
    hour = local.hour % 12 or 12
    clock = f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {local:%Z}"
    return f"{local:%a %b} {local.day}, {clock}" if date else clock


def when(hub: Hub, moment: dt.datetime) -> str:
    """A ``<time>`` element: machine-readable UTC, human-readable local time."""
    iso = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return f'<time datetime="{iso}">{time_label(hub, moment)}</time>'


def badge(severity: Severity) -> str:
    return f'<span class="sh-sev sh-sev--{severity.value}">{severity.label}</span>'


def closure_badge(status: ClosureStatus) -> str:
    return f'<span class="sh-status sh-status--{status.value}">{status.label}</span>'


def tel(number: str, country: str, scheme: str = "tel") -> str:
    shown = display_phone(number, country)
    return f'<a href="{scheme}:{number}">{html.escape(shown)}</a>'


def summary(update: Update, limit: int = 200) -> str:
    return shorten(plain_text(update.body), limit)


def _front(meta: dict[str, object]) -> str:
    # JSON is YAML, and far quicker to write than yaml.safe_dump for thousands of pages.
    return "---\n" + json.dumps(meta, ensure_ascii=False) + "\n---\n\n"


def _link(target: str, here: str) -> str:
    """A relative link from page *here* to page *target*, both source paths (``a/b.md``)."""
    return posixpath.relpath(target, posixpath.dirname(here) or ".")


def _update_entry(hub: Hub, update: Update, here: str, *, level: int, full: bool) -> str:
    heading = "#" * level
    link = _link(f"updates/{update.id}.md", here)
    lines = [
        f"{heading} [{esc(update.title)}]({link})",
        "",
        f"{badge(update.severity)} {when(hub, update.time)}"
        + (" · <strong>Correction</strong>" if update.supersedes else "")
        + (" · <strong>Retracted</strong>" if update.retracted else ""),
        "",
        update.body if full else esc(summary(update)),
        "",
    ]
    return "\n".join(lines)


def home(hub: Hub, now: dt.datetime) -> str:
    info = hub.info
    parts = [
        _front({"title": info.event, "description": info.description or info.event}),
        f"# {esc(info.event)}",
        "",
        f"{esc(info.organisation)} · " + _status_line(hub, now),
        "",
    ]
    if info.banner is not None:
        parts += [
            f'!!! {ADMONITION[info.banner.severity]} "{info.banner.severity.label}"',
            "",
            f"    {esc(info.banner.text)}",
            "",
        ]
    if info.status is HubStatus.STANDBY:
        parts += _standby(hub)
    parts += ["## Latest updates", ""]
    if not hub.updates:
        parts += ["No updates yet.", ""]
    for update in hub.updates[:HOME_LATEST]:
        parts.append(_update_entry(hub, update, "index.md", level=3, full=False))
    parts += ["[All live updates](updates/index.md)", ""]
    current = [c for c in hub.closures if c.is_current(now)]
    parts += ["## Current closures", ""]
    parts += _closure_table(hub, current) if current else ["No closures in effect.", ""]
    parts += ["[All closures and reopenings](closures.md)", ""]
    key = [c for c in hub.contacts if c.key]
    if key:
        parts += ["## Key contacts", ""]
        parts += [f"- **{esc(c.name)}**: {tel(c.phone, info.country)}" for c in key]
        parts += ["", "[All contacts](contacts.md)", ""]
    parts += [
        "## Other ways to follow",
        "",
        "- [Text-only page for slow connections](lite/)",
        *[f"- [{label} feed]({path})" for path, _, label in FEEDS],
        "",
    ]
    announcement = jsonld.hub_announcement(hub)
    if announcement is not None:
        parts += [jsonld.script(announcement), ""]
    return "\n".join(parts)


def _standby(hub: Hub) -> list[str]:
    """The dark site's quiet welcome: no emergency now, and how to get ready for one."""
    parts = [
        "## Get ready now",
        "",
        "No emergency is in progress. When one begins, live updates, closures and "
        "contacts appear here first: bookmark this page.",
        "",
    ]
    listed = {name: i for i, name in enumerate(hub.info.tip_categories)}
    ready = sorted(hub.tips, key=lambda t: (listed.get(t.category, len(listed)), t.order))
    parts += [f"- [{esc(t.title)}](tips.md#{t.id})" for t in ready[:6]]
    if hub.tips:
        parts += ["", "[All safety tips](tips.md)", ""]
    return parts


def _status_line(hub: Hub, now: dt.datetime) -> str:
    status = hub.info.status
    latest = hub.updates[0].time if hub.updates else None
    text = {
        HubStatus.ACTIVE: "This hub is active",
        HubStatus.STANDBY: "This hub is on standby: no emergency is in progress",
        HubStatus.CLOSED: "This hub is closed and no longer updated",
    }[status]
    if latest is not None:
        text += f" · Last update {when(hub, latest)}"
    return text


def _closure_table(hub: Hub, closures: Iterable[Closure]) -> list[str]:
    rows = ["| Facility or service | Status | Since | Until |", "| --- | --- | --- | --- |"]
    for c in closures:
        until = when(hub, c.until) if c.until else _open_ended(c)
        link = f"[{esc(c.facility)}](closures.md#{c.id})"
        rows.append(f"| {link} | {closure_badge(c.status)} | {when(hub, c.from_)} | {until} |")
    return [*rows, ""]


def _open_ended(closure: Closure) -> str:
    return "Reopened" if closure.status is ClosureStatus.OPEN else "Further notice"


def updates_index(hub: Hub) -> str:
    parts = [
        _front(
            {
                "title": "Live updates",
                "description": f"Live updates: {hub.info.event}",
                **NOT_SEARCHED,
            }
        ),
        "# Live updates",
        "",
        "Newest first. Times are local time.",
        "",
    ]
    if not hub.updates:
        parts += ["No updates yet.", ""]
    for update in hub.updates[:LATEST]:
        parts.append(_update_entry(hub, update, "updates/index.md", level=2, full=True))
    if len(hub.updates) > LATEST:
        parts += ["## Older updates", "", *_archive_links(hub, "updates/index.md"), ""]
    return "\n".join(parts)


def archive_pages(hub: Hub) -> list[tuple[Update, ...]]:
    """Updates in pages of :data:`LATEST`, oldest page first, so page numbers never move."""
    oldest_first = hub.updates[::-1]
    return [oldest_first[i : i + LATEST] for i in range(0, len(oldest_first), LATEST)]


def _archive_links(hub: Hub, here: str) -> list[str]:
    links = []
    for number, page in reversed(list(enumerate(archive_pages(hub), start=1))):
        first, last = page[0], page[-1]
        links.append(
            f"- [Page {number}]({_link(f'updates/archive/{number}.md', here)}): "
            f"{time_label(hub, first.time)} to {time_label(hub, last.time)}"
        )
    return links


def archive_page(hub: Hub, number: int, page: tuple[Update, ...]) -> str:
    here = f"updates/archive/{number}.md"
    total = len(archive_pages(hub))
    parts = [
        _front({"title": f"Updates archive, page {number} of {total}", **NOT_SEARCHED}),
        f"# Updates archive: page {number} of {total}",
        "",
        f"From {when(hub, page[0].time)} to {when(hub, page[-1].time)}, newest first.",
        "",
    ]
    for update in reversed(page):
        parts.append(_update_entry(hub, update, here, level=2, full=False))
    nav = []
    if number < total:
        nav.append(f"[Newer updates]({number + 1}.md)")
    if number > 1:
        nav.append(f"[Older updates]({number - 1}.md)")
    nav.append(f"[Latest updates]({_link('updates/index.md', here)})")
    parts += [" · ".join(nav), ""]
    return "\n".join(parts)


def update_page(hub: Hub, update: Update, now: dt.datetime) -> str:
    here = f"updates/{update.id}.md"
    meta: dict[str, object] = {
        "title": update.title,
        "description": summary(update),
        "stormhub_update": update.id,
        "stormhub_time": update.time.isoformat(),
    }
    if update.image:
        meta["stormhub_image"] = update.image
        meta["stormhub_image_alt"] = update.alt
    parts = [
        _front(meta),
        f"# {esc(update.title)}",
        "",
        f"{badge(update.severity)} {when(hub, update.time)}",
        "",
    ]
    if update.retracted is not None:
        reason = f" {esc(update.retraction)}" if update.retraction else ""
        parts += [
            '!!! danger "This update was retracted"',
            "",
            f"    Retracted {when(hub, update.retracted)}: please disregard it.{reason}",
            "",
        ]
    correction = hub.corrections.get(update.id)
    if correction is not None:
        link = _link(f"updates/{correction.id}.md", here)
        parts += [
            '!!! warning "This update was corrected"',
            "",
            f"    See the correction: [{esc(correction.title)}]({link}), "
            f"{when(hub, correction.time)}.",
            "",
        ]
    if update.supersedes:
        old = hub.update(update.supersedes)
        link = _link(f"updates/{old.id}.md", here)
        parts += [
            '!!! note "Correction"',
            "",
            f"    This corrects an earlier update: [{esc(old.title)}]({link}), "
            f"{when(hub, old.time)}.",
            "",
        ]
    if update.is_expired(now) and update.expires is not None:
        parts += [f"*This notice expired {when(hub, update.expires)}.*", ""]
    if update.image:
        parts += [f"![{esc(update.alt or '')}]({_link(update.image, here)})", ""]
    parts += [update.body, ""]
    if update.expires is not None and not update.is_expired(now):
        parts += [f"*In effect until {when(hub, update.expires)}.*", ""]
    if update.tags:
        parts += ["Topics: " + ", ".join(esc(t) for t in update.tags), ""]
    parts += [f"[All live updates]({_link('updates/index.md', here)})", ""]
    parts += [jsonld.script(jsonld.update_announcement(hub, update)), ""]
    return "\n".join(parts)


def closures(hub: Hub, now: dt.datetime) -> str:
    current = [c for c in hub.closures if c.is_current(now)]
    ended = [c for c in hub.closures if not c.is_current(now)]
    parts = [
        _front({"title": "Closures", "description": "Closed, limited and reopened services"}),
        "# Closures",
        "",
        "What is closed or limited right now, and what to use instead.",
        "",
        "[Add these closures to your calendar](closures.ics) (iCalendar: subscribe to its "
        "address to keep it up to date)",
        "",
        "## In effect now",
        "",
    ]
    if not current:
        parts += ["No closures in effect.", ""]
    for closure in sorted(current, key=_closure_order):
        parts.append(_closure_entry(hub, closure))
    if ended:
        parts += ["## Ended", "", "These closures are over; kept here for reference.", ""]
        for closure in sorted(ended, key=lambda c: c.until or c.from_, reverse=True):
            parts.append(_closure_entry(hub, closure))
    return "\n".join(parts)


def _closure_order(closure: Closure) -> tuple[int, dt.datetime]:
    rank = list(ClosureStatus).index(closure.status)
    return rank, closure.from_


def _closure_entry(hub: Hub, c: Closure) -> str:
    if c.status is ClosureStatus.OPEN:
        period = f"Since {when(hub, c.from_)}."
    else:
        until = f"until {when(hub, c.until)}" if c.until else "until further notice"
        period = f"From {when(hub, c.from_)}, {until}."
    lines = [
        f"### {esc(c.facility)} {{#{c.id}}}",
        "",
        f"{closure_badge(c.status)} {period}",
        "",
    ]
    if c.note:
        lines += [c.note, ""]
    if c.alternatives:
        lines += ["**Instead:**", ""]
        lines += [f"- {esc(alt)}" for alt in c.alternatives]
        lines.append("")
    return "\n".join(lines)


def contacts(hub: Hub) -> str:
    country = hub.info.country
    parts = [
        _front({"title": "Contacts", "description": "Emergency and service phone numbers"}),
        "# Contacts",
        "",
        "In a life-threatening emergency, call 911.",
        "",
        "[Save all these contacts to your phone](contacts.vcf) (vCard)",
        "",
        "[Printable poster with the key numbers and a QR code](poster/index.html)",
        "",
    ]
    by_category = sorted(hub.contacts, key=lambda c: c.category)
    for category, group in groupby(by_category, key=lambda c: c.category):
        parts += [f"## {esc(category)}", ""]
        for c in group:
            parts.append(_contact_entry(c, country))
    return "\n".join(parts)


def _contact_entry(c: Contact, country: str) -> str:
    lines = [f"### {esc(c.name)} {{#{c.id}}}", "", f"- Call: {tel(c.phone, country)}"]
    if c.sms:
        lines.append(f"- Text: {tel(c.sms, country, 'sms')}")
    if c.tty:
        lines.append(f"- TTY: {tel(c.tty, country)}")
    if c.hours:
        lines.append(f"- Hours: {esc(c.hours)}")
    if c.url:
        lines.append(f"- Web: <{c.url}>")
    if c.note:
        lines.append(f"- {esc(c.note)}")
    lines += [f"- Number checked {c.verified:%b} {c.verified.day}, {c.verified.year}", ""]
    return "\n".join(lines)


def tips(hub: Hub) -> str:
    parts = [
        _front({"title": "Safety tips", "description": "Health and safety tips for the storm"}),
        "# Health and safety tips",
        "",
    ]
    listed = {name: i for i, name in enumerate(hub.info.tip_categories)}
    order = sorted(
        hub.tips,
        key=lambda t: (listed.get(t.category, len(listed)), t.category, t.order, t.title),
    )
    for category, group in groupby(order, key=lambda t: t.category):
        parts += [f"## {esc(category)}", ""]
        for tip in group:
            parts += [f"### {esc(tip.title)} {{#{tip.id}}}", "", tip.body, ""]
    return "\n".join(parts)


def resources(hub: Hub) -> str:
    parts = [
        _front({"title": "Resources", "description": "Where to find more help"}),
        "# Resources",
        "",
    ]
    order = sorted(hub.resources, key=lambda r: (r.category, r.title))
    for category, group in groupby(order, key=lambda r: r.category):
        parts += [f"## {esc(category)}", ""]
        for r in group:
            description = f": {esc(r.description)}" if r.description else ""
            parts.append(f"- [{esc(r.title)}]({r.url}){description}")
        parts.append("")
    return "\n".join(parts)


def render(hub: Hub, now: dt.datetime) -> dict[str, str]:
    """Every generated page, keyed by its source path (``updates/<id>.md``)."""
    pages = {
        "index.md": home(hub, now),
        "updates/index.md": updates_index(hub),
        "closures.md": closures(hub, now),
        "contacts.md": contacts(hub),
        "tips.md": tips(hub),
        "resources.md": resources(hub),
    }
    for number, page in enumerate(archive_pages(hub), start=1):
        pages[f"updates/archive/{number}.md"] = archive_page(hub, number, page)
    for update in hub.updates:
        pages[f"updates/{update.id}.md"] = update_page(hub, update, now)
    return pages


NAV = (
    ("Home", "index.md"),
    ("Live updates", "updates/index.md"),
    ("Closures", "closures.md"),
    ("Contacts", "contacts.md"),
    ("Safety tips", "tips.md"),
    ("Resources", "resources.md"),
)
