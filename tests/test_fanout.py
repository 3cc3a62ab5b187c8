"""The fan-out engine: plans, exactly-once claims, retries, isolation, corrections."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hub.channels import make_channel
from hub.channels.base import Channel, Post, PublishError, Receipt
from hub.config import ChannelConfig, OutboxConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy
from hub.ledger import Ledger
from hub.model import Hub
from tests.conftest import NOW, HubFactory

FAST = RetryPolicy(attempts=4, base=0.001, cap=0.01, budget=1.0)


class ScriptedChannel(Channel[OutboxConfig]):
    """A channel whose platform answers from a script: an exception to raise, or success."""

    type = "outbox"
    supports_threads = True
    scripts: ClassVar[dict[str, list[Exception | None]]] = {}
    sent: ClassVar[dict[str, list[tuple[str, str, str]]]] = {}
    delay: ClassVar[dict[str, float]] = {}
    lock = threading.Lock()

    def length(self, text: str) -> int:
        return len(text)

    def _answer(self, kind: str, post: Post) -> Receipt:
        time.sleep(self.delay.get(self.name, 0))
        with self.lock:
            script = self.scripts.get(self.name, [])
            outcome = script.pop(0) if script else None
            if outcome is not None:
                raise outcome
            sent = self.sent.setdefault(self.name, [])
            sent.append((kind, post.update_id, post.parts[0]))
            number = len(sent)
        return Receipt(
            remote_id=f"{self.name}-{number}", url=f"https://p.example/{self.name}/{number}"
        )

    def publish(self, post: Post, key: str) -> Receipt:
        return self._answer("post", post)

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        return self._answer(f"reply-to:{receipt.remote_id}", post)


@pytest.fixture(autouse=True)
def reset_script() -> None:
    ScriptedChannel.scripts = {}
    ScriptedChannel.sent = {}
    ScriptedChannel.delay = {}


def scripted(config: ChannelConfig, hub: Hub) -> Channel[Any]:
    return ScriptedChannel(config, hub)  # type: ignore[arg-type]


def configs(*names: str, **extra: Any) -> list[ChannelConfig]:
    return [OutboxConfig(name=n, **extra) for n in names]


def three_updates(make_hub: HubFactory) -> Path:
    body = "---\ntime: 2026-11-27 {t}\ntitle: Update {n}\nseverity: {s}\ntags: [{tag}]\n---\nText {n}.\n"
    return make_hub(
        {
            "content/updates/2026-11-27-0615-ed-open.md": None,
            "content/updates/a.md": body.format(t="07:00", n="A", s="info", tag="power"),
            "content/updates/b.md": body.format(t="08:00", n="B", s="warning", tag="roads"),
            "content/updates/c.md": body.format(t="09:00", n="C", s="emergency", tag="power"),
        }
    )


def run(hub: Hub, cfgs: list[ChannelConfig], ledger: Path, **kw: Any) -> Any:
    return Fanout(hub, cfgs, ledger, policy=FAST, factory=scripted, now=NOW, **kw).run()


def test_every_update_reaches_every_channel_once_in_time_order(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    hub = load_hub(three_updates(make_hub))
    ledger = tmp_path / "ledger.sqlite"
    report = run(hub, configs("one", "two"), ledger)
    assert not report.failed
    for name in ("one", "two"):
        assert [u for _, u, _ in ScriptedChannel.sent[name]] == ["a", "b", "c"]
    again = run(hub, configs("one", "two"), ledger)
    assert again.outcomes == []
    assert sum(len(v) for v in ScriptedChannel.sent.values()) == 6


def test_filters_min_severity_and_tags(make_hub: HubFactory, tmp_path: Path) -> None:
    hub = load_hub(three_updates(make_hub))
    cfgs = [
        OutboxConfig(name="urgent", min_severity="warning"),  # type: ignore[arg-type]
        OutboxConfig(name="power", tags=("power",)),
    ]
    run(hub, cfgs, tmp_path / "l.sqlite")
    assert [u for _, u, _ in ScriptedChannel.sent["urgent"]] == ["b", "c"]
    assert [u for _, u, _ in ScriptedChannel.sent["power"]] == ["a", "c"]


def test_new_channel_gets_only_newer_updates_unless_backfill(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    root = three_updates(make_hub)
    ledger = tmp_path / "l.sqlite"
    run(load_hub(root), configs("first"), ledger)
    later = NOW.replace(year=2027)
    (root / "content/updates/d.md").write_text(
        "---\ntime: 2027-01-01T00:00:00Z\ntitle: D\nseverity: info\n---\nD.\n"
    )
    hub = load_hub(root)
    cfgs = [*configs("first"), OutboxConfig(name="late"), OutboxConfig(name="full", backfill=True)]
    Fanout(
        hub, cfgs, ledger, policy=FAST, factory=scripted, now=later.replace(month=1, day=1, hour=0)
    ).run()
    assert [u for _, u, _ in ScriptedChannel.sent["late"]] == ["d"]
    assert [u for _, u, _ in ScriptedChannel.sent["full"]] == ["a", "b", "c", "d"]
    assert [u for _, u, _ in ScriptedChannel.sent["first"]] == ["a", "b", "c", "d"]


def test_transient_errors_are_retried_with_retry_after(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    hub = load_hub(three_updates(make_hub))
    waits: list[float] = []
    policy = RetryPolicy(attempts=5, base=0.001, cap=0.01, budget=10, sleep=waits.append)
    ScriptedChannel.scripts["one"] = [
        PublishError("rate limited", transient=True, retry_after=2.5, status=429),
        PublishError("server error", transient=True, status=503),
    ]
    report = Fanout(
        hub, configs("one"), tmp_path / "l.sqlite", policy=policy, factory=scripted, now=NOW
    ).run()
    assert not report.failed
    assert waits[0] == 2.5 and 0 < waits[1] <= 0.01
    with Ledger(tmp_path / "l.sqlite") as ledger:
        row = ledger.get("a", "one")
        assert row is not None and row.state == "delivered" and row.attempts == 3


def test_permanent_errors_are_not_retried_and_credentials_fail_the_channel(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    hub = load_hub(three_updates(make_hub))
    ScriptedChannel.scripts["bad"] = [
        PublishError(
            "Example rejected the credentials (401): check TOKEN", transient=False, status=401
        )
    ]
    report = run(hub, configs("bad", "good"), tmp_path / "l.sqlite")
    assert [o.status for o in report.by_channel()["bad"]] == ["failed"] * 3
    assert "bad" not in ScriptedChannel.sent  # one request, then the channel stops
    assert len(ScriptedChannel.sent["good"]) == 3
    with Ledger(tmp_path / "l.sqlite") as ledger:
        row = ledger.get("a", "bad")
        assert row is not None and row.state == "failed" and row.attempts == 1


def test_a_slow_channel_does_not_delay_the_others(make_hub: HubFactory, tmp_path: Path) -> None:
    hub = load_hub(three_updates(make_hub))
    ScriptedChannel.delay["slow"] = 0.3
    finished: dict[str, float] = {}
    start = time.monotonic()
    run(hub, configs("slow", "fast"), tmp_path / "l.sqlite",
        progress=lambda o: finished.__setitem__(o.channel, time.monotonic() - start))  # fmt: skip
    assert finished["fast"] < 0.3 <= finished["slow"]


def test_budget_exhausted_reports_failure_and_rerun_delivers(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    hub = load_hub(three_updates(make_hub))
    ScriptedChannel.scripts["one"] = [PublishError("down", transient=True, status=500)] * 4
    report = run(hub, configs("one"), tmp_path / "l.sqlite")
    assert [o.status for o in report.outcomes] == ["failed", "posted", "posted"]
    assert report.outcomes[0].error == "down"
    rerun = run(hub, configs("one"), tmp_path / "l.sqlite")
    assert [o.status for o in rerun.outcomes] == ["posted"]


def test_crash_between_claim_and_record_is_recovered(make_hub: HubFactory, tmp_path: Path) -> None:
    hub = load_hub(three_updates(make_hub))
    ledger_path = tmp_path / "l.sqlite"
    with Ledger(ledger_path) as ledger:
        ledger.register(["one"], NOW)
        ledger.claim("a", "one", "post", hub.update("a").revision)
        ledger.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
    report = run(hub, configs("one"), ledger_path)
    assert [o.status for o in report.outcomes] == ["posted"] * 3
    with Ledger(ledger_path) as ledger:
        row = ledger.get("a", "one")
        assert row is not None and row.state == "delivered" and row.attempts == 2


def test_corrections_reply_to_the_original(make_hub: HubFactory, tmp_path: Path) -> None:
    root = three_updates(make_hub)
    ledger = tmp_path / "l.sqlite"
    run(load_hub(root), configs("one"), ledger)
    (root / "content/updates/a.md").write_text(
        "---\ntime: 2026-11-27 07:00\ntitle: Update A\nseverity: info\n---\nFixed text A.\n"
    )
    (root / "content/updates/d.md").write_text(
        "---\ntime: 2026-11-27 10:00\ntitle: Update D\nseverity: info\nsupersedes: b\n---\nB was wrong.\n"
    )
    report = run(load_hub(root), configs("one"), ledger)
    assert sorted((o.update_id, o.status) for o in report.outcomes) == [
        ("a", "corrected"),
        ("d", "posted"),
    ]
    sent = ScriptedChannel.sent["one"][3:]
    assert sent[0][:2] == ("reply-to:one-1", "a") and sent[0][2].startswith("Correction: Update A")
    assert sent[1][:2] == ("reply-to:one-2", "d")
    assert run(load_hub(root), configs("one"), ledger).outcomes == []


def test_outbox_writes_one_file_per_delivery(make_hub: HubFactory, tmp_path: Path) -> None:
    hub = load_hub(three_updates(make_hub))
    cfg = OutboxConfig(name="box", folder=str(tmp_path / "box"))
    report = Fanout(
        hub, [cfg], tmp_path / "l.sqlite", policy=FAST, factory=make_channel, now=NOW
    ).run()
    assert [o.status for o in report.outcomes] == ["posted"] * 3
    files = sorted((tmp_path / "box").glob("*.json"))
    assert len(files) == 3
    assert sorted(json.loads(f.read_text())["update"] for f in files) == ["a", "b", "c"]


def test_secrets_are_scrubbed_from_errors_and_ledger(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.config import MastodonConfig

    hub = load_hub(three_updates(make_hub))
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "tok-SECRET-123")
    cfg = MastodonConfig(
        name="one", api_base_url="https://m.example", access_token="${MASTODON_ACCESS_TOKEN}"
    )  # type: ignore[arg-type]
    ScriptedChannel.scripts["one"] = [
        PublishError("server said: bad token tok-SECRET-123", transient=False, status=400)
    ]
    report = run(hub, [cfg], tmp_path / "l.sqlite")
    assert report.outcomes[0].error == "server said: bad token ***"
    dump = "\n".join((tmp_path / "l.sqlite").read_bytes().decode("latin-1").splitlines())
    assert "tok-SECRET-123" not in dump


def test_missing_credentials_fail_the_channel_with_the_variable_name(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.config import MastodonConfig

    hub = load_hub(three_updates(make_hub))
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    cfg = MastodonConfig(
        name="masto", api_base_url="https://m.example", access_token="${MASTODON_ACCESS_TOKEN}"
    )  # type: ignore[arg-type]
    report = run(hub, [cfg, *configs("box")], tmp_path / "l.sqlite")
    errors = {o.error for o in report.by_channel()["masto"]}
    assert errors == {
        "environment variable(s) MASTODON_ACCESS_TOKEN not set: set them or set enabled: false"
    }
    assert len(ScriptedChannel.sent["box"]) == 3


OUTBOX_ONLY = "channels:\n  - name: box\n    type: outbox\n"


def test_fanout_status_and_preview_commands(make_hub: HubFactory) -> None:
    from click.testing import CliRunner

    from hub.cli import main

    root = make_hub({"channels.yaml": OUTBOX_ONLY})
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(main, ["fanout", "--hub", str(root)])
    assert result.exit_code == 0, result.output
    assert "box" in result.output and "Fan-out result" in result.output
    assert len(list((root / ".stormhub/outbox").glob("*.json"))) == 1
    again = runner.invoke(main, ["fanout", "--hub", str(root)])
    assert again.exit_code == 0
    assert len(list((root / ".stormhub/outbox").glob("*.json"))) == 1
    status = runner.invoke(main, ["status", "--hub", str(root)])
    assert "2026-11-27-0615-ed-open" in status.output and "delivered" in status.output
    preview = runner.invoke(main, ["preview", "--hub", str(root), "2026-11-27-0615-ed-open"])
    assert preview.exit_code == 0
    assert "WARNING: Emergency Department open" in preview.output
    assert "/500" in preview.output
    missing = runner.invoke(main, ["preview", "--hub", str(root), "nope"])
    assert missing.exit_code == 1 and "no update 'nope'" in missing.output


def test_retraction_replies_with_a_notice_and_marks_the_site(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    from hub.authoring import mark_retracted
    from hub.site import pages

    root = three_updates(make_hub)
    ledger = tmp_path / "l.sqlite"
    run(load_hub(root), configs("one"), ledger)
    mark_retracted(root, "b", "It was posted by mistake.", now=NOW)
    hub = load_hub(root)
    assert hub.update("b").retracted == NOW
    report = run(hub, configs("one"), ledger)
    assert [(o.update_id, o.status) for o in report.outcomes] == [("b", "retracted")]
    kind, update_id, text = ScriptedChannel.sent["one"][-1]
    assert (kind, update_id) == ("reply-to:one-2", "b")
    assert text.startswith(
        "Retracted: Update B. Please disregard this update. It was posted by mistake."
    )
    assert run(hub, configs("one"), ledger).outcomes == []
    page = pages.update_page(hub, hub.update("b"), NOW)
    assert '!!! danger "This update was retracted"' in page
    with pytest.raises(Exception, match="already retracted"):
        mark_retracted(root, "b")


def test_retracted_updates_are_not_posted_to_new_channels(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    from hub.authoring import mark_retracted

    root = three_updates(make_hub)
    mark_retracted(root, "a", now=NOW)
    run(load_hub(root), configs("fresh"), tmp_path / "l.sqlite")
    assert [u for _, u, _ in ScriptedChannel.sent["fresh"]] == ["b", "c"]


def test_fanout_exit_codes_and_retract_command(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from hub.cli import main

    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    masto = (
        "  - name: masto\n    type: mastodon\n    api_base_url: https://m.example\n"
        "    access_token: ${MASTODON_ACCESS_TOKEN}\n"
    )
    root = make_hub({"channels.yaml": OUTBOX_ONLY + masto})
    runner = CliRunner(env={"COLUMNS": "200"})
    failed = runner.invoke(main, ["fanout", "--hub", str(root)])
    assert failed.exit_code == 1
    assert "MASTODON_ACCESS_TOKEN not set" in failed.output
    with Ledger(root / ".stormhub/ledger.sqlite") as ledger:
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    root = make_hub({"channels.yaml": OUTBOX_ONLY})
    assert runner.invoke(main, ["fanout", "--hub", str(root)]).exit_code == 0
    assert len(list((root / ".stormhub/outbox").glob("*.json"))) == 1
    retracted = runner.invoke(
        main, ["retract", "--hub", str(root), "2026-11-27-0615-ed-open", "--reason", "Wrong."]
    )
    assert retracted.exit_code == 0, retracted.output
    assert list((root / ".stormhub/outbox").glob("*.json")) == []  # the outbox deletes
    assert "retracted: " in (root / "content/updates/2026-11-27-0615-ed-open.md").read_text()

    (root / "content/updates/bad.md").write_text("no front matter\n")
    bad = runner.invoke(main, ["fanout", "--hub", str(root)])
    assert bad.exit_code == 2 and "content/updates/bad.md:1:1" in bad.output
