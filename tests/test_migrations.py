"""Schema migrations: a database of the first release (its tables, no revision) is refused by
ordinary commands, upgraded by ``sinergi db upgrade``, ``sinergi init`` and ``serve``'s first
start with its data kept; a new database ends at the head revision with exactly the models'
schema. Real SQLite files, and PostgreSQL databases when ``SINERGI_TEST_POSTGRES`` is set."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, insert, inspect, select, text
from werkzeug.security import generate_password_hash

import kb.base
from kb import migrations
from kb.base import KnowledgeBase
from kb.errors import InstanceError
from kb.io import read_file
from kb.schema import validate_record
from kb.store import Base, Record, Revision, Store, User, make_engine
from conftest import PASSWORD, make_app
from test_accounts import sign_in, signed_in
from webapp.cli import main

NOW = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)


def _new_url(home) -> str:
    """A database of its own for ``home`` (a SQLite file in it, or a new PostgreSQL database)."""
    return kb.base.default_database_url(home)


def _first_release_instance(home, small_file) -> str:
    """An instance folder whose database is what the first release made: its tables (revision
    0001's DDL), no ``alembic_version``, an editor account and the records of ``small_file``
    with their revisions and regions. Returns the database URL."""
    home.mkdir()
    url = _new_url(home)
    (home / "settings.json").write_text(json.dumps({"secret_key": "k" * 64, "database_url": url}))
    engine = make_engine(url)
    records = [validate_record(raw.data)[0] for raw in read_file(small_file)]
    with engine.begin() as conn:
        migrations.upgrade(conn, migrations.BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO users (username, password_hash, role, token_hash, created_at) "
                          "VALUES (:u, :h, 'editor', NULL, :t)"),
                     {"u": "rina", "h": generate_password_hash(PASSWORD), "t": NOW})
        for data in records:
            pk = conn.execute(insert(Record).returning(Record.pk), {
                "id": data["id"], "kind": data["kind"], "language": data["language"], "title": data["title"],
                "data": data, "state": "published", "version": 1, "created_at": NOW, "updated_at": NOW,
                "created_by": "cli", "updated_by": "cli"}).scalar_one()
            for code in data.get("regions", []):
                conn.execute(text("INSERT INTO record_regions (record_pk, code) VALUES (:pk, :code)"),
                             {"pk": pk, "code": code})
            conn.execute(insert(Revision), {"record_pk": pk, "version": 1, "action": "import", "author": "cli",
                                            "at": NOW, "state": "published", "data": data, "note": None})
    engine.dispose()
    return url


def _columns(url: str, table: str) -> dict[str, dict]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return {col["name"]: col for col in inspect(c).get_columns(table)}
    finally:
        engine.dispose()


def _differences(url: str, metadata: MetaData = Base.metadata) -> list:
    """What Alembic's autogenerate finds between the database and ``metadata`` (the models;
    types and server defaults compared too)."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            ctx = MigrationContext.configure(c, opts={"compare_type": True, "compare_server_default": True})
            return compare_metadata(ctx, metadata)
    finally:
        engine.dispose()


def test_a_first_release_database_is_refused_until_db_upgrade(tmp_path, small_file):
    home = tmp_path / "lama"
    url = _first_release_instance(home, small_file)
    with pytest.raises(InstanceError, match=r"schema is at revision 0001 .*this version needs 0005 .*"
                                            r"run `sinergi db upgrade`"):
        KnowledgeBase(home)
    assert "session_generation" not in _columns(url, "users")  # refusing changed nothing

    run = CliRunner().invoke
    refused = run(main, ["--home", str(home), "search", "kartamantul"])
    assert refused.exit_code == 1 and "sinergi db upgrade" in refused.output
    current = run(main, ["--home", str(home), "db", "current"])
    assert current.exit_code == 0 and current.output.startswith("0001 ") and "db upgrade" in current.output

    upgraded = run(main, ["--home", str(home), "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "from revision 0001" in upgraded.output and "to 0005" in upgraded.output
    assert run(main, ["--home", str(home), "db", "current"]).output.startswith("0005 ")
    again = run(main, ["--home", str(home), "db", "upgrade"])
    assert again.exit_code == 0 and "already at revision 0005" in again.output

    users = _columns(url, "users")
    assert not users["session_generation"]["nullable"] and not users["disabled"]["nullable"]
    assert _differences(url) == []

    app = make_app(home)  # indexes the kept records on first start
    store = app.extensions["sinergi_kb"].store
    with store.session() as s:
        rina = s.scalar(select(User).where(User.username == "rina"))
        assert (rina.session_generation, rina.disabled, rina.role) == (0, False, "editor")
    assert store.count() == len(read_file(small_file))
    assert [r["version"] for r in store.revisions("uji-kartamantul")] == [1]
    c = app.test_client()
    assert sign_in(c).status_code == 302 and signed_in(c)  # the first release's password still verifies
    assert "Kartamantul" in c.get("/cari?q=kartamantul").get_data(as_text=True)


def test_sinergi_init_upgrades_a_first_release_database_and_indexes_it(tmp_path, small_file):
    home = tmp_path / "lama"
    _first_release_instance(home, small_file)
    result = CliRunner().invoke(main, ["--home", str(home), "init"])
    assert result.exit_code == 0, result.output
    assert "Upgraded the database schema from revision 0001" in result.output
    assert "Attached to a store of 3 published records" in result.output
    with KnowledgeBase(home, create=False) as instance:
        assert instance.store.schema_revision() == migrations.head()
        assert [h.id for h in instance.search("kartamantul").results][:1] == ["uji-kartamantul"]


def test_serve_first_start_upgrades_a_first_release_database(tmp_path, small_file):
    from webapp.server import prepare

    home = tmp_path / "lama"
    _first_release_instance(home, small_file)
    assert prepare(home) == (home.resolve(), 3)
    with KnowledgeBase(home, create=False) as instance:
        assert instance.store.schema_revision() == migrations.head()


def test_a_new_database_is_at_head_with_the_models_schema(tmp_path):
    home = tmp_path / "neu"
    with KnowledgeBase(home) as instance:
        url = instance.store.url
        assert instance.store.schema_revision() == migrations.head() == "0005"
        assert instance.store.upgraded is None
    assert _differences(url) == []


def test_running_every_migration_gives_the_same_schema_as_a_new_store(tmp_path):
    (tmp_path / "m").mkdir()
    url = _new_url(tmp_path / "m")
    engine = make_engine(url)
    with engine.begin() as conn:
        migrations.upgrade(conn)
    engine.dispose()
    assert _differences(url) == []
    assert Store(url).schema_revision() == migrations.head()  # and a store accepts it as is


def test_the_baseline_is_the_models_without_the_account_columns_added_since(tmp_path):
    first_release = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name == "users":
            Table("users", first_release, *(c._copy() for c in table.columns
                                             if c.name not in ("session_generation", "disabled")))
        elif table.name == "revisions":  # every revision kept its data until 0004
            table.to_metadata(first_release).c.data.nullable = False
        elif table.name == "rate_limits":  # added by 0005
            continue
        else:
            table.to_metadata(first_release)
    Table("record_regions", first_release,  # dropped by 0003
          Column("record_pk", Integer, ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
          Column("code", String(13), primary_key=True, index=True))
    (tmp_path / "b").mkdir()
    url = _new_url(tmp_path / "b")
    engine = make_engine(url)
    with engine.begin() as conn:
        migrations.upgrade(conn, migrations.BASELINE)
    engine.dispose()
    assert _differences(url, first_release) == []
    changes = _differences(url)  # what 0002 adds, 0003 drops, 0004 lets be NULL and 0005 adds
    nullable = [(d[0][0], d[0][2], d[0][3], d[0][6]) for d in changes if isinstance(d, list)]
    assert nullable == [("modify_nullable", "revisions", "data", True)]
    changes = [d for d in changes if not isinstance(d, list)]
    added = sorted((d[0], d[2], d[3].name) for d in changes if d[0] == "add_column")
    assert added == [("add_column", "users", "disabled"), ("add_column", "users", "session_generation")]
    tables = sorted(d[0] + " " + d[1].name for d in changes if d[0] in ("add_table", "add_index"))
    assert tables == ["add_index ix_rate_limits_expires_at", "add_table rate_limits"]
    dropped = sorted(d[0] + " " + d[1].name for d in changes if d[0] in ("remove_table", "remove_index"))
    assert dropped == ["remove_index ix_record_regions_code", "remove_table record_regions"]
    assert len(changes) == len(added) + len(tables) + len(dropped)


def test_a_database_upgraded_by_a_newer_version_is_refused(tmp_path):
    home = tmp_path / "neuer"
    with KnowledgeBase(home) as instance:
        url = instance.store.url
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    for upgrade in (False, True):
        with pytest.raises(InstanceError, match="revision 0999, which this version of Sinergi does not know"):
            Store(url, upgrade=upgrade)


def test_a_database_with_only_some_of_the_tables_is_refused(tmp_path):
    (tmp_path / "x").mkdir()
    url = _new_url(tmp_path / "x")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (pk INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(InstanceError, match="some of Sinergi's tables but not all"):
        Store(url, upgrade=True)


def test_two_stores_opening_one_new_database_at_once_create_it_once(tmp_path):
    (tmp_path / "zwei").mkdir()
    url = _new_url(tmp_path / "zwei")
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        try:
            start.wait()
            Store(url).close()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = make_engine(url)
    with engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [migrations.head()]
    engine.dispose()
