"""drop record_regions

Revision 0003: the ``record_regions`` table is dropped. A record's regions live in its data;
region pages, peers and partners read them from there (and from the search index's facets).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_record_regions_code", table_name="record_regions")
    op.drop_table("record_regions")


def downgrade() -> None:
    op.create_table(
        "record_regions",
        sa.Column("record_pk", sa.Integer(), sa.ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(13), primary_key=True),
    )
    op.create_index("ix_record_regions_code", "record_regions", ["code"])
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT pk, data FROM records")).all()
    regions = []
    for pk, data in rows:
        if isinstance(data, str):
            data = json.loads(data)
        regions += [{"record_pk": pk, "code": c} for c in dict.fromkeys((data or {}).get("regions", []))]
    if regions:
        bind.execute(sa.text("INSERT INTO record_regions (record_pk, code) VALUES (:record_pk, :code)"), regions)
