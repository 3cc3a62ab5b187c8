"""``discord``: messages in a Discord channel (or one of its threads), through a webhook.

The webhook URL (Server Settings > Integrations > Webhooks > Copy Webhook URL,
``https://discord.com/api/webhooks/{webhook.id}/{webhook.token}``) is the credential:
whoever has it can post, edit and delete as the webhook, so it lives in
``DISCORD_WEBHOOK_URL`` and is scrubbed from every message, the token path segment on
its own too. Requests go to API v10 (``/api/v10/webhooks/...``): a URL without a version
is routed to Discord's default version, v6, which is deprecated (developers/reference.mdx,
"API Versioning").

Calls (discord/discord-api-docs, developers/resources/webhook.mdx):

- ``POST {webhook}?wait=true`` (Execute Webhook): with ``wait=true`` Discord answers the
  created Message object (``id`` snowflake string, ``channel_id``, ``content``,
  ``embeds``, ``timestamp``, ``webhook_id``...) instead of 204, so the message id is known
  and a message that is not saved is an error rather than silence. ``thread_id`` in the
  config becomes ``?thread_id=`` on every call.
- ``PATCH {webhook}/messages/{id}`` (Edit Webhook Message) answers the Message: a
  correction edits the message in place.
- ``DELETE {webhook}/messages/{id}`` answers 204: a retraction deletes the message; 404
  with code 10008 (Unknown Message) means it is already gone.

What is sent: ``content`` (the update as text, its title in bold, Discord markdown in the
body escaped, the permalink last), at most 2,000 characters, which Discord counts in
Unicode code points (its API is Python 3; discord-api-docs#1315, a Discord engineer's
answer), so :meth:`DiscordChannel.length` is ``len``. One embed carries the title
(at most 256 characters), the permalink as its ``url`` (Discord drops an unfurled embed
with the same URL, so there is one card), a colour by severity, the update's time and the
image when the update has one; its characters (title only) stay far under the 6,000 an
embed may total. ``allowed_mentions: {"parse": []}``: an update that quotes
``@everyone`` or ``<@id>`` never pings anyone. ``username`` overrides the webhook's
name when the config sets one.

Errors (developers/topics/opcodes-and-status-codes.mdx, developers/reference.mdx
"Error Messages"): a JSON body ``{"message": ..., "code": ...}``; 50035 "Invalid Form
Body" nests the reasons under ``errors`` by field (``{"content": {"_errors": [{"code":
"BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}``), and the
field path is shown. 401 (50027 "Invalid Webhook Token") and 404 with 10015 ("Unknown
Webhook": the webhook was deleted) are fatal for the channel and name the variable.
Rate limits (developers/topics/rate-limits.mdx): a 429 whose body has ``retry_after`` in
float seconds (and ``global``), with ``Retry-After`` (whole seconds) and
``X-RateLimit-Reset-After`` (float) headers; the body's value is used first, then
``X-RateLimit-Reset-After``, then ``Retry-After``.

Exactly-once: webhooks have no idempotency key (``nonce`` with ``enforce_nonce`` exists
only for Create Message, a bot's call, and only for "the past few minutes"), and a
webhook cannot list its messages (only ``GET .../messages/{id}`` by id), so the channel
cannot find a post it made. ``idempotent`` and ``can_find`` are False: a process killed
after Discord saved the message and before the ledger recorded it posts the update again
on the next run; the same holds for a retry after an answer lost on the network.

No SDK: the webhook API is three plain JSON calls (the official libraries are for bots).
The client is built on first use, never in ``__init__``: ``stormhub preview`` builds
channels only to render, without credentials or network.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from hub.channels.base import Post, PublishError, Receipt, error_for_status, retry_after_seconds
from hub.channels.http import HttpChannel
from hub.config import DiscordConfig
from hub.model import Severity
from hub.text import find_urls, shorten
from hub.words import translator

if TYPE_CHECKING:
    from hub.model import Update

PLATFORM = "Discord"
API_VERSION = 10
MAX_CONTENT = 2000  # Execute Webhook: "the message contents (up to 2000 characters)"
MAX_TITLE = 256  # Embed Limits: title
COLORS = {  # the embed's side bar, by severity
    Severity.INFO: 0x1F6FEB,
    Severity.ADVISORY: 0xF2C200,
    Severity.WARNING: 0xE8590C,
    Severity.EMERGENCY: 0xC62828,
}
UNKNOWN_WEBHOOK = 10015
UNKNOWN_MESSAGE = 10008
INVALID_FORM_BODY = 50035
# /api/webhooks/{id}/{token} or /api/v{n}/webhooks/{id}/{token}, on any Discord host.
_WEBHOOK_PATH = re.compile(
    r"^(?P<api>.*?/api)(?:/v\d+)?/webhooks/(?P<id>\d+)/(?P<token>[^/?#]+)/?$"
)
# Markdown Discord would read in plain text: emphasis, code, spoilers, strike, escapes,
# masked links; at a line's start, headings (#, ##, ###, -# subtext) and quotes (>).
_INLINE = re.compile(r"([\\*_~`|\[\]])")
_LINE_START = re.compile(r"^(#{1,3} |-# |>)", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """*text* with Discord's markdown escaped by backslashes, URLs left as they are.

    Lists ("- item", "1. item", as the hub writes them) are kept: they are meant as lists.
    """
    pieces: list[str] = []
    last = 0
    for start, end, _ in find_urls(text):
        pieces += [_escape_plain(text[last:start]), text[start:end]]
        last = end
    pieces.append(_escape_plain(text[last:]))
    return "".join(pieces)


def _escape_plain(text: str) -> str:
    return _LINE_START.sub(r"\\\1", _INLINE.sub(r"\\\1", text))


class DiscordError(PublishError):
    """A :class:`PublishError` with Discord's JSON error ``code`` (10015, 50035...)."""

    def __init__(self, message: str, *, code: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code


def form_errors(errors: Any, path: str = "") -> list[str]:
    """50035's nested ``errors`` as "field.path: message (CODE)" lines."""
    found: list[str] = []
    if not isinstance(errors, dict):
        return found
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    where = f"{path}: " if path else ""
                    found.append(f"{where}{item.get('message', '')} ({item.get('code', '?')})")
        else:
            found += form_errors(value, f"{path}.{key}" if path else str(key))
    return found


class DiscordChannel(HttpChannel[DiscordConfig]):
    type = "discord"
    platform = PLATFORM
    max_chars = MAX_CONTENT
    supports_edit = True  # PATCH /webhooks/{id}/{token}/messages/{message.id}
    supports_delete = True  # DELETE, 204
    supports_threads = False  # one message; longer text is cut, the permalink kept
    takes_images = True  # as the embed's image, by URL
    idempotent = False  # no idempotency key for webhooks
    can_find = False  # a webhook cannot list its messages
    reset_header = "x-ratelimit-reset"

    def length(self, text: str) -> int:
        """Discord's count: Unicode code points."""
        return len(text)

    # --- rendering ---------------------------------------------------------------------

    def body_text(
        self, update: Update, *, correction: bool = False, retraction: bool = False
    ) -> str:
        """The title line in bold, the body with Discord's markdown escaped."""
        text = super().body_text(update, correction=correction, retraction=retraction)
        head, _, rest = text.partition("\n\n")
        bold = f"**{escape_markdown(head)}**"
        return f"{bold}\n\n{escape_markdown(rest)}" if rest else bold

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        post = super().render(update, correction=correction, retraction=retraction)
        _ = translator(self.hub.lang)
        title = update.title
        if correction:
            title = f"{_('Correction:')} {title}"
        elif retraction:
            title = f"{_('Retracted:')} {title}"
        post.extra.update(
            title=shorten(title, MAX_TITLE),
            color=COLORS[update.severity],
            timestamp=update.time.isoformat(),
        )
        return post

    def payload(self, post: Post) -> dict[str, Any]:
        """The JSON for Execute / Edit Webhook Message."""
        embed: dict[str, Any] = {
            "title": str(post.extra.get("title") or shorten(post.subject, MAX_TITLE)),
            "url": post.link,
        }
        if "color" in post.extra:
            embed["color"] = post.extra["color"]
        if "timestamp" in post.extra:
            embed["timestamp"] = post.extra["timestamp"]
        if post.image:
            embed["image"] = {"url": post.image}
        body: dict[str, Any] = {
            "content": post.text,
            "embeds": [embed],
            "allowed_mentions": {"parse": []},
        }
        return body

    # --- the webhook -------------------------------------------------------------------

    def _webhook(self) -> tuple[str, str]:
        """The webhook's v10 URL and its token, from the secret URL."""
        url = self.credential("webhook_url", "the Discord webhook URL")
        parts = urlsplit(url)
        match = _WEBHOOK_PATH.match(parts.path)
        if parts.scheme not in ("http", "https") or not parts.netloc or match is None:
            raise PublishError(
                f"{self.env_name('webhook_url')} is not a Discord webhook URL (it should look "
                "like https://discord.com/api/webhooks/<id>/<token>): copy it again from the "
                "channel's Integrations > Webhooks",
                transient=False,
                fatal=True,
            )
        token = match["token"]
        self.remember_secret(token)  # the token alone is as good as the URL
        base = f"{parts.scheme}://{parts.netloc}{match['api']}/v{API_VERSION}/webhooks"
        return f"{base}/{match['id']}/{token}", token

    def _params(self, **extra: str) -> dict[str, str]:
        params = dict(extra)
        if self.config.thread_id:
            params["thread_id"] = self.config.thread_id
        return params

    def _receipt(self, response: httpx.Response) -> Receipt:
        try:
            message = response.json()
            message_id = str(message["id"])
        except (ValueError, KeyError, TypeError):
            raise PublishError(
                f"{PLATFORM} answered {response.status_code} without the message object "
                "(?wait=true should return it): the message may have been posted, so it is "
                "not sent again; check the channel",
                transient=False,
                status=response.status_code,
            ) from None
        return Receipt(remote_id=message_id, ids=(message_id,))

    def publish(self, post: Post, key: str) -> Receipt:
        url, _ = self._webhook()
        body = self.payload(post)
        if self.config.username:
            body["username"] = self.config.username
        response = self.request("POST", url, params=self._params(wait="true"), json=body)
        return self._receipt(response)

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        url, _ = self._webhook()
        response = self.request(
            "PATCH",
            f"{url}/messages/{receipt.remote_id}",
            params=self._params(),
            json=self.payload(post),
        )
        return self._receipt(response)

    def delete(self, receipt: Receipt) -> None:
        url, _ = self._webhook()
        try:
            self.request("DELETE", f"{url}/messages/{receipt.remote_id}", params=self._params())
        except PublishError as exc:
            if isinstance(exc, DiscordError) and exc.code == UNKNOWN_MESSAGE:
                return  # already deleted
            raise

    # --- errors ------------------------------------------------------------------------

    def error(self, response: httpx.Response) -> PublishError:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        code = body.get("code") if isinstance(body.get("code"), int) else None
        message = str(body.get("message") or body.get("error") or "") or self.detail(response)
        status = response.status_code
        env = self.env_name("webhook_url")
        if status == 429:
            return DiscordError(
                f"{PLATFORM} rate limit reached"
                + (" (global)" if body.get("global") else "")
                + f": {self.scrub(message)}; retrying",
                transient=True,
                retry_after=self._retry_after(response, body),
                status=status,
                code=code,
            )
        if status == 400 and code == INVALID_FORM_BODY:
            reasons = form_errors(body.get("errors")) or [message]
            return DiscordError(
                self.scrub(f"{PLATFORM} refused the message ({message}: {'; '.join(reasons)})"),
                transient=False,
                status=status,
                code=code,
            )
        if status == 404 and code == UNKNOWN_WEBHOOK:
            return DiscordError(
                f"{PLATFORM} does not know this webhook (404: {self.scrub(message)}): it was "
                "deleted; "
                "create a new one under the channel's Integrations > Webhooks and set "
                f"{env} to its URL",
                transient=False,
                status=status,
                fatal=True,
                code=code,
            )
        generic = error_for_status(
            PLATFORM,
            status,
            self.scrub(message if code is None else f"{message}, code {code}"),
            retry_after=retry_after_seconds(response.headers, self.reset_header),
            fix_credentials=(
                "the webhook's token is wrong or was reset; copy the webhook URL again "
                f"from the channel's Integrations > Webhooks and set {env}"
            ),
        )
        return DiscordError(
            str(generic),
            transient=generic.transient,
            retry_after=generic.retry_after,
            status=generic.status,
            fatal=generic.fatal,
            code=code,
        )

    @staticmethod
    def _retry_after(response: httpx.Response, body: dict[str, Any]) -> float | None:
        """The wait a 429 asks for: the body's float, else the headers'."""
        for value in (body.get("retry_after"), response.headers.get("x-ratelimit-reset-after")):
            try:
                seconds = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if math.isfinite(seconds):
                return max(0.0, seconds)
        return retry_after_seconds(response.headers, "x-ratelimit-reset")


__all__ = ["DiscordChannel", "DiscordError", "escape_markdown", "form_errors"]
