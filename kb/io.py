"""Reading and writing the interchange format: JSON Lines, JSON arrays, CSV, spreadsheets (.xlsx)
and text guides.

Files are read as streams (``iter_file``): a record at a time for JSON Lines, CSV and JSON arrays,
so the command line imports files of any size in bounded memory. Guides are read whole (at most
``MAX_GUIDE_BYTES``); the web upload reads whole files too (``decode``, at most ``MAX_FILE_BYTES``).
A workbook is read whole by pandas (its first sheet, the CSV columns and cells): at most
``MAX_XLSX_BYTES`` on disk, ``MAX_XLSX_UNPACKED`` unpacked and ``MAX_XLSX_ROWS`` records.

Text encodings: JSON and JSON Lines are UTF-8 (a BOM is accepted). CSV and guides come from
spreadsheets and word processors too: a BOM decides (UTF-8, UTF-16, UTF-32), else UTF-8 when
every byte is valid UTF-8, else UTF-16 when the text has the zero bytes of UTF-16 without a BOM,
else Windows-1252. Line ends may be LF, CRLF or CR.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import Invalid, RecordProblem
from .schema import FIELD_ORDER, LIST_FIELDS, MAX_TITLE, OBJECT_LIST_FIELDS, slug_for

MAX_FILE_BYTES = 50 * 1024 * 1024   # whole-file reads: the web upload (it has its own limit too)
MAX_GUIDE_BYTES = 50 * 1024 * 1024  # a text guide is read whole; larger is not a guide
INT_FIELDS = ("start_year", "end_year")
CSV_CHUNK_ROWS = 1000
_CHUNK = 1 << 20
# A record nests three levels (record, list, object); anything far deeper is refused before it
# can exhaust the parser's stack.
MAX_JSON_DEPTH = 32
# A CSV header is refused unread beyond this many columns (the interchange format has fewer
# than 30 fields; a header of 150,000 would hold a worker for seconds).
MAX_CSV_COLUMNS = 2 * len(FIELD_ORDER)
# A workbook cannot be streamed: pandas holds its first sheet whole. An .xlsx is a zip of XML,
# so the unpacked size is checked from the zip's directory before anything is parsed.
MAX_XLSX_BYTES = 50 * 1024 * 1024
MAX_XLSX_UNPACKED = 400 * 1024 * 1024
MAX_XLSX_ROWS = 100_000
# The most characters a spreadsheet cell holds (Excel, LibreOffice): longer text cannot be
# written to a workbook without cutting it.
XLSX_CELL_MAX = 32_767
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class JSONTooDeep(ValueError):
    """JSON nested more than :data:`MAX_JSON_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"nested too deeply (more than {MAX_JSON_DEPTH} levels)")


def loads_json(text: str | bytes, **kw):
    """``json.loads`` (``kw`` passed on) with at most :data:`MAX_JSON_DEPTH` levels of arrays and
    objects; deeper input raises :class:`JSONTooDeep` (a ValueError), malformed input
    ``json.JSONDecodeError``."""
    try:
        value = json.loads(text, **kw)
    except RecursionError:
        raise JSONTooDeep() from None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                raise JSONTooDeep()
            stack.extend((x, depth + 1) for x in (item.values() if isinstance(item, dict) else item))
    return value

Progress = Callable[[int], object]  # called with the number of bytes just read


@dataclass
class RawRecord:
    """A record as read, with where it came from."""

    source: str
    line: int | None
    data: dict


class FileProblem(Exception):
    """A file, or some lines or rows of it, that cannot be read (encoding, syntax, missing
    columns). ``records`` holds what could be read despite them (the other lines of a JSON Lines
    file, the rows of a CSV file), so that an import can report their problems too."""

    def __init__(self, problems: list[RecordProblem], records: list[RawRecord] | None = None):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
        self.records = records or []


def detect_format(path: str) -> str:
    name = path.lower()
    for ext, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"), (".csv", "csv"),
                     (".xlsx", "xlsx"), (".md", "markdown"), (".markdown", "markdown"), (".txt", "text")):
        if name.endswith(ext):
            return fmt
    raise FileProblem([RecordProblem(path, None, None,
                                     "unknown file type: use .jsonl, .json, .csv, .xlsx, .md or .txt")])


def _problem(source: str, message: str, line: int | None = None) -> FileProblem:
    return FileProblem([RecordProblem(source, line, None, message)])


# -- encodings -------------------------------------------------------------------------------
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM has a zero byte beside most ASCII characters: at odd offsets
    (little-endian) or even ones (big-endian). Text in any 8-bit encoding has none."""
    sample = head[:4096 - (len(head[:4096]) % 2)]
    if len(sample) < 4:
        return None
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    half = len(sample) // 2
    if odd > half * 0.3 and even == 0:
        return "utf-16-le"
    if even > half * 0.3 and odd == 0:
        return "utf-16-be"
    return None


def _not_utf8(source: str, raw: bytes, offset: int, line: int) -> FileProblem:
    return _problem(source, f"not UTF-8 text (byte {raw[0]:#04x} at offset {offset}); save the file as UTF-8"
                    + (" (it is UTF-16)" if _bom_encoding(raw[:4]) in ("utf-16", "utf-32") and offset == 0 else ""),
                    line)


def decode(raw: bytes, source: str, *, legacy: bool | None = None) -> str:
    """Decode a whole file read into memory (the web upload); at most ``MAX_FILE_BYTES``.

    ``legacy``: accept UTF-16 and Windows-1252 as well as UTF-8 (see the module docstring);
    by default for CSV and guides (told by the name in ``source``), never for JSON.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise _problem(source, f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
    if legacy is None:
        legacy = _legacy_format(source)
    encoding = _bom_encoding(raw[:4]) if legacy else ("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else None)
    if encoding is None and legacy:
        encoding = _utf16_without_bom(raw)
    if encoding is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if not legacy:
                raise _not_utf8(source, raw[e.start:e.start + 4], e.start, raw[:e.start].count(b"\n") + 1) from e
            encoding = "cp1252"
        else:
            encoding = "utf-8"
    if encoding != "utf-8":
        text = _decode_as(raw, encoding, source)
    if not text.strip():
        raise _problem(source, "the file is empty")
    return text


def _legacy_format(source: str) -> bool:
    try:
        return detect_format(source) in ("csv", "markdown", "text")
    except FileProblem:
        return False


def _decode_as(raw: bytes, encoding: str, source: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        what = "Windows-1252" if encoding == "cp1252" else encoding.upper()
        raise _problem(source, f"neither UTF-8 nor {what} text (byte {raw[e.start]:#04x} at offset {e.start}); "
                       "save the file as UTF-8") from e


def sniff_encoding(path: Path) -> str:
    """The encoding of a CSV file or guide on disk (the rule of the module docstring), read in
    chunks: a file of any size is checked for valid UTF-8 in constant memory."""
    with path.open("rb") as f:
        head = f.read(4096)
        encoding = _bom_encoding(head) or _utf16_without_bom(head)
        if encoding:
            return encoding
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        while chunk := f.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return "cp1252"
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


# -- reading files as streams ----------------------------------------------------------------
class _CountingReader(io.BufferedReader):
    """A binary file that reports every chunk it hands out (for a progress bar)."""

    def __init__(self, path: Path, progress: Progress):
        super().__init__(io.FileIO(path, "rb"), _CHUNK)
        self._progress = progress

    def _counted(self, data: bytes) -> bytes:
        self._progress(len(data))
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._counted(super().read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._counted(super().read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._counted(super().readline(size))


def _open_binary(path: Path, progress: Progress | None) -> io.BufferedReader:
    return _CountingReader(path, progress) if progress else path.open("rb")


Item = RawRecord | RecordProblem


def iter_file(path: str | Path, *, progress: Progress | None = None,
              taken_ids: set[str] | None = None) -> Iterator[Item]:
    """The records of one file, read as a stream, each a :class:`RawRecord`, with a
    :class:`RecordProblem` in their place where a line, row or the file cannot be read.

    ``progress`` is called with the number of bytes read as reading goes on. ``taken_ids``:
    ids already given to guide sections of earlier files of the same import (a guide section's
    id is its heading's slug, numbered ``-2``, ``-3`` … when that is taken)."""
    path = Path(path)
    source = str(path)
    try:
        fmt = detect_format(source)
        if not path.is_file():
            raise _problem(source, "cannot read the file: no such file" if not path.exists() else
                           "cannot read the file: not a file")
        if fmt in ("markdown", "text"):
            yield from _iter_guide(path, source, fmt, progress, taken_ids)
            return
        if fmt == "xlsx":
            yield from _iter_xlsx(path, source, progress)
            return
        encoding = "utf-8-sig" if fmt != "csv" else sniff_encoding(path)
        with _open_binary(path, progress) as f:
            if fmt == "json":
                yield from _iter_json_stream(f, source)
                return
            newline = None if fmt == "jsonl" else ""  # CSV: the parser sees line ends inside quoted cells
            with io.TextIOWrapper(f, encoding=encoding, errors="strict", newline=newline) as text:
                yield from (_iter_jsonl(text, source) if fmt == "jsonl" else _iter_csv(text, source))
    except FileProblem as e:
        yield from e.problems
    except OSError as e:
        yield RecordProblem(source, None, None, f"cannot read the file: {e.strerror}")


def read_file(path: str | Path) -> list[RawRecord]:
    """Every record of a file; a :class:`FileProblem` (with the records that could be read)
    when some of it cannot be read."""
    return _collect(iter_file(path))


def _collect(items: Iterable[Item]) -> list[RawRecord]:
    records, problems = [], []
    for item in items:
        (problems if isinstance(item, RecordProblem) else records).append(item)
    if problems:
        raise FileProblem(problems, records)
    return records


def read_text(path: Path, source: str | None = None) -> str:
    """A whole file as text (``decode``'s rules; guides and uploads)."""
    source = source or str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _problem(source, f"cannot read the file: {e.strerror}") from e
    return decode(raw, source)


def parse_text(text: str, fmt: str, source: str, *, max_records: int | None = None) -> list[RawRecord]:
    """Parse file content in format ``fmt`` into raw records (not yet validated). With
    ``max_records``, a file with more records is refused, as far as possible before parsing."""
    if fmt == "jsonl":
        if max_records is not None:
            _check_count(sum(1 for line in text.splitlines() if line.strip()), max_records, source)
        out = _collect(_iter_jsonl(io.StringIO(text), source))
    elif fmt == "json":
        out = _parse_json(text, source)
    elif fmt == "csv":
        out = _collect(_at_most(_iter_csv(io.StringIO(text, newline=""), source), max_records, source))
    elif fmt in ("markdown", "text"):
        out = parse_guide(text, source, markdown=(fmt == "markdown"))
    else:
        raise _problem(source, f"unknown format {fmt!r}")
    if max_records is not None:
        _check_count(len(out), max_records, source)
    return out


def _check_count(count: int, limit: int, source: str) -> None:
    if count > limit:
        raise _problem(source, f"the file holds more than {limit} records; split it into smaller files")


def _at_most(items: Iterator[Item], limit: int | None, source: str) -> Iterator[Item]:
    """``items``, stopping with a problem as soon as more than ``limit`` records were read."""
    n = 0
    for item in items:
        if isinstance(item, RawRecord):
            n += 1
            if limit is not None and n > limit:
                _check_count(n, limit, source)
        yield item


def _iter_jsonl(lines: io.TextIOBase, source: str) -> Iterator[Item]:
    n, seen = 0, False
    try:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            seen = True
            try:
                obj = loads_json(line)
            except json.JSONDecodeError as e:
                yield RecordProblem(source, n, None, f"invalid JSON: {e.msg} (column {e.colno})")
                continue
            except JSONTooDeep as e:
                yield RecordProblem(source, n, None, f"invalid JSON: {e}")
                continue
            yield RawRecord(source, n, obj)
    except UnicodeDecodeError as e:
        bad = e.object[e.start:e.start + 4]
        hint = " (it is UTF-16)" if n == 0 and _bom_encoding(bytes(e.object[:4])) in ("utf-16", "utf-32") else ""
        yield RecordProblem(source, n + 1, None, f"not UTF-8 text (byte {bad[0]:#04x}){hint}; save the file as UTF-8")
        return
    if not seen:
        yield RecordProblem(source, None, None, "the file is empty")


def _json_records(obj, source: str) -> list[RawRecord]:
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list):
        raise _problem(source, "a JSON file must hold an array of records", 1)
    # JSON arrays have no useful line numbers: name the record by its position (1-based).
    return [RawRecord(f"{source} record", i, rec) for i, rec in enumerate(obj, 1)]


def _parse_json(text: str, source: str) -> list[RawRecord]:
    try:
        obj = loads_json(text)
    except json.JSONDecodeError as e:
        raise _problem(source, f"invalid JSON: {e.msg} (column {e.colno})", e.lineno) from e
    except JSONTooDeep as e:
        raise _problem(source, f"invalid JSON: {e}") from None
    return _json_records(obj, source)


def _iter_json_stream(f: io.BufferedReader, source: str) -> Iterator[Item]:
    """A JSON file: an array is read an element at a time (ijson), a single object whole."""
    import ijson

    head = f.peek(4096)
    if head.startswith(codecs.BOM_UTF8):
        f.read(3)
        head = f.peek(4096)
    if _bom_encoding(head[:4]) in ("utf-16", "utf-32"):
        yield RecordProblem(source, 1, None, "not UTF-8 text (it is UTF-16); save the file as UTF-8")
        return
    first = head.lstrip()[:1]
    if not first:
        yield RecordProblem(source, None, None, "the file is empty")
        return
    if first != b"[":
        try:
            with io.TextIOWrapper(f, encoding="utf-8") as text:
                obj = json.load(text)
            yield from _json_records(obj, source)
        except json.JSONDecodeError as e:
            yield RecordProblem(source, e.lineno, None, f"invalid JSON: {e.msg} (column {e.colno})")
        except UnicodeDecodeError as e:
            yield RecordProblem(source, None, None, f"not UTF-8 text ({e.reason}); save the file as UTF-8")
        except FileProblem as e:
            yield from e.problems
        return
    n = 0
    try:
        for n, rec in enumerate(ijson.items(f, "item", use_float=True), 1):
            yield RawRecord(f"{source} record", n, rec)
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as e:
        yield RecordProblem(source, None, None, f"invalid JSON after record {n}: {e}")


def _split_list(cell: str, field: str) -> list:
    cell = cell.strip()
    if cell.startswith("["):
        value = loads_json(cell)
        if not isinstance(value, list):
            raise ValueError(f"{field} must be a list")
        return value
    return [x.strip() for x in cell.split(";") if x.strip()]


def _iter_csv(text: io.TextIOBase, source: str) -> Iterator[Item]:
    """CSV rows, read by pandas ``CSV_CHUNK_ROWS`` at a time (``dtype=str``: cells are never guessed)."""
    import pandas as pd  # here, not at the top: ~60 MB that other imports need not carry

    # The header is read here, so that a header of absurd width is refused before pandas reads it.
    try:
        columns = next(csv.reader([text.readline()]), [])
    except (csv.Error, UnicodeDecodeError) as e:
        yield RecordProblem(source, 1, None, _csv_error(e))
        return
    if not columns:
        yield RecordProblem(source, None, None, "the file is empty")
        return
    if len(columns) > MAX_CSV_COLUMNS:
        yield RecordProblem(source, 1, None, f"the CSV header has {len(columns)} columns; at most "
                            f"{MAX_CSV_COLUMNS} are read (known fields: {', '.join(FIELD_ORDER)})")
        return
    try:
        chunks = iter(pd.read_csv(text, header=None, names=columns, dtype=str, keep_default_na=False,
                                  na_filter=False, chunksize=CSV_CHUNK_ROWS))
    except pd.errors.EmptyDataError:
        yield RecordProblem(source, None, None, "the file is empty")
        return
    except Exception as e:  # pandas raises several types for malformed CSV
        yield RecordProblem(source, None, None, _csv_error(e))
        return
    n = 1  # the header is line 1 (multi-line cells make this approximate, as in any editor)
    first = True
    while True:
        try:
            df = next(chunks)
        except StopIteration:
            return
        except Exception as e:
            yield RecordProblem(source, None, None, _csv_error(e, after=n))
            return
        if first:
            first = False
            problem = _csv_header_problem([c.strip() for c in df.columns], source)
            if problem:
                yield problem
                return
        df.columns = [c.strip() for c in df.columns]
        for row in df.to_dict("records"):
            n += 1
            yield from _csv_record(row, n, source)


def _csv_error(e: Exception, after: int | None = None) -> str:
    if isinstance(e, UnicodeDecodeError):
        return f"not text in the file's encoding ({e.reason}); save the file as UTF-8"
    return f"cannot read CSV{f' after line {after}' if after else ''}: {e}"


def _csv_header_problem(columns: list[str], source: str, what: str = "CSV") -> RecordProblem | None:
    missing = [c for c in ("title", "summary") if c not in columns]
    if missing:
        return RecordProblem(source, 1, None, f"{what} header lacks the required column(s) "
                             f"{', '.join(missing)}; found: {', '.join(columns) or 'none'}")
    unknown = [c for c in columns if c not in FIELD_ORDER]
    if unknown:
        return RecordProblem(source, 1, None, f"unknown {what} column(s) {', '.join(unknown)}; "
                             f"known: {', '.join(FIELD_ORDER)}")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        return RecordProblem(source, 1, None, f"{what} column(s) named twice: {', '.join(repeated)}")
    return None


def _csv_record(row: dict, n: int, source: str) -> Iterator[Item]:
    rec: dict = {}
    for key, cell in row.items():
        if cell is None or str(cell).strip() == "":
            continue
        cell = str(cell)
        try:
            if key in LIST_FIELDS:
                rec[key] = _split_list(cell, key)
            elif key in OBJECT_LIST_FIELDS:
                rec[key] = loads_json(cell)
            elif key in INT_FIELDS:
                rec[key] = int(cell.strip())
            else:
                rec[key] = cell
        except (ValueError, json.JSONDecodeError):
            want = "a whole number" if key in INT_FIELDS else "a JSON list"
            yield RecordProblem(source, n, key, f"must be {want}, got {cell[:60]!r}")
    yield RawRecord(source, n, rec)  # its other fields are still checked


# -- spreadsheets ----------------------------------------------------------------------------
def _column_letter(k: int) -> str:
    """The spreadsheet name of the 0-based column ``k`` (0 -> A, 26 -> AA)."""
    name = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        name = chr(ord("A") + r) + name
    return name


def _check_workbook(path: Path, source: str) -> None:
    """Refuse a file that is no workbook, or whose parts unpack to more than
    ``MAX_XLSX_UNPACKED`` bytes (read from the zip's directory, nothing is unpacked)."""
    import zipfile

    size = path.stat().st_size
    if size > MAX_XLSX_BYTES:
        raise _problem(source, f"a workbook is read whole and may hold at most {MAX_XLSX_BYTES // 2**20} MB; "
                       "split it, or save it as CSV")
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(info.file_size for info in z.infolist())
    except zipfile.BadZipFile:
        raise _problem(source, "not an .xlsx workbook (save it from the spreadsheet as .xlsx, "
                       "or as CSV)") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise _problem(source, f"the workbook unpacks to {unpacked // 2**20} MB; at most "
                       f"{MAX_XLSX_UNPACKED // 2**20} MB are read: split it, or save it as CSV")


def _iter_xlsx(path: Path, source: str, progress: Progress | None) -> Iterator[Item]:
    """The rows of a workbook's first sheet, read by pandas (openpyxl) with ``dtype=str``: the
    first row names the columns of the CSV format, every other row is a record (the row number
    is the spreadsheet's). Cells are the sheet's values as text: numbers as typed (a whole number
    without ``.0``), formulas by their last computed value; nothing is parsed beyond the CSV
    rules (list cells joined with ``;``, nested lists as JSON). Empty rows are skipped."""
    import pandas as pd

    _check_workbook(path, source)
    read = functools.partial(pd.read_excel, path, sheet_name=0, header=None, dtype=str, engine="openpyxl",
                             keep_default_na=False, na_filter=False)
    try:
        head = read(nrows=1)
    except Exception as e:  # openpyxl and zipfile raise several types for a damaged workbook
        yield RecordProblem(source, None, None, f"cannot read the workbook: {e}")
        return
    cells = [str(c).strip() for c in head.iloc[0]] if len(head) else []
    while cells and not cells[-1]:
        cells.pop()
    if not cells:
        yield RecordProblem(source, None, None, "the first sheet is empty")
        return
    if len(cells) > MAX_CSV_COLUMNS:
        yield RecordProblem(source, 1, None, f"the header row has {len(cells)} columns; at most "
                            f"{MAX_CSV_COLUMNS} are read (known fields: {', '.join(FIELD_ORDER)})")
        return
    unnamed = [_column_letter(k) for k, c in enumerate(cells) if not c]
    if unnamed:
        yield RecordProblem(source, 1, None, f"column(s) {', '.join(unnamed)} of the header row have no name")
        return
    problem = _csv_header_problem(cells, source, "spreadsheet")
    if problem:
        yield problem
        return
    try:
        rows = read(skiprows=1, nrows=MAX_XLSX_ROWS + 1)
    except Exception as e:
        yield RecordProblem(source, None, None, f"cannot read the workbook: {e}")
        return
    if progress:
        progress(path.stat().st_size)
    if len(rows) > MAX_XLSX_ROWS:
        yield RecordProblem(source, None, None, f"the sheet has more than {MAX_XLSX_ROWS} rows; "
                            "split it, or save it as CSV")
        return
    width = len(cells)
    if rows.shape[1] > width:  # a value right of the last named column: name it, never drop it
        extra = rows.iloc[:, width:].apply(lambda col: col.str.strip() != "")
        for i, k in zip(*extra.to_numpy().nonzero()):
            yield RecordProblem(source, int(i) + 2, None, f"a value in column {_column_letter(width + int(k))}, "
                                "which the header row does not name")
        rows = rows.iloc[:, :width]
    rows = rows.reindex(columns=range(width), fill_value="")
    rows.columns = cells
    for n, row in enumerate(rows.to_dict("records"), 2):
        if any(str(v).strip() for v in row.values()):
            yield from _csv_record(row, n, source)


# -- guides ----------------------------------------------------------------------------------
def _iter_guide(path: Path, source: str, fmt: str, progress: Progress | None,
                taken_ids: set[str] | None) -> Iterator[Item]:
    size = path.stat().st_size
    if size > MAX_GUIDE_BYTES:
        raise _problem(source, f"a text guide is read whole and may hold at most {MAX_GUIDE_BYTES // 2**20} MB; "
                       "split it, or import its records as JSON Lines")
    raw = path.read_bytes()
    if progress:
        progress(len(raw))
    yield from parse_guide(decode(raw, source, legacy=True), source, markdown=(fmt == "markdown"), taken=taken_ids)


HEADING_MAX = 80          # a plain-text heading is a line of at most this many characters
INTRO_TITLE_MAX = 100     # a title made from the first sentence is cut to this length
SUMMARY_TARGET = 300      # a summary takes whole sentences while it stays within this length
SUMMARY_MAX = 400

_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")
_SETEXT_LINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_BULLET = re.compile(r"^[-*+•·▪◦‣–—]\s+")
_NUMBER = re.compile(r"^(?:\d{1,3}|[A-Za-z]|[IVXLCivxlc]{1,5})[.)]\s+")
_EMPHASIS = re.compile(r"^(\*\*|__|\*|_)(.+)\1$")
_OPENERS = "\"'“‘«(["
_CLOSERS = "\"'”’»)]"
_NO_HEADING_END = ".,;:!?…-–—/\\"     # a line ending so is a sentence or goes on: never a heading
_PARAGRAPH_END = ".!?…:"
# A line that ends with one of these words goes on in the next line (wrapped text): no heading.
_OPEN_END_WORDS = frozenset("""dan atau serta dengan yang di ke dari untuk pada dalam oleh bagi karena bahwa
tetapi namun sebagai antara terhadap seperti adalah ialah yaitu yakni maupun agar supaya jika bila the and or
of to with for in on by a an""".split())
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+(?=[\"'“‘«(\[]*[A-Z0-9])")


def _bare(line: str) -> str:
    """A stripped line without Markdown emphasis around it (``**Judul**``)."""
    line = line.strip()
    m = _EMPHASIS.match(line)
    return m.group(2).strip() if m else line


def _last_char(line: str) -> str:
    return line.rstrip(_CLOSERS)[-1:] if line.rstrip(_CLOSERS) else ""


def _starts_sentence(line: str) -> bool:
    first = line.lstrip(_OPENERS)[:1]
    return first.isupper() or first.isdigit()


def _heading_shape(line: str) -> bool:
    """A short line that could be a heading: at most ``HEADING_MAX`` characters, starting like a
    sentence (capital letter or digit), with no final punctuation and not ending with a word
    that needs a continuation ("dan", "yang", "dengan" …)."""
    text = _NUMBER.sub("", _bare(line), count=1)
    if not (3 <= len(text) <= HEADING_MAX) or _BULLET.match(text) or not _starts_sentence(text):
        return False
    if _last_char(text) in _NO_HEADING_END or not any(c.isalpha() for c in text):
        return False
    return text.split()[-1].lower().strip(_CLOSERS) not in _OPEN_END_WORDS


def _opens_paragraph(lines: list[str], j: int) -> bool:
    """Whether line ``j`` opens a paragraph (the text under a heading): it starts a sentence and
    is long or ends like a sentence, or it begins a hard-wrapped paragraph: lines at least half
    the heading limit long, directly one after the other, up to one that ends a sentence (so
    another short line, a byline or a date, opens nothing)."""
    first = _bare(lines[j])
    if _BULLET.match(first) or not _starts_sentence(first):
        return False
    for line in lines[j:]:
        line = _bare(line)
        if len(line) > HEADING_MAX or _last_char(line) in _PARAGRAPH_END:
            return True
        if len(line) < HEADING_MAX // 2:
            return False
    return False


def _is_list_item(line: str) -> bool:
    line = line.strip()
    return bool(_BULLET.match(line) or _NUMBER.match(line))


def _closes(line: str) -> bool:
    """Whether a line ends what came before it, so that a heading may follow directly: a blank
    line or a separator (no letters or digits), a long line, a sentence end, a list item."""
    line = _bare(line)
    return (not any(c.isalnum() for c in line) or len(line) > HEADING_MAX or _last_char(line) in _PARAGRAPH_END
            or _is_list_item(line))


def text_headings(lines: list[str]) -> dict[int, str]:
    """The headings of a plain-text guide: ``{line index: title}``.

    A heading is a line of the shape of ``_heading_shape`` that
    - is not the last line: the next non-blank line opens a paragraph (``_opens_paragraph``);
    - follows a blank line, the start of the file or a line that closes (a sentence end, a long
      line, a list item): of two short lines in a row neither is a heading of the first kind,
      and a wrapped paragraph's lines never are;
    - if numbered (``1.``, ``a)``, ``IV.``), has no list item just before or after it.
    """
    out: dict[int, str] = {}
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for k, i in enumerate(nonblank):
        line = lines[i]
        if not _heading_shape(line) or k + 1 == len(nonblank):
            continue
        nxt = lines[nonblank[k + 1]]
        if not _opens_paragraph(lines, nonblank[k + 1]):
            continue
        if i > 0 and not _closes(lines[i - 1]):
            continue
        bare = _bare(line)
        if _NUMBER.match(bare) and ((k > 0 and _is_list_item(lines[nonblank[k - 1]])) or _is_list_item(nxt)):
            continue
        out[i] = _NUMBER.sub("", bare, count=1).strip()
    return out


def markdown_headings(lines: list[str]) -> tuple[dict[int, str], set[int]]:
    """ATX (``# Judul``) and setext (``Judul`` over ``====``) headings outside code fences:
    ``({line index: title}, {indices of setext underlines})``."""
    out: dict[int, str] = {}
    underlines: set[int] = set()
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        m = _MD_HEADING.match(line)
        if m:
            out[i] = _bare(m.group(2))
        elif (i + 1 < len(lines) and line.strip() and not _is_list_item(line) and (i == 0 or not lines[i - 1].strip())
              and _SETEXT_LINE.match(lines[i + 1]) and len(lines[i + 1].strip()) >= 3):
            out[i] = _bare(line)
            underlines.add(i + 1)
    return out, underlines


def parse_guide(text: str, source: str, *, markdown: bool, taken: set[str] | None = None) -> list[RawRecord]:
    """Split a guide into one ``practice`` per section.

    In Markdown a ``#`` (or setext) heading starts a section; Markdown without any heading, and
    plain text, follow the plain-text rule of :func:`text_headings`. Each section is titled by
    its heading; text before the first heading is one more practice, titled by the document's
    own title line or first sentence (else the file's name). A section's id is its title's slug,
    numbered ``-2``, ``-3`` … when a section before it (or an id in ``taken``) has it.
    """
    lines = text.splitlines()
    headings, skip = markdown_headings(lines) if markdown else ({}, set())
    if not headings:
        headings, skip = text_headings(lines), set()
    taken = set() if taken is None else taken
    starts = sorted(headings)
    out = []
    first = starts[0] if starts else len(lines)
    intro = _body(lines[:first])
    if intro:
        title = _intro_title(lines[:first], source)
        out.append(_practice(source, _first_line(lines), title, intro, taken))
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        body = _body([line for j, line in enumerate(lines[start + 1:end], start + 1) if j not in skip])
        if body:
            out.append(_practice(source, start + 1, headings[start], body, taken))
    if not out:
        raise _problem(source, "no section with a heading and text was found")
    return out


def _first_line(lines: list[str]) -> int:
    return next((i + 1 for i, line in enumerate(lines) if line.strip()), 1)


def _practice(source: str, line: int, title: str, body: str, taken: set[str]) -> RawRecord:
    title = " ".join(title.split())[:MAX_TITLE]
    rid = _unique(slug_for(title) or "praktik", taken)
    return RawRecord(source, line, {"id": rid, "kind": "practice", "title": title,
                                    "summary": _summary(body, title), "body": body})


def _unique(slug: str, taken: set[str]) -> str:
    rid, k = slug, 1
    while rid in taken:
        k += 1
        rid = f"{slug[:80 - len(str(k)) - 1].rstrip('-')}-{k}"
    taken.add(rid)
    return rid


def _body(lines: list[str]) -> str:
    """Section text as Markdown: a long line that ends a sentence, directly followed by a line
    starting a sentence, ends its paragraph (web articles saved as text put one paragraph on a
    line with no blank line between); wrapped lines stay one paragraph."""
    rows = [line.rstrip() for line in lines]
    out: list[str] = []
    for k, line in enumerate(rows):
        out.append(line)
        nxt = rows[k + 1] if k + 1 < len(rows) else ""
        if (len(line.strip()) > HEADING_MAX and _last_char(line) in _PARAGRAPH_END and nxt.strip()
                and _starts_sentence(nxt.strip()) and not _is_list_item(nxt)):
            out.append("")
    return "\n".join(out).strip("\n").strip()


def _plain(text: str) -> str:
    """One line of text without Markdown markup."""
    text = re.sub(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+)", "", text, flags=re.M)
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(text.split())


def sentences(text: str) -> list[str]:
    """Split at a sentence end followed by a capital letter or digit, but not after a short
    capitalised abbreviation or an initial (``Kab. Sleman``, ``Dr. Siti``, ``No. 5``)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        word = text[start:m.start()].split()[-1] if text[start:m.start()].split() else ""
        stem = word.rstrip(".").lstrip(_OPENERS)
        if len(stem) <= 3 and stem[:1].isupper() and word.endswith("."):
            continue
        out.append(text[start:m.start()].strip())
        start = m.end()
    tail = text[start:].strip()
    return [s for s in out + [tail] if s]


def _shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: cut at its last clause break (comma, semicolon,
    dash) when that keeps at least half of it, else at a word, with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    clause = max(head.rfind(", "), head.rfind("; "), head.rfind(" – "), head.rfind(" — "))
    if clause >= limit // 2:
        return head[:clause].rstrip()
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–— ") + "…"


def _summary(body: str, title: str) -> str:
    """The first sentences of the section's first paragraph, within ``SUMMARY_TARGET``
    characters (a longer first sentence is cut at a word, at most ``SUMMARY_MAX``)."""
    first = _plain(re.split(r"\n\s*\n", body, maxsplit=1)[0])
    out = ""
    for s in sentences(first):
        if out and len(out) + 1 + len(s) > SUMMARY_TARGET:
            break
        out = f"{out} {s}".strip()
    out = _shorten(out, SUMMARY_MAX)
    return out if len(out) >= 10 else _shorten(f"{title}: {_plain(body)}", SUMMARY_MAX)


def _intro_title(lines: list[str], source: str) -> str:
    """The title of the text before the first heading: its first line when that is a title
    (short, no final punctuation), else its first sentence cut to ``INTRO_TITLE_MAX``
    characters, else the file's name."""
    first = next((line for line in lines if line.strip()), "")
    if _heading_shape(first):
        return _NUMBER.sub("", _bare(first), count=1)
    found = sentences(_plain("\n".join(lines)))
    title = _shorten(found[0].rstrip("."), INTRO_TITLE_MAX) if found else ""
    if len(title) >= 3:
        return title
    stem = " ".join(re.sub(r"[_\-.]+", " ", Path(source).stem).split())
    return stem if len(stem) >= 3 else "Pengantar"


# -- export ----------------------------------------------------------------------------------
def export_jsonl(records: Iterable[dict]) -> Iterator[str]:
    """One canonical JSON line per record (fields in the interchange order)."""
    for data in records:
        clean = {k: data[k] for k in FIELD_ORDER if k in data}
        yield json.dumps(clean, ensure_ascii=False) + "\n"


def _cell(key: str, value) -> str:
    if value is None:
        return ""
    if key in OBJECT_LIST_FIELDS:
        return json.dumps(value, ensure_ascii=False)
    if key in LIST_FIELDS:
        if any(";" in x or x.startswith("[") for x in value):
            return json.dumps(value, ensure_ascii=False)
        return ";".join(value)
    return str(value)


def export_csv(records: Iterable[dict]) -> str:
    """All records as CSV (list fields joined with ``;``, nested lists as JSON)."""
    rows = [{k: _cell(k, data.get(k)) for k in FIELD_ORDER} for data in records]
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(FIELD_ORDER), dtype=str)
    return df.to_csv(index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def csv_row(data: dict) -> list[str]:
    """One record as the cells of a CSV row, in :data:`FIELD_ORDER` (the columns of
    :func:`export_csv`)."""
    return [_cell(k, data.get(k)) for k in FIELD_ORDER]


def xlsx_bytes(header: Iterable[str], rows: Iterable[Iterable[str]], *, sheet: str = "sinergi") -> bytes:
    """A workbook of one sheet, written by pandas (openpyxl): ``header``, then ``rows``. Every cell
    is text, a cell starting with ``=`` too (never a formula). Cells longer than
    :data:`XLSX_CELL_MAX` characters are the caller's to refuse or cut (pandas would cut them)."""
    import pandas as pd

    frame = pd.DataFrame([list(r) for r in rows], columns=list(header), dtype=str)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet)
        for line in writer.sheets[sheet].iter_rows():
            for cell in line:
                if cell.data_type == "f":  # openpyxl reads a string with a leading "=" as a formula
                    cell.data_type = "s"
    return buf.getvalue()


def export_xlsx(records: Iterable[dict]) -> bytes:
    """All records as a workbook: the columns and cells of :func:`export_csv` on one sheet. A
    record with a cell longer than a spreadsheet cell holds is refused (:class:`Invalid`, one
    problem per such cell): the export is lossless or not written."""
    rows, problems = [], []
    for data in records:
        row = csv_row(data)
        problems += [RecordProblem(data["id"], None, key, f"{len(cell):,} characters; a spreadsheet cell holds at most "
                                   f"{XLSX_CELL_MAX:,}: export as jsonl or csv")
                     for key, cell in zip(FIELD_ORDER, row) if len(cell) > XLSX_CELL_MAX]
        rows.append(row)
    if problems:
        raise Invalid(problems)
    return xlsx_bytes(FIELD_ORDER, rows)
