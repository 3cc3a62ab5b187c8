"""The audit log: append-only storage, who acted, what the fan-out records, the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hub import audit
from hub.cli import main
from hub.ledger import Ledger
from tests.conftest import HubFactory

ED = "2026-11-27-0615-ed-open"
TWO_BOXES = (
    "channels:\n"
    "  - name: box\n    type: outbox\n"
    "  - name: review\n    type: outbox\n    folder: .stormhub/review\n"
)


@pytest.fixture(autouse=True)
def no_user_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit.USER_ENV, raising=False)


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner(env={"COLUMNS": "200", **(env or {})})
    return runner.invoke(main, [args[0], "--hub", str(root), *args[1:]])


# --- storage ------------------------------------------------------------------------------


def test_record_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    entry = audit.record(path, "Dana", "override", ED, "abc123", "phi_ok: family consented")
    assert entry.seq == 1 and entry.who == "Dana"
    moment = dt.datetime.fromisoformat(entry.at)
    assert moment.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - moment).total_seconds()) < 5
    with Ledger(path) as ledger:
        audit.record(ledger, "Lee", "approve", "other", "def456")
        assert [e.who for e in audit.entries(ledger)] == ["Dana", "Lee"]
        assert [e.who for e in audit.entries(ledger, update_id="other")] == ["Lee"]


def test_record_needs_who_and_action(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs who and action"):
        audit.record(tmp_path / "l.sqlite", " ", "approve")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit SET who='someone else'",
        "UPDATE audit SET details='' WHERE seq=1",
        "DELETE FROM audit",
        "DELETE FROM audit WHERE seq=1",
    ],
)
def test_the_log_is_append_only(tmp_path: Path, statement: str) -> None:
    path = tmp_path / "ledger.sqlite"
    audit.record(path, "Dana", "approve", ED, "abc123")
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(statement)
    db.close()
    assert [e.who for e in audit.entries(path)] == ["Dana"]


def test_an_older_ledger_gains_the_tables(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE deliveries (update_id TEXT, channel TEXT, action TEXT)")
    old.execute("INSERT INTO deliveries VALUES ('u', 'box', 'post')")
    old.commit()
    old.close()
    audit.record(path, "Dana", "approve", "u", "r1")
    assert len(audit.entries(path)) == 1
    with Ledger(path) as ledger:  # opening again keeps entries and triggers
        assert ledger.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            ledger.db.execute("DELETE FROM audit")


def test_reading_a_missing_ledger_does_not_create_it(tmp_path: Path) -> None:
    assert audit.entries(tmp_path / "none.sqlite") == []
    assert not (tmp_path / "none.sqlite").exists()


def test_current_user_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "os-login")
    assert audit.current_user() == "os-login"
    monkeypatch.setenv(audit.USER_ENV, "  Lee Chen ")
    assert audit.current_user() == "Lee Chen"
    assert audit.current_user("Dana") == "Dana"
    assert audit.current_user("   ") == "Lee Chen"


# --- what gets recorded ---------------------------------------------------------------------


def test_fanout_records_each_publish_correction_and_retraction(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub({"channels.yaml": TWO_BOXES})
    env = {"STORMHUB_USER": "ops-desk"}
    assert run(root, "fanout", env=env).exit_code == 0
    path = root / "content/updates" / f"{ED}.md"
    path.write_text(path.read_text().replace("generator power", "mains power"))
    assert run(root, "fanout", env=env).exit_code == 0
    assert run(root, "fanout", env=env).exit_code == 0  # nothing new: nothing logged
    result = run(root, "retract", ED, "--reason", "Wrong site.", "--by", "Dana", env=env)
    assert result.exit_code == 0, result.output

    logged = audit.entries(root / ".stormhub/ledger.sqlite")
    rows = [(e.who, e.action, e.details.split(":")[0]) for e in logged]
    # one entry per channel delivery; the channels run concurrently, so sort each run
    assert [*sorted(rows[:2]), *sorted(rows[2:4]), rows[4], *sorted(rows[5:])] == [
        ("ops-desk", "publish", "box"),
        ("ops-desk", "publish", "review"),
        ("ops-desk", "correct", "box"),
        ("ops-desk", "correct", "review"),
        ("Dana", "retract", "marked retracted"),
        ("ops-desk", "retract", "box"),
        ("ops-desk", "retract", "review"),
    ]
    published, corrected = logged[0], logged[2]
    assert published.revision != corrected.revision  # each names the revision it sent
    assert logged[4].details == "marked retracted: Wrong site."
    assert logged[4].revision == logged[5].revision
    assert published.details.endswith(".json")  # the channel and where the post went


def test_a_superseding_update_is_logged_as_correcting_the_original(make_hub: HubFactory) -> None:
    fix = (
        "---\ntime: 2026-11-27 07:00\ntitle: ED open on mains power\nseverity: warning\n"
        f"supersedes: {ED}\n---\nThe ED is open on mains power.\n"
    )
    root = make_hub({"channels.yaml": TWO_BOXES.split("  - name: review")[0],
                     "content/updates/fix.md": fix})  # fmt: skip
    assert run(root, "fanout").exit_code == 0
    fixes = audit.entries(root / ".stormhub/ledger.sqlite", update_id="fix")
    assert [e.action for e in fixes] == ["publish"]
    assert fixes[0].details.endswith(f"(corrects {ED})")


def test_retract_without_a_name_is_refused_before_the_file_changes(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nobody() -> str:
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr("getpass.getuser", nobody)
    root = make_hub({"channels.yaml": TWO_BOXES})
    before = (root / "content/updates" / f"{ED}.md").read_text()
    result = run(root, "retract", ED)
    assert result.exit_code == 1 and "pass --by NAME" in result.stderr
    assert (root / "content/updates" / f"{ED}.md").read_text() == before


# --- stormhub audit -----------------------------------------------------------------------------


def seeded(make_hub: HubFactory) -> Path:
    root = make_hub()
    path = root / ".stormhub/ledger.sqlite"
    audit.record(path, "Dana Reyes", "approve", ED, "rev1", "warning: ED open, on generators")
    audit.record(path, "Lee", "override", ED, "rev1", '=HYPERLINK("http://x") [red]x[/red]')
    audit.record(path, "ops", "publish", "other", "rev9", "box: https://example.org/1")
    return root


def test_audit_table(make_hub: HubFactory) -> None:
    result = run(seeded(make_hub), "audit")
    assert result.exit_code == 0, result.output
    assert "Audit log" in result.stdout and "time (America/New_York)" in result.stdout
    for text in ("Dana Reyes", "approve", "override", "publish", ED, "rev1", "[red]x[/red]"):
        assert text in result.stdout


def test_audit_for_one_update(make_hub: HubFactory) -> None:
    filtered = run(seeded(make_hub), "audit", "--update", "other")
    assert "publish" in filtered.stdout and "Dana Reyes" not in filtered.stdout
    nothing = run(seeded(make_hub), "audit", "--update", "never")
    assert "No audit entries for never yet" in nothing.stdout


def test_audit_when_nothing_happened_yet(make_hub: HubFactory) -> None:
    root = make_hub()
    result = run(root, "audit")
    assert result.exit_code == 0
    assert "No audit entries yet" in result.stdout
    assert not (root / ".stormhub/ledger.sqlite").exists()
    assert run(root, "audit", "--csv").stdout == "seq,time_utc,who,action,update,revision,details\n"


def test_audit_csv_parses_back(make_hub: HubFactory) -> None:
    result = run(seeded(make_hub), "audit", "--csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["who"] for r in rows] == ["Dana Reyes", "Lee", "ops"]
    assert rows[0]["details"] == "warning: ED open, on generators"  # the comma survives
    assert rows[0]["update"] == ED and rows[0]["revision"] == "rev1"
    assert dt.datetime.fromisoformat(rows[0]["time_utc"]).utcoffset() == dt.timedelta(0)
    assert rows[1]["details"].startswith("'=HYPERLINK")  # no formula for the spreadsheet


def test_audit_csv_to_a_file(make_hub: HubFactory, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "after-action.csv"
    result = run(seeded(make_hub), "audit", "--output", str(target))
    assert result.exit_code == 0
    assert "Wrote 3 audit entries" in result.stderr and result.stdout == ""
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["seq", "time_utc", "who", "action", "update", "revision", "details"]
    assert [r[3] for r in rows[1:]] == ["approve", "override", "publish"]
    assert not list(target.parent.glob(".*.tmp"))


def test_audit_reads_a_broken_hub(make_hub: HubFactory) -> None:
    root = seeded(make_hub)
    (root / "content/hub.yaml").write_text("timezone: [not, a, zone\n")
    result = run(root, "audit")
    assert result.exit_code == 0 and "time (UTC)" in result.stdout and "Dana Reyes" in result.stdout
