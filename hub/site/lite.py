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
from hub.site.pages import FEEDS, summary, time_label

if TYPE_CHECKING:
    from hub.model import Hub

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


def render_lite(hub: Hub, now: dt.datetime) -> str:
    """The lite page's HTML, served at ``/lite/``."""
    info = hub.info
    lang = escape(info.language)
    out = [
        "<!doctype html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(info.event)}: text-only updates</title>",
        f'<link rel="canonical" href="{escape(hub.url("lite/"))}">',
        *[
            f'<link rel="alternate" type="{kind}" title="{label}" href="../{path}">'
            for path, kind, label in FEEDS
        ],
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(info.event)}</h1>",
        f"<p>{escape(info.organisation)}. Text-only page. "
        f'Page made {_time(hub, now)}. <a href="../">Full site</a></p></header><main>',
        f'<p class="{NOTICE_CLASS}" hidden role="status">You are offline: this is a saved '
        f"copy of this page, made {_time(hub, now)}. It may be out of date.</p>",
    ]
    if hub.exercise:
        out.append(
            '<p class="b"><strong>EXERCISE</strong>: this page is part of an exercise. '
            "Nothing on it is a real emergency.</p>"
        )
    if info.banner is not None:
        out.append(
            f'<p class="b"><strong>{escape(info.banner.severity.label)}:</strong> '
            f"{escape(info.banner.text)}</p>"
        )
    out.append('<p>In a life-threatening emergency, call <a href="tel:911">911</a>.</p>')
    out.append("<h2>Latest updates</h2>")
    for update in hub.updates[:LITE_UPDATES]:
        correction = " (correction)" if update.supersedes else ""
        if update.retracted:
            correction += " (retracted: please disregard)"
        out += [
            f'<h3><a href="../updates/{update.id}/">{escape(update.title)}</a></h3>',
            f"<p><small>{escape(update.severity.label)}{correction}, "
            f"{_time(hub, update.time)}</small><br>{escape(summary(update, 320))}</p>",
        ]
    if not hub.updates:
        out.append("<p>No updates yet.</p>")
    if len(hub.updates) > LITE_UPDATES:
        out.append('<p><a href="../updates/">All updates</a></p>')
    out.append("<h2>Closures in effect</h2>")
    current = [c for c in hub.closures if c.is_current(now)]
    if not current:
        out.append("<p>No closures in effect.</p>")
    else:
        out.append("<ul>")
        for c in current:
            if c.status is ClosureStatus.OPEN:
                until = f"since {_time(hub, c.from_)}"
            elif c.until:
                until = f"until {_time(hub, c.until)}"
            else:
                until = "until further notice"
            instead = f" Instead: {escape('; '.join(c.alternatives))}" if c.alternatives else ""
            out.append(
                f"<li><strong>{escape(c.facility)}</strong>: {escape(c.status.label)}, "
                f"{until}.{instead}</li>"
            )
        out.append("</ul>")
    out.append("<h2>Contacts</h2><ul>")
    for contact in sorted(hub.contacts, key=lambda c: not c.key):
        number = display_phone(contact.phone, info.country)
        extra = ""
        if contact.sms:
            extra += f', text <a href="sms:{contact.sms}">{escape(contact.sms)}</a>'
        out.append(
            f'<li>{escape(contact.name)}: <a href="tel:{contact.phone}">{escape(number)}</a>'
            f"{extra}</li>"
        )
    out.append("</ul></main>")
    feeds = " · ".join(f'<a href="../{path}">{label}</a>' for path, _, label in FEEDS)
    out.append(f"<footer><p>Feeds: {feeds}</p></footer></body></html>")
    return "\n".join(out) + "\n"
