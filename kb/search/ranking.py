"""Vectorised evaluation of parsed queries over the Whoosh index.

Whoosh keeps the index (segments, postings, field lengths, stored fields) and parses queries;
matching and scoring a parsed query in Whoosh's pure-Python matchers cost tens of milliseconds
at 10,000 records for Sinergi's queries (each word is searched in five fields and two
languages). Here the same query tree is evaluated with numpy instead:

- a term's postings are read from its segment block by block (document numbers and term
  frequencies as arrays) and cached per segment: Whoosh segments never change once written,
  only their deletions do, so a save (which writes a new small segment) keeps the arrays of the
  others; a large segment's postings are decoded once into a file that every process maps
  (:mod:`kb.search.decoded`), and then read from there;
- every node of the tree gives a score vector and a match mask over all documents; BM25 per
  field (Whoosh's formula and defaults), times the field and query boosts, summed over the
  fields and words that match, plus a coordination bonus for each further query word found;
- facet values, years and the live-document mask are arrays too, so counting facets and
  filtering are vector operations.

Query types without a vector form here (ranges on text fields, wildcards ...) fall back to
Whoosh's own matcher for their set of documents.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from scipy import sparse
from whoosh import query
from whoosh.util.numeric import byte_to_length

from ..text import normalize
from . import decoded
from .decoded import DecodedPostings
from .phrases import ExactPhrase, literal_pattern, literal_words

K1 = 1.2  # Whoosh's BM25F defaults
B = 0.75
COORD_BONUS = 1.0  # added per further query word a document matches (see _eval_or)
LENGTHS = np.array([byte_to_length(b) or 0 for b in range(256)], dtype=np.float32)


def bm25(tf: np.ndarray, length: np.ndarray, avg_length: float, df: int, ndocs: int) -> np.ndarray:
    """Whoosh's BM25F for one field: ``tf`` and ``length`` per document, the field's average
    length and the term's document frequency over all ``ndocs`` documents of the index, deleted
    ones included (as Whoosh counts them: ``doc_count_all``)."""
    idf = math.log(ndocs / (df + 1)) + 1.0 if ndocs else 0.0
    return idf * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / (avg_length or 1.0)))


DENSE_SHARE = 0.5  # a facet block's documents matched above this share: the others are counted
MAX_SLOTS = 4  # facet values kept per document as an array each (see FacetBlock.slots)
PACKED_CELLS = 4096  # value combinations of the slots counted together (see FacetBlock.packed)
COMMON_WORD = 8  # a query word in over 1/COMMON_WORD of the documents is kept over all of them (see _word)
MAX_CACHED_POSTINGS = 8_000_000  # postings kept across segments (12 bytes each)
_NO_IDS = np.zeros(0, dtype=np.int32)
_NO_SCORES = np.zeros(0, dtype=np.float32)
_NO_TF = _NO_LENGTHS = _NO_SCORES
MAX_CACHED_DOCS = 1024  # stored documents kept per segment (see SegmentData.stored)
# Bytes of recent queries' terms, words and phrase candidates a snapshot keeps (see
# Snapshot._remember). Bytes, not entries: a common term's entry at 100,000 documents is ~0.8 MB.
MAX_CACHED_TERM_BYTES = 48 * 2**20
# Bytes of terms' postings over a view's leading large segments that a process keeps across
# views (see PostingCache.leading_postings): a save adds a small segment after them, so the next
# view reads only that one.
MAX_LEADING_BYTES = 64 * 2**20
SMALL_SEGMENT_DOCS = 256  # segments this small keep the set of their terms (see SegmentData)
# Segments this large lead a view (see Snapshot.term): writes do not merge them
# (kb.search.index.MERGE_MAX_DOCS), so they change only by deletions or a reindex.
LEADING_MIN_DOCS = 1_000


def _segment_readers(reader) -> list[tuple[object, int]]:
    subs = getattr(reader, "readers", None)
    if subs is None:
        return [(reader, 0)]
    return list(zip(subs, reader.doc_offsets))


def _segment_id(segreader) -> str:
    seg = segreader.segment()
    return seg.segment_id() if seg is not None else str(id(segreader))


class SegmentData:
    """Arrays of one immutable segment: field lengths, facet postings, years (all local
    document numbers). Postings are cached by :class:`PostingCache`."""

    def __init__(self, segreader, facet_fields: dict[str, bool]):
        self.sid = _segment_id(segreader)
        self.ndocs = segreader.doc_count_all()
        self.lengths: dict[str, np.ndarray] = {}
        self._words: dict[str, int] | None = None
        self._stored: OrderedDict[int, dict] = OrderedDict()
        # Every (field, term) of a small segment (a save writes a segment of one record): a
        # query's words are looked up in every segment, and a set lookup answers "not here"
        # far faster than the segment's hashed term table.
        self.term_keys: frozenset[tuple[str, bytes]] | None = None
        if self.ndocs <= SMALL_SEGMENT_DOCS:
            self.term_keys = frozenset(segreader.all_terms())
        self.decoded: DecodedPostings | None = None  # see kb.search.decoded
        self.facets: dict[str, dict[str, np.ndarray]] = {}
        self.years = np.zeros(self.ndocs, dtype=np.int32)
        for name, numeric in facet_fields.items():
            values: dict[str, np.ndarray] = {}
            if name not in segreader.schema:
                self.facets[name] = values
                continue
            fobj = segreader.schema[name]
            for btext in segreader.lexicon(name):
                if numeric:
                    if btext[0] != 0:  # numeric fields index several precisions: keep the full one
                        continue
                    value = str(fobj.from_bytes(btext))
                else:
                    value = btext.decode("utf-8")
                ids, _ = read_postings(segreader, name, btext)
                values[value] = ids
                if numeric and name == "year":
                    self.years[ids] = int(value)
            self.facets[name] = values

    def words(self, segreader, fieldname: str = "words", keep: bool = True) -> dict[str, int]:
        """``{word: document frequency}`` of this segment's unstemmed words (for suggestions;
        one scan of its term table, kept unless ``keep`` is false: a large segment's words are
        kept merged with the others', see :meth:`PostingCache.leading_vocab`)."""
        words = self._words
        if words is None:
            words = {}
            if fieldname in segreader.schema:
                words = {b.decode("utf-8"): ti.doc_frequency() for b, ti in segreader.iter_field(fieldname)}
            if keep:
                self._words = words
        return words

    def stored(self, segreader, docnum: int) -> dict:
        """Stored fields of local document ``docnum``, from a small LRU cache (the callers hold
        the index's search lock, so the cache needs no lock of its own)."""
        docs = self._stored
        doc = docs.get(docnum)
        if doc is not None:
            docs.move_to_end(docnum)
            return doc
        doc = docs[docnum] = segreader.stored_fields(docnum)
        if len(docs) > MAX_CACHED_DOCS:
            docs.popitem(last=False)
        return doc

    def field_lengths(self, segreader, fieldname: str) -> np.ndarray:
        arr = self.lengths.get(fieldname)
        if arr is None:
            arr = _read_lengths(segreader, fieldname, self.ndocs)
            self.lengths[fieldname] = arr
        return arr


def _read_lengths(segreader, fieldname: str, ndocs: int) -> np.ndarray:
    """Every document's length in ``fieldname`` (Whoosh keeps them as one byte per document)."""
    try:
        col = segreader._perdoc._cached_reader(f"_{fieldname}_len", _lengths_column())
        if col is None:
            return np.zeros(ndocs, dtype=np.float32)
        raw = np.frombuffer(col._dbfile.get(col._basepos, col._count), dtype=np.uint8)
        out = np.zeros(ndocs, dtype=np.float32)
        out[:raw.size] = LENGTHS[raw]
        return out
    except AttributeError:  # another codec: the public, slower way
        return np.array([segreader.doc_field_length(i, fieldname) or 0 for i in range(ndocs)],
                        dtype=np.float32)


def _lengths_column():
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN

    return LENGTHS_COLUMN


def read_postings(segreader, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Local document numbers and term frequencies of a term in one segment (deleted documents
    included: the caller masks them)."""
    if (fieldname, btext) not in segreader:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    # The segment's own matcher, without the reader's deletion filter (``postings``): the filter
    # has already stepped past the leading blocks whose documents are all deleted when it is
    # made, and those blocks would be missing here (a term's postings then disagree with its
    # document frequency). Touches whoosh3's ``SegmentReader._terms``.
    m = segreader._terms.matcher(fieldname, btext, segreader.schema[fieldname].format)
    ids: list = []
    weights: list = []
    if hasattr(m, "_read_ids") and hasattr(m, "_next_block"):
        # Whoosh 3 codec: take each block's arrays whole instead of one posting at a time.
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.append(np.asarray(m._ids, dtype=np.int32))
            weights.append(np.asarray(m._weights, dtype=np.float32))
            m._next_block()
        if not ids:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        return np.concatenate(ids), np.concatenate(weights)
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        m.next()
    return np.asarray(ids, dtype=np.int32), np.asarray(weights, dtype=np.float32)


def _entry_bytes(value: tuple) -> int:
    """Bytes held by a cached ``(ids, tf, lengths, df)``, with ~200 for the entry and its key."""
    return sum(a.nbytes for a in value[:3]) + 200


class FacetBlock:
    """The facet values of a run of consecutive segments: per facet, a values × documents 0/1
    matrix (a row per value, its documents as the row's columns, numbered from the run's first
    document), and which row each value is.

    A view's leading large segments make one block, kept by the process across views (see
    :meth:`PostingCache.leading_facets`); the small segments after them make another per view.
    The second numbers a facet's rows after the first's (``known``): a value both hold has the
    first's row, so counts over the two add up row by row. Each facet has its own matrix, so a
    page counts only the facets it shows (regions alone are a fifth of all facet postings)."""

    def __init__(self, parts: list[tuple], facet_fields: Iterable[str], known: FacetBlock | None = None):
        start = parts[0][1] if parts else 0
        self.ndocs = sum(data.ndocs for _, _, data in parts)
        self.rows: dict[str, dict[str, int]] = {}  # facet -> value -> row (the known block's too)
        self.values: dict[str, list[str]] = {}  # facet -> its values, by row
        self.matrices: dict[str, sparse.csr_matrix] = {}
        for name in facet_fields:
            rows = dict(known.rows.get(name, {})) if known is not None else {}
            gathered: dict[int, list[np.ndarray]] = {}
            for _, offset, data in parts:
                for value, ids in data.facets.get(name, {}).items():
                    row = rows.setdefault(value, len(rows))
                    gathered.setdefault(row, []).append(ids + (offset - start) if offset != start else ids)
            self.rows[name] = rows
            self.values[name] = list(rows)  # by row: rows are numbered in the order values come
            self.matrices[name] = _rows_matrix(gathered, len(rows), self.ndocs)
        self._slots: dict[str, tuple] = {}  # see slots
        self._packed: dict[tuple[str, ...], list] = {}  # see packed
        self._lock = threading.Lock()

    def docs(self, name: str, row: int) -> np.ndarray:
        """The documents of one row of facet ``name`` (numbered from the block's first document)."""
        m = self.matrices.get(name)
        if m is None or row >= m.shape[0]:
            return _NO_IDS
        return m.indices[m.indptr[row]:m.indptr[row + 1]]

    def chosen(self, mask: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
        """What :meth:`count` counts for ``mask`` (a boolean per document of the block), worked
        out once for every facet: the mask's documents or, when it holds most of the block, the
        others' (then subtracted from the rows' totals), so the work follows the smaller of the
        two, not the block's size. ``(others, mask counted, its documents)``."""
        others = np.count_nonzero(mask) > DENSE_SHARE * self.ndocs
        if others:
            mask = ~mask
        return others, mask, np.flatnonzero(mask)

    def count(self, names: tuple[str, ...], chosen: tuple[bool, np.ndarray, np.ndarray],
              nrows: dict[str, int]) -> dict[str, np.ndarray]:
        """How many documents of a mask (``chosen``: :meth:`chosen` of it) each row of the facets
        ``names`` has: ``nrows[name]`` counts per facet (rows past this block's count zero)."""
        others, mask, docs = chosen
        found: dict[str, np.ndarray] = {}
        if docs.size:
            for codes, members in self.packed(names):
                shape = tuple(size for _, size in members)
                cells = np.bincount(codes[docs], minlength=int(np.prod(shape))).reshape(shape)
                for axis, (name, size) in enumerate(members):
                    other_axes = tuple(i for i in range(len(shape)) if i != axis)
                    column = cells.sum(axis=other_axes) if other_axes else cells
                    found[name] = found[name] + column[1:] if name in found else column[1:]
        out = {}
        for name in names:
            counts = out[name] = np.zeros(nrows[name], dtype=np.int64)
            m = self.matrices.get(name)
            if m is None or not m.shape[0]:
                continue
            nvalues = m.shape[0]
            if name in found:
                counts[:nvalues] = found[name]
            slots, overflow, by_doc = self.slots(name)
            if overflow.size:
                picked = overflow[mask[overflow]]
                if picked.size:  # their values past the slots
                    starts = by_doc.indptr[picked] + len(slots)
                    lengths = by_doc.indptr[picked + 1] - starts
                    ends = np.cumsum(lengths)
                    at = np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]))
                    counts[:nvalues] += np.bincount(by_doc.indices[at], minlength=nvalues)
            if others:
                counts[:nvalues] = np.diff(m.indptr) - counts[:nvalues]
        return out

    def packed(self, names: tuple[str, ...]) -> list[tuple[np.ndarray, list[tuple[str, int]]]]:
        """The slots (see :meth:`slots`) of the facets ``names`` packed into few arrays: each holds
        several slots' codes as one number (mixed radix, at most ``PACKED_CELLS`` combinations),
        so one lookup and one ``bincount`` per document count several facets; the counts of each
        slot are then sums over the other slots' axes. ``[(codes, [(facet, 1 + values), ...])]``."""
        with self._lock:
            held = self._packed.get(names)
        if held is not None:
            return held
        parts = [(name, codes, self.matrices[name].shape[0] + 1)
                 for name in names if name in self.matrices for codes in self.slots(name)[0]]
        groups: list[tuple[np.ndarray, list[tuple[str, int]]]] = []
        cells = PACKED_CELLS + 1  # combinations of the last group's slots
        for name, codes, size in sorted(parts, key=lambda p: p[2]):
            if cells * size <= PACKED_CELLS:
                cells *= size
                prev, members = groups[-1]
                dtype = np.int16 if cells <= np.iinfo(np.int16).max else np.int32
                groups[-1] = (prev.astype(dtype) * size + codes, members + [(name, size)])
            else:
                cells = size
                groups.append((codes.copy(), [(name, size)]))
        with self._lock:
            self._packed[names] = groups
        return groups

    def slots(self, name: str) -> tuple[list[np.ndarray], np.ndarray, sparse.csc_matrix]:
        """Facet ``name``'s values by document, for counting: ``slots[j][doc]`` is 1 + the row of
        the document's j-th value (0: it has fewer), for up to ``MAX_SLOTS`` values; the
        documents with more (``overflow``, sorted) keep the rest in ``by_doc`` (the matrix by
        column). A document's counts then take one lookup per slot, not a pass over the matrix."""
        with self._lock:
            held = self._slots.get(name)
            if held is not None:
                return held
            by_doc = self.matrices[name].tocsc()
            by_doc.sort_indices()
            per_doc = np.diff(by_doc.indptr)
            dtype = np.int16 if by_doc.shape[0] < np.iinfo(np.int16).max else np.int32
            slots = []
            for j in range(min(int(per_doc.max(initial=0)), MAX_SLOTS)):
                docs = np.flatnonzero(per_doc > j)
                codes = np.zeros(self.ndocs, dtype=dtype)
                codes[docs] = by_doc.indices[by_doc.indptr[docs] + j] + 1
                slots.append(codes)
            overflow = np.flatnonzero(per_doc > MAX_SLOTS)
            held = self._slots[name] = (slots, overflow, by_doc if overflow.size else None)
            return held


def _rows_matrix(gathered: dict[int, list[np.ndarray]], nrows: int, ndocs: int) -> sparse.csr_matrix:
    """A ``nrows`` × ``ndocs`` 0/1 matrix from each row's sorted document arrays (segments in
    order, each segment's array sorted: the arrays are used as they are, no sorting)."""
    sizes = np.zeros(nrows, dtype=np.int64)
    arrays = []
    for row in sorted(gathered):
        pieces = gathered[row]
        sizes[row] = sum(a.size for a in pieces)
        arrays += pieces
    indptr = np.zeros(nrows + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    indices = np.concatenate(arrays).astype(np.int32) if arrays else np.zeros(0, dtype=np.int32)
    return sparse.csr_matrix((np.ones(indices.size, dtype=np.int32), indices, indptr), shape=(nrows, ndocs))


class PostingCache:
    """Segment data and term postings, shared by the snapshots of one index (LRU by size)."""

    def __init__(self, facet_fields: dict[str, bool], folder: Path | None = None,
                 text_fields: Iterable[str] = ()):
        self.facet_fields = facet_fields
        self.folder = folder  # the index folder, where segments' decoded postings are mapped from
        self.text_fields = tuple(text_fields)
        self.segments: dict[str, SegmentData] = {}
        self._facets: tuple[tuple, FacetBlock] | None = None  # see leading_facets
        self.postings: OrderedDict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
        self.size = 0
        self._leading: OrderedDict[tuple, tuple] = OrderedDict()  # see leading_postings
        self._leading_parts: tuple | None = None
        self._leading_bytes = 0
        self._vocab: tuple | None = None  # see leading_vocab
        self.lock = threading.Lock()

    def segment(self, segreader) -> SegmentData:
        sid = _segment_id(segreader)
        with self.lock:
            data = self.segments.get(sid)
        if data is None:
            data = SegmentData(segreader, self.facet_fields)
            if self.folder is not None:  # mapped if some process wrote it (see decode)
                data.decoded = decoded.open_or_build(self.folder, segreader, self.text_fields, read_postings,
                                                     build=False)
            with self.lock:
                self.segments[sid] = data
        return data

    def forget_except(self, segment_ids: set[str]) -> None:
        """Drop the data of segments no longer in the index (merged away)."""
        with self.lock:
            gone = {sid for sid in self.segments if sid not in segment_ids}
            if not gone:  # the usual case (a save adds a segment): no scan of the postings
                return
            for sid in gone:
                del self.segments[sid]
            for key in [k for k in self.postings if k[0] in gone]:
                self.size -= self.postings.pop(key)[0].size

    def leading_facets(self, parts: list[tuple]) -> FacetBlock:
        """The facet block of a view's leading large segments (``(segreader, offset, data)``),
        made once per process and kept while those segments lead the views: a save adds a small
        segment after them, and the next view counts that one apart (a block of all ~1,000,000
        facet postings at 100,000 records cost each worker ~5 ms at every save)."""
        key = tuple((data.sid, offset) for _, offset, data in parts)
        with self.lock:
            held = self._facets
        if held is not None and held[0] == key:
            return held[1]
        block = FacetBlock(parts, self.facet_fields)
        with self.lock:
            self._facets = (key, block)
        return block

    def leading_vocab(self, parts: list[tuple]) -> tuple[dict[str, int], list[str]]:
        """The words of ``parts`` (a view's leading large segments, ``(segreader, offset,
        data)``) with their document frequencies, and the same words as a list: merged once per
        process and kept while those segments lead the views (saves add small segments after
        them; when merges make one of them large, the merge is extended with it)."""
        key = tuple(data.sid for _, _, data in parts)
        with self.lock:
            held = self._vocab
        if held is not None and held[0] == key:
            return held[1], held[2]
        start, words = 0, {}
        if held is not None and key[:len(held[0])] == held[0]:
            start, words = len(held[0]), dict(held[1])
        for segreader, _, data in parts[start:]:
            for w, df in data.words(segreader, keep=False).items():
                words[w] = words.get(w, 0) + df
        value = (key, words, list(words))
        with self.lock:
            self._vocab = value
        return value[1], value[2]

    def leading_postings(self, parts_key: tuple, fieldname: str, btext: bytes, compute) -> tuple:
        """A term's ``(ids, tf, lengths, df)`` over a view's leading large segments, identified
        by ``parts_key`` (their ids and offsets), kept across views: ``compute()`` runs when this
        process has not seen the term over those same segments. The documents are all the
        segments hold, deleted ones included (a deletion does not change the key: the view
        drops them). Entries of other segments are dropped, and the least recently used beyond
        ``MAX_LEADING_BYTES``. The arrays are read-only."""
        key = (fieldname, btext)
        with self.lock:
            if parts_key != self._leading_parts:
                self._leading.clear()
                self._leading_parts, self._leading_bytes = parts_key, 0
            hit = self._leading.get(key)
            if hit is not None:
                self._leading.move_to_end(key)
                return hit
        value = compute()
        for a in value[:3]:
            a.flags.writeable = False
        nbytes = _entry_bytes(value)
        with self.lock:
            if parts_key == self._leading_parts and nbytes <= MAX_LEADING_BYTES:
                self._leading[key] = value
                self._leading_bytes += nbytes
                while self._leading_bytes > MAX_LEADING_BYTES:
                    self._leading_bytes -= _entry_bytes(self._leading.popitem(last=False)[1])
        return value

    def decode(self, segreader, data: SegmentData) -> bool:
        """Map ``segreader``'s decoded postings, writing them first if no process has (see
        :mod:`kb.search.decoded`); then this cache's private copies of its terms are dropped.
        False when the segment is small or its folder cannot be written."""
        if data.decoded is None and self.folder is not None:
            data.decoded = decoded.open_or_build(self.folder, segreader, self.text_fields, read_postings)
            if data.decoded is not None:
                data.decoded.willneed()
                with self.lock:
                    for key in [k for k in self.postings if k[0] == data.sid]:
                        self.size -= self.postings.pop(key)[0].size
        return data.decoded is not None

    def warm_plan(self, segreader, fieldnames: Iterable[str], min_docs: int = 128) -> list[tuple]:
        """The terms of one segment worth loading ahead (in at least ``min_docs`` documents:
        rarer ones load in well under a millisecond), most frequent first."""
        sid = _segment_id(segreader)
        plan = []
        for name in fieldnames:
            if name not in segreader.schema:
                continue
            for btext, info in segreader.iter_field(name):
                df = info.doc_frequency()
                if df >= min_docs and (sid, name, btext) not in self.postings:
                    plan.append((df, name, btext))
        plan.sort(key=lambda x: -x[0])
        return plan

    def postings_of(self, segreader, data: SegmentData, fieldname: str,
                    btext: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local document numbers, term frequencies and field lengths of a term's documents in
        one segment."""
        if data.decoded is not None:
            mapped = data.decoded.get(fieldname, btext)
            if mapped is not None:
                return mapped[0], mapped[1], data.field_lengths(segreader, fieldname)[mapped[0]]
        key = (data.sid, fieldname, btext)
        with self.lock:
            hit = self.postings.get(key)
            if hit is not None:
                self.postings.move_to_end(key)
                return hit
        ids, tf = read_postings(segreader, fieldname, btext)
        value = (ids, tf, data.field_lengths(segreader, fieldname)[ids])
        with self.lock:
            self.postings[key] = value
            self.size += ids.size
            while self.size > MAX_CACHED_POSTINGS and len(self.postings) > 1:
                _, old = self.postings.popitem(last=False)
                self.size -= old[0].size
        return value


class Snapshot:
    """One searcher's view as arrays: live documents, facets, years and term postings with
    global document numbers."""

    def __init__(self, searcher, cache: PostingCache, text_fields: Iterable[str]):
        self.searcher = searcher
        self.cache = cache
        reader = searcher.reader()
        self.parts = []
        self._part_live: list[np.ndarray | None] = []  # per part: its live mask if it has deletions
        lives, years = [], []
        for segreader, offset in _segment_readers(reader):
            data = cache.segment(segreader)
            self.parts.append((segreader, offset, data))
            live = np.ones(data.ndocs, dtype=bool)
            deleted = getattr(segreader, "deleted_docs_set", None)
            if deleted is None:
                deleted = set(segreader.deleted_docs()) if segreader.has_deletions() else ()
            if deleted:
                live[np.fromiter(deleted, dtype=np.int64)] = False
            self._part_live.append(live if deleted else None)
            lives.append(live)
            years.append(data.years)
        cache.forget_except({data.sid for _, _, data in self.parts})
        self._offsets = [offset for _, offset, _ in self.parts]
        # The leading large segments, whose terms' postings the next views reuse (see term).
        self._leading = 0
        while self._leading < len(self.parts) and self.parts[self._leading][2].ndocs >= LEADING_MIN_DOCS:
            self._leading += 1
        self._leading_key = tuple((data.sid, offset) for _, offset, data in self.parts[:self._leading])
        self._leading_deletions = any(live is not None for live in self._part_live[:self._leading])
        self.live = np.concatenate(lives) if lives else np.zeros(0, dtype=bool)
        self.years = np.concatenate(years) if years else np.zeros(0, dtype=np.int32)
        self.ndocs = int(self.live.size)
        self.doc_count = int(self.live.sum())
        self.text_fields = frozenset(text_fields)
        # A field's average length over all documents, deleted ones included, as Whoosh's
        # searcher computes it: a segment's total field length keeps its deleted documents.
        self.avg_length = {}
        for name in self.text_fields:
            total = reader.field_length(name) if name in reader.schema else 0
            self.avg_length[name] = (total / self.ndocs) if self.ndocs else 1.0
        self.facet_fields = tuple(cache.facet_fields)
        self._facet_blocks: tuple[FacetBlock | None, FacetBlock] | None = None  # see _facets
        self._terms: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._word_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # see _word
        self._literal_candidates: dict[tuple[str, str], np.ndarray] = {}  # see _literal_phrase
        self._cached_bytes = 0  # held by the three caches above (see _remember)
        self._sort_keys: dict[str, np.ndarray] = {}
        self._vocab: list[tuple[dict[str, int], list[str]]] | None = None

    def vocab(self) -> list[tuple[dict[str, int], list[str]]]:
        """Surface words of the unstemmed ``words`` field with their document frequencies, and
        the same words as a list, in parts: the leading large segments' merged (kept across
        views, see :meth:`PostingCache.leading_vocab`), then each small segment's (built on
        first use: spelling suggestions only)."""
        if self._vocab is None:
            vocab = [self.cache.leading_vocab(self.parts[:self._leading])] if self._leading else []
            for segreader, _, data in self.parts[self._leading:]:
                words = data.words(segreader)
                if words:
                    vocab.append((words, list(words)))
            self._vocab = vocab
        return self._vocab

    # -- terms -------------------------------------------------------------------------------
    def term(self, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
        """Global document numbers (sorted, live only) and BM25 scores of one term."""
        key = (fieldname, text)
        hit = self._terms.get(key)
        if hit is not None:
            return hit
        fobj = self.searcher.schema[fieldname]
        btext = fobj.to_bytes(text) if not isinstance(text, bytes) else text
        # The leading large segments' postings come from the process's cache when an earlier
        # view had the same segments (a save adds one after them); the rest are read here.
        pieces = []
        if self._leading:
            piece = self.cache.leading_postings(self._leading_key, fieldname, btext,
                                                lambda: self._postings(fieldname, btext, 0, self._leading, live=False))
            if self._leading_deletions and piece[0].size:  # kept with deleted documents: drop them here
                keep = self.live[piece[0]]
                piece = (piece[0][keep], piece[1][keep], piece[2][keep], piece[3])
            pieces.append(piece)
        if self._leading < len(self.parts):
            pieces.append(self._postings(fieldname, btext, self._leading, len(self.parts)))
        df = sum(p[3] for p in pieces)  # deleted documents count, as in Whoosh's document frequency
        pieces = [p for p in pieces if p[0].size]
        if not pieces:
            value = (_NO_IDS, _NO_SCORES)
        else:
            if len(pieces) == 1:
                ids, tf, dl = pieces[0][:3]
            else:
                ids, tf, dl = (np.concatenate([p[i] for p in pieces]) for i in range(3))
            scores = bm25(tf, dl, self.avg_length.get(fieldname, 1.0), df, self.ndocs)
            value = (ids, scores.astype(np.float32, copy=False))
        self._remember(self._terms, key, value, value[0].nbytes + value[1].nbytes)
        return value

    def _postings(self, fieldname: str, btext: bytes, start: int, stop: int, live: bool = True) -> tuple:
        """``(ids, tf, lengths, df)`` of a term over ``parts[start:stop]``: global numbers of
        live documents (``live``: false, deleted ones too), their term frequencies and field
        lengths, and the number of documents holding it (deleted ones included)."""
        key_in_segment = (fieldname, btext)
        ids_parts, tf_parts, len_parts = [], [], []
        df = 0
        for (segreader, offset, data), alive in zip(self.parts[start:stop], self._part_live[start:stop]):
            if data.term_keys is not None and key_in_segment not in data.term_keys:
                continue
            ids, tf, dl = self.cache.postings_of(segreader, data, fieldname, btext)
            if not ids.size:
                continue
            df += ids.size
            if live and alive is not None:
                keep = alive[ids]
                ids, tf, dl = ids[keep], tf[keep], dl[keep]
            ids_parts.append(ids + offset if offset else ids)
            tf_parts.append(tf)
            len_parts.append(dl)
        if not ids_parts:
            return _NO_IDS, _NO_TF, _NO_LENGTHS, df
        if len(ids_parts) == 1:
            return ids_parts[0], tf_parts[0], len_parts[0], df
        return np.concatenate(ids_parts), np.concatenate(tf_parts), np.concatenate(len_parts), df

    def _remember(self, cache: dict, key, value, nbytes: int) -> None:
        """Keep ``value`` in one of the query caches, all of which are emptied once together
        they would hold more than ``MAX_CACHED_TERM_BYTES`` (they refill with what the next
        queries use)."""
        nbytes += 200  # the entry and its key
        if self._cached_bytes + nbytes > MAX_CACHED_TERM_BYTES:
            self._terms.clear()
            self._word_cache.clear()
            self._literal_candidates.clear()
            self._cached_bytes = 0
            if nbytes > MAX_CACHED_TERM_BYTES:
                return
        cache[key] = value
        self._cached_bytes += nbytes

    def facet_counts(self, names: Iterable[str], mask: np.ndarray) -> dict[str, list[tuple[str, int]]]:
        """``{facet: [(value, count), ...]}``: every value of each facet in ``names`` counted
        among the documents of ``mask`` (values with no document left out)."""
        lead, tail = self._facets()
        split = lead.ndocs if lead is not None else 0
        asked = tuple(names)
        names = tuple(name for name in asked if name in tail.rows)
        nrows = {name: len(tail.rows[name]) for name in names}
        totals = {name: np.zeros(nrows[name], dtype=np.int64) for name in names}
        for block, part in [(tail, mask[split:])] + ([(lead, mask[:split])] if lead is not None else []):
            if block.ndocs:
                for name, counts in block.count(names, block.chosen(part), nrows).items():
                    totals[name] += counts
        out = {name: [] for name in asked}
        for name, counts in totals.items():
            values, found = tail.values[name], np.flatnonzero(counts).tolist()
            counts = counts.tolist()
            out[name] = [(values[row], counts[row]) for row in found]
        return out

    def facet_ids(self, name: str, value: str) -> np.ndarray | None:
        """The documents (global numbers, sorted, deleted ones too) with ``value`` in facet
        ``name``; ``None`` when no document has it."""
        lead, tail = self._facets()
        row = tail.rows.get(name, {}).get(value)
        if row is None:
            return None
        split = lead.ndocs if lead is not None else 0
        pieces = [lead.docs(name, row)] if lead is not None else []
        pieces.append(tail.docs(name, row) + split)
        return np.concatenate(pieces)

    def _facets(self) -> tuple[FacetBlock | None, FacetBlock]:
        """The facet blocks of this view: its leading large segments' (kept across views) and
        the rest's, whose rows continue the first's (see :class:`FacetBlock`)."""
        if self._facet_blocks is None:
            lead = self.cache.leading_facets(self.parts[:self._leading]) if self._leading else None
            tail = FacetBlock(self.parts[self._leading:], self.facet_fields, known=lead)
            self._facet_blocks = (lead, tail)
        return self._facet_blocks

    def sort_key(self, fieldname: str) -> np.ndarray:
        """Every document's rank by a sortable text column (for sort by title)."""
        key = self._sort_keys.get(fieldname)
        if key is None:
            values: list = []
            for segreader, _, data in self.parts:
                if segreader.has_column(fieldname):
                    col = segreader.column_reader(fieldname)
                    values.extend(col[i] for i in range(data.ndocs))
                else:
                    values.extend([""] * data.ndocs)
            order = np.argsort(np.array(values, dtype=object), kind="stable")
            key = np.empty(len(values), dtype=np.int64)
            key[order] = np.arange(len(values))
            self._sort_keys[fieldname] = key
        return key

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, q: query.Query) -> tuple[np.ndarray, np.ndarray]:
        """Score vector and match mask of a parsed query (both over all documents)."""
        scores, mask = self._eval(q)
        mask = mask & self.live
        return scores, mask

    def _zeros(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.ndocs, dtype=np.float32), np.zeros(self.ndocs, dtype=bool)

    def _eval(self, q: query.Query) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(q, query.NullQuery.__class__):
            return self._zeros()
        if isinstance(q, query.Every):
            return np.zeros(self.ndocs, dtype=np.float32), self.live.copy()
        if isinstance(q, query.Term):
            return self._eval_term(q)
        if isinstance(q, query.Or):
            return self._eval_or(q)
        if isinstance(q, query.And):
            scores, mask = np.zeros(self.ndocs, dtype=np.float32), self.live.copy()
            for sub in q.subqueries:
                s, m = self._eval(sub)
                scores += s
                mask &= m
            return self._boosted(scores * mask, q), mask
        if isinstance(q, query.AndNot):
            s, m = self._eval(q.a)
            _, neg = self._eval(q.b)
            m = m & ~neg
            return self._boosted(s * m, q), m
        if isinstance(q, query.Not):
            _, neg = self._eval(q.query)
            return np.zeros(self.ndocs, dtype=np.float32), self.live & ~neg
        if isinstance(q, query.Phrase):
            return self._eval_phrase(q)
        return self._fallback(q)

    @staticmethod
    def _boosted(scores: np.ndarray, q: query.Query) -> np.ndarray:
        boost = getattr(q, "boost", 1.0)
        return scores * boost if boost != 1.0 else scores

    def _eval_term(self, q: query.Term) -> tuple[np.ndarray, np.ndarray]:
        name = q.fieldname
        scores, mask = self._zeros()
        if name in self.text_fields:
            ids, s = self.term(name, q.text)
            scores[ids] = s * q.boost
            mask[ids] = True
            return scores, mask
        if name in self.facet_fields:
            ids = self.facet_ids(name, str(q.text))
            if ids is not None:
                mask[ids] = True
            return scores, mask
        return self._fallback(q)

    def _eval_or(self, q: query.Or) -> tuple[np.ndarray, np.ndarray]:
        scores, mask = self._zeros()
        coord = getattr(q, "scale", None) and len(q.subqueries) > 1
        matched = np.zeros(self.ndocs, dtype=np.float32) if coord else None
        text_fields = self.text_fields
        for sub in q.subqueries:
            if sub.__class__ is query.Term and sub.fieldname in text_fields:
                # A word in a text field (most leaves): added where it occurs, not as two
                # arrays over every document (the same sums: the other documents add zero).
                ids, s = self.term(sub.fieldname, sub.text)
                if ids.size:
                    scores[ids] += s * sub.boost
                    mask[ids] = True
                    if coord:
                        matched[ids] += 1
                continue
            if sub.__class__ is query.Or:
                word = self._word(sub)  # one query word over the text fields (the usual case)
                if word is not None:
                    ids, s = word
                    if ids.dtype == np.bool_:  # a common word, over every document
                        scores += s
                        mask |= ids
                        if coord:
                            matched += ids
                    elif ids.size:
                        scores[ids] += s
                        mask[ids] = True
                        if coord:
                            matched[ids] += 1
                    continue
            s, m = self._eval(sub)
            scores += s
            mask |= m
            if coord:
                matched += m
        if coord:
            # A document that matches more of the query's words ranks above one that matches
            # one word often (Whoosh's coordination idea: a bonus per further word matched).
            scores += COORD_BONUS * np.maximum(matched - 1, 0)
        return self._boosted(scores, q), mask

    def _word(self, q: query.Or) -> tuple[np.ndarray, np.ndarray] | None:
        """An OR of text-field terms without coordination (one query word searched in every
        field): its documents (sorted) and summed scores, kept for the snapshot like a term's;
        for a word in over 1/``COMMON_WORD`` of the documents, a boolean mask and scores over all documents
        instead. ``None`` for any other OR."""
        subs = q.subqueries
        if getattr(q, "scale", None) and len(subs) > 1:
            return None
        text_fields = self.text_fields
        key: list = [q.boost]
        for t in subs:
            if t.__class__ is not query.Term or t.fieldname not in text_fields:
                return None
            key += (t.fieldname, t.text, t.boost)
        key = tuple(key)
        hit = self._word_cache.get(key)
        if hit is not None:
            return hit
        found = [(t, *self.term(t.fieldname, t.text)) for t in subs]
        found = [(t, ids, s) for t, ids, s in found if ids.size]
        if sum(ids.size for _, ids, _ in found) * COMMON_WORD > self.ndocs:
            # A common word: kept over every document (a mask and scores), which a query adds
            # as whole vectors, cheaper than indexed adds of its documents.
            scores, mask = self._zeros()
            for t, ids, s in found:
                scores[ids] += s * t.boost
                mask[ids] = True
            value = (mask, self._boosted(scores, q))
        elif not found:
            value = (_NO_IDS, _NO_SCORES)
        elif len(found) == 1:
            t, ids, s = found[0]
            value = (ids, s * (t.boost * q.boost))
        else:  # summed over all documents, then taken where any field matched
            scores, mask = self._zeros()
            for t, ids, s in found:
                scores[ids] += s * t.boost
                mask[ids] = True
            ids = np.flatnonzero(mask)
            value = (ids, self._boosted(scores[ids], q))
        self._remember(self._word_cache, key, value, value[0].nbytes + value[1].nbytes)
        return value

    def _eval_phrase(self, q: query.Phrase) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(q, ExactPhrase) and q.fieldname in self.text_fields:
            mask = self._exact_phrase(q)
        else:
            _, mask = self._fallback(q)
            mask &= self.live
        scores = np.zeros(self.ndocs, dtype=np.float32)
        if q.fieldname in self.text_fields:
            for word in q.words:
                ids, s = self.term(q.fieldname, word)
                scores[ids] += s
        return self._boosted(scores * mask, q), mask

    def _exact_phrase(self, q: ExactPhrase) -> np.ndarray:
        """The documents matching ``q``: those holding a term of every slot (from the cached
        postings), then, for a phrase of several slots, those where the slots sit at their
        offsets; plus, when its plan says so, those whose stored text holds it as written."""
        mask = np.zeros(self.ndocs, dtype=bool)
        common = None
        for slot in q.plan.slots:
            ids = [self.term(q.fieldname, t)[0] for t in slot]
            ids = ids[0] if len(ids) == 1 else np.unique(np.concatenate(ids))
            common = ids if common is None else np.intersect1d(common, ids, assume_unique=True)
            if not common.size:
                break
        if common is not None and common.size:
            if len(q.plan.slots) > 1:
                common = np.asarray(q.matching_docs(self.searcher, common.tolist()), dtype=np.int64)
            mask[common] = True
        if q.plan.literal and q.text:
            mask |= self._literal_phrase(q.fieldname, q.text, mask)
        return mask

    def _literal_phrase(self, fieldname: str, text: str, found: np.ndarray) -> np.ndarray:
        """The documents not in ``found`` whose stored ``fieldname`` holds the words of
        ``text`` as written (:func:`kb.search.phrases.literal_pattern`); candidates are the documents
        holding every word in the ``words`` field."""
        out = np.zeros(self.ndocs, dtype=bool)
        pattern = literal_pattern(text)
        words = literal_words(text)
        schema = self.searcher.schema
        if pattern is None or "words" not in schema or fieldname not in schema or not schema[fieldname].stored:
            return out
        lang = fieldname.rpartition("_")[2]
        key = (text, lang)
        candidates = self._literal_candidates.get(key)
        if candidates is None:  # the same for every field of the language: looked up once
            candidates = self.live.copy()
            for w in words:
                ids = self.term("words", w)[0]
                held = np.zeros(self.ndocs, dtype=bool)
                held[ids] = True
                candidates &= held
            if "language" in schema and lang:  # a field of one language holds its records only
                candidates &= self._fallback(query.Term("language", lang))[1]
            self._remember(self._literal_candidates, key, candidates, candidates.nbytes)
        for doc in np.flatnonzero(candidates & ~found):
            value = self.stored(int(doc)).get(fieldname)
            if value and pattern.search(normalize(value)):
                out[doc] = True
        return out

    def _fallback(self, q: query.Query) -> tuple[np.ndarray, np.ndarray]:
        """Whoosh's own matcher, for the set of documents only."""
        scores, mask = self._zeros()
        try:
            ids = np.fromiter(q.docs(self.searcher), dtype=np.int64)
        except Exception:  # a clause Whoosh cannot run (e.g. an unknown field) matches nothing
            ids = np.zeros(0, dtype=np.int64)
        if ids.size:
            mask[ids] = True
        return scores, mask

    def holding(self, fieldname: str, texts: Iterable[str], docs: np.ndarray) -> np.ndarray:
        """Which of ``docs`` hold any of ``texts`` in ``fieldname`` (a boolean per document)."""
        out = np.zeros(docs.size, dtype=bool)
        for text in texts:
            ids, _ = self.term(fieldname, text)
            if ids.size:
                at = np.minimum(np.searchsorted(ids, docs), ids.size - 1)
                out |= ids[at] == docs
        return out

    def stored(self, docnum: int) -> dict:
        """The stored fields of document ``docnum`` (kept per segment for the documents shown
        most recently: a segment's documents never change)."""
        i = bisect.bisect_right(self._offsets, docnum) - 1
        segreader, offset, data = self.parts[i]
        return data.stored(segreader, docnum - offset)


def top(order_keys: list[np.ndarray], candidates: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` of ``candidates`` by ``order_keys`` (most significant last, as for
    ``np.lexsort``), in order."""
    if candidates.size == 0:
        return candidates
    if k < candidates.size // 4:
        # Narrow the candidates on the most significant key first, keeping ties at the edge.
        primary = order_keys[-1][candidates]
        kth = np.partition(primary, k - 1)[k - 1]
        candidates = candidates[primary <= kth]
    keys = [key[candidates] for key in order_keys]
    order = np.lexsort([candidates] + keys)
    return candidates[order[:k]]


def positive_terms(q: query.Query) -> list[tuple[str, str]]:
    """The (field, text) of every term a document can match the query by (not under NOT)."""
    out: list[tuple[str, str]] = []

    def walk(node):
        if isinstance(node, query.Not):
            return
        if isinstance(node, query.AndNot):
            walk(node.a)
            return
        if isinstance(node, query.Term):
            out.append((node.fieldname, node.text))
            return
        if isinstance(node, query.Phrase):
            out.extend((node.fieldname, w) for w in node.words)
            return
        for child in node.children() if hasattr(node, "children") else ():
            walk(child)

    walk(q)
    return out
