"""A loopback SMTP server (aiosmtpd) that stores every message it is sent.

It speaks real SMTP on 127.0.0.1, so the email adapter is exercised through smtplib
exactly as with a provider. AUTH LOGIN and PLAIN are offered without TLS (loopback
only); any username is accepted with :attr:`SmtpSim.password`, or with any password
while that is None (the drill's made-up credentials).

Faults queued with :meth:`~hub.simulator.core.PlatformSim.inject` are taken one per
message, at ``MAIL FROM``; a 401 waiting at the head of the queue is taken at
``AUTH`` instead when the client logs in (and fails every mechanism it tries in
that session). As SMTP replies:

==================================  ==========================================
Fault                               Reply
==================================  ==========================================
status 401                          ``535 5.7.8 Authentication credentials invalid``
status 429 + Retry-After: N         ``421 4.7.0 Try again in N seconds``
status 5xx                          ``451 4.3.0 Temporary server error``
any other status                    ``554 5.7.1 Message rejected``
delay                               waits ``seconds``, then answers normally
timeout, drop                       waits ``seconds``, then hangs up
==================================  ==========================================

SMTP has no Retry-After header; "Try again in N seconds" in a 4xx reply is how some
real servers say it, and what :mod:`hub.channels.email` reads as retry_after.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hmac
import logging
import socket
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, ClassVar, NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from hub.simulator.core import Fault, PlatformSim, Received, Response

HOSTNAME = "smtp.sim.stormhub.test"


class _NoLoginDataNotice(logging.Filter):
    """Drop aiosmtpd's notice that it sets the deprecated Session.login_data on AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_NoLoginDataNotice())
AUTH_INVALID = "535 5.7.8 Authentication credentials invalid"


class _Login(NamedTuple):
    login: str


@dataclass(frozen=True)
class Delivered:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    login: str | None  # the username the client logged in with, if it did
    helo: str | None  # the name the client gave in EHLO (or HELO)
    raw: bytes
    message: EmailMessage


class SmtpSim(PlatformSim):
    """An SMTP server on a free loopback port."""

    name: ClassVar[str] = "email"

    def __init__(self) -> None:
        super().__init__()
        self.password: str | None = None  # None: any non-empty password logs in
        self.require_login = False  # True: MAIL FROM without a login gets 530
        self.delivered: list[Delivered] = []
        self._denied: weakref.WeakSet[Session] = weakref.WeakSet()
        self._controller: _Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [d.message for d in self.delivered]

    def describe(self) -> list[str]:
        """One line per message received: its Subject."""
        return [" ".join(str(message["Subject"]).split()) for message in self.messages]

    def handle(self, request: Received) -> Response:
        raise NotImplementedError("the SMTP simulator does not answer HTTP")

    # --- serving ------------------------------------------------------------------------

    def serve(self) -> None:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it the EHLO reply, one write per line, waits ~40 ms for Nagle and the
        # client's delayed ACK on every connection (a real server sends it in one write).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.bind(("127.0.0.1", 0))
            controller = _Controller(_Handler(self), sock, authenticator=self._authenticate)
        except BaseException:
            sock.close()
            raise
        try:
            controller.start()
        except BaseException:
            if controller.loop.is_running():
                controller.stop(no_assert=True)
            else:
                controller.loop.close()
            sock.close()
            raise
        self._controller = controller

    @property
    def url(self) -> str:
        assert self._controller is not None, "serve() first"
        return f"smtp://127.0.0.1:{self._controller.port}"

    def shutdown(self) -> None:
        controller, self._controller = self._controller, None
        if controller is None:
            return
        # End the client sessions inside the loop first (a fault may be sleeping),
        # so that stopping it leaves no pending task or open transport behind.
        done = asyncio.run_coroutine_threadsafe(_close_all(controller), controller.loop)
        with contextlib.suppress(TimeoutError, concurrent.futures.CancelledError):
            done.result(timeout=5)
        controller.stop()

    # --- the SMTP side --------------------------------------------------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        with self.lock:
            head = self.faults[0] if self.faults else None
            if head is not None and head.kind == "status" and head.status == 401:
                self.faults.popleft()
                self._denied.add(session)  # smtplib tries each mechanism: refuse them all
            if session in self._denied:
                return AuthResult(success=False, handled=False)
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", errors="replace")
        password = data.password.decode("utf-8", errors="replace")
        expected = self.password
        good = bool(login and password) and (
            expected is None or hmac.compare_digest(password.encode(), expected.encode())
        )
        if not good:
            return AuthResult(success=False, handled=False)
        # aiosmtpd sets session.login_data from auth_data.login: keep the username only.
        return AuthResult(success=True, handled=False, auth_data=_Login(login))

    def _store(self, envelope: Envelope, session: Session) -> None:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        login = session.auth_data.login if isinstance(session.auth_data, _Login) else None
        delivered = Delivered(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            login=login,
            helo=session.host_name,
            raw=raw,
            message=message,
        )
        with self.lock:
            self.delivered.append(delivered)


def fault_reply(fault: Fault) -> str:
    """The SMTP reply that stands for an HTTP-style status *fault*."""
    if fault.status == 401:
        return AUTH_INVALID
    if fault.status == 429:
        wait = fault.headers.get("Retry-After", "60")
        seconds = int(float(wait)) if wait.replace(".", "", 1).isdigit() else 60
        return f"421 4.7.0 Try again in {seconds} seconds"
    if fault.status >= 500:
        return "451 4.3.0 Temporary server error"
    return "554 5.7.1 Message rejected"


class _Handler:
    """aiosmtpd hooks: faults at MAIL FROM, storage at DATA."""

    def __init__(self, sim: SmtpSim) -> None:
        self.sim = sim

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        fault = self.sim.next_fault()
        if fault is not None and fault.kind in ("delay", "timeout", "drop"):
            await asyncio.sleep(fault.seconds)
            if fault.kind != "delay":
                assert server.transport is not None
                server.transport.close()  # the client has given up, or sees a hang-up
                await asyncio.sleep(3600)  # cancelled when the connection is lost
        elif fault is not None:
            return fault_reply(fault)
        if self.sim.require_login and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sim.latency:
            await asyncio.sleep(self.sim.latency)  # a slow relay: the answer to DATA waits
        self.sim._store(envelope, session)
        return "250 2.0.0 Message accepted for delivery"


class _Controller(Controller):
    """A threaded aiosmtpd controller serving on an already bound socket (no port race)."""

    def __init__(self, handler: _Handler, sock: socket.socket, **smtp: Any) -> None:
        self.sock = sock
        super().__init__(
            handler,
            hostname="127.0.0.1",
            port=sock.getsockname()[1],
            server_hostname=HOSTNAME,
            auth_require_tls=False,  # loopback only: lets smtplib log in without TLS
            **smtp,
        )

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self.sock)


async def _close_all(controller: Controller) -> None:
    """Stop listening and end every session, waiting until they are gone."""
    if controller.server is not None:
        controller.server.close()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)  # let the closed transports report connection_lost
