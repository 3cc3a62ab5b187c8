"""A Mastodon instance's REST API, as Mastodon.py calls it, in memory.

Answers what the ``mastodon`` channel uses: ``POST /api/v1/statuses`` (with
``Idempotency-Key`` and ``media_ids[]``), ``PUT`` and ``DELETE /api/v1/statuses/:id``,
``GET /api/v1/statuses/:id``, ``POST /api/v2/media`` (multipart ``file`` and
``description``), ``GET`` and ``PUT /api/v1/media/:id``,
``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/accounts/:id/statuses`` and
``GET /api/v1/instance`` (and v2); the uploaded files themselves under ``/system/``.
Mastodon.py given a version asks for nothing at start-up. The deprecated synchronous
``POST /api/v1/media`` is not answered, so a client that falls back to it shows.

Modelled on Mastodon 4.x: Status entities with string snowflake ids and HTML
``content``; Bearer tokens (401 ``The access token is invalid``); request bodies
form-encoded (what Mastodon.py sends) or JSON; the instance limit counted as
``StatusLengthValidator`` does (URLs 23, graphemes), refused with Rails' 422
``Validation failed: Text character limit of 500 exceeded``; idempotency keys kept
an hour per account (``PostStatusService``); ``X-RateLimit-*`` headers on every
answer and Rack::Attack's 429 ``Too many requests`` past the limit (and past
``throttle_api_media`` for uploads).

Media as Mastodon 4.x keeps it: MediaAttachment entities (string id, ``type``,
``url``, ``preview_url``, ``meta.original``/``small`` sizes, ``description``,
``blurhash``); an image is processed during the upload (200), and with
``processing_seconds`` set an upload answers 202 with ``url`` null until that much
(simulated) time has passed, ``GET /api/v1/media/:id`` answering 206 meanwhile. Like
Mastodon, ``/api/v1/media/:id`` finds only unattached media; descriptions are limited to
``MediaAttachment::MAX_DESCRIPTION_LENGTH`` (1500); a status takes up to 4 attachments
of the account's own, unattached (or, in an edit, its own) media, refused with
``PostStatusService``'s 422 wordings; an edit without ``media_ids`` drops them
(``UpdateStatusService``) and ``media_attributes`` change their descriptions.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from hub.images import image_info
from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.text import find_urls, mastodon_length

IDEMPOTENCY_SECONDS = 3600  # redis.setex("idempotency:status:<account>:<key>", 3_600, ...)
MAX_DESCRIPTION_LENGTH = 1500  # MediaAttachment::MAX_DESCRIPTION_LENGTH
MAX_ATTACHMENTS = 4  # Status::MEDIA_ATTACHMENTS_LIMIT
IMAGE_TYPES = {  # MediaAttachment::IMAGE_MIME_TYPES, and the extension Mastodon stores
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/avif": "avif",
}
BLURHASH = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
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
    media_ids: list[str] = field(default_factory=list)


@dataclass
class _Media:
    id: str
    data: bytes
    content_type: str
    description: str | None
    ready_at: float  # the (simulated) time its processing is done
    size: tuple[int, int] | None = None
    status_id: str | None = None  # the status it is attached to


def multipart(request: Received) -> dict[str, tuple[bytes, str | None, str | None]]:
    """A multipart/form-data body: name -> (content, file name, content type)."""
    kind = request.headers.get("content-type", "")
    match = re.search(r'boundary="?([^";]+)"?', kind)
    if not kind.startswith("multipart/form-data") or match is None:
        return {}
    fields: dict[str, tuple[bytes, str | None, str | None]] = {}
    for chunk in request.body.split(b"--" + match[1].encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_match = re.search(r'(?<!file)name="([^"]*)"', disposition)
        file_match = re.search(r'filename="([^"]*)"', disposition)
        if name_match is not None:
            fields[name_match[1]] = (
                content.removesuffix(b"\r\n"),
                file_match[1] if file_match else None,
                headers.get("content-type"),
            )
    return fields


def _leading_int(value: object) -> int:
    """Ruby's ``to_i``: the leading digits, 0 without any."""
    match = re.match(r"\s*(\d+)", str(value))
    return int(match[1]) if match else 0


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
        self.media: dict[str, _Media] = {}
        self.idempotency: dict[str, tuple[str, float]] = {}
        self.rate_limit = 300  # Rack::Attack throttle_per_token_api: 300 per 5 minutes
        self.rate_period = 300
        self.media_rate_limit = 30  # Rack::Attack throttle_api_media: 30 per 30 minutes
        self.media_rate_period = 1800
        self.processing_seconds = 0.0  # > 0: uploads answer 202 and are processed later
        self._window: tuple[int, int] = (0, 0)  # (window start, requests in it)
        self._media_window: tuple[int, int] = (0, 0)
        self._sequence = 0
        self.clock = time.time

    # --- what the drill shows --------------------------------------------------------

    def describe(self) -> list[str]:
        with self.lock:
            live = [s for s in self.statuses.values() if not s.deleted]
        lines = []
        for status in sorted(live, key=lambda s: int(s.id)):
            text = to_text(to_html(status.text, "")) or "(empty)"
            images = [self.media[i].description for i in status.media_ids]
            shown = [f"[image: {alt}]" if alt else "[image]" for alt in images]
            lines.append(" ".join([text.splitlines()[0], *shown]))
        return lines

    # --- HTTP ------------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        base = f"http://{request.headers.get('host', '127.0.0.1')}"
        with self.lock:
            if request.method == "GET" and request.path.startswith("/system/"):
                return self._file(request.path)
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
            if request.method == "POST" and re.fullmatch(r"/api/v\d+/media", request.path):
                limited = self._count_upload()
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

    def _count_upload(self) -> Response | None:
        now = self.clock()
        start = int(now) - int(now) % self.media_rate_period
        window_start, used = self._media_window
        used = used + 1 if window_start == start else 1
        self._media_window = (start, used)
        if used > self.media_rate_limit:
            reset = dt.datetime.fromtimestamp(start + self.media_rate_period, dt.UTC)
            headers = {
                "X-RateLimit-Limit": str(self.media_rate_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            return json_response(429, {"error": "Too many requests"}, **headers)
        return None

    def _rate_headers(self) -> dict[str, str]:
        start, used = self._window
        reset = dt.datetime.fromtimestamp(start + self.rate_period, dt.UTC)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def _file(self, path: str) -> Response:
        """An uploaded file, as the instance's file storage serves it (no token needed)."""
        parts = path.split("/")  # "", "system", "media_attachments", "files", id, style, name
        media = self.media.get(parts[4]) if len(parts) == 7 else None
        if media is None or not self._ready(media):
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        return 200, {"Content-Type": media.content_type}, media.data

    def _route(self, request: Received, base: str) -> tuple[int, Any, dict[str, str]]:
        method, path = request.method, request.path.rstrip("/")
        parts = path.split("/")[1:]  # "api", "v1", ...
        if method == "POST" and path == "/api/v1/statuses":
            return self._create(request, base)
        if method == "POST" and path == "/api/v2/media":
            return self._upload(request, base)
        if len(parts) == 4 and parts[:3] == ["api", "v1", "media"] and method in ("GET", "PUT"):
            media = self.media.get(parts[3])
            # MediaController#set_media_attachment: the account's media where status_id is nil
            if media is None or media.status_id is not None:
                return 404, {"error": "Record not found"}, {}
            if method == "PUT":
                description = self._params(request).get("description")
                if description is not None:
                    problem = self._invalid_description(str(description))
                    if problem:
                        return 422, {"error": problem}, {}
                    media.description = str(description)
            return (200 if self._ready(media) else 206), self._media_entity(media, base), {}
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

    @staticmethod
    def _list(request: Received, name: str) -> list[Any] | None:
        """An array parameter (``name[]`` in a form, a list in JSON); None if not sent."""
        if "json" in request.headers.get("content-type", ""):
            data = request.json
            value = data.get(name) if isinstance(data, dict) else None
            return list(value) if isinstance(value, list) else None
        form = request.form
        if f"{name}[]" in form:
            return list(form[f"{name}[]"])
        return None

    def _invalid(self, text: str, spoiler: str, *, media: bool = False) -> str | None:
        if not text.strip() and not media:  # validates :text, presence, unless with_media?
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
        media, problem = self._attachable(self._list(request, "media_ids"), None)
        if problem:
            return 422, {"error": problem}, {}
        visibility = str(params.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            return 422, {"error": "Validation failed: Visibility is not included in the list"}, {}
        text, spoiler = str(params.get("status") or ""), str(params.get("spoiler_text") or "")
        problem = self._invalid(text, spoiler, media=bool(media))
        if problem:
            return 422, {"error": problem}, {}
        status = _Status(
            id=self._new_id(now),
            text=text,
            created_at=_timestamp(now),
            visibility=visibility,
            spoiler_text=spoiler,
            sensitive=str(params.get("sensitive", "")).lower() in ("1", "true"),
            language=str(params.get("language") or "en"),
            in_reply_to_id=reply_to,
            media_ids=[m.id for m in media],
        )
        for item in media:
            item.status_id = status.id
        self.statuses[status.id] = status
        if key:
            self.idempotency[key] = (status.id, now)
        return 200, self._entity(status, base), {}

    def _update(
        self, request: Received, status: _Status, base: str
    ) -> tuple[int, Any, dict[str, str]]:
        params = self._params(request)
        # The controller always passes media_ids, so UpdateStatusService replaces the
        # attachments: an edit without media_ids leaves the status without media.
        media, problem = self._attachable(self._list(request, "media_ids"), status)
        if problem:
            return 422, {"error": problem}, {}
        descriptions: dict[str, str] = {}
        for attributes in self._list(request, "media_attributes") or []:
            if isinstance(attributes, dict) and "description" in attributes:
                described = str(attributes["description"] or "")
                problem = self._invalid_description(described)
                if problem:
                    return 422, {"error": problem}, {}
                descriptions[str(_leading_int(attributes.get("id")))] = described
        text = str(params.get("status") or "")
        spoiler = str(params.get("spoiler_text") or status.spoiler_text)
        problem = self._invalid(text, spoiler, media=bool(media))
        if problem:
            return 422, {"error": problem}, {}
        for item in media:
            if item.id in descriptions:
                item.description = descriptions[item.id]
            item.status_id = status.id  # detached ones stay the status's, for its history
        status.text, status.spoiler_text = text, spoiler
        status.media_ids = [m.id for m in media]
        status.edited_at = _timestamp(self.clock())
        return 200, self._entity(status, base), {}

    def _attachable(
        self, wanted: list[Any] | None, editing: _Status | None
    ) -> tuple[list[_Media], str | None]:
        """The media *wanted* for a status, checked as ``validate_media!`` does.

        PostStatusService takes the account's unattached media; UpdateStatusService also
        those already attached to the status being edited.
        """
        if not wanted:
            return [], None
        if len(wanted) > MAX_ATTACHMENTS:
            return [], f"Cannot attach more than {MAX_ATTACHMENTS} files"
        owners = (None, editing.id if editing else None)
        ids = [_leading_int(i) for i in wanted]
        found = {
            int(m.id): m
            for m in self.media.values()
            if m.status_id in owners and int(m.id) in ids[:MAX_ATTACHMENTS]
        }
        missing = [str(i) for i in ids if i not in found]
        if missing:
            return [], f"Media {', '.join(missing)} not found or already attached to another post"
        media = [found[i] for i in dict.fromkeys(ids)]
        if any(not self._ready(m) for m in media):
            return [], NOT_READY
        return media, None

    # --- media -----------------------------------------------------------------------

    def _new_id(self, now: float) -> str:
        """A snowflake-like id: milliseconds, then a sequence."""
        self._sequence += 1
        return str((int(now * 1000) << 16) + self._sequence % 65536)

    def _ready(self, media: _Media) -> bool:
        return self.clock() >= media.ready_at

    @staticmethod
    def _invalid_description(description: str) -> str | None:
        if len(description) > MAX_DESCRIPTION_LENGTH:  # Rails counts characters
            return (
                "Validation failed: Description is too long "
                f"(maximum is {MAX_DESCRIPTION_LENGTH} characters)"
            )
        return None

    def _upload(self, request: Received, base: str) -> tuple[int, Any, dict[str, str]]:
        """``POST /api/v2/media`` (Api::V2::MediaController#create)."""
        fields = multipart(request)
        upload = fields.get("file")
        if upload is None or upload[1] is None:
            return 422, {"error": "Validation failed: File can't be blank"}, {}
        data, _, kind = upload
        kind = (kind or "").split(";")[0].strip().lower()
        if kind not in IMAGE_TYPES:  # validates_attachment_content_type
            return 422, {"error": "Validation failed: File content type is invalid"}, {}
        info = image_info(data)
        size = (info.width, info.height) if info is not None else None
        if size is None and kind in ("image/png", "image/gif", "image/jpeg"):
            # Paperclip::Errors::NotIdentifiedByImageMagickError
            return 422, {"error": "File type of uploaded media could not be verified"}, {}
        description = fields.get("description")
        text = description[0].decode() if description is not None else None
        if text is not None:
            problem = self._invalid_description(text)
            if problem:
                return 422, {"error": problem}, {}
        now = self.clock()
        media = _Media(
            id=self._new_id(now),
            data=data,
            content_type=kind,
            description=text,
            ready_at=now + self.processing_seconds,
            size=size,
        )
        self.media[media.id] = media
        return (200 if self._ready(media) else 202), self._media_entity(media, base), {}

    def _media_entity(self, media: _Media, base: str) -> dict[str, Any]:
        """REST::MediaAttachmentSerializer: ``url`` null until processed."""
        ready = self._ready(media)
        files = f"{base}/system/media_attachments/files/{media.id}"
        extension = IMAGE_TYPES[media.content_type]
        meta: dict[str, Any] = {}
        if media.size is not None:
            width, height = media.size
            scale = min(1.0, (160_000 / (width * height)) ** 0.5)  # small: 400x400 pixels
            small = (max(1, round(width * scale)), max(1, round(height * scale)))
            for style, (w, h) in (("original", media.size), ("small", small)):
                meta[style] = {"width": w, "height": h, "size": f"{w}x{h}", "aspect": w / h}
        return {
            "id": media.id,
            "type": "image",
            "url": f"{files}/original/{media.id}.{extension}" if ready else None,
            "preview_url": f"{files}/small/{media.id}.{extension}" if ready else None,
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": media.description,
            "blurhash": BLURHASH if ready else None,
        }

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
            rows = [s for s in rows if s.media_ids]
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
            "media_attachments": [
                self._media_entity(self.media[i], base) for i in status.media_ids
            ],
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
