"""Offline reading: a service worker that keeps the hub's key pages on the reader's phone.

A phone that loaded the hub once can still show, with no connection at all, the lite
page, contacts, closures, the home page, the live updates list and the latest
:data:`LATEST` updates, each with the time it was made and a notice that it is a saved
copy. It must never show an old copy while the network is up, so every request goes to
the network first; the saved copy answers only when the network fails.

``sw.js`` (at the root of the site, so that its scope is the whole hub):

- on ``install``, fetches and keeps the key pages (:func:`kept_pages`), each on its own:
  one missing page does not stop the others;
- on ``fetch`` (same-origin GET only), answers from the network and keeps a copy of
  every good answer; when the network fails, answers with the kept copy, an HTML one with
  its offline notice shown (the ``hidden`` attribute of ``class="sh-offline"`` taken off),
  and a page never kept with the lite page;
- on ``message``, keeps the URLs a page lists: each page sends what it loaded (its
  stylesheet and scripts), which were fetched before the worker controlled it.

Every page carries the notice, hidden (class :data:`NOTICE_CLASS`, through the theme template and
:func:`hub.site.lite.render_lite`), with the moment the page was made. The lite page has
no script of its own and needs none: the worker shows its notice too.

The list of kept pages names the latest updates, so ``sw.js`` is one of the files a new
update changes (registered in :mod:`hub.site.extras` for both build paths). A browser
checks ``sw.js`` for changes on each visit, and installs the new list.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.model import Hub, Update

SCRIPT = "sw.js"
CACHE = "stormhub"
LATEST = 10  # the newest updates kept for reading offline
KEY_PAGES = ("", "lite/", "contacts/", "closures/", "updates/")
NOTICE_CLASS = "sh-offline"

WORKER = """\
// StormHub service worker, made by `stormhub build`: do not edit (see hub/offline.py).
// Network first, always; the copies kept here answer only when the network fails.
const CACHE = __CACHE__;
const KEEP = __KEEP__;
const HIDDEN = 'class="__NOTICE__" hidden';
const SHOWN = 'class="__NOTICE__"';

const here = (path) => new URL(path, self.registration.scope).href;

async function keep(urls) {
  const cache = await caches.open(CACHE);
  await Promise.all(urls.map(async (url) => {
    try {
      const response = await fetch(url, { cache: "no-cache" });
      if (response.ok) await cache.put(url, response);
    } catch (error) {
      // offline or gone: the next visit tries again
    }
  }));
}

self.addEventListener("install", (event) => {
  event.waitUntil(keep(KEEP.map(here)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("message", (event) => {
  const urls = event.data && Array.isArray(event.data.keep) ? event.data.keep : [];
  const ours = urls.filter((url) => new URL(url).origin === self.location.origin);
  event.waitUntil(keep(ours));
});

async function saved(request) {
  const cache = await caches.open(CACHE);
  let copy = await cache.match(request, { ignoreSearch: true });
  if (!copy && request.mode === "navigate") copy = await cache.match(here("lite/"));
  if (!copy) return undefined;
  const type = copy.headers.get("content-type") || "";
  if (!type.startsWith("text/html")) return copy;
  const text = (await copy.text()).replace(HIDDEN, SHOWN);
  return new Response(text, { status: copy.status, headers: copy.headers });
}

async function answer(request) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  } catch (error) {
    const copy = await saved(request);
    if (copy) return copy;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(answer(request));
});
"""


def kept_pages(hub: Hub) -> list[str]:
    """The pages kept for offline reading, relative to the site's root."""
    # (a language's site: the latest of the updates it has pages of)
    shown = [u for u in hub.updates[: LATEST * 4] if hub.has_page(u)][:LATEST]
    return [*KEY_PAGES, *(f"updates/{u.id}/" for u in shown)]


def service_worker(hub: Hub) -> str:
    """The text of ``sw.js`` for *hub*."""
    return (
        WORKER.replace("__CACHE__", json.dumps(CACHE))
        .replace("__KEEP__", json.dumps(kept_pages(hub)))
        .replace("__NOTICE__", NOTICE_CLASS)
    )


def site_files(hub: Hub, now: dt.datetime) -> dict[str, str | bytes]:
    return {SCRIPT: service_worker(hub)}


def touched_files(hub: Hub, now: dt.datetime, touched: Sequence[Update]) -> dict[str, str | bytes]:
    return {SCRIPT: service_worker(hub)}  # the list of the latest updates changes
