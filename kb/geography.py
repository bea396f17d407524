"""Region geography for pages, API and CLI: a region's point and neighbours, and outlines to draw.

Data: ``kb/data/geography.json`` (points and neighbours) and ``kb/data/outlines.json``
(simplified province and regency outlines whose neighbours share their border points), both
built by ``scripts/build_geography.py`` from the wilayah_boundaries data set (MIT licence,
Cahya DSN; see ``kb/data/LICENSE-geodata``). Nothing here needs shapely.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from .gazetteer import Gazetteer, Region, gazetteer

Ring = list[tuple[float, float]]


@functools.cache
def _outline_data() -> dict:
    return json.loads(resources.files("kb").joinpath("data/outlines.json").read_text(encoding="utf-8"))


def _decode(ring: list[int], scale: int) -> Ring:
    """``[x0, y0, dx1, dy1, ...]`` in 1/scale degree to ``[(lon, lat), ...]``."""
    out: Ring = []
    x = y = 0
    for k in range(0, len(ring), 2):
        x += ring[k]
        y += ring[k + 1]
        out.append((x / scale, y / scale))
    return out


@functools.cache
def outlines(layer: str) -> dict[str, list[Ring]]:
    """``{code: [ring, ...]}`` for ``layer`` ``"province"`` or ``"regency"``: rings of (lon, lat);
    outer rings and holes alike (draw them with the even-odd rule)."""
    if layer not in ("province", "regency"):
        raise ValueError(f"unknown outline layer {layer!r}: use 'province' or 'regency'")
    data = _outline_data()
    scale = int(data["meta"]["scale"])
    return {code: [_decode(r, scale) for r in rings] for code, rings in data[layer].items()}


@functools.cache
def province_borders() -> list[Ring]:
    """The land borders between provinces as polylines of (lon, lat), taken from the regency
    outlines (the segments two regencies of different provinces share), so that they lie exactly
    on the regency borders they follow."""
    shapes = outlines("regency")
    owners: dict[tuple, set[str]] = {}
    for code, rings in shapes.items():
        for ring in rings:
            for a, b in zip(ring, ring[1:] + ring[:1]):
                owners.setdefault((a, b) if a < b else (b, a), set()).add(code[:2])
    lines: list[Ring] = []
    seen: set[tuple] = set()
    for code, rings in sorted(shapes.items()):
        for ring in rings:
            run: Ring = []
            for a, b in zip(ring, ring[1:] + ring[:1]):
                key = (a, b) if a < b else (b, a)
                if len(owners[key]) > 1 and key not in seen:
                    seen.add(key)
                    if not run:
                        run = [a]
                    run.append(b)
                elif run:
                    lines.append(run)
                    run = []
            if run:
                lines.append(run)
    return lines


def attribution() -> str:
    """The one-line credit the boundary data's licence asks for."""
    src = _outline_data()["meta"]["source"]
    return f"{src['copyright']} ({src['dataset']}, {src['licence']})"


def profile(region: Region, g: Gazetteer | None = None) -> dict:
    """What a planner asks of a region's place: its point (and whether it is the seat of
    government), its province and its neighbours with their kind and the distance to each."""
    g = g or gazetteer()
    return {
        "code": region.code, "name": region.name, "level": region.level,
        "province": g.province_of(region).as_ref(), "island": region.island,
        "lat": region.lat, "lon": region.lon, "point": region.point, "is_seat": region.is_seat,
        "coord_source": region.coord_source,
        "neighbours": [{"code": n.code, "name": n.name, "kind": kind,
                        "distance_km": round(g.distance_km(region, n), 1)} for n, kind in g.neighbours(region)],
    }
