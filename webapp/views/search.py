"""The search page and its CSV download."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from kb.index import FACETS
from kb.io import export_csv

from .. import get_kb
from .common import run_search, search_params, url_with

bp = Blueprint("search", __name__)
MAX_DOWNLOAD = 5000


@bp.get("/cari")
def search():
    params = search_params(max_limit=50)
    res = run_search(params)
    return render_template("search/results.html", params=params, res=res, facets=FACETS, url_with=url_with)


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
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sinergi-hasil-pencarian.csv"'})
