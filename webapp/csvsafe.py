"""CSV for the public downloads: streamed in chunks, and every cell that a spreadsheet would
read as a formula neutralised (``sinergi export`` stays lossless and does not use this)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and
# Google Sheets: ``=HYPERLINK(...)``, ``+cmd``, ``-1+1``, ``@SUM(...)``, or a tab or carriage
# return in front of one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_CHARS = 64 * 1024


def neutralize(cell) -> str:
    """``cell`` as text, with a leading apostrophe when a spreadsheet would run it as a formula
    (the apostrophe makes the cell plain text; the rest of the value is kept as it is)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def stream_csv(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows`` (every cell neutralised), in chunks of about
    64 kB, so that a large download is never held in memory whole."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralize(c) for c in header])
    for row in rows:
        writer.writerow([neutralize(c) for c in row])
        if buf.tell() >= CHUNK_CHARS:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue()
