"""How a data file is written: its format, compression, delimiter, decimal mark and header.

The header is parsed by pyarrow's CSV reader, the same reader that then reads the rows, so the
column names and the rows can never disagree (about a byte-order mark, quoting or spaces).
The delimiter, when not given, is sniffed from the first line: the most frequent of comma,
semicolon, tab and pipe outside quotes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from .._messages import LIKELY_DELIMITERS
from ..errors import DataError, ParameterError

__all__ = ["DATA_SUFFIXES", "CsvOptions", "FileKind", "file_kind", "is_data_name"]

DATA_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet",
                 ".pq": "parquet"}
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
DELIMITERS = LIKELY_DELIMITERS
_MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "zstd": b"\x28\xb5\x2f\xfd", "parquet": b"PAR1"}
_WHAT = {"gzip": "gzip-compressed data", "bz2": "bzip2-compressed data",
         "zstd": "zstd-compressed data", "parquet": "Parquet data"}
# Bytes read to parse the header (and infer nothing else) and to sniff the delimiter.
_HEAD_BLOCK = 1024 * 1024
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class CsvOptions:
    """Reading options of CSV text, named as pandas and pyarrow name them.

    Parameters
    ----------
    delimiter : str or None
        One character; ``None`` sniffs it from the first line (comma, semicolon, tab or pipe).
    decimal : {".", ","}
        The decimal mark of the numbers.
    header : 0, "infer" or None
        ``0``/``"infer"``: the first line holds the column names; ``None``: there is no header
        and the columns are named by position, ``"1"``, ``"2"``, ...
    encoding : str
        The text encoding (a byte-order mark is skipped).
    """

    delimiter: str | None = None
    decimal: str = "."
    header: int | str | None = "infer"
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str) or len(self.delimiter) != 1
            or self.delimiter in "\r\n\"" or self.delimiter == self.decimal
        ):
            raise ParameterError(
                "The 'delimiter' parameter must be None (sniffed) or one character other than "
                f"a quote, a line break or the decimal mark. Got {self.delimiter!r} instead."
            )
        if self.decimal not in (".", ","):
            raise ParameterError(
                f"The 'decimal' parameter must be one of {{'.', ','}}. Got {self.decimal!r} "
                "instead."
            )
        if not (self.header is None or self.header == "infer"
                or (self.header == 0 and not isinstance(self.header, bool))):
            raise ParameterError(
                "The 'header' parameter must be 0 or 'infer' (the first line names the columns) "
                f"or None (no header line). Got {self.header!r} instead."
            )
        try:
            "".encode(self.encoding)
        except (LookupError, TypeError):
            raise ParameterError(
                f"The 'encoding' parameter must name a text encoding, e.g. 'utf-8' or "
                f"'latin-1'. Got {self.encoding!r} instead."
            ) from None

    @property
    def has_header(self) -> bool:
        return self.header is not None


@dataclass(frozen=True)
class FileKind:
    """``format`` ("csv" or "parquet") and ``compression`` (None, "gzip", "bz2" or "zstd")."""

    format: str
    compression: str | None = None


def is_data_name(path: Path) -> bool:
    """Whether the name says CSV or Parquet (possibly compressed CSV)."""
    suffix = path.suffix.lower()
    if suffix in COMPRESSIONS:
        suffix = Path(path.stem).suffix.lower()
    return suffix in DATA_SUFFIXES


def file_kind(path: Path) -> FileKind:
    """The format and compression of ``path``, from its name checked against its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    found = next((kind for kind, magic in _MAGIC.items() if head.startswith(magic)), None)
    what = _WHAT.get(found, "empty" if not head else "text")
    name, suffix = str(path), path.suffix.lower()
    compression = COMPRESSIONS.get(suffix)
    if compression is not None:
        if found != compression:
            raise DataError(
                f"{name!r} is named {suffix} but its content is {what}, not "
                f"{_WHAT[compression]}; rename the file to match its content."
            )
        return FileKind("csv", compression)
    named = DATA_SUFFIXES.get(suffix)
    if named == "parquet" and found != "parquet":
        raise DataError(
            f"{name!r} is named {suffix} but its content is {what}, not Parquet data (which "
            "starts with PAR1); rename the file to match its content."
        )
    if named == "csv" and found is not None:
        raise DataError(
            f"{name!r} is named {suffix} but its content is {what}; rename the file to match "
            "its content (.parquet, or .csv.gz/.csv.bz2/.csv.zst for compressed CSV)."
        )
    if named is None and found in COMPRESSIONS.values():
        raise DataError(
            f"{name!r} holds {what} but its name does not say so; rename it with the "
            "compression's suffix (.gz, .bz2 or .zst)."
        )
    return FileKind(named or ("parquet" if found == "parquet" else "csv"), None)


def open_bytes(path: Path, kind: FileKind) -> pa.NativeFile:
    """The file's bytes, decompressed."""
    return pa.input_stream(str(path), compression=kind.compression)


def first_line(path: Path, kind: FileKind, encoding: str) -> tuple[str, int]:
    """The first non-blank line of the text (without a byte-order mark), for sniffing, and
    the number of physical lines up to and including it (the rows the reader skips)."""
    with open_bytes(path, kind) as stream:
        head = stream.read(_SNIFF_BYTES)
    if b"\x00" in head and encoding.lower().replace("-", "").replace("_", "") in (
        "utf8", "utf8sig", "latin1", "ascii", "cp1252"
    ):
        raise DataError(
            f"{str(path)!r} is not CSV text: it holds binary data. Pass CSV or Parquet files "
            "only (narrow a glob such as 'data/*' to 'data/*.csv')."
        )
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    # Line ends as the CSV reader counts them: LF, CRLF or a lone CR.
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if line.strip():
            return line, number + 1
    return "", 0


def sniff_delimiter(line: str, decimal: str) -> str:
    """The most frequent candidate delimiter outside quotes (a comma when none occurs)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    if decimal == ",":
        counts.pop(",")
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else ","


def _is_number(text: str, decimal: str) -> bool:
    if decimal == ",":
        if "." in text:  # pyarrow reads a decimal comma only: "1.5" is then not a number
            return False
        text = text.replace(",", ".")
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unquote(name: str) -> str:
    """A name quoted after a space (``a, "b"``), which the reader keeps with its quotes."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def read_header(
    path: Path, kind: FileKind, options: CsvOptions
) -> tuple[list[str], str, int]:
    """Column names, delimiter and lines before the rows of a CSV file.

    The names are parsed by pyarrow from the file's first block.
    """
    line, skip = first_line(path, kind, options.encoding)
    if not line:
        raise DataError(f"{str(path)!r} is empty: expected a header line with column names.")
    delimiter = options.delimiter or sniff_delimiter(line, options.decimal)
    read_options = pacsv.ReadOptions(
        block_size=_HEAD_BLOCK, encoding=options.encoding,
        autogenerate_column_names=not options.has_header,
    )
    # Ragged lines are reported when the rows are read, with their line number.
    parse_options = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=lambda row: "skip")
    try:
        with open_bytes(path, kind) as stream:
            names = pacsv.open_csv(stream, read_options, parse_options).schema.names
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{str(path)!r} cannot be read as CSV: {first_line_of(exc)}") from exc
    names = [_unquote(name.strip()) for name in names]
    if not options.has_header:
        return [str(i + 1) for i in range(len(names))], delimiter, 0
    if all(_is_number(name, options.decimal) for name in names):
        raise DataError(
            f"{str(path)!r}: its first line {line.strip()!r} holds numbers, not column names. If "
            "the file has no header line, pass header=None; the "
            "columns are then named '1', '2', ..."
        )
    return names, delimiter, skip


def csv_batches(
    path: Path, kind: FileKind, options: CsvOptions, delimiter: str, names: list[str],
    skip: int, columns: list[str], block_size: int, types: dict | None = None,
) -> Iterator[pa.RecordBatch]:
    """The rows of ``columns`` as record batches, streamed with pyarrow.

    ``skip`` physical lines (blank lines and the header) come before the rows. Columns are
    float64 unless ``types`` gives their Arrow types (``{}``: inferred from the first block).
    """
    read_options = pacsv.ReadOptions(
        column_names=names, skip_rows=skip, block_size=block_size,
        encoding=options.encoding,
    )
    convert_options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(columns, pa.float64()) if types is None else types,
        include_columns=columns,
        # An empty cell is a missing value, also in a text column (not the level "").
        strings_can_be_null=True,
        decimal_point=options.decimal,
    )
    with open_bytes(path, kind) as stream:
        reader = pacsv.open_csv(stream, read_options, pacsv.ParseOptions(delimiter=delimiter),
                                convert_options)
        yield from reader


def text_lines(path: Path, kind: FileKind, options: CsvOptions, delimiter: str):
    """``(line number, fields)`` of the non-blank data lines, read with the csv module.

    Only for locating a cell pyarrow refused: pyarrow names no line numbers. The header line is
    skipped, not parsed (its names come from :func:`read_header`).
    """
    with open_bytes(path, kind) as stream:
        text = io.TextIOWrapper(stream, encoding=options.encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter, skipinitialspace=True)
        header_seen = not options.has_header
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield reader.line_num, fields


def parses_as_number(token: str, decimal: str) -> bool:
    return _is_number(token.strip(), decimal)


def first_line_of(exc: BaseException) -> str:
    """The first line of a library's message: never a schema dump."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
