"""What the fan-out commands print: live progress, result tables, previews, the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

from hub.channels import make_channel
from hub.checks import check_hub
from hub.fanout import DEFAULT_LEDGER, Fanout, Outcome, Report
from hub.ledger import Ledger

if TYPE_CHECKING:
    from hub.drill import DrillResult

STYLE = {"posted": "green", "corrected": "green", "already": "dim", "failed": "red",
         "busy": "yellow", "skipped": "dim"}  # fmt: skip


def ledger_path(root: Path, ledger: Path | None) -> Path:
    return ledger if ledger is not None else Path(root).resolve() / DEFAULT_LEDGER


def _progress_table(counts: dict[str, dict[str, int]], last: dict[str, str]) -> Table:
    table = Table(title="Fan-out", expand=False)
    for column in ("channel", "posted", "failed", "other", "last"):
        table.add_column(column)
    for name, c in counts.items():
        table.add_row(
            name,
            str(c.get("posted", 0) + c.get("corrected", 0) + c.get("retracted", 0)),
            str(c.get("failed", 0)),
            str(c.get("already", 0) + c.get("busy", 0) + c.get("skipped", 0)),
            last.get(name, ""),
        )
    return table


def run_fanout(root: Path, ledger: Path | None, *, console: Console | None = None) -> int:
    """Run the fan-out with live progress; the exit code: 0 all delivered, 1 any failed."""
    console = console or Console()
    hub, configs, warnings = check_hub(root)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
    counts: dict[str, dict[str, int]] = {c.name: {} for c in configs if c.enabled}
    last: dict[str, str] = {}

    with Live(_progress_table(counts, last), console=console, transient=True) as live:

        def progress(outcome: Outcome) -> None:
            slot = counts.setdefault(outcome.channel, {})
            slot[outcome.status] = slot.get(outcome.status, 0) + 1
            last[outcome.channel] = outcome.error or outcome.url or ""
            live.update(_progress_table(counts, last))

        report = Fanout(hub, configs, ledger_path(root, ledger), progress=progress).run()
    console.print(summary_table(report, [c.name for c in configs if c.enabled]))
    print_notes(console, report)
    from hub.approvals import held_back

    for line in held_back(report.outcomes):  # why each skipped update waits, and what to run
        console.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)
    return 1 if report.failed else 0


def print_notes(console: Console, report: Report) -> None:
    """What the channels' syncs did (e.g. special hours), one line each."""
    for note in report.notes:
        console.print(note, markup=False, highlight=False)


def summary_table(report: Report, channels: list[str]) -> Table:
    table = Table(title="Fan-out result")
    for column in ("channel", "posted", "failed", "skipped", "last URL or error"):
        table.add_column(column, overflow="fold")
    by_channel = report.by_channel()
    for name in channels:
        outcomes = by_channel.get(name, [])
        posted = sum(o.status in ("posted", "corrected", "retracted") for o in outcomes)
        failed = [o for o in outcomes if o.status == "failed"]
        skipped = sum(o.status in ("already", "busy", "skipped") for o in outcomes)
        last = (
            failed[-1].error if failed else next((o.url for o in reversed(outcomes) if o.url), "")
        )
        table.add_row(name, str(posted), f"[red]{len(failed)}[/]" if failed else "0",
                      str(skipped), last or "")  # fmt: skip
    return table


def show_preview(root: Path, update_id: str, *, console: Console | None = None) -> None:
    """Each channel's rendering of one update, with counted length and limit."""
    console = console or Console()
    hub, configs, _ = check_hub(root)
    try:
        update = hub.update(update_id)
    except KeyError:
        from hub.errors import HubError

        raise HubError(f"no update {update_id!r}: use a file name from content/updates/") from None
    for config in configs:
        channel = make_channel(config, hub)
        post = channel.render(update)
        off = "" if config.enabled else ", switched off"
        console.rule(f"{config.name} ({config.type}{off})")
        for number, (part, length) in enumerate(zip(post.parts, post.lengths, strict=True), 1):
            label = f"part {number}/{len(post.parts)}, " if len(post.parts) > 1 else ""
            style = "red" if length > post.limit else "dim"
            console.print(
                f"[{style}]{label}{length}/{post.limit} {channel.length_unit}[/]", highlight=False
            )
            console.print(part, markup=False, highlight=False)
        if post.image:
            console.print(f"[dim]image:[/] {post.image}", highlight=False)
            console.print(f"[dim]alt text:[/] {post.alt or ''}", highlight=False)


def show_status(root: Path, ledger: Path | None, *, console: Console | None = None) -> None:
    """The ledger, per update and channel, with links."""
    console = console or Console()
    path = ledger_path(root, ledger)
    if not path.exists():
        console.print("Nothing delivered yet: no ledger at " + str(path))
        return
    table = Table(title=f"Deliveries ({path})")
    for column in ("update", "channel", "action", "state", "tries", "link or error"):
        table.add_column(column, overflow="fold")
    with Ledger(path) as db:
        for row in db.rows():
            table.add_row(
                row.update_id, row.channel, row.action,
                f"[{STYLE.get('posted' if row.state == 'delivered' else row.state, '')}]"
                f"{row.state}[/]",
                str(row.attempts), row.remote_url or row.last_error or "",
            )  # fmt: skip
    console.print(table)


def run_drill_command(
    root: Path, *, console: Console | None = None, everything: bool = True
) -> int:
    """Run ``stormhub drill`` and print what each simulated platform received."""
    from hub.drill import run_drill

    console = console or Console()
    hub, configs, _ = check_hub(root)
    which = "every channel (switched off or not)" if everything else "every enabled channel"
    console.print(f"Drill: {which} is pointed at a local simulator.", highlight=False)
    result = run_drill(hub, configs, Path(root).resolve(), everything=everything)
    off = {c.name for c in configs if not c.enabled}
    switched_off = ", switched off in channels.yaml"
    print_drill(console, result, lambda name: switched_off if name in off else "")
    return 1 if result.report.failed else 0


def print_drill(
    console: Console, result: DrillResult, label: Callable[[str], str], *, shown: int = 5
) -> None:
    """What each simulated platform received (the first *shown* lines), then the results.

    *label* gives the words after a channel's type in its heading, by channel name.
    """
    for config in result.configs:
        lines = result.received.get(config.name, [])
        console.rule(f"{config.name} ({config.type}{label(config.name)}): received {len(lines)}")
        for line in lines[:shown]:
            console.print(f"  {line}", markup=False, highlight=False)
        if len(lines) > shown:
            console.print(f"  ... and {len(lines) - shown} more", highlight=False)
    console.print(summary_table(result.report, [c.name for c in result.configs]))
    print_notes(console, result.report)
