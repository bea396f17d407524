"""Text analysis for the index writer, in this process or in helper processes.

A large index write (an import, ``sinergi reindex``) analyzes its text fields in helper
processes started as ``python -m kb.search.textworker``, while the writing process builds the segment
(see :func:`kb.search.writer.analyzed_documents`). A helper imports :mod:`kb.text` only (~25 MB,
not the ~110 MB of the command line). It reads from stdin and writes to stdout frames of
an 8-byte length and a pickle: first the fields' specs ``{field: (kind, arg)}``, then batches of
documents' text values ``[{field: text}]``, each answered by ``[{field: (terms, length)}]``.
End of input ends it.
"""

from __future__ import annotations

import pickle
import struct
import sys
from collections import Counter
from typing import BinaryIO

from ..text import index_positions

_HEADER = struct.Struct("<Q")


def text_terms(kind: str, arg, value: str) -> tuple[dict, int]:
    """``(term -> positions or count, number of tokens)`` of ``value``: ``kind`` ``positions``
    analyzes with :func:`kb.text.index_positions` in language ``arg``; ``frequency`` counts the
    lower-cased matches of the compiled expression ``arg``."""
    if kind == "positions":
        return index_positions(value, arg)
    if arg.groups:  # findall would give the groups, not the whole match
        tokens = [m.group(0) for m in arg.finditer(value)]
    else:
        tokens = arg.findall(value)
    return Counter(map(str.lower, tokens)), len(tokens)


def write_frame(out: BinaryIO, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def read_frame(inp: BinaryIO):
    """The next object, or EOFError at a clean end of input."""
    head = inp.read(_HEADER.size)
    if not head:
        raise EOFError
    if len(head) < _HEADER.size:
        raise EOFError("truncated frame header")
    size = _HEADER.unpack(head)[0]
    data = inp.read(size)
    if len(data) < size:
        raise EOFError("truncated frame")
    return pickle.loads(data)


def main() -> int:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        specs = read_frame(inp)
    except EOFError:
        return 0
    while True:
        try:
            batch = read_frame(inp)
        except EOFError:
            return 0
        write_frame(out, [{name: text_terms(*specs[name], value) for name, value in doc.items()}
                          for doc in batch])


if __name__ == "__main__":
    sys.exit(main())
