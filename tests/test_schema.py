from kb.schema import validate_record

BASE = {"title": "Kerja sama uji", "summary": "Ringkasan yang cukup panjang."}


def test_minimal_record_gets_defaults_and_a_slug():
    data, errs = validate_record(BASE)
    assert not errs
    assert data["id"] == "kerja-sama-uji" and data["kind"] == "case" and data["language"] == "id"


def test_regions_resolve_to_codes_and_sector_synonyms_to_keys():
    data, errs = validate_record({**BASE, "regions": ["Kab. Sleman", "34.71"], "sectors": ["sampah", "Air bersih"],
                                  "cooperation_type": "pihak-ketiga"})
    assert not errs
    assert data["regions"] == ["34.04", "34.71"]
    assert data["sectors"] == ["persampahan", "air-minum"]
    assert data["cooperation_type"] == "KSDPK"


def test_unknown_region_names_candidates():
    _, errs = validate_record({**BASE, "regions": ["Slemann"]})
    assert errs[0][0] == "regions" and "Kabupaten Sleman" in errs[0][1]


def test_unknown_sector_lists_vocabulary():
    _, errs = validate_record({**BASE, "sectors": ["kuliner"]})
    assert errs[0][0] == "sectors" and "persampahan" in errs[0][1]


def test_required_fields_and_unknown_fields():
    _, errs = validate_record({"title": "Hanya judul", "colour": "red"})
    fields = {f for f, _ in errs}
    assert "summary" in fields and "colour" in fields


def test_bad_values_are_reported_by_field():
    _, errs = validate_record({**BASE, "status": "jalan", "start_year": 2020, "end_year": 2010,
                               "documents": [{"type": "surat", "signed": "2020-13-01"}],
                               "sources": [{"title": "x", "url": "ftp://x"}]})
    fields = {f for f, _ in errs}
    assert "status" in fields
    assert any(f and f.startswith("documents.0") for f in fields)
    assert any(f and f.startswith("sources.0") for f in fields)


def test_end_before_start_is_refused():
    _, errs = validate_record({**BASE, "start_year": 2020, "end_year": 2010})
    assert errs and "end_year" in errs[0][1]


def test_very_long_title_is_refused():
    _, errs = validate_record({**BASE, "title": "x" * 5000})
    assert errs[0][0] == "title"


def test_bad_id_is_refused():
    _, errs = validate_record({**BASE, "id": "Bukan Slug!"})
    assert errs[0][0] == "id"


def test_a_source_carries_publisher_date_and_access_and_a_record_its_checked_date():
    data, errs = validate_record({
        "title": "Sampah bersama", "summary": "Dua kota mengelola sampah bersama.", "checked": "2026-11-30",
        "sources": [{"title": "Perjanjian kerja sama TPA", "url": "https://example.org/berita/tpa-2019",
                     "publisher": "Pemerintah Kota Contoh", "date": 2019, "accessed": "2026-11-30"}]})
    assert errs == []
    assert data["sources"][0] == {"title": "Perjanjian kerja sama TPA", "url": "https://example.org/berita/tpa-2019",
                                  "publisher": "Pemerintah Kota Contoh", "date": "2019", "accessed": "2026-11-30"}
    assert data["checked"] == "2026-11-30"
    for bad in ("19-07", "2019-13", "2019-02-30", "kemarin"):
        _, errs = validate_record({"title": "Sampah bersama", "summary": "Dua kota mengelola sampah bersama.",
                                   "sources": [{"title": "Berita", "date": bad}]})
        assert errs and errs[0][0] == "sources.0.date", bad
