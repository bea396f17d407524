"""Reliability under writes and a crash: `sinergi serve` on a copy of an instance, writers and
readers over loopback, then `kill -9` of the whole server in the middle of a burst of writes,
a restart with no manual repair, and a check that every acknowledged write is stored and
findable. Bounded in requests and time; talks to 127.0.0.1 only.

    python scripts/benchmark.py --n 10000 --workdir bench-out      # builds bench-out/instance
    python scripts/benchmark_reliability.py --home bench-out/instance --writers 8 --readers 32 --seconds 60

Prints: writes acknowledged, stored, findable by their title; responses by status class (no
5xx is the goal); 409 and 503 answers (lost races and a busy store: refused, nothing saved);
the time until the restarted server answers; and `sinergi check` after the restart.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchmark_web import free_port, pct, process_tree_rss  # noqa: E402
from scripts.synthetic import WORDS  # noqa: E402

CLI = [sys.executable, "-m", "webapp.cli"]


class Conn:
    """One keep-alive connection; returns (status, body) and never raises for HTTP statuses."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                              headers=headers)
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = None
            time.sleep(0.05)  # the server is down or restarting: no busy loop meanwhile
            return 0, b""


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: collections.Counter[int] = collections.Counter()
        self.acked: dict[str, str] = {}  # id -> the unique word of its title
        self.search_ms: list[float] = []
        self.first_5xx: str | None = None

    def count(self, status: int, what: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500 and self.first_5xx is None:
                self.first_5xx = f"{status} on {what}"


def start_server(home: str, port: int, log: Path, workers: int | None) -> subprocess.Popen:
    cmd = CLI + ["serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    return subprocess.Popen(cmd, env={**os.environ, "SINERGI_HOME": home}, stdout=log.open("a"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(port: int, limit: float) -> float | None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if Conn(port).request("GET", "/api/v1/search?q=x")[0] == 200:
            return time.perf_counter() - t0
        time.sleep(0.05)
    return None


def run_load(port: int, token: str, tally: Tally, *, writers: int, readers: int, seconds: float,
             run: str, max_requests: int) -> None:
    stop = time.perf_counter() + seconds
    budget = [max_requests]

    def take() -> bool:
        with tally.lock:
            budget[0] -= 1
            return budget[0] >= 0 and time.perf_counter() < stop

    def writer(i: int) -> None:
        c, n, mine = Conn(port), 0, []
        rng = random.Random(f"{run}-{i}")
        while take():
            n += 1
            word = f"rel{run}w{i}n{n}x{rng.randint(0, 10**6)}"
            rid = f"rel-{run}-{i}-{n}"
            if mine and rng.random() < 0.3:  # edit one of ours with the version it read
                rid, word = rng.choice(mine)
                status, body = c.request("GET", f"/api/v1/cases/{rid}")
                tally.count(status, "GET case")
                if status != 200:
                    continue
                rec = json.loads(body)
                edit = {"title": f"Sunting {word} {n}", "summary": rec["summary"], "version": rec["version"]}
                status, _ = c.request("PUT", f"/api/v1/cases/{rid}", edit, token)
                tally.count(status, "PUT case")
                continue
            status, _ = c.request("POST", "/api/v1/cases", {"id": rid, "title": f"Uji andal {word}",
                                                            "summary": "Kasus uji keandalan yang disimpan."}, token)
            tally.count(status, "POST case")
            if status == 201:
                with tally.lock:
                    tally.acked[rid] = word
                mine.append((rid, word))

    def reader(i: int) -> None:
        c = Conn(port)
        rng = random.Random(f"{run}-r{i}")
        while take():
            q = " ".join(rng.sample(WORDS, 2))
            path = ("/cari?" if rng.random() < 0.7 else "/api/v1/search?") + urllib.parse.urlencode({"q": q})
            t = time.perf_counter()
            status, _ = c.request("GET", path)
            tally.count(status, "search")
            if status == 200:
                with tally.lock:
                    tally.search_ms.append((time.perf_counter() - t) * 1000)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def kill_tree(pid: int) -> None:
    for p in process_tree_rss(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, help="an instance to copy (left unchanged)")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--readers", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--burst", type=float, default=10, help="seconds of the second burst; the kill comes halfway")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--max-requests", type=int, default=200_000)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sinergi-reliability-"))
    home = str(work / "instance")
    shutil.copytree(args.home, home)
    env = {**os.environ, "SINERGI_HOME": home}
    subprocess.run(CLI + ["db", "upgrade"], env=env, capture_output=True, check=True)  # an older instance
    subprocess.run(CLI + ["user", "add", "andal", "--role", "editor", "--password", "andal-password-1"], env=env,
                   capture_output=True, check=True)
    token = subprocess.run(CLI + ["user", "token", "andal"], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    log = work / "server.log"
    port = free_port()
    tally = Tally()
    server = start_server(home, port, log, args.workers)
    try:
        ready = wait_ready(port, 120)
        print(f"server ready in {ready:.1f} s" if ready is not None else "server did not start")
        if ready is None:
            return 1
        run_load(port, token, tally, writers=args.writers, readers=args.readers, seconds=args.seconds, run="a",
                 max_requests=args.max_requests)
        print(f"run 1: {args.seconds:.0f} s, {len(tally.acked)} creates acknowledged, "
              f"search p50 {pct(tally.search_ms, 50):.1f} ms p95 {pct(tally.search_ms, 95):.1f} ms")
        # The second burst, with kill -9 of the master and every worker halfway.
        burst = threading.Thread(target=run_load, args=(port, token, tally),
                                 kwargs={"writers": args.writers, "readers": args.readers // 4,
                                         "seconds": args.burst, "run": "b", "max_requests": args.max_requests})
        burst.start()
        time.sleep(args.burst / 2)
        kill_tree(server.pid)
        server.wait()
        killed_at = time.perf_counter()
        burst.join()
        print(f"killed the server (master and workers) {args.burst / 2:.0f} s into the second burst")
        server = start_server(home, port, log, args.workers)
        ready = wait_ready(port, 120)
        print(f"restarted: answers {ready:.1f} s after the restart began "
              f"({time.perf_counter() - killed_at:.1f} s after the kill)" if ready is not None else "no restart")
        if ready is None:
            return 1
        c = Conn(port)
        stored = findable = 0
        missing: list[str] = []
        for rid, word in sorted(tally.acked.items()):
            status, body = c.request("GET", f"/api/v1/cases/{rid}")
            if status != 200:
                missing.append(rid)
                continue
            stored += 1  # an edit keeps the record's unique word in its title
            status, body = c.request("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": word}))
            if status == 200 and rid in [h["id"] for h in json.loads(body)["results"]]:
                findable += 1
            else:
                missing.append(rid)
        by_class = collections.Counter(f"{s // 100}xx" if s else "no answer (server down)"
                                       for s in tally.statuses.elements())
        print(f"writes acknowledged {len(tally.acked)}, stored {stored}, findable by title {findable}"
              + (f"; not: {missing[:5]}" if missing else ""))
        print(f"responses: {dict(sorted(by_class.items()))}; 409 {tally.statuses[409]}, 503 {tally.statuses[503]}"
              + (f"; first 5xx: {tally.first_5xx}" if tally.first_5xx else ""))
        check = subprocess.run(CLI + ["check", "--json"], env=env, capture_output=True, text=True)
        print("sinergi check:", check.stdout.strip()[:300] or check.stderr.strip()[:300])
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_tree(server.pid)
                server.wait()
        print(f"server log: {log}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
