"""``stormhub publish``: the fast path, the background rebuild, the fan-out, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.content import load_hub
from hub.fanout import Outcome
from hub.ledger import Ledger
from hub.publish import Step, publish
from hub.site import fast
from tests.conftest import NOW, HubFactory

OUTBOX = """\
channels:
  - name: outbox
    type: outbox
    folder: .stormhub/outbox
"""
NEW_ID = "2026-11-28-0900-shelters-stay-open"
NEW = """\
---
time: 2026-11-28 09:00
title: Shelters stay open tonight
severity: warning
tags: [shelter]
---
Both shelters stay open tonight. See the [earlier update](2026-11-27-0615-ed-open.md).
"""
CORRECTION = """\
---
time: 2026-11-28 10:00
title: ED open, corrected hours
severity: warning
supersedes: 2026-11-27-0615-ed-open
---
The Emergency Department is open around the clock.
"""
BAD = """\
---
time: 2026-11-28 09:00
title: Broken
severity: severe
---
Text.
"""


def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORMHUB_USER", "tester")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def published(make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A hub with an outbox channel, published once (a first, full build)."""
    _env(monkeypatch)
    root = make_hub({"channels.yaml": OUTBOX})
    result = publish(root, now=NOW)
    assert result.fast is None and result.exit_code == 0
    return root


def test_first_publish_builds_the_whole_site(published: Path) -> None:
    site = published / "site"
    assert (site / "updates/2026-11-27-0615-ed-open/index.html").is_file()
    manifest = fast.read_manifest(published)
    assert manifest is not None and manifest.site_dir == str(site)
    hub = load_hub(published)
    assert manifest.updates == {u.id: u.revision for u in hub.updates}
    assert len(list((published / ".stormhub/outbox").glob("*.json"))) == 1


def test_new_update_is_live_before_the_rebuild_and_searchable_after(published: Path) -> None:
    (published / f"content/updates/{NEW_ID}.md").write_text(NEW, encoding="utf-8")
    site = published / "site"
    seen: dict[str, object] = {}
    fast_copies: dict[str, bytes] = {}

    def progress(event: Step | Outcome) -> None:
        if isinstance(event, Step) and event.name == "site" and event.state == "done":
            # The rebuild has not started yet: what is live now is the fast path's work.
            seen["page"] = (site / f"updates/{NEW_ID}/index.html").is_file()
            seen["home"] = "Shelters stay open tonight" in (site / "index.html").read_text()
            seen["index"] = NEW_ID in (site / "search/search_index.json").read_text()
            seen["sitemap"] = NEW_ID in (site / "sitemap.xml").read_text()
            for name in ("feed.xml", "atom.xml", "feed.json", "lite/index.html"):
                seen[name] = NEW_ID in (site / name).read_text()
            for uri in ("updates/index.html", f"updates/{NEW_ID}/index.html", "index.html",
                        "feed.xml", "atom.xml", "feed.json", "lite/index.html"):  # fmt: skip
                fast_copies[uri] = (site / uri).read_bytes()
        if isinstance(event, Step) and event.name == "rebuild" and event.state == "running":
            seen["rebuild_after_site"] = "page" in seen

    result = publish(published, now=NOW, by="tester", progress=progress)

    assert result.exit_code == 0, result.rebuild_error
    assert seen == {
        "page": True, "home": True, "index": False, "sitemap": False, "feed.xml": True,
        "atom.xml": True, "feed.json": True, "lite/index.html": True,
        "rebuild_after_site": True,
    }  # fmt: skip
    assert result.fast is not None and result.fast.updates == [NEW_ID]
    assert result.permalinks == [f"https://hub.example.org/updates/{NEW_ID}/"]
    # After the rebuild: search and the sitemap know the new update.
    index = json.loads((site / "search/search_index.json").read_text())
    assert any(doc["location"].startswith(f"updates/{NEW_ID}/") for doc in index["docs"])
    assert f"https://hub.example.org/updates/{NEW_ID}/" in (site / "sitemap.xml").read_text()
    # The fast path wrote exactly what the full build then wrote (same theme, nav, assets).
    for uri, early in fast_copies.items():
        assert early == (site / uri).read_bytes(), uri
    page = fast_copies[f"updates/{NEW_ID}/index.html"].decode()
    assert 'href="../2026-11-27-0615-ed-open/"' in page  # the body's link was resolved
    assert "assets/stylesheets/main." in page and 'class="md-nav' in page
    # Delivered once, to the outbox, with the audit trail naming who published.
    assert [o.update_id for o in result.report.outcomes if o.status == "posted"] == [NEW_ID]
    assert result.seconds.keys() == {"check", "site", "fanout", "rebuild"}
    manifest = fast.read_manifest(published)
    assert manifest is not None and NEW_ID in manifest.updates


def test_nothing_new_renders_only_the_lists(published: Path) -> None:
    result = publish(published, now=NOW)
    assert result.fast is not None and result.fast.updates == []
    assert result.permalinks == []
    assert result.report.outcomes == []


def test_a_correction_rerenders_the_page_it_corrects(published: Path) -> None:
    (published / "content/updates/2026-11-28-1000-ed-hours.md").write_text(CORRECTION)
    result = publish(published, now=NOW)
    assert result.fast is not None
    assert sorted(result.fast.updates) == ["2026-11-27-0615-ed-open", "2026-11-28-1000-ed-hours"]
    old = (published / "site/updates/2026-11-27-0615-ed-open/index.html").read_text()
    assert "This update was corrected" in old


def test_a_bad_update_stops_everything(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch)
    root = make_hub({"channels.yaml": OUTBOX, "content/updates/2026-11-28-0900-broken.md": BAD})
    result = CliRunner().invoke(main, ["publish", "--hub", str(root)])
    assert result.exit_code == 2, result.output
    assert "content/updates/2026-11-28-0900-broken.md:4:1: severity:" in result.stderr
    assert not (root / "site").exists()
    assert not (root / ".stormhub/outbox").exists()
    assert not (root / ".stormhub/ledger.sqlite").exists()


def test_a_bad_update_after_a_build_leaves_site_and_ledger_alone(
    published: Path,
) -> None:
    before = {p: p.read_bytes() for p in (published / "site").rglob("*") if p.is_file()}
    with Ledger(published / ".stormhub/ledger.sqlite") as db:
        rows = db.rows()
    (published / "content/updates/2026-11-28-0900-broken.md").write_text(BAD)
    result = CliRunner().invoke(main, ["publish", "--hub", str(published)])
    assert result.exit_code == 2
    assert "nothing was written" in result.stderr
    after = {p: p.read_bytes() for p in (published / "site").rglob("*") if p.is_file()}
    assert after == before
    with Ledger(published / ".stormhub/ledger.sqlite") as db:
        assert db.rows() == rows


def test_cli_prints_the_permalink_and_every_channel(published: Path) -> None:
    (published / f"content/updates/{NEW_ID}.md").write_text(NEW, encoding="utf-8")
    result = CliRunner().invoke(main, ["publish", "--hub", str(published), "--by", "A. Rivera"])
    assert result.exit_code == 0, result.output
    assert f"https://hub.example.org/updates/{NEW_ID}/" in result.stdout
    assert "Fan-out result" in result.stdout and "outbox" in result.stdout
    assert "rebuild" in result.stdout and "done" in result.stdout


def test_cli_exit_1_when_a_channel_fails(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch)
    monkeypatch.delenv("PUBLISH_TEST_TOKEN", raising=False)
    channels = OUTBOX + (
        "  - name: mastodon\n    type: mastodon\n    api_base_url: https://127.0.0.1:9\n"
        "    access_token: ${PUBLISH_TEST_TOKEN}\n"
    )
    root = make_hub({"channels.yaml": channels})
    result = CliRunner().invoke(main, ["publish", "--hub", str(root)])
    assert result.exit_code == 1, result.output
    assert "PUBLISH_TEST_TOKEN not set" in result.stdout
    assert (root / "site/index.html").is_file()  # the site still went live


def test_an_older_rebuild_never_replaces_a_newer_site(published: Path) -> None:
    manifest = fast.read_manifest(published)
    assert manifest is not None
    marker = published / "site/marker.txt"
    marker.write_text("newer")
    assert not fast.rebuild(published, published / "site", generation=manifest.generation - 1,
                            now=NOW)  # fmt: skip
    assert marker.read_text() == "newer"
    assert fast.rebuild(published, published / "site", generation=manifest.generation + 1, now=NOW)
    assert not marker.exists()
    assert not [p for p in published.iterdir() if p.name.startswith(".site-")]


def test_no_manifest_means_a_full_build(published: Path) -> None:
    (published / fast.MANIFEST).unlink()
    (published / f"content/updates/{NEW_ID}.md").write_text(NEW, encoding="utf-8")
    result = publish(published, now=NOW)
    assert result.fast is None
    assert NEW_ID in (published / "site/search/search_index.json").read_text()
    assert result.permalinks == [f"https://hub.example.org/updates/{NEW_ID}/"]


def test_touched_updates_include_both_sides_of_a_correction(make_hub: HubFactory) -> None:
    root = make_hub({"content/updates/2026-11-28-1000-ed-hours.md": CORRECTION})
    hub = load_hub(root)
    manifest = fast.Manifest(str(root / "site"), 1, {u.id: u.revision for u in hub.updates})
    assert fast.changed_updates(hub, manifest) == []
    del manifest.updates["2026-11-27-0615-ed-open"]
    changed = fast.changed_updates(hub, manifest)
    assert [u.id for u in changed] == ["2026-11-27-0615-ed-open"]
    assert {u.id for u in fast.touched_updates(hub, changed)} == {
        "2026-11-27-0615-ed-open",
        "2026-11-28-1000-ed-hours",
    }


def test_rebuild_child_reports_errors(published: Path) -> None:
    shutil.rmtree(published / "content")
    assert fast.main(["rebuild", str(published), str(published / "site"), "1"]) == 1
    assert fast.main(["bogus"]) == 2


def test_the_fast_path_links_the_poster_and_the_cards_without_rewriting_them(
    published: Path,
) -> None:
    """closures.ics, contacts.vcf and the poster do not change with a new update: the
    fast path's pages link them, and the live site keeps the full build's copies."""
    from hub.site import extras

    site = published / "site"
    assert all((site / uri).is_file() for uri in extras.LINKED)  # from the full build
    (published / f"content/updates/{NEW_ID}.md").write_text(NEW, encoding="utf-8")
    result = publish(published, now=NOW)
    assert result.fast is not None  # the fast path ran: every link resolved
    assert not set(extras.LINKED) & set(result.fast.written)
    assert "contacts.vcf" in (site / "contacts/index.html").read_text()
