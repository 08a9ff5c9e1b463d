"""Read one table file (CSV, TSV, JSONL, Parquet; gzip too) into rows, with file and line for every error.

TSV is read without quote handling, as GLUE's files need (their sentences hold bare ``"``).

A cell that cannot be a text (a null, a list, a mapping, a key missing from a JSONL row) is remembered with its
row, and refused when its column is read, naming file, line (Parquet: row) and what it held: never read as
"nan", "[1, 2]" or "". Columns nobody reads may hold anything. In a one-column file a blank line is an empty text,
so it is refused too (rather than dropped, which would renumber every row after it).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import numbers
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.errors import BakeoffError

FORMATS = ("csv", "tsv", "jsonl", "parquet")
csv.field_size_limit(sys.maxsize)  # IMDB reviews run to 13,000 characters


class DataError(BakeoffError):
    """A data file that cannot be used as it is; the message names file, line and problem."""


@dataclass
class Table:
    """A file's rows: ``columns`` and for each row its values and the line it came from."""

    path: Path
    columns: list[str]
    rows: list[list[str]]
    lines: list[int]
    problems: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> what the cell held
    blank_lines: list[int] = field(default_factory=list)  # lines skipped as blank (CSV/TSV)
    unit: str = "line"  # how a row is named in messages: "line" (text files) or "row" (Parquet)

    def column(self, name: str, flag: str | None = None, lists: bool = False) -> list[str]:
        """The column's values as text; a cell that was not a text (null, list, mapping, missing) is refused, but
        with ``lists`` (a label column: multi-label rows) a list is read as its JSON text."""
        if name not in self.columns:
            fix = f": pass {flag} with one of them" if flag else ""
            raise DataError(f"{self.path}: no column {name!r} (columns: {', '.join(self.columns)}){fix}")
        index = self.columns.index(name)
        bad = sorted(row for (row, column), problem in self.problems.items()
                     if column == index and not (lists and problem == LIST_CELL))
        if bad:
            problem = self.problems[(bad[0], index)]
            more = f" (and {len(bad) - 1} more row(s))" if len(bad) > 1 else ""
            raise DataError(f"{self.path}, {self.unit} {self.lines[bad[0]]}: column {name!r} {problem}{more}: give "
                            "one text per row, or remove the row")
        if len(self.columns) == 1 and self.rows:
            inner = [line for line in self.blank_lines if line < self.lines[-1]]
            if inner:
                raise DataError(f"{self.path}, line {inner[0]}: an empty text (a blank line) in a one-column file: "
                                "remove the line or fill it (skipping it would renumber the rows after it)")
        return [row[index] for row in self.rows]

    def texts(self, name: str, flag: str | None = None) -> list[str]:
        """``column(name)``, refusing an empty or spaces-only text at its line (nothing to embed or classify)."""
        values = self.column(name, flag)
        for value, line in zip(values, self.lines, strict=True):
            if not value.strip():
                raise DataError(f"{self.path}, {self.unit} {line}: empty text in column {name!r}: remove or fill "
                                "the row")
        return values


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = (suffixes[-1] if suffixes else "").lstrip(".")
    if ext in ("txt",):
        return "tsv"  # MRPC's msr_paraphrase_*.txt are TSV
    if ext in ("json", "ndjson"):
        return "jsonl"
    if ext in FORMATS:
        return ext
    raise DataError(f"{path}: cannot tell the format from the name; use .csv, .tsv, .jsonl or .parquet (.gz too)")


def read_table(path: Path, header: bool = True, column_names: tuple[str, ...] = ()) -> Table:
    """Read ``path``; without a header row, ``column_names`` names the columns."""
    fmt = detect_format(path)
    if fmt == "parquet":
        return _read_parquet(path)
    text = _decode(path)
    if fmt == "jsonl":
        return _read_jsonl(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",",
                        quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
    rows, lines, blank = [], [], []
    columns: list[str] | None = list(column_names) if not header else None
    try:
        for row in reader:
            if columns is None:
                columns = [c.strip() for c in row]
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                blank.append(reader.line_num)
                continue  # blank line (in a one-column file an empty text: Table.column refuses it)
            if len(row) != len(columns):
                raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields where the header has "
                                f"{len(columns)}: fix the row (a stray tab or quote?)")
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: malformed row ({error})") from None
    if columns is None:
        raise DataError(f"{path}: the file is empty: it needs a header row and at least one row")
    return Table(path, columns, rows, lines, blank_lines=blank)


def _decode(path: Path) -> str:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix.lower() == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: bytes that are not UTF-8 ({raw[error.start:error.start + 4]!r}): "
                        "re-save the file as UTF-8") from None


def _read_jsonl(path: Path, text: str) -> Table:
    records, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise DataError(f"{path}, line {number}: not a JSON object ({error.args[0]})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {number}: expected a JSON object per line")
        records.append(record)
        lines.append(number)
    columns = list(dict.fromkeys(key for record in records for key in record))
    rows, problems = [], {}
    for row, record in enumerate(records):
        values = []
        for index, column in enumerate(columns):
            value, problem = _cell(record[column]) if column in record else ("", f"is missing (no {column!r} key)")
            if problem:
                problems[(row, index)] = problem
            values.append(value)
        rows.append(values)
    return Table(path, columns, rows, lines, problems)


def _read_parquet(path: Path) -> Table:
    try:
        import pandas as pd

        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install 'bakeoff[parquet]'") from None
    except Exception as error:  # pyarrow's errors for corrupt files vary
        raise DataError(f"{path}: not a readable Parquet file ({error})") from None
    columns = [str(c) for c in frame.columns]
    rows, problems = [], {}
    for row, values in enumerate(frame.itertuples(index=False, name=None)):
        cells = []
        for index, value in enumerate(values):
            text, problem = _cell(value)
            if problem:
                problems[(row, index)] = problem
            cells.append(text)
        rows.append(cells)
    return Table(path, columns, rows, list(range(1, len(rows) + 1)), problems, unit="row")


LIST_CELL = "holds a list, not a text"


def _cell(value: object) -> tuple[str, str]:
    """A cell as text, and what was wrong with it ("" when it is a usable scalar)."""
    if isinstance(value, dict):
        return "", "holds a mapping (a JSON object), not a text"
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # a Parquet list column arrives as a numpy array
    if isinstance(value, (list, tuple)):  # a multi-label cell: a list of labels, read as JSON (label columns only)
        return json.dumps(list(value)), LIST_CELL
    if value is None or type(value).__name__ in ("NAType", "NaTType") or (
            isinstance(value, numbers.Real) and math.isnan(value)):
        return "", "is empty (null)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), ""
    return str(value), ""
