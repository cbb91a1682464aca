"""Model and checkpoint files written by someone hostile: only ModelFormatError escapes."""

import contextlib
import json
import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_regression
from gradreg import GDRegressor, InputFileError, ModelFormatError, load_model, persistence

# Example counts of the property tests below (reported with the suite).
MODEL_EXAMPLES = 300
CHECKPOINT_EXAMPLES = 60

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def model_text(tmp_path_factory):
    X, y = make_regression(40, 2, seed=3)
    path = tmp_path_factory.mktemp("model") / "model.json"
    GDRegressor(penalty="l2", alpha=0.1).fit(X, y).save(path)
    return path.read_text()


def write(tmp_path, text, name="model.json"):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path


@pytest.mark.parametrize(
    ("key", "raw", "match"),
    [
        ("intercept", "1" + "0" * 400, "integer of 401 digits"),
        ("n_iter", "null", r"'fit.n_iter' must be an integer; it holds null"),
        ("n_iter", "[1]", r"'fit.n_iter' must be an integer; it holds a list"),
        ("intercept", "1e400", r"'1e400', beyond float64's range"),
        ("intercept", "Infinity", "non-standard JSON number 'Infinity'"),
        ("intercept", "NaN", "non-standard JSON number 'NaN'"),
        ("intercept", "null", "'intercept' must be a number; it holds null"),
        ("n_iter", "-1", r"'fit.n_iter' must be in the range \[0, "),
        ("converged", "1", "'fit.converged' must be true or false"),
        ("lipschitz", '"big"', "'fit.lipschitz' must be a number"),
        ("stop_reason", "3", "'fit.stop_reason' must be a string"),
        ("solver", "3", "'params' is invalid: The 'solver' parameter of GDRegressor must be one"),
        ("n_features", "0", r"'n_features' must be in the range \[1, "),
        ("max_iter", "[5]", r"'params.max_iter' must be a string, number"),
        ("max_iter", "-5", r"The 'max_iter' parameter of GDRegressor must be an int"),
        ("mse", '"high"', "'fit.metrics.mse' must be a number"),
        ("fit_intercept", "null", "'params.fit_intercept' parameter|'preconditioner' is malformed"),
    ],
)
def test_hostile_values_name_their_field(tmp_path, model_text, key, raw, match):
    text, count = re.subn(rf'"{key}": [^,\n}}]+', f'"{key}": {raw}', model_text, count=1)
    assert count == 1
    with pytest.raises(ModelFormatError, match=match):
        load_model(write(tmp_path, text))


def test_deep_nesting_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFormatError, match="nests its JSON 100000 levels deep"):
        load_model(path)
    # Brackets inside strings do not count.
    path = write(tmp_path, json.dumps({"format": "[" * 1000}))
    with pytest.raises(ModelFormatError, match="is not a gradreg-model file"):
        load_model(path)


def test_size_is_limited_before_reading(tmp_path, model_text, monkeypatch):
    monkeypatch.setattr(persistence, "MAX_FILE_BYTES", 100)
    path = write(tmp_path, model_text)
    with pytest.raises(ModelFormatError, match=r"larger than any gradreg model file \(100 bytes"):
        load_model(path)


def test_paths_that_are_not_regular_files_are_refused_before_reading(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", "/dev/zero"):
        with pytest.raises(InputFileError, match="is not a regular file"):
            load_model(path)
    with pytest.raises(InputFileError, match="is a folder"):
        load_model(tmp_path)


def loads_or_refuses(path):
    """Load a model file; the only error allowed is ModelFormatError."""
    try:
        model = load_model(path)
    except ModelFormatError:
        return None
    assert isinstance(model, GDRegressor)
    return model


@settings(max_examples=MODEL_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=json_values)
def test_any_json_tree_is_refused_with_model_format_error(tmp_path, document):
    path = write(tmp_path, json.dumps(document))
    assert loads_or_refuses(path) is None


def _paths(document, prefix=()):
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _paths(value, (*prefix, index))


def replaced(document, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return copy


@settings(max_examples=MODEL_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_model_files_load_or_give_model_format_error(tmp_path, model_text, data):
    document = json.loads(model_text)
    kind = data.draw(st.sampled_from(["subtree", "bytes", "truncate"]))
    if kind == "subtree":
        where = data.draw(st.sampled_from(list(_paths(document))))
        text = json.dumps(replaced(document, where, data.draw(json_values)))
    elif kind == "bytes":
        raw = bytearray(model_text.encode())
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        text = bytes(raw)
    else:
        text = model_text[: data.draw(st.integers(0, len(model_text) - 1))]
    loads_or_refuses(write(tmp_path, text))


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------

CHECKPOINTED = [
    {"solver": "gd", "optimizer": "adam"},
    {"solver": "gd", "optimizer": "nesterov"},
    {"solver": "cg"},
    {"solver": "sgd", "optimizer": "momentum", "random_state": 0},
]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    X, y = make_regression(60, 3, condition=30.0, seed=4)
    folder = tmp_path_factory.mktemp("checkpoints")
    written = []
    for settings_ in CHECKPOINTED:
        path = folder / f"{settings_['solver']}-{settings_.get('optimizer')}.json"
        model = GDRegressor(max_iter=6, tol=1e-30, **settings_)
        with _quiet():
            model.fit(X, y, checkpoint=path, checkpoint_every=3)
        assert path.exists()
        written.append((settings_, path.read_text()))
    return X, y, written


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def resume_or_refuse(settings_, X, y, path):
    """Resume from a checkpoint; the only error allowed is ModelFormatError."""
    try:
        with _quiet():
            GDRegressor(max_iter=6, tol=1e-30, **settings_).fit(X, y, resume=path)
    except ModelFormatError:
        pass


def test_the_unmutated_checkpoints_resume(checkpoints, tmp_path):
    """So that the property test below mutates checkpoints that are accepted as written."""
    X, y, written = checkpoints
    for settings_, text in written:
        with _quiet():
            GDRegressor(max_iter=6, tol=1e-30, **settings_).fit(
                X, y, resume=write(tmp_path, text, "ck.json"))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.update(epoch=10**40), r"'state.epoch' must be in the range \[1, 6\]"),
        (lambda s: s.update(theta={"array": [0.0]}), r"'state.theta' must be an array of 4"),
        (lambda s: s.update(theta={"array": [1e308, "x", 0, 0]}), r"'state.theta' must be an "),
        (lambda s: s.update(theta={"array": [float("nan")] * 4}), r"'state.theta' must be finite"),
        (lambda s: s.update(rises=None), r"'state.rises' must be an integer"),
        (lambda s: s["history"]["dict"]["loss"]["tuple"].pop(),
         r"'state.history.loss' has \d+ values; epoch \d+ needs"),
        (lambda s: s.update(optimizer_state={"state": "TraceState", "fields": []}),
         r"'state.optimizer_state' must be a tuple"),
        (lambda s: s["optimizer_state"]["tuple"].__setitem__(0, {"state": "Evil", "fields": []}),
         r"'state.optimizer_state\[0\]' must be an optimizer state ScaleByAdamState"),
        (lambda s: s.update(extra=1), r"'state' must be an object with the fields"),
        (lambda s: s.update(step=float("inf")), r"'state.step' must be a finite number"),
    ],
)
def test_hostile_checkpoint_fields_are_named(checkpoints, tmp_path, change, match):
    X, y, written = checkpoints
    settings_, text = written[0]
    document = json.loads(text)
    change(document["state"]["dict"])
    path = write(tmp_path, json.dumps(document), "ck.json")
    with pytest.raises(ModelFormatError, match=match), _quiet():
        GDRegressor(max_iter=6, tol=1e-30, **settings_).fit(X, y, resume=path)


def test_a_bad_random_generator_state_is_refused(checkpoints, tmp_path):
    X, y, written = checkpoints
    settings_, text = written[3]
    document = json.loads(text)
    document["state"]["dict"]["rng"]["dict"]["state"]["dict"]["state"] = 2**127 * 3
    path = write(tmp_path, json.dumps(document), "ck.json")
    with pytest.raises(ModelFormatError, match="'state.rng"), _quiet():
        GDRegressor(max_iter=6, tol=1e-30, **settings_).fit(X, y, resume=path)


@settings(max_examples=CHECKPOINT_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_checkpoints_resume_or_give_model_format_error(checkpoints, tmp_path, data):
    X, y, written = checkpoints
    settings_, text = data.draw(st.sampled_from(written))
    document = json.loads(text)
    if data.draw(st.booleans()):
        where = data.draw(st.sampled_from(list(_paths(document))))
        mutated = json.dumps(replaced(document, where, data.draw(json_values)))
    else:
        mutated = text[: data.draw(st.integers(0, len(text) - 1))]
    resume_or_refuse(settings_, X, y, write(tmp_path, mutated, "ck.json"))


@pytest.mark.parametrize("route", ["stats", "data"])
def test_a_checkpoint_for_other_data_with_the_same_means_is_refused(tmp_path, route):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=80)
    other = X.copy()
    other[:, 1] = other[::-1, 1]  # same rows, weight sum, means and variances
    path = tmp_path / "ck.json"
    with _quiet():
        GDRegressor(solver="gd", optimizer="plain", max_iter=10, route=route).fit(
            X, y, checkpoint=path, checkpoint_every=5)
    with pytest.raises(ModelFormatError, match="written for other data"), _quiet():
        GDRegressor(solver="gd", optimizer="plain", max_iter=10, route=route).fit(
            other, y, resume=path)
    # The same data in another row order has the same statistics: full-batch resumes.
    order = rng.permutation(80)
    with _quiet():
        GDRegressor(solver="gd", optimizer="plain", max_iter=10, route=route).fit(
            X[order], y[order], resume=path)


def test_the_file_formats_import_no_face():
    """persistence and checkpoint read and write plain data; the estimator builds on them."""
    import ast
    from pathlib import Path

    import gradreg

    faces = {"estimator", "cli", "plotting", "progress", "_fitting"}
    for module in ("persistence", "checkpoint", "_atomic", "_outputs"):
        tree = ast.parse((Path(gradreg.__file__).parent / f"{module}.py").read_text())
        imported = {
            (node.module or "").lstrip(".").split(".")[0]
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names}
        assert not imported & faces, (module, imported & faces)
