"""Text helpers shared by the site, the feeds and the channels."""

from __future__ import annotations

import functools
import math
import re
import threading
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Literal, NamedTuple

import markdown
import regex

# The extensions the site itself uses (see hub.site.plugin), so feeds render bodies alike.
MARKDOWN_EXTENSIONS = ("admonition", "attr_list", "md_in_html", "pymdownx.magiclink")

_BLOCKS = frozenset({"p", "li", "br", "div", "blockquote", "h1", "h2", "h3", "h4", "tr", "pre"})


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: list[str | None] = []
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "a":
            self._href.append(dict(attrs).get("href"))
            self._link_text.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            href = self._href.pop()
            text = self._link_text.pop().strip()
            if href and href not in text and href.startswith(("http:", "https:")):
                self.parts.append(f" ({href})")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._link_text:
            self._link_text[-1] += data


_renderer = threading.local()


@functools.lru_cache(maxsize=8192)
def markdown_to_html(text: str) -> str:
    """Markdown as the site renders it (without the theme's extras).

    Cached: checking, pages and feeds all render the same bodies. One renderer
    per thread, reset between uses, since building one costs more than rendering.
    """
    md = getattr(_renderer, "md", None)
    if md is None:
        md = _renderer.md = markdown.Markdown(extensions=list(MARKDOWN_EXTENSIONS))
    return str(md.reset().convert(text))


@functools.lru_cache(maxsize=8192)
def plain_text(md_text: str) -> str:
    """Markdown as readable plain text: paragraphs kept, link targets after their text."""
    parser = _PlainText()
    parser.feed(markdown_to_html(md_text))
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r"\n\n(- )", r"\n\1", text)
    return text.strip()


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut *text* at a word boundary so that it is at most *limit* characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ellipsis) + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > limit // 2 else cut[: limit - len(ellipsis)]
    return cut.rstrip(" ,;:.-") + ellipsis


# ---------------------------------------------------------------------------
# Counting a post the way each platform counts it, and fitting it in.
#
# Pure functions, no I/O: the channel adapters call them from `render`.
# Sources each rule was checked against are named where the rule is made.
# ---------------------------------------------------------------------------

# Latin letters with accents and combining marks that twitter-text lets into a URL path
# (its `latinAccentChars`), and Cyrillic (its `cyrillicLettersAndMarks`).
_LATIN_ACCENTS = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    r"\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = r"\u0400-\u04ff"
# What may follow the host: twitter-text's path and query characters (ASCII, Latin accents,
# Cyrillic, the en dash). Anything else (whitespace, quotes, <>, CJK...) ends the URL.
_URL_TAIL = rf"[a-z0-9!?*'@();:&=+$/%#\[\]\-\u2013_.,~|{_LATIN_ACCENTS}{_CYRILLIC}]"
# The characters a URL may end with; others at the end are the sentence's punctuation
# (a closing parenthesis stays when it balances one inside the URL, as in Wikipedia links).
_URL_END_RE = regex.compile(rf"[a-z0-9=_#/+\-&{_LATIN_ACCENTS}{_CYRILLIC}]", regex.IGNORECASE)
_LABEL = r"[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}_\-]*[\p{L}\p{M}\p{N}])?"
_ASCII_LABEL = r"[a-z0-9](?:[a-z0-9_\-]*[a-z0-9])?"
_TLD = r"(?:[a-z]{2,63}|xn--[a-z0-9\-]{1,59})(?![a-z0-9@+\-])|[^\W\d_A-Za-z]{2,63}(?![\w\-])"

URL_RE = regex.compile(
    rf"""
    # Not glued to a word, @, $ or # (twitter-text's validUrlPrecedingChars).
    (?<![a-z0-9@＠$\#＃\ufffe\ufeff\uffff])
    https?://
    (?P<host>
        (?:{_LABEL}\.)+(?:{_TLD})
      | localhost(?![\w\-]) | [0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}(?![\w.\-])
    )
    (?::[0-9]{{1,5}})?
    (?:[/?]{_URL_TAIL}*)?
    """,
    regex.VERBOSE | regex.IGNORECASE,
)
"""http(s) URLs in plain text. Use `find_urls`, which also drops trailing punctuation."""

# A bare domain such as "ready.gov" or "nyc.gov/311": X links and counts it as a URL too
# when it ends in a real top-level domain (twitter-text's extract_url_without_protocol).
_BARE_DOMAIN_RE = regex.compile(
    rf"""
    (?<![a-z0-9@＠$\#＃\-_./\ufffe\ufeff\uffff])
    (?P<host>(?:{_ASCII_LABEL}\.)+[a-z]{{2,63}})(?![a-z0-9@+\-])
    (?::[0-9]{{1,5}})?
    (?:/{_URL_TAIL}*)?
    """,
    regex.VERBOSE | regex.IGNORECASE,
)

# Generic TLDs in twitter-text's list (conformance/tld_lib.yml): a bare domain ending in one
# surely counts 23 on X. Any other bare domain counts max(23, its length), see x_length.
_KNOWN_GTLDS = frozenset(
    {"com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "app", "dev"}
)

_MAX_URL_LENGTH = 4096  # twitter-text's MAX_URL_LENGTH: longer "URLs" count character by character


def _trim_url_end(url: str) -> str:
    """Drop the sentence punctuation a URL match swallowed at its end."""
    while url:
        last = url[-1]
        if last == ")" and url.count("(") >= url.count(")"):
            break
        if last != ")" and _URL_END_RE.match(last):
            break
        url = url[:-1]
    return url


def _matches(pattern: regex.Pattern[str], text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, url, host) for each match, trailing punctuation trimmed."""
    found = []
    for m in pattern.finditer(text):
        # Never trim into the host: its last label may be in a script the path may not hold.
        end = max(m.start() + len(_trim_url_end(m.group())), m.end("host"))
        found.append((m.start(), end, text[m.start() : end], m["host"]))
    return found


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """The http(s) URLs in *text* as (start, end, url), start and end being str indices."""
    return [(start, end, url) for start, end, url, _ in _matches(URL_RE, text)]


def _linkable(url: str, host: str) -> bool:
    """Whether twitter-text (so X and Mastodon) would link this URL.

    Its host must be a domain whose every label IDNA-encodes to 1-63 characters,
    and the whole URL, with the host so encoded, at most 4096 characters.
    """
    if host.lower() == "localhost" or host.replace(".", "").isdigit():
        return False
    try:
        ascii_host = host.encode("idna")
    except UnicodeError:
        return False
    return len(url) + max(0, len(ascii_host) - len(host)) <= _MAX_URL_LENGTH


def _linked_urls(text: str) -> list[tuple[int, int]]:
    """Spans of the http(s) URLs that X and Mastodon link (and count as 23)."""
    return [(s, e) for s, e, url, host in _matches(URL_RE, text) if _linkable(url, host)]


# ---- X ---------------------------------------------------------------------------------

X_LIMIT = 280
X_URL_LENGTH = 23

# twitter-text config/v3.json: scale 100, defaultWeight 200, and these ranges at weight 100,
# i.e. a code point counts 1 in them and 2 anywhere else.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

# One emoji, however many code points it takes (v3 "emojiParsingEnabled": true): a flag, a
# keycap, an emoji with its skin tone, VS16 or tag sequence, and ZWJ chains of those. The
# digits, # and * (and (c), (r) without VS16) that are Emoji=Yes in Unicode are plain text.
_EMOJI_ELEMENT = r"""(?:
    \p{RI}\p{RI}
  | [\#*0-9]\ufe0f?\u20e3
  | [\u00a9\u00ae]\ufe0f
  | [\p{Emoji}--[\#*0-9\u00a9\u00ae\p{RI}]]
    (?:\p{Emoji_Modifier} | \ufe0f\u20e3? | [\U000e0020-\U000e007e]+\U000e007f)?
)"""
_EMOJI_RE = regex.compile(rf"{_EMOJI_ELEMENT}(?:\u200d{_EMOJI_ELEMENT})*", regex.VERBOSE | regex.V1)


def _x_weight(char: str) -> int:
    code = ord(char)
    return 1 if any(lo <= code <= hi for lo, hi in _X_LIGHT_RANGES) else 2


def x_length(text: str) -> int:
    """The length X counts for *text* (twitter-text v3 `parseTweet` weightedLength).

    NFC first; a linked URL counts 23; an emoji sequence counts 2; any other code point
    counts 1 in the v3 ranges (Latin, general punctuation...) and 2 elsewhere (CJK...).
    A bare domain (no scheme) counts 23 when it ends in a common generic TLD (.com,
    .gov...), else max(23, its length): X counts 23 only when it ends in a TLD on
    twitter-text's list, and without that list this is the count that is never too low.
    """
    text = unicodedata.normalize("NFC", text)
    spans: dict[int, tuple[int, int]] = {s: (e, X_URL_LENGTH) for s, e in _linked_urls(text)}
    taken = [(s, e) for s, (e, _) in spans.items()]
    for s, e, url, host in _matches(_BARE_DOMAIN_RE, text):
        if not any(ts <= s < te for ts, te in taken) and _linkable(url, host):
            known = host.rsplit(".", 1)[-1].lower() in _KNOWN_GTLDS
            spans[s] = (e, X_URL_LENGTH if known else max(X_URL_LENGTH, len(url)))
    for m in _EMOJI_RE.finditer(text):
        spans.setdefault(m.start(), (m.end(), 2))
    total = i = 0
    while i < len(text):
        if i in spans:
            i, weight = spans[i]
        else:
            i, weight = i + 1, _x_weight(text[i])
        total += weight
    return total


# ---- Mastodon --------------------------------------------------------------------------

MASTODON_LIMIT = 500

# Account::MENTION_RE and USERNAME_RE (app/models/account.rb): @user or @user@domain.
_MENTION_RE = regex.compile(
    r"(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)(?:@(?P<domain>[\w.\-]+\w+))?",
    regex.IGNORECASE,
)
_MAX_DOMAIN_LENGTH = 253  # Extractor::MAX_DOMAIN_LENGTH: a longer "domain" is no mention
# twitter-text's end_mention_match: what may not follow a mention.
_MENTION_END_RE = regex.compile(rf"[@＠{_LATIN_ACCENTS}]|://")


def graphemes(text: str) -> int:
    """The number of extended grapheme clusters (user-perceived characters) in *text*."""
    return len(regex.findall(r"\X", text))


def mastodon_length(text: str, url_length: int = 23) -> int:
    """The length Mastodon counts for a status (its StatusLengthValidator).

    Each linked http(s) URL counts *url_length*, a mention counts as @user even when
    written @user@domain (a domain of up to 253 characters), and the result is counted
    in grapheme clusters (`countable_text(...).each_grapheme_cluster.size`). A content
    warning, if any, counts too: pass `spoiler + text`.
    """
    entities = [(s, e, "x" * url_length) for s, e in _linked_urls(text)]
    for m in _MENTION_RE.finditer(text):
        domain = m["domain"] or ""
        if not _MENTION_END_RE.match(text, m.end()) and len(domain) <= _MAX_DOMAIN_LENGTH:
            entities.append((m.start(), m.end(), "@" + m["user"]))
    kept: list[tuple[int, int, str]] = []
    for entity in sorted(entities):  # Extractor.remove_overlapping_entities: first one wins
        if not kept or entity[0] >= kept[-1][1]:
            kept.append(entity)
    pieces, last = [], 0
    for start, end, replacement in kept:
        pieces += [text[last:start], replacement]
        last = end
    pieces.append(text[last:])
    return graphemes("".join(pieces))


# ---- Bluesky ---------------------------------------------------------------------------

BLUESKY_GRAPHEMES = 300
BLUESKY_BYTES = 3000


def utf8_length(text: str) -> int:
    """The number of bytes *text* takes in UTF-8."""
    return len(text.encode("utf-8"))


def utf16_length(text: str) -> int:
    """*text*'s length in UTF-16 code units (a JavaScript or Java string's length)."""
    return len(text.encode("utf-16-le")) // 2


def bluesky_length(text: str) -> int:
    """The length to hold against BLUESKY_GRAPHEMES (app.bsky.feed.post text).

    The grapheme count, which is what binds in practice; when the 3000-byte limit would
    bind first (long emoji sequences) it is bytes / 10 rounded up instead, so that
    `bluesky_length(t) <= BLUESKY_GRAPHEMES` exactly when `bluesky_fits(t)`.
    """
    per_grapheme = BLUESKY_BYTES // BLUESKY_GRAPHEMES
    return max(graphemes(text), math.ceil(utf8_length(text) / per_grapheme))


def bluesky_fits(text: str) -> bool:
    """Whether *text* fits a Bluesky post: at most 300 graphemes and 3000 UTF-8 bytes."""
    return graphemes(text) <= BLUESKY_GRAPHEMES and utf8_length(text) <= BLUESKY_BYTES


def bluesky_link_facets(text: str) -> list[dict[str, object]]:
    """An app.bsky.richtext.facet#link facet for each URL, indexed in UTF-8 bytes."""
    facets: list[dict[str, object]] = []
    for start, _, url in find_urls(text):
        byte_start = utf8_length(text[:start])
        facets.append(
            {
                "index": {"byteStart": byte_start, "byteEnd": byte_start + utf8_length(url)},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    return facets


# ---- Fitting a post --------------------------------------------------------------------

ELLIPSIS = "…"
_PARAGRAPH, _SENTENCE, _WORD = 3, 2, 1
# Keep a better break (paragraph, sentence; a word rather than mid-word) when it still
# fills at least this share of what would fit.
_MIN_FILL = 0.5
_SENTENCE_END_RE = regex.compile(r"[.!?…][\"'”’»)\]]*$")
_CJK_BREAK_RE = regex.compile(r"(?<=[。！？])(?=\S)|(?<=[、，；：])(?=\S)")


class _Break(NamedTuple):
    end: int  # the part before the break ends here
    next: int  # the part after it starts here
    level: int


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans that must never be cut: URLs, bare domains."""
    spans = [(s, e) for s, e, _ in find_urls(text)]
    spans += [(s, e) for s, e, _, _ in _matches(_BARE_DOMAIN_RE, text)]
    return spans


def _breaks(text: str, protected: list[tuple[int, int]]) -> list[_Break]:
    """Where *text* may be split, with how good a place each is."""
    found = []
    for m in regex.finditer(r"\s+", text):
        if m.start() == 0 or m.end() == len(text):
            continue
        if m.group().count("\n") >= 2:
            level = _PARAGRAPH
        elif "\n" in m.group() or _SENTENCE_END_RE.search(text, 0, m.start()):
            level = _SENTENCE
        else:
            level = _WORD
        found.append(_Break(m.start(), m.end(), level))
    for m in _CJK_BREAK_RE.finditer(text):
        if 0 < m.start() < len(text):
            level = _SENTENCE if text[m.start() - 1] in "。！？" else _WORD
            found.append(_Break(m.start(), m.start(), level))
    inside = [b for b in found if any(s < b.end < e for s, e in protected)]
    return sorted(set(found) - set(inside))


def _last_fitting(candidates: list[int], fits: Callable[[int], bool]) -> int:
    """The index of the last candidate that fits (they fit as a prefix), or -1."""
    lo, hi = 0, len(candidates) - 1
    best = -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(candidates[mid]):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


def _grapheme_cut(
    text: str, start: int, stop: int, protected: list[tuple[int, int]], fits: Callable[[int], bool]
) -> int:
    """The furthest grapheme boundary in (start, stop] not inside a URL that fits, or -1."""
    ends, pos = [], start
    for cluster in regex.findall(r"\X", text[start:stop]):
        pos += len(cluster)
        if not any(s < pos < e for s, e in protected):
            ends.append(pos)
    k = _last_fitting(ends, fits)
    return ends[k] if k >= 0 else -1


def _next_cut(
    text: str,
    start: int,
    breaks: list[_Break],
    protected: list[tuple[int, int]],
    fits: Callable[[int], bool],
    prefer: tuple[int, ...],
) -> _Break | None:
    """Where the part starting at *start* should end: the best break that fits."""
    ahead = [b for b in breaks if b.end > start]
    k = _last_fitting([b.end for b in ahead], fits)
    # How far a cut between graphemes could go, up to the first break that does not fit.
    stop = ahead[k + 1].end if k + 1 < len(ahead) else len(text)
    furthest = _grapheme_cut(text, start, stop, protected, fits)
    if k < 0 or (furthest > 0 and ahead[k].end - start < _MIN_FILL * (furthest - start)):
        return _Break(furthest, furthest, 0) if furthest > start else None
    reach = ahead[k].end - start
    for level in prefer:
        for b in reversed(ahead[: k + 1]):
            if b.level >= level and b.end - start >= _MIN_FILL * reach:
                return b
    return ahead[k]


def _chunk(text: str, start: int, end: int) -> str:
    return text[start:end].strip()


def _truncate(text: str, length: Callable[[str], int], limit: int, link: str) -> list[str]:
    tail = "\n\n" + link

    def with_ellipsis(chunk: str) -> str:
        chunk = chunk.rstrip(" \t\n,;:")
        spans = find_urls(chunk) + [(s, e, u) for s, e, u, _ in _matches(_BARE_DOMAIN_RE, chunk)]
        gap = " " if any(e == len(chunk) for _, e, _ in spans) else ""
        return chunk + gap + ELLIPSIS

    def fits(end: int) -> bool:
        chunk = _chunk(text, 0, end)
        return bool(chunk) and length(with_ellipsis(chunk) + tail) <= limit

    protected = _protected(text)
    cut = _next_cut(text, 0, _breaks(text, protected), protected, fits, ())
    if cut is None:
        if length(link) > limit:
            raise ValueError(f"the link alone is longer than the limit of {limit}: {link}")
        return [link]
    return [with_ellipsis(_chunk(text, 0, cut.end)) + tail]


def _thread(
    text: str, length: Callable[[str], int], limit: int, link: str, max_parts: int
) -> list[str]:
    protected = _protected(text)
    breaks = _breaks(text, protected)

    def part(chunk: str, number: int, total: int) -> str:
        counted = f"{chunk} ({number}/{total})"
        return counted + "\n\n" + link if number == 1 else counted

    def fits_from(start: int, number: int, total: int) -> Callable[[int], bool]:
        def fits(end: int) -> bool:
            chunk = _chunk(text, start, end)
            return bool(chunk) and length(part(chunk, number, total)) <= limit

        return fits

    for prefer in ((_PARAGRAPH, _SENTENCE), ()):
        width = 1
        while True:
            total = 10**width - 1  # the widest counter this many digits can take
            chunks: list[str] = []
            start = 0
            while start < len(text) and len(chunks) <= max_parts:
                number = len(chunks) + 1
                fits = fits_from(start, number, total)
                if fits(len(text)):
                    chunks.append(_chunk(text, start, len(text)))
                    break
                cut = _next_cut(text, start, breaks, protected, fits, prefer)
                if cut is None:
                    raise ValueError(
                        f"cannot split into parts of length {limit}: "
                        f"{text[start : start + 40]!r}... does not fit in one part"
                        + (" with the link" if number == 1 else "")
                    )
                chunks.append(_chunk(text, start, cut.end))
                start = cut.next
            if len(chunks) <= total or len(chunks) > max_parts:
                break
            width += 1
        parts = [part(chunk, i, len(chunks)) for i, chunk in enumerate(chunks, 1)]
        if len(parts) <= max_parts and all(length(p) <= limit for p in parts):
            return parts
    raise ValueError(
        f"the text needs more than {max_parts} parts of length {limit}; "
        "shorten it or allow more parts"
    )


def fit(
    text: str,
    *,
    length: Callable[[str], int],
    limit: int,
    link: str,
    mode: Literal["thread", "truncate"],
    max_parts: int = 25,
) -> list[str]:
    """Fit *text* and its permalink *link* into posts of at most *limit* by *length*.

    If the text, a blank line and the link fit, that one post. Otherwise:

    - "truncate": one post, *text* cut at a word boundary (between graphemes when a
      single word is too long), never inside a URL, then "…" and the link.
    - "thread": parts split at paragraph, then sentence, then word boundaries (between
      graphemes only inside a too-long word, never inside a URL), each ending with a
      counter " (i/n)". The FIRST part carries the link, after its counter: the post
      people see first, and the one platforms build the link preview from, points to
      the hub. Raises ValueError if more than *max_parts* parts would be needed.
    """
    text = text.strip()
    link = link.strip()
    whole = f"{text}\n\n{link}" if text else link
    if length(whole) <= limit:
        return [whole]
    if not text:
        raise ValueError(f"the link alone is longer than the limit of {limit}: {link}")
    # Fitting searches by re-measuring candidate cuts; keep what it searches bounded.
    if mode == "thread" and length(text) > limit * max_parts:
        raise ValueError(
            f"the text needs more than {max_parts} parts of length {limit}; "
            "shorten it or allow more parts"
        )
    reach = limit * 4 + 4096  # no post holds more, even with a URL (23 whatever its length)
    if mode == "truncate" and len(text) > reach:
        space = text.find(" ", reach)  # whitespace never falls inside a URL
        text = text[:space] if space > 0 else text
    if mode == "truncate":
        return _truncate(text, length, limit, link)
    return _thread(text, length, limit, link, max_parts)
