"""Page generation: a pure function of the Hub."""

from __future__ import annotations

import datetime as dt

from bs4 import BeautifulSoup

from hub.content import load_hub
from hub.site import pages
from hub.text import markdown_to_html
from tests.conftest import NOW, HubFactory


def many_updates(count: int) -> dict[str, str]:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    files = {}
    for i in range(count):
        moment = (start + dt.timedelta(minutes=10 * i)).isoformat()
        files[f"content/updates/u{i:04d}.md"] = (
            f"---\ntime: {moment}\ntitle: Update {i}\nseverity: info\n---\nText {i}.\n"
        )
    return files


def test_render_is_pure_and_complete(make_hub: HubFactory) -> None:
    hub = load_hub(make_hub())
    first = pages.render(hub, NOW)
    assert first == pages.render(hub, NOW)
    assert set(first) == {
        "index.md", "updates/index.md", "closures.md", "contacts.md", "tips.md",
        "resources.md", "updates/archive/1.md", "updates/2026-11-27-0615-ed-open.md",
    }  # fmt: skip


def test_archive_pages_are_bounded_and_never_move(make_hub: HubFactory) -> None:
    hub = load_hub(make_hub(many_updates(120)))
    archive = pages.archive_pages(hub)
    assert [len(p) for p in archive] == [50, 50, 21]
    assert archive[0][0].id == "u0000"  # page 1 holds the oldest, whatever comes later
    bigger = load_hub(make_hub(many_updates(170)))
    assert pages.archive_pages(bigger)[0] == archive[0]
    assert pages.archive_pages(bigger)[1] == archive[1]
    live = pages.updates_index(bigger)
    assert live.count("\n## [") == pages.LATEST
    assert "[Page 4](archive/4.md)" in live


def test_home_lists_only_the_latest(make_hub: HubFactory) -> None:
    hub = load_hub(make_hub(many_updates(30)))
    home = pages.home(hub, NOW)
    assert home.count("\n### [") == pages.HOME_LATEST


def test_times_follow_daylight_saving(make_hub: HubFactory) -> None:
    hub = load_hub(make_hub())
    summer = dt.datetime(2026, 7, 4, 16, 0, tzinfo=dt.UTC)
    winter = dt.datetime(2026, 12, 4, 17, 0, tzinfo=dt.UTC)
    assert pages.time_label(hub, summer) == "Sat Jul 4, 12:00 PM EDT"
    assert pages.time_label(hub, winter) == "Fri Dec 4, 12:00 PM EST"
    assert (
        pages.when(hub, summer)
        == '<time datetime="2026-07-04T16:00:00Z">Sat Jul 4, 12:00 PM EDT</time>'
    )


def test_titles_cannot_inject_markup(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/updates/a.md": "---\ntime: 2026-11-27 07:00\n"
            "title: '<b onclick=x>[Shelters](javascript:x)</b> *now*'\nseverity: info\n---\nBody.\n"
        }
    )
    page = pages.update_page(load_hub(root), load_hub(root).update("a"), NOW)
    heading = next(line for line in page.splitlines() if line.startswith("# "))
    rendered = BeautifulSoup(markdown_to_html(heading), "html.parser")
    assert rendered.find("h1").get_text() == "<b onclick=x>[Shelters](javascript:x)</b> *now*"
    assert [t.name for t in rendered.find_all(True)] == ["h1"]


def test_banner_and_status(make_hub: HubFactory) -> None:
    root = make_hub(
        {"content/hub.yaml": "organisation: O\nevent: E\nstatus: standby\ntimezone: UTC\n"}
    )
    home = pages.home(load_hub(root), NOW)
    assert "on standby" in home
    assert "!!!" not in home  # no banner configured

    hub = load_hub(make_hub())
    assert '!!! warning "Warning"\n\n    Stay indoors.' in pages.home(hub, NOW)


def test_tip_categories_follow_the_hub_order(make_hub: HubFactory) -> None:
    tip = "---\ntitle: {t}\ncategory: {c}\norder: {o}\n---\nText.\n"
    root = make_hub(
        {
            "content/hub.yaml": "organisation: O\nevent: E\ntimezone: UTC\n"
            "tip_categories: [Before, After]\n",
            "content/tips/a.md": tip.format(t="A1", c="After", o=1),
            "content/tips/b.md": tip.format(t="B2", c="Before", o=2),
            "content/tips/c.md": tip.format(t="B1", c="Before", o=1),
            "content/tips/d.md": tip.format(t="X", c="Anytime", o=1),
        }
    )
    text = pages.tips(load_hub(root))
    order = [line for line in text.splitlines() if line.startswith("##")]
    assert [o.split(" {")[0] for o in order] == [
        "## Before", "### B1", "### B2", "## After", "### A1", "## Anytime", "### X",
    ]  # fmt: skip
