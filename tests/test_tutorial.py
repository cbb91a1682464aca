"""The classic algorithm against a literal transcription of the ten-line loop."""

import re
import shlex
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_within, classic_descent_bound, rounding_bound
from gradreg import (
    ConvergenceWarning,
    DivergenceError,
    ParameterError,
    classic_max_stable_learning_rate,
    gradient_descent,
)
from gradreg.datasets import load_study_time


def classic_loop(x, y, learning_rate, epochs):
    """The tutorial's loop, in plain Python, exactly as it is usually written."""
    m = 0.0
    b = 0.0
    n = float(len(x))
    cost = 0.0
    for _ in range(epochs):
        predictions = [m * xi + b for xi in x]
        cost = sum((yi - pi) ** 2 for yi, pi in zip(y, predictions)) / n
        dm = -(2 / n) * sum(xi * (yi - pi) for xi, yi, pi in zip(x, y, predictions))
        db = -(2 / n) * sum(yi - pi for yi, pi in zip(y, predictions))
        m = m - learning_rate * dm
        b = b - learning_rate * db
    return m, b, cost


def cost_at(x, y, m, b):
    """The mean squared error of the line ``m x + b``, in plain Python."""
    return sum((yi - (m * xi + b)) ** 2 for xi, yi in zip(x, y)) / len(x)


def test_matches_the_classic_loop_on_the_bundled_data():
    data = load_study_time()
    x, y = data.hours.tolist(), data.score.tolist()
    m, b, _ = classic_loop(x, y, 0.01, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        got = gradient_descent(data.hours, data.score, learning_rate=0.01, epochs=300)
    # The cost returned is that of the m and b returned (the loop's own `cost` is the one before
    # its last step): within the classic bound of the loop's line's cost.
    line, cost = classic_descent_bound(x, y, 0.01, 300)
    assert np.hypot(got[0] - m, got[1] - b) <= line
    assert_within(got[2], cost_at(x, y, m, b), cost)


@pytest.mark.filterwarnings("ignore::gradreg.ConvergenceWarning")
@settings(max_examples=30, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(-10, 10), st.floats(-100, 100)), min_size=1, max_size=20
    ),
    epochs=st.integers(1, 50),
)
def test_matches_the_classic_loop_on_random_data(points, epochs):
    x = [p[0] for p in points]
    y = [p[1] for p in points]
    rate = 0.5 * classic_max_stable_learning_rate(x) if any(x) else 0.1
    m, b, _ = classic_loop(x, y, rate, epochs)
    got = gradient_descent(np.array(x), np.array(y), learning_rate=rate, epochs=epochs)
    line, cost = classic_descent_bound(x, y, rate, epochs)
    assert np.hypot(got[0] - m, got[1] - b) <= line
    assert_within(got[2], cost_at(x, y, m, b), cost)


def test_reaches_the_least_squares_line():
    data = load_study_time()
    rate, epochs = 0.02, 20_000
    m, b, _ = gradient_descent(data.hours, data.score, learning_rate=rate, epochs=epochs)
    slope, intercept = exact_line(data.hours, data.score)
    # Descent contracts the distance by (1 - rate x the smallest curvature) an epoch; an
    # epoch's rounding (one epoch of classic_descent_bound) is contracted the same way, so the
    # fixed point lies within it / (rate x the smallest curvature) of the line.
    x = np.asarray(data.hours, dtype=np.float64)
    hessian = 2 * np.array([[np.mean(x**2), np.mean(x)], [np.mean(x), 1.0]])
    smallest = np.linalg.eigvalsh(hessian)[0]
    epoch, _ = classic_descent_bound(data.hours, data.score, rate, 1)
    bound = ((1 - rate * smallest) ** epochs * np.hypot(slope, intercept)
             + epoch / (rate * smallest))
    assert np.hypot(m - slope, b - intercept) <= bound


def test_stability_limit_is_exact():
    data = load_study_time()
    limit = classic_max_stable_learning_rate(data.hours)
    gradient_descent(data.hours, data.score, learning_rate=0.99 * limit, epochs=3000)
    with pytest.raises(DivergenceError, match=r"largest stable learning rate .* is 0\.0297"):
        gradient_descent(data.hours, data.score, learning_rate=1.5 * limit, epochs=3000)


@settings(max_examples=25, deadline=None)
@given(fraction=st.floats(1.0, 1e6), epochs=st.integers(1, 1000))
def test_every_rate_at_or_above_the_limit_is_refused_before_the_first_epoch(fraction, epochs):
    # The limit comes from the data alone, so even one epoch (which cannot overflow) is refused.
    data = load_study_time()
    limit = classic_max_stable_learning_rate(data.hours)
    with pytest.raises(DivergenceError, match=r"would diverge .* is 0\.0297266 \(2/L\)"):
        gradient_descent(data.hours, data.score, learning_rate=fraction * limit, epochs=epochs)


def classic_loop_by_epoch(x, y, learning_rate, epochs):
    """The transcription again, writing down every epoch's numbers."""
    m, b, n, rows = 0.0, 0.0, float(len(x)), []
    for _ in range(epochs):
        predictions = [m * xi + b for xi in x]
        cost = sum((yi - pi) ** 2 for yi, pi in zip(y, predictions)) / n
        dm = -(2 / n) * sum(xi * (yi - pi) for xi, yi, pi in zip(x, y, predictions))
        db = -(2 / n) * sum(yi - pi for yi, pi in zip(y, predictions))
        rows.append((m, b, cost, dm, db))
        m, b = m - learning_rate * dm, b - learning_rate * db
    return np.array(rows), m, b


def test_the_trace_holds_every_epoch_of_the_classic_loop():
    data = load_study_time()
    expected, m, b = classic_loop_by_epoch(data.hours.tolist(), data.score.tolist(), 0.01, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        trace = gradient_descent(data.hours, data.score, 0.01, 40, trace=True)
        plain = gradient_descent(data.hours, data.score, 0.01, 40)
    got = np.column_stack([trace.m, trace.b, trace.cost, trace.grad_m, trace.grad_b])
    # Sums of 100 terms in another order: within the classic loop's rounding at each epoch,
    # the gradient (the cost's slope) within the line's bound times the curvature 2 mean(x^2 + 1).
    x = np.asarray(data.hours, dtype=np.float64)
    for epoch in range(40):
        line, cost = classic_descent_bound(data.hours, data.score, 0.01, epoch + 1)
        assert np.hypot(*(got[epoch, :2] - expected[epoch, :2])) <= line
        assert_within(got[epoch, 2], expected[epoch, 2], cost)
        assert np.hypot(*(got[epoch, 3:] - expected[epoch, 3:])) <= (
            line / 0.01 + 2 * line * float(np.mean(x**2 + 1)))
    np.testing.assert_array_equal(trace.epoch, np.arange(1, 41))
    assert trace.result == plain and len(trace) == 40
    line, _ = classic_descent_bound(data.hours, data.score, 0.01, 40)
    assert np.hypot(trace.final_m - m, trace.final_b - b) <= line
    lines = trace.table(rows=3).splitlines()
    assert lines[0].split() == ["epoch", "m", "b", "cost", "(MSE)", "dJ/dm", "dJ/db"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3", "...", "40", "after"]
    # Printed to 6 significant digits: within half a unit of the 6th.
    assert_within(float(lines[2].split()[1]), trace.m[1], 5e-6 * abs(trace.m[1]))
    # The last row is what the descent returns.
    assert lines[-1].split()[1:] == [f"{value:.6g}" for value in plain]
    assert len(trace.table(rows=None).splitlines()) == 42 and str(trace) == trace.table()
    assert "after" not in trace.table(rows=3, last=False)


@pytest.mark.filterwarnings("ignore::gradreg.ConvergenceWarning")
@pytest.mark.parametrize("epochs", [1, 3, 40])
def test_every_cost_of_the_tutorial_is_the_mean_squared_error_beside_it(epochs):
    # Each row's cost at that row's m and b, the returned cost at the returned m and b: one
    # function, the mean squared error. The reference forms the same residuals by the same
    # float64 operations and sums their n squares in plain Python, in another order than
    # numpy's: n eps of the sum each, a factor 2 for the two sums.
    data = load_study_time()
    x, y = data.hours.tolist(), data.score.tolist()
    trace = gradient_descent(data.hours, data.score, 0.01, epochs, trace=True)
    rows = [(m, b, cost) for _, m, b, cost, *_ in trace.rows()] + [trace.result]
    for m, b, cost in rows:
        bound = rounding_bound(1.0, 2, len(x)) * cost_at(x, y, m, b)
        assert_within(cost, cost_at(x, y, m, b), bound)
    assert trace.result == gradient_descent(data.hours, data.score, 0.01, epochs)


def exact_line(x, y):
    """The least-squares line from numpy's SVD-based solver, not from gradreg."""
    (slope, intercept), *_ = np.linalg.lstsq(np.c_[x, np.ones_like(x)], y, rcond=None)
    return slope, intercept


def test_far_from_the_optimum_it_warns_with_the_gap_the_optimum_and_the_epochs_needed():
    data = load_study_time()
    slope, intercept = exact_line(data.hours, data.score)
    with pytest.warns(ConvergenceWarning, match="stopped far from the least-squares line") as rec:
        gradient_descent(data.hours, data.score, learning_rate=0.001, epochs=100)
    message = str(rec[0].message)
    assert f"m* = {slope:.6g}, b* = {intercept:.6g}" in message
    assert "relative gap" in message
    needed = int(re.search(r"about ([\d,]+) epochs", message).group(1).replace(",", ""))
    size = np.hypot(slope, intercept)
    # The count is the exact one for the quadratic cost: enough, and one fewer is not.
    for epochs, close in ((needed, True), (needed - 1, False)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m, b, _ = gradient_descent(data.hours, data.score, 0.001, epochs)
        # Not rounding: 1e-6 is the tutorial's own target (the distance it calls close).
        assert bool(np.hypot(m - slope, b - intercept) <= 1e-6 * size) is close
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gradient_descent(data.hours, data.score, 0.001, needed)


FIGURES = re.compile(r"after (\d+) epochs: m = (\S+), b = (\S+), .* cost (\S+) against")


@pytest.mark.parametrize(("rate", "epochs"), [(0.01, 1), (0.01, 3), (0.001, 100), (0.0001, 1000)])
def test_the_warning_quotes_the_returned_m_b_and_cost(rate, epochs):
    data = load_study_time()
    with pytest.warns(ConvergenceWarning, match="stopped far") as caught:
        m, b, cost = gradient_descent(data.hours, data.score, rate, epochs)
    quoted = FIGURES.search(str(caught[0].message)).groups()
    assert quoted == (str(epochs), f"{m:.6g}", f"{b:.6g}", f"{cost:.6g}")
    # The cost quoted and returned is that of the m and b returned, not of the iterate before
    # (the same residuals, summed in another order: the bound of the test above).
    x, y = data.hours.tolist(), data.score.tolist()
    assert_within(cost, cost_at(x, y, m, b), rounding_bound(1.0, 2, len(x)) * cost)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": 0.0}, r"'learning_rate' parameter of gradient_descent must be a float"),
        ({"learning_rate": -1.0}, r"range \(0.0, inf\). Got -1.0 instead"),
        ({"learning_rate": float("nan")}, r"Got nan instead"),
        ({"learning_rate": "0.01"}, r"must be a float in the range \(0.0, inf\). Got '0.01'"),
        ({"learning_rate": None}, r"Got None instead"),
        ({"learning_rate": [0.1]}, r"Got \[0.1\] instead"),
        ({"epochs": 0}, r"'epochs' parameter of gradient_descent must be an int in the range"),
        ({"epochs": 2.5}, r"Got 2.5 instead"),
    ],
)
def test_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        gradient_descent([1.0, 2.0], [1.0, 2.0], **kwargs)


def test_data_errors():
    with pytest.raises(ValueError, match="different lengths: x has 2, y has 3"):
        gradient_descent([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="empty"):
        gradient_descent([], [])
    with pytest.raises(ValueError, match="contains NaN at row 1"):
        gradient_descent([1.0, np.nan], [1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# The README's tutorial runs as pasted: its doctests run with the suite, its other snippets here
# ---------------------------------------------------------------------------------------------

README = Path(__file__).parent.parent / "README.md"


def tutorial_blocks(language):
    text = README.read_text()
    section = text[text.index("## Tutorial"):text.index("## The command line")]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)
    return [block for block in blocks if ">>>" not in block]


def test_the_readme_loop_runs_as_pasted(capsys):
    (block,) = tutorial_blocks("python")
    exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out == "score = 5.44 * hours + 37.58\n"


def test_the_readme_command_lines_run_as_pasted(capsys, tmp_path, monkeypatch):
    from gradreg.cli import main
    from gradreg.datasets import study_time_path

    (block,) = tutorial_blocks("sh")
    data = tmp_path / "src" / "gradreg" / "data"
    data.mkdir(parents=True)
    shutil.copy(study_time_path(), data / "study_time.csv")
    monkeypatch.chdir(tmp_path)
    outputs = []
    for line in block.strip().splitlines():
        words = shlex.split(line)
        assert words[0] == "gradreg"
        code = main(words[1:])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        outputs.append(captured.out)
    for figure in ("5.44424", "37.5797", "18.9461 (mean squared error)", "0.0297266 = 2/L"):
        assert figure in outputs[0]
    for written in ("cost.png", "explore.html"):
        assert (tmp_path / written).stat().st_size > 1000


# ---------------------------------------------------------------------------------------------
# One convention: the same cost and the same learning rate in every face
# ---------------------------------------------------------------------------------------------


def test_gdregressor_runs_the_tutorial_descent_with_the_same_rate_and_cost():
    from gradreg import GDRegressor, learning_rate_limits

    data = load_study_time()
    epochs = 300
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        trace = gradient_descent(data.hours, data.score, 0.01, epochs, trace=True)
        model = GDRegressor(solver="gd", optimizer="plain", standardize=False,
                            learning_rate=0.01, max_iter=epochs).fit(data.X, data.score)
    # history_ holds the cost before each epoch and after the last: the tutorial's MSE. The
    # estimator's gradients come from the statistics, the loop's from the rows: the same
    # arithmetic in another order (sums of the same n products), within the classic bound.
    for epoch, (got, want) in enumerate(zip(model.history_["loss"][:-1], trace.cost)):
        _, cost = classic_descent_bound(data.hours, data.score, 0.01, epoch + 1)
        assert_within(got, want, cost)
    line, _ = classic_descent_bound(data.hours, data.score, 0.01, epochs)
    assert np.hypot(model.coef_[0] - trace.final_m, model.intercept_ - trace.final_b) <= line
    limits = learning_rate_limits(data.hours, data.score)
    # 2/L from the statistics and from the rows: sums of n squares (n eps each, 8 roundings
    # between the routes); an eigenvalue moves by at most the matrix's change (Weyl).
    n = len(data.score)
    assert_within(2 / model.lipschitz_, limits.max_stable,
                  rounding_bound(1.0, 8, n) * limits.max_stable)
    assert_within(limits.max_stable, classic_max_stable_learning_rate(data.hours),
                  rounding_bound(1.0, 8, n) * limits.max_stable)
    slope, intercept = exact_line(data.hours, data.score)
    optimal_mse = np.mean((data.score - slope * data.hours - intercept) ** 2)
    # The optimal cost from the statistics cancels terms of the size of mean(y^2) (a few: 4).
    size = 4 * float(np.mean(np.asarray(data.score) ** 2))
    assert_within(model.optimal_loss_, optimal_mse, rounding_bound(1.0, 8, n) * size)
    assert "final cost        " in model.report() and "(mean squared error)" in model.report()


def test_gdregressor_refuses_the_same_rates_as_the_tutorial_function():
    from gradreg import GDRegressor

    data = load_study_time()
    limit = classic_max_stable_learning_rate(data.hours)
    model = GDRegressor(solver="gd", optimizer="plain", standardize=False,
                        learning_rate=1.001 * limit)
    with pytest.raises(DivergenceError, match=r"mean squared error is 0\.0297266 \(2/L\)"):
        model.fit(data.X, data.score)
    scaled = GDRegressor(solver="gd", optimizer="plain", learning_rate=1.5)
    with pytest.raises(DivergenceError, match=r"learning_rate=1\.5: .* standardized problem is 1 "):
        scaled.fit(data.X, data.score)


def test_a_penalised_cost_is_labelled_as_such():
    from gradreg import GDRegressor

    data = load_study_time()
    model = GDRegressor(penalty="l2", alpha=0.5).fit(data.X, data.score)
    assert "(MSE + 2 x alpha x penalty)" in model.report()
    w = model.coef_[0]
    mse = np.mean((data.score - model.predict(data.X)) ** 2)
    # scikit-learn's objective (1/2n)|r|^2 + alpha/2 |w|^2, doubled. From the statistics it
    # cancels terms of the size of mean(y^2) (a few: 4), from the rows it sums n squares.
    size = 4 * float(np.mean(np.asarray(data.score) ** 2)) + 0.5 * w**2
    bound = rounding_bound(1.0, 8, len(data.score)) * size
    assert_within(model.history_["loss"][-1], mse + 0.5 * w**2, bound)
