"""``channels.yaml``: where live updates go, as typed, validated channel configs.

Credentials are only ever ``${ENV_VAR}`` references; a literal secret is an error.
Values are read from the environment when a channel is used, and never printed.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    SecretStr,
    model_validator,
)

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
    # The field :meth:`at` points at a simulated platform; None: the channel has no endpoint.
    endpoint_field: ClassVar[str | None] = "api_base_url"

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    type: str
    enabled: bool = True
    min_severity: Severity = Severity.INFO
    tags: tuple[str, ...] = Field((), description="only updates with one of these tags")
    backfill: bool = Field(False, description="a newly added channel gets earlier updates too")
    hashtags: tuple[Annotated[str, Field(pattern=r"^\w+$")], ...] = ()
    timeout: float = Field(20.0, gt=0, description="seconds to wait for the platform")
    drill: bool = Field(
        False,
        description="an exercise (`stormhub drill --exercise`) posts here for real, every "
        "post marked EXERCISE; other channels get exercise posts only on the simulator",
    )
    language: str | None = Field(
        None,
        description="the language this channel's audience reads (one of hub.yaml's "
        "languages): it gets that translation, or the default text marked as such",
    )
    # Where the channel is in channels.yaml (file, line, column), for later checks.
    _position: tuple[str, int, int] = PrivateAttr(default=("channels.yaml", 1, 1))

    @property
    def position(self) -> tuple[str, int, int]:
        return self._position

    def but(self, **changes: Any) -> Self:
        """A copy with *changes*, validated like the file's values (URLs become HttpUrl)."""
        return self.model_validate({**self.model_dump(), **changes})

    def at(self, url: str) -> ChannelConfig:
        """The channel aimed at a simulated platform at *url* (``stormhub drill``, tests)."""
        if self.endpoint_field is None:
            return self
        return self.but(**{self.endpoint_field: url})

    def drill_secret(self, field: str, url: str) -> str:
        """The value the drill gives *field*'s variable: never a real credential.

        A webhook channel's secret is its URL, so there the drill's value is a webhook
        URL on the simulated platform at *url*.
        """
        match = ENV_REF.match(str(getattr(self, field)))
        return f"drill-{match.group(1).lower() if match else field}"

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

    endpoint_field: ClassVar[str | None] = None
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
    endpoint_field: ClassVar[str | None] = "service"
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

    def at(self, url: str) -> EmailConfig:
        parts = urlsplit(url)
        return self.but(host=parts.hostname, port=parts.port, security="none")


def _e164(value: str) -> str:
    """A phone number to send SMS to or from: international form, valid, as E.164."""
    raw = value.strip()
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"{raw!r} is not a phone number in international form: write it with its "
            "country code, e.g. +1 757 555 0142"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            f"{raw!r} is not a valid phone number: check the digits and the country code"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


E164 = Annotated[str, AfterValidator(_e164)]
GRAPH_VERSION = "v27.0"  # Meta's Graph API version the facebook and instagram channels call


class WordPressConfig(ChannelConfig):
    """The newsroom: each update as a WordPress post, through the REST API."""

    secret_fields: ClassVar[tuple[str, ...]] = ("app_password",)
    endpoint_field: ClassVar[str | None] = "url"
    type: Literal["wordpress"] = "wordpress"
    url: HttpUrl = Field(description="the WordPress site, e.g. https://news.example.org")
    username: str = Field(min_length=1, description="the user the Application Password is for")
    app_password: EnvRef
    status: Literal["publish", "draft", "pending", "private"] = "publish"
    categories: tuple[int, ...] = Field((), description="category ids to file posts under")
    # Not ``tags``: that is every channel's filter (only updates with one of these tags).
    post_tags: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        (), description="WordPress tag names for every post; missing ones are created"
    )


class SmsConfig(ChannelConfig):
    """Text messages through Twilio's Messages API to a list of numbers."""

    secret_fields: ClassVar[tuple[str, ...]] = ("account_sid", "auth_token")
    type: Literal["sms"] = "sms"
    account_sid: EnvRef
    auth_token: EnvRef
    sender: E164 | None = Field(None, description="the Twilio number messages come from")
    messaging_service_sid: str | None = Field(
        None, pattern=r"^MG[0-9a-fA-F]{32}$", description="instead of sender"
    )
    recipients: tuple[E164, ...] = Field(min_length=1)
    max_segments: int = Field(4, ge=1, le=10, description="longer texts send the short form")
    api_base_url: HttpUrl = HttpUrl("https://api.twilio.com")

    @model_validator(mode="after")
    def _one_sender(self) -> SmsConfig:
        if (self.sender is None) == (self.messaging_service_sid is None):
            raise ValueError(
                "give either sender (the Twilio number, e.g. +17575550100) or "
                "messaging_service_sid (MG...): exactly one of the two"
            )
        seen: set[str] = set()
        for number in self.recipients:
            if number in seen:  # a number is personal data: only its last digits are named
                raise ValueError(f"recipients lists the number ending {number[-4:]} twice")
            seen.add(number)
        return self

    def drill_secret(self, field: str, url: str) -> str:
        """Twilio-shaped fake values: an account SID (AC + 32 hex) and a 32-hex token."""
        if field == "account_sid":
            return "AC" + "d0" * 16
        return "d1" * 16


class FacebookConfig(ChannelConfig):
    """Posts on a Facebook Page's feed, through the Graph API."""

    secret_fields: ClassVar[tuple[str, ...]] = ("page_token",)
    type: Literal["facebook"] = "facebook"
    page_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    page_token: EnvRef
    api_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+$")] = GRAPH_VERSION
    api_base_url: HttpUrl = HttpUrl("https://graph.facebook.com")


class InstagramConfig(ChannelConfig):
    """Image posts on an Instagram professional account (content publishing API)."""

    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)
    type: Literal["instagram"] = "instagram"
    user_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    access_token: EnvRef
    api_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+$")] = GRAPH_VERSION
    api_base_url: HttpUrl = HttpUrl("https://graph.facebook.com")


class ThreadsConfig(ChannelConfig):
    """Text posts on Threads, through the Threads API."""

    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)
    type: Literal["threads"] = "threads"
    user_id: Annotated[str, Field(pattern=r"^(me|[0-9]+)$")] = "me"
    access_token: EnvRef
    api_base_url: HttpUrl = HttpUrl("https://graph.threads.net")
    long_posts: Literal["thread", "truncate"] = "thread"


class LinkedInConfig(ChannelConfig):
    """Posts on a LinkedIn organization page, through the versioned Posts API."""

    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)
    type: Literal["linkedin"] = "linkedin"
    author: Annotated[str, Field(pattern=r"^urn:li:(organization|person):[0-9A-Za-z_-]+$")]
    access_token: EnvRef
    # LinkedIn serves each monthly version for about a year (202511 was sunset on
    # 16 November 2026); 202609 is the newest version listed in September 2026.
    api_version: Annotated[str, Field(pattern=r"^20[0-9]{2}(0[1-9]|1[0-2])$")] = "202609"
    api_base_url: HttpUrl = HttpUrl("https://api.linkedin.com")


class GbpConfig(ChannelConfig):
    """Google Business Profile: local posts per location, closures as special hours."""

    secret_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "refresh_token")
    type: Literal["gbp"] = "gbp"
    account_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    locations: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")],
        Annotated[str, Field(pattern=r"^[0-9]+$")],
    ] = Field(min_length=1, description="closure location key -> Business Profile location id")
    client_id: EnvRef
    client_secret: EnvRef
    refresh_token: EnvRef
    api_base_url: HttpUrl = HttpUrl("https://mybusiness.googleapis.com")
    info_base_url: HttpUrl = HttpUrl("https://mybusinessbusinessinformation.googleapis.com")
    token_url: HttpUrl = HttpUrl("https://oauth2.googleapis.com/token")

    def at(self, url: str) -> GbpConfig:
        return self.but(api_base_url=url, info_base_url=url, token_url=f"{url}/token")


class TeamsConfig(ChannelConfig):
    """A Microsoft Teams channel, through a Workflows webhook posting Adaptive Cards."""

    secret_fields: ClassVar[tuple[str, ...]] = ("webhook_url",)
    endpoint_field: ClassVar[str | None] = None  # the webhook URL is the secret
    type: Literal["teams"] = "teams"
    webhook_url: EnvRef

    def drill_secret(self, field: str, url: str) -> str:
        return (
            f"{url}/workflows/drill/triggers/manual/paths/invoke"
            "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=drill"
        )


class SlackConfig(ChannelConfig):
    """A Slack channel: a bot token (chat.postMessage; edits, deletes) or a webhook."""

    secret_fields: ClassVar[tuple[str, ...]] = ("bot_token", "webhook_url")
    type: Literal["slack"] = "slack"
    bot_token: EnvRef | None = None
    channel: str | None = Field(None, description="channel id, e.g. C0123456789; with bot_token")
    webhook_url: EnvRef | None = None
    api_base_url: HttpUrl = HttpUrl("https://slack.com/api/")

    @model_validator(mode="after")
    def _one_way(self) -> SlackConfig:
        if (self.bot_token is None) == (self.webhook_url is None):
            raise ValueError(
                "give either bot_token (with channel) or webhook_url: a bot token can "
                "edit and delete, a webhook can only post"
            )
        if self.bot_token is not None and not self.channel:
            raise ValueError("bot_token needs channel: the channel id, e.g. C0123456789")
        return self

    def at(self, url: str) -> SlackConfig:
        return self.but(api_base_url=f"{url}/api/")

    def drill_secret(self, field: str, url: str) -> str:
        if field == "webhook_url":
            return f"{url}/services/T00000000/B00000000/drill"
        return "xoxb-0000000000-0000000000000-drill"


class DiscordConfig(ChannelConfig):
    """A Discord channel, through a webhook (``?wait=true`` returns the message)."""

    secret_fields: ClassVar[tuple[str, ...]] = ("webhook_url",)
    endpoint_field: ClassVar[str | None] = None  # the webhook URL is the secret
    type: Literal["discord"] = "discord"
    webhook_url: EnvRef
    thread_id: Annotated[str, Field(pattern=r"^[0-9]+$")] | None = None
    username: str | None = None

    def drill_secret(self, field: str, url: str) -> str:
        return f"{url}/api/webhooks/1100000000000000001/drill-webhook-token"


class TelegramConfig(ChannelConfig):
    """A Telegram channel or group, through the Bot API."""

    secret_fields: ClassVar[tuple[str, ...]] = ("bot_token",)
    type: Literal["telegram"] = "telegram"
    bot_token: EnvRef
    chat_id: Annotated[str, Field(pattern=r"^(@[A-Za-z][A-Za-z0-9_]{4,31}|-?[0-9]+)$")]
    api_base_url: HttpUrl = HttpUrl("https://api.telegram.org")

    def drill_secret(self, field: str, url: str) -> str:
        # A token of the Bot API's shape (<bot id>:<35 characters>), as the simulator checks.
        return "7000000001:AAdrillTokenForTheStormHubSimulator"


CONFIG_TYPES: dict[str, type[ChannelConfig]] = {
    "outbox": OutboxConfig,
    "x": XConfig,
    "mastodon": MastodonConfig,
    "bluesky": BlueskyConfig,
    "email": EmailConfig,
    "wordpress": WordPressConfig,
    "sms": SmsConfig,
    "facebook": FacebookConfig,
    "instagram": InstagramConfig,
    "threads": ThreadsConfig,
    "linkedin": LinkedInConfig,
    "gbp": GbpConfig,
    "teams": TeamsConfig,
    "slack": SlackConfig,
    "discord": DiscordConfig,
    "telegram": TelegramConfig,
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
        config._position = (src.path, *src.where(("channels", index, "language")))
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
