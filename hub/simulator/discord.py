"""A simulated Discord webhook: one webhook on one channel, with its messages.

Speaks the Execute / Get / Edit / Delete Webhook Message calls as
developers/resources/webhook.mdx (discord/discord-api-docs) describes them, on
``/api/webhooks/{id}/{token}`` and the versioned ``/api/v{n}/webhooks/...``:

- ``POST`` answers the Message object with ``?wait=true``, else 204; ``?thread_id=``
  puts the message in a thread of the channel (any snowflake is taken as a thread).
- messages hold at most 2,000 code points of ``content``, at most 10 embeds whose
  titles (256), descriptions (4,096), fields, footers and authors keep Embed Limits
  (6,000 characters in all); anything else is 400 with code 50035 "Invalid Form Body"
  and its nested ``errors`` by field, as Discord words them. A message with nothing in
  it is 400 code 50006 "Cannot send an empty message".
- ``allowed_mentions`` is respected: ``mention_everyone`` and ``mentions`` of the
  answered Message say who would have been pinged.
- a wrong token is 401 code 50027 "Invalid Webhook Token"; another webhook id, or this
  one after :meth:`DiscordSim.delete_webhook`, is 404 code 10015 "Unknown Webhook"; a
  message id it does not hold is 404 code 10008 "Unknown Message".
- every answer has the rate-limit headers (``X-RateLimit-Limit``, ``-Remaining``,
  ``-Reset``, ``-Reset-After``, ``-Bucket``); with :attr:`DiscordSim.rate_limit` set, the
  bucket allows that many requests per :attr:`DiscordSim.rate_period` seconds and then
  answers 429 with ``{"message": "You are being rate limited.", "retry_after": <float>,
  "global": false}``, ``Retry-After`` (whole seconds, rounded up) and
  ``X-RateLimit-Scope``. Off by default, so a fan-out in a test is not slowed down.

Ids are snowflakes: milliseconds since the Discord epoch (2015-01-01) shifted left 22,
with a sequence in the low bits.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hub.simulator.core import PlatformSim, Received, Response, json_response

DISCORD_EPOCH_MS = 1_420_070_400_000
WEBHOOK_ID = "1100000000000000001"  # the drill's webhook (DiscordConfig.drill_secret)
CHANNEL_ID = "1100000000000000002"
GUILD_ID = "1100000000000000003"
MAX_CONTENT = 2000
MAX_EMBEDS = 10
EMBED_LIMITS = {"title": 256, "description": 4096}
MAX_EMBED_TOTAL = 6000
INVALID_FORM_BODY = 50035
DICT_ONLY = "Only dictionaries may be used in a DictType"
_PATH = re.compile(
    r"^/api(?:/v(?P<version>\d+))?/webhooks/(?P<id>[^/]+)/(?P<token>[^/]+)"
    r"(?:/messages/(?P<message>[^/]+))?/?$"
)
_USER_MENTION = re.compile(r"<@!?(\d+)>")


@dataclass
class Message:
    id: str
    channel_id: str
    content: str
    embeds: list[dict[str, Any]]
    timestamp: str
    username: str
    mention_everyone: bool = False
    mentions: list[str] = field(default_factory=list)
    edited_timestamp: str | None = None
    deleted: bool = False


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="microseconds")


def _error(code: str, message: str) -> dict[str, Any]:
    """One field's reason in a 50035 body: ``{"_errors": [{"code", "message"}]}``."""
    return {"_errors": [{"code": code, "message": message}]}


def _max_length(limit: int) -> dict[str, Any]:
    return _error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


class DiscordSim(PlatformSim):
    name: ClassVar[str] = "discord"

    def __init__(self, token: str | None = None, webhook_id: str = WEBHOOK_ID) -> None:
        super().__init__()
        self.token = token  # None: any token is accepted
        self.webhook_id = webhook_id
        self.webhook_name = "StormHub"
        self.deleted_webhook = False
        self.messages: dict[str, Message] = {}
        self.rate_limit: int | None = None
        self.rate_period = 2.0
        self.clock = time.time
        self._window: tuple[float, int] = (0.0, 0)  # (start, requests in it)
        self._sequence = 0
        self._ids = threading.Lock()

    def delete_webhook(self) -> None:
        """As if someone deleted the webhook in Discord: every call is 404 10015."""
        self.deleted_webhook = True

    def describe(self) -> list[str]:
        lines = []
        for message in self.messages.values():
            if message.deleted:
                continue
            titles = " | ".join(str(e.get("title", "")) for e in message.embeds if e.get("title"))
            first = message.content.split("\n", 1)[0]
            line = first or f"[embed: {titles}]"
            images = [e["image"]["url"] for e in message.embeds if isinstance(e.get("image"), dict)]
            if images:
                line += f" [image: {images[0]}]"
            lines.append(line)
        return lines

    # --- requests --------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        match = _PATH.match(request.path)
        if match is None:
            return self._answer(404, {"message": "404: Not Found", "code": 0})
        if match["version"] is not None and int(match["version"]) < 6:
            return self._answer(400, {"message": "Invalid API version", "code": 50041})
        if match["id"] != self.webhook_id or self.deleted_webhook:
            return self._answer(404, {"message": "Unknown Webhook", "code": 10015})
        if self.token is not None and match["token"] != self.token:
            return self._answer(401, {"message": "Invalid Webhook Token", "code": 50027})
        limited = self._throttle()
        if limited is not None:
            return limited
        message_id = match["message"]
        if message_id is None:
            if request.method != "POST":
                return self._answer(405, {"message": "405: Method Not Allowed", "code": 0})
            return self._execute(request)
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            return self._answer(404, {"message": "Unknown Message", "code": 10008})
        if request.method == "GET":
            return self._answer(200, self._entity(message))
        if request.method == "PATCH":
            return self._edit(request, message)
        if request.method == "DELETE":
            message.deleted = True
            return self._answer(204, None)
        return self._answer(405, {"message": "405: Method Not Allowed", "code": 0})

    def _execute(self, request: Received) -> Response:
        body, problem = self._body(request)
        if problem is not None:
            return problem
        assert body is not None
        invalid = self._invalid(body, creating=True)
        if invalid is not None:
            return invalid
        content = str(body.get("content") or "").strip()
        embeds = list(body.get("embeds") or [])
        now = self.clock()
        thread = (request.query.get("thread_id") or [""])[-1]
        everyone, mentions = self._mentions(content, body.get("allowed_mentions"))
        message = Message(
            id=self._snowflake(now),
            channel_id=thread or CHANNEL_ID,
            content=content,
            embeds=[self._stored_embed(e) for e in embeds],
            timestamp=_iso(now),
            username=str(body.get("username") or self.webhook_name),
            mention_everyone=everyone,
            mentions=mentions,
        )
        self.messages[message.id] = message
        wait = (request.query.get("wait") or ["false"])[-1].lower() == "true"
        if not wait:
            return self._answer(204, None)
        return self._answer(200, self._entity(message))

    def _edit(self, request: Received, message: Message) -> Response:
        body, problem = self._body(request)
        if problem is not None:
            return problem
        assert body is not None
        invalid = self._invalid(body, creating=False)
        if invalid is not None:
            return invalid
        if "content" in body:
            message.content = str(body.get("content") or "").strip()
            # Without allowed_mentions in the edit, Discord parses with default allowances.
            message.mention_everyone, message.mentions = self._mentions(
                message.content, body.get("allowed_mentions")
            )
        if "embeds" in body:
            message.embeds = [self._stored_embed(e) for e in body.get("embeds") or []]
        if not message.content and not message.embeds:
            return self._answer(400, {"message": "Cannot send an empty message", "code": 50006})
        message.edited_timestamp = _iso(self.clock())
        return self._answer(200, self._entity(message))

    def _body(self, request: Received) -> tuple[dict[str, Any] | None, Response | None]:
        kind = request.headers.get("content-type", "")
        if "application/json" not in kind:
            reason = _error(
                "CONTENT_TYPE_INVALID",
                "Expected \"Content-Type\" header to be one of {'application/json'}.",
            )
            return None, self._form_error(reason)
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return None, self._answer(400, {"message": "400: Bad Request", "code": 0})
        if not isinstance(body, dict):
            return None, self._form_error(_error("DICT_TYPE_CONVERT", DICT_ONLY))
        return body, None

    def _form_error(self, errors: dict[str, Any]) -> Response:
        body = {"message": "Invalid Form Body", "code": INVALID_FORM_BODY, "errors": errors}
        return self._answer(400, body)

    def _invalid(self, body: dict[str, Any], *, creating: bool) -> Response | None:
        errors: dict[str, Any] = {}
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            errors["content"] = _error("BASE_TYPE_STRING", "Must be a string.")
        elif isinstance(content, str) and len(content) > MAX_CONTENT:
            errors["content"] = _max_length(MAX_CONTENT)
        username = body.get("username")
        if isinstance(username, str) and re.search("discord|clyde", username, re.IGNORECASE):
            word = "clyde" if "clyde" in username.lower() else "discord"
            errors["username"] = _error(
                "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{word}"'
            )
        embeds = body.get("embeds")
        if embeds is not None:
            if not isinstance(embeds, list):
                errors["embeds"] = _error("LIST_TYPE_CONVERT", "Must be an array.")
            elif len(embeds) > MAX_EMBEDS:
                errors["embeds"] = _max_length(MAX_EMBEDS)
            else:
                errors.update(self._embed_errors(embeds))
        if errors:
            return self._form_error(errors)
        if creating and not str(content or "").strip() and not embeds:
            return self._answer(400, {"message": "Cannot send an empty message", "code": 50006})
        return None

    def _embed_errors(self, embeds: list[Any]) -> dict[str, Any]:
        """Embed Limits, per embed and in all (developers/resources/message.mdx)."""
        found: dict[str, Any] = {}
        total = 0
        for index, embed in enumerate(embeds):
            if not isinstance(embed, dict):
                found[str(index)] = _error("DICT_TYPE_CONVERT", DICT_ONLY)
                continue
            here: dict[str, Any] = {}
            for key, limit in EMBED_LIMITS.items():
                value = str(embed.get(key) or "").strip()
                total += len(value)
                if len(value) > limit:
                    here[key] = _max_length(limit)
            for key, name in (("footer", "text"), ("author", "name")):
                part = embed.get(key)
                if isinstance(part, dict):
                    total += len(str(part.get(name) or "").strip())
            for item in embed.get("fields") or []:
                if isinstance(item, dict):
                    total += len(str(item.get("name", "")).strip())
                    total += len(str(item.get("value", "")).strip())
            url = embed.get("url")
            if url is not None and not str(url).startswith(("http://", "https://")):
                here["url"] = _error("URL_TYPE_INVALID_URL", "Not a well formed URL.")
            image = embed.get("image")
            if image is not None and not (isinstance(image, dict) and image.get("url")):
                here["image"] = {"url": _error("BASE_TYPE_REQUIRED", "This field is required")}
            color = embed.get("color")
            if color is not None and not (isinstance(color, int) and 0 <= color <= 0xFFFFFF):
                here["color"] = _error(
                    "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215."
                )
            if here:
                found[str(index)] = here
        if total > MAX_EMBED_TOTAL:
            reason = f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
            return {"embeds": _error("MAX_EMBED_SIZE_EXCEEDED", reason)}
        return {"embeds": found} if found else {}

    @staticmethod
    def _mentions(content: str, allowed: Any) -> tuple[bool, list[str]]:
        """Who the message pings: everything Discord parses, within ``allowed_mentions``."""
        parse = {"everyone", "users", "roles"}  # Discord's default allowances
        users: list[str] = []
        if isinstance(allowed, dict):
            parse = set(allowed.get("parse") or [])
            users = [str(u) for u in allowed.get("users") or []]
        everyone = "everyone" in parse and bool(re.search(r"@(everyone|here)\b", content))
        mentioned = _USER_MENTION.findall(content)
        pinged = [u for u in mentioned if "users" in parse or u in users]
        return everyone, pinged

    @staticmethod
    def _stored_embed(embed: dict[str, Any]) -> dict[str, Any]:
        stored: dict[str, Any] = {"type": "rich"}
        for key, value in embed.items():
            if key in ("type", "provider", "video"):
                continue  # webhooks cannot set these
            stored[key] = value
        image = stored.get("image")
        if isinstance(image, dict) and image.get("url"):
            url = str(image["url"])
            stored["image"] = {
                "url": url,
                "proxy_url": "https://images-ext-1.discordapp.net/external/sim/"
                + url.split("://")[-1],
            }
        return stored

    def _entity(self, message: Message) -> dict[str, Any]:
        return {
            "type": 0,
            "content": message.content,
            "mentions": [
                {"id": u, "username": f"user{u[-4:]}", "discriminator": "0", "avatar": None}
                for u in message.mentions
            ],
            "mention_roles": [],
            "attachments": [],
            "embeds": message.embeds,
            "timestamp": message.timestamp,
            "edited_timestamp": message.edited_timestamp,
            "flags": 0,
            "components": [],
            "id": message.id,
            "channel_id": message.channel_id,
            "author": {
                "bot": True,
                "id": self.webhook_id,
                "username": message.username,
                "avatar": None,
                "discriminator": "0000",
            },
            "pinned": False,
            "mention_everyone": message.mention_everyone,
            "tts": False,
            "webhook_id": self.webhook_id,
        }

    # --- ids and rate limits -----------------------------------------------------------

    def _snowflake(self, now: float) -> str:
        with self._ids:
            self._sequence = (self._sequence + 1) % 4096
            return str(((int(now * 1000) - DISCORD_EPOCH_MS) << 22) | self._sequence)

    def _rate_state(self) -> tuple[int, int, float]:
        """(limit, remaining, reset instant) of the webhook's bucket now."""
        now = self.clock()
        limit = self.rate_limit or 5
        start, used = self._window
        if now - start >= self.rate_period:
            start, used = now, 0
            self._window = (start, used)
        return limit, max(0, limit - used), start + self.rate_period

    def _throttle(self) -> Response | None:
        with self.lock:
            _, remaining, reset = self._rate_state()
            if self.rate_limit is None or remaining > 0:
                start, used = self._window
                self._window = (start, used + 1)
                return None
        wait = max(0.0, reset - self.clock())
        body = {"message": "You are being rate limited.", "retry_after": round(wait, 3),
                "global": False}  # fmt: skip
        return self._answer(
            429, body, **{"Retry-After": str(math.ceil(wait)), "X-RateLimit-Scope": "shared"}
        )

    def _answer(self, code: int, body: Any, **headers: str) -> Response:
        with self.lock:
            limit, remaining, reset = self._rate_state()
        rate = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{reset:.3f}",
            "X-RateLimit-Reset-After": f"{max(0.0, reset - self.clock()):.3f}",
            "X-RateLimit-Bucket": "c3ab6f7e0d2e4f8a9b1c2d3e4f5a6b7c",
            **headers,
        }
        if body is None:
            return code, rate, b""
        return json_response(code, body, **rate)


__all__ = ["CHANNEL_ID", "WEBHOOK_ID", "DiscordSim", "Message"]
