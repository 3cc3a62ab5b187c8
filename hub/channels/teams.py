r"""``teams``: Adaptive Cards in a Microsoft Teams channel, through a Workflows webhook.

Office 365 connectors (and their "Incoming Webhook", ``*.webhook.office.com``) are
retired: Microsoft announced it in July 2024 (devblogs.microsoft.com/microsoft365dev,
"Retirement of Office 365 connectors within Microsoft Teams"), blocked new connectors,
required existing webhook URLs to be updated by 31 December 2024 (learn.microsoft.com,
"Manage Microsoft 365 connectors") and moved the final retirement back more than once,
into 2026 (third-party migration notes give 31 March 2026; that page itself could not be
read here). The replacement is a flow in the Teams Workflows app (Power Automate) with
the trigger "When a Teams webhook request is received" (template "Send webhook alerts to
a channel"; msteams-docs includes/deprecation-note.md). Its HTTP URL carries its own
shared-access signature (``...?api-version=...&sp=...&sv=1.0&sig=...``, on
``*.logic.azure.com`` or ``*.environment.api.powerplatform.com``), so the URL is the
credential: it lives in ``TEAMS_WEBHOOK_URL`` and is scrubbed from every message, the
``sig`` value on its own too.

What is sent: ``POST`` of ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <card>}]}``; the
template loops over ``attachments`` and posts each ``content`` as a card. The card
(Adaptive Cards schema, version 1.4: Teams renders cards up to 1.5 — msteams-docs
cards-reference.md — and nothing here needs more than 1.2) is a Container styled by
severity (``attention`` for emergency and warning, ``warning`` for advisory, ``accent``
for info, ``emphasis`` for a retraction) holding the severity label, the title (Large,
Bolder, wrapped) and the time in the hub's zone; then the text; then the image (``Image``
with ``url`` and ``altText``) when the update has one; and an ``Action.OpenUrl`` "Read the
full update" to the permalink. TextBlock text is a markdown subset (bold, italic, lists,
links): ``\ * _ [ ]`` are escaped outside URLs, and lone line breaks, which markdown
joins, are doubled; "- " lists stay lists.

Size: Teams posts at most about 28 KB per message ("Request Entity too large" past it;
learn.microsoft.com/connectors/teams, "Known issues and limitations"). The text is fitted
to 4,000 characters (``len``), and the serialized payload is measured before sending: a
card over 28,000 bytes is refused here, since Teams would accept it and fail later.

The answer: the trigger answers ``202 Accepted`` with an empty body as soon as it has
queued a run (Logic Apps' ``x-ms-workflow-run-id`` header names the run); the card is
posted afterwards by the run, and a card Teams cannot post fails that run where only the
flow's owner sees it (its run history), not in the answer. There is no message id, so
nothing can be edited, deleted or looked up: ``supports_edit``, ``supports_delete`` and
``can_find`` are False. A correction is a new card marked "Correction:", a retraction a
new card saying to disregard the update. The receipt's id is the run id (else the
delivery key). ``idempotent`` is False: a process killed after the 202 and before the
ledger recorded it posts the card again on the next run, and so does a retry after a
lost answer.

Errors (Logic Apps' JSON ``{"error": {"code": ..., "message": ...}}``): 400 for a body
that is not JSON (``InvalidRequestContent``), permanent with its words; 401/403 (the
URL's signature is wrong: ``DirectApiInvalidAuthorizationSignature``, or ``sp``/``sv``/
``sig`` are missing: ``AuthorizationFailed``) and 404 (``WorkflowNotFound``: the flow was
deleted) are fatal for the channel and name the variable; 429 (Power Automate
throttling) waits for ``Retry-After``; 5xx and timeouts are retried.

The client is built on first use, never in ``__init__``: ``stormhub preview`` builds
channels only to render, without credentials or network.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from hub.channels.base import Post, PublishError, Receipt, error_for_status, retry_after_seconds
from hub.channels.http import HttpChannel
from hub.config import TeamsConfig
from hub.model import Severity
from hub.site.pages import time_label
from hub.text import find_urls, fit, plain_text, shorten
from hub.words import translator

if TYPE_CHECKING:
    from hub.model import Update

PLATFORM = "Microsoft Teams"
CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_TEXT = 4000  # characters of text on one card: readable, and far within 28 KB
MAX_BYTES = 28_000  # Teams' message size limit, about 28 KB
MAX_TITLE = 200
STYLES = {  # Container styles (Adaptive Cards 1.2+) and the label's TextBlock color
    Severity.EMERGENCY: ("attention", "Attention"),
    Severity.WARNING: ("attention", "Attention"),
    Severity.ADVISORY: ("warning", "Warning"),
    Severity.INFO: ("accent", "Accent"),
}
_ESCAPE = re.compile(r"([\\*_\[\]])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+] |\d+\. )")


def card_markdown(text: str) -> str:
    """Plain *text* as Adaptive Card TextBlock markdown that reads as the same text.

    Escapes what Teams would read as emphasis or links, outside URLs; doubles single line
    breaks (markdown joins lines) except between list items.
    """
    pieces: list[str] = []
    last = 0
    for start, end, _ in find_urls(text):
        pieces += [_ESCAPE.sub(r"\\\1", text[last:start]), text[start:end]]
        last = end
    pieces.append(_ESCAPE.sub(r"\\\1", text[last:]))
    lines = "".join(pieces).split("\n")
    out: list[str] = []
    for number, line in enumerate(lines):
        if number:
            both_items = _LIST_ITEM.match(line) and _LIST_ITEM.match(lines[number - 1])
            out.append("\n" if both_items or not line.strip() or not out[-1].strip() else "\n\n")
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "".join(out))


class TeamsChannel(HttpChannel[TeamsConfig]):
    type = "teams"
    platform = PLATFORM
    max_chars = MAX_TEXT
    supports_edit = False  # the trigger answers 202 with no message id
    supports_delete = False
    supports_threads = False
    takes_images = True  # an Image element, by URL
    idempotent = False
    can_find = False

    def length(self, text: str) -> int:
        return len(text)

    # --- rendering (pure) --------------------------------------------------------------

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        """The card's text (body and permalink) as the one part; the rest in ``extra``."""
        _ = translator(self.hub.lang)
        link = self.hub.permalink(update)
        if retraction:  # the label says RETRACTED
            heading = update.title
            body = _("This update was retracted. Please disregard it.") + (
                f" {update.retraction}" if update.retraction else ""
            )
        else:
            heading = f"{_('Correction:')} {update.title}" if correction else update.title
            body = plain_text(update.body)
        parts = fit(body, length=self.length, limit=self.limit, link=link, mode="truncate")
        style, color = ("emphasis", "Default") if retraction else STYLES[update.severity]
        label = (_("Retracted") if retraction else _(update.severity.label)).upper()
        when = time_label(self.hub, update.time)
        return self.post(
            update,
            parts,
            link,
            subject=heading,
            extra={"style": style, "color": color, "label": label, "time": when},
        )

    def card(self, post: Post) -> dict[str, Any]:
        """The Adaptive Card for *post*."""
        extra = post.extra
        header: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": card_markdown(str(extra.get("label", ""))),
                "weight": "Bolder",
                "size": "Small",
                "color": extra.get("color", "Default"),
                "wrap": True,
            },
            {
                "type": "TextBlock",
                "text": card_markdown(shorten(post.subject, MAX_TITLE)),
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            },
        ]
        if extra.get("time"):
            header.append(
                {
                    "type": "TextBlock",
                    "text": str(extra["time"]),
                    "isSubtle": True,
                    "spacing": "None",
                    "wrap": True,
                }
            )
        body: list[dict[str, Any]] = [
            {
                "type": "Container",
                "style": extra.get("style", "default"),
                "bleed": True,
                "items": header,
            },
            {"type": "TextBlock", "text": card_markdown(post.text), "wrap": True},
        ]
        if post.image:
            image: dict[str, Any] = {"type": "Image", "url": post.image, "size": "Stretch"}
            if post.alt:
                image["altText"] = post.alt
            body.append(image)
        return {
            "$schema": CARD_SCHEMA,
            "type": "AdaptiveCard",
            "version": CARD_VERSION,
            "body": body,
            "actions": [
                {"type": "Action.OpenUrl", "title": "Read the full update", "url": post.link}
            ],
        }

    def payload(self, post: Post) -> bytes:
        """The request body: a message with the card as its one attachment, as UTF-8 JSON."""
        message = {
            "type": "message",
            "attachments": [
                {"contentType": CARD_TYPE, "contentUrl": None, "content": self.card(post)}
            ],
        }
        return json.dumps(message, ensure_ascii=False).encode()

    # --- sending ---------------------------------------------------------------------------

    def _url(self) -> str:
        url = self.credential("webhook_url", "the HTTP URL of a Teams Workflows webhook trigger")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PublishError(
                f"{self.env_name('webhook_url')} is not a URL: copy the HTTP URL of the "
                'workflow\'s "When a Teams webhook request is received" trigger',
                transient=False,
                fatal=True,
            )
        for signature in parse_qs(parts.query).get("sig", []):
            if signature:
                self.remember_secret(signature)  # the signature alone opens the flow
        return url

    def publish(self, post: Post, key: str) -> Receipt:
        url = self._url()
        data = self.payload(post)
        if len(data) > MAX_BYTES:
            raise PublishError(
                f"the card for {post.update_id} is {len(data):,} bytes, more than the about "
                f"{MAX_BYTES:,} bytes Teams posts in one message (it would accept it and then "
                "fail the flow's run): shorten the update",
                transient=False,
            )
        response = self.request(
            "POST", url, content=data, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        run = response.headers.get("x-ms-workflow-run-id", "").strip()
        return Receipt(remote_id=run or key, ids=(run or key,))

    # --- errors ------------------------------------------------------------------------

    def error(self, response: httpx.Response) -> PublishError:
        status = response.status_code
        detail = self.scrub(self._detail(response))
        env = self.env_name("webhook_url")
        gone = (
            "the workflow may have been turned off or deleted, or its URL is incomplete; "
            'open the Workflows app in Teams, create a new "Send webhook alerts to a '
            f'channel" workflow (or turn this one on) and set {env} to its URL'
        )
        if status == 404:
            return PublishError(
                f"{PLATFORM} rejected the webhook (404: {detail}): {gone}",
                transient=False,
                status=status,
                fatal=True,
            )
        return error_for_status(
            PLATFORM,
            status,
            detail,
            retry_after=retry_after_seconds(response.headers, self.reset_header),
            fix_credentials=gone,
        )

    def _detail(self, response: httpx.Response) -> str:
        """Logic Apps' ``{"error": {"code", "message"}}`` as "code: message"."""
        try:
            body = response.json()
        except ValueError:
            return self.detail(response)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and (error.get("code") or error.get("message")):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
            return f"{code}: {message}"[:300] if code and message else (code or message)[:300]
        return self.detail(response)


__all__ = ["TeamsChannel", "card_markdown"]
