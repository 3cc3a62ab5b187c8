"""Loading and validation: every bad input is reported with its exact file:line:col."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hub.content import load_hub
from hub.errors import ContentError
from hub.model import Severity
from tests.conftest import HUB_YAML, ROOT, HubFactory


def update(front: str, body: str = "Body text.") -> str:
    return f"---\n{front}---\n{body}\n"


GOOD_FRONT = "time: 2026-11-27 06:15\ntitle: T\nseverity: info\n"

BAD_INPUTS = [
    pytest.param(
        {"content/closures.yaml": "- facility: X\n  status: closed\n   from: 2026-11-26 12:00\n"},
        "content/closures.yaml:3:8: yaml: mapping values are not allowed in this context; "
        'a value that contains ": " must be quoted, e.g. title: "Roads: what is open"',
        id="yaml-indentation",
    ),
    pytest.param(
        {
            "content/updates/a.md": update(
                "time: 2026-11-27 06:15\ntitle: Roads: closed\nseverity: info\n"
            )
        },
        "content/updates/a.md:3:13: yaml: mapping values are not allowed in this context; "
        'a value that contains ": " must be quoted, e.g. title: "Roads: what is open"',
        id="yaml-syntax",
    ),
    pytest.param(
        {"content/updates/a.md": "---\ntitle: [unclosed\n---\nBody\n"},
        "content/updates/a.md:3:1: yaml: did not find expected ',' or ']'; "
        "check indentation and quoting",
        id="yaml-syntax-front-matter",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT + "tags: power\n")},
        "content/updates/a.md:5:1: tags: expected a list, e.g. ['power']: put the items in []",
        id="wrong-type",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT + "sevrity: x\n")},
        "content/updates/a.md:5:1: sevrity: unknown key 'sevrity': did you mean 'severity'? "
        "(allowed: time, title, severity, tags, image, alt, supersedes, expires, retracted, "
        "retraction, author, phi_ok, consent, instruction, area, cap)",
        id="unknown-key",
    ),
    pytest.param(
        {
            "content/hub.yaml": HUB_YAML.replace(
                "severity: warning", "severity: warning\n  colour: red"
            )
        },
        "content/hub.yaml:10:3: banner.colour: unknown key 'colour': remove it "
        "(allowed: text, severity)",
        id="unknown-nested-key",
    ),
    pytest.param(
        {"content/updates/a.md": update("time: 2026-11-27 06:15\ntitle: T\n")},
        "content/updates/a.md:2:1: severity: required key 'severity' is missing: add it",
        id="missing-field",
    ),
    pytest.param(
        {"content/updates/a.md": update("time: 2026-11-27 06:15\ntitle: T\nseverity: severe\n")},
        "content/updates/a.md:4:1: severity: Input should be 'info', 'advisory', 'warning' or "
        "'emergency' (got 'severe')",
        id="bad-enum",
    ),
    pytest.param(
        {"content/updates/a.md": update("time: 2026-02-30 06:15\ntitle: T\nseverity: info\n")},
        "content/updates/a.md:2:1: time: '2026-02-30 06:15' is not a valid date and time "
        "(day is out of range for month): write it as 2026-09-14 09:00 or "
        "2026-09-14T09:00:00-04:00",
        id="impossible-date",
    ),
    pytest.param(
        {"content/updates/a.md": update("time: 2026-03-08 02:30\ntitle: T\nseverity: info\n")},
        "content/updates/a.md:2:1: time: 2026-03-08 02:30 does not exist in America/New_York "
        "(clocks jump forward): check the time or give its UTC offset",
        id="dst-gap",
    ),
    pytest.param(
        {"content/updates/a.md": update("time: 2026-11-01 01:30\ntitle: T\nseverity: info\n")},
        "content/updates/a.md:2:1: time: 2026-11-01 01:30 happens twice in America/New_York "
        "(clocks go back): add the offset, 2026-11-01T01:30-04:00 or 2026-11-01T01:30-05:00",
        id="dst-ambiguous",
    ),
    pytest.param(
        {"content/updates/a.md": update("time: 2026-11-01\ntitle: T\nseverity: info\n")},
        "content/updates/a.md:2:1: time: '2026-11-01' has no time of day: "
        "write it as 2026-11-01 09:00",
        id="date-without-time",
    ),
    pytest.param(
        {
            "content/closures.yaml": "- facility: Clinic\n  status: closed\n"
            "  from: 2026-11-26 12:00\n  until: 2026-11-25 12:00\n"
        },
        "content/closures.yaml:4:3: until: until must be later than from",
        id="until-before-from",
    ),
    pytest.param(
        {
            "content/contacts.yaml": "- name: Line\n  category: X\n  phone: 555-1234\n"
            "  verified: 2026-11-25\n"
        },
        "content/contacts.yaml:3:3: phone: '555-1234' is not a valid phone number for US: "
        "check the digits, or write it in international form (+<country code> ...)",
        id="bad-phone",
    ),
    pytest.param(
        {
            "content/contacts.yaml": "- name: Line\n  category: X\n  phone: '911'\n"
            "  verified: 2026-11-25\n  tty: call me\n"
        },
        "content/contacts.yaml:5:3: tty: 'call me' is not a phone number: "
        "write it as +1 212 555 0100 or (212) 555-0100",
        id="not-a-phone",
    ),
    pytest.param(
        {
            "content/contacts.yaml": "- name: Line\n  category: X\n  phone: '911'\n"
            "  verified: 2026-11-25\n- name: Line\n  category: X\n  phone: '311'\n"
            "  verified: 2026-11-25\n"
        },
        "content/contacts.yaml:5:3: id: duplicate id 'line' (also at line 1): "
        "add a distinct id: to one of them",
        id="duplicate-id",
    ),
    pytest.param(
        {"content/updates/sub/2026-11-27-0615-ed-open.md": update(GOOD_FRONT)},
        "content/updates/sub/2026-11-27-0615-ed-open.md:2:1: id: duplicate id "
        "'2026-11-27-0615-ed-open': content/updates/2026-11-27-0615-ed-open.md has the same "
        "file name; rename one",
        id="duplicate-update-id",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT + "title: U\n")},
        "content/updates/a.md:5:1: title: key 'title' appears twice: keep only one",
        id="duplicate-key",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT + "supersedes: 2026-11-27-0615-ed-opn\n")},
        "content/updates/a.md:5:1: supersedes: no update has id '2026-11-27-0615-ed-opn': "
        "did you mean '2026-11-27-0615-ed-open'?",
        id="supersedes-unknown",
    ),
    pytest.param(
        {
            "content/updates/a.md": update(GOOD_FRONT + "image: images/x.png\n"),
            "content/images/x.png": "png",
        },
        "content/updates/a.md:5:1: image: image has no alt text: add alt: describing the image",
        id="image-without-alt",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT + "image: images/x.png\nalt: A map\n")},
        "content/updates/a.md:5:1: image: content/images/x.png does not exist: "
        "add the file or fix the path",
        id="image-missing",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT, "Hello\n\n<script>alert(1)</script>")},
        "content/updates/a.md:8:1: body: raw HTML <script> is not allowed: "
        "remove it, use plain Markdown",
        id="script",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT, 'Hi <img src="x.png" onerror="alert(1)">')},
        "content/updates/a.md:6:21: body: HTML event handler onerror= is not allowed: remove it",
        id="event-handler",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT, "[Click](javascript:alert(1))")},
        "content/updates/a.md:6:9: body: javascript: links are not allowed: "
        "link to a web page instead",
        id="javascript-link",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT, "![map](https://cdn.example.com/x.png)")},
        "content/updates/a.md:6:8: body: image from another site (cdn.example.com) would make "
        "every reader's browser contact it: save the file in content/images/ and link it "
        "from there",
        id="third-party-image",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT, "")},
        "content/updates/a.md:6:1: body: must not be empty",
        id="empty-body",
    ),
    pytest.param(
        {"content/updates/a.md": update("time: 2026-11-27 06:15\ntitle: '  '\nseverity: info\n")},
        "content/updates/a.md:3:1: title: must not be empty",
        id="empty-title",
    ),
    pytest.param(
        {"content/updates/a.md": "Just text\n"},
        "content/updates/a.md:1:1: front matter: missing: start the file with a '---' line, "
        "the YAML fields, then '---'",
        id="no-front-matter",
    ),
    pytest.param(
        {"content/updates/Big News.md": update(GOOD_FRONT)},
        "content/updates/Big News.md:2:1: id: file name 'Big News.md' is not a valid id: "
        "rename it to big-news.md",
        id="bad-file-name",
    ),
    pytest.param(
        {"content/updates/notes.txt": "hello"},
        "content/updates/notes.txt:1:1: file: is not read: name it notes.md, "
        "or move it to content/images/",
        id="stray-file",
    ),
    pytest.param(
        {"content/hub.yaml": HUB_YAML.replace("America/New_York", "Mars/Base")},
        "content/hub.yaml:4:1: timezone: unknown timezone 'Mars/Base': "
        "use an IANA name such as America/New_York",
        id="unknown-timezone",
    ),
    pytest.param(
        {"content/hub.yaml": None},
        "content/hub.yaml:1:1: file: missing: create it (see the sample hub)",
        id="missing-hub-yaml",
    ),
    pytest.param(
        {"content/resources.yaml": "- title: Shelters\n  url: not a url\n"},
        "content/resources.yaml:2:3: url: Input should be a valid URL, relative URL without a "
        "base (got 'not a url')",
        id="bad-url",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT + "expires: 2026-11-27 06:00\n")},
        "content/updates/a.md:5:1: expires: expires must be later than time",
        id="expires-before-time",
    ),
    pytest.param(
        {"content/updates/a.md": update(GOOD_FRONT + "id: other\n")},
        "content/updates/a.md:5:1: id: id comes from the file name: remove this key",
        id="id-in-front-matter",
    ),
]


@pytest.mark.parametrize(("files", "expected"), BAD_INPUTS)
def test_bad_input_is_reported_with_file_line_and_fix(
    make_hub: HubFactory, files: dict[str, str | None], expected: str
) -> None:
    root = make_hub(files)
    with pytest.raises(ContentError) as caught:
        load_hub(root)
    assert [str(p) for p in caught.value.problems] == [expected]


def test_every_problem_is_reported_in_one_run(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/updates/a.md": update("time: 2026-11-27 06:15\ntitle: T\nseverity: x\n"),
            "content/updates/b.md": update(GOOD_FRONT + "colour: red\n"),
            "content/closures.yaml": "- facility: X\n  status: shut\n  from: 2026-11-26 12:00\n",
            "content/contacts.yaml": "- name: A\n  category: B\n  phone: '12'\n"
            "  verified: 2026-13-01\n",
        }
    )
    with pytest.raises(ContentError) as caught:
        load_hub(root)
    where = [f"{p.path}:{p.line}:{p.field}" for p in caught.value.problems]
    assert where == [
        "content/closures.yaml:2:status",
        "content/contacts.yaml:3:phone",
        "content/contacts.yaml:4:verified",
        "content/updates/a.md:4:severity",
        "content/updates/b.md:5:colour",
    ]
    assert str(caught.value).endswith("5 problems found; nothing was written.")


def test_times_are_read_in_the_hub_zone_and_stored_in_utc(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/updates/a.md": update(GOOD_FRONT),
            "content/updates/b.md": update(
                "time: 2026-11-27T06:15:00+01:00\ntitle: T\nseverity: info\n"
            ),
            "content/updates/c.md": update("time: 2026-07-01 12:00\ntitle: T\nseverity: info\n"),
        }
    )
    hub = load_hub(root)
    assert hub.update("a").time == dt.datetime(2026, 11, 27, 11, 15, tzinfo=dt.UTC)  # EST
    assert hub.update("b").time == dt.datetime(2026, 11, 27, 5, 15, tzinfo=dt.UTC)
    assert hub.update("c").time == dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC)  # EDT
    assert all(u.time.tzinfo is dt.UTC for u in hub.updates)


def test_phone_numbers_are_normalised(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/contacts.yaml": """\
            - name: Main line
              category: Hospital
              phone: (757) 555-0142
              sms: 757-555-0150
              tty: +1 757 555 0161
              verified: 2026-11-25
            - name: Crisis line
              category: Help
              phone: "988"
              sms: "988"
              verified: 2026-11-25
            - name: Poison Help
              category: Help
              phone: 1-800-222-1222
              verified: 2026-11-25
            """
        }
    )
    hub = load_hub(root)
    main, crisis, poison = hub.contacts
    assert (main.phone, main.sms, main.tty) == ("+17575550142", "+17575550150", "+17575550161")
    assert (crisis.phone, crisis.sms) == ("988", "988")
    assert poison.phone == "+18002221222"


def test_sample_hub_is_valid_and_complete() -> None:
    hub = load_hub(ROOT)
    days = {hub.local(u.time).date() for u in hub.updates}
    assert len(hub.updates) >= 20 and len(days) >= 3
    assert any(u.supersedes for u in hub.updates)
    assert len(hub.tips) >= 12 and len(hub.closures) >= 8
    assert len(hub.contacts) >= 12 and len(hub.resources) >= 8
    assert {u.severity for u in hub.updates} >= {Severity.INFO, Severity.WARNING}


def test_loading_writes_nothing(make_hub: HubFactory) -> None:
    root = make_hub({"content/updates/a.md": update("title: T\n")})
    before = sorted(p for p in Path(root).rglob("*"))
    with pytest.raises(ContentError):
        load_hub(root)
    assert sorted(p for p in Path(root).rglob("*")) == before
