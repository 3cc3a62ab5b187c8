"""Approvals: the hub.yaml setting, ``stormhub approve``, and the fan-out holding updates back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hub import audit
from hub.cli import main
from hub.config import ChannelConfig, OutboxConfig
from hub.content import load_hub
from hub.fanout import Fanout
from hub.ledger import Ledger
from hub.model import HubInfo, Severity
from tests.conftest import HUB_YAML, HubFactory

OUTBOX = "channels:\n  - name: box\n    type: outbox\n"
ED = "2026-11-27-0615-ed-open"
ED_FILE = f"content/updates/{ED}.md"


@pytest.fixture(autouse=True)
def no_user_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit.USER_ENV, raising=False)


def hub_with(make_hub: HubFactory, approval: str | None = "required", **files: str) -> Path:
    hub_yaml = HUB_YAML + (f"approval: {approval}\n" if approval is not None else "")
    return make_hub({"content/hub.yaml": hub_yaml, "channels.yaml": OUTBOX, **files})


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner(env={"COLUMNS": "200", **(env or {})})
    return runner.invoke(main, [args[0], "--hub", str(root), *args[1:]])


def outbox(root: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted((root / ".stormhub/outbox").glob("*.json"))]


def edit(root: Path, old: str, new: str) -> None:
    path = root / ED_FILE
    path.write_text(path.read_text().replace(old, new))


# --- the setting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "severity", "needed"),
    [
        ("none", Severity.EMERGENCY, False),
        ("required", Severity.INFO, True),
        ("warning", Severity.ADVISORY, False),
        ("warning", Severity.WARNING, True),
        ("warning", Severity.EMERGENCY, True),
        ("Emergency", Severity.WARNING, False),
        (True, Severity.INFO, True),  # approval: yes
        (False, Severity.EMERGENCY, False),
    ],
)
def test_approval_setting(setting: object, severity: Severity, needed: bool) -> None:
    info = HubInfo(organisation="O", event="E", timezone="UTC", approval=setting)
    assert info.needs_approval(severity) is needed


def test_approval_defaults_to_none(make_hub: HubFactory) -> None:
    assert load_hub(make_hub()).info.approval == "none"


def test_a_bad_approval_setting_is_an_error_at_its_line(make_hub: HubFactory) -> None:
    root = hub_with(make_hub, "sometimes")
    result = run(root, "check")
    assert result.exit_code == 2
    line = HUB_YAML.count("\n") + 1
    assert f"content/hub.yaml:{line}:1: approval: expected none, required, or a severity" in (
        result.stderr
    )
    assert "e.g. approval: warning" in result.stderr


# --- stormhub approve -------------------------------------------------------------------


def test_approve_records_the_revision_once(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    first = run(root, "approve", ED, "--by", "Dana Reyes")
    assert first.exit_code == 0, first.output
    revision = load_hub(root).update(ED).revision
    assert f"Approved {ED} revision {revision}" in first.stdout and "Dana Reyes" in first.stdout
    again = run(root, "approve", ED, "--by", "Dana Reyes")
    assert again.exit_code == 0
    assert "had already approved" in again.stdout
    logged = audit.entries(root / ".stormhub/ledger.sqlite")
    assert [(e.who, e.action, e.update_id, e.revision) for e in logged] == [
        ("Dana Reyes", "approve", ED, revision)
    ]
    assert logged[0].details == "warning: Emergency Department open"


def test_approve_unknown_update(make_hub: HubFactory) -> None:
    result = run(hub_with(make_hub), "approve", "no-such-update", "--by", "Dana")
    assert result.exit_code == 1
    assert "no update 'no-such-update': use a file name from content/updates/" in result.stderr


def test_approve_needs_an_id_or_pending(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    assert "which update?" in run(root, "approve").stderr
    both = run(root, "approve", ED, "--pending")
    assert both.exit_code == 1 and "not both" in both.stderr


def test_approve_refuses_broken_content(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    edit(root, "severity: warning", "severity: dire")
    result = run(root, "approve", ED, "--by", "Dana")
    assert result.exit_code == 2
    assert f"{ED_FILE}:4:1: severity:" in result.stderr


def test_approver_from_env_then_os_user(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = hub_with(make_hub)
    monkeypatch.setattr("getpass.getuser", lambda: "os-login")
    assert run(root, "approve", ED).exit_code == 0  # no --by, no STORMHUB_USER: the OS user
    assert run(root, "approve", ED, env={"STORMHUB_USER": "lee"}).exit_code == 0
    logged = audit.entries(root / ".stormhub/ledger.sqlite")
    assert [e.who for e in logged] == ["os-login", "lee"]


def test_no_name_at_all_is_an_error(make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    def nobody() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", nobody)
    result = run(hub_with(make_hub), "approve", ED)
    assert result.exit_code == 1
    assert "cannot tell who you are: pass --by NAME or set STORMHUB_USER" in result.stderr


def test_the_author_cannot_approve_their_own_update(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    edit(root, "tags: [power]", "tags: [power]\nauthor: Dana Reyes")
    own = run(root, "approve", ED, "--by", "dana reyes")
    assert own.exit_code == 1
    assert "two-person rule" in own.stderr and "--by THEIR-NAME" in own.stderr
    assert run(root, "approve", ED, "--by", "Lee Chen").exit_code == 0


def test_author_does_not_change_the_revision(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    before = load_hub(root).update(ED).revision
    edit(root, "tags: [power]", "tags: [power]\nauthor: Dana Reyes")
    assert load_hub(root).update(ED).revision == before


def test_approving_when_not_required_says_so(make_hub: HubFactory) -> None:
    result = run(hub_with(make_hub, "emergency"), "approve", ED, "--by", "Dana")
    assert result.exit_code == 0
    assert "does not require approval for warning updates" in result.stdout


def test_pending_lists_what_waits(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    waiting = run(root, "approve", "--pending")
    assert waiting.exit_code == 0
    assert ED in waiting.stdout and f"stormhub approve {ED} --by NAME" in waiting.stdout
    run(root, "approve", ED, "--by", "Dana")
    assert "Nothing is waiting" in run(root, "approve", "--pending").stdout


# --- the fan-out --------------------------------------------------------------------------


def test_fanout_holds_back_until_approved(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    held = run(root, "fanout")
    assert held.exit_code == 0, held.output  # waiting is not failing
    assert outbox(root) == []
    assert f"held back {ED} (box): not approved (hub.yaml approval: required" in held.stdout
    assert f"run stormhub approve {ED} --by NAME" in held.stdout

    assert run(root, "approve", ED, "--by", "Dana").exit_code == 0
    sent = run(root, "fanout")
    assert sent.exit_code == 0 and "held back" not in sent.stdout
    assert [post["update"] for post in outbox(root)] == [ED]


def test_an_edit_needs_approval_again(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    run(root, "approve", ED, "--by", "Dana")
    run(root, "fanout")
    first = outbox(root)
    edit(root, "is open on generator power", "is open on mains power")

    held = run(root, "fanout")
    assert "not approved: it changed since Dana approved it" in held.stdout
    assert outbox(root) == first  # the correction did not go out

    run(root, "approve", ED, "--by", "Lee")
    corrected = run(root, "fanout")
    assert corrected.exit_code == 0 and "held back" not in corrected.stdout
    [post] = outbox(root)  # the outbox edits in place
    assert "mains power" in str(post["parts"])
    actions = [e.action for e in audit.entries(root / ".stormhub/ledger.sqlite")]
    assert actions == ["approve", "publish", "approve", "correct"]


def test_only_severities_at_or_above_the_level_wait(make_hub: HubFactory) -> None:
    advisory = (
        "---\ntime: 2026-11-27 07:00\ntitle: Roads wet\nseverity: advisory\n---\nDrive slow.\n"
    )
    root = hub_with(make_hub, "warning", **{"content/updates/roads.md": advisory})
    result = run(root, "fanout")
    assert [post["update"] for post in outbox(root)] == ["roads"]
    assert f"held back {ED}" in result.stdout


def test_a_retraction_never_waits_for_approval(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    run(root, "approve", ED, "--by", "Dana")
    run(root, "fanout")
    result = run(root, "retract", ED, "--reason", "Posted in error.", "--by", "Lee")
    assert result.exit_code == 0, result.output
    assert outbox(root) == []  # the outbox deletes
    assert "held back" not in result.stdout


def test_a_rehearsal_on_the_simulator_does_not_wait(make_hub: HubFactory, tmp_path: Path) -> None:
    root = hub_with(make_hub)
    hub = load_hub(root)
    configs: list[ChannelConfig] = [OutboxConfig(name="box", folder=str(tmp_path / "drill"))]
    report = Fanout(hub, configs, tmp_path / "drill.sqlite", rehearsal=True).run()
    assert [o.status for o in report.outcomes] == ["posted"]
    strict = Fanout(hub, configs, tmp_path / "real.sqlite").run()
    assert [o.status for o in strict.outcomes] == ["skipped"]


def test_approvals_survive_in_the_ledger(make_hub: HubFactory) -> None:
    root = hub_with(make_hub)
    run(root, "approve", ED, "--by", "Dana")
    run(root, "approve", ED, "--by", "Lee")
    from hub.approvals import approved

    with Ledger(root / ".stormhub/ledger.sqlite") as ledger:
        revision = load_hub(root).update(ED).revision
        assert approved(ledger) == {ED: {revision: ["Dana", "Lee"]}}
