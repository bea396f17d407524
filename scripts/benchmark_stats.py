"""Time the statistics page (``/statistik``) through Flask's test client on a copy of an instance.

    python scripts/benchmark_stats.py INSTANCE [--requests 50]

Prints JSON: the median, 10th and 90th percentile of ``--requests`` requests served from the
page's cache (one per store change), and of as many requests that each compute the page anew
(the cache emptied before each), in milliseconds. The instance is copied first; the copy is
removed afterwards. Compare two versions of the code by running this file from each checkout
back to back.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _timed(client, n: int, before=None) -> list[float]:
    out = []
    for _ in range(n):
        if before:
            before()
        t0 = time.perf_counter()
        r = client.get("/statistik")
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.status_code
    return out


def _summary(ms: list[float]) -> dict:
    q = statistics.quantiles(ms, n=10)
    return {"median_ms": round(statistics.median(ms), 2), "p10_ms": round(q[0], 2), "p90_ms": round(q[-1], 2),
            "requests": len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("instance")
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args()
    from webapp import create_app

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "instance"
        shutil.copytree(args.instance, home)
        app = create_app({"TESTING": True}, home=home)
        kb = app.extensions["sinergi_kb"]
        client = app.test_client()
        client.get("/statistik")  # warm: the index searcher, the templates, the first cache
        cached = _timed(client, args.requests)
        fresh = _timed(client, args.requests, before=lambda: app.extensions.pop("sinergi_statistics", None))
        print(json.dumps({"records": kb.store.count(), "cached": _summary(cached), "computed": _summary(fresh)}))


if __name__ == "__main__":
    main()
