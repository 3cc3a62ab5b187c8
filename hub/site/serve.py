"""Preview server: the whole site, every language, rebuilt when the hub's files change.

``mkdocs serve`` would build one MkDocs config, the default language's; a hub in
several languages has a site per language (:mod:`hub.site.build`). So the preview
builds exactly what ``stormhub build`` does, into a folder of its own, and serves it
with MkDocs' live-reload server, which reloads open pages after each rebuild. A save
with problems is reported (``file:line:col``) and the last good site stays up.
"""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from mkdocs.livereload import LiveReloadServer

from hub.content import docs_dir_of
from hub.errors import HubError
from hub.site.build import build_site

log = logging.getLogger("hub.site.serve")


def serve_site(root: Path, dev_addr: str = "127.0.0.1:8000") -> None:
    """Serve the hub at *root* on *dev_addr* until interrupted."""
    root = Path(root).resolve()
    host, _, port = dev_addr.rpartition(":")
    with tempfile.TemporaryDirectory(prefix="stormhub-serve-") as folder:
        site = Path(folder) / "site"

        def build() -> None:
            try:
                build_site(root, site_dir=site, strict=False)
            except HubError as exc:  # keep serving the last good site; say what is wrong
                print(exc.message, file=sys.stderr, flush=True)
                print("The previous site is still served; fix and save.", file=sys.stderr)

        build()
        site.mkdir(exist_ok=True)  # (a first build that failed: serve an empty folder)
        server = LiveReloadServer(
            builder=build, host=host or "127.0.0.1", port=int(port), root=str(site),
            mount_path=_mount_path(root),
        )  # fmt: skip
        for path in (root / "content", docs_dir_of(root), root / "mkdocs.yml",
                     root / "channels.yaml"):  # fmt: skip
            if path.exists():
                server.watch(str(path))
        signal.signal(signal.SIGTERM, _interrupt)  # so that the folder is removed
        print(f"Serving {root.name} on {server.url}", file=sys.stderr, flush=True)
        try:
            server.serve()  # type: ignore[no-untyped-call]
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()


def _mount_path(root: Path) -> str:
    """The path part of ``site_url`` (the site may live below the host's root)."""
    try:
        text = (root / "mkdocs.yml").read_text(encoding="utf-8")
    except OSError:
        return "/"
    for line in text.splitlines():
        if line.startswith("site_url:"):
            return urlsplit(line.partition(":")[2].strip().strip("'\"")).path or "/"
    return "/"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
