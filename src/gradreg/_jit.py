"""Compiled functions whose on-disk cache is a help, never a requirement.

``numba.njit(cache=True)`` keeps compiled code in a folder (``NUMBA_CACHE_DIR``, else the
``__pycache__`` beside the source, else the user's cache folder), and raises when the folder
cannot be used: at import when none of them is writable (a read-only installation under a
read-only home, as in many containers), at the first call when a cache file cannot be written
(a full disk) or read (a truncated or foreign file). Compiled with :func:`compiled` instead, a
function is cached where a folder allows it and compiled in each process where none does; a
cache file that cannot be read is a cache miss, one that cannot be written leaves the compiled
code in memory. Either way the results are the same: only the time of the first call differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.caching import FunctionCache
from numba.extending import intrinsic

__all__ = ["compiled", "fma"]


class _TolerantCache(FunctionCache):
    """numba's cache of one function, where any failure to read or write a file is a miss."""

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            return super().load_overload(sig, target_context)
        except Exception:  # any unreadable file (truncated, foreign, no permission): compile
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        # The compiled code is already in use; a file that cannot be written (full disk,
        # read-only folder, unreadable index) only means compiling again in the next process.
        with contextlib.suppress(Exception):
            super().save_overload(sig, data)


def compiled(**options: Any) -> Callable[[Callable], Any]:
    """``numba.njit(**options)`` with numba's on-disk cache wherever a folder allows one.

    Examples
    --------
    >>> @compiled(nogil=True)
    ... def twice(x):
    ...     return 2 * x
    >>> twice(21)
    42
    """

    def decorate(function: Callable) -> Any:
        dispatcher = numba.njit(**options)(function)
        # What numba.njit(cache=True) does (Dispatcher.enable_caching), with the cache above;
        # without any writable cache folder numba raises RuntimeError and nothing is cached.
        with contextlib.suppress(RuntimeError):
            dispatcher._cache = _TolerantCache(function)
        return dispatcher

    return decorate


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (IEEE 754 fusedMultiplyAdd), in compiled code only.

    The CPU's fused multiply-add where it has one, otherwise LLVM's correctly rounded
    software routine: the result is the same on every machine.
    """
    signature = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, sig, args):
        double = ir.DoubleType()
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(double, [double, double, double]), "llvm.fma.f64")
        return builder.call(function, args)

    return signature, codegen
