"""Read one table file (CSV, TSV, JSONL, Parquet; gzip too) into rows, with file and line for every error.

TSV is read without quote handling, as GLUE's files need (their sentences hold bare ``"``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from dataclasses import dataclass
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

    def column(self, name: str, flag: str | None = None) -> list[str]:
        if name not in self.columns:
            fix = f": pass {flag} with one of them" if flag else ""
            raise DataError(f"{self.path}: no column {name!r} (columns: {', '.join(self.columns)}){fix}")
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


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
    rows, lines = [], []
    columns: list[str] | None = list(column_names) if not header else None
    try:
        for row in reader:
            if columns is None:
                columns = [c.strip() for c in row]
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(columns):
                raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields where the header has "
                                f"{len(columns)}: fix the row (a stray tab or quote?)")
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: malformed row ({error})") from None
    if columns is None:
        raise DataError(f"{path}: the file is empty: it needs a header row and at least one row")
    return Table(path, columns, rows, lines)


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
    rows = [[_cell(record.get(column)) for column in columns] for record in records]
    return Table(path, columns, rows, lines)


def _read_parquet(path: Path) -> Table:
    try:
        import pandas as pd

        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install 'bakeoff[parquet]'") from None
    except Exception as error:  # pyarrow's errors for corrupt files vary
        raise DataError(f"{path}: not a readable Parquet file ({error})") from None
    columns = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in values] for values in frame.itertuples(index=False, name=None)]
    return Table(path, columns, rows, list(range(1, len(rows) + 1)))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # a Parquet list column arrives as a numpy array
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))  # a multi-label cell: a list of labels, read as JSON
    return str(value)
