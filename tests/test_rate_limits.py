"""Rate limits count per client across every worker of an instance, and across the nodes of a
deployment on one PostgreSQL database: a client cannot multiply its sign-in attempts by the
number of processes it happens to reach."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from kb.base import KnowledgeBase
from conftest import POSTGRES, copy_instance, csrf_token, make_app

LIMIT = {"SINERGI_LOGIN_LIMIT": "3 per minute"}


def _failed_login(app, address: str = "203.0.113.7") -> int:
    c = app.test_client()
    env = {"REMOTE_ADDR": address}
    page = c.get("/kurasi/masuk", environ_base=env).get_data(as_text=True)
    return c.post("/kurasi/masuk", data={"username": "editor", "password": "salah-sekali",
                                         "csrf_token": csrf_token(page)}, environ_base=env).status_code


def _other_worker(home: str, attempts: int, out) -> None:
    """Sign-in attempts from another process on the same instance (as a second gunicorn worker)."""
    out.put([_failed_login(make_app(Path(home), LIMIT)) for _ in range(attempts)])


def test_two_worker_processes_of_one_instance_share_the_sign_in_budget(corpus_home, tmp_path, auth):
    home = copy_instance(corpus_home, tmp_path / "inst")
    worker_a = make_app(home, LIMIT)
    auth.user(worker_a, "editor")
    assert _failed_login(worker_a) == 200
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    worker_b = ctx.Process(target=_other_worker, args=(str(home), 3, out))
    worker_b.start()
    codes_b = out.get(timeout=120)
    worker_b.join(30)
    assert codes_b == [200, 200, 429]  # one attempt was already spent on worker A
    assert _failed_login(worker_a) == 429
    # another client has its own budget
    assert _failed_login(worker_a, address="198.51.100.4") == 200


def test_a_budget_comes_back_when_its_window_ends(corpus_home, tmp_path, auth):
    app = make_app(copy_instance(corpus_home, tmp_path / "inst"), {"SINERGI_LOGIN_LIMIT": "2 per 8 seconds"})
    auth.user(app, "editor")
    started = time.monotonic()
    codes = [_failed_login(app) for _ in range(3)]
    if time.monotonic() - started < 8:  # (a machine too slow for this window proves nothing)
        assert codes == [200, 200, 429]
    time.sleep(max(0.0, started + 8.5 - time.monotonic()))
    assert _failed_login(app) == 200


def test_a_refused_attempt_says_when_to_try_again(corpus_home, tmp_path, auth):
    app = make_app(copy_instance(corpus_home, tmp_path / "inst"), {"SINERGI_LOGIN_LIMIT": "1 per minute"})
    auth.user(app, "editor")
    _failed_login(app)
    c = app.test_client()
    page = c.get("/kurasi/masuk", environ_base={"REMOTE_ADDR": "203.0.113.7"}).get_data(as_text=True)
    r = c.post("/kurasi/masuk", data={"username": "editor", "password": "x", "csrf_token": csrf_token(page)},
               environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 60


def test_two_nodes_on_one_database_share_the_sign_in_budget(tmp_path, auth):
    if not POSTGRES:
        pytest.skip("needs SINERGI_TEST_POSTGRES (a PostgreSQL server; see scripts/pg_cluster.sh)")
    from conftest import _database

    url = _database()
    node_a = make_app(KnowledgeBase(tmp_path / "a", database_url=url).home, LIMIT)
    node_b = make_app(KnowledgeBase(tmp_path / "b", database_url=url).home, LIMIT)
    auth.user(node_a, "editor")
    assert [_failed_login(node_a), _failed_login(node_b), _failed_login(node_b)] == [200, 200, 200]
    assert _failed_login(node_a) == 429
    assert not (tmp_path / "a" / "ratelimits.db").exists()  # the counters are in the shared database


def test_every_view_with_a_limit_is_checked(shared_app):
    """A view decorated with a limit but missing from RATE_LIMITED_ENDPOINTS would be skipped by
    the request filter: unlimited. (Flask-Limiter keeps the decorated views by qualified name.)"""
    from webapp import RATE_LIMITED_ENDPOINTS, limiter

    decorated = set(limiter.limit_manager._decorated_limits)
    limited = {endpoint for endpoint, view in shared_app.view_functions.items()
               if f"{view.__module__}.{view.__name__}.{view.__name__}" in decorated}
    assert limited and limited == set(RATE_LIMITED_ENDPOINTS)


def test_the_printable_pages_spend_the_download_budget(corpus_home, tmp_path):
    app = make_app(copy_instance(corpus_home, tmp_path / "inst"), {"SINERGI_DOWNLOAD_LIMIT": "2 per minute"})
    c = app.test_client()
    query = "/usulan/jalur-hukum?title=Sampah&description=" + "pengelolaan sampah regional bersama " * 4
    codes = [c.get(query).status_code for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429
