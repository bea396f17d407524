"""The recommender's model over its life: loaded, kept in step with the store, refitted, saved.

:class:`ModelHolder` owns the model of one instance in one process; readers ask it for a
:class:`Snapshot` and answer from that alone. The rules it keeps:

- **The saved model.** ``models/recommender.joblib`` holds a full fit, the store head it reflects
  (records and head read in one snapshot of the store), the records' slim forms (packed:
  :mod:`recommender.records`) and the cases of each region. Its arrays (the model's matrix and
  its column copy, the packed records) are memory-mapped when loaded, so every worker on the
  machine reads the same pages of the operating system's page cache. Only a full
  fit writes it (:meth:`ModelHolder.refit`, in this process or in the refit process), to a
  temporary file that then replaces it, so a reader sees a whole file, old or new. Patches are
  never saved. A file of another ``MODEL_FORMAT`` (or unreadable) counts as no file.
- **Following the store.** A snapshot is of the store's current head: a reader that finds the
  head moved patches the model with the records changed since (changed rows transformed with
  the fitted vocabulary, superseded rows masked: milliseconds). One catch-up at a time; a second
  reader waits for it and finds the head caught up.
- **Stale.** More than ``PATCH_LIMIT`` records changed at once (a bulk import by another
  process), or the store's head went back (a rebuilt store): the model is not patched. The
  snapshot is then ``stale``: it carries ``superseded``, the ids of the fitted records changed
  since the fit (read from the revision log: as many as changed, not as many as there are), its
  records and regions are only the others, and a reader leaves out every superseded row. So a
  record deleted or edited since the fit is never answered in its old form; a record new since
  then is missing until the refit is in.
- **Refits.** Once enough rows are patched (``REFIT_MIN_ROWS`` and ``REFIT_SHARE`` of the
  fitted rows), the oldest patch is ``REFIT_AFTER_S`` old, or the snapshot is stale, a serving
  holder starts a full refit in a separate process at the lowest priority (``SCHED_IDLE``) and loads
  what it saves. One refit process per instance at a time (``models/refit.lock``); a process
  that finds it taken gets the other's result by watching the saved file.
- **Watching the saved file.** Every read compares the file's mtime with the one this holder
  last read or wrote; a newer file (another worker's refit, ``sinergi reindex``) is loaded in a
  background thread and replaces the model when its head is not older than the fit in use.
- **Readers never wait for a fit.** A fit runs in the refit process, or in a caller that asked
  for it (:meth:`ModelHolder.refit`: ``init``, ``import``, ``reindex``, a server's first start).
- **No usable saved model** (the file removed, or saved by a release with another format; an
  instance made by ``init`` or a server's first start always has one): the first read of a
  process loads nothing. A serving holder (``background_refit=True``) starts the fit in the
  refit process and raises :class:`ModelNotReady` (an ``Unavailable``: 503 with
  ``Retry-After`` on the web) until the fit is saved and loaded, rather than holding a request
  for as long as a fit takes (on a large corpus, longer than a worker may spend on a request).
  A holder without background refits (the command line, the refit process) fits at once in
  the caller, and refits there when a snapshot would be stale.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import joblib
import numpy as np
from filelock import FileLock, Timeout

from kb.base import KnowledgeBase
from kb.errors import Unavailable

from .legal import STEP_STEMS_KEYS, step_stems
from .model import CaseSimilarity
from .records import AnswerRecords, PackedRecords, RecordsView

log = logging.getLogger(__name__)

MODEL_FILE = "recommender.joblib"
MODEL_FORMAT = 6              # bump when the saved model's shape changes (older files are refitted)
PATCH_LIMIT = 500             # more changed records than this at once: stale until the refit is in
REFIT_MIN_ROWS = 50           # refit in the background once this many rows were patched,
REFIT_SHARE = 0.05            # and this share of the fitted rows,
REFIT_AFTER_S = 600.0         # or once the oldest patch is this old (new words then count)
SLIM_KEYS = ("id", "kind", "title", "status", "regions", "sectors", "lessons", "challenges", "start_year",
             "language", "version", "mechanism", "third_parties")


class ModelNotReady(Unavailable):
    """No fitted model in this process yet; its fit runs in the refit process."""

    code = "model_not_ready"


@dataclass(frozen=True)
class Snapshot:
    """What a reader answers from, as of one store head. Never changed once made (the holder
    makes a new one for every change), so a reader may hold it for a whole answer.

    ``records``: the slim form of every record the model may answer with, by id;
    ``cases_by_region``: the ids of the cases each region takes part in. ``stale`` and
    ``superseded``: see the module's rules; ``superseded`` is None when not stale."""

    model: CaseSimilarity
    head: int
    records: RecordsView | AnswerRecords
    cases_by_region: Mapping[str, list[str]]
    stale: bool = False
    superseded: frozenset[str] | None = None
    live_rows: np.ndarray | None = None  # stale: 1 per model row still its record as it is, 0 if superseded

    def for_answer(self) -> Snapshot:
        """This snapshot for one answer: its records decoded once each (see
        :class:`~recommender.records.AnswerRecords`)."""
        return replace(self, records=AnswerRecords(self.records))

    def is_live(self, record_id: str) -> bool:
        """Whether the model's row of ``record_id`` is the record as it is (always, unless stale)."""
        return self.superseded is None or record_id not in self.superseded


def slim(rec: dict) -> dict:
    """The fields of a record that answers show, and the step stems of its lessons and
    challenges (see :func:`recommender.legal.step_stems`)."""
    out = {k: rec[k] for k in SLIM_KEYS if k in rec}
    lang = rec.get("language") or "id"
    for kind, key in STEP_STEMS_KEYS.items():
        if rec.get(kind):
            out[key] = [step_stems(text, lang) for text in rec[kind]]
    return out


def _without(base: Snapshot, ids) -> tuple[RecordsView, dict[str, list[str]]]:
    """``base``'s records and a copy of its regions' case lists without ``ids``. Older snapshots
    keep theirs: a region's list is copied before it changes."""
    ids = list(ids)
    gone: dict[str, set[str]] = defaultdict(set)  # each region's list is rebuilt once
    for rid in ids:
        old = base.records.get(rid)
        if old and old["kind"] == "case":
            for code in old.get("regions", []):
                gone[code].add(rid)
    by_region = dict(base.cases_by_region)
    for code, rids in gone.items():
        if code in by_region:
            by_region[code] = [x for x in by_region[code] if x not in rids]
    return base.records.without(ids), by_region


def _by_region(records: Mapping[str, dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for rid, rec in records.items():
        if rec["kind"] == "case":
            for code in rec.get("regions", []):
                out[code].append(rid)
    return dict(out)


def fit_store(kb: KnowledgeBase) -> tuple[CaseSimilarity, int, dict[str, dict]]:
    """A full fit of the published records: ``(model, head, slim records)``, read in one
    snapshot of the store, so the head is exactly what the model reflects."""
    with kb.store.read_snapshot() as conn:
        head = kb.store.head_in(conn)
        records = list(kb.store.iter_data_in(conn))
    return CaseSimilarity().fit(records), head, {r["id"]: slim(r) for r in records}


class ModelHolder:
    """The model of one instance in this process (see the module's rules)."""

    def __init__(self, kb: KnowledgeBase, *, background_refit: bool = True):
        self.kb = kb
        self.background_refit = background_refit
        self._patching = threading.Lock()   # one catch-up or swap of the model at a time
        self._fitting = threading.Lock()    # one fit in this process at a time
        self._threads = threading.Lock()    # starts the loader and the refit thread
        self._current: Snapshot | None = None
        self._base: Snapshot | None = None  # the model patched up to its head (never stale)
        self._fit_head = -1                 # the store head of the full fit in use
        self._patched_at: float | None = None
        self._saved_mtime: int | None = None  # of the saved file this holder last read or wrote
        self._loader: threading.Thread | None = None
        self._refitter: threading.Thread | None = None

    @property
    def path(self) -> Path:
        return self.kb.home / "models" / MODEL_FILE

    # -- reading -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The model as of the store's current head (patched, or stale), never waiting for a
        fit. Raises :class:`ModelNotReady` when a serving holder has no model yet."""
        snap = self._current
        if snap is None:
            snap = self._first()
        self._watch_saved()
        if self.kb.store.head() != snap.head:
            snap = self._catch_up()
        if self.background_refit and self._refit_due(snap):
            self.refit_in_background()
        return snap

    def load(self) -> bool:
        """Load the saved model now unless one is in memory (a worker's warm-up); without a
        usable one, a serving holder starts its fit in the background. Whether a model is ready."""
        try:
            self.snapshot()
        except ModelNotReady:
            return False
        return True

    def _first(self) -> Snapshot:
        with self._patching:
            if self._current is None:
                saved, mtime = self._read_saved()
                self._saved_mtime = mtime
                if saved is not None:
                    saved["model"].prepare()
                    self._install(saved["model"], saved["head"], RecordsView(saved["records"]),
                                  saved["by_region"])
        if self._current is not None:
            return self._current
        if not self.background_refit:
            self.refit()
            return self._current
        self.refit_in_background()
        raise ModelNotReady("the recommender's model is being fitted; try again in a minute")

    def _catch_up(self) -> Snapshot:
        """Patch the model with the records changed since its head, or make a stale snapshot
        when too many changed; the current snapshot either way."""
        with self._patching:
            head = self.kb.store.head()  # another thread may have caught up meanwhile
            current, base = self._current, self._base
            if head == current.head:
                return current
            changes = None
            # (A stale snapshot of this fit stays stale until a refit: the records changed since
            # the fit only grow in number, so they are not read again to find out.)
            if base.model.base_rows_ and head >= base.head and not (current.stale and current.model is base.model):
                changes = self.kb.store.changes_since(base.head, limit=PATCH_LIMIT)
            if changes is not None:
                self._current = self._base = self._patched(base, head, changes)
                if self._patched_at is None:
                    self._patched_at = time.monotonic()
                return self._current
        if not self.background_refit:
            self.refit()
            return self._current
        with self._patching:
            if self._current is current:  # no newer model came in meanwhile
                self._current = self._stale(base, current)
            stale = self._current
        self.refit_in_background()
        return stale

    @staticmethod
    def _patched(base: Snapshot, head: int, changes: list[dict]) -> Snapshot:
        published = [c for c in changes if c["state"] == "published"]
        removed = [c["id"] for c in changes if c["state"] != "published"]
        model = base.model.with_changes(published, removed)
        records, by_region = _without(base, removed + [c["id"] for c in published])
        records = records.adding({c["id"]: slim(c) for c in published})
        for c in published:
            if c["kind"] == "case":
                for code in c.get("regions", []):
                    by_region[code] = by_region.get(code, []) + [c["id"]]
        return Snapshot(model, head, records, by_region)

    def _stale(self, base: Snapshot, previous: Snapshot | None = None) -> Snapshot:
        """``base`` as of the store's head without patching: only the rows still live. Every
        stored change gives a record a new version, so the rows superseded are those of the
        records changed since ``base.head`` (a store whose head went back: those whose version
        differs). Runs at each new head while stale, so it narrows ``previous``, the stale
        snapshot of an earlier head of the same fit, by the records changed since that head
        only: its cost follows the changes since that head, not all changes since the fit."""
        versions = base.model.versions_
        with self.kb.store.read_snapshot() as conn:
            head = self.kb.store.head_in(conn)
            narrow = (previous is not None and previous.stale and previous.model is base.model
                      and previous.live_rows is not None and base.head <= previous.head <= head)
            if narrow:
                changed = self.kb.store.changed_ids_in(conn, previous.head)
            elif head >= base.head:
                changed = self.kb.store.changed_ids_in(conn, base.head)
            else:
                live = self.kb.store.versions_in(conn)
                changed = [rid for rid in versions if live.get(rid) != versions[rid]]
        newly = frozenset(rid for rid in changed if rid in versions)
        if narrow:
            newly -= previous.superseded
            superseded = previous.superseded | newly
            records, by_region = _without(previous, newly)
            live = previous.live_rows.copy() if newly else previous.live_rows
        else:
            superseded = newly
            records, by_region = _without(base, superseded)
            live = np.ones(len(base.model.ids_), dtype=np.float32)
        rows = [i for i in map(base.model.index_.get, newly) if i is not None]
        live[rows] = 0.0
        return Snapshot(base.model, head, records, by_region, stale=True, superseded=superseded, live_rows=live)

    def _refit_due(self, snap: Snapshot) -> bool:
        if snap.stale:
            return True
        patched = snap.model.patched_rows_
        if not patched:
            return False
        due = patched >= max(REFIT_MIN_ROWS, REFIT_SHARE * snap.model.base_rows_)
        old = self._patched_at is not None and time.monotonic() - self._patched_at > REFIT_AFTER_S
        return due or old

    # -- the saved file --------------------------------------------------------------------------
    def _mtime(self) -> int | None:
        try:
            return os.stat(self.path).st_mtime_ns
        except OSError:
            return None

    def _read_saved(self) -> tuple[dict | None, int | None]:
        mtime = self._mtime()
        if mtime is None:
            return None, None
        try:
            saved = joblib.load(self.path, mmap_mode="r")  # arrays shared through the page cache
        except Exception:  # an unreadable or foreign file: as if none
            return None, mtime
        if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
            return None, mtime
        return saved, mtime

    def _watch_saved(self) -> None:
        """A newer saved file: load it in a background thread (readers go on meanwhile)."""
        mtime = self._mtime()
        if mtime is None or mtime == self._saved_mtime:
            return
        with self._threads:
            if self._loader is not None and self._loader.is_alive():
                return
            self._loader = threading.Thread(target=self._reload_saved, name="sinergi-model-load", daemon=True)
            self._loader.start()

    def _reload_saved(self) -> None:
        saved, mtime = self._read_saved()
        if saved is not None:
            saved["model"].prepare()  # here, not in the first request after the swap
        with self._patching:
            self._saved_mtime = mtime
            if saved is not None:
                self._install(saved["model"], saved["head"], RecordsView(saved["records"]), saved["by_region"])

    def _install(self, model: CaseSimilarity, head: int, records: RecordsView,
                 by_region: Mapping[str, list[str]]) -> None:
        """Inside ``_patching``: a full fit (prepared) becomes the model, unless the fit in use is
        newer."""
        if head < self._fit_head:
            return
        self._current = self._base = Snapshot(model, head, records, by_region)
        self._fit_head = head
        self._patched_at = None

    def _save(self, model: CaseSimilarity, head: int, records: dict[str, dict],
              by_region: dict[str, list[str]]) -> int | None:
        """Write the saved file (whole, by replacing it); its new mtime. The model is saved
        prepared (with its column copy), so that loading maps that too."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        model.prepare()
        joblib.dump({"format": MODEL_FORMAT, "model": model, "head": head, "records": PackedRecords(records),
                     "by_region": by_region}, tmp)
        tmp.replace(self.path)
        return self._mtime()

    # -- refits ----------------------------------------------------------------------------------
    def refit(self, *, install: bool = True) -> None:
        """Fit now in this thread and save, unless the model is a fresh fit of the store's
        current head (one fit at a time; a second caller waits and then finds it fresh).
        ``install``: also answer with it here (the refit process only saves)."""
        with self._fitting:
            base = self._base
            if install and base is not None and base.head == self._fit_head == self.kb.store.head() \
                    and not base.model.patched_rows_:
                return
            model, head, records = fit_store(self.kb)
            by_region = _by_region(records)
            mtime = self._save(model, head, records, by_region)  # (prepares the model)
            if install:
                with self._patching:
                    self._saved_mtime = mtime
                    self._install(model, head, RecordsView(changed=records), by_region)

    def refit_in_background(self) -> bool:
        """Start a full refit in a separate process unless one runs from here already (a serving
        holder only). Whether one was started."""
        if not self.background_refit:
            return False
        with self._threads:
            if self._refitter is not None and self._refitter.is_alive():
                return False
            self._refitter = threading.Thread(target=self._refit_elsewhere, name="sinergi-refit", daemon=True)
            self._refitter.start()
            return True

    def _refit_elsewhere(self) -> None:
        """Fit in a child process (its own interpreter and core), then load what it saved. When
        another process holds the instance's refit lock, its result comes by the watched file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path.with_name("refit.lock")))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return
        try:
            ctx = multiprocessing.get_context("spawn")
            proc = ctx.Process(target=_fit_and_save, args=(str(self.kb.home), self.kb.store.url), daemon=True)
            proc.start()
            proc.join()
        finally:
            lock.release()
        if proc.exitcode is None or proc.exitcode < 0:  # ended by a signal: a stopping server ends it
            log.info("background refit stopped before it finished (signal %s); the next start refits",
                     -(proc.exitcode or 0) or "?")
        elif proc.exitcode != 0:
            log.warning("background refit failed (exit code %s); patching goes on", proc.exitcode)
            return
        self._reload_saved()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for this holder's background refit and load to end (tests, an orderly stop).
        Whether none is running any more."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for attr in ("_refitter", "_loader"):
            thread = getattr(self, attr)
            if thread is not None:
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t is not None and t.is_alive() for t in (self._refitter, self._loader))


def _lowest_priority() -> None:
    """The serving processes come first: on Linux this process runs only when a core has
    nothing else to run (``SCHED_IDLE``); elsewhere at ``nice`` 19 (figures in
    docs/performance.md)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return
    except (AttributeError, OSError):
        pass
    try:
        os.nice(19)
    except OSError:
        pass


def _fit_and_save(home: str, database_url: str) -> None:
    """Runs in the refit process: fit the model of the instance at ``home`` and save it."""
    _lowest_priority()
    kb = KnowledgeBase(home, create=False, database_url=database_url)
    ModelHolder(kb, background_refit=False).refit(install=False)
