"""The bluesky channel against the REAL reference Bluesky server, on loopback.

``scripts/pds-deps`` installs Node 22, ``@atproto/pds`` and ``@did-plc/server`` into
``.cache/pds/`` (a minute or two the first time, instant after), and
``tests/pds/start.mjs`` runs an in-memory PLC directory and a dev-mode PDS on
127.0.0.1. Nothing here is simulated: record keys, facets, the 300-grapheme and
3000-byte limits, the HTTP 500 for a record key that is taken, blob CIDs and the
2,000,000-byte image limit are the server's own.
When the server cannot be installed or started these tests FAIL, saying why.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.channels.base import Post, PublishError, Receipt
from hub.channels.bluesky import IMAGE_MAX_BYTES, BlueskyChannel, record_key
from hub.config import BlueskyConfig
from hub.content import load_hub
from hub.model import Hub, Update
from hub.simulator.bluesky import blob_cid
from hub.text import bluesky_fits
from tests.conftest import ROOT, HubFactory
from tests.test_channel_bluesky import ALT, LONG_BODY, images_embed, png

pytestmark = pytest.mark.integration

DEPS_SCRIPT = ROOT / "scripts" / "pds-deps"
NODE = ROOT / ".cache" / "pds" / "bin" / "node"
START = ROOT / "tests" / "pds" / "start.mjs"
POST = "app.bsky.feed.post"
HANDLE = "hub.test"
PASSWORD = "account-password-0f3a"
ENV = "BLUESKY_APP_PASSWORD"
READY_TIMEOUT = 90.0
LONG_UPDATE = "2026-11-27-0800-morning-status-after-landfall"  # nine parts


# --- plain HTTP to the PDS ---------------------------------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


def xrpc(
    base: str,
    method: str,
    *,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of one XRPC call; a GET unless there is a body."""
    url = f"{base}/xrpc/{method}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, raw = error.code, error.read()
    return status, (json.loads(raw) if raw.strip() else {})


def upload_blob(base: str, data: bytes, mime: str, token: str) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of com.atproto.repo.uploadBlob with *data* as the raw body."""
    request = urllib.request.Request(
        f"{base}/xrpc/com.atproto.repo.uploadBlob",
        data=data,
        headers={"Content-Type": mime, "Authorization": f"Bearer {token}"},
    )
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def get_blob(base: str, did: str, cid: str) -> tuple[int, str, bytes]:
    """(status, Content-Type, bytes) of com.atproto.sync.getBlob."""
    query = urllib.parse.urlencode({"did": did, "cid": cid})
    try:
        with _OPENER.open(f"{base}/xrpc/com.atproto.sync.getBlob?{query}", timeout=15) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()


# --- the server --------------------------------------------------------------------------


@dataclass(frozen=True)
class Pds:
    url: str  # http://127.0.0.1:<port>: what the channel and these tests talk to
    public_url: str  # http://localhost:<port>: the PDS's own idea of its address
    log: Path


@dataclass(frozen=True)
class Account:
    did: str
    handle: str
    access_jwt: str
    app_password: str


def _install_deps() -> None:
    """Run scripts/pds-deps (instant when installed); FAIL with its output if it cannot."""
    try:
        done = subprocess.run(
            [str(DEPS_SCRIPT)], capture_output=True, text=True, timeout=1200, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"scripts/pds-deps could not run ({exc}): the reference PDS is missing")
    if done.returncode != 0 or not NODE.exists():
        pytest.fail(
            "scripts/pds-deps could not install the reference Bluesky PDS (Node 22, "
            "@atproto/pds, @did-plc/server, better-sqlite3 built for Node 22) into "
            f".cache/pds (exit {done.returncode}):\n{done.stdout}{done.stderr}",
            pytrace=False,
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait, and close our ends of its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


def _start(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start PLC + PDS; wait for the ready line. Raises RuntimeError saying why not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "npm_"))}
    env["LOG_ENABLED"] = "false"
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [
                str(NODE),
                str(START),
                "--pds-port",
                str(_free_port()),
                "--plc-port",
                "0",
                "--data",
                str(data),
                "--watch-stdin",
            ],
            stdin=subprocess.PIPE,  # closes when pytest dies: the server then stops too
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=ROOT,
        )
    try:
        return proc, _ready_line(proc)
    except BaseException:
        _stop(proc)
        raise


def _ready_line(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no ready line within {READY_TIMEOUT:g} s")
            if selector.select(timeout=min(left, 1.0)):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"exited with status {proc.wait(10)} before ready")
                line += chunk
    try:
        ready: dict[str, Any] = json.loads(line)
    except ValueError:
        ready = {}
    if not ready.get("ready"):
        raise RuntimeError(f"unexpected first line {line!r}")
    return ready


@pytest.fixture(scope="module")
def pds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pds]:
    _install_deps()
    base = tmp_path_factory.mktemp("pds")
    log = base / "pds.log"
    problems = []
    for attempt in range(3):  # a free port can be taken between choosing and binding
        data = base / f"data-{attempt}"
        data.mkdir()
        try:
            proc, ready = _start(data, log)
        except RuntimeError as exc:
            problems.append(str(exc))
            continue
        break
    else:
        tail = log.read_text(errors="replace")[-3000:]
        pytest.fail(
            f"the reference PDS did not start ({'; '.join(problems)}); its log {log}:\n{tail}",
            pytrace=False,
        )
    try:
        yield Pds(url=ready["pds_loopback"], public_url=ready["pds"], log=log)
    finally:
        _stop(proc)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        pytest.fail(f"the PDS did not stop cleanly (status {proc.returncode}):\n{tail}")


@pytest.fixture(scope="module")
def account(pds: Pds) -> Account:
    """hub.test, made with createAccount, and an app password for the channel."""
    status, made = xrpc(
        pds.url,
        "com.atproto.server.createAccount",
        body={"handle": HANDLE, "email": "comms@hub.example.org", "password": PASSWORD},
    )
    assert status == 200, made
    status, app = xrpc(
        pds.url,
        "com.atproto.server.createAppPassword",
        body={"name": "stormhub"},
        token=made["accessJwt"],
    )
    assert status == 200, app
    return Account(made["did"], made["handle"], made["accessJwt"], app["password"])


@pytest.fixture(scope="module")
def hub() -> Hub:
    return load_hub(ROOT)


@pytest.fixture
def channel(
    pds: Pds, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlueskyChannel]:
    ch = _channel(pds, account, hub, monkeypatch)
    yield ch
    ch.close()


def _channel(
    pds: Pds, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch, **extra: Any
) -> BlueskyChannel:
    monkeypatch.setenv(ENV, account.app_password)
    config = BlueskyConfig(
        name="bluesky",
        service=pds.url,
        handle=account.handle,
        app_password=f"${{{ENV}}}",
        timeout=10,
        **extra,
    )
    return BlueskyChannel(config, hub)


# --- helpers -----------------------------------------------------------------------------


def _rkey(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def get_record(pds: Pds, uri: str) -> tuple[int, dict[str, Any]]:
    repo, collection, rkey = uri.removeprefix("at://").split("/")
    return xrpc(
        pds.url,
        "com.atproto.repo.getRecord",
        params={"repo": repo, "collection": collection, "rkey": rkey},
    )


def record(pds: Pds, uri: str) -> dict[str, Any]:
    status, found = get_record(pds, uri)
    assert status == 200, (uri, found)
    assert found["uri"] == uri
    return found


def post_uris(pds: Pds, account: Account) -> set[str]:
    uris: set[str] = set()
    cursor = None
    while True:
        params = {"repo": account.did, "collection": POST, "limit": "100"}
        if cursor:
            params["cursor"] = cursor
        status, page = xrpc(pds.url, "com.atproto.repo.listRecords", params=params)
        assert status == 200, page
        uris.update(r["uri"] for r in page["records"])
        cursor = page.get("cursor")
        if not cursor or not page["records"]:
            return uris


def link_spans(value: dict[str, Any]) -> list[tuple[bytes, str]]:
    """(the bytes a link facet covers, the facet's URI) for each link facet."""
    raw = value["text"].encode("utf-8")
    return [
        (raw[f["index"]["byteStart"] : f["index"]["byteEnd"]], feature["uri"])
        for f in value.get("facets", [])
        for feature in f["features"]
        if feature["$type"] == "app.bsky.richtext.facet#link"
    ]


def strong_refs(reply: dict[str, Any]) -> dict[str, dict[str, str]]:
    """A reply's root and parent as {uri, cid}; the SDK also writes their $type."""
    assert reply.keys() - {"$type"} == {"root", "parent"}, reply
    refs = {}
    for name in ("root", "parent"):
        ref = reply[name]
        assert ref.keys() - {"$type"} == {"uri", "cid"}, ref
        assert ref.get("$type", "com.atproto.repo.strongRef") == "com.atproto.repo.strongRef"
        refs[name] = {"uri": ref["uri"], "cid": ref["cid"]}
    return refs


def short_update(hub: Hub) -> Update:
    """A one-post update whose text has multi-byte characters before the permalink."""
    base = next(u for u in hub.updates if u.id == "2026-11-27-0615-emergency-department-open")
    data = base.model_dump()
    data.update(
        id="2026-11-27-0700-cafe-open",
        title="Café open — 24 h",
        body="Main lobby café is open: soup, water, phone charging ✅. Señal wifi “StormHub”.",
        tags=(),
        supersedes=None,
    )
    return Update.model_validate(data)


def key_for(post: Post, test: str) -> str:
    return f"bluesky:{post.update_id}:{post.revision}:{test}"


# --- tests -------------------------------------------------------------------------------


def test_publish_one_post_with_link_and_tag_facets(
    pds: Pds, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ch = _channel(pds, account, hub, monkeypatch, hashtags=("Imogen",))
    try:
        post = ch.render(short_update(hub))
        assert len(post.parts) == 1 and post.link in post.text
        key = key_for(post, "one")
        receipt = ch.publish(post, key)
    finally:
        ch.close()

    assert receipt.ids == (receipt.remote_id,)
    assert receipt.remote_id == f"at://{account.did}/{POST}/{record_key(key)}"
    assert receipt.url == f"https://bsky.app/profile/{HANDLE}/post/{record_key(key)}"
    value = record(pds, receipt.remote_id)["value"]
    assert value["$type"] == POST
    assert value["text"] == post.text
    assert "reply" not in value
    assert value["langs"] == [hub.info.language]
    # The permalink comes after multi-byte characters: byte and str offsets differ.
    assert post.text.index(post.link) != post.text.encode().index(post.link.encode())
    assert link_spans(value) == [(post.link.encode(), post.link)]
    tags = [
        (value["text"].encode()[f["index"]["byteStart"] : f["index"]["byteEnd"]], feat["tag"])
        for f in value["facets"]
        for feat in f["features"]
        if feat["$type"] == "app.bsky.richtext.facet#tag"
    ]
    assert tags == [(b"#Imogen", "Imogen")]


def test_publish_sample_update(
    pds: Pds, account: Account, hub: Hub, channel: BlueskyChannel
) -> None:
    update = next(u for u in hub.updates if u.id == "2026-11-27-0615-emergency-department-open")
    post = channel.render(update)
    key = key_for(post, "sample")
    receipt = channel.publish(post, key)

    assert len(receipt.ids) == len(post.parts)
    assert [_rkey(uri) for uri in receipt.ids] == [
        record_key(key, i) for i in range(len(post.parts))
    ]
    values = [record(pds, uri)["value"] for uri in receipt.ids]
    assert [v["text"] for v in values] == list(post.parts)
    with_link = [v for v in values if post.link in v["text"]]
    assert len(with_link) == 1, "the permalink appears once in the thread"
    assert (post.link.encode(), post.link) in link_spans(with_link[0])
    for value in values:
        for covered, uri in link_spans(value):
            assert covered == uri.encode(), "every link facet covers its URL exactly"


def test_every_sample_update_is_accepted(
    pds: Pds, account: Account, hub: Hub, channel: BlueskyChannel
) -> None:
    """The real PDS takes every part the adapter fits, including parts of 300 graphemes."""
    longest = 0
    for update in hub.updates:
        post = channel.render(update)
        receipt = channel.publish(post, key_for(post, "all"))
        assert len(receipt.ids) == len(post.parts), update.id
        longest = max(longest, *post.lengths)
    assert longest == 300, "the sample includes a part at the limit exactly"


def test_publishing_again_with_the_same_key_creates_nothing(
    pds: Pds, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    update = next(u for u in hub.updates if u.id == "2026-11-26-1900-curfew-tonight")
    first = _channel(pds, account, hub, monkeypatch)
    try:
        post = first.render(update)
        key = key_for(post, "again")
        receipt = first.publish(post, key)
    finally:
        first.close()
    before = post_uris(pds, account)
    assert set(receipt.ids) <= before

    # The PDS itself refuses the repeated record key (HTTP 500 from the reference PDS) ...
    status, answer = xrpc(
        pds.url,
        "com.atproto.repo.createRecord",
        body={
            "repo": account.did,
            "collection": POST,
            "rkey": record_key(key),
            "record": record(pds, receipt.ids[0])["value"],
        },
        token=account.access_jwt,
    )
    assert status == 500, (status, answer)

    # ... so a fresh process (new session) publishing the same delivery gets the same posts.
    again = _channel(pds, account, hub, monkeypatch)
    try:
        assert again.publish(post, key) == receipt
    finally:
        again.close()
    assert post_uris(pds, account) == before

    # A thread cut short (crash after part 1) is finished, not duplicated.
    status, _ = xrpc(
        pds.url,
        "com.atproto.repo.deleteRecord",
        body={"repo": account.did, "collection": POST, "rkey": _rkey(receipt.ids[-1])},
        token=account.access_jwt,
    )
    assert status == 200
    resumed = _channel(pds, account, hub, monkeypatch)
    try:
        assert resumed.publish(post, key).ids == receipt.ids
    finally:
        resumed.close()
    assert post_uris(pds, account) == before

    # The same key with different text is a conflict the adapter reports, not overwrites.
    other = Post(
        update_id=post.update_id,
        revision=post.revision,
        parts=("Something else entirely.",),
        link=post.link,
        limit=post.limit,
        lengths=(24,),
    )
    clash = _channel(pds, account, hub, monkeypatch)
    try:
        with pytest.raises(PublishError, match="different post") as caught:
            clash.publish(other, key)
    finally:
        clash.close()
    assert not caught.value.transient
    assert post_uris(pds, account) == before


def test_long_update_becomes_a_thread(
    pds: Pds, account: Account, hub: Hub, channel: BlueskyChannel
) -> None:
    update = next(u for u in hub.updates if u.id == LONG_UPDATE)
    post = channel.render(update)
    assert len(post.parts) >= 3
    receipt = channel.publish(post, key_for(post, "thread"))

    found = [record(pds, uri) for uri in receipt.ids]
    refs = [{"uri": r["uri"], "cid": r["cid"]} for r in found]
    assert "reply" not in found[0]["value"]
    for index, rec in enumerate(found[1:], start=1):
        assert rec["value"]["text"] == post.parts[index]
        assert strong_refs(rec["value"]["reply"]) == {"root": refs[0], "parent": refs[index - 1]}
    # Record keys sort in thread order.
    assert [_rkey(u) for u in receipt.ids] == sorted(_rkey(u) for u in receipt.ids)


def test_reply_continues_the_thread(
    pds: Pds, account: Account, hub: Hub, channel: BlueskyChannel
) -> None:
    post = channel.render(short_update(hub))
    first = channel.publish(post, key_for(post, "reply-root"))
    correction = channel.render_correction(short_update(hub))
    answer = channel.reply(first, correction, key_for(correction, "reply"))
    value = record(pds, answer.remote_id)["value"]
    root = record(pds, first.remote_id)
    assert value["text"].startswith("Correction: ")
    ref = {"uri": root["uri"], "cid": root["cid"]}
    assert strong_refs(value["reply"]) == {"root": ref, "parent": ref}


def test_delete_removes_every_record(
    pds: Pds, account: Account, hub: Hub, channel: BlueskyChannel
) -> None:
    update = next(u for u in hub.updates if u.id == "2026-11-27-1500-carbon-monoxide-warning")
    post = channel.render(update)
    receipt = channel.publish(post, key_for(post, "delete"))
    assert len(receipt.ids) > 1
    assert set(receipt.ids) <= post_uris(pds, account)

    channel.delete(receipt)

    for uri in receipt.ids:
        status, answer = get_record(pds, uri)
        assert (status, answer.get("error")) == (400, "RecordNotFound"), (uri, answer)
    assert not set(receipt.ids) & post_uris(pds, account)
    channel.delete(receipt)  # deleting again is not an error
    channel.delete(Receipt(remote_id=receipt.remote_id))  # nor is a receipt without ids


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 1 grapheme, 25 bytes


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        pytest.param("a" * 300, True, id="300-graphemes"),
        pytest.param("a" * 301, False, id="301-graphemes"),
        pytest.param("e\u0301" * 300, True, id="300-graphemes-600-code-points"),
        pytest.param(FAMILY * 120, True, id="3000-bytes"),
        pytest.param(FAMILY * 120 + "a", False, id="3001-bytes"),
        pytest.param(FAMILY * 200, False, id="200-graphemes-5000-bytes"),
    ],
)
def test_the_pds_enforces_the_limits_the_adapter_fits_to(
    pds: Pds, account: Account, text: str, accepted: bool
) -> None:
    assert bluesky_fits(text) is accepted  # the adapter's rule ...
    status, answer = xrpc(  # ... is the server's
        pds.url,
        "com.atproto.repo.createRecord",
        body={
            "repo": account.did,
            "collection": POST,
            "record": {"$type": POST, "text": text, "createdAt": "2026-11-27T12:00:00.000Z"},
        },
        token=account.access_jwt,
    )
    if accepted:
        assert status == 200, answer
        status, _ = xrpc(
            pds.url,
            "com.atproto.repo.deleteRecord",
            body={"repo": account.did, "collection": POST, "rkey": _rkey(answer["uri"])},
            token=account.access_jwt,
        )
        assert status == 200
    else:
        assert status == 400, answer
        assert answer["error"] == "InvalidRequest"
        assert "$.record.text" in answer["message"], answer


def test_a_wrong_app_password_is_a_credentials_error(
    pds: Pds, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ch = _channel(pds, account, hub, monkeypatch)
    monkeypatch.setenv(ENV, "aaaa-bbbb-cccc-dddd")
    try:
        with pytest.raises(PublishError) as caught:
            ch.publish(ch.render(short_update(hub)), "bluesky:wrong-password")
    finally:
        ch.close()
    assert caught.value.status == 401
    assert not caught.value.transient
    assert "aaaa-bbbb-cccc-dddd" not in str(caught.value)


def test_an_image_is_uploaded_and_embedded_in_the_first_post(
    pds: Pds, account: Account, make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = png(640, 480)
    root = make_hub(
        {
            "content/updates/2026-11-27-0700-flooding.md": "---\ntime: 2026-11-27 07:00\n"
            "title: Flooding on Harbor Road\nseverity: warning\nimage: images/flood.png\n"
            f"alt: {ALT}\n---\n{LONG_BODY}\n"
        }
    )
    (root / "content/images").mkdir()
    (root / "content/images/flood.png").write_bytes(data)
    image_hub = load_hub(root)
    ch = _channel(pds, account, image_hub, monkeypatch)
    try:
        post = ch.render(image_hub.update("2026-11-27-0700-flooding"))
        assert post.image_file is not None and len(post.parts) >= 2
        key = key_for(post, "image")
        receipt = ch.publish(post, key)
    finally:
        ch.close()

    values = [record(pds, uri)["value"] for uri in receipt.ids]
    assert values[0]["text"] == post.parts[0]
    assert images_embed(values[0]["embed"]) == {
        "$type": "app.bsky.embed.images",
        "images": [
            {
                "alt": ALT,
                "image": {
                    "$type": "blob",
                    "ref": {"$link": blob_cid(data)},  # the simulator's CID is the PDS's
                    "mimeType": "image/png",
                    "size": len(data),
                },
                "aspectRatio": {"width": 640, "height": 480},
            }
        ],
    }
    assert all("embed" not in value for value in values[1:])
    status, mime, body = get_blob(pds.url, account.did, blob_cid(data))
    assert (status, mime, body) == (200, "image/png", data)

    # A fresh process publishing the same delivery: the same blob, the same posts.
    before = post_uris(pds, account)
    again = _channel(pds, account, image_hub, monkeypatch)
    try:
        assert again.publish(post, key) == receipt
    finally:
        again.close()
    assert post_uris(pds, account) == before


@pytest.mark.parametrize(
    ("extra", "accepted"),
    [
        pytest.param(0, True, id="2000000-bytes"),
        pytest.param(1, False, id="2000001-bytes"),
    ],
)
def test_the_pds_takes_images_up_to_the_adapters_limit(
    pds: Pds, account: Account, extra: int, accepted: bool
) -> None:
    header = png(1, 1)
    data = header + os.urandom(IMAGE_MAX_BYTES + extra - len(header))
    status, answer = upload_blob(pds.url, data, "image/png", account.access_jwt)
    assert status == 200, answer  # uploading is allowed up to 5 MiB; the record decides
    blob = answer["blob"]
    assert blob == {"$type": "blob", "ref": {"$link": blob_cid(data)}, "mimeType": "image/png",
                    "size": len(data)}  # fmt: skip

    def create(image: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        value = {"$type": POST, "text": "Image limit.", "createdAt": "2026-11-27T12:00:00.000Z",
                 "embed": {"$type": "app.bsky.embed.images", "images": [image]}}  # fmt: skip
        body = {"repo": account.did, "collection": POST, "record": value}
        return xrpc(pds.url, "com.atproto.repo.createRecord", body=body, token=account.access_jwt)

    status, answer = create({"image": blob, "alt": ""})  # alt may be empty
    if not accepted:
        assert (status, answer["error"]) == (400, "InvalidRequest"), answer
        assert answer["message"] == (
            f"Invalid app.bsky.feed.post record: blob too big (maximum {IMAGE_MAX_BYTES}, "
            f"got {len(data)}) at $.record.embed.images[0].image"
        )
        return
    assert status == 200, answer
    status, answer = create({"image": blob})  # but is required (the simulator's wording)
    assert (status, answer.get("message")) == (
        400,
        'Invalid app.bsky.feed.post record: Missing required key "alt" at $.record.embed.images[0]',
    ), answer
