"""Region geography: points, neighbours and drawn outlines (kb/data/geography.json, outlines.json),
and how the API, the CLI and the pages show them."""

import html as htmlmod
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kb.gazetteer import gazetteer
from kb.geography import outlines

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "kb" / "data"

KNOWN_LAND_PAIRS = [
    ("Kota Kupang", "Kabupaten Kupang"),
    ("Kota Bandung", "Kabupaten Bandung"), ("Kota Bandung", "Kabupaten Bandung Barat"),
    ("Kota Bandung", "Kota Cimahi"),
    ("Kota Surabaya", "Kabupaten Sidoarjo"), ("Kota Surabaya", "Kabupaten Gresik"),
    ("Kota Yogyakarta", "Kabupaten Sleman"), ("Kota Yogyakarta", "Kabupaten Bantul"),
]


def _pairs() -> dict[tuple[str, str], str]:
    g = gazetteer()
    return {(r.code, n.code): kind for r in g.regions for n, kind in g.neighbours(r)}


def test_neighbour_list_is_symmetric_and_has_no_self_pairs():
    pairs = _pairs()
    assert len(pairs) > 1900  # ~980 regency pairs each way, and the provinces'
    for (a, b), kind in pairs.items():
        assert a != b
        assert pairs.get((b, a)) == kind, (a, b)
        assert ("." in a) == ("." in b), (a, b)  # regencies border regencies, provinces provinces


def test_known_neighbours_share_a_land_border():
    g = gazetteer()
    for a, b in KNOWN_LAND_PAIRS:
        ra, rb = g.resolve(a), g.resolve(b)
        assert (rb, "land") in g.neighbours(ra), (a, b)
    # Kota Kupang borders only Kabupaten Kupang by land.
    assert [n.name for n, kind in g.neighbours(g.resolve("Kota Kupang")) if kind == "land"] == ["Kabupaten Kupang"]
    # Provinces too: Yogyakarta lies between Jawa Tengah and the sea.
    assert [n.code for n, kind in g.neighbours(g.get("34")) if kind == "land"] == ["33"]


def test_island_regencies_get_sea_neighbours_within_the_cap():
    g = gazetteer()
    geo = json.loads((DATA / "geography.json").read_text(encoding="utf-8"))
    cap = geo["meta"]["rules"]["sea_cap_km"]
    island_only = []
    for r in g.regions:
        kinds = [k for _, k in g.neighbours(r)]
        assert kinds, f"{r.name} has no neighbour at all"
        if "land" not in kinds:
            island_only.append(r.name)
        for other, kind, km in geo["regions"][r.code]["neighbours"]:
            assert kind in ("land", "sea")
            if kind == "sea":
                assert 0 <= km <= cap, (r.name, other, km)
    for name in ("Kota Batam", "Kabupaten Kepulauan Seribu", "Kabupaten Wakatobi", "Kabupaten Simeulue", "Bali"):
        assert g.resolve(name).name in island_only, name
    assert "Kota Bandung" not in island_only
    # Bali's sea neighbours are the provinces across its straits.
    assert {n.code for n, _ in g.neighbours(g.get("51"))} == {"35", "52"}


def test_points_are_distinct_so_distances_between_regions_are_never_zero():
    g = gazetteer()
    points = {(r.lat, r.lon) for r in g.regions}
    assert len(points) == len(g.regions)
    nearest = min(g.distance_km(a, b) for a, b in itertools.combinations(g.regions, 2))
    assert nearest >= 1.0  # shown rounded to whole km, so never "±0 km"
    assert g.distance_km("53.71", "53.01") >= 5  # Kota and Kabupaten Kupang were "±0 km" apart


def _inside(lon: float, lat: float, rings) -> bool:
    """Even-odd point in polygon over every ring (outer rings and holes alike)."""
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def test_every_point_lies_inside_its_drawn_outline_and_says_what_it_is():
    g = gazetteer()
    for r in g.regions:
        rings = outlines("province" if r.is_province else "regency")[r.code]
        assert _inside(r.lon, r.lat, rings), (r.code, r.name, r.lat, r.lon)
        assert r.point in ("seat", "inside")
        assert r.coord_source in ("seat-geonames", "seat-city-polygon", "inside-polygon")
        assert r.is_seat == (r.point == "seat")
        if r.is_province:
            assert not r.is_seat  # no province capital is established from the data
        if r.level == "kota":
            assert r.is_seat  # a city is its own seat of government
    seats = sum(r.is_seat for r in g.regions)
    assert 150 < seats < 514


def _edges(rings) -> set[tuple]:
    out = set()
    for ring in rings:
        for a, b in zip(ring, ring[1:] + ring[:1]):
            out.add((a, b) if a < b else (b, a))
    return out


@pytest.mark.parametrize("layer", ["regency", "province"])
def test_land_neighbours_are_drawn_with_the_same_border(layer):
    """Neighbours' outlines were simplified together: their shared border is made of the same
    segments on both sides, so no gap or overlap opens between them when drawn."""
    g = gazetteer()
    shapes = outlines(layer)
    edges = {code: _edges(rings) for code, rings in shapes.items()}
    checked = 0
    for (a, b), kind in _pairs().items():
        if kind != "land" or a > b or ("." in a) != (layer == "regency"):
            continue
        assert edges[a] & edges[b], (g.get(a).name, g.get(b).name)
        checked += 1
    assert checked > (900 if layer == "regency" else 30)
    # And regions that are not neighbours share no segment.
    a, b = ("34.71", "34.01") if layer == "regency" else ("31", "33")
    assert not edges[a] & edges[b]


def test_outlines_cover_every_region_and_stay_small():
    g = gazetteer()
    assert set(outlines("province")) == {r.code for r in g.regions if r.is_province}
    assert set(outlines("regency")) == {r.code for r in g.regions if not r.is_province}
    assert all(outlines("regency").values())
    size = sum((DATA / n).stat().st_size for n in ("geography.json", "outlines.json"))
    assert size < 3_000_000
    licence = (DATA / "LICENSE-geodata").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Cahya DSN" in licence
    meta = json.loads((DATA / "outlines.json").read_text(encoding="utf-8"))["meta"]["source"]
    assert meta["dataset"] == "cahyadsn/wilayah_boundaries" and meta["licence"] == "MIT"


def test_the_app_runs_without_shapely(tmp_path):
    code = ("import sys; from webapp import create_app; from kb.geography import outlines; "
            "from kb.gazetteer import gazetteer; outlines('regency'); gazetteer().neighbours('34.71'); "
            f"create_app({{'TESTING': True}}, home={str(tmp_path / 'inst')!r}); "
            "print('shapely' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _geodata() -> Path:
    return Path(os.environ.get("SINERGI_GEODATA", ROOT.parent / "shared" / "geodata"))


def test_build_script_reproduces_the_committed_data_byte_for_byte(tmp_path):
    pytest.importorskip("shapely", minversion="2.1")
    if not list(_geodata().glob("**/kab/*.sql")):
        pytest.skip("the geodata folder (../shared/geodata or $SINERGI_GEODATA) is not here")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_geography.py"), str(_geodata()),
                          "--out", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in ("geography.json", "outlines.json"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_build_script_names_a_missing_folder(tmp_path):
    pytest.importorskip("shapely", minversion="2.1")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_geography.py"), str(tmp_path / "none"),
                          "--out", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "no kab/*.sql files under" in out.stderr and "none" in out.stderr
    assert not (tmp_path / "geography.json").exists()


# ------------------------------------------------------------------------------ API, CLI, pages

def test_api_region_gives_point_seat_and_neighbours_with_distances(client):
    body = client.get("/api/v1/regions/53.71").get_json()
    assert body["name"] == "Kota Kupang" and body["is_seat"] is True and body["point"] == "seat"
    assert -10.3 < body["lat"] < -10.1 and 123.5 < body["lon"] < 123.7
    kab = next(n for n in body["neighbours"] if n["code"] == "53.01")
    assert kab == {"code": "53.01", "name": "Kabupaten Kupang", "kind": "land", "distance_km": kab["distance_km"]}
    assert kab["distance_km"] > 5
    assert all(n["kind"] in ("land", "sea") and n["distance_km"] > 0 for n in body["neighbours"])
    assert body["cases"]  # the region's cases are still there
    batam = client.get("/api/v1/regions/21.71").get_json()
    assert batam["neighbours"] and {n["kind"] for n in batam["neighbours"]} == {"sea"}


def test_cli_region_json_and_text(shared_app):
    runner = shared_app.test_cli_runner()
    r = runner.invoke(args=["region", "Kota Yogyakarta", "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["code"] == "34.71" and body["is_seat"] is True
    assert {(n["name"], n["kind"]) for n in body["neighbours"]} == {("Kabupaten Sleman", "land"),
                                                                    ("Kabupaten Bantul", "land")}
    r = runner.invoke(args=["region", "34.71"])
    assert r.exit_code == 0 and "Kabupaten Sleman" in r.output and "land" in r.output
    r = runner.invoke(args=["region", "Kupang"])
    assert r.exit_code == 1
    assert "ambiguous" in r.output and "Kota Kupang" in r.output and "Kabupaten Kupang" in r.output


def test_region_page_maps_and_lists_its_neighbours(client):
    html = client.get("/daerah/53.71").get_data(as_text=True)
    assert "berbatasan darat" in html and "pusat pemerintahan" in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert 'href="/daerah/53.01"' in svg  # the neighbour is drawn and linked
    assert 'class="self"' in svg and "Cahya DSN" in html


def test_map_shades_provinces_with_a_legend_and_links_every_shape(client):
    html = client.get("/peta?q=sampah").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert 'role="img"' not in svg  # an image may not hold links
    links = re.findall(r'<a href="/daerah/(\d\d)" aria-label="([^"]+)"><title>([^<]+)</title><path', svg)
    assert {c for c, _, _ in links} == {r.code for r in gazetteer().provinces()}
    labels = {c: htmlmod.unescape(t) for c, _, t in links}
    assert re.fullmatch(r"Jawa Barat: \d+ catatan", labels["32"])
    assert re.search(r'class="ch[1-5]"', svg) and 'class="ch0"' in svg
    assert 'class="legend"' in html and "tidak ada" in html
    assert 'circle' in svg  # case regions marked


def test_map_zooms_to_a_province_and_shades_its_regencies(client):
    html = client.get("/peta?province=32").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    linked = set(re.findall(r'<a href="/daerah/(\d\d\.\d\d)"', svg))
    jabar = {r.code for r in gazetteer().regions if r.province_code == "32" and not r.is_province}
    assert jabar <= linked
    assert 'class="ctx"' in svg  # Banten and Jawa Tengah around it, in grey
    assert 'aria-current="page">Jawa Barat' in html
    width, height = map(float, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    assert 0.45 <= height / width <= 0.95
    island = client.get("/peta?island=sulawesi").get_data(as_text=True)
    assert 'href="/daerah/73.71"' in island and "Sulawesi Selatan" in island
