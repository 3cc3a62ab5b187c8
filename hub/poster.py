"""The printable poster, ``poster/index.html``: the hub's address for doors and shelters.

A standalone page, not a mkdocs one, so that it prints on one sheet of A4 or Letter
(``hub/site/assets/poster.css``): the organisation and event, the banner, a QR code of the
site's address (segno, inline SVG), the address itself in large type, the key contacts,
the lite page's address and when the poster was made. Black on white, no scripts, no
fonts or anything else to fetch.

Only the hub's first language is made for now; :func:`render_poster` takes the language,
so that per-language sites can call it once per language (with its words in
:data:`WORDS`, and translated contacts and banner once the model has them).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cards import short_url
from hub.model import display_phone
from hub.site.pages import FEEDS, time_label
from hub.text import shorten

if TYPE_CHECKING:
    from hub.model import Contact, Hub
    from hub.site.extras import Content

URI = "poster/index.html"
CSS_FILE = Path(__file__).parent / "site" / "assets" / "poster.css"
# What fits on one sheet beside the QR code: more would spill onto a second page.
MAX_CONTACTS = 6
BANNER_CHARS = 180


@dataclass(frozen=True)
class Words:
    """The poster's own words in one language."""

    title: str
    scan: str
    lite: str
    contacts: str
    call: str
    text: str
    tty: str
    more: str
    made: str
    exercise: str
    screen: str


WORDS = {
    "en": Words(
        title="Poster",
        scan="Scan the code or type this address for live updates, closures and contacts:",
        lite="Slow connection? Text-only page:",
        contacts="Phone numbers",
        call="Call",
        text="Text",
        tty="TTY",
        more="More numbers:",
        made="Poster printed from the hub {when}. The website always has the latest.",
        exercise="EXERCISE: this poster is part of an exercise. It is not a real emergency.",
        screen="Print this page on A4 or Letter paper, in black and white if need be.",
    ),
}


def site_files(hub: Hub, now: dt.datetime) -> dict[str, Content]:
    """The poster, for a full build."""
    return {URI: render_poster(hub, now, hub.info.language)}


def qr_svg(url: str, label: str) -> str:
    """An inline SVG QR code of *url*, scaled by CSS, with *label* as its accessible name."""
    import segno  # here: only a build draws the QR code

    code = segno.make(url, error="q", micro=False)
    svg = code.svg_inline(omitsize=True, dark="#000", light="#fff", border=4)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def render_poster(hub: Hub, now: dt.datetime, language: str) -> str:
    """The poster's HTML in *language* (English words where it has none of its own yet).

    Args:
        hub: the hub.
        now: when the poster is made; printed on it.
        language: a language tag from ``hub.yaml``'s ``languages``.

    Returns:
        A complete HTML document with its CSS inline.

    """
    lang = language if language in WORDS else "en"
    words = WORDS[lang]
    info = hub.info
    home, lite = hub.url(), hub.url("lite/")
    address = short_url(home).rstrip("/")
    out = [
        "<!doctype html>",
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(info.event)}: {escape(words.title)}</title>",
        f'<link rel="canonical" href="{escape(hub.url("poster/"))}">',
        *[
            f'<link rel="alternate" type="{kind}" title="{label}" href="../{path}">'
            for path, kind, label in FEEDS
        ],
        f"<style>{CSS_FILE.read_text(encoding='utf-8')}</style></head><body>",
        '<div class="sheet">',
        f'<p class="screen">{escape(words.screen)}</p>',
    ]
    if hub.exercise:
        out.append(f'<p class="alert">{escape(words.exercise)}</p>')
    if info.banner is not None:
        out.append(
            f'<p class="alert"><strong>{escape(info.banner.severity.label)}:</strong> '
            f"{escape(shorten(info.banner.text, BANNER_CHARS))}</p>"
        )
    out += [
        f'<header><p class="org">{escape(info.organisation)}</p>',
        f"<h1>{escape(info.event)}</h1></header><main>",
        '<section class="reach">',
        qr_svg(home, f"QR code: {address}"),
        f"<div><p>{escape(words.scan)}</p>",
        f'<p class="site"><a href="{escape(home)}">{_breakable(address)}</a></p>',
        f"<p>{escape(words.lite)}<br>",
        f'<a class="lite" href="{escape(lite)}">{_breakable(short_url(lite))}</a></p></div>',
        "</section>",
    ]
    contacts = _poster_contacts(hub)
    if contacts:
        out += [f"<h2>{escape(words.contacts)}</h2>", '<div class="contacts">']
        out += [_contact(c, info.country, words) for c in contacts]
        out.append("</div>")
        if len(contacts) < len(hub.contacts):
            page = hub.url("contacts/")
            out.append(
                f'<p class="more">{escape(words.more)} '
                f'<a href="{escape(page)}">{escape(short_url(page))}</a></p>'
            )
    iso = now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    stamp = f'<time datetime="{iso}">{escape(time_label(hub, now))}</time>'
    made = escape(words.made).replace("{when}", stamp)
    out += ["</main>", f"<footer><p>{made}</p></footer>", "</div></body></html>", ""]
    return "\n".join(out)


def _breakable(address: str) -> str:
    """*address* escaped, allowed to wrap after its dots and slashes (never mid-word)."""
    return re.sub(r"([./])", r"\1<wbr>", escape(address))


def _poster_contacts(hub: Hub) -> list[Contact]:
    """The key contacts (all contacts when none is marked key), as many as fit."""
    key = [c for c in hub.contacts if c.key]
    return (key or list(hub.contacts))[:MAX_CONTACTS]


def _contact(contact: Contact, country: str, words: Words) -> str:
    lines = [f'<section class="contact"><h3>{escape(contact.name)}</h3>']
    for label, number, scheme in (
        (words.call, contact.phone, "tel"),
        (words.text, contact.sms, "sms"),
        (words.tty, contact.tty, "tel"),
    ):
        if number:
            shown = escape(display_phone(number, country))
            lines.append(
                f'<p><span class="kind">{escape(label)}</span> '
                f'<a href="{scheme}:{escape(number)}">{shown}</a></p>'
            )
    lines.append("</section>")
    return "".join(lines)
