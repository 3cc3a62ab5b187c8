"""The printable poster: what it says, its QR code, and that it prints on one sheet.

The Chromium tests print it to PDF at A4 and Letter, render the PDF with poppler's pdftoppm,
scan the QR code with zbarimg and read the text back with tesseract. They need Debian's
chromium, poppler-utils, zbar-tools and tesseract-ocr (scripts/browser-deps, pdf-deps and
ocr-deps) and fail, never skip, when one is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from bs4 import BeautifulSoup
from PIL import Image
from playwright.sync_api import Browser

from hub.cards import short_url
from hub.content import load_hub
from hub.model import Hub, display_phone
from hub.poster import MAX_CONTACTS, URI, render_poster, site_files
from hub.site.pages import time_label
from tests.chromium import chromium
from tests.conftest import HUB_YAML, NOW, HubFactory

PAPER = ["A4", "Letter"]

LONG_BANNER = HUB_YAML.replace(
    "event: Hurricane Test", "event: Hurricane Test and the Eastside River flooding"
).replace(
    "  text: Stay indoors.",
    "  text: " + "Stay indoors until the all-clear, keep off flooded roads and check on "
    "neighbours who live alone. " * 6,
)


def crowded_contacts(count: int) -> str:
    """*count* key contacts, each with a long name and call, text and TTY numbers."""
    return "".join(
        f"""
        - name: Port Alder County Department of Emergency Services line {i}
          category: Help
          phone: (757) 555-01{i:02d}
          sms: (757) 555-02{i:02d}
          tty: (757) 555-03{i:02d}
          key: true
          verified: 2026-11-25
        """
        for i in range(count)
    )


@pytest.fixture
def crowded_hub(make_hub: HubFactory) -> Hub:
    """A hub with a long event name and banner, and more key contacts (all with three numbers) than fit."""
    root = make_hub(
        {
            "content/hub.yaml": LONG_BANNER,
            "content/contacts.yaml": crowded_contacts(MAX_CONTACTS + 4),
        }
    )
    return load_hub(root)


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def svg_matrix(view_box: str, path: str) -> list[list[bool]]:
    """The dark modules that segno's SVG *path* draws (horizontal runs, relative moves)."""
    size = int(view_box.split()[2])
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, args in re.findall(r"([MmHh])([-\d. ]+)", path):
        nums = [float(n) for n in args.split()]
        if op == "M":
            x, y = nums
        elif op == "m":
            x, y = x + nums[0], y + nums[1]
        else:
            run = nums[0] if op == "h" else nums[0] - x
            for col in range(int(x), int(x + run)):
                grid[int(y)][col] = True
            x += run
    return grid


# --- the page ------------------------------------------------------------------------------


def test_the_full_build_has_the_poster_and_the_contacts_page_links_it(sample_site: Path) -> None:
    assert (sample_site / URI).is_file()
    contacts = soup((sample_site / "contacts/index.html").read_text(encoding="utf-8"))
    targets = [
        (sample_site / "contacts" / str(a["href"])).resolve()
        for a in contacts.select("article a[href]")
        if "://" not in str(a["href"]) and ":" not in str(a["href"])
    ]
    pages = [t / "index.html" if t.is_dir() else t for t in targets]
    assert sample_site / URI in pages


def test_the_poster_says_who_what_where_and_when(sample_hub: Hub) -> None:
    page = soup(render_poster(sample_hub, NOW, "en"))
    text = page.get_text(" ")
    info = sample_hub.info
    assert page.html is not None and page.html["lang"] == "en"
    assert page.h1 is not None and page.h1.get_text() == info.event
    assert info.organisation in text
    assert info.banner is not None
    assert f"{info.banner.severity.label}: {info.banner.text}" in " ".join(text.split())
    site = page.select_one(".site a")
    assert site is not None and site["href"] == sample_hub.url()
    assert site.get_text() == short_url(sample_hub.url()).rstrip("/")
    lite = page.select_one("a.lite")
    assert lite is not None and lite["href"] == sample_hub.url("lite/")
    assert lite.get_text() == short_url(sample_hub.url("lite/"))
    stamp = page.select_one("footer time")
    assert stamp is not None and stamp.get_text() == time_label(sample_hub, NOW)
    assert stamp["datetime"] == "2026-11-28T23:00:00Z"


def test_the_key_contacts_are_there_with_call_text_and_tty_links(sample_hub: Hub) -> None:
    page = soup(render_poster(sample_hub, NOW, "en"))
    country = sample_hub.info.country
    key = [c for c in sample_hub.contacts if c.key]
    assert 0 < len(key) <= MAX_CONTACTS
    names = [h.get_text() for h in page.select(".contact h3")]
    assert names == [c.name for c in key]
    links = {(a["href"], a.get_text()) for a in page.select(".contact a")}
    for contact in key:
        for scheme, number in (("tel", contact.phone), ("sms", contact.sms), ("tel", contact.tty)):
            if number:
                assert (f"{scheme}:{number}", display_phone(number, country)) in links
    not_key = {c.name for c in sample_hub.contacts if not c.key}
    assert not_key and not not_key & set(names)
    more = page.select_one(".more a")
    assert more is not None and more["href"] == sample_hub.url("contacts/")


def test_a_crowded_hub_shows_only_what_fits_and_points_to_the_rest(crowded_hub: Hub) -> None:
    page = soup(render_poster(crowded_hub, NOW, "en"))
    assert len(page.select(".contact")) == MAX_CONTACTS
    assert len(page.select('.contact a[href^="sms:"]')) == MAX_CONTACTS
    assert page.select_one(".more a") is not None
    banner = page.select_one(".alert")
    assert banner is not None and banner.get_text().endswith("…")


def test_without_key_contacts_it_shows_the_first_ones_and_no_banner(
    make_hub: HubFactory,
) -> None:
    contacts = crowded_contacts(2).replace("key: true", "key: false")
    no_banner = HUB_YAML.split("banner:")[0]
    hub = load_hub(make_hub({"content/hub.yaml": no_banner, "content/contacts.yaml": contacts}))
    page = soup(render_poster(hub, NOW, "en"))
    assert [h.get_text() for h in page.select(".contact h3")] == [c.name for c in hub.contacts]
    assert page.select_one(".alert") is None
    assert page.select_one(".more") is None


def test_an_exercise_poster_says_so(sample_hub: Hub) -> None:
    page = soup(render_poster(sample_hub.as_exercise(), NOW, "en"))
    first = page.select_one(".alert")
    assert first is not None and first.get_text().startswith("EXERCISE")
    assert soup(render_poster(sample_hub, NOW, "en")).find(string=re.compile("EXERCISE")) is None


def test_nothing_to_fetch_and_no_scripts(sample_hub: Hub) -> None:
    page = soup(render_poster(sample_hub, NOW, "en"))
    assert not page.find_all("script")
    assert not page.find_all(src=True)
    assert {rel for link in page.find_all("link") for rel in link["rel"]} == {
        "canonical",
        "alternate",
    }
    assert page.style is not None
    css = page.style.get_text()
    assert "url(" not in css and "@import" not in css and "@font-face" not in css


def test_the_qr_code_is_the_site_address(sample_hub: Hub) -> None:
    page = soup(render_poster(sample_hub, NOW, "en"))
    svg = page.select_one(".reach svg")
    assert svg is not None and svg["role"] == "img"
    dark = svg.select('path[stroke="#000"]')
    assert len(dark) == 1
    drawn = svg_matrix(str(svg["viewbox"]), str(dark[0]["d"]))
    border = 4
    inner = [row[border:-border] for row in drawn[border:-border]]
    expected = segno.make(sample_hub.url(), error="q", micro=False).matrix
    assert inner == [[bool(m) for m in row] for row in expected]
    assert not any(drawn[0]) and not any(row[0] for row in drawn)  # quiet zone


def test_site_files_makes_the_poster_in_the_first_language(make_hub: HubFactory) -> None:
    hub = load_hub(make_hub({"content/hub.yaml": HUB_YAML.replace("[en]", "[en, es]")}))
    files = site_files(hub, NOW)
    assert list(files) == [URI]
    assert soup(str(files[URI])).html["lang"] == "en"  # type: ignore[index]


# --- printed -------------------------------------------------------------------------------


def tool(name: str, script: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/{script}", pytrace=False)
    return path


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def one_sheet(browser: Browser, hub: Hub, paper: str, out: Path) -> Path:
    """*hub*'s poster printed on *paper*: one page, whose QR code reads the site's address."""
    pages = print_pages(browser, render_poster(hub, NOW, "en"), paper, out)
    assert len(pages) == 1, f"the poster takes {len(pages)} pages on {paper}"
    scanned = run(tool("zbarimg", "pdf-deps"), "--quiet", "--raw", str(pages[0]))
    assert scanned.split() == [hub.url()]
    return pages[0]


def print_pages(browser: Browser, html: str, paper: str, out: Path) -> list[Path]:
    """*html* printed by Chromium on *paper*, each page rendered by pdftoppm to a PNG."""
    pdftoppm = tool("pdftoppm", "pdf-deps")
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        page = context.new_page()
        page.set_content(html, wait_until="load")
        pdf = page.pdf(format=paper, prefer_css_page_size=True)
    finally:
        context.close()
    assert not requests, f"the poster fetched {requests}"
    (out / "poster.pdf").write_bytes(pdf)
    run(pdftoppm, "-r", "150", "-gray", "-png", str(out / "poster.pdf"), str(out / "page"))
    return sorted(out.glob("page*.png"))


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("paper", PAPER)
def test_the_sample_poster_prints_on_one_sheet_and_reads_back(
    browser: Browser, sample_hub: Hub, paper: str, tmp_path: Path
) -> None:
    page = one_sheet(browser, sample_hub, paper, tmp_path)
    with Image.open(page) as image:
        dark = sum(image.convert("L").point(lambda v: 255 if v < 128 else 0).histogram()[255:])
        share = dark / (image.width * image.height)
    assert 0.03 < share < 0.6, f"{share:.1%} of the page is dark: blank or a black sheet?"

    tool("tesseract", "ocr-deps")
    text = squash(run("tesseract", str(page), "stdout", "--psm", "3"))
    assert squash(short_url(sample_hub.url())) in text
    assert squash(short_url(sample_hub.url("lite/"))) in text
    for contact in (c for c in sample_hub.contacts if c.key):
        assert squash(display_phone(contact.phone, sample_hub.info.country)) in text


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("paper", PAPER)
def test_a_crowded_poster_still_prints_on_one_sheet(
    browser: Browser, crowded_hub: Hub, paper: str, tmp_path: Path
) -> None:
    one_sheet(browser, crowded_hub, paper, tmp_path)
