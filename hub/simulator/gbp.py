"""Google Business Profile's APIs, as the ``gbp`` channel calls them, in memory.

One loopback port serves three Google hosts:

- the OAuth 2.0 token endpoint, ``POST /token`` (oauth2.googleapis.com/token): the
  refresh-token grant, form-encoded, answered ``{"access_token", "expires_in",
  "scope", "token_type": "Bearer"}``; RFC 6749 errors as Google words them
  (400 ``invalid_grant`` "Token has been expired or revoked.", 401 ``invalid_client``,
  400 ``invalid_request`` "Missing required parameter: ...", 400
  ``unsupported_grant_type``).
- the Google My Business API v4 local posts (mybusiness.googleapis.com):
  ``POST``/``GET .../v4/accounts/{a}/locations/{l}/localPosts`` (create; list newest
  first with ``pageSize`` 1-100, default 20, and ``pageToken``), ``GET``, ``PATCH``
  (``updateMask`` required, each field sent must be named) and ``DELETE``
  ``.../localPosts/{id}``. LocalPost entities as documented (``name``,
  ``languageCode``, ``summary``, ``callToAction``, ``createTime``/``updateTime`` in
  RFC 3339 "Zulu", ``state``, ``media``, ``searchUrl``, ``topicType``).
- the Business Information API v1 (mybusinessbusinessinformation.googleapis.com):
  ``GET /v1/locations/{id}?readMask=...`` (``readMask`` required: 400 with a
  ``google.rpc.BadRequest`` ``read_mask`` "Field is required", as Google answers) and
  ``PATCH /v1/locations/{id}?updateMask=specialHours`` (also ``title``;
  ``validateOnly``).

Errors are Google's JSON, ``{"error": {"code", "message", "status", "details"}}``:
401 ``UNAUTHENTICATED`` for a Bearer token the simulator did not issue or that expired
(Google's "Request had invalid authentication credentials..." wording), 404
``NOT_FOUND`` "Requested entity was not found." for an unknown account, location or
post, 429 ``RESOURCE_EXHAUSTED`` past :attr:`GbpSim.rate_limit` requests a minute
(the Business Profile APIs' default quota, 300 per minute; Google sends no
``Retry-After``), 400 ``INVALID_ARGUMENT`` "Request contains an invalid argument." with
details: ``google.mybusiness.v4.ValidationError`` ``errorDetails`` for posts (code 2
for a missing field, as Google answers; the wording for a summary over 1,500
characters is modelled, not recorded) and ``google.rpc.ErrorInfo`` reasons of the
Business Information ``ErrorCode`` enum for special hours (``OVERLAPPED_SPECIAL_HOURS``,
``INVALID_HOURS_VALUE``, ``SPECIAL_HOURS_SET_WITHOUT_REGULAR_HOURS``).

A summary with a phone number in it makes a post whose ``state`` is ``REJECTED``
(LocalPostState: rejected for a content policy violation), which is what Google's posts
guidance warns of; the review is instant here. Images are not fetched: ``sourceUrl`` is
kept and a ``googleUrl`` made up.

Requests are served in parallel (the adapter posts to its locations at once): each waits
out :attr:`~hub.simulator.core.PlatformSim.latency` on its own, and only the state change
is one at a time.

Credentials: any client id, secret and refresh token are accepted unless
:attr:`GbpSim.token` (the refresh token), :attr:`client_id` or :attr:`client_secret` is
set; :meth:`GbpSim.revoke` makes the refresh token ``invalid_grant`` and ends its access
tokens. Locations: with ``locations=None`` (the default, for ``stormhub drill``) every
numeric location id under any numeric account exists, with regular hours; given a
mapping, only those exist, under :attr:`account_id` if that is set.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import phonenumbers

from hub.simulator.core import PlatformSim, Received, Response, json_response

SCOPE = "https://www.googleapis.com/auth/business.manage"
MAX_SUMMARY = 1500
TOKEN_SECONDS = 3599
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID = "Request contains an invalid argument."
NOT_FOUND = "Requested entity was not found."
ACTION_TYPES = ("BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL")
TOPIC_TYPES = ("STANDARD", "EVENT", "OFFER", "ALERT")
POST_FIELDS = {  # FieldMask paths a LocalPost PATCH takes, either case
    "summary": "summary",
    "callToAction": "callToAction",
    "call_to_action": "callToAction",
    "media": "media",
    "languageCode": "languageCode",
    "language_code": "languageCode",
    "event": "event",
    "topicType": "topicType",
    "topic_type": "topicType",
}
LOCATION_FIELDS = {
    "name": "name",
    "title": "title",
    "specialHours": "specialHours",
    "special_hours": "specialHours",
    "regularHours": "regularHours",
    "regular_hours": "regularHours",
}
_POSTS = re.compile(r"^/v4/accounts/([^/]+)/locations/([^/]+)/localPosts(?:/([^/]+))?$")
_LOCATION = re.compile(r"^/v1/locations/([^/]+)$")
_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@dataclass
class _Location:
    id: str
    title: str
    regular_hours: bool = True
    special: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Post:
    name: str
    location: str
    body: dict[str, Any]
    created: float
    updated: float
    state: str


def _zulu(at: float) -> str:
    when = dt.datetime.fromtimestamp(at, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}000Z"


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> Response:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return json_response(code, {"error": error})


def _invalid_post(code: int, field_name: str, message: str) -> Response:
    return google_error(
        400,
        "INVALID_ARGUMENT",
        INVALID,
        {
            "@type": "type.googleapis.com/google.mybusiness.v4.ValidationError",
            "errorDetails": [{"code": code, "field": field_name, "message": message}],
        },
    )


def _bad_request(field_name: str, description: str) -> Response:
    return google_error(
        400,
        "INVALID_ARGUMENT",
        INVALID,
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field_name, "description": description}],
        },
    )


def _info_error(reason: str) -> Response:
    return google_error(
        400,
        "INVALID_ARGUMENT",
        INVALID,
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "mybusinessbusinessinformation.googleapis.com",
            "metadata": {"field_mask": "special_hours"},
        },
    )


def _oauth_error(code: int, error: str, description: str) -> Response:
    return json_response(code, {"error": error, "error_description": description})


def _mask(request: Received, name: str) -> list[str] | None:
    values = request.query.get(name)
    if not values or not values[0].strip():
        return None
    return [p.strip() for p in values[0].split(",") if p.strip()]


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, dict):
        return None
    try:
        return dt.date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        return None


def _minutes(value: Any) -> int | None:
    """A TimeOfDay as minutes since midnight; 24:00 is allowed for a close time."""
    if not isinstance(value, dict):
        return None
    try:
        hours, minutes = int(value.get("hours") or 0), int(value.get("minutes") or 0)
    except (TypeError, ValueError):
        return None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


class GbpSim(PlatformSim):
    """One Business Profile account with its locations, and Google's token endpoint."""

    name: ClassVar[str] = "gbp"

    def __init__(
        self,
        *,
        locations: dict[str, str] | None = None,
        account_id: str | None = None,
        token: str | None = None,
        region: str = "US",
    ) -> None:
        super().__init__()
        self.account_id = account_id  # None: any numeric account
        self.token = token  # the refresh token accepted; None: any
        self.client_id: str | None = None
        self.client_secret: str | None = None
        self.scope = SCOPE  # what a new access token is granted
        self.token_seconds = TOKEN_SECONDS
        self.region = region  # where phone numbers in summaries are looked for
        self.open_world = locations is None
        self.locations: dict[str, _Location] = {
            lid: _Location(lid, title) for lid, title in (locations or {}).items()
        }
        self.posts: dict[str, _Post] = {}
        self.access: dict[str, float] = {}  # access token -> when it expires (clock)
        self.revoked: set[str] = set()  # refresh tokens
        self.rate_limit = 300  # requests a minute per project (Business Profile APIs)
        self._window: tuple[int, int] = (0, 0)
        self._sequence = 0
        self.clock = time.time

    # --- state -------------------------------------------------------------------------

    def location(self, location_id: str) -> _Location | None:
        if location_id not in self.locations and self.open_world and location_id.isdigit():
            self.locations[location_id] = _Location(location_id, f"Location {location_id}")
        return self.locations.get(location_id)

    def revoke(self, refresh_token: str) -> None:
        """The refresh token is revoked; the access tokens issued so far stop working."""
        self.revoked.add(refresh_token)
        self.access.clear()

    def live(self) -> list[_Post]:
        return sorted(self.posts.values(), key=lambda p: (p.created, p.name))

    def describe(self) -> list[str]:
        lines = []
        for post in self.live():
            summary = " ".join(str(post.body.get("summary") or "").split())
            state = "" if post.state == "LIVE" else f" [{post.state}]"
            lines.append(f"locations/{post.location}{state}: {summary}")
        for location in self.locations.values():
            if location.special:
                days = ", ".join(_describe_period(p) for p in location.special)
                lines.append(f"locations/{location.id} special hours: {days}")
        return lines

    # --- dispatch ----------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        # One request at a time on the state; the latency and faults, before this, overlap.
        with self.lock:
            return self._handle(request)

    def _handle(self, request: Received) -> Response:
        if request.path == "/token":
            if request.method != "POST":
                return json_response(405, {"error": "method_not_allowed"})
            return self._token(request)
        if not self._authorized(request):
            return google_error(401, "UNAUTHENTICATED", UNAUTHENTICATED)
        if self._limited():
            return google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' "
                "of service 'mybusiness.googleapis.com' for consumer 'project_number:1'.",
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "googleapis.com",
                    "metadata": {
                        "quota_limit_value": str(self.rate_limit),
                        "service": "mybusiness.googleapis.com",
                    },
                },
            )
        posts = _POSTS.match(request.path)
        if posts:
            return self._posts(request, posts[1], posts[2], posts[3])
        location = _LOCATION.match(request.path)
        if location:
            return self._location(request, location[1])
        return google_error(404, "NOT_FOUND", NOT_FOUND)

    def _authorized(self, request: Received) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        expires = self.access.get(auth.removeprefix("Bearer ").strip())
        return expires is not None and self.clock() < expires

    def _limited(self) -> bool:
        minute = int(self.clock() // 60)
        start, count = self._window
        count = count + 1 if start == minute else 1
        self._window = (minute, count)
        return count > self.rate_limit

    # --- OAuth -------------------------------------------------------------------------

    def _token(self, request: Received) -> Response:
        form = {k: v[0] for k, v in request.form.items()}
        grant = form.get("grant_type", "")
        if not grant:
            return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type: ")
        if grant != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        client = form.get("client_id", "")
        if not client:
            return _oauth_error(
                400, "invalid_request", "Could not determine client ID from request."
            )
        if (self.client_id is not None and client != self.client_id) or (
            self.client_secret is not None and form.get("client_secret") != self.client_secret
        ):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        refresh = form.get("refresh_token", "")
        if not refresh:
            return _oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
        if refresh in self.revoked or (self.token is not None and refresh != self.token):
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        access = f"ya29.sim-{secrets.token_urlsafe(24)}"
        self.access[access] = self.clock() + self.token_seconds
        return json_response(
            200,
            {
                "access_token": access,
                "expires_in": self.token_seconds,
                "scope": self.scope,
                "token_type": "Bearer",
            },
        )

    # --- local posts -------------------------------------------------------------------

    def _posts(
        self, request: Received, account: str, location_id: str, post_id: str | None
    ) -> Response:
        if not account.isdigit() or (self.account_id is not None and account != self.account_id):
            return google_error(404, "NOT_FOUND", NOT_FOUND)
        location = self.location(location_id)
        if location is None:
            return google_error(404, "NOT_FOUND", NOT_FOUND)
        parent = f"accounts/{account}/locations/{location_id}"
        if post_id is None:
            if request.method == "POST":
                return self._create(request, parent, location)
            if request.method == "GET":
                return self._list(request, location)
            return google_error(405, "INVALID_ARGUMENT", "Method not allowed.")
        post = self.posts.get(f"{parent}/localPosts/{post_id}")
        if post is None:
            return google_error(404, "NOT_FOUND", NOT_FOUND)
        if request.method == "GET":
            return json_response(200, self._entity(post))
        if request.method == "DELETE":
            del self.posts[post.name]
            return json_response(200, {})
        if request.method == "PATCH":
            return self._patch(request, post)
        return google_error(405, "INVALID_ARGUMENT", "Method not allowed.")

    def _body(self, request: Received) -> dict[str, Any] | None:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _invalid(self, body: dict[str, Any]) -> Response | None:
        """A LocalPost's fields checked as Google checks them, or None if it is fine."""
        topic = body.get("topicType")
        if topic not in TOPIC_TYPES:
            return _invalid_post(2, "topic_type", "topic_type is required")
        if topic in ("EVENT", "OFFER") and not isinstance(body.get("event"), dict):
            return _invalid_post(2, "event", "event is required")
        summary = body.get("summary")
        if summary is not None and not isinstance(summary, str):
            return _invalid_post(3, "summary", "summary must be a string")
        if not summary and not body.get("media"):
            return _invalid_post(2, "summary", "summary is required")
        if summary and len(summary) > MAX_SUMMARY:
            return _invalid_post(
                3, "summary", f"summary is too long (maximum is {MAX_SUMMARY} characters)"
            )
        action = body.get("callToAction")
        if action is not None:
            if not isinstance(action, dict) or action.get("actionType") not in ACTION_TYPES:
                return _invalid_post(3, "call_to_action.action_type", "action_type is invalid")
            url = action.get("url")
            if action["actionType"] != "CALL" and not url:
                return _invalid_post(2, "call_to_action.url", "call_to_action.url is required")
            if url and not re.match(r"^https?://", str(url)):
                return _invalid_post(3, "call_to_action.url", "call_to_action.url is invalid")
        for number, item in enumerate(body.get("media") or []):
            if not isinstance(item, dict) or item.get("mediaFormat") not in ("PHOTO", "VIDEO"):
                return _invalid_post(3, f"media[{number}].media_format", "media_format is invalid")
            if not item.get("sourceUrl"):
                return _invalid_post(2, f"media[{number}].source_url", "source_url is required")
        return None

    def _state(self, body: dict[str, Any]) -> str:
        summary = str(body.get("summary") or "")
        found = phonenumbers.PhoneNumberMatcher(summary, self.region)
        return "REJECTED" if found.has_next() else "LIVE"

    def _create(self, request: Received, parent: str, location: _Location) -> Response:
        body = self._body(request)
        if body is None:
            return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        problem = self._invalid(body)
        if problem:
            return problem
        self._sequence += 1
        now = self.clock()
        post_id = str(1_000_000_000_000_000_000 + int(now * 1000) * 1000 + self._sequence)
        kept = {k: v for k, v in body.items() if k in POST_FIELDS.values()}
        post = _Post(f"{parent}/localPosts/{post_id}", location.id, kept, now, now, "")
        post.state = self._state(kept)
        self.posts[post.name] = post
        return json_response(200, self._entity(post))

    def _list(self, request: Received, location: _Location) -> Response:
        try:
            size = int((request.query.get("pageSize") or ["20"])[0])
        except ValueError:
            return _bad_request("page_size", "Invalid value")
        if not 1 <= size <= 100:
            return _bad_request("page_size", "page_size must be between 1 and 100")
        rows = [p for p in reversed(self.live()) if p.location == location.id]
        token = (request.query.get("pageToken") or [""])[0]
        start = int(token) if token.isdigit() else 0
        page = rows[start : start + size]
        answer: dict[str, Any] = {}
        if page:
            answer["localPosts"] = [self._entity(p) for p in page]
        if start + size < len(rows):
            answer["nextPageToken"] = str(start + size)
        return json_response(200, answer)

    def _patch(self, request: Received, post: _Post) -> Response:
        paths = _mask(request, "updateMask")
        if paths is None:
            return _bad_request("update_mask", "Field is required")
        unknown = [p for p in paths if p not in POST_FIELDS]
        if unknown:
            return _bad_request("update_mask", f"Invalid field mask path: {unknown[0]}")
        body = self._body(request)
        if body is None:
            return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        updated = dict(post.body)
        for path in paths:  # a path in the mask but not in the body clears the field
            name = POST_FIELDS[path]
            if name in body:
                updated[name] = body[name]
            else:
                updated.pop(name, None)
        problem = self._invalid(updated)
        if problem:
            return problem
        post.body, post.updated = updated, self.clock()
        post.state = self._state(updated)
        return json_response(200, self._entity(post))

    def _entity(self, post: _Post) -> dict[str, Any]:
        entity: dict[str, Any] = {"name": post.name, **post.body}
        entity["createTime"] = _zulu(post.created)
        entity["updateTime"] = _zulu(post.updated)
        entity["state"] = post.state
        entity["searchUrl"] = (
            f"https://local.google.com/place?id={post.location}&use=posts"
            f"&lpsid={post.name.rsplit('/', 1)[-1]}"
        )
        if post.body.get("media"):
            entity["media"] = [
                {
                    "name": f"{post.name.split('/localPosts/')[0]}/media/localPosts/{n}",
                    **item,
                    "googleUrl": f"https://lh3.googleusercontent.com/p/sim-{n}",
                }
                for n, item in enumerate(post.body["media"])
            ]
        return entity

    # --- business information ----------------------------------------------------------

    def _location(self, request: Received, location_id: str) -> Response:
        location = self.location(location_id)
        if location is None:
            return google_error(404, "NOT_FOUND", NOT_FOUND)
        if request.method == "GET":
            paths = _mask(request, "readMask")
            if paths is None:
                return _bad_request("read_mask", "Field is required")
            unknown = [p for p in paths if p not in LOCATION_FIELDS]
            if unknown:
                return _bad_request("read_mask", f"Invalid field mask path: {unknown[0]}")
            return json_response(200, self._location_entity(location, paths))
        if request.method != "PATCH":
            return google_error(405, "INVALID_ARGUMENT", "Method not allowed.")
        paths = _mask(request, "updateMask")
        if paths is None:
            return _bad_request("update_mask", "Field is required")
        unknown = [p for p in paths if LOCATION_FIELDS.get(p) not in ("title", "specialHours")]
        if unknown:
            return _bad_request("update_mask", f"Invalid field mask path: {unknown[0]}")
        body = self._body(request)
        if body is None:
            return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        fields = {LOCATION_FIELDS[p] for p in paths}
        special = location.special
        if "specialHours" in fields:
            periods = (body.get("specialHours") or {}).get("specialHourPeriods") or []
            problem = self._invalid_hours(location, periods)
            if problem:
                return problem
            special = [dict(p) for p in periods]
        title = str(body.get("title") or "") if "title" in fields else location.title
        if "title" in fields and not title:
            return _bad_request("location.title", "Field is required")
        if (request.query.get("validateOnly") or ["false"])[0].lower() == "true":
            return json_response(200, {})
        location.special, location.title = special, title
        return json_response(200, self._location_entity(location, ["name", *sorted(fields)]))

    def _invalid_hours(self, location: _Location, periods: Any) -> Response | None:
        if not isinstance(periods, list):
            return _info_error("INVALID_HOURS_VALUE")
        if periods and not location.regular_hours:
            return _info_error("SPECIAL_HOURS_SET_WITHOUT_REGULAR_HOURS")
        days: list[tuple[dt.date, int, int]] = []
        for period in periods:
            start = _date(period.get("startDate")) if isinstance(period, dict) else None
            if start is None:
                return _info_error("INVALID_HOURS_VALUE")
            if period.get("closed"):  # endDate, openTime and closeTime are ignored
                days.append((start, 0, 24 * 60))
                continue
            end = _date(period.get("endDate")) or start
            opens, closes = _minutes(period.get("openTime")), _minutes(period.get("closeTime"))
            if opens is None or closes is None:
                return _info_error("INVALID_HOURS_VALUE")
            # Less than 24 hours; may close by 11:59 the next day.
            if end == start and closes <= opens:
                return _info_error("INVALID_HOURS_VALUE")
            if end == start + dt.timedelta(days=1):
                if closes > 11 * 60 + 59 or closes >= opens:
                    return _info_error("INVALID_HOURS_VALUE")
                closes += 24 * 60
            elif end != start:
                return _info_error("INVALID_HOURS_VALUE")
            days.append((start, opens, closes))
        for number, (day, opens, closes) in enumerate(days):
            for other, other_opens, other_closes in days[number + 1 :]:
                if other == day and opens < other_closes and other_opens < closes:
                    return _info_error("OVERLAPPED_SPECIAL_HOURS")
        return None

    def _location_entity(self, location: _Location, paths: list[str]) -> dict[str, Any]:
        fields = {LOCATION_FIELDS[p] for p in paths}
        entity: dict[str, Any] = {}
        if "name" in fields:
            entity["name"] = f"locations/{location.id}"
        if "title" in fields:
            entity["title"] = location.title
        if "regularHours" in fields and location.regular_hours:
            entity["regularHours"] = {
                "periods": [
                    {
                        "openDay": day,
                        "openTime": {"hours": 8},
                        "closeDay": day,
                        "closeTime": {"hours": 18},
                    }
                    for day in _WEEKDAYS[:5]
                ]
            }
        if "specialHours" in fields and location.special:
            entity["specialHours"] = {"specialHourPeriods": [dict(p) for p in location.special]}
        return entity


def _describe_period(period: dict[str, Any]) -> str:
    start = _date(period.get("startDate"))
    if period.get("closed"):
        return f"{start} closed"
    opens, closes = period.get("openTime") or {}, period.get("closeTime") or {}
    return (
        f"{start} {int(opens.get('hours') or 0):02d}:{int(opens.get('minutes') or 0):02d}-"
        f"{int(closes.get('hours') or 0):02d}:{int(closes.get('minutes') or 0):02d}"
    )


__all__ = ["GbpSim", "google_error"]
