"""What the adapters that speak plain HTTPS (no SDK of their own) share: one httpx client.

An adapter subclasses :class:`HttpChannel`, sets ``platform`` (the name people know)
and calls :meth:`HttpChannel.request`, which returns a successful response or raises
a :class:`PublishError`: network failures and timeouts are transient, HTTP errors go
through :meth:`HttpChannel.error` (which the adapter overrides to read its platform's
error body and rate-limit signals). Secrets are scrubbed from every message, URLs
included (Telegram's bot token and the webhooks' signatures live in the URL).
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from hub import __version__
from hub.channels.base import C, Channel, PublishError, error_for_status, retry_after_seconds

if TYPE_CHECKING:
    from hub.model import Hub

# httpx logs each request's URL at INFO, and some URLs hold a secret (Telegram's bot
# token, the webhooks' signatures): never let a logging set-up print them.
logging.getLogger("httpx").setLevel(logging.WARNING)


_TLS: ssl.SSLContext | None = None
_TLS_LOCK = threading.Lock()


def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every httpx client of this process shares.

    httpx builds one per client by default, reading the whole CA bundle each time: about
    30 ms of CPU, which a fan-out starting a dozen channels at once paid a dozen times,
    one after the other. A context is safe to share between clients and threads.
    """
    global _TLS
    with _TLS_LOCK:
        if _TLS is None:
            _TLS = httpx.create_ssl_context()
        return _TLS


class HttpChannel(Channel[C]):
    """A channel whose platform is reached with httpx."""

    platform: ClassVar[str]  # as people name it: "Facebook", "Microsoft Teams"
    reset_header: ClassVar[str] = "x-rate-limit-reset"  # an epoch or ISO time to wait until

    def __init__(self, config: C, hub: Hub) -> None:
        super().__init__(config, hub)
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()  # a sync() thread and the posts share the client

    # --- requests --------------------------------------------------------------------

    @property
    def http(self) -> httpx.Client:
        with self._http_lock:  # one client, whichever thread asks first
            if self._http is None:
                self._http = httpx.Client(
                    verify=tls_context(),
                    timeout=self.config.timeout,
                    headers={"User-Agent": f"stormhub/{__version__}"},
                    follow_redirects=False,
                )
            return self._http

    def request(
        self, method: str, url: str, *, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """One request; a 2xx (or a status in *ok*) comes back, anything else raises."""
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise PublishError(
                f"{self.platform} did not answer within {self.config.timeout:g} s; retrying",
                transient=True,
            ) from None
        except httpx.TransportError as exc:
            raise PublishError(
                self.scrub(f"{self.platform} could not be reached ({type(exc).__name__}: {exc})"),
                transient=True,
            ) from None
        if response.is_success or response.status_code in ok:
            return response
        raise self.error(response)

    def error(self, response: httpx.Response) -> PublishError:
        """*response* (not 2xx) as a :class:`PublishError` saying what to fix.

        The default reads ``Retry-After`` / :attr:`reset_header` and a JSON body's
        ``message`` or ``error``; adapters override it for their platform's wording.
        """
        return error_for_status(
            self.platform,
            response.status_code,
            self.scrub(self.detail(response)),
            retry_after=retry_after_seconds(response.headers, self.reset_header),
            fix_credentials=self.fix_credentials(response),
        )

    def detail(self, response: httpx.Response) -> str:
        """The platform's own words for an error response, short."""
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()
            return text[:200] if text else response.reason_phrase or "no details"
        if isinstance(body, dict):
            for key in ("message", "error_description", "error", "description", "detail"):
                value = body.get(key)
                if isinstance(value, dict):
                    value = value.get("message")
                if isinstance(value, str) and value:
                    return value[:300]
        return str(body)[:200]

    def fix_credentials(self, response: httpx.Response) -> str:
        """What to do about a 401/403 from this platform."""
        names = ", ".join(self.config.env_names()) or "the channel's credentials"
        return f"check {names}"

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
