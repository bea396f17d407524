"""Serving the app: gunicorn with several worker processes (one thread each by default).

One Python process runs one thread of Python at a time, and a search page is CPU work (~10 ms),
so concurrent users are served by several processes (``--workers``, default: the number of
cores, at most 4). Each worker opens the instance on its own: the store is shared (SQLite in
WAL mode, or PostgreSQL), every worker sees the index's commits at its next search, and every
worker brings its recommender up to date from the store's revisions (see ``recommender.holder``). The first
start (bundled corpus, model fit) happens once, in the parent, before any worker starts.

Where gunicorn does not run (Windows), waitress serves the app in one process.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def prepare(home: str | os.PathLike | None) -> tuple[Path, int]:
    """Create the instance on first start (corpus and model), upgrading the schema of an older
    release's database; ``(home, published records)``."""
    import gc

    from kb.base import KnowledgeBase
    from recommender.service import forget_instances

    from . import ensure_initialized
    from .i18n import compile_catalogs

    kb = KnowledgeBase(home, upgrade=True)
    if kb.store.upgraded:
        print("database schema upgraded from revision {} to {}".format(*kb.store.upgraded), file=sys.stderr,
              flush=True)
    ensure_initialized(kb)
    applied = kb.catch_up()  # what was stored but not indexed when the last server stopped
    if applied:
        print(f"index caught up with the store: {applied} record(s) applied", file=sys.stderr, flush=True)
    compile_catalogs(kb.home / "translations")  # once here, so the workers find them compiled
    count = kb.store.count()
    kb.store.engine.dispose()  # no connection crosses into the workers
    forget_instances()         # nor the fitted model: each worker loads the saved one
    gc.collect()
    return kb.home, count


FOLLOW_INTERVAL = 1.0  # seconds between a worker's checks that the index follows the store


def _warm(app, *, worker: bool = True) -> None:
    """Load the recommender model and the postings of the common words while the first requests
    are already served, then follow the store (see :func:`_follow`; ``worker``: a gunicorn
    worker, which also watches its master)."""
    from recommender.service import recommender_for

    kb = app.extensions["sinergi_kb"]
    parent = os.getppid() if worker else None

    def work() -> None:
        t = time.perf_counter()
        try:
            ready = recommender_for(kb).warm()  # without a saved model: its fit starts in the background
            postings = kb.index.warm()
        except Exception as e:  # noqa: BLE001 - requests are served either way, only slower; keep following
            print(f"[worker {os.getpid()}] warm: failed after {time.perf_counter() - t:.1f} s "
                  f"({type(e).__name__}: {e}); requests load what they need as they come",
                  file=sys.stderr, flush=True)
        else:
            model = "model" if ready else "no model yet (it is being fitted in the background)"
            print(f"[worker {os.getpid()}] warm: {model} and {postings:,} postings loaded in "
                  f"{time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        _follow(kb, parent)

    threading.Thread(target=work, name="sinergi-warm", daemon=True).start()


def _follow(kb, parent: int | None) -> None:
    """Every second: apply to the index what the store has and the index lacks (a save whose
    index lock was busy, a write by another process that died before indexing), without
    waiting for the lock; and end this worker when the process that started it is gone (a
    killed master would otherwise leave its workers holding the port)."""
    import signal

    while True:
        time.sleep(FOLLOW_INTERVAL)
        if parent is not None and os.getppid() != parent:
            print(f"[worker {os.getpid()}] the master process is gone; stopping", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            os._exit(0)
        try:
            if kb.behind() != 0:
                kb.catch_up(timeout=0)
        except Exception as e:  # a busy store or a vanished file: the next round tries again
            print(f"[worker {os.getpid()}] catching up failed: {e}", file=sys.stderr, flush=True)


def _json_error_page(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it refuses before the app sees it (a request line over
    ``limit_request_line`` is a 414, a malformed one a 400), in the API's error shape: the path
    is not known at that point, and the API's clients read JSON (a browser shows it as text)."""
    from gunicorn.util import write_nonblock

    body = json.dumps({"error": {"code": status_int, "message": f"{reason}: {mesg}" if mesg else reason,
                                 "details": None}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1")
    write_nonblock(sock, head + body)


def serve(home: Path, *, host: str, port: int, workers: int, threads: int,
          on_ready: Callable[[], None] | None = None) -> None:
    """Serve until interrupted (gunicorn where available, else waitress in one process)."""
    from . import create_app

    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # Windows
        from waitress import serve as waitress_serve

        app = create_app(home=home)
        _warm(app, worker=False)
        if on_ready:
            on_ready()
        # One process serves everything here: keep a few threads so that one slow request or
        # client does not hold up the rest.
        waitress_serve(app, host=host, port=port, threads=max(threads, 4), ident="Sinergi")
        return

    class Server(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
                "workers": workers,
                # One thread: gunicorn's sync worker, which takes a connection per request from
                # the shared socket, so the least busy worker serves the next request (with
                # keep-alive, a worker keeps its connections however busy it is: p95 ~70 against
                # ~95 ms for 8 clients on 2 cores). More threads: gthread, with keep-alive.
                "worker_class": "sync" if threads == 1 else "gthread",
                "threads": threads,
                "timeout": 120,            # a worker busy this long without a heartbeat is restarted
                "graceful_timeout": 10,
                "keepalive": 5,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "sinergi",
                "limit_request_line": 8190,
                "post_worker_init": lambda worker: _warm(worker.wsgi),
                "when_ready": lambda arbiter: on_ready() if on_ready else None,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(home=home)

    # gunicorn's workers write these refusals with gunicorn.util.write_error (an HTML page);
    # the workers are forked from this process, so they inherit the replacement.
    import gunicorn.util

    gunicorn.util.write_error = _json_error_page
    _share_before_fork()
    Server().run()


def _share_before_fork() -> None:
    """Let the workers share the parent's heap: import what every worker imports, then move
    the parent's objects out of the garbage collector's reach (``gc.freeze``). A forked worker
    shares the parent's pages until it writes them, and a collection writes to every object it
    visits, so without the freeze each worker's first full collection copied most of them."""
    import gc

    from . import blueprints

    blueprints()  # imports the views
    gc.collect()
    gc.freeze()


__all__ = ["serve", "prepare", "default_workers"]
