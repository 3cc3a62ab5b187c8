"""closures.ics, contacts.vcf and the schema.org JSON-LD, read back as their readers would."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import icalendar
import pytest
import vobject
import yaml
from bs4 import BeautifulSoup

from hub import ical, jsonld, vcard
from hub.content import load_hub
from hub.model import Hub, HubStatus
from hub.site.build import build_site
from tests.conftest import HUB_YAML, MKDOCS_YML, NOW, UPDATE_MD, write

VOCABULARY = yaml.safe_load((Path(__file__).parent / "schemaorg/vocabulary.yaml").read_text())
SITE_URL = "https://hub.example.org/"

CLOSURES = """\
- facility: Eastside Clinic
  location: eastside-clinic
  status: closed
  from: 2026-11-26 12:00
  note: Flooded; closed for **repairs**.
  alternatives:
    - Southpoint Urgent Care, 3300 Southpoint Parkway
    - Call the Nurse Line; open 24/7
- facility: Elective surgery
  status: limited
  from: 2026-11-26 06:00
  until: 2026-11-30 07:00
  note: Urgent surgery continues.
- facility: Northside ambulances
  status: diverting
  from: 2026-12-01 08:00
  until: 2026-12-02 08:00
- facility: Westgate Family Medicine
  status: closed
  from: 2026-11-27 07:00
  until: 2026-11-28 08:00
- facility: Harbor Dialysis
  status: open
  from: 2026-11-28 06:00
"""
CONTACTS = """\
- name: Emergency
  category: Emergency
  phone: "911"
  sms: "911"
  hours: 24/7
  note: Call if someone is badly hurt.
  verified: 2026-11-25
- name: City information
  category: City
  phone: (757) 555-0101
  tty: "711"
  url: https://city.example/311
  verified: 2026-11-24
"""
BREAKOUT = "`</script><script>alert(1)</script>`"
UPDATE_2 = f"""\
---
time: 2026-11-28 09:00
title: Boil water notice </script>
severity: advisory
expires: 2026-11-30 09:00
---
Boil tap water. Never paste {BREAKOUT} anywhere & "so on".
"""
UPDATE_2_ID = "2026-11-28-0900-boil-water"
FILES = {
    "mkdocs.yml": MKDOCS_YML,
    "content/hub.yaml": HUB_YAML + "description: Storm news from Test Health.\n",
    "content/updates/2026-11-27-0615-ed-open.md": UPDATE_MD,
    f"content/updates/{UPDATE_2_ID}.md": UPDATE_2,
    "content/closures.yaml": CLOSURES,
    "content/contacts.yaml": CONTACTS,
    "docs/.keep": "",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("formats") / "hub"
    write(path, FILES)
    return path


@pytest.fixture(scope="module")
def hub(root: Path) -> Hub:
    return load_hub(root)


@pytest.fixture(scope="module")
def site(root: Path) -> Path:
    return build_site(root, site_dir=root.parent / "site", now=NOW)


def _events(data: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(e["summary"]): e for e in cal.walk("VEVENT")}


# iCalendar


def test_calendar_has_the_headers_readers_need(site: Path) -> None:
    cal = icalendar.Calendar.from_ical((site / "closures.ics").read_bytes())
    assert str(cal["version"]) == "2.0"
    assert str(cal["prodid"]) == ical.PRODID
    assert str(cal["x-wr-calname"]) == "Hurricane Test: closures"
    assert cal.errors == []


def test_every_current_or_future_closure_is_an_event(site: Path, hub: Hub) -> None:
    events = _events((site / "closures.ics").read_bytes())
    # Westgate ended before NOW; Harbor Dialysis reopened, which is no event.
    assert sorted(events) == [
        "Eastside Clinic closed",
        "Elective surgery limited",
        "Northside ambulances diverting",
    ]
    uids = [str(e["uid"]) for e in events.values()]
    assert len(set(uids)) == 3 and all(u.endswith("@hub.example.org") for u in uids)
    for closure in hub.closures:
        status = {"closed": "closed", "limited": "limited", "diverting": "diverting"}
        event = events.get(f"{closure.facility} {status.get(closure.status.value)}")
        if event is None:
            continue
        assert event.decoded("dtstart") == closure.from_
        assert event.decoded("dtstart").utcoffset() == dt.timedelta(0)
        if closure.until is not None:
            assert event.decoded("dtend") == closure.until
        assert event.decoded("dtstamp") == NOW
        assert str(event["url"]) == f"{SITE_URL}closures/#{closure.id}"
        description = str(event["description"])
        assert closure.status.label in description
        for alternative in closure.alternatives:
            assert f"- {alternative}" in description
        if closure.location:
            assert str(event["location"]) == closure.facility
        else:
            assert "location" not in event


def test_event_description_is_plain_text(site: Path) -> None:
    event = _events((site / "closures.ics").read_bytes())["Eastside Clinic closed"]
    description = str(event["description"])
    assert "Flooded; closed for repairs." in description and "**" not in description
    assert "Until further notice." in description
    assert "- Call the Nurse Line; open 24/7" in description


def test_open_ended_closure_runs_to_local_midnight_past_the_horizon(hub: Hub) -> None:
    event = _events(ical.calendar(hub, NOW))["Eastside Clinic closed"]
    end = event.decoded("dtend")
    local_end = hub.local(end)
    assert (local_end.hour, local_end.minute) == (0, 0)
    assert (
        dt.timedelta(days=ical.HORIZON_DAYS)
        < end - NOW
        <= dt.timedelta(days=ical.HORIZON_DAYS + 1, hours=1)
    )
    later = NOW + dt.timedelta(days=3)
    moved = _events(ical.calendar(hub, later))["Eastside Clinic closed"]
    assert moved.decoded("dtend") - end == dt.timedelta(days=3)


def test_uids_stay_when_a_closure_changes(root: Path, hub: Hub) -> None:
    changed = hub.model_copy(
        update={"closures": tuple(c.model_copy(update={"note": "New note."}) for c in hub.closures)}
    )
    before = {str(e["uid"]) for e in _events(ical.calendar(hub, NOW)).values()}
    after = {str(e["uid"]) for e in _events(ical.calendar(changed, NOW)).values()}
    assert before == after


def test_exercise_calendar_is_marked(hub: Hub) -> None:
    cal = icalendar.Calendar.from_ical(ical.calendar(hub.as_exercise(), NOW))
    assert str(cal["x-wr-calname"]).startswith("EXERCISE: ")
    assert all(str(e["summary"]).startswith("EXERCISE: ") for e in cal.walk("VEVENT"))


# vCard


def test_every_contact_is_a_card(site: Path, hub: Hub) -> None:
    text = (site / "contacts.vcf").read_text(encoding="utf-8")
    cards = {c.fn.value: c for c in vobject.readComponents(text)}
    assert sorted(cards) == sorted(c.name for c in hub.contacts)
    for contact in hub.contacts:
        card = cards[contact.name]
        assert card.version.value == "4.0"
        assert card.kind.value == "org"
        assert card.org.value == [contact.name]
        tels = {t.value: t.params["TYPE"] for t in card.tel_list}
        expected: dict[str, list[str]] = {}
        for number, kind in (
            (contact.phone, "voice"),
            (contact.sms, "text"),
            (contact.tty, "textphone"),
        ):
            if number:
                expected.setdefault(number, []).append(kind)
        assert sorted(t.value for t in card.tel_list) == sorted(
            n for n, kinds in expected.items() for _ in kinds
        )
        for number, kinds in expected.items():
            got = sorted(k for t in card.tel_list if t.value == number for k in t.params["TYPE"])
            assert got == sorted(kinds)
        assert all(v.startswith("+") or v.isdigit() for v in tels)
        if contact.url:
            assert card.url.value == str(contact.url)
        else:
            assert "url" not in card.contents
        if contact.note:
            assert contact.note in card.note.value
        assert contact.verified.isoformat() in card.note.value


def test_card_numbers_are_e164(hub: Hub) -> None:
    card = next(vobject.readComponents(vcard.cards(hub)))
    assert card.fn.value == "City information"  # sorted by category, as on the page
    assert [t.value for t in card.tel_list] == ["+17575550101", "711"]


def test_card_uids_are_unique_and_stable(hub: Hub) -> None:
    first = [c.uid.value for c in vobject.readComponents(vcard.cards(hub))]
    renamed = hub.model_copy(
        update={"contacts": tuple(c.model_copy(update={"hours": "9-5"}) for c in hub.contacts)}
    )
    again = [c.uid.value for c in vobject.readComponents(vcard.cards(renamed))]
    assert first == again and len(set(first)) == len(first)
    assert all(u.startswith("urn:uuid:") for u in first)


# Links


@pytest.mark.parametrize(
    ("page", "target"), [("closures", "closures.ics"), ("contacts", "contacts.vcf")]
)
def test_pages_link_the_files(site: Path, page: str, target: str) -> None:
    html = BeautifulSoup((site / page / "index.html").read_text(encoding="utf-8"), "html.parser")
    hrefs = [a["href"] for a in html.find_all("a", href=True) if str(a["href"]).endswith(target)]
    assert hrefs, f"{page} does not link {target}"
    resolved = urlsplit(urljoin(f"{SITE_URL}{page}/", str(hrefs[0]))).path.lstrip("/")
    assert (site / resolved).is_file()


# JSON-LD


def _ld(site: Path, page: str) -> list[dict[str, Any]]:
    html = BeautifulSoup((site / page).read_text(encoding="utf-8"), "html.parser")
    return [json.loads(s.string) for s in html.find_all("script", type="application/ld+json")]


def _check(node: dict[str, Any], where: str) -> None:
    """*node* uses only types and properties the vocabulary has, with values in range."""
    types = VOCABULARY["types"]
    kind = node["@type"]
    assert kind in types, f"{where}: unknown type {kind}"
    allowed: dict[str, list[str]] = {}
    name: str | None = kind
    while name is not None:
        allowed.update(types[name]["properties"])
        name = types[name]["parent"]
    for prop in types[kind].get("required", []):
        assert prop in node, f"{where}: {kind} lacks {prop}"
    for prop, value in node.items():
        if prop.startswith("@"):
            continue
        assert prop in allowed, f"{where}: {kind} has no property {prop}"
        ranges = allowed[prop]
        if isinstance(value, dict):
            assert value["@type"] in ranges, f"{where}: {prop} cannot be a {value['@type']}"
            _check(value, f"{where}.{prop}")
        elif "DateTime" in ranges:
            moment = dt.datetime.fromisoformat(value)
            assert moment.utcoffset() is not None, f"{where}: {prop} {value} has no offset"
        elif ranges == ["URL"] or ("URL" in ranges and str(value).startswith("http")):
            assert urlsplit(value).scheme == "https" and urlsplit(value).netloc, value
        else:
            assert "Text" in ranges and isinstance(value, str), f"{where}: {prop}={value!r}"


def test_home_page_announces_the_hub(site: Path, hub: Hub) -> None:
    [data] = _ld(site, "index.html")
    assert data["@context"] == "https://schema.org"
    _check(data, "index.html")
    assert data["name"] == "Hurricane Test"
    assert "Stay indoors." in data["text"] and "Storm news from Test Health." in data["text"]
    assert data["url"] == SITE_URL
    assert dt.datetime.fromisoformat(data["datePosted"]) == hub.updates[-1].time
    assert dt.datetime.fromisoformat(data["dateModified"]) == hub.updates[0].time
    assert data["webFeed"] == f"{SITE_URL}feed.xml"


def test_every_update_page_announces_its_update(site: Path, hub: Hub) -> None:
    for update in hub.updates:
        page = f"updates/{update.id}/index.html"
        [data] = _ld(site, page)
        _check(data, page)
        assert data["name"] == update.title
        assert data["url"] == f"{SITE_URL}updates/{update.id}/"
        assert dt.datetime.fromisoformat(data["datePosted"]) == update.time
        if update.expires is None:
            assert "expires" not in data
        else:
            assert dt.datetime.fromisoformat(data["expires"]) == update.expires


def test_script_text_cannot_close_the_script(site: Path) -> None:
    raw = (site / f"updates/{UPDATE_2_ID}/index.html").read_text(encoding="utf-8")
    [data] = _ld(site, f"updates/{UPDATE_2_ID}/index.html")
    assert data["name"] == "Boil water notice </script>"
    assert "</script><script>alert(1)</script>" in data["text"]
    assert '& "so on"' in data["text"]
    html = BeautifulSoup(raw, "html.parser")
    assert not [s for s in html.find_all("script") if s.string == "alert(1)"]
    start = raw.index('<script type="application/ld+json">')
    block = raw[start : raw.index("</script>", start)]
    assert "<" not in block[1:] and "&" not in block


def test_script_escapes_every_closing_sequence() -> None:
    out = jsonld.script({"text": "</script><!-- & </SCRIPT >"})
    body = out.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == {"text": "</script><!-- & </SCRIPT >"}


def test_standby_hub_makes_no_announcement(hub: Hub) -> None:
    standby = hub.model_copy(
        update={"info": hub.info.model_copy(update={"status": HubStatus.STANDBY})}
    )
    assert jsonld.hub_announcement(standby) is None
    assert jsonld.hub_announcement(hub) is not None


def test_retracted_update_expires_when_retracted(hub: Hub) -> None:
    update = hub.update(UPDATE_2_ID)
    retracted = update.model_copy(update={"retracted": update.time + dt.timedelta(hours=1)})
    data = jsonld.update_announcement(hub, retracted)
    assert dt.datetime.fromisoformat(data["expires"]) == retracted.retracted
