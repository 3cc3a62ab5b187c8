"""`stormhub init --template NAME DIR`: a ready hub on standby from each shipped template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from hub.cli import main
from hub.config import load_channels
from hub.content import load_hub
from hub.init import init_hub, template_names
from hub.standby import template_files
from tests.conftest import NOW, ROOT

TEMPLATES = ["cyberattack", "heat", "hurricane", "power-outage"]


def test_the_four_templates_ship() -> None:
    assert template_names() == TEMPLATES


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_makes_a_hub_that_passes_check(name: str, tmp_path: Path) -> None:
    target = tmp_path / "new-hub"
    result = CliRunner().invoke(main, ["init", "--template", name, str(target)])
    assert result.exit_code == 0, result.output
    assert "on standby" in result.stdout and "REPLACE" in result.stdout
    check = CliRunner().invoke(main, ["check", "--hub", str(target)])
    assert check.exit_code == 0, check.output
    hub = load_hub(target)
    assert hub.info.status.value == "standby" and hub.info.banner is None
    assert hub.updates == ()
    assert len(hub.tips) >= 4 and len(hub.resources) >= 2
    assert {t.category for t in hub.tips} <= set(hub.info.tip_categories)
    # Placeholders are valid, fictional (555-01xx) and marked to replace.
    placeholders = [c for c in hub.contacts if c.phone.startswith("+1")]
    assert placeholders
    for contact in placeholders:
        assert re.fullmatch(r"\+1\d{3}55501\d\d", contact.phone), contact.phone
        assert "REPLACE" in contact.note
    assert any(c.phone == "911" and c.key for c in hub.contacts)
    assert template_files(target)  # prepared first updates for `stormhub activate`
    assert (target / "docs").is_dir() and "site/" in (target / ".gitignore").read_text()


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_has_every_shipped_channel(name: str, tmp_path: Path) -> None:
    root = init_hub(name, tmp_path / "hub")
    shipped = load_channels(ROOT)
    ours = load_channels(root)
    assert [(c.name, c.type, c.enabled) for c in ours] == [
        (c.name, c.type, c.enabled) for c in shipped
    ]
    assert "Alder" not in (root / "channels.yaml").read_text()


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["init", "--template", "heat", str(target)])
    assert result.exit_code == 1
    assert "is not empty" in result.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no staging left behind


def test_init_into_an_empty_folder_and_unknown_template(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert (
        CliRunner().invoke(main, ["init", "--template", "heat", str(tmp_path / "empty")]).exit_code
        == 0
    )
    assert (tmp_path / "empty" / "content" / "hub.yaml").is_file()
    result = CliRunner().invoke(main, ["init", "--template", "flood", str(tmp_path / "x")])
    assert result.exit_code == 2 and "'flood' is not one of" in result.stderr
    assert not (tmp_path / "x").exists()


def test_a_template_hub_builds_a_quiet_ready_site(tmp_path: Path) -> None:
    from hub.site.build import build_site

    root = init_hub("hurricane", tmp_path / "hub")
    site = build_site(root, now=NOW)
    home = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    text = home.get_text(" ", strip=True)
    assert "on standby: no emergency is in progress" in text
    assert "Get ready now" in text and "No updates yet." in text
    assert home.select_one(".md-banner") is None and home.select_one(".admonition") is None
    assert home.select('a[href^="tips/#"]')
    assert (site / "lite" / "index.html").is_file() and (site / "feed.xml").is_file()


@pytest.mark.parametrize("name", ["heat", "power-outage", "cyberattack"])
def test_every_other_template_builds(name: str, tmp_path: Path) -> None:
    from hub.site.build import build_site

    root = init_hub(name, tmp_path / "hub")
    site = build_site(root, now=NOW)
    assert (site / "tips" / "index.html").is_file() and (site / "contacts" / "index.html").is_file()
