"""The store: the source of truth, SQLAlchemy 2 on SQLite (WAL) or PostgreSQL.

Every change writes a :class:`Revision` (who, when, what, the whole record after the change);
deletion is soft. The search index and the recommender models are derived from the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import (JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, create_engine,
                        event, func, select)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from .errors import Conflict, NotFound

STATES = ("published", "draft", "deleted")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


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
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    created_by: Mapped[str] = mapped_column(String(80), default="system")
    updated_by: Mapped[str] = mapped_column(String(80), default="system")
    revisions: Mapped[list[Revision]] = relationship(back_populates="record", order_by="Revision.version")
    regions: Mapped[list[RecordRegion]] = relationship(cascade="all, delete-orphan")

    def as_dict(self) -> dict:
        """The record's data plus its bookkeeping (``version``, ``state``, times, authors)."""
        return {**self.data, "version": self.version, "state": self.state,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "created_by": self.created_by, "updated_by": self.updated_by}


class RecordRegion(Base):
    """Which regions a record names (for region pages and peers)."""

    __tablename__ = "record_regions"
    record_pk: Mapped[int] = mapped_column(ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(13), primary_key=True, index=True)


class Revision(Base):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("record_pk", "version"),)
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_pk: Mapped[int] = mapped_column(ForeignKey("records.pk", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    state: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    record: Mapped[Record] = relationship(back_populates="revisions")


class User(Base):
    __tablename__ = "users"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="contributor")
    token_hash: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a generous busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # pragma: no cover - trivial
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


_HEAD = select(func.max(Revision.pk))


class Store:
    """Reads and writes records; every write is one transaction with its revisions."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s:
            with s.begin():
                yield s

    # -- reading -------------------------------------------------------------------------
    def get(self, record_id: str, *, include_deleted: bool = False) -> dict:
        """The record ``record_id`` with its bookkeeping, else :class:`NotFound`."""
        with self._sessions() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id))
            if rec is None or (rec.state == "deleted" and not include_deleted):
                raise NotFound(f"no record with id {record_id!r}")
            return rec.as_dict()

    def records(self, *, states: Iterable[str] = ("published",), kind: str | None = None) -> list[dict]:
        """Every record in ``states``, ordered by id."""
        with self._sessions() as s:
            q = select(Record).where(Record.state.in_(list(states))).order_by(Record.id)
            if kind:
                q = q.where(Record.kind == kind)
            return [r.as_dict() for r in s.scalars(q)]

    def iter_data(self, *, states: Iterable[str] = ("published",), batch: int = 1000) -> Iterator[dict]:
        """Stream the canonical data of records (for indexing and export), ordered by id."""
        with self._sessions() as s:
            q = (select(Record.data, Record.version).where(Record.state.in_(list(states)))
                 .order_by(Record.id).execution_options(yield_per=batch))
            for data, version in s.execute(q):
                yield {**data, "version": version}

    def versions(self, *, states: Iterable[str] = ("published",)) -> dict[str, int]:
        """``{id: version}`` of the records in ``states`` (for ``check``)."""
        with self._sessions() as s:
            q = select(Record.id, Record.version).where(Record.state.in_(list(states)))
            return dict(s.execute(q).all())

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        out: set[str] = set()
        with self._sessions() as s:
            for i in range(0, len(ids), 500):
                out |= set(s.scalars(select(Record.id).where(Record.id.in_(ids[i:i + 500]))))
        return out

    def count(self, state: str = "published") -> int:
        with self._sessions() as s:
            return s.scalar(select(func.count()).select_from(Record).where(Record.state == state)) or 0

    def revisions(self, record_id: str) -> list[dict]:
        """The revision history of a record, oldest first."""
        with self._sessions() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id))
            if rec is None:
                raise NotFound(f"no record with id {record_id!r}")
            return [{"version": r.version, "action": r.action, "author": r.author,
                     "at": r.at.isoformat(), "state": r.state, "data": r.data, "note": r.note}
                    for r in rec.revisions]

    def head(self) -> int:
        """The key of the newest revision: grows whenever any record changes (one index
        look-up on a plain connection, no ORM session: ~0.1 ms, cheap enough for every request)."""
        with self.engine.connect() as c:
            return int(c.execute(_HEAD).scalar() or 0)

    def fingerprint(self) -> str:
        """A short hash that changes whenever any record changes (for derived models)."""
        with self._sessions() as s:
            row = s.execute(select(func.count(Revision.pk), func.max(Revision.pk))).one()
        return hashlib.sha1(json.dumps(list(row)).encode()).hexdigest()[:16]

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

    def region_codes(self) -> dict[str, list[str]]:
        """``{region code: [record ids]}`` over published records."""
        with self._sessions() as s:
            q = (select(RecordRegion.code, Record.id).join(Record, Record.pk == RecordRegion.record_pk)
                 .where(Record.state == "published"))
            out: dict[str, list[str]] = {}
            for code, rid in s.execute(q):
                out.setdefault(code, []).append(rid)
            return out

    # -- writing -------------------------------------------------------------------------
    def write_many(self, records: list[dict], *, author: str, upsert: bool = False,
                   action: str = "import", state: str = "published",
                   session: Session | None = None) -> tuple[list[str], list[str]]:
        """Insert (or, with ``upsert``, update) validated records in one transaction.

        Returns ``(created ids, updated ids)``. A duplicate id without ``upsert`` raises
        :class:`Conflict` and writes nothing. With ``session`` the records are written in that
        session's transaction (see :meth:`write_chunks`), which the caller commits.
        """
        created, updated = [], []
        with self._session_or(session) as s:
            existing = {r.id: r for r in s.scalars(select(Record).where(
                Record.id.in_([d["id"] for d in records])))} if records else {}
            if existing and not upsert:
                raise Conflict("ids already in the store (use --upsert to update them): "
                               + ", ".join(sorted(existing)[:20]))
            now = _now()
            # New records, their regions and every revision go in as Core executemany inserts
            # (the ORM inserts rows one at a time on SQLite, to read back each key): the same
            # rows, keys in the same order. Updated records go through the ORM (_apply).
            new_rows, revisions = [], []
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
                    self._apply(rec, data, author, now, state)
                    updated.append(rec.id)
                    record_pk, version, rec_state = rec.pk, rec.version, rec.state
                revisions.append({"record_pk": record_pk, "version": version,
                                  "action": action if version == 1 else "update", "author": author,
                                  "at": now, "state": rec_state, "data": data, "note": None})
            if new_rows:
                s.execute(Record.__table__.insert(), new_rows)
                pks: dict[str, int] = {}
                for i in range(0, len(created), 500):
                    pks.update(s.execute(select(Record.id, Record.pk).where(Record.id.in_(created[i:i + 500]))).all())
                regions = [{"record_pk": pks[row["id"]], "code": c}
                           for row in new_rows for c in row["data"].get("regions", [])]
                if regions:
                    s.execute(RecordRegion.__table__.insert(), regions)
                for rev in revisions:
                    if rev["record_pk"] is None:
                        rev["record_pk"] = pks[rev["data"]["id"]]
            if revisions:
                s.execute(Revision.__table__.insert(), revisions)
        return created, updated

    def write_chunks(self, chunks: Iterable[list[dict]], *, author: str, upsert: bool = False,
                     action: str = "import", state: str = "published") -> tuple[list[str], list[str]]:
        """:meth:`write_many` for each chunk of records, all in ONE transaction (all or nothing),
        holding one chunk in memory at a time (a streaming import of any size)."""
        created, updated = [], []
        with self.session() as s:
            for chunk in chunks:
                c, u = self.write_many(chunk, author=author, upsert=upsert, action=action, state=state, session=s)
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
    def _apply(rec: Record, data: dict, author: str, now: dt.datetime, state: str | None = None) -> None:
        rec.data = data
        rec.kind, rec.language, rec.title = data["kind"], data["language"], data["title"]
        rec.version += 1
        rec.updated_at, rec.updated_by = now, author
        if state:
            rec.state = state
        rec.regions = [RecordRegion(code=c) for c in data.get("regions", [])]

    def update(self, record_id: str, data: dict, *, expected_version: int, author: str,
               state: str | None = None, note: str | None = None) -> dict:
        """Replace a record's data if its version is still ``expected_version``.

        A stale version raises :class:`Conflict` (never a silent overwrite).
        """
        with self.session() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id).with_for_update())
            if rec is None:
                raise NotFound(f"no record with id {record_id!r}")
            if rec.version != expected_version:
                raise Conflict(f"record {record_id!r} was changed by {rec.updated_by} (version "
                               f"{rec.version}, you edited version {expected_version})")
            if data["id"] != record_id:
                raise Conflict("the id of a record cannot be changed")
            now = _now()
            self._apply(rec, data, author, now, state)
            s.add(Revision(record_pk=rec.pk, version=rec.version, action="update", author=author, at=now,
                           state=rec.state, data=data, note=note))
            s.flush()
            return rec.as_dict()

    def set_state(self, record_id: str, state: str, *, author: str, expected_version: int | None = None,
                  action: str | None = None) -> dict:
        """Publish, draft, soft-delete or restore a record (a new revision each time)."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self.session() as s:
            rec = s.scalar(select(Record).where(Record.id == record_id).with_for_update())
            if rec is None:
                raise NotFound(f"no record with id {record_id!r}")
            if expected_version is not None and rec.version != expected_version:
                raise Conflict(f"record {record_id!r} was changed meanwhile (version {rec.version})")
            now = _now()
            rec.state = state
            rec.version += 1
            rec.updated_at, rec.updated_by = now, author
            s.add(Revision(record_pk=rec.pk, version=rec.version, action=action or state, author=author,
                           at=now, state=state, data=rec.data))
            s.flush()
            return rec.as_dict()
