"""Speed and memory of Sinergi on a SYNTHETIC corpus, beside baselines measured in the same run.

    python scripts/benchmark.py --n 10000            # kb: import, search; recommender if installed
    python scripts/benchmark.py --n 100000 --skip-import-memory

Prints medians (p50) and p95 in ms, and ratios against:
- raw Whoosh with a whitespace analyzer, no facets, over the same texts and queries;
- SQLite FTS5 (bm25 + snippet) over the same texts and queries;
- plain scikit-learn TF-IDF similarity (default analyzer) for the recommender.
Timings are for one process on this machine; run twice and compare before trusting a change
under ~10%.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchmark_web import memory_rollup, process_tree_rss  # noqa: E402
from scripts.synthetic import WORDS, generate  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, queries) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def row(name: str, ms: list[float], base: list[float] | None = None) -> str:
    p50, p95 = statistics.median(ms), pct(ms, 95)
    ratio = f"  ×{p50 / statistics.median(base):.1f} p50 / ×{p95 / pct(base, 95):.1f} p95" if base else ""
    return f"  {name:<44} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms{ratio}"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description="Sinergi benchmark on a synthetic corpus")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--workdir", default=None, help="Keep the instance here (default: a temp folder)")
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="Search the instance an earlier run left in --workdir (no import)")
    ap.add_argument("--skip-recommender", action="store_true")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="sinergi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"synthetic-{args.n}.jsonl"
    records = list(generate(args.n))
    with data.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    rng = random.Random(11)
    queries = [" ".join(rng.sample(WORDS, rng.randint(2, 3))) for _ in range(args.queries)]
    print(f"Synthetic corpus: {args.n} records (labelled synthetic), {len(queries)} queries of 2–3 words")

    # -- import + index, in a child process so its peak memory is its own -----------------------
    home = work / "instance"
    if args.reuse and (home / "sinergi.db").exists():
        print("\nImport skipped (--reuse): searching the instance of an earlier run")
    else:
        run_import(home, data)

    # -- search, in process ------------------------------------------------------------------
    from kb.base import KnowledgeBase

    base_rss = rss_mb()
    kb = KnowledgeBase(home, create=False)
    t = time.perf_counter()
    kb.search("sampah")  # opens the searcher and builds the facet arrays
    warm_s = time.perf_counter() - t
    before_warm = rss_mb()
    t = time.perf_counter()
    warmed = kb.index.warm()  # what `sinergi serve` does in the background at start
    print(f"\nPosting warm-up (as `sinergi serve` does at start): {warmed:,} postings in "
          f"{time.perf_counter() - t:.1f} s, +{rss_mb() - before_warm:.0f} MB")
    for q in queries[:20]:
        kb.search(q)
    ours = timed(lambda q: kb.search(q, limit=10), queries)
    ours_plain = timed(lambda q: kb.search(q, limit=10, facets=()), queries)
    filt = timed(lambda q: kb.search(q, limit=10, filters={"sector": ["persampahan"], "island": ["jawa"]}), queries)
    print(f"\nSearch in process (open + facet cache {warm_s * 1000:.0f} ms; serving RSS {rss_mb():.0f} MB,"
          f" +{rss_mb() - base_rss:.0f} MB for the index):")

    base = None
    if not args.skip_baselines:
        raw = raw_whoosh(records, work / "raw-whoosh")
        fts = fts5(records, work / "fts5.db")
        raw_ms = timed(raw, queries)
        fts_ms = timed(fts, queries)
        base = raw_ms
    print(row("Sinergi (ID analysis, facets, highlights)", ours, base))
    print(row("Sinergi without facets", ours_plain, base))
    print(row("Sinergi with two facet filters", filt, base))
    if base:
        print(row("raw Whoosh, whitespace analyzer, highlights", raw_ms))
        print(row("SQLite FTS5, bm25 + snippet", fts_ms, raw_ms))
        print("  (ratios are against raw Whoosh)")

    # -- recommender, when installed ----------------------------------------------------------
    if args.skip_recommender:
        return 0
    try:
        from scripts.benchmark_recommender import run as run_recommender
    except ImportError:
        return 0
    gc.collect()
    run_recommender(kb, records, queries, row=row, pct=pct)
    return 0


def run_import(home: Path, data: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "SINERGI_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "kb.cli", "init", "--empty"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "import", str(data)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The import starts analysis processes and forks segment writers: sample the whole tree,
    # as PSS (a page shared by a parent and its forked child counted once), RSS where the
    # system has no smaps_rollup.
    tree_peak, tree_pss_peak, helpers = 0.0, 0.0, 0
    n = 0
    while proc.poll() is None:
        rss = process_tree_rss(proc.pid)
        tree_peak = max(tree_peak, sum(rss.values()))
        helpers = max(helpers, len(rss) - 1)
        if not n % 5:  # (smaps_rollup walks every mapping: twice a second)
            tree_pss_peak = max(tree_pss_peak, sum(memory_rollup(pid).get("pss", 0.0) for pid in rss))
        n += 1
        time.sleep(0.1)
    if proc.returncode:
        raise SystemExit(f"import failed with exit status {proc.returncode}")
    import_s = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("\nImport (validate, store, index):")
    print(f"  wall time {import_s:.1f} s; peak RSS of the import process {max(peak, before) / 1024:.0f} MB; "
          f"of it and up to {helpers} helper process(es) (analysis, forked segment writers), sampled: "
          f"PSS {tree_pss_peak:.0f} MB, RSS {tree_peak:.0f} MB (counts pages shared after a fork twice)")


def raw_whoosh(records: list[dict], path: Path):
    from whoosh import index, qparser
    from whoosh.analysis import SpaceSeparatedTokenizer
    from whoosh.fields import ID, TEXT, Schema

    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    schema = Schema(id=ID(stored=True), text=TEXT(analyzer=SpaceSeparatedTokenizer(), stored=True))
    ix = index.create_in(path, schema)
    t = time.perf_counter()
    w = ix.writer(limitmb=256)
    for r in records:
        w.add_document(id=r["id"], text=" ".join([r["title"], r["summary"], r["body"]]).lower())
    w.commit()
    print(f"\n  (raw Whoosh indexed in {time.perf_counter() - t:.1f} s)", end="")
    s = ix.searcher()
    parser = qparser.QueryParser("text", schema, group=qparser.OrGroup)

    def run(q: str):
        res = s.search(parser.parse(q.lower()), limit=10, terms=True)
        return [h.highlights("text") for h in res]

    return run


def fts5(records: list[dict], path: Path):
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body)")
    t = time.perf_counter()
    con.executemany("INSERT INTO docs VALUES (?, ?, ?)",
                    [(r["id"], r["title"], r["summary"] + " " + r["body"]) for r in records])
    con.commit()
    print(f"  (FTS5 indexed in {time.perf_counter() - t:.1f} s)")

    def run(q: str):
        match = " OR ".join(q.split())
        return con.execute("SELECT id, snippet(docs, 2, '[', ']', '…', 12) FROM docs WHERE docs MATCH ? "
                           "ORDER BY bm25(docs) LIMIT 10", (match,)).fetchall()

    return run


if __name__ == "__main__":
    raise SystemExit(main())
