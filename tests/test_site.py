"""The built sample hub, read back with an HTML parser."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from hub.model import Hub, display_phone
from hub.site import pages
from hub.site.pages import summary

SITE_HOST = "storm.portalderhealth.example"


def soup(site: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((site / page).read_text(encoding="utf-8"), "html.parser")


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_page_is_generated(sample_site: Path, sample_hub: Hub) -> None:
    for page in ("index.html", "updates/index.html", "closures/index.html",
                 "contacts/index.html", "tips/index.html", "resources/index.html",
                 "lite/index.html", "updates/archive/1/index.html", "feed.xml", "atom.xml",
                 "feed.json", "sitemap.xml", "search/search_index.json"):  # fmt: skip
        assert (sample_site / page).is_file(), page
    for update in sample_hub.updates:
        assert (sample_site / "updates" / update.id / "index.html").is_file()


def test_no_page_requests_another_host(sample_site: Path) -> None:
    offenders = []
    for path in html_pages(sample_site):
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for tag in page.find_all(["script", "img", "iframe", "source", "video", "audio"]):
            offenders += [(path, tag.get("src"))] if _external(tag.get("src")) else []
        for tag in page.find_all("link"):
            rel = set(tag.get("rel") or [])
            if rel & {"stylesheet", "preconnect", "preload", "dns-prefetch", "icon", "manifest"}:
                offenders += [(path, tag.get("href"))] if _external(tag.get("href")) else []
        for style in page.find_all("style"):
            offenders += [
                (path, u) for u in re.findall(r"url\(([^)]+)\)", style.text) if _external(u)
            ]
    for css in sample_site.rglob("*.css"):
        for url in re.findall(r"(?:url\(|@import\s+)['\"]?(https?:[^'\")\s]+)", css.read_text()):
            offenders.append((css, url))
    assert offenders == []


def _external(url: str | None) -> bool:
    if not url:
        return False
    host = urlsplit(url.strip().strip("'\"")).hostname
    return host is not None and host != SITE_HOST


def test_updates_are_never_in_the_navigation(sample_site: Path) -> None:
    home = soup(sample_site, "index.html")
    nav_links = [a["href"] for nav in home.select("nav.md-nav--primary") for a in nav.find_all("a")]
    assert nav_links, "the primary navigation is missing"
    assert not [h for h in nav_links if re.search(r"updates/\d{4}-", h)]


def test_update_page_has_link_preview_tags(sample_site: Path, sample_hub: Hub) -> None:
    update = sample_hub.updates[0]
    page = soup(sample_site, f"updates/{update.id}/index.html")
    meta = {m.get("property") or m.get("name"): m.get("content") for m in page.find_all("meta")}
    assert meta["og:title"] == update.title
    assert meta["twitter:title"] == update.title
    assert meta["og:type"] == "article"
    assert meta["og:url"] == sample_hub.url(f"updates/{update.id}/")
    assert meta["og:description"] == summary(update)
    assert 0 < len(meta["og:description"]) <= 200
    assert meta["twitter:card"] == "summary"
    assert page.find("h1").get_text(strip=True) == update.title


def test_every_page_links_its_feeds(sample_site: Path) -> None:
    for path in html_pages(sample_site):
        if path.name == "404.html":
            continue
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        types = sorted(x["type"] for x in page.find_all("link", rel="alternate") if x.get("type"))
        assert types == ["application/atom+xml", "application/feed+json", "application/rss+xml"], (
            path
        )


def test_times_are_time_elements_in_the_hub_zone(sample_site: Path, sample_hub: Hub) -> None:
    update = sample_hub.updates[0]
    page = soup(sample_site, f"updates/{update.id}/index.html")
    # (the offline notice above the update, hidden unless read offline, has its own)
    times = [t for t in page.find_all("time") if not t.find_parent(class_="sh-offline")]
    assert times
    first = times[0]
    assert dt.datetime.fromisoformat(first["datetime"]) == update.time
    assert first.get_text() == pages.time_label(sample_hub, update.time)
    assert first.get_text().endswith(" EST")


def test_contacts_have_click_to_call_links(sample_site: Path, sample_hub: Hub) -> None:
    page = soup(sample_site, "contacts/index.html")
    tel = {a["href"]: a.get_text() for a in page.select('a[href^="tel:"]')}
    for contact in sample_hub.contacts:
        assert tel[f"tel:{contact.phone}"] == display_phone(contact.phone, "US")
    assert tel["tel:911"] == "911"
    assert any(a["href"] == "sms:988" for a in page.select('a[href^="sms:"]'))


def test_closures_page_separates_current_and_ended(sample_site: Path, sample_hub: Hub) -> None:
    from tests.conftest import NOW

    page = soup(sample_site, "closures/index.html")
    sections = {h2.get_text(strip=True): h2 for h2 in page.find_all("h2")}
    assert list(sections) == ["In effect now", "Ended"]
    text = page.get_text()
    ended_at = text.index("Ended")
    for closure in sample_hub.closures:
        where = text.index(closure.facility)
        assert (where > ended_at) == (not closure.is_current(NOW)), closure.facility


def test_correction_and_corrected_pages_link_each_other(sample_site: Path, sample_hub: Hub) -> None:
    correction = next(u for u in sample_hub.updates if u.supersedes)
    new = soup(sample_site, f"updates/{correction.id}/index.html")
    old = soup(sample_site, f"updates/{correction.supersedes}/index.html")
    assert old.find(string=re.compile("This update was corrected"))
    assert any(correction.id in a["href"] for a in old.select("article a[href]"))
    assert any(str(correction.supersedes) in a["href"] for a in new.select("article a[href]"))


def test_lite_page_is_small_and_self_contained(sample_site: Path, sample_hub: Hub) -> None:
    raw = (sample_site / "lite" / "index.html").read_bytes()
    assert len(gzip.compress(raw, 9)) <= 14 * 1024
    page = BeautifulSoup(raw, "html.parser")
    assert page.find("script") is None and page.find("img") is None
    assert not page.find_all("link", rel="stylesheet")
    assert sample_hub.info.banner is not None
    assert sample_hub.info.banner.text in page.get_text()
    assert sample_hub.updates[0].title in page.get_text()
    assert {a["href"] for a in page.select('a[href^="tel:"]')} >= {
        f"tel:{c.phone}" for c in sample_hub.contacts
    }


def test_no_page_is_over_200_kb(sample_site: Path) -> None:
    sizes = {p: p.stat().st_size for p in html_pages(sample_site)}
    assert max(sizes.values()) < 200 * 1024


@pytest.mark.parametrize("page", ["index.html", "updates/index.html", "lite/index.html"])
def test_pages_name_the_hub(sample_site: Path, page: str) -> None:
    assert "Hurricane Imogen" in soup(sample_site, page).get_text()
