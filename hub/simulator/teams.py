"""A simulated Teams Workflows webhook: one flow ("Send webhook alerts to a channel").

The trigger "When a Teams webhook request is received" is a Logic Apps request trigger
on ``.../workflows/{id}/triggers/manual/paths/invoke?api-version=...&sp=...&sv=...&sig=...``
(the old ``prod-NN.<region>.logic.azure.com`` form and the newer
``.../powerautomate/automations/direct/workflows/{id}/...`` form both match). It answers:

- ``202 Accepted``, empty body, with ``x-ms-workflow-run-id`` and the other ``x-ms-*``
  run headers, for any JSON body: the trigger queues a run and does not look at the card.
- 400 ``InvalidRequestContent`` when the body is not JSON.
- 401 ``AuthorizationFailed`` when ``sp``, ``sv`` or ``sig`` is missing, 401
  ``DirectApiInvalidAuthorizationSignature`` when :attr:`TeamsSim.sig` is set and the
  URL's differs; 404 ``WorkflowNotFound`` for another workflow id, or after
  :meth:`TeamsSim.delete_workflow`.

Each accepted request is a :class:`Run`, which then does what the template does: for each
attachment, post its ``content`` as an Adaptive Card. The run fails (as it would, visible
only in the flow's run history) when ``attachments`` is not an array (the template's
``foreach`` error), when a card is not an Adaptive Card or breaks the schema basics checked
here (``type``/``version``, known body element types, required ``text`` / ``url`` /
``items`` / ``columns``, Action.OpenUrl's ``url`` and ``title``, Container styles), or when
the message is over about 28 KB ("Request Entity too large", the Teams connector's known
limit). The failure texts follow what Power Automate shows; schema details are this
simulator's own wording. Only posted cards are in the channel: :meth:`TeamsSim.describe`
gives one line per posted card.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hub.simulator.core import PlatformSim, Received, Response, json_response

WORKFLOW_ID = "drill"  # the drill's workflow (TeamsConfig.drill_secret)
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_MESSAGE_BYTES = 28 * 1024
MAX_VERSION = (1, 5)  # Teams renders Adaptive Cards up to 1.5
_PATH = re.compile(r"/workflows/(?P<id>[^/]+)/triggers/(?P<trigger>[^/]+)/paths/invoke/?$")
ELEMENTS = {
    "TextBlock": ("text",),
    "Image": ("url",),
    "Container": ("items",),
    "ColumnSet": (),
    "FactSet": ("facts",),
    "ImageSet": ("images",),
    "ActionSet": ("actions",),
    "RichTextBlock": ("inlines",),
    "Table": (),
    "Media": ("sources",),
}
INPUTS = {"Input.Text", "Input.Number", "Input.Date", "Input.Time", "Input.Toggle",
          "Input.ChoiceSet"}  # fmt: skip
ACTIONS = {
    "Action.OpenUrl": ("url",),
    "Action.ShowCard": ("card",),
    "Action.ToggleVisibility": ("targetElements",),
    "Action.Execute": (),
    "Action.Submit": (),
}
CONTAINER_STYLES = {"default", "emphasis", "good", "attention", "warning", "accent"}
_POST_CARD = "Post_card_in_a_chat_or_channel"
_INVALID_CARD = (
    f"Action '{_POST_CARD}' failed: Microsoft.Azure.ProcessSimple.Data.Entities.Exceptions."
    "ProcessSimpleDataException: The specified Teams flowbot adaptive card request is "
    "missing or invalid. ---> AdaptiveCards.AdaptiveSerializationException: {reason}"
)


@dataclass
class Run:
    """One run of the flow: what the trigger received and what became of it."""

    id: str
    body: Any
    status: str = "Running"  # Succeeded or Failed once done
    error: str | None = None
    cards: list[dict[str, Any]] = field(default_factory=list)  # the cards it posted


def _run_id() -> str:
    """A Logic Apps run id: 29 digits and a scale-unit suffix, e.g. 0858...CU12."""
    return "0858" + "".join(random.choices("0123456789", k=25)) + f"CU{random.randint(0, 99):02d}"


def _version(value: Any) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", str(value or ""))
    return (int(match[1]), int(match[2])) if match else None


def card_problem(card: Any, path: str = "") -> str | None:
    """Why Teams could not post *card*, or None."""
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return "Property 'type' must be 'AdaptiveCard'"
    if not path:
        version = _version(card.get("version"))
        if version is None:
            return "Property 'version' must be a version such as '1.4'"
        if version > MAX_VERSION:
            return f"Unsupported card version {card['version']}; Teams renders 1.5 and earlier"
    body = card.get("body", [])
    if not isinstance(body, list):
        return f"Property '{path}body' must be an array"
    for number, element in enumerate(body):
        problem = _element_problem(element, f"{path}body[{number}]")
        if problem:
            return problem
    actions = card.get("actions", [])
    if not isinstance(actions, list):
        return f"Property '{path}actions' must be an array"
    for number, action in enumerate(actions):
        problem = _action_problem(action, f"{path}actions[{number}]")
        if problem:
            return problem
    return None


def _element_problem(element: Any, path: str) -> str | None:
    if not isinstance(element, dict):
        return f"Element at '{path}' must be an object"
    kind = element.get("type")
    if kind not in ELEMENTS and kind not in INPUTS:
        return f"Unknown element type '{kind}' at '{path}'"
    for name in ELEMENTS.get(str(kind), ()):
        if element.get(name) in (None, ""):
            return f"Required property '{name}' not found in JSON. Path '{path}'."
    if kind == "Container":
        style = element.get("style")
        if style is not None and str(style).lower() not in CONTAINER_STYLES:
            return f"Unknown Container style '{style}' at '{path}'"
        items = element["items"]
        if not isinstance(items, list):
            return f"Property '{path}.items' must be an array"
        for number, item in enumerate(items):
            problem = _element_problem(item, f"{path}.items[{number}]")
            if problem:
                return problem
    if kind == "ColumnSet":
        for number, column in enumerate(element.get("columns") or []):
            for index, item in enumerate(
                column.get("items") or [] if isinstance(column, dict) else []
            ):
                problem = _element_problem(item, f"{path}.columns[{number}].items[{index}]")
                if problem:
                    return problem
    if kind == "Image" and not str(element["url"]).startswith(("http://", "https://", "data:")):
        return f"Image url at '{path}' is not an absolute URL"
    if kind == "TextBlock" and not isinstance(element["text"], str):
        return f"Property 'text' at '{path}' must be a string"
    return None


def _action_problem(action: Any, path: str) -> str | None:
    if not isinstance(action, dict) or action.get("type") not in ACTIONS:
        kind = action.get("type") if isinstance(action, dict) else action
        return f"Unknown action type '{kind}' at '{path}'"
    for name in ACTIONS[action["type"]]:
        if action.get(name) in (None, ""):
            return f"Required property '{name}' not found in JSON. Path '{path}'."
    if action["type"] == "Action.OpenUrl" and not str(action["url"]).startswith(
        ("http://", "https://", "mailto:", "tel:")
    ):
        return f"Action.OpenUrl url at '{path}' is not an absolute URL"
    if action["type"] == "Action.ShowCard":
        return card_problem(action["card"], f"{path}.card.")
    return None


def _texts(element: Any) -> list[str]:
    """Every TextBlock text in *element*, in order."""
    if isinstance(element, list):
        return [t for item in element for t in _texts(item)]
    if not isinstance(element, dict):
        return []
    found = [str(element["text"])] if element.get("type") == "TextBlock" else []
    for key in ("body", "items", "columns"):
        found += _texts(element.get(key))
    return found


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\*_\[\]])", r"\1", text)


class TeamsSim(PlatformSim):
    name: ClassVar[str] = "teams"

    def __init__(self, sig: str | None = None, workflow_id: str = WORKFLOW_ID) -> None:
        super().__init__()
        self.sig = sig  # None: any signature is accepted
        self.workflow_id = workflow_id
        self.deleted = False
        self.runs: list[Run] = []
        self._runs = threading.Lock()

    def delete_workflow(self) -> None:
        """As if the flow's owner deleted it: the trigger URL answers 404."""
        self.deleted = True

    @property
    def posted(self) -> list[dict[str, Any]]:
        """The cards now in the channel, oldest first."""
        return [card for run in self.runs for card in run.cards]

    def describe(self) -> list[str]:
        lines = []
        for card in self.posted:
            texts = [_unescape(t) for t in _texts(card.get("body"))]
            label, title = [*texts, "", ""][:2]
            line = f"{label}: {title}" if label else title
            images = [
                e for e in card.get("body", []) if isinstance(e, dict) and e.get("type") == "Image"
            ]
            if images:
                line += f" [image: {images[0].get('altText') or images[0].get('url')}]"
            lines.append(line)
        return lines

    # --- the trigger -------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        match = _PATH.search(request.path)
        if match is None or match["id"] != self.workflow_id or self.deleted:
            workflow = match["id"] if match else request.path.strip("/").split("/")[0]
            return json_response(404, {"error": {
                "code": "WorkflowNotFound",
                "message": f"The workflow '{workflow}' could not be found.",
            }})  # fmt: skip
        query = {k: v[-1] for k, v in request.query.items()}
        if not all(query.get(k) for k in ("sp", "sv", "sig")):
            return json_response(401, {"error": {
                "code": "AuthorizationFailed",
                "message": "Required parameters for shared access URL are permissions "
                "('sp'), version ('sv'), and signature ('sig').",
            }})  # fmt: skip
        if self.sig is not None and query["sig"] != self.sig:
            return json_response(401, {"error": {
                "code": "DirectApiInvalidAuthorizationSignature",
                "message": "The provided authorization signature is not valid.",
            }})  # fmt: skip
        if request.method != "POST":
            return json_response(405, {"error": {
                "code": "TriggerRequestMethodNotValid",
                "message": f"The HTTP method for this request is not valid: expected 'Post' "
                f"and actual '{request.method.capitalize()}'.",
            }})  # fmt: skip
        kind = request.headers.get("content-type", "application/octet-stream").split(";")[0]
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return json_response(400, {"error": {
                "code": "InvalidRequestContent",
                "message": "The input body for trigger 'manual' of type 'Request' must be of "
                f"type JSON, but was of type '{kind or 'application/octet-stream'}'.",
            }})  # fmt: skip
        run = Run(id=_run_id(), body=body)
        with self._runs:
            self.runs.append(run)
        self._execute(run)
        headers = {
            "x-ms-workflow-run-id": run.id,
            "x-ms-correlation-id": str(uuid.uuid4()),
            "x-ms-client-tracking-id": run.id,
            "x-ms-trigger-history-name": run.id,
            "x-ms-execution-location": "westus",
            "x-ms-workflow-id": self.workflow_id,
            "x-ms-workflow-version": "08584" + "0" * 15,
            "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
        }
        return 202, headers, b""

    def _execute(self, run: Run) -> None:
        """What the "Send webhook alerts to a channel" flow does with the request."""
        attachments = run.body.get("attachments") if isinstance(run.body, dict) else None
        if not isinstance(attachments, list):
            kind = "Null" if attachments is None else type(attachments).__name__.capitalize()
            run.status, run.error = (
                "Failed",
                (
                    "ExpressionEvaluationFailed. The execution of template action "
                    "'Send_each_adaptive_card' failed: the result of the evaluation of 'foreach' "
                    "expression '@triggerOutputs()?['body']?['attachments']' is of type "
                    f"'{kind}'. The result must be a valid array."
                ),
            )
            return
        cards, errors = [], []
        for attachment in attachments:  # each iteration posts, or fails, on its own
            content = attachment.get("content") if isinstance(attachment, dict) else None
            problem = card_problem(content)
            if problem is None and attachment.get("contentType") != CARD_TYPE:
                problem = f"Property 'contentType' must be '{CARD_TYPE}'"
            if problem is not None:
                errors.append(_INVALID_CARD.format(reason=problem))
            elif len(json.dumps(content, ensure_ascii=False).encode()) > MAX_MESSAGE_BYTES:
                errors.append(f"Action '{_POST_CARD}' failed: Request Entity too large")
            else:
                assert isinstance(content, dict)
                cards.append(content)
        run.cards = cards
        run.status = "Failed" if errors else "Succeeded"
        run.error = errors[0] if errors else None


__all__ = ["WORKFLOW_ID", "Run", "TeamsSim", "card_problem"]
