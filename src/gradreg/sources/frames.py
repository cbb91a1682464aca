"""Rows of data frames turned into design rows by a formula: in memory, streamed, or on Dask.

:class:`FrameSource` is a source like the others (``n_features``, ``stats()``, ``batches()``):
it reads frames (pandas, polars, Arrow) one at a time and builds each one's design rows with a
:class:`~gradreg.formula.DesignSpec`, so files larger than memory stream through a formula with
memory bounded by one batch. Data held in memory are designed once and kept as arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._messages import listing
from .._validation import check_finite
from ..errors import DataError
from ..formula import (
    DesignSpec,
    _categorical_variables,
    _frame,
    _sorted_levels,
    formula_target,
    levels_of_batches,
    variables_of,
)
from ..stats import SufficientStats, stats_from_batches
from .arrays import ArraySource, minibatches

__all__ = ["FrameSource", "design_source"]

Batch = tuple[np.ndarray, np.ndarray, np.ndarray | None]
Frames = Callable[[], Iterator[Any]]
# Rows of the first batch from which a streamed formula's design columns are worked out (the
# levels are fixed beforehand, so the columns do not depend on which rows these are).
_SAMPLE_ROWS = 1024


class FrameSource:
    """Design rows of a stream of frames.

    Parameters
    ----------
    frames : callable
        Returns a fresh iterator over the frames (one pass per call).
    spec : DesignSpec
        Turns each frame into ``(X, y, weights)``.
    what : str
        How the data are named in messages (file names, "the Dask DataFrame").
    """

    def __init__(
        self, frames: Frames, spec: DesignSpec, what: str = "the data", with_target: bool = True
    ) -> None:
        self._frames = frames
        self._with_target = with_target
        self.design_spec = spec
        self.fit_intercept = spec.fit_intercept
        self.feature_names = list(spec.columns)
        self.what = what
        self._n_rows: int | None = None

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def redesigned(self, spec: DesignSpec) -> FrameSource:
        """The same frames through another spec (a fitted model's), for prediction."""
        return FrameSource(self._frames, spec, self.what, with_target=False)

    @property
    def n_rows(self) -> int:
        if self._n_rows is None:
            self._n_rows = sum(len(y) for _, y, _ in self._designed())
        return self._n_rows

    def _designed(self) -> Iterator[Batch]:
        row = 0
        for frame in self._frames():
            X, y, w = self.design_spec.design(frame, self._with_target, row_offset=row)
            if y is None:  # features only, for prediction
                y = np.zeros(X.shape[0])
            if w is not None and (w < 0).any():
                bad = int(np.flatnonzero(w < 0)[0])
                raise DataError(
                    f"Row {row + bad + 1}, column {self.design_spec.weights!r} of {self.what}: "
                    f"weight {float(w[bad])!r} is negative; sample weights must be non-negative."
                )
            row += len(y)
            if len(y):
                yield X, y, w

    def stats(self) -> SufficientStats:
        stats = stats_from_batches(self._designed(), self.n_features)
        if stats.n_rows == 0:
            raise DataError(f"{self.what} hold(s) no data rows.")
        if stats.weight_sum == 0:
            raise DataError(
                f"The weights in column {self.design_spec.weights!r} of {self.what} sum to zero: "
                "at least one row needs a positive weight."
            )
        self._n_rows = stats.n_rows
        return stats

    def batches(self, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[Batch]:
        for X, y, w in self._designed():
            yield from minibatches(X, y, w, batch_size, rng)

    def locate_non_finite(self) -> None:
        row = 0
        for X, y, w in self._designed():
            for values, what in ((X, "the design"), (y, "the target"), (w, "the weights")):
                if values is not None:
                    check_finite(values, f"{what} of {self.what}", row_offset=row)
            row += len(y)


def design_source(
    formula: str,
    data: Any,
    levels: Mapping[str, Sequence] | None = None,
    weights: str | None = None,
) -> ArraySource:
    """An :class:`ArraySource` of the design of ``formula`` on a frame held in memory.

    The source carries ``design_spec``, ``fit_intercept`` and ``feature_names``.
    """
    frame = _frame(data)
    if len(frame) == 0:
        raise DataError("The DataFrame holds no data rows.")
    spec = DesignSpec.from_frame(formula, frame, levels=levels, weights=weights)
    X, y, w = spec.design(frame)
    source = ArraySource(X, y, w)
    source.design_spec = spec
    source.fit_intercept = spec.fit_intercept
    source.feature_names = list(spec.columns)
    return source


def streamed_source(
    formula: str,
    frames: Frames,
    columns: Sequence[str],
    levels: Mapping[str, Sequence] | None = None,
    weights: str | None = None,
    what: str = "the data",
    level_frames: Callable[[list[str]], Iterator[Any]] | None = None,
) -> FrameSource:
    """A :class:`FrameSource` for frames read one at a time (files, Dask partitions).

    Categorical levels not given in ``levels`` come from a first pass over the categorical
    columns (read by ``level_frames(columns)`` when given, e.g. Arrow batches of those columns
    only); transforms fitted on the data are refused (each batch would fit them anew).
    """
    # The first frame with rows: an empty file's columns have no type (CSV) and would look
    # like categorical ones.
    first = next((frame for frame in frames() if len(frame)), None)
    if first is None:
        raise DataError(f"{what} hold(s) no data rows.")
    sample = _frame(first).iloc[:_SAMPLE_ROWS]
    missing = [c for c in columns if c not in sample.columns]
    if missing:
        raise DataError(f"Column(s) {missing} are not in {what}.")
    categorical = _categorical_variables(formula, sample)
    given = dict(levels or {})
    wanted = [c for c in categorical if c not in given]
    if wanted:
        first_pass = frames() if level_frames is None else level_frames(wanted)
        given.update(levels_of_batches(first_pass, wanted))
    spec = DesignSpec.from_frame(formula, sample, levels=given, weights=weights, stateful=False)
    return FrameSource(frames, spec, what)


def formula_source(formula: str, X: Any, y: Any, sample_weight: Any):
    """The source of ``GDRegressor(formula=...).fit(X)``: a frame in memory or a Dask frame."""
    if y is not None:
        raise DataError(
            "With a formula the target is the formula's left side: call fit(X) with y=None."
        )
    if type(X).__module__.split(".")[0] in ("dask", "dask_expr"):
        if sample_weight is not None:
            raise DataError("With a Dask DataFrame, name a weight column instead of weights.")
        return dask_design_source(formula, X)
    source = design_source(formula, X)
    if sample_weight is not None:
        from .._validation import check_sample_weight

        source.sample_weight = check_sample_weight(sample_weight, source.n_rows)
    return source


def intercept_of(model: Any, source: Any) -> bool:
    """``fit_intercept`` of a fit: the formula's, when the rows come through a formula."""
    spec = getattr(source, "design_spec", None)
    if spec is None:
        return model.fit_intercept
    if spec.fit_intercept and not model.fit_intercept:
        raise DataError(
            f"fit_intercept=False contradicts the formula {spec.formula!r}, which has an "
            "intercept: write '- 1' in the formula instead."
        )
    return spec.fit_intercept


def dask_design_source(
    formula: str, frame: Any, levels: Mapping[str, Sequence] | None = None,
    weights: str | None = None,
):
    """A :class:`~gradreg.sources.dask.DaskSource` of the design of ``formula`` on a Dask
    DataFrame: levels from one pass over the categorical columns, then each partition is
    designed where it lives."""
    import pandas as pd

    from .dask import DaskSource

    sample = frame.head(256, npartitions=-1)
    if len(sample) == 0:
        raise DataError("The Dask DataFrame holds no data rows.")
    categorical = _categorical_variables(formula, sample)
    given = {str(k): list(v) for k, v in (levels or {}).items()}
    wanted = [c for c in categorical if c not in given]
    if wanted:
        import dask

        # Each partition's distinct values, merged here: no shuffle, whatever the scheduler.
        uniques = dask.compute(*[
            frame[c].map_partitions(lambda part: part.dropna().drop_duplicates())
            for c in wanted
        ])
        for name, values in zip(wanted, uniques, strict=True):
            given[name] = _sorted_levels(list(values))
    spec = DesignSpec.from_frame(formula, sample, levels=given, weights=weights, stateful=False)
    names = [*spec.columns, "__target__"] + (["__weight__"] if weights else [])

    def design(part):
        X, y, w = spec.design(part)
        out = pd.DataFrame(X, columns=spec.columns, index=part.index)
        out["__target__"] = y
        if w is not None:
            out["__weight__"] = w
        return out

    meta = pd.DataFrame({name: pd.Series(dtype="float64") for name in names})
    designed = frame.map_partitions(design, meta=meta)
    source = DaskSource(
        designed[spec.columns], designed["__target__"],
        designed["__weight__"] if weights else None,
    )
    source.feature_names = list(spec.columns)
    source.design_spec = spec
    source.fit_intercept = spec.fit_intercept
    return source


# Bytes of CSV text per record batch: each batch's design is built by one formulaic call,
# whose fixed cost (about 0.1 s) must be small next to the batch's rows.
_FORMULA_CSV_BLOCK = 16 * 1024 * 1024
_FORMULA_PARQUET_BATCH = 1 << 20


def file_frames(files: Sequence[Any], options: Any, columns: Sequence[str],
                types: Mapping[str, Any] | None = None, arrow: bool = False) -> Frames:
    """Frames of the ``columns`` of inspected CSV/Parquet files (see
    :class:`~gradreg.sources.files.FileSource`), read in record batches with the files' dialect:
    pandas DataFrames, or Arrow record batches with ``arrow=True``. CSV columns take the Arrow
    ``types`` given (others are inferred from the first block)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from ..errors import InputFileError
    from ._dialect import csv_batches, first_line_of

    def batches(file) -> Iterator[Any]:
        if file.kind.format == "parquet":
            yield from ds.dataset(str(file.path), format="parquet").to_batches(
                columns=list(columns), batch_size=_FORMULA_PARQUET_BATCH, batch_readahead=1)
        else:
            yield from csv_batches(file.path, file.kind, options, file.delimiter, file.names,
                                   file.skip, list(columns), _FORMULA_CSV_BLOCK,
                                   types=dict(types or {}))

    def frames() -> Iterator[Any]:
        for file in files:
            missing = [c for c in columns if c not in file.names]
            if missing:
                raise DataError(f"{file.name!r} lacks column(s) {missing} of the formula.")
            try:
                for batch in batches(file):
                    yield batch if arrow else batch.to_pandas()
            except pa.ArrowInvalid as error:
                raise DataError(f"{file.name!r} cannot be read: {first_line_of(error)}") from None
            except (pa.ArrowException, OSError) as error:
                raise InputFileError(f"Cannot read {file.name!r}: {first_line_of(error)}") from None

    return frames


def scan_formula(
    files: Sequence[Any],
    options: Any,
    formula: str,
    levels: Mapping[str, Sequence] | None = None,
    weights: str | None = None,
) -> FrameSource:
    """The source of :func:`gradreg.scan` with a formula: files streamed through the design.

    Categorical columns are read as text and the others as float64, in every file alike (a
    first block of digits must not make a column of codes numeric in one file only).
    """
    import pyarrow as pa

    names = list(files[0].names)
    formula_target(formula, names, files[0].delimiter_hint,
                   repr(files[0].name))
    columns = variables_of(formula, names)
    if weights is not None:
        if weights not in names:
            raise DataError(
                f"Weight column {weights!r} is not in {files[0].name!r}; its columns are "
                f"{listing(names)}.{files[0].delimiter_hint}"
            )
        columns.append(weights)
    what = ", ".join(repr(file.name) for file in files)
    # The first frame with rows decides which columns are text (an empty file's columns have
    # no type to go by).
    sample = next((f for f in file_frames(files, options, columns)() if len(f)), None)
    if sample is None:
        raise DataError(f"{what} hold(s) no data rows.")
    categorical = set(_categorical_variables(formula, sample))
    types = {c: pa.string() if c in categorical else pa.float64() for c in columns}
    return streamed_source(
        formula, file_frames(files, options, columns, types), columns, levels, weights, what,
        level_frames=lambda wanted: file_frames(files, options, wanted,
                                                {c: types[c] for c in wanted}, arrow=True)(),
    )


def spec_source(paths: Any, spec: DesignSpec, options: Any = None,
                with_target: bool = False) -> FrameSource:
    """Rows of files designed by a fitted model's spec: for predicting on new files (the
    target column may be absent) or scoring them."""
    import pyarrow as pa

    from ._dialect import CsvOptions
    from .files import _inspect, resolve_paths

    options = options or CsvOptions()
    files = [_inspect(path, options) for path in resolve_paths(paths)]
    names = list(files[0].names)
    columns = variables_of(spec.formula, names)
    if not with_target:
        columns = [c for c in columns if c != spec.target]
    if spec.weights is not None and with_target:
        columns.append(spec.weights)
    types = {c: pa.string() if c in spec.levels and _text_levels(spec.levels[c])
             else pa.float64() for c in columns}
    what = ", ".join(repr(file.name) for file in files)
    return FrameSource(file_frames(files, options, columns, types), spec, what, with_target)


def _text_levels(levels: Sequence) -> bool:
    return any(isinstance(level, str) for level in levels)
