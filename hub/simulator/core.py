"""The loopback channel simulator: one small HTTP server per platform.

Each platform module subclasses :class:`PlatformSim` and answers requests in
that platform's real wire format, as its official SDK sends and parses them.
Every request is stored (tests assert on what a platform received), and
faults can be queued: an HTTP status with headers (429 + Retry-After, 500),
latency, a response that never comes (timeout) or a dropped connection.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

Response = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Received:
    """One request as the platform saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    @property
    def params(self) -> dict[str, Any]:
        """The query's parameters, overridden by the body's: a JSON object or a form.

        Of a repeated query or form parameter, the last value.
        """
        params: dict[str, Any] = {k: v[-1] for k, v in self.query.items()}
        if "json" in self.headers.get("content-type", ""):
            data = self.json
            if isinstance(data, dict):
                params.update(data)
        elif self.body:
            params.update({k: v[-1] for k, v in self.form.items()})
        return params


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering one request."""

    kind: Literal["status", "delay", "timeout", "drop"]
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0


def status(code: int, body: Any = None, **headers: str) -> Fault:
    data = json.dumps(body).encode() if body is not None else b""
    return Fault("status", status=code, headers=dict(headers), body=data)


def json_response(code: int, body: Any, **headers: str) -> Response:
    return (
        code,
        {"Content-Type": "application/json; charset=utf-8", **headers},
        json.dumps(body).encode(),
    )


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5; channels post to several places at once
    # (SMS recipients, Business Profile locations), and a connection past the backlog
    # waits a second for its SYN to be sent again.
    request_queue_size = 64


class PlatformSim(ABC):
    """One platform's API, in memory."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.faults: deque[Fault] = deque()
        self.latency = 0.0
        self.lock = threading.RLock()

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each request takes the next one."""
        with self.lock:
            self.faults.extend(faults)

    def next_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    @abstractmethod
    def handle(self, request: Received) -> Response:
        """Answer one request as the platform would."""

    def describe(self) -> list[str]:
        """One line per post the platform now holds, for ``stormhub drill``."""
        return []

    # Serving: HTTP on a free loopback port; a platform with another protocol
    # (email's SMTP) overrides these three.
    def serve(self) -> None:
        handler = type(f"{self.name}Handler", (_Handler,), {"platform": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"sim-{self.name}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    platform: PlatformSim
    protocol_version = "HTTP/1.1"
    # Without this, small kept-alive responses wait ~40 ms for Nagle + delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: requests are stored, not logged

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Received(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        platform = self.platform
        with platform.lock:
            platform.received.append(request)
        if platform.latency:
            time.sleep(platform.latency)
        fault = platform.next_fault()
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind in ("timeout", "drop"):
            time.sleep(fault.seconds)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault is not None:
            code, headers, data = fault.status, dict(fault.headers), fault.body
            headers.setdefault("Content-Type", "application/json")
        else:
            try:
                code, headers, data = platform.handle(request)
            except Exception as exc:  # a simulator bug shows as a 500, like a real server's
                code, headers, data = json_response(500, {"error": repr(exc)})
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class Simulator:
    """Start every given platform on its own loopback port (a context manager)."""

    def __init__(self, platforms: list[PlatformSim] | dict[str, PlatformSim]) -> None:
        """*platforms* by their own names, or under the names given (one per channel)."""
        if isinstance(platforms, dict):
            self.platforms = dict(platforms)
        else:
            self.platforms = {p.name: p for p in platforms}
        self._started: list[PlatformSim] = []

    def __getitem__(self, name: str) -> PlatformSim:
        return self.platforms[name]

    def url(self, name: str) -> str:
        return self.platforms[name].url

    def start(self) -> Simulator:
        for platform in self.platforms.values():
            platform.serve()
            self._started.append(platform)
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().shutdown()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
