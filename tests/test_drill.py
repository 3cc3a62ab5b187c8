"""`stormhub drill`: every channel of the sample hub, through the real SDKs, to the simulator."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_drill_delivers_the_sample_hub_to_every_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = tmp_path / "hub"
    for name in ("content", "docs"):
        shutil.copytree(ROOT / name, hub / name)
    for name in ("mkdocs.yml", "channels.yaml"):
        shutil.copy(ROOT / name, hub / name)
    for variable in ("X_API_KEY", "MASTODON_ACCESS_TOKEN", "SMTP_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["drill", "--hub", str(hub)])
    assert result.exit_code == 0, result.output
    for channel, count in (("outbox", 29), ("x", 29), ("mastodon", 29), ("bluesky", 29),
                           ("email", 20)):  # fmt: skip
        row = next(line for line in result.output.splitlines() if f"│ {channel} " in line)
        assert row.split("│")[2].strip() == str(count), row
        assert row.split("│")[3].strip() == "0", row
    assert "received 20" in result.output  # email: advisory and above
    assert not (hub / ".stormhub" / "ledger.sqlite").exists()  # the real ledger is untouched
    assert (hub / ".stormhub" / "drill" / "ledger.sqlite").exists()
