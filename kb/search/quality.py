"""Search quality against labelled judgments, beside a plain BM25 baseline in the same run.

Judgments are JSON Lines: ``{"query": "...", "relevant": {"record-id": 2, "other-id": 1}}``
(2 = highly relevant, 1 = partly relevant). The baseline is BM25 (Whoosh's BM25F) over the same
texts with lower-cased word tokens: no stemming, no synonyms, no stop words, no field weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from whoosh import qparser
from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage

from ..errors import SinergiError


def load_judgments(path: Path) -> list[dict]:
    """Read a judgments file; each line needs ``query`` and a non-empty ``relevant`` mapping."""
    if not path.exists():
        raise SinergiError(f"no judgments file at {path}")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if not obj.get("query") or not isinstance(obj.get("relevant"), dict) or not obj["relevant"]:
            raise SinergiError(f"{path}:{n}: a judgment needs 'query' and a non-empty 'relevant' mapping")
        out.append(obj)
    return out


def ndcg_at(ranked: Sequence[str], gains: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain at ``k`` with graded gains ``2**rel - 1``."""
    dcg = sum((2 ** gains.get(rid, 0) - 1) / math.log2(i + 2) for i, rid in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def reciprocal_rank(ranked: Sequence[str], gains: dict[str, int]) -> float:
    for i, rid in enumerate(ranked):
        if gains.get(rid, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall_at(ranked: Sequence[str], gains: dict[str, int], k: int = 10) -> float:
    rel = {r for r, g in gains.items() if g > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def score_runs(judgments: list[dict], run: Callable[[str], list[str]]) -> tuple[dict, list[float]]:
    nd, rr, rc = [], [], []
    for j in judgments:
        ranked = run(j["query"])
        gains = {k: int(v) for k, v in j["relevant"].items()}
        nd.append(ndcg_at(ranked, gains))
        rr.append(reciprocal_rank(ranked, gains))
        rc.append(recall_at(ranked, gains))
    n = max(1, len(judgments))
    return {"ndcg@10": sum(nd) / n, "mrr": sum(rr) / n, "recall@10": sum(rc) / n}, nd


class PlainBM25:
    """The baseline: one field of lower-cased word tokens, BM25, OR of the query words."""

    def __init__(self, records: list[dict]):
        schema = Schema(id=ID(stored=True), text=TEXT(analyzer=RegexTokenizer(r"\w+") | LowercaseFilter()))
        self.ix = RamStorage().create_index(schema)
        w = self.ix.writer()
        for d in records:
            text = " ".join([d["title"], d["summary"], d.get("body", ""), *d.get("lessons", []),
                             *d.get("challenges", [])])
            w.add_document(id=d["id"], text=text)
        w.commit()
        self.searcher = self.ix.searcher()
        self.parser = qparser.QueryParser("text", schema, group=qparser.OrGroup)
        self.parser.remove_plugin_class(qparser.FieldsPlugin)

    def search(self, text: str, limit: int = 10) -> list[str]:
        q = self.parser.parse(text)
        return [h["id"] for h in self.searcher.search(q, limit=limit)]


def evaluate_search(kb, judgments: list[dict]) -> dict:
    """nDCG@10, MRR and Recall@10 of Sinergi and of the baseline, per query and averaged."""
    records = list(kb.store.iter_data())
    known = {d["id"] for d in records}
    missing = sorted({rid for j in judgments for rid in j["relevant"] if rid not in known})
    if missing:
        raise SinergiError(f"judgments name ids that are not in the store: {', '.join(missing[:10])}")
    baseline = PlainBM25(records)

    def ours(q: str) -> list[str]:
        return [h.id for h in kb.search(q, limit=10, facets=()).results]

    m_ours, nd_ours = score_runs(judgments, ours)
    m_base, nd_base = score_runs(judgments, baseline.search)
    gain = (m_ours["ndcg@10"] - m_base["ndcg@10"]) / m_base["ndcg@10"] if m_base["ndcg@10"] else float("inf")
    return {"queries": len(judgments), "sinergi": m_ours, "baseline": m_base, "ndcg_gain": gain,
            "per_query": [{"query": j["query"], "sinergi": a, "baseline": b}
                          for j, a, b in zip(judgments, nd_ours, nd_base)]}
