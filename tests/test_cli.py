"""The gradreg command: output, files written, and one-line errors with exit codes."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import assert_within, fit_rounding_bounds
from gradreg import GDRegressor, load_study_time
from gradreg.cli import main
from gradreg.datasets import study_time_path


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_demo_prints_the_fit(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--out-dir", str(tmp_path))
    assert code == 0, err
    assert "m (points per hour)" in out and "5.444237" in out and "37.579734" in out
    assert "converged" in out and "yes" in out
    image = Image.open(tmp_path / "gradreg-demo-line.png")
    assert image.size[0] > 400 and image.size[1] > 300


def test_demo_no_plot_writes_nothing(capsys, tmp_path):
    code, _, _ = run(capsys, "demo", "--no-plot", "--out-dir", str(tmp_path))
    assert code == 0 and list(tmp_path.iterdir()) == []


def test_fit_then_predict(capsys, tmp_path):
    model = tmp_path / "model.json"
    code, out, err = run(capsys, "fit", study_time_path(), "--target", "score",
                         "--model", str(model))
    assert code == 0, err
    assert "hours" in out and "5.44424" in out and "converged         yes" in out
    assert json.loads(model.read_text())["feature_names"] == ["hours"]
    code, out, _ = run(capsys, "predict", str(model), study_time_path())
    lines = out.splitlines()
    assert code == 0 and lines[0] == "prediction" and len(lines) == 101
    # The first row (8.8 hours) on the least-squares line by an SVD; the fit converged, so
    # within tol of it (certified) and the rounding of a solve from cross-products.
    data = load_study_time()
    x = np.asarray(data.hours, dtype=float)
    (slope, intercept), *_ = np.linalg.lstsq(np.c_[x, np.ones_like(x)], data.score, rcond=None)
    (coef,), offset = fit_rounding_bounds(np.c_[x], [slope], intercept,
                                          certified=GDRegressor().tol)
    assert_within(float(lines[1]), slope * x[0] + intercept, abs(x[0]) * coef + offset)
    out_file = tmp_path / "pred.csv"
    code, _, err = run(capsys, "predict", str(model), study_time_path(), "--out", str(out_file))
    assert code == 0 and "100 predictions written" in err
    assert out_file.read_text().splitlines() == lines


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--solver", "sgd", "--optimizer", "adam", "--max-iter", "300", "--random-state", "0"],
         "sgd (adam)"),
        (["--penalty", "l1", "--alpha", "0.5"], "gd (nesterov)"),
        (["--solver", "gd", "--optimizer", "plain", "--line-search"], "gd (plain)"),
        (["--penalty", "elasticnet", "--l1-ratio", "0.5", "--solver", "gd", "--optimizer",
          "plain", "--learning-rate", "0.5", "--max-iter", "5000"], "gd (plain)"),
        (["--solver", "sgd", "--batch-size", "10", "--schedule", "cosine", "--max-iter", "50"],
         "sgd (plain)"),
    ],
)
def test_fit_flags_reach_the_estimator(capsys, flags, expected):
    code, out, err = run(capsys, "fit", study_time_path(), "--target", "score", *flags)
    assert code == 0, err
    assert f"solver            {expected}" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["fit", "missing.csv", "--target", "y"], 1, "gradreg: error: No such file: 'missing.csv'"),
        (["fit", study_time_path(), "--target", "grade"], 1, "Target column 'grade' is not in"),
        (["fit", study_time_path()], 2, "gradreg: error: Missing option '--target'"),
        (["fit", study_time_path(), "--target", "score", "--learning-rate", "fast"], 2,
         "must be 'auto' or a positive number"),
        (["fit", study_time_path(), "--target", "score", "--tol", "tiny"], 2,
         "gradreg: error: Invalid value for --tol: must be 'none' or a positive number, got "
         "'tiny'"),
        (["fit", study_time_path(), "--target", "score", "--max-iter", "0"], 2,
         "gradreg: error: --max-iter must be an int in the range [1, inf). Got 0 instead."),
        (["fit", study_time_path(), "--target", "score", "--solver", "newton"], 2,
         "'newton' is not one of"),
        (["frobnicate"], 2, "gradreg: error: No such command 'frobnicate'"),
    ],
)
def test_errors_are_one_line_with_exit_codes(capsys, args, code, message):
    got, out, err = run(capsys, *args)
    assert got == code
    assert message in err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_data_errors_in_files(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n2,abc\n")
    code, _, err = run(capsys, "fit", str(bad), "--target", "y")
    assert code == 1
    assert "line 3, column 'y': 'abc' is not a number (a text column?" in err
    assert err.count("\n") == 1
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(capsys, "fit", str(empty), "--target", "y")
    assert code == 1 and "is empty" in err
    corrupt = tmp_path / "model.json"
    corrupt.write_text("{not json")
    code, _, err = run(capsys, "predict", str(corrupt), study_time_path())
    assert code == 1 and "is not valid JSON" in err


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(Exception, match="No such file"):
        main(["--debug", "fit", "missing.csv", "--target", "y"])


def test_the_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "gradreg.cli", "--version"], capture_output=True, text=True,
        check=False,
    )
    assert result.returncode == 0 and "version" in result.stdout
    np.testing.assert_equal(result.stderr, "")


@pytest.mark.parametrize("kind", ["line", "cost", "path", "rates", "animation"])
def test_plot_command_writes_each_kind(capsys, tmp_path, kind):
    out = tmp_path / ("plot.gif" if kind == "animation" else "plot.png")
    # --epochs is the classic descent's; line, cost and path draw the fit (--max-iter).
    epochs = ["--epochs", "60"] if kind in ("rates", "animation") else ["--max-iter", "60"]
    code, _, err = run(capsys, "plot", study_time_path(), "--target", "score", "--kind", kind,
                       "--out", str(out), *epochs)
    assert code == 0, err
    assert f"written to {out}" in err
    with Image.open(out) as image:
        assert image.size[0] > 400


def test_fit_explain_prints_the_limits(capsys):
    code, out, _ = run(capsys, "fit", study_time_path(), "--target", "score", "--explain")
    assert code == 0
    assert "stable below 2/L = 0.0297266" in out and "learning_rate='auto' uses 0.5" in out


def test_demo_writes_line_cost_and_path(capsys, tmp_path):
    folder = tmp_path / "new" / "folder"  # created when missing
    code, out, _ = run(capsys, "demo", "--out-dir", str(folder), "--epochs", "2")
    assert code == 0
    # The worked example: the first epochs of the tutorial's descent, the first by hand.
    assert "dJ/dm   = -(2/N) sum x (y - (m x + b))  = -743.936" in out
    assert "new m = 0 - 0.01 x (-743.936) = 7.43936" in out
    assert sorted(p.name for p in folder.iterdir()) == [
        "gradreg-demo-cost.png", "gradreg-demo-explore.html", "gradreg-demo-line.png",
        "gradreg-demo-path.png"]


def test_demo_worked_example_ends_with_what_the_descent_returns(capsys):
    import warnings

    from gradreg import ConvergenceWarning, gradient_descent

    code, out, _ = run(capsys, "demo", "--no-plot", "--epochs", "2")
    assert code == 0
    data = load_study_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m, b, cost = gradient_descent(data.hours, data.score, 0.01, 2)
    (after,) = [line.split() for line in out.splitlines() if line.split()[:1] == ["after"]]
    assert after[1:] == [f"{m:.6g}", f"{b:.6g}", f"{cost:.6g}"]


def test_demo_plots_are_of_the_fit_it_prints(capsys, tmp_path, monkeypatch):
    from gradreg import plotting

    drawn = {}
    monkeypatch.setattr(plotting, "save_figure",
                        lambda figure, path: drawn.setdefault(path.name, figure))
    code, out, _ = run(capsys, "demo", "--out-dir", str(tmp_path), "--epochs", "0")
    assert code == 0
    coef, intercept = [0.0], [0.0]

    def record(info):
        coef.append(info.coef[0])
        intercept.append(info.intercept)

    data = load_study_time()
    model = GDRegressor(solver="gd", optimizer="plain", standardize=False, learning_rate=0.01,
                        max_iter=20_000, callbacks=[record]).fit(data.X, data.score)
    assert f"{model.n_iter_} of at most 20000" in out
    path = drawn["gradreg-demo-path.png"].axes[0].lines[0]
    np.testing.assert_array_equal(path.get_xdata(), coef)
    np.testing.assert_array_equal(path.get_ydata(), intercept)
    assert path.get_label() == ("gradient descent (solver='gd', optimizer='plain'), "
                                "learning rate 0.01")
    cost = drawn["gradreg-demo-cost.png"].axes[0].lines[0].get_ydata()
    np.testing.assert_array_equal(cost, model.history_["loss"])
    (printed,) = [line.split()[-1] for line in out.splitlines() if "final cost (MSE)" in line]
    assert printed == f"{cost[-1]:.6f}"


def test_progress_bar_callback_advances(capsys):
    from gradreg import GDRegressor, load_study_time

    data = load_study_time()
    model = GDRegressor(solver="gd", optimizer="plain", standardize=False, verbose=2,
                        max_iter=20_000).fit(data.X, data.score)
    assert model.converged_
    err = capsys.readouterr().err
    assert "fitting" in err and "epochs" in err


def test_explain_is_refused_on_a_cluster(capsys):
    code, _, err = run(capsys, "fit", study_time_path(), "--target", "score", "--explain",
                       "--dask-workers", "1")
    assert code == 2 and "cannot be used with --scheduler or --dask-workers" in err


@pytest.mark.parametrize("spelling", ["none", "None"])
def test_tol_none_runs_every_epoch(capsys, spelling):
    # The default tol stops gd on these data long before 300 epochs; --tol none is tol=None,
    # scikit-learn's "run max_iter epochs".
    base = ["fit", study_time_path(), "--target", "score", "--solver", "gd", "--max-iter", "300"]
    code, out, err = run(capsys, *base)
    assert code == 0, err
    assert "epochs            300" not in out
    code, out, err = run(capsys, *base, "--tol", spelling)
    assert code == 0, err
    assert "epochs            300" in out
    assert "--max-iter 300 reached" in out  # the report names the option


def test_tol_help_names_none(capsys):
    code, out, _ = run(capsys, "fit", "--help")
    assert code == 0
    assert "TOL|none" in out and "'none' runs all --max-iter" in " ".join(out.split())


def _bound_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("error bound")]
    assert len(lines) == 1, out
    return lines[0]


@pytest.mark.parametrize(
    "flags",
    [[], ["--solver", "gd", "--optimizer", "plain", "--max-iter", "3"], ["--tol", "none"]],
)
def test_fit_report_shows_the_certified_bound(capsys, tmp_path, flags):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2)) * [1.0, 30.0] + [5.0, -2.0]
    y = X @ rng.normal(size=2) + 1.5 + rng.normal(size=40)
    data = tmp_path / "small.csv"
    np.savetxt(data, np.c_[X, y], delimiter=",", header="a,b,y", comments="")
    model_file = tmp_path / "model.json"
    code, out, err = run(capsys, "fit", str(data), "--target", "y", "--quiet", "--model",
                         str(model_file), *flags)
    assert code == 0, err
    fit = json.loads(model_file.read_text())["fit"]
    bound = fit["coef_error_bound"]
    tol = "none" if "none" in flags else f"{GDRegressor().tol:.3g}"
    assert _bound_line(out) == (f"error bound       {bound:.3g} (certified relative error of "
                                f"the coefficients; tol {tol})")
    # The verdict printed above it is the bound's: converged exactly when it meets tol.
    verdict = "yes" if tol != "none" and bound <= float(tol) else "no"
    assert f"converged         {verdict}" in out and fit["converged"] == (verdict == "yes")
    # "yes" stands alone; "no" says why the fit stopped.
    assert ("converged         yes:" not in out) and ((verdict == "yes") != (
        "converged         no: " in out))
