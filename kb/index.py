"""The Whoosh search index: declared once from field specs, derived from the store.

Text fields exist once per language (``title_id`` / ``title_en`` ...): a record's text goes to
the fields of its language, and a query is analyzed for both and searched in both, so an
English query finds English records and an Indonesian query Indonesian ones, while the shared
concept tokens of :mod:`kb.text` let each meet the other where the vocabulary allows.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from whoosh import index, qparser, query
from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from . import whooshfix
from .gazetteer import ISLANDS, gazetteer
from .indexing import analysis_processes, analyzed_documents, prepare_writer
from .phrases import ExactPhrasePlugin
from .ranking import MAX_CACHED_POSTINGS, PostingCache, Snapshot, positive_terms, top
from .text import SinergiTokenizer, Term, analyze, glue_phrases, normalize, plain_text, quick_matches
from .vocab import COOPERATION_TYPES, SECTORS, STATUSES, normalize_sector

whooshfix.apply()

LANGS = ("id", "en")


@dataclass(frozen=True)
class TextSpec:
    """A weighted text field; ``source`` picks its text out of a record's data."""

    name: str
    boost: float
    stored: bool
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class FacetSpec:
    """A facet: its URL/CLI key, index field, label and how user values are normalised."""

    key: str
    label: str
    aliases: tuple[str, ...] = ()
    numeric: bool = False


TEXT_SPECS = (
    TextSpec("title", 5.0, True, ("title", "judul")),
    TextSpec("summary", 2.5, True, ("summary", "ringkasan")),
    TextSpec("lessons", 1.8, True, ("lessons", "pelajaran", "challenges", "tantangan")),
    TextSpec("meta", 1.5, False, ("meta", "mechanism", "mekanisme", "mitra")),
    TextSpec("body", 1.0, True, ("body", "isi")),
)
FACET_SPECS = (
    FacetSpec("sector", "Bidang", ("bidang", "sektor")),
    FacetSpec("province", "Provinsi", ("provinsi",)),
    FacetSpec("island", "Pulau", ("pulau",)),
    FacetSpec("status", "Status", ()),
    FacetSpec("type", "Jenis kerja sama", ("jenis", "cooperation_type")),
    FacetSpec("kind", "Jenis catatan", ("tipe",)),
    FacetSpec("region", "Daerah", ("daerah",)),
    FacetSpec("year", "Tahun mulai", ("tahun",), numeric=True),
)
FACETS = {f.key: f for f in FACET_SPECS}
# Facets counted for every search (region has hundreds of values: counted on request only).
DEFAULT_FACETS = ("sector", "province", "island", "status", "type", "kind", "year")
MAX_QUERY_CHARS = 1000
MAX_QUERY_WORDS = 64
MAX_HIGHLIGHT_CHARS = 5000
# What a search tells its user beside the results, by code (English; pages word the codes).
NOTICES = {"query_chars": "query cut to its first {limit} characters",
           "query_words": "query cut to its first {limit} words",
           "unknown_value": "{facet} {value!r} is not a known value: no record matches it"}
HIGHLIGHT_FIELDS = ("summary_", "lessons_", "body_")  # text fields a snippet is taken from, in order


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
    """The index document of a record's canonical data."""
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


@dataclass
class Hit:
    id: str
    kind: str
    title: str
    score: float
    regions: list[dict]
    sectors: list[str]
    start_year: int | None
    status: str | None
    language: str
    highlight: str

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "score": round(self.score, 4),
                "regions": self.regions, "sectors": self.sectors, "start_year": self.start_year,
                "status": self.status, "language": self.language, "highlight": self.highlight}


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    limit: int
    results: list[Hit]
    facets: dict[str, list[dict]]
    suggestion: str | None = None
    corrected_query: str | None = None
    notes: list[dict] = field(default_factory=list)  # {"code", "values"}: see NOTICES

    @property
    def notices(self) -> list[str]:
        """The notes as English sentences (the API and the command line); a page words
        :attr:`notes` in its reader's language."""
        return [NOTICES[n["code"]].format(**n["values"]) for n in self.notes]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))

    def as_dict(self) -> dict:
        return {"query": self.query, "total": self.total, "page": self.page, "pages": self.pages,
                "limit": self.limit, "results": [h.as_dict() for h in self.results], "facets": self.facets,
                "suggestion": self.suggestion, "corrected_query": self.corrected_query,
                "notices": self.notices, "notes": self.notes}


def facet_counts(snap: Snapshot, mask: np.ndarray, keys: Iterable[str]) -> dict[str, list[dict]]:
    """Counts of every facet value among the documents of ``mask``."""
    out = {}
    for key, rows in snap.facet_counts(keys, mask).items():
        if FACETS[key].numeric:
            rows.sort(key=lambda r: int(r[0]))
        else:
            rows.sort(key=lambda r: (-r[1], r[0]))
        out[key] = [{"value": v, "label": facet_label(key, v), "count": n} for v, n in rows]
    return out


@functools.lru_cache(maxsize=4096)
def facet_label(key: str, value: str) -> str:
    """A human label for a facet value (a region name for a code, a sector label ...)."""
    from .vocab import COOPERATION_TYPES, SECTORS, STATUSES

    if key in ("province", "region"):
        r = gazetteer().get(value)
        return r.name if r else value
    if key == "island":
        return ISLANDS.get(value, value)
    if key == "sector":
        return SECTORS.get(value, value)
    if key == "status":
        return STATUSES.get(value, value)
    if key == "type":
        return f"{value} — {COOPERATION_TYPES.get(value, '')}".strip(" —")
    if key == "kind":
        return {"case": "Studi kasus", "practice": "Praktik baik"}.get(value, value)
    return value


def normalize_facet_value(key: str, value: str) -> str | None:
    """The indexed form of a user's facet value (names to codes, synonyms to keys)."""
    value = (value or "").strip()
    if not value:
        return None
    if key == "sector":
        return normalize_sector(value)
    if key in ("province", "region"):
        try:
            r = gazetteer().resolve(value)
        except Exception:
            return None
        return r.province_code if key == "province" else r.code
    if key == "island":
        v = value.lower().replace("–", "-").replace(" ", "-")
        v = {"sumatra": "sumatera", "java": "jawa", "bali": "bali-nusa-tenggara",
             "nusa-tenggara": "bali-nusa-tenggara", "maluku": "maluku-papua", "papua": "maluku-papua"}.get(v, v)
        return v if v in ISLANDS else None
    if key == "type":
        from .vocab import COOPERATION_TYPE_ALIASES, COOPERATION_TYPES

        v = value.upper()
        return v if v in COOPERATION_TYPES else COOPERATION_TYPE_ALIASES.get(value.lower())
    if key == "status":
        v = value.lower()
        from .vocab import STATUSES

        return v if v in STATUSES else None
    if key == "kind":
        v = value.lower()
        return v if v in ("case", "practice") else None
    return value


class SearchIndex:
    """One Whoosh index folder: one writer at a time (a file lock), one shared searcher."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=600)
        self._searcher = None
        self._segreaders: dict[str, SegmentReader] = {}
        self._snapshot: Snapshot | None = None
        self._postings = PostingCache({spec.key: spec.numeric for spec in FACET_SPECS})
        self._text_fields = tuple(f"{spec.name}_{lang}" for lang in LANGS for spec in TEXT_SPECS)
        self._mutex = threading.RLock()
        self.schema = build_schema()
        if not index.exists_in(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
            with self._lock:
                if not index.exists_in(self.path):
                    index.create_in(self.path, self.schema)
                    self._mark(0, 0)  # empty: it reflects no store revision, so it follows all of them
        self.ix = index.open_dir(self.path)
        self._parsers = {lang: self._make_parser(lang) for lang in LANGS}

    # -- writing -----------------------------------------------------------------------------
    def _writer(self, **kw):
        return self.ix.writer(timeout=60.0, **kw)

    @contextmanager
    def locked(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the index's write lock (re-entrant in this thread); ``timeout`` in seconds
        (``None``: the default of 10 minutes) raises :class:`filelock.Timeout` when it is not
        had in time."""
        with self._lock.acquire(timeout=600 if timeout is None else timeout):
            yield

    # The store revision an index generation reflects is written beside it, as applied.<generation>,
    # before that generation is committed: a generation on disk always has its marker, and a
    # marker whose generation was never committed (a crash in between) is never read.
    def applied(self) -> int | None:
        """The newest store revision this index reflects (``None``: not recorded)."""
        try:
            return int((self.path / f"applied.{self.ix.latest_generation()}").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _mark(self, generation: int, revision: int) -> None:
        tmp = self.path / f"applied.{generation}.tmp"
        tmp.write_text(f"{revision}\n")
        os.replace(tmp, self.path / f"applied.{generation}")

    def _clean_markers(self) -> None:
        keep = f"applied.{self.ix.latest_generation()}"
        for p in self.path.glob("applied.*"):
            if p.name != keep:
                p.unlink(missing_ok=True)

    def update(self, records: Iterable[dict], delete_ids: Iterable[str] = (), *,
               new_ids: frozenset[str] | set[str] = frozenset(), count: int | None = None,
               applied: int | None = None, progress=None) -> int:
        """Add or replace the documents of ``records`` and delete ``delete_ids``; commit once.

        Records whose id is in ``new_ids`` are known not to be indexed yet and are simply added.
        Replaced and deleted documents are found with this process's searcher (brought up to
        date under the write lock), not with a reader the writer would open over every segment.
        ``records`` may be a stream (``count``: how many, if known) and ``delete_ids`` a list
        it fills while it is read; ``applied``: the store revision the index reflects after
        this commit; ``progress(1)`` is called per document added.
        """
        if count is None and isinstance(records, (list, tuple)):
            count = len(records)
        n = 0
        stale: list[str] = []
        with self._lock:
            w = self._writer(limitmb=256)
            try:
                adder = prepare_writer(w, 256)  # w.add_document, faster (kb/indexing.py)

                def docs():
                    for d in records:
                        if d["id"] not in new_ids:
                            stale.append(d["id"])
                        yield document_for(d)

                for doc, analyzed in analyzed_documents(adder, docs(), analysis_processes(count)):
                    adder.add_analyzed(doc, analyzed)
                    n += 1
                    if progress:
                        progress(1)
                stale += delete_ids  # read after the stream: it may name ids as it goes
                for docnum in self._docnums(w, stale):  # older documents only: new ones come later
                    w.delete_document(docnum)
                if not n and not stale:
                    w.cancel()
                    if applied is not None:
                        self._mark(self.ix.latest_generation(), applied)
                    return 0
                if applied is not None:
                    self._mark(w.generation, applied)
                w.commit()
                self._clean_markers()
            except BaseException:
                if not w.is_closed:
                    w.cancel()
                raise
        self._invalidate()
        return n

    def _docnums(self, writer, ids: list[str]) -> list[int]:
        """Document numbers of ``ids`` as ``writer`` numbers them."""
        if not ids:
            return []
        with self._mutex:
            s = self.searcher()
            if s.reader().generation() != writer.generation - 1:  # not the writer's view: ask it
                with writer.searcher() as ws:
                    return [d for rid in ids for d in ws.document_numbers(id=rid)]
            return [d for rid in ids for d in s.document_numbers(id=rid)]

    def rebuild(self, records: Iterable[dict], progress=None, count: int | None = None,
                applied: int | None = None) -> int:
        """Recreate the index from ``records`` (the store's published records; ``count`` of
        them if known, which decides whether the analysis runs in other processes; ``applied``:
        the store revision they reflect)."""
        n = 0
        with self._lock:
            self.ix = index.create_in(self.path, self.schema)
            w = self._writer(limitmb=256)
            try:
                adder = prepare_writer(w, 256)  # w.add_document, faster (kb/indexing.py)
                docs = map(document_for, records)
                for doc, analyzed in analyzed_documents(adder, docs, analysis_processes(count)):
                    adder.add_analyzed(doc, analyzed)
                    n += 1
                    if progress:
                        progress(1)
                if applied is not None:
                    self._mark(w.generation, applied)
                w.commit(optimize=True)
                self._clean_markers()
            except BaseException:
                w.cancel()
                raise
        self._invalidate()
        return n

    def _invalidate(self) -> None:
        # Other threads may still be reading with the old searcher: drop it, never close it under
        # them (it is closed when the last reference goes).
        with self._mutex:
            self._searcher = None
            self._snapshot = None

    # -- reading -----------------------------------------------------------------------------
    def searcher(self):
        """The shared searcher, refreshed when another process or thread committed."""
        with self._mutex:
            if self._searcher is None or not self._searcher.up_to_date():
                self._searcher = Searcher(self._reader(), fromindex=self.ix)
                self._snapshot = None
            return self._searcher

    def _reader(self):
        """A reader of the index's current segments that reuses the open readers of segments
        it already had (opening a segment copies its term table and stored fields: ~100 ms at
        10,000 records, and a save leaves all but one small segment as they were)."""
        toc = self.ix._read_toc()
        readers = []
        for seg in toc.segments:
            old = self._segreaders.get(seg.segment_id())
            readers.append(_rebased(old, seg) if old is not None else
                           SegmentReader(self.ix.storage, toc.schema, seg, generation=toc.generation))
        self._segreaders = {r.segment().segment_id(): r for r in readers}
        if not readers:
            return EmptyReader(toc.schema)
        if len(readers) == 1:
            single = copy.copy(readers[0])  # the generation is per reader; leave older views alone
            single._gen = toc.generation
            return single
        return MultiReader(readers, generation=toc.generation)

    def snapshot(self) -> Snapshot:
        """The array view of the current searcher (rebuilt after a commit; the arrays of
        unchanged segments are reused)."""
        with self._mutex:
            searcher = self.searcher()
            if self._snapshot is None or self._snapshot.searcher is not searcher:
                self._snapshot = Snapshot(searcher, self._postings, self._text_fields)
            return self._snapshot

    def warm(self, max_postings: int | None = None, progress=None) -> int:
        """Load the postings of the most frequent terms of the current segments into memory,
        so that the first search for a common word does not read them from disk, then the words
        that spelling suggestions choose from (a serving process calls this in a background
        thread; searches go on meanwhile: the lock is taken per term). Returns the number of
        postings loaded."""
        budget = int(max_postings if max_postings is not None else MAX_CACHED_POSTINGS * 0.9)
        with self._mutex:
            snap = self.snapshot()
            plans = [(segreader, data, self._postings.warm_plan(segreader, self._text_fields))
                     for segreader, _, data in snap.parts]
        loaded = 0
        terms = ((segreader, data, name, btext) for segreader, data, plan in plans for _, name, btext in plan)
        for segreader, data, name, btext in terms:
            if loaded >= budget:
                break
            with self._mutex:
                if self._snapshot is not snap:  # a commit replaced the view: stop here
                    return loaded
                ids = self._postings.postings_of(segreader, data, name, btext)[0]
            loaded += ids.size
            if progress:
                progress(ids.size)
        with self._mutex:  # the words for spelling suggestions (one scan of each term table)
            if self._snapshot is snap:
                snap.vocab()
        return loaded

    def stored(self) -> dict[str, int]:
        """``{id: version}`` of every indexed document (for ``check``)."""
        with self._mutex:
            s = self.searcher()
            return {f["id"]: f.get("version", 0) for f in s.all_stored_fields()}

    def doc_count(self) -> int:
        return self.searcher().doc_count()

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

    def search(self, text: str, **kw) -> SearchResult:
        """Search; see the module and the README for the query syntax.

        One search at a time per process: a Whoosh searcher reads stored fields through shared
        file handles, which threads must not interleave (the work is CPU-bound under the GIL
        anyway)."""
        with self._mutex:
            return self._search(text, **kw)

    def _search(self, text: str, *, filters: dict[str, list[str]] | None = None, year_from: int | None = None,
               year_to: int | None = None, sort: str = "relevance", page: int = 1, limit: int = 10,
               facets: Iterable[str] = DEFAULT_FACETS, retry: bool = True) -> SearchResult:
        notes: list[dict] = []
        text = normalize(text or "").strip()
        if len(text) > MAX_QUERY_CHARS:
            text = text[:MAX_QUERY_CHARS]
            notes.append({"code": "query_chars", "values": {"limit": MAX_QUERY_CHARS}})
        tokens = text.split()
        if len(tokens) > MAX_QUERY_WORDS:
            text = " ".join(tokens[:MAX_QUERY_WORDS])
            notes.append({"code": "query_words", "values": {"limit": MAX_QUERY_WORDS}})
        page, limit = max(1, int(page)), max(1, min(int(limit), 100))
        snap = self.snapshot()
        q = self.parse(text) if text else query.Every()
        if q is query.NullQuery or not any(True for _ in q.leaves()):  # only stop words or punctuation
            q = query.Every()
        scores, mask = snap.evaluate(q)
        filt = _filter_query(filters or {}, year_from, year_to)
        notes += [{"code": "unknown_value", "values": {"facet": key, "value": value}}
                  for key, value in _unknown_filter_values(filters or {})]
        if filt is not None:
            mask &= snap.evaluate(filt)[1]
        total = int(mask.sum())
        keys = [-scores]
        if sort == "year":
            keys.append(np.where(snap.years > 0, -snap.years, 1))
        elif sort == "title":
            keys.append(snap.sort_key("title_sort"))
        ranked = top(keys, np.flatnonzero(mask), page * limit)
        terms: dict[str, set[str]] = {}
        for name, term_text in positive_terms(q):
            terms.setdefault(name, set()).add(term_text)
        shown = ranked[(page - 1) * limit:]
        # Which shown documents hold a matched term, per text field (one sorted lookup per
        # term for the whole page): only those fields are highlighted.
        holding = {name: set(shown[snap.holding(name, wanted, shown)].tolist())
                   for name, wanted in terms.items() if name.startswith(HIGHLIGHT_FIELDS)}
        hits = [self._hit(snap, int(d), float(scores[d]), terms, holding) for d in shown]
        counted = facet_counts(snap, mask, [k for k in facets if k in FACETS])
        suggestion = None
        if text and total < 3:
            suggestion = self.suggest(text, snap)
        result = SearchResult(text, total, page, limit, hits, counted, suggestion, None, notes)
        if total == 0 and suggestion and retry:
            again = self._search(suggestion, filters=filters, year_from=year_from, year_to=year_to, sort=sort,
                                page=page, limit=limit, facets=facets, retry=False)
            if again.total:
                again.query, again.corrected_query, again.suggestion = text, suggestion, suggestion
                again.notes = notes + [n for n in again.notes if n not in notes]
                return again
        return result

    def _hit(self, snap: Snapshot, docnum: int, score: float, terms: dict[str, set[str]],
             holding: dict[str, set[int]]) -> Hit:
        g = gazetteer()
        f = snap.stored(docnum)
        lang = f.get("language", "id")
        frag = ""
        # Highlight the first field, in reading order, that holds a matched term; fields without
        # a match are never analyzed.
        for name in (prefix + lang for prefix in HIGHLIGHT_FIELDS):
            wanted = terms.get(name)
            if wanted and f.get(name) and docnum in holding.get(name, ()):
                frag = highlight(f[name][:MAX_HIGHLIGHT_CHARS], wanted, lang)
                if frag:
                    break
        if not frag:
            summary = plain_text(f.get(f"summary_{lang}", ""))
            frag = _escape(summary[:240] + ("…" if len(summary) > 240 else ""))
        regions = [g.get(c) for c in (f.get("region") or "").split(",") if c]
        return Hit(id=f["id"], kind=f.get("kind", "case"), title=f.get(f"title_{lang}", ""), score=score,
                   regions=[r.as_ref() for r in regions if r],
                   sectors=[x for x in (f.get("sector") or "").split(",") if x], start_year=f.get("year"),
                   status=f.get("status"), language=lang, highlight=frag)

    def suggest(self, text: str, snap: Snapshot | None = None) -> str | None:
        """A corrected query when some of its words are unknown and a close known word exists."""
        vocab, vocab_list = (snap or self.snapshot()).vocab()
        changed = False
        out = []
        for tok in re.findall(r"\S+", text):
            if ":" in tok or tok.upper() in ("AND", "OR", "NOT") or tok.startswith(('"', "(")):
                out.append(tok)
                continue
            w = tok.lower().strip(".,;!?")
            if len(w) < 4 or w in vocab or not w.isalpha():
                out.append(tok)
                continue
            maxd = 1 if len(w) <= 5 else 2
            hits = process.extract(w, vocab_list, scorer=Levenshtein.distance, score_cutoff=maxd,
                                   limit=20)
            if hits:
                best = min(hits, key=lambda x: (x[1], -vocab[x[0]]))[0]
                out.append(best)
                changed = True
            else:
                out.append(tok)
        return " ".join(out) if changed else None


_WORDS = re.compile(r"[^\W_]+")
# Words (hyphens, dots, commas and glued phrases inside) with no query syntax at all.
_PLAIN_CHUNK = re.compile(r"[^\W_]+(?:[-+.,/][^\W_]+)*[.,;!?]?")
_OPERATORS = re.compile(r"\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b")


def _rebased(old: SegmentReader, segment) -> SegmentReader:
    """``old``'s reader for the same segment with ``segment``'s deletions (the term and stored
    field files are shared; a segment's files never change, only its set of deleted documents).
    Touches whoosh3's reader internals: whoosh3 is pinned exactly (see ARCHITECTURE.md)."""
    if set(old.segment().deleted_docs()) == set(segment.deleted_docs()):
        return old
    new = copy.copy(old)
    new.__dict__.pop("deleted_docs_set", None)  # a cached property of the old deletions
    new._segment = segment
    new._perdoc = copy.copy(old._perdoc)
    new._perdoc._segment = segment
    return new


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


def _unknown_filter_values(filters: dict[str, list[str]]) -> list[tuple[str, str]]:
    """``(facet, value)`` of the filter values that name nothing (a misspelt island, an
    unknown status ...): they match no record, and the user should be told why."""
    return [(key, value) for key, values in filters.items()
            if key in FACETS and not FACETS[key].numeric
            for value in values if value.strip() and normalize_facet_value(key, value) is None]


def _filter_query(filters: dict[str, list[str]], year_from: int | None, year_to: int | None):
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


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+")


def _pieces(text: str, size: int = 600) -> Iterable[tuple[int, str]]:
    """``text`` in runs of whole sentences of about ``size`` characters, with their offsets."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() - start >= size:
            yield start, text[start:m.end()]
            start = m.end()
    if start < len(text):
        yield start, text[start:]


def highlight(text: str, wanted: set[str], lang: str, *, top: int = 2, width: int = 220) -> str:
    """Up to ``top`` passages of ``text`` around the words whose analyzed terms are in
    ``wanted``, as escaped HTML with ``<b class="match termN">`` marks ("" if none match).
    Markdown markup is left out (:func:`kb.text.plain_text`): a snippet reads as the page does."""
    text = normalize(plain_text(text))
    # Single words first (cheap); only when none match (a multi-word concept), the full analyzer,
    # sentence by sentence, stopping once enough matches are found.
    found = quick_matches(text, wanted, lang, limit=6 * top)
    for start, piece in _pieces(text) if not found else ():
        found.extend(Term(t.text, t.pos, t.start + start, t.end + start)
                     for t in analyze(piece, lang) if t.text in wanted)
        if len(found) >= 2 * top:
            break
    if not found:
        return ""
    classes = {w: i for i, w in enumerate(sorted(wanted))}
    # Score a window starting shortly before each match by the distinct terms it holds.
    windows = []
    for i, t in enumerate(found):
        start = max(0, t.start - width // 4)
        end = start + width
        inside = [x for x in found[i:] if x.end <= end]
        windows.append((len({x.text for x in inside}), len(inside), -start, start, end))
    chosen: list[tuple[int, int]] = []
    for *_, start, end in sorted(windows, reverse=True):
        if all(end <= a or start >= b for a, b in chosen):
            chosen.append((start, end))
        if len(chosen) == top:
            break
    parts = []
    for start, end in sorted(chosen):
        # Widen to word boundaries.
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        out, pos = [], start
        for t in found:
            if t.start >= start and t.end <= end and t.start >= pos:
                out.append(_escape(text[pos:t.start]))
                out.append(f'<b class="match term{classes[t.text]}">{_escape(text[t.start:t.end])}</b>')
                pos = t.end
        out.append(_escape(text[pos:end]))
        parts.append(("…" if start > 0 else "") + "".join(out).strip() + ("…" if end < len(text) else ""))
    return " ".join(parts)


def highlight_to_text(fragment: str, start: str = "[", end: str = "]") -> str:
    """Turn a highlighted HTML fragment into plain text with ``start``/``end`` marks."""
    import html

    fragment = re.sub(r'<b class="match[^"]*">', start, fragment)
    fragment = fragment.replace("</b>", end)
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))
