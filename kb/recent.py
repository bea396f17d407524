"""The most recently changed published records (for feeds): newest ``updated_at`` first."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import select

from .store import Record, Store

_BATCH = 500


def newest_published(store: Store, ids: Iterable[str] | None = None, *, limit: int = 50) -> list[dict]:
    """Up to ``limit`` published records (as :meth:`Store.records` returns them: data with
    ``version``, ``state``, ``created_at``, ``updated_at``...) among ``ids`` (``None``: all),
    the most recently updated first; equal times by id. Ids that are not published are left
    out, so an index a moment behind the store never shows a draft or a deleted record."""
    q = select(Record.id, Record.updated_at).where(Record.state == "published")
    with store.read_snapshot() as conn:
        if ids is None:
            rows = list(conn.execute(q.order_by(Record.updated_at.desc(), Record.id).limit(limit)))
        else:
            wanted = list(dict.fromkeys(ids))
            rows = [row for i in range(0, len(wanted), _BATCH)
                    for row in conn.execute(q.where(Record.id.in_(wanted[i:i + _BATCH])))]
            rows.sort(key=lambda r: r[0])
            rows.sort(key=lambda r: r[1], reverse=True)
            rows = rows[:limit]
    order = [r[0] for r in rows]
    found = {rec["id"]: rec for rec in store.records(ids=order)}
    return [found[rid] for rid in order if rid in found]
