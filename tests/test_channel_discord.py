"""The ``discord`` channel (httpx) against the loopback Discord webhook simulator."""

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
from hub.channels.discord import COLORS, DiscordChannel, escape_markdown, form_errors
from hub.config import DiscordConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub, Severity
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.discord import WEBHOOK_ID, DiscordSim
from tests.channels.discord import make
from tests.conftest import NOW, HubFactory

TOKEN = "tok-SECRET_4f9a2c-webhook"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: the shelter at Lincoln High School has cots, water and power for "
    f"{n * 40} people 🌀🏥; bring medicines, chargers and ID. Pets are welcome in carriers."
    for n in range(1, 40)
)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
TRICKY = (  # markdown source: the backslashes make these characters literal on the site
    r"Use \*only\* the north_entrance_2 door; ~~south~~ is shut. \`Code\` ||spoiler|| "
    r"\[x\](y)"
    "\n\n"
    r"\# not a heading"
    "\n\n"
    r"\> not a quote"
    "\n\n- a list item\n- another\n\n"
    "@everyone see https://example.org/a_b*c_d and <@123456789012345678>."
)
ALT = "Water covering Harbor Road outside the Main Campus entrance"
IMAGE_UPDATE = (
    "---\ntime: 2026-11-27 09:00\ntitle: Harbor Road flooded\nseverity: emergency\n"
    f"image: images/x.png\nalt: {ALT}\n---\nHarbor Road is closed.\n"
)


@dataclass
class Rig:
    channel: DiscordChannel
    sim: DiscordSim
    config: DiscordConfig
    url: str  # the webhook URL, the secret

    def live(self) -> list[Any]:
        return [m for m in self.sim.messages.values() if not m.deleted]


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    root = make_hub(
        {
            "content/updates/long.md": UPDATE.format(
                time="08:00", title="Shelters open", severity="warning", body=LONG_BODY
            ),
            "content/updates/tricky.md": UPDATE.format(
                time="07:00",
                title="Door *changes* at Main_Campus",
                severity="advisory",
                body=TRICKY,
            ),
            "content/updates/flood.md": IMAGE_UPDATE,
            "content/images/x.png": "",
        }
    )
    return load_hub(root)


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = DiscordSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        url = f"{sim.url}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", url)
        channel = make_channel(config, hub)
        assert isinstance(channel, DiscordChannel)
        try:
            yield Rig(channel, sim, config, url)
        finally:
            channel.close()


def short(rig: Rig, hub: Hub) -> Post:
    return rig.channel.render(hub.update("2026-11-27-0615-ed-open"))


# --- construction and rendering --------------------------------------------------------


def test_constructing_and_rendering_need_no_network_and_no_secret(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = DiscordSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("DISCORD_WEBHOOK_URL", raising=False)
        channel = make_channel(config, hub)
        posts = [channel.render(u) for u in hub.updates]
        with pytest.raises(PublishError) as caught:
            channel.publish(posts[0], "stormhub-k")
        channel.close()
    assert "DISCORD_WEBHOOK_URL not set" in str(caught.value)
    assert not caught.value.transient and caught.value.fatal
    assert sim.received == []


def test_capabilities_and_the_count_in_code_points(hub: Hub) -> None:
    channel = DiscordChannel(DiscordConfig(name="d", webhook_url="${D}"), hub)
    assert channel.limit == 2000
    assert channel.supports_edit and channel.supports_delete and channel.takes_images
    assert not channel.idempotent and not channel.can_find and not channel.supports_threads
    assert channel.length("🌀") == 1  # one code point, though two UTF-16 units
    assert channel.length("👨‍👩‍👧") == 5  # a ZWJ family: five code points, one grapheme
    assert channel.length("e\u0301") == 2  # e + combining accent


def test_a_long_update_is_cut_within_2000_code_points_with_the_permalink(
    rig: Rig, hub: Hub
) -> None:
    post = rig.channel.render(hub.update("long"))
    assert len(post.parts) == 1 and post.lengths[0] <= 2000 < len(LONG_BODY)
    assert post.text.startswith("**WARNING: Shelters open**\n\nParagraph 1:")
    assert post.text.endswith(f"…\n\n{post.link}")
    receipt = rig.channel.publish(post, "stormhub-long")
    assert rig.sim.messages[receipt.remote_id].content == post.text


def test_markdown_is_escaped_outside_urls_and_lists_stay_lists(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("tricky"))
    text = post.text
    assert text.startswith(r"**Door \*changes\* at Main\_Campus**")
    assert r"Use \*only\* the north\_entrance\_2 door; \~\~south\~\~ is shut." in text
    assert r"\`Code\` \|\|spoiler\|\| \[x\](y)" in text
    assert "\n\n\\# not a heading\n\n\\> not a quote\n" in text
    assert "\n- a list item\n- another" in text
    assert "https://example.org/a_b*c_d" in text  # a URL is left as it is
    assert escape_markdown("a_b https://x.org/a_b") == r"a\_b https://x.org/a_b"


def test_the_exact_request_discord_receives(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("tricky"))
    receipt = rig.channel.publish(post, "stormhub-req")
    [request] = rig.sim.received
    assert request.method == "POST"
    assert request.path == f"/api/v10/webhooks/{WEBHOOK_ID}/{TOKEN}"
    assert request.query == {"wait": ["true"]}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("stormhub/")
    body = request.json
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["content"] == post.text
    assert body["allowed_mentions"] == {"parse": []}
    update = hub.update("tricky")
    assert body["embeds"] == [
        {
            "title": "Door *changes* at Main_Campus",
            "url": post.link,
            "color": COLORS[Severity.ADVISORY],
            "timestamp": update.time.isoformat(),
        }
    ]
    # Nobody is pinged, though the text says @everyone and mentions a user.
    message = rig.sim.messages[receipt.remote_id]
    assert "@everyone" in message.content
    assert message.mention_everyone is False and message.mentions == []
    assert receipt.ids == (receipt.remote_id,) and receipt.remote_id.isdigit()


def test_username_and_thread_id_from_the_config(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = DiscordSim()
    with Simulator([sim]):
        config, env = make(sim.url, tmp_path)
        config = config.model_copy(update={"username": "Port Alder Health", "thread_id": "42"})
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", env["DISCORD_WEBHOOK_URL"])
        channel = make_channel(config, hub)
        try:
            receipt = channel.publish(channel.render(hub.updates[0]), "stormhub-t")
            channel.edit(receipt, channel.render(hub.updates[0], correction=True))
            channel.delete(receipt)
        finally:
            channel.close()
    post, patch, delete = sim.received
    assert post.query == {"wait": ["true"], "thread_id": ["42"]}
    assert post.json["username"] == "Port Alder Health"
    assert patch.query == delete.query == {"thread_id": ["42"]}
    assert sim.messages[receipt.remote_id].channel_id == "42"


def test_the_image_goes_in_the_embed(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("flood"))
    assert post.image == "https://hub.example.org/images/x.png"
    rig.channel.publish(post, "stormhub-img")
    [embed] = rig.sim.received[0].json["embeds"]
    assert embed["image"] == {"url": post.image}
    assert embed["color"] == COLORS[Severity.EMERGENCY]
    assert rig.sim.describe()[0].endswith(f"[image: {post.image}]")


# --- edits, deletes, corrections and retractions -----------------------------------------


def test_an_answer_without_the_message_is_not_retried(rig: Rig, hub: Hub) -> None:
    rig.sim.inject(Fault("status", status=200, body=b"<html>proxy</html>"))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-proxy")
    assert not caught.value.transient and "may have been posted" in str(caught.value)


def test_edit_patches_the_same_message_and_delete_removes_it(rig: Rig, hub: Hub) -> None:
    post = short(rig, hub)
    receipt = rig.channel.publish(post, "stormhub-e")
    fixed = replace(post, parts=(post.text.replace("generator", "mains"),))
    assert rig.channel.edit(receipt, fixed).remote_id == receipt.remote_id
    patch = rig.sim.received[-1]
    assert patch.method == "PATCH"
    assert patch.path == f"/api/v10/webhooks/{WEBHOOK_ID}/{TOKEN}/messages/{receipt.remote_id}"
    assert patch.json["content"] == fixed.text and patch.json["allowed_mentions"] == {"parse": []}
    message = rig.sim.messages[receipt.remote_id]
    assert "mains" in message.content and message.edited_timestamp is not None
    rig.channel.delete(receipt)
    assert rig.sim.received[-1].method == "DELETE" and rig.sim.describe() == []
    rig.channel.delete(receipt)  # 404 10008 Unknown Message: already gone, no error
    with pytest.raises(PublishError) as caught:
        rig.channel.edit(receipt, fixed)
    assert caught.value.status == 404 and "Unknown Message" in str(caught.value)


def test_fanout_posts_corrects_in_place_and_retracts_by_deleting(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub()
    sim = DiscordSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", f"{sim.url}/api/webhooks/{WEBHOOK_ID}/{TOKEN}")
        ledger = tmp_path / "ledger.sqlite"

        def fanout() -> Any:
            hub = load_hub(root)
            return Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()

        first = fanout()
        assert [o.status for o in first.outcomes] == ["posted"]
        assert sim.describe() == ["**WARNING: Emergency Department open**"]
        [message] = sim.messages.values()
        update = root / "content/updates/2026-11-27-0615-ed-open.md"
        update.write_text(update.read_text().replace("generator power", "mains power"))
        second = fanout()
        assert [o.status for o in second.outcomes] == ["corrected"]
        assert [r.method for r in sim.received] == ["POST", "PATCH"]
        assert list(sim.messages) == [message.id]  # edited in place, nothing new
        assert "mains power" in message.content and "Correction" not in message.content
        mark_retracted(root, "2026-11-27-0615-ed-open", "Posted by mistake.", now=NOW)
        third = fanout()
        assert [o.status for o in third.outcomes] == ["retracted"]
        assert sim.received[-1].method == "DELETE" and sim.describe() == []
        assert fanout().outcomes == []


def test_a_crash_after_discord_saved_the_message_posts_it_again(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented window: no idempotency key and no way to find the message."""
    sim = DiscordSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", f"{sim.url}/api/webhooks/{WEBHOOK_ID}/{TOKEN}")
        ledger = tmp_path / "ledger.sqlite"
        first = hub.updates[-1]
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        channel.publish(channel.render(first), delivery_key(first.id, config.name, "post"))
        channel.close()
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
        assert not report.failed and len(report.outcomes) == len(hub.updates)
        titles = [m.content for m in sim.messages.values() if first.title in m.content]
        assert len(titles) == 2  # the crashed post, and the rerun's
        with Ledger(ledger) as rows:
            row = rows.get(first.id, config.name)
            assert row is not None and row.state == "delivered" and row.attempts == 2


# --- limits and errors ---------------------------------------------------------------------


def test_over_2000_is_a_50035_naming_the_field(rig: Rig, hub: Hub) -> None:
    post = replace(short(rig, hub), parts=("🌀" * 2001,))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-long")
    error = caught.value
    assert not error.transient and not error.fatal and error.status == 400
    assert str(error) == (
        "Discord refused the message (Invalid Form Body: content: Must be 2000 or fewer in "
        "length. (BASE_TYPE_MAX_LENGTH))"
    )
    rig.channel.publish(replace(post, parts=("🌀" * 2000,)), "stormhub-ok")  # exactly fits
    assert len(rig.live()) == 1


def test_an_empty_message_and_a_bad_embed_are_refused_in_discords_words(rig: Rig, hub: Hub) -> None:
    post = short(rig, hub)
    rig.sim.inject(status(400, {"message": "Cannot send an empty message", "code": 50006}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-empty")
    assert "Cannot send an empty message, code 50006" in str(caught.value)
    long_title = replace(post, extra={**post.extra, "title": "T" * 257})
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(long_title, "stormhub-title")
    assert "embeds.0.title: Must be 256 or fewer in length." in str(caught.value)
    assert form_errors({"a": {"0": {"b": {"_errors": [{"code": "X", "message": "m"}]}}}}) == [
        "a.0.b: m (X)"
    ]


def test_the_429_body_retry_after_is_used_to_the_millisecond(rig: Rig, hub: Hub) -> None:
    headers = {"Retry-After": "2", "X-RateLimit-Reset-After": "1.5", "X-RateLimit-Scope": "user"}
    body = {"message": "You are being rate limited.", "retry_after": 1.234, "global": False}
    rig.sim.inject(status(429, body, **headers))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-rl")
    error = caught.value
    assert error.transient and error.status == 429 and error.retry_after == 1.234
    assert "You are being rate limited." in str(error) and "global" not in str(error)
    # No body value: X-RateLimit-Reset-After, then Retry-After.
    rig.sim.inject(status(429, {"message": "x", "global": True}, **headers))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-rl")
    assert caught.value.retry_after == 1.5 and "(global)" in str(caught.value)
    rig.sim.inject(status(429, {"message": "x"}, **{"Retry-After": "3"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-rl")
    assert caught.value.retry_after == 3.0


def test_the_simulated_bucket_limits_and_says_how_long_to_wait(rig: Rig, hub: Hub) -> None:
    start = 1_800_000_000.0
    rig.sim.clock = lambda: start
    rig.sim.rate_limit, rig.sim.rate_period = 2, 2.0
    rig.channel.publish(short(rig, hub), "stormhub-1")
    rig.channel.publish(short(rig, hub), "stormhub-2")
    rig.sim.clock = lambda: start + 0.75
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-3")
    assert caught.value.status == 429 and caught.value.retry_after == 1.25
    assert len(rig.live()) == 2
    rig.sim.clock = lambda: start + 2.0
    rig.channel.publish(short(rig, hub), "stormhub-3")
    assert len(rig.live()) == 3


def test_a_wrong_token_is_fatal_and_names_the_variable(rig: Rig, hub: Hub) -> None:
    rig.sim.token = "another-token"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-401")
    error = caught.value
    assert error.status == 401 and error.fatal and not error.transient
    message = str(error)
    assert message.startswith("Discord rejected the credentials (401: Invalid Webhook Token")
    assert "DISCORD_WEBHOOK_URL" in message and TOKEN not in message


def test_a_deleted_webhook_is_fatal_and_says_to_make_a_new_one(rig: Rig, hub: Hub) -> None:
    rig.sim.delete_webhook()
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-404")
    error = caught.value
    assert error.status == 404 and error.fatal and not error.transient
    assert "Unknown Webhook" in str(error) and "set DISCORD_WEBHOOK_URL" in str(error)


def test_a_url_that_is_not_a_webhook_is_fatal_before_any_request(
    rig: Rig, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_WEBHOOK_URL", f"{rig.sim.url}/channels/{TOKEN}")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-bad")
    assert caught.value.fatal and "is not a Discord webhook URL" in str(caught.value)
    assert TOKEN not in str(caught.value) and rig.sim.received == []


FAULTS = {
    "401": status(401, {"message": "401: Unauthorized", "code": 0}),
    "403": status(403, {"message": "Missing Permissions", "code": 50013}),
    "404": status(404, {"message": "Unknown Webhook", "code": 10015}),
    "429": status(429, {"message": "You are being rate limited.", "retry_after": 0.5}),
    "500": status(500, {"message": "500: Internal Server Error", "code": 0}),
    "502-html": Fault("status", status=502, body=b"<html>Bad Gateway</html>"),
    "timeout": Fault("timeout", seconds=2.0),
    "drop": Fault("drop"),
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_webhook_url_and_token_never_appear_in_errors(rig: Rig, hub: Hub, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-err")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_a_platform_echoing_the_url_or_token_is_scrubbed(rig: Rig, hub: Hub) -> None:
    rig.sim.inject(status(500, {"message": f"boom at {rig.url}"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-echo")
    assert rig.url not in str(caught.value) and "***" in str(caught.value)
    rig.sim.inject(status(400, {"message": f"bad token {TOKEN}", "code": 50027}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-echo")
    assert TOKEN not in str(caught.value)


def test_no_secret_reaches_the_ledger_or_the_report(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = DiscordSim(token="the-right-token")
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        url = f"{sim.url}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", url)
        ledger = tmp_path / "ledger.sqlite"
        sim.inject(status(500, {"message": f"oops {TOKEN}"}), *[status(500, {"message": url})] * 2)
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
    errors = [o.error or "" for o in report.outcomes]
    assert all(o.status == "failed" for o in report.outcomes)
    assert report.outcomes[0].fatal is False and report.outcomes[1].fatal is True
    assert "DISCORD_WEBHOOK_URL" in errors[-1]
    dump = ledger.read_bytes().decode("latin-1")
    for text in [*errors, dump]:
        assert TOKEN not in text and url not in text


# --- the simulator on the wire ------------------------------------------------------------


def _call(
    sim: DiscordSim, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(sim.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        answer = (exc.code, dict(exc.headers), json.loads(raw) if raw else None)
        exc.close()
        return answer


def test_the_simulator_speaks_discord() -> None:
    sim = DiscordSim(token=TOKEN)
    base = f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
    with Simulator([sim]):
        code, headers, body = _call(sim, "POST", base, {"content": "no wait"})
        assert (code, body) == (204, None)
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                "X-RateLimit-Reset-After", "X-RateLimit-Bucket"} <= set(headers)  # fmt: skip
        code, _, message = _call(
            sim, "POST", f"{base}?wait=true", {"content": "hi @everyone", "username": "Ops"}
        )
        assert code == 200 and message["content"] == "hi @everyone"
        assert message["mention_everyone"] is True  # no allowed_mentions: default parsing
        assert message["webhook_id"] == WEBHOOK_ID and message["author"]["username"] == "Ops"
        assert message["edited_timestamp"] is None and message["id"].isdigit()
        created = (int(message["id"]) >> 22) + 1_420_070_400_000
        assert abs(created / 1000 - time.time()) < 60  # a snowflake of now
        code, _, got = _call(sim, "GET", f"{base}/messages/{message['id']}")
        assert (code, got["id"]) == (200, message["id"])
        code, _, error = _call(sim, "POST", f"{base}?wait=true", {"content": "  "})
        assert (code, error) == (400, {"message": "Cannot send an empty message", "code": 50006})
        code, _, error = _call(sim, "POST", base, {"content": "x", "username": "Discord bot"})
        assert code == 400 and error["errors"]["username"]["_errors"][0]["code"] == (
            "USERNAME_INVALID_CONTAINS"
        )
        code, _, error = _call(
            sim, "POST", base, {"embeds": [{"description": "d" * 4097}, {"title": "t" * 2000}]}
        )
        assert code == 400 and error["code"] == 50035
        assert error["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
        code, _, error = _call(
            sim, "POST", f"/api/v10/webhooks/{WEBHOOK_ID}/nope", {"content": "x"}
        )
        assert (code, error) == (401, {"message": "Invalid Webhook Token", "code": 50027})
        code, _, error = _call(sim, "POST", f"/api/v10/webhooks/1/{TOKEN}", {"content": "x"})
        assert (code, error) == (404, {"message": "Unknown Webhook", "code": 10015})
        code, _, error = _call(sim, "DELETE", f"{base}/messages/123")
        assert (code, error) == (404, {"message": "Unknown Message", "code": 10008})
        assert _call(sim, "DELETE", f"{base}/messages/{message['id']}")[0] == 204
        assert sim.describe() == ["no wait"]
