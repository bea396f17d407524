"""The legal path of a proposal (cooperation type, obligation, steps with basis and lessons),
through the real recommender over the bundled corpus, the API, the command line and the pages."""

import pytest

from kb.errors import Invalid
from recommender.legal import foreign_kind, split_named, types_in_text
from recommender.reasons import Wording

WASTE = ("Kabupaten kami dan kabupaten tetangga ingin membangun TPA regional bersama karena lahan TPA hampir penuh; "
         "perlu pembagian biaya, perjanjian tipping fee dan penanganan penolakan warga.")
TOURISM = ("Dua kota ingin mempromosikan paket wisata bersama, pertukaran pemandu wisata dan festival budaya "
           "untuk menarik wisatawan.")
OPERATOR = ("Kabupaten kami ingin menggandeng operator swasta untuk membangun dan mengoperasikan fasilitas "
            "pengolahan sampah menjadi energi dengan skema KPBU.")
SISTER = ("Provinsi kami ingin menjalin kerja sama dengan pemerintah daerah di Jepang untuk pelatihan tenaga "
          "kerja, pertukaran pelajar dan promosi investasi.")


def legal_of(rec, **proposal):
    return rec.recommend(proposal).as_dict()["legal"]


def step(legal, key):
    return next(s for s in legal["steps"] if s["key"] == key)


def test_adjacent_regencies_on_waste_are_a_likely_mandatory_ksdd(rec):
    legal = legal_of(rec, description=WASTE, region="Kabupaten Sleman", partners=["Kabupaten Bantul"],
                     sectors=["persampahan"])
    assert legal["cooperation_type"] == {"primary": "KSDD", "types": ["KSDD"], "source": "partners"}
    ob = legal["obligation"]
    assert ob["value"] == "wajib" and ob["sectors"] == ["persampahan"]
    assert ob["pairs"] == [{"a": {"code": "34.04", "name": "Kabupaten Sleman"},
                           "b": {"code": "34.02", "name": "Kabupaten Bantul"}, "border": "land"}]
    assert ob["takeover"] == "gubernur"   # two regencies of one province: the governor steps in
    assert "daerah yang berbatasan: Kabupaten Sleman – Kabupaten Bantul" in legal["why"]
    assert any(w.startswith("bila kerja sama wajib tidak dilaksanakan, gubernur") for w in legal["why"])
    keys = [s["key"] for s in legal["steps"]]
    assert keys == ["persiapan", "penawaran", "ksb", "pks", "dprd", "penandatanganan", "pelaksanaan", "pelaporan",
                    "monev"]
    assert all(s["basis"] and s["actor"] and s["documents"] for s in legal["steps"])
    assert "PP 28/2018 Pasal 6 ayat (4)" in step(legal, "ksb")["basis"]
    # Lessons of the similar waste cases land on the steps they concern, each linked to its case.
    lessons = [(s["key"], l) for s in legal["steps"] for l in s["lessons"]]
    assert len(lessons) >= 4
    assert any(k == "pks" and "perjanjian" in l["text"].lower() for k, l in lessons)
    assert all(l["case"] and l["title"] for _, l in lessons)
    assert legal["disclaimer"].startswith("Ini panduan, bukan pendapat hukum.")


def test_regencies_of_two_provinces_would_be_taken_over_by_the_minister(rec):
    legal = legal_of(rec, description=WASTE, region="Kabupaten Sleman", partners=["Kabupaten Magelang"],
                     sectors=["persampahan"])
    assert legal["obligation"]["value"] == "wajib" and legal["obligation"]["takeover"] == "menteri"


def test_two_distant_cities_on_tourism_cooperate_voluntarily(rec):
    legal = legal_of(rec, description=TOURISM, region="Kota Yogyakarta", partners=["Kota Makassar"],
                     sectors=["pariwisata"])
    assert legal["cooperation_type"]["primary"] == "KSDD"
    assert legal["obligation"] == {"value": "sukarela", "pairs": [], "sectors": [], "takeover": None}
    assert "tidak ada pasangan daerah yang berbatasan" in legal["why"]
    assert any(w.startswith("kerja sama sukarela") for w in legal["why"])


def test_bordering_regions_on_tourism_are_still_voluntary(rec):
    legal = legal_of(rec, description=TOURISM, region="Kabupaten Sleman", partners=["Kabupaten Bantul"],
                     sectors=["pariwisata"])
    assert legal["obligation"]["value"] == "sukarela" and legal["obligation"]["pairs"]
    assert any("tidak termasuk urusan yang berdampak lintas batas" in w for w in legal["why"])


def test_a_regency_with_a_private_operator_is_a_ksdpk_with_the_selection_step(rec):
    legal = legal_of(rec, description=OPERATOR, region="Kabupaten Bekasi",
                     third_parties=[{"name": "PT Energi Sampah", "kind": "swasta"}])
    assert legal["cooperation_type"] == {"primary": "KSDPK", "types": ["KSDPK"], "source": "partners"}
    assert legal["obligation"] is None   # wajib/sukarela is a question of KSDD only
    keys = [s["key"] for s in legal["steps"]]
    assert keys.index("persiapan") < keys.index("seleksi_pihak_ketiga") < keys.index("penawaran")
    assert step(legal, "seleksi_pihak_ketiga")["types"] == ["KSDPK"]
    assert legal["partners"]["third_parties"] == [{"name": "PT Energi Sampah", "kind": "swasta"}]


def test_a_province_with_a_japanese_prefecture_is_a_ksdpl_through_the_central_government(rec):
    legal = legal_of(rec, description=SISTER, region="Provinsi Jawa Tengah", foreign_partners=["Aichi Prefecture"])
    assert legal["cooperation_type"]["primary"] == "KSDPL"
    assert legal["partners"]["foreign"] == [{"name": "Aichi Prefecture", "kind": "pemerintah", "kind_inferred": True}]
    assert "“Aichi Prefecture” dianggap pemerintah daerah di luar negeri (disimpulkan dari namanya)" in legal["why"]
    central = step(legal, "persetujuan_pusat")
    assert central["types"] == ["KSDPL"] and "Menteri Dalam Negeri" in central["actor"]
    assert any("Kementerian Luar Negeri" in w for w in central["why"])
    assert "Permendagri 22/2020" not in step(legal, "ksb")["basis"]   # it covers KSDD and KSDPK only


def test_a_foreign_institution_is_a_ksdll(rec):
    legal = legal_of(rec, description=SISTER, region="Provinsi Jawa Tengah",
                     foreign_partners=[{"name": "Kitakyushu International Techno-cooperative", "kind": "lembaga"}])
    assert legal["cooperation_type"]["types"] == ["KSDLL"]
    assert legal["partners"]["foreign"][0]["kind_inferred"] is False
    assert step(legal, "persetujuan_pusat")["types"] == ["KSDLL"]


def test_several_kinds_of_partner_give_a_primary_type_and_one_path(rec):
    legal = legal_of(rec, description=WASTE, region="Kabupaten Bekasi", partners=["Kota Bekasi"],
                     third_parties=["PT Operator Sampah"], sectors=["persampahan"])
    assert legal["cooperation_type"] == {"primary": "KSDD", "types": ["KSDD", "KSDPK"], "source": "partners"}
    assert legal["obligation"]["value"] == "wajib"
    assert "seleksi_pihak_ketiga" in [s["key"] for s in legal["steps"]]
    assert any(w.startswith("mitra dari beberapa jenis") for w in legal["why"])


def test_without_partners_the_type_comes_from_plain_words_or_is_asked(rec):
    legal = legal_of(rec, description=OPERATOR, region="Kabupaten Bekasi")
    assert legal["cooperation_type"] == {"primary": "KSDPK", "types": ["KSDPK"], "source": "text"}
    assert "partners" in legal["questions"]
    vague = legal_of(rec, description="Kami ingin meningkatkan layanan air minum dan mengurangi kehilangan air "
                                      "di jaringan pipa perkotaan.", region="Kota Yogyakarta")
    assert vague["cooperation_type"] == {"primary": None, "types": [], "source": "unknown"}
    assert vague["why"][0].startswith("jenis kerja sama bergantung pada mitranya")


@pytest.mark.parametrize("answers, status, why", [
    ({"burdens_community": True}, "required", ["diperlukan: rencana kerja sama membebani masyarakat dan daerah"]),
    ({"burdens_community": False, "in_current_budget": False}, "required",
     ["diperlukan: pendanaannya belum dianggarkan dalam APBD tahun berjalan"]),
    ({"burdens_community": False, "in_current_budget": True}, "not_required",
     ["tidak diperlukan: tidak membebani masyarakat dan daerah, dan pendanaannya sudah ada dalam APBD tahun "
      "berjalan"]),
    ({"in_current_budget": True}, "ask",
     ["pertanyaan: apakah rencana ini membebani masyarakat dan daerah? Bila ya, persetujuan DPRD diperlukan"]),
])
def test_the_dprd_step_follows_the_proposers_answers(rec, answers, status, why):
    legal = legal_of(rec, description=WASTE, region="Kabupaten Sleman", partners=["Kabupaten Bantul"], **answers)
    dprd = step(legal, "dprd")
    assert dprd["status"] == status and dprd["why"] == why
    assert ("burdens_community" in legal["questions"]) == (status == "ask")


def test_an_unknown_partner_names_the_item_and_close_names(rec):
    with pytest.raises(Invalid) as e:
        rec.recommend({"description": WASTE, "region": "Kabupaten Sleman", "partners": ["Kabupaten Bantul", "Slemann"]})
    (problem,) = e.value.problems
    assert problem.field == "partners.1" and "Slemann" in problem.message and "Kabupaten Sleman" in problem.message
    assert problem.code == "region" and problem.values["candidates"] == ["Kabupaten Sleman"]


def test_the_legal_path_reads_in_english(rec):
    from webapp.i18n import gettext_for

    res = rec.recommend({"description": WASTE, "region": "Kabupaten Sleman", "partners": ["Kabupaten Bantul"],
                         "sectors": ["persampahan"], "burdens_community": True})
    legal = res.as_dict(Wording(gettext_for("en"), "en"))["legal"]
    assert "bordering regions: Kabupaten Sleman – Kabupaten Bantul" in legal["why"]
    assert step(legal, "dprd")["title"] == "DPRD approval"
    assert step(legal, "dprd")["why"] == ["required: the plan burdens the community and the region"]
    assert legal["disclaimer"].startswith("This is guidance, not a legal opinion.")


def test_bare_foreign_names_and_plain_words():
    assert foreign_kind("Chungcheongbuk-do") == ("pemerintah", True)
    assert foreign_kind("Gemeente Rotterdam") == ("pemerintah", True)
    assert foreign_kind("Tokyo Metropolitan University") == ("lembaga", True)
    assert foreign_kind("Hildesheim") == ("lembaga", False)
    assert split_named("JICA=lembaga", ("pemerintah", "lembaga")) == {"name": "JICA", "kind": "lembaga"}
    assert split_named("PT A | BUMD") == {"name": "PT A", "kind": "BUMD"}
    assert types_in_text("kerja sama sister city dengan swasta") == ["KSDPK", "KSDPL"]


# -- the API, the command line and the pages ---------------------------------------------------
@pytest.fixture(scope="module")
def client(corpus_home, tmp_path_factory):
    import shutil

    from webapp import create_app

    home = tmp_path_factory.mktemp("legal") / "inst"
    shutil.copytree(corpus_home, home)
    return create_app({"TESTING": True}, home=home).test_client()


def test_the_api_answers_the_legal_path_and_names_an_unknown_partner(client):
    body = {"description": WASTE, "region": "Sleman", "partners": ["Bantul"], "sectors": ["persampahan"],
            "third_parties": [{"name": "PT Operator", "kind": "swasta"}], "foreign_partners": ["Aichi Prefecture"],
            "in_current_budget": False}
    r = client.post("/api/v1/recommend", json=body)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    legal = r.get_json()["legal"]
    assert legal["cooperation_type"] == {"primary": "KSDD", "types": ["KSDD", "KSDPK", "KSDPL"], "source": "partners"}
    assert step(legal, "dprd")["status"] == "required"
    r = client.post("/api/v1/recommend", json={**body, "partners": ["Bantul", "Slemann"]})
    assert r.status_code == 400
    (problem,) = r.get_json()["error"]["details"]
    assert problem["field"] == "partners.1" and "Slemann" in problem["message"] and "Kabupaten Sleman" in problem["message"]
    r = client.post("/api/v1/recommend", json={**body, "foreign_partners": [{"name": "X", "kind": "negara"}]})
    assert r.status_code == 400 and r.get_json()["error"]["details"][0]["field"].startswith("foreign_partners.0")
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "Legal" in spec["components"]["schemas"]
    assert "partners" in spec["components"]["schemas"]["RecommendRequest"]["properties"]


def test_the_command_line_prints_the_legal_path_and_refuses_an_unknown_partner(corpus_home):
    import json

    from click.testing import CliRunner

    from webapp.cli import main

    run = CliRunner().invoke
    base = ["--home", str(corpus_home), "recommend", "--text", SISTER, "--region", "Provinsi Jawa Tengah"]
    r = run(main, base + ["--foreign-partner", "Aichi Prefecture", "--foreign-partner", "JICA=lembaga",
                          "--no-burdens-community", "--in-current-budget"])
    assert r.exit_code == 0, r.output
    assert "Jalur hukum:" in r.output and "Jenis kerja sama: KSDPL, KSDLL" in r.output
    assert "Persetujuan Pemerintah Pusat" in r.output and "tidak diperlukan: " in r.output
    r = run(main, base + ["--foreign-partner", "Aichi Prefecture", "--json", "--lang", "en"])
    legal = json.loads(r.output)["legal"]
    assert legal["partners"]["foreign"][0] == {"name": "Aichi Prefecture", "kind": "pemerintah", "kind_inferred": True}
    r = run(main, ["--home", str(corpus_home), "recommend", "--text", WASTE, "--region", "Sleman",
                   "--partner", "Slemann"])
    assert r.exit_code == 1
    assert "partners.0: unknown region 'Slemann'; did you mean: Kabupaten Sleman?" in r.output


PAGE = {"description": WASTE, "region": "Kabupaten Sleman", "partners": "Kabupaten Bantul", "sectors": "persampahan",
        "third_parties": "PT Operator Sampah | swasta"}


def visible(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("lang, expect", [
    ("id", ["Jalur hukum", "kemungkinan wajib", "Tahap persetujuan DPRD — perlu dijawab", "Pemilihan mitra pihak ketiga",
            "Dasar peraturan: PP 28/2018 Pasal 6 ayat (4); Permendagri 22/2020", "Ini panduan, bukan pendapat hukum."]),
    ("en", ["Legal path", "likely mandatory", "DPRD approval — to be answered", "Selecting the third-party partner",
            "Basis: PP 28/2018 Pasal 6 ayat (4); Permendagri 22/2020", "This is guidance, not a legal opinion."]),
])
def test_the_proposal_page_shows_the_legal_path_in_both_languages(client, lang, expect):
    r = client.get("/usulan", query_string={**PAGE, "lang": lang})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    text = visible(html)
    for phrase in expect:
        assert phrase in text, phrase
    assert 'href="/kasus/' in html.split('id="legal-heading"')[1]   # lessons link their cases
    assert 'name="partners"' in html and 'name="burdens_community"' in html


def test_the_printable_legal_path_is_dated_and_carries_the_shortlist(client):
    from datetime import date

    r = client.get("/usulan/jalur-hukum", query_string={**PAGE, "lang": "id", "burdens_community": "tidak",
                                                        "in_current_budget": "tidak"})
    assert r.status_code == 200
    text = visible(r.get_data(as_text=True))
    assert "Jalur hukum usulan kerja sama" in text and "plan.css" in r.get_data(as_text=True)
    assert f"Disusun dengan Sinergi pada {date.today().day} " in text and str(date.today().year) in text
    assert "Daerah mitra: Kabupaten Bantul" in text and "PT Operator Sampah (swasta)" in text
    assert "Tahap persetujuan DPRD — persetujuan diperlukan" in text and "belum dianggarkan dalam APBD" in text
    assert "Daftar pendek" in text and "Calon mitra kerja sama" in text
    assert client.get("/usulan/jalur-hukum", query_string={"description": WASTE, "partners": "Slemann"}).status_code == 400


def test_lessons_attach_by_the_stems_kept_in_the_model_without_stemming_at_answer_time(rec, monkeypatch):
    """A record's lessons enter the model with the stems that place them on a step, so an answer
    stems none of its cases' sentences; a record without them (a model saved before they were
    kept) is placed the same way by stemming its sentences."""
    from recommender import legal as legal_module

    expected = legal_of(rec, description=WASTE, region="Kabupaten Sleman", partners=["Kabupaten Bantul"],
                        sectors=["persampahan"])
    placed = [(s["key"], l["text"]) for s in expected["steps"] for l in s["lessons"]]
    assert len(placed) >= 4

    def no_stemming(text, lang):
        raise AssertionError(f"stemmed at answer time: {text!r}")

    monkeypatch.setattr(legal_module, "_sentence_stems", no_stemming)
    again = legal_of(rec, description=WASTE, region="Kabupaten Sleman", partners=["Kabupaten Bantul"],
                     sectors=["persampahan"])
    assert [(s["key"], l["text"]) for s in again["steps"] for l in s["lessons"]] == placed
    monkeypatch.undo()

    # The same cases without kept stems: stemmed, and placed on the same steps.
    snap = rec.holder.snapshot()
    cases = [snap.records[c["id"]] for c in rec.recommend({"description": WASTE, "sectors": ["persampahan"]})
             .as_dict()["cases"]]
    assert all("lesson_stems" in c for c in cases if c.get("lessons"))
    bare = [{k: v for k, v in c.items() if k not in ("lesson_stems", "challenge_stems")} for c in cases]
    steps_kept = legal_module._steps(["KSDD"], ("ask", None))
    steps_bare = legal_module._steps(["KSDD"], ("ask", None))
    legal_module._attach_lessons(steps_kept, cases)
    legal_module._attach_lessons(steps_bare, bare)
    assert steps_kept == steps_bare and any(s["lessons"] for s in steps_kept)
