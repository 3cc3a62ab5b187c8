"""``outbox``: each post becomes a JSON file in a folder; no credentials, no network.

The demo's default channel, and a way for a team to review exactly what would go out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hub.channels.base import Channel, Post, Receipt
from hub.config import OutboxConfig


class OutboxChannel(Channel[OutboxConfig]):
    type = "outbox"
    supports_edit = True
    supports_delete = True
    supports_threads = True
    takes_images = True
    idempotent = True  # the file name is the delivery key: writing it twice is one post

    @property
    def limit(self) -> int:
        return self.config.max_characters

    @property
    def folder(self) -> Path:
        return Path(self.config.folder)  # made absolute against the hub by hub.config

    def length(self, text: str) -> int:
        return len(text)

    def _write(self, name: str, post: Post) -> Receipt:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.json"
        record = {
            "update": post.update_id,
            "revision": post.revision,
            "parts": list(post.parts),
            "link": post.link,
            "image": post.image,
            "alt": post.alt,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)  # readers never see half a file
        return Receipt(remote_id=name, url=path.as_uri(), ids=(name,))

    def publish(self, post: Post, key: str) -> Receipt:
        return self._write(key, post)

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        return self._write(receipt.remote_id, post)

    def delete(self, receipt: Receipt) -> None:
        (self.folder / f"{receipt.remote_id}.json").unlink(missing_ok=True)
