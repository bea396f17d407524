"""CSV and workbooks (.xlsx) for the public downloads: every cell that a spreadsheet would read
as a formula neutralised (``sinergi export`` stays lossless and does not use this). CSV is
streamed in chunks; a workbook is a zip that is complete only at its end, so it is built whole
(the views cap its rows as they cap the CSV's)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from kb.io import XLSX_CELL_MAX, xlsx_bytes

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


def workbook(header: Iterable[str], rows: Iterable[Iterable]) -> bytes:
    """A workbook of ``header`` and ``rows``: every cell neutralised, stored as text, and cut
    to the :data:`~kb.io.XLSX_CELL_MAX` characters a spreadsheet cell holds (ending with "…")."""
    def cell(value) -> str:
        text = neutralize(value)
        return text if len(text) <= XLSX_CELL_MAX else text[:XLSX_CELL_MAX - 1] + "…"

    return xlsx_bytes([cell(c) for c in header], ([cell(c) for c in row] for row in rows))
