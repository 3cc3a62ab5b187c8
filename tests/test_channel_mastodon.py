"""The ``mastodon`` channel through Mastodon.py against the loopback Mastodon simulator."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from mastodon import MastodonError

from hub.channels import make_channel
from hub.channels.base import Post, PublishError, Receipt, retry_after_seconds
from hub.channels.mastodon import MAX_DESCRIPTION, MastodonChannel, alt_text
from hub.config import MastodonConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.mastodon import NOT_READY, MastodonSim, multipart
from tests.channels.mastodon import make
from tests.conftest import NOW, HubFactory

TOKEN = "tok-SECRET-4f9a2c"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: the shelter at Lincoln High School has cots, water and power "
    f"for {n * 40} people; bring medicines, chargers and ID. Pets are welcome in carriers."
    for n in range(1, 9)
)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
ALT = "Water covering Harbor Road outside the Main Campus entrance"
IMAGE_UPDATE = (
    "---\ntime: 2026-11-27 09:00\ntitle: Harbor Road flooded\nseverity: warning\n"
    f"image: images/x.png\nalt: {ALT}\n---\n{LONG_BODY}\n"
)
# A 1x1 PNG (as in test_build).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class Rig:
    channel: MastodonChannel
    sim: MastodonSim
    config: MastodonConfig

    def posts(self) -> list[Any]:
        return [r for r in self.sim.received if r.method == "POST"]

    def live(self) -> list[Any]:
        return [s for s in self.sim.statuses.values() if not s.deleted]


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    return load_hub(
        make_hub(
            {
                "content/updates/long.md": UPDATE.format(
                    time="08:00", title="Shelters open", severity="warning", body=LONG_BODY
                )
            }
        )
    )


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = MastodonSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
        channel = make_channel(config, hub)
        assert isinstance(channel, MastodonChannel)
        try:
            yield Rig(channel, sim, config)
        finally:
            channel.close()


def short(rig: Rig, hub: Hub) -> Post:
    post = rig.channel.render(next(u for u in hub.updates if u.id != "long"))
    assert len(post.parts) == 1
    return post


def long_post(rig: Rig, hub: Hub) -> Post:
    post = rig.channel.render(hub.update("long"))
    assert len(post.parts) > 1
    return post


# --- construction ----------------------------------------------------------------------


def test_constructing_and_rendering_do_no_network_and_need_no_token(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = MastodonSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
        channel = make_channel(config, hub)
        posts = [channel.render(u) for u in hub.updates]
        assert sim.received == []
        with pytest.raises(PublishError) as caught:
            channel.publish(posts[0], "stormhub-k")
        assert "MASTODON_ACCESS_TOKEN not set" in str(caught.value)
        assert not caught.value.transient
        assert sim.received == []


def test_capabilities_follow_the_instance(hub: Hub) -> None:
    config = MastodonConfig(
        name="m",
        api_base_url="https://m.example",
        access_token="${MASTODON_ACCESS_TOKEN}",
        max_characters=2000,
    )  # type: ignore[arg-type]
    channel = MastodonChannel(config, hub)
    assert channel.limit == 2000
    assert channel.length("see https://example.org/" + "x" * 200) == 4 + 23
    assert channel.idempotent and channel.can_find and channel.supports_edit
    assert channel.takes_images
    assert len(channel.render(hub.update("long")).parts) == 1  # fits 2000 at once


# --- idempotency -----------------------------------------------------------------------


def test_the_same_key_twice_makes_one_status_and_the_same_receipt(rig: Rig, hub: Hub) -> None:
    post = long_post(rig, hub)
    first = rig.channel.publish(post, "stormhub-same")
    again = rig.channel.publish(post, "stormhub-same")
    assert again == first
    assert len(rig.live()) == len(post.parts) == len(first.ids)
    keys = [r.headers["idempotency-key"] for r in rig.posts()]
    parts = len(post.parts)
    assert keys == ["stormhub-same", *(f"stormhub-same-{n}" for n in range(2, parts + 1))] * 2
    other = rig.channel.publish(post, "stormhub-other")
    assert other.remote_id != first.remote_id
    assert len(rig.live()) == 2 * parts


def test_the_instance_forgets_a_key_after_an_hour(rig: Rig, hub: Hub) -> None:
    start = time.time()
    rig.sim.clock = lambda: start
    first = rig.channel.publish(short(rig, hub), "stormhub-hour")
    rig.sim.clock = lambda: start + 3599
    assert rig.channel.publish(short(rig, hub), "stormhub-hour") == first
    rig.sim.clock = lambda: start + 3601
    assert rig.channel.publish(short(rig, hub), "stormhub-hour") != first
    assert len(rig.live()) == 2


def test_a_retry_after_a_lost_answer_does_not_post_twice(rig: Rig, hub: Hub) -> None:
    post = long_post(rig, hub)
    # The first part is made, then the connection drops before the second is answered.
    rig.channel.publish(replace(post, parts=post.parts[:1]), "stormhub-crash")
    rig.sim.inject(Fault("drop"))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-crash")
    assert caught.value.transient
    receipt = rig.channel.publish(post, "stormhub-crash")
    assert len(rig.live()) == len(post.parts) == len(receipt.ids)


# --- threads, corrections, deletes -----------------------------------------------------


def test_a_long_update_is_a_thread_within_the_instance_limit(rig: Rig, hub: Hub) -> None:
    post = long_post(rig, hub)
    receipt = rig.channel.publish(post, "stormhub-thread")
    statuses = [rig.sim.statuses[i] for i in receipt.ids]
    assert statuses[0].in_reply_to_id is None
    assert [s.in_reply_to_id for s in statuses[1:]] == list(receipt.ids[:-1])
    assert post.link in statuses[0].text
    assert all(s.text.endswith(f"/{len(statuses)})") or post.link in s.text for s in statuses)
    assert receipt.url == f"{rig.sim.url}/@stormhub/{receipt.remote_id}"
    lines = rig.sim.describe()
    assert lines[0] == "WARNING: Shelters open" and len(lines) == len(statuses)


def test_a_smaller_instance_limit_makes_more_parts(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = MastodonSim(max_characters=200)
    with Simulator([sim]):
        config, env = make(sim.url, tmp_path)
        config = config.model_copy(update={"max_characters": 200})
        monkeypatch.setenv("MASTODON_ACCESS_TOKEN", env["MASTODON_ACCESS_TOKEN"])
        channel = make_channel(config, hub)
        post = channel.render(hub.update("long"))
        assert max(post.lengths) <= 200 and len(post.parts) > 4
        channel.publish(post, "stormhub-small")
        assert len(sim.describe()) == len(post.parts)


def test_a_reply_threads_under_the_last_part(rig: Rig, hub: Hub) -> None:
    first = rig.channel.publish(long_post(rig, hub), "stormhub-a")
    answer = rig.channel.reply(first, short(rig, hub), "stormhub-b")
    assert rig.sim.statuses[answer.remote_id].in_reply_to_id == first.last_id


def test_a_correction_edits_every_part_in_place(rig: Rig, hub: Hub) -> None:
    post = long_post(rig, hub)
    receipt = rig.channel.publish(post, "stormhub-orig")
    fixed = replace(post, parts=tuple(p.replace("Lincoln", "Roosevelt") for p in post.parts))
    corrected = rig.channel.correct(receipt, fixed, "stormhub-fix")
    assert corrected == receipt
    puts = [r for r in rig.sim.received if r.method == "PUT"]
    assert [r.path.rsplit("/", 1)[1] for r in puts] == list(receipt.ids)
    assert len(rig.posts()) == len(post.parts)  # nothing new was posted
    for status_id in receipt.ids:
        status_ = rig.sim.statuses[status_id]
        assert status_.edited_at is not None and "Lincoln" not in status_.text


def test_a_correction_with_fewer_or_more_parts_deletes_or_adds_replies(rig: Rig, hub: Hub) -> None:
    post = long_post(rig, hub)
    receipt = rig.channel.publish(post, "stormhub-orig")
    one = replace(post, parts=(f"WARNING: Shelters moved\n\n{post.link}",))
    shrunk = rig.channel.correct(receipt, one, "stormhub-fix-1")
    assert shrunk.ids == receipt.ids[:1]
    assert rig.sim.describe() == ["WARNING: Shelters moved"]
    grown = rig.channel.correct(shrunk, post, "stormhub-fix-2")
    assert grown.ids[0] == receipt.remote_id and len(grown.ids) == len(post.parts)
    assert len(rig.sim.describe()) == len(post.parts)


def test_delete_removes_every_part_and_is_idempotent(rig: Rig, hub: Hub) -> None:
    receipt = rig.channel.publish(long_post(rig, hub), "stormhub-del")
    rig.channel.delete(receipt)
    assert rig.sim.describe() == []
    rig.channel.delete(receipt)  # 404s: already gone


def test_a_retraction_deletes_the_whole_thread(rig: Rig, hub: Hub) -> None:
    receipt = rig.channel.publish(long_post(rig, hub), "stormhub-retract")
    assert rig.channel.retract(receipt, hub.update("long"), "stormhub-r") == receipt
    assert rig.sim.describe() == []
    rig.channel.retract(receipt, hub.update("long"), "stormhub-r")  # a rerun is harmless


def test_find_recovers_a_thread_by_its_permalink(rig: Rig, hub: Hub) -> None:
    post = long_post(rig, hub)
    rig.channel.publish(short(rig, hub), "stormhub-other")
    receipt = rig.channel.publish(post, "stormhub-find")
    rig.channel.publish(replace(short(rig, hub), parts=("unrelated",)), "stormhub-later")
    fresh = make_channel(rig.config, rig.channel.hub)
    try:
        assert fresh.find(post) == receipt
        gets = [r.path for r in rig.sim.received if r.method == "GET"]
        assert gets[:2] == [
            "/api/v1/accounts/verify_credentials",
            f"/api/v1/accounts/{rig.sim.account_id}/statuses",
        ]
        rig.channel.delete(receipt)
        assert fresh.find(post) is None
    finally:
        fresh.close()


# --- the instance's limit ----------------------------------------------------------------


def test_over_the_limit_is_a_permanent_422(rig: Rig, hub: Hub) -> None:
    post = replace(short(rig, hub), parts=("x" * 501,))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-long")
    error = caught.value
    assert not error.transient and error.status == 422
    assert "Validation failed: Text character limit of 500 exceeded" in str(error)
    assert rig.live() == []


def test_the_limit_counts_urls_as_23_like_mastodon(rig: Rig, hub: Hub) -> None:
    url = "https://hub.example.org/updates/" + "a" * 80
    text = "x" * 476 + " " + url  # 476 + 1 + 23 = 500
    assert rig.channel.length(text) == 500 < len(text)
    rig.channel.publish(replace(short(rig, hub), parts=(text,)), "stormhub-url")
    with pytest.raises(PublishError):
        rig.channel.publish(replace(short(rig, hub), parts=("y" + text,)), "stormhub-url2")


# --- rate limits and other errors ----------------------------------------------------------


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_x_ratelimit_reset_is_honoured_when_there_is_no_retry_after(rig: Rig, hub: Hub) -> None:
    reset = _iso(time.time() + 30)
    rig.sim.inject(
        status(429, {"error": "Too many requests"}, **{"X-RateLimit-Reset": reset})
    )  # fmt: skip
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-rl")
    error = caught.value
    assert error.transient and error.status == 429
    assert error.retry_after == pytest.approx(30, abs=2)


def test_retry_after_wins_over_x_ratelimit_reset(rig: Rig, hub: Hub) -> None:
    headers = {"Retry-After": "5", "X-RateLimit-Reset": _iso(time.time() + 60)}
    rig.sim.inject(status(429, {"error": "Too many requests"}, **headers))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-rl")
    assert caught.value.retry_after == 5.0


def test_the_simulated_instance_limits_requests_per_window(rig: Rig, hub: Hub) -> None:
    rig.sim.rate_limit, rig.sim.rate_period = 2, 60
    rig.channel.publish(short(rig, hub), "stormhub-1")
    rig.channel.publish(replace(short(rig, hub), parts=("two",)), "stormhub-2")
    assert rig.sim.received[-1].headers["authorization"] == f"Bearer {TOKEN}"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(short(rig, hub), parts=("three",)), "stormhub-3")
    error = caught.value
    assert error.status == 429 and error.retry_after is not None
    assert 0 <= error.retry_after <= 61
    assert len(rig.live()) == 2


def test_503_with_retry_after_is_transient(rig: Rig, hub: Hub) -> None:
    rig.sim.inject(status(503, {"error": "busy"}, **{"Retry-After": "12"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-503")
    assert caught.value.transient and caught.value.status == 503
    assert caught.value.retry_after == 12.0


def test_an_unreadable_rate_limit_header_does_not_fail_a_made_post(rig: Rig, hub: Hub) -> None:
    made = rig.channel.publish(short(rig, hub), "stormhub-ok")
    entity = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                f"{rig.sim.url}/api/v1/statuses/{made.remote_id}",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ),
            timeout=5,
        ).read()
    )
    rig.sim.inject(status(200, entity, **{"X-RateLimit-Reset": "in a while"}))
    assert rig.channel.publish(short(rig, hub), "stormhub-ok") == made


def test_retry_after_reads_the_servers_clock_and_both_reset_formats() -> None:
    headers = {"date": "Sat, 28 Nov 2026 23:00:00 GMT"}
    assert (
        retry_after_seconds(
            {**headers, "x-ratelimit-reset": "2026-11-28T23:00:42.000000Z"}, "x-ratelimit-reset"
        )
        == 42
    )
    epoch = dt.datetime(2026, 11, 28, 23, 1, tzinfo=dt.UTC).timestamp()
    assert (
        retry_after_seconds({**headers, "x-ratelimit-reset": str(int(epoch))}, "x-ratelimit-reset")
        == 60
    )
    assert (
        retry_after_seconds(
            {**headers, "retry-after": "Sat, 28 Nov 2026 23:00:09 GMT"}, "x-ratelimit-reset"
        )
        == 9
    )
    assert (
        retry_after_seconds(
            {**headers, "x-ratelimit-reset": "2026-11-28T22:00:00Z"}, "x-ratelimit-reset"
        )
        == 0
    )
    assert retry_after_seconds(headers, "x-ratelimit-reset") is None


FAULTS = {
    "401": status(401, {"error": "The access token is invalid"}),
    "403": status(403, {"error": "This action is outside the authorized scopes"}),
    "404": status(404, {"error": "Record not found"}),
    "422": status(422, {"error": "Validation failed: Text can't be blank"}),
    "429": status(429, {"error": "Too many requests"}),
    "500": status(500, {"error": "boom"}),
    "html-200": Fault("status", status=200, body=b"<html>proxy</html>"),
    "timeout": Fault("timeout", seconds=2.0),
    "drop": Fault("drop"),
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_token_never_appears_in_errors(rig: Rig, hub: Hub, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-err")
    error = caught.value
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert isinstance(error.__cause__, MastodonError)  # the cause is kept


def test_a_rejected_token_says_what_to_do_without_saying_the_token(rig: Rig, hub: Hub) -> None:
    rig.sim.token = "another-token"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-401")
    error = caught.value
    assert error.status == 401 and not error.transient
    message = str(error)
    assert "Mastodon rejected the credentials" in message
    assert "The access token is invalid" in message
    assert "Preferences > Development" in message and "MASTODON_ACCESS_TOKEN" in message
    assert TOKEN not in message
    rig.sim.token = TOKEN
    rig.sim.inject(FAULTS["403"])
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig, hub), "stormhub-403")
    assert "write:statuses" in str(caught.value)


# --- the simulator on the wire ---------------------------------------------------------------


def _call(
    sim: MastodonSim, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        sim.url + path, data=body, method=method, headers=headers
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = (exc.code, dict(exc.headers), json.loads(exc.read()))
        exc.close()
        return answer


def test_the_simulator_speaks_mastodon() -> None:
    sim = MastodonSim(token=TOKEN)
    with Simulator([sim]):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        code, _, body = _call(sim, "POST", "/api/v1/statuses", b"status=hi")
        assert (code, body) == (401, {"error": "The access token is invalid"})
        code, headers, body = _call(
            sim,
            "POST",
            "/api/v1/statuses",
            json.dumps({"status": "Hello #storm https://ready.gov"}).encode(),
            **auth,
            **{"Content-Type": "application/json", "Idempotency-Key": "k"},
        )
        assert code == 200 and isinstance(body["id"], str)
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(headers)
        assert body["content"].startswith('<p>Hello <a href="http://127.0.0.1:')
        assert 'href="https://ready.gov"' in body["content"]
        assert body["account"]["username"] == "stormhub" and body["edited_at"] is None
        again = _call(
            sim, "POST", "/api/v1/statuses", b"status=other", **auth, **{"Idempotency-Key": "k"}
        )
        assert again[2]["id"] == body["id"]
        code, _, reply = _call(
            sim,
            "POST",
            "/api/v1/statuses",
            f"status=r&in_reply_to_id={body['id']}".encode(),
            **auth,
        )
        assert reply["in_reply_to_id"] == body["id"]
        code, _, missing = _call(
            sim, "POST", "/api/v1/statuses", b"status=r&in_reply_to_id=1", **auth
        )
        assert code == 404 and "does not appear to exist" in missing["error"]
        code, _, edited = _call(sim, "PUT", f"/api/v1/statuses/{body['id']}", b"status=Hi!", **auth)
        assert edited["content"] == "<p>Hi!</p>" and edited["edited_at"]
        code, _, gone = _call(sim, "DELETE", f"/api/v1/statuses/{body['id']}", **auth)
        assert gone["text"] == "Hi!" and "content" not in gone
        assert sim.describe() == ["r"]
        code, headers, page = _call(
            sim, "GET", f"/api/v1/accounts/{sim.account_id}/statuses?limit=1", **auth
        )
        assert [s["id"] for s in page] == [reply["id"]] and 'rel="next"' in headers["Link"]
        code, _, instance = _call(sim, "GET", "/api/v2/instance", **auth)
        assert instance["configuration"]["statuses"]["max_characters"] == 500


# --- through the fan-out --------------------------------------------------------------------


def test_fanout_delivers_each_update_once_and_recovers_a_crash(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = MastodonSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        # A crash: the platform took the first update, the ledger never heard of it.
        first = hub.updates[-1]
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed: Receipt = channel.publish(
            channel.render(first), delivery_key(first.id, config.name, "post")
        )
        channel.close()

        def fanout() -> Any:
            return Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()

        report = fanout()
        assert not report.failed
        assert sorted(o.update_id for o in report.outcomes) == sorted(u.id for u in hub.updates)
        parts = sum(len(channel.render(u).parts) for u in hub.updates)
        assert len(sim.describe()) == parts
        assert crashed.url in {o.url for o in report.outcomes}
        assert fanout().outcomes == []
        assert len(sim.describe()) == parts


# --- images ----------------------------------------------------------------------------------


@pytest.fixture
def pictured(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    """A hub whose one long update has an image, and the channel on a fresh instance."""
    root = make_hub({"content/updates/flood.md": IMAGE_UPDATE})
    (root / "content/images").mkdir(parents=True, exist_ok=True)
    (root / "content/images/x.png").write_bytes(PNG)
    hub = load_hub(root)
    sim = MastodonSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
        channel = make_channel(config, hub)
        assert isinstance(channel, MastodonChannel)
        try:
            yield Rig(channel, sim, config)
        finally:
            channel.close()


def flood(rig: Rig) -> Post:
    post = rig.channel.render(rig.channel.hub.update("flood"))
    assert len(post.parts) > 1 and post.image_file is not None
    return post


def uploads(rig: Rig) -> list[Any]:
    return [r for r in rig.sim.received if r.method == "POST" and r.path == "/api/v2/media"]


def without_image(post: Post) -> Post:
    return replace(post, image=None, image_file=None, alt=None)


def test_the_image_is_uploaded_with_its_alt_text_and_goes_with_the_first_post(
    pictured: Rig,
) -> None:
    post = flood(pictured)
    assert post.image == "https://hub.example.org/images/x.png" and post.alt == ALT
    receipt = pictured.channel.publish(post, "stormhub-img")
    [media] = pictured.sim.media.values()
    assert media.data == PNG and media.description == ALT
    assert media.content_type == "image/png" and media.size == (1, 1)
    first, *rest = (pictured.sim.statuses[i] for i in receipt.ids)
    assert first.media_ids == [media.id] and media.status_id == first.id
    assert rest and all(s.media_ids == [] for s in rest)
    # On the wire: one multipart upload to v2, before the first status, which names it.
    [upload] = uploads(pictured)
    fields = multipart(upload)
    assert fields["file"][0] == PNG and fields["file"][2] == "image/png"
    assert fields["description"][0].decode() == ALT
    paths = [(r.method, r.path) for r in pictured.sim.received]
    assert paths[:2] == [("POST", "/api/v2/media"), ("POST", "/api/v1/statuses")]
    assert not any("/instance" in path for _, path in paths)  # no version probe
    statuses = [r for r in pictured.posts() if r.path == "/api/v1/statuses"]
    assert statuses[0].form["media_ids[]"] == [media.id]
    assert all("media_ids[]" not in r.form for r in statuses[1:])
    # The status as the API shows it, and as the drill shows it.
    _, _, entity = _call(
        pictured.sim,
        "GET",
        f"/api/v1/statuses/{receipt.remote_id}",
        Authorization=f"Bearer {TOKEN}",
    )
    [attachment] = entity["media_attachments"]
    assert attachment["id"] == media.id and attachment["type"] == "image"
    assert attachment["description"] == ALT and attachment["blurhash"]
    assert attachment["meta"]["original"] == {"width": 1, "height": 1, "size": "1x1", "aspect": 1.0}
    with urllib.request.urlopen(attachment["url"], timeout=5) as response:
        assert response.read() == PNG
    lines = pictured.sim.describe()
    assert lines[0] == f"WARNING: Harbor Road flooded [image: {ALT}]"
    assert all("[image" not in line for line in lines[1:])


def test_an_edit_keeps_the_image_and_its_description_follows_the_alt_text(
    pictured: Rig,
) -> None:
    post = flood(pictured)
    receipt = pictured.channel.publish(post, "stormhub-img")
    [media] = pictured.sim.media.values()
    fixed = replace(post, parts=tuple(p.replace("Lincoln", "Roosevelt") for p in post.parts))
    assert pictured.channel.edit(receipt, fixed) == receipt
    first = pictured.sim.statuses[receipt.remote_id]
    assert first.edited_at is not None and "Roosevelt" in first.text
    assert first.media_ids == [media.id] and media.description == ALT
    put = next(r for r in pictured.sim.received if r.method == "PUT")
    assert put.form["media_ids[]"] == [media.id]  # sent again: without it, Mastodon drops it
    # A new alt text: the same attachment, its description changed (media_attributes).
    retold = replace(fixed, alt="Harbor Road under a metre of water")
    pictured.channel.edit(receipt, retold)
    assert first.media_ids == [media.id] and media.description == retold.alt
    put = [r for r in pictured.sim.received if r.method == "PUT"][-len(post.parts)]
    assert put.json["media_attributes"] == [{"id": media.id, "description": retold.alt}]
    assert len(uploads(pictured)) == 1  # nothing uploaded again
    assert pictured.sim.describe()[0].endswith(f"[image: {retold.alt}]")
    # The update without its image: the edit leaves the status without media.
    pictured.channel.edit(receipt, without_image(retold))
    assert first.media_ids == [] and "[image" not in pictured.sim.describe()[0]


def test_a_correction_that_adds_the_image_uploads_and_attaches_it(pictured: Rig) -> None:
    post = flood(pictured)
    receipt = pictured.channel.publish(without_image(post), "stormhub-plain")
    assert uploads(pictured) == [] and pictured.sim.media == {}
    assert pictured.channel.correct(receipt, post, "stormhub-fix") == receipt
    [media] = pictured.sim.media.values()
    assert pictured.sim.statuses[receipt.remote_id].media_ids == [media.id]
    assert media.description == ALT


def test_an_upload_still_processing_is_polled_until_it_has_a_url(pictured: Rig) -> None:
    pictured.sim.processing_seconds = 0.3
    receipt = pictured.channel.publish(flood(pictured), "stormhub-slow")
    [media] = pictured.sim.media.values()
    polls = [r for r in pictured.sim.received if r.path == f"/api/v1/media/{media.id}"]
    assert polls and all(r.method == "GET" for r in polls)
    assert pictured.sim.statuses[receipt.remote_id].media_ids == [media.id]


def test_processing_past_the_timeout_is_transient_and_the_retry_reuses_the_upload(
    pictured: Rig,
) -> None:
    start = time.time()
    pictured.sim.clock = lambda: start
    pictured.sim.processing_seconds = 60
    post = flood(pictured)
    began = time.monotonic()
    with pytest.raises(PublishError) as caught:
        pictured.channel.publish(post, "stormhub-wait")
    assert caught.value.transient and "still processing" in str(caught.value)
    assert time.monotonic() - began < pictured.config.timeout + 1
    assert pictured.live() == []
    pictured.sim.clock = lambda: start + 61
    receipt = pictured.channel.publish(post, "stormhub-wait")
    [media] = pictured.sim.media.values()  # polled again, not uploaded again
    assert len(uploads(pictured)) == 1
    assert pictured.sim.statuses[receipt.remote_id].media_ids == [media.id]


def test_an_attachment_the_instance_has_not_finished_is_a_transient_422(pictured: Rig) -> None:
    pictured.sim.inject(Fault("delay"), status(422, {"error": NOT_READY}))  # upload; status
    with pytest.raises(PublishError) as caught:
        pictured.channel.publish(flood(pictured), "stormhub-early")
    assert caught.value.transient and caught.value.status == 422
    assert caught.value.retry_after == 5.0
    receipt = pictured.channel.publish(flood(pictured), "stormhub-early")
    assert len(uploads(pictured)) == 1  # the retry attaches the same upload
    [media] = pictured.sim.media.values()
    assert pictured.sim.statuses[receipt.remote_id].media_ids == [media.id]


def test_a_retry_in_the_same_run_attaches_the_same_upload(pictured: Rig) -> None:
    post = flood(pictured)
    # The upload and the first part are made; the answer for the second part is lost.
    pictured.sim.inject(Fault("delay"), Fault("delay"), Fault("drop"))
    with pytest.raises(PublishError) as caught:
        pictured.channel.publish(post, "stormhub-lost")
    assert caught.value.transient
    receipt = pictured.channel.publish(post, "stormhub-lost")
    assert len(uploads(pictured)) == 1 and len(pictured.live()) == len(post.parts)
    [media] = pictured.sim.media.values()
    assert pictured.sim.statuses[receipt.remote_id].media_ids == [media.id]


def test_a_rerun_after_a_crash_posts_once_and_leaves_one_unattached_upload(
    pictured: Rig,
) -> None:
    post = flood(pictured)
    receipt = pictured.channel.publish(post, "stormhub-crash")
    fresh = make_channel(pictured.config, pictured.channel.hub)  # a new process
    try:
        assert fresh.publish(post, "stormhub-crash") == receipt
    finally:
        fresh.close()
    assert len(pictured.live()) == len(post.parts)
    attached, spare = sorted(pictured.sim.media.values(), key=lambda m: m.status_id is None)
    assert attached.status_id == receipt.remote_id and spare.status_id is None
    assert pictured.sim.statuses[receipt.remote_id].media_ids == [attached.id]


def test_a_missing_image_file_fails_before_anything_is_sent(pictured: Rig) -> None:
    post = replace(flood(pictured), image_file="/nonexistent/x.png")
    with pytest.raises(PublishError) as caught:
        pictured.channel.publish(post, "stormhub-gone")
    assert not caught.value.transient and "/nonexistent/x.png" in str(caught.value)
    assert pictured.sim.received == []


def test_a_long_alt_text_is_cut_at_a_word_to_mastodons_1500_characters(pictured: Rig) -> None:
    assert MAX_DESCRIPTION == 1500
    assert alt_text(ALT) == ALT and alt_text(None) is None
    exact = "x" * 1500
    assert alt_text(exact) == exact
    words = " ".join(f"word{n}" for n in range(400))  # about 2,700 characters
    cut = alt_text(words)
    assert cut is not None and len(cut) <= 1500 and cut.endswith("…")
    assert words.startswith(cut[:-1]) and cut[:-1].rsplit(" ", 1)[-1] in words.split()
    pictured.channel.publish(replace(flood(pictured), alt=words), "stormhub-alt")
    [media] = pictured.sim.media.values()
    assert media.description == cut


def _form(fields: dict[str, tuple[str, bytes, str | None]]) -> tuple[bytes, str]:
    """A multipart/form-data body: name -> (file name or "", content, content type)."""
    boundary = "stormhub-test-boundary"
    body = b""
    for name, (filename, content, kind) in fields.items():
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if kind:
            head += f"Content-Type: {kind}\r\n"
        body += head.encode() + b"\r\n" + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_the_simulator_speaks_mastodon_media() -> None:
    sim = MastodonSim(token=TOKEN)
    # A fixed clock 100 s into a 30-minute rate-limit window, so the window cannot
    # roll over between the uploads below (it would with the wall clock near :00/:30).
    start = 1_800_000_000.0 + 100
    sim.clock = lambda: start
    with Simulator([sim]):
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def upload(description: str, data: bytes = PNG, kind: str = "image/png") -> Any:
            body, content_type = _form(
                {"file": ("x.png", data, kind), "description": ("", description.encode(), None)}
            )
            return _call(
                sim, "POST", "/api/v2/media", body, **auth, **{"Content-Type": content_type}
            )

        code, _, media = upload("a flooded road")
        assert code == 200 and isinstance(media["id"], str) and media["url"].endswith(".png")
        assert media["description"] == "a flooded road" and media["type"] == "image"
        code, _, again = _call(sim, "GET", f"/api/v1/media/{media['id']}", **auth)
        assert (code, again["id"]) == (200, media["id"])
        code, _, changed = _call(
            sim, "PUT", f"/api/v1/media/{media['id']}", b"description=a road", **auth
        )
        assert (code, changed["description"]) == (200, "a road")
        code, _, error = upload("x" * 1501)
        assert code == 422
        assert error["error"] == (
            "Validation failed: Description is too long (maximum is 1500 characters)"
        )
        code, _, error = upload("text", b"hello", "text/plain")
        assert code == 422 and "content type is invalid" in error["error"]
        code, _, error = upload("broken", b"not a png", "image/png")
        assert (code, error["error"]) == (422, "File type of uploaded media could not be verified")
        # Attaching: unknown ids are refused in Mastodon's words; attached media is no
        # longer found by /api/v1/media/:id, nor attachable to another status.
        code, _, error = _call(
            sim, "POST", "/api/v1/statuses", b"status=x&media_ids[]=12345", **auth
        )
        assert (code, error["error"]) == (
            422,
            "Media 12345 not found or already attached to another post",
        )
        ids = f"media_ids[]={media['id']}".encode()
        code, _, made = _call(sim, "POST", "/api/v1/statuses", b"status=&" + ids, **auth)
        assert code == 200 and [m["id"] for m in made["media_attachments"]] == [media["id"]]
        assert _call(sim, "GET", f"/api/v1/media/{media['id']}", **auth)[0] == 404
        code, _, error = _call(sim, "POST", "/api/v1/statuses", b"status=y&" + ids, **auth)
        assert code == 422 and error["error"].startswith(f"Media {media['id']} not found")
        # An edit that names the media keeps it; one that does not, drops it.
        path = f"/api/v1/statuses/{made['id']}"
        code, _, kept = _call(sim, "PUT", path, b"status=edited&" + ids, **auth)
        assert [m["id"] for m in kept["media_attachments"]] == [media["id"]]
        code, _, dropped = _call(sim, "PUT", path, b"status=edited again", **auth)
        assert dropped["media_attachments"] == []
        # With processing: 202 and no url, 206 while processing, then 200 with the url.
        sim.processing_seconds = 10
        code, _, slow = upload("later")
        assert (code, slow["url"]) == (202, None)
        code, _, still = _call(sim, "GET", f"/api/v1/media/{slow['id']}", **auth)
        assert (code, still["url"]) == (206, None)
        slow_ids = f"media_ids[]={slow['id']}".encode()
        code, _, error = _call(sim, "POST", "/api/v1/statuses", b"status=z&" + slow_ids, **auth)
        assert (code, error["error"]) == (422, NOT_READY)
        sim.clock = lambda: start + 11
        code, _, ready = _call(sim, "GET", f"/api/v1/media/{slow['id']}", **auth)
        assert code == 200 and ready["url"]
        # Rack::Attack's throttle_api_media.
        sim.media_rate_limit = sim._media_window[1]
        code, _, error = upload("one too many")
        assert (code, error) == (429, {"error": "Too many requests"})
