"""The ``gbp`` channel pointed at the loopback Google Business Profile simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import GbpConfig

ACCOUNT = "104000000000000000001"
LOCATIONS = {
    "eastside-clinic": "4100000000000000002",
    "southpoint-urgent-care": "4100000000000000003",
}


def make(url: str, tmp: Path) -> tuple[GbpConfig, dict[str, str]]:
    config = GbpConfig(
        name="gbp",
        account_id=ACCOUNT,
        locations=dict(LOCATIONS),
        client_id="${GBP_CLIENT_ID}",
        client_secret="${GBP_CLIENT_SECRET}",
        refresh_token="${GBP_REFRESH_TOKEN}",
        timeout=1.0,
    ).at(url)
    return config, {
        "GBP_CLIENT_ID": "1234-fake.apps.googleusercontent.com",
        "GBP_CLIENT_SECRET": "GOCSPX-fake-secret",
        "GBP_REFRESH_TOKEN": "1//fake-refresh-token",
    }
