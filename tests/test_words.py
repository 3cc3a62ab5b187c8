"""StormHub's own words in each language (hub.words): the catalogs match the code."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from hub import words

PLACEHOLDER = re.compile(r"\{\w+\}")
CATALOGS = sorted(words.LOCALE_DIR.glob("*/LC_MESSAGES/stormhub.po"))


def test_phrases_are_found_inside_f_strings_too() -> None:
    found = words.phrases()
    assert "Correction" in found  # used only inside f-strings
    assert "Latest updates" in found and "Warning" in found  # _() and N_()
    assert all(where for where in found.values())


def test_the_template_lists_exactly_the_phrases_of_the_code() -> None:
    with (words.LOCALE_DIR / "stormhub.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == set(words.phrases()), "run: .venv/bin/python -m hub.words"


@pytest.mark.parametrize("path", CATALOGS, ids=[p.parts[-3] for p in CATALOGS])
def test_every_catalog_translates_every_phrase(path: object) -> None:
    with open(str(path), "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m for m in catalog if m.id}  # (obsolete ones are kept apart)
    missing = sorted(set(words.phrases()) - {i for i, m in translated.items() if m.string})
    assert missing == [], "untranslated: fill these in (a PO editor, or by hand)"
    for phrase, message in translated.items():
        assert not message.fuzzy, phrase
        assert sorted(PLACEHOLDER.findall(str(message.string))) == sorted(
            PLACEHOLDER.findall(str(phrase))
        ), f"{phrase!r}: the translation must keep the same {{placeholders}}"


def test_a_language_without_a_catalog_reads_in_english() -> None:
    assert words.translator("zz")("Latest updates") == "Latest updates"
    assert words.translator("es")("Latest updates") == "Últimas noticias"
    assert words.translator("es-US")("Latest updates") == "Últimas noticias"


def test_times_read_in_the_language() -> None:
    moment = dt.datetime(2026, 11, 28, 19, 30, tzinfo=ZoneInfo("America/New_York"))
    assert words.time_label(moment, "en") == "Sat Nov 28, 7:30 PM EST"
    assert words.time_label(moment, "es") == "sáb 28 nov, 19:30 EST"
    assert words.time_label(moment, "es", date=False) == "19:30 EST"
    assert words.native_name("es") == "Español" and words.native_name("zh") == "中文"
    assert words.in_language("en", "es") == "en inglés"
    assert words.in_language("es", "en") == "in Spanish"
    assert words.see_original("en") == "Translation pending: see English"
