"""The knowledge base: one instance folder holding the store, the index and derived models.

Writes go to the store first (one transaction, with revisions); only after the commit is the
index updated, so the index is always a derived copy that ``reindex`` can rebuild.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import Timeout as LockTimeout

from .access import Actor, as_actor, check_change, check_create, may_read
from .errors import Conflict, Forbidden, ImportFailed, InstanceError, NotFound, RecordProblem
from .index import SearchIndex
from .io import FileProblem, RawRecord, export_csv, export_jsonl, read_file
from .schema import validate_record
from .store import Store

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
        raws, problems = [], []
        for p in paths:
            try:
                raws += read_file(p)
            except FileProblem as e:
                problems += e.problems
                raws += e.records  # what could be read is checked too: every problem at once
        return raws, problems

    def validate(self, raws: list[RawRecord], *, upsert: bool,
                 actor: Actor | None = None) -> tuple[list[dict], list[RecordProblem]]:
        """Validate raw records; also duplicate ids in the batch and against the store, and
        (for ``actor``) whether they may change the stored records they would update."""
        valid, problems = [], []
        seen: dict[str, RawRecord] = {}
        for raw in raws:
            data, errs = validate_record(raw.data)
            for fieldname, msg in errs:
                problems.append(RecordProblem(raw.source, raw.line, fieldname, msg))
            if data is None:
                continue
            first = seen.get(data["id"])
            if first is not None:
                where = f"{first.source}:{first.line}" if first.line else first.source
                problems.append(RecordProblem(raw.source, raw.line, "id",
                                              f"duplicate id {data['id']!r} (also at {where})"))
                continue
            seen[data["id"]] = raw
            valid.append(data)
        if not upsert and valid:
            for rid in sorted(self.store.existing_ids(seen)):
                raw = seen[rid]
                given = isinstance(raw.data, dict) and raw.data.get("id")
                msg = (f"id {rid!r} already exists (use --upsert to update it)" if given else
                       f"the id {rid!r} generated from the title already exists; give the record its own id")
                problems.append(RecordProblem(raw.source, raw.line, "id", msg))
        elif valid and actor is not None and not actor.can("editor"):
            for rec in self.store.records(states=("published", "draft", "deleted"), ids=list(seen)):
                try:
                    check_change(actor, rec)
                except Forbidden as e:
                    raw = seen[rec["id"]]
                    problems.append(RecordProblem(raw.source, raw.line, "id", str(e)))
        return valid, problems

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

    def import_files(self, paths: Iterable[str | Path], **kw) -> ImportReport:
        raws, problems = self.read_files(paths)
        return self.import_raw(raws, file_problems=problems, **kw)

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
            raise ImportFailed([RecordProblem(source, None, f, m) for f, m in errs])
        return data

    # -- keeping the index in step with the store -------------------------------------------
    def catch_up(self, *, timeout: float | None = None) -> int | None:
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
                    return self.index.update(published(), deleted, new_ids=new, count=changed, applied=head)
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

    def behind(self) -> int | None:
        """How many store revisions the index has not applied (``None``: not recorded)."""
        marker = self.index.applied()
        return None if marker is None else max(0, self.store.head() - marker)

    # -- reading ----------------------------------------------------------------------------
    def search(self, text: str, **kw):
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

    def export(self, fmt: str = "jsonl") -> str:
        records = (self._strip(d) for d in self.store.iter_data())
        if fmt == "csv":
            return export_csv(records)
        if fmt == "jsonl":
            return "".join(export_jsonl(records))
        raise ValueError(f"unknown export format {fmt!r}: use jsonl or csv")

    @staticmethod
    def _strip(data: dict) -> dict:
        return {k: v for k, v in data.items() if k != "version"}

    def stats(self) -> dict:
        """Counts by kind, sector, island, status and year over the published records."""
        res = self.index.search("", limit=1, facets=("sector", "island", "status", "kind", "year", "type",
                                                     "province"))
        return {"total": res.total, "facets": res.facets}
