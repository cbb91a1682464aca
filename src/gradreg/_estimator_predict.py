"""``GDRegressor.predict`` and ``score``: predictions for arrays, frames through the model's
formula, and sources read in batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _validation as v
from ._columns import check_feature_names
from .errors import DataError, DataRangeError, NotFittedError, ParameterError
from .sources import is_source
from .sources.dask import is_dask_collection

__all__ = ["PredictionMethods"]

_PREDICT_BATCH = 65_536


class PredictionMethods:
    """Predictions and R^2 for :class:`~gradreg.estimator.GDRegressor`."""

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        self._check_fitted()
        with np.errstate(over="ignore", invalid="ignore"):
            spec = getattr(self, "design_spec_", None)
            if spec is not None and is_dask_collection(X):
                predictions = np.concatenate(_per_partition(X, self._design_and_predict))
            elif is_dask_collection(X):  # each partition where it lives, as with a formula
                self._check_dask_features(X)
                if getattr(X, "ndim", 2) == 2 and not hasattr(X, "columns"):
                    X = X.rechunk({1: X.shape[1]})  # whole rows in each block
                predictions = _concatenated(_per_partition(X, self._predict_rows))
            elif spec is not None and not is_source(X):
                X = spec.design(X, with_target=False)[0]
                predictions = X @ self.coef_ + self.intercept_
            elif is_source(X):
                if spec is not None and hasattr(X, "redesigned"):
                    # scan(formula=...) of new files: their own first pass may find other
                    # levels; the design must be the model's.
                    X = X.redesigned(spec)
                self._check_source_features(X)
                parts = [batch @ self.coef_ for batch, _, _ in X.batches(_PREDICT_BATCH)]
                predictions = np.concatenate(parts) + self.intercept_ if parts else np.empty(0)
            else:
                X = self._check_X(X, reset=False)
                predictions = np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_
        if not np.all(np.isfinite(predictions)):
            raise DataRangeError(
                "Some predictions are beyond float64's range (about 1e308): the features are "
                "far larger than those the model was fitted on."
            )
        return predictions

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _check_source_features(self, source) -> None:
        given = getattr(source, "feature_names", None)
        self._check_features(None if not given else list(given), source.n_features, "the data")

    def _check_features(self, given: list[str] | None, width: int, whose: str) -> None:
        """Columns (``given``; None when the data name none) and their count against those
        the model was fitted on."""
        names = getattr(self, "feature_names_in_", None)
        if names is not None and given is not None:
            check_feature_names(given, names, whose)
        if width != self.n_features_in_:
            raise DataError(
                f"X has {width} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """R^2 of the predictions for ``X`` against ``y`` (scikit-learn's ``score``).

        Parameters
        ----------
        X : array-like, DataFrame or source of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or None
            None when the target is in ``X``: a model fitted with a formula reads it from the
            frame (the formula's left side), a source from :func:`gradreg.scan` carries it.
        sample_weight : array-like of shape (n_samples,) or None

        Raises
        ------
        ParameterError
            When ``y`` is None and ``X`` holds no target.

        Examples
        --------
        >>> import pandas as pd
        >>> from gradreg import GDRegressor
        >>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.1, 4.9, 7.0]})
        >>> model = GDRegressor(formula="y ~ x").fit(frame)
        >>> round(model.score(frame), 4)
        0.9991
        """
        if y is None:
            y, weights = self._target_in(X)
            sample_weight = weights if sample_weight is None else sample_weight
        with v.as_data_errors():
            return super().score(X, y, sample_weight)

    def _target_in(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """The target held by ``X`` and its row weights (None when it has none)."""
        self._check_fitted()
        spec = getattr(self, "design_spec_", None)
        if is_source(X):
            # Only copies of the target and weights are kept (a column may be a view of its
            # batch, which would keep the features alive): they may not fit in memory.
            parts = [(np.array(target), None if w is None else np.array(w))
                     for _, target, w in X.batches(_PREDICT_BATCH)]
        elif spec is not None and is_dask_collection(X):
            parts = _per_partition(X, lambda part: spec.design(part, with_target=True)[1:])
        elif spec is not None:
            return spec.design(X, with_target=True)[1:]
        else:
            raise ParameterError(
                "score(X) without y needs the target in X: a model fitted with a formula (the "
                "target is then its left side) or a source from gradreg.scan. Pass y."
            )
        if not parts:
            return np.empty(0), None
        weighted = parts[0][1] is not None
        return (np.concatenate([target for target, _ in parts]),
                np.concatenate([w for _, w in parts]) if weighted else None)

    def _predict_rows(self, rows: Any) -> np.ndarray:
        if len(rows):  # each partition checked as an array is: text, NaN and infinity refused
            rows = v.check_X(rows, finite=True)
        return np.asarray(rows, dtype=np.float64).reshape(-1, len(self.coef_)) @ self.coef_ + (
            self.intercept_)

    def _check_dask_features(self, X: Any) -> None:
        """The columns of a Dask collection against those the model was fitted on."""
        if getattr(X, "ndim", 2) != 2:
            raise DataError(
                f"Expected a 2-D Dask array or a Dask DataFrame for X; got {X.ndim} "
                "dimension(s). Reshape it to (n_samples, n_features)."
            )
        columns = getattr(X, "columns", None)
        if columns is None:
            self._check_features(None, X.shape[1], "the Dask array")
        else:
            self._check_features([str(c) for c in columns], len(columns),
                                 "the Dask DataFrame")

    def _design_and_predict(self, frame: Any) -> np.ndarray:
        return self.design_spec_.design(frame, with_target=False)[0] @ self.coef_ + self.intercept_


def _concatenated(parts: list) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0)


def _per_partition(frame: Any, function) -> list:
    """``function`` of each partition of a Dask DataFrame, computed where it lives; only its
    results (predictions, targets: a few numbers a row) come back."""
    import dask

    parts = np.ravel(np.asarray(frame.to_delayed(), dtype=object))  # arrays: a grid of blocks
    return list(dask.compute(*[dask.delayed(function)(part) for part in parts]))
