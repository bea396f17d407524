"""The array evaluation scores a term as Whoosh's own BM25F does, also after deletions."""

from __future__ import annotations

import pytest
from whoosh import query, scoring

from kb.search import SearchIndex


def _record(rid: str, title: str, summary: str, body: str) -> dict:
    return {"id": rid, "kind": "case", "language": "id", "title": title, "summary": summary, "body": body,
            "regions": ["33.74"], "sectors": ["persampahan"], "version": 1}


RECORDS = [
    _record("a", "TPA regional bersama", "Sampah dua kota dibuang ke satu TPA.", "sampah " * 3 + "lahan"),
    _record("b", "Air minum lintas kabupaten", "Pipa air minum dari mata air bersama.", "air " * 40),
    _record("c", "Sampah pasar", "Sampah pasar diolah menjadi kompos.",
            "sampah pasar kompos petani " * 20),
    _record("d", "Bus antarkota", "Trayek bus menghubungkan tiga kota.", "bus kota halte"),
    _record("e", "Sampah laut", "Nelayan mengumpulkan sampah laut.", "sampah laut nelayan " * 6),
    _record("f", "Pariwisata bersama", "Paket wisata tiga kabupaten.", "wisata paket " * 12),
]


@pytest.fixture
def index(tmp_path) -> SearchIndex:
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(RECORDS, count=len(RECORDS))
    return ix


def _whoosh_scores(ix: SearchIndex, field: str, text: str) -> dict[str, float]:
    with ix.ix.searcher(weighting=scoring.BM25F()) as s:
        return {hit["id"]: hit.score for hit in s.search(query.Term(field, text), limit=None)}


def _our_scores(ix: SearchIndex, field: str, text: str) -> dict[str, float]:
    snap = ix.snapshot()
    ids, scores = snap.term(field, text)
    return {snap.stored(int(d))["id"]: float(sc) for d, sc in zip(ids, scores)}


def _terms(ix: SearchIndex) -> list[tuple[str, str]]:
    with ix.ix.searcher() as s:
        return [(field, text.decode() if isinstance(text, bytes) else text)
                for field, text in s.reader().all_terms() if field in ("body_id", "summary_id", "title_id")]


def _assert_equal_scores(ix: SearchIndex) -> int:
    checked = 0
    for field, text in _terms(ix):
        ours, theirs = _our_scores(ix, field, text), _whoosh_scores(ix, field, text)
        assert ours.keys() == theirs.keys(), (field, text)
        for rid, score in theirs.items():
            assert ours[rid] == pytest.approx(score, rel=1e-4), (field, text, rid)
        checked += 1
    return checked


def test_term_scores_equal_whooshs_bm25f(index):
    assert _assert_equal_scores(index) > 20


def test_term_scores_equal_whooshs_bm25f_after_deletions(index):
    # Deleting long documents changes the live count but not Whoosh's field totals or its
    # document count (``doc_count_all``): an average over the live documents would drift.
    index.update([], delete_ids=["b", "c"])
    assert index.doc_count() == 4 and index.ix.doc_count_all() == 6
    assert _assert_equal_scores(index) > 20
    assert "c" not in _our_scores(index, "title_id", "sampah")


def test_scores_do_not_depend_on_how_the_index_is_split_into_segments(index):
    # Whoosh's own multi-segment searcher divides a field's total length by one segment's
    # document count; the arrays use the whole index's, so a save that adds a segment scores
    # as the same documents in one segment do (compared after merging them into one; a merge
    # re-adds the field totals from the one-byte stored lengths, hence the tolerance).
    index.update([_record("g", "Sampah regional baru", "Sampah dari empat kota.", "sampah " * 9)])
    assert len(index.snapshot().parts) == 2
    terms = _terms(index)
    before = {(f, t): _our_scores(index, f, t) for f, t in terms}
    index.ix.optimize()
    for (field, text), ours in before.items():
        theirs = _whoosh_scores(index, field, text)
        assert ours.keys() == theirs.keys()
        for rid, score in theirs.items():
            assert ours[rid] == pytest.approx(score, rel=1e-2), (field, text, rid)


# -- decoded postings mapped from a file (kb.search.decoded) ------------------------------------

MANY = [_record(f"m{i}", f"Sampah kota {i}", f"Sampah dan air kota nomor {i}.",
                "sampah " * (1 + i % 5) + "air " * (i % 3) + ("wisata " if i % 7 == 0 else ""))
        for i in range(80)]


@pytest.fixture
def decoded_index(tmp_path, monkeypatch) -> SearchIndex:
    from kb.search import decoded

    # the thresholds of a large segment and a frequent term, scaled to a test index
    monkeypatch.setattr(decoded, "MIN_SEGMENT_DOCS", 50)
    monkeypatch.setattr(decoded, "MIN_DF", 3)
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(RECORDS + MANY, count=len(RECORDS + MANY))
    return ix


def _decoded_files(ix: SearchIndex) -> list:
    return sorted(p.name for p in ix.path.glob("*.decoded"))


def _results(ix: SearchIndex, text: str) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 4)) for h in ix.search(text, limit=20).results]


def test_warming_writes_a_large_segments_postings_once_and_searches_read_them(decoded_index, tmp_path):
    plain = SearchIndex(decoded_index.path)  # a process that has not warmed: decodes from the segment
    queries = ["sampah", "air minum", "wisata kota", "sampah laut nelayan", "kompos"]
    before = {q: _results(plain, q) for q in queries}
    assert not _decoded_files(decoded_index)

    assert decoded_index.warm() > 0
    files = _decoded_files(decoded_index)
    assert len(files) == 1 and files[0].startswith(decoded_index.snapshot().parts[0][2].sid)
    data = decoded_index.snapshot().parts[0][2]
    assert data.decoded is not None and data.decoded.get("body_id", b"sampah") is not None
    assert not any(k[0] == data.sid for k in decoded_index._postings.postings)  # no private copies
    assert {q: _results(decoded_index, q) for q in queries} == before
    assert _assert_equal_scores(decoded_index) > 20

    # another worker maps the written file at its first search, without writing it again
    stamp = (decoded_index.path / files[0]).stat().st_mtime_ns
    other = SearchIndex(decoded_index.path)
    assert other.snapshot().parts[0][2].decoded is not None
    assert {q: _results(other, q) for q in queries} == before
    other.warm()
    assert (decoded_index.path / files[0]).stat().st_mtime_ns == stamp


def test_mapped_postings_follow_deletions_and_go_with_their_segment(decoded_index):
    decoded_index.warm()
    decoded_index.update([], delete_ids=["m0", "m5", "a"])
    assert _assert_equal_scores(decoded_index) > 20
    assert not {"m0", "m5", "a"} & {h.id for h in decoded_index.search("sampah", limit=100).results}
    old = _decoded_files(decoded_index)
    decoded_index.ix.optimize()  # the segments merged into a new one: the old file is removed
    decoded_index.update([_record("z", "Sampah baru", "Sampah.", "sampah")])
    assert not set(old) & set(_decoded_files(decoded_index))
    assert "z" in {h.id for h in decoded_index.search("sampah", limit=100).results}


def test_a_damaged_decoded_file_is_written_again(decoded_index):
    plain = _results(SearchIndex(decoded_index.path), "sampah air")
    decoded_index.warm()
    path = decoded_index.path / _decoded_files(decoded_index)[0]
    path.write_bytes(path.read_bytes()[:100])  # cut short, as a full disk would leave it
    fresh = SearchIndex(decoded_index.path)
    assert fresh.snapshot().parts[0][2].decoded is None  # not mapped: decoded from the segment
    assert _results(fresh, "sampah air") == plain
    fresh.warm()
    assert fresh.snapshot().parts[0][2].decoded is not None and _results(fresh, "sampah air") == plain


def test_a_segment_whose_first_documents_were_replaced_is_decoded_whole(tmp_path, monkeypatch):
    """Records edited after a large import are deleted from the import's segment: when they are
    its first documents, a term's whole first block of postings (128) belongs to deleted
    documents. The decoded file must still hold every posting its term table counts, or warming
    fails and the process serves from the slower per-term decoding."""
    from kb.search import decoded

    monkeypatch.setattr(decoded, "MIN_SEGMENT_DOCS", 50)
    monkeypatch.setattr(decoded, "MIN_DF", 3)
    many = [_record(f"r{i}", f"Sampah kota {i}", "Sampah dan air.", "sampah " * (1 + i % 4) + "air")
            for i in range(400)]
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(many, count=len(many))
    edited = [dict(r, summary=r["summary"] + " Diperbarui.") for r in many[:300]]
    ix.update(edited, delete_ids=[r["id"] for r in edited])  # an edit: the old document deleted
    large = ix.snapshot().parts[0][2]
    assert large.decoded is None and not _decoded_files(ix)
    assert ix.warm() > 0
    data = ix.snapshot().parts[0][2]
    assert data.decoded is not None
    ids, _ = data.decoded.get("body_id", b"sampah")
    assert ids.size == 400  # deleted ones included: the live-document mask leaves them out
    assert ix.search("sampah").total == 400
    assert _assert_equal_scores(ix) > 5


# -- a term's postings over the leading large segments, kept across views -----------------------

def test_a_save_reuses_the_large_segments_postings_and_deletions_are_honoured(tmp_path, monkeypatch):
    """A save adds a small segment after the large ones: the next view takes the terms'
    postings over the large segments from the process's cache and reads only the new one. What
    a user sees is the same as from a process that read everything afresh, through saves
    (new documents found) and deletions in the large segment (deleted ones gone)."""
    from kb.search import ranking

    monkeypatch.setattr(ranking, "LEADING_MIN_DOCS", 50)  # the 86 documents make a large segment
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(RECORDS + MANY, count=len(RECORDS + MANY))
    queries = ["sampah", "air minum", "wisata kota", "sampah laut nelayan", "kompos pasar"]

    def fresh() -> dict:  # another process: no cache of its own yet
        return {q: _results(SearchIndex(ix.path), q) for q in queries}

    first = {q: _results(ix, q) for q in queries}
    assert first == fresh()
    cache = ix._postings
    leading = cache._leading_parts
    assert leading and len(leading) == 1 and ("body_id", b"sampah") in cache._leading

    ix.update([_record("g", "Sampah regional baru", "Sampah dari empat kota.", "sampah " * 9)])
    assert len(ix.snapshot().parts) == 2
    after_save = {q: _results(ix, q) for q in queries}
    assert cache._leading_parts == leading  # the large segment's postings were reused
    assert "g" in {rid for rid, _ in after_save["sampah"]}
    assert after_save == fresh()
    assert _assert_equal_scores(ix) > 20

    ix.update([], delete_ids=["m3", "a"])  # deletions in the large segment: dropped by the view
    after_delete = {q: _results(ix, q) for q in queries}
    assert cache._leading_parts == leading
    assert not {"m3", "a"} & {rid for rid, _ in after_delete["sampah"]}
    assert after_delete == fresh()
    assert _assert_equal_scores(ix) > 20


def test_spelling_suggestions_know_the_large_and_the_saved_segments_words(tmp_path, monkeypatch):
    """A misspelt word is corrected to a word of the large segment or of a save after it; the
    large segments' words are merged once and kept while they lead the views."""
    from kb.search import ranking

    monkeypatch.setattr(ranking, "LEADING_MIN_DOCS", 50)
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(RECORDS + MANY, count=len(RECORDS + MANY))
    assert ix.search("nelayam").corrected_query == "nelayan"  # a word of the large segment
    held = ix._postings._vocab
    assert held is not None and held[0] == (ix.snapshot().parts[0][2].sid,)
    assert ix.snapshot().parts[0][2]._words is None  # kept merged only, not twice

    ix.update([_record("g", "Sidat muara", "Budidaya sidat di muara.", "sidat muara kolam")])
    assert ix.search("budidaja").corrected_query == "budidaya"  # a word of the saved segment
    assert ix._postings._vocab is held  # the large segment's words were not merged again
    assert ix.search("nelayam").corrected_query == "nelayan"
    assert ix.search("sampah").suggestion is None


def test_saves_merge_small_segments_and_never_rewrite_a_large_one(tmp_path, monkeypatch):
    """Each save writes a small segment; once enough small ones are of one size, a save merges
    them, never a large one (rewriting the whole index held the write lock for minutes at
    100,000 records), and every saved record stays findable."""
    from kb.search import index as index_module

    monkeypatch.setattr(index_module, "MERGE_FACTOR", 3)
    monkeypatch.setattr(index_module, "MERGE_MAX_DOCS", 10)
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(RECORDS + MANY, count=len(RECORDS + MANY))
    large = ix.snapshot().parts[0][2].sid
    for i in range(40):
        ix.update([_record(f"s{i}", f"Simpan nomor {i}", "Catatan simpan.", "simpan")])
        sizes = [data.ndocs for _, _, data in ix.snapshot().parts]
        assert ix.snapshot().parts[0][2].sid == large and sizes[0] == len(RECORDS + MANY)
        assert sum(1 for n in sizes[1:] if n < 10) <= 3  # merged once three are small
        assert all(n <= 27 for n in sizes[1:])           # at most three of under ten documents
    assert sum(sizes[1:]) == 40 and len(sizes) <= 8
    assert ix.search("simpan", limit=100).total == 40


def test_facets_count_and_filter_over_the_large_and_the_saved_segments(tmp_path, monkeypatch):
    """Facet values are counted over the large segment's block (kept across views) and the
    saved segments after it: a value only a save has, a value in both, deleted documents left
    out, few matches and many (counted through the documents not matched); a filter finds a value's
    documents in both; a fresh process counts the same."""
    from kb.search import ranking

    monkeypatch.setattr(ranking, "LEADING_MIN_DOCS", 50)
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(RECORDS + MANY, count=len(RECORDS + MANY))
    assert {f["value"]: f["count"] for f in ix.search("", limit=1).facets["sector"]} == {"persampahan": 86}
    block = ix._postings._facets[1]

    water = dict(_record("g", "Pipa bersama", "Pipa air minum baru.", "pipa air"), sectors=["air-minum"],
                 regions=["32.73"])
    waste = dict(_record("h", "Sampah bersama", "Sampah kota baru.", "sampah"), regions=["32.73"])
    ix.update([water])
    ix.update([waste])
    ix.update([], delete_ids=["m3", "a"])  # deletions in the large segment
    assert len(ix.snapshot().parts) == 3

    def counts(res, facet="sector"):
        return {f["value"]: f["count"] for f in res.facets[facet]}

    every = ix.search("", limit=1)
    assert every.total == 86
    assert counts(every) == {"persampahan": 85, "air-minum": 1}
    assert counts(every, "province") == {"33": 84, "32": 2}
    assert ix._postings._facets[1] is block  # the large segment's block was not made again

    few = ix.search("pipa", limit=10)  # 2 of 86 documents
    assert {h.id for h in few.results} == {"b", "g"}
    assert counts(few) == {"persampahan": 1, "air-minum": 1}
    assert counts(few, "province") == {"33": 1, "32": 1}

    saved_province = ix.search("", filters={"province": ["32"]}, limit=100)
    assert {h.id for h in saved_province.results} == {"g", "h"}
    both = ix.search("", filters={"sector": ["persampahan"]}, limit=100)
    assert both.total == 85 and "h" in {h.id for h in both.results} and "a" not in {h.id for h in both.results}

    fresh = SearchIndex(ix.path)  # another process: no blocks of its own yet
    assert fresh.search("", limit=1).facets == every.facets
    assert fresh.search("pipa", limit=10).facets == few.facets


def test_a_common_word_kept_over_every_document_ranks_as_its_documents_would(tmp_path, monkeypatch):
    """A query word found in many documents is kept as a mask and scores over all documents;
    queries mixing common and rare words rank and score as with every word kept as its
    documents, through repeated use of the kept words."""
    from kb.search import ranking

    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(RECORDS + MANY, count=len(RECORDS + MANY))
    queries = ["sampah", "sampah air", "air minum", "wisata kota sampah", "sampah laut nelayan", "kompos pasar"]

    def ranked(reader):
        out = {}
        for q in queries * 2:  # the second time from the kept words
            res = reader.search(q, limit=100)
            out[q] = ([h.id for h in res.results], [round(h.score, 4) for h in res.results], res.total)
        return out

    monkeypatch.setattr(ranking, "COMMON_WORD", 10**9)  # every word kept as its documents
    as_documents = ranked(SearchIndex(ix.path))
    monkeypatch.setattr(ranking, "COMMON_WORD", 8)
    reader = SearchIndex(ix.path)
    as_vectors = ranked(reader)
    kept = [v for v in reader.snapshot()._word_cache.values() if v[0].dtype == bool]
    assert kept, "no word was common enough to be kept over every document"
    assert as_vectors == as_documents
    assert as_vectors["sampah air"][2] > as_vectors["air minum"][2] > 0
