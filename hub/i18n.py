"""Translations: what each item translates, whether it is current, a language's view.

A hub lists its languages in ``hub.yaml`` (``languages: [en, es]``); the first is the
default, the language the content is written in. Any other language's text of an item
is a :class:`~hub.model.Translation`: an update or tip has a file beside it
(``content/updates/<id>.es.md``), a closure, contact, resource, the banner and the hub's
own texts a ``translations:`` block in their YAML.

A translation names the default-language text it was made from by that text's
*digest* (``source: en-3f9a0c1e``, see :func:`digest`): when the default text changes,
the digest does too, and the translation is **stale** until someone brings it up to
date and sets the new digest. ``stormhub check`` reports every stale translation, and
every one without a ``source:``, with the digest to set once it is up to date.

:func:`localize` gives a language's view of the hub, for its pages, feeds and channels:

- a **current** translation's text replaces the default text;
- a **stale** or **missing** one leaves the default text, so that what readers see is
  never out of date; the view says so (:func:`state`), and the pages mark it
  ("Translation pending: see English"). An update with no translation has no page of
  its own in that language: its lists link to the default language's page.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hub.errors import Problem
from hub.model import EXERCISE_MARK, exercise_title

if TYPE_CHECKING:
    from hub.model import Hub, Translation, TranslationKind, Update

# What each kind of item translates. Anything else (times, severities, phone numbers,
# links) is the same in every language.
FIELDS: dict[str, tuple[str, ...]] = {
    "update": ("title", "body", "instruction"),
    "tip": ("title", "body"),
    "closure": ("facility", "note", "alternatives"),
    "contact": ("name", "category", "hours", "note"),
    "resource": ("title", "description", "category"),
    "banner": ("text",),
    "hub": ("event", "description", "tip_categories"),
}
# The fields that are lists of texts (translated item by item, in the same order).
LIST_FIELDS = frozenset({"alternatives", "tip_categories"})
# The fields a translation must give (the rest fall back to the default text).
REQUIRED: dict[str, tuple[str, ...]] = {
    "update": ("title", "body"),
    "tip": ("title", "body"),
    "closure": ("facility",),
    "contact": ("name",),
    "resource": ("title",),
    "banner": ("text",),
    "hub": (),
}
DIGEST_LENGTH = 8

Status = Literal["current", "stale", "missing"]


def texts(kind: str, item: Any) -> dict[str, Any]:
    """The translatable values of *item* (a model of *kind*), unset ones left out."""
    values: dict[str, Any] = {}
    for name in FIELDS[kind]:
        value = getattr(item, name, None)
        if value:  # "", None, () : nothing to translate
            values[name] = list(value) if isinstance(value, tuple) else value
    return values


def digest(kind: str, item: Any, language: str) -> str:
    """What a translation of *item* names as its ``source:``: ``en-3f9a0c1e``.

    The language *item* is written in, and a short hash of its translatable text. (The
    language also keeps YAML from reading the hash as a number.)
    """
    payload = json.dumps(texts(kind, item), sort_keys=True, ensure_ascii=False)
    return f"{language}-{hashlib.sha256(payload.encode()).hexdigest()[:DIGEST_LENGTH]}"


def original(hub: Hub, kind: str, item_id: str) -> Any:
    """The default-language item a translation of *kind* and *item_id* translates."""
    if kind == "hub":
        return hub.info
    if kind == "banner":
        return hub.info.banner
    if kind == "update":  # thousands: by the hub's lookup
        return hub.update(item_id) if hub.has_update(item_id) else None
    collection = {
        "update": hub.updates,
        "tip": hub.tips,
        "closure": hub.closures,
        "contact": hub.contacts,
        "resource": hub.resources,
    }[kind]
    return _find(collection, item_id)


def _find(items: tuple[Any, ...], item_id: str) -> Any:
    return next((item for item in items if item.id == item_id), None)


@dataclass(frozen=True)
class State:
    """How an item reads in a language: its translation's status, and the translation."""

    status: Status
    translation: Translation | None = None
    wanted: str = ""  # the digest a current translation names (worked out if there is one)


def state(hub: Hub, kind: TranslationKind, item: Any, language: str) -> State:
    """Whether *item* (of *kind*, in the hub as written) has a current *language* text."""
    item_id = getattr(item, "id", "") if kind not in ("hub", "banner") else ""
    found = hub.translation_index.get((kind, item_id, language))
    if found is None:  # (most updates, in a storm: no digest to work out)
        return State("missing")
    if hub.exercise and kind == "update":  # a drill marks titles; translations are of the text
        item = item.model_copy(update={"title": item.title.removeprefix(EXERCISE_MARK)})
    wanted = digest(kind, item, hub.info.language)
    return State("current" if found.source == wanted else "stale", found, wanted)


def _translated(kind: str, item: Any, translation: Translation, *, exercise: bool = False) -> Any:
    values = {
        name: tuple(value) if isinstance(getattr(item, name, None), tuple) else value
        for name, value in translation.fields.items()
        if name in FIELDS[kind]
    }
    if exercise and "title" in values:  # (Hub.as_exercise marked the original's)
        values["title"] = exercise_title(str(values["title"]))
    copy = item.model_copy(update=values)
    if kind == "update":
        # The same update, in other words: the ledger, approvals and the site's manifest
        # know it by the revision of the text it translates.
        copy.__dict__["revision"] = item.revision
    return copy


def localize(hub: Hub, language: str) -> Hub:
    """*hub* as readers of *language* see it (the hub itself for the default language).

    Items with a current translation read in *language*; the others keep the default
    text (stale and missing translations alike). The view's :attr:`~hub.model.Hub.lang`
    is *language*, its URLs are under ``<language>/``, and
    :meth:`~hub.model.Hub.has_page` is false for the updates it has no translation of.
    """
    if language == hub.info.language or hub.language == language:
        return hub
    if language not in hub.info.languages:
        raise ValueError(f"{language!r} is not one of the hub's languages")

    index = hub.translation_index
    current: set[tuple[str, str]] = set()  # what the view shows translated

    def translated(kind: TranslationKind, item: Any, item_id: str) -> Any:
        found = state(hub, kind, item, language)
        if found.status != "current" or found.translation is None:
            return item
        current.add((kind, item_id))
        return _translated(kind, item, found.translation, exercise=hub.exercise)

    def each(kind: TranslationKind, items: tuple[Any, ...]) -> tuple[Any, ...]:
        if not any(key[0] == kind and key[2] == language for key in index):
            return items
        # (thousands of updates: most have no translation to look at)
        return tuple(
            translated(kind, item, item.id) if (kind, item.id, language) in index else item
            for item in items
        )

    info = hub.info
    banner = info.banner
    if banner is not None:
        banner = translated("banner", banner, "")
    info = translated("hub", info, "")
    info = info.model_copy(update={"banner": banner}) if banner is not info.banner else info
    # The tip categories are matched by position: a tip's category reads in the language
    # when the hub's list of categories is translated.
    categories = dict(zip(hub.info.tip_categories, info.tip_categories, strict=False))
    tips = tuple(
        t.model_copy(update={"category": categories[t.category]})
        if categories.get(t.category, t.category) != t.category
        else t
        for t in each("tip", hub.tips)
    )
    view = hub.model_copy(
        update={
            "info": info,
            "updates": each("update", hub.updates),
            "tips": tips,
            "closures": each("closure", hub.closures),
            "contacts": each("contact", hub.contacts),
            "resources": each("resource", hub.resources),
            "language": language,
        }
    )
    view._sources = hub._sources
    view._untranslated = frozenset(
        u.id for u in hub.updates if ("update", u.id, language) not in index
    )
    view._current = frozenset(current)
    view._written = hub
    return view


def written(view: Hub) -> Hub:
    """The hub as written (default language) that *view* was made from; *view* if none."""
    return view._written or view


def view_state(view: Hub, kind: TranslationKind, item_id: str) -> State:
    """The translation state, in *view*'s language, of the item of *kind* and *item_id*."""
    hub = written(view)
    if view.language is None or view.lang == hub.info.language:
        return State("current")
    item = original(hub, kind, item_id)
    if item is None:
        return State("missing")
    return state(hub, kind, item, view.lang)


def page_languages(view: Hub, update: Update) -> list[str]:
    """The languages whose sites have a page of *update* (the default's always does)."""
    hub = written(view)
    return [
        language
        for language in hub.info.languages
        if language == hub.info.language
        or state(hub, "update", update, language).status != "missing"
    ]


def shown(hub: Hub, update: Update, language: str) -> str:
    """What *update*'s page shows in *language*'s site, as text that changes when it does.

    Its revision, its translation's state, and a hash of the translation's text.
    """
    found = state(hub, "update", update, language)
    text = ""
    if found.translation is not None:
        payload = json.dumps(found.translation.fields, sort_keys=True, ensure_ascii=False)
        text = hashlib.sha256(payload.encode()).hexdigest()[:DIGEST_LENGTH]
    return f"{update.revision}:{found.status}:{text}"


def reads_in(view: Hub, kind: TranslationKind, item_id: str) -> str:
    """The language the item of *kind* and *item_id* reads in, in *view*."""
    if view.language is None or (kind, item_id) in view._current:
        return view.lang
    return view.info.language


def page_digest(text: str, language: str) -> str:
    """What a hand-written page's translation (``docs/about.es.md``) names as its source.

    The digest of the page's text (``docs/about.md``), in *language*, the default one.
    """
    return f"{language}-{hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]}"


def coverage(hub: Hub, language: str) -> dict[Status, int]:
    """How many of the hub's texts read in *language*: current, stale, missing."""
    counts: dict[Status, int] = {"current": 0, "stale": 0, "missing": 0}
    items: list[tuple[TranslationKind, Any]] = [("hub", hub.info)]
    items += [("banner", hub.info.banner)] if hub.info.banner is not None else []
    items += [("update", u) for u in hub.updates if u.retracted is None]
    items += [("tip", t) for t in hub.tips]
    items += [("closure", c) for c in hub.closures]
    items += [("contact", c) for c in hub.contacts]
    items += [("resource", r) for r in hub.resources]
    for kind, item in items:
        counts[state(hub, kind, item, language).status] += 1
    return counts


def stale(hub: Hub) -> list[Problem]:
    """A warning for every translation that no longer matches its default text."""
    found: list[Problem] = []
    default = hub.info.language
    for t in hub.translations:
        item = original(hub, t.kind, t.item)
        if item is None:
            continue  # reported by the loader
        wanted = digest(t.kind, item, default)
        if t.source == wanted:
            continue
        if t.source is None:
            message = (
                f"no source: say which {default} text this translates: if it is up to date "
                f"with the {default} text, add source: {wanted}"
            )
        else:
            message = (
                f"stale: the {default} text changed after this translation was made "
                f"(it was made from {t.source}, the {default} text is now {wanted}); "
                f"until it is updated, readers see the {default} text marked "
                f"'Translation pending'. Update the translation, then set source: {wanted}"
            )
        found.append(Problem(t.path, t.line, 1, "translation", message))
    return found
