"""Helpers shared by the views: reading search parameters, records for display."""

from __future__ import annotations

import functools
import re
from urllib.parse import quote_plus, urlencode, urlsplit

from flask import abort, current_app, request, url_for
from werkzeug.datastructures import MultiDict

from kb.gazetteer import gazetteer
from kb.search import FACET_SPECS

from .. import get_kb

FILTER_KEYS = [s.key for s in FACET_SPECS if not s.numeric]
SORTS = ("relevance", "year", "title")
YEARS = (1900, 2100)       # the years a search may filter on
MAX_PAGE = 10_000
MAX_QUERY = 5_000          # characters of a query that are searched


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
    return {"text": args.get("q", "")[:MAX_QUERY], "filters": {k: v for k, v in filters.items() if v},
            "year_from": _int(args, "year_from", *YEARS, None), "year_to": _int(args, "year_to", *YEARS, None),
            "sort": sort, "page": _int(args, "page", 1, MAX_PAGE, 1), "limit": _int(args, "limit", 1, max_limit, current_app.config["PAGE_SIZE"])}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(value: str | None, default: str) -> str:
    """A redirect target that stays on this site: a path (``/cari?q=x``) with its control
    characters removed, else ``default``. Browsers drop tabs and line breaks from a URL and read
    ``\\`` as ``/``, so ``/<tab>/evil.com`` and ``/\\evil.com`` are other sites; a line break
    left in would split the ``Location`` header."""
    target = _CONTROL.sub("", value or "")
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


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
    # A search page links ~90 variants of its own URL (facets, sorts, pages): the path comes
    # from the url_for cache, the query string is appended.
    path = cached_url_for(endpoint)
    return path + ("?" + urlencode(query, doseq=True, quote_via=_quote) if query else "")


@functools.lru_cache(maxsize=4096)
def _quote(value: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    """quote_plus, remembered: a search page encodes the same keys and values ~90 times."""
    return quote_plus(value, safe, encoding, errors)


def region_refs(codes: list[str]) -> list[dict]:
    return gazetteer().refs(codes)


class FilterLinks:
    """``url_with(params, filter=(op, key, value))`` for the many values of a search sidebar:
    the path and the rest of the state are encoded once, each link only adds or drops one
    value (the same URLs: the tests compare the two)."""

    def __init__(self, params: dict, endpoint: str = "search.search"):
        base = url_with({**params, "filters": {}}, endpoint, page=1)
        self.path, _, state = base.partition("?")
        self.state = [state] if state else []
        self.filters = {k: list(v) for k, v in params["filters"].items() if v}
        self.encoded = {k: [_pair(k, v) for v in vals] for k, vals in self.filters.items()}

    def __call__(self, op: str, key: str, value: str) -> str:
        parts = list(self.state)
        for k, pairs in self.encoded.items():
            if k == key:
                vals = self.filters[k]
                if op == "remove" and value in vals:
                    i = vals.index(value)  # url_with drops the first occurrence
                    pairs = pairs[:i] + pairs[i + 1:]
                elif op == "add" and value not in vals:
                    pairs = pairs + [_pair(k, value)]
            parts += pairs
        if op == "add" and key not in self.encoded:
            parts.append(_pair(key, value))
        query = "&".join(parts)
        return self.path + ("?" + query if query else "")

    def rows(self, key: str, rows: list[dict], limit: int) -> list[tuple[dict, str, bool]]:
        """``(row, link, active)`` for the first ``limit`` facet count rows of ``key``: the link
        removes the row's value when it is an active filter, else adds it (one call per facet
        for a template's loop)."""
        chosen = self.filters.get(key, ())
        out = []
        for row in rows[:limit]:
            on = row["value"] in chosen
            out.append((row, self("remove" if on else "add", key, row["value"]), on))
        return out


def _pair(key: str, value) -> str:
    return _quote(str(key)) + "=" + _quote(str(value))


_URLS: dict[tuple, str] = {}
_MAX_CACHED_URLS = 50_000


def cached_url_for(endpoint: str, **values) -> str:
    """``url_for`` for templates, remembered per script root, endpoint and values: the URL map
    never changes once the app runs, and a search page builds ~50 links (~45 µs each). The
    cache is emptied when full (one-off values such as ``next=`` paths would fill it)."""
    if any(k.startswith("_") for k in values):  # _external, _anchor...: not worth it
        return url_for(endpoint, **values)
    try:
        key = (request.script_root, endpoint, *sorted(values.items()))
        url = _URLS.get(key)
    except TypeError:  # an unhashable or unorderable value
        return url_for(endpoint, **values)
    if url is None:
        url = url_for(endpoint, **values)
        if len(_URLS) >= _MAX_CACHED_URLS:
            _URLS.clear()
        _URLS[key] = url
    return url


def link(endpoint: str, args=None, **values) -> str:
    """``cached_url_for(endpoint, **values)`` followed by the query ``args`` (a dict, or a
    MultiDict such as ``request.args`` whose every value is kept: ``url_for(**request.args)``
    kept only the first of each key, so a download lost all but one sector)."""
    path = cached_url_for(endpoint, **values)
    if not args:
        return path
    items = list(args.items(multi=True)) if isinstance(args, MultiDict) else list(args.items())
    return path + ("&" if "?" in path else "?") + urlencode(items, quote_via=_quote)
