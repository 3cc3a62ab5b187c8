"""The ``instagram`` channel against the loopback Instagram (Graph API) simulator."""

from __future__ import annotations

import functools
import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from hub.cards import card_alt, card_path
from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.facebook import utf16_length
from hub.channels.instagram import HASHTAG, MENTION, InstagramChannel
from hub.config import GRAPH_VERSION, InstagramConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.instagram import InstagramSim
from hub.text import shorten
from tests.channels.instagram import make
from tests.conftest import MKDOCS_YML, NOW, HubFactory, write

TOKEN = "EAAsecret-IG-token-5b2d"
USER = "17841400000000001"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
TAGGY = (
    "Shelters are open 🏠 #storm #flood #shelter #power #water #roads #help. "
    + " ".join(f"@user{n}" for n in range(25))
    + " Details at https://ready.gov/shelters. "
    + "Bring medicines, chargers and ID; pets are welcome in carriers. " * 40
)


@dataclass
class Rig:
    channel: InstagramChannel
    sim: InstagramSim
    config: InstagramConfig

    def calls(self, method: str, suffix: str = "") -> list[Any]:
        return [r for r in self.sim.received if r.method == method and r.path.endswith(suffix)]


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    update = UPDATE.format(time="08:00", title="Shelters open", severity="warning", body=TAGGY)
    return load_hub(make_hub({"content/updates/taggy.md": update}))


def rig_for(hub: Hub, sim: InstagramSim, tmp: Path, **update: Any) -> Rig:
    config, _ = make(sim.url, tmp)
    config = config.model_copy(update=update)
    channel = make_channel(config, hub)
    assert isinstance(channel, InstagramChannel)
    return Rig(channel, sim, config)


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = InstagramSim(token=TOKEN, user_id=USER)
    with Simulator([sim]):
        monkeypatch.setenv("INSTAGRAM_ACCESS_TOKEN", TOKEN)
        rig = rig_for(hub, sim, tmp_path)
        try:
            yield rig
        finally:
            rig.channel.close()


def short(rig: Rig) -> Post:
    return rig.channel.render(rig.channel.hub.update("2026-11-27-0615-ed-open"))


# --- rendering ------------------------------------------------------------------------


def test_the_caption_keeps_instagrams_limits_and_the_permalink(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = InstagramSim()
    with Simulator([sim]):
        monkeypatch.delenv("INSTAGRAM_ACCESS_TOKEN", raising=False)
        rig = rig_for(hub, sim, tmp_path, hashtags=("PortAlderStorm", "Hurricane"))
        update = hub.update("taggy")
        post = rig.channel.render(update)
        assert sim.received == []  # rendering is pure
        [caption] = post.parts
        assert post.lengths == (utf16_length(caption),) and utf16_length(caption) <= 2200
        assert utf16_length(caption) > 2100  # cut near the limit, not short of it
        assert caption.startswith("WARNING: Shelters open\n\nShelters are open 🏠 #storm #flood")
        assert caption.endswith(f"…\n\n#PortAlderStorm #Hurricane\n{post.link}")
        assert HASHTAG.findall(caption) == [
            "#storm", "#flood", "#shelter", "#PortAlderStorm", "#Hurricane"
        ]  # fmt: skip
        assert " power water roads help." in caption  # the tags past 5 lost their #
        assert len(MENTION.findall(caption)) == 20 and " user20 user21" in caption
        assert "https://ready.gov/shelters" in caption
        # The image is the update's card on the hub, with its alt text.
        assert post.image == "https://hub.example.org/" + card_path(update)
        assert len(card_alt(update)) > 1000
        assert post.alt == shorten(card_alt(update), 1000) and len(post.alt) <= 1000
        assert post.image_file is None
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(post, "stormhub-k")
        assert "INSTAGRAM_ACCESS_TOKEN not set" in str(caught.value)
        assert sim.received == []
        rig.channel.close()


# --- the calls on the wire --------------------------------------------------------------


def test_publish_is_container_publish_permalink(rig: Rig) -> None:
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-1")
    [container_id] = list(rig.sim.containers)
    # The container is ready at once, as image containers usually are: no status poll.
    assert [(r.method, r.path) for r in rig.sim.received] == [
        ("POST", f"/{GRAPH_VERSION}/{USER}/media"),
        ("POST", f"/{GRAPH_VERSION}/{USER}/media_publish"),
        ("GET", f"/{GRAPH_VERSION}/{receipt.remote_id}"),
    ]
    container, publish, permalink = rig.sim.received
    assert container.form == {
        "image_url": [post.image],
        "caption": [post.text],
        "alt_text": [post.alt],
    }
    assert publish.form == {"creation_id": [container_id]}
    assert permalink.query == {"fields": ["permalink"]}
    media = rig.sim.media[receipt.remote_id]
    assert receipt.url == f"https://www.instagram.com/p/{media.shortcode}/"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in rig.sim.received)
    assert all(TOKEN not in r.path and "access_token" not in r.query for r in rig.sim.received)
    assert rig.sim.describe() == [f"WARNING: Emergency Department open [image: {post.alt}]"]


def test_a_container_not_ready_is_polled_then_published(rig: Rig) -> None:
    rig.sim.not_ready_polls = 2
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-2")
    [container_id] = list(rig.sim.containers)
    status_read = ("GET", f"/{GRAPH_VERSION}/{container_id}")
    publish = ("POST", f"/{GRAPH_VERSION}/{USER}/media_publish")
    assert [(r.method, r.path) for r in rig.sim.received] == [
        ("POST", f"/{GRAPH_VERSION}/{USER}/media"),
        publish,  # 9007 / 2207027: not ready
        status_read,  # IN_PROGRESS
        status_read,  # IN_PROGRESS
        status_read,  # FINISHED
        publish,
        ("GET", f"/{GRAPH_VERSION}/{receipt.remote_id}"),
    ]
    polls = [r for r in rig.sim.received if r.path == f"/{GRAPH_VERSION}/{container_id}"]
    assert all(r.query == {"fields": ["status_code,status"]} for r in polls)
    assert [m.id for m in rig.sim.live()] == [receipt.remote_id]
    assert rig.sim.media[receipt.remote_id].caption == post.text


def test_a_slow_container_is_a_transient_error_and_the_retry_reuses_it(rig: Rig) -> None:
    rig.sim.processing_seconds = 30.0
    post = short(rig)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-slow")
    assert caught.value.transient and "still processing" in str(caught.value)
    assert len(rig.calls("POST", "/media_publish")) == 1  # refused: not ready
    [container] = rig.sim.containers.values()
    container.ready_at = 0  # processing done
    rig.sim.received.clear()
    receipt = rig.channel.publish(post, "stormhub-slow")
    # The retry reads the remembered container's status, then publishes it.
    assert [(r.method, r.path) for r in rig.sim.received] == [
        ("GET", f"/{GRAPH_VERSION}/{container.id}"),
        ("POST", f"/{GRAPH_VERSION}/{USER}/media_publish"),
        ("GET", f"/{GRAPH_VERSION}/{receipt.remote_id}"),
    ]
    assert rig.sim.containers == {container.id: container}  # no second container
    assert rig.sim.media[receipt.remote_id].caption == post.text


def test_a_container_still_not_ready_after_the_poll_is_retried_not_remade(rig: Rig) -> None:
    rig.sim.not_ready_polls = 1
    post = short(rig)
    # Status says FINISHED but media_publish still says not ready (Meta's two views lag).
    # Container, publish (9007), IN_PROGRESS, FINISHED: as simulated; then a 9007 again.
    lag = {"error": {"message": "Media ID is not available", "type": "OAuthException",
                     "code": 9007, "error_subcode": 2207027}}  # fmt: skip
    rig.sim.inject(*[Fault("delay")] * 4, status(400, lag))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-lag")
    assert caught.value.transient and caught.value.retry_after == 5.0
    assert "still processing" in str(caught.value) and "2207027" in str(caught.value)
    receipt = rig.channel.publish(post, "stormhub-lag")
    assert len(rig.calls("POST", "/media")) == 1 and len(rig.sim.live()) == 1
    assert rig.sim.live()[0].id == receipt.remote_id


def test_a_lost_publish_answer_is_found_not_published_twice(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = short(rig)
    request = rig.channel.request

    def lossy(method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = request(method, url, **kwargs)
        if url.endswith("/media_publish"):
            raise PublishError("Instagram did not answer within 1 s; retrying", transient=True)
        return response

    monkeypatch.setattr(rig.channel, "request", lossy)
    with pytest.raises(PublishError):
        rig.channel.publish(post, "stormhub-lost")
    monkeypatch.setattr(rig.channel, "request", request)
    [container] = rig.sim.containers
    rig.sim.received.clear()
    receipt = rig.channel.publish(post, "stormhub-lost")
    assert len(rig.sim.live()) == 1 and receipt.remote_id in rig.sim.media
    # The retry sees the container PUBLISHED and looks the post up: no second publish.
    assert [(r.method, r.path) for r in rig.sim.received] == [
        ("GET", f"/{GRAPH_VERSION}/{container}"),
        ("GET", f"/{GRAPH_VERSION}/{USER}/media"),
    ]
    assert receipt.url and receipt.url.startswith("https://www.instagram.com/p/")


def test_find_recovers_a_post_by_its_caption(rig: Rig, hub: Hub) -> None:
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-a")
    rig.channel.publish(rig.channel.render(hub.update("taggy")), "stormhub-b")
    fresh = make_channel(rig.config, hub)
    try:
        assert fresh.find(post) == receipt
        [listing] = rig.calls("GET", f"/{USER}/media")
        assert listing.query == {"fields": ["id,caption,permalink,timestamp"], "limit": ["50"]}
        assert fresh.find(replace(post, parts=("Correction: " + post.text,))) is None
    finally:
        fresh.close()


# --- Instagram's limits and refusals ----------------------------------------------------


def test_the_simulator_refuses_long_captions_and_too_many_hashtags(rig: Rig) -> None:
    post = short(rig)
    for caption, words in (
        ("x" * 2201, "The caption can be at most 2200 characters"),
        ("🌀" * 1101, "The caption can be at most 2200 characters"),  # 2,202 UTF-16 units
        ("#a1 #b #c #d #e #f " + post.link, "at most 5 hashtags"),
        (" ".join(f"@u{n}" for n in range(21)), "at most 20 @ mentions"),
    ):
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(replace(post, parts=(caption,)), f"stormhub-{len(caption)}")
        error = caught.value
        assert not error.transient and not error.fatal and error.status == 400
        assert words in str(error) and "code 36004, subcode 2207010" in str(error)
    assert rig.sim.containers == {} and rig.sim.live() == []
    rig.channel.publish(replace(post, parts=("x" * 2200,)), "stormhub-2200")


def test_the_publishing_limit_stops_the_channel_for_this_run(rig: Rig, hub: Hub) -> None:
    rig.sim.publish_limit = 1
    rig.channel.publish(short(rig), "stormhub-1")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.update("taggy")), "stormhub-2")
    error = caught.value
    assert not error.transient and error.fatal
    assert "Instagram's publishing limit is reached" in str(error)
    assert "You reached maximum number of posts" in str(error) and "2207042" in str(error)
    quota = rig.channel._call("GET", f"{USER}/content_publishing_limit",
                              params={"fields": "config,quota_usage"})  # fmt: skip
    assert quota == {"data": [{"quota_usage": 1,
                               "config": {"quota_total": 1, "quota_duration": 86400}}]}  # fmt: skip


def test_throttling_waits_as_long_as_the_usage_header_says(rig: Rig) -> None:
    header = json.dumps(
        {USER: [{"type": "instagram", "call_count": 100, "total_cputime": 4, "total_time": 4,
                 "estimated_time_to_regain_access": 12}]}
    )  # fmt: skip
    body = {"error": {"message": "There have been too many calls to this Instagram account.",
                      "type": "OAuthException", "code": 80002, "is_transient": True}}  # fmt: skip
    rig.sim.inject(status(400, body, **{"X-Business-Use-Case-Usage": header}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-throttled")
    assert caught.value.transient and caught.value.retry_after == 12 * 60
    # The simulator's own counter, past its limit.
    rig.sim.rate_limit = len(rig.sim.received)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-throttled")
    assert "code 80002" in str(caught.value) and caught.value.retry_after == 60 * 60


def test_a_rejected_token_names_the_variable_and_not_the_token(rig: Rig) -> None:
    rig.sim.token = "another"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-190")
    message = str(caught.value)
    assert caught.value.fatal and not caught.value.transient
    assert "Instagram rejected the access token" in message and "code 190" in message
    assert "set INSTAGRAM_ACCESS_TOKEN" in message and TOKEN not in message


FAULTS = {
    "190": status(400, {"error": {"message": f"Malformed access token {TOKEN}", "code": 190}}),
    "401": status(401, {"error": "unauthorized"}),
    "500": status(500, {"error": {"message": "Instagram server error", "code": -1,
                                  "error_subcode": 2207001}}),
    "timeout": Fault("timeout", seconds=1.5),
    "drop": Fault("drop"),
}  # fmt: skip


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_token_never_appears_in_errors(rig: Rig, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-err")
    assert TOKEN not in str(caught.value)


# --- the card, fetched from a site on loopback ------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on loopback: (its URL, its folder)."""
    folder = tmp_path / "site"
    folder.mkdir()
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder))
    )  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _picture(size: tuple[int, int], kind: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


def test_the_card_is_fetched_from_the_site_and_checked(
    site: tuple[str, Path],
    make_hub: HubFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, folder = site
    hub = load_hub(make_hub({"mkdocs.yml": MKDOCS_YML.replace("https://hub.example.org/", url)}))
    update = hub.updates[0]
    card = folder / card_path(update)
    card.parent.mkdir(parents=True)
    sim = InstagramSim(token=TOKEN)
    with Simulator([sim]):
        monkeypatch.setenv("INSTAGRAM_ACCESS_TOKEN", TOKEN)
        rig = rig_for(hub, sim, tmp_path)
        try:
            post = rig.channel.render(update)
            assert post.image == url + card_path(update)
            # Not there yet: Meta's download fails.
            with pytest.raises(PublishError) as caught:
                rig.channel.publish(post, "stormhub-card")
            assert "code 9004, subcode 2207052" in str(caught.value)
            assert not caught.value.transient
            # Too wide for Instagram.
            card.write_bytes(_picture((1080, 400)))
            with pytest.raises(PublishError) as caught:
                rig.channel.publish(post, "stormhub-card")
            assert "The submitted image with aspect ratio ('1080', '400')" in str(caught.value)
            # A PNG named .jpg.
            card.write_bytes(_picture((1080, 1350), "PNG"))
            with pytest.raises(PublishError) as caught:
                rig.channel.publish(post, "stormhub-card")
            assert "not a JPEG image" in str(caught.value)
            # A 4:5 JPEG card: published.
            card.write_bytes(_picture((1080, 1350)))
            receipt = rig.channel.publish(post, "stormhub-card")
            assert sim.media[receipt.remote_id].image_url == post.image
            assert sim.fetched == [post.image] * 4
        finally:
            rig.channel.close()


# --- corrections and retractions through the fan-out ------------------------------------


def test_fanout_posts_recovers_comments_corrections_and_deletes(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = InstagramSim(token=TOKEN, user_id=USER)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("INSTAGRAM_ACCESS_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        first = hub.updates[-1]
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed = channel.publish(
            channel.render(first), delivery_key(first.id, "instagram", "post")
        )
        channel.close()

        def fanout(current: Hub) -> Any:
            return Fanout(
                current, [config], ledger, policy=FAST, factory=make_channel, now=NOW
            ).run()

        report = fanout(hub)
        assert not report.failed
        assert len(sim.live()) == len(hub.updates)
        assert crashed.url in {o.url for o in report.outcomes}
        assert fanout(hub).outcomes == []
        # A correction: a comment on the post, marked "Correction:".
        root = tmp_path / "hub"
        write(root, {"content/updates/taggy.md": UPDATE.format(
            time="08:00", title="Shelters open", severity="warning",
            body=TAGGY.replace("carriers", "crates"),
        )})  # fmt: skip
        corrected = load_hub(root)
        report = fanout(corrected)
        assert [o.status for o in report.outcomes] == ["corrected"]
        taggy = next(m for m in sim.live() if m.caption.startswith("WARNING: Shelters open"))
        [comment] = taggy.comments
        assert comment.text.startswith("Correction: Shelters open") and "crates" in comment.text
        assert len(sim.live()) == len(hub.updates)  # no new post
        assert fanout(corrected).outcomes == []
        # A retraction deletes the post.
        text = (root / "content/updates/taggy.md").read_text()
        (root / "content/updates/taggy.md").write_text(
            text.replace("severity: warning", "severity: warning\nretracted: 2026-11-28 10:00")
        )
        report = fanout(load_hub(root))
        assert [o.status for o in report.outcomes] == ["retracted"]
        assert taggy.deleted and [r.method for r in sim.received].count("DELETE") == 1
        with Ledger(ledger) as rows:
            assert all(TOKEN not in str(row) for row in rows.rows())


def test_where_deleting_is_refused_the_retraction_is_a_comment(rig: Rig, hub: Hub) -> None:
    receipt = rig.channel.publish(short(rig), "stormhub-x")
    rig.sim.deletes = False  # an Instagram Login host
    update = hub.update("2026-11-27-0615-ed-open")
    notice = rig.channel.retract(receipt, update, "stormhub-r")
    media = rig.sim.media[receipt.remote_id]
    assert not media.deleted and notice.remote_id == media.comments[0].id
    assert media.comments[0].text.startswith("Retracted: Emergency Department open.")
    rig.sim.deletes = True
    assert rig.channel.retract(receipt, update, "stormhub-r") == receipt
    assert media.deleted
    rig.channel.delete(receipt)  # already gone: harmless


# --- the simulator on the wire ----------------------------------------------------------


def _call(sim: InstagramSim, method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(
        sim.url + path, data=body, method=method, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        answer = (exc.code, dict(exc.headers), json.loads(exc.read()))
        exc.close()
        return answer


def test_the_simulator_models_a_container_not_ready_for_some_status_reads() -> None:
    sim = InstagramSim(token=TOKEN, user_id=USER)
    with Simulator([sim]):
        image = b"image_url=https%3A%2F%2Fhub.example.org%2Fcards%2Fa.jpg&caption=Hi"
        _, _, ready = _call(sim, "POST", f"/v24.0/{USER}/media", image)
        _, _, state = _call(sim, "GET", f"/v24.0/{ready['id']}?fields=status_code")
        assert state["status_code"] == "FINISHED"  # by default: ready at once
        sim.not_ready_polls = 2
        _, _, made = _call(sim, "POST", f"/v24.0/{USER}/media", image)
        body = f"creation_id={made['id']}".encode()
        seen = []
        for _ in range(2):  # not ready, for publishing or to read, for two status reads
            code, _, early = _call(sim, "POST", f"/v24.0/{USER}/media_publish", body)
            assert code == 400 and early["error"]["error_subcode"] == 2207027
            _, _, state = _call(sim, "GET", f"/v24.0/{made['id']}?fields=status_code")
            seen.append(state["status_code"])
        _, _, state = _call(sim, "GET", f"/v24.0/{made['id']}?fields=status_code")
        assert [*seen, state["status_code"]] == ["IN_PROGRESS", "IN_PROGRESS", "FINISHED"]
        code, _, media = _call(sim, "POST", f"/v24.0/{USER}/media_publish", body)
        assert code == 200 and media["id"] in sim.media


def test_the_simulator_speaks_the_content_publishing_api() -> None:
    sim = InstagramSim(token=TOKEN, user_id=USER)
    sim.processing_seconds = 60.0
    with Simulator([sim]):
        image = b"image_url=https%3A%2F%2Fhub.example.org%2Fcards%2Fa.jpg&caption=Hi"
        code, headers, made = _call(sim, "POST", f"/v24.0/{USER}/media", image)
        assert code == 200 and set(made) == {"id"}
        usage = json.loads(headers["X-Business-Use-Case-Usage"])
        assert usage[USER][0]["type"] == "instagram" and "X-App-Usage" in headers
        code, _, state = _call(sim, "GET", f"/v24.0/{made['id']}?fields=status_code")
        assert state == {"id": made["id"], "status_code": "IN_PROGRESS"}
        body = f"creation_id={made['id']}".encode()
        code, _, early = _call(sim, "POST", f"/v24.0/{USER}/media_publish", body)
        assert code == 400 and early["error"]["code"] == 9007
        assert early["error"]["error_subcode"] == 2207027
        assert early["error"]["message"] == "Media ID is not available"
        assert early["error"]["error_user_msg"] == (
            "The media is not ready for publishing, please wait for a moment"
        )
        sim.containers[made["id"]].ready_at = 0
        code, _, media = _call(sim, "POST", f"/v24.0/{USER}/media_publish", body)
        assert code == 200 and media["id"] in sim.media
        code, _, again = _call(sim, "POST", f"/v24.0/{USER}/media_publish", body)
        assert code == 400 and again["error"]["code"] == 100  # published once only
        code, _, png = _call(sim, "POST", f"/v24.0/{USER}/media", b"image_url=https://x.org/a.png")
        assert png["error"]["error_user_title"] == "Media download has failed."
        code, _, fields = _call(sim, "GET", f"/v24.0/{media['id']}?fields=permalink,caption")
        assert fields["caption"] == "Hi" and fields["permalink"].startswith("https://www.instagram")
        code, _, said = _call(sim, "POST", f"/v24.0/{media['id']}/comments", b"message=Fixed")
        assert said["id"] == sim.media[media["id"]].comments[0].id
        assert sim.describe() == ["Hi [image]", "  comment: Fixed"]
        code, _, gone = _call(sim, "DELETE", f"/v24.0/{media['id']}")
        assert gone == {"success": True} and sim.describe() == []
        code, _, missing = _call(sim, "DELETE", f"/v24.0/{media['id']}")
        assert missing["error"]["error_subcode"] == 33
