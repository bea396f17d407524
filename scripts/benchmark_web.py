"""Load on `sinergi serve` over loopback: concurrent readers while a researcher saves a case
every second. Bounded in requests and time; talks to 127.0.0.1 only.

    python scripts/benchmark.py --n 10000 --workdir bench-out   # builds bench-out/instance
    python scripts/benchmark_web.py --home bench-out/instance --clients 8 --seconds 60

Prints p50/p95 of the search page (``--search api``: of the JSON search API; also split by whether a request began within 100 ms after a
save began) and of POST /api/v1/recommend, the error count, how long each saved case took to
become searchable and how long the saves' requests took.
"""

from __future__ import annotations

import argparse
import bisect
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.synthetic import WORDS  # noqa: E402


def pct(v: list[float], p: float) -> float:
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP connection (as a browser keeps one): far less client CPU than a new
    connection per request, which matters when client and server share two cores."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> bytes:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.status >= 400:
                raise OSError(f"HTTP {resp.status} for {method} {path[:60]}")
            return data
        raise AssertionError("unreachable")


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its live descendants (Linux)."""
    total = 0.0
    for pid in process_tree_rss(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def _children(pid: int) -> list[int] | None:
    """Child pids from /proc/PID/task/*/children (cheap), or None where the kernel lacks it."""
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except FileNotFoundError:
            return None
        except OSError:
            pass
    return out


def _children_by_scan() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree_rss(root: int) -> dict[int, float]:
    """RSS in MB of ``root`` and its descendants (Linux /proc; sampled often by benchmark.py,
    so it reads the children lists rather than scanning every process)."""
    scanned: dict[int, list[int]] | None = None
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) / 1024
        except OSError:
            pass
        kids = _children(pid)
        if kids is None:
            scanned = scanned if scanned is not None else _children_by_scan()
            kids = scanned.get(pid, [])
        todo += kids
    return out


def memory_rollup(pid: int) -> dict[str, float]:
    """MB of a process's memory by kind (Linux /proc/PID/smaps_rollup): ``rss``; ``pss``, its
    share of pages shared with other processes (a file mapped by two workers counts half in
    each), split into ``pss_anon`` (heap) and ``pss_file`` (mapped files: index segments,
    decoded postings, the model; clean page cache, kept once per machine and reclaimable);
    ``uss``, the pages no other process maps (what ending this process would free); ``anon``,
    its heap, private or still shared with the process it was forked from."""
    names = {"Rss": "rss", "Pss": "pss", "Pss_Anon": "pss_anon", "Pss_File": "pss_file",
             "Anonymous": "anon", "Private_Clean": "uss", "Private_Dirty": "uss"}
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in names:
                out[names[key]] = out.get(names[key], 0.0) + int(rest.split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


AFTER_SAVE_S = 0.1  # a save takes a worker away for about this long (see ARCHITECTURE.md)


def _by_time_since_save(starts: list[float], values: list[float], saves: list[float],
                        within: float) -> tuple[list[float], list[float]]:
    """``values`` split by whether their request began less than ``within`` seconds after the
    latest save began (where the latency tail comes from) or later."""
    saves = sorted(saves)
    near, later = [], []
    for t, v in zip(starts, values):
        i = bisect.bisect_right(saves, t) - 1
        (near if i >= 0 and t - saves[i] < within else later).append(v)
    return near, later


def wait_for_warm_workers(log_path: Path, deadline: float) -> float:
    """Seconds until the server log shows a "warm" line for every worker (or the deadline)."""
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        text = log_path.read_text(errors="replace")
        m = re.search(r"(\d+) worker\(s\)", text)
        if m and text.count("] warm:") >= int(m.group(1)):
            break
        time.sleep(0.2)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5,
                    help="seconds of unmeasured load after the workers report they are warm")
    ap.add_argument("--max-requests", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=None, help="server worker processes (default: the server's)")
    ap.add_argument("--threads", type=int, default=None, help="threads per worker (default: the server's)")
    ap.add_argument("--search", choices=("page", "api"), default="page",
                    help="what the readers' searches ask for: the search page (/cari) or the JSON API")
    args = ap.parse_args()
    search_path = "/cari?" if args.search == "page" else "/api/v1/search?"
    env = {**os.environ, "SINERGI_HOME": args.home}
    cli = [sys.executable, "-m", "webapp.cli"]
    subprocess.run(cli + ["db", "upgrade"], env=env, capture_output=True, check=True)  # an older instance
    subprocess.run(cli + ["user", "add", "bench", "--role", "editor", "--password", "bench-password-1"], env=env,
                   capture_output=True)
    token = subprocess.run(cli + ["user", "token", "bench"], env=env, capture_output=True, text=True).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    log_path = Path(args.home).resolve().parent / "benchmark-web-server.log"
    log = log_path.open("w")
    serve = cli + ["serve", "--port", str(port)]
    if args.threads:
        serve += ["--threads", str(args.threads)]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    server = subprocess.Popen(serve, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        print(f"server ready in {time.perf_counter() - t0:.1f} s")
        search_ms: list[float] = []
        search_at: list[float] = []  # when each measured search began (to relate it to saves)
        save_at: list[float] = []
        reco_ms: list[float] = []
        fresh_s: list[float] = []
        save_ms: list[float] = []  # how long each save's POST took (it holds one worker meanwhile)
        errors: list[str] = []
        # Readers run through a warm-up first: until every worker reports that it has loaded
        # the model and the postings (it does so in the background at start), then --warmup
        # seconds more. Only what follows is measured.
        window = {"begin": float("inf"), "stop": float("inf")}
        count = [0]
        lock = threading.Lock()

        def reader(seed: int) -> None:
            rng = random.Random(seed)
            client = Client(port)
            while time.perf_counter() < window["stop"]:
                with lock:
                    if count[0] >= args.max_requests:
                        return
                    count[0] += 1
                q = " ".join(rng.sample(WORDS, rng.randint(2, 3)))
                try:
                    if rng.random() < 0.8:
                        t = time.perf_counter()
                        client.request("GET", search_path + urllib.parse.urlencode({"q": q}))
                        if t >= window["begin"]:
                            ms = (time.perf_counter() - t) * 1000
                            with lock:  # the two lists stay aligned
                                search_ms.append(ms)
                                search_at.append(t)
                    else:
                        body = json.dumps({"description": " ".join(rng.choices(WORDS, k=60))}).encode()
                        t = time.perf_counter()
                        client.request("POST", "/api/v1/recommend", body, {"Content-Type": "application/json"})
                        if t >= window["begin"]:
                            reco_ms.append((time.perf_counter() - t) * 1000)
                except OSError as e:
                    errors.append(str(e))

        def writer() -> None:
            n = 0
            client = Client(port)
            while time.perf_counter() < window["begin"]:
                time.sleep(0.1)
            while time.perf_counter() < window["stop"] - 2:
                n += 1
                word = f"benchmarkword{n}x{random.randint(0, 10**6)}"
                body = json.dumps({"id": f"bench-save-{n}-{random.randint(0, 10**9)}", "title": f"Uji simpan {word}",
                                   "summary": "Kasus uji beban yang disimpan setiap detik."}).encode()
                t = time.perf_counter()
                save_at.append(t)
                try:
                    client.request("POST", "/api/v1/cases", body, {"Content-Type": "application/json",
                                                                  "Authorization": f"Bearer {token}"})
                    save_ms.append((time.perf_counter() - t) * 1000)
                    while time.perf_counter() - t < 10:
                        out = json.loads(client.request("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": word})))
                        if out["total"]:
                            fresh_s.append(time.perf_counter() - t)
                            break
                        time.sleep(0.05)
                except OSError as e:
                    errors.append("write: " + str(e))
                time.sleep(max(0.0, 1.0 - (time.perf_counter() - t)))

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(args.clients)]
        threads.append(threading.Thread(target=writer))
        for th in threads:
            th.start()
        warm_s = wait_for_warm_workers(log_path, time.perf_counter() + 120)
        window["begin"] = time.perf_counter() + args.warmup
        window["stop"] = window["begin"] + args.seconds
        print(f"workers warm {warm_s:.1f} s after the server was ready (under load)")
        time.sleep(max(0.0, window["begin"] - time.perf_counter()))
        cpu0, wall0, server_cpu0 = time.process_time(), time.perf_counter(), process_tree_cpu(server.pid)
        count[0] = 0
        for th in threads:
            th.join()
        wall = time.perf_counter() - wall0
        client_cpu = (time.process_time() - cpu0) / wall
        server_cpu = (process_tree_cpu(server.pid) - server_cpu0) / wall
        print(f"{args.clients} clients, {args.seconds} s, {count[0]} reads, {len(fresh_s)} saves; "
              f"cores used: server {server_cpu:.2f}, client {client_cpu:.2f}, of {os.cpu_count()}")
        print(f"  search {args.search:4}   p50 {statistics.median(search_ms):7.1f} ms  p95 {pct(search_ms, 95):7.1f} ms"
              if search_ms else "  no search requests")
        near, later = _by_time_since_save(search_at, search_ms, save_at, AFTER_SAVE_S)
        if near and later:
            print(f"    begun <{AFTER_SAVE_S * 1000:.0f} ms after a save began: {len(near)} requests, "
                  f"p50 {statistics.median(near):.1f} ms, p95 {pct(near, 95):.1f} ms; "
                  f"the others: p50 {statistics.median(later):.1f} ms, p95 {pct(later, 95):.1f} ms")
        print(f"  recommend API p50 {statistics.median(reco_ms):7.1f} ms  p95 {pct(reco_ms, 95):7.1f} ms"
              if reco_ms else "  no recommend requests")
        print(f"  saved case searchable after: p50 {statistics.median(fresh_s):.2f} s, max {max(fresh_s):.2f} s"
              if fresh_s else "  no saves measured")
        if save_ms:
            print(f"  the saves' POST: p50 {statistics.median(save_ms):.1f} ms, p95 {pct(save_ms, 95):.1f} ms, "
                  f"max {max(save_ms):.1f} ms")
        print(f"  errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        rss = process_tree_rss(server.pid)
        print(f"  server RSS: {len(rss)} processes, largest {max(rss.values(), default=0):.0f} MB, "
              f"all {sum(rss.values()):.0f} MB")
        rollups = {pid: memory_rollup(pid) for pid in rss}
        if any(rollups.values()):
            for pid, m in sorted(rollups.items(), key=lambda kv: -kv[1].get("pss", 0)):
                print(f"    pid {pid}: RSS {m.get('rss', 0):.0f} MB, PSS {m.get('pss', 0):.0f} MB "
                      f"(heap {m.get('pss_anon', 0):.0f}, mapped files {m.get('pss_file', 0):.0f}), "
                      f"USS {m.get('uss', 0):.0f} MB, heap {m.get('anon', 0):.0f} MB")
            print(f"  server PSS (shared pages split between the processes mapping them): all "
                  f"{sum(m.get('pss', 0) for m in rollups.values()):.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        print(f"  server log: {log_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
