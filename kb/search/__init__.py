"""The search engine: a Whoosh index derived from the store, evaluated over arrays.

One module per concern:

- :mod:`.specs` — the text fields and facets, declared once (schema, aliases, normalise, label);
- :mod:`.index` — the index folder's lifecycle: writing, the applied-revision markers, readers,
  the snapshot, warming, and a search from query to result page;
- :mod:`.query` — parsing a user's text for both languages, filters, spelling suggestions;
- :mod:`.ranking` — evaluating a query tree over arrays of postings, BM25 as Whoosh's BM25F;
- :mod:`.writer` and :mod:`.textworker` — the fast segment writer and its text-analysis processes;
- :mod:`.highlight` — snippets around the matched words;
- :mod:`.results` — hits, result pages, facet counts and notices;
- :mod:`.quality` — search quality against judgments, beside a plain BM25 baseline;
- :mod:`.phrases`, :mod:`.whooshfix` — exact phrases, and a no-copy file buffer for Whoosh.

What a record means for search (its texts and index document) is :mod:`kb.documents`.
"""

from importlib import import_module

# The names below load their module on first use (PEP 562), so that a process that needs one
# light module (the analysis processes run ``kb.search.textworker``) does not load the engine.
_EXPORTS = {
    "highlight": ".highlight", "highlight_to_text": ".highlight", "SearchIndex": ".index",
    "NOTICES": ".results", "Hit": ".results", "SearchResult": ".results",
    "DEFAULT_FACETS": ".specs", "FACET_SPECS": ".specs", "FACETS": ".specs", "facet_label": ".specs",
    "normalize_facet_value": ".specs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
