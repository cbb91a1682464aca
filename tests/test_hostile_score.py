"""``score(X)`` without y, and ``predict``, on frames and sources that lack or add columns."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from conftest import rounding_bound
from gradreg import GDRegressor, scan
from gradreg.errors import DataError


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120),
                         "w": rng.uniform(0.5, 2.0, size=120)})
    data["y"] = 2 * data.a - data.b + rng.normal(size=120)
    return data


@pytest.fixture
def weighted_model(frame, tmp_path):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return GDRegressor().fit(scan(path, formula="y ~ a + b", weights="w"))


def test_a_frame_without_the_target_column_is_a_data_error_naming_it(frame):
    model = GDRegressor(formula="y ~ a + b").fit(frame)
    with pytest.raises(DataError, match=r"target column 'y' of 'y ~ a \+ b' is not in the "
                                        r"data; its columns are 'a', 'b'\. Add it, or pass y"):
        model.score(frame[["a", "b"]])


def test_predictions_do_not_need_the_weight_column(frame, weighted_model):
    expected = weighted_model.predict(frame)
    np.testing.assert_array_equal(weighted_model.predict(frame[["a", "b"]]), expected)


def test_a_weighted_score_without_the_weight_column_is_a_data_error_naming_it(frame,
                                                                              weighted_model):
    assert weighted_model.score(frame) == r2_score(frame.y, weighted_model.predict(frame),
                                                   sample_weight=frame.w)
    with pytest.raises(DataError, match=r"weight column 'w' of the model is not in the data"):
        weighted_model.score(frame[["a", "b", "y"]])


def test_a_formula_model_predicts_and_scores_a_dask_frame(frame):
    dd = pytest.importorskip("dask.dataframe")
    model = GDRegressor(formula="y ~ a + b").fit(frame)
    lazy = dd.from_pandas(frame, npartitions=3)
    np.testing.assert_allclose(model.predict(lazy), model.predict(frame), rtol=0,
                               atol=rounding_bound(1.0, 4) * np.abs(frame.y).max())
    assert model.score(lazy) == pytest.approx(model.score(frame), rel=0,
                                              abs=rounding_bound(1.0, 10, len(frame)))


def test_scoring_a_source_keeps_no_more_than_a_batch_of_its_features(tmp_path, monkeypatch):
    """The target is read without the features: a file larger than memory can be scored."""
    monkeypatch.setattr("gradreg._estimator_predict._PREDICT_BATCH", 500)
    rng = np.random.default_rng(1)
    n, d = 20_000, 12
    X = rng.normal(size=(n, d))
    data = pd.DataFrame(X, columns=[f"x{i}" for i in range(d)]).assign(y=X.sum(axis=1))
    path = tmp_path / "data.parquet"
    data.to_parquet(path, row_group_size=500)
    source = scan(path, target="y")
    model = GDRegressor().fit(source)
    tracemalloc.start()
    try:
        score = model.score(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert score == pytest.approx(1.0, abs=1e-9)
    # A stream holds a few batches of the features (four allowed) and vectors of n values:
    # the target and the predictions, each as batches and then joined (four), and two
    # temporaries of R^2's sums. Keeping the features of all rows would add X.nbytes (1.9 MB)
    # to that (1.15 MB).
    vectors = 6 * n * 8
    batches = 4 * 500 * d * 8
    assert peak < vectors + batches < X.nbytes
