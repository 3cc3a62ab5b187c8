"""The ``x`` channel through tweepy against the simulated X API (loopback only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tweepy  # type: ignore[import-untyped]

from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.x import XChannel
from hub.content import load_hub
from hub.model import Hub, Update
from hub.simulator import Simulator, status
from hub.simulator.core import Fault, Received
from hub.simulator.x import XSim, invalid_request
from hub.text import x_length
from tests.channels import x as setup
from tests.conftest import ROOT, HubFactory

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


# --- images -----------------------------------------------------------------------

# A 1x1 PNG (as in test_build).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
ALT = "Water covering Harbor Road outside the Main Campus entrance"
FLOOD = "2026-11-27-0700-flooding"
FLOOD_LONG = "2026-11-27-0730-flooding-detour"
DETOUR = " ".join(
    f"Step {n}: from the Harbor Road junction follow the orange detour signs past the "
    "fire station and the library to the east car park, then walk to the entrance."
    for n in range(1, 8)
)


def update_md(time_: str, title: str, body: str, alt: str = ALT) -> str:
    return (
        f"---\ntime: {time_}\ntitle: {title}\nseverity: warning\n"
        f"image: images/x.png\nalt: {alt}\n---\n{body}\n"
    )


def write_png(root: Path) -> None:
    (root / "content/images").mkdir(exist_ok=True)
    (root / "content/images/x.png").write_bytes(PNG)


@pytest.fixture
def image_hub(make_hub: HubFactory) -> Hub:
    root = make_hub(
        {
            f"content/updates/{FLOOD}.md": update_md(
                "2026-11-27 07:00", "Flooding on Harbor Road", "Avoid it."
            ),
            f"content/updates/{FLOOD_LONG}.md": update_md(
                "2026-11-27 07:30", "Detour around Harbor Road", DETOUR
            ),
        }
    )
    write_png(root)
    return load_hub(root)


@pytest.fixture
def image_channel(
    sim: XSim, image_hub: Hub, tmp_path: Path, env: dict[str, str]
) -> Iterator[XChannel]:
    channel = connect(sim, image_hub, tmp_path)
    yield channel
    channel.close()


def uploads(sim: XSim) -> list[Received]:
    return [r for r in sim.received if r.path == "/2/media/upload"]


def creates(sim: XSim) -> list[Received]:
    return [r for r in sim.received if r.method == "POST" and r.path == "/2/tweets"]


def test_the_image_is_uploaded_with_its_alt_text_and_attached_to_the_post(
    image_channel: XChannel, sim: XSim, image_hub: Hub
) -> None:
    post = image_channel.render(update(image_hub, FLOOD))
    assert post.image_file is not None and post.image_file.endswith("/images/x.png")
    assert post.alt == ALT
    assert len(post.parts) == 1

    receipt = image_channel.publish(post, "stormhub-image")

    [media] = sim.media.values()
    assert media.data == PNG
    assert media.alt == ALT
    assert (media.media_type, media.width, media.height) == ("image/png", 1, 1)
    assert sim.tweets[receipt.ids[0]].media_keys == [media.key]
    [create] = creates(sim)
    assert create.json["media"] == {"media_ids": [media.id]}
    # the upload is multipart with the file in "media", OAuth-signed (sim.credentials
    # is set, so the signature was verified) over the rewritten host
    [upload] = uploads(sim)
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["authorization"].startswith("OAuth ")
    assert upload.headers["host"] == sim.url.removeprefix("http://")
    [metadata] = [r for r in sim.received if r.path == "/2/media/metadata"]
    assert metadata.json == {"id": media.id, "metadata": {"alt_text": {"text": ALT}}}
    assert sim.describe() == [f"{receipt.ids[0]} WARNING: Flooding on Harbor Road [image: {ALT}]"]


def test_a_thread_carries_the_image_on_its_first_post_only(
    image_channel: XChannel, sim: XSim, image_hub: Hub
) -> None:
    post = image_channel.render(update(image_hub, FLOOD_LONG))
    assert len(post.parts) >= 3

    receipt = image_channel.publish(post, "stormhub-image-thread")

    [media] = sim.media.values()
    tweets = [sim.tweets[i] for i in receipt.ids]
    assert tweets[0].media_keys == [media.key]
    assert all(t.media_keys == [] for t in tweets[1:])
    assert len(uploads(sim)) == 1
    lines = sim.describe()
    assert lines[0].endswith(f"[image: {ALT}]")
    assert not any("[image" in line for line in lines[1:])

    # a correction is a reply under the thread: the image is not sent again
    fixed = image_channel.correct(
        receipt,
        image_channel.render_correction(update(image_hub, FLOOD_LONG)),
        "stormhub-image-fix",
    )
    assert sim.tweets[fixed.ids[0]].media_keys == []
    assert len(uploads(sim)) == 1


def test_a_failed_upload_fails_the_post_and_the_retry_posts_it(
    image_channel: XChannel, sim: XSim, image_hub: Hub
) -> None:
    post = image_channel.render(update(image_hub, FLOOD))
    sim.inject(status(503, {"title": "Service Unavailable"}))  # the upload
    with pytest.raises(PublishError) as caught:
        image_channel.publish(post, "stormhub-upload")
    assert (caught.value.status, caught.value.transient) == (503, True)
    assert sim.tweets == {} and sim.media == {}

    receipt = image_channel.publish(post, "stormhub-upload")

    [media] = sim.media.values()
    assert sim.tweets[receipt.ids[0]].media_keys == [media.key]


def test_a_retry_after_the_post_failed_reuses_the_uploaded_image(
    image_channel: XChannel, sim: XSim, image_hub: Hub
) -> None:
    post = image_channel.render(update(image_hub, FLOOD))
    # upload and alt text succeed, the post itself times out
    sim.inject(Fault("delay"), Fault("delay"), Fault("timeout", seconds=1.5))
    with pytest.raises(PublishError) as caught:
        image_channel.publish(post, "stormhub-reuse")
    assert caught.value.transient
    assert sim.tweets == {}

    receipt = image_channel.publish(post, "stormhub-reuse")

    assert len(uploads(sim)) == 1
    [media] = sim.media.values()
    assert sim.tweets[receipt.ids[0]].media_keys == [media.key]


@pytest.mark.parametrize(
    ("fault", "transient", "code"),
    [
        (status(400, invalid_request("media type unrecognized.")), False, 400),
        (status(429, {"title": "Too Many Requests"}, **{"Retry-After": "9"}), True, 429),
        (status(401, {"title": "Unauthorized"}), False, 401),
    ],
    ids=["400", "429", "401"],
)
def test_upload_errors_map_like_the_others(
    image_channel: XChannel,
    sim: XSim,
    image_hub: Hub,
    fault: Fault,
    transient: bool,
    code: int,
) -> None:
    sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        image_channel.publish(image_channel.render(update(image_hub, FLOOD)), "stormhub-e")
    error = caught.value
    assert (error.status, error.transient) == (code, transient)
    if code == 429:
        assert error.retry_after == pytest.approx(9, abs=1)
    if code == 400:
        assert "media type unrecognized" in str(error)
    assert sim.tweets == {}


def test_the_upload_signature_is_checked_like_the_others(
    sim: XSim,
    image_hub: Hub,
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("X_ACCESS_TOKEN_SECRET", "some-other-token-secret")
    channel = connect(sim, image_hub, tmp_path)
    try:
        with pytest.raises(PublishError) as caught:
            channel.publish(channel.render(update(image_hub, FLOOD)), "stormhub-upload-sig")
    finally:
        channel.close()
    assert (caught.value.status, caught.value.transient) == (401, False)
    assert [r.path for r in sim.received] == ["/2/media/upload"]
    assert sim.media == {} and sim.tweets == {}


def test_alt_text_is_cut_at_a_word_boundary_to_1000_characters(
    sim: XSim, make_hub: HubFactory, tmp_path: Path, env: dict[str, str]
) -> None:
    long_alt = " ".join(["Flooded street with parked cars half under water"] * 30)
    assert len(long_alt) > 1000
    root = make_hub(
        {
            f"content/updates/{FLOOD}.md": update_md(
                "2026-11-27 07:00", "Flooding", "Avoid.", long_alt
            )
        }
    )
    write_png(root)
    channel = connect(sim, load_hub(root), tmp_path)
    try:
        post = channel.render(update(channel.hub, FLOOD))
        assert post.alt is not None and len(post.alt) <= 1000
        assert post.alt.endswith("…")
        assert long_alt.startswith(post.alt[:-1]) and long_alt[len(post.alt) - 1] == " "
        channel.publish(post, "stormhub-long-alt")
    finally:
        channel.close()
    [media] = sim.media.values()
    assert media.alt == post.alt


def test_an_image_x_does_not_take_is_a_permanent_error_before_any_request(
    image_channel: XChannel, sim: XSim, image_hub: Hub
) -> None:
    post = image_channel.render(update(image_hub, FLOOD))
    assert post.image_file is not None
    Path(post.image_file).write_bytes(b"GIF89a\x01\x00\x01\x00")
    with pytest.raises(PublishError) as caught:
        image_channel.publish(post, "stormhub-gif")
    assert caught.value.transient is False
    assert "PNG or JPEG" in str(caught.value)
    assert sim.received == []


def test_the_simulator_refuses_an_unknown_media_id_as_x_does(
    image_channel: XChannel, sim: XSim
) -> None:
    with pytest.raises(tweepy.BadRequest) as caught:
        image_channel.client.create_tweet(
            text="with someone else's media", media_ids=["1234567890"], user_auth=True
        )
    assert caught.value.api_messages == ["Your media IDs are invalid."]
    body = caught.value.response.json()
    assert body["errors"][0]["parameters"] == {"media.media_ids": ["1234567890"]}
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert sim.tweets == {}
