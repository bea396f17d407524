"""The knowledge base: one instance folder holding the store, the index and derived models.

Writes go to the store first (one transaction, with revisions); only after the commit is the
index updated, so the index is always a derived copy that ``reindex`` can rebuild.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from filelock import Timeout as LockTimeout

from .access import Actor, as_actor, check_change, check_create, may_read
from .errors import Conflict, Forbidden, ImportFailed, InstanceError, Invalid, NotFound, RecordProblem
from .search import SearchIndex
from .io import RawRecord, export_csv, export_jsonl, export_xlsx, iter_file
from .schema import validate_record
from .store import Store

FOLLOW_EVERY_S = 0.2  # how often a search may check that the index follows the store
CORPUS_GLOBS = ("cases/*.jsonl", "practices/*.jsonl", "guides/*.md", "guides/*.txt")


def resolve_home(home: str | os.PathLike | None) -> Path:
    """The instance folder: ``home``, else ``$SINERGI_HOME``, else ``./instance``."""
    value = home or os.environ.get("SINERGI_HOME") or "instance"
    return Path(value).expanduser().resolve()


def bundled_corpus_dir() -> Path:
    """``$SINERGI_CORPUS`` when set, else the bundled corpus: the ``corpus`` package
    (``corpus/`` of the repository), found by import so that a wheel carries it too."""
    env = os.environ.get("SINERGI_CORPUS")
    if env:
        return Path(env)
    try:
        import corpus

        return corpus.folder()
    except (ImportError, RuntimeError) as e:
        raise InstanceError(f"cannot find the bundled corpus ({e}); set SINERGI_CORPUS to a corpus folder") from e


def _folder_database_url(home: Path) -> str:
    return f"sqlite:///{home / 'sinergi.db'}"


def default_database_url(home: Path) -> str:
    """The store of an instance folder created without ``DATABASE_URL``: a SQLite file in it."""
    return _folder_database_url(home)


def instance_database_url(home: Path) -> str:
    """The database of the existing instance folder ``home`` (its settings, else its SQLite file)."""
    path = home / "settings.json"
    if not path.exists():
        raise InstanceError(f"no instance at {home}; run `sinergi init` first")
    return json.loads(path.read_text(encoding="utf-8")).get("database_url") or _folder_database_url(home)


def _safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def corpus_files(root: Path | None = None) -> list[Path]:
    """The corpus files under ``root`` (default: the bundled corpus) that ``init`` loads."""
    root = root or bundled_corpus_dir()
    files: list[Path] = []
    for pattern in CORPUS_GLOBS:
        files += sorted(root.glob(pattern))
    return files


@dataclass
class ImportReport:
    read: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False
    valid: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"read": self.read, "created": len(self.created), "updated": len(self.updated),
                "unchanged": self.unchanged, "dry_run": self.dry_run}


IMPORT_CHUNK = 1000  # records per chunk written by a streaming import (one transaction for all)

ProgressFactory = Callable[..., Any]  # tqdm-like: (desc=, total=, unit=) -> context with update(n)


class _NoBar:
    def __init__(self, **_kw):
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _spooled(spool: IO[bytes]) -> Iterator[dict]:
    spool.seek(0)
    for line in spool:
        yield json.loads(line)


def _chunks(records: Iterable[dict], size: int, progress: Callable[[int], object]) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for data in records:
        chunk.append(data)
        if len(chunk) == size:
            yield chunk
            progress(len(chunk))
            chunk = []
    if chunk:
        yield chunk
        progress(len(chunk))


class _Checker:
    """Validates records one at a time and keeps only what later checks need: for each id, where
    it was first seen (duplicates in the batch, ids already in the store)."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, int | None, bool]] = {}
        self.problems: list[RecordProblem] = []

    def check(self, raw: RawRecord) -> dict | None:
        """The canonical data of ``raw``, or None (its problems are added)."""
        data, errs = validate_record(raw.data)
        for fieldname, msg in errs:
            self.problems.append(RecordProblem(raw.source, raw.line, fieldname, msg))
        if data is None:
            return None
        first = self.seen.get(data["id"])
        if first is not None:
            where = f"{first[0]}:{first[1]}" if first[1] else first[0]
            self.problems.append(RecordProblem(raw.source, raw.line, "id",
                                               f"duplicate id {data['id']!r} (also at {where})"))
            return None
        self.seen[data["id"]] = (raw.source, raw.line, bool(isinstance(raw.data, dict) and raw.data.get("id")))
        return data

    def check_store(self, store: Store, *, upsert: bool, actor: Actor | None = None) -> None:
        """Without ``upsert``, every id seen that the store already has is a problem; with it,
        every stored record that ``actor`` may not change (:mod:`kb.access`)."""
        if upsert:
            if actor is not None and not actor.can("editor"):
                for rec in store.records(states=("published", "draft", "deleted"), ids=list(self.seen)):
                    try:
                        check_change(actor, rec)
                    except Forbidden as e:
                        source, line, _given = self.seen[rec["id"]]
                        self.problems.append(RecordProblem(source, line, "id", str(e)))
            return
        for rid in sorted(store.existing_ids(self.seen)):
            source, line, given = self.seen[rid]
            msg = (f"id {rid!r} already exists (use --upsert to update it)" if given else
                   f"the id {rid!r} generated from the title already exists; give the record its own id")
            self.problems.append(RecordProblem(source, line, "id", msg))


class KnowledgeBase:
    """The store, index and settings of one instance folder."""

    def __init__(self, home: str | os.PathLike | None = None, *, create: bool = True,
                 database_url: str | None = None, write_wait: float | None = None, upgrade: bool = False):
        """``write_wait``: how long (seconds) a write may wait for another writer of the store
        and for the index lock (``None``: as long as a command-line job may: a minute for the
        store, ten for the index). A record stored while the index was busy is indexed by the
        next catch-up (:meth:`catch_up`), which every writer and ``serve`` run.

        ``upgrade``: migrate a database at an older schema revision to this version's (else
        such a database is an :class:`InstanceError`; see :class:`~kb.store.Store`)."""
        self.home = resolve_home(home)
        if not self.home.exists():
            if not create:
                raise InstanceError(f"no instance at {self.home}; run `sinergi init` first")
            self.home.mkdir(parents=True)
        if not self.home.is_dir():
            raise InstanceError(f"{self.home} is not a folder")
        self.settings = self._settings(database_url or os.environ.get("DATABASE_URL"))
        url = self.settings.get("database_url") or _folder_database_url(self.home)
        if database_url and database_url != url or os.environ.get("DATABASE_URL") not in (None, "", url):
            raise InstanceError(f"the instance at {self.home} keeps its records in {_safe_url(url)}, not in "
                                f"{_safe_url(database_url or os.environ['DATABASE_URL'])}: an index follows "
                                "exactly one store (make a new instance folder for another database)")
        self.store = Store(url, write_timeout=60.0 if write_wait is None else write_wait, upgrade=upgrade)
        self.index = SearchIndex(self.home / "index")
        self.write_wait = write_wait
        self._followed = float("-inf")

    def close(self) -> None:
        """Close the store's connections (the instance can still be used; it reconnects)."""
        self.store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- settings ---------------------------------------------------------------------------
    def _settings(self, database_url: str | None) -> dict:
        """The instance's settings (``settings.json``, mode 600): its secret key and, when it was
        created with another database than the SQLite file inside it, that database's URL (so a
        copy of the folder keeps its own SQLite file)."""
        path = self.home / "settings.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        settings = {"secret_key": secrets.token_hex(32)}
        database_url = database_url or default_database_url(self.home)
        if database_url != _folder_database_url(self.home):
            settings["database_url"] = database_url
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(settings, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # first writer wins when two processes start together
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
        return json.loads(path.read_text(encoding="utf-8"))

    @property
    def is_initialized(self) -> bool:
        return (self.home / "initialized").exists()

    def mark_initialized(self) -> None:
        (self.home / "initialized").write_text("1\n")

    # -- importing --------------------------------------------------------------------------
    def read_files(self, paths: Iterable[str | Path]) -> tuple[list[RawRecord], list[RecordProblem]]:
        """Every record of ``paths`` in memory, with the problems of the files (the web and
        tests; the command line streams with :meth:`import_files`)."""
        raws, problems = [], []
        taken: set[str] = set()
        for p in paths:
            for item in iter_file(p, taken_ids=taken):
                (problems if isinstance(item, RecordProblem) else raws).append(item)
        return raws, problems

    def validate(self, raws: list[RawRecord], *, upsert: bool,
                 actor: Actor | None = None) -> tuple[list[dict], list[RecordProblem]]:
        """Validate raw records; also duplicate ids in the batch and against the store, and
        (for ``actor``) whether they may change the stored records they would update."""
        checker = _Checker()
        valid = [data for raw in raws if (data := checker.check(raw)) is not None]
        if valid:
            checker.check_store(self.store, upsert=upsert, actor=actor)
        return valid, checker.problems

    def import_raw(self, raws: list[RawRecord], *, upsert: bool = False, dry_run: bool = False,
                   author: Actor | str = "import",
                   file_problems: list[RecordProblem] | None = None) -> ImportReport:
        """Validate everything, then write all records in one transaction, or nothing.

        An editor's (and the command line's) records are published; a contributor's are drafts,
        and a contributor may update only their own drafts (:mod:`kb.access`)."""
        actor = as_actor(author)
        problems = list(file_problems or [])
        valid, more = self.validate(raws, upsert=upsert, actor=actor)
        problems += more
        if problems:
            raise ImportFailed(problems)
        report = ImportReport(read=len(raws), dry_run=dry_run, valid=valid)
        if dry_run:
            return report
        state = "published" if actor.can("editor") else "draft"
        try:
            created, updated = self.store.write_many(valid, author=actor.name, upsert=upsert, state=state,
                                                     guard=lambda rec: check_change(actor, rec, state))
        except (Conflict, Forbidden) as e:  # a concurrent write changed the records after we checked
            raise ImportFailed([RecordProblem("store", None, "id", str(e))]) from e
        report.created, report.updated = created, updated
        report.unchanged = len(valid) - len(created) - len(updated)
        self.catch_up(timeout=self.write_wait)
        return report

    def import_files(self, paths: Iterable[str | Path], *, upsert: bool = False, dry_run: bool = False,
                     author: Actor | str = "import", progress: ProgressFactory | None = None) -> ImportReport:
        """Import files of any size in bounded memory, all or nothing.

        Pass 1 reads every file as a stream and validates every record, keeping only the ids
        seen (duplicates, ids already in the store, records the author may not change) and the
        valid records in a spool file in the instance folder; any problem stops here with all of
        them reported. Pass 2 writes the spooled records in chunks inside one store transaction
        (the access rules checked again inside it), then the index catches up from the store.
        ``progress(desc=, total=, unit=)`` makes a progress bar (tqdm's signature) for each pass.
        ``report.valid`` stays empty here (the records are not kept in memory).
        """
        actor = as_actor(author)
        paths = [Path(p) for p in paths]
        bar = progress or _NoBar
        checker = _Checker()
        read, valid = 0, 0
        taken: set[str] = set()
        with tempfile.TemporaryFile(dir=self.home, prefix="import-", suffix=".jsonl") as spool:
            with bar(desc="checking", total=sum(_size(p) for p in paths), unit="B") as b:
                for path in paths:
                    for item in iter_file(path, progress=b.update, taken_ids=taken):
                        if isinstance(item, RecordProblem):
                            checker.problems.append(item)
                            continue
                        read += 1
                        data = checker.check(item)
                        if data is not None and not checker.problems:  # else nothing will be written
                            spool.write(json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
                            valid += 1
            if checker.seen:
                checker.check_store(self.store, upsert=upsert, actor=actor)
            if checker.problems:
                raise ImportFailed(checker.problems)
            report = ImportReport(read=read, dry_run=dry_run)
            if dry_run:
                return report
            state = "published" if actor.can("editor") else "draft"
            try:
                with bar(desc="writing", total=valid, unit="rec") as b:
                    created, updated = self.store.write_chunks(
                        _chunks(_spooled(spool), IMPORT_CHUNK, b.update), author=actor.name, upsert=upsert,
                        state=state, guard=lambda rec: check_change(actor, rec, state))
            except (Conflict, Forbidden) as e:  # a concurrent write changed the records after we checked
                raise ImportFailed([RecordProblem("store", None, "id", str(e))]) from e
        report.created, report.updated = created, updated
        report.unchanged = valid - len(created) - len(updated)
        if created or updated:
            with bar(desc="indexing", total=len(created) + len(updated), unit="rec") as b:
                self.catch_up(timeout=self.write_wait, progress=b.update)
        return report

    def load_corpus(self, root: Path | None = None, **kw) -> ImportReport:
        files = corpus_files(root)
        if not files:
            raise InstanceError(f"no corpus files under {root or bundled_corpus_dir()}")
        return self.import_files(files, author="corpus", **kw)

    # -- single-record writes (API and forms) ----------------------------------------------
    def create(self, raw: dict, *, author: Actor | str, state: str = "published") -> dict:
        actor = as_actor(author)
        check_create(actor, state)
        data = self._valid_one(raw, "record")
        self.store.write_many([data], author=actor.name, action="create", state=state)
        self.catch_up(timeout=self.write_wait)
        return self.store.get(data["id"], include_deleted=True)

    def update(self, record_id: str, raw: dict, *, expected_version: int, author: Actor | str,
               state: str | None = None) -> dict:
        actor = as_actor(author)
        data = self._valid_one({**raw, "id": record_id}, "record")
        rec = self.store.update(record_id, data, expected_version=expected_version, author=actor.name, state=state,
                                guard=lambda current: check_change(actor, current, state))
        self.catch_up(timeout=self.write_wait)
        return rec

    def set_state(self, record_id: str, state: str, *, author: Actor | str, expected_version: int | None = None) -> dict:
        actor = as_actor(author)
        rec = self.store.set_state(record_id, state, author=actor.name, expected_version=expected_version,
                                   guard=lambda current: check_change(actor, current, state))
        self.catch_up(timeout=self.write_wait)
        return rec

    def _valid_one(self, raw: dict, source: str) -> dict:
        data, errs = validate_record(raw)
        if errs:
            raise Invalid([RecordProblem(source, None, f, m) for f, m in errs])
        return data

    # -- keeping the index in step with the store -------------------------------------------
    def catch_up(self, *, timeout: float | None = None, progress: Callable[[int], object] | None = None) -> int | None:
        """Apply to the index every store change it does not reflect yet (it records the last
        store revision it applied), under the index's write lock.

        Every write runs this after its store commit, ``serve`` at start and in the background,
        so a record stored while the index was busy, or by a process that died before indexing
        it, becomes searchable without a manual ``reindex``. ``timeout``: how long to wait for
        the lock (``None``: as long as a command-line job may); when it is not had in time this
        returns ``None`` and the lock's holder, or the next catch-up, applies the change.
        Returns the number of documents added or replaced."""
        try:
            with self.index.locked(timeout):
                marker = self.index.applied()
                with self.store.read_snapshot() as conn:
                    head = self.store.head_in(conn)
                    if marker is None:
                        return self._reconcile(conn, head)
                    if head <= marker:
                        return 0
                    deleted: list[str] = []
                    new: set[str] = set()

                    def published():
                        for rec in self.store.iter_changes(conn, marker):
                            if rec["version"] == 1:  # its only revision is newer than the index
                                new.add(rec["id"])
                            if rec["state"] == "published":
                                yield rec
                            elif rec["version"] > 1:
                                deleted.append(rec["id"])

                    changed = self.store.count_changes(conn, marker)
                    return self.index.update(published(), deleted, new_ids=new, count=changed, applied=head,
                                             progress=progress)
        except LockTimeout:
            return None

    def _reconcile(self, conn, head: int) -> int:
        """Bring an index that records no store revision (built before it did, or damaged)
        in line with the store by comparing ids and versions, and record ``head``."""
        store = self.store.versions_in(conn)
        indexed = self.index.stored()
        changed = [rid for rid, v in store.items() if indexed.get(rid) != v]
        extra = [rid for rid in indexed if rid not in store]
        records = self.store.iter_data_in(conn, ids=changed)
        return self.index.update(records, extra, count=len(changed), applied=head)

    def follow(self) -> None:
        """Before a search: when the store has moved past the index (another process's or
        another node's write), catch up without waiting for the lock. Checked at most every
        :data:`FOLLOW_EVERY_S` seconds per instance object (a check is a store query and a file
        read)."""
        now = time.monotonic()
        if now - self._followed < FOLLOW_EVERY_S:
            return
        self._followed = now
        if self.behind() != 0:
            self.catch_up(timeout=0)

    def behind(self) -> int | None:
        """How many store revisions the index has not applied (``None``: not recorded)."""
        marker = self.index.applied()
        return None if marker is None else max(0, self.store.head() - marker)

    # -- reading ----------------------------------------------------------------------------
    def search(self, text: str, **kw):
        self.follow()
        return self.index.search(text, **kw)

    def get(self, record_id: str, *, actor: Actor | None = None, include_deleted: bool = False) -> dict:
        """The record ``record_id`` if ``actor`` (``None``: anonymous) may see it, else
        :class:`NotFound`: a draft or deleted record is not there for anybody else.
        ``include_deleted``: any state, for trusted local callers (the command line)."""
        rec = self.store.get(record_id, include_deleted=True)
        if not include_deleted and not may_read(actor, rec):
            raise NotFound(f"no record with id {record_id!r}")
        return rec

    def visible(self, record_ids: Iterable[str], actor: Actor | None = None) -> list[dict]:
        """The records of ``record_ids`` that ``actor`` may see, in the given order."""
        out = []
        for rid in record_ids:
            try:
                out.append(self.get(rid, actor=actor))
            except NotFound:
                continue
        return out

    # -- maintenance ------------------------------------------------------------------------
    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        with self.index.locked(), self.store.read_snapshot() as conn:
            head = self.store.head_in(conn)
            return self.index.rebuild(self.store.iter_data_in(conn), progress=progress,
                                      count=self.store.count(), applied=head)

    def check(self) -> dict:
        """Differences between store and index: missing, extra and stale documents."""
        store = self.store.versions()
        indexed = self.index.stored()
        missing = sorted(set(store) - set(indexed))
        extra = sorted(set(indexed) - set(store))
        stale = sorted(k for k in set(store) & set(indexed) if store[k] != indexed[k])
        return {"ok": not (missing or extra or stale), "store": len(store), "index": len(indexed),
                "missing_in_index": missing, "not_in_store": extra, "stale_in_index": stale,
                "revisions_behind": self.behind()}

    def export(self, fmt: str = "jsonl") -> str | bytes:
        """Every published record in ``fmt``: ``jsonl`` or ``csv`` as text, ``xlsx`` as the bytes
        of a workbook (:class:`Invalid` when a record does not fit a spreadsheet's cells)."""
        records = (self._strip(d) for d in self.store.iter_data())
        if fmt == "csv":
            return export_csv(records)
        if fmt == "jsonl":
            return "".join(export_jsonl(records))
        if fmt == "xlsx":
            return export_xlsx(records)
        raise ValueError(f"unknown export format {fmt!r}: use jsonl, csv or xlsx")

    @staticmethod
    def _strip(data: dict) -> dict:
        return {k: v for k, v in data.items() if k != "version"}

    def stats_frame(self):
        """The published records' facet fields as a pandas DataFrame (:func:`kb.stats.record_frame`),
        read from the store in one pass."""
        from .stats import record_frame  # pandas is imported by those who count

        return record_frame(self.store.iter_data())

    def stats(self, frame=None) -> dict:
        """Counts of the published records by sector, island, status, kind, start year,
        cooperation type, province and language, and the cross-tables of :mod:`kb.stats`;
        from ``frame`` (:meth:`stats_frame`) when given, else from the store."""
        from .stats import statistics

        return statistics(self.stats_frame() if frame is None else frame)
