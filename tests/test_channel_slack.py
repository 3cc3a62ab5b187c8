"""The ``slack`` channel through slack_sdk against the loopback Slack simulator."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hub.authoring import mark_retracted
from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.slack import (
    ZWSP,
    SlackChannel,
    SlackWebhookChannel,
    mrkdwn,
    plain,
)
from hub.config import SlackConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.slack import SlackSim
from tests.channels.slack import make, make_webhook
from tests.conftest import NOW, HubFactory

TOKEN = "xoxb-9999999999-8888888888888-SECRETsecretSECRET"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
ED = "2026-11-27-0615-ed-open"
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: the shelter at Lincoln High School has cots, water & power for "
    f"{n * 40} people 🌀 <bring ID>; *no* pets_allowed ~ except in carriers. "
    "Details: https://ready.example.org/shelters?id=7&lang=en_US " + "More words here. " * 12
    for n in range(1, 9)
)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
ALT = "Water covering Harbor Road outside the Main Campus entrance"
IMAGE_UPDATE = (
    "---\ntime: 2026-11-27 09:00\ntitle: Harbor Road flooded\nseverity: warning\n"
    f"image: images/x.png\nalt: {ALT}\n---\nAvoid Harbor Road.\n"
)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class Rig:
    channel: SlackChannel
    sim: SlackSim
    config: SlackConfig

    def calls(self, method: str) -> list[Any]:
        return [r for r in self.sim.received if r.path == f"/api/{method}"]

    def live(self) -> list[Any]:
        return [m for m in self.sim.messages.values() if not m.deleted]


def _hub_root(make_hub: HubFactory) -> Path:
    root = make_hub(
        {
            "content/updates/long.md": UPDATE.format(
                time="08:00", title="Shelters open", severity="warning", body=LONG_BODY
            ),
            "content/updates/flood.md": IMAGE_UPDATE,
        }
    )
    (root / "content/images").mkdir(parents=True, exist_ok=True)
    (root / "content/images/x.png").write_bytes(PNG)
    return root


@pytest.fixture
def root(make_hub: HubFactory) -> Path:
    return _hub_root(make_hub)


@pytest.fixture
def hub(root: Path) -> Hub:
    return load_hub(root)


@pytest.fixture(scope="module")
def server() -> Iterator[SlackSim]:
    """One simulator for the module (starting and stopping one takes half a second)."""
    sim = SlackSim()
    with Simulator([sim]):
        yield sim


def fresh(sim: SlackSim, **kwargs: Any) -> SlackSim:
    """*sim* as a new simulated workspace, still serving on its port."""
    serving = {k: v for k, v in vars(sim).items() if k in ("_server", "_thread")}
    vars(sim).clear()
    vars(sim).update(serving)
    SlackSim.__init__(sim, **kwargs)
    return sim


@pytest.fixture
def rig(
    server: SlackSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    sim = fresh(server, token=TOKEN)
    config, _ = make(sim.url, tmp_path)
    config = config.model_copy(update={"timeout": 0.5})  # the lost-answer tests wait for it
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    channel = make_channel(config, hub)
    assert type(channel) is SlackChannel
    try:
        yield Rig(channel, sim, config)
    finally:
        channel.close()


def short(rig: Rig) -> Post:
    post = rig.channel.render(rig.channel.hub.update(ED))
    assert len(post.parts) == 1
    return post


def long_post(rig: Rig) -> Post:
    post = rig.channel.render(rig.channel.hub.update("long"))
    assert len(post.parts) > 1
    return post


# --- rendering -----------------------------------------------------------------------------


def test_mrkdwn_shows_the_text_exactly_and_length_counts_what_is_sent() -> None:
    text = "A & B <tag> *bold* _it_ ~strike~ `code`\n> not a quote\nhttps://x.org/a_b?c=1&d=~2"
    sent = mrkdwn(text)
    assert sent == (
        f"A &amp; B &lt;tag&gt; *{ZWSP}bold*{ZWSP} _{ZWSP}it_{ZWSP} ~{ZWSP}strike~{ZWSP} "
        f"`{ZWSP}code`{ZWSP}\n{ZWSP}&gt; not a quote\n<https://x.org/a_b?c=1&amp;d=~2>"
    )
    assert plain(sent) == text
    assert "<" not in sent.replace("<https://", "")  # no control character left unescaped
    channel = SlackChannel(SlackConfig(name="s", bot_token="${T}", channel="C1"), None)  # type: ignore[arg-type]
    assert channel.length(text) == len(sent) > len(text)
    assert channel.length("🌀 storm") == 7  # code points, as slack_sdk's validators count


def test_rendering_stays_within_the_section_limit_and_threads_long_updates(
    rig: Rig, hub: Hub
) -> None:
    assert rig.channel.limit == 3000 and rig.channel.supports_threads
    for update in hub.updates:
        post = rig.channel.render(update)
        assert all(n <= 3000 for n in post.lengths)
        assert post.link in post.parts[0]
    post = long_post(rig)
    assert post.parts[0].startswith("WARNING: Shelters open")
    blocks = rig.channel.blocks(post, 1)
    assert [b["type"] for b in blocks] == ["section"]
    assert len(blocks[0]["text"]["text"]) == post.lengths[1]


def test_constructing_and_rendering_need_no_token_and_no_network(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SlackSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        channel = make_channel(config, hub)
        posts = [channel.render(u) for u in hub.updates]
        assert sim.received == []
        with pytest.raises(PublishError) as caught:
            channel.publish(posts[0], "stormhub-k")
        assert "SLACK_BOT_TOKEN not set" in str(caught.value) and caught.value.fatal
        assert sim.received == []


# --- the wire ------------------------------------------------------------------------------


def test_publish_sends_chat_post_message_as_slack_sdk_does(rig: Rig) -> None:
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-one")
    [call] = rig.calls("chat.postMessage")
    assert call.method == "POST"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.headers["content-type"].startswith("application/json")
    assert call.headers["user-agent"].startswith("stormhub/")
    body = call.json
    assert body["channel"] == "C0123456789"
    assert body["text"] == mrkdwn(post.text)
    assert body["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}]
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert "thread_ts" not in body and "token" not in body
    [link] = rig.calls("chat.getPermalink")
    assert link.form == {"channel": ["C0123456789"], "message_ts": [receipt.remote_id]}
    assert receipt.ids == (receipt.remote_id,)
    assert receipt.url == (
        f"https://stormhub-sim.slack.com/archives/C0123456789/p{receipt.remote_id.replace('.', '')}"
    )
    assert rig.sim.describe() == ["WARNING: Emergency Department open"]


def test_a_long_update_is_a_thread_under_its_first_part(rig: Rig) -> None:
    post = long_post(rig)
    receipt = rig.channel.publish(post, "stormhub-thread")
    assert len(receipt.ids) == len(post.parts)
    bodies = [c.json for c in rig.calls("chat.postMessage")]
    assert "thread_ts" not in bodies[0]
    assert all(b["thread_ts"] == receipt.remote_id for b in bodies[1:])
    assert not any(b.get("reply_broadcast") for b in bodies)
    lines = rig.sim.describe()
    assert lines[0] == "WARNING: Shelters open"
    assert all(line.startswith("↳ Paragraph") for line in lines[1:])
    shown = [plain(rig.sim.messages[ts].text) for ts in receipt.ids]
    assert shown == list(post.parts)  # the text arrives exactly as rendered


def test_the_image_goes_in_an_image_block_and_is_dropped_if_slack_cannot_fetch_it(
    rig: Rig, hub: Hub
) -> None:
    post = rig.channel.render(hub.update("flood"))
    assert post.image == "https://hub.example.org/images/x.png"
    receipt = rig.channel.publish(post, "stormhub-img")
    blocks = rig.sim.messages[receipt.remote_id].blocks
    assert blocks[1] == {"type": "image", "image_url": post.image, "alt_text": ALT}
    assert rig.sim.describe() == [f"WARNING: Harbor Road flooded [image: {ALT}]"]
    rig.sim.images_fail = True
    again = rig.channel.publish(post, "stormhub-img-2")
    assert [b["type"] for b in rig.sim.messages[again.remote_id].blocks] == ["section"]
    refused = rig.calls("chat.postMessage")[-2].json
    assert [b["type"] for b in refused["blocks"]] == ["section", "image"]


# --- edits, deletes, replies ---------------------------------------------------------------


def test_a_correction_edits_every_part_in_place(rig: Rig) -> None:
    post = long_post(rig)
    receipt = rig.channel.publish(post, "stormhub-orig")
    fixed = replace(post, parts=tuple(p.replace("Lincoln", "Roosevelt") for p in post.parts))
    corrected = rig.channel.correct(receipt, fixed, "stormhub-fix")
    assert corrected == receipt
    updates = [c.json for c in rig.calls("chat.update")]
    assert [u["ts"] for u in updates] == list(receipt.ids)
    assert all(u["channel"] == "C0123456789" and u["blocks"] for u in updates)
    assert len(rig.calls("chat.postMessage")) == len(post.parts)  # nothing new was posted
    for ts in receipt.ids:
        assert rig.sim.messages[ts].edited_ts and "Lincoln" not in rig.sim.messages[ts].text


def test_a_correction_with_fewer_or_more_parts_deletes_or_adds_replies(rig: Rig) -> None:
    post = long_post(rig)
    receipt = rig.channel.publish(post, "stormhub-orig")
    one = replace(post, parts=(f"WARNING: Shelters moved\n\n{post.link}",))
    shrunk = rig.channel.edit(receipt, one)
    assert shrunk.ids == receipt.ids[:1] and shrunk.url == receipt.url
    assert rig.sim.describe() == ["WARNING: Shelters moved"]
    grown = rig.channel.edit(shrunk, post)
    assert grown.ids[0] == receipt.remote_id and len(grown.ids) == len(post.parts)
    assert len(rig.sim.describe()) == len(post.parts)


def test_delete_removes_every_part_and_is_idempotent(rig: Rig) -> None:
    receipt = rig.channel.publish(long_post(rig), "stormhub-del")
    rig.channel.delete(receipt)
    assert rig.sim.describe() == []
    rig.channel.delete(receipt)  # message_not_found: already gone
    assert [c.form["ts"] for c in rig.calls("chat.delete")][:2] == [
        [receipt.ids[-1]],
        [receipt.ids[-2]],
    ]


def test_a_reply_is_broadcast_from_the_originals_thread(rig: Rig) -> None:
    first = rig.channel.publish(short(rig), "stormhub-a")
    answer = rig.channel.reply(first, long_post(rig), "stormhub-b")
    bodies = [c.json for c in rig.calls("chat.postMessage")][1:]
    assert bodies[0]["thread_ts"] == first.remote_id and bodies[0]["reply_broadcast"] is True
    assert all(b["thread_ts"] == first.remote_id for b in bodies[1:])
    assert "?thread_ts=" in str(answer.url)
    history = rig.channel._call("conversations_history", channel="C0123456789", limit=10)
    subtypes = {m["ts"]: m.get("subtype") for m in history["messages"]}
    assert subtypes == {first.remote_id: None, answer.remote_id: "thread_broadcast"}


# --- exactly once --------------------------------------------------------------------------


def _wait_for(sim: SlackSim, count: int) -> None:
    deadline = time.monotonic() + 5
    while len([m for m in sim.messages.values() if not m.deleted]) < count:
        assert time.monotonic() < deadline, "the simulator never made the message"
        time.sleep(0.02)


def test_a_retry_after_a_lost_answer_finds_the_message_instead_of_posting_again(
    rig: Rig,
) -> None:
    post = short(rig)
    rig.sim.inject(Fault("delay", seconds=0.9))  # handled after the client gave up
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-lost")
    assert caught.value.transient and caught.value.status is None
    _wait_for(rig.sim, 1)
    receipt = rig.channel.publish(post, "stormhub-lost")
    assert len(rig.live()) == 1 and receipt.remote_id == rig.live()[0].ts
    assert len(rig.calls("conversations.history")) == 1
    assert len(rig.calls("chat.postMessage")) == 1


def test_a_retry_mid_thread_continues_the_thread(rig: Rig) -> None:
    post = long_post(rig)
    # The first part is answered; the second is made but its answer comes too late.
    rig.sim.inject(Fault("delay", seconds=0), Fault("delay", seconds=0.9))
    with pytest.raises(PublishError):
        rig.channel.publish(post, "stormhub-mid")
    _wait_for(rig.sim, 2)
    receipt = rig.channel.publish(post, "stormhub-mid")
    assert len(rig.live()) == len(post.parts) == len(receipt.ids)
    assert len(rig.calls("conversations.replies")) == 1
    assert len(rig.calls("chat.postMessage")) == len(post.parts)


def test_find_recovers_a_thread_by_its_permalink(rig: Rig) -> None:
    post = long_post(rig)
    rig.channel.publish(short(rig), "stormhub-other")
    receipt = rig.channel.publish(post, "stormhub-find")
    rig.channel.publish(replace(short(rig), parts=("unrelated",)), "stormhub-later")
    fresh = make_channel(rig.config, rig.channel.hub)
    try:
        assert fresh.find(post) == receipt
        [history] = rig.calls("conversations.history")
        assert history.form["limit"] == ["100"]
        rig.channel.delete(receipt)
        assert fresh.find(post) is None
    finally:
        fresh.close()


def test_fanout_posts_corrects_supersedes_and_retracts_once(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SlackSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        # A crash: Slack took the first update, the ledger never heard of it.
        hub = load_hub(root)
        first = hub.updates[-1]
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed = channel.publish(
            channel.render(first), delivery_key(first.id, config.name, "post")
        )
        parts = sum(len(channel.render(u).parts) for u in hub.updates)
        channel.close()

        def fanout() -> Any:
            return Fanout(
                load_hub(root), [config], ledger, policy=FAST, factory=make_channel, now=NOW
            ).run()

        report = fanout()
        assert not report.failed and len(report.outcomes) == len(hub.updates)
        assert crashed.url in {o.url for o in report.outcomes}
        assert len(sim.describe()) == parts
        assert fanout().outcomes == []
        # A correction edits in place.
        (root / f"content/updates/{ED}.md").write_text(
            UPDATE.format(
                time="06:15",
                title="Emergency Department open",
                severity="warning",
                body="The Emergency Department is open; use the north entrance.",
            )
        )
        report = fanout()
        assert [(o.update_id, o.status) for o in report.outcomes] == [(ED, "corrected")]
        assert any("north entrance" in m.text for m in sim.messages.values() if m.edited_ts)
        assert len(sim.describe()) == parts
        # A superseding update is a broadcast reply in the original's thread.
        (root / "content/updates/fix.md").write_text(
            UPDATE.format(
                time="10:00", title="Flood update", severity="info", body="Open again."
            ).replace("severity: info", "severity: info\nsupersedes: flood")
        )
        report = fanout()
        assert [(o.update_id, o.status) for o in report.outcomes] == [("fix", "posted")]
        reply = next(m for m in sim.messages.values() if m.broadcast)
        assert sim.messages[str(reply.thread_ts)].text.startswith("WARNING: Harbor Road flooded")
        # A retraction deletes.
        mark_retracted(root, "long", "Posted by mistake.", now=NOW)
        report = fanout()
        assert [(o.update_id, o.status) for o in report.outcomes] == [("long", "retracted")]
        assert not any("Shelters open" in line for line in sim.describe())
        assert fanout().outcomes == []


# --- rate limits and errors ----------------------------------------------------------------


def test_a_429_reaches_the_fanout_with_slacks_retry_after(rig: Rig) -> None:
    rig.sim.inject(
        status(429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": "30"})
    )  # fmt: skip
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-rl")
    error = caught.value
    assert error.transient and error.status == 429 and error.retry_after == 30.0
    assert "ratelimited" in str(error)
    assert len(rig.calls("chat.postMessage")) == 1  # slack_sdk did not retry behind our back


def test_the_simulated_channel_limits_messages_per_second(rig: Rig) -> None:
    rig.sim.rate_limit = 1
    start = time.time()
    rig.sim.clock = lambda: start
    rig.channel.publish(short(rig), "stormhub-1")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(short(rig), parts=("two",)), "stormhub-2")
    assert caught.value.status == 429 and caught.value.retry_after == 1.0
    rig.sim.clock = lambda: start + 1.5
    rig.channel.publish(replace(short(rig), parts=("two",)), "stormhub-2")
    assert len(rig.live()) == 2


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        (lambda sim: setattr(sim, "token", "xoxb-other"), "invalid_auth", "SLACK_BOT_TOKEN"),
        (lambda sim: setattr(sim, "member", False), "not_in_channel", "/invite"),
        (lambda sim: setattr(sim, "channel_id", "C999"), "channel_not_found", "C0123456789"),
        (lambda sim: setattr(sim, "archived", True), "is_archived", "archived"),
    ],
    ids=["invalid_auth", "not_in_channel", "channel_not_found", "is_archived"],
)
def test_configuration_problems_are_fatal_and_say_what_to_fix(
    rig: Rig, setup: Any, code: str, words: str
) -> None:
    setup(rig.sim)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-cfg")
    error = caught.value
    assert error.fatal and not error.transient
    assert code in str(error) and words in str(error)
    assert TOKEN not in str(error)


def test_refusals_of_this_post_are_permanent_in_slacks_words(rig: Rig) -> None:
    too_long = replace(short(rig), parts=("x" * 3001,))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(too_long, "stormhub-big")
    error = caught.value
    assert not error.transient and not error.fatal
    assert "invalid_blocks: must be less than 3001 characters" in str(error)
    assert "[json-pointer:/blocks/0/text/text]" in str(error)
    rig.sim.inject(status(200, {"ok": False, "error": "msg_too_long"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-too-long")
    assert "msg_too_long" in str(caught.value) and not caught.value.transient
    assert rig.live() == []


FAULTS = {
    "401": status(401, {"error": "unauthorized"}),
    "invalid_auth": status(200, {"ok": False, "error": "invalid_auth"}),
    "500": status(500, {"error": "boom"}),
    "html-502": Fault("status", status=502, body=b"<html>Bad gateway</html>"),
    "fatal_error": status(200, {"ok": False, "error": "fatal_error"}),
    "timeout": Fault("timeout", seconds=2.0),
    "drop": Fault("drop"),
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_token_never_appears_in_errors(rig: Rig, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-err")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_no_secret_in_the_ledger_after_failures(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SlackSim(token="xoxb-the-right-one")
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
        assert report.failed and all(o.fatal or "rejected" in str(o.error) for o in report.failed)
        assert "SLACK_BOT_TOKEN" in str(report.failed[0].error)
        assert len([r for r in sim.received if r.path == "/api/chat.postMessage"]) == 1
        for path in tmp_path.glob("ledger.sqlite*"):
            assert TOKEN.encode() not in path.read_bytes()


# --- webhook mode --------------------------------------------------------------------------


@pytest.fixture
def hook(
    server: SlackSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    sim = fresh(server, webhook_secret="s3cretWebhookPart")
    config, env = make_webhook(sim.url, tmp_path)
    config = config.model_copy(update={"timeout": 0.5})
    monkeypatch.setenv("SLACK_WEBHOOK_URL", env["SLACK_WEBHOOK_URL"])
    channel = make_channel(config, hub)
    assert isinstance(channel, SlackWebhookChannel)
    try:
        yield Rig(channel, sim, config)
    finally:
        channel.close()


def test_webhook_mode_can_only_post(hook: Rig) -> None:
    channel = hook.channel
    assert not (channel.supports_edit or channel.supports_delete or channel.supports_threads)
    assert not channel.can_find and channel.takes_images
    cut = channel.render(channel.hub.update("long"))  # no threads: cut to one message
    assert len(cut.parts) == 1 and cut.lengths[0] <= 3000 and cut.link in cut.parts[0]
    receipt = channel.publish(cut, "stormhub-hook")
    assert receipt.remote_id == "stormhub-hook" and receipt.url is None
    [call] = hook.sim.received
    assert (
        call.method == "POST" and call.path == "/services/T0SIMTEAM1/B0SIMHOOK1/s3cretWebhookPart"
    )
    assert call.json["text"] == mrkdwn(cut.text) and call.json["blocks"][0]["type"] == "section"
    assert hook.sim.describe() == ["WARNING: Shelters open"]


def test_webhook_corrections_and_retractions_are_new_messages_through_the_fanout(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SlackSim()
    with Simulator([sim]):
        config, env = make_webhook(sim.url, tmp_path)
        monkeypatch.setenv("SLACK_WEBHOOK_URL", env["SLACK_WEBHOOK_URL"])
        ledger = tmp_path / "ledger.sqlite"

        def fanout() -> Any:
            return Fanout(
                load_hub(root), [config], ledger, policy=FAST, factory=make_channel, now=NOW
            ).run()

        assert not fanout().failed
        count = len(sim.describe())
        (root / f"content/updates/{ED}.md").write_text(
            UPDATE.format(
                time="06:15",
                title="Emergency Department open",
                severity="warning",
                body="Use the north entrance.",
            )
        )
        assert [o.status for o in fanout().outcomes] == ["corrected"]
        assert sim.describe()[-1] == "Correction: Emergency Department open"
        mark_retracted(root, "flood", now=NOW)
        assert [o.status for o in fanout().outcomes] == ["retracted"]
        assert sim.describe()[-1].startswith("Retracted: Harbor Road flooded.")
        assert len(sim.describe()) == count + 2


@pytest.mark.parametrize(
    ("fault", "transient", "fatal", "words"),
    [
        (Fault("status", status=404, body=b"no_service"), False, True, "SLACK_WEBHOOK_URL"),
        (Fault("status", status=403, body=b"invalid_token"), False, True, "credentials"),
        (Fault("status", status=410, body=b"channel_is_archived"), False, True, "archived"),
        (Fault("status", status=400, body=b"invalid_payload"), False, False, "invalid_payload"),
        (
            Fault("status", status=429, body=b"rate_limited", headers={"Retry-After": "9"}),
            True,
            False,
            "rate limit",
        ),
        (Fault("status", status=500, body=b"rollup_error"), True, False, "rollup_error"),
        (Fault("timeout", seconds=2.0), True, False, "did not answer"),
        (Fault("drop"), True, False, "could not be reached"),
    ],
    ids=["404", "403", "410", "400", "429", "500", "timeout", "drop"],
)
def test_webhook_errors_never_show_the_url(
    hook: Rig, fault: Fault, transient: bool, fatal: bool, words: str
) -> None:
    hook.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        hook.channel.publish(short(hook), "stormhub-hook-err")
    error = caught.value
    assert (error.transient, error.fatal) == (transient, fatal)
    assert words in str(error)
    assert "s3cretWebhookPart" not in str(error) and "/services/" not in str(error)
    if fault.status == 429 and fault.kind == "status":
        assert error.retry_after == 9.0


# --- the simulator on the wire -------------------------------------------------------------


def _api(sim: SlackSim, method: str, body: dict[str, Any], token: str | None = TOKEN) -> Any:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{sim.url}/api/{method}", data=json.dumps(body).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_the_simulator_speaks_slack() -> None:
    sim = SlackSim(token=TOKEN)
    with Simulator([sim]):
        assert _api(sim, "chat.postMessage", {"channel": "C0123456789", "text": "x"}, None) == {
            "ok": False,
            "error": "not_authed",
        }
        assert _api(sim, "chat.postMessage", {"channel": "C0123456789"})["error"] == "no_text"
        big = {"channel": "C0123456789", "text": "y" * 40_001}
        assert _api(sim, "chat.postMessage", big)["error"] == "msg_too_long"
        bad = _api(
            sim,
            "chat.postMessage",
            {
                "channel": "C0123456789",
                "text": "t",
                "blocks": [{"type": "image", "image_url": "x"}],
            },
        )
        assert bad["error"] == "invalid_blocks"
        assert bad["errors"] == [
            "downloading image failed [json-pointer:/blocks/0/image_url]",
            "missing required field: alt_text [json-pointer:/blocks/0]",
        ]
        assert bad["response_metadata"]["messages"][0].startswith("[ERROR] ")
        made = _api(sim, "chat.postMessage", {"channel": "C0123456789", "text": "parent"})
        assert made["ok"] and made["message"]["bot_id"] == sim.bot_id
        reply = _api(
            sim,
            "chat.postMessage",
            {"channel": "C0123456789", "text": "child", "thread_ts": made["ts"]},
        )
        assert reply["message"]["thread_ts"] == made["ts"]
        thread = _api(sim, "conversations.replies", {"channel": "C0123456789", "ts": made["ts"]})
        assert [m["text"] for m in thread["messages"]] == ["parent", "child"]
        history = _api(sim, "conversations.history", {"channel": "C0123456789"})
        assert [m["text"] for m in history["messages"]] == ["parent"]
        assert history["messages"][0]["reply_count"] == 1
        gone = _api(sim, "chat.delete", {"channel": "C0123456789", "ts": "1.000001"})
        assert gone == {"ok": False, "error": "message_not_found"}
        assert sim.describe() == ["parent", "↳ child"]
