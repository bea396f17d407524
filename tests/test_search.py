"""Search behaviour a planner notices, on the bundled corpus."""

import pytest

from kb.vocab import CONCEPTS


def ids(res):
    return [h.id for h in res.results]


def test_pengelolaan_sampah_finds_the_waste_cases_first(corpus_kb):
    res = corpus_kb.search("pengelolaan sampah", limit=5)
    assert res.total >= 5
    for h in res.results:
        assert "persampahan" in h.sectors, h.id


def test_kerjasama_and_kerja_sama_give_the_same_results(corpus_kb):
    a = corpus_kb.search("kerjasama pengelolaan air minum", limit=20)
    b = corpus_kb.search("kerja sama pengelolaan air minum", limit=20)
    assert ids(a) == ids(b) and a.total == b.total


def test_affixed_forms_meet(corpus_kb):
    a = corpus_kb.search("persampahan", limit=10)
    b = corpus_kb.search("sampah", limit=10)
    assert set(ids(a)) == set(ids(b))


def test_typo_gets_a_suggestion_and_a_retry(corpus_kb):
    res = corpus_kb.search("persampahn")
    assert res.suggestion == "persampahan"
    assert res.corrected_query == "persampahan" and res.total > 0


def test_english_query_finds_english_records(corpus_kb):
    english = corpus_kb.search("", filters={"kind": ["case"]}, limit=100)
    en_ids = {h.id for h in english.results if h.language == "en"}
    assert en_ids, "the corpus should hold English cases"
    res = corpus_kb.search("cooperation between cities", limit=10)
    assert en_ids & set(ids(res))


def test_acronym_query_finds_spelled_out_records(corpus_kb):
    tpa = corpus_kb.search("TPA regional", limit=10)
    assert all("persampahan" in h.sectors for h in tpa.results[:5])


def test_facets_have_counts_and_filters_combine(corpus_kb):
    res = corpus_kb.search("", limit=5)
    sectors = {f["value"]: f["count"] for f in res.facets["sector"]}
    assert sectors["persampahan"] >= 3
    filtered = corpus_kb.search("", filters={"sector": ["persampahan"]}, limit=100)
    assert filtered.total == sectors["persampahan"]
    assert all("persampahan" in h.sectors for h in filtered.results)
    islands = {f["value"] for f in res.facets["island"]}
    assert {"jawa", "sulawesi"} <= islands
    both = corpus_kb.search("", filters={"sector": ["persampahan"], "island": ["jawa"]}, limit=100)
    assert 0 < both.total < filtered.total


def test_province_filter_accepts_names(corpus_kb):
    a = corpus_kb.search("", filters={"province": ["Jawa Barat"]}, limit=100)
    b = corpus_kb.search("", filters={"province": ["32"]}, limit=100)
    assert a.total == b.total > 0
    assert all(any(r["code"].startswith("32") for r in h.regions) for h in a.results)


def test_year_range_and_sort_by_year(corpus_kb):
    res = corpus_kb.search("", year_from=2015, sort="year", limit=50)
    years = [h.start_year for h in res.results]
    assert years and all(y >= 2015 for y in years)
    assert years == sorted(years, reverse=True)


def test_paging(corpus_kb):
    p1 = corpus_kb.search("kerja sama", limit=5, page=1)
    p2 = corpus_kb.search("kerja sama", limit=5, page=2)
    assert p1.total == p2.total > 10
    assert not set(ids(p1)) & set(ids(p2))


def test_highlight_marks_the_matched_words(corpus_kb):
    h = corpus_kb.search("sampah", limit=1).results[0]
    assert '<b class="match' in h.highlight


@pytest.mark.parametrize("q", ['"sampah', "sampah AND", "(((", "title:", "NOT", "sector:", "a:b:c", "*", "[2010 TO",
                               "'", "AND OR NOT", "sampah)"])
def test_malformed_queries_never_fail(corpus_kb, q):
    corpus_kb.search(q)


def test_boolean_phrase_and_field_syntax(corpus_kb):
    phrase = corpus_kb.search('"tempat pemrosesan akhir"', limit=50)
    loose = corpus_kb.search("tempat pemrosesan akhir", limit=50)
    assert 0 < phrase.total <= loose.total
    both = corpus_kb.search("sampah AND transportasi", limit=100)
    either = corpus_kb.search("sampah OR transportasi", limit=100)
    assert both.total < either.total
    without = corpus_kb.search("sampah NOT Bandung", limit=100)
    assert without.total < corpus_kb.search("sampah", limit=100).total
    titled = corpus_kb.search("judul:sampah", limit=100)
    waste_words = CONCEPTS["_sampah"]  # a field query expands the word to its concept group
    assert titled.total > 0 and all(any(w in h.title.lower() for w in waste_words) for h in titled.results)
    by_sector = corpus_kb.search("bidang:persampahan", limit=100)
    assert by_sector.total > 0 and all("persampahan" in h.sectors for h in by_sector.results)


def test_very_long_query_is_cut_not_refused(corpus_kb):
    res = corpus_kb.search("sampah " * 2000)
    assert res.notices and res.total > 0


def test_store_change_updates_index_at_once(writable_corpus_kb):
    kb = writable_corpus_kb
    kb.create({"id": "uji-baru", "title": "Kerja sama pengolahan lumpur tinja zebrafinch",
               "summary": "Tiga kabupaten berbagi IPLT untuk lumpur tinja."}, author="uji")
    assert ids(kb.search("zebrafinch")) == ["uji-baru"]
    rec = kb.get("uji-baru")
    kb.update("uji-baru", {**{k: rec[k] for k in ("title", "summary")}, "title": "Kerja sama IPLT bersama kingfisher"},
              expected_version=rec["version"], author="uji")
    assert ids(kb.search("zebrafinch")) == [] and ids(kb.search("kingfisher")) == ["uji-baru"]
    assert kb.search("IPLT kingfisher").results[0].title == "Kerja sama IPLT bersama kingfisher"
    kb.set_state("uji-baru", "deleted", author="uji")
    assert ids(kb.search("kingfisher")) == []
    assert kb.check()["ok"]


def test_check_reports_a_difference(writable_corpus_kb):
    kb = writable_corpus_kb
    victim = kb.search("sampah", limit=1).results[0].id
    kb.index.update([], delete_ids=[victim])
    report = kb.check()
    assert not report["ok"] and report["missing_in_index"] == [victim]
    kb.reindex()
    assert kb.check()["ok"]


def test_filters_narrow_a_text_query_and_its_total(corpus_kb):
    all_ = corpus_kb.search("pengelolaan sampah", limit=100)
    java = corpus_kb.search("pengelolaan sampah", filters={"island": ["jawa"]}, limit=100)
    assert 0 < java.total < all_.total
    assert java.total == len(java.results)
    assert all(any(r["code"][0] == "3" for r in h.regions) for h in java.results)


def test_field_clauses_beside_words_are_conditions(corpus_kb):
    res = corpus_kb.search("sampah tahun:[2010 TO 2020]", limit=100)
    assert 0 < res.total < corpus_kb.search("sampah", limit=100).total
    assert all(2010 <= h.start_year <= 2020 for h in res.results)
    stopped = corpus_kb.search("sampah status:terhenti", limit=100)
    assert stopped.total and all(h.status == "terhenti" for h in stopped.results)
    assert corpus_kb.search('provinsi:"Jawa Barat"').total == corpus_kb.search("provinsi:jabar").total > 0


def test_saved_records_rank_as_if_indexed_together(writable_corpus_kb):
    """Each save writes its own small segment; scores over several segments equal those of
    one rebuilt segment (same document frequencies and lengths)."""
    kb = writable_corpus_kb
    for i, (title, summary) in enumerate([
            ("Kerja sama pengelolaan sampah regional tiga kota", "TPA regional dikelola bersama, sampah diangkut."),
            ("Kerja sama air minum lintas kabupaten", "SPAM regional dan pengelolaan sampah terpadu."),
            ("Kerja sama transportasi aglomerasi", "Bus antarkota melayani tiga kabupaten.")]):
        kb.create({"id": f"uji-segmen-{i}", "title": title, "summary": summary}, author="uji")
    assert len(kb.index.snapshot().parts) > 1
    queries = ["pengelolaan sampah", "air minum", "transportasi kabupaten", "kerja sama regional"]
    before = {q: [(h.id, round(h.score, 4)) for h in kb.search(q, limit=20).results] for q in queries}
    assert any(i.startswith("uji-segmen-") for i, _ in before["pengelolaan sampah"])
    kb.reindex()
    assert len(kb.index.snapshot().parts) == 1
    after = {q: [(h.id, round(h.score, 4)) for h in kb.search(q, limit=20).results] for q in queries}
    assert after == before


def test_word_shortcut_scores_like_the_general_evaluation(corpus_kb):
    """A query word (an OR of one term over the text fields) is summed and kept per snapshot;
    the same tree evaluated node by node gives the same scores and matches."""
    import numpy as np
    from whoosh import query

    snap = corpus_kb.index.snapshot()
    plain = corpus_kb.index.parse("pengelolaan sampah regional")
    langs = plain.subqueries if isinstance(plain, query.Or) else [plain]
    words = [w for lang in langs for w in lang.subqueries if isinstance(w, query.Or)]
    assert len(words) >= 3
    shortcut = query.Or(words, scale=0.9)
    general = query.Or([query.And([w, query.Every()]) for w in words], scale=0.9)
    for _ in range(2):  # computed, then from the snapshot's cache
        s1, m1 = snap.evaluate(shortcut)
        s2, m2 = snap.evaluate(general)
        assert m1.sum() > 0 and np.array_equal(m1, m2)
        assert np.allclose(s1, s2, rtol=1e-5)
    assert snap._word_cache  # the rarer words went the short way (common ones go the general way)


def test_query_caches_stay_within_their_byte_budget_and_answer_alike(corpus_kb, monkeypatch):
    """The terms, words and phrases of recent queries are kept up to a byte budget, whatever
    the number of different words asked for; a search answers the same whether its terms come
    from the cache, after the caches were emptied, or are read afresh."""
    from kb.search import ranking

    queries = ["pengelolaan sampah regional", "air minum", "transportasi angkutan umum",
               '"tempat pemrosesan akhir"', "pariwisata", "perbatasan", "kesehatan rujukan",
               "sampah AND NOT air", "daerah aliran sungai", "pendidikan"]

    def answers():
        return [[(h.id, round(h.score, 4)) for h in corpus_kb.search(q, limit=20).results] for q in queries]

    corpus_kb.index.snapshot()._terms.clear()
    expected = answers()
    budget = 4096
    monkeypatch.setattr(ranking, "MAX_CACHED_TERM_BYTES", budget)
    snap = corpus_kb.index.snapshot()
    for cache in (snap._terms, snap._word_cache, snap._literal_candidates):
        cache.clear()
    snap._cached_bytes = 0
    for _ in range(2):
        assert answers() == expected
        held = sum(a.nbytes for v in snap._terms.values() for a in v)
        held += sum(a.nbytes for v in snap._word_cache.values() for a in v)
        held += sum(v.nbytes for v in snap._literal_candidates.values())
        assert held <= snap._cached_bytes <= budget
    assert snap._terms  # small terms are still kept


def test_an_unknown_filter_value_is_named_not_silently_empty(corpus_kb):
    res = corpus_kb.search("sampah", filters={"island": ["atlantis"], "status": ["berjalan"]})
    assert res.total == 0
    assert any("island 'atlantis'" in n for n in res.notices)
    assert not any("status" in n for n in res.notices)  # a known value says nothing


# -- quoted phrases ------------------------------------------------------------------------------

def _all_ids(kb, text):
    """Every record id a search returns, page by page."""
    found, page = [], 1
    while True:
        res = kb.search(text, limit=100, page=page)
        found += ids(res)
        if page * 100 >= res.total:
            return found, res
        page += 1


def _corpus_phrases(kb, count=400, seed=13):
    """``count`` phrases of 2-3 consecutive words taken from the corpus titles and summaries,
    with the record each was taken from."""
    import json
    import random
    import re

    rng = random.Random(seed)
    out = []
    for line in kb.export("jsonl").splitlines():
        rec = json.loads(line)
        for text in (rec["title"], rec["summary"]):
            words = re.findall(r"[^\W_]+(?:[-'’.,/][^\W_]+)*", text)
            for size in (2, 3):
                for i in range(len(words) - size + 1):
                    out.append((" ".join(words[i:i + size]), rec["id"]))
    return rng.sample(out, count)


def test_phrases_from_the_corpus_find_their_record(corpus_kb):
    missing = []
    for phrase, rid in _corpus_phrases(corpus_kb):
        found, _ = _all_ids(corpus_kb, f'"{phrase}"')
        if rid not in found:
            missing.append((phrase, rid))
    assert not missing


@pytest.mark.parametrize("phrase", ["TPA regional", "pengelolaan sampah", "kerja sama", "air minum"])
def test_a_phrase_with_concept_words_finds_every_record_holding_it(corpus_kb, phrase):
    import json
    import re

    pattern = re.compile(r"\b" + r"[\W_]+".join(phrase.split()) + r"\b", re.IGNORECASE)
    holding = set()
    for line in corpus_kb.export("jsonl").splitlines():
        rec = json.loads(line)
        texts = [rec["title"], rec["summary"], rec.get("body", "")] + rec.get("lessons", []) + rec.get("challenges", [])
        if any(pattern.search(t or "") for t in texts):
            holding.add(rec["id"])
    assert holding
    found, _ = _all_ids(corpus_kb, f'"{phrase}"')
    assert holding <= set(found)


def test_a_phrase_keeps_its_word_order(empty_kb):
    empty_kb.create({"title": "TPA regional untuk tiga kota", "summary": "Sampah diangkut ke TPA bersama."},
                    author="test")
    empty_kb.create({"title": "Forum regional", "summary": "Rapat di dekat TPA lama."}, author="test")
    assert ids(empty_kb.search('"TPA regional"')) == ["tpa-regional-untuk-tiga-kota"]
    assert ids(empty_kb.search('"regional TPA"')) == []


def test_phrases_of_the_shapes_that_broke(empty_kb):
    """Phrases with a one-word concept (TPA, sampah), a stop word inside, a multi-word concept
    (air minum) whole or cut, and a stemmed form of the same words."""
    empty_kb.create({"title": "Kerja sama TPA regional Mamitarang",
                     "summary": "Pengelolaan dan pengangkutan sampah antarkota; penyediaan air minum regional.",
                     "body": "Forum kerja sama antar daerah lain di Kota Bandung dan sekitarnya."},
                    author="test")
    empty_kb.create({"title": "Pasar bersama", "summary": "Sampah pasar, TPA kota, dan air sumur."}, author="test")
    wanted = "kerja-sama-tpa-regional-mamitarang"
    for phrase in ["TPA regional", "kerja sama TPA", "pengelolaan dan pengangkutan", "pengangkutan sampah",
                   "mengelola dan mengangkut", "penyediaan air", "air minum regional", "minum regional",
                   "Kerja-sama TPA", "daerah lain", "sama antar", "sama antar daerah", "Bandung dan",
                   "di Kota Bandung", "forum kerja"]:
        assert ids(empty_kb.search(f'"{phrase}"')) == [wanted], phrase


def test_snippets_of_markdown_bodies_show_no_markup(corpus_kb):
    """Bodies are Markdown: a snippet shows the text as the case page renders it, never a
    literal ``**`` or a link target."""
    res = corpus_kb.search("latar belakang mekanisme", limit=50)
    from_markdown = [h for h in res.results if "**" in corpus_kb.get(h.id).get("body", "")]
    assert from_markdown  # the corpus has such bodies: the check below could fail
    for h in res.results:
        assert "**" not in h.highlight and "](" not in h.highlight, h.highlight
    from kb.search import highlight_to_text

    assert any("Latar belakang." in highlight_to_text(h.highlight, "", "") for h in from_markdown)
