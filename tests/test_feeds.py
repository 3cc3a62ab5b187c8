"""RSS, Atom and JSON Feed: parsed back, with stable ids, proper dates and absolute links."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from pathlib import Path

import feedparser
import jsonschema
import pytest
from lxml import etree

from hub import feeds
from hub.content import load_hub
from hub.model import Hub
from tests.conftest import NOW, HubFactory

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = json.loads((Path(__file__).parent / "jsonfeed-1.1.schema.json").read_text())


def permalinks(hub: Hub) -> list[str]:
    return [hub.url(f"updates/{u.id}/") for u in hub.updates[: feeds.FEED_SIZE]]


@pytest.mark.parametrize("render", [feeds.rss, feeds.atom])
def test_xml_feeds_parse_cleanly_with_stable_ids(sample_hub: Hub, render: object) -> None:
    data = render(sample_hub, NOW)  # type: ignore[operator]
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == permalinks(sample_hub)
    assert [e.link for e in parsed.entries] == permalinks(sample_hub)
    for entry, update in zip(parsed.entries, sample_hub.updates, strict=False):
        assert entry.title == update.title
        published = dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC)
        assert published == update.time
    assert render(sample_hub, NOW) == data  # same input, same bytes: ids never drift


def test_rss_has_self_link_rfc822_dates_and_permalink_guids(sample_hub: Hub) -> None:
    tree = etree.fromstring(feeds.rss(sample_hub, NOW))
    channel = tree.find("channel")
    assert channel is not None
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert self_link is not None
    assert self_link.get("rel") == "self"
    assert self_link.get("href") == sample_hub.url("feed.xml")
    for item in channel.iterfind("item"):
        date = item.findtext("pubDate")
        assert date and email.utils.parsedate_to_datetime(date).tzinfo is not None
        assert re.match(
            r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$", date
        )
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "true"
        assert guid.text == item.findtext("link")


def test_atom_dates_are_rfc3339_and_content_is_typed_html(sample_hub: Hub) -> None:
    tree = etree.fromstring(feeds.atom(sample_hub, NOW))
    links = {link.get("rel"): link.get("href") for link in tree.iterfind(f"{ATOM}link")}
    assert links == {"alternate": sample_hub.url(), "self": sample_hub.url("atom.xml")}
    rfc3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
    for entry in tree.iterfind(f"{ATOM}entry"):
        for name in ("updated", "published"):
            assert rfc3339.match(entry.findtext(f"{ATOM}{name}") or "")
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        alternates = [
            link for link in entry.iterfind(f"{ATOM}link") if link.get("rel") in (None, "alternate")
        ]
        assert len(alternates) == 1


def test_correction_entry_points_to_what_it_corrects(sample_hub: Hub) -> None:
    correction = next(u for u in sample_hub.updates if u.supersedes)
    old_url = sample_hub.url(f"updates/{correction.supersedes}/")
    new_url = sample_hub.url(f"updates/{correction.id}/")

    atom = feedparser.parse(feeds.atom(sample_hub, NOW))
    entry = next(e for e in atom.entries if e.id == new_url)
    related = [link for link in entry.links if link.rel == "related"]
    assert [link.href for link in related] == [old_url]
    assert f'href="{old_url}"' in entry.content[0].value

    rss = feedparser.parse(feeds.rss(sample_hub, NOW))
    item = next(e for e in rss.entries if e.id == new_url)
    assert "Correction" in item.description and old_url in item.description

    items = json.loads(feeds.json_feed(sample_hub, NOW))["items"]
    by_id = {i["id"]: i for i in items}
    assert by_id[new_url]["_stormhub"]["corrects"] == old_url
    assert by_id[old_url]["_stormhub"]["corrected_by"] == new_url


def test_json_feed_matches_the_1_1_schema(sample_hub: Hub) -> None:
    feed = json.loads(feeds.json_feed(sample_hub, NOW))
    jsonschema.validate(feed, SCHEMA)
    assert feed["feed_url"] == sample_hub.url("feed.json")
    assert [i["id"] for i in feed["items"]] == permalinks(sample_hub)
    assert all(i["content_text"] and "<" not in i["content_text"] for i in feed["items"])


def test_feed_links_are_absolute(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/updates/a.md": "---\ntime: 2026-11-27 07:00\ntitle: A\nseverity: info\n---\n"
            "See [closures](../../closures/) and [the city](https://city.example/).\n"
        }
    )
    hub = load_hub(root)
    html = feeds.entry_html(hub, hub.update("a"))
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs == ["https://hub.example.org/closures/", "https://city.example/"]


def test_feeds_hold_the_latest_fifty(make_hub: HubFactory) -> None:
    files = {
        f"content/updates/u{i:03d}.md": f"---\ntime: 2026-11-28T{i // 60:02d}:{i % 60:02d}:00Z\n"
        f"title: Update {i}\nseverity: info\n---\nText {i}.\n"
        for i in range(60)
    }
    hub = load_hub(make_hub(files))
    parsed = feedparser.parse(feeds.atom(hub, NOW))
    assert len(parsed.entries) == feeds.FEED_SIZE
    assert parsed.entries[0].title == "Update 59"
