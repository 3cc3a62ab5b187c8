"""Atomic site build: render into a fresh folder beside ``site/``, then swap it in.

Readers and web servers see either the old site or the new one, never a mix; a
build that fails leaves the previous ``site/`` exactly as it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from hub.errors import BuildError
from hub.site.plugin import StormHubPlugin

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

# The settings of mkdocs.yml a language's site takes from ``extra: translations:``.
TRANSLATED_SETTINGS = ("site_name", "site_description", "copyright")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def swap_in(new: Path, target: Path) -> None:
    """Put the folder *new* at *target*, replacing what was there in one step."""
    if not target.exists():
        new.rename(target)
        return
    if _exchange(new, target):
        shutil.rmtree(new)  # now holds the old site
        return
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    target.rename(old)
    new.rename(target)
    shutil.rmtree(old)


def build_site(
    root: Path | str,
    *,
    site_dir: Path | str | None = None,
    now: dt.datetime | None = None,
    strict: bool = True,
    exercise: bool = False,
) -> Path:
    """Build the hub at *root* into *site_dir* (default ``<root>/site``).

    Args:
        root: the hub folder holding ``mkdocs.yml`` and ``content/``.
        site_dir: where the finished site goes.
        now: the moment the site describes (which closures are current); default now.
        strict: fail on any MkDocs warning, such as a broken link.
        exercise: an exercise: an EXERCISE banner on every page, items marked in the feeds.

    Returns:
        The path of the built site.

    Raises:
        ContentError: the content has problems; nothing was written.
        BuildError: MkDocs failed; the previous site is untouched.
    """
    root = Path(root).resolve()
    target = Path(site_dir).resolve() if site_dir else root / "site"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        config = load_config(str(root / "mkdocs.yml"), site_dir=str(staging), strict=strict)
        plugin = _plugin(root, config)
        # (MkDocs keeps one instance of the plugin for the process: set all it reads.)
        plugin.now, plugin.exercise, plugin.language = now, exercise, None
        _quiet_mkdocs()
        mkdocs_build(config)
        hub = plugin.written
        assert hub is not None
        # The other languages' sites, each in <language>/ of the default one's.
        for language in hub.info.languages[1:]:
            config = language_config(root, language, staging / language, strict=strict)
            other = _plugin(root, config)
            other.preloaded, other.now, other.exercise = hub, plugin.moment, exercise
            other.language = language
            mkdocs_build(config)
    except MkDocsException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"the site build failed ({exc}); the previous site was kept") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.chmod(0o755)
    swap_in(staging, target)
    return target


def _plugin(root: Path, config: MkDocsConfig) -> StormHubPlugin:
    plugin = config.plugins.get("stormhub")
    if not isinstance(plugin, StormHubPlugin):
        raise BuildError(f"{root / 'mkdocs.yml'}: plugins: add 'stormhub' to the plugins list")
    return plugin


def language_config(
    root: Path, language: str, site_dir: Path | str | None = None, *, strict: bool = True
) -> MkDocsConfig:
    """``mkdocs.yml`` for the site of *language*, in ``<language>/`` of the default site.

    *site_dir* is where it is built (default: ``<language>/`` in mkdocs.yml's
    ``site_dir``). mkdocs-material's own words are in *language* where it has them, and
    the StormHub plugin is told the language.
    """
    config = load_config(str(root / "mkdocs.yml"), strict=strict)
    config["site_dir"] = str(site_dir or Path(config.site_dir) / language)
    config["site_url"] = (config.site_url or "/").rstrip("/") + f"/{language}/"
    # extra: translations: es: {site_name: ..., site_description: ..., copyright: ...}
    translated = (config.extra.get("translations") or {}).get(language) or {}
    for name in TRANSLATED_SETTINGS:
        if isinstance(translated.get(name), str):
            config[name] = translated[name]
    theme_words = [
        Path(d) / "partials" / "languages" / f"{language}.html" for d in config.theme.dirs
    ]
    if any(path.is_file() for path in theme_words):
        config.theme["language"] = language
    plugin = config.plugins.get("stormhub")
    if isinstance(plugin, StormHubPlugin):
        plugin.language = language
    return config


def _quiet_mkdocs() -> None:
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
