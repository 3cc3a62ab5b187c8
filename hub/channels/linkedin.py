r"""``linkedin``: posts on a LinkedIn organization page (or a member's feed), Posts API.

Plain HTTPS with httpx, not LinkedIn's ``linkedin-api-client``: that client (0.3.0,
June 2023, beta, built on requests) has had no release since, while the API it wraps
ships a new version every month; it adds nothing a few requests need.

The calls, as documented on learn.microsoft.com/linkedin/marketing/community-management
/shares/posts-api and sent by linkedin-developers/linkedin-api-python-client
(``linkedin_api/clients/restli/utils/api.py``):

- every request carries ``Authorization: Bearer <token>``, ``LinkedIn-Version: YYYYMM``
  (config ``api_version``) and ``X-Restli-Protocol-Version: 2.0.0``; a URN in a path is
  percent-encoded whole (``quote(urn, safe="")``, the client's ``encoder.encode``);
- create: ``POST /rest/posts`` with ``author``, ``commentary``, ``visibility: PUBLIC``,
  ``distribution`` (``MAIN_FEED``), ``lifecycleState: PUBLISHED``,
  ``isReshareDisabledByAuthor`` and an article (``content.article``: ``source``, the
  permalink, ``title``, ``description``) so the post shows a link card. The answer is
  ``201`` with an empty body and the post's URN (``urn:li:share:…`` or
  ``urn:li:ugcPost:…``) in the ``x-restli-id`` header; the public page is
  ``https://www.linkedin.com/feed/update/<urn>/``;
- edit: ``POST /rest/posts/<urn>`` with ``X-RestLi-Method: PARTIAL_UPDATE`` and
  ``{"patch": {"$set": {"commentary": ...}}}``, answered ``204``. Only the commentary is
  changed: the article card keeps the title it was created with;
- delete: ``DELETE /rest/posts/<urn>`` (``X-RestLi-Method: DELETE``), ``204``; LinkedIn
  documents deletes as idempotent, and a 404 is taken as "already gone" too;
- find: ``GET /rest/posts?author=<urn>&q=author&count=50&sortBy=CREATED``
  (``X-RestLi-Method: FINDER``), newest first. It needs ``r_organization_social`` for a
  page (``r_member_social``, which LinkedIn grants only to approved partners, for a
  member): without it, recovery after a crash is impossible and a rerun posts again.

``commentary`` is LinkedIn's "little" text format (…/shares/little-text-format): the
characters ``| { } @ [ ] ( ) < > # \ * _ ~`` are reserved and "need to be escaped with a
backslash, even if those characters are not used in one of the supported elements".
Unescaped, LinkedIn accepts the post (201) and silently cuts it at the first character
it cannot parse. So :meth:`LinkedInChannel.render` fits the text as people will see it,
and the wire form is made at the end by :func:`little_text`: every reserved character
escaped, URLs included (the escape is undone before LinkedIn links them), and a
``#word`` starting a word (with a letter in it) sent as the HashtagTemplate
``{hashtag|\#|word}`` so that the channel's hashtags are real, clickable hashtags.
``@`` is always escaped: a mention needs a URN, and text never names one.

Length: LinkedIn refuses a commentary over 3,000 characters with a 400
``ShareCommentary text length (N characters) exceeded the maximum allowed (3000
characters)``. ShareCommentary is the parsed text (little text is its compact form),
so the count is of the text as shown, escapes not included; it is counted here in
UTF-16 code units (LinkedIn's services are Java: ``String.length()``), which for text
with emoji is at least what any other count gives, so a post that fits here fits there.
A long update is cut (with "…" and the permalink), never threaded: LinkedIn has no
reply-chains of posts.

Exactly once: the Posts API has no idempotency key. After a crash, the fan-out calls
:meth:`LinkedInChannel.find`, which looks for the permalink (the article's ``source``,
or in the commentary) among the author's last 50 posts. Within one run, a request whose
answer was lost (timeout, dropped connection, 5xx) is also looked up before it is sent
again. What remains: a rerun without read permission (see find, above) posts twice if
the first post was made; and a post more than 50 posts back is not found.

Errors (LinkedIn's JSON: ``{"status", "serviceErrorCode", "code", "message"}``):
401 (tokens expire after 60 days) and 403 (``ACCESS_DENIED``: scope or page role) are
fatal and say what to fix; 426 ``NONEXISTENT_VERSION`` ("Requested version 20240101 is
not active") is fatal and says to update ``api_version``; 429 is transient: LinkedIn's
limits are per day and "reset at midnight UTC" (…/shared/api-guide/concepts/rate-limits)
and it sends no ``Retry-After``, so without one the wait is until the next midnight UTC
by the response's ``Date``; 5xx and network failures are transient; 400/422 refuse the
post with LinkedIn's words. Images are not uploaded (see ``takes_images``).

The client is built on first use, never in ``__init__``: ``stormhub preview`` builds
channels only to render, without credentials or network.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from hub.channels.base import (
    Post,
    PublishError,
    Receipt,
    error_for_status,
    parse_http_date,
    retry_after_seconds,
)
from hub.channels.http import HttpChannel
from hub.config import LinkedInConfig
from hub.text import plain_text, shorten, utf16_length

if TYPE_CHECKING:
    from hub.model import Hub, Update

PLATFORM = "LinkedIn"
MAX_COMMENTARY = 3000  # ShareCommentary "maximum allowed (3000 characters)"
MAX_DESCRIPTION = 300  # ours: the card shows two lines; LinkedIn documents no limit
FIND_COUNT = 50
RESERVED = frozenset("|{}@[]()<>#\\*_~")  # little text format, "Text"
FEED_URL = "https://www.linkedin.com/feed/update/{urn}/"
VERSIONING_DOCS = "https://learn.microsoft.com/linkedin/marketing/versioning"
# A hashtag: '#' starting a word, then word characters with at least one letter.
_HASHTAG = re.compile(r"(?<!\S)#(\w*[^\W\d_]\w*)")
_URN = re.compile(r"^urn:li:(share|ugcPost):\S+$")


def escape_little(text: str) -> str:
    """*text* as little-text ``Text``: each reserved character after a backslash."""
    return "".join(f"\\{c}" if c in RESERVED else c for c in text)


def little_text(text: str) -> str:
    r"""Plain *text* as a ``commentary`` that LinkedIn shows exactly as *text*.

    Reserved characters are escaped; ``#word`` at the start of a word becomes the
    HashtagTemplate ``{hashtag|\#|word}`` (shown as ``#word``, and clickable).
    """
    out: list[str] = []
    last = 0
    for match in _HASHTAG.finditer(text):
        out.append(escape_little(text[last : match.start()]))
        out.append("{hashtag|\\#|" + escape_little(match[1]) + "}")
        last = match.end()
    out.append(escape_little(text[last:]))
    return "".join(out)


# The length LinkedIn holds against 3,000: UTF-16 code units of the shown text.
linkedin_length = utf16_length


def feed_url(urn: str) -> str:
    return FEED_URL.format(urn=urn)


class LinkedInChannel(HttpChannel[LinkedInConfig]):
    type = "linkedin"
    platform = PLATFORM
    max_chars = MAX_COMMENTARY
    supports_edit = True  # PARTIAL_UPDATE of the commentary
    supports_delete = True
    supports_threads = False  # posts do not chain; a long update is cut, with its link
    # Not uploaded: an image needs POST /rest/images?action=initializeUpload, a PUT of the
    # bytes to the returned upload URL (another host), then the image URN as the article's
    # thumbnail; left out for now, so the card shows no picture.
    takes_images = False
    idempotent = False  # no idempotency key in the Posts API
    can_find = True  # the author's posts, searched for the permalink

    def __init__(self, config: LinkedInConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._uncertain: set[str] = set()  # keys whose create may have been made

    def length(self, text: str) -> int:
        return linkedin_length(text)

    @property
    def base_url(self) -> str:
        return str(self.config.api_base_url).rstrip("/")

    # --- rendering -------------------------------------------------------------------

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        """The post as shown (``parts``); :func:`little_text` makes the wire form."""
        post = super().render(update, correction=correction, retraction=retraction)
        description = shorten(plain_text(update.body), MAX_DESCRIPTION)
        post.extra.update(title=update.title, description=description)
        return post

    def body(self, post: Post) -> dict[str, Any]:
        """The ``POST /rest/posts`` body for *post*."""
        article: dict[str, Any] = {"source": post.link, "title": post.extra.get("title") or ""}
        if post.extra.get("description"):
            article["description"] = post.extra["description"]
        return {
            "author": self.config.author,
            "commentary": little_text(post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "content": {"article": article},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }

    # --- requests --------------------------------------------------------------------

    def _headers(self, method: str | None = None) -> dict[str, str]:
        token = self.credential("access_token", "a LinkedIn access token (w_organization_social)")
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": self.config.api_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        if method:
            headers["X-RestLi-Method"] = method
        return headers

    def _url(self, urn: str | None = None) -> str:
        tail = f"/{quote(urn, safe='')}" if urn else ""
        return f"{self.base_url}/rest/posts{tail}"

    def publish(self, post: Post, key: str) -> Receipt:
        body = self.body(post)  # before any request: a bad post fails without network
        if key in self._uncertain:
            found = self._find_quietly(post)
            if found is not None:
                self._uncertain.discard(key)
                return found
        try:
            response = self.request("POST", self._url(), json=body, headers=self._headers())
        except PublishError as exc:
            if exc.transient and (exc.status is None or exc.status >= 500):
                self._uncertain.add(key)  # the post may have been made
            raise
        self._uncertain.discard(key)
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not urn or not _URN.match(urn):
            raise PublishError(
                f"{PLATFORM} answered {response.status_code} without the new post's URN "
                "(x-restli-id); the post may have been made: check the page",
                transient=False,
                status=response.status_code,
            )
        return Receipt(remote_id=urn, url=feed_url(urn), ids=(urn,))

    def _find_quietly(self, post: Post) -> Receipt | None:
        """:meth:`find` before a repeat; without read permission, None (post again)."""
        try:
            return self.find(post)
        except PublishError as exc:
            if exc.transient:
                raise
            return None

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        self.request(
            "POST",
            self._url(receipt.remote_id),
            json={"patch": {"$set": {"commentary": little_text(post.text)}}},
            headers=self._headers("PARTIAL_UPDATE"),
        )
        return receipt

    def delete(self, receipt: Receipt) -> None:
        self.request(
            "DELETE", self._url(receipt.remote_id), headers=self._headers("DELETE"), ok=(404,)
        )

    def find(self, post: Post) -> Receipt | None:
        """The oldest of the author's last 50 posts that links *post*'s permalink."""
        response = self.request(
            "GET",
            self._url(),
            params={
                "author": self.config.author,
                "q": "author",
                "count": str(FIND_COUNT),
                "sortBy": "CREATED",
            },
            headers=self._headers("FINDER"),
        )
        try:
            elements = response.json().get("elements") or []
        except (ValueError, AttributeError):
            raise PublishError(
                f"{PLATFORM} sent a post list that is not JSON; retrying", transient=True
            ) from None
        matches = [e for e in elements if isinstance(e, dict) and _links_to(e, post.link)]
        if not matches:
            return None
        urn = str(matches[-1]["id"])  # newest first: the last match is the original
        return Receipt(remote_id=urn, url=feed_url(urn), ids=(urn,))

    # --- errors ----------------------------------------------------------------------

    def error(self, response: httpx.Response) -> PublishError:
        status = response.status_code
        detail = self.scrub(self.detail(response))
        code = _field(response, "code")
        env = self.env_name("access_token")
        if status == 426 or code in ("NONEXISTENT_VERSION", "VERSION_MISSING"):
            return PublishError(
                f"{PLATFORM} no longer serves API version {self.config.api_version} "
                f"({status}: {detail}): set api_version in channels.yaml to a current version "
                f"(YYYYMM, listed at {VERSIONING_DOCS})",
                transient=False,
                status=status,
                fatal=True,
            )
        if status == 401:
            return PublishError(
                f"{PLATFORM} rejected the credentials: the access token is invalid or expired "
                f"({status}: {detail}). LinkedIn access tokens expire after 60 days: generate a "
                "new one in the LinkedIn Developer Portal (your app > Auth > OAuth 2.0 tools) "
                f"and set {env}",
                transient=False,
                status=status,
            )
        if status == 403:
            if self.config.author.startswith("urn:li:organization:"):
                need = (
                    "the w_organization_social scope, and its member must be an ADMINISTRATOR "
                    f"or CONTENT_ADMIN of the page {self.config.author}"
                )
            else:
                need = "the w_member_social scope"
            return PublishError(
                f"{PLATFORM} refused access ({status} {code or ''}: {detail}): the token needs "
                f"{need}; generate a token with it and set {env}",
                transient=False,
                status=status,
            )
        if status == 429:
            # Retry-After if a proxy sent one; LinkedIn has no reset header of its own.
            wait = retry_after_seconds(response.headers, "retry-after")
            if wait is None:
                wait = _until_midnight_utc(response.headers.get("date"))
            return PublishError(
                f"{PLATFORM} rate limit reached ({detail}); its daily limits reset at midnight "
                f"UTC, in {wait / 3600:.1f} h",
                transient=True,
                retry_after=wait,
                status=status,
            )
        return error_for_status(PLATFORM, status, detail)


def _field(response: httpx.Response, name: str) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return str(value) if value is not None else None


def _until_midnight_utc(date: str | None) -> float:
    """Seconds from the response's ``Date`` (else now) to the next midnight UTC."""
    at = parse_http_date(date or "")
    now = dt.datetime.fromtimestamp(at, dt.UTC) if at is not None else dt.datetime.now(dt.UTC)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def _links_to(element: dict[str, Any], link: str) -> bool:
    """Whether a post entity links *link*: its article's source, or its commentary."""
    content = element.get("content")
    article = content.get("article") if isinstance(content, dict) else None
    if isinstance(article, dict) and article.get("source") == link:
        return True
    commentary = str(element.get("commentary") or "")
    return link in commentary or escape_little(link) in commentary


__all__ = ["LinkedInChannel", "escape_little", "linkedin_length", "little_text"]
