"""Quoted phrases: a phrase matches its words in order, as the analyzer indexed them.

The analyzer (:mod:`kb.text`) gives some positions more than one term: a one-word concept keeps
its word beside the concept token (``TPA`` is ``_sampah`` and ``tpa`` at one position), and a
stop word leaves a gap (``pengelolaan dan pengangkutan`` is ``kelola`` at 0, ``angkut`` at 2).
Whoosh's own phrase query reads a phrase's terms as consecutive positions, so such a phrase
matched nothing. Here a phrase is one term per analyzed position, at its offset from the first:
the word's stem where the word was kept, else the concept token that stands for several words
(``air minum`` -> ``_airminum``). Stop words inside a phrase match any stop word.

A phrase also matches a text field that holds its words as written, in order, whatever the
punctuation between them (checked on the stored field text, :func:`literal_pattern`): this finds
a phrase that starts or ends inside a multi-word concept (``penyediaan air`` in ``penyediaan
air minum``, where the index holds ``_airminum`` instead of ``air``), and a phrase of stop words
only (``agar setiap``), which leaves no term to look up.
"""

from __future__ import annotations

import re

from whoosh import matching, query
from whoosh.qparser import PhrasePlugin

from .text import SinergiTokenizer, analyze, normalize

_WORD = re.compile(r"[^\W_]+")


def phrase_terms(text: str, lang: str) -> tuple[list[str], list[int]]:
    """The terms of a phrase, one per analyzed position (a word's stem before a concept token
    at the same position), and each one's offset from the first."""
    by_pos: dict[int, list[str]] = {}
    for term in analyze(text, lang):
        by_pos.setdefault(term.pos, []).append(term.text)
    words, offsets = [], []
    for pos in sorted(by_pos):
        texts = by_pos[pos]
        plain = [t for t in texts if not t.startswith("_")]
        words.append(plain[0] if plain else texts[0])
        offsets.append(pos)
    base = offsets[0] if offsets else 0
    return words, [o - base for o in offsets]


def literal_pattern(text: str) -> re.Pattern | None:
    """A pattern finding the words of ``text`` as written, in order, as whole words, with any
    run of spaces or punctuation between them (case-insensitive)."""
    words = _WORD.findall(normalize(text).casefold())
    if not words:
        return None
    body = r"[\W_]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def literal_words(text: str) -> list[str]:
    """The lower-cased words of ``text`` as the index's ``words`` field holds them."""
    return _WORD.findall(normalize(text).lower())


class ExactPhrase(query.Phrase):
    """A phrase whose terms sit at given offsets from the first (see the module docstring);
    ``text`` is the phrase as the user wrote it."""

    def __init__(self, fieldname: str, words: list[str], offsets: list[int] | None = None, text: str = "",
                 slop: int = 1, boost: float = 1.0, char_ranges=None, degrade: bool = False):
        super().__init__(fieldname, words, slop=slop, boost=boost, char_ranges=char_ranges, degrade=degrade)
        self.offsets = list(offsets) if offsets is not None else list(range(len(words)))
        self.text = text

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.offsets == other.offsets and self.text == other.text

    def __hash__(self) -> int:
        return super().__hash__() ^ hash(tuple(self.offsets))

    def __repr__(self) -> str:
        return f"ExactPhrase({self.fieldname!r}, {self.words!r}, offsets={self.offsets}, boost={self.boost:f})"

    def normalize(self):
        return self if self.words or self.text else query.NullQuery

    def matcher(self, searcher, context=None):
        """The documents holding every term at its offset (positions read from the index)."""
        fieldname = self.fieldname
        if fieldname not in searcher.schema or not self.words:
            return matching.NullMatcher()
        field = searcher.schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            return matching.NullMatcher()
        reader = searcher.reader()
        postings = []
        for word in self.words:
            btext = field.to_bytes(word)
            if (fieldname, btext) not in reader:
                return matching.NullMatcher()
            postings.append(reader.postings(fieldname, btext))
        hits = [doc for doc, positions in _common_docs(postings) if self._fits(positions)]
        m = matching.ListMatcher(hits) if hits else matching.NullMatcher()
        return matching.WrappingMatcher(m, boost=self.boost) if hits and self.boost != 1.0 else m

    def _fits(self, positions: list[set[int]]) -> bool:
        first, rest = positions[0], list(zip(self.offsets[1:], positions[1:]))
        start = self.offsets[0]
        return any(all(p - start + off in where for off, where in rest) for p in first)


def _common_docs(postings: list) -> list[tuple[int, list[set[int]]]]:
    """The documents that every posting list holds, with each list's positions there."""
    out = []
    lead = postings[0]
    while lead.is_active():
        doc = lead.id()
        for m in postings[1:]:
            if m.is_active() and m.id() < doc:
                m.skip_to(doc)
            if not m.is_active():
                return out
            if m.id() > doc:
                doc = m.id()
        if all(m.id() == doc for m in postings):
            out.append((doc, [set(m.value_as("positions")) for m in postings]))
            lead.next()
        else:
            lead.skip_to(doc)
    return out


class ExactPhrasePlugin(PhrasePlugin):
    """Whoosh's phrase syntax (``"..."``; a slop ``"..."~N`` is ignored) giving
    :class:`ExactPhrase` queries on the fields analyzed by :class:`kb.text.SinergiTokenizer`;
    other fields (facets) keep Whoosh's phrase handling."""

    def taggers(self, parser):
        return [(_PhraseTagger(self.expr), 0)]


class _PhraseNode(PhrasePlugin.PhraseNode):
    def query(self, parser):
        fieldname = self.fieldname or parser.fieldname
        field = parser.schema[fieldname] if parser.schema and fieldname in parser.schema else None
        if field is None or not isinstance(field.analyzer, SinergiTokenizer):
            return super().query(parser)
        words, offsets = phrase_terms(self.text, field.analyzer.lang)
        if not words and literal_pattern(self.text) is None:
            return query.NullQuery
        q = ExactPhrase(fieldname, words, offsets, text=self.text, boost=self.boost)
        q.startchar, q.endchar = self.startchar, self.endchar
        return q


class _PhraseTagger(PhrasePlugin.PhraseTagger):
    def create(self, parser, match):
        return _PhraseNode(match.group("text"), match.start("text"))
