"""``bluesky``: posts to a Bluesky (AT Protocol) account through the ``atproto`` SDK.

Logs in with an app password on first use (``com.atproto.server.createSession``, no
profile lookup, so a PDS without an AppView works) and writes posts with
``com.atproto.repo.createRecord``.

Exactly once: each post's record key is a TID derived from the delivery key (see
:func:`record_key`), so a repeated request names the same record. A PDS refuses a
record key that is taken (the reference PDS with an HTTP 500, others with 409/400), so
after ANY failed create the adapter reads the record back; if it is there with the same
text, the earlier request went through and that post is the answer. A thread resumes
the same way, part by part.

Images: when the post has an image file, the first post of the thread embeds it
(``app.bsky.embed.images``, with the alt text and, when :mod:`hub.images` can read it,
the aspect ratio as the image is shown). The bytes go up first with
``com.atproto.repo.uploadBlob``; blobs are content-addressed, so uploading again on a
retry names the same blob. The lexicon takes image blobs up to :data:`IMAGE_MAX_BYTES`;
a larger file fails before anything is sent.
The read-back after a failed create compares the embedded image as well as the text.

Length: Bluesky allows 300 graphemes and 3000 UTF-8 bytes. :func:`hub.text.bluesky_length`
is the grapheme count unless the bytes would bind first, when it is ceil(bytes / 10), so
``length <= 300`` holds exactly when both limits do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hub.channels.base import (
    Channel,
    Post,
    PublishError,
    Receipt,
    error_for_status,
    read_image,
    retry_after_seconds,
)
from hub.channels.http import tls_context
from hub.config import BlueskyConfig, MissingSecret
from hub.text import (
    BLUESKY_GRAPHEMES,
    bluesky_length,
    bluesky_link_facets,
    find_urls,
    utf8_length,
)

if TYPE_CHECKING:
    from hub.model import Hub

T = TypeVar("T")
PLATFORM = "Bluesky"
POST = "app.bsky.feed.post"
IMAGES = "app.bsky.embed.images"
# app.bsky.embed.images#image: ``image`` is a blob with accept ["image/*"] and maxSize
# 2000000 ("May be up to 2 MB, formerly limited to 1 MB"); the reference PDS refuses a
# larger one when the record is created.
IMAGE_MAX_BYTES = 2_000_000

_S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, the TID alphabet
# Record-key timestamps lie in [2020-01-01, 2020-01-01 + 2**47 us) = up to mid-2024: in
# the past, so they never look like "from the future", with 47 + 10 bits to tell apart.
_TID_EPOCH_US = 1_577_836_800 * 1_000_000
_TID_SPAN_BITS = 47
_AT_URI_RE = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/]+)$")


def encode_tid(value: int) -> str:
    """The 13-character base32-sortable form of a 64-bit TID integer."""
    return "".join(_S32[(value >> (5 * (12 - i))) & 31] for i in range(13))


def record_key(key: str, part: int = 0) -> str:
    """The deterministic TID record key for part *part* of the delivery *key*.

    A TID is a 64-bit integer: top bit 0, 53 bits of microseconds since the UNIX epoch,
    10 bits of clock identifier, written as 13 base32-sortable characters
    (https://atproto.com/specs/tid). Here SHA-256 of the key gives a timestamp within a
    window in the past and the clock id; part *n* of a thread is *n* microseconds later,
    so a thread's keys sort in order.
    """
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    micros = _TID_EPOCH_US + (number >> 10) % (1 << _TID_SPAN_BITS) + part
    return encode_tid((micros << 10) | (number & 0x3FF))


def _now_iso() -> str:
    """Now in UTC as Bluesky writes ``createdAt``: milliseconds and a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Ref:
    """A strong reference to a record: com.atproto.repo.strongRef."""

    uri: str
    cid: str

    def json(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


@dataclass(frozen=True)
class Image:
    """An image file, read and checked, ready to upload."""

    path: str
    data: bytes
    mime: str
    alt: str
    dimensions: tuple[int, int] | None  # (width, height) as shown; None if unknown

    @classmethod
    def load(cls, path: str, alt: str | None) -> Image:
        """Read *path*; a :class:`PublishError` (permanent) if Bluesky cannot take it."""
        data, mime, info = read_image(path, IMAGE_MAX_BYTES, PLATFORM)
        shown = (info.width, info.height) if info else None  # no aspectRatio when unknown
        return cls(path, data, mime, alt or "", shown)


class BlueskyChannel(Channel[BlueskyConfig]):
    type = "bluesky"
    length_unit = "graphemes"
    max_chars = BLUESKY_GRAPHEMES
    supports_edit = False  # Bluesky has no edit: a correction is a reply
    supports_delete = True
    supports_threads = True
    takes_images = True  # in the first post of a thread, as app.bsky.embed.images
    idempotent = True  # the record key is derived from the delivery key
    can_find = False

    def __init__(self, config: BlueskyConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._client: Any = None  # atproto_client.Client, made and logged in on first use
        self._did = ""
        self._handle = config.handle
        self._lock = threading.RLock()

    def length(self, text: str) -> int:
        return bluesky_length(text)

    # --- session --------------------------------------------------------------------

    @property
    def _env_name(self) -> str:
        names = self.config.env_names()
        return names[0] if names else "the app password variable"

    def _password(self) -> str:
        return self.config.secret("app_password").get_secret_value()

    def _login(self) -> Any:
        """The logged-in SDK client; the first call creates the session."""
        with self._lock:
            if self._client is not None:
                return self._client
            from atproto_client import Client  # type: ignore[import-untyped, unused-ignore]
            from atproto_client.request import Request  # type: ignore[import-untyped, unused-ignore]

            try:
                password = self._password()
            except MissingSecret as exc:
                raise PublishError(
                    f"environment variable {', '.join(exc.names)} is not set: set it to "
                    f"an app password of {self.config.handle}",
                    transient=False,
                ) from None
            client = Client(
                base_url=str(self.config.service).rstrip("/") + "/xrpc",
                request=Request(timeout=self.config.timeout, verify=tls_context()),
            )
            client.on_session_change(self._on_session)
            try:
                client.login(self.config.handle, password, fetch_bsky_profile=False)
            except Exception as exc:
                client.request.close()
                raise self._error(exc) from exc
            self._client = client
            return client

    def _on_session(self, event: Any, session: Any) -> None:
        self._did = str(session.did)
        self._handle = str(session.handle)

    def _drop_session(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.request.close()
            self._client = None

    def close(self) -> None:
        self._drop_session()

    def _call(self, request: Callable[[Any], T]) -> T:
        """Run *request* with the logged-in client; SDK exceptions propagate as they are.

        A 401 from a session that was working means the PDS no longer takes its token
        (revoked, or the server's keys changed): log in once more and repeat. A request
        refused with 401 wrote nothing, so repeating it is safe.
        """
        from atproto_client import exceptions as sdk  # type: ignore[import-untyped, unused-ignore]

        client = self._login()
        try:
            return request(client)
        except sdk.UnauthorizedError:
            self._drop_session()
        return request(self._login())

    # --- errors -----------------------------------------------------------------------

    def _error(self, exc: Exception) -> PublishError:
        """A :class:`PublishError` for an SDK exception; never holds the app password."""
        from atproto_client import exceptions as sdk  # type: ignore[import-untyped, unused-ignore]

        error: PublishError
        response = getattr(exc, "response", None)
        if isinstance(exc, sdk.RequestErrorBase) and response is not None:
            status = int(response.status_code)
            code, message = _xrpc_error(response.content)
            detail = self._scrub(f"{code}: {message}" if message else code or str(status))
            if code == "ExpiredToken":
                self._drop_session()  # the next attempt logs in afresh
                error = PublishError(
                    f"{PLATFORM} session expired ({detail}); logging in again",
                    transient=True,
                    status=status,
                )
            else:
                error = error_for_status(
                    PLATFORM,
                    status,
                    detail,
                    retry_after=retry_after_seconds(response.headers, "ratelimit-reset")
                    if status in (429, 503)
                    else None,
                    fix_credentials=(
                        f"check the handle {self.config.handle!r}, or create a new app "
                        f"password in Settings > App passwords and set {self._env_name}"
                    ),
                )
        elif isinstance(exc, sdk.InvokeTimeoutError):
            error = PublishError(
                f"{PLATFORM} did not answer within {self.config.timeout:g} s", transient=True
            )
        elif isinstance(exc, sdk.NetworkError):
            cause = exc.__cause__ or exc
            error = PublishError(
                f"could not reach {PLATFORM} at {self.config.service}: "
                f"{self._scrub(str(cause)) or type(cause).__name__}",
                transient=True,
            )
        else:
            error = PublishError(
                f"{PLATFORM} sent an answer the SDK could not read "
                f"({type(exc).__name__}: {self._scrub(str(exc))[:200]})",
                transient=False,
            )
        error.__cause__ = exc
        return error

    def _scrub(self, text: str) -> str:
        try:
            secret = self._password()
        except Exception:
            return text
        return text.replace(secret, "***") if secret else text

    # --- records ----------------------------------------------------------------------

    def _record(
        self, text: str, reply: tuple[_Ref, _Ref] | None, embed: dict[str, Any] | None
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": _now_iso(),
            "langs": [self.hub.info.language],
        }
        facets = bluesky_link_facets(text) + self._tag_facets(text)
        if facets:
            record["facets"] = sorted(facets, key=_facet_start)
        if reply is not None:
            root, parent = reply
            record["reply"] = {"root": root.json(), "parent": parent.json()}
        if embed is not None:
            record["embed"] = embed
        return record

    def _embed(self, image: Image) -> dict[str, Any]:
        """Upload *image* and return the app.bsky.embed.images object that shows it."""
        entry: dict[str, Any] = {"alt": image.alt, "image": self._upload(image)}
        if image.dimensions is not None:
            width, height = image.dimensions
            entry["aspectRatio"] = {"width": width, "height": height}
        return {"$type": IMAGES, "images": [entry]}

    def _upload(self, image: Image) -> dict[str, Any]:
        """The blob (``{$type: blob, ref: {$link}, mimeType, size}``) for *image*'s bytes.

        Sent as the raw body with the image's own Content-Type: the SDK's ``upload_blob``
        would send ``*/*`` and pass the bytes as httpx's deprecated ``data=``.
        """
        self._login()
        try:
            answer = self._call(
                lambda c: c.invoke_procedure(
                    "com.atproto.repo.uploadBlob",
                    content=image.data,
                    headers={"Content-Type": image.mime},
                    output_encoding="application/json",
                )
            )
        except PublishError:
            raise  # from logging in
        except Exception as exc:
            raise self._error(exc) from exc
        content = answer.content
        blob = content.get("blob") if isinstance(content, dict) else None
        if not isinstance(blob, dict) or _blob_link(blob) is None:
            raise PublishError(
                f"{PLATFORM} answered the upload of {image.path} without a blob reference",
                transient=False,
            )
        return blob

    def _tag_facets(self, text: str) -> list[dict[str, object]]:
        """app.bsky.richtext.facet#tag facets for the configured hashtags, outside links."""
        if not self.config.hashtags:
            return []
        links = [(start, end) for start, end, _ in find_urls(text)]
        names = "|".join(re.escape(tag) for tag in self.config.hashtags)
        facets: list[dict[str, object]] = []
        for m in re.finditer(rf"(?<![\w#])#({names})(?!\w)", text):
            if any(s < m.end() and m.start() < e for s, e in links):
                continue
            start = utf8_length(text[: m.start()])
            end = start + utf8_length(m.group())
            facets.append(
                {
                    "index": {"byteStart": start, "byteEnd": end},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": m.group(1)}],
                }
            )
        return facets

    def _create(
        self,
        rkey: str,
        text: str,
        reply: tuple[_Ref, _Ref] | None,
        embed: dict[str, Any] | None = None,
    ) -> _Ref:
        self._login()
        data = {"repo": self._did, "collection": POST, "rkey": rkey,
                "record": self._record(text, reply, embed)}  # fmt: skip
        try:
            created = self._call(lambda c: c.com.atproto.repo.create_record(data))
        except PublishError:
            raise  # from logging in
        except Exception as exc:
            # A repeated record key fails (the reference PDS answers 500): is it ours?
            existing = self._existing(rkey)
            if existing is None:
                raise self._error(exc) from exc
            ref, value = existing
            same_image = _embed_links(_field(value, "embed")) == _embed_links(embed)
            if _text_of(value) != text or not same_image:
                raise PublishError(
                    f"{PLATFORM} already holds a different post under record key {rkey} "
                    f"({self._web_url(ref.uri)}): delete it to post this update again",
                    transient=False,
                ) from exc
            return ref
        return _Ref(str(created.uri), str(created.cid))

    def _get(self, repo: str, collection: str, rkey: str) -> tuple[_Ref, Any] | None:
        """A record and its value, or None if the PDS has no such record."""
        from atproto_client import exceptions as sdk  # type: ignore[import-untyped, unused-ignore]

        params = {"repo": repo, "collection": collection, "rkey": rkey}
        try:
            found = self._call(lambda c: c.com.atproto.repo.get_record(params))
        except PublishError:
            raise  # from logging in
        except sdk.BadRequestError as exc:
            code, _ = _xrpc_error(exc.response.content if exc.response else None)
            if code == "RecordNotFound":
                return None
            raise self._error(exc) from exc
        except Exception as exc:
            raise self._error(exc) from exc
        return _Ref(str(found.uri), str(found.cid)), found.value

    def _existing(self, rkey: str) -> tuple[_Ref, Any] | None:
        """The post at *rkey* in our repo, or None if it is not there or cannot be read."""
        try:
            return self._get(self._did, POST, rkey)
        except PublishError:
            return None

    def _web_url(self, uri: str) -> str:
        return f"https://bsky.app/profile/{self._handle}/post/{uri.rsplit('/', 1)[-1]}"

    def _thread(self, post: Post, key: str, reply_to: tuple[_Ref, _Ref] | None) -> Receipt:
        """Create every part of *post*, each a reply to the one before; the image in the first."""
        image = Image.load(post.image_file, post.alt) if post.image_file else None
        refs: list[_Ref] = []
        for index, text in enumerate(post.parts):
            if refs:
                reply: tuple[_Ref, _Ref] | None = (reply_to[0] if reply_to else refs[0], refs[-1])
            else:
                reply = reply_to
            embed = self._embed(image) if image is not None and index == 0 else None
            refs.append(self._create(record_key(key, index), text, reply, embed))
        return Receipt(
            remote_id=refs[0].uri,
            url=self._web_url(refs[0].uri),
            ids=tuple(ref.uri for ref in refs),
        )

    # --- the channel interface --------------------------------------------------------

    def publish(self, post: Post, key: str) -> Receipt:
        return self._thread(post, key, reply_to=None)

    def reply(self, receipt: Receipt, post: Post, key: str) -> Receipt:
        """Post *post* under the last part of *receipt*'s thread, in the same thread.

        The parent's CID is read back from the PDS (receipts keep URIs only); the root
        is the parent's own root when the parent is itself a reply. If the parent is
        gone (deleted on Bluesky), *post* goes out as a post of its own.
        """
        match = _AT_URI_RE.match(receipt.last_id)
        if match is None:
            raise PublishError(f"not a Bluesky post URI: {receipt.last_id}", transient=False)
        found = self._get(match["repo"], match["collection"], match["rkey"])
        if found is None:
            return self.publish(post, key)
        parent, value = found
        root = _root_of(value) or parent
        return self._thread(post, key, reply_to=(root, parent))

    def delete(self, receipt: Receipt) -> None:
        """Delete every part of the thread (a PDS treats deleting a missing record as done)."""
        for uri in reversed(receipt.ids or (receipt.remote_id,)):
            match = _AT_URI_RE.match(uri)
            if match is None:
                raise PublishError(f"not a Bluesky post URI: {uri}", transient=False)
            self._delete_record(match.groupdict())

    def _delete_record(self, ref: dict[str, str]) -> None:
        try:
            self._call(lambda c: c.com.atproto.repo.delete_record(ref))
        except PublishError:
            raise  # from logging in
        except Exception as exc:
            raise self._error(exc) from exc


# --- helpers -----------------------------------------------------------------------------


def _facet_start(facet: dict[str, object]) -> int:
    index = facet["index"]
    assert isinstance(index, dict)
    return int(index["byteStart"])


def _xrpc_error(content: Any) -> tuple[str, str]:
    """(error, message) of an XRPC error body, whatever form the SDK left it in."""
    if content is None:
        return "", ""
    if isinstance(content, dict):
        return str(content.get("error") or ""), str(content.get("message") or "")
    if isinstance(content, bytes | str):
        text = content.decode(errors="replace") if isinstance(content, bytes) else content
        return text.strip()[:200], ""
    return str(getattr(content, "error", "") or ""), str(getattr(content, "message", "") or "")


def _field(value: Any, name: str) -> Any:
    """*value*[name] of a JSON object, or the attribute of an SDK model."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _blob_link(blob: Any) -> str | None:
    """The CID a blob names: ``ref.$link`` in JSON, ``ref.link`` (IpldLink) in the SDK."""
    ref = _field(blob, "ref")
    link = ref.get("$link") if isinstance(ref, dict) else getattr(ref, "link", ref)
    return link if isinstance(link, str) and link else None


def _embed_links(embed: Any) -> tuple[str | None, ...]:
    """The blob CIDs of the images in an app.bsky.embed.images object (none: empty)."""
    images = _field(embed, "images") if embed is not None else None
    return tuple(_blob_link(_field(image, "image")) for image in images or ())


def _text_of(value: Any) -> str | None:
    text = value.get("text") if isinstance(value, dict) else getattr(value, "text", None)
    return text if isinstance(text, str) else None


def _root_of(value: Any) -> _Ref | None:
    """The thread root a post record replies under, if it is a reply."""
    reply = value.get("reply") if isinstance(value, dict) else getattr(value, "reply", None)
    if reply is None:
        return None
    root = reply.get("root") if isinstance(reply, dict) else getattr(reply, "root", None)
    if root is None:
        return None
    if isinstance(root, dict):
        uri, cid = root.get("uri"), root.get("cid")
    else:
        uri, cid = getattr(root, "uri", None), getattr(root, "cid", None)
    return _Ref(str(uri), str(cid)) if uri and cid else None
