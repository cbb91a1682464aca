"""CSV and Parquet files as a source of rows, read lazily in record batches with pyarrow.

Memory stays bounded by the batch size whatever the size of the files. Every cell must be a
finite number: a non-numeric cell, a missing value, NaN, infinity or a ragged line is an error
naming the file, the line, the column and the offending text.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .._validation import check_memory
from ..errors import DataError, InputFileError, MissingFileError, UnreadableFileError
from ..progress import read_progress
from ..stats import SufficientStats, stats_from_batches

__all__ = ["FileSource", "resolve_paths", "scan"]

_SUFFIXES = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Bytes of CSV text parsed per block (about 5,000 rows of ten numbers) and blocks read ahead.
_CSV_BLOCK = 1024 * 1024
_READAHEAD = 4
_PARQUET_BATCH = 131_072

Batch = tuple[np.ndarray, np.ndarray, None]


def resolve_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Files named by a path, a folder (its CSV/Parquet files), a glob, or a list of these."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    found: list[Path] = []
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES)
            if not inside:
                raise InputFileError(f"Folder {text!r} holds no .csv or .parquet files.")
            found.extend(inside)
        elif any(ch in text for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
            if not matches:
                raise MissingFileError(f"No file matches {text!r}.")
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


def _format_of(path: Path) -> str:
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        # Sniff: Parquet files start with the magic bytes PAR1.
        with open(path, "rb") as handle:
            kind = "parquet" if handle.read(4) == b"PAR1" else "csv"
    return kind


class FileSource:
    """Rows of one or more CSV/Parquet files with the same columns.

    Parameters
    ----------
    paths : path, folder, glob or list of them
    target : str or None
        Name of the target column; ``None`` to read features only (for prediction).
    features : list of str, optional
        Feature columns, in order; by default every column but the target.
    """

    def __init__(
        self,
        paths: str | os.PathLike | Sequence[str | os.PathLike],
        target: str | None,
        features: Sequence[str] | None = None,
    ) -> None:
        self.paths = resolve_paths(paths)
        self.target = target
        columns = self._columns(self.paths[0])
        if target is not None and target not in columns:
            raise DataError(
                f"Target column {target!r} is not in {str(self.paths[0])!r}; its columns are "
                f"{', '.join(map(repr, columns))}."
            )
        if features is None:
            features = [c for c in columns if c != target]
        else:
            features = list(features)
            unknown = [f for f in features if f not in columns]
            if unknown:
                raise DataError(
                    f"Feature column(s) {', '.join(map(repr, unknown))} not in "
                    f"{str(self.paths[0])!r}; its columns are {', '.join(map(repr, columns))}."
                )
        if not features:
            raise DataError(
                f"{str(self.paths[0])!r} has no feature column besides the target {target!r}."
            )
        self._columns_read = [*features] + ([] if target is None else [target])
        self.feature_names = features
        self._n_rows: int | None = None
        # None: a progress bar on terminals only; False: never (set by --quiet).
        self.show_progress: bool | None = False

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

    def _columns(self, path: Path) -> list[str]:
        if _format_of(path) == "parquet":
            try:
                return list(pq.ParquetFile(path).schema_arrow.names)
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataError(f"{str(path)!r} is not a readable Parquet file: {exc}") from None
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            for row in csv.reader(handle):
                if row:
                    return [c.strip() for c in row]
        raise DataError(f"{str(path)!r} is empty: expected a header line with column names.")

    def stats(self) -> SufficientStats:
        """One streaming pass: the sufficient statistics of all files."""
        with read_progress(self.total_bytes, self.show_progress) as advance:
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
        for path in self.paths:
            size = path.stat().st_size
            file_rows = _known_rows(path)
            seen = 0
            for X, y in self._file_batches(path):
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
        paths = list(self.paths)
        if rng is not None:
            paths = [paths[i] for i in rng.permutation(len(paths))]
        for path in paths:
            for X, y in self._file_batches(path):
                if rng is not None:
                    order = rng.permutation(len(y))
                    X, y = X[order], y[order]
                for start in range(0, len(y), batch_size):
                    yield X[start : start + batch_size], y[start : start + batch_size], None

    def _file_batches(self, path: Path) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        columns = self._columns_read
        n_features = self.n_features
        row = 0
        for batch in self._record_batches(path, columns):
            table = np.empty((batch.num_rows, len(columns)), dtype=np.float64)
            for j, column in enumerate(batch.columns):
                if column.null_count:
                    bad = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                    self._raise_bad_cell(path, row + bad, columns[j], "missing value or NaN")
                table[:, j] = column.to_numpy(zero_copy_only=False)
            if not np.isfinite(table).all():
                i, j = np.argwhere(~np.isfinite(table))[0]
                self._raise_bad_cell(path, row + int(i), columns[j], str(table[i, j]))
            row += batch.num_rows
            target = table[:, n_features] if self.target is not None else np.zeros(len(table))
            yield table[:, :n_features], target

    def _record_batches(self, path: Path, columns: list[str]) -> Iterator[pa.RecordBatch]:
        # pyarrow datasets scan with several threads and a bounded read-ahead, so memory stays
        # at a few batches whatever the size of the file.
        try:
            if _format_of(path) == "parquet":
                dataset = ds.dataset(str(path), format="parquet")
            else:
                file_format = ds.CsvFileFormat(
                    read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK),
                    convert_options=pacsv.ConvertOptions(
                        column_types=dict.fromkeys(columns, pa.float64())
                    ),
                )
                dataset = ds.dataset(str(path), format=file_format)
            # Small blocks and a short read-ahead bound the memory (about 60 MB beyond the
            # libraries for a 2 GB CSV) at no cost in speed.
            yield from dataset.to_batches(
                columns=columns,
                batch_size=_PARQUET_BATCH,
                use_threads=True,
                batch_readahead=_READAHEAD,
                fragment_readahead=1,
            )
        except pa.ArrowInvalid as exc:
            raise self._explain(path, columns, exc) from None
        except OSError as exc:
            raise InputFileError(f"Cannot read {str(path)!r}: {exc}") from None

    def _raise_bad_cell(self, path: Path, row: int, column: str, what: str):
        where = f"row {row + 1}"
        if _format_of(path) == "csv":
            found = _line_of_row(path, row)
            if found is not None:
                line, header, fields = found
                where = f"line {line}"
                if column in header and len(fields) == len(header):
                    text = fields[header.index(column)]
                    what = repr(text) if text.strip() else "missing value"
        raise DataError(
            f"{str(path)!r}, {where}, column {column!r}: {what} is not a finite number. "
            "Remove or impute missing and non-finite values first."
        )

    def _explain(self, path: Path, columns: list[str], exc: Exception) -> DataError:
        """Find the cell or line pyarrow refused, re-reading the text with the csv module."""
        if _format_of(path) != "csv":
            return DataError(f"{str(path)!r} cannot be read: {exc}")
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            header: list[str] | None = None
            for fields in reader:
                if not fields:
                    continue
                if header is None:
                    header = [f.strip() for f in fields]
                    continue
                line = reader.line_num
                if len(fields) != len(header):
                    return DataError(
                        f"{str(path)!r}, line {line}: expected {len(header)} fields, got "
                        f"{len(fields)} (a ragged line): {','.join(fields)!r}."
                    )
                for name in columns:
                    token = fields[header.index(name)]
                    if not _parses_as_float(token):
                        return DataError(
                            f"{str(path)!r}, line {line}, column {name!r}: {token!r} is not a "
                            "number."
                        )
        return DataError(f"{str(path)!r} cannot be read as CSV: {exc}")


def _known_rows(path: Path) -> int | None:
    if _format_of(path) == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    return None


def _parses_as_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _line_of_row(path: Path, row: int) -> tuple[int, list[str], list[str]] | None:
    """Line number, header and fields of data row ``row`` (0-based, blank lines skipped)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header: list[str] = []
        seen = -1  # the header is row -1
        for fields in reader:
            if not fields:
                continue
            if seen == -1:
                header = [f.strip() for f in fields]
            elif seen == row:
                return reader.line_num, header, fields
            seen += 1
    return None


def scan(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    target: str | None = None,
    features: Sequence[str] | None = None,
    *,
    formula: str | None = None,
    levels: Mapping[str, Sequence] | None = None,
    weights: str | None = None,
):
    """Lazy view of CSV/Parquet files, for ``GDRegressor().fit(scan(...))``.

    With ``formula`` (``"y ~ x1 + C(region)"``, see :mod:`gradreg.formula`) the rows are
    streamed through the formula's design instead of ``target``/``features``; the levels of
    categorical columns come from one first pass over those columns, or from ``levels``
    (``{"region": ["north", "south"]}``). ``weights`` names a column of sample weights.

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

        return scan_formula(resolve_paths(paths), formula, levels, weights)
    if weights is not None or levels is not None:
        raise DataError("weights= and levels= of scan need formula=.")
    if target is None:
        raise DataError("scan needs target= (the name of the target column) or formula=.")
    return FileSource(paths, target, features)


def read_all(source: FileSource) -> tuple[np.ndarray, np.ndarray]:
    """All rows in memory as ``(X, y)``: for plots and guidance on data that fit in memory."""
    # CSV text takes at least as many bytes as the float64 values it holds, less than twice;
    # Parquet's row count is in its metadata.
    needed = 0
    for path in source.paths:
        if _format_of(path) == "parquet":
            needed += pq.ParquetFile(path).metadata.num_rows * (source.n_features + 1) * 8
        else:
            needed += path.stat().st_size
    check_memory(2 * needed, "Reading all rows of " + ", ".join(str(p) for p in source.paths))
    parts = list(source.batches(_PARQUET_BATCH))
    if not parts:
        return np.empty((0, source.n_features)), np.empty(0)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
