"""The built sample hub in headless Chromium: WCAG 2.2 AA (axe-core), no third-party
requests, readable with JavaScript off, and a lite page small enough for bad connections.

Needs Debian's chromium and npm's axe-core: ``scripts/browser-deps`` installs both. When
either is missing these tests fail (never skip), so CI cannot pass without running them.
"""

from __future__ import annotations

import gzip
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import Browser, Page, ViewportSize

from hub.content import load_hub
from hub.site.build import build_site
from hub.site.pages import HOME_LATEST
from tests.chromium import CHROMIUM, chromium
from tests.conftest import NOW, ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / ".cache/node/node_modules/axe-core/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
LITE_MAX_GZIP = 14 * 1024

HUB = load_hub(ROOT)
CORRECTION = next(u for u in HUB.updates if u.supersedes)
SPANISH = next(t for t in HUB.translations if t.kind == "update" and t.language == "es")
PAGES = [
    "/",
    "/updates/",
    f"/updates/{CORRECTION.id}/",
    "/closures/",
    "/contacts/",
    "/tips/",
    "/resources/",
    "/lite/",
    "/updates/archive/1/",
    # the Spanish site: English text in it is marked lang="en" (WCAG 3.1.2)
    "/es/",
    "/es/updates/",
    f"/es/updates/{SPANISH.item}/",
    "/es/contacts/",
    "/es/tips/",
    "/es/lite/",
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample hub, built once, served on a free loopback port."""
    site = tmp_path_factory.mktemp("browser") / "site"
    build_site(ROOT, site_dir=site, now=NOW)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = [str(path) for path in (CHROMIUM, AXE) if not path.is_file()]
    if missing:
        pytest.fail(
            f"browser tests need {' and '.join(missing)}: run scripts/browser-deps",
            pytrace=False,
        )
    with chromium() as browser:
        yield browser


@contextmanager
def open_page(
    browser: Browser, *, viewport: ViewportSize = DESKTOP, javascript: bool = True
) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page and the list of every URL it (or its workers) requests."""
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        yield context.new_page(), requests
    finally:
        context.close()


def describe(violations: list[dict[str, Any]], where: str) -> str:
    """Each axe violation on one line per rule, with a few offending nodes under it."""
    lines = [f"{len(violations)} axe violation(s) on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:3]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:400]}")
        if len(v["nodes"]) > 3:
            lines.append(f"    ... and {len(v['nodes']) - 3} more")
    return "\n".join(lines)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("path", PAGES)
def test_wcag22_aa(browser: Browser, site_url: str, path: str, viewport: ViewportSize) -> None:
    with open_page(browser, viewport=viewport) as (page, _):
        page.goto(site_url + path)  # "load": Material's scripts have run by then
        page.add_script_tag(path=AXE)
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
    if result["violations"]:
        where = f"{path} at {viewport['width']}x{viewport['height']}"
        pytest.fail(describe(result["violations"], where), pytrace=False)


@pytest.mark.parametrize("path", PAGES)
def test_no_third_party_requests(browser: Browser, site_url: str, path: str) -> None:
    with open_page(browser) as (page, requests):
        page.goto(site_url + path, wait_until="networkidle")
    assert requests, "no requests recorded"
    elsewhere = [
        url
        for url in requests
        if urlsplit(url).scheme not in {"data", "blob"} and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert not elsewhere, f"{path} requested other hosts:\n" + "\n".join(elsewhere)


def test_home_readable_without_javascript(browser: Browser, site_url: str) -> None:
    with open_page(browser, javascript=False) as (page, _):
        page.goto(site_url + "/")
        assert page.get_by_role("heading", name=HUB.info.event, level=1).is_visible()
        for update in HUB.updates[:HOME_LATEST]:
            link = page.get_by_role("link", name=update.title, exact=True)
            assert link.first.is_visible(), f"latest update {update.title!r} not visible"
        table = page.locator("article table")
        assert table.count() == 1 and table.is_visible(), "closures table not visible"
        current = [c for c in HUB.closures if c.is_current(NOW)]
        assert current, "the sample hub should have current closures"
        for closure in current:
            assert closure.facility in table.inner_text(), f"{closure.facility!r} not in table"


def test_contacts_phone_links_without_javascript(browser: Browser, site_url: str) -> None:
    with open_page(browser, javascript=False) as (page, _):
        page.goto(site_url + "/contacts/")
        links = page.locator('article a[href^="tel:"]')
        hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
        assert {f"tel:{c.phone}" for c in HUB.contacts} <= hrefs
        for i in range(links.count()):
            assert links.nth(i).is_visible(), f"{links.nth(i).get_attribute('href')} hidden"


# What a browser fetches on its own when it meets these elements.
FETCHING_LINK_RELS = {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest"}


def test_lite_page_has_no_scripts_or_resources_and_is_small(
    browser: Browser, site_url: str
) -> None:
    with urllib.request.urlopen(site_url + "/lite/") as response:
        body = response.read()
    soup = BeautifulSoup(body, "html.parser")
    assert not soup.find_all("script"), "the lite page has <script>"
    fetching = [
        str(tag)[:120]
        for tag in soup.find_all(True)
        if tag.has_attr("src")
        or (tag.name == "link" and FETCHING_LINK_RELS & set(tag.get("rel") or []))
        or "url(" in str(tag.get("style", ""))
    ]
    fetching += [str(s)[:120] for s in soup.find_all("style") if "url(" in s.get_text()]
    assert not fetching, "the lite page loads resources:\n" + "\n".join(fetching)

    with open_page(browser) as (page, requests):
        page.goto(site_url + "/lite/", wait_until="networkidle")
    assert requests == [site_url + "/lite/"], f"the lite page requested more: {requests}"

    # Level 6 is gzip's (and most servers') default; servers rarely compress harder.
    size = len(gzip.compress(body, compresslevel=6))
    assert size <= LITE_MAX_GZIP, f"lite page is {size} bytes gzipped, over {LITE_MAX_GZIP}"
