"""The ``teams`` channel pointed at the loopback Teams Workflows simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import TeamsConfig
from hub.simulator.teams import WORKFLOW_ID

SIG = "fakeSig4f9a2cQ0sVb1XyZ"


def make(url: str, tmp: Path) -> tuple[TeamsConfig, dict[str, str]]:
    config = TeamsConfig(name="teams", webhook_url="${TEAMS_WEBHOOK_URL}", timeout=1.0)
    webhook = (
        f"{url}/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke"
        f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
    )
    return config, {"TEAMS_WEBHOOK_URL": webhook}
