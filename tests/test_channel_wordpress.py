"""The ``wordpress`` channel against the loopback WordPress simulator (REST API, httpx)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.channels import make_channel
from hub.channels.base import PublishError, Receipt
from hub.channels.wordpress import WordPressChannel, marker
from hub.config import WordPressConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub, Update
from hub.simulator import Simulator, status
from hub.simulator.core import Fault, Received
from hub.simulator.wordpress import WordPressSim, sanitize_title
from tests.channels.wordpress import make
from tests.conftest import NOW, HubFactory

PASSWORD = "Ab12 Cd34 Ef56 Gh78 Ij90 Kl12"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: the shelter at [Lincoln High School](https://example.org/lincoln) has "
    f"cots, water and power for {n * 40} people 🏫👨‍👩‍👧; bring medicines, chargers and ID. "
    "Details: https://www.portalderhealth.example/shelters?lang=en&x=1"
    for n in range(1, 40)
)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n{extra}---\n{body}\n"


def update_md(time: str, title: str, body: str, severity: str = "warning", extra: str = "") -> str:
    return UPDATE.format(time=time, title=title, severity=severity, extra=extra, body=body)


def edited(update: Update, **fields: Any) -> Update:
    """*update* changed (a new object: its revision is cached)."""
    return Update.model_validate({**update.model_dump(), **fields})


@dataclass
class Rig:
    channel: WordPressChannel
    sim: WordPressSim
    config: WordPressConfig

    def requests(self, method: str | None = None) -> list[Received]:
        return [r for r in self.sim.received if method is None or r.method == method]


def rig_for(
    hub: Hub, tmp: Path, monkeypatch: pytest.MonkeyPatch, sim: WordPressSim, **config: Any
) -> Iterator[Rig]:
    with Simulator([sim]):
        base, _ = make(sim.url, tmp)
        made = base.model_copy(update=config)
        monkeypatch.setenv("WORDPRESS_APP_PASSWORD", PASSWORD)
        channel = make_channel(made, hub)
        assert isinstance(channel, WordPressChannel)
        try:
            yield Rig(channel, sim, made)
        finally:
            channel.close()


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    root = make_hub(
        {
            "content/updates/long.md": update_md(
                "08:00", "Shelters open — “all welcome” 🏠", LONG_BODY
            ),
            "content/updates/flood.md": update_md(
                "09:00",
                "Harbor Road flooded",
                "Avoid **Harbor Road**. See https://example.org/roads.",
                extra="image: images/x.png\nalt: Water over Harbor Road\n",
            ),
        }
    )
    (root / "content/images").mkdir(parents=True, exist_ok=True)
    (root / "content/images/x.png").write_bytes(PNG)
    return load_hub(root)


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    yield from rig_for(
        hub, tmp_path, monkeypatch, WordPressSim(username="stormhub", token=PASSWORD)
    )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(sim: WordPressSim, method: str, route: str, **kwargs: Any) -> httpx.Response:
    """A raw request to the simulator, as the user."""
    headers = {"Authorization": basic("stormhub", PASSWORD), **kwargs.pop("headers", {})}
    return httpx.request(
        method, f"{sim.url}/wp-json/wp/v2/{route}", headers=headers, timeout=5, **kwargs
    )


# --- rendering -------------------------------------------------------------------------


def test_construction_and_rendering_need_no_network_and_no_password(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("WORDPRESS_APP_PASSWORD", raising=False)
        channel = make_channel(config, hub)
        posts = [channel.render(u) for u in hub.updates]
        assert sim.received == []
        with pytest.raises(PublishError) as caught:
            channel.publish(posts[0], "stormhub-k")
        assert "WORDPRESS_APP_PASSWORD not set" in str(caught.value)
        assert caught.value.fatal and not caught.value.transient
        assert sim.received == []
        channel.close()


def test_a_long_update_is_one_whole_post_with_its_html(rig: Rig, hub: Hub) -> None:
    channel = rig.channel
    assert channel.max_chars >= 1_000_000 and not channel.supports_threads
    update = hub.update("long")
    post = channel.render(update)
    assert len(post.parts) == 1 and post.lengths == (len(post.text),)
    assert post.link == "https://hub.example.org/updates/long/"
    assert post.text.endswith(post.link) and "Paragraph 39" in post.text  # nothing cut
    assert "👨‍👩‍👧" in post.text and "…" not in post.text
    assert post.subject == update.title
    html = post.html
    assert '<a href="https://example.org/lincoln">Lincoln High School</a>' in html
    assert html.count("<p>Paragraph") == 39 and "👨‍👩‍👧" in html
    assert '<time datetime="2026-11-27T13:00:00Z">Fri Nov 27, 8:00 AM EST</time>' in html
    assert "<strong>Warning</strong>" in html
    assert f'<a href="{post.link}">{post.link}</a>' in html
    assert html.endswith(marker("long", update.revision))
    assert post.extra["slug"] == channel.slug("long")
    assert channel.slug("long") == f"long-{channel.slug('long').rsplit('-', 1)[1]}"
    assert channel.slug("long") != WordPressChannel(
        rig.config.model_copy(update={"name": "other"}), hub
    ).slug("long")  # one site, two channels: two posts


def test_the_image_is_referenced_at_the_hub_with_its_alt_text(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("flood"))
    assert post.image == "https://hub.example.org/images/x.png"
    assert '<img src="https://hub.example.org/images/x.png" alt="Water over Harbor Road">' in (
        post.html
    )
    assert "<strong>Harbor Road</strong>" in post.html
    rig.channel.publish(post, "stormhub-img")
    assert not any("media" in r.path for r in rig.sim.received)  # nothing uploaded


def test_a_retraction_renders_a_notice_not_the_text(rig: Rig, hub: Hub) -> None:
    update = hub.update("flood").model_copy(update={"retracted": NOW, "retraction": "Wrong road."})
    post = rig.channel.render(update, retraction=True)
    assert post.subject == "Retracted: Harbor Road flooded"
    assert "please disregard this update. Wrong road." in post.html
    assert "Avoid" not in post.html and post.link in post.text


# --- the requests -----------------------------------------------------------------------


def test_publish_sends_the_post_as_wordpress_takes_it(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(username="stormhub", token=PASSWORD)
    existing = sim.add_tag("Hurricane Imogen")
    news = sim.add_category("Storm updates")
    for rig in rig_for(
        hub, tmp_path, monkeypatch, sim,
        post_tags=("hurricane imogen", "Storm Desk"), categories=(news,), status="publish",
    ):  # fmt: skip
        update = hub.update("flood")
        post = rig.channel.render(update)
        receipt = rig.channel.publish(post, "stormhub-req")
        got = [(r.method, r.path) for r in sim.received]
        # The two tags are looked up side by side; a first try does not look the slug up.
        assert got == [
            ("GET", "/wp-json/wp/v2/tags"),
            ("GET", "/wp-json/wp/v2/tags"),
            ("POST", "/wp-json/wp/v2/tags"),
            ("POST", "/wp-json/wp/v2/posts"),
        ]
        for request in sim.received:
            assert request.headers["authorization"] == basic("stormhub", PASSWORD)
            assert request.headers["user-agent"].startswith("stormhub/")
        searched = sorted(r.query["search"][0] for r in sim.received[:2])
        assert searched == ["Storm Desk", "hurricane imogen"]
        assert sim.received[2].json == {"name": "Storm Desk"}
        create = sim.received[3]
        assert create.headers["content-type"] == "application/json"
        desk = next(t.id for t in sim.terms.values() if t.name == "Storm Desk")
        assert create.json == {
            "title": "Harbor Road flooded",
            "content": post.html,
            "status": "publish",
            "slug": rig.channel.slug("flood"),
            "categories": [news],
            "tags": [existing, desk],
            "date_gmt": "2026-11-27T14:00:00",  # the update's time: long past
        }
        [made] = sim.live()
        assert receipt == Receipt(str(made.id), f"{sim.url}/{made.slug}/", (str(made.id),))
        assert made.slug == rig.channel.slug("flood") and made.status == "publish"
        # The tag ids are kept for the run: the next post asks for none.
        rig.channel.publish(rig.channel.render(hub.update("long")), "stormhub-req-2")
        assert [(r.method, r.path) for r in sim.received[4:]] == [("POST", "/wp-json/wp/v2/posts")]


def test_a_first_post_is_one_round_trip_for_the_tags_and_one_for_the_post(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(username="stormhub", token=PASSWORD)
    names = ("Hurricane Imogen", "Storm Desk", "Shelters")
    ids = [sim.add_tag(name) for name in names]
    for rig in rig_for(hub, tmp_path, monkeypatch, sim, post_tags=names):
        sim.latency = 0.3
        start = time.monotonic()
        rig.channel.publish(rig.channel.render(hub.update("flood")), "stormhub-fast")
        elapsed = time.monotonic() - start
        got = [(r.method, r.path) for r in sim.received]
        assert got == [("GET", "/wp-json/wp/v2/tags")] * 3 + [("POST", "/wp-json/wp/v2/posts")]
        assert sim.received[-1].json["tags"] == ids  # in post_tags order
        # Three lookups side by side and the post: two round trips (four would be 1.2 s).
        assert elapsed < 0.85, elapsed


def test_a_failed_tag_lookup_fails_the_post_and_keeps_the_others(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(username="stormhub", token=PASSWORD)
    first, second = sim.add_tag("Hurricane Imogen"), sim.add_tag("Storm Desk")
    for rig in rig_for(
        hub, tmp_path, monkeypatch, sim, post_tags=("Hurricane Imogen", "Storm Desk")
    ):
        sim.inject(status(503, {"code": "down", "message": "Down"}))  # one of the two lookups
        post = rig.channel.render(hub.update("flood"))
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(post, "stormhub-tags")
        assert caught.value.transient and "503" in str(caught.value)
        assert not rig.requests("POST") and sim.live() == []
        sim.received.clear()
        rig.channel.publish(post, "stormhub-tags")
        # Only the failed tag is asked again, and no post was sent, so no slug lookup.
        got = [(r.method, r.path) for r in sim.received]
        assert got == [("GET", "/wp-json/wp/v2/tags"), ("POST", "/wp-json/wp/v2/posts")]
        assert sim.received[-1].json["tags"] == [first, second]


def test_a_fresh_update_takes_wordpress_clock_and_a_draft_keeps_its_slug(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    local = now.astimezone(ZoneInfo("America/New_York"))  # the test hub's timezone
    root = make_hub(
        {
            "content/updates/2026-11-27-0615-ed-open.md": None,
            "content/updates/fresh.md": UPDATE.format(
                time=local.strftime("%H:%M"),
                title="Just now",
                severity="info",
                extra="",
                body="New.",
            ).replace("2026-11-27", local.strftime("%Y-%m-%d")),
        }
    )
    hub = load_hub(root)
    sim = WordPressSim()
    for rig in rig_for(hub, tmp_path, monkeypatch, sim, status="draft"):
        receipt = rig.channel.publish(rig.channel.render(hub.update("fresh")), "k")
        body = rig.requests("POST")[-1].json
        assert "date_gmt" not in body and body["status"] == "draft"
        [made] = sim.live()
        assert made.status == "draft" and made.slug == rig.channel.slug("fresh")
        assert receipt.url == f"{sim.url}/?p={made.id}"  # a draft has no pretty link


# --- exactly once --------------------------------------------------------------------------


def test_a_retry_after_a_lost_answer_finds_the_post_instead_of_making_another(
    rig: Rig, hub: Hub
) -> None:
    post = rig.channel.render(hub.update("flood"))
    # The create (a first try: no lookup) takes longer than the channel's timeout (1 s):
    # WordPress makes the post, the answer is lost.
    rig.sim.inject(Fault("delay", seconds=1.3))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-lost")
    assert caught.value.transient and caught.value.status is None
    assert [r.method for r in rig.sim.received] == ["POST"]
    deadline = time.monotonic() + 5
    while not rig.sim.live() and time.monotonic() < deadline:
        time.sleep(0.05)
    receipt = rig.channel.publish(post, "stormhub-lost")
    [made] = rig.sim.live()
    assert receipt.remote_id == str(made.id)
    assert [r.method for r in rig.sim.received] == ["POST", "GET"]  # the retry only looked
    assert rig.sim.received[-1].query["slug"] == [rig.channel.slug("flood")]
    # Another channel instance (the next run) has its own first try: it does not look.
    fresh = WordPressChannel(rig.config, hub)
    try:
        fresh.publish(rig.channel.render(hub.update("long")), "stormhub-lost")
    finally:
        fresh.close()
    assert [r.method for r in rig.sim.received[2:]] == ["POST"]


def test_a_retry_whose_request_never_landed_posts(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("flood"))
    rig.sim.inject(status(502, {"code": "x", "message": "Bad gateway"}))
    with pytest.raises(PublishError):
        rig.channel.publish(post, "stormhub-502")
    receipt = rig.channel.publish(post, "stormhub-502")
    assert [r.method for r in rig.sim.received] == ["POST", "GET", "POST"]
    [made] = rig.sim.live()
    assert receipt.remote_id == str(made.id) and made.slug == rig.channel.slug("flood")


def test_publish_brings_an_older_revision_up_to_date(rig: Rig, hub: Hub) -> None:
    update = hub.update("flood")
    first = rig.channel.publish(rig.channel.render(update), "stormhub-a")
    changed = edited(update, body="Harbor Road is open again.")
    receipt = rig.channel.publish(rig.channel.render(changed), "stormhub-a")
    assert receipt == first
    [made] = rig.sim.live()
    assert "open again" in made.content and f"revision={changed.revision}" in made.content


def test_find_answers_only_for_the_revision_on_the_site(rig: Rig, hub: Hub) -> None:
    update = hub.update("flood")
    post = rig.channel.render(update)
    assert rig.channel.find(post) is None
    receipt = rig.channel.publish(post, "stormhub-find")
    assert rig.channel.find(post) == receipt
    corrected = rig.channel.render(edited(update, body="Fixed."))
    assert rig.channel.find(corrected) is None  # the correction has not landed
    rig.channel.edit(receipt, corrected)
    assert rig.channel.find(corrected) == receipt
    rig.channel.delete(receipt)
    assert rig.channel.find(corrected) is None  # in the Trash


def test_what_find_met_serves_only_the_publish_of_that_revision(rig: Rig, hub: Hub) -> None:
    update = hub.update("flood")
    post = rig.channel.render(update)
    receipt = rig.channel.publish(post, "stormhub-a")
    assert rig.channel.find(rig.channel.render(edited(update, body="Fixed."))) is None
    rig.channel.delete(receipt)  # trashed since: what find() met is stale
    again = rig.channel.publish(post, "stormhub-b")
    [made] = rig.sim.live()
    assert again.remote_id == str(made.id) != receipt.remote_id


def test_someone_elses_post_under_the_slug_is_never_edited(rig: Rig, hub: Hub) -> None:
    slug = rig.channel.slug("flood")
    answer = call(rig.sim, "POST", "posts", json={"title": "Mine", "slug": slug,
                                                   "status": "publish"})  # fmt: skip
    assert answer.status_code == 201
    receipt = rig.channel.publish(rig.channel.render(hub.update("flood")), "stormhub-x")
    human, ours = rig.sim.live()
    assert human.title == "Mine" and human.content == ""
    assert ours.slug == f"{slug}-2" and receipt.remote_id == str(ours.id)


def test_the_fanout_posts_edits_and_trashes_and_recovers_a_crash(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "The clinic is open until 8 p.m."
    files: dict[str, str | None] = {
        "content/updates/clinic.md": update_md("07:00", "Clinic open", body),
        "content/updates/roads.md": update_md("07:30", "Roads closed", "Stay home."),
    }
    hub = load_hub(make_hub(files))
    sim = WordPressSim(username="stormhub", token=PASSWORD)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("WORDPRESS_APP_PASSWORD", PASSWORD)
        ledger = tmp_path / "ledger.sqlite"
        # A crash: WordPress took the first update, the ledger never heard of it.
        first = hub.updates[-1]
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        crashed = channel.publish(
            channel.render(first), delivery_key(first.id, config.name, "post")
        )
        channel.close()

        def fanout(hub: Hub) -> Any:
            return Fanout(hub, [config], ledger, policy=FAST, now=NOW).run()

        report = fanout(hub)
        assert not report.failed
        assert {o.status for o in report.outcomes} == {"posted"}
        assert crashed.url in {o.url for o in report.outcomes}
        assert len(sim.live()) == len(hub.updates) == 3
        assert fanout(hub).outcomes == []
        # A correction edits the post in place.
        files["content/updates/clinic.md"] = update_md("07:00", "Clinic open", "Open until 9 p.m.")
        hub = load_hub(make_hub(files))
        [outcome] = fanout(hub).outcomes
        assert outcome.status == "corrected" and outcome.action.startswith("correct:")
        clinic = next(p for p in sim.live() if p.title == "Clinic open")
        assert "9 p.m." in clinic.content and len(sim.live()) == 3
        assert any("Clinic open" in line and "9 p.m." in line for line in sim.describe())
        # A retraction moves it to the Trash.
        files["content/updates/clinic.md"] = update_md(
            "07:00", "Clinic open", "Open until 9 p.m.",
            extra="retracted: 2026-11-27 10:00\nretraction: Posted too early.\n",
        )  # fmt: skip
        hub = load_hub(make_hub(files))
        [outcome] = fanout(hub).outcomes
        assert outcome.status == "retracted"
        assert sim.posts[clinic.id].status == "trash" and len(sim.live()) == 2
        assert not any("Clinic open" in line for line in sim.describe())
        assert fanout(hub).outcomes == []


def test_a_timed_out_post_that_landed_is_found_by_the_next_run(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, str | None] = {
        "content/updates/2026-11-27-0615-ed-open.md": None,
        "content/updates/clinic.md": update_md("07:00", "Clinic open", "Until 8 p.m."),
        "content/updates/roads.md": update_md("07:30", "Roads closed", "Stay home."),
    }
    hub = load_hub(make_hub(files))
    sim = WordPressSim(username="stormhub", token=PASSWORD)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("WORDPRESS_APP_PASSWORD", PASSWORD)
        ledger = tmp_path / "ledger.sqlite"
        once = RetryPolicy(attempts=1)
        # The first create (the clinic, oldest first) outlasts the timeout: WordPress makes
        # the post, the fan-out hears nothing and records the delivery as failed.
        sim.inject(Fault("delay", seconds=1.3))
        report = Fanout(hub, [config], ledger, policy=once, now=NOW).run()
        assert [o.status for o in report.outcomes] == ["failed", "posted"]
        deadline = time.monotonic() + 5
        while len(sim.live()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        sim.received.clear()
        # The next run looks the failed delivery up before trying it (find_after_failure).
        report = Fanout(hub, [config], ledger, policy=once, now=NOW).run()
        [outcome] = report.outcomes
        clinic = next(p for p in sim.live() if p.title == "Clinic open")
        assert outcome.status == "posted" and outcome.url == f"{sim.url}/{clinic.slug}/"
        assert [r.method for r in sim.received] == ["GET"]
        assert len(sim.live()) == 2 and not any(p.slug.endswith("-2") for p in sim.live())


def test_a_crash_then_an_edit_updates_the_post_instead_of_a_second_one(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, str | None] = {
        "content/updates/2026-11-27-0615-ed-open.md": None,
        "content/updates/clinic.md": update_md("07:00", "Clinic open", "Until 8 p.m."),
    }
    hub = load_hub(make_hub(files))
    sim = WordPressSim(username="stormhub", token=PASSWORD)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("WORDPRESS_APP_PASSWORD", PASSWORD)
        ledger = tmp_path / "ledger.sqlite"
        [first] = hub.updates
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = WordPressChannel(config, hub)
        channel.publish(channel.render(first), delivery_key(first.id, config.name, "post"))
        channel.close()
        # The update is edited before the next run: find() meets an older revision.
        files["content/updates/clinic.md"] = update_md("07:00", "Clinic open", "Until 9 p.m.")
        edited_hub = load_hub(make_hub(files))
        sim.received.clear()
        report = Fanout(edited_hub, [config], ledger, policy=FAST, now=NOW).run()
        assert [o.status for o in report.outcomes] == ["posted"]
        [post] = sim.live()
        assert "9 p.m." in post.content and post.slug == channel.slug(first.id)
        assert f"revision={edited_hub.updates[0].revision}" in post.content
        # find()'s lookup, then an edit of that post: no second lookup, no new post.
        assert [(r.method, r.path) for r in sim.received] == [
            ("GET", "/wp-json/wp/v2/posts"),
            ("POST", f"/wp-json/wp/v2/posts/{post.id}"),
        ]


# --- errors ---------------------------------------------------------------------------------


def assert_secret_free(text: str) -> None:
    assert PASSWORD not in text and PASSWORD.replace(" ", "") not in text


def test_a_wrong_password_is_fatal_names_the_variable_and_never_shows(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(token="Zz99 Zz99 Zz99 Zz99 Zz99 Zz99")
    for rig in rig_for(hub, tmp_path, monkeypatch, sim):
        post = rig.channel.render(hub.update("flood"))
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(post, "k")
        error = caught.value
        message = str(error)
        # As WordPress 6.1 answers it: a create by nobody (a first try does not look up).
        assert error.status == 401 and error.fatal and not error.transient
        assert "rest_cannot_create: Sorry, you are not allowed to create posts" in message
        assert "rejected the credentials" in message and "WORDPRESS_APP_PASSWORD" in message
        assert "create a new Application Password under Users > Profile" in message
        assert "WP_ENVIRONMENT_TYPE is local" in message  # the site is http
        assert_secret_free(message)
        # ... and the lookup of drafts by nobody (a retry, or find()): the same advice.
        with pytest.raises(PublishError) as caught:
            rig.channel.find(post)
        error = caught.value
        message = str(error)
        assert error.status == 400 and error.fatal and not error.transient
        assert "rest_invalid_param: Invalid parameter(s): status (Status is forbidden.)" in message
        assert "rejected the credentials" in message and "WORDPRESS_APP_PASSWORD" in message
        assert "create a new Application Password under Users > Profile" in message
        assert "WP_ENVIRONMENT_TYPE is local" in message
        assert_secret_free(message)


def test_incorrect_password_and_unknown_user_in_wordpress_words(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(username="editor", token="Zz99 Zz99 Zz99", auth_errors=True)
    for rig in rig_for(hub, tmp_path, monkeypatch, sim):
        post = rig.channel.render(hub.update("flood"))
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(post, "k")
        message = str(caught.value)
        assert caught.value.status == 401 and caught.value.fatal
        assert "invalid_username: Error: Unknown username." in message  # HTML stripped
        assert "check username: in channels.yaml ('stormhub')" in message
        sim.username = None
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(post, "k")
        message = str(caught.value)
        assert "incorrect_password: The provided password is an invalid application password." in (
            message
        )
        assert message.endswith(
            "create a new Application Password under Users > Profile and set WORDPRESS_APP_PASSWORD"
        )
        assert_secret_free(message)


def test_an_http_site_that_ignores_application_passwords(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(https_only=True)  # http, and WP_ENVIRONMENT_TYPE is not local
    for rig in rig_for(hub, tmp_path, monkeypatch, sim):
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(rig.channel.render(hub.update("flood")), "k")
        message = str(caught.value)
        assert caught.value.fatal and not caught.value.transient
        assert (
            f"{sim.url} is served over http, where WordPress ignores Application Passwords "
            "unless WP_ENVIRONMENT_TYPE is local: set url: to its https address"
        ) in message
        answer = call(sim, "POST", "posts", json={"title": "x", "status": "publish"})
        assert answer.status_code == 401
        assert answer.json() == {
            "code": "rest_cannot_create",
            "message": "Sorry, you are not allowed to create posts as this user.",
            "data": {"status": 401},
        }
        assert sim.live() == []


@pytest.mark.parametrize(
    ("role", "tags", "code", "words"),
    [
        ("contributor", (), "rest_cannot_publish", "Sorry, you are not allowed to publish posts"),
        (
            "author",
            ("New tag",),
            "rest_cannot_create",
            "Sorry, you are not allowed to create terms",
        ),
        ("subscriber", (), "rest_cannot_create", "Sorry, you are not allowed to create posts"),
    ],
)
def test_a_role_that_may_not_is_a_fatal_403(
    hub: Hub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    tags: tuple[str, ...],
    code: str,
    words: str,
) -> None:
    sim = WordPressSim(role=role)
    for rig in rig_for(hub, tmp_path, monkeypatch, sim, post_tags=tags):
        with pytest.raises(PublishError) as caught:
            rig.channel.publish(rig.channel.render(hub.update("flood")), "k")
        error = caught.value
        assert error.status in (400, 403) and error.fatal and not error.transient
        assert f"refused the user 'stormhub' ({error.status} {code}: " in str(error)
        assert words in str(error)
        assert "give the user the Author role (Editor to create tags)" in str(error)
        assert sim.live() == []
        if role == "subscriber":  # the slug lookup: drafts are forbidden to a Subscriber
            with pytest.raises(PublishError) as caught:
                rig.channel.find(rig.channel.render(hub.update("flood")))
            error = caught.value
            assert error.status == 400 and error.fatal and not error.transient
            assert "refused the user 'stormhub' (400 rest_invalid_param: " in str(error)
            assert "Invalid parameter(s): status (Status is" in str(error)


def test_a_tag_made_meanwhile_is_taken_from_term_exists(rig: Rig, hub: Hub) -> None:
    tag = rig.sim.add_tag("Storm Desk")
    config = rig.config.model_copy(update={"post_tags": ("Storm Desk",)})
    channel = WordPressChannel(config, hub)
    rig.sim.inject(status(200, []))  # the search misses it (made between search and create)
    try:
        channel.publish(channel.render(hub.update("flood")), "k")
    finally:
        channel.close()
    create = next(r for r in rig.requests("POST") if r.path.endswith("/tags"))
    assert create.json == {"name": "Storm Desk"}
    assert rig.requests("POST")[-1].json["tags"] == [tag]


@pytest.mark.parametrize(
    ("fault", "retry_after", "words"),
    [
        (status(429, {"code": "too_many", "message": "Slow down"}, **{"Retry-After": "30"}), 30.0,
         "limiting requests (too_many: Slow down)"),
        (status(503, None, **{"Retry-After": "600"}), 600.0, "server error 503"),  # maintenance
        (status(502, {"code": "x", "message": "Bad gateway"}), None, "server error 502"),
    ],
    ids=["429", "maintenance", "502"],
)  # fmt: skip
def test_rate_limits_and_outages_are_transient_with_their_wait(
    rig: Rig, hub: Hub, fault: Any, retry_after: float | None, words: str
) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.update("flood")), "k")
    assert caught.value.transient and not caught.value.fatal
    assert caught.value.retry_after == retry_after
    assert words in str(caught.value)


def test_a_refusal_is_permanent_in_wordpress_words(rig: Rig, hub: Hub) -> None:
    refusal = {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): date_gmt",
        "data": {"status": 400, "params": {"date_gmt": "Invalid date."}},
    }
    rig.sim.inject(status(400, refusal))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.update("flood")), "k")
    error = caught.value
    assert not error.transient and not error.fatal and error.status == 400
    assert str(error) == (
        "WordPress refused the post (400 rest_invalid_param: Invalid parameter(s): date_gmt "
        "(Invalid date.))"
    )


def test_a_post_gone_from_the_site_cannot_be_edited_but_counts_as_deleted(
    rig: Rig, hub: Hub
) -> None:
    post = rig.channel.render(hub.update("flood"))
    with pytest.raises(PublishError) as caught:
        rig.channel.edit(Receipt("999"), post)
    assert "404 rest_post_invalid_id: Invalid post ID." in str(caught.value)
    assert not caught.value.fatal
    rig.channel.delete(Receipt("999"))  # gone already: done


def test_a_redirect_says_which_address_to_use(rig: Rig, hub: Hub) -> None:
    rig.sim.inject(status(301, None, Location="https://news.example.org/wp-json/wp/v2/posts"))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.update("flood")), "k")
    assert caught.value.fatal
    assert "redirects to https://news.example.org/wp-json/wp/v2/posts: set url:" in str(
        caught.value
    )


def test_a_page_that_is_not_the_api_is_transient(rig: Rig, hub: Hub) -> None:
    page = Fault("status", status=200, headers={"Content-Type": "text/html"}, body=b"<html>")
    rig.sim.inject(page, page)  # /wp-json/ and then ?rest_route=: both a cache's page
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.update("flood")), "k")
    assert caught.value.transient and "not the REST API's JSON" in str(caught.value)


def test_no_password_in_any_error_or_the_ledger(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(token="Zz99 Zz99 Zz99 Zz99 Zz99 Zz99")
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("WORDPRESS_APP_PASSWORD", PASSWORD)
        ledger = tmp_path / "ledger.sqlite"
        report = Fanout(hub, [config], ledger, policy=FAST, now=NOW).run()
        assert report.failed and all(o.fatal or o.error for o in report.failed)
        for outcome in report.outcomes:
            assert_secret_free(str(outcome))
        with sqlite3.connect(ledger) as db:
            dump = "\n".join(db.iterdump())
        assert_secret_free(dump)
        assert "WORDPRESS_APP_PASSWORD" in dump
        # Only the first delivery was tried: the channel stopped at the fatal error.
        assert len([r for r in sim.received if r.path.endswith("/posts")]) == 1


# --- plain permalinks -------------------------------------------------------------------------


def test_a_site_without_wp_json_is_reached_by_rest_route(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = WordPressSim(pretty_permalinks=False)
    for rig in rig_for(hub, tmp_path, monkeypatch, sim):
        post = rig.channel.render(hub.update("flood"))
        receipt = rig.channel.publish(post, "k")
        paths = [(r.method, r.path, r.query.get("rest_route")) for r in sim.received]
        assert paths == [
            ("POST", "/wp-json/wp/v2/posts", None),  # the theme's 404 page: nothing made
            ("POST", "/", ["/wp/v2/posts"]),
        ]
        assert sim.received[1].json["slug"] == rig.channel.slug("flood")
        assert receipt.url == f"{sim.url}/?p={receipt.remote_id}"
        assert rig.channel.find(post) == receipt
        rig.channel.delete(receipt)
        assert sim.live() == []


# --- the simulator itself -----------------------------------------------------------------------


def test_the_simulator_speaks_wordpress() -> None:
    sim = WordPressSim(username="stormhub", token=PASSWORD)
    with Simulator([sim]):
        made = call(sim, "POST", "posts", json={"title": "Hello & welcome", "content": "<p>Hi</p>",
                                                "status": "publish"})  # fmt: skip
        assert made.status_code == 201
        post = made.json()
        assert made.headers["location"] == f"{sim.url}/wp-json/wp/v2/posts/{post['id']}"
        assert {"id", "date", "date_gmt", "guid", "modified", "modified_gmt", "slug", "status",
                "type", "link", "title", "content", "excerpt", "author", "featured_media",
                "comment_status", "ping_status", "sticky", "template", "format", "meta",
                "categories", "tags", "password", "permalink_template", "generated_slug",
                "_links"} <= set(post)  # fmt: skip
        assert post["slug"] == "hello-welcome" and post["type"] == "post"
        assert post["title"] == {"raw": "Hello & welcome", "rendered": "Hello &amp; welcome"}
        assert post["content"]["raw"] == "<p>Hi</p>" and post["content"]["protected"] is False
        assert post["categories"] == [1] and post["link"] == f"{sim.url}/hello-welcome/"
        # The same title again: -2, then -3; drafts keep what they were given.
        again = [
            call(sim, "POST", "posts", json={"title": "Hello & welcome", "status": s}).json()
            for s in ("publish", "publish")
        ]
        assert [p["slug"] for p in again] == ["hello-welcome-2", "hello-welcome-3"]
        draft = call(sim, "POST", "posts", json={"title": "D", "slug": "hello-welcome"}).json()
        assert draft["status"] == "draft" and draft["slug"] == "hello-welcome"
        # The view context has no raw fields; anonymous readers see published posts only.
        public = httpx.get(f"{sim.url}/wp-json/wp/v2/posts", params={"slug": "hello-welcome"})
        assert public.headers["x-wp-total"] == "1" and public.headers["x-wp-totalpages"] == "1"
        assert "raw" not in public.json()[0]["title"] and "password" not in public.json()[0]
        nobody = httpx.get(f"{sim.url}/wp-json/wp/v2/posts", params={"context": "edit"})
        assert nobody.status_code == 401 and nobody.json()["code"] == "rest_forbidden_context"
        # Trash: status trash, slug freed; again 410; force deletes.
        trashed = call(sim, "DELETE", f"posts/{post['id']}").json()
        assert trashed["status"] == "trash" and trashed["slug"] == "hello-welcome__trashed"
        gone = call(sim, "DELETE", f"posts/{post['id']}")
        assert gone.status_code == 410 and gone.json()["code"] == "rest_already_trashed"
        assert gone.json()["message"] == "The post has already been deleted."
        forced = call(sim, "DELETE", f"posts/{post['id']}", params={"force": "true"}).json()
        assert forced["deleted"] is True and forced["previous"]["id"] == post["id"]
        missing = call(sim, "GET", f"posts/{post['id']}")
        assert missing.status_code == 404 and missing.json() == {
            "code": "rest_post_invalid_id", "message": "Invalid post ID.", "data": {"status": 404}
        }  # fmt: skip
        # Refusals in WordPress's words.
        bad = call(sim, "POST", "posts", json={"title": "x", "status": "live"})
        assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"
        assert bad.json()["data"]["params"]["status"].startswith("status is not one of publish")
        empty = call(sim, "POST", "posts", json={"status": "publish"})
        assert empty.json()["code"] == "empty_content"
        broken = call(
            sim, "POST", "posts", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert broken.json()["code"] == "rest_invalid_json"
        route = call(sim, "GET", "nothing")
        assert route.status_code == 404 and route.json()["code"] == "rest_no_route"
        tag = call(sim, "POST", "tags", json={"name": "Power"}).json()
        dupe = call(sim, "POST", "tags", json={"name": "power"})
        assert dupe.status_code == 400 and dupe.json()["data"]["term_id"] == tag["id"]
        found = call(sim, "GET", "tags", params={"search": "pow"}).json()
        assert [t["id"] for t in found] == [tag["id"]] and found[0]["taxonomy"] == "post_tag"
        scheduled = call(sim, "POST", "posts", json={"title": "Later", "status": "publish",
                                                     "date_gmt": "2099-01-01T00:00:00"}).json()  # fmt: skip
        assert scheduled["status"] == "future" and scheduled["link"].endswith(
            f"?p={scheduled['id']}"
        )
        lines = sim.describe()
        assert any(
            line.startswith("Hello & welcome (publish, /hello-welcome-2/)") for line in lines
        )
        assert not any("hello-welcome__trashed" in line for line in lines)


def test_sanitize_title_is_like_wordpress() -> None:
    assert sanitize_title("Shelters open — “all welcome” 🏠") == "shelters-open-all-welcome"
    assert sanitize_title("Café  Ünïcode") == "cafe-unicode"
    assert json.dumps(sanitize_title("a--b")) == '"a-b"'
