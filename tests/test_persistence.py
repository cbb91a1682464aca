"""Model files: round trips, and every way a file can be wrong."""

import json
import os
import pickle

import numpy as np
import pytest

from conftest import make_regression
from gradreg import GDRegressor, InputFileError, ModelFormatError, load_model


@pytest.fixture
def fitted():
    X, y = make_regression(50, 3, seed=1)
    return GDRegressor(penalty="l2", alpha=0.1).fit(X, y), X


def test_round_trip_predicts_the_same(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.json"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_params() == {**model.get_params(), "callbacks": None}
    assert loaded.converged_ == model.converged_ and loaded.n_iter_ == model.n_iter_
    content = json.loads(path.read_text())
    assert content["format"] == "gradreg-model" and content["format_version"] == 1


def test_feature_names_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = make_regression(30, 2, seed=2)
    model = GDRegressor().fit(pd.DataFrame(X, columns=["a", "b"]), y)
    model.save(tmp_path / "m.json")
    assert list(load_model(tmp_path / "m.json").feature_names_in_) == ["a", "b"]


def corrupt(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


CORRUPTIONS = [
    (lambda d: d.update(format_version=99), r"format_version 99; this gradreg reads version 1"),
    (lambda d: d.update(format="other"), r"is not a gradreg-model file"),
    (lambda d: d["coef"].append(1.0), r"'coef' has 4 values but the model has 3 features"),
    (lambda d: d.update(coef=["x", 1, 2]), r"'coef' must be a list of numbers"),
    (lambda d: d.pop("intercept"), r"lacks the field\(s\) intercept"),
    (lambda d: d.update(extra=1), r"unknown field\(s\) extra"),
    (lambda d: d["preconditioner"].update(scale=[1.0, -1.0, 1.0]), r"scale' must be positive"),
    (lambda d: d["preconditioner"].pop("shift"), r"'preconditioner' lacks 'shift'"),
    (lambda d: d["params"].update(solver="magic"), r"'params' is invalid: The 'solver'"),
    (lambda d: d.update(feature_names=["a"]), r"'feature_names' must be 3 strings"),
    (lambda d: d.update(n_features="3"), r"'n_features' has the wrong type"),
]


@pytest.mark.parametrize(("change", "match"), CORRUPTIONS)
def test_malformed_fields_are_named(fitted, tmp_path, change, match):
    model, _ = fitted
    path = tmp_path / "model.json"
    model.save(path)
    corrupt(path, change)
    with pytest.raises(ModelFormatError, match=match):
        load_model(path)


def test_truncated_invalid_and_non_finite_files(fitted, tmp_path):
    model, _ = fitted
    path = tmp_path / "model.json"
    model.save(path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFormatError, match="not valid JSON .*truncated or corrupt"):
        load_model(path)
    path.write_text(text.replace('"intercept": ', '"intercept": NaN, "x": ', 1))
    with pytest.raises(ModelFormatError, match="non-standard JSON number 'NaN'"):
        load_model(path)
    path.write_text(text.replace('"intercept": ', '"intercept": Infinity, "x": ', 1))
    with pytest.raises(ModelFormatError, match="'Infinity'"):
        load_model(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelFormatError, match="not a text"):
        load_model(path)


class _RunsACommand:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    payload = _RunsACommand()
    payload.marker = marker
    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ModelFormatError, match="looks like a pickle file"):
        load_model(path)
    path.write_bytes(pickle.dumps(payload, protocol=0))
    with pytest.raises(ModelFormatError):
        load_model(path)
    assert not marker.exists()


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        load_model(tmp_path / "nope.json")
    with pytest.raises(InputFileError, match="is a folder"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.json")


def test_saving_is_atomic_and_keeps_the_old_file_on_failure(fitted, tmp_path, monkeypatch):
    model, _ = fitted
    path = tmp_path / "model.json"
    model.save(path)
    before = path.read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("gradreg.persistence.json.dumps", lambda *a, **k: "{" * 10)
    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_unwritable_destination(fitted, tmp_path):
    model, _ = fitted
    with pytest.raises(InputFileError, match="does not exist"):
        model.save(tmp_path / "missing" / "m.json")
    with pytest.raises(InputFileError, match="is a folder"):
        model.save(tmp_path)


def test_saving_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted yet"):
        GDRegressor().save(tmp_path / "m.json")


def test_written_files_get_ordinary_permissions(fitted, tmp_path):
    model, _ = fitted
    old = os.umask(0o022)
    try:
        model.save(tmp_path / "m.json")
    finally:
        os.umask(old)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644
