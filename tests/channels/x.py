"""The ``x`` channel pointed at the simulated X API, with fake credentials."""

from __future__ import annotations

from pathlib import Path

from pydantic import HttpUrl

from hub.config import XConfig

ENV = {
    "X_API_KEY": "fake-consumer-key-1234",
    "X_API_SECRET": "fake-consumer-secret-5678",
    "X_ACCESS_TOKEN": "1600000000000000001-fakeaccesstoken9012",
    "X_ACCESS_TOKEN_SECRET": "fake-access-token-secret-3456",
}


def make(url: str, tmp: Path) -> tuple[XConfig, dict[str, str]]:
    config = XConfig(
        name="x-test",
        api_key="${X_API_KEY}",
        api_secret="${X_API_SECRET}",
        access_token="${X_ACCESS_TOKEN}",
        access_token_secret="${X_ACCESS_TOKEN_SECRET}",
        api_base_url=HttpUrl(url),
        timeout=1.0,
    )
    return config, dict(ENV)
