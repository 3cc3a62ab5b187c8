"""Instagram cards: the text card's pixels (read back with tesseract), fitted images, caching
and the site build writing them when an instagram channel wants them."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from hub.cards import (
    INK,
    MAX_TITLE_LINES,
    MUTED,
    PAPER,
    SEVERITY_COLOURS,
    card_alt,
    card_path,
    contrast,
    fit_image,
    fit_title,
    render_card,
    short_url,
    write_cards,
)
from hub.content import load_hub
from hub.model import Hub, Severity
from hub.site.build import build_site
from hub.site.pages import time_label
from hub.text import plain_text
from tests.conftest import NOW, HubFactory

INSTAGRAM = """\
channels:
  - name: instagram
    type: instagram
    user_id: "17841400000000001"
    access_token: ${INSTAGRAM_ACCESS_TOKEN}
    enabled: false
    min_severity: warning
"""
ADVISORY = "---\ntime: 2026-11-27 07:00\ntitle: Parking lot B closed\nseverity: advisory\n---\nUse lot C.\n"
RETRACTED = (
    "---\ntime: 2026-11-27 07:30\ntitle: Shelter full\nseverity: warning\n"
    "retracted: 2026-11-27 08:00\n---\nIt was not.\n"
)


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def ocr(data: bytes, tmp_path: Path) -> str:
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is not installed: run scripts/ocr-deps")  # never skip: CI runs it
    path = tmp_path / "card.png"
    _image(data).save(path)
    result = subprocess.run(
        ["tesseract", str(path), "stdout", "--psm", "4"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


# --- the text card -----------------------------------------------------------------------


def test_a_card_is_a_4_5_rgb_jpeg(sample_hub: Hub) -> None:
    data = render_card(sample_hub, sample_hub.updates[0])
    assert data[:3] == b"\xff\xd8\xff"
    image = _image(data)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (1080, 1350))


def test_the_card_reads_back_title_time_and_short_url(sample_hub: Hub, tmp_path: Path) -> None:
    update = max(sample_hub.updates, key=lambda u: len(u.title))
    text = ocr(render_card(sample_hub, update), tmp_path)
    squashed = _squash(text)
    for word in re.findall(r"[A-Za-z0-9]+", update.title):
        assert word.lower() in text.lower(), word
    assert update.severity.label.upper() in text
    assert _squash(sample_hub.info.organisation) in squashed
    assert _squash(time_label(sample_hub, update.time)) in squashed
    link = short_url(sample_hub.url(sample_hub.update_path(update)))
    assert not link.startswith("http")
    assert _squash(link) in squashed


def test_the_colours_meet_wcag_aa() -> None:
    assert set(SEVERITY_COLOURS) == set(Severity)  # every severity has its colour
    css = (Path(__file__).parent.parent / "hub/site/assets/stormhub.css").read_text()
    for severity, colour in SEVERITY_COLOURS.items():
        assert f".sh-sev--{severity.value} {{ background: {colour}; }}" in css
        assert contrast(PAPER, colour) >= 4.5
    assert contrast(INK, PAPER) >= 4.5 and contrast(MUTED, PAPER) >= 4.5
    assert contrast("#ffffff", "#000000") == pytest.approx(21)


def test_a_long_title_shrinks_then_ends_with_an_ellipsis_after_a_whole_word() -> None:
    short_lines, short_size = fit_title("Roads open", 900, 700)
    assert short_lines == ["Roads open"]
    title = " ".join(["Generators, shelters and buses"] * 12)
    lines, size = fit_title(title, 900, 700)
    assert size < short_size and len(lines) <= MAX_TITLE_LINES
    assert lines[-1].endswith("…")
    words = set(title.replace(",", "").split())
    for line in lines:
        assert all(w.rstrip("…,") in words for w in line.split())


def test_the_alt_text_is_the_updates_text(sample_hub: Hub) -> None:
    update = sample_hub.updates[0]
    assert card_alt(update) == f"{update.title}. {plain_text(update.body)}"


# --- an update's own image ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mode", "expected"),
    [
        ((400, 1000), "RGBA", (400 * 1000 // 400 * 4 // 5, 1000)),  # too tall: 4:5
        ((3000, 1000), "RGB", (1440, round(1440 / 1.91))),  # too wide, too big: 1.91:1
        ((1200, 1000), "P", (1200, 1000)),  # within the ratios: kept
        ((100, 100), "L", (320, 320)),  # small: scaled up to 320
    ],
)
def test_an_image_is_padded_to_an_accepted_ratio_without_alpha(
    size: tuple[int, int], mode: str, expected: tuple[int, int]
) -> None:
    source = Image.new(mode, size)
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    image = _image(fit_image(buffer.getvalue()))
    assert image.format == "JPEG" and image.mode == "RGB"
    width, height = image.size
    assert 0.8 - 0.01 <= width / height <= 1.91 + 0.01
    assert width <= 1440
    assert (width, height) == pytest.approx(expected, abs=2)


# --- writing cards -----------------------------------------------------------------------


def test_write_cards_draws_once_and_the_path_follows_the_update(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    root = make_hub({"content/updates/advisory.md": ADVISORY})
    hub = load_hub(root)
    site = tmp_path / "site"
    (site / "cards").mkdir(parents=True)
    (site / "cards/keep.txt").write_text("not ours")
    assert write_cards(hub, site, hub.updates) == 2
    first = {u.id: (site / card_path(u)).read_bytes() for u in hub.updates}
    assert write_cards(hub, site, hub.updates) == 0  # the cache, not drawn again
    other = tmp_path / "other-site"
    assert write_cards(hub, other, hub.updates) == 0
    assert {u.id: (other / card_path(u)).read_bytes() for u in hub.updates} == first
    assert (site / "cards/keep.txt").read_text() == "not ours"
    assert sorted(p.name for p in (root / ".stormhub/cache/cards").iterdir()) == sorted(
        Path(card_path(u)).name for u in hub.updates
    )
    # A changed update: a new name, drawn anew.
    changed = (root / "content/updates/advisory.md").read_text().replace("lot B", "lot D")
    (root / "content/updates/advisory.md").write_text(changed)
    again = load_hub(root)
    assert card_path(again.update("advisory")) != card_path(hub.update("advisory"))
    assert write_cards(again, site, again.updates) == 1


def test_an_image_update_gets_its_fitted_image(make_hub: HubFactory, tmp_path: Path) -> None:
    root = make_hub(
        {
            "content/updates/flood.md": "---\ntime: 2026-11-27 09:00\ntitle: Flood\n"
            "severity: warning\nimage: images/wide.png\nalt: A flooded road\n---\nAvoid it.\n"
        }
    )
    (root / "content/images").mkdir(parents=True)
    Image.new("RGBA", (2000, 500), (0, 0, 255, 128)).save(root / "content/images/wide.png")
    hub = load_hub(root)
    update = hub.update("flood")
    assert card_alt(update) == "A flooded road"
    write_cards(hub, tmp_path, [update])
    image = _image((tmp_path / card_path(update)).read_bytes())
    assert image.mode == "RGB" and image.size == (1440, round(1440 / 1.91))


# --- the site build ----------------------------------------------------------------------


def test_the_built_site_has_the_cards_an_instagram_channel_wants(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    root = make_hub(
        {
            "channels.yaml": INSTAGRAM,
            "content/updates/advisory.md": ADVISORY,
            "content/updates/retracted.md": RETRACTED,
        }
    )
    site = build_site(root, site_dir=tmp_path / "site", now=NOW)
    hub = load_hub(root)
    cards = sorted(p.relative_to(site).as_posix() for p in (site / "cards").iterdir())
    # The warning update only: the advisory is below min_severity, the retraction is gone.
    assert cards == [card_path(hub.update("2026-11-27-0615-ed-open"))]
    assert _image((site / cards[0]).read_bytes()).size == (1080, 1350)
    # A rebuild reuses the cache and swaps in a site that still has the card.
    site = build_site(root, site_dir=tmp_path / "site", now=NOW)
    assert (site / cards[0]).is_file()


def test_no_instagram_channel_no_cards(make_hub: HubFactory, tmp_path: Path) -> None:
    root = make_hub()
    site = build_site(root, site_dir=tmp_path / "site", now=NOW)
    assert not (site / "cards").exists()
    root = make_hub({"channels.yaml": INSTAGRAM.replace("instagram", "outbox").replace(
        '    user_id: "17841400000000001"\n    access_token: ${INSTAGRAM_ACCESS_TOKEN}\n', ""
    )})  # fmt: skip
    site = build_site(root, site_dir=tmp_path / "site2", now=NOW)
    assert not (site / "cards").exists()


def test_a_broken_channels_yaml_warns_and_does_not_fail_the_build(
    make_hub: HubFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_hub({"channels.yaml": "channels:\n  - name: instagram\n    type: instagram\n"})
    with caplog.at_level(logging.WARNING, logger="hub.site.cards"):
        site = build_site(root, site_dir=tmp_path / "site", now=NOW)
    assert (site / "index.html").is_file() and not (site / "cards").exists()
    assert any("stormhub check" in r.getMessage() for r in caplog.records)
