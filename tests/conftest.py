"""Shared fixtures: real instance folders (a SQLite file, or a PostgreSQL database, and a Whoosh
index) in temporary folders.

With ``SINERGI_TEST_POSTGRES`` set to a PostgreSQL server's URL (``scripts/pg_cluster.sh``
starts a throwaway one), every new instance folder gets a database of its own on that server,
and :func:`copy_instance` copies an instance's database with its folder; databases are dropped
after the test that made them.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import pytest
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
    """An instance with the bundled corpus, built once per test session (treat as read-only)."""
    home = tmp_path_factory.mktemp("corpus") / "instance"
    kb = KnowledgeBase(home)
    kb.load_corpus()
    kb.mark_initialized()
    return home


@pytest.fixture(scope="session")
def corpus_kb(corpus_home) -> KnowledgeBase:
    return KnowledgeBase(corpus_home, create=False)


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
