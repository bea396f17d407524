"""Server time of whole pages through Flask's test client (no network, no server), in one
process: the median of many requests per page, in wall-clock time and in the process's CPU
time (which other work on a shared machine disturbs far less). With ``--toggle NAME``, every page is also
rendered with the Jinja global ``NAME`` set true, the two settings alternating request by
request, so both meet the same machine load; the ratio of their medians is printed.

    python scripts/benchmark_pages.py                      # an instance of the bundled corpus
    python scripts/benchmark_pages.py --home bench-out/instance --n 500 --toggle python_parts

The pages default to the search page (two searches) and the home page; ``--url`` replaces them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URLS = ("/cari?q=sampah", "/cari?q=air+minum&sector=air-minum", "/")


def corpus_instance(folder: Path) -> Path:
    from kb.base import KnowledgeBase

    home = folder / "instance"
    kb = KnowledgeBase(home)
    kb.load_corpus()
    kb.mark_initialized()
    return home


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, help="an instance folder (default: a new one with the bundled corpus)")
    ap.add_argument("--n", type=int, default=300, help="timed requests per page and setting")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--url", action="append", help="a page to time (repeatable)")
    ap.add_argument("--toggle", help="a Jinja global the templates read: each page timed with it false and true")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or corpus_instance(Path(tmp))
        from webapp import create_app

        app = create_app({"TESTING": True, "SESSION_COOKIE_SECURE": False}, home=home)
        client = app.test_client()
        settings = [False, True] if args.toggle else [None]
        urls = args.url or list(URLS)
        times = {(u, s): [] for u in urls for s in settings}
        cpu = {(u, s): [] for u in urls for s in settings}
        for i in range(args.warmup + args.n):
            order = settings if i % 2 == 0 else settings[::-1]
            for url in urls:
                for setting in order:
                    if args.toggle:
                        app.jinja_env.globals[args.toggle] = setting
                    t0, c0 = time.perf_counter(), time.process_time()
                    resp = client.get(url)
                    body = resp.get_data()
                    dt, dc = time.perf_counter() - t0, time.process_time() - c0
                    if resp.status_code != 200 or not body:
                        raise SystemExit(f"{url}: status {resp.status_code}")
                    if i >= args.warmup:
                        times[url, setting].append(dt * 1000)
                        cpu[url, setting].append(dc * 1000)
        print(f"{args.n} requests per page and setting (after {args.warmup} untimed); median / p90 ms")
        for what, table in (("wall", times), ("cpu", cpu)):
            for url in urls:
                cells = []
                for s in settings:
                    v = sorted(table[url, s])
                    label = "" if s is None else f"{args.toggle}={str(s).lower()}: "
                    cells.append(f"{label}{statistics.median(v):.2f} / {v[int(0.9 * (len(v) - 1))]:.2f}")
                line = f"{what:4} {url:36} " + "   ".join(cells)
                if args.toggle:
                    off, on = (statistics.median(table[url, s]) for s in settings)
                    line += f"   ratio false/true {off / on:.3f}"
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
