"""The printable poster, ``poster/index.html``: the hub's address for doors and shelters.

A standalone page, not a mkdocs one, so that it prints on one sheet of A4 or Letter
(``hub/site/assets/poster.css``): the organisation and event, the banner, a QR code of the
site's address (segno, inline SVG), the address itself in large type, the key contacts,
the lite page's address and when the poster was made. Black on white, no scripts, no
fonts or anything else to fetch.

Each language's site has its own poster (``/es/poster/``), in the words of
:func:`words` (:mod:`hub.words`' catalogs), with the contacts and banner of that
language's view of the hub and a QR code of that language's site.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from hub import i18n
from hub.cards import short_url
from hub.model import display_phone
from hub.site.pages import FEEDS, time_label
from hub.text import shorten
from hub.words import translator

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


def words(language: str) -> Words:
    """The poster's words in *language* (English where its catalog has none)."""
    _ = translator(language)
    return Words(
        title=_("Poster"),
        scan=_("Scan the code or type this address for live updates, closures and contacts:"),
        lite=_("Slow connection? Text-only page:"),
        contacts=_("Phone numbers"),
        call=_("Call"),
        text=_("Text"),
        tty="TTY",
        more=_("More numbers:"),
        made=_("Poster printed from the hub {when}. The website always has the latest."),
        exercise=_("EXERCISE: this poster is part of an exercise. It is not a real emergency."),
        screen=_("Print this page on A4 or Letter paper, in black and white if need be."),
    )


def site_files(hub: Hub, now: dt.datetime) -> dict[str, Content]:
    """The poster of *hub*'s language, for a full build of that language's site."""
    return {URI: render_poster(hub, now, hub.lang)}


def qr_svg(url: str, label: str) -> str:
    """An inline SVG QR code of *url*, scaled by CSS, with *label* as its accessible name."""
    import segno  # here: only a build draws the QR code

    code = segno.make(url, error="q", micro=False)
    svg = code.svg_inline(omitsize=True, dark="#000", light="#fff", border=4)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def render_poster(hub: Hub, now: dt.datetime, language: str) -> str:
    """The poster's HTML in *language* (English words where its catalog has none).

    Args:
        hub: the hub.
        now: when the poster is made; printed on it.
        language: a language tag from ``hub.yaml``'s ``languages``.

    Returns:
        A complete HTML document with its CSS inline.

    """
    lang = language
    said = words(language)
    info = hub.info
    home, lite = hub.url(), hub.url("lite/")
    address = short_url(home).rstrip("/")
    out = [
        "<!doctype html>",
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(info.event)}: {escape(said.title)}</title>",
        f'<link rel="canonical" href="{escape(hub.url("poster/"))}">',
        *[
            f'<link rel="alternate" type="{kind}" title="{label}" href="../{path}">'
            for path, kind, label in FEEDS
        ],
        f"<style>{CSS_FILE.read_text(encoding='utf-8')}</style></head><body>",
        '<div class="sheet">',
        f'<p class="screen">{escape(said.screen)}</p>',
    ]
    if hub.exercise:
        out.append(f'<p class="alert">{escape(said.exercise)}</p>')
    if info.banner is not None:
        out.append(
            f'<p class="alert"><strong>'
            f"{escape(translator(lang)(info.banner.severity.label))}:</strong> "
            f"{escape(shorten(info.banner.text, BANNER_CHARS))}</p>"
        )
    out += [
        f'<header><p class="org">{escape(info.organisation)}</p>',
        f"<h1>{escape(info.event)}</h1></header><main>",
        '<section class="reach">',
        qr_svg(home, f"QR code: {address}"),
        f"<div><p>{escape(said.scan)}</p>",
        f'<p class="site"><a href="{escape(home)}">{_breakable(address)}</a></p>',
        f"<p>{escape(said.lite)}<br>",
        f'<a class="lite" href="{escape(lite)}">{_breakable(short_url(lite))}</a></p></div>',
        "</section>",
    ]
    contacts = _poster_contacts(hub)
    if contacts:
        out += [f"<h2>{escape(said.contacts)}</h2>", '<div class="contacts">']
        out += [
            _contact(c, info.country, said, i18n.reads_in(hub, "contact", c.id), lang)
            for c in contacts
        ]
        out.append("</div>")
        if len(contacts) < len(hub.contacts):
            page = hub.url("contacts/")
            out.append(
                f'<p class="more">{escape(said.more)} '
                f'<a href="{escape(page)}">{escape(short_url(page))}</a></p>'
            )
    iso = now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    stamp = f'<time datetime="{iso}">{escape(time_label(hub, now))}</time>'
    made = escape(said.made).replace("{when}", stamp)
    out += ["</main>", f"<footer><p>{made}</p></footer>", "</div></body></html>", ""]
    return "\n".join(out)


def _breakable(address: str) -> str:
    """*address* escaped, allowed to wrap after its dots and slashes (never mid-word)."""
    return re.sub(r"([./])", r"\1<wbr>", escape(address))


def _poster_contacts(hub: Hub) -> list[Contact]:
    """The key contacts (all contacts when none is marked key), as many as fit."""
    key = [c for c in hub.contacts if c.key]
    return (key or list(hub.contacts))[:MAX_CONTACTS]


def _contact(contact: Contact, country: str, said: Words, reads_in: str, page: str) -> str:
    attr = f' lang="{escape(reads_in)}"' if reads_in != page else ""
    lines = [f'<section class="contact"><h3{attr}>{escape(contact.name)}</h3>']
    for label, number, scheme in (
        (said.call, contact.phone, "tel"),
        (said.text, contact.sms, "sms"),
        (said.tty, contact.tty, "tel"),
    ):
        if number:
            shown = escape(display_phone(number, country))
            lines.append(
                f'<p><span class="kind">{escape(label)}</span> '
                f'<a href="{scheme}:{escape(number)}">{shown}</a></p>'
            )
    lines.append("</section>")
    return "".join(lines)
