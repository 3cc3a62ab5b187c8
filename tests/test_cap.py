"""CAP 1.2 alerts: checked against the OASIS schema, and the rules the schema leaves out."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from hub import cap
from hub.content import load_hub
from hub.errors import ContentError
from hub.model import Hub, Severity, Update
from hub.publish import Step, publish
from hub.site.build import build_site
from tests.conftest import NOW, ROOT, HubFactory
from tests.test_publish import NEW, NEW_ID, OUTBOX

XSD = ROOT.parent / "shared/cap/CAP-v1.2.xsd"
XSD_SHA256 = "b7798ef25868b068c97b268bda02d067c7d4ba9373adc5638bf37105804ee723"
C = {"c": cap.NS}
CORRECTION_ID = "2026-11-26-1215-correction-medical-shelter-address"
CORRECTED_ID = "2026-11-26-0930-shelters-open"

AREA_UPDATE_ID = "2026-11-28-0900-surge-zone"
AREA_UPDATE = """\
---
time: 2026-11-28 09:00
title: Storm surge zone A must leave now
severity: emergency
instruction: Leave zone A now by Harbor Road. Do not drive through water.
area:
  description: Evacuation zone A, Port Alder
  polygons:
    - "36.84,-76.30 36.86,-76.30 36.86,-76.27 36.84,-76.27 36.84,-76.30"
    - ["36.90,-76.40", "36.91,-76.40", "36.91,-76.39", "36.90,-76.40"]
  geocodes:
    - {name: SAME, value: "051710"}
cap:
  category: rescue
  event: Storm surge
  urgency: immediate
  certainty: Observed
---
Water is rising along the harbor.
"""


def _front(extra: str) -> str:
    return f"---\ntime: 2026-11-28 09:00\ntitle: T\nseverity: warning\n{extra}---\nBody.\n"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    if not XSD.is_file():
        pytest.fail(
            f"the OASIS CAP 1.2 schema is missing: expected it at {XSD} "
            "(see ../shared/cap/README.md for where it comes from)"
        )
    assert hashlib.sha256(XSD.read_bytes()).hexdigest() == XSD_SHA256, f"{XSD} was changed"
    return etree.XMLSchema(etree.parse(str(XSD)))


def valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    """The parsed alert, after checking it against the schema and the rules it misses."""
    tree = etree.fromstring(xml)
    assert schema.validate(tree), schema.error_log
    assert cap.problems(xml) == []
    return tree


def text(tree: etree._Element, path: str) -> str:
    return tree.findtext(path, namespaces=C) or ""


def retracted(hub: Hub, update_id: str, when: dt.datetime, reason: str) -> Hub:
    updates = tuple(
        u.model_copy(update={"retracted": when, "retraction": reason}) if u.id == update_id else u
        for u in hub.updates
    )
    return with_updates(hub, updates)


def with_updates(hub: Hub, updates: tuple[Update, ...]) -> Hub:
    # not model_copy: that would keep the hub's cached lookups of the old updates
    fields = {name: getattr(hub, name) for name in Hub.model_fields}
    return Hub.model_validate({**fields, "updates": updates})


def test_every_sample_alert_validates(schema: etree.XMLSchema, sample_hub: Hub) -> None:
    alerted = {u.id for u in sample_hub.updates if u.severity.rank >= Severity.ADVISORY.rank}
    assert {u.id for u in cap.alerts(sample_hub)} == alerted
    identifiers = set()
    for update in cap.alerts(sample_hub):
        tree = valid(schema, cap.alert(sample_hub, update))
        identifiers.add(text(tree, "c:identifier"))
        assert text(tree, "c:status") == "Actual"
        assert text(tree, "c:scope") == "Public"
        assert text(tree, "c:info/c:language") == "en-US"
        assert text(tree, "c:info/c:web") == sample_hub.url(sample_hub.update_path(update))
        assert text(tree, "c:info/c:headline") == update.title
        assert text(tree, "c:info/c:area/c:areaDesc") == "Port Alder and the surrounding county"
        assert sample_hub.local(update.time) == dt.datetime.fromisoformat(text(tree, "c:sent"))
        if update.expires:
            assert dt.datetime.fromisoformat(text(tree, "c:info/c:expires")) == update.expires
        urgency, severity, certainty = cap.DEFAULTS[update.severity]
        assert [text(tree, f"c:info/c:{n}") for n in ("urgency", "severity", "certainty")] == [
            urgency,
            severity,
            certainty,
        ]
    assert len(identifiers) == len(alerted)


def test_alerts_are_the_same_in_every_build(sample_hub: Hub) -> None:
    again = load_hub(ROOT)
    for update in cap.alerts(sample_hub):
        assert cap.alert(sample_hub, update) == cap.alert(again, again.update(update.id))


def test_correction_is_an_update_referencing_the_alert_it_corrects(
    schema: etree.XMLSchema, sample_hub: Hub
) -> None:
    old = valid(schema, cap.alert(sample_hub, sample_hub.update(CORRECTED_ID)))
    new = valid(schema, cap.alert(sample_hub, sample_hub.update(CORRECTION_ID)))
    assert text(old, "c:msgType") == "Alert"
    assert text(new, "c:msgType") == "Update"
    assert text(new, "c:references") == ",".join(
        text(old, f"c:{name}") for name in ("sender", "identifier", "sent")
    )


def test_info_correction_of_an_alert_still_updates_it(
    schema: etree.XMLSchema, sample_hub: Hub
) -> None:
    # lowering a correction to info must not leave the earlier alert standing unanswered
    updates = tuple(
        u.model_copy(update={"severity": Severity.INFO}) if u.id == CORRECTION_ID else u
        for u in sample_hub.updates
    )
    hub = with_updates(sample_hub, updates)
    tree = valid(schema, cap.alert(hub, hub.update(CORRECTION_ID)))
    assert text(tree, "c:msgType") == "Update"
    assert text(tree, "c:info/c:severity") == "Minor"


def test_retraction_cancels_the_earlier_alert(schema: etree.XMLSchema, sample_hub: Hub) -> None:
    update_id = "2026-11-27-1000-boil-water-notice"
    before = valid(schema, cap.alert(sample_hub, sample_hub.update(update_id)))
    when = dt.datetime(2026, 11, 27, 16, 30, tzinfo=dt.UTC)
    hub = retracted(sample_hub, update_id, when, "The notice was for another town.")
    after = valid(schema, cap.alert(hub, hub.update(update_id)))
    assert text(after, "c:msgType") == "Cancel"
    assert text(after, "c:identifier") != text(before, "c:identifier")
    assert text(after, "c:references") == ",".join(
        text(before, f"c:{name}") for name in ("sender", "identifier", "sent")
    )
    assert text(after, "c:sent") == "2026-11-27T11:30:00-05:00"
    assert "another town" in text(after, "c:info/c:description")
    assert text(after, "c:info/c:headline").startswith("Retracted: ")


def test_exercise_hub_sends_exercise_alerts(schema: etree.XMLSchema, sample_hub: Hub) -> None:
    drill = sample_hub.as_exercise()
    real_ids = {text(etree.fromstring(cap.alert(sample_hub, u)), "c:identifier")
                for u in cap.alerts(sample_hub)}  # fmt: skip
    for update in cap.alerts(drill):
        tree = valid(schema, cap.alert(drill, update))
        assert text(tree, "c:status") == "Exercise"
        assert text(tree, "c:info/c:headline").startswith("EXERCISE")
        assert text(tree, "c:identifier") not in real_ids


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        ("America/New_York", dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC), "2026-07-01T08:00:00-04:00"),
        ("America/New_York", dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC), "2026-12-01T07:00:00-05:00"),
        ("Asia/Kolkata", dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC), "2026-12-01T17:30:00+05:30"),
        ("UTC", dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC), "2026-12-01T12:00:00-00:00"),
    ],
)  # fmt: skip
def test_sent_has_a_numeric_offset_never_z(
    sample_hub: Hub, zone: str, moment: dt.datetime, expected: str
) -> None:
    hub = sample_hub.model_copy(
        update={"info": sample_hub.info.model_copy(update={"timezone": zone})}
    )
    assert cap.cap_time(hub, moment) == expected


def test_area_overrides_and_instruction(schema: etree.XMLSchema, make_hub: HubFactory) -> None:
    root = make_hub({f"content/updates/{AREA_UPDATE_ID}.md": AREA_UPDATE})
    hub = load_hub(root)
    tree = valid(schema, cap.alert(hub, hub.update(AREA_UPDATE_ID)))
    info = "c:info/c:"
    assert [e.text for e in tree.iterfind(f"{info}category", C)] == ["Rescue"]
    assert text(tree, f"{info}event") == "Storm surge"
    assert text(tree, f"{info}urgency") == "Immediate"
    assert text(tree, f"{info}severity") == "Extreme"  # the emergency default
    assert text(tree, f"{info}certainty") == "Observed"
    assert text(tree, f"{info}instruction").startswith("Leave zone A now")
    assert text(tree, f"{info}area/c:areaDesc") == "Evacuation zone A, Port Alder"
    assert [e.text for e in tree.iterfind(f"{info}area/c:polygon", C)] == [
        "36.84,-76.30 36.86,-76.30 36.86,-76.27 36.84,-76.27 36.84,-76.30",
        "36.90,-76.40 36.91,-76.40 36.91,-76.39 36.90,-76.40",
    ]
    assert text(tree, f"{info}area/c:geocode/c:valueName") == "SAME"
    assert text(tree, f"{info}area/c:geocode/c:value") == "051710"
    # the test hub gives no area, sender or contact: the defaults
    other = valid(schema, cap.alert(hub, hub.update("2026-11-27-0615-ed-open")))
    assert text(other, f"{info}area/c:areaDesc") == "Test Health area"
    assert text(other, "c:sender") == "hub.example.org"
    assert text(other, f"{info}contact") == "Test Health"
    assert [e.text for e in other.iterfind(f"{info}category", C)] == ["Safety"]


def test_configured_sender_is_used(schema: etree.XMLSchema, make_hub: HubFactory) -> None:
    root = make_hub()
    with (root / "content/hub.yaml").open("a") as f:
        f.write("cap:\n  sender: alerts@hub.example.org\n  contact: Call 757-555-0100\n")
    hub = load_hub(root)
    tree = valid(schema, cap.alert(hub, hub.updates[0]))
    assert text(tree, "c:sender") == "alerts@hub.example.org"
    assert text(tree, "c:info/c:contact") == "Call 757-555-0100"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            'area:\n  description: X\n  polygons: ["1,1 2,2 3,3 4,4"]\n',
            "content/updates/u.md:7:14: area.polygons.0: a polygon must end "
            "where it starts: add 1,1 at the end",
        ),
        (
            'area:\n  description: X\n  polygons: ["1,1 2,2 1,1"]\n',
            "content/updates/u.md:7:14: area.polygons.0: a polygon needs at "
            "least 4 lat,lon pairs, got 3",
        ),
        (
            'area:\n  description: X\n  polygons: ["-97.7,30.3 1,1 2,2 -97.7,30.3"]\n',
            "content/updates/u.md:7:14: area.polygons.0: '-97.7,30.3' is out "
            "of range: latitude comes first (-90..90), then longitude (-180..180)",
        ),
        (
            "cap:\n  urgency: soon\n",
            "content/updates/u.md:6:3: cap.urgency: expected one of Immediate, "
            "Expected, Future, Past, Unknown (got 'soon')",
        ),
        (
            "cap:\n  category: Weather\n",
            "content/updates/u.md:6:3: cap.category.0: expected one of Geo, Met, "
            "Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other "
            "(got 'Weather')",
        ),
        (
            "cap:\n  colour: red\n",
            "content/updates/u.md:6:3: cap.colour: unknown key 'colour': remove it "
            "(allowed: category, event, urgency, severity, certainty)",
        ),
    ],
)
def test_bad_cap_front_matter_says_where(make_hub: HubFactory, extra: str, expected: str) -> None:
    root = make_hub({"content/updates/u.md": _front(extra)})
    with pytest.raises(ContentError) as caught:
        load_hub(root)
    assert [str(p) for p in caught.value.problems] == [expected]


def test_bad_sender_in_hub_yaml_says_where(make_hub: HubFactory) -> None:
    root = make_hub()
    with (root / "content/hub.yaml").open("a") as f:
        f.write("cap:\n  sender: Test Health, Inc\n")
    with pytest.raises(ContentError) as caught:
        load_hub(root)
    (problem,) = caught.value.problems
    assert str(problem).startswith("content/hub.yaml:11:3: cap.sender: ")
    assert "spaces, commas" in str(problem)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("identifier", "a b"), "identifier"),
        (("identifier", "a,b"), "identifier"),
        (("sender", "x&y"), "sender"),
        (("sent", "2026-11-27T10:00:00Z"), "sent"),
        (("sent", "2026-11-27T10:00:00"), "sent"),
        (("msgType", "Update"), "without references"),
        (("polygon", "1,1 2,2 3,3 4,4"), "polygon"),
        (("polygon", "1,1 2,2 1,1"), "polygon"),
        (("polygon", "91,1 2,2 3,3 91,1"), "polygon"),
        (("headline", "x" * 161), "headline"),
    ],
)
def test_problems_finds_what_the_schema_misses(
    sample_hub: Hub, change: tuple[str, str], needle: str
) -> None:
    tree = etree.fromstring(cap.alert(sample_hub, sample_hub.update(CORRECTED_ID)))
    name, value = change
    if name == "polygon":
        area = tree.find("c:info/c:area", C)
        assert area is not None
        etree.SubElement(area, f"{{{cap.NS}}}polygon").text = value
    else:
        element = tree.find(f".//c:{name}", C)
        assert element is not None
        element.text = value
    found = cap.problems(etree.tostring(tree))
    assert len(found) == 1 and needle in found[0], found


def test_revisions_ignore_cap_fields_left_out(sample_hub: Hub) -> None:
    # the ledger and the site's manifest hold revisions made before these fields existed
    update = sample_hub.update(CORRECTED_ID)
    before = {"author", "phi_ok", "consent", "instruction", "area", "cap"}
    public = {k: v for k, v in update.model_dump(mode="json").items() if k not in before}
    payload = json.dumps(public, sort_keys=True).encode()
    assert update.revision == hashlib.sha256(payload).hexdigest()[:16]
    changed = Update.model_validate({**update.model_dump(), "instruction": "Go now."})
    assert changed.revision != update.revision


def test_built_site_has_every_alert_and_the_index(sample_site: Path, sample_hub: Hub) -> None:
    listed = cap.alerts(sample_hub)
    for update in listed:
        assert (sample_site / cap.uri(update)).read_bytes() == cap.alert(sample_hub, update)
    feed = feedparser.parse((sample_site / cap.INDEX).read_bytes())
    assert not feed.bozo, feed.bozo_exception
    links = [
        [(link.href, link.get("type")) for link in entry.links if link.rel == "alternate"]
        for entry in feed.entries
    ]
    assert links == [[(sample_hub.url(cap.uri(u)), cap.MEDIA_TYPE)] for u in listed]
    times = [entry.updated_parsed for entry in feed.entries]
    assert times == sorted(times, reverse=True)


def test_index_puts_a_cancel_at_its_time(sample_hub: Hub) -> None:
    update_id = "2026-11-26-0800-urgent-care-closes-at-noon"
    hub = retracted(sample_hub, update_id, NOW, "Posted in error.")
    feed = feedparser.parse(cap.index(hub, NOW))
    first = feed.entries[0]
    assert first.title.startswith("Retracted: ")
    assert first.link == hub.url(f"cap/{update_id}.xml")


def test_fast_path_writes_the_alert_the_full_build_writes(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORMHUB_USER", "tester")
    root = make_hub({"channels.yaml": OUTBOX})
    assert publish(root, now=NOW).fast is None  # the first publish is a full build
    (root / f"content/updates/{NEW_ID}.md").write_text(NEW, encoding="utf-8")
    site = root / "site"
    early: dict[str, bytes] = {}

    def progress(event: object) -> None:
        if isinstance(event, Step) and event.name == "site" and event.state == "done":
            for name in (f"cap/{NEW_ID}.xml", cap.INDEX):
                early[name] = (site / name).read_bytes()

    result = publish(root, now=NOW, progress=progress)
    assert result.exit_code == 0, result.rebuild_error
    assert result.fast is not None and result.fast.updates == [NEW_ID]
    assert early.keys() == {f"cap/{NEW_ID}.xml", cap.INDEX}
    for name, content in early.items():
        assert content == (site / name).read_bytes(), name
    feed = feedparser.parse(early[cap.INDEX])
    assert feed.entries[0].link == f"https://hub.example.org/cap/{NEW_ID}.xml"


def test_full_build_of_a_small_hub(tmp_path: Path, make_hub: HubFactory) -> None:
    root = make_hub({f"content/updates/{AREA_UPDATE_ID}.md": AREA_UPDATE})
    site = build_site(root, site_dir=tmp_path / "site", now=NOW)
    hub = load_hub(root)
    assert sorted(p.name for p in (site / "cap").iterdir()) == sorted(
        [*(f"{u.id}.xml" for u in cap.alerts(hub)), "index.atom"]
    )


def test_the_index_lists_the_newest_alerts_only(
    sample_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cap, "INDEX_LATEST", 2)
    feed = feedparser.parse(cap.index(sample_hub, NOW))
    newest = cap.alerts(sample_hub)[:2]
    assert [e.link for e in feed.entries] == [sample_hub.url(cap.uri(u)) for u in newest]
    assert len(cap.alerts(sample_hub)) > 2  # the others are still alerts, at their address
