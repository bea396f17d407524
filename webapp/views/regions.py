"""Region profiles and the autocompletion list."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from flask_babel import gettext as _

from kb.gazetteer import Region, gazetteer
from kb.geography import attribution
from kb.vocab import SECTORS

from .. import get_kb
from ..render import Marker, Shape, fit_frame, map_layout, region_box

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
    neighbours = [(n, kind, g.distance_km(r, n)) for n, kind in g.neighbours(r)]
    return render_template("regions/view.html", r=r, province=g.province_of(r), res=res,
                           partners=[(g.get(c), n) for c, n in partners.most_common(12)], near=near,
                           children=children, outline=_neighbour_map(r, neighbours, children), sectors=SECTORS,
                           neighbours=neighbours, attribution=attribution())


def _neighbour_map(r: Region, neighbours: list[tuple[Region, str, float]], children: list[Region]):
    """The region (a province by its regencies/cities) and its neighbours, each linked, on the
    grey outlines around them."""
    href = lambda c: url_for("regions.region", code=c)  # noqa: E731
    layer = "province" if r.is_province else "regency"
    own = [Shape("regency", c.code, "self", href(c.code), c.name) for c in children] or \
        [Shape(layer, r.code, "self", href(r.code), r.name)]
    frame = fit_frame([region_box(r.code)] + [region_box(n.code) for n, _, _ in neighbours], width=480,
                      aspect=(0.6, 1.0))
    kinds = {"land": _("tetangga darat"), "sea": _("tetangga laut")}
    shapes = [Shape(layer, x.code, "ctx") for x in gazetteer().regions
              if x.is_province == r.is_province and x.code != r.code and x.code not in {n.code for n, _, _ in neighbours}]
    shapes += [Shape(layer, n.code, f"nb-{kind}", href(n.code), f"{n.name}: {kinds[kind]}, ±{d:.0f} km")
               for n, kind, d in neighbours]
    where = _("pusat pemerintahan") if r.is_seat else _("titik di dalam wilayah")
    point = Marker(r.code, 4.0, "point", None, f"{r.name}: {where}")
    return map_layout(frame, shapes + own, title=_("%(name)s dan tetangganya", name=r.name), css="map small",
                      markers=[] if r.is_province else [point], borders=True)


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
