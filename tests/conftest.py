"""Shared fixtures: real instance folders (a SQLite file, or a PostgreSQL database, and a Whoosh
index) in temporary folders.

With ``SINERGI_TEST_POSTGRES`` set to a PostgreSQL server's URL (``scripts/pg_cluster.sh``
starts a throwaway one), every new instance folder gets a database of its own on that server,
and :func:`copy_instance` copies an instance's database with its folder; databases are dropped
after the test that made them.

The web app's fixtures (``app``, ``shared_app``, ``client``, ``runner``, ``auth``) serve such
instances through Flask's test client; see the section below.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, text

import kb.base
from kb.base import KnowledgeBase

DATA = Path(__file__).parent / "data"
POSTGRES = os.environ.get("SINERGI_TEST_POSTGRES")
_names = itertools.count()
_made: list[list[str]] = [[]]  # databases made by the running test (the first: by session fixtures)


def _admin():
    return create_engine(POSTGRES, isolation_level="AUTOCOMMIT")


def _database(template: str | None = None) -> str:
    name = f"t{os.getpid()}_{next(_names)}"
    engine = _admin()
    with engine.connect() as c:
        if template:  # a template database must have no other connections
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": template})
        c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    _made[-1].append(name)
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


def copy_instance(src: Path, dst: Path) -> Path:
    """A copy of the instance folder ``src`` at ``dst``, with a copy of its database."""
    shutil.copytree(src, dst)
    settings_path = dst / "settings.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    url = settings.get("database_url", "")
    if url.startswith("postgresql"):
        settings["database_url"] = _database(template=url.rsplit("/", 1)[1])
    settings_path.write_text(json.dumps(settings, indent=1), encoding="utf-8")
    return dst


if POSTGRES:
    @pytest.fixture(scope="session", autouse=True)
    def _postgres_databases():
        saved = kb.base.default_database_url
        kb.base.default_database_url = lambda home: _database()  # a new folder: a new database
        yield
        kb.base.default_database_url = saved

    @pytest.fixture(autouse=True)
    def _drop_test_databases():
        _made.append([])
        yield
        names = _made.pop()
        engine = _admin()
        with engine.connect() as c:
            for name in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def corpus_home(tmp_path_factory) -> Path:
    """An instance with the bundled corpus and its saved recommender model, as ``sinergi init``
    leaves one; built once per test session (treat as read-only)."""
    from recommender.service import Recommender

    home = tmp_path_factory.mktemp("corpus") / "instance"
    kb = KnowledgeBase(home)
    kb.load_corpus()
    Recommender(kb, background_refit=False).refresh()
    kb.mark_initialized()
    return home


@pytest.fixture(scope="session")
def corpus_kb(corpus_home) -> KnowledgeBase:
    return KnowledgeBase(corpus_home, create=False)


@pytest.fixture(scope="module")
def rec(corpus_kb):
    """The recommender over the bundled corpus, its model fitted (read-only tests)."""
    from recommender.service import recommender_for

    r = recommender_for(corpus_kb)
    r.refresh()
    return r


@pytest.fixture
def writable_corpus_kb(corpus_home, tmp_path) -> KnowledgeBase:
    """A private copy of the corpus instance, for tests that write."""
    home = copy_instance(corpus_home, tmp_path / "copy")
    return KnowledgeBase(home, create=False)


@pytest.fixture
def empty_kb(tmp_path) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "empty")
    kb.mark_initialized()
    return kb


@pytest.fixture
def small_file() -> Path:
    return DATA / "small.jsonl"


# -- the web app ---------------------------------------------------------------------------------
# Fixtures for tests through Flask's test client:
#   app         a private app over a copy of the corpus instance, one per test (tests that write);
#               ``@pytest.mark.app_config(NAME=value)`` on a test or module changes its settings
#   shared_app  one app over a copy of the corpus instance for the whole session, for tests that
#               only read; a module with an instance of its own overrides it (module scope)
#   client      a test client of ``shared_app``
#   runner      the ``sinergi`` command against ``app``'s instance folder (Flask's CLI runner)
#   auth        accounts of each role, signed in and out through the sign-in page

TEST_CONFIG = {"TESTING": True, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}
PASSWORD = "kata-sandi-uji-123"
READ_ONLY = "SINERGI_TEST_READ_ONLY"  # an app's setting: its ``client`` checks that a test wrote nothing


def pytest_configure(config):
    config.addinivalue_line("markers", "app_config(**settings): Flask settings of the `app` fixture's app")


class SinergiRunner(FlaskCliRunner):
    """Flask's CLI runner for the ``sinergi`` console script, with ``--home`` set to the app's
    instance folder: ``runner.invoke(args=["user", "list"])``."""

    def invoke(self, cli=None, args=None, **kwargs):
        if cli is None:
            from webapp.cli import main

            cli = main
            args = ["--home", str(self.app.extensions["sinergi_kb"].home), *(args or [])]
        kwargs.setdefault("obj", {})
        return super().invoke(cli, args, **kwargs)


def make_app(home: Path, config: dict | None = None, *, read_only: bool = False):
    """The web app over the instance folder ``home`` with the test settings (and ``config``).
    ``read_only``: the ``client`` fixture fails a test that changes its records."""
    from webapp import create_app

    app = create_app({**TEST_CONFIG, **(config or {}), READ_ONLY: read_only}, home=home)
    app.test_cli_runner_class = SinergiRunner
    return app


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


class Auth:
    """Accounts on an app's instance and signing in and out through the pages. An account is
    made on first use, with the password ``PASSWORD``; its role is the one given, or by its
    name: ``editor`` and ``admin`` have those roles, any other name is a contributor."""

    @staticmethod
    def _store(app_or_client):
        app = getattr(app_or_client, "application", app_or_client)
        return app.extensions["sinergi_kb"].store

    def user(self, app_or_client, name: str = "editor", role: str | None = None) -> str:
        from webapp.auth import add_user, list_users

        store = self._store(app_or_client)
        if name not in {u["username"] for u in list_users(store)}:
            add_user(store, name, PASSWORD, role or (name if name in ("editor", "admin") else "contributor"))
        return name

    def login(self, client, name: str = "editor", password: str = PASSWORD, *, next_url: str | None = None,
              **kw):
        """Sign ``name`` in through the sign-in form; the answer (302 when it worked). ``kw``
        goes to both requests (headers, environ_base)."""
        self.user(client, name)
        page = client.get("/kurasi/masuk", **kw).get_data(as_text=True)
        url = "/kurasi/masuk" + (f"?next={next_url}" if next_url else "")
        return client.post(url, data={"username": name, "password": password, "csrf_token": csrf_token(page)}, **kw)

    def logout(self, client):
        page = client.get("/kurasi/").get_data(as_text=True)
        return client.post("/kurasi/keluar", data={"csrf_token": csrf_token(page)})

    def token(self, app_or_client, name: str = "editor", role: str | None = None) -> str:
        """A new API token of ``name`` (made on first use)."""
        from webapp.auth import new_token

        return new_token(self._store(app_or_client), self.user(app_or_client, name, role))

    def headers(self, app_or_client, name: str = "editor", role: str | None = None) -> dict:
        return {"Authorization": f"Bearer {self.token(app_or_client, name, role)}"}


@pytest.fixture(scope="session")
def auth() -> Auth:
    return Auth()


@pytest.fixture
def app(request, corpus_home, tmp_path):
    """A private app over a copy of the corpus instance, for a test that writes; settings from
    the ``app_config`` markers of its module and of the test."""
    config = {}
    for marker in reversed(list(request.node.iter_markers("app_config"))):  # the test's own last
        config.update(marker.kwargs)
    return make_app(copy_instance(corpus_home, tmp_path / "inst"), config)


@pytest.fixture(scope="session")
def shared_app(corpus_home, tmp_path_factory):
    """One app over a copy of the corpus instance for the session's tests that only read."""
    return make_app(copy_instance(corpus_home, tmp_path_factory.mktemp("shared") / "inst"), read_only=True)


@pytest.fixture
def client(shared_app):
    """A test client of ``shared_app``; on a read-only app, a test that changed its records fails."""
    store = shared_app.extensions["sinergi_kb"].store
    head = store.head() if shared_app.config.get(READ_ONLY) else None
    yield shared_app.test_client()
    if head is not None:
        assert store.head() == head, "a test wrote to the shared app: take the `app` fixture"


@pytest.fixture
def runner(app) -> SinergiRunner:
    """The ``sinergi`` command on ``app``'s instance folder."""
    return app.test_cli_runner()
