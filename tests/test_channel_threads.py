"""The ``threads`` channel against the loopback Threads API simulator."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.threads import ThreadsChannel, threads_chars, threads_length, threads_links
from hub.config import ThreadsConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault, Received
from hub.simulator.threads import ThreadsSim
from tests.channels.threads import make
from tests.conftest import NOW, HubFactory, write

TOKEN = "THAA-SECRET-threads-9d2b71"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: the shelter at Lincoln High School 🏫 has cots, water and power "
    f"for {n * 40} people; bring medicines 💊, chargers and ID. Pets are welcome 🐕."
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
    channel: ThreadsChannel
    sim: ThreadsSim
    config: ThreadsConfig

    def calls(self, method: str, suffix: str) -> list[Received]:
        return [r for r in self.sim.received if r.method == method and r.path.endswith(suffix)]


def hub_with(make_hub: HubFactory, **files: str) -> Hub:
    root = make_hub(
        {
            "content/updates/long.md": UPDATE.format(
                time="08:00", title="Shelters open", severity="warning", body=LONG_BODY
            ),
            **files,
        }
    )
    (root / "content/images").mkdir(parents=True, exist_ok=True)
    (root / "content/images/x.png").write_bytes(PNG)
    return load_hub(root)


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    return hub_with(make_hub)


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = ThreadsSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("THREADS_ACCESS_TOKEN", TOKEN)
        channel = make_channel(config, hub)
        assert isinstance(channel, ThreadsChannel)
        try:
            yield Rig(channel, sim, config)
        finally:
            channel.close()


def short(rig: Rig) -> Post:
    post = rig.channel.render(rig.channel.hub.update("2026-11-27-0615-ed-open"))
    assert len(post.parts) == 1
    return post


def long_post(rig: Rig) -> Post:
    post = rig.channel.render(rig.channel.hub.update("long"))
    assert len(post.parts) > 1
    return post


# --- counting and rendering --------------------------------------------------------------


def test_threads_counts_graphemes_and_emojis_as_their_utf8_bytes() -> None:
    assert threads_chars("Café") == 4  # é: one character, not its two bytes
    assert threads_chars("🌀") == 4 and threads_chars("🇺🇸") == 8
    assert threads_chars("❤️") == 6  # U+2764 U+FE0F
    assert threads_chars("👩‍👩‍👧") == 18
    url = "https://hub.example.org/updates/" + "a" * 80
    assert threads_length(url) == len(url)  # links are not shortened


def test_more_than_five_links_measures_over_the_limit() -> None:
    five = " ".join(f"https://site{n}.example.org/a" for n in range(5))
    assert len(threads_links(five + " https://site0.example.org/a/")) == 5  # same link
    assert threads_length(five) == len(five)
    assert len(threads_links(five + " www.facebook.com")) == 6  # a bare domain is a link
    assert threads_length(five + " www.facebook.com") > 500


def test_rendering_fits_tricky_text_and_the_platform_takes_every_part(rig: Rig) -> None:
    links = " ".join(f"https://shelter{n}.example.org/map" for n in range(8))
    emoji = "🌀🇺🇸❤️👩‍👩‍👧 " * 40
    for body in (LONG_BODY, links, emoji, "x" * 2000):
        update = rig.channel.hub.update("long").model_copy(update={"body": body})
        post = rig.channel.render(update)
        assert all(0 < n <= 500 for n in post.lengths)
        assert all(len(threads_links(p)) <= 5 for p in post.parts)
        assert post.link in post.parts[0]
        receipt = rig.channel.publish(post, f"stormhub-fit-{len(body)}")
        assert len(receipt.ids) == len(post.parts)
    assert rig.channel.config.long_posts == "thread"
    truncated = make_channel(
        rig.config.model_copy(update={"long_posts": "truncate"}), rig.channel.hub
    )
    assert len(truncated.render(rig.channel.hub.update("long")).parts) == 1


def test_constructing_and_rendering_need_no_token_and_no_network(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = ThreadsSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("THREADS_ACCESS_TOKEN", raising=False)
        channel = make_channel(config, hub)
        posts = [channel.render(u) for u in hub.updates]
        assert sim.received == []
        with pytest.raises(PublishError) as caught:
            channel.publish(posts[0], "stormhub-k")
        assert "THREADS_ACCESS_TOKEN not set" in str(caught.value) and caught.value.fatal
        assert sim.received == []
        channel.close()


# --- on the wire -------------------------------------------------------------------------


def test_a_post_is_a_container_then_a_publish_then_its_permalink(rig: Rig) -> None:
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-one")
    create, publish, permalink = rig.sim.received
    user = "me"
    assert (create.method, create.path) == ("POST", f"/v1.0/{user}/threads")
    assert create.headers["content-type"] == "application/x-www-form-urlencoded"
    assert create.form == {
        "text": [post.text],
        "media_type": ["TEXT"],
        "access_token": [TOKEN],
    }
    assert create.query == {}  # the token is in the body, not the URL
    [container] = rig.sim.containers
    assert (publish.method, publish.path) == ("POST", f"/v1.0/{user}/threads_publish")
    assert publish.form == {"creation_id": [container], "access_token": [TOKEN]}
    assert (permalink.method, permalink.path) == ("GET", f"/v1.0/{receipt.remote_id}")
    assert permalink.query == {"fields": ["permalink"], "access_token": [TOKEN]}
    [media] = rig.sim.live()
    assert receipt.remote_id == media.id and receipt.ids == (media.id,)
    assert receipt.url == f"https://www.threads.com/@stormhub/post/{media.shortcode}"
    assert rig.sim.describe() == ["WARNING: Emergency Department open"]


def test_a_numeric_user_id_is_used_in_the_path(rig: Rig) -> None:
    config = rig.config.model_copy(update={"user_id": rig.sim.user_id})
    channel = make_channel(config, rig.channel.hub)
    try:
        channel.publish(short(rig), "stormhub-num")
    finally:
        channel.close()
    assert rig.sim.received[0].path == f"/v1.0/{rig.sim.user_id}/threads"


def test_a_long_update_is_a_chain_of_replies(rig: Rig) -> None:
    post = long_post(rig)
    receipt = rig.channel.publish(post, "stormhub-thread")
    media = [rig.sim.media[i] for i in receipt.ids]
    assert media[0].reply_to is None
    assert [m.reply_to for m in media[1:]] == list(receipt.ids[:-1])
    assert [m.text for m in media] == list(post.parts)
    creates = rig.calls("POST", "/threads")
    assert [c.form.get("reply_to_id") for c in creates] == [None, *([i] for i in receipt.ids[:-1])]
    assert rig.sim.describe()[0] == "WARNING: Shelters open"


def test_the_image_goes_with_the_first_part_and_is_waited_for(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_with(make_hub, **{"content/updates/flood.md": IMAGE_UPDATE})
    sim = ThreadsSim(token=TOKEN)
    sim.processing_seconds = 0.3
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("THREADS_ACCESS_TOKEN", TOKEN)
        channel = make_channel(config, hub)
        try:
            post = channel.render(hub.update("flood"))
            receipt = channel.publish(post, "stormhub-img")
        finally:
            channel.close()
    create = sim.received[0]
    assert create.form["media_type"] == ["IMAGE"]
    assert create.form["image_url"] == ["https://hub.example.org/images/x.png"]
    assert create.form["alt_text"] == [ALT] and create.form["text"] == [post.text]
    polls = [r for r in sim.received if r.method == "GET" and "status" in str(r.query)]
    assert len(polls) >= 2  # IN_PROGRESS at first, then FINISHED
    assert all(r.query["fields"] == ["status,error_message"] for r in polls)
    assert sim.media[receipt.remote_id].media_type == "IMAGE"
    assert sim.describe() == [f"WARNING: Harbor Road flooded [image: {ALT}]"]


# --- exactly once ------------------------------------------------------------------------


def test_a_lost_publish_answer_is_not_published_again(rig: Rig) -> None:
    post = short(rig)
    rig.sim.inject(Fault("delay"), Fault("drop"))  # the container is made; publish's answer lost
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-lost")
    assert caught.value.transient
    # Threads did publish it (here: the request arrives after all) before the answer was lost.
    [container] = rig.sim.containers
    code, _ = _call(
        rig.sim, "POST", f"/v1.0/me/threads_publish?creation_id={container}&access_token={TOKEN}"
    )
    assert code == 200
    # The retry sees the container PUBLISHED and finds the post instead of posting again.
    receipt = rig.channel.publish(post, "stormhub-lost")
    assert rig.sim.containers[container].media_id == receipt.remote_id
    assert receipt.url and receipt.url.startswith("https://www.threads.com/@stormhub/post/")
    assert [m.id for m in rig.sim.live()] == [receipt.remote_id]
    assert len(rig.calls("POST", "/threads")) == 1  # one container, never made again


def test_a_retry_continues_a_thread_where_it_stopped(rig: Rig) -> None:
    post = long_post(rig)
    # Part 1 (container, publish) and part 2's container; part 2's publish times out.
    rig.sim.inject(*[Fault("delay")] * 3, Fault("timeout", seconds=1.5))
    with pytest.raises(PublishError):
        rig.channel.publish(post, "stormhub-mid")
    receipt = rig.channel.publish(post, "stormhub-mid")
    assert [m.text for m in rig.sim.live()] == list(post.parts)
    assert receipt.ids == tuple(m.id for m in rig.sim.live())


def test_find_recovers_a_thread_and_tells_a_correction_from_the_original(rig: Rig) -> None:
    hub = rig.channel.hub
    update = hub.update("long")
    post = rig.channel.render(update)
    rig.channel.publish(short(rig), "stormhub-other")
    receipt = rig.channel.publish(post, "stormhub-find")
    fresh = make_channel(rig.config, hub)
    try:
        assert fresh.find(post) == receipt
        gets = [r.path for r in rig.sim.received if r.method == "GET"][-2:]
        assert gets == ["/v1.0/me/replies", "/v1.0/me/threads"]
        correction = rig.channel.render_correction(update)
        assert fresh.find(correction) is None  # same permalink, not the same post
        fixed = rig.channel.reply(receipt, correction, "stormhub-fix")
        assert fresh.find(correction) == fixed
        rig.channel.delete(receipt)
        assert fresh.find(post) is None
    finally:
        fresh.close()


def test_fanout_recovers_a_crash_corrects_and_retracts(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_with(make_hub)
    sim = ThreadsSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("THREADS_ACCESS_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        first = hub.update("long")
        # A crash: Threads took the update, the ledger only has the claim.
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed = channel.publish(
            channel.render(first), delivery_key(first.id, config.name, "post")
        )
        channel.close()

        def fanout(current: Hub) -> Any:
            return Fanout(
                current, [config], ledger, policy=FAST, factory=make_channel, now=NOW
            ).run()

        report = fanout(hub)
        assert not report.failed
        assert crashed.url in {o.url for o in report.outcomes}
        parts = sum(len(channel.render(u).parts) for u in hub.updates)
        assert len(sim.describe()) == parts
        # A correction: a reply under the first post, marked "Correction:".
        root = tmp_path / "hub"
        write(root, {"content/updates/long.md": UPDATE.format(
            time="08:00", title="Shelters open", severity="warning",
            body=LONG_BODY.replace("Lincoln", "Roosevelt"),
        )})  # fmt: skip
        corrected = load_hub(root)
        report = fanout(corrected)
        assert [o.status for o in report.outcomes] == ["corrected"]
        fix = [m for m in sim.live() if m.text.startswith("Correction: Shelters open")]
        assert len(fix) == 1 and fix[0].reply_to == crashed.remote_id
        assert fanout(corrected).outcomes == []
        # A retraction deletes every part of the original thread.
        text = (root / "content/updates/long.md").read_text()
        (root / "content/updates/long.md").write_text(
            text.replace("severity: warning", "severity: warning\nretracted: 2026-11-28 10:00")
        )
        report = fanout(load_hub(root))
        assert [o.status for o in report.outcomes] == ["retracted"]
        assert not any(m.id in crashed.ids for m in sim.live())
        with Ledger(ledger) as rows:
            assert all(TOKEN not in str(row) for row in rows.rows())


def test_delete_is_idempotent(rig: Rig) -> None:
    receipt = rig.channel.publish(long_post(rig), "stormhub-del")
    rig.channel.delete(receipt)
    assert rig.sim.describe() == []
    rig.channel.delete(receipt)  # Graph: "Object with ID ... does not exist" -> already gone
    deletes = rig.calls("DELETE", "")
    assert [r.path.rsplit("/", 1)[1] for r in deletes[: len(receipt.ids)]] == list(
        reversed(receipt.ids)
    )


# --- limits and errors -------------------------------------------------------------------


def test_graph_throttling_maps_to_retry_after(rig: Rig) -> None:
    usage = {"1234": [{"type": "threads", "estimated_time_to_regain_access": 3}]}
    rig.sim.inject(
        status(
            400,
            {"error": {"message": "(#17) User request limit reached", "type": "OAuthException",
                       "code": 17, "fbtrace_id": "A1"}},
            **{"X-Business-Use-Case-Usage": json.dumps(usage)},
        )
    )  # fmt: skip
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-rl")
    error = caught.value
    assert error.transient and not error.fatal and error.retry_after == 180
    assert "User request limit reached" in str(error)


def test_a_used_up_publishing_quota_is_a_transient_rate_limit(rig: Rig) -> None:
    rig.sim.post_quota = 1
    rig.channel.publish(short(rig), "stormhub-q1")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(short(rig), parts=("Second post",)), "stormhub-q2")
    error = caught.value
    assert error.transient and not error.fatal
    assert "publishing limit reached: 1 of 1 posts in 24 hours" in str(error)
    [check] = rig.calls("GET", "/threads_publishing_limit")
    assert check.query["fields"] == ["quota_usage,config"]
    assert len(rig.sim.live()) == 1


def test_too_long_text_is_refused_permanently_in_threads_words(rig: Rig) -> None:
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(short(rig), parts=("🌀" * 126,)), "stormhub-long")
    error = caught.value
    assert not error.transient and not error.fatal and error.status == 400
    assert "Threads refused the post" in str(error) and "500 characters" in str(error)
    assert "(code 100)" in str(error)
    assert rig.sim.live() == []


def test_a_rejected_token_is_fatal_names_the_variable_and_hides_the_token(rig: Rig) -> None:
    rig.sim.token = "another-token"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-190")
    error = caught.value
    assert error.fatal and not error.transient
    message = str(error)
    assert "Threads rejected the access token" in message and "code 190" in message
    assert "THREADS_ACCESS_TOKEN" in message and TOKEN not in message


FAULTS = {
    "401": status(401, {"error": "unauthorized"}),
    "echo": status(400, {"error": {"message": f"bad token {TOKEN}", "code": 190}}),
    "429": status(429, {"error": "slow down"}, **{"Retry-After": "7"}),
    "500": status(500, {"error": {"message": "An unknown error occurred", "code": 1}}),
    "timeout": Fault("timeout", seconds=1.5),
    "drop": Fault("drop"),
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_token_never_appears_in_errors(rig: Rig, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-err")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


# --- the simulator -----------------------------------------------------------------------


def _call(sim: ThreadsSim, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(sim.url + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = (exc.code, json.loads(exc.read()))
        exc.close()
        return answer


def test_the_simulator_speaks_the_threads_api() -> None:
    sim = ThreadsSim(token=TOKEN)
    with Simulator([sim]):
        code, body = _call(sim, "POST", "/v1.0/me/threads", b"media_type=TEXT&text=hi")
        assert code == 400 and body["error"]["code"] == 2500
        code, body = _call(sim, "POST", "/v1.0/me/threads?access_token=nope", b"text=hi")
        assert code == 400 and body["error"]["code"] == 190
        auth = f"access_token={TOKEN}"
        five = "+".join(f"https://s{n}.example.org" for n in range(6))
        code, body = _call(sim, "POST", f"/v1.0/me/threads?{auth}&media_type=TEXT&text={five}")
        assert code == 400 and "THREADS_API__LINK_LIMIT_EXCEEDED" in body["error"]["error_user_msg"]
        code, body = _call(sim, "POST", f"/v1.0/me/threads?{auth}&media_type=TEXT&text=Hello")
        container = body["id"]
        code, body = _call(sim, "GET", f"/v1.0/{container}?fields=status,error_message&{auth}")
        assert body == {"id": container, "status": "FINISHED"}
        code, body = _call(sim, "POST", f"/v1.0/me/threads_publish?creation_id={container}&{auth}")
        media = body["id"]
        assert code == 200 and media.isdigit()
        code, body = _call(sim, "GET", f"/v1.0/{container}?fields=status&{auth}")
        assert body["status"] == "PUBLISHED"
        code, body = _call(sim, "GET", f"/v1.0/me/threads?fields=id,text,timestamp&{auth}")
        [row] = body["data"]
        assert row["text"] == "Hello" and row["timestamp"].endswith("+0000")
        assert set(body["paging"]["cursors"]) == {"before", "after"}
        code, body = _call(
            sim, "GET", f"/v1.0/me/threads_publishing_limit?fields=quota_usage,config&{auth}"
        )
        assert body == {
            "data": [{"quota_usage": 1, "config": {"quota_total": 250, "quota_duration": 86400}}]
        }
        code, body = _call(sim, "DELETE", f"/v1.0/{media}?{auth}")
        assert body == {"success": True, "deleted_id": media}
        code, body = _call(sim, "DELETE", f"/v1.0/{media}?{auth}")
        assert code == 400 and body["error"]["error_subcode"] == 33
        assert "Unsupported delete request" in body["error"]["message"]
        assert sim.describe() == []
