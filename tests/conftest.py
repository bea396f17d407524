"""Shared fixtures: real instance folders (SQLite file + Whoosh index) in temporary folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.base import KnowledgeBase

DATA = Path(__file__).parent / "data"


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
    home = tmp_path / "copy"
    shutil.copytree(corpus_home, home)
    return KnowledgeBase(home, create=False)


@pytest.fixture
def empty_kb(tmp_path) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "empty")
    kb.mark_initialized()
    return kb


@pytest.fixture
def small_file() -> Path:
    return DATA / "small.jsonl"
