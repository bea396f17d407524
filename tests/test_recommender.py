"""Recommendations a planner notices, on the bundled corpus."""

import json

import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from kb.errors import Invalid
from recommender.model import CaseSimilarity
from recommender.service import Recommender

WASTE = ("Kabupaten kami dan dua kabupaten tetangga ingin membangun tempat pemrosesan akhir sampah "
         "regional karena lahan TPA masing-masing hampir penuh. Kami perlu pola pembagian biaya dan "
         "penanganan penolakan warga di sekitar lokasi.")


def test_waste_proposal_gets_waste_cases_with_reasons(rec):
    res = rec.recommend({"description": WASTE, "region": "Kabupaten Kampar"})
    assert res.cases and res.message is None
    top = res.cases[:5]
    assert sum(1 for c in top if c["kind"] == "case") >= 3
    for c in top:
        assert c["reasons"][0]["code"] == "shared_terms" and c["reasons"][0]["values"]["terms"]
    assert res.what_worked and res.watch_out
    worded = res.as_dict()
    assert all(c["why"][0].startswith("istilah bersama: ") for c in worded["cases"])


def test_reasons_are_data_worded_in_the_readers_language(rec):
    from recommender.reasons import Wording
    from webapp.i18n import gettext_for

    res = rec.recommend({"description": WASTE, "region": "Kota Yogyakarta", "sectors": ["persampahan"]})
    english = res.as_dict(Wording(gettext_for("en"), "en"))
    indonesian = res.as_dict()
    case = english["cases"][0]
    assert [r["code"] for r in case["reasons"]][:2] == ["shared_terms", "same_sectors"]
    assert case["why"][0].startswith("shared terms: ") and case["why"][1] == "same sectors: Waste"
    assert indonesian["cases"][0]["why"][1] == "bidang sama: Persampahan"
    already = next(p for p in english["partners"] if p["already_cooperating"])
    assert already["why"][0] == "shares a land border with Kota Yogyakarta"  # Sleman and Bantul border the city
    assert already["why"][1].startswith("nearest: ±") and "km from Kota Yogyakarta" in already["why"][1]
    assert any(w.startswith("already cooperating with Kota Yogyakarta: ") for w in already["why"])
    remote = rec.recommend({"description": WASTE, "region": "Kota Jayapura"})
    far = max(remote.as_dict(Wording(gettext_for("en"), "en"))["peers"], key=lambda p: p["distance_km"])
    assert far["distance_km"] >= 1000  # thousands are grouped the reader's way
    assert f"distance from Kota Jayapura: ±{far['distance_km']:,} km" in far["why"]
    assert f"jarak dari Kota Jayapura: ±{far['distance_km']:,} km".replace(",", ".") in next(
        p for p in remote.as_dict()["peers"] if p["code"] == far["code"])["why"]
    # Nothing Indonesian is left in the English reasons: each is a worded catalogue template.
    for row in english["cases"] + english["peers"] + english["partners"]:
        for line in row["why"]:
            assert not any(word in line for word in ("istilah", "bidang", "kasus relevan", "terdekat", "jarak"))


def test_shared_terms_are_named_once_by_their_displayed_form(rec):
    """A concept token and its own word ("_kpbu" and "kpbu") read the same: named once."""
    from recommender.model import readable_term

    model = rec.model()
    seen_concept_and_word = False
    for rid in list(model.ids_)[:120]:
        qvec = model.record_vector(rid)
        terms = model.shared_terms(qvec, rid, k=12)
        assert len(terms) == len({t.casefold() for t in terms}), terms
        row = model.index_[rid]
        if row < model.base_rows_:
            cols = model.matrix_.indices[model.matrix_.indptr[row]:model.matrix_.indptr[row + 1]]
            words = [readable_term(model.vocabulary_[c]) for c in cols]
            seen_concept_and_word |= len(words) > len(set(words))
    assert seen_concept_and_word  # the corpus has such pairs, so the check above could fail


def test_peers_never_include_the_proposer_and_have_distances(rec):
    res = rec.recommend({"description": WASTE, "region": "Kota Yogyakarta"})
    codes = [p["code"] for p in res.peers]
    assert codes and "34.71" not in codes
    assert all("distance_km" in p and p["cases"] for p in res.peers)
    # Successful and running cases weigh more than stopped ones.
    assert all(rec.snapshot().records[c]["kind"] == "case" for p in res.peers for c in p["cases"])


def test_partners_are_near_and_existing_partners_are_marked(rec):
    res = rec.recommend({"description": WASTE, "region": "Kota Yogyakarta", "sectors": ["persampahan"]})
    partners = {p["code"]: p for p in res.partners}
    # Sleman and Bantul already share waste arrangements with the city (Kartamantul): shown, marked.
    assert partners["34.04"]["already_cooperating"] and partners["34.02"]["already_cooperating"]
    assert res.partners[0]["distance_km"] < 60
    assert all(p["distance_km"] <= 400 or p["already_cooperating"] for p in res.partners)
    assert all(p["reasons"][0]["code"] == ("bordering_" + p["bordering"] if p["bordering"] else "nearest")
               for p in res.partners)
    assert all(any(w.startswith("terdekat: ±") for w in p["why"]) for p in res.as_dict()["partners"])


def test_english_proposal_finds_cases(rec):
    res = rec.recommend({"description": "Our city wants a shared regional landfill with neighbouring regencies "
                                        "because our own dump site is full and residents protest."})
    assert res.cases and any("persampahan" in rec.snapshot().records[c["id"]].get("sectors", []) for c in res.cases[:3])


def test_too_short_and_bad_region_are_clear_errors(rec):
    with pytest.raises(Invalid) as e:
        rec.recommend({"description": "sampah"})
    assert "too short" in str(e.value.problems[0])
    with pytest.raises(Invalid) as e:
        rec.recommend({"description": WASTE, "region": "Bandung"})
    assert "Kota Bandung" in str(e.value.problems[0])
    with pytest.raises(Invalid):
        rec.recommend({"description": WASTE, "sectors": ["kuliner"]})


def test_no_matching_vocabulary_says_so(rec):
    res = rec.recommend({"description": "xyzzy plugh quux frobnicate wibble"})
    assert res.cases == [] and res.peers == [] and res.message == "no_match"
    assert res.as_dict()["message"].startswith("Tidak ditemukan")


def test_similar_to_an_existing_case(rec):
    sims = rec.similar_to("tpa-sarimukti")
    assert sims and all(s["id"] != "tpa-sarimukti" for s in sims)


def test_deleted_and_edited_cases_are_never_recommended_in_old_form(writable_corpus_kb):
    kb = writable_corpus_kb
    r = Recommender(kb)
    r.refresh()
    first = r.recommend({"description": WASTE}).cases[0]["id"]
    kb.set_state(first, "deleted", author="uji")
    r2 = Recommender(kb)   # loads the saved model, now older than the store: answers at once
    assert first not in [c["id"] for c in r2.recommend({"description": WASTE}).cases]
    r2.refresh()
    assert first not in r2.model().ids_


EEL = ("Dua kabupaten pesisir ingin membangun budidaya sidat bersama: benih sidat dari muara, kolam "
       "pembesaran sidat, dan pemasaran sidat ke luar negeri.")


def test_a_saved_case_is_recommended_at_once_without_a_refit(writable_corpus_kb):
    kb = writable_corpus_kb
    r = Recommender(kb, background_refit=False)
    r.refresh()
    fitted = r.model()
    kb.create({"id": "budidaya-sidat-uji", "title": "Budidaya sidat bersama dua kabupaten pesisir",
               "summary": "Kerja sama budidaya sidat: benih dari muara, kolam pembesaran sidat bersama.",
               "sectors": ["kelautan-perikanan"], "regions": ["Kabupaten Cilacap", "Kabupaten Kebumen"]},
              author="uji")
    res = r.recommend({"description": EEL})
    assert res.cases[0]["id"] == "budidaya-sidat-uji"
    assert r.model() is not fitted and r.model().patched_rows_ == 1   # patched, not refitted
    assert "budidaya-sidat-uji" in [c for p in res.peers for c in p["cases"]]
    # An edit replaces the old form; a deletion removes it; neither leaves a duplicate row behind.
    rec = kb.get("budidaya-sidat-uji")
    kb.update("budidaya-sidat-uji", {"title": "Pelatihan guru bersama", "summary": "Pelatihan guru sekolah dasar.",
                                      "sectors": ["pendidikan"]}, expected_version=rec["version"], author="uji")
    ids = [c["id"] for c in r.recommend({"description": EEL, "sectors": ["kelautan-perikanan"]}).cases]
    assert "budidaya-sidat-uji" not in ids[:3] and len(ids) == len(set(ids))
    kb.set_state("budidaya-sidat-uji", "deleted", author="uji")
    res = r.recommend({"description": "pelatihan guru sekolah dasar bersama kabupaten tetangga"})
    assert "budidaya-sidat-uji" not in [c["id"] for c in res.cases]
    assert "budidaya-sidat-uji" not in r.similar_to(res.cases[0]["id"], limit=50)
    # A full refit folds the patches in.
    r.refresh()
    assert r.model().patched_rows_ == 0 and "budidaya-sidat-uji" not in r.model().index_


def test_background_refit_runs_in_a_child_process_and_learns_new_words(writable_corpus_kb):
    kb = writable_corpus_kb
    r = Recommender(kb)
    r.refresh()
    kb.create({"id": "sidat-uji", "title": "Budidaya sidat bersama", "summary": "Kolam pembesaran sidat bersama."},
              author="uji")
    assert "sidat" not in r.model().vectorizer_.vocabulary_   # a patch keeps the fitted vocabulary
    assert r.holder.refit_in_background()
    assert r.holder.wait(timeout=120)
    assert r.model().patched_rows_ == 0 and "sidat" in r.model().vectorizer_.vocabulary_
    assert r.recommend({"description": "budidaya sidat bersama di kolam"}).cases[0]["id"] == "sidat-uji"


def test_a_fit_saved_by_another_process_is_picked_up(writable_corpus_kb):
    kb = writable_corpus_kb
    a = Recommender(kb)
    a.refresh()
    kb.create({"id": "sidat-uji", "title": "Budidaya sidat bersama", "summary": "Kolam pembesaran sidat bersama."},
              author="uji")
    b = Recommender(kb)          # another worker: refits and saves
    b.refresh()
    a.model()                    # a notices the newer file and loads it in the background
    assert a.holder.wait(timeout=60)
    assert "sidat" in a.model().vectorizer_.vocabulary_ and a.model().patched_rows_ == 0


def test_estimator_conventions():
    est = CaseSimilarity(max_df=0.8)
    assert clone(est).get_params()["max_df"] == 0.8
    with pytest.raises(NotFittedError):
        est.transform_text("sampah")


def test_cli_recommend_and_peers_json(corpus_home, tmp_path):
    from click.testing import CliRunner

    from webapp.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["--home", str(corpus_home), "recommend", "--text", WASTE, "--region", "Kab. Kampar",
                             "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert {"cases", "peers", "partners"} <= set(out)
    assert {"id", "kind", "title", "score", "why"} <= set(out["cases"][0])
    assert {"code", "name", "score", "why", "cases"} <= set(out["peers"][0])
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"title": "TPA bersama", "description": WASTE, "region": "14.06"}), encoding="utf-8")
    r = runner.invoke(main, ["--home", str(corpus_home), "recommend", "--file", str(f)])
    assert r.exit_code == 0 and "Calon mitra" in r.output
    r = runner.invoke(main, ["--home", str(corpus_home), "peers", "--topic", "SPAM regional air minum", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["peers"]
    r = runner.invoke(main, ["--home", str(corpus_home), "recommend", "--text", "x"])
    assert r.exit_code == 1 and "too short" in r.output


def test_fast_paths_give_scikit_learns_vectors_and_scores(rec, monkeypatch):
    """A proposal's vector and scores come from shortcuts; they equal the plain computations."""
    import numpy as np

    import recommender.model as model_module
    from kb.text import analyze

    model = rec.model()
    texts = ["Pengelolaan sampah regional di TPA bersama, sampah sampah",
             "Joint waste management and a regional landfill", "kata yang tidak dikenal xyzzy", ""]
    for text in texts:
        terms = [t.text for t in analyze(text, "en" if "waste" in text else "id")]
        fast, plain = model._vector(terms), model.vectorizer_.transform([terms])
        assert fast.shape == plain.shape and fast.dtype == plain.dtype
        assert np.allclose(fast.toarray(), plain.toarray(), atol=1e-6)
    q = model.transform_text(texts[0], "id")
    assert q.nnz > 3
    by_column = model.scores(q)
    monkeypatch.setattr(model_module, "MAX_COLUMN_COPY_NNZ", 0)
    plain_model = model.with_changes([])  # a copy without the column matrix
    plain_model.__dict__.pop("_columns_", None)
    by_row = plain_model.scores(q)
    assert np.allclose(by_column, by_row, atol=1e-6) and by_column.max() > 0
    assert list(np.argsort(-by_column)[:5]) == list(np.argsort(-by_row)[:5])


def test_patched_models_share_the_column_matrix(rec):
    """A save patches the model; the patched copy must not rebuild the column matrix (a
    request after every save would pay for it)."""
    model = rec.model()
    model.prepare()
    columns = model.__dict__.get("_columns_")
    assert columns is not None
    patched = model.with_changes([])
    assert patched.__dict__.get("_columns_") is columns
    import pickle

    saved = pickle.loads(pickle.dumps(model)).__dict__["_columns_"]  # saved, for workers to map
    assert (saved != columns).nnz == 0 and saved.shape == columns.shape


@pytest.mark.parametrize("proposer", ["Kota Bandung", "Kota Kupang", "Kota Yogyakarta", "Kabupaten Sleman",
                                      "Kota Surabaya", "Kabupaten Kepulauan Seribu"])
def test_bordering_regions_come_first_among_partners(rec, proposer):
    """Every partner that borders the proposer (land, else sea) comes before every one that does
    not, each is marked with its kind, and no partner is 0 km away."""
    from kb.gazetteer import gazetteer

    g = gazetteer()
    me = g.resolve(proposer)
    res = rec.recommend({"description": "Kami ingin mengelola sampah dan air minum bersama daerah tetangga "
                                        "karena lahan TPA hampir penuh", "region": proposer}, limit=10)
    neighbours = {r.code: kind for r, kind in g.neighbours(me) if r.is_province == me.is_province}
    kinds = [p["bordering"] for p in res.partners]
    assert kinds == [neighbours.get(p["code"]) for p in res.partners]
    first_other = next((i for i, k in enumerate(kinds) if k is None), len(kinds))
    assert all(k is None for k in kinds[first_other:])  # bordering ones first
    assert kinds[0] is not None  # every region here has a neighbour of its own level
    if len(neighbours) <= len(res.partners):
        assert set(neighbours) <= {p["code"] for p in res.partners}
    assert all(p["distance_km"] >= 1 for p in res.partners)
    reasons = res.partners[0]["reasons"]
    assert reasons[0]["code"] == f"bordering_{kinds[0]}"


def test_affairs_that_cross_borders_name_the_neighbours_the_cooperation_may_be_mandatory_with(rec):
    from kb.gazetteer import gazetteer

    res = rec.recommend({"description": WASTE, "region": "Kota Bandung", "sectors": ["persampahan"]})
    land = {r.code for r, kind in gazetteer().neighbours("32.73") if kind == "land" and not r.is_province}
    assert res.mandatory["basis"] == "PP 28/2018" and res.mandatory["sectors"] == ["persampahan"]
    assert {r["code"] for r in res.mandatory["regions"]} == land >= {"32.04", "32.17", "32.77"}
    tourism = rec.recommend({"description": "Kami ingin promosi wisata bersama dan paket perjalanan lintas kota "
                                            "untuk festival budaya tahunan", "region": "Kota Bandung",
                             "sectors": ["pariwisata"]})
    assert tourism.mandatory is None  # no cross-border externality: voluntary
    assert rec.recommend({"description": WASTE, "sectors": ["persampahan"]}).mandatory is None  # no proposer


def test_sector_bonus_comes_from_the_models_rows_by_sector_and_follows_saves(writable_corpus_kb):
    """A proposal's sectors raise the cases of those sectors by rows the model keeps per sector
    (reading every record took seconds per answer at 100,000 records): the same bonus as
    reading each record's sectors, after a save adds a case and an edit moves it to another
    sector, and for a model saved without those rows."""
    import copy

    import numpy as np

    from recommender.service import _sector_bonus

    kb = writable_corpus_kb
    r = Recommender(kb, background_refit=False)
    r.refresh()

    def from_records(snap, sectors):
        older = copy.copy(snap.model)
        del older.__dict__["sectors_"]  # a model saved before the rows were kept
        return _sector_bonus(type(snap)(older, snap.head, snap.records, snap.cases_by_region), sectors)

    def check(sectors):
        snap = r.snapshot()
        kept = _sector_bonus(snap, sectors)
        assert np.array_equal(kept, from_records(snap, sectors))
        return snap, kept

    snap, bonus = check(["persampahan", "air-minum"])
    waste = [rid for rid in snap.model.ids_ if "persampahan" in snap.records[rid].get("sectors", [])]
    assert waste and all(bonus[snap.model.index_[rid]] > 0 for rid in waste)

    kb.create({"id": "sidat-sektor-uji", "title": "Budidaya sidat bersama", "summary": "Kolam sidat bersama.",
               "sectors": ["kelautan-perikanan", "persampahan"], "regions": ["Kabupaten Cilacap"]}, author="uji")
    snap, bonus = check(["persampahan"])
    row = snap.model.index_["sidat-sektor-uji"]
    assert row >= snap.model.base_rows_ and bonus[row] > 0
    rec = kb.get("sidat-sektor-uji")
    kb.update("sidat-sektor-uji", {"title": rec["title"], "summary": rec["summary"], "sectors": ["pendidikan"]},
              expected_version=rec["version"], author="uji")
    snap, bonus = check(["persampahan"])
    assert bonus[snap.model.index_["sidat-sektor-uji"]] == 0 and bonus[row] == 0  # the old row is gone
    assert check(["pendidikan"])[1][snap.model.index_["sidat-sektor-uji"]] > 0
