"""A Facebook Page's Graph API, as the ``facebook`` channel calls it, in memory.

Answers ``POST /{version}/{page-id}/feed`` (``message``, ``link``) with
``{"id": "<page-id>_<post-id>"}``, ``POST /{version}/{page-post-id}`` (an edit of
``message``) and ``DELETE /{version}/{page-post-id}`` with ``{"success": true}``,
``GET /{version}/{page-post-id}?fields=...`` and ``GET /{version}/{page-id}/posts``
(``{"data": [...], "paging": {...}}``, newest first).

Modelled on the Graph API as documented (Page Feed, Page Post, Handling Errors, Rate
Limiting): the token in ``Authorization: Bearer`` or ``access_token`` (form or query);
without one, or with another than :attr:`GraphSim.token` when that is set, code 190
``Invalid OAuth access token - Cannot parse access token``; a post with neither message
nor link, ``(#100) Missing message or attachment``; the same message as the Page's last
post, ``(#506) Duplicate status message`` with Meta's user title and message; an unknown
id, code 100 subcode 33 ``Unsupported post request. Object with ID ... does not exist``.
A message longer than 63,206 characters gets code 100; Meta documents the limit, not the
wording, so that wording is this simulator's.

Every answer carries ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` (a Page token's
calls count against the Page's business use case). Past :attr:`GraphSim.rate_limit`
calls in :attr:`GraphSim.rate_period` seconds, calls are refused with the throttling
error (80001 for a Page) and ``estimated_time_to_regain_access`` in minutes.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.simulator.graph import bearer_or_param, graph_error, invalid_token
from hub.text import utf16_length

MAX_MESSAGE = 63_206
_VERSIONED = re.compile(r"^/v[0-9]+\.[0-9]+(/.*)$")
_ID = re.compile(r"^[0-9]+(_[0-9]+)?$")


def unsupported(object_id: str, method: str = "post") -> Response:
    """Graph's answer for an id that does not exist (or is gone)."""
    return graph_error(
        400,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot "
        "be loaded due to missing permissions, or does not support this operation. Please "
        "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        kind="GraphMethodException",
        subcode=33,
    )


def iso(at: float) -> str:
    """Graph's time format: ``2026-11-28T23:00:00+0000``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(at))


class GraphSim(PlatformSim):
    """What the simulated Graph platforms share: tokens, parameters, usage and throttling."""

    name: ClassVar[str]
    buc_type: ClassVar[str]  # the business use case: "pages", "instagram"
    throttle_code: ClassVar[int]  # 80001 (Page), 80002 (Instagram)
    throttle_message: ClassVar[str]

    def __init__(self, *, token: str | None = None) -> None:
        super().__init__()
        self.token = token  # None: any token is accepted
        self.rate_limit = 4800  # calls per rate_period before throttling
        self.rate_period = 3600.0
        self.clock = time.time
        self._calls: list[float] = []
        self._sequence = 0

    def _new_id(self) -> str:
        self._sequence += 1
        return str(int(self.clock() * 1000) * 1000 + self._sequence % 1000)

    @staticmethod
    def params(request: Received) -> dict[str, str]:
        """Query, form and JSON parameters, as Graph reads them (the body wins)."""
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in request.params.items()}

    def _usage(self, owner: str) -> dict[str, str]:
        now = self.clock()
        used = len([t for t in self._calls if now - t < self.rate_period])
        percent = min(100, math.ceil(100 * used / max(1, self.rate_limit)))
        wait = 0
        if used >= self.rate_limit and self._calls:
            oldest = min(t for t in self._calls if now - t < self.rate_period)
            wait = max(1, math.ceil((oldest + self.rate_period - now) / 60))
        app = {"call_count": percent, "total_cputime": 1, "total_time": 1}
        buc = {
            owner: [
                {
                    "type": self.buc_type,
                    "call_count": percent,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": wait,
                }
            ]
        }
        return {
            "X-App-Usage": json.dumps(app, separators=(",", ":")),
            "X-Business-Use-Case-Usage": json.dumps(buc, separators=(",", ":")),
        }

    def handle(self, request: Received) -> Response:
        with self.lock:
            token = bearer_or_param(request.headers, request.query, request.form)
            if not token or (self.token is not None and token != self.token):
                return invalid_token()
            match = _VERSIONED.match(request.path)
            if match is None:
                return graph_error(
                    400, "Unknown path components: " + request.path, code=2500
                )  # fmt: skip
            owner = self.owner()
            now = self.clock()
            self._calls = [t for t in self._calls if now - t < self.rate_period]
            if len(self._calls) >= self.rate_limit:
                code, headers, body = graph_error(
                    400, self.throttle_message, code=self.throttle_code, transient=True
                )
                headers.update(self._usage(owner))
                return code, headers, body
            self._calls.append(now)
            parts = [p for p in match.group(1).split("/") if p]
            code, headers, body = self.route(request.method, parts, self.params(request))
            headers.update(self._usage(owner))
            return code, headers, body

    def owner(self) -> str:
        """The business object the usage header is keyed by."""
        raise NotImplementedError

    def route(self, method: str, parts: list[str], params: dict[str, str]) -> Response:
        raise NotImplementedError


@dataclass
class _Post:
    id: str  # <page-id>_<post-id>
    message: str
    link: str | None
    created: float
    deleted: bool = False
    edited: float | None = None


class FacebookSim(GraphSim):
    """One Facebook Page."""

    name: ClassVar[str] = "facebook"
    buc_type = "pages"
    throttle_code = 80001
    throttle_message = (
        "There have been too many calls to this Page account. Wait a bit and try again. "
        "For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    )

    def __init__(self, *, token: str | None = None, page_id: str | None = None) -> None:
        super().__init__(token=token)
        self.page_id = page_id  # None: the Page is whatever numeric id it is called by
        self.posts: dict[str, _Post] = {}

    def owner(self) -> str:
        return self.page_id or "100000000000001"

    def describe(self) -> list[str]:
        with self.lock:
            live = [p for p in self.posts.values() if not p.deleted]
        return [
            (p.message.splitlines()[0] if p.message.strip() else f"(link) {p.link}")
            for p in sorted(live, key=lambda p: p.created)
        ]

    def live(self) -> list[_Post]:
        return [p for p in self.posts.values() if not p.deleted]

    def _permalink(self, post: _Post) -> str:
        page, _, number = post.id.partition("_")
        return f"https://www.facebook.com/{page}/posts/{number}"

    def _fields(self, post: _Post, fields: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": post.id,
            "message": post.message,
            "created_time": iso(post.created),
            "permalink_url": self._permalink(post),
        }
        if post.edited is not None:
            values["updated_time"] = iso(post.edited)
        wanted = [f.strip() for f in fields.split(",") if f.strip()] or ["message", "created_time"]
        row = {k: values[k] for k in wanted if k in values and values[k] != ""}
        row["id"] = post.id
        return row

    def _page(self, page: str) -> bool:
        return self.page_id is None or page == self.page_id

    def route(self, method: str, parts: list[str], params: dict[str, str]) -> Response:
        if len(parts) == 2 and _ID.match(parts[0]):
            page, edge = parts
            if not self._page(page):
                return unsupported(page, "get" if method == "GET" else "post")
            if method == "POST" and edge == "feed":
                return self._create(page, params)
            if method == "GET" and edge in ("posts", "feed", "published_posts"):
                return self._list(params)
            return graph_error(400, f"(#100) Unknown edge: {edge}", code=100)
        if len(parts) == 1 and _ID.match(parts[0]):
            post = self.posts.get(parts[0])
            if post is None or post.deleted:
                return unsupported(
                    parts[0], {"POST": "post", "DELETE": "delete"}.get(method, "get")
                )
            if method == "GET":
                return json_response(200, self._fields(post, params.get("fields", "")))
            if method == "POST":
                return self._edit(post, params)
            if method == "DELETE":
                post.deleted = True
                return json_response(200, {"success": True})
        return graph_error(400, "Unsupported request - method type: " + method.lower(), code=100)

    def _invalid(self, message: str) -> Response | None:
        if utf16_length(message) > MAX_MESSAGE:
            return graph_error(
                400,
                f"(#100) The message is too long: at most {MAX_MESSAGE} characters",
                code=100,
            )
        return None

    def _create(self, page: str, params: dict[str, str]) -> Response:
        message = params.get("message", "")
        link = params.get("link") or None
        if not message.strip() and not link:
            return graph_error(400, "(#100) Missing message or attachment", code=100)
        if link is not None and not re.match(r"^https?://[^\s/]+", link):
            return graph_error(400, "(#100) The link is not a valid URL", code=100)
        problem = self._invalid(message)
        if problem is not None:
            return problem
        live = self.live()
        last = max(live, key=lambda p: p.created) if live else None
        if last is not None and message.strip() and last.message == message:
            return graph_error(
                400,
                "(#506) Duplicate status message",
                code=506,
                user_title="Duplicate Status Update",
                user_msg="This status update is identical to the last one you posted. Try "
                "posting something different, or delete your previous update.",
            )
        post = _Post(
            id=f"{page}_{self._new_id()}", message=message, link=link, created=self.clock()
        )
        self.posts[post.id] = post
        return json_response(200, {"id": post.id})

    def _edit(self, post: _Post, params: dict[str, str]) -> Response:
        if "message" not in params:
            return graph_error(400, "(#100) Missing message or attachment", code=100)
        problem = self._invalid(params["message"])
        if problem is not None:
            return problem
        post.message = params["message"]
        post.edited = self.clock()
        return json_response(200, {"success": True})

    def _list(self, params: dict[str, str]) -> Response:
        try:
            limit = min(100, max(1, int(params.get("limit") or 25)))
        except ValueError:
            limit = 25
        rows = sorted(self.live(), key=lambda p: (p.created, p.id), reverse=True)
        after = params.get("after")
        if after:
            ids = [p.id for p in rows]
            rows = rows[ids.index(after) + 1 :] if after in ids else []
        page = rows[:limit]
        fields = params.get("fields", "")
        body: dict[str, Any] = {"data": [self._fields(p, fields) for p in page]}
        if page:
            body["paging"] = {"cursors": {"before": page[0].id, "after": page[-1].id}}
        return json_response(200, body)


__all__ = ["FacebookSim", "GraphSim", "iso", "unsupported"]
