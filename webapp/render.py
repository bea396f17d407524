"""Rendering helpers: sanitised Markdown, and the layouts of server-drawn SVG maps and bar charts
(coordinates, path data, links and names), which templates draw: ``_map.html`` and
``main/_charts.html``.

Maps need no tiles: province and regency outlines from ``kb/data/outlines.json`` are drawn on a
plain longitude/latitude projection, so every map works offline.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass
from typing import NamedTuple

import markdown as md
import nh3
from markupsafe import Markup

from kb.gazetteer import gazetteer
from kb.geography import outlines, province_borders

ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre",
                "h2", "h3", "h4", "a", "table", "thead", "tbody", "tr", "th", "td", "hr"}

LABEL_CHARS = 30  # characters of a bar chart's label line (210 px at 12 px)


def markdown_html(text: str) -> Markup:
    """Markdown to HTML with every tag, attribute and URL scheme outside a safe list removed."""
    html = md.markdown(text or "", extensions=["sane_lists"])
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)


@dataclass(frozen=True)
class Frame:
    """A view of the map: a longitude/latitude box drawn ``width`` px wide (plain
    equirectangular projection, which is close to true shape this near the equator)."""

    lon0: float
    lat0: float
    lon1: float
    lat1: float
    width: int = 960

    @property
    def scale(self) -> float:
        return self.width / (self.lon1 - self.lon0)

    @property
    def height(self) -> int:
        return round((self.lat1 - self.lat0) * self.scale)

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        return round((lon - self.lon0) * self.scale, 1), round((self.lat1 - lat) * self.scale, 1)

    def overlaps(self, box: tuple[float, float, float, float]) -> bool:
        return not (box[2] < self.lon0 or box[0] > self.lon1 or box[3] < self.lat0 or box[1] > self.lat1)


INDONESIA = Frame(94.5, -11.5, 141.5, 6.5)


def fit_frame(boxes: list[tuple[float, float, float, float]], width: int = 960, pad: float = 0.06,
              aspect: tuple[float, float] = (0.45, 0.9)) -> Frame:
    """The frame that shows every box in ``boxes`` with a margin, its height/width kept within
    ``aspect`` (a long thin island still gets some sea around it)."""
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    w, h = max(x1 - x0, 0.05), max(y1 - y0, 0.05)
    x0, x1, y0, y1 = x0 - w * pad, x1 + w * pad, y0 - h * pad, y1 + h * pad
    w, h = x1 - x0, y1 - y0
    if h / w < aspect[0]:
        grow = (w * aspect[0] - h) / 2
        y0, y1 = y0 - grow, y1 + grow
    elif h / w > aspect[1]:
        grow = (h / aspect[1] - w) / 2
        x0, x1 = x0 - grow, x1 + grow
    return Frame(round(x0, 3), round(y0, 3), round(x1, 3), round(y1, 3), width)


@functools.cache
def _boxes(layer: str) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for code, rings in outlines(layer).items():
        xs = [x for ring in rings for x, _ in ring]
        ys = [y for ring in rings for _, y in ring]
        out[code] = (min(xs), min(ys), max(xs), max(ys))
    return out


def region_box(code: str) -> tuple[float, float, float, float]:
    """The bounding box (lon0, lat0, lon1, lat1) of a province or regency/city."""
    return _boxes("province" if "." not in code else "regency")[code]


@functools.lru_cache(maxsize=8192)
def _path(layer: str, code: str, frame: Frame) -> str:
    """The SVG path data of a region's outline in ``frame``; rings smaller than a pixel are left
    out, and a vertex that lands on the previous one is skipped."""
    parts = []
    for ring in outlines(layer)[code]:
        pts: list[tuple[float, float]] = []
        for lon, lat in ring:
            p = frame.project(lon, lat)
            if not pts or p != pts[-1]:
                pts.append(p)
        if len(pts) < 3:
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        if max(xs) - min(xs) < 1 and max(ys) - min(ys) < 1:
            continue
        parts.append("M" + " ".join(f"{x:g} {y:g}" for x, y in pts) + "Z")
    return "".join(parts)


@functools.lru_cache(maxsize=1024)
def _borders_path(frame: Frame) -> str:
    """Province borders (on land) within ``frame`` as one SVG path."""
    parts = []
    for line in province_borders():
        xs, ys = [p[0] for p in line], [p[1] for p in line]
        if not frame.overlaps((min(xs), min(ys), max(xs), max(ys))):
            continue
        pts = [frame.project(lon, lat) for lon, lat in line]
        parts.append("M" + " ".join(f"{x:g} {y:g}" for x, y in pts))
    return "".join(parts)


def class_breaks(top: int, classes: int = 5) -> list[tuple[int, int]]:
    """Count ranges for a choropleth: ``[(lo, hi), ...]`` from 1 to ``top``, growing
    geometrically (a few regions have many records, most have a few)."""
    if top <= 0:
        return []
    edges = sorted({max(1, round(top ** (i / classes))) for i in range(classes + 1)} | {1})
    ranges = []
    lo = 1
    for e in edges[1:] if len(edges) > 1 else edges:
        if e >= lo:
            ranges.append((lo, e))
            lo = e + 1
    if not ranges or ranges[-1][1] < top:
        ranges.append((lo, top))
    return ranges


def class_of(n: int, breaks: list[tuple[int, int]]) -> int:
    for i, (lo, hi) in enumerate(breaks, 1):
        if lo <= n <= hi:
            return i
    return 0


@dataclass
class Shape:
    """A region drawn on a map: ``css`` classes, a link and a tooltip, or decoration only."""

    layer: str
    code: str
    css: str
    href: str | None = None
    label: str = ""


@dataclass
class Marker:
    """A circle at a region's point: ``r`` px, a link and a tooltip."""

    code: str
    r: float
    css: str
    href: str | None = None
    label: str = ""


class MapShape(NamedTuple):
    """A region's outline as drawn: SVG path data, classes, and a link with its name (or none)."""

    d: str
    css: str
    href: str | None
    label: str


class MapLine(NamedTuple):
    """A line between two regions' points, its weight 1-5."""

    x1: str
    y1: str
    x2: str
    y2: str
    weight: int


class MapMarker(NamedTuple):
    """A circle at a region's point, with a link and its name, or its name as a tooltip."""

    cx: str
    cy: str
    r: str
    css: str
    href: str | None
    label: str


@dataclass(frozen=True)
class MapLayout:
    """What ``templates/_map.html``'s ``outline_map`` macro draws: the frame's size, the SVG's
    classes and name, the shapes, province borders (path data, or ""), lines and markers, in
    drawing order, with coordinates as the SVG writes them."""

    width: int
    height: int
    css: str
    title: str
    shapes: list[MapShape]
    borders: str
    lines: list[MapLine]
    markers: list[MapMarker]


def map_layout(frame: Frame, shapes: list[Shape], *, title: str, markers: list[Marker] = (),
               links: list[tuple[str, str, int]] = (), css: str = "map", borders: bool = False) -> MapLayout:
    """The layout of a server-drawn map of ``shapes`` in ``frame`` (``borders``: province borders
    over regency shapes; ``links``: lines between regions, ``(code, code, count)``). Shapes and
    markers outside the frame are left out, as are shapes smaller than a pixel."""
    g = gazetteer()
    drawn = []
    for s in shapes:
        if not frame.overlaps(region_box(s.code)):
            continue
        d = _path(s.layer, s.code, frame)
        if d:
            drawn.append(MapShape(d, s.css, s.href, s.label))
    lines = []
    for a, b, n in links:
        ra, rb = g.get(a), g.get(b)
        if ra and rb:
            (x1, y1), (x2, y2) = frame.project(ra.lon, ra.lat), frame.project(rb.lon, rb.lat)
            lines.append(MapLine(f"{x1:g}", f"{y1:g}", f"{x2:g}", f"{y2:g}", min(5, n)))
    circles = []
    for m in markers:
        r = g.get(m.code)
        if r is None or not (frame.lon0 <= r.lon <= frame.lon1 and frame.lat0 <= r.lat <= frame.lat1):
            continue
        x, y = frame.project(r.lon, r.lat)
        circles.append(MapMarker(f"{x:g}", f"{y:g}", f"{m.r:.1f}", m.css, m.href, m.label))
    return MapLayout(frame.width, frame.height, css, title, drawn, _borders_path(frame) if borders else "", lines,
                     circles)


@dataclass(frozen=True)
class ChartBar:
    """One bar of a :class:`BarChart`: its label (whole, and as drawn: ``(line, baseline y)``),
    count, link, and where it is drawn (coordinates as the SVG writes them)."""

    label: str
    count: int
    href: str | None
    lines: list[tuple[str, str]]
    y: str
    length: str
    count_x: str
    count_y: str


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart laid out for ``main/_charts.html``'s ``bar_chart`` macro, which
    draws it. A chart with links is a labelled group (``linked``): an image's content is hidden
    from assistive technology, so links inside one could not be reached."""

    title: str
    width: int
    height: int
    label_x: int
    bar_x: int
    bar_h: int
    linked: bool
    bars: list[ChartBar]


def bar_chart(rows: list[dict], *, title: str, href=None, width: int = 520) -> BarChart | None:
    """The layout of a horizontal bar chart of ``rows`` (``label``, ``count``, optional
    ``value``, which ``href`` turns into the bar's link); ``None`` without rows. A long label
    wraps at word boundaries onto a second line (and is shortened at a word boundary, with "…",
    beyond that), never cut inside a word; each bar carries its full label as its title."""
    if not rows:
        return None
    bar_h, gap, label_w, line_h = 18, 6, 210, 14
    top = max(r["count"] for r in rows) or 1
    labels = [label_lines(str(r["label"])) for r in rows]
    heights = [max(bar_h, len(lines) * line_h + 4) for lines in labels]
    bars = []
    y = gap
    for r, lines, row_h in zip(rows, labels, heights):
        w = (width - label_w - 50) * r["count"] / top
        mid = y + row_h / 2
        first = mid + 4 - (len(lines) - 1) * line_h / 2  # the text baseline of the first line
        link = href(r["value"]) if href and r.get("value") is not None else None
        bars.append(ChartBar(str(r["label"]), r["count"], link,
                             [(line, f"{first + i * line_h:.1f}") for i, line in enumerate(lines)],
                             f"{mid - bar_h / 2:.1f}", f"{w:.1f}", f"{label_w + w + 4:.1f}", f"{mid + 4:.1f}"))
        y += row_h + gap
    return BarChart(title, width, sum(heights) + gap * (len(rows) + 1), label_w - 6, label_w, bar_h,
                    href is not None, bars)


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
