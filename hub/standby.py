"""The dark site: a hub waiting in ``status: standby``, and ``stormhub activate``.

A hub on standby is built like any other (a quiet, ready site), but the fan-out
refuses to post. Its prepared first updates wait in ``content/templates/<id>.md``:
front matter like an update's (``title``, ``severity``, ``tags``; plus ``banner``,
``banner_severity``, ``event`` and ``about``) without ``time``, and ``{placeholder}``
fields filled in when the hub is activated::

    ---
    about: the first update when a hurricane watch is issued
    event: "Hurricane {storm}"
    title: "Hurricane {storm}: what {organisation} is doing"
    severity: warning
    banner: "Hurricane {storm} is expected {landfall}: follow this page for updates."
    ---
    As of {time}, all of our hospitals are open...

``{time}``, ``{date}``, ``{event}``, ``{organisation}`` and ``{site}`` are filled
in by StormHub; any other placeholder from ``--set NAME=VALUE``.

:func:`activate` switches the hub live in one step: ``status: active``, the banner,
the first update. Everything is checked in a scratch copy of the hub first, so on a
problem nothing changes; it is recorded in the audit log.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from hub.checks import check_hub
from hub.content import FRONT_MATTER, now_utc
from hub.errors import ContentError, HubError, Problem
from hub.located import Collector, Source, parse_yaml, read_text, validate
from hub.model import Hub, HubStatus, Severity, Slug, Text, Update, slugify

TEMPLATES = Path("content/templates")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
BUILTIN = ("time", "date", "event", "organisation", "site")


class PreparedUpdate(BaseModel):
    """The front matter of ``content/templates/<id>.md``, placeholders filled in."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    about: str = Field("", description="what the template is for, shown by activate")
    event: str = Field("", description="the hub's event once it is live (hub.yaml event:)")
    title: Text
    severity: Severity
    tags: tuple[Slug, ...] = ()
    banner: str = Field("", description="the banner once live; default: the title")
    banner_severity: Severity | None = Field(None, description="default: the severity")


@dataclass(frozen=True)
class Template:
    """A prepared update as read from its file, placeholders still in it."""

    id: str
    path: Path
    src: Source
    fields: dict[str, Any]
    body: str
    body_line: int

    def placeholders(self) -> list[str]:
        """Every placeholder the template uses, in order of first use."""
        texts = [v for v in self.fields.values() if isinstance(v, str)] + [self.body]
        seen: dict[str, None] = {}
        for text in texts:
            for match in PLACEHOLDER.finditer(text):
                seen.setdefault(match.group(1), None)
        return list(seen)


def template_files(root: Path) -> list[Path]:
    folder = root / TEMPLATES
    return sorted(folder.glob("*.md")) if folder.is_dir() else []


def read_template(path: Path, out: Collector) -> Template | None:
    """Parse one prepared update; problems go to *out* with their line and column."""
    text = read_text(path, out)
    if text is None:
        return None
    src = Source(out.rel(path))
    match = FRONT_MATTER.match(text)
    if match is None:
        out.problems.append(
            Problem(src.path, 1, 1, "front matter",
                    "missing: start the file with a '---' line, the YAML fields, then '---'")
        )  # fmt: skip
        return None
    src.line_offset = 1
    if not parse_yaml(match.group(1), src, out):
        return None
    if not isinstance(src.data, dict):
        out.add(src, (), "front matter", "must be a mapping of key: value lines")
        return None
    if path.stem != slugify(path.stem):
        out.add(src, (), "id", f"file name {path.name!r} is not a valid id: "
                f"rename it to {slugify(path.stem)}.md")  # fmt: skip
        return None
    body_line = text[: match.end()].count("\n") + 1
    return Template(path.stem, path, src, dict(src.data), text[match.end() :], body_line)


def _fill(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render_template(
    template: Template, values: Mapping[str, str], out: Collector
) -> tuple[PreparedUpdate, str] | None:
    """The template with *values* filled in, checked; ``None`` with problems in *out*.

    A placeholder without a value is a problem at its first use, naming the fix.
    """
    missing: dict[str, tuple[int, int]] = {}
    for key, value in template.fields.items():
        if isinstance(value, str):
            for match in PLACEHOLDER.finditer(value):
                if match.group(1) not in values:
                    missing.setdefault(match.group(1), template.src.where((key,)))
    for number, text in enumerate(template.body.splitlines(), start=template.body_line):
        for match in PLACEHOLDER.finditer(text):
            if match.group(1) not in values:
                missing.setdefault(match.group(1), (number, match.start() + 1))
    for name, (line, col) in missing.items():
        out.problems.append(
            Problem(template.src.path, line, col, "placeholder",
                    f"{{{name}}} has no value: pass --set {name}=VALUE "
                    f"(StormHub fills in {', '.join('{' + b + '}' for b in BUILTIN)})")
        )  # fmt: skip
    if missing:
        return None
    fields = {k: _fill(v, values) if isinstance(v, str) else v for k, v in template.fields.items()}
    prepared = validate(PreparedUpdate, fields, template.src, out, {})
    body = _fill(template.body, values).strip()
    if not body:
        out.problems.append(
            Problem(template.src.path, template.body_line, 1, "body",
                    "the prepared update has no text: write it below the front matter")
        )  # fmt: skip
        return None
    return (prepared, body) if isinstance(prepared, PreparedUpdate) else None


def builtin_values(hub: Hub, now: dt.datetime, event: str | None = None) -> dict[str, str]:
    """What StormHub fills in: the time and date (local), the event, organisation, site."""
    from hub.site.pages import time_label

    local = hub.local(now)
    return {
        "time": time_label(hub, now, date=False),
        "date": f"{local:%A %B} {local.day}",
        "event": event or hub.info.event,
        "organisation": hub.info.organisation,
        "site": hub.url(),
    }


def check_templates(root: Path, hub: Hub | None, out: Collector) -> None:
    """For ``stormhub check``: every prepared update parses and would make a valid update.

    Placeholders StormHub does not fill in are given a sample value here, so the check
    finds a bad severity or an unknown key long before the emergency.
    """
    for path in template_files(root):
        template = read_template(path, out)
        if template is None or hub is None:
            continue
        values = builtin_values(hub, now_utc())
        values |= {name: name.upper() for name in template.placeholders() if name not in values}
        event = template.fields.get("event")
        if isinstance(event, str) and "{event}" in event:
            out.add(template.src, ("event",), "event",
                    "event cannot use {event}: it sets the event")  # fmt: skip
        render_template(template, values, out)


# --- activation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """What :func:`activate` changed."""

    template: str
    update: Update
    update_path: Path
    hub: Hub  # as it now is: active, with the banner and the first update


@dataclass(frozen=True)
class _Planned:
    template: Template
    prepared: PreparedUpdate
    update_id: str
    update_text: str
    hub_yaml: str


def _choose(root: Path, template_id: str | None, out: Collector) -> Template:
    files = template_files(root)
    names = [p.stem for p in files]
    if not files:
        raise HubError(
            f"{TEMPLATES}/ holds no prepared updates: add one (e.g. {TEMPLATES}/first.md, "
            "see stormhub init --template hurricane) before activating"
        )
    if template_id is None:
        if len(files) > 1:
            raise HubError(f"choose the first update with --template: one of {', '.join(names)}")
        path = files[0]
    else:
        path = root / TEMPLATES / f"{template_id}.md"
        if not path.is_file():
            raise HubError(
                f"no prepared update {template_id!r} in {TEMPLATES}/: use one of {', '.join(names)}"
            )
    template = read_template(path, out)
    if template is None:
        raise ContentError(out.problems)
    return template


def _update_text(prepared: PreparedUpdate, body: str, local: dt.datetime) -> str:
    front: dict[str, Any] = {
        "time": f"{local:%Y-%m-%d %H:%M}",
        "title": prepared.title,
        "severity": prepared.severity.value,
    }
    if prepared.tags:
        front["tags"] = list(prepared.tags)
    dumped = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=10**6)
    return f"---\n{dumped}---\n{body}\n"


def _hub_yaml(root: Path, prepared: PreparedUpdate, event: str | None) -> str:
    """``hub.yaml`` switched live, its comments and layout kept (round-trip YAML)."""
    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 10**6
    rt.indent(mapping=2, sequence=4, offset=2)  # the layout init's templates use
    data = rt.load((root / "content" / "hub.yaml").read_text(encoding="utf-8"))
    data["status"] = HubStatus.ACTIVE.value
    if event:
        data["event"] = event
    data["banner"] = {
        "text": prepared.banner or prepared.title,
        "severity": (prepared.banner_severity or prepared.severity).value,
    }
    buffer = io.StringIO()
    rt.dump(data, buffer)
    return buffer.getvalue()


def _plan(
    root: Path,
    hub: Hub,
    template_id: str | None,
    values: Mapping[str, str],
    event: str | None,
    now: dt.datetime,
) -> _Planned:
    out = Collector(root)
    template = _choose(root, template_id, out)
    given = dict(values)
    filled = builtin_values(hub, now) | given
    raw_event = template.fields.get("event")
    if event is None and isinstance(raw_event, str) and raw_event.strip():
        event = _fill(raw_event, filled).strip()
    filled["event"] = event or hub.info.event
    rendered = render_template(template, filled, out)
    if rendered is None or out.problems:
        raise ContentError(out.problems)
    prepared, body = rendered
    local = hub.local(now)
    base = f"{local:%Y-%m-%d-%H%M}-{slugify(prepared.title)}"[:80].rstrip("-")
    update_id, n = base, 2
    while (root / "content" / "updates" / f"{update_id}.md").exists():
        update_id, n = f"{base}-{n}", n + 1
    return _Planned(
        template, prepared, update_id, _update_text(prepared, body, local),
        _hub_yaml(root, prepared, event or None),
    )  # fmt: skip


@contextmanager
def _scratch(root: Path, planned: _Planned) -> Iterator[Path]:
    """A copy of the hub with the planned changes, for checking (and for exercises)."""
    base = root / ".stormhub"
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="activate-", dir=base))
    try:
        images = root / "content" / "images"
        shutil.copytree(root / "content", scratch / "content", ignore=_skip_images(images))
        if images.is_dir():
            (scratch / "content" / "images").symlink_to(images, target_is_directory=True)
        for name in ("mkdocs.yml", "channels.yaml"):
            if (root / name).is_file():
                shutil.copy2(root / name, scratch / name)
        if (root / "docs").is_dir():
            shutil.copytree(root / "docs", scratch / "docs")
        (scratch / "content" / "hub.yaml").write_text(planned.hub_yaml, encoding="utf-8")
        updates = scratch / "content" / "updates"
        updates.mkdir(exist_ok=True)
        (updates / f"{planned.update_id}.md").write_text(planned.update_text, encoding="utf-8")
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _skip_images(images: Path) -> Any:
    def ignore(folder: str, names: list[str]) -> list[str]:
        return ["images"] if Path(folder) == images.parent and "images" in names else []

    return ignore


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def activate(
    root: Path | str,
    *,
    by: str,
    template_id: str | None = None,
    values: Mapping[str, str] | None = None,
    event: str | None = None,
    now: dt.datetime | None = None,
    ledger: Path | None = None,
) -> Activation:
    """Switch a hub on standby live: status active, the banner, the first update.

    Args:
        root: the hub folder.
        by: who activates it, for the audit log.
        template_id: the prepared update in ``content/templates/``; needed when there
            are several.
        values: placeholder values (``--set NAME=VALUE``).
        event: the hub's event from now on; default: the template's ``event:``, else
            the current one.
        now: the moment of activation (the update's time); default now.
        ledger: the ledger holding the audit log; default ``.stormhub/ledger.sqlite``.

    Raises:
        HubError: the hub is not on standby (activating twice is an error, and changes
            nothing), or no such template.
        ContentError: the hub, the template or the result has problems; nothing changed.
    """
    root = Path(root).resolve()
    hub, _, _ = check_hub(root)
    status = hub.info.status
    if status is HubStatus.ACTIVE:
        raise HubError(
            "content/hub.yaml: status: the hub is already active: nothing changed "
            "(to post another update, add it to content/updates/)"
        )
    if status is HubStatus.CLOSED:
        raise HubError(
            "content/hub.yaml: status: the hub is closed: set status: standby first "
            "if it should wait for the next emergency"
        )
    moment = now or now_utc()
    planned = _plan(root, hub, template_id, values or {}, event, moment)
    with _scratch(root, planned) as scratch:
        live, _, _ = check_hub(scratch)  # every check, on the result, before anything is kept
    update = live.update(planned.update_id)
    update_path = root / "content" / "updates" / f"{planned.update_id}.md"
    update_path.parent.mkdir(parents=True, exist_ok=True)
    _write(update_path, planned.update_text)
    try:
        _write(root / "content" / "hub.yaml", planned.hub_yaml)
    except BaseException:
        update_path.unlink(missing_ok=True)
        raise
    _audit(root, ledger, by, update, planned.template.id)
    return Activation(planned.template.id, update, update_path, live)


def _audit(root: Path, ledger: Path | None, by: str, update: Update, template: str) -> None:
    from hub import audit
    from hub.fanout import DEFAULT_LEDGER

    path = ledger or root / DEFAULT_LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    audit.record(path, by, "activate", update.id, update.revision,
                 f"standby -> active from template {template}")  # fmt: skip


@contextmanager
def rehearsed_activation(root: Path | str, hub: Hub) -> Iterator[Path]:
    """A scratch copy of a hub on standby as it would be live, every prepared update in it.

    For ``stormhub drill --exercise`` on a dark site: the exercise rehearses the
    activation and sends every prepared update, a minute apart, without changing the
    hub. Placeholders without a value show as ``[NAME]``.
    """
    root = Path(root).resolve()
    files = template_files(root)
    if not files:
        raise HubError(
            f"the hub is on standby and {TEMPLATES}/ holds no prepared updates: "
            "an exercise would have nothing to send; add one first"
        )
    moment = now_utc().replace(second=0, microsecond=0)
    out = Collector(root)
    extra: list[tuple[str, str]] = []
    first: _Planned | None = None
    for index, path in enumerate(files):
        template = read_template(path, out)
        if template is None:
            continue
        names = {n: f"[{n.upper()}]" for n in template.placeholders() if n not in BUILTIN}
        when = moment + dt.timedelta(minutes=index)
        planned = _plan(root, hub, template.id, names, None, when)
        if first is None:
            first = planned
        else:
            extra.append((planned.update_id, planned.update_text))
    if out.problems or first is None:
        raise ContentError(out.problems)
    with _scratch(root, first) as scratch:
        for update_id, text in extra:
            (scratch / "content" / "updates" / f"{update_id}.md").write_text(text, "utf-8")
        yield scratch


def activate_command(
    root: Path,
    by: str | None,
    template_id: str | None,
    values: tuple[str, ...],
    event: str | None,
    ledger: Path | None,
) -> Activation:
    """``stormhub activate``: parse ``--set NAME=VALUE``, activate, say what changed."""
    import click

    from hub import audit

    given: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not PLACEHOLDER.fullmatch("{" + name.strip() + "}"):
            raise HubError(
                f"--set {item!r}: write it as NAME=VALUE, e.g. --set storm=Imogen "
                "(NAME in lowercase letters, digits and _)"
            )
        given[name.strip()] = value.strip()
    who = audit.current_user(by)
    done = activate(root, by=who, template_id=template_id, values=given, event=event, ledger=ledger)
    info = done.hub.info
    banner = info.banner.text if info.banner else ""
    click.echo(
        f"The hub is live: status active, event {info.event!r}.\n"
        f"Banner: {banner}\n"
        f"First update: {done.update_path.relative_to(Path(root).resolve())} "
        f"({done.update.title}), from template {done.template}.\n"
        f"Recorded in the audit log as activated by {who}.\n"
        "Next: stormhub build, deploy the site, then stormhub fanout."
    )
    return done
