"""The fast publish path: render only what new or changed updates touch, into the live site.

A full mkdocs-material build of thousands of updates takes seconds; a new update
touches a handful of pages. :func:`render_fast` runs MkDocs' own pipeline (config,
plugins, theme, navigation, :func:`mkdocs.commands.build._build_page`) over every file
of the site, but reads and renders only the touched pages: each new or changed update's
page (and the update it corrects, or its correction), the archive pages that list them,
the home page, ``/updates/``, the lite page and the three feeds. The other pages are
present as empty stand-ins, so that links to them resolve exactly as in a full build,
and are never written. The HTML is therefore the full build's, byte for byte; only
the search index, the sitemap and the untouched archive pages wait for the full
rebuild (:func:`rebuild`), which builds into a fresh folder and swaps it in atomically.

What the site holds is kept in a manifest, ``.stormhub/site.json`` in the hub folder:
the output folder it describes, a *generation* (the moment the content was checked, in
nanoseconds) and each update's revision as rendered. "New or changed" means: not in
the manifest, or there with another revision. The ledger is not used for this: it
knows what reached the channels, not what the site shows (a hub may have no channels,
and a channel may filter an update out). Every writer of the site (a fast path, a
rebuild's swap) holds ``.stormhub/site.lock`` and compares generations, so that an
older publish never overwrites the lists or the site of a newer one.

A hub in several languages has a site per language, the others in ``<language>/``
(:mod:`hub.i18n`); the manifest keeps, for each, what each update's page there shows
(:func:`hub.i18n.shown`), so that a new or changed translation is "changed" there too.
The default language's fast path runs first, in the publishing process; the others'
(:func:`render_languages`) in the rebuild's child process, just before the rebuild.

``python -m hub.site.fast rebuild ROOT SITE_DIR GENERATION [NOW]`` runs them and then
:func:`rebuild` in a child process, so the background work has a core of its own while
the fan-out runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import FileSystemBytecodeCache
from mkdocs import utils as mkdocs_utils
from mkdocs.commands.build import _build_page, _populate_page
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException
from mkdocs.structure.files import File, Files, InclusionLevel, get_files, set_exclusions
from mkdocs.structure.nav import get_navigation
from mkdocs.structure.pages import Page

from hub import feeds, i18n
from hub.cards import write_cards
from hub.errors import BuildError
from hub.site import extras, pages
from hub.site.build import build_site, language_config, swap_in
from hub.site.lite import render_lite
from hub.site.plugin import CSS, HERE, StormHubPlugin

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

    from hub.config import ChannelConfig
    from hub.model import Hub, Update

MANIFEST = Path(".stormhub/site.json")
LOCK = Path(".stormhub/site.lock")
CACHE = Path(".stormhub/cache/jinja")
FEED_FILES = ("feed.xml", "atom.xml", "feed.json")
LITE = "lite/index.html"


@dataclass
class Manifest:
    """What the output folder shows: written by every fast path and every rebuild."""

    site_dir: str
    generation: int  # when the content shown was checked (time.time_ns())
    updates: dict[str, str] = field(default_factory=dict)  # update id -> revision shown
    # The other languages' sites (in <language>/): update id -> what its page shows there
    # (hub.i18n.shown: the revision, and the translation's state and text).
    languages: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class FastResult:
    """What :func:`render_fast` put into the live site."""

    written: list[str]  # site paths, in the order they went live
    updates: list[str]  # the ids of the update pages rendered
    seconds: float
    lists_skipped: bool = False  # a newer publish already wrote the home page and feeds


def manifest_path(root: Path) -> Path:
    return root / MANIFEST


def read_manifest(root: Path) -> Manifest | None:
    """The manifest, or None when there is none (or it cannot be read: then rebuild)."""
    try:
        data = json.loads(manifest_path(root).read_text(encoding="utf-8"))
        languages = {str(k): dict(v) for k, v in dict(data.get("languages", {})).items()}
        return Manifest(
            str(data["site_dir"]), int(data["generation"]), dict(data["updates"]), languages
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Write the manifest to a temporary name and rename it into place."""
    path = manifest_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    payload = {
        "site_dir": manifest.site_dir,
        "generation": manifest.generation,
        "updates": manifest.updates,
        "languages": manifest.languages,
    }
    temporary.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


@contextlib.contextmanager
def site_lock(root: Path) -> Iterator[None]:
    """Hold the hub's site lock: one writer of the output folder and manifest at a time."""
    path = root / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def site_dir_of(config: MkDocsConfig) -> Path:
    """The output folder: ``site_dir`` of ``mkdocs.yml`` (MkDocs' default: ``site/``)."""
    return Path(config.site_dir).resolve()


def load_site_config(
    root: Path, *, strict: bool = True, language: str | None = None
) -> MkDocsConfig:
    """``mkdocs.yml`` loaded, with the StormHub plugin in it; for *language*'s site if given.

    Raises:
        BuildError: ``mkdocs.yml`` cannot be read or has no ``stormhub`` plugin.
    """
    try:
        if language is None:
            config = load_config(str(root / "mkdocs.yml"), strict=strict)
        else:
            config = language_config(root, language, strict=strict)
    except MkDocsException as exc:
        raise BuildError(f"{root / 'mkdocs.yml'}: {exc}") from exc
    if not isinstance(config.plugins.get("stormhub"), StormHubPlugin):
        raise BuildError(f"{root / 'mkdocs.yml'}: plugins: add 'stormhub' to the plugins list")
    return config


def previous_build(root: Path, site_dir: Path) -> Manifest | None:
    """The manifest of the site in *site_dir*, or None when there is no usable build."""
    manifest = read_manifest(root)
    if manifest is None or Path(manifest.site_dir) != site_dir:
        return None
    if not (site_dir / "index.html").is_file():
        return None
    return manifest


def changed_updates(hub: Hub, manifest: Manifest, language: str | None = None) -> list[Update]:
    """The updates that are new or changed since the site was last written, newest first.

    With *language*: since that language's site was (a translation changes it too).
    """
    if language is None:
        return [u for u in hub.updates if manifest.updates.get(u.id) != u.revision]
    shown = manifest.languages.get(language, {})
    return [u for u in hub.updates if shown.get(u.id) != i18n.shown(hub, u, language)]


def touched_updates(hub: Hub, changed: list[Update]) -> list[Update]:
    """*changed*, plus the pages that show them: the update each corrects, and its correction."""
    ids = {u.id for u in changed}
    for update in changed:
        if update.supersedes:
            ids.add(update.supersedes)
        correction = hub.corrections.get(update.id)
        if correction is not None:
            ids.add(correction.id)
    return [u for u in hub.updates if u.id in ids]


def _archive_numbers(hub: Hub, touched: list[Update]) -> dict[int, tuple[Update, ...]]:
    ids = {u.id for u in touched}
    return {
        number: page
        for number, page in enumerate(pages.archive_pages(hub), start=1)
        if any(u.id in ids for u in page)
    }


def render_fast(
    root: Path,
    hub: Hub,
    config: MkDocsConfig,
    touched: list[Update],
    *,
    generation: int,
    now: dt.datetime,
    configs: list[ChannelConfig] | None = None,
    language: str | None = None,
) -> FastResult:
    """Render the pages *touched* updates appear on, and swap each into the live site.

    Args:
        root: the hub folder.
        hub: the hub, already checked.
        config: ``mkdocs.yml`` from :func:`load_site_config` (for *language* if given),
            not used for anything else.
        touched: the updates whose own pages are rendered (see :func:`touched_updates`);
            in a language's site, those it has pages of.
        generation: when *hub* was checked; lists are not written over a newer one's.
        now: the moment the pages describe.
        configs: the channels; Instagram ones get the touched updates' cards.
        language: one of the hub's other languages: its site, in ``<language>/``.

    Raises:
        BuildError: MkDocs failed or warned; the live site may hold some new pages
            (each complete), and needs a full build.
    """
    started = time.perf_counter()
    site_dir = site_dir_of(config)
    root_dir = site_dir.parent if language is not None else site_dir  # the whole site's
    staging = Path(tempfile.mkdtemp(prefix=f".{root_dir.name}-fast-", dir=root_dir.parent))
    counter = mkdocs_utils.CountHandler()
    counter.setLevel(logging.WARNING)
    mkdocs_log = logging.getLogger("mkdocs")
    mkdocs_log.addHandler(counter)
    mkdocs_log.setLevel(logging.WARNING)
    try:
        update_uris, list_uris = _render_into(staging, hub, config, touched, now, configs, language)
        if counts := counter.get_counts():
            found = ", ".join(f"{n} {level.lower()}s" for level, n in counts)
            raise BuildError(f"the fast path had {found}: run stormhub build")
        with site_lock(root):
            manifest = read_manifest(root)
            newer = manifest is not None and manifest.generation > generation
            uris = update_uris if newer else update_uris + list_uris
            made = staging / language if language is not None else staging
            for uri in uris:
                target = site_dir / uri
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(made / uri, target)
            if manifest is None:  # (a site with no manifest gets a full build first)
                manifest = Manifest(str(root_dir), generation)
            if language is None:
                manifest.updates.update({u.id: u.revision for u in touched})
            else:
                shown = manifest.languages.setdefault(language, {})
                shown.update({u.id: i18n.shown(hub, u, language) for u in touched})
            manifest.generation = max(generation, manifest.generation)
            write_manifest(root, manifest)
    except MkDocsException as exc:
        raise BuildError(f"the fast path failed ({exc}): run stormhub build") from exc
    finally:
        mkdocs_log.removeHandler(counter)
        shutil.rmtree(staging, ignore_errors=True)
    return FastResult(uris, [u.id for u in touched], time.perf_counter() - started, newer)


def _render_into(
    staging: Path,
    hub: Hub,
    config: MkDocsConfig,
    touched: list[Update],
    now: dt.datetime,
    configs: list[ChannelConfig] | None,
    language: str | None,
) -> tuple[list[str], list[str]]:
    """Write the touched pages under *staging*; their site paths: (update pages, lists)."""
    staging = staging / language if language is not None else staging  # as in the site
    config["site_dir"] = str(staging)
    plugin = config.plugins["stormhub"]
    assert isinstance(plugin, StormHubPlugin)
    plugin.preloaded = hub  # taken (and cleared) by on_config just below
    plugin.now = now
    plugin.exercise = hub.exercise  # the instance outlives builds: set every field it reads
    plugin.language = language
    _search_defaults(config, _cache_dir(plugin.root))
    config = config.plugins.on_config(config)
    config.plugins.on_pre_build(config=config)
    assert plugin.hub is not None
    hub = plugin.hub  # as the plugin will show it (e.g. marked as an exercise, in Spanish)
    # (as this site shows them; a language's site: the ones it has translations of)
    touched = [hub.update(u.id) for u in touched if hub.has_page(u)]

    # The pages MkDocs must read and render: the touched ones, and those in the
    # navigation (their titles appear on every page). Every other generated page is
    # an empty stand-in, there only so that links to it resolve.
    archive = _archive_numbers(hub, touched)
    rendered: dict[str, str] = {
        "index.md": pages.home(hub, now),
        "updates/index.md": pages.updates_index(hub),
        "closures.md": pages.closures(hub, now),
        "contacts.md": pages.contacts(hub),
        "tips.md": pages.tips(hub),
        "resources.md": pages.resources(hub),
    }
    for number, page in archive.items():
        rendered[f"updates/archive/{number}.md"] = pages.archive_page(hub, number, page)
    for update in touched:
        rendered[f"updates/{update.id}.md"] = pages.update_page(hub, update, now)
    stand_ins = [f"updates/archive/{n}.md" for n in range(1, len(pages.archive_pages(hub)) + 1)]
    stand_ins += [f"updates/{i}.md" for i in _linked_updates(hub, rendered.values())]
    statics: dict[str, str | bytes] = {
        LITE: render_lite(hub, now),
        "feed.xml": feeds.rss(hub, now),
        "atom.xml": feeds.atom(hub, now),
        "feed.json": feeds.json_feed(hub, now),
        **extras.touched_files(hub, now, touched),
    }

    files = get_files(config)
    env = config.theme.get_env()
    # Compiling mkdocs-material's templates is most of a cold render: keep the bytecode.
    env.bytecode_cache = FileSystemBytecodeCache(str(_cache_dir(plugin.root)))
    # The theme's own files (files.add_files_from_theme) are left out: no page links to
    # them, the templates name them by URL, and the live site already holds them.
    files = _other_plugins(config, "files", files, plugin)
    for uri in [*rendered, *(u for u in stand_ins if u not in rendered)]:
        listed_only = uri.startswith("updates/") and uri != "updates/index.md"
        inclusion = InclusionLevel.NOT_IN_NAV if listed_only else InclusionLevel.UNDEFINED
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(
            File.generated(config, uri, content=rendered.get(uri, ""), inclusion=inclusion)
        )
    for uri, content in statics.items():
        files.append(File.generated(config, uri, content=content))
    for uri in extras.LINKED:  # there for links to resolve; the live site has them
        if uri not in statics and files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=""))
    files.append(File.generated(config, CSS, abs_src_path=str(HERE / CSS)))
    images = plugin.root / "content" / "images"
    if images.is_dir():
        for path in sorted(p for p in images.rglob("*") if p.is_file()):
            uri = path.relative_to(plugin.root / "content").as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    set_exclusions(files, config)
    nav = get_navigation(files, config)
    nav = config.plugins.on_nav(nav, config=config, files=files)

    targets = {"index.md", "updates/index.md", *(u for u in rendered if u.startswith("updates/"))}
    for file in files.documentation_pages():
        if file.src_uri not in rendered:
            continue
        if file.page is None:
            Page(None, file, config)
        assert file.page is not None
        if file.src_uri in targets:
            _populate_page(file.page, config, files)
        else:  # in the navigation only: its title (from its front matter) is all that shows
            file.page.read_source(config)
    env = config.plugins.on_env(env, config=config, files=files)
    doc_files = files.documentation_pages()
    written: dict[str, str] = {}
    for file in doc_files:
        if file.src_uri in targets:
            assert file.page is not None
            _build_page(file.page, config, doc_files, nav, env)
            written[file.src_uri] = file.dest_uri
    for uri, content in statics.items():
        target = staging / uri
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)

    update_uris: list[str] = []
    for update in touched:
        update_uris.append(written[f"updates/{update.id}.md"])
        if update.image:
            source = plugin.root / "content" / update.image
            (staging / update.image).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / update.image)
            update_uris.append(update.image)
    instagram = [c for c in configs or [] if c.enabled and c.type == "instagram"]
    cards = [u for u in touched if u.retracted is None and any(c.wants(u) for c in instagram)]
    if cards:
        write_cards(hub, staging, cards)
        update_uris += sorted(p.relative_to(staging).as_posix()
                              for p in (staging / "cards").glob("*.jpg"))  # fmt: skip
    # Archive pages before the lists that link to them; the feeds last.
    list_uris = [written[f"updates/archive/{n}.md"] for n in archive]
    list_uris += [written["updates/index.md"], written["index.md"], LITE, *FEED_FILES]
    list_uris += [uri for uri in statics if uri not in (LITE, *FEED_FILES)]
    return update_uris, list_uris


def _search_defaults(config: MkDocsConfig, cache: Path) -> None:
    """Fill in the search plugin's defaults as its ``on_config`` would, but at once.

    mkdocs-material's search plugin translates its language, separator and pipeline
    defaults by compiling ``partials/language.html`` anew for each (about 40 ms); here
    the template is loaded once, through the bytecode cache, and the plugin's own
    ``on_config`` then finds them set. The values, and so the pages, are the same.
    """
    search = config.plugins.get("material/search")
    if search is None or not search.config.get("enabled", True):
        return
    wanted = (not search.config.lang, not search.config.separator,
              search.config.pipeline is None)  # fmt: skip
    if not any(wanted):
        return
    env = config.theme.get_env()
    env.bytecode_cache = FileSystemBytecodeCache(str(cache))
    language = env.get_template("partials/language.html", None, {"config": config}).module
    if wanted[0]:
        search.config.lang = [language.t("search.config.lang")]  # type: ignore[attr-defined]
    if wanted[1]:
        search.config.separator = language.t("search.config.separator")  # type: ignore[attr-defined]
    if wanted[2]:
        pipeline = language.t("search.config.pipeline")  # type: ignore[attr-defined]
        search.config.pipeline = [p for p in re.split(r"\s*,\s*", pipeline) if p]


_MD_LINK = re.compile(r"[\w./-]+?\.md\b")


def _linked_updates(hub: Hub, texts: Iterable[str]) -> list[str]:
    """The ids of the updates that the Markdown *texts* mention as ``<id>.md``."""
    ids = {u.id for u in hub.updates}
    found = {posixpath.basename(m)[:-3] for text in texts for m in _MD_LINK.findall(text)}
    return sorted(found & ids)


def _cache_dir(root: Path) -> Path:
    path = root / CACHE
    path.mkdir(parents=True, exist_ok=True)
    return path


def _other_plugins(config: MkDocsConfig, event: str, files: Files, ours: StormHubPlugin) -> Files:
    """Run *event* on every plugin but StormHub's (whose part :func:`render_fast` does)."""
    for method in config.plugins.events[event]:
        if getattr(method, "__self__", None) is ours:
            continue
        result = method(files, config=config)
        if result is not None:
            files = result
    return files


def render_languages(root: Path, hub: Hub, *, generation: int, now: dt.datetime) -> list[str]:
    """The fast path of each other language's site, after the default language's.

    Each language's home page, lists and feeds, and its pages of the updates that are
    new or changed there (a new or changed translation too), from the manifest.

    Returns:
        What failed, one line per language (the full rebuild then makes it).
    """
    failed = []
    for language in hub.info.languages[1:]:
        manifest = read_manifest(root)
        if manifest is None:
            break
        try:
            config = load_site_config(root, language=language)
            touched = touched_updates(hub, changed_updates(hub, manifest, language))
            render_fast(root, hub, config, touched, generation=generation, now=now,
                        language=language)  # fmt: skip
        except BuildError as exc:
            failed.append(f"the {language} site waits for the full rebuild: {exc.message}")
    return failed


def rebuild(
    root: Path,
    site_dir: Path,
    *,
    generation: int,
    now: dt.datetime | None,
    hub: Hub | None = None,
) -> bool:
    """Build the whole site into a fresh folder and swap it in, unless a newer one is live.

    Returns:
        True when it was swapped in; False when a newer publish had written the site
        meanwhile (its own rebuild brings everything up to date).

    Raises:
        ContentError, BuildError: as :func:`~hub.site.build.build_site`; the live site
            is untouched.
    """
    from hub.content import load_hub
    from hub.memo import Memo

    # Loaded before the build: content saved meanwhile shows up as "changed" next time.
    hub = hub or load_hub(root, memo=Memo.open(root))  # the memo of the check that came first
    fresh = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-full-", dir=site_dir.parent))
    try:
        built = build_site(root, site_dir=fresh / "site", now=now)
        with site_lock(root):
            manifest = read_manifest(root)
            if manifest is not None and manifest.generation > generation:
                return False
            swap_in(built, site_dir)
            shown = {u.id: u.revision for u in hub.updates}
            languages = {
                language: {u.id: i18n.shown(hub, u, language) for u in hub.updates}
                for language in hub.info.languages[1:]
            }
            write_manifest(root, Manifest(str(site_dir), generation, shown, languages))
        return True
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def full_build(root: Path, site_dir: Path, *, generation: int, now: dt.datetime | None) -> None:
    """A full build in this process, recorded in the manifest (no previous build to patch)."""
    if not rebuild(root, site_dir, generation=generation, now=now):
        raise BuildError("a newer publish wrote the site while this one was building")


def main(argv: list[str]) -> int:
    """``python -m hub.site.fast rebuild ROOT SITE_DIR GENERATION [NOW]``: exit 0 or 1.

    The other languages' fast paths first (:func:`render_languages`), then the rebuild.
    """
    from hub.content import load_hub, now_utc
    from hub.errors import HubError
    from hub.memo import Memo
    from hub.privacy import require_private

    if len(argv) not in (4, 5) or argv[0] != "rebuild":
        print("usage: python -m hub.site.fast rebuild ROOT SITE_DIR GENERATION [NOW]",
              file=sys.stderr)  # fmt: skip
        return 2
    now = dt.datetime.fromisoformat(argv[4]) if len(argv) == 5 else None
    # A background job: the fan-out beside it (and whoever is at this machine) comes first.
    with contextlib.suppress(OSError):
        os.nice(10)
    root, site_dir, generation = Path(argv[1]), Path(argv[2]), int(argv[3])
    try:
        memo = Memo.open(root)
        hub = load_hub(root, memo=memo)
        require_private(hub, memo=memo)  # content may have changed since the publish's check
        for problem in render_languages(root, hub, generation=generation, now=now or now_utc()):
            print(problem, file=sys.stderr)
        swapped = rebuild(root, site_dir, generation=generation, now=now, hub=hub)
    except HubError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print("swapped" if swapped else "superseded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
