"""Faults and interruption: nothing lost, nothing half-written, the same result on resume."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from conftest import (
    EPS,
    assert_fit_within_rounding,
    assert_within,
    fit_rounding_bounds,
    lstsq_fit,
    make_regression,
    rounding_bound,
    standardized_condition,
)
from gradreg import (
    DataRangeError,
    FitInterrupted,
    GDRegressor,
    GradregWarning,
    InsufficientMemoryError,
    ModelFormatError,
)
from gradreg.cli import main

RESUMABLE = [
    {"solver": "gd", "optimizer": "plain"},
    {"solver": "gd", "optimizer": "momentum"},
    {"solver": "gd", "optimizer": "adam"},
    {"solver": "gd", "optimizer": "nesterov"},
    {"solver": "gd", "optimizer": "plain", "line_search": True},
    {"solver": "cg", "tol": 1e-300},
    {"solver": "sgd", "optimizer": "adam", "random_state": 3},
    {"solver": "sgd", "early_stopping": True, "n_iter_no_change": 100, "random_state": 4},
    {"penalty": "elasticnet", "alpha": 0.1, "l1_ratio": 0.5},
]


def interrupt_at(epoch):
    def callback(info):
        if info.epoch == epoch:
            raise KeyboardInterrupt

    return callback


@pytest.mark.parametrize("settings", RESUMABLE)
def test_resume_gives_the_uninterrupted_result_exactly(settings, tmp_path):
    X, y = make_regression(300, 30, condition=1e3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = GDRegressor(max_iter=60, **settings).fit(X, y)
        model = GDRegressor(max_iter=60, callbacks=interrupt_at(25), **settings)
        with pytest.raises(FitInterrupted, match="interrupted after 25 epochs"):
            model.fit(X, y, checkpoint=tmp_path / "ck.json", checkpoint_every=10)
        assert json.loads((tmp_path / "ck.json").read_text())["state"]["dict"]["epoch"] == 20
        resumed = GDRegressor(max_iter=60, **settings).fit(X, y, resume=tmp_path / "ck.json")
    np.testing.assert_array_equal(resumed.coef_, full.coef_)
    assert resumed.intercept_ == full.intercept_
    np.testing.assert_array_equal(resumed.history_["loss"], full.history_["loss"])


def test_checkpoints_refuse_other_settings_or_data(tmp_path):
    X, y = make_regression(100, 3, seed=2)
    path = tmp_path / "ck.json"
    GDRegressor(solver="gd", optimizer="plain", max_iter=20).fit(X, y, checkpoint=path,
                                                                 checkpoint_every=1)
    with pytest.raises(ModelFormatError, match="other settings"):
        GDRegressor(solver="gd", optimizer="adam", max_iter=20).fit(X, y, resume=path)
    with pytest.raises(ModelFormatError, match="written for other data"):
        GDRegressor(solver="gd", optimizer="plain", max_iter=20).fit(X + 1, y, resume=path)
    path.write_text(path.read_text()[:50])
    with pytest.raises(ModelFormatError, match="truncated or corrupt"):
        GDRegressor(solver="gd", optimizer="plain", max_iter=20).fit(X, y, resume=path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        GDRegressor().fit(X, y, resume=tmp_path / "none.json")
    with pytest.raises(ValueError, match="checkpoint_every must be an int"):
        GDRegressor().fit(X, y, checkpoint=path, checkpoint_every=0)


def test_an_interrupted_or_failed_fit_leaves_the_estimator_as_it_was():
    X, y = make_regression(100, 3, seed=3)
    model = GDRegressor(solver="gd", optimizer="plain", max_iter=500).fit(X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v)
              for k, v in model.__dict__.items() if k.endswith("_")}
    model.set_params(callbacks=interrupt_at(3))
    with pytest.raises(KeyboardInterrupt):
        model.fit(X[:, :2] * 5, y)
    with pytest.raises(ValueError):
        model.set_params(callbacks=None).fit(np.c_[X, X][:, :4], y[:10])
    for key, value in before.items():
        np.testing.assert_array_equal(getattr(model, key), value)
    assert model.n_features_in_ == 3


def test_sigint_to_the_command_line_writes_nothing_and_resume_finishes_the_fit(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "data.csv"
    x = rng.normal(size=(200, 2)) * [1.0, 300.0]
    y = x @ [1.0, 0.01] + rng.normal(size=200)
    data.write_text("a,b,y\n" + "".join(f"{r[0]},{r[1]},{t}\n" for r, t in zip(x, y, strict=True)))
    checkpoint, model = tmp_path / "ck.json", tmp_path / "model.json"
    flags = ["fit", str(data), "--target", "y", "--solver", "sgd", "--max-iter", "4000",
             "--random-state", "0", "--quiet"]
    # A checkpoint every epoch: writing it makes each epoch slow enough (milliseconds) that the
    # signal lands during the fit however fast the compiled epochs are.
    command = [sys.executable, "-m", "gradreg.cli", *flags, "--checkpoint", str(checkpoint),
               "--checkpoint-every", "1", "--model", str(model)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().startswith("gradreg: error: interrupted after ")
    assert " epochs (SIGINT); no output was written or replaced" in err
    assert err.strip().count("\n") == 0
    assert not model.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json", "data.csv"]
    # Resuming from the checkpoint it left ends exactly where an uninterrupted run does.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*flags, "--resume", str(checkpoint), "--model", str(model)]) == 0
        assert main([*flags, "--model", str(tmp_path / "straight.json")]) == 0
    resumed = json.loads(model.read_text())
    straight = json.loads((tmp_path / "straight.json").read_text())
    assert resumed["coef"] == straight["coef"] and resumed["intercept"] == straight["intercept"]


@pytest.mark.parametrize("magnitude", [1e200, 1e-200, 1e160, 1e-160])
def test_huge_and_tiny_magnitudes_are_fitted_correctly(magnitude):
    X, y = make_regression(200, 3, seed=4)
    coef, intercept = lstsq_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = GDRegressor().fit(X * magnitude, y * magnitude)
    # The scaled rows carry one rounding each (a relative eps the condition number amplifies,
    # well inside the bound of a fit from cross-products); the slopes are those of X.
    assert_fit_within_rounding(model.coef_, model.intercept_ / magnitude, X, coef, intercept,
                               certified=model.coef_error_bound_)
    assert np.all(np.isfinite(model.predict(X * magnitude)))


def test_huge_magnitudes_with_a_penalty_get_a_clear_error():
    X, y = make_regression(50, 2, seed=5)
    with pytest.raises(DataRangeError, match="overflow float64 when squared"):
        GDRegressor(penalty="l2", alpha=1.0).fit(X * 1e200, y)


def test_constant_and_collinear_columns_give_the_minimum_norm_solution():
    X, y = make_regression(100, 2, seed=6)
    design = np.c_[X, X[:, 0] * 2.0, np.full(100, 5.0)]
    with pytest.warns(GradregWarning, match=r"numerical rank 3 of 5"):
        model = GDRegressor().fit(design, y)
    # The predictions are those of the reduced design's optimum (by an SVD): within the
    # coefficients' bound (fit_rounding_bounds) times each row's sizes.
    coef, intercept = lstsq_fit(X, y)
    bounds, offset = fit_rounding_bounds(X, coef, intercept, certified=model.coef_error_bound_)
    assert_within(model.predict(design), X @ coef + intercept, np.abs(X) @ bounds + offset)
    assert model.coef_[3] == 0.0
    assert np.all(np.isfinite(model.coef_))


def test_constant_columns_are_reported_as_not_identifiable():
    X, y = make_regression(50, 2, seed=8)
    with pytest.warns(GradregWarning, match=r"column\(s\) \[1\] are constant"):
        model = GDRegressor().fit(np.c_[X[:, :1], np.full(50, 7.0), X[:, 1:]], y)
    assert model.coef_[1] == 0.0


def test_more_features_than_rows():
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(5, 12)), rng.normal(size=5)
    with pytest.warns(GradregWarning, match="rank deficient"):
        model = GDRegressor().fit(X, y)
    # Interpolates, within the rounding of a solve from cross-products, with the condition of
    # the span of the rows (the singular values above the rank cut), on the predictions' terms
    # (sized by the minimum-norm solution of an SVD).
    coef, intercept = lstsq_fit(X, y)
    singular = np.linalg.svd((X - X.mean(axis=0)) / X.std(axis=0), compute_uv=False)
    kept = singular[singular > singular[0] * X.size * EPS]
    bound = rounding_bound((kept[0] / kept[-1]) ** 2, 10, n_terms=len(y))
    bound += model.coef_error_bound_ * np.sqrt(X.shape[1])
    sizes = np.abs(X - X.mean(axis=0)) @ np.abs(coef) + abs(intercept) + np.abs(y)
    assert_within(model.predict(X), y, bound * sizes)


def test_memory_is_checked_before_reading_everything(tmp_path, monkeypatch):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "1,2\n" * 100)
    monkeypatch.setattr("gradreg._validation.available_memory", lambda: 10)
    code = main(["plot", str(data), "--target", "y", "--out", str(tmp_path / "p.png")])
    assert code == 1
    with pytest.raises(InsufficientMemoryError, match="Stream the data from files instead"):
        from gradreg.sources.files import read_all, scan

        read_all(scan(data, target="y"))
    assert os.listdir(tmp_path) == ["d.csv"]


def test_huge_magnitudes_on_the_data_route_are_rescaled_too():
    X, y = make_regression(200, 3, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = GDRegressor(route="data", max_iter=5000).fit(X * 1e200, y * 1e200)
    # Not certified on the data route: it stops when the gradient's norm has fallen by tol.
    # From zero that leaves |theta - theta*| <= cond(H) tol |theta*| in standardized units
    # (cond(H) = the standardized condition squared), besides the reference's rounding.
    condition = standardized_condition(X)
    spread, mean = X.std(axis=0), X.mean(axis=0)

    def standardized(coef, intercept):
        return np.r_[coef * spread, intercept + mean @ coef]

    coef, intercept = lstsq_fit(X, y)
    error = np.linalg.norm(standardized(model.coef_, model.intercept_ / 1e200)
                           - standardized(coef, intercept))
    bound = condition**2 * model.tol + rounding_bound(condition**2, 10, len(y))
    assert error <= bound * np.linalg.norm(standardized(coef, intercept))
