"""Rendering helpers: sanitised Markdown and server-drawn SVG (map, bars, network).

The map needs no tiles: regions are drawn as points on an equirectangular projection of
Indonesia's extent, so it works offline; a tile server can be configured for a background.
"""

from __future__ import annotations

import math
import textwrap

import markdown as md
import nh3
from markupsafe import Markup, escape

from kb.gazetteer import gazetteer

ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre",
                "h2", "h3", "h4", "a", "table", "thead", "tbody", "tr", "th", "td", "hr"}

# Indonesia's extent (degrees) and the map's size (px).
LON0, LON1, LAT0, LAT1 = 94.5, 141.5, -11.5, 6.5
MAP_W, MAP_H = 960, 368
LABEL_CHARS = 30  # characters of a bar chart's label line (210 px at 12 px)


def markdown_html(text: str) -> Markup:
    """Markdown to HTML with every tag, attribute and URL scheme outside a safe list removed."""
    html = md.markdown(text or "", extensions=["sane_lists"])
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)


def project(lat: float, lon: float) -> tuple[float, float]:
    x = (lon - LON0) / (LON1 - LON0) * MAP_W
    y = (LAT1 - lat) / (LAT1 - LAT0) * MAP_H
    return round(x, 1), round(y, 1)


def map_svg(counts: dict[str, int], *, links: list[tuple[str, str, int]] | None = None,
            href=None, title: str = "") -> Markup:
    """An SVG map: every regency/city as a faint dot, regions in ``counts`` as circles sized
    by their count (linked to their page through ``href(code)``), ``links`` as lines."""
    g = gazetteer()
    parts = [f'<svg viewBox="0 0 {MAP_W} {MAP_H}" class="map" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<rect width="{MAP_W}" height="{MAP_H}" class="sea"/>']
    for r in g.regions:
        if not r.is_province:
            x, y = project(r.lat, r.lon)
            parts.append(f'<circle cx="{x}" cy="{y}" r="1.6" class="land"/>')
    for a, b, n in links or []:
        ra, rb = g.get(a), g.get(b)
        if ra and rb:
            (x1, y1), (x2, y2) = project(ra.lat, ra.lon), project(rb.lat, rb.lon)
            parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="link" '
                         f'stroke-width="{min(6, 0.8 + n * 0.7):.1f}"/>')
    top = max(counts.values(), default=1)
    for code, n in sorted(counts.items(), key=lambda x: -x[1]):
        r = g.get(code)
        if r is None:
            continue
        x, y = project(r.lat, r.lon)
        radius = 3 + 9 * math.sqrt(n / top)
        cls = "hit prov" if r.is_province else "hit"
        label = f"{r.name}: {n}"
        circle = (f'<circle cx="{x}" cy="{y}" r="{radius:.1f}" class="{cls}"><title>{escape(label)}</title>'
                  f'</circle>')
        if href:
            circle = f'<a href="{escape(href(code))}" aria-label="{escape(label)}">{circle}</a>'
        parts.append(circle)
    parts.append("</svg>")
    return Markup("".join(parts))


def bars_svg(rows: list[dict], *, title: str, href=None, width: int = 520) -> Markup:
    """A horizontal bar chart of ``rows`` (``label``, ``count``, optional ``value``). A long label
    wraps at word boundaries onto a second line (and is shortened at a word boundary, with "…",
    beyond that), never cut inside a word; each bar carries its full label as an SVG ``<title>``."""
    if not rows:
        return Markup("")
    bar_h, gap, label_w, line_h = 18, 6, 210, 14
    top = max(r["count"] for r in rows) or 1
    labels = [label_lines(str(r["label"])) for r in rows]
    heights = [max(bar_h, len(lines) * line_h + 4) for lines in labels]
    h = sum(heights) + gap * (len(rows) + 1)
    parts = [f'<svg viewBox="0 0 {width} {h}" class="bars" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    y = gap
    for r, lines, row_h in zip(rows, labels, heights):
        w = (width - label_w - 50) * r["count"] / top
        mid = y + row_h / 2
        first = mid + 4 - (len(lines) - 1) * line_h / 2  # the text baseline of the first line
        spans = "".join(f'<tspan x="{label_w - 6}" y="{first + i * line_h:.1f}">{escape(line)}</tspan>'
                        for i, line in enumerate(lines))
        item = (f'<title>{escape(str(r["label"]))}: {r["count"]}</title>'
                f'<text text-anchor="end" class="lbl">{spans}</text>'
                f'<rect x="{label_w}" y="{mid - bar_h / 2:.1f}" width="{w:.1f}" height="{bar_h}" class="bar"/>'
                f'<text x="{label_w + w + 4:.1f}" y="{mid + 4:.1f}" class="num">{r["count"]}</text>')
        if href and r.get("value") is not None:
            item = f'<a href="{escape(href(r["value"]))}">{item}</a>'
        else:
            item = f"<g>{item}</g>"
        parts.append(item)
        y += row_h + gap
    parts.append("</svg>")
    return Markup("".join(parts))


def label_lines(label: str, width: int = LABEL_CHARS, lines: int = 2) -> list[str]:
    """``label`` in at most ``lines`` lines of about ``width`` characters, broken between words;
    what does not fit ends the last line with "…" after a whole word."""
    wrapped = textwrap.wrap(label, width, break_long_words=False, break_on_hyphens=False) or [""]
    if len(wrapped) <= lines:
        return wrapped
    kept = wrapped[:lines]
    rest = " ".join(wrapped[lines - 1:])
    words = rest.split()
    last = ""
    for word in words:
        if len(last) + len(word) + 2 > width and last:
            break
        last = f"{last} {word}".strip()
    kept[-1] = last + " …"
    return kept
