"""The ``linkedin`` channel (httpx) against the loopback LinkedIn Posts API simulator."""

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
from urllib.parse import quote

import pytest

from hub.authoring import mark_retracted
from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.linkedin import (
    MAX_COMMENTARY,
    LinkedInChannel,
    _until_midnight_utc,
    linkedin_length,
    little_text,
)
from hub.config import LinkedInConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.linkedin import LinkedInSim, parse_little
from tests.channels.linkedin import make
from tests.conftest import NOW, ROOT, HubFactory

TOKEN = "li-SECRET-7c1e9b42"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
TRICKY = (
    "Call (757) 555-0142 or email ops_desk@portalder.example [24/7]. "
    "Bring *all* medicines & ID; {no pets} <unless> in carriers ~ #1 rule: stay safe!\n\n"
    "Map: https://en.wikipedia.org/wiki/Hurricane_Sandy_(2012) and C:\\shelters\\list.txt"
)


@dataclass
class Rig:
    channel: LinkedInChannel
    sim: LinkedInSim
    config: LinkedInConfig

    def creates(self) -> list[Any]:
        return [r for r in self.sim.received if r.method == "POST" and r.path == "/rest/posts"]

    def live(self) -> list[Any]:
        return [p for p in self.sim.posts.values() if not p.deleted]


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    return load_hub(
        make_hub(
            {
                "content/updates/tricky.md": UPDATE.format(
                    time="08:00",
                    title="Shelter (Lincoln High) open",
                    severity="warning",
                    body=TRICKY,
                )
            }
        )
    )


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = LinkedInSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", TOKEN)
        channel = make_channel(config, hub)
        assert isinstance(channel, LinkedInChannel)
        try:
            yield Rig(channel, sim, config)
        finally:
            channel.close()


def tricky(rig: Rig, hub: Hub) -> Post:
    return rig.channel.render(hub.update("tricky"))


# --- little text: the table ------------------------------------------------------------------

ESCAPES = [
    ("pipe", "Shelter | open", r"Shelter \| open"),
    ("braces", "{braces}", r"\{braces\}"),
    ("at sign", "email us @ the desk", r"email us \@ the desk"),
    ("mention stays literal", "thanks @PortAlderHealth", r"thanks \@PortAlderHealth"),
    (
        "mention syntax stays literal",
        "@[Name](urn:li:person:1)",
        r"\@\[Name\]\(urn:li:person:1\)",
    ),
    ("brackets", "[1] see note", r"\[1\] see note"),
    ("parentheses", "call (757) 555-0142", r"call \(757\) 555-0142"),
    ("angle brackets", "<b>not html</b>", r"\<b\>not html\</b\>"),
    ("asterisks", "*bold* claims", r"\*bold\* claims"),
    ("underscores", "_italic_ and snake_case", r"\_italic\_ and snake\_case"),
    ("tildes", "~strike~ ~5 km", r"\~strike\~ \~5 km"),
    ("backslash", r"C:\shelters\list.txt", r"C:\\shelters\\list.txt"),
    ("already escaped", r"already \* escaped", r"already \\\* escaped"),
    ("ends in a backslash", "path\\", r"path\\"),
    ("hashtag", "#PortAlderStorm", r"{hashtag|\#|PortAlderStorm}"),
    ("hashtags in text", "Go #Storm2026 #ready", r"Go {hashtag|\#|Storm2026} {hashtag|\#|ready}"),
    ("hashtag with underscore", "#storm_2026", r"{hashtag|\#|storm\_2026}"),
    ("number sign is no hashtag", "Shelter #2 open", r"Shelter \#2 open"),
    ("inside a word is no hashtag", "C# and F#", r"C\# and F\#"),
    ("lone number sign", "# ", r"\# "),
    (
        "url with parentheses and underscores",
        "https://en.wikipedia.org/wiki/Hurricane_Sandy_(2012)",
        r"https://en.wikipedia.org/wiki/Hurricane\_Sandy\_\(2012\)",
    ),
    (
        "url with a fragment",
        "https://hub.example.org/updates/a_b/#top",
        r"https://hub.example.org/updates/a\_b/\#top",
    ),
    ("template-looking text", "{hashtag|#|fake}", r"\{hashtag\|\#\|fake\}"),
    ("emoji", "⚠️ Stay inside 🌀👨‍👩‍👧", "⚠️ Stay inside 🌀👨‍👩‍👧"),
    ("full-width number sign", "＃tag and ＃", "＃tag and ＃"),
    ("line breaks", "Line one\n\nLine two", "Line one\n\nLine two"),
    ("every reserved one", "|{}@[]()<>#\\*_~", r"\|\{\}\@\[\]\(\)\<\>\#\\\*\_\~"),
]


@pytest.mark.parametrize(("shown", "wire"), [r[1:] for r in ESCAPES], ids=[r[0] for r in ESCAPES])
def test_little_text_escapes_and_linkedin_shows_it_back(shown: str, wire: str) -> None:
    assert little_text(shown) == wire
    assert parse_little(wire) == (shown, True)


def test_unescaped_reserved_characters_cut_the_post_silently() -> None:
    assert parse_little("Call (757) now") == ("Call ", False)
    assert parse_little("ops_desk") == ("ops", False)
    assert parse_little("end\\") == ("end", False)
    assert parse_little(r"\n is no escape") == ("", False)
    assert parse_little("Hi @[Acme](urn:li:organization:1) and #tag") == ("Hi Acme and #tag", True)
    assert parse_little("{hashtag|#|Technology}") == ("#Technology", True)
    assert parse_little("{hashtag|＃|Tech}") == ("＃Tech", True)


def test_escaping_is_what_keeps_the_whole_post(rig: Rig, hub: Hub) -> None:
    post = tricky(rig, hub)
    raw = dict(rig.channel.body(post), commentary=post.text)  # as a naive client sends it
    code, headers, _ = _call(rig.sim, "POST", "/rest/posts", raw)
    assert code == 201  # accepted, and silently cut at the first "("
    assert rig.sim.posts[headers["x-restli-id"]].shown == "WARNING: Shelter "
    receipt = rig.channel.publish(post, "stormhub-escaped")
    assert rig.sim.posts[receipt.remote_id].shown == post.text
    assert "Hurricane_Sandy_(2012)" in post.text and "#PortAlderStorm" in post.text


# --- rendering ---------------------------------------------------------------------------------


def test_constructing_and_rendering_need_no_token_and_no_network(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = LinkedInSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("LINKEDIN_ACCESS_TOKEN", raising=False)
        channel = make_channel(config, hub)
        try:
            posts = [channel.render(u) for u in hub.updates]
            assert sim.received == []
            with pytest.raises(PublishError) as caught:
                channel.publish(posts[0], "stormhub-k")
        finally:
            channel.close()
        assert "LINKEDIN_ACCESS_TOKEN not set" in str(caught.value)
        assert not caught.value.transient and caught.value.fatal
        assert sim.received == []


def test_the_sample_updates_fit_and_linkedin_shows_them_whole(rig: Rig) -> None:
    sample = load_hub(ROOT)
    channel = make_channel(rig.config, sample)
    try:
        for number, update in enumerate(sample.updates):
            post = channel.render(update)
            assert len(post.parts) == 1 and post.lengths[0] <= MAX_COMMENTARY
            assert post.text.endswith(f"#PortAlderStorm\n{post.link}")
            receipt = channel.publish(post, f"stormhub-sample-{number}")
            assert rig.sim.posts[receipt.remote_id].shown == post.text
    finally:
        channel.close()


def test_length_counts_utf16_units_of_the_shown_text_not_the_escapes(rig: Rig, hub: Hub) -> None:
    assert linkedin_length("abc") == 3 and linkedin_length("🌀") == 2
    assert linkedin_length("👨‍👩‍👧") == 8 and linkedin_length("é") == 1
    base = tricky(rig, hub)
    shown = "(" * MAX_COMMENTARY  # 6,000 characters on the wire, 3,000 shown
    receipt = rig.channel.publish(replace(base, parts=(shown,)), "stormhub-3000")
    assert rig.sim.posts[receipt.remote_id].shown == shown
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(base, parts=("🌀" * 1501,)), "stormhub-3002")
    error = caught.value
    assert error.status == 400 and not error.transient and not error.fatal
    assert (
        "ShareCommentary text length (3002 characters) exceeded the maximum allowed "
        "(3000 characters)"
    ) in str(error)


def test_a_long_update_is_cut_to_3000_with_its_link(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = " ".join(f"🌀 Shelter_{n} (cots) #{n} is open;" for n in range(400))
    hub = load_hub(
        make_hub(
            {
                "content/updates/long.md": UPDATE.format(
                    time="09:00", title="Shelters", severity="info", body=body
                )
            }
        )
    )
    sim = LinkedInSim()
    with Simulator([sim]):
        config, env = make(sim.url, tmp_path)
        monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", env["LINKEDIN_ACCESS_TOKEN"])
        channel = make_channel(config, hub)
        try:
            post = channel.render(hub.update("long"))
            assert len(post.parts) == 1 and 2900 < post.lengths[0] <= MAX_COMMENTARY
            assert len(post.text) < post.lengths[0]  # emoji count two
            assert "…" in post.text and post.text.endswith(post.link)
            assert len(little_text(post.text)) > MAX_COMMENTARY  # the escapes do not count
            receipt = channel.publish(post, "stormhub-long")
            assert sim.posts[receipt.remote_id].shown == post.text
        finally:
            channel.close()


# --- the request on the wire -------------------------------------------------------------------


def test_publish_sends_the_posts_api_request(rig: Rig, hub: Hub) -> None:
    post = tricky(rig, hub)
    receipt = rig.channel.publish(post, "stormhub-wire")
    [request] = rig.sim.received
    assert (request.method, request.path) == ("POST", "/rest/posts")
    headers = request.headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["linkedin-version"] == "202609"
    assert headers["x-restli-protocol-version"] == "2.0.0"
    assert headers["content-type"] == "application/json"
    body = request.json
    assert body == {
        "author": "urn:li:organization:10400001",
        "commentary": little_text(post.text),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "content": {
            "article": {
                "source": post.link,
                "title": "Shelter (Lincoln High) open",
                "description": body["content"]["article"]["description"],
            }
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    description = body["content"]["article"]["description"]
    assert description.startswith("Call (757) 555-0142") and len(description) <= 300
    assert body["commentary"].startswith(r"WARNING: Shelter \(Lincoln High\) open")
    assert body["commentary"].endswith(
        "{hashtag|\\#|PortAlderStorm}\n" + post.link.replace("_", "\\_")
    )
    assert receipt.remote_id.startswith("urn:li:share:") and receipt.ids == (receipt.remote_id,)
    assert receipt.url == f"https://www.linkedin.com/feed/update/{receipt.remote_id}/"


def test_edit_and_delete_send_restli_methods_on_the_encoded_urn(rig: Rig, hub: Hub) -> None:
    post = tricky(rig, hub)
    receipt = rig.channel.publish(post, "stormhub-ed")
    fixed = replace(post, parts=(post.text.replace("Lincoln", "Roosevelt"),))
    assert rig.channel.edit(receipt, fixed) == receipt
    rig.channel.delete(receipt)
    rig.channel.delete(receipt)  # LinkedIn answers a repeated delete 204 too
    _, edit, delete, _ = rig.sim.received
    encoded = "/rest/posts/" + quote(receipt.remote_id, safe="")
    assert encoded.startswith("/rest/posts/urn%3Ali%3Ashare%3A")
    assert (edit.method, edit.headers["x-restli-method"]) == ("POST", "PARTIAL_UPDATE")
    assert edit.json == {"patch": {"$set": {"commentary": little_text(fixed.text)}}}
    assert (delete.method, delete.headers["x-restli-method"]) == ("DELETE", "DELETE")
    assert all(r.headers["linkedin-version"] == "202609" for r in rig.sim.received)
    assert rig.sim.describe() == []


# --- corrections, retractions, recovery through the fan-out --------------------------------------


def test_fanout_edits_a_correction_in_place_and_deletes_a_retraction(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "content/updates/a.md": UPDATE.format(
            time="08:00", title="Shelter at Lincoln High", severity="info", body="Open (24/7)."
        ),
        "content/updates/b.md": UPDATE.format(
            time="09:00", title="Buses stopped", severity="warning", body="No buses_today."
        ),
    }
    root = make_hub(files)
    sim = LinkedInSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"

        def fanout() -> Any:
            hub = load_hub(root)
            return Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()

        first = fanout()
        assert not first.failed and len(sim.describe()) == 3
        posted = {o.update_id: o.url for o in first.outcomes}
        (root / "content/updates/a.md").write_text(
            UPDATE.format(
                time="08:00", title="Shelter at Roosevelt High", severity="info",
                body="Open (24/7).",
            ),
            encoding="utf-8",
        )  # fmt: skip
        mark_retracted(root, "b", "Posted in error.", now=NOW)
        second = fanout()
        assert sorted((o.update_id, o.status) for o in second.outcomes) == [
            ("a", "corrected"),
            ("b", "retracted"),
        ]
        assert len([r for r in sim.received if r.method == "POST" and r.path == "/rest/posts"]) == 3
        lines = sim.describe()
        assert len(lines) == 2 and not any("Buses stopped" in line for line in lines)
        assert any(line.startswith("Shelter at Roosevelt High") for line in lines)
        urn = posted["a"].split("/feed/update/")[1].rstrip("/")
        assert sim.posts[urn].edited and "Lincoln" not in sim.posts[urn].shown
        assert fanout().outcomes == []


def test_fanout_recovers_a_crash_by_finding_the_post(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = LinkedInSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", TOKEN)
        ledger = tmp_path / "ledger.sqlite"
        first = hub.updates[-1]
        with Ledger(ledger) as rows:  # a crash: posted, never recorded
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed = channel.publish(
            channel.render(first), delivery_key(first.id, config.name, "post")
        )
        channel.close()
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
        assert not report.failed
        assert crashed.url in {o.url for o in report.outcomes}
        assert len(sim.describe()) == len(hub.updates)  # nothing posted twice
        finder = [r for r in sim.received if r.method == "GET"]
        assert finder and finder[0].query == {
            "author": ["urn:li:organization:10400001"],
            "q": ["author"],
            "count": ["50"],
            "sortBy": ["CREATED"],
        }
        assert finder[0].headers["x-restli-method"] == "FINDER"


def test_find_matches_the_article_source_and_returns_the_original(rig: Rig, hub: Hub) -> None:
    post = tricky(rig, hub)
    assert rig.channel.find(post) is None
    original = rig.channel.publish(post, "stormhub-1")
    rig.channel.publish(replace(post, link="https://elsewhere.example/x"), "stormhub-2")
    rig.channel.publish(post, "stormhub-3")  # a duplicate, newer
    assert rig.channel.find(post) == original
    rig.channel.delete(original)
    assert rig.channel.find(post) != original


def test_a_lost_answer_is_looked_up_before_posting_again(rig: Rig, hub: Hub) -> None:
    post = tricky(rig, hub)
    rig.sim.inject(Fault("delay", seconds=1.5))  # made, but the answer comes too late
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-lost")
    assert caught.value.transient and caught.value.status is None
    time.sleep(0.8)  # the simulator makes the post once its delay is over
    receipt = rig.channel.publish(post, "stormhub-lost")
    assert len(rig.live()) == 1 and rig.live()[0].urn == receipt.remote_id
    assert [r.method for r in rig.sim.received] == ["POST", "GET"]
    rig.sim.inject(Fault("drop"))  # not made at all: the lookup finds nothing, it posts
    with pytest.raises(PublishError):
        rig.channel.publish(replace(post, link="https://x.example/2"), "stormhub-drop")
    rig.channel.publish(replace(post, link="https://x.example/2"), "stormhub-drop")
    assert len(rig.live()) == 2


# --- errors ------------------------------------------------------------------------------------


def test_a_daily_limit_429_waits_until_midnight_utc(rig: Rig, hub: Hub) -> None:
    rig.sim.daily_limit = 1
    rig.channel.publish(tricky(rig, hub), "stormhub-1")
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(tricky(rig, hub), "stormhub-2")
    error = caught.value
    assert error.transient and error.status == 429
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert error.retry_after == pytest.approx((midnight - now).total_seconds(), abs=5)
    assert "APPLICATION DAY limit" in str(error) and "midnight UTC" in str(error)
    rig.sim.clock = lambda: time.time() + 86400  # the next UTC day
    rig.channel.publish(tricky(rig, hub), "stormhub-2")
    assert len(rig.live()) == 2


def test_the_wait_is_measured_by_the_responses_date() -> None:
    assert _until_midnight_utc("Sat, 28 Nov 2026 21:30:00 GMT") == 2.5 * 3600
    assert _until_midnight_utc("Sun, 29 Nov 2026 00:00:00 GMT") == 86400


def test_retry_after_from_a_proxy_wins(rig: Rig, hub: Hub) -> None:
    rig.sim.inject(status(429, {"status": 429}, **{"Retry-After": "30"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(tricky(rig, hub), "stormhub-rl")
    assert caught.value.retry_after == 30.0


def test_an_expired_token_is_fatal_and_says_what_to_do(rig: Rig, hub: Hub) -> None:
    rig.sim.token = "another-token"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(tricky(rig, hub), "stormhub-401")
    error = caught.value
    assert error.status == 401 and error.fatal and not error.transient
    message = str(error)
    assert "LinkedIn rejected the credentials" in message and "Invalid access token" in message
    assert "expire after 60 days" in message and "set LINKEDIN_ACCESS_TOKEN" in message


def test_access_denied_names_the_scope_and_the_page_role(rig: Rig, hub: Hub) -> None:
    body = {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260901",
    }
    rig.sim.inject(status(403, body))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(tricky(rig, hub), "stormhub-403")
    error = caught.value
    assert error.fatal and error.status == 403
    for words in ("w_organization_social", "ADMINISTRATOR", "CONTENT_ADMIN", "ACCESS_DENIED"):
        assert words in str(error)
    assert "urn:li:organization:10400001" in str(error)


def test_a_sunset_version_says_to_update_api_version(rig: Rig, hub: Hub) -> None:
    channel = make_channel(rig.config.model_copy(update={"api_version": "202201"}), hub)
    try:
        with pytest.raises(PublishError) as caught:
            channel.publish(tricky(rig, hub), "stormhub-426")
    finally:
        channel.close()
    error = caught.value
    assert error.status == 426 and error.fatal and not error.transient
    assert "Requested version 20220101 is not active" in str(error)
    assert "set api_version in channels.yaml" in str(error)


def test_validation_refusals_are_permanent_with_linkedins_words(rig: Rig, hub: Hub) -> None:
    rig.sim.inject(
        status(422, {"status": 422, "message": "ERROR :: /author :: is not a valid URN\n"})
    )
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(tricky(rig, hub), "stormhub-422")
    assert not caught.value.transient and not caught.value.fatal
    assert "ERROR :: /author :: is not a valid URN" in str(caught.value)


FAULTS = {
    "401": status(401, {"status": 401, "serviceErrorCode": 65600, "message": "Invalid token"}),
    "403": status(403, {"status": 403, "code": "ACCESS_DENIED", "message": "denied"}),
    "426": status(426, {"status": 426, "code": "NONEXISTENT_VERSION", "message": "old"}),
    "429": status(429, {"status": 429, "message": "throttled"}),
    "500": status(500, {"status": 500, "message": "boom"}),
    "html": Fault("status", status=502, body=b"<html>bad gateway</html>"),
    "timeout": Fault("timeout", seconds=1.5),
    "drop": Fault("drop"),
    "echo": status(400, {"status": 400, "message": f"Bad header: Authorization: Bearer {TOKEN}"}),
}


def test_the_token_never_appears_in_errors_or_the_ledger(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = LinkedInSim(token=TOKEN)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", TOKEN)
        policy = RetryPolicy(attempts=1, base=0.001, cap=0.01, budget=0.5)
        for name, fault in FAULTS.items():
            sim.inject(*[fault] * 4)
            ledger = tmp_path / f"{name}.sqlite"
            fan = Fanout(hub, [config], ledger, policy=policy, factory=make_channel, now=NOW)
            report = fan.run()
            assert report.failed, name
            assert all(TOKEN not in (o.error or "") for o in report.outcomes), name
            with Ledger(ledger) as rows:
                dump = json.dumps([list(r) for r in rows.db.execute("SELECT * FROM deliveries")])
            assert "failed" in dump and TOKEN not in dump, name
            sim.faults.clear()


# --- the simulator on the wire -------------------------------------------------------------------


def _call(
    sim: LinkedInSim, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    base = {
        "Authorization": f"Bearer {TOKEN}",
        "LinkedIn-Version": "202609",
        "X-Restli-Protocol-Version": "2.0.0",
        "Content-Type": "application/json",
    }
    base.update(headers)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        sim.url + path, data=data, method=method, headers={k: v for k, v in base.items() if v}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        answer = (exc.code, dict(exc.headers), json.loads(exc.read()))
        exc.close()
        return answer


def test_the_simulator_speaks_the_posts_api() -> None:
    sim = LinkedInSim(token=TOKEN)
    with Simulator([sim]):
        post = {
            "author": "urn:li:organization:5",
            "commentary": r"Hello {hashtag|\#|storm} \(world\)",
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED"},
            "lifecycleState": "PUBLISHED",
        }
        code, _, error = _call(sim, "POST", "/rest/posts", post, Authorization="")
        assert (code, error["code"], error["serviceErrorCode"]) == (
            401,
            "INVALID_ACCESS_TOKEN",
            65600,
        )
        code, _, error = _call(sim, "POST", "/rest/posts", post, **{"LinkedIn-Version": ""})
        assert (code, error["code"]) == (400, "VERSION_MISSING")
        assert "LinkedIn-Version header" in error["message"]
        code, _, error = _call(sim, "POST", "/rest/posts", post, **{"LinkedIn-Version": "202511"})
        assert (code, error) == (
            426,
            {
                "status": 426,
                "code": "NONEXISTENT_VERSION",
                "message": "Requested version 20251101 is not active",
            },
        )
        missing = {k: v for k, v in post.items() if k != "visibility"}
        code, _, error = _call(sim, "POST", "/rest/posts", missing)
        assert code == 422 and error["message"] == (
            "ERROR :: /visibility :: field is required but not found and has no default value\n"
        )
        no_title = {**post, "content": {"article": {"source": "https://x.example/"}}}
        code, _, error = _call(sim, "POST", "/rest/posts", no_title)
        assert code == 422 and "/content/article/title" in error["message"]
        code, headers, body = _call(sim, "POST", "/rest/posts", post)
        urn = headers["x-restli-id"]
        assert (code, body) == (201, None) and urn.startswith("urn:li:share:")
        assert sim.describe() == ["Hello #storm (world)"]
        path = "/rest/posts/" + quote(urn, safe="")
        code, _, entity = _call(sim, "GET", path)
        assert entity["id"] == urn and entity["commentary"] == post["commentary"]
        assert entity["lifecycleStateInfo"] == {"isEditedByAuthor": False}
        patch = {"patch": {"$set": {"commentary": "Edited"}}}
        code, _, _ = _call(sim, "POST", path, patch, **{"X-RestLi-Method": "PARTIAL_UPDATE"})
        assert code == 204 and sim.describe() == ["Edited"]
        bad = {"patch": {"$set": {"author": "urn:li:person:1"}}}
        code, _, error = _call(sim, "POST", path, bad, **{"X-RestLi-Method": "PARTIAL_UPDATE"})
        assert code == 422
        code, _, page = _call(sim, "GET", "/rest/posts?q=author&author=urn%3Ali%3Aorganization%3A5")
        assert [e["id"] for e in page["elements"]] == [urn] and page["paging"]["total"] == 1
        code, _, _ = _call(sim, "DELETE", path, **{"X-RestLi-Method": "DELETE"})
        assert code == 204 and sim.describe() == []
        assert _call(sim, "GET", path)[0] == 404
        missing_urn = "/rest/posts/" + quote("urn:li:share:1", safe="")
        assert _call(sim, "DELETE", missing_urn)[0] == 404
