"""How the ``gradreg`` command behaves as a process: its output streams, warnings, signals,
and the mapping of errors to one line and an exit code.

Exit codes: 0 success, 1 data or runtime errors (also a failed write), 2 usage errors (also an
output refused before any work), 128 + the signal's number on SIGINT, SIGTERM or SIGHUP, and
141 (128 + SIGPIPE), without a message, when the reader of standard output has left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import warnings

import click
from rich.console import Console

from ._cli_names import as_typed
from .errors import (
    FitInterrupted,
    GradregError,
    GradregWarning,
    OutputFileError,
    ParameterError,
)

EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM and SIGHUP give 128 + their number
# Standard output is a pipe whose reader has left (``gradreg predict ... | head -1``): what a
# Unix tool killed by SIGPIPE reports to the shell, and no message, as such tools print none.
EXIT_CLOSED_PIPE = 141
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Stdout:
    """``sys.stdout`` as it is at each call, whose write failures are one OutputFileError.

    rich would otherwise end the process silently on a closed pipe, and a full disk would
    surface as a traceback.
    """

    def write(self, text: str) -> int:
        try:
            fileno = _file_number(sys.stdout)
            if fileno is None:
                return sys.stdout.write(text)
            # Straight to the file: when the reader of a pipe leaves during a long write, the
            # write returns short, and Python's buffered stream drops the rest without an error.
            sys.stdout.flush()
            encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
            errors = getattr(sys.stdout, "errors", None) or "strict"
            data = memoryview(text.encode(encoding, errors))
            while data:
                data = data[os.write(fileno, data):]
            return len(text)
        except OSError as exc:
            raise _stdout_error(exc) from None

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except OSError as exc:
            raise _stdout_error(exc) from None

    def __getattr__(self, name: str):
        return getattr(sys.stdout, name)


def _file_number(stream) -> int | None:
    """The descriptor of ``stream`` (None for streams in memory, as tests capture output)."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None


class _ReaderLeft(OutputFileError):
    """Standard output is a pipe nobody reads any more: the command ends quietly (exit 141)."""


def _stdout_error(exc: OSError) -> OutputFileError:
    # What is still buffered would fail again when Python flushes at exit: send it nowhere.
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    kind = _ReaderLeft if exc.errno == errno.EPIPE else OutputFileError
    return kind(exc.errno, f"cannot write to standard output: {exc.strerror or exc}")


stdout = _Stdout()
console = Console(file=stdout, highlight=False)


class Stopped(Exception):
    """Ctrl-C during a fit, carried past click (which turns KeyboardInterrupt into Abort)."""

    def __init__(self, epochs: int) -> None:
        super().__init__(epochs)
        self.epochs = epochs


def _warning_line(message, category, filename, lineno, file=None, line=None):
    from .errors import ConvergenceWarning  # scikit-learn's subclass: imported when needed

    label = "warning" if issubclass(category, ConvergenceWarning | GradregWarning) else "note"
    print(f"gradreg: {label}: {as_typed(str(message))}", file=sys.stderr)


def _error(message: str) -> None:
    """The one line of an error, its parameters named as the options that set them."""
    print(f"gradreg: error: {as_typed(message)}", file=sys.stderr)


class _Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C is: the same clean-up on the way out."""


_received: list[int] = []


def _on_signal(signum, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt if signum == signal.SIGINT else _Signalled()


@contextlib.contextmanager
def _signals_handled():
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread while main runs:
    temporary files are removed, nothing half-written stays, one line is printed."""
    _received.clear()
    try:
        previous = {number: signal.signal(number, _on_signal) for number in _SIGNALS}
    except ValueError:  # not the main thread: leave the handlers alone
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _interrupted(epochs: int | None) -> int:
    number = _received[0] if _received else signal.SIGINT
    after = "" if epochs is None else f" after {epochs} epochs"
    print(f"gradreg: error: interrupted{after} ({signal.Signals(number).name}); no output was "
          "written or replaced", file=sys.stderr)
    return 128 + number


_STREAM_ERRORS = (errno.EPIPE, errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EDQUOT)


def run_command(cli: click.Group, argv: list[str] | None = None,
                prog_name: str = "gradreg") -> int:
    """Run the command group ``cli`` on ``argv`` (default: ``sys.argv[1:]``); the exit code.

    ``prog_name`` names the command in usage lines and in the hint of a usage error; the error
    lines themselves always begin ``gradreg: error:``.

    Exit codes: 0 success, 1 data or runtime errors (also a failed write), 2 usage errors
    (also an output refused before any work), 128 + the signal's number on SIGINT, SIGTERM
    or SIGHUP, 141 when the reader of standard output has left (no message).
    """
    args = sys.argv[1:] if argv is None else argv
    # Read here, not from what click parsed: an error while parsing must show its traceback
    # too. Every command takes --debug (before or after its name); after "--" it is an operand.
    debug = "--debug" in args[:args.index("--")] if "--" in args else "--debug" in args
    warnings.showwarning = _warning_line
    with _signals_handled():
        try:
            return _run(cli, args, debug, prog_name)
        except (FitInterrupted, Stopped) as interrupt:
            return _interrupted(interrupt.epochs)
        except KeyboardInterrupt:
            return _interrupted(None)


def _run(cli: click.Group, args: list[str], debug: bool, prog_name: str) -> int:
    try:
        # Not cli.main: it would swallow a closed pipe as a silent exit 1, and print a blank
        # line on Ctrl-C.
        with cli.make_context(prog_name, list(args)) as ctx:
            cli.invoke(ctx)
        stdout.flush()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        if debug:
            raise
        hint = f"{exc.ctx.command_path} --help" if exc.ctx else f"{prog_name} --help"
        _error(f"{exc.format_message()} (see '{hint}')")
        return EXIT_USAGE
    except click.ClickException as exc:
        if debug:
            raise
        _error(exc.format_message())
        return exc.exit_code
    except click.Abort:
        raise KeyboardInterrupt from None
    except _ReaderLeft:  # the outputs asked for with options were written before the report
        return EXIT_CLOSED_PIPE
    except ParameterError as exc:  # settings that contradict each other: a usage error
        if debug:
            raise
        _error(str(exc))
        return EXIT_USAGE
    except GradregError as exc:
        if debug:
            raise
        _error(str(exc))
        return EXIT_DATA
    except ValueError as exc:  # parameter errors from scikit-learn's own checks
        if debug:
            raise
        _error(str(exc))
        return EXIT_DATA
    except OSError as exc:
        if debug:
            raise
        if exc.filename is None and exc.errno in _STREAM_ERRORS:  # click's own output
            exc = _stdout_error(exc)
            if isinstance(exc, _ReaderLeft):
                return EXIT_CLOSED_PIPE
        _error(str(exc))
        return EXIT_DATA
    return 0
