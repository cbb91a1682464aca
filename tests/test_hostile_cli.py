"""Command-line faults found by attacking it as a user would: each ends in one line, the
documented exit code, and no file changed but the outputs asked for."""

import signal
import subprocess
import sys

import numpy as np
import pytest

from gradreg.cli import main

COMMAND = [sys.executable, "-m", "gradreg.cli"]


def _write_csv(path, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 2.0 * x + 1.0 + 0.1 * rng.normal(size=n)
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(),
                                                                       strict=True)))
    return path


def test_explore_refuses_to_overwrite_its_input_before_reading(capsys, tmp_path, monkeypatch):
    data = _write_csv(tmp_path / "data.csv", 50)
    before = data.read_bytes()
    monkeypatch.setattr("gradreg.sources.files.read_all",
                        lambda *a, **k: pytest.fail("the data were read"))
    code = main(["explore", str(data), "--target", "y", "--out", str(data)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("gradreg: error: --out ")
    assert "is the input" in err
    assert data.read_bytes() == before


def test_explore_refuses_an_output_folder_that_does_not_exist_before_reading(capsys, tmp_path,
                                                                            monkeypatch):
    data = _write_csv(tmp_path / "data.csv", 50)
    monkeypatch.setattr("gradreg.sources.files.read_all",
                        lambda *a, **k: pytest.fail("the data were read"))
    code = main(["explore", str(data), "--target", "y", "--out",
                 str(tmp_path / "missing" / "page.html")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1
    assert "--out: cannot write" in err and "does not exist" in err


def test_predictions_cut_off_by_a_closed_pipe_end_as_sigpipe_would(tmp_path):
    """A reader that leaves while a long output is being written (``| head -1``): the write
    returns short, and the rest must not be dropped with exit code 0. As a Unix tool killed
    by SIGPIPE: no message, exit code 128 + SIGPIPE."""
    data = _write_csv(tmp_path / "data.csv", 20_000)
    model = tmp_path / "model.json"
    assert main(["fit", str(data), "--target", "y", "--quiet", "--model", str(model)]) == 0
    process = subprocess.Popen([*COMMAND, "predict", str(model), str(data)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline() == b"prediction\n"  # the output has begun
    process.stdout.close()  # more than a pipe's buffer is still to come: the writer is blocked
    err = process.stderr.read().decode()
    process.wait(timeout=300)
    assert process.returncode == 128 + signal.SIGPIPE == 141, err
    assert err == ""
