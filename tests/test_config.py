"""channels.yaml: validated like content, secrets only from the environment."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.config import CONFIG_TYPES, MastodonConfig, load_channels
from hub.errors import ContentError
from tests.conftest import ROOT, HubFactory

KNOWN = ", ".join(CONFIG_TYPES)  # outbox, x, mastodon, ...

MASTODON = """\
channels:
  - name: masto
    type: mastodon
    api_base_url: https://social.example
    access_token: ${MASTODON_ACCESS_TOKEN}
"""


def problems(make_hub: HubFactory, text: str) -> list[str]:
    root = make_hub({"channels.yaml": text})
    with pytest.raises(ContentError) as caught:
        load_channels(root)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            MASTODON.replace("${MASTODON_ACCESS_TOKEN}", "abc123secret"),
            "channels.yaml:5:5: access_token: secrets must not be written in channels.yaml: put "
            "the value in an environment variable and write its name here, e.g. ${X_API_KEY}",
            id="literal-secret",
        ),
        pytest.param(
            MASTODON + "    visbility: public\n",
            "channels.yaml:6:5: visbility: unknown key 'visbility': did you mean 'visibility'? "
            "(allowed: name, type, enabled, min_severity, tags, backfill, hashtags, timeout, "
            "drill, language, api_base_url, access_token, max_characters, visibility, long_posts)",
            id="unknown-key",
        ),
        pytest.param(
            MASTODON.replace("type: mastodon", "type: mastadon"),
            "channels.yaml:3:5: type: unknown channel type 'mastadon': did you mean 'mastodon'? "
            f"(known: {KNOWN})",
            id="unknown-type",
        ),
        pytest.param(
            MASTODON + MASTODON.removeprefix("channels:\n"),
            "channels.yaml:6:5: name: duplicate channel name 'masto' (also at line 2): rename one",
            id="duplicate-name",
        ),
        pytest.param(
            MASTODON.replace("    api_base_url: https://social.example\n", ""),
            "channels.yaml:2:5: api_base_url: required key 'api_base_url' is missing: add it",
            id="missing-key",
        ),
        pytest.param(
            MASTODON + "    min_severity: severe\n",
            "channels.yaml:6:5: min_severity: Input should be 'info', 'advisory', 'warning' or "
            "'emergency' (got 'severe')",
            id="bad-severity",
        ),
    ],
)
def test_bad_channels_yaml(make_hub: HubFactory, text: str, expected: str) -> None:
    assert problems(make_hub, text) == [expected]


def test_check_reports_content_and_channels_together(make_hub: HubFactory) -> None:
    root = make_hub(
        {
            "channels.yaml": MASTODON.replace("type: mastodon", "type: nope"),
            "content/updates/x.md": "no front matter\n",
        }
    )
    result = CliRunner().invoke(main, ["check", "--hub", str(root)])
    assert result.exit_code == 2
    assert result.output.splitlines()[:2] == [
        f"channels.yaml:3:5: type: unknown channel type 'nope': (known: {KNOWN})",
        "content/updates/x.md:1:1: front matter: missing: start the file with a '---' line, "
        "the YAML fields, then '---'",
    ]


def test_missing_environment_is_named_never_valued(
    make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub({"channels.yaml": MASTODON})
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["check", "--hub", str(root)])
    assert result.exit_code == 0
    assert (
        "warning: channels.yaml:2:5: masto: environment variable MASTODON_ACCESS_TOKEN not set: "
        "set it or set enabled: false"
    ) in result.output
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "s3cr3t-token-value")
    result = CliRunner().invoke(main, ["check", "--hub", str(root)])
    assert "warning" not in result.output
    assert "s3cr3t-token-value" not in result.output
    config = load_channels(root)[0]
    assert isinstance(config, MastodonConfig)
    assert config.secret("access_token").get_secret_value() == "s3cr3t-token-value"
    assert "s3cr3t-token-value" not in repr(config.secret("access_token"))


def test_shipped_channels_yaml_lists_every_type() -> None:
    from hub.config import CONFIG_TYPES

    configs = load_channels(ROOT)
    assert {c.type for c in configs} == set(CONFIG_TYPES)
    assert all(c.env_names() or c.type == "outbox" for c in configs)
