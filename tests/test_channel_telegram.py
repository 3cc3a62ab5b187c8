"""The ``telegram`` channel (Bot API over httpx) against the loopback Bot API simulator."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hub.authoring import mark_retracted
from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.telegram import TelegramChannel, to_html
from hub.config import TelegramConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.telegram import TelegramSim, parse_html
from tests.channels.telegram import TOKEN, make
from tests.conftest import NOW, HubFactory

FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
ED = "2026-11-27-0615-ed-open"
PARAGRAPH = (
    "Paragraph {n}: the shelter at Lincoln High School has cots, water & power for "
    "{people} people 🌀 <bring ID>; *no* pets_allowed. Details: "
    "https://ready.example.org/shelters?id=7&lang=en " + "More words about the shelter. " * 20
)
LONG_BODY = "\n\n".join(PARAGRAPH.format(n=n, people=n * 40) for n in range(1, 9))
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"


@dataclass
class Rig:
    channel: TelegramChannel
    sim: TelegramSim
    config: TelegramConfig

    def calls(self, method: str) -> list[Any]:
        return [r for r in self.sim.received if r.path == f"/bot{TOKEN}/{method}"]

    def live(self) -> list[Any]:
        return [m for m in self.sim.messages.values() if not m.deleted]


@pytest.fixture
def root(make_hub: HubFactory) -> Path:
    return make_hub(
        {
            "content/updates/long.md": UPDATE.format(
                time="08:00", title="Shelters open", severity="warning", body=LONG_BODY
            )
        }
    )


@pytest.fixture
def hub(root: Path) -> Hub:
    return load_hub(root)


@pytest.fixture(scope="module")
def server() -> Iterator[TelegramSim]:
    """One simulator for the module (starting and stopping one takes half a second)."""
    sim = TelegramSim()
    with Simulator([sim]):
        yield sim


def fresh(sim: TelegramSim, **kwargs: Any) -> TelegramSim:
    """*sim* as a new simulated channel, still serving on its port."""
    serving = {k: v for k, v in vars(sim).items() if k in ("_server", "_thread")}
    vars(sim).clear()
    vars(sim).update(serving)
    TelegramSim.__init__(sim, **kwargs)
    return sim


@pytest.fixture
def rig(
    server: TelegramSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    sim = fresh(server, token=TOKEN)
    config, _ = make(sim.url, tmp_path)
    config = config.model_copy(update={"timeout": 0.5})
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    channel = make_channel(config, hub)
    assert isinstance(channel, TelegramChannel)
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


def test_length_is_code_points_after_entity_parsing(rig: Rig) -> None:
    channel = rig.channel
    assert channel.limit == 4096 and channel.length("🌀 storm") == 7
    text = "WARNING: Storm <now> & later\n\nBring ID 🌀 https://x.org/?a=1&b=2"
    sent = to_html(text, bold_first_line=True)
    assert sent == (
        "<b>WARNING: Storm &lt;now&gt; &amp; later</b>\n\nBring ID 🌀 https://x.org/?a=1&amp;b=2"
    )
    shown, entities = parse_html(sent)
    assert shown == text and channel.length(text) == len(shown)
    assert entities == [{"offset": 0, "length": 28, "type": "bold"}]
    for update in channel.hub.updates:
        post = channel.render(update)
        assert all(n <= 4096 for n in post.lengths) and post.link in post.parts[0]


def test_the_limit_is_what_telegram_accepts(rig: Rig) -> None:
    emoji = "🌀" * 4096  # 4,096 code points, 8,192 UTF-16 units: accepted
    assert rig.channel.length(emoji) == 4096
    rig.channel.publish(replace(short(rig), parts=(emoji,)), "stormhub-4096")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(short(rig), parts=(emoji + "x",)), "stormhub-4097")
    error = caught.value
    assert not error.transient and not error.fatal and error.status == 400
    assert "Bad Request: message is too long" in str(error)
    assert len(rig.live()) == 1


def test_constructing_and_rendering_need_no_token_and_no_network(
    server: TelegramSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh(server)
    config, _ = make(sim.url, tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    channel = make_channel(config, hub)
    posts = [channel.render(u) for u in hub.updates]
    assert sim.received == []
    with pytest.raises(PublishError) as caught:
        channel.publish(posts[0], "stormhub-k")
    assert "TELEGRAM_BOT_TOKEN not set" in str(caught.value) and caught.value.fatal
    assert sim.received == []
    channel.close()


# --- the wire ------------------------------------------------------------------------------


def test_publish_sends_send_message_with_html_and_a_link_preview(rig: Rig) -> None:
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-one")
    [call] = rig.calls("sendMessage")
    assert call.method == "POST" and call.headers["content-type"] == "application/json"
    assert call.headers["user-agent"].startswith("stormhub/")
    assert call.json == {
        "chat_id": "@stormhub_sim",
        "text": to_html(post.text, bold_first_line=True),
        "parse_mode": "HTML",
        "link_preview_options": {"url": post.link, "prefer_large_media": True},
    }
    [message] = rig.live()
    assert message.text == post.text
    assert message.entities[0] == {"offset": 0, "length": 34, "type": "bold"}
    assert message.entities[-1]["type"] == "url"
    assert receipt.remote_id == str(message.message_id) and receipt.ids == (receipt.remote_id,)
    assert receipt.url == f"https://t.me/stormhub_sim/{message.message_id}"
    assert rig.sim.describe() == ["WARNING: Emergency Department open"]


def test_a_long_update_is_a_chain_of_replies(rig: Rig) -> None:
    post = long_post(rig)
    receipt = rig.channel.publish(post, "stormhub-thread")
    bodies = [c.json for c in rig.calls("sendMessage")]
    assert "reply_parameters" not in bodies[0]
    assert [b["reply_parameters"]["message_id"] for b in bodies[1:]] == [
        int(i) for i in receipt.ids[:-1]
    ]
    assert all(b["link_preview_options"] == {"is_disabled": True} for b in bodies[1:])
    assert [m.text for m in rig.live()] == list(post.parts)
    lines = rig.sim.describe()
    assert lines[0] == "WARNING: Shelters open" and all(x.startswith("↳ ") for x in lines[1:])


def test_a_retry_after_a_failed_part_continues_the_thread(rig: Rig) -> None:
    post = long_post(rig)
    failure = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
    rig.sim.inject(Fault("delay", seconds=0), status(500, failure))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-mid")
    assert caught.value.transient and caught.value.status == 500
    receipt = rig.channel.publish(post, "stormhub-mid")
    assert len(rig.live()) == len(post.parts) == len(receipt.ids)


def test_a_private_channel_gets_a_members_only_link() -> None:
    message = {"message_id": 5, "chat": {"id": -1009876543210, "type": "channel"}}
    assert TelegramChannel.permalink(message) == "https://t.me/c/9876543210/5"
    assert (
        TelegramChannel.permalink({"message_id": 5, "chat": {"id": -42, "type": "group"}}) is None
    )


# --- edits, deletes, replies ---------------------------------------------------------------


def test_a_correction_edits_in_place_and_not_modified_is_success(rig: Rig) -> None:
    post = long_post(rig)
    receipt = rig.channel.publish(post, "stormhub-orig")
    fixed = replace(post, parts=tuple(p.replace("Lincoln", "Roosevelt") for p in post.parts))
    assert rig.channel.correct(receipt, fixed, "stormhub-fix") == receipt
    edits = [c.json for c in rig.calls("editMessageText")]
    assert [e["message_id"] for e in edits] == [int(i) for i in receipt.ids]
    assert edits[0]["text"].startswith("<b>WARNING: Shelters open</b>")
    assert all(m.edit_date and "Lincoln" not in m.text for m in rig.live())
    assert len(rig.calls("sendMessage")) == len(post.parts)
    assert rig.channel.edit(receipt, fixed) == receipt  # "message is not modified": fine


def test_a_correction_with_fewer_or_more_parts_deletes_or_adds_replies(rig: Rig) -> None:
    post = long_post(rig)
    receipt = rig.channel.publish(post, "stormhub-orig")
    one = replace(post, parts=(f"WARNING: Shelters moved\n\n{post.link}",))
    shrunk = rig.channel.edit(receipt, one)
    assert shrunk.ids == receipt.ids[:1] and rig.sim.describe() == ["WARNING: Shelters moved"]
    grown = rig.channel.edit(shrunk, post)
    assert grown.ids[0] == receipt.remote_id and len(rig.live()) == len(post.parts)


def test_delete_within_48_hours_and_idempotent(rig: Rig) -> None:
    receipt = rig.channel.publish(long_post(rig), "stormhub-del")
    rig.channel.delete(receipt)
    assert rig.sim.describe() == []
    rig.channel.delete(receipt)  # "message to delete not found": already gone
    assert rig.calls("deleteMessage")[0].json == {
        "chat_id": "@stormhub_sim",
        "message_id": int(receipt.ids[-1]),
    }


def test_a_retraction_after_48_hours_edits_the_post_into_the_notice(rig: Rig, hub: Hub) -> None:
    update = hub.update("long")
    receipt = rig.channel.publish(long_post(rig), "stormhub-old")
    later = time.time() + 49 * 3600
    rig.sim.clock = lambda: later
    with pytest.raises(PublishError, match="message can't be deleted"):
        rig.channel.delete(receipt)
    assert rig.channel.retract(receipt, update, "stormhub-r") == receipt
    texts = [m.text for m in rig.live()]
    assert len(texts) == len(receipt.ids)
    assert all(t.startswith("Retracted: Shelters open. Please disregard") for t in texts)


def test_a_reply_quotes_the_last_part_of_the_original(rig: Rig) -> None:
    first = rig.channel.publish(long_post(rig), "stormhub-a")
    answer = rig.channel.reply(first, short(rig), "stormhub-b")
    body = rig.calls("sendMessage")[-1].json
    assert body["reply_parameters"] == {
        "message_id": int(first.last_id),
        "allow_sending_without_reply": True,
    }
    assert rig.sim.messages[int(answer.remote_id)].reply_to == int(first.last_id)


def test_fanout_posts_corrects_supersedes_and_retracts_once(
    server: TelegramSim, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh(server, token=TOKEN)
    config, _ = make(sim.url, tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    ledger = tmp_path / "ledger.sqlite"

    def fanout() -> Any:
        return Fanout(
            load_hub(root), [config], ledger, policy=FAST, factory=make_channel, now=NOW
        ).run()

    channel = make_channel(config, load_hub(root))
    long_parts = len(channel.render(channel.hub.update("long")).parts)
    channel.close()
    report = fanout()
    assert [o.status for o in report.outcomes] == ["posted", "posted"]
    assert all(str(o.url).startswith("https://t.me/stormhub_sim/") for o in report.outcomes)
    count = len(sim.describe())
    assert fanout().outcomes == []
    (root / f"content/updates/{ED}.md").write_text(
        UPDATE.format(
            time="06:15",
            title="Emergency Department open",
            severity="warning",
            body="Use the north entrance.",
        )
    )
    assert [(o.update_id, o.status) for o in fanout().outcomes] == [(ED, "corrected")]
    assert any("north entrance" in m.text for m in sim.messages.values() if m.edit_date)
    (root / "content/updates/fix.md").write_text(
        UPDATE.format(time="10:00", title="ED update", severity="info", body="Open again.").replace(
            "severity: info", f"severity: info\nsupersedes: {ED}"
        )
    )
    assert [(o.update_id, o.status) for o in fanout().outcomes] == [("fix", "posted")]
    newest = max(sim.messages.values(), key=lambda m: m.message_id)
    assert sim.messages[int(newest.reply_to or 0)].text.startswith("WARNING: Emergency")
    mark_retracted(root, "long", "Posted by mistake.", now=NOW)
    assert [(o.update_id, o.status) for o in fanout().outcomes] == [("long", "retracted")]
    assert not any("Shelters open" in line for line in sim.describe())
    assert len(sim.describe()) == count - long_parts + 1  # the superseding update stays
    assert fanout().outcomes == []


# --- rate limits and errors ----------------------------------------------------------------


def test_flood_control_uses_parameters_retry_after(rig: Rig) -> None:
    body = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 35",
        "parameters": {"retry_after": 35},
    }
    rig.sim.inject(status(429, body, **{"Retry-After": "5"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-rl")
    error = caught.value
    assert error.transient and error.status == 429 and error.retry_after == 35.0
    assert "Too Many Requests: retry after 35" in str(error)


def test_the_simulated_channel_limits_messages_per_minute(rig: Rig) -> None:
    rig.sim.rate_limit = 1
    start = time.time()
    rig.sim.clock = lambda: start
    rig.channel.publish(short(rig), "stormhub-1")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(short(rig), parts=("two",)), "stormhub-2")
    assert caught.value.status == 429 and caught.value.retry_after == 60.0
    assert rig.calls("sendMessage")[-1] is rig.sim.received[-1]


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda sim: setattr(sim, "token", "1:" + "x" * 35), "@BotFather"),
        (lambda sim: setattr(sim, "member", False), "as an administrator"),
        (lambda sim: setattr(sim, "admin", False), "permission to post"),
        (lambda sim: setattr(sim, "chat_username", "elsewhere"), "chat_id: @stormhub_sim"),
    ],
    ids=["unauthorized", "not-a-member", "not-an-admin", "chat-not-found"],
)
def test_configuration_problems_are_fatal_and_say_what_to_fix(
    rig: Rig, setup: Any, words: str
) -> None:
    setup(rig.sim)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-cfg")
    error = caught.value
    assert error.fatal and not error.transient and words in str(error)
    assert TOKEN not in str(error)


def test_unauthorized_names_the_variable_and_a_group_upgrade_names_the_new_id(rig: Rig) -> None:
    rig.sim.token = "1:" + "y" * 35
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-401")
    message = str(caught.value)
    assert caught.value.status == 401 and "credentials" in message
    assert "Unauthorized" in message and "TELEGRAM_BOT_TOKEN" in message
    rig.sim.token = TOKEN
    moved = {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1001999},
    }
    rig.sim.inject(status(400, moved))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-moved")
    assert caught.value.fatal and 'chat_id: "-1001999"' in str(caught.value)


FAULTS = {
    "401": status(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
    "404": status(404, {"ok": False, "error_code": 404, "description": "Not Found"}),
    "echo": status(
        400, {"ok": False, "error_code": 400, "description": f"Bad Request: /bot{TOKEN}/x"}
    ),
    "500": status(500, {"error": "boom"}),
    "html-502": Fault("status", status=502, body=b"<html>bad gateway</html>"),
    "html-200": Fault("status", status=200, body=b"<html>proxy</html>"),
    "timeout": Fault("timeout", seconds=2.0),
    "drop": Fault("drop"),
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_token_in_the_url_never_appears_in_errors(rig: Rig, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-err")
    error = caught.value
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert TOKEN.split(":")[1] not in str(error)
    assert error.__cause__ is None  # no exception chain carries the URL
    assert error.__suppress_context__ or error.__context__ is None


def test_an_unreachable_api_does_not_show_the_token(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = make("http://127.0.0.1:9", tmp_path)  # discard port: nothing listens
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    channel = make_channel(config, hub)
    try:
        with pytest.raises(PublishError) as caught:
            channel.publish(channel.render(hub.update(ED)), "stormhub-down")
    finally:
        channel.close()
    assert caught.value.transient and "could not be reached" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_no_token_in_the_ledger_or_report_after_failures(
    server: TelegramSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = fresh(server, token=TOKEN)
    config, _ = make(sim.url, tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    sim.inject(*[FAULTS["echo"]] * 2)
    ledger = tmp_path / "ledger.sqlite"
    report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
    assert len(report.failed) == 2 and {o.code for o in report.failed} == {400}
    assert "/bot***/x" in str(report.failed[0].error)
    assert all(TOKEN not in str(o.error) for o in report.outcomes)
    for path in tmp_path.glob("ledger.sqlite*"):
        assert TOKEN.encode() not in path.read_bytes()


# --- the simulator on the wire -------------------------------------------------------------


def _call(sim: TelegramSim, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        sim.url + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = exc.code, json.loads(exc.read())
        exc.close()
        return answer


def test_the_simulator_speaks_the_bot_api(server: TelegramSim) -> None:
    sim = fresh(server, chat_username="stormhub_sim")
    assert _call(sim, "/nope") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert _call(sim, "/botbad/getMe")[0] == 401
    code, me = _call(sim, f"/bot{TOKEN}/GETME")
    assert code == 200 and me["result"]["is_bot"] is True
    send = f"/bot{TOKEN}/sendMessage"
    code, bad = _call(sim, send, {"chat_id": "@stormhub_sim", "text": "<x>", "parse_mode": "HTML"})
    assert (code, bad["description"]) == (
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    )
    code, empty = _call(sim, send, {"chat_id": "@stormhub_sim", "text": " "})
    assert empty["description"] == "Bad Request: message text is empty"
    code, made = _call(
        sim,
        send,
        {
            "chat_id": str(sim.chat_id),
            "text": "🌀 <i>x</i> https://a.example",
            "parse_mode": "HTML",
        },
    )
    result = made["result"]
    assert result["chat"] == {
        "id": sim.chat_id,
        "title": sim.chat_title,
        "username": "stormhub_sim",
        "type": "channel",
    }
    assert result["text"] == "🌀 x https://a.example"
    assert result["entities"] == [
        {"offset": 3, "length": 1, "type": "italic"},
        {"offset": 5, "length": 17, "type": "url"},
    ]
    edit = f"/bot{TOKEN}/editMessageText"
    same = {"chat_id": "@stormhub_sim", "message_id": result["message_id"], "parse_mode": "HTML"}
    code, again = _call(sim, edit, {**same, "text": "🌀 <i>x</i> https://a.example"})
    assert again["description"].startswith("Bad Request: message is not modified: ")
    code, missing = _call(sim, edit, {**same, "message_id": 1, "text": "y"})
    assert missing["description"] == "Bad Request: message to edit not found"
    code, reply = _call(
        sim, send, {"chat_id": "@stormhub_sim", "text": "r", "reply_parameters": {"message_id": 1}}
    )
    assert reply["description"] == "Bad Request: message to be replied not found"
    assert sim.describe() == ["🌀 x https://a.example"]
