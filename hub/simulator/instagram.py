"""An Instagram professional account's content publishing API (Graph API), in memory.

Answers what the ``instagram`` channel uses: ``POST /{version}/{ig-user-id}/media``
(``image_url``, ``caption``, ``alt_text``) with ``{"id": <container>}``;
``GET /{version}/{container-id}?fields=status_code,status`` (``FINISHED`` at once, as
Meta's image containers usually are; ``IN_PROGRESS`` meanwhile where a container is made
not ready, see below; ``EXPIRED`` 24 hours after it was made; ``PUBLISHED`` once
published); ``POST /{version}/{ig-user-id}/media_publish``
(``creation_id``) with ``{"id": <media>}``; ``GET /{version}/{media-id}?fields=...``
(``permalink``, ``caption``, ``timestamp``, ``alt_text``, ...); ``GET /{version}/
{ig-user-id}/media`` (newest first, ``data`` and ``paging``); ``GET /{version}/
{ig-user-id}/content_publishing_limit``; ``POST /{version}/{media-id}/comments``
(``message``) with ``{"id": <comment>}``; ``DELETE /{version}/{media-id}`` with
``{"success": true}`` (``deletes = False`` answers as a host that cannot delete does).

Errors in Meta's shape and words where the Instagram error-code reference gives them: an
image that cannot be fetched, 9004 / 2207052 "Only photo or video can be accepted as media
type." ("Media download has failed."); an aspect ratio outside 4:5 to 1.91:1, 36003 /
2207009 "The aspect ratio is not supported."; a caption over 2,200 characters, 36004 /
2207010 "The caption was too long."; publishing a container still in progress, 9007 /
2207027 "Media ID is not available"; an expired one, -2 / 2207020; past 100 publications
in 24 hours, 9 / 2207042 "You reached maximum number of posts that is allowed to be
published by Content Publish API.". More than 5 hashtags or 20 @-mentions get the caption
error too, with this simulator's wording (Meta documents the limits, not the answer); so
does publishing a container twice.

``image_url`` must be absolute http(s) and name a JPEG (``.jpg``/``.jpeg``): Instagram
takes JPEG only. When its host is 127.0.0.1 the simulator fetches it, as Meta's crawler
would, and checks that it is a JPEG whose aspect ratio is between 4:5 and 1.91:1, so a
test can serve a built site on loopback and prove the card URL works; otherwise only the
URL's shape is checked.

A container that is not ready yet: :attr:`InstagramSim.processing_seconds` keeps every
container made ``IN_PROGRESS`` for that long, and :attr:`InstagramSim.not_ready_polls`
for its first that many status reads; either way ``media_publish`` answers 9007 /
2207027 until it is ``FINISHED``.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from hub.channels.instagram import HASHTAG, MAX_CAPTION, MAX_HASHTAGS, MAX_MENTIONS, MENTION
from hub.images import image_info
from hub.simulator.core import Response, json_response
from hub.simulator.facebook import GraphSim, iso, unsupported
from hub.simulator.graph import graph_error
from hub.text import utf16_length

CONTAINER_LIFETIME = 24 * 3600
PUBLISH_WINDOW = 24 * 3600
MIN_RATIO, MAX_RATIO = 4 / 5, 1.91
_ID = re.compile(r"^[0-9]+$")
_JPEG_PATH = re.compile(r"\.jpe?g$", re.IGNORECASE)


@dataclass
class _Container:
    id: str
    image_url: str
    caption: str
    alt_text: str | None
    created: float
    ready_at: float
    polls_left: int = 0  # status reads still answered IN_PROGRESS
    media_id: str | None = None


@dataclass
class _Comment:
    id: str
    text: str
    created: float


@dataclass
class _Media:
    id: str
    caption: str
    alt_text: str | None
    image_url: str
    created: float
    shortcode: str
    deleted: bool = False
    comments: list[_Comment] = field(default_factory=list)


def _caption_error(user_msg: str) -> Response:
    return graph_error(
        400,
        "The caption was too long.",
        code=36004,
        subcode=2207010,
        user_title="Caption too long",
        user_msg=user_msg,
    )


def _download_failed(url: str, why: str) -> Response:
    return graph_error(
        400,
        "Only photo or video can be accepted as media type.",
        code=9004,
        subcode=2207052,
        user_title="Media download has failed.",
        user_msg=f"The media could not be fetched from this uri: {url} ({why})",
    )


class InstagramSim(GraphSim):
    """One Instagram professional account."""

    name: ClassVar[str] = "instagram"
    buc_type = "instagram"
    throttle_code = 80002
    throttle_message = (
        "There have been too many calls to this Instagram account. Wait a bit and try "
        "again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    )
    username = "stormhub"

    def __init__(self, *, token: str | None = None, user_id: str | None = None) -> None:
        super().__init__(token=token)
        self.user_id = user_id  # None: the account is whatever numeric id it is called by
        self.processing_seconds = 0.0  # > 0: containers stay IN_PROGRESS this long
        self.not_ready_polls = 0  # > 0: and for their first that many status reads
        self.publish_limit = 100
        self.deletes = True  # False: answer DELETE as an Instagram Login host does
        self.containers: dict[str, _Container] = {}
        self.media: dict[str, _Media] = {}
        self.published: list[float] = []
        self.fetched: list[str] = []  # image URLs fetched on loopback

    def owner(self) -> str:
        return self.user_id or "17841400000000001"

    # --- what the drill shows ------------------------------------------------------------

    def describe(self) -> list[str]:
        with self.lock:
            live = sorted(
                (m for m in self.media.values() if not m.deleted), key=lambda m: m.created
            )
        lines = []
        for media in live:
            first = media.caption.splitlines()[0] if media.caption.strip() else "(no caption)"
            alt = f" [image: {media.alt_text}]" if media.alt_text else " [image]"
            lines.append(first + alt)
            lines += [f"  comment: {c.text.splitlines()[0]}" for c in media.comments]
        return lines

    def live(self) -> list[_Media]:
        return [m for m in self.media.values() if not m.deleted]

    # --- routing -----------------------------------------------------------------------

    def route(self, method: str, parts: list[str], params: dict[str, str]) -> Response:
        if not parts or not _ID.match(parts[0]):
            return unsupported(parts[0] if parts else "", method.lower())
        if len(parts) == 2:
            node, edge = parts
            if node in self.media and not self.media[node].deleted:
                if method == "POST" and edge == "comments":
                    return self._comment(self.media[node], params)
                return unsupported(node, method.lower())
            if self.user_id is not None and node != self.user_id:
                return unsupported(node, method.lower())
            if method == "POST" and edge == "media":
                return self._create(params)
            if method == "POST" and edge == "media_publish":
                return self._publish(params)
            if method == "GET" and edge == "media":
                return self._list(params)
            if method == "GET" and edge == "content_publishing_limit":
                return self._quota()
            return unsupported(node, method.lower())
        if len(parts) == 1:
            node = parts[0]
            if method == "GET" and node in self.containers:
                return self._container_fields(self.containers[node], params)
            media = self.media.get(node)
            if media is None or media.deleted:
                return unsupported(node, method.lower())
            if method == "GET":
                return json_response(200, self._media_fields(media, params.get("fields", "")))
            if method == "DELETE" and self.deletes:
                media.deleted = True
                return json_response(200, {"success": True})
        return unsupported(parts[-1], method.lower())

    # --- containers --------------------------------------------------------------------

    def _caption_problem(self, caption: str) -> Response | None:
        if utf16_length(caption) > MAX_CAPTION:
            return _caption_error(f"The caption can be at most {MAX_CAPTION} characters.")
        if len(HASHTAG.findall(caption)) > MAX_HASHTAGS:
            return _caption_error(f"The caption can have at most {MAX_HASHTAGS} hashtags.")
        if len(MENTION.findall(caption)) > MAX_MENTIONS:
            return _caption_error(f"The caption can have at most {MAX_MENTIONS} @ mentions.")
        return None

    def _image_problem(self, url: str) -> Response | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return _download_failed(url, "not an absolute http(s) URL")
        if not _JPEG_PATH.search(parts.path):
            return _download_failed(url, "Instagram publishes JPEG images only")
        if parts.hostname != "127.0.0.1":
            return None
        self.fetched.append(url)
        try:
            with urllib.request.urlopen(url, timeout=2.0) as answer:
                data = answer.read(8 * 1024 * 1024 + 1)
        except (urllib.error.URLError, OSError) as exc:
            return _download_failed(url, f"{type(exc).__name__}: {exc}")
        if len(data) > 8 * 1024 * 1024:
            return graph_error(
                400, "The image size is too large.", code=36000, subcode=2207004,
                user_title="Image size too large",
                user_msg="The image is too large to download. It should be less than 8 MiB.",
            )  # fmt: skip
        info = image_info(data)
        if info is None or info.mime != "image/jpeg":
            return _download_failed(url, "not a JPEG image")
        ratio = info.width / info.height
        if not MIN_RATIO - 1e-3 <= ratio <= MAX_RATIO + 1e-3:
            return graph_error(
                400,
                "The aspect ratio is not supported.",
                code=36003,
                subcode=2207009,
                user_title="Unsupported aspect ratio",
                user_msg=f"The submitted image with aspect ratio ('{info.width}', "
                f"'{info.height}') cannot be published. Please submit an image with a valid "
                "aspect ratio.",
            )
        return None

    def _create(self, params: dict[str, str]) -> Response:
        url = params.get("image_url", "")
        if not url:
            return graph_error(
                400, "(#100) The parameter image_url is required", code=100
            )  # fmt: skip
        caption = params.get("caption", "")
        problem = self._caption_problem(caption)
        if problem is not None:
            return problem
        self.lock.release()  # Meta's crawler fetches without holding up the account
        try:
            problem = self._image_problem(url)
        finally:
            self.lock.acquire()
        if problem is not None:
            return problem
        now = self.clock()
        container = _Container(
            id=self._new_id(),
            image_url=url,
            caption=caption,
            alt_text=params.get("alt_text") or None,
            created=now,
            ready_at=now + self.processing_seconds,
            polls_left=self.not_ready_polls,
        )
        self.containers[container.id] = container
        return json_response(200, {"id": container.id})

    def _status(self, container: _Container) -> str:
        now = self.clock()
        if container.media_id is not None:
            return "PUBLISHED"
        if now - container.created >= CONTAINER_LIFETIME:
            return "EXPIRED"
        ready = now >= container.ready_at and container.polls_left <= 0
        return "FINISHED" if ready else "IN_PROGRESS"

    def _container_fields(self, container: _Container, params: dict[str, str]) -> Response:
        status = self._status(container)
        if container.polls_left > 0:
            container.polls_left -= 1
        values = {
            "id": container.id,
            "status_code": status,
            "status": {"FINISHED": "Finished: Media has been uploaded and it is ready to be "
                       "published.", "IN_PROGRESS": "In Progress: Media is still being "
                       "processed.", "PUBLISHED": "Published: Media has been successfully "
                       "published.", "EXPIRED": "Expired: Media container has expired."}[status],
        }  # fmt: skip
        wanted = [f.strip() for f in params.get("fields", "").split(",") if f.strip()] or ["id"]
        return json_response(200, {k: values[k] for k in ["id", *wanted] if k in values})

    def _publish(self, params: dict[str, str]) -> Response:
        container = self.containers.get(params.get("creation_id", ""))
        if container is None:
            return unsupported(params.get("creation_id", ""), "post")
        status = self._status(container)
        if status == "IN_PROGRESS":
            return graph_error(
                400, "Media ID is not available", code=9007, subcode=2207027,
                user_title="Media not ready for publishing",
                user_msg="The media is not ready for publishing, please wait for a moment",
            )  # fmt: skip
        if status == "EXPIRED":
            return graph_error(
                400, "The media you are trying to access has expired. Please try to upload "
                "again.", code=-2, subcode=2207020,
            )  # fmt: skip
        if status == "PUBLISHED":
            return graph_error(400, "(#100) The media has already been published", code=100)
        now = self.clock()
        self.published = [t for t in self.published if now - t < PUBLISH_WINDOW]
        if len(self.published) >= self.publish_limit:
            return graph_error(
                400,
                "Application request limit reached",
                code=9,
                subcode=2207042,
                user_title="Max posts reached",
                user_msg="You reached maximum number of posts that is allowed to be published "
                "by Content Publish API.",
            )
        self.published.append(now)
        media_id = self._new_id()
        shortcode = base64.urlsafe_b64encode(int(media_id).to_bytes(8, "big")).decode()[:11]
        self.media[media_id] = _Media(
            id=media_id,
            caption=container.caption,
            alt_text=container.alt_text,
            image_url=container.image_url,
            created=now,
            shortcode=shortcode,
        )
        container.media_id = media_id
        return json_response(200, {"id": media_id})

    # --- media -------------------------------------------------------------------------

    def _media_fields(self, media: _Media, fields: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": media.id,
            "caption": media.caption,
            "permalink": f"https://www.instagram.com/p/{media.shortcode}/",
            "timestamp": iso(media.created),
            "media_type": "IMAGE",
            "media_product_type": "FEED",
            "media_url": media.image_url,
            "alt_text": media.alt_text,
            "username": self.username,
            "comments_count": len(media.comments),
        }
        wanted = [f.strip() for f in fields.split(",") if f.strip()] or ["id"]
        return {k: values[k] for k in ["id", *wanted] if k in values and values[k] is not None}

    def _list(self, params: dict[str, str]) -> Response:
        try:
            limit = min(100, max(1, int(params.get("limit") or 25)))
        except ValueError:
            limit = 25
        rows = sorted(self.live(), key=lambda m: (m.created, m.id), reverse=True)
        after = params.get("after")
        if after:
            ids = [m.id for m in rows]
            rows = rows[ids.index(after) + 1 :] if after in ids else []
        page = rows[:limit]
        body: dict[str, Any] = {
            "data": [self._media_fields(m, params.get("fields", "")) for m in page]
        }
        if page:
            body["paging"] = {"cursors": {"before": page[0].id, "after": page[-1].id}}
        return json_response(200, body)

    def _quota(self) -> Response:
        now = self.clock()
        used = len([t for t in self.published if now - t < PUBLISH_WINDOW])
        config = {"quota_total": self.publish_limit, "quota_duration": PUBLISH_WINDOW}
        return json_response(200, {"data": [{"quota_usage": used, "config": config}]})

    def _comment(self, media: _Media, params: dict[str, str]) -> Response:
        text = params.get("message", "")
        if not text.strip():
            return graph_error(400, "(#100) The parameter message is required", code=100)
        problem = self._caption_problem(text)
        if problem is not None:
            return problem
        comment = _Comment(id=self._new_id(), text=text, created=self.clock())
        media.comments.append(comment)
        return json_response(200, {"id": comment.id})


__all__ = ["InstagramSim"]
