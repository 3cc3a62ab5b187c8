"""Meta's Threads API (graph.threads.net), as the ``threads`` channel calls it, in memory.

One profile (``user_id``, also reachable as ``me``). Answers, under ``/v1.0``:
``POST /{user}/threads`` (a media container: ``media_type`` TEXT or IMAGE, ``text``,
``image_url``, ``alt_text``, ``reply_to_id``; form body or query) -> ``{"id"}``;
``POST /{user}/threads_publish`` (``creation_id``) -> ``{"id": media-id}``;
``GET /{container}?fields=status,error_message``; ``GET /{media}?fields=...``
(``id``, ``text``, ``permalink``, ``timestamp``, ``media_type``, ``shortcode``,
``username``, ``is_reply``, ``replied_to``, ``root_post``, ``alt_text``, ``media_url``);
``DELETE /{media}`` -> ``{"success": true, "deleted_id"}``; ``GET /{user}/threads`` and
``GET /{user}/replies`` (newest first, ``limit``, Graph's ``data``/``paging.cursors``);
``GET /{user}/threads_publishing_limit``; ``GET /me``.

As the documentation describes it (developers.facebook.com/docs/threads: posts,
troubleshooting, overview, delete-posts): numeric string ids; the token as
``access_token`` (query or form) or ``Authorization: Bearer``; a container ``FINISHED``
at once for text, ``IN_PROGRESS`` for ``processing_seconds`` for an image, ``PUBLISHED``
once published, ``EXPIRED`` after 24 h; 500 characters (emojis as their UTF-8 bytes), at
most 5 distinct links; 250 posts and 1,000 replies per moving 24 h; Graph's error JSON
(code 190 for a bad token, code 100 subcode 33 "Unsupported get/post/delete request.
Object with ID ... does not exist" for an unknown id).

Modelled where Meta documents no wording: a too-long text (code 100; a refusal with
code 100 is attested, its words are ours), too many links (code 100 naming
``THREADS_API__LINK_LIMIT_EXCEEDED``), publishing a container twice or before it is
processed (the latter as Instagram's content publishing API answers it: code 9007,
subcode 2207027 "Media ID is not available"), and the used-up publishing quota (code 4).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from hub.channels.threads import MAX_CHARS, MAX_LINKS, threads_chars, threads_links
from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.simulator.graph import bearer_or_param, graph_error, invalid_token

CONTAINER_TTL = 24 * 3600
QUOTA_DURATION = 86400
POST_QUOTA = 250
REPLY_QUOTA = 1000
DELETE_QUOTA = 100
MEDIA_FIELDS = {
    "id", "text", "permalink", "timestamp", "media_type", "media_product_type",
    "shortcode", "username", "is_reply", "replied_to", "root_post", "alt_text",
    "media_url", "is_quote_post", "has_replies",
}  # fmt: skip


@dataclass
class _Container:
    id: str
    media_type: str
    text: str
    created: float
    ready_at: float
    image_url: str | None = None
    alt_text: str | None = None
    reply_to: str | None = None
    media_id: str | None = None  # once published


@dataclass
class _Media:
    id: str
    shortcode: str
    media_type: str
    text: str
    created: float
    image_url: str | None = None
    alt_text: str | None = None
    reply_to: str | None = None
    root: str | None = None
    deleted: bool = False


def _timestamp(at: float) -> str:
    """Graph's datetime format: ``2026-11-27T06:15:00+0000``."""
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _unknown(method: str, object_id: str) -> Response:
    return graph_error(
        400,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        kind="GraphMethodException",
        subcode=33,
    )


def _invalid(user_msg: str, title: str) -> Response:
    return graph_error(400, "Invalid parameter", code=100, user_title=title, user_msg=user_msg)


class ThreadsSim(PlatformSim):
    """One Threads profile."""

    name: ClassVar[str] = "threads"
    user_id = "27581243165130081"
    username = "stormhub"

    def __init__(self, *, token: str | None = None) -> None:
        super().__init__()
        self.token = token  # None: any well-formed token is valid
        self.containers: dict[str, _Container] = {}
        self.media: dict[str, _Media] = {}
        self.deletes: list[float] = []
        self.processing_seconds = 0.0  # > 0: image containers stay IN_PROGRESS this long
        self.post_quota = POST_QUOTA
        self.reply_quota = REPLY_QUOTA
        self._sequence = 0
        self.clock = time.time

    # --- what the drill shows --------------------------------------------------------

    def describe(self) -> list[str]:
        with self.lock:
            live = sorted(
                (m for m in self.media.values() if not m.deleted), key=lambda m: int(m.id)
            )
        lines = []
        for media in live:
            first = (media.text.splitlines() or ["(empty)"])[0]
            if media.media_type == "IMAGE":
                first += f" [image: {media.alt_text}]" if media.alt_text else " [image]"
            lines.append(first)
        return lines

    def live(self) -> list[_Media]:
        with self.lock:
            return sorted(
                (m for m in self.media.values() if not m.deleted), key=lambda m: int(m.id)
            )

    # --- HTTP ------------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        with self.lock:
            params = {k: v[0] for k, v in request.query.items() if v}
            if request.method == "POST" and request.body:
                params.update({k: v[0] for k, v in request.form.items() if v})
            token = bearer_or_param(
                request.headers, request.query, request.form if request.body else {}
            )
            if token is None:
                return graph_error(
                    400,
                    "An active access token must be used to query information about the "
                    "current user.",
                    code=2500,
                )
            if self.token is not None and token != self.token:
                return invalid_token()
            parts = [p for p in request.path.split("/") if p]
            if not parts or parts[0] != "v1.0":
                return graph_error(400, f"Unknown path components: {request.path}", code=2500)
            return self._route(request.method, parts[1:], params)

    def _route(self, method: str, parts: list[str], params: dict[str, str]) -> Response:
        if len(parts) == 2 and parts[0] in ("me", self.user_id):
            edge = parts[1]
            if method == "POST" and edge == "threads":
                return self._create(params)
            if method == "POST" and edge == "threads_publish":
                return self._publish(params)
            if method == "GET" and edge in ("threads", "replies"):
                return self._list(edge == "replies", params)
            if method == "GET" and edge == "threads_publishing_limit":
                return self._quota(params)
        if len(parts) == 1:
            object_id = parts[0]
            if object_id in ("me", self.user_id) and method == "GET":
                return json_response(200, {"id": self.user_id, "username": self.username})
            if method == "GET" and object_id in self.containers:
                return self._container_status(self.containers[object_id], params)
            media = self.media.get(object_id)
            if media is not None and not media.deleted:
                if method == "GET":
                    return json_response(200, self._entity(media, params.get("fields")))
                if method == "DELETE":
                    return self._delete(media)
            return _unknown(method, object_id)
        return _unknown(method, "/".join(parts))

    # --- containers ------------------------------------------------------------------

    def _new_id(self) -> str:
        self._sequence += 1
        return str(
            17_800_000_000_000_000 + int(self.clock() * 1000) % 10**12 * 1000 + self._sequence
        )

    def _create(self, params: dict[str, str]) -> Response:
        kind = params.get("media_type", "")
        if kind not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return graph_error(
                400, "(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}",
                code=100,
            )  # fmt: skip
        if kind in ("VIDEO", "CAROUSEL"):
            return _invalid("This simulator takes TEXT and IMAGE posts only.", "Unsupported")
        text = params.get("text", "")
        if kind == "TEXT" and not text.strip():
            return graph_error(400, "(#100) The parameter text is required", code=100)
        image_url = params.get("image_url")
        if kind == "IMAGE" and not image_url:
            return graph_error(400, "(#100) The parameter image_url is required", code=100)
        if threads_chars(text) > MAX_CHARS:
            return _invalid(
                f"The post's text is too long: posts are limited to {MAX_CHARS} characters.",
                "Text too long",
            )
        if len(threads_links(text)) > MAX_LINKS:
            return _invalid(
                f"THREADS_API__LINK_LIMIT_EXCEEDED: a post may contain at most {MAX_LINKS} links.",
                "Too many links",
            )
        reply_to = params.get("reply_to_id")
        if reply_to is not None:
            parent = self.media.get(reply_to)
            if parent is None or parent.deleted:
                return _invalid("The post you are replying to does not exist.", "Invalid reply")
        now = self.clock()
        container = _Container(
            id=self._new_id(),
            media_type=kind,
            text=text,
            created=now,
            ready_at=now + (self.processing_seconds if kind == "IMAGE" else 0.0),
            image_url=image_url,
            alt_text=params.get("alt_text"),
            reply_to=reply_to,
        )
        self.containers[container.id] = container
        return json_response(200, {"id": container.id})

    def _state(self, container: _Container) -> str:
        now = self.clock()
        if container.media_id is not None:
            return "PUBLISHED"
        if now - container.created > CONTAINER_TTL:
            return "EXPIRED"
        return "FINISHED" if now >= container.ready_at else "IN_PROGRESS"

    def _container_status(self, container: _Container, params: dict[str, str]) -> Response:
        body: dict[str, Any] = {"id": container.id}
        fields = set((params.get("fields") or "id").split(","))
        if "status" in fields:
            body["status"] = self._state(container)
        return json_response(200, body)

    def _used(self, replies: bool) -> int:
        since = self.clock() - QUOTA_DURATION
        return sum(
            1
            for m in self.media.values()
            if m.created > since and (m.reply_to is not None) is replies
        )

    def _publish(self, params: dict[str, str]) -> Response:
        creation_id = params.get("creation_id", "")
        container = self.containers.get(creation_id)
        if container is None:
            return _unknown("POST", creation_id or "(none)")
        state = self._state(container)
        if state == "IN_PROGRESS":
            return graph_error(
                400, "The media is not ready for publishing, please wait for a moment",
                code=9007, subcode=2207027, user_title="Media ID is not available",
                user_msg="The media is not ready for publishing, please wait for a moment",
            )  # fmt: skip
        if state == "PUBLISHED":
            return _invalid("This media container has already been published.", "Published")
        if state == "EXPIRED":
            return _invalid("This media container has expired: create a new one.", "Expired")
        replies = container.reply_to is not None
        if self._used(replies) >= (self.reply_quota if replies else self.post_quota):
            return graph_error(400, "Application request limit reached", code=4, transient=True)
        parent = self.media.get(container.reply_to or "")
        if replies and (parent is None or parent.deleted):
            return _invalid("The post you are replying to does not exist.", "Invalid reply")
        media = _Media(
            id=self._new_id(),
            shortcode=base64.urlsafe_b64encode(secrets.token_bytes(8)).decode()[:11],
            media_type=container.media_type,
            text=container.text,
            created=self.clock(),
            image_url=container.image_url,
            alt_text=container.alt_text,
            reply_to=container.reply_to,
            root=(parent.root or parent.id) if parent is not None else None,
        )
        self.media[media.id] = media
        container.media_id = media.id
        return json_response(200, {"id": media.id})

    def _delete(self, media: _Media) -> Response:
        now = self.clock()
        self.deletes = [t for t in self.deletes if now - t < QUOTA_DURATION]
        if len(self.deletes) >= DELETE_QUOTA:
            return graph_error(400, "Application request limit reached", code=4, transient=True)
        self.deletes.append(now)
        media.deleted = True
        return json_response(200, {"success": True, "deleted_id": media.id})

    # --- reading ---------------------------------------------------------------------

    def _entity(self, media: _Media, fields: str | None) -> dict[str, Any]:
        wanted = [f for f in (fields or "id").split(",") if f in MEDIA_FIELDS] or ["id"]
        full: dict[str, Any] = {
            "id": media.id,
            "text": media.text,
            "permalink": f"https://www.threads.com/@{self.username}/post/{media.shortcode}",
            "timestamp": _timestamp(media.created),
            "media_type": "TEXT_POST" if media.media_type == "TEXT" else media.media_type,
            "media_product_type": "THREADS",
            "shortcode": media.shortcode,
            "username": self.username,
            "is_reply": media.reply_to is not None,
            "is_quote_post": False,
            "has_replies": any(
                m.reply_to == media.id and not m.deleted for m in self.media.values()
            ),
        }
        if media.reply_to is not None:
            full["replied_to"] = {"id": media.reply_to}
            full["root_post"] = {"id": media.root}
        if media.image_url:
            full["media_url"] = media.image_url
        if media.alt_text:
            full["alt_text"] = media.alt_text
        if media.media_type == "IMAGE" and not media.text:
            full.pop("text")
        return {"id": media.id, **{f: full[f] for f in wanted if f in full}}

    def _list(self, replies: bool, params: dict[str, str]) -> Response:
        try:
            limit = min(100, max(1, int(params.get("limit") or 25)))
        except ValueError:
            limit = 25
        rows = sorted(
            (
                m
                for m in self.media.values()
                if not m.deleted and (m.reply_to is not None) is replies
            ),
            key=lambda m: -int(m.id),
        )[:limit]
        body: dict[str, Any] = {"data": [self._entity(m, params.get("fields")) for m in rows]}
        if rows:
            first, last = (
                base64.b64encode(f"cursor:{m.id}".encode()).decode() for m in (rows[0], rows[-1])
            )
            body["paging"] = {"cursors": {"before": first, "after": last}}
        return json_response(200, body)

    def _quota(self, params: dict[str, str]) -> Response:
        fields = set(re.split(r"\s*,\s*", params.get("fields") or "quota_usage"))
        row: dict[str, Any] = {}
        if "quota_usage" in fields:
            row["quota_usage"] = self._used(False)
        if "config" in fields:
            row["config"] = {"quota_total": self.post_quota, "quota_duration": QUOTA_DURATION}
        if "reply_quota_usage" in fields:
            row["reply_quota_usage"] = self._used(True)
        if "reply_config" in fields:
            row["reply_config"] = {
                "quota_total": self.reply_quota,
                "quota_duration": QUOTA_DURATION,
            }
        if "delete_quota_usage" in fields:
            row["delete_quota_usage"] = len(self.deletes)
        if "delete_config" in fields:
            row["delete_config"] = {"quota_total": DELETE_QUOTA, "quota_duration": QUOTA_DURATION}
        return json_response(200, {"data": [row]})


__all__ = ["ThreadsSim"]
