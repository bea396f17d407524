"""Imports of any size on the command line: files are read as streams, every record is checked
before anything is written, and the write is one transaction however many chunks it takes.

Sizes are scaled down: the whole-file limit (the web upload's) and the chunk sizes are patched
small, so a file of a few dozen records is "larger than the limit" and spans several chunks.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import kb.base
import kb.io
from kb.base import KnowledgeBase
from kb.cli import main
from kb.errors import ImportFailed
from kb.io import FileProblem, decode


def _record(i: int, **extra) -> dict:
    return {"id": f"arus-{i:03d}", "title": f"Kerja sama pengelolaan air baku nomor {i}",
            "summary": "Dua kabupaten berbagi sumber air baku dan membiayai jaringan pipa transmisi bersama.",
            "regions": ["Kab. Sleman", "Kab. Bantul"], "sectors": ["air-minum"], **extra}


def _jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _cli(*args: str):
    res = CliRunner().invoke(main, list(args))
    return res


@pytest.fixture
def small_limits(monkeypatch):
    """A whole-file limit of 4 KB and chunks of 10 records (7 CSV rows)."""
    monkeypatch.setattr(kb.io, "MAX_FILE_BYTES", 4096)
    monkeypatch.setattr(kb.base, "IMPORT_CHUNK", 10, raising=False)
    monkeypatch.setattr(kb.io, "CSV_CHUNK_ROWS", 7, raising=False)


def test_an_export_larger_than_the_upload_limit_restores_through_the_cli(corpus_kb, tmp_path, small_limits):
    backup = tmp_path / "cadangan.jsonl"
    assert _cli("--home", str(corpus_kb.home), "export", "-o", str(backup)).exit_code == 0
    assert backup.stat().st_size > kb.io.MAX_FILE_BYTES
    home = tmp_path / "pulih"
    assert _cli("--home", str(home), "init", "--empty").exit_code == 0
    res = _cli("--home", str(home), "import", str(backup))
    assert res.exit_code == 0, res.output
    restored = KnowledgeBase(home, create=False)
    assert restored.export() == backup.read_text(encoding="utf-8")
    assert restored.check()["ok"]


def test_the_web_upload_keeps_its_size_limit(small_limits):
    with pytest.raises(FileProblem) as e:
        decode(b"{}\n" * 2000, "unggahan.jsonl")
    assert "larger than" in str(e.value)


def test_a_bad_record_after_many_chunks_writes_nothing(empty_kb, tmp_path, small_limits):
    f = tmp_path / "besar.jsonl"
    _jsonl(f, [_record(i) for i in range(45)] + [_record(45, sectors=["kuliner"])])
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([f])
    assert [str(p) for p in e.value.problems] == [f"{f}:46: sectors: " + e.value.problems[0].message]
    assert empty_kb.store.count() == 0 and empty_kb.index.doc_count() == 0
    assert not list(empty_kb.home.glob("import-*"))  # the spool file is gone


def test_a_conflict_in_a_later_chunk_rolls_back_the_earlier_ones(empty_kb, tmp_path, small_limits, monkeypatch):
    """An id taken by another writer between the check and the write (simulated: the check
    sees an empty store) stops the write in chunk 4 of 5, and chunks 1-3 are not kept."""
    empty_kb.create(_record(35), author="lain")
    monkeypatch.setattr(empty_kb.store, "existing_ids", lambda ids: set())
    f = tmp_path / "besar.jsonl"
    _jsonl(f, [_record(i) for i in range(50)])
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([f])
    assert "arus-035" in str(e.value.problems[0])
    assert empty_kb.store.count() == 1 and empty_kb.index.doc_count() == 1


def test_upsert_in_chunks_updates_store_and_index(empty_kb, tmp_path, small_limits):
    f = tmp_path / "besar.jsonl"
    _jsonl(f, [_record(i) for i in range(25)])
    empty_kb.import_files([f])
    _jsonl(f, [_record(i, status="selesai" if i % 2 else None) for i in range(30)])
    report = empty_kb.import_files([f], upsert=True)
    assert len(report.created) == 5 and len(report.updated) == 12 and report.unchanged == 13
    assert empty_kb.search("air baku", filters={"status": ["selesai"]}).total == 15
    assert empty_kb.check()["ok"]


def test_json_array_is_read_an_element_at_a_time(empty_kb, tmp_path, small_limits):
    f = tmp_path / "larik.json"
    f.write_text(json.dumps([_record(i) for i in range(30)], indent=1), encoding="utf-8")
    assert f.stat().st_size > kb.io.MAX_FILE_BYTES
    assert len(empty_kb.import_files([f]).created) == 30
    one = tmp_path / "satu.json"
    one.write_text(json.dumps(_record(99)), encoding="utf-8")
    assert empty_kb.import_files([one]).created == ["arus-099"]


def test_a_broken_json_array_names_where_it_broke(empty_kb, tmp_path):
    f = tmp_path / "patah.json"
    text = json.dumps([_record(i) for i in range(3)])
    f.write_text(text[:-40], encoding="utf-8")
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([f])
    assert "invalid JSON after record 2" in str(e.value.problems[0])
    assert empty_kb.store.count() == 0


def test_csv_chunks_keep_line_numbers(empty_kb, tmp_path, small_limits):
    f = tmp_path / "tabel.csv"
    rows = [f"Kerja sama angkutan nomor {i},Dua kota berbagi trayek bus antarkota setiap hari.,{2000 + i}"
            for i in range(12)]
    rows[8] = "Kerja sama angkutan rusak,Dua kota berbagi trayek bus antarkota setiap hari.,dua ribu"
    f.write_text("title,summary,start_year\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([f])
    assert [str(p) for p in e.value.problems] == [f"{f}:10: start_year: must be a whole number, got 'dua ribu'"]


def test_csv_from_a_spreadsheet_in_windows_1252_with_crlf(empty_kb, tmp_path):
    f = tmp_path / "tabel.csv"
    f.write_bytes(("title,summary\r\n"
                   "Kerja sama “café” desa wisata,Dua kabupaten memasarkan paket wisata – bersama.\r\n").encode("cp1252"))
    report = empty_kb.import_files([f])
    assert empty_kb.get(report.created[0])["title"] == "Kerja sama “café” desa wisata"
    g = tmp_path / "bom.csv"
    g.write_bytes("title,summary\nKerja sama air baku,Dua kabupaten berbagi mata air bersama.\n".encode("utf-8-sig"))
    assert empty_kb.import_files([g]).created == ["kerja-sama-air-baku"]


def test_progress_bars_on_stderr_only_when_asked(tmp_path):
    home = tmp_path / "inst"
    f = tmp_path / "data.jsonl"
    _jsonl(f, [_record(i) for i in range(5)])
    assert _cli("--home", str(home), "init", "--empty").exit_code == 0
    quiet = _cli("--home", str(home), "import", "--dry-run", str(f))
    assert quiet.exit_code == 0 and "checking" not in quiet.stderr
    shown = _cli("--home", str(home), "import", "--progress", str(f))
    assert shown.exit_code == 0, shown.output
    assert "checking" in shown.stderr and "writing" in shown.stderr and "indexing" in shown.stderr
    assert "Imported 5 new" in shown.stdout
