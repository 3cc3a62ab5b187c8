"""One platform answering 500s, another 429s: the rest deliver on time, the two recover
or report cleanly. Real adapters and SDKs against the loopback simulator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.config import BlueskyConfig, MastodonConfig, OutboxConfig, XConfig
from hub.content import load_hub
from hub.fanout import Fanout, Outcome, RetryPolicy
from hub.simulator import Simulator, platform_for, status
from tests.conftest import NOW, ROOT

ENV = {
    "X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "ts",
    "MASTODON_ACCESS_TOKEN": "m-token", "BLUESKY_APP_PASSWORD": "b-pass",
}  # fmt: skip


def test_failing_platforms_do_not_hold_up_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    hub = load_hub(ROOT)
    x, mastodon, bluesky = (platform_for(k) for k in ("x", "mastodon", "bluesky"))
    assert x is not None and mastodon is not None and bluesky is not None
    x.inject(*[status(503, {"title": "Service Unavailable"})] * 500)  # down for the whole run
    mastodon.inject(*[status(429, {"error": "Too many requests"}, **{"Retry-After": "1"})] * 2)
    finished: dict[str, float] = {}
    start = time.monotonic()

    def progress(outcome: Outcome) -> None:
        finished[outcome.channel] = time.monotonic() - start

    with Simulator([x, mastodon, bluesky]) as sim:
        configs = [
            XConfig(name="x", api_key="${X_API_KEY}", api_secret="${X_API_SECRET}",
                    access_token="${X_ACCESS_TOKEN}",
                    access_token_secret="${X_ACCESS_TOKEN_SECRET}",
                    api_base_url=sim.url("x"), timeout=2),  # type: ignore[arg-type]
            MastodonConfig(name="mastodon", api_base_url=sim.url("mastodon"),
                           access_token="${MASTODON_ACCESS_TOKEN}", timeout=2),  # type: ignore[arg-type]
            BlueskyConfig(name="bluesky", service=sim.url("bluesky"), handle="hub.test",
                          app_password="${BLUESKY_APP_PASSWORD}", timeout=2),  # type: ignore[arg-type]
            OutboxConfig(name="outbox", folder=str(tmp_path / "outbox")),
        ]  # fmt: skip
        policy = RetryPolicy(attempts=3, base=0.05, cap=0.1, budget=5)
        report = Fanout(hub, configs, tmp_path / "l.sqlite", policy=policy, progress=progress,
                        now=NOW).run()  # fmt: skip
        held = {name: sim[name].describe() for name in ("x", "mastodon", "bluesky")}
    by = report.by_channel()
    count = len(hub.updates)
    # The healthy channels finished everything, and well before the broken one gave up.
    assert [o.status for o in by["bluesky"]] == ["posted"] * count
    assert [o.status for o in by["outbox"]] == ["posted"] * count
    assert finished["outbox"] < finished["x"] and finished["bluesky"] < finished["x"]
    # 429 with Retry-After: waited, then everything went through.
    assert [o.status for o in by["mastodon"]] == ["posted"] * count
    assert len(held["mastodon"]) >= count
    # 503 all along: each delivery reported cleanly after its retries, nothing posted.
    assert {o.status for o in by["x"]} == {"failed"}
    assert all("503" in (o.error or "") for o in by["x"])
    assert held["x"] == []
