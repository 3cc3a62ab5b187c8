"""``gbp``: Google Business Profile local posts, and closures as special hours.

Each update becomes one STANDARD local post at every location in the channel's
``locations:`` (config order), through the Google My Business API v4, which is still
where local posts live (``accounts.locations.localPosts``; the v1 APIs that replaced the
rest of v4 have no posts):
``POST https://mybusiness.googleapis.com/v4/accounts/{account}/locations/{location}/localPosts``
with ``languageCode``, ``summary``, ``topicType: STANDARD``, a ``LEARN_MORE``
``callToAction`` to the update's permalink and, when the update has an image, ``media``
``[{"mediaFormat": "PHOTO", "sourceUrl": <its public URL>}]`` (Google fetches the image
from the hub's site, so the site must be published first). The answer is a LocalPost:
``name`` (``accounts/../locations/../localPosts/..``), ``state``
(``LIVE``/``PROCESSING``/``REJECTED``), ``searchUrl``, ``createTime``...
(developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts).
The receipt's ``remote_id`` is the first location's post, ``ids`` every location's post,
``url`` the first post's ``searchUrl``.

Text: the summary is limited to 1,500 characters (Google's posts help). Google does not
say how it counts; :meth:`GbpChannel.length` counts UTF-16 code units, never fewer than
code points, so a summary that fits here fits either way. Google's posts guidance warns
that a post with a phone number in its text may be rejected (the issue text said so as
well; the help page itself was not in the stored corpus, only guides quoting it). So
phone numbers (libphonenumber, the hub's country, ``Leniency.VALID``) are replaced by
:data:`PHONE_NOTE` and people reach them through the permalink, which is both in the text
and the button. Short service numbers (911, 988) are not phone numbers to libphonenumber
and stay. A post Google answers with ``state: REJECTED`` is a permanent error.

Corrections edit every location's post in place:
``PATCH .../localPosts/{id}?updateMask=summary,callToAction`` (the mask must name each
field sent; FieldMask paths in lowerCamelCase). The image is not changed by an edit.
Retractions delete (``DELETE .../localPosts/{id}``; 404, already gone, is success).

Exactly once: the API has no idempotency key. A first try (:meth:`~hub.channels.base.
Channel.first_try`) posts at every location at once, without looking first: runs before
this one are the fan-out's concern, which calls :meth:`find` first for a delivery a crash
left claimed or that failed (``find_after_failure``: a delivery can fail after some
locations have the post). :meth:`find` searches each location's newest 100 posts
(``GET .../localPosts?pageSize=100``, the maximum page) for one whose
``callToAction.url`` is the permalink (REJECTED ones do not count), returns a receipt
when every location has it and otherwise remembers what it found, and which locations it
could not search, for the publish that follows: that publish posts only where find()
saw nothing, and looks first where it could not see. A retry within a run (an answer
lost to a timeout may hide a post Google made) looks up, in the same way, only the
locations not yet done: the locations done are kept per delivery key. A superseding
update (:meth:`reply`) always looks first: find() cannot tell its post from an edit's.
What remains: a post Google has not yet listed when the next attempt looks (the list is
read right after a create, so only a crash in that instant), and a location with more
than 100 newer posts.

Requests: the token (one, behind a lock shared with :meth:`sync`), then every location
at once (at most :data:`PARALLEL` requests in flight): a first post is the token and one
``POST`` on its critical path, a retry a ``GET`` and a ``POST`` per location. Edits,
deletes, find() and the special hours go to the locations in parallel too. A failure at
one location is reported naming it; the others are still done, and remembered.

Special hours: :meth:`GbpChannel.sync_closures` (see there) writes closures as closed
days through the Business Information API v1:
``GET {info}/v1/locations/{id}?readMask=specialHours`` then
``PATCH {info}/v1/locations/{id}?updateMask=specialHours`` with
``{"specialHours": {"specialHourPeriods": [{"startDate": {...}, "closed": true}, ...]}}``.
A SpecialHourPeriod covers less than 24 hours; with ``closed: true``, ``endDate``,
``openTime`` and ``closeTime`` are ignored and ``startDate`` is closed all day
(SpecialHourPeriod in the v1 reference and the official client libraries). So a
closure of several days is one period per day, not one period with an ``endDate`` as the
issue text suggested.

Auth: OAuth 2.0 refresh-token grant (``grant_type=refresh_token``, ``client_id``,
``client_secret``, ``refresh_token``, form-encoded) to ``token_url``; the access token is
kept until a minute before ``expires_in`` runs out and refreshed once on a 401. The form
POST is made with httpx, not google-auth: ``google.oauth2.credentials.Credentials.refresh``
retries 429 and 5xx itself with sleeps of its own (``_exponential_backoff``), and its
``RefreshError`` keeps neither the HTTP status nor ``Retry-After``, which the fan-out
needs to tell a revoked token (stop the channel) from a rate limit (wait and retry).
The scope needed is ``https://www.googleapis.com/auth/business.manage``; a token
granted without it is refused before any post.

Errors are Google's ``{"error": {"code", "message", "status", "details"}}``: 429
``RESOURCE_EXHAUSTED`` (``Retry-After``, else a ``google.rpc.RetryInfo`` ``retryDelay``,
else the fan-out's backoff) and 5xx are transient; 401 ``UNAUTHENTICATED`` after a fresh
token and 403 ``PERMISSION_DENIED`` stop the channel, saying which variable to fix; 400
``INVALID_ARGUMENT`` is permanent with Google's words and its field details. The token
endpoint's 400 ``invalid_grant`` ("Token has been expired or revoked.") and 401
``invalid_client`` stop the channel too.

The client and the token are made on first use, never in ``__init__``: ``stormhub
preview`` builds channels only to render, without credentials or network.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import phonenumbers

from hub.channels.base import (
    Post,
    PublishError,
    Receipt,
    SyncNote,
    error_for_status,
    retry_after_seconds,
)
from hub.channels.http import HttpChannel
from hub.config import GbpConfig
from hub.model import Closure, ClosureStatus
from hub.text import utf16_length

if TYPE_CHECKING:
    from hub.model import Hub, Update

SCOPE = "https://www.googleapis.com/auth/business.manage"
MAX_SUMMARY = 1500
PHONE_NOTE = "(number at the link below)"
PAGE_SIZE = 100  # localPosts.list: "The minimum is 1, and maximum page size is 100."
HORIZON_DAYS = 14  # an open-ended closure is written this many days ahead, on every sync
MAX_DAYS = 366  # no closure is written further ahead than this
EDIT_MASK = "summary,callToAction"
PARALLEL = 8  # requests in flight at once, one per location: well inside 300 a minute
_CLIENT_ERRORS = ("invalid_client", "unauthorized_client")
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")  # google.protobuf.Duration in JSON: "30s"
T = TypeVar("T")
R = TypeVar("R")


class GbpChannel(HttpChannel[GbpConfig]):
    type = "gbp"
    platform = "Google Business Profile"
    max_chars = MAX_SUMMARY
    supports_edit = True  # PATCH localPosts/{id}?updateMask=summary,callToAction
    supports_delete = True
    supports_threads = False
    takes_images = True  # media[].sourceUrl: Google fetches the image from the hub's site
    idempotent = False
    can_find = True  # each location's newest posts, by their callToAction url
    syncs = True  # closures as special hours, once per run (sync_closures)
    find_after_failure = True  # a failure at one location leaves the posts at the others

    def __init__(self, config: GbpConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._token: str | None = None
        self._expires = 0.0
        self.clock: Callable[[], float] = time.monotonic
        self._done: dict[str, dict[str, str]] = {}  # delivery key -> location key -> post
        self._found: dict[str, dict[str, str]] = {}  # permalink -> location key -> post
        self._unsure: dict[str, set[str]] = {}  # permalink -> locations find() could not see
        self._urls: dict[str, str] = {}  # post -> its searchUrl, as Google last sent it
        self._token_lock = threading.Lock()  # sync and the posts share one token
        self._token_refused: PublishError | None = None  # the token endpoint said no: fatal

    def length(self, text: str) -> int:
        return utf16_length(text)

    # --- rendering ---------------------------------------------------------------------

    def body_text(
        self, update: Update, *, correction: bool = False, retraction: bool = False
    ) -> str:
        return without_phone_numbers(
            super().body_text(update, correction=correction, retraction=retraction),
            self.hub.info.country,
        )

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        post = super().render(update, correction=correction, retraction=retraction)
        post.extra["kind"] = "retraction" if retraction else "post"
        return post

    def render_correction(self, update: Update) -> Post:
        post = self.render(update)  # edited in place: the new text, not marked
        post.extra["kind"] = "correction"
        return post

    @property
    def language(self) -> str:
        """``languageCode``: the hub's language, with its country when it has no region."""
        tag = self.hub.info.language
        return tag if "-" in tag else f"{tag}-{self.hub.info.country}"

    def _body(self, post: Post) -> dict[str, Any]:
        body: dict[str, Any] = {
            "languageCode": self.language,
            "summary": post.text,
            "topicType": "STANDARD",
            "callToAction": {"actionType": "LEARN_MORE", "url": post.link},
        }
        if post.image:
            body["media"] = [{"mediaFormat": "PHOTO", "sourceUrl": post.image}]
        return body

    # --- endpoints ---------------------------------------------------------------------

    @property
    def api(self) -> str:
        return str(self.config.api_base_url).rstrip("/")

    @property
    def info(self) -> str:
        return str(self.config.info_base_url).rstrip("/")

    def _posts_url(self, location: str) -> str:
        return f"{self.api}/v4/accounts/{self.config.account_id}/locations/{location}/localPosts"

    # --- auth --------------------------------------------------------------------------

    def _access_token(self) -> str:
        return self._token_for()[0]

    def _token_for(self, stale: str | None = None) -> tuple[str, bool]:
        """The access token and whether it was just issued; *stale* (met a 401) is replaced.

        One request at a time: the sync thread and the locations' posts share the token.
        A refusal that stops the channel is remembered, not asked again.
        """
        with self._token_lock:
            if self._token_refused is not None:
                raise self._token_refused
            if stale is not None and self._token == stale:
                self._token = None
            if self._token is not None and self.clock() < self._expires:
                return self._token, False
            try:
                return self._new_token(), True
            except PublishError as exc:
                if exc.fatal:
                    self._token_refused = exc
                raise

    def _new_token(self) -> str:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.credential("client_id", "the OAuth client id"),
            "client_secret": self.credential("client_secret", "the OAuth client secret"),
            "refresh_token": self.credential(
                "refresh_token", "a refresh token authorized for the business.manage scope"
            ),
        }
        response = self.request(
            "POST", str(self.config.token_url), data=form, ok=(400, 401, 403)
        )  # 429 and 5xx raise (transient) in request()
        if not response.is_success:
            raise self._token_error(response)
        try:
            answer = response.json()
            token = str(answer["access_token"])
            lifetime = float(answer.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise PublishError(
                "Google's token endpoint sent an answer without an access_token; retrying",
                transient=True,
            ) from None
        scopes = str(answer.get("scope") or SCOPE).split()
        if SCOPE not in scopes:
            raise PublishError(
                f"the refresh token in {self.env_name('refresh_token')} was not granted "
                f"{SCOPE} (it has: {' '.join(scopes) or 'no scope'}): authorize again with "
                f"that scope and set {self.env_name('refresh_token')}",
                transient=False,
                status=403,
                fatal=True,
            )
        self.remember_secret(token)
        self._token, self._expires = token, self.clock() + max(0.0, lifetime - 60)
        return token

    def _token_error(self, response: httpx.Response) -> PublishError:
        """The token endpoint's 400/401/403 (RFC 6749 5.2 ``error``), saying what to fix."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        error = body.get("error")
        if isinstance(error, dict):  # a proxy or the API's format rather than RFC 6749's
            body = {"error": error.get("status"), "error_description": error.get("message")}
        code = str(body.get("error") or response.reason_phrase)
        words = str(body.get("error_description") or "")
        said = self.scrub(f"{code}: {words}" if words else code)
        client = f"{self.env_name('client_id')} and {self.env_name('client_secret')}"
        refresh = self.env_name("refresh_token")
        if code == "invalid_grant":
            message = (
                f"Google rejected the refresh token ({said}): authorize again with the "
                f"{SCOPE} scope, using the OAuth client in {client}, and set {refresh}"
            )
        elif response.status_code in (401, 403) or code in (
            "invalid_client",
            "unauthorized_client",
        ):
            message = (
                f"Google rejected the OAuth client credentials ({response.status_code} {said}): "
                f"check {client} (the client {refresh} was issued to) in the Google Cloud "
                "console under APIs & Services > Credentials"
            )
        else:
            message = (
                f"Google's token endpoint refused the refresh ({response.status_code} {said}): "
                f"check {client} and {refresh}"
            )
        return PublishError(message, transient=False, status=response.status_code, fatal=True)

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An API request with the access token; a 401 gets one new token and one retry."""
        token, fresh = self._token_for()
        try:
            return self.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except PublishError as exc:
            if exc.status != 401 or fresh:
                raise
        token, _ = self._token_for(stale=token)  # revoked or expired early
        return self.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    # --- errors ------------------------------------------------------------------------

    def error(self, response: httpx.Response) -> PublishError:
        status = response.status_code
        error = _google_error(response)
        words = str(error.get("message") or "") or self.detail(response)
        state = str(error.get("status") or "")
        facts = _details(error)
        said = self.scrub(f"{state}: {words}" if state else words)
        if facts:
            said += self.scrub(f" ({facts})")
        wait = retry_after_seconds(response.headers, "x-ratelimit-reset")
        if wait is None:
            wait = _retry_delay(error)
        if status == 401:
            return PublishError(
                f"{self.platform} rejected the credentials even with a new access token "
                f"(401 {said}): the refresh token may have been revoked; authorize again "
                f"with the {SCOPE} scope and set {self.env_name('refresh_token')}",
                transient=False,
                status=status,
                fatal=True,
            )
        if status == 403:
            return PublishError(
                f"{self.platform} refused access (403 {said}): enable the Google My Business "
                "API and the My Business Business Information API in the Google Cloud project "
                f"of {self.env_name('client_id')} (Google must have approved the project for "
                "Business Profile API access), and check that the Google account that "
                f"authorized {self.env_name('refresh_token')} manages account "
                f"{self.config.account_id} and its locations",
                transient=False,
                status=status,
                fatal=True,
            )
        if status == 404:
            return PublishError(
                f"{self.platform} has no such resource (404 {said}): check account_id and "
                "the location ids under locations: in channels.yaml",
                transient=False,
                status=status,
            )
        if status == 429:
            return PublishError(
                f"{self.platform} rate limit reached (429 {said}); retrying",
                transient=True,
                retry_after=wait,
                status=status,
            )
        if status >= 500:
            return error_for_status(self.platform, status, said, retry_after=wait)
        return PublishError(
            f"{self.platform} refused the request ({status} {said})",
            transient=False,
            status=status,
        )

    def _at(self, key: str, exc: PublishError) -> PublishError:
        """*exc*, its message saying which location it happened at."""
        return PublishError(
            f"{key} (location {self.config.locations[key]}): {exc}",
            transient=exc.transient,
            retry_after=exc.retry_after,
            status=exc.status,
            fatal=exc.fatal,
        )

    # --- posts -------------------------------------------------------------------------

    def _existing(self, location: str, link: str) -> dict[str, Any] | None:
        """The oldest post in *location*'s newest 100 whose button opens *link*."""
        response = self._call("GET", self._posts_url(location), params={"pageSize": PAGE_SIZE})
        posts = _json(response).get("localPosts") or []
        matches = [
            p
            for p in posts
            if isinstance(p, dict)
            and (p.get("callToAction") or {}).get("url") == link
            and p.get("state") != "REJECTED"
        ]
        if not matches:
            return None
        return min(matches, key=lambda p: str(p.get("createTime") or ""))

    def _create(self, location: str, post: Post) -> dict[str, Any]:
        made = _json(self._call("POST", self._posts_url(location), json=self._body(post)))
        if made.get("state") == "REJECTED":
            raise PublishError(
                f"Google rejected the post under its content policy (state REJECTED, "
                f"{made.get('name')}): it is not shown; see Business Profile > Posts for the "
                "reason, fix the update and publish it again",
                transient=False,
            )
        return made

    def _seen(self, entity: dict[str, Any]) -> str:
        """A LocalPost's name, its ``searchUrl`` kept for the receipt."""
        name = str(entity["name"])
        if entity.get("searchUrl"):
            self._urls[name] = str(entity["searchUrl"])
        return name

    def publish(self, post: Post, key: str) -> Receipt:
        """Post at every location at once; only a retry looks for posts made already."""
        return self._publish(post, key, look=not self.first_try(key))

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """A superseding update: a new post, looked for first even on a first try.

        The fan-out's :meth:`find` after a crash or a failure sees a correction's post
        (an edit's is one too) and does not look, so this is the only look there is.
        """
        return self._publish(post, key, look=True)

    def _publish(self, post: Post, key: str, *, look: bool) -> Receipt:
        done = self._done.setdefault(key, {})
        done.update(self._found.pop(post.link, {}))
        unsure = self._unsure.pop(post.link, set())
        todo = [(k, loc) for k, loc in self.config.locations.items() if k not in done]

        def place(item: tuple[str, str]) -> dict[str, Any]:
            name, location = item
            if look or name in unsure:
                existing = self._existing(location, post.link)
                if existing is not None:
                    return existing
            return self._create(location, post)

        if todo:
            self._access_token()  # once, before the locations need it at the same moment
        failed: list[tuple[str, PublishError]] = []
        for (name, _), result in zip(todo, _each(todo, place), strict=True):
            if isinstance(result, PublishError):
                failed.append((name, result))
            else:
                done[name] = self._seen(result)
        if failed:  # the locations done are kept: the retry goes only to the others
            raise self._at(*_worst(failed))
        self._done.pop(key, None)
        names = tuple(done[name] for name in self.config.locations)
        url = self._urls.get(names[0]) or self._search_url(names[0])
        return Receipt(remote_id=names[0], url=url, ids=names)

    def _search_url(self, name: str) -> str | None:
        """A post's ``searchUrl``, read back (for a post made by an earlier attempt)."""
        try:
            return _json(self._call("GET", f"{self.api}/v4/{name}")).get("searchUrl")
        except PublishError:
            return None

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        body = self._body(post)
        change = {"summary": body["summary"], "callToAction": body["callToAction"]}

        def patch(name: str) -> dict[str, Any]:
            url = f"{self.api}/v4/{name}"
            return _json(self._call("PATCH", url, params={"updateMask": EDIT_MASK}, json=change))

        names = list(receipt.ids or (receipt.remote_id,))
        self._access_token()
        answers = _each(names, patch)
        failed = [
            (name, a) for name, a in zip(names, answers, strict=True) if isinstance(a, PublishError)
        ]
        if failed:
            raise _worst(failed)[1]  # an edit is simply made again: all of them
        urls = [a.get("searchUrl") for a in answers if not isinstance(a, PublishError)]
        return Receipt(remote_id=receipt.remote_id, url=urls[0] or receipt.url, ids=receipt.ids)

    def delete(self, receipt: Receipt) -> None:
        def remove(name: str) -> None:
            try:
                self._call("DELETE", f"{self.api}/v4/{name}")
            except PublishError as exc:
                if exc.status != 404:  # already gone is what we wanted
                    raise

        names = list(receipt.ids or (receipt.remote_id,))
        self._access_token()
        results = zip(names, _each(names, remove), strict=True)
        failed = [(name, r) for name, r in results if isinstance(r, PublishError)]
        if failed:
            raise _worst(failed)[1]

    def find(self, post: Post) -> Receipt | None:
        """The update's post at every location, or None (remembering what it saw).

        Only for a first post: an edit or a delete is simply repeated after a crash. The
        posts found and the locations it could not search (an error, raised after) are
        kept for the publish that follows, which posts only where no post was seen and
        looks again where it could not see.
        """
        if post.extra.get("kind", "post") != "post":
            return None
        places = list(self.config.locations.items())
        self._unsure[post.link] = {name for name, _ in places}  # until each is searched
        self._access_token()

        def search(item: tuple[str, str]) -> dict[str, Any] | None:
            return self._existing(item[1], post.link)

        found: dict[str, str] = {}
        failed: list[tuple[str, PublishError]] = []
        for (name, _), result in zip(places, _each(places, search), strict=True):
            if isinstance(result, PublishError):
                failed.append((name, result))
                continue
            self._unsure[post.link].discard(name)
            if result is not None:
                found[name] = self._seen(result)
        if not self._unsure[post.link]:
            del self._unsure[post.link]
        self._found[post.link] = found
        if failed:
            raise self._at(*_worst(failed))
        if len(found) < len(places):
            return None
        del self._found[post.link]
        names = tuple(found[name] for name in self.config.locations)
        url = self._urls.get(names[0]) or self._search_url(names[0])
        return Receipt(remote_id=names[0], url=url, ids=names)

    # --- special hours -----------------------------------------------------------------

    def sync(self, now: dt.datetime) -> list[SyncNote]:
        """The hub's closures as special hours (see :meth:`sync_closures`)."""
        return self.sync_closures(self.hub.closures, now)

    def sync_closures(self, closures: Iterable[Closure], now: dt.datetime) -> list[SyncNote]:
        """Write the closures in *closures* as special hours; one note per location.

        For each location of this channel that some closure names (``location:``):

        - each local date (the hub's timezone) whose midday a ``closed`` closure covers
          (``from`` inclusive, ``until`` exclusive) is a closed special-hour day, from
          today on; an open-ended closure runs through today + 13 days
          (:data:`HORIZON_DAYS`), moving on with every sync. So a closure from noon
          closes that day, and a reopening at 08:00 leaves that day open.
        - ``limited`` and ``diverting`` write nothing: special hours can only say closed
          all day or open from-to, and a limited service is not closed (the hours it keeps
          are not in closures.yaml); ``open`` writes nothing, which clears earlier days.
        - StormHub owns the closed all-day periods from the location's earliest closure
          through the later of its last closure end and today + 13 days, and replaces
          them; the location's other periods (holiday opening hours, closed days outside
          that span) are read first and kept, except past ones, which no longer show.
          A closed day someone set by hand inside that span cannot be told from
          StormHub's and is replaced: put it in closures.yaml instead.
        - unchanged special hours are not written again, so running this on every
          fan-out is safe.

        Locations no closure names are not touched (a closure deleted from closures.yaml
        leaves its days: set ``status: open`` to end it). The locations are read and
        written in parallel. Errors at one location are a line and the others go on;
        credentials errors raise.
        """
        zone = self.hub.info.zone
        today = now.astimezone(zone).date()
        named: dict[str, list[Closure]] = {}
        for closure in closures:
            if closure.location in self.config.locations:
                named.setdefault(closure.location, []).append(closure)
        places = [(key, loc) for key, loc in self.config.locations.items() if key in named]
        if not places:
            return []
        try:
            self._access_token()  # once, before the locations need it at the same moment
        except PublishError as exc:
            if exc.fatal:
                raise
            # else each location tries again and says so in its note

        def write(place: tuple[str, str]) -> str:
            key, location = place
            wanted = sorted({d for c in named[key] for d in closed_days(c, zone, today)})
            first = min(c.from_.astimezone(zone).date() for c in named[key])
            ends = [c.until.astimezone(zone).date() for c in named[key] if c.until is not None]
            last = max([today + dt.timedelta(days=HORIZON_DAYS - 1), *ends])
            return self._sync(key, location, wanted, first, last, today)

        lines: list[SyncNote] = []
        fatal: list[tuple[str, PublishError]] = []
        for (key, _), result in zip(places, _each(places, write), strict=True):
            if not isinstance(result, PublishError):
                lines.append(SyncNote(result))
            elif result.fatal:
                fatal.append((key, result))
            else:
                lines.append(SyncNote(f"{key}: special hours not updated: {result}", ok=False))
        if fatal:
            raise self._at(*fatal[0])
        return lines

    def _sync(
        self,
        key: str,
        location: str,
        wanted: list[dt.date],
        first: dt.date,
        last: dt.date,
        today: dt.date,
    ) -> str:
        url = f"{self.info}/v1/locations/{location}"
        current = _json(self._call("GET", url, params={"readMask": "specialHours"}))
        periods = list((current.get("specialHours") or {}).get("specialHourPeriods") or [])
        kept = []
        for period in periods:
            start = _date(period.get("startDate"))
            if start is None or start < today:
                continue  # past: no longer shown
            if period.get("closed") and first <= start <= last:
                continue  # StormHub's span: replaced by what closures.yaml says now
            kept.append(period)
        ours = [{"startDate": _google_date(day), "closed": True} for day in wanted]
        new = sorted(kept + ours, key=lambda p: _date(p.get("startDate")) or today)
        if _canonical(new) == _canonical(periods):
            return f"{key}: special hours unchanged ({_days(wanted)})"
        self._call(
            "PATCH",
            url,
            params={"updateMask": "specialHours"},
            json={"specialHours": {"specialHourPeriods": new}},
        )
        others = f"; kept {len(kept)} other period(s)" if kept else ""
        return f"{key}: special hours set ({_days(wanted)}){others}"


# --- helpers -------------------------------------------------------------------------------


def _each(items: list[T], work: Callable[[T], R]) -> list[R | PublishError]:
    """*work* on every item, :data:`PARALLEL` at most at once: results or errors, in order.

    Every item is finished before this returns, so no request is left in flight with
    its answer unrecorded.
    """

    def run(item: T) -> R | PublishError:
        try:
            return work(item)
        except PublishError as exc:
            return exc

    if len(items) < 2:
        return [run(item) for item in items]
    with ThreadPoolExecutor(
        max_workers=min(PARALLEL, len(items)), thread_name_prefix="gbp"
    ) as pool:
        return list(pool.map(run, items))


def _worst(failed: list[tuple[str, PublishError]]) -> tuple[str, PublishError]:
    """Which failure to report, the first in config order among equals.

    One that stops the channel, else a permanent one, else the longest wait asked for.
    """
    return min(failed, key=lambda f: (not f[1].fatal, f[1].transient, -(f[1].retry_after or 0)))


def without_phone_numbers(text: str, country: str) -> str:
    """*text* with each phone number (as libphonenumber finds them) replaced by a note."""
    matcher = phonenumbers.PhoneNumberMatcher(text, country, leniency=phonenumbers.Leniency.VALID)
    spans = [(m.start, m.end) for m in matcher]
    for start, end in reversed(spans):
        text = text[:start] + PHONE_NOTE + text[end:]
    return text


def closed_days(closure: Closure, zone: dt.tzinfo, today: dt.date) -> list[dt.date]:
    """The local dates, from *today* on, whose midday a closed *closure* covers."""
    if closure.status != ClosureStatus.CLOSED:
        return []
    start = closure.from_
    stop = closure.until
    limit = today + dt.timedelta(days=HORIZON_DAYS if stop is None else MAX_DAYS)
    day = max(start.astimezone(zone).date(), today)
    days = []
    while day < limit:
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
        if stop is not None and noon >= stop:
            break
        if noon >= start:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _google_date(day: dt.date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _date(value: object) -> dt.date | None:
    if not isinstance(value, dict):
        return None
    try:
        return dt.date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        return None


def _canonical(periods: list[Any]) -> set[str]:
    """Periods compared by meaning: a closed day is its date, whatever else is set."""
    result = set()
    for period in periods:
        if not isinstance(period, dict):
            continue
        start = _date(period.get("startDate"))
        if period.get("closed"):
            result.add(f"closed {start}")
        else:
            end = _date(period.get("endDate")) or start
            times = [
                (int((t or {}).get("hours") or 0), int((t or {}).get("minutes") or 0))
                for t in (period.get("openTime"), period.get("closeTime"))
            ]
            result.add(f"open {start} {end} {times}")
    return result


def _days(days: list[dt.date]) -> str:
    if not days:
        return "no closed days"
    if len(days) == 1:
        return f"closed {days[0]}"
    return f"closed {len(days)} days, {days[0]} to {days[-1]}"


def _json(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        raise PublishError(
            "Google Business Profile sent a response that is not the API's JSON; retrying",
            transient=True,
        ) from None
    return body if isinstance(body, dict) else {}


def _google_error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _details(error: dict[str, Any]) -> str:
    """What Google's ``details`` say about the fields at fault, short."""
    facts: list[str] = []
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.mybusiness.v4.ValidationError"):
            for item in detail.get("errorDetails") or []:
                field = item.get("field")
                facts.append(
                    f"{field}: {item.get('message')}" if field else str(item.get("message"))
                )
        elif kind.endswith("google.rpc.BadRequest"):
            for item in detail.get("fieldViolations") or []:
                facts.append(f"{item.get('field')}: {item.get('description')}")
        elif kind.endswith("google.rpc.ErrorInfo") and detail.get("reason"):
            metadata = detail.get("metadata") or {}
            where = f" in {metadata['field_mask']}" if "field_mask" in metadata else ""
            facts.append(f"{detail['reason']}{where}")
    return "; ".join(facts)[:300]


def _retry_delay(error: dict[str, Any]) -> float | None:
    """A ``google.rpc.RetryInfo`` detail's ``retryDelay`` in seconds, if there is one."""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _DELAY.match(str(detail.get("retryDelay") or ""))
            if match:
                return float(match[1])
    return None


__all__ = ["GbpChannel", "closed_days", "without_phone_numbers"]
