"""A record as the search index and the recommender read it: its texts by field and its index
document. The domain side of the index: what a record's fields mean for search."""

from __future__ import annotations

from .gazetteer import gazetteer
from .vocab import COOPERATION_TYPES, SECTORS, STATUSES


def record_texts(data: dict, *, facet_labels: bool = True) -> dict[str, str]:
    """A record's searchable texts by field (``title``, ``summary``, ``lessons``, ``meta``,
    ``body``); the index and the recommender both read records through it.

    ``meta`` holds the region names, parties, affairs, mechanism and sector labels. With
    ``facet_labels`` it also names the provinces and the status and cooperation type, so that
    "terhenti", "luar negeri" or "Jawa Barat" find records by their facets.
    """
    g = gazetteer()
    regions = [r for r in (g.get(c) for c in data.get("regions", [])) if r]
    names = [r.name for r in regions]
    labels = [SECTORS.get(x, x) for x in data.get("sectors", [])]
    if facet_labels:
        listed = {r.code for r in regions}
        names += [g.get(p).name for p in sorted({r.province_code for r in regions}) if p not in listed]
        if data.get("status"):
            labels.append(STATUSES.get(data["status"], data["status"]))
        if data.get("cooperation_type"):
            labels.append(COOPERATION_TYPES.get(data["cooperation_type"], ""))
    meta = " ; ".join(names + data.get("third_parties", []) + data.get("urusan", [])
                      + [data.get("mechanism", "")] + labels)
    return {"title": data.get("title", ""), "summary": data.get("summary", ""),
            "lessons": "\n".join(data.get("lessons", []) + data.get("challenges", [])),
            "meta": meta, "body": data.get("body", "")}


def document_for(data: dict) -> dict:
    """The index document of a record's canonical data (fields of :mod:`kb.search.specs`)."""
    g = gazetteer()
    lang = data.get("language", "id")
    regions = [r for r in (g.get(c) for c in data.get("regions", [])) if r]
    provinces = sorted({r.province_code for r in regions})
    islands = sorted({r.island for r in regions})
    texts = record_texts(data)
    lessons = texts["lessons"]
    doc = {
        "id": data["id"], "version": data.get("version", 1), "language": lang,
        **{f"{name}_{lang}": text for name, text in texts.items()},
        "words": " ".join([data["title"], data["summary"], data.get("body", ""), lessons]),
        "sector": ",".join(data.get("sectors", [])), "province": ",".join(provinces),
        "island": ",".join(islands), "region": ",".join(r.code for r in regions),
        "status": data.get("status", ""), "type": data.get("cooperation_type", ""),
        "kind": data.get("kind", "case"), "title_sort": data["title"].lower()[:100],
    }
    if data.get("start_year"):
        doc["year"] = data["start_year"]
    if data.get("end_year"):
        doc["end_year"] = data["end_year"]
    return {k: v for k, v in doc.items() if v not in ("", None)}
