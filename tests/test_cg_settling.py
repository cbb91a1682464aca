"""Conjugate gradient past tol: it goes on for the optimum's digits, and stops once it no
longer comes closer.

Once the bound meets tol, each epoch either halves the distance to the optimum within two
restart cycles (``2 (p + 1)`` epochs, so that one whole cycle from a restart, a round of
refinement from the true residual, lies within them) or the fit stops. The distance starts
at most at tol and the continuation ends at ``16 eps`` at the latest, so it takes at most
``(log2(tol / (16 eps)) + 1) * 2 (p + 1)`` epochs. Raw coordinates of offset columns
(``standardize=False``) are far worse conditioned than the optimum's: there the iterates
stop coming closer well above the optimum's own rounding, and a fit that waited for it ran to
``max_iter``.

Where the descent stops is decided by the closest distance so far and its epoch; a
checkpoint keeps them, so that a resumed fit stops where the uninterrupted one does.
"""

import math
import warnings

import numpy as np
import pytest

from gradreg import GDRegressor
from gradreg.errors import FitInterrupted

EPS = float(np.finfo(np.float64).eps)


def offset_design(offset, d, n=5000, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + offset
    y = (X - offset) @ rng.normal(size=d) + rng.normal(size=n) + offset
    return X, y


RAW_COORDINATES = [(10.0, 10), (100.0, 10), (1e3, 3)]


@pytest.mark.parametrize(("offset", "d"), RAW_COORDINATES)
def test_cg_past_tol_stops_once_it_no_longer_comes_closer(offset, d):
    X, y = offset_design(offset, d)
    tol = 1e-8
    model = GDRegressor(standardize=False, tol=tol).fit(X, y)
    assert model.converged_
    # The first epoch at which the bound meets tol: a fit stopped there reports converged.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fits stopped short of it warn
        first = next(k for k in range(1, model.n_iter_ + 1) if GDRegressor(
            standardize=False, tol=tol, max_iter=k).fit(X, y).converged_)
    window = 2 * (d + 2)  # p = d + 1 parameters with the intercept
    continuation = (math.log2(tol / (16 * EPS)) + 1) * window
    assert model.n_iter_ - first <= continuation


def interrupt_at(epoch):
    def callback(info):
        if info.epoch == epoch:
            raise KeyboardInterrupt

    return callback


SETTLING = [
    # conjugate gradient past tol, in raw coordinates where it stops short of the rounding
    ("offset 10", lambda: offset_design(10.0, 10), {"standardize": False}),
    ("offset 100", lambda: offset_design(100.0, 10), {"standardize": False}),
]


@pytest.mark.parametrize(("name", "data", "settings"), SETTLING, ids=[s[0] for s in SETTLING])
def test_resume_stops_where_the_uninterrupted_fit_stops(name, data, settings, tmp_path):
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the floor case warns that tol cannot be certified
        full = GDRegressor(**settings).fit(X, y)
        late = full.n_iter_ - 5  # past the last halving: the stop depends on when it was
        model = GDRegressor(callbacks=interrupt_at(late), **settings)
        with pytest.raises(FitInterrupted):
            model.fit(X, y, checkpoint=tmp_path / "ck.json", checkpoint_every=1)
        resumed = GDRegressor(**settings).fit(X, y, resume=tmp_path / "ck.json")
    assert full.n_iter_ < full.max_iter  # it stopped by settling, not by max_iter
    assert resumed.n_iter_ == full.n_iter_
    np.testing.assert_array_equal(resumed.coef_, full.coef_)
    assert resumed.intercept_ == full.intercept_
    np.testing.assert_array_equal(resumed.history_["loss"], full.history_["loss"])


@pytest.mark.parametrize(("offset", "d"), [(10.0, 10), (100.0, 10)])
def test_warm_start_from_a_settled_fit_takes_no_epoch(offset, d):
    X, y = offset_design(offset, d)
    model = GDRegressor(standardize=False, warm_start=True).fit(X, y)
    # bound >= distance: the start is within the margin (a hundredth of tol) of the optimum,
    # less the few eps its trip through coef_ and intercept_ may add.
    assert model.coef_error_bound_ <= 0.01 * model.tol - 1e3 * EPS
    refit = model.fit(X, y)
    assert refit.n_iter_ == 0
    assert refit.converged_


def test_a_fit_at_the_precision_floor_comes_as_close_as_the_optimum_rounds():
    """Columns and target near 1e15 (spread 1), tol=1e-17 beyond what float64 certifies:
    the descent stops as close to the optimum as its own rounding. Conjugate gradient's
    recurrence residual rounded to zero after the intercept's first step (1e15, with slopes
    of 1 coupled to it) and the fit stopped 'stalled' at a bound of 3e-3, where the true
    residual, and a fit with tol=1e-8, went on to 1e-16."""
    from gradreg.penalties import Penalty
    from gradreg.problem import build_problem
    from gradreg.sources import ArraySource

    rng = np.random.default_rng(5)
    x = rng.normal(size=4097)
    X = (x + 1e15).reshape(-1, 1)
    y = 0.7 * (X[:, 0] - X[:, 0].mean()) + 0.1 * rng.normal(size=4097) + 1e15
    floor = build_problem(ArraySource(X, y), Penalty(), True, tol=1e-17).optimum.precision_floor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=1e-17 cannot be certified, and it says so
        model = GDRegressor(tol=1e-17).fit(X, y)
    # bound = (distance + floor) / (1 - floor), with distance <= rounding <= floor at the floor.
    assert model.coef_error_bound_ <= 2 * floor / (1 - floor)


def test_a_restart_that_lowers_nothing_is_not_repeated():
    """Two rows, three features near 1e12 (rank 2 of 4): the loss reaches zero in two steps
    and the true residual is rounding noise from there; restarting from it at every stall
    ran the fit to max_iter where it had stopped 'stalled'."""
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(2, 3))
    Z[:, 1:] = Z[:, :1] + 1e-3 * Z[:, 1:]
    X = Z * [1e-2, 1.0, 1e2] + 1e12
    y = Z @ rng.normal(size=3) + 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank deficient, and not certified
        model = GDRegressor().fit(X, y)
    assert model.stop_reason_.startswith("stalled")
    # One cycle of p + 1 steps and one restart's: at most two cycles.
    assert model.n_iter_ <= 2 * (X.shape[1] + 2)
