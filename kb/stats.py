"""Statistics of the published records, computed with pandas.

:func:`record_frame` reads the records once into a long DataFrame of their facet values: one
row per record, facet and value (``record``, ``facet``, ``value``), so list fields (sectors,
regions, and the provinces and islands of the regions) are exploded, each value once per
record, and a field a record leaves empty has no row. From that frame come the counts per facet
value (:func:`facet_counts`, the same numbers as the search index's facets over all published
records), the cross-tables (:func:`cross_table`) and the pairs of regions named in the same
case (:func:`region_pairs`). The command line, the statistics page and the home page show
:func:`statistics`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .gazetteer import ISLANDS, gazetteer
from .search import facet_label
from .vocab import COOPERATION_TYPES, KINDS, LANGUAGES, SECTORS, STATUSES

# The facets counted, in the order they are shown. ``region`` is in the frame for the pairs.
FACETS = ("sector", "island", "status", "kind", "year", "type", "province", "language")
# The cross-tables: key -> (facet of the rows, facet of the columns).
CROSS_TABLES = {"sector_status": ("sector", "status"), "island_type": ("island", "type")}
LANGUAGE_LABELS = {"id": "Bahasa Indonesia", "en": "Bahasa Inggris"}
# Where a facet's values have a fixed order (a vocabulary), a cross-table's columns follow it.
_ORDER = {"status": list(STATUSES), "type": list(COOPERATION_TYPES), "kind": list(KINDS),
          "language": list(LANGUAGES), "sector": list(SECTORS), "island": list(ISLANDS)}
_SCALARS = (("kind", "kind", "case"), ("language", "language", "id"), ("status", "status", None),
            ("type", "cooperation_type", None), ("year", "start_year", None))


def record_frame(records: Iterable[dict]) -> pd.DataFrame:
    """The facet values of ``records``: a row per record, facet and value, with the columns
    ``record`` (the record's position), ``facet`` and ``value`` (text; a year as its digits).

    Facets: ``kind`` (a record without one is a case), ``language`` (default Indonesian),
    ``status``, ``type`` (the cooperation type), ``year`` (the start year), ``sector``,
    ``region`` (the codes the gazetteer knows) and the ``province`` and ``island`` of those
    regions. ``frame.attrs["records"]`` is the number of records.
    """
    g = gazetteer()
    places: dict[str, tuple[str, str] | None] = {}
    keys = [key for key, _, _ in _SCALARS] + ["sector", "region", "province", "island"]
    owners: dict[str, list[int]] = {key: [] for key in keys}
    values: dict[str, list] = {key: [] for key in keys}
    n = -1
    for n, data in enumerate(records):
        for key, field, default in _SCALARS:
            v = data.get(field) or default
            if v is not None:
                owners[key].append(n)
                values[key].append(v)
        listed = {"sector": list(dict.fromkeys(data.get("sectors", ())))}
        regions = data.get("regions")
        if regions:
            for code in regions:
                if code not in places:
                    r = g.get(code)
                    places[code] = (r.province_code, r.island) if r else None
            known = [c for c in dict.fromkeys(regions) if places[c]]
            listed.update(region=known, province=sorted({places[c][0] for c in known}),
                          island=sorted({places[c][1] for c in known}))
        for key, vals in listed.items():
            owners[key] += [n] * len(vals)
            values[key] += vals
    sizes = [len(owners[key]) for key in keys]
    frame = pd.DataFrame({
        "record": pd.Series([i for key in keys for i in owners[key]], dtype="int64"),
        "facet": pd.Categorical.from_codes(np.repeat(np.arange(len(keys)), sizes), categories=keys),
        "value": pd.Series([str(v) if key == "year" else v for key in keys for v in values[key]], dtype=object)})
    frame.attrs["records"] = n + 1
    return frame


def _values(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``record`` and ``value`` of facet ``key``."""
    return frame.loc[frame["facet"] == key, ["record", "value"]]


def label(key: str, value: str) -> str:
    """The label of a facet value (the index's labels; a language by its name)."""
    return LANGUAGE_LABELS.get(value, value) if key == "language" else facet_label(key, value)


def facet_counts(frame: pd.DataFrame, keys: Iterable[str] = FACETS) -> dict[str, list[dict]]:
    """``{facet: [{"value", "label", "count"}, ...]}``: the records with each value, most first
    (then by value); years in their order."""
    counts = frame.groupby(["facet", "value"], observed=True).size()
    out = {}
    for key in keys:
        part = counts.xs(key, level="facet") if key in counts.index.get_level_values(0) else counts.iloc[:0]
        order = (lambda vn: int(vn[0])) if key == "year" else (lambda vn: (-vn[1], vn[0]))
        out[key] = [{"value": v, "label": label(key, v), "count": int(n)} for v, n in sorted(part.items(), key=order)]
    return out


def cross_table(frame: pd.DataFrame, rows: str, columns: str) -> pd.DataFrame:
    """The records counted by a value of facet ``rows`` (a row) and of ``columns`` (a column):
    a record with two sectors counts in both rows. Rows most records first (then by value),
    columns in their vocabulary's order; a value no record has is left out."""
    pairs = _values(frame, rows).merge(_values(frame, columns), on="record", suffixes=("_row", "_col"))
    table = pairs.groupby(["value_row", "value_col"]).size().unstack(fill_value=0)
    table = table.rename_axis(index=rows, columns=columns)
    order = [v for v in _ORDER.get(columns, sorted(table.columns)) if v in table.columns]
    table = table[order + sorted(set(table.columns) - set(order))]
    totals = table.sum(axis=1).to_dict()
    return table.loc[sorted(table.index, key=lambda v: (-totals[v], v))]


def table_dict(table: pd.DataFrame) -> dict:
    """A cross-table for JSON: its facets, its column values, and per row the value, its label,
    the counts in column order and their total."""
    rows, columns = table.index.name, table.columns.name
    return {"rows": rows, "columns": columns,
            "values": [{"value": v, "label": label(columns, v)} for v in table.columns],
            "data": [{"value": v, "label": label(rows, v), "counts": [int(n) for n in counts],
                      "total": int(sum(counts))} for v, counts in zip(table.index, table.to_numpy().tolist())]}


def region_pairs(frame: pd.DataFrame) -> pd.Series:
    """How many cases name each pair of regencies/cities, indexed by ``(a, b)`` with ``a < b``,
    most first (then by the pair)."""
    cases = _values(frame, "kind")
    cases = cases.loc[cases["value"] == "case", "record"]
    regions = _values(frame, "region")
    regions = regions[regions["record"].isin(cases) & regions["value"].str.contains(".", regex=False)]
    pairs = regions.merge(regions, on="record", suffixes=("_a", "_b"))
    pairs = pairs[pairs["value_a"] < pairs["value_b"]]
    counts = pairs.groupby(["value_a", "value_b"]).size().rename("cases").reset_index()
    counts = counts.sort_values(["cases", "value_a", "value_b"], ascending=[False, True, True])
    return counts.set_index(["value_a", "value_b"])["cases"].rename_axis(["a", "b"])


def statistics(frame: pd.DataFrame) -> dict:
    """``{"total", "facets", "tables"}``: the number of records, :func:`facet_counts` and each
    table of :data:`CROSS_TABLES` (as :func:`table_dict`)."""
    return {"total": frame.attrs["records"], "facets": facet_counts(frame),
            "tables": {key: table_dict(cross_table(frame, r, c)) for key, (r, c) in CROSS_TABLES.items()}}
