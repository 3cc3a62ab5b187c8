"""The ``facebook`` channel against the loopback Graph API (Facebook Page) simulator."""

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
from hub.channels.facebook import MAX_CHARS, FacebookChannel, utf16_length
from hub.config import GRAPH_VERSION, FacebookConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.facebook import FacebookSim
from tests.channels.facebook import make
from tests.conftest import NOW, HubFactory, write

TOKEN = "EAAsecret-PAGE-token-7c1e"
PAGE = "104200000000001"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
LONG_BODY = "\n\n".join(
    f"Paragraph {n} 🌀: shelter at Lincoln High (https://ready.gov/shelters?id={n}) has cots "
    "and water; bring medicines 💊, chargers and ID. " * 8
    for n in range(1, 8)
)
HUGE_BODY = "\n\n".join(  # more than Facebook's 63,206
    f"Paragraph {n} 🌀: shelter at Lincoln High (https://ready.gov/shelters?id={n}) has cots "
    "and water; bring medicines 💊, chargers and ID. " * 80
    for n in range(1, 8)
)


@dataclass
class Rig:
    channel: FacebookChannel
    sim: FacebookSim
    config: FacebookConfig

    def calls(self, method: str, suffix: str = "") -> list[Any]:
        return [r for r in self.sim.received if r.method == method and r.path.endswith(suffix)]


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    return load_hub(
        make_hub(
            {
                "content/updates/long.md": UPDATE.format(
                    time="08:00", title="Shelters open 🏫", severity="warning", body=LONG_BODY
                )
            }
        )
    )


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = FacebookSim(token=TOKEN, page_id=PAGE)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", TOKEN)
        channel = make_channel(config, hub)
        assert isinstance(channel, FacebookChannel)
        try:
            yield Rig(channel, sim, config)
        finally:
            channel.close()


def short(rig: Rig) -> Post:
    return rig.channel.render(next(u for u in rig.channel.hub.updates if u.id != "long"))


# --- construction and rendering -------------------------------------------------------


def test_rendering_needs_no_token_and_no_network(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = FacebookSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("FACEBOOK_PAGE_TOKEN", raising=False)
        channel = make_channel(config, hub)
        try:
            posts = [channel.render(u) for u in hub.updates]
            assert sim.received == []
            with pytest.raises(PublishError) as caught:
                channel.publish(posts[0], "stormhub-k")
            assert "FACEBOOK_PAGE_TOKEN not set" in str(caught.value)
            assert not caught.value.transient and caught.value.fatal
            assert sim.received == []
        finally:
            channel.close()


def test_a_huge_update_is_cut_to_the_limit_counting_emoji_as_two(
    rig: Rig, make_hub: HubFactory
) -> None:
    huge = load_hub(
        make_hub(
            {
                "content/updates/long.md": UPDATE.format(
                    time="08:00", title="Shelters open 🏫", severity="warning", body=HUGE_BODY
                )
            }
        )
    )
    rig.channel.hub = huge
    post = rig.channel.render(huge.update("long"))
    assert len(post.parts) == 1 and post.image is None  # a link post, never a thread
    text = post.text
    assert utf16_length("🌀") == 2 and utf16_length(text) > len(text)
    assert post.lengths == (utf16_length(text),) and utf16_length(text) <= MAX_CHARS
    assert utf16_length(text) > MAX_CHARS - 200  # filled, not cut short
    assert text.startswith("WARNING: Shelters open 🏫\n\n")
    assert text.endswith(f"…\n\n{post.link}")
    assert "https://ready.gov/shelters?id=" in text  # URLs in the body survive whole
    receipt = rig.channel.publish(post, "stormhub-long")
    assert rig.sim.posts[receipt.remote_id].message == text


# --- the request on the wire ------------------------------------------------------------


def test_publish_sends_message_and_link_with_a_bearer_token(rig: Rig) -> None:
    post = short(rig)
    receipt = rig.channel.publish(post, "stormhub-1")
    [create] = rig.calls("POST", "/feed")
    assert create.path == f"/{GRAPH_VERSION}/{PAGE}/feed"
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert create.headers["content-type"] == "application/x-www-form-urlencoded"
    assert create.form == {"message": [post.text], "link": [post.link]}
    assert post.link == "https://hub.example.org/updates/2026-11-27-0615-ed-open/"
    assert all(TOKEN not in r.path and "access_token" not in r.query for r in rig.sim.received)
    # The id Graph returns, and the post's permalink_url read right after.
    assert receipt.remote_id.startswith(f"{PAGE}_") and receipt.ids == (receipt.remote_id,)
    [read] = rig.calls("GET")
    assert read.path == f"/{GRAPH_VERSION}/{receipt.remote_id}" and read.query == {
        "fields": ["permalink_url"]
    }
    number = receipt.remote_id.split("_")[1]
    assert receipt.url == f"https://www.facebook.com/{PAGE}/posts/{number}"
    assert rig.sim.describe() == ["WARNING: Emergency Department open"]


def test_a_lost_permalink_read_still_returns_the_post(rig: Rig) -> None:
    # The POST goes through (a zero delay), the permalink read times out.
    rig.sim.inject(Fault("delay", seconds=0), Fault("timeout", seconds=1.5))
    receipt = rig.channel.publish(short(rig), "stormhub-2")
    assert receipt.url == f"https://www.facebook.com/{receipt.remote_id}"
    assert len(rig.sim.live()) == 1


# --- corrections, retractions, recovery through the fan-out -----------------------------


def test_fanout_posts_recovers_a_crash_edits_and_deletes(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = FacebookSim(token=TOKEN, page_id=PAGE)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        # A crash: Facebook took the first update, the ledger only has the claim.
        first = hub.updates[-1]
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed = channel.publish(channel.render(first), delivery_key(first.id, "facebook", "post"))
        channel.close()

        def fanout(current: Hub) -> Any:
            return Fanout(
                current, [config], ledger, policy=FAST, factory=make_channel, now=NOW
            ).run()

        report = fanout(hub)
        assert not report.failed
        assert sorted(o.update_id for o in report.outcomes) == sorted(u.id for u in hub.updates)
        assert len(sim.live()) == len(hub.updates)  # the crashed post was found, not re-sent
        assert crashed.url in {o.url for o in report.outcomes}
        assert fanout(hub).outcomes == []
        # A correction edits the post in place.
        root = tmp_path / "hub"
        write(root, {"content/updates/long.md": UPDATE.format(
            time="08:00", title="Shelters open 🏫", severity="warning",
            body=LONG_BODY.replace("Lincoln", "Roosevelt"),
        )})  # fmt: skip
        corrected = load_hub(root)
        report = fanout(corrected)
        assert [o.status for o in report.outcomes] == ["corrected"]
        long_post = next(p for p in sim.live() if p.message.startswith("WARNING: Shelters"))
        assert "Roosevelt" in long_post.message and "Lincoln" not in long_post.message
        assert long_post.edited is not None and len(sim.live()) == len(hub.updates)
        edit = [r for r in sim.received if r.method == "POST" and r.path.endswith(long_post.id)]
        assert len(edit) == 1 and edit[0].form["message"] == [long_post.message]
        assert fanout(corrected).outcomes == []
        # A retraction deletes it.
        text = (root / "content/updates/long.md").read_text()
        (root / "content/updates/long.md").write_text(
            text.replace("severity: warning", "severity: warning\nretracted: 2026-11-28 10:00")
        )
        report = fanout(load_hub(root))
        assert [o.status for o in report.outcomes] == ["retracted"]
        assert not any(line.startswith("WARNING: Shelters") for line in sim.describe())
        assert [r.method for r in sim.received].count("DELETE") == 1
        with Ledger(ledger) as rows:
            assert all(TOKEN not in str(row) for row in rows.rows())


def test_find_wants_this_deliverys_exact_text(rig: Rig, hub: Hub) -> None:
    original = short(rig)
    receipt = rig.channel.publish(original, "stormhub-a")
    rig.channel.publish(rig.channel.render(hub.update("long")), "stormhub-b")
    fresh = make_channel(rig.config, hub)
    try:
        assert fresh.find(original) == receipt
        [listing] = [r for r in rig.sim.received if r.path.endswith("/posts")]
        assert listing.query == {
            "fields": ["id,message,permalink_url,created_time"],
            "limit": ["100"],
        }
        # The correction's text is not there yet: the edit has not happened.
        fixed = replace(original, parts=(original.text.replace("generator", "mains"),))
        assert fixed.text != original.text
        assert fresh.find(fixed) is None
        fresh.edit(receipt, fixed)
        assert fresh.find(fixed) == receipt
        fresh.delete(receipt)
        assert fresh.find(fixed) is None
    finally:
        fresh.close()


def test_delete_twice_is_harmless_and_other_refusals_are_not(rig: Rig) -> None:
    receipt = rig.channel.publish(short(rig), "stormhub-del")
    rig.channel.delete(receipt)
    rig.channel.delete(receipt)  # code 100, subcode 33: already gone
    assert rig.sim.describe() == []
    rig.sim.inject(status(400, {"error": {"message": "(#200) Permissions error", "code": 200}}))
    with pytest.raises(PublishError) as caught:
        rig.channel.delete(receipt)
    assert caught.value.fatal and "permission" in str(caught.value)
    with pytest.raises(PublishError) as caught:
        rig.channel.edit(receipt, short(rig))
    assert "does not exist" in str(caught.value) and not caught.value.transient


# --- Facebook's refusals, throttling and the token --------------------------------------


def test_a_duplicate_post_is_refused_with_metas_words(rig: Rig) -> None:
    rig.channel.publish(short(rig), "stormhub-1")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-2")
    error = caught.value
    assert not error.transient and not error.fatal and error.status == 400
    assert "This status update is identical to the last one you posted" in str(error)
    assert "code 506" in str(error)
    assert len(rig.sim.live()) == 1


def test_the_page_rate_limit_waits_as_long_as_the_usage_header_says(rig: Rig) -> None:
    rig.sim.rate_limit = 2  # the POST and the permalink read
    rig.channel.publish(short(rig), "stormhub-1")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(short(rig), parts=("other",)), "stormhub-2")
    error = caught.value
    assert error.transient and not error.fatal
    assert "There have been too many calls to this Page account" in str(error)
    assert "code 80001" in str(error)
    assert error.retry_after is not None and 59 * 60 <= error.retry_after <= 60 * 60


def test_code_32_with_the_business_use_case_header(rig: Rig) -> None:
    header = json.dumps(
        {PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 10, "total_time": 10,
                 "estimated_time_to_regain_access": 7}]}
    )  # fmt: skip
    body = {"error": {"message": "(#32) Page request limit reached", "type": "OAuthException",
                      "code": 32, "fbtrace_id": "x"}}  # fmt: skip
    rig.sim.inject(status(403, body, **{"X-Business-Use-Case-Usage": header}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-32")
    assert caught.value.transient and caught.value.retry_after == 7 * 60
    assert caught.value.status == 403 and not caught.value.fatal


def test_a_rejected_page_token_names_the_variable_and_not_the_token(rig: Rig) -> None:
    rig.sim.token = "another-token"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-190")
    error = caught.value
    message = str(error)
    assert message.startswith("Facebook rejected the page token: Invalid OAuth access token")
    assert "code 190" in message and "set FACEBOOK_PAGE_TOKEN" in message
    assert "Page access token" in message
    assert error.fatal and not error.transient and TOKEN not in message


FAULTS = {
    "190-expired": status(400, {"error": {"message": f"Error validating access token {TOKEN}",
                                          "code": 190, "error_subcode": 463}}),
    "401": status(401, {"error": "unauthorized"}),
    "429": status(429, {"error": "slow down"}, **{"Retry-After": "7"}),
    "500": status(500, {"error": {"message": "An unknown error occurred", "code": 1,
                                  "is_transient": True}}),
    "html-502": Fault("status", status=502, body=b"<html>bad gateway</html>"),
    "timeout": Fault("timeout", seconds=1.5),
    "drop": Fault("drop"),
}  # fmt: skip


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_token_never_appears_in_errors(rig: Rig, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(short(rig), "stormhub-err")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value.args)


def test_the_fanout_ledger_keeps_no_token_after_a_failure(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = FacebookSim(token="not-this-one")
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
        assert report.failed and all(o.status == "failed" for o in report.outcomes)
        assert report.outcomes[0].fatal
        assert len(sim.received) == 1  # fatal: the later updates were not even tried
        with Ledger(ledger) as rows:
            assert all(TOKEN not in str(row) for row in rows.rows())
            assert any("FACEBOOK_PAGE_TOKEN" in str(row) for row in rows.rows())


# --- the simulator on the wire ----------------------------------------------------------


def _call(sim: FacebookSim, method: str, path: str, body: bytes | None = None) -> Any:
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


def test_the_simulator_speaks_graph() -> None:
    sim = FacebookSim(token=TOKEN, page_id=PAGE)
    with Simulator([sim]):
        code, headers, body = _call(sim, "POST", f"/v24.0/{PAGE}/feed", b"message=Hi")
        assert code == 200 and body["id"].startswith(f"{PAGE}_")
        assert json.loads(headers["X-App-Usage"])["call_count"] >= 0
        usage = json.loads(headers["X-Business-Use-Case-Usage"])
        assert usage[PAGE][0]["type"] == "pages"
        assert usage[PAGE][0]["estimated_time_to_regain_access"] == 0
        code, _, empty = _call(sim, "POST", f"/v24.0/{PAGE}/feed", b"message=")
        assert code == 400 and empty["error"]["message"] == "(#100) Missing message or attachment"
        code, _, other = _call(sim, "POST", "/v24.0/999/feed", b"message=x")
        assert other["error"]["code"] == 100 and other["error"]["error_subcode"] == 33
        code, _, listing = _call(sim, "GET", f"/v24.0/{PAGE}/posts?fields=id,message&limit=1")
        assert listing["data"] == [{"id": body["id"], "message": "Hi"}]
        assert listing["paging"]["cursors"]["after"] == body["id"]
        code, _, edited = _call(sim, "POST", f"/v24.0/{body['id']}", b"message=Hello")
        assert edited == {"success": True} and sim.describe() == ["Hello"]
        too_long = ("message=" + "x" * (MAX_CHARS + 1)).encode()
        code, _, refused = _call(sim, "POST", f"/v24.0/{PAGE}/feed", too_long)
        assert code == 400 and refused["error"]["code"] == 100
        code, _, gone = _call(sim, "DELETE", f"/v24.0/{body['id']}")
        assert gone == {"success": True} and sim.describe() == []
        anonymous = urllib.request.Request(sim.url + f"/v24.0/{PAGE}/posts")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(anonymous, timeout=5)
        error = json.loads(caught.value.read())["error"]
        caught.value.close()
        assert error["code"] == 190 and error["type"] == "OAuthException"
