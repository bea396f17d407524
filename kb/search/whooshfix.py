"""One adjustment to whoosh3's internals (whoosh3 is pinned exactly; see ARCHITECTURE.md).

whoosh3 maps each segment file into memory and hands out its parts (term table, postings,
stored fields, columns) as ``BufferFile`` objects; ``BufferFile`` wraps its memoryview of the
map in ``io.BytesIO``, which *copies* it. A serving process therefore held a private copy of
the whole index (~75 MB at 10,000 records, ~10× that at 100,000), in every worker. Here the
part is read through :class:`ViewIO`, a read-only file over the memoryview itself: the pages
stay the operating system's shared page cache, and nothing is copied until a read asks for it.
"""

from __future__ import annotations

import io

from whoosh.filedb import structfile


class ViewIO(io.RawIOBase):
    """A read-only, seekable file over a memoryview (no copy of the view is made)."""

    def __init__(self, view: memoryview):
        super().__init__()
        self._view = view
        self._pos = 0
        self._len = len(view)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self._pos
        elif whence == io.SEEK_END:
            pos += self._len
        self._pos = max(0, pos)
        return self._pos

    def read(self, n: int | None = -1) -> bytes:
        start = min(self._pos, self._len)
        end = self._len if n is None or n < 0 else min(self._len, start + n)
        self._pos = end
        return bytes(self._view[start:end])

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._view = memoryview(b"")
        super().close()


_original_init = structfile.BufferFile.__init__


def _buffer_file_init(self, buf, name=None, onclose=None) -> None:
    if isinstance(buf, memoryview):
        _original_init(self, b"", name, onclose)
        self._buf = buf
        self.file = ViewIO(buf)
    else:
        _original_init(self, buf, name, onclose)


def apply() -> None:
    """Install the no-copy ``BufferFile`` (idempotent)."""
    structfile.BufferFile.__init__ = _buffer_file_init
