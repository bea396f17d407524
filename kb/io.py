"""Reading and writing the interchange format: JSON Lines, JSON arrays, CSV and text guides."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import RecordProblem
from .schema import FIELD_ORDER, LIST_FIELDS, OBJECT_LIST_FIELDS

MAX_FILE_BYTES = 50 * 1024 * 1024
INT_FIELDS = ("start_year", "end_year")
# A record nests three levels (record, list, object); anything far deeper is refused before it
# can exhaust the parser's stack.
MAX_JSON_DEPTH = 32
# A CSV header is refused unread beyond this many columns (the interchange format has fewer
# than 30 fields; a header of 150,000 would hold a worker for seconds).
MAX_CSV_COLUMNS = 2 * len(FIELD_ORDER)


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
                     (".md", "markdown"), (".markdown", "markdown"), (".txt", "text")):
        if name.endswith(ext):
            return fmt
    raise FileProblem([RecordProblem(path, None, None,
                                     "unknown file type: use .jsonl, .json, .csv, .md or .txt")])


def read_text(path: Path, source: str | None = None) -> str:
    """Read a UTF-8 file (a BOM is accepted); anything else is a clear error."""
    source = source or str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise FileProblem([RecordProblem(source, None, None, f"cannot read the file: {e.strerror}")]) from e
    return decode(raw, source)


def decode(raw: bytes, source: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise FileProblem([RecordProblem(source, None, None,
                                         f"file is larger than {MAX_FILE_BYTES // 2**20} MB")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise FileProblem([RecordProblem(source, line, None,
                                         f"not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start}); "
                                         "save the file as UTF-8")]) from e
    if not text.strip():
        raise FileProblem([RecordProblem(source, None, None, "the file is empty")])
    return text


def parse_text(text: str, fmt: str, source: str, *, max_records: int | None = None) -> list[RawRecord]:
    """Parse file content in format ``fmt`` into raw records (not yet validated). With
    ``max_records``, a file with more records is refused, as far as possible before parsing."""
    if fmt == "jsonl":
        if max_records is not None:
            _check_count(sum(1 for line in text.splitlines() if line.strip()), max_records, source)
        out = _parse_jsonl(text, source)
    elif fmt == "json":
        out = _parse_json(text, source)
    elif fmt == "csv":
        out = _parse_csv(text, source, max_rows=max_records)
    elif fmt in ("markdown", "text"):
        out = parse_guide(text, source, markdown=(fmt == "markdown"))
    else:
        raise FileProblem([RecordProblem(source, None, None, f"unknown format {fmt!r}")])
    if max_records is not None:
        _check_count(len(out), max_records, source)
    return out


def _check_count(count: int, limit: int, source: str) -> None:
    if count > limit:
        raise FileProblem([RecordProblem(source, None, None, f"the file holds more than {limit} records; "
                                         "split it into smaller files")])


def read_file(path: str | Path) -> list[RawRecord]:
    path = Path(path)
    fmt = detect_format(str(path))
    return parse_text(read_text(path), fmt, str(path))


def _parse_jsonl(text: str, source: str) -> list[RawRecord]:
    out, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = loads_json(line)
        except json.JSONDecodeError as e:
            problems.append(RecordProblem(source, n, None, f"invalid JSON: {e.msg} (column {e.colno})"))
            continue
        except JSONTooDeep as e:
            problems.append(RecordProblem(source, n, None, f"invalid JSON: {e}"))
            continue
        out.append(RawRecord(source, n, obj))
    if problems:
        raise FileProblem(problems, out)
    return out


def _parse_json(text: str, source: str) -> list[RawRecord]:
    try:
        obj = loads_json(text)
    except json.JSONDecodeError as e:
        raise FileProblem([RecordProblem(source, e.lineno, None, f"invalid JSON: {e.msg} (column {e.colno})")]) from e
    except JSONTooDeep as e:
        raise FileProblem([RecordProblem(source, None, None, f"invalid JSON: {e}")]) from None
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list):
        raise FileProblem([RecordProblem(source, 1, None, "a JSON file must hold an array of records")])
    # JSON arrays have no useful line numbers: name the record by its position (1-based).
    return [RawRecord(f"{source} record", i, rec) for i, rec in enumerate(obj, 1)]


def _split_list(cell: str, field: str) -> list:
    cell = cell.strip()
    if cell.startswith("["):
        value = loads_json(cell)
        if not isinstance(value, list):
            raise ValueError(f"{field} must be a list")
        return value
    return [x.strip() for x in cell.split(";") if x.strip()]


def _parse_csv(text: str, source: str, *, max_rows: int | None = None) -> list[RawRecord]:
    import pandas as pd  # here, not at the top: ~60 MB that other imports need not carry

    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as e:
        raise FileProblem([RecordProblem(source, 1, None, f"cannot read the CSV header: {e}")]) from e
    if len(header) > MAX_CSV_COLUMNS:
        raise FileProblem([RecordProblem(source, 1, None, f"the CSV header has {len(header)} columns; at most "
                                         f"{MAX_CSV_COLUMNS} are read (known fields: {', '.join(FIELD_ORDER)})")])
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                         nrows=None if max_rows is None else max_rows + 1)
    except Exception as e:  # pandas raises several types for malformed CSV
        raise FileProblem([RecordProblem(source, None, None, f"cannot read CSV: {e}")]) from e
    columns = [c.strip() for c in df.columns]
    df.columns = columns
    missing = [c for c in ("title", "summary") if c not in columns]
    if missing:
        raise FileProblem([RecordProblem(source, 1, None, f"CSV header lacks the required column(s) "
                                         f"{', '.join(missing)}; found: {', '.join(columns) or 'none'}")])
    unknown = [c for c in columns if c not in FIELD_ORDER]
    if unknown:
        raise FileProblem([RecordProblem(source, 1, None, f"unknown CSV column(s) {', '.join(unknown)}; "
                                         f"known: {', '.join(FIELD_ORDER)}")])
    out, problems = [], []
    # Line numbers: the header is line 1 (multi-line cells make this approximate, as in any editor).
    for n, row in enumerate(df.to_dict("records"), 2):
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
                problems.append(RecordProblem(source, n, key, f"must be {want}, got {cell[:60]!r}"))
        out.append(RawRecord(source, n, rec))  # its other fields are still checked
    if problems:
        raise FileProblem(problems, out)
    return out


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def parse_guide(text: str, source: str, *, markdown: bool) -> list[RawRecord]:
    """Split a guide into one ``practice`` per section.

    In Markdown a ``#`` heading starts a section; in plain text a short line (at most 80
    characters) without a final period, followed by a paragraph, is a heading.
    """
    lines = text.splitlines()
    sections: list[tuple[int, str, list[str]]] = []
    current: tuple[int, str, list[str]] | None = None
    for n, line in enumerate(lines, 1):
        heading = None
        if markdown:
            m = _MD_HEADING.match(line)
            if m:
                heading = m.group(2).strip()
        else:
            stripped = line.strip()
            nxt = lines[n].strip() if n < len(lines) else ""
            prev = lines[n - 2].strip() if n >= 2 else ""
            if (stripped and len(stripped) <= 80 and not stripped.endswith((".", ":", ";", ",", "?", "!"))
                    and not prev and (nxt == "" or len(nxt) > 80 or nxt.endswith("."))
                    and _followed_by_paragraph(lines, n)):
                heading = stripped
        if heading:
            current = (n, heading, [])
            sections.append(current)
        elif current is not None:
            current[2].append(line)
    out = []
    for n, heading, body_lines in sections:
        body = "\n".join(body_lines).strip()
        if not body:
            continue
        first = re.split(r"\n\s*\n", body, maxsplit=1)[0]
        first = re.sub(r"[#*_`>]", "", " ".join(first.split()))
        summary = first if len(first) <= 400 else first[:397].rsplit(" ", 1)[0] + "…"
        out.append(RawRecord(source, n, {"kind": "practice", "title": heading, "summary": summary, "body": body}))
    if not out:
        raise FileProblem([RecordProblem(source, None, None, "no section with a heading and text was found")])
    return out


def _followed_by_paragraph(lines: list[str], n: int) -> bool:
    for line in lines[n:]:
        if line.strip():
            return len(line.strip()) > 80 or line.strip().endswith(".")
    return False


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


def csv_row(data: dict) -> list[str]:
    """One record as the cells of a CSV row, in :data:`FIELD_ORDER` (the columns of
    :func:`export_csv`)."""
    return [_cell(k, data.get(k)) for k in FIELD_ORDER]


def export_csv(records: Iterable[dict]) -> str:
    """All records as CSV (list fields joined with ``;``, nested lists as JSON)."""
    rows = [{k: _cell(k, data.get(k)) for k in FIELD_ORDER} for data in records]
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(FIELD_ORDER), dtype=str)
    return df.to_csv(index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
