"""The Whoosh search index: declared once from field specs, derived from the store.

Text fields exist once per language (``title_id`` / ``title_en`` ...): a record's text goes to
the fields of its language, and a query is analyzed for both and searched in both, so an
English query finds English records and an Indonesian query Indonesian ones, while the shared
concept tokens of :mod:`kb.text` let each meet the other where the vocabulary allows.
"""

from __future__ import annotations

import copy
import gc
import io
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
from filelock import FileLock
from whoosh import index, query
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import SegmentWriter

from ..documents import document_for
from ..gazetteer import gazetteer
from ..text import normalize, plain_text
from . import whooshfix
from .highlight import escape, highlight
from .query import Queries, filter_query, suggest, unknown_filter_values
from .ranking import LEADING_MIN_DOCS, MAX_CACHED_POSTINGS, PostingCache, Snapshot, positive_terms, top
from .results import Hit, SearchResult, facet_counts
from .specs import DEFAULT_FACETS, FACET_SPECS, FACETS, LANGS, TEXT_SPECS, build_schema
from .writer import analysis_processes, analyzed_documents, close_helper_pipes, prepare_writer

MAX_QUERY_CHARS = 1000
MAX_QUERY_WORDS = 64
MAX_HIGHLIGHT_CHARS = 5000
HIGHLIGHT_FIELDS = ("summary_", "lessons_", "body_")  # text fields a snippet is taken from, in order


class SearchIndex:
    """One Whoosh index folder: one writer at a time (a file lock), one shared searcher."""

    def __init__(self, path: Path | str):
        whooshfix.apply()
        self.path = Path(path)
        # Large writes: full segments written by forked processes while adding goes on
        # (faster, but each fork holds a copy of a pool: see _add_documents). Off by default.
        self.parallel_writes = False
        self._lock = FileLock(str(self.path) + ".lock", timeout=600)
        self._searcher = None
        self._segreaders: dict[str, SegmentReader] = {}
        self._snapshot: Snapshot | None = None
        self._text_fields = tuple(f"{spec.name}_{lang}" for lang in LANGS for spec in TEXT_SPECS)
        self._postings = PostingCache({spec.key: spec.numeric for spec in FACET_SPECS}, self.path, self._text_fields)
        self._mutex = threading.RLock()
        self.schema = build_schema()
        if not index.exists_in(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
            with self._lock:
                if not index.exists_in(self.path):
                    index.create_in(self.path, self.schema)
                    self._mark(0, 0)  # empty: it reflects no store revision, so it follows all of them
        self.ix = index.open_dir(self.path)
        self.queries = Queries(self.schema)

    def parse(self, text: str) -> query.Query:
        """``text`` as the query tree a search evaluates (:meth:`Queries.parse`)."""
        return self.queries.parse(text)

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
                def docs():
                    for d in records:
                        if d["id"] not in new_ids:
                            stale.append(d["id"])
                        yield document_for(d)

                n = _add_documents(w, docs(), count, progress, self.ix, self.parallel_writes)
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
                _commit(w)
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
                n = _add_documents(w, map(document_for, records), count, progress, self.ix,
                                   self.parallel_writes)
                if applied is not None:
                    self._mark(w.generation, applied)
                _commit(w, optimize=True)
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
        """Make the first searches as fast as later ones (a serving process calls this in a
        background thread; searches go on meanwhile: the lock is taken per step). Each large
        segment's decoded postings are mapped, written first by the first process to get there
        (:mod:`kb.search.decoded`); the postings of the most frequent terms of the other segments
        are loaded into this process's cache; then the words that spelling suggestions choose
        from. Returns the number of postings made ready."""
        budget = int(max_postings if max_postings is not None else MAX_CACHED_POSTINGS * 0.9)
        with self._mutex:
            snap = self.snapshot()
        loaded = 0
        plans = []
        for segreader, _, data in snap.parts:
            if self._snapshot is not snap:  # a commit replaced the view: stop here
                return loaded
            if self._postings.decode(segreader, data):  # (outside the search lock: it may take long)
                loaded += data.decoded.postings
                if progress:
                    progress(data.decoded.postings)
            else:
                plans.append((segreader, data, self._postings.warm_plan(segreader, self._text_fields)))
        terms = ((segreader, data, name, btext) for segreader, data, plan in plans for _, name, btext in plan)
        cached = 0
        for segreader, data, name, btext in terms:
            if cached >= budget:
                break
            with self._mutex:
                if self._snapshot is not snap:
                    return loaded
                ids = self._postings.postings_of(segreader, data, name, btext)[0]
            cached += ids.size
            if progress:
                progress(ids.size)
        loaded += cached
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
        q = self.queries.parse(text) if text else query.Every()
        if q is query.NullQuery or not any(True for _ in q.leaves()):  # only stop words or punctuation
            q = query.Every()
        scores, mask = snap.evaluate(q)
        filt = filter_query(filters or {}, year_from, year_to)
        notes += [{"code": "unknown_value", "values": {"facet": key, "value": value}}
                  for key, value in unknown_filter_values(filters or {})]
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
            suggestion = suggest(text, snap.vocab())
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
            frag = escape(summary[:240] + ("…" if len(summary) > 240 else ""))
        return Hit(id=f["id"], kind=f.get("kind", "case"), title=f.get(f"title_{lang}", ""), score=score,
                   regions=gazetteer().refs((f.get("region") or "").split(",")),
                   sectors=[x for x in (f.get("sector") or "").split(",") if x], start_year=f.get("year"),
                   status=f.get("status"), language=lang, highlight=frag)

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


# The posting pool's memory budget per segment (MB), and the share of it at which a large write
# goes on in a new segment. Forked writes (``parallel``) keep smaller pools: a forked child
# holds the pool it writes while this process fills the next one.
POOL_MB = 256
FORKED_POOL_MB = 128
NEXT_SEGMENT_AT = 0.9


def _add_documents(writer, docs: Iterable[dict], count: int | None, progress, ix, parallel: bool = False) -> int:
    """Add ``docs`` through the fast segment writer (:mod:`kb.search.writer`), analysing their
    text in other processes when there are many (``count``); ``progress(1)`` per document.

    A write too large for one pool's memory budget goes on in further segments instead of
    spilling postings to disk: when a pool is nearly full, its segment is written whole from
    memory by the fast path, and the next documents go to a new segment; ``writer``'s commit
    lists them all (:func:`_commit`). Spilled runs are merged back and written a posting at a
    time, several times slower per posting than a segment written from memory.

    ``parallel``, in a large write (one with analysis processes): the documents go to segments
    of their own from the start, and a full segment is written by a forked copy of this process
    while this one goes on adding (:class:`_ForkedPart`). Writing segments is ~38% of a
    100,000-record import, with the analysis processes idle meanwhile; forked, the import is
    ~1.5x faster, but the child's copy-on-write pages (reference counts touched in every object
    it reads) about double the peak memory. See docs/performance.md."""
    forked = parallel and analysis_processes(count) > 0 and hasattr(os, "fork")
    pool_mb = FORKED_POOL_MB if forked else POOL_MB
    adder = prepare_writer(SegmentWriter(ix, _lk=False, limitmb=pool_mb) if forked else writer, pool_mb)
    writer.sinergi_segments = []
    pending: _ForkedPart | None = None
    n = 0
    try:
        with _no_cycle_collection() if forked else nullcontext():
            for doc, analyzed in analyzed_documents(adder, docs, analysis_processes(count)):
                adder.add_analyzed(doc, analyzed)
                n += 1
                if progress:
                    progress(1)
                if not n & 63 and getattr(adder.writer.pool, "filled", lambda: 0.0)() >= NEXT_SEGMENT_AT:
                    if forked:
                        if pending is not None:  # one at a time: it has had a pool's time to finish
                            writer.sinergi_segments.append(pending.segment())
                        pending = _ForkedPart.start(adder.writer)
                    else:
                        _finish_part(writer, adder.writer)
                    adder = prepare_writer(SegmentWriter(ix, _lk=False, limitmb=pool_mb), pool_mb)
                    if forked:
                        gc.collect()  # a finished writer's pool is in reference cycles
        last = None
        if adder.writer is not writer and adder.writer._added:
            # written here while a forked child writes the previous segment
            last = adder.writer._finalize_segment()
        if pending is not None:
            writer.sinergi_segments.append(pending.segment())
            pending = None
        if last is not None:
            writer.sinergi_segments.append(last)
    except BaseException:
        if adder.writer is not writer:  # the writer's own files are closed by its cancel
            try:
                adder.writer._close_segment()
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
        raise
    finally:
        if pending is not None:  # a failure on the way: the child's segment is never listed
            pending.abandon()
    if adder.writer is not writer and last is None:  # no documents (its temporary folder is
        adder.writer._close_segment()  # the writer's, removed at its end)
    return n


class _ForkedPart:
    """A helper writer's segment written by a forked child of this process, which sends the
    finished segment's description back through a pipe.

    The child inherits the writer's open files. They are flushed before the fork, so this
    process's copies of them hold nothing to write when they are closed after the child is done;
    this process never writes to them again, and keeps the writer (its pool's memory shared with
    the child, page for page) until then. The child touches nothing else, and leaves with
    ``os._exit`` (no buffers of this process's other files are flushed twice)."""

    def __init__(self, pid: int, fd: int, part, files: list):
        self.pid, self.fd, self.part, self.files = pid, fd, part, files

    @classmethod
    def start(cls, part) -> _ForkedPart:
        # The part's files: its segment's, and the temporary file of its per-document columns.
        own = [part.newsegment.segment_id()]
        columns = getattr(getattr(part, "perdocwriter", None), "_cols", None)
        if getattr(columns, "_tempname", None):
            own.append(columns._tempname)
        files = []
        for obj in gc.get_objects():
            if type(obj) in (io.BufferedWriter, io.BufferedRandom) and not obj.closed \
                    and any(o in os.path.basename(str(getattr(obj, "name", ""))) for o in own):
                obj.flush()  # (only these: another thread may be blocked writing to a pipe)
                files.append(obj)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: write the segment, report it, leave without any clean-up
            code = 1
            try:
                os.close(r)
                close_helper_pipes()
                data = pickle.dumps(part._finalize_segment(), protocol=pickle.HIGHEST_PROTOCOL)
                view = memoryview(data)
                while view:
                    view = view[os.write(w, view):]
                code = 0
            except BaseException:  # noqa: BLE001 - reported by the parent from the exit status
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(w)
        # The child has the pool: this process frees its copy now, not when the child is done
        # (two pools at once otherwise; freeing copies the pages of the objects it frees, whose
        # memory the next pool reuses).
        part.pool._reset()
        return cls(pid, r, part, files)

    def _release(self) -> None:
        """Close this process's copies of the part's files (empty buffers: nothing is written)."""
        for f in self.files:
            try:
                f.close()
            except (OSError, ValueError):
                pass
        self.files, self.part = [], None

    def segment(self):
        """The written segment (waits for the child); an error if the child failed."""
        chunks = []
        try:
            while chunk := os.read(self.fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(self.fd)
            pid, self.pid = self.pid, None
            _, status = os.waitpid(pid, 0)
            self._release()
        if status != 0 or not chunks:
            raise OSError(f"writing a segment of the search index in process {pid} failed "
                          f"(exit status {status}); see the messages above")
        return pickle.loads(b"".join(chunks))

    def abandon(self) -> None:
        """End the child unless :meth:`segment` has waited for it already."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass
        os.waitpid(self.pid, 0)
        self.pid = None
        self._release()


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while documents are added for forked segment writes:
    every few hundred allocations a collection would walk the objects of the pool being written
    by the child, and copy the pages it touches. A finished part's pool is collected
    explicitly."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _finish_part(writer, part) -> None:
    """Write the segment of ``part`` (``writer`` itself or a helper writer) and list it for
    ``writer``'s commit. Private whoosh3 ``SegmentWriter`` methods and ``_added``."""
    writer.sinergi_segments.append(part._finalize_segment())
    if part is writer:
        writer._added = False  # its documents are in the listed segment: the commit only closes it


MERGE_FACTOR = 10       # a write merges this many segments of one size class,
MERGE_MAX_DOCS = LEADING_MIN_DOCS  # each under this many documents (larger ones are never merged by a write)


def _doc_count(segment) -> int:
    return segment.doc_count_all()


def _size_class(docs: int) -> int:
    """1–9 documents: 0, 10–99: 1, 100–999: 2, ..."""
    return len(str(max(docs, 1))) - 1


def merge_small_segments(writer, segments: list) -> list:
    """The merge policy of every write but ``optimize`` (in place of Whoosh's ``MERGE_SMALL``):
    once ``MERGE_FACTOR`` segments under ``MERGE_MAX_DOCS`` documents are of one size class
    (1–9, 10–99, 100–999 documents), they are merged into the new segment, the smallest class
    first. A saved record is thus merged at most three times, and a save never rewrites a large
    segment. Whoosh's policy chooses by a running total that small segments can push past its
    bound, and then merges every segment: at 100,000 records, after a few hundred saves, one
    save rewrote the whole index (minutes with the write lock held; the other saves were
    refused). Segments of saves grow to ~``MERGE_MAX_DOCS`` documents and stay; ``sinergi
    reindex`` writes the index anew in large segments."""
    classes: dict[int, list] = {}
    for seg in segments:
        if _doc_count(seg) < MERGE_MAX_DOCS:
            classes.setdefault(_size_class(_doc_count(seg)), []).append(seg)
    chosen = next((sorted(group, key=_doc_count)[:MERGE_FACTOR] for _, group in sorted(classes.items())
                   if len(group) >= MERGE_FACTOR), None)
    if not chosen:
        return segments
    for seg in chosen:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    merged = {seg.segment_id() for seg in chosen}
    return [seg for seg in segments if seg.segment_id() not in merged]


def _commit(writer, **kw) -> None:
    """``writer.commit(**kw)`` (merging by :func:`merge_small_segments` unless ``kw`` says
    otherwise), with the segments of :func:`_add_documents` listed in the new generation after
    the ones kept. No merge then: the writer's own segment, which a merge would add to, may
    already be written. Touches whoosh3's ``SegmentWriter._commit_toc``."""
    extra = getattr(writer, "sinergi_segments", [])
    if not extra:
        if not kw:
            kw = {"mergetype": merge_small_segments}
        writer.commit(**kw)
        return
    commit_toc = writer._commit_toc
    # (segments never listed, after a failure, are removed by the next commit's clean-up)
    writer._commit_toc = lambda segments: commit_toc(list(segments) + extra)
    writer.commit(merge=False)
