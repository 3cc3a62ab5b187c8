"""YAML files whose every key and item remembers its line and column.

Shared by :mod:`hub.content` and :mod:`hub.config`: parse a file, validate it
against a pydantic model, and turn each validation error into a
:class:`~hub.errors.Problem` at the offending key.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hub.errors import Problem
from hub.model import FieldProblem

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


class Collector:
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


def _walk(node: yaml.Node, loc: Loc, src: Source, out: Collector) -> None:
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


def parse_yaml(text: str, src: Source, out: Collector) -> bool:
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


def validate(
    model: type[BaseModel],
    data: Any,
    src: Source,
    out: Collector,
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


def read_text(path: Path, out: Collector) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        out.problems.append(
            Problem(out.rel(path), 1, 1, "file", f"not UTF-8 ({exc.reason}): save it as UTF-8")
        )
    except OSError as exc:
        out.problems.append(Problem(out.rel(path), 1, 1, "file", exc.strerror or str(exc)))
    return None


def yaml_file(path: Path, out: Collector, *, required: bool) -> Source | None:
    if not path.exists():
        if required:
            out.problems.append(
                Problem(out.rel(path), 1, 1, "file", "missing: create it (see the sample hub)")
            )
        return None
    text = read_text(path, out)
    if text is None:
        return None
    src = Source(out.rel(path))
    return src if parse_yaml(text, src, out) else None
