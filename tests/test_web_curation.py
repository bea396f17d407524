"""Curation (/kurasi/…) through Flask's test client: signing in, adding and editing records,
drafts and publishing, soft delete, bulk upload, and the refusals (CSRF, conflicts, sizes,
rate limits)."""

import io
import re

import pytest

from conftest import csrf_token


def test_sign_in_add_case_with_validation_error_then_success(app, auth):
    c = app.test_client()
    assert auth.login(c).status_code == 302
    page = c.get("/kurasi/baru").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "kind": "case", "language": "id", "title": "Kerja sama uji sampah",
            "summary": "Dua daerah berbagi TPA regional.", "regions": "Slemann", "publish": "1"}
    r = c.post("/kurasi/baru", data=data)
    assert r.status_code == 400
    assert "Kabupaten Sleman" in r.get_data(as_text=True)  # the candidates are named
    r = c.post("/kurasi/baru", data={**data, "regions": "Kab. Sleman\nKota Yogyakarta", "sectors": ["persampahan"]})
    assert r.status_code == 302
    assert app.extensions["sinergi_kb"].search("kerja sama uji sampah").results[0].id == "kerja-sama-uji-sampah"


def test_write_without_csrf_is_refused(app, auth):
    c = app.test_client()
    auth.login(c)
    r = c.post("/kurasi/baru", data={"title": "x", "summary": "y" * 20})
    assert r.status_code == 400


def test_contributor_saves_drafts_and_editor_publishes(app, auth):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    auth.login(c, "kontributor")
    page = c.get("/kurasi/baru").get_data(as_text=True)
    c.post("/kurasi/baru", data={"csrf_token": csrf_token(page), "kind": "case", "language": "id",
                                 "title": "Draf kerja sama air", "summary": "Draf dari kontributor uji.",
                                 "publish": "1"})
    assert kb.get("draf-kerja-sama-air", include_deleted=True)["state"] == "draft"
    assert app.test_client().get("/kasus/draf-kerja-sama-air").status_code == 404  # not public
    e = app.test_client()
    auth.login(e)
    page = e.get("/kasus/draf-kerja-sama-air").get_data(as_text=True)
    r = e.post("/kurasi/draf-kerja-sama-air/status", data={"csrf_token": csrf_token(page), "state": "published"})
    assert r.status_code == 302 and kb.get("draf-kerja-sama-air")["state"] == "published"


def test_two_editors_same_case_second_save_is_refused_with_both_versions(app, auth):
    a, b = app.test_client(), app.test_client()
    auth.login(a)
    auth.login(b)
    form_a = a.get("/kurasi/tpa-sarimukti/sunting").get_data(as_text=True)
    form_b = b.get("/kurasi/tpa-sarimukti/sunting").get_data(as_text=True)
    rec = app.extensions["sinergi_kb"].get("tpa-sarimukti")

    def post(c, page, title):
        return c.post("/kurasi/tpa-sarimukti/sunting", data={
            "csrf_token": csrf_token(page), "version": str(rec["version"]), "kind": "case", "language": "id",
            "title": title, "summary": rec["summary"], "body": rec["body"], "regions": "\n".join(rec["regions"]),
            "sectors": rec["sectors"], "lessons": "\n".join(rec["lessons"])})

    assert post(a, form_a, "Judul dari A").status_code == 302
    r = post(b, form_b, "Judul dari B")
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "Judul dari A" in html and "Judul dari B" in html
    assert app.extensions["sinergi_kb"].get("tpa-sarimukti")["title"] == "Judul dari A"


def test_soft_delete_and_restore(app, auth):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    auth.login(c)
    page = c.get("/kasus/tpa-galuga").get_data(as_text=True)
    c.post("/kurasi/tpa-galuga/status", data={"csrf_token": csrf_token(page), "state": "deleted"})
    assert app.test_client().get("/kasus/tpa-galuga").status_code == 404
    assert "tpa-galuga" not in [h.id for h in kb.search("Galuga").results]
    page = c.get("/kasus/tpa-galuga").get_data(as_text=True)
    c.post("/kurasi/tpa-galuga/status", data={"csrf_token": csrf_token(page), "state": "published"})
    assert "tpa-galuga" in [h.id for h in kb.search("Galuga").results]


def test_bulk_upload_preview_then_confirm(app, auth):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    auth.login(c)
    good = b'{"id": "unggah-1", "title": "Kerja sama unggahan", "summary": "Catatan dari unggahan uji."}\n'
    bad = good + b'{"id": "unggah-2", "title": "Salah", "summary": "Bidang tidak dikenal.", "sectors": ["kuliner"]}\n'
    page = c.get("/kurasi/unggah").get_data(as_text=True)
    r = c.post("/kurasi/unggah", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(bad), "b.jsonl")},
               content_type="multipart/form-data")
    assert r.status_code == 400 and "b.jsonl:2: sectors" in r.get_data(as_text=True)
    broken = b'{"id": "unggah-3", "title": \n' + bad  # a malformed line hides nothing else
    r = c.post("/kurasi/unggah", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(broken), "c.jsonl")},
               content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "c.jsonl:1: invalid JSON" in html and "c.jsonl:3: sectors" in html
    r = c.post("/kurasi/unggah", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(good), "g.jsonl")},
               content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Pratinjau" in html
    with pytest.raises(Exception):
        kb.get("unggah-1")  # nothing written before confirmation
    token = re.search(r'name="token" value="([0-9a-f]+)"', html).group(1)
    r = c.post("/kurasi/unggah", data={"csrf_token": csrf_token(html), "token": token, "confirm": "1"})
    assert r.status_code == 302 and kb.get("unggah-1")["title"] == "Kerja sama unggahan"


def test_upload_size_limit(app, auth):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    c = app.test_client()
    auth.login(c)
    page = c.get("/kurasi/unggah").get_data(as_text=True)
    r = c.post("/kurasi/unggah", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(b"x" * 5000), "a.jsonl")},
               content_type="multipart/form-data")
    assert r.status_code == 413


def test_login_attempts_are_rate_limited(app, auth):
    app.config["SINERGI_LOGIN_LIMIT"] = "3 per minute"
    auth.user(app, "editor")
    c = app.test_client()
    codes = []
    for _ in range(5):
        page = c.get("/kurasi/masuk").get_data(as_text=True)
        codes.append(c.post("/kurasi/masuk", data={"username": "editor", "password": "salah-sekali",
                                                   "csrf_token": csrf_token(page)}).status_code)
    assert 429 in codes


def test_the_dashboard_lists_a_contributors_own_drafts_and_every_draft_to_an_editor(app, auth):
    kb = app.extensions["sinergi_kb"]
    from kb.access import Actor

    body = "Kerja sama pengelolaan sampah regional antar kabupaten yang berbatasan, dengan TPA bersama. " * 2
    for who in ("penulis-a", "penulis-b"):
        kb.create({"id": f"draf-{who}", "kind": "case", "title": f"Draf milik {who}", "language": "id",
                   "summary": "Ringkasan draf untuk uji dasbor kurasi.", "body": body},
                  author=Actor(who, "contributor"), state="draft")
    a = app.test_client()
    auth.login(a, "penulis-a")
    page = a.get("/kurasi/").get_data(as_text=True)
    assert "Draf milik penulis-a" in page and "Draf milik penulis-b" not in page
    e = app.test_client()
    auth.login(e, "editor")
    page = e.get("/kurasi/").get_data(as_text=True)
    assert "Draf milik penulis-a" in page and "Draf milik penulis-b" in page
