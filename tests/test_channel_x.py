"""The ``x`` channel through tweepy against the simulated X API (loopback only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.x import XChannel
from hub.content import load_hub
from hub.model import Hub, Update
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.x import XSim
from hub.text import x_length
from tests.channels import x as setup
from tests.conftest import ROOT

LONG = "2026-11-27-0800-morning-status-after-landfall"


@pytest.fixture(scope="module")
def hub() -> Hub:
    return load_hub(ROOT)


@pytest.fixture
def sim() -> Iterator[XSim]:
    platform = XSim()
    env = setup.ENV
    # verify every OAuth 1.0a signature against the fake credentials
    platform.credentials = (
        env["X_API_KEY"],
        env["X_API_SECRET"],
        env["X_ACCESS_TOKEN"],
        env["X_ACCESS_TOKEN_SECRET"],
    )
    with Simulator([platform]):
        yield platform


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in setup.ENV.items():
        monkeypatch.setenv(name, value)
    return dict(setup.ENV)


def connect(sim: XSim, hub: Hub, tmp_path: Path) -> XChannel:
    config, _ = setup.make(sim.url, tmp_path)
    channel = make_channel(config, hub)
    assert isinstance(channel, XChannel)
    return channel


@pytest.fixture
def channel(sim: XSim, hub: Hub, tmp_path: Path, env: dict[str, str]) -> Iterator[XChannel]:
    channel = connect(sim, hub, tmp_path)
    yield channel
    channel.close()


def update(hub: Hub, update_id: str) -> Update:
    return next(u for u in hub.updates if u.id == update_id)


def short(text: str) -> Post:
    """A one-part post, for tests about single requests."""
    link = "https://hub.example.org/updates/test/"
    whole = f"{text}\n\n{link}"
    return Post("test", "r1", (whole,), link, 280, (x_length(whole),))


def test_a_long_update_becomes_a_reply_chain(channel: XChannel, sim: XSim, hub: Hub) -> None:
    post = channel.render(update(hub, LONG))
    assert len(post.parts) >= 3
    assert all(x_length(part) <= 280 for part in post.parts)

    receipt = channel.publish(post, "stormhub-thread")

    assert len(receipt.ids) == len(post.parts)
    assert receipt.remote_id == receipt.ids[0]
    assert receipt.url == f"https://x.com/i/web/status/{receipt.ids[0]}"
    lines = sim.describe()
    assert len(lines) == len(post.parts)
    assert "reply to" not in lines[0]
    for line, previous in zip(lines[1:], receipt.ids, strict=False):
        assert line.endswith(f"reply to {previous}")
    posts = [r for r in sim.received if r.method == "POST"]
    assert [p.json["text"] for p in posts] == list(post.parts)
    assert "reply" not in posts[0].json
    assert [p.json["reply"]["in_reply_to_tweet_id"] for p in posts[1:]] == list(receipt.ids[:-1])
    assert all(r.headers["authorization"].startswith("OAuth ") for r in sim.received)


def test_a_correction_replies_under_the_last_part(channel: XChannel, sim: XSim, hub: Hub) -> None:
    item = update(hub, LONG)
    receipt = channel.publish(channel.render(item), "stormhub-original")
    correction = channel.render_correction(item)
    # one post: a corrected thread would repeat the original's later parts word for
    # word, and X refuses duplicate content
    assert len(correction.parts) == 1
    assert correction.link in correction.text

    fixed = channel.correct(receipt, correction, "stormhub-correction")

    assert sim.tweets[fixed.ids[0]].reply_to == receipt.last_id
    assert sim.tweets[fixed.ids[0]].sent.startswith("Correction: ")


def test_a_retry_continues_a_thread_that_failed_halfway(
    channel: XChannel, sim: XSim, hub: Hub
) -> None:
    post = channel.render(update(hub, LONG))
    sim.inject(Fault("delay", seconds=0.0), status(503, {"title": "Service Unavailable"}))
    with pytest.raises(PublishError) as caught:
        channel.publish(post, "stormhub-halfway")
    assert caught.value.transient
    assert len(sim.tweets) == 1

    receipt = channel.publish(post, "stormhub-halfway")  # no duplicate of part 1

    assert len(receipt.ids) == len(post.parts) == len(sim.tweets)


def test_find_after_a_crash_finds_the_thread_by_its_permalink(
    channel: XChannel, sim: XSim, hub: Hub, tmp_path: Path
) -> None:
    item = update(hub, LONG)
    post = channel.render(item)
    receipt = channel.publish(post, "stormhub-crash")
    channel.close()  # the process dies before the ledger records the receipt

    restarted = connect(sim, hub, tmp_path)
    try:
        found = restarted.find(post)
        assert found == receipt
        # the correction carries the same permalink but was never posted
        assert restarted.find(restarted.render_correction(item)) is None
        assert restarted.find(restarted.render(hub.updates[0])) is None
    finally:
        restarted.close()
    timeline = [r for r in sim.received if r.path.endswith("/tweets") and r.method == "GET"]
    assert "entities" in timeline[0].query["tweet.fields"][0]
    # X sends t.co links: the permalink is only in entities.urls[].expanded_url
    first = sim.tweets[receipt.ids[0]]
    assert post.link not in first.text
    assert first.urls[0]["expanded_url"] == post.link


def test_duplicate_content_is_a_permanent_refusal_of_that_post(channel: XChannel, hub: Hub) -> None:
    post = channel.render(hub.updates[0])
    channel.publish(post, "stormhub-first")
    with pytest.raises(PublishError) as caught:
        channel.publish(post, "stormhub-second")
    error = caught.value
    assert error.transient is False
    assert "duplicate content" in str(error)
    assert "credentials" not in str(error)
    assert error.status is None  # not 403: the fan-out must not stop the channel over it
    assert isinstance(error.__cause__, Exception)


def test_a_text_over_280_is_refused_by_the_platform(channel: XChannel) -> None:
    post = short("a" * 256)  # 256 + 2 + 23 for the link = 281
    assert post.lengths == (281,)
    with pytest.raises(PublishError) as caught:
        channel.publish(post, "stormhub-long")
    assert caught.value.status == 400
    assert caught.value.transient is False
    assert "too long" in str(caught.value)


def test_x_rate_limit_reset_becomes_retry_after(channel: XChannel, sim: XSim, hub: Hub) -> None:
    sim.limits["POST /2/tweets"] = 1
    channel.publish(short("one"), "stormhub-one")
    reset = sim.windows["POST /2/tweets"][0]
    with pytest.raises(PublishError) as caught:
        channel.publish(short("two"), "stormhub-two")
    error = caught.value
    assert (error.status, error.transient) == (429, True)
    assert error.retry_after == pytest.approx(reset - time.time(), abs=2)

    sim.inject(status(429, {"title": "Too Many Requests"}, **{
        "x-rate-limit-reset": str(int(time.time()) + 42),
    }))  # fmt: skip
    with pytest.raises(PublishError) as caught:
        channel.publish(short("three"), "stormhub-three")
    assert caught.value.retry_after == pytest.approx(42, abs=2)


def test_delete_removes_every_part_of_the_thread(channel: XChannel, sim: XSim, hub: Hub) -> None:
    receipt = channel.publish(channel.render(update(hub, LONG)), "stormhub-delete")
    channel.delete(receipt)
    assert sim.describe() == []
    channel.delete(receipt)  # already gone is not an error


def test_a_wrong_signature_is_a_credentials_error(
    sim: XSim, hub: Hub, tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_ACCESS_TOKEN_SECRET", "some-other-token-secret")
    channel = connect(sim, hub, tmp_path)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-badsig")
    error = caught.value
    assert (error.status, error.transient) == (401, False)
    assert "X_API_KEY" in str(error) and "X_ACCESS_TOKEN_SECRET" in str(error)
    assert sim.describe() == []


@pytest.mark.parametrize(
    "fault",
    [
        status(401, {"detail": "bad token " + setup.ENV["X_ACCESS_TOKEN"]}),
        status(403, {"detail": "app key " + setup.ENV["X_API_KEY"] + " lacks write access"}),
        status(500, {"errors": [{"message": "secret " + setup.ENV["X_API_SECRET"]}]}),
        status(400, {"errors": [{"message": setup.ENV["X_ACCESS_TOKEN_SECRET"]}]}),
        Fault("timeout", seconds=1.5),
        Fault("drop"),
    ],
    ids=["401", "403", "500", "400", "timeout", "drop"],
)
def test_secrets_never_appear_in_errors(
    channel: XChannel, sim: XSim, hub: Hub, fault: Fault
) -> None:
    sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-secret")
    text = str(caught.value)
    for value in setup.ENV.values():
        assert value not in text
    if caught.value.status in (401, 403):
        assert "X_API_KEY/X_API_SECRET/X_ACCESS_TOKEN/X_ACCESS_TOKEN_SECRET" in text


def test_constructing_does_no_io_and_a_missing_variable_is_named(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in setup.ENV:
        monkeypatch.delenv(name, raising=False)
    config, _ = setup.make("http://127.0.0.1:9", tmp_path)  # nothing listens there
    channel = make_channel(config, hub)
    assert channel.render(hub.updates[0]).parts  # preview works without credentials
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-noenv")
    assert "X_API_KEY" in str(caught.value)
    assert caught.value.transient is False
