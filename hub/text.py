"""Text helpers shared by the site, the feeds and the channels."""

from __future__ import annotations

import functools
import re
import threading
from html.parser import HTMLParser

import markdown

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
