"""Helpers shared by the views: reading search parameters, records for display."""

from __future__ import annotations

import functools
from urllib.parse import quote_plus, urlencode

from flask import abort, g, request, url_for
from werkzeug.datastructures import MultiDict

from kb.gazetteer import gazetteer
from kb.index import FACET_SPECS

from .. import get_kb

FILTER_KEYS = [s.key for s in FACET_SPECS if not s.numeric]
SORTS = ("relevance", "year", "title")


def _int(args: MultiDict, key: str, lo: int, hi: int, default: int | None) -> int | None:
    raw = args.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, f"parameter {key!r} must be a whole number, got {raw[:40]!r}")
    if not lo <= value <= hi:
        abort(400, f"parameter {key!r} must be between {lo} and {hi}")
    return value


def search_params(args: MultiDict | None = None, *, max_limit: int = 100) -> dict:
    """The search state of a URL (query, filters, years, sort, page, limit); bad values are 400."""
    args = args if args is not None else request.args
    sort = args.get("sort", "relevance")
    if sort not in SORTS:
        abort(400, f"parameter 'sort' must be one of {', '.join(SORTS)}")
    filters = {k: [v for v in args.getlist(k) if v.strip()] for k in FILTER_KEYS}
    return {"text": args.get("q", "")[:5000], "filters": {k: v for k, v in filters.items() if v},
            "year_from": _int(args, "year_from", 1900, 2100, None), "year_to": _int(args, "year_to", 1900, 2100, None),
            "sort": sort, "page": _int(args, "page", 1, 10_000, 1), "limit": _int(args, "limit", 1, max_limit, 10)}


def run_search(params: dict, facets=None):
    kw = dict(params)
    text = kw.pop("text")
    if facets is not None:
        kw["facets"] = facets
    return get_kb().search(text, **kw)


def url_with(params: dict, endpoint: str = "search.search", **changes) -> str:
    """The URL of ``params`` with ``changes`` (``None`` removes a key; ``('add'|'remove', key,
    value)`` edits a filter)."""
    state = {"q": params["text"], "sort": params["sort"], "page": params["page"],
             "year_from": params["year_from"], "year_to": params["year_to"]}
    filters = {k: list(v) for k, v in params["filters"].items()}
    for key, value in changes.items():
        if key == "filter":
            op, fkey, fval = value
            vals = filters.setdefault(fkey, [])
            if op == "add" and fval not in vals:
                vals.append(fval)
            elif op == "remove" and fval in vals:
                vals.remove(fval)
            state["page"] = 1
        elif key == "text":
            state["q"], state["page"] = value, 1
        else:
            state[key] = value
    query = {k: v for k, v in state.items() if v not in (None, "", 1, "relevance") or (k == "page" and v != 1)}
    if query.get("page") == 1:
        query.pop("page")
    for k, vals in filters.items():
        if vals:
            query[k] = vals
    # A search page links ~90 variants of its own URL (facets, sorts, pages): build the path
    # once per request and append the query string (url_for per link cost ~5 ms a page).
    paths = g.setdefault("_endpoint_paths", {})
    path = paths.get(endpoint)
    if path is None:
        path = paths[endpoint] = url_for(endpoint)
    return path + ("?" + urlencode(query, doseq=True, quote_via=_quote) if query else "")


@functools.lru_cache(maxsize=4096)
def _quote(value: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    """quote_plus, remembered: a search page encodes the same keys and values ~90 times."""
    return quote_plus(value, safe, encoding, errors)


def region_refs(codes: list[str]) -> list[dict]:
    g = gazetteer()
    return [g.get(c).as_ref() for c in codes if g.get(c)]
