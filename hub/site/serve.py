"""Preview server: ``mkdocs serve`` on the hub, reloading when ``content/`` changes."""

from __future__ import annotations

from pathlib import Path

from mkdocs.commands.serve import serve


def serve_site(root: Path, dev_addr: str = "127.0.0.1:8000") -> None:
    """Serve the hub at *root* on *dev_addr* until interrupted."""
    serve(config_file=str(Path(root).resolve() / "mkdocs.yml"), dev_addr=dev_addr, livereload=True)
