"""Changes the commands make to content files, each checked before it is kept.

``stormhub new`` writes an update file, ``stormhub closure set|clear`` edits one entry of
``content/closures.yaml`` in place, ``stormhub retract`` marks an update retracted. Every
change is made holding the hub's authoring lock (``.stormhub/authoring.lock``, an
exclusive ``flock``), so two staff working at the same moment never lose each other's
work; it is written in one step (a temporary file renamed into place), and the whole hub
is loaded again before it is kept: on any problem the change is undone and the problems
are raised as ``path:line:col``.

closures.yaml is edited line by line, guided by ruamel.yaml's round-trip parse (which
knows where every entry and key starts): only the lines of the keys that change are
rewritten, so comments, blank lines, key order, quoting and odd indentation everywhere
else stay byte for byte as they were.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fcntl
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from hub.content import FRONT_MATTER, load_hub, now_utc, read_info
from hub.errors import ContentError, HubError, Problem
from hub.located import Collector, _Loader, yaml_file
from hub.model import ClosureStatus, HubInfo, Severity, localize, slugify

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from hub.model import Hub

LOCK_FILE = Path(".stormhub") / "authoring.lock"
DRAFTS = Path(".stormhub") / "drafts"
CLOSURES = Path("content") / "closures.yaml"
SLUG_WORDS = 6
SLUG_CHARS = 40
_SLUG_SKIP = frozenset({"a", "an", "the"})


# --- The lock and safe writes -----------------------------------------------------------


@contextmanager
def authoring_lock(root: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the hub's exclusive authoring lock (waiting up to *timeout* seconds)."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HubError(
                        f"{LOCK_FILE} has been held by another stormhub command for "
                        f"{timeout:g} s: let it finish, then run this again"
                    ) from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_new(path: Path, data: bytes) -> None:
    """Create *path* whole, failing if it exists (a hard link never replaces a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink()


# --- Times given on the command line ----------------------------------------------------


def parse_when(text: str, zone: ZoneInfo, now: dt.datetime, option: str) -> dt.datetime:
    """A time from the command line: ``now``, or a date and time (the hub's time or ISO).

    Raises:
        click.BadParameter: naming *option* and the formats it takes.
    """
    raw = text.strip()
    formats = (
        f"write it as 2026-11-28 08:00 (the hub's time, {zone.key}), 2026-11-28T08:00-05:00, or now"
    )
    if raw.lower() == "now":
        return now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise click.BadParameter(f"{raw!r} has no time of day: {formats}", param_hint=option)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?", raw):
        raise click.BadParameter(f"{raw!r} is not a date and time: {formats}", param_hint=option)
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise click.BadParameter(f"{raw!r}: {exc}: {formats}", param_hint=option) from None
    if moment.tzinfo is None:
        try:
            moment = localize(moment, zone)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from None
    return moment.astimezone(dt.UTC)


def format_when(moment: dt.datetime, zone: ZoneInfo) -> str:
    """*moment* as the sample hub writes times: local wall clock to the minute.

    A time that the end of daylight saving makes happen twice gets its UTC offset.
    """
    local = moment.astimezone(zone).replace(second=0, microsecond=0)
    naive = local.replace(tzinfo=None)
    try:
        localize(naive, zone)
    except ValueError:
        offset = local.strftime("%z")
        return f"{naive:%Y-%m-%dT%H:%M}{offset[:3]}:{offset[3:]}"
    return f"{naive:%Y-%m-%d %H:%M}"


# --- YAML scalars as a person would write them ------------------------------------------


def _scalar(value: str, *, flow: bool = False) -> str:
    """*value* plain when the hub's YAML reader reads it back unchanged, else double-quoted."""
    if value and value == value.strip() and "\n" not in value and " #" not in value:
        probe = f"k: [{value}]" if flow else f"k: {value}"
        try:
            loaded = yaml.load(probe, Loader=_Loader)
        except yaml.YAMLError:
            loaded = None
        if loaded == {"k": [value] if flow else value}:
            return value
    return json.dumps(value, ensure_ascii=False)


# --- stormhub new -----------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What a command wrote: the id, the file, and the hub as loaded to check it."""

    id: str
    path: Path
    hub: Hub
    action: str = "created"


def short_slug(title: str) -> str:
    """A short file-name slug for *title*: at most 6 words and 40 characters."""
    words = [w for w in slugify(title).split("-") if w not in _SLUG_SKIP] or ["update"]
    if words == ["item"] and "item" not in title.lower():
        words = ["update"]  # nothing ASCII in the title
    kept: list[str] = []
    for word in words[:SLUG_WORDS]:
        if kept and len("-".join([*kept, word])) > SLUG_CHARS:
            break
        kept.append(word)
    return "-".join(kept)[:SLUG_CHARS].strip("-")


def _hub_info(root: Path) -> HubInfo:
    """``content/hub.yaml`` alone (the timezone), without loading every update."""
    out = Collector(root)
    src = yaml_file(root / "content" / "hub.yaml", out, required=True)
    info, _translations = read_info(src, out)
    if out.problems or not isinstance(info, HubInfo):
        raise ContentError(out.problems or [Problem("content/hub.yaml", 1, 1, "", "unreadable")])
    return info


_TEMPLATE_END = "This comment is not published."
_TEMPLATE = """<!--
New update: {title}
Severity: {severity}{tags}
Write the text of the update below this comment (Markdown), then save and close the
editor. Leave the text empty to cancel. {end}
-->

{body}"""


def _from_editor(title: str, severity: str, tags: Sequence[str], start: str) -> str:
    template = _TEMPLATE.format(
        title=title,
        severity=severity,
        tags=f"   Tags: {', '.join(tags)}" if tags else "",
        end=_TEMPLATE_END,
        body=start,
    )
    edited = click.edit(template, extension=".md", require_save=True)
    if edited is None:
        raise HubError("nothing written: the editor was closed without saving")
    comment = re.match(r"\A\s*<!--(.*?)-->", edited, re.S)
    if comment and _TEMPLATE_END in comment.group(1):
        edited = edited[comment.end() :]
    return edited


def _body_text(body: str | None, body_file: str | None, edit: bool) -> str:
    """The text given by --body or --body-file ("" for --edit, which asks later)."""
    given = [name for name, v in (("--body", body), ("--body-file", body_file)) if v is not None]
    if edit:
        given.append("--edit")
    if len(given) != 1:
        problem = "only one of" if given else "the update's text with one of"
        raise click.UsageError(
            f"give {problem} --body TEXT, --body-file FILE (- for standard input) or --edit"
        )
    if body_file is None:
        return body or ""
    try:
        if body_file == "-":
            return sys.stdin.read()
        return Path(body_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 ({exc.reason})"
        raise click.BadParameter(f"{body_file}: {reason}", param_hint="--body-file") from None


def _image_source(root: Path, image: str) -> Path:
    given = Path(image).expanduser()
    for candidate in (given, root / "content" / given):
        if candidate.is_file():
            return candidate.resolve()
    raise click.BadParameter(
        f"{image} is not a file: give the path of the picture, e.g. ~/Pictures/flood.jpg "
        "(it is copied into content/images/) or images/flood.jpg",
        param_hint="--image",
    )


def _place_image(root: Path, source: Path) -> tuple[str, Path | None]:
    """The image's path relative to content/, copying it into content/images/ if needed.

    Returns:
        The relative path, and the copy made (to remove if the update is not kept).
    """
    from hub.images import image_info

    content = root / "content"
    data = source.read_bytes()
    if image_info(data) is None:
        raise click.BadParameter(
            f"{source} is not an image StormHub can read: use a JPEG, PNG, GIF or WebP file",
            param_hint="--image",
        )
    if source.is_relative_to(content):
        return source.relative_to(content).as_posix(), None
    folder = content / "images"
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = slugify(source.stem), source.suffix.lower()
    target, number = folder / f"{stem}{suffix}", 2
    while target.exists():
        if target.read_bytes() == data:
            return target.relative_to(content).as_posix(), None
        target, number = folder / f"{stem}-{number}{suffix}", number + 1
    _write_new(target, data)
    return target.relative_to(content).as_posix(), target


def _split_tags(tags: Sequence[str]) -> list[str]:
    result: list[str] = []
    for given in tags:
        for tag in given.split(","):
            if tag.strip() and tag.strip() not in result:
                result.append(tag.strip())
    return result


def new_update(
    root: Path | str,
    title: str,
    severity: Severity | str,
    *,
    tags: Sequence[str] = (),
    body: str | None = None,
    body_file: str | None = None,
    edit: bool = False,
    image: str | None = None,
    alt: str | None = None,
    supersedes: str | None = None,
    slug: str | None = None,
    author: str | None = None,
    screen: bool = False,
    now: dt.datetime | None = None,
) -> Written:
    """Write a new update file, named from the time and a slug of its title, and check it.

    Args:
        root: the hub folder.
        title: the update's title; its slug names the file (unless *slug* is given).
        severity: info, advisory, warning or emergency.
        tags: topics; a comma inside one also separates tags.
        body: the text; exactly one of *body*, *body_file* and *edit* is given.
        body_file: a file holding the text (``-`` for standard input).
        edit: write the text in ``$VISUAL`` or ``$EDITOR``, on a template.
        image: a picture for the update: a file anywhere (copied into content/images/)
            or a path relative to content/; needs *alt*.
        alt: the picture's alt text.
        supersedes: the id of the update this one corrects.
        slug: the file-name slug, instead of one made from *title*.
        author: who wrote it (``author:``; under the two-person rule someone else
            approves it).
        screen: also refuse the update if the privacy guard would stop it from being
            published (for ``new --publish``: nothing is left behind).
        now: the update's time (default now); written to the minute in the hub's timezone.

    Returns:
        The new id, its file and the hub including it.

    Raises:
        ContentError: the new file (or the hub) has problems; nothing was kept.
        click.UsageError: the options do not say what to write.
    """
    root = Path(root).resolve()
    title = " ".join(title.split())
    if not title:
        raise click.BadParameter("the title is empty: give the update a title", param_hint="TITLE")
    if slug is not None and slugify(slug) != slug:
        raise click.BadParameter(
            f"{slug!r} is not a slug: use lowercase letters, digits and dashes, "
            f"e.g. {short_slug(slug)}",
            param_hint="--slug",
        )
    tag_list = _split_tags(tags)
    severity = str(severity.value if isinstance(severity, Severity) else severity)
    text = _body_text(body, body_file, edit)
    source = _image_source(root, image) if image else None
    info = _hub_info(root)
    if edit:
        text = _from_editor(title, severity, tag_list, "")
    text = text.replace("\r\n", "\n").strip()
    if edit and not text:
        raise HubError("nothing written: the update has no text")

    updates = root / "content" / "updates"
    updates.mkdir(parents=True, exist_ok=True)
    with authoring_lock(root):
        moment = now or now_utc()
        local = moment.astimezone(info.zone)
        base = f"{local:%Y-%m-%d-%H%M}-{slug or short_slug(title)}"
        taken = {p.stem for p in updates.rglob("*.md")}
        update_id, number = base, 2
        while update_id in taken:
            update_id, number = f"{base}-{number}", number + 1
        copied: Path | None = None
        front = [
            "---",
            f"time: {format_when(moment, info.zone)}",
            f"title: {_scalar(title)}",
            f"severity: {_scalar(severity)}",
        ]
        if tag_list:
            front.append(f"tags: [{', '.join(_scalar(t, flow=True) for t in tag_list)}]")
        if source is not None:
            relative, copied = _place_image(root, source)
            front.append(f"image: {_scalar(relative)}")
        if alt is not None:
            front.append(f"alt: {_scalar(' '.join(alt.split()))}")
        if supersedes is not None:
            front.append(f"supersedes: {_scalar(supersedes.strip())}")
        if author is not None and author.strip():
            front.append(f"author: {_scalar(' '.join(author.split()))}")
        path = updates / f"{update_id}.md"
        _write_new(path, ("\n".join([*front, "---", text]) + "\n").encode())
        try:
            hub = load_hub(root)
            if screen:
                _screen(hub, path.relative_to(root).as_posix(), update_id)
        except BaseException as exc:
            path.unlink()
            if copied is not None:
                copied.unlink()
            if edit and isinstance(exc, ContentError):
                _keep_draft(root, update_id, text)
            raise
    return Written(update_id, path, hub)


def _keep_draft(root: Path, update_id: str, text: str) -> None:
    """Keep text typed in the editor when the update is refused, and say where."""
    draft = root / DRAFTS / f"{update_id}.md"
    draft.parent.mkdir(parents=True, exist_ok=True)
    _write(draft, text + "\n")
    click.echo(
        f"Your text is kept in {draft}: fix the problems below and run the command again "
        f"with --body-file {draft} instead of --edit.",
        err=True,
    )


# --- stormhub retract -------------------------------------------------------------------


def update_file(root: Path, update_id: str) -> Path:
    matches = sorted((root / "content" / "updates").rglob(f"{update_id}.md"))
    if not matches:
        raise HubError(f"no update {update_id!r}: use a file name from content/updates/")
    return matches[0]


def mark_retracted(
    root: Path | str, update_id: str, reason: str = "", now: dt.datetime | None = None
) -> Path:
    """Add ``retracted:`` (and ``retraction:``) to an update's front matter.

    The file is rewritten in one step and the whole hub re-checked; on any
    problem the original is put back and the problems are raised.
    """
    root = Path(root).resolve()
    with authoring_lock(root):
        path = update_file(root, update_id)
        original = path.read_text(encoding="utf-8")
        match = FRONT_MATTER.match(original)
        if match is None:
            raise HubError(f"{path.relative_to(root)}: has no front matter: run stormhub check")
        front = yaml.safe_load(match.group(1)) or {}
        if front.get("retracted"):
            raise HubError(f"{update_id} was already retracted at {front['retracted']}")
        stamp = (now or now_utc()).astimezone(dt.UTC).isoformat(timespec="seconds")
        lines = f"retracted: {stamp}\n"
        if reason.strip():
            lines += yaml.safe_dump({"retraction": reason.strip()}, allow_unicode=True, width=10**6)
        end = match.end(1)
        _write(path, original[:end] + lines + original[end:])
        try:
            load_hub(root)
        except BaseException:
            _write(path, original)
            raise
    return path


# --- closures.yaml, edited in place -----------------------------------------------------

# The order keys are written in; a key that is added goes after the nearest one before it.
_KEY_ORDER = ("facility", "id", "location", "status", "from", "until", "note", "alternatives")


@dataclass
class _Entry:
    """One closure entry: where it stands in the file, and each key's lines."""

    index: int
    data: Any
    start: int  # 0-based line of its '-'
    end: int  # one past its last line, not counting blank lines or comments after it
    dash_col: int
    key_col: int
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> [start, end)
    flow_lists: set[str] = field(default_factory=set)
    list_offset: int | None = None  # columns from a key to the '-' of its list items
    comments: dict[str, tuple[int, str]] = field(default_factory=dict)  # '# ...' after a key

    @property
    def facility(self) -> str:
        value = self.data.get("facility")
        return value if isinstance(value, str) else ""

    @property
    def id(self) -> str:
        value = self.data.get("id")
        return value if isinstance(value, str) else slugify(self.facility)


@dataclass
class _ClosuresFile:
    path: Path
    text: str
    lines: list[str]
    entries: list[_Entry]
    empty_flow: tuple[int, int] | None  # where '[]' stands when the file holds an empty list
    newline: str
    list_offset: int  # columns from a key to the '-' of its list items
    separated: bool  # a blank line between entries

    def problem(self, line: int, col: int, message: str) -> ContentError:
        return ContentError([Problem(CLOSURES.as_posix(), line + 1, col + 1, "", message)])


def _is_trailing(line: str, key_col: int) -> bool:
    """Blank, or a comment no deeper than the keys: belongs between entries, not in one."""
    stripped = line.strip()
    if not stripped:
        return True
    return stripped.startswith("#") and len(line) - len(line.lstrip()) <= key_col


def _trim(lines: list[str], start: int, end: int, key_col: int) -> int:
    while end > start + 1 and _is_trailing(lines[end - 1], key_col):
        end -= 1
    return end


def _read_closures(root: Path) -> _ClosuresFile:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    path = root / CLOSURES
    try:
        text = path.read_bytes().decode("utf-8") if path.exists() else ""  # keep \r\n as is
    except UnicodeDecodeError as exc:
        raise ContentError(
            [
                Problem(
                    CLOSURES.as_posix(), 1, 1, "file", f"not UTF-8 ({exc.reason}): save it as UTF-8"
                )
            ]
        ) from None
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    closures = _ClosuresFile(path, text, lines, [], None, newline, 2, True)
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise closures.problem(
            mark.line if mark else 0,
            mark.column if mark else 0,
            f"{exc.problem or exc.context}: fix the YAML first (stormhub check shows it)",
        ) from None
    except YAMLError as exc:
        raise closures.problem(0, 0, f"{exc}: fix the YAML first") from None
    if data is None:
        return closures
    if not isinstance(data, CommentedSeq):
        raise closures.problem(0, 0, "must be a list of entries, each starting with '- '")
    if not data:
        closures.empty_flow = (data.lc.line, data.lc.col)
        return closures
    if data.fa.flow_style():
        raise closures.problem(
            data.lc.line,
            data.lc.col,
            "is one [...] list: stormhub closure edits block lists; write each entry on "
            "its own lines starting with '- facility:'",
        )
    for index, item in enumerate(data):
        line, col = data.lc.item(index)
        if not isinstance(item, CommentedMap) or item.fa.flow_style():
            raise closures.problem(
                line, col, "this entry is not written as 'key: value' lines: rewrite it so"
            )
        start = line
        if not lines[line][:col].rstrip().endswith("-"):
            start = line - 1
            while start > 0 and not lines[start].lstrip().startswith("-"):
                start -= 1
        dash_col = len(lines[start]) - len(lines[start].lstrip())
        closures.entries.append(_Entry(index, item, start, len(lines), dash_col, col))
    for entry, after in zip(closures.entries, closures.entries[1:], strict=False):
        entry.end = after.start
    offsets: Counter[int] = Counter()
    for entry in closures.entries:
        entry.end = _trim(lines, entry.start, entry.end, entry.key_col)
        starts = sorted((entry.data.lc.key(k)[0], str(k)) for k in entry.data)
        for (line, key), nxt in zip(starts, [*starts[1:], (entry.end, "")], strict=True):
            entry.keys[key] = (line, _trim(lines, line, nxt[0], entry.key_col))
            value = entry.data[key]
            token = (entry.data.ca.items.get(key) or [None] * 3)[2]
            if (
                not isinstance(value, CommentedSeq)
                and token is not None
                and token.start_mark.line == line
            ):
                entry.comments[key] = (token.column, lines[line][token.column :].rstrip("\r\n"))
            if isinstance(value, CommentedSeq) and value:
                if value.fa.flow_style():
                    entry.flow_lists.add(key)
                else:
                    item_line, item_col = value.lc.item(0)
                    dash = lines[item_line][:item_col].rstrip()
                    if dash.endswith("-"):
                        entry.list_offset = max(0, len(dash) - 1 - entry.key_col)
                        offsets[entry.list_offset] += 1
    if offsets:
        closures.list_offset = offsets.most_common(1)[0][0]
    if len(closures.entries) > 1:
        first, second = closures.entries[:2]
        closures.separated = any(not line.strip() for line in lines[first.end : second.start])
    return closures


def _render_key(key: str, value: str | list[str], flow: bool, offset: int) -> list[str]:
    """``key: value`` lines at column 0 (a list in block style unless *flow*)."""
    if isinstance(value, str):
        return [f"{key}: {_scalar(value)}"]
    if flow:
        return [f"{key}: [{', '.join(_scalar(v, flow=True) for v in value)}]"]
    return [f"{key}:", *(f"{' ' * offset}- {_scalar(v)}" for v in value)]


def _edit_entry(
    closures: _ClosuresFile, entry: _Entry, changes: dict[str, str | list[str] | None]
) -> str:
    """The file's text with *changes* made to *entry* (None removes a key)."""
    nl = closures.newline
    edits: list[tuple[int, int, int, list[str]]] = []  # (start, kind, end, lines)
    inserts: dict[int, list[str]] = {}
    pad = " " * entry.key_col
    for key in sorted(changes, key=_KEY_ORDER.index):
        value = changes[key]
        if isinstance(value, list) and not value:
            value = None
        if key in entry.keys:
            start, end = entry.keys[key]
            if value is None:
                if start == entry.start:
                    raise closures.problem(
                        start,
                        entry.key_col,
                        f"{key}: shares its line with '-': move it below the first key by "
                        "hand, then run this again",
                    )
                edits.append((start, 1, end, []))
                continue
            offset = closures.list_offset if entry.list_offset is None else entry.list_offset
            rendered = _render_key(key, value, key in entry.flow_lists, offset)
            first = closures.lines[start][: entry.key_col] + rendered[0]
            if key in entry.comments and len(rendered) == 1:  # keep its comment
                column, comment = entry.comments[key]
                first += " " * max(1, column - len(first)) + comment
            lines = [first + nl] + [pad + r + nl for r in rendered[1:]]
            edits.append((start, 1, end, lines))
        elif value is not None:
            before = [k for k in _KEY_ORDER[: _KEY_ORDER.index(key)] if k in entry.keys]
            at = entry.keys[before[-1]][1] if before else entry.end
            offset = closures.list_offset if entry.list_offset is None else entry.list_offset
            rendered = _render_key(key, value, False, offset)
            inserts.setdefault(at, []).extend(pad + r + nl for r in rendered)
    edits += [(at, 0, at, lines) for at, lines in inserts.items()]
    lines = list(closures.lines)
    for start, _kind, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if start > 0 and start == len(lines) and not lines[-1].endswith("\n"):
            lines[-1] += nl
        lines[start:end] = new
    return "".join(lines)


def _append_entry(closures: _ClosuresFile, values: dict[str, str | list[str]]) -> str:
    """The file's text with a new entry after the last one (or in place of ``[]``)."""
    nl = closures.newline
    last = closures.entries[-1] if closures.entries else None
    dash_col = last.dash_col if last else 0
    key_col = last.key_col if last else 2
    rendered: list[str] = []
    for key in sorted(values, key=_KEY_ORDER.index):
        rendered += _render_key(key, values[key], False, closures.list_offset)
    entry = [
        " " * dash_col + "-" + " " * (key_col - dash_col - 1) + rendered[0] + nl,
        *(" " * key_col + r + nl for r in rendered[1:]),
    ]
    lines = list(closures.lines)
    if closures.empty_flow is not None:
        line, col = closures.empty_flow
        rest = lines[line][:col] + lines[line][col:].replace("[]", "", 1)
        lines[line : line + 1] = ([rest] if rest.strip() else []) + entry
        return "".join(lines)
    at = last.end if last else len(lines)
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += nl
    gap = [nl] if at > 0 and closures.separated and lines[at - 1].strip() else []
    lines[at:at] = gap + entry
    return "".join(lines)


def _file_time(value: Any, zone: ZoneInfo) -> dt.datetime | None:
    """A time as closures.yaml holds it, or None when it cannot be read (check reports it)."""
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    if not isinstance(value, str):
        return None
    try:
        return parse_when(value, zone, now_utc(), "-")
    except click.BadParameter:
        return None


def _find_closure(closures: _ClosuresFile, name: str) -> _Entry | None:
    wanted = " ".join(name.split())
    by_id = [e for e in closures.entries if e.id in (wanted, slugify(wanted))]
    by_name = [e for e in closures.entries if e.facility.casefold() == wanted.casefold()]
    found = by_id or by_name
    if len(found) > 1:
        ids = ", ".join(e.id for e in found)
        raise click.BadParameter(
            f"{len(found)} closures are named {wanted!r}: give the id of one ({ids})",
            param_hint="FACILITY",
        )
    return found[0] if found else None


def _likeness(query: str, name: str) -> float:
    """How alike *query* is to *name* or to any run of as many words in it (0 to 1)."""
    query, words = query.casefold(), name.casefold().split()
    size = len(query.split())
    runs = [" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))]
    return max(
        difflib.SequenceMatcher(None, query, run).ratio() for run in [*runs, name.casefold()]
    )


def _closest(closures: _ClosuresFile, name: str, cutoff: float) -> _Entry | None:
    scored = [(_likeness(name, e.facility), e) for e in closures.entries if e.facility]
    scored += [(_likeness(name, e.id), e) for e in closures.entries]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    return best[1] if best[0] >= cutoff else None


def _unknown(closures: _ClosuresFile, name: str, fix: str) -> click.BadParameter:
    close = _closest(closures, name, 0.75)
    hint = f"did you mean {close.facility!r} (id {close.id})? " if close else ""
    return click.BadParameter(
        f"no closure {name!r} in {CLOSURES.as_posix()}: {hint}{fix}", param_hint="FACILITY"
    )


def _save_closures(root: Path, closures: _ClosuresFile, text: str, screen: bool) -> Hub:
    """Write the edited closures.yaml and load the hub; put the original back on a problem."""
    existed = closures.path.exists()
    closures.path.parent.mkdir(parents=True, exist_ok=True)
    _write(closures.path, text)
    try:
        hub = load_hub(root)
        if screen:
            _screen(hub, CLOSURES.as_posix())
        return hub
    except BaseException:
        if existed:
            _write(closures.path, closures.text)
        else:
            closures.path.unlink()
        raise


def set_closure(
    root: Path | str,
    facility: str,
    *,
    status: ClosureStatus | str | None = None,
    from_: str | None = None,
    until: str | None = None,
    note: str | None = None,
    alternatives: Sequence[str] | None = None,
    location: str | None = None,
    new: bool = False,
    screen: bool = False,
    now: dt.datetime | None = None,
) -> Written:
    """Update the closure of *facility* (its name, any case, or its id), or add one.

    Only what is given changes. A change of status starts a new period: ``from`` becomes
    now (or *from_*), and a change to ``open`` drops ``until``. An empty *note*, or
    *alternatives* that are all empty, removes them.

    Args:
        root: the hub folder.
        facility: the facility's name or id; a name not found adds a new entry (when
            it is close to an existing name, only with *new*).
        status: closed, limited, diverting or open; needed for a new entry.
        from_: when it starts: ``now`` or a date and time (the hub's time or ISO).
        until: when it ends, in the same forms.
        note: one line for the public.
        alternatives: what to use instead; replaces the list.
        location: the key of the place in a gbp channel's ``locations:``.
        new: add a new entry even though the name is close to an existing one.
        screen: also refuse the change if the privacy guard would stop it from being
            published (for ``--publish``).
        now: the time ``now`` means (default: the clock).

    Returns:
        The closure's id, closures.yaml and the hub as loaded after the change.

    Raises:
        ContentError: the edited file (or the hub) has problems; the original was kept.
        click.BadParameter: an option cannot be read, or the facility is ambiguous.
    """
    root = Path(root).resolve()
    info = _hub_info(root)
    moment = now or now_utc()
    status = ClosureStatus(status) if status is not None else None
    start = parse_when(from_, info.zone, moment, "--from") if from_ is not None else None
    end = parse_when(until, info.zone, moment, "--until") if until is not None else None
    changes: dict[str, str | list[str] | None] = {}
    if status is not None:
        changes["status"] = status.value
    if start is not None:
        changes["from"] = format_when(start, info.zone)
    if end is not None:
        changes["until"] = format_when(end, info.zone)
    if note is not None:
        changes["note"] = " ".join(note.split()) or None
    if alternatives is not None:
        changes["alternatives"] = [" ".join(a.split()) for a in alternatives if a.strip()]
    if location is not None:
        changes["location"] = location.strip() or None
    with authoring_lock(root):
        closures = _read_closures(root)
        entry = None if new else _find_closure(closures, facility)
        if entry is None:
            name = " ".join(facility.split())
            if not new and _closest(closures, name, 0.85) is not None:
                raise _unknown(closures, name, "or pass --new to add it as a new closure")
            if status is None:
                raise click.UsageError(
                    f"{name!r} is a new closure: give its --status "
                    f"({', '.join(s.value for s in ClosureStatus)})"
                )
            values: dict[str, str | list[str]] = {
                "facility": name,
                "from": format_when(start or moment, info.zone),
            }
            values.update({k: v for k, v in changes.items() if v is not None})
            text = _append_entry(closures, values)
            entry_id = slugify(name)
            action = "added"
        else:
            if not changes:
                raise click.UsageError(
                    "nothing to change: give --status, --from, --until, --note, "
                    "--alternative or --location"
                )
            if status is not None and entry.data.get("status") != status.value:
                changes.setdefault("from", format_when(moment, info.zone))
                if status is ClosureStatus.OPEN:
                    changes.setdefault("until", None)
            _check_period(entry, changes, info.zone)
            text = _edit_entry(closures, entry, changes)
            entry_id, action = entry.id, "updated"
        if text == closures.text:
            return Written(entry_id, closures.path, load_hub(root), "unchanged")
        hub = _save_closures(root, closures, text, screen)
    return Written(entry_id, closures.path, hub, action)


def _check_period(
    entry: _Entry, changes: dict[str, str | list[str] | None], zone: ZoneInfo
) -> None:
    """Refuse an end before the start, naming the options that set them."""
    start = changes["from"] if "from" in changes else entry.data.get("from")
    end = changes["until"] if "until" in changes else entry.data.get("until")
    began, ended = _file_time(start, zone), _file_time(end, zone)
    if began is None or ended is None or ended > began:
        return
    option = "--until" if "until" in changes else "--from"
    raise click.BadParameter(
        f"the closure would end ({format_when(ended, zone)}) before it starts "
        f"({format_when(began, zone)}): give a later --until or an earlier --from",
        param_hint=option,
    )


def clear_closure(
    root: Path | str,
    facility: str,
    *,
    at: str | None = None,
    note: str | None = None,
    screen: bool = False,
    now: dt.datetime | None = None,
) -> Written:
    """Mark the closure of *facility* over: reopened, shown as open since *at*.

    The entry stays (the public sees "Reopened", and Google's special hours for its
    location are cleared at the next fan-out): ``status: open``, ``from`` the reopening
    time, and ``until``, the old note and the alternatives removed, as they describe the
    closure; *note* gives the entry a new one. Without *at* the time is now, or the
    closure's ``until`` when that has already passed.

    Raises:
        click.BadParameter: no such closure, or *at* cannot be read or is before it began.
        HubError: the facility is already open.
        ContentError: the edited file (or the hub) has problems; the original was kept.
    """
    root = Path(root).resolve()
    info = _hub_info(root)
    moment = now or now_utc()
    when = parse_when(at, info.zone, moment, "--at") if at is not None else None
    with authoring_lock(root):
        closures = _read_closures(root)
        entry = _find_closure(closures, facility)
        if entry is None:
            raise _unknown(
                closures, facility, "use a facility name or id from that file (stormhub check)"
            )
        status = entry.data.get("status")
        if status == ClosureStatus.OPEN.value and "until" not in entry.keys:
            raise HubError(
                f"{entry.facility} is already open (since {entry.data.get('from')}): "
                "nothing to clear"
            )
        if when is None:
            when = moment.replace(second=0, microsecond=0)
            ended = _file_time(entry.data.get("until"), info.zone)
            if ended is not None and ended < when:
                when = ended
        began = _file_time(entry.data.get("from"), info.zone)
        if began is not None and when <= began:
            raise click.BadParameter(
                f"{format_when(when, info.zone)} is not after the closure began "
                f"({format_when(began, info.zone)}): give a later time",
                param_hint="--at",
            )
        changes: dict[str, str | list[str] | None] = {
            "status": ClosureStatus.OPEN.value,
            "from": format_when(when, info.zone),
            "until": None,
            "note": " ".join(note.split()) if note and note.strip() else None,
            "alternatives": None,
        }
        text = _edit_entry(closures, entry, changes)
        hub = _save_closures(root, closures, text, screen)
    return Written(entry.id, closures.path, hub, "reopened")


# --- --publish --------------------------------------------------------------------------


def _screen(hub: Hub, rel: str, update_id: str | None = None) -> None:
    """Raise what the privacy guard would stop *rel* from publishing with (before it is kept).

    Only *rel* is scanned (the update *update_id*, or closures.yaml), so the cost does
    not grow with the number of updates; the publish then checks everything.
    """
    from hub.model import Hub
    from hub.privacy import review

    fields = {name: getattr(hub, name) for name in Hub.model_fields}
    fields["updates"] = tuple(u for u in hub.updates if u.id == update_id)
    fields["tips"] = ()
    problems = [p for p in review(Hub.model_construct(**fields)).problems if p.path == rel]
    if problems:
        raise ContentError(problems)


def publish_now(
    root: Path | str, ledger: Path | None, by: str | None, also: str | None = None
) -> int:
    """Run ``stormhub publish`` (:func:`hub.publish.run_publish`); print *also* after it.

    Returns:
        The publish's exit code.
    """
    from hub.publish import run_publish

    code = run_publish(Path(root).resolve(), by=by, ledger=ledger)
    if also:
        click.echo(also)
    return code
