"""The ``instagram`` channel pointed at the loopback Instagram (Graph API) simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import InstagramConfig


def make(url: str, tmp: Path) -> tuple[InstagramConfig, dict[str, str]]:
    config = InstagramConfig(
        name="instagram",
        user_id="17841400000000001",
        access_token="${INSTAGRAM_ACCESS_TOKEN}",
        api_base_url=url,  # type: ignore[arg-type]
        timeout=1.0,
    )
    return config, {"INSTAGRAM_ACCESS_TOKEN": "EAAfake-instagram-token-0001"}
