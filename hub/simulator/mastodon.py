"""A Mastodon instance's REST API, as Mastodon.py calls it, in memory.

Answers what the ``mastodon`` channel uses: ``POST /api/v1/statuses`` (with
``Idempotency-Key``), ``PUT`` and ``DELETE /api/v1/statuses/:id``,
``GET /api/v1/statuses/:id``, ``GET /api/v1/accounts/verify_credentials``,
``GET /api/v1/accounts/:id/statuses`` and ``GET /api/v1/instance`` (and v2).
Mastodon.py with ``version_check_mode="none"`` asks for nothing at start-up.

Modelled on Mastodon 4.x: Status entities with string snowflake ids and HTML
``content``; Bearer tokens (401 ``The access token is invalid``); request bodies
form-encoded (what Mastodon.py sends) or JSON; the instance limit counted as
``StatusLengthValidator`` does (URLs 23, graphemes), refused with Rails' 422
``Validation failed: Text character limit of 500 exceeded``; idempotency keys kept
an hour per account (``PostStatusService``); ``X-RateLimit-*`` headers on every
answer and Rack::Attack's 429 ``Too many requests`` past the limit.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.text import find_urls, mastodon_length

IDEMPOTENCY_SECONDS = 3600  # redis.setex("idempotency:status:<account>:<key>", 3_600, ...)
VISIBILITIES = ("public", "unlisted", "private", "direct")
_HASHTAG = re.compile(r"(?<![\w/#])#(\w*[^\W\d_]\w*)")
_PARAGRAPHS = re.compile(r"\n{2,}")


@dataclass
class _Status:
    id: str
    text: str
    created_at: str
    visibility: str
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = "en"
    in_reply_to_id: str | None = None
    edited_at: str | None = None
    deleted: bool = False


def _timestamp(at: float) -> str:
    """Mastodon's datetime format: ISO 8601, milliseconds, Z."""
    when = dt.datetime.fromtimestamp(at, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _link(url: str) -> str:
    """A URL as Mastodon's TextFormatter links it: scheme hidden, long ones cut at 30."""
    scheme, _, rest = url.partition("://")
    shown, hidden = rest[:30], rest[30:]
    cls = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
        f'translate="no"><span class="invisible">{html.escape(scheme)}://</span>'
        f'<span class="{cls}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def to_html(text: str, base: str) -> str:
    """Plain status text as Mastodon renders ``content``: paragraphs, links, hashtags."""

    def inline(chunk: str) -> str:
        out, last = [], 0
        for start, end, url in find_urls(chunk):
            out += [_tags(chunk[last:start], base), _link(url)]
            last = end
        out.append(_tags(chunk[last:], base))
        return "<br />".join("".join(out).split("\n"))

    paragraphs = [p for p in _PARAGRAPHS.split(text.strip()) if p]
    return "".join(f"<p>{inline(p)}</p>" for p in paragraphs)


def _tags(chunk: str, base: str) -> str:
    escaped = html.escape(chunk, quote=False)
    return _HASHTAG.sub(
        lambda m: (
            f'<a href="{base}/tags/{m[1].lower()}" class="mention hashtag" rel="tag">'
            f"#<span>{m[1]}</span></a>"
        ),
        escaped,
    )


def to_text(content: str) -> str:
    """The plain text of a status's HTML ``content``."""
    content = re.sub(r"<br\s*/?>", "\n", content)
    content = re.sub(r"</p>\s*<p>", "\n\n", content)
    return html.unescape(re.sub(r"<[^>]+>", "", content)).strip()


class MastodonSim(PlatformSim):
    """One Mastodon account on one instance."""

    name: ClassVar[str] = "mastodon"
    username = "stormhub"
    account_id = "110000000000000001"

    def __init__(self, *, max_characters: int = 500, token: str | None = None) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.token = token  # None: any Bearer token is valid
        self.statuses: dict[str, _Status] = {}
        self.idempotency: dict[str, tuple[str, float]] = {}
        self.rate_limit = 300  # Rack::Attack throttle_per_token_api: 300 per 5 minutes
        self.rate_period = 300
        self._window: tuple[int, int] = (0, 0)  # (window start, requests in it)
        self._sequence = 0
        self.clock = time.time

    # --- what the drill shows --------------------------------------------------------

    def describe(self) -> list[str]:
        with self.lock:
            live = [s for s in self.statuses.values() if not s.deleted]
        lines = []
        for status in sorted(live, key=lambda s: int(s.id)):
            text = to_text(to_html(status.text, "")) or "(empty)"
            lines.append(text.splitlines()[0])
        return lines

    # --- HTTP ------------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        base = f"http://{request.headers.get('host', '127.0.0.1')}"
        with self.lock:
            auth = request.headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            if not token or (self.token is not None and token != self.token):
                return json_response(
                    401,
                    {"error": "The access token is invalid"},
                    **{
                        "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                        'error_description="The access token is invalid"'
                    },
                )
            limited = self._count()
            if limited is not None:
                return limited
            code, body, extra = self._route(request, base)
            return json_response(code, body, **self._rate_headers(), **extra)

    def _count(self) -> Response | None:
        now = self.clock()
        start = int(now) - int(now) % self.rate_period
        window_start, used = self._window
        used = used + 1 if window_start == start else 1
        self._window = (start, used)
        if used > self.rate_limit:
            return json_response(429, {"error": "Too many requests"}, **self._rate_headers())
        return None

    def _rate_headers(self) -> dict[str, str]:
        start, used = self._window
        reset = dt.datetime.fromtimestamp(start + self.rate_period, dt.UTC)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def _route(self, request: Received, base: str) -> tuple[int, Any, dict[str, str]]:
        method, path = request.method, request.path.rstrip("/")
        parts = path.split("/")[1:]  # "api", "v1", ...
        if method == "POST" and path == "/api/v1/statuses":
            return self._create(request, base)
        if len(parts) == 4 and parts[:3] == ["api", "v1", "statuses"]:
            status = self.statuses.get(parts[3])
            if status is None or status.deleted:
                return 404, {"error": "Record not found"}, {}
            if method == "GET":
                return 200, self._entity(status, base), {}
            if method == "PUT":
                return self._update(request, status, base)
            if method == "DELETE":
                status.deleted = True
                entity = self._entity(status, base)
                del entity["content"]
                entity["text"] = status.text  # "delete and redraft" shape
                return 200, entity, {}
        if method == "GET" and path == "/api/v1/accounts/verify_credentials":
            account = self._account(base)
            account["source"] = {
                "privacy": "public",
                "sensitive": False,
                "language": None,
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
            }
            return 200, account, {}
        if method == "GET" and path == f"/api/v1/accounts/{self.account_id}/statuses":
            return self._timeline(request, base)
        if method == "GET" and path in ("/api/v1/instance", "/api/v2/instance"):
            return 200, self._instance(base, v2=path.startswith("/api/v2")), {}
        return 404, {"error": "Record not found"}, {}

    # --- statuses --------------------------------------------------------------------

    @staticmethod
    def _params(request: Received) -> dict[str, Any]:
        kind = request.headers.get("content-type", "")
        if "json" in kind:
            data = request.json
            return data if isinstance(data, dict) else {}
        if request.method == "GET":
            return {k: v[-1] for k, v in request.query.items()}
        return {k.removesuffix("[]"): v[-1] for k, v in request.form.items()}

    def _invalid(self, text: str, spoiler: str) -> str | None:
        if not text.strip():
            return "Validation failed: Text can't be blank"
        if mastodon_length(spoiler + text) > self.max_characters:
            return f"Validation failed: Text character limit of {self.max_characters} exceeded"
        return None

    def _create(self, request: Received, base: str) -> tuple[int, Any, dict[str, str]]:
        params = self._params(request)
        # The controller's set_thread runs before PostStatusService looks at the key.
        reply_to = str(params.get("in_reply_to_id") or "") or None
        if reply_to is not None:
            parent = self.statuses.get(reply_to)
            if parent is None or parent.deleted:
                error = "The post you are trying to reply to does not appear to exist."
                return 404, {"error": error}, {}
        key = request.headers.get("idempotency-key")
        now = self.clock()
        if key:
            seen = self.idempotency.get(key)
            if seen is not None and now - seen[1] < IDEMPOTENCY_SECONDS:
                earlier = self.statuses[seen[0]]
                if earlier.deleted:  # Status.find(existing_id) raises RecordNotFound
                    return 404, {"error": "Record not found"}, {}
                return 200, self._entity(earlier, base), {}
        visibility = str(params.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            return 422, {"error": "Validation failed: Visibility is not included in the list"}, {}
        text, spoiler = str(params.get("status") or ""), str(params.get("spoiler_text") or "")
        problem = self._invalid(text, spoiler)
        if problem:
            return 422, {"error": problem}, {}
        self._sequence += 1
        status = _Status(
            id=str((int(now * 1000) << 16) + self._sequence % 65536),
            text=text,
            created_at=_timestamp(now),
            visibility=visibility,
            spoiler_text=spoiler,
            sensitive=str(params.get("sensitive", "")).lower() in ("1", "true"),
            language=str(params.get("language") or "en"),
            in_reply_to_id=reply_to,
        )
        self.statuses[status.id] = status
        if key:
            self.idempotency[key] = (status.id, now)
        return 200, self._entity(status, base), {}

    def _update(
        self, request: Received, status: _Status, base: str
    ) -> tuple[int, Any, dict[str, str]]:
        params = self._params(request)
        text = str(params.get("status") or "")
        spoiler = str(params.get("spoiler_text") or status.spoiler_text)
        problem = self._invalid(text, spoiler)
        if problem:
            return 422, {"error": problem}, {}
        status.text, status.spoiler_text = text, spoiler
        status.edited_at = _timestamp(self.clock())
        return 200, self._entity(status, base), {}

    def _timeline(self, request: Received, base: str) -> tuple[int, Any, dict[str, str]]:
        params = self._params(request)
        try:
            limit = min(40, max(1, int(params.get("limit") or 20)))
        except ValueError:
            limit = 20
        rows = sorted(
            (s for s in self.statuses.values() if not s.deleted), key=lambda s: -int(s.id)
        )
        if str(params.get("exclude_replies", "")).lower() in ("1", "true"):
            rows = [s for s in rows if s.in_reply_to_id is None]
        if str(params.get("only_media", "")).lower() in ("1", "true"):
            rows = []  # no media here
        if params.get("max_id"):
            rows = [s for s in rows if int(s.id) < int(params["max_id"])]
        if params.get("since_id"):
            rows = [s for s in rows if int(s.id) > int(params["since_id"])]
        if params.get("min_id"):  # the page just after min_id, still newest first
            rows = [s for s in rows if int(s.id) > int(params["min_id"])][-limit:]
        rows = rows[:limit]
        headers = {}
        if rows:
            here = f"{base}/api/v1/accounts/{self.account_id}/statuses"
            older = urlencode({"limit": limit, "max_id": rows[-1].id})
            newer = urlencode({"limit": limit, "min_id": rows[0].id})
            headers["Link"] = f'<{here}?{older}>; rel="next", <{here}?{newer}>; rel="prev"'
        return 200, [self._entity(s, base) for s in rows], headers

    # --- entities --------------------------------------------------------------------

    def _account(self, base: str) -> dict[str, Any]:
        live = [s for s in self.statuses.values() if not s.deleted]
        return {
            "id": self.account_id,
            "username": self.username,
            "acct": self.username,
            "display_name": "StormHub (simulated)",
            "locked": False,
            "bot": True,
            "discoverable": True,
            "indexable": True,
            "group": False,
            "created_at": "2026-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{base}/@{self.username}",
            "uri": f"{base}/users/{self.username}",
            "avatar": f"{base}/avatars/original/missing.png",
            "avatar_static": f"{base}/avatars/original/missing.png",
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(live),
            "last_status_at": live[-1].created_at[:10] if live else None,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def _entity(self, status: _Status, base: str) -> dict[str, Any]:
        parent = self.statuses.get(status.in_reply_to_id or "")
        return {
            "id": status.id,
            "created_at": status.created_at,
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": self.account_id if parent else None,
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"{base}/users/{self.username}/statuses/{status.id}",
            "url": f"{base}/@{self.username}/{status.id}",
            "replies_count": sum(
                1 for s in self.statuses.values() if s.in_reply_to_id == status.id and not s.deleted
            ),
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": status.edited_at,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": to_html(status.text, base),
            "filtered": [],
            "reblog": None,
            "application": {"name": "StormHub", "website": None},
            "account": self._account(base),
            "media_attachments": [],
            "mentions": [],
            "tags": [
                {"name": tag.lower(), "url": f"{base}/tags/{tag.lower()}"}
                for tag in _HASHTAG.findall(status.text)
            ],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _instance(self, base: str, *, v2: bool) -> dict[str, Any]:
        statuses = {
            "max_characters": self.max_characters,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        }
        if v2:
            return {
                "domain": base.split("://", 1)[-1],
                "title": "Simulated Mastodon",
                "version": "4.3.0",
                "api_versions": {"mastodon": 2},
                "configuration": {"statuses": statuses},
            }
        return {
            "uri": base.split("://", 1)[-1],
            "title": "Simulated Mastodon",
            "version": "4.3.0",
            "configuration": {"statuses": statuses},
        }


__all__ = ["MastodonSim", "to_html", "to_text"]
