"""A Telegram channel as the Bot API serves it to one bot, in memory.

Answers ``/bot<token>/<method>`` (method names case-insensitive, as the Bot API server
lower-cases them) with parameters as JSON, form-encoded or in the query string (nested
objects as JSON strings there): ``sendMessage``, ``editMessageText``,
``deleteMessage``, ``getMe`` and ``getChat``.

Modelled on the Bot API (core.telegram.org/bots/api) and its server
(tdlib/telegram-bot-api ``HttpConnection.cpp``, ``Query.cpp``, ``Client.cpp``):

- Answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code",
  "description"}``; a path that is not ``/bot<token>/<method>`` is 404 ``Not Found``,
  a token that is not well formed (``<digits>:<35 characters>``) or not
  :attr:`TelegramSim.token` (when set) is 401 ``Unauthorized``, an unknown method 404
  ``Not Found``.
- One channel; ``chat_id`` is ``@username`` (the first one asked for, as the drill's
  channels.yaml names it, unless ``chat_username`` is given) or the numeric id, anything
  else ``Bad Request: chat not found``; the bot outside the channel (``member =
  False``) ``Forbidden: bot is not a member of the channel chat`` (403), a member that
  may not post (``admin = False``) ``Bad Request: need administrator rights in the
  channel chat``.
- Messages: sequential ``message_id``, channel posts with ``chat`` and ``sender_chat``,
  ``date``/``edit_date`` in Unix seconds, ``reply_to_message``, ``link_preview_options``
  echoed, ``entities`` with UTF-16 offsets (``url`` for each link found in the text,
  and one per HTML tag). ``parse_mode: HTML`` is parsed as tdlib does: the supported
  tags only, ``&lt;``/``&gt;``/``&amp;``/``&quot;`` and numeric entities, other
  ``&`` kept as typed; a bad tag is ``Bad Request: can't parse entities: ...``. The text
  after parsing must have 1-4,096 code points (``message text is empty`` /
  ``message is too long``).
- ``editMessageText`` with the same text and entities is ``message is not modified:
  ...``, a missing message ``message to edit not found``. ``deleteMessage`` is refused
  with ``message can't be deleted`` 48 hours after the message was sent (by
  :attr:`TelegramSim.clock`); a missing one is ``message to delete not found``.
- Flood control: with :attr:`TelegramSim.rate_limit` set, more messages than that per
  minute answer 429 ``Too Many Requests: retry after N`` with ``parameters.retry_after``
  and a ``Retry-After`` header (the server sends both).
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.text import find_urls, utf16_length

MAX_TEXT = 4096
DELETE_WINDOW = 48 * 3600
_PATH = re.compile(r"^/bot([^/]*)/([A-Za-z]+)$")
_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{35}$")
_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ParseError(ValueError):
    pass


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """(text, entities) of a ``parse_mode: HTML`` message, or :class:`ParseError`."""
    out: list[str] = []
    stack: list[tuple[str, int, dict[str, str]]] = []  # tag, utf-16 offset, attributes
    entities: list[dict[str, Any]] = []
    length = 0  # utf-16 units so far
    i = 0
    while i < len(source):
        char = source[i]
        offset = len(source[:i].encode())
        if char == "<":
            end = source.find(">", i)
            if source.startswith("</", i):
                if end < 0:
                    raise ParseError(f"Unclosed end tag at byte offset {offset}")
                name = source[i + 2 : end].strip().lower()
                if not stack:
                    raise ParseError(f"Unexpected end tag at byte offset {offset}")
                tag, start, attributes = stack.pop()
                if name != tag:
                    raise ParseError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{tag}>", '
                        f'found "</{name}>"'
                    )
                if length > start:
                    entity: dict[str, Any] = {
                        "offset": start,
                        "length": length - start,
                        "type": _TAGS[tag],
                    }
                    if tag == "a":
                        entity["url"] = attributes.get("href", "")
                    if tag == "pre" and attributes.get("language"):
                        entity["language"] = attributes["language"]
                    entities.append(entity)
                i = end + 1
                continue
            match = re.match(r"<([a-zA-Z][a-zA-Z0-9-]*)", source[i:])
            if match is None:
                raise ParseError(f"Unexpected end of name token at byte offset {offset}")
            name = match[1].lower()
            if name not in _TAGS:
                raise ParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
            if end < 0:
                raise ParseError(f"Unclosed start tag at byte offset {offset}")
            attributes = {
                k.lower(): html.unescape(v)
                for k, v in re.findall(r'([a-zA-Z-]+)\s*=\s*"([^"]*)"', source[i:end])
            }
            if name == "span" and attributes.get("class") != "tg-spoiler":
                raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
            stack.append((name, length, attributes))
            i = end + 1
            continue
        if char == "&":
            match = re.match(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});", source[i:])
            if match is not None:
                decoded = html.unescape(match[0])
                out.append(decoded)
                length += utf16_length(decoded)
                i += len(match[0])
                continue
        out.append(char)
        length += utf16_length(char)
        i += 1
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), entities


def plain_entities(text: str) -> list[dict[str, Any]]:
    """The ``url`` entities Telegram finds in *text* itself."""
    return [
        {
            "offset": utf16_length(text[:start]),
            "length": utf16_length(text[start:end]),
            "type": "url",
        }
        for start, end, _ in find_urls(text)
    ]


@dataclass
class _Message:
    message_id: int
    date: int
    text: str
    entities: list[dict[str, Any]]
    link_preview_options: dict[str, Any] | None = None
    reply_to: int | None = None
    edit_date: int | None = None
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class TelegramSim(PlatformSim):
    """One public channel, one bot that is an administrator in it."""

    name: ClassVar[str] = "telegram"
    bot_id = 7000000001
    bot_username = "stormhub_sim_bot"
    chat_title = "StormHub (simulated)"

    def __init__(self, *, token: str | None = None, chat_username: str | None = None) -> None:
        super().__init__()
        self.token = token  # None: any well-formed token is valid
        self.chat_id = -1001234567890
        # None: the first @username asked for (the drill's channels.yaml value)
        self.chat_username = chat_username
        self.member = True
        self.admin = True
        self.rate_limit: int | None = None  # messages per minute
        self.messages: dict[int, _Message] = {}
        self.clock = time.time
        self._next_id = 100
        self._sent: list[float] = []

    # --- what the drill shows --------------------------------------------------------

    def describe(self) -> list[str]:
        with self.lock:
            live = sorted(
                (m for m in self.messages.values() if not m.deleted), key=lambda m: m.message_id
            )
            lines = []
            for message in live:
                first = message.text.strip().splitlines()[0] if message.text.strip() else ""
                lines.append(("↳ " if message.reply_to else "") + (first or "(empty)"))
            return lines

    # --- HTTP ------------------------------------------------------------------------

    @staticmethod
    def _fail(code: int, description: str, **extra: Any) -> Response:
        headers = extra.pop("headers", {})
        body = {"ok": False, "error_code": code, "description": description, **extra}
        return json_response(code, body, **headers)

    @staticmethod
    def _ok(result: Any) -> Response:
        return json_response(200, {"ok": True, "result": result})

    @staticmethod
    def _params(request: Received) -> dict[str, Any]:
        """The request's parameters; in a form, a JSON object or list is decoded."""
        params = request.params
        if "json" in request.headers.get("content-type", ""):
            return params
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params

    def handle(self, request: Received) -> Response:
        with self.lock:
            match = _PATH.match(request.path)
            if match is None:
                return self._fail(404, "Not Found")
            token, method = match[1], match[2].lower()
            if not _TOKEN.match(token) or (self.token is not None and token != self.token):
                return self._fail(401, "Unauthorized")
            params = self._params(request)
            handler = {
                "getme": self._get_me,
                "getchat": self._get_chat,
                "sendmessage": self._send,
                "editmessagetext": self._edit,
                "deletemessage": self._delete,
            }.get(method)
            if handler is None:
                return self._fail(404, "Not Found")
            return handler(params)

    def _chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.chat_id, "title": self.chat_title}
        if self.chat_username is not None:  # a private channel has none
            chat["username"] = self.chat_username
        return {**chat, "type": "channel"}

    def _get_me(self, params: dict[str, Any]) -> Response:
        return self._ok(
            {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "StormHub",
                "username": self.bot_username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    def _chat_problem(self, params: dict[str, Any], *, posting: bool = False) -> Response | None:
        wanted = str(params.get("chat_id") or "")
        if self.chat_username is None and re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{4,31}", wanted):
            self.chat_username = wanted[1:]
        named = (
            self.chat_username is not None and wanted.lower() == f"@{self.chat_username}".lower()
        )
        if not named and wanted != str(self.chat_id):
            return self._fail(400, "Bad Request: chat not found")
        if not self.member:
            return self._fail(403, "Forbidden: bot is not a member of the channel chat")
        if posting and not self.admin:
            return self._fail(400, "Bad Request: need administrator rights in the channel chat")
        return None

    def _get_chat(self, params: dict[str, Any]) -> Response:
        return self._chat_problem(params) or self._ok(self._chat())

    def _entity(self, message: _Message, *, nested: bool = True) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "message_id": message.message_id,
            "sender_chat": self._chat(),
            "chat": self._chat(),
            "date": message.date,
            "text": message.text,
        }
        if message.entities:
            entity["entities"] = message.entities
        if message.link_preview_options:
            entity["link_preview_options"] = message.link_preview_options
        if message.edit_date is not None:
            entity["edit_date"] = message.edit_date
        parent = self.messages.get(message.reply_to or 0)
        if nested and parent is not None and not parent.deleted:
            entity["reply_to_message"] = self._entity(parent, nested=False)
        return entity

    def _text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]], Response | None]:
        """The message text and entities after parsing, and Telegram's refusal if any."""
        source = str(params.get("text") or "")
        mode = str(params.get("parse_mode") or "")
        if mode.lower() == "html":
            try:
                text, tagged = parse_html(source)
            except ParseError as exc:
                return "", [], self._fail(400, f"Bad Request: can't parse entities: {exc}")
        elif mode:
            if mode not in ("Markdown", "MarkdownV2"):
                return "", [], self._fail(400, f"Bad Request: unsupported parse_mode {mode!r}")
            text, tagged = source, []  # not modelled: taken as plain text
        else:
            text, tagged = source, []
        if not text.strip():
            return text, [], self._fail(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return text, [], self._fail(400, "Bad Request: message is too long")
        linked = {(e["offset"], e["length"]) for e in tagged if e["type"] == "text_link"}
        found = [e for e in plain_entities(text) if (e["offset"], e["length"]) not in linked]
        return text, sorted(tagged + found, key=lambda e: (e["offset"], -e["length"])), None

    def _flood(self) -> Response | None:
        now = self.clock()
        self._sent = [t for t in self._sent if now - t < 60]
        if self.rate_limit is not None and len(self._sent) >= self.rate_limit:
            wait = max(1, math.ceil(60 - (now - self._sent[0])))
            return self._fail(
                429,
                f"Too Many Requests: retry after {wait}",
                parameters={"retry_after": wait},
                headers={"Retry-After": str(wait)},
            )
        self._sent.append(now)
        return None

    def _send(self, params: dict[str, Any]) -> Response:
        problem = self._chat_problem(params, posting=True)
        if problem is not None:
            return problem
        text, entities, refused = self._text(params)
        if refused is not None:
            return refused
        reply = params.get("reply_parameters")
        reply = reply if isinstance(reply, dict) else {}
        reply_id = reply.get("message_id") or params.get("reply_to_message_id")
        parent = self.messages.get(int(reply_id)) if reply_id else None
        if reply_id and (parent is None or parent.deleted):
            allowed = reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            )
            if str(allowed).lower() not in ("true", "1"):
                return self._fail(400, "Bad Request: message to be replied not found")
            parent = None
        limited = self._flood()
        if limited is not None:
            return limited
        preview = params.get("link_preview_options")
        message = _Message(
            message_id=self._next_id,
            date=int(self.clock()),
            text=text,
            entities=entities,
            link_preview_options=preview if isinstance(preview, dict) else None,
            reply_to=parent.message_id if parent is not None else None,
        )
        self._next_id += 1
        self.messages[message.message_id] = message
        return self._ok(self._entity(message))

    def _message(self, params: dict[str, Any]) -> _Message | None:
        try:
            message = self.messages.get(int(params.get("message_id") or 0))
        except (TypeError, ValueError):
            return None
        return None if message is None or message.deleted else message

    def _edit(self, params: dict[str, Any]) -> Response:
        problem = self._chat_problem(params, posting=True)
        if problem is not None:
            return problem
        message = self._message(params)
        if message is None:
            return self._fail(400, "Bad Request: message to edit not found")
        text, entities, refused = self._text(params)
        if refused is not None:
            return refused
        if (message.text, message.entities) == (text, entities):
            return self._fail(400, NOT_MODIFIED)
        message.text, message.entities = text, entities
        preview = params.get("link_preview_options")
        if isinstance(preview, dict):
            message.link_preview_options = preview
        message.edit_date = int(self.clock())
        return self._ok(self._entity(message))

    def _delete(self, params: dict[str, Any]) -> Response:
        problem = self._chat_problem(params, posting=True)
        if problem is not None:
            return problem
        message = self._message(params)
        if message is None:
            return self._fail(400, "Bad Request: message to delete not found")
        if self.clock() - message.date >= DELETE_WINDOW:
            return self._fail(400, "Bad Request: message can't be deleted")
        message.deleted = True
        return self._ok(True)
