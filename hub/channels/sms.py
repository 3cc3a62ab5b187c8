r"""``sms``: text messages to a list of phone numbers, through Twilio's Messages API.

Sent with the official ``twilio`` SDK (9.x): ``Client.messages.create(to=..., body=...,
from_=... | messaging_service_sid=...)``, which is ``POST /2010-04-01/Accounts/{AccountSid}
/Messages.json``, form-encoded ``To``, ``Body``, ``From`` or ``MessagingServiceSid``, HTTP
Basic auth (account SID : auth token), answered ``201`` with the Message resource (``sid``
"SM" + 32 hex, ``status`` "queued", ``num_segments`` as a string; through a Messaging
Service ``status`` "accepted", ``from`` null and ``num_segments`` "0" until a sender is
picked). One message per recipient, up to :data:`IN_FLIGHT` (8) requests at once, so a
list of hundreds of numbers costs hundreds / 8 round trips, not hundreds (Twilio queues each
sender's messages anyway); the receipt lists the SIDs in the config's order. Sources:
twilio.com/docs/messaging/api/message-resource, twilio-python 9.13
``rest/api/v2010/account/message/__init__.py`` (``MessageList._create``,
``MessageList.page``), ``base/version.py`` and ``base/page.py``.

Segments, the heart of this channel (:func:`segments`). A message goes out as GSM-7
(3GPP TS 23.038 default alphabet; the extension table's ``^ { } [ ] ~ \ | €`` and form
feed take an escape plus a septet, 2 septets) when every character is in that alphabet,
else as UCS-2 (UTF-16 code units; outside the BMP, an emoji, 2 units). A single SMS holds
140 octets: 160 septets or 70 units. Longer, each segment spends 6 octets on the
concatenation header: 153 septets or 67 units per segment. A character is never split
across segments, so an escape pair that would straddle a boundary moves whole to the next
segment (that segment carries 152 septets), and so does a surrogate pair (66 units); in
UCS-2 a whole grapheme cluster (an emoji with a skin tone or ZWJ sequence) moves together.
This is how Twilio's own calculator builds segments (github.com/TwilioDevEd/message-
segment-calculator ``src/libs/SegmentedMessage.ts`` ``_buildSegments``, ``Segment.ts``
1120 bits per segment, a 6-octet header added when a second segment starts, characters
that then overflow moved on; ``EncodedChar.ts``: one encoded character per grapheme;
``UnicodeToGSM.ts``: the alphabet, with ``Ç`` but not ``ç``; its tests:
307 septets = 153 + 153 + 1, 135 units = 67 + 67 + 1).

Look-alikes. Twilio's "Smart Encoding" (a Messaging Service setting, or
``SmartEncoded=true``) swaps some Unicode look-alikes for GSM characters so that one
curly quote does not turn a whole message into UCS-2 (more than twice the segments). This
adapter does the same for the common ones itself (:func:`sms_text`: curly quotes, primes,
en/em dashes, ellipsis, no-break and other spaces, tab, bullet, zero-width characters, soft
hyphen), always and before counting, so what is counted is byte for byte what is sent and
what :meth:`SmsChannel.find` compares; ``SmartEncoded`` is not sent. The replacements follow
the calculator's ``SmartEncodingMap.ts`` except that a no-break space becomes one space.

Length and limit. :meth:`SmsChannel.length` is the number of segments and ``limit`` is
``max_segments``: exact, where a unit count against ``max_segments`` x 153 would not be
(boundaries cost units, and the per-segment size depends on the encoding). ``stormhub
preview`` shows e.g. "2/4": two of four segments. A post is the full text (title, text,
permalink) when it fits, else the short form: the title (after "WARNING:"/"EMERGENCY:",
or "Correction:") and the permalink, the title cut at a word with "..." when even that does
not fit. Twilio refuses a body over 1600 characters (21617); 10 segments (the most
``max_segments`` allows) are at most 1530 septets, so that limit is never reached.

Exactly once, per recipient. Twilio's Messages API takes no idempotency key. Within a run,
the recipients already sent to (or refused) are kept per delivery key, so a retry after a
transient failure in the middle of the list sends only to the others: after a failure no
new request starts, and those in flight finish and are kept. A recipient whose request got
no answer (a timeout, a reset) or a 5xx may have been texted all the same; the retry looks
that recipient's messages up first (below) and sends only if the message is not there. A
first try looks nothing up. After a crash,
:meth:`SmsChannel.find` reads each recipient's newest messages (``GET .../Messages.json?
To=&From=``, newest first, one page of 50) and matches the body exactly; the recipients
found are skipped by the next ``publish``, and a delivery found for every recipient is
recorded without sending. ``DateSent`` is not used as a filter: a message still queued
has no ``date_sent`` yet. What remains: the match fails, and the message goes again, when
Twilio changed the body (a Messaging Service with link shortening or smart encoding of a
character not replaced here, or a body redacted by a retention setting), or more than 50
newer messages went to that number. A run that gave up after sending to some recipients
(retries exhausted) leaves a failed row; ``find_after_failure`` has the next run look the
delivery up too, so it texts only the recipients still missing.

Refusals of one recipient (21211 not a valid number, 21408 region not enabled, 21610
replied STOP, 21612 unreachable, 21614 not a mobile number, 21635 landline) do not stop
the others. When at least one recipient got the message the delivery succeeds (failing it
would make the next run text everyone again) and the refused numbers are logged as a
warning; when every recipient refused, the delivery fails permanently with each reason.
Phone numbers are personal data: messages and logs show only their last 4 digits.

Errors (twilio-python raises ``TwilioRestException`` with ``status``, ``code`` and
"Unable to create record: <message>"; a list page that is not 200 raises a plain
``TwilioException("Unable to fetch page", response)``). 401 / 20003 ("Authenticate") and
403: fatal, naming the two variables. 429 / 20429 ("Too many requests", Twilio:
"aren't processed and are safe to retry after backing off"): transient, with
``Retry-After`` when given (Twilio documents none). 21611 (the sender's queue is full) and
5xx: transient. 21212 / 21606 (the sender is not a number this account can send from):
fatal, naming ``sender``. The SDK's host is fixed (``https://api.twilio.com``, and
``TWILIO_EDGE``/``TWILIO_REGION`` would rewrite it), so the client gets an http client that
sends every request to ``api_base_url`` with the channel's timeout and no retries of its own
(requests' default adapter retries nothing, and it is mounted explicitly), and that keeps
the last response's headers, which the SDK's exceptions lack. The SDK's request log line
(with the query, where ``To`` is) is replaced by one without it. Each thread that sends
has a client and http client of its own: requests does not promise a ``Session`` is
thread-safe, and the SDK's http client keeps the last request and response on itself (as
ours keeps the last headers).

The client is built on first use, never in ``__init__``: ``stormhub preview`` builds
channels only to render, without credentials or network.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar
from urllib.parse import urlsplit

import regex
import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
)
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from hub.channels.base import Post, PublishError, Receipt, error_for_status, retry_after_seconds
from hub.channels.http import HttpChannel
from hub.config import SmsConfig
from hub.model import Severity
from hub.text import shorten, utf16_length
from hub.words import translator

if TYPE_CHECKING:
    from hub.model import Hub, Update

log = logging.getLogger(__name__)

PLATFORM = "Twilio"
FIND_PAGE = 50  # newest messages per recipient that find() reads
IN_FLIGHT = 8  # requests at once; Twilio queues each sender's messages anyway

T = TypeVar("T")

# 3GPP TS 23.038 GSM 7-bit default alphabet (without the escape, 0x1B) and the characters
# of its extension table reached through the escape (2 septets each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {"GSM-7": 160, "UCS-2": 70}  # 140 octets
CONCATENATED = {"GSM-7": 153, "UCS-2": 67}  # 140 octets less the 6-octet header

# Look-alikes replaced before counting and sending (see the module docstring).
LOOK_ALIKES = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark, the typographic apostrophe
        "\u201a": ",",  # single low-9 quotation mark
        "\u201b": "'",
        "\u2032": "'",  # prime
        "\u00b4": "'",  # acute accent
        "`": "'",  # not in GSM-7
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',  # double prime
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2015": "-",  # horizontal bar
        "\u2212": "-",  # minus sign
        "\u2022": "-",  # bullet
        "\u2026": "...",
        "\u00a0": " ",  # no-break space
        "\u2002": " ",
        "\u2003": " ",
        "\u2007": " ",
        "\u2008": " ",
        "\u2009": " ",  # thin space
        "\u200a": " ",
        "\u202f": " ",  # narrow no-break space (French punctuation)
        "\u205f": " ",
        "\u3000": " ",
        "\t": " ",
        "\u2028": "\n",
        "\u2029": "\n",
        "\u00ad": "",  # soft hyphen
        "\u200b": "",  # zero-width space
        "\u2060": "",  # word joiner
        "\ufeff": "",  # zero-width no-break space
    }
)

# Twilio error codes that refuse one recipient only (twilio.com/docs/api/errors/<code>).
RECIPIENT_REFUSALS = {
    21211: "not a valid phone number: check it in channels.yaml",
    21408: "sending to its country or region is not enabled: enable it under Messaging > "
    "Settings > Geo permissions in the Twilio Console",
    21610: "the recipient replied STOP: they must text START to the sender to receive "
    "messages again",
    21612: "not reachable by SMS from this sender",
    21614: "not a mobile number",
    21635: "a landline, which cannot receive SMS",
}
SENDER_PROBLEMS = {21212, 21606}  # the From number is invalid or not this account's
QUEUE_FULL = 21611

_PHONE = re.compile(r"\+?\d{7,15}\b")
_GRAPHEME = regex.compile(r"\X")


# --- counting ------------------------------------------------------------------------------


class SmsCount(NamedTuple):
    """How a text goes out as SMS."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int  # 0 for an empty text: nothing to send
    per_segment: int  # units one segment holds: 160/70 alone, 153/67 concatenated


def sms_text(text: str) -> str:
    """*text* with the common Unicode look-alikes of GSM-7 characters replaced."""
    return text.translate(LOOK_ALIKES)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _items(text: str, encoding: str) -> list[int]:
    """The sizes, in units, of the pieces a segment boundary may not split."""
    if encoding == "GSM-7":
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    sizes: list[int] = []
    for cluster in _GRAPHEME.findall(text):
        size = utf16_length(cluster)
        if size <= CONCATENATED["UCS-2"]:
            sizes.append(size)
        else:  # a pathological cluster (dozens of combining marks): split between code points
            sizes.extend(utf16_length(c) for c in cluster)
    return sizes


def segments(text: str) -> SmsCount:
    """The encoding, size and number of segments of *text* sent as SMS, as Twilio counts.

    The text is counted as given: :func:`sms_text` is applied by the channel, not here.
    """
    encoding: Literal["GSM-7", "UCS-2"] = "GSM-7" if is_gsm7(text) else "UCS-2"
    items = _items(text, encoding)
    units = sum(items)
    if units <= SINGLE[encoding]:
        return SmsCount(encoding, units, 1 if units else 0, SINGLE[encoding])
    room, count, used = CONCATENATED[encoding], 1, 0
    for size in items:
        if used + size > room:
            count, used = count + 1, 0
        used += size
    return SmsCount(encoding, units, count, room)


def mask(number: str) -> str:
    """A phone number with all but its last 4 digits hidden: ``+*******0142``."""
    digits = number.lstrip("+")
    return "+" + "*" * max(0, len(digits) - 4) + digits[-4:]


def mask_numbers(text: str) -> str:
    """*text* with every phone number in it masked (Twilio's messages quote the To)."""
    return _PHONE.sub(lambda m: mask(m.group(0)), text)


# --- the SDK's transport -------------------------------------------------------------------


class _RoutedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """twilio-python's http client, sent to *base*, without retries, headers remembered."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=log)
        parts = urlsplit(base.rstrip("/"))
        self.scheme, self.netloc, self.prefix = parts.scheme, parts.netloc, parts.path
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, HTTPAdapter(max_retries=0))
        self.last_headers: dict[str, str] = {}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        routed = parts._replace(
            scheme=self.scheme, netloc=self.netloc, path=self.prefix + parts.path
        )
        self.last_headers = {}
        response = super().request(method, routed.geturl(), *args, **kwargs)
        self.last_headers = {str(k).lower(): str(v) for k, v in (response.headers or {}).items()}
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        path = urlsplit(str(kwargs.get("url", ""))).path
        log.debug("%s %s", kwargs.get("method"), re.sub(r"AC[0-9a-fA-F]{32}", "AC***", path))

    def log_response(self, status_code: int, response: Any) -> None:
        log.debug("answered %s", status_code)


# --- the channel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Refusal:
    code: int
    reason: str

    def describe(self, number: str) -> str:
        return f"{mask(number)} ({self.code}: {self.reason})"


class SmsChannel(HttpChannel[SmsConfig]):
    """One SMS per recipient for each update, through Twilio."""

    type = "sms"
    length_unit = "segments"
    platform = PLATFORM
    supports_edit = False  # a text message cannot be changed once sent
    supports_delete = False  # nor recalled; deleting the record only removes it from logs
    supports_threads = False
    takes_images = False
    idempotent = False  # the Messages API takes no idempotency key
    can_find = True  # each recipient's newest messages, matched by body
    find_after_failure = True  # a failed delivery may have reached some recipients

    def __init__(self, config: SmsConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._lock = threading.Lock()
        self._auth: tuple[str, str] | None = None
        self._local = threading.local()  # each thread's client: see _api()
        self._transports: list[_RoutedHttpClient] = []
        self._pool: ThreadPoolExecutor | None = None
        # Per delivery key: each recipient's message SID, or why Twilio refused it.
        self._progress: dict[str, dict[str, str | _Refusal]] = {}
        # Per delivery key: recipients whose message Twilio may have taken without our
        # hearing so (no answer, or a 5xx); the retry looks them up before sending.
        self._unsure: dict[str, set[str]] = {}
        # Found by find() after a crash, per body: recipient -> SID; publish() skips them.
        self._found: dict[str, dict[str, str]] = {}

    @property
    def limit(self) -> int:
        return self.config.max_segments

    def length(self, text: str) -> int:
        """The number of SMS segments *text* takes (after :func:`sms_text`)."""
        return segments(sms_text(text)).segments

    # --- rendering -------------------------------------------------------------------

    def headline(
        self, update: Update, title: str, *, correction: bool = False, retraction: bool = False
    ) -> str:
        """The short form's text: the (possibly shortened) title and its prefix."""
        _ = translator(self.hub.lang)
        if retraction:
            return _("Retracted: {title}. Please disregard this update.").format(title=title)
        if correction:
            return f"{_('Correction:')} {title}"
        if update.severity.rank >= Severity.WARNING.rank:
            return f"{_(update.severity.label).upper()}: {title}"
        return title

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        """The full text when it fits ``max_segments``, else the title and the permalink."""
        link = self.hub.permalink(update)
        tags = " ".join(f"#{tag}" for tag in self.config.hashtags)
        tail = f"{tags}\n{link}" if tags else link

        def fits(text: str) -> bool:
            return self.length(text) <= self.limit

        full = self.body_text(update, correction=correction, retraction=retraction).strip()
        text = sms_text(f"{full}\n\n{tail}")
        if not fits(text):
            title = sms_text(" ".join(update.title.split()))
            for size in range(len(title), 0, -1):
                cut = title if size == len(title) else shorten(title, size, ellipsis="...")
                head = self.headline(update, cut, correction=correction, retraction=retraction)
                text = sms_text(f"{head}\n\n{tail}")
                if fits(text):
                    break
            else:
                text = tail  # the permalink alone (never longer than a segment in practice)
        count = segments(text)
        return self.post(
            update,
            [text],
            link,
            subject=update.title,
            extra={"encoding": count.encoding, "units": count.units},
        )

    # --- the client ------------------------------------------------------------------

    def _api(self) -> Any:
        """The calling thread's client, made on its first use there.

        One per thread: requests' Session is not thread-safe, and the SDK's http client
        (ours too: the last headers) keeps each request's state on itself.
        """
        client = getattr(self._local, "client", None)
        if client is None:
            with self._lock:
                if self._auth is None:
                    sid = self.credential("account_sid", "the Twilio account SID (AC...)")
                    token = self.credential("auth_token", "the Twilio auth token")
                    self._auth = (sid, token)
                sid, token = self._auth
                transport = _RoutedHttpClient(str(self.config.api_base_url), self.config.timeout)
                self._transports.append(transport)
            client = Client(sid, token, account_sid=sid, http_client=transport)
            self._local.client, self._local.transport = client, transport
        return client

    def _headers(self) -> dict[str, str]:
        transport: _RoutedHttpClient | None = getattr(self._local, "transport", None)
        return transport.last_headers if transport is not None else {}

    def _each(
        self, recipients: Sequence[str], work: Callable[[str], T]
    ) -> Iterator[tuple[str, T | Exception]]:
        """``(recipient, work(recipient) or its exception)`` as each finishes.

        At most :data:`IN_FLIGHT` run at once, in the channel's threads. After a failure
        no more start; those already running finish, so their outcome is known.
        """
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix=f"sms-{self.name}")
            pool = self._pool
        waiting = iter(recipients)
        running: dict[Future[T], str] = {}
        failed = False
        while True:
            while not failed and len(running) < IN_FLIGHT:
                recipient = next(waiting, None)
                if recipient is None:
                    break
                running[pool.submit(work, recipient)] = recipient
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                recipient = running.pop(future)
                error = future.exception()
                if error is None:
                    yield recipient, future.result()
                elif isinstance(error, Exception):
                    failed = True
                    yield recipient, error
                else:
                    raise error

    def _worst(self, failures: dict[str, Exception]) -> Exception:
        """The failure to raise: fatal, else permanent, else the longest wait asked for.

        Ties go to the recipient listed first.
        """

        def rank(item: tuple[int, Exception]) -> tuple[bool, bool, float, int]:
            index, error = item
            if not isinstance(error, PublishError):
                return (True, False, 0.0, index)  # an adapter bug: let it show
            return (not error.fatal, error.transient, -(error.retry_after or 0.0), index)

        order = self.config.recipients
        return min(((order.index(r), e) for r, e in failures.items()), key=rank)[1]

    def _fix_credentials(self) -> str:
        sid, token = self.env_name("account_sid"), self.env_name("auth_token")
        return (
            f"check {sid} / {token}: copy the account SID and auth token from the Twilio "
            "Console (Account > API keys & tokens) and set them"
        )

    def _clean(self, text: str) -> str:
        return mask_numbers(self.scrub(text))

    def _error(self, exc: Exception) -> PublishError:
        """A failure of the SDK as a :class:`PublishError` saying what to fix."""
        if isinstance(exc, requests.Timeout):
            return PublishError(
                f"{PLATFORM} did not answer within {self.config.timeout:g} s; retrying",
                transient=True,
            )
        if isinstance(exc, requests.RequestException):
            return PublishError(
                self._clean(f"{PLATFORM} could not be reached ({type(exc).__name__}); retrying"),
                transient=True,
            )
        if isinstance(exc, TwilioRestException):
            # msg: "Unable to create record: <Twilio's message>", or only the first part
            said = str(exc.msg or "")
            if said.startswith("Unable to ") and ": " in said:
                said = said.split(": ", 1)[1]
            code = exc.code if isinstance(exc.code, int) else None
            return self._status_error(int(exc.status), code, said or "no details")
        if isinstance(exc, TwilioException) and len(exc.args) > 1:  # a list page that failed
            response = exc.args[1]
            try:
                body = json.loads(response.text)
            except (TypeError, ValueError):
                body = {}
            body = body if isinstance(body, dict) else {}
            code = body.get("code") if isinstance(body.get("code"), int) else None
            detail = str(body.get("message") or "no details")
            return self._status_error(int(response.status_code), code, detail)
        if isinstance(exc, ValueError):  # a 2xx whose body is not JSON (a proxy's page)
            return PublishError(
                f"{PLATFORM} sent a response that is not the API's JSON; retrying", transient=True
            )
        return PublishError(self._clean(f"{PLATFORM}: {exc}"), transient=False)

    def _status_error(self, status: int, code: int | None, detail: str) -> PublishError:
        words = self._clean(detail)
        said = (
            f"{status}, error {code}: {words}" if code and code != status else f"{status}: {words}"
        )
        wait = retry_after_seconds(self._headers(), self.reset_header)
        if status in (401, 403) or code == 20003:
            return PublishError(
                f"{PLATFORM} rejected the credentials, the account SID or auth token "
                f"({said}): {self._fix_credentials()}",
                transient=False,
                status=status,
                fatal=True,
            )
        if code == QUEUE_FULL:
            return PublishError(
                f"{PLATFORM}: the sender's queue of messages is full ({said}); retrying",
                transient=True,
                retry_after=wait,
                status=status,
            )
        if code in SENDER_PROBLEMS:
            what = "sender" if self.config.sender else "messaging_service_sid"
            return PublishError(
                f"{PLATFORM} will not send from this sender ({said}): check {what} in "
                "channels.yaml, a number (or Messaging Service) of this Twilio account that "
                "can send SMS",
                transient=False,
                status=status,
                fatal=True,
            )
        if status == 429 or code == 20429:
            return error_for_status(PLATFORM, 429, words, retry_after=wait)
        return error_for_status(PLATFORM, status, said if status < 500 else words, retry_after=wait)

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except PublishError:
            raise
        except Exception as exc:  # the SDK's and requests' failures
            raise self._error(exc) from None

    # --- sending ---------------------------------------------------------------------

    def _sender(self) -> dict[str, str]:
        if self.config.sender:
            return {"from_": self.config.sender}
        return {"messaging_service_sid": str(self.config.messaging_service_sid)}

    def _send(self, recipient: str, body: str) -> str | _Refusal:
        """One message to *recipient*: its SID, or why Twilio refused that recipient."""
        api = self._api()
        try:
            message = api.messages.create(to=recipient, body=body, **self._sender())
        except TwilioRestException as exc:
            reason = RECIPIENT_REFUSALS.get(exc.code) if exc.status == 400 else None
            if reason is not None:
                return _Refusal(int(exc.code), reason)
            raise self._error(exc) from None
        except Exception as exc:
            raise self._error(exc) from None
        return str(message.sid)

    def publish(self, post: Post, key: str) -> Receipt:
        """Send *post* to every recipient not yet sent to under *key*, several at once."""
        body = sms_text(post.text)
        recipients = self.config.recipients
        done = self._progress.setdefault(key, {})
        unsure = self._unsure.setdefault(key, set())
        for recipient, sid in self._found.pop(body, {}).items():
            done.setdefault(recipient, sid)
        failures: dict[str, Exception] = {}
        # A retry first looks up those whose last request may have reached Twilio.
        check = [r for r in recipients if r in unsure and r not in done]
        for recipient, seen in self._each(check, lambda r: self._newest(r, body)):
            if isinstance(seen, Exception):
                failures[recipient] = seen
                continue
            unsure.discard(recipient)
            if seen is not None:
                done[recipient] = seen
        if failures:
            raise self._worst(failures)
        todo = [r for r in recipients if r not in done]
        for recipient, result in self._each(todo, lambda r: self._send(r, body)):
            if isinstance(result, Exception):
                failures[recipient] = result
                if _unanswered(result):
                    unsure.add(recipient)
            else:
                done[recipient] = result
        if failures:
            raise self._worst(failures)
        sent = [s for r in recipients if isinstance(s := done[r], str)]
        refused = [v.describe(r) for r in recipients if isinstance(v := done[r], _Refusal)]
        if not sent:
            del self._progress[key], self._unsure[key]
            raise PublishError(
                f"{PLATFORM} refused the message for every recipient: {'; '.join(refused)}",
                transient=False,
                status=400,
            )
        if refused:
            log.warning(
                "%s: not sent to %d of %d recipients: %s",
                self.name,
                len(refused),
                len(recipients),
                "; ".join(refused),
            )
        return Receipt(remote_id=sent[0], url=None, ids=tuple(sent))

    # --- recovery --------------------------------------------------------------------

    def find(self, post: Post) -> Receipt | None:
        """The messages an earlier, crashed run sent with *post*'s body, if any.

        Every recipient found: their receipt. Some: None, and the next :meth:`publish`
        of this body skips those recipients (also when looking others up failed).
        """
        body = sms_text(post.text)
        recipients = self.config.recipients
        found: dict[str, str] = {}
        failures: dict[str, Exception] = {}
        for recipient, seen in self._each(recipients, lambda r: self._newest(r, body)):
            if isinstance(seen, Exception):
                failures[recipient] = seen
            elif seen is not None:
                found[recipient] = seen
        if len(found) == len(recipients):
            sids = tuple(found[r] for r in recipients)
            return Receipt(remote_id=sids[0], url=None, ids=sids)
        if found:
            self._found[body] = found
        if failures:
            raise self._worst(failures)
        return None

    def _newest(self, recipient: str, body: str) -> str | None:
        """The SID of our newest message to *recipient* with *body*, among its last 50."""
        filters: dict[str, Any] = {"to": recipient, "page_size": FIND_PAGE}
        if self.config.sender:
            filters["from_"] = self.config.sender
        page = self._call(self._api().messages.page, **filters)
        for message in page:
            if self._ours(message) and message.body == body:
                return str(message.sid)
        return None

    def _ours(self, message: Any) -> bool:
        if not str(message.direction or "").startswith("outbound"):
            return False
        if message.status == "canceled":
            return False
        service = self.config.messaging_service_sid
        return service is None or message.messaging_service_sid == service

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            transports, self._transports = self._transports, []
            self._local = threading.local()
            self._auth = None
        if pool is not None:
            pool.shutdown()
        for transport in transports:
            if transport.session is not None:
                transport.session.close()
        super().close()


def _unanswered(error: Exception) -> bool:
    """Whether Twilio may have taken the message although the request failed.

    Yes when no answer came, or a 5xx (a gateway's, maybe after Twilio acted); a 4xx or
    a 429 says it did not.
    """
    if not isinstance(error, PublishError) or not error.transient:
        return False
    return error.status is None or error.status >= 500


__all__ = ["SmsChannel", "SmsCount", "mask", "segments", "sms_text"]
