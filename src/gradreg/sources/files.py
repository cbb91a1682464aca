"""CSV and Parquet files as a source of rows, read lazily in record batches with pyarrow.

Memory stays bounded by the batch size whatever the size of the files. Every cell must be a
finite number: a non-numeric cell, a missing value, NaN, infinity or a ragged line is an error
naming the file, the line, the column and the offending text. CSV dialects (delimiter, decimal
mark, header, encoding, compression) are described in :mod:`gradreg.sources._dialect`; column
types follow one rule for every input (:mod:`gradreg._columns`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .._columns import as_float64, check_column_type
from .._messages import delimiter_hint
from .._validation import check_memory
from ..errors import DataError, InputFileError, MissingFileError, UnreadableFileError
from ..stats import SufficientStats, stats_from_batches
from ._dialect import (
    CsvOptions,
    FileKind,
    csv_batches,
    file_kind,
    first_line_of,
    is_data_name,
    parses_as_number,
    read_header,
    text_lines,
)

__all__ = ["FileSource", "resolve_paths", "scan"]

# Bytes of CSV text parsed per block (about 5,000 rows of ten numbers) and blocks read ahead.
_CSV_BLOCK = 1024 * 1024
_READAHEAD = 4
_PARQUET_BATCH = 131_072

Batch = tuple[np.ndarray, np.ndarray, None]
# ``progress(total_bytes)`` is a context manager yielding ``advance(rows, bytes_done)``.
Progress = Callable[[int], AbstractContextManager[Callable[[int, int], None]]]


def resolve_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Files named by a path, a folder (its CSV/Parquet files), a glob, or a list of these."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    found: list[Path] = []
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and is_data_name(p))
            if not inside:
                raise InputFileError(f"Folder {text!r} holds no .csv or .parquet files.")
            found.extend(inside)
        elif any(ch in text for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
            if not matches:
                raise MissingFileError(f"No file matches {text!r}.")
            stray = [p for p in matches if not is_data_name(p)]
            if stray:
                raise InputFileError(
                    f"{str(stray[0])!r}, matched by {text!r}, is not named as a CSV or Parquet "
                    "file (.csv, .txt, .tsv, .parquet, .pq, or .gz/.bz2/.zst CSV); narrow the "
                    "pattern, e.g. to '*.csv'."
                )
            found.extend(matches)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise InputFileError(f"{text!r} is not a regular file.")
        else:
            raise MissingFileError(f"No such file: {text!r}.")
    for path in found:
        if not os.access(path, os.R_OK):
            raise UnreadableFileError(f"Cannot read {str(path)!r}: permission denied.")
    return found


@dataclass(frozen=True)
class DataFile:
    """One file: its path, kind, column names and types (Parquet), CSV delimiter and the
    lines before its rows."""

    path: Path
    kind: FileKind
    names: list[str]
    types: dict[str, pa.DataType] | None = None
    delimiter: str = ","
    skip: int = 0

    @property
    def delimiter_hint(self) -> str:
        """For a message about missing columns: a sentence suggesting another delimiter
        when a column name holds one (see :func:`gradreg._messages.delimiter_hint`)."""
        return delimiter_hint(self.names, self.delimiter) if self.kind.format == "csv" else ""

    @property
    def name(self) -> str:
        return str(self.path)


def _inspect(path: Path, options: CsvOptions) -> DataFile:
    """Read the header (CSV) or schema (Parquet) of one file."""
    kind = file_kind(path)
    if kind.format == "parquet":
        try:
            schema = pq.ParquetFile(path).schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise DataError(
                f"{str(path)!r} is not a readable Parquet file: {first_line_of(exc)}"
            ) from exc
        return DataFile(path, kind, list(schema.names), dict(zip(schema.names, schema.types,
                                                                   strict=True)))
    names, delimiter, skip = read_header(path, kind, options)
    return DataFile(path, kind, names, None, delimiter, skip)


@contextmanager
def _no_progress(total_bytes: int):
    yield lambda rows, done: None


def _listing(names: Sequence[str]) -> str:
    return ", ".join(map(repr, names))


class FileSource:
    """Rows of one or more CSV/Parquet files with the same columns.

    Parameters
    ----------
    paths : path, folder, glob or list of them
    target : str or None
        Name of the target column; ``None`` to read features only (for prediction).
    features : list of str, optional
        Feature columns, in order; by default every column but the target.
    delimiter, decimal, header, encoding
        CSV reading options, as in :func:`scan`.
    progress : callable, optional
        ``progress(total_bytes)``, a context manager yielding ``advance(rows, bytes_done)``,
        called while the statistics are gathered; the faces pass a progress bar.
    """

    # Read on this machine: a further pass (the certificate's measurement) is one more read.
    local_files = True

    def __init__(
        self,
        paths: str | os.PathLike | Sequence[str | os.PathLike],
        target: str | None,
        features: Sequence[str] | None = None,
        *,
        delimiter: str | None = None,
        decimal: str = ".",
        header: int | str | None = "infer",
        encoding: str = "utf-8",
        progress: Progress | None = None,
    ) -> None:
        self.options = CsvOptions(delimiter, decimal, header, encoding)
        self.paths = resolve_paths(paths)
        self.target = target
        self.files = [_inspect(path, self.options) for path in self.paths]
        first = self.files[0]
        columns = first.names
        if target is not None and target not in columns:
            raise DataError(
                f"Target column {target!r} is not in {first.name!r}; its columns are "
                f"{_listing(columns)}.{first.delimiter_hint}"
            )
        given = features is not None
        if features is None:
            features = [c for c in columns if c != target]
        else:
            features = list(features)
            unknown = [f for f in features if f not in columns]
            if unknown:
                raise DataError(
                    f"Feature column(s) {_listing(unknown)} not in {first.name!r}; its columns "
                    f"are {_listing(columns)}.{first.delimiter_hint}"
                )
        if not features:
            raise DataError(f"{first.name!r} has no feature column besides the target {target!r}.")
        self._columns_read = [*features] + ([] if target is None else [target])
        self.feature_names = features
        self._check_schemas(all_columns=not given)
        self._n_rows: int | None = None
        self.progress = progress

    def _check_schemas(self, all_columns: bool) -> None:
        """Every file has the columns read, with types that can be fitted: one line if not."""
        first = self.files[0]
        for file in self.files:
            for column in self._columns_read:
                if column not in file.names:
                    # Naming the features helps when this one was read only for being
                    # in the first file.
                    by_name = all_columns and column != self.target
                    advice = file.delimiter_hint or (
                        " Pass only the files that belong together, " + (
                            "give them the same columns, or name the features to read "
                            "(features=[...])." if by_name else "or give them the same columns."))
                    raise DataError(
                        f"{file.name!r} has no column {column!r}, which {first.name!r} has; "
                        f"its columns are {_listing(file.names)}.{advice}"
                    )
            if all_columns and file is not first:
                extra = [c for c in file.names if c not in first.names]
                if extra:
                    raise DataError(
                        f"{file.name!r} has column {extra[0]!r}, which {first.name!r} lacks; "
                        "pass only the files that belong together, give them the same "
                        "columns, or name the features to read (features=[...])."
                    )
            if file.types is not None:
                for column in self._columns_read:
                    check_column_type(file.types[column], column, repr(file.name))

    def with_progress(self, progress: Progress | None) -> FileSource:
        """A copy of this source reporting progress to ``progress``."""
        copy = object.__new__(FileSource)
        copy.__dict__.update(self.__dict__)
        copy.progress = progress
        return copy

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_rows(self) -> int:
        if self._n_rows is None:
            self._n_rows = sum(len(y) for _, y, _ in self.batches(_PARQUET_BATCH))
        return self._n_rows

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    def stats(self) -> SufficientStats:
        """One streaming pass: the sufficient statistics of all files."""
        progress = self.progress or _no_progress
        with progress(self.total_bytes) as advance:
            stats = stats_from_batches(self._tracked(advance), self.n_features)
        if stats.n_rows == 0:
            raise DataError(
                f"{', '.join(str(p) for p in self.paths)} hold(s) no data rows, only a header."
            )
        self._n_rows = stats.n_rows
        return stats

    def _tracked(self, advance) -> Iterator[Batch]:
        """All rows in file order, reporting rows and (estimated) bytes done as they come."""
        rows, done = 0, 0
        for file in self.files:
            size = file.path.stat().st_size
            file_rows = _known_rows(file)
            seen = 0
            for X, y in self._file_batches(file):
                rows += len(y)
                seen += len(y)
                # Parquet knows its row count; for CSV the bar moves at each file's end.
                fraction = min(seen / file_rows, 1.0) if file_rows else 0.0
                advance(rows, done + int(fraction * size))
                yield X, y, None
            done += size
            advance(rows, done)

    def batches(self, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[Batch]:
        """Record batches as ``(X, y, None)``; shuffled within and across files with ``rng``."""
        files = list(self.files)
        if rng is not None:
            files = [files[i] for i in rng.permutation(len(files))]
        for file in files:
            for X, y in self._file_batches(file):
                if rng is not None:
                    order = rng.permutation(len(y))
                    X, y = X[order], y[order]
                for start in range(0, len(y), batch_size):
                    yield X[start : start + batch_size], y[start : start + batch_size], None

    def _file_batches(self, file: DataFile) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        columns = self._columns_read
        n_features = self.n_features
        row = 0
        for batch in self._record_batches(file, columns):
            # X and y apart, each contiguous: the compiled statistics pass reads them in place.
            X = np.empty((batch.num_rows, n_features), dtype=np.float64)
            y = np.zeros(batch.num_rows)
            for j, name in enumerate(columns):
                column = batch.column(name)
                if column.null_count:
                    bad = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                    self._raise_bad_cell(file, row + bad, name, "missing value or NaN")
                if j < n_features:
                    X[:, j] = as_float64(column)
                else:
                    y[:] = as_float64(column)
            finite_x, finite_y = np.isfinite(X), np.isfinite(y)
            if not (finite_x.all() and finite_y.all()):
                bad = ~np.column_stack([finite_x, finite_y])[:, : len(columns)]
                i, j = (int(k) for k in np.argwhere(bad)[0])  # the first in reading order
                value = X[i, j] if j < n_features else y[i]
                self._raise_bad_cell(file, row + i, columns[j], str(value))
            row += batch.num_rows
            yield X, y

    def _record_batches(self, file: DataFile, columns: list[str]) -> Iterator[pa.RecordBatch]:
        try:
            if file.kind.format == "parquet":
                # pyarrow datasets scan with several threads and a bounded read-ahead, so
                # memory stays at a few batches whatever the size of the file.
                yield from ds.dataset(str(file.path), format="parquet").to_batches(
                    columns=columns, batch_size=_PARQUET_BATCH, use_threads=True,
                    batch_readahead=_READAHEAD, fragment_readahead=1,
                )
            else:
                # The streaming CSV reader converts blocks on several threads; small blocks
                # bound the memory whatever the size (or compression) of the file.
                yield from csv_batches(file.path, file.kind, self.options, file.delimiter,
                                       file.names, file.skip, columns, _CSV_BLOCK)
        except pa.ArrowInvalid as exc:
            raise self._explain(file, columns, exc) from exc
        except (pa.ArrowException, OSError) as exc:
            raise InputFileError(f"Cannot read {file.name!r}: {first_line_of(exc)}") from exc

    def _raise_bad_cell(self, file: DataFile, row: int, column: str, what: str):
        where = f"row {row + 1}"
        if file.kind.format == "csv":
            found = _line_of_row(file, self.options, row)
            if found is not None:
                line, fields = found
                where = f"line {line}"
                if len(fields) == len(file.names):
                    text = fields[file.names.index(column)]
                    what = repr(text) if text.strip() else "missing value"
        raise DataError(
            f"{file.name!r}, {where}, column {column!r}: {what} is not a finite number. "
            "Remove or impute missing and non-finite values first."
        )

    def _explain(self, file: DataFile, columns: list[str], exc: Exception) -> DataError:
        """Find the cell or line pyarrow refused, re-reading the text line by line."""
        if file.kind.format != "csv":
            return DataError(f"{file.name!r} cannot be read: {first_line_of(exc)}")
        header = file.names
        for line, fields in text_lines(file.path, file.kind, self.options, file.delimiter):
            if len(fields) != len(header):
                shown = file.delimiter.join(fields)
                return DataError(
                    f"{file.name!r}, line {line}: expected {len(header)} fields, got "
                    f"{len(fields)} (a ragged line): {shown!r}."
                )
            for name in columns:
                token = fields[header.index(name)]
                if not parses_as_number(token, self.options.decimal):
                    hint = (" (a text column? encode it as numbers, or leave it out: "
                            "features=[...])")
                    if self.options.decimal == "." and parses_as_number(token, ","):
                        hint = " (a decimal comma? pass decimal=',')"
                    elif self.options.decimal == "," and parses_as_number(token, "."):
                        hint = (" (a decimal point: the file writes numbers with '.', so leave "
                                "decimal at its default ('.'))")
                    return DataError(
                        f"{file.name!r}, line {line}, column {name!r}: {token!r} is not a "
                        f"number{hint}."
                    )
        return DataError(f"{file.name!r} cannot be read as CSV: {first_line_of(exc)}")


def _known_rows(file: DataFile) -> int | None:
    if file.kind.format == "parquet":
        return pq.ParquetFile(file.path).metadata.num_rows
    return None


def _line_of_row(file: DataFile, options: CsvOptions, row: int) -> tuple[int, list[str]] | None:
    """Line number and fields of data row ``row`` (0-based, blank lines skipped)."""
    for seen, (line, fields) in enumerate(text_lines(file.path, file.kind, options,
                                                     file.delimiter)):
        if seen == row:
            return line, fields
    return None


def scan(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    target: str | None = None,
    features: Sequence[str] | None = None,
    *,
    delimiter: str | None = None,
    decimal: str = ".",
    header: int | str | None = "infer",
    encoding: str = "utf-8",
    progress: Progress | None = None,
    formula: str | None = None,
    levels: Mapping[str, Sequence] | None = None,
    weights: str | None = None,
):
    """Lazy view of CSV/Parquet files, for ``GDRegressor().fit(scan(...))``.

    With ``formula`` (``"y ~ x1 + C(region)"``, see :mod:`gradreg.formula`) the rows are
    streamed through the formula's design instead of ``target``/``features``; the levels of
    categorical columns come from one first pass over those columns, or from ``levels``
    (``{"region": ["north", "south"]}``). ``weights`` names a column of sample weights.

    Parameters
    ----------
    paths : path, folder, glob or list of them
        CSV (``.csv``, ``.txt``, ``.tsv``, compressed as ``.gz``, ``.bz2`` or ``.zst``) or
        Parquet (``.parquet``, ``.pq``) files with the same columns (in any order).
    target : str
        The target column (``"2"`` for the second column of a file without a header).
    features : list of str, optional
        Feature columns; by default every column but the target.
    delimiter : str, optional
        CSV field delimiter; by default sniffed from the first line (``,``, ``;``, tab, ``|``).
    decimal : {".", ","}, default="."
        Decimal mark of the CSV numbers.
    header : 0, "infer" or None, default="infer"
        ``None`` for CSV files without a header line; columns are then named ``"1"``, ``"2"``...
    encoding : str, default="utf-8"
        Text encoding of CSV files; a byte-order mark is skipped.
    progress : callable, optional
        ``progress(total_bytes)``, a context manager yielding ``advance(rows, bytes_done)``.
    formula, levels, weights
        A formula's design instead of ``target``/``features``, with the same reading options.

    Raises
    ------
    DataError
        A file whose content does not match its name, an empty file, a missing or unfittable
        column (in any file), a first line of numbers where names are expected.
    InputFileError
        A missing or unreadable path, or a glob catching a file that is not CSV or Parquet.

    Examples
    --------
    >>> from gradreg.datasets import study_time_path
    >>> source = scan(study_time_path(), target="score")
    >>> source.feature_names, source.n_rows
    (['hours'], 100)
    >>> scan(study_time_path(), formula="score ~ hours + I(hours ** 2)").feature_names
    ['hours', 'I(hours ** 2)']
    """
    if formula is not None:
        if target is not None or features is not None:
            raise DataError(
                "Give either a formula or target/features to scan, not both: the formula "
                "names the target and the terms."
            )
        from .frames import scan_formula

        options = CsvOptions(delimiter, decimal, header, encoding)
        files = [_inspect(path, options) for path in resolve_paths(paths)]
        return scan_formula(files, options, formula, levels, weights)
    if weights is not None or levels is not None:
        raise DataError("weights= and levels= of scan need formula=.")
    if target is None:
        raise DataError("scan needs target= (the name of the target column) or formula=.")
    return FileSource(paths, target, features, delimiter=delimiter, decimal=decimal,
                      header=header, encoding=encoding, progress=progress)


def read_all(source: FileSource) -> tuple[np.ndarray, np.ndarray]:
    """All rows in memory as ``(X, y)``: for plots and guidance on data that fit in memory."""
    # CSV text takes at least as many bytes as the float64 values it holds, less than twice;
    # Parquet's row count is in its metadata.
    needed = 0
    for file in source.files:
        if file.kind.format == "parquet":
            needed += pq.ParquetFile(file.path).metadata.num_rows * (source.n_features + 1) * 8
        else:
            needed += file.path.stat().st_size
    check_memory(2 * needed, "Reading all rows of " + ", ".join(str(p) for p in source.paths))
    parts = list(source.batches(_PARQUET_BATCH))
    if not parts:
        return np.empty((0, source.n_features)), np.empty(0)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
