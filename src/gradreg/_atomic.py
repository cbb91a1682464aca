"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

A crash, an error or a signal while writing never leaves a partial file and never destroys the
previous one. What an output path may be (a file, a link, a device, a FIFO) is decided in
:mod:`gradreg._outputs`; every failure of the system to write becomes one
:class:`~gradreg.errors.OutputFileError` (``cannot write 'p.csv': No space left on device``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._outputs import STREAM, output_kind, resolved, write_error
from .errors import GradregError, OutputFileError

__all__ = ["atomic_path", "atomic_write"]

# The signals the command line turns into a clean stop (SIGHUP does not exist on Windows).
_DEFERRED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP while a temporary file is created and recorded."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Name of a new temporary file beside ``path``; moved onto ``path`` if the block succeeds.

    For writers that take a file name rather than an open file. A character device or a FIFO
    is handed over as it is (see :mod:`gradreg._outputs`); a symbolic link is followed.

    Raises
    ------
    OutputFileError
        When the output cannot be written; the previous file is then left as it was.
    """
    if output_kind(path) == STREAM:
        # The writer gets a file of its own (it may seek, and it may infer the format from the
        # suffix), copied into the device or FIFO when complete.
        with tempfile.TemporaryDirectory(prefix="gradreg-") as folder, _write_errors(path):
            temporary = os.path.join(folder, "output" + Path(path).suffix)
            yield temporary
            with open(temporary, "rb") as source, _open_stream(path, "wb") as stream:
                shutil.copyfileobj(source, stream)
        return
    target = resolved(path)
    folder = target.parent
    if not folder.is_dir():
        raise OutputFileError(
            errno.ENOENT, f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist"
        )
    temporary = None
    try:
        with _signals_deferred():
            try:
                descriptor, temporary = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=folder
                )
            except OSError as exc:
                raise write_error(path, exc) from None
            os.close(descriptor)
        with _write_errors(path):
            # mkstemp makes the file private; give it the permissions a plain open() would.
            os.chmod(temporary, _permissions(target))
            yield temporary
            os.replace(temporary, target)
    except BaseException:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise


@contextlib.contextmanager
def _write_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn the system's write failures into one OutputFileError naming ``path``."""
    try:
        yield
    except GradregError:
        raise
    except OSError as exc:
        raise write_error(path, exc) from None


def _permissions(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _open_stream(path: str | os.PathLike, mode: str) -> IO:
    """Open a character device or a FIFO for writing; a FIFO nobody reads is refused."""
    flags = os.O_WRONLY
    fifo = stat.S_ISFIFO(os.stat(path).st_mode)
    if fifo:
        flags |= getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputFileError(
                errno.ENXIO, f"cannot write {str(path)!r}: it is a FIFO that no process reads"
            ) from None
        raise
    if fifo:
        os.set_blocking(descriptor, True)
    encoding = {} if "b" in mode else {"encoding": "utf-8"}
    return open(descriptor, mode, **encoding)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success, move it onto ``path``.

    A character device or a FIFO is written into directly (see :mod:`gradreg._outputs`).

    Raises
    ------
    OutputFileError
        When the output cannot be written (disk full, file-size limit, permissions); the
        previous file is then left as it was and no temporary file remains.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.mkdtemp()
    >>> with atomic_write(pathlib.Path(folder) / "out.txt") as handle:
    ...     _ = handle.write("hello")
    >>> (pathlib.Path(folder) / "out.txt").read_text()
    'hello'
    """
    if output_kind(path) == STREAM:
        with _write_errors(path), _open_stream(path, mode) as handle:
            yield handle
            handle.flush()
        return
    with atomic_path(path) as temporary, _write_errors(path):
        encoding = {} if "b" in mode else {"encoding": "utf-8"}
        with open(temporary, mode, **encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
