"""The build is atomic: a failed build leaves the previous site exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import BuildError, ContentError
from hub.site import build
from hub.site.build import build_site
from tests.conftest import NOW, HubFactory


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_build_writes_site_in_the_hub_folder(make_hub: HubFactory) -> None:
    root = make_hub()
    site = build_site(root, now=NOW)
    assert site == root / "site"
    assert (site / "updates" / "2026-11-27-0615-ed-open" / "index.html").is_file()
    assert [p.name for p in root.iterdir() if p.name.startswith(".site")] == []


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"content/updates/b.md": "---\ntitle: Broken\n---\nx\n"}, ContentError),
        # A broken link is a MkDocs warning, and the build is strict.
        (
            {
                "content/updates/b.md": "---\ntime: 2026-11-27 07:00\ntitle: B\nseverity: info\n"
                "---\nSee [the map](missing-page.md).\n"
            },
            BuildError,
        ),
    ],
    ids=["content-error", "mkdocs-error"],
)
def test_failed_build_keeps_previous_site(
    make_hub: HubFactory, files: dict[str, str], error: type[Exception]
) -> None:
    root = make_hub()
    site = build_site(root, now=NOW)
    before = snapshot(site)
    make_hub(files)
    with pytest.raises(error):
        build_site(root, now=NOW)
    assert snapshot(site) == before
    assert [p.name for p in root.iterdir() if p.name.startswith(".site")] == []


def test_rebuild_swaps_in_the_new_site(make_hub: HubFactory) -> None:
    root = make_hub()
    site = build_site(root, now=NOW)
    marker = site / "stale.txt"
    marker.write_text("from the old build")
    make_hub(
        {
            "content/updates/b.md": "---\ntime: 2026-11-27 07:00\ntitle: Second\n"
            "severity: info\n---\nNew.\n"
        }
    )
    build_site(root, now=NOW)
    assert not marker.exists()
    assert (site / "updates" / "b" / "index.html").is_file()


def test_swap_in_without_renameat2_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, new = tmp_path / "site", tmp_path / "new"
    target.mkdir()
    (target / "old.html").write_text("old")
    new.mkdir()
    (new / "new.html").write_text("new")
    monkeypatch.setattr(build, "_exchange", lambda a, b: False)
    build.swap_in(new, target)
    assert [p.name for p in tmp_path.iterdir()] == ["site"]
    assert [p.name for p in target.iterdir()] == ["new.html"]


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "from-a").touch()
    assert build._exchange(a, b), "renameat2(RENAME_EXCHANGE) is available on Linux"
    assert [p.name for p in b.iterdir()] == ["from-a"]


# A 1x1 PNG: just enough for MkDocs to copy and a browser to show.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_update_image_is_served_with_alt_text_and_preview_tags(make_hub: HubFactory) -> None:
    from bs4 import BeautifulSoup

    root = make_hub(
        {
            "content/updates/2026-11-27-0700-flooding.md": "---\ntime: 2026-11-27 07:00\n"
            "title: Flooding on Harbor Road\nseverity: warning\nimage: images/flood.png\n"
            "alt: Water covering Harbor Road outside the Main Campus entrance\n---\nAvoid it.\n"
        }
    )
    (root / "content/images").mkdir()
    (root / "content/images/flood.png").write_bytes(PNG)
    site = build_site(root, now=NOW)
    assert (site / "images/flood.png").read_bytes() == PNG
    page = BeautifulSoup(
        (site / "updates/2026-11-27-0700-flooding/index.html").read_text(), "html.parser"
    )
    img = page.select_one("article img")
    assert img is not None
    assert img["alt"] == "Water covering Harbor Road outside the Main Campus entrance"
    assert img["src"] == "../../images/flood.png"
    meta = {m.get("property") or m.get("name"): m.get("content") for m in page.find_all("meta")}
    assert meta["og:image"] == "https://hub.example.org/images/flood.png"
    assert meta["og:image:alt"] == img["alt"]
    assert meta["twitter:card"] == "summary_large_image"
