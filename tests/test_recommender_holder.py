"""The recommender's model over its life (recommender/holder.py), through what a planner sees:
saves show up in the next answer, deleted and edited records never in their old form, a fit
saved by one process is used by another, and no answer waits for a fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import recommender.holder as holder_module
from kb.base import KnowledgeBase
from recommender.holder import ModelNotReady
from recommender.service import Recommender

WASTE = ("Kabupaten kami dan dua kabupaten tetangga ingin membangun tempat pemrosesan akhir sampah "
         "regional karena lahan TPA masing-masing hampir penuh. Kami perlu pola pembagian biaya dan "
         "penanganan penolakan warga di sekitar lokasi.")
EEL = ("Dua kabupaten pesisir ingin membangun budidaya sidat bersama: benih sidat dari muara, kolam "
       "pembesaran sidat, dan pemasaran sidat ke luar negeri.")
EEL_CASE = {"id": "budidaya-sidat-uji", "title": "Budidaya sidat bersama dua kabupaten pesisir",
            "summary": "Kerja sama budidaya sidat: benih dari muara, kolam pembesaran sidat bersama.",
            "sectors": ["kelautan-perikanan"], "regions": ["Kabupaten Cilacap", "Kabupaten Kebumen"]}
YOGYA = {"description": WASTE, "region": "Kota Yogyakarta", "sectors": ["persampahan"]}


def shown(res) -> set[str]:
    """Every record id an answer names: cases, peers' cases, visits, partners' shared cases."""
    return ({c["id"] for c in res.cases} | {c for p in res.peers for c in p["cases"]}
            | {v["id"] for v in res.visits} | {c for p in res.partners for c in p["cases"]})


def test_more_changes_than_can_be_patched_answer_without_the_changed_records(writable_corpus_kb, monkeypatch):
    """A bulk change by another process (more records than the patch limit): the next answer
    comes at once from the old fit, leaving out every record deleted or edited since; the
    background refit then brings the edited record back in its new form."""
    monkeypatch.setattr(holder_module, "PATCH_LIMIT", 2)
    kb = writable_corpus_kb
    r = Recommender(kb)
    r.refresh()
    fitted = r.model()
    before = r.recommend(YOGYA)
    kartamantul = next(p for p in before.partners if p["code"] == "34.04")["cases"]
    assert kartamantul  # Sleman already cooperates with the city on waste
    deleted = [before.cases[0]["id"], *kartamantul]
    edited = next(c["id"] for c in before.cases if c["id"] not in deleted)
    other = KnowledgeBase(kb.home, create=False)  # another process's store connection
    for rid in dict.fromkeys(deleted):
        other.set_state(rid, "deleted", author="uji")
    old = other.get(edited)
    other.update(edited, {"title": "Pelatihan guru bersama", "summary": "Pelatihan guru sekolah dasar bersama.",
                          "sectors": ["pendidikan"]}, expected_version=old["version"], author="uji")

    res = r.recommend(YOGYA)
    snap = r.snapshot()
    assert snap.stale and snap.model is fitted  # answered from the old fit, not refitted in the request
    assert res.cases and not (set(deleted) | {edited}) & shown(res)
    sleman = next((p for p in res.partners if p["code"] == "34.04"), None)
    assert sleman is None or not set(kartamantul) & set(sleman["cases"])
    assert edited not in {s["id"] for s in r.similar_to(res.cases[0]["id"], limit=100)}
    assert r.similar_to(deleted[0]) == []

    assert r.holder.wait(timeout=180)  # the background refit is in
    snap = r.snapshot()
    assert not snap.stale and snap.model is not fitted and snap.model.patched_rows_ == 0
    assert not set(deleted) & shown(r.recommend(YOGYA))
    teachers = r.recommend({"description": "pelatihan guru sekolah dasar bersama antar kabupaten"})
    assert {"id": edited, "title": "Pelatihan guru bersama"} in [
        {"id": c["id"], "title": c["title"]} for c in teachers.cases]


def test_without_background_refits_too_many_changes_are_refitted_at_once(writable_corpus_kb, monkeypatch):
    """The command line's recommender: no stale answers, it refits in the caller."""
    monkeypatch.setattr(holder_module, "PATCH_LIMIT", 2)
    kb = writable_corpus_kb
    r = Recommender(kb, background_refit=False)
    r.refresh()
    fitted = r.model()
    top = [c["id"] for c in r.recommend({"description": WASTE}).cases[:3]]
    for rid in top:
        kb.set_state(rid, "deleted", author="uji")
    res = r.recommend({"description": WASTE})
    assert not set(top) & shown(res)
    snap = r.snapshot()
    assert not snap.stale and snap.model is not fitted and snap.model.patched_rows_ == 0


def test_a_save_by_another_process_is_in_the_next_answer(writable_corpus_kb):
    kb = writable_corpus_kb
    r = Recommender(kb)
    r.refresh()
    assert "budidaya-sidat-uji" not in shown(r.recommend({"description": EEL}))
    other = KnowledgeBase(kb.home, create=False)
    other.create(EEL_CASE, author="uji")
    res = r.recommend({"description": EEL})
    assert res.cases[0]["id"] == "budidaya-sidat-uji" and not r.snapshot().stale
    assert "budidaya-sidat-uji" in [v["id"] for v in res.visits]
    # Deleted: gone from every part of the next answer, and from the similar records of others.
    other.set_state("budidaya-sidat-uji", "deleted", author="uji")
    res = r.recommend({"description": EEL})
    assert "budidaya-sidat-uji" not in shown(res)
    assert r.similar_to("budidaya-sidat-uji") == []
    assert all("budidaya-sidat-uji" not in {s["id"] for s in r.similar_to(c["id"], limit=50)}
               for c in res.cases[:3])


def test_a_fit_saved_by_one_recommender_is_picked_up_by_another(writable_corpus_kb):
    """Two workers on one instance folder: the second notices the fit the first saved (by the
    file's mtime) and answers with it, new words included."""
    kb = writable_corpus_kb
    first = Recommender(kb)
    second = Recommender(KnowledgeBase(kb.home, create=False))
    first.refresh()
    before = second.model()
    kb.create(EEL_CASE, author="uji")
    first.refresh()
    assert "sidat" in first.model().vectorizer_.vocabulary_
    res = second.recommend({"description": EEL})  # answered at once (patched) while it loads the file
    assert res.cases[0]["id"] == "budidaya-sidat-uji"
    assert second.holder.wait(timeout=60)
    model = second.model()
    assert model is not before and model.patched_rows_ == 0 and "sidat" in model.vectorizer_.vocabulary_
    assert second.recommend({"description": EEL}).cases[0]["id"] == "budidaya-sidat-uji"


def test_without_a_saved_model_a_server_answers_unavailable_until_its_background_fit_is_in(writable_corpus_kb):
    """No saved model (removed, or saved by a release of another format): a serving recommender
    never fits in the request. It says the model is not ready (503 on the web) while the fit
    runs in the refit process; another worker on the folder takes the saved fit."""
    kb = writable_corpus_kb
    (kb.home / "models" / holder_module.MODEL_FILE).unlink()
    server = Recommender(kb)
    with pytest.raises(ModelNotReady):
        server.recommend({"description": WASTE})
    worker = Recommender(KnowledgeBase(kb.home, create=False))
    assert not worker.warm()  # one of the two fits (the refit lock), the other takes its file
    assert server.holder.wait(timeout=180) and worker.holder.wait(timeout=180)
    assert server.recommend({"description": WASTE}).cases
    assert (kb.home / "models" / holder_module.MODEL_FILE).exists()
    assert worker.recommend({"description": WASTE}).cases
    assert worker.model().base_rows_ == server.model().base_rows_


def test_without_a_saved_model_the_command_line_fits_at_once(writable_corpus_kb):
    kb = writable_corpus_kb
    path = kb.home / "models" / holder_module.MODEL_FILE
    path.write_bytes(b"not a model")  # unreadable: as if none
    r = Recommender(kb, background_refit=False)
    assert r.recommend({"description": WASTE}).cases
    assert Recommender(KnowledgeBase(kb.home, create=False), background_refit=False).model().base_rows_ > 100


def test_a_loaded_model_maps_its_arrays_and_answers_as_the_fit_that_saved_it(writable_corpus_kb):
    """Workers share the saved model through the page cache: its matrix, column copy and packed
    records are memory maps of the file, not private copies, and the answers are the fit's."""
    import numpy as np

    kb = writable_corpus_kb
    fitter = Recommender(kb)
    fitter.holder.refit()  # fits, saves and answers from the fit in memory
    fitted = fitter.recommend(YOGYA)
    loaded = Recommender(KnowledgeBase(kb.home, create=False))
    snap = loaded.snapshot()
    model = snap.model
    assert isinstance(model.matrix_.data, np.memmap) and isinstance(model.__dict__["_columns_"].data, np.memmap)
    assert isinstance(snap.records.packed.blob, np.memmap)
    res = loaded.recommend(YOGYA)
    assert [c["id"] for c in res.cases] == [c["id"] for c in fitted.cases]
    assert [p["code"] for p in res.partners] == [p["code"] for p in fitted.partners]
    assert res.cases[0]["title"] == kb.get(res.cases[0]["id"])["title"]
    # A save patches the mapped model (nothing is written into the read-only maps).
    kb.create(EEL_CASE, author="uji")
    assert loaded.recommend({"description": EEL}).cases[0]["id"] == "budidaya-sidat-uji"
    deleted = res.cases[0]["id"]
    kb.set_state(deleted, "deleted", author="uji")
    again = loaded.recommend(YOGYA)
    assert deleted not in shown(again) and again.cases


def test_an_import_into_a_large_store_leaves_the_refit_to_the_next_use(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import recommender.service as service
    from webapp.cli import main

    home = tmp_path / "inst"
    model = home / "models" / "recommender.joblib"
    small = Path(__file__).parent / "data" / "small.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["--home", str(home), "init", "--empty"]).exit_code == 0
    monkeypatch.setattr(service, "FIT_NOW_MAX", 1)  # "large": more than one record
    out = runner.invoke(main, ["--home", str(home), "import", str(small)])
    assert out.exit_code == 0, out.output
    assert "refitted on its next use" in out.stderr
    assert not model.exists()
    got = runner.invoke(main, ["--home", str(home), "recommend", "--text", "pengelolaan sampah regional bersama",
                               "--json"])
    assert got.exit_code == 0, got.output
    assert model.exists() and json.loads(got.stdout)["cases"]

    monkeypatch.setattr(service, "FIT_NOW_MAX", 10_000)
    model.unlink()
    out = runner.invoke(main, ["--home", str(home), "import", "--upsert", str(small)])
    assert out.exit_code == 0 and "next use" not in out.stderr
    assert model.exists()


@pytest.mark.skipif(not hasattr(__import__("os"), "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_the_refit_process_runs_only_when_a_core_is_idle():
    """The refit process gives way to every serving process: its scheduling class is idle, so
    a request never waits behind it for a core."""
    import multiprocessing
    import os

    def report(queue):
        holder_module._lowest_priority()
        queue.put(os.sched_getscheduler(0))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=report, args=(queue,))
    proc.start()
    policy = queue.get(timeout=30)
    proc.join(timeout=30)
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the caller keeps its own class


def test_a_stale_snapshot_follows_every_later_change(writable_corpus_kb, monkeypatch):
    """While the model is stale, each new store head narrows the snapshot before it by the
    newly changed records: what it answers equals a stale snapshot made from the fit at once,
    and no deleted case shows up, in the answers or in any region's list of cases."""
    monkeypatch.setattr(holder_module, "PATCH_LIMIT", 2)
    kb = writable_corpus_kb
    r = Recommender(kb)
    r.refresh()
    monkeypatch.setattr(r.holder, "refit_in_background", lambda *a, **kw: None)  # it stays stale
    ids = [c["id"] for c in r.recommend(YOGYA).cases]
    assert len(ids) >= 5
    other = KnowledgeBase(kb.home, create=False)
    for rid in ids[:3]:
        other.set_state(rid, "deleted", author="uji")
    assert not set(ids[:3]) & shown(r.recommend(YOGYA)) and r.snapshot().stale
    read_since, patch_tries = [], []
    changed_ids_in, changes_since = kb.store.changed_ids_in, kb.store.changes_since
    monkeypatch.setattr(kb.store, "changed_ids_in", lambda conn, since: read_since.append(since) or
                        changed_ids_in(conn, since))
    monkeypatch.setattr(kb.store, "changes_since", lambda *a, **kw: patch_tries.append(a) or changes_since(*a, **kw))
    for n in (4, 5):  # later heads, each narrowed from the stale snapshot before it
        before = r.snapshot()
        read_since.clear()
        other.set_state(ids[n - 1], "deleted", author="uji")
        res = r.recommend(YOGYA)
        snap = r.snapshot()
        # only the changes since the snapshot before were read, and no patch was tried
        assert read_since == [before.head] and not patch_tries
        assert snap.stale and not set(ids[:n]) & shown(res)
        assert not any(set(ids[:n]) & set(cases) for cases in snap.cases_by_region.values())
        at_once = r.holder._stale(r.holder._base)
        assert at_once.superseded == snap.superseded
        assert {k: sorted(v) for k, v in at_once.cases_by_region.items()} == \
            {k: sorted(v) for k, v in snap.cases_by_region.items()}
        assert set(at_once.records) == set(snap.records)
        assert (at_once.live_rows == snap.live_rows).all() and not snap.live_rows.all()
