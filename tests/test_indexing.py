"""The fast index writer (kb/search/writer.py) writes what Whoosh's own writer writes."""

from __future__ import annotations

import io
import os
import random
import threading

import pytest
from whoosh.filedb.filestore import RamStorage
from whoosh.writing import PostingPool

import kb.search.index as kb_index
import kb.search.writer as kb_indexing
from kb.base import corpus_files
from kb.search import SearchIndex
from kb.search.results import FACETS
from kb.search.writer import CompactPostingPool, prepare_writer
from kb.io import read_file
from kb.schema import validate_record
from scripts.synthetic import generate


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """The bundled corpus (Indonesian and English) and some synthetic records."""
    raws = [r.data for path in corpus_files() for r in read_file(path)] + list(generate(20))
    out = []
    for raw in raws:
        data, errors = validate_record(raw)
        assert not errors, errors
        out.append({**data, "version": 1})
    return out


class _WhooshAdder:
    """prepare_writer's stand-in: Whoosh's own pool and add_document."""

    def __init__(self, writer):
        self.writer = writer

    def analysis_spec(self) -> dict:
        return {}

    def add_analyzed(self, fields, analyzed):
        assert analyzed is None
        self.writer.add_document(**fields)


def _whoosh_writer(writer, limitmb):
    return _WhooshAdder(writer)


def _build(path, records, monkeypatch, prepare) -> SearchIndex:
    monkeypatch.setattr(kb_index, "prepare_writer", prepare)
    si = SearchIndex(path)
    half = len(records) // 2
    si.update(records[:half], new_ids={d["id"] for d in records[:half]})
    si.update(records[half - 20:], new_ids={d["id"] for d in records[half:]})  # replaces 20
    for i in range(0, 40, 10):  # small segments, merged by Whoosh's policy
        si.update(records[i:i + 10])
    si.update([], delete_ids=[records[3]["id"]])
    return si


def _unshared(monkeypatch) -> None:
    """Our pool without interned values: every posting gets its own value bytes object, as in
    Whoosh's pool, so that pickle writes the postings file byte for byte as Whoosh does (shared
    objects are written once, a smaller file that reads back the same)."""
    def val_id(self, weight, vbytes):
        self._vals.append((weight, None if vbytes is None else bytes(memoryview(vbytes))))
        return len(self._vals) - 1

    class Forgetful(dict):
        def __setitem__(self, key, value):
            pass

    monkeypatch.setattr(CompactPostingPool, "_val_id", val_id)
    monkeypatch.setattr(CompactPostingPool, "_cache", lambda self, key: Forgetful())


def _files(si: SearchIndex) -> list:
    """Each segment's document count, deletions and files (by extension), byte for byte."""
    out = []
    for seg in si.ix._read_toc().segments:
        storage = seg.open_compound_file(si.ix.storage)
        files = {}
        for name in storage.list():
            f = storage.open_file(name)
            files[name.replace(seg.segment_id(), "")] = f.read()
            f.close()
        out.append((seg.doc_count_all(), sorted(seg.deleted_docs() or ()), files))
    return out


def _contents(si: SearchIndex) -> dict:
    """What a reader sees: documents, lengths, terms with their statistics and postings."""
    r = si.ix.reader()
    try:
        n = r.doc_count_all()
        out = {"stored": [r.stored_fields(d) for d in range(n)],
               "lengths": {f: [r.doc_field_length(d, f) for d in range(n)] for f in r.schema.scorable_names()},
               "field lengths": {f: r.field_length(f) for f in r.schema.names()}}
        terms = {}
        for fieldname, btext in r.all_terms():
            ti = r.term_info(fieldname, btext)
            m = r.postings(fieldname, btext)
            postings = []
            while m.is_active():
                postings.append((m.id(), m.weight(), m.value()))
                m.next()
            terms[fieldname, btext] = (ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(),
                                       ti.max_weight(), ti.min_id(), ti.max_id(), postings)
        out["terms"] = terms
        return out
    finally:
        r.close()


def test_same_segment_files_as_whooshs_writer(records, tmp_path, monkeypatch):
    expected = _files(_build(tmp_path / "whoosh", records, monkeypatch, _whoosh_writer))
    _unshared(monkeypatch)
    ours = _files(_build(tmp_path / "ours", records, monkeypatch, prepare_writer))
    assert len(expected) > 2 and any(deleted for _, deleted, _ in expected)
    assert [(n, d, sorted(f)) for n, d, f in ours] == [(n, d, sorted(f)) for n, d, f in expected]
    assert ours == expected


@pytest.mark.parametrize("limitmb", [256, 0.05], ids=["in memory", "spilling runs"])
def test_rebuild_gives_the_same_segment_files(records, tmp_path, monkeypatch, limitmb):
    monkeypatch.setattr(kb_index, "prepare_writer", _whoosh_writer)
    a = SearchIndex(tmp_path / "whoosh")
    a.rebuild(records[::2])
    monkeypatch.setattr(kb_index, "prepare_writer", lambda w, m: prepare_writer(w, limitmb))
    monkeypatch.setattr(kb_index, "NEXT_SEGMENT_AT", float("inf"))  # one segment, spilling if it must
    _unshared(monkeypatch)
    b = SearchIndex(tmp_path / "ours")
    b.rebuild(records[::2])
    assert _files(a) == _files(b)


def test_shared_values_read_back_the_same(records, tmp_path, monkeypatch):
    """With interned values (the real writer) the postings file differs, what readers see not."""
    small = records[::4]
    monkeypatch.setattr(kb_index, "prepare_writer", _whoosh_writer)
    a = SearchIndex(tmp_path / "whoosh")
    a.rebuild(small)
    monkeypatch.setattr(kb_index, "prepare_writer", prepare_writer)
    b = SearchIndex(tmp_path / "ours")
    b.rebuild(small)
    assert _contents(a) == _contents(b)


@pytest.mark.parametrize("limitmb", [64, 0.01], ids=["in memory", "spilling runs"])
def test_pool_gives_whooshs_order(limitmb):
    rng = random.Random(5)
    items = []
    for doc in range(1500):
        for _ in range(rng.randint(0, 20)):
            items.append((rng.choice(["a", "b", "title_id"]),
                          rng.choice(["x", "y", "kata", "é", "z" * rng.randint(1, 3)]).encode(),
                          doc if rng.random() > 0.05 else rng.choice([0, doc]),  # a term twice in a doc
                          rng.choice([1.0, 2.0, 0.5]), rng.choice([b"", b"\x00\x00\x00\x01", b"\x07"])))
    whoosh = PostingPool(RamStorage(), None, limitmb=64)
    ours = CompactPostingPool(RamStorage(), None, limitmb=limitmb, text_fields=["title_id"])
    for item in items:
        whoosh.add(item)
        ours.add(item)
    assert list(ours.iter_postings()) == list(whoosh.iter_postings())


def test_failed_update_leaves_the_index_as_it_was(records, tmp_path):
    si = SearchIndex(tmp_path / "ix")
    si.update(records[:5], new_ids={d["id"] for d in records[:5]})
    before = _files(si)
    broken = [*records[5:10], {**records[10], "title": None}]
    with pytest.raises(Exception):
        si.update(broken, new_ids={d["id"] for d in broken})
    assert _files(SearchIndex(tmp_path / "ix")) == before


def test_analysis_in_other_processes_gives_the_same_index(records, tmp_path, monkeypatch):
    """A large write analyzes its text in spawned processes; the segment is the same."""
    serial = SearchIndex(tmp_path / "serial")
    monkeypatch.setattr(kb_index, "analysis_processes", lambda count: 0)
    serial.rebuild(records)
    monkeypatch.setattr(kb_index, "analysis_processes", lambda count: 2)
    monkeypatch.setattr(kb_indexing, "ANALYSIS_BATCH", 7)  # several batches, some in flight
    parallel = SearchIndex(tmp_path / "parallel")
    parallel.rebuild(iter(records))
    assert _files(parallel) == _files(serial)
    hits = parallel.search("pengelolaan sampah")
    assert hits.total and hits.total == serial.search("pengelolaan sampah").total


def test_analysis_processes_only_for_large_writes():
    assert kb_indexing.analysis_processes(10) == 0
    assert kb_indexing.analysis_processes(kb_indexing.PARALLEL_MIN_DOCS) <= 3


def _results(si: SearchIndex, queries) -> list:
    return [[(h.id, round(h.score, 6)) for h in si.search(q, limit=10).results] for q in queries]


def test_a_write_larger_than_the_pool_goes_on_in_further_segments_with_the_same_results(tmp_path, records,
                                                                                      monkeypatch):
    queries = ["sampah regional", "air minum", "\"kerja sama\"", "waste management", "rumah sakit rujukan",
               "pariwisata NOT bali", "transportasi", "perbatasan"]
    whole = SearchIndex(tmp_path / "whole")
    whole.rebuild(records, count=len(records))
    assert len(whole.ix.reader().leaf_readers()) == 1

    monkeypatch.setattr(kb_index, "NEXT_SEGMENT_AT", 0.004)  # a pool "full" every ~1 MB
    split = SearchIndex(tmp_path / "split")
    split.rebuild(records, count=len(records))
    leaves = split.ix.reader().leaf_readers()
    assert len(leaves) >= 3
    assert sum(r.doc_count_all() for r, _ in leaves) == len(records)
    assert not list(kb_index.Path(tmp_path / "split").glob("*.run"))  # nothing spilled to disk
    assert _results(split, queries) == _results(whole, queries)
    assert split.search("sampah").facets == whole.search("sampah").facets

    # An update of many records (replacing and deleting across the segments) stays in step.
    changed = [{**r, "title": r["title"] + " segmen"} for r in records[::7]]
    split.update(changed, delete_ids=[records[1]["id"]])
    whole.update(changed, delete_ids=[records[1]["id"]])
    assert _results(split, queries + ["segmen"]) == _results(whole, queries + ["segmen"])
    assert split.search("segmen", limit=500).total == whole.search("segmen", limit=500).total >= len(changed)
    assert split.ix.doc_count() == whole.ix.doc_count() == len(records) - 1


def test_a_large_write_has_its_full_segments_written_by_forked_processes(tmp_path, records, monkeypatch):
    queries = ["sampah regional", "air minum", "\"kerja sama\"", "waste management", "perbatasan"]
    whole = SearchIndex(tmp_path / "whole")
    whole.rebuild(records, count=len(records))

    forks = []
    start = kb_index._ForkedPart.start
    monkeypatch.setattr(kb_index._ForkedPart, "start", classmethod(lambda cls, part: forks.append(1) or start(part)))
    monkeypatch.setattr(kb_index, "analysis_processes", lambda count: 2)  # a "large" write
    monkeypatch.setattr(kb_indexing, "ANALYSIS_BATCH", 7)
    monkeypatch.setattr(kb_index, "NEXT_SEGMENT_AT", 0.004)
    split = SearchIndex(tmp_path / "split")
    split.parallel_writes = True
    split.rebuild(iter(records), count=len(records))
    assert len(forks) >= 2
    leaves = split.ix.reader().leaf_readers()
    assert len(leaves) == len(forks) + 1 and sum(r.doc_count_all() for r, _ in leaves) == len(records)
    assert _results(split, queries) == _results(whole, queries)
    assert split.search("sampah").facets == whole.search("sampah").facets
    assert {p.suffix for p in (tmp_path / "split").iterdir()} <= {".seg", ".toc", ""} | {
        p.suffix for p in (tmp_path / "whole").iterdir()}  # no half-written files left


def test_a_failed_forked_segment_write_fails_the_whole_write(tmp_path, records, monkeypatch):
    si = SearchIndex(tmp_path / "ix")
    si.update(records[:5], new_ids={d["id"] for d in records[:5]})
    si.parallel_writes = True
    before = _files(si)
    monkeypatch.setattr(kb_index, "analysis_processes", lambda count: 2)
    monkeypatch.setattr(kb_index, "NEXT_SEGMENT_AT", 0.004)

    def broken(self):
        raise OSError("disk full (simulated in the child)")

    monkeypatch.setattr(kb_index.SegmentWriter, "_finalize_segment", broken)
    with pytest.raises(OSError, match="writing a segment of the search index in process"):
        si.update(records[5:], new_ids={d["id"] for d in records[5:]}, count=len(records) - 5)
    assert _files(SearchIndex(tmp_path / "ix")) == before
    assert si.search("sampah").total == SearchIndex(tmp_path / "ix").search("sampah").total


def test_a_forked_segment_write_does_not_wait_on_another_threads_blocked_file(tmp_path, records, monkeypatch):
    # Another thread of the process is blocked writing to a full pipe (as the feeds of the
    # analysis processes are, while this thread is busy): the fork must not wait for its file.
    monkeypatch.setattr(kb_index, "analysis_processes", lambda count: 2)
    monkeypatch.setattr(kb_index, "NEXT_SEGMENT_AT", 0.004)
    r, w = os.pipe()
    blocked = io.BufferedWriter(io.FileIO(w, "wb"), buffer_size=1 << 16)
    feeder = threading.Thread(target=lambda: (blocked.write(b"x" * (1 << 22)), blocked.flush()), daemon=True)
    feeder.start()
    si = SearchIndex(tmp_path / "ix")
    si.parallel_writes = True
    writing = threading.Thread(target=si.rebuild, args=(records,), kwargs={"count": len(records)}, daemon=True)
    writing.start()
    writing.join(60)
    hung = writing.is_alive()
    with io.FileIO(r, "rb") as reader:  # let the feeder finish either way
        left = 1 << 22
        while left:
            left -= len(reader.read(left))
    feeder.join(10)
    writing.join(120)
    blocked.close()
    assert not hung
    assert si.search("sampah").total > 0


def test_facet_counts_are_the_same_however_they_are_counted(tmp_path, records, monkeypatch):
    """Facet values are counted from per-document slots packed several to an array, over the
    matched documents or over the others (subtracted from the totals), with the documents that
    have more values than the slots counted from the matrix: every way gives the same counts,
    and with no query they are the records' own."""
    import kb.search.ranking as ranking

    si = SearchIndex(tmp_path / "ix")
    si.rebuild(records[:-10], count=len(records) - 10)
    si.update(records[-10:], delete_ids=[records[0]["id"]], new_ids={d["id"] for d in records[-10:]})
    queries = ["sampah", "air minum", "perbatasan laut", "kerja sama", "wisata", "tidakadakatasemacamini", ""]
    counted = {}
    ways = {"plain": (2.0, 1000, 0), "others": (0.0, 1000, 0), "overflow": (2.0, 1, 0),
            "packed": (0.5, 4, 4096), "packed, overflow, others": (0.0, 1, 10**6)}
    for way, (dense, slots, cells) in ways.items():
        monkeypatch.setattr(ranking, "DENSE_SHARE", dense)
        monkeypatch.setattr(ranking, "MAX_SLOTS", slots)
        monkeypatch.setattr(ranking, "PACKED_CELLS", cells)
        fresh = SearchIndex(tmp_path / "ix")
        counted[way] = [fresh.search(q, facets=FACETS).facets for q in queries]
    for way in ways:
        assert counted[way] == counted["plain"], way
    live = [r for r in records[1:]]
    sectors: dict[str, int] = {}
    for r in live:
        for value in set(r.get("sectors", [])):
            sectors[value] = sectors.get(value, 0) + 1
    assert {f["value"]: f["count"] for f in counted["plain"][-1]["sector"]} == sectors
    assert max(len(r.get("sectors", [])) for r in live) > 1  # the overflow way was used


def test_facets_extended_save_by_save_equal_those_merged_afresh(tmp_path, records):
    si = SearchIndex(tmp_path / "ix")
    si.rebuild(records[:-6], count=len(records) - 6)
    si.search("sampah")  # the first view merges every segment's facets
    for i, rec in enumerate(records[-6:]):  # each save a segment of its own after the others
        deleted = [records[i]["id"]] if i % 2 else []
        si.update([rec], delete_ids=deleted, new_ids={rec["id"]})
        fresh = SearchIndex(tmp_path / "ix")  # its own cache: merged from every segment
        for q, filters in (("", None), ("sampah", None), ("air", {"sector": [rec["sectors"][0]]} if rec.get("sectors") else None)):
            mine, theirs = si.search(q, filters=filters), fresh.search(q, filters=filters)
            assert mine.facets == theirs.facets and [h.id for h in mine.results] == [h.id for h in theirs.results]
    assert len(si.ix.reader().leaf_readers()) > 1


def test_a_forked_child_does_not_hold_the_analysis_processes_input_open(tmp_path):
    # A child forked to write a segment must close its copies of the analysis processes'
    # pipes: while it holds one, that process never sees the end of its input, and the
    # writing process waits for the child before it can write its last segment.
    import time

    helpers = kb_indexing.AnalysisProcesses({"title_id": ("positions", "id")}, 2)
    helpers.send(0, [{"title_id": "Pengelolaan sampah regional"}])
    assert helpers.receive(0)[0]["title_id"][1] > 0
    pid = os.fork()
    if pid == 0:
        kb_indexing.close_helper_pipes()
        time.sleep(8)
        os._exit(0)
    try:
        t = time.monotonic()
        helpers.close()
        closed_after = time.monotonic() - t
        assert [p.returncode for p in helpers.procs] == [0, 0]
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert closed_after < 4, f"the analysis processes ended only {closed_after:.1f} s later, with the child"
