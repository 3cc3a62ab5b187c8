"""Instagram images for updates, hosted under the built site so the API can fetch them.

Instagram's content publishing takes only an image URL (a JPEG), never text alone:
every update going there needs a picture. An update without an image gets a text
card; an update with one gets a JPEG copy fitted to Instagram's aspect ratios.
Both live at :func:`card_path`, a name that changes whenever the update does.

The text card (:func:`render_card`) is 1080 x 1350 (4:5, the tallest ratio a feed
image may have): a band in the site's severity colour (``hub/site/assets/stormhub.css``)
holding the severity and the organisation, the title in large type (wrapped between
words, the size shrinking until it fits, at most :data:`MAX_TITLE_LINES` lines, then an
ellipsis), the update's local time as the site shows it (:func:`hub.site.pages.time_label`,
"Fri Nov 27, 6:15 AM EST") and the permalink without its scheme. White on each band
colour and near-black on white are all above WCAG AA's 4.5:1 (see :func:`contrast`).
The font is the one Pillow bundles (``ImageFont.load_default(size=...)``, Aileron,
Pillow >= 10.1), so a card is drawn the same on every machine with no font package;
the title is emboldened with a stroke. Characters outside that font (emoji) show as
boxes: titles are expected in plain words.

An update's own image is copied as an RGB JPEG (alpha flattened onto white), at most
1440 px wide, padded (never cropped) with a neutral colour to the nearest ratio
Instagram accepts for a feed image, 4:5 to 1.91:1 (developers.facebook.com/docs/
instagram-platform/instagram-graph-api/reference/ig-user/media, ``image_url``).

:func:`write_cards` writes the cards into a built site, through a cache under the hub
(``.stormhub/cache/cards/``) so a rebuild draws only new or changed cards.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont, ImageOps

from hub.model import Severity
from hub.text import plain_text

if TYPE_CHECKING:
    from hub.model import Hub, Update


CARD_VERSION = 1  # bump when the drawing changes, so new cards get new URLs
WIDTH, HEIGHT = 1080, 1350
MAX_WIDTH = 1440  # Instagram stores feed images at most 1440 px wide
MIN_WIDTH = 320  # and scales narrower ones up
MIN_RATIO, MAX_RATIO = 4 / 5, 1.91  # width / height
PAD = (242, 242, 242)  # the neutral letterbox colour
JPEG_QUALITY = 85
MAX_TITLE_LINES = 7
TITLE_SIZES = range(104, 55, -4)  # largest first
CACHE = Path(".stormhub/cache/cards")

# The site's severity colours (stormhub.css .sh-sev--*), white text on each.
SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.INFO: "#1a4f8b",
    Severity.ADVISORY: "#5b3d8a",
    Severity.WARNING: "#8a4b00",
    Severity.EMERGENCY: "#a4161a",
}
INK = "#1a1a1a"  # title on white
MUTED = "#404040"  # time and link on white
PAPER = "#ffffff"
MARGIN = 84


def card_path(update: Update) -> str:
    """The site path of *update*'s Instagram image, e.g. ``cards/<id>-<hash>.jpg``."""
    digest = hashlib.sha256(f"{CARD_VERSION}\0{update.id}\0{update.revision}".encode()).hexdigest()[
        :12
    ]
    return f"cards/{update.id}-{digest}.jpg"


def card_alt(update: Update) -> str:
    """The alt text of *update*'s Instagram image: its own alt, else the update's text."""
    if update.image and update.alt:
        return update.alt
    return f"{update.title}. {plain_text(update.body)}"


# --- colour ------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# --- drawing -----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled TrueType font at *size* pixels."""
    loaded = ImageFont.load_default(size=size)
    assert isinstance(loaded, ImageFont.FreeTypeFont), "Pillow was built without FreeType"
    return loaded


def _width(text: str, face: ImageFont.FreeTypeFont, stroke: int = 0) -> float:
    return face.getlength(text) + 2 * stroke


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float, stroke: int = 0) -> list[str]:
    """*text* in lines no wider than *width*, broken between words only.

    A single word wider than *width* stays whole on its own line (the caller shrinks
    the font until it fits).
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and _width(candidate, face, stroke) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def _fits(lines: list[str], face: ImageFont.FreeTypeFont, width: float, stroke: int) -> bool:
    return all(_width(line, face, stroke) <= width for line in lines)


def fit_title(
    title: str, width: float, height: float, max_lines: int = MAX_TITLE_LINES
) -> tuple[list[str], int]:
    """The title's lines and font size: the largest size whose wrap fits the box.

    At the smallest size, a title still too long keeps its first *max_lines* lines,
    the last ending with "…" after a whole word.
    """
    for size in TITLE_SIZES:
        stroke = max(1, size // 40)
        face = font(size)
        lines = wrap(title, face, width, stroke)
        if (
            len(lines) <= max_lines
            and len(lines) * _leading(size) <= height
            and _fits(lines, face, width, stroke)
        ):
            return lines, size
    size = TITLE_SIZES[-1]
    stroke = max(1, size // 40)
    face = font(size)
    lines = wrap(title, face, width, stroke)
    limit = max(1, min(max_lines, int(height // _leading(size))))
    kept = lines[:limit]
    if len(lines) > limit:
        words = kept[-1].split()
        while words and _width(" ".join(words) + "…", face, stroke) > width:
            words.pop()
        kept[-1] = (" ".join(words) or kept[-1]).rstrip(" ,;:.-") + "…"
    return kept, size


def _leading(size: int) -> int:
    return round(size * 1.18)


def _shrink_to(text: str, width: float, largest: int, smallest: int) -> ImageFont.FreeTypeFont:
    """The largest font (down to *smallest*) at which *text* fits *width*."""
    for size in range(largest, smallest - 1, -2):
        if _width(text, font(size)) <= width:
            return font(size)
    return font(smallest)


def url_lines(link: str, width: float) -> tuple[list[str], ImageFont.FreeTypeFont]:
    """*link* on one line at 44 to 36 px, else on two lines broken after a "/"."""
    for size in range(44, 35, -2):
        if _width(link, font(size)) <= width:
            return [link], font(size)
    cuts = [i + 1 for i, char in enumerate(link[:-1]) if char == "/"]
    for size in range(40, 21, -2):
        face = font(size)
        for cut in reversed(cuts):  # the longest first line that fits
            head, tail = link[:cut], link[cut:]
            if _width(head, face) <= width and _width(tail, face) <= width:
                return [head, tail], face
    return [link], _shrink_to(link, width, 36, 12)


def short_url(url: str) -> str:
    """*url* without its scheme: ``hub.example.org/updates/ed-open/``."""
    return url.split("://", 1)[-1]


def render_card(hub: Hub, update: Update) -> bytes:
    """A 1080 x 1350 JPEG text card for *update* (see the module's docstring)."""
    from hub.site.pages import time_label  # the site's own time format

    colour = SEVERITY_COLOURS[update.severity]
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * MARGIN

    # The band: severity, then the organisation, white on the severity colour.
    band = 300
    draw.rectangle((0, 0, WIDTH, band), fill=colour)
    label = update.severity.label.upper()
    draw.text((MARGIN, 64), label, font=font(60), fill=PAPER, stroke_width=2, stroke_fill=PAPER)
    organisation = _shrink_to(hub.info.organisation, inner, 56, 32)
    draw.text((MARGIN, 172), hub.info.organisation, font=organisation, fill=PAPER)

    # The footer: a rule in the severity colour, the time and the short permalink.
    footer = HEIGHT - 260
    draw.rectangle((MARGIN, footer, WIDTH - MARGIN, footer + 8), fill=colour)
    when = time_label(hub, update.time)
    draw.text((MARGIN, footer + 44), when, font=_shrink_to(when, inner, 48, 28), fill=MUTED)
    link = short_url(hub.permalink(update))
    link_lines, link_face = url_lines(link, inner)
    for number, line in enumerate(link_lines):
        y = footer + 116 + number * round(link_face.size * 1.25)
        draw.text((MARGIN, y), line, font=link_face, fill=INK)

    # The title, as large as fits between the band and the footer.
    top = band + 80
    lines, size = fit_title(update.title, inner, footer - 60 - top)
    stroke = max(1, size // 40)
    face = font(size)
    for number, line in enumerate(lines):
        y = top + number * _leading(size)
        draw.text((MARGIN, y), line, font=face, fill=INK, stroke_width=stroke, stroke_fill=INK)

    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def fit_image(data: bytes) -> bytes:
    """An image as an Instagram feed JPEG: RGB, <= 1440 px wide, 4:5 to 1.91:1, padded."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        source = ImageOps.exif_transpose(opened)
    if source.mode in ("RGBA", "LA", "P", "PA") or "transparency" in source.info:
        rgba = source.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        source = flat
    else:
        source = source.convert("RGB")
    width, height = source.size
    ratio = width / height
    canvas = (width, height)
    if ratio < MIN_RATIO:  # too tall: widen
        canvas = (round(height * MIN_RATIO), height)
    elif ratio > MAX_RATIO:  # too wide: heighten
        canvas = (width, round(width / MAX_RATIO))
    padded = Image.new("RGB", canvas, PAD)
    padded.paste(source, ((canvas[0] - width) // 2, (canvas[1] - height) // 2))
    scale = 1.0
    if canvas[0] > MAX_WIDTH:
        scale = MAX_WIDTH / canvas[0]
    elif canvas[0] < MIN_WIDTH:
        scale = MIN_WIDTH / canvas[0]
    if scale != 1.0:
        size = (round(canvas[0] * scale), max(1, round(canvas[1] * scale)))
        padded = padded.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    padded.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def card_bytes(hub: Hub, update: Update) -> bytes:
    """*update*'s Instagram image: its own image fitted, else a text card."""
    source = hub.image_file(update)
    if source is not None:
        return fit_image(Path(source).read_bytes())
    return render_card(hub, update)


def _cache_dir(hub: Hub) -> Path | None:
    if hub.content_dir is None:
        return None
    return Path(hub.content_dir).parent / CACHE


def write_cards(hub: Hub, site_dir: Path | str, updates: Iterable[Update]) -> int:
    """Write each update's image to ``site_dir / card_path(update)``; how many were drawn.

    A card already in the cache (keyed by its file name, which changes with the update;
    for an update's own image also by that file's modification time) is copied, not
    drawn again. Nothing else in *site_dir* or the cache is touched.
    """
    site = Path(site_dir)
    cache = _cache_dir(hub)
    drawn = 0
    for update in updates:
        target = site / card_path(update)
        target.parent.mkdir(parents=True, exist_ok=True)
        cached = cache / target.name if cache is not None else None
        source = hub.image_file(update)
        if cached is not None and cached.is_file():
            stale = source is not None and os.path.getmtime(source) > cached.stat().st_mtime
            if not stale:
                shutil.copyfile(cached, target)
                continue
        data = card_bytes(hub, update)
        drawn += 1
        target.write_bytes(data)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            temporary = cached.with_name(f".{cached.name}.{os.getpid()}")
            temporary.write_bytes(data)
            temporary.replace(cached)
    return drawn
