"""The ledger's write transactions: all or nothing, nested ones joined, threads in turn."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from hub import audit
from hub.ledger import Ledger


def test_a_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as ledger:
        with pytest.raises(RuntimeError), ledger.transaction():
            ledger.claim("u1", "x", "post", "r1")  # joins the open transaction
            audit.record(ledger, "casey", "publish", "u1", "r1", "x: 1")
            raise RuntimeError("the platform call failed")
        assert ledger.get("u1", "x") is None and audit.entries(ledger) == []
        with ledger.transaction():
            ledger.claim("u1", "x", "post", "r1")
            audit.record(ledger, "casey", "publish", "u1", "r1", "x: 1")
        assert not ledger.db.in_transaction
        row = ledger.get("u1", "x")
        assert row is not None and row.state == "claimed"
        assert [e.details for e in audit.entries(ledger)] == ["x: 1"]


def test_threads_with_their_own_connections_take_turns(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def worker(channel: str) -> None:
        try:
            with Ledger(path) as ledger:
                ledger.db.execute("PRAGMA busy_timeout = 0")  # no SQLite waiting at all
                start.wait()
                for n in range(25):
                    before, taken = ledger.claim(f"u{n}", channel, "post", "r1")
                    assert before is None and taken
                    ledger.record(f"u{n}", channel, "post", remote_id=f"{channel}-{n}",
                                  remote_url=None, remote_ids=(f"{channel}-{n}",))  # fmt: skip
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"c{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Without the lock, a writer meeting another one gets "database is locked" at once.
    assert errors == []
    with Ledger(path) as ledger:
        rows = ledger.rows()
    assert len(rows) == 300 and {r.state for r in rows} == {"delivered"}


def test_another_process_still_gets_sqlites_wait(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # as another process would hold it
        ledger.db.execute("PRAGMA busy_timeout = 0")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            ledger.claim("u1", "x", "post", "r1")
        other.execute("ROLLBACK")
        other.close()
        assert ledger.claim("u1", "x", "post", "r1") == (None, True)
