"""``GDRegressor``: the scikit-learn compatible face of gradreg."""

from __future__ import annotations

import functools
import inspect
import time
from dataclasses import replace
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import validate_data

from . import _validation as v
from ._choices import PENALTIES, SCHEDULES
from ._chunks import blas_for_small_products
from ._columns import align_columns, check_feature_names
from ._estimator_config import fit_config
from ._estimator_files import ModelFileMethods
from ._estimator_inference import InferenceMethods
from ._estimator_predict import PredictionMethods
from ._estimator_store import FitStoreMethods
from ._fitting import (
    fit_report,
    out_of_range,
    require_weights_in_range,
    warn_about_problem,
    with_checkpoints,
)
from ._messages import shown
from ._streaming import partial_fit
from ._units import (
    UserCallback,
    rate_factor,
)
from .errors import (
    DataError,
    DataRangeError,
    DivergenceError,
    GradregError,
    ParameterError,
)
from .optim import OPTIMIZERS
from .penalties import make_penalty
from .persistence import read_model
from .problem import build_problem, choose_route
from .progress import epoch_progress, reading_progress
from .solvers import SOLVERS, FitConfig, solve
from .sources import ArraySource, given_source, is_source
from .sources.dask import is_dask_collection
from .sources.frames import formula_source, intercept_of

__all__ = ["GDRegressor", "load_model"]

ROUTES = ("auto", "stats", "data")


class GDRegressor(
    FitStoreMethods, InferenceMethods, ModelFileMethods, PredictionMethods, RegressorMixin,
    BaseEstimator,
):
    """Linear regression fitted by gradient descent, with an honest report of how it went.

    The objective is scikit-learn's elastic-net one,
    ``(1/2n) |y - Xw - b|^2 + alpha * (l1_ratio |w|_1 + (1 - l1_ratio)/2 |w|^2)``
    (the penalty only with ``penalty`` set; the intercept is never penalised). Features are
    standardized internally as a preconditioner; ``coef_`` and ``intercept_`` are always in the
    units of the data given. The full-batch gradient comes from sufficient statistics gathered
    in one pass, so an epoch costs O(d^2) whatever the number of rows, and the exact optimum is
    known: ``optimality_gap_`` says how far the fit is from it.

    What it reports follows the tutorial's convention: costs (``history_``, ``optimal_loss_``,
    the report) are twice the objective above, the mean squared error when there is no
    penalty, and ``learning_rate`` is a step on that cost, so with ``standardize=False`` a
    rate means what it means in :func:`gradreg.gradient_descent`.

    Parameters
    ----------
    solver : {"auto", "gd", "sgd", "cg"}, default="auto"
        ``"gd"`` full-batch gradient descent (proximal with an L1 penalty), ``"sgd"`` mini-batch
        stochastic gradient descent, ``"cg"`` conjugate gradient. ``"auto"`` picks ``"gd"`` when
        ``learning_rate``, ``optimizer``, ``schedule``, ``momentum`` or ``line_search`` is set (so
        that it is used) or the penalty has an L1 part, and ``"cg"`` otherwise; ``solver_choice_``
        says which and why. A parameter set to a value other than its default that the chosen
        solver, optimizer, schedule or penalty does not use raises ``ParameterError`` (``alpha``
        without a penalty warns), e.g. ``solver="cg"`` with a ``learning_rate``.
    optimizer : {"auto", "plain", "momentum", "nesterov", "adam", "adagrad"}, default="auto"
        The update rule of ``"gd"`` and ``"sgd"``. ``"auto"`` is ``"nesterov"`` for full batch
        and ``"plain"`` for SGD, and ``"plain"`` for full batch with a ``learning_rate`` given
        (the classic algorithm, stable below 2/L). With full batch, ``"nesterov"`` is FISTA
        with adaptive restart.
    learning_rate : "auto", float > 0 or callable, default="auto"
        The step on the mean squared error, as in the tutorial: ``w <- w - eta * grad(MSE)``,
        in the standardized coordinates (with ``standardize=False``, in the data's own, where
        it equals :func:`gradreg.gradient_descent`'s). ``"auto"`` is ``1/L`` with ``L`` the
        largest curvature of the MSE (a mini-batch bound for SGD); a callable maps the step
        count to a step size. Adam and AdaGrad take the rate as their step length.
    schedule : {"auto", "constant", "invscaling", "exponential", "step", "cosine"}, \
default="auto"
        Decay of a float or automatic learning rate: ``eta/(t+1)^power_t``, ``0.99`` per epoch,
        halved every 10 epochs, or cosine down to zero over ``max_iter`` epochs. ``"auto"`` is
        constant, except for SGD with Adam: ``eta/sqrt(1 + epochs)``.
    power_t : float >= 0, default=0.25
        Exponent of ``"invscaling"``.
    momentum : float in [0, 1), default=0.9
        Momentum of ``"momentum"`` and of SGD's ``"nesterov"``.
    b1, b2, eps : float, default=0.9, 0.999, 1e-8
        Adam's decay rates and its denominator's offset.
    line_search : bool, default=False
        Backtracking (Armijo) line search for ``"gd"`` with ``"plain"`` or ``"nesterov"``.
    batch_size : int >= 1, default=32
        Rows per step of ``"sgd"``.
    shuffle : bool, default=True
        Reshuffle the rows before every epoch of ``"sgd"`` (reproducibly with
        ``random_state``).
    penalty : {None, "l2", "l1", "elasticnet"}, default=None
    alpha : float >= 0, default=1e-4
        Penalty strength (used only when ``penalty`` is set).
    l1_ratio : float in [0, 1], default=0.15
        L1 share of ``"elasticnet"``.
    fit_intercept : bool, default=True
    standardize : bool, default=True
        Descend in standardized coordinates (the preconditioner). ``False`` descends on the raw
        coefficients, as the classic tutorial does.
    route : {"auto", "stats", "data"}, default="auto"
        Where full-batch gradients come from: the d x d statistics (``"auto"`` up to 2048
        features) or passes over the data.
    max_iter : int >= 1, default=1000
        Maximum number of epochs (full passes, or CG steps).
    tol : float > 0 or None, default=1e-8
        Target for ``coef_error_bound_``, the certified bound on the coefficients' relative
        error; the fit is converged only when the bound meets it. The descent goes on to a
        hundredth of ``tol`` from the optimum (conjugate gradient, whose steps are cheap, on to
        the optimum's own rounding), so the coefficients are usually far more accurate than
        the bound says. Unlike a gap relative to the loss it means the same
        whatever the R^2. Where float64 cannot certify ``tol`` (ill-conditioned data) the fit
        stops at the precision limit, says so in ``stop_reason_`` and warns with the ``tol``
        that can be certified.
        ``None`` never stops for the bound: the descent runs ``max_iter`` epochs, or until
        it can go no further (conjugate gradient's residual vanishes), towards an optimum
        computed as for the default ``tol``.
    early_stopping : bool, default=False
        For ``"sgd"``: hold out ``validation_fraction`` of the rows and stop when their loss has
        not improved for ``n_iter_no_change`` epochs.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int >= 1, default=5
    average : bool or int >= 1, default=True
        For ``"sgd"``: report the Polyak-Ruppert average of the iterates (Polyak & Juditsky
        1992), which converges with a constant learning rate where the last iterate keeps
        fluctuating. An integer starts the average once that many rows have been seen
        (scikit-learn's ``average``); ``False`` reports the last iterate.
    warm_start : bool, default=False
        Start from the previous solution when refitting.
    random_state : int, Generator or None, default=None
        Seeds the shuffling of SGD and the validation split.
    callbacks : callable or list of callables, default=None
        Called after every epoch with an :class:`~gradreg._solver_base.EpochInfo`; returning
        ``True`` stops the fit.
    formula : str or None, default=None
        A model formula, as in statsmodels and R (``"y ~ x1 + C(region) + I(x2**2)"``, read by
        formulaic): ``fit`` then takes a DataFrame (pandas, polars, pyarrow) or a Dask
        DataFrame as ``X`` with ``y=None``; the formula's intercept (``- 1`` removes it)
        replaces ``fit_intercept``. Sources from :func:`gradreg.scan` carry their own formula.
    verbose : int, default=0
        ``1`` shows a progress bar (epoch, loss, gradient norm, time left) when standard error
        is a terminal; ``2`` shows it anywhere.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Epochs run.
    converged_ : bool
        Whether ``coef_error_bound_`` meets ``tol``; never true otherwise.
    coef_error_bound_ : float
        Certified bound on the relative error of the fitted coefficients: the larger of the
        normwise relative error of the slopes in column-equilibrated coordinates
        ``|D (w - w*)| / |D w*|`` (``D`` the columns' standard deviations, so it does not
        depend on the units of any column) and the relative error of the intercept of the
        centred model. It is the distance to the optimum plus the optimum's own rounding error
        (see :mod:`gradreg.optimum`); infinite on ``route="data"``, which has no optimum.
        With a numerically rank-deficient design (``rank_`` below the number of parameters) it
        refers to the minimum-norm solution in standardized coordinates.
    optimality_gap_ : float
        Relative gap ``(f - f*)/f*`` after the fit (NaN on the data route).
    history_ : dict of ndarray
        ``loss`` (the mean squared error; with a penalty, MSE + 2 x alpha x penalty, twice
        the objective above), ``grad_norm`` (of that cost) and ``gap`` at the start and after
        each epoch.
    stop_reason_, solver_, optimizer_, route_ : str
    solver_choice_ : str
        The solver that ran and why, e.g. ``"cg (solver='auto': no learning rate set)"``.
    learning_rate_ : float
        The base learning rate used (a step on the mean squared error, as ``learning_rate``).
    lipschitz_ : float
        Largest curvature ``L`` of the mean squared error in the descent's coordinates
        (standardized unless ``standardize=False``); ``2/L`` is the stability limit of
        ``learning_rate``.
    optimal_loss_ : float
        The exact optimum of the cost shown in ``history_['loss']``.
    condition_number_ : float
    rank_ : int
        Numerical rank of the standardized design (with the intercept column).
    qr_stats_ : QRStats
        The triangular factor of the rows centred and scaled as the standardized design, when
        the fit gathered it (its cross-products could not resolve the optimum to ``tol``):
        ``summary`` and ``predict_interval`` then take the design from it, which does not
        square the condition number. Absent otherwise, and after ``partial_fit`` of more than
        one chunk.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names; with a formula, the design's column names
        (``C(region)[T.north]``).
    design_spec_ : DesignSpec
        With a formula: the formula, its categorical levels and design columns, which
        ``predict`` uses to build the same design from new frames.

    Examples
    --------
    >>> from gradreg import GDRegressor
    >>> from gradreg.datasets import load_study_time
    >>> data = load_study_time()
    >>> model = GDRegressor().fit(data.X, data.score)
    >>> print(f"{model.coef_[0]:.4f} {model.intercept_:.4f} {model.converged_}")
    5.4442 37.5797 True
    """

    _parameter_constraints: dict[str, list] = {
        "solver": [v.Options(("auto", *SOLVERS))],
        "optimizer": [v.Options(("auto", *OPTIMIZERS))],
        "learning_rate": [
            v.Options(("auto",)),
            v.Interval(Real, 0.0, None, closed="neither"),
            v.IsCallable("a schedule (a callable of the step count)"),
        ],
        "schedule": [v.Options(SCHEDULES)],
        "power_t": [v.Interval(Real, 0.0, None, closed="left")],
        "momentum": [v.Interval(Real, 0.0, 1.0, closed="left")],
        "b1": [v.Interval(Real, 0.0, 1.0, closed="left")],
        "b2": [v.Interval(Real, 0.0, 1.0, closed="left")],
        "eps": [v.Interval(Real, 0.0, None, closed="left")],
        "line_search": [v.Options((True, False))],
        "batch_size": [v.Interval(Integral, 1, None, closed="left")],
        "shuffle": [v.Options((True, False))],
        "penalty": [v.Options(PENALTIES)],
        "alpha": [v.Interval(Real, 0.0, None, closed="left")],
        "l1_ratio": [v.Interval(Real, 0.0, 1.0, closed="both")],
        "fit_intercept": [v.Options((True, False))],
        "standardize": [v.Options((True, False))],
        "route": [v.Options(ROUTES)],
        "max_iter": [v.Interval(Integral, 1, None, closed="left")],
        "tol": [v.Options((None,)), v.Interval(Real, 0.0, None, closed="neither")],
        "early_stopping": [v.Options((True, False))],
        "validation_fraction": [v.Interval(Real, 0.0, 1.0, closed="neither")],
        "n_iter_no_change": [v.Interval(Integral, 1, None, closed="left")],
        "average": [v.Options((True, False)), v.Interval(Integral, 1, None, closed="left")],
        "warm_start": [v.Options((True, False))],
        "random_state": [v.RandomState()],
        "callbacks": [v.Options((None,)), v.ListOfCallables()],
        "verbose": [v.Interval(Integral, 0, None, closed="left"), v.Options((True, False))],
        "formula": [v.Options((None,)), v.Text("a formula string such as 'y ~ x1 + C(g)'")],
    }

    def __init__(
        self,
        *,
        solver: str = "auto",
        optimizer: str = "auto",
        learning_rate: Any = "auto",
        schedule: str = "auto",
        power_t: float = 0.25,
        momentum: float = 0.9,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        line_search: bool = False,
        batch_size: int = 32,
        shuffle: bool = True,
        penalty: str | None = None,
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        fit_intercept: bool = True,
        standardize: bool = True,
        route: str = "auto",
        max_iter: int = 1000,
        tol: float = 1e-8,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        average: bool | int = True,
        warm_start: bool = False,
        random_state: Any = None,
        callbacks: Any = None,
        verbose: int = 0,
        formula: str | None = None,
    ) -> None:
        self.solver = solver
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.power_t = power_t
        self.momentum = momentum
        self.b1 = b1
        self.b2 = b2
        self.eps = eps
        self.line_search = line_search
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.route = route
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.average = average
        self.warm_start = warm_start
        self.random_state = random_state
        self.callbacks = callbacks
        self.verbose = verbose
        self.formula = formula

    # -----------------------------------------------------------------------------------------
    # Parameters
    # -----------------------------------------------------------------------------------------

    def _config(self, solver: str | None = None, one_pass: bool = False) -> FitConfig:
        """Validate the parameters and resolve the automatic choices.

        ``solver`` overrides the ``solver`` parameter; ``one_pass`` is set by ``partial_fit``.
        """
        config, self._choice = fit_config(self, _defaults(), solver, one_pass)
        return config

    # -----------------------------------------------------------------------------------------
    # Data
    # -----------------------------------------------------------------------------------------

    def _check_X(self, X: Any, reset: bool, finite: bool = True) -> np.ndarray:
        if not reset:
            X = self._by_name(X)
            fitted, given = getattr(self, "feature_names_in_", None), v.feature_names_of(X)
            if fitted is not None and given is not None:
                check_feature_names(given, fitted)
        checked = v.check_X(X, finite=finite)
        with v.as_data_errors():
            if reset:
                validate_data(self, checked, reset=True, skip_check_array=True)
                names = v.feature_names_of(X)
                if names is not None:
                    self.feature_names_in_ = np.asarray(names, dtype=object)
            else:
                validate_data(self, X, reset=False, skip_check_array=True)
        return checked

    def _by_name(self, X: Any) -> Any:
        """A frame's columns in fit's order, when it has them in another (prediction by name)."""
        return align_columns(X, getattr(self, "feature_names_in_", None))

    def _source(self, X: Any, y: Any, sample_weight: Any):
        """An ArraySource of checked arrays, or a file/Dask source passed as ``X``."""
        if self.formula is not None and not is_source(X):
            source = formula_source(self.formula, X, y, sample_weight)
        elif is_dask_collection(X):
            from .sources.dask import DaskSource

            source = DaskSource(X, y, sample_weight)
        elif is_source(X):
            source = given_source(X, y, sample_weight)
            if self.verbose and getattr(source, "progress", False) is None:
                source = source.with_progress(reading_progress(self.verbose))
        else:
            checked_X, checked_y, weights = self._check_Xy(X, y, sample_weight, reset=True)
            scaled, exponent = v.scale_free_weights(weights)
            source = ArraySource(checked_X, checked_y, scaled)
            source.weight_exponent = exponent
            return source
        self.n_features_in_ = source.n_features
        names = getattr(source, "feature_names", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        if getattr(source, "design_spec", None) is not None:
            self.design_spec_ = source.design_spec
        return source

    def _check_Xy(self, X: Any, y: Any, sample_weight: Any, reset: bool):
        if y is None:
            raise DataError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        # Finiteness of X and y is checked by the statistics pass, which reads them anyway.
        checked_X = self._check_X(X, reset, finite=False)
        checked_y = v.check_y(y, checked_X.shape[0], finite=False)
        weights = v.check_sample_weight(sample_weight, checked_X.shape[0])
        return checked_X, checked_y, weights

    # -----------------------------------------------------------------------------------------
    # Fitting
    # -----------------------------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        checkpoint: str | None = None,
        checkpoint_every: int = 100,
        resume: str | None = None,
    ) -> GDRegressor:
        """Fit the model to ``X`` (n_samples, n_features) and ``y`` (n_samples,).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), or a source from
            :func:`gradreg.scan` (then ``y`` is None)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; an integer weight equals repeating the row.
        checkpoint : path, optional
            Save the full state of the fit to this JSON file every ``checkpoint_every`` epochs.
        checkpoint_every : int, default=100
        resume : path, optional
            Continue from a checkpoint written by a fit with the same parameters on the same
            data; the result is the same as that of an uninterrupted fit.

        Returns
        -------
        self : GDRegressor
        """
        # A fit that fails or is interrupted leaves the estimator exactly as it was.
        saved = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, checkpoint, checkpoint_every, resume)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit(self, X, y, sample_weight, checkpoint, checkpoint_every, resume) -> GDRegressor:
        config = self._config()
        started = time.perf_counter()
        previous = self._warm_parameters()
        # fit starts afresh: nothing partial_fit kept (the merged statistics, the SGD stream)
        # survives it, as in scikit-learn.
        for attribute in ("feature_names_in_", "design_spec_", "stats_", "qr_stats_", "_stream"):
            self.__dict__.pop(attribute, None)
        source = self._source(X, y, sample_weight)
        validation = None
        if config.early_stopping:
            if not hasattr(source, "split"):
                raise ParameterError(
                    "early_stopping=True holds out validation rows, which needs the data as "
                    f"arrays in memory; got a {type(source).__name__}. Fit arrays, or set "
                    "early_stopping=False."
                )
            source, validation = source.split(self.validation_fraction, config.rng)
            if source.n_rows == 0:
                raise ParameterError(
                    f"validation_fraction={shown(self.validation_fraction)} holds out all "
                    f"{validation.n_rows} rows, leaving none to train on. Use a smaller "
                    "validation_fraction (the default is 0.1)"
                    + (", or early_stopping=False." if validation.n_rows > 1 else
                       "; with a single row, set early_stopping=False.")
                )
        penalty = make_penalty(self.penalty, self.alpha, self.l1_ratio)
        route = choose_route(self.route, source.n_features)
        with blas_for_small_products(route, source.n_features):
            try:
                problem = build_problem(
                    source, penalty, intercept_of(self, source), self.standardize, self.route,
                    validation_source=validation, tol=config.tol,
                )
            except DataRangeError:
                return self._fit_rescaled(source, penalty, checkpoint, resume, overflow=True)
            if out_of_range(problem.stats):
                return self._fit_rescaled(source, penalty, checkpoint, resume, overflow=False)
            require_weights_in_range(problem.stats)
            theta0 = None
            if previous is not None and previous[0].shape[0] == source.n_features:
                theta0 = problem.precond.from_user(*previous)
            warn_about_problem(problem, config, self._choice)
            config = with_checkpoints(self, config, problem, checkpoint, checkpoint_every,
                                      resume)
            show = None if self.verbose == 1 else bool(self.verbose)
            with epoch_progress(config.max_iter, enabled=show) as bar:
                if bar is not None:
                    bar = UserCallback(bar, rate_factor(config.optimizer))
                    config = replace(config, callbacks=(*config.callbacks, bar))
                try:
                    result = solve(problem, config, theta0)
                except DivergenceError as error:
                    raise self._user_divergence(error, problem, config) from error
        self._store(problem, result, time.perf_counter() - started, config)
        return self

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDRegressor:
        """Learn from one more chunk of rows, continuing from the previous calls.

        With a full-batch solver (the default), the chunk's statistics are merged with those
        of all the rows seen and the fit descends on them from the previous solution to the
        certified optimum: after every call the model is the least-squares fit of all rows so
        far, in any order (recursive least squares; O(d^2) memory, a cost per call independent
        of the rows seen). With ``solver="sgd"`` (or data too wide for the statistics) each
        call is one pass of stochastic steps over the chunk; a pass whose loss rises sharply
        is retried with half the learning rate, and
        :class:`~gradreg.errors.DivergenceError` is raised if that keeps failing. Either way
        the scaling follows the merged statistics and ``optimality_gap_`` is measured against
        the exact optimum of all the data so far; an SGD call that ends far from it (gap
        above 1) warns with a :class:`~gradreg.errors.ConvergenceWarning` giving the gap. A
        chunk whose sample weights are all zero contributes nothing and changes nothing.

        Examples
        --------
        >>> import numpy as np
        >>> from gradreg import GDRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(1000, 2)); y = X @ [1.0, -2.0] + 0.5
        >>> model = GDRegressor()
        >>> for start in range(0, 1000, 100):
        ...     model = model.partial_fit(X[start:start + 100], y[start:start + 100])
        >>> np.round(model.coef_, 6), model.converged_
        (array([ 1., -2.]), True)
        """
        return partial_fit(self, X, y, sample_weight)

    def report(self) -> str:
        """A plain-text account of the fit: solver, epochs, why it stopped, the certified bound
        on the coefficients' relative error (``coef_error_bound_``), loss and gap.

        Examples
        --------
        >>> from gradreg import GDRegressor, load_study_time
        >>> data = load_study_time()
        >>> print(GDRegressor().fit(data.X, data.score).report().splitlines()[0])
        solver            cg, gradients from the sufficient statistics
        """
        self._check_fitted()
        return fit_report(self)

    def set_params(self, **params: Any) -> GDRegressor:
        """Set parameters (scikit-learn's ``set_params``); an unknown name is a ParameterError."""
        try:
            return super().set_params(**params)
        except GradregError:
            raise
        except ValueError as exc:
            raise ParameterError(str(exc)) from None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def load_model(path) -> GDRegressor:
    """Read a model written by :meth:`GDRegressor.save`; returns a fitted GDRegressor.

    The file is checked field by field (see :func:`gradreg.persistence.read_model`) before
    the estimator is built from it.

    Raises
    ------
    InputFileError
        When the file is missing, unreadable or not a regular file.
    ModelFormatError
        When it is not a valid gradreg model file (corrupt, truncated, pickled, wrong version,
        a field of the wrong type or out of range).
    """
    return GDRegressor._from_model_fields(read_model(path))


@functools.cache
def _defaults() -> dict[str, Any]:
    """The defaults of GDRegressor's parameters, against which "set explicitly" is judged."""
    signature = inspect.signature(GDRegressor.__init__)
    return {k: p.default for k, p in signature.parameters.items() if p.default is not p.empty}
