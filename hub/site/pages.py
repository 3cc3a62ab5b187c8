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

from hub import i18n, jsonld
from hub.model import ClosureStatus, HubStatus, Severity, display_phone
from hub.text import plain_text, shorten
from hub.words import (
    N_,
    date_label,
    in_language,
    see_original,
    translator,
)
from hub.words import time_label as local_label

if TYPE_CHECKING:
    from hub.model import Closure, Contact, Hub, TranslationKind, Update

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
    """``Fri Nov 27, 6:15 AM EST``: local time and zone, in the view's language.

    (``sáb 28 nov, 19:30 EST`` in Spanish.)
    """
    return local_label(hub.local(moment), hub.lang, date=date)


def when(hub: Hub, moment: dt.datetime) -> str:
    """A ``<time>`` element: machine-readable UTC, human-readable local time."""
    iso = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return f'<time datetime="{iso}">{time_label(hub, moment)}</time>'


def badge(severity: Severity, language: str = "en") -> str:
    label = translator(language)(severity.label)
    return f'<span class="sh-sev sh-sev--{severity.value}">{label}</span>'


def closure_badge(status: ClosureStatus, language: str = "en") -> str:
    label = translator(language)(status.label)
    return f'<span class="sh-status sh-status--{status.value}">{label}</span>'


def _english_mark(hub: Hub, kind: TranslationKind, item_id: str) -> str:
    """`` (en inglés)`` after an item a language view shows untranslated; else ``""``."""
    if i18n.reads_in(hub, kind, item_id) == hub.lang:
        return ""
    mark = in_language(hub.info.language, hub.lang)
    return f' <span class="sh-lang-mark" lang="{hub.lang}">({esc(mark)})</span>'


def lang_attr(hub: Hub, kind: TranslationKind, item_id: str) -> str:
    """`` lang="en"`` for an item that reads in another language than its page."""
    language = i18n.reads_in(hub, kind, item_id)
    return "" if language == hub.lang else f' lang="{language}"'


def _in_language(hub: Hub, kind: TranslationKind, item_id: str, markdown: str) -> str:
    """Markdown *markdown*, marked with its language when the page is in another."""
    attr = lang_attr(hub, kind, item_id)
    return f"<div{attr} markdown>\n\n{markdown}\n\n</div>" if attr else markdown


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


def update_link(hub: Hub, update: Update, here: str) -> str:
    """A link from page *here* to *update*'s page, in this view's language if it has one.

    Else the default language's page: outside this language's site, so by its path.
    """
    if hub.has_page(update):
        return _link(f"updates/{update.id}.md", here)
    return hub.root_path(hub.update_path(update))


def _update_entry(hub: Hub, update: Update, here: str, *, level: int, full: bool) -> str:
    _ = translator(hub.lang)
    heading = "#" * level
    link = update_link(hub, update, here)
    attr = lang_attr(hub, "update", update.id)
    title = f"[{esc(update.title)}]({link})" + _english_mark(hub, "update", update.id)
    lines = [
        f"{heading} {title}" + (f" {{{attr.strip()}}}" if attr else ""),
        "",
        f"{badge(update.severity, hub.lang)} {when(hub, update.time)}"
        + (f" · <strong>{_('Correction')}</strong>" if update.supersedes else "")
        + (f" · <strong>{_('Retracted')}</strong>" if update.retracted else ""),
        "",
        _in_language(hub, "update", update.id, update.body if full else esc(summary(update))),
        "",
    ]
    return "\n".join(lines)


def home(hub: Hub, now: dt.datetime) -> str:
    _ = translator(hub.lang)
    info = hub.info
    parts = [
        _front({"title": info.event, "description": info.description or info.event}),
        f"# {esc(info.event)}",
        "",
        f"{esc(info.organisation)} · " + _status_line(hub, now),
        "",
    ]
    if info.banner is not None:
        label = _(info.banner.severity.label)
        banner = esc(info.banner.text)
        if attr := lang_attr(hub, "banner", ""):
            banner = f"<span{attr}>{banner}</span>"
        parts += [
            f'!!! {ADMONITION[info.banner.severity]} "{label}"',
            "",
            f"    {banner}",
            "",
        ]
    if info.status is HubStatus.STANDBY:
        parts += _standby(hub)
    parts += [f"## {_('Latest updates')}", ""]
    if not hub.updates:
        parts += [_("No updates yet."), ""]
    for update in hub.updates[:HOME_LATEST]:
        parts.append(_update_entry(hub, update, "index.md", level=3, full=False))
    parts += [f"[{_('All live updates')}](updates/index.md)", ""]
    current = [c for c in hub.closures if c.is_current(now)]
    parts += [f"## {_('Current closures')}", ""]
    parts += _closure_table(hub, current) if current else [_("No closures in effect."), ""]
    parts += [f"[{_('All closures and reopenings')}](closures.md)", ""]
    key = [c for c in hub.contacts if c.key]
    if key:
        parts += [f"## {_('Key contacts')}", ""]
        parts += [
            f"- **{esc(c.name)}**{_english_mark(hub, 'contact', c.id)}: "
            f"{tel(c.phone, info.country)}"
            for c in key
        ]
        parts += ["", f"[{_('All contacts')}](contacts.md)", ""]
    parts += [
        f"## {_('Other ways to follow')}",
        "",
        f"- [{_('Text-only page for slow connections')}](lite/)",
        *[f"- [{_('{name} feed').format(name=label)}]({path})" for path, _t, label in FEEDS],
        "",
    ]
    announcement = jsonld.hub_announcement(hub)
    if announcement is not None:
        parts += [jsonld.script(announcement), ""]
    return "\n".join(parts)


def _standby(hub: Hub) -> list[str]:
    """The dark site's quiet welcome: no emergency now, and how to get ready for one."""
    _ = translator(hub.lang)
    parts = [
        f"## {_('Get ready now')}",
        "",
        _(
            "No emergency is in progress. When one begins, live updates, closures and "
            "contacts appear here first: bookmark this page."
        ),
        "",
    ]
    listed = {name: i for i, name in enumerate(hub.info.tip_categories)}
    ready = sorted(hub.tips, key=lambda t: (listed.get(t.category, len(listed)), t.order))
    parts += [f"- [{esc(t.title)}](tips.md#{t.id})" for t in ready[:6]]
    if hub.tips:
        parts += ["", f"[{_('All safety tips')}](tips.md)", ""]
    return parts


def _status_line(hub: Hub, now: dt.datetime) -> str:
    _ = translator(hub.lang)
    status = hub.info.status
    latest = hub.updates[0].time if hub.updates else None
    text = {
        HubStatus.ACTIVE: _("This hub is active"),
        HubStatus.STANDBY: _("This hub is on standby: no emergency is in progress"),
        HubStatus.CLOSED: _("This hub is closed and no longer updated"),
    }[status]
    if latest is not None:
        text += " · " + _("Last update {time}").format(time=when(hub, latest))
    return text


def _closure_table(hub: Hub, closures: Iterable[Closure]) -> list[str]:
    _ = translator(hub.lang)
    heads = [_("Facility or service"), _("Status"), _("Since"), _("Until")]
    rows = ["| " + " | ".join(heads) + " |", "| --- | --- | --- | --- |"]
    for c in closures:
        until = when(hub, c.until) if c.until else _open_ended(hub, c)
        link = f"[{esc(c.facility)}](closures.md#{c.id})" + _english_mark(hub, "closure", c.id)
        rows.append(
            f"| {link} | {closure_badge(c.status, hub.lang)} | {when(hub, c.from_)} | {until} |"
        )
    return [*rows, ""]


def _open_ended(hub: Hub, closure: Closure) -> str:
    _ = translator(hub.lang)
    return _("Reopened") if closure.status is ClosureStatus.OPEN else _("Further notice")


def updates_index(hub: Hub) -> str:
    _ = translator(hub.lang)
    parts = [
        _front(
            {
                "title": _("Live updates"),
                "description": _("Live updates: {event}").format(event=hub.info.event),
                **NOT_SEARCHED,
            }
        ),
        f"# {_('Live updates')}",
        "",
        _("Newest first. Times are local time."),
        "",
    ]
    if not hub.updates:
        parts += [_("No updates yet."), ""]
    for update in hub.updates[:LATEST]:
        parts.append(_update_entry(hub, update, "updates/index.md", level=2, full=True))
    if len(hub.updates) > LATEST:
        parts += [f"## {_('Older updates')}", "", *_archive_links(hub, "updates/index.md"), ""]
    return "\n".join(parts)


def archive_pages(hub: Hub) -> list[tuple[Update, ...]]:
    """Updates in pages of :data:`LATEST`, oldest page first, so page numbers never move."""
    oldest_first = hub.updates[::-1]
    return [oldest_first[i : i + LATEST] for i in range(0, len(oldest_first), LATEST)]


def _archive_links(hub: Hub, here: str) -> list[str]:
    _ = translator(hub.lang)
    links = []
    for number, page in reversed(list(enumerate(archive_pages(hub), start=1))):
        first, last = page[0], page[-1]
        label = _("Page {number}").format(number=number)
        span = _("{start} to {end}").format(
            start=time_label(hub, first.time), end=time_label(hub, last.time)
        )
        links.append(f"- [{label}]({_link(f'updates/archive/{number}.md', here)}): {span}")
    return links


def archive_page(hub: Hub, number: int, page: tuple[Update, ...]) -> str:
    _ = translator(hub.lang)
    here = f"updates/archive/{number}.md"
    total = len(archive_pages(hub))
    title = _("Updates archive: page {number} of {total}").format(number=number, total=total)
    parts = [
        _front({"title": title, **NOT_SEARCHED}),
        f"# {title}",
        "",
        _("From {start} to {end}, newest first.").format(
            start=when(hub, page[0].time), end=when(hub, page[-1].time)
        ),
        "",
    ]
    for update in reversed(page):
        parts.append(_update_entry(hub, update, here, level=2, full=False))
    nav = []
    if number < total:
        nav.append(f"[{_('Newer updates')}]({number + 1}.md)")
    if number > 1:
        nav.append(f"[{_('Older updates')}]({number - 1}.md)")
    nav.append(f"[{_('Latest updates')}]({_link('updates/index.md', here)})")
    parts += [" · ".join(nav), ""]
    return "\n".join(parts)


def _pending(hub: Hub, update: Update) -> list[str]:
    """The notice on a language's page of *update* when its translation is stale.

    The default text, which is current, is shown; the earlier translation is folded away.
    """
    found = i18n.view_state(hub, "update", update.id)
    if found.status != "stale" or found.translation is None:
        return []
    _ = translator(hub.lang)
    why = _(
        "This update changed after it was translated. Until the translation is "
        "brought up to date, the current text is shown in its original language."
    )
    earlier = found.translation.fields
    old = f"**{esc(str(earlier.get('title', '')))}**\n\n{earlier.get('body', '')}"
    return [
        *pending_notice(hub, hub.root_path(hub.update_path(update)), why),
        *earlier_translation(hub, old),
    ]


def pending_notice(hub: Hub, original: str, why: str | None = None) -> list[str]:
    """The notice "Translation pending", linking the original page (its path: *original*)."""
    _ = translator(hub.lang)
    default = hub.info.language
    return [
        f'!!! note "{_("Translation pending")}"',
        "",
        *([f"    {why}"] if why else []),
        f'    <a href="{original}" hreflang="{default}" lang="{default}">'
        f"{esc(see_original(default))}</a>",
        "",
    ]


def earlier_translation(hub: Hub, markdown: str) -> list[str]:
    """An out-of-date translation (Markdown), folded away under the current text."""
    _ = translator(hub.lang)
    return [
        f'<details class="sh-earlier" markdown><summary>{_("Earlier translation (out of date)")}'
        "</summary>",
        "",
        markdown,
        "",
        "</details>",
        "",
    ]


def update_page(hub: Hub, update: Update, now: dt.datetime) -> str:
    _ = translator(hub.lang)
    here = f"updates/{update.id}.md"
    meta: dict[str, object] = {
        "title": update.title,
        "description": summary(update),
        "stormhub_update": update.id,
        "stormhub_time": update.time.isoformat(),
    }
    if len(hub.info.languages) > 1:  # for the language switcher
        meta["stormhub_languages"] = i18n.page_languages(hub, update)
    if update.image:
        meta["stormhub_image"] = update.image
        meta["stormhub_image_alt"] = update.alt
    attr = lang_attr(hub, "update", update.id)
    parts = [
        _front(meta),
        f"# {esc(update.title)}" + (f" {{{attr.strip()}}}" if attr else ""),
        "",
        f"{badge(update.severity, hub.lang)} {when(hub, update.time)}",
        "",
        *_pending(hub, update),
    ]
    if update.retracted is not None:
        reason = f" {esc(update.retraction)}" if update.retraction else ""
        parts += [
            f'!!! danger "{_("This update was retracted")}"',
            "",
            "    "
            + _("Retracted {time}: please disregard it.").format(time=when(hub, update.retracted))
            + reason,
            "",
        ]
    correction = hub.corrections.get(update.id)
    if correction is not None:
        link = update_link(hub, correction, here)
        parts += [
            f'!!! warning "{_("This update was corrected")}"',
            "",
            "    "
            + _("See the correction: {link}, {time}.").format(
                link=f"[{esc(correction.title)}]({link})", time=when(hub, correction.time)
            ),
            "",
        ]
    if update.supersedes:
        old = hub.update(update.supersedes)
        link = update_link(hub, old, here)
        parts += [
            f'!!! note "{_("Correction")}"',
            "",
            "    "
            + _("This corrects an earlier update: {link}, {time}.").format(
                link=f"[{esc(old.title)}]({link})", time=when(hub, old.time)
            ),
            "",
        ]
    if update.is_expired(now) and update.expires is not None:
        expired = _("This notice expired {time}.").format(time=when(hub, update.expires))
        parts += [f"*{expired}*", ""]
    if update.image:
        parts += [f"![{esc(update.alt or '')}]({_link(update.image, here)})", ""]
    parts += [_in_language(hub, "update", update.id, update.body), ""]
    if update.expires is not None and not update.is_expired(now):
        until = _("In effect until {time}.").format(time=when(hub, update.expires))
        parts += [f"*{until}*", ""]
    if update.tags:
        parts += [_("Topics:") + " " + ", ".join(esc(t) for t in update.tags), ""]
    parts += [f"[{_('All live updates')}]({_link('updates/index.md', here)})", ""]
    parts += [jsonld.script(jsonld.update_announcement(hub, update)), ""]
    return "\n".join(parts)


def closures(hub: Hub, now: dt.datetime) -> str:
    _ = translator(hub.lang)
    current = [c for c in hub.closures if c.is_current(now)]
    ended = [c for c in hub.closures if not c.is_current(now)]
    parts = [
        _front({"title": _("Closures"), "description": _("Closed, limited and reopened services")}),
        f"# {_('Closures')}",
        "",
        _("What is closed or limited right now, and what to use instead."),
        "",
        f"[{_('Add these closures to your calendar')}](closures.ics) "
        + _("(iCalendar: subscribe to its address to keep it up to date)"),
        "",
        f"## {_('In effect now')}",
        "",
    ]
    if not current:
        parts += [_("No closures in effect."), ""]
    for closure in sorted(current, key=_closure_order):
        parts.append(_closure_entry(hub, closure))
    if ended:
        parts += [
            f"## {_('Ended')}",
            "",
            _("These closures are over; kept here for reference."),
            "",
        ]
        for closure in sorted(ended, key=lambda c: c.until or c.from_, reverse=True):
            parts.append(_closure_entry(hub, closure))
    return "\n".join(parts)


def _closure_order(closure: Closure) -> tuple[int, dt.datetime]:
    rank = list(ClosureStatus).index(closure.status)
    return rank, closure.from_


def _closure_entry(hub: Hub, c: Closure) -> str:
    _ = translator(hub.lang)
    if c.status is ClosureStatus.OPEN:
        period = _("Since {time}.").format(time=when(hub, c.from_))
    elif c.until:
        period = _("From {start}, until {end}.").format(
            start=when(hub, c.from_), end=when(hub, c.until)
        )
    else:
        period = _("From {start}, until further notice.").format(start=when(hub, c.from_))
    attr = lang_attr(hub, "closure", c.id)
    lines = [
        f"### {esc(c.facility)}{_english_mark(hub, 'closure', c.id)} {{#{c.id}{attr}}}",
        "",
        f"{closure_badge(c.status, hub.lang)} {period}",
        "",
    ]
    body = []
    if c.note:
        body += [c.note, ""]
    if c.alternatives:
        body += [f"**{_('Instead:')}**", ""]
        body += [f"- {esc(alt)}" for alt in c.alternatives]
        body.append("")
    if body:
        lines += [_in_language(hub, "closure", c.id, "\n".join(body)), ""]
    return "\n".join(lines)


def contacts(hub: Hub) -> str:
    _ = translator(hub.lang)
    parts = [
        _front({"title": _("Contacts"), "description": _("Emergency and service phone numbers")}),
        f"# {_('Contacts')}",
        "",
        _("In a life-threatening emergency, call 911."),
        "",
        f"[{_('Save all these contacts to your phone')}](contacts.vcf) (vCard)",
        "",
        f"[{_('Printable poster with the key numbers and a QR code')}](poster/index.html)",
        "",
    ]
    by_category = sorted(hub.contacts, key=lambda c: c.category)
    for category, group in groupby(by_category, key=lambda c: c.category):
        parts += [f"## {esc(category)}", ""]
        for c in group:
            parts.append(_contact_entry(hub, c))
    return "\n".join(parts)


def _contact_entry(hub: Hub, c: Contact) -> str:
    _ = translator(hub.lang)
    country = hub.info.country
    attr = lang_attr(hub, "contact", c.id)
    lines = [
        f"### {esc(c.name)}{_english_mark(hub, 'contact', c.id)} {{#{c.id}{attr}}}",
        "",
        f"- {_('Call:')} {tel(c.phone, country)}",
    ]
    if c.sms:
        lines.append(f"- {_('Text:')} {tel(c.sms, country, 'sms')}")
    if c.tty:
        lines.append(f"- TTY: {tel(c.tty, country)}")
    if c.hours:
        lines.append(f"- {_('Hours:')} <span{attr}>{esc(c.hours)}</span>")
    if c.url:
        lines.append(f"- {_('Web:')} <{c.url}>")
    if c.note:
        lines.append(f"- <span{attr}>{esc(c.note)}</span>")
    checked = _("Number checked {date}").format(date=date_label(c.verified, hub.lang))
    lines += [f"- {checked}", ""]
    return "\n".join(lines)


def tips(hub: Hub) -> str:
    _ = translator(hub.lang)
    parts = [
        _front(
            {"title": _("Safety tips"), "description": _("Health and safety tips for the storm")}
        ),
        f"# {_('Health and safety tips')}",
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
            attr = lang_attr(hub, "tip", tip.id)
            parts += [
                f"### {esc(tip.title)}{_english_mark(hub, 'tip', tip.id)} {{#{tip.id}{attr}}}",
                "",
                _in_language(hub, "tip", tip.id, tip.body),
                "",
            ]
    return "\n".join(parts)


def resources(hub: Hub) -> str:
    _ = translator(hub.lang)
    parts = [
        _front({"title": _("Resources"), "description": _("Where to find more help")}),
        f"# {_('Resources')}",
        "",
    ]
    order = sorted(hub.resources, key=lambda r: (r.category, r.title))
    for category, group in groupby(order, key=lambda r: r.category):
        parts += [f"## {esc(category)}", ""]
        for r in group:
            attr = lang_attr(hub, "resource", r.id)
            description = f": {esc(r.description)}" if r.description else ""
            item = f"[{esc(r.title)}]({r.url}){description}"
            if attr:
                item = f"<span{attr}>{item}</span>{_english_mark(hub, 'resource', r.id)}"
            parts.append(f"- {item}")
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
        if hub.has_page(update):  # a language's site: the translated updates
            pages[f"updates/{update.id}.md"] = update_page(hub, update, now)
    return pages


NAV = (
    (N_("Home"), "index.md"),
    (N_("Live updates"), "updates/index.md"),
    (N_("Closures"), "closures.md"),
    (N_("Contacts"), "contacts.md"),
    (N_("Safety tips"), "tips.md"),
    (N_("Resources"), "resources.md"),
)


def nav(language: str) -> list[dict[str, str]]:
    """The site's navigation in *language*."""
    _ = translator(language)
    return [{_(title): path} for title, path in NAV]
