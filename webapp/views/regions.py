"""Region profiles and the autocompletion list."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from kb.gazetteer import gazetteer

from .. import get_kb
from ..render import map_svg

bp = Blueprint("regions", __name__)


@bp.get("/daerah/<code>")
def region(code: str):
    g = gazetteer()
    r = g.get(code)
    if r is None:
        abort(404)
    kb = get_kb()
    key = "province" if r.is_province else "region"
    res = kb.search("", filters={key: [code]}, sort="year", limit=100, facets=("sector",))
    partners: Counter = Counter()
    for h in res.results:
        for ref in h.regions:
            if ref["code"] != code and "." in ref["code"]:
                partners[ref["code"]] += 1
    near = g.nearest(r, limit=8)
    children = [x for x in g.regions if x.province_code == r.code and not x.is_province] if r.is_province else []
    svg = map_svg({code: max(1, res.total), **{c: n for c, n in partners.items()}},
                  href=lambda c: url_for("regions.region", code=c), title=r.name)
    return render_template("regions/view.html", r=r, province=g.province_of(r), res=res,
                           partners=[(g.get(c), n) for c, n in partners.most_common(12)], near=near,
                           children=children, svg=svg)


@bp.get("/daerah")
def index():
    q = request.args.get("q", "")[:100]
    g = gazetteer()
    hits = g.search(q, limit=50) if q else g.provinces()
    return render_template("regions/index.html", hits=hits, q=q)


@bp.get("/daerah.json")
def autocomplete():
    q = request.args.get("q", "")[:100]
    return jsonify([{"code": r.code, "name": r.name} for r in gazetteer().search(q, limit=15)])
