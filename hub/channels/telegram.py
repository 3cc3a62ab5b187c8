"""``telegram``: messages in a Telegram channel (or group) through the Bot API, over httpx.

No SDK: python-telegram-bot is asyncio-only, and the Bot API is plain HTTPS. Every call
is ``POST {api_base_url}/bot<token>/<method>`` with a JSON body, answered ``{"ok":
true, "result": ...}`` or ``{"ok": false, "error_code", "description", "parameters"}``
(core.telegram.org/bots/api "Making requests"; tdlib/telegram-bot-api
``HttpConnection.cpp``, ``Query.cpp``). THE BOT TOKEN IS IN THE URL PATH: it is read
through :meth:`HttpChannel.credential`, so it is scrubbed from every message this
channel makes (httpx's exceptions can quote the URL), and errors are raised ``from
None`` so no exception chain carries the URL. httpx logs request URLs at INFO level on
the ``httpx`` logger: keep that logger above INFO wherever logs leave the machine.

Calls (core.telegram.org/bots/api, Bot API 7.0+):

- ``sendMessage`` (``chat_id``, ``text``, ``parse_mode: "HTML"``,
  ``link_preview_options``, ``reply_parameters``) answers the Message (``message_id``,
  ``date``, ``chat`` {``id``, ``type``, ``title``, ``username``}, ``text``,
  ``entities``...). ``link_preview_options`` replaced ``disable_web_page_preview`` in
  Bot API 7.0 (December 2023): the first part's preview is the permalink's page
  (``url``, ``prefer_large_media``), so an update with an image shows it through the
  hub page's ``og:image``; the other parts have ``is_disabled``.
- ``editMessageText`` (``chat_id``, ``message_id``, ``text``...) edits in place: a
  correction is an edit (bots may edit their channel posts at any age).
  ``message is not modified`` means the text is already right: success.
- ``deleteMessage`` (``chat_id``, ``message_id``) answers ``true``. A bot with
  ``can_post_messages`` may delete its own channel posts, but only within 48 hours of
  sending ("A message can only be deleted if it was sent less than 48 hours ago"): an
  older one answers ``message can't be deleted``, and a retraction then edits every
  part into the retraction notice instead. ``message to delete not found``: already
  gone.

Text: ``parse_mode`` HTML with ``<``, ``>``, ``&`` escaped (the only characters HTML
mode needs escaped, "HTML style") and the first line of the first part in ``<b>``.
Telegram measures a message "after entities parsing", in Unicode code points: tdlib
refuses ``utf8_length(text) > message_text_length_max`` (4,096) with "Message is too
long" (td/telegram/MessageContent.cpp), which the Bot API sends as ``Bad Request:
message is too long``. Entity offsets are UTF-16 code units, the length is not (the
issue text guessed UTF-16 for both). So :meth:`TelegramChannel.length` is ``len`` of
the plain text, and tags and escapes do not count. A longer update is a thread: each
part a reply (``reply_parameters.message_id``) to the one before.

No photo message: ``sendPhoto``'s caption holds 1,024 characters, a quarter of a text
message, and a photo would be edited with another method; the picture comes with the
link preview instead, so ``takes_images`` is False.

Permalink: ``https://t.me/<username>/<message_id>`` when the chat has a username (a
public channel); for a private channel or supergroup (id ``-100...``) the members-only
``https://t.me/c/<id without -100>/<message_id>``; none for a basic group.

Errors (description wording from tdlib/telegram-bot-api ``Client.cpp``): 429 ``Too Many
Requests: retry after N`` with ``parameters.retry_after`` (and a ``Retry-After``
header): transient with that wait. 401 ``Unauthorized`` and 404 ``Not Found`` (the
token is wrong or malformed): fatal, "get it from @BotFather and set
TELEGRAM_BOT_TOKEN". 403 ``Forbidden: bot is not a member of the channel chat`` / ``bot
was kicked``, 400 ``need administrator rights in the channel chat`` / ``not enough
rights``: fatal, add the bot as an administrator allowed to post. 400 ``chat not
found``: fatal, naming ``chat_id``. ``parameters.migrate_to_chat_id`` (a group became a
supergroup): fatal, naming the new id. 5xx: transient. Any other 400 (``message is too
long``, ``can't parse entities``...) refuses this post in Telegram's words.

Exactly-once: the Bot API has no idempotency key, and a bot cannot read a channel's
history, so ``idempotent`` and ``can_find`` are False. Within a run, the parts already
sent for a delivery key are remembered, so a retry continues a thread rather than
restarting it. What remains: a request Telegram carried out whose answer was lost
(timeout, dropped connection), or a crash after the answer and before the ledger
recorded it, posts that part again on the retry or the next run.

The client is built on first use, never in ``__init__``: ``stormhub preview`` builds
channels only to render, without credentials or network.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import httpx

from hub.channels.base import PublishError, Receipt, retry_after_seconds
from hub.channels.http import HttpChannel
from hub.config import TelegramConfig

if TYPE_CHECKING:
    from hub.channels.base import Post
    from hub.model import Hub, Update

PLATFORM = "Telegram"
MAX_TEXT = 4096  # message_text_length_max, counted in code points after entity parsing
NOT_MODIFIED = "message is not modified"
NOT_FOUND_ON_DELETE = "message to delete not found"
CANNOT_DELETE = "message can't be deleted"


class TelegramError(PublishError):
    """A Bot API refusal, with Telegram's own description."""

    def __init__(self, message: str, *, description: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.description = description


def to_html(text: str, *, bold_first_line: bool = False) -> str:
    """Plain *text* for ``parse_mode: HTML``: escaped, the first line optionally bold."""
    if bold_first_line:
        first, sep, rest = text.partition("\n")
        if first.strip():
            return f"<b>{html.escape(first, quote=False)}</b>{sep}{html.escape(rest, quote=False)}"
    return html.escape(text, quote=False)


class TelegramChannel(HttpChannel[TelegramConfig]):
    type = "telegram"
    platform = PLATFORM
    max_chars = MAX_TEXT
    supports_edit = True  # editMessageText
    supports_delete = True  # deleteMessage, within 48 hours; older: edited into a notice
    supports_threads = True  # reply_parameters
    takes_images = False  # the picture comes with the permalink's link preview
    idempotent = False
    can_find = False  # a bot cannot read a channel's history

    def __init__(self, config: TelegramConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._made: dict[str, list[Any]] = {}  # delivery key -> Messages of the parts sent

    def length(self, text: str) -> int:
        """Code points, as tdlib counts a message's text after entity parsing."""
        return len(text)

    # --- calls -----------------------------------------------------------------------

    def _url(self, method: str) -> str:
        token = self.credential("bot_token", "the bot's token from @BotFather")
        return f"{str(self.config.api_base_url).rstrip('/')}/bot{token}/{method}"

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """One Bot API method; its ``result``, or a :class:`PublishError`."""
        response = self.request("POST", self._url(method), json=params)
        try:
            body = response.json()
        except ValueError:
            raise PublishError(
                f"{PLATFORM} answered {method} with something that is not the Bot API's JSON; "
                "retrying",
                transient=True,
            ) from None
        if not isinstance(body, dict) or not body.get("ok"):
            raise self.error(response)
        return body.get("result")

    def error(self, response: httpx.Response) -> PublishError:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        status = int(body.get("error_code") or response.status_code)
        description = self.scrub(str(body.get("description") or self.detail(response)))
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        lower = description.lower()
        env = self.env_name("bot_token")
        chat = self.config.chat_id

        def fail(message: str, **kwargs: Any) -> TelegramError:
            kwargs.setdefault("status", status)
            return TelegramError(message, description=description, **kwargs)

        if status == 429:
            wait = parameters.get("retry_after")
            seconds = (
                float(wait)
                if isinstance(wait, int | float) and not isinstance(wait, bool)
                else retry_after_seconds(response.headers, "retry-after")
            )
            return fail(
                f"{PLATFORM} rate limit reached ({description}); retrying",
                transient=True,
                retry_after=seconds,
            )
        if status >= 500:
            return fail(
                f"{PLATFORM} server error {status} ({description}); retrying", transient=True
            )
        if status in (401, 404):
            return fail(
                f"{PLATFORM} rejected the bot token's credentials ({status}: {description}): "
                f"get the token from @BotFather (/token) and set {env}",
                transient=False,
                fatal=True,
            )
        if parameters.get("migrate_to_chat_id"):
            return fail(
                f"{PLATFORM} refused ({description}): the group became a supergroup; set "
                f'chat_id: "{parameters["migrate_to_chat_id"]}" in channels.yaml',
                transient=False,
                fatal=True,
            )
        if status == 403 or "need administrator rights" in lower or "not enough rights" in lower:
            return fail(
                f"{PLATFORM} refused ({status}: {description}): add the bot to {chat} as an "
                "administrator with permission to post messages (and to edit and delete them)",
                transient=False,
                fatal=True,
            )
        if "chat not found" in lower:
            return fail(
                f"{PLATFORM} refused ({description}): check chat_id: {chat} in channels.yaml "
                "(@channelusername for a public channel, else the numeric id, -100...), and "
                "that the bot has been added to it",
                transient=False,
                fatal=True,
            )
        return fail(f"{PLATFORM} refused the post ({status}: {description})", transient=False)

    # --- posting ---------------------------------------------------------------------

    def _fields(self, post: Post, number: int) -> dict[str, Any]:
        """``text``, ``parse_mode`` and ``link_preview_options`` of part *number*."""
        preview: dict[str, Any] = (
            {"url": post.link, "prefer_large_media": True} if number == 0 else {"is_disabled": True}
        )
        return {
            "chat_id": self.config.chat_id,
            "text": to_html(post.parts[number], bold_first_line=number == 0),
            "parse_mode": "HTML",
            "link_preview_options": preview,
        }

    @staticmethod
    def permalink(message: Any) -> str | None:
        chat = message.get("chat") or {}
        message_id = message.get("message_id")
        if chat.get("username"):
            return f"https://t.me/{chat['username']}/{message_id}"
        chat_id = str(chat.get("id") or "")
        if chat.get("type") in ("channel", "supergroup") and chat_id.startswith("-100"):
            return f"https://t.me/c/{chat_id[4:]}/{message_id}"  # for members only
        return None

    def _thread(self, post: Post, key: str, reply_to: str | None) -> list[Any]:
        """Send what is left of *post*'s parts, each a reply to the one before."""
        made = self._made.setdefault(key, [])
        while len(made) < len(post.parts):
            params = self._fields(post, len(made))
            parent = str(made[-1]["message_id"]) if made else reply_to
            if parent is not None:
                params["reply_parameters"] = {
                    "message_id": int(parent),
                    "allow_sending_without_reply": True,
                }
            made.append(self.call("sendMessage", params))
        del self._made[key]
        return made

    def _receipt(self, messages: list[Any]) -> Receipt:
        return Receipt(
            remote_id=str(messages[0]["message_id"]),
            url=self.permalink(messages[0]),
            ids=tuple(str(m["message_id"]) for m in messages),
        )

    def publish(self, post: Post, key: str) -> Receipt:
        return self._receipt(self._thread(post, key, None))

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        return self._receipt(self._thread(post, key, receipt.last_id))

    def _edit_text(self, message_id: str, params: dict[str, Any]) -> None:
        try:
            self.call("editMessageText", {**params, "message_id": int(message_id)})
        except TelegramError as exc:
            if NOT_MODIFIED not in exc.description:  # already says this: nothing to do
                raise

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        """Edit each part in place; add parts as replies, delete parts no longer needed."""
        ids = list(receipt.ids or (receipt.remote_id,))
        new: list[str] = []
        for number in range(len(post.parts)):
            params = self._fields(post, number)
            if number < len(ids):
                self._edit_text(ids[number], params)
                new.append(ids[number])
            else:
                params["reply_parameters"] = {
                    "message_id": int(new[-1]),
                    "allow_sending_without_reply": True,
                }
                new.append(str(self.call("sendMessage", params)["message_id"]))
        for stale in reversed(ids[len(post.parts) :]):
            self._delete(stale)
        return Receipt(remote_id=new[0], url=receipt.url, ids=tuple(new))

    def _delete(self, message_id: str) -> None:
        try:
            self.call(
                "deleteMessage", {"chat_id": self.config.chat_id, "message_id": int(message_id)}
            )
        except TelegramError as exc:
            if NOT_FOUND_ON_DELETE not in exc.description:  # already gone is what we wanted
                raise

    def delete(self, receipt: Receipt) -> None:
        for message_id in reversed(receipt.ids or (receipt.remote_id,)):
            self._delete(message_id)

    def retract(self, receipt: Receipt, update: Update, key: str) -> Receipt:
        """Delete the post; past Telegram's 48 hours, edit every part into the notice."""
        try:
            self.delete(receipt)
        except TelegramError as exc:
            if CANNOT_DELETE not in exc.description:
                raise
        else:
            return receipt
        notice = self.render(update, retraction=True)
        params = self._fields(notice, 0)
        for message_id in receipt.ids or (receipt.remote_id,):
            try:
                self._edit_text(message_id, params)
            except TelegramError as exc:
                if "message to edit not found" not in exc.description:
                    raise
        return receipt
