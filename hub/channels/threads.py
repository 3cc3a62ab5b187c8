"""``threads``: posts on a Threads profile, through Meta's Threads API (graph.threads.net).

Publishing is two steps (developers.facebook.com/docs/threads/posts, "Single Thread
Posts"): ``POST /v1.0/{threads-user-id}/threads`` makes a media container
(``media_type=TEXT`` with ``text``, or ``media_type=IMAGE`` with a public ``image_url``,
``alt_text`` and the text as caption; ``reply_to_id`` for a reply) and answers
``{"id": container}``; ``POST /v1.0/{threads-user-id}/threads_publish`` with
``creation_id`` publishes it and answers ``{"id": media-id}``. The post's public URL is
its ``permalink`` (``GET /v1.0/{media-id}?fields=permalink``). The token travels as the
``access_token`` parameter, as Meta's documentation, its Postman collection and its
sample app (github.com/fbsamples/threads_api, ``buildGraphAPIURL``) send it: in the form
body of a POST, in the query of a GET or DELETE; every message is scrubbed of it.
``auto_publish_text=true`` (one call for a text post) is deliberately not used: a retry
after a lost answer would post twice, where a kept container can be checked first.

Containers: a text container can be published at once; an image container is fetched
and processed by Meta first (Meta recommends waiting about 30 s), so its status is polled
(``GET /v1.0/{container}?fields=status,error_message``: ``IN_PROGRESS``, ``FINISHED``,
``PUBLISHED``, ``ERROR``, ``EXPIRED`` after 24 h; docs/threads/troubleshooting) within
the channel's ``timeout``, past which the error is transient and the retry polls the
same container.

Length: 500 characters a post, "emojis are counted as the number of UTF-8 bytes"
(docs/threads/posts, "Limitations"; the reference adds that ``text`` "uses UTF-8
encoding"). :func:`threads_length` counts one per grapheme and an emoji's UTF-8 bytes
(a flag 8, a family of three 18); URLs are counted in full (Threads does not shorten
them). Since 22 December 2025 a post with more than 5 distinct links is refused at the
container step (``THREADS_API__LINK_LIMIT_EXCEEDED``, docs/threads/create-posts/
text-attachments): such a text measures over the limit, so the fitter splits it.
A long update is a thread: part n+1 is a reply (``reply_to_id``) to part n. Only one
topic tag is taken per post (the first hashtag); further ``hashtags`` stay plain text.

No edit in the API: a correction is a reply marked "Correction:" under the first post,
as is a later update superseding this one. Delete: ``DELETE /v1.0/{media-id}``
(docs/threads/posts/delete-posts; ``threads_delete`` permission, 100 deletes a day),
answered ``{"success": true, "deleted_id": ...}``; a retraction deletes every part. An
id Graph no longer knows (code 100, subcode 33, "Object with ID ... does not exist")
counts as deleted.

Limits: 250 published posts and 1,000 replies per profile in a moving 24 h
(docs/threads/overview "Rate Limiting", ``GET /{threads-user-id}/threads_publishing_limit``
with ``quota_usage``/``config`` and ``reply_quota_usage``/``reply_config``). The error
Threads sends past them is not documented: any refusal of ``threads_publish`` is checked
against that endpoint, and a used-up quota is reported as a transient rate limit (no
wait is given: the window moves as old posts age out). Graph throttling codes
(4, 17, 32, 613, 80001-80014) and the token codes (190, 102) are read by
:class:`~hub.channels.graph.GraphChannel`.

Exactly once: within a run, the container made for each part and the parts already
published are kept per delivery key, so a retry after a lost answer checks the container
(``PUBLISHED``: the post is looked up by its text, not published again) and never posts a
part twice. After a crash, :meth:`ThreadsChannel.find` looks through the profile's last
50 posts (``GET /{threads-user-id}/threads``) and 50 replies (``.../replies``, with
``replied_to``) for the first part's exact text, which holds the update's permalink (and
"Correction:" for a correction), and follows the replies for the rest of the thread. What
remains: a post older than those 50, or a crash between two parts (the parts not yet
posted are then missing from the thread).

The HTTP client is built on first use, never in ``__init__``: ``stormhub preview``
builds channels only to render, without credentials or network.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import regex

from hub.channels.base import Post, PublishError, Receipt
from hub.channels.graph import GraphChannel
from hub.config import ThreadsConfig
from hub.text import find_urls, shorten

if TYPE_CHECKING:
    from hub.model import Hub

API_VERSION = "v1.0"
MAX_CHARS = 500
MAX_LINKS = 5
MAX_ALT_TEXT = 1000  # alt_text on IMAGE containers; longer is cut at a word boundary
FIND_LIMIT = 50
_GRAPHEME = regex.compile(r"\X")
# An emoji grapheme: a pictograph, a regional-indicator flag or a keycap sequence.
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]")
# A link without a scheme, as Threads links "www.facebook.com" (its own example).
_BARE_LINK = regex.compile(
    r"(?<![\w@./:-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}(?![\w@-])(?:/[^\s]*)?",
    regex.IGNORECASE,
)


def threads_links(text: str) -> set[str]:
    """The distinct links Threads counts in *text*: http(s) URLs and bare domains."""
    found: set[str] = set()
    taken: list[tuple[int, int]] = []
    for start, end, url in find_urls(text):
        taken.append((start, end))
        found.add(_link_key(url))
    for match in _BARE_LINK.finditer(text):
        if not any(s <= match.start() < e for s, e in taken):
            found.add(_link_key(match.group().rstrip(".,;:!?)")))
    return found


def _link_key(url: str) -> str:
    """A link as compared for "unique": without scheme, case-folded host, no final slash."""
    rest = url.split("://", 1)[-1]
    host, slash, path = rest.partition("/")
    return f"{host.lower()}{slash}{path}".rstrip("/")


def threads_chars(text: str) -> int:
    """Threads' character count: one per grapheme, an emoji's UTF-8 bytes."""
    return sum(len(g.encode()) if _EMOJI.search(g) else 1 for g in _GRAPHEME.findall(text))


def threads_length(text: str) -> int:
    """The length to hold against the 500 limit; more than 5 links counts as too long."""
    count = threads_chars(text)
    return count if len(threads_links(text)) <= MAX_LINKS else max(count, MAX_CHARS + 1)


class ThreadsChannel(GraphChannel[ThreadsConfig]):
    type = "threads"
    platform = "Threads"
    max_chars = MAX_CHARS
    supports_edit = False  # the Threads API has no edit
    supports_delete = True  # DELETE /{threads-media-id}
    supports_threads = True  # reply_to_id
    takes_images = True  # media_type=IMAGE with a public image_url, first part only
    idempotent = False
    can_find = True  # the profile's recent posts and replies, by the first part's text
    token_field = "access_token"
    token_help = (
        "for the Threads profile (Meta App Dashboard > Use cases > Access the Threads API,"
        " with threads_basic, threads_content_publish, threads_manage_replies,"
        " threads_read_replies and threads_delete)"
    )

    def __init__(self, config: ThreadsConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._published: dict[str, list[str]] = {}  # delivery key -> media ids so far
        self._containers: dict[str, str] = {}  # "<key>#<part>" -> its container id

    def length(self, text: str) -> int:
        return threads_length(text)

    # --- requests --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{str(self.config.api_base_url).rstrip('/')}/{API_VERSION}"

    def _token(self) -> str:
        return self.credential("access_token", "a Threads user access token")

    def _get(self, path: str, **params: str) -> Any:
        params["access_token"] = self._token()
        return self._json(self.request("GET", f"{self.base_url}/{path}", params=params))

    def _post(self, path: str, **data: str) -> Any:
        data["access_token"] = self._token()
        return self._json(self.request("POST", f"{self.base_url}/{path}", data=data))

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PublishError(
                f"{self.platform} sent a response that is not the API's JSON; retrying",
                transient=True,
                status=response.status_code,
            ) from None

    @property
    def _user(self) -> str:
        return self.config.user_id

    # --- publishing ------------------------------------------------------------------

    def _container(self, text: str, post: Post | None, reply_to: str | None) -> str:
        """``POST /{user}/threads``: a container for one part; *post* when it has the image."""
        fields = {"text": text}
        if post is not None and post.image:
            fields.update(media_type="IMAGE", image_url=post.image)
            if post.alt:
                fields["alt_text"] = shorten(post.alt, MAX_ALT_TEXT)
        else:
            fields["media_type"] = "TEXT"
        if reply_to:
            fields["reply_to_id"] = reply_to
        return str(self._post(f"{self._user}/threads", **fields)["id"])

    def _status(self, container: str) -> tuple[str, str]:
        body = self._get(container, fields="status,error_message")
        return str(body.get("status") or ""), str(body.get("error_message") or "")

    def _wait(self, container: str) -> str:
        """Poll an image container until it is no longer ``IN_PROGRESS``, within the timeout."""
        deadline = time.monotonic() + self.config.timeout
        pause = 0.1
        while True:
            status, _ = self._status(container)
            if status != "IN_PROGRESS":
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishError(
                    f"{self.platform} is still processing the image after "
                    f"{self.config.timeout:g} s; retrying",
                    transient=True,
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, 2.0)

    def _part(self, slot: str, text: str, post: Post | None, reply_to: str | None) -> str:
        """Publish one part (reusing the container kept under *slot*); its media id."""
        container = self._containers.get(slot)
        status = ""
        if container is not None:
            status, message = self._status(container)
            if status == "PUBLISHED":  # the answer to threads_publish was lost
                return self._published_as(container, text, reply_to)
            if status in ("ERROR", "EXPIRED"):
                self._containers.pop(slot, None)
                container = None
                if status == "ERROR":
                    raise PublishError(
                        f"{self.platform} could not process the post: {message or 'UNKNOWN'}",
                        transient=False,
                    )
        if container is None:
            container = self._container(text, post, reply_to)
            self._containers[slot] = container
            status = ""
        if post is not None and post.image and status != "FINISHED":
            status = self._wait(container)
            if status == "ERROR":
                self._containers.pop(slot, None)
                _, message = self._status(container)
                raise PublishError(
                    f"{self.platform} could not use the image {post.image}: "
                    f"{message or 'UNKNOWN'}; check that it is a public JPEG or PNG",
                    transient=False,
                )
        try:
            media = self._post(f"{self._user}/threads_publish", creation_id=container)
        except PublishError as exc:
            if exc.fatal or exc.status is None or exc.status >= 500:
                raise  # a refusal for the token, or no answer: not about the quota
            raise self._quota_error(exc, reply=reply_to is not None) from None
        self._containers.pop(slot, None)
        return str(media["id"])

    def _published_as(self, container: str, text: str, reply_to: str | None) -> str:
        """The media id of a container published before its answer was lost."""
        for item in self._recent("replies" if reply_to else "threads"):
            if _same(item.get("text"), text) and (
                reply_to is None or _replied_to(item) == reply_to
            ):
                return str(item["id"])
        raise PublishError(
            f"{self.platform} published container {container} but does not list the post yet;"
            " retrying",
            transient=True,
        )

    def _quota_error(self, exc: PublishError, *, reply: bool) -> PublishError:
        """*exc*, or a rate limit when the profile's 24-hour publishing quota is used up."""
        usage, config = (
            ("reply_quota_usage", "reply_config") if reply else ("quota_usage", "config")
        )
        try:
            rows = self._get(f"{self._user}/threads_publishing_limit", fields=f"{usage},{config}")
        except PublishError:
            return exc
        row = (rows.get("data") or [{}])[0] if isinstance(rows, dict) else {}
        used = row.get(usage)
        limit = (row.get(config) or {}).get("quota_total")
        hours = ((row.get(config) or {}).get("quota_duration") or 86400) / 3600
        if isinstance(used, int) and isinstance(limit, int) and used >= limit:
            what = "replies" if reply else "posts"
            return PublishError(
                f"{self.platform} publishing limit reached: {used} of {limit} {what} in "
                f"{hours:g} hours ({exc}); retrying as older {what} leave the window",
                transient=True,
                status=exc.status or 429,
                fatal=False,
            )
        return exc

    def _thread(self, post: Post, key: str, reply_to: str | None) -> Receipt:
        """Publish *post*'s parts, each a reply to the one before; the first has the image."""
        ids = self._published.setdefault(key, [])
        for number, text in enumerate(post.parts, 1):
            if number <= len(ids):
                continue  # published by an earlier attempt of this delivery
            parent = ids[-1] if ids else reply_to
            ids.append(self._part(f"{key}#{number}", text, post if number == 1 else None, parent))
        permalink = self._get(ids[0], fields="permalink").get("permalink")
        self._published.pop(key, None)
        return Receipt(remote_id=ids[0], url=permalink, ids=tuple(ids))

    def publish(self, post: Post, key: str) -> Receipt:
        return self._thread(post, key, None)

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """*post* as a reply under the first post of *receipt* (a correction, a follow-up)."""
        return self._thread(post, key, receipt.remote_id)

    # --- deleting --------------------------------------------------------------------

    def _delete(self, media_id: str) -> None:
        response = self.request(
            "DELETE",
            f"{self.base_url}/{media_id}",
            params={"access_token": self._token()},
            ok=(400, 404),
        )
        if response.is_success:
            return
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        if error.get("code") == 100 and error.get("error_subcode") == 33:
            return  # Graph no longer knows it: already deleted
        raise self.error(response)

    def delete(self, receipt: Receipt) -> None:
        for media_id in reversed(receipt.ids or (receipt.remote_id,)):
            self._delete(media_id)

    # --- recovery --------------------------------------------------------------------

    def _recent(self, edge: str) -> list[dict[str, Any]]:
        """The profile's last posts (``threads``) or replies (``replies``), newest first."""
        fields = "id,text,permalink,timestamp" + (",replied_to" if edge == "replies" else "")
        body = self._get(f"{self._user}/{edge}", fields=fields, limit=str(FIND_LIMIT))
        data = body.get("data") if isinstance(body, dict) else None
        return [item for item in data or [] if isinstance(item, dict) and item.get("id")]

    def find(self, post: Post) -> Receipt | None:
        """The earlier post of this delivery: its first part's exact text, then its replies."""
        replies = self._recent("replies")
        candidates = self._recent("threads") + replies
        matches = [
            item
            for item in candidates
            if post.link in str(item.get("text") or "") and _same(item.get("text"), post.parts[0])
        ]
        if not matches:
            return None
        first = min(matches, key=lambda item: str(item.get("timestamp") or ""))
        chain = [first]
        for text in post.parts[1:]:
            parent = str(chain[-1]["id"])
            following = [
                r for r in replies if _replied_to(r) == parent and _same(r.get("text"), text)
            ]
            if not following:
                break
            chain.append(min(following, key=lambda item: str(item.get("timestamp") or "")))
        return Receipt(
            remote_id=str(first["id"]),
            url=first.get("permalink"),
            ids=tuple(str(item["id"]) for item in chain),
        )


def _same(posted: object, text: str) -> bool:
    """Whether a listed post's text is *text* (whitespace runs compared as one space)."""
    return isinstance(posted, str) and " ".join(posted.split()) == " ".join(text.split())


def _replied_to(item: dict[str, Any]) -> str | None:
    parent = item.get("replied_to")
    return str(parent.get("id")) if isinstance(parent, dict) and parent.get("id") else None
