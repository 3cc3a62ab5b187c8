"""The delivery ledger: SQLite (WAL), one row per (update, channel, action).

A delivery is *claimed* (committed) before the request goes out and *recorded*
after, so a fan-out that dies between the two leaves a claimed row behind; the
next run knows to check before posting again. ``action`` is ``post``,
``correct:<revision>`` or ``retract``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    update_id   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    action      TEXT NOT NULL,
    revision    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('claimed', 'delivered', 'failed')),
    remote_id   TEXT,
    remote_url  TEXT,
    remote_ids  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    claimed_by  TEXT,
    claimed_at  TEXT,
    done_at     TEXT,
    PRIMARY KEY (update_id, channel, action)
);
CREATE TABLE IF NOT EXISTS channels (
    channel    TEXT PRIMARY KEY,
    first_used TEXT NOT NULL
);
-- hub.audit: who did what, when, to which revision; rows are only ever added.
CREATE TABLE IF NOT EXISTS audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    who         TEXT NOT NULL,
    action      TEXT NOT NULL,
    update_id   TEXT NOT NULL DEFAULT '',
    revision    TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: add an entry instead'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END;
-- hub.approvals: who approved which revision of an update (the two-person rule).
CREATE TABLE IF NOT EXISTS approvals (
    update_id   TEXT NOT NULL,
    revision    TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (update_id, revision, approved_by)
);
"""


# What planning reads (Ledger.snapshot): each update's posts, grouped in index order.
POSTED_INDEX = """CREATE INDEX IF NOT EXISTS posted ON deliveries (update_id, revision, channel)
    WHERE action = 'post' AND state = 'delivered'"""


@dataclass(frozen=True)
class Row:
    update_id: str
    channel: str
    action: str
    revision: str
    state: str
    remote_id: str | None
    remote_url: str | None
    remote_ids: tuple[str, ...]
    attempts: int
    last_error: str | None
    claimed_by: str | None
    claimed_at: str | None
    done_at: str | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def me() -> str:
    """The current process as written in claims: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_is_live(claimed_by: str | None) -> bool:
    """Whether the process that claimed a delivery is still running on this host."""
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if claimed_by == me():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_WRITERS: dict[Path, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _writer(path: Path) -> threading.RLock:
    """The lock this process's writers of the ledger at *path* take turns on."""
    key = path.resolve()
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.RLock())


class Ledger:
    """One connection per thread; open one per worker."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _writer(self.path)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a recorded delivery survives power loss
        self.db.executescript(SCHEMA)
        with contextlib.suppress(sqlite3.OperationalError):  # a ledger of another shape
            self.db.execute(POSTED_INDEX)  # reads work without it, only slower

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK``.

        Threads of one process (the fan-out's channel workers, each with a connection of
        its own) first queue on a lock, so each starts the moment the one before commits;
        SQLite's own wait for a busy database, left to other processes, sleeps in steps
        of up to 100 ms. Inside an open transaction, it joins that one.
        """
        with self._writer:
            if self.db.in_transaction:
                yield
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _row(raw: sqlite3.Row | None) -> Row | None:
        if raw is None:
            return None
        data: dict[str, Any] = dict(raw)
        data["remote_ids"] = tuple(json.loads(data["remote_ids"] or "[]"))
        return Row(**data)

    def get(self, update_id: str, channel: str, action: str = "post") -> Row | None:
        return self._row(
            self.db.execute(
                "SELECT * FROM deliveries WHERE update_id=? AND channel=? AND action=?",
                (update_id, channel, action),
            ).fetchone()
        )

    def rows(self) -> list[Row]:
        cursor = self.db.execute("SELECT * FROM deliveries ORDER BY update_id, channel, action")
        return [r for r in map(self._row, cursor.fetchall()) if r is not None]

    def snapshot(self) -> Snapshot:
        """Which channels have each update's post, read at once, for planning.

        Planning asks about every update and channel, and needs whole rows for a few.
        """
        cursor = self.db.cursor()
        cursor.row_factory = None  # plain tuples: a hub in mid-storm has tens of thousands
        cursor.execute(
            "SELECT update_id, revision, group_concat(channel, char(31)) FROM deliveries "
            "WHERE action = 'post' AND state = 'delivered' GROUP BY update_id, revision"
        )
        sets: dict[str, frozenset[str]] = {}  # most updates went to the same channels
        posted = {}
        for update_id, revision, channels in cursor:
            found = sets.get(channels)
            if found is None:
                found = sets[channels] = frozenset(channels.split("\x1f"))
            posted[update_id, revision] = found
        return Snapshot(self, posted)

    def claim(
        self, update_id: str, channel: str, action: str, revision: str
    ) -> tuple[Row | None, bool]:
        """Claim a delivery for this process.

        Returns:
            The row as it was before (None if new), and whether the claim was
            taken: not when the delivery is done or held by another live process.
        """
        with self.transaction():
            before = self.get(update_id, channel, action)
            if before is not None and (
                before.state == "delivered"
                or (before.state == "claimed" and before.claimed_by != me()
                    and claim_is_live(before.claimed_by))
            ):  # fmt: skip
                return before, False
            self.db.execute(
                """INSERT INTO deliveries (update_id, channel, action, revision, state,
                       attempts, claimed_by, claimed_at)
                   VALUES (?, ?, ?, ?, 'claimed', 1, ?, ?)
                   ON CONFLICT (update_id, channel, action) DO UPDATE SET
                       state='claimed', revision=excluded.revision,
                       attempts=attempts + 1, claimed_by=excluded.claimed_by,
                       claimed_at=excluded.claimed_at""",
                (update_id, channel, action, revision, me(), _now()),
            )
            return before, True

    def retry(self, update_id: str, channel: str, action: str) -> None:
        """Count one more attempt at a claimed delivery."""
        with self.transaction():
            self.db.execute(
                "UPDATE deliveries SET attempts=attempts + 1 "
                "WHERE update_id=? AND channel=? AND action=?",
                (update_id, channel, action),
            )

    def record(
        self,
        update_id: str,
        channel: str,
        action: str,
        *,
        remote_id: str,
        remote_url: str | None,
        remote_ids: tuple[str, ...],
    ) -> None:
        with self.transaction():
            self.db.execute(
                """UPDATE deliveries SET state='delivered', remote_id=?, remote_url=?,
                       remote_ids=?, last_error=NULL, claimed_by=NULL, done_at=?
                   WHERE update_id=? AND channel=? AND action=?""",
                (remote_id, remote_url, json.dumps(list(remote_ids)), _now(),
                 update_id, channel, action),
            )  # fmt: skip

    def fail(self, update_id: str, channel: str, action: str, error: str) -> None:
        with self.transaction():
            self.db.execute(
                """UPDATE deliveries SET state='failed', last_error=?, claimed_by=NULL,
                       done_at=?
                   WHERE update_id=? AND channel=? AND action=?""",
                (error, _now(), update_id, channel, action),
            )

    def register(self, channels: list[str], now: dt.datetime) -> dict[str, dt.datetime | None]:
        """When each channel joined the hub; None for those there from the first fan-out.

        The first fan-out ever (no channel known yet) starts every channel at the
        beginning; a channel added later starts at the moment it is first seen.
        """
        with self.transaction():
            known = dict(self.db.execute("SELECT channel, first_used FROM channels").fetchall())
            stamp = now.isoformat() if known else ""
            for name in channels:
                if name not in known:
                    self.db.execute("INSERT INTO channels VALUES (?, ?)", (name, stamp))
                    known[name] = stamp
        return {n: dt.datetime.fromisoformat(known[n]) if known[n] else None for n in channels}


class Snapshot:
    """The ledger's posts as read once (:meth:`Ledger.snapshot`).

    :meth:`get` reads a whole row from the ledger, which must still be open.
    """

    def __init__(self, ledger: Ledger, posted: dict[tuple[str, str], frozenset[str]]) -> None:
        self._ledger = ledger
        self._posted = posted

    def posted(self, update_id: str, revision: str) -> frozenset[str]:
        """The channels where the post of this revision of the update is delivered."""
        return self._posted.get((update_id, revision), frozenset())

    def get(self, update_id: str, channel: str, action: str = "post") -> Row | None:
        return self._ledger.get(update_id, channel, action)
