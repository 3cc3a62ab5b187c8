"""Languages: translations read and checked, stale ones found, a language's view, its
site, feeds, posts and CAP blocks (hub.i18n, hub.words)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from hub import cap, i18n
from hub.channels import make_channel
from hub.checks import check_hub
from hub.cli import main
from hub.config import load_channels
from hub.content import load_hub
from hub.errors import ContentError
from hub.site.build import build_site
from tests.conftest import HUB_YAML, ROOT, HubFactory

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
ED = "2026-11-27-0615-ed-open"
SECOND = "2026-11-27-0900-shelters"
SHELTERS_MD = """\
---
time: 2026-11-27 09:00
title: Shelters open
severity: advisory
---
Two shelters are open tonight.
"""
ES_HUB = HUB_YAML.replace("languages: [en]", "languages: [en, es]")


def translated(root: Path, kind: str, item_id: str, body: dict[str, str] | None = None) -> str:
    """The source digest of an item of the hub at *root*, as a translation names it."""
    hub = load_hub(root)
    item = i18n.original(hub, kind, item_id)
    return i18n.digest(kind, item, "en")


def es_hub(make_hub: HubFactory, files: dict[str, str | None] | None = None) -> Path:
    """A two-language hub: the ED update translated (current), the shelters one not."""
    root = make_hub({"content/hub.yaml": ES_HUB, f"content/updates/{SECOND}.md": SHELTERS_MD})
    source = translated(root, "update", ED)
    return make_hub(
        {
            "content/hub.yaml": ES_HUB,
            f"content/updates/{SECOND}.md": SHELTERS_MD,
            f"content/updates/{ED}.es.md": f"---\nsource: {source}\n"
            "title: Urgencias abiertas\n---\nUrgencias está abierta con generador.\n",
            **(files or {}),
        }
    )


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        check_hub(root)
    return [str(p) for p in caught.value.problems]


# --- reading translations ------------------------------------------------------------


def test_a_translation_file_and_yaml_blocks_are_read(make_hub: HubFactory) -> None:
    root = es_hub(make_hub)
    contacts = (
        "- name: Main line\n  category: Hospital\n  phone: (757) 555-0100\n"
        "  verified: 2026-11-20\n  translations:\n    es:\n      source: SOURCE\n"
        "      name: Línea principal\n      category: Hospital\n"
    )
    (root / "content" / "contacts.yaml").write_text(contacts.replace("SOURCE", "en-00000000"))
    source = translated(root, "contact", "main-line")
    (root / "content" / "contacts.yaml").write_text(contacts.replace("SOURCE", source))
    hub, _configs, warnings = check_hub(root)
    assert [w for w in warnings if "translation" in str(w)] == []
    found = {(t.kind, t.item, t.language) for t in hub.translations}
    assert found == {("update", ED, "es"), ("contact", "main-line", "es")}
    es = i18n.localize(hub, "es")
    assert es.update(ED).title == "Urgencias abiertas"
    assert es.update(ED).body == "Urgencias está abierta con generador."
    assert es.contacts[0].name == "Línea principal"
    # the same update, in other words: the ledger and approvals know it by one revision
    assert es.update(ED).revision == hub.update(ED).revision
    # the untranslated update keeps its text, and the view has no page of it
    assert es.update(SECOND).title == "Shelters open"
    assert not es.has_page(es.update(SECOND)) and es.has_page(es.update(ED))
    assert es.permalink(es.update(ED)).endswith(f"/es/updates/{ED}/")
    assert es.permalink(es.update(SECOND)) == hub.permalink(hub.update(SECOND))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {f"content/updates/{ED}.fr.md": "---\ntitle: Urgences\n---\nOuvert.\n"},
            f"content/updates/{ED}.fr.md:2:1: file: 'fr' is not in hub.yaml's languages (en, es)",
        ),
        (
            {f"content/updates/{ED}.en.md": "---\ntitle: ED\n---\nOpen.\n"},
            f"content/updates/{ED}.en.md:2:1: file: en is the hub's default language",
        ),
        (
            {"content/updates/no-such-update.es.md": "---\ntitle: Nada\n---\nNada.\n"},
            "content/updates/no-such-update.es.md:2:1: file: translates "
            "content/updates/no-such-update.md, which does not exist",
        ),
        (
            {f"content/updates/{ED}.es.md": "---\ntitle: Urgencias\nseverity: info\n---\nSí.\n"},
            f"content/updates/{ED}.es.md:3:1: severity: is not translated: an update "
            "translates title, body, instruction",
        ),
        (
            {f"content/updates/{ED}.es.md": "---\nsource: 12345678\ntitle: U\n---\nSí.\n"},
            f"content/updates/{ED}.es.md:2:1: source: 12345678 is not a source digest",
        ),
        (
            {f"content/updates/{ED}.es.md": "---\nsource: en-12345678\n---\nSí.\n"},
            f"content/updates/{ED}.es.md:2:1: title: missing: the es translation of this update "
            "must give its title",
        ),
        (
            {f"content/updates/{ED}.es.md": "---\ntitle: U\n---\n<script>alert(1)</script>\n"},
            f"content/updates/{ED}.es.md:4:1: body: raw HTML <script> is not allowed",
        ),
        (
            {
                "content/closures.yaml": "- facility: Clinic\n  status: closed\n"
                "  from: 2026-11-26 12:00\n  translations:\n    es:\n      facility: Clínica\n"
                "      note: Cerrada <iframe src=x></iframe>\n"
            },
            "content/closures.yaml:7:",
        ),
        (
            {
                "content/closures.yaml": "- facility: Clinic\n  status: closed\n"
                "  from: 2026-11-26 12:00\n  translations:\n    es:\n      hours: 9-5\n"
            },
            "content/closures.yaml:6:7: hours: is not translated: a closure translates "
            "facility, note, alternatives",
        ),
        (
            {
                "content/closures.yaml": "- facility: Clinic\n  status: closed\n"
                "  from: 2026-11-26 12:00\n  alternatives: [Westgate]\n  translations:\n"
                "    es:\n      facility: Clínica\n      alternatives: Westgate\n"
            },
            "content/closures.yaml:8:7: alternatives: must be a list of texts",
        ),
        (
            {"content/hub.yaml": ES_HUB + "translations:\n  es: Huracán\n"},
            "content/hub.yaml:11:3: es: must be a mapping of the translated fields and source:",
        ),
    ],
    ids=[
        "undeclared-language",
        "default-language",
        "no-such-item",
        "unknown-field",
        "bad-source",
        "missing-title",
        "unsafe-html",
        "unsafe-yaml-note",
        "yaml-unknown-field",
        "yaml-list-as-text",
        "hub-block-not-mapping",
    ],
)
def test_bad_translations_are_errors_with_file_and_line(
    make_hub: HubFactory, files: dict[str, str], expected: str
) -> None:
    root = make_hub({"content/hub.yaml": ES_HUB, **files})
    found = problems(root)
    assert any(p.startswith(expected) for p in found), found


def test_a_channel_in_a_language_the_hub_lacks_is_an_error(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "channels.yaml": "channels:\n  - name: masto-fr\n    type: mastodon\n"
            "    api_base_url: https://social.example\n    access_token: ${TOKEN}\n"
            "    language: fr\n"
        }
    )
    assert problems(root) == [
        "channels.yaml:6:5: language: masto-fr: 'fr' is not one of the hub's languages (en): "
        "add it to content/hub.yaml's languages, or fix the channel's language:"
    ]


# --- stale translations ----------------------------------------------------------------


def test_a_changed_original_makes_its_translation_stale(make_hub: HubFactory) -> None:
    root = es_hub(make_hub)
    old = translated(root, "update", ED)
    changed = (
        (root / "content" / "updates" / f"{ED}.md")
        .read_text()
        .replace("on generator power", "on utility power")
    )
    (root / "content" / "updates" / f"{ED}.md").write_text(changed)
    hub, _configs, warnings = check_hub(root)  # a warning: the English still publishes
    new = i18n.digest("update", hub.update(ED), "en")
    assert new != old
    stale = [str(w) for w in warnings if "translation" in str(w)]
    assert stale == [
        f"content/updates/{ED}.es.md:2:1: translation: stale: the en text changed after this "
        f"translation was made (it was made from {old}, the en text is now {new}); until it "
        "is updated, readers see the en text marked 'Translation pending'. Update the "
        f"translation, then set source: {new}"
    ]
    es = i18n.localize(hub, "es")
    assert i18n.state(hub, "update", hub.update(ED), "es").status == "stale"
    assert es.update(ED).body == hub.update(ED).body  # never the outdated text as current
    assert es.has_page(es.update(ED))  # its page says the translation is pending

    result = CliRunner().invoke(main, ["check", "--hub", str(root)])
    assert result.exit_code == 0, result.output
    assert f"warning: content/updates/{ED}.es.md:2:1: translation: stale" in result.output
    assert "Spanish (es): 0 of 4 texts translated, 1 stale." in result.output


def test_a_translation_without_source_is_reported_with_the_digest_to_set(
    make_hub: HubFactory,
) -> None:
    root = make_hub(
        {
            "content/hub.yaml": ES_HUB,
            f"content/updates/{ED}.es.md": "---\ntitle: Urgencias\n---\nAbierta.\n",
        }
    )
    hub, _configs, warnings = check_hub(root)
    wanted = i18n.digest("update", hub.update(ED), "en")
    assert [str(w) for w in warnings if "translation" in str(w)] == [
        f"content/updates/{ED}.es.md:2:1: translation: no source: say which en text this "
        f"translates: if it is up to date with the en text, add source: {wanted}"
    ]
    assert i18n.state(hub, "update", hub.update(ED), "es").status == "stale"


def test_the_sample_hub_is_translated_and_current() -> None:
    hub, _configs, warnings = check_hub(ROOT)
    assert [str(w) for w in warnings if "translation" in str(w)] == []
    assert hub.info.languages == ("en", "es")
    current = {
        (t.kind, t.item) for t in hub.translations if t.language == "es" and
        i18n.state(hub, t.kind, i18n.original(hub, t.kind, t.item), "es").status == "current"
    }  # fmt: skip
    assert ("banner", "") in current and ("hub", "") in current
    assert {("tip", t.id) for t in hub.tips} <= current
    assert {("contact", c.id) for c in hub.contacts} <= current
    assert len([k for k in current if k[0] == "update"]) >= 5


# --- a language's site -------------------------------------------------------------------


def _page(site: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site / path).read_text(encoding="utf-8"), "html.parser")


def _resolves(site: Path, page: str, href: str) -> bool:
    """Whether *href* on the page at site path *page* names a file of the site."""
    target = urlsplit(urljoin("https://h.example/" + page, href)).path.lstrip("/")
    path = site / target
    return (path / "index.html").is_file() if not target or target.endswith("/") else path.is_file()


def test_each_language_has_its_own_site(make_hub: HubFactory) -> None:
    root = es_hub(make_hub)
    site = build_site(root, now=NOW)
    home = _page(site, "es/index.html")
    assert home.html is not None and home.html["lang"] == "es"
    text = home.get_text(" ", strip=True)
    assert "Últimas noticias" in text and "Urgencias abiertas" in text
    assert "Shelters open (en inglés)" in text
    # the untranslated update is linked to its English page, marked as English
    english = home.find("a", string="Shelters open")
    assert english is not None and english.find_parent(attrs={"lang": "en"}) is not None
    assert english["href"] == f"/updates/{SECOND}/" and _resolves(site, "es/", english["href"])
    assert not (site / "es" / "updates" / SECOND).exists()
    page = _page(site, f"es/updates/{ED}/index.html")
    assert page.find("h1").get_text(strip=True) == "Urgencias abiertas"
    # its schema.org announcement is the Spanish one, at the Spanish address
    data = json.loads(page.find("script", type="application/ld+json").string)
    assert (data["name"], data["inLanguage"]) == ("Urgencias abiertas", "es")
    assert data["url"] == f"https://hub.example.org/es/updates/{ED}/"
    home_data = json.loads(home.find("script", type="application/ld+json").string)
    assert (home_data["inLanguage"], home_data["url"]) == ("es", "https://hub.example.org/es/")
    # the navigation and the theme's own words are Spanish
    assert "Noticias en vivo" in [a.get_text(strip=True) for a in home.select(".md-nav__link")]
    assert home.select_one("input.md-search__input")["placeholder"] == "Búsqueda"
    search = json.loads((site / "es" / "search" / "search_index.json").read_text())
    assert search["config"]["lang"] == ["es"]
    # the language switcher links to the same page in the other language, where it exists
    for page_path, lang, expected in [
        (f"updates/{ED}/", "es", f"es/updates/{ED}/"),
        (f"es/updates/{ED}/", "en", f"updates/{ED}/"),
        (f"updates/{SECOND}/", "es", "es/"),  # no Spanish page: the Spanish home
        ("es/closures/", "en", "closures/"),
    ]:
        links = _page(site, page_path + "index.html").select(f"a.md-select__link[hreflang={lang}]")
        assert len(links) == 1, page_path
        target = urlsplit(urljoin("https://h.example/" + page_path, links[0]["href"])).path
        assert target == "/" + expected and _resolves(site, page_path, links[0]["href"])


def test_a_stale_translation_shows_the_english_marked_pending(make_hub: HubFactory) -> None:
    root = es_hub(make_hub)
    path = root / "content" / "updates" / f"{ED}.md"
    path.write_text(path.read_text().replace("on generator power", "on utility power"))
    site = build_site(root, now=NOW)
    page = _page(site, f"es/updates/{ED}/index.html")
    text = page.get_text(" ", strip=True)
    assert "Traducción pendiente" in text
    link = page.find("a", string="Translation pending: see English")
    assert link is not None and link["hreflang"] == "en"
    assert _resolves(site, f"es/updates/{ED}/", link["href"])
    current = page.select("article div[lang=en]")
    assert len(current) == 1 and "on utility power" in current[0].get_text()
    earlier = page.select_one("details.sh-earlier")
    assert earlier is not None and "Urgencias está abierta con generador." in earlier.get_text()


def test_feeds_lite_page_and_poster_exist_per_language(make_hub: HubFactory) -> None:
    root = es_hub(make_hub)
    site = build_site(root, now=NOW)
    feed = feedparser.parse((site / "es" / "feed.xml").read_bytes())
    assert feed.feed.language == "es"
    titles = {e.link: e.title for e in feed.entries}
    assert titles[f"https://hub.example.org/es/updates/{ED}/"] == "Urgencias abiertas"
    assert titles[f"https://hub.example.org/updates/{SECOND}/"] == "Shelters open (en inglés)"
    data = json.loads((site / "es" / "feed.json").read_text())
    assert data["language"] == "es" and data["feed_url"].endswith("/es/feed.json")
    assert {i["language"] for i in data["items"]} == {"es", "en"}
    lite = _page(site, "es/lite/index.html")
    assert lite.html["lang"] == "es" and "Últimas noticias" in lite.get_text()
    assert lite.find("a", string="Shelters open")["href"] == f"/updates/{SECOND}/"
    poster = _page(site, "es/poster/index.html")
    assert poster.html["lang"] == "es" and "Cartel impreso el vie 27 nov" in poster.get_text()
    import icalendar

    calendar = icalendar.Calendar.from_ical((site / "es" / "closures.ics").read_bytes())
    assert str(calendar["X-WR-CALNAME"]) == "Hurricane Test: cierres"
    assert (site / "es" / "contacts.vcf").is_file()
    assert not (site / "es" / "cap").exists()  # one alert per update, every language in it


def test_a_cap_alert_has_an_info_per_current_translation(make_hub: HubFactory) -> None:
    root = es_hub(make_hub)
    hub = load_hub(root)
    xml = cap.alert(hub, hub.update(ED)).decode()
    assert re.findall(r"<language>(.*)</language>", xml) == ["en-US", "es-US"]
    assert "<headline>Urgencias abiertas</headline>" in xml
    assert f"<web>https://hub.example.org/es/updates/{ED}/</web>" in xml
    shelters = cap.alert(hub, hub.update(SECOND)).decode()  # not translated: English only
    assert re.findall(r"<language>(.*)</language>", shelters) == ["en-US"]


# --- channels ----------------------------------------------------------------------------


def test_a_channel_in_spanish_gets_the_spanish_or_the_english_marked(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = es_hub(
        make_hub,
        {
            "channels.yaml": "channels:\n  - name: masto-es\n    type: mastodon\n"
            "    api_base_url: https://social.example\n    access_token: ${TOKEN}\n"
            "    language: es\n  - name: masto\n    type: mastodon\n"
            "    api_base_url: https://social.example\n    access_token: ${TOKEN}\n"
        },
    )
    hub = load_hub(root)
    spanish, english = (make_channel(c, hub) for c in load_channels(root))
    post = spanish.render(spanish.localized(hub.update(ED)))
    assert post.parts[0].startswith("AVISO: Urgencias abiertas\n\nUrgencias está abierta")
    assert post.link == f"https://hub.example.org/es/updates/{ED}/"
    assert post.revision == hub.update(ED).revision  # the ledger's delivery is the update's
    pending = spanish.render(spanish.localized(hub.update(SECOND)))
    assert pending.parts[0].startswith("(en inglés) Shelters open\n\nTwo shelters")
    assert pending.link == f"https://hub.example.org/updates/{SECOND}/"
    assert (
        english.render(english.localized(hub.update(ED)))
        .parts[0]
        .startswith("WARNING: Emergency Department open")
    )


def test_translations_go_through_the_privacy_guard(make_hub: HubFactory) -> None:
    root = es_hub(
        make_hub,
        {
            f"content/updates/{ED}.es.md": "---\ntitle: Urgencias abiertas\n---\n"
            "Urgencias está abierta.\n\nEl paciente, MRN 48213377, está en la habitación 4.\n",
            "content/contacts.yaml": "- name: Main line\n  category: Hospital\n"
            "  phone: (757) 555-0100\n  verified: 2026-11-20\n  translations:\n    es:\n"
            "      name: Línea principal\n      note: Llame a Ana al 555-867-5309 o ana@gmail.com\n",
        },
    )
    found = problems(root)
    assert any(
        p.startswith(f"content/updates/{ED}.es.md:6:14: privacy:") and "medical record" in p
        for p in found
    ), found
    assert any(p.startswith("content/contacts.yaml:8:") and "privacy" in p for p in found), found


# --- the fast publish path, per language ---------------------------------------------------


def test_the_fast_path_renders_each_language_as_the_full_build_does(
    make_hub: HubFactory,
) -> None:
    from hub.site import fast

    root = es_hub(make_hub)
    site = root / "site"
    fast.full_build(root, site, generation=1, now=NOW)
    manifest = fast.read_manifest(root)
    assert manifest is not None and set(manifest.languages) == {"es"}
    hub = load_hub(root)
    assert fast.changed_updates(hub, manifest, "es") == []
    # A new update, and a translation of the one that had none
    new_id = "2026-11-27-1000-water"
    (root / "content" / "updates" / f"{new_id}.md").write_text(
        "---\ntime: 2026-11-27 10:00\ntitle: Boil water\nseverity: warning\n---\nBoil it.\n"
    )
    hub = load_hub(root)
    source = i18n.digest("update", hub.update(SECOND), "en")
    (root / "content" / "updates" / f"{SECOND}.es.md").write_text(
        f"---\nsource: {source}\ntitle: Refugios abiertos\n---\nHay dos refugios abiertos.\n"
    )
    hub = load_hub(root)
    changed = fast.changed_updates(hub, manifest, "es")
    assert [u.id for u in changed] == [new_id, SECOND]  # the translation changed its page
    assert [u.id for u in fast.changed_updates(hub, manifest)] == [new_id]
    for language in (None, "es"):
        config = fast.load_site_config(root, language=language)
        touched = fast.touched_updates(hub, fast.changed_updates(hub, manifest, language))
        fast.render_fast(root, hub, config, touched, generation=2, now=NOW, language=language)
    early = {
        uri: (site / uri).read_bytes()
        for uri in ("es/index.html", "es/updates/index.html", f"es/updates/{SECOND}/index.html",
                    "es/feed.xml", "es/lite/index.html", "es/sw.js", "index.html")
    }  # fmt: skip
    assert "Refugios abiertos" in early["es/index.html"].decode()
    assert "Boil water" in early["es/index.html"].decode()
    assert not (site / "es" / "updates" / new_id).exists()  # not translated: no page
    assert not list(site.parent.glob(".site-fast-*")) and not list(site.glob(".*"))
    manifest = fast.read_manifest(root)
    assert manifest is not None and fast.changed_updates(hub, manifest, "es") == []
    fast.full_build(root, site, generation=3, now=NOW)
    for uri, content in early.items():
        assert content == (site / uri).read_bytes(), uri


def test_a_publish_puts_every_language_live(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.publish import publish
    from hub.site import fast

    monkeypatch.setenv("STORMHUB_USER", "tester")
    root = es_hub(make_hub, {"channels.yaml": "channels: []\n"})
    publish(root, now=NOW)
    new_id = "2026-11-27-1000-water"
    (root / "content" / "updates" / f"{new_id}.md").write_text(
        "---\ntime: 2026-11-27 10:00\ntitle: Boil water\nseverity: warning\n---\nBoil it.\n"
    )
    result = publish(root, now=NOW)
    assert result.exit_code == 0, result.rebuild_error
    assert result.fast is not None and result.fast.updates == [new_id]
    home = (root / "site" / "es" / "index.html").read_text(encoding="utf-8")
    assert "Boil water" in home and f'href="/updates/{new_id}/"' in home
    manifest = fast.read_manifest(root)
    assert manifest is not None and new_id in manifest.languages["es"]


# --- hand-written pages ----------------------------------------------------------------------


def test_hand_written_pages_translate_and_go_stale(make_hub: HubFactory) -> None:
    about = "# About this hub\n\nRun by the county.\n"
    root = es_hub(make_hub, {"docs/about.md": about, "docs/visit.md": "# Visiting\n\nNo.\n"})
    wanted = i18n.page_digest(about, "en")
    (root / "docs" / "about.es.md").write_text(
        f"---\nsource: {wanted}\n---\n# Acerca de este sitio\n\nLo lleva el condado.\n"
    )
    _hub, _configs, warnings = check_hub(root)
    assert [str(w) for w in warnings if "translation" in str(w)] == []
    site = build_site(root, now=NOW)
    assert "Acerca de este sitio" in (site / "es/about/index.html").read_text()
    assert "Acerca" not in (site / "about/index.html").read_text()
    assert not (site / "about.es").exists() and not (site / "es/about.es").exists()
    visit = _page(site, "es/visit/index.html")  # not translated: English, marked
    assert "Traducción pendiente" in visit.get_text()
    assert visit.select_one("article div[lang=en]").find("h1").get_text() == "Visiting"

    (root / "docs" / "about.md").write_text(about.replace("county", "city"))
    _hub, _configs, warnings = check_hub(root)
    new = i18n.page_digest(about.replace("county", "city"), "en")
    assert [str(w) for w in warnings if "translation" in str(w)] == [
        f"docs/about.es.md:1:1: translation: stale: docs/about.md changed after this "
        f"translation was made (it was made from {wanted}, the page is now {new}); until it "
        "is updated, readers see the en page marked 'Translation pending'. Update the "
        f"translation, then set source: {new}"
    ]
    site = build_site(root, now=NOW)
    page = _page(site, "es/about/index.html")
    assert "Run by the city." in page.select_one("article div[lang=en]").get_text()
    assert "Lo lleva el condado." in page.select_one("details.sh-earlier").get_text()

    (root / "docs" / "gone.es.md").write_text("# Nada\n")
    assert problems(root) == [
        "docs/gone.es.md:1:1: file: translates docs/gone.md, which does not exist: name it "
        "<page>.<language>.md after the page it translates"
    ]


def test_email_and_sms_in_spanish_use_spanish_words(make_hub: HubFactory) -> None:
    root = es_hub(
        make_hub,
        {
            "channels.yaml": "channels:\n"
            "  - name: correo\n    type: email\n    host: smtp.example.org\n    port: 587\n"
            "    security: starttls\n    sender: Hub <alerts@example.org>\n"
            "    recipients: [lista@example.org]\n    language: es\n"
            "  - name: sms-es\n    type: sms\n    account_sid: ${SID}\n    auth_token: ${TOKEN}\n"
            '    sender: "+1 757 555 0100"\n    recipients: ["+1 757 555 0123"]\n'
            "    language: es\n"
        },
    )
    hub = load_hub(root)
    email, sms = (make_channel(c, hub) for c in load_channels(root))
    mail = email.render(email.localized(hub.update(ED)))
    assert mail.subject == "[Aviso] Urgencias abiertas"
    assert mail.html is not None and '<html lang="es">' in mail.html
    assert "Lea esta actualización en línea:" in mail.html
    retraction = email.render(email.localized(hub.update(ED)), retraction=True)
    assert retraction.subject == "Retirada: Urgencias abiertas"
    text = sms.render(sms.localized(hub.update(SECOND)))
    assert text.parts[0].startswith("(en inglés) Shelters open")
    warning = sms.render(sms.localized(hub.update(ED)))
    assert warning.parts[0].startswith("AVISO: Urgencias abiertas")


def test_an_exercise_keeps_its_translations_and_marks_them(make_hub: HubFactory) -> None:
    root = es_hub(make_hub)
    hub = load_hub(root).as_exercise()
    es = i18n.localize(hub, "es")
    assert es.update(ED).title == "EXERCISE: Urgencias abiertas"
    assert i18n.reads_in(es, "update", ED) == "es"
    site = build_site(root, now=NOW, exercise=True)
    page = (site / "es" / "updates" / ED / "index.html").read_text(encoding="utf-8")
    assert "EXERCISE: Urgencias abiertas" in page and "SIMULACRO" in page


def test_mkdocs_settings_translate_under_extra(make_hub: HubFactory) -> None:
    from tests.conftest import MKDOCS_YML

    mkdocs_yml = MKDOCS_YML.replace(
        "extra:\n",
        "copyright: In an emergency, call 911.\nextra:\n  translations:\n    es:\n"
        "      site_name: Centro de prueba\n"
        "      copyright: En una emergencia, llame al 911.\n",
    )
    root = es_hub(make_hub, {"mkdocs.yml": mkdocs_yml})
    site = build_site(root, now=NOW)
    home = _page(site, "es/index.html")
    assert home.title is not None and home.title.get_text().endswith("- Centro de prueba")
    assert "En una emergencia, llame al 911." in home.get_text()
    assert "In an emergency, call 911." in _page(site, "index.html").get_text()


def test_an_unknown_language_is_an_error(make_hub: HubFactory) -> None:
    root = make_hub(
        {"content/hub.yaml": HUB_YAML.replace("languages: [en]", "languages: [en, xx]")}
    )
    assert problems(root) == [
        "content/hub.yaml:6:1: languages: 'xx' is not a language the Unicode CLDR knows: "
        "check the code, e.g. es, zh-Hant, vi, ht"
    ]


def test_an_approval_covers_the_translations_too(make_hub: HubFactory) -> None:
    from hub.approvals import approve, approved, blocked
    from hub.ledger import Ledger

    root = es_hub(make_hub, {"content/hub.yaml": ES_HUB + "approval: required\n"})
    ledger = root / ".stormhub" / "ledger.sqlite"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    approve(root, ED, "Dana", ledger)
    approve(root, SECOND, "Dana", ledger)
    hub = load_hub(root)
    with Ledger(ledger) as db:
        assert blocked(hub, hub.update(ED), approved(db)) is None
        assert blocked(hub, hub.update(SECOND), approved(db)) is None
    # A translation added after the approval is text no one approved yet
    source = i18n.digest("update", hub.update(SECOND), "en")
    (root / "content" / "updates" / f"{SECOND}.es.md").write_text(
        f"---\nsource: {source}\ntitle: Refugios abiertos\n---\nHay dos refugios.\n"
    )
    hub = load_hub(root)
    with Ledger(ledger) as db:
        why = blocked(hub, hub.update(SECOND), approved(db))
    assert why is not None and why.startswith("not approved: it changed since Dana approved it")
    approve(root, SECOND, "Dana", ledger)
    with Ledger(ledger) as db:
        assert blocked(hub, hub.update(SECOND), approved(db)) is None
