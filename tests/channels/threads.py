"""The ``threads`` channel pointed at the loopback Threads API simulator."""

from __future__ import annotations

from pathlib import Path

from pydantic import HttpUrl

from hub.config import ThreadsConfig

ENV = {"THREADS_ACCESS_TOKEN": "THAAfake-threads-token-7c1e"}


def make(url: str, tmp: Path) -> tuple[ThreadsConfig, dict[str, str]]:
    config = ThreadsConfig(
        name="threads",
        access_token="${THREADS_ACCESS_TOKEN}",
        api_base_url=HttpUrl(url),
        timeout=1.0,
    )
    return config, dict(ENV)
