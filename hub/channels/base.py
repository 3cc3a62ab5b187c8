"""The channel seam: ``render`` (pure) makes a :class:`Post`, ``publish`` sends it.

A platform is one subclass in ``hub/channels/<type>.py``. What it can do is
declared as class attributes, which the fan-out reads instead of asking ``if``
questions: ``max_chars``, ``counts_urls_as``, ``supports_edit``, ...
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import mimetypes
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from hub import i18n
from hub.images import ImageInfo, image_info
from hub.model import EXERCISE, EXERCISE_MARK, Severity
from hub.text import fit, plain_text
from hub.words import in_language, translator

if TYPE_CHECKING:
    from hub.config import ChannelConfig
    from hub.model import Hub, Update


@dataclass(frozen=True)
class Post:
    """What one channel will send for one update: already fitted to the platform."""

    update_id: str
    revision: str
    parts: tuple[str, ...]  # one per post of a thread; one when it fits
    link: str
    limit: int
    lengths: tuple[int, ...]
    subject: str = ""
    html: str = ""
    image: str | None = None  # absolute URL
    image_file: str | None = None  # the local file, for platforms that take an upload
    alt: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return self.parts[0]


@dataclass(frozen=True)
class Receipt:
    """Where a post landed: the platform's ids (one per thread part) and its public URL."""

    remote_id: str
    url: str | None = None
    ids: tuple[str, ...] = ()

    @property
    def last_id(self) -> str:
        return self.ids[-1] if self.ids else self.remote_id


@dataclass(frozen=True)
class SyncNote:
    """What :meth:`Channel.sync` did at one place (a location, a page), for the report."""

    text: str
    ok: bool = True


class PublishError(Exception):
    """A platform refused or failed a request.

    Args:
        message: what happened and what to do about it; never holds a secret.
        transient: worth retrying (timeouts, resets, 5xx, 429).
        retry_after: seconds the platform asked us to wait, if it said.
        status: the HTTP status, when there was one.
        fatal: every later post to this channel would fail the same way (credentials,
            permissions), so the fan-out stops the channel; default: a 401 or 403.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        status: int | None = None,
        fatal: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
        self.status = status
        self.fatal = status in (401, 403) if fatal is None else fatal


def parse_instant(value: str) -> float | None:
    """A reset time as a Unix time: epoch seconds (X, Bluesky) or ISO 8601 (Mastodon)."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def parse_http_date(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def retry_after_seconds(
    headers: Mapping[str, str], reset_header: str, now: float | None = None
) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or HTTP date), else *reset_header*.

    The reset instant is measured against the response's own ``Date`` when there
    is one, so a skewed local clock does not matter.
    """
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    server_now = parse_http_date(lower.get("date", "")) or now or time.time()
    value = lower.get("retry-after", "").strip()
    if value:
        try:
            seconds = float(value)
        except ValueError:
            when = parse_http_date(value)
            if when is not None:
                return max(0.0, when - server_now)
        else:
            if math.isfinite(seconds):
                return max(0.0, seconds)
    reset = parse_instant(lower.get(reset_header.lower(), ""))
    if reset is not None and math.isfinite(reset):
        return max(0.0, reset - server_now)
    return None


def read_image(path: str, max_bytes: int, platform: str) -> tuple[bytes, str, ImageInfo | None]:
    """An update's image file, its MIME type and what its header says.

    The type comes from the header, else the file name. Unreadable, too large or not
    an image: a permanent :class:`PublishError` saying what to fix.
    """
    try:
        size = os.path.getsize(path)
        data = Path(path).read_bytes() if size <= max_bytes else b""
    except OSError as exc:
        raise PublishError(
            f"cannot read the image {path} ({exc.strerror or exc}): check the update's "
            "image: field and that the file is there",
            transient=False,
        ) from exc
    if size > max_bytes:
        raise PublishError(
            f"the image {path} is {size:,} bytes, more than the {max_bytes:,} bytes "
            f"{platform} takes for an image: use a smaller image (fewer pixels, or a JPEG "
            "rather than a PNG for a photo)",
            transient=False,
        )
    info = image_info(data)
    mime = info.mime if info else mimetypes.guess_type(path)[0] or ""
    if not mime.startswith("image/"):
        raise PublishError(
            f"{path} is not an image {platform} takes: save it as a PNG or JPEG file",
            transient=False,
        )
    return data, mime, info


def error_for_status(
    platform: str,
    status: int,
    detail: str,
    *,
    retry_after: float | None = None,
    fix_credentials: str = "check the channel's credentials",
) -> PublishError:
    """A :class:`PublishError` for an HTTP status, saying what to fix."""
    if status == 429:
        return PublishError(
            f"{platform} rate limit reached; retrying", transient=True,
            retry_after=retry_after, status=status,
        )  # fmt: skip
    if status >= 500:
        return PublishError(
            f"{platform} server error {status}: {detail}", transient=True,
            retry_after=retry_after, status=status,
        )  # fmt: skip
    if status in (401, 403):
        return PublishError(
            f"{platform} rejected the credentials ({status}: {detail}): {fix_credentials}",
            transient=False,
            status=status,
        )
    return PublishError(
        f"{platform} refused the post ({status}: {detail})", transient=False, status=status
    )


def exercise_first(text: str) -> str:
    """*text* starting with ``EXERCISE``: the title's mark moved to the front, else added.

    Moving keeps the length, so a text already fitted to its platform still fits.
    """
    if text.startswith(EXERCISE):
        return text
    at = text.find(EXERCISE_MARK)
    if at >= 0:
        return EXERCISE_MARK + text[:at] + text[at + len(EXERCISE_MARK) :]
    return EXERCISE_MARK + text


C = TypeVar("C", bound="ChannelConfig")


class Channel(ABC, Generic[C]):
    """One configured destination for live updates."""

    type: ClassVar[str]
    max_chars: ClassVar[int] = 500
    length_unit: ClassVar[str] = "characters"  # what length() counts, for previews
    counts_urls_as: ClassVar[int | None] = None
    supports_edit: ClassVar[bool] = False
    supports_delete: ClassVar[bool] = False
    supports_threads: ClassVar[bool] = False
    takes_images: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False  # the platform itself ignores a repeated request key
    idempotency_window: ClassVar[float | None] = None  # seconds it remembers keys; None: always
    can_find: ClassVar[bool] = False  # can look up an earlier post by its permalink
    # A failed delivery may have reached part of its audience (SMS to a list): the next
    # run looks it up with find() too, not only after a crash.
    find_after_failure: ClassVar[bool] = False
    syncs: ClassVar[bool] = False  # keeps standing facts besides posts in line: see sync()

    def __init__(self, config: C, hub: Hub) -> None:
        self.config = config
        # A channel in another language than the hub's default sees the hub in it.
        language = getattr(config, "language", None)
        if language and language != hub.info.language and language in hub.info.languages:
            hub = i18n.localize(hub, language)
        self.hub = hub
        self._secrets: list[str] = []
        self._tried: set[str] = set()
        self._tried_lock = threading.Lock()

    # --- credentials ------------------------------------------------------------------

    def credential(self, field: str, what: str) -> str:
        """The value of the ``${VAR}`` in *field*; unset: a permanent error naming VAR.

        *what* says what the value is ("the Page access token"). The value is remembered
        so that :meth:`scrub` takes it out of every message this channel makes.
        """
        from hub.config import MissingSecret

        try:
            value = self.config.secret(field).get_secret_value()
        except MissingSecret as exc:
            raise PublishError(
                f"environment variable {', '.join(exc.names)} not set: set it to {what}, "
                "or set enabled: false",
                transient=False,
                fatal=True,
            ) from None
        self.remember_secret(value)
        return value

    def remember_secret(self, value: str) -> None:
        """Scrub *value* too (a part of a credential that is a secret on its own)."""
        if len(value) >= 4 and value not in self._secrets:
            self._secrets.append(value)

    def env_name(self, field: str) -> str:
        """The name of the variable behind *field*, for messages saying what to fix."""
        value = str(getattr(self.config, field, "") or "")
        return value.removeprefix("${").removesuffix("}") or field

    def scrub(self, text: str) -> str:
        """*text* without any credential this channel has read (longest first)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def limit(self) -> int:
        return self.max_chars

    @abstractmethod
    def length(self, text: str) -> int:
        """The platform's own count of *text*."""

    # --- rendering (pure) ---------------------------------------------------------

    def body_text(
        self, update: Update, *, correction: bool = False, retraction: bool = False
    ) -> str:
        """Title and text as plain text, without hashtags and permalink.

        *update* is in the channel's language already (:meth:`localized`).
        """
        _ = translator(self.hub.lang)
        if retraction:
            reason = f" {update.retraction}" if update.retraction else ""
            return (
                _("Retracted: {title}. Please disregard this update.").format(title=update.title)
                + reason
            )
        prefix = ""
        if correction:
            prefix = _("Correction:") + " "
        elif update.severity.rank >= Severity.WARNING.rank:
            prefix = f"{_(update.severity.label).upper()}: "
        text = f"{prefix}{update.title}\n\n{plain_text(update.body)}"
        return exercise_first(text) if self.hub.exercise else text

    def localized(self, update: Update) -> Update:
        """*update* as this channel's language shows it, with the same revision.

        A channel with a ``language:`` gets its translation; where there is no current
        one, the default text, its title marked as such ("(en inglés) ...").
        """
        if self.hub.language is None or not self.hub.has_update(update.id):
            return update
        shown = self.hub.update(update.id)
        if i18n.reads_in(self.hub, "update", update.id) == self.hub.lang:
            return shown
        mark = in_language(self.hub.info.language, self.hub.lang)
        marked = shown.model_copy(update={"title": f"({mark}) {shown.title}"})
        marked.__dict__["revision"] = update.revision
        return marked

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        """The update as this platform's post, fitted to its limit; no I/O."""
        link = self.hub.permalink(update)
        wanted = getattr(self.config, "long_posts", "thread")
        mode: Literal["thread", "truncate"] = (
            "thread" if self.supports_threads and wanted == "thread" else "truncate"
        )
        # Hashtags travel with the permalink, so they are in the first post of a thread
        # and never left alone in a last part.
        tags = " ".join(f"#{tag}" for tag in self.config.hashtags)
        length = self.length
        if self.hub.exercise:  # room for the mark post() puts on every part of a thread

            def length(text: str) -> int:
                return self.length(EXERCISE_MARK + text)

        parts = fit(
            self.body_text(update, correction=correction, retraction=retraction),
            length=length,
            limit=self.limit,
            link=f"{tags}\n{link}" if tags else link,
            mode=mode,
        )
        return self.post(update, parts, link, subject=update.title)

    def post(self, update: Update, parts: list[str], link: str, **fields: Any) -> Post:
        """A :class:`Post` of *parts*, measured, with the image where the platform takes one."""
        pictured = bool(update.image) and self.takes_images
        if self.hub.exercise:  # every post, each part of a thread too, says EXERCISE first
            parts = [exercise_first(part) for part in parts]
            if fields.get("subject"):
                fields["subject"] = exercise_first(str(fields["subject"]))
        return Post(
            update_id=update.id,
            revision=update.revision,
            parts=tuple(parts),
            link=link,
            limit=self.limit,
            lengths=tuple(self.length(p) for p in parts),
            image=self.hub.url(update.image) if pictured and update.image else None,
            image_file=self.hub.image_file(update) if pictured else None,
            alt=update.alt if pictured else None,
            **fields,
        )

    # --- talking to the platform ----------------------------------------------------

    @abstractmethod
    def publish(self, post: Post, key: str) -> Receipt:
        """Send *post*; *key* is stable for this delivery, for platform idempotency."""

    def find(self, post: Post) -> Receipt | None:
        """An earlier post of this delivery on the platform (after a crash), if any."""
        return None

    def first_try(self, key: str) -> bool:
        """True the first time this channel is asked to send the delivery *key*.

        A platform without idempotency keys may have acted on a request whose answer
        was lost; the fan-out then calls :meth:`publish` again with the same key, and an
        adapter that can look its posts up does so before sending again, but only then:
        a first try needs no lookup. Runs before this one are the fan-out's concern: it
        calls :meth:`find` for a delivery a crash left claimed (and, with
        ``find_after_failure``, for one that failed), before the first try.
        """
        with self._tried_lock:
            if key in self._tried:
                return False
            self._tried.add(key)
            return True

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        raise NotImplementedError(f"{self.type} posts cannot be edited")

    def delete(self, receipt: Receipt) -> None:
        raise NotImplementedError(f"{self.type} posts cannot be deleted")

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """Post *post* as a reply under *receipt* (a thread continuation)."""
        return self.publish(post, key)

    def render_correction(self, update: Update) -> Post:
        """The corrected update: its new text for an edit, else marked "Correction:"."""
        return self.render(update, correction=not self.supports_edit)

    def retract(self, receipt: Receipt, update: Update, key: str) -> Receipt:
        """Take a post back: delete it where the platform allows, else reply with a notice."""
        if self.supports_delete:
            self.delete(receipt)
            return receipt
        return self.reply(receipt, self.render(update, retraction=True), key)

    def correct(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """Apply a correction: edit in place, else a reply marked Correction, else anew."""
        if self.supports_edit:
            return self.edit(receipt, post)
        return self.reply(receipt, post, key)

    def sync(self, now: dt.datetime) -> list[SyncNote]:
        """Bring what the platform keeps besides posts in line with the hub.

        Called once per fan-out run, in a thread of its own beside the updates' posts, on
        channels whose class sets ``syncs``: e.g. Google Business Profile's special hours
        for closures. Must be idempotent by content, and safe to run while the same
        channel posts (share a token behind a lock). A credentials problem raises
        :class:`PublishError`; a failure at one place is a note with ``ok=False`` and the
        others go on.
        """
        return []

    def close(self) -> None:
        """Release connections."""
