"""RSS 2.0, Atom and JSON Feed 1.1 of the live updates; the only module that imports feedgen.

Ids and guids are the updates' permalinks, which never change. Entries are not
rewritten when an update is corrected: the correction is a new entry that says
what it corrects and links to it (Atom ``rel="related"``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from feedgen.feed import FeedGenerator
from lxml import etree

from hub import i18n
from hub.text import markdown_to_html, plain_text
from hub.words import in_language, translator

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry

    from hub.model import Hub, Update

FEED_SIZE = 50
_ATOM = "{http://www.w3.org/2005/Atom}"
_URL_ATTR = re.compile(r'(\b(?:href|src)=")([^"]*)(")')


def _absolute(html: str, base: str) -> str:
    return _URL_ATTR.sub(lambda m: m.group(1) + urljoin(base, m.group(2)) + m.group(3), html)


def entry_html(hub: Hub, update: Update) -> str:
    """The update's body as HTML with absolute links, led by a notice if it is a correction."""
    _ = translator(hub.lang)
    url = hub.permalink(update)
    parts = []
    if update.retracted:
        reason = f" {escape(update.retraction)}" if update.retraction else ""
        parts.append(
            f"<p><strong>{escape(_('Retracted:'))}</strong> "
            f"{escape(_('please disregard this update.'))}{reason}</p>"
        )
    if update.supersedes:
        old = hub.update(update.supersedes)
        link = f'<a href="{hub.permalink(old)}">{escape(old.title)}</a>'
        parts.append(
            f"<p><strong>{escape(_('Correction'))}</strong> "
            + escape(_("to {update}.")).replace("{update}", link)
            + "</p>"
        )
    if update.image:
        alt = escape(update.alt or "")
        parts.append(f'<p><img src="{hub.url(update.image)}" alt="{alt}"></p>')
    body = markdown_to_html(update.body)
    if (language := i18n.reads_in(hub, "update", update.id)) != hub.lang:
        body = f'<div lang="{language}">{body}</div>'
    parts.append(body)
    return _absolute("\n".join(parts), url)


def title(hub: Hub, update: Update) -> str:
    """An item's title: marked when retracted, and when it reads in another language."""
    _ = translator(hub.lang)
    text = update.title
    if i18n.reads_in(hub, "update", update.id) != hub.lang:
        text = f"{text} ({in_language(hub.info.language, hub.lang)})"
    return f"{_('Retracted:')} {text}" if update.retracted else text


def _generator(hub: Hub, self_path: str, kind: str, now: dt.datetime) -> FeedGenerator:
    info = hub.info
    fg = FeedGenerator()
    fg.id(hub.url())
    fg.title(f"{info.event}: {info.organisation}")
    fg.subtitle(info.description or _subtitle(hub))
    fg.link(href=hub.url(), rel="alternate")
    fg.link(href=hub.url(self_path), rel="self", type=kind)
    fg.language(hub.lang)
    fg.author({"name": info.organisation, "uri": hub.url()})
    fg.generator("StormHub")
    latest = max((u.time for u in hub.updates[:FEED_SIZE]), default=now)
    fg.updated(latest)
    fg.lastBuildDate(latest)
    for update in hub.updates[:FEED_SIZE]:
        _entry(hub, fg.add_entry(order="append"), update)
    return fg


def _entry(hub: Hub, fe: FeedEntry, update: Update) -> None:
    url = hub.permalink(update)
    body = entry_html(hub, update)
    fe.id(url)
    fe.guid(url, permalink=True)
    fe.title(title(hub, update))
    fe.link(href=url, rel="alternate")
    fe.published(update.time)
    fe.updated(update.time)
    fe.description(body)  # RSS; it also sets Atom content, without a type: set that next
    fe.content(body, type="html")
    for tag in (update.severity.value, *update.tags):
        fe.category(term=tag)


def rss(hub: Hub, now: dt.datetime) -> bytes:
    """RSS 2.0, served at ``/feed.xml``."""
    fg = _generator(hub, "feed.xml", "application/rss+xml", now)
    return bytes(fg.rss_str(pretty=True))


def atom(hub: Hub, now: dt.datetime) -> bytes:
    """Atom 1.0, served at ``/atom.xml``."""
    fg = _generator(hub, "atom.xml", "application/atom+xml", now)
    tree = etree.fromstring(fg.atom_str())
    # feedgen 1.0 drops rel and title from entry links (a shadowed variable in
    # FeedEntry.atom_entry), so the correction's related link is added here.
    for entry in tree.iterfind(f"{_ATOM}entry"):
        update = hub.update(entry.findtext(f"{_ATOM}id", "").rstrip("/").rsplit("/", 1)[-1])
        if update.supersedes:
            old = hub.update(update.supersedes)
            etree.SubElement(
                entry,
                f"{_ATOM}link",
                rel="related",
                href=hub.permalink(old),
                title=translator(hub.lang)("Corrects: {title}").format(title=old.title),
            )
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _subtitle(hub: Hub) -> str:
    _ = translator(hub.lang)
    return _("Live updates from {organisation}").format(organisation=hub.info.organisation)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def json_feed(hub: Hub, now: dt.datetime) -> bytes:
    """JSON Feed 1.1, served at ``/feed.json``."""
    info = hub.info
    items: list[dict[str, Any]] = []
    for update in hub.updates[:FEED_SIZE]:
        url = hub.permalink(update)
        item: dict[str, Any] = {
            "id": url,
            "url": url,
            "title": title(hub, update),
            "content_html": entry_html(hub, update),
            "content_text": plain_text(update.body),
            "date_published": _rfc3339(update.time),
            "date_modified": _rfc3339(update.time),
            "tags": [update.severity.value, *update.tags],
            "language": i18n.reads_in(hub, "update", update.id),
            "_stormhub": {"severity": update.severity.value},
        }
        if update.image:
            item["image"] = hub.url(update.image)
        if update.supersedes:
            old = hub.update(update.supersedes)
            item["_stormhub"]["corrects"] = hub.permalink(old)
        if update.id in hub.corrections:
            item["_stormhub"]["corrected_by"] = hub.permalink(hub.corrections[update.id])
        items.append(item)
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"{info.event}: {info.organisation}",
        "home_page_url": hub.url(),
        "feed_url": hub.url("feed.json"),
        "description": info.description or _subtitle(hub),
        "language": hub.lang,
        "authors": [{"name": info.organisation, "url": hub.url()}],
        "items": items,
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()
