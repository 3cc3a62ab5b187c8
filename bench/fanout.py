"""Fan-out through the real adapters to the loopback simulator, with the shipped channels.

The channels are the enabled ones of the shipped ``channels.yaml`` (the default set of
a US hospital system), each aimed at its own simulated platform as ``stormhub drill``
does it.

1. One update to every default channel, each platform answering every request after
   300 ms: the wall time against the slowest single channel alone (target: at most
   1.3 times; one channel after another would be the sum of them all).
2. 200 updates to the same channels with no added latency and the platforms' quotas
   lifted: deliveries per second and the peak memory of the process doing it.

    scripts/bench fanout        # or: python bench/fanout.py
"""

from __future__ import annotations

import datetime as dt
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub.config import ChannelConfig, load_channels
from hub.content import load_hub
from hub.drill import rehearsal
from hub.fanout import Fanout
from hub.model import Hub, Severity
from hub.simulator import PlatformSim

ROOT = Path(__file__).resolve().parent.parent
LATENCY = 0.3


def make_hub(folder: Path, count: int) -> Hub:
    (folder / "content/updates").mkdir(parents=True)
    (folder / "mkdocs.yml").write_text("site_url: https://hub.example.org/\n")
    (folder / "content/hub.yaml").write_text(
        "organisation: Bench Health\nevent: Bench Storm\ntimezone: UTC\n"
    )
    start = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    for i in range(count):
        moment = (start + dt.timedelta(minutes=i)).isoformat()
        (folder / f"content/updates/u{i:04d}.md").write_text(
            f"---\ntime: {moment}\ntitle: Bench update {i}\nseverity: info\n---\n"
            "Shelters are open. Call 311 for a ride. Do not drive through water.\n"
        )
    return load_hub(folder)


QUOTAS = ("rate_limit", "media_rate_limit", "publish_limit", "post_quota", "reply_quota")


def lift_quotas(platform: PlatformSim) -> None:
    """No simulated platform quota (X's 200 posts per 15 minutes, Instagram's 100 a day,
    Google's 300 requests a minute...): the throughput measured is StormHub's own."""
    for name in QUOTAS:
        if isinstance(getattr(platform, name, None), int):
            setattr(platform, name, 10**9)
    limits = getattr(platform, "limits", None)
    if isinstance(limits, dict):
        limits.update(dict.fromkeys(limits, 10**9))


def run(hub: Hub, configs: list[ChannelConfig], latency: float, scratch: Path) -> tuple[float, int]:
    """Seconds to deliver *hub* to *configs* (each on its own simulated platform)."""
    scratch.mkdir(parents=True)
    with rehearsal(configs, scratch, everything=False) as rig:
        for platform in rig.platforms.values():
            platform.latency = latency
            lift_quotas(platform)
        started = time.perf_counter()
        report = Fanout(hub, rig.configs, scratch / "ledger.sqlite").run()
        elapsed = time.perf_counter() - started
    failed = report.failed
    if failed:
        raise SystemExit(f"{len(failed)} deliveries failed, first: {failed[0].error}")
    return elapsed, len(report.outcomes)


def default_channels() -> list[ChannelConfig]:
    """The shipped channels that are on, each taking every update (no severity filter)."""
    return [
        c.model_copy(update={"min_severity": Severity.INFO, "tags": ()})
        for c in load_channels(ROOT)
        if c.enabled and c.type != "outbox"
    ]


def concurrency() -> str:
    configs = default_channels()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hub = make_hub(folder / "hub", 1)
        run(hub, configs, 0.0, folder / "warm-up")  # imports the SDKs once
        alone = {c.name: run(hub, [c], LATENCY, folder / f"alone-{c.name}")[0] for c in configs}
        slowest = max(alone, key=lambda name: alone[name])
        total, count = run(hub, configs, LATENCY, folder / "all")
    ratio = total / alone[slowest]
    singles = ", ".join(f"{name} {t:.2f} s" for name, t in alone.items())
    return (
        f"1 update to {count} channels at {LATENCY * 1000:.0f} ms per request: {total:.2f} s; "
        f"slowest channel alone: {slowest} {alone[slowest]:.2f} s; ratio {ratio:.2f} "
        f"({'ok' if ratio <= 1.3 else 'OVER'}, target 1.3); each alone: {singles}; "
        f"one after another: {sum(alone.values()):.2f} s"
    )


def throughput_child() -> None:
    configs = default_channels()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hub = make_hub(folder / "hub", 200)
        elapsed, count = run(hub, configs, 0.0, folder / "run")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"200 updates to {len(configs)} channels: {count} deliveries in {elapsed:.2f} s, "
        f"{count / elapsed:.0f} deliveries/s, peak memory {peak:.0f} MB"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--throughput"]:
        throughput_child()
        return
    print(concurrency(), flush=True)
    # A fresh process, so the peak memory is the fan-out's alone.
    subprocess.run([sys.executable, __file__, "--throughput"], check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
