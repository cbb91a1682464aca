"""The benchmark harness: its data, its independent optimum, and its worker processes.

Nothing here is timed; these tests check that what the benchmark measures is measured right.
"""

import numpy as np
import pytest
from benchmarks.data import Case, make, oracle, save
from benchmarks.run_one import gap_function
from benchmarks.sgd import Gap
from benchmarks.workers import Pool

from conftest import lstsq_fit, relative_error, rounding_bound, standardized_condition


def loss(X, y, coef, intercept):
    residual = y - X @ coef - intercept
    return 0.5 * float(residual @ residual) / len(y)


def excess_and_bound(X, y, theta, coef, intercept, optimum_size=0.0):
    """The relative excess loss of ``(coef, intercept)`` over the loss at ``theta`` (both from
    the rows), and how far a gap formula expanded about ``theta`` may be from it.

    ``f - f(theta) = g . delta + delta^T H delta / 2`` with ``g`` the gradient at ``theta`` (zero
    at the exact optimum): a formula without the linear term is off by ``|g . delta|``, taken
    here from the rows with its own rounding. Then the rounding of the losses and of the
    gradient: each residual ``y - A theta`` to ``d + 2`` roundings of its terms ``|y| + |A|
    |theta|``, then sums of n positive terms (10 roundings a term); of the quadratic term from
    statistics (raw second moments of ``[X, 1]`` sized by ``|delta|``); and of the formula's
    optimum (``optimum_size``: the terms it cancels, summed over n rows).
    """
    n, d = X.shape
    A = np.c_[X, np.ones(n)]
    delta = np.append(coef, intercept) - theta
    f_star = loss(X, y, theta[:-1], theta[-1])
    excess = loss(X, y, coef, intercept) / f_star - 1
    within = rounding_bound(1.0, factor=10, n_terms=n)
    per_row = rounding_bound(1.0, factor=2, n_terms=d + 2)
    bound = 0.0
    for point in (theta, theta + delta):
        residual = np.abs(A @ point - y)
        terms = np.abs(y) + np.abs(A) @ np.abs(point)
        bound += within * float(np.mean(residual**2)) / 2 + per_row * float(
            np.mean(residual * terms))
    terms = np.abs(y) + np.abs(A) @ np.abs(theta)
    grad = A.T @ (A @ theta - y) / n
    grad_rounding = (within * np.abs(A).T @ np.abs(A @ theta - y)
                     + per_row * np.abs(A).T @ terms) / n
    bound += abs(grad @ delta) + grad_rounding @ np.abs(delta)
    bound += within * 0.5 * np.abs(delta) @ (np.abs(A).T @ np.abs(A) / n) @ np.abs(delta)
    bound += within * optimum_size * excess
    return excess, bound * (1 + excess) / f_star


@pytest.fixture(scope="module")
def ill_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    case = Case(3000, 6, "ill")
    X, y = make(case)
    np.savez(folder / "oracle.npz", **oracle(X, y))
    x_path, y_path = save(case, X, y, folder)
    return X, y, {"x": str(x_path), "y": str(y_path), "oracle": str(folder / "oracle.npz"),
                  "target": 1e-10, "budget": 5.0}


def test_data_are_reproducible_and_ill_conditioned():
    X, y = make(Case(5000, 4, "ill"))
    again, y_again = make(Case(5000, 4, "ill"))
    np.testing.assert_array_equal(X, again)
    np.testing.assert_array_equal(y, y_again)
    standardized = (X - X.mean(0)) / X.std(0)
    # The data's design, not rounding: singular values spread over about 1e4.
    assert 3e3 < np.linalg.cond(standardized) < 3e4
    well, _ = make(Case(5000, 4, "well"))
    assert np.linalg.cond(well) < 1.2


def test_oracle_is_the_least_squares_solution(ill_case, tmp_path):
    X, y, request = ill_case
    saved = dict(np.load(request["oracle"]))
    coef, intercept = lstsq_fit(X, y)  # SVD of the centred design: error ~ condition x eps
    # The oracle solves the normal equations: condition squared, sums over n rows, compared in
    # standardized units; its intercept within the same bound of the sizes of its terms.
    bound = rounding_bound(standardized_condition(X) ** 2, factor=10, n_terms=len(y))
    spread = X.std(axis=0)
    assert relative_error(saved["coef"] * spread, coef * spread) <= bound
    size = abs(intercept) + np.abs(X.mean(axis=0)) @ np.abs(coef)
    assert abs(saved["intercept"] - intercept) <= bound * size
    # The loss is a sum of n squares (positive terms), flat at the optimum to first order.
    f_star = loss(X, y, coef, intercept)
    assert abs(saved["f_star"] - f_star) <= rounding_bound(1.0, factor=10, n_terms=len(y)) * f_star


def test_gap_function_is_the_relative_excess_loss(ill_case):
    X, y, request = ill_case
    saved = dict(np.load(request["oracle"]))
    gap_of = gap_function(saved)
    assert gap_of(saved["coef"], saved["intercept"]) == 0.0
    rng = np.random.default_rng(0)
    coef = saved["coef"] * (1 + 1e-3 * rng.standard_normal(X.shape[1]))
    intercept = float(saved["intercept"]) + 0.01
    theta = np.append(saved["coef"], saved["intercept"])
    excess, bound = excess_and_bound(X, y, theta, coef, intercept)
    assert abs(saved["f_star"] / loss(X, y, *np.split(theta, [-1])) - 1) <= bound
    assert abs(gap_of(coef, intercept) - excess) <= bound


def test_workers_measure_and_are_stopped_at_the_limit(ill_case):
    *_, request = ill_case
    pool = Pool()
    try:
        fitted = pool.measure("gradreg GDRegressor()", request, limit=120)
        # Not rounding: the request's own target gap (1e-10), which the worker must reach.
        assert fitted["status"] == "ok" and fitted["gap"] <= request["target"]
        # The protocol, whatever the machine's speed: a run under WARM_UP seconds is a warm-up
        # followed by REPEATS timed runs; a longer one is the only run.
        from benchmarks.run_one import REPEATS, WARM_UP

        seconds = fitted["seconds"]
        assert len(seconds) == REPEATS or (len(seconds) == 1 and seconds[0] >= WARM_UP)
        again = pool.measure("gradreg GDRegressor()", request, limit=120)  # the same process
        assert again["status"] == "ok" and again["gap"] == fitted["gap"]
        # numpy GD cannot reach 1e-10 here and runs until its 5 s budget: a limit stops it.
        stopped = pool.measure("numpy full-batch GD", request, limit=0.5)
        assert stopped["status"].startswith("stopped after")
    finally:
        pool.close()


def test_sgd_benchmark_gap_is_the_relative_excess_loss(ill_case):
    X, y, request = ill_case
    saved = dict(np.load(request["oracle"]))
    gap_of = Gap(X[:1000], y[:1000])
    gap_of.add(X[1000:], y[1000:])  # statistics gathered chunk by chunk, as when streaming
    gap_of.finish()
    rng = np.random.default_rng(1)
    coef = saved["coef"] * (1 + 1e-3 * rng.standard_normal(X.shape[1]))
    intercept = float(saved["intercept"]) + 0.01
    # Its optimum 0.5 (mean(y^2) - b . theta) from raw sums cancels terms of their size.
    theta = gap_of.theta
    size = 0.5 * (float(np.mean(y**2)) + np.abs(np.c_[X, np.ones(len(y))].T @ y / len(y))
                  @ np.abs(theta))
    excess, bound = excess_and_bound(X, y, theta, coef, intercept, optimum_size=size)
    assert abs(gap_of(coef, intercept) - excess) <= bound


def test_qr_pass_benchmark_measures_the_stable_form_on_ill_conditioned_data():
    from benchmarks.qr_pass import HEADER, measure

    row = dict(zip(HEADER, measure(3000, 4), strict=True))
    # The factor's condition is that of the equilibrated design: about benchmarks.data's 1e4.
    assert 1e3 < float(row["cond"]) < 1e5
    assert float(row["QR pass s"]) > 0 and float(row["QR / X.T@X"]) > 0


def test_sgd_ratios_state_both_measures():
    """With the peer's scaling (pipelines) and without it: (peer + scaling) / ours and
    peer / ours, per batch size and epoch count."""
    from benchmarks.sgd import BATCHES, EPOCHS, _ratios

    raw = {}
    for epochs in EPOCHS:
        raw["sklearn SGDRegressor", 1, epochs] = 2.0 * epochs
        raw["sklearn SGDRegressor(average=True)", 1, epochs] = 3.0 * epochs
        for batch in BATCHES:
            raw["gradreg SGD (defaults: averaged)", batch, epochs] = 1.0 * epochs
    lines = _ratios(raw, scaling=1.0)
    pipelines = lines[lines.index(next(x for x in lines if "pipelines" in x)) + 2]
    bare = lines[lines.index(next(x for x in lines if "without" in x)) + 2]
    assert pipelines == "- batch 1: 1 epoch: 3.00x plain / 4.00x averaged; " \
        "5 epochs: 2.20x plain / 3.20x averaged"
    assert bare == "- batch 1: 1 epoch: 2.00x plain / 3.00x averaged; " \
        "5 epochs: 2.00x plain / 3.00x averaged"
