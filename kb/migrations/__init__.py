"""Schema migrations of the store (Alembic): the scripts live in this package (``env.py`` and
``versions/``), configured here in code, so no ``alembic.ini`` is read at run time.

The functions that change the database run on a connection the caller holds inside its write
transaction (the store's write lock), so a check and the change it leads to see one state of the
database, and two processes never migrate the same database at once.

A new revision goes into ``versions/`` as the next number (``0003_...py``, ``revision = "0003"``,
``down_revision`` the previous one), with its module docstring's first line as its title; write
it by hand or start from ``alembic.command.revision(kb.migrations.config(conn), "title",
rev_id="0003", autogenerate=True)``, ``conn`` a connection to a database at the previous head
(inside ``engine.begin()``). A test in ``tests/test_migrations.py`` checks that
a database migrated from empty equals the models.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from ..errors import InstanceError

FOLDER = Path(__file__).parent
BASELINE = "0001"
# The tables of the first release, which kept no revision: a database holding all of them and no
# ``alembic_version`` table is at :data:`BASELINE`.
BASELINE_TABLES = frozenset({"records", "record_regions", "revisions", "users"})


def config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for this package's scripts (``connection``: run on it)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def scripts() -> ScriptDirectory:
    """The revisions of this package (read once: they do not change while Sinergi runs)."""
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The revision this version of Sinergi needs."""
    return scripts().get_current_head()


def current(conn: Connection) -> str | None:
    """The revision of the database: its ``alembic_version``; :data:`BASELINE` for a database
    of the first release (its tables without ``alembic_version``); ``None`` for a database
    without any of the store's tables. Some of the first release's tables but not all:
    :class:`InstanceError` (not a database any release made)."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        return MigrationContext.configure(conn).get_current_revision()
    if not tables & BASELINE_TABLES:
        return None
    if not BASELINE_TABLES <= tables:
        raise InstanceError("the database has some of Sinergi's tables but not all (missing: "
                            + ", ".join(sorted(BASELINE_TABLES - tables)) + "): it was not made by any "
                            "release of Sinergi; use an empty database or a backup")
    return BASELINE


def is_known(revision: str) -> bool:
    """Whether ``revision`` is exactly one of this version's revisions."""
    return revision in _revisions()


@functools.cache
def _revisions() -> frozenset[str]:
    return frozenset(script.revision for script in scripts().walk_revisions())


def stamp(conn: Connection, revision: str) -> None:
    """Record ``revision`` as the database's without running anything."""
    command.stamp(config(conn), revision)


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Run every migration from the database's revision up to ``revision``."""
    command.upgrade(config(conn), revision)


def describe(revision: str | None) -> str:
    """``revision`` with its title, for messages (``0002 (account sessions and disabling)``)."""
    if revision is None:
        return "none"
    if not is_known(revision):
        return revision
    doc = scripts().get_revision(revision).doc
    return f"{revision} ({doc})" if doc else revision


def has_version_table(conn: Connection) -> bool:
    return inspect(conn).has_table("alembic_version")
