"""Counting and fitting posts the way X, Mastodon and Bluesky count them (hub.text)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import regex

from hub.text import (
    BLUESKY_BYTES,
    BLUESKY_GRAPHEMES,
    X_LIMIT,
    bluesky_fits,
    bluesky_length,
    bluesky_link_facets,
    find_urls,
    fit,
    graphemes,
    mastodon_length,
    utf8_length,
    x_length,
)

LONG_URL = "https://hub.example.org/updates/2026-11-27-0615-emergency-department-open/" + (
    "?utm_source=sms&utm_medium=alert&utm_campaign=storm-2026-north-county-shelters&x=1"
)
LINK = "https://hub.example.org/updates/2026-11-27-0615-emergency-department-open/"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man, woman, girl joined by ZWJ
FAMILY4 = FAMILY + "\u200d\U0001f466"  # ... and boy
FLAG_US = "\U0001f1fa\U0001f1f8"
THUMB_MEDIUM = "\U0001f44d\U0001f3fd"  # thumbs up, medium skin tone
WARNING = "\u26a0\ufe0f"  # warning sign + VS16 (emoji presentation)
CJK_LINE = "故人西辞黄鹤楼，烟花三月下扬州。"  # 16 CJK characters
KANA = "あいうえおかきくけこ"

PLATFORMS: dict[str, tuple[Callable[[str], int], int]] = {
    "x": (x_length, X_LIMIT),
    "mastodon": (mastodon_length, 500),
    "bluesky": (bluesky_length, BLUESKY_GRAPHEMES),
}


def test_long_url_is_really_long() -> None:
    assert len(LONG_URL) > 120


# --- X: twitter-text v3 -------------------------------------------------------------------

# Expected numbers from twitter/twitter-text conformance/validate.yml, section
# WeightedTweetsWithDiscountedEmojiCounterTest (config v3: emoji parsing on) and
# UnicodeDirectionalMarkerCounterTest. Long texts are rebuilt by expression (checked equal
# to the originals); the CJK cases keep their shape with text of our own.
X_CONFORMANCE = [
    ("Hi http://test.co", 26),
    ("http://test.co", 23),
    ("285 chars-" + "xxxxxxxxxx-" * 25, 285),
    ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
    ("xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289),
    ("https://www.twitter.com/aloha " * 10, 240),
    (CJK_LINE * 10, 320),  # "160 CJK char"
    ("\U0001f637" * 160, 320),  # "160 emoji char"
    ("the" + CJK_LINE * 10, 323),  # "3 latin char + 160 CJK char"
    ("A\u0301B", 2),  # "'Á' is normalized into 1 char"
    ("A\ufb2c", 4),  # "שּׁ is normalized into 3 chars"
    ("282 chars-" + "xxxxxxxxxx-" * 24 + "xxxxx" + "A\u0301" + "x", 281),
    ("H\U0001f431\u263a" + FAMILY4, 7),  # "mix of single byte ... and double word"
    ("\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10),
    ("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),  # skin tone; ZWJ singer
    (
        "This is a tweet with general punctuation characters: "
        "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b"
        " ‐ ‑ ‒ – — ― ‖  ‗ ‘ ’ ‚ ‛ “ ” „ ‟ ′ ″ ‴ ‵ ‶ ‷",
        110,
    ),
    (
        "Long url with invalid domain labels and a short url: "
        + " ".join(["https://" + "somesuperlongurl" * 249 + ".com/foo"] * 3)
        + " https://validurl.com",
        12079,
    ),
    ("randomurl" * 7 + "s.com", 68),  # a 64-character label is no domain
    (KANA * 12 + " http://" + (KANA * 6)[:53] + ".com", 358),  # host > 63 in punycode
    (KANA * 12 + " http://" + (KANA * 6)[:52] + ".com", 264),  # host fits punycode
    (FAMILY4 * 140, 280),  # "140 family emoji"
    ("1\u20e3", 2),  # keycap without VS16: an emoji whose first code point is Latin
    (
        "Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; "
        "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        34,
    ),
    ("Unicode 9.0 emoji: \U0001f920; \U0001f483; \U0001f483\U0001f3fe", 29),
    ("ABC\u202a\uffffABC\ufffe", 12),  # UnicodeDirectionalMarkerCounterTest
    ("\u2066\u202ahttp://foobar.پاکستان/\u202c\u2069", 31),
]


@pytest.mark.parametrize(("text", "expected"), X_CONFORMANCE)
def test_x_length_matches_twitter_text_conformance(text: str, expected: int) -> None:
    assert x_length(text) == expected


# Our own cases, by the v3 rule: 1 in the Latin and punctuation ranges, 2 elsewhere, 2 per
# emoji sequence, 23 per URL, after NFC.
X_CASES = [
    ("hello", 5),
    ("café", 4),
    ("cafe\u0301", 4),  # combining accent: NFC makes it one code point
    ("niño", 4),
    ("中文", 4),
    ("日本語", 6),
    ("\U0001f44d", 2),
    (FLAG_US, 2),
    (FAMILY, 2),
    (THUMB_MEDIUM, 2),
    (WARNING, 2),
    ("\u26a0", 2),  # text-style warning sign: outside the 1-weight ranges
    ("©", 1),  # Emoji=Yes in Unicode, but plain text without VS16
    ("©\ufe0f", 2),
    ("#\ufe0f\u20e3", 2),  # keycap
    ("…", 2),  # U+2026 is not in the v3 ranges
    ("—", 1),  # U+2014 is
    (LONG_URL, 23),
    (f"Details: {LONG_URL}.", 9 + 23 + 1),
    (f"({LONG_URL})", 25),
    ("https://en.wikipedia.org/wiki/Storm_(disambiguation)", 23),
    ("詳細はhttps://example.com/をご覧ください", 3 * 2 + 23 + 7 * 2),
    ("ahttps://example.com", 20),  # glued to a word: not linked
    ("http://localhost:8000/updates/x", 31),  # no TLD: not linked, counted as text
    ("Visit ready.gov for tips", 6 + 23 + 9),  # bare domain with a generic TLD
    ("example.com/path/to/resource?search=foo&lang=en", 23),
    ("email info@city.gov today", 25),  # an address is not a URL
]


@pytest.mark.parametrize(("text", "expected"), X_CASES)
def test_x_length(text: str, expected: int) -> None:
    assert x_length(text) == expected


@pytest.mark.parametrize(
    ("text", "ours", "on_x"),
    [
        ("St.Louis", 23, 8),  # not a TLD: X counts the characters
        ("see hub.yaml", 4 + 23, 12),
        ("foo.co.jp", 23, 23),  # conformance urls_without_protocol: a URL
        ("nyc.gov.uk/311", 23, 23),
        ("ready.gov.uk/" + "shelters/" * 5, 58, 23),
    ],
)
def test_x_length_never_undercounts_a_bare_domain(text: str, ours: int, on_x: int) -> None:
    # Without twitter-text's TLD list, a bare domain that does not end in a common generic
    # TLD counts max(23, its length): X counts it 23 (a URL) or its length (not one).
    assert x_length(text) == ours >= on_x


# --- Mastodon -------------------------------------------------------------------------------

MASTODON_CASES = [
    # mastodon/mastodon spec/validators/status_length_validator_spec.rb (MAX_CHARS 500):
    ("a" * 476 + " http://" + "b" * 30 + ".com/example", 500),  # URL counts 23: allowed
    ("a" * 476 + "http://" + "b" * 30 + ".com/example", 525),  # not autolinkable: error
    ("http://example.com/valid?" + "#foo?" * 1000, 25 + 5000),  # > 4096: not a URL
    ("a" * 475 + " @alice@" + "b" * 30 + ".com", 482),  # only the front part counts
    ("@alice@" + "b" * 500 + ".com", 511),  # overly long domain: counted whole
    ("✨" * 500, 500),  # multi-byte emoji count 1
    ("\U0001f3f3\ufe0f\u200d\u26a7\ufe0f" * 500, 500),  # ZWJ sequence counts 1
    # Our own, by the same rule (grapheme clusters):
    ("hello", 5),
    ("cafe\u0301", 4),
    ("日本語", 3),
    (FAMILY, 1),
    (FLAG_US, 1),
    (THUMB_MEDIUM, 1),
    (WARNING, 1),
    (LONG_URL, 23),
    (f"See {LONG_URL}, then call.", 4 + 23 + 12),
    ("cc @bob@mastodon.social", 7),
    ("@bob@mastodon.social/", 5),  # the domain part does not count, the "/" does
    ("read https://mastodon.social/@bob now", 5 + 23 + 4),  # a mention inside a URL
    ("mail bob@example.com", 20),  # an address is no mention
]


@pytest.mark.parametrize(("text", "expected"), MASTODON_CASES)
def test_mastodon_length(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected


def test_mastodon_url_length_is_configurable() -> None:
    assert mastodon_length(f"x {LONG_URL}", url_length=30) == 32


# --- Bluesky --------------------------------------------------------------------------------

GRAPHEME_CASES = [
    ("", 0, 0),
    ("hello", 5, 5),
    ("café", 4, 5),
    ("cafe\u0301", 4, 6),
    ("ñ", 1, 2),
    ("n\u0303", 1, 3),
    ("中文", 2, 6),
    ("日本語", 3, 9),
    ("\U0001f44d", 1, 4),
    (FLAG_US, 1, 8),
    (FAMILY, 1, 18),
    (FAMILY4, 1, 25),
    (THUMB_MEDIUM, 1, 8),
    (WARNING, 1, 6),
    ("\r\n", 1, 2),
    ("क्षि", 1, 12),  # Devanagari conjunct
]


@pytest.mark.parametrize(("text", "clusters", "size"), GRAPHEME_CASES)
def test_graphemes_and_bytes(text: str, clusters: int, size: int) -> None:
    assert graphemes(text) == clusters
    assert utf8_length(text) == size


@pytest.mark.parametrize(
    ("text", "length", "fits"),
    [
        ("a" * 300, 300, True),
        ("a" * 301, 301, False),
        ("é" * 300, 300, True),  # 600 bytes
        ("中" * 300, 300, True),  # 900 bytes
        (FAMILY4 * 120, 300, True),  # 120 graphemes, exactly 3000 bytes
        (FAMILY4 * 121, 303, False),  # 121 graphemes but 3025 bytes: the bytes bind
        (FAMILY4 * 200, 500, False),
    ],
)
def test_bluesky_length_and_fits(text: str, length: int, fits: bool) -> None:
    assert bluesky_length(text) == length
    assert bluesky_fits(text) is fits
    assert (bluesky_length(text) <= BLUESKY_GRAPHEMES) is fits
    assert bluesky_fits(text) is (graphemes(text) <= 300 and utf8_length(text) <= BLUESKY_BYTES)


FACET_CASES = [
    # text, expected byte ranges (checked by hand: emoji 4 bytes, CJK 3, é 2)
    ("Go to https://example.com", [(6, 25)]),
    ("\U0001f44d https://a.co/x", [(5, 19)]),
    ("中文 https://a.co/x and https://b.org.", [(7, 21), (26, 39)]),
    (f"{FAMILY} Café ⚠️ {LONG_URL}", [(32, 32 + len(LONG_URL))]),
    (f"日本語のリンク：{LONG_URL}。", [(24, 24 + len(LONG_URL))]),
    ("no links here", []),
]


@pytest.mark.parametrize(("text", "ranges"), FACET_CASES)
def test_bluesky_link_facets_use_utf8_byte_offsets(
    text: str, ranges: list[tuple[int, int]]
) -> None:
    facets = bluesky_link_facets(text)
    assert [(f["index"]["byteStart"], f["index"]["byteEnd"]) for f in facets] == ranges
    assert [f["features"][0]["uri"] for f in facets] == [u for _, _, u in find_urls(text)]
    for facet in facets:
        index = facet["index"]
        (feature,) = facet["features"]
        assert feature == {"$type": "app.bsky.richtext.facet#link", "uri": feature["uri"]}
        assert text.encode()[index["byteStart"] : index["byteEnd"]].decode() == feature["uri"]


# --- URLs -----------------------------------------------------------------------------------

URL_CASES = [
    ("see https://example.com.", ["https://example.com"]),
    ("see https://example.com/a/b?c=d&e=f, then", ["https://example.com/a/b?c=d&e=f"]),
    ("(https://example.com/x)", ["https://example.com/x"]),
    ("[https://example.com/x]", ["https://example.com/x"]),
    (
        "https://en.wikipedia.org/wiki/Storm_(disambiguation).",
        ["https://en.wikipedia.org/wiki/Storm_(disambiguation)"],
    ),
    ('He said "https://example.com/q";', ["https://example.com/q"]),
    ("'https://example.com/q'", ["https://example.com/q"]),
    ("Go! https://example.com/q! Now?", ["https://example.com/q"]),
    (
        "https://example.com/q?; https://example.org:",
        ["https://example.com/q", "https://example.org"],
    ),
    ("http://a.co/x...", ["http://a.co/x"]),
    ("詳細はhttps://example.com/をご覧ください", ["https://example.com/"]),
    ("https://müller.de/straße", ["https://müller.de/straße"]),
    ("ahttps://example.com", []),
    ("ftp://example.com", []),
    ("https://", []),
    ("no url at all", []),
]


@pytest.mark.parametrize(("text", "urls"), URL_CASES)
def test_find_urls(text: str, urls: list[str]) -> None:
    found = find_urls(text)
    assert [url for _, _, url in found] == urls
    for start, end, url in found:
        assert text[start:end] == url


# --- fit ------------------------------------------------------------------------------------

SENTENCES = [
    "The Main Campus Emergency Department is open on generator power.",
    f"Non-urgent patients should use urgent care instead: {LONG_URL}",
    "Roads near the river are closed; use Route 9 (the bridge is out).",
    "Call 311 for non-emergencies, or visit ready.gov for preparedness tips!",
    "Shelters: Lincoln High School, 12 Elm St., and the Civic Center — pets welcome 🐕.",
    f"Water is safe to drink. {WARNING} Boil advisories remain for Zone 4 {FAMILY}.",
    "Niños y familias: el refugio de la escuela está abierto; café y mantas disponibles.",
    "避難所は開いています。中文：请前往市民中心避难。",
    f"Thanks to every crew working tonight {THUMB_MEDIUM} {FLAG_US}.",
]


def _update(size: int = 2043) -> str:
    """A real-ish long update of exactly *size* characters, in paragraphs."""
    paragraphs, i = [], 0
    while len("\n\n".join(paragraphs)) < size:
        paragraphs.append(" ".join(SENTENCES[(i + j) % len(SENTENCES)] for j in range(3)))
        i += 1
    text = "\n\n".join(paragraphs)
    while len(text) > size - 2:  # whole words only: never a URL cut short
        text = text.rsplit(maxsplit=1)[0]
    filler = ("Stay safe and check on your neighbours. " * 5)[: size - len(text) - 1]
    return f"{text} {filler[:-1]}{'!' if filler.endswith(' ') else filler[-1]}"


UPDATE = _update()
COUNTER = re.compile(r" \((\d+)/(\d+)\)$")


def test_the_long_update_is_2043_characters() -> None:
    assert len(UPDATE) == 2043


def _words_of_thread(parts: list[str], link: str) -> list[str]:
    words = []
    for i, part in enumerate(parts, 1):
        body = part.removesuffix("\n\n" + link) if i == 1 else part
        m = COUNTER.search(body)
        assert m, part
        assert (int(m[1]), int(m[2])) == (i, len(parts))
        words += body[: m.start()].split()
    return words


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_2043_character_update_threads_within_the_limit(platform: str) -> None:
    length, limit = PLATFORMS[platform]
    parts = fit(UPDATE, length=length, limit=limit, link=LINK, mode="thread")
    assert 1 < len(parts) <= 25
    assert all(length(part) <= limit for part in parts), [length(p) for p in parts]
    assert all(part == part.strip() for part in parts)
    assert parts[0].endswith("\n\n" + LINK)  # the first part carries the permalink
    assert not any(part.endswith(LINK) for part in parts[1:])
    assert _words_of_thread(parts, LINK) == UPDATE.split()  # every word once, in order


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_thread_splits_at_paragraphs_and_sentences_first(platform: str) -> None:
    length, limit = PLATFORMS[platform]
    parts = fit(UPDATE, length=length, limit=limit, link=LINK, mode="thread")
    for part in parts[:-1]:
        body = COUNTER.sub("", part.removesuffix("\n\n" + LINK))
        assert body.endswith((".", "!", "。", LONG_URL)), body[-40:]


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_2043_character_update_truncates_within_the_limit(platform: str) -> None:
    length, limit = PLATFORMS[platform]
    (post,) = fit(UPDATE, length=length, limit=limit, link=LINK, mode="truncate")
    assert length(post) <= limit
    assert post.endswith("…\n\n" + LINK)
    body = post.removesuffix("…\n\n" + LINK).rstrip()
    words, original = body.split(), UPDATE.split()
    assert words[:-1] == original[: len(words) - 1]  # cut at a word boundary
    assert original[len(words) - 1].startswith(words[-1])  # (",;:" dropped before "…")
    assert original[len(words) - 1].rstrip(",;:") == words[-1]
    # Not far too early, unless what comes next is a URL too long to fit whole.
    assert length(post) > limit - 40 or find_urls(original[len(words)])


def test_what_fits_is_one_post_with_the_link() -> None:
    assert fit("  Short update.  ", length=x_length, limit=280, link=LINK, mode="thread") == [
        "Short update.\n\n" + LINK
    ]
    assert fit("", length=x_length, limit=280, link=LINK, mode="truncate") == [LINK]


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        (f"Shelter list: {LONG_URL} " + "more words here " * 20, 150),
        ("Open now " + LONG_URL + " and " + "x" * 200, 120),
        ("word " * 10 + LONG_URL, 190),
    ],
)
def test_truncation_never_cuts_a_url(text: str, limit: int) -> None:
    (post,) = fit(text, length=bluesky_length, limit=limit, link=LINK, mode="truncate")
    assert bluesky_length(post) <= limit
    body = post.removesuffix("\n\n" + LINK)
    assert LONG_URL in body or "https://" not in body


def test_truncation_keeps_a_url_it_ends_with_intact() -> None:
    text = "word " * 10 + LONG_URL + " " + "x" * 60 + " end"
    (post,) = fit(text, length=x_length, limit=130, link=LINK, mode="truncate")
    assert f"{LONG_URL} …" in post  # a space, so the "…" does not join the URL
    assert [url for _, _, url in find_urls(post)] == [LONG_URL, LINK]


@pytest.mark.parametrize(
    ("platform", "text"),
    [
        ("x", FAMILY * 200),
        ("bluesky", FAMILY * 200),
        ("mastodon", "e\u0301" * 600),
        ("x", "中文" * 200),
        ("bluesky", THUMB_MEDIUM * 400),
    ],
)
def test_truncation_without_spaces_cuts_between_graphemes(platform: str, text: str) -> None:
    length, limit = PLATFORMS[platform]
    (post,) = fit(text, length=length, limit=limit, link=LINK, mode="truncate")
    assert length(post) <= limit
    body = post.removesuffix("…\n\n" + LINK)
    clusters = regex.findall(r"\X", body)
    assert clusters and clusters == regex.findall(r"\X", text)[: len(clusters)]
    assert length(post) > limit - 10


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_thread_of_text_without_spaces_cuts_between_graphemes(platform: str) -> None:
    length, limit = PLATFORMS[platform]
    text = (CJK_LINE * 12 + FAMILY * 50 + "e\u0301" * 300) * 2
    parts = fit(text, length=length, limit=limit, link=LINK, mode="thread")
    assert all(length(p) <= limit for p in parts)
    bodies = [COUNTER.sub("", p.removesuffix("\n\n" + LINK)) for p in parts]
    assert "".join(bodies) == text
    joined = []
    for body in bodies:
        joined += regex.findall(r"\X", body)
    assert joined == regex.findall(r"\X", text)  # no cluster was split


def test_a_thread_that_needs_too_many_parts_raises() -> None:
    with pytest.raises(ValueError, match="more than 3 parts"):
        fit(UPDATE, length=x_length, limit=280, link=LINK, mode="thread", max_parts=3)


def test_a_link_longer_than_the_limit_raises() -> None:
    with pytest.raises(ValueError, match="link alone"):
        fit("Some text.", length=len, limit=20, link=LINK, mode="truncate")
    with pytest.raises(ValueError):
        fit("Some text. " * 20, length=len, limit=40, link=LINK, mode="thread")


def test_a_url_too_long_for_any_part_raises_rather_than_being_cut() -> None:
    text = "see https://example.com/" + "a" * 400 + " ok"
    with pytest.raises(ValueError, match="does not fit"):
        fit(text, length=bluesky_length, limit=300, link="https://a.co/x", mode="thread")


def test_thread_counters_widen_past_nine_parts() -> None:
    parts = fit(UPDATE, length=len, limit=200, link="https://a.co/x", mode="thread")
    assert len(parts) >= 10
    assert all(len(p) <= 200 for p in parts)
    assert parts[-1].endswith(f" ({len(parts)}/{len(parts)})")
    assert _words_of_thread(parts, "https://a.co/x") == UPDATE.split()
