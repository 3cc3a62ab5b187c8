"""``mastodon``: statuses on a Mastodon instance, through Mastodon.py.

A long update becomes a thread (each part a reply to the one before); a correction
edits every part in place (``PUT /api/v1/statuses/:id``). Every ``POST`` carries an
``Idempotency-Key`` derived from the delivery key: Mastodon keeps it for an hour
and answers a repeated key with the status it already made (``PostStatusService``),
so a retry or a rerun after a crash never posts twice within that hour.

Images: when the post has an image file, it is uploaded with its alt text as the
description (``POST /api/v2/media``; Mastodon keeps at most
``MediaAttachment::MAX_DESCRIPTION_LENGTH`` = 1500 characters, so a longer alt text is
cut at a word boundary) and attached to the first post of the thread (``media_ids``).
An upload answered 202 is still being processed (``url`` null) and cannot be attached
yet: ``GET /api/v1/media/:id`` is polled until it has a URL, within the channel's
``timeout`` (not Mastodon.py's ``synchronous=True``, which polls every 5 s with no
deadline and turns any error, a network blip included, into "could not be processed").
An edit sends the attachment's id again (``PUT /api/v1/statuses/:id`` without
``media_ids`` drops every attachment) and updates its description through
``media_attributes`` when the alt text changed; an image added by a correction is
uploaded then. A different image file under the same update is not detected: the
attachment stays, only its description follows.

The Idempotency-Key protects the status, not the upload: Mastodon answers a repeated
key before it looks at ``media_ids``, so a retry after a lost answer or a crash uploads
the image again and that copy stays unattached. Mastodon deletes unattached media after
a day (``Vacuum::MediaAttachmentsVacuum``). Within one run, an upload is reused for the
retries of the same delivery: uploads have their own, smaller rate limit (Rack::Attack's
``throttle_api_media``, per account per 30 minutes).

The client is built on first use, never in ``__init__``: ``stormhub preview``
builds channels only to render, without credentials or network.
"""

from __future__ import annotations

import html
import re
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
)

from hub import __version__
from hub.channels.base import (
    Channel,
    Post,
    PublishError,
    Receipt,
    error_for_status,
    parse_http_date,
    parse_instant,
    read_image,
    retry_after_seconds,
)
from hub.config import MastodonConfig, MissingSecret
from hub.text import mastodon_length, shorten

if TYPE_CHECKING:
    from hub.model import Hub

PLATFORM = "Mastodon"
# The Mastodon API level the calls below need: media_attributes in PUT /api/v1/statuses/:id.
API_LEVEL = "4.1.0"
MAX_DESCRIPTION = 1500  # MediaAttachment::MAX_DESCRIPTION_LENGTH
MAX_IMAGE_BYTES = 16 * 1024 * 1024  # MediaAttachment::IMAGE_LIMIT; an instance may set less
_NOT_READY = "have not finished processing"  # media_attachments.validations.not_ready
_HREF = re.compile(r"""href=["']([^"']+)["']""")


class MastodonChannel(Channel[MastodonConfig]):
    type = "mastodon"
    counts_urls_as = 23  # StatusLengthValidator::URL_PLACEHOLDER_CHARS
    supports_edit = True  # PUT /api/v1/statuses/:id (Mastodon 3.5+)
    supports_delete = True
    supports_threads = True
    takes_images = True  # one image, in the first post of a thread
    idempotent = True  # Idempotency-Key: same key within an hour -> the same status
    idempotency_window = 3600.0
    can_find = True  # the account's recent statuses, searched for the permalink
    length = partial(mastodon_length, url_length=23)

    def __init__(self, config: MastodonConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._client: Mastodon | None = None
        self._token = ""
        self._headers: dict[str, str] | None = None  # of the last response, lower-case
        self._account_id: str | None = None
        self._uploads: dict[str, tuple[str, bool]] = {}  # key -> (media id, processed)

    @property
    def limit(self) -> int:
        return self.config.max_characters

    @property
    def base_url(self) -> str:
        return str(self.config.api_base_url).rstrip("/")

    # --- the client ------------------------------------------------------------------

    def _api(self) -> Mastodon:
        if self._client is None:
            try:
                token = self.config.secret("access_token").get_secret_value()
            except MissingSecret as exc:
                raise PublishError(
                    f"environment variable {', '.join(exc.names)} not set: set it to the "
                    "Mastodon access token, or set enabled: false",
                    transient=False,
                ) from None
            client = Mastodon(
                access_token=token,
                api_base_url=self.base_url,
                request_timeout=self.config.timeout,
                ratelimit_method="throw",  # fail fast; the fan-out decides when to retry
                # A stated version: no GET /api/v1/instance behind our back, and media_post
                # picks /api/v2/media (left to guess, Mastodon.py asks the instance first and
                # falls back to the old synchronous /api/v1/media when that request fails).
                mastodon_version=API_LEVEL,
                version_check_mode="created",
                user_agent=f"stormhub/{__version__}",
            )
            client.session.hooks["response"].append(self._remember)
            self._token, self._client = token, client
        return self._client

    def _remember(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """Response hook (requests): keep the headers, which Mastodon.py's errors lack."""
        headers = response.headers
        self._headers = {name.lower(): value for name, value in headers.items()}
        # Mastodon.py raises MastodonRatelimitError while reading an X-RateLimit-Reset it
        # cannot parse, even on a 200: the post would be made but reported as failed.
        for name, parse in (("X-RateLimit-Reset", parse_instant), ("Date", parse_http_date)):
            value = headers.get(name)
            if value is not None and parse(value) is None:
                del headers[name]

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """One Mastodon.py call, its failures as :class:`PublishError`."""
        api = self._api()
        self._headers = None
        try:
            return getattr(api, method)(*args, **kwargs)
        except MastodonError as exc:
            raise self._error(exc) from exc

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if len(self._token) >= 4 else text

    def _env_name(self) -> str:
        names = self.config.env_names()
        return names[0] if names else "the access token variable"

    def _error(self, exc: MastodonError) -> PublishError:
        headers = self._headers or {}
        wait = retry_after_seconds(headers, "x-ratelimit-reset")
        if isinstance(exc, MastodonRatelimitError):
            if wait is None and self._client is not None and self._client.ratelimit_reset:
                wait = max(0.0, float(self._client.ratelimit_reset) - time.time())
            return error_for_status(PLATFORM, 429, "rate limited", retry_after=wait)
        if isinstance(exc, MastodonNetworkError):
            return PublishError(
                self._scrub(f"{PLATFORM} at {self.base_url} did not answer: {exc}"),
                transient=True,
            )
        if isinstance(exc, MastodonAPIError):
            # ("Mastodon API returned error", status, reason, the body's "error")
            rest = list(exc.args[1:4]) + [None] * 3
            status, reason, message = rest[0], rest[1], rest[2]
            if not isinstance(status, int):  # a 2xx whose body is not JSON (a proxy's page)
                return PublishError(
                    f"{PLATFORM} sent a response that is not the API's JSON; retrying",
                    transient=True,
                )
            detail = str(message or reason or "no details")
            if status == 422 and _NOT_READY in detail:  # an upload still being processed
                return PublishError(
                    f"{PLATFORM} is still processing the image ({detail}); retrying",
                    transient=True,
                    retry_after=wait if wait is not None else 5.0,
                    status=status,
                )
            env = self._env_name()
            if status == 403:
                fix = (
                    "the access token needs the scopes write:statuses, write:media, "
                    "read:statuses and read:accounts: create one under Preferences > "
                    f"Development and set {env}"
                )
            else:
                fix = f"create a new access token under Preferences > Development and set {env}"
            return error_for_status(
                PLATFORM, status, self._scrub(detail), retry_after=wait, fix_credentials=fix
            )
        return PublishError(self._scrub(f"Mastodon.py refused the request: {exc}"), transient=False)

    # --- images ----------------------------------------------------------------------

    def _media(self, post: Post, key: str) -> list[str]:
        """The media id to attach for *post*'s image (uploaded and processed), or none.

        An upload is remembered under the delivery *key* until the status is made, so a
        retry in this run attaches it instead of uploading again; a permanent failure
        forgets it.
        """
        if not post.image_file:
            return []
        media_id, processed = self._uploads.get(key) or self._upload(post, key)
        if not processed:
            try:
                self._wait(media_id)
            except PublishError as exc:
                if not exc.transient:
                    self._uploads.pop(key, None)
                raise
            self._uploads[key] = (media_id, True)
        return [media_id]

    def _upload(self, post: Post, key: str) -> tuple[str, bool]:
        """``POST /api/v2/media``: the new attachment's id, and whether it is processed."""
        path = str(post.image_file)
        data, mime, _ = read_image(path, MAX_IMAGE_BYTES, PLATFORM)
        media = self._call(
            "media_post",
            data,  # bytes, not the path: Mastodon.py would leave the file it opens unclosed
            mime_type=mime,
            description=alt_text(post.alt),
            file_name=path.rsplit("/", 1)[-1],
        )
        upload = (str(media["id"]), media.get("url") is not None)  # 202: url is null
        self._uploads[key] = upload
        return upload

    def _wait(self, media_id: str) -> None:
        """Poll ``GET /api/v1/media/:id`` until the upload is processed (it has a URL).

        Within the channel's timeout; past it, a transient error (the fan-out retries,
        and the retry polls the same upload).
        """
        deadline = time.monotonic() + self.config.timeout
        pause = 0.1
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishError(
                    f"{PLATFORM} is still processing the image after {self.config.timeout:g} s;"
                    " retrying",
                    transient=True,
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, 2.0)
            if self._call("media", media_id).get("url") is not None:
                return

    # --- posting ---------------------------------------------------------------------

    def _post(self, text: str, key: str, reply_to: str | None, media: list[str]) -> Any:
        return self._call(
            "status_post",
            text,
            in_reply_to_id=reply_to,
            media_ids=media or None,
            idempotency_key=key,
            visibility=self.config.visibility,
        )

    def _thread(self, post: Post, key: str, reply_to: str | None) -> list[Any]:
        """Post *post*'s parts, each a reply to the one before; part n's key is ``key-n``.

        The image goes with the first part.
        """
        media = self._media(post, key)
        statuses: list[Any] = []
        try:
            for number, text in enumerate(post.parts, 1):
                statuses.append(
                    self._post(
                        text,
                        key if number == 1 else f"{key}-{number}",
                        str(statuses[-1]["id"]) if statuses else reply_to,
                        media if number == 1 else [],
                    )
                )
        except PublishError as exc:
            if not exc.transient:  # e.g. the upload was attached elsewhere by now
                self._uploads.pop(key, None)
            raise
        # Kept until the whole thread is made: a retry's first part gets its status back by
        # the key (Mastodon checks the key before media_ids), so naming the upload is harmless.
        self._uploads.pop(key, None)
        return statuses

    @staticmethod
    def _receipt(statuses: list[Any]) -> Receipt:
        first = statuses[0]
        return Receipt(
            remote_id=str(first["id"]),
            url=first.get("url") or first.get("uri"),
            ids=tuple(str(s["id"]) for s in statuses),
        )

    def publish(self, post: Post, key: str) -> Receipt:
        return self._receipt(self._thread(post, key, None))

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        return self._receipt(self._thread(post, key, receipt.last_id))

    def correct(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        return self._edit(receipt, post, key)

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        return self._edit(receipt, post, f"stormhub-edit-{receipt.remote_id}-{post.revision}")

    def _edit(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """Edit each part in place; add parts as replies, delete parts no longer needed."""
        ids = list(receipt.ids or (receipt.remote_id,))
        statuses: list[Any] = []
        for number, text in enumerate(post.parts, 1):
            if number == 1:
                statuses.append(self._edit_first(ids[0], text, post, f"{key}-media"))
            elif number <= len(ids):
                statuses.append(self._call("status_update", ids[number - 1], status=text))
            else:
                statuses.append(self._post(text, f"{key}-{number}", str(statuses[-1]["id"]), []))
        for stale in reversed(ids[len(post.parts) :]):
            self._delete(stale)
        return self._receipt(statuses)

    def _edit_first(self, status_id: str, text: str, post: Post, key: str) -> Any:
        """Edit the first part, keeping its image (an edit without ``media_ids`` drops it).

        Its attachments are read from the status itself; their description follows the
        alt text. Without an image in *post*, the edit leaves the status without media.
        """
        if not post.image_file and not post.image:
            return self._call("status_update", status_id, status=text)
        attached = list(self._call("status", status_id).get("media_attachments") or [])
        if not attached:
            media = self._media(post, key)
            if not media:
                return self._call("status_update", status_id, status=text)
            status = self._call("status_update", status_id, status=text, media_ids=media)
            self._uploads.pop(key, None)
            return status
        ids = [str(m["id"]) for m in attached]
        alt = alt_text(post.alt)
        if alt is None or (attached[0].get("description") or "") == alt:
            return self._call("status_update", status_id, status=text, media_ids=ids)
        # media_attributes alone: Mastodon.py builds media_ids from it (in this order) and
        # fails (set + set) when given both.
        attributes: list[dict[str, Any]] = [{"id": ids[0], "description": alt}]
        attributes += [{"id": media_id} for media_id in ids[1:]]
        return self._call("status_update", status_id, status=text, media_attributes=attributes)

    def _delete(self, status_id: str) -> None:
        try:
            self._call("status_delete", status_id)
        except PublishError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise

    def delete(self, receipt: Receipt) -> None:
        for status_id in reversed(receipt.ids or (receipt.remote_id,)):
            self._delete(status_id)

    # --- recovery --------------------------------------------------------------------

    def find(self, post: Post) -> Receipt | None:
        """The oldest of the account's last 40 statuses linking *post*'s permalink."""
        if self._account_id is None:
            self._account_id = str(self._call("account_verify_credentials")["id"])
        statuses = list(
            self._call("account_statuses", self._account_id, limit=40, exclude_reblogs=True)
        )
        matches = [s for s in statuses if post.link in _links(s)]
        if not matches:
            return None
        first = matches[-1]  # newest first: the last match is the original
        chain = [first]
        by_parent = {str(s.get("in_reply_to_id")): s for s in statuses}  # oldest reply wins
        while len(chain) < len(post.parts) and str(chain[-1]["id"]) in by_parent:
            chain.append(by_parent[str(chain[-1]["id"])])
        return self._receipt(chain)

    def close(self) -> None:
        if self._client is not None:
            self._client.session.close()
            self._client = None


def alt_text(alt: str | None) -> str | None:
    """*alt* as a media description: cut at a word boundary to Mastodon's 1500 characters.

    Counted as Rails counts (``String#length``: code points, as ``len``).
    """
    if alt is None or len(alt) <= MAX_DESCRIPTION:
        return alt
    return shorten(alt, MAX_DESCRIPTION)


def _links(status: Any) -> set[str]:
    """The link targets in a status: its content's hrefs and its preview card's URL."""
    links = {html.unescape(href) for href in _HREF.findall(status.get("content") or "")}
    card = status.get("card")
    if card and card.get("url"):
        links.add(str(card["url"]))
    return links
