"""Exercises: `stormhub drill --exercise`, the EXERCISE mark on pages, feeds and every post."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from hub.channels import make_channel
from hub.channels.base import exercise_first
from hub.cli import main
from hub.config import load_channels
from hub.content import load_hub
from hub.drill import rehearsal
from hub.fanout import Fanout
from hub.model import Hub
from hub.simulator import Simulator, platform_for
from tests.conftest import ROOT, HubFactory, state

UPDATE_2 = """\
---
time: 2026-11-27 09:00
title: Shelters open
severity: emergency
---
Shelters are open at Central High School and the Civic Arena. Bring medicines,
ID and bedding. Pets are welcome at the Civic Arena only.
"""


def test_the_mark_moves_to_the_front_keeping_the_length() -> None:
    assert exercise_first("WARNING: EXERCISE: Roads closed") == "EXERCISE: WARNING: Roads closed"
    assert exercise_first("EXERCISE: Roads closed") == "EXERCISE: Roads closed"
    assert exercise_first("Roads closed (2/3)") == "EXERCISE: Roads closed (2/3)"
    moved = exercise_first("**Correction: EXERCISE: Roads**")
    assert moved == "EXERCISE: **Correction: Roads**"
    assert len(moved) == len("**Correction: EXERCISE: Roads**")


def test_an_exercise_hub_marks_every_title_once(sample_hub: Hub) -> None:
    exercise = sample_hub.as_exercise()
    assert exercise.exercise and not sample_hub.exercise
    assert all(u.title.startswith("EXERCISE: ") for u in exercise.updates)
    assert exercise.as_exercise() is exercise
    assert [u.id for u in exercise.updates] == [u.id for u in sample_hub.updates]
    assert exercise.corrections.keys() == sample_hub.corrections.keys()


def test_every_adapter_starts_every_post_with_exercise(sample_hub: Hub) -> None:
    """Each platform's rendering of every sample update, thread parts included, fits."""
    exercise = sample_hub.as_exercise()
    configs = load_channels(ROOT)
    assert len({c.type for c in configs}) >= 15
    # The longest updates (threads, truncation) and those with an image or a correction.
    longest = sorted(exercise.updates, key=lambda u: len(u.body), reverse=True)[:4]
    chosen = {u.id: u for u in longest}
    chosen |= {u.id: u for u in exercise.updates if u.image or u.supersedes}
    for config in configs:
        channel = make_channel(config, exercise)
        for update in chosen.values():
            posts = [
                channel.render(update),
                channel.render_correction(update),
                channel.render(update, retraction=True),
            ]
            for post in posts:
                where = f"{config.name} {update.id}"
                for part, length in zip(post.parts, post.lengths, strict=True):
                    assert part.startswith("EXERCISE"), (where, part[:60])
                    assert length <= post.limit, (where, length, post.limit)
                if post.subject:
                    assert post.subject.startswith("EXERCISE"), (where, post.subject)


def test_outside_an_exercise_nothing_is_marked(sample_hub: Hub) -> None:
    for config in load_channels(ROOT):
        channel = make_channel(config, sample_hub)
        for update in sample_hub.updates[:5]:
            assert "EXERCISE" not in "".join(channel.render(update).parts)


def _two_mastodons(drilled: str) -> str:
    return f"""\
channels:
  - name: masto-a
    type: mastodon
    api_base_url: https://a.example
    access_token: ${{A_TOKEN}}
    drill: {"true" if drilled == "a" else "false"}
  - name: masto-b
    type: mastodon
    api_base_url: https://b.example
    access_token: ${{B_TOKEN}}
"""


def test_an_exercise_reaches_only_channels_flagged_drill(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    root = make_hub({"channels.yaml": _two_mastodons("a")})
    hub = load_hub(root).as_exercise()
    with rehearsal(load_channels(root), tmp_path / "scratch") as rig:
        report = Fanout(hub, rig.configs, tmp_path / "ledger.sqlite", rehearsal=True).run()
        a, b = rig.platforms["masto-a"], rig.platforms["masto-b"]
        assert [o.channel for o in report.outcomes] == ["masto-a"]
        assert a.describe() == ["EXERCISE: WARNING: Emergency Department open"]
        assert b.describe() == []
        assert not [r for r in b.received if r.method == "POST"]


def _hub_with_real_channels(make_hub: HubFactory, real_a: str, real_b: str) -> Path:
    """Two real mastodon accounts (stand-ins on loopback): a is drill: true, b is not."""
    channels = f"""\
channels:
  - name: outbox
    type: outbox
    folder: review
  - name: training
    type: mastodon
    api_base_url: {real_a}
    access_token: ${{TRAINING_TOKEN}}
    drill: true
  - name: public
    type: mastodon
    api_base_url: {real_b}
    access_token: ${{PUBLIC_TOKEN}}
"""
    return make_hub(
        {"channels.yaml": channels, "content/updates/2026-11-27-0900-shelters-open.md": UPDATE_2}
    )


def test_drill_exercise_builds_marked_site_and_posts_only_where_allowed(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = {"training": platform_for("mastodon"), "public": platform_for("mastodon")}
    assert real["training"] is not None and real["public"] is not None
    monkeypatch.setenv("TRAINING_TOKEN", "training-token-0001")
    monkeypatch.setenv("PUBLIC_TOKEN", "public-token-0002")
    with Simulator(real) as accounts:  # the "real" platforms, on loopback
        root = _hub_with_real_channels(make_hub, accounts.url("training"), accounts.url("public"))
        result = CliRunner(env={"COLUMNS": "200"}).invoke(
            main, ["drill", "--exercise", "--hub", str(root)]
        )
        assert result.exit_code == 0, result.output
        training = real["training"].describe()
        public = real["public"].describe()
        public_posts = [r for r in real["public"].received if r.method == "POST"]
        real_auth = {r.headers.get("authorization") for r in real["training"].received}

    # The real channel flagged drill: true got both updates, marked; the other nothing.
    assert sorted(training) == [
        "EXERCISE: EMERGENCY: Shelters open",
        "EXERCISE: WARNING: Emergency Department open",
    ]
    assert real_auth == {"Bearer training-token-0001"}
    assert public == [] and public_posts == []
    assert "Exercise: real channels flagged drill: true" in result.stdout

    # The simulator stood in for every channel; each post there starts with EXERCISE.
    assert "public (mastodon, simulated): received 2" in result.stdout
    outbox = sorted((root / ".stormhub" / "drill" / "outbox").glob("*.json"))
    assert len(outbox) == 2
    for path in outbox:
        parts = json.loads(path.read_text(encoding="utf-8"))["parts"]
        assert all(p.startswith("EXERCISE") for p in parts), parts
    assert not (root / "review").exists()  # the outbox is not drill: true: nothing real

    # The site: built into the drill folder, never site/, a banner on every page.
    site = root / ".stormhub" / "drill" / "site"
    assert not (root / "site").exists()
    assert not (root / ".stormhub" / "ledger.sqlite").exists()
    pages = [
        "index.html",
        "updates/index.html",
        "updates/2026-11-27-0900-shelters-open/index.html",
        "contacts/index.html",
        "closures/index.html",
        "tips/index.html",
    ]
    for page in pages:
        soup = BeautifulSoup((site / page).read_text(encoding="utf-8"), "html.parser")
        banner = soup.select_one(".md-banner .sh-exercise")
        assert banner is not None, page
        assert banner.get_text(" ", strip=True).startswith("EXERCISE"), page
    update = BeautifulSoup(
        (site / "updates/2026-11-27-0900-shelters-open/index.html").read_text(), "html.parser"
    )
    assert update.h1 is not None and update.h1.get_text(strip=True) == "EXERCISE: Shelters open"
    lite = BeautifulSoup((site / "lite/index.html").read_text(encoding="utf-8"), "html.parser")
    first = lite.select_one("main p.b")
    assert first is not None and first.get_text().startswith("EXERCISE")
    assert all(a.get_text().startswith("EXERCISE: ") for a in lite.select("main h3 a"))

    # The feeds mark every item.
    rss = BeautifulSoup((site / "feed.xml").read_text(encoding="utf-8"), "xml")
    assert [i.title.get_text() for i in rss.find_all("item")] == [
        "EXERCISE: Shelters open",
        "EXERCISE: Emergency Department open",
    ]
    atom = BeautifulSoup((site / "atom.xml").read_text(encoding="utf-8"), "xml")
    assert all(e.title.get_text().startswith("EXERCISE: ") for e in atom.find_all("entry"))
    items = json.loads((site / "feed.json").read_text(encoding="utf-8"))["items"]
    assert len(items) == 2 and all(i["title"].startswith("EXERCISE: ") for i in items)


def test_a_normal_build_has_no_exercise_banner(sample_site: Path) -> None:
    for page in ("index.html", "lite/index.html"):
        html = (sample_site / page).read_text(encoding="utf-8")
        assert "EXERCISE" not in html and "md-banner" not in html


def test_drill_exercise_stops_before_anything_on_bad_content(make_hub: HubFactory) -> None:
    root = make_hub(
        {"content/updates/2026-11-27-0615-ed-open.md": UPDATE_2.replace("emergency", "urgent")}
    )
    result = CliRunner().invoke(main, ["drill", "--exercise", "--hub", str(root)])
    assert result.exit_code == 2
    assert "content/updates/2026-11-27-0615-ed-open.md:4:1: severity:" in result.stderr
    assert state(root) == []  # nothing but the check's cache


@pytest.mark.slow
def test_exercise_of_a_dark_site_rehearses_the_activation(tmp_path: Path) -> None:
    from hub.init import init_hub

    root = init_hub("hurricane", tmp_path / "hub")
    before = (root / "content" / "hub.yaml").read_text()
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["drill", "--exercise", "--enabled-only", "--hub", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert "activated it in a scratch copy" in result.stdout
    assert (root / "content" / "hub.yaml").read_text() == before
    assert not (root / "content" / "updates").exists()
    site = root / ".stormhub" / "drill" / "site"
    titles = [i["title"] for i in json.loads((site / "feed.json").read_text())["items"]]
    assert sorted(titles) == [
        "EXERCISE: Hurricane [STORM] warning: what changes at Example Health",
        "EXERCISE: Hurricane [STORM]: Example Health is getting ready",
    ]
    assert "sh-exercise" in (site / "index.html").read_text()
    assert state(root) == ["drill"]  # no scratch left


def test_the_shipped_channels_file_has_no_drill_channel() -> None:
    """An exercise of the sample hub posts nothing for real unless a team opts in."""
    assert not [c.name for c in load_channels(ROOT) if c.drill]
