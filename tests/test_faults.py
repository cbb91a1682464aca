"""Faults injected into the command line: every output and every way of failing to write it.

After each fault: the inputs are unchanged byte for byte, a previous output is intact, no
temporary file is left, stderr holds exactly one ``gradreg: error:`` line and no traceback,
and the exit code is the documented one (1 a failed write, 2 an output refused before any
work, 128 + the signal's number).

Most cases run ``main`` in this process (faster than a new interpreter); those that need a
process of their own (signals, a closed pipe, standard output on a full disk) run
``python -m gradreg.cli``. The random signal sweep is ``slow``.
"""

import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import file_size_limit
from gradreg.cli import main

ERROR = "gradreg: error: "
OLD = b"previous output\n"
COMMAND = [sys.executable, "-m", "gradreg.cli"]


@pytest.fixture
def folder(tmp_path):
    """data.csv (200 rows), model.json fitted on it, and old.* outputs of earlier runs."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 2))
    y = X @ [2.0, -1.0] + 0.5 + 0.1 * rng.normal(size=200)
    lines = "".join(f"{a!r},{b!r},{t!r}\n" for (a, b), t in zip(X.tolist(), y.tolist(),
                                                                  strict=True))
    (tmp_path / "data.csv").write_text("a,b,y\n" + lines)
    code = main(["fit", str(tmp_path / "data.csv"), "--target", "y", "--quiet",
                 "--model", str(tmp_path / "model.json")])
    assert code == 0
    for name in ("old.csv", "old.json", "old.png", "old.gif", "ck.json"):
        (tmp_path / name).write_bytes(OLD)
    return tmp_path


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()}


def check_after(folder, before, code, err, expected_code, written=()):
    """The checks every fault ends with; ``written`` are outputs allowed to change."""
    assert code == expected_code, err
    assert err.count(ERROR) == 1 and err.startswith(ERROR), err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert not [p.name for p in folder.iterdir() if ".tmp" in p.name]
    after = snapshot(folder)
    for name, content in before.items():
        if name not in written:
            assert after.get(name) == content, f"{name} changed"


def run_main(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err


# Every output of the command line, as (arguments, the output's option); OUT is replaced by
# the output path under test. The old.* files play previous outputs.
OUTPUTS = {
    "predict --out": (["predict", "{d}/model.json", "{d}/data.csv", "--out", "OUT"], "old.csv"),
    "fit --model": (["fit", "{d}/data.csv", "--target", "y", "--quiet", "--model", "OUT"],
                    "old.json"),
    "fit --checkpoint": (["fit", "{d}/data.csv", "--target", "y", "--quiet", "--solver", "gd",
                          "--optimizer", "plain", "--max-iter", "20", "--checkpoint", "OUT",
                          "--checkpoint-every", "5"], "ck.json"),
    "plot --out": (["plot", "{d}/data.csv", "--target", "y", "--kind", "cost", "--max-iter", "5",
                    "--out", "OUT"], "old.png"),
    "plot --kind animation": (["plot", "{d}/data.csv", "--target", "y", "--features", "a",
                               "--kind", "animation", "--epochs", "3", "--out", "OUT"],
                              "old.gif"),
}


def arguments(name, folder, out):
    args, _ = OUTPUTS[name]
    return [str(out) if a == "OUT" else a.format(d=folder) for a in args]


@pytest.mark.parametrize("name", OUTPUTS)
def test_a_file_size_limit_on_every_output(capsys, folder, name):
    previous = folder / OUTPUTS[name][1]
    before = snapshot(folder)
    with file_size_limit(len(OLD) + 64):
        code, err = run_main(capsys, *arguments(name, folder, previous))
    check_after(folder, before, code, err, 1)
    assert f"cannot write '{previous}': File too large" in err


@pytest.mark.parametrize("name", OUTPUTS)
def test_a_full_disk_on_every_output(capsys, folder, name):
    # A link named like the output, to the device that is always full.
    link = folder / ("full" + os.path.splitext(OUTPUTS[name][1])[1])
    link.symlink_to("/dev/full")
    before = snapshot(folder)
    code, err = run_main(capsys, *arguments(name, folder, link))
    check_after(folder, before, code, err, 1)
    assert f"cannot write '{link}': No space left on device" in err
    assert stat.S_ISCHR(os.stat(link).st_mode)


@pytest.mark.parametrize("name", OUTPUTS)
def test_an_output_that_is_an_input_is_refused_before_any_work(capsys, folder, name):
    (folder / "link.csv").symlink_to(folder / "data.csv")
    inputs = [folder / "data.csv", folder / "link.csv"]
    if name == "predict --out":
        inputs.append(folder / "model.json")
    for target in inputs:
        before = snapshot(folder)
        code, err = run_main(capsys, *arguments(name, folder, target))
        check_after(folder, before, code, err, 2)
        assert "is the input" in err and "writing it would destroy the data read" in err


def test_an_input_named_by_a_glob_is_found(capsys, folder):
    before = snapshot(folder)
    code, err = run_main(capsys, "predict", folder / "model.json", f"{folder}/d*.csv",
                         "--out", folder / "data.csv")
    check_after(folder, before, code, err, 2)
    code, err = run_main(capsys, "fit", folder / "data.csv", "--target", "y", "--model",
                         folder / "m.json", "--checkpoint", folder / "m.json")
    check_after(folder, before, code, err, 2)
    assert "is also the output of --model" in err


def test_demo_plots_under_a_file_size_limit(capsys, folder):
    (folder / "gradreg-demo-line.png").write_bytes(OLD)
    before = snapshot(folder)
    with file_size_limit(len(OLD) + 64):
        code, err = run_main(capsys, "demo", "--out-dir", folder)
    check_after(folder, before, code, err, 1)
    assert "gradreg-demo-line.png': File too large" in err


def test_demo_refuses_an_output_folder_it_cannot_create(capsys, folder):
    (folder / "plain").write_text("a file, not a folder\n")
    before = snapshot(folder)
    code, err = run_main(capsys, "demo", "--out-dir", folder / "plain" / "plots")
    check_after(folder, before, code, err, 2)
    assert "--out-dir: cannot create" in err


@pytest.mark.parametrize("name", ["predict --out", "fit --model", "plot --out"])
def test_special_files_and_long_names(capsys, folder, name):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock"))
    os.mkfifo(folder / "fifo")
    longest = os.pathconf(folder, "PC_NAME_MAX")
    cases = [
        (folder / "sock", 2, "it is a socket"),
        (folder / ("n" * (longest - 6) + ".csv"), 2, "the name is too long"),
        (folder / "missing" / "out", 2, "does not exist"),
        (folder, 2, "is a directory"),  # click's own check of the option
        (folder / "fifo", 1, "it is a FIFO that no process reads"),
    ]
    try:
        for target, expected, message in cases:
            before = snapshot(folder)
            code, err = run_main(capsys, *arguments(name, folder, target))
            check_after(folder, before, code, err, expected)
            assert message in err
    finally:
        server.close()
    assert stat.S_ISFIFO(os.stat(folder / "fifo").st_mode)


def test_a_model_file_that_is_a_fifo_or_device_is_not_read(capsys, folder):
    os.mkfifo(folder / "fifo")
    for model in (folder / "fifo", "/dev/zero"):
        before = snapshot(folder)
        code, err = run_main(capsys, "predict", model, folder / "data.csv")
        check_after(folder, before, code, err, 1)
        assert "is not a regular file" in err


@pytest.mark.parametrize("stdout", ["full", "closed pipe"])
def test_results_are_saved_before_a_report_that_cannot_be_printed(capsys, monkeypatch, folder,
                                                                  stdout):
    """A full disk is an error (exit 1); a reader that left is how SIGPIPE ends a Unix tool
    (exit 141, no message). Either way the model file asked for is written."""
    if stdout == "full":
        stream = open("/dev/full", "w")  # noqa: SIM115 - closed below
        reason = "No space left on device"
    else:
        read_end, write_end = os.pipe()
        os.close(read_end)
        stream = os.fdopen(write_end, "w")
    before = snapshot(folder)
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        code = main(["fit", str(folder / "data.csv"), "--target", "y", "--quiet", "--model",
                     str(folder / "new.json")])
    finally:
        monkeypatch.undo()
        with contextlib.suppress(OSError):
            stream.close()
    err = capsys.readouterr().err
    if stdout == "full":
        check_after(folder, before, code, err, 1, written={"new.json"})
        assert f"cannot write to standard output: {reason}" in err
    else:
        assert (code, err) == (128 + signal.SIGPIPE, "")
        assert {k: v for k, v in snapshot(folder).items() if k != "new.json"} == before
    assert json.loads((folder / "new.json").read_text())["format"] == "gradreg-model"


def subprocess_run(args, **kwargs):
    return subprocess.run([*COMMAND, *map(str, args)], stderr=subprocess.PIPE, text=True,
                          timeout=300, check=False, **kwargs)


def test_a_closed_pipe_and_a_full_standard_output_in_a_process_of_their_own(folder):
    """What Python does at exit with what is still buffered: nothing more is printed."""
    before = snapshot(folder)
    with open("/dev/full", "w") as full:
        result = subprocess_run(["predict", folder / "model.json", folder / "data.csv"],
                                stdout=full)
    check_after(folder, before, result.returncode, result.stderr, 1)
    assert "cannot write to standard output: No space left on device" in result.stderr
    process = subprocess.Popen([*COMMAND, "fit", str(folder / "data.csv"), "--target", "y",
                                "--quiet", "--model", str(folder / "new.json")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader is gone, as with `| true`
    err = process.stderr.read()
    process.wait(timeout=300)
    # As SIGPIPE ends a Unix tool: no message, 128 + SIGPIPE; the model is written all the same.
    assert (process.returncode, err) == (128 + signal.SIGPIPE, "")
    assert not [p.name for p in folder.iterdir() if ".tmp" in p.name]
    assert json.loads((folder / "new.json").read_text())["format"] == "gradreg-model"


# ---------------------------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------------------------


def wait_for(condition, process, limit=300.0):
    """Poll until ``condition()`` or the process ends (bounded)."""
    deadline = time.monotonic() + limit
    while not condition() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_fit_with_checkpoints(folder, number):
    checkpoint = folder / "run.json"
    before = snapshot(folder)
    process = subprocess.Popen(
        [*COMMAND, "fit", str(folder / "data.csv"), "--target", "y", "--quiet", "--solver",
         "sgd", "--batch-size", "1", "--max-iter", "1000000", "--random-state", "0",
         "--checkpoint", str(checkpoint), "--checkpoint-every", "1",
         "--model", str(folder / "old.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(checkpoint.exists, process)
    process.send_signal(number)
    _, err = process.communicate(timeout=300)
    check_after(folder, before, process.returncode, err, 128 + number, written={"run.json"})
    assert re.search(rf"interrupted after \d+ epochs \({signal.Signals(number).name}\)", err)
    assert json.loads(checkpoint.read_text())["format"] == "gradreg-checkpoint"


def test_a_signal_while_predictions_are_written(folder):
    """The output is a FIFO whose reader stops reading: the writer blocks mid-write."""
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    before = snapshot(folder)
    opened = threading.Event()
    holder = {}

    def reader():
        holder["handle"] = open(fifo, "rb")  # noqa: SIM115 - closed below
        opened.set()

    thread = threading.Thread(target=reader)
    thread.start()
    # Predictions larger than a pipe's buffer (64 KiB): 20,000 rows.
    rows = np.random.default_rng(1).normal(size=(20_000, 2))
    (folder / "many.csv").write_text("a,b\n" + "".join(f"{a},{b}\n" for a, b in rows))
    before["many.csv"] = (folder / "many.csv").read_bytes()
    process = subprocess.Popen([*COMMAND, "predict", str(folder / "model.json"),
                                str(folder / "many.csv"), "--out", str(fifo)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(opened.is_set, process)
        first = holder["handle"].read(100)  # the writer has started
        assert first.startswith(b"prediction\n")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=300)
    finally:
        thread.join(timeout=60)
        if "handle" in holder:
            holder["handle"].close()
    check_after(folder, before, process.returncode, err, 128 + signal.SIGTERM)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.slow
def test_signals_at_random_points_of_fit_and_predict(folder):
    """SIGINT, SIGTERM or SIGHUP after a random delay. A signal that comes before gradreg's
    handlers are installed (while Python imports) ends the process the default way, with
    nothing written yet; every other one must be handled."""
    # Delays are random multiples of the interpreter's start-up time measured here.
    rng = np.random.default_rng(2024)
    rows = rng.normal(size=(300_000, 2))
    (folder / "big.csv").write_text("a,b\n" + "".join(f"{a:.6g},{b:.6g}\n" for a, b in rows))
    started = time.monotonic()
    assert subprocess_run(["--version"], stdout=subprocess.DEVNULL).returncode == 0
    startup = time.monotonic() - started
    handled = 0
    commands = {
        "fit": ["fit", folder / "data.csv", "--target", "y", "--quiet", "--solver", "sgd",
                "--batch-size", "1", "--max-iter", "300", "--random-state", "0",
                "--checkpoint", folder / "ck.json", "--checkpoint-every", "1",
                "--model", folder / "old.json"],
        "predict": ["predict", folder / "model.json", folder / "big.csv",
                    "--out", folder / "old.csv"],
    }
    for trial in range(12):
        name = ("fit", "predict")[trial % 2]
        number = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)[trial % 3]
        for output in ("old.json", "old.csv", "ck.json"):
            (folder / output).write_bytes(OLD)
        before = snapshot(folder)
        process = subprocess.Popen([*COMMAND, *map(str, commands[name])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        time.sleep(startup * rng.uniform(0.5, 3.0))
        process.send_signal(number)
        _, err = process.communicate(timeout=600)
        written = {"old.json", "old.csv", "ck.json"}
        if process.returncode == -number:
            # Killed before main: nothing written (Python reports a SIGINT during its imports
            # with its own traceback).
            assert snapshot(folder) == before
            assert not [p.name for p in folder.iterdir() if ".tmp" in p.name]
            assert err == "" or err.rstrip().endswith("KeyboardInterrupt")
            continue
        if process.returncode == 0:  # finished before the signal came
            continue
        handled += 1
        check_after(folder, before, process.returncode, err, 128 + number, written=written)
        for output in written:  # each output is the old one or a complete new one
            content = (folder / output).read_bytes()
            assert content == OLD or content.startswith((b"{", b"prediction\n"))
            if output.endswith(".json") and content != OLD:
                json.loads(content)
    assert handled > 0
