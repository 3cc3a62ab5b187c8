"""Load a hub folder into a :class:`~hub.model.Hub`, reporting every problem at once.

Every YAML value keeps the line and column it came from (:mod:`hub.located`), so
a validation error points at the offending key
(``content/updates/0900.md:4:1: severity: ...``), not at the top of the file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from hub.errors import ContentError, Problem
from hub.i18n import DIGEST_LENGTH, FIELDS, LIST_FIELDS, REQUIRED, page_digest
from hub.located import Collector, Loc, Source, parse_yaml, read_text, validate, yaml_file
from hub.memo import MISSING, Memo, bulk
from hub.model import (
    Closure,
    Contact,
    Hub,
    HubInfo,
    Resource,
    Tip,
    Translation,
    TranslationKind,
    Update,
    slugify,
)
from hub.text import markdown_to_html

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

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.S | re.M)


@dataclass
class _Doc:
    src: Source
    body: str
    body_line: int  # 1-based line where the body starts


def _front_matter(path: Path, out: Collector) -> _Doc | None:
    text = read_text(path, out)
    if text is None:
        return None
    src = Source(out.rel(path))
    match = FRONT_MATTER.match(text)
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


def _stem_id(path: Path, src: Source, out: Collector) -> str | None:
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


def files_under(folder: Path) -> list[tuple[str, ...]]:
    """Every file below *folder*, as path parts relative to it, sorted as paths sort.

    ``os.walk`` rather than ``Path.rglob``: thousands of updates make pathlib's
    per-path objects cost more than the reading itself.
    """
    found: list[tuple[str, ...]] = []
    for top, _dirs, names in os.walk(folder):
        base = Path(top).relative_to(folder).parts
        found += [(*base, name) for name in names]
    found.sort()
    return found


@dataclass
class _MarkdownFile:
    """What one Markdown file yields on its own (the memoised unit of :func:`load_hub`)."""

    src: Source | None  # None: no usable front matter
    item_id: str | None  # None: the file name is not a valid id
    item: Any  # the validated model, or None
    problems: list[Problem]


def _markdown_file(
    path: Path, model: type[BaseModel], root: Path, context: dict[str, Any], own_host: str
) -> _MarkdownFile:
    out = Collector(root)
    doc = _front_matter(path, out)
    if doc is None:
        return _MarkdownFile(None, None, None, out.problems)
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
        out.problems.append(Problem(doc.src.path, doc.body_line + line - 1, col, "body", message))
    item = None
    if item_id is not None:
        data["id"] = item_id
        data["body"] = body
        item = validate(model, data, doc.src, out, context, hidden=frozenset({"id", "body"}))
    doc.src.data = None  # validated: only the positions (marks) are wanted from here on
    if isinstance(item, Update):
        _ = item.revision  # a cached hash of the whole update: kept (and pickled) with it
    return _MarkdownFile(doc.src, item_id, item, out.problems)


def _markdown_items(
    folder: Path,
    listed: list[tuple[str, ...]],
    model: type[BaseModel],
    out: Collector,
    context: dict[str, Any],
    own_host: str,
    memo: Memo,
) -> _Loaded:
    loaded = _Loaded()
    if not folder.is_dir():
        return loaded
    settings = memo.key("markdown", model.__name__, own_host, context["zone"].key,
                        context["country"])  # fmt: skip
    prefix, base = out.rel(folder), str(folder)
    for parts in listed:  # (plain strings: thousands of files, few of them new)
        name = parts[-1]
        if not name.endswith(".md") or _split_language(name) is not None:
            continue  # translations (<id>.<language>.md) are read by _translation_files
        rel = "/".join((prefix, *parts))
        where = os.path.join(base, *parts)
        key = memo.file_key(where, settings, rel)  # None: unreadable, reported below
        found = memo.get(key) if key is not None else MISSING
        if isinstance(found, _MarkdownFile):
            result = found
        else:
            result = _markdown_file(Path(where), model, out.root, context, own_host)
            if key is not None:
                memo.put(key, result)
        if result.src is None:
            out.problems += result.problems
            continue
        stem = name[:-3]
        if stem in loaded.where:
            other = loaded.where[stem][0].path
            out.add(
                result.src,
                (),
                "id",
                f"duplicate id {stem!r}: {other} has the same file name; rename one",
            )
            continue
        out.problems += result.problems
        if result.item_id is None:
            continue
        if result.item is not None:
            loaded.items.append(result.item)
        loaded.where[result.item_id] = (result.src, ())
    return loaded


def _list_items(
    path: Path,
    model: type[BaseModel],
    name_key: str,
    out: Collector,
    context: dict[str, Any],
    kind: str,
    translations: list[Translation],
) -> _Loaded:
    loaded = _Loaded()
    src = yaml_file(path, out, required=False)
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
        found = _translation_block(kind, "", data, src, loc, out, context["languages"])
        if "id" not in data and isinstance(data.get(name_key), str):
            data["id"] = slugify(data[name_key])
        item = validate(model, data, src, out, context, prefix=loc)
        if item is None:
            continue
        translations += [t.model_copy(update={"item": item.id}) for t in found]
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


# --- Translations (hub.i18n) ----------------------------------------------------------

_DIGEST = re.compile(rf"^[a-z]{{2,3}}(?:-[A-Za-z0-9]{{2,8}})*-[0-9a-f]{{{DIGEST_LENGTH}}}$")


def _split_language(name: str) -> tuple[str, str] | None:
    """``("x", "es")`` for a translation file name ``x.es.md``; None for ``x.md``."""
    stem = name[:-3]
    base, dot, language = stem.rpartition(".")
    return (base, language) if dot and base else None


def _translation_fields(
    kind: str,
    item_id: str,
    language: str,
    data: dict[str, Any],
    src: Source,
    loc: Loc,
    out: Collector,
    languages: tuple[str, ...],
) -> Translation | None:
    """One language's block of translated fields (front matter or a YAML mapping)."""
    what = "translations" if loc else "file"
    if language == languages[0]:
        out.add(
            src,
            loc,
            what,
            f"{language} is the hub's default language: its text is the item itself; "
            "translations are for the other languages in hub.yaml",
        )
        return None
    if language not in languages:
        out.add(
            src,
            loc,
            what,
            f"{language!r} is not in hub.yaml's languages ({', '.join(languages)}): "
            "add it there, or fix the language code",
        )
        return None
    allowed = FIELDS[kind]
    fields: dict[str, str | tuple[str, ...]] = {}
    ok = True
    for name, value in data.items():
        if name == "source":
            continue
        if name not in allowed:
            out.add(
                src,
                (*loc, name),
                str(name),
                f"is not translated: {_article(kind)} {kind} translates {', '.join(allowed)}",
            )
            ok = False
        elif name in LIST_FIELDS:
            if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
                fields[name] = tuple(v.strip() for v in value)
            else:
                out.add(
                    src,
                    (*loc, name),
                    str(name),
                    "must be a list of texts, one per line starting with '- ', "
                    "in the same order as the original's",
                )
                ok = False
        elif isinstance(value, str) and value.strip():
            fields[name] = value.strip()
        else:
            out.add(src, (*loc, name), str(name), "must be text (not empty)")
            ok = False
    for name in REQUIRED[kind]:
        if name not in fields and ok:
            out.add(
                src,
                loc,
                name,
                f"missing: the {language} translation of this {kind} must give its {name}",
            )
            ok = False
    source = data.get("source")
    if source is not None and not (isinstance(source, str) and _DIGEST.match(source)):
        out.add(
            src,
            (*loc, "source"),
            "source",
            f"{source!r} is not a source digest such as en-3f9a0c1e: copy the one "
            "`stormhub check` gives for the text translated (leave source: out to see it)",
        )
        ok = False
    if not ok:
        return None
    line, _ = src.where(loc)
    return Translation(
        kind=kind,
        item=item_id,
        language=language,
        source=source,
        fields=fields,
        path=src.path,
        line=line,
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _translation_block(
    kind: str,
    item_id: str,
    data: dict[str, Any],
    src: Source,
    loc: Loc,
    out: Collector,
    languages: tuple[str, ...],
) -> list[Translation]:
    """Pop ``translations:`` (language -> fields) from the YAML mapping *data*."""
    block = data.pop("translations", None)
    if block is None:
        return []
    here = (*loc, "translations")
    if not isinstance(block, dict):
        out.add(
            src,
            here,
            "translations",
            "must map each language to its fields, e.g. translations: {es: {name: ...}}",
        )
        return []
    found = []
    for language, fields in block.items():
        if not isinstance(fields, dict):
            out.add(
                src,
                (*here, language),
                str(language),
                "must be a mapping of the translated fields and source:",
            )
            continue
        made = _translation_fields(
            kind, item_id, str(language), fields, src, (*here, language), out, languages
        )
        if made is not None:
            found.append(made)
    return found


def _translation_files(
    kind: str,
    folder: Path,
    listed: list[tuple[str, ...]],
    items: set[str],
    out: Collector,
    languages: tuple[str, ...],
    own_host: str,
) -> list[Translation]:
    """The ``<id>.<language>.md`` files of *folder* (updates or tips)."""
    found: list[Translation] = []
    for parts in listed:
        name = parts[-1]
        split = _split_language(name) if name.endswith(".md") else None
        if split is None:
            continue
        item_id, language = split
        path = folder.joinpath(*parts)
        doc = _front_matter(path, out)
        if doc is None:
            continue
        if item_id not in items:
            out.add(
                doc.src,
                (),
                "file",
                f"translates {out.rel(folder / (item_id + '.md'))}, which does not exist "
                "(or has problems): name the file <id>.<language>.md after the "
                f"{kind} it translates",
            )
            continue
        data = dict(doc.src.data)
        if "body" in data:
            out.add(
                doc.src,
                ("body",),
                "body",
                "the body is the text below the front matter: remove this key",
            )
            continue
        body = doc.body.strip()
        if body:
            data["body"] = body
        doc.src.marks[("body",)] = (doc.body_line - doc.src.line_offset, 1)
        for line, col, message in scan_markdown(doc.body, own_host):
            out.problems.append(
                Problem(doc.src.path, doc.body_line + line - 1, col, "body", message)
            )
        made = _translation_fields(kind, item_id, language, data, doc.src, (), out, languages)
        if made is not None:
            found.append(made)
    return found


def read_info(src: Source | None, out: Collector) -> tuple[HubInfo | None, list[Translation]]:
    """``content/hub.yaml`` (parsed into *src*) checked, and its translations: blocks.

    Both the hub's (``translations:``) and its banner's (``banner: translations:``) are
    read once the hub's languages are known.
    """
    if src is None:
        return None, []
    data = src.data
    blocks: list[tuple[TranslationKind, Loc, Any]] = []
    if isinstance(data, dict):
        data = dict(data)
        banner = data.get("banner")
        if isinstance(banner, dict) and "translations" in banner:
            data["banner"] = banner = dict(banner)
            blocks.append(("banner", ("banner",), banner.pop("translations")))
        if "translations" in data:
            blocks.append(("hub", (), data.pop("translations")))
    info = validate(HubInfo, data, src, out, {})
    translations: list[Translation] = []
    for kind, loc, block in blocks:
        translations += _translation_block(
            kind, "", {"translations": block}, src, loc, out, info.languages if info else ("en",)
        )
    return (info if isinstance(info, HubInfo) else None), translations


@dataclass(frozen=True)
class PageTranslation:
    """A hand-written page's translation: ``docs/about.es.md`` beside ``docs/about.md``."""

    path: str  # the translation, relative to the hub folder
    page: str  # the page it translates, relative to docs/ (``about.md``)
    language: str
    source: str | None  # what its front matter names as its source
    wanted: str | None  # the digest of the page's text now; None: there is no such page
    text: str  # the translation's Markdown, front matter included

    @property
    def status(self) -> str:
        return "current" if self.source is not None and self.source == self.wanted else "stale"


def page_translations(
    root: Path, docs_dir: Path, languages: tuple[str, ...]
) -> list[PageTranslation]:
    """Every ``<page>.<language>.md`` under *docs_dir* of one of the other *languages*."""
    found: list[PageTranslation] = []
    if len(languages) < 2 or not docs_dir.is_dir():  # (a one-language hub: none to look for)
        return found
    for parts in files_under(docs_dir):
        split = _split_language(parts[-1]) if parts[-1].endswith(".md") else None
        if split is None or split[1] not in languages[1:]:
            continue
        base, language = split
        path = docs_dir.joinpath(*parts)
        page = "/".join((*parts[:-1], f"{base}.md"))
        try:
            text = path.read_text(encoding="utf-8")
            original = (docs_dir / page).read_text(encoding="utf-8")
            wanted: str | None = page_digest(original, languages[0])
        except FileNotFoundError:
            wanted = None
        except (OSError, UnicodeDecodeError):
            continue  # MkDocs reports an unreadable page
        match = FRONT_MATTER.match(text)
        source = re.search(r"^source:[ \t]*['\"]?([\w-]+)", match.group(1), re.M) if match else None
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = path.as_posix()
        found.append(PageTranslation(rel, page, language, source and source.group(1), wanted, text))
    return found


def docs_dir_of(root: Path) -> Path:
    """``docs_dir`` of the hub's ``mkdocs.yml`` (MkDocs' default: ``docs``)."""
    try:
        text = (root / "mkdocs.yml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    match = re.search(r"^docs_dir:[ \t]*['\"]?([^'\"#\s]+)", text, re.M)
    return root / (match.group(1) if match else "docs")


def site_url_of(root: Path, out: Collector) -> str | None:
    """``site_url`` from the hub's ``mkdocs.yml`` (the one place the public URL is set)."""
    path = root / "mkdocs.yml"
    if not path.exists():
        out.problems.append(
            Problem(out.rel(path), 1, 1, "file", "missing: the hub needs mkdocs.yml with site_url")
        )
        return None
    text = read_text(path, out)
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


def _check_image(update: Update, src: Source, root: Path, out: Collector) -> None:
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


def load_hub(root: Path | str, *, memo: Memo | None = None) -> Hub:
    """Load and check the hub at *root*.

    With *memo* (``stormhub check`` passes the hub's, :mod:`hub.memo`), a Markdown file
    whose bytes, settings and code are unchanged since an earlier run is not parsed,
    scanned and validated again: its earlier result, problems included, is reused.

    Returns:
        The validated hub.

    Raises:
        ContentError: listing every problem found, each with file, line and column.

    """
    root = Path(root).resolve()
    out = Collector(root)
    content = root / "content"
    site_url = site_url_of(root, out)
    own_host = urlsplit(site_url).hostname or "" if site_url else ""

    info_src = yaml_file(content / "hub.yaml", out, required=True)
    info, translations = read_info(info_src, out)
    context: dict[str, Any] = {
        "zone": info.zone if info else _zone_or_utc(info_src),
        "country": info.country if info else "US",
        "languages": info.languages if info else ("en",),
    }

    memo = memo or Memo.none()
    listed = {kind: files_under(content / kind) for kind in ("updates", "tips")}
    with bulk():
        updates = _markdown_items(
            content / "updates", listed["updates"], Update, out, context, own_host, memo
        )
        tips = _markdown_items(content / "tips", listed["tips"], Tip, out, context, own_host, memo)
    closures = _list_items(
        content / "closures.yaml", Closure, "facility", out, context, "closure", translations
    )
    contacts = _list_items(
        content / "contacts.yaml", Contact, "name", out, context, "contact", translations
    )
    resources = _list_items(
        content / "resources.yaml", Resource, "title", out, context, "resource", translations
    )
    for kind, folder, loaded in (("update", "updates", updates), ("tip", "tips", tips)):
        translations += _translation_files(
            kind,
            content / folder,
            listed[folder],
            set(loaded.where),
            out,
            context["languages"],
            own_host,
        )

    for closure in closures.items:
        src, loc = closures.where[closure.id]
        notes = [((*loc, "note"), closure.note)]
        notes += [
            ((*loc, "translations", t.language, "note"), str(t.fields.get("note", "")))
            for t in translations
            if t.kind == "closure" and t.item == closure.id
        ]
        for where, note in notes:
            for line, col, message in scan_markdown(note, own_host):
                line0, col0 = src.where(where)
                out.problems.append(
                    Problem(src.path, line0 + line - 1, col0 + col, "note", message)
                )
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
    _stray_files(content / "updates", listed["updates"], out)
    _stray_files(content / "tips", listed["tips"], out)

    if out.problems or info is None or site_url is None:
        if not out.problems:  # pragma: no cover - every None above records a problem
            out.problems.append(Problem("content/hub.yaml", 1, 1, "", "could not be read"))
        raise ContentError(out.problems)
    hub = Hub(
        info=info,
        site_url=site_url,
        updates=tuple(updates.items),
        closures=tuple(closures.items),
        contacts=tuple(contacts.items),
        tips=tuple(tips.items),
        resources=tuple(resources.items),
        content_dir=str(content),
        translations=tuple(translations),
    )
    hub._sources = {
        "updates": {i: src.path for i, (src, _) in updates.where.items()},
        "tips": {i: src.path for i, (src, _) in tips.where.items()},
    }
    return hub


def _stray_files(folder: Path, listed: list[tuple[str, ...]], out: Collector) -> None:
    """Files in an updates or tips folder that would be silently ignored."""
    if not folder.is_dir():
        return
    for parts in listed:
        name = parts[-1]
        if name.endswith(".md") or name.startswith("."):
            continue
        path = folder.joinpath(*parts)
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
