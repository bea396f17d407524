import json
import subprocess
import sys
import textwrap

import pytest

from kb.base import KnowledgeBase
from kb.errors import ImportFailed


def test_import_writes_store_and_index(empty_kb, small_file):
    report = empty_kb.import_files([small_file])
    assert sorted(report.created) == ["uji-english", "uji-kartamantul", "uji-sarbagita"]
    rec = empty_kb.get("uji-kartamantul")
    assert rec["regions"] == ["34.71", "34.04", "34.02"] and rec["version"] == 1
    assert empty_kb.check()["ok"]
    assert empty_kb.search("sekretariat bersama").results[0].id == "uji-kartamantul"


def test_one_bad_record_imports_nothing_and_names_file_line_field(empty_kb, tmp_path, small_file):
    bad = tmp_path / "bad.jsonl"
    lines = small_file.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[1])
    broken["regions"] = ["Slemann"]
    broken["sectors"] = ["kuliner"]
    bad.write_text("\n".join([lines[0], json.dumps(broken), lines[2]]) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([bad])
    text = [str(p) for p in e.value.problems]
    assert any(t.startswith(f"{bad}:2: regions:") and "Kabupaten Sleman" in t for t in text)
    assert any(t.startswith(f"{bad}:2: sectors:") and "persampahan" in t for t in text)
    assert empty_kb.store.count() == 0 and empty_kb.index.doc_count() == 0


def test_a_malformed_line_does_not_hide_the_other_records_problems(empty_kb, tmp_path, small_file):
    lines = small_file.read_text(encoding="utf-8").splitlines()
    no_title = json.loads(lines[2])
    del no_title["title"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([lines[0], '{"id": "patah", "title": ', json.dumps(no_title)]) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([bad])
    text = [str(p) for p in e.value.problems]
    assert any(t.startswith(f"{bad}:2:") and "invalid JSON" in t for t in text)
    assert any(t.startswith(f"{bad}:3: title:") for t in text)
    assert len(text) == 2 and empty_kb.store.count() == 0


def test_duplicate_ids_need_upsert(empty_kb, small_file):
    empty_kb.import_files([small_file])
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([small_file])
    assert "already exists" in str(e.value.problems[0])
    report = empty_kb.import_files([small_file], upsert=True)
    assert report.created == [] and report.updated == [] and report.unchanged == 3


def test_upsert_updates_and_keeps_revisions(empty_kb, small_file, tmp_path):
    empty_kb.import_files([small_file])
    changed = tmp_path / "changed.jsonl"
    rec = json.loads(small_file.read_text(encoding="utf-8").splitlines()[0])
    rec["status"] = "selesai"
    changed.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    report = empty_kb.import_files([changed], upsert=True)
    assert report.updated == ["uji-kartamantul"]
    assert empty_kb.get("uji-kartamantul")["version"] == 2
    assert [r["version"] for r in empty_kb.store.revisions("uji-kartamantul")] == [1, 2]
    assert empty_kb.search("kartamantul", filters={"status": ["selesai"]}).total == 1
    assert empty_kb.check()["ok"]


def test_duplicate_within_one_batch(empty_kb, tmp_path, small_file):
    f = tmp_path / "dup.jsonl"
    line = small_file.read_text(encoding="utf-8").splitlines()[0]
    f.write_text(line + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([f])
    assert "duplicate id" in str(e.value.problems[0]) and ":1" in str(e.value.problems[0])


def test_dry_run_writes_nothing(empty_kb, small_file):
    report = empty_kb.import_files([small_file], dry_run=True)
    assert report.read == 3 and empty_kb.store.count() == 0


@pytest.mark.parametrize("content,expected", [
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"   \n", "empty"),
    (b'{"title": "x"\n', "invalid JSON"),
])
def test_unreadable_files_get_clear_messages(empty_kb, tmp_path, content, expected):
    f = tmp_path / "f.jsonl"
    f.write_bytes(content)
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([f])
    assert expected in str(e.value.problems[0])


def test_csv_with_missing_columns(empty_kb, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("title,regions\nJudul,Sleman\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as e:
        empty_kb.import_files([f])
    assert "summary" in str(e.value.problems[0])


def test_csv_import_with_lists(empty_kb, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("title,summary,regions,sectors,start_year\n"
                 "Kerja sama sampah,Dua daerah berbagi TPA regional.,Kab. Sleman;Kota Yogyakarta,persampahan,2010\n",
                 encoding="utf-8")
    empty_kb.import_files([f])
    rec = empty_kb.get("kerja-sama-sampah")
    assert rec["regions"] == ["34.04", "34.71"] and rec["start_year"] == 2010


def test_markdown_guide_becomes_practices(empty_kb, tmp_path):
    f = tmp_path / "panduan.md"
    f.write_text(textwrap.dedent("""\
        # Bentuk sekretariat bersama
        Sekretariat bersama yang tetap menjaga kesinambungan kerja sama.

        Isinya staf dari setiap daerah.

        ## Ukur hasilnya
        Tetapkan indikator yang dapat diukur sejak awal.
        """), encoding="utf-8")
    report = empty_kb.import_files([f])
    assert sorted(report.created) == ["bentuk-sekretariat-bersama", "ukur-hasilnya"]
    assert empty_kb.get("ukur-hasilnya")["kind"] == "practice"


def test_plain_text_guide_headings(empty_kb, tmp_path):
    f = tmp_path / "panduan.txt"
    f.write_text("Komunikasi yang rutin\n\nPimpinan daerah bertemu setiap triwulan untuk membahas kemajuan.\n\n"
                 "Pantau dan evaluasi\n\nData dikumpulkan berkala dan dibahas bersama para pihak.\n", encoding="utf-8")
    report = empty_kb.import_files([f])
    assert sorted(report.created) == ["komunikasi-yang-rutin", "pantau-dan-evaluasi"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_import_export_is_identical(corpus_kb, tmp_path, fmt):
    first = corpus_kb.export(fmt)
    f = tmp_path / f"export.{fmt}"
    f.write_text(first, encoding="utf-8")
    fresh = KnowledgeBase(tmp_path / "fresh")
    fresh.import_files([f])
    assert fresh.export(fmt) == first


def test_two_processes_importing_at_once_do_not_corrupt(tmp_path):
    home = tmp_path / "inst"
    KnowledgeBase(home).mark_initialized()
    files = []
    for k in range(2):
        f = tmp_path / f"batch{k}.jsonl"
        f.write_text("".join(json.dumps({"id": f"b{k}-{i}", "title": f"Kerja sama nomor {i} batch {k}",
                                         "summary": "Ringkasan kerja sama antar daerah untuk uji serentak.",
                                         "regions": ["Kab. Sleman"]}) + "\n" for i in range(150)), encoding="utf-8")
        files.append(f)
    procs = [subprocess.Popen([sys.executable, "-m", "kb.cli", "--home", str(home), "import", str(f)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    kb = KnowledgeBase(home, create=False)
    assert kb.store.count() == 300
    assert kb.check()["ok"]
