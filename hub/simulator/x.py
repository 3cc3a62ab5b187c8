"""X API v2 (the part StormHub uses), as tweepy's ``Client`` sends and parses it.

Wire shapes follow X's recorded answers (tweepy's test cassettes: create/delete
tweet, users/me, users/:id/tweets) and X's documentation; the fixtures here are
written from those, not copied. Rules enforced as X does:

- OAuth 1.0a user context: an ``Authorization: OAuth ...`` header with the oauth_*
  parameters, else 401. With :attr:`XSim.credentials` set, the HMAC-SHA1 signature
  is verified too, over the URL this server was reached at, and a nonce is refused
  the second time.
- Text: weighted length (twitter-text v3, :func:`hub.text.x_length`) at most 280,
  else 400 "Your Tweet text is too long..."; the same text as a post the account
  still has is 403 "You are not allowed to create a Tweet with duplicate content.";
  a reply to a missing post is 403.
- Links in stored text are replaced with 23-character t.co links, the original
  kept in ``entities.urls[].expanded_url`` (returned when ``tweet.fields`` asks),
  and ``& < >`` are returned as HTML entities.
- Rate limits per endpoint and 15-minute window, with ``x-rate-limit-limit``,
  ``-remaining`` and ``-reset`` (epoch seconds) on every answer, 429 when spent.
- Media (X's OpenAPI spec, github.com/xdevplatform/xdk ``latest-openapi.json``):
  ``POST /2/media/upload`` one-shot, multipart/form-data with the raw bytes in
  ``media`` (or JSON with them base64-encoded), ``media_category`` required and one
  of ``tweet_image``/``dm_image``/``subtitles``, ``media_type`` from the spec's enum;
  images up to 5 MB (docs.x.com "Media"). The answer is ``{"data": {"id",
  "media_key", "size", "expires_after_secs", "image": {"image_type", "w", "h"}}}``;
  ``image`` is what v1.1's answer carried and is not in the v2 schema, so clients
  must not need it. ``POST /2/media/metadata`` takes ``{"id", "metadata":
  {"alt_text": {"text"}}}``, text at most 1000 characters, and answers ``{"data":
  {"id", "associated_metadata": {...}}}``. ``POST /2/tweets`` takes ``media:
  {"media_ids": [1..4]}``; an id this account did not upload, or older than
  ``expires_after_secs``, is 400 "Your media IDs are invalid." under
  ``media.media_ids`` (the message and parameter as in X's own API playground,
  github.com/xdevplatform/playground). Not verified against X: the 400 texts for a
  malformed upload, an unknown id at ``/2/media/metadata``, and an empty media part.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import hmac
import html
import re
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote

from hub.images import image_info
from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.text import X_LIMIT, find_urls, x_length

WINDOW = 15 * 60

# Per-user limits of the v2 endpoints per 15 minutes, as X sent them in tweepy's
# cassettes (x-rate-limit-limit); tests may lower them.
LIMITS = {
    "POST /2/tweets": 200,
    "DELETE /2/tweets/:id": 50,
    "GET /2/users/me": 75,
    "GET /2/users/:id/tweets": 900,
    # docs.x.com "Rate limits" (xdevplatform/docs x-api/fundamentals/rate-limits.mdx)
    "POST /2/media/upload": 500,
    "POST /2/media/metadata": 500,
}

TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines "
    "text length see https://github.com/twitter/twitter-text."
)
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."
MEDIA_INVALID = "Your media IDs are invalid."
MEDIA_EXPIRES = 24 * 60 * 60  # expires_after_secs of an uploaded image
IMAGE_LIMIT = 5 * 1024 * 1024
ALT_LIMIT = 1000
MEDIA_CATEGORIES = ("tweet_image", "dm_image", "subtitles")  # MediaCategoryOneShot
MEDIA_TYPES = (  # MediaUploadRequestOneShot.media_type
    "text/srt",
    "text/vtt",
    "image/jpeg",
    "image/bmp",
    "image/png",
    "image/webp",
    "image/pjpeg",
    "image/tiff",
)

_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_REQUIRED_OAUTH = (
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_version",
    "oauth_signature",
)
_TWEET_FIELDS = {
    "entities",
    "referenced_tweets",
    "conversation_id",
    "author_id",
    "created_at",
    "attachments",
}


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    """X's v2 error body (RFC 7807 style), as sent for 401, 403 and 429."""
    return {"title": title, "type": kind, "status": status, "detail": detail}


def invalid_request(message: str, **parameters: list[str]) -> dict[str, Any]:
    """X's v2 body for a 400: the parameter errors under ``errors``."""
    return {
        "errors": [{"parameters": parameters, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _enc(value: str) -> str:
    return quote(value, safe="~")


def oauth_signature(
    method: str,
    base_url: str,
    params: list[tuple[str, str]],
    consumer_secret: str,
    token_secret: str,
) -> str:
    """The HMAC-SHA1 signature of RFC 5849 section 3.4 (X's "Creating a signature")."""
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in params))
    base = "&".join((method.upper(), _enc(base_url), _enc(normalized)))
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Media:
    """One uploaded file, as the account's media library holds it."""

    id: str
    data: bytes
    media_type: str
    category: str
    width: int = 0
    height: int = 0
    alt: str | None = None
    created: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        return f"3_{self.id}"  # 3_ is a photo's media key prefix


@dataclass
class Tweet:
    id: str
    text: str  # as X stores it: links replaced by t.co ones
    sent: str  # as the client sent it
    urls: list[dict[str, Any]]
    reply_to: str | None
    conversation: str
    created: float = field(default_factory=time.time)
    media_keys: list[str] = field(default_factory=list)

    def as_json(self, fields: set[str], author: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "edit_history_tweet_ids": [self.id],
        }
        if "entities" in fields and self.urls:
            data["entities"] = {"urls": self.urls}
        if "referenced_tweets" in fields and self.reply_to:
            data["referenced_tweets"] = [{"type": "replied_to", "id": self.reply_to}]
        if "conversation_id" in fields:
            data["conversation_id"] = self.conversation
        if "author_id" in fields:
            data["author_id"] = author
        if "created_at" in fields:
            data["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.created))
        if "attachments" in fields and self.media_keys:
            data["attachments"] = {"media_keys": list(self.media_keys)}
        return data


class XSim(PlatformSim):
    """One X account, ``@stormhub_drill``, behind the v2 endpoints tweepy calls."""

    name: ClassVar[str] = "x"
    user: ClassVar[dict[str, str]] = {
        "id": "1600000000000000001",
        "name": "StormHub Drill",
        "username": "stormhub_drill",
    }

    def __init__(self) -> None:
        super().__init__()
        self.tweets: dict[str, Tweet] = {}  # in posting order
        self.media: dict[str, Media] = {}  # by media id, in upload order
        self.limits = dict(LIMITS)
        self.windows: dict[str, tuple[int, int]] = {}  # endpoint -> (reset epoch, used)
        # (api key, api secret, access token, access token secret): when set,
        # signatures are verified; else only the header's presence and form.
        self.credentials: tuple[str, str, str, str] | None = None
        self._nonces: set[str] = set()
        self._next_id = 1_870_000_000_000_000_000
        self._next_media = 1_880_000_000_000_000_000

    # --- routing ------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        route = self._route(request)
        if route is None:
            body = problem(404, "Not Found Error", f"{request.path} is not an X API v2 endpoint")
            return json_response(404, body)
        endpoint, arg = route
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        headers, spent = self._count(endpoint)
        if spent:
            return json_response(
                429, problem(429, "Too Many Requests", "Too Many Requests"), **headers
            )
        if endpoint == "POST /2/tweets":
            code, body = self._create(request)
        elif endpoint == "DELETE /2/tweets/:id":
            code, body = self._delete(arg)
        elif endpoint == "GET /2/users/me":
            code, body = 200, {"data": dict(self.user)}
        elif endpoint == "POST /2/media/upload":
            code, body = self._upload(request)
        elif endpoint == "POST /2/media/metadata":
            code, body = self._metadata(request)
        else:
            code, body = self._timeline(arg, request.query)
        return json_response(code, body, **headers)

    @staticmethod
    def _route(request: Received) -> tuple[str, str] | None:
        method, path = request.method, request.path.rstrip("/")
        if method == "POST" and path == "/2/tweets":
            return "POST /2/tweets", ""
        if method == "DELETE" and (m := re.fullmatch(r"/2/tweets/(\d+)", path)):
            return "DELETE /2/tweets/:id", m.group(1)
        if method == "GET" and path == "/2/users/me":
            return "GET /2/users/me", ""
        if method == "GET" and (m := re.fullmatch(r"/2/users/(\d+)/tweets", path)):
            return "GET /2/users/:id/tweets", m.group(1)
        if method == "POST" and path in ("/2/media/upload", "/2/media/metadata"):
            return f"POST {path}", ""
        return None

    # --- OAuth 1.0a and rate limits ---------------------------------------------------

    def _authenticate(self, request: Received) -> Response | None:
        unauthorized = json_response(401, problem(401, "Unauthorized", "Unauthorized"))
        header = request.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return unauthorized
        oauth = {k: unquote(v) for k, v in _OAUTH_PARAM.findall(header)}
        if any(not oauth.get(name) for name in _REQUIRED_OAUTH):
            return unauthorized
        if oauth["oauth_signature_method"] != "HMAC-SHA1" or oauth["oauth_version"] != "1.0":
            return unauthorized
        if self.credentials is None:
            return None
        key, secret, token, token_secret = self.credentials
        if oauth["oauth_consumer_key"] != key or oauth["oauth_token"] != token:
            return unauthorized
        params = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        params += [(k, v) for k, values in request.query.items() for v in values]
        # A form-urlencoded body is signed too; JSON and multipart bodies are not
        # (RFC 5849 3.4.1.3.1).
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            params += parse_qsl(request.body.decode(), keep_blank_values=True)
        host = request.headers.get("host", "")
        expected = oauth_signature(
            request.method, f"http://{host}{request.path}", params, secret, token_secret
        )
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            return unauthorized
        with self.lock:
            if oauth["oauth_nonce"] in self._nonces:
                return unauthorized
            self._nonces.add(oauth["oauth_nonce"])
        return None

    def _count(self, endpoint: str) -> tuple[dict[str, str], bool]:
        """Spend one request of *endpoint*'s window: its headers, and whether it was over."""
        now = int(time.time())
        with self.lock:
            reset, used = self.windows.get(endpoint, (now + WINDOW, 0))
            if reset <= now:
                reset, used = now + WINDOW, 0
            limit = self.limits[endpoint]
            spent = used >= limit
            used = min(used + 1, limit)
            self.windows[endpoint] = (reset, used)
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(limit - used),
            "x-rate-limit-reset": str(reset),
        }
        return headers, spent

    # --- endpoints ------------------------------------------------------------------

    def _create(self, request: Received) -> tuple[int, dict[str, Any]]:
        try:
            body = request.json
        except ValueError:
            return 400, invalid_request("Request body is not valid JSON")
        if not isinstance(body, dict):
            return 400, invalid_request("Request body must be a JSON object")
        media = body.get("media")
        media_ids: list[str] = []
        if media is not None:
            ids = media.get("media_ids") if isinstance(media, dict) else None
            if not isinstance(ids, list) or not 1 <= len(ids) <= 4:
                return 400, invalid_request(
                    "media.media_ids must be a list of 1 to 4 media ids",
                    **{"media.media_ids": [str(ids)]},
                )
            media_ids = [str(i) for i in ids]
        text = body.get("text")
        if text is None and media_ids:
            text = ""  # a post may be its media alone
        if not isinstance(text, str) or not (text.strip() or media_ids):
            return 400, invalid_request("text must not be empty", text=[str(text)])
        if x_length(text) > X_LIMIT:
            return 400, invalid_request(TOO_LONG, text=[text])
        reply = body.get("reply") or {}
        parent = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        with self.lock:
            now = time.time()
            invalid = [
                i
                for i in media_ids
                if i not in self.media or now - self.media[i].created > MEDIA_EXPIRES
            ]
            if invalid:
                return 400, invalid_request(MEDIA_INVALID, **{"media.media_ids": invalid})
            if parent is not None and str(parent) not in self.tweets:
                return 403, problem(403, "Forbidden", REPLY_GONE)
            if any(t.sent.strip() == text.strip() for t in self.tweets.values()):
                return 403, problem(403, "Forbidden", DUPLICATE)
            self._next_id += 1
            tweet_id = str(self._next_id)
            stored, urls = _shorten(text, tweet_id)
            conversation = self.tweets[str(parent)].conversation if parent else tweet_id
            tweet = Tweet(
                tweet_id,
                stored,
                text,
                urls,
                str(parent) if parent else None,
                conversation,
                media_keys=[self.media[i].key for i in media_ids],
            )
            self.tweets[tweet_id] = tweet
        return 201, {"data": tweet.as_json(set(), self.user["id"])}

    def _upload(self, request: Received) -> tuple[int, dict[str, Any]]:
        """``POST /2/media/upload``, the one-shot form: the whole file in one request."""
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = _multipart(content_type, request.body)
            if form is None:
                return 400, invalid_request("Request body is not valid multipart/form-data")
            fields = {k: v.decode(errors="replace") for k, v in form.items() if k != "media"}
            data = form.get("media")
        elif content_type.startswith("application/json"):
            try:
                body = request.json
            except ValueError:
                return 400, invalid_request("Request body is not valid JSON")
            if not isinstance(body, dict):
                return 400, invalid_request("Request body must be a JSON object")
            fields = {k: str(v) for k, v in body.items() if k != "media"}
            try:
                data = base64.b64decode(body["media"], validate=True) if "media" in body else None
            except (binascii.Error, TypeError, ValueError):
                return 400, invalid_request("media is not valid base64", media=["..."])
        else:
            return 400, invalid_request(f"Unsupported Content-Type: {content_type or 'none'}")
        if not data:
            return 400, invalid_request("media is required and must not be empty", media=[""])
        category = fields.get("media_category", "")
        if category not in MEDIA_CATEGORIES:
            return 400, invalid_request(
                f"media_category must be one of {', '.join(MEDIA_CATEGORIES)}",
                media_category=[category],
            )
        declared = fields.get("media_type")
        if declared is not None and declared not in MEDIA_TYPES:
            return 400, invalid_request(
                f"media_type must be one of {', '.join(MEDIA_TYPES)}", media_type=[declared]
            )
        if len(data) > IMAGE_LIMIT:
            return 400, invalid_request(
                f"File size exceeds {IMAGE_LIMIT} bytes.", media=[f"{len(data)} bytes"]
            )
        info = image_info(data)
        sniffed = info if info is not None and info.mime in MEDIA_TYPES else None
        if sniffed is None and category != "subtitles":
            return 400, invalid_request("media type unrecognized.", media=["..."])
        if sniffed is not None:
            media_type, width, height = sniffed.mime, sniffed.width, sniffed.height
        else:
            media_type, width, height = declared or "text/vtt", 0, 0
        with self.lock:
            self._next_media += 1
            item = Media(str(self._next_media), data, media_type, category, width, height)
            self.media[item.id] = item
        answer: dict[str, Any] = {
            "id": item.id,
            "media_key": item.key,
            "size": len(data),
            "expires_after_secs": MEDIA_EXPIRES,
        }
        if sniffed is not None:
            answer["image"] = {"image_type": media_type, "w": width, "h": height}
        return 200, {"data": answer}

    def _metadata(self, request: Received) -> tuple[int, dict[str, Any]]:
        """``POST /2/media/metadata``: alt text for an uploaded image."""
        try:
            body = request.json
        except ValueError:
            return 400, invalid_request("Request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            return 400, invalid_request("id is required", id=[str(body)[:50]])
        media_id = body["id"]
        metadata = body.get("metadata") or {}
        alt = metadata.get("alt_text") if isinstance(metadata, dict) else None
        text = alt.get("text") if isinstance(alt, dict) else None
        if alt is not None and not isinstance(text, str):
            return 400, invalid_request("metadata.alt_text.text is required")
        if isinstance(text, str) and len(text) > ALT_LIMIT:
            return 400, invalid_request(
                f"metadata.alt_text.text must be at most {ALT_LIMIT} characters",
                **{"metadata.alt_text.text": [text[:50]]},
            )
        with self.lock:
            item = self.media.get(media_id)
            if item is None:
                return 400, invalid_request(f"Media id {media_id} not found", id=[media_id])
            if text is not None:
                item.alt = text
            associated = {"alt_text": {"text": item.alt}} if item.alt is not None else {}
        return 200, {"data": {"id": media_id, "associated_metadata": associated}}

    def _delete(self, tweet_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.tweets.pop(tweet_id, None) is None:
                # Not verified against X: what it answers for a post already gone.
                return 404, problem(
                    404,
                    "Not Found Error",
                    f"Could not find tweet with id: [{tweet_id}].",
                    "https://api.twitter.com/2/problems/resource-not-found",
                )
        return 200, {"data": {"deleted": True}}

    def _timeline(self, user_id: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        raw = (query.get("max_results") or ["10"])[0]
        if not raw.isdigit() or not 5 <= int(raw) <= 100:
            message = f"The `max_results` query parameter value [{raw}] is not between 5 and 100"
            return 400, invalid_request(message, max_results=[raw])
        fields = {f for v in query.get("tweet.fields", []) for f in v.split(",") if f}
        unknown = fields - _TWEET_FIELDS
        if unknown:
            return 400, invalid_request(f"Unsupported tweet.fields: {sorted(unknown)}")
        if user_id != self.user["id"]:
            return 200, {"meta": {"result_count": 0}}
        with self.lock:
            newest_first = sorted(self.tweets.values(), key=lambda t: int(t.id), reverse=True)
        token = (query.get("pagination_token") or [""])[0]
        start = int(token) if token.isdigit() else 0
        page = newest_first[start : start + int(raw)]
        if not page:
            return 200, {"meta": {"result_count": 0}}
        meta: dict[str, Any] = {
            "result_count": len(page),
            "newest_id": page[0].id,
            "oldest_id": page[-1].id,
        }
        if start + len(page) < len(newest_first):
            meta["next_token"] = str(start + len(page))
        data = [t.as_json(fields, self.user["id"]) for t in page]
        return 200, {"data": data, "meta": meta}

    # --- for drills and tests -------------------------------------------------------------

    def describe(self) -> list[str]:
        """One line per post the account has: id, first line, and what it replies to."""
        with self.lock:
            tweets = list(self.tweets.values())
            by_key = {m.key: m for m in self.media.values()}
        lines = []
        for tweet in tweets:
            first = tweet.sent.strip().splitlines()[0] if tweet.sent.strip() else ""
            images = "".join(
                f" [image: {by_key[k].alt}]" if k in by_key and by_key[k].alt else " [image]"
                for k in tweet.media_keys
            )
            reply = f"  ↳ reply to {tweet.reply_to}" if tweet.reply_to else ""
            lines.append(f"{tweet.id} {first}{images}{reply}")
        return lines


def _shorten(text: str, tweet_id: str) -> tuple[str, list[dict[str, Any]]]:
    """*text* as X returns it, and its url entities.

    Links become t.co ones and ``& < >`` HTML entities, as X's API has always sent
    them (tweepy issue #1080); entity offsets count in that returned text.
    """
    out: list[str] = []
    urls: list[dict[str, Any]] = []
    position = 0
    for start, end, url in find_urls(text):
        out.append(html.escape(text[position:start], quote=False))
        digest = hashlib.sha256(f"{tweet_id}\0{url}".encode()).digest()
        short = "https://t.co/" + base64.b32encode(digest).decode()[:10].lower()
        begin = sum(len(part) for part in out)
        display = url.split("://", 1)[-1]
        urls.append(
            {
                "start": begin,
                "end": begin + len(short),
                "url": short,
                "expanded_url": url,
                "display_url": display if len(display) <= 26 else display[:25] + "…",
            }
        )
        out.append(short)
        position = end
    out.append(html.escape(text[position:], quote=False))
    return "".join(out), urls


def _multipart(content_type: str, body: bytes) -> dict[str, bytes] | None:
    """The fields of a multipart/form-data body (RFC 7578) by name, or None if malformed."""
    header = EmailMessage()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return None
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        return None
    fields: dict[str, bytes] = {}
    parser = email.parser.BytesHeaderParser(policy=email.policy.HTTP)
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            return None
        head, sep, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            return None
        part = parser.parsebytes(head + b"\r\n\r\n")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            return None
        fields[name] = content
    return fields
