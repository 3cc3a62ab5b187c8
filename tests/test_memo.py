"""``stormhub check`` reuses its work on unchanged files, and never a stale result."""

from __future__ import annotations

import datetime as dt
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub import content, memo, privacy
from hub.checks import check_hub
from hub.errors import ContentError
from hub.memo import CACHE, MISSING, Memo
from tests.conftest import HUB_YAML, UPDATE_MD, HubFactory

SECOND = """\
---
time: 2026-11-27 08:00
title: Shelter at Lincoln High open
severity: advisory
---
Bring medicines and a phone charger.
"""
LEAK = """\
---
time: 2026-11-27 09:00
title: Visitor update
severity: info
---
Call his daughter at 757-412-3456 about the visit.
"""
FIRST = "content/updates/2026-11-27-0615-ed-open.md"


class Counts:
    def __init__(self) -> None:
        self.files: list[str] = []
        self.scans: list[str] = []


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How many Markdown files were worked out and how many texts scanned, this run."""
    seen = Counts()
    work, scan = content._markdown_file, privacy.Guard.scan

    def counting_work(path: Path, *args: object, **kwargs: object) -> content._MarkdownFile:
        seen.files.append(path.name)
        return work(path, *args, **kwargs)  # type: ignore[arg-type]

    def counting_scan(self: privacy.Guard, text: str) -> list[privacy.Hit]:
        seen.scans.append(text)
        return scan(self, text)

    monkeypatch.setattr(content, "_markdown_file", counting_work)
    monkeypatch.setattr(privacy.Guard, "scan", counting_scan)
    yield seen


def again(root: Path, seen: Counts) -> list[str]:
    """Check *root*; the problems as text ([] when clean)."""
    seen.files.clear()
    seen.scans.clear()
    try:
        check_hub(root)
    except ContentError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_a_second_check_reuses_every_unchanged_file(make_hub: HubFactory, counts: Counts) -> None:
    root = make_hub({"content/updates/2026-11-27-0800-shelter.md": SECOND})
    assert again(root, counts) == []
    assert len(counts.files) == 2 and counts.scans
    assert (root / CACHE).is_file()
    assert again(root, counts) == []
    assert counts.files == [] and counts.scans == []
    # One file edited: only it is read, parsed and scanned again.
    path = root / FIRST
    path.write_text(UPDATE_MD.replace("generator power", "generator power again"), "utf-8")
    assert again(root, counts) == []
    assert counts.files == [path.name]
    assert counts.scans == [
        "Emergency Department open",
        "The Emergency Department is open on generator power again.",
    ]


def test_problems_come_back_from_the_memo_exactly(make_hub: HubFactory, counts: Counts) -> None:
    root = make_hub({"content/updates/2026-11-27-0800-shelter.md": SECOND.replace(
        "severity: advisory", "severity: urgent\nsevere: yes")})  # fmt: skip
    first = again(root, counts)
    assert len(first) == 2 and counts.files
    assert again(root, counts) == first and counts.files == []


def test_a_changed_setting_works_every_file_out_again(make_hub: HubFactory, counts: Counts) -> None:
    root = make_hub()
    hub, _, _ = check_hub(root)
    assert hub.updates[0].time == dt.datetime(2026, 11, 27, 11, 15, tzinfo=dt.UTC)
    (root / "content/hub.yaml").write_text(
        HUB_YAML.replace("America/New_York", "America/Chicago"), "utf-8"
    )
    counts.files.clear()
    hub, _, _ = check_hub(root)  # the same wall-clock time, now in Chicago
    assert counts.files == [Path(FIRST).name]
    assert hub.updates[0].time == dt.datetime(2026, 11, 27, 12, 15, tzinfo=dt.UTC)


def test_the_privacy_guard_scans_again_when_contacts_change(
    make_hub: HubFactory, counts: Counts
) -> None:
    root = make_hub({"content/updates/2026-11-27-0900-visit.md": LEAK})
    problems = again(root, counts)
    assert len(problems) == 1 and "757-412-3456" in problems[0]
    assert again(root, counts) == problems and counts.scans == []
    # The number becomes a published contact: the guard is tuned anew, nothing is stale.
    (root / "content/contacts.yaml").write_text(
        "- name: Family liaison\n  category: Test Health\n  phone: (757) 412-3456\n"
        "  verified: 2026-11-25\n",
        "utf-8",
    )
    assert again(root, counts) == []
    assert counts.files == [] and counts.scans  # the files were not, the texts were


def test_new_code_or_libraries_start_a_new_memo(
    make_hub: HubFactory, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub()
    again(root, counts)
    monkeypatch.setattr(memo, "_fingerprint", lambda: b"another stormhub")
    assert again(root, counts) == [] and counts.files == [Path(FIRST).name]


def test_the_fingerprint_covers_the_code_and_the_parsers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "hub"
    package.mkdir()
    for name in ("memo.py", "content.py"):
        (package / name).write_text(f"# {name}\n", "utf-8")
    monkeypatch.setattr(memo, "__file__", str(package / "memo.py"))
    memo._fingerprint.cache_clear()
    one = memo._fingerprint()
    memo._fingerprint.cache_clear()
    assert memo._fingerprint() == one  # stable for the same code
    (package / "content.py").write_text("# content.py, changed\n", "utf-8")
    memo._fingerprint.cache_clear()
    assert memo._fingerprint() != one  # any module of the package
    changed = memo._fingerprint()
    monkeypatch.setattr(memo, "LIBRARIES", (*memo.LIBRARIES, "feedgen"))
    memo._fingerprint.cache_clear()
    assert memo._fingerprint() != changed  # and the libraries' versions
    memo._fingerprint.cache_clear()
    assert "pydantic" in memo.LIBRARIES and "PyYAML" in memo.LIBRARIES


def test_a_damaged_or_unwritable_memo_costs_only_time(make_hub: HubFactory, counts: Counts) -> None:
    root = make_hub()
    again(root, counts)
    (root / CACHE).write_bytes(b"not a pickle")
    assert again(root, counts) == [] and counts.files  # ignored and worked out again
    assert pickle.loads((root / CACHE).read_bytes())[1]  # and written whole again
    (root / CACHE).unlink()
    (root / CACHE).parent.rmdir()
    (root / CACHE).parent.write_text("a file where the cache folder should be", "utf-8")
    assert again(root, counts) == [] and counts.files
    assert again(root, counts) == [] and counts.files  # nothing could be kept


def test_the_memo_keeps_only_what_the_last_check_used(make_hub: HubFactory, counts: Counts) -> None:
    root = make_hub({"content/updates/2026-11-27-0800-shelter.md": SECOND})
    again(root, counts)
    before = len(pickle.loads((root / CACHE).read_bytes())[1])
    (root / "content/updates/2026-11-27-0800-shelter.md").unlink()
    again(root, counts)
    after = len(pickle.loads((root / CACHE).read_bytes())[1])
    assert after < before


def test_memo_basics(tmp_path: Path) -> None:
    kept = Memo(tmp_path / "m.pickle")
    key = kept.key("a", b"b")
    assert kept.key("ab", b"") != key  # parts are length-prefixed
    assert kept.get(key) is MISSING
    kept.put(key, [1, 2])
    kept.save()
    assert Memo(tmp_path / "m.pickle").get(key) == [1, 2]
    nothing = Memo.none()
    nothing.put(key, 1)
    nothing.save()  # writes nowhere
    assert Memo.none().get(key) is MISSING


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the memo reads to digest them."""
    seen: list[str] = []
    real_open = open

    def counting_open(file: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(os.path.basename(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(memo, "open", counting_open, raising=False)
    return seen


def test_a_settled_file_is_not_even_read_again(
    make_hub: HubFactory, counts: Counts, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub({"content/updates/2026-11-27-0800-shelter.md": SECOND})
    paths = sorted((root / "content/updates").iterdir())
    # As if written long ago: a file's change time cannot be set back.
    monkeypatch.setattr(memo, "SETTLED", -(10**12))
    assert again(root, counts) == [] and len(reads) == 2  # read, digested, status kept
    reads.clear()
    assert again(root, counts) == [] and reads == [] and counts.files == []
    # Same size, the old modification time put back: the change time still tells.
    stamp = paths[0].stat().st_mtime_ns
    paths[0].write_text(UPDATE_MD.replace("generator", "GENERATOR"), "utf-8")
    os.utime(paths[0], ns=(stamp, stamp))
    reads.clear()
    hub, _, _ = check_hub(root)
    assert reads == [paths[0].name]
    assert "GENERATOR" in hub.update(paths[0].stem).body


def test_a_file_changed_just_now_is_read_every_time(
    make_hub: HubFactory, counts: Counts, reads: list[str]
) -> None:
    root = make_hub()  # written this instant: a later write could share its time
    again(root, counts)
    again(root, counts)
    assert reads == [Path(FIRST).name] * 2
    assert counts.files == []  # read and digested, but its result came from the memo


def test_new_words_to_flag_are_looked_for_in_every_update_again(
    make_hub: HubFactory, counts: Counts
) -> None:
    root = make_hub()
    assert again(root, counts) == []
    assert again(root, counts) == [] and counts.scans == []  # known clean
    (root / "content/hub.yaml").write_text(
        HUB_YAML + "privacy:\n  words: [generator power]\n", "utf-8"
    )
    problems = again(root, counts)
    assert len(problems) == 1 and "'generator power'" in problems[0], problems


def test_a_build_after_a_check_reuses_its_work(
    make_hub: HubFactory, counts: Counts, tmp_path: Path
) -> None:
    from hub.site.build import build_site

    root = make_hub({"content/updates/2026-11-27-0800-shelter.md": SECOND})
    assert again(root, counts) == []
    counts.files.clear()
    counts.scans.clear()
    build_site(root, site_dir=tmp_path / "site")  # as publish's background rebuild does
    assert counts.files == [] and counts.scans == []
    assert (tmp_path / "site/updates/2026-11-27-0800-shelter/index.html").is_file()
