"""Moderation that holds on every write path, drafts that stay private on every read path,
writes that race without a 500, and an index that follows the store after a crash."""

from __future__ import annotations

import html as htmlmod
import io
import json
import multiprocessing
import re
import subprocess
import sys
import threading

import pytest
from sqlalchemy import text

from kb.access import Actor
from kb.base import KnowledgeBase
from kb.errors import Forbidden, ImportFailed, NotFound
from kb.io import RawRecord
from conftest import copy_instance, csrf_token, make_app

PUBLISHED = "tpa-sarimukti"  # a published case of the bundled corpus


def _upload(c, payload: bytes, *, upsert: bool):
    page = c.get("/kurasi/unggah").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "file": (io.BytesIO(payload), "u.jsonl")}
    if upsert:
        data["upsert"] = "y"
    return c.post("/kurasi/unggah", data=data, content_type="multipart/form-data")


def _line(**rec) -> bytes:
    return (json.dumps(rec, ensure_ascii=False) + "\n").encode()


# -- 1. moderation on every write path -----------------------------------------------------------

def test_a_contributor_upload_cannot_overwrite_publish_or_restore(app, auth):
    kb = app.extensions["sinergi_kb"]
    before = kb.get(PUBLISHED)
    c = app.test_client()
    assert auth.login(c, "rina").status_code == 302
    r = _upload(c, _line(id=PUBLISHED, title="Ditimpa kontributor", summary="Ringkasan pengganti dari unggahan."),
                upsert=True)
    html = htmlmod.unescape(r.get_data(as_text=True))
    assert r.status_code == 400 and f"u.jsonl:1: id: record {PUBLISHED!r} is a published record" in html
    assert kb.get(PUBLISHED)["title"] == before["title"]

    kb.set_state(PUBLISHED, "deleted", author="editor-uji")
    r = _upload(c, _line(id=PUBLISHED, title="Dipulihkan kontributor", summary="Ringkasan pengganti dari unggahan."),
                upsert=True)
    assert r.status_code == 400 and "is a deleted record" in r.get_data(as_text=True)
    assert kb.get(PUBLISHED, include_deleted=True)["state"] == "deleted"

    # A new record from a contributor's upload is a draft, and their own draft they may update.
    r = _upload(c, _line(id="unggahan-rina", title="Unggahan kontributor cormorant", summary="Catatan baru dari unggahan."),
                upsert=False)
    token = re.search(r'name="token" value="([0-9a-f]+)"', r.get_data(as_text=True)).group(1)
    page = c.get("/kurasi/unggah").get_data(as_text=True)
    assert c.post("/kurasi/unggah", data={"csrf_token": csrf_token(page), "token": token, "confirm": "1"}).status_code == 302
    assert kb.get("unggahan-rina", include_deleted=True)["state"] == "draft"
    assert kb.search("cormorant").total == 0
    r = _upload(c, _line(id="unggahan-rina", title="Unggahan kontributor diperbaiki", summary="Catatan baru dari unggahan."),
                upsert=True)
    assert r.status_code == 200


def test_the_store_refuses_what_the_preview_allowed_when_the_record_changed_meanwhile(empty_kb):
    """The rule is checked again inside the write transaction: a draft published between the
    preview and the confirmation is not overwritten."""
    rina = Actor("rina", "contributor")
    empty_kb.create({"id": "draf-rina", "title": "Draf Rina", "summary": "Draf kontributor untuk uji."},
                    author=rina, state="draft")
    raws = [RawRecord("u.jsonl", 1, {"id": "draf-rina", "title": "Draf Rina lagi", "summary": "Perubahan kontributor."})]
    empty_kb.import_raw(raws, upsert=True, dry_run=True, author=rina)
    empty_kb.set_state("draf-rina", "published", author="cli")
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_raw(raws, upsert=True, author=rina)
    assert "only an editor can change it" in str(e.value.problems[0])
    assert empty_kb.get("draf-rina")["title"] == "Draf Rina"


@pytest.mark.parametrize("who,ok", [("rina", True), ("budi", False), ("editor", True)])
def test_kb_rules_for_changing_a_draft(empty_kb, who, ok):
    role = "editor" if who == "editor" else "contributor"
    empty_kb.create({"id": "draf", "title": "Draf uji", "summary": "Draf kontributor untuk uji."},
                    author=Actor("rina", "contributor"), state="draft")
    change = lambda: empty_kb.update("draf", {"title": "Draf uji diubah", "summary": "Draf kontributor untuk uji."},
                                     expected_version=1, author=Actor(who, role))
    if ok:
        assert change()["title"] == "Draf uji diubah"
    else:
        with pytest.raises(Forbidden):
            change()
    with pytest.raises(Forbidden):  # publishing needs an editor, even for one's own draft
        empty_kb.set_state("draf", "published", author=Actor("rina", "contributor"))
    with pytest.raises(Forbidden):
        empty_kb.create({"title": "Terbit langsung", "summary": "Kontributor mencoba menerbitkan."},
                        author=Actor("rina", "contributor"), state="published")


def test_api_contributor_drafts_only_and_changes_only_their_own(app, auth):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    rina = auth.headers(app, "rina")
    budi = auth.headers(app, "budi")
    assert c.post("/api/v1/cases", headers=rina, json={"id": "api-rina", "title": "Draf lewat API",
                                                       "summary": "Dibuat kontributor lewat API.",
                                                       "publish": True}).status_code == 403
    r = c.post("/api/v1/cases", headers=rina, json={"id": "api-rina", "title": "Draf lewat API",
                                                    "summary": "Dibuat kontributor lewat API."})
    assert r.status_code == 201 and r.get_json()["state"] == "draft"
    body = {"title": "Draf lewat API, diubah", "summary": "Dibuat kontributor lewat API.", "version": 1}
    assert c.put("/api/v1/cases/api-rina", headers=budi, json=body).status_code == 404  # not theirs to see
    assert c.put("/api/v1/cases/api-rina", headers=rina, json=body).status_code == 200
    pub = kb.get(PUBLISHED)
    r = c.put(f"/api/v1/cases/{PUBLISHED}", headers=rina,
              json={"title": "Ditimpa", "summary": pub["summary"], "version": pub["version"]})
    assert r.status_code == 403 and kb.get(PUBLISHED)["title"] == pub["title"]
    assert c.delete(f"/api/v1/cases/{PUBLISHED}", headers=rina).status_code == 403


# -- 2. drafts stay private on every read path ----------------------------------------------------

def test_a_draft_is_404_to_strangers_on_every_read_path(app, auth):
    kb = app.extensions["sinergi_kb"]
    kb.create({"id": "draf-rahasia", "title": "Rencana rahasia zebrafinch", "summary": "Draf yang belum terbit."},
              author=Actor("rina", "contributor"), state="draft")
    # A published case names the draft as related.
    pub = kb.get(PUBLISHED)
    data = {k: v for k, v in pub.items() if k not in ("version", "state", "created_at", "updated_at",
                                                      "created_by", "updated_by")}
    kb.update(PUBLISHED, {**data, "related_cases": ["draf-rahasia"]}, expected_version=pub["version"], author="cli")
    anon = app.test_client()
    assert anon.get("/api/v1/cases/draf-rahasia").status_code == 404
    assert anon.get("/kasus/draf-rahasia").status_code == 404
    assert anon.get("/kasus/draf-rahasia/riwayat").status_code == 404
    assert "zebrafinch" not in anon.get(f"/kasus/{PUBLISHED}").get_data(as_text=True)
    assert "zebrafinch" not in anon.get("/cari.csv?q=zebrafinch").get_data(as_text=True)
    assert anon.get("/api/v1/search?q=zebrafinch").get_json()["total"] == 0
    rec = anon.post("/api/v1/recommend", json={"description": "rencana rahasia zebrafinch"}).get_json()
    assert "draf-rahasia" not in [x["id"] for x in rec["cases"]]
    budi = auth.headers(app, "budi")
    assert anon.get("/api/v1/cases/draf-rahasia", headers=budi).status_code == 404
    # Its author and editors see it.
    rina = auth.headers(app, "rina")
    assert anon.get("/api/v1/cases/draf-rahasia", headers=rina).status_code == 200
    c = app.test_client()
    assert auth.login(c, "editor").status_code == 302
    assert "zebrafinch" in c.get(f"/kasus/{PUBLISHED}").get_data(as_text=True)
    assert c.get("/kasus/draf-rahasia").status_code == 200


# -- 3. races answer 409, never 500 --------------------------------------------------------------

def _race(n: int, fn) -> list:
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - the test looks at what came back
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_writers_of_one_version_one_wins_one_gets_a_conflict(tmp_path):
    home = tmp_path / "race"
    KnowledgeBase(home).create({"id": "balapan", "title": "Balapan tulis", "summary": "Dua penulis sekaligus."},
                               author="cli")
    kbs = [KnowledgeBase(home) for _ in range(2)]  # two processes' worth of connections
    for _round in range(8):
        version = kbs[0].get("balapan")["version"]
        out = _race(2, lambda i: kbs[i].update("balapan", {"title": f"Penulis {i}", "summary": "Dua penulis sekaligus."},
                                               expected_version=version, author="cli"))
        assert sorted(type(x).__name__ for x in out) == ["Conflict", "dict"], out
    out = _race(2, lambda i: kbs[i].create({"id": "baru-sekaligus", "title": "Baru sekaligus",
                                            "summary": "Dua pembuat id yang sama."}, author="cli"))
    assert sorted(type(x).__name__ for x in out) == ["Conflict", "dict"], out
    assert kbs[0].check()["ok"]


def test_api_races_answer_409(app, auth):
    kb = app.extensions["sinergi_kb"]
    h = auth.headers(app, "editor")
    rec = kb.get(PUBLISHED)
    body = {k: v for k, v in rec.items() if k not in ("state", "created_at", "updated_at", "created_by", "updated_by")}
    clients = [app.test_client() for _ in range(2)]
    out = _race(2, lambda i: clients[i].put(f"/api/v1/cases/{PUBLISHED}", headers=h,
                                            json={**body, "title": f"Judul {i}"}).status_code)
    assert sorted(out) == [200, 409]
    out = _race(2, lambda i: clients[i].post("/api/v1/cases", headers=h, json={
        "id": "api-sekaligus", "title": "Dibuat sekaligus", "summary": "Dua klien membuat id yang sama."}).status_code)
    assert sorted(out) == [201, 409]


def _import_worker(home: str, path: str, queue) -> None:
    kb = KnowledgeBase(home)
    try:
        report = kb.import_files([path], upsert=True)
        queue.put(("ok", len(report.created), len(report.updated)))
    except Exception as e:  # noqa: BLE001
        queue.put((type(e).__name__, str(e)))


def test_two_upsert_imports_of_the_same_ids_at_once(tmp_path):
    home = tmp_path / "imp"
    KnowledgeBase(home).mark_initialized()
    f = tmp_path / "a.jsonl"
    f.write_text("".join(json.dumps({"id": f"impor-{i}", "title": f"Impor serentak {i}",
                                     "summary": "Dua impor berkas yang sama."}) + "\n" for i in range(300)))
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_import_worker, args=(str(home), str(f), q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    results = sorted(q.get(timeout=5) for _ in procs)
    assert results == [("ok", 0, 0), ("ok", 300, 0)]  # the second found them all in place
    kb = KnowledgeBase(home)
    assert kb.check()["ok"] and kb.search("serentak").total == 300


# -- 4. the index follows the store ---------------------------------------------------------------

def test_a_record_stored_but_never_indexed_is_found_after_catch_up(empty_kb):
    """A process that dies between the store commit and the index commit leaves the index
    behind; the next writer (or ``serve``) applies what it missed from the revision log."""
    empty_kb.create({"id": "pertama", "title": "Catatan pertama", "summary": "Yang pertama tersimpan."}, author="cli")
    # Store only, as a process killed before indexing would have left it:
    empty_kb.store.write_many([{"id": "yatim", "kind": "case", "language": "id", "title": "Catatan yatim kingfisher",
                                "summary": "Tersimpan tanpa indeks."}], author="cli")
    empty_kb.store.set_state("pertama", "deleted", author="cli")
    assert empty_kb.behind() == 2 and empty_kb.index.search("kingfisher").total == 0
    assert KnowledgeBase(empty_kb.home).catch_up() == 1
    assert empty_kb.search("kingfisher").total == 1 and empty_kb.search("pertama").total == 0
    assert empty_kb.behind() == 0 and empty_kb.check()["ok"]


def test_a_save_that_cannot_get_the_index_lock_is_stored_and_indexed_later(tmp_path):
    home = tmp_path / "sibuk"
    KnowledgeBase(home).mark_initialized()
    holder = KnowledgeBase(home)
    web = KnowledgeBase(home, write_wait=0.2)
    with holder.index.locked():  # a long import holds the index
        rec = web.create({"id": "menunggu", "title": "Menunggu indeks heron", "summary": "Tersimpan saat indeks sibuk."},
                         author="cli")
        assert rec["version"] == 1 and web.behind() == 1
    assert web.catch_up(timeout=0) == 1
    assert web.search("heron").total == 1


def test_an_index_without_a_revision_marker_is_reconciled(empty_kb):
    empty_kb.create({"id": "lama", "title": "Catatan lama osprey", "summary": "Dari indeks versi lama."}, author="cli")
    for p in (empty_kb.home / "index").glob("applied.*"):
        p.unlink()  # an index written before it recorded store revisions
    empty_kb.store.write_many([{"id": "baru", "kind": "case", "language": "id", "title": "Catatan baru osprey",
                                "summary": "Tersimpan tanpa indeks."}], author="cli")
    assert empty_kb.behind() is None
    empty_kb.catch_up()
    assert empty_kb.search("osprey").total == 2 and empty_kb.behind() == 0
    assert len(empty_kb.index.stored()) == 2  # nothing indexed twice


def test_killed_writer_leaves_nothing_unsearchable(tmp_path):
    """``kill -9`` of a process in the middle of a burst of saves: after a restart (here: the
    next writer), every stored record is searchable."""
    home = tmp_path / "burst"
    KnowledgeBase(home).mark_initialized()
    script = ("import sys\nfrom kb.base import KnowledgeBase\nkb = KnowledgeBase(sys.argv[1])\n"
              "for i in range(100000):\n"
              "    kb.create({'id': f'burst-{i}', 'title': f'Simpan beruntun {i}', 'summary': 'Satu dari banyak simpan.'},"
              " author='cli')\n    print(i, flush=True)\n")
    with subprocess.Popen([sys.executable, "-c", script, str(home)], stdout=subprocess.PIPE, text=True) as proc:
        for _ in range(25):
            proc.stdout.readline()
        proc.kill()
    kb = KnowledgeBase(home)
    kb.catch_up()
    stored = kb.store.count()
    assert stored >= 25 and kb.search("beruntun", limit=1).total == stored and kb.check()["ok"]


def test_store_tables_are_created_once_when_two_processes_start_together(tmp_path):
    home = tmp_path / "mulai"
    home.mkdir()
    code = "import sys\nfrom kb.store import Store\nStore('sqlite:///' + sys.argv[1])\n"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(home / "sinergi.db")], stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors


# -- 9. readers never wait for a writer; writers fail fast ---------------------------------------

def test_pages_answer_while_another_process_holds_the_store_and_the_index(app, auth):
    """A long import elsewhere holds the store's write lock and the index lock: searches answer
    at once, and a save gives up after the configured wait with 503 and saves nothing."""
    import time

    from kb.store import Store

    kb = app.extensions["sinergi_kb"]
    app.config["SINERGI_WRITE_WAIT"] = 0.5
    kb.store = Store(kb.store.url, write_timeout=0.5)  # what create_app builds from the setting
    other = KnowledgeBase(kb.home)
    h = auth.headers(app, "editor")
    c = app.test_client()
    with other.index.locked(), other.store.session() as s:
        s.execute(text("SELECT 1"))  # holds the write lock (BEGIN IMMEDIATE)
        t = time.perf_counter()
        assert c.get("/cari?q=sampah").status_code == 200
        assert c.get("/api/v1/search?q=sampah").get_json()["total"] > 0
        assert time.perf_counter() - t < 3
        t = time.perf_counter()
        r = c.post("/api/v1/cases", headers=h, json={"id": "saat-sibuk", "title": "Disimpan saat sibuk",
                                                     "summary": "Penyimpanan saat penyimpan lain sibuk."})
        assert r.status_code == 503 and r.headers["Retry-After"] and time.perf_counter() - t < 5
    with pytest.raises(NotFound):
        kb.get("saat-sibuk")


# -- 13. a killed master does not leave its workers holding the port ------------------------------

def test_workers_end_when_their_master_is_killed(corpus_home, tmp_path):
    import os
    import signal
    import socket
    import time
    from pathlib import Path

    if sys.platform == "win32":
        pytest.skip("gunicorn serves on POSIX only")
    home = copy_instance(corpus_home, tmp_path / "serve")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    master = subprocess.Popen([sys.executable, "-m", "webapp.cli", "--home", str(home), "serve", "--port", str(port),
                               "--workers", "1"], stdout=log, stderr=subprocess.STDOUT)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while "] warm:" not in (tmp_path / "serve.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "] warm:" in (tmp_path / "serve.log").read_text()
        workers += [int(p) for p in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()]
        assert workers
        master.send_signal(signal.SIGKILL)
        master.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
            time.sleep(0.2)
        assert not any(Path(f"/proc/{w}").exists() for w in workers), "a worker outlived its master"
        with socket.socket() as s:  # the port is free again
            s.bind(("127.0.0.1", port))
    finally:
        for w in workers:
            try:
                os.kill(w, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if master.poll() is None:
            master.kill()
            master.wait()
        log.close()


# -- several instance folders (nodes) on one database ----------------------------------------------

def test_two_nodes_on_one_database_follow_each_other(tmp_path, auth):
    """Two instance folders (each with its own index) on one PostgreSQL database: a write on A
    through the API is searchable on B, a delete on B is gone on A, and `check` agrees on both."""
    from conftest import POSTGRES, _database

    if not POSTGRES:
        pytest.skip("needs SINERGI_TEST_POSTGRES (a PostgreSQL server; see scripts/pg_cluster.sh)")
    url = _database()
    a = make_app(KnowledgeBase(tmp_path / "a", database_url=url).home)
    b = make_app(KnowledgeBase(tmp_path / "b", database_url=url).home)
    kb_a, kb_b = a.extensions["sinergi_kb"], b.extensions["sinergi_kb"]
    assert kb_b.store.count() == kb_a.store.count() > 0  # B attached: the corpus was loaded once
    h = auth.headers(a, "editor")
    r = a.test_client().post("/api/v1/cases", headers=h, json={"id": "dua-simpul", "title": "Dua simpul pelikan",
                                                              "summary": "Ditulis di simpul A."})
    assert r.status_code == 201
    import time

    time.sleep(0.25)  # a search checks the store at most every FOLLOW_EVERY_S
    found = b.test_client().get("/api/v1/search?q=pelikan").get_json()
    assert [x["id"] for x in found["results"]] == ["dua-simpul"]
    h_b = auth.headers(b, "editor")
    assert b.test_client().delete("/api/v1/cases/dua-simpul", headers=h_b).status_code == 200
    time.sleep(0.25)
    assert a.test_client().get("/api/v1/search?q=pelikan").get_json()["total"] == 0
    assert kb_a.check()["ok"] and kb_b.check()["ok"]
