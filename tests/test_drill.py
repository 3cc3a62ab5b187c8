"""`stormhub drill`: every channel of the sample hub, through the real SDKs, to the simulator."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.channels import ADAPTERS
from hub.cli import main
from hub.config import load_channels
from hub.content import load_hub
from hub.drill import rehearsal
from hub.fanout import Fanout
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
    monkeypatch.setenv("X_API_KEY", "a-real-looking-key-the-drill-must-not-send")
    for variable in ("MASTODON_ACCESS_TOKEN", "SMTP_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    sample = load_hub(hub)
    configs = load_channels(hub)
    # The shipped file: the 12 default channels of a US hospital system, three options.
    kinds = {c.type for c in configs}
    assert kinds == set(ADAPTERS), set(ADAPTERS) - kinds
    assert {c.type for c in configs if not c.enabled} == {"slack", "discord", "telegram"}

    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["drill", "--hub", str(hub)])
    assert result.exit_code == 0, result.output
    rows = {
        line.split("│")[1].strip(): line.split("│")
        for line in result.output.splitlines()
        if line.startswith("│")
    }
    for config in configs:
        wanted = sum(config.wants(u) for u in sample.updates)
        assert wanted > 0, config.name
        row = rows[config.name]
        assert row[2].strip() == str(wanted), row  # posted: every update it takes
        assert row[3].strip() == "0", row  # failed
        assert f"{config.name} ({config.type}" in result.output
    assert "switched off in channels.yaml" in result.output
    assert os.environ["X_API_KEY"] == "a-real-looking-key-the-drill-must-not-send"
    assert not (hub / ".stormhub" / "ledger.sqlite").exists()  # the real ledger is untouched
    assert (hub / ".stormhub" / "drill" / "ledger.sqlite").exists()


def test_drill_never_sends_real_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = tmp_path / "hub"
    shutil.copytree(ROOT / "content", hub / "content")
    shutil.copy(ROOT / "mkdocs.yml", hub / "mkdocs.yml")
    (hub / "channels.yaml").write_text(
        "channels:\n  - name: masto\n    type: mastodon\n"
        "    api_base_url: https://mastodon.example\n    access_token: ${MASTODON_ACCESS_TOKEN}\n"
    )
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "real-secret-token-0001")
    sample = load_hub(hub)
    with rehearsal(load_channels(hub), tmp_path / "scratch") as rig:
        report = Fanout(sample, rig.configs, tmp_path / "ledger.sqlite").run()
        seen = [r.headers.get("authorization", "") for r in rig.platforms["masto"].received]
    assert not report.failed
    assert seen and all(h == "Bearer drill-mastodon_access_token" for h in seen), set(seen)
    assert os.environ["MASTODON_ACCESS_TOKEN"] == "real-secret-token-0001"  # restored
