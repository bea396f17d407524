"""Build ``kb/data/geography.json`` and ``kb/data/outlines.json`` from boundary data.

Input: a copy of the ``cahyadsn/wilayah_boundaries`` data set (MIT licence, Cahya DSN): one SQL
file per province with a row per regency/city (``kode``, ``nama``, centroid, and a (multi)polygon
of ``[lat, lng]`` pairs). Only the regency rows are read; provinces are the union of their
regencies, so both layers share their borders exactly.

What it derives (and the rules it keeps):

* **A clean coverage.** The source polygons were simplified one by one, so neighbours overlap or
  leave slivers between them. All their borders are noded together and cut into faces; a face
  inside one or more regencies goes to the lowest code among them, a thin gap between regencies
  (mean width under ``SLIVER_DEG``) goes to the neighbour it shares most border with. Faces
  outside every regency that are not slivers (lakes, enclosed sea) stay empty.
* **A point per region.** A city (*kota*) is its own seat, so a point inside its polygon is the
  seat: the GeoNames place matched by name in ``kb/data/regions.json`` when it lies inside, else
  the pole of inaccessibility of its largest part. (Inside means inside both the polygon and its
  drawn outline.) A regency's GeoNames point matched by its own
  name is taken as the seat only when it lies inside the regency; otherwise the point is the pole
  of inaccessibility of the largest part (``"point": "inside"``). A province gets the pole of
  inaccessibility of its largest part. Every point lies inside its polygon, and no two coincide.
* **Neighbours.** Two regions are land neighbours when their shared border is at least
  ``LAND_KM`` long. A region with no land neighbour gets sea neighbours: those whose coast is
  within ``SEA_KM``, at most ``SEA_MAX``; failing any, the single nearest within ``SEA_CAP_KM``.
  The list is made symmetric.
* **Outlines for drawing.** The coverage is simplified as a whole (``shapely.coverage_simplify``,
  so shared borders stay shared), islands too small to see at the drawing scale that touch no
  other region are dropped, and coordinates are rounded to 1/1000 degree (equal vertices round
  equally, so shared borders stay shared).

Run ``python scripts/build_geography.py [GEODATA_DIR]`` (default ``../shared/geodata`` beside the
repository) with the ``geography`` extra installed (``pip install -e ".[geography]"``). The
output is the same byte for byte on every run. The app reads only the output, never shapely.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.ops import polylabel

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "kb" / "data"
DEFAULT_SOURCE = ROOT.parent / "shared" / "geodata"

SLIVER_DEG = 0.004          # mean width (2·area/perimeter) below which an uncovered face is a gap
LAND_KM = 1.0               # shortest shared border that makes two regions land neighbours
SEA_KM = 100.0              # sea neighbours: coasts at most this far apart ...
SEA_MAX = 4                 # ... at most this many ...
SEA_CAP_KM = 300.0          # ... or else the single nearest within this distance
TOLERANCE = {"province": 0.025, "regency": 0.003}    # simplification (degrees) per drawing layer
MIN_ISLAND_DEG2 = {"province": 0.002, "regency": 0.00004}  # smallest lone island drawn
SCALE = 1000                # outline coordinates are integers in 1/SCALE degree
POINT_DECIMALS = 4

_ROW = re.compile(r"^\s*\('(\d\d\.\d\d)','([^']*)',\s*(-?[\d.]+),\s*(-?[\d.]+),\s*'(\[.*\])'\)\s*[,;]\s*$")
_COMMIT = re.compile(r"commit\s+`([0-9a-f]{7,40})`")


# ---------------------------------------------------------------------------------------- input

def _depth(x) -> int:
    d = 0
    while isinstance(x, list):
        x, d = x[0], d + 1
    return d


def _polygonal(geom):
    """Only the polygons of ``geom`` (make_valid may add stray lines or points)."""
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else Polygon()


def _polygon(rings: list):
    """One source polygon, read even-odd: a ring inside another is a hole, a ring outside it is
    more land (some rows list separate islands as further rings of one polygon)."""
    shapes = [_polygonal(shapely.make_valid(Polygon([(lng, lat) for lat, lng in ring])))
              for ring in rings if len(ring) >= 4]
    return shapely.symmetric_difference_all(shapes) if shapes else Polygon()


def _geometry(path: list):
    """The source's nested ``[lat, lng]`` lists as a valid polygonal shapely geometry."""
    polys = [_polygon(path)] if _depth(path) == 3 else [_polygon(p) for p in path]
    return _polygonal(shapely.make_valid(shapely.union_all(polys)))


def read_regencies(source: Path) -> dict[str, tuple[str, object]]:
    """``{code: (name, geometry)}`` from every ``kab/*.sql`` file under ``source``."""
    files = sorted(source.glob("**/kab/*.sql"))
    if not files:
        raise SystemExit(f"no kab/*.sql files under {source}: pass the geodata folder")
    out: dict[str, tuple[str, object]] = {}
    for f in files:
        for lineno, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.lstrip().startswith("('"):
                continue
            m = _ROW.match(line)
            if not m:
                raise SystemExit(f"{f.name}:{lineno}: row not understood")
            out[m[1]] = (m[2], _geometry(json.loads(m[5])))
    return out


def source_commit(source: Path) -> str:
    """The upstream commit the folder's README names (``unknown`` when it names none)."""
    for readme in sorted(source.glob("**/README*")):
        m = _COMMIT.search(readme.read_text(encoding="utf-8"))
        if m:
            return m[1]
    return "unknown"


# ------------------------------------------------------------------------------------- geometry

def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lon, lat) points."""
    lo1, la1, lo2, la2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(min(1.0, h)))


def line_km(geom) -> float:
    """Length in km of a (multi)line in lon/lat degrees."""
    total = 0.0
    for part in shapely.get_parts(shapely.line_merge(geom) if geom.geom_type != "LineString" else geom):
        if part.geom_type not in ("LineString", "LinearRing"):
            continue
        c = list(part.coords)
        total += sum(km_between(c[i], c[i + 1]) for i in range(len(c) - 1))
    return total


def clean_coverage(regions: dict[str, tuple[str, object]]) -> dict[str, object]:
    """Regions cut from one noded set of borders: no overlaps, no slivers between neighbours."""
    codes = sorted(regions)
    geoms = [regions[c][1] for c in codes]
    faces = list(shapely.get_parts(shapely.polygonize(
        [shapely.union_all([g.boundary for g in geoms])])))
    tree = shapely.STRtree(geoms)
    owner: list[int | None] = []
    probes = [f.point_on_surface() for f in faces]
    for face, probe in zip(faces, probes):
        hits = tree.query(probe, predicate="within")
        owner.append(int(min(hits)) if len(hits) else None)
    by_region: dict[int, list] = defaultdict(list)
    for face, o in zip(faces, owner):
        if o is not None:
            by_region[o].append(face)
    # Thin uncovered faces are gaps between neighbours: give each to the region it borders most.
    for face, o in zip(faces, owner):
        if o is not None or face.length == 0 or 2 * face.area / face.length >= SLIVER_DEG:
            continue
        best, best_len = None, 0.0
        for i in tree.query(face, predicate="intersects"):
            shared = face.boundary.intersection(geoms[int(i)].boundary).length
            if shared > best_len:
                best, best_len = int(i), shared
        if best is not None:
            by_region[best].append(face)
    out = {}
    for i, code in enumerate(codes):
        parts = by_region.get(i)
        if not parts:
            raise SystemExit(f"{code}: no area left after cleaning the coverage")
        out[code] = shapely.coverage_union_all(parts)
    return out


def largest_part(geom) -> Polygon:
    return max(shapely.get_parts(geom), key=lambda p: (p.area, p.bounds))


def inside_point(geom) -> tuple[float, float]:
    """The pole of inaccessibility of the largest part (a point well inside, never outside)."""
    part = largest_part(geom)
    tol = max(1e-4, math.sqrt(part.area) / 200)
    p = polylabel(part, tolerance=tol)
    if not part.contains(p):  # polylabel stays inside in practice; this guards the rule anyway
        p = part.representative_point()
    return p.x, p.y


def _rounded_inside(geom, lon: float, lat: float) -> tuple[float, float] | None:
    r = (round(lon, POINT_DECIMALS), round(lat, POINT_DECIMALS))
    return r if geom.contains(Point(r)) else None


def points(clean: dict[str, object], provinces: dict[str, object], old: dict[str, dict]) -> dict[str, dict]:
    """A point per region with its kind (``seat``/``inside``) and source."""
    out: dict[str, dict] = {}
    for code, geom in sorted(clean.items()):
        r = old[code]
        seat = None
        if r["coord_source"].startswith("geonames:name:"):
            seat = _rounded_inside(geom, r["lon"], r["lat"])
        if seat:
            out[code] = {"lon": seat[0], "lat": seat[1], "point": "seat", "coord_source": "seat-geonames"}
            continue
        lon, lat = inside_point(geom)
        p = _rounded_inside(geom, lon, lat) or (lon, lat)
        if r["level"] == "kota":
            out[code] = {"lon": p[0], "lat": p[1], "point": "seat", "coord_source": "seat-city-polygon"}
        else:
            out[code] = {"lon": p[0], "lat": p[1], "point": "inside", "coord_source": "inside-polygon"}
    for code, geom in sorted(provinces.items()):
        # A province whose largest part is one regency (Kepulauan Riau and Natuna) would get that
        # regency's point: keep its point clear of every regency point of the province.
        taken = [Point(p["lon"], p["lat"]) for c, p in out.items() if c[:2] == code]
        lon, lat = inside_point(largest_part(geom).difference(shapely.union_all(taken).buffer(0.05)))
        p = _rounded_inside(geom, lon, lat) or (lon, lat)
        out[code] = {"lon": p[0], "lat": p[1], "point": "inside", "coord_source": "inside-polygon"}
    seen: dict[tuple[float, float], str] = {}
    for code, p in out.items():
        key = (p["lon"], p["lat"])
        if key in seen:
            raise SystemExit(f"{code} and {seen[key]} have the same point {key}")
        seen[key] = code
    return out


def coast_km(a, b) -> float:
    pa, pb = shapely.ops.nearest_points(a, b)
    return km_between((pa.x, pa.y), (pb.x, pb.y))


def neighbours(geoms: dict[str, object]) -> dict[str, dict[str, dict]]:
    """``{code: {other: {"kind": "land"|"sea", "km": border or gap length}}}``, symmetric."""
    codes = sorted(geoms)
    arr = [geoms[c] for c in codes]
    tree = shapely.STRtree(arr)
    nb: dict[str, dict[str, dict]] = {c: {} for c in codes}
    for i, a in enumerate(arr):
        for j in tree.query(a, predicate="intersects"):
            j = int(j)
            if j <= i:
                continue
            shared = line_km(shapely.intersection(a.boundary, arr[j].boundary))
            if shared >= LAND_KM:
                nb[codes[i]][codes[j]] = {"kind": "land", "km": round(shared, 1)}
                nb[codes[j]][codes[i]] = {"kind": "land", "km": round(shared, 1)}
    for i, code in enumerate(codes):
        if any(v["kind"] == "land" for v in nb[code].values()):
            continue
        a = arr[i]
        # Candidates: the regions whose bounding boxes come within the cap (≈ 1° per 111 km).
        reach = SEA_CAP_KM / 100.0
        x0, y0, x1, y1 = a.bounds
        cands = [int(j) for j in tree.query(shapely.box(x0 - reach, y0 - reach, x1 + reach, y1 + reach))
                 if int(j) != i]
        dists = sorted((coast_km(a, arr[j]), codes[j]) for j in cands)
        near = [(d, c) for d, c in dists if d <= SEA_KM][:SEA_MAX]
        if not near and dists and dists[0][0] <= SEA_CAP_KM:
            near = dists[:1]
        for d, other in near:
            if other not in nb[code]:
                nb[code][other] = {"kind": "sea", "km": round(d, 1)}
                nb[other][code] = {"kind": "sea", "km": round(d, 1)}
    return nb


# ------------------------------------------------------------------------------------- outlines

def _encode_ring(coords) -> list[int]:
    """A ring as ``[x0, y0, dx1, dy1, ...]`` in 1/SCALE degree, closing point left out."""
    pts = np.round(np.asarray(coords)[:-1] * SCALE).astype(np.int64)
    keep = [0] + [k for k in range(1, len(pts)) if (pts[k] != pts[k - 1]).any()]
    pts = pts[keep]
    if len(pts) < 3:
        return []
    deltas = np.vstack([pts[:1], np.diff(pts, axis=0)])
    return [int(v) for v in deltas.ravel()]


def outlines(geoms: dict[str, object], layer: str) -> dict[str, list[list[int]]]:
    codes = sorted(geoms)
    simple = shapely.coverage_simplify([geoms[c] for c in codes], TOLERANCE[layer], simplify_boundary=True)
    others = shapely.STRtree(simple)
    out: dict[str, list[list[int]]] = {}
    for i, (code, g) in enumerate(zip(codes, simple)):
        rings: list[list[int]] = []
        parts = sorted(shapely.get_parts(g), key=lambda p: (-p.area, p.bounds))
        for k, part in enumerate(parts):
            if k > 0 and part.area < MIN_ISLAND_DEG2[layer]:
                touching = [int(j) for j in others.query(part, predicate="intersects") if int(j) != i]
                if not touching:
                    continue
            for ring in [part.exterior, *part.interiors]:
                enc = _encode_ring(ring.coords)
                if enc:
                    rings.append(enc)
        out[code] = rings
    return out


def drawn_shape(rings: list[list[int]]):
    """The polygon that ``rings`` draw (even-odd), back in degrees."""
    polys = []
    for enc in rings:
        pts = np.cumsum(np.asarray(enc, dtype=np.int64).reshape(-1, 2), axis=0) / SCALE
        polys.append(_polygonal(shapely.make_valid(Polygon(pts))))
    return _polygonal(shapely.make_valid(shapely.symmetric_difference_all(polys)))


def as_drawn(geoms: dict[str, object], drawn: dict[str, list[list[int]]]) -> dict[str, object]:
    """Each region's area both in its polygon and in its drawn outline, for points that lie
    inside whichever of the two a reader looks at."""
    out = {}
    for code, geom in geoms.items():
        both = _polygonal(shapely.make_valid(geom.intersection(drawn_shape(drawn[code]))))
        out[code] = both if not both.is_empty else geom
    return out


# ------------------------------------------------------------------------------------------ main

def attribution(commit: str) -> dict:
    return {
        "dataset": "cahyadsn/wilayah_boundaries",
        "commit": commit,
        "licence": "MIT",
        "copyright": "Copyright (c) 2024 Cahya DSN",
        "notice": "Boundaries derived from the wilayah_boundaries data set by Cahya DSN, MIT licence; "
                  "see kb/data/LICENSE-geodata.",
    }


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                    help="folder holding the wilayah_boundaries copy (default: ../shared/geodata)")
    ap.add_argument("--out", type=Path, default=DATA, help="output folder (default: kb/data)")
    args = ap.parse_args(argv)
    old = {r["code"]: r for r in json.loads((DATA / "regions.json").read_text(encoding="utf-8"))["regions"]}
    raw = read_regencies(args.source)
    missing = sorted(set(c for c in old if "." in c) ^ set(raw))
    if missing:
        raise SystemExit(f"regency codes differ between kb/data/regions.json and the geodata: {missing[:10]}")
    clean = clean_coverage(raw)
    provinces = {p: shapely.coverage_union_all([g for c, g in clean.items() if c[:2] == p])
                 for p in sorted({c[:2] for c in clean})}
    drawn = {"province": outlines(provinces, "province"), "regency": outlines(clean, "regency")}
    pts = points(as_drawn(clean, drawn["regency"]), as_drawn(provinces, drawn["province"]), old)
    nb = {**neighbours(clean), **neighbours(provinces)}
    commit = source_commit(args.source)
    regions = {}
    for code in sorted(pts):
        regions[code] = {**pts[code], "neighbours": [[o, v["kind"], v["km"]] for o, v in sorted(nb[code].items())]}
    geo_meta = {
        "source": attribution(commit),
        "rules": {"land_border_km": LAND_KM, "sea_km": SEA_KM, "sea_max": SEA_MAX, "sea_cap_km": SEA_CAP_KM,
                  "neighbours": "[code, kind, km]: km is the shared border (land) or the gap between coasts (sea)",
                  "point": "seat: the seat of government (a city's own area, or a regency's name-matched "
                           "GeoNames place inside it); inside: a point well inside the polygon"},
    }
    out_meta = {
        "source": attribution(commit),
        "encoding": f"each ring is [x0, y0, dx1, dy1, ...]: longitude and latitude in 1/{SCALE} degree, "
                    "first point absolute, then differences; the closing point is left out",
        "scale": SCALE,
        "tolerance_deg": TOLERANCE,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "geography.json").write_text(dump({"meta": geo_meta, "regions": regions}), encoding="utf-8")
    (args.out / "outlines.json").write_text(dump({"meta": out_meta, **drawn}), encoding="utf-8")
    counts = defaultdict(int)
    for code, r in regions.items():
        if "." in code:
            counts[r["coord_source"]] += 1
            kinds = {k for _, k, _ in r["neighbours"]}
            counts["regencies with sea neighbours only" if kinds == {"sea"} else
                   "regencies with land neighbours" if "land" in kinds else "regencies with no neighbour"] += 1
    pairs = {tuple(sorted((c, o))) for c, r in regions.items() if "." in c for o, k, _ in r["neighbours"] if k == "land"}
    print(json.dumps({**counts, "land pairs": len(pairs)}, indent=1, sort_keys=True))
    for name in ("geography.json", "outlines.json"):
        print(f"{name}: {(args.out / name).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
