"""``stormhub publish``: check, the fast site path, then the fan-out and a full rebuild.

The order, and why:

1. ``check`` (:func:`hub.checks.check_hub`): any problem raises
   :class:`~hub.errors.ContentError` (exit 2) and nothing goes out, to the site or
   to any channel.
2. The fast path (:func:`hub.site.fast.render_fast`): the pages the new or changed
   updates touch (their own pages, the home page's latest list, ``/updates/``, the
   archive page that lists them, the lite page, the RSS, Atom and JSON feeds, and the
   Instagram cards) are rendered through mkdocs-material and renamed into the live
   output folder (``site_dir`` of ``mkdocs.yml``, by default ``site/``) one file at a
   time, each complete. "New or changed" is decided against the manifest of what the
   site shows (``.stormhub/site.json``, see :mod:`hub.site.fast`). With no previous
   build there is nothing to patch: the whole site is built first instead.
3. The fan-out (:class:`hub.fanout.Fanout`, enabled channels, exactly once through the
   ledger) runs while a full rebuild (a child process) builds the whole site into a
   fresh folder and swaps it in atomically, which brings search, the sitemap and every
   archive page up to date. :func:`publish` returns when both are done.

For other commands (``stormhub new --publish``)::

    from hub.publish import publish
    result = publish(root, by="A. Rivera", progress=callback)

``publish(root, *, by=None, progress=None, ledger=None, configs=None, now=None)
-> PublishResult``: *by* is who publishes (the audit trail; default ``STORMHUB_USER`` or
the OS user), *progress* is called with a :class:`Step` at each stage and with each
fan-out :class:`~hub.fanout.Outcome`. It raises ContentError before anything is
written; :attr:`PublishResult.exit_code` is 0 (everything done) or 1 (a channel
failed, or the full rebuild did).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hub.checks import check_hub
from hub.errors import BuildError
from hub.fanout import DEFAULT_LEDGER, Fanout, Outcome, Report
from hub.site import fast

if TYPE_CHECKING:
    from rich.console import Console

    from hub.config import ChannelConfig

StepName = Literal["check", "site", "fanout", "rebuild"]
StepState = Literal["running", "done", "failed", "skipped"]


@dataclass(frozen=True)
class Step:
    """One stage of a publish, as reported to *progress*."""

    name: StepName
    state: StepState
    detail: str = ""
    seconds: float | None = None  # since the publish started, when the stage ended


@dataclass
class PublishResult:
    """What a publish did."""

    site_dir: Path
    permalinks: list[str]  # the new or changed updates' pages, newest first
    report: Report  # the fan-out's outcomes
    channels: list[str]  # the enabled channels, in channels.yaml's order
    fast: fast.FastResult | None  # None: there was no previous build (a full build ran)
    rebuild_error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> seconds it took

    @property
    def exit_code(self) -> int:
        return 1 if self.report.failed or self.rebuild_error else 0


class Rebuild:
    """The full rebuild, running in a child process (a core of its own, beside the fan-out).

    It first puts the other languages' pages of the new or changed updates live (their
    fast path: :func:`hub.site.fast.render_languages`), then builds the whole site.
    """

    def __init__(
        self, root: Path, site_dir: Path, generation: int, now: dt.datetime | None
    ) -> None:
        argv = [sys.executable, "-m", "hub.site.fast", "rebuild", str(root), str(site_dir),
                str(generation)]  # fmt: skip
        if now is not None:
            argv.append(now.isoformat())
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def wait(self) -> str | None:
        """Wait for it; None when it succeeded, else what went wrong."""
        _out, err = self.process.communicate()
        if self.process.returncode == 0:
            return None
        lines = [line for line in err.strip().splitlines() if line.strip()]
        return lines[-1] if lines else f"exit {self.process.returncode}"


def publish(
    root: Path | str,
    *,
    by: str | None = None,
    progress: Callable[[Step | Outcome], None] | None = None,
    ledger: Path | None = None,
    configs: list[ChannelConfig] | None = None,
    now: dt.datetime | None = None,
) -> PublishResult:
    """Check, put the new or changed updates live, fan out, and rebuild the whole site.

    Args:
        root: the hub folder.
        by: who publishes, for the audit trail.
        progress: called with each :class:`Step` and each fan-out outcome.
        ledger: the delivery ledger (default ``.stormhub/ledger.sqlite`` in the hub).
        configs: channels to use instead of ``channels.yaml``'s (drills, benchmarks).
        now: the moment the site describes (tests); default the clock.

    Returns:
        The permalinks, the fan-out report and the rebuild's outcome.

    Raises:
        ContentError: the hub has problems; nothing was written or sent.
        BuildError: ``mkdocs.yml`` is unusable, or the first full build failed;
            nothing was sent.
    """
    root = Path(root).resolve()
    report_step = progress or (lambda event: None)
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def step(name: StepName, state: StepState, detail: str = "") -> None:
        report_step(Step(name, state, detail, time.perf_counter() - started))

    step("check", "running")
    generation = time.time_ns()
    hub, checked, warnings = check_hub(root)
    seconds["check"] = time.perf_counter() - started
    step("check", "done", f"{len(hub.updates)} updates")
    channels = configs if configs is not None else checked
    config = fast.load_site_config(root)
    site_dir = fast.site_dir_of(config)

    step("site", "running")
    mark = time.perf_counter()
    manifest = fast.previous_build(root, site_dir)
    patched: fast.FastResult | None = None
    if manifest is None:
        changed = []
        fast.full_build(root, site_dir, generation=generation, now=now)
        step("site", "done", "no previous build: built the whole site")
    else:
        changed = fast.changed_updates(hub, manifest)
        touched = fast.touched_updates(hub, changed)
        try:
            patched = fast.render_fast(
                root, hub, config, touched, generation=generation, now=now or _now(),
                configs=channels,
            )  # fmt: skip
            step("site", "done", f"{len(patched.written)} files live")
        except BuildError as exc:  # the full build below tells the real story, or fixes it
            fast.full_build(root, site_dir, generation=generation, now=now)
            step("site", "done", f"fast path failed ({exc.message}); built the whole site")
    seconds["site"] = time.perf_counter() - mark

    rebuild = Rebuild(root, site_dir, generation, now) if patched is not None else None
    if rebuild is not None:
        step("rebuild", "running")
    else:
        step("rebuild", "skipped", "the site was just built whole")
    rebuild_error: str | None = None
    try:
        step("fanout", "running")
        mark = time.perf_counter()
        ledger_path = ledger if ledger is not None else root / DEFAULT_LEDGER
        report = Fanout(hub, channels, ledger_path, progress=report_step, actor=by).run()
        seconds["fanout"] = time.perf_counter() - mark
        step("fanout", "failed" if report.failed else "done",
             f"{len(report.failed)} failed" if report.failed else "")  # fmt: skip
    finally:
        if rebuild is not None:
            rebuild_error = rebuild.wait()
            seconds["rebuild"] = time.perf_counter() - rebuild.started
            step("rebuild", "failed" if rebuild_error else "done", rebuild_error or "")
    if manifest is None:  # everything is "new" to a first build: name what went out
        sent = {o.update_id for o in report.outcomes if o.status in ("posted", "corrected")}
        changed = [u for u in hub.updates if u.id in sent]
    return PublishResult(
        site_dir=site_dir,
        permalinks=[hub.permalink(u) for u in changed],
        report=report,
        channels=[c.name for c in channels if c.enabled],
        fast=patched,
        rebuild_error=rebuild_error,
        warnings=[str(w) for w in warnings],
        seconds=seconds,
    )


def _now() -> dt.datetime:
    from hub.content import now_utc

    return now_utc()


def run_publish(
    root: Path, *, by: str | None = None, ledger: Path | None = None,
    console: Console | None = None,
) -> int:  # fmt: skip
    """``stormhub publish``: one live progress display, then the final table; the exit code."""
    from rich.console import Console, Group
    from rich.live import Live
    from rich.table import Table

    from hub.console import _progress_table, print_notes, summary_table

    console = console or Console()
    stages: dict[str, Step] = {}
    counts: dict[str, dict[str, int]] = {}
    last: dict[str, str] = {}

    def stage_table() -> Table:
        table = Table(title="Publish", expand=False)
        for column in ("stage", "state", "detail"):
            table.add_column(column)
        for name in ("check", "site", "fanout", "rebuild"):
            step = stages.get(name)
            if step is not None:
                when = f" ({step.seconds:.2f} s)" if step.state != "running" else ""
                table.add_row(name, step.state + when, step.detail)
        return table

    with Live(stage_table(), console=console, transient=True) as live:

        def progress(event: Step | Outcome) -> None:
            if isinstance(event, Step):
                stages[event.name] = event
            else:
                slot = counts.setdefault(event.channel, {})
                slot[event.status] = slot.get(event.status, 0) + 1
                last[event.channel] = event.error or event.url or ""
            live.update(Group(stage_table(), _progress_table(counts, last)))

        result = publish(root, by=by, progress=progress, ledger=ledger)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
    console.print(stage_table())
    if result.permalinks:
        console.print("Published:", highlight=False)
        for link in result.permalinks:
            console.print(f"  {link}", markup=False, highlight=False)
    else:
        console.print("Nothing new or changed to publish.", highlight=False)
    console.print(summary_table(result.report, result.channels))
    print_notes(console, result.report)
    if result.rebuild_error:
        console.print(
            f"[red]The full rebuild failed:[/] {result.rebuild_error}. The new pages are "
            "live, but search and the sitemap are not: fix it and run stormhub build.",
            highlight=False,
        )
    return result.exit_code
