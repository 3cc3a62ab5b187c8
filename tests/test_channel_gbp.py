"""The ``gbp`` channel against the loopback Google Business Profile simulator."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hub.authoring import mark_retracted
from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.gbp import PHONE_NOTE, GbpChannel, closed_days
from hub.content import load_hub
from hub.fanout import Fanout, Outcome, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Closure, Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault, Received
from hub.simulator.gbp import GbpSim, _Location
from tests.channels.gbp import ACCOUNT, LOCATIONS, make
from tests.conftest import NOW, ROOT, HubFactory

CLIENT_ID = "1234-client.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-SECRET-client-77"
REFRESH = "1//REFRESH-secret-token-99"
SECRETS = (CLIENT_SECRET, REFRESH)
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
EAST, SOUTH = LOCATIONS["eastside-clinic"], LOCATIONS["southpoint-urgent-care"]
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
LONG = " ".join(f"Sentence {n} about the shelter at Lincoln High School. 🌀" for n in range(80))
PHONES = "Call the Nurse Advice Line at (757) 555-0142 or +1 757 555 0161. In danger, call 911."
# A 1x1 PNG (as in test_build).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class Rig:
    channel: GbpChannel
    sim: GbpSim
    hub: Hub

    def api(self, method: str | None = None, suffix: str = "") -> list[Received]:
        return [
            r
            for r in self.sim.received
            if r.path != "/token" and (method is None or r.method == method)
            and r.path.endswith(suffix)
        ]  # fmt: skip

    def tokens(self) -> list[Received]:
        return [r for r in self.sim.received if r.path == "/token"]


def new_sim() -> GbpSim:
    sim = GbpSim(
        locations={EAST: "Eastside Clinic", SOUTH: "Southpoint Urgent Care"},
        account_id=ACCOUNT,
        token=REFRESH,
    )
    sim.client_id, sim.client_secret = CLIENT_ID, CLIENT_SECRET
    return sim


def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GBP_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GBP_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GBP_REFRESH_TOKEN", REFRESH)


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    root = make_hub(
        {
            "content/updates/long.md": UPDATE.format(
                time="08:00", title="Shelters open", severity="warning", body=LONG
            ),
            "content/updates/phones.md": UPDATE.format(
                time="09:00", title="Nurse line", severity="info", body=PHONES
            ),
        }
    )
    return load_hub(root)


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        env(monkeypatch)
        channel = make_channel(config, hub)
        assert isinstance(channel, GbpChannel)
        try:
            yield Rig(channel, sim, hub)
        finally:
            channel.close()


def short(rig: Rig) -> Post:
    return rig.channel.render(rig.hub.update("2026-11-27-0615-ed-open"))


def fails(rig: Rig, post: Post, key: str = "stormhub-k") -> PublishError:
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, key)
    message = str(caught.value)
    assert not any(secret in message for secret in SECRETS)
    assert not any(token in message for token in rig.sim.access)
    return caught.value


def google(code: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return code, {"Content-Type": "application/json"}, json.dumps(body).encode()


UNAVAILABLE = google(
    503, {"error": {"code": 503, "message": "The service is currently unavailable.",
                    "status": "UNAVAILABLE"}}
)  # fmt: skip


def answer_at(
    rig: Rig | GbpSim,
    which: Callable[[Received], bool],
    answer: tuple[int, dict[str, str], bytes] | None = None,
    *,
    times: int = 1,
    lose_after: float = 0.0,
) -> list[float]:
    """The next *times* requests *which* picks get *answer* instead of the platform's.

    The requests' parallel paths make the simulator's fault queue (by arrival order) no
    way to aim a fault at one location. With *lose_after*, the platform acts and then
    answers only after that many seconds, past the client's timeout: a lost answer.
    Returns the times those requests arrived.
    """
    sim = rig.sim if isinstance(rig, Rig) else rig
    original = sim.handle
    seen: list[float] = []

    def handle(request: Received) -> Any:
        with sim.lock:
            picked = len(seen) < times and which(request)
            if picked:
                seen.append(time.monotonic())
        if not picked:
            return original(request)
        if lose_after:
            done = original(request)
            time.sleep(lose_after)
            return done
        return answer

    sim.handle = handle  # type: ignore[method-assign]
    return seen


# --- construction and rendering ---------------------------------------------------------


def test_constructing_and_rendering_need_no_credentials_or_network(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        for name in ("GBP_CLIENT_ID", "GBP_CLIENT_SECRET", "GBP_REFRESH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        channel = make_channel(config, hub)
        posts = [channel.render(u) for u in hub.updates]
        assert sim.received == []
        with pytest.raises(PublishError) as caught:
            channel.publish(posts[0], "stormhub-k")
        assert "GBP_CLIENT_ID not set" in str(caught.value) and caught.value.fatal
        assert sim.received == []
        channel.close()


def test_capabilities_and_length_count_utf16_units(hub: Hub) -> None:
    config, _ = make("https://gbp.example", Path("."))
    channel = GbpChannel(config, hub)
    assert channel.limit == 1500 and channel.type == "gbp"
    assert channel.supports_edit and channel.supports_delete and channel.can_find
    assert channel.takes_images and not channel.supports_threads and not channel.idempotent
    assert channel.length("abc") == 3
    assert channel.length("🌀") == 2 and channel.length("👩‍⚕️") == 5  # not one grapheme


def test_a_long_update_is_cut_to_1500_with_the_permalink_and_emoji_intact(rig: Rig) -> None:
    post = rig.channel.render(rig.hub.update("long"))
    assert len(post.parts) == 1 and post.lengths[0] <= 1500
    assert post.text.startswith("WARNING: Shelters open\n\n")
    assert post.text.endswith(f"…\n\n{post.link}")
    assert "\ufffd" not in post.text.encode("utf-16-le").decode("utf-16-le")
    assert post.lengths[0] > 1400  # cut near the limit, not far before it


def test_phone_numbers_leave_the_summary_and_short_numbers_stay(rig: Rig) -> None:
    post = rig.channel.render(rig.hub.update("phones"))
    assert "555" not in post.text and "757" not in post.text
    assert post.text.count(PHONE_NOTE) == 2 and "call 911." in post.text
    assert post.link in post.text
    receipt = rig.channel.publish(post, "stormhub-phones")
    assert {p.state for p in rig.sim.posts.values()} == {"LIVE"}
    assert len(receipt.ids) == 2


def test_every_sample_update_fits_and_none_keeps_a_phone_number() -> None:
    sample = load_hub(ROOT)
    config, _ = make("https://gbp.example", Path("."))
    channel = GbpChannel(config, sample)
    sim = GbpSim()
    for update in sample.updates:
        post = channel.render(update)
        assert post.lengths[0] <= 1500 and post.link in post.text
        assert sim._state({"summary": post.text}) == "LIVE", update.id


# --- the requests on the wire -------------------------------------------------------------


def test_publish_sends_google_s_requests_and_posts_at_every_location(rig: Rig) -> None:
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-one")
    (token,) = rig.tokens()
    assert token.method == "POST"
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.form == {
        "grant_type": ["refresh_token"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "refresh_token": [REFRESH],
    }
    # A first try: no lookup, the locations at once (in whichever order they arrive).
    calls = sorted((r.method, r.path) for r in rig.api())
    base = f"/v4/accounts/{ACCOUNT}/locations"
    assert calls == [
        ("POST", f"{base}/{EAST}/localPosts"),
        ("POST", f"{base}/{SOUTH}/localPosts"),
    ]
    create = next(r for r in rig.api() if EAST in r.path)
    access = create.headers["authorization"].removeprefix("Bearer ")
    assert access in rig.sim.access
    assert create.headers["content-type"] == "application/json"
    assert create.json == {
        "languageCode": "en-US",
        "summary": post.text,
        "topicType": "STANDARD",
        "callToAction": {"actionType": "LEARN_MORE", "url": post.link},
    }
    names = {p.location: p.name for p in rig.sim.live()}
    assert receipt.ids == (names[EAST], names[SOUTH]) and receipt.remote_id == names[EAST]
    assert names[EAST].startswith(f"accounts/{ACCOUNT}/locations/{EAST}/localPosts/")
    assert (
        receipt.url
        == f"https://local.google.com/place?id={EAST}&use=posts&lpsid="
        + (names[EAST].rsplit("/", 1)[1])
    )
    lines = rig.sim.describe()
    assert f"locations/{EAST}: WARNING: Emergency Department open" in {
        line[: len(f"locations/{EAST}: WARNING: Emergency Department open")] for line in lines
    }


def test_an_image_goes_as_a_photo_by_its_public_url(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub(
        {
            "content/updates/flood.md": "---\ntime: 2026-11-27 09:00\ntitle: Harbor Road "
            "flooded\nseverity: warning\nimage: images/x.png\nalt: Water on Harbor Road\n"
            "---\nAvoid Harbor Road.\n"
        }
    )
    (root / "content/images").mkdir(parents=True, exist_ok=True)
    (root / "content/images/x.png").write_bytes(PNG)
    hub = load_hub(root)
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        env(monkeypatch)
        channel = make_channel(config, hub)
        post = channel.render(hub.update("flood"))
        channel.publish(post, "stormhub-img")
        channel.close()
    create = next(r for r in sim.received if r.method == "POST" and r.path != "/token")
    assert create.json["media"] == [
        {"mediaFormat": "PHOTO", "sourceUrl": "https://hub.example.org/images/x.png"}
    ]
    entity = next(iter(sim.posts.values()))
    assert entity.body["media"][0]["sourceUrl"].endswith("/images/x.png")


def test_the_access_token_is_kept_until_it_expires_then_refreshed(rig: Rig) -> None:
    rig.channel.publish(short(rig), "stormhub-a")
    rig.channel.publish(rig.channel.render(rig.hub.update("long")), "stormhub-b")
    assert len(rig.tokens()) == 1
    now = rig.channel.clock()
    rig.channel.clock = lambda: now + 3600  # past expires_in (3599) less a minute
    rig.channel.publish(rig.channel.render(rig.hub.update("phones")), "stormhub-c")
    assert len(rig.tokens()) == 2


def test_a_401_gets_one_new_token_and_one_retry(rig: Rig) -> None:
    rig.channel.publish(short(rig), "stormhub-a")
    rig.sim.access.clear()  # Google ended the access token early
    receipt = rig.channel.publish(rig.channel.render(rig.hub.update("long")), "stormhub-b")
    assert len(rig.tokens()) == 2 and len(receipt.ids) == 2
    statuses = [r.headers.get("authorization", "")[:12] for r in rig.api()]
    assert len(statuses) >= 5 and all(s.startswith("Bearer ya29.") for s in statuses)


# --- errors -------------------------------------------------------------------------------


def test_a_revoked_refresh_token_stops_the_channel_and_names_the_variable(rig: Rig) -> None:
    rig.sim.revoke(REFRESH)
    error = fails(rig, short(rig))
    assert error.fatal and not error.transient and error.status == 400
    message = str(error)
    assert "Google rejected the refresh token" in message
    assert "Token has been expired or revoked." in message and "GBP_REFRESH_TOKEN" in message
    assert rig.api() == []


def test_a_rejected_client_names_the_client_variables(rig: Rig) -> None:
    rig.sim.client_secret = "another"
    error = fails(rig, short(rig))
    assert error.fatal and error.status == 401
    assert "credentials" in str(error) and "invalid_client" in str(error)
    assert "GBP_CLIENT_ID and GBP_CLIENT_SECRET" in str(error)


def test_a_token_without_the_business_manage_scope_is_refused_before_posting(rig: Rig) -> None:
    rig.sim.scope = "https://www.googleapis.com/auth/userinfo.email"
    error = fails(rig, short(rig))
    assert error.fatal and "business.manage" in str(error) and "GBP_REFRESH_TOKEN" in str(error)
    assert rig.api() == []


def test_401_even_with_a_new_token_is_fatal(rig: Rig) -> None:
    body = {"error": {"code": 401, "message": "Request had invalid authentication "
                      "credentials.", "status": "UNAUTHENTICATED"}}  # fmt: skip
    rig.channel.publish(short(rig), "stormhub-a")  # a cached token
    before = len(rig.api())
    answer_at(rig, lambda r: r.path != "/token", google(401, body), times=4)
    error = fails(rig, rig.channel.render(rig.hub.update("long")))
    assert error.fatal and error.status == 401 and "GBP_REFRESH_TOKEN" in str(error)
    assert "UNAUTHENTICATED: Request had invalid authentication credentials." in str(error)
    for location in (EAST, SOUTH):  # each tried twice, the retry with a new token
        tried = [r.headers["authorization"] for r in rig.api()[before:] if location in r.path]
        assert len(tried) == 2 and tried[0] != tried[1]
    assert len(rig.tokens()) in (2, 3)  # one new token, shared unless a 401 came after it


def test_403_permission_denied_is_fatal_with_google_s_words(rig: Rig) -> None:
    words = (
        "My Business Business Information API has not been used in project 1 before or it "
        "is disabled."
    )
    body = {"error": {"code": 403, "message": words, "status": "PERMISSION_DENIED",
                      "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                   "reason": "SERVICE_DISABLED", "domain": "googleapis.com"}]}}  # fmt: skip
    rig.channel._access_token()
    answer_at(rig, lambda r: EAST in r.path, google(403, body))
    error = fails(rig, short(rig))
    assert error.fatal and error.status == 403 and not error.transient
    assert words in str(error) and "SERVICE_DISABLED" in str(error)
    assert "GBP_CLIENT_ID" in str(error) and str(error).startswith("eastside-clinic (location")


def test_429_resource_exhausted_is_transient_with_google_s_retry_delay(rig: Rig) -> None:
    rig.channel._access_token()
    quota = {"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}}
    rig.sim.inject(status(429, quota))
    error = fails(rig, short(rig))
    assert error.transient and error.status == 429 and error.retry_after is None
    delayed = json.loads(json.dumps(quota))
    delayed["error"]["details"] = [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
    ]
    rig.sim.inject(status(429, delayed))
    assert fails(rig, short(rig)).retry_after == 30.0
    rig.sim.inject(status(429, quota, **{"Retry-After": "12"}))
    assert fails(rig, short(rig)).retry_after == 12.0


def test_the_simulated_quota_answers_resource_exhausted(rig: Rig) -> None:
    rig.sim.rate_limit = 1
    error = fails(rig, short(rig))
    assert error.transient and "Quota exceeded for quota metric 'Requests'" in str(error)
    assert "RATE_LIMIT_EXCEEDED" in str(error)


def test_a_summary_over_1500_is_a_permanent_400_with_google_s_field(rig: Rig) -> None:
    post = replace(short(rig), parts=("x" * 1501,))
    error = fails(rig, post)
    assert not error.transient and not error.fatal and error.status == 400
    assert "INVALID_ARGUMENT: Request contains an invalid argument." in str(error)
    assert "summary: summary is too long (maximum is 1500 characters)" in str(error)


def test_an_unknown_location_is_a_404_naming_the_location(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        config = config.model_copy(update={"locations": {"harbor-dialysis": "4199"}})
        env(monkeypatch)
        channel = make_channel(config, hub)
        with pytest.raises(PublishError) as caught:
            channel.publish(channel.render(hub.updates[0]), "stormhub-404")
        channel.close()
    message = str(caught.value)
    assert caught.value.status == 404 and not caught.value.transient
    assert message.startswith("harbor-dialysis (location 4199):")
    assert "NOT_FOUND: Requested entity was not found." in message and "locations:" in message


def test_a_post_google_rejects_is_a_permanent_error(rig: Rig) -> None:
    post = replace(short(rig), parts=(f"Call (757) 555-0142.\n\n{short(rig).link}",))
    error = fails(rig, post)
    assert not error.transient and "REJECTED" in str(error)
    assert rig.channel.find(post) is None  # a rejected post does not count as done


@pytest.mark.parametrize(
    "fault",
    [
        status(
            500,
            {
                "error": {
                    "code": 500,
                    "message": "Internal error encountered.",
                    "status": "INTERNAL",
                }
            },
        ),
        Fault("drop"),
        Fault("timeout", seconds=1.5),
    ],
    ids=["500", "drop", "timeout"],
)
def test_no_secret_in_any_error(rig: Rig, fault: Fault) -> None:
    rig.channel._access_token()
    rig.sim.inject(fault)
    error = fails(rig, short(rig))
    assert error.transient


# --- exactly once ---------------------------------------------------------------------------


def test_a_retry_after_a_failure_at_the_second_location_posts_only_there(rig: Rig) -> None:
    post = short(rig)
    calls = 0

    original = rig.sim.handle

    def flaky(request: Received) -> Any:
        nonlocal calls
        if request.method == "POST" and SOUTH in request.path:
            calls += 1
            if calls == 1:
                return 503, {"Content-Type": "application/json"}, json.dumps(
                    {"error": {"code": 503, "message": "The service is currently unavailable.",
                               "status": "UNAVAILABLE"}}).encode()  # fmt: skip
        return original(request)

    rig.sim.handle = flaky  # type: ignore[method-assign]
    error = fails(rig, post, "stormhub-partial")
    assert error.transient and error.status == 503 and "southpoint-urgent-care" in str(error)
    assert len(rig.sim.posts) == 1
    receipt = rig.channel.publish(post, "stormhub-partial")
    assert len(rig.sim.posts) == 2 and len(receipt.ids) == 2
    east_posts = [r for r in rig.api("POST") if EAST in r.path]
    assert len(east_posts) == 1


def test_a_retry_finds_the_posts_instead_of_duplicating(rig: Rig) -> None:
    post = short(rig)
    first = rig.channel.publish(post, "stormhub-x")
    assert rig.api("GET") == []  # a first try does not look
    again = rig.channel.publish(post, "stormhub-x")  # the fan-out's retry: the same key
    assert again.ids == first.ids and len(rig.sim.posts) == 2
    assert again.url == first.url
    listings = rig.api("GET")
    assert sorted(r.path.split("/")[5] for r in listings) == sorted([EAST, SOUTH])
    assert all(r.query == {"pageSize": ["100"]} for r in listings)
    assert len(rig.api("POST")) == 2


def test_find_returns_every_location_s_post_or_remembers_the_ones_it_saw(rig: Rig) -> None:
    post = short(rig)
    assert rig.channel.find(post) is None
    first = rig.channel.publish(post, "stormhub-x")
    found = rig.channel.find(post)
    assert found is not None and found.ids == first.ids and found.url == first.url
    # Only at the first location: find() says no, and publish posts at the second only.
    del rig.sim.posts[first.ids[1]]
    assert rig.channel.find(post) is None
    receipt = rig.channel.publish(post, "stormhub-z")
    assert receipt.remote_id == first.remote_id and len(rig.sim.posts) == 2
    assert rig.channel.find(rig.channel.render(rig.hub.updates[0], retraction=True)) is None


def test_where_find_could_not_look_the_first_try_looks(rig: Rig) -> None:
    post = short(rig)
    first = rig.channel.publish(post, "stormhub-x")
    # The next run after a crash: find() sees the first location's post, then fails.
    later = GbpChannel(rig.channel.config, rig.hub)
    answer_at(rig, lambda r: r.method == "GET" and SOUTH in r.path, UNAVAILABLE)
    with pytest.raises(PublishError) as caught:
        later.find(post)
    assert caught.value.transient and "southpoint-urgent-care" in str(caught.value)
    before = len(rig.api())
    receipt = later.publish(post, "stormhub-x")  # its first try: looks only at Southpoint
    later.close()
    assert receipt.ids == first.ids and receipt.url == first.url and len(rig.sim.posts) == 2
    assert [(r.method, SOUTH in r.path) for r in rig.api()[before:]] == [("GET", True)]


def test_a_superseding_update_looks_before_posting_even_on_a_first_try(rig: Rig) -> None:
    original = rig.channel.publish(short(rig), "stormhub-x")
    # What the fan-out sends for an update that supersedes another: a correction's post,
    # which find() cannot tell from an edit's, so it does not look for it.
    post = rig.channel.render_correction(rig.hub.update("long"))
    made = rig.channel.reply(original, post, "stormhub-sup")
    later = GbpChannel(rig.channel.config, rig.hub)  # the next run, after a crash
    assert later.find(post) is None
    again = later.reply(original, post, "stormhub-sup")
    later.close()
    assert again.ids == made.ids and len(rig.sim.posts) == 4


def test_a_failure_that_stops_the_channel_is_the_one_reported(rig: Rig) -> None:
    rig.channel._access_token()
    answer_at(rig, lambda r: EAST in r.path, UNAVAILABLE)
    body = {"error": {"code": 403, "message": "The caller does not have permission",
                      "status": "PERMISSION_DENIED"}}  # fmt: skip
    answer_at(rig, lambda r: SOUTH in r.path, google(403, body))
    error = fails(rig, short(rig))
    assert error.fatal and str(error).startswith("southpoint-urgent-care (location")


def test_edit_and_delete_every_location_s_post(rig: Rig) -> None:
    update = rig.hub.update("2026-11-27-0615-ed-open")
    receipt = rig.channel.publish(rig.channel.render(update), "stormhub-e")
    fixed = update.model_copy(update={"title": "Emergency Department open again"})
    corrected = rig.channel.render_correction(fixed)
    assert corrected.text.startswith("WARNING: Emergency Department open again")
    edited = rig.channel.edit(receipt, corrected)
    assert edited.ids == receipt.ids and edited.url == receipt.url
    patches = rig.api("PATCH")
    assert sorted(r.path for r in patches) == sorted(f"/v4/{name}" for name in receipt.ids)
    assert patches[0].query == {"updateMask": ["summary,callToAction"]}
    assert patches[0].json == {
        "summary": corrected.text,
        "callToAction": {"actionType": "LEARN_MORE", "url": corrected.link},
    }
    assert all("open again" in line for line in rig.sim.describe())
    rig.channel.delete(receipt)
    assert rig.sim.describe() == []
    rig.channel.delete(receipt)  # already gone: fine
    assert len(rig.api("DELETE")) == 4


# --- in parallel ----------------------------------------------------------------------------

LATENCY = 0.3  # the benchmark's, per request
FIVE = {  # the sample closures name these
    "eastside-clinic": EAST,
    "southpoint-urgent-care": SOUTH,
    "westgate-family-medicine": "4100000000000000004",
    "harbor-dialysis": "4100000000000000005",
    "main-campus-pharmacy": "4100000000000000006",
}
STALE = {"startDate": {"year": 2026, "month": 11, "day": 30}, "closed": True}


def wide(sim: GbpSim, url: str, tmp: Path, locations: dict[str, str] = FIVE) -> Any:
    """The channel's config with *locations*, which the simulator then has too."""
    for location in locations.values():
        sim.locations.setdefault(location, _Location(location, f"Location {location}"))
    config, _ = make(url, tmp)
    return config.but(locations=locations)


def test_a_first_post_is_the_token_and_one_round_of_posts(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = new_sim()
    with Simulator([sim]):
        channel = make_channel(wide(sim, sim.url, tmp_path), hub)
        env(monkeypatch)
        sim.latency = LATENCY
        start = time.monotonic()
        receipt = channel.publish(channel.render(hub.update("long")), "stormhub-fast")
        took = time.monotonic() - start
        channel.close()
    assert [r.method for r in sim.received] == ["POST"] * 6  # the token, five posts
    # Token then the posts at once: 0.6 s; one location after another: 1.8 s.
    assert took < 1.3, took
    where = {p.location: p.name for p in sim.live()}
    assert receipt.ids == tuple(where[location] for location in FIVE.values())


def test_at_most_eight_locations_at_once_and_the_receipt_keeps_config_order(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locations = {f"site-{n:02d}": str(4200000000000000000 + n) for n in range(10)}
    first = locations["site-00"]
    sim = new_sim()
    original = sim.handle
    lock = threading.Lock()
    active, peak = 0, 0

    def handle(request: Received) -> Any:
        nonlocal active, peak
        if request.path == "/token":
            return original(request)
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.6 if first in request.path else 0.2)  # the first location answers last
        with lock:
            active -= 1
        return original(request)

    sim.handle = handle  # type: ignore[method-assign]
    with Simulator([sim]):
        channel = make_channel(wide(sim, sim.url, tmp_path, locations), hub)
        env(monkeypatch)
        receipt = channel.publish(channel.render(hub.update("long")), "stormhub-ten")
        channel.close()
    assert 4 <= peak <= 8  # eight at once, not ten (when the machine keeps up)
    assert sim.live()[-1].location == first  # made last, yet first in the receipt
    where = {p.location: p.name for p in sim.live()}
    assert receipt.ids == tuple(where[location] for location in locations.values())
    assert receipt.remote_id == where[first] and first in (receipt.url or "")


def test_special_hours_are_read_and_written_at_every_location_at_once(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = new_sim()
    with Simulator([sim]):
        channel = make_channel(wide(sim, sim.url, tmp_path), hub)
        assert isinstance(channel, GbpChannel)
        env(monkeypatch)
        for location in FIVE.values():
            sim.locations[location].special = [STALE]  # each location has something to write
        sim.latency = LATENCY
        start = time.monotonic()
        notes = channel.sync_closures(load_hub(ROOT).closures, NOW)
        took = time.monotonic() - start
        channel.close()
    assert [n.text.split(":")[0] for n in notes] == list(FIVE) and all(n.ok for n in notes)
    assert sorted(r.method for r in sim.received) == ["GET"] * 5 + ["PATCH"] * 5 + ["POST"]
    # Token, then each location's GET and PATCH beside the others': 0.9 s; one location
    # after another: 3.3 s.
    assert took < 2.0, took


def test_the_fan_out_posts_beside_the_sync_with_one_token(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = load_hub(make_hub()).model_copy(update={"closures": load_hub(ROOT).closures})
    sim = new_sim()
    with Simulator([sim]):
        config = wide(sim, sim.url, tmp_path)
        env(monkeypatch)
        for location in FIVE.values():
            sim.locations[location].special = [STALE]
        sim.latency = LATENCY
        done: dict[str, float] = {}

        def progress(outcome: Outcome) -> None:
            done.setdefault(outcome.update_id, time.monotonic() - start)

        fanout = Fanout(hub, [config], tmp_path / "ledger.sqlite", policy=FAST,
                        factory=make_channel, now=NOW, progress=progress)  # fmt: skip
        start = time.monotonic()
        report = fanout.run()
    assert not report.failed, report.failed
    assert [o.status for o in report.outcomes] == ["posted"]
    assert len(report.notes) == 5 and len(sim.posts) == 5
    assert len([r for r in sim.received if r.path == "/token"]) == 1  # shared, not one each
    # Token and posts: 0.6 s; the sync (GET, PATCH) runs beside, not before, the posts.
    assert done["2026-11-27-0615-ed-open"] < 1.5, done  # was 3.3 s, one after another
    assert len([r for r in sim.received if r.method == "PATCH"]) == 5


# --- through the fan-out --------------------------------------------------------------------


def test_a_lost_answer_is_retried_without_a_second_post_there(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = load_hub(make_hub())
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        config = config.but(timeout=0.5)
        env(monkeypatch)
        # Google makes Southpoint's post; its answer never arrives (a timeout).
        lost = answer_at(sim, lambda r: r.method == "POST" and SOUTH in r.path, lose_after=0.8)
        ledger = tmp_path / "ledger.sqlite"
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
    assert len(lost) == 1
    assert [o.status for o in report.outcomes] == ["posted"], report.outcomes
    assert sorted(p.location for p in sim.live()) == sorted([EAST, SOUTH])  # one each
    api = [(r.method, EAST if EAST in r.path else SOUTH) for r in sim.received
           if r.path != "/token"]  # fmt: skip
    # The retry looked at Southpoint only (Eastside was done), found the post, made none.
    assert sorted(api) == [("GET", SOUTH), ("POST", EAST), ("POST", SOUTH)]
    with Ledger(ledger) as rows:
        row = rows.get("2026-11-27-0615-ed-open", config.name)
    assert row is not None and row.state == "delivered"
    where = {p.location: p.name for p in sim.live()}
    assert row.remote_ids == (where[EAST], where[SOUTH])


def test_a_failed_delivery_is_found_next_run_and_only_the_missing_location_posted(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = load_hub(make_hub())
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        env(monkeypatch)
        ledger = tmp_path / "ledger.sqlite"
        # Southpoint is down for every attempt of the first run; Eastside takes the post.
        answer_at(sim, lambda r: r.method == "POST" and SOUTH in r.path, UNAVAILABLE,
                  times=FAST.attempts)  # fmt: skip
        first = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
        assert [o.status for o in first.outcomes] == ["failed"]
        assert "southpoint-urgent-care" in (first.outcomes[0].error or "")
        assert [p.location for p in sim.live()] == [EAST]
        sim.received.clear()
        second = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
    assert [o.status for o in second.outcomes] == ["posted"]
    api = [(r.method, EAST if EAST in r.path else SOUTH) for r in sim.received
           if r.path != "/token"]  # fmt: skip
    # find() (find_after_failure) saw Eastside's post; only Southpoint was posted to.
    assert sorted(api) == [("GET", EAST), ("GET", SOUTH), ("POST", SOUTH)]
    assert sorted(p.location for p in sim.live()) == sorted([EAST, SOUTH])
    with Ledger(ledger) as rows:
        row = rows.get("2026-11-27-0615-ed-open", config.name)
    where = {p.location: p.name for p in sim.live()}
    assert row is not None and row.remote_ids == (where[EAST], where[SOUTH])


def test_fanout_posts_corrects_and_retracts_once_and_recovers_a_crash(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "content/updates/a.md": UPDATE.format(
            time="08:00", title="Shelter at Lincoln High", severity="info", body="Open 24/7."
        ),
        "content/updates/b.md": UPDATE.format(
            time="09:00", title="Buses stopped", severity="warning", body="No buses today."
        ),
    }
    root = make_hub(files)
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        env(monkeypatch)
        ledger = tmp_path / "ledger.sqlite"
        hub = load_hub(root)
        # A crash: update a reached Google at both locations, the ledger never heard of it.
        first = hub.update("a")
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed = channel.publish(channel.render(first), delivery_key("a", config.name, "post"))
        channel.close()

        def fanout() -> Any:
            return Fanout(
                load_hub(root), [config], ledger, policy=FAST, factory=make_channel, now=NOW
            ).run()

        report = fanout()
        assert not report.failed
        assert sorted(o.update_id for o in report.outcomes) == ["2026-11-27-0615-ed-open", "a", "b"]
        assert crashed.url in {o.url for o in report.outcomes}
        assert len(sim.posts) == 6  # three updates, two locations
        (root / "content/updates/a.md").write_text(
            UPDATE.format(
                time="08:00", title="Shelter at Roosevelt High", severity="info", body="Open 24/7."
            ),
            encoding="utf-8",
        )
        mark_retracted(root, "b", "Posted in error.", now=NOW)
        second = fanout()
        assert sorted((o.update_id, o.status) for o in second.outcomes) == [
            ("a", "corrected"),
            ("b", "retracted"),
        ]
        lines = sim.describe()
        assert len(lines) == 4 and not any("Buses stopped" in line for line in lines)
        assert sum("Shelter at Roosevelt High" in line for line in lines) == 2
        assert not any("Lincoln" in line for line in lines)
        assert fanout().outcomes == []
        with Ledger(ledger) as rows:
            dumped = json.dumps([list(r) for r in rows.db.execute("SELECT * FROM deliveries")])
        assert not any(secret in dumped for secret in SECRETS)


def test_fanout_stops_the_channel_on_a_revoked_token_without_leaking_it(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = new_sim()
    sim.revoke(REFRESH)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        env(monkeypatch)
        ledger = tmp_path / "ledger.sqlite"
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
    assert len(report.failed) == len(hub.updates)
    assert all(o.fatal or "GBP_REFRESH_TOKEN" in (o.error or "") for o in report.failed)
    assert len([r for r in sim.received if r.path == "/token"]) == 1  # stopped after one
    with Ledger(ledger) as rows:
        dumped = json.dumps([list(r) for r in rows.db.execute("SELECT * FROM deliveries")])
    assert "GBP_REFRESH_TOKEN" in dumped and not any(s in dumped for s in SECRETS)


# --- special hours ----------------------------------------------------------------------------


def closure(**fields: Any) -> Closure:
    return Closure.model_validate({"id": "c", "facility": "Clinic", "status": "closed", **fields})


def test_closed_days_cover_local_middays_from_today() -> None:
    zone = load_hub(ROOT).info.zone
    today = dt.date(2026, 11, 28)
    east = closure(**{"from": "2026-11-26T12:00:00-05:00"})
    days = closed_days(east, zone, today)
    assert days[0] == today and len(days) == 14 and days[-1] == dt.date(2026, 12, 11)
    reopen_at_8 = closure(
        **{"from": "2026-11-27T07:00:00-05:00", "until": "2026-11-30T08:00:00-05:00"}
    )
    assert closed_days(reopen_at_8, zone, today) == [dt.date(2026, 11, 28), dt.date(2026, 11, 29)]
    afternoon = closure(
        **{"from": "2026-11-29T13:00:00-05:00", "until": "2026-11-29T20:00:00-05:00"}
    )
    assert closed_days(afternoon, zone, today) == []
    limited = closure(status="limited", **{"from": "2026-11-28T06:00:00-05:00"})
    assert closed_days(limited, zone, today) == []


def test_sync_closures_writes_closed_days_and_keeps_other_periods(rig: Rig) -> None:
    sample = load_hub(ROOT)
    foreign_open = {
        "startDate": {"year": 2026, "month": 12, "day": 24},
        "openTime": {"hours": 8},
        "closeTime": {"hours": 12},
    }
    past = {"startDate": {"year": 2026, "month": 11, "day": 20}, "closed": True}
    christmas = {"startDate": {"year": 2026, "month": 12, "day": 25}, "closed": True}
    stale = {"startDate": {"year": 2026, "month": 11, "day": 29}, "closed": True}
    rig.sim.locations[EAST].special = [foreign_open, past, christmas]
    rig.sim.locations[SOUTH].special = [stale]
    notes = rig.channel.sync_closures(sample.closures, NOW)
    assert all(note.ok for note in notes)
    assert [note.text for note in notes] == [
        "eastside-clinic: special hours set (closed 14 days, 2026-11-28 to 2026-12-11); "
        "kept 2 other period(s)",
        "southpoint-urgent-care: special hours set (no closed days)",
    ]
    east = rig.sim.locations[EAST].special
    closed = [p for p in east if p.get("closed")]
    assert len(closed) == 15 and christmas in east and foreign_open in east and past not in east
    assert closed[0] == {"startDate": {"year": 2026, "month": 11, "day": 28}, "closed": True}
    assert rig.sim.locations[SOUTH].special == []
    gets = rig.api("GET")
    assert gets[0].path == f"/v1/locations/{EAST}" and gets[0].query == {
        "readMask": ["specialHours"]
    }
    patch = rig.api("PATCH")[0]
    assert patch.query == {"updateMask": ["specialHours"]}
    assert list(patch.json) == ["specialHours"]
    assert any(line.startswith(f"locations/{EAST} special hours: 2026-11-28 closed") for line in
               rig.sim.describe())  # fmt: skip
    # Idempotent by content: the next run reads and writes nothing.
    again = rig.channel.sync_closures(sample.closures, NOW)
    assert (
        again[0].text
        == "eastside-clinic: special hours unchanged (closed 14 days, 2026-11-28 to 2026-12-11)"
    )
    assert len(rig.api("PATCH")) == 2
    # A day later the open-ended closure moves on by a day.
    rig.channel.sync_closures(sample.closures, NOW + dt.timedelta(days=1))
    days = [p["startDate"]["day"] for p in rig.sim.locations[EAST].special if p.get("closed")]
    assert days[0] == 29 and days[-2:] == [12, 25]


def test_sync_closures_reports_a_location_error_and_goes_on(rig: Rig) -> None:
    sample = load_hub(ROOT)
    rig.sim.locations[EAST].regular_hours = False
    notes = rig.channel.sync_closures(sample.closures, NOW)
    assert not notes[0].ok and notes[1].ok
    lines = [note.text for note in notes]
    assert lines[0].startswith(
        "eastside-clinic: special hours not updated: Google Business Profile refused the "
        "request (400 INVALID_ARGUMENT: Request contains an invalid argument."
    )
    assert "SPECIAL_HOURS_SET_WITHOUT_REGULAR_HOURS in special_hours" in lines[0]
    assert lines[1].startswith("southpoint-urgent-care: special hours")
    rig.sim.revoke(REFRESH)
    rig.channel._token = None
    with pytest.raises(PublishError) as caught:
        rig.channel.sync_closures(sample.closures, NOW)
    assert caught.value.fatal and "GBP_REFRESH_TOKEN" in str(caught.value)


# --- the simulator on the wire -----------------------------------------------------------------


def _call(
    sim: GbpSim, method: str, path: str, body: Any = None, form: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, Any]:  # fmt: skip
    headers = {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(sim.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        answer = (exc.code, json.loads(exc.read()))
        exc.close()
        return answer


def test_the_simulator_speaks_google() -> None:
    sim = new_sim()
    with Simulator([sim]):
        grant = {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                 "client_secret": CLIENT_SECRET, "refresh_token": REFRESH}  # fmt: skip
        code, body = _call(sim, "POST", "/token", form={**grant, "refresh_token": "other"})
        assert (code, body) == (
            400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        )  # fmt: skip
        code, body = _call(sim, "POST", "/token", form={**grant, "grant_type": "password"})
        assert body["error"] == "unsupported_grant_type"
        code, body = _call(sim, "POST", "/token", form=grant)
        assert code == 200 and set(body) == {"access_token", "expires_in", "scope", "token_type"}
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
        token = body["access_token"]
        posts = f"/v4/accounts/{ACCOUNT}/locations/{EAST}/localPosts"
        code, body = _call(sim, "GET", posts)
        assert code == 401 and body["error"]["status"] == "UNAUTHENTICATED"
        code, body = _call(sim, "POST", posts, {"summary": "Hi"}, token=token)
        assert code == 400 and body["error"]["details"][0]["errorDetails"][0]["code"] == 2
        post = {"topicType": "STANDARD", "summary": "Open today",
                "callToAction": {"actionType": "LEARN_MORE", "url": "https://hub.example.org/u/"}}  # fmt: skip
        code, made = _call(sim, "POST", posts, post, token=token)
        assert code == 200 and made["state"] == "LIVE" and made["name"].startswith(posts[4:])
        assert made["createTime"].endswith("Z") and "searchUrl" in made
        code, _ = _call(sim, "POST", f"/v4/accounts/{ACCOUNT}/locations/999/localPosts", post,
                        token=token)  # fmt: skip
        assert code == 404
        code, body = _call(sim, "PATCH", f"/v4/{made['name']}", {"summary": "x"}, token=token)
        assert code == 400 and "update_mask" in json.dumps(body)
        code, listed = _call(sim, "GET", posts + "?pageSize=1", token=token)
        assert [p["name"] for p in listed["localPosts"]] == [made["name"]]
        assert "nextPageToken" not in listed
        code, body = _call(sim, "GET", f"/v1/locations/{EAST}", token=token)
        assert code == 400 and body["error"]["details"][0]["fieldViolations"] == [
            {"field": "read_mask", "description": "Field is required"}
        ]
        day = {"year": 2026, "month": 12, "day": 1}
        overlap = {"specialHours": {"specialHourPeriods": [
            {"startDate": day, "closed": True},
            {"startDate": day, "openTime": {"hours": 9}, "closeTime": {"hours": 12}}]}}  # fmt: skip
        code, body = _call(sim, "PATCH", f"/v1/locations/{EAST}?updateMask=specialHours", overlap,
                           token=token)  # fmt: skip
        assert code == 400 and body["error"]["details"][0]["reason"] == "OVERLAPPED_SPECIAL_HOURS"
        code, body = _call(sim, "GET", f"/v1/locations/{EAST}?readMask=specialHours", token=token)
        assert (code, body) == (200, {})
        code, _ = _call(sim, "DELETE", f"/v4/{made['name']}", token=token)
        assert code == 200 and sim.describe() == []


def test_the_default_simulator_takes_any_location_for_the_drill() -> None:
    sim = GbpSim()
    with Simulator([sim]):
        code, body = _call(sim, "POST", "/token", form={
            "grant_type": "refresh_token", "client_id": "drill", "client_secret": "drill",
            "refresh_token": "drill-gbp_refresh_token"})  # fmt: skip
        token = body["access_token"]
        code, _ = _call(sim, "GET", "/v4/accounts/1/locations/42/localPosts", token=token)
        assert code == 200


def test_fanout_syncs_special_hours_once_per_run_even_with_nothing_to_post(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub.model_copy(update={"closures": load_hub(ROOT).closures})  # some name a location
    sim = new_sim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        env(monkeypatch)
        ledger = tmp_path / "ledger.sqlite"
        first = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
        assert not first.failed, first.failed
        assert any(n.startswith(f"{config.name}: eastside-clinic: special hours set") for n in
                   first.notes)  # fmt: skip
        assert any(p.get("closed") for p in sim.locations[EAST].special)
        patches = len([r for r in sim.received if r.method == "PATCH"])
        # Nothing left to post: the channel still runs its sync, which writes nothing new.
        second = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
        assert second.outcomes == []
        assert any("special hours unchanged" in n for n in second.notes)
        assert len([r for r in sim.received if r.method == "PATCH"]) == patches
        # A location Google refuses: a failed outcome naming it, the updates still go out.
        sim.locations[EAST].regular_hours = False
        later = NOW + dt.timedelta(days=1)
        third = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=later).run()
        assert [(o.update_id, o.status) for o in third.outcomes] == [("sync", "failed")]
        assert "eastside-clinic: special hours not updated" in (third.outcomes[0].error or "")
