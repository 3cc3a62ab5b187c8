"""``x``: posts to X (Twitter) through tweepy's API v2 client, OAuth 1.0a user context.

What the adapter relies on, and where it was checked (tweepy 4.17.0):

- Host. ``tweepy.Client`` hardcodes ``https://api.twitter.com`` in ``BaseClient.request``
  and sends through ``self.session.request(...)`` without a timeout. X documents
  ``https://api.x.com`` as the API's server (docs.x.com OpenAPI ``servers``, 2025-2026);
  api.twitter.com is the host tweepy still uses and, as far as public reports go, it
  still answers. ``api_base_url`` (default https://api.x.com) replaces the host by
  giving the client a :class:`requests.Session` subclass whose ``request`` rewrites
  the URL and adds the timeout *before* requests prepares the request. Rewriting
  later (in a transport adapter's ``send``) would be too late: requests applies
  ``auth`` while preparing, and the OAuth 1.0a signature covers the scheme, host and
  path (RFC 5849 3.4.1.2; X: "make sure the https:// portion of the URL matches the
  actual request"), so it would be a signature for a host the request never reaches.
- Errors. With ``wait_on_rate_limit=False`` (the default, kept) tweepy raises
  ``TooManyRequests`` on 429 (``reset_time`` from ``x-rate-limit-reset``),
  ``Unauthorized`` on 401, ``Forbidden`` on 403, ``TwitterServerError`` on 5xx and
  lets requests' ``Timeout``/``ConnectionError`` through. All become
  :class:`PublishError`. X answers 403 for content it refuses as well as for
  permissions: "You are not allowed to create a Tweet with duplicate content." is a
  refusal of that one post, not a credentials problem, so it is reported without
  the 401/403 status that makes the fan-out stop the channel.
- Editing. X API v2 can edit only through ``POST /2/tweets`` with
  ``edit_options.previous_post_id`` (docs.x.com "Create or Edit Post"), for accounts
  with X Premium, within the edit window and a few times; tweepy 4.17's
  ``create_tweet`` has no such parameter. So ``supports_edit`` is False and a
  correction is a reply marked "Correction:" under the original thread, one post
  long (see :meth:`XChannel.render_correction`).
- Images. The image of an update is uploaded and attached to the FIRST post of a new
  thread (:meth:`XChannel.publish`), with its alt text; replies (corrections,
  retraction notices) carry none. Endpoints: X API v2 ``POST /2/media/upload``
  (one-shot: multipart/form-data with the raw bytes in ``media``, ``media_category``
  ``tweet_image``, ``media_type``; answer ``{"data": {"id", "media_key", "size",
  "expires_after_secs"}}``), then ``POST /2/media/metadata`` with
  ``{"id", "metadata": {"alt_text": {"text"}}}``, then ``POST /2/tweets`` with
  ``media.media_ids``. Sources: X's OpenAPI spec (github.com/xdevplatform/xdk
  ``latest-openapi.json``, API v2.159, 2026: both media endpoints accept
  ``UserToken``, i.e. OAuth 1.0a user context, as well as OAuth 2.0; ``AltText.text``
  ``maxLength`` 1000; one-shot ``media_category`` ``tweet_image``/``dm_image``/
  ``subtitles`` and ``media_type`` JPEG/PNG/WEBP/BMP/TIFF only, so a GIF would need
  the chunked upload, which this adapter does not do), docs.x.com "Media" (images up
  to 5 MB) and "Rate limits" (500 uploads and 500 metadata requests per user per
  15 min). Why not tweepy: tweepy 4.17 has media upload only in its v1.1
  ``tweepy.API`` (``simple_upload``/``media_upload``/``create_media_metadata`` on
  ``upload.twitter.com/1.1/media/...``), and X retired those for self-serve tiers in
  2025 (announced for 31 March, extended to 30 April and again in May; public reports
  date the sunset 9 June 2025; tweepy issue #2217, still open, asks for v2 media; one
  report says the v1.1 host still answers but its media ids are refused by
  ``POST /2/tweets``). So the host rewrite needs no upload host: every request,
  the upload included, goes to the api host. ``tweepy.Client.request`` sends
  JSON only, so the multipart upload is sent on the client's own session with the
  same ``OAuth1UserHandler`` auth tweepy uses: it goes to the api host, through the
  same rewrite, and requests-oauthlib signs a multipart request without its body
  (only form-urlencoded bodies are signed, RFC 5849 3.4.1.3.1). The metadata call
  is ``tweepy.Client.request`` with JSON. An upload error becomes a
  :class:`PublishError` like any other answer (transient for 429/5xx/timeouts), so
  the fan-out retries the post; within one delivery the uploaded media id is kept
  and reused by a retry while it is valid (``expires_after_secs``). Alt text is cut
  at a word boundary to 1000 characters in :meth:`XChannel.render`. Not verified
  against X itself: that a media id uploaded with OAuth 1.0a is accepted by
  ``POST /2/tweets`` for every account (one public report of a video refused with
  "Your media IDs are invalid." blames OAuth 1.0a; X's spec says it is allowed).
"""

from __future__ import annotations

import html
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import tweepy  # type: ignore[import-untyped]

from hub.channels.base import (
    Channel,
    Post,
    PublishError,
    Receipt,
    error_for_status,
    read_image,
    retry_after_seconds,
)
from hub.config import MissingSecret, XConfig
from hub.text import X_LIMIT, X_URL_LENGTH, fit, shorten, x_length

if TYPE_CHECKING:
    from hub.model import Hub, Update

TWEEPY_HOST = "https://api.twitter.com"
STATUS_URL = "https://x.com/i/web/status/{id}"
MEDIA_UPLOAD = "/2/media/upload"
MEDIA_METADATA = "/2/media/metadata"
ALT_LIMIT = 1000  # X's OpenAPI spec: AltText.text maxLength 1000
IMAGE_LIMIT = 5 * 1024 * 1024  # docs.x.com "Media": images up to 5 MB

# The image types the one-shot upload takes (its media_type enum).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/bmp", "image/tiff", "image/webp"})

# 403 answers that refuse one post's content; any other 403 is about the app or tokens.
CONTENT_REFUSALS = (
    "duplicate content",
    "too long",
    "attempted to reply to a tweet that is deleted",
)


class _HostSession(requests.Session):
    """A session that sends tweepy's api.twitter.com requests to *base*, with a timeout."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__()
        self.base = base.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST + "/"):
            url = self.base + url[len(TWEEPY_HOST) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


class XChannel(Channel[XConfig]):
    """Posts (threads of replies when long) to one X account."""

    type = "x"
    length_unit = "weighted characters"
    max_chars = X_LIMIT
    counts_urls_as = X_URL_LENGTH
    supports_edit = False  # see the module docstring
    supports_delete = True
    supports_threads = True
    takes_images = True  # uploaded to the first post of a thread; see the module docstring
    idempotent = False  # X has no request key; duplicate-content refusal is the only guard
    can_find = True
    find_window = 50  # how many of the account's latest posts find() looks through

    def __init__(self, config: XConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._client: Any = None  # made on first use: constructing does no I/O
        self._lock = threading.Lock()
        # Parts already posted per delivery key, so a retry after a failure in the
        # middle of a thread continues it instead of posting part 1 again.
        self._progress: dict[str, list[str]] = {}
        # The image uploaded for a delivery key: (media id, monotonic time it expires).
        self._media: dict[str, tuple[str, float]] = {}
        self._user_id: str | None = None  # the account's, for find()

    def length(self, text: str) -> int:
        return x_length(text)

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        """The platform post; the image's alt text cut to X's 1000 characters."""
        post = super().render(update, correction=correction, retraction=retraction)
        if post.alt is not None and len(post.alt) > ALT_LIMIT:
            post = replace(post, alt=shorten(post.alt, ALT_LIMIT))
        return post

    def render_correction(self, update: Update) -> Post:
        """The correction as ONE post, "Correction: ..." cut short before the permalink.

        X refuses a post whose text equals one of the account's recent posts, and a
        corrected update posted as a thread repeats most of the original thread's parts
        word for word, counters included, so all but its first part would be refused.
        The permalink leads to the corrected update in full.
        """
        post = super().render_correction(update)
        if len(post.parts) == 1:
            return post
        parts = fit(
            self.body_text(update, correction=True),
            length=self.length,
            limit=self.limit,
            link=post.link,
            mode="truncate",
        )
        return replace(post, parts=tuple(parts), lengths=tuple(self.length(p) for p in parts))

    # --- the SDK client ---------------------------------------------------------

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        try:
            values = {name: self.config.secret(name).get_secret_value() for name in _FIELDS}
        except MissingSecret as exc:
            raise PublishError(
                f"X: environment variable {', '.join(exc.names)} not set: set it, "
                "or set enabled: false for this channel",
                transient=False,
            ) from None
        client = tweepy.Client(
            consumer_key=values["api_key"],
            consumer_secret=values["api_secret"],
            access_token=values["access_token"],
            access_token_secret=values["access_token_secret"],
            wait_on_rate_limit=False,  # the fan-out decides how long to wait
        )
        client.session = _HostSession(str(self.config.api_base_url), self.config.timeout)
        return client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.session.close()
                self._client = None

    # --- posting ----------------------------------------------------------------

    def publish(self, post: Post, key: str) -> Receipt:
        return self._post_chain(post, key, parent=None, image=True)

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        return self._post_chain(post, key, parent=receipt.last_id, image=False)

    def _post_chain(self, post: Post, key: str, parent: str | None, *, image: bool) -> Receipt:
        """Post every part, each a reply to the one before (the first to *parent*).

        With *image*, the post's image goes with the first part only.
        """
        ids = self._progress.setdefault(key, [])
        for part in post.parts[len(ids) :]:
            media = self._upload(post, key) if image and not ids else None
            try:
                with self._errors():
                    answer = self.client.create_tweet(
                        text=part,
                        in_reply_to_tweet_id=ids[-1] if ids else parent,
                        media_ids=[media] if media else None,
                        user_auth=True,
                    )
            except PublishError as exc:
                if media and not exc.transient:
                    self._media.pop(key, None)  # e.g. "Your media IDs are invalid."
                raise
            ids.append(str(answer.data["id"]))
        del self._progress[key]
        self._media.pop(key, None)
        return Receipt(remote_id=ids[0], url=STATUS_URL.format(id=ids[0]), ids=tuple(ids))

    # --- the image ----------------------------------------------------------------

    def _upload(self, post: Post, key: str) -> str | None:
        """The media id of *post*'s image with its alt text set, uploaded once per delivery."""
        if not post.image_file:
            return None
        kept = self._media.get(key)
        if kept is not None and kept[1] > time.monotonic():
            return kept[0]
        name, data, media_type = _read_image(post.image_file)
        client = self.client
        auth = tweepy.OAuth1UserHandler(
            client.consumer_key,
            client.consumer_secret,
            client.access_token,
            client.access_token_secret,
        ).apply_auth()
        with self._errors():
            with client.session.request(
                "POST",
                TWEEPY_HOST + MEDIA_UPLOAD,
                data={"media_category": "tweet_image", "media_type": media_type},
                files={"media": (name, data, media_type)},
                headers={"User-Agent": client.user_agent},
                auth=auth,
            ) as response:
                if not 200 <= response.status_code < 300:
                    raise tweepy.HTTPException(response)
                body = response.json()
            answer = body.get("data") if isinstance(body, dict) else None
            if not isinstance(answer, dict) or not str(answer.get("id") or "").isdigit():
                detail = self._scrub(str(body)[:300])
                raise PublishError(
                    f"X answered the upload without a media id: {detail}", transient=False
                )
            media_id = str(answer["id"])
            if post.alt:
                client.request(
                    "POST",
                    MEDIA_METADATA,
                    json={"id": media_id, "metadata": {"alt_text": {"text": post.alt}}},
                    user_auth=True,
                )
        expires = answer.get("expires_after_secs")
        if isinstance(expires, int) and expires > 60:
            self._media[key] = (media_id, time.monotonic() + expires - 60)
        return media_id

    def delete(self, receipt: Receipt) -> None:
        """Delete every post of the thread, last first; one already gone is fine."""
        for tweet_id in reversed(receipt.ids or (receipt.remote_id,)):
            try:
                with self._errors():
                    self.client.delete_tweet(tweet_id, user_auth=True)
            except PublishError as exc:
                if exc.status != 404:
                    raise

    def find(self, post: Post) -> Receipt | None:
        """The thread of *post* among the account's latest posts, found by its permalink.

        X replaces links with t.co ones in the text and escapes ``& < >``, so each
        post's text is compared after putting back its ``entities.urls[].expanded_url``
        (the permalink) and unescaping: the whole text, not just the link, because a
        correction carries the same permalink as the post it corrects. The thread's
        later parts are the replies that chain under the first.
        """
        with self._errors():
            if self._user_id is None:
                self._user_id = str(self.client.get_me(user_auth=True).data.id)
            answer = self.client.get_users_tweets(
                self._user_id,
                max_results=self.find_window,
                tweet_fields=["entities", "referenced_tweets"],
                exclude=["retweets"],
                user_auth=True,
            )
        oldest_first = list(reversed(answer.data or []))
        first = next((t for t in oldest_first if _same(t, post.parts[0])), None)
        if first is None:
            return None
        ids = [str(first.id)]
        for part in post.parts[1:]:
            reply = next(
                (t for t in oldest_first if _replied_to(t) == ids[-1] and _same(t, part)), None
            )
            if reply is None:
                break  # a crash in the middle of the thread: the rest was never posted
            ids.append(str(reply.id))
        return Receipt(remote_id=ids[0], url=STATUS_URL.format(id=ids[0]), ids=tuple(ids))

    # --- errors -----------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn tweepy's and requests' exceptions into :class:`PublishError`."""
        try:
            yield
        except PublishError:
            raise
        except tweepy.HTTPException as exc:
            raise self._http_error(exc) from exc
        except requests.Timeout as exc:
            raise PublishError(
                f"X did not answer within {self.config.timeout:g} s", transient=True
            ) from exc
        except requests.ConnectionError as exc:
            raise PublishError(
                f"X connection failed ({type(exc).__name__})", transient=True
            ) from exc
        except requests.JSONDecodeError as exc:
            raise PublishError("X sent an answer that is not JSON", transient=True) from exc
        except tweepy.TweepyException as exc:
            raise PublishError(f"X client error: {self._scrub(str(exc))}", transient=False) from exc

    def _http_error(self, exc: Any) -> PublishError:
        response = exc.response
        status = int(response.status_code)
        detail = self._scrub("; ".join(str(m) for m in exc.api_messages) or str(response.reason))
        if status == 403 and any(s in detail.lower() for s in CONTENT_REFUSALS):
            return PublishError(f"X refused the post (403: {detail})", transient=False)
        retry_after = (
            retry_after_seconds(response.headers, "x-rate-limit-reset")
            if status == 429 or status >= 500
            else None
        )
        names = "/".join(self.config.env_names())
        return error_for_status(
            "X",
            status,
            detail,
            retry_after=retry_after,
            fix_credentials=(
                f"regenerate the keys and tokens in the X developer portal and set {names} "
                "(the access token needs Read and Write permission)"
            ),
        )

    def _scrub(self, text: str) -> str:
        for name in _FIELDS:
            try:
                value = self.config.secret(name).get_secret_value()
            except MissingSecret:
                continue
            if len(value) >= 4:
                text = text.replace(value, "***")
        return text


_FIELDS = XConfig.secret_fields


def _read_image(path: str) -> tuple[str, bytes, str]:
    """The file name, bytes and media type of the image at *path*, if X takes it."""
    name = Path(path).name
    data, _, info = read_image(path, IMAGE_LIMIT, "X")
    if info is None or info.mime not in IMAGE_TYPES:
        raise PublishError(
            f"X: the image {name} is not a JPEG, PNG, WEBP, BMP or TIFF file, the types "
            "X's image upload takes (a GIF needs the chunked upload, not supported here): "
            "save it as PNG or JPEG",
            transient=False,
        )
    return name, data, info.mime


def _same(tweet: Any, text: str) -> bool:
    """Whether *tweet*, as X returns it, is *text* as it was sent."""
    shown = str(tweet.text)
    entities = getattr(tweet, "entities", None) or {}
    for url in entities.get("urls", []):
        if url.get("url") and url.get("expanded_url"):
            shown = shown.replace(str(url["url"]), str(url["expanded_url"]))
    return _normal(html.unescape(shown)) == _normal(text)


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _replied_to(tweet: Any) -> str | None:
    for ref in getattr(tweet, "referenced_tweets", None) or []:
        if ref.type == "replied_to":
            return str(ref.id)
    return None
