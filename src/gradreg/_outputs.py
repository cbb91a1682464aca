"""Output paths: what may be written where, checked before any work, and the one write error.

Every writer of gradreg (models, checkpoints, predictions, plots, animations) goes through
:mod:`gradreg._atomic`, which asks this module what an output path is:

* a regular file, or a name not yet taken: written atomically (a temporary file in the same
  folder, then ``os.replace``). A symbolic link is followed: the file it points to is replaced
  and the link itself is kept.
* a character device (``/dev/stdout``, ``/dev/null``) or a FIFO: written into directly, since
  a rename would replace the device or the pipe by a plain file. A FIFO without a reader is
  refused rather than waited on.
* anything else (a folder, a block device, a socket): refused.

:func:`check_output` and :func:`check_distinct` run before a command does any work, so that a
long fit never ends in an output that cannot be written or one that would overwrite its input.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import InputFileError, OutputFileError

__all__ = [
    "FILE",
    "STREAM",
    "check_distinct",
    "check_output",
    "output_kind",
    "resolved",
    "same_file",
    "temporary_name_length",
    "write_error",
]

FILE = "file"
STREAM = "stream"

# The temporary file beside an output is ".<name>.<8 random characters>.tmp<suffix>".
_TEMPORARY_EXTRA = len(".") + len(".") + 8 + len(".tmp")


def write_error(path: str | os.PathLike, exc: OSError) -> OutputFileError:
    """The error for a failed write: ``cannot write 'p.csv': No space left on device``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    error = OutputFileError(exc.errno, f"cannot write {str(path)!r}: {reason}")
    error.filename = str(path)
    return error


def _refuse(path: str | os.PathLike, reason: str, code: int = errno.EINVAL) -> OutputFileError:
    return OutputFileError(code, f"cannot write {str(path)!r}: {reason}")


def resolved(path: str | os.PathLike) -> Path:
    """``path`` with symbolic links followed (also a dangling one: the file it would create)."""
    return Path(os.path.realpath(os.fspath(path)))


def temporary_name_length(target: Path) -> int:
    """Length of the name of the temporary file written beside ``target``."""
    return len(os.fsencode(target.name)) + len(os.fsencode(target.suffix)) + _TEMPORARY_EXTRA


def output_kind(path: str | os.PathLike) -> str:
    """:data:`FILE` (written atomically) or :data:`STREAM` (written into); refuses the rest.

    Raises
    ------
    OutputFileError
        When ``path`` is a folder, a block device, a socket or another special file.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return FILE
    except OSError as exc:
        raise write_error(path, exc) from None
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return STREAM
    if stat.S_ISDIR(mode):
        raise _refuse(path, "it is a folder, not a file", errno.EISDIR)
    kind = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else (
        "a special file"
    )
    raise _refuse(path, f"it is {kind}; gradreg writes regular files, character devices and FIFOs")


def check_output(path: str | os.PathLike) -> str:
    """Check, before any work, that ``path`` can be written; returns its :func:`output_kind`.

    For a file: its folder exists and may be written, and the temporary file's name is not too
    long for the file system. For a character device: it may be written.

    Raises
    ------
    OutputFileError
        Naming the output and the reason.
    """
    kind = output_kind(path)
    target = resolved(path)
    if kind == STREAM:
        if not os.access(target, os.W_OK):
            raise _refuse(path, "permission denied", errno.EACCES)
        return kind
    folder = target.parent
    if not folder.is_dir():
        raise _refuse(path, f"the folder {str(folder)!r} does not exist", errno.ENOENT)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _refuse(path, f"the folder {str(folder)!r} may not be written", errno.EACCES)
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if temporary_name_length(target) > longest:
        raise _refuse(
            path,
            f"the name is too long: with the temporary file's extra characters it exceeds the "
            f"{longest} bytes a name may have here; use a shorter name",
            errno.ENAMETOOLONG,
        )
    return kind


def _identity(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def same_file(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Whether two existing paths name the same file (through links too)."""
    identity = _identity(first)
    return identity is not None and identity == _identity(second)


def check_distinct(
    outputs: Mapping[str, str | os.PathLike | None],
    inputs: Iterable[str | os.PathLike],
) -> None:
    """Refuse an output that is one of the ``inputs`` or another output.

    ``outputs`` maps an option name (``"--model"``) to its path (``None`` when not given);
    ``inputs`` are every file read, globs and folders already expanded. Files are compared by
    device and inode, so links and other spellings of a name are caught; outputs not yet
    created are compared by their resolved path. Character devices and FIFOs may repeat.

    Raises
    ------
    InputFileError
        Naming the option, the path and the input it would overwrite.
    """
    seen: dict[object, str] = {}
    for path in inputs:
        identity = _identity(path)
        if identity is not None:
            seen.setdefault(identity, f"the input {str(path)!r}")
    labels: dict[object, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        if output_kind(path) == STREAM:
            continue
        key = _identity(path) or ("new", resolved(path))
        if key in seen:
            raise InputFileError(
                errno.EINVAL,
                f"{option} {str(path)!r} is {seen[key]}: writing it would destroy the data "
                "read. Choose another output file.",
            )
        if key in labels:
            raise InputFileError(
                errno.EINVAL,
                f"{option} {str(path)!r} is also the output of {labels[key]}: one would "
                "overwrite the other. Choose different files.",
            )
        labels.setdefault(key, option)
