"""``stormhub new`` and the authoring lock: named, valid update files, nothing lost."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from hub.authoring import (
    authoring_lock,
    format_when,
    mark_retracted,
    new_update,
    short_slug,
)
from hub.cli import main
from hub.content import load_hub
from hub.errors import ContentError, HubError
from hub.model import Severity
from tests.conftest import NOW, ROOT, HubFactory

ID_RE = re.compile(r"\d{4}-\d\d-\d\d-\d{4}-[a-z0-9-]+")


def run(root: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> Result:
    return CliRunner().invoke(
        main, [*args, "--hub", str(root)], env={"COLUMNS": "200", **(env or {})}, input=stdin
    )


def new_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "content" / "updates").glob("*.md") if "ed-open" not in p.name)


# --- ids and times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Shelters open", "shelters-open"),
        ("Emergency Department open on generator power", "emergency-department-open-on-generator"),
        (
            "Correction: the medical needs shelter is at 210 Cedar Street",
            "correction-medical-needs-shelter-is-at",
        ),
        ("Café & Crème: l'hôpital rouvre", "cafe-creme-l-hopital-rouvre"),
        (
            "Supercalifragilisticexpialidocious-and-then-some-more-letters",
            "supercalifragilisticexpialidocious-and",
        ),
        (
            "Abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij",
            "abcdefghijabcdefghijabcdefghijabcdefghij",
        ),
        ("台风警报", "update"),
        ("The item list", "item-list"),
    ],
)
def test_short_slug(title: str, slug: str) -> None:
    assert short_slug(title) == slug
    assert len(slug) <= 40


def test_new_update_writes_the_file_as_the_sample_hub_does(make_hub: HubFactory) -> None:
    root = make_hub()
    made = new_update(
        root,
        "  Roads: what is open  ",
        Severity.ADVISORY,
        tags=["transit", "roads,power"],
        body="Harbor Road is open.\r\n\r\nRidge Avenue is *closed*.\n",
        supersedes="2026-11-27-0615-ed-open",
        now=NOW,  # 23:00 UTC = 18:00 in New York
    )
    assert made.id == "2026-11-28-1800-roads-what-is-open"
    assert made.path == root / "content" / "updates" / f"{made.id}.md"
    assert made.path.read_text() == textwrap.dedent("""\
        ---
        time: 2026-11-28 18:00
        title: "Roads: what is open"
        severity: advisory
        tags: [transit, roads, power]
        supersedes: 2026-11-27-0615-ed-open
        ---
        Harbor Road is open.

        Ridge Avenue is *closed*.
        """)
    update = made.hub.update(made.id)
    assert update.time == NOW
    assert update.tags == ("transit", "roads", "power")
    assert made.hub.corrections["2026-11-27-0615-ed-open"].id == made.id


def test_titles_that_yaml_would_misread_are_quoted(make_hub: HubFactory) -> None:
    root = make_hub()
    for title in ["yes", "2026", "#1 priority", "[draft] notice", "null", 'Say "hi"']:
        made = new_update(root, title, "info", body="Text.", now=NOW)
        assert made.hub.update(made.id).title == title


def test_same_minute_same_title_gets_a_numbered_id(make_hub: HubFactory) -> None:
    root = make_hub()
    ids = [new_update(root, "Shelters open", "info", body=f"{n}", now=NOW).id for n in range(3)]
    base = "2026-11-28-1800-shelters-open"
    assert ids == [base, f"{base}-2", f"{base}-3"]


def test_a_time_that_happens_twice_is_written_with_its_offset() -> None:
    zone = load_hub(ROOT).info.zone
    first = dt.datetime(2026, 11, 1, 5, 30, 59, tzinfo=dt.UTC)  # 01:30 EDT
    second = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)  # 01:30 EST
    assert format_when(first, zone) == "2026-11-01T01:30-04:00"
    assert format_when(second, zone) == "2026-11-01T01:30-05:00"
    assert format_when(NOW, zone) == "2026-11-28 18:00"


def test_an_update_in_the_repeated_hour_is_valid(make_hub: HubFactory) -> None:
    root = make_hub()
    made = new_update(
        root, "Fall back", "info", body="T", now=dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)
    )
    assert made.id == "2026-11-01-0130-fall-back"
    assert "time: 2026-11-01T01:30-05:00\n" in made.path.read_text()


# --- the command ----------------------------------------------------------------------


def test_new_command_prints_id_path_and_future_permalink(make_hub: HubFactory) -> None:
    root = make_hub()
    result = run(root, "new", "Boil water notice", "--severity", "warning", "--body", "Boil it.")
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    match = re.fullmatch(rf"Created ({ID_RE.pattern}): content/updates/\1\.md", first)
    assert match, first
    update_id = match.group(1)
    assert update_id.endswith("-boil-water-notice")
    assert second == f"Once published it will be at https://hub.example.org/updates/{update_id}/"
    update = load_hub(root).update(update_id)
    assert (update.severity, update.body) == (Severity.WARNING, "Boil it.")
    assert abs(update.time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=2)


def test_the_writer_is_recorded_as_author(make_hub: HubFactory) -> None:
    root = make_hub()
    result = run(root, "new", "A", "--severity", "info", "--body", "x", "--by", "A. Rivera")
    assert result.exit_code == 0, result.output
    env = {"STORMHUB_USER": "kim"}
    assert run(root, "new", "B", "--severity", "info", "--body", "x", env=env).exit_code == 0
    authors = {u.title: u.author for u in load_hub(root).updates}
    assert (authors["A"], authors["B"]) == ("A. Rivera", "kim")


def test_body_from_a_file_and_from_stdin(make_hub: HubFactory, tmp_path: Path) -> None:
    root = make_hub()
    text = tmp_path / "body.md"
    text.write_text("From a **file**.\n", encoding="utf-8")
    assert run(root, "new", "One", "--severity", "info", "--body-file", str(text)).exit_code == 0
    result = run(root, "new", "Two", "--severity", "info", "--body-file", "-", stdin="Piped.\n")
    assert result.exit_code == 0, result.output
    bodies = sorted(u.body for u in load_hub(root).updates)
    assert bodies == [
        "From a **file**.",
        "Piped.",
        "The Emergency Department is open on generator power.",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give the update's text with one of --body TEXT, --body-file FILE"),
        (["--body", "x", "--edit"], "give only one of --body TEXT"),
        (
            ["--body-file", "/nonexistent/x.md"],
            "Invalid value for --body-file: /nonexistent/x.md: No such file",
        ),
        (
            ["--body", "x", "--slug", "Bad Slug"],
            "'Bad Slug' is not a slug: use lowercase letters, digits and dashes, e.g. bad-slug",
        ),
        (["--body", "x", "--image", "nope.jpg", "--alt", "A"], "nope.jpg is not a file"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(
    make_hub: HubFactory, args: list[str], message: str
) -> None:
    root = make_hub()
    result = run(root, "new", "Title", "--severity", "info", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert new_files(root) == []


def test_severity_must_be_one_of_the_four(make_hub: HubFactory) -> None:
    result = run(make_hub(), "new", "T", "--severity", "severe", "--body", "x")
    assert result.exit_code == 2
    assert "'severe' is not one of 'info', 'advisory', 'warning', 'emergency'" in result.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["--tag", "Transit"],
            r"content/updates/{id}\.md:5:8: tags\.0: 'Transit' is not a valid id",
        ),
        (
            ["--supersedes", "2026-11-27-0615-ed-opne"],
            r"content/updates/{id}\.md:5:1: supersedes: no update has id '2026-11-27-0615-ed-opne': did you mean '2026-11-27-0615-ed-open'\?",
        ),
        (
            ["--alt", "A picture"],
            r"content/updates/{id}\.md:5:1: alt: alt is set but there is no image",
        ),
        (
            ["--body", "<script>alert(1)</script>"],
            r"content/updates/{id}\.md:7:1: body: raw HTML <script> is not allowed",
        ),
    ],
)
def test_an_invalid_update_is_removed_and_reported_with_path_line_col(
    make_hub: HubFactory, args: list[str], problem: str
) -> None:
    root = make_hub()
    body = [] if "--body" in args else ["--body", "Text."]
    result = run(root, "new", "Bad one", "--severity", "info", *body, *args)
    assert result.exit_code == 2
    assert re.match(problem.format(id=ID_RE.pattern), result.stderr), result.stderr
    assert result.stderr.endswith("1 problem found; nothing was written.\n")
    assert new_files(root) == []
    assert not list((root / "content" / "updates").glob(".*"))


def test_a_hub_with_problems_refuses_the_new_update_too(make_hub: HubFactory) -> None:
    root = make_hub({"content/updates/broken.md": "---\ntitle: T\n---\nB\n"})
    result = run(root, "new", "Fine", "--severity", "info", "--body", "Fine.")
    assert result.exit_code == 2
    assert "content/updates/broken.md:2:1: time: required key 'time' is missing" in result.stderr
    assert [p.name for p in new_files(root)] == ["broken.md"]


def test_an_image_is_copied_into_content_images(make_hub: HubFactory, tmp_path: Path) -> None:
    root = make_hub()
    picture = tmp_path / "Flooded Road.JPG"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "blue").save(buffer, "JPEG")
    picture.write_bytes(buffer.getvalue())
    args = ["--body", "x", "--image", str(picture), "--alt", "Water over Harbor Road"]
    assert run(root, "new", "One", "--severity", "info", *args).exit_code == 0
    assert run(root, "new", "Two", "--severity", "info", *args).exit_code == 0  # same picture
    picture.write_bytes(buffer.getvalue() + b"\0")  # another picture, same name
    assert run(root, "new", "Three", "--severity", "info", *args).exit_code == 0
    images = sorted(u.image or "" for u in load_hub(root).updates if u.image)
    assert images == [
        "images/flooded-road-2.jpg",
        "images/flooded-road.jpg",
        "images/flooded-road.jpg",
    ]
    # Already in content/: referred to where it is, not copied.
    result = run(root, "new", "Four", "--severity", "info", "--body", "x",
                 "--image", "images/flooded-road.jpg", "--alt", "Water")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (root / "content" / "images").iterdir()) == [
        "flooded-road-2.jpg",
        "flooded-road.jpg",
    ]


def test_an_image_without_alt_is_refused_and_its_copy_removed(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    root = make_hub()
    picture = tmp_path / "map.png"
    Image.new("RGB", (4, 4)).save(picture)
    result = run(root, "new", "Map", "--severity", "info", "--body", "x", "--image", str(picture))
    assert result.exit_code == 2
    assert "image: image has no alt text: add alt: describing the image" in result.stderr
    assert not (root / "content" / "images" / "map.png").exists()
    (tmp_path / "notes.png").write_text("not a picture")
    result = run(root, "new", "Map", "--severity", "info", "--body", "x",
                 "--image", str(tmp_path / "notes.png"), "--alt", "A")  # fmt: skip
    assert result.exit_code == 2
    assert "is not an image StormHub can read: use a JPEG, PNG, GIF or WebP file" in result.stderr


# --- --edit ---------------------------------------------------------------------------


def fake_editor(tmp_path: Path, script: str) -> dict[str, str]:
    """$EDITOR as a small Python program that gets the file name as its argument."""
    path = tmp_path / "editor.py"
    path.write_text("import sys\nname = sys.argv[1]\n" + textwrap.dedent(script))
    return {"EDITOR": f"{sys.executable} {path}", "VISUAL": ""}


def test_edit_uses_what_is_saved_without_the_template(make_hub: HubFactory, tmp_path: Path) -> None:
    root = make_hub()
    env = fake_editor(
        tmp_path,
        """
        text = open(name).read()
        assert "New update: Power is back" in text and "Tags: power" in text, text
        open(name, "w").write(text + "Power is back on the **Eastside**.\\n")
        """,
    )
    result = run(
        root, "new", "Power is back", "--severity", "info", "--tag", "power", "--edit", env=env
    )
    assert result.exit_code == 0, result.output
    (path,) = new_files(root)
    assert path.read_text().endswith("---\nPower is back on the **Eastside**.\n")


def test_edit_cancelled_or_empty_writes_nothing(make_hub: HubFactory, tmp_path: Path) -> None:
    root = make_hub()
    unsaved = fake_editor(tmp_path, "pass\n")
    result = run(root, "new", "T", "--severity", "info", "--edit", env=unsaved)
    assert result.exit_code == 1
    assert "nothing written: the editor was closed without saving" in result.stderr
    saved_empty = fake_editor(tmp_path, "open(name, 'a').write('\\n\\n')\n")
    result = run(root, "new", "T", "--severity", "info", "--edit", env=saved_empty)
    assert result.exit_code == 1
    assert "nothing written: the update has no text" in result.stderr
    failing = fake_editor(tmp_path, "sys.exit(3)\n")
    result = run(root, "new", "T", "--severity", "info", "--edit", env=failing)
    assert result.exit_code == 1
    assert "Editing failed" in result.stderr
    assert new_files(root) == []


def test_edited_text_of_a_refused_update_is_kept_as_a_draft(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    root = make_hub()
    env = fake_editor(tmp_path, "open(name, 'w').write('Long careful text.\\n')\n")
    result = run(root, "new", "T", "--severity", "info", "--supersedes", "nope", "--edit", env=env)
    assert result.exit_code == 2
    match = re.search(r"Your text is kept in (\S+\.md): fix the problems below", result.stderr)
    assert match, result.stderr
    assert Path(match.group(1)).read_text() == "Long careful text.\n"
    assert f"run the command again with --body-file {match.group(1)}" in result.stderr
    assert new_files(root) == []


# --- the lock and concurrent staff ----------------------------------------------------


def test_the_lock_is_exclusive_and_says_what_to_do(make_hub: HubFactory) -> None:
    root = make_hub()
    held = pytest.raises(
        HubError, match=r"held by another stormhub command for 0.05 s: let it finish"
    )
    with authoring_lock(root), held, authoring_lock(root, timeout=0.05):
        pass  # pragma: no cover
    with authoring_lock(root, timeout=0.05):  # released again
        pass


def test_retract_still_works_under_the_lock(make_hub: HubFactory) -> None:
    root = make_hub()
    path = mark_retracted(root, "2026-11-27-0615-ed-open", "Wrong building.", now=NOW)
    assert "retracted: 2026-11-28T23:00:00+00:00\nretraction: Wrong building.\n" in path.read_text()
    with pytest.raises(HubError, match="already retracted"):
        mark_retracted(root, "2026-11-27-0615-ed-open", now=NOW)


def test_retract_puts_the_original_back_on_a_problem(make_hub: HubFactory) -> None:
    root = make_hub()
    path = root / "content" / "updates" / "2026-11-27-0615-ed-open.md"
    before = path.read_text()
    with pytest.raises(ContentError, match="expires must be later than time"):
        path.write_text(before.replace("tags:", "expires: 2026-11-27 05:00\ntags:"))
        changed = path.read_text()
        mark_retracted(root, "2026-11-27-0615-ed-open", now=NOW)
    assert path.read_text() == changed


WORKERS = 8


def start_new(root: Path, body: Path) -> subprocess.Popen[str]:
    """The real ``stormhub new`` in its own process, reading its text from *body*."""
    args = ["new", "Shelter update", "--severity", "advisory", "--body-file", str(body)]
    return subprocess.Popen(
        [sys.executable, "-m", "hub", *args, "--hub", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def feed(fifo: Path, text: str, proc: subprocess.Popen[str]) -> None:
    """Write *text* into *fifo* once its process opens it (it is then past start-up)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # ENXIO: no reader yet
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the process never read its text"
            time.sleep(0.005)
    with os.fdopen(fd, "w") as pipe:
        pipe.write(text)


@pytest.mark.slow
def test_staff_running_new_at_the_same_moment_all_get_their_update(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    root = make_hub()
    fifos = [tmp_path / f"body-{n}" for n in range(WORKERS)]
    for fifo in fifos:
        os.mkfifo(fifo)
    procs = [start_new(root, fifo) for fifo in fifos]
    # Hold the lock while all of them read their text and go for it, so that they
    # all contend for it at the same instant when it is released.
    with authoring_lock(root):
        for n, (fifo, proc) in enumerate(zip(fifos, procs, strict=True)):
            feed(fifo, f"Written by worker {n}.", proc)
        time.sleep(0.3)
        assert new_files(root) == []  # every one of them waits for the lock
    printed: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        match = re.match(rf"Created ({ID_RE.pattern}): ", out)
        assert match, out
        printed.append(match.group(1))
    assert len(set(printed)) == WORKERS
    hub = load_hub(root)  # every file valid, together
    mine = {u.id: u for u in hub.updates if u.id in printed}
    assert set(mine) == set(printed)
    assert sorted(u.body for u in mine.values()) == sorted(
        f"Written by worker {n}." for n in range(WORKERS)
    )
    assert all(re.search(r"-shelter-update(-\d+)?$", i) for i in printed)
    assert not [p for p in (root / "content" / "updates").iterdir() if p.name.startswith(".")]


# --- --publish ------------------------------------------------------------------------

OUTBOX = """\
channels:
  - name: outbox
    type: outbox
    folder: .stormhub/outbox
"""
PHI = "Our patient, SSN 123-45-6789, is safe."


@pytest.fixture
def outbox_hub(make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STORMHUB_USER", "tester")
    return make_hub({"channels.yaml": OUTBOX})


def test_new_publish_refuses_patient_information_and_leaves_nothing(outbox_hub: Path) -> None:
    result = run(
        outbox_hub, "new", "Patient news", "--severity", "info", "--body", PHI, "--publish"
    )
    assert result.exit_code == 2
    assert re.match(rf"content/updates/{ID_RE.pattern}\.md:7:\d+: privacy: ", result.stderr)
    assert "nothing was written" in result.stderr
    assert new_files(outbox_hub) == []
    assert not (outbox_hub / "site").exists()
    assert not (outbox_hub / ".stormhub" / "outbox").exists()


def test_closure_publish_refuses_patient_information_and_restores_the_file(
    outbox_hub: Path,
) -> None:
    closures = outbox_hub / "content" / "closures.yaml"
    closures.write_text("- facility: Clinic\n  status: closed\n  from: 2026-11-26 12:00\n")
    before = closures.read_bytes()
    result = run(outbox_hub, "closure", "set", "Clinic", "--note", PHI, "--publish")
    assert result.exit_code == 2
    assert re.match(r"content/closures\.yaml:4:\d+: privacy: ", result.stderr)
    assert closures.read_bytes() == before


@pytest.mark.slow
def test_new_and_closure_publish_put_them_live_and_fan_out(outbox_hub: Path) -> None:
    from hub.publish import publish

    assert publish(outbox_hub, now=NOW).exit_code == 0  # the first, full build
    result = run(outbox_hub, "new", "Shelters stay open", "--severity", "warning",
                 "--tag", "shelter", "--body", "Both shelters stay open tonight.", "--publish")  # fmt: skip
    assert result.exit_code == 0, result.output
    update_id = re.match(rf"Created ({ID_RE.pattern}): ", result.stdout).group(1)  # type: ignore[union-attr]
    assert f"https://hub.example.org/updates/{update_id}/" in result.stdout
    page = outbox_hub / "site" / "updates" / update_id / "index.html"
    assert "Both shelters stay open tonight." in page.read_text()
    posts = [p.read_text() for p in (outbox_hub / ".stormhub" / "outbox").glob("*.json")]
    assert len(posts) == 2
    assert sum("Both shelters stay open tonight." in p for p in posts) == 1

    (outbox_hub / "content" / "closures.yaml").write_text(
        "- facility: Eastside Clinic\n  status: closed\n  from: 2026-11-26 12:00\n"
    )
    result = run(outbox_hub, "closure", "clear", "Eastside Clinic", "--publish")
    assert result.exit_code == 0, result.output
    assert "Closures page: https://hub.example.org/closures/#eastside-clinic" in result.stdout
    html = (outbox_hub / "site" / "closures" / "index.html").read_text()
    assert 'id="eastside-clinic"' in html
    assert "Since " in html.split('id="eastside-clinic"')[1][:600]
