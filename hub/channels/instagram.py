"""``instagram``: image posts on an Instagram professional account (content publishing API).

Instagram publishes only media, fetched by Meta from a public URL. Every update goes out
as its Instagram image, which the site build writes under the hub at
:func:`hub.cards.card_path` (a JPEG: a text card, or a fitted copy of the update's own
image), with :func:`hub.cards.card_alt` as its alt text. Publishing is three calls
(Instagram Platform, "Content Publishing" and the IG User / IG Container references):

1. ``POST /{version}/{ig-user-id}/media`` with ``image_url``, ``caption`` and ``alt_text``
   (image posts only, added March 24, 2025) answers ``{"id": <container id>}``;
2. ``POST /{version}/{ig-user-id}/media_publish`` with ``creation_id``, right away, answers
   ``{"id": <media id>}``. An image container is usually ready at once; one Meta is still
   processing is refused with code 9007, subcode 2207027 ("Media ID is not available",
   user message "The media is not ready for publishing, please wait for a moment"), and
   only then is ``GET /{version}/{container-id}?fields=status_code,status`` polled, within
   the channel's ``timeout``, until ``status_code`` is ``FINISHED`` (``IN_PROGRESS``
   meanwhile; ``ERROR`` is the image refused, permanent; ``EXPIRED``, a container not
   published in 24 hours, is made again), and ``media_publish`` sent again;
3. ``GET /{version}/{media-id}?fields=permalink`` gives the receipt's URL (if that read
   fails, the receipt has no URL rather than a second post).

The token goes in an ``Authorization: Bearer`` header, never in a URL.

Caption: at most 2,200 characters (counted as UTF-16 code units, the largest plausible
count), at most 20 @-mentions and at most 5 hashtags: Instagram announced in December
2025 that captions take 5 hashtags, down from the 30 the IG User Media reference still
gives. The channel's own ``hashtags`` come first; hashtags and mentions in the text past
the limits lose their ``#`` / ``@`` so the caption is not refused. Links in captions are
not clickable on Instagram; the permalink is kept anyway, as text people can copy, and
it is what :meth:`InstagramChannel.find` recognises.

Corrections: captions cannot be edited through the API (``POST /{ig-media-id}`` takes only
``comment_enabled``), so a correction is a comment on the post (``POST /{ig-media-id}/
comments`` with ``message``), marked "Correction:". Retractions delete the post
(``DELETE /{ig-media-id}``, possible since December 2025 with Facebook Login, host
``graph.facebook.com`` and the ``instagram_manage_contents`` permission; Instagram Login
tokens cannot delete); where the delete is refused for good, a retraction notice is
commented instead.

Publishing limit: 100 API-published posts per account in a moving 24 hours (the
media_publish reference still says 50; ``GET /{ig-user-id}/content_publishing_limit``
gives the account's own quota). Reaching it is code 9, subcode
2207042. That is not retried in the run: room comes back only as each of the last day's
posts ages out, hours away and far beyond the fan-out's retry budget, and every later
post to the channel would be refused the same way; so the error is permanent and
``fatal`` (the fan-out stops the channel for this run), the ledger marks the deliveries
failed, and a later ``stormhub fanout`` posts them.

Exactly-once: the Graph API has no idempotency key. A container made for a delivery is
remembered by the delivery key, so a retry in the same run reads that container's status
first and publishes it (after waiting for it, if still ``IN_PROGRESS``) instead of making
another; one whose ``status_code`` is already ``PUBLISHED`` (the answer to
``media_publish`` was lost) is looked up with :meth:`find`. After a crash,
:meth:`find` reads ``GET /{ig-user-id}/media?fields=id,caption,permalink,timestamp``
(newest first) for a post whose caption is exactly this delivery's. The window left: a
crash between publishing and recording, with 50 newer posts since; and a correction
comment, which :meth:`find` does not look for, may be made twice after a crash.

The client and the token are read on first use: ``stormhub preview`` builds channels
without credentials or network.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from hub.cards import card_alt, card_path
from hub.channels.base import Post, PublishError, Receipt
from hub.channels.facebook import same_text
from hub.channels.graph import GraphChannel, graph_fields
from hub.config import InstagramConfig
from hub.text import fit, shorten, utf16_length

if TYPE_CHECKING:
    from hub.model import Hub, Update

MAX_CAPTION = 2_200
MAX_HASHTAGS = 5  # since December 2025 (30 before)
MAX_MENTIONS = 20
MAX_ALT_TEXT = 1_000
PAGE_SIZE = 50  # media read by find()
HASHTAG = re.compile(r"(?<![\w&#])#(?=\w*[^\W\d])\w+")
MENTION = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?")


class NotReady(PublishError):
    """``media_publish`` refused a container Meta is still processing (9007 / 2207027)."""


def _keep(pattern: re.Pattern[str], text: str, limit: int) -> str:
    """*text* with the mark (``#``, ``@``) taken off every match of *pattern* past *limit*."""
    seen = 0

    def one(match: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return match.group(0) if seen <= limit else match.group(0)[1:]

    return pattern.sub(one, text)


class InstagramChannel(GraphChannel[InstagramConfig]):
    type = "instagram"
    platform = "Instagram"
    max_chars = MAX_CAPTION
    supports_edit = False  # captions cannot be edited through the API
    supports_delete = True  # DELETE /{ig-media-id} (Facebook Login, since December 2025)
    supports_threads = False
    takes_images = True  # every post is the update's Instagram image (hub.cards)
    idempotent = False
    can_find = True  # the account's newest media, searched for this delivery's caption
    token_field: ClassVar[str] = "access_token"
    token_help: ClassVar[str] = (
        "for the Instagram professional account (a long-lived token with "
        "instagram_basic, instagram_content_publish, instagram_manage_comments and "
        "instagram_manage_contents, e.g. the linked Page's access token)"
    )

    def __init__(self, config: InstagramConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._containers: dict[str, str] = {}  # delivery key -> container id

    def length(self, text: str) -> int:
        return utf16_length(text)

    # --- rendering ---------------------------------------------------------------------

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        link = self.hub.permalink(update)
        tags = list(self.config.hashtags[:MAX_HASHTAGS])
        body = self.body_text(update, correction=correction, retraction=retraction)
        body = _keep(HASHTAG, body, MAX_HASHTAGS - len(tags))
        body = _keep(MENTION, body, MAX_MENTIONS)
        tail = " ".join(f"#{tag}" for tag in tags)
        parts = fit(
            body,
            length=self.length,
            limit=self.limit,
            link=f"{tail}\n{link}" if tail else link,
            mode="truncate",
        )
        post = self.post(update, parts, link, subject=update.title)
        return replace(
            post,
            image=self.hub.url(card_path(update)),
            image_file=None,
            alt=shorten(card_alt(update), MAX_ALT_TEXT),
        )

    # --- requests ----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        base = str(self.config.api_base_url).rstrip("/")
        return f"{base}/{self.config.api_version}/{path.lstrip('/')}"

    def _auth(self) -> dict[str, str]:
        token = self.credential("access_token", "the Instagram access token")
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, self._url(path), headers=self._auth(), **kwargs)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PublishError(
                "Instagram sent an answer that is not the Graph API's JSON; retrying",
                transient=True,
                status=response.status_code,
            )
        return answer

    def error(self, response: httpx.Response) -> PublishError:
        code, subcode, said = graph_fields(response)
        status = response.status_code
        detail = self.scrub(f"{said} (code {code}{f', subcode {subcode}' if subcode else ''})")
        if subcode == 2207042:
            return PublishError(
                f"Instagram's publishing limit is reached: {detail}: the account has "
                "published its quota of posts through the API in the last 24 hours (100 on "
                "most accounts; GET /{ig-user-id}/content_publishing_limit tells); the "
                "updates left go out on a later stormhub fanout, once older posts age out",
                transient=False,
                status=status,
                fatal=True,
            )
        if subcode == 2207027:  # the container is not ready to publish yet
            return NotReady(
                f"Instagram is still processing the image: {detail}; retrying",
                transient=True,
                retry_after=5.0,
                status=status,
                fatal=False,
            )
        return super().error(response)

    # --- publishing --------------------------------------------------------------------

    def publish(self, post: Post, key: str) -> Receipt:
        container = self._containers.get(key)
        if container is not None:  # a retry: what became of this delivery's container?
            code, _ = self._status(container)
            if code == "PUBLISHED":  # the answer to media_publish was lost
                found = self.find(post)
                if found is None:
                    raise PublishError(
                        f"Instagram says container {container} is published but the post is "
                        "not among the account's newest: check the account before retrying",
                        transient=False,
                    )
                self._containers.pop(key, None)
                return found
            if code in ("EXPIRED", "ERROR"):
                self._containers.pop(key, None)
                container = None
            elif code != "FINISHED":
                self._wait(container, key)
        if container is None:
            container = self._create(post)
            self._containers[key] = container
        try:
            published = self._publish(container)
        except NotReady:  # still processing: wait for it, then once more
            self._wait(container, key)
            published = self._publish(container)
        self._containers.pop(key, None)
        media_id = str(published.get("id") or "")
        if not media_id:
            raise PublishError(
                f"Instagram answered media_publish without an id ({str(published)[:200]}); "
                "check the account before retrying",
                transient=False,
            )
        return Receipt(remote_id=media_id, url=self._permalink(media_id), ids=(media_id,))

    def _create(self, post: Post) -> str:
        if not post.image:
            raise PublishError(
                "an Instagram post needs an image and this one has none", transient=False
            )
        fields = {"image_url": post.image, "caption": post.text}
        if post.alt:
            fields["alt_text"] = post.alt
        created = self._call("POST", f"{self.config.user_id}/media", data=fields)
        container = str(created.get("id") or "")
        if not container:
            raise PublishError(
                f"Instagram answered the media container without an id ({str(created)[:200]})",
                transient=True,
            )
        return container

    def _publish(self, container: str) -> Any:
        data = {"creation_id": container}
        return self._call("POST", f"{self.config.user_id}/media_publish", data=data)

    def _status(self, container: str) -> tuple[str, str]:
        answer = self._call("GET", container, params={"fields": "status_code,status"})
        return str(answer.get("status_code") or ""), str(answer.get("status") or "")

    def _wait(self, container: str, key: str) -> None:
        """Poll the container until it is ``FINISHED``, within the channel's timeout."""
        deadline = time.monotonic() + self.config.timeout
        pause = 0.05
        while True:
            code, said = self._status(container)
            if code == "FINISHED":
                return
            if code == "ERROR":
                self._containers.pop(key, None)
                raise PublishError(
                    f"Instagram could not use the image ({said or 'no details'}): check that "
                    "the card at the image URL is a JPEG between 4:5 and 1.91:1, under 8 MB, "
                    "and publicly reachable",
                    transient=False,
                )
            if code == "EXPIRED":
                self._containers.pop(key, None)
                raise PublishError(
                    "Instagram's media container expired before it was published; retrying "
                    "with a new one",
                    transient=True,
                )
            if code == "PUBLISHED":
                raise PublishError(
                    f"Instagram container {container} is already published; retrying looks "
                    "the post up",
                    transient=True,
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishError(
                    f"Instagram is still processing the image after {self.config.timeout:g} s;"
                    " retrying",
                    transient=True,
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, 1.0)

    def _permalink(self, media_id: str) -> str | None:
        try:
            answer = self._call("GET", media_id, params={"fields": "permalink"})
        except PublishError:
            return None
        url = answer.get("permalink")
        return url if isinstance(url, str) and url else None

    # --- corrections, retractions, recovery ----------------------------------------------

    def _comment(self, receipt: Receipt, post: Post) -> Receipt:
        made = self._call("POST", f"{receipt.remote_id}/comments", data={"message": post.text})
        comment = str(made.get("id") or "")
        if not comment:
            raise PublishError(
                f"Instagram answered the comment without an id ({str(made)[:200]})",
                transient=False,
            )
        return Receipt(remote_id=comment, url=receipt.url, ids=(comment,))

    def correct(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """A comment on the post, marked "Correction:" (captions cannot be edited)."""
        return self._comment(receipt, post)

    def delete(self, receipt: Receipt) -> None:
        path = receipt.remote_id
        response = self.request("DELETE", self._url(path), headers=self._auth(), ok=(400, 404))
        if response.is_success:
            return
        code, subcode, _ = graph_fields(response)
        if code == 100 and subcode == 33:
            # Gone already, or this host cannot delete (Instagram Login): tell them apart.
            check = self.request(
                "GET", self._url(path), headers=self._auth(), params={"fields": "id"},
                ok=(400, 404),
            )  # fmt: skip
            if not check.is_success:
                return
            raise PublishError(
                f"Instagram refused to delete {path}: deleting needs Facebook Login (api_base_url "
                "https://graph.facebook.com) and a token with instagram_manage_contents",
                transient=False,
                status=response.status_code,
            )
        raise self.error(response)

    def retract(self, receipt: Receipt, update: Update, key: str) -> Receipt:
        """Delete the post; where that is refused for good, comment a retraction notice."""
        try:
            self.delete(receipt)
        except PublishError as exc:
            if exc.transient or exc.fatal:
                raise
            return self._comment(receipt, self.render(update, retraction=True))
        return receipt

    def find(self, post: Post) -> Receipt | None:
        answer = self._call(
            "GET",
            f"{self.config.user_id}/media",
            params={"fields": "id,caption,permalink,timestamp", "limit": PAGE_SIZE},
        )
        rows = answer.get("data")
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            caption = str(row.get("caption") or "")
            if post.link in caption and same_text(caption, post.text):
                media_id = str(row["id"])
                url = row.get("permalink")
                return Receipt(remote_id=media_id, url=str(url) if url else None, ids=(media_id,))
        return None
