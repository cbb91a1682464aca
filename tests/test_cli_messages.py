"""What the command line says: global options after a command's name, parameters named as the
options that set them, missing columns and the delimiter they suggest, one line each."""

import re

import numpy as np
import pytest

from gradreg import GDRegressor, GradregError, MissingFileError, ParameterError, scan
from gradreg._cli_names import OPTIONS, as_typed
from gradreg.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_csv(path, names, rows, delimiter=","):
    path.write_text(delimiter.join(names) + "\n" + "".join(
        delimiter.join(repr(float(v)) for v in row) + "\n" for row in rows))
    return path


@pytest.fixture
def abcy(tmp_path):
    """a,b,c,y: 40 rows of y = a + 2b - c + 1 plus noise."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 2.0, -1.0] + 1.0 + 0.1 * rng.normal(size=40)
    return write_csv(tmp_path / "abcy.csv", ["a", "b", "c", "y"], np.c_[X, y])


# ---------------------------------------------------------------------------------------------
# Global options after the command's name
# ---------------------------------------------------------------------------------------------

# Each command, with arguments that fail on a file that does not exist.
FAILING = {
    "demo": None,  # reads the bundled data: its failure is an output folder it cannot create
    "fit": ["fit", "missing.csv", "--target", "y"],
    "summary": ["summary", "missing.json"],
    "predict": ["predict", "missing.json", "missing.csv"],
    "plot": ["plot", "missing.csv", "--target", "y", "--out", "{tmp}/p.png"],
    "explore": ["explore", "missing.csv", "--target", "y", "--out", "{tmp}/e.html"],
}


@pytest.mark.parametrize("command", [c for c, args in FAILING.items() if args])
def test_debug_after_the_command_shows_the_traceback(tmp_path, command):
    args = [a.format(tmp=tmp_path) for a in FAILING[command]]
    with pytest.raises(GradregError, match="does not exist|No such file"):
        main([*args, "--debug"])
    with pytest.raises(GradregError, match="does not exist|No such file"):
        main(["--debug", *args])


def test_debug_after_the_fit_options(capsys):
    with pytest.raises(MissingFileError, match="No such file: 'missing_file.csv'"):
        main(["fit", "missing_file.csv", "--target", "y", "--debug"])


@pytest.mark.parametrize("command", list(FAILING))
def test_version_after_the_command(capsys, command):
    code, out, err = run(capsys, command, "--version")
    assert (code, err) == (0, "")
    assert out.startswith("gradreg, version ")


def test_debug_after_double_dash_is_an_operand(capsys):
    code, _, err = run(capsys, "fit", "--target", "y", "--", "--debug")
    assert code == 1
    assert err == "gradreg: error: No such file: '--debug'.\n"


# ---------------------------------------------------------------------------------------------
# Parameters named as options
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "typed"), [
    ("The 'max_iter' parameter of GDRegressor must be an int in the range [1, inf). Got 0 "
     "instead.", "--max-iter must be an int in the range [1, inf). Got 0 instead."),
    ("use standardize=True or learning_rate='auto'", "use --standardize or --learning-rate auto"),
    ("set solver='gd'; otherwise leave batch_size at its default (32).",
     "set --solver gd; otherwise leave out --batch-size."),
    ("Refit with penalty=None to", "Refit without --penalty to"),
    ("set line_search=False", "leave out --line-search"),
    ("set penalty='l2', 'l1' or 'elasticnet'", "set --penalty l2, l1 or elasticnet"),
    ("tol=None, fit_intercept=False, standardize=False",
     "--tol none, --no-intercept, --no-standardize"),
    ("pass header=None", "pass --no-header"),
    ("pass delimiter=';' to read them", "pass --delimiter ';' to read them"),
    ("pass delimiter='\\t' to", "pass --delimiter '\\t' to"),
    ("leave it out: features=[...])", "leave it out: --features COL,...)"),
    ("cov_type='HC0' needs", "--cov-type HC0 needs"),
    # Quoted names (columns, files) and parameters no option sets are left as they are.
    ("'solver=gd.csv' is empty; in fit's order 'max_iter' and batch_size",
     "'solver=gd.csv' is empty; in fit's order 'max_iter' and --batch-size"),
    ("shuffle=False was set", "shuffle=False was set"),
])
def test_messages_name_the_options(text, typed):
    assert as_typed(text) == typed


def test_every_option_named_is_an_option_of_a_command(capsys):
    helps = "".join(run(capsys, command, "--help")[1] for command in FAILING)
    for option in OPTIONS.values():
        for name in filter(None, (option.flag_name, option.off)):
            assert re.search(rf"{name}\b", helps), name


def test_library_messages_keep_the_python_names():
    X = np.c_[np.arange(10.0)]
    with pytest.raises(ParameterError, match=r"^solver='cg' has no learning rate, but "
                                             r"learning_rate=0\.1 was set.* leave learning_rate "
                                             r"at its default \('auto'\)\.$"):
        GDRegressor(solver="cg", learning_rate=0.1).fit(X, X[:, 0])


# (flags, what the one line says); each also says nothing in Python's spelling.
SETTINGS = [
    (["--learning-rate", "-1"], "Invalid value for --learning-rate: must be 'auto' or a "
                                "positive number, got '-1'"),
    (["--solver", "cg", "--learning-rate", "0.1"],
     "--solver cg has no learning rate, but --learning-rate 0.1 was set: conjugate gradient "
     "takes the exact minimising step along each direction. To use it, set --solver gd or "
     "--solver auto to descend at that rate; to use conjugate gradient, leave out "
     "--learning-rate."),
    (["--batch-size", "10"], "--batch-size 10 was set, but only --solver sgd uses it, and this "
                             "fit runs --solver cg (--solver auto: no learning rate set). To use "
                             "it, set --solver sgd; otherwise leave out --batch-size."),
    (["--line-search", "--solver", "sgd"], "To use it, set --solver gd and --optimizer plain or "
                                           "nesterov; otherwise leave out --line-search."),
    (["--penalty", "l1", "--optimizer", "adam"],
     "--penalty l1 with --solver gd needs --optimizer plain or nesterov"),
    (["--penalty", "l2", "--alpha", "0.1", "--summary"],
     "this model has --penalty l2 with --alpha 0.1: ridge"),
    (["--random-state", "-1"], "Invalid value for '--random-state': -1 is not in the range x>=0"),
    (["--momentum", "2"], "--momentum must be a float in the range [0.0, 1.0). Got 2.0 instead."),
]
PYTHON_SPELLING = re.compile(
    r"\b(" + "|".join(OPTIONS) + r")=|parameter of GDRegressor|callable|\bNone\b|\bTrue\b")


@pytest.mark.parametrize(("flags", "said"), SETTINGS)
def test_usage_errors_name_the_options(capsys, abcy, flags, said):
    code, out, err = run(capsys, "fit", abcy, "--target", "y", "--quiet", *flags)
    assert code == 2 and out == ""
    assert err.startswith("gradreg: error: ") and err.count("\n") == 1
    assert said in err
    assert not PYTHON_SPELLING.search(err), err


def test_warnings_and_the_report_name_the_options(capsys, abcy):
    code, out, err = run(capsys, "fit", abcy, "--target", "y", "--quiet", "--no-standardize",
                         "--solver", "gd", "--optimizer", "plain", "--learning-rate", "0.001",
                         "--max-iter", "3")
    assert code == 0, err
    lines = err.splitlines()
    assert lines and all(line.startswith("gradreg: warning: ") for line in lines), err
    assert "did not converge: --max-iter 3 reached" in err
    assert "--standardize" in err and "--solver cg" in err
    assert "solver choice     gd (--solver gd)" in out
    assert not PYTHON_SPELLING.search(err + out), err + out


# ---------------------------------------------------------------------------------------------
# Missing columns
# ---------------------------------------------------------------------------------------------

def test_predict_names_the_columns_a_formula_model_lacks(capsys, tmp_path, abcy):
    """Once a traceback of formulaic's."""
    model = tmp_path / "m.json"
    assert main(["fit", str(abcy), "--formula", "y ~ a + b + C(c)", "--quiet",
                 "--model", str(model)]) == 0
    narrow = write_csv(tmp_path / "narrow.csv", ["a"], [[1.0], [2.0]])
    capsys.readouterr()
    code, out, err = run(capsys, "predict", model, narrow)
    assert (code, out) == (1, "")
    assert err == ("gradreg: error: The formula 'y ~ a + b + C(c)' reads the column(s) 'b', "
                   "'c', not in the data; its columns are 'a'.\n")


def test_predict_names_the_columns_a_model_lacks(capsys, tmp_path, abcy):
    model = tmp_path / "m.json"
    assert main(["fit", str(abcy), "--target", "y", "--quiet", "--model", str(model)]) == 0
    narrow = write_csv(tmp_path / "narrow.csv", ["a", "b", "y"], [[1.0, 2.0, 3.0]])
    capsys.readouterr()
    code, out, err = run(capsys, "predict", model, narrow)
    assert (code, out) == (1, "")
    assert err == (f"gradreg: error: Feature column(s) 'c' not in {str(narrow)!r}; its columns "
                   "are 'a', 'b', 'y'.\n")


def test_a_formula_naming_a_column_the_file_lacks(capsys, abcy):
    code, _, err = run(capsys, "fit", abcy, "--formula", "y ~ a + zz + C(q)", "--quiet")
    assert code == 1
    assert err == (f"gradreg: error: The formula 'y ~ a + zz + C(q)' reads the column(s) 'zz', "
                   f"'q', not in {str(abcy)!r}; its columns are 'a', 'b', 'c', 'y'.\n")


# ---------------------------------------------------------------------------------------------
# A delimiter the column names suggest
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "given", "typed"), [
    (",", ";", "--delimiter ,"), (";", ",", "--delimiter ';'"), ("\t", ",", "--delimiter '\\t'"),
    ("|", ";", "--delimiter '|'"),
])
def test_a_wrong_delimiter_is_named(capsys, tmp_path, written, given, typed):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, 3], [2, 1, 4]], written)
    header = written.join(["a", "b", "y"])
    hint = f"The column name {header!r} holds {written!r}: if that separates the fields, pass"
    code, _, err = run(capsys, "fit", data, "--target", "y", "--delimiter", given, "--quiet")
    assert code == 1 and err.count("\n") == 1
    assert f"{hint} {typed} to read them." in err
    with pytest.raises(GradregError) as raised:
        scan(data, target="y", delimiter=given)
    assert str(raised.value).endswith(f"{hint} delimiter={written!r} to read them.")


@pytest.mark.parametrize("args", [
    ["--formula", "y ~ a + b"], ["--target", "y", "--categorical", "a"],
    ["--target", "y", "--weights", "a"], ["--target", "y", "--features", "a,b"],
])
def test_every_column_lookup_suggests_the_delimiter(capsys, abcy, args):
    code, _, err = run(capsys, "fit", abcy, *args, "--delimiter", ";", "--quiet")
    assert code in (1, 2) and err.count("\n") == 1
    assert "The column name 'a,b,c,y' holds ',': if that separates the fields, pass " \
           "--delimiter , to read them." in err


def test_no_delimiter_is_suggested_by_ordinary_names(capsys, abcy):
    code, _, err = run(capsys, "fit", abcy, "--target", "nope", "--quiet")
    assert code == 1
    assert err == (f"gradreg: error: Target column 'nope' is not in {str(abcy)!r}; its columns "
                   "are 'a', 'b', 'c', 'y'.\n")


def test_files_of_other_columns_say_what_to_do(capsys, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    write_csv(folder / "offset.csv", ["a", "t", "y"], [[1, 2, 3], [2, 2, 3], [3, 1, 4]])
    write_csv(folder / "part1.csv", ["a", "y"], [[1, 2], [2, 3], [3, 5]])
    code, _, err = run(capsys, "fit", folder, "--target", "y", "--quiet")
    assert code == 1
    assert err.endswith("has no column 't', which "
                        f"{str(folder / 'offset.csv')!r} has; its columns are 'a', 'y'. Pass "
                        "only the files that belong together, give them the same columns, or "
                        "name the features to read (--features COL,...).\n")
    code, _, err = run(capsys, "fit", folder, "--target", "t", "--quiet")
    assert err.endswith("Pass only the files that belong together, or give them the same "
                        "columns.\n")



def test_summary_reads_data_with_the_reading_options_its_hint_names(capsys, tmp_path, abcy):
    """The delimiter hint names --delimiter: summary, which reads DATA for the HC types, has
    it (and the other reading options) as fit and predict do."""
    model = tmp_path / "m.json"
    assert main(["fit", str(abcy), "--target", "y", "--quiet", "--model", str(model)]) == 0
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(abcy.read_text().replace(",", ";"))
    capsys.readouterr()
    code, out, err = run(capsys, "summary", model, semicolons, "--target", "y", "--cov-type",
                         "HC1", "--delimiter", ",")
    assert code == 1
    assert err.endswith("The column name 'a;b;c;y' holds ';': if that separates the fields, "
                        "pass --delimiter ';' to read them.\n")
    code, out, err = run(capsys, "summary", model, semicolons, "--target", "y", "--cov-type",
                         "HC1", "--delimiter", ";")
    assert (code, err) == (0, "")
    expected = run(capsys, "summary", model, abcy, "--target", "y", "--cov-type", "HC1")[1]
    assert out == expected  # the same numbers read, the same table


def test_summary_refuses_reading_options_without_data(capsys, tmp_path, abcy):
    model = tmp_path / "m.json"
    assert main(["fit", str(abcy), "--target", "y", "--quiet", "--model", str(model)]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, "summary", model, "--delimiter", ";")
    assert (code, out) == (2, "")
    assert err.startswith("gradreg: error: --delimiter, --decimal, --no-header and --encoding "
                          "say how to read DATA, which only the HC types of --cov-type read.")
