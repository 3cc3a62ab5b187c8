"""The ``facebook`` channel pointed at the loopback Graph API (a Facebook Page) simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import FacebookConfig


def make(url: str, tmp: Path) -> tuple[FacebookConfig, dict[str, str]]:
    config = FacebookConfig(
        name="facebook",
        page_id="104200000000001",
        page_token="${FACEBOOK_PAGE_TOKEN}",
        api_base_url=url,  # type: ignore[arg-type]
        timeout=1.0,
    )
    return config, {"FACEBOOK_PAGE_TOKEN": "EAAfake-page-token-0001"}
