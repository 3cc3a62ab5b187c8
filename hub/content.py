"""Load a hub folder into a :class:`~hub.model.Hub`, reporting every problem at once.

Every YAML value keeps the line and column it came from, so a validation error
points at the offending key (``content/updates/0900.md:4:1: severity: ...``),
not at the top of the file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ValidationError

from hub.errors import ContentError, Problem
from hub.model import (
    Closure,
    Contact,
    FieldProblem,
    Hub,
    HubInfo,
    Resource,
    Tip,
    Update,
    slugify,
)
from hub.text import markdown_to_html

Loc = tuple[str | int, ...]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's where present) that leaves timestamps as text for the model."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Source:
    """A parsed YAML document and where each key and item of it stands in the file."""

    path: str
    data: Any = None
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    line_offset: int = 0

    def where(self, loc: Loc) -> tuple[int, int]:
        """Line and column (1-based) of the longest known prefix of *loc*."""
        for end in range(len(loc), -1, -1):
            mark = self.marks.get(loc[:end])
            if mark is not None:
                return mark[0] + self.line_offset, mark[1]
        return 1 + self.line_offset, 1


class _Collector:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def add(self, src: Source, loc: Loc, field_name: str, message: str) -> None:
        line, col = src.where(loc)
        self.problems.append(Problem(src.path, line, col, field_name, message))


def _walk(node: yaml.Node, loc: Loc, src: Source, out: _Collector) -> None:
    src.marks.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            key_loc = (*loc, key)
            if key in seen:
                src.marks[(*key_loc, "#dup")] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                out.add(
                    src,
                    (*key_loc, "#dup"),
                    _field(key_loc),
                    f"key {key!r} appears twice: keep only one",
                )
                continue
            seen.add(key)
            src.marks[key_loc] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, key_loc, src, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), src, out)


def parse_yaml(text: str, src: Source, out: _Collector) -> bool:
    """Fill *src* from YAML *text*; on a syntax error record it and return False."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                src.data = None
                return True
            _walk(node, (), src, out)
            src.data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 if mark else 1) + src.line_offset
        col = mark.column + 1 if mark else 1
        reason = exc.problem or exc.context or "invalid YAML"
        hint = "check indentation and quoting"
        if reason.startswith("mapping values are not allowed"):
            hint = 'a value that contains ": " must be quoted, e.g. title: "Roads: what is open"'
        out.problems.append(Problem(src.path, line, col, "yaml", f"{reason}; {hint}"))
        return False
    except yaml.YAMLError as exc:
        out.problems.append(Problem(src.path, 1 + src.line_offset, 1, "yaml", str(exc)))
        return False
    return True


def _field(loc: Loc) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith("#"))) or "-"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that holds the last key of *loc*, for listing allowed keys."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _first_model(info.annotation)
    return current


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType or origin in (tuple, list):
        for arg in typing.get_args(annotation):
            found = _first_model(arg)
            if found is not None:
                return found
    return None


def _alias_of(model: type[BaseModel] | None, name: str) -> str:
    if model is None:
        return name
    info = model.model_fields.get(name)
    return info.alias if info is not None and info.alias else name


def _allowed_keys(model: type[BaseModel] | None, hidden: frozenset[str]) -> list[str]:
    if model is None:
        return []
    return [(info.alias or name) for name, info in model.model_fields.items() if name not in hidden]


def _validate(
    model: type[BaseModel],
    data: Any,
    src: Source,
    out: _Collector,
    context: dict[str, Any],
    *,
    prefix: Loc = (),
    hidden: frozenset[str] = frozenset(),
) -> Any:
    """Validate *data* against *model*; record each error with its location."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc: Loc = tuple(err["loc"])
            owner = _model_at(model, loc[:-1])
            if loc:
                last = loc[-1]
                if isinstance(last, str) and owner is not None:
                    loc = (*loc[:-1], _alias_of(owner, last))
            kind = err["type"]
            message = err["msg"]
            error = (err.get("ctx") or {}).get("error")
            if isinstance(error, FieldProblem):
                loc = (*loc, error.field)
                message = str(error)
            elif kind == "extra_forbidden":
                allowed = _allowed_keys(owner, hidden)
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "remove it"
                message = f"unknown key {loc[-1]!r}: {hint} (allowed: {', '.join(allowed)})"
            elif kind == "missing":
                message = f"required key {loc[-1]!r} is missing: add it"
            elif kind in {"tuple_type", "list_type"}:
                message = f"expected a list, e.g. [{_short(err.get('input'))}]: put the items in []"
            elif message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
            else:
                message = f"{message} (got {_short(err.get('input'))})"
            out.add(src, (*prefix, *loc), _field(loc), message)
        return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- Markdown safety -------------------------------------------------------------

_DANGEROUS_TAGS = frozenset(
    {
        "script",
        "iframe",
        "object",
        "embed",
        "style",
        "form",
        "input",
        "button",
        "link",
        "meta",
        "base",
        "frame",
        "frameset",
        "applet",
        "svg",
        "math",
        "template",
    }
)
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "poster", "srcset", "background"})


class _HtmlScan(HTMLParser):
    def __init__(self, own_host: str) -> None:
        super().__init__(convert_charrefs=True)
        self.own_host = own_host
        self.findings: list[tuple[str, str]] = []  # (needle to find the line, message)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DANGEROUS_TAGS:
            self.findings.append(
                (f"<{tag}", f"raw HTML <{tag}> is not allowed: remove it, use plain Markdown")
            )
        for name, value in attrs:
            if name.startswith("on"):
                self.findings.append(
                    (name, f"HTML event handler {name}= is not allowed: remove it")
                )
            elif name in _URL_ATTRS and value:
                url = value.strip()
                scheme = urlsplit(url).scheme.lower()
                if scheme in {"javascript", "vbscript", "data"}:
                    self.findings.append(
                        (url[:20], f"{scheme}: links are not allowed: link to a web page instead")
                    )
                elif tag in {"img", "video", "audio", "source"} and urlsplit(url).netloc:
                    host = urlsplit(url).hostname or ""
                    if host != self.own_host:
                        self.findings.append(
                            (
                                url[:40],
                                f"image from another site ({host}) would make every reader's "
                                "browser contact it: save the file in content/images/ "
                                "and link it from there",
                            )
                        )


def scan_markdown(text: str, own_host: str) -> list[tuple[int, int, str]]:
    """Unsafe HTML in Markdown *text*, as (line, col, message), lines 1-based in *text*."""
    html = markdown_to_html(text)
    scan = _HtmlScan(own_host)
    scan.feed(html)
    scan.close()
    lines = text.splitlines() or [""]
    found: list[tuple[int, int, str]] = []
    for needle, message in scan.findings:
        line, col = 1, 1
        for number, content in enumerate(lines, start=1):
            at = content.lower().find(needle.lower())
            if at >= 0:
                line, col = number, at + 1
                break
        found.append((line, col, message))
    return found


# --- Files -------------------------------------------------------------------------

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.S | re.M)


@dataclass
class _Doc:
    src: Source
    body: str
    body_line: int  # 1-based line where the body starts


def _read(path: Path, out: _Collector) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        out.problems.append(
            Problem(out.rel(path), 1, 1, "file", f"not UTF-8 ({exc.reason}): save it as UTF-8")
        )
    except OSError as exc:
        out.problems.append(Problem(out.rel(path), 1, 1, "file", exc.strerror or str(exc)))
    return None


def _front_matter(path: Path, out: _Collector) -> _Doc | None:
    text = _read(path, out)
    if text is None:
        return None
    src = Source(out.rel(path))
    match = _FRONT.match(text)
    if not match:
        out.problems.append(
            Problem(
                src.path,
                1,
                1,
                "front matter",
                "missing: start the file with a '---' line, the YAML fields, then '---'",
            )
        )
        return None
    src.line_offset = 1
    if not parse_yaml(match.group(1), src, out):
        return None
    if src.data is None:
        src.data = {}
    if not isinstance(src.data, dict):
        out.add(src, (), "front matter", "must be a mapping of key: value lines")
        return None
    body_line = text[: match.end()].count("\n") + 1
    return _Doc(src, text[match.end() :], body_line)


def _yaml_file(path: Path, out: _Collector, *, required: bool) -> Source | None:
    if not path.exists():
        if required:
            out.problems.append(
                Problem(out.rel(path), 1, 1, "file", "missing: create it (see the sample hub)")
            )
        return None
    text = _read(path, out)
    if text is None:
        return None
    src = Source(out.rel(path))
    return src if parse_yaml(text, src, out) else None


def _stem_id(path: Path, src: Source, out: _Collector) -> str | None:
    stem = path.stem
    if stem != slugify(stem) or stem.startswith("-"):
        out.add(
            src,
            (),
            "id",
            f"file name {path.name!r} is not a valid id: rename it to {slugify(stem)}{path.suffix}",
        )
        return None
    return stem


@dataclass
class _Loaded:
    items: list[Any] = field(default_factory=list)
    where: dict[str, tuple[Source, Loc]] = field(default_factory=dict)


def _markdown_items(
    folder: Path,
    model: type[BaseModel],
    out: _Collector,
    context: dict[str, Any],
    own_host: str,
) -> _Loaded:
    loaded = _Loaded()
    if not folder.is_dir():
        return loaded
    hidden = frozenset({"id", "body"})
    for path in sorted(folder.rglob("*.md")):
        doc = _front_matter(path, out)
        if doc is None:
            continue
        if path.stem in loaded.where:
            other = loaded.where[path.stem][0].path
            out.add(
                doc.src,
                (),
                "id",
                f"duplicate id {path.stem!r}: {other} has the same file name; rename one",
            )
            continue
        data = dict(doc.src.data)
        for reserved in ("id", "body"):
            if reserved in data:
                out.add(
                    doc.src,
                    (reserved,),
                    reserved,
                    f"{reserved} comes from the file "
                    + ("name" if reserved == "id" else "text below the front matter")
                    + ": remove this key",
                )
                data.pop(reserved)
        item_id = _stem_id(path, doc.src, out)
        body = doc.body.strip()
        doc.src.marks[("body",)] = (doc.body_line - doc.src.line_offset, 1)
        for line, col, message in scan_markdown(doc.body, own_host):
            out.problems.append(
                Problem(doc.src.path, doc.body_line + line - 1, col, "body", message)
            )
        if item_id is None:
            continue
        data["id"] = item_id
        data["body"] = body
        item = _validate(model, data, doc.src, out, context, hidden=hidden)
        if item is not None:
            loaded.items.append(item)
        loaded.where[item_id] = (doc.src, ())
    return loaded


def _list_items(
    path: Path,
    model: type[BaseModel],
    name_key: str,
    out: _Collector,
    context: dict[str, Any],
) -> _Loaded:
    loaded = _Loaded()
    src = _yaml_file(path, out, required=False)
    if src is None or src.data is None:
        return loaded
    if not isinstance(src.data, list):
        out.add(src, (), "-", "must be a list of entries, each starting with '- '")
        return loaded
    for index, entry in enumerate(src.data):
        loc: Loc = (index,)
        if not isinstance(entry, dict):
            out.add(src, loc, "-", "each entry must be a mapping of key: value lines")
            continue
        data = dict(entry)
        if "id" not in data and isinstance(data.get(name_key), str):
            data["id"] = slugify(data[name_key])
        item = _validate(model, data, src, out, context, prefix=loc)
        if item is None:
            continue
        if item.id in loaded.where:
            out.add(
                src,
                loc,
                "id",
                f"duplicate id {item.id!r} (also at line {src.where(loaded.where[item.id][1])[0]}):"
                " add a distinct id: to one of them",
            )
            continue
        loaded.items.append(item)
        loaded.where[item.id] = (src, loc)
    return loaded


def site_url_of(root: Path, out: _Collector) -> str | None:
    """``site_url`` from the hub's ``mkdocs.yml`` (the one place the public URL is set)."""
    path = root / "mkdocs.yml"
    if not path.exists():
        out.problems.append(
            Problem(out.rel(path), 1, 1, "file", "missing: the hub needs mkdocs.yml with site_url")
        )
        return None
    text = _read(path, out)
    if text is None:
        return None
    # mkdocs.yml may hold !!python/name tags; only its site_url matters here.
    match = re.search(r"^site_url:[ \t]*['\"]?([^'\"#\s]+)", text, re.M)
    if not match:
        out.problems.append(
            Problem(
                out.rel(path),
                1,
                1,
                "site_url",
                "missing: add site_url: https://your-hub.example.org/",
            )
        )
        return None
    url = match.group(1)
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc:
        line = text[: match.start()].count("\n") + 1
        out.problems.append(
            Problem(out.rel(path), line, 1, "site_url", f"{url!r} is not an absolute http(s) URL")
        )
        return None
    return url


def _check_image(update: Update, src: Source, root: Path, out: _Collector) -> None:
    if not update.image:
        return
    image = update.image
    if urlsplit(image).scheme or image.startswith("/") or ".." in Path(image).parts:
        out.add(
            src,
            ("image",),
            "image",
            f"{image!r} must be a file in content/images/, e.g. images/flooding.jpg",
        )
        return
    if not (root / "content" / image).is_file():
        out.add(
            src,
            ("image",),
            "image",
            f"content/{image} does not exist: add the file or fix the path",
        )


def _zone_or_utc(src: Source | None) -> ZoneInfo:
    """The hub's zone even when hub.yaml has other problems; UTC (quietly) if it has none.

    The hub.yaml problem is reported already; reading times in UTC meanwhile
    avoids one derived error per update.
    """
    name = src.data.get("timezone") if src is not None and isinstance(src.data, dict) else None
    try:
        return ZoneInfo(str(name))
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def load_hub(root: Path | str) -> Hub:
    """Load and check the hub at *root*.

    Returns:
        The validated hub.

    Raises:
        ContentError: listing every problem found, each with file, line and column.

    """
    root = Path(root).resolve()
    out = _Collector(root)
    content = root / "content"
    site_url = site_url_of(root, out)
    own_host = urlsplit(site_url).hostname or "" if site_url else ""

    info_src = _yaml_file(content / "hub.yaml", out, required=True)
    info: HubInfo | None = None
    if info_src is not None:
        info = _validate(HubInfo, info_src.data, info_src, out, {})
    context: dict[str, Any] = {
        "zone": info.zone if info else _zone_or_utc(info_src),
        "country": info.country if info else "US",
    }

    updates = _markdown_items(content / "updates", Update, out, context, own_host)
    tips = _markdown_items(content / "tips", Tip, out, context, own_host)
    closures = _list_items(content / "closures.yaml", Closure, "facility", out, context)
    contacts = _list_items(content / "contacts.yaml", Contact, "name", out, context)
    resources = _list_items(content / "resources.yaml", Resource, "title", out, context)

    for closure in closures.items:
        src, loc = closures.where[closure.id]
        for line, col, message in scan_markdown(closure.note, own_host):
            line0, col0 = src.where((*loc, "note"))
            out.problems.append(Problem(src.path, line0 + line - 1, col0 + col, "note", message))
    for update in updates.items:
        src, _ = updates.where[update.id]
        _check_image(update, src, root, out)
        if update.supersedes and update.supersedes not in updates.where:
            close = difflib.get_close_matches(update.supersedes, list(updates.where), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "use the file name of that update"
            out.add(
                src,
                ("supersedes",),
                "supersedes",
                f"no update has id {update.supersedes!r}: {hint}",
            )
    _stray_files(content / "updates", out)
    _stray_files(content / "tips", out)

    if out.problems or info is None or site_url is None:
        if not out.problems:  # pragma: no cover - every None above records a problem
            out.problems.append(Problem("content/hub.yaml", 1, 1, "", "could not be read"))
        raise ContentError(out.problems)
    return Hub(
        info=info,
        site_url=site_url,
        updates=tuple(updates.items),
        closures=tuple(closures.items),
        contacts=tuple(contacts.items),
        tips=tuple(tips.items),
        resources=tuple(resources.items),
    )


def _stray_files(folder: Path, out: _Collector) -> None:
    """Files in an updates or tips folder that would be silently ignored."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".md" and not path.name.startswith("."):
            out.problems.append(
                Problem(
                    out.rel(path),
                    1,
                    1,
                    "file",
                    f"is not read: name it {path.stem}.md, or move it to content/images/",
                )
            )


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
