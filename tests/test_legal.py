"""The legal path of a proposal (cooperation type, obligation, steps with basis and lessons),
through the real recommender over the bundled corpus, the API, the command line and the pages."""

import pytest

from kb.errors import ImportFailed
from recommender.legal import foreign_kind, split_named, types_in_text
from recommender.reasons import Wording
from recommender.service import recommender_for

WASTE = ("Kabupaten kami dan kabupaten tetangga ingin membangun TPA regional bersama karena lahan TPA hampir penuh; "
         "perlu pembagian biaya, perjanjian tipping fee dan penanganan penolakan warga.")
TOURISM = ("Dua kota ingin mempromosikan paket wisata bersama, pertukaran pemandu wisata dan festival budaya "
           "untuk menarik wisatawan.")
OPERATOR = ("Kabupaten kami ingin menggandeng operator swasta untuk membangun dan mengoperasikan fasilitas "
            "pengolahan sampah menjadi energi dengan skema KPBU.")
SISTER = ("Provinsi kami ingin menjalin kerja sama dengan pemerintah daerah di Jepang untuk pelatihan tenaga "
          "kerja, pertukaran pelajar dan promosi investasi.")


@pytest.fixture(scope="module")
def rec(corpus_kb):
    r = recommender_for(corpus_kb)
    r.refresh()
    return r


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
    with pytest.raises(ImportFailed) as e:
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
