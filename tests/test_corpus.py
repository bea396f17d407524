"""The bundled corpus: valid, varied, sourced, and consistent with the development sets."""

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kb.base import bundled_corpus_dir, corpus_files
from kb.gazetteer import gazetteer
from kb.io import read_file
from kb.schema import validate_record

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def records():
    out = []
    for f in corpus_files(CORPUS):
        for raw in read_file(f):
            data, errs = validate_record(raw.data)
            assert not errs, f"{raw.source}:{raw.line}: {errs}"
            out.append(data)
    return out


def test_ids_are_unique_and_given(records):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))


def test_enough_cases_and_practices(records):
    kinds = Counter(r["kind"] for r in records)
    assert kinds["case"] >= 80 and kinds["practice"] >= 30


def test_cases_cover_islands_and_sectors(records):
    g = gazetteer()
    islands = Counter(g.get(c).island for r in records if r["kind"] == "case" for c in r.get("regions", []))
    assert len(islands) == 6, islands
    sectors = Counter(s for r in records if r["kind"] == "case" for s in r.get("sectors", []))
    assert len(sectors) >= 12, sectors


def test_every_case_has_sources_lessons_and_a_real_body(records):
    for r in records:
        assert r.get("sources"), r["id"]
        if r["kind"] == "case":
            words = len(r["body"].split())
            assert 150 <= words <= 400, (r["id"], words)
            assert 2 <= len(r.get("lessons", [])) <= 4, r["id"]
            assert 1 <= len(r.get("challenges", [])) <= 3, r["id"]
            assert r.get("regions"), r["id"]


def test_some_cases_stopped_and_some_are_in_english(records):
    cases = [r for r in records if r["kind"] == "case"]
    assert sum(r.get("status") == "terhenti" for r in cases) >= 3
    assert sum(r["language"] == "en" for r in cases) >= 3


def test_practices_point_to_existing_cases(records):
    ids = {r["id"] for r in records}
    for r in records:
        for rid in r.get("related_cases", []):
            assert rid in ids, (r["id"], rid)


def test_no_synthetic_record_in_the_real_corpus(records):
    assert not [r["id"] for r in records if r["id"].startswith("sintetis-") or "[SINTETIS]" in r["title"]]


def _lines(name):
    return [json.loads(x) for x in (CORPUS / "dev" / name).read_text(encoding="utf-8").splitlines() if x.strip()]


def test_search_judgments_name_existing_records(records):
    ids = {r["id"] for r in records}
    judgments = _lines("search.jsonl")
    assert len(judgments) >= 150
    for j in judgments:
        assert j["query"] and j["relevant"]
        assert set(j["relevant"]) <= ids, j["query"]
        assert set(j["relevant"].values()) <= {1, 2}


def test_proposals_name_existing_records_and_regions(records):
    ids = {r["id"] for r in records}
    g = gazetteer()
    proposals = _lines("proposals.jsonl")
    assert len(proposals) >= 50
    for p in proposals:
        assert set(p["relevant"]) <= ids, p["id"]
        assert g.get(p["region"]) is not None
        assert p["peers"] and all(g.get(c) for c in p["peers"])
        assert p["region"] not in p["peers"]


# --- Every source can be followed: a page or document, or a citation precise enough to find ---

_FRONT_PAGE_PATH = re.compile(r"^/?((index|default|home|beranda|main)(\.[a-z]+)?/?)?$", re.IGNORECASE)


def source_problems(source: dict) -> list[str]:
    """What keeps a reader from following a source.

    A url must name a page or document, not a site's front page (no path, "/" or an index
    page), and a source read on the web names its publisher and when it was read. A source
    without a url must carry something specific that lets it be found: a publisher, a date,
    or a number in its title (a regulation number, a year, a day)."""
    problems = []
    url = source.get("url")
    if url:
        parts = urlsplit(url)
        if not parts.netloc:
            problems.append(f"url {url!r} names no site")
        elif _FRONT_PAGE_PATH.match(parts.path) and not parts.query:
            problems.append(f"url {url!r} is a site's front page, not the page where the fact was read")
        if not source.get("publisher"):
            problems.append("a source with a url names its publisher")
        if not source.get("accessed"):
            problems.append("a source with a url says when it was read (accessed)")
    else:
        if source.get("accessed"):
            problems.append("accessed is given but there is no url")
        specific = source.get("publisher") or source.get("date") or re.search(r"\d", source["title"])
        if not specific:
            problems.append(f"title {source['title']!r} is generic: no url, publisher, date or number")
    return problems


@pytest.mark.parametrize("source, expected", [
    ({"title": "Berita daerah", "url": "https://peraturan.bpk.go.id/", "publisher": "JDIH BPK",
      "accessed": "2026-01-05"}, "front page"),
    ({"title": "Berita daerah", "url": "https://www.setkab.go.id", "publisher": "Setkab",
      "accessed": "2026-01-05"}, "front page"),
    ({"title": "Berita daerah", "url": "https://jabarprov.go.id/index.php", "publisher": "Pemprov",
      "accessed": "2026-01-05"}, "front page"),
    ({"title": "Pemberitaan media"}, "generic"),
    ({"title": "media Batam"}, "generic"),
    ({"title": "Peresmian SPAM", "url": "https://example.org/berita/spam-regional"}, "publisher"),
    ({"title": "Peresmian SPAM", "url": "https://example.org/berita/spam-regional", "publisher": "X"},
     "accessed"),
    ({"title": "Pemberitaan media", "accessed": "2026-01-05"}, "no url"),
])
def test_source_check_rejects_unfollowable_sources(source, expected):
    assert any(expected in p for p in source_problems(source)), source_problems(source)


@pytest.mark.parametrize("source", [
    {"title": "Peraturan Presiden Nomor 78 Tahun 2017 tentang Rencana Tata Ruang Kawasan Perkotaan"},
    {"title": "Profil Balai IPAL Sewon", "publisher": "Pemerintah Daerah DIY"},
    {"title": "Komisi D harapkan Sekber Kartamantul jadi contoh di Jateng",
     "url": "https://dprd.example.go.id/komisi-d-harapkan-sekber/", "publisher": "DPRD", "date": "2023-12",
     "accessed": "2026-01-05"},
    {"title": "Laporan", "url": "https://example.org/?p=123", "publisher": "X", "accessed": "2026-01-05"},
])
def test_source_check_accepts_followable_sources(source):
    assert source_problems(source) == []


@pytest.mark.parametrize("path", corpus_files(CORPUS), ids=lambda p: p.name)
def test_every_source_is_followable(path):
    problems = []
    for raw in read_file(path):
        for n, source in enumerate(raw.data.get("sources") or [], 1):
            problems += [f"{raw.data.get('id')} source {n}: {p}" for p in source_problems(source)]
    assert not problems, "\n".join(problems)


def test_corpus_files_come_from_the_corpus_package(monkeypatch, tmp_path):
    monkeypatch.delenv("SINERGI_CORPUS", raising=False)
    package = Path(str(files("corpus")))
    found = corpus_files()
    assert {f.parent.name for f in found} >= {"cases", "practices"}
    assert all(package in f.parents for f in found)
    monkeypatch.setenv("SINERGI_CORPUS", str(tmp_path))  # the override still wins
    assert bundled_corpus_dir() == tmp_path and corpus_files() == []


def test_the_corpus_is_found_wherever_its_package_is_installed(tmp_path):
    """An installed ``corpus`` package is not beside the repository's ``kb/`` (in a wheel both
    sit in site-packages): ``corpus_files()`` follows the import system, not ``kb``'s path."""
    site = tmp_path / "site"
    (site / "corpus" / "cases").mkdir(parents=True)
    shutil.copy(CORPUS / "__init__.py", site / "corpus")
    (site / "corpus" / "cases" / "one.jsonl").write_text('{"title": "t", "summary": "s"}\n')
    env = {k: v for k, v in os.environ.items() if k != "SINERGI_CORPUS"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(CORPUS.parent)])
    code = "from kb.base import corpus_files; print(*corpus_files(), sep='\\n')"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert [Path(p).resolve() for p in out.split()] == [(site / "corpus" / "cases" / "one.jsonl").resolve()]
