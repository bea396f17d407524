"""The recommender model alone at large sizes (no store, no index), beside plain TF-IDF.

    python scripts/benchmark_recommender_model.py 100000
"""
import sys, time, statistics, pickle, resource
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np
from scripts.synthetic import generate
from recommender.model import CaseSimilarity
from recommender.benchmark import _proposals
from sklearn.feature_extraction.text import TfidfVectorizer
n = int(sys.argv[1])
recs = list(generate(n))
for r in recs: r["language"] = "id"
t = time.perf_counter(); m = CaseSimilarity().fit(recs); fit = time.perf_counter() - t
mb = (m.matrix_.data.nbytes + m.matrix_.indices.nbytes + m.matrix_.indptr.nbytes) / 2**20
texts = _proposals(recs, 200)
ts = []
for q in texts:
    a = time.perf_counter()
    s = m.scores(m.transform_text(q, "id"))
    cut = np.argpartition(-s, 300)[:300]; cut[np.argsort(-s[cut])]
    ts.append((time.perf_counter() - a) * 1000)
plain = [" ".join([r["title"], r["summary"], r["body"]]) for r in recs]
t = time.perf_counter(); v = TfidfVectorizer(sublinear_tf=True); X = v.fit_transform(plain); bfit = time.perf_counter() - t
bs = []
for q in texts:
    a = time.perf_counter(); sims = (X @ v.transform([q]).T).toarray().ravel(); np.argpartition(-sims, 10)[:10]
    bs.append((time.perf_counter() - a) * 1000)
print(f"n={n} fit {fit:.1f}s (plain {bfit:.1f}s) matrix {mb:.0f} MB pickled {len(pickle.dumps(m))/2**20:.0f} MB "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MB")
print(f"score+rank p50 {statistics.median(ts):.1f} p95 {sorted(ts)[189]:.1f} ms; plain TF-IDF top-10 p50 {statistics.median(bs):.1f} p95 {sorted(bs)[189]:.1f} ms")
