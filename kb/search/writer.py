"""The writing side of the search index: Whoosh's segment writer, made faster, same result.

Measured on a 10,000-record import (4.3M postings), Whoosh spent half the time in its posting
pool: it keeps every posting as a Python tuple ``(fieldname, term bytes, docnum, weight, value
bytes)`` (~220 bytes each), sorts them, and past its memory limit pickles them to disk one at a
time and merges the runs back one at a time. :func:`prepare_writer` changes three things on a
fresh :class:`~whoosh.writing.SegmentWriter`:

- :class:`CompactPostingPool` keeps a posting as three 32-bit numbers per field (term id,
  docnum, id of the interned ``(weight, value bytes)`` pair: a text field has few distinct
  position lists) and sorts each field with numpy at commit. Past its memory budget it writes
  sorted runs in large marshal chunks and merges them.
- :class:`DocumentAdder` replaces ``add_document``: our text fields are analyzed by
  :func:`kb.text.analyze` directly (no Whoosh token objects and generators) and added to the pool
  a field at a time.
- At commit, :func:`_write_sorted` hands the field writer a term at a time, and the document
  lengths are decoded once per field instead of once per posting (:class:`_TabledLengths`).

The postings, terms, statistics and stored fields are exactly Whoosh's (the tests compare the
two writers' segments); the one difference is that the postings file is a little smaller: a
block's value bytes share objects, which pickle writes once.

This touches whoosh3's writer internals (named where used); whoosh3 is pinned exactly
(see ARCHITECTURE.md).
"""

from __future__ import annotations

import heapq
import marshal
import os
import queue
import struct
import subprocess
import sys
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np
from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.codec.whoosh3 import W3FieldWriter
from whoosh.fields import ID, KEYWORD, NUMERIC
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint
from whoosh.writing import PostingPool

from ..text import SinergiTokenizer
from .textworker import read_frame, text_terms, write_frame

# Postings per marshal chunk when a run goes to disk.
CHUNK = 20_000
# Rough bytes per posting (three int32 plus array growth) and per interned term or value,
# for the memory budget (``limitmb`` of the writer).
_POSTING_BYTES = 14
_ENTRY_BYTES = 220
_LEN = struct.Struct("<I")
# Values per keyword, id or numeric field whose terms DocumentAdder keeps.
_INDEX_CACHE_SIZE = 4096


class _Field:
    """One field's postings in a pool: parallel arrays of term id, docnum and value id."""

    __slots__ = ("ids", "terms", "kid", "doc", "vid")

    def __init__(self):
        self.ids: dict = {}  # term text (text fields) or bytes -> term id
        self.terms: list[bytes] = []  # term id -> term bytes
        self.kid = array("i")
        self.doc = array("i")
        self.vid = array("i")


def _nones(values: list) -> Iterator[int]:
    """The indexes of the Nones in ``values`` (found by list.index: most lists have none)."""
    i = -1
    try:
        while True:
            i = values.index(None, i + 1)
            yield i
    except ValueError:
        return


class CompactPostingPool(PostingPool):
    """A drop-in :class:`~whoosh.writing.PostingPool` (see the module docstring).

    In the ``text_fields`` (those :class:`DocumentAdder` indexes itself) terms are looked up by
    their text, elsewhere by their bytes. Postings come in through :meth:`add` (one Whoosh
    posting tuple: other fields, merged segments) or a whole field of a document at a time
    (:meth:`add_positions`, :meth:`add_frequencies`)."""

    def __init__(self, tempstore, segment, limitmb: int = 128, text_fields=(), **kwargs):
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        self._text_fields = frozenset(text_fields)
        self._reset()

    def _reset(self) -> None:
        self._fields: dict[str, _Field] = {}
        self._nterms = 0
        self._val_ids: dict[tuple, int] = {}
        self._vals: list[tuple] = []  # value id -> (weight, value bytes)
        self._val_cache: dict[tuple, dict] = {}  # (kind, boosts) -> {position or count: value id}

    def _field(self, fieldname: str) -> _Field:
        f = self._fields.get(fieldname)
        if f is None:
            f = self._fields[fieldname] = _Field()
        return f

    def _postings(self) -> int:
        return sum(len(f.kid) for f in self._fields.values())

    def _full(self) -> bool:
        """Checked when a new term comes (every 256th): past the memory budget?"""
        self._nterms += 1
        return not self._nterms & 255 and (
            self._postings() * _POSTING_BYTES + (self._nterms + len(self._vals)) * _ENTRY_BYTES > self.limit)

    def filled(self) -> float:
        """The share of the memory budget the pool's postings and entries take (1.0: full; past
        it the pool writes runs to disk, which a commit merges a posting at a time)."""
        return (self._postings() * _POSTING_BYTES + (self._nterms + len(self._vals)) * _ENTRY_BYTES) / self.limit

    def _val_id(self, weight, vbytes) -> int:
        # 1 == 1.0 as a dict key: a weight other than a float is interned apart, so every
        # posting keeps its own weight type.
        val = (weight, vbytes) if weight.__class__ is float else (weight.__class__, weight, vbytes)
        vid = self._val_ids.get(val)
        if vid is None:
            vid = self._val_ids[val] = len(self._vals)
            self._vals.append((weight, vbytes))
        return vid

    def _cache(self, key: tuple) -> dict:
        cache = self._val_cache.get(key)
        if cache is None:
            cache = self._val_cache[key] = {}
        return cache

    @staticmethod
    def _new_term(f: _Field, key, tbytes: bytes) -> int:
        kid = f.ids[key] = len(f.terms)
        f.terms.append(tbytes)
        return kid

    def add(self, item) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        f = self._field(fieldname)
        key = tbytes.decode("utf-8", "surrogateescape") if fieldname in self._text_fields else tbytes
        kid = f.ids.get(key)
        if kid is None:
            if self._full():
                self.save()
                f = self._field(fieldname)
            kid = self._new_term(f, key, tbytes)
        f.kid.append(kid)
        f.doc.append(docnum)
        f.vid.append(self._val_id(weight, vbytes))

    def add_positions(self, fieldname: str, docnum: int, poses: dict[str, list[int]], fb: float,
                      fieldboost: float, encode) -> None:
        """Add one ``Positions`` field of one document, ``poses`` mapping each term to its
        positions: the postings ``Positions.word_values`` and ``add_document`` would add (weight
        = count x format boost x field boost; value = ``encode(positions)``)."""
        if fieldname not in self._text_fields:
            raise ValueError(f"{fieldname!r} is not a text field of this pool")
        f = self._field(fieldname)
        kids = list(map(f.ids.get, poses))
        if None in kids:
            f = self._new_terms(f, fieldname, kids, list(poses))
        single = self._cache(("positions", fb, fieldboost))  # position -> value id of [position]
        w1 = 1.0 * fb * fieldboost
        vids = []
        for p in poses.values():
            if len(p) == 1:
                vid = single.get(p[0])
                if vid is None:
                    vid = single[p[0]] = self._val_id(w1, encode(p))
            else:
                vid = self._val_id(float(len(p)) * fb * fieldboost, encode(p))
            vids.append(vid)
        self._append(f, kids, docnum, vids)

    def add_frequencies(self, fieldname: str, docnum: int, counts: dict[str, int], fb: float,
                        fieldboost: float) -> None:
        """Add one ``Frequency`` field of one document, ``counts`` mapping each term to its
        count: the postings ``Frequency.word_values`` and ``add_document`` would add."""
        if fieldname not in self._text_fields:
            raise ValueError(f"{fieldname!r} is not a text field of this pool")
        f = self._field(fieldname)
        kids = list(map(f.ids.get, counts))
        if None in kids:
            f = self._new_terms(f, fieldname, kids, list(counts))
        bycount = self._cache(("frequency", fb, fieldboost))  # count -> value id
        ns = list(counts.values())
        vids = list(map(bycount.get, ns))
        for i in _nones(vids):
            n = ns[i]
            vid = bycount.get(n)
            if vid is None:
                vid = bycount[n] = self._val_id(float(n) * fb * fieldboost, pack_uint(n))
            vids[i] = vid
        self._append(f, kids, docnum, vids)

    def _new_terms(self, f: _Field, fieldname: str, kids: list, texts: list[str]) -> _Field:
        """Give the terms of ``texts`` without an id (None in ``kids``) one. A spill on the
        way empties the pool, so all of them are new then (and no second spill for them)."""
        spilled = False
        for i in _nones(kids):
            if not spilled and self._full():
                self.save()
                spilled = True
                f = self._field(fieldname)
                kids[:] = [self._new_term(f, text, text.encode("utf-8")) for text in texts]
                break
            kids[i] = self._new_term(f, texts[i], texts[i].encode("utf-8"))
        return f

    @staticmethod
    def _append(f: _Field, kids: list[int], docnum: int, vids: list[int]) -> None:
        if kids:
            f.kid.extend(kids)
            f.doc.extend([docnum] * len(kids))
            f.vid.extend(vids)

    # -- reading back ------------------------------------------------------------------------
    def _take(self) -> SortedPostings:
        """This pool's postings, to be read back sorted; the pool is emptied."""
        self.fieldnames.update(self._fields)
        out = SortedPostings(self._fields, self._vals)
        self._reset()
        return out

    def save(self) -> None:
        """Write the pool's postings to disk as one sorted run."""
        if self._postings():
            path, f = self._new_run()
            self._write_run(f, iter(self._take()))
            self._add_run(path)

    def _write_run(self, f, items) -> None:
        chunk = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= CHUNK:
                data = marshal.dumps(chunk)
                f.write(_LEN.pack(len(data)) + data)
                chunk = []
        if chunk:
            data = marshal.dumps(chunk)
            f.write(_LEN.pack(len(data)) + data)
        f.close()

    def _read_run(self, path: str) -> Iterator[tuple]:
        f = self._open_run(path)
        try:
            while True:
                head = f.read(_LEN.size)
                if len(head) < _LEN.size:
                    return
                yield from marshal.loads(f.read(_LEN.unpack(head)[0]))
        finally:
            f.close()
            self._remove_run(path)

    def _merge_runs(self, paths) -> Iterator[tuple]:
        yield from heapq.merge(*[self._read_run(p) for p in paths])

    def items(self, maxfiles: int = 128):
        if not self.runs:
            return self._take()
        self.save()
        if maxfiles < len(self.runs):
            self.reduce_to(maxfiles, maxfiles)
        runs, self.runs = self.runs, []
        return self._merge_runs(runs)

    def iter_postings(self):
        return self.items()


class SortedPostings:
    """A pool's postings, read back once, in Whoosh's order (by field, term, docnum).

    Iterating gives Whoosh's posting tuples; :func:`_write_sorted` reads :meth:`fields`, one
    field's sorted arrays at a time. Each field is sorted when it is reached, and its unsorted
    arrays are dropped then, which keeps the memory peak at one field's worth."""

    def __init__(self, fields: dict[str, _Field], vals: list[tuple]):
        self._fields = fields
        self.vals = vals

    def fields(self) -> Iterator[tuple[str, list[bytes], np.ndarray, np.ndarray, np.ndarray]]:
        """``(fieldname, term bytes by term id, term ids, docnums, value ids)`` per field, the
        three arrays sorted by term bytes, then docnum."""
        fields = self._fields
        for fieldname in sorted(fields):
            f = fields.pop(fieldname)
            terms = f.terms
            if not len(f.kid):
                continue
            kid = np.frombuffer(f.kid, dtype=np.int32)
            doc = np.frombuffer(f.doc, dtype=np.int32)
            vid = np.frombuffer(f.vid, dtype=np.int32)
            del f
            rank = np.empty(len(terms), dtype=np.int32)
            rank[sorted(range(len(terms)), key=terms.__getitem__)] = np.arange(len(terms), dtype=np.int32)
            krank = rank[kid]
            order = np.lexsort((doc, krank))
            krank = krank[order]
            sdoc = doc[order]
            if np.any((krank[1:] == krank[:-1]) & (sdoc[1:] == sdoc[:-1])):
                # A term twice in one document (Whoosh's spelling postings): a tuple sort
                # orders those by weight and value too. Never the case for our schema.
                vals, ranks, docs, vids = self.vals, rank[kid].tolist(), doc.tolist(), vid.tolist()
                order = np.array(sorted(range(len(docs)), key=lambda i: (ranks[i], docs[i], vals[vids[i]])),
                                 dtype=np.intp)
                sdoc = doc[order]
            del krank
            yield fieldname, terms, kid[order], sdoc, vid[order]

    def __iter__(self) -> Iterator[tuple]:
        vals = self.vals
        for fieldname, terms, kid, doc, vid in self.fields():
            for start in range(0, len(kid), CHUNK):
                end = start + CHUNK
                for k, d, v in zip(kid[start:end].tolist(), doc[start:end].tolist(), vid[start:end].tolist()):
                    weight, vbytes = vals[v]
                    yield (fieldname, terms[k], d, weight, vbytes)


def prepare_writer(writer, limitmb: int) -> DocumentAdder:
    """Make a fresh :class:`~whoosh.writing.SegmentWriter` write faster, with the same result;
    returns the :class:`DocumentAdder` to add documents with (instead of ``add_document``).

    - its pool becomes a :class:`CompactPostingPool` (``SegmentWriter.__init__`` ignores its
      ``poolclass`` argument, so the pool is replaced here, before any document is added);
    - at commit, its field writer takes the sorted postings a term at a time
      (:func:`_write_sorted`), with the document lengths decoded once per field
      (:class:`_TabledLengths`).

    Private whoosh3 attributes (``pool``, ``per_document_reader``, ``fieldwriter``); whoosh3 is
    pinned exactly."""
    old = writer.pool
    if len(old.current) or old.runs or writer._added:
        raise RuntimeError("the writer is already in use")
    text_fields = [name for name, field in writer.schema.items() if _fast_indexer(field)]
    writer.pool = CompactPostingPool(old.tempstore, old.segment, limitmb=limitmb, text_fields=text_fields)
    per_document_reader = writer.per_document_reader
    writer.per_document_reader = lambda: _TabledLengths(per_document_reader())
    fieldwriter = writer.fieldwriter
    if type(fieldwriter) is W3FieldWriter:
        add_postings = fieldwriter.add_postings

        def add_sorted_postings(schema, lengths, items):
            if isinstance(items, SortedPostings):
                return _write_sorted(fieldwriter, schema, lengths, items)
            return add_postings(schema, lengths, items)

        fieldwriter.add_postings = add_sorted_postings
    return DocumentAdder(writer)


def _write_sorted(fw, schema, lengths, postings: SortedPostings) -> None:
    """``FieldWriter.add_postings(schema, lengths, postings)`` a term at a time: the same calls
    on the field writer per field and term, and per block of a term the postings its
    ``W3PostingsWriter.add_posting`` would buffer, with the same block statistics (private
    attributes of whoosh3's ``W3PostingsWriter``: ``_ids``, ``_weights``, ``_values``,
    ``_maxweight``, ``_minlength``, ``_maxlength``, ``_blocklimit``, ``_write_block``)."""
    if lengths:
        get_dfl_reader = getattr(lengths, "doc_field_length_reader", None)
        if get_dfl_reader is None:
            plain_dfl = lengths.doc_field_length

            def get_dfl_reader(fieldname):
                return lambda docnum, _fn=fieldname: plain_dfl(docnum, _fn)
    else:
        def get_dfl_reader(fieldname):
            return lambda docnum: 0
    weights_of = [w for w, _ in postings.vals]
    values_of = [v for _, v in postings.vals]
    for fieldname, terms, kid, doc, vid in postings.fields():
        fw.start_field(fieldname, schema[fieldname])
        dfl = get_dfl_reader(fieldname)
        if (doc == -1).any():  # Whoosh's spelling-only postings: not written (the field starts)
            keep = doc != -1
            kid, doc, vid = kid[keep], doc[keep], vid[keep]
        starts = np.flatnonzero(np.concatenate(([True], kid[1:] != kid[:-1]))) if len(kid) else kid
        bounds = np.append(starts, len(kid)).tolist()
        kids = kid[starts].tolist()
        # A chunk of whole terms at a time as Python lists (a whole field's would be big).
        t = 0
        while t < len(kids):
            base = bounds[t]
            u = max(t + 1, int(np.searchsorted(starts, base + CHUNK, side="right")) - 1)
            docs_c = doc[base:bounds[u]].tolist()
            vids_c = vid[base:bounds[u]].tolist()
            for t in range(t, u):
                fw.start_term(terms[kids[t]])
                _add_term_postings(fw._postwriter, docs_c[bounds[t] - base:bounds[t + 1] - base],
                                   vids_c[bounds[t] - base:bounds[t + 1] - base], weights_of, values_of, dfl)
                fw.finish_term()
            t = u
        fw.finish_field()


def _add_term_postings(pw, docs: list[int], vs: list[int], weights_of, values_of, dfl) -> None:
    """``pw.add_posting(docnum, weight, value, length)`` for a term's postings, a block at a
    time (W3PostingsWriter's private block buffer and statistics, as ``add_posting`` keeps
    them; the type checks are left out: the pool's postings are ints, floats and bytes)."""
    n, i = len(docs), 0
    limit = pw._blocklimit
    while i < n:
        if len(pw._ids) >= limit:
            pw._write_block()
        j = min(n, i + limit - len(pw._ids))
        part = vs[i:j] if i or j < n else vs
        pw._ids.extend(docs[i:j] if i or j < n else docs)
        w = [weights_of[v] for v in part]
        pw._weights.extend(w)
        top = max(w)
        if top > pw._maxweight:
            pw._maxweight = top
        pw._values.extend([x for x in map(values_of.__getitem__, part) if x])
        ls = [x for x in map(dfl, docs[i:j]) if x]
        if ls:
            low, high = min(ls), max(ls)
            if pw._minlength is None or low < pw._minlength:
                pw._minlength = low
            if high > pw._maxlength:
                pw._maxlength = high
        i = j


class _TabledLengths:
    """The per-document reader that ``SegmentWriter._flush_segment`` hands
    ``FieldWriter.add_postings``, whose per-field length accessor becomes a list lookup (the
    same values: the list is filled by the reader's own accessor)."""

    def __init__(self, reader):
        self._reader = reader

    def __bool__(self) -> bool:
        return bool(self._reader)

    def __getattr__(self, name):
        return getattr(self._reader, name)

    def doc_field_length_reader(self, fieldname, default=0):
        get = self._reader.doc_field_length_reader(fieldname, default)
        return [get(d) for d in range(self._reader.doc_count_all())].__getitem__


# -- documents ---------------------------------------------------------------------------------
class FastText:
    """A faster equivalent of ``field.index`` + adding the postings to the pool, for a text field
    of our schema, in two steps: :meth:`terms` analyzes a value (pure: it may run in another
    process, see :func:`analyzed_documents`), :meth:`add` puts the result into the pool.

    ``kind`` is ``positions`` (a ``TEXT`` field analyzed by :class:`~kb.text.SinergiTokenizer`
    with Whoosh's ``Positions`` format; ``arg`` is the language) or ``frequency`` (a field
    analyzed by ``RegexTokenizer | LowercaseFilter`` with Whoosh's ``Frequency`` format, the
    ``words`` field; ``arg`` is the compiled expression). ``fb`` is the format's field boost and
    ``encode`` its position encoder."""

    __slots__ = ("kind", "arg", "fb", "encode")

    def __init__(self, kind: str, arg, fb: float = 1.0, encode=None):
        self.kind, self.arg, self.fb, self.encode = kind, arg, fb, encode

    @property
    def spec(self) -> tuple:
        """What :meth:`terms` needs, picklable (for an analysis process)."""
        return (self.kind, self.arg)

    def terms(self, value: str) -> tuple[dict, int]:
        """``(term -> positions or count, number of tokens)`` of ``value`` (a token's boost is
        1.0, so a term's weight is its count times the boosts, as ``word_values`` computes)."""
        return text_terms(self.kind, self.arg, value)

    def add(self, pool: CompactPostingPool, fieldname: str, docnum: int, terms: dict,
            fieldboost: float) -> None:
        if self.kind == "positions":
            pool.add_positions(fieldname, docnum, terms, self.fb, fieldboost, self.encode)
        else:
            pool.add_frequencies(fieldname, docnum, terms, self.fb, fieldboost)


def _fast_indexer(field) -> FastText | None:
    """The :class:`FastText` of a text field of our schema; None for other fields."""
    if not field.indexed or field.separate_spelling() or field.vector:
        return None
    fmt, ana = field.format, getattr(field, "analyzer", None)
    if type(fmt) is Positions and type(ana) is SinergiTokenizer:
        return FastText("positions", ana.lang, fmt.field_boost, fmt.encode)
    if (type(fmt) is Frequency and type(ana) is CompositeAnalyzer and len(ana.items) == 2
            and type(ana.items[0]) is RegexTokenizer and not ana.items[0].gaps
            and type(ana.items[1]) is LowercaseFilter):
        return FastText("frequency", ana.items[0].expression, fmt.field_boost)
    return None


# -- analysis in other processes ---------------------------------------------------------------
# Documents per batch sent to an analysis process, and the fewest documents worth starting
# processes for (a process needs about half a second to start).
ANALYSIS_BATCH = 200
PARALLEL_MIN_DOCS = 1500


def analysis_processes(count: int | None) -> int:
    """How many analysis processes an index write of ``count`` documents should use: none for a
    small write or on one core, else one per core up to 3 (the writing process mostly waits
    for them while documents are added, and works alone at commit)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or (count is not None and count < PARALLEL_MIN_DOCS):
        return 0
    return min(cores, 3)


# The pipe ends of the running analysis processes held by this process. A forked child
# closes them first (:func:`close_helper_pipes`): holding a copy of a process's input would keep
# it from seeing the end of its input until the child exits.
_HELPER_FDS: set[int] = set()


def close_helper_pipes() -> None:
    """In a forked child: close its copies of the analysis processes' pipes."""
    for fd in list(_HELPER_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELPER_FDS.clear()


class AnalysisProcesses:
    """``n`` processes running :mod:`kb.search.textworker`, fed batches in turn. A thread per process
    writes its input, so that a process blocked on writing a result never blocks this one."""

    def __init__(self, specs: dict[str, tuple], n: int):
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)  # kb importable even when not installed
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.procs: list[subprocess.Popen] = []
        self.feeds: list[queue.Queue] = []
        self.threads: list[threading.Thread] = []
        self.fds: list[int] = []
        try:
            for _ in range(n):
                proc = subprocess.Popen([sys.executable, "-m", "kb.search.textworker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env)
                self.procs.append(proc)
                self.fds += [proc.stdin.fileno(), proc.stdout.fileno()]
                _HELPER_FDS.update(self.fds)
                feed: queue.Queue = queue.Queue()
                self.feeds.append(feed)
                thread = threading.Thread(target=self._feed, args=(proc, feed), daemon=True,
                                          name="sinergi-analysis-feed")
                thread.start()
                self.threads.append(thread)
                feed.put(specs)
        except BaseException:
            self.close(kill=True)
            raise

    @staticmethod
    def _feed(proc: subprocess.Popen, feed: queue.Queue) -> None:
        try:
            while (obj := feed.get()) is not None:
                write_frame(proc.stdin, obj)
        except (BrokenPipeError, OSError, ValueError):
            pass  # the process ended: its reader sees the end of its output
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def send(self, i: int, batch: list[dict]) -> None:
        """Batch number ``i`` goes to process ``i % n``."""
        self.feeds[i % len(self.procs)].put(batch)

    def receive(self, i: int) -> list[dict]:
        """The result of batch number ``i`` (batches are answered in order per process)."""
        proc = self.procs[i % len(self.procs)]
        try:
            return read_frame(proc.stdout)
        except EOFError:
            raise RuntimeError(f"a text analysis process (kb.search.textworker) ended early "
                               f"(exit status {proc.wait()})") from None

    def close(self, kill: bool = False) -> None:
        _HELPER_FDS.difference_update(self.fds)
        for feed in self.feeds:
            feed.put(None)
        for proc in self.procs:
            if kill:
                proc.kill()
        for thread in self.threads:
            thread.join(timeout=10)
        for proc in self.procs:
            proc.stdout.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def analyzed_documents(adder: DocumentAdder, docs: Iterable[dict], processes: int
                       ) -> Iterator[tuple[dict, dict | None]]:
    """``(document, analyzed text fields)`` for ``docs``, in order. With ``processes`` > 0 the
    text fields are analyzed by that many :class:`AnalysisProcesses`, a batch at a time, while
    this process adds the documents of earlier batches; otherwise (or if no process can be
    started) the analysis is left to :meth:`DocumentAdder.add_analyzed` (None)."""
    spec = adder.analysis_spec()
    helpers = None
    if processes > 0 and spec:
        try:
            helpers = AnalysisProcesses(spec, processes)
        except OSError:
            helpers = None
    if helpers is None:
        for doc in docs:
            yield doc, None
        return
    finished = False
    try:
        it = iter(docs)
        pending: deque = deque()
        sent = 0
        while True:
            batch = list(islice(it, ANALYSIS_BATCH))
            if batch:
                helpers.send(sent, [{k: v for k, v in doc.items() if k in spec and isinstance(v, str)}
                                    for doc in batch])
                pending.append((batch, sent))
                sent += 1
            # A few batches in flight per process, no more (memory).
            while pending and (not batch or len(pending) > 2 * processes):
                done, i = pending.popleft()
                yield from zip(done, helpers.receive(i))
            if not batch:
                break
        finished = True
    finally:
        helpers.close(kill=not finished)


class DocumentAdder:
    """``SegmentWriter.add_document`` for a writer with a :class:`CompactPostingPool`: the
    same per-document and posting calls, with the text fields of our schema indexed by
    :func:`_fast_indexer` a field at a time. Fields of other kinds go through Whoosh's own
    ``field.index``; a schema with spelling or vector fields through ``add_document`` itself.
    Mirrors whoosh3 3.54.0's ``SegmentWriter.add_document`` and touches its private attributes
    (``perdocwriter``, ``docnum``, ``_added``); whoosh3 is pinned exactly."""

    def __init__(self, writer):
        if not isinstance(writer.pool, CompactPostingPool):
            raise TypeError("the writer needs a CompactPostingPool (prepare_writer)")
        self.writer = writer
        schema = writer.schema
        self._plans = {name: (field, _fast_indexer(field)) for name, field in schema.items()}
        self._whoosh = any(f.separate_spelling() or f.vector for f in schema)
        # field.index of these field types is a function of the value alone
        self._index_cache = {name: {} for name, field in schema.items()
                             if type(field) in (ID, KEYWORD, NUMERIC) and field.indexed}

    def analysis_spec(self) -> dict[str, tuple]:
        """field -> ``FastText.spec`` of the fields :meth:`add` can take analyzed."""
        if self._whoosh:
            return {}
        return {name: fast.spec for name, (_, fast) in self._plans.items() if fast is not None}

    def add(self, **fields) -> None:
        self.add_analyzed(fields, None)

    def add_analyzed(self, fields: dict, analyzed: dict | None) -> None:
        """``add(**fields)``, with the text fields in ``analyzed`` (``FastText.terms`` of their
        values, see :func:`analyzed_documents`) already analyzed."""
        w = self.writer
        if self._whoosh:
            return w.add_document(**fields)
        w._check_state()
        pool = w.pool
        perdocwriter = w.perdocwriter
        docnum = w.docnum
        docboost = w._doc_boost(fields)
        fieldnames = sorted([name for name in fields if not name.startswith("_")])
        w._check_fields(w.schema, fieldnames)

        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                plan = self._plans.get(fieldname)
                if plan is None:  # a dynamic field
                    plan = self._plans[fieldname] = (w.schema[fieldname], None)
                field, fast = plan
                length = 0
                if field.indexed:
                    fieldboost = w._field_boost(fields, fieldname, docboost)
                    if fast is not None and isinstance(value, str):
                        got = analyzed.get(fieldname) if analyzed else None
                        terms, n = got if got is not None else fast.terms(value)
                        fast.add(pool, fieldname, docnum, terms, fieldboost)
                        if field.scorable:
                            length = n
                    else:
                        scorable = field.scorable
                        cache = self._index_cache.get(fieldname)
                        if cache is None or value.__class__ not in (str, int):
                            items = field.index(value)
                        else:  # keyword, id and numeric fields: a value's terms, once
                            key = (value.__class__, value)
                            items = cache.get(key)
                            if items is None:
                                items = list(field.index(value))
                                if len(cache) < _INDEX_CACHE_SIZE:
                                    cache[key] = items
                        for tbytes, freq, weight, vbytes in items:
                            weight *= fieldboost
                            if scorable:
                                length += freq
                            pool.add((fieldname, tbytes, docnum, weight, vbytes))

                customval = fields.get(f"_stored_{fieldname}", value)
                sv = customval if field.stored else None
                perdocwriter.add_field(fieldname, field, sv, length)

                column = field.column_type
                if column and customval is not None:
                    cv = field.to_column_value(customval)
                    perdocwriter.add_column_value(fieldname, column, cv)
        except ValueError:
            perdocwriter.cancel_doc()
            raise

        perdocwriter.finish_doc()
        w._added = True
        w.docnum += 1
