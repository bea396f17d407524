"""Decoded postings of a large segment, in a file beside it that every searching process maps.

Whoosh keeps a term's postings in compressed blocks; a search decodes the blocks of every term it
evaluates, and at 100,000 records that decoding was most of a search page's time. Each process
kept the postings it had decoded in a private cache, so every worker paid for its own copy.

A segment never changes once written (deletions are kept apart from it), so its decoded postings
can be written once, as plain arrays, to ``<segment id>.decoded`` in the index folder, and mapped
read-only by every worker on the machine: the pages live once, in the operating system's page
cache, and a term's postings are a slice of the map (no decoding, no copy). The file name has the
segment's prefix, so Whoosh's own clean-up removes it with its segment after a merge.

Layout (little-endian): an 8-byte magic, the number of terms ``T`` and of postings ``P``
(int64 each); then ``T`` key hashes (uint64, sorted), ``T`` starts and ``T`` counts (int64), the
``P`` document numbers (int32) and the ``P`` term frequencies (float32). A key hash is the first
8 bytes of BLAKE2b over ``fieldname NUL term bytes``; only terms in at least ``MIN_DF`` documents
are kept (rarer ones decode in microseconds from the segment itself).
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from filelock import FileLock
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader

log = logging.getLogger(__name__)

MAGIC = b"SNGDEC01"
_HEADER = 24
MIN_SEGMENT_DOCS = 2000  # smaller segments (a save writes one of one record) decode on demand
MIN_DF = 32


def key_hash(fieldname: str, btext: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(fieldname.encode("utf-8") + b"\0" + btext, digest_size=8).digest(),
                          "little")


def path_for(folder: Path, segment) -> Path:
    return Path(folder) / f"{segment.segment_id()}.decoded"


class DecodedPostings:
    """One segment's decoded postings, memory-mapped read-only."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._map = np.memmap(self.path, mode="r", dtype=np.uint8)
        buf = self._map
        if buf.size < _HEADER or bytes(buf[:8]) != MAGIC:
            raise ValueError(f"{self.path.name}: not a decoded-postings file")
        nterms, npostings = (int(x) for x in np.frombuffer(buf, dtype="<i8", count=2, offset=8))
        if buf.size != _HEADER + nterms * 24 + npostings * 8:
            raise ValueError(f"{self.path.name}: truncated")
        at = _HEADER
        self.hashes = np.frombuffer(buf, dtype="<u8", count=nterms, offset=at)
        self.starts = np.frombuffer(buf, dtype="<i8", count=nterms, offset=at + 8 * nterms)
        self.counts = np.frombuffer(buf, dtype="<i8", count=nterms, offset=at + 16 * nterms)
        at += 24 * nterms
        self.ids = np.frombuffer(buf, dtype="<i4", count=npostings, offset=at)
        self.tf = np.frombuffer(buf, dtype="<f4", count=npostings, offset=at + 4 * npostings)
        self.terms = nterms
        self.postings = npostings

    def get(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """The document numbers and frequencies of a term, or None when the file does not hold
        it (a term in fewer than ``MIN_DF`` documents, or none)."""
        h = np.uint64(key_hash(fieldname, btext))  # (a Python int above 2**63 would make
        i = int(np.searchsorted(self.hashes, h))    # numpy compare the whole table as floats)
        if i >= self.terms or int(self.hashes[i]) != h:
            return None
        start, count = int(self.starts[i]), int(self.counts[i])
        return self.ids[start:start + count], self.tf[start:start + count]

    def willneed(self) -> None:
        """Ask the kernel to read the file ahead into the page cache (after a restart)."""
        try:
            self._map._mmap.madvise(mmap.MADV_WILLNEED)
        except (AttributeError, OSError, ValueError):
            pass


def write(path: Path, segreader, fieldnames: Iterable[str], read_postings) -> None:
    """Decode every term of ``fieldnames`` in at least ``MIN_DF`` documents of ``segreader`` into
    ``path`` (written to a temporary name, then renamed: a reader never sees half a file).
    ``read_postings(segreader, fieldname, btext)`` decodes one term. Memory: the term table,
    and one term's postings at a time."""
    keys: list[tuple[int, int, str, bytes]] = []  # (hash, df, fieldname, term)
    for name in fieldnames:
        if name not in segreader.schema:
            continue
        for btext, info in segreader.iter_field(name):
            df = info.doc_frequency()
            if df >= MIN_DF:
                keys.append((key_hash(name, btext), df, name, btext))
    keys.sort()
    if len({k[0] for k in keys}) != len(keys):  # two keys with one hash: leave them to the segment
        seen: dict[int, int] = {}
        for k in keys:
            seen[k[0]] = seen.get(k[0], 0) + 1
        keys = [k for k in keys if seen[k[0]] == 1]
    nterms = len(keys)
    counts = np.array([k[1] for k in keys], dtype="<i8")
    starts = np.zeros(nterms, dtype="<i8")
    if nterms:
        np.cumsum(counts[:-1], out=starts[1:])
    npostings = int(counts.sum())
    ids_at = _HEADER + 24 * nterms
    tf_at = ids_at + 4 * npostings
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + np.array([nterms, npostings], dtype="<i8").tobytes())
            f.write(np.array([k[0] for k in keys], dtype="<u8").tobytes())
            f.write(starts.tobytes())
            f.write(counts.tobytes())
            f.truncate(tf_at + 4 * npostings)
            for (_, df, name, btext), start in zip(keys, starts.tolist()):
                ids, tf = read_postings(segreader, name, btext)
                if ids.size != df:  # the term table and its postings disagree: write nothing
                    raise ValueError(f"{name}:{btext!r}: {ids.size} postings for a frequency of {df}")
                f.seek(ids_at + 4 * start)
                f.write(ids.astype("<i4", copy=False).tobytes())
                f.seek(tf_at + 4 * start)
                f.write(tf.astype("<f4", copy=False).tobytes())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def open_or_build(folder: Path, segreader, fieldnames: Iterable[str], read_postings, *,
                  build: bool = True) -> DecodedPostings | None:
    """The decoded postings of ``segreader``'s segment: mapped from its file, or (``build``)
    written first by whichever process gets the segment's lock while the others wait for it.
    The writing reads the segment through a reader of its own (``segreader``'s file handles
    belong to the searches that go on meanwhile).
    None for a small segment, when not built yet and ``build`` is false, or when the index folder
    cannot be written (the caller then decodes from the segment as before)."""
    segment = segreader.segment()
    if segment is None or segreader.doc_count_all() < MIN_SEGMENT_DOCS:
        return None
    path = path_for(folder, segment)
    found = _open(path)
    if found is not None or not build:
        return found
    try:
        with FileLock(str(path) + ".lock", timeout=600):
            found = _open(path)
            if found is None:
                own = SegmentReader(FileStorage(str(folder)), segreader.schema, segment)
                try:
                    write(path, own, fieldnames, read_postings)
                finally:
                    own.close()
                found = _open(path)
    except OSError:
        return None
    except ValueError as e:  # a segment this module cannot read whole: searches decode per term
        log.warning("postings of segment %s not decoded to a file: %s", segment.segment_id(), e)
        return None
    return found


def _open(path: Path) -> DecodedPostings | None:
    try:
        return DecodedPostings(path)
    except FileNotFoundError:
        return None
    except (ValueError, OSError):  # a damaged file: written again by the next builder
        path.unlink(missing_ok=True)
        return None
