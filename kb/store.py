"""The store: the source of truth, SQLAlchemy 2 on SQLite (WAL) or PostgreSQL.

Every change writes a :class:`Revision` (who, when, what, the whole record after the change);
deletion is soft. The search index and the recommender models are derived from the store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, bindparam,
                        create_engine, event, func, select, update)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker
from sqlalchemy.types import TypeDecorator

from . import migrations
from .errors import Conflict, InstanceError, NotFound, Unavailable

STATES = ("published", "draft", "deleted")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


class UTCDateTime(TypeDecorator):
    """A point in time, written as UTC and always read back with its UTC offset: SQLite keeps no
    offset, and a naive value would print without one (``isoformat()`` in answers)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class Record(Base):
    """A case or a practice. ``data`` holds the canonical interchange form."""

    __tablename__ = "records"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(5))
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="published", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=_now)
    created_by: Mapped[str] = mapped_column(String(80), default="system")
    updated_by: Mapped[str] = mapped_column(String(80), default="system")
    revisions: Mapped[list[Revision]] = relationship(back_populates="record", order_by="Revision.version")

    def as_dict(self) -> dict:
        """The record's data plus its bookkeeping (``version``, ``state``, times, authors)."""
        return {**self.data, "version": self.version, "state": self.state,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "created_by": self.created_by, "updated_by": self.updated_by}


class Revision(Base):
    """One change of a record. ``data`` is the whole record after the change, kept only where it
    differs from the next revision's: ``NULL`` means "as the next revision", and for the newest
    revision "as the record" (``records.data``), so a record's current form is stored once.
    Writing a revision that changes the data first gives the previous newest revision its data
    (:meth:`Store._keep_history`); :meth:`Store.revisions` reads every revision's data back."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("record_pk", "version"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_pk: Mapped[int] = mapped_column(ForeignKey("records.pk", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=_now)
    state: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    record: Mapped[Record] = relationship(back_populates="revisions")


class User(Base):
    __tablename__ = "users"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="contributor")
    token_hash: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=_now)
    # Part of every sign-in session's id: raising it ends the account's sessions everywhere
    # (sign-out, a new password, disabling).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class RateLimit(Base):
    """A rate limit's counter for one client and window (``webapp.ratelimits``): shared by every
    worker and node of a PostgreSQL deployment. ``expires_at``: seconds since the epoch."""

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


WRITE_LOCK_KEY = 72450102  # PostgreSQL advisory lock that write transactions hold in turn
# Page size of a new SQLite file. A record's JSON is typically 1–8 KB: with SQLite's 4 KB default
# most pages hold one record and a large part of free space (a 2.9 KB record took a whole page).
SQLITE_PAGE_SIZE = 16384


def _json(value) -> str:
    """JSON as the store writes it: UTF-8 characters as they are, no spaces after separators."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _wal(cur, wait: float = 60.0) -> None:
    """Put the connection's database in WAL mode. Switching a new file's journal mode does not
    wait on SQLite's busy handler: when processes open a new database at once, one may find it
    locked by another's switch, so the switch is tried again until ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_engine(url: str) -> Engine:
    """An engine for ``url``.

    SQLite gets WAL, foreign keys and real transactions: the driver's own transaction handling
    is switched off and every transaction starts with an explicit ``BEGIN``, so that all reads of
    one transaction see one snapshot, and a connection with the execution option
    ``sinergi_write`` starts with ``BEGIN IMMEDIATE``: a writer takes the write lock before it
    reads what it is about to change, so two writers never act on the same stale read.
    PostgreSQL's write transactions do the same with an advisory lock (:data:`WRITE_LOCK_KEY`).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60}, json_serializer=_json)

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # pragma: no cover - trivial
            conn.isolation_level = None
            cur = conn.cursor()
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # a new file only; must precede WAL
            _wal(cur)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            wait = conn.get_execution_options().get("sinergi_write")
            if wait:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait * 1000)}")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    engine = create_engine(url, pool_pre_ping=True, json_serializer=_json)

    @event.listens_for(engine, "begin")
    def _pg_begin(conn):
        wait = conn.get_execution_options().get("sinergi_write")
        if wait:  # writers take turns, as on SQLite; a turn not had in time is Unavailable
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'")
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

    return engine


def _is_locked(e: OperationalError) -> bool:
    """A lock not had in time: SQLite's "database is locked", PostgreSQL's lock timeout."""
    msg = str(e.orig).lower()
    return "locked" in msg or "busy" in msg or "lock timeout" in msg


_HEAD = select(func.max(Revision.pk))
# The newest revision of a record about to change keeps the data it stood for (see Revision).
_KEEP = (update(Revision.__table__)
         .where(Revision.__table__.c.record_pk == bindparam("pk_"),
                Revision.__table__.c.version == bindparam("version_"),
                Revision.__table__.c.data.is_(None))
         .values(data=bindparam("old")))


def _kept(rec: Record) -> dict:
    """:data:`_KEEP`'s parameters for ``rec`` before it changes."""
    return {"pk_": rec.pk, "version_": rec.version, "old": rec.data}


def _create_private_sqlite_file(url: str) -> None:
    """Create a new SQLite database file readable by its owner only (0600): it holds password
    and token hashes. SQLite gives its -wal and -shm files the database file's permissions."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


class Store:
    """Reads and writes records; every write is one transaction with its revisions."""

    def __init__(self, url: str, *, write_timeout: float = 60.0, upgrade: bool = False):
        """``write_timeout``: how long a write waits for another writer's transaction before it
        gives up with :class:`Unavailable` (seconds).

        A database without the store's tables is created at the newest schema revision. One
        at an older revision (or made by the first release, which kept none) is changed only
        with ``upgrade``; otherwise :class:`InstanceError` says to run ``sinergi db upgrade``.
        ``upgraded`` is then ``(old revision, new revision)``, else ``None``."""
        self.url = url
        _create_private_sqlite_file(url)
        self.engine = make_engine(url)
        self._write_engine = self.engine.execution_options(sinergi_write=write_timeout)
        self.upgraded: tuple[str, str] | None = None
        try:
            with self._write_engine.begin() as conn:  # one process creates or upgrades, others wait
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72450101)")
                self.upgraded = self._prepare_schema(conn, upgrade)
        except BaseException:
            self.engine.dispose()
            raise
        self.read_session = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        # Pooled connections are closed when the store goes, not left to the garbage collector.
        self._finalizer = weakref.finalize(self, self.engine.dispose)

    def compact(self) -> tuple[int, int] | None:
        """Rewrite a SQLite file without its free pages, at :data:`SQLITE_PAGE_SIZE` (``VACUUM``;
        it needs the file to itself: stop the servers first). ``(bytes before, bytes after)``;
        ``None`` for PostgreSQL, whose autovacuum reuses free space (``VACUUM FULL`` returns it to
        the system: a job for the database's administrator)."""
        if self.engine.dialect.name != "sqlite":
            return None
        path = make_url(self.url).database
        before = os.path.getsize(path)
        self.engine.dispose()
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            try:
                # The page size of a WAL database is fixed: leave WAL for the rewrite.
                for sql in ("PRAGMA busy_timeout=2000", "PRAGMA journal_mode=DELETE", f"PRAGMA page_size={SQLITE_PAGE_SIZE}", "VACUUM",
                            "PRAGMA journal_mode=WAL"):
                    cur.execute(sql)
            except Exception as e:
                if "locked" in str(e).lower() or "busy" in str(e).lower():
                    raise Unavailable("the database is in use by another process (a server?): stop it and "
                                      "run the compaction again; nothing was changed") from e
                raise
            finally:
                cur.close()
        finally:
            raw.close()
            self.engine.dispose()
        return before, os.path.getsize(path)

    def close(self) -> None:
        """Close every pooled connection (the store can still be used; it reconnects)."""
        self.engine.dispose()

    @staticmethod
    def _prepare_schema(conn: Connection, upgrade: bool) -> tuple[str, str] | None:
        """Inside the write transaction: create a new database at the head revision, check an
        existing one is at it, or (``upgrade``) migrate it there; ``(old, new)`` if migrated."""
        head = migrations.head()
        current = migrations.current(conn)
        if current is None:
            Base.metadata.create_all(conn)
            migrations.stamp(conn, head)
            return None
        if current == head:
            return None
        if not migrations.is_known(current):
            raise InstanceError(f"the database schema is at revision {current}, which this version of Sinergi "
                                f"does not know (it needs {migrations.describe(head)}): the database was "
                                "upgraded by a newer version; use that version")
        if not upgrade:
            raise InstanceError(f"the database schema is at revision {migrations.describe(current)}, this version "
                                f"needs {migrations.describe(head)}: run `sinergi db upgrade` (back up the "
                                "database first)")
        if not migrations.has_version_table(conn):
            migrations.stamp(conn, current)  # the first release's database: it is at the baseline
        migrations.upgrade(conn, head)
        return current, head

    def schema_revision(self) -> str | None:
        """The database's schema revision (see :mod:`kb.migrations`)."""
        with self.engine.connect() as c:
            return migrations.current(c)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: it holds the write lock from its first statement (SQLite:
        ``BEGIN IMMEDIATE``), so what it reads cannot change before it commits. A lost race on
        a unique key is a :class:`Conflict`; a write lock not had in time is
        :class:`Unavailable`; either way nothing is written."""
        try:
            with self._write_sessions() as s:
                with s.begin():
                    yield s
        except IntegrityError as e:
            raise Conflict("another write changed the same record at the same time; reload and try again") from e
        except OperationalError as e:
            if _is_locked(e):
                raise Unavailable("the store is busy with another write; nothing was saved, try again shortly") from e
            raise

    @contextmanager
    def read_snapshot(self) -> Iterator[Connection]:
        """A read transaction whose statements all see one state of the store."""
        with self.engine.connect() as c:
            if c.dialect.name == "postgresql":
                c = c.execution_options(isolation_level="REPEATABLE READ")
            with c.begin():
                yield c

    # -- reading -------------------------------------------------------------------------
    def get(self, record_id: str, *, include_deleted: bool = False) -> dict:
        """The record ``record_id`` with its bookkeeping, else :class:`NotFound`."""
        with self.read_session() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id))
            if rec is None or (rec.state == "deleted" and not include_deleted):
                raise NotFound(f"no record with id {record_id!r}")
            return rec.as_dict()

    def records(self, *, states: Iterable[str] = ("published",), kind: str | None = None,
                ids: list[str] | None = None) -> list[dict]:
        """Every record in ``states`` (of ``ids``, if given), ordered by id."""
        with self.read_session() as s:
            q = select(Record).where(Record.state.in_(list(states))).order_by(Record.id)
            if kind:
                q = q.where(Record.kind == kind)
            if ids is None:
                return [r.as_dict() for r in s.scalars(q)]
            return [r.as_dict() for i in range(0, len(ids), 500)
                    for r in s.scalars(q.where(Record.id.in_(ids[i:i + 500])))]

    def iter_data(self, *, states: Iterable[str] = ("published",), batch: int = 1000) -> Iterator[dict]:
        """Stream the canonical data of records (for indexing and export), ordered by id."""
        with self.read_snapshot() as conn:
            yield from self.iter_data_in(conn, states=states, batch=batch)

    @staticmethod
    def iter_data_in(conn: Connection, *, states: Iterable[str] = ("published",), ids: list[str] | None = None,
                     batch: int = 1000) -> Iterator[dict]:
        """:meth:`iter_data` inside a :meth:`read_snapshot` (of ``ids`` only, if given)."""
        q = select(Record.data, Record.version).where(Record.state.in_(list(states))).order_by(Record.id)
        if ids is None:
            for data, version in conn.execution_options(yield_per=batch).execute(q):
                yield {**data, "version": version}
            return
        for i in range(0, len(ids), batch):
            for data, version in conn.execute(q.where(Record.id.in_(ids[i:i + batch]))):
                yield {**data, "version": version}

    def versions(self, *, states: Iterable[str] = ("published",)) -> dict[str, int]:
        """``{id: version}`` of the records in ``states`` (for ``check``)."""
        with self.read_snapshot() as conn:
            return self.versions_in(conn, states=states)

    @staticmethod
    def versions_in(conn: Connection, *, states: Iterable[str] = ("published",)) -> dict[str, int]:
        q = select(Record.id, Record.version).where(Record.state.in_(list(states)))
        return dict(conn.execute(q).all())

    def data_of(self, ids: Iterable[str], *, states: Iterable[str] = ("published",)) -> dict[str, dict]:
        """``{id: canonical data}`` of the records ``ids`` that are in ``states`` (500 a query)."""
        ids, states = list(ids), list(states)
        out: dict[str, dict] = {}
        with self.engine.connect() as c:
            for i in range(0, len(ids), 500):
                q = select(Record.id, Record.data).where(Record.id.in_(ids[i:i + 500]), Record.state.in_(states))
                out.update(c.execute(q).all())
        return out

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        out: set[str] = set()
        with self.read_session() as s:
            for i in range(0, len(ids), 500):
                out |= set(s.scalars(select(Record.id).where(Record.id.in_(ids[i:i + 500]))))
        return out

    def count(self, state: str = "published") -> int:
        with self.read_session() as s:
            return s.scalar(select(func.count()).select_from(Record).where(Record.state == state)) or 0

    def revisions(self, record_id: str) -> list[dict]:
        """The revision history of a record, oldest first."""
        with self.read_session() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id))
            if rec is None:
                raise NotFound(f"no record with id {record_id!r}")
            out, data = [], rec.data
            for r in reversed(rec.revisions):  # newest first: a NULL is the next revision's data
                if r.data is not None:
                    data = r.data
                out.append({"version": r.version, "action": r.action, "author": r.author,
                            "at": r.at.isoformat(), "state": r.state, "data": data, "note": r.note})
            return out[::-1]

    def head(self) -> int:
        """The key of the newest revision: grows whenever any record changes (one index
        look-up on a plain connection, no ORM session: ~0.1 ms, cheap enough for every request)."""
        with self.engine.connect() as c:
            return int(c.execute(_HEAD).scalar() or 0)

    @staticmethod
    def head_in(conn: Connection) -> int:
        """:meth:`head` inside a :meth:`read_snapshot`."""
        return int(conn.execute(_HEAD).scalar() or 0)

    @staticmethod
    def count_changes(conn: Connection, since: int) -> int:
        """Inside a :meth:`read_snapshot`: how many records have a revision newer than ``since``."""
        q = select(func.count(func.distinct(Revision.record_pk))).where(Revision.pk > since)
        return int(conn.execute(q).scalar() or 0)

    @staticmethod
    def changed_ids_in(conn: Connection, since: int) -> list[str]:
        """Inside a :meth:`read_snapshot`: the ids of the records with a revision newer than
        ``since`` (a value of :meth:`head`)."""
        changed = select(Revision.record_pk).where(Revision.pk > since).distinct().scalar_subquery()
        return list(conn.execute(select(Record.id).where(Record.pk.in_(changed))).scalars())

    @staticmethod
    def iter_changes(conn: Connection, since: int, *, batch: int = 500) -> Iterator[dict]:
        """Inside a :meth:`read_snapshot`: the current state of every record with a revision
        newer than ``since`` (data with ``version``, ``state`` and ``first_revision``, the key
        of its first revision), streamed in batches."""
        changed = (select(Revision.record_pk).where(Revision.pk > since).distinct()
                   .order_by(Revision.record_pk))
        pks = conn.execute(changed).scalars().all()
        first = select(func.min(Revision.pk)).where(Revision.record_pk == Record.pk).scalar_subquery()
        for i in range(0, len(pks), batch):
            q = (select(Record.data, Record.version, Record.state, first)
                 .where(Record.pk.in_(pks[i:i + batch])))
            for data, version, state, first_rev in conn.execute(q):
                yield {**data, "version": version, "state": state, "first_revision": first_rev}

    def changes_since(self, revision: int, *, limit: int | None = None) -> list[dict] | None:
        """The current state of every record with a revision newer than ``revision`` (a value
        of :meth:`head`): its data with ``version`` and ``state``. ``None`` when more than
        ``limit`` records changed (the caller then rebuilds instead of patching)."""
        # A plain connection, no ORM session (every serving process runs this after each save).
        with self.engine.connect() as c:
            changed = select(Revision.record_pk).where(Revision.pk > revision).distinct()
            if limit is not None:
                pks = c.execute(changed.limit(limit + 1)).scalars().all()
                if len(pks) > limit:
                    return None
                changed = pks
            q = select(Record.data, Record.version, Record.state).where(Record.pk.in_(changed))
            return [{**data, "version": version, "state": state} for data, version, state in c.execute(q)]

    # -- writing -------------------------------------------------------------------------
    def write_many(self, records: list[dict], *, author: str, upsert: bool = False,
                   action: str = "import", state: str = "published",
                   guard: Callable[[dict], None] | None = None,
                   session: Session | None = None) -> tuple[list[str], list[str]]:
        """Insert (or, with ``upsert``, update) validated records in one transaction.

        Returns ``(created ids, updated ids)``. A duplicate id without ``upsert`` raises
        :class:`Conflict` and writes nothing. ``guard`` is called inside the transaction with
        each existing record (``id``, ``state``, ``created_by``) about to be updated; whatever
        it raises aborts the whole write. With ``session`` the records are written in that
        session's transaction (see :meth:`write_chunks`), which the caller commits.
        """
        created, updated = [], []
        with self._session_or(session) as s:
            existing: dict[str, Record] = {}
            ids = [d["id"] for d in records]
            for i in range(0, len(ids), 500):
                existing.update((r.id, r) for r in s.scalars(select(Record).where(Record.id.in_(ids[i:i + 500]))))
            if existing and not upsert:
                raise Conflict("ids already in the store (use --upsert to update them): "
                               + ", ".join(sorted(existing)[:20]))
            if guard is not None:
                for rec in existing.values():
                    guard(rec.as_dict())
            now = _now()
            # New records and every revision go in as Core executemany inserts
            # (the ORM inserts rows one at a time on SQLite, to read back each key): the same
            # rows, keys in the same order. Updated records go through the ORM (_apply).
            new_rows, revisions, kept = [], [], []
            for data in records:
                rec = existing.get(data["id"])
                if rec is None:
                    new_rows.append({"id": data["id"], "kind": data["kind"], "language": data["language"],
                                     "title": data["title"], "data": data, "state": state, "version": 1,
                                     "created_at": now, "updated_at": now, "created_by": author,
                                     "updated_by": author})
                    created.append(data["id"])
                    record_pk, version, rec_state = None, 1, state
                else:
                    if rec.data == data and rec.state == state:
                        continue
                    if rec.data != data:
                        kept.append(_kept(rec))
                    self._apply(rec, data, author, now, state)
                    updated.append(rec.id)
                    record_pk, version, rec_state = rec.pk, rec.version, rec.state
                revisions.append({"record_pk": record_pk, "version": version,
                                  "action": action if version == 1 else "update", "author": author,
                                  "at": now, "state": rec_state, "data": None, "note": None})
            if new_rows:
                s.execute(Record.__table__.insert(), new_rows)
                pks: dict[str, int] = {}
                for i in range(0, len(created), 500):
                    pks.update(s.execute(select(Record.id, Record.pk).where(Record.id.in_(created[i:i + 500]))).all())
                new_revisions = iter(rev for rev in revisions if rev["record_pk"] is None)
                for rid, rev in zip(created, new_revisions):
                    rev["record_pk"] = pks[rid]
            if kept:
                s.execute(_KEEP, kept)
            if revisions:
                s.execute(Revision.__table__.insert(), revisions)
        return created, updated

    def write_chunks(self, chunks: Iterable[list[dict]], *, author: str, upsert: bool = False,
                     action: str = "import", state: str = "published",
                     guard: Callable[[dict], None] | None = None) -> tuple[list[str], list[str]]:
        """:meth:`write_many` for each chunk of records, all in ONE transaction (all or nothing),
        holding one chunk in memory at a time (a streaming import of any size)."""
        created, updated = [], []
        with self.session() as s:
            for chunk in chunks:
                c, u = self.write_many(chunk, author=author, upsert=upsert, action=action, state=state,
                                       guard=guard, session=s)
                created += c
                updated += u
                s.flush()
                s.expunge_all()  # the chunk's updated records: written, no longer needed in memory
        return created, updated

    @contextmanager
    def _session_or(self, session: Session | None) -> Iterator[Session]:
        """``session`` as it is (its owner commits), else a new one-transaction session."""
        if session is not None:
            yield session
            return
        with self.session() as s:
            yield s

    @staticmethod
    def _keep_history(s: Session, rec: Record, data: dict) -> None:
        """Before ``rec`` takes ``data``: its newest revision, whose data is the record's (NULL),
        keeps the record's current data, unless the data does not change."""
        if rec.data != data:
            s.execute(_KEEP, [_kept(rec)])

    @staticmethod
    def _apply(rec: Record, data: dict, author: str, now: dt.datetime, state: str | None = None) -> None:
        rec.data = data
        rec.kind, rec.language, rec.title = data["kind"], data["language"], data["title"]
        rec.version += 1
        rec.updated_at, rec.updated_by = now, author
        if state:
            rec.state = state

    def update(self, record_id: str, data: dict, *, expected_version: int, author: str,
               state: str | None = None, note: str | None = None,
               guard: Callable[[dict], None] | None = None) -> dict:
        """Replace a record's data if its version is still ``expected_version``.

        A stale version raises :class:`Conflict` (never a silent overwrite). ``guard`` sees the
        stored record inside the transaction, before anything changes.
        """
        with self.session() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id).with_for_update())
            if rec is None:
                raise NotFound(f"no record with id {record_id!r}")
            if guard is not None:
                guard(rec.as_dict())
            if rec.version != expected_version:
                raise Conflict(f"record {record_id!r} was changed by {rec.updated_by} (version "
                               f"{rec.version}, you edited version {expected_version})")
            if data["id"] != record_id:
                raise Conflict("the id of a record cannot be changed")
            now = _now()
            self._keep_history(s, rec, data)
            self._apply(rec, data, author, now, state)
            s.add(Revision(record_pk=rec.pk, version=rec.version, action="update", author=author, at=now,
                           state=rec.state, data=None, note=note))
            s.flush()
            return rec.as_dict()

    def set_state(self, record_id: str, state: str, *, author: str, expected_version: int | None = None,
                  action: str | None = None, guard: Callable[[dict], None] | None = None) -> dict:
        """Publish, draft, soft-delete or restore a record (a new revision each time)."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self.session() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id).with_for_update())
            if rec is None:
                raise NotFound(f"no record with id {record_id!r}")
            if guard is not None:
                guard(rec.as_dict())
            if expected_version is not None and rec.version != expected_version:
                raise Conflict(f"record {record_id!r} was changed meanwhile (version {rec.version})")
            now = _now()
            rec.state = state
            rec.version += 1
            rec.updated_at, rec.updated_by = now, author
            s.add(Revision(record_pk=rec.pk, version=rec.version, action=action or state, author=author,
                           at=now, state=state, data=None))  # the data did not change
            s.flush()
            return rec.as_dict()
