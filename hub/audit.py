"""The audit trail: an append-only log, in the ledger database, of who did what and when.

Every approval, check override, publish, correction and retraction adds one entry:
when (aware UTC, ISO 8601), who (``--by``, else ``STORMHUB_USER``, else the OS
user), the action, the update and its revision, and details. SQLite triggers
refuse to UPDATE or DELETE an entry, so a mistake is answered by a new entry, never
by rewriting history. (Anyone who can write the database file can still drop the
triggers: the log guards against accidents and tidy-ups, not against tampering.)

``stormhub audit`` prints the log; ``stormhub audit --csv`` exports it for the
after-action report.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import os
import sys
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from hub.errors import HubError
from hub.ledger import Ledger

if TYPE_CHECKING:
    from rich.console import Console

USER_ENV = "STORMHUB_USER"

APPROVE = "approve"
OVERRIDE = "override"
PUBLISH = "publish"
CORRECT = "correct"
RETRACT = "retract"


@dataclass(frozen=True)
class Entry:
    """One line of the audit log."""

    seq: int
    at: str  # aware UTC, ISO 8601
    who: str
    action: str
    update_id: str
    revision: str
    details: str


COLUMNS = tuple(f.name for f in fields(Entry))


def current_user(by: str | None = None) -> str:
    """Who is acting: *by* (``--by``), else ``$STORMHUB_USER``, else the OS user.

    Raises:
        HubError: when none of the three gives a name.
    """
    for candidate in (by, os.environ.get(USER_ENV)):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        name = ""
    if not name.strip():
        raise HubError(f"cannot tell who you are: pass --by NAME or set {USER_ENV}")
    return name.strip()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def record(
    target: Ledger | Path | str,
    who: str,
    action: str,
    update_id: str = "",
    revision: str = "",
    details: str = "",
) -> Entry:
    """Append one entry to the audit log.

    Args:
        target: an open :class:`~hub.ledger.Ledger`, or the path of its database.
        who: the person (see :func:`current_user`).
        action: ``approve``, ``override``, ``publish``, ``correct``, ``retract`` or
            another short verb.
        update_id: the update it concerns ("" for the hub as a whole).
        revision: that update's :attr:`~hub.model.Update.revision`.
        details: free text, e.g. the channel and its URL, or an override's reason.

    Returns:
        The entry as stored.
    """
    if not who.strip() or not action.strip():
        raise ValueError("an audit entry needs who and action")
    if not isinstance(target, Ledger):
        with Ledger(target) as ledger:
            return record(ledger, who, action, update_id, revision, details)
    at = _now()
    with target.transaction():  # on its own, or within the caller's
        cursor = target.db.execute(
            "INSERT INTO audit (at, who, action, update_id, revision, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (at, who.strip(), action.strip(), update_id, revision, details),
        )
    return Entry(cursor.lastrowid or 0, at, who.strip(), action.strip(), update_id, revision,
                 details)  # fmt: skip


def entries(target: Ledger | Path | str, *, update_id: str | None = None) -> list[Entry]:
    """The audit log, oldest first; only *update_id*'s entries when given.

    A ledger path that does not exist yet has no entries (and is not created).
    """
    if not isinstance(target, Ledger):
        if not Path(target).exists():
            return []
        with Ledger(target) as ledger:
            return entries(ledger, update_id=update_id)
    query = "SELECT seq, at, who, action, update_id, revision, details FROM audit"
    params: tuple[str, ...] = ()
    if update_id is not None:
        query += " WHERE update_id=?"
        params = (update_id,)
    return [Entry(*row) for row in target.db.execute(query + " ORDER BY seq", params)]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    # A spreadsheet runs a cell that starts like a formula; titles and errors are
    # free text, so such cells get a leading apostrophe (OWASP's CSV injection advice).
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(rows: Iterable[Entry], stream: IO[str]) -> int:
    """Write *rows* as CSV with a header line; returns how many rows were written."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["seq", "time_utc", "who", "action", "update", "revision", "details"])
    count = 0
    for entry in rows:
        writer.writerow([_cell(v) for v in astuple(entry)])
        count += 1
    return count


def export_csv(rows: Iterable[Entry], output: Path) -> int:
    """Write the CSV to *output* in one step (a temporary file renamed into place)."""
    buffer = io.StringIO()
    count = write_csv(rows, buffer)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    os.replace(tmp, output)
    return count


def _hub_zone(root: Path) -> dt.tzinfo:
    """The hub's timezone for display, read without loading (and so without checking) it.

    The audit log must stay readable when content/ is broken; UTC when unsure.
    """
    import zoneinfo

    import yaml

    try:
        info = yaml.safe_load((root / "content" / "hub.yaml").read_text(encoding="utf-8"))
        return zoneinfo.ZoneInfo(str(info["timezone"]))
    except Exception:  # any problem here is check's to report, not audit's
        return dt.UTC


def show_audit(
    root: Path,
    ledger: Path | None,
    *,
    update_id: str | None = None,
    as_csv: bool = False,
    output: Path | None = None,
    console: Console | None = None,
) -> None:
    """``stormhub audit``: the log as a table, or as CSV on stdout or into *output*."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from hub.console import ledger_path

    path = ledger_path(root, ledger)
    rows = entries(path, update_id=update_id)
    if output is not None:
        count = export_csv(rows, output)
        click.echo(f"Wrote {count} audit entries to {output}", err=True)
        return
    if as_csv:
        write_csv(rows, sys.stdout)
        return
    console = console or Console()
    if not rows:
        where = f" for {update_id}" if update_id else ""
        console.print(f"No audit entries{where} yet (ledger: {path}).", highlight=False)
        return
    zone = _hub_zone(Path(root).resolve())
    zone_name = getattr(zone, "key", "UTC")
    table = Table(title=f"Audit log ({path})")
    for column in (f"time ({zone_name})", "who", "action", "update", "revision", "details"):
        table.add_column(column, overflow="fold")
    for entry in rows:
        moment = dt.datetime.fromisoformat(entry.at).astimezone(zone)
        cells = (entry.who, entry.action, entry.update_id, entry.revision, entry.details)
        # Text(), not str: a title or error with [brackets] is data, not rich markup
        table.add_row(f"{moment:%Y-%m-%d %H:%M:%S %Z}", *map(Text, cells))
    console.print(table)


def retract(root: Path, ledger: Path | None, update_id: str, reason: str, by: str | None) -> Path:
    """Mark *update_id* retracted (:func:`hub.authoring.mark_retracted`) and log who did it.

    Returns:
        The update's file.
    """
    from hub.authoring import mark_retracted
    from hub.console import ledger_path
    from hub.content import load_hub

    who = current_user(by)  # before the file changes: a retraction is never anonymous
    path = mark_retracted(root, update_id, reason)
    update = load_hub(root).update(update_id)
    details = f"marked retracted: {reason.strip()}" if reason.strip() else "marked retracted"
    record(ledger_path(root, ledger), who, RETRACT, update.id, update.revision, details)
    return path
