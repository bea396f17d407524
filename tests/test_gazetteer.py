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
