"""What Meta's Graph APIs (Facebook Pages, Instagram, Threads) share: errors and throttling.

Every error is the same JSON (developers.facebook.com "Handling Errors")::

    {"error": {"message": ..., "type": "OAuthException", "code": 190,
               "error_subcode": 460, "error_user_title": ..., "error_user_msg": ...,
               "fbtrace_id": ...}}

and the HTTP status says little (throttling comes as 400, 403 or 429 depending on the
endpoint), so the ``code`` decides:

- throttling, retried after a wait: 4 (application request limit), 17 (user request
  limit), 32 (Page request limit), 613 (calls within one hour exceeded), 80001-80014
  (Business Use Case limits: Pages, Instagram, ...). The wait comes from
  ``estimated_time_to_regain_access`` (minutes) in the ``X-Business-Use-Case-Usage``
  header when Meta sends one, else ``Retry-After``, else the fan-out's backoff.
- temporary, retried: 1 (unknown error), 2 (service temporarily unavailable), -1 and
  -2 (Instagram's internal and timeout errors),
  ``is_transient: true`` on any code, and HTTP 5xx.
- the token, fatal for the channel: 190 (expired, revoked or invalid; subcodes 458
  app removed, 460 password changed, 463 expired, 467 invalid), 102.
- permissions, fatal: 10 and 200-299.
- anything else (100 invalid parameter, 368 blocked for policy, 506 duplicate post):
  this post is refused, with Meta's own words (``error_user_msg`` first).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from hub.channels.base import C, PublishError, retry_after_seconds
from hub.channels.http import HttpChannel

THROTTLED = {4, 17, 32, 613, *range(80001, 80015)}
TEMPORARY = {1, 2, -1, -2}  # unknown / service errors; -1 and -2: Instagram's server errors
TOKEN = {102, 190}


def regain_access_seconds(headers: httpx.Headers) -> float | None:
    """Seconds until Meta lets calls through again, from ``X-Business-Use-Case-Usage``.

    The header maps a business id to a list of usage entries, each with
    ``estimated_time_to_regain_access`` in minutes (0 when not throttled); the largest
    wins. ``X-App-Usage`` carries only percentages, no time.
    """
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entries in (usage.values() if isinstance(usage, dict) else [])
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    ]
    longest = max(minutes, default=0.0)
    return longest * 60 if longest > 0 else None


def graph_error(response: httpx.Response) -> dict[str, Any] | None:
    """The ``error`` object of a Graph error answer, if it is one."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def graph_fields(response: httpx.Response) -> tuple[Any, Any, str]:
    """The ``code``, ``error_subcode`` and message of a Graph error answer."""
    error = graph_error(response)
    if error is None:
        return None, None, ""
    said = str(error.get("error_user_msg") or error.get("message") or "")
    return error.get("code"), error.get("error_subcode"), said


class GraphChannel(HttpChannel[C]):
    """An :class:`HttpChannel` whose platform answers errors as Meta's Graph API does."""

    token_field: ClassVar[str]  # the config field holding the access token's ${VAR}
    token_name: ClassVar[str] = "access token"  # as people call it: "page token"
    token_help: ClassVar[str]  # where to get a new token, e.g. "in Meta Business Suite"

    def error(self, response: httpx.Response) -> PublishError:
        error = graph_error(response)
        if error is None:
            return super().error(response)
        code, subcode, said = graph_fields(response)
        said = said or "no details"
        detail = self.scrub(f"{said} (code {code}{f', subcode {subcode}' if subcode else ''})")
        status = response.status_code
        env = self.env_name(self.token_field)
        if code in THROTTLED or status == 429:
            wait = regain_access_seconds(response.headers)
            if wait is None:
                wait = retry_after_seconds(response.headers, self.reset_header)
            return PublishError(
                f"{self.platform} rate limit reached: {detail}; retrying",
                transient=True,
                retry_after=wait,
                status=429 if status == 429 else status,
                fatal=False,
            )
        if code in TEMPORARY or error.get("is_transient") is True or status >= 500:
            return PublishError(
                f"{self.platform} had a temporary problem: {detail}; retrying",
                transient=True,
                retry_after=retry_after_seconds(response.headers, self.reset_header),
                status=status,
                fatal=False,
            )
        if code in TOKEN:
            return PublishError(
                f"{self.platform} rejected the {self.token_name}: {detail}: generate a new token "
                f"{self.token_help} and set {env}",
                transient=False,
                status=status,
                fatal=True,
            )
        if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
            return PublishError(
                f"{self.platform} refused for lack of permission: {detail}: give the token "
                f"the permissions this channel needs {self.token_help} and set {env}",
                transient=False,
                status=status,
                fatal=True,
            )
        if status in (401, 403):
            return PublishError(
                f"{self.platform} rejected the credentials ({status}): {detail}: check {env}",
                transient=False,
                status=status,
                fatal=True,
            )
        return PublishError(
            f"{self.platform} refused the post: {detail}", transient=False, status=status,
            fatal=False,
        )  # fmt: skip
