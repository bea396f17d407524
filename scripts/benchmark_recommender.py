"""Recommender figures for ``scripts/benchmark.py`` (same synthetic corpus, same run)."""

from __future__ import annotations

import pickle
import random
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender.model import CaseSimilarity
from recommender.service import recommender_for


def proposals(records: list[dict], n: int) -> list[tuple[str, list[str]]]:
    """``n`` proposals of 200 words from random records, each with its record's sectors."""
    rng = random.Random(5)
    out = []
    for _ in range(n):
        r = rng.choice(records)
        words = (r["summary"] + " " + r["body"]).split()
        start = rng.randint(0, max(0, len(words) - 200))
        out.append((" ".join(words[start:start + 200]), list(r.get("sectors", []))))
    return out


def run(kb, records, queries, *, row, pct) -> None:
    asked = proposals(records, len(queries))
    texts = [text for text, _ in asked]
    stored = list(kb.store.iter_data())
    t = time.perf_counter()
    model = CaseSimilarity().fit(stored)
    fit_s = time.perf_counter() - t
    size_mb = len(pickle.dumps(model)) / 2**20
    matrix_mb = (model.matrix_.data.nbytes + model.matrix_.indices.nbytes + model.matrix_.indptr.nbytes) / 2**20
    rec = recommender_for(kb)
    rec.refresh()
    codes = [r["regions"][0] for r in records[:50]]
    for q in texts[:10]:
        rec.recommend({"description": q, "region": codes[0]})
    ours = []
    for i, q in enumerate(texts):
        t = time.perf_counter()
        rec.recommend({"description": q, "region": codes[i % len(codes)]})
        ours.append((time.perf_counter() - t) * 1000)
    with_sectors = []  # the proposal form's sectors (each adds a bonus to the cases of that sector)
    for i, (q, sectors) in enumerate(asked):
        t = time.perf_counter()
        rec.recommend({"description": q, "region": codes[i % len(codes)], "sectors": sectors})
        with_sectors.append((time.perf_counter() - t) * 1000)
    # Baseline: plain scikit-learn TF-IDF (default analyzer), top-10 by sparse product.
    plain_texts = [" ".join([r["title"], r["summary"], r["body"]]) for r in records]
    t = time.perf_counter()
    vec = TfidfVectorizer(sublinear_tf=True)
    m = vec.fit_transform(plain_texts)
    base_fit = time.perf_counter() - t
    base = []
    for q in texts:
        t = time.perf_counter()
        sims = (m @ vec.transform([q]).T).toarray().ravel()
        np.argpartition(-sims, 10)[:10]
        base.append((time.perf_counter() - t) * 1000)
    print(f"\nRecommender ({len(records)} records, proposals of 200 words, cases + peers + partners):")
    print(f"  fit {fit_s:.1f} s (plain TF-IDF fit {base_fit:.1f} s); model pickled {size_mb:.0f} MB, "
          f"matrix {matrix_mb:.0f} MB")
    print(row("Sinergi recommend (in process)", ours, base))
    print(row("  the same proposals with their sectors", with_sectors, base))
    print(row("plain scikit-learn TF-IDF top-10", base))
    print("  (ratios are against plain TF-IDF)")
