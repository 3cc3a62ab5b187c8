"""`stormhub serve` rebuilds when content/ changes, and survives a broken save."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HubFactory

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return ""


def wait_for(url: str, text: str, *, present: bool = True, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (text in fetch(url)) == present:
            return
        time.sleep(0.3)
    raise AssertionError(f"{text!r} {'never appeared' if present else 'stayed'} on {url}")


@contextlib.contextmanager
def serving(root: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``stormhub serve`` on *root*, on a free port: its URL and process."""
    port = free_port()
    stormhub = Path(sys.executable).with_name("stormhub")
    server = subprocess.Popen(
        [str(stormhub), "serve", "--hub", str(root), "--dev-addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}/", server
    finally:
        if server.poll() is None:
            server.terminate()
            server.communicate(timeout=20)


@pytest.fixture
def served(make_hub: HubFactory) -> Iterator[tuple[Path, str, subprocess.Popen[str]]]:
    root = make_hub()
    with serving(root) as (url, server):
        yield root, url, server


NEW = "---\ntime: 2026-11-28 09:00\ntitle: Shuttle back in service\nseverity: info\n---\nOK.\n"


def test_serve_reloads_when_content_changes(
    served: tuple[Path, str, subprocess.Popen[str]],
) -> None:
    root, url, server = served
    wait_for(url, "Emergency Department open")
    broken = root / "content/updates/2026-11-28-0800-broken.md"
    broken.write_text("---\ntitle: No time\n---\nx\n")
    time.sleep(2)  # the server reports the problem and waits for the next save
    broken.unlink()
    (root / "content/updates/2026-11-28-0900-shuttle.md").write_text(NEW)
    wait_for(url, "Shuttle back in service")
    server.terminate()
    _, log = server.communicate(timeout=20)
    assert (
        "content/updates/2026-11-28-0800-broken.md:2:1: time: required key 'time' is missing" in log
    )
    assert "Traceback" not in log


def test_serve_shows_every_language(make_hub: HubFactory) -> None:
    from tests.conftest import HUB_YAML

    root = make_hub(
        {"content/hub.yaml": HUB_YAML.replace("languages: [en]", "languages: [en, es]")}
    )
    with serving(root) as (url, server):
        wait_for(url + "es/", "Últimas noticias")
        wait_for(url, "Latest updates")
        server.terminate()
        _, log = server.communicate(timeout=20)
    assert "Traceback" not in log
    assert not list(Path(tempfile.gettempdir()).glob("stormhub-serve-*")), "left its folder"
