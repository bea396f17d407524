"""Quoted phrases: a phrase matches its words in order, as the analyzer indexed them.

The analyzer (:mod:`kb.text`) gives some positions more than one term: a one-word concept keeps
its word beside the concept token (``TPA`` is ``_sampah`` and ``tpa`` at one position), and a
stop word leaves a gap (``pengelolaan dan pengangkutan`` is ``kelola`` at 0, ``angkut`` at 2).
Whoosh's own phrase query reads a phrase's terms as consecutive positions, so it would match no
such phrase. Here a phrase is one slot per analyzed position, at its offset from the first:
the word's stem where the word was kept, else the concept token that stands for several words
(``air minum`` -> ``_airminum``). Stop words inside a phrase match any stop word.

Text around a phrase can change how its first and last words were indexed:

- joined to the word before or after (``kerja sama``, ``antar daerah``): the first and last
  slots also accept the joined term at the same position;
- taken into a multi-word concept that starts before the phrase or ends after it
  (``penyediaan air`` in ``penyediaan air minum``, indexed ``sedia _airminum``): such a phrase
  also matches a stored text field holding its words as written, in order, whatever the
  punctuation between them (:func:`literal_pattern`); so does a phrase of stop words only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from whoosh import matching, query
from whoosh.qparser import PhrasePlugin

from ..text import SinergiTokenizer, analyze, joined_words, normalize, phrase_parts
from ..vocab import BOUND_PREFIXES, COMPOUNDS

_WORD = re.compile(r"[^\W_]+")
_JOINING = tuple(b for b in BOUND_PREFIXES if b != "lintas")  # kb.text._join leaves lintas apart


@dataclass(frozen=True, slots=True)
class PhrasePlan:
    """How a phrase is matched: per slot its terms (the phrase's own first, then those the
    slot may hold when joined to a neighbouring word), the slots' offsets, and whether the
    stored text must be checked too (``literal``)."""

    slots: tuple[tuple[str, ...], ...]
    offsets: tuple[int, ...]
    literal: bool


def _terms_at_first(text: str, lang: str) -> tuple[str, ...]:
    return tuple(t.text for t in analyze(text, lang) if t.pos == 0)


@functools.lru_cache(maxsize=1024)
def plan(text: str, lang: str) -> PhrasePlan:
    """The :class:`PhrasePlan` of phrase ``text`` analyzed for ``lang``."""
    by_pos: dict[int, list[str]] = {}
    for term in analyze(text, lang):
        by_pos.setdefault(term.pos, []).append(term.text)
    words = joined_words(text)
    slots: list[tuple[str, ...]] = []
    positions = sorted(by_pos)
    for pos in positions:
        texts = by_pos[pos]
        plain = [t for t in texts if not t.startswith("_")]
        slots.append((plain[0] if plain else texts[0],))
    open_end = False
    if slots and words:
        first, last = words[0], words[-1]
        # Only a word indexed as itself can be joined to a neighbour ("Kota Bandung" is a region).
        if positions[0] == 0 and first.isalpha() and _kept(by_pos[0]):
            extra = [_terms_at_first(f"{b} {first}", lang) for b in _JOINING]
            extra += [_terms_at_first(f"{x} {first}", lang) for x, y in COMPOUNDS if y == first]
            slots[0] = _with(slots[0], extra)
        if positions[-1] == len(words) - 1 and _kept(by_pos[positions[-1]]):
            extra = [_terms_at_first(f"{last} {y}", lang) for x, y in COMPOUNDS if x == last]
            slots[-1] = _with(slots[-1], extra)
            open_end = last in _JOINING
    heads, tails = phrase_parts()
    literal = not slots or open_end or bool(words and (words[0] in tails or words[-1] in heads))
    base = positions[0] if positions else 0
    return PhrasePlan(tuple(slots), tuple(p - base for p in positions), literal)


def _kept(texts: list[str]) -> bool:
    return any(not t.startswith("_") for t in texts)


def _with(slot: tuple[str, ...], extra: list[tuple[str, ...]]) -> tuple[str, ...]:
    out = list(slot)
    for terms in extra:
        out += [t for t in terms if t not in out]
    return tuple(out)


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
    """A phrase matched by its :class:`PhrasePlan` (see the module docstring); ``words`` are
    the slots' first terms, ``text`` is the phrase as the user wrote it."""

    def __init__(self, fieldname: str, phrase_plan: PhrasePlan, text: str = "", boost: float = 1.0):
        super().__init__(fieldname, [slot[0] for slot in phrase_plan.slots], boost=boost)
        self.plan = phrase_plan
        self.text = text

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.plan == other.plan and self.text == other.text

    def __hash__(self) -> int:
        return super().__hash__() ^ hash(self.plan)

    def __repr__(self) -> str:
        return f"ExactPhrase({self.fieldname!r}, {self.plan!r}, boost={self.boost:f})"

    def normalize(self):
        return self if self.words or self.text else query.NullQuery

    def matcher(self, searcher, context=None):
        """The documents holding every slot at its offset (positions read from the index)."""
        hits = self.matching_docs(searcher)
        m = matching.ListMatcher(hits) if hits else matching.NullMatcher()
        return matching.WrappingMatcher(m, boost=self.boost) if hits and self.boost != 1.0 else m

    def matching_docs(self, searcher, candidates: Iterable[int] | None = None) -> list[int]:
        """The documents (of ``candidates``, sorted, if given) where every slot holds one of
        its terms at the slot's offset."""
        if candidates is None:
            slots = self._postings(searcher)
            if slots is None:
                return []
            common: set[int] | None = None
            for ms in slots:
                ids = set().union(*(m.all_ids() for m in ms))
                common = ids if common is None else common & ids
            candidates = sorted(common or ())
        slots = self._postings(searcher)
        if slots is None:
            return []
        return [doc for doc, positions in _positions_at(slots, candidates) if self._fits(positions)]

    def _postings(self, searcher) -> list[list] | None:
        """Per slot, the posting readers of those of its terms the field holds."""
        fieldname = self.fieldname
        if fieldname not in searcher.schema or not self.words:
            return None
        field = searcher.schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            return None
        reader = searcher.reader()
        out = []
        for slot in self.plan.slots:
            ms = []
            for term in slot:
                btext = field.to_bytes(term)
                if (fieldname, btext) in reader:
                    ms.append(reader.postings(fieldname, btext))
            if not ms:
                return None
            out.append(ms)
        return out

    def _fits(self, positions: list[set[int]]) -> bool:
        offsets = self.plan.offsets
        rest = list(zip(offsets[1:], positions[1:]))
        return any(all(p + off in where for off, where in rest) for p in positions[0])


def _positions_at(slots: list[list], docs: Iterable[int]) -> Iterator[tuple[int, list[set[int]]]]:
    """Each of ``docs`` (sorted) where every slot holds a term, with the slot's positions."""
    for doc in docs:
        found = []
        for ms in slots:
            where: set[int] = set()
            for m in ms:
                if m.is_active() and m.id() < doc:
                    m.skip_to(doc)
                if m.is_active() and m.id() == doc:
                    where.update(m.value_as("positions"))
            if not where:
                break
            found.append(where)
        else:
            yield doc, found


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
        phrase_plan = plan(self.text, field.analyzer.lang)
        if not phrase_plan.slots and literal_pattern(self.text) is None:
            return query.NullQuery
        q = ExactPhrase(fieldname, phrase_plan, text=self.text, boost=self.boost)
        q.startchar, q.endchar = self.startchar, self.endchar
        return q


class _PhraseTagger(PhrasePlugin.PhraseTagger):
    def create(self, parser, match):
        return _PhraseNode(match.group("text"), match.start("text"))
