"""Home, statistics and map."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kb.index import facet_label

from .. import get_kb
from ..labels import decade_label, localized
from ..render import bars_svg, map_svg
from .common import run_search, search_params, url_with

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    kb = get_kb()
    stats = kb.stats()
    recent = kb.search("", sort="year", limit=6, facets=(), filters={"kind": ["case"]}).results
    return render_template("main/home.html", stats=stats, recent=recent)


@bp.get("/lang/<code>")
def set_language(code: str):
    """The language switch: remembered in the session; back to where the user was."""
    from flask import session

    if code in ("id", "en"):
        session["lang"] = code
    target = request.args.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return redirect(target)


@bp.get("/statistik")
def stats():
    kb = get_kb()
    st = kb.stats()
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
    return render_template("main/stats.html", st=st, charts=charts, network=network, top_pairs=top_pairs)


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
