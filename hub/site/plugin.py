"""The thin MkDocs plugin (``plugins: [stormhub]``) that turns ``content/`` into pages.

``on_config`` loads and checks the content, ``on_files`` adds the generated pages,
the lite page, the feeds and the images, ``on_post_build`` writes the Instagram cards
(only when ``channels.yaml`` has an ``instagram`` channel), ``on_serve`` watches
``content/`` so that ``mkdocs serve`` reloads when it changes.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel

from hub import feeds
from hub.cards import write_cards
from hub.config import load_channels
from hub.content import FRONT_MATTER, PageTranslation, load_hub, now_utc, page_translations
from hub.errors import ContentError
from hub.i18n import localize
from hub.memo import Memo
from hub.privacy import require_private
from hub.site import extras, pages
from hub.site.lite import render_lite
from hub.text import MARKDOWN_EXTENSIONS
from hub.words import native_name, translator

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.livereload import LiveReloadServer
    from mkdocs.structure.pages import Page

    from hub.model import Hub

log = logging.getLogger("mkdocs.plugins.stormhub")
# Channel problems are reported by `stormhub check`; here they are logged outside
# MkDocs' loggers, so that a strict build does not fail for them.
channel_log = logging.getLogger("hub.site.cards")
HERE = Path(__file__).parent
CSS = "assets/stormhub.css"


class StormHubConfig(Config):  # type: ignore[no-untyped-call]
    """The plugin takes no options: everything it needs is in the hub folder."""


class StormHubPlugin(BasePlugin[StormHubConfig]):  # type: ignore[no-untyped-call]
    """Generates the storm hub's pages from the hub folder that holds ``mkdocs.yml``."""

    def __init__(self) -> None:
        self.hub: Hub | None = None
        self.preloaded: Hub | None = None  # already loaded and checked: the fast publish path
        self.now: dt.datetime | None = None  # fixed by tests and the build; else the clock
        self.moment = now_utc()  # what this build describes (which closures are current)
        self.root = Path.cwd()
        self.serving = False
        self.exercise = False  # set by `stormhub drill --exercise`: mark everything EXERCISE
        # The language this build makes (hub.site.build builds one site per language, the
        # others in <language>/); None: the default language, at the site's root.
        self.language: str | None = None
        self.written: Hub | None = None  # the hub as loaded, before any language view
        # A language's build: each hand-written page, with its translation (None: none)
        self.page_translations: dict[str, PageTranslation | None] = {}

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # Defining this event also keeps one plugin instance across `serve` rebuilds.
        self.serving = command == "serve"

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self.root = Path(config.config_file_path or "mkdocs.yml").resolve().parent
        try:
            # MkDocs keeps one instance of this plugin for the whole process (it defines
            # on_startup), so the preloaded hub is taken once and never leaks into a later
            # build.
            preloaded, self.preloaded = self.preloaded, None
            if preloaded is None:
                # The check's memo, read only: files the last check saw are not parsed
                # and scanned again (a publish's background rebuild, thousands of updates).
                memo = Memo.open(self.root)
                self.hub = load_hub(self.root, memo=memo)
                require_private(self.hub, memo=memo)
            else:  # a preloaded hub has been through check_hub
                self.hub = preloaded
        except ContentError as exc:
            if not self.serving:
                raise
            # The preview server logs this and waits for the next save.
            raise PluginError(exc.message) from None
        self.moment = self.now or now_utc()
        self.written = self.hub
        if self.exercise and self.hub is not None:
            self.hub = self.hub.as_exercise()
        if self.language is not None and self.hub is not None:
            self.hub = localize(self.hub, self.language)
        # Our templates sit just above the theme's, below any custom_dir of the hub's.
        theme_dirs = config.theme.dirs
        position = 1 if config.theme.custom_dir else 0
        theme_dirs.insert(position, str(HERE / "templates"))
        config.extra_css.append(CSS)
        for extension in MARKDOWN_EXTENSIONS:
            if extension not in config.markdown_extensions:
                config.markdown_extensions.append(extension)
        language = self.hub.lang if self.hub else "en"
        if config.nav is None:
            config.nav = pages.nav(language)
        config.extra["stormhub"] = {
            "feeds": [{"path": p, "type": t, "title": label} for p, t, label in pages.FEEDS],
            "exercise": self.exercise,
            # when the pages were made, for the notice on a copy read offline
            "made": {
                "iso": self.moment.isoformat(),
                "label": pages.time_label(self.hub, self.moment) if self.hub else "",
            },
            "words": template_words(language),
            "language": language,
        }
        if self.hub is not None and len(self.hub.info.languages) > 1:
            config.extra["stormhub"]["languages"] = switcher(self.hub)
            config.extra["alternate"] = [  # mkdocs-material shows its switcher for these
                {"name": x["name"], "link": x["root"], "lang": x["lang"]}
                for x in config.extra["stormhub"]["languages"]
            ]
        return config

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        hub, now = self.hub, self.moment
        assert hub is not None
        self.page_translations = _language_pages(files, hub, config, self.root)
        generated: dict[str, str | bytes] = dict(pages.render(hub, now))
        generated["lite/index.html"] = render_lite(hub, now)
        generated["feed.xml"] = feeds.rss(hub, now)
        generated["atom.xml"] = feeds.atom(hub, now)
        generated["feed.json"] = feeds.json_feed(hub, now)
        generated.update(extras.site_files(hub, now))
        generated[CSS] = (HERE / CSS).read_text(encoding="utf-8")
        for uri, content in generated.items():
            existing = files.get_file_from_path(uri)
            if existing is not None:
                log.warning("docs/%s is replaced by the page StormHub generates", uri)
                files.remove(existing)
            # Updates and archive pages are reached from lists, never from the nav.
            listed_only = uri.startswith("updates/") and uri != "updates/index.md"
            inclusion = InclusionLevel.NOT_IN_NAV if listed_only else InclusionLevel.UNDEFINED
            files.append(File.generated(config, uri, content=content, inclusion=inclusion))
        images = self.root / "content" / "images"
        if images.is_dir():
            for path in sorted(p for p in images.rglob("*") if p.is_file()):
                uri = path.relative_to(self.root / "content").as_posix()
                files.append(File.generated(config, uri, abs_src_path=str(path)))
        return files

    def on_page_markdown(
        self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """A hand-written page in a language's site, untranslated or stale: marked.

        It shows the default page's current text, marked with its language, under the
        notice "Translation pending"; a stale translation is kept folded away below.
        """
        hub = self.hub
        if hub is None or hub.language is None:
            return markdown
        uri = page.file.src_uri
        if uri not in self.page_translations:
            return markdown
        found = self.page_translations[uri]
        if found is not None and found.status == "current":
            return markdown
        text = markdown
        if found is not None:  # the default page's current text, not the stale translation
            text = (Path(config.docs_dir) / uri).read_text(encoding="utf-8")
            text = FRONT_MATTER.sub("", text, count=1)
        notice = [
            *pages.pending_notice(hub, hub.root_path(page.url)),
            f'<div lang="{hub.info.language}" markdown>',
            "",
            text,
            "",
            "</div>",
            "",
        ]
        if found is not None:
            notice += pages.earlier_translation(hub, FRONT_MATTER.sub("", found.text, count=1))
        return "\n".join(notice)

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Write the cards of the updates an instagram channel wants into the site being built."""
        hub = self.hub
        if hub is None or hub.language is not None or not (self.root / "channels.yaml").is_file():
            return  # (one set of cards, in the default language's site)
        try:
            channels = [c for c in load_channels(self.root) if c.type == "instagram"]
        except ContentError as exc:
            channel_log.warning(
                "channels.yaml has problems, so no Instagram cards were written "
                "(run `stormhub check`): %s",
                exc.message,
            )
            return
        wanted = [
            u
            for u in hub.updates
            if u.retracted is None and any(channel.wants(u) for channel in channels)
        ]
        if wanted:
            write_cards(hub, config.site_dir, wanted)

    def on_serve(
        self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Any
    ) -> LiveReloadServer:
        server.watch(str(self.root / "content"))
        return server


def switcher(hub: Hub) -> list[dict[str, str]]:
    """The hub's languages, for the language switcher.

    Each one's name in itself, and its site's root relative to the root of *hub*'s site
    (``es/``, ``../``).
    """
    up = "../" * hub.prefix.count("/")
    return [
        {
            "lang": language,
            "name": native_name(language),
            "root": up + ("" if language == hub.info.language else f"{language}/"),
        }
        for language in hub.info.languages
    ]


def template_words(language: str) -> dict[str, str]:
    """The phrases the templates (``main.html``) show, in *language*."""
    _ = translator(language)
    return {
        "exercise": _("EXERCISE"),
        "exercise_note": _("This site is part of an exercise. Nothing on it is a real emergency."),
        "offline": _(
            "You are offline: this is a saved copy of this page, made {time}. "
            "It may be out of date."
        ),
    }


def _language_pages(
    files: Files, hub: Hub, config: MkDocsConfig, root: Path
) -> dict[str, PageTranslation | None]:
    """Hand-written pages in ``docs/``: ``about.es.md`` is ``about.md`` in the es site.

    Every ``<page>.<language>.md`` of a hub language is left out of the other sites; in
    its own, it takes its page's place.

    Returns:
        In a language's site, each hand-written page and its translation (None: none).
    """
    languages = set(hub.info.languages)
    translations = {
        t.page: t
        for t in page_translations(root, Path(config.docs_dir), hub.info.languages)
        if t.language == hub.lang
    }
    pages: dict[str, PageTranslation | None] = {}
    for file in list(files.documentation_pages()):
        _page, dot, suffix = file.src_uri.removesuffix(".md").rpartition(".")
        if dot and suffix in languages:
            files.remove(file)
            continue
        if hub.language is not None and file.generated_by is None:
            pages[file.src_uri] = None
    if hub.language is None:
        return {}
    for page, found in translations.items():
        original = files.get_file_from_path(page)
        if original is None:
            continue  # `stormhub check` reports it
        files.remove(original)
        translated = Path(root) / found.path
        files.append(File.generated(config, page, abs_src_path=str(translated)))
        pages[page] = found
    return pages
