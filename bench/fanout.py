"""Fan-out through the real adapters to the loopback simulator.

1. One update to 12 simulated channels, each platform answering every request
   after 300 ms: the wall time against the slowest single channel alone
   (target: at most 1.3 times; sequential delivery would be about 12 times).
2. 200 updates to the same 12 channels with no added latency: deliveries per
   second and the peak memory of the process doing it.

    scripts/bench fanout        # or: python bench/fanout.py
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub.config import BlueskyConfig, ChannelConfig, MastodonConfig, XConfig
from hub.content import load_hub
from hub.fanout import Fanout
from hub.model import Hub
from hub.simulator import PlatformSim, Simulator, platform_for

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("x", "mastodon", "bluesky")
PER_KIND = 4  # 12 channels
LATENCY = 0.3
ENV = {
    "X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "ts",
    "MASTODON_ACCESS_TOKEN": "m", "BLUESKY_APP_PASSWORD": "b",
}  # fmt: skip


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


def config_for(kind: str, name: str, url: str) -> ChannelConfig:
    if kind == "x":
        return XConfig(
            name=name, api_key="${X_API_KEY}", api_secret="${X_API_SECRET}",
            access_token="${X_ACCESS_TOKEN}", access_token_secret="${X_ACCESS_TOKEN_SECRET}",
            api_base_url=url,  # type: ignore[arg-type]
        )  # fmt: skip
    if kind == "mastodon":
        return MastodonConfig(
            name=name,
            api_base_url=url,
            access_token="${MASTODON_ACCESS_TOKEN}",  # type: ignore[arg-type]
        )
    return BlueskyConfig(
        name=name,
        service=url,
        handle="bench.test",
        app_password="${BLUESKY_APP_PASSWORD}",  # type: ignore[arg-type]
    )


def run(hub: Hub, kinds: list[str], latency: float, ledger: Path) -> tuple[float, int]:
    platforms: dict[str, PlatformSim] = {}
    for index, kind in enumerate(kinds):
        platform = platform_for(kind)
        assert platform is not None
        platform.latency = latency
        platforms[f"{kind}-{index}"] = platform
    with Simulator(platforms) as sim:
        configs = [config_for(n.split("-")[0], n, sim.url(n)) for n in platforms]
        started = time.perf_counter()
        report = Fanout(hub, configs, ledger).run()
        elapsed = time.perf_counter() - started
    failed = report.failed
    if failed:
        raise SystemExit(f"{len(failed)} deliveries failed, first: {failed[0].error}")
    return elapsed, len(report.outcomes)


def concurrency() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hub = make_hub(folder / "hub", 1)
        run(hub, list(KINDS), 0.0, folder / "warm-up.sqlite")  # imports the SDKs once
        alone = {
            kind: run(hub, [kind], LATENCY, folder / f"alone-{kind}.sqlite")[0] for kind in KINDS
        }
        slowest = max(alone.values())
        total, count = run(hub, [k for k in KINDS for _ in range(PER_KIND)], LATENCY,
                           folder / "all.sqlite")  # fmt: skip
    ratio = total / slowest
    singles = ", ".join(f"{k} {t:.2f} s" for k, t in alone.items())
    return (
        f"1 update to {count} channels at {LATENCY * 1000:.0f} ms per request: {total:.2f} s; "
        f"slowest channel alone {slowest:.2f} s ({singles}); ratio {ratio:.2f} "
        f"({'ok' if ratio <= 1.3 else 'OVER'}, target 1.3)"
    )


def throughput_child() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hub = make_hub(folder / "hub", 200)
        elapsed, count = run(hub, [k for k in KINDS for _ in range(PER_KIND)], 0.0,
                             folder / "ledger.sqlite")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"200 updates to 12 channels: {count} deliveries in {elapsed:.2f} s, "
        f"{count / elapsed:.0f} deliveries/s, peak memory {peak:.0f} MB"
    )


def main(argv: list[str]) -> None:
    os.environ.update({k: v for k, v in ENV.items() if k not in os.environ})
    if argv[:1] == ["--throughput"]:
        throughput_child()
        return
    print(concurrency(), flush=True)
    # A fresh process, so the peak memory is the fan-out's alone.
    subprocess.run([sys.executable, __file__, "--throughput"], check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
