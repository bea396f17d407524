"""Home, statistics and map."""

from __future__ import annotations

import ctypes
import math
import threading
import time
from collections import Counter

from flask import (Blueprint, copy_current_request_context, current_app, get_template_attribute, has_request_context,
                   redirect, render_template, request, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _

from kb.errors import RegionError
from kb.gazetteer import ISLANDS, gazetteer
from kb.geography import attribution
from kb.search import facet_label
from kb.stats import region_pairs

from .. import get_kb
from ..labels import decade_label, localized, value_label
from ..render import (INDONESIA, Marker, Shape, bar_chart, class_breaks, class_of, fit_frame, map_layout,
                      region_box)
from .common import run_search, safe_next, search_params, url_with

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    kb = get_kb()
    # The counts of every published record by kind, sector and island are the index's facet
    # counts of an empty query (the statistics page's, read in milliseconds at any size).
    every = kb.search("", limit=1, facets=("kind", "sector", "island"))
    stats = {"total": every.total, "facets": every.facets}
    recent = kb.search("", sort="year", limit=6, facets=(), filters={"kind": ["case"]}).results
    return render_template("main/home.html", stats=stats, recent=recent)


@bp.get("/lang/<code>")
def set_language(code: str):
    """The language switch: remembered in the session; back to where the user was."""
    from flask import session

    if code in ("id", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), "/"))


# Statistics that took longer than this to work out are, after the next change, worked out again
# in a background thread while requests get the previous figures (at 100,000 records ~6 s).
SLOW_STATISTICS_S = 1.0


class _StatisticsCache:
    """Results of ``compute()`` by name, for one store head and index view at a time.

    A result is worked out once per change, not per request. When the previous result of a name
    took longer than ``SLOW_STATISTICS_S``, a change does not make requests wait: they get the
    previous result while one background thread per name works out the new one (with a copy of
    the request's context: the page's parts depend on its language); :meth:`updating` says so."""

    def __init__(self):
        self.lock = threading.Lock()
        self.key: tuple | None = None
        self.values: dict = {}
        self.previous: dict = {}   # name -> (value, seconds it took), whatever its key
        self.running: set = set()  # names being worked out in the background
        self.local = threading.local()

    def _current(self, key) -> bool:
        return self.key is not None and self.key[0] == key[0] and self.key[1] is key[1]

    def get(self, key: tuple, name, compute):
        with self.lock:
            if not self._current(key):
                self.key, self.values = key, {}
            if name in self.values:
                return self.values[name]
            previous = self.previous.get(name)
            background = (previous is not None and previous[1] > SLOW_STATISTICS_S
                          and not getattr(self.local, "working_out", False) and has_request_context())
            if background and name not in self.running:
                self.running.add(name)
                threading.Thread(target=copy_current_request_context(self._refresh), args=(key, name, compute),
                                 name="sinergi-statistics", daemon=True).start()
        if background:
            return previous[0]
        return self._work_out(key, name, compute)

    def _work_out(self, key: tuple, name, compute):
        # What compute() reads from this cache is worked out fresh too: a result made of a
        # previous one would be kept as current.
        outer = getattr(self.local, "working_out", False)
        self.local.working_out = True
        t0 = time.perf_counter()
        try:
            value = compute()
        finally:
            self.local.working_out = outer
        took = time.perf_counter() - t0
        if took > SLOW_STATISTICS_S:
            _return_freed_heap()
        with self.lock:
            self.previous[name] = (value, took)
            if self._current(key):
                self.values[name] = value
        return value

    def _refresh(self, key: tuple, name, compute) -> None:
        try:
            self._work_out(key, name, compute)
        except Exception:  # noqa: BLE001 - the next request tries again
            current_app.logger.exception("working out the statistics failed")
        finally:
            with self.lock:
                self.running.discard(name)

    def updating(self, name) -> bool:
        """Whether the result of ``name`` being answered is the previous one (its new one is
        being worked out)."""
        with self.lock:
            return name in self.running


def _return_freed_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; nothing where
    it is missing). A slow result is made of many short-lived objects (at 100,000 records the
    statistics' frame, ~130 MB), whose freed pages glibc otherwise keeps in this worker: its
    heap stayed ~60 MB larger after the statistics page."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(None).malloc_trim
        except (AttributeError, OSError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _statistics_cache() -> _StatisticsCache:
    cache = current_app.extensions.get("sinergi_statistics")
    if cache is None:
        cache = current_app.extensions.setdefault("sinergi_statistics", _StatisticsCache())
    return cache


def _cached(kb, name, compute):
    """``compute()``, kept until the store has a new revision or the index a new view: the
    statistics are worked out once per change, not per request (the network of regions reads
    every published record, its map draws every link); see :class:`_StatisticsCache`."""
    return _statistics_cache().get((kb.store.head(), kb.index.snapshot()), name, compute)


def _statistics(kb) -> dict:
    """``{"stats": KnowledgeBase.stats(), "pairs": {(a, b): cases}}``, computed once per store
    change from one frame of the published records' facet values, which is not kept (at
    100,000 records it holds ~130 MB)."""
    def compute() -> dict:
        frame = kb.stats_frame()
        return {"stats": kb.stats(frame),
                "pairs": {ab: int(n) for ab, n in region_pairs(frame).items()}}  # most cases first
    return _cached(kb, "statistics", compute)


def cached_statistics(kb) -> dict:
    """:meth:`KnowledgeBase.stats`, computed once per store change (the page and the API)."""
    return _statistics(kb)["stats"]


@bp.get("/statistik")
def stats():
    kb = get_kb()
    name = ("page", str(get_locale()))
    parts = _cached(kb, name, lambda: _stats_parts(kb))
    return render_template("main/stats.html", updating=_statistics_cache().updating(name), **parts)


def _stats_parts(kb) -> dict:
    st = cached_statistics(kb)
    facets = st["facets"]
    layouts = {
        "sector": bar_chart(localized("sector", facets.get("sector", [])), title=_("Kasus per bidang"),
                            href=lambda v: url_for("search.search", sector=v)),
        "island": bar_chart(localized("island", facets.get("island", [])), title=_("Kasus per pulau"),
                            href=lambda v: url_for("search.search", island=v)),
        "status": bar_chart(localized("status", facets.get("status", [])), title=_("Kasus per status"),
                            href=lambda v: url_for("search.search", status=v)),
        "year": bar_chart(_decades(facets.get("year", [])), title=_("Kasus per dasawarsa mulai")),
    }
    # Drawn here, once per store change and language, like the rest of the page's parts.
    draw = get_template_attribute("main/_charts.html", "bar_chart")
    charts = {name: draw(layout) for name, layout in layouts.items()}
    pairs = _statistics(kb)["pairs"]
    network = _network_map(dict(list(pairs.items())[:MAX_NETWORK_LINKS]), _degree(pairs))
    top_pairs = [(facet_label("region", a), facet_label("region", b), n) for (a, b), n in list(pairs.items())[:10]]
    return {"st": st, "charts": charts, "network": network, "top_pairs": top_pairs,
            "links": (min(len(pairs), MAX_NETWORK_LINKS), len(pairs)),
            "tables": [_table(st["tables"]["sector_status"], _("Bidang menurut status")),
                       _table(st["tables"]["island_type"], _("Pulau menurut jenis kerja sama"))]}


def _table(table: dict, title: str) -> dict:
    """A cross-table of :func:`kb.stats.statistics` with its labels in the page's language: a
    column is named by its value's label (a cooperation type by its code, its label as the
    header's title), a row by its value's label and links to the search for it."""
    rows, columns = table["rows"], table["columns"]
    return {"title": title, "rows": rows,
            "columns": [{"value": c["value"], "title": value_label(columns, c["value"]),
                         "label": c["value"] if columns == "type" else value_label(columns, c["value"]),
                         "href": url_for("search.search", **{columns: c["value"]})}
                        for c in table["values"]],
            "data": [{**row, "label": value_label(rows, row["value"]),
                      "href": url_for("search.search", **{rows: row["value"]}),
                      "cells": [(n, url_for("search.search", **{rows: row["value"], columns: c["value"]}))
                                for n, c in zip(row["counts"], table["values"])]}
                     for row in table["data"]]}


# The most lines the network map draws: the pairs named in the most cases (a map of a hundred
# thousand lines is neither readable nor a page a browser should have to draw).
MAX_NETWORK_LINKS = 1000


def _network_map(pairs: dict[tuple[str, str], int], degree: Counter):
    """Regions that appear in the same case joined by a line on the province outlines (the
    ``pairs`` drawn); a region's circle grows with its number of partnerships (``degree``, over
    every pair) and links to its page."""
    g = gazetteer()
    top = max(degree.values(), default=1)
    shapes = [Shape("province", p.code, "base") for p in g.provinces()]
    markers = [Marker(c, 2.5 + 7 * math.sqrt(n / top), "hub", url_for("regions.region", code=c),
                      _("%(name)s: %(n)d kemitraan", name=g.get(c).name, n=n))
               for c, n in sorted(degree.items(), key=lambda x: (-x[1], x[0])) if g.get(c)]
    layout = map_layout(INDONESIA, shapes, title=_("Jaringan daerah yang bekerja sama"), markers=markers,
                        links=[(a, b, n) for (a, b), n in sorted(pairs.items())])
    # Drawn here, once per store change and language, with the rest of the page's parts.
    return get_template_attribute("_map.html", "outline_map")(layout)


def _decades(rows):
    c: Counter = Counter()
    for r in rows:
        c[int(r["value"]) // 10 * 10] += r["count"]
    return [{"label": decade_label(d), "count": n} for d, n in sorted(c.items())]


def _degree(pairs: dict[tuple[str, str], int]) -> Counter:
    deg: Counter = Counter()
    for (a, b), n in pairs.items():
        deg[a] += n
        deg[b] += n
    return deg


@bp.get("/peta")
def map_page():
    """A choropleth of the records matching the search filters in the URL: provinces shaded by
    their count, or, zoomed to one island group (``island=``) or province (``province=``), that
    area's regencies/cities shaded by theirs. Every shape links to its region page."""
    params = search_params()
    res = run_search({**params, "page": 1, "limit": 1}, facets=("region", "province"))
    g = gazetteer()
    region_counts = {f["value"]: f["count"] for f in res.facets.get("region", [])}
    province_counts = {f["value"]: f["count"] for f in res.facets.get("province", [])}
    zoom_island, zoom_province = _zoom(params)
    href = lambda c: url_for("regions.region", code=c)  # noqa: E731
    shapes: list[Shape] = []
    if zoom_island is None and zoom_province is None:
        focus = [p.code for p in g.provinces()]
        counts = province_counts
        frame = INDONESIA
        layer = "province"
    else:
        focus = [r.code for r in g.regions if not r.is_province and
                 (r.province_code == zoom_province if zoom_province else r.island == zoom_island)]
        counts = region_counts
        frame = fit_frame([region_box(c) for c in focus])
        layer = "regency"
        # Around the focus: the rest of the map in grey (regencies beside a province, so that
        # their borders meet; whole provinces beside an island group, which no land border joins).
        if zoom_province:
            shapes += [Shape("regency", r.code, "ctx") for r in g.regions
                       if not r.is_province and r.province_code != zoom_province]
        else:
            shapes += [Shape("province", p.code, "ctx") for p in g.provinces() if p.island != zoom_island]
    focus_set = set(focus)
    breaks = class_breaks(max((counts.get(c, 0) for c in focus), default=0))
    for code in focus:
        n = counts.get(code, 0)
        shapes.append(Shape(layer, code, f"ch{class_of(n, breaks)}", href(code), _count_label(g.get(code).name, n)))
    markers = [Marker(c, 2.4 if layer == "province" else 4.0, "case", href(c), _count_label(g.get(c).name, n))
               for c, n in sorted(region_counts.items()) if n and "." in c and g.get(c) and
               (layer == "province" or c in focus_set)]
    title = _("Peta catatan yang cocok")
    if zoom_province:
        title += " — " + g.get(zoom_province).name
    elif zoom_island:
        title += " — " + value_label("island", zoom_island)
    outline = map_layout(frame, shapes, title=title, markers=markers, borders=layer == "regency")
    legend = [("ch0", _("tidak ada"))] + [(f"ch{i}", str(lo) if lo == hi else f"{lo}–{hi}")
                                          for i, (lo, hi) in enumerate(breaks, 1)]
    top = sorted(res.facets.get("region", []), key=lambda f: -f["count"])[:15]
    return render_template("main/map.html", params=params, res=res, outline=outline, top=top, url_with=url_with,
                           legend=legend, zoom_island=zoom_island, zoom_province=zoom_province,
                           zoom_links=_zoom_links(params, zoom_island, zoom_province), unit=layer,
                           attribution=attribution())


def _count_label(name: str, n: int) -> str:
    return _("%(name)s: %(n)d catatan", name=name, n=n)


def _zoom(params: dict) -> tuple[str | None, str | None]:
    """The island group and province the map is zoomed to: the search's own filter when it
    names exactly one (a name or a code), else none."""
    g = gazetteer()
    province = island = None
    provs = params["filters"].get("province", [])
    if len(provs) == 1:
        try:
            r = g.resolve(provs[0])
            province = r.province_code
        except RegionError:
            province = None
    isles = params["filters"].get("island", [])
    if province:
        island = g.get(province).island
    elif len(isles) == 1:
        key = isles[0].strip().lower()
        island = key if key in ISLANDS else next((k for k, v in ISLANDS.items() if v.lower() == key), None)
    return island, province


def _zoom_links(params: dict, island: str | None, province: str | None) -> dict:
    """Links that zoom the map (and filter the search) to Indonesia, an island group, or a
    province of the island group in view, keeping the rest of the search."""
    g = gazetteer()

    def at(island_key: str | None, province_code: str | None) -> str:
        filters = {k: v for k, v in params["filters"].items() if k not in ("island", "province")}
        if province_code:
            filters["province"] = [province_code]
        elif island_key:
            filters["island"] = [island_key]
        return url_with({**params, "filters": filters, "page": 1}, endpoint="main.map_page")

    return {"all": at(None, None),
            "islands": [(k, value_label("island", k), at(k, None)) for k in ISLANDS],
            "provinces": [(p.code, p.name, at(None, p.code)) for p in g.provinces() if island and p.island == island]}
