"""Queries: a user's text parsed for both languages, filters, and spelling suggestions.

Most queries are plain words and are built directly (:meth:`Queries.parse`); text with query
syntax (fields, quotes, groups, operators, ranges) goes through Whoosh's parser with the
rewrites below, so that ``a b NOT c`` and a facet clause beside words mean what a user means.
"""

from __future__ import annotations

import re

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from whoosh import qparser, query

from ..text import analyze, glue_phrases
from .phrases import ExactPhrasePlugin
from .specs import FACET_SPECS, FACETS, LANGS, TEXT_SPECS, normalize_facet_value

_WORDS = re.compile(r"[^\W_]+")
# Words (hyphens, dots, commas and glued phrases inside) with no query syntax at all.
_PLAIN_CHUNK = re.compile(r"[^\W_]+(?:[-+.,/][^\W_]+)*[.,;!?]?")
_OPERATORS = re.compile(r"\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b")


class Queries:
    """The query parsers of an index schema, one per language."""

    def __init__(self, schema):
        self.schema = schema
        self._parsers = {lang: self._make_parser(lang) for lang in LANGS}

    def _make_parser(self, lang: str) -> qparser.QueryParser:
        names = [f"{s.name}_{lang}" for s in TEXT_SPECS]
        boosts = {f"{s.name}_{lang}": s.boost for s in TEXT_SPECS}
        aliases = {f"{s.name}_{lang}": list(s.aliases) for s in TEXT_SPECS}
        for spec in FACET_SPECS:
            aliases[spec.key] = list(spec.aliases)
        plugins = [qparser.WhitespacePlugin(), qparser.SingleQuotePlugin(), qparser.FieldsPlugin(),
                   ExactPhrasePlugin(), qparser.GroupPlugin(), qparser.OperatorsPlugin(),
                   qparser.RangePlugin(), qparser.FieldAliasPlugin(aliases),
                   qparser.MultifieldPlugin(names, fieldboosts=boosts)]
        parser = qparser.QueryParser(None, self.schema, plugins=plugins, group=qparser.OrGroup.factory(0.9))
        return parser

    def parse(self, text: str) -> query.Query:
        """Parse a user query for both languages; a malformed query becomes its plain words."""
        parts = []
        text = glue_phrases(text)
        chunks = text.split()
        if all(_PLAIN_CHUNK.fullmatch(c) for c in chunks) and not _OPERATORS.search(text):
            return self._plain_query(chunks)
        for lang in LANGS:
            try:
                q = self._parsers[lang].parse(text)
                q = _require_facets(_fix_not(q.accept(_normalize_facet_terms)))
            except Exception:
                q = self._parsers[lang].parse(" ".join(_plain_words(text)))
            if q is not query.NullQuery:
                parts.append(q)
        return query.Or(parts) if parts else query.NullQuery

    def _plain_query(self, chunks: list[str]) -> query.Query:
        """The tree the parser would build for words without any syntax (most queries), built
        directly: per language, each word is an OR of its analyzed terms over the weighted
        fields, and the words are OR-ed with a coordination bonus."""
        parts = []
        for lang in LANGS:
            words = []
            for chunk in chunks:
                toks = list(dict.fromkeys(t.text for t in analyze(chunk, lang)))
                if toks:
                    words.append(query.Or([query.Term(f"{spec.name}_{lang}", tok, boost=spec.boost)
                                           for spec in TEXT_SPECS for tok in toks]))
            if len(words) == 1:
                parts.append(words[0])
            elif words:
                parts.append(query.Or(words, scale=0.9))
        return query.Or(parts) if parts else query.NullQuery



def suggest(text: str, vocab: list[tuple[dict[str, int], list[str]]]) -> str | None:
    """A corrected query when some of its words are unknown and a close known word exists
    (``vocab``: parts of the known words, each ``({word: document frequency}, [word, ...])``;
    a word's frequency is summed over the parts)."""
    def frequency(word: str) -> int:
        return sum(words.get(word, 0) for words, _ in vocab)

    changed = False
    out = []
    for tok in re.findall(r"\S+", text):
        if ":" in tok or tok.upper() in ("AND", "OR", "NOT") or tok.startswith(('"', "(")):
            out.append(tok)
            continue
        w = tok.lower().strip(".,;!?")
        if len(w) < 4 or not w.isalpha() or any(w in words for words, _ in vocab):
            out.append(tok)
            continue
        maxd = 1 if len(w) <= 5 else 2
        hits: dict[str, int] = {}
        for _, listed in vocab:
            for word, distance, _ in process.extract(w, listed, scorer=Levenshtein.distance, score_cutoff=maxd,
                                                     limit=20):
                hits[word] = distance
        if hits:
            out.append(min(hits, key=lambda word: (hits[word], -frequency(word))))
            changed = True
        else:
            out.append(tok)
    return " ".join(out) if changed else None


def _plain_words(text: str) -> list[str]:
    return [w for w in _WORDS.findall(text) if w.upper() not in ("AND", "OR", "NOT", "TO")]


def _fix_not(q: query.Query) -> query.Query:
    """``a b NOT c`` means a or b, but not c (Whoosh's OR grouping would read "or not c")."""
    if isinstance(q, query.Or):
        subs = [_fix_not(s) for s in q.subqueries]
        nots = [s.query for s in subs if isinstance(s, query.Not)]
        rest = [s for s in subs if not isinstance(s, query.Not)]
        if nots and rest:
            positive = rest[0] if len(rest) == 1 else q.__class__(rest, boost=q.boost)
            negative = nots[0] if len(nots) == 1 else query.Or(nots)
            return query.AndNot(positive, negative)
        return _copy_or(q, subs)
    if isinstance(q, query.And):
        return query.And([_fix_not(s) for s in q.subqueries], boost=q.boost)
    return q


def _is_facet_clause(q: query.Query) -> bool:
    names = {getattr(leaf, "fieldname", None) for leaf in q.leaves()} if q.is_leaf() is False else \
        {getattr(q, "fieldname", None)}
    return bool(names) and all(n in FACETS for n in names)


def _require_facets(q: query.Query) -> query.Query:
    """``sampah tahun:[2010 TO 2020]`` means waste records of those years: a facet clause beside
    words is a condition, not one more alternative."""
    if isinstance(q, query.Or):
        facet = [s for s in q.subqueries if _is_facet_clause(s)]
        rest = [s for s in q.subqueries if not _is_facet_clause(s)]
        if facet and rest:
            words = rest[0] if len(rest) == 1 else _copy_or(q, rest)
            return query.And([words] + facet)
    return q


def _copy_or(q: query.Or, subs: list[query.Query]) -> query.Or:
    new = q.copy()
    new.subqueries = subs
    return new


def _normalize_facet_terms(q: query.Query) -> query.Query:
    if isinstance(q, query.Term) and q.fieldname in FACETS and not FACETS[q.fieldname].numeric:
        value = normalize_facet_value(q.fieldname, str(q.text))
        return query.Term(q.fieldname, value or f"__unknown__{q.text}", boost=q.boost)
    return q


def unknown_filter_values(filters: dict[str, list[str]]) -> list[tuple[str, str]]:
    """``(facet, value)`` of the filter values that name nothing (a misspelt island, an
    unknown status ...): they match no record, and the user should be told why."""
    return [(key, value) for key, values in filters.items()
            if key in FACETS and not FACETS[key].numeric
            for value in values if value.strip() and normalize_facet_value(key, value) is None]


def filter_query(filters: dict[str, list[str]], year_from: int | None, year_to: int | None):
    parts = []
    for key, values in filters.items():
        spec = FACETS.get(key)
        if spec is None or spec.numeric:
            continue
        vals = [v for v in (normalize_facet_value(key, x) for x in values) if v]
        if not values:
            continue
        if not vals:
            vals = ["__none__"]
        parts.append(query.Or([query.Term(key, v) for v in vals]) if len(vals) > 1 else query.Term(key, vals[0]))
    if year_from or year_to:
        parts.append(query.NumericRange("year", year_from, year_to))
    if not parts:
        return None
    return query.And(parts) if len(parts) > 1 else parts[0]
