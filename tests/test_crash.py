"""Kill -9 the fan-out at random moments, rerun until done: each post arrives once.

The simulated platforms live in this test process; `stormhub fanout` runs as a
child that is killed over and over. Channels with platform idempotency
(Mastodon's Idempotency-Key, Bluesky's record key, the outbox's file name) must
show every update exactly once; channels that can look their posts up (X) must
too. Email can neither, so a kill between the SMTP transaction and the ledger
write can duplicate a message there: the test counts and reports those.
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

from hub.simulator import Simulator, platform_for
from tests.conftest import HubFactory

pytestmark = pytest.mark.slow

UPDATES = 30
KILLS = 20
ENV = {
    "X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "ts",
    "MASTODON_ACCESS_TOKEN": "m-token", "BLUESKY_APP_PASSWORD": "b-pass",
    "SMTP_USERNAME": "hub", "SMTP_PASSWORD": "fake-smtp-password",
}  # fmt: skip


def title(i: int) -> str:
    return f"Crash drill item {i:02d} of {UPDATES}"


def channels_yaml(sim: Simulator, outbox: Path) -> str:
    smtp = sim.url("email").removeprefix("smtp://")
    host, port = smtp.split(":")
    return f"""\
channels:
  - name: outbox
    type: outbox
    folder: {outbox}
  - name: x
    type: x
    api_key: ${{X_API_KEY}}
    api_secret: ${{X_API_SECRET}}
    access_token: ${{X_ACCESS_TOKEN}}
    access_token_secret: ${{X_ACCESS_TOKEN_SECRET}}
    api_base_url: {sim.url("x")}
  - name: mastodon
    type: mastodon
    api_base_url: {sim.url("mastodon")}
    access_token: ${{MASTODON_ACCESS_TOKEN}}
  - name: bluesky
    type: bluesky
    service: {sim.url("bluesky")}
    handle: hub.test
    app_password: ${{BLUESKY_APP_PASSWORD}}
  - name: email
    type: email
    host: {host}
    port: {port}
    security: none
    username: ${{SMTP_USERNAME}}
    password: ${{SMTP_PASSWORD}}
    sender: Hub <alerts@hub.example>
    recipients: [list@hub.example]
"""


def test_kill_nine_then_rerun_delivers_each_update_once(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    files: dict[str, str | None] = {"content/updates/2026-11-27-0615-ed-open.md": None}
    for i in range(UPDATES):
        files[f"content/updates/u{i:02d}.md"] = (
            f"---\ntime: 2026-11-27T{10 + i // 6:02d}:{(i % 6) * 10:02d}:00Z\n"
            f"title: {title(i)}\nseverity: info\n---\nShort text {i}.\n"
        )
    platforms = {kind: platform_for(kind) for kind in ("x", "mastodon", "bluesky", "email")}
    sims = {k: p for k, p in platforms.items() if p is not None}
    for platform in sims.values():
        platform.latency = 0.2  # long enough that every kill lands mid-run
    stormhub = str(Path(sys.executable).with_name("stormhub"))
    env = {**os.environ, **ENV}
    rng = random.Random(20261129)
    with Simulator(sims) as sim:
        root = make_hub({**files, "channels.yaml": channels_yaml(sim, tmp_path / "outbox")})
        command = [stormhub, "fanout", "--hub", str(root)]
        kills = 0
        while kills < KILLS:
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(0.5, 1.2))
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
        counts = {
            kind: [sum(title(i) in line for line in sims[kind].describe()) for i in range(UPDATES)]
            for kind in sims
        }
    outbox_files = list((tmp_path / "outbox").glob("*.json"))
    assert kills == KILLS, f"only {kills} kills landed before the fan-out finished"
    assert len(outbox_files) == UPDATES
    for kind in ("mastodon", "bluesky", "x"):
        assert counts[kind] == [1] * UPDATES, (kind, counts[kind])
    duplicates = sum(n - 1 for n in counts["email"] if n > 1)
    assert min(counts["email"]) == 1
    print(f"\n{kills} kills; email duplicates in the documented window: {duplicates}")
