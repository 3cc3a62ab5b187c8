"""The dark site: a hub on standby builds quietly, refuses to post, and `activate` goes live."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub import audit
from hub.cli import main
from hub.content import load_hub
from hub.fanout import Fanout, StandbyError
from hub.init import init_hub
from hub.site import pages
from tests.conftest import NOW, HubFactory, state

STANDBY = """\
organisation: Test Health
event: Hurricane season
status: standby     # the dark site
timezone: America/New_York
country: US
tip_categories:
  - Before the storm
"""

TEMPLATE = """\
---
about: the first update when a watch is issued
event: "Hurricane {storm}"
title: "Hurricane {storm}: we are getting ready"
severity: warning
tags: [hurricane]
banner: "A hurricane watch is in effect for {storm}."
---
As of {time} on {date}, a hurricane watch is in effect for {storm}.
All {organisation} hospitals are open. Updates: {site}
"""

TIP = (
    "---\ntitle: Pack a medicine kit\ncategory: Before the storm\n---\nKeep a week of medicines.\n"
)

OUTBOX = "channels:\n  - name: outbox\n    type: outbox\n    folder: out\n"


@pytest.fixture
def dark(make_hub: HubFactory) -> Path:
    return make_hub(
        {
            "content/hub.yaml": STANDBY,
            "content/updates/2026-11-27-0615-ed-open.md": None,
            "content/templates/watch.md": TEMPLATE,
            "content/tips/medicine-kit.md": TIP,
            "channels.yaml": OUTBOX,
        }
    )


def _files(root: Path) -> dict[str, str]:
    content = root / "content"
    return {
        p.relative_to(root).as_posix(): p.read_text() for p in content.rglob("*") if p.is_file()
    }


def test_fanout_on_standby_refuses_and_posts_nothing(dark: Path) -> None:
    (dark / "content/updates/2026-11-27-0615-ed-open.md").write_text(
        "---\ntime: 2026-11-27 06:15\ntitle: Ready\nseverity: info\n---\nPrepared.\n"
    )
    result = CliRunner().invoke(main, ["fanout", "--hub", str(dark)])
    assert result.exit_code == 3, result.output
    assert "the hub is on standby" in result.stderr
    assert "stormhub activate" in result.stderr
    assert not (dark / "out").exists()
    assert not (dark / ".stormhub" / "ledger.sqlite").exists()


def test_the_fanout_itself_refuses_on_standby_but_a_rehearsal_may_run(
    dark: Path, tmp_path: Path
) -> None:
    hub = load_hub(dark)
    with pytest.raises(StandbyError):
        Fanout(hub, [], tmp_path / "ledger.sqlite").run()
    assert Fanout(hub, [], tmp_path / "ledger.sqlite", rehearsal=True).run().outcomes == []
    assert Fanout(hub.as_exercise(), [], tmp_path / "ledger.sqlite").run().outcomes == []


def test_the_standby_home_page_is_ready_but_quiet(dark: Path) -> None:
    home = pages.home(load_hub(dark), NOW)
    assert "on standby: no emergency is in progress" in home
    assert "## Get ready now" in home
    assert "[Pack a medicine kit](tips.md#medicine-kit)" in home
    assert "!!!" not in home  # no live banner


def test_activate_goes_live_in_one_step_and_is_recorded(dark: Path) -> None:
    moment = dt.datetime(2026, 9, 14, 13, 5, tzinfo=dt.UTC)
    from hub.standby import activate

    done = activate(dark, by="Dana Reyes", values={"storm": "Imogen"}, now=moment)
    hub = load_hub(dark)
    assert hub.info.status.value == "active"
    assert hub.info.event == "Hurricane Imogen"
    assert hub.info.banner is not None
    assert hub.info.banner.text == "A hurricane watch is in effect for Imogen."
    assert hub.info.banner.severity.value == "warning"
    [update] = hub.updates
    assert update.id == "2026-09-14-0905-hurricane-imogen-we-are-getting-ready"
    assert done.update_path == dark / "content/updates" / f"{update.id}.md"
    assert update.title == "Hurricane Imogen: we are getting ready"
    assert update.time == moment and update.tags == ("hurricane",)
    assert update.body.startswith("As of 9:05 AM EDT on Monday September 14, a hurricane")
    assert "All Test Health hospitals are open. Updates: https://hub.example.org/" in update.body
    text = (dark / "content/hub.yaml").read_text()
    assert re.search(r"^status: active +# the dark site$", text, re.M)  # comments and layout kept
    assert "tip_categories:\n  - Before the storm" in text
    [entry] = audit.entries(dark / ".stormhub" / "ledger.sqlite")
    assert (entry.who, entry.action, entry.update_id) == ("Dana Reyes", "activate", update.id)
    assert entry.revision == update.revision and "template watch" in entry.details


def test_activate_cli_then_again_is_an_error_that_changes_nothing(dark: Path) -> None:
    runner = CliRunner()
    args = ["activate", "--hub", str(dark), "--by", "Dana", "--set", "storm=Imogen"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "The hub is live" in result.stdout and "Banner: A hurricane watch" in result.stdout
    after = _files(dark)
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "already active: nothing changed" in again.stderr
    assert _files(dark) == after
    assert len(audit.entries(dark / ".stormhub" / "ledger.sqlite")) == 1


def test_activate_with_a_missing_placeholder_changes_nothing(dark: Path) -> None:
    before = _files(dark)
    result = CliRunner().invoke(main, ["activate", "--hub", str(dark), "--by", "Dana"])
    assert result.exit_code == 2
    assert (
        "content/templates/watch.md:3:1: placeholder: {storm} has no value: "
        "pass --set storm=VALUE" in result.stderr
    )
    assert _files(dark) == before
    assert not (dark / ".stormhub" / "ledger.sqlite").exists()
    assert state(dark) == []  # no scratch copy left


def test_activate_checks_the_result_before_keeping_anything(dark: Path) -> None:
    # A value that makes the update invalid: a title that is only spaces.
    bad = TEMPLATE.replace('title: "Hurricane {storm}: we are getting ready"', 'title: "{x}"')
    (dark / "content/templates/watch.md").write_text(bad)
    before = _files(dark)
    result = CliRunner().invoke(
        main, ["activate", "--hub", str(dark), "--by", "D", "--set", "storm=I", "--set", "x= "]
    )
    assert result.exit_code == 2, result.output
    assert "content/templates/watch.md:4:1: title: must not be empty" in result.stderr
    assert _files(dark) == before


def test_activate_needs_a_template_choice_when_there_are_several(dark: Path) -> None:
    (dark / "content/templates/warning.md").write_text(TEMPLATE.replace("watch", "warning"))
    result = CliRunner().invoke(
        main, ["activate", "--hub", str(dark), "--by", "D", "--set", "storm=I"]
    )
    assert result.exit_code == 1
    assert "choose the first update with --template: one of warning, watch" in result.stderr
    result = CliRunner().invoke(
        main, ["activate", "--hub", str(dark), "--by", "D", "--template", "nope"]
    )
    assert result.exit_code == 1 and "no prepared update 'nope'" in result.stderr
    result = CliRunner().invoke(main, ["activate", "--hub", str(dark), "--set", "storm"])
    assert result.exit_code == 1 and "write it as NAME=VALUE" in result.stderr


def test_activate_refuses_without_templates_and_on_a_closed_hub(dark: Path) -> None:
    (dark / "content/templates/watch.md").unlink()
    result = CliRunner().invoke(main, ["activate", "--hub", str(dark), "--by", "D"])
    assert result.exit_code == 1 and "holds no prepared updates" in result.stderr
    (dark / "content/hub.yaml").write_text(STANDBY.replace("standby ", "closed "))
    result = CliRunner().invoke(main, ["activate", "--hub", str(dark), "--by", "D"])
    assert result.exit_code == 1 and "the hub is closed" in result.stderr


def test_check_reports_a_broken_prepared_update_where_it_is(dark: Path) -> None:
    (dark / "content/templates/warning.md").write_text(
        TEMPLATE.replace("severity: warning", "severity: severe").replace("tags:", "tagz:")
    )
    result = CliRunner().invoke(main, ["check", "--hub", str(dark)])
    assert result.exit_code == 2
    assert "content/templates/warning.md:5:1: severity:" in result.stderr
    assert "content/templates/warning.md:6:1: tagz: unknown key 'tagz'" in result.stderr
    assert "content/templates/watch.md" not in result.stderr  # the good one passes


def test_activate_a_shipped_template_hub(tmp_path: Path) -> None:
    root = init_hub("cyberattack", tmp_path / "hub")
    result = CliRunner().invoke(main, ["activate", "--hub", str(root), "--by", "Sam"])
    assert result.exit_code == 0, result.output
    hub = load_hub(root)
    assert hub.info.status.value == "active" and len(hub.updates) == 1
    assert hub.updates[0].title == "Example Health: IT outage, our hospitals are open"
    assert CliRunner().invoke(main, ["check", "--hub", str(root)]).exit_code == 0
