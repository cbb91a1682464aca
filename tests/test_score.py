"""``score(X)`` reads the target from X when X holds it (a formula's frame, a scanned file)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from conftest import rounding_bound
from gradreg import GDRegressor, scan
from gradreg.errors import ParameterError


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200),
                         "w": rng.uniform(0.5, 2.0, size=200)})
    data["y"] = 2 * data.a - data.b + rng.normal(size=200)
    return data


def test_a_formula_model_scores_its_frame_without_y(frame):
    model = GDRegressor(formula="y ~ a + b").fit(frame)
    expected = r2_score(frame.y, model.predict(frame))
    assert model.score(frame) == expected
    assert model.score(frame, frame.y) == expected


def test_a_scanned_source_scores_with_its_target_and_weights(frame, tmp_path):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    source = scan(path, formula="y ~ a + b", weights="w")
    model = GDRegressor().fit(source)
    predictions = model.predict(frame)
    assert model.score(source) == pytest.approx(
        r2_score(frame.y, predictions, sample_weight=frame.w), rel=0,
        # predictions of batches against those of the whole frame, then two sums of n terms
        abs=rounding_bound(1.0, 10, len(frame)))
    unweighted = scan(path, target="y", features=["a", "b"])
    assert model.score(unweighted) == pytest.approx(r2_score(frame.y, predictions), rel=0,
                                                    abs=rounding_bound(1.0, 10, len(frame)))


def test_score_without_y_or_a_target_in_x_is_refused(frame):
    model = GDRegressor().fit(frame[["a", "b"]], frame.y)
    with pytest.raises(ParameterError, match=r"score\(X\) without y needs the target in X"):
        model.score(frame[["a", "b"]])
