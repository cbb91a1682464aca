"""``GDRegressor.save`` and the building of a fitted estimator from a model file's plain data.

The file format itself (reading hostile JSON, checking every field) lives in
:mod:`gradreg.persistence`, below the estimator; this mixin only maps the estimator's fitted
attributes to and from that plain data.
"""

from __future__ import annotations

import numpy as np

from ._fitting import json_params
from .errors import GradregError, ModelFormatError
from .objective import Preconditioner
from .persistence import write_model

__all__ = ["ModelFileMethods"]


class ModelFileMethods:
    """Saving and loading for :class:`~gradreg.estimator.GDRegressor`."""

    def save(self, path: str) -> None:
        """Write the fitted model to ``path`` as versioned JSON (atomically).

        Examples
        --------
        >>> import tempfile, os
        >>> from gradreg import GDRegressor, load_model
        >>> model = GDRegressor().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
        >>> model.save(path)
        >>> load_model(path).predict([[3.0]]).round(6)
        array([7.])
        """
        self._check_fitted()
        names = getattr(self, "feature_names_in_", None)
        spec = getattr(self, "design_spec_", None)
        write_model(path, {
            "n_features": int(self.n_features_in_),
            "feature_names": None if names is None else [str(n) for n in names],
            "coef": self.coef_,
            "intercept": self.intercept_,
            "preconditioner": {
                "shift": self.preconditioner_.shift,
                "scale": self.preconditioner_.scale,
                "fit_intercept": self.preconditioner_.fit_intercept,
                "constant": self.preconditioner_.constant,
            },
            "params": json_params(self),
            "fit": {
                "n_iter": self.n_iter_,
                "converged": self.converged_,
                "stop_reason": getattr(self, "stop_reason_", ""),
                "optimality_gap": getattr(self, "optimality_gap_", float("nan")),
                "solver": self.solver_,
                "optimizer": self.optimizer_,
                "route": self.route_,
                "learning_rate": self.learning_rate_,
                "lipschitz": self.lipschitz_,
                "metrics": getattr(self, "metrics_", {}),
                "coef_error_bound": getattr(self, "coef_error_bound_", None),
                "statistics": getattr(self, "stats_", None),
                "factor": getattr(self, "qr_stats_", None),
            },
            "design": None if spec is None else spec.to_dict(),
        })

    @classmethod
    def _from_model_fields(cls, fields: dict):
        """A fitted estimator from the checked plain data of :func:`persistence.read_model`."""
        model = cls()
        params = fields["params"]
        expected = set(json_params(model))
        if set(params) != expected:
            unknown = sorted(set(params) - expected)
            missing = sorted(expected - set(params))
            raise ModelFormatError(
                "Model field 'params' is invalid: "
                + (f"unknown parameter(s) {', '.join(unknown)}" if unknown else
                   f"it lacks {', '.join(missing)}")
                + "."
            )
        try:
            model.set_params(**params)
            model._config()
        except GradregError as exc:
            raise ModelFormatError(f"Model field 'params' is invalid: {exc}") from None
        pre = fields["preconditioner"]
        fit = fields["fit"]
        model.coef_ = fields["coef"]
        model.intercept_ = fields["intercept"]
        model.n_features_in_ = fields["n_features"]
        if fields["feature_names"] is not None:
            model.feature_names_in_ = np.asarray(fields["feature_names"], dtype=object)
        model.preconditioner_ = Preconditioner(
            pre["shift"], pre["scale"], pre["fit_intercept"], pre["constant"]
        )
        model.n_iter_ = fit["n_iter"]
        model.converged_ = fit["converged"]
        model.stop_reason_ = fit["stop_reason"]
        model.optimality_gap_ = fit["optimality_gap"]
        model.solver_ = fit["solver"]
        model.optimizer_ = fit["optimizer"]
        model.route_ = fit["route"]
        model.learning_rate_ = fit["learning_rate"]
        model.lipschitz_ = fit["lipschitz"]
        model.metrics_ = fit["metrics"]
        if not np.isnan(fit["coef_error_bound"]):
            model.coef_error_bound_ = fit["coef_error_bound"]
        if fit["statistics"] is not None:
            model.stats_ = fit["statistics"]
        if fit["factor"] is not None:
            model.qr_stats_ = fit["factor"]
        if fields["design"] is not None:
            from .formula import DesignSpec

            model.design_spec_ = DesignSpec.from_dict(fields["design"])
        return model
