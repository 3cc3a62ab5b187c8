"""One contract, every adapter: through the real SDK, against the loopback simulator.

Each channel type has a module ``tests/channels/<type>.py`` with ``make(url, tmp)``
returning its config and the environment it needs, pointed at the simulator.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.channels import make_channel
from hub.channels.base import Channel, PublishError
from hub.content import load_hub
from hub.model import Hub
from hub.simulator import Simulator, platform_for, status
from hub.simulator.core import Fault
from tests.channels import TYPES
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def hub() -> Hub:
    return load_hub(ROOT)


@pytest.fixture(params=TYPES)
def rig(
    request: pytest.FixtureRequest, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Channel[Any], Simulator]]:
    kind = request.param
    setup = importlib.import_module(f"tests.channels.{kind}")
    platform = platform_for(kind)
    assert platform is not None, f"no simulated platform for {kind}"
    with Simulator([platform]) as sim:
        config, env = setup.make(sim.url(platform.name), tmp_path)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        channel = make_channel(config, hub)
        try:
            yield channel, sim
        finally:
            channel.close()


def test_render_fits_every_sample_update(rig: tuple[Channel[Any], Simulator], hub: Hub) -> None:
    channel, _ = rig
    for update in hub.updates:
        for post in (channel.render(update), channel.render_correction(update)):
            assert all(length <= post.limit for length in post.lengths), update.id
            assert post.lengths == tuple(channel.length(p) for p in post.parts)
            assert post.link in "".join(post.parts)


def test_publish_returns_a_receipt_and_the_platform_has_it(
    rig: tuple[Channel[Any], Simulator], hub: Hub
) -> None:
    channel, sim = rig
    update = hub.updates[0]
    receipt = channel.publish(channel.render(update), "stormhub-contract-1")
    assert receipt.remote_id
    platform = next(iter(sim.platforms.values()))
    assert any(update.title in line for line in platform.describe())
    if channel.supports_edit:
        edited = channel.edit(receipt, channel.render_correction(update))
        assert edited.remote_id == receipt.remote_id
    if channel.supports_delete:
        channel.delete(receipt)
        assert not any(update.title in line for line in platform.describe())


@pytest.mark.parametrize(
    ("fault", "transient", "code", "retry_after"),
    [
        (status(401, {"error": "unauthorized"}), False, 401, None),
        (status(429, {"error": "slow down"}, **{"Retry-After": "7"}), True, 429, 7.0),
        (status(500, {"error": "boom"}), True, 500, None),
        (Fault("timeout", seconds=2.0), True, None, None),
    ],
    ids=["401", "429", "500", "timeout"],
)
def test_errors_map_to_publish_errors(
    rig: tuple[Channel[Any], Simulator],
    hub: Hub,
    fault: Fault,
    transient: bool,
    code: int | None,
    retry_after: float | None,
) -> None:
    channel, sim = rig
    platform = next(iter(sim.platforms.values()))
    post = channel.render(hub.updates[1])
    platform.inject(*[fault] * 3)  # enough for an SDK that retries on its own
    with pytest.raises(PublishError) as caught:
        channel.publish(post, "stormhub-contract-2")
    error = caught.value
    assert error.transient is transient
    assert error.status == code
    if retry_after is not None:
        assert error.retry_after == pytest.approx(retry_after, abs=1)
    if code == 401:
        assert "credentials" in str(error)
