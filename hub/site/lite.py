"""The text-only lite page: everything a person needs now, in one small HTML file.

No JavaScript, no external resources, no web fonts; it must stay small enough
to load on a failing mobile network (14 KB gzipped for the sample hub).
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TYPE_CHECKING

from hub.model import ClosureStatus, display_phone
from hub.offline import NOTICE_CLASS
from hub.site.pages import FEEDS, lang_attr, summary, time_label
from hub.words import in_language, translator

if TYPE_CHECKING:
    from hub.model import Hub, Update

LITE_UPDATES = 10

_CSS = (
    "body{font:1rem/1.45 system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:.5rem;"
    "color:#111;background:#fff}h1{font-size:1.4rem}h2{font-size:1.15rem;border-top:2px solid"
    " #333;padding-top:.4rem}h3{font-size:1rem;margin-bottom:.2rem}a{color:#0645ad}"
    ".b{border:3px solid #a00;padding:.4rem;font-weight:bold}small{color:#444}"
    f".{NOTICE_CLASS}{{border:3px solid #8a4b00;padding:.4rem;font-weight:bold}}"
)


def _time(hub: Hub, moment: dt.datetime) -> str:
    iso = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return f'<time datetime="{iso}">{escape(time_label(hub, moment))}</time>'


def _href(hub: Hub, update: Update) -> str:
    """The link to *update*'s page: this language's, or the default language's."""
    if hub.has_page(update):
        return f"../updates/{update.id}/"
    return hub.root_path(hub.update_path(update))


def render_lite(hub: Hub, now: dt.datetime) -> str:
    """The lite page's HTML, served at ``/lite/`` (``/<language>/lite/``)."""
    _ = translator(hub.lang)
    info = hub.info
    lang = escape(hub.lang)
    out = [
        "<!doctype html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(info.event)}: {escape(_('text-only updates'))}</title>",
        f'<link rel="canonical" href="{escape(hub.url("lite/"))}">',
        *[
            f'<link rel="alternate" type="{kind}" title="{label}" href="../{path}">'
            for path, kind, label in FEEDS
        ],
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(info.event)}</h1>",
        f"<p>{escape(info.organisation)}. {escape(_('Text-only page.'))} "
        + escape(_("Page made {time}.")).replace("{time}", _time(hub, now))
        + f' <a href="../">{escape(_("Full site"))}</a></p></header><main>',
        f'<p class="{NOTICE_CLASS}" hidden role="status">'
        + escape(
            _(
                "You are offline: this is a saved copy of this page, made {time}. "
                "It may be out of date."
            )
        ).replace("{time}", _time(hub, now))
        + "</p>",
    ]
    if hub.exercise:
        out.append(
            f'<p class="b"><strong>{escape(_("EXERCISE"))}</strong>: '
            + escape(_("this page is part of an exercise. Nothing on it is a real emergency."))
            + "</p>"
        )
    if info.banner is not None:
        out.append(
            f'<p class="b"{lang_attr(hub, "banner", "")}><strong>'
            f"{escape(_(info.banner.severity.label))}:</strong> "
            f"{escape(info.banner.text)}</p>"
        )
    out.append(
        "<p>"
        + escape(_("In a life-threatening emergency, call {number}.")).replace(
            "{number}", '<a href="tel:911">911</a>'
        )
        + "</p>"
    )
    out.append(f"<h2>{escape(_('Latest updates'))}</h2>")
    for update in hub.updates[:LITE_UPDATES]:
        correction = f" ({escape(_('correction'))})" if update.supersedes else ""
        if update.retracted:
            correction += f" ({escape(_('retracted: please disregard'))})"
        attr = lang_attr(hub, "update", update.id)
        mark = f" ({escape(in_language(info.language, hub.lang))})" if attr else ""
        out += [
            f'<h3><a href="{_href(hub, update)}"{attr}>{escape(update.title)}</a>{mark}</h3>',
            f"<p><small>{escape(_(update.severity.label))}{correction}, "
            f"{_time(hub, update.time)}</small><br><span{attr}>"
            f"{escape(summary(update, 320))}</span></p>",
        ]
    if not hub.updates:
        out.append(f"<p>{escape(_('No updates yet.'))}</p>")
    if len(hub.updates) > LITE_UPDATES:
        out.append(f'<p><a href="../updates/">{escape(_("All updates"))}</a></p>')
    out.append(f"<h2>{escape(_('Closures in effect'))}</h2>")
    current = [c for c in hub.closures if c.is_current(now)]
    if not current:
        out.append(f"<p>{escape(_('No closures in effect.'))}</p>")
    else:
        out.append("<ul>")
        for c in current:
            if c.status is ClosureStatus.OPEN:
                until = escape(_("since {time}")).replace("{time}", _time(hub, c.from_))
            elif c.until:
                until = escape(_("until {time}")).replace("{time}", _time(hub, c.until))
            else:
                until = escape(_("until further notice"))
            instead = (
                f" {escape(_('Instead:'))} {escape('; '.join(c.alternatives))}"
                if c.alternatives
                else ""
            )
            out.append(
                f"<li{lang_attr(hub, 'closure', c.id)}><strong>{escape(c.facility)}</strong>: "
                f"{escape(_(c.status.label))}, {until}.{instead}</li>"
            )
        out.append("</ul>")
    out.append(f"<h2>{escape(_('Contacts'))}</h2><ul>")
    for contact in sorted(hub.contacts, key=lambda c: not c.key):
        number = display_phone(contact.phone, info.country)
        extra = ""
        if contact.sms:
            extra += f', {escape(_("text"))} <a href="sms:{contact.sms}">{escape(contact.sms)}</a>'
        out.append(
            f"<li><span{lang_attr(hub, 'contact', contact.id)}>{escape(contact.name)}</span>: "
            f'<a href="tel:{contact.phone}">{escape(number)}</a>{extra}</li>'
        )
    out.append("</ul></main>")
    feeds = " · ".join(f'<a href="../{path}">{label}</a>' for path, _t, label in FEEDS)
    out.append(f"<footer><p>{escape(_('Feeds:'))} {feeds}</p></footer></body></html>")
    return "\n".join(out) + "\n"
