"""``GDRegressor.summary`` and ``predict_interval``: the estimator's face of
:mod:`gradreg.inference`, which computes from the statistics the fit kept."""

from __future__ import annotations

from typing import Any

from . import _validation as v
from .errors import DataError
from .sources import ArraySource, given_source, is_source
from .sources.dask import is_dask_collection

__all__ = ["InferenceMethods"]


class InferenceMethods:
    """Regression tables and intervals for :class:`~gradreg.estimator.GDRegressor`."""

    def summary(
        self,
        cov_type: str = "nonrobust",
        alpha: float = 0.05,
        *,
        X: Any = None,
        y: Any = None,
        sample_weight: Any = None,
        use_t: bool | None = None,
    ):
        """Standard errors, tests and intervals of the coefficients, as statsmodels reports them.

        Computed from the statistics the fit kept (``stats_``) in O(d^3), whatever the number
        of rows; weighted fits are weighted least squares. Penalized fits are refused. Where
        the fit gathered the QR factor of its rows (``qr_stats_``: the cross-products could not
        resolve its optimum), the design's inverse, rank and condition number come from it,
        to ``cond x eps`` where the cross-products give ``cond^2 x eps``. Without one (fits by
        ``partial_fit``), passing the training data as ``X`` and ``y`` gathers it when the
        cross-products cannot vouch for six digits.

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}, default="nonrobust"
            The HC types (White; MacKinnon and White) need one more pass over the training
            data, given as ``X``, ``y`` and ``sample_weight`` (or ``X=gradreg.scan(...)``, or
            Dask collections).
        alpha : float in (0, 1), default=0.05
            Level of the confidence intervals ``conf_int()``.
        use_t : bool, optional
            Student's t (and F) distributions; by default for ``"nonrobust"`` only, as
            statsmodels.

        Returns
        -------
        Summary
            ``params``, ``bse``, ``tvalues``, ``pvalues``, ``conf_int()``, ``rsquared``, ...;
            ``print(summary)`` draws the table.

        Raises
        ------
        ParameterError
            For a penalized fit, an unknown ``cov_type`` or ``alpha`` outside (0, 1).
        DataError
            With no more rows than parameters, or an HC type without the training data.

        Examples
        --------
        >>> from gradreg import GDRegressor, load_study_time
        >>> data = load_study_time()
        >>> summary = GDRegressor().fit(data.X, data.score).summary()
        >>> summary.names, summary.bse.round(4), round(summary.rsquared, 4)
        (['Intercept', 'x0'], array([0.9967, 0.1739]), 0.9091)
        """
        from .inference import model_statistics, summarize, term_names

        self._check_fitted()
        stats = model_statistics(self)
        source = None if X is None else self._data_source(X, y, sample_weight)
        return summarize(
            stats, self.coef_, self.intercept_, fit_intercept=self.preconditioner_.fit_intercept,
            names=term_names(self), cov_type=cov_type, alpha=alpha, use_t=use_t, source=source,
            converged=getattr(self, "converged_", None),
            optimality_gap=getattr(self, "optimality_gap_", None),
            coef_error_bound=getattr(self, "coef_error_bound_", None),
            qr=getattr(self, "qr_stats_", None),
        )

    def predict_interval(self, X: Any, alpha: float = 0.05, kind: str = "prediction"):
        """``(n_samples, 2)`` lower and upper bounds around ``predict(X)``.

        ``kind="confidence"`` bounds the mean response, ``"prediction"`` a new observation (of
        weight one), at level ``1 - alpha``, from the statistics the fit kept; unpenalized fits
        only.

        Examples
        --------
        >>> from gradreg import GDRegressor, load_study_time
        >>> data = load_study_time()
        >>> model = GDRegressor().fit(data.X, data.score)
        >>> model.predict_interval([[5.0]], kind="confidence").round(2)
        array([[63.93, 65.67]])
        """
        from .inference import model_statistics, prediction_interval

        self._check_fitted()
        stats = model_statistics(self)
        spec = getattr(self, "design_spec_", None)
        if spec is not None:
            checked = spec.design(X, with_target=False)[0]
        else:
            checked = self._check_X(X, reset=False)
        return prediction_interval(
            stats, self.coef_, self.intercept_, checked,
            fit_intercept=self.preconditioner_.fit_intercept, alpha=alpha, kind=kind,
            qr=getattr(self, "qr_stats_", None),
        )

    def _data_source(self, X: Any, y: Any, sample_weight: Any):
        """The training data again, as a source checked against the fitted features."""
        spec = getattr(self, "design_spec_", None)
        if spec is not None and not is_source(X):
            return self._design_source(spec, X, y, sample_weight)
        if is_dask_collection(X):
            from .sources.dask import DaskSource

            source = DaskSource(X, y, sample_weight)
        elif is_source(X):
            source = given_source(X, y, sample_weight)
        else:
            return ArraySource(*self._check_Xy(X, y, sample_weight, reset=False))
        self._check_source_features(source)
        return source

    def _design_source(self, spec, X: Any, y: Any, sample_weight: Any):
        """Frames designed by the fitted formula, with its levels (for the HC pass)."""
        from .sources.frames import dask_design_source

        if y is not None:
            raise DataError(
                "With a formula the target is the formula's left side: pass X with y=None."
            )
        if is_dask_collection(X):
            return dask_design_source(spec.formula, X, levels=spec.levels, weights=spec.weights)
        design, target, weights = spec.design(X)
        if sample_weight is not None:
            weights = v.check_sample_weight(sample_weight, design.shape[0])
        return ArraySource(design, target, weights)
