"""What a search answers: hits, the result page with its facet counts, and its notices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .ranking import Snapshot
from .specs import FACETS, facet_label

# What a search tells its user beside the results, by code (English; pages word the codes).
NOTICES = {"query_chars": "query cut to its first {limit} characters",
           "query_words": "query cut to its first {limit} words",
           "unknown_value": "{facet} {value!r} is not a known value: no record matches it"}


@dataclass
class Hit:
    id: str
    kind: str
    title: str
    score: float
    regions: list[dict]
    sectors: list[str]
    start_year: int | None
    status: str | None
    language: str
    highlight: str

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "score": round(self.score, 4),
                "regions": self.regions, "sectors": self.sectors, "start_year": self.start_year,
                "status": self.status, "language": self.language, "highlight": self.highlight}


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    limit: int
    results: list[Hit]
    facets: dict[str, list[dict]]
    suggestion: str | None = None
    corrected_query: str | None = None
    notes: list[dict] = field(default_factory=list)  # {"code", "values"}: see NOTICES

    @property
    def notices(self) -> list[str]:
        """The notes as English sentences (the API and the command line); a page words
        :attr:`notes` in its reader's language."""
        return [NOTICES[n["code"]].format(**n["values"]) for n in self.notes]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))

    def as_dict(self) -> dict:
        return {"query": self.query, "total": self.total, "page": self.page, "pages": self.pages,
                "limit": self.limit, "results": [h.as_dict() for h in self.results], "facets": self.facets,
                "suggestion": self.suggestion, "corrected_query": self.corrected_query,
                "notices": self.notices, "notes": self.notes}


def facet_counts(snap: Snapshot, mask: np.ndarray, keys: Iterable[str]) -> dict[str, list[dict]]:
    """Counts of every facet value among the documents of ``mask``."""
    out = {}
    for key, rows in snap.facet_counts(keys, mask).items():
        if FACETS[key].numeric:
            rows.sort(key=lambda r: int(r[0]))
        else:
            rows.sort(key=lambda r: (-r[1], r[0]))
        out[key] = [{"value": v, "label": facet_label(key, v), "count": n} for v, n in rows]
    return out
