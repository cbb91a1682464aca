"""Formulas under hostile input: odd names, empty files and frames, weights in files, formulas
that are not models, and Dask frames with empty partitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import rounding_bound
from gradreg import GDRegressor, scan
from gradreg.errors import DataError, GradregError, ParameterError
from gradreg.formula import FormulaSyntaxError


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    n = 60
    data = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n),
                         "w": rng.uniform(0.5, 2.0, n)})
    data["y"] = 1.0 + 2.0 * data.x + data.g.map({"a": 0.0, "b": 1.0, "c": -1.0})
    data["y"] += rng.normal(0.0, 0.3, n)
    return data


def reference(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None):
    """Weighted least squares with an intercept by an SVD solve on centred, equilibrated
    columns; and the bound a normal-equations solver meets, 10 x (p+1) x kappa^2 x eps (kappa:
    the condition number of that centred design, rows scaled by sqrt(w))."""
    w = np.ones(len(y)) if w is None else w
    root = np.sqrt(w / w.sum())
    centred = (X - np.average(X, axis=0, weights=w)) * root[:, None]
    scale = np.sqrt((centred**2).sum(axis=0))
    target = (y - np.average(y, weights=w)) * root
    solution, *_ = np.linalg.lstsq(centred / scale, target, rcond=None)
    singular = np.linalg.svd(centred / scale, compute_uv=False)
    bound = rounding_bound((singular[0] / singular[-1]) ** 2, 10 * (X.shape[1] + 1))
    return solution / scale, bound


def relative(actual, expected) -> float:
    return float(np.max(np.abs(np.asarray(actual) - expected)) / np.max(np.abs(expected)))


def design(data: pd.DataFrame) -> np.ndarray:
    """``y ~ x + g`` by hand: x and the indicators of levels b and c (a is the reference)."""
    return np.c_[data.x, data.g == "b", data.g == "c"].astype(float)


def test_an_empty_csv_first_does_not_turn_numeric_columns_into_factors(frame, tmp_path):
    # An empty CSV's columns have no type; taken as the sample, x looked categorical.
    frame.iloc[:0].to_csv(tmp_path / "a.csv", index=False)
    frame.to_csv(tmp_path / "b.csv", index=False)
    model = GDRegressor().fit(scan([tmp_path / "a.csv", tmp_path / "b.csv"],
                                   formula="y ~ x + g"))
    assert list(model.feature_names_in_) == ["x", "g[T.b]", "g[T.c]"]
    expected, bound = reference(design(frame), frame.y.to_numpy())
    assert relative(model.coef_, expected) <= bound


def test_only_empty_files_say_so(frame, tmp_path):
    frame.iloc[:0].to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match="hold\\(s\\) no data rows"):
        scan(tmp_path / "a.csv", formula="y ~ x + g")


def test_an_empty_cell_of_a_text_column_in_a_csv_is_missing_not_a_level(frame, tmp_path):
    frame.loc[4, "g"] = None
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match="Row 5, column 'g': missing value"):
        GDRegressor().fit(scan(tmp_path / "a.csv", formula="y ~ x + g"))


def test_unicode_column_names_are_read_from_files(frame, tmp_path):
    frame.rename(columns={"x": "größe"}).to_csv(tmp_path / "a.csv", index=False)
    model = GDRegressor().fit(scan(tmp_path / "a.csv", formula="y ~ größe + g"))
    assert list(model.feature_names_in_) == ["größe", "g[T.b]", "g[T.c]"]
    expected, bound = reference(design(frame), frame.y.to_numpy())
    assert relative(model.coef_, expected) <= bound


def test_weight_column_in_a_file_is_weighted_least_squares(frame, tmp_path):
    frame.to_csv(tmp_path / "a.csv", index=False)
    model = GDRegressor().fit(scan(tmp_path / "a.csv", formula="y ~ x + g", weights="w"))
    expected, bound = reference(design(frame), frame.y.to_numpy(), frame.w.to_numpy())
    assert relative(model.coef_, expected) <= bound


@pytest.mark.parametrize("value, message", [
    (-1.0, "Row 3, column 'w' of .*a.csv': weight -1.0 is negative"),
])
def test_negative_weights_in_a_file_are_refused(frame, tmp_path, value, message):
    frame.loc[2, "w"] = value
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=message):
        GDRegressor().fit(scan(tmp_path / "a.csv", formula="y ~ x", weights="w"))


def test_weights_in_a_file_that_sum_to_zero_are_refused(frame, tmp_path):
    frame.assign(w=0.0).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match="weights in column 'w' .* sum to zero"):
        GDRegressor().fit(scan(tmp_path / "a.csv", formula="y ~ x", weights="w"))


def test_a_formula_without_a_left_side_is_a_syntax_error(frame):
    with pytest.raises(FormulaSyntaxError, match="must name the target on the left of '~'"):
        GDRegressor(formula="~ x").fit(frame)


def test_the_dot_shorthand_is_refused_with_advice(frame):
    with pytest.raises(FormulaSyntaxError, match="'.' \\(all other columns\\) is not supported"):
        GDRegressor(formula="y ~ .").fit(frame)


@pytest.mark.parametrize("formula", ["y ~ y", "y ~ x + y", "y ~ x + I(2 * y)"])
def test_the_target_on_the_right_side_is_refused(frame, formula):
    with pytest.raises(ParameterError, match="The target 'y' also appears on the right side"):
        GDRegressor(formula=formula).fit(frame)


def test_a_level_named_like_the_target_is_not_the_target(frame):
    data = frame.assign(g=frame.g.replace({"b": "y"}))
    model = GDRegressor(formula="y ~ x + C(g, Treatment(reference='y'))").fit(data)
    assert model.n_features_in_ == 3


def test_a_treatment_reference_that_is_not_a_level_is_a_data_error(frame):
    with pytest.raises(DataError,
                       match="Cannot build the design .*'zz'.* is not among the provided levels"):
        GDRegressor(formula="y ~ C(g, Treatment(reference='zz'))").fit(frame)


def test_an_empty_data_frame_is_a_data_error(frame):
    with pytest.raises(DataError, match="holds no data rows"):
        GDRegressor(formula="y ~ x + g").fit(frame.iloc[:0])


def test_an_unseen_integer_level_is_shown_as_a_plain_number(frame):
    data = frame.assign(k=np.arange(len(frame)) % 3)
    model = GDRegressor(formula="y ~ C(k)").fit(data)
    with pytest.raises(DataError, match="level 7 was not seen in training; known levels: "
                                        "\\[0, 1, 2\\]"):
        model.predict(data.assign(k=7))


def test_every_formula_error_is_a_gradreg_error(frame):
    for formula in ["~ x", "y ~ .", "y ~ C(g, Treatment(reference='zz'))", "y ~ (x"]:
        with pytest.raises(GradregError):
            GDRegressor(formula=formula).fit(frame)


def test_a_dask_frame_with_an_empty_partition(frame):
    dd = pytest.importorskip("dask.dataframe")
    import dask

    parts = dd.from_pandas(frame, npartitions=3)
    first = parts.divisions[1]
    holey = parts.map_partitions(lambda p: p[p.index >= first])  # the first partition empty
    with dask.config.set(scheduler="synchronous"):
        model = GDRegressor(formula="y ~ x + g").fit(holey)
    kept = frame[frame.index >= first]
    expected, bound = reference(design(kept), kept.y.to_numpy())
    assert relative(model.coef_, expected) <= bound


def test_predict_on_scanned_files_uses_the_models_design(frame, tmp_path):
    # The new file holds levels a and b only: its own first pass would drop the column of c.
    frame.to_csv(tmp_path / "train.csv", index=False)
    new = frame[frame.g != "c"]
    new.to_csv(tmp_path / "new.csv", index=False)
    model = GDRegressor().fit(scan(tmp_path / "train.csv", formula="y ~ x + g"))
    predicted = model.predict(scan(tmp_path / "new.csv", formula="y ~ x + g"))
    expected = design(new) @ model.coef_ + model.intercept_
    # Products of rows of 3 terms and the intercept, in any order: 10 roundings of 3 terms.
    np.testing.assert_allclose(predicted, expected, rtol=0, atol=rounding_bound(1.0, 10, 3)
                               * np.max(np.abs(design(new)) @ np.abs(model.coef_)
                                        + abs(model.intercept_)))


@pytest.mark.parametrize("levels", [{"g": "abc"}, {"g": 3}])
def test_levels_must_be_a_list_per_column(frame, levels, tmp_path):
    # A string would be split into one level per character.
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(ParameterError, match=r"levels\['g'\] must be a list of the column's "
                                             r"levels, as in \{'g': \['a', 'b'\]\}; got "):
        scan(tmp_path / "a.csv", formula="y ~ x + g", levels=levels)


def test_dask_weights_of_the_wrong_length_are_named():
    da = pytest.importorskip("dask.array")
    X, y = da.ones((10, 2), chunks=5), da.ones(10, chunks=5)
    with pytest.raises(DataError, match=r"sample_weight must be 1-D with 10 values \(one per "
                                        r"row\); got shape \(8,\)"):
        GDRegressor().fit(X, y, sample_weight=da.ones(8, chunks=4))
