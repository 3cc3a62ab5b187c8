"""The bluesky channel through the atproto SDK against the simulated PDS."""

from __future__ import annotations

import io
import json
import re
import struct
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
from atproto_client.models.string_formats import TID_RE

from hub.channels.base import Post, PublishError, Receipt
from hub.channels.bluesky import IMAGE_MAX_BYTES, BlueskyChannel, record_key
from hub.config import BlueskyConfig
from hub.content import load_hub
from hub.images import image_info
from hub.model import Hub, Update
from hub.simulator import Simulator, status
from hub.simulator.bluesky import BlueskySim, blob_cid
from hub.text import bluesky_fits, graphemes, utf8_length
from tests.channels.bluesky import make
from tests.conftest import ROOT, HubFactory

PASSWORD = "fake-app-password"
LINK = "https://hub.example.org/updates/storm-1/"


@pytest.fixture(scope="module")
def hub() -> Hub:
    return load_hub(ROOT)


@pytest.fixture
def sim() -> Iterator[BlueskySim]:
    platform = BlueskySim()
    with Simulator([platform]):
        yield platform


def _config(sim: BlueskySim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BlueskyConfig:
    config, env = make(sim.url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return config


@pytest.fixture
def channel(
    sim: BlueskySim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlueskyChannel]:
    ch = BlueskyChannel(_config(sim, tmp_path, monkeypatch), hub)
    yield ch
    ch.close()


def _post(*parts: str) -> Post:
    return Post(
        update_id="storm-1",
        revision="r1",
        parts=parts,
        link=LINK,
        limit=300,
        lengths=tuple(graphemes(p) for p in parts),
    )


def _rkey(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def _calls(sim: BlueskySim) -> list[str]:
    return [r.path.removeprefix("/xrpc/") for r in sim.received]


# --- construction and text ---------------------------------------------------------------


def test_constructing_and_rendering_does_no_network_io(
    sim: BlueskySim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(sim, tmp_path, monkeypatch)
    monkeypatch.delenv("BLUESKY_APP_PASSWORD")  # not even the secret is needed to render
    channel = BlueskyChannel(config, hub)
    for update in hub.updates:
        post = channel.render(update)
        assert all(bluesky_fits(part) for part in post.parts)
    assert sim.received == []
    with pytest.raises(PublishError, match="BLUESKY_APP_PASSWORD is not set") as caught:
        channel.publish(post, "k")
    assert caught.value.transient is False
    assert sim.received == []


def test_length_binds_on_bytes_as_well_as_graphemes(channel: BlueskyChannel) -> None:
    family = "👩‍👩‍👧‍👦"  # one grapheme, 25 bytes
    text = family * 150
    assert graphemes(text) == 150 and utf8_length(text) > 3000
    assert channel.length(text) > channel.limit == 300
    assert channel.length("a" * 300) == 300


def test_link_facets_count_utf8_bytes_after_emoji_and_cjk(
    channel: BlueskyChannel, sim: BlueskySim, hub: Hub
) -> None:
    text = f"台风警报 🌀👩‍👩‍👧 — details: {LINK} (updated)"
    receipt = channel.publish(_post(text), "facets")
    stored = sim.get(_rkey(receipt.remote_id))
    assert stored is not None
    record = stored.value
    assert record["text"] == text
    (facet,) = record["facets"]
    index = facet["index"]
    data = text.encode()
    assert data[index["byteStart"] : index["byteEnd"]].decode() == LINK
    assert index["byteStart"] == len(text[: text.index(LINK)].encode()) != text.index(LINK)
    assert facet["features"] == [
        {"$type": "app.bsky.richtext.facet#link", "uri": LINK},
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["createdAt"])
    assert record["langs"] == [hub.info.language]
    assert record["$type"] == "app.bsky.feed.post"


def test_configured_hashtags_become_tag_facets(
    sim: BlueskySim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(sim, tmp_path, monkeypatch).model_copy(update={"hashtags": ("storm",)})
    channel = BlueskyChannel(config, hub)
    text = f"Ünwetter 🌧 {LINK}#storm and #storm #stormy"
    receipt = channel.publish(_post(text), "tags")
    channel.close()
    stored = sim.get(_rkey(receipt.remote_id))
    assert stored is not None
    data = text.encode()
    tags = [
        data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode()
        for f in stored.value["facets"]
        if f["features"][0]["$type"] == "app.bsky.richtext.facet#tag"
    ]
    assert tags == ["#storm"]  # not the one glued to the link, not #stormy
    starts = [f["index"]["byteStart"] for f in stored.value["facets"]]
    assert starts == sorted(starts)


# --- exactly once ------------------------------------------------------------------------


def test_record_keys_are_deterministic_valid_tids() -> None:
    keys = [record_key(f"stormhub-{i:032x}", part) for i in range(200) for part in range(3)]
    assert all(TID_RE.match(k) for k in keys)
    assert len(set(keys)) == len(keys)
    assert record_key("stormhub-abc") == record_key("stormhub-abc", 0)
    thread = [record_key("stormhub-abc", part) for part in range(5)]
    assert thread == sorted(thread)  # a thread's keys sort in order
    now_tid = (time.time_ns() // 1000) << 10
    assert all(_tid_value(k) < now_tid < 2**63 for k in keys)  # in the past, top bit 0


def _tid_value(tid: str) -> int:
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = 0
    for char in tid:
        value = value * 32 + alphabet.index(char)
    return value


def test_publishing_twice_with_one_key_leaves_one_post(
    channel: BlueskyChannel, sim: BlueskySim, hub: Hub, tmp_path: Path
) -> None:
    post = _post("First light: roads closed.", "Second part.")
    first = channel.publish(post, "stormhub-once")
    assert _rkey(first.remote_id) == record_key("stormhub-once")
    sim.received.clear()
    again = channel.publish(post, "stormhub-once")  # the PDS answers 500: key taken
    assert again == first
    assert len(sim.posts()) == 2
    assert _calls(sim) == [
        "com.atproto.repo.createRecord",
        "com.atproto.repo.getRecord",
        "com.atproto.repo.createRecord",
        "com.atproto.repo.getRecord",
    ]
    # a fresh process (a crash between request and ledger) gets the same answer too
    fresh = BlueskyChannel(channel.config, hub)
    assert fresh.publish(post, "stormhub-once") == first
    fresh.close()
    assert len(sim.posts()) == 2


def test_a_half_sent_thread_resumes_without_repeating_parts(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    post = _post("Part one.", "Part two.", "Part three.")
    channel.publish(_post("Part one."), "stormhub-resume")  # as if the rest failed
    receipt = channel.publish(post, "stormhub-resume")
    assert len(receipt.ids) == 3
    assert [p.value["text"] for p in sim.posts()] == ["Part one.", "Part two.", "Part three."]


def test_a_different_post_under_the_key_is_a_permanent_error(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    channel.publish(_post("The old text."), "stormhub-clash")
    with pytest.raises(PublishError, match="already holds a different post") as caught:
        channel.publish(_post("The new text."), "stormhub-clash")
    assert caught.value.transient is False
    assert len(sim.posts()) == 1


def test_the_simulated_pds_answers_a_taken_record_key_with_500(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    channel.publish(_post("Hello."), "stormhub-500")
    token = sim._session(next(iter(sim.repos)))["accessJwt"]
    did = next(iter(sim.repos))
    body = {
        "repo": did,
        "collection": "app.bsky.feed.post",
        "rkey": record_key("stormhub-500"),
        "record": {"$type": "app.bsky.feed.post", "text": "Hello.",
                   "createdAt": "2026-01-01T00:00:00.000Z"},
    }  # fmt: skip
    code, answer = _xrpc(sim, "com.atproto.repo.createRecord", body, token)
    assert code == 500 and answer["error"] == "InternalServerError"
    code, answer = _xrpc(sim, "com.atproto.repo.createRecord", body, None)
    assert code == 401 and answer["error"] == "AuthMissing"


def _xrpc(sim: BlueskySim, nsid: str, body: Any, token: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{sim.url}/xrpc/{nsid}", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


# --- threads -----------------------------------------------------------------------------


def _reply(sim: BlueskySim, uri: str) -> dict[str, Any]:
    stored = sim.get(_rkey(uri))
    assert stored is not None
    reply: dict[str, Any] = stored.value["reply"]
    return reply


def test_a_thread_and_its_replies_have_the_right_root_and_parent(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    receipt = channel.publish(_post("One (1/3)", "Two (2/3)", "Three (3/3)"), "stormhub-t")
    first, second, third = receipt.ids
    assert receipt.remote_id == first
    assert receipt.url == f"https://bsky.app/profile/hub.test/post/{_rkey(first)}"
    root = sim.get(_rkey(first))
    assert root is not None and "reply" not in root.value
    for uri, parent in ((second, first), (third, second)):
        reply = _reply(sim, uri)
        assert reply["root"]["uri"] == first
        assert reply["root"]["cid"] == root.cid
        assert reply["parent"]["uri"] == parent
        parent_record = sim.get(_rkey(parent))
        assert parent_record is not None and reply["parent"]["cid"] == parent_record.cid

    correction = channel.reply(receipt, _post("Correction: A", "Correction: B"), "stormhub-c")
    assert len(correction.ids) == 2
    reply = _reply(sim, correction.ids[0])
    assert (reply["root"]["uri"], reply["parent"]["uri"]) == (first, third)
    reply = _reply(sim, correction.ids[1])
    assert (reply["root"]["uri"], reply["parent"]["uri"]) == (first, correction.ids[0])

    # a reply to the correction stays in the original thread
    later = channel.correct(correction, _post("Correction: C"), "stormhub-c2")
    reply = _reply(sim, later.remote_id)
    assert (reply["root"]["uri"], reply["parent"]["uri"]) == (first, correction.ids[1])


def test_a_reply_to_a_deleted_post_goes_out_on_its_own(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    receipt = channel.publish(_post("Original."), "stormhub-gone")
    channel.delete(receipt)
    answer = channel.reply(receipt, _post("Correction: new."), "stormhub-gone-c")
    stored = sim.get(_rkey(answer.remote_id))
    assert stored is not None and "reply" not in stored.value


def test_delete_removes_every_part(channel: BlueskyChannel, sim: BlueskySim) -> None:
    receipt = channel.publish(_post("A", "B", "C"), "stormhub-del")
    assert len(sim.describe()) == 3
    channel.delete(receipt)
    assert sim.describe() == []
    channel.delete(receipt)  # deleting again is not an error


# --- errors ------------------------------------------------------------------------------


def test_an_over_limit_post_is_rejected_as_permanent(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    with pytest.raises(PublishError) as caught:
        channel.publish(_post("x" * 301), "stormhub-long")
    assert caught.value.transient is False
    assert caught.value.status == 400
    assert "Record/text must not be longer than 300 graphemes" in str(caught.value)

    with pytest.raises(PublishError) as caught:
        channel.publish(_post("👩‍👩‍👧‍👦" * 150), "stormhub-bytes")  # 150 graphemes, 3750 bytes
    assert caught.value.transient is False
    assert "must not be longer than 3000 characters" in str(caught.value)
    assert sim.posts() == []


def test_a_wrong_app_password_names_the_variable_and_never_the_secret(
    sim: BlueskySim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.password = "the-right-one"
    channel = BlueskyChannel(_config(sim, tmp_path, monkeypatch), hub)
    with pytest.raises(PublishError) as caught:
        channel.publish(_post("Hello."), "stormhub-401")
    error = caught.value
    assert (error.transient, error.status) == (False, 401)
    assert "credentials" in str(error) and "BLUESKY_APP_PASSWORD" in str(error)
    assert "App passwords" in str(error)
    assert PASSWORD not in str(error) and PASSWORD not in repr(error)
    channel.close()


def test_a_server_that_echoes_the_password_is_scrubbed(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    sim.inject(status(400, {"error": "InvalidRequest", "message": f"bad password {PASSWORD}"}))
    with pytest.raises(PublishError) as caught:
        channel.publish(_post("Hello."), "stormhub-echo")
    assert PASSWORD not in str(caught.value)
    assert "***" in str(caught.value)


def test_rate_limit_reset_becomes_retry_after(channel: BlueskyChannel, sim: BlueskySim) -> None:
    sim.rate_limit = 1  # the login takes it
    with pytest.raises(PublishError) as caught:
        channel.publish(_post("Hello."), "stormhub-429")
    error = caught.value
    assert (error.transient, error.status) == (True, 429)
    assert error.retry_after is not None
    assert error.retry_after == pytest.approx(sim.rate_window, abs=5)
    assert isinstance(error.__cause__, Exception)


def test_an_expired_token_logs_in_again(channel: BlueskyChannel, sim: BlueskySim) -> None:
    channel.publish(_post("First."), "stormhub-exp-1")
    sim.inject(status(400, {"error": "ExpiredToken", "message": "Token has expired"}))
    with pytest.raises(PublishError) as caught:
        channel.publish(_post("Second."), "stormhub-exp-2")
    assert caught.value.transient is True
    sim.received.clear()
    channel.publish(_post("Second."), "stormhub-exp-2")
    assert _calls(sim)[0] == "com.atproto.server.createSession"
    assert len(sim.posts()) == 2


def test_a_token_the_pds_stopped_taking_logs_in_again(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    channel.publish(_post("First."), "stormhub-revoked-1")
    sim.inject(status(401, {"error": "InvalidToken", "message": "Token could not be verified"}))
    sim.received.clear()
    channel.publish(_post("Second."), "stormhub-revoked-2")
    assert _calls(sim) == [
        "com.atproto.repo.createRecord",
        "com.atproto.server.createSession",
        "com.atproto.repo.createRecord",
    ]
    assert len(sim.posts()) == 2


def test_the_sdk_refreshes_a_session_near_expiry(channel: BlueskyChannel, sim: BlueskySim) -> None:
    sim.access_seconds = 60  # inside the SDK's 15-minute margin: it refreshes first
    channel.publish(_post("First."), "stormhub-refresh-1")
    channel.publish(_post("Second."), "stormhub-refresh-2")
    assert _calls(sim)[:3] == [
        "com.atproto.server.createSession",
        "com.atproto.server.refreshSession",
        "com.atproto.repo.createRecord",
    ]
    assert len(sim.posts()) == 2


def test_the_simulator_lists_posts_and_serves_records(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    receipt: Receipt = channel.publish(_post("Title line\n\nBody.", "More."), "stormhub-d")
    lines = sim.describe()
    assert lines[0].endswith("  Title line") and lines[1].endswith("  ↳ More.")
    did = next(iter(sim.repos))
    query = f"repo={did}&collection=app.bsky.feed.post&rkey={_rkey(receipt.remote_id)}"
    with urllib.request.urlopen(
        f"{sim.url}/xrpc/com.atproto.repo.getRecord?{query}", timeout=5
    ) as response:
        assert response.headers["ratelimit-policy"] == "3000;w=300"
        assert json.load(response)["uri"] == receipt.remote_id
    code, answer = _xrpc_get(sim, f"repo={did}&collection=app.bsky.feed.post&rkey=3zzzzzzzzzzzz")
    assert code == 400 and answer["error"] == "RecordNotFound"
    assert answer["message"].startswith("Could not locate record: at://did:plc:")


def _xrpc_get(sim: BlueskySim, query: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(
            f"{sim.url}/xrpc/com.atproto.repo.getRecord?{query}", timeout=5
        ) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


# --- images ------------------------------------------------------------------------------

ALT = "Water covering Harbor Road outside the Main Campus entrance"
LONG_BODY = " ".join(
    f"Crews are pumping water from Harbor Road, section {n}, and expect it open by noon."
    for n in range(1, 8)
)


def png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of *width* x *height* pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int, orientation: int | None = None, order: str = "<") -> bytes:
    """JPEG headers: SOI, an EXIF APP1 with *orientation*, a DQT, SOF0 and SOS (no pixels)."""
    segments = b""
    if orientation is not None:
        mark = b"II" if order == "<" else b"MM"
        ifd = struct.pack(order + "H", 2)
        ifd += struct.pack(order + "HHIHH", 0x010F, 2, 1, 0, 0)  # Make, before Orientation
        ifd += struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0)
        tiff = mark + struct.pack(order + "HI", 42, 8) + ifd + b"\0\0\0\0"
        app1 = b"Exif\0\0" + tiff
        segments += b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    dqt = b"\0" + bytes(range(64))
    segments += b"\xff\xdb" + struct.pack(">H", len(dqt) + 2) + dqt
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    segments += b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof
    sos = b"\x01\x01\x00\x00\x3f\x00"
    segments += b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos
    return b"\xff\xd8" + segments + b"\x00\xff\xd9"


def images_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """*embed* without the $type the SDK adds to its nested objects (checked, then dropped)."""
    kinds = {
        "images": "app.bsky.embed.images#image",
        "aspectRatio": "app.bsky.embed.defs#aspectRatio",
    }
    images = []
    for image in embed["images"]:
        image = dict(image)
        assert image.pop("$type", kinds["images"]) == kinds["images"]
        if "aspectRatio" in image:
            ratio = dict(image["aspectRatio"])
            assert ratio.pop("$type", kinds["aspectRatio"]) == kinds["aspectRatio"]
            image["aspectRatio"] = ratio
        images.append(image)
    return {**embed, "images": images}


def _image_hub(
    make_hub: HubFactory, data: bytes, name: str = "flood.png", body: str = LONG_BODY
) -> Hub:
    root = make_hub(
        {
            "content/updates/2026-11-27-0700-flooding.md": "---\ntime: 2026-11-27 07:00\n"
            f"title: Flooding on Harbor Road\nseverity: warning\nimage: images/{name}\n"
            f"alt: {ALT}\n---\n{body}\n"
        }
    )
    (root / "content/images").mkdir(exist_ok=True)
    (root / "content/images" / name).write_bytes(data)
    return load_hub(root)


def _image_channel(
    sim: BlueskySim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> BlueskyChannel:
    return BlueskyChannel(_config(sim, tmp_path, monkeypatch), hub)


def _flooding(hub: Hub) -> Update:
    return hub.update("2026-11-27-0700-flooding")


def test_an_image_is_uploaded_and_embedded_in_the_first_post_only(
    sim: BlueskySim, make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = png(640, 480)
    hub = _image_hub(make_hub, data)
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    post = channel.render(_flooding(hub))
    assert channel.takes_images
    assert post.image == "https://hub.example.org/images/flood.png"
    assert post.image_file is not None and post.image_file.endswith("content/images/flood.png")
    assert post.alt == ALT
    assert len(post.parts) >= 2, "a thread: the image goes with the first part only"

    receipt = channel.publish(post, "stormhub-image")
    channel.close()

    assert _calls(sim)[:3] == [
        "com.atproto.server.createSession",
        "com.atproto.repo.uploadBlob",
        "com.atproto.repo.createRecord",
    ]
    assert _calls(sim).count("com.atproto.repo.uploadBlob") == 1
    upload = next(r for r in sim.received if r.path.endswith("uploadBlob"))
    assert upload.body == data
    assert upload.headers["content-type"] == "image/png"
    stored_blob = sim.blob(blob_cid(data))
    assert stored_blob is not None
    assert (stored_blob.data, stored_blob.mime_type) == (data, "image/png")

    first, *rest = [sim.get(_rkey(uri)) for uri in receipt.ids]
    assert first is not None
    assert images_embed(first.value["embed"]) == {
        "$type": "app.bsky.embed.images",
        "images": [
            {
                "alt": ALT,
                "image": {
                    "$type": "blob",
                    "ref": {"$link": blob_cid(data)},
                    "mimeType": "image/png",
                    "size": len(data),
                },
                "aspectRatio": {"width": 640, "height": 480},
            }
        ],
    }
    assert first.value["text"] == post.parts[0]
    assert rest and all(r is not None and "embed" not in r.value for r in rest)
    lines = sim.describe()
    assert lines[0].endswith(f"  WARNING: Flooding on Harbor Road  [image: {ALT}]")
    assert not any("[image:" in line for line in lines[1:])


def test_an_update_without_an_image_has_no_embed(
    channel: BlueskyChannel, sim: BlueskySim, hub: Hub
) -> None:
    post = channel.render(hub.updates[0])
    assert post.image is None and post.image_file is None and post.alt is None
    receipt = channel.publish(post, "stormhub-no-image")
    assert "com.atproto.repo.uploadBlob" not in _calls(sim)
    stored = sim.get(_rkey(receipt.remote_id))
    assert stored is not None and "embed" not in stored.value


def test_publishing_an_image_post_twice_leaves_one_post_and_one_blob(
    sim: BlueskySim, make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _image_hub(make_hub, png(3, 2), body="Avoid it.")
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    post = channel.render(_flooding(hub))
    first = channel.publish(post, "stormhub-image-once")
    sim.received.clear()
    fresh = _image_channel(sim, hub, tmp_path, monkeypatch)  # a new process after a crash
    assert fresh.publish(post, "stormhub-image-once") == first
    channel.close()
    fresh.close()
    assert _calls(sim) == [
        "com.atproto.server.createSession",
        "com.atproto.repo.uploadBlob",  # the same bytes: the same blob
        "com.atproto.repo.createRecord",  # 500: the record key is taken
        "com.atproto.repo.getRecord",  # ours: same text, same image
    ]
    assert len(sim.posts()) == 1
    assert [len(b) for b in sim.blobs.values()] == [1]


def test_a_different_image_under_the_key_is_a_permanent_error(
    sim: BlueskySim, make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _image_hub(make_hub, png(3, 2), body="Avoid it.")
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    post = channel.render(_flooding(hub))
    channel.publish(post, "stormhub-image-clash")
    assert post.image_file is not None
    Path(post.image_file).write_bytes(png(2, 3))
    with pytest.raises(PublishError, match="already holds a different post") as caught:
        channel.publish(post, "stormhub-image-clash")
    assert caught.value.transient is False
    # ... and so is the same text without the image
    text_only = Post(
        update_id=post.update_id, revision=post.revision, parts=post.parts, link=post.link,
        limit=post.limit, lengths=post.lengths,
    )  # fmt: skip
    with pytest.raises(PublishError, match="already holds a different post"):
        channel.publish(text_only, "stormhub-image-clash")
    channel.close()
    assert len(sim.posts()) == 1


def test_an_image_over_the_limit_fails_permanently_before_any_request(
    sim: BlueskySim, make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = png(1, 1)
    hub = _image_hub(make_hub, header + b"\0" * (IMAGE_MAX_BYTES + 1 - len(header)))
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(_flooding(hub)), "stormhub-image-big")
    channel.close()
    error = caught.value
    assert (error.transient, error.fatal, error.status) == (False, False, None)
    assert "2,000,001 bytes" in str(error) and "2,000,000" in str(error)
    assert "use a smaller image" in str(error)
    assert sim.received == []


def test_an_image_at_the_limit_is_taken(
    sim: BlueskySim, make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = png(1, 1)
    data = header + b"\0" * (IMAGE_MAX_BYTES - len(header))
    hub = _image_hub(make_hub, data, body="Avoid it.")
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    receipt = channel.publish(channel.render(_flooding(hub)), "stormhub-image-max")
    channel.close()
    stored = sim.get(_rkey(receipt.remote_id))
    assert stored is not None
    assert stored.value["embed"]["images"][0]["image"]["size"] == IMAGE_MAX_BYTES


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"not an image", "is not an image Bluesky takes"),
        ("missing.png", None, "cannot read the image"),
    ],
)
def test_an_unusable_image_file_is_a_permanent_error(
    sim: BlueskySim,
    make_hub: HubFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    data: bytes | None,
    message: str,
) -> None:
    hub = _image_hub(make_hub, data or b"", name=name, body="Avoid it.")
    post = _image_channel(sim, hub, tmp_path, monkeypatch).render(_flooding(hub))
    assert post.image_file is not None
    if data is None:
        Path(post.image_file).unlink()
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    with pytest.raises(PublishError, match=message) as caught:
        channel.publish(post, "stormhub-image-bad")
    channel.close()
    assert caught.value.transient is False
    assert sim.received == []


def test_a_jpeg_turned_by_exif_a_gif_and_an_image_of_unknown_size(
    sim: BlueskySim, make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _image_hub(make_hub, jpeg(4000, 3000, orientation=6), name="photo.jpg", body="Hi.")
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    receipt = channel.publish(channel.render(_flooding(hub)), "stormhub-jpeg")
    channel.close()
    stored = sim.get(_rkey(receipt.remote_id))
    assert stored is not None
    (image,) = images_embed(stored.value["embed"])["images"]
    assert image["image"]["mimeType"] == "image/jpeg"
    assert image["aspectRatio"] == {"width": 3000, "height": 4000}  # shown upright

    buffer = io.BytesIO()
    PIL.Image.new("P", (5, 7)).save(buffer, "GIF")
    hub = _image_hub(make_hub, buffer.getvalue(), name="map.gif", body="Hi.")
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    receipt = channel.publish(channel.render(_flooding(hub)), "stormhub-gif")
    channel.close()
    stored = sim.get(_rkey(receipt.remote_id))
    assert stored is not None
    (image,) = images_embed(stored.value["embed"])["images"]
    assert image["image"]["mimeType"] == "image/gif"
    assert image["aspectRatio"] == {"width": 5, "height": 7}

    # A GIF header with no picture: Pillow cannot read it, so the type is the extension's
    header = b"GIF89a" + struct.pack("<HH", 5, 7) + b"\x00\x00\x00;"
    hub = _image_hub(make_hub, header, name="map.gif", body="Hi.")
    channel = _image_channel(sim, hub, tmp_path, monkeypatch)
    receipt = channel.publish(channel.render(_flooding(hub)), "stormhub-gif-header")
    channel.close()
    stored = sim.get(_rkey(receipt.remote_id))
    assert stored is not None
    (image,) = images_embed(stored.value["embed"])["images"]
    assert image["image"]["mimeType"] == "image/gif"
    assert "aspectRatio" not in image  # optional in the lexicon: left out when unknown


def _shown(data: bytes) -> tuple[str, int, int] | None:
    info = image_info(data)
    return None if info is None else (info.mime, info.width, info.height)


def test_the_hand_made_test_images_read_as_the_channel_needs() -> None:
    """png() and jpeg() above are what hub.images (Pillow) reads, EXIF orientation too."""
    assert _shown(png(640, 480)) == ("image/png", 640, 480)
    assert _shown(jpeg(800, 600)) == ("image/jpeg", 800, 600)
    assert _shown(jpeg(800, 600, orientation=1)) == ("image/jpeg", 800, 600)
    assert _shown(jpeg(800, 600, orientation=3)) == ("image/jpeg", 800, 600)  # upside down
    for turned in (5, 6, 7, 8):
        assert _shown(jpeg(800, 600, orientation=turned)) == ("image/jpeg", 600, 800)
        assert _shown(jpeg(800, 600, orientation=turned, order=">")) == ("image/jpeg", 600, 800)
    padded = b"\xff\xd8\xff\xff" + jpeg(10, 20)[2:]  # fill bytes before a marker
    assert _shown(padded) == ("image/jpeg", 10, 20)
    assert _shown(png(640, 480)[:20]) is None  # cut short
    assert _shown(jpeg(800, 600)[:30]) is None
    assert _shown(b"\xff\xd8\xff\xda\x00\x02") is None  # scan before a frame
    assert _shown(jpeg(0, 600)) is None
    assert _shown(b"GIF89a") is None
    assert _shown(b"") is None
    assert _shown(b"hello") is None


# --- the simulated PDS's blobs -----------------------------------------------------------


def _upload(sim: BlueskySim, data: bytes, mime: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{sim.url}/xrpc/com.atproto.repo.uploadBlob",
        data=data,
        headers={"Content-Type": mime, "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def test_the_simulated_pds_checks_image_embeds_as_the_lexicon_does(
    channel: BlueskyChannel, sim: BlueskySim
) -> None:
    channel.publish(_post("Hello."), "stormhub-sim-blob")  # makes the account
    did = next(iter(sim.repos))
    token = sim._session(did)["accessJwt"]
    data = png(2, 1)

    code, answer = _upload(sim, data, "application/octet-stream", token)  # sniffed
    assert code == 200
    blob = answer["blob"]
    assert blob == {"$type": "blob", "ref": {"$link": blob_cid(data)}, "mimeType": "image/png",
                    "size": len(data)}  # fmt: skip
    assert blob["ref"]["$link"].startswith("bafkrei")  # CIDv1, raw, sha-256
    assert _upload(sim, data, "image/png", token) == (200, answer)  # content-addressed

    def create(image: dict[str, Any]) -> tuple[int, Any]:
        record = {"$type": "app.bsky.feed.post", "text": "x",
                  "createdAt": "2026-11-27T12:00:00.000Z",
                  "embed": {"$type": "app.bsky.embed.images", "images": [image]}}  # fmt: skip
        body = {"repo": did, "collection": "app.bsky.feed.post", "record": record}
        return _xrpc(sim, "com.atproto.repo.createRecord", body, token)

    code, _ = create({"image": blob, "alt": ""})  # alt may be empty ...
    assert code == 200
    code, answer = create({"image": blob})  # ... but not missing
    assert code == 400
    assert answer["message"] == (
        'Invalid app.bsky.feed.post record: Missing required key "alt" at $.record.embed.images[0]'
    )
    unknown = dict(blob, ref={"$link": blob_cid(b"never uploaded")})
    code, answer = create({"image": unknown, "alt": "a"})
    assert (code, answer["error"]) == (400, "BlobNotFound")
    assert answer["message"] == f"Could not find blob: {blob_cid(b'never uploaded')}"
    code, answer = create({"image": dict(blob, size=IMAGE_MAX_BYTES + 1), "alt": "a"})
    assert code == 400
    assert (
        "blob too big (maximum 2000000, got 2000001) at $.record.embed.images[0].image"
        in (answer["message"])
    )
    code, answer = create({"image": dict(blob, mimeType="text/plain"), "alt": "a"})
    assert code == 400 and 'Expected "image/*" (got "text/plain")' in answer["message"]
    code, answer = create({"image": blob, "alt": "a", "aspectRatio": {"width": 0, "height": 1}})
    assert code == 400 and "integer too small (minimum 1, got 0)" in answer["message"]
    code, answer = create({"image": dict(blob, size=len(data) + 1), "alt": "a"})
    assert (code, answer["error"]) == (400, "InvalidSize")

    sim.upload_limit = 100
    code, answer = _upload(sim, b"\0" * 101, "image/png", token)
    assert (code, answer["error"]) == (413, "PayloadTooLarge")
    code, answer = _upload(sim, data, "image/png", "not-a-token")
    assert code == 401
