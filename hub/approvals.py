"""The two-person rule: updates that need approval go out only once someone approves them.

``approval:`` in ``content/hub.yaml`` says which updates need it: ``none`` (the
default), ``required`` (all), or a severity meaning that severity and above
(``approval: warning``). ``stormhub approve UPDATE_ID --by NAME`` approves the
update's current :attr:`~hub.model.Update.revision` (with its translations' text, when
it has any: :func:`covered`); any edit, a translation's too, makes a new revision that
needs approving again. An update may name its ``author:``; that person cannot
approve it. Retractions never wait for approval: taking a wrong post back must be
fast. Approvals live in the ledger database and each one is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hub import audit
from hub.content import load_hub
from hub.errors import HubError
from hub.ledger import Ledger

if TYPE_CHECKING:
    from rich.console import Console

    from hub.fanout import Outcome
    from hub.model import Hub, Update

# update id -> revision -> who approved it, in order
Approved = dict[str, dict[str, list[str]]]


def approved(ledger: Ledger) -> Approved:
    """Every approval in the ledger, for :func:`blocked`."""
    result: Approved = {}
    for update_id, revision, who in ledger.db.execute(
        "SELECT update_id, revision, approved_by FROM approvals ORDER BY approved_at, rowid"
    ):
        result.setdefault(update_id, {}).setdefault(revision, []).append(who)
    return result


def covered(hub: Hub, update: Update) -> str:
    """What an approval of *update* covers: its revision, and its translations' text.

    The update's own revision when it has no translation: posts in any language go out
    as approved, and a translation added or changed later needs approving again.
    """
    found = [
        [t.language, t.fields]
        for language in hub.info.languages[1:]
        if (t := hub.translation_index.get(("update", update.id, language))) is not None
    ]
    if not found:
        return update.revision
    payload = json.dumps(found, sort_keys=True, ensure_ascii=False).encode()
    return f"{update.revision}+{hashlib.sha256(payload).hexdigest()[:8]}"


def blocked(hub: Hub, update: Update, approvals: Approved) -> str | None:
    """Why *update* may not go out yet, or None when it may.

    Args:
        hub: the hub (its ``approval:``, and the update's translations).
        update: the update about to be posted or corrected (not retracted).
        approvals: from :func:`approved`.
    """
    info = hub.info
    if update.retracted is not None or not info.needs_approval(update.severity):
        return None
    mine = approvals.get(update.id, {})
    revision = covered(hub, update)
    if mine.get(revision):
        return None
    how = f"run stormhub approve {update.id} --by NAME"
    if info.approval == "required":
        rule = "hub.yaml approval: required covers every update"
    else:
        rule = f"hub.yaml approval: {info.approval} covers {update.severity.value} updates"
    if mine:
        who = ", ".join(sorted({name for names in mine.values() for name in names}))
        return (
            f"not approved: it changed since {who} approved it ({rule}); "
            f"review revision {revision} and {how}"
        )
    return f"not approved ({rule}): {how}"


def held_back(outcomes: Iterable[Outcome]) -> list[str]:
    """One line per update the fan-out skipped for want of approval, naming its channels."""
    channels: dict[tuple[str, str], list[str]] = {}
    for outcome in outcomes:
        if outcome.status == "skipped" and outcome.error:
            channels.setdefault((outcome.update_id, outcome.error), []).append(outcome.channel)
    return [
        f"held back {update_id} ({', '.join(names)}): {why}"
        for (update_id, why), names in channels.items()
    ]


@dataclass(frozen=True)
class Approval:
    """What ``stormhub approve`` did."""

    update: Update
    who: str
    new: bool  # False: this person had already approved this revision
    required: bool  # whether hub.yaml asks for approval of this update
    others: list[str] = field(default_factory=list)  # everyone who approved this revision
    revision: str = ""  # what the approval covers (covered())


def approve(root: Path | str, update_id: str, by: str | None, ledger_path: Path) -> Approval:
    """Record that ``current_user(by)`` approved *update_id*'s current revision.

    Approving the same revision twice changes nothing.

    Raises:
        HubError: unknown update, or the approver is the update's author.
        ContentError: the hub's content has problems (fix them first).
    """
    hub = load_hub(root)
    try:
        update = hub.update(update_id)
    except KeyError:
        raise HubError(
            f"no update {update_id!r}: use a file name from content/updates/ "
            "without .md (stormhub approve --pending lists those waiting)"
        ) from None
    who = audit.current_user(by)
    if update.author and update.author.casefold() == who.casefold():
        raise HubError(
            f"{who} wrote {update.id} (author: in its front matter): under the two-person "
            "rule someone else must approve it, with --by THEIR-NAME"
        )
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    revision = covered(hub, update)
    with Ledger(ledger_path) as ledger:
        with ledger.transaction():
            cursor = ledger.db.execute(
                "INSERT OR IGNORE INTO approvals (update_id, revision, approved_by, approved_at) "
                "VALUES (?, ?, ?, ?)",
                (update.id, revision, who, stamp),
            )
            new = cursor.rowcount == 1
            if new:
                details = f"{update.severity.value}: {update.title}"
                audit.record(ledger, who, audit.APPROVE, update.id, revision, details)
        others = approved(ledger).get(update.id, {}).get(revision, [])
    return Approval(update, who, new, hub.info.needs_approval(update.severity), others, revision)


def pending(root: Path | str, ledger_path: Path) -> list[tuple[Update, str]]:
    """Updates that the fan-out would hold back now, newest first, with the reason."""
    hub = load_hub(root)
    if ledger_path.exists():
        with Ledger(ledger_path) as ledger:
            approvals = approved(ledger)
    else:
        approvals = {}
    result = []
    for update in hub.updates:
        reason = blocked(hub, update, approvals)
        if reason is not None:
            result.append((update, reason))
    return result


def run_approve(
    root: Path,
    update_id: str | None,
    by: str | None,
    ledger: Path | None,
    *,
    list_pending: bool = False,
    console: Console | None = None,
) -> None:
    """``stormhub approve``: approve one update, or list those waiting (``--pending``)."""
    from rich.console import Console

    from hub.console import ledger_path

    console = console or Console()
    path = ledger_path(root, ledger)
    if list_pending:
        if update_id is not None:
            raise HubError("give either UPDATE_ID or --pending, not both")
        waiting = pending(root, path)
        if not waiting:
            console.print("Nothing is waiting for approval.", highlight=False)
        for update, reason in waiting:
            console.print(f"{update.id}  {update.title}\n  {reason}", markup=False,
                          highlight=False, soft_wrap=True)  # fmt: skip
        return
    if update_id is None:
        raise HubError(
            "which update? stormhub approve UPDATE_ID --by NAME (the file name without .md); "
            "stormhub approve --pending lists those waiting"
        )
    result = approve(root, update_id, by, path)
    update = result.update
    if result.new:
        console.print(
            f"Approved {update.id} revision {result.revision} ({update.title!r}) as {result.who}.",
            markup=False,
            highlight=False,
        )
    else:
        console.print(
            f"{result.who} had already approved {update.id} revision {result.revision}; "
            "nothing changed.",
            markup=False,
            highlight=False,
        )
    if not result.required:
        console.print(
            f"note: hub.yaml does not require approval for {update.severity.value} updates; "
            "the approval is recorded anyway.",
            markup=False,
            highlight=False,
        )
    if update.retracted is not None:
        console.print("note: this update is retracted; it will not be posted again.",
                      markup=False, highlight=False)  # fmt: skip
