"""The email channel pointed at the loopback SMTP simulator."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from hub.config import EmailConfig

ENV = {"SMTP_USERNAME": "hub", "SMTP_PASSWORD": "fake-smtp-password"}


def make(url: str, tmp: Path) -> tuple[EmailConfig, dict[str, str]]:
    parts = urlsplit(url)
    assert parts.scheme == "smtp" and parts.hostname and parts.port, url
    config = EmailConfig(
        name="email",
        host=parts.hostname,
        port=parts.port,
        security="none",
        username="${SMTP_USERNAME}",
        password="${SMTP_PASSWORD}",
        sender="Port Alder Health <alerts@portalderhealth.example>",
        recipients=("list@portalder.example",),
        timeout=1.0,
    )
    return config, dict(ENV)
