"""The ``sms`` channel through twilio-python against the loopback Twilio simulator."""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from hub.channels import make_channel
from hub.channels.base import PublishError, Receipt
from hub.channels.sms import SmsChannel, mask, segments, sms_text
from hub.config import SmsConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.twilio import TwilioSim
from tests.channels.sms import ACCOUNT_SID, AUTH_TOKEN, RECIPIENTS, SENDER, make
from tests.conftest import NOW, HubFactory

FAST = RetryPolicy(attempts=4, base=0.001, cap=0.01, budget=1.0)
SERVICE = "MG" + "ab" * 16
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: the shelter at Lincoln High School has cots, water and power "
    f"for {n * 40} people; bring medicines, chargers and ID. Pets are welcome in carriers."
    for n in range(1, 7)
)
CURLY = "The clinic\u2019s doors open at 8 \u2013 bring your \u201ccard\u201d\u2026 and ID."
FILES = {
    "content/updates/long.md": UPDATE.format(
        time="08:00", title="Shelters open tonight", severity="warning", body=LONG_BODY
    ),
    "content/updates/curly.md": UPDATE.format(
        time="09:00", title="Clinic\u2019s hours \u2013 Friday", severity="info", body=CURLY
    ),
}


@dataclass
class Rig:
    channel: SmsChannel
    sim: TwilioSim
    config: SmsConfig

    def creates(self) -> list[Any]:
        return [r for r in self.sim.received if r.method == "POST"]

    def lists(self) -> list[Any]:
        return [r for r in self.sim.received if r.method == "GET"]

    def texted(self) -> list[int]:
        """How many messages each recipient holds, in config order."""
        return [len(self.sim.to(r)) for r in RECIPIENTS]


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    return load_hub(make_hub(FILES))


@pytest.fixture
def sim() -> Iterator[TwilioSim]:
    platform = TwilioSim(account_sid=ACCOUNT_SID, token=AUTH_TOKEN)
    with Simulator([platform]):
        yield platform


OFFLINE = "http://127.0.0.1:9"  # rendering never connects


def build(
    sim: TwilioSim | None, hub: Hub, tmp_path: Path, **changes: Any
) -> tuple[SmsChannel, SmsConfig]:
    config, _ = make(sim.url if sim is not None else OFFLINE, tmp_path)
    config = SmsConfig(**{**config.model_dump(), **changes})
    channel = make_channel(config, hub)
    assert isinstance(channel, SmsChannel)
    return channel, config


@pytest.fixture
def channel(hub: Hub, tmp_path: Path) -> SmsChannel:
    """A channel only to render with: no simulator, no credentials."""
    return build(None, hub, tmp_path)[0]


@pytest.fixture
def rig(sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    channel, config = build(sim, hub, tmp_path)
    try:
        yield Rig(channel, sim, config)
    finally:
        channel.close()


# --- counting segments -------------------------------------------------------------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, 8 UTF-16 units
GRIN = "\U0001f600"  # outside the BMP: a surrogate pair, 2 units

SEGMENT_TABLE = [
    # text, encoding, units, segments
    ("", "GSM-7", 0, 0),
    ("Hello", "GSM-7", 5, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),  # 153 * 2
    ("a" * 307, "GSM-7", 307, 3),  # Twilio's calculator test: 153 + 153 + 1
    ("a" * 459, "GSM-7", 459, 3),
    ("a" * 460, "GSM-7", 460, 4),
    ("\r\n" * 80, "GSM-7", 160, 1),  # CR and LF are both in the alphabet
    ("{" + "2" * 158, "GSM-7", 160, 1),  # calculator test: an escape inside one segment
    ("{" + "2" * 159, "GSM-7", 161, 2),
    ("\u20ac" * 80, "GSM-7", 160, 1),  # the euro sign is in the extension table
    ("\u20ac" * 80 + "a", "GSM-7", 161, 2),
    ("^{}\\[~]|\u20ac\f", "GSM-7", 20, 1),  # every extension character: 2 septets
    ("{" + "a" * 304, "GSM-7", 306, 2),  # the escape pair at the start: 153 + 153
    ("a" * 152 + "{" + "a" * 152, "GSM-7", 306, 3),  # the pair would straddle 153: 152 + 154
    ("a" * 152 + "\u20ac" + "a" * 152, "GSM-7", 306, 3),
    ("\u0394\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e", "GSM-7", 10, 1),  # Greek caps
    ("\u00e9\u00e8\u00c7\u00c4\u00d6\u00dc\u00df\u00bf\u00a1\u00a7", "GSM-7", 10, 1),
    ("\u00e7" + "a" * 69, "UCS-2", 70, 1),  # ç is not in GSM-7 (only Ç is)
    ("\u00e7" + "a" * 70, "UCS-2", 71, 2),
    (GRIN + "2" * 68, "UCS-2", 70, 1),  # calculator test: one emoji, 70 units, one segment
    (GRIN + "2" * 69, "UCS-2", 71, 2),
    (GRIN + "2" * 133, "UCS-2", 135, 3),  # calculator test: 67 + 67 + 1
    ("\u00e7" * 134, "UCS-2", 134, 2),  # 67 * 2
    ("\u00e7" * 135, "UCS-2", 135, 3),
    (GRIN * 35, "UCS-2", 70, 1),
    (GRIN * 67, "UCS-2", 134, 3),  # pairs are not split: 33 + 33 + 1 emoji (66 + 66 + 2)
    ("a" * 66 + GRIN + "a" * 66, "UCS-2", 134, 3),  # a surrogate pair at the boundary
    ("a" * 60 + FAMILY + "a" * 60, "UCS-2", 128, 3),  # a ZWJ sequence moves whole
    ("\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440", "UCS-2", 10, 1),  # Cyrillic
    ("Typhoon \u53f0\u98ce warning \u0625\u0646\u0630\u0627\u0631", "UCS-2", 24, 1),  # mixed
    ("\u03b1\u03b2\u03b3", "UCS-2", 3, 1),  # Greek small letters are not in GSM-7
    ("a\u00a0b", "UCS-2", 3, 1),  # a no-break space, as written
    ("It\u2019s \u201copen\u201d", "UCS-2", 11, 1),  # curly quotes, as written
    ("tab\there", "UCS-2", 8, 1),  # a tab is not in GSM-7 either
    ("`code`", "UCS-2", 6, 1),
]


@pytest.mark.parametrize(("text", "encoding", "units", "count"), SEGMENT_TABLE)
def test_segments_count_like_twilio(text: str, encoding: str, units: int, count: int) -> None:
    result = segments(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, count)
    if count > 1:
        assert result.per_segment == (153 if encoding == "GSM-7" else 67)
    else:
        assert result.per_segment == (160 if encoding == "GSM-7" else 70)


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("It\u2019s \u201copen\u201d", 'It\'s "open"'),
        ("8 \u2013 10, then \u2014 maybe\u2026", "8 - 10, then - maybe..."),
        ("a\u00a0b\u202fc\u2009d\te", "a b c d e"),
        ("co\u00adop\u200b\ufeff", "coop"),
        ("\u2022 water", "- water"),
    ],
)
def test_look_alikes_become_gsm_characters(written: str, sent: str) -> None:
    assert sms_text(written) == sent
    assert segments(written).encoding == "UCS-2"
    assert segments(sent).encoding == "GSM-7"


def test_one_curly_quote_would_more_than_double_the_cost() -> None:
    text = "Shelter open. " * 21 + "It\u2019s at Lincoln High."  # 316 characters
    assert segments(text).segments == 5  # UCS-2
    assert segments(sms_text(text)).segments == 3  # GSM-7


def test_mask_keeps_only_the_last_four_digits() -> None:
    assert mask("+17575550142") == "+*******0142"
    assert mask("+447911123456") == "+********3456"


# --- configuration -----------------------------------------------------------------------


def test_config_needs_exactly_one_sender_and_valid_distinct_numbers(tmp_path: Path) -> None:
    config, _ = make("http://127.0.0.1:9", tmp_path)
    data = config.model_dump()
    with pytest.raises(ValidationError, match="either sender"):
        SmsConfig(**{**data, "messaging_service_sid": SERVICE})
    with pytest.raises(ValidationError, match="either sender"):
        SmsConfig(**{**data, "sender": None})
    assert SmsConfig(**{**data, "sender": None, "messaging_service_sid": SERVICE})
    with pytest.raises(ValidationError, match="ending 0142 twice"):
        SmsConfig(**{**data, "recipients": (RECIPIENTS[0], RECIPIENTS[0])})
    with pytest.raises(ValidationError, match="not a valid phone number"):
        SmsConfig(**{**data, "recipients": ("+1555",)})
    with pytest.raises(ValidationError):
        SmsConfig(**{**data, "max_segments": 11})
    assert SmsConfig(**{**data, "recipients": ("+1 (757) 555-0142",)}).recipients == (
        "+17575550142",
    )
    drill = config.drill_secret("account_sid", "http://x")
    assert drill.startswith("AC") and len(drill) == 34


# --- rendering ---------------------------------------------------------------------------


def test_constructing_and_rendering_need_no_credentials_nor_network(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    channel, _ = build(sim, hub, tmp_path)
    posts = [channel.render(u) for u in hub.updates]
    assert sim.received == []
    with pytest.raises(PublishError) as caught:
        channel.publish(posts[0], "stormhub-k")
    assert "TWILIO_ACCOUNT_SID not set" in str(caught.value)
    assert not caught.value.transient and caught.value.fatal
    assert sim.received == []
    channel.close()


def test_a_short_update_goes_in_full(channel: SmsChannel, hub: Hub) -> None:
    update = hub.update("2026-11-27-0615-ed-open")
    post = channel.render(update)
    assert post.text == (
        "WARNING: Emergency Department open\n\n"
        "The Emergency Department is open on generator power.\n\n" + post.link
    )
    assert post.limit == 4 and post.lengths == (1,) and post.extra["encoding"] == "GSM-7"


def test_a_long_update_sends_the_short_form(channel: SmsChannel, hub: Hub) -> None:
    update = hub.update("long")
    assert segments(channel.body_text(update)).segments > 4
    post = channel.render(update)
    assert post.text == f"WARNING: Shelters open tonight\n\n{post.link}"
    assert post.lengths == (1,)
    correction = channel.render_correction(update)
    assert correction.text == f"Correction: Shelters open tonight\n\n{post.link}"
    retraction = channel.render(update, retraction=True)
    assert retraction.text.startswith("Retracted: Shelters open tonight. Please disregard")


def test_more_segments_allowed_sends_the_full_text(hub: Hub, tmp_path: Path) -> None:
    channel, _ = build(None, hub, tmp_path, max_segments=10)
    post = channel.render(hub.update("long"))
    assert "Paragraph 6" in post.text and post.link in post.text
    assert 4 < post.lengths[0] <= 10 == post.limit


def test_curly_quotes_are_sent_as_gsm7(channel: SmsChannel, hub: Hub) -> None:
    post = channel.render(hub.update("curly"))
    assert post.text.startswith("Clinic's hours - Friday\n\nThe clinic's doors open at 8 - ")
    assert '"card"... and ID.' in post.text
    assert post.extra["encoding"] == "GSM-7" and post.lengths == (1,)


def test_a_title_too_long_for_one_segment_is_cut_at_a_word(
    make_hub: HubFactory, tmp_path: Path
) -> None:
    title = "Emergency shelter update " + " ".join(["for the eastern districts"] * 8)
    hub = load_hub(
        make_hub(
            {
                "content/updates/t.md": UPDATE.format(
                    time="10:00", title=title, severity="emergency", body=LONG_BODY
                )
            }
        )
    )
    channel, _ = build(None, hub, tmp_path, max_segments=1)
    post = channel.render(hub.update("t"))
    assert post.text.startswith("EMERGENCY: Emergency shelter update for the eastern")
    head = post.text.split("\n\n")[0]
    assert head.endswith("...") and not head.endswith(" ...")
    assert post.lengths == (1,) and post.text.endswith(post.link)
    assert segments(head + "x\n\n" + post.link).units > 155  # it was cut close to the limit


def test_emoji_in_a_title_counts_as_ucs2(make_hub: HubFactory, tmp_path: Path) -> None:
    hub = load_hub(
        make_hub(
            {
                "content/updates/e.md": UPDATE.format(
                    time="10:00",
                    title="Power is back \u26a1\U0001f600",
                    severity="info",
                    body="All three campuses are on utility power again.",
                )
            }
        )
    )
    channel, _ = build(None, hub, tmp_path, max_segments=1)
    post = channel.render(hub.update("e"))
    count = segments(post.text)
    assert count.encoding == "UCS-2" and post.lengths == (count.segments,) == (1,)
    assert post.text.startswith("Power is back \u26a1\U0001f600\n\n")  # short form: 70 units


def test_every_sample_update_fits_one_segment(sample_hub: Hub, tmp_path: Path) -> None:
    config, _ = make("http://127.0.0.1:9", tmp_path)
    channel = make_channel(SmsConfig(**{**config.model_dump(), "max_segments": 1}), sample_hub)
    for update in sample_hub.updates:
        for post in (channel.render(update), channel.render_correction(update)):
            assert post.lengths == (1,) and post.link in post.text, update.id


# --- the wire ------------------------------------------------------------------------------


def test_one_message_per_recipient_as_twilio_takes_it(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("curly"))
    receipt = rig.channel.publish(post, "stormhub-one")
    assert rig.lists() == []  # a first try looks nothing up
    # Sent at once: they arrive in any order, each recipient once.
    creates = sorted(rig.creates(), key=lambda r: RECIPIENTS.index(r.form["To"][0]))
    assert len(creates) == 3
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    for request, recipient in zip(creates, RECIPIENTS, strict=True):
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        assert request.headers["authorization"] == f"Basic {basic}"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.headers["user-agent"].startswith("twilio-python/")
        form = {k: v[0] for k, v in request.form.items()}
        assert form == {"To": recipient, "From": SENDER, "Body": post.text}
    sids = tuple(m.sid for r in RECIPIENTS for m in rig.sim.to(r))
    assert receipt == Receipt(remote_id=sids[0], url=None, ids=sids)
    assert all(len(s) == 34 and s.startswith("SM") for s in sids)
    lines = rig.sim.describe()
    assert len(lines) == 3 and all("Clinic's hours - Friday" in line for line in lines)
    assert "+*******0142" in "".join(lines) and "+17575550142" not in "".join(lines)


def test_a_messaging_service_sends_instead_of_a_number(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    channel, _ = build(sim, hub, tmp_path, sender=None, messaging_service_sid=SERVICE)
    post = channel.render(hub.update("curly"))
    receipt = channel.publish(post, "stormhub-service")
    forms = sorted(({k: v[0] for k, v in r.form.items()} for r in sim.received), key=str)
    assert forms == [
        {"To": number, "MessagingServiceSid": SERVICE, "Body": post.text}
        for number in sorted(RECIPIENTS)
    ]
    assert len(receipt.ids) == 3
    found = channel.find(post)  # filtered by To only: the service picked the sender
    assert found is not None and found.ids == receipt.ids
    lists = [r for r in sim.received if r.method == "GET"]
    assert len(lists) == 3 and not any("From" in r.query for r in lists)
    channel.close()


def test_edit_and_delete_are_not_offered(channel: SmsChannel) -> None:
    assert not channel.supports_edit and not channel.supports_delete
    assert channel.can_find and not channel.idempotent


# --- errors --------------------------------------------------------------------------------


def test_a_wrong_token_is_fatal_and_names_the_variables_not_the_secret(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token-SECRET-9f8e")
    channel, _ = build(sim, hub, tmp_path)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-k")
    error = caught.value
    assert error.fatal and not error.transient and error.status == 401
    assert "rejected the credentials" in str(error)
    assert "TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN" in str(error)
    assert "20003: Authenticate" in str(error)
    assert "SECRET" not in str(error) and ACCOUNT_SID not in str(error)
    # One request per recipient, all sent at once; no retry behind our back.
    assert sorted(r.form["To"][0] for r in sim.received) == sorted(RECIPIENTS)
    channel.close()


def test_429_with_retry_after_is_transient_and_waits(rig: Rig, hub: Hub) -> None:
    body = {"code": 20429, "message": "Too Many Requests", "more_info": "x", "status": 429}
    rig.sim.inject(status(429, body, **{"Retry-After": "12"}))
    post = rig.channel.render(hub.updates[0])
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-k")
    # Read from the 429's own headers, not from a 201 answered beside it.
    assert caught.value.transient and caught.value.status == 429
    assert caught.value.retry_after == pytest.approx(12)
    assert len(rig.sim.received) == 3  # requests did not retry the 429 itself
    assert sorted(rig.texted()) == [0, 1, 1]
    rig.channel.publish(post, "stormhub-k")  # a 429 is no lost answer: nothing to look up
    assert rig.lists() == [] and rig.texted() == [1, 1, 1]


def test_429_without_retry_after_leaves_the_wait_to_the_fanout(rig: Rig, hub: Hub) -> None:
    body = {"code": 20429, "message": "Too Many Requests", "more_info": "x", "status": 429}
    rig.sim.inject(status(429, body))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.updates[0]), "stormhub-k")
    assert caught.value.transient and caught.value.retry_after is None


@pytest.mark.parametrize(
    ("code", "transient", "fatal", "words"),
    [
        (21611, True, False, "queue of messages is full"),
        (21606, False, True, "check sender in channels.yaml"),
        (21602, False, False, "Message body is required."),
    ],
)
def test_twilio_codes_map_to_what_to_do(
    rig: Rig, hub: Hub, code: int, transient: bool, fatal: bool, words: str
) -> None:
    rig.sim.inject(
        status(
            400,
            {"code": code, "message": "Message body is required.", "more_info": "x", "status": 400},
        )
    )
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.updates[0]), "stormhub-k")
    error = caught.value
    assert (error.transient, error.fatal, error.status) == (transient, fatal, 400)
    assert words in str(error) and f"error {code}" in str(error)


def test_the_simulator_enforces_the_1600_character_limit(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.updates[0])
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(replace(post, parts=("x" * 1601,)), "stormhub-k")
    assert "21617" in str(caught.value) and "1600 character limit" in str(caught.value)
    assert not caught.value.transient


@pytest.mark.parametrize(
    "fault",
    [
        status(500, {"code": 20500, "message": f"boom {AUTH_TOKEN} for +17575550142"}),
        status(400, {"code": 21000, "message": f"bad {ACCOUNT_SID} to +17575550142"}),
        Fault("drop"),
    ],
    ids=["500", "400", "drop"],
)
def test_no_secret_nor_number_in_errors(rig: Rig, hub: Hub, fault: Fault) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.updates[0]), "stormhub-k")
    text = str(caught.value)
    for secret in (AUTH_TOKEN, ACCOUNT_SID, "+17575550142"):
        assert secret not in text


# --- one recipient refused ---------------------------------------------------------------


def test_refused_recipients_are_skipped_and_named_masked(
    rig: Rig, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    rig.sim.unsubscribed.add(RECIPIENTS[0])
    rig.sim.landlines.add(RECIPIENTS[2])
    with caplog.at_level(logging.WARNING, logger="hub.channels.sms"):
        receipt = rig.channel.publish(rig.channel.render(hub.updates[0]), "stormhub-k")
    assert receipt.ids == tuple(m.sid for m in rig.sim.to(RECIPIENTS[1]))
    assert len(rig.creates()) == 3 and len(rig.sim.messages) == 1
    logged = caplog.text
    assert "not sent to 2 of 3 recipients" in logged
    assert "+*******0142 (21610: the recipient replied STOP" in logged
    assert "+********3456 (21614: not a mobile number)" in logged
    assert RECIPIENTS[0] not in logged and RECIPIENTS[2] not in logged


def test_every_recipient_refused_is_a_permanent_failure(rig: Rig, hub: Hub) -> None:
    rig.sim.unsubscribed.update(RECIPIENTS[:2])
    rig.sim.blocked_prefixes = ("+44",)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(rig.channel.render(hub.updates[0]), "stormhub-k")
    text = str(caught.value)
    assert not caught.value.transient and not caught.value.fatal
    assert "refused the message for every recipient" in text
    assert "+********3456 (21408: sending to its country or region is not enabled" in text
    assert not any(number in text for number in RECIPIENTS)


# --- exactly once --------------------------------------------------------------------------


def test_a_retry_after_a_failure_mid_list_sends_only_to_the_rest(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.updates[0])
    rig.sim.inject(Fault("delay"), status(500, {"code": 20500, "message": "Internal"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-k")
    assert caught.value.transient and caught.value.status == 500
    assert sorted(rig.texted()) == [0, 1, 1]  # the requests beside the 500 were kept
    (failed,) = [r for r in RECIPIENTS if not rig.sim.to(r)]
    receipt = rig.channel.publish(post, "stormhub-k")
    assert rig.texted() == [1, 1, 1]
    # A 500 may hide a message Twilio took: the retry looked for it, then sent it.
    assert [r.query["To"][0] for r in rig.lists()] == [failed]
    assert [r.form["To"][0] for r in rig.creates()[3:]] == [failed]
    assert receipt.ids == tuple(m.sid for r in RECIPIENTS for m in rig.sim.to(r))
    assert rig.channel.publish(post, "stormhub-k") == receipt  # nothing sent again
    assert len(rig.creates()) == 4 and len(rig.lists()) == 1


def test_a_lost_answer_is_looked_up_on_the_retry_not_texted_again(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.updates[0])
    rig.sim.lost_answers = 1  # one message is sent, but its answer is a 500
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(post, "stormhub-k")
    assert caught.value.transient and caught.value.status == 500
    assert rig.texted() == [1, 1, 1] and rig.lists() == []
    receipt = rig.channel.publish(post, "stormhub-k")
    assert rig.texted() == [1, 1, 1]  # found, not sent again
    assert len(rig.lists()) == 1 and len(rig.creates()) == 3
    assert receipt.ids == tuple(m.sid for r in RECIPIENTS for m in rig.sim.to(r))


def test_a_failed_lookup_on_the_retry_sends_nothing(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.updates[0])
    rig.sim.lost_answers = 1
    with pytest.raises(PublishError):
        rig.channel.publish(post, "stormhub-k")
    rig.sim.inject(status(503, {"code": 20500, "message": "Unavailable"}))
    with pytest.raises(PublishError) as caught:  # the lookup fails: still unsure, no text
        rig.channel.publish(post, "stormhub-k")
    assert caught.value.transient and caught.value.status == 503
    assert len(rig.creates()) == 3 and rig.texted() == [1, 1, 1]
    rig.channel.publish(post, "stormhub-k")
    assert len(rig.creates()) == 3 and rig.texted() == [1, 1, 1]
    assert len(rig.lists()) == 2


# --- several at once -----------------------------------------------------------------------

MANY = tuple(f"+1757555{n:04d}" for n in range(110, 130))  # 20 numbers


def test_messages_go_out_at_once_at_most_eight_in_flight(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    channel, _ = build(sim, hub, tmp_path, recipients=MANY[:16])
    sim.latency = 0.25  # per request: one after the other, 16 take 4 s
    try:
        started = time.perf_counter()
        receipt = channel.publish(channel.render(hub.updates[0]), "stormhub-many")
        took = time.perf_counter() - started
    finally:
        channel.close()
    # 8 at a time: two rounds (0.5 s). All 16 at once would take one round (0.25 s).
    assert 0.45 <= took < 2.0
    assert [len(sim.to(r)) for r in MANY[:16]] == [1] * 16
    assert receipt.ids == tuple(sim.to(r)[0].sid for r in MANY[:16])  # in config order


def test_each_sending_thread_has_its_own_client(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests' Session is not thread-safe, and the last headers (Retry-After) are kept on
    # the http client: a shared one could read a 429's wait from a 201 answered beside it.
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    channel, _ = build(sim, hub, tmp_path, recipients=MANY[:8])
    sim.latency = 0.1  # all 8 busy at once
    channel.publish(channel.render(hub.updates[0]), "stormhub-many")
    transports = list(channel._transports)
    channel.close()
    assert len(transports) == 8 and len({id(t.session) for t in transports}) == 8
    assert channel._transports == []  # closed, and forgotten


def test_a_fatal_answer_stops_the_list_after_the_first_eight(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token-0123456789")
    channel, _ = build(sim, hub, tmp_path, recipients=MANY)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[0]), "stormhub-many")
    channel.close()
    assert caught.value.fatal and caught.value.status == 401
    assert len(sim.received) == 8  # those already in flight; none started after the 401


def test_refusals_and_failures_beside_each_other_in_a_long_list(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    channel, _ = build(sim, hub, tmp_path, recipients=MANY)
    sim.unsubscribed.update(MANY[3::5])  # 4 replied STOP
    sim.lost_answers = 2  # and, in the first 8 requests, a dropped connection and a 502
    sim.inject(*[Fault("delay")] * 5, Fault("drop"), status(502, {"code": 20500}))
    post = channel.render(hub.updates[0])
    with pytest.raises(PublishError):
        channel.publish(post, "stormhub-many")
    receipt = channel.publish(post, "stormhub-many")  # looks the 4 unsure ones up first
    channel.close()
    texted = [len(sim.to(r)) for r in MANY]
    assert texted == [0 if r in sim.unsubscribed else 1 for r in MANY]
    methods = [r.method for r in sim.received]
    # 8 at first; then the 4 unsure ones looked up, the 12 never tried and the 2 not found.
    assert (methods.count("GET"), methods.count("POST")) == (4, 8 + 12 + 2)
    assert receipt.ids == tuple(sim.to(r)[0].sid for r in MANY if r not in sim.unsubscribed)


def test_find_matches_each_recipients_newest_messages_by_body(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.updates[0])
    assert rig.channel.find(post) is None
    rig.sim.hold = True  # still queued: no date_sent, so a DateSent filter would miss them
    receipt = rig.channel.publish(post, "stormhub-k")
    lists = [r for r in rig.sim.received if r.method == "GET"]
    assert {r.query["To"][0] for r in lists} == set(RECIPIENTS)
    assert all(r.query["From"] == [SENDER] and r.query["PageSize"] == ["50"] for r in lists)
    assert all("DateSent>" not in r.query for r in lists)
    restarted = make_channel(rig.config, hub)
    assert restarted.find(post) == receipt
    assert restarted.find(rig.channel.render_correction(hub.updates[0])) is None
    restarted.close()


def test_the_sdk_pages_through_the_simulator_on_the_routed_host(rig: Rig, hub: Hub) -> None:
    for number in range(5):
        rig.channel.publish(
            rig.channel.render(hub.updates[number % len(hub.updates)]), f"stormhub-{number}"
        )
    client = rig.channel._api()
    listed = client.messages.list(to=RECIPIENTS[1], page_size=2)
    assert [m.sid for m in listed] == [m.sid for m in reversed(rig.sim.to(RECIPIENTS[1]))]
    pages = [r for r in rig.sim.received if r.method == "GET"]
    assert len(pages) == 3 and pages[1].query["PageToken"][0].startswith("PASM")


def test_no_full_number_in_logs_at_info(
    rig: Rig, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        post = rig.channel.render(hub.updates[0])
        rig.channel.publish(post, "stormhub-k")
        restarted = make_channel(rig.config, hub)
        restarted.find(post)
        restarted.close()
    assert not any(number in caplog.text for number in RECIPIENTS)


# --- through the fan-out -------------------------------------------------------------------


def fanout(hub: Hub, config: SmsConfig, ledger: Path) -> Any:
    return Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()


def test_fanout_sends_once_per_recipient_through_a_failure_mid_list(
    rig: Rig, hub: Hub, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    rig.sim.inject(Fault("delay"), Fault("timeout", seconds=1.5))
    report = fanout(hub, rig.config, ledger)
    assert not report.failed and len(report.outcomes) == len(hub.updates)
    assert [len(rig.sim.to(r)) for r in RECIPIENTS] == [len(hub.updates)] * 3
    assert fanout(hub, rig.config, ledger).outcomes == []
    with Ledger(ledger) as rows:
        row = rows.get(hub.updates[-1].id, "sms")
        assert row is not None and row.state == "delivered" and len(row.remote_ids) == 3


def test_a_run_that_gave_up_mid_list_texts_only_the_rest_next_time(
    rig: Rig, hub: Hub, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    first = hub.updates[-1]  # the oldest: the first delivery of the run
    down = status(503, {"code": 20500, "message": "Internal Server Error", "status": 503})
    # One recipient gets it; Twilio fails the other two and, on each retry, the lookups of
    # those two (a 503 may hide a message taken): the run gives up.
    rig.sim.inject(Fault("delay"), *[down] * (2 * FAST.attempts))
    report = fanout(hub, rig.config, ledger)
    assert [(o.update_id, o.status) for o in report.failed] == [(first.id, "failed")]
    assert sorted(rig.texted()) == [len(hub.updates) - 1] * 2 + [len(hub.updates)]
    # The next run looks the failed delivery up first: that recipient is not texted again.
    again = fanout(hub, rig.config, ledger)
    assert [(o.update_id, o.status) for o in again.outcomes] == [(first.id, "posted")]
    assert rig.texted() == [len(hub.updates)] * 3


def test_fanout_texts_nobody_twice_through_a_lost_answer(
    rig: Rig, hub: Hub, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    rig.sim.lost_answers = 1
    report = fanout(hub, rig.config, ledger)
    assert not report.failed and len(report.outcomes) == len(hub.updates)
    assert rig.texted() == [len(hub.updates)] * 3
    assert len(rig.lists()) == 1  # only the retry of the lost answer looked anything up


def test_fanout_corrects_and_retracts_with_new_messages(
    sim: TwilioSim, make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.authoring import mark_retracted

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    root = make_hub(FILES)
    config, _ = make(sim.url, tmp_path)
    ledger = tmp_path / "ledger.sqlite"
    assert not fanout(load_hub(root), config, ledger).failed
    sent = len(sim.messages)
    (root / "content/updates/curly.md").write_text(
        UPDATE.format(
            time="09:00",
            title="Clinic hours Friday",
            severity="info",
            body="The clinic opens at 9, not 8.",
        )
    )
    report = fanout(load_hub(root), config, ledger)
    assert [(o.update_id, o.status) for o in report.outcomes] == [("curly", "corrected")]
    for number in RECIPIENTS:
        assert sim.to(number)[-1].body.startswith("Correction: Clinic hours Friday\n\nThe clinic")
    mark_retracted(root, "long", "It was posted by mistake.", now=NOW)
    report = fanout(load_hub(root), config, ledger)
    assert [(o.update_id, o.status) for o in report.outcomes] == [("long", "retracted")]
    notice = sim.to(RECIPIENTS[0])[-1].body
    assert notice.startswith("Retracted: Shelters open tonight. Please disregard this update.")
    assert len(sim.messages) == sent + 6
    assert fanout(load_hub(root), config, ledger).outcomes == []


@pytest.mark.parametrize("reached", [3, 1], ids=["all-recipients", "one-recipient"])
def test_a_crash_after_sending_is_recovered_without_texting_anyone_twice(
    rig: Rig, hub: Hub, tmp_path: Path, reached: int
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    first = hub.updates[-1]
    with Ledger(ledger) as rows:  # the crashed run claimed it, and Twilio took some messages
        rows.register(["sms"], NOW)
        rows.claim(first.id, "sms", "post", first.revision)
        rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
    crashed, _ = build(rig.sim, hub, tmp_path, recipients=RECIPIENTS[:reached])
    crashed.publish(crashed.render(first), delivery_key(first.id, "sms", "post"))
    crashed.close()
    report = fanout(hub, rig.config, ledger)
    assert not report.failed
    assert [len(rig.sim.to(r)) for r in RECIPIENTS] == [len(hub.updates)] * 3
    body = rig.channel.render(first).text
    with Ledger(ledger) as rows:
        row = rows.get(first.id, "sms")
        assert row is not None and row.state == "delivered"
        assert row.remote_ids == tuple(
            m.sid for r in RECIPIENTS for m in rig.sim.to(r) if m.body == body
        )


def test_a_rejected_token_fails_the_channel_and_the_ledger_holds_no_secret(
    sim: TwilioSim, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "stale-token-0123456789")
    config, _ = make(sim.url, tmp_path)
    ledger = tmp_path / "ledger.sqlite"
    report = fanout(hub, config, ledger)
    assert len(report.failed) == len(hub.updates)
    # The first delivery's requests, sent at once; fatal: nothing else was tried.
    assert sorted(r.form["To"][0] for r in sim.received) == sorted(RECIPIENTS)
    assert all("TWILIO_AUTH_TOKEN" in (o.error or "") for o in report.outcomes)
    with Ledger(ledger) as rows:
        dump = repr([tuple(r) for r in rows.db.execute("SELECT * FROM deliveries")])
    assert "TWILIO_AUTH_TOKEN" in dump
    for secret in ("stale-token-0123456789", ACCOUNT_SID, *RECIPIENTS):
        assert secret not in dump
        assert not any(secret in (o.error or "") for o in report.outcomes)


# --- the simulator speaks Twilio ---------------------------------------------------------


def _call(
    sim: TwilioSim,
    method: str,
    path: str,
    form: dict[str, str] | None = None,
    auth: tuple[str, str] | None = (ACCOUNT_SID, AUTH_TOKEN),
) -> tuple[int, Any]:
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(sim.url + path, data=data, method=method)
    if auth is not None:
        token = base64.b64encode(":".join(auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def test_the_simulator_answers_like_twilio(sim: TwilioSim) -> None:
    here = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    code, body = _call(sim, "GET", here, auth=None)
    assert code == 401 and body["code"] == 20003 and body["status"] == 401
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20003"
    code, body = _call(sim, "POST", here, {"To": RECIPIENTS[0], "From": SENDER})
    assert (code, body["code"], body["message"]) == (400, 21602, "Message body is required.")
    code, body = _call(sim, "POST", here, {"To": "+1555", "From": SENDER, "Body": "x"})
    assert (code, body["code"]) == (400, 21211) and "+1555" in body["message"]
    code, body = _call(sim, "POST", here, {"To": RECIPIENTS[0], "Body": "x"})
    assert (code, body["code"]) == (400, 21603)
    code, made = _call(sim, "POST", here, {"To": RECIPIENTS[0], "From": SENDER, "Body": "a" * 161})
    assert code == 201 and made["status"] == "queued" and made["num_segments"] == "2"
    assert made["sid"].startswith("SM") and made["api_version"] == "2010-04-01"
    assert made["date_created"].endswith("+0000") and made["date_sent"] is None
    assert made["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{made['sid']}.json"
    assert made["price"] is None and made["error_code"] is None and made["num_media"] == "0"
    code, again = _call(sim, "GET", made["uri"])
    assert code == 200 and again["status"] == "sent" and again["date_sent"]
    code, service = _call(
        sim, "POST", here, {"To": RECIPIENTS[1], "MessagingServiceSid": SERVICE, "Body": "b"}
    )
    assert service["status"] == "accepted" and service["from"] is None
    assert service["num_segments"] == "0" and service["messaging_service_sid"] == SERVICE
    today = again["date_sent"]  # e.g. "Sat, 28 Nov 2026 ..."
    assert today
    code, page = _call(sim, "GET", f"{here}?PageSize=1&To=%2B17575550142&DateSent%3E=2000-01-01")
    assert code == 200 and [m["sid"] for m in page["messages"]] == [made["sid"]]
    assert page["page_size"] == 1 and page["next_page_uri"] is None and page["start"] == 0
    code, page = _call(sim, "GET", f"{here}?PageSize=1&DateSent%3C=2000-01-01")
    assert page["messages"] == []
    code, page = _call(sim, "GET", f"{here}?PageSize=1")
    assert page["next_page_uri"].startswith(f"{here}?PageSize=1&Page=1&PageToken=PASM")
    code, body = _call(sim, "GET", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SMnope.json")
    assert (code, body["code"]) == (404, 20404)
    other = "AC" + "9" * 32
    code, body = _call(sim, "GET", f"/2010-04-01/Accounts/{other}/Messages.json")
    assert (code, body["code"]) == (401, 20003)
    code, _ = _call(sim, "DELETE", made["uri"])
    assert code == 204 and len(sim.describe()) == 1
