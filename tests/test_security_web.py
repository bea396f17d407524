"""Hardening of the web app against bad input: bodies and files that would crash a parser,
redirect targets, formula cells in CSV downloads, costly downloads and statistics, uploads, and
control characters in record text. Real instances through Flask's test client."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from urllib.parse import urlsplit

import pytest

from conftest import csrf_token

pytestmark = pytest.mark.app_config(SINERGI_DOWNLOAD_LIMIT="1000 per minute")


def upload(c, content: bytes, name: str, **extra):
    page = c.get("/kurasi/unggah").get_data(as_text=True)
    return c.post("/kurasi/unggah", data={"csrf_token": csrf_token(page), "file": (io.BytesIO(content), name), **extra},
                  content_type="multipart/form-data")


def message(r) -> str:
    return r.get_json()["error"]["message"] if r.is_json else r.get_data(as_text=True)


# -- item 5: 500s on bad input ------------------------------------------------------------------
@pytest.mark.parametrize("body", ["[" * 100_000, '{"description": ' * 40 + '"x"' + "}" * 40])
def test_deeply_nested_recommend_body_is_a_400_that_says_so(client, body):
    r = client.post("/api/v1/recommend", data=body, content_type="application/json")
    assert r.status_code == 400
    assert "not valid JSON: nested too deeply" in message(r)


def test_malformed_recommend_body_names_the_place(client):
    r = client.post("/api/v1/recommend", data='{"description": "x",}', content_type="application/json")
    assert r.status_code == 400 and "line 1, column" in message(r)


@pytest.mark.parametrize("name,content", [("dalam.json", b"[" * 100_000), ("dalam.jsonl", b"[" * 100_000),
                                          ("dalam.csv", b"title,summary,sources\nJudul uji,Ringkasan uji yang "
                                           b"cukup,\"" + b"[" * 100_000 + b"\"\n")])
def test_deeply_nested_upload_is_reported_not_a_crash(app, name, content, auth):
    c = app.test_client()
    auth.login(c)
    r = upload(c, content, name)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert name in html and ("nested too deeply" in html or "must be a JSON list" in html)


def test_status_form_with_a_version_that_is_not_a_number_is_400(app, auth):
    c = app.test_client()
    auth.login(c)
    page = c.get("/kasus/tpa-sarimukti").get_data(as_text=True)
    r = c.post("/kurasi/tpa-sarimukti/status", data={"csrf_token": csrf_token(page), "state": "draft",
                                                     "version": "abc"})
    assert r.status_code == 400
    assert "version must be a whole number" in r.get_data(as_text=True)
    assert app.extensions["sinergi_kb"].get("tpa-sarimukti")["state"] == "published"  # nothing applied


# -- items 5 and 6: redirect targets -------------------------------------------------------------
EVIL_TARGETS = ["/%09/evil.com", "//evil.com", "/%5Cevil.com", "%09//evil.com", "https://evil.com/",
                "/%0d/evil.com", "/%0a/evil.com", "/%00/evil.com", "javascript:alert(1)", "/%5C%09evil.com"]


def _stays_here(location: str) -> bool:
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", location).replace("\\", "/")
    parts = urlsplit(cleaned)
    return cleaned.startswith("/") and not cleaned.startswith("//") and not parts.netloc and not parts.scheme


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_language_switch_never_redirects_to_another_site(client, target):
    r = client.get(f"/lang/en?next={target}")
    assert r.status_code == 302
    assert _stays_here(r.headers["Location"]), r.headers["Location"]


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_sign_in_never_redirects_to_another_site(app, target, auth):
    r = auth.login(app.test_client(), next_url=target)
    assert r.status_code == 302
    assert _stays_here(r.headers["Location"]), r.headers["Location"]


@pytest.mark.parametrize("via", ["lang", "login"])
def test_line_breaks_in_next_cannot_add_headers(app, via, auth):
    c = app.test_client()
    target = "/cari%0d%0aSet-Cookie:x=1"
    r = c.get(f"/lang/en?next={target}") if via == "lang" else auth.login(c, next_url=target)
    assert r.status_code == 302
    assert "\r" not in r.headers["Location"] and "\n" not in r.headers["Location"]
    assert not any(v.startswith("x=1") for v in r.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("target", ["/cari?q=sampah&sector=persampahan", "/kasus/tpa-sarimukti"])
def test_local_next_is_still_followed(app, target, auth):
    assert app.test_client().get("/lang/en", query_string={"next": target}).headers["Location"] == target
    escaped = target.replace("&", "%26").replace("?", "%3F")
    assert auth.login(app.test_client(), next_url=escaped).headers["Location"] == target


# -- item 7: formulas in CSV downloads -----------------------------------------------------------
FORMULA_TITLE = '=HYPERLINK("http://contoh.invalid/x","Klik") budidaya rumput laut bersama'


def _formula_case(kb):
    kb.create({"id": "uji-formula", "title": FORMULA_TITLE, "regions": ["Kabupaten Asmat"], "sectors": ["perikanan"],
               "summary": "+SUM(1+1) budidaya rumput laut bersama antar kampung pesisir Asmat.",
               "lessons": ["@SUM(A1:A9) pelajaran"], "third_parties": ["-2+3 koperasi"]}, author="uji")


def _rows(r) -> list[list[str]]:
    return list(csv.reader(io.StringIO(r.get_data(as_text=True))))


def test_search_download_neutralises_formula_cells(app):
    kb = app.extensions["sinergi_kb"]
    _formula_case(kb)
    r = app.test_client().get("/cari.csv?q=rumput+laut+Asmat")
    rows = _rows(r)
    header, row = rows[0], next(x for x in rows[1:] if x[0] == "uji-formula")
    cell = dict(zip(header, row))
    assert cell["title"] == "'" + FORMULA_TITLE
    assert cell["summary"].startswith("'+SUM")
    assert cell["lessons"].startswith("'@SUM") and cell["third_parties"].startswith("'-2+3")
    for rec in rows[1:]:
        assert not any(x[:1] in ("=", "+", "-", "@", "\t", "\r") for x in rec)


def test_export_stays_lossless(app):
    kb = app.extensions["sinergi_kb"]
    _formula_case(kb)
    rows = list(csv.DictReader(io.StringIO(kb.export("csv"))))
    assert next(x for x in rows if x["id"] == "uji-formula")["title"] == FORMULA_TITLE


def test_study_visit_download_neutralises_formula_cells(app):
    kb = app.extensions["sinergi_kb"]
    _formula_case(kb)
    q = {"description": "Kami ingin budidaya rumput laut bersama antar kampung pesisir seperti di Asmat.",
         "region": "Kabupaten Mimika"}
    html = app.test_client().get("/usulan", query_string=q).get_data(as_text=True)
    peers = re.findall(r'name="peer" value="([^"]+)"', html)
    r = app.test_client().get("/usulan/studi-banding.csv", query_string={**q, "peer": peers})
    rows = _rows(r)
    kasus = [dict(zip(rows[0], x))["kasus"] for x in rows[1:]]
    assert any(k.startswith("'=HYPERLINK") for k in kasus), kasus
    assert not any(x[:1] in ("=", "+", "-", "@") for row in rows for x in row)


# -- item 8: costly downloads and statistics -----------------------------------------------------
def test_search_download_is_streamed_and_cut_with_a_note(app, monkeypatch):
    from webapp.views import search as search_view

    monkeypatch.setattr(search_view, "MAX_DOWNLOAD", 7)
    monkeypatch.setattr(search_view, "DOWNLOAD_PAGE", 3)
    r = app.test_client().get("/cari.csv")
    assert r.is_streamed
    rows = _rows(r)
    total = app.extensions["sinergi_kb"].search("", limit=1).total
    assert len(rows) == 1 + 7 + 1
    assert rows[-1][0].startswith(f"# cut: the first 7 of {total} results")
    assert r.headers["X-Sinergi-Rows"] == f"7 of {total}"
    ids = [x[0] for x in rows[1:-1]]
    assert len(set(ids)) == 7  # pages of 3 joined without a gap or a repeat


def test_small_result_download_has_no_note(app):
    rows = _rows(app.test_client().get("/cari.csv?q=sampah&island=jawa"))
    assert len(rows) > 1 and not any(x[0].startswith("#") for x in rows)


def test_downloads_are_rate_limited_per_client_with_retry_after(app):
    app.config["SINERGI_DOWNLOAD_LIMIT"] = "2 per minute"
    c = app.test_client()
    assert c.get("/cari.csv?q=sampah").status_code == 200
    q = {"description": "Kota kami ingin membangun TPA regional bersama kabupaten tetangga.", "peer": "34.04"}
    assert c.get("/usulan/studi-banding.csv", query_string=q).status_code in (200, 400)
    r = c.get("/cari.csv?q=air")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    other = app.test_client().get("/cari.csv?q=air", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200  # another client has its own budget
    assert c.get("/cari?q=air").status_code == 200  # pages are not limited


def test_statistics_are_computed_once_per_store_change(app, monkeypatch):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    first = c.get("/statistik").get_data(as_text=True)
    n = int(re.search(r"(\d+) catatan terbit", first).group(1))

    def no_full_read(*a, **kw):
        raise AssertionError("the statistics page read the whole store again")

    monkeypatch.setattr(kb.store, "iter_data", no_full_read)
    assert c.get("/statistik").get_data(as_text=True) == first
    monkeypatch.undo()
    kb.create({"title": "Kerja sama statistik baru", "summary": "Catatan baru untuk statistik."}, author="uji")
    again = c.get("/statistik").get_data(as_text=True)
    assert f"{n + 1} catatan terbit" in again


# -- item 11: uploads ----------------------------------------------------------------------------
def test_csv_header_with_very_many_columns_is_refused_quickly(app, auth):
    c = app.test_client()
    auth.login(c)
    header = ",".join(["title", "summary"] + ["k"] * 150_000)  # under 500 kB: no spooled temporary file
    t0 = time.perf_counter()
    r = upload(c, (header + "\nJudul uji,Ringkasan uji yang cukup\n").encode(), "lebar.csv")
    assert time.perf_counter() - t0 < 5
    assert r.status_code == 400 and "150002 columns" in r.get_data(as_text=True)


def test_upload_with_too_many_records_is_refused(app, auth):
    app.config["SINERGI_UPLOAD_MAX_RECORDS"] = 3
    c = app.test_client()
    auth.login(c)
    lines = b"".join(json.dumps({"title": f"Judul uji {i}", "summary": "Ringkasan uji yang cukup."}).encode() + b"\n"
                     for i in range(5))
    for name, content in (("banyak.jsonl", lines), ("banyak.csv", b"title,summary\n" + b"".join(
            f"Judul uji {i},Ringkasan uji yang cukup\n".encode() for i in range(5)))):
        r = upload(c, content, name)
        assert r.status_code == 400 and "more than 3 records" in r.get_data(as_text=True)


def test_unconfirmed_upload_previews_expire(app, auth):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    auth.login(c)
    good = b'{"id": "unggah-lama", "title": "Kerja sama unggahan", "summary": "Catatan dari unggahan uji."}\n'
    html = upload(c, good, "g.jsonl").get_data(as_text=True)
    token = re.search(r'name="token" value="([0-9a-f]+)"', html).group(1)
    preview = kb.home / "uploads" / f"{token}.json"
    assert preview.exists()
    old = time.time() - app.config["SINERGI_UPLOAD_TTL"] - 60
    os.utime(preview, (old, old))
    c.get("/kurasi/unggah")
    assert not preview.exists()
    r = c.post("/kurasi/unggah", data={"csrf_token": csrf_token(html), "token": token, "confirm": "1"})
    assert r.status_code == 400 and "kedaluwarsa" in r.get_data(as_text=True)
    with pytest.raises(Exception):
        kb.get("unggah-lama")


# -- item 12: text hygiene -----------------------------------------------------------------------
@pytest.mark.parametrize("title,words", [("Kerja sama\x00 sampah", "control character U+0000"),
                                         ("Kerja sama\x1b[31m merah", "control character U+001B"),
                                         ("\u200b\u200b\u200b\u2060", "visible letters or digits"),
                                         ("\u200b\u200c\u200d\u2060\u00a0\u3000", "visible letters or digits")])
def test_titles_with_control_or_only_invisible_characters_are_refused(app, title, words, auth):
    c = app.test_client()
    auth.login(c)
    page = c.get("/kurasi/baru").get_data(as_text=True)
    r = c.post("/kurasi/baru", data={"csrf_token": csrf_token(page), "kind": "case", "language": "id",
                                     "title": title, "summary": "Ringkasan uji yang cukup panjang."})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and words in html
    versions = app.extensions["sinergi_kb"].store.versions(states=("published", "draft"))
    assert "record" not in versions and not any(i.startswith("kerja-sama") and "sampah" in i for i in versions)


def test_api_names_the_field_with_a_control_character(app, auth):
    r = app.test_client().post("/api/v1/cases", headers=auth.headers(app, "editor"),
                               json={"title": "Judul yang baik", "summary": "Ringkasan\x07 uji cukup panjang.",
                                     "sources": [{"title": "Laporan\x00 tahunan"}]})
    assert r.status_code == 400
    fields = {p["field"]: p["message"] for p in r.get_json()["error"]["details"]}
    assert "U+0007" in fields["summary"] and "U+0000" in fields["sources.0.title"]


def test_slow_statistics_answer_with_the_previous_figures_while_the_new_ones_are_worked_out(app, monkeypatch):
    """At 100,000 records the statistics take seconds to work out after each change: a request
    then gets the previous figures at once, marked as being updated, and the new ones after."""
    import time as _time

    import webapp.views.main as main_views

    monkeypatch.setattr(main_views, "SLOW_STATISTICS_S", -1.0)  # every result counts as slow
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    first = c.get("/statistik").get_data(as_text=True)
    n = int(re.search(r"(\d+) catatan terbit", first).group(1))
    assert "sedang dihitung" not in first
    kb.create({"title": "Kerja sama statistik lambat", "summary": "Catatan baru untuk statistik."}, author="uji")
    stale = c.get("/statistik").get_data(as_text=True)
    assert f"{n} catatan terbit" in stale and "sedang dihitung" in stale
    with app.app_context():
        cache = main_views._statistics_cache()
        deadline = _time.monotonic() + 30
        while cache.updating(("page", "id")) and _time.monotonic() < deadline:
            _time.sleep(0.05)
        assert not cache.updating(("page", "id"))
    fresh = c.get("/statistik").get_data(as_text=True)
    assert f"{n + 1} catatan terbit" in fresh and "sedang dihitung" not in fresh
    english = c.get("/statistik", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"{n + 1}" in english


def test_a_result_first_worked_out_while_another_is_refreshed_is_made_of_fresh_figures(app, monkeypatch):
    """The English page, never shown before, is worked out while the Indonesian one is being
    refreshed in the background: it must count the new record, not the previous figures."""
    import threading as _threading

    import webapp.views.main as main_views

    monkeypatch.setattr(main_views, "SLOW_STATISTICS_S", -1.0)
    release = _threading.Event()
    refresh = main_views._StatisticsCache._refresh
    monkeypatch.setattr(main_views._StatisticsCache, "_refresh",
                        lambda self, *a: (release.wait(30), refresh(self, *a)))
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    n = int(re.search(r"(\d+) catatan terbit", c.get("/statistik").get_data(as_text=True)).group(1))
    kb.create({"title": "Kerja sama statistik bahasa", "summary": "Catatan baru untuk statistik."}, author="uji")
    try:
        assert f"{n} catatan terbit" in c.get("/statistik").get_data(as_text=True)  # previous, refreshing
        english = c.get("/statistik?lang=en", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert f"{n + 1} published records" in english
    finally:
        release.set()
