"""``slack``: messages in a Slack channel, through the official ``slack_sdk``.

Two ways in, chosen by the config (one ``type: slack`` entry in ``ADAPTERS``):

- ``bot_token`` + ``channel``: the Web API through ``slack_sdk.WebClient``. A long
  update becomes a thread, edits and deletes work, and a post can be found again.
- ``webhook_url``: an Incoming Webhook through ``slack_sdk.webhook.WebhookClient``. It
  can only post: no edit, no delete, no thread, no lookup.

The capability attributes are class attributes the fan-out reads on the instance, so
the two modes are two classes: :class:`SlackChannel` (bot) and
:class:`SlackWebhookChannel` (its subclass with edits, deletes, threads and ``find``
switched off). ``SlackChannel(config, hub)`` returns the webhook class when the config
has ``webhook_url`` (``SlackChannel.__new__``), so ``make_channel`` needs one entry.

Web API calls (docs.slack.dev/reference/methods/*; slack_sdk 3.48
``slack_sdk/web/client.py``, which sends them all as POST, JSON for the message calls
and form-encoded for the others, the token as ``Authorization: Bearer``):

- ``chat.postMessage`` (``channel``, ``text``, ``blocks``, ``thread_ts``,
  ``reply_broadcast``, ``unfurl_links``/``unfurl_media`` false) answers ``{"ok": true,
  "channel", "ts", "message"}``; the ``ts`` string is the message id.
- ``chat.update`` (``channel``, ``ts``, ``text``, ``blocks``) edits in place: a
  correction is an edit, so it keeps its place and its replies.
- ``chat.delete`` (``channel``, ``ts``); ``message_not_found`` means already gone.
- ``chat.getPermalink`` (``channel``, ``message_ts``) answers ``permalink``: the
  receipt's URL. It is asked after the post is made and is best effort: a failure there
  leaves the receipt without a URL instead of failing a post that exists.
- ``conversations.history`` / ``conversations.replies`` (``channel``, ``limit``,
  ``ts``) for :meth:`SlackChannel.find`; they need the ``channels:history`` scope
  (``groups:history`` for a private channel) besides ``chat:write``.

What is sent: each part as one ``section`` block whose ``mrkdwn`` text shows exactly
the update's plain text (and the same string as ``text``, the notification and
screen-reader fallback). Slack's only escapes are ``&amp;``, ``&lt;``, ``&gt;``
(docs.slack.dev "Formatting message text": escaping); it has none for ``*``, ``_``,
``~`` and `````, so a zero-width space (U+200B) follows each of them, which keeps the
character (it copies as typed) but breaks every bold/italic/strike/code pair; a line
starting with ``>`` gets one before it so that it is not a quote. URLs go in as
``<url>`` links, so no formatting rule can touch them. The update's image, when it has
one, is an ``image`` block (``image_url``, ``alt_text`` at most 2,000 characters) after
the first part; Slack fetches the URL itself, and if it cannot (``invalid_blocks`` about
the image) the message goes again without it. Link unfurling is off: the image block
is the picture, and one update makes one card-free message.

Limits: a ``section`` block's text is at most 3,000 characters (slack_sdk
``SectionBlock.text_max_length``; Slack answers ``invalid_blocks``, "must be less than
3001 characters") while a message's ``text`` may have 40,000 (then ``msg_too_long``).
The block is the smaller, so ``max_chars`` is 3,000 and :meth:`SlackChannel.length`
counts the mrkdwn actually sent (escapes and zero-width spaces included) in code points,
as slack_sdk's validators do. A longer update is a thread: the first part in the
channel, the others replies (``thread_ts``). A superseding update is a reply in the
original's thread, broadcast to the channel (``reply_broadcast``).

Errors: the Web API answers HTTP 200 with ``{"ok": false, "error": ...}`` and slack_sdk
raises ``SlackApiError``. ``invalid_auth``, ``not_authed``, ``token_revoked``,
``token_expired``, ``account_inactive`` (and any HTTP 401/403) are fatal and name the
variable; ``missing_scope`` names the scope Slack says is ``needed``; ``not_in_channel``
says to invite the app; ``channel_not_found`` and ``is_archived`` name the channel.
Rate limits (docs.slack.dev "Rate limits"): HTTP 429 ``{"ok": false, "error":
"ratelimited"}`` with ``Retry-After`` in seconds, transient with that wait.
``internal_error``, ``fatal_error``, ``service_unavailable``, ``request_timeout`` and
5xx are transient. Anything else (``msg_too_long``, ``invalid_blocks`` with Slack's
``errors`` list, ``no_text``...) refuses this post in Slack's words.

Incoming webhooks (docs.slack.dev "Sending messages using incoming webhooks"; api.slack.com
changelog 2016-05-17): ``POST {"text", "blocks", ...}`` answers 200 with the plain-text
body ``ok``; errors are an HTTP status with a plain-text reason: 400 ``invalid_payload``
/ ``no_text``, 403 ``invalid_token`` / ``action_prohibited``, 404 ``no_service`` /
``channel_not_found``, 410 ``channel_is_archived``, 429 with ``Retry-After``, 500
``rollup_error``. WebhookClient does not raise on them; they are mapped here. The
webhook URL is the credential and is scrubbed from every message.

slack_sdk's retry handlers are turned off (``retry_handlers=[]``): its default
``ConnectionErrorRetryHandler`` would repeat a ``chat.postMessage`` whose answer was
lost, which Slack would post twice, and a rate-limit handler would sleep inside the
call; the fan-out does the retrying and sees every 429.

Exactly-once: Slack has no idempotency key. Within a run, the parts already made for a
delivery key are remembered, so a retry continues the thread instead of starting it
again, and after a failure whose outcome is unknown (timeout, dropped connection,
``fatal_error``) the retry first looks for the message it may have made (the thread's
replies, or the channel history for the permalink). After a crash, the fan-out calls
:meth:`SlackChannel.find`: the oldest of the channel's last 100 messages that links the
permalink, and its thread replies in order. What remains: a message pushed out of the
last 100 by others before the rerun, and a thread cut by the crash (find returns the
parts that exist). A webhook can do none of this: a lost answer or a crash before the
ledger records can post twice.

The clients are built on first use, never in ``__init__``: ``stormhub preview`` builds
channels only to render, without credentials or network.
"""

from __future__ import annotations

import re
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, cast
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from hub import __version__
from hub.channels.base import Channel, Post, PublishError, Receipt, retry_after_seconds
from hub.config import SlackConfig
from hub.text import find_urls, shorten

if TYPE_CHECKING:
    from hub.model import Hub

PLATFORM = "Slack"
SECTION_LIMIT = 3000  # slack_sdk SectionBlock.text_max_length
ALT_LIMIT = 2000  # slack_sdk ImageBlock.alt_text_max_length
HISTORY_LIMIT = 100  # messages read by find(); Slack pages conversations.history
ZWSP = "\u200b"
_FORMATTING = re.compile(r"([*_~`])")
_QUOTE = re.compile(r"(^|\n)&gt;")
TOKEN_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "not_allowed_token_type",
}
SCOPE_ERRORS = {"missing_scope", "no_permission", "access_denied", "restricted_action"}
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAYBE_DONE = {"internal_error", "fatal_error", "request_timeout"}  # "some aspect ... succeeded"
SCOPES = "chat:write and channels:history (groups:history for a private channel)"


def escape(text: str) -> str:
    """*text* with Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn(text: str) -> str:
    """Plain *text* as Slack mrkdwn that shows exactly *text*.

    Control characters escaped, URLs as ``<url>`` links, a zero-width space after each
    formatting character outside them and before a line's leading ``>``.
    """
    out: list[str] = []
    last = 0
    for start, end, url in find_urls(text):
        out.append(_FORMATTING.sub(rf"\1{ZWSP}", escape(text[last:start])))
        out.append(f"<{escape(url)}>")
        last = end
    out.append(_FORMATTING.sub(rf"\1{ZWSP}", escape(text[last:])))
    return _QUOTE.sub(rf"\1{ZWSP}&gt;", "".join(out))


def plain(mrkdwn_text: str) -> str:
    """What Slack shows for :func:`mrkdwn` text: the plain text again."""
    shown = re.sub(r"<([^|>]+)(?:\|([^>]*))?>", lambda m: m[2] or m[1], mrkdwn_text)
    return unescape(shown.replace(ZWSP, ""))


class SlackError(PublishError):
    """A Slack refusal, with Slack's error code and, for blocks, its reasons."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        details: tuple[str, ...] = (),
        maybe_done: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.details = details
        self.maybe_done = maybe_done  # the request may have been carried out


class SlackChannel(Channel[SlackConfig]):
    """Bot-token mode: ``chat.postMessage`` and friends (see the module docstring)."""

    type = "slack"
    max_chars = SECTION_LIMIT
    supports_edit = True  # chat.update
    supports_delete = True  # chat.delete
    supports_threads = True  # thread_ts
    takes_images = True  # an image block with the first part
    idempotent = False  # Slack has no idempotency key
    can_find = True  # conversations.history + conversations.replies

    def __new__(cls, config: SlackConfig, hub: Hub) -> SlackChannel:
        if cls is SlackChannel and config.webhook_url is not None:
            cls = SlackWebhookChannel
        return super().__new__(cls)

    def __init__(self, config: SlackConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._client: WebClient | None = None
        self._made: dict[str, list[str]] = {}  # delivery key -> ts of the parts made
        self._unsure: set[str] = set()  # keys whose last request may have been carried out

    def length(self, text: str) -> int:
        """Code points of the mrkdwn sent for *text* (escapes and zero-width spaces too)."""
        return len(mrkdwn(text))

    # --- credentials -----------------------------------------------------------------

    def _secret(self, field: str, what: str) -> str:
        value = self.credential(field, what)
        self.remember_secret(value.rstrip("/").rsplit("/", 1)[-1])  # a webhook's secret part
        return value

    def _web(self) -> WebClient:
        if self._client is None:
            token = self._secret("bot_token", "the app's Bot User OAuth Token (xoxb-...)")
            self._client = WebClient(
                token=token,
                base_url=str(self.config.api_base_url),
                timeout=cast(int, self.config.timeout),  # urllib takes float seconds
                retry_handlers=[],  # the fan-out retries; see the module docstring
                user_agent_prefix=f"stormhub/{__version__}",
            )
        return self._client

    # --- rendering -------------------------------------------------------------------

    def blocks(self, post: Post, number: int, *, image: bool = True) -> list[dict[str, Any]]:
        """The Block Kit blocks of part *number* (0-based) of *post*."""
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(post.parts[number])}}
        ]
        if number == 0 and image and post.image:
            alt = post.alt or post.subject or "Image for this update"
            blocks.append(
                {"type": "image", "image_url": post.image, "alt_text": shorten(alt, ALT_LIMIT)}
            )
        return blocks

    def message(self, post: Post, number: int, *, image: bool = True) -> dict[str, Any]:
        """``text`` and ``blocks`` of part *number*: what a post and an edit send."""
        return {
            "text": mrkdwn(post.parts[number]),
            "blocks": self.blocks(post, number, image=image),
        }

    # --- calls -----------------------------------------------------------------------

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """One WebClient call; its failures as :class:`PublishError`."""
        client = self._web()
        try:
            response = getattr(client, method)(**kwargs)
        except SlackApiError as exc:
            raise self._api_error(exc) from exc
        except (TimeoutError, URLError, OSError, HTTPException, SlackClientError) as exc:
            raise self._transport_error(exc) from None
        data = response.data
        return data if isinstance(data, dict) else {}

    def _transport_error(self, exc: BaseException) -> PublishError:
        reason = exc.reason if isinstance(exc, URLError) else exc
        if isinstance(reason, TimeoutError):
            return SlackError(
                f"{PLATFORM} did not answer within {self.config.timeout:g} s; retrying",
                transient=True,
                maybe_done=True,
            )
        if isinstance(exc, SlackClientError):
            return PublishError(
                self.scrub(f"slack_sdk refused the request: {exc}"), transient=False
            )
        return SlackError(
            self.scrub(f"{PLATFORM} could not be reached ({type(exc).__name__}: {exc}); retrying"),
            transient=True,
            maybe_done=True,
        )

    def _api_error(self, exc: SlackApiError) -> SlackError:
        response = exc.response
        status = int(response.status_code)
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or "")
        details = tuple(str(e) for e in data.get("errors") or () if e)
        headers = {str(k): str(v) for k, v in (response.headers or {}).items()}
        http = status if status != 200 else None
        said = self.scrub(code + (f": {'; '.join(details)}" if details else "")) or "no details"
        env = self.env_name("bot_token")
        if status == 429 or code == "ratelimited":
            wait = retry_after_seconds(headers, "retry-after")
            return SlackError(
                f"{PLATFORM} rate limit reached ({said}); retrying",
                code=code, transient=True, retry_after=wait, status=429,
            )  # fmt: skip
        if status >= 500 or code in TRANSIENT_ERRORS:
            return SlackError(
                f"{PLATFORM} server error {status} ({said}); retrying",
                code=code, transient=True, status=http, maybe_done=code in MAYBE_DONE,
            )  # fmt: skip
        if status in (401, 403) or code in TOKEN_ERRORS:
            return SlackError(
                f"{PLATFORM} rejected the bot token's credentials ({http or said}: {said}): "
                "reinstall the app to the workspace (api.slack.com/apps > OAuth & Permissions), "
                f"copy its Bot User OAuth Token (xoxb-...) and set {env}",
                code=code, transient=False, status=http, fatal=True,
            )  # fmt: skip
        if code in SCOPE_ERRORS:
            needed = str(data.get("needed") or SCOPES)
            return SlackError(
                f"{PLATFORM} refused ({said}): the app needs the scope {needed}; add it under "
                f"OAuth & Permissions, reinstall the app and set the new token in {env}",
                code=code, transient=False, status=http, fatal=True,
            )  # fmt: skip
        if code == "not_in_channel":
            return SlackError(
                f"{PLATFORM} refused ({said}): the app is not in channel {self.config.channel}: "
                "invite the app to the channel (/invite @yourapp in that channel)",
                code=code, transient=False, status=http, fatal=True,
            )  # fmt: skip
        if code in ("channel_not_found", "is_archived"):
            return SlackError(
                f"{PLATFORM} refused ({said}): check channel: {self.config.channel} in "
                "channels.yaml (the channel id, e.g. C0123456789, from the channel's details; "
                "an archived channel takes no messages)",
                code=code, transient=False, status=http, fatal=True,
            )  # fmt: skip
        return SlackError(
            f"{PLATFORM} refused the post ({said})",
            code=code, details=details, transient=False, status=http, fatal=False,
        )  # fmt: skip

    def _send(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """``chat.postMessage`` or ``chat.update``; without the image if Slack cannot get it."""
        try:
            return self._call(method, **kwargs)
        except SlackError as exc:
            images = [b for b in kwargs.get("blocks") or () if b.get("type") == "image"]
            if exc.code != "invalid_blocks" or not images or "image" not in " ".join(exc.details):
                raise
            kwargs["blocks"] = [b for b in kwargs["blocks"] if b.get("type") != "image"]
            return self._call(method, **kwargs)

    def _permalink(self, ts: str) -> str | None:
        try:
            data = self._call("chat_getPermalink", channel=self.config.channel, message_ts=ts)
        except PublishError:
            return None  # the message exists; a receipt without a URL beats a repost
        link = data.get("permalink")
        return str(link) if link else None

    # --- posting ---------------------------------------------------------------------

    def _parts(self, post: Post, key: str, thread: str | None) -> list[str]:
        """Post what is left of *post*'s parts for *key*; the ts of every part.

        The first part goes to the channel, or into *thread* (broadcast to the channel);
        the others are replies in the first part's thread (or *thread*).
        """
        made = self._made.setdefault(key, [])
        if key in self._unsure:
            made[:] = self._recover(post, made, thread)
            self._unsure.discard(key)
        while len(made) < len(post.parts):
            number = len(made)
            fields = self.message(post, number)
            parent = thread or (made[0] if made else None)
            if parent is not None:
                fields["thread_ts"] = parent
                if number == 0:
                    fields["reply_broadcast"] = True
            try:
                data = self._send(
                    "chat_postMessage",
                    channel=self.config.channel,
                    unfurl_links=False,
                    unfurl_media=False,
                    **fields,
                )
            except SlackError as exc:
                if exc.maybe_done:
                    self._unsure.add(key)
                raise
            made.append(str(data["ts"]))
        del self._made[key]
        return made

    def _receipt(self, ids: list[str], url: str | None = None) -> Receipt:
        return Receipt(remote_id=ids[0], url=url or self._permalink(ids[0]), ids=tuple(ids))

    def publish(self, post: Post, key: str) -> Receipt:
        return self._receipt(self._parts(post, key, None))

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        return self._receipt(self._parts(post, key, receipt.remote_id))

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        """Edit each part in place; add parts as replies, delete parts no longer needed."""
        ids = list(receipt.ids or (receipt.remote_id,))
        new: list[str] = []
        for number in range(len(post.parts)):
            fields = self.message(post, number)
            if number < len(ids):
                data = self._send(
                    "chat_update", channel=self.config.channel, ts=ids[number], **fields
                )
            else:
                data = self._send(
                    "chat_postMessage",
                    channel=self.config.channel,
                    thread_ts=ids[0],
                    unfurl_links=False,
                    unfurl_media=False,
                    **fields,
                )
            new.append(str(data["ts"]))
        for stale in reversed(ids[len(post.parts) :]):
            self._delete(stale)
        return self._receipt(new, receipt.url)

    def _delete(self, ts: str) -> None:
        try:
            self._call("chat_delete", channel=self.config.channel, ts=ts)
        except SlackError as exc:
            if exc.code != "message_not_found":  # already gone is what we wanted
                raise

    def delete(self, receipt: Receipt) -> None:
        for ts in reversed(receipt.ids or (receipt.remote_id,)):
            self._delete(ts)

    # --- recovery --------------------------------------------------------------------

    def _thread(self, parent: str) -> list[dict[str, Any]]:
        """The messages of *parent*'s thread, the parent first, oldest first."""
        data = self._call(
            "conversations_replies", channel=self.config.channel, ts=parent, limit=200
        )
        return [m for m in data.get("messages") or () if isinstance(m, dict)]

    def _follow(self, post: Post, made: list[str], thread: list[dict[str, Any]]) -> list[str]:
        """*made* extended with the next parts of *post* found, in order, in *thread*."""
        made = list(made)
        for message in thread:
            if len(made) == len(post.parts):
                break
            after = not made or float(str(message.get("ts"))) > float(made[-1])
            if after and message.get("text") == mrkdwn(post.parts[len(made)]):
                made.append(str(message["ts"]))
        return made

    def _recover(self, post: Post, made: list[str], thread: str | None) -> list[str]:
        """The parts of *post* that exist after a request whose outcome is unknown."""
        if not made and thread is None:
            found = self.find(post)
            return list(found.ids) if found else []
        parent = thread or made[0]
        return self._follow(post, made, self._thread(parent))

    def find(self, post: Post) -> Receipt | None:
        """The oldest of the last 100 messages linking *post*'s permalink, and its thread."""
        data = self._call("conversations_history", channel=self.config.channel, limit=HISTORY_LIMIT)
        link = f"<{escape(post.link)}>"
        matches = [
            m
            for m in data.get("messages") or ()
            if isinstance(m, dict) and link in str(m.get("text") or "") and m.get("ts")
        ]
        if not matches:
            return None
        first = matches[-1]  # newest first: the last match is the original
        made = [str(first["ts"])]
        if len(post.parts) > 1:
            parent = str(first.get("thread_ts") or first["ts"])
            made = self._follow(post, made, self._thread(parent))
        return self._receipt(made)


class SlackWebhookChannel(SlackChannel):
    """Incoming-webhook mode: post only (see the module docstring)."""

    supports_edit = False
    supports_delete = False
    supports_threads = False
    can_find = False

    def __init__(self, config: SlackConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._hook: WebhookClient | None = None

    def _webhook(self) -> WebhookClient:
        if self._hook is None:
            url = self._secret("webhook_url", "the Incoming Webhook URL of the Slack app")
            self._hook = WebhookClient(
                url=url,
                timeout=cast(int, self.config.timeout),  # urllib takes float seconds
                retry_handlers=[],
                user_agent_prefix=f"stormhub/{__version__}",
            )
        return self._hook

    def publish(self, post: Post, key: str) -> Receipt:
        hook = self._webhook()
        try:
            response = hook.send(**self.message(post, 0), unfurl_links=False, unfurl_media=False)
        except (TimeoutError, URLError, OSError, HTTPException, SlackClientError) as exc:
            raise self._transport_error(exc) from None
        status, body = int(response.status_code), str(response.body or "").strip()
        if status == 200 and body == "ok":
            # A webhook answers no id: the delivery key stands for the message.
            return Receipt(remote_id=key, url=None, ids=(key,))
        raise self._hook_error(status, body, {str(k): str(v) for k, v in response.headers.items()})

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        return self.publish(post, key)

    def find(self, post: Post) -> Receipt | None:
        return None

    def _hook_error(self, status: int, body: str, headers: dict[str, str]) -> PublishError:
        said = self.scrub(body[:200]) or "no details"
        env = self.env_name("webhook_url")
        new_hook = (
            "create a new Incoming Webhook for the channel (api.slack.com/apps > Incoming "
            f"Webhooks) and set {env}"
        )
        if status == 429:
            wait = retry_after_seconds(headers, "retry-after")
            return SlackError(
                f"{PLATFORM} rate limit reached ({said}); retrying",
                code=body, transient=True, retry_after=wait, status=status,
            )  # fmt: skip
        if status >= 500:
            return SlackError(
                f"{PLATFORM} server error {status} ({said}); retrying",
                code=body, transient=True, status=status,
            )  # fmt: skip
        if status in (401, 403) and body == "action_prohibited":
            return SlackError(
                f"{PLATFORM} refused the webhook ({status}: {said}): a workspace admin "
                "restricts posting here; ask them, or use another channel",
                code=body, transient=False, status=status, fatal=True,
            )  # fmt: skip
        if status in (401, 403) or body in ("invalid_token", "no_service", "no_team"):
            return SlackError(
                f"{PLATFORM} rejected the webhook's credentials ({status}: {said}): {new_hook}",
                code=body, transient=False, status=status, fatal=True,
            )  # fmt: skip
        if status in (404, 410):
            return SlackError(
                f"{PLATFORM} refused the webhook ({status}: {said}): its channel is gone or "
                f"archived; {new_hook}",
                code=body, transient=False, status=status, fatal=True,
            )  # fmt: skip
        return SlackError(
            f"{PLATFORM} refused the post ({status}: {said})",
            code=body, transient=False, status=status, fatal=False,
        )  # fmt: skip
