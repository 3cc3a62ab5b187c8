"""Kill -9 the fan-out at random moments, rerun until done: each post arrives once.

The simulated platforms (one per channel type) live in this test process; `stormhub
fanout` runs as a child that is killed over and over. Channels with platform
idempotency (Mastodon's Idempotency-Key, Bluesky's record key, the outbox's file name)
or that can look their posts up (X, WordPress, Facebook, ...) must show every update
exactly once. Channels that can do neither (email, Teams, ...) can duplicate a post when
a kill lands between the platform's answer and the ledger write: the test bounds and
reports those.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.channels import ADAPTERS
from hub.config import ChannelConfig, GbpConfig, SmsConfig
from hub.simulator import Simulator
from tests.channels import TYPES, channels_yaml, every_channel, platforms
from tests.conftest import HubFactory

pytestmark = pytest.mark.slow

UPDATES = 30
KILLS = 20


def title(i: int) -> str:
    return f"Crash drill item {i:02d} of {UPDATES}"


def exactly_once(kind: str) -> bool:
    """Whether a channel type promises one post per update across crashes."""
    module, _, cls = ADAPTERS[kind].partition(":")
    adapter = getattr(__import__(module, fromlist=[cls]), cls)
    return bool(adapter.idempotent or adapter.can_find)


def copies(config: ChannelConfig) -> int:
    """How many posts one delivery makes: one per GBP location, one per SMS recipient."""
    if isinstance(config, GbpConfig):
        return len(config.locations)
    if isinstance(config, SmsConfig):
        return len(config.recipients)
    return 1


def test_kill_nine_then_rerun_delivers_each_update_once(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    files: dict[str, str | None] = {"content/updates/2026-11-27-0615-ed-open.md": None}
    for i in range(UPDATES):
        files[f"content/updates/u{i:02d}.md"] = (
            f"---\ntime: 2026-11-27T{10 + i // 6:02d}:{(i % 6) * 10:02d}:00Z\n"
            f"title: {title(i)}\nseverity: warning\n---\nShort text {i}.\n"
        )
    sims = platforms()
    for platform in sims.values():
        platform.latency = 0.2  # long enough that every kill lands mid-run
    stormhub = str(Path(sys.executable).with_name("stormhub"))
    rng = random.Random(20261129)
    with Simulator(sims) as sim:
        configs, values = every_channel(sim, tmp_path, timeout=5)
        env = {**os.environ, **values}
        root = make_hub({**files, "channels.yaml": channels_yaml(configs)})
        command = [stormhub, "fanout", "--hub", str(root)]
        kills = 0
        while kills < KILLS:
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(1.0, 2.0))  # past start-up (imports), into the deliveries
            if child.poll() is not None:
                break  # finished before the kill: nothing left to interrupt
            child.send_signal(signal.SIGKILL)
            child.wait()
            kills += 1
        for _ in range(5):
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                break
        assert done.returncode == 0, done.stdout + done.stderr
        per = {c.name: copies(c) for c in configs}
        counts = {
            kind: [sum(title(i) in line for line in sims[kind].describe()) for i in range(UPDATES)]
            for kind in TYPES
        }
    outbox_files = list((tmp_path / "outbox").glob("*.json"))
    assert kills == KILLS, f"only {kills} kills landed before the fan-out finished"
    assert len(outbox_files) == UPDATES
    report = []
    for kind in TYPES:
        assert min(counts[kind]) >= per[kind], (kind, counts[kind])  # nothing lost
        duplicates = sum(n - per[kind] for n in counts[kind])
        if exactly_once(kind):
            assert counts[kind] == [per[kind]] * UPDATES, (kind, counts[kind])
        else:
            assert duplicates <= KILLS, (kind, counts[kind])  # at most one per kill
            report.append(f"{kind} {duplicates}")
    print(f"\n{kills} kills; duplicates in the documented window: {', '.join(report)}")
