"""The stormhub command, through click's CliRunner."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.config import load_channels
from hub.content import load_hub
from tests.conftest import ROOT, HubFactory


def test_check_ok_on_sample_hub() -> None:
    result = CliRunner().invoke(main, ["check", "--hub", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 29 updates, 12 closures, 17 contacts, 12 tips")
    assert "warning: channels.yaml:18:5: x: environment variables X_API_KEY" in result.stderr


def test_check_lists_every_problem_and_exits_2(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/updates/a.md": "---\ntime: 2026-11-27 06:15\ntitle: T\nseverity: bad\n---\nB\n",
            "content/contacts.yaml": "- name: X\n  category: Y\n  phone: '12'\n  verified: 2026-11-01\n",
        }
    )
    result = CliRunner().invoke(main, ["check", "--hub", str(root)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith("content/contacts.yaml:3:3: phone: '12' is not a valid phone number")
    assert lines[1].startswith("content/updates/a.md:4:1: severity: Input should be 'info'")
    assert lines[2] == "2 problems found; nothing was written."
    assert not (root / "site").exists()


def test_check_runs_from_the_hub_folder(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub()
    result = CliRunner().invoke(main, ["check"], env={"STORMHUB_HUB": str(root)})
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(root)
    assert CliRunner().invoke(main, ["check"]).exit_code == 0


def test_build_writes_site(make_hub: HubFactory) -> None:
    root = make_hub()
    result = CliRunner().invoke(main, ["build", "--hub", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output == f"Built {root / 'site'}\n"
    assert (root / "site" / "index.html").is_file()


def test_build_records_the_site_so_the_next_publish_only_patches_it(
    make_hub: HubFactory,
) -> None:
    from hub.content import load_hub
    from hub.site import fast

    root = make_hub()
    with (root / "mkdocs.yml").open("a", encoding="utf-8") as stream:
        stream.write("site_dir: public\n")  # the publish path's folder is build's default
    result = CliRunner().invoke(main, ["build", "--hub", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "public" / "index.html").is_file() and not (root / "site").exists()
    manifest = fast.previous_build(root, root / "public")
    assert manifest is not None
    assert fast.changed_updates(load_hub(root), manifest) == []  # nothing new to publish


def test_build_refuses_bad_content(make_hub: HubFactory) -> None:
    root = make_hub({"content/updates/a.md": "no front matter\n"})
    result = CliRunner().invoke(main, ["build", "--hub", str(root)])
    assert result.exit_code == 2
    assert "content/updates/a.md:1:1: front matter: missing" in result.output
    assert not (root / "site").exists()


def test_python_dash_m_hub(make_hub: HubFactory) -> None:
    root = make_hub()
    done = subprocess.run(
        [sys.executable, "-m", "hub", "check", "--hub", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 1 updates")


def test_mkdocs_finds_the_plugin_by_entry_point(make_hub: HubFactory, tmp_path: Path) -> None:
    root = make_hub()
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "-q", "-d", str(tmp_path / "out")],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "updates" / "2026-11-27-0615-ed-open" / "index.html").is_file()


def test_preview_shows_every_shipped_channel_within_its_limit() -> None:
    configs = load_channels(ROOT)
    counted = re.compile(r"^(?:part (\d+)/(\d+), )?(\d+)/(\d+) (\w[\w ]*)$")
    runner = CliRunner(env={"COLUMNS": "200"})
    for update in load_hub(ROOT).updates:
        result = runner.invoke(main, ["preview", "--hub", str(ROOT), update.id])
        assert result.exit_code == 0, result.output
        for config in configs:
            assert f"{config.name} ({config.type}" in result.output, (update.id, config.name)
        lengths = [m for line in result.output.splitlines() if (m := counted.match(line))]
        assert len(lengths) >= len(configs), update.id
        for match in lengths:
            assert int(match[3]) <= int(match[4]), (update.id, match[0])
    sms = runner.invoke(main, ["preview", "--hub", str(ROOT), load_hub(ROOT).updates[0].id])
    assert re.search(r"^\d+/3 segments$", sms.output, re.M)  # counted as SMS counts
