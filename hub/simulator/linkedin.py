"""LinkedIn's versioned Posts API (``/rest/posts``), in memory, for one author.

Answers what the ``linkedin`` channel uses: ``POST /rest/posts`` (create: ``201``, empty
body, the URN in ``x-restli-id``), ``POST /rest/posts/<urn>`` with ``X-RestLi-Method:
PARTIAL_UPDATE`` (``{"patch": {"$set": {...}}}``, ``204``), ``DELETE /rest/posts/<urn>``
(``204``, again for a post already deleted), ``GET /rest/posts/<urn>`` and the finder
``GET /rest/posts?q=author&author=<urn>&count=&start=&sortBy=CREATED|LAST_MODIFIED``
(``{"paging": ..., "elements": [...]}``, newest first). URNs in paths arrive
percent-encoded, as Rest.li 2.0 clients send them.

Every request must carry a Bearer token (``401`` ``{"status": 401, "serviceErrorCode":
65600, "code": "INVALID_ACCESS_TOKEN", "message": "Invalid access token"}``; any token
is valid unless ``token`` is set) and ``LinkedIn-Version``: without it ``400``
``VERSION_MISSING``; a version not in ``versions`` gets ``426`` ``{"status": 426, "code":
"NONEXISTENT_VERSION", "message": "Requested version 20220101 is not active"}`` (LinkedIn
writes the version as YYYYMMDD there; seen in n8n-io/n8n#28590 and
ComposioHQ/composio#3231). The default ``versions`` are those active in late November
2026: 202601 to 202609 (202511 was sunset on 16 November 2026).

Bodies are validated as Rest.li does (``422`` ``ERROR :: /visibility :: field is
required but not found and has no default value``) and the commentary is parsed as
LinkedIn's "little" text (:func:`parse_little`): escapes, ``@[name](urn)`` mentions,
``#word`` hashtags and ``{hashtag|#|word}`` templates. As LinkedIn does, a reserved
character that starts nothing it can parse ends the text there, silently: the post is
made with what came before. The shown text over 3,000 UTF-16 units is refused with the
``400`` LinkedIn sends (``ShareCommentary text length (N characters) exceeded the
maximum allowed (3000 characters)``, n8n-io/n8n#22899). Daily limits (``daily_limit``
requests per UTC day, off by default) answer ``429`` ``Resource level throttle
APPLICATION DAY limit for calls to this resource is reached.`` with no Retry-After.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote

from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.text import utf16_length

RESERVED = frozenset("|{}@[]()<>#\\*_~")
MAX_COMMENTARY = 3000
ACTIVE_VERSIONS = tuple(f"2026{m:02d}" for m in range(1, 10))  # 202601 ... 202609
_URN_PREFIXES = ("urn:li:organization:", "urn:li:person:")
_REQUIRED = ("author", "visibility", "distribution", "lifecycleState")
FIRST_ID = 7_400_000_000_000_000_000


class LittleParser:
    r"""LinkedIn's little text, to the text it shows.

    ``Text`` is any character but the reserved ones, or a backslash and a reserved one
    (a backslash before anything else parses as nothing); a ``MentionElement`` is
    ``@[name](urn)`` (shown as the name); a ``HashtagElement`` ``#word``; a template
    ``{hashtag|<sign>|<word>}`` (shown as sign and word; the sign ``#``, escaped or not,
    or the full-width ``＃``, which is not reserved and elsewhere is plain text).
    """

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def parse(self) -> tuple[str, int]:
        """(the text shown, where parsing stopped: ``len(source)`` when it all parsed)."""
        out: list[str] = []
        while self.i < len(self.s):
            start = self.i
            piece = self._element()
            if piece is None:
                return "".join(out), start
            out.append(piece)
        return "".join(out), len(self.s)

    def _text(self) -> str:
        """Text up to an unescaped reserved character or a backslash escaping nothing."""
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\\":
                nxt = self.s[self.i + 1 : self.i + 2]
                if nxt not in RESERVED or not nxt:
                    break  # a backslash escapes reserved characters only
                out.append(nxt)
                self.i += 2
            elif c in RESERVED:
                break
            else:
                out.append(c)
                self.i += 1
        return "".join(out)

    def _element(self) -> str | None:
        c = self.s[self.i]
        if c == "@":
            return self._mention()
        if c == "#":
            return self._hashtag()
        if c == "{":
            return self._template()
        text = self._text()
        if not text:
            return None  # an unescaped reserved character that starts nothing
        return text

    def _mention(self) -> str | None:
        if not self.s.startswith("@[", self.i):
            return None
        self.i += 2
        name = self._text()
        if name is None or not self.s.startswith("](", self.i):
            return None
        self.i += 2
        end = self.s.find(")", self.i)
        urn = self.s[self.i : end] if end >= 0 else ""
        if not urn.startswith(_URN_PREFIXES):
            return None
        self.i = end + 1
        return name

    def _hashtag(self) -> str | None:
        sign = self.s[self.i]
        self.i += 1
        start = self.i
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] == "_"):
            self.i += 1  # an underscore inside a plain #word is part of it
        word = self.s[start : self.i]
        return sign + word if word else None

    def _template(self) -> str | None:
        if not self.s.startswith("{hashtag|", self.i):
            return None
        self.i += len("{hashtag|")
        signs = {"\\#": "#", "#": "#", "\uff03": "\uff03"}  # escaped or not, or full-width
        written = next((w for w in signs if self.s.startswith(w + "|", self.i)), None)
        if written is None:
            return None
        self.i += len(written) + 1
        sign = signs[written]
        word = self._text()
        if not word or not self.s.startswith("}", self.i):
            return None
        self.i += 1
        return sign + word


def parse_little(commentary: str) -> tuple[str, bool]:
    """*commentary* as LinkedIn shows it, and whether it was parsed to its end."""
    shown, end = LittleParser(commentary).parse()
    return shown, end == len(commentary)


@dataclass
class _Post:
    urn: str
    entity: dict[str, Any]  # as stored: the commentary cut where parsing stopped
    shown: str
    created: int  # ms
    modified: int
    deleted: bool = False
    edited: bool = False


def _error(status: int, message: str, code: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"status": status}
    body.update(extra)
    if code:
        body["code"] = code
    body["message"] = message
    return json_response(status, body)


def _required(path: str) -> Response:
    return _error(
        422, f"ERROR :: {path} :: field is required but not found and has no default value\n"
    )


class LinkedInSim(PlatformSim):
    """One LinkedIn author (a page or a member) and the posts it made."""

    name: ClassVar[str] = "linkedin"

    def __init__(
        self, *, token: str | None = None, versions: tuple[str, ...] = ACTIVE_VERSIONS
    ) -> None:
        super().__init__()
        self.token = token  # None: any Bearer token is valid
        self.versions = versions
        self.posts: dict[str, _Post] = {}
        self.daily_limit: int | None = None  # requests per UTC day; None: unlimited
        self.clock: Callable[[], float] = time.time
        self._day: tuple[int, int] = (0, 0)  # (UTC day number, requests that day)
        self._sequence = 0

    # --- serving -----------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        code, headers, data = self._answer(request)
        headers.setdefault("x-li-uuid", f"sim-{len(self.received)}")
        return code, headers, data

    def _answer(self, request: Received) -> Response:
        auth = request.headers.get("authorization", "")
        given = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not given or (self.token is not None and given != self.token):
            return _error(
                401, "Invalid access token", "INVALID_ACCESS_TOKEN", serviceErrorCode=65600
            )
        version = request.headers.get("linkedin-version", "").strip()
        if not version:
            return _error(
                400,
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
                "VERSION_MISSING",
            )
        if version not in self.versions:
            day = version if len(version) > 6 else f"{version}01"
            return _error(426, f"Requested version {day} is not active", "NONEXISTENT_VERSION")
        if self._throttled():
            return _error(
                429,
                "Resource level throttle APPLICATION DAY limit for calls to this resource is "
                "reached.",
                "TOO_MANY_REQUESTS",
                serviceErrorCode=101,
            )
        path = request.path.rstrip("/")
        if not path.startswith("/rest/posts"):
            return _error(404, f"No virtual resource found for {request.path}", "NOT_FOUND")
        key = unquote(path.removeprefix("/rest/posts").removeprefix("/"))
        method = request.headers.get("x-restli-method", "").upper()
        if request.method == "POST" and not key:
            return self._create(request)
        if request.method == "GET" and not key:
            return self._finder(request)
        post = self.posts.get(key)
        if request.method == "DELETE" and post is not None:
            post.deleted = True  # deleting a deleted post is answered 204 as well
            return 204, {}, b""
        if post is None or post.deleted:
            return _error(404, f"Not Found: {key}", "NOT_FOUND", serviceErrorCode=0)
        if request.method == "GET":
            return json_response(200, self._entity(post))
        if request.method == "POST" and method == "PARTIAL_UPDATE":
            return self._update(request, post)
        return _error(
            400, "Resource method could not be resolved from request parameters.",
            "ILLEGAL_ARGUMENT",
        )  # fmt: skip

    def _throttled(self) -> bool:
        day = int(self.clock() // 86400)
        seen = self._day[1] + 1 if self._day[0] == day else 1
        self._day = (day, seen)
        return self.daily_limit is not None and seen > self.daily_limit

    # --- posts ---------------------------------------------------------------------------

    @staticmethod
    def _commentary(value: Any) -> tuple[str, str]:
        """(the commentary as kept: cut where parsing stopped, the text shown)."""
        raw = str(value or "")
        shown, end = LittleParser(raw).parse()
        return raw[:end], shown  # LinkedIn keeps what it could parse, and says nothing

    @staticmethod
    def _too_long(shown: str) -> Response | None:
        size = utf16_length(shown)
        if size <= MAX_COMMENTARY:
            return None
        message = (
            "com.linkedin.content.common.exception.BadRequestResponseException: "
            f"ShareCommentary text length ({size} characters) exceeded the maximum "
            f"allowed ({MAX_COMMENTARY} characters)"
        )
        error = {
            "description": "Size of array cannot be higher than the maxLength",
            "input": {"inputPath": {"fieldPath": "/commentary"}},
            "code": "FIELD_ARRAY_SIZE_TOO_HIGH",
            "maxLength": MAX_COMMENTARY,
        }
        body = {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": message,
            "errorDetails": {"inputErrors": [error]},
            "status": 400,
        }
        return json_response(400, body)

    def _create(self, request: Received) -> Response:
        try:
            body = request.json
        except ValueError:
            return _error(400, "Unable to parse the request body as JSON", "ILLEGAL_ARGUMENT")
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object", "ILLEGAL_ARGUMENT")
        for name in _REQUIRED:
            if name not in body:
                return _required(f"/{name}")
        author = str(body["author"])
        if not author.startswith(_URN_PREFIXES):
            return _error(422, f'ERROR :: /author :: "{author}" is not a valid author URN\n')
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            return _error(422, f"ERROR :: /visibility :: \"{body['visibility']}\" is not an enum "
                          "symbol\n")  # fmt: skip
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or "feedDistribution" not in distribution:
            return _required("/distribution/feedDistribution")
        content = body.get("content")
        if content is not None:
            article = content.get("article") if isinstance(content, dict) else None
            if isinstance(article, dict):
                for name in ("source", "title"):
                    if not article.get(name):
                        return _required(f"/content/article/{name}")
        stored, shown = self._commentary(body.get("commentary"))
        refusal = self._too_long(shown)
        if refusal is not None:
            return refusal
        now = int(self.clock() * 1000)
        self._sequence += 1
        urn = f"urn:li:share:{FIRST_ID + self._sequence}"
        entity = {k: v for k, v in body.items() if k != "commentary"}
        entity["commentary"] = stored
        self.posts[urn] = _Post(urn, entity, shown, now, now)
        return 201, {"x-restli-id": urn, "x-linkedin-id": urn}, b""

    def _update(self, request: Received, post: _Post) -> Response:
        try:
            body = request.json
        except ValueError:
            body = None
        patch = body.get("patch") if isinstance(body, dict) else None
        changes = patch.get("$set") if isinstance(patch, dict) else None
        if not isinstance(changes, dict):
            return _required("/patch")
        allowed = {"commentary", "contentCallToActionLabel", "contentLandingPage", "lifecycleState"}
        refused = sorted(set(changes) - allowed)
        if refused:
            return _error(
                422, f"ERROR :: /{refused[0]} :: field cannot be updated\n", "UNPROCESSABLE_ENTITY"
            )
        if "commentary" in changes:
            stored, shown = self._commentary(changes["commentary"])
            refusal = self._too_long(shown)
            if refusal is not None:
                return refusal
            post.entity["commentary"], post.shown = stored, shown
        for name in allowed - {"commentary"}:
            if name in changes:
                post.entity[name] = changes[name]
        post.modified = int(self.clock() * 1000)
        post.edited = True
        return 204, {}, b""

    def _finder(self, request: Received) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        if query.get("q") != "author" or not query.get("author"):
            return _error(
                400, "Resource method could not be resolved from request parameters.",
                "ILLEGAL_ARGUMENT",
            )  # fmt: skip
        try:
            count = min(100, max(1, int(query.get("count") or 10)))
            start = max(0, int(query.get("start") or 0))
        except ValueError:
            return _error(400, "Invalid value for count or start", "ILLEGAL_ARGUMENT")
        key = "modified" if query.get("sortBy") == "LAST_MODIFIED" else "created"
        rows = [
            p for p in self.posts.values()
            if not p.deleted and p.entity.get("author") == query["author"]
        ]  # fmt: skip
        rows.sort(key=lambda p: (getattr(p, key), p.urn), reverse=True)
        page = rows[start : start + count]
        return json_response(
            200,
            {
                "paging": {"start": start, "count": count, "links": [], "total": len(rows)},
                "elements": [self._entity(p) for p in page],
            },
        )

    def _entity(self, post: _Post) -> dict[str, Any]:
        return {
            **post.entity,
            "id": post.urn,
            "createdAt": post.created,
            "lastModifiedAt": post.modified,
            "publishedAt": post.created,
            "lifecycleStateInfo": {"isEditedByAuthor": post.edited},
        }

    def describe(self) -> list[str]:
        lines = []
        for post in self.posts.values():
            if not post.deleted:
                lines.append(" / ".join(line for line in post.shown.splitlines() if line))
        return lines


__all__ = ["LinkedInSim", "parse_little", "utf16_length"]
