"""One platform answering 503s, another 429s: every other channel delivers on time, the two
recover or report cleanly. Every channel type, through the real adapters and SDKs, against
the loopback simulator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.content import load_hub
from hub.fanout import Fanout, Outcome, RetryPolicy
from hub.model import Severity
from hub.simulator import Simulator, status
from tests.channels import TYPES, every_channel, platforms
from tests.conftest import NOW, ROOT

DOWN, SLOWED = "x", "mastodon"


def test_failing_platforms_do_not_hold_up_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = load_hub(ROOT)
    sims = platforms()
    sims[DOWN].inject(*[status(503, {"title": "Service Unavailable"})] * 500)  # down all run
    sims[SLOWED].inject(*[status(429, {"error": "Too many requests"}, **{"Retry-After": "1"})] * 2)
    finished: dict[str, float] = {}
    start = time.monotonic()

    def progress(outcome: Outcome) -> None:
        finished[outcome.channel] = time.monotonic() - start

    with Simulator(sims) as sim:
        configs, env = every_channel(sim, tmp_path, timeout=2, min_severity=Severity.INFO)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        policy = RetryPolicy(attempts=3, base=0.05, cap=0.1, budget=5)
        report = Fanout(hub, configs, tmp_path / "l.sqlite", policy=policy, progress=progress,
                        now=NOW).run()  # fmt: skip
        held = {kind: sim[kind].describe() for kind in TYPES}
    by = report.by_channel()
    count = len(hub.updates)
    healthy = [c.name for c in configs if c.name != DOWN]
    assert set(by) == {c.name for c in configs}
    for name in healthy:
        # Everything delivered: the 429s were waited out, the broken platform held up nobody.
        assert [o.status for o in by[name]] == ["posted"] * count, (name, by[name][-1].error)
    # Channels of one request per delivery were done long before the broken one gave up.
    assert finished["outbox"] < finished[DOWN] and finished["bluesky"] < finished[DOWN]
    for kind in TYPES:
        if kind != DOWN:
            assert len(held[kind]) >= 1, kind
    # 503 all along: each delivery reported cleanly after its retries, nothing posted.
    assert {o.status for o in by[DOWN]} == {"failed"}
    assert all("503" in (o.error or "") for o in by[DOWN])
    assert held[DOWN] == []


def test_a_fan_out_over_every_channel_reads_the_ca_bundle_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every httpx client (the adapters', atproto's) shares one TLS context: building
    one reads the whole CA bundle, ~30 ms of CPU each, a dozen at once at a fan-out's
    start. (SMTP's context is built once too, when a channel uses TLS.)"""
    import ssl

    from hub.channels import http

    monkeypatch.setattr(http, "_TLS", None)
    loads: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args or kwargs)
        load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    hub = load_hub(ROOT)
    with Simulator(platforms()) as sim:
        configs, env = every_channel(sim, tmp_path, timeout=2)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        report = Fanout(hub, configs, tmp_path / "l.sqlite", now=NOW).run()
    assert report.outcomes and not report.failed, report.failed[:1]
    assert len(loads) <= 1, loads
