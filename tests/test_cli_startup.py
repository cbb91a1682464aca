"""How the gradreg command starts: ``python -m gradreg``, and only what a command needs imported.

The checks are on the set of modules imported, never on a time: the help, the version and the
usage errors must not import the heavy libraries that fitting needs.
"""

import json
import subprocess
import sys
import textwrap

import pytest

import gradreg
from gradreg import _choices
from gradreg.cli import main

# Libraries a fit, a plot or a formula needs, and that the help and the usage errors do not.
HEAVY = {"sklearn", "scipy", "numba", "matplotlib", "numpy", "pandas", "pyarrow", "formulaic",
         "plotly", "dask", "distributed"}

# Invocations answered from the command's options alone: help, version, errors of parsing.
LIGHT_INVOCATIONS = [
    ["--help"],
    ["--version"],
    ["fit", "--help"],
    ["summary", "--help"],
    ["frobnicate"],
    ["fit"],
    ["fit", "data.csv", "--solver", "newton"],
    ["fit", "data.csv", "--max-iter", "many"],
    ["predict", "model.json"],
    ["explore", "--version"],  # the global options after a command's name too
]


def _python(*args: str, check_rc: int | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)
    if check_rc is not None:
        assert result.returncode == check_rc, result.stderr
    return result


def test_python_m_gradreg_prints_the_version_as_the_console_script(capsys):
    assert main(["--version"]) == 0
    expected = capsys.readouterr().out
    result = _python("-m", "gradreg", "--version", check_rc=0)
    assert result.stdout == expected
    assert expected == f"gradreg, version {gradreg.__version__}\n"
    assert result.stderr == ""


def test_python_m_gradreg_help_names_itself_and_imports_nothing_heavy():
    # -X importtime lists every module the process imports, on standard error.
    result = _python("-X", "importtime", "-m", "gradreg", "--help", check_rc=0)
    assert result.stdout.startswith("Usage: python -m gradreg [OPTIONS] COMMAND [ARGS]...")
    assert "fit " in result.stdout and "predict " in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "gradreg" in imported and "click" in imported  # the listing was read
    assert not imported & HEAVY, sorted(imported & HEAVY)


def test_python_m_gradreg_exit_codes_and_error_lines(tmp_path):
    result = _python("-m", "gradreg", "frobnicate", check_rc=2)
    assert result.stderr == ("gradreg: error: No such command 'frobnicate'. "
                             "(see 'python -m gradreg --help')\n")
    assert result.stdout == ""
    missing = tmp_path / "missing.csv"
    result = _python("-m", "gradreg", "fit", str(missing), "--target", "y", check_rc=1)
    assert result.stderr == f"gradreg: error: No such file: {str(missing)!r}.\n"


def test_usage_error_hint_names_the_console_script(capsys):
    assert main(["fit"]) == 2
    assert capsys.readouterr().err == ("gradreg: error: Missing argument 'DATA...'. "
                                       "(see 'gradreg fit --help')\n")


def test_help_version_and_usage_errors_import_nothing_heavy(tmp_path):
    # One fresh process runs every invocation, noting the modules present after each: the
    # first one that imports a heavy library is named.
    report = tmp_path / "modules.json"
    script = textwrap.dedent(f"""
        import json, sys
        from gradreg.cli import main
        seen = []
        for argv in {LIGHT_INVOCATIONS!r}:
            code = main(argv)
            seen.append([argv, code, sorted({{m.split(".")[0] for m in sys.modules}})])
        with open({str(report)!r}, "w") as handle:
            json.dump(seen, handle)
    """)
    _python("-c", script, check_rc=0)
    seen = json.loads(report.read_text())
    assert [argv for argv, _, _ in seen] == LIGHT_INVOCATIONS
    for argv, code, modules in seen:
        assert code == (0 if "--help" in argv or "--version" in argv else 2), argv
        assert not set(modules) & HEAVY, (argv, sorted(set(modules) & HEAVY))


def test_the_option_names_are_the_registries_names():
    from gradreg.optim import OPTIMIZERS
    from gradreg.solvers import SOLVERS

    assert tuple(SOLVERS) == _choices.SOLVER_NAMES
    assert tuple(OPTIMIZERS) == _choices.OPTIMIZER_NAMES


def test_the_package_names_are_all_reachable():
    assert set(gradreg._ORIGINS) == set(gradreg.__all__)
    assert set(gradreg.__all__) <= set(dir(gradreg))
    namespace: dict = {}
    exec("from gradreg import *", namespace)
    for name in gradreg.__all__:
        assert namespace[name] is getattr(gradreg, name)
    from gradreg import GDRegressor
    from gradreg.estimator import GDRegressor as defined

    assert GDRegressor is defined


def test_a_submodule_is_an_attribute_of_the_package():
    import gradreg.inference

    assert gradreg.plotting.__name__ == "gradreg.plotting"
    assert gradreg.inference is sys.modules["gradreg.inference"]


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'gradreg' has no attribute 'frobnicate'"):
        _ = gradreg.frobnicate
    assert not hasattr(gradreg, "__frobnicate__")
