"""What the simulated Meta platforms (Facebook, Instagram, Threads) share: Graph errors."""

from __future__ import annotations

import secrets

from hub.simulator.core import Response, json_response


def graph_error(
    status: int,
    message: str,
    *,
    code: int,
    kind: str = "OAuthException",
    subcode: int | None = None,
    user_title: str | None = None,
    user_msg: str | None = None,
    transient: bool | None = None,
    **headers: str,
) -> Response:
    """An error answer in the Graph API's shape (developers.facebook.com "Handling Errors")."""
    error: dict[str, object] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = secrets.token_urlsafe(8)
    return json_response(status, {"error": error}, **headers)


def bearer_or_param(
    headers: dict[str, str], query: dict[str, list[str]], form: dict[str, list[str]]
) -> str | None:
    """The access token of a Graph request: ``Authorization: Bearer``, else ``access_token``."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    for source in (query, form):
        values = source.get("access_token")
        if values and values[0]:
            return values[0]
    return None


def invalid_token() -> Response:
    """Graph's answer to a request without a valid token."""
    return graph_error(400, "Invalid OAuth access token - Cannot parse access token", code=190)
