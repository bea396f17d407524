"""The seed articles of the project (``shared/seeds`` beside the repository, when present):
every file imports into a fresh instance as one practice per section.

The sections are counted here by a rule of their own, simpler than the importer's: a heading is
a non-blank line of at most 80 characters that does not end with punctuation and whose next
non-blank line is longer than 80 characters or ends a sentence; text before the first heading
is one more section. The test is skipped when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kb.base import KnowledgeBase

SEEDS = Path(os.environ.get("SINERGI_SEEDS_DIR") or Path(__file__).resolve().parents[2] / "shared" / "seeds")
SUFFIXES = (".txt", ".md", ".markdown")


def _seed_files() -> list[Path]:
    if not SEEDS.is_dir():
        return []
    return sorted(p for p in SEEDS.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


pytestmark = pytest.mark.skipif(not _seed_files(), reason=f"no seed articles in {SEEDS.name}/ beside the repository")


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(enc).splitlines()
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return raw.decode("cp1252").splitlines()


def expected_sections(path: Path) -> tuple[list[str], bool]:
    """(heading lines, whether there is text before the first heading), by the simple rule."""
    lines = [line.strip() for line in _lines(path)]
    nonblank = [line for line in lines if line]
    headings, intro, seen_heading = [], False, False
    for k, line in enumerate(nonblank):
        nxt = nonblank[k + 1] if k + 1 < len(nonblank) else None
        is_heading = (len(line) <= 80 and line[-1] not in ".,;:!?" and nxt is not None
                      and (len(nxt) > 80 or nxt[-1] in ".!?"))
        if is_heading:
            headings.append(line.lstrip("#").strip())
            seen_heading = True
        elif not seen_heading:
            intro = True
    return headings, intro


def test_every_seed_article_imports_as_one_practice_per_section(tmp_path):
    kb = KnowledgeBase(tmp_path / "fresh")
    kb.mark_initialized()
    files = _seed_files()
    report = kb.import_files(files)
    expected_total = 0
    for path in files:
        headings, intro = expected_sections(path)
        expected_total += len(headings) + intro
        titles = [r["title"] for r in kb.store.records() if r["id"] in report.created]
        for heading in headings:
            assert heading in titles, (path.name, heading)
    assert len(report.created) == expected_total
    assert kb.store.count() == expected_total and kb.index.doc_count() == expected_total
    practices = kb.search("", filters={"kind": ["practice"]}, limit=1).total
    assert practices == expected_total


def test_each_seed_section_is_found_by_its_topic(tmp_path):
    """Searching a section's heading finds it in the top 3 (duplicate headings: any of them)."""
    kb = KnowledgeBase(tmp_path / "fresh")
    kb.mark_initialized()
    report = kb.import_files(_seed_files())
    by_title: dict[str, set[str]] = {}
    for rec in kb.store.records():
        if rec["id"] in report.created:
            by_title.setdefault(rec["title"], set()).add(rec["id"])
    missed = []
    for title, ids in by_title.items():
        top = {h.id for h in kb.search(title, limit=max(3, len(ids))).results}
        if not ids <= top:
            missed.append(title)
    assert not missed
