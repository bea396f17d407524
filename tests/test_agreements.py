"""Agreements watched by their expiry: states on fixed days, filters, the stale-case flag, the
page, its CSV, the API, the region page section and the editors' dashboard.

The instance holds tests/data/agreements.jsonl, whose documents expire on dates chosen around
TODAY (2026-06-01): 2026-06-01 is 0 days away, 2026-12-01 183, 2027-06-01 365, 2027-06-02 366."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from kb import agreements as agr
from kb.base import KnowledgeBase
from conftest import make_app

DATA = Path(__file__).parent / "data"
TODAY = dt.date(2026, 6, 1)
CONFIG = {"SINERGI_TODAY": TODAY.isoformat()}  # the web app's settings besides the test settings
DRAFT = {"id": "uji-draf-berakhir", "title": "Draf perjanjian Sleman yang segera berakhir",
         "summary": "Draf kasus persampahan Sleman dengan perjanjian yang berakhir bulan depan.",
         "regions": ["34.04"], "sectors": ["persampahan"], "status": "berjalan",
         "documents": [{"type": "PKS", "number": "99/PKS/2025", "signed": "2025-07-01", "expires": "2026-07-01"}]}


def make_instance(home: Path) -> KnowledgeBase:
    kb = KnowledgeBase(home)
    kb.import_files([DATA / "agreements.jsonl"])
    kb.create(DRAFT, author="system", state="draft")
    kb.mark_initialized()
    return kb


@pytest.fixture
def akb(tmp_path) -> KnowledgeBase:
    return make_instance(tmp_path / "agr")


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """The module's instance: the records of tests/data/agreements.jsonl and one draft."""
    home = tmp_path_factory.mktemp("agreements") / "inst"
    make_instance(home).close()
    return make_app(home, CONFIG, read_only=True)


def rows(agreements, day=TODAY):
    return [(a.case_id, a.type, a.state(day)) for a in agreements]


# -- kb --------------------------------------------------------------------------------------

@pytest.mark.parametrize("days,state", [(-400, "expired"), (-1, "expired"), (0, "expiring_6m"),
                                        (183, "expiring_6m"), (184, "expiring_12m"), (365, "expiring_12m"),
                                        (366, "active"), (4000, "active")])
def test_state_boundaries(days, state):
    assert agr.state_of(TODAY + dt.timedelta(days=days), TODAY) == state
    assert agr.state_of(None, TODAY) == "open_ended"


def test_the_same_agreement_changes_state_as_days_pass(akb):
    pks = next(a for a in agr.agreements(akb.store, TODAY) if a.number == "7/PKS/2023")  # expires 2026-12-01
    assert pks.state(dt.date(2025, 11, 30)) == "active"
    assert pks.state(dt.date(2025, 12, 1)) == "expiring_12m"
    assert pks.state(dt.date(2026, 6, 1)) == "expiring_6m"
    assert pks.state(dt.date(2026, 12, 1)) == "expiring_6m"
    assert pks.state(dt.date(2026, 12, 2)) == "expired"
    assert agr.state_since(pks.expires, dt.date(2026, 12, 2)) == dt.date(2026, 12, 2)
    assert agr.state_since(pks.expires, dt.date(2026, 7, 1)) == dt.date(2026, 6, 1)


def test_published_agreements_sorted_by_expiry_open_ended_last(akb):
    assert rows(agr.agreements(akb.store, TODAY)) == [
        ("uji-pasar-selesai", "PKS", "expired"),
        ("uji-sampah-sleman-bantul", "KSB", "expired"),
        ("uji-sampah-sleman-bantul", "PKS", "expired"),
        ("uji-bus-sarbagita", "KSB", "expiring_6m"),
        ("uji-air-kulon-progo", "PKS", "expiring_6m"),
        ("uji-air-kulon-progo", "KSB", "expiring_12m"),
        ("uji-bus-sarbagita", "PKS", "active"),
        ("uji-bandung-terbuka", "nota kesepakatan", "open_ended"),
        ("uji-sampah-sleman-bantul", "nota kesepakatan", "open_ended"),
    ]  # the draft's agreement is not there


def test_region_and_province_filters(akb):
    def cases(**kw):
        return sorted({a.case_id for a in agr.agreements(akb.store, TODAY, **kw)})

    assert cases(region="34.04") == ["uji-sampah-sleman-bantul"]
    assert cases(region="34.71") == ["uji-air-kulon-progo"]
    assert cases(region="34") == ["uji-air-kulon-progo", "uji-sampah-sleman-bantul"]
    assert cases(region="51") == ["uji-bus-sarbagita"]
    assert cases(region="35") == []


def test_expiry_window_and_state_filters(akb):
    assert rows(agr.agreements(akb.store, TODAY, expiring_within_days=183)) == [
        ("uji-bus-sarbagita", "KSB", "expiring_6m"), ("uji-air-kulon-progo", "PKS", "expiring_6m")]
    assert [a.number for a in agr.agreements(akb.store, TODAY, expiring_within_days=0)] == ["1/KSB/2021"]
    with_lately = agr.agreements(akb.store, TODAY, expiring_within_days=30, expired_within_days=30)
    assert [a.number for a in with_lately] == ["11/PKS/2021", "1/KSB/2021"]
    assert rows(agr.agreements(akb.store, TODAY, states=["open_ended", "active"])) == [
        ("uji-bus-sarbagita", "PKS", "active"), ("uji-bandung-terbuka", "nota kesepakatan", "open_ended"),
        ("uji-sampah-sleman-bantul", "nota kesepakatan", "open_ended")]
    with pytest.raises(ValueError, match="unknown agreement state"):
        agr.agreements(akb.store, TODAY, states=["soon"])


def test_stale_cases_follow_the_store(akb):
    """A running case whose every dated agreement expired is flagged; a case that finished, one
    with an agreement still valid, and one without documents are not; the flag goes when the
    case is edited (the cached list follows the store's head)."""
    assert [s.case_id for s in agr.stale_cases(akb.store, TODAY)] == ["uji-sampah-sleman-bantul"]
    assert agr.stale_cases(akb.store, dt.date(2026, 2, 1)) == []  # before either expired
    later = agr.stale_cases(akb.store, dt.date(2027, 6, 3))
    assert [s.case_id for s in later] == ["uji-sampah-sleman-bantul", "uji-air-kulon-progo", "uji-bus-sarbagita"]
    rec = akb.get("uji-sampah-sleman-bantul")
    data = {k: v for k, v in rec.items() if k not in ("version", "state", "created_at", "updated_at",
                                                     "created_by", "updated_by")}
    data["documents"] = data["documents"] + [{"type": "PKS", "number": "12/PKS/2026", "signed": "2026-05-30",
                                              "expires": "2031-05-30"}]
    akb.update(rec["id"], data, expected_version=rec["version"], author="system")
    assert agr.stale_cases(akb.store, TODAY) == []


def test_unpublished_case_leaves_the_list(akb):
    assert any(a.case_id == "uji-bus-sarbagita" for a in agr.agreements(akb.store, TODAY))
    akb.set_state("uji-bus-sarbagita", "draft", author="system")
    assert not any(a.case_id == "uji-bus-sarbagita" for a in agr.agreements(akb.store, TODAY))


# -- API -------------------------------------------------------------------------------------

def test_api_lists_agreements_with_states(client):
    body = client.get("/api/v1/agreements").get_json()
    assert body["today"] == "2026-06-01" and body["total"] == 9
    first = body["agreements"][0]
    assert (first["case_id"], first["state"], first["days_left"]) == ("uji-pasar-selesai", "expired", -2343)
    assert first["url"].endswith("/kasus/uji-pasar-selesai")
    assert body["counts"] == {"expired": 3, "expiring_6m": 2, "expiring_12m": 1, "active": 1, "open_ended": 2}


def test_api_filters(client):
    def get(query):
        r = client.get("/api/v1/agreements?" + query)
        assert r.status_code == 200, r.get_data(as_text=True)
        return [(a["case_id"], a["number"]) for a in r.get_json()["agreements"]]

    assert get("expiring_within_days=183") == [("uji-bus-sarbagita", "1/KSB/2021"),
                                               ("uji-air-kulon-progo", "7/PKS/2023")]
    assert get("expiring_within_days=365&region=34") == [("uji-air-kulon-progo", "7/PKS/2023"),
                                                         ("uji-air-kulon-progo", "2/KSB/2022")]
    assert {c for c, _ in get("region=Kabupaten+Sleman")} == {"uji-sampah-sleman-bantul"}
    assert {c for c, _ in get("region=DI+Yogyakarta")} == {"uji-sampah-sleman-bantul", "uji-air-kulon-progo"}
    assert get("state=expired,open_ended&region=32") == [("uji-bandung-terbuka", None)]
    assert get("state=expired&state=active&region=51") == [("uji-bus-sarbagita", "5/PKS/2024")]


@pytest.mark.parametrize("query,says", [("expiring_within_days=abc", "expiring_within_days"),
                                        ("expiring_within_days=-1", "between 0 and 3650"),
                                        ("expiring_within_days=99999", "between 0 and 3650"),
                                        ("state=soon", "parameter 'state' must be one of"),
                                        ("region=Atlantisxq", "parameter 'region'"),
                                        ("region=99.99", "unknown region code")])
def test_api_refuses_bad_parameters_with_the_error_shape(client, query, says):
    r = client.get("/api/v1/agreements?" + query)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == 400 and says in err["message"]


# -- page and CSV ----------------------------------------------------------------------------

def test_page_groups_by_state_with_counts_and_links(client):
    html = client.get("/perjanjian").get_data(as_text=True)
    for label, n in [("Sudah berakhir", 3), ("Berakhir dalam 6 bulan", 2), ("Berakhir dalam 6–12 bulan", 1),
                     ("Berlaku lebih dari 12 bulan", 1), ("Tanpa batas waktu atau belum diketahui", 2)]:
        assert f"<h2>{label} ({n})</h2>" in html
    assert html.index('id="expired"') < html.index('id="expiring_6m"') < html.index('id="open_ended"')
    assert 'href="/kasus/uji-air-kulon-progo"' in html
    assert "Draf perjanjian" not in html
    assert '<datalist id="region-list">' in html
    assert 'href="/perjanjian.csv"' in html


def test_page_filters_and_keeps_them_in_its_links(client):
    html = client.get("/perjanjian?region=Kabupaten+Sleman&state=expired").get_data(as_text=True)
    assert "TPA bersama Sleman dan Bantul" in html and "Air baku Kulon Progo" not in html
    assert "<h2>Sudah berakhir (2)</h2>" in html and 'id="open_ended"' not in html
    assert 'href="/perjanjian.csv?region=34.04&amp;state=expired"' in html
    assert 'value="expired" checked' in html


def test_page_shows_a_bad_filter_beside_its_form(client):
    r = client.get("/perjanjian?expiring_within_days=lama")
    assert r.status_code == 400 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html and "expiring_within_days" in html and "<table>" not in html
    ambiguous = client.get("/perjanjian?region=Bandung").get_data(as_text=True)
    assert "Kabupaten Bandung" in ambiguous[ambiguous.index('role="alert"'):ambiguous.index("<form")]
    assert 'id="region" name="region" list="region-list" autocomplete="off" value="Bandung"' in ambiguous


def test_csv_download_same_filters(client):
    r = client.get("/perjanjian.csv?region=34")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(t["case_id"], t["type"], t["state"], t["days_left"]) for t in table] == [
        ("uji-sampah-sleman-bantul", "KSB", "expired", "-92"),
        ("uji-sampah-sleman-bantul", "PKS", "expired", "-1"),
        ("uji-air-kulon-progo", "PKS", "expiring_6m", "183"),
        ("uji-air-kulon-progo", "KSB", "expiring_12m", "365"),
        ("uji-sampah-sleman-bantul", "nota kesepakatan", "open_ended", ""),
    ]
    assert table[0]["regions"] == "Kabupaten Sleman, Kabupaten Bantul"
    assert table[0]["provinces"] == "Daerah Istimewa Yogyakarta"


def test_csv_cells_never_start_a_formula(client):
    table = list(csv.DictReader(io.StringIO(client.get("/perjanjian.csv?region=32").get_data(as_text=True)
                                            .lstrip("\ufeff"))))
    assert table[0]["title"].startswith("'=HYPERLINK")


# -- region page, dashboard, navigation --------------------------------------------------------

def test_region_page_lists_its_agreements_and_their_state(client):
    html = client.get("/daerah/34.04").get_data(as_text=True)
    section = html[html.index('id="perjanjian"'):]
    section = section[:section.index("</section>")]
    assert "Perjanjian kerja sama (3)" in section
    assert section.count('class="agreement expired"') == 2 and section.count('class="agreement open_ended"') == 1
    assert "Sudah berakhir" in section and "11/PKS/2021" in section
    assert 'href="/perjanjian?region=34.04"' in section
    province = client.get("/daerah/34").get_data(as_text=True)
    assert "Perjanjian kerja sama (5)" in province and "Air baku Kulon Progo" in province
    empty = client.get("/daerah/35.15").get_data(as_text=True)
    assert "Belum ada perjanjian tercatat untuk daerah ini." in empty


def test_dashboard_flags_stale_cases_to_editors_only(shared_app, auth):
    anonymous = shared_app.test_client()
    assert anonymous.get("/kurasi/").status_code == 302
    assert "Perjanjian berakhir" not in anonymous.get("/daerah/34.04").get_data(as_text=True)
    contributor = shared_app.test_client()
    assert auth.login(contributor, "kontributor").status_code == 302
    assert "perjanjian-berakhir" not in contributor.get("/kurasi/").get_data(as_text=True)
    editor = shared_app.test_client()
    assert auth.login(editor, "editor").status_code == 302
    html = editor.get("/kurasi/").get_data(as_text=True)
    section = html[html.index('id="perjanjian-berakhir"'):]
    section = section[:section.index("</section>")]
    assert "Perjanjian berakhir, status masih berjalan (1)" in section
    assert 'href="/kasus/uji-sampah-sleman-bantul"' in section and "2026-05-31" in section
    assert "uji-air-kulon-progo" not in section and "uji-pasar-selesai" not in section


def test_navigation_links_the_page(client):
    assert 'href="/perjanjian"' in client.get("/").get_data(as_text=True)


def test_english_labels(client):
    html = client.get("/perjanjian?lang=en").get_data(as_text=True)
    assert "Cooperation agreements" in html and "Expired (3)" in html
    client.get("/perjanjian?lang=id")


@pytest.mark.parametrize("patch_limit", [500, 0])
def test_kept_list_equals_a_fresh_derivation_after_changes(akb, monkeypatch, patch_limit):
    """Whether the kept list is patched with the changed records or derived again (more changes
    than PATCH_LIMIT), it equals the agreements derived from the store from scratch."""
    monkeypatch.setattr(agr, "PATCH_LIMIT", patch_limit)
    before = agr.published_agreements(akb.store)
    akb.set_state(DRAFT["id"], "published", author="system")                 # appears
    akb.set_state("uji-pasar-selesai", "deleted", author="system")           # goes
    rec = akb.get("uji-bus-sarbagita")                                        # changes
    data = {k: v for k, v in rec.items() if k not in ("version", "state", "created_at", "updated_at",
                                                     "created_by", "updated_by")}
    akb.update(rec["id"], {**data, "documents": data["documents"][:1]}, expected_version=rec["version"],
               author="system")
    after = agr.published_agreements(akb.store)
    fresh = agr.derive(akb.store.iter_data())
    assert sorted(after, key=agr.sort_key) == sorted(fresh, key=agr.sort_key)
    assert {a.case_id for a in after} - {a.case_id for a in before} == {DRAFT["id"]}
    assert "uji-pasar-selesai" not in {a.case_id for a in after}
    assert [a.number for a in after if a.case_id == "uji-bus-sarbagita"] == ["5/PKS/2024"]
    assert agr.published_agreements(akb.store) is after  # unchanged store: the kept list


def test_page_counts_per_province_and_links_each(client):
    html = client.get("/perjanjian?state=expired&state=open_ended").get_data(as_text=True)
    table = html[html.index('class="agreements-by-province"'):]
    table = table[:table.index("</section>")]
    rows = re.findall(r'<tr><td><a href="([^"]+)">([^<]+)</a></td>((?:<td>\d+</td>)+)</tr>', table)
    got = [(name, [int(n) for n in re.findall(r"\d+", cells)]) for _, name, cells in rows]
    assert got == [("Daerah Istimewa Yogyakarta", [2, 0, 0, 0, 1, 3]), ("Jawa Barat", [0, 0, 0, 0, 1, 1]),
                   ("Jawa Tengah", [1, 0, 0, 0, 0, 1])]
    assert rows[0][0] == "/perjanjian?region=34&amp;state=expired&amp;state=open_ended"


def test_api_names_the_region_filtered(client):
    assert client.get("/api/v1/agreements?region=Kota+Denpasar").get_json()["region"] == {
        "code": "51.71", "name": "Kota Denpasar"}
    assert client.get("/api/v1/agreements").get_json()["region"] is None


def test_page_shows_a_bounded_number_of_rows_per_state(client, monkeypatch):
    import webapp.views.agreements as view

    monkeypatch.setattr(view, "MAX_ROWS_PER_GROUP", 1)
    html = client.get("/perjanjian").get_data(as_text=True)
    assert "<h2>Sudah berakhir (3)</h2>" in html
    assert html.count('class="agreement expired"') == 1
    assert "… dan 2 lainnya" in html
    assert len(list(csv.reader(io.StringIO(client.get("/perjanjian.csv").get_data(as_text=True))))) == 10
