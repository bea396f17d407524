"""The knowledge base: one instance folder holding the store, the index and derived models.

Writes go to the store first (one transaction, with revisions); only after the commit is the
index updated, so the index is always a derived copy that ``reindex`` can rebuild.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import Conflict, ImportFailed, InstanceError, RecordProblem
from .index import SearchIndex
from .io import RawRecord, export_csv, export_jsonl, iter_file
from .schema import validate_record
from .store import Store

CORPUS_GLOBS = ("cases/*.jsonl", "practices/*.jsonl", "guides/*.md", "guides/*.txt")


def resolve_home(home: str | os.PathLike | None) -> Path:
    """The instance folder: ``home``, else ``$SINERGI_HOME``, else ``./instance``."""
    value = home or os.environ.get("SINERGI_HOME") or "instance"
    return Path(value).expanduser().resolve()


def bundled_corpus_dir() -> Path:
    """The bundled corpus (``corpus/`` of the repository), or ``$SINERGI_CORPUS``."""
    env = os.environ.get("SINERGI_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "corpus"


def corpus_files(root: Path | None = None) -> list[Path]:
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

    def check_store(self, store: Store, *, upsert: bool) -> None:
        """Without ``upsert``, every id seen that the store already has is a problem."""
        if upsert:
            return
        for rid in sorted(store.existing_ids(self.seen)):
            source, line, given = self.seen[rid]
            msg = (f"id {rid!r} already exists (use --upsert to update it)" if given else
                   f"the id {rid!r} generated from the title already exists; give the record its own id")
            self.problems.append(RecordProblem(source, line, "id", msg))


class KnowledgeBase:
    """The store, index and settings of one instance folder."""

    def __init__(self, home: str | os.PathLike | None = None, *, create: bool = True,
                 database_url: str | None = None):
        self.home = resolve_home(home)
        if not self.home.exists():
            if not create:
                raise InstanceError(f"no instance at {self.home}; run `sinergi init` first")
            self.home.mkdir(parents=True)
        if not self.home.is_dir():
            raise InstanceError(f"{self.home} is not a folder")
        url = database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{self.home / 'sinergi.db'}"
        self.store = Store(url)
        self.index = SearchIndex(self.home / "index")
        self.settings = self._settings()

    # -- settings ---------------------------------------------------------------------------
    def _settings(self) -> dict:
        path = self.home / "settings.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        settings = {"secret_key": secrets.token_hex(32)}
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

    def validate(self, raws: list[RawRecord], *, upsert: bool) -> tuple[list[dict], list[RecordProblem]]:
        """Validate raw records; also duplicate ids in the batch and against the store."""
        checker = _Checker()
        valid = [data for raw in raws if (data := checker.check(raw)) is not None]
        if valid:
            checker.check_store(self.store, upsert=upsert)
        return valid, checker.problems

    def import_raw(self, raws: list[RawRecord], *, upsert: bool = False, dry_run: bool = False,
                   author: str = "import", file_problems: list[RecordProblem] | None = None) -> ImportReport:
        """Validate everything, then write all records in one transaction, or nothing."""
        problems = list(file_problems or [])
        valid, more = self.validate(raws, upsert=upsert)
        problems += more
        if problems:
            raise ImportFailed(problems)
        report = ImportReport(read=len(raws), dry_run=dry_run, valid=valid)
        if dry_run:
            return report
        try:
            created, updated = self.store.write_many(valid, author=author, upsert=upsert)
        except Conflict as e:  # a concurrent import took an id after we checked
            raise ImportFailed([RecordProblem("store", None, "id", str(e))]) from e
        report.created, report.updated = created, updated
        report.unchanged = len(valid) - len(created) - len(updated)
        changed = set(created) | set(updated)
        versions = self.store.versions() if changed else {}
        self.index.update(({**d, "version": versions.get(d["id"], 1)} for d in valid if d["id"] in changed),
                          new_ids=set(created))
        return report

    def import_files(self, paths: Iterable[str | Path], *, upsert: bool = False, dry_run: bool = False,
                     author: str = "import", progress: ProgressFactory | None = None) -> ImportReport:
        """Import files of any size in bounded memory, all or nothing.

        Pass 1 reads every file as a stream and validates every record, keeping only the ids
        seen (duplicates, ids already in the store) and the valid records in a spool file in
        the instance folder; any problem stops here with all of them reported. Pass 2 writes the
        spooled records in chunks inside one store transaction, then indexes the changed ones.
        ``progress(desc=, total=, unit=)`` makes a progress bar (tqdm's signature) for each pass.
        ``report.valid`` stays empty here (the records are not kept in memory).
        """
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
                checker.check_store(self.store, upsert=upsert)
            if checker.problems:
                raise ImportFailed(checker.problems)
            report = ImportReport(read=read, dry_run=dry_run)
            if dry_run:
                return report
            try:
                with bar(desc="writing", total=valid, unit="rec") as b:
                    created, updated = self.store.write_chunks(
                        _chunks(_spooled(spool), IMPORT_CHUNK, b.update), author=author, upsert=upsert)
            except Conflict as e:  # a concurrent import took an id after we checked
                raise ImportFailed([RecordProblem("store", None, "id", str(e))]) from e
            report.created, report.updated = created, updated
            report.unchanged = valid - len(created) - len(updated)
            changed = set(created) | set(updated)
            if changed:
                versions = self.store.versions() if updated else {}
                with bar(desc="indexing", total=len(changed), unit="rec") as b:
                    self.index.write(({**d, "version": versions.get(d["id"], 1)} for d in _spooled(spool)
                                      if d["id"] in changed),
                                     stale_ids=updated, count=len(changed), progress=b.update)
        return report

    def load_corpus(self, root: Path | None = None, **kw) -> ImportReport:
        files = corpus_files(root)
        if not files:
            raise InstanceError(f"no corpus files under {root or bundled_corpus_dir()}")
        return self.import_files(files, author="corpus", **kw)

    # -- single-record writes (API and forms) ----------------------------------------------
    def create(self, raw: dict, *, author: str, state: str = "published") -> dict:
        data = self._valid_one(raw, "record")
        try:
            self.store.write_many([data], author=author, action="create", state=state)
        except Conflict as e:
            raise ImportFailed([RecordProblem("record", None, "id", str(e))]) from e
        self._sync([data["id"]], new=True, written={data["id"]: {**data, "version": 1, "state": state}})
        return self.store.get(data["id"], include_deleted=True)

    def update(self, record_id: str, raw: dict, *, expected_version: int, author: str,
               state: str | None = None) -> dict:
        data = self._valid_one({**raw, "id": record_id}, "record")
        rec = self.store.update(record_id, data, expected_version=expected_version, author=author, state=state)
        self._sync([record_id])
        return rec

    def set_state(self, record_id: str, state: str, *, author: str, expected_version: int | None = None) -> dict:
        rec = self.store.set_state(record_id, state, author=author, expected_version=expected_version)
        self._sync([record_id])
        return rec

    def _valid_one(self, raw: dict, source: str) -> dict:
        data, errs = validate_record(raw)
        if errs:
            raise ImportFailed([RecordProblem(source, None, f, m) for f, m in errs])
        return data

    def _sync(self, ids: list[str], *, new: bool = False, written: dict[str, dict] | None = None) -> None:
        """Bring the index in line with the store for ``ids`` (published ones indexed; ``new``
        ids were just created, so nothing of them is in the index yet; ``written``: records as
        the caller just stored them, with ``version`` and ``state``, not read back)."""
        add, delete = [], []
        for rid in ids:
            rec = (written or {}).get(rid) or self.store.get(rid, include_deleted=True)
            if rec["state"] == "published":
                add.append(rec)
            elif not new:
                delete.append(rid)
        self.index.update(add, delete_ids=delete, new_ids=set(ids) if new else frozenset())

    # -- reading ----------------------------------------------------------------------------
    def search(self, text: str, **kw):
        return self.index.search(text, **kw)

    def get(self, record_id: str, **kw) -> dict:
        return self.store.get(record_id, **kw)

    # -- maintenance ------------------------------------------------------------------------
    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        return self.index.rebuild(self.store.iter_data(), progress=progress, count=self.store.count())

    def check(self) -> dict:
        """Differences between store and index: missing, extra and stale documents."""
        store = self.store.versions()
        indexed = self.index.stored()
        missing = sorted(set(store) - set(indexed))
        extra = sorted(set(indexed) - set(store))
        stale = sorted(k for k in set(store) & set(indexed) if store[k] != indexed[k])
        return {"ok": not (missing or extra or stale), "store": len(store), "index": len(indexed),
                "missing_in_index": missing, "not_in_store": extra, "stale_in_index": stale}

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
