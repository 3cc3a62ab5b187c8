"""Offline reading: the service worker keeps the key pages, and never an old copy online."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page

from hub import i18n, offline
from hub.content import load_hub
from hub.site import extras
from hub.site.build import build_site
from tests.chromium import chromium
from tests.conftest import NOW, ROOT
from tests.test_browser import _QuietHandler

HUB = load_hub(ROOT)


def _kept(script: str) -> list[str]:
    match = re.search(r"^const KEEP = (.*);$", script, re.M)
    assert match, script[:300]
    return list(json.loads(match.group(1)))


def test_the_worker_keeps_the_key_pages_and_the_latest_updates() -> None:
    script = offline.service_worker(HUB)
    kept = _kept(script)
    assert kept[:5] == ["", "lite/", "contacts/", "closures/", "updates/"]
    assert kept[5:] == [f"updates/{u.id}/" for u in HUB.updates[: offline.LATEST]]
    assert "self.location.origin" in script  # same-origin requests only


def test_a_new_update_changes_the_worker_in_both_build_paths() -> None:
    newest = HUB.updates[0]
    fresh = newest.model_copy(update={"id": "2026-12-31-2359-new", "time": NOW})
    later = HUB.model_copy(update={"updates": (fresh, *HUB.updates)})
    full = extras.site_files(later, NOW)
    fast = extras.touched_files(later, NOW, [fresh])
    assert full[offline.SCRIPT] == fast[offline.SCRIPT]
    assert "updates/2026-12-31-2359-new/" in _kept(str(fast[offline.SCRIPT]))


def test_every_page_carries_the_hidden_notice_with_its_time(tmp_path: Path) -> None:
    site = build_site(ROOT, site_dir=tmp_path / "site", now=NOW)
    assert (site / "sw.js").read_text() == offline.service_worker(HUB)
    lite = NOW.isoformat().replace("+00:00", "Z")
    for page, made in (("index.html", NOW.isoformat()), ("contacts/index.html", NOW.isoformat()),
                       ("lite/index.html", lite)):  # fmt: skip
        html = (site / page).read_text()
        notice = re.search(r'<p class="sh-offline" hidden role="status">(.*?)</p>', html, re.S)
        assert notice, page
        assert f'<time datetime="{made}">' in notice.group(1), notice.group(1)
    assert (
        'navigator.serviceWorker.register("../sw.js")' in (site / "contacts/index.html").read_text()
    )
    assert "<script" not in (site / "lite/index.html").read_text()  # the lite page stays bare


class _Server:
    """The built site on a loopback port that can be stopped and started again."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        handler = partial(_QuietHandler, directory=str(self.site))
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:  # (shutdown() of a stopped server would wait forever)
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def phone() -> Iterator[Page]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        yield context.new_page()


KEPT = """async (paths) => {
  const cache = await caches.open("stormhub");
  for (const path of paths) {
    if (!(await cache.match(new URL(path, location.origin + "/").href))) return false;
  }
  return true;
}"""


@pytest.mark.slow
@pytest.mark.browser
def test_a_phone_that_loaded_the_hub_once_reads_it_with_no_connection(tmp_path: Path) -> None:
    site = build_site(ROOT, site_dir=tmp_path / "site", now=NOW)
    server = _Server(site)
    server.start()
    latest = HUB.updates[0]
    contact = HUB.contacts[0].name
    try:
        with phone() as page:
            page.goto(server.url + "/")
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
            wanted = ["contacts/", "closures/", "lite/", f"updates/{latest.id}/"]
            page.wait_for_function(KEPT, arg=wanted, timeout=15_000)
            stylesheet = page.evaluate(
                "[...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.href)"
            )
            page.wait_for_function(KEPT, arg=stylesheet, timeout=15_000)  # what it loaded

            server.stop()  # no connection at all from here
            page.goto(server.url + "/contacts/")
            assert contact in page.inner_text("main")
            notice = page.locator(".sh-offline")
            assert notice.is_visible()
            assert "You are offline" in notice.inner_text()
            assert notice.locator("time").get_attribute("datetime") == NOW.isoformat()
            assert (
                page.evaluate(  # styled: the kept stylesheet answered too
                    "getComputedStyle(document.querySelector('.sh-offline')).borderTopStyle"
                )
                == "solid"
            )
            page.goto(server.url + f"/updates/{latest.id}/")
            assert latest.title in page.inner_text("h1")
            page.goto(server.url + "/tips/")  # never loaded: the lite page instead
            assert page.locator(".sh-offline").is_visible()
            assert "Text-only page" in page.inner_text("body")

            # The connection is back, with a newer site: the network wins, at once.
            (site / "contacts/index.html").write_text(
                (site / "contacts/index.html")
                .read_text()
                .replace(contact, f"{contact} (moved to Pier 4)"),
                encoding="utf-8",
            )
            server.start()
            page.goto(server.url + "/contacts/")
            assert f"{contact} (moved to Pier 4)" in page.inner_text("main")
            assert not page.locator(".sh-offline").is_visible()
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.browser
def test_the_spanish_site_reads_offline_in_spanish(tmp_path: Path) -> None:
    site = build_site(ROOT, site_dir=tmp_path / "site", now=NOW)
    assert "es/contacts/" not in _kept((site / "sw.js").read_text())  # each site its own
    server = _Server(site)
    server.start()
    contact = i18n.localize(HUB, "es").contacts[0].name
    try:
        with phone() as page:
            page.goto(server.url + "/es/")
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
            scope = page.evaluate("navigator.serviceWorker.controller.scriptURL")
            assert scope == server.url + "/es/sw.js"
            page.wait_for_function(KEPT, arg=["es/contacts/", "es/lite/"], timeout=15_000)

            server.stop()
            page.goto(server.url + "/es/contacts/")
            assert contact in page.inner_text("main")
            notice = page.locator(".sh-offline")
            assert notice.is_visible() and "No tiene conexión" in notice.inner_text()
            page.goto(server.url + "/es/tips/")  # never loaded: the Spanish lite page
            assert "Página de solo texto" in page.inner_text("body")
    finally:
        server.stop()
