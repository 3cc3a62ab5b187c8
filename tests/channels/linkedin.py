"""The ``linkedin`` channel pointed at the loopback LinkedIn simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import LinkedInConfig


def make(url: str, tmp: Path) -> tuple[LinkedInConfig, dict[str, str]]:
    config = LinkedInConfig(
        name="linkedin",
        author="urn:li:organization:10400001",
        access_token="${LINKEDIN_ACCESS_TOKEN}",
        api_base_url=url,  # type: ignore[arg-type]
        hashtags=("PortAlderStorm",),
        timeout=1.0,
    )
    return config, {"LINKEDIN_ACCESS_TOKEN": "fake-linkedin-token"}
