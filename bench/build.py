"""Full site build at 100, 1000 and 5000 updates: time, peak memory, largest page.

Each size is generated from the sample hub's settings into a temporary folder and
built in a fresh child process, so the peak memory (the child's max RSS) is the
build's alone. One line per size; the targets come from the core issue.

    scripts/bench                 # all sizes
    scripts/bench 100 1000        # some sizes
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (100, 1000, 5000)
TARGET_SECONDS = {1000: 4.0, 5000: 20.0}
TARGET_MB = 150
TARGET_PAGE_KB = 200
SEVERITIES = ("info", "advisory", "warning", "emergency")
TAGS = ("power", "shelter", "transit", "roads", "clinics", "water")

BODY = (
    "The Main Campus Emergency Department is open and running on generator power. "
    "If you have a medical emergency, call 911. For questions about appointments, call "
    "the patient information line at (757) 555-0142.\n\n"
    "- Bring your medicines and a phone charger.\n"
    "- Do not drive through standing water.\n\n"
    "We will post the next update within two hours. Información en español: llame al 311.\n"
)


def make_hub(folder: Path, count: int) -> None:
    shutil.copy(ROOT / "mkdocs.yml", folder / "mkdocs.yml")
    (folder / "docs").mkdir()
    content = folder / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("updates"))
    updates = content / "updates"
    updates.mkdir()
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for i in range(count):
        moment = start + dt.timedelta(minutes=7 * i)
        update_id = f"{moment:%Y-%m-%d-%H%M}-update-{i}"
        (updates / f"{update_id}.md").write_text(
            f"---\ntime: {moment.isoformat()}\ntitle: 'Storm update number {i}: "
            f"what is open and what to do'\nseverity: {SEVERITIES[i % 4]}\n"
            f"tags: [{TAGS[i % 6]}, {TAGS[(i + 1) % 6]}]\n---\n{BODY}",
            encoding="utf-8",
        )


def build_once(hub: str) -> None:
    """Child process: build and print the seconds taken."""
    from hub.site.build import build_site

    started = time.perf_counter()
    build_site(hub)
    print(f"{time.perf_counter() - started:.3f}")


def measure(count: int) -> str:
    with tempfile.TemporaryDirectory(prefix="stormhub-bench-") as tmp:
        folder = Path(tmp)
        make_hub(folder, count)
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(folder)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"build of {count} updates failed (exit {child.returncode})")
        seconds = float(output.strip().splitlines()[-1])
        peak_mb = usage.ru_maxrss / 1024
        pages = list((folder / "site").rglob("*.html"))
        largest = max(pages, key=lambda p: p.stat().st_size)
        largest_kb = largest.stat().st_size / 1024
    target = TARGET_SECONDS.get(count)
    verdicts = [
        f"time {'ok' if target is None or seconds <= target else 'OVER'}"
        + (f" (target {target:g} s)" if target else ""),
        f"memory {'ok' if peak_mb <= TARGET_MB else 'OVER'} (target {TARGET_MB} MB)",
        f"page {'ok' if largest_kb <= TARGET_PAGE_KB else 'OVER'} (target {TARGET_PAGE_KB} KB)",
    ]
    return (
        f"{count:>5} updates: build {seconds:6.2f} s, peak memory {peak_mb:6.1f} MB, "
        f"{len(pages)} pages, largest {largest_kb:6.1f} KB "
        f"({largest.relative_to(folder / 'site')}); " + ", ".join(verdicts)
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        build_once(argv[1])
        return
    sizes = [int(a) for a in argv] or list(SIZES)
    for count in sizes:
        print(measure(count), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
