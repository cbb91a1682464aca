"""Rows read in parts (Dask partitions, files, ``partial_fit`` calls) whose columns lie near 1e12
with a spread of 1: the fit equals the exact optimum within its certificate, as in memory.

The QR factor's minimiser was formed from ``M theta - q`` with the intercept at 4e11 in
``theta``: its slopes were rounded to eps x 4e11 (an error of 5e-5 in slopes of size 0.4) while
the factor's bound said 2e-13. Dask fits, whose optimum is not measured from the rows again,
reported that error as converged once the descent headed for the factor's minimiser.
"""

import warnings

import numpy as np
import pytest
from benchmarks.accuracy import equilibration, mp_reference, relative_error

from conftest import mp_elastic_net, rounding_bound, standardized_condition
from gradreg import ConvergenceWarning, GDRegressor, scan


def _offset_rows(d, n=1500, seed=3):
    rng = np.random.default_rng(seed)
    X = 1e12 + rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 3.0 + 0.1 * rng.standard_normal(n)
    return X, y


def _check(model, X, y):
    error = relative_error(model.coef_, mp_reference(X, y, None, True),
                           equilibration(X, None, True))
    assert error <= model.coef_error_bound_
    # The centred design is orthogonal up to sampling (condition near 1): a fit that stops
    # short of tol with these rows has lost digits the data hold.
    assert model.converged_
    assert error <= model.tol


@pytest.mark.parametrize("d", [1, 3])
def test_dask_partitions_of_offset_columns(client, d):
    da = pytest.importorskip("dask.array")
    X, y = _offset_rows(d)
    model = GDRegressor().fit(da.from_array(X, chunks=(400, d)), da.from_array(y, chunks=700))
    _check(model, X, y)


@pytest.mark.parametrize("d", [1, 3])
def test_csv_files_of_offset_columns(tmp_path, d):
    X, y = _offset_rows(d)
    names = [f"x{j}" for j in range(d)] + ["y"]
    for part, rows in enumerate(np.array_split(np.arange(len(y)), [500, 510])):
        np.savetxt(tmp_path / f"part{part}.csv", np.column_stack([X[rows], y[rows]]),
                   delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    model = GDRegressor().fit(scan(sorted(tmp_path.glob("*.csv")), target="y"))
    _check(model, X, y)


@pytest.mark.parametrize("d", [1, 3])
def test_partial_fit_chunks_of_offset_columns(d):
    X, y = _offset_rows(d)
    model = GDRegressor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # early calls cannot certify tol, and say so
        for rows in np.array_split(np.arange(len(y)), 4):
            model.partial_fit(X[rows], y[rows])
    error = relative_error(model.coef_, mp_reference(X, y, None, True),
                           equilibration(X, None, True))
    assert error <= model.coef_error_bound_


def test_dask_ridge_of_offset_columns(client):
    """The ridge solve's residual is formed from the step off the factor's centre: from
    ``theta`` itself the intercept's float64 spacing (6e-5 at 5e11) was counted against the
    slopes, and the fit stalled with a bound of 4e-9."""
    da = pytest.importorskip("dask.array")
    X, y = _offset_rows(3)
    dask_fit = GDRegressor(penalty="l2", alpha=0.1).fit(
        da.from_array(X, chunks=(400, 3)), da.from_array(y, chunks=700))
    memory_fit = GDRegressor(penalty="l2", alpha=0.1).fit(X, y)
    distance = np.linalg.norm(dask_fit.coef_ - memory_fit.coef_) / np.linalg.norm(memory_fit.coef_)
    assert distance <= dask_fit.coef_error_bound_ + memory_fit.coef_error_bound_
    assert dask_fit.converged_ and memory_fit.converged_


def test_the_dask_factor_pass_runs_on_the_workers(client, monkeypatch):
    """The QR factor's passes sum each partition's Gram matrix where it lives: no partition is
    fetched to the client (the rows of a cluster may not fit there)."""
    da = pytest.importorskip("dask.array")
    from gradreg.sources.dask import DaskSource

    def fetched(*args, **kwargs):
        raise AssertionError("a partition was fetched to the client")

    monkeypatch.setattr(DaskSource, "batches", fetched)
    passes = []
    gram_pass = DaskSource.gram_pass
    monkeypatch.setattr(DaskSource, "gram_pass",
                        lambda self, pass_: passes.append(1) or gram_pass(self, pass_))
    X, y = _offset_rows(3)
    model = GDRegressor().fit(da.from_array(X, chunks=(400, 3)), da.from_array(y, chunks=700))
    assert passes  # the factor was needed (the merged Gram matrix's bound misses tol here)
    _check(model, X, y)


@pytest.mark.parametrize("d", [1, 3])
def test_a_large_intercept_leaves_the_slopes_exact(d):
    """Features near 1e12 and a target near 3: ``intercept_`` is about -1e12 and holds the
    prediction at the means only to eps x 1e12. The certificate counts that rounding, but the
    descent still heads for the optimum to its own rounding: it stopped within 1e-2 of the
    whole bound, and the slopes lost ten digits (errors of 1e-6 at 3 features)."""
    rng = np.random.default_rng(5)
    X = 1e12 + rng.standard_normal((1500, d))
    y = (X - 1e12) @ rng.standard_normal(d) + 3.0 + 0.1 * rng.standard_normal(1500)
    with pytest.warns(ConvergenceWarning, match=r"the float64 intercept_ \(-?\d.*holds the "
                      r"prediction at the features' means only to .*Subtract a value near"):
        model = GDRegressor().fit(X, y)
    error = relative_error(model.coef_, mp_reference(X, y, None, True),
                           equilibration(X, None, True))
    assert error <= model.coef_error_bound_
    assert not model.converged_  # the intercept's rounding is above tol, and said so
    # Slopes from standardized cross-products of shifted rows: condition squared, sums of n
    # products, a few operations each (factor 8).
    condition = standardized_condition(X)
    assert error <= rounding_bound(condition**2, 8, len(y))


def _target_far_from_zero(level, n=300, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    return X, X @ [1.0, 2.0] + level + 0.3 * rng.standard_normal(n)


def _least_squares_loss(X, y):
    """The optimal mean squared error from an SVD of the centred rows (two-pass in float64):
    its rounding is relative to the centred target, not to the level."""
    Xc, yc = X - X.mean(0), y - y.mean()
    coef = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    return float(np.mean((yc - Xc @ coef) ** 2))


@pytest.mark.parametrize("level", [1e6, 1e9, 1e12])
def test_the_reported_loss_of_a_target_far_from_zero(level):
    """optimal_loss_ and history_['loss'] are the mean squared error (0.09 here), not the
    rounding of terms of the size of the level squared (0.0 at 1e9 and 1e12)."""
    from conftest import rounding_bound, standardized_condition

    X, y = _target_far_from_zero(level)
    model = GDRegressor().fit(X, y)
    reference = _least_squares_loss(X, y)
    # The statistics' entries carry n eps of the centred target's spread squared; the
    # condition number squared carries them to the loss (the rule of conftest). The reported
    # loss is that of the float64 optimum, whose intercept holds the level to a few of its
    # ulps (the solve's sums of p + 1 terms): half its square more.
    bound = rounding_bound(standardized_condition(X) ** 2, 10, len(y)) * float(np.var(y))
    bound += 0.5 * rounding_bound(1.0, X.shape[1] + 2) ** 2 * float(np.mean(y)) ** 2
    assert abs(model.optimal_loss_ - reference) <= bound
    assert abs(model.history_["loss"][-1] - reference) <= bound


@pytest.mark.parametrize("penalty", [None, "l2"])
def test_refits_of_a_target_far_from_zero_do_not_diverge(penalty):
    """Warm starts begin at the optimum, where the value is small: formed from uncentred
    terms it was +-7e7 of rounding, taken for a blow-up (DivergenceError in about a third
    of these draws)."""
    settings = {} if penalty is None else {"penalty": penalty, "alpha": 1e-6}
    for seed in range(8):
        X, y = _target_far_from_zero(1e12, seed=seed)
        warm = GDRegressor(warm_start=True, **settings)
        warm.fit(X, y)
        warm.fit(X, y)
        streamed = GDRegressor(**settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # early chunks may stop short of tol, and say so
            for rows in np.array_split(np.arange(len(y)), 5):
                streamed.partial_fit(X[rows], y[rows])
        if penalty is None:
            reference, D = mp_reference(X, y, None, True), equilibration(X, None, True)
            for model in (warm, streamed):
                assert relative_error(model.coef_, reference, D) <= model.coef_error_bound_


@pytest.mark.parametrize("source", ["memory", "dask"])
@pytest.mark.parametrize("seed", [0, 4])
def test_an_elastic_net_of_a_target_far_from_zero_on_the_factor(client, source, seed):
    """Correlated columns near 1e8 and a target near 1e12 send the elastic net to the QR
    factor, whose centre holds the target's level: its minimiser was solved from the
    factor's raw linear term M^T q, in which the level (1e12) rounded the slopes' terms by
    eps x 1e12, beyond the optimum's stated rounding (errors of 3e-10 and 5e-10 against
    bounds of 8e-11 and 1.4e-10)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((500, 3))
    Z[:, 2] = Z[:, 0] + 1e-3 * Z[:, 2]
    X = Z + 1e8
    y = Z @ [1.0, 0.05, -0.5] + 1e12 + 0.1 * rng.standard_normal(500)
    settings = {"penalty": "elasticnet", "alpha": 0.01, "l1_ratio": 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tol asked for may be beyond float64
        for tol in (1e-8, 1e-14):
            if source == "dask":
                da = pytest.importorskip("dask.array")
                model = GDRegressor(tol=tol, **settings).fit(
                    da.from_array(X, chunks=(128, 3)), da.from_array(y, chunks=128))
            else:
                model = GDRegressor(tol=tol, **settings).fit(X, y)
            reference = mp_elastic_net(X, y, 0.01, 0.5, True)
            error = relative_error(model.coef_, reference, equilibration(X, None, True))
            assert error <= model.coef_error_bound_
            assert not model.converged_ or error <= model.tol
