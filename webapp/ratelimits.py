"""Rate-limit counters in a database, shared by every worker (and node) of an instance.

Flask-Limiter counts through a :mod:`limits` storage; this one (``sinergi://``) keeps each
counter as a row of the ``rate_limits`` table and changes it with one atomic upsert, so two
workers or two nodes never both grant the last attempt of a window.

- PostgreSQL: the table is in the store's database (migration 0005), shared by every node.
- SQLite (one machine): the table is in a file of its own beside the store,
  ``ratelimits.db`` in the instance folder, so that a long import holding the store's write
  lock never delays a sign-in. Losing that file loses only counters.

The storage reads the current app's engine (:func:`engine_for` puts it in
``app.extensions``); Flask-Limiter's strategy is the fixed window.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from flask import current_app
from limits.storage import Storage
from sqlalchemy import case, delete, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from kb.base import KnowledgeBase
from kb.store import RateLimit, make_engine

EXTENSION = "sinergi_rate_limits"
_TABLE = RateLimit.__table__
# About one increment in this many also deletes the expired counters.
PURGE_EVERY = 200


def engine_for(kb: KnowledgeBase) -> Engine:
    """Where the instance's counters live: its PostgreSQL database, or ``ratelimits.db``."""
    if kb.store.engine.dialect.name != "sqlite":
        return kb.store.engine
    return _sqlite_engine(kb.home / "ratelimits.db")


def _sqlite_engine(path: Path) -> Engine:
    """The store's SQLite engine settings (WAL, busy waits) for the counters' own file."""
    engine = make_engine(f"sqlite:///{path}")
    _TABLE.create(engine, checkfirst=True)
    return engine


def _engine() -> Engine:
    return current_app.extensions[EXTENSION]


class DatabaseStorage(Storage):
    """A :class:`limits.storage.Storage` over the ``rate_limits`` table (``sinergi://``)."""

    STORAGE_SCHEME = ["sinergi"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter of ``key`` (a new window of ``expiry`` seconds when the
        last one has ended) and return the new count, in one statement."""
        now = time.time()
        engine = _engine()
        dialect = engine.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        new = insert(_TABLE).values(key=key, count=amount, expires_at=now + expiry)
        live = _TABLE.c.expires_at > now
        stmt = new.on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={"count": case((live, _TABLE.c.count + amount), else_=amount),
                  "expires_at": case((live, _TABLE.c.expires_at), else_=now + expiry)},
        ).returning(_TABLE.c.count)
        with engine.begin() as conn:
            count = conn.execute(stmt).scalar_one()
            if random.randrange(PURGE_EVERY) == 0:
                conn.execute(delete(_TABLE).where(_TABLE.c.expires_at <= now))
        return int(count)

    def get(self, key: str) -> int:
        with _engine().connect() as conn:
            row = conn.execute(select(_TABLE.c.count, _TABLE.c.expires_at).where(_TABLE.c.key == key)).first()
        return int(row.count) if row and row.expires_at > time.time() else 0

    def get_expiry(self, key: str) -> float:
        with _engine().connect() as conn:
            expires = conn.execute(select(_TABLE.c.expires_at).where(_TABLE.c.key == key)).scalar()
        now = time.time()
        return float(expires) if expires and expires > now else now

    def check(self) -> bool:
        try:
            with _engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with _engine().begin() as conn:
            return conn.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        with _engine().begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.key == key))

