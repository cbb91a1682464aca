"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

A crash or an error while writing never leaves a partial file and never destroys the previous
one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import InputFileError

__all__ = ["atomic_path", "atomic_write"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Name of a new temporary file beside ``path``; moved onto ``path`` if the block succeeds.

    For writers that take a file name rather than an open file.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise InputFileError(f"Cannot write {str(target)!r}: it is a folder, not a file.")
    if not folder.is_dir():
        raise InputFileError(
            f"Cannot write {str(target)!r}: the folder {str(folder)!r} does not exist."
        )
    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=folder
        )
    except OSError as exc:
        raise InputFileError(f"Cannot write {str(target)!r}: {exc.strerror}.") from None
    os.close(descriptor)
    # mkstemp makes the file private; give it the permissions a plain open() would.
    os.chmod(temporary, _permissions(target))
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _permissions(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success, move it onto ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.mkdtemp()
    >>> with atomic_write(pathlib.Path(folder) / "out.txt") as handle:
    ...     _ = handle.write("hello")
    >>> (pathlib.Path(folder) / "out.txt").read_text()
    'hello'
    """
    with atomic_path(path) as temporary:
        encoding = {} if "b" in mode else {"encoding": "utf-8"}
        with open(temporary, mode, **encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
