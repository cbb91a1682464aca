"""Every plot renders to a valid image with the expected artists (not pixels)."""

import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import (
    assert_within,
    classic_descent_bound,
    fit_rounding_bounds,
    make_regression,
    rounding_bound,
)
from gradreg import (
    ConvergenceWarning,
    GDRegressor,
    ParameterError,
    classic_max_stable_learning_rate,
    gradient_descent,
    load_study_time,
    plotting,
)
from gradreg._fit_path import fit_method
from gradreg._slices import make_slice


@pytest.fixture(scope="module")
def data():
    return load_study_time()


def check_image(path, min_width=400):
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] >= min_width and image.size[1] >= 200
        return image.n_frames if hasattr(image, "n_frames") else 1


def test_line_plot(data, tmp_path):
    figure = plotting.plot_fit(GDRegressor().fit(data.X, data.score), data.X, data.score)
    axes = figure.axes[0]
    assert len(axes.collections) == 1 and len(axes.lines) == 1
    assert axes.get_legend() is not None
    plotting.save_figure(figure, tmp_path / "line.png")
    check_image(tmp_path / "line.png")


def test_predicted_against_actual_for_several_features(tmp_path):
    X, y = make_regression(100, 3, seed=1)
    figure = plotting.plot_fit(GDRegressor().fit(X, y), X, y)
    assert "predicted" in figure.axes[0].get_ylabel()
    plotting.save_figure(figure, tmp_path / "pred.svg")
    assert (tmp_path / "pred.svg").read_text().startswith("<?xml")


def test_cost_plot_has_the_optimum_and_the_tolerance(data, tmp_path):
    model = GDRegressor(solver="gd", optimizer="plain", standardize=False, max_iter=20_000)
    figure = plotting.plot_cost(model.fit(data.X, data.score))
    left, right = figure.axes
    assert left.get_yscale() == "log" and right.get_yscale() == "log"
    assert left.lines[1].get_ydata()[0] == model.optimal_loss_  # the value itself, drawn
    # The cost shown is the mean squared error, the tutorial's. From the statistics it cancels
    # terms of the size of mean(y^2) (a few: 4); each route sums n rows.
    residuals = data.score - model.predict(data.X)
    size = 4 * float(np.mean(np.asarray(data.score) ** 2))
    assert_within(left.lines[0].get_ydata()[-1], np.mean(residuals**2),
                  rounding_bound(1.0, 8, len(residuals)) * size)
    assert "mean squared error" in left.get_ylabel()
    low, high = right.get_ylim()
    assert low < model.tol < high
    plotting.save_figure(figure, tmp_path / "cost.png")
    check_image(tmp_path / "cost.png")


def test_cost_plot_of_a_one_epoch_fit_shows_the_exact_optimum(data):
    model = GDRegressor().fit(data.X, data.score)  # conjugate gradient, one epoch, gap 0
    assert model.n_iter_ == 1 and model.optimality_gap_ == 0
    figure = plotting.plot_cost(model)
    left, right = figure.axes
    assert left.lines[0].get_marker() == "o"
    labels = [line.get_label() for line in right.lines]
    zero = right.lines[labels.index("gap 0: the optimum, to float64")]
    np.testing.assert_array_equal(zero.get_xdata(), [1])
    low, high = right.get_ylim()
    assert low < zero.get_ydata()[0] < model.tol < high
    title = right.get_legend().get_title().get_text()
    bound = model.coef_error_bound_
    assert title == f"converged after 1 epoch\ncoefficients' error bound {bound:.2g}"
    assert "standardized" in figure.get_suptitle()


def test_path_plot_marks_start_end_and_optimum(data, tmp_path):
    figure = plotting.plot_path(data.X, data.score, epochs=100, feature_names=["hours"])
    axes = figure.axes[0]
    labels = [line.get_label() for line in axes.lines]
    assert "start" in labels and "optimum" in labels and any("after" in x for x in labels)
    start = axes.lines[1].get_xydata()[0]
    np.testing.assert_array_equal(start, [0.0, 0.0])
    assert axes.get_xlabel() == "slope m (per unit of hours)"
    assert axes.get_ylabel() == "intercept b"
    # With one feature the path is the tutorial's descent itself, at 1/L.
    rate = 0.5 * classic_max_stable_learning_rate(data.hours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m, b, _ = gradient_descent(data.hours, data.score, rate, 100)
    line, _ = classic_descent_bound(data.hours, data.score, rate, 100)
    assert np.hypot(*(axes.lines[0].get_xydata()[-1] - [m, b])) <= line
    plotting.save_figure(figure, tmp_path / "path.png")
    check_image(tmp_path / "path.png")


def test_path_for_many_features_is_an_exact_slice_through_the_optimum():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 5))
    X[:, 3] = X[:, 1] + 0.05 * rng.normal(size=200)  # columns 1 and 3 nearly collinear
    y = X @ rng.normal(size=5) + 2.0 + rng.normal(size=200)
    names = ["a", "b", "c", "d", "e"]
    figure = plotting.plot_path(X, y, epochs=40, feature_names=names)
    axes = figure.axes[0]
    # The default pair is the one with the strongest curvature coupling.
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("coefficient of b", "coefficient of d")
    title = axes.get_title(loc="left")
    assert "Exact 2-D slice through the optimum" in title and "other 4 parameters" in title
    # Every point of the path has the cost of the full model with the others at the optimum
    # (numpy's SVD solver for the optimum), and the path descends.
    design = np.c_[X, np.ones(200)]
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    plane = make_slice(X, y, (1, 3))
    path = axes.lines[0].get_xydata()
    # The plane holds the others at gradreg's optimum (from cross-products), within
    # fit_rounding_bounds of the SVD's; the cost sums n rows of terms |y| + |A| |full|.
    coef, intercept = fit_rounding_bounds(X, solution[:5], solution[5])
    held = np.r_[coef, intercept]
    held[[1, 3]] = 0.0
    shift = np.abs(design) @ held
    rounding, moved = [], []
    for first, second in path:
        full = solution.copy()
        full[1], full[3] = first, second
        terms = np.abs(y) + np.abs(design) @ np.abs(full)
        rounding.append(rounding_bound(1.0, 8, len(y)) * np.mean(terms**2))
        moved.append(np.mean((2 * terms + shift) * shift))  # (r + e)^2 - r^2, |e| <= shift
    for k in range(0, len(path), len(path) // 5):
        full = solution.copy()
        full[1], full[3] = path[k]
        direct = np.mean((y - design @ full) ** 2)
        assert_within(plane.cost(*path[k]), direct, rounding[k] + moved[k])
    # The path descends: each step's cost no higher than the last, but for their rounding.
    costs = plane.cost(path[:, 0], path[:, 1])
    rounding = np.array(rounding)
    assert np.all(np.diff(costs) <= rounding[1:] + rounding[:-1])
    assert_within(axes.lines[3].get_xydata()[0], solution[[1, 3]], coef[[1, 3]])


def test_path_for_a_chosen_pair_with_the_intercept():
    X, y = make_regression(100, 3, seed=2)
    figure = plotting.plot_path(X, y, coefficients=(2, None), epochs=50,
                                feature_names=["u", "v", "w"])
    assert figure.axes[0].get_xlabel() == "coefficient of w"
    assert figure.axes[0].get_ylabel() == "intercept b"
    with pytest.raises(ParameterError, match=r"'coefficients' parameter .* Got \(1, 1\)"):
        plotting.plot_path(X, y, coefficients=(1, 1))


def test_animation_runs_to_the_least_squares_line(data):
    rate, descent, shown = plotting.animated_descent(data.hours, data.score)
    (slope, intercept), *_ = np.linalg.lstsq(np.c_[data.hours, np.ones(len(data.hours))],
                                             data.score, rcond=None)
    last = shown[-1]
    assert last == len(descent.cost) - 1
    distance = np.hypot(descent.coef[last, 0] - slope, descent.intercept[last] - intercept)
    # Not rounding: 1e-4 (relative) is the animation's target; the target's own optimum (from
    # centred sums) within fit_rounding_bounds of the SVD's line.
    (coef,), offset = fit_rounding_bounds(np.c_[data.hours], [slope], intercept)
    assert distance <= 1e-4 * np.hypot(slope, intercept) + np.hypot(coef, offset)
    assert rate == 0.5 * classic_max_stable_learning_rate(data.hours)  # halving is exact


def test_rates_plot_includes_a_divergent_rate(data, tmp_path):
    figure = plotting.plot_rates(data.X, data.score)
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert sum("diverges" in label for label in labels) == 1
    assert "2/L" in figure.axes[0].get_title(loc="left")
    plotting.save_figure(figure, tmp_path / "rates.png")
    check_image(tmp_path / "rates.png")


def test_animation_is_a_gif_with_frames(data, tmp_path):
    frames = plotting.save_animation(data.X, data.score, tmp_path / "fit.gif", frames=12,
                                     epochs=100)
    assert frames >= 5
    assert check_image(tmp_path / "fit.gif") == frames
    assert [p.name for p in tmp_path.iterdir()] == ["fit.gif"]


def _drawn(monkeypatch):
    """The figures `gradreg plot` draws, kept instead of written."""
    figures = []
    monkeypatch.setattr(plotting, "save_figure", lambda figure, path: figures.append(figure))
    return figures


def test_plot_command_draws_the_fit_its_options_make(capsys, monkeypatch, tmp_path):
    from gradreg.cli import main
    from gradreg.datasets import study_time_path

    figures = _drawn(monkeypatch)
    tutorial = ["--no-standardize", "--solver", "gd", "--optimizer", "plain",
                "--learning-rate", "0.01", "--max-iter", "50"]
    code = main(["plot", study_time_path(), "--target", "score", "--kind", "cost",
                 "--out", "cost.png", *tutorial])
    assert code == 0, capsys.readouterr().err
    left = figures[0].axes[0]
    assert len(left.lines[0].get_xdata()) == 51
    assert "learning rate 0.01, 2/L = 0.02973" in figures[0].get_suptitle()
    # The same fit from a saved model file.
    model = tmp_path / "model.json"
    assert main(["fit", study_time_path(), "--target", "score", "--quiet", "--model",
                 str(model), *tutorial]) == 0
    assert main(["plot", study_time_path(), "--target", "score", "--kind", "cost",
                 "--out", "cost.png", "--model", str(model)]) == 0
    np.testing.assert_array_equal(figures[1].axes[0].lines[0].get_ydata(),
                                  left.lines[0].get_ydata())


def test_plot_command_path_takes_named_coefficients(capsys, monkeypatch, tmp_path):
    from gradreg.cli import main

    figures = _drawn(monkeypatch)
    rng = np.random.default_rng(3)
    rows = "\n".join(",".join(f"{v:.6f}" for v in row) for row in rng.normal(size=(60, 4)))
    path = tmp_path / "d.csv"
    path.write_text("u,v,w,y\n" + rows + "\n")
    code = main(["plot", str(path), "--target", "y", "--kind", "path", "--out", "p.png",
                 "--coefficients", "intercept,w", "--max-iter", "20"])
    assert code == 0, capsys.readouterr().err
    axes = figures[0].axes[0]
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("coefficient of w", "intercept b")
    code = main(["plot", str(path), "--target", "y", "--kind", "path", "--out", "p.png",
                 "--coefficients", "u,z"])
    assert code == 2
    assert "'z' is not a feature; choose from ['u', 'v', 'w'] or 'intercept'" in (
        capsys.readouterr().err)


# ---------------------------------------------------------------------------------------------
# The path plot draws the iterates of the fit that was made
# ---------------------------------------------------------------------------------------------


class Iterates:
    """A user's callback writing down every epoch's parameters, as the fit reports them."""

    def __init__(self):
        self.coef, self.intercept = [], []

    def __call__(self, info):
        self.coef.append(np.array(info.coef))
        self.intercept.append(info.intercept)


FIT_METHODS = {
    "conjugate gradient (solver='cg')": {"solver": "cg"},
    "FISTA (solver='gd', optimizer='nesterov')": {"solver": "gd", "max_iter": 30},
    "gradient descent (solver='gd', optimizer='plain'), learning rate 0.1 (standardized "
    "problem)": {"solver": "gd", "optimizer": "plain", "learning_rate": 0.1, "max_iter": 80},
    "SGD (solver='sgd', optimizer='adam'), averaged iterates": {
        "solver": "sgd", "optimizer": "adam", "max_iter": 12, "random_state": 4},
}


@pytest.mark.filterwarnings("ignore::gradreg.ConvergenceWarning")
@pytest.mark.parametrize("label", FIT_METHODS)
def test_fit_path_plot_draws_the_fits_own_iterates(label):
    X, y = make_regression(120, 3, condition=20.0, seed=5)
    iterates = Iterates()
    model = GDRegressor(callbacks=[iterates], **FIT_METHODS[label])
    path = plotting.record_path(model, X, y)
    assert model.callbacks == [iterates]  # the recorder was there for that fit only
    figure = plotting.plot_fit_path(path, X, y, coefficients=(1, None))
    line = figure.axes[0].lines[0]
    assert line.get_label().startswith(label)
    # Every point drawn is an iterate the loop reported, in order, from the start (zero).
    coef = np.array([np.zeros(3), *iterates.coef])
    intercept = np.array([0.0, *iterates.intercept])
    assert len(iterates.coef) == model.n_iter_ >= 1
    np.testing.assert_array_equal(line.get_xdata(), coef[:, 1])
    np.testing.assert_array_equal(line.get_ydata(), intercept)
    np.testing.assert_array_equal(path.coef, coef)
    # ... the last the fitted coefficients, marked as the fit's end.
    labels = [artist.get_label() for artist in figure.axes[0].lines]
    end = figure.axes[0].lines[labels.index(f"after {model.n_iter_} epoch"
                                            f"{'s' if model.n_iter_ != 1 else ''}: the fit")]
    np.testing.assert_array_equal(end.get_xydata()[0], [model.coef_[1], model.intercept_])
    assert f"({model.n_iter_} epoch" in figure.axes[0].get_title(loc="left")


def test_fit_path_of_a_warm_start_starts_at_the_previous_fit():
    data = load_study_time()
    model = GDRegressor(solver="gd", optimizer="plain", standardize=False, learning_rate=0.01,
                        max_iter=5, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X, data.score)
        before = model.coef_[0], model.intercept_
        path = plotting.record_path(model, data.X, data.score)
    # Without standardization the descent's coordinates are the data's: the start is exact.
    assert (path.coef[0, 0], path.intercept[0]) == before
    line = plotting.plot_fit_path(path, data.X, data.score).axes[0].lines[0]
    assert tuple(line.get_xydata()[0]) == before


def test_fit_path_refuses_iterates_that_do_not_end_at_the_fit():
    # Squares beyond float64's range: the fit runs on a copy rescaled by powers of two, whose
    # iterates are in other units; no path is drawn rather than a wrong one.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 1)) * 1e200
    y = 3 * X[:, 0] + rng.normal(size=50) * 1e200
    model = GDRegressor(solver="gd", optimizer="plain", max_iter=20)
    with pytest.raises(ValueError, match=r"path of this fit cannot be drawn: the iterates "
                                         r"recorded \(0 for \d+ epochs\) do not end at the "
                                         r"fitted coefficients \(stop reason: .*rescaled"):
        plotting.record_path(model, X, y)
    with pytest.raises(ParameterError, match="The path has 1 coefficients per iterate but X "
                                             "has 2 features"):
        data = load_study_time()
        path = plotting.record_path(GDRegressor(), data.X, data.score)
        plotting.plot_fit_path(path, np.c_[data.X, data.X], data.score)


def test_plot_command_path_is_the_fit_its_options_make(capsys, monkeypatch):
    from gradreg.cli import main
    from gradreg.datasets import study_time_path

    figures = _drawn(monkeypatch)
    data = load_study_time()
    for options, settings in (
        (["--solver", "cg"], {"solver": "cg"}),
        (["--no-standardize", "--solver", "gd", "--optimizer", "plain", "--learning-rate",
          "0.01", "--max-iter", "40"],
         {"solver": "gd", "optimizer": "plain", "standardize": False, "learning_rate": 0.01,
          "max_iter": 40}),
    ):
        code = main(["plot", study_time_path(), "--target", "score", "--kind", "path",
                     "--out", "p.png", *options])
        assert code == 0, capsys.readouterr().err
        iterates = Iterates()
        model = GDRegressor(callbacks=[iterates], **settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(data.X, data.score)
        line = figures[-1].axes[0].lines[0]
        np.testing.assert_array_equal(line.get_xdata(), [0.0, *(c[0] for c in iterates.coef)])
        np.testing.assert_array_equal(line.get_ydata(), [0.0, *iterates.intercept])
        assert line.get_label().startswith(fit_method(model))
    # --epochs belongs to the classic descent's plots, not to the fit's.
    code = main(["plot", study_time_path(), "--target", "score", "--kind", "path",
                 "--out", "p.png", "--epochs", "20"])
    assert code == 2
    assert ("--epochs applies to --kind rates and animation; --kind path draws the fit itself, "
            "whose epochs --max-iter bounds.") in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::gradreg.ConvergenceWarning")
@pytest.mark.parametrize(("settings", "steps"), [
    ({"solver": "gd", "optimizer": "plain", "line_search": True},
     "adjusted by backtracking line search"),
    ({"solver": "gd", "optimizer": "plain", "schedule": "invscaling", "learning_rate": 0.1,
      "max_iter": 30}, "learning rate 0.1 at the first step, decaying (schedule='invscaling')"),
    ({"solver": "sgd", "optimizer": "adam", "max_iter": 5, "random_state": 0},
     "at the first step, decaying as 1/sqrt(1 + epochs)"),
])
def test_cost_and_path_plots_say_how_the_learning_rate_was_used(settings, steps):
    # A rate that decays or is searched is not "the learning rate" of every epoch.
    data = load_study_time()
    model = GDRegressor(**settings)
    path = plotting.record_path(model, data.X, data.score)
    assert steps in plotting.plot_cost(model).get_suptitle()
    figure = plotting.plot_fit_path(path, data.X, data.score)
    assert steps in figure.axes[0].lines[0].get_label()
