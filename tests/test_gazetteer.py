import pytest

from kb.errors import RegionError
from kb.gazetteer import ISLANDS, gazetteer, resolve_region


def test_all_provinces_and_regencies_are_there():
    g = gazetteer()
    assert len(g.provinces()) == 38
    assert len([r for r in g.regions if not r.is_province]) == 514


@pytest.mark.parametrize("text", ["Kab. Sleman", "sleman", "34.04", "Kabupaten Sleman", "KABUPATEN  SLEMAN", "Pemkab Sleman"])
def test_usual_forms_resolve_to_the_same_region(text):
    assert resolve_region(text).code == "34.04"


def test_kota_and_kabupaten_of_the_same_name_are_told_apart():
    assert resolve_region("Kota Bandung").code == "32.73"
    assert resolve_region("Kab. Bandung").code == "32.04"


def test_ambiguous_name_lists_both_candidates():
    with pytest.raises(RegionError) as e:
        resolve_region("Bandung")
    assert set(e.value.candidates) == {"Kota Bandung", "Kabupaten Bandung"}
    assert "Kota Bandung" in str(e.value)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(RegionError) as e:
        resolve_region("Slemann")
    assert e.value.candidates[0] == "Kabupaten Sleman"


def test_unknown_code_is_an_error():
    with pytest.raises(RegionError):
        resolve_region("99.99")


def test_province_aliases():
    assert resolve_region("DIY").code == "34"
    assert resolve_region("Jateng").code == "33"
    assert resolve_region("Provinsi Bali").code == "51"


def test_every_region_has_a_coordinate_inside_indonesia_and_an_island():
    for r in gazetteer().regions:
        assert -11.5 < r.lat < 6.5 and 94.5 < r.lon < 141.5, r
        assert r.island in ISLANDS


def test_distances_are_plausible():
    g = gazetteer()
    # Yogyakarta to Surakarta is about 60 km by air; Jakarta to Makassar about 1,400 km.
    assert 40 < g.distance_km("34.71", "33.72") < 80
    assert 1200 < g.distance_km("31.71", "73.71") < 1600
    assert g.distance_km("34.71", "34.71") == 0


def test_nearest_regions_of_yogyakarta_are_its_neighbours():
    g = gazetteer()
    near = [r.code for r, _ in g.nearest(g.get("34.71"), limit=3)]
    assert set(near) & {"34.04", "34.02"}


def test_autocomplete_search():
    names = [r.name for r in gazetteer().search("slem")]
    assert names[0] == "Kabupaten Sleman"


@pytest.mark.parametrize("typed, name", [("Tojo Una-U", "Kabupaten Tojo Una Una"), ("tolitol", "Kabupaten Toli-Toli"),
                                         ("gunung ki", "Kabupaten Gunungkidul")])
def test_autocomplete_ignores_spaces_and_hyphens(typed, name):
    assert [r.name for r in gazetteer().search(typed)][:1] == [name]


# -- written forms of official names (punctuation, spacing, level words, abbreviations) --------

_LEVEL_FORMS = {
    "kabupaten": ["Kabupaten {}", "Kab. {}", "Kab {}", "KAB.{}", "Pemkab {}", "Pemerintah Kabupaten {}"],
    "kota": ["Kota {}", "Kotamadya {}", "Kota Madya {}", "Kodya {}", "Pemkot {}", "Pemerintah Kota {}"],
    "provinsi": ["Provinsi {}", "Prov. {}", "Propinsi {}", "Pemprov {}"],
}


def _body(region) -> str:
    """The official name without its level words ("Kota Administrasi Jakarta Pusat" -> "Jakarta Pusat")."""
    words = region.name.split()
    if region.is_province:
        return region.name
    words = words[1:]
    if words[0] == "Administrasi":
        words = words[1:]
    return " ".join(words)


def _written_forms(body: str) -> list[str]:
    """A name as people write it: hyphenated, dotted, run together, spaced out, any case."""
    words = body.split()
    forms = [body, body.upper(), body.lower(), "-".join(words), ". ".join(words), "  ".join(words),
             f"  {body} ", body.replace("Kepulauan", "Kep.").replace("Kep. ", "Kep ")]
    if "-" in body:
        forms += [body.replace("-", " "), body.replace("-", "")]
    if len(words) > 1:
        forms.append("".join(words))
    return forms


def _resolves_to(text: str, region) -> None:
    """``text`` names ``region``, or several regions among which it is listed (a bare name
    shared by a regency and a city, "Bandung"; a province and its capital city, "Jambi")."""
    try:
        code = resolve_region(text).code
    except RegionError as e:
        assert str(e).startswith("ambiguous region") and region.name in e.candidates, (text, str(e))
        return
    assert code == region.code, text


@pytest.mark.parametrize("region", gazetteer().regions, ids=lambda r: r.code)
def test_every_official_name_and_its_written_forms_resolve(region):
    _resolves_to(region.name, region)
    body = _body(region)
    for template in _LEVEL_FORMS[region.level]:
        for form in _written_forms(body):
            assert resolve_region(template.format(form)).code == region.code, template.format(form)
    for form in _written_forms(body):
        _resolves_to(form, region)


@pytest.mark.parametrize("text, code", [
    ("Kabupaten Tojo Una-Una", "72.09"), ("Kab. Tojo Una-Una", "72.09"), ("tojo-una-una", "72.09"),
    ("Kota Baubau", "74.72"), ("Tolitoli", "72.04"), ("Kab. Fakfak", "92.03"), ("Kota Pare-Pare", "73.72"),
    ("DKI Jakarta", "31"), ("D.K.I. Jakarta", "31"), ("Daerah Khusus Ibu Kota Jakarta", "31"),
    ("Provinsi DKI Jakarta", "31"), ("Daerah Khusus Jakarta", "31"),
    ("DIY", "34"), ("D.I.Y.", "34"), ("D.I. Yogyakarta", "34"), ("DI Yogyakarta", "34"),
    ("Daerah Istimewa Yogyakarta", "34"), ("Provinsi Yogyakarta", "34"), ("Yogyakarta", "34.71"),
    ("Kab. Adm. Kep. Seribu", "31.01"), ("Kepulauan Seribu", "31.01"), ("Kota Adm. Jakarta Pusat", "31.71"),
    ("Kepulauan Siau Tagulandang Biaro", "71.09"), ("Kab. Kep. Siau Tagulandang Biaro", "71.09"),
    ("Kabupaten Mentawai", "13.09"), ("Kota Tidore", "82.72"), ("Pangkajene dan Kep.", "73.10"),
    ("Kab. Banggai Kep.", "72.07"), ("Kota Baru", "63.02"), ("Kota Waringin Barat", "62.01"), ("Kabupaten Gunung Kidul", "34.03"), ("Ｓｌｅｍａｎ", "34.04"),
])
def test_usual_spellings_of_official_names(text, code):
    assert resolve_region(text).code == code


def test_a_name_without_kepulauan_is_not_taken_when_it_names_another_region():
    assert resolve_region("Banggai").code == "72.01"  # not Banggai Kepulauan
    assert resolve_region("Riau").code == "14"  # not Kepulauan Riau


@pytest.mark.parametrize("text, expected", [
    ("Kabupaten Tojo Una-Unna", ["Kabupaten Tojo Una Una"]),
    ("Slemann", ["Kabupaten Sleman"]),
    ("Kulon Prgo", ["Kabupaten Kulon Progo"]),
    ("Kab. Sidoarj", ["Kabupaten Sidoarjo"]),
    ("Seram Timur", ["Kabupaten Seram Bagian Timur"]),
    ("Siau Tagulandang", ["Kabupaten Kep. Siau Tagulandang Biaro"]),
    ("Tanah Toraja", ["Kabupaten Tana Toraja"]),
    ("Kota Balikpapn", ["Kota Balikpapan"]),
])
def test_misspelt_names_suggest_only_close_names_best_first(text, expected):
    with pytest.raises(RegionError) as e:
        resolve_region(text)
    assert e.value.candidates[:len(expected)] == expected
    # Nothing unrelated follows: every other suggestion shares most of its letters with the input.
    from rapidfuzz import fuzz
    for other in e.value.candidates[len(expected):]:
        assert fuzz.partial_ratio(text.lower(), other.lower()) >= 60, other


def test_suggestions_are_ordered_by_closeness():
    with pytest.raises(RegionError) as e:
        resolve_region("Kota Bandng")
    assert set(e.value.candidates[:2]) == {"Kota Bandung", "Kabupaten Bandung"}
    assert e.value.candidates[2:] == ["Kabupaten Badung"]


@pytest.mark.parametrize("text", ["Atlantis", "Kabupaten Springfield", "Kota Gotham", "Paris", "Xyz"])
def test_no_close_name_says_so(text):
    with pytest.raises(RegionError) as e:
        resolve_region(text)
    assert e.value.candidates == []
    assert "no official name is close" in str(e.value)
