"""``stormhub drill --exercise``: the real pipeline, for an exercise.

1. check the hub (a dark site on standby is first activated in a scratch copy,
   every prepared update in it, so the exercise rehearses the activation too);
2. build the site with an EXERCISE banner on every page, and every update and feed
   item titled "EXERCISE: ...", into ``.stormhub/drill/site`` (never ``site/``);
3. fan out to the simulator of every channel, as ``stormhub drill`` does;
4. and for real to the channels flagged ``drill: true`` in ``channels.yaml``, no
   other: every post starts with "EXERCISE".

Nothing the real fan-out recorded is touched: the drill's ledgers live under
``.stormhub/drill/``, which each drill starts afresh.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from hub.checks import check_hub
from hub.drill import DRILL_DIR, DrillResult, run_drill
from hub.fanout import Fanout, Outcome, Report, RetryPolicy
from hub.model import HubStatus
from hub.site.build import build_site

if TYPE_CHECKING:
    from hub.model import Hub

SITE = DRILL_DIR / "site"
REAL_LEDGER = DRILL_DIR / "exercise-ledger.sqlite"


@dataclass
class ExerciseResult:
    site: Path
    simulated: DrillResult  # what every simulated platform received
    real: Report  # the deliveries to the channels flagged drill: true
    real_channels: list[str]
    hub: Hub  # the exercise hub: titles marked EXERCISE
    activated: bool  # a hub on standby, activated in a scratch copy for the exercise


@contextmanager
def _exercise_root(root: Path, hub: Hub) -> Iterator[tuple[Path, bool]]:
    if hub.info.status is not HubStatus.STANDBY:
        yield root, False
        return
    from hub.standby import rehearsed_activation

    with rehearsed_activation(root, hub) as scratch:
        yield scratch, True


def run_exercise(
    root: Path | str,
    *,
    everything: bool = True,
    progress: Callable[[Outcome], None] | None = None,
    policy: RetryPolicy | None = None,
) -> ExerciseResult:
    """Run an exercise of the hub at *root*: build, simulator, ``drill: true`` channels.

    Raises:
        ContentError: the hub has problems; nothing was built or sent.
        BuildError: the site could not be built; nothing was sent.
    """
    root = Path(root).resolve()
    hub, configs, _ = check_hub(root)
    with _exercise_root(root, hub) as (source, activated):
        if activated:  # channels.yaml is the hub's own: its outbox folder stays put
            hub, _, _ = check_hub(source)
        exercise = hub.as_exercise()
        # Built first, beside the drill folder (which the drill starts afresh), and
        # moved in afterwards: a site that cannot be built stops the exercise early.
        (root / ".stormhub").mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="exercise-", dir=root / ".stormhub"))
        try:
            built = build_site(source, site_dir=staging / "site", exercise=True)
            # The simulator stands in for every channel, so each takes part as a drill one.
            simulated = run_drill(
                exercise,
                [c.but(drill=True) for c in configs],
                root,
                progress=progress,
                policy=policy,
                everything=everything,
            )
            os.replace(built, root / SITE)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        real = [c.but(enabled=True) for c in configs if c.drill]
        report = Report()
        if real:
            report = Fanout(
                exercise,
                real,
                root / REAL_LEDGER,
                progress=progress,
                policy=policy,
                require_approval=False,  # every post says EXERCISE; nothing real is published
            ).run()
    return ExerciseResult(root / SITE, simulated, report, [c.name for c in real], exercise,
                          activated)  # fmt: skip


def run_exercise_command(
    root: Path, *, console: Console | None = None, everything: bool = True
) -> int:
    """``stormhub drill --exercise``: run it and print what went where; exit 1 on failures."""
    from hub.console import print_drill, print_notes, summary_table

    console = console or Console()
    console.print(
        "Exercise: every page and post is marked EXERCISE; channels get it on the "
        "simulator, and for real only where channels.yaml says drill: true.",
        highlight=False,
    )
    result = run_exercise(root, everything=everything)
    if result.activated:
        console.print(
            "The hub is on standby: the exercise activated it in a scratch copy "
            "(content/ is unchanged) and sent every prepared update.",
            highlight=False,
        )
    console.print(f"Exercise site: {result.site}", highlight=False)
    drill = result.simulated
    print_drill(console, drill, lambda name: ", simulated", shown=3)
    if result.real_channels:
        table = summary_table(result.real, result.real_channels)
        table.title = "Exercise: real channels flagged drill: true"
        console.print(table)
        print_notes(console, result.real)
    else:
        console.print("No channel in channels.yaml has drill: true: nothing was sent for real.")
    failed = drill.report.failed or result.real.failed
    return 1 if failed else 0
