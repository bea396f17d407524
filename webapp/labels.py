"""Labels built in Python, in the request's language.

kb and the recommender name things in Indonesian (the source language) or by key; every label
a page shows goes through the request's message catalogue here: facet names and values
(sectors, statuses, islands, cooperation types, record kinds), authors, revision actions and
states, coordinate sources, and the reasons of recommendations. Region names are proper nouns
and stay as they are. The English of the vocabulary is in the catalogue
(``scripts/translations_en.py`` adds every label of ``kb.vocab`` to it).
"""

from __future__ import annotations

import weakref

from flask import g
from flask_babel import get_locale, get_translations
from markupsafe import Markup, escape

from kb.gazetteer import ISLANDS
from kb.search import FACETS, facet_label
from kb.vocab import COOPERATION_TYPES, SECTORS, STATUSES
from recommender.reasons import N_, Wording

# Author keys of records that no person wrote (kb.base: the bundled corpus, imports).
AUTHORS = {"corpus": N_("korpus bawaan"), "import": N_("impor"), "cli": N_("impor lewat baris perintah")}
# Revision actions and record states (kb.store keys).
ACTIONS = {"import": N_("impor"), "create": N_("dibuat"), "update": N_("disunting"),
           "published": N_("diterbitkan"), "draft": N_("dijadikan draf"), "deleted": N_("dihapus")}
STATES = {"published": N_("terbit"), "draft": N_("draf"), "deleted": N_("dihapus")}
ROLES = {"contributor": N_("kontributor"), "editor": N_("editor"), "admin": N_("admin")}
OBLIGATIONS = {"wajib": N_("wajib"), "sukarela": N_("sukarela")}
LANGUAGE_NAMES = {"id": N_("Bahasa Indonesia"), "en": N_("Bahasa Inggris")}
KINDS = {"case": N_("Studi kasus"), "practice": N_("Praktik baik")}
# Where a region's coordinate comes from (kb/data/regions.json), by the key's first part.
COORD_SOURCES = {"centroid-of-regencies": N_("titik tengah kabupaten/kotanya"),
                 "province-centroid": N_("titik tengah provinsinya"), "geonames": N_("GeoNames")}
# What a search tells beside its results (kb.search.NOTICES codes).
NOTICES = {"query_chars": N_("Kueri dipotong menjadi %(limit)d karakter pertamanya."),
           "query_words": N_("Kueri dipotong menjadi %(limit)d kata pertamanya."),
           "unknown_value": N_("%(facet)s “%(value)s” bukan nilai yang dikenal: tidak ada catatan yang cocok.")}
# Problems of a proposal a page words itself (kb.errors.RecordProblem.code).
PROBLEMS = {"too_short": N_("Usulan terlalu pendek: uraikan apa yang ingin dikerjakan daerah-daerah itu, "
                            "setidaknya dalam satu kalimat."),
            "region": N_("Daerah “%(text)s” tidak dikenal."),
            "region_candidates": N_("Daerah “%(text)s” tidak dikenal atau ambigu; mungkin maksud Anda: "
                                    "%(candidates)s?")}
DECADE = N_("%(decade)d-an")

# Facets whose values are proper nouns (region names): shown as they are.
NAMED_FACETS = frozenset({"province", "region"})


def request_translations():
    """The request's Flask-Babel catalogue, looked up once per request (a page translates
    ~40 strings)."""
    t = g.get("_translations")
    if t is None:
        t = g._translations = get_translations()
    return t


def gettext(message: str) -> str:
    return request_translations().ugettext(message)


def lang() -> str:
    return str(get_locale() or "id")


def facet_name(key: str, gettext=None) -> str:
    """A facet's name (``sector`` -> Bidang / Sectors). A loop over many labels passes the
    request's ``gettext`` (looked up once) instead of finding it per label."""
    spec = FACETS.get(key)
    return (gettext or _gettext())(spec.label) if spec else key


def _gettext():
    return request_translations().ugettext


def value_label(key: str, value, gettext=None) -> str:
    """A facet value as a reader of this language reads it (``gettext``: see :func:`facet_name`)."""
    value = "" if value is None else str(value)
    if gettext is None:
        gettext = _gettext()
    if key in NAMED_FACETS or FACETS.get(key) is not None and FACETS[key].numeric:
        return facet_label(key, value)
    if key == "type":
        name = COOPERATION_TYPES.get(value)
        return f"{value} — {gettext(name)}" if name else value
    if key == "sector" and value in SECTORS:
        return gettext(SECTORS[value])
    if key == "status" and value in STATUSES:
        return gettext(STATUSES[value])
    if key == "island" and value in ISLANDS:
        return gettext(ISLANDS[value])
    if key == "kind" and value in KINDS:
        return gettext(KINDS[value])
    if key == "obligation" and value in OBLIGATIONS:
        return gettext(OBLIGATIONS[value])
    if key == "language" and value in LANGUAGE_NAMES:
        return gettext(LANGUAGE_NAMES[value])
    return value


class _FacetLabels(dict):
    """value -> :func:`value_label` of one facet, each computed on first use (in a request of
    the table's language: see :func:`label_table`)."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key

    def __missing__(self, value) -> str:
        label = self[value] = value_label(self.key, value)
        return label


class LabelTable(dict):
    """facet key -> value -> :func:`value_label`, in one language: a template reads a label as
    ``labels['sector'][value]`` (a dictionary look-up where a call costs ~2 µs; a search page
    shows ~80 labels). For values from the index (facet rows, hits): they are few, while a
    value from a URL could be anything, so those go through :func:`value_label`."""

    def __missing__(self, key: str) -> _FacetLabels:
        table = self[key] = _FacetLabels(key)
        return table


# One table per message catalogue (Flask-Babel keeps one catalogue object per language); a
# table holds no reference to its catalogue, so it goes when the catalogue does.
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def label_table() -> LabelTable:
    """The value labels of the request's language (see :class:`LabelTable`)."""
    translations = request_translations()
    table = _TABLES.get(translations)
    if table is None:
        table = _TABLES[translations] = LabelTable()
    return table


def localized(key: str, rows: list[dict]) -> list[dict]:
    """Facet count rows (``value``, ``label``, ``count``) with their labels in this language."""
    return [{**row, "label": value_label(key, row["value"])} for row in rows]


def author_label(author: str | None) -> str:
    """Who wrote a revision: a person's user name, or what imported it."""
    return gettext(AUTHORS[author]) if author in AUTHORS else (author or "—")


def role_label(role: str) -> str:
    return gettext(ROLES[role]) if role in ROLES else role


def action_label(action: str) -> str:
    return gettext(ACTIONS[action]) if action in ACTIONS else action


def state_label(state: str) -> str:
    return gettext(STATES[state]) if state in STATES else state


def coord_source_label(source: str) -> str:
    head = (source or "").split(":", 1)[0]
    return gettext(COORD_SOURCES[head]) if head in COORD_SOURCES else source


def notice_text(note: dict) -> str:
    """A search notice (``{"code", "values"}``) in this language."""
    values = dict(note.get("values") or {})
    if "facet" in values:
        values["facet"] = facet_name(values["facet"])
    template = NOTICES.get(note.get("code"))
    return gettext(template) % values if template else str(note.get("code"))


def problem_text(problem) -> str:
    """A problem of a proposal in this language when it has a code, else its own message."""
    code, values = getattr(problem, "code", None), dict(getattr(problem, "values", None) or {})
    if code == "region" and values.get("candidates"):
        code, values["candidates"] = "region_candidates", ", ".join(values["candidates"])
    if code in PROBLEMS:
        return gettext(PROBLEMS[code]) % values
    return getattr(problem, "message", None) or str(problem)


def decade_label(decade: int) -> str:
    return gettext(DECADE) % {"decade": decade}


class HtmlWording(Wording):
    """Reasons as HTML for a page: the record content inside them (terms, titles, region
    names) is marked ``translate="no"`` (it is shown as written, in its own language)."""

    def content(self, text: str) -> Markup:
        return Markup('<span translate="no">%s</span>') % text

    def fill(self, template: str, values: dict) -> Markup:
        return Markup(escape(template)) % values


def wording(*, html: bool = False) -> Wording:
    """Reasons of recommendations worded in the request's language (as HTML for a page)."""
    return (HtmlWording if html else Wording)(request_translations().ugettext, lang())


GLOBALS = {"facet_name": facet_name, "value_label": value_label, "label_table": label_table,
           "author_label": author_label, "action_label": action_label, "notice_text": notice_text, "problem_text": problem_text, "role_label": role_label, "state_label": state_label, "coord_source_label": coord_source_label}
