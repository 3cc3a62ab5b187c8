"""The words StormHub itself puts on pages, in feeds and in posts, in each language.

They are written in English in the code, as ``_("Latest updates")``, and translated
in a gettext catalog per language, ``hub/locale/<language>/LC_MESSAGES/stormhub.po``,
read with Babel (translators edit it with any PO editor). A language without a
catalog, or a phrase its catalog lacks, reads in English. ``tests/test_words.py``
extracts every ``_()`` phrase from the code and checks each catalog has them all.

Dates and times are formatted with Babel's CLDR data in every language but English,
whose format (``Fri Nov 27, 6:15 AM EST``) the pages have always had.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.model import N_

__all__ = ["N_"]  # (marking phrases: defined beside the labels it marks)

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "stormhub"

Translate = Callable[[str], str]


def _base(language: str) -> str:
    return language.split("-")[0].lower()


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The phrases of *language* (``es``; ``es-US`` falls back to ``es``); {} for none."""
    from babel.messages.pofile import read_po

    for tag in dict.fromkeys((language.replace("-", "_"), _base(language))):
        path = LOCALE_DIR / tag / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.is_file():
            with path.open("rb") as handle:
                read = read_po(handle, locale=tag, domain=DOMAIN)
            return {
                str(m.id): str(m.string)
                for m in read
                if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
            }
    return {}


def translator(language: str) -> Translate:
    """``_`` for *language*: a phrase in it, or the English phrase when it has none."""
    words = catalog(language)
    if not words:
        return _english
    return lambda phrase: words.get(phrase, phrase)


def _english(phrase: str) -> str:
    return phrase


@functools.cache
def native_name(language: str) -> str:
    """The language's name in itself (``Español``), for the language switcher."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(language.replace("-", "_")).get_display_name(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return language
    return name[:1].upper() + name[1:] if name else language


def english_name(language: str) -> str:
    """The name of *language* in English (``Spanish``), for messages to the hub's staff."""
    return language_name(language, "en")


@functools.cache
def language_name(language: str, words: str) -> str:
    """The name of *language* in the language *words* (``inglés`` for en in es)."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(language.replace("-", "_")).get_display_name(words.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return language
    return name or language


def in_language(language: str, words: str) -> str:
    """``in English`` / ``en inglés``: the mark on text shown in *language* among *words*."""
    _ = translator(words)
    return _("in {language}").format(language=language_name(language, words))


def see_original(language: str) -> str:
    """The link to the original, in its own language: ``Translation pending: see English``."""
    _ = translator(language)
    return _("Translation pending: see {language}").format(language=native_name(language))


def time_label(local: dt.datetime, language: str, *, date: bool = True) -> str:
    """A local time for readers of *language*: ``vie, 27 nov, 6:15 a. m. EST``.

    English keeps its own format, ``Fri Nov 27, 6:15 AM EST``.
    """
    zone = local.strftime("%Z")
    if _base(language) == "en":
        hour = local.hour % 12 or 12
        clock = f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {zone}"
        return f"{local:%a %b} {local.day}, {clock}" if date else clock
    from babel import UnknownLocaleError
    from babel.dates import format_date, format_time

    tag = language.replace("-", "_")
    try:
        clock = f"{format_time(local, 'short', locale=tag)} {zone}"
        return f"{format_date(local, 'EEE d MMM', locale=tag)}, {clock}" if date else clock
    except (UnknownLocaleError, ValueError, LookupError):
        return time_label(local, "en", date=date)


def date_label(day: dt.date, language: str) -> str:
    """A date for readers of *language*: ``Nov 25, 2026`` / ``25 nov 2026``."""
    if _base(language) == "en":
        return f"{day:%b} {day.day}, {day.year}"
    from babel import UnknownLocaleError
    from babel.dates import format_date

    try:
        return format_date(day, "medium", locale=language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, LookupError):
        return date_label(day, "en")


# --- For translators: the phrases in the code, and the catalogs kept up to date ---------


def phrases(package: Path | None = None) -> dict[str, list[tuple[str, int]]]:
    """Every phrase of ``_("...")`` and ``N_("...")`` in the package's code, with where.

    Read with :mod:`ast`, so that calls inside f-strings are found too (Python's
    tokenizer, which gettext's and Babel's extractors use, sees an f-string as one token),
    and ``translator(language)("...")`` as well.
    """
    import ast

    package = package or Path(__file__).parent
    found: dict[str, list[tuple[str, int]]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _is_translation(node.func)
                and len(node.args) == 1
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                where = (path.relative_to(package.parent).as_posix(), node.lineno)
                found.setdefault(node.args[0].value, []).append(where)
    return found


def _is_translation(func: Any) -> bool:
    """``_``, ``N_``, or ``translator(language)`` called at once."""
    import ast

    if isinstance(func, ast.Name):
        return func.id in ("_", "N_")
    return (
        isinstance(func, ast.Call)
        and isinstance(func.func, ast.Name)
        and func.func.id == "translator"
    )


def update_catalogs() -> list[Path]:
    """Write ``hub/locale/stormhub.pot`` from the code, and bring each catalog in line.

    New phrases are added untranslated (shown in English until a translator fills them
    in); phrases the code no longer uses are kept as obsolete (``#~``).
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = Catalog(project="StormHub", domain=DOMAIN, fuzzy=False)
    for phrase, places in sorted(phrases().items()):
        flags = ("python-brace-format",) if "{" in phrase else ()
        template.add(phrase, None, places, flags=flags)
    written = [LOCALE_DIR / f"{DOMAIN}.pot"]
    with written[0].open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False)
    for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as handle:
            current = read_po(handle, locale=po.parts[-3], domain=DOMAIN)
        current.update(template, no_fuzzy_matching=True)
        with po.open("wb") as handle:
            write_po(handle, current, width=100)
        written.append(po)
    catalog.cache_clear()
    return written


if __name__ == "__main__":  # python -m hub.words: after changing phrases in the code
    for path in update_catalogs():
        print(path)
