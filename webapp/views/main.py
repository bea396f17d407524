"""Home, statistics and map."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from kb.index import facet_label

from .. import get_kb
from ..labels import decade_label, localized
from ..render import bars_svg, map_svg
from .common import run_search, safe_next, search_params, url_with

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    kb = get_kb()
    stats = _cached(kb, "stats", kb.stats)
    recent = kb.search("", sort="year", limit=6, facets=(), filters={"kind": ["case"]}).results
    return render_template("main/home.html", stats=stats, recent=recent)


@bp.get("/lang/<code>")
def set_language(code: str):
    """The language switch: remembered in the session; back to where the user was."""
    from flask import session

    if code in ("id", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), "/"))


def _cached(kb, name, compute):
    """``compute()``, kept until the store has a new revision or the index a new view: the
    statistics are worked out once per change, not per request (the network of regions reads
    every published record, its map draws every link)."""
    key = (kb.store.head(), kb.index.snapshot())
    entry = current_app.extensions.get("sinergi_statistics")
    if entry is None or entry[0][0] != key[0] or entry[0][1] is not key[1]:
        entry = current_app.extensions["sinergi_statistics"] = (key, {})
    values = entry[1]
    if name not in values:
        values[name] = compute()
    return values[name]


@bp.get("/statistik")
def stats():
    kb = get_kb()
    parts = _cached(kb, ("page", str(get_locale())), lambda: _stats_parts(kb))
    return render_template("main/stats.html", **parts)


def _stats_parts(kb) -> dict:
    st = _cached(kb, "stats", kb.stats)
    facets = st["facets"]
    charts = {
        "sector": bars_svg(localized("sector", facets.get("sector", [])), title=_("Kasus per bidang"),
                           href=lambda v: url_for("search.search", sector=v)),
        "island": bars_svg(localized("island", facets.get("island", [])), title=_("Kasus per pulau"),
                           href=lambda v: url_for("search.search", island=v)),
        "status": bars_svg(localized("status", facets.get("status", [])), title=_("Kasus per status"),
                           href=lambda v: url_for("search.search", status=v)),
        "year": bars_svg(_decades(facets.get("year", [])), title=_("Kasus per dasawarsa mulai")),
    }
    pairs = _network(kb)
    network = map_svg({c: n for c, n in _degree(pairs).items()}, links=[(a, b, n) for (a, b), n in pairs.items()],
                      href=lambda c: url_for("regions.region", code=c), title=_("Jaringan daerah yang bekerja sama"))
    top_pairs = [(facet_label("region", a), facet_label("region", b), n) for (a, b), n in pairs.most_common(10)]
    return {"st": st, "charts": charts, "network": network, "top_pairs": top_pairs}


def _decades(rows):
    c: Counter = Counter()
    for r in rows:
        c[int(r["value"]) // 10 * 10] += r["count"]
    return [{"label": decade_label(d), "count": n} for d, n in sorted(c.items())]


def _network(kb) -> Counter:
    pairs: Counter = Counter()
    for data in kb.store.iter_data():
        if data["kind"] != "case":
            continue
        codes = sorted(c for c in data.get("regions", []) if "." in c)
        for a, b in combinations(codes, 2):
            pairs[(a, b)] += 1
    return pairs


def _degree(pairs: Counter) -> Counter:
    deg: Counter = Counter()
    for (a, b), n in pairs.items():
        deg[a] += n
        deg[b] += n
    return deg


@bp.get("/peta")
def map_page():
    """Cases and regions on a map that follows the search filters in the URL."""
    params = search_params()
    res = run_search({**params, "page": 1, "limit": 1}, facets=("region", "province"))
    counts = {f["value"]: f["count"] for f in res.facets.get("region", [])}
    svg = map_svg(counts, href=lambda c: url_for("regions.region", code=c), title=_("Peta kasus"))
    top = sorted(res.facets.get("region", []), key=lambda f: -f["count"])[:15]
    return render_template("main/map.html", params=params, res=res, svg=svg, top=top, url_with=url_with)
