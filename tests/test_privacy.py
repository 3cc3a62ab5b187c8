"""The patient-privacy guard: detection, positions, overrides, consent and the labelled set."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hub import audit
from hub.cli import main
from hub.content import load_hub
from hub.errors import ContentError
from hub.privacy import Guard, overrides, review, scan_text
from tests.conftest import ROOT, HubFactory, state

LABELLED = Path(__file__).parent / "privacy_labelled.yaml"
ENV = {"COLUMNS": "200", "STORMHUB_USER": "casey"}


@pytest.fixture(scope="module")
def sample_guard() -> Guard:
    """The guard as the sample hub configures it: its contacts, domains and names."""
    return Guard.for_hub(load_hub(ROOT))


def check(root: Path) -> tuple[int, list[str], str]:
    """``stormhub check``: exit code, the problems (stderr lines) and the whole of stderr."""
    result = CliRunner().invoke(main, ["check", "--hub", str(root)], env=ENV)
    if result.exit_code == 0:
        assert result.stdout.startswith("OK: ")
    return result.exit_code, result.stderr.splitlines(), result.stderr


# --- The labelled set ------------------------------------------------------------------


def test_labelled_set_precision_and_recall(sample_guard: Guard) -> None:
    data = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))
    sentences = data["sentences"]
    guard = dataclasses.replace(sample_guard, words=tuple(data["words"]))
    assert len(sentences) >= 60
    positives = [s for s in sentences if s["phi"]]
    assert {s["kind"] for s in positives} == {
        "ssn", "mrn", "dob", "name", "locator", "phone", "email", "word"
    }  # fmt: skip
    assert len(sentences) - len(positives) >= 40  # as many hard negatives as positives
    tp = fp = fn = 0
    wrong: list[str] = []
    for sentence in sentences:
        flagged = bool(guard.scan(sentence["text"]))
        if flagged and sentence["phi"]:
            tp += 1
        elif flagged:
            fp += 1
            wrong.append(f"false positive: {sentence['text']}")
        elif sentence["phi"]:
            fn += 1
            wrong.append(f"missed {sentence['kind']}: {sentence['text']}")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(
        f"\nprivacy guard on {len(sentences)} labelled sentences ({len(positives)} with PHI): "
        f"precision {precision:.3f}, recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})"
    )
    print("\n".join(wrong))
    # Floors just under what the guard measures (1.000 and 0.922): a detector change
    # that costs a second missed sentence, or any false alarm, shows up here.
    assert precision >= 0.95
    assert recall >= 0.9


# --- Table tests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("SSN: 123-45-6789 on the form", "ssn", "SSN: 123-45-6789"),
        ("ID 078-05-1120 attached", "ssn", "078-05-1120"),
        ("social security number ending in 4821", "ssn", "social security number ending in 4821"),
        ("page the family of MRN 00482913", "mrn", "MRN 00482913"),
        ("medical record # 7731904 moved", "mrn", "medical record # 7731904"),
        ("Patient ID: PAH-2231987 moved", "mrn", "Patient ID: PAH-2231987"),
        ("Missing: DOB 04/12/1951", "dob", "DOB 04/12/1951"),
        ("she was born on March 3, 1950", "dob", "born on March 3, 1950"),
        ("date of birth: 1944-06-06", "dob", "date of birth: 1944-06-06"),
        ("Mr. Jones in room 412 is awake.", "name", "Mr. Jones"),
        ("Jane Doe, bed 3, admitted with pneumonia.", "name", "Jane Doe"),
        ("We moved patient Thomas Reilly upstairs.", "name", "Thomas Reilly"),
        ("Kevin O'Brien is recovering from hypothermia.", "name", "Kevin O'Brien"),
        ("Ana Lopez-Garcia's family can visit her in bed 2.", "name", "Ana Lopez-Garcia"),
        ("The woman in bed 7 has no ID.", "locator", "woman in bed 7"),
        ("A 78-year-old man in room 311 is stable.", "locator", "78-year-old man in room 311"),
        ("Call his daughter at 757-412-3456.", "phone", "757-412-3456"),
        ("Her cell is +1 202 456 7781.", "phone", "+1 202 456 7781"),
        ("Updates to jane.doe1962@gmail.com please", "email", "jane.doe1962@gmail.com"),
    ],
)
def test_finds_phi(sample_guard: Guard, text: str, kind: str, found: str) -> None:
    hits = sample_guard.scan(text)
    assert [(h.kind, h.text) for h in hits] == [(kind, found)]
    assert text[hits[0].start : hits[0].end] == found


@pytest.mark.parametrize(
    "text",
    [
        "Room 412 is the family waiting area.",
        "Dr. Patel's clinic is open.",
        "Call 911, text 988, or call 311 or 211.",
        "Call the Nurse Advice Line at (757) 555-0142.",
        "The information line is +1 757 555 0150 (same as 757.555.0150).",
        "Poison Help: 1-800-222-1222.",
        "Hurricane Imogen made landfall on November 26, 2026.",
        "The blood drive is on 11/28/2026 at Main Campus.",
        "Nurse Manager Tom Reyes thanks the team in Room 210.",
        "Dr. Aisha Rahman, our chief medical officer, was admitted to the board.",
        "Maria Lopez, RN, moved 40 patients in the ICU.",
        "Have your medical record number ready.",
        "A record number of 1,900 people used shelters.",
        "Write to media@portalderhealth.example or info@portalder.example.",
        "Harbor Dialysis Center has extra chairs in Bay 2.",
        "Six people were treated for carbon monoxide poisoning today.",
        "Babies born during the storm: 14.",
        "Beds 1 through 12 are ready for walk-in patients.",
    ],
)
def test_leaves_hard_negatives_alone(sample_guard: Guard, text: str) -> None:
    assert sample_guard.scan(text) == []


def test_a_guard_that_knows_no_hub_flags_every_full_phone_number() -> None:
    assert [h.kind for h in scan_text("Call (757) 555-0142 or 911.")] == ["phone"]


def test_configured_words_match_whole_words_in_any_case(sample_guard: Guard) -> None:
    guard = dataclasses.replace(sample_guard, words=("patient in room",))
    assert [h.text for h in guard.scan("The PATIENT  in Room C is awake")] == ["PATIENT  in Room"]
    assert guard.scan("outpatient in roomy chairs") == []


# --- stormhub check: positions, overrides, consent -------------------------------------

PHI_UPDATE = """\
---
time: 2026-11-27 09:00
title: "Family update: Mr. Jones in room 412"
severity: info
tags: [visitors]
---
Visitors are welcome again.

The family of MRN 00482913 can reach us; her DOB 04/12/1951 is on file.
"""

CONTACTS = """\
- name: Nurse Advice Line
  category: Port Alder Health
  phone: (757) 555-0142
  note: Or call the charge nurse at home, 757-412-3456.
  verified: 2026-11-25
"""

CLOSURES = """\
- facility: Eastside Clinic
  status: closed
  from: 2026-11-26 12:00
  note: Closed. Jane Doe, bed 3, was moved to Main Campus.
  alternatives:
    - Call (757) 555-0142 for advice
    - Or write to jane.doe1962@gmail.com
"""


def test_check_reports_each_finding_at_its_line_and_column(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/updates/2026-11-27-0900-family.md": PHI_UPDATE,
            "content/contacts.yaml": CONTACTS,
            "content/closures.yaml": CLOSURES,
            "content/tips/ssn.md": "---\ntitle: Forms\ncategory: After\n---\n"
            "Never post an SSN like 123-45-6789.\n",
        }
    )
    code, lines, _ = check(root)
    assert code == 2
    where = [line.split(": privacy: ")[0] for line in lines if ": privacy: " in line]
    assert where == [
        "content/closures.yaml:4:17",
        "content/closures.yaml:7:19",
        "content/contacts.yaml:4:43",
        "content/tips/ssn.md:5:24",
        "content/updates/2026-11-27-0900-family.md:3:24",
        "content/updates/2026-11-27-0900-family.md:9:15",
        "content/updates/2026-11-27-0900-family.md:9:46",
    ]
    update = [line for line in lines if "family.md" in line]
    assert update[0] == (
        "content/updates/2026-11-27-0900-family.md:3:24: privacy: 'Mr. Jones' looks like a "
        "patient's name next to a room or bed number ('room 412'): remove it, or if it is "
        'not patient information add phi_ok: "<why>" to the front matter, or allow it in '
        'content/hub.yaml (privacy: allow: - {text: "Mr. Jones", reason: "<why>"})'
    )
    assert "'MRN 00482913' looks like a medical record" in update[1]
    assert "'DOB 04/12/1951' looks like a date of birth" in update[2]
    tip = next(line for line in lines if "ssn.md" in line)
    assert "123-45-6789" not in tip and "'•••-••-6789' looks like a Social Security" in tip
    contact = next(line for line in lines if "contacts.yaml" in line)
    assert "'757-412-3456' is a phone number that is not in contacts.yaml" in contact
    assert "phi_ok" not in contact  # only updates have front matter to put it in
    assert lines[-1] == "7 problems found; nothing was written."


def test_privacy_problems_block_build_and_fanout(make_hub: HubFactory) -> None:
    root = make_hub({"content/updates/2026-11-27-0900-family.md": PHI_UPDATE})
    result = CliRunner().invoke(main, ["build", "--hub", str(root)], env=ENV)
    assert result.exit_code == 2
    assert "family.md:3:24: privacy: 'Mr. Jones'" in result.output
    assert not (root / "site").exists()
    (root / "channels.yaml").write_text("channels: []\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["fanout", "--hub", str(root)], env=ENV)
    assert result.exit_code == 2
    assert "privacy: 'MRN 00482913'" in result.output
    assert state(root) == []  # nothing but the check's cache


def test_phi_ok_silences_one_update_and_is_audited_once(make_hub: HubFactory) -> None:
    reason = "Mr. Jones is our volunteer; the numbers are a training example"
    text = PHI_UPDATE.replace("tags: [visitors]\n", f'tags: [visitors]\nphi_ok: "{reason}"\n')
    root = make_hub({"content/updates/2026-11-27-0900-family.md": text})
    code, lines, stderr = check(root)
    assert code == 0, lines
    assert "warning" not in stderr
    used = overrides(load_hub(root))
    assert [(o.kind, o.text, o.by, o.line) for o in used] == [
        ("name", "Mr. Jones", "phi_ok", 3),
        ("mrn", "MRN 00482913", "phi_ok", 10),
        ("dob", "DOB 04/12/1951", "phi_ok", 10),
    ]
    assert {o.reason for o in used} == {reason}
    assert check(root)[0] == 0  # a second check logs nothing new
    log = audit.entries(root / ".stormhub" / "ledger.sqlite")
    revision = load_hub(root).update("2026-11-27-0900-family").revision
    assert [(e.who, e.action, e.update_id, e.revision) for e in log] == [
        ("casey", "override", "2026-11-27-0900-family", revision)
    ] * 3
    assert log[0].details == (
        "privacy phi_ok: name 'Mr. Jones' in content/updates/2026-11-27-0900-family.md; "
        f"reason: {reason}"
    )


def test_phi_ok_needs_a_reason_and_is_not_part_of_the_revision(make_hub: HubFactory) -> None:
    text = PHI_UPDATE.replace("tags: [visitors]\n", 'tags: [visitors]\nphi_ok: "  "\n')
    root = make_hub({"content/updates/2026-11-27-0900-family.md": text})
    code, lines, _ = check(root)
    assert code == 2
    assert "content/updates/2026-11-27-0900-family.md:6:1: phi_ok: must not be empty" in lines
    plain = make_hub({"content/updates/2026-11-27-0900-family.md": None})
    before = load_hub(plain).updates[0].revision
    path = next((plain / "content" / "updates").glob("*.md"))
    path.write_text(path.read_text().replace("---\nThe", 'phi_ok: "x"\n---\nThe'))
    assert load_hub(plain).updates[0].phi_ok == "x"
    assert load_hub(plain).updates[0].revision == before


def test_an_unused_phi_ok_is_a_warning(make_hub: HubFactory) -> None:
    path = "content/updates/2026-11-27-0900-quiet.md"
    root = make_hub({path: PHI_UPDATE.replace("Mr. Jones in room 412", "All is well")
                     .replace("The family of MRN 00482913 can reach us; her DOB 04/12/1951 "
                              "is on file.", "Nothing private here.")
                     .replace("tags: [visitors]\n", 'tags: [visitors]\nphi_ok: "old"\n')})  # fmt: skip
    code, _, stderr = check(root)
    assert code == 0
    assert f"warning: {path}:6:1: phi_ok: the privacy guard finds nothing to silence" in stderr


ALLOW = """\
privacy:
  words: ["code blue"]
  allow:
    - text: "Mr. Jones"
      kind: name
      reason: "Mr. Jones is the name of the hospital cat"
    - {text: "(757) 412-3456", reason: "the charge nurse's desk phone", path: content/contacts.yaml}
    - {text: "Nobody Here", reason: "left over from last season"}
"""


def test_allow_list_silences_one_finding_everywhere_and_is_audited(
    make_hub: HubFactory,
) -> None:
    from tests.conftest import HUB_YAML

    root = make_hub(
        {
            "content/hub.yaml": HUB_YAML + ALLOW,
            "content/contacts.yaml": CONTACTS,
            "content/updates/2026-11-27-0900-cat.md": PHI_UPDATE.replace(
                "The family of MRN 00482913 can reach us; her DOB 04/12/1951 is on file.",
                "Mr. Jones in room 412 says hello. Code Blue drills are cancelled.",
            ),
        }
    )
    code, lines, _ = check(root)
    assert code == 2
    # The allowed name and number pass; the team's word does not.
    found = [line.split(": privacy: ")[1] for line in lines if ": privacy: " in line]
    assert len(found) == 1
    assert found[0].startswith("'Code Blue' is on this hub's privacy word list")
    cat = root / "content" / "updates" / "2026-11-27-0900-cat.md"
    cat.write_text(cat.read_text().replace(" Code Blue drills are cancelled.", ""))
    code, _, stderr = check(root)
    assert code == 0
    assert "content/hub.yaml:17:7: privacy.allow.2: 'Nobody Here' matches no finding" in stderr
    hub = load_hub(root)
    result = review(hub)
    assert [(o.path, o.text, o.by) for o in result.overrides] == [
        ("content/contacts.yaml", "757-412-3456", "allow"),
        ("content/updates/2026-11-27-0900-cat.md", "Mr. Jones", "allow"),
        ("content/updates/2026-11-27-0900-cat.md", "Mr. Jones", "allow"),
    ]
    assert result.overrides[0].reason == "the charge nurse's desk phone"


def test_an_allow_entry_in_another_file_or_of_another_kind_does_not_match(
    make_hub: HubFactory,
) -> None:
    from tests.conftest import HUB_YAML

    allow = (
        "privacy:\n  allow:\n"
        '    - {text: "757-412-3456", reason: "desk", path: content/closures.yaml}\n'
        '    - {text: "757-412-3456", reason: "desk", kind: email}\n'
    )
    root = make_hub({"content/hub.yaml": HUB_YAML + allow, "content/contacts.yaml": CONTACTS})
    code, lines, _ = check(root)
    assert code == 2
    assert lines[0].startswith("content/contacts.yaml:4:43: privacy: '757-412-3456'")


def test_allow_entries_without_a_reason_are_refused(make_hub: HubFactory) -> None:
    from tests.conftest import HUB_YAML

    root = make_hub({"content/hub.yaml": HUB_YAML + 'privacy:\n  allow: ["Dr. Jane Smith"]\n'})
    code, lines, _ = check(root)
    assert code == 2
    assert lines[0] == (
        "content/hub.yaml:11:11: privacy.allow.0: allow entry 'Dr. Jane Smith' needs a reason "
        'for the audit trail: write it as - {text: "Dr. Jane Smith", reason: "why this is not '
        'patient information"}'
    )


STORY = """\
---
time: 2026-11-28 10:00
title: "Thank you, nurses"
severity: info
tags: [recovery, patient-story]
---
A patient who rode out the storm with us wrote to thank the night team.
"""


def test_a_patient_story_needs_consent(make_hub: HubFactory) -> None:
    path = "content/updates/2026-11-28-1000-story.md"
    root = make_hub({path: STORY})
    code, lines, _ = check(root)
    assert code == 2
    assert lines[0] == (
        f"{path}:5:18: consent: an update tagged patient-story needs the patient's "
        'documented consent: add consent: "<reference to the signed consent, e.g. form '
        '2026-0412>" to the front matter, or remove the patient-story tag'
    )
    root = make_hub({path: STORY.replace("---\nA", 'consent: "form 2026-0412"\n---\nA')})
    assert check(root)[0] == 0
    root = make_hub({path: STORY.replace("---\nA", 'consent: ""\n---\nA')})
    code, lines, _ = check(root)
    assert (code, lines[0]) == (2, f"{path}:6:1: consent: must not be empty")


def test_the_sample_hub_is_clean() -> None:
    result = review(load_hub(ROOT))
    assert (result.problems, result.overrides, result.warnings) == ([], [], [])


def test_require_private_raises_content_error(make_hub: HubFactory) -> None:
    from hub.privacy import require_private

    root = make_hub({"content/updates/2026-11-27-0900-family.md": PHI_UPDATE})
    with pytest.raises(ContentError) as info:
        require_private(load_hub(root))
    assert len(info.value.problems) == 3


def test_the_cap_texts_of_an_update_are_scanned_too(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "content/updates/2026-11-27-0900-alert.md": """\
            ---
            time: 2026-11-27 09:00
            title: Boil water advisory
            severity: advisory
            instruction: Call his daughter at 757-412-3456 before boiling water.
            area: Eastside, where Mr. Jones in room 412 lives
            ---
            Boil tap water for one minute before drinking it.
            """
        }
    )
    code, lines, _ = check(root)
    assert code == 2
    where = sorted(line.split(": privacy: ")[0] for line in lines if ": privacy: " in line)
    assert where == [
        "content/updates/2026-11-27-0900-alert.md:5:35",
        "content/updates/2026-11-27-0900-alert.md:6:23",
    ], lines
