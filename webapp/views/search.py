"""The search page and its downloads (CSV, workbook)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from kb.search import normalize_facet_value
from kb.io import XLSX_MEDIA_TYPE, csv_row
from kb.schema import FIELD_ORDER

from .. import get_kb, limiter
from ..csvsafe import stream_csv, workbook
from ..labels import value_label
from .common import FilterLinks, run_search, search_params, url_with

bp = Blueprint("search", __name__)
# The most rows of one download, CSV or workbook (the search's first results); the rest is cut,
# with a note as the last row. Whole exports are `sinergi export`'s job.
MAX_DOWNLOAD = 5000
DOWNLOAD_PAGE = 100
# The facets of the sidebar, in order, and the values shown per facet.
SIDEBAR_FACETS = ("kind", "sector", "island", "province", "status", "type")
SIDEBAR_ROWS = 12


@bp.get("/cari")
def search():
    params = search_params(max_limit=50)
    res = run_search(params)
    return render_template("search/results.html", params=params, res=res, url_with=url_with,
                           filter_label=filter_label, filter_links=FilterLinks(params),
                           sidebar_facets=SIDEBAR_FACETS, sidebar_rows=SIDEBAR_ROWS)


def filter_label(key: str, value: str) -> str:
    """An active filter as a person reads it, in the page's language (``province=jabar`` -> Jawa
    Barat, ``kind=practice`` -> Praktik baik / Good practice)."""
    return value_label(key, normalize_facet_value(key, value) or value)


def _download_limit() -> str:
    from flask import current_app

    return current_app.config["SINERGI_DOWNLOAD_LIMIT"]


# One budget per client for every download (search results as CSV or workbook, study-visit
# shortlist).
download_limit = limiter.shared_limit(_download_limit, scope="downloads")


@bp.get("/cari.csv")
@download_limit
def download():
    """The filtered result set as CSV (the interchange format), in result order: at most
    MAX_DOWNLOAD rows, streamed; a last row says so when the results were cut. Cells that a
    spreadsheet would run as formulas are neutralised."""
    rows, headers = _download("csv")
    return Response(stream_csv(FIELD_ORDER, rows), content_type="text/csv; charset=utf-8", headers=headers)


@bp.get("/cari.xlsx")
@download_limit
def download_xlsx():
    """The rows of ``/cari.csv`` as a workbook (one sheet): the same columns, cap, note and
    neutralised cells, every cell text. Built whole (a workbook cannot be streamed), so the cap
    bounds its memory."""
    rows, headers = _download("xlsx")
    return Response(workbook(FIELD_ORDER, rows), content_type=XLSX_MEDIA_TYPE, headers=headers)


def _download(extension: str):
    """The request's search results as download rows (:func:`_rows`) and the answer's headers:
    the file name and how many rows of how many results."""
    params = search_params()
    first = run_search({**params, "page": 1, "limit": DOWNLOAD_PAGE}, facets=())
    headers = {"Content-Disposition": f'attachment; filename="sinergi-hasil-pencarian.{extension}"',
               "X-Sinergi-Rows": f"{min(first.total, MAX_DOWNLOAD)} of {first.total}"}
    return _rows(get_kb(), params, first), headers


def _rows(kb, params: dict, first):
    """The download rows of a search's results, page by page (a page of ids, then their records in
    one query), at most MAX_DOWNLOAD, then the note when there were more."""
    res, page, sent = first, 1, 0
    while True:
        ids = [h.id for h in res.results][:MAX_DOWNLOAD - sent]
        found = kb.store.data_of(ids)
        for rid in ids:
            if rid in found:  # gone from the store since the search: left out
                yield csv_row(found[rid])
        sent += len(ids)
        if sent >= MAX_DOWNLOAD or page >= res.pages:
            break
        page += 1
        res = kb.search(params["text"], **{**{k: v for k, v in params.items() if k != "text"},
                                           "page": page, "limit": DOWNLOAD_PAGE, "facets": ()})
    if first.total > MAX_DOWNLOAD:
        yield [f"# cut: the first {MAX_DOWNLOAD} of {first.total} results; narrow the search "
               "to download the rest"] + [""] * (len(FIELD_ORDER) - 1)
