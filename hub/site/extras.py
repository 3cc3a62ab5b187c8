"""Files the site carries besides its pages and the three feeds.

CAP alerts, calendars, contact cards, a poster and the like are each made by a module of
their own from the :class:`~hub.model.Hub`, and registered here, once, so that the full
build (:meth:`hub.site.plugin.StormHubPlugin.on_files`) and the fast publish path
(:mod:`hub.site.fast`) write the very same bytes:

- :data:`SITE`: functions ``(hub, now) -> {uri: content}`` giving every such file, for a
  full build;
- :data:`TOUCHED`: functions ``(hub, now, touched) -> {uri: content}`` giving only the
  files that new or changed updates (*touched*) change, for the fast path, which writes
  them with the home page and the feeds;
- :data:`LINKED`: the uris of files no update changes that the fast path's pages link to.

A uri is the file's path in the site (``cap/index.atom``); content is text (UTF-8) or bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hub import cap, ical, offline, poster, vcard

if TYPE_CHECKING:
    from hub.model import Hub, Update

Content = str | bytes
SiteFiles = Callable[["Hub", dt.datetime], dict[str, Content]]
TouchedFiles = Callable[["Hub", dt.datetime, Sequence["Update"]], dict[str, Content]]

SITE: list[SiteFiles] = [
    cap.site_files,
    offline.site_files,
    poster.site_files,
    ical.site_files,
    vcard.site_files,
]
TOUCHED: list[TouchedFiles] = [
    cap.touched_files,
    offline.touched_files,
]
# Files of SITE that no update changes but that the pages the fast path renders link to:
# its MkDocs is told they exist (a link to a file it does not know is a warning, which
# sends a publish to a full build), and the live site keeps the full build's copies.
LINKED: list[str] = [ical.FILE, vcard.FILE, poster.URI]


def site_files(hub: Hub, now: dt.datetime) -> dict[str, Content]:
    """Every extra file of the site, for a full build."""
    files: dict[str, Content] = {}
    for make in SITE:
        files.update(make(hub, now))
    return files


def touched_files(hub: Hub, now: dt.datetime, touched: Sequence[Update]) -> dict[str, Content]:
    """The extra files that *touched* updates change, for the fast path."""
    files: dict[str, Content] = {}
    for make in TOUCHED:
        files.update(make(hub, now, touched))
    return files
