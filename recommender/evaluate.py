"""Recommendation quality on the labelled proposals, beside a plain TF-IDF baseline.

Proposals are JSON Lines: ``{"id", "title", "description", "region", "sectors", "relevant":
{id: grade}, "peers": [region codes]}``. The baseline is scikit-learn's ``TfidfVectorizer`` with
its default analyzer over the concatenated texts (no Indonesian analysis, no field weights) and,
for peers, the regions of its top cases in rank order (no status weighting or region logic).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from kb.errors import SinergiError
from kb.search.quality import ndcg_at

from .service import Recommender


def load_proposals(path: Path) -> list[dict]:
    if not path.exists():
        raise SinergiError(f"no proposals file at {path}")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            obj = json.loads(line)
            if not obj.get("description") or not obj.get("relevant"):
                raise SinergiError(f"{path}:{n}: a proposal needs 'description' and 'relevant'")
            out.append(obj)
    return out


def _peer_metrics(predicted: list[str], expected: list[str], k: int = 5) -> tuple[float, float, float]:
    """hit@k, precision@k, and precision over what can be found: the hits among the first k
    divided by min(k, number of expected peers) (a proposal with 3 expected peers reaches 1.0
    with all 3 among its first 5, where its precision@5 cannot pass 0.6)."""
    top = predicted[:k]
    hits = [c for c in top if c in set(expected)]
    reachable = min(k, len(set(expected)))
    return ((1.0 if hits else 0.0), (len(hits) / k if top else 0.0),
            (len(hits) / reachable if reachable else 0.0))


def evaluate_recommender(kb, proposals: list[dict]) -> dict:
    """nDCG@10 of cases, hit@5 and precision@5 of peers, for Sinergi and the baseline."""
    rec = Recommender(kb, background_refit=False)  # a batch: the model of the store as it is
    records = list(kb.store.iter_data())
    ids = [r["id"] for r in records]
    regions = {r["id"]: r.get("regions", []) for r in records}
    texts = [" ".join([r["title"], r["summary"], r.get("body", ""), *r.get("lessons", [])]) for r in records]
    vec = TfidfVectorizer()
    matrix = vec.fit_transform(texts)
    rows, sums = [], {"sinergi": np.zeros(4), "baseline": np.zeros(4)}
    for p in proposals:
        gains = {k: int(v) for k, v in p["relevant"].items()}
        res = rec.recommend({k: p.get(k) for k in ("title", "description", "region", "sectors", "language")
                             if p.get(k) is not None}, limit=10)
        ours_cases = [c["id"] for c in res.cases]
        ours_peers = [x["code"] for x in res.peers]
        q = vec.transform([f"{p.get('title', '')} {p['description']}"])
        order = np.argsort(-(matrix @ q.T).toarray().ravel())
        base_cases = [ids[i] for i in order[:10]]
        base_peers: list[str] = []
        for i in order:
            for code in regions[ids[i]]:
                if code != p.get("region") and code not in base_peers:
                    base_peers.append(code)
            if len(base_peers) >= 5:
                break
        row = {"id": p.get("id"), "title": p.get("title", "")}
        for name, cases, peers in (("sinergi", ours_cases, ours_peers), ("baseline", base_cases, base_peers)):
            nd = ndcg_at(cases, gains)
            hit, prec, reach = _peer_metrics(peers, p.get("peers", []))
            sums[name] += (nd, hit, prec, reach)
            row[name] = {"ndcg@10": nd, "hit@5": hit, "precision@5": prec, "precision@5_reachable": reach}
        rows.append(row)
    n = max(1, len(proposals))
    summary = {name: {"ndcg@10": v[0] / n, "peers_hit@5": v[1] / n, "peers_precision@5": v[2] / n,
                      "peers_precision@5_reachable": v[3] / n} for name, v in sums.items()}
    # The best precision@5 any ranking can reach: fewer expected peers than 5 cap it.
    ceiling = sum(min(5, len(set(p.get("peers", [])))) / 5 for p in proposals) / n
    return {"proposals": len(proposals), **summary, "peers_precision@5_ceiling": ceiling, "per_proposal": rows}
