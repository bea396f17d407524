"""Workbooks (.xlsx): `sinergi import` of a sheet in the CSV format, `sinergi export --format xlsx`,
and the search page's spreadsheet download."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import openpyxl
import pandas as pd
import pytest

import kb.io
from kb.base import KnowledgeBase
from kb.errors import ImportFailed, Invalid
from kb.schema import FIELD_ORDER


def _sheet(path, rows) -> None:
    """A workbook as a person makes one: cells typed as the spreadsheet types them."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Kasus"
    for row in rows:
        ws.append(row)
    wb.save(path)


def _problems(kb, path) -> list[str]:
    with pytest.raises(ImportFailed) as e:
        kb.import_files([path])
    return [str(p) for p in e.value.problems]


def test_a_sheet_imports_like_csv(empty_kb, tmp_path):
    f = tmp_path / "kasus.xlsx"
    _sheet(f, [["title", "summary", "regions", "sectors", "start_year", "indicators", "lessons"],
               ["Kerja sama sampah", "Dua daerah berbagi TPA regional.", "Kab. Sleman;Kota Yogyakarta",
                "persampahan", 2010, '[{"name": "sampah terangkut", "value": 120, "unit": "ton/hari"}]',
                "Mulai dari sekretariat bersama; ukur hasilnya"],
               [None, None, None, None, None, None, None],  # an empty row is skipped
               ["Angkutan umum bersama", "Tiga kota berbagi koridor bus.", "Kota Surakarta",
                "transportasi", "2015", None, None]])
    report = empty_kb.import_files([f])
    assert sorted(report.created) == ["angkutan-umum-bersama", "kerja-sama-sampah"]
    rec = empty_kb.get("kerja-sama-sampah")
    assert rec["regions"] == ["34.04", "34.71"] and rec["start_year"] == 2010  # a number cell, read as typed
    assert rec["lessons"] == ["Mulai dari sekretariat bersama", "ukur hasilnya"]
    assert rec["indicators"][0]["unit"] == "ton/hari"
    assert empty_kb.get("angkutan-umum-bersama")["start_year"] == 2015  # a text cell


def test_one_bad_row_imports_nothing_and_names_file_row_field(empty_kb, tmp_path):
    f = tmp_path / "kasus.xlsx"
    _sheet(f, [["title", "summary", "regions", "start_year"],
               ["Kerja sama yang baik", "Ringkasan yang cukup panjang.", "Kab. Sleman", 2010],
               [None, None, None, None],
               ["Kerja sama kedua", "Ringkasan yang cukup panjang.", "Kabupaten Antah Berantah", "tahun lalu"]])
    problems = _problems(empty_kb, f)
    assert f"{f}:4: start_year: must be a whole number, got 'tahun lalu'" in problems
    assert any(p.startswith(f"{f}:4: regions: ") and "Antah Berantah" in p for p in problems)
    assert empty_kb.store.count() == 0


@pytest.mark.parametrize("rows,expected", [
    ([["title", "regions"], ["Judul", "Sleman"]], "spreadsheet header lacks the required column(s) summary"),
    ([["title", "summary", "wilayah"], ["Judul", "Ringkasan", "x"]], "unknown spreadsheet column(s) wilayah"),
    ([["title", None, "summary"], ["Judul", "x", "Ringkasan"]], "column(s) B of the header row have no name"),
    ([["title", "summary", "title"], ["a", "b", "c"]], "column(s) named twice: title"),
    ([], "the first sheet is empty"),
])
def test_header_problems(empty_kb, tmp_path, rows, expected):
    f = tmp_path / "kasus.xlsx"
    _sheet(f, rows)
    assert any(expected in p for p in _problems(empty_kb, f))


def test_a_value_outside_the_named_columns_is_a_problem(empty_kb, tmp_path):
    f = tmp_path / "kasus.xlsx"
    _sheet(f, [["title", "summary"], ["Judul kerja sama", "Ringkasan yang cukup panjang.", None, "lupa"]])
    assert f"{f}:2: a value in column D, which the header row does not name" in _problems(empty_kb, f)


def test_not_a_workbook_and_too_large_workbooks_are_refused(empty_kb, tmp_path, monkeypatch):
    fake = tmp_path / "palsu.xlsx"
    fake.write_text("title,summary\nJudul,Ringkasan\n", encoding="utf-8")
    assert any("not an .xlsx workbook" in p for p in _problems(empty_kb, fake))
    f = tmp_path / "kasus.xlsx"
    _sheet(f, [["title", "summary"]] + [[f"Judul nomor {i}", "Ringkasan yang cukup panjang."] for i in range(5)])
    unpacked = sum(i.file_size for i in zipfile.ZipFile(f).infolist())
    monkeypatch.setattr(kb.io, "MAX_XLSX_UNPACKED", unpacked - 1)
    assert any("unpacks to" in p for p in _problems(empty_kb, f))
    monkeypatch.setattr(kb.io, "MAX_XLSX_UNPACKED", unpacked)
    monkeypatch.setattr(kb.io, "MAX_XLSX_ROWS", 4)
    assert any("more than 4 rows" in p for p in _problems(empty_kb, f))
    assert empty_kb.store.count() == 0


def test_export_xlsx_then_import_gives_the_same_records(corpus_kb, tmp_path):
    book = corpus_kb.export("xlsx")
    f = tmp_path / "semua.xlsx"
    f.write_bytes(book)
    sheet = pd.read_excel(f, dtype=str, keep_default_na=False)
    assert list(sheet.columns) == list(FIELD_ORDER) and len(sheet) == corpus_kb.store.count()
    fresh = KnowledgeBase(tmp_path / "fresh")
    fresh.import_files([f])
    assert fresh.export("jsonl") == corpus_kb.export("jsonl")
    assert fresh.store.records() and [_data(r) for r in fresh.store.records()] == \
        [_data(r) for r in corpus_kb.store.records()]


def _data(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k in FIELD_ORDER}


def test_export_keeps_formula_looking_text_as_text(empty_kb, tmp_path):
    empty_kb.create({"id": "uji-rumus", "title": "=SUM(1+1) judul rumus", "summary": "+ringkasan yang mirip rumus.",
                     "lessons": ["@pelajaran", "-2+3 koperasi"], "body": "Baris satu\r\nbaris dua"}, author="uji")
    f = tmp_path / "rumus.xlsx"
    f.write_bytes(empty_kb.export("xlsx"))
    ws = openpyxl.load_workbook(f).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    fresh = KnowledgeBase(tmp_path / "fresh")
    fresh.import_files([f])
    assert _data(fresh.get("uji-rumus")) == _data(empty_kb.get("uji-rumus"))


def test_export_refuses_a_text_longer_than_a_cell(empty_kb):
    empty_kb.create({"id": "uji-panjang", "title": "Catatan yang sangat panjang",
                     "summary": "Isinya lebih panjang dari satu sel lembar kerja.", "body": "kata " * 8000},
                    author="uji")
    with pytest.raises(Invalid) as e:
        empty_kb.export("xlsx")
    n = len(empty_kb.get("uji-panjang")["body"])
    assert n > 32_767 and [str(p) for p in e.value.problems] == [
        f"uji-panjang: body: {n:,} characters; a spreadsheet cell holds at most 32,767: export as jsonl or csv"]


def test_export_command_writes_a_workbook(corpus_kb, tmp_path):
    from click.testing import CliRunner

    from webapp.cli import main

    out = tmp_path / "semua.xlsx"
    r = CliRunner().invoke(main, ["--home", str(corpus_kb.home), "export", "--format", "xlsx", "-o", str(out)], obj={})
    assert r.exit_code == 0, r.output
    assert len(pd.read_excel(out)) == corpus_kb.store.count()
    home = tmp_path / "baru"
    assert CliRunner().invoke(main, ["--home", str(home), "init", "--empty"], obj={}).exit_code == 0
    r = CliRunner().invoke(main, ["--home", str(home), "import", str(out), "--json"], obj={})
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["created"] == corpus_kb.store.count()


# -- the search page's download ------------------------------------------------------------------
def _book(r) -> list[list[str]]:
    frame = pd.read_excel(io.BytesIO(r.data), header=None, dtype=str, keep_default_na=False)
    return frame.to_numpy().tolist()


def test_search_download_as_workbook_has_the_rows_of_the_csv(client):
    q = "/cari.{}?q=sampah&island=jawa"
    book = client.get(q.format("xlsx"))
    assert book.status_code == 200 and book.mimetype == kb.io.XLSX_MEDIA_TYPE
    assert book.headers["Content-Disposition"].endswith('filename="sinergi-hasil-pencarian.xlsx"')
    table = list(csv.reader(io.StringIO(client.get(q.format("csv")).get_data(as_text=True))))
    assert len(table) > 3 and _book(book) == table
    assert book.headers["X-Sinergi-Rows"] == f"{len(table) - 1} of {len(table) - 1}"
    page = client.get("/cari?q=sampah&island=jawa").get_data(as_text=True)
    assert 'href="/cari.xlsx?q=sampah&amp;island=jawa"' in page


def test_search_workbook_neutralises_formulas_and_is_cut_with_a_note(app, monkeypatch):
    from webapp.views import search as search_view

    kb_ = app.extensions["sinergi_kb"]
    kb_.create({"id": "uji-formula", "title": '=HYPERLINK("http://contoh.invalid/x","Klik") rumput laut Asmat',
                "summary": "+SUM(1+1) budidaya rumput laut bersama antar kampung pesisir Asmat.",
                "regions": ["Kabupaten Asmat"]}, author="uji")
    rows = _book(app.test_client().get("/cari.xlsx?q=rumput+laut+Asmat"))
    cell = dict(zip(rows[0], next(x for x in rows[1:] if x[0] == "uji-formula")))
    assert cell["title"].startswith("'=HYPERLINK") and cell["summary"].startswith("'+SUM")
    assert not any(x[:1] in ("=", "+", "-", "@") for row in rows for x in row)

    monkeypatch.setattr(search_view, "MAX_DOWNLOAD", 7)
    monkeypatch.setattr(search_view, "DOWNLOAD_PAGE", 3)
    r = app.test_client().get("/cari.xlsx")
    rows = _book(r)
    total = kb_.search("", limit=1).total
    assert len(rows) == 1 + 7 + 1 and rows[-1][0].startswith(f"# cut: the first 7 of {total} results")
    assert len({x[0] for x in rows[1:-1]}) == 7 and r.headers["X-Sinergi-Rows"] == f"7 of {total}"


def test_workbook_downloads_share_the_download_budget(app):
    app.config["SINERGI_DOWNLOAD_LIMIT"] = "2 per minute"
    c = app.test_client()
    assert c.get("/cari.csv?q=sampah").status_code == 200
    assert c.get("/cari.xlsx?q=sampah").status_code == 200
    r = c.get("/cari.xlsx?q=air")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_a_cell_longer_than_a_spreadsheet_holds_is_cut_in_the_download(app):
    kb_ = app.extensions["sinergi_kb"]
    kb_.create({"id": "uji-panjang", "title": "Catatan rumput laut yang sangat panjang",
                "summary": "Isinya lebih panjang dari satu sel lembar kerja.", "body": "kata " * 8000}, author="uji")
    rows = _book(app.test_client().get("/cari.xlsx?q=sangat+panjang+lembar+kerja"))
    body = dict(zip(rows[0], next(x for x in rows[1:] if x[0] == "uji-panjang")))["body"]
    assert len(body) == kb.io.XLSX_CELL_MAX and body.endswith("…")


def test_the_upload_page_sends_workbooks_to_the_command_line(app, auth, tmp_path):
    from tests.test_security_web import upload

    f = tmp_path / "kasus.xlsx"
    _sheet(f, [["title", "summary"], ["Kerja sama lewat unggahan", "Ringkasan yang cukup panjang."]])
    c = app.test_client()
    auth.login(c)
    r = upload(c, f.read_bytes(), "kasus.xlsx")
    assert r.status_code == 400
    assert "is imported with `sinergi import`; to upload it here, save it as CSV" in r.get_data(as_text=True)
    assert app.extensions["sinergi_kb"].store.count(state="draft") == 0
