"""``partial_fit``: learning from chunks of rows, one call per chunk.

With a full-batch solver (the default), every call merges the chunk's sufficient statistics
into those of all rows seen and descends on the merged statistics, warm-started from the
previous solution, to the certified optimum. This is recursive least squares: O(d^2) memory,
a cost per call independent of the rows seen, and after every call the model is the
least-squares fit of all rows so far, whatever their order. The scaling (the preconditioner)
is recomputed from the merged statistics each call, so a first chunk that is unrepresentative
(a constant column, a narrow range) does not fix the scaling of later ones.

With ``solver="sgd"``, or data too wide for the statistics (the data route), each call takes
one pass of stochastic steps over the chunk, continuing the optimizer and the iterate average
of the previous calls in the scaling of the merged statistics. A pass that makes the chunk's
loss rise sharply is undone and retried with half the learning rate; after
``_MAX_HALVINGS`` halvings the call raises :class:`~gradreg.errors.DivergenceError`. The rate
of a call follows the larger of the chunk's curvature and that of all rows seen (a row or two
say little about the stream). Where the statistics give the exact optimum, the iterate average
starts again whenever the last iterate fits the rows seen better (iterates from before the
descent settled, or from another scaling, would otherwise weigh on it for the rest of the
stream), and a call that ends far from the least-squares fit of the rows seen (optimality gap
above ``_FAR``) says so with a :class:`~gradreg.errors.ConvergenceWarning` giving the gap.

A chunk whose sample weights are all zero contributes nothing (as in scikit-learn): the call
checks it and leaves the model as it was.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

from ._chunks import blas_for_small_products
from ._estimator_store import with_reported_rounding
from ._fitting import require_weights_in_range, training_metrics
from ._sgd_steps import compiled_rows
from ._solver_base import _SGD_AVERAGED_FRACTION, _SGD_FRACTION
from ._units import COST_FACTOR, rate_factor
from ._validation import check_sample_weight
from .errors import ConvergenceWarning, DivergenceError
from .objective import Preconditioner, batch_loss_and_grad
from .penalties import make_penalty
from .problem import build_problem, choose_route
from .sgd_solver import SgdStream
from .solvers import solve
from .sources import ArraySource
from .stats import merge_shifted, moments_from_batches, shifted_back, shifted_stats_from_arrays

__all__ = ["partial_fit"]

# A pass after which the loss exceeds this multiple of the loss before is taken as divergence
# and retried with half the learning rate.
_RISE_FACTOR = 2.0
# Halvings of the learning rate tried on one chunk before giving up.
_MAX_HALVINGS = 30
_BATCH = 8192
# An optimality gap above this (the excess loss above the optimal loss itself) after a call of
# SGD's partial_fit is far off, and warned about.
_FAR = 1.0
# A change of a column's scale by more than this factor between calls restarts the iterate
# average (see _scaling_moved).
_MOVED = 2.0


def partial_fit(model: Any, X: Any, y: Any, sample_weight: Any = None) -> Any:
    """Update ``model`` (a GDRegressor) with one chunk of rows; see the module docstring."""
    started = time.perf_counter()
    config = model._config(one_pass=True)
    first = not hasattr(model, "stats_")
    X, y, _ = model._check_Xy(X, y, None, reset=first)
    weights = check_sample_weight(sample_weight, X.shape[0], allow_zero_sum=True)
    if weights is not None and not weights.any():
        # Rows of weight zero contribute nothing (as in scikit-learn): the model, its
        # statistics and its SGD state stay as they were; after a first such chunk it is
        # still unfitted, and the next chunk starts it.
        return model
    source = ArraySource(X, y, weights)
    route = choose_route(model.route, source.n_features)
    if route == "data" and config.solver != "sgd" and model.solver == "auto":
        # Without the statistics there is no merged fit to descend on: the automatic choice
        # is SGD's steps over the chunk (not the full-batch solver chosen for the statistics).
        config = model._config(solver="sgd", one_pass=True)
    if route == "stats":
        chunk, stats = _merged(model, source, first)
    else:
        chunk = moments_from_batches(source.batches(_BATCH), source.n_features)
        stats = chunk if first else model.stats_ + chunk
    require_weights_in_range(stats)  # before the model takes any of this chunk
    penalty = make_penalty(model.penalty, model.alpha, model.l1_ratio)
    with blas_for_small_products(route, source.n_features):
        problem = build_problem(source, penalty, model.fit_intercept, model.standardize, route,
                                stats=stats, rows_complete=first)
        previous = None if first else (model.coef_, model.intercept_)
        if config.solver == "sgd" or route == "data":
            _stochastic_pass(model, problem, config, previous, first, chunk)
        else:
            theta0 = None if previous is None else problem.precond.from_user(*previous)
            result = solve(problem, config, theta0)
            model._store(problem, result, time.perf_counter() - started, config)
    model.stats_ = stats
    if not first:
        # A factor covers the rows it was gathered from: the first chunk's at most.
        model.__dict__.pop("qr_stats_", None)
    return model


def _merged(model, source, first: bool):
    """The chunk's statistics and those of all rows seen, merged around one origin.

    Each chunk's statistics are taken less its own origin, and merged with those of the
    earlier chunks around the first chunk's origin (:func:`~gradreg.stats.merge_shifted`):
    merged as absolute means, a column offset far beyond its spread (1e6 with a spread of
    1e-4) would lose ``eps`` times the offset at every merge, and its cross-products with it.
    A model fitted otherwise (by ``fit``, or loaded) merges its ``stats_`` as they are.
    """
    origin, shifted = shifted_stats_from_arrays(source.X, source.y, source.sample_weight)
    chunk = shifted_back(shifted, origin)
    kept = getattr(model, "_partial_shifted", None)
    if first or kept is None or kept[2] is not model.stats_:
        if first:
            stats = chunk
            model._partial_shifted = (origin, shifted, stats)
            return chunk, stats
        return chunk, model.stats_ + chunk
    origin, shifted = merge_shifted([(kept[0], kept[1]), (origin, shifted)])
    stats = shifted_back(shifted, origin)
    model._partial_shifted = (origin, shifted, stats)
    return chunk, stats


def _stochastic_pass(model, problem, config, previous, first: bool, chunk) -> None:
    """One pass of SGD over the chunk, whose own statistics are ``chunk``."""
    if first or not hasattr(model, "_stream"):
        model._stream = SgdStream.start(problem, config)
        theta = np.zeros(problem.n_params)
    else:
        theta = problem.precond.from_user(*previous)
        _rescale_stream(model._stream, model.preconditioner_, problem.precond)
        if _scaling_moved(model.preconditioner_, problem.precond):
            # The iterates averaged so far were steps in a scaling that misjudged the data
            # (a chunk of a row or two, a constant column): a step that was moderate there can
            # be far off now. The average starts again from the current iterate.
            model._stream.averager.count = 0
    stream = model._stream
    if stream.averager.theta is None:
        stream.averager.theta = theta.copy()
    if isinstance(config.learning_rate, str) and config.optimizer not in ("adam", "adagrad"):
        # The automatic rate of this chunk: its rows' curvature in the current scaling can be
        # far above that of the rows the stream started on (rows sorted by a feature).
        halvings = stream.factor / stream.chunk_factor
        stream.chunk_factor = _chunk_rate(chunk, problem, config) / stream.base
        stream.factor = stream.chunk_factor * halvings
    order = config.rng if config.shuffle else None
    rows = compiled_rows(problem.source)
    loss = _loss_function(problem)
    before = loss(theta)
    after = float("nan")
    for _ in range(_MAX_HALVINGS + 1):
        saved = _snapshot(stream)
        moved = stream.run(problem, theta, rows, config.batch_size, order)
        after = loss(stream.model(moved))
        if math.isfinite(after) and after <= _RISE_FACTOR * max(before, 1e-300):
            break
        _restore(stream, saved)
        stream.factor *= 0.5
    else:
        raise DivergenceError(
            f"partial_fit diverged on this chunk: the loss rose from {before:.6g} to {after:.6g} "
            f"even with the learning rate halved {_MAX_HALVINGS} times. Pass a smaller "
            "learning_rate, or use the default solver, which fits the merged statistics exactly."
        )
    if problem.route == "stats" and stream.averager.enabled and loss(moved) < after:
        # The last iterate fits all rows seen better than the average: the average still
        # carries iterates from before the descent settled (early chunks, another scaling).
        # It starts again from the last iterate, so the model is never the worse of the two.
        stream.averager.theta, stream.averager.count = moved.copy(), 1
    theta = stream.model(moved)
    model.coef_, model.intercept_ = problem.precond.to_user(theta)
    model.preconditioner_ = problem.precond
    model.n_iter_ = 1 if first else model.n_iter_ + 1
    model.optimality_gap_ = problem.relative_gap(theta)
    optimum = problem.optimum
    model.coef_error_bound_ = with_reported_rounding(
        problem, theta, model.coef_, model.intercept_,
        optimum.error_bound(theta) if optimum else math.inf)
    model.converged_ = bool(config.tol is not None and model.coef_error_bound_ <= config.tol)
    model.stop_reason_ = "partial_fit: one pass over the chunk"
    if stream.factor < stream.chunk_factor:
        model.stop_reason_ += " (learning rate halved after a rising loss)"
    # In the user's units: a step on the mean squared error, whose curvature is twice.
    model.learning_rate_ = stream.base * stream.factor / rate_factor(config.optimizer)
    model.lipschitz_ = (COST_FACTOR * problem.lipschitz() if problem.route == "stats"
                        else float("nan"))
    model.solver_, model.optimizer_, model.route_ = "sgd", config.optimizer, problem.route
    model.solver_choice_ = model._choice.description
    model.metrics_ = training_metrics(problem, theta)
    _warn_if_far(model, problem, chunk, after)


def _warn_if_far(model, problem, chunk, chunk_loss: float) -> None:
    """A ConvergenceWarning when the model ends further from the least-squares fit of the rows
    seen than ``_FAR`` (its excess loss above the optimal loss itself), with what was measured.

    Only the statistics route knows the optimum. The data route measures the chunk alone: it
    warns when the model predicts the chunk worse than the chunk's own mean does.
    """
    if problem.route == "data":
        constant = 0.5 * float(chunk.squares[-1]) / max(chunk.weight_sum, 1e-300)
        if problem.precond.fit_intercept and chunk_loss > constant:
            warnings.warn(
                f"partial_fit with solver='sgd' ended predicting this chunk of {chunk.n_rows} "
                f"rows worse than its mean does: loss {chunk_loss:.6g} (half the mean squared "
                f"error) against {constant:.6g}, learning rate {model.learning_rate_:.3g}. "
                "Too wide for the statistics, the fit cannot measure its gap to the optimum; "
                "pass larger chunks of shuffled rows.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return
    gap = model.optimality_gap_
    if not (gap > _FAR):
        return
    warnings.warn(
        f"partial_fit with solver='sgd' ended far from the least-squares fit of the "
        f"{problem.stats.n_rows} rows seen so far: optimality gap (f - f*)/f* = {gap:.3g}, "
        f"coefficients' relative error bound "
        f"{model.coef_error_bound_:.3g}, learning rate {model.learning_rate_:.3g}. One pass of "
        "stochastic steps over few rows, or over rows in a sorted order, does not reach the "
        "fit: pass more rows, shuffled, or use the default solver, which fits the merged "
        "statistics exactly after every call.",
        ConvergenceWarning,
        stacklevel=4,
    )


def _scaling_moved(old: Preconditioner, new: Preconditioner) -> bool:
    """Whether a column's scale changed by more than ``_MOVED`` times, or its shift by more
    than its scale, between two calls."""
    ratio = new.scale / old.scale
    shifted = np.abs(new.shift - old.shift) > new.scale
    return bool(np.any(ratio > _MOVED) or np.any(ratio < 1.0 / _MOVED) or np.any(shifted))


def _chunk_rate(chunk, problem, config) -> float:
    """SGD's automatic rate for the chunk's rows, as
    :func:`~gradreg._solver_base.auto_learning_rate`: ``fraction / (L + E|z|^2 / b)`` with
    ``b`` the batch the chunk's rows are taken in.

    The curvature is the larger of the chunk's (its rows are the ones stepped on: a chunk far
    outside the rows seen so far needs a smaller step) and that of all rows seen (a chunk of a
    row or two says little about the stream: one row near the mean, ``|z|`` small, would
    otherwise get a step of about ``1/|z|^2`` that throws the iterate far along ``z``).
    ``L`` of the chunk is the largest eigenvalue of its second moments in the current scaling
    where its cross-products are known, else the bound ``L <= E|z|^2``.
    """
    precond = problem.precond
    batch = max(1, min(config.batch_size, chunk.n_rows))
    weight = max(chunk.weight_sum, 1e-300)
    offset = (chunk.mean_x - precond.shift) / precond.scale
    if hasattr(chunk, "cross"):
        d = precond.n_features
        moments = chunk.cross[:d, :d] / weight / np.outer(precond.scale, precond.scale)
        moments += np.outer(offset, offset)
        if precond.fit_intercept:
            moments = np.block([[moments, offset[:, None]], [offset[None, :], np.ones((1, 1))]])
        square = float(np.trace(moments))
        largest = float(np.linalg.eigvalsh(moments)[-1]) if np.all(np.isfinite(moments)) else square
    else:
        square = float(np.sum(chunk.sxx_diag / weight / precond.scale**2 + offset**2))
        square += float(precond.fit_intercept)
        largest = square
    curvature = largest + square / batch
    if problem.route == "stats":
        curvature = max(curvature, problem.lipschitz() + problem.mean_square_norm() / batch)
    fraction = _SGD_AVERAGED_FRACTION if config.average else _SGD_FRACTION
    rate = fraction / max(curvature, 1e-300)
    if config.optimizer in ("momentum", "nesterov"):
        rate *= 1.0 - config.momentum
    return rate


def _loss_function(problem):
    """The objective of all rows seen where the statistics give it, else the chunk's loss."""
    if problem.route == "stats":
        return problem.objective.value
    return lambda theta: _chunk_loss(problem, theta)


def _chunk_loss(problem, theta: np.ndarray) -> float:
    """Mean loss of the chunk (least squares and smooth penalty) at ``theta``."""
    loss, total = 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for X, y, w in problem.source.batches(_BATCH):
            part, _, weight = batch_loss_and_grad(theta, X, y, w, problem.precond)
            loss += part
            total += weight
        penalty = problem.objective.penalty
        return loss / max(total, 1e-300) + penalty.smooth_value(theta)


def _snapshot(stream: SgdStream) -> tuple:
    averager = stream.averager
    return (stream.state, stream.count, averager.theta, averager.count, averager.rows_seen)


def _restore(stream: SgdStream, saved: tuple) -> None:
    averager = stream.averager
    stream.state, stream.count, averager.theta, averager.count, averager.rows_seen = saved


def _rescale_stream(stream: SgdStream, old: Preconditioner, new: Preconditioner) -> None:
    """Carry the optimizer state and the iterate average into the new scaling.

    Parameters map exactly through the user's coefficients (the map is affine, so the average
    of the mapped iterates is the mapped average). Gradient-like state scales as a gradient
    does, ``old.scale / new.scale`` per coefficient (squared for second moments).
    """
    averager = stream.averager
    if averager.theta is not None:
        averager.theta = new.from_user(*old.to_user(averager.theta))
    if stream.state is None:
        return
    ratio = np.ones(new.n_params)
    ratio[: new.n_features] = old.scale / new.scale
    inner, lr_state = stream.state
    fields = {}
    for name, value in inner._asdict().items():
        if name in ("trace", "mu"):
            fields[name] = value * ratio
        elif name in ("nu", "sum_of_squares"):
            fields[name] = value * ratio**2
    stream.state = (inner._replace(**fields), lr_state)
