"""One Slack channel's Web API and Incoming Webhook, as slack_sdk calls them, in memory.

Answers what the ``slack`` channel uses, under ``/api/``: ``chat.postMessage``,
``chat.update``, ``chat.delete``, ``chat.getPermalink``, ``conversations.history``,
``conversations.replies`` and ``auth.test``, each as JSON, form-encoded or query
parameters (slack_sdk's WebClient POSTs everything: JSON for the message calls, forms
for the others); and Incoming Webhooks at ``/services/T.../B.../<secret>``.

Modelled on Slack's documented behaviour (docs.slack.dev reference/methods/*, "Rate
limits", "Sending messages using incoming webhooks"):

- Web API answers are HTTP 200 ``{"ok": true, ...}`` or ``{"ok": false, "error":
  <code>}``; a missing token is ``not_authed``, a wrong one ``invalid_auth`` (any
  ``xox...`` token is accepted unless :attr:`SlackSim.token` is set); the channel is
  the first well-formed id asked for (the drill's channels.yaml value) unless
  ``channel_id`` is given, and another id is ``channel_not_found``; the app outside
  the channel (``member = False``) ``not_in_channel``; an archived channel
  ``is_archived``.
- Messages: ``ts`` ids (``"<epoch>.<6 digits>"``, increasing), bot messages with
  ``bot_id``/``app_id``/``bot_profile``, ``blocks`` kept as sent, threads by
  ``thread_ts`` (a reply to a reply joins the parent's thread), ``reply_broadcast``
  replies as ``subtype: thread_broadcast`` in the channel history, parents with
  ``reply_count``, ``edited`` after ``chat.update``.
- Limits: ``text`` over 40,000 characters is ``msg_too_long``; neither ``text`` nor
  ``blocks`` is ``no_text``; blocks are checked as Block Kit does for the types the
  channel sends (at most 50; a section's text at most 3,000 characters, a header's 150,
  an image's ``image_url`` and ``alt_text`` required, at most 3,000 and 2,000), refused
  as ``invalid_blocks`` with Slack's ``errors`` list and ``response_metadata.messages``.
  Slack fetches image URLs itself; the simulator cannot, so ``images_fail = True``
  answers what Slack says when that fails.
- Rate limits: with :attr:`SlackSim.rate_limit` set, more than that many messages per
  second in the channel (chat.postMessage's special tier) answer HTTP 429 ``{"ok":
  false, "error": "ratelimited"}`` with ``Retry-After``.
- Webhooks answer 200 ``ok`` (text/html) or an HTTP status with a plain-text code:
  400 ``invalid_payload``/``no_text``/``invalid_blocks``, 403 ``invalid_token`` (a
  secret other than :attr:`SlackSim.webhook_secret` when set), 404 ``no_service``,
  410 ``channel_is_archived``, 429 ``rate_limited``.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from hub.simulator.core import PlatformSim, Received, Response, json_response

MAX_TEXT = 40_000
MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
IMAGE_URL = 3000
ALT_TEXT = 2000
_WEBHOOK = re.compile(r"^/services/(T[A-Z0-9]+)/(B[A-Z0-9]+)/([A-Za-z0-9_-]+)$")


@dataclass
class _Message:
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    broadcast: bool = False
    edited_ts: str | None = None
    deleted: bool = False
    via_webhook: bool = False


def _shown(text: str) -> str:
    """What Slack shows for mrkdwn *text*: links as their text, escapes undone."""
    text = re.sub(r"<([^|>]+)(?:\|([^>]*))?>", lambda m: m[2] or m[1], text)
    text = text.replace("\u200b", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackSim(PlatformSim):
    """One workspace, one public channel, one app (bot user) in it."""

    name: ClassVar[str] = "slack"
    team_id = "T0SIMTEAM1"
    domain = "stormhub-sim"
    bot_user = "U0SIMBOT01"
    bot_id = "B0SIMBOT01"
    app_id = "A0SIMAPP01"

    def __init__(
        self,
        *,
        token: str | None = None,
        webhook_secret: str | None = None,
        channel_id: str | None = None,
    ) -> None:
        super().__init__()
        self.token = token  # None: any well-formed token is valid
        # None: the first well-formed channel id asked for (the one channels.yaml names)
        self.channel_id = channel_id
        self.webhook_secret = webhook_secret  # None: any webhook secret is valid
        self.member = True
        self.archived = False
        self.images_fail = False
        self.rate_limit: int | None = None  # messages per second in the channel
        self.messages: dict[str, _Message] = {}
        self.clock = time.time
        self._last_ts = 0.0
        self._recent: list[float] = []  # times of recent messages, for the rate limit

    # --- what the drill shows --------------------------------------------------------

    def describe(self) -> list[str]:
        with self.lock:
            live = sorted(
                (m for m in self.messages.values() if not m.deleted), key=lambda m: float(m.ts)
            )
            lines = []
            for message in live:
                shown = self._visible(message)
                first = shown.strip().splitlines()[0] if shown.strip() else "(empty)"
                images = [b for b in message.blocks if b.get("type") == "image"]
                extra = [f"[image: {b.get('alt_text', '')}]" for b in images]
                reply = message.thread_ts not in (None, message.ts)
                lines.append(" ".join([("↳ " if reply else "") + first, *extra]))
            return lines

    @staticmethod
    def _visible(message: _Message) -> str:
        texts = [
            str((b.get("text") or {}).get("text") or "")
            for b in message.blocks
            if b.get("type") in ("section", "header")
        ]
        return _shown("\n".join(texts) if texts else message.text)

    # --- HTTP ------------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        with self.lock:
            if request.path.startswith("/services/"):
                return self._webhook(request)
            if not request.path.startswith("/api/"):
                return 404, {"Content-Type": "text/plain"}, b"Not Found"
            method = request.path.removeprefix("/api/")
            params = request.params
            auth = request.headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            token = token or str(params.pop("token", "") or "")
            if not token:
                return self._fail("not_authed")
            if not token.startswith("xox") or (self.token is not None and token != self.token):
                return self._fail("invalid_auth")
            handler = {
                "auth.test": self._auth_test,
                "chat.postMessage": self._post,
                "chat.update": self._update,
                "chat.delete": self._delete,
                "chat.getPermalink": self._permalink,
                "conversations.history": self._history,
                "conversations.replies": self._replies,
            }.get(method)
            if handler is None:
                return self._fail("unknown_method")
            return handler(params)

    @staticmethod
    def _ok(body: dict[str, Any], **headers: str) -> Response:
        return json_response(200, {"ok": True, **body}, **headers)

    @staticmethod
    def _fail(code: str, status: int = 200, **extra: Any) -> Response:
        headers = extra.pop("headers", {})
        return json_response(status, {"ok": False, "error": code, **extra}, **headers)

    def _channel_problem(self, params: dict[str, Any]) -> Response | None:
        wanted = str(params.get("channel") or "")
        if self.channel_id is None and re.fullmatch(r"[CG][A-Z0-9]{8,}", wanted):
            self.channel_id = wanted
        if wanted != self.channel_id:
            return self._fail("channel_not_found")
        if not self.member:
            return self._fail("not_in_channel")
        return None

    def _auth_test(self, params: dict[str, Any]) -> Response:
        return self._ok(
            {
                "url": f"https://{self.domain}.slack.com/",
                "team": "StormHub (simulated)",
                "user": "stormhub",
                "team_id": self.team_id,
                "user_id": self.bot_user,
                "bot_id": self.bot_id,
                "is_enterprise_install": False,
            }
        )

    # --- messages --------------------------------------------------------------------

    def _new_ts(self) -> str:
        value = max(round(self.clock(), 6), round(self._last_ts + 0.000001, 6))
        self._last_ts = value
        return f"{value:.6f}"

    def _limited(self) -> Response | None:
        """chat.postMessage's special tier: about one message per second per channel."""
        now = self.clock()
        self._recent = [t for t in self._recent if now - t < 1.0]
        if self.rate_limit is not None and len(self._recent) >= self.rate_limit:
            wait = max(1, math.ceil(1.0 - (now - self._recent[0])))
            return self._fail("ratelimited", 429, headers={"Retry-After": str(wait)})
        self._recent.append(now)
        return None

    @staticmethod
    def _blocks(raw: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
        if raw is None or raw == "":
            return [], None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return None, "invalid_blocks_format"
        if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
            return None, "invalid_blocks_format"
        return raw, None

    def _block_errors(self, blocks: list[dict[str, Any]]) -> list[str]:
        """Block Kit's reasons for refusing *blocks*, as Slack words them."""
        errors: list[str] = []
        if len(blocks) > MAX_BLOCKS:
            errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
        for i, block in enumerate(blocks[:MAX_BLOCKS]):
            kind = block.get("type")
            text = block.get("text")
            if kind == "section":
                body = text.get("text") if isinstance(text, dict) else None
                if not isinstance(text, dict) or text.get("type") not in ("mrkdwn", "plain_text"):
                    if not block.get("fields"):
                        errors.append(
                            f"failed to match all allowed schemas [json-pointer:/blocks/{i}]"
                        )
                elif not isinstance(body, str) or not body:
                    errors.append(
                        f"must be more than 0 characters [json-pointer:/blocks/{i}/text/text]"
                    )
                elif len(body) > SECTION_TEXT:
                    errors.append(
                        f"must be less than {SECTION_TEXT + 1} characters "
                        f"[json-pointer:/blocks/{i}/text/text]"
                    )
            elif kind == "header":
                body = text.get("text") if isinstance(text, dict) else None
                if not isinstance(body, str) or (text or {}).get("type") != "plain_text":
                    errors.append(f"failed to match all allowed schemas [json-pointer:/blocks/{i}]")
                elif len(body) > HEADER_TEXT:
                    errors.append(
                        f"must be less than {HEADER_TEXT + 1} characters "
                        f"[json-pointer:/blocks/{i}/text/text]"
                    )
            elif kind == "image":
                url, alt = block.get("image_url"), block.get("alt_text")
                if not isinstance(url, str) or not url:
                    errors.append(f"missing required field: image_url [json-pointer:/blocks/{i}]")
                elif len(url) > IMAGE_URL:
                    errors.append(
                        f"must be less than {IMAGE_URL + 1} characters "
                        f"[json-pointer:/blocks/{i}/image_url]"
                    )
                elif self.images_fail or not url.startswith(("http://", "https://")):
                    errors.append(f"downloading image failed [json-pointer:/blocks/{i}/image_url]")
                if not isinstance(alt, str):
                    errors.append(f"missing required field: alt_text [json-pointer:/blocks/{i}]")
                elif len(alt) > ALT_TEXT:
                    errors.append(
                        f"must be less than {ALT_TEXT + 1} characters "
                        f"[json-pointer:/blocks/{i}/alt_text]"
                    )
            elif kind not in ("divider", "context", "rich_text", "actions"):
                errors.append(f"failed to match all allowed schemas [json-pointer:/blocks/{i}]")
        return errors

    def _content(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str | None]:
        """(text, blocks, the error code) of a message being posted or updated."""
        text = str(params.get("text") or "")
        blocks, problem = self._blocks(params.get("blocks"))
        if problem or blocks is None:
            return text, [], problem or "invalid_blocks_format"
        if not text.strip() and not blocks:
            return text, blocks, "no_text"
        if len(text) > MAX_TEXT:
            return text, blocks, "msg_too_long"
        return text, blocks, None

    def _invalid(self, code: str, blocks: list[dict[str, Any]]) -> Response:
        if code == "invalid_blocks":
            errors = self._block_errors(blocks)
            return self._fail(
                code,
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return self._fail(code)

    def _entity(self, message: _Message) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "user": self.bot_user,
            "type": "message",
            "ts": message.ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": message.text,
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": "StormHub",
                "deleted": False,
                "team_id": self.team_id,
            },
            "blocks": message.blocks,
        }
        if message.via_webhook:
            entity["subtype"] = "bot_message"
            entity.pop("user")
        replies = [
            m
            for m in self.messages.values()
            if m.thread_ts == message.ts and m.ts != message.ts and not m.deleted
        ]
        if message.thread_ts is not None:
            entity["thread_ts"] = message.thread_ts
            if message.thread_ts != message.ts:
                entity["parent_user_id"] = self.bot_user
        if replies:
            entity["thread_ts"] = message.ts
            entity["reply_count"] = len(replies)
            entity["reply_users"] = [self.bot_user]
            entity["reply_users_count"] = 1
            entity["latest_reply"] = max(replies, key=lambda m: float(m.ts)).ts
        if message.broadcast:
            entity["subtype"] = "thread_broadcast"
            parent = self.messages.get(message.thread_ts or "")
            if parent is not None:
                entity["root"] = {k: v for k, v in self._entity(parent).items() if k != "root"}
        if message.edited_ts:
            entity["edited"] = {"user": self.bot_user, "ts": message.edited_ts}
        return entity

    def _post(self, params: dict[str, Any]) -> Response:
        problem = self._channel_problem(params)
        if problem is not None:
            return problem
        if self.archived:
            return self._fail("is_archived")
        text, blocks, code = self._content(params)
        if code is None and self._block_errors(blocks):
            code = "invalid_blocks"
        if code is not None:
            return self._invalid(code, blocks)
        limited = self._limited()
        if limited is not None:
            return limited
        thread = str(params.get("thread_ts") or "") or None
        if thread is not None and thread in self.messages:
            thread = self.messages[thread].thread_ts or thread  # a reply's thread is its parent's
        broadcast = thread is not None and str(params.get("reply_broadcast", "")).lower() in (
            "1",
            "true",
        )
        message = _Message(self._new_ts(), text, blocks, thread_ts=thread, broadcast=broadcast)
        self.messages[message.ts] = message
        if thread is not None and thread in self.messages:
            self.messages[thread].thread_ts = thread
        return self._ok(
            {"channel": self.channel_id, "ts": message.ts, "message": self._entity(message)}
        )

    def _find(self, params: dict[str, Any], field: str) -> _Message | None:
        message = self.messages.get(str(params.get(field) or ""))
        return None if message is None or message.deleted else message

    def _update(self, params: dict[str, Any]) -> Response:
        problem = self._channel_problem(params)
        if problem is not None:
            return problem
        message = self._find(params, "ts")
        if message is None:
            return self._fail("message_not_found")
        if message.via_webhook:
            return self._fail("cant_update_message")
        text, blocks, code = self._content(params)
        if code is None and self._block_errors(blocks):
            code = "invalid_blocks"
        if code is not None:
            return self._invalid(code, blocks)
        message.text, message.blocks = text, blocks
        message.edited_ts = self._new_ts()
        return self._ok(
            {
                "channel": self.channel_id,
                "ts": message.ts,
                "text": message.text,
                "message": self._entity(message),
            }
        )

    def _delete(self, params: dict[str, Any]) -> Response:
        problem = self._channel_problem(params)
        if problem is not None:
            return problem
        message = self._find(params, "ts")
        if message is None:
            return self._fail("message_not_found")
        message.deleted = True
        return self._ok({"channel": self.channel_id, "ts": message.ts})

    def _permalink(self, params: dict[str, Any]) -> Response:
        problem = self._channel_problem(params)
        if problem is not None:
            return problem
        message = self._find(params, "message_ts")
        if message is None:
            return self._fail("message_not_found")
        link = (
            f"https://{self.domain}.slack.com/archives/{self.channel_id}/"
            f"p{message.ts.replace('.', '')}"
        )
        if message.thread_ts not in (None, message.ts):
            link += f"?thread_ts={message.thread_ts}&cid={self.channel_id}"
        return self._ok({"channel": self.channel_id, "permalink": link})

    @staticmethod
    def _limit(params: dict[str, Any], default: int) -> int:
        try:
            return min(999, max(1, int(params.get("limit") or default)))
        except ValueError:
            return default

    def _history(self, params: dict[str, Any]) -> Response:
        problem = self._channel_problem(params)
        if problem is not None:
            return problem
        rows = sorted(
            (
                m
                for m in self.messages.values()
                if not m.deleted and (m.thread_ts in (None, m.ts) or m.broadcast)
            ),
            key=lambda m: -float(m.ts),
        )
        start = int(str(params.get("cursor") or "0") or 0)
        limit = self._limit(params, 100)
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return self._ok(
            {
                "messages": [self._entity(m) for m in page],
                "has_more": more,
                "pin_count": 0,
                "channel_actions_ts": None,
                "channel_actions_count": 0,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            }
        )

    def _replies(self, params: dict[str, Any]) -> Response:
        problem = self._channel_problem(params)
        if problem is not None:
            return problem
        message = self.messages.get(str(params.get("ts") or ""))
        if message is None:
            return self._fail("thread_not_found")
        parent = message.thread_ts or message.ts
        rows = sorted(
            (
                m
                for m in self.messages.values()
                if not m.deleted and (m.ts == parent or m.thread_ts == parent)
            ),
            key=lambda m: float(m.ts),
        )
        limit = self._limit(params, 1000)
        return self._ok(
            {
                "messages": [self._entity(m) for m in rows[:limit]],
                "has_more": len(rows) > limit,
                "response_metadata": {"next_cursor": ""},
            }
        )

    # --- incoming webhooks -----------------------------------------------------------

    @staticmethod
    def _text(status: int, body: str, **headers: str) -> Response:
        return status, {"Content-Type": "text/html", **headers}, body.encode()

    def _webhook(self, request: Received) -> Response:
        match = _WEBHOOK.match(request.path)
        if request.method != "POST" or match is None:
            return self._text(404, "no_service")
        if self.webhook_secret is not None and match[3] != self.webhook_secret:
            return self._text(403, "invalid_token")
        try:
            payload = json.loads(request.body or b"")
        except ValueError:
            return self._text(400, "invalid_payload")
        if not isinstance(payload, dict):
            return self._text(400, "invalid_payload")
        if self.archived:
            return self._text(410, "channel_is_archived")
        text, blocks, code = self._content(payload)
        if code is None and self._block_errors(blocks):
            code = "invalid_blocks"
        if code is not None:
            return self._text(400, code)
        now = self.clock()
        self._recent = [t for t in self._recent if now - t < 1.0]
        if self.rate_limit is not None and len(self._recent) >= self.rate_limit:
            return self._text(429, "rate_limited", **{"Retry-After": "1"})
        self._recent.append(now)
        message = _Message(self._new_ts(), text, blocks, via_webhook=True)
        self.messages[message.ts] = message
        return self._text(200, "ok")
