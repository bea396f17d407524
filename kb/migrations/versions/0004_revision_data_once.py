"""a record's current data stored once

Revision 0004: ``revisions.data`` may be NULL, meaning "as the next revision's data" (for the
newest revision: as the record's). The newest revision of every record whose data equals the
record's gives it up, so the store keeps a record's current form once instead of twice.
Downgrading writes every revision's data back.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.alter_column("data", existing_type=sa.JSON(), nullable=True)
    bind = op.get_bind()
    # Compared as JSON values on PostgreSQL (its json type has no equality), as the stored text
    # on SQLite (both written from one dict by one serializer; a difference only keeps a copy).
    same = ("r.data::jsonb = rec.data::jsonb" if bind.dialect.name == "postgresql" else "r.data = rec.data")
    bind.execute(sa.text(
        "UPDATE revisions SET data = NULL WHERE pk IN ("
        " SELECT r.pk FROM revisions r JOIN records rec ON rec.pk = r.record_pk"
        f" WHERE r.version = rec.version AND {same})"))


def downgrade() -> None:
    bind = op.get_bind()
    pending = bind.execute(sa.text(
        "SELECT DISTINCT record_pk FROM revisions WHERE data IS NULL ORDER BY record_pk")).scalars().all()
    for start in range(0, len(pending), 500):
        pks = pending[start:start + 500]
        current = dict(bind.execute(sa.text("SELECT pk, data FROM records WHERE pk IN :pks")
                                    .bindparams(sa.bindparam("pks", expanding=True)), {"pks": pks}).all())
        rows = bind.execute(sa.text("SELECT pk, record_pk, data FROM revisions WHERE record_pk IN :pks "
                                    "ORDER BY record_pk, version DESC")
                            .bindparams(sa.bindparam("pks", expanding=True)), {"pks": pks}).all()
        fill, carry, record = [], None, None
        for pk, record_pk, data in rows:
            if record_pk != record:
                record, carry = record_pk, current[record_pk]
            if data is None:
                fill.append({"pk": pk, "data": carry if isinstance(carry, str) else json.dumps(carry)})
            else:
                carry = data
        if fill:
            bind.execute(sa.text("UPDATE revisions SET data = :data WHERE pk = :pk"), fill)
    with op.batch_alter_table("revisions") as batch:
        batch.alter_column("data", existing_type=sa.JSON(), nullable=False)
