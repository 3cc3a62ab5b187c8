"""The ``teams`` channel (httpx) against the loopback Teams Workflows simulator."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hub.authoring import mark_retracted
from hub.channels import make_channel
from hub.channels.base import Post, PublishError
from hub.channels.teams import MAX_BYTES, TeamsChannel, card_markdown
from hub.config import TeamsConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy, delivery_key
from hub.ledger import Ledger
from hub.model import Hub
from hub.simulator import Simulator, status
from hub.simulator.core import Fault
from hub.simulator.teams import WORKFLOW_ID, TeamsSim, card_problem
from hub.site.pages import time_label
from tests.channels.teams import make
from tests.conftest import NOW, HubFactory

SIG = "sigSECRET4f9a2cQ0sVb1XyZ"
FAST = RetryPolicy(attempts=3, base=0.001, cap=0.01, budget=1.0)
UPDATE = "---\ntime: 2026-11-27 {time}\ntitle: {title}\nseverity: {severity}\n---\n{body}\n"
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: the shelter at Lincoln High School has cots, water and power for "
    f"{n * 40} people 🌀🏥👨‍👩‍👧; bring medicines, chargers and ID. Pets are welcome."
    for n in range(1, 80)
)
TRICKY = (
    r"Use \*only\* the north_entrance_2 door \[east\]." "\n\n"
    "- first item\n- second item\n\n"
    "See https://example.org/a_b*c_d for the map."
)  # fmt: skip
CARD = "application/vnd.microsoft.card.adaptive"
ALT = "Water covering Harbor Road outside the Main Campus entrance"


@dataclass
class Rig:
    channel: TeamsChannel
    sim: TeamsSim
    config: TeamsConfig
    url: str  # the webhook URL, the secret


def webhook(base: str, sig: str = SIG) -> str:
    return (
        f"{base}/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke"
        f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
    )


@pytest.fixture
def hub(make_hub: HubFactory) -> Hub:
    root = make_hub(
        {
            "content/updates/long.md": UPDATE.format(
                time="08:00", title="Shelters open", severity="emergency", body=LONG_BODY
            ),
            "content/updates/info.md": UPDATE.format(
                time="07:00", title="Café *open* [late]", severity="info", body=TRICKY
            ),
            "content/updates/adv.md": UPDATE.format(
                time="07:30", title="Boil water", severity="advisory", body="Boil it."
            ),
            "content/updates/flood.md": (
                "---\ntime: 2026-11-27 09:00\ntitle: Harbor Road flooded\nseverity: warning\n"
                f"image: images/x.png\nalt: {ALT}\n---\nHarbor Road is closed.\n"
            ),
            "content/images/x.png": "",
        }
    )
    return load_hub(root)


@pytest.fixture
def rig(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sim = TeamsSim(sig=SIG)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        url = webhook(sim.url)
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", url)
        channel = make_channel(config, hub)
        assert isinstance(channel, TeamsChannel)
        try:
            yield Rig(channel, sim, config, url)
        finally:
            channel.close()


def ed(rig: Rig, hub: Hub) -> Post:
    return rig.channel.render(hub.update("2026-11-27-0615-ed-open"))


def sent_card(rig: Rig, number: int = -1) -> dict[str, Any]:
    body = rig.sim.received[number].json
    content: dict[str, Any] = body["attachments"][0]["content"]
    return content


# --- construction and rendering --------------------------------------------------------


def test_constructing_and_rendering_need_no_network_and_no_secret(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = TeamsSim()
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.delenv("TEAMS_WEBHOOK_URL", raising=False)
        channel = make_channel(config, hub)
        posts = [channel.render(u) for u in hub.updates]
        cards = [channel.card(p) for p in posts]  # building the card is pure too
        with pytest.raises(PublishError) as caught:
            channel.publish(posts[0], "stormhub-k")
        channel.close()
    assert len(cards) == len(hub.updates)
    assert "TEAMS_WEBHOOK_URL not set" in str(caught.value) and caught.value.fatal
    assert sim.received == []


def test_capabilities(hub: Hub) -> None:
    channel = TeamsChannel(TeamsConfig(name="t", webhook_url="${T}"), hub)
    assert channel.limit == 4000 and channel.length("🌀👨‍👩‍👧") == 6
    assert not (channel.supports_edit or channel.supports_delete or channel.supports_threads)
    assert not (channel.idempotent or channel.can_find) and channel.takes_images


def test_the_card_for_each_severity(rig: Rig, hub: Hub) -> None:
    expected = {
        "long": ("attention", "Attention", "EMERGENCY"),
        "flood": ("attention", "Attention", "WARNING"),
        "adv": ("warning", "Warning", "ADVISORY"),
        "info": ("accent", "Accent", "INFO"),
    }
    for update_id, (style, color, label) in expected.items():
        post = rig.channel.render(hub.update(update_id))
        card = rig.channel.card(post)
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        header = card["body"][0]
        assert (header["type"], header["style"]) == ("Container", style)
        badge, title, when = header["items"]
        assert (badge["text"], badge["color"], badge["weight"]) == (label, color, "Bolder")
        assert (title["size"], title["weight"], title["wrap"]) == ("Large", "Bolder", True)
        assert when["text"] == time_label(hub, hub.update(update_id).time)  # as on the site
        assert when["text"].endswith(" EST") and when["isSubtle"]
        assert card["actions"] == [
            {"type": "Action.OpenUrl", "title": "Read the full update", "url": post.link}
        ]
        assert card_problem(card) is None


def test_text_is_escaped_for_card_markdown_outside_urls(rig: Rig, hub: Hub) -> None:
    card = rig.channel.card(rig.channel.render(hub.update("info")))
    assert card["body"][0]["items"][1]["text"] == r"Café \*open\* \[late\]"
    text = card["body"][1]["text"]
    assert text.startswith(r"Use \*only\* the north\_entrance\_2 door \[east\].")
    assert "\n\n- first item\n- second item\n\n" in text  # a list stays a list
    assert "https://example.org/a_b*c_d" in text
    assert card_markdown("one\ntwo") == "one\n\ntwo"  # markdown would join the lines


def test_the_image_is_an_image_element_with_its_alt_text(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("flood"))
    rig.channel.publish(post, "stormhub-img")
    image = sent_card(rig)["body"][2]
    assert image == {"type": "Image", "url": post.image, "size": "Stretch", "altText": ALT}
    assert rig.sim.describe() == [f"WARNING: Harbor Road flooded [image: {ALT}]"]


def test_a_long_update_fits_4000_characters_and_the_payload_28_kb(rig: Rig, hub: Hub) -> None:
    post = rig.channel.render(hub.update("long"))
    assert len(post.parts) == 1 and post.lengths[0] <= 4000 < len(LONG_BODY)
    assert post.text.endswith(f"…\n\n{post.link}")
    data = rig.channel.payload(post)
    assert len(data) <= MAX_BYTES
    rig.channel.publish(post, "stormhub-long")
    [run] = rig.sim.runs
    assert run.status == "Succeeded" and len(rig.sim.received[0].body) == len(data)


def test_a_card_over_28_kb_is_refused_before_sending(rig: Rig, hub: Hub) -> None:
    huge = replace(ed(rig, hub), parts=("🌀" * 7000 + "\u0001" * 800,))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(huge, "stormhub-huge")
    assert not caught.value.transient and "28,000 bytes" in str(caught.value)
    assert rig.sim.received == []


# --- the request and the answer -------------------------------------------------------------


def test_the_exact_request_the_workflow_receives_and_the_202(rig: Rig, hub: Hub) -> None:
    post = ed(rig, hub)
    receipt = rig.channel.publish(post, "stormhub-req")
    [request] = rig.sim.received
    assert request.method == "POST"
    assert request.path == f"/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke"
    assert request.query == {
        "api-version": ["2016-06-01"],
        "sp": ["/triggers/manual/run"],
        "sv": ["1.0"],
        "sig": [SIG],
    }
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    body = request.json
    assert body["type"] == "message" and len(body["attachments"]) == 1
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    assert attachment["content"] == rig.channel.card(post)
    [run] = rig.sim.runs
    assert receipt.remote_id == run.id and receipt.ids == (run.id,) and receipt.url is None
    assert run.status == "Succeeded" and run.cards == [attachment["content"]]
    assert rig.sim.describe() == ["WARNING: Emergency Department open"]


def test_without_a_run_id_the_receipt_is_the_delivery_key(rig: Rig, hub: Hub) -> None:
    rig.sim.inject(Fault("status", status=202))
    receipt = rig.channel.publish(ed(rig, hub), "stormhub-key")
    assert receipt.remote_id == "stormhub-key"


def test_fanout_corrections_and_retractions_are_new_cards(
    make_hub: HubFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_hub()
    sim = TeamsSim(sig=SIG)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", webhook(sim.url))
        ledger = tmp_path / "ledger.sqlite"

        def fanout() -> Any:
            hub = load_hub(root)
            return Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()

        assert [o.status for o in fanout().outcomes] == ["posted"]
        update = root / "content/updates/2026-11-27-0615-ed-open.md"
        update.write_text(update.read_text().replace("generator power", "mains power"))
        assert [o.status for o in fanout().outcomes] == ["corrected"]
        mark_retracted(root, "2026-11-27-0615-ed-open", "Posted by mistake.", now=NOW)
        assert [o.status for o in fanout().outcomes] == ["retracted"]
        assert fanout().outcomes == []
    assert sim.describe() == [
        "WARNING: Emergency Department open",
        "WARNING: Correction: Emergency Department open",
        "RETRACTED: Emergency Department open",
    ]
    correction, retraction = sim.posted[1:]
    assert "mains power" in correction["body"][1]["text"]
    assert retraction["body"][0]["style"] == "emphasis"
    assert retraction["body"][1]["text"].startswith(
        "This update was retracted. Please disregard it. Posted by mistake."
    )
    with Ledger(ledger) as rows:
        assert rows.get("2026-11-27-0615-ed-open", "teams", "retract") is not None


def test_a_crash_after_the_202_posts_the_card_again(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented window: the trigger has no idempotency and nothing to look up."""
    sim = TeamsSim(sig=SIG)
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", webhook(sim.url))
        ledger = tmp_path / "ledger.sqlite"
        first = hub.updates[-1]
        with Ledger(ledger) as rows:
            rows.register([config.name], NOW)
            rows.claim(first.id, config.name, "post", first.revision)
            rows.db.execute("UPDATE deliveries SET claimed_by='nohost:1'")
        channel = make_channel(config, hub)
        channel.publish(channel.render(first), delivery_key(first.id, config.name, "post"))
        channel.close()
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
    assert not report.failed and len(report.outcomes) == len(hub.updates)
    assert sum(first.title in line for line in sim.describe()) == 2


# --- errors -------------------------------------------------------------------------------


def test_a_wrong_signature_is_fatal_and_says_what_to_do(rig: Rig, hub: Hub) -> None:
    rig.sim.sig = "another-signature"
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(ed(rig, hub), "stormhub-401")
    error = caught.value
    assert error.status == 401 and error.fatal and not error.transient
    message = str(error)
    assert message.startswith(
        "Microsoft Teams rejected the credentials (401: DirectApiInvalidAuthorizationSignature:"
        " The provided authorization signature is not valid.)"
    )
    assert "turned off or deleted" in message and "set TEAMS_WEBHOOK_URL" in message
    assert SIG not in message and rig.url not in message


def test_a_deleted_workflow_is_fatal(rig: Rig, hub: Hub) -> None:
    rig.sim.delete_workflow()
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(ed(rig, hub), "stormhub-404")
    error = caught.value
    assert error.status == 404 and error.fatal and not error.transient
    assert str(error).startswith(
        f"Microsoft Teams rejected the webhook (404: WorkflowNotFound: The workflow "
        f"'{WORKFLOW_ID}' could not be found.): the workflow may have been turned off or deleted"
    )
    assert str(error).endswith("set TEAMS_WEBHOOK_URL to its URL")


def test_a_url_without_its_signature_is_refused_by_the_trigger(
    rig: Rig, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", rig.url.split("&sig=")[0])
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(ed(rig, hub), "stormhub-nosig")
    assert caught.value.fatal and "AuthorizationFailed: Required parameters" in str(caught.value)


def test_throttling_waits_for_retry_after(rig: Rig, hub: Hub) -> None:
    throttled = {"error": {"code": "TooManyRequests", "message": "Rate limit is exceeded."}}
    rig.sim.inject(status(429, throttled, **{"Retry-After": "37"}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(ed(rig, hub), "stormhub-429")
    error = caught.value
    assert error.transient and error.status == 429 and error.retry_after == 37.0
    rig.sim.inject(status(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(ed(rig, hub), "stormhub-503")
    assert caught.value.transient and "ServiceUnavailable: busy" in str(caught.value)


def test_a_400_is_permanent_in_the_platforms_words(rig: Rig, hub: Hub) -> None:
    words = "The input body for trigger 'manual' of type 'Request' must be of type JSON"
    rig.sim.inject(status(400, {"error": {"code": "InvalidRequestContent", "message": words}}))
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(ed(rig, hub), "stormhub-400")
    error = caught.value
    assert not error.transient and not error.fatal and error.status == 400
    assert str(error) == f"Microsoft Teams refused the post (400: InvalidRequestContent: {words})"


FAULTS = {
    "401": status(401, {"error": {"code": "AuthorizationFailed", "message": "no"}}),
    "403": status(403, {"error": {"code": "Forbidden", "message": "no"}}),
    "404": status(404, {"error": {"code": "WorkflowNotFound", "message": "gone"}}),
    "429": status(429, {"error": {"code": "TooManyRequests", "message": "slow"}}),
    "500": status(500, {"error": {"code": "InternalServerError", "message": "boom"}}),
    "502-html": Fault("status", status=502, body=b"<html>Bad Gateway</html>"),
    "timeout": Fault("timeout", seconds=2.0),
    "drop": Fault("drop"),
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_the_webhook_url_and_signature_never_appear_in_errors(
    rig: Rig, hub: Hub, fault: Fault
) -> None:
    rig.sim.inject(fault)
    with pytest.raises(PublishError) as caught:
        rig.channel.publish(ed(rig, hub), "stormhub-err")
    assert SIG not in str(caught.value) and SIG not in repr(caught.value)


def test_an_echoed_url_or_signature_is_scrubbed_everywhere(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = TeamsSim(sig="the-right-one")
    with Simulator([sim]):
        config, _ = make(sim.url, tmp_path)
        url = webhook(sim.url)
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", url)
        ledger = tmp_path / "ledger.sqlite"
        echo = {"error": {"code": "X", "message": f"bad sig {SIG} for {url}"}}
        sim.inject(*[status(500, echo)] * 3)
        report = Fanout(hub, [config], ledger, policy=FAST, factory=make_channel, now=NOW).run()
    errors = [o.error or "" for o in report.outcomes]
    assert all(o.status == "failed" for o in report.outcomes)
    assert "bad sig *** for" in errors[0] and report.outcomes[1].fatal
    dump = ledger.read_bytes().decode("latin-1")
    for text in [*errors, dump]:
        assert SIG not in text and url not in text


# --- the simulator on the wire ------------------------------------------------------------


def _post(url: str, body: bytes, kind: str = "application/json") -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", kind)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        answer = (exc.code, dict(exc.headers), json.loads(exc.read()))
        exc.close()
        return answer


def test_the_simulated_workflow_accepts_then_fails_bad_cards_in_its_run() -> None:
    sim = TeamsSim()
    with Simulator([sim]):
        url = webhook(sim.url)
        code, headers, body = _post(url, b"not json", "text/plain")
        assert code == 400 and body["error"]["code"] == "InvalidRequestContent"
        assert "must be of type JSON, but was of type 'text/plain'" in body["error"]["message"]
        # A message without attachments: accepted, and the run fails in the template's foreach.
        code, headers, raw = _post(url, json.dumps({"text": "hello"}).encode())
        assert (code, raw) == (202, b"") and headers["x-ms-workflow-run-id"].startswith("0858")
        assert "'Send_each_adaptive_card' failed" in str(sim.runs[-1].error)
        assert "is of type 'Null'. The result must be a valid array." in str(sim.runs[-1].error)
        # A card of the wrong type, and an Action.OpenUrl without its url.
        for card, reason in (
            ({"type": "MessageCard"}, "Property 'type' must be 'AdaptiveCard'"),
            (
                {"type": "AdaptiveCard", "version": "1.4", "body": [],
                 "actions": [{"type": "Action.OpenUrl", "title": "x"}]},
                "Required property 'url' not found in JSON. Path 'actions[0]'.",
            ),
            ({"type": "AdaptiveCard", "version": "1.6", "body": []}, "Unsupported card version"),
            (
                {"type": "AdaptiveCard", "version": "1.4",
                 "body": [{"type": "Container", "style": "loud", "items": []}]},
                "Unknown Container style 'loud' at 'body[0]'",
            ),
        ):  # fmt: skip
            message = {"type": "message", "attachments": [{"contentType": CARD, "content": card}]}
            assert _post(url, json.dumps(message).encode())[0] == 202
            run = sim.runs[-1]
            assert run.status == "Failed" and "flowbot adaptive card request" in str(run.error)
            assert reason in str(run.error), run.error
        big = {"type": "AdaptiveCard", "version": "1.4",
               "body": [{"type": "TextBlock", "text": "x" * 30_000}]}  # fmt: skip
        message = {"type": "message", "attachments": [{"contentType": CARD, "content": big}]}
        assert _post(url, json.dumps(message).encode())[0] == 202
        assert sim.runs[-1].error == (
            "Action 'Post_card_in_a_chat_or_channel' failed: Request Entity too large"
        )
        assert sim.describe() == [] and sim.posted == []
        code, _, body = _post(url.replace(f"/{WORKFLOW_ID}/", "/other/"), b"{}")
        assert (code, body["error"]["code"]) == (404, "WorkflowNotFound")
