"""A loopback Twilio: one account's Messages resource (API version 2010-04-01).

What it answers, as twilio-python 9.13 sends and parses it:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form: ``To``, ``Body``, ``From``
  or ``MessagingServiceSid``): ``201`` with the Message resource, ``sid`` "SM" + 32 hex,
  ``status`` "queued" (through a Messaging Service "accepted", ``from`` null and
  ``num_segments`` "0" until a sender is picked), ``num_segments`` and ``num_media`` as
  strings, RFC 2822 dates, ``date_sent`` null, ``price`` null, ``error_code`` null,
  ``uri`` and ``subresource_uris``.
- ``GET .../Messages.json`` with ``To``, ``From``, ``DateSent`` / ``DateSent<`` /
  ``DateSent>`` (on, on or before, on or after a ``YYYY-MM-DD`` day; a message not yet
  sent has no ``date_sent`` and matches none of them), ``PageSize`` (default 50, at most
  1000), ``Page`` and ``PageToken``: newest first, in Twilio's list shape (``messages``,
  ``page``, ``page_size``, ``start``, ``end``, ``uri``, ``first_page_uri``,
  ``next_page_uri``, ``previous_page_uri``).
- ``GET`` / ``DELETE .../Messages/{Sid}.json``: the resource; ``204`` (deleting the record,
  which Twilio allows once a message is no longer queued; it does not recall the SMS).

After its ``201``, a message counts as sent (``status`` "sent", ``date_sent`` set, the
service's number as ``from``) unless :attr:`TwilioSim.hold` keeps messages queued.
:attr:`TwilioSim.lost_answers` makes the next messages be taken and sent but answered
``500`` (20500), as when an answer is lost on its way back: what a client must not turn
into a second text.

Errors are Twilio's JSON (``code``, ``message``, ``more_info``, ``status``; a 401 also
``detail``): 401/20003 "Authenticate" for a missing or wrong Basic auth (any account SID of
the form AC + 32 hex with a non-empty token is accepted unless :attr:`account_sid` /
:attr:`token` are set) and for another account's path; 400 with 21604 (no ``To``), 21603
(no ``From`` nor ``MessagingServiceSid``), 21602 "Message body is required.", 21617 "The
concatenated message body exceeds the 1600 character limit." (counted in characters),
21211 (not a valid number, or the sender itself), 21212 (``From`` not a number), and per
recipient 21610 (replied STOP: :attr:`unsubscribed`), 21614 (not a mobile number:
:attr:`landlines`) and 21408 (region not enabled: :attr:`blocked_prefixes`); 404/20404 for
an unknown resource; 405/20004 for another method. Wording from twilio.com/docs/api/errors
and what the API is widely reported to answer (e.g. Auth0's Twilio integration logs for
21211). Not modelled: Messaging Service and sender ownership (any well-formed ``From`` or
``MG`` SID is this account's), scheduling, media, the request-concurrency limit (tests
inject 429s instead).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

import phonenumbers

from hub.channels.sms import segments
from hub.simulator.core import PlatformSim, Received, Response, json_response

API = "/2010-04-01"
SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
_LIST = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
_ONE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
MAX_BODY = 1600


def twilio_error(status: int, code: int, message: str, **extra: Any) -> Response:
    """An error in Twilio's REST API shape."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
        **extra,
    }
    return json_response(status, body)


def _rfc2822(when: float | None) -> str | None:
    if when is None:
        return None
    return email.utils.format_datetime(dt.datetime.fromtimestamp(when, dt.UTC))


def _mask(number: str | None) -> str:
    digits = (number or "").lstrip("+")
    return "+" + "*" * max(0, len(digits) - 4) + digits[-4:]


def _valid(number: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


@dataclass
class _Message:
    sid: str
    account_sid: str
    to: str
    sender: str | None
    service: str | None
    body: str
    created: float
    sequence: int
    sent: float | None = None


class TwilioSim(PlatformSim):
    """One Twilio account that sends SMS."""

    name: ClassVar[str] = "twilio"

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.token = token
        self.clock = clock
        self.hold = False  # keep new messages queued (no date_sent) instead of sending them
        self.service_number = "+17575550100"  # the sender a Messaging Service picks
        self.unsubscribed: set[str] = set()  # numbers that replied STOP (21610)
        self.landlines: set[str] = set()  # numbers that cannot take SMS (21614)
        self.blocked_prefixes: tuple[str, ...] = ()  # Geo permissions not enabled (21408)
        self.lost_answers = 0  # the next N messages are sent, but answered 500
        self.messages: dict[str, _Message] = {}
        self._sequence = 0

    def handle(self, request: Received) -> Response:
        one = _ONE.match(request.path)
        listed = _LIST.match(request.path)
        match = one or listed
        if match is None:
            return self._not_found(request.path)
        account = match["account"]
        refused = self._authenticate(request, account)
        if refused is not None:
            return refused
        with self.lock:
            if listed is not None:
                if request.method == "POST":
                    return self._create(request, account)
                if request.method == "GET":
                    return self._list(request, account)
            elif one is not None:
                message = self.messages.get(one["sid"])
                if message is None or message.account_sid != account:
                    return self._not_found(request.path)
                if request.method == "GET":
                    return json_response(200, self._resource(message))
                if request.method == "DELETE":
                    del self.messages[message.sid]
                    return 204, {}, b""
        return twilio_error(405, 20004, "Method not allowed")

    def describe(self) -> list[str]:
        with self.lock:
            return [
                f"{m.sid} to {_mask(m.to)}: {' '.join(m.body.split())}"
                for m in sorted(self.messages.values(), key=lambda m: m.sequence)
            ]

    def to(self, number: str) -> list[_Message]:
        """The messages to *number*, oldest first."""
        with self.lock:
            return sorted(
                (m for m in self.messages.values() if m.to == number), key=lambda m: m.sequence
            )

    # --- auth ----------------------------------------------------------------------------

    def _authenticate(self, request: Received, account: str) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return self._unauthorized("Authentication Error - No credentials provided")
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return self._unauthorized("Authenticate")
        if not SID.match(user) or not password:
            return self._unauthorized("Authenticate")
        if self.account_sid is not None and user != self.account_sid:
            return self._unauthorized("Authenticate")
        if self.token is not None and password != self.token:
            return self._unauthorized("Authenticate")
        if account != user:
            return self._unauthorized("Authenticate")
        return None

    @staticmethod
    def _unauthorized(message: str) -> Response:
        code, headers, body = twilio_error(
            401, 20003, message, detail="Your AccountSid or AuthToken was incorrect."
        )
        return code, {**headers, "WWW-Authenticate": 'Basic realm="Twilio API"'}, body

    @staticmethod
    def _not_found(path: str) -> Response:
        return twilio_error(404, 20404, f"The requested resource {path} was not found")

    # --- messages ------------------------------------------------------------------------

    def _create(self, request: Received, account: str) -> Response:
        form = {k: v[-1] for k, v in request.form.items()}
        to = form.get("To", "").strip()
        sender = form.get("From", "").strip() or None
        service = form.get("MessagingServiceSid", "").strip() or None
        body = form.get("Body", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if sender is None and service is None:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not form.get("MediaUrl") and not form.get("ContentSid"):
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if sender is not None and not _valid(sender):
            return twilio_error(
                400,
                21212,
                f"The 'From' number {sender} is not a valid phone number, shortcode, "
                "or alphanumeric sender ID.",
            )
        if service is not None and not SERVICE.match(service):
            return self._not_found(f"{API}/Services/{service}")
        if not _valid(to) or to == sender:
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if any(to.startswith(prefix) for prefix in self.blocked_prefixes):
            return twilio_error(
                400,
                21408,
                "Permission to send an SMS has not been enabled for the region indicated "
                f"by the 'To' number: {to}",
            )
        if to in self.landlines:
            return twilio_error(400, 21614, f"To number: {to}, is not a mobile number")
        if to in self.unsubscribed:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        self._sequence += 1
        message = _Message(
            sid="SM" + secrets.token_hex(16),
            account_sid=account,
            to=to,
            sender=sender,
            service=service,
            body=body,
            created=self.clock(),
            sequence=self._sequence,
        )
        self.messages[message.sid] = message
        answer = self._resource(message)
        if not self.hold:  # sent right after the answer
            message.sent = message.created
            message.sender = message.sender or self.service_number
        if self.lost_answers > 0:
            self.lost_answers -= 1
            return twilio_error(500, 20500, "An internal server error has occurred")
        return json_response(201, answer)

    def _resource(self, message: _Message) -> dict[str, Any]:
        uri = f"{API}/Accounts/{message.account_sid}/Messages/{message.sid}"
        if message.sent is not None:
            status, parts = "sent", str(segments(message.body).segments)
        elif message.service is not None and message.sender is None:
            status, parts = "accepted", "0"  # no sender picked yet
        else:
            status, parts = "queued", str(segments(message.body).segments)
        return {
            "account_sid": message.account_sid,
            "api_version": "2010-04-01",
            "body": message.body,
            "date_created": _rfc2822(message.created),
            "date_sent": _rfc2822(message.sent),
            "date_updated": _rfc2822(message.sent or message.created),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.sender,
            "messaging_service_sid": message.service,
            "num_media": "0",
            "num_segments": parts,
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }

    def _list(self, request: Received, account: str) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        rows = sorted(
            (m for m in self.messages.values() if m.account_sid == account),
            key=lambda m: (m.created, m.sequence),
            reverse=True,
        )
        filters: dict[str, str] = {}
        for name in ("To", "From", "DateSent", "DateSent<", "DateSent>"):
            if query.get(name):
                filters[name] = query[name]
        if "To" in filters:
            rows = [m for m in rows if m.to == filters["To"]]
        if "From" in filters:
            rows = [m for m in rows if m.sender == filters["From"]]
        compare: dict[str, Callable[[dt.date, dt.date], bool]] = {
            "DateSent": lambda day, on: day == on,
            "DateSent<": lambda day, on: day <= on,  # on or before
            "DateSent>": lambda day, on: day >= on,  # on or after
        }
        for name, keep in compare.items():
            if name in filters:
                try:
                    on = dt.date.fromisoformat(filters[name][:10])
                except ValueError:
                    return twilio_error(400, 20001, f"Invalid {name}: {filters[name]}")
                rows = [m for m in rows if m.sent is not None and keep(_day(m.sent), on)]
        try:
            size = min(1000, max(1, int(query.get("PageSize") or 50)))
            number = max(0, int(query.get("Page") or 0))
        except ValueError:
            return twilio_error(400, 20001, "Invalid PageSize or Page")
        token = query.get("PageToken", "")
        if token.startswith("PA"):
            after = token[2:]
            index = next((i for i, m in enumerate(rows) if m.sid == after), None)
            start = index + 1 if index is not None else len(rows)
        else:
            start = number * size
        page = rows[start : start + size]
        here = f"{API}/Accounts/{account}/Messages.json"

        def link(page_number: int, page_token: str | None = None) -> str:
            params = {**filters, "PageSize": size, "Page": page_number}
            if page_token:
                params["PageToken"] = page_token
            return f"{here}?{urlencode(params)}"

        more = start + size < len(rows)
        return json_response(
            200,
            {
                "end": start + len(page) - 1 if page else start,
                "first_page_uri": link(0),
                "messages": [self._resource(m) for m in page],
                "next_page_uri": link(number + 1, f"PA{page[-1].sid}") if more else None,
                "page": number,
                "page_size": size,
                "previous_page_uri": link(number - 1, f"PB{page[0].sid}") if number else None,
                "start": start,
                "uri": link(number, token or None),
            },
        )


def _day(when: float) -> dt.date:
    return dt.datetime.fromtimestamp(when, dt.UTC).date()


__all__ = ["TwilioSim", "twilio_error"]
