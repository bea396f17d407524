"""What the index holds, declared once: the weighted text fields and the facets.

A facet is declared here and nowhere else: its key, index field, aliases in queries, and the
functions that turn a user's value into the indexed value and an indexed value into a label.
The schema, the query parser, the filters, the facet counts and the API's list of facets are all
read from these specs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from ..gazetteer import ISLANDS, gazetteer, normalize_island
from ..text import SinergiTokenizer
from ..vocab import (COOPERATION_TYPES, SECTORS, STATUSES, normalize_cooperation_type, normalize_kind,
                     normalize_sector, normalize_status)

LANGS = ("id", "en")


@dataclass(frozen=True)
class TextSpec:
    """A weighted text field (one index field per language: ``title_id``, ``title_en``)."""

    name: str
    boost: float
    stored: bool
    aliases: tuple[str, ...]


def _same(value: str) -> str | None:
    return value


def _region_code(value: str) -> str | None:
    r = gazetteer().find(value)
    return r.code if r else None


def _province_code(value: str) -> str | None:
    r = gazetteer().find(value)
    return r.province_code if r else None


def _region_name(code: str) -> str:
    r = gazetteer().get(code)
    return r.name if r else code


def _type_label(key: str) -> str:
    return f"{key} — {COOPERATION_TYPES.get(key, '')}".strip(" —")


KIND_LABELS = {"case": "Studi kasus", "practice": "Praktik baik"}


@dataclass(frozen=True)
class FacetSpec:
    """A facet: its URL/CLI key (also its index field), its label, its aliases in queries, and
    how a user's value is normalised (``None``: names nothing) and an indexed value labelled."""

    key: str
    label: str
    aliases: tuple[str, ...] = ()
    numeric: bool = False
    normalize: Callable[[str], str | None] = _same
    value_label: Callable[[str], str] = str


TEXT_SPECS = (
    TextSpec("title", 5.0, True, ("title", "judul")),
    TextSpec("summary", 2.5, True, ("summary", "ringkasan")),
    TextSpec("lessons", 1.8, True, ("lessons", "pelajaran", "challenges", "tantangan")),
    TextSpec("meta", 1.5, False, ("meta", "mechanism", "mekanisme", "mitra")),
    TextSpec("body", 1.0, True, ("body", "isi")),
)
FACET_SPECS = (
    FacetSpec("sector", "Bidang", ("bidang", "sektor"), normalize=normalize_sector,
              value_label=lambda v: SECTORS.get(v, v)),
    FacetSpec("province", "Provinsi", ("provinsi",), normalize=_province_code, value_label=_region_name),
    FacetSpec("island", "Pulau", ("pulau",), normalize=normalize_island, value_label=lambda v: ISLANDS.get(v, v)),
    FacetSpec("status", "Status", (), normalize=normalize_status, value_label=lambda v: STATUSES.get(v, v)),
    FacetSpec("type", "Jenis kerja sama", ("jenis", "cooperation_type"), normalize=normalize_cooperation_type,
              value_label=_type_label),
    FacetSpec("kind", "Jenis catatan", ("tipe",), normalize=normalize_kind,
              value_label=lambda v: KIND_LABELS.get(v, v)),
    FacetSpec("region", "Daerah", ("daerah",), normalize=_region_code, value_label=_region_name),
    FacetSpec("year", "Tahun mulai", ("tahun",), numeric=True),
)
FACETS = {f.key: f for f in FACET_SPECS}
# Facets counted for every search (region has hundreds of values: counted on request only).
DEFAULT_FACETS = ("sector", "province", "island", "status", "type", "kind", "year")


@functools.lru_cache(maxsize=4096)
def facet_label(key: str, value: str) -> str:
    """A human label for a facet value (a region name for a code, a sector label ...)."""
    spec = FACETS.get(key)
    return spec.value_label(value) if spec else value


def normalize_facet_value(key: str, value: str) -> str | None:
    """The indexed form of a user's facet value (names to codes, synonyms to keys); ``None``
    when it names nothing."""
    value = (value or "").strip()
    if not value:
        return None
    spec = FACETS.get(key)
    return spec.normalize(value) if spec else value


def build_schema() -> Schema:
    """The Whoosh schema, built from the specs above."""
    fields: dict = {"id": ID(stored=True, unique=True), "version": STORED(), "language": ID(stored=True),
                    "words": TEXT(analyzer=RegexTokenizer(r"[^\W_]+") | LowercaseFilter(), phrase=False)}
    for lang in LANGS:
        for spec in TEXT_SPECS:
            f = TEXT(analyzer=SinergiTokenizer(lang), stored=spec.stored)
            f.multitoken_query = "or"  # a glued phrase (air+minum) gives its concept and its words
            fields[f"{spec.name}_{lang}"] = f
    for spec in FACET_SPECS:
        if spec.numeric:
            fields[spec.key] = NUMERIC(int, stored=True, sortable=True, bits=32, signed=False)
        else:
            fields[spec.key] = KEYWORD(stored=True, commas=True, lowercase=False, scorable=False)
    fields["end_year"] = NUMERIC(int, stored=True, bits=32, signed=False)
    fields["title_sort"] = ID(sortable=True)
    return Schema(**fields)
