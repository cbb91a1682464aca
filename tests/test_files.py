"""CSV and Parquet sources: same fit as arrays, and errors naming file, line and column."""

import ast
import contextlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gradreg
from conftest import assert_fit_within_rounding, make_regression, rounding_bound
from gradreg import DataError, GDRegressor, InputFileError, scan


def write_csv(path, X, y, names=None):
    names = names or [f"x{i}" for i in range(X.shape[1])]
    lines = [",".join([*names, "y"])]
    lines += [",".join(repr(float(v)) for v in [*row, t]) for row, t in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_and_parquet_fit_like_arrays(tmp_path):
    X, y = make_regression(500, 3, seed=1)
    write_csv(tmp_path / "a.csv", X[:200], y[:200])
    write_csv(tmp_path / "b.csv", X[200:], y[200:])
    table = pa.table({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "y": y})
    pq.write_table(table, tmp_path / "all.parquet")
    expected = GDRegressor().fit(X, y)
    for paths in ([tmp_path / "a.csv", tmp_path / "b.csv"], str(tmp_path / "*.csv"),
                  tmp_path / "all.parquet"):
        model = GDRegressor().fit(scan(paths, target="y"))
        assert_fit_within_rounding(model.coef_, model.intercept_, X, expected.coef_,
                                   expected.intercept_, fits=2)
        assert list(model.feature_names_in_) == ["x0", "x1", "x2"]
    predictions = expected.predict(scan(tmp_path / "all.parquet", target="y"))
    # The same model on the same values: X @ coef summed over d terms, in another order.
    scale = np.abs(X) @ np.abs(expected.coef_) + abs(expected.intercept_)
    bound = rounding_bound(1.0, factor=10, n_terms=X.shape[1] + 1)
    assert np.all(np.abs(predictions - expected.predict(X)) <= bound * scale)


def test_a_folder_is_all_its_data_files(tmp_path):
    X, y = make_regression(100, 2, seed=2)
    write_csv(tmp_path / "part1.csv", X[:50], y[:50])
    write_csv(tmp_path / "part2.csv", X[50:], y[50:])
    (tmp_path / "notes.md").write_text("not data")
    source = scan(tmp_path, target="y", features=["x1"])
    assert source.n_rows == 100 and source.feature_names == ["x1"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,y\n1,2\n3,oops\n", r"line 3, column 'y': 'oops' is not a number"),
        ("a,y\n1,2\n\n3\n", r"line 4: expected 2 fields, got 1 \(a ragged line\)"),
        ("a,y\n1,2\n3,nan\n", r"line 3, column 'y': 'nan' is not a finite number"),
        ("a,y\n1,2\n3,\n", r"line 3, column 'y': missing value"),
        ("a,y\n1,inf\n", r"line 2, column 'y': 'inf' is not a finite number"),
        ("a,y\n1e999,2\n", r"line 2, column 'a': '1e999' is not a finite number"),
        ("a,y\n", r"hold\(s\) no data rows, only a header"),
        ("", r"is empty: expected a header line"),
        ("y\n1\n", r"has no feature column besides the target 'y'"),
    ],
)
def test_bad_csv_errors_name_the_place(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        GDRegressor().fit(scan(path, target="y"))


def test_unknown_columns_and_missing_paths(tmp_path):
    path = write_csv(tmp_path / "d.csv", np.ones((3, 2)), np.ones(3))
    with pytest.raises(DataError, match=r"Target column 'z' is not in .* columns are 'x0'"):
        scan(path, target="z")
    with pytest.raises(DataError, match=r"Feature column\(s\) 'q' not in"):
        scan(path, target="y", features=["q"])
    with pytest.raises(InputFileError, match="No such file"):
        scan(tmp_path / "none.csv", target="y")
    with pytest.raises(InputFileError, match="No file matches"):
        scan(str(tmp_path / "*.parquet"), target="y")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="holds no .csv or .parquet files"):
        scan(tmp_path / "empty", target="y")


def test_a_source_with_y_is_refused(tmp_path):
    path = write_csv(tmp_path / "d.csv", np.ones((3, 1)), np.arange(3.0))
    with pytest.raises(DataError, match="pass y=None"):
        GDRegressor().fit(scan(path, target="y"), np.ones(3))


def test_reading_progress_reports_rows_and_bytes(tmp_path, monkeypatch):
    X, y = make_regression(1000, 2, seed=3)
    table = pa.table({"x0": X[:, 0], "x1": X[:, 1], "y": y})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=100)
    seen = []
    source = scan(tmp_path / "d.parquet", target="y")
    stats_rows = sum(len(b[1]) for b in source._tracked(lambda rows, done: seen.append((rows,
                                                                                        done))))
    assert stats_rows == 1000 and seen[-1] == (1000, (tmp_path / "d.parquet").stat().st_size)
    assert all(a[1] <= b[1] for a, b in zip(seen, seen[1:], strict=False))


def test_unreadable_files_are_refused(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "d.csv", np.ones((3, 1)), np.arange(3.0))
    # Tests may run as root, which can read anything: ask os.access to say no instead.
    monkeypatch.setattr("gradreg.sources.files.os.access", lambda *args: False)
    with pytest.raises(InputFileError, match="permission denied"):
        scan(path, target="y")
    with pytest.raises(PermissionError):
        scan(path, target="y")


def test_readers_report_progress_through_the_callback_they_are_given(tmp_path, monkeypatch):
    X, y = make_regression(300, 2, seed=4)
    write_csv(tmp_path / "a.csv", X[:100], y[:100])
    write_csv(tmp_path / "b.csv", X[100:], y[100:])
    calls = []

    @contextlib.contextmanager
    def recorder(total_bytes):
        calls.append(("open", total_bytes))
        yield lambda rows, done: calls.append((rows, done))
        calls.append(("close", total_bytes))

    source = scan(tmp_path, target="y", progress=recorder)
    GDRegressor().fit(source)
    total = source.total_bytes
    assert calls[0] == ("open", total) and calls[-1] == ("close", total)
    assert calls[-2] == (300, total)
    # The estimator passes a progress bar when verbose, on a copy: the source is left as given.
    monkeypatch.setattr("gradreg.estimator.reading_progress", lambda verbose: recorder)
    calls.clear()
    plain = scan(tmp_path, target="y")
    GDRegressor(verbose=2).fit(plain)
    assert plain.progress is None and calls[0] == ("open", total)


def test_sources_import_no_face():
    faces = {"progress", "estimator", "cli", "plotting"}
    folder = Path(gradreg.__file__).parent / "sources"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[-1] not in faces, (path.name, node.module)


def test_a_source_with_a_target_too_is_refused(tmp_path):
    X, y = make_regression(50, 2, seed=1)
    write_csv(tmp_path / "d.csv", X, y)
    source = scan(tmp_path / "d.csv", target="y")
    with pytest.raises(DataError, match="the target comes from the source: pass y=None"):
        GDRegressor().fit(source, y)
    model = GDRegressor().fit(source)
    with pytest.raises(DataError, match="the target comes from the source: pass y=None"):
        model.summary("HC1", X=source, sample_weight=np.ones(50))


def test_predicting_files_of_other_columns_is_refused(tmp_path):
    """Columns in another order or of another number than the model's are named."""
    X, y = make_regression(50, 2, seed=9)
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "y": y}), tmp_path / "fit.parquet")
    pq.write_table(pa.table({"b": X[:, 1], "a": X[:, 0], "y": y}), tmp_path / "swapped.parquet")
    pq.write_table(pa.table({"a": X[:, 0], "y": y}), tmp_path / "narrow.parquet")
    model = GDRegressor().fit(scan(tmp_path / "fit.parquet", target="y"))
    with pytest.raises(DataError, match=r"The feature names should match those that were "
                                        r"passed during fit: the columns of the data in another "
                                        r"order; select them in fit's order \(fit saw 'a', "
                                        r"'b'\)\.$"):
        model.predict(scan(tmp_path / "swapped.parquet", target="y"))
    with pytest.raises(DataError, match=r"fit: 'b' missing from the data \(fit saw 'a', 'b'\)"):
        model.predict(scan(tmp_path / "narrow.parquet", target="y"))
