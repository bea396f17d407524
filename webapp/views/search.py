"""The search page and its CSV download."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from markupsafe import Markup, escape

from kb.index import FACETS, facet_label, normalize_facet_value
from kb.io import export_csv

from .. import get_kb
from .common import FilterLinks, run_search, search_params, url_with

bp = Blueprint("search", __name__)
MAX_DOWNLOAD = 5000
# The facets of the sidebar, in order, and the values shown per facet.
SIDEBAR_FACETS = ("kind", "sector", "island", "province", "status", "type")
SIDEBAR_ROWS = 12


@bp.get("/cari")
def search():
    params = search_params(max_limit=50)
    res = run_search(params)
    return render_template("search/results.html", params=params, res=res, facets=FACETS, url_with=url_with,
                           facet_lists=facet_lists, filter_label=filter_label)


def filter_label(key: str, value: str) -> str:
    """An active filter as a person reads it (``province=jabar`` -> Jawa Barat, ``kind=practice``
    -> Praktik baik)."""
    return facet_label(key, normalize_facet_value(key, value) or value)


def facet_lists(params: dict, res, facets: dict) -> Markup:
    """The facet lists of the sidebar: each value a link that adds its filter, or removes it when
    active. Built here rather than in the template: ~70 links, the page's hottest loop."""
    active = params["filters"]
    link = FilterLinks(params)
    out = []
    for key in SIDEBAR_FACETS:
        rows = res.facets.get(key) or []
        if not rows:
            continue
        chosen = active.get(key, ())
        out.append(f"<h2>{escape(facets[key].label)}</h2>\n<ul>")
        for row in rows[:SIDEBAR_ROWS]:
            on = row["value"] in chosen
            href = link("remove" if on else "add", key, row["value"])
            mark = ' aria-current="true" class="on"' if on else ""
            out.append(f'<li><a href="{escape(href)}"{mark}>{escape(row["label"])}</a> '
                       f'<span class="count">{int(row["count"])}</span></li>')
        out.append("</ul>")
    return Markup("\n".join(out))


@bp.get("/cari.csv")
def download():
    """The whole filtered result set as CSV (the interchange format), in result order."""
    params = search_params()
    kb = get_kb()
    ids: list[str] = []
    page = 1
    while len(ids) < MAX_DOWNLOAD:
        res = run_search({**params, "page": page, "limit": 100}, facets=())
        ids += [h.id for h in res.results]
        if page >= res.pages:
            break
        page += 1
    records = [kb.get(i) for i in ids]
    body = export_csv(records)
    return Response(body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sinergi-hasil-pencarian.csv"'})
