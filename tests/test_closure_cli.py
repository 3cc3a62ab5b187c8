"""``stormhub closure set|clear``: closures.yaml edited in place, everything else kept."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hub.authoring import clear_closure, set_closure
from hub.cli import main
from hub.content import load_hub
from hub.model import ClosureStatus
from tests.conftest import ROOT, HubFactory

# Comments everywhere, two list styles, a dash on its own line, a folded note, a flow
# list, quoting of all kinds, and no newline at the very end.
ODD = """\
# Closures: header comment
#   keep me exactly,   with my spacing

-   facility: "Eastside Clinic"    # quoted, keys at column 4
    status: closed   # since the surge
    from: '2026-11-26 12:00'
    note: >-
      Took on floodwater;
      closed for repairs.
    alternatives: [Southpoint Urgent Care, "Westgate: walk-in"]

  # a comment between entries, indented
- facility: Harbor Dialysis
  id: harbor
  status: limited
  from: 2026-11-26 06:00
  until: 2026-11-30 07:00   # planned
  alternatives:
  - Main Campus dialysis      # a list at offset 0
  - Call (757) 555-0142


-
  facility: Bayshore Causeway
  status: closed
  from: 2026-11-26 18:00
  note: Closed by the city.
# the end"""


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--hub", str(root)], env={"COLUMNS": "200"})


def closures_text(root: Path) -> str:
    return (root / "content" / "closures.yaml").read_bytes().decode()


@pytest.fixture
def odd_hub(make_hub: HubFactory) -> Path:
    root = make_hub()
    (root / "content" / "closures.yaml").write_bytes(ODD.encode())
    load_hub(root)  # the fixture itself is valid
    return root


def test_set_until_on_an_existing_entry_changes_that_line_only(odd_hub: Path) -> None:
    result = run(odd_hub, "closure", "set", "harbor", "--until", "2026-12-01 09:00")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Updated closure harbor in content/closures.yaml\n"
    expected = ODD.replace(
        "  until: 2026-11-30 07:00   # planned", "  until: 2026-12-01 09:00   # planned"
    )
    assert closures_text(odd_hub) == expected
    harbor = next(c for c in load_hub(odd_hub).closures if c.id == "harbor")
    assert harbor.until == dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)


def test_set_rewrites_only_the_changed_keys_of_an_oddly_laid_out_entry(odd_hub: Path) -> None:
    result = run(
        odd_hub,
        "closure",
        "set",
        "eastside clinic",  # any case
        "--status",
        "limited",
        "--from",
        "2026-11-28 09:00",
        "--note",
        "Open for appointments: no walk-ins.",
        "--alternative",
        "Nurse Advice Line",
        "--alternative",
        "Telehealth, [24/7]",
    )
    assert result.exit_code == 0, result.output
    expected = ODD.replace(
        """\
    status: closed   # since the surge
    from: '2026-11-26 12:00'
    note: >-
      Took on floodwater;
      closed for repairs.
    alternatives: [Southpoint Urgent Care, "Westgate: walk-in"]
""",
        """\
    status: limited  # since the surge
    from: 2026-11-28 09:00
    note: "Open for appointments: no walk-ins."
    alternatives: [Nurse Advice Line, "Telehealth, [24/7]"]
""",
    )
    assert closures_text(odd_hub) == expected
    clinic = next(c for c in load_hub(odd_hub).closures if c.id == "eastside-clinic")
    assert clinic.status is ClosureStatus.LIMITED
    assert clinic.alternatives == ("Nurse Advice Line", "Telehealth, [24/7]")


def test_a_key_that_is_added_goes_in_its_place_with_the_entrys_list_style(
    odd_hub: Path,
) -> None:
    result = run(
        odd_hub,
        "closure",
        "set",
        "Bayshore Causeway",
        "--until",
        "2026-11-29 18:00",
        "--alternative",
        "Harbor Road from the north",
        "--location",
        "causeway",
    )
    assert result.exit_code == 0, result.output
    expected = ODD.replace(
        """\
  facility: Bayshore Causeway
  status: closed
  from: 2026-11-26 18:00
  note: Closed by the city.
""",
        """\
  facility: Bayshore Causeway
  location: causeway
  status: closed
  from: 2026-11-26 18:00
  until: 2026-11-29 18:00
  note: Closed by the city.
  alternatives:
  - Harbor Road from the north
""",
    )
    assert closures_text(odd_hub) == expected


def test_set_appends_a_new_entry_after_the_last_one(odd_hub: Path) -> None:
    result = run(
        odd_hub,
        "closure",
        "set",
        "Riverside Library",
        "--status",
        "closed",
        "--from",
        "2026-11-28 08:00",
        "--until",
        "2026-12-02T17:00-05:00",
        "--note",
        "Used as a shelter",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added closure riverside-library in content/closures.yaml\n"
    expected = ODD.replace(
        "  note: Closed by the city.\n# the end",
        "  note: Closed by the city.\n"
        "\n"
        "- facility: Riverside Library\n"
        "  status: closed\n"
        "  from: 2026-11-28 08:00\n"
        "  until: 2026-12-02 17:00\n"
        "  note: Used as a shelter\n"
        "# the end",
    )
    assert closures_text(odd_hub) == expected
    assert [c.id for c in load_hub(odd_hub).closures][-1] == "riverside-library"


def test_a_new_entry_needs_a_status_and_a_near_miss_needs_new(odd_hub: Path) -> None:
    result = run(odd_hub, "closure", "set", "Riverside Library", "--until", "now")
    assert result.exit_code == 2
    assert "'Riverside Library' is a new closure: give its --status" in result.stderr
    result = run(odd_hub, "closure", "set", "Bayshore Causway", "--status", "closed")
    assert result.exit_code == 2
    assert (
        "no closure 'Bayshore Causway' in content/closures.yaml: did you mean "
        "'Bayshore Causeway' (id bayshore-causeway)? or pass --new" in result.stderr
    )
    assert closures_text(odd_hub) == ODD
    result = run(odd_hub, "closure", "set", "Bayshore Causway", "--status", "closed", "--new")
    assert result.exit_code == 0, result.output
    assert "- facility: Bayshore Causway\n  status: closed\n" in closures_text(odd_hub)


def test_clear_reopens_the_entry_and_keeps_everything_else(odd_hub: Path) -> None:
    result = run(odd_hub, "closure", "clear", "Eastside Clinic", "--at", "2026-11-29 07:30")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Reopened eastside-clinic in content/closures.yaml\n"
    expected = ODD.replace(
        """\
    status: closed   # since the surge
    from: '2026-11-26 12:00'
    note: >-
      Took on floodwater;
      closed for repairs.
    alternatives: [Southpoint Urgent Care, "Westgate: walk-in"]
""",
        """\
    status: open     # since the surge
    from: 2026-11-29 07:30
""",
    )
    assert closures_text(odd_hub) == expected
    hub = load_hub(odd_hub)
    clinic = next(c for c in hub.closures if c.id == "eastside-clinic")
    assert clinic.status is ClosureStatus.OPEN
    assert (clinic.until, clinic.note, clinic.alternatives) == (None, "", ())
    assert clinic.from_ == dt.datetime(2026, 11, 29, 12, 30, tzinfo=dt.UTC)


def test_clear_drops_until_and_takes_a_reopening_note(odd_hub: Path) -> None:
    result = run(
        odd_hub, "closure", "clear", "harbor", "--at", "2026-11-28 06:00", "--note", "Extra chairs."
    )
    assert result.exit_code == 0, result.output
    expected = ODD.replace(
        """\
  status: limited
  from: 2026-11-26 06:00
  until: 2026-11-30 07:00   # planned
  alternatives:
  - Main Campus dialysis      # a list at offset 0
  - Call (757) 555-0142
""",
        """\
  status: open
  from: 2026-11-28 06:00
  note: Extra chairs.
""",
    )
    assert closures_text(odd_hub) == expected


def test_clear_without_at_uses_an_end_that_has_passed(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/closures.yaml": (
                "- facility: Clinic\n  status: closed\n"
                "  from: 2026-11-26 12:00\n  until: 2026-11-28 08:00\n"
            )
        }
    )
    now = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)
    made = clear_closure(root, "clinic", now=now)
    assert made.action == "reopened"
    assert closures_text(root) == "- facility: Clinic\n  status: open\n  from: 2026-11-28 08:00\n"
    # Already open: nothing to clear, exit 1.
    result = run(root, "closure", "clear", "Clinic")
    assert result.exit_code == 1
    assert "Clinic is already open (since 2026-11-28 08:00): nothing to clear" in result.stderr


def test_a_status_change_starts_a_new_period_and_open_drops_until(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/closures.yaml": (
                "- facility: Clinic\n  status: closed\n"
                "  from: 2026-11-26 12:00\n  until: 2026-12-08 08:00\n"
            )
        }
    )
    now = dt.datetime(2026, 11, 29, 15, 7, 42, tzinfo=dt.UTC)
    set_closure(root, "Clinic", status="limited", now=now)
    assert closures_text(root) == (
        "- facility: Clinic\n  status: limited\n"
        "  from: 2026-11-29 10:07\n  until: 2026-12-08 08:00\n"
    )
    set_closure(root, "Clinic", status="open", now=now)
    assert closures_text(root) == "- facility: Clinic\n  status: open\n  from: 2026-11-29 10:07\n"
    assert set_closure(root, "Clinic", status="open", now=now).action == "unchanged"


def test_clear_unknown_facility_exits_2_with_a_suggestion(odd_hub: Path) -> None:
    result = run(odd_hub, "closure", "clear", "Eastside Clinc")
    assert result.exit_code == 2
    assert (
        "Invalid value for FACILITY: no closure 'Eastside Clinc' in content/closures.yaml: "
        "did you mean 'Eastside Clinic' (id eastside-clinic)?" in result.stderr
    )
    result = run(odd_hub, "closure", "clear", "Library")
    assert result.exit_code == 2
    assert "no closure 'Library' in content/closures.yaml: use a facility name" in result.stderr
    assert closures_text(odd_hub) == ODD


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--until", "tomorrow"],
            "'tomorrow' is not a date and time: write it as 2026-11-28 08:00",
        ),
        (["--until", "2026-12-01"], "'2026-12-01' has no time of day"),
        (["--until", "2026-13-01 08:00"], "month must be in 1..12"),
        (
            ["--until", "2027-03-14 02:30"],
            "does not exist in America/New_York (clocks jump forward)",
        ),
        (["--until", "2026-11-01 01:30"], "happens twice in America/New_York (clocks go back)"),
        (["--until", "2026-11-20 08:00"], "would end (2026-11-20 08:00) before it starts"),
        (["--from", "2026-12-30 08:00"], "would end (2026-11-30 07:00) before it starts"),
    ],
)
def test_bad_times_exit_2_and_change_nothing(odd_hub: Path, args: list[str], message: str) -> None:
    result = run(odd_hub, "closure", "set", "harbor", *args)
    assert result.exit_code == 2
    assert (
        f"Invalid value for '{args[0]}'" in result.stderr or "Invalid value for --" in result.stderr
    )
    assert message in result.stderr
    assert closures_text(odd_hub) == ODD


def test_bad_clear_time_exits_2(odd_hub: Path) -> None:
    result = run(odd_hub, "closure", "clear", "harbor", "--at", "2026-11-20 08:00")
    assert result.exit_code == 2
    assert "2026-11-20 08:00 is not after the closure began (2026-11-26 06:00)" in result.stderr
    assert closures_text(odd_hub) == ODD


def test_a_change_the_hub_refuses_is_undone_with_path_line_col(odd_hub: Path) -> None:
    result = run(odd_hub, "closure", "set", "harbor", "--location", "Main Campus")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "content/closures.yaml:15:3: location: 'Main Campus' is not a valid id"
    )
    assert "1 problem found; nothing was written." in result.stderr
    assert closures_text(odd_hub) == ODD


def test_broken_yaml_is_reported_and_left_alone(make_hub: HubFactory) -> None:
    broken = "- facility: A\n  status: closed\n  alternatives: [x,\n"
    root = make_hub({"content/closures.yaml": broken})
    result = run(root, "closure", "set", "A", "--until", "now")
    assert result.exit_code == 2
    assert re.match(r"content/closures\.yaml:\d+:\d+: .*fix the YAML first", result.stderr)
    assert closures_text(root) == broken


def test_a_flow_list_is_refused_with_the_fix(make_hub: HubFactory) -> None:
    flow = "[{facility: A, status: closed, from: 2026-11-26 12:00}]\n"
    root = make_hub({"content/closures.yaml": flow})
    result = run(root, "closure", "clear", "A")
    assert result.exit_code == 2
    assert "content/closures.yaml:1:1: is one [...] list: stormhub closure edits block lists" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, "- facility: Clinic\n  status: closed\n  from: 2026-11-28 08:00\n"),
        ("", "- facility: Clinic\n  status: closed\n  from: 2026-11-28 08:00\n"),
        (
            "# none yet\n",
            "# none yet\n\n- facility: Clinic\n  status: closed\n  from: 2026-11-28 08:00\n",
        ),
        (
            "# none yet\n[]\n",
            "# none yet\n- facility: Clinic\n  status: closed\n  from: 2026-11-28 08:00\n",
        ),
        (
            "- facility: A\r\n  status: closed\r\n  from: 2026-11-26 12:00\r\n",
            "- facility: A\r\n  status: closed\r\n  from: 2026-11-26 12:00\r\n\r\n"
            "- facility: Clinic\r\n  status: closed\r\n  from: 2026-11-28 08:00\r\n",
        ),
    ],
    ids=["missing", "empty", "comments-only", "empty-list", "crlf"],
)
def test_first_entries_and_line_endings(
    make_hub: HubFactory, before: str | None, after: str
) -> None:
    root = make_hub()
    path = root / "content" / "closures.yaml"
    if before is not None:
        path.write_bytes(before.encode())
    result = run(
        root, "closure", "set", "Clinic", "--status", "closed", "--from", "2026-11-28 08:00"
    )
    assert result.exit_code == 0, result.output
    assert closures_text(root) == after


def test_editing_the_sample_hub_touches_one_entry_only(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "hub"
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    original = closures_text(root).splitlines(keepends=True)
    result = run(root, "closure", "clear", "Port Alder Health Eastside Clinic", "--at", "now")
    assert result.exit_code == 0, result.output
    edited = closures_text(root).splitlines(keepends=True)
    # The entry's status..alternatives lines (6-12) became two; all else is byte-identical.
    assert edited[:5] == original[:5]
    assert edited[5] == "  status: open\n"
    assert re.fullmatch(r"  from: \d{4}-\d\d-\d\d \d\d:\d\d\n", edited[6])
    assert edited[7:] == original[12:]
    result = run(root, "closure", "set", "Harbor Dialysis Center", "--until", "2026-12-01 08:00")
    assert result.exit_code == 0, result.output
    again = closures_text(root).splitlines(keepends=True)
    at = again.index("  from: 2026-11-28 06:00\n")
    assert again[at + 1] == "  until: 2026-12-01 08:00\n"
    assert again[: at + 1] + again[at + 2 :] == edited
