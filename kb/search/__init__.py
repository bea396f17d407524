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

from .highlight import highlight, highlight_to_text
from .index import SearchIndex
from .results import NOTICES, Hit, SearchResult
from .specs import DEFAULT_FACETS, FACET_SPECS, FACETS, facet_label, normalize_facet_value

__all__ = ["DEFAULT_FACETS", "FACETS", "FACET_SPECS", "NOTICES", "Hit", "SearchIndex", "SearchResult",
           "facet_label", "highlight", "highlight_to_text", "normalize_facet_value"]
