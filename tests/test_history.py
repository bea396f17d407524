"""A record's history: every version readable, the current form stored once, and an older
database (every revision with its data) upgraded and back without losing a version."""

from __future__ import annotations

import json
import os

from alembic import command
from click.testing import CliRunner
from sqlalchemy import text

from kb import migrations
from kb.base import KnowledgeBase
from kb.cli import main
from kb.io import RawRecord
from kb.store import make_engine


def _case(rid: str, title: str, body: str) -> dict:
    return {"id": rid, "kind": "case", "title": title, "language": "id",
            "summary": "Ringkasan kerja sama pengelolaan sampah antar kabupaten yang berbatasan.",
            "body": body, "regions": ["32.04", "32.17"], "sectors": ["persampahan"],
            "sources": [{"title": "Catatan uji", "publisher": "Sinergi", "date": "2024-01-01"}]}


BODY = "Kabupaten Bandung dan Kabupaten Bandung Barat mengangkut sampah ke TPA bersama setiap hari. " * 3


def _history(kb: KnowledgeBase, rid: str) -> list[tuple[int, str, str, str]]:
    return [(r["version"], r["action"], r["state"], r["data"]["title"]) for r in kb.store.revisions(rid)]


def _stored_copies(kb: KnowledgeBase) -> int:
    with kb.store.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM revisions WHERE data IS NOT NULL")).scalar()


def test_every_version_reads_back_after_edits_state_changes_and_upserts(tmp_path):
    kb = KnowledgeBase(tmp_path / "i")
    kb.create(_case("riwayat-a", "Versi satu", BODY), author="editor")
    kb.update("riwayat-a", _case("riwayat-a", "Versi dua", BODY), expected_version=1, author="editor")
    kb.set_state("riwayat-a", "draft", author="editor")
    kb.set_state("riwayat-a", "published", author="editor")
    kb.update("riwayat-a", _case("riwayat-a", "Versi tiga", BODY), expected_version=4, author="editor")
    same = RawRecord("u.jsonl", 1, _case("riwayat-a", "Versi tiga", BODY))
    kb.import_raw([same], upsert=True)  # unchanged: no new version
    kb.import_raw([RawRecord("u.jsonl", 1, _case("riwayat-a", "Versi empat", BODY))], upsert=True)

    assert _history(kb, "riwayat-a") == [
        (1, "create", "published", "Versi satu"),
        (2, "update", "published", "Versi dua"),
        (3, "draft", "draft", "Versi dua"),
        (4, "published", "published", "Versi dua"),
        (5, "update", "published", "Versi tiga"),
        (6, "update", "published", "Versi empat"),
    ]
    assert kb.store.get("riwayat-a")["title"] == "Versi empat"
    # Versions 1, 4 and 5 are the last of a form that later changed; 2, 3 chain to 4 and 6 is
    # the record: three stored copies besides the record itself.
    assert _stored_copies(kb) == 3


def test_an_import_stores_each_record_once(tmp_path):
    kb = KnowledgeBase(tmp_path / "i")
    raws = [RawRecord("b.jsonl", i + 1, _case(f"sekali-{i}", f"Kasus {i}", BODY)) for i in range(40)]
    kb.import_raw(raws)
    assert _stored_copies(kb) == 0
    assert [r["data"]["title"] for r in kb.store.revisions("sekali-7")] == ["Kasus 7"]


def test_an_older_database_upgrades_and_downgrades_without_losing_a_version(tmp_path):
    home = tmp_path / "i"
    kb = KnowledgeBase(home)
    kb.create(_case("riwayat-b", "Pertama", BODY), author="editor")
    kb.update("riwayat-b", _case("riwayat-b", "Kedua", BODY), expected_version=1, author="editor")
    kb.set_state("riwayat-b", "deleted", author="editor")
    kb.import_raw([RawRecord("b.jsonl", i + 1, _case(f"lain-{i}", f"Kasus {i}", BODY * 8)) for i in range(200)])
    before = kb.store.revisions("riwayat-b")
    url = kb.store.url
    kb.close()

    engine = make_engine(url)
    with engine.begin() as conn:
        command.downgrade(migrations.config(conn), "0003")
        rows = conn.execute(text("SELECT r.version, r.data FROM revisions r JOIN records rec ON rec.pk = r.record_pk "
                                 "WHERE rec.id = 'riwayat-b' ORDER BY r.version")).all()
        empty = conn.execute(text("SELECT count(*) FROM revisions WHERE data IS NULL")).scalar()
    engine.dispose()
    # The downgraded schema holds every revision's data, as the older releases wrote it.
    assert [(d if isinstance(d, dict) else json.loads(d))["title"] for _, d in rows] == ["Pertama", "Kedua", "Kedua"]
    assert empty == 0

    result = CliRunner().invoke(main, ["--home", str(home), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "to 0005" in result.output
    again = KnowledgeBase(home, create=False)
    assert again.store.revisions("riwayat-b") == before
    assert _stored_copies(again) == 2  # versions 1 and 2; the newest (3) gave its copy up
    again.close()

    if again.store.engine.dialect.name != "sqlite":
        return
    # The upgrade rewrote the revisions table; compaction gives the space back.
    path = home / "sinergi.db"
    grown = os.path.getsize(path)
    result = CliRunner().invoke(main, ["--home", str(home), "db", "compact"])
    assert result.exit_code == 0, result.output
    assert "Compacted the database" in result.output
    assert os.path.getsize(path) < 0.8 * grown
    after = KnowledgeBase(home, create=False)
    assert after.store.revisions("riwayat-b") == before
    assert after.search("Kasus 17", limit=3).results[0].id == "lain-17"
    with after.store.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    after.close()


def test_compact_refuses_while_another_process_holds_the_database(tmp_path):
    home = tmp_path / "i"
    kb = KnowledgeBase(home)
    if kb.store.engine.dialect.name != "sqlite":
        result = CliRunner().invoke(main, ["--home", str(home), "db", "compact"])
        assert result.exit_code == 0 and "autovacuum" in result.output
        return
    kb.create(_case("sibuk", "Sibuk", BODY), author="editor")
    with kb.store.read_snapshot() as c:  # a server in the middle of a read
        c.execute(text("SELECT count(*) FROM records")).scalar()
        result = CliRunner().invoke(main, ["--home", str(home), "db", "compact"])
    assert result.exit_code != 0
    assert "in use by another process" in result.output
    assert kb.store.get("sibuk")["title"] == "Sibuk"
    kb.close()
