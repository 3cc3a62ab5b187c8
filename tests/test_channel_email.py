"""The email adapter over real SMTP, against the loopback aiosmtpd simulator."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from hub.channels import make_channel
from hub.channels.base import PublishError
from hub.channels.email import EmailChannel, ehlo_name
from hub.config import EmailConfig
from hub.content import load_hub
from hub.fanout import delivery_key
from hub.model import Hub
from hub.simulator import status
from hub.simulator.core import Fault
from hub.simulator.email import SmtpSim
from hub.text import plain_text
from tests.channels.email import ENV, make
from tests.conftest import ROOT

PASSWORD = ENV["SMTP_PASSWORD"]


@pytest.fixture(scope="module")
def hub() -> Hub:
    return load_hub(ROOT)


@pytest.fixture
def sim() -> Iterator[SmtpSim]:
    platform = SmtpSim()
    platform.password = PASSWORD  # only the test password logs in
    platform.require_login = True
    platform.serve()
    try:
        yield platform
    finally:
        platform.shutdown()


@pytest.fixture
def config(sim: SmtpSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmailConfig:
    config, env = make(sim.url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return config


@pytest.fixture
def channel(config: EmailConfig, hub: Hub) -> Iterator[EmailChannel]:
    made = make_channel(config, hub)
    assert isinstance(made, EmailChannel)
    yield made
    made.close()


def _text(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no text/{kind} part"
    assert isinstance(part, EmailMessage)
    content = part.get_content()
    assert isinstance(content, str)
    return content


def _header(message: EmailMessage, name: str) -> str:
    """A header's value as mail clients show it: long ones arrive folded."""
    return " ".join(str(message[name]).split())


def test_a_delivered_message_has_both_parts_the_permalink_and_a_stable_id(
    channel: EmailChannel, sim: SmtpSim, hub: Hub
) -> None:
    update = next(u for u in hub.updates if u.severity.label == "Warning")
    post = channel.render(update)
    key = delivery_key(update.id, channel.name, "post")
    receipt = channel.publish(post, key)

    assert receipt.remote_id == f"<{key}@portalderhealth.example>"
    assert receipt.url == post.link == hub.url(hub.update_path(update))
    (delivered,) = sim.delivered
    message = delivered.message
    assert message.get_content_type() == "multipart/alternative"
    assert _header(message, "Message-ID") == receipt.remote_id
    assert message["From"] == "Port Alder Health <alerts@portalderhealth.example>"
    assert message["To"] == "list@portalder.example"
    assert message["Date"] is not None
    assert _header(message, "Subject") == f"[Warning] {update.title}"
    assert sim.describe() == [f"[Warning] {update.title}"]
    assert delivered.mail_from == "alerts@portalderhealth.example"
    assert delivered.rcpt_tos == ("list@portalder.example",)
    assert delivered.login == "hub"

    text, page = _text(message, "plain"), _text(message, "html")
    assert update.title in text and post.link in text
    assert text.rstrip().endswith(post.link)
    assert f'href="{post.link}"' in page
    assert "<h1>" in page and update.title.split()[0] in page
    assert "…" not in text  # not cut: an email is not length-limited

    # The same delivery sent again (a retry after a crash) has the same Message-ID.
    again = channel.publish(channel.render(update), key)
    assert again.remote_id == receipt.remote_id
    assert _header(sim.messages[1], "Message-ID") == receipt.remote_id
    other = channel.publish(post, delivery_key(update.id, "other", "post"))
    assert other.remote_id != receipt.remote_id


def test_ehlo_names_this_host_without_asking_dns(
    channel: EmailChannel, sim: SmtpSim, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dns(name: str = "") -> str:
        raise AssertionError("socket.getfqdn() asks DNS, which can take seconds")

    monkeypatch.setattr(socket, "getfqdn", no_dns)
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")  # not qualified
    channel.publish(channel.render(hub.updates[0]), "stormhub-ehlo-1")
    monkeypatch.setattr(socket, "gethostname", lambda: "relay1.portalderhealth.example")
    channel.publish(channel.render(hub.updates[0]), "stormhub-ehlo-2")
    assert [d.helo for d in sim.delivered] == ["[127.0.0.1]", "relay1.portalderhealth.example"]


def test_ehlo_gives_an_ipv6_address_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "localhost")
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:
        pytest.skip("no IPv6 here")
    with sock:
        try:
            sock.connect(("::1", 9))  # UDP: nothing is sent, the local address is set
        except OSError:
            pytest.skip("no IPv6 loopback here")
        assert ehlo_name(sock) == "[IPv6:::1]"


def test_a_message_waits_on_nothing_fixed(channel: EmailChannel, sim: SmtpSim, hub: Hub) -> None:
    # A few ms each here. A fixed stall per connection (Nagle on the simulator's EHLO reply
    # was 40 ms, a slow getfqdn() seconds) would make even the quickest of them slow.
    post = channel.render(hub.updates[0])
    took = []
    for number in range(5):
        started = time.perf_counter()
        channel.publish(post, f"stormhub-quick-{number}")
        took.append(time.perf_counter() - started)
    assert min(took) < 0.03
    assert len(sim.delivered) == 5


def test_a_correction_threads_under_the_original(
    channel: EmailChannel, sim: SmtpSim, hub: Hub
) -> None:
    update = hub.updates[2]
    original = channel.publish(channel.render(update), "stormhub-original")
    corrected = update.model_copy(update={"body": update.body + "\n\nCorrected: 4 p.m."})
    fixed = channel.correct(original, channel.render_correction(corrected), "stormhub-fix")

    assert fixed.remote_id == "<stormhub-fix@portalderhealth.example>"
    first, second = sim.messages
    assert _header(second, "In-Reply-To") == original.remote_id == _header(first, "Message-ID")
    assert _header(second, "References") == original.remote_id
    assert "In-Reply-To" not in first
    assert _header(second, "Subject") == f"Correction: {update.title}"
    assert "Corrected: 4 p.m." in _text(second, "plain")
    assert "replaces an earlier version" in _text(second, "html")


def test_a_superseding_correction_is_not_marked_twice(
    channel: EmailChannel, sim: SmtpSim, hub: Hub
) -> None:
    update = next(u for u in hub.updates if u.supersedes)
    assert update.supersedes is not None and update.title.startswith("Correction:")
    old = channel.publish(channel.render(hub.update(update.supersedes)), "stormhub-old")
    channel.reply(old, channel.render_correction(update), "stormhub-new")

    message = sim.messages[1]
    assert _header(message, "Subject") == update.title
    assert _header(message, "In-Reply-To") == old.remote_id
    assert not _text(message, "plain").startswith("Correction: Correction:")


def test_a_retraction_threads_under_the_original_without_its_text(
    channel: EmailChannel, sim: SmtpSim, hub: Hub
) -> None:
    update = hub.updates[3]
    original = channel.publish(channel.render(update), "stormhub-sent")
    retracted = update.model_copy(
        update={"retracted": update.time + dt.timedelta(hours=1), "retraction": "Sent in error."}
    )
    channel.retract(original, retracted, "stormhub-retract")

    notice = sim.messages[1]
    assert _header(notice, "Subject") == f"Retracted: {update.title}"
    assert _header(notice, "In-Reply-To") == original.remote_id
    text = _text(notice, "plain")
    assert "Please disregard this update. Sent in error." in text
    assert plain_text(update.body)[:60] not in text
    assert "Sent in error." in _text(notice, "html")


def test_several_recipients_do_not_see_each_other(
    config: EmailConfig, sim: SmtpSim, hub: Hub
) -> None:
    two = config.model_copy(
        update={"recipients": ("a@portalder.example", "Ops <b@portalder.example>")}
    )
    channel = make_channel(two, hub)
    channel.publish(channel.render(hub.updates[0]), "stormhub-two")

    (delivered,) = sim.delivered
    assert delivered.rcpt_tos == ("a@portalder.example", "b@portalder.example")
    assert "a@portalder.example" not in delivered.raw.decode()
    assert "Bcc" not in delivered.message


def test_a_wrong_password_is_permanent_names_the_variables_and_leaks_nothing(
    channel: EmailChannel, sim: SmtpSim, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-smtp-password")
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-denied")

    error = caught.value
    assert error.transient is False
    assert error.status == 401
    assert "SMTP_USERNAME" in str(error) and "SMTP_PASSWORD" in str(error)
    assert "wrong-smtp-password" not in str(error)
    assert PASSWORD not in str(error)
    assert sim.delivered == []


def test_a_missing_login_is_a_401_too(config: EmailConfig, sim: SmtpSim, hub: Hub) -> None:
    anonymous = config.model_copy(update={"username": None, "password": None})
    channel = make_channel(anonymous, hub)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-anonymous")
    assert caught.value.status == 401
    assert caught.value.transient is False
    assert "530" in str(caught.value)


def test_an_unset_variable_is_named_and_permanent(
    channel: EmailChannel, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMTP_PASSWORD")
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-unset")
    assert caught.value.transient is False
    assert "SMTP_PASSWORD" in str(caught.value)


@pytest.mark.parametrize(
    ("fault", "transient", "code", "retry_after"),
    [
        (status(429, **{"Retry-After": "120"}), True, 429, 120.0),
        (status(503), True, 500, None),
        (status(403), False, 400, None),
        (Fault("drop"), True, None, None),
        (Fault("timeout", seconds=2.0), True, None, None),
    ],
    ids=["421-try-again", "451", "554", "drop", "timeout"],
)
def test_faults_never_carry_the_password(
    channel: EmailChannel,
    sim: SmtpSim,
    hub: Hub,
    fault: Fault,
    transient: bool,
    code: int | None,
    retry_after: float | None,
) -> None:
    sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-fault")
    error = caught.value
    assert (error.transient, error.status, error.retry_after) == (transient, code, retry_after)
    assert PASSWORD not in str(error) and "hub" not in str(error).split()
    assert sim.delivered == []
    # The next message goes through: the fault was one transaction's.
    channel.publish(channel.render(hub.updates[0]), "stormhub-fault")
    assert len(sim.delivered) == 1


def test_the_password_is_not_in_the_message(channel: EmailChannel, sim: SmtpSim, hub: Hub) -> None:
    for update in hub.updates[:5]:
        channel.publish(channel.render(update), f"stormhub-{update.id}")
    for delivered in sim.delivered:
        assert PASSWORD.encode() not in delivered.raw
    assert all(d.login == "hub" for d in sim.delivered)


def test_retry_hints_in_reply_text(channel: EmailChannel) -> None:
    minutes = channel._reply_error(450, "4.7.1 Too many messages, try again in 2 minutes")
    assert (minutes.transient, minutes.status, minutes.retry_after) == (True, 429, 120.0)
    plain = channel._reply_error(421, "4.3.2 Service shutting down")
    assert (plain.transient, plain.status, plain.retry_after) == (True, 500, None)
    refused = channel._reply_error(550, "5.1.1 No such user")
    assert (refused.transient, refused.status) == (False, 400)


def test_nothing_listening_is_transient(config: EmailConfig, hub: Hub) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    closed = config.model_copy(update={"port": port})
    channel = make_channel(closed, hub)  # constructing does not connect
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-nobody")
    assert caught.value.transient is True
    assert caught.value.status is None


def test_rendering_is_one_part_with_subject_and_html(channel: EmailChannel, hub: Hub) -> None:
    update = hub.updates[0]
    long = update.model_copy(update={"body": "A long night. " * 20_000})
    for item in (update, long):
        post = channel.render(item)
        assert len(post.parts) == 1
        assert post.lengths[0] <= channel.max_chars
        assert post.parts[0].endswith(post.link)
        assert post.subject.startswith(f"[{item.severity.label}] ")
        assert post.link in post.html
    assert channel.render(long).parts[0].count("A long night.") < 20_000


def test_a_sender_without_a_domain_is_refused_at_construction(
    config: EmailConfig, hub: Hub
) -> None:
    with pytest.raises(ValueError, match="sender"):
        EmailChannel(config.model_copy(update={"sender": "Port Alder Health"}), hub)
