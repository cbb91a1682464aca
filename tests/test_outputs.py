"""Output paths and atomic writes: aliasing, special files, long names and failed writes."""

import errno
import os
import socket
import stat
import threading

import pytest

from conftest import file_size_limit
from gradreg import GradregError, InputFileError, OutputFileError
from gradreg._atomic import atomic_path, atomic_write
from gradreg._outputs import check_distinct, check_output, output_kind


def temporary_files(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_kinds_of_output(tmp_path):
    (tmp_path / "file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    assert output_kind(tmp_path / "file") == "file"
    assert output_kind(tmp_path / "new") == "file"
    assert output_kind(tmp_path / "fifo") == "stream"
    assert output_kind("/dev/null") == "stream"
    with pytest.raises(OutputFileError, match="it is a folder"):
        output_kind(tmp_path)


def test_a_socket_and_a_block_device_are_refused(tmp_path):
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(OutputFileError, match="it is a socket"):
            check_output(tmp_path / "sock")
    finally:
        server.close()
    blocks = [f"/dev/{n}" for n in sorted(os.listdir("/dev"))
              if stat.S_ISBLK(os.stat(f"/dev/{n}", follow_symlinks=False).st_mode)]
    if blocks:
        with pytest.raises(OutputFileError, match="it is a block device"):
            check_output(blocks[0])


def test_folder_missing_and_name_too_long_are_found_before_writing(tmp_path):
    with pytest.raises(OutputFileError, match="the folder .* does not exist") as info:
        check_output(tmp_path / "missing" / "out.csv")
    assert info.value.errno == errno.ENOENT
    # A name that fits itself but not with the temporary file's extra characters.
    longest = os.pathconf(tmp_path, "PC_NAME_MAX")
    name = "p" * (longest - 8) + ".csv"
    with pytest.raises(OutputFileError, match="the name is too long"):
        check_output(tmp_path / name)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_that_may_not_be_written_is_found_before_writing(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputFileError, match="may not be written"):
            check_output(folder / "out.csv")
    finally:
        folder.chmod(0o700)


def test_outputs_that_are_inputs_are_refused_through_links(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,y\n1,2\n")
    (tmp_path / "soft.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    for alias in (data, tmp_path / "soft.csv", tmp_path / "hard.csv", tmp_path / "." / "data.csv"):
        with pytest.raises(InputFileError, match=r"--out .* is the input '.*data.csv'"):
            check_distinct({"--out": alias}, [data])
    with pytest.raises(InputFileError, match="is also the output of --model"):
        check_distinct({"--model": tmp_path / "m.json", "--checkpoint": tmp_path / "m.json"}, [])
    check_distinct({"--model": tmp_path / "m.json", "--out": "/dev/null"}, [data])
    check_distinct({"--a": "/dev/null", "--b": "/dev/null"}, [])


def test_a_symlink_output_replaces_its_target_and_stays_a_link(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as handle:
        handle.write("new")
    assert link.is_symlink() and target.read_text() == "new"
    assert temporary_files(tmp_path) == []


def test_a_character_device_is_written_into():
    with atomic_write("/dev/null") as handle:
        handle.write("discarded")
    with atomic_path("/dev/null") as name:
        with open(name, "w") as handle:
            handle.write("discarded")


def test_a_fifo_is_written_into_or_refused_without_a_reader(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputFileError, match="a FIFO that no process reads"):
        with atomic_write(fifo) as handle:
            handle.write("x")
    received = []
    # Opening for reading blocks until the writer opens; the writer then finds a reader.
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    for _ in range(500):
        try:
            with atomic_write(fifo) as handle:
                handle.write("through the pipe")
            break
        except OutputFileError:  # the reader has not opened its end yet
            threading.Event().wait(0.01)
    reader.join(timeout=30)
    assert received == ["through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_full_device_is_one_output_error():
    with pytest.raises(OutputFileError, match="cannot write '/dev/full': No space left") as info:
        with atomic_write("/dev/full") as handle:
            handle.write("x" * 10_000)
    assert isinstance(info.value, GradregError) and isinstance(info.value, OSError)
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == "cannot write '/dev/full': No space left on device"


def test_a_file_size_limit_keeps_the_previous_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("previous")
    with file_size_limit(4096), pytest.raises(OutputFileError, match="File too large") as info:
        with atomic_write(out) as handle:
            handle.write("y" * 100_000)
    assert info.value.errno == errno.EFBIG
    assert out.read_text() == "previous"
    assert temporary_files(tmp_path) == []


def test_an_interrupted_write_keeps_the_previous_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("previous")
    with pytest.raises(KeyboardInterrupt), atomic_write(out) as handle:
        handle.write("half")
        raise KeyboardInterrupt
    assert out.read_text() == "previous"
    assert temporary_files(tmp_path) == []
