"""``facebook``: posts on a Facebook Page's feed, through the Graph API (plain HTTPS).

One update is one link post: ``POST /{version}/{page-id}/feed`` with ``message`` (the
rendered text, which ends with the hub permalink) and ``link`` (the permalink, from
which Facebook builds the preview card), answered ``{"id": "<page-id>_<post-id>"}``
(Graph API reference, "Page Feed", Publishing). The token goes in an
``Authorization: Bearer`` header, never in a URL that could end up in a log.

Images: a link post, never a photo post (``POST /{page-id}/photos``). The update's page
on the hub carries the image as ``og:image`` with its alt text (``hub/site/templates/
main.html``), so Facebook's preview card already shows it; the card takes readers to the
permalink, where the update is kept current; and a link post's ``message`` can be edited
later, where a photo post's text and picture would drift apart. ``takes_images`` is
therefore False.

Corrections edit in place: ``POST /{page-post-id}`` with ``message`` answers
``{"success": true}``. Retractions delete: ``DELETE /{page-post-id}``, also
``{"success": true}``; a post already gone (Graph code 100, subcode 33, "Object with
ID ... does not exist") counts as deleted, so a rerun is harmless.

The receipt's URL is the post's ``permalink_url`` (``GET /{page-post-id}?fields=
permalink_url``); should that read fail, ``https://www.facebook.com/<page-post-id>``
(which Facebook redirects to the post) is used, never a second post.

Length: Meta documents 63,206 characters for a post and does not say in what unit;
:func:`utf16_length` counts UTF-16 code units (an emoji is 2), the largest of the
plausible counts, so a fitted post is never refused for length.

Exactly-once: the Graph API has no idempotency key. :meth:`FacebookChannel.find` reads
the Page's newest posts (``GET /{page-id}/posts?fields=id,message,permalink_url,
created_time&limit=100``) and takes the one whose ``message`` is exactly the text this
delivery sends (it holds the permalink, and a correction's text differs from the
original's, so an edit that did not happen is not mistaken for one that did). The window
left: a post made and then pushed beyond the newest 100 by others before the rerun, or a
crash between Facebook accepting an edit and the ledger recording it (the edit is simply
made again, which is harmless).

Errors are Meta's JSON (see :mod:`hub.channels.graph`); on top of that, a rejected token
(190, 102) says "Facebook rejected the page token" and names the variable to set, and a
duplicate (506, "Duplicate status message") is refused with Meta's own words.

The HTTP client and the token are read on first use: ``stormhub preview`` builds
channels without credentials or network.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from hub.channels.base import Post, PublishError, Receipt
from hub.channels.graph import GraphChannel, graph_fields
from hub.config import FacebookConfig
from hub.text import utf16_length

MAX_CHARS = 63_206
PAGE_SIZE = 100  # posts read by find(); the Page feed edge pages at most 100
FACEBOOK_WEB = "https://www.facebook.com"
_SPACE = re.compile(r"\s+")


def same_text(a: str, b: str) -> bool:
    """Equal but for runs of whitespace (Facebook keeps the text as sent, maybe trimmed)."""
    return _SPACE.sub(" ", a).strip() == _SPACE.sub(" ", b).strip()


class FacebookChannel(GraphChannel[FacebookConfig]):
    type = "facebook"
    platform = "Facebook"
    max_chars = MAX_CHARS
    supports_edit = True  # POST /{page-post-id} message=...
    supports_delete = True  # DELETE /{page-post-id}
    supports_threads = False
    takes_images = False  # a link post: the preview card shows the page's og:image
    idempotent = False  # the Graph API has no idempotency key
    can_find = True  # the Page's newest posts, searched for this delivery's text
    token_field: ClassVar[str] = "page_token"
    token_name: ClassVar[str] = "page token"
    token_help: ClassVar[str] = (
        "in Meta Business Suite or the Graph API Explorer (a long-lived Page access token "
        "with pages_manage_posts and pages_read_engagement)"
    )

    def length(self, text: str) -> int:
        return utf16_length(text)

    # --- requests ----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        base = str(self.config.api_base_url).rstrip("/")
        return f"{base}/{self.config.api_version}/{path.lstrip('/')}"

    def _auth(self) -> dict[str, str]:
        token = self.credential("page_token", "the Facebook Page access token")
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, self._url(path), headers=self._auth(), **kwargs)
        try:
            return response.json()
        except ValueError:
            raise PublishError(
                "Facebook sent an answer that is not the Graph API's JSON; retrying",
                transient=True,
                status=response.status_code,
            ) from None

    # --- posting -----------------------------------------------------------------------

    def publish(self, post: Post, key: str) -> Receipt:
        created = self._call(
            "POST",
            f"{self.config.page_id}/feed",
            data={"message": post.text, "link": post.link},
        )
        post_id = str(created.get("id") or "") if isinstance(created, dict) else ""
        if not post_id:
            raise PublishError(
                f"Facebook answered the post without an id ({str(created)[:200]}); "
                "check the Page's feed before retrying",
                transient=False,
            )
        return Receipt(remote_id=post_id, url=self._permalink(post_id), ids=(post_id,))

    def _permalink(self, post_id: str) -> str:
        """The post's ``permalink_url``; Facebook's redirecting URL if that cannot be read."""
        try:
            answer = self._call("GET", post_id, params={"fields": "permalink_url"})
        except PublishError:
            answer = None
        url = answer.get("permalink_url") if isinstance(answer, dict) else None
        return url if isinstance(url, str) and url else f"{FACEBOOK_WEB}/{post_id}"

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        answer = self._call("POST", receipt.remote_id, data={"message": post.text})
        if not (isinstance(answer, dict) and answer.get("success") is True):
            raise PublishError(
                f"Facebook did not confirm the edit of {receipt.remote_id} ({str(answer)[:200]})",
                transient=True,
            )
        return receipt

    def delete(self, receipt: Receipt) -> None:
        response = self.request(
            "DELETE", self._url(receipt.remote_id), headers=self._auth(), ok=(400, 404)
        )
        if response.is_success:
            return
        code, subcode, _ = graph_fields(response)
        if code == 100 and subcode == 33:  # no such object: already deleted
            return
        raise self.error(response)

    def find(self, post: Post) -> Receipt | None:
        answer = self._call(
            "GET",
            f"{self.config.page_id}/posts",
            params={"fields": "id,message,permalink_url,created_time", "limit": PAGE_SIZE},
        )
        rows = answer.get("data") if isinstance(answer, dict) else None
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            message = str(row.get("message") or "")
            if post.link in message and same_text(message, post.text):
                post_id = str(row["id"])
                url = row.get("permalink_url") or f"{FACEBOOK_WEB}/{post_id}"
                return Receipt(remote_id=post_id, url=str(url), ids=(post_id,))
        return None
