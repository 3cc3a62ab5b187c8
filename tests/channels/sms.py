"""The ``sms`` channel pointed at the loopback Twilio simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import SmsConfig

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f00dfeed" * 4
SENDER = "+17575550100"
RECIPIENTS = ("+17575550142", "+17575550143", "+447911123456")


def make(url: str, tmp: Path) -> tuple[SmsConfig, dict[str, str]]:
    config = SmsConfig(
        name="sms",
        account_sid="${TWILIO_ACCOUNT_SID}",
        auth_token="${TWILIO_AUTH_TOKEN}",
        sender=SENDER,
        recipients=RECIPIENTS,
        api_base_url=url,  # type: ignore[arg-type]
        timeout=1.0,
    )
    return config, {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
