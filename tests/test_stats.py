"""Statistics (kb/stats.py): the counts and cross-tables of the command line, the statistics page
and the home page, checked against counts made here by hand from the store's records."""

from __future__ import annotations

import json
import re
from collections import Counter
from itertools import combinations

import pytest

from kb.gazetteer import gazetteer
from kb.stats import record_frame, region_pairs, statistics

EXTRA = [
    # two sectors, regions on two islands, English
    {"id": "uji-statistik-dua-pulau", "language": "en", "title": "Ferry link between two islands",
     "summary": "Two regions share a ferry service across the strait.", "regions": ["Kota Surabaya", "Kab. Badung"],
     "sectors": ["transportasi", "pariwisata"], "status": "terhenti", "cooperation_type": "KSDD", "start_year": 1999},
    # no regions, no status, no year: counted only where it has a value
    {"id": "uji-statistik-tanpa-daerah", "kind": "practice", "title": "Praktik tanpa daerah",
     "summary": "Sebuah praktik baik tanpa daerah dan tanpa status.", "sectors": ["pendidikan"]},
    # a province and two regencies of it: the province counted once
    {"id": "uji-statistik-provinsi", "title": "Kerja sama sampah satu provinsi",
     "summary": "Provinsi dan dua kabupaten berbagi TPA regional.", "regions": ["34", "Kab. Sleman", "Kab. Bantul"],
     "sectors": ["persampahan"], "status": "berjalan", "cooperation_type": "KSDPK", "start_year": 2021},
]


@pytest.fixture(scope="module")
def kb(corpus_home, tmp_path_factory):
    """The corpus plus the records above, a draft and a deleted record (neither counted)."""
    from kb.base import KnowledgeBase
    from tests.conftest import copy_instance

    kb = KnowledgeBase(copy_instance(corpus_home, tmp_path_factory.mktemp("stats") / "inst"), create=False)
    for rec in EXTRA:
        kb.create(rec, author="uji")
    kb.create({"id": "uji-statistik-draf", "title": "Draf statistik", "summary": "Belum terbit, tidak dihitung.",
               "sectors": ["kesehatan"], "status": "selesai"}, author="uji", state="draft")
    gone = kb.create({"id": "uji-statistik-hapus", "title": "Dihapus", "summary": "Dihapus, tidak dihitung.",
                      "sectors": ["kesehatan"]}, author="uji")
    kb.set_state(gone["id"], "deleted", author="uji")
    return kb


def _by_hand(records: list[dict]) -> dict[str, Counter]:
    """Each facet's counts, made from the records directly (a record counts once per value)."""
    g = gazetteer()
    counts: dict[str, Counter] = {k: Counter() for k in
                                  ("sector", "island", "status", "kind", "year", "type", "province", "language")}
    for r in records:
        places = [g.get(c) for c in r.get("regions", []) if g.get(c)]
        counts["sector"].update(set(r.get("sectors", [])))
        counts["island"].update({p.island for p in places})
        counts["province"].update({p.province_code for p in places})
        counts["kind"][r.get("kind", "case")] += 1
        counts["language"][r.get("language", "id")] += 1
        for key, field in (("status", "status"), ("type", "cooperation_type"), ("year", "start_year")):
            if r.get(field):
                counts[key][str(r[field])] += 1
    return counts


def test_counts_equal_counts_made_from_the_records(kb):
    records = kb.store.records()
    assert {r["id"] for r in records} >= {e["id"] for e in EXTRA}
    assert not {"uji-statistik-draf", "uji-statistik-hapus"} & {r["id"] for r in records}
    st = kb.stats()
    assert st["total"] == len(records)
    expected = _by_hand(records)
    assert list(st["facets"]) == list(expected)
    for key, rows in st["facets"].items():
        assert {r["value"]: r["count"] for r in rows} == dict(expected[key]), key
        if key == "year":
            assert [int(r["value"]) for r in rows] == sorted(int(r["value"]) for r in rows)
        else:
            assert [(-r["count"], r["value"]) for r in rows] == sorted((-r["count"], r["value"]) for r in rows)
    assert st["facets"]["province"][0]["label"] == gazetteer().get(st["facets"]["province"][0]["value"]).name
    assert {"value": "en", "label": "Bahasa Inggris", "count": expected["language"]["en"]} in st["facets"]["language"]


def test_the_counts_are_the_search_index_facets(kb):
    """Over all published records, the page's numbers are the sidebar's numbers."""
    st = kb.stats()
    res = kb.search("", limit=1, facets=("sector", "island", "status", "kind", "year", "type", "province"))
    assert st["total"] == res.total
    for key, rows in res.facets.items():
        assert st["facets"][key] == rows, key


def test_cross_table_of_sectors_by_status(kb):
    records = kb.store.records()
    by_hand = Counter((s, r["status"]) for r in records if r.get("status") for s in set(r.get("sectors", [])))
    table = kb.stats()["tables"]["sector_status"]
    assert (table["rows"], table["columns"]) == ("sector", "status")
    statuses = [v["value"] for v in table["values"]]
    assert statuses == ["direncanakan", "berjalan", "selesai", "terhenti"]  # the vocabulary's order
    got = {(row["value"], st): n for row in table["data"] for st, n in zip(statuses, row["counts"]) if n}
    assert got == dict(by_hand)
    assert all(row["total"] == sum(row["counts"]) for row in table["data"])
    totals = [row["total"] for row in table["data"]]
    assert totals == sorted(totals, reverse=True)
    transport = next(row for row in table["data"] if row["value"] == "transportasi")
    assert transport["counts"][statuses.index("terhenti")] >= 1  # the English ferry record


def test_cross_table_of_islands_by_cooperation_type(kb):
    g = gazetteer()
    by_hand = Counter((i, r["cooperation_type"]) for r in kb.store.records() if r.get("cooperation_type")
                      for i in {g.get(c).island for c in r.get("regions", []) if g.get(c)})
    table = kb.stats()["tables"]["island_type"]
    types = [v["value"] for v in table["values"]]
    assert {(row["value"], t): n for row in table["data"] for t, n in zip(types, row["counts"]) if n} == dict(by_hand)


def test_region_pairs_are_the_cases_naming_both(kb):
    by_hand: Counter = Counter()
    for r in kb.store.records(kind="case"):
        for a, b in combinations(sorted({c for c in r.get("regions", []) if "." in c}), 2):
            by_hand[(a, b)] += 1
    pairs = region_pairs(kb.stats_frame())
    assert dict(pairs.items()) == dict(by_hand)
    assert [(-n, ab) for ab, n in pairs.items()] == sorted((-n, ab) for ab, n in pairs.items())
    assert pairs[("34.02", "34.04")] >= 1  # Bantul and Sleman, in the record added above


def test_an_empty_store_has_zero_counts(empty_kb):
    st = empty_kb.stats()
    assert st["total"] == 0 and all(rows == [] for rows in st["facets"].values())
    assert all(t["data"] == [] for t in st["tables"].values())
    assert region_pairs(record_frame([])).empty
    assert statistics(record_frame([]))["total"] == 0


def test_stats_command_prints_counts_and_tables(kb):
    from click.testing import CliRunner

    from webapp.cli import main

    out = CliRunner().invoke(main, ["--home", str(kb.home), "stats", "--json"], obj={})
    assert out.exit_code == 0, out.output
    st = json.loads(out.output)
    assert st == json.loads(json.dumps(kb.stats()))
    text = CliRunner().invoke(main, ["--home", str(kb.home), "stats"], obj={}).output
    assert f"{st['total']} published records" in text
    assert "sector by status:" in text and "island by type:" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("Persampahan") and len(x.split()) == 6)
    row = next(r for r in st["tables"]["sector_status"]["data"] if r["value"] == "persampahan")
    assert [int(x) for x in line.split()[1:]] == row["counts"] + [row["total"]]


def test_statistics_page_shows_the_cross_tables(kb):
    from tests.conftest import make_app

    c = make_app(kb.home).test_client()
    page = c.get("/statistik").get_data(as_text=True)
    st = kb.stats()
    assert f"{st['total']} catatan terbit" in page
    assert "Bidang menurut status" in page and "Pulau menurut jenis kerja sama" in page
    row = next(r for r in st["tables"]["sector_status"]["data"] if r["value"] == "persampahan")
    n = row["counts"][1]  # berjalan
    assert re.search(rf'<a href="/cari\?sector=persampahan&amp;status=berjalan">{n}</a>', page)
    c.get("/lang/en")
    page = c.get("/statistik").get_data(as_text=True)
    assert "Sectors by status" in page and ">Waste</a>" in page


def test_statistics_api_answers_the_page_numbers_in_the_documented_shape(kb):
    import jsonschema_rs

    from tests.conftest import make_app

    c = make_app(kb.home).test_client()
    spec = c.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/statistics" in spec["paths"]
    answer = c.get("/api/v1/statistics").get_json()
    assert answer == json.loads(json.dumps(kb.stats()))
    validator = jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/Statistics",
                                                    "components": spec["components"]})
    assert [e.message for e in validator.iter_errors(answer)] == []
    page = c.get("/statistik").get_data(as_text=True)
    assert f"{answer['total']} catatan terbit" in page


def test_the_network_map_draws_the_strongest_pairs_and_says_so(shared_app, monkeypatch):
    import re

    import webapp.views.main as main_views

    c = shared_app.test_client()
    shared_app.extensions.pop("sinergi_statistics", None)
    whole = c.get("/statistik").get_data(as_text=True)
    assert "pasangan yang paling sering bekerja sama dari" not in whole  # the corpus's pairs all fit
    monkeypatch.setattr(main_views, "MAX_NETWORK_LINKS", 5)
    shared_app.extensions.pop("sinergi_statistics", None)
    for lang, note in (("id", r"Peta menampilkan 5 pasangan yang paling sering bekerja sama dari (\d+) pasangan"),
                       ("en", r"The map shows the 5 pairs that cooperate most often, of (\d+) pairs")):
        page = c.get(f"/statistik?lang={lang}").get_data(as_text=True)
        total = int(re.search(note, page).group(1))
        assert total > 5
        assert page.count("<line") < whole.count("<line") and page.count("<line") <= 5
    shared_app.extensions.pop("sinergi_statistics", None)
