"""``channels.yaml``: where live updates go, as typed, validated channel configs.

Credentials are only ever ``${ENV_VAR}`` references; a literal secret is an error.
Values are read from the environment when a channel is used, and never printed.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from hub.errors import ContentError, Problem
from hub.located import Collector, Source, validate, yaml_file
from hub.model import Severity, Update

ENV_REF = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")


def _env_ref(value: str) -> str:
    if not ENV_REF.match(value.strip()):
        raise ValueError(
            "secrets must not be written in channels.yaml: put the value in an environment "
            "variable and write its name here, e.g. ${X_API_KEY}"
        )
    return value.strip()


EnvRef = Annotated[str, AfterValidator(_env_ref)]


class MissingSecret(Exception):
    """An environment variable a channel needs is not set."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class ChannelConfig(BaseModel):
    """What every channel has: a name, a type, a switch and the update filters."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    secret_fields: ClassVar[tuple[str, ...]] = ()

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    type: str
    enabled: bool = True
    min_severity: Severity = Severity.INFO
    tags: tuple[str, ...] = Field((), description="only updates with one of these tags")
    backfill: bool = Field(False, description="a newly added channel gets earlier updates too")
    hashtags: tuple[Annotated[str, Field(pattern=r"^\w+$")], ...] = ()
    timeout: float = Field(20.0, gt=0, description="seconds to wait for the platform")

    def wants(self, update: Update) -> bool:
        """Whether this channel's filters let *update* through."""
        if update.severity.rank < self.min_severity.rank:
            return False
        return not self.tags or bool(set(self.tags) & set(update.tags))

    def env_names(self) -> list[str]:
        names = []
        for name in self.secret_fields:
            value = getattr(self, name)
            match = ENV_REF.match(value) if isinstance(value, str) else None
            if match:
                names.append(match.group(1))
        return names

    def missing_env(self, environ: dict[str, str] | None = None) -> list[str]:
        env = os.environ if environ is None else environ
        return [name for name in self.env_names() if not env.get(name)]

    def secret(self, field: str, environ: dict[str, str] | None = None) -> SecretStr:
        """The value of a ``${VAR}`` field, from the environment."""
        env = os.environ if environ is None else environ
        match = ENV_REF.match(getattr(self, field))
        assert match is not None
        value = env.get(match.group(1))
        if not value:
            raise MissingSecret([match.group(1)])
        return SecretStr(value)


class OutboxConfig(ChannelConfig):
    """Writes each post as a JSON file: no credentials; for demos and review."""

    type: Literal["outbox"] = "outbox"
    folder: str = ".stormhub/outbox"
    long_posts: Literal["thread", "truncate"] = "thread"
    max_characters: int = Field(500, ge=50)


class XConfig(ChannelConfig):
    secret_fields: ClassVar[tuple[str, ...]] = (
        "api_key",
        "api_secret",
        "access_token",
        "access_token_secret",
    )
    type: Literal["x"] = "x"
    api_key: EnvRef
    api_secret: EnvRef
    access_token: EnvRef
    access_token_secret: EnvRef
    api_base_url: HttpUrl = HttpUrl("https://api.x.com")
    long_posts: Literal["thread", "truncate"] = "thread"


class MastodonConfig(ChannelConfig):
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)
    type: Literal["mastodon"] = "mastodon"
    api_base_url: HttpUrl
    access_token: EnvRef
    max_characters: int = Field(500, ge=100, description="the instance's post limit")
    visibility: Literal["public", "unlisted", "private"] = "public"
    long_posts: Literal["thread", "truncate"] = "thread"


class BlueskyConfig(ChannelConfig):
    secret_fields: ClassVar[tuple[str, ...]] = ("app_password",)
    type: Literal["bluesky"] = "bluesky"
    service: HttpUrl = HttpUrl("https://bsky.social")
    handle: str
    app_password: EnvRef
    long_posts: Literal["thread", "truncate"] = "thread"


class EmailConfig(ChannelConfig):
    secret_fields: ClassVar[tuple[str, ...]] = ("username", "password")
    type: Literal["email"] = "email"
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: EnvRef | None = None
    password: EnvRef | None = None
    sender: str
    recipients: tuple[str, ...] = Field(min_length=1)
    reply_to: str | None = None


CONFIG_TYPES: dict[str, type[ChannelConfig]] = {
    "outbox": OutboxConfig,
    "x": XConfig,
    "mastodon": MastodonConfig,
    "bluesky": BlueskyConfig,
    "email": EmailConfig,
}


def load_channels(root: Path | str, out: Collector | None = None) -> list[ChannelConfig]:
    """Read and check ``channels.yaml`` in the hub at *root*.

    With *out*, problems are added to it (so ``check`` reports them with the
    content's); without, they are raised at once as a :class:`ContentError`.
    """
    return check_channels(root, out)[0]


def check_channels(
    root: Path | str, out: Collector | None = None
) -> tuple[list[ChannelConfig], list[Problem]]:
    """:func:`load_channels`, and one warning per enabled channel whose variables are unset.

    The warnings name the variables, never their values.
    """
    root = Path(root).resolve()
    collector = out or Collector(root)
    configs, where = _load(root / "channels.yaml", collector)
    if out is None and collector.problems:
        raise ContentError(collector.problems)
    warnings = []
    for config in configs:
        missing = config.missing_env() if config.enabled else []
        if missing:
            path, line, col = where[config.name]
            plural = len(missing) > 1
            warnings.append(
                Problem(
                    path, line, col, config.name,
                    f"environment variable{'s' if plural else ''} {', '.join(missing)} "
                    f"not set: set {'them' if plural else 'it'} or set enabled: false",
                )
            )  # fmt: skip
    return configs, warnings


def _load(
    path: Path, out: Collector
) -> tuple[list[ChannelConfig], dict[str, tuple[str, int, int]]]:
    """The channels, and where each one starts in the file (for later warnings)."""
    where: dict[str, tuple[str, int, int]] = {}
    src = yaml_file(path, out, required=False)
    if src is None or src.data is None:
        return [], where
    if not isinstance(src.data, dict) or set(src.data) - {"channels"}:
        out.add(src, (), "-", "must hold one key, channels:, with a list of channels")
        return [], where
    entries = src.data.get("channels") or []
    if not isinstance(entries, list):
        out.add(src, ("channels",), "channels", "must be a list of channels, each with '- '")
        return [], where
    configs: list[ChannelConfig] = []
    names: dict[str, int] = {}
    for index, entry in enumerate(entries):
        config = _one(src, index, entry, out)
        if config is None:
            continue
        if config.name in names:
            line = src.where(("channels", names[config.name]))[0]
            out.add(
                src,
                ("channels", index, "name"),
                "name",
                f"duplicate channel name {config.name!r} (also at line {line}): rename one",
            )
            continue
        names[config.name] = index
        where[config.name] = (src.path, *src.where(("channels", index)))
        configs.append(config)
    return configs, where


def _one(src: Source, index: int, entry: Any, out: Collector) -> ChannelConfig | None:
    loc = ("channels", index)
    if not isinstance(entry, dict):
        out.add(src, loc, "channels", "each channel must be a mapping of key: value lines")
        return None
    kind = entry.get("type")
    model = CONFIG_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        close = difflib.get_close_matches(str(kind), list(CONFIG_TYPES), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        out.add(
            src,
            (*loc, "type"),
            "type",
            f"unknown channel type {kind!r}: {hint}(known: {', '.join(CONFIG_TYPES)})",
        )
        return None
    config = validate(model, entry, src, out, {}, prefix=loc)
    if isinstance(config, OutboxConfig) and not Path(config.folder).is_absolute():
        config = config.model_copy(update={"folder": str(out.root / config.folder)})
    return config if isinstance(config, ChannelConfig) else None
