"""A Bluesky PDS as the ``atproto`` SDK talks to it: XRPC over HTTP, JSON in and out.

Served: ``com.atproto.server.createSession`` / ``refreshSession`` / ``getSession``,
``com.atproto.repo.createRecord`` / ``getRecord`` / ``deleteRecord`` / ``uploadBlob``.
Like a PDS without an AppView, every ``app.bsky.*`` query answers 501 MethodNotImplemented.

Shapes and wording follow the reference PDS (bluesky-social/atproto): a record that
breaks the lexicon is a 400 ``InvalidRequest`` "Invalid app.bsky.feed.post record:
Record/text must not be longer than 300 graphemes"; a missing record is a 400
``RecordNotFound`` "Could not locate record: at://..."; and creating a record under a
record key that is already taken is an HTTP 500, as the reference PDS answers it.
Stricter than a real PDS: facet byte ranges must lie within the text.

Blobs: ``uploadBlob`` takes the raw body, up to 5 MiB (the reference PDS's default
``PDS_BLOB_UPLOAD_LIMIT``; more is a 413 PayloadTooLarge), sniffs PNG/JPEG/GIF/WebP for
the MIME type as the PDS does (else takes the Content-Type) and answers
``{"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType", "size"}}`` with the real
CIDv1 (raw codec, sha-256) of the bytes. A post's ``app.bsky.embed.images`` is checked
as the lexicon and the PDS check it, in the PDS's 0.5 wording: at most 4 images, ``alt``
required, ``image/*`` only, at most 2,000,000 bytes ("blob too big"), an optional
aspectRatio of positive integers, and a blob this account uploaded (else 400
BlobNotFound). Stricter than a real PDS: other embed types are refused, and the blob's
mimeType and size must match the upload every time (the PDS checks only the first record
that references a blob).

Tokens are HS256 JWTs signed with a per-simulator secret, with the ``exp`` claim the
SDK reads to decide when to refresh. CIDs are CIDv1 (dag-cbor, sha-256) in base32, but
of the record's canonical JSON rather than its DAG-CBOR: CID-shaped, not verifiable.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.images import image_info
from hub.simulator.core import PlatformSim, Received, Response, json_response
from hub.text import BLUESKY_BYTES, BLUESKY_GRAPHEMES, graphemes, utf8_length

POST = "app.bsky.feed.post"
IMAGES = "app.bsky.embed.images"
IMAGE_MAX_BYTES = 2_000_000  # app.bsky.embed.images#image: blob maxSize
UPLOAD_LIMIT = 5 * 1024 * 1024  # the reference PDS's default blobUploadLimit
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_S32 = "234567abcdefghijklmnopqrstuvwxyz"
_ACCESS_SECONDS = 2 * 3600  # what bsky.social gives an app-password session
_REFRESH_SECONDS = 90 * 24 * 3600

_PROCEDURES = {
    "com.atproto.server.createSession",
    "com.atproto.server.refreshSession",
    "com.atproto.repo.createRecord",
    "com.atproto.repo.deleteRecord",
    "com.atproto.repo.uploadBlob",
}
_QUERIES = {"com.atproto.server.getSession", "com.atproto.repo.getRecord"}


@dataclass(frozen=True)
class StoredRecord:
    """One record in a repo, as the PDS holds it."""

    uri: str
    cid: str
    value: dict[str, Any]

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[1]


class _Reject(Exception):
    """An XRPC error answer, raised from deep in a handler."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _invalid(message: str) -> _Reject:
    return _Reject(400, "InvalidRequest", message)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_cid(value: Any) -> str:
    """A CIDv1 string (base32, dag-cbor codec, sha-256) over *value*'s canonical JSON."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(data.encode()).digest()
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def blob_cid(data: bytes) -> str:
    """The CID a PDS gives a blob: CIDv1, raw codec, sha-256, base32 ("bafkrei...")."""
    raw = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


@dataclass(frozen=True)
class StoredBlob:
    """One uploaded blob, as the PDS holds it."""

    cid: str
    mime_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def encode_tid(value: int) -> str:
    """The 13-character base32-sortable form of a 64-bit TID integer."""
    return "".join(_S32[(value >> (5 * (12 - i))) & 31] for i in range(13))


def did_for(handle: str) -> str:
    """A stable did:plc (24 base32 characters) for a handle."""
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def _datetime_ok(value: Any) -> bool:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value):
        return False
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None


class BlueskySim(PlatformSim):
    """A Bluesky PDS with one repo per account that logs in.

    Any identifier logs in (its handle is the identifier, its DID derived from it); with
    :attr:`password` set, only that app password works. Requests count against a rate
    limit of :attr:`rate_limit` per :attr:`rate_window` seconds, reported in the
    ``ratelimit-*`` headers Bluesky sends; going over answers 429 RateLimitExceeded.
    """

    name = "bluesky"

    def __init__(self, password: str | None = None) -> None:
        super().__init__()
        self.password = password
        self.repos: dict[str, dict[tuple[str, str], StoredRecord]] = {}  # did -> records
        self.handles: dict[str, str] = {}  # did -> handle
        self.blobs: dict[str, dict[str, StoredBlob]] = {}  # did -> cid -> blob
        self.upload_limit = UPLOAD_LIMIT
        self.rate_limit = 3000
        self.rate_window = 300
        self.access_seconds = _ACCESS_SECONDS  # the SDK refreshes 15 min before expiry
        self._window_start = time.time()
        self._used = 0
        self._secret = secrets.token_bytes(32)
        self._last_tid = 0

    # --- what tests and the drill read -------------------------------------------------

    def posts(self) -> list[StoredRecord]:
        """Every live post, oldest record key first."""
        with self.lock:
            found = [r for repo in self.repos.values() for (c, _), r in repo.items() if c == POST]
        return sorted(found, key=lambda r: r.rkey)

    def get(self, rkey: str) -> StoredRecord | None:
        """The live post with record key *rkey*, in any repo."""
        return next((r for r in self.posts() if r.rkey == rkey), None)

    def blob(self, cid: str) -> StoredBlob | None:
        """The uploaded blob *cid*, in any repo."""
        with self.lock:
            return next((b[cid] for b in self.blobs.values() if cid in b), None)

    def describe(self) -> list[str]:
        lines = []
        for record in self.posts():
            first = str(record.value.get("text", "")).split("\n", 1)[0]
            mark = "↳ " if "reply" in record.value else ""
            embed = record.value.get("embed")
            images = embed.get("images", []) if isinstance(embed, dict) else []
            shown = "".join(f"  [image: {image.get('alt', '')}]" for image in images)
            lines.append(f"{record.uri}  {mark}{first}{shown}")
        return lines

    def handle(self, request: Received) -> Response:
        limited = self._count()
        headers = self._rate_headers()
        if limited:
            return json_response(
                429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, **headers
            )
        if not request.path.startswith("/xrpc/"):
            return json_response(404, {"error": "NotFound", "message": "Not Found"}, **headers)
        nsid = request.path.removeprefix("/xrpc/")
        try:
            if nsid in _PROCEDURES and request.method != "POST":
                raise _invalid(f"Incorrect HTTP method ({request.method}) expected POST")
            if nsid in _QUERIES and request.method != "GET":
                raise _invalid(f"Incorrect HTTP method ({request.method}) expected GET")
            method = getattr(self, "_" + nsid.replace(".", "_"), None)
            if method is None:
                raise _Reject(501, "MethodNotImplemented", "Method Not Implemented")
            code, body = method(request)
        except _Reject as reject:
            code, body = reject.status, {"error": reject.error, "message": reject.message}
        return json_response(code, body, **headers)

    def _count(self) -> bool:
        with self.lock:
            now = time.time()
            if now >= self._window_start + self.rate_window:
                self._window_start, self._used = now, 0
            self._used += 1
            return self._used > self.rate_limit

    def _rate_headers(self) -> dict[str, str]:
        with self.lock:
            return {
                "ratelimit-limit": str(self.rate_limit),
                "ratelimit-remaining": str(max(0, self.rate_limit - self._used)),
                "ratelimit-reset": str(int(self._window_start + self.rate_window)),
                "ratelimit-policy": f"{self.rate_limit};w={self.rate_window}",
            }

    # --- tokens -----------------------------------------------------------------------

    def _jwt(self, claims: dict[str, Any], typ: str) -> str:
        header = _b64url(json.dumps({"typ": typ, "alg": "HS256"}).encode())
        payload = _b64url(json.dumps(claims).encode())
        signing_input = f"{header}.{payload}".encode()
        signature = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    def _session(self, did: str) -> dict[str, Any]:
        now = int(time.time())
        aud = "did:web:127.0.0.1"
        access = {"scope": "com.atproto.appPass", "sub": did, "aud": aud, "iat": now,
                  "exp": now + self.access_seconds}  # fmt: skip
        refresh = {"scope": "com.atproto.refresh", "sub": did, "aud": aud, "iat": now,
                   "exp": now + _REFRESH_SECONDS, "jti": secrets.token_urlsafe(16)}  # fmt: skip
        return {
            "did": did,
            "handle": self.handles[did],
            "accessJwt": self._jwt(access, "at+jwt"),
            "refreshJwt": self._jwt(refresh, "refresh+jwt"),
            "active": True,
        }

    def _auth(self, request: Received, scope: str = "com.atproto.appPass") -> str:
        """The DID the bearer token belongs to; rejects a missing, bad or expired token."""
        value = request.headers.get("authorization", "")
        if not value.startswith("Bearer "):
            raise _Reject(401, "AuthMissing", "Authentication Required")
        token = value.removeprefix("Bearer ").strip()
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256)
            if not hmac.compare_digest(_b64url_decode(signature), expected.digest()):
                raise ValueError("bad signature")
            claims = json.loads(_b64url_decode(payload))
        except ValueError:
            raise _Reject(401, "InvalidToken", "Token could not be verified") from None
        if claims.get("scope") != scope or claims.get("sub") not in self.repos:
            raise _Reject(401, "InvalidToken", "Bad token scope")
        if int(claims.get("exp", 0)) <= time.time():
            raise _Reject(400, "ExpiredToken", "Token has expired")
        return str(claims["sub"])

    # --- com.atproto.server -------------------------------------------------------------

    def _com_atproto_server_createSession(self, request: Received) -> tuple[int, Any]:
        body = _object(request)
        identifier = _required(body, "identifier", "Input")
        password = _required(body, "password", "Input")
        if not identifier or not password or (self.password and password != self.password):
            raise _Reject(401, "AuthenticationRequired", "Invalid identifier or password")
        handle = identifier.lower().removeprefix("@")
        did = did_for(handle)
        with self.lock:
            self.handles.setdefault(did, handle)
            self.repos.setdefault(did, {})
            self.blobs.setdefault(did, {})
        return 200, self._session(did)

    def _com_atproto_server_refreshSession(self, request: Received) -> tuple[int, Any]:
        did = self._auth(request, scope="com.atproto.refresh")
        return 200, self._session(did)

    def _com_atproto_server_getSession(self, request: Received) -> tuple[int, Any]:
        did = self._auth(request)
        return 200, {"did": did, "handle": self.handles[did], "active": True}

    # --- com.atproto.repo ---------------------------------------------------------------

    def _repo_did(self, repo: str) -> str:
        with self.lock:
            if repo in self.repos:
                return repo
            for did, handle in self.handles.items():
                if handle == repo.lower():
                    return did
        raise _invalid(f"Could not find repo: {repo}")

    def _com_atproto_repo_createRecord(self, request: Received) -> tuple[int, Any]:
        did = self._auth(request)
        body = _object(request)
        repo = _required(body, "repo", "Input")
        collection = _required(body, "collection", "Input")
        record = body.get("record")
        if not isinstance(record, dict):
            raise _invalid('Input must have the property "record"')
        if self._repo_did(repo) != did:
            raise _Reject(401, "AuthenticationRequired", "Authentication Required")
        if collection != POST:
            raise _invalid(f"this simulator holds {POST} records only, not {collection}")
        kind = record.setdefault("$type", collection)
        if kind != collection:
            raise _invalid(f"Invalid $type: expected {collection}, got {kind}")
        rkey = body.get("rkey")
        if rkey is None:
            rkey = self._next_tid()
        elif not isinstance(rkey, str) or not TID_RE.match(rkey):
            raise _invalid(f"Invalid {collection} record key: {rkey!r} is not a TID")
        _validate_post(record)
        self._check_blobs(did, record)
        uri = f"at://{did}/{collection}/{rkey}"
        stored = StoredRecord(uri=uri, cid=make_cid(record), value=record)
        with self.lock:
            repo_records = self.repos[did]
            if (collection, rkey) in repo_records:
                # The reference PDS fails a repeated record key inside its transaction.
                raise _Reject(500, "InternalServerError", "Internal Server Error")
            repo_records[(collection, rkey)] = stored
            commit = self._commit()
        return 200, {"uri": uri, "cid": stored.cid, "commit": commit, "validationStatus": "valid"}

    def _com_atproto_repo_getRecord(self, request: Received) -> tuple[int, Any]:
        params = {k: v[0] for k, v in request.query.items() if v}
        for name in ("repo", "collection", "rkey"):
            if not params.get(name):
                raise _invalid(f'Error: Params must have the property "{name}"')
        did = self._repo_did(params["repo"])
        uri = f"at://{did}/{params['collection']}/{params['rkey']}"
        with self.lock:
            stored = self.repos[did].get((params["collection"], params["rkey"]))
        if stored is None or params.get("cid", stored.cid) != stored.cid:
            raise _Reject(400, "RecordNotFound", f"Could not locate record: {uri}")
        return 200, {"uri": stored.uri, "cid": stored.cid, "value": stored.value}

    def _com_atproto_repo_deleteRecord(self, request: Received) -> tuple[int, Any]:
        did = self._auth(request)
        body = _object(request)
        repo = _required(body, "repo", "Input")
        collection = _required(body, "collection", "Input")
        rkey = _required(body, "rkey", "Input")
        if self._repo_did(repo) != did:
            raise _Reject(401, "AuthenticationRequired", "Authentication Required")
        with self.lock:
            existed = self.repos[did].pop((collection, rkey), None)
            return 200, ({"commit": self._commit()} if existed else {})

    def _com_atproto_repo_uploadBlob(self, request: Received) -> tuple[int, Any]:
        did = self._auth(request)
        data = request.body
        if len(data) > self.upload_limit:
            raise _Reject(413, "PayloadTooLarge", "request entity too large")
        encoding = request.headers.get("content-type", "").split(";", 1)[0].strip()
        info = image_info(data)  # the PDS sniffs the file's type
        mime = info.mime if info is not None else encoding or "application/octet-stream"
        blob = StoredBlob(cid=blob_cid(data), mime_type=mime, data=data)
        with self.lock:
            self.blobs[did][blob.cid] = blob
        ref = {"$type": "blob", "ref": {"$link": blob.cid}, "mimeType": mime, "size": blob.size}
        return 200, {"blob": ref}

    def _check_blobs(self, did: str, record: dict[str, Any]) -> None:
        """Every image blob *record* embeds was uploaded to *did*, with its mimeType and size."""
        embed = record.get("embed")
        for image in embed.get("images", []) if isinstance(embed, dict) else []:
            ref = image["image"]
            cid = ref["ref"]["$link"]
            with self.lock:
                found = self.blobs[did].get(cid)
            if found is None:
                raise _Reject(400, "BlobNotFound", f"Could not find blob: {cid}")
            if ref["mimeType"] != found.mime_type:
                raise _Reject(
                    400,
                    "InvalidMimeType",
                    "Referenced Mimetype does not match stored blob. "
                    f"Expected: {found.mime_type}, Got: {ref['mimeType']}",
                )
            if ref["size"] != found.size:
                raise _Reject(
                    400,
                    "InvalidSize",
                    "Referenced Size does not match stored blob. "
                    f"Expected: {found.size}, Got: {ref['size']}",
                )

    def _next_tid(self) -> str:
        with self.lock:
            now = time.time_ns() // 1000
            self._last_tid = max(now, self._last_tid + 1)
            return encode_tid((self._last_tid << 10) | secrets.randbelow(1024))

    def _commit(self) -> dict[str, str]:
        rev = self._next_tid()
        return {"cid": make_cid({"rev": rev}), "rev": rev}


def _object(request: Received) -> dict[str, Any]:
    try:
        body = request.json
    except ValueError:
        raise _invalid("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("Input must be an object")
    return body


def _required(body: dict[str, Any], name: str, where: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise _invalid(f'{where} must have the property "{name}"')
    return value


def _validate_post(record: dict[str, Any]) -> None:
    """Check an app.bsky.feed.post record as the PDS's lexicon validation does."""

    def bad(message: str) -> _Reject:
        return _invalid(f"Invalid {POST} record: {message}")

    text = record.get("text")
    if not isinstance(text, str):
        raise bad('Record must have the property "text"')
    # The lexicon checks maxLength (UTF-8 bytes) before maxGraphemes, as here.
    if utf8_length(text) > BLUESKY_BYTES:
        raise bad(f"Record/text must not be longer than {BLUESKY_BYTES} characters")
    if graphemes(text) > BLUESKY_GRAPHEMES:
        raise bad(f"Record/text must not be longer than {BLUESKY_GRAPHEMES} graphemes")
    if "createdAt" not in record:
        raise bad('Record must have the property "createdAt"')
    if not _datetime_ok(record["createdAt"]):
        raise bad("Record/createdAt must be an valid atproto datetime")
    langs = record.get("langs", [])
    if not isinstance(langs, list) or len(langs) > 3 or not all(isinstance(x, str) for x in langs):
        raise bad("Record/langs must be an array of at most 3 language tags")
    size = utf8_length(text)
    facets = record.get("facets", [])
    if not isinstance(facets, list):
        raise bad("Record/facets must be an array")
    for i, facet in enumerate(facets):
        index = facet.get("index") if isinstance(facet, dict) else None
        start = index.get("byteStart") if isinstance(index, dict) else None
        end = index.get("byteEnd") if isinstance(index, dict) else None
        if not isinstance(start, int) or not isinstance(end, int):
            raise bad(f"Record/facets/{i}/index must have byteStart and byteEnd")
        if not 0 <= start < end <= size:  # stricter than the PDS, which does not check
            raise bad(f"Record/facets/{i}/index {start}..{end} is outside the text ({size} bytes)")
        features = facet.get("features")
        if not isinstance(features, list) or not features:
            raise bad(f"Record/facets/{i}/features must be a non-empty array")
        for j, feature in enumerate(features):
            if not isinstance(feature, dict) or not isinstance(feature.get("$type"), str):
                raise bad(f"Record/facets/{i}/features/{j} must be an object with $type")
    reply = record.get("reply")
    if reply is not None:
        for side in ("root", "parent"):
            ref = reply.get(side) if isinstance(reply, dict) else None
            if not isinstance(ref, dict):
                raise bad(f'Record/reply must have the property "{side}"')
            uri, cid = ref.get("uri"), ref.get("cid")
            if not isinstance(uri, str) or not uri.startswith("at://"):
                raise bad(f"Record/reply/{side}/uri must be an at-uri")
            if not isinstance(cid, str) or not cid:
                raise bad(f"Record/reply/{side}/cid must be a cid string")
    if "embed" in record:
        _validate_embed(record["embed"], bad)


def _validate_embed(embed: Any, bad: Callable[[str], _Reject]) -> None:
    """Check an app.bsky.embed.images embed as the lexicon does (the PDS 0.5 wording)."""
    if not isinstance(embed, dict) or not isinstance(embed.get("$type"), str):
        raise bad("Expected object with $type at $.record.embed")
    if embed["$type"] != IMAGES:  # stricter: a PDS takes any embed of the open union
        raise bad(f"this simulator takes {IMAGES} embeds only, not {embed['$type']}")
    if "images" not in embed:
        raise bad('Missing required key "images" at $.record.embed')
    images = embed["images"]
    if not isinstance(images, list):
        raise bad("Expected array value type at $.record.embed.images")
    if len(images) > 4:
        raise bad(f"array too big (maximum 4, got {len(images)}) at $.record.embed.images")
    for i, image in enumerate(images):
        at = f"$.record.embed.images[{i}]"
        if not isinstance(image, dict):
            raise bad(f"Expected object value type at {at}")
        # In the lexicon's order (image, alt, aspectRatio), as the PDS reports the first.
        if "image" not in image:
            raise bad(f'Missing required key "image" at {at}')
        blob = image["image"]
        ref = blob.get("ref") if isinstance(blob, dict) else None
        if (
            not isinstance(blob, dict)
            or blob.get("$type") != "blob"
            or not isinstance(ref, dict)
            or not isinstance(ref.get("$link"), str)
            or not isinstance(blob.get("mimeType"), str)
            or not isinstance(blob.get("size"), int)
        ):
            raise bad(f"Expected blob value type at {at}.image")
        if not blob["mimeType"].startswith("image/"):
            raise bad(f'Expected "image/*" (got "{blob["mimeType"]}") at {at}.image.mimeType')
        if blob["size"] > IMAGE_MAX_BYTES:
            raise bad(f"blob too big (maximum {IMAGE_MAX_BYTES}, got {blob['size']}) at {at}.image")
        if "alt" not in image:
            raise bad(f'Missing required key "alt" at {at}')
        if not isinstance(image["alt"], str):
            raise bad(f"Expected string value type (got {image['alt']!r}) at {at}.alt")
        ratio = image.get("aspectRatio")
        if ratio is not None:
            if not isinstance(ratio, dict):
                raise bad(f"Expected object value type at {at}.aspectRatio")
            for side in ("width", "height"):
                if side not in ratio:
                    raise bad(f'Missing required key "{side}" at {at}.aspectRatio')
                value = ratio[side]
                if not isinstance(value, int) or isinstance(value, bool):
                    raise bad(f"Expected integer value type at {at}.aspectRatio.{side}")
                if value < 1:
                    raise bad(
                        f"integer too small (minimum 1, got {value}) at {at}.aspectRatio.{side}"
                    )
