"""The slim records a model answers with, packed so that every serving process shares them.

A fit of 100,000 records kept their slim forms (titles, regions, lessons, …) as Python dicts in
every worker, several hundred megabytes each. :class:`PackedRecords` holds them instead as
compact JSON in one byte array, with the ids sorted in a fixed-width byte array beside it: numpy
arrays that the saved model file stores as they are, so that ``joblib.load(mmap_mode="r")`` maps
them read-only and the pages live once in the operating system's page cache, whatever the number
of workers. A record is decoded when an answer reads it (tens per answer).

:class:`RecordsView` is what a snapshot reads: the packed records of the last full fit, the
records changed since (as dicts) over them, and the ids removed since. Each patch makes a new
view; the packed arrays are never copied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from kb.store import _json  # the store's compact JSON


class PackedRecords(Mapping):
    """Records by id, read-only, as ``ids`` (sorted, ``S`` dtype), ``offsets`` (int64, one more
    than the records) and ``blob`` (uint8, the records' JSON one after another)."""

    def __init__(self, records: Mapping[str, dict]):
        ids = sorted(records)
        encoded = [rid.encode("utf-8") for rid in ids]
        if any(e.endswith(b"\0") for e in encoded):  # numpy's S dtype drops trailing NULs
            raise ValueError("a record id ends with a NUL character")
        chunks = [_json(records[rid]).encode("utf-8") for rid in ids]
        self.ids = np.array(encoded, dtype=f"S{max((len(e) for e in encoded), default=1)}")
        self.offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in chunks], out=self.offsets[1:])
        self.blob = np.frombuffer(b"".join(chunks), dtype=np.uint8) if chunks else np.zeros(0, np.uint8)

    def _position(self, key) -> int:
        if not isinstance(key, str):
            return -1
        try:
            b = key.encode("utf-8")
        except UnicodeEncodeError:
            return -1
        if not self.ids.size or len(b) > self.ids.dtype.itemsize:
            return -1
        i = int(np.searchsorted(self.ids, b))
        return i if i < self.ids.size and self.ids[i] == b else -1

    def __getitem__(self, key: str) -> dict:
        i = self._position(key)
        if i < 0:
            raise KeyError(key)
        return json.loads(self.blob[self.offsets[i]:self.offsets[i + 1]].tobytes())

    def __contains__(self, key) -> bool:
        return self._position(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return (b.decode("utf-8") for b in self.ids)

    def __len__(self) -> int:
        return int(self.ids.size)


class RecordsView(Mapping):
    """``packed`` (may be empty) without the ids in ``gone``, with ``changed`` over it."""

    def __init__(self, packed: Mapping[str, dict] | None = None, changed: Mapping[str, dict] | None = None,
                 gone: frozenset[str] = frozenset()):
        self.packed = packed if packed is not None else {}
        self.changed = dict(changed or {})
        self.gone = frozenset(gone)
        self._len = len(self.packed) - len(self.gone) + sum(
            1 for rid in self.changed if rid not in self.packed or rid in self.gone)

    def without(self, ids: Iterable[str]) -> RecordsView:
        ids = set(ids)
        changed = {rid: rec for rid, rec in self.changed.items() if rid not in ids}
        gone = self.gone | {rid for rid in ids if rid in self.packed}
        return RecordsView(self.packed, changed, gone)

    def adding(self, records: Mapping[str, dict]) -> RecordsView:
        """This view with ``records`` added or replacing theirs."""
        return RecordsView(self.packed, {**self.changed, **records}, self.gone)

    def __getitem__(self, key: str) -> dict:
        if key in self.changed:
            return self.changed[key]
        if key in self.gone:
            raise KeyError(key)
        return self.packed[key]

    def __contains__(self, key) -> bool:
        return key in self.changed or (key not in self.gone and key in self.packed)

    def __iter__(self) -> Iterator[str]:
        for rid in self.packed:
            if rid not in self.gone and rid not in self.changed:
                yield rid
        yield from self.changed

    def __len__(self) -> int:
        return self._len


class AnswerRecords(Mapping):
    """A view's records for one answer: each record decoded once, however often the answer
    reads it (a recommendation reads ~120 records, many of them several times). The dicts are
    read-only, as a view's are."""

    def __init__(self, view: Mapping[str, dict]):
        self.view = view
        self._decoded: dict[str, dict] = {}

    def __getitem__(self, key: str) -> dict:
        rec = self._decoded.get(key)
        if rec is None:
            rec = self._decoded[key] = self.view[key]
        return rec

    def __contains__(self, key) -> bool:
        return key in self._decoded or key in self.view

    def __iter__(self) -> Iterator[str]:
        return iter(self.view)

    def __len__(self) -> int:
        return len(self.view)
