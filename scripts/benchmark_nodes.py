"""Two nodes on one PostgreSQL database: each a `sinergi serve` with its own instance folder
(index and model files), clients spread over both, a save every second on either node, and how
long a save on one node takes to be searchable on the other. Bounded in requests and time;
talks to 127.0.0.1 only.

    scripts/pg_cluster.sh                       # prints URL DIR of a throwaway server
    python scripts/benchmark_nodes.py --server-url URL [--records 10000] --clients 8 --seconds 60
    scripts/pg_cluster.sh stop DIR

With `--records N` a synthetic corpus of N records (`scripts/synthetic.py`) is imported into a
new database first; otherwise the bundled corpus is loaded. Prints search p50/p95 per node,
save → searchable on the other node p50/p95, and the count of responses ≥ 500.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchmark_reliability import Conn, start_server, wait_ready  # noqa: E402
from scripts.benchmark_web import free_port, pct  # noqa: E402
from scripts.synthetic import WORDS  # noqa: E402

CLI = [sys.executable, "-m", "webapp.cli"]


def new_database(server_url: str) -> str:
    name = f"sinergi_nodes_{os.getpid()}_{int(time.time())}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-url", required=True, help="a PostgreSQL server (SQLAlchemy URL of any database on it)")
    ap.add_argument("--records", type=int, default=0, help="synthetic records to import (0: the bundled corpus)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=1, help="worker processes per node")
    ap.add_argument("--max-requests", type=int, default=50_000)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sinergi-nodes-"))
    url = new_database(args.server_url)
    homes = [str(work / "node-a"), str(work / "node-b")]
    env_a = {**os.environ, "SINERGI_HOME": homes[0], "DATABASE_URL": url}
    t0 = time.perf_counter()
    if args.records:
        data = work / "synthetic.jsonl"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "synthetic.py"), str(args.records), "-o", str(data)],
                       check=True, capture_output=True)
        subprocess.run(CLI + ["init", "--empty"], env=env_a, check=True, capture_output=True)
        subprocess.run(CLI + ["import", str(data)], env=env_a, check=True, capture_output=True)
    else:
        subprocess.run(CLI + ["init"], env=env_a, check=True, capture_output=True)
    print(f"node A created on a new database in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    subprocess.run(CLI + ["init"], env={**os.environ, "SINERGI_HOME": homes[1], "DATABASE_URL": url}, check=True,
                   capture_output=True)
    print(f"node B attached and built its index from the store in {time.perf_counter() - t0:.1f} s")
    subprocess.run(CLI + ["user", "add", "simpul", "--role", "editor", "--password", "simpul-password-1"],
                   env={**os.environ, "SINERGI_HOME": homes[0]}, check=True, capture_output=True)
    token = subprocess.run(CLI + ["user", "token", "simpul"], env={**os.environ, "SINERGI_HOME": homes[0]},
                           check=True, capture_output=True, text=True).stdout.strip()

    ports = [free_port(), free_port()]
    servers = [start_server(h, p, work / f"node-{i}.log", args.workers) for i, (h, p) in enumerate(zip(homes, ports))]
    try:
        for p in ports:
            if wait_ready(p, 120) is None:
                print("a node did not start; see the logs in", work)
                return 1
        time.sleep(5)  # let the workers warm
        search_ms: list[list[float]] = [[], []]
        fresh_s: list[float] = []
        errors = [0]
        budget = [args.max_requests]
        stop = time.perf_counter() + args.seconds
        lock = threading.Lock()

        def take() -> bool:
            with lock:
                budget[0] -= 1
                return budget[0] >= 0 and time.perf_counter() < stop

        def reader(i: int) -> None:
            node = i % 2
            c, rng = Conn(ports[node]), random.Random(i)
            while take():
                q = " ".join(rng.sample(WORDS, 2))
                t = time.perf_counter()
                status, _ = c.request("GET", "/cari?" + urllib.parse.urlencode({"q": q}))
                with lock:
                    if status >= 500 or status == 0:
                        errors[0] += 1
                    elif status == 200:
                        search_ms[node].append((time.perf_counter() - t) * 1000)

        def writer() -> None:
            n = 0
            conns = [Conn(p) for p in ports]
            while time.perf_counter() < stop - 2:
                n += 1
                node = n % 2
                word = f"simpul{n}x{random.randint(0, 10**6)}"
                t = time.perf_counter()
                status, _ = conns[node].request("POST", "/api/v1/cases", {
                    "id": f"simpul-{n}-{random.randint(0, 10**9)}", "title": f"Uji dua simpul {word}",
                    "summary": "Disimpan di satu simpul, dicari di simpul lain."}, token)
                if status != 201:
                    with lock:
                        errors[0] += status >= 500 or status == 0
                    continue
                other = conns[1 - node]
                while time.perf_counter() - t < 10:
                    status, body = other.request("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": word}))
                    if status == 200 and json.loads(body)["total"]:
                        fresh_s.append(time.perf_counter() - t)
                        break
                    time.sleep(0.02)
                time.sleep(max(0.0, 1.0 - (time.perf_counter() - t)))

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(args.clients)]
        threads.append(threading.Thread(target=writer))
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for node in (0, 1):
            v = search_ms[node]
            print(f"node {'AB'[node]}: search page p50 {statistics.median(v):.1f} ms, p95 {pct(v, 95):.1f} ms "
                  f"({len(v)} requests)" if v else f"node {'AB'[node]}: no searches")
        print(f"save -> searchable on the other node: p50 {statistics.median(fresh_s):.2f} s, "
              f"p95 {pct(fresh_s, 95):.2f} s, max {max(fresh_s):.2f} s ({len(fresh_s)} saves)"
              if fresh_s else "no saves measured")
        print(f"responses >= 500 or none: {errors[0]}")
        for i, h in enumerate(homes):
            out = subprocess.run(CLI + ["check", "--json"], env={**os.environ, "SINERGI_HOME": h},
                                 capture_output=True, text=True).stdout
            print(f"sinergi check on node {'AB'[i]}: ok={json.loads(out)['ok'] if out.strip() else '?'}")
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            try:
                s.wait(timeout=30)
            except subprocess.TimeoutExpired:
                s.kill()
        print("logs:", work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
