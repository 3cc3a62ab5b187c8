"""Results of pure, per-file work kept between runs, keyed by a digest of the inputs.

``stormhub check`` parses, validates and scans every update file, and a hub in
mid-storm has thousands, of which a publish changes one. The work on one file (its
YAML, its Markdown's safety, its model, the privacy scan of each text) depends only
on the file's bytes, a few hub settings and StormHub's own code, so its result is
kept under a digest of exactly those: a file whose bytes changed, a setting that
changed, a new version of StormHub or of a library it parses with all miss the memo
and are worked out again. To spare reading thousands of files, the digest of a file's
bytes is kept with its status (size, modification and change times, inode) as git's
index keeps it, and trusted only while that status is unchanged and was recorded well
after the file's last change (:meth:`Memo.file_key`).

The memo lives in ``.stormhub/cache/check.pickle`` in the hub folder (beside the
ledger, never in git). It is written to a temporary name and renamed into place, so
two commands at once each leave a whole file; one that cannot be read (damaged, from
another Python) is ignored and rebuilt, and one that cannot be written (a read-only
checkout) costs only speed. A save keeps only the entries this run used, so the file
follows the hub instead of growing.

Like ``.venv`` or the ledger, the file is trusted as the user's own: it is unpickled,
so it must not come from anyone else (``.stormhub/`` is listed in ``.gitignore``).

    memo = Memo.open(root)
    key = memo.key("update", path, data)
    value = memo.get(key)
    if value is MISSING:
        value = work(data)
        memo.put(key, value)
    memo.save()
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Final

CACHE = Path(".stormhub/cache/check.pickle")
# The libraries whose behaviour the memoised results depend on.
SETTLED = 2_000_000_000  # ns: a file's status is trusted once it is this much older than
# its last change (two seconds: the coarsest time resolution of a file system in use, FAT)
LIBRARIES = ("pydantic", "pydantic-core", "PyYAML", "Markdown", "phonenumbers", "nh3", "tzdata")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@functools.cache
def _fingerprint() -> bytes:
    """StormHub's own code and the parsing libraries' versions, as one digest."""
    digest = hashlib.sha256(sys.version.encode())
    package = Path(__file__).parent
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none".encode())
    return digest.digest()


class Memo:
    """A dictionary from input digests to results, loaded once and saved once."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._salt = _fingerprint() if path is not None else b""
        # Each result is kept pickled on its own, so that loading and saving thousands
        # is copying bytes, and only the results asked for are unpickled.
        self._old: dict[bytes, bytes] = {}
        # A file's status (size, times, inode) -> the digest of its bytes, as git's index
        # keeps it: an unchanged file is not read again. See file_key.
        self._old_stats: dict[bytes, tuple[tuple[int, ...], bytes]] = {}
        if path is not None:
            self._old, self._old_stats = self._load()
        self._new: dict[bytes, bytes] = {}
        self._new_stats: dict[bytes, tuple[tuple[int, ...], bytes]] = {}
        self._changed = False

    @classmethod
    def open(cls, root: Path | str) -> Memo:
        """The memo of the hub at *root*."""
        return cls(Path(root) / CACHE)

    @classmethod
    def none(cls) -> Memo:
        """A memo that remembers nothing between runs (for callers that must not write)."""
        return cls(None)

    def _load(self) -> tuple[dict[bytes, bytes], dict[bytes, tuple[tuple[int, ...], bytes]]]:
        assert self.path is not None
        try:
            with self.path.open("rb") as stream:
                salt, entries, stats = pickle.load(stream)
        except (OSError, EOFError, ValueError, TypeError, AttributeError, ImportError,
                pickle.UnpicklingError):  # fmt: skip
            return {}, {}
        if salt != self._salt or not isinstance(entries, dict) or not isinstance(stats, dict):
            return {}, {}
        return entries, stats

    @staticmethod
    def key(*parts: str | bytes) -> bytes:
        """The digest of *parts* (each length-prefixed, so no two lists of parts meet)."""
        digest = hashlib.sha256()
        for part in parts:
            data = part.encode() if isinstance(part, str) else part
            digest.update(b"%d:" % len(data))
            digest.update(data)
        return digest.digest()

    def file_key(self, path: str, *parts: str | bytes) -> bytes | None:
        """The key of *parts* and the bytes of the file at *path*; None if unreadable.

        A file whose status (size, modification and change times, inode) is the one
        recorded with its digest by an earlier run is not read again, as git trusts its
        index. Only a status recorded at least :data:`SETTLED` after the file's last
        change is trusted, so that a write within the file system's time resolution
        of the earlier run's look cannot hide behind an unchanged time.
        """
        try:
            status = os.stat(path)
        except OSError:
            return None
        signature = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
        name = self.key(*parts)
        known = self._old_stats.get(name)
        if known is not None and known[0] == signature:
            self._new_stats[name] = known
            return known[1]
        try:
            with open(path, "rb") as stream:
                key = self.key(*parts, stream.read())
        except OSError:
            return None
        if time.time_ns() - max(status.st_mtime_ns, status.st_ctime_ns) > SETTLED:
            self._new_stats[name] = (signature, key)
            self._changed = True
        return key

    def get(self, key: bytes) -> Any:
        """The result kept under *key* (a fresh copy each time), or :data:`MISSING`."""
        blob = self._new.get(key) or self._old.get(key)
        if blob is None:
            return MISSING
        self._new[key] = blob
        return pickle.loads(blob)

    def put(self, key: bytes, value: Any) -> None:
        self._new[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._changed = True

    def save(self) -> None:
        """Write the entries this run used, if anything is new or went unused."""
        if self.path is None or not (
            self._changed
            or len(self._new) != len(self._old)
            or len(self._new_stats) != len(self._old_stats)
        ):
            return
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".check-", dir=self.path.parent)
            with os.fdopen(fd, "wb") as stream:
                pickle.dump((self._salt, self._new, self._new_stats), stream,
                            protocol=pickle.HIGHEST_PROTOCOL)  # fmt: skip
            os.replace(tmp, self.path)
        except OSError:  # a read-only hub: the next run does the work again
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return
        self._old, self._old_stats = dict(self._new), dict(self._new_stats)
        self._changed = False


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """The cyclic garbage collector paused while thousands of objects are made at once.

    Loading a hub makes tens of thousands of small objects that all stay alive; each
    few hundred of them would set off a collection that walks every one made so far
    (a quarter of a check of 5000 updates). Reference counting still frees what dies.
    """
    was = gc.isenabled()
    gc.disable()
    gc.unfreeze()  # an earlier bulk's objects, if still alive: collected like any old ones
    try:
        yield
    finally:
        # What was made lives as long as the hub does: out of the collector's sight, so
        # that no collection later (in the render, in the fan-out) walks it all again.
        # Reference counting still frees it; unfreeze() above hands any cycles back.
        gc.freeze()
        if was:
            gc.enable()
