"""Dask arrays and DataFrames as a source of rows, for data spread over a cluster.

Full-batch methods need one distributed pass: each partition is summarised by its
:class:`~gradreg.stats.SufficientStats` where it lives, the summaries are merged in a tree on
the workers, and only the (d+1) x (d+1) result travels back; the descent then runs locally with
no further round trips. Stochastic methods pull one partition at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._validation import check_finite
from ..errors import DataError
from ..stats import SufficientStats, merge_shifted, shifted_back, shifted_stats_from_arrays
from .arrays import minibatches

__all__ = ["DaskSource", "is_dask_collection", "read_files"]

Batch = tuple[np.ndarray, np.ndarray, np.ndarray | None]
# Summaries merged per task in the reduction tree.
_FAN_IN = 8


def is_dask_collection(obj: Any) -> bool:
    """Whether ``obj`` is a dask array, DataFrame or Series (without importing dask)."""
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr")


def _partition_stats(X: Any, y: Any, w: Any) -> tuple[np.ndarray, SufficientStats]:
    """The origin of the partition and its statistics less it: merged around one origin, the
    means of columns far from zero lose no digits (see :func:`~gradreg.stats.merge_shifted`)."""
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64).ravel()
    weights = None if w is None else np.asarray(w, dtype=np.float64).ravel()
    return shifted_stats_from_arrays(X, y, weights, threads=1)


def _partition_gram(pass_, X: Any, y: Any, w: Any) -> tuple[np.ndarray, int, float]:
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64).ravel()
    weights = None if w is None else np.asarray(w, dtype=np.float64).ravel()
    return pass_.over_batches([(X, y, weights)])


def _sum_grams(parts: list) -> tuple[np.ndarray, int, float]:
    return (sum(p[0] for p in parts), sum(p[1] for p in parts), float(sum(p[2] for p in parts)))


def _as_array(values: Any) -> Any:
    """A dask array with known chunk sizes for a dask DataFrame, Series or array.

    Partitions of unknown length (a filtered frame, a boolean-masked array) are counted in one
    pass, so that ``y`` and the weights can be cut at the same rows as ``X``.
    """
    if values is None:
        return None
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(values, dd.DataFrame | dd.Series):
        # Optimized first: dask may fuse the partitions of a column projection (one column of
        # small Parquet files), and lengths counted on the fused partitions would not match
        # the unfused frame's.
        if hasattr(values, "optimize"):
            values = values.optimize()
        return values.to_dask_array(lengths=True)
    values = da.asarray(values)
    if values.ndim and np.isnan(values.chunks[0]).any():
        values = values.compute_chunk_sizes()
    return values


def _finite_rows(X: Any, y: Any) -> tuple[int, int]:
    """Rows in this partition, and the first row holding NaN or infinity (-1 when none)."""
    values = np.column_stack([np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)])
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    return len(values), int(bad[0]) if bad.size else -1


class DaskSource:
    """Rows of a dask array or DataFrame ``X`` with targets ``y`` (dask array or Series).

    The partitions may be of any sizes (empty, one row, unknown until computed), and ``y`` and
    ``sample_weight`` may be partitioned differently from ``X``: they are cut at ``X``'s rows.
    """

    def __init__(self, X: Any, y: Any, sample_weight: Any = None) -> None:
        import dask.array as da
        import dask.dataframe as dd

        self.feature_names: list[str] | None = None
        if isinstance(X, dd.DataFrame):
            self.feature_names = [str(c) for c in X.columns]
        X, y, sample_weight = (_as_array(v) for v in (X, y, sample_weight))
        if not isinstance(X, da.Array) or X.ndim != 2:
            raise DataError("A Dask X must be a 2-D dask array or a dask DataFrame.")
        if y is None:
            raise DataError("GDRegressor requires y to be passed, but the target y is None.")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise DataError(f"y must be 1-D (one target per row); got shape {y.shape}.")
        if X.dtype.kind not in "iufb":
            raise DataError(f"Input X must be numeric; the dask array has dtype {X.dtype}.")
        if X.shape[0] != y.shape[0]:
            raise DataError(
                f"X and y have different numbers of rows: X has {X.shape[0]}, y has {y.shape[0]}."
            )
        X = X.rechunk({1: X.shape[1]})  # whole rows in each block
        # A tuple of block sizes for the one dimension (a bare tuple would name a size per
        # dimension and give blocks that do not line up with the rows of X).
        y = y.rechunk((X.chunks[0],))
        if sample_weight is not None:
            sample_weight = da.asarray(sample_weight)
            if sample_weight.shape != (X.shape[0],):
                raise DataError(
                    f"sample_weight must be 1-D with {X.shape[0]} values (one per row); got "
                    f"shape {sample_weight.shape}."
                )
            sample_weight = sample_weight.rechunk((X.chunks[0],))
        if X.shape[1] == 0:
            raise DataError("Found array with 0 feature(s) while a minimum of 1 is required.")
        # Whole rows in each block, and y and the weights cut at the same rows as X, whatever
        # the partitions each came with.
        rows = (X.chunks[0],)
        X = X.rechunk((rows[0], (X.shape[1],)))
        y = y.rechunk(rows)
        if sample_weight is not None:
            if sample_weight.ndim != 1 or sample_weight.shape[0] != X.shape[0]:
                raise DataError(
                    f"sample_weight must be 1-D with {X.shape[0]} values (one per row); got "
                    f"shape {sample_weight.shape}."
                )
            sample_weight = sample_weight.rechunk(rows)
        self.X, self.y, self.sample_weight = X, y, sample_weight

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    def _blocks(self):
        xs = self.X.to_delayed().ravel()
        ys = self.y.to_delayed().ravel()
        ws = [None] * len(xs) if self.sample_weight is None else self.sample_weight.to_delayed()
        return list(zip(xs, ys, ws, strict=True))

    def stats(self) -> SufficientStats:
        """One distributed pass; partitions summarised and merged on the workers."""
        import dask
        from dask import delayed

        level = [delayed(_partition_stats)(x, y, w) for x, y, w in self._blocks()]
        if not level:
            raise DataError("The Dask data hold no rows.")
        while len(level) > 1:
            level = [
                delayed(merge_shifted)(level[i : i + _FAN_IN])
                for i in range(0, len(level), _FAN_IN)
            ]
        (merged,) = dask.compute(level[0])
        total = shifted_back(merged[1], merged[0])
        if total.n_rows == 0:
            raise DataError("The Dask data hold no rows.")
        return total

    def gram_pass(self, pass_) -> tuple[np.ndarray, int, float]:
        """A pass of the QR factor (:func:`gradreg.qr_stats.qr_by_cholesky`) run on the
        workers: each partition's ``(G, rows, weight sum)``, summed in a tree; only the
        (d+2) x (d+2) matrix travels back."""
        return self.reduce(functools.partial(_partition_gram, pass_), _sum_grams)

    def reduce(self, summarise: Callable, combine: Callable) -> Any:
        """``summarise(X, y, w)`` of each partition where it lives, merged in a tree by
        ``combine`` (a list of summaries to one); only the result travels back."""
        import dask
        from dask import delayed

        level = [delayed(summarise)(x, y, w) for x, y, w in self._blocks()]
        while len(level) > 1:
            level = [
                delayed(combine)(level[i : i + _FAN_IN]) for i in range(0, len(level), _FAN_IN)
            ]
        (total,) = dask.compute(level[0])
        return total

    def locate_non_finite(self) -> None:
        """A second pass, on the error path only: name the first non-finite row."""
        import dask
        from dask import delayed

        counts = dask.compute(*[delayed(_finite_rows)(x, y) for x, y, _ in self._blocks()])
        offset = 0
        for rows, bad in counts:
            if bad >= 0:
                raise DataError(
                    f"Input X or y contains NaN or infinity at row {offset + bad}. Remove or "
                    "impute non-finite values."
                )
            offset += rows
        if self.sample_weight is not None:
            check_finite(np.asarray(self.sample_weight.compute()), "sample_weight")

    def batches(self, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[Batch]:
        """Partitions fetched one at a time (shuffled, and shuffled within, with ``rng``)."""
        blocks = self._blocks()
        if rng is not None:
            blocks = [blocks[i] for i in rng.permutation(len(blocks))]
        import dask

        for x, y, w in blocks:
            X, Y, W = dask.compute(x, y, w)
            X, Y = np.asarray(X), np.asarray(Y, dtype=np.float64)
            W = None if W is None else np.asarray(W, dtype=np.float64)
            yield from minibatches(X, Y, W, batch_size, rng)


def read_files(paths: list, target: str, features: list[str] | None, **reading) -> DaskSource:
    """CSV or Parquet files as a dask DataFrame read by the cluster's workers.

    ``reading`` holds the CSV options of :func:`gradreg.scan` (``delimiter``, ``decimal``,
    ``header``, ``encoding``); the dialect, header and schema of every file are checked here
    first, with the same messages as a local fit.
    """
    import dask.dataframe as dd

    from .files import FileSource

    # Checks paths, dialects, columns and types; reads headers only.
    local = FileSource(paths, target, features, **reading)
    columns = [*local.feature_names, target]
    names = [str(p) for p in local.paths]
    if all(f.kind.format == "parquet" for f in local.files):
        frame = dd.read_parquet(names, columns=columns)
    elif all(f.kind.format == "csv" for f in local.files):
        frame = dd.concat([_csv_frame(f, local.options, columns) for f in local.files])
    else:
        raise DataError(
            "A Dask fit reads CSV or Parquet files, not both at once: convert them to one format."
        )
    frame = frame.astype("float64")
    return DaskSource(frame[local.feature_names], frame[target])


def read_formula_files(paths: list, formula: str, levels=None, weights: str | None = None,
                       **reading):
    """CSV or Parquet files through a formula on the cluster: the columns it uses are read by
    the workers (text columns as text), the levels found in one pass over the categorical
    columns, and each partition designed where it lives."""
    import dask.dataframe as dd

    from ..formula import formula_target, variables_of
    from ._dialect import CsvOptions
    from .files import _inspect, resolve_paths
    from .frames import dask_design_source

    options = CsvOptions(**reading)
    files = [_inspect(path, options) for path in resolve_paths(paths)]
    formula_target(formula, files[0].names, files[0].delimiter_hint,
                   repr(files[0].name))
    columns = variables_of(formula, files[0].names) + ([weights] if weights else [])
    names = [str(file.path) for file in files]
    if all(f.kind.format == "parquet" for f in files):
        frame = dd.read_parquet(names, columns=columns)
    elif all(f.kind.format == "csv" for f in files):
        frame = dd.concat([_csv_frame(f, options, columns, dtype=None) for f in files])
    else:
        raise DataError(
            "A Dask fit reads CSV or Parquet files, not both at once: convert them to one format."
        )
    return dask_design_source(formula, frame, levels=levels, weights=weights)


def _csv_frame(file, options, columns: list[str], dtype: str | None = "float64"):
    """One CSV file as a dask DataFrame, in the dialect and with the names read locally."""
    import dask.dataframe as dd
    from fsspec.compression import compr

    if file.kind.compression not in compr:
        raise DataError(
            f"{str(file.path)!r}: Dask workers cannot decompress {file.kind.compression} here "
            "(fsspec lacks its codec; for zstd: pip install zstandard). Fit without Dask, or "
            "decompress the file first."
        )
    return dd.read_csv(
        str(file.path), sep=file.delimiter, decimal=options.decimal, names=file.names,
        header=0 if options.has_header else None, usecols=columns, encoding=options.encoding,
        dtype=None if dtype is None else dict.fromkeys(columns, dtype), skipinitialspace=True,
        compression=file.kind.compression, skip_blank_lines=True,
        # Compressed files cannot be split into blocks.
        **({"blocksize": None} if file.kind.compression else {}),
    )
