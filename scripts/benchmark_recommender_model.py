"""The recommender model alone at large sizes (no store, no index), beside plain TF-IDF.

    python scripts/benchmark_recommender_model.py 100000

Prints the fit time, the matrix and pickle sizes, the peak memory, and the median and p95 of
scoring and ranking a proposal of 200 words, beside a plain TF-IDF top-10 in the same run.
"""

from __future__ import annotations

import pickle
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.model import CaseSimilarity  # noqa: E402
from scripts.benchmark_recommender import proposals  # noqa: E402
from scripts.synthetic import generate  # noqa: E402

RANK_DEPTH = 300


def _timed(fn) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def main(n: int) -> None:
    records = [{**r, "language": "id"} for r in generate(n)]
    model, fit_s = _timed(lambda: CaseSimilarity().fit(records))
    matrix_mb = sum(a.nbytes for a in (model.matrix_.data, model.matrix_.indices, model.matrix_.indptr)) / 2**20
    texts = proposals(records, 200)
    ours = []
    for text in texts:
        t = time.perf_counter()
        scores = model.scores(model.transform_text(text, "id"))
        best = np.argpartition(-scores, RANK_DEPTH)[:RANK_DEPTH]
        best[np.argsort(-scores[best])]
        ours.append((time.perf_counter() - t) * 1000)
    plain_docs = [" ".join([r["title"], r["summary"], r["body"]]) for r in records]
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    matrix, plain_fit_s = _timed(lambda: vectorizer.fit_transform(plain_docs))
    plain = []
    for text in texts:
        t = time.perf_counter()
        sims = (matrix @ vectorizer.transform([text]).T).toarray().ravel()
        np.argpartition(-sims, 10)[:10]
        plain.append((time.perf_counter() - t) * 1000)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"n={n} fit {fit_s:.1f} s (plain {plain_fit_s:.1f} s); matrix {matrix_mb:.0f} MB; "
          f"pickled {len(pickle.dumps(model)) / 2**20:.0f} MB; peak RSS {peak_mb:.0f} MB")
    print(f"score + rank p50 {statistics.median(ours):.1f} ms, p95 {_p95(ours):.1f} ms; "
          f"plain TF-IDF top-10 p50 {statistics.median(plain):.1f} ms, p95 {_p95(plain):.1f} ms; "
          f"ratio of medians {statistics.median(ours) / statistics.median(plain):.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
