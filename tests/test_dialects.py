"""Files as people have them: one small file per CSV dialect and per fault.

Each case is written by the test and read three ways, through ``gradreg.scan``, the command line
and (where it applies) Dask. A dialect must give exactly the numbers written, and so the fit of
those numbers in memory; a fault must give one line naming the file, the column and the fault.
"""

from __future__ import annotations

import bz2
import datetime
import decimal
import gzip
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_fit_within_rounding, fit_rounding_bounds, sum_bound
from gradreg import DataError, GDRegressor, GradregError, load_model, scan
from gradreg.cli import main
from gradreg.sources.files import read_all

NAMES = ["x1", "x2", "y"]


def table(seed: int = 0, n: int = 12) -> np.ndarray:
    """Rows of (x1, x2, y), each written with at most six significant digits."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [1.0, 30.0] + [5.0, -2.0]
    y = X @ [1.5, -0.25] + 4.0 + rng.normal(size=n)
    return np.array([[float(f"{v:.6g}") for v in row] for row in np.c_[X, y]])


def csv_text(rows, names=NAMES, delimiter=",", decimal=".", header=True, quote=False,
             space="", newline="\n", bom=False, trailing_blank=0) -> str:
    def number(value):
        text = repr(float(value))
        return text.replace(".", decimal)

    lines = []
    if header:
        lines.append((delimiter + space).join(f'"{n}"' if quote else n for n in names))
    lines += [(delimiter + space).join(number(v) for v in row) for row in rows]
    text = newline.join(lines) + newline + newline * trailing_blank
    return ("\ufeff" if bom else "") + text


def zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(data)
    return sink.getvalue().to_pybytes()


@dataclass
class Case:
    """Files to write, how to read them, and the fit or one-line message expected."""

    files: dict  # name -> bytes, str or pyarrow Table (written as Parquet)
    options: dict = field(default_factory=dict)  # keyword arguments of scan
    target: str = "y"
    features: list | None = None
    error: str | None = None  # a regex; None: a fit of ROWS is expected
    cli_error: str | None = None  # the command line's, where it names options (default: error)
    dask: bool = True  # whether the Dask reader applies
    paths: list | None = None  # what is passed (default: the files, in order)

    def write(self, folder):
        for name, content in self.files.items():
            path = folder / name
            if isinstance(content, pa.Table):
                pq.write_table(content, path)
            elif isinstance(content, str):
                path.write_bytes(content.encode(self.options.get("encoding", "utf-8")))
            else:
                path.write_bytes(content)
        given = self.paths if self.paths is not None else list(self.files)
        return [str(folder / p) for p in given]

    def cli_options(self, features: bool = True) -> list[str]:
        args = []
        if self.options.get("delimiter"):
            args += ["--delimiter", self.options["delimiter"]]
        if "decimal" in self.options:
            args += ["--decimal", self.options["decimal"]]
        if self.options.get("header", 0) is None:
            args += ["--no-header"]
        if "encoding" in self.options:
            args += ["--encoding", self.options["encoding"]]
        if self.features and features:
            args += ["--features", ",".join(self.features)]
        return args


ROWS = table()
PLAIN = csv_text(ROWS)
HEADERLESS = csv_text(ROWS, header=False)
LATIN = ["température", "x2", "y"]

DIALECTS = {
    "comma": Case({"d.csv": PLAIN}),
    "semicolon": Case({"d.csv": csv_text(ROWS, delimiter=";")}),
    "tab": Case({"d.tsv": csv_text(ROWS, delimiter="\t")}),
    "pipe": Case({"d.txt": csv_text(ROWS, delimiter="|")}),
    "decimal comma": Case({"d.csv": csv_text(ROWS, delimiter=";", decimal=",")},
                          {"decimal": ","}),
    "decimal comma, tab": Case({"d.csv": csv_text(ROWS, delimiter="\t", decimal=",")},
                               {"decimal": ","}),
    "delimiter given": Case({"d.csv": csv_text(ROWS, delimiter="|")}, {"delimiter": "|"}),
    "spaces after delimiters": Case({"d.csv": csv_text(ROWS, space=" ")}),
    "quoted names": Case({"d.csv": csv_text(ROWS, quote=True)}),
    "quoted names after spaces": Case({"d.csv": csv_text(ROWS, quote=True, space=" ")}),
    "spreadsheet export (BOM, CRLF)": Case({"d.csv": csv_text(ROWS, bom=True, newline="\r\n")}),
    "blank lines at the end": Case({"d.csv": csv_text(ROWS, trailing_blank=3)}),
    "blank lines first": Case({"d.csv": "\n\r\n" + csv_text(ROWS, newline="\r\n")}),
    "no header": Case({"d.csv": HEADERLESS}, {"header": None}, target="3"),
    "no header, features by position": Case({"d.csv": HEADERLESS}, {"header": None},
                                            target="3", features=["1", "2"]),
    "latin-1": Case({"d.csv": csv_text(ROWS, names=LATIN)}, {"encoding": "latin-1"}),
    "gzip": Case({"d.csv.gz": gzip.compress(PLAIN.encode())}),
    "bzip2": Case({"d.csv.bz2": bz2.compress(csv_text(ROWS, delimiter=";").encode())}),
    "zstd": Case({"d.csv.zst": zstd(PLAIN.encode())}, dask=False),  # fsspec needs zstandard
    "two files, columns in other orders": Case({
        "a.csv": csv_text(ROWS[:5]),
        "b.csv": csv_text(ROWS[5:, [2, 0, 1]], names=["y", "x1", "x2"]),
    }),
    "two files, two dialects": Case({
        "a.csv": csv_text(ROWS[:5], delimiter=";"),
        "b.csv.gz": gzip.compress(csv_text(ROWS[5:], delimiter="\t", bom=True).encode()),
    }),
    "Parquet with decimal and boolean columns": Case({
        "d.parquet": pa.table({
            "x1": pa.array([decimal.Decimal(repr(float(v))) for v in ROWS[:, 0]],
                           pa.decimal128(20, 12)),
            "x2": ROWS[:, 1],
            "flag": pa.array(np.arange(len(ROWS)) % 3 == 0),
            "count": pa.array(np.arange(len(ROWS)), pa.int16()),
            "y": ROWS[:, 2],
        }),
    }, features=["x1", "x2"]),
}


def parquet_with(column) -> pa.Table:
    return pa.table({"x1": ROWS[:, 0], "x2": column, "y": ROWS[:, 2]})


N = len(ROWS)
START = datetime.datetime(2024, 1, 1)
FAULTS = {
    "numbers where names are expected": Case(
        {"d.csv": HEADERLESS},
        error=r"'.*d\.csv': its first line '[-0-9.e,]+' holds numbers, not column names\. If "
              r"the file has no header line, pass header=None; the columns are then named",
        cli_error=r"If the file has no header line, pass --no-header; the columns are then"),
    "decimal comma not declared": Case(
        {"d.csv": csv_text(ROWS, delimiter=";", decimal=",")},
        error=r"d\.csv', line 2, column 'x1': '[-0-9,]+' is not a number \(a decimal comma\? "
              r"pass decimal=','\)\.$",
        cli_error=r"\(a decimal comma\? pass --decimal ,\)\.$", dask=False),
    "decimal comma declared, decimal point written": Case(
        {"d.csv": PLAIN}, options={"decimal": ","},
        error=r"d\.csv', line 2, column 'x1': '[-0-9.e]+' is not a number \(a decimal point: "
              r"the file writes numbers with '\.', so leave decimal at its default \('\.'\)\)",
        cli_error=r"the file writes numbers with '\.', so leave out --decimal\)\.$", dask=False),
    "gzip suffix, plain content": Case(
        {"d.csv.gz": PLAIN}, error=r"d\.csv\.gz' is named \.gz but its content is text, not "
                                   r"gzip-compressed data"),
    "zstd suffix, gzip content": Case(
        {"d.csv.zst": gzip.compress(PLAIN.encode())},
        error=r"is named \.zst but its content is gzip-compressed data, not zstd"),
    "Parquet suffix, CSV content": Case(
        {"d.parquet": PLAIN},
        error=r"d\.parquet' is named \.parquet but its content is text, not Parquet data"),
    "CSV suffix, gzip content": Case(
        {"d.csv": gzip.compress(PLAIN.encode())},
        error=r"d\.csv' is named \.csv but its content is gzip-compressed data; rename"),
    "binary content": Case(
        {"d.txt": b"x1,x2\x00\x00\x01\x02y\n\x00"}, error=r"d\.txt' is not CSV text: it holds "
                                                          r"binary data"),
    "empty file": Case({"d.csv": ""}, error=r"d\.csv' is empty: expected a header line"),
    "empty second file": Case(
        {"a.csv": PLAIN, "b.csv": "\n\n"}, error=r"b\.csv' is empty: expected a header line"),
    "a file lacks a column": Case(
        {"p1.csv": PLAIN, "p2.csv": csv_text(ROWS[:, [0, 2]], names=["x1", "y"])},
        error=r"'.*p2\.csv' has no column 'x2', which '.*p1\.csv' has; its columns are 'x1', "
              r"'y'\. Pass only the files that belong together, give them the same columns, or "
              r"name the features to read \(features=\[\.\.\.\]\)\.$",
        cli_error=r"Pass only the files that belong together, give them the same columns, or "
                  r"name the features to read \(--features COL,\.\.\.\)\.$"),
    "a file has an extra column": Case(
        {"p1.csv": PLAIN, "p2.csv": csv_text(np.c_[ROWS, ROWS[:, 0]], names=[*NAMES, "z"])},
        error=r"p2\.csv' has column 'z', which '.*p1\.csv' lacks"),
    "a glob catches a non-data file": Case(
        {"p1.csv": PLAIN, "README.md": "# notes\n"}, paths=["*"],
        error=r"README\.md', matched by '.*\*', is not named as a CSV or Parquet file"),
    "a text column": Case(
        {"d.csv": "x1,name,y\n" + "".join(f"{r[0]!r},Ann,{r[2]!r}\n" for r in ROWS.tolist())},
        dask=False,
        error=r"d\.csv', line 2, column 'name': 'Ann' is not a number \(a text column\? encode "
              r"it as numbers, or leave it out: features=\[\.\.\.\]\)",
        cli_error=r"\(a text column\? encode it as numbers, or leave it out: --features "
                  r"COL,\.\.\.\)\.$"),
    "a ragged line": Case(
        {"d.csv": PLAIN + "1.0,2.0\n"}, error=rf"d\.csv', line {N + 2}: expected 3 fields, got "
                                             r"2 \(a ragged line\)", dask=False),
    "a missing value": Case(
        {"d.csv": PLAIN.replace("\n" + PLAIN.splitlines()[1].split(",")[0] + ",", "\n,", 1)},
        dask=False,
        error=r"d\.csv', line 2, column 'x1': missing value is not a finite number"),
    "a missing value in Parquet": Case(
        {"d.parquet": parquet_with(pa.array([None, *ROWS[1:, 1]]))}, dask=False,
        error=r"d\.parquet', row 1, column 'x2': missing value or NaN is not a finite number"),
    "text column in a second Parquet file": Case(
        {"a.parquet": parquet_with(ROWS[:, 1]),
         "b.parquet": parquet_with(pa.array([str(v) for v in ROWS[:, 1]]))},
        error=r"b\.parquet', column 'x2': type string cannot be fitted \(text is not a number; "
              r"encode it as numbers first, e\.g\. with sklearn\.preprocessing\.OneHotEncoder"),
    "dictionary column": Case(
        {"d.parquet": parquet_with(pa.array(["a", "b"] * (N // 2)).dictionary_encode())},
        error=r"column 'x2': type dictionary<values=string, indices=int32, ordered=0> cannot be "
              r"fitted \(categories are not numbers; encode"),
    "timestamp column": Case(
        {"d.parquet": parquet_with(pa.array([START + datetime.timedelta(days=i)
                                             for i in range(N)], pa.timestamp("ns")))},
        error=r"column 'x2': type timestamp\[ns\] cannot be fitted \(times are not numbers; "
              r"convert it to numbers first"),
    "date column": Case(
        {"d.parquet": parquet_with(pa.array([START.date()] * N, pa.date32()))},
        error=r"column 'x2': type date32\[day\] cannot be fitted \(times are not numbers"),
    "duration column": Case(
        {"d.parquet": parquet_with(pa.array([datetime.timedelta(seconds=i) for i in range(N)],
                                            pa.duration("s")))},
        error=r"column 'x2': type duration\[s\] cannot be fitted \(times are not numbers"),
    "list column": Case(
        {"d.parquet": parquet_with(pa.array([[1.0, 2.0]] * N))},
        error=r"column 'x2': type list<element: double> cannot be fitted \(nested values"),
    "binary column": Case(
        {"d.parquet": parquet_with(pa.array([b"ab"] * N))},
        error=r"column 'x2': type binary cannot be fitted \(bytes are not numbers\)"),
    "target of a headerless file by name": Case(
        {"d.csv": HEADERLESS}, {"header": None},
        error=r"Target column 'y' is not in '.*d\.csv'; its columns are '1', '2', '3'\."),
}


def expected_fit(rows):
    return GDRegressor().fit(rows[:, :2], rows[:, 2])


def certified(*models) -> float:
    """Where the descents stopped, as each fit certifies it (a relative 2-norm bound)."""
    return float(sum(np.sum(model.coef_error_bound_) for model in models))


def assert_same_fit(model, reference, rows=ROWS):
    """Two fits of the same numbers: each within the rounding of a fit from cross-products
    (the condition from an SVD of the rows' varying columns) and its certified bound; a
    constant column's coefficient is zero in both."""
    varying = rows[:, :2].std(axis=0) > 0
    np.testing.assert_array_equal(model.coef_[~varying], 0.0)
    np.testing.assert_array_equal(reference.coef_[~varying], 0.0)
    if not varying.any():  # the intercept alone: the mean of y, a sum of n rows
        y = rows[:, 2]
        assert abs(model.intercept_ - reference.intercept_) <= 2 * sum_bound(y, 10) / len(y)
        return
    assert_fit_within_rounding(model.coef_[varying], model.intercept_, rows[:, :2][:, varying],
                               reference.coef_[varying], reference.intercept_, fits=2,
                               certified=certified(model, reference))


@pytest.mark.parametrize("name", list(DIALECTS))
def test_dialects_read_exactly_the_numbers_written(tmp_path, name):
    case = DIALECTS[name]
    paths = case.write(tmp_path)
    source = scan(paths, target=case.target, features=case.features, **case.options)
    X, y = read_all(source)
    assert np.array_equal(np.c_[X, y], ROWS), "the parsed numbers differ from those written"
    model = GDRegressor().fit(source)
    assert_same_fit(model, expected_fit(ROWS))
    expected_names = case.features or [n for n in source.files[0].names if n != case.target]
    assert list(model.feature_names_in_) == expected_names


@pytest.mark.parametrize("name", list(FAULTS))
def test_faults_are_one_line_naming_the_file(tmp_path, name):
    case = FAULTS[name]
    paths = case.write(tmp_path)
    with pytest.raises(GradregError, match=case.error) as raised:
        GDRegressor().fit(scan(paths, target=case.target, features=case.features,
                               **case.options))
    assert "\n" not in str(raised.value)


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", list(DIALECTS))
def test_dialects_through_the_command_line(tmp_path, capsys, name):
    case = DIALECTS[name]
    paths = case.write(tmp_path)
    model_path = tmp_path / "model.json"
    code, _, err = run_cli(capsys, "fit", *paths, "--target", case.target, "--quiet",
                           "--model", model_path, *case.cli_options())
    assert code == 0, err
    reference = expected_fit(ROWS)
    model = load_model(model_path)
    bound, _ = fit_rounding_bounds(ROWS[:, :2], reference.coef_, reference.intercept_, fits=2,
                                   certified=certified(model, reference))
    assert np.all(np.abs(model.coef_ - reference.coef_) <= bound)
    # Predictions by the same options read the same rows.
    code, out, err = run_cli(capsys, "predict", model_path, *paths,
                             *case.cli_options(features=False))
    assert code == 0, err
    predictions = np.array(out.split()[1:], dtype=float)
    assert len(predictions) == len(ROWS)


@pytest.mark.parametrize("name", list(FAULTS))
def test_faults_through_the_command_line(tmp_path, capsys, name):
    case = FAULTS[name]
    paths = case.write(tmp_path)
    code, out, err = run_cli(capsys, "fit", *paths, "--target", case.target, "--quiet",
                             *case.cli_options())
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("gradreg: error: "), err
    assert re.search(case.cli_error or case.error, err.rstrip("\n")), err
    assert "FieldRef" not in err and "schema" not in err.lower()


def test_debug_shows_the_traceback_of_the_reader(tmp_path):
    case = FAULTS["gzip suffix, plain content"]
    paths = case.write(tmp_path)
    with pytest.raises(DataError, match="is named .gz"):
        main(["--debug", "fit", *paths, "--target", "y"])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"delimiter": ";;"}, r"The 'delimiter' parameter must be None \(sniffed\) or one "
                              r"character .* Got ';;' instead\."),
        ({"delimiter": ",", "decimal": ","}, r"'delimiter' parameter .* Got ',' instead"),
        ({"decimal": ";"}, r"The 'decimal' parameter must be one of \{'\.', ','\}\. Got ';'"),
        ({"header": 1}, r"The 'header' parameter must be 0 or 'infer' .* Got 1 instead\."),
        ({"encoding": "no-such-codec"}, r"The 'encoding' parameter must name a text encoding"),
    ],
)
def test_reading_options_are_checked(tmp_path, options, match):
    (tmp_path / "d.csv").write_text(PLAIN)
    with pytest.raises(ValueError, match=match):
        scan(tmp_path / "d.csv", target="y", **options)


def test_tab_is_written_as_backslash_t_on_the_command_line(tmp_path, capsys):
    (tmp_path / "d.csv").write_text(csv_text(ROWS, delimiter="\t"))
    code, _, err = run_cli(capsys, "fit", tmp_path / "d.csv", "--target", "y", "--quiet",
                           "--delimiter", "\\t")
    assert code == 0, err


# ---------------------------------------------------------------------------------------------
# Dask: the same files read by the workers
# ---------------------------------------------------------------------------------------------




@pytest.mark.parametrize("name", [n for n, c in DIALECTS.items() if c.dask])
def test_dialects_through_dask(tmp_path, client, name):
    from gradreg.sources.dask import read_files

    case = DIALECTS[name]
    paths = case.write(tmp_path)
    source = read_files(paths, case.target, case.features, **case.options)
    assert_same_fit(GDRegressor().fit(source), expected_fit(ROWS))


@pytest.mark.parametrize("name", [n for n, c in FAULTS.items() if c.dask])
def test_faults_through_dask(tmp_path, client, name):
    from gradreg.sources.dask import read_files

    case = FAULTS[name]
    paths = case.write(tmp_path)
    with pytest.raises(GradregError, match=case.error):
        GDRegressor().fit(read_files(paths, case.target, case.features, **case.options))


def test_dask_on_the_command_line(tmp_path, capsys, client):
    case = DIALECTS["spreadsheet export (BOM, CRLF)"]
    paths = case.write(tmp_path)
    model_path = tmp_path / "model.json"
    # The running cluster (--dask-workers would start one more, as --scheduler's path does).
    code, _, err = run_cli(capsys, "fit", *paths, "--target", "y", "--quiet", "--model",
                           model_path, "--scheduler", client.scheduler.address, "--decimal", ".")
    assert code == 0, err
    assert_same_fit(load_model(model_path), expected_fit(ROWS))


# ---------------------------------------------------------------------------------------------
# Random tables in random dialects
# ---------------------------------------------------------------------------------------------


@st.composite
def dialects(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal_mark = draw(st.sampled_from([".", ","]) if delimiter != "," else st.just("."))
    return {
        "delimiter": delimiter,
        "decimal": decimal_mark,
        "header": draw(st.booleans()),
        "quote": draw(st.booleans()),
        "space": draw(st.sampled_from(["", " "])),
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
        "bom": draw(st.booleans()),
        "trailing_blank": draw(st.integers(0, 2)),
        "compression": draw(st.sampled_from([None, "gz", "bz2", "zst"])),
        "given": draw(st.booleans()),  # whether the delimiter is passed or sniffed
    }


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dialect=dialects(), seed=st.integers(0, 2**32 - 1), n=st.integers(8, 40),
       digits=st.integers(1, 17))
def test_random_tables_in_random_dialects_fit_as_in_memory(tmp_path, dialect, seed, n, digits):
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, 3)) * rng.uniform(0.1, 100, 3) + rng.normal(0, 10, 3)
    rows = np.array([[float(f"{v:.{digits}g}") for v in row] for row in rows])
    text = csv_text(rows, delimiter=dialect["delimiter"], decimal=dialect["decimal"],
                    header=dialect["header"], quote=dialect["quote"], space=dialect["space"],
                    newline=dialect["newline"], bom=dialect["bom"],
                    trailing_blank=dialect["trailing_blank"]).encode()
    name = "t.csv"
    if dialect["compression"] == "gz":
        name, text = "t.csv.gz", gzip.compress(text)
    elif dialect["compression"] == "bz2":
        name, text = "t.csv.bz2", bz2.compress(text)
    elif dialect["compression"] == "zst":
        name, text = "t.csv.zst", zstd(text)
    path = tmp_path / f"{seed}-{name}"
    path.write_bytes(text)
    options = {"decimal": dialect["decimal"], "header": "infer" if dialect["header"] else None}
    if dialect["given"]:
        options["delimiter"] = dialect["delimiter"]
    source = scan(path, target="y" if dialect["header"] else "3", **options)
    X, y = read_all(source)
    # Decimal text is parsed exactly (correct rounding): the same float64 numbers.
    assert np.array_equal(np.c_[X, y], rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank or conditioning notes on short random tables
        reference = GDRegressor().fit(rows[:, :2], rows[:, 2])
        model = GDRegressor().fit(source)
    assert_same_fit(model, reference, rows)


def test_dask_partitions_of_unequal_sizes_line_up(client):
    da = pytest.importorskip("dask.array")
    X = np.c_[ROWS[:, :2]]
    model = GDRegressor().fit(da.from_array(X, chunks=((5, 7), (2,))),
                              da.from_array(ROWS[:, 2], chunks=4))
    assert_same_fit(model, expected_fit(ROWS))
    with pytest.raises(DataError, match=r"sample_weight must be 1-D with 12 values"):
        GDRegressor().fit(da.from_array(X, chunks=(5, 2)), da.from_array(ROWS[:, 2]),
                          sample_weight=da.ones(7))


def test_plot_reads_with_the_same_options(tmp_path, capsys):
    (tmp_path / "d.csv").write_text(csv_text(ROWS, header=False, delimiter=";", decimal=","))
    out = tmp_path / "line.png"
    code, _, err = run_cli(capsys, "plot", tmp_path / "d.csv", "--no-header", "--decimal", ",",
                           "--target", "3", "--features", "1", "--out", out)
    assert code == 0 and out.stat().st_size > 0, err


def test_bad_reading_options_are_usage_errors(tmp_path, capsys):
    (tmp_path / "d.csv").write_text(PLAIN)
    code, _, err = run_cli(capsys, "fit", tmp_path / "d.csv", "--target", "y", "--delimiter",
                           "ab")
    assert code == 2 and "The 'delimiter' parameter must be None (sniffed) or one" in err
    code, _, err = run_cli(capsys, "predict", tmp_path / "m.json", tmp_path / "d.csv",
                           "--encoding", "no-such-codec")
    assert code == 2 and "The 'encoding' parameter must name a text encoding" in err


def test_the_header_and_rows_are_parsed_by_one_reader(tmp_path, monkeypatch):
    """Python's csv module only locates a refused cell; it never reads names or rows."""
    def refuse(*args, **kwargs):
        raise AssertionError("the csv module was used on a file that reads cleanly")

    monkeypatch.setattr("gradreg.sources._dialect.csv.reader", refuse)
    case = DIALECTS["spreadsheet export (BOM, CRLF)"]
    source = scan(case.write(tmp_path), target="y")
    assert source.feature_names == ["x1", "x2"]
    assert_same_fit(GDRegressor().fit(source), expected_fit(ROWS))


def test_reading_options_apply_to_formulas_too(tmp_path):
    (tmp_path / "d.csv").write_text(csv_text(ROWS, delimiter=";", decimal=","))
    (tmp_path / "e.csv").write_text(csv_text(ROWS))
    by_formula = GDRegressor().fit(scan(tmp_path / "d.csv", formula="y ~ x1",
                                        delimiter=";", decimal=","))
    plain = GDRegressor().fit(scan(tmp_path / "e.csv", target="y", features=["x1"]))
    # Same numbers read through either path: the fits differ by their certified bounds only.
    spread = np.array([np.std([row[0] for row in ROWS])])
    difference = np.abs((by_formula.coef_ - plain.coef_) * spread) / np.abs(plain.coef_ * spread)
    assert difference.max() <= by_formula.coef_error_bound_ + plain.coef_error_bound_
