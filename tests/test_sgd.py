"""SGD: the compiled steps against the Python steps, iterate averaging, defaults that converge."""

import json
import warnings

import numpy as np
import pytest
from sklearn.linear_model import SGDRegressor

from conftest import assert_within, descent_bound, make_regression, rounding_bound
from gradreg import FitInterrupted, GDRegressor
from gradreg._sgd_steps import Averager, compiled_rows, run_compiled, step_rates
from gradreg.penalties import Penalty
from gradreg.problem import build_problem
from gradreg.solvers import FitConfig, SgdStream, sgd_epoch
from gradreg.sources import ArraySource

RULES = ["plain", "momentum", "nesterov", "adam", "adagrad"]


def assert_same_steps(got, want, steps, batch_size, n_params):
    """Compiled and Python steps differ only in the order of the sums of each mini-batch
    gradient (``batch_size`` rows of ``n_params`` terms); steps at these small rates do not
    amplify an earlier difference, so the differences add up over the steps (descent_bound,
    with no condition number: the same iterates, not an optimum), on the iterates' size."""
    bound = descent_bound(1.0, steps, batch_size + n_params)
    assert_within(got, want, bound * np.abs(want).max())


def quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


def _problem(dtype, weighted, penalty, seed=0):
    rng = np.random.default_rng(seed)
    X, y = make_regression(203, 4, seed=seed)
    weights = rng.uniform(0.5, 2.0, len(y)) if weighted else None
    source = ArraySource(X.astype(dtype), y, weights)
    return build_problem(source, penalty, fit_intercept=True), source


def _reference_steps(problem, source, config, batch_size, seed):
    """The Python loop, one batch at a time, with the average kept here from its definition."""
    stream = SgdStream.start(problem, config)
    theta = np.zeros(problem.n_params)
    state = stream.optimizer.init(theta)
    average, count = theta, 0
    for step, batch in enumerate(source.batches(batch_size, np.random.default_rng(seed))):
        theta, state, _ = sgd_epoch(problem, theta, stream.optimizer, state, [batch], step,
                                    stream.schedule)
        count += 1
        average = average + (theta - average) * (1.0 / count)
    return theta, state, average


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(("dtype", "weighted"), [(np.float64, False), (np.float32, True)])
# Batches of one row, of rows not a multiple of the four the compiled loop takes side by side,
# and of a multiple of four (the last batch of 203 rows is shorter in each case).
@pytest.mark.parametrize("batch_size", [1, 7, 16])
def test_compiled_steps_equal_the_python_steps(rule, dtype, weighted, batch_size):
    penalty = Penalty(alpha=0.05, l1_ratio=0.5 if rule == "plain" else 0.0)
    problem, source = _problem(dtype, weighted, penalty)
    config = FitConfig(solver="sgd", optimizer=rule, learning_rate=0.02, schedule="invscaling",
                       momentum=0.7, average=True)
    seed = 5
    expected, expected_state, expected_average = _reference_steps(
        problem, source, config, batch_size, seed
    )
    stream = SgdStream.start(problem, config)
    theta0 = np.zeros(problem.n_params)
    order = np.random.default_rng(seed).permutation(source.n_rows)
    rates = step_rates(stream.schedule, None, 0, len(range(0, source.n_rows, batch_size)))
    averager = Averager.from_setting(True)
    theta, state = run_compiled(
        compiled_rows(source), order, batch_size, problem.precond, problem.objective.penalty,
        theta0, rule, stream.optimizer.init(theta0), stream.hyper, rates, averager,
    )
    steps, p = len(rates), problem.n_params
    assert_same_steps(theta, expected, steps, batch_size, p)
    assert_same_steps(averager.theta, expected_average, steps, batch_size, p)
    for got, want in zip(state[0], expected_state[0], strict=True):
        assert_same_steps(got, want, steps, batch_size, p)
    assert state[1].count == expected_state[1].count == len(rates)


def test_an_epoch_of_batches_read_from_a_source_equals_the_compiled_epoch():
    # Sources read in batches (files, Dask) take the Python loop; with the same generator the
    # shuffling, the steps and the average are those of the compiled loop.
    problem, source = _problem(np.float64, True, Penalty(alpha=0.01))
    config = FitConfig(solver="sgd", optimizer="momentum", average=True)
    results = []
    for rows in (None, compiled_rows(source)):
        stream = SgdStream.start(problem, config)
        rng = np.random.default_rng(9)
        theta = np.zeros(problem.n_params)
        for _ in range(3):
            theta = stream.run(problem, theta, rows, 8, rng)
        results.append((theta, stream.model(theta), stream.count))
    (python, python_avg, python_count), (compiled, compiled_avg, compiled_count) = results
    assert_same_steps(compiled, python, 3 * 26, 8, problem.n_params)
    assert_same_steps(compiled_avg, python_avg, 3 * 26, 8, problem.n_params)
    assert compiled_count == python_count == 3 * 26


def test_averaged_sgd_matches_scikit_learn_averaged_sgd():
    # The same constant step, one row at a time, no shuffling: scikit-learn's averaged
    # iterate is the running mean of its iterates, as gradreg's. scikit-learn's loss is half
    # the squared error, gradreg's rate a step on the squared error: eta0=0.01 is 0.005 here.
    X, y = make_regression(200, 3, seed=1, scales=False)
    reference = SGDRegressor(
        learning_rate="constant", eta0=0.01, penalty=None, alpha=0.0, shuffle=False,
        max_iter=3, tol=None, average=True,
    ).fit(X, y)
    model = quiet_fit(GDRegressor(
        solver="sgd", optimizer="plain", learning_rate=0.005, batch_size=1, shuffle=False,
        standardize=False, max_iter=3, average=True,
    ), X, y)
    # Two codes of the same 600 steps and running mean. Each step rounds the residual (d + 1
    # terms), the update (2) and the mean (2): d + 5 roundings per code, of terms the size of
    # the coefficients and of one step. At eta |x|^2 <= 2 a step does not amplify an earlier
    # difference, and a mean of iterates is no further apart than they are.
    eta, steps = 0.01, 3 * len(y)
    assert eta * np.max(np.sum(X**2, axis=1) + 1) <= 2
    intercept = float(reference.intercept_[0])
    size = np.abs(reference.coef_).sum() + abs(intercept) + eta * np.abs(X).max() * np.abs(y).max()
    bound = rounding_bound(1.0, 2 * (X.shape[1] + 5), n_terms=steps) * size
    assert_within(model.coef_, reference.coef_, bound)
    assert_within(model.intercept_, intercept, bound)


def test_an_integer_average_starts_after_that_many_rows():
    X, y = make_regression(100, 3, seed=2)
    settings = {"solver": "sgd", "max_iter": 2, "random_state": 0, "learning_rate": 0.05}
    last = quiet_fit(GDRegressor(average=False, **settings), X, y)
    late = quiet_fit(GDRegressor(average=200, **settings), X, y)
    early = quiet_fit(GDRegressor(average=True, **settings), X, y)
    np.testing.assert_array_equal(late.coef_, last.coef_)
    assert not np.array_equal(early.coef_, last.coef_)


@pytest.mark.parametrize("rule", RULES)
def test_default_sgd_reaches_a_small_gap_within_the_default_epochs(rule):
    # Not rounding: well conditioned (condition number 1 after standardization), averaged SGD
    # with the default rate and schedule of each update rule converges, so the gap reaches
    # 1e-5 (tol bounds the coefficients' relative error: 1e-3 certifies a gap near 1e-6).
    X, y = make_regression(2000, 5, seed=4)
    model = GDRegressor(solver="sgd", optimizer=rule, tol=1e-3, random_state=0).fit(X, y)
    assert model.converged_, model.stop_reason_
    assert model.optimality_gap_ <= 1e-5
    assert model.n_iter_ <= GDRegressor().max_iter


def test_tol_none_runs_every_epoch_without_a_warning():
    X, y = make_regression(300, 3, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GDRegressor(solver="sgd", tol=None, max_iter=7, random_state=0).fit(X, y)
    assert model.n_iter_ == 7 and not model.converged_
    assert model.stop_reason_ == "max_iter=7 reached"


def test_average_must_be_a_bool_or_a_positive_int():
    X, y = make_regression(50, 2, seed=6)
    with pytest.raises(ValueError, match=r"'average' parameter of GDRegressor must be one of "
                                         r"\{True, False\} or an int in the range \[1, inf\)"):
        GDRegressor(solver="sgd", average=0).fit(X, y)


def test_resume_of_averaged_sgd_is_bit_identical(tmp_path):
    X, y = make_regression(300, 6, seed=7)
    settings = {"solver": "sgd", "optimizer": "nesterov", "average": 500, "random_state": 1,
                "max_iter": 30}

    def stop_at_17(info):
        if info.epoch == 17:
            raise KeyboardInterrupt

    full = quiet_fit(GDRegressor(**settings), X, y)
    with pytest.raises(FitInterrupted):
        quiet_fit(GDRegressor(callbacks=stop_at_17, **settings), X, y,
                  checkpoint=tmp_path / "ck.json", checkpoint_every=5)
    saved = json.loads((tmp_path / "ck.json").read_text())["state"]["dict"]
    assert saved["epoch"] == 15 and saved["average_count"] > 0
    resumed = quiet_fit(GDRegressor(**settings), X, y, resume=tmp_path / "ck.json")
    np.testing.assert_array_equal(resumed.coef_, full.coef_)
    assert resumed.intercept_ == full.intercept_
    np.testing.assert_array_equal(resumed.history_["gap"], full.history_["gap"])
