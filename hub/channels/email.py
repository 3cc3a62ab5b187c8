"""``email``: each update as one email (plain text + HTML) sent with smtplib.

One SMTP connection per message: ``security`` picks implicit TLS (``ssl``, port 465),
``starttls`` (port 587) or a plain connection (``none``, for a local relay or the
drill's simulator); the adapter logs in when ``username`` and ``password`` are set.
Nothing connects before the first send. EHLO names this host without a DNS lookup
(:func:`ehlo_name`; smtplib's default, ``socket.getfqdn()``, can stall each connection).

The message
    ``multipart/alternative`` with a text/plain part (title, time, the whole text and
    the permalink; cut only past :attr:`EmailChannel.max_chars`) and a text/html part
    (the update's HTML with absolute links). ``Subject`` is ``[Severity] Title``, or
    ``Correction: Title`` for a correction or a superseding update, ``Retracted: Title``
    for a retraction (which carries the notice and its reason, not the retracted text).

Recipients
    One address (usually a mailing list) goes in ``To``. With several, nobody sees
    the others' addresses: ``To`` is ``undisclosed-recipients:;`` and the addresses
    are only given to the server as envelope recipients (Bcc without a Bcc header).

Identity and threading
    ``Message-ID`` is ``<key@sender-domain>``: the delivery key is stable, so a
    repeated delivery carries the same Message-ID (which many mailbox providers then
    collapse into one message; SMTP itself promises nothing, so ``idempotent`` is
    False). A correction is a new message with ``In-Reply-To`` and ``References`` set
    to the original's Message-ID, so mail clients show it under the original; so is a
    retraction (an email cannot be deleted or edited once sent). The
    receipt's ``remote_id`` is the Message-ID, its ``url`` the update's permalink.

Errors (SMTP replies mapped to :class:`PublishError`; ``status`` is an HTTP-like code
so the fan-out treats every platform alike)

============================================================  =========  ======  ===========
What happened                                                 transient  status  retry_after
============================================================  =========  ======  ===========
login refused (535, 534, ``SMTPAuthenticationError``) or      no         401     --
required (530)
a 4xx reply saying "try again in N seconds" (or minutes)      yes        429     N seconds
any other 4xx reply (421, 450, 451, 452, 454, ...)            yes        500     --
a 5xx reply other than the above (550, 552, 554, ...)         no         400     --
every recipient refused                                       as the worst of their replies
timeout, refused or reset connection, server hung up, DNS     yes        None    --
TLS failed; STARTTLS or AUTH not offered; login needs TLS     no         None    --
(538); a credential variable not set; half a login
============================================================  =========  ======  ===========

SMTP has no Retry-After header. Some servers say how long to wait in the text of a
421/450/451 reply ("421 4.7.0 Try again in 30 seconds"); that is read as retry_after
and reported as a rate limit (429), which is also how the simulator expresses an
injected ``429 + Retry-After``.

Neither the password nor the username is ever logged or put in an error: errors
name the environment variables (e.g. ``SMTP_USERNAME/SMTP_PASSWORD``) instead, and
any server text quoted in an error is scrubbed of both values.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import logging
import re
import smtplib
import socket
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import TYPE_CHECKING

from hub.channels.base import Channel, Post, PublishError, Receipt
from hub.config import ENV_REF, EmailConfig, MissingSecret
from hub.feeds import entry_html
from hub.site.pages import time_label
from hub.text import plain_text
from hub.words import translator

if TYPE_CHECKING:
    from hub.model import Hub, Update

log = logging.getLogger(__name__)

_CORRECTION = re.compile(r"^\s*correction\s*:\s*", re.IGNORECASE)
_RETRY_IN = re.compile(
    r"try\s+again\s+in\s+(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?)\b",
    re.IGNORECASE,
)
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")
_AUTH_CODES = (530, 534, 535)
_MAX_DETAIL = 200
# Non-ASCII bodies as quoted-printable or base64, never raw 8-bit: no 8BITMIME needed.
_POLICY = policy.default.clone(cte_type="7bit")
_FQDN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*")
_PENDING = "pending.invalid"  # replaced by ehlo_name() before EHLO


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying context for every connection: each new one reads the CA store."""
    return ssl.create_default_context()


def ehlo_name(sock: socket.socket) -> str:
    """The name this host gives in EHLO, found without asking DNS.

    smtplib's default, ``socket.getfqdn()``, looks the host's own name up on every
    connection, which takes seconds where reverse DNS is slow or missing. RFC 5321
    4.1.4: the host's fully qualified name, or an address literal when it has none;
    here the host name when it has a dot, else the address of our end of *sock*.
    """
    name = socket.gethostname()
    if _FQDN.fullmatch(name):
        return name
    address = str(sock.getsockname()[0]).split("%", 1)[0]  # no IPv6 zone in a literal
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _cap(text: str, link: str, limit: int) -> str:
    """*text* and the permalink, the text cut at a word past *limit* (a runaway only)."""
    text = text.strip()
    whole = f"{text}\n\n{link}"
    if len(whole) <= limit:
        return whole
    room = max(0, limit - len(link) - len("…\n\n"))
    cut = text[:room]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > room // 2:
        cut = cut[:space]
    return f"{cut.rstrip()}…\n\n{link}"


class EmailChannel(Channel[EmailConfig]):
    type = "email"
    max_chars = 100_000  # an email has no length limit; this only caps a runaway text
    supports_threads = False
    supports_edit = False
    supports_delete = False
    idempotent = False
    can_find = False

    def __init__(self, config: EmailConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        _, self.sender_address = parseaddr(config.sender)
        local, at, domain = self.sender_address.rpartition("@")
        if not (local and at and domain):
            raise ValueError(
                f"email channel {config.name!r}: sender {config.sender!r} is not an email "
                "address such as 'Port Alder Health <alerts@example.org>'"
            )
        self.domain = domain
        self.recipient_addresses = [addr for _, addr in getaddresses(list(config.recipients))]
        if not all("@" in addr for addr in self.recipient_addresses) or not (
            self.recipient_addresses
        ):
            raise ValueError(
                f"email channel {config.name!r}: recipients must be email addresses, "
                f"not {list(config.recipients)!r}"
            )

    def length(self, text: str) -> int:
        return len(text)

    # --- rendering (pure) ---------------------------------------------------------

    def heading(self, update: Update, *, correction: bool = False, retraction: bool = False) -> str:
        """The title, led (once) by "Retracted: " or "Correction: " when it is one."""
        _ = translator(self.hub.lang)
        title = _CORRECTION.sub("", update.title) if correction or retraction else update.title
        if retraction:
            return f"{_('Retracted:')} {title}"
        if correction:
            return f"{_('Correction:')} {title}"
        return update.title

    def subject(self, update: Update, *, correction: bool = False, retraction: bool = False) -> str:
        """``[Severity] Title``; a correction's or retraction's heading as it is."""
        if correction or retraction:
            return self.heading(update, correction=correction, retraction=retraction)
        return f"[{translator(self.hub.lang)(update.severity.label)}] {update.title}"

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        """The update as one email: subject, plain text with the permalink, and HTML.

        A retraction carries the notice (and the reason), not the retracted text.
        """
        _ = translator(self.hub.lang)
        link = self.hub.permalink(update)
        heading = self.heading(update, correction=correction, retraction=retraction)
        posted = time_label(self.hub, update.time)
        if retraction:
            body = f"{_('Please disregard this update.')} {update.retraction}".strip()
        else:
            body = plain_text(update.body)
        text = f"{heading}\n{_(update.severity.label)} · {posted}\n\n{body}"
        if self.config.hashtags and not retraction:
            text += "\n\n" + " ".join(f"#{tag}" for tag in self.config.hashtags)
        return self.post(
            update,
            [_cap(text, link, self.limit)],
            link,
            subject=self.subject(update, correction=correction, retraction=retraction),
            html=self._html(
                update, heading, posted, link, correction=correction, retraction=retraction
            ),
        )

    def _html(
        self,
        update: Update,
        heading: str,
        posted: str,
        link: str,
        *,
        correction: bool,
        retraction: bool,
    ) -> str:
        _ = translator(self.hub.lang)
        info = self.hub.info
        if retraction:
            reason = f" {html.escape(update.retraction)}" if update.retraction else ""
            content = (
                f"<p><strong>{html.escape(_('Retracted:'))}</strong> "
                f"{html.escape(_('please disregard this update.'))}{reason}</p>\n"
            )
        else:
            content = ""
            if correction and not update.supersedes:
                replaces = _("this replaces an earlier version of this update.")
                content = (
                    f"<p><strong>{html.escape(_('Correction:'))}</strong> "
                    f"{html.escape(replaces)}</p>\n"
                )
            content += entry_html(self.hub, update) + "\n"
            if self.config.hashtags:
                tags = " ".join(f"#{html.escape(t)}" for t in self.config.hashtags)
                content += f"<p>{tags}</p>\n"
        href = html.escape(link)
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{html.escape(self.hub.lang)}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(heading)}</title>\n</head>\n<body>\n"
            f"<h1>{html.escape(heading)}</h1>\n"
            f"<p>{html.escape(_(update.severity.label))} · {html.escape(posted)}</p>\n"
            f"{content}"
            f"<p>{html.escape(_('Read this update online:'))} "
            f'<a href="{href}">{href}</a></p>\n'
            f"<p>{html.escape(info.organisation)} · {html.escape(info.event)}</p>\n"
            "</body>\n</html>\n"
        )

    # --- sending --------------------------------------------------------------------

    def message_id(self, key: str) -> str:
        """The stable Message-ID of the delivery with *key*."""
        return f"<{_NOT_ATEXT.sub('-', key)}@{self.domain}>"

    def message(self, post: Post, key: str, *, parent: str | None = None) -> EmailMessage:
        """The email for *post*; *parent* is the Message-ID it answers, if any."""
        msg = EmailMessage(policy=_POLICY)
        msg["Subject"] = post.subject or post.text.split("\n", 1)[0]
        msg["From"] = self.config.sender
        if len(self.config.recipients) == 1:
            msg["To"] = self.config.recipients[0]
        else:
            msg["To"] = "undisclosed-recipients:;"
        if self.config.reply_to:
            msg["Reply-To"] = self.config.reply_to
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        msg["Message-ID"] = self.message_id(key)
        if parent:
            msg["In-Reply-To"] = parent
            msg["References"] = parent
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
        msg.set_content("\n\n".join(post.parts))
        if post.html:
            msg.add_alternative(post.html, subtype="html")
        return msg

    def publish(self, post: Post, key: str) -> Receipt:
        return self._send(post, key, parent=None)

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """Send *post* as a new message threaded under *receipt*'s."""
        return self._send(post, key, parent=receipt.remote_id)

    def _credentials(self) -> tuple[str, str] | None:
        config = self.config
        if config.username is None and config.password is None:
            return None
        if config.username is None or config.password is None:
            raise PublishError(
                f"email channel {config.name!r} has only one of username: and password:; "
                "set both, or neither for a server that needs no login",
                transient=False,
            )
        try:
            return (
                config.secret("username").get_secret_value(),
                config.secret("password").get_secret_value(),
            )
        except MissingSecret as exc:
            raise PublishError(
                f"environment variable {', '.join(exc.names)} not set: set it or set "
                "enabled: false",
                transient=False,
            ) from None

    def _send(self, post: Post, key: str, *, parent: str | None) -> Receipt:
        credentials = self._credentials()
        msg = self.message(post, key, parent=parent)
        config = self.config
        smtp: smtplib.SMTP | None = None
        try:
            if config.security == "ssl":
                context = _tls()
                smtp = smtplib.SMTP_SSL(
                    config.host,
                    config.port,
                    local_hostname=_PENDING,
                    timeout=config.timeout,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    config.host, config.port, local_hostname=_PENDING, timeout=config.timeout
                )
            # Connected, greeted, and no EHLO sent yet: name this host now (see ehlo_name).
            assert smtp.sock is not None
            smtp.local_hostname = ehlo_name(smtp.sock)
            if config.security == "starttls":
                smtp.starttls(context=_tls())
            if credentials is not None:
                smtp.login(*credentials)
            refused = smtp.send_message(
                msg, from_addr=self.sender_address, to_addrs=self.recipient_addresses
            )
        except Exception as exc:
            if smtp is not None:
                smtp.close()
            error = self._error(exc, credentials)
            if error is None:
                raise
            raise error from None
        # Accepted: a failing QUIT must not turn a sent message into a retry.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
        if refused:
            log.warning(
                "%s: the SMTP server refused %d of %d recipients: %s",
                config.name,
                len(refused),
                len(self.recipient_addresses),
                ", ".join(sorted(refused)),
            )
        message_id = str(msg["Message-ID"])
        return Receipt(remote_id=message_id, url=post.link, ids=(message_id,))

    # --- errors ---------------------------------------------------------------------

    def _login_hint(self) -> str:
        names = [
            match.group(1)
            for value in (self.config.username, self.config.password)
            if value is not None and (match := ENV_REF.match(value))
        ]
        if names:
            return "check " + "/".join(names)
        return f"set username: and password: for channel {self.config.name!r} in channels.yaml"

    def _detail(self, text: bytes | str, credentials: tuple[str, str] | None) -> str:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        text = " ".join(text.split())
        for secret in credentials or ():
            if secret:
                text = text.replace(secret, "***")
        return text[:_MAX_DETAIL]

    def _reply_error(self, code: int, text: str) -> PublishError:
        """The error for an SMTP reply *code* with its (already scrubbed) *text*."""
        reply = f"{code} {text}".strip()
        if code in _AUTH_CODES:
            if code == 530:
                what = "the SMTP server requires a login with credentials"
            else:
                what = "the SMTP server rejected the login credentials"
            return PublishError(f"{what} ({reply}): {self._login_hint()}", transient=False,
                                status=401)  # fmt: skip
        if code == 538:
            return PublishError(
                f"the SMTP server only takes a login over TLS ({reply}): set security: "
                "starttls (port 587) or ssl (port 465)",
                transient=False,
            )
        if 400 <= code < 500:
            match = _RETRY_IN.search(text)
            if match:
                seconds = float(match.group(1))
                if match.group(2).lower().startswith("m"):
                    seconds *= 60
                return PublishError(
                    f"the SMTP server asked to wait {seconds:g} s ({reply}); retrying",
                    transient=True,
                    retry_after=seconds,
                    status=429,
                )
            return PublishError(f"the SMTP server failed temporarily ({reply}); retrying",
                                transient=True, status=500)  # fmt: skip
        if 500 <= code < 600:
            return PublishError(f"the SMTP server refused the message ({reply})",
                                transient=False, status=400)  # fmt: skip
        return PublishError(f"unexpected SMTP reply ({reply}); retrying", transient=True)

    def _error(self, exc: Exception, credentials: tuple[str, str] | None) -> PublishError | None:
        """*exc* as a :class:`PublishError`, or None if it is not a sending failure."""
        where = f"{self.config.host}:{self.config.port}"
        if isinstance(exc, PublishError):
            return exc
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            code = exc.smtp_code
            if not (400 <= code < 500 or code in (*_AUTH_CODES, 538)):
                code = 535  # whatever the last mechanism tried said, the login failed
            return self._reply_error(code, self._detail(exc.smtp_error, credentials))
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            replies = list(exc.recipients.items())
            if not replies:
                return self._reply_error(550, "all recipients refused")
            # Retry only if every refusal was temporary.
            addr, (code, text) = max(replies, key=lambda item: item[1][0])
            error = self._reply_error(code, self._detail(text, credentials))
            return PublishError(
                f"every recipient was refused, e.g. {addr}: {error}",
                transient=error.transient,
                retry_after=error.retry_after,
                status=error.status,
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._reply_error(exc.smtp_code, self._detail(exc.smtp_error, credentials))
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return PublishError(
                f"the SMTP server at {where} does not support what the channel needs "
                f"({self._detail(str(exc), credentials)}): check security: (starttls for "
                "port 587, ssl for 465) and whether this server takes a login",
                transient=False,
            )
        timed_out = "timed out" in str(exc)
        if isinstance(exc, TimeoutError) or (
            isinstance(exc, smtplib.SMTPServerDisconnected) and timed_out
        ):
            return PublishError(
                f"the SMTP server at {where} did not answer within {self.config.timeout:g} s; "
                "retrying",
                transient=True,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return PublishError(
                f"the SMTP server at {where} closed the connection "
                f"({self._detail(str(exc), credentials)}); retrying",
                transient=True,
            )
        if isinstance(exc, ssl.SSLError):
            return PublishError(
                f"TLS with the SMTP server at {where} failed ({exc.__class__.__name__}: "
                f"{self._detail(str(exc), credentials)}): check security: (starttls for "
                "port 587, ssl for 465) and the server's certificate",
                transient=False,
            )
        if isinstance(exc, smtplib.SMTPException):  # e.g. no AUTH mechanism in common
            return PublishError(
                f"could not send through the SMTP server at {where}: "
                f"{self._detail(str(exc), credentials)}",
                transient=False,
            )
        if isinstance(exc, OSError):  # refused, reset, unreachable, DNS
            return PublishError(
                f"could not reach the SMTP server at {where} ({exc.__class__.__name__}: "
                f"{self._detail(str(exc), credentials)}); retrying",
                transient=True,
            )
        return None
