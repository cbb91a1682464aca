"""How the one pass over the rows uses the machine: chunk sizes from the cache the system
reports, float64 buffers kept from pass to pass, the shifted copy of a chunk, and BLAS threads.

:mod:`gradreg.stats` (the statistics) and :mod:`gradreg.qr_stats` (the stable factor) read
rows through these; nothing here depends on what is computed from the chunks.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController


def _level2_cache_bytes() -> int:
    """The per-core L2 cache size the system reports (0 when it reports none)."""
    with contextlib.suppress(ValueError, OSError, AttributeError):
        size = os.sysconf("SC_LEVEL2_CACHE_SIZE")
        if size > 0:
            return int(size)
    folder = "/sys/devices/system/cpu/cpu0/cache"
    with contextlib.suppress(OSError, ValueError):
        for index in sorted(os.listdir(folder)):
            with open(f"{folder}/{index}/level") as level, open(f"{folder}/{index}/size") as size:
                if level.read().strip() == "2":
                    text = size.read().strip().upper()
                    unit = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
                    return int(text.rstrip("KM")) * unit
    return 0


def _chunk_bytes(level2: int) -> int:
    """Bytes of float64 per chunk: one core's L2 cache, within [256 KB, 4 MB].

    The chunk is written once (shifted, as float64) and then read three times by the BLAS
    products; in L2 those reads cost little beside the one read of the input from memory. A
    chunk the size of L3 (the former constant, 4 MB) spills when several threads each hold one
    and the machine's L3 is shared or small, and the pass then reads X at half the bandwidth.
    Below 256 KB the fixed cost of a chunk's numpy calls shows. Measured on a 2-core AMD EPYC
    (L2 512 KB), busy with other work: at 1e6 x 10, 512 KB chunks took 30 % less time than
    4 MB ones; at 1e6 x 100, about the same.
    Without a reported size: 1 MB, the L2 of most x86 server cores of the last decade.
    """
    if level2 <= 0:
        return 1 << 20
    return min(max(level2, 256 << 10), 4 << 20)


# Rows per chunk follow from the machine's cache, read once at import.
_CHUNK_BYTES = _chunk_bytes(_level2_cache_bytes())
_MAX_THREADS = 4
_MIN_CHUNK_ROWS = 256


def chunk_rows_for(n_features: int) -> int:
    """Rows per chunk for ``n_features`` columns (plus the target)."""
    return max(_MIN_CHUNK_ROWS, _CHUNK_BYTES // (8 * (n_features + 1)))


class _Scratch(threading.local):
    """Float64 buffers kept by each thread from one pass to the next.

    A new buffer costs a page fault per 4 KB the first time it is written: a third of the time
    of a fit on 100,000 rows x 1 feature. Buffers handed back are reused instead; each thread
    keeps at most two, of at most two chunks each.
    """

    _KEEP = 2
    _MAX_SIZE = 2 * _CHUNK_BYTES // 8

    def __init__(self) -> None:
        self.free: list[np.ndarray] = []

    def take(self, size: int) -> np.ndarray:
        for i, buffer in enumerate(self.free):
            if buffer.size >= size:
                return self.free.pop(i)[:size]
        return np.empty(size)

    def give(self, array: np.ndarray) -> None:
        buffer = array if array.base is None else array.base
        if len(self.free) < self._KEEP and buffer.size <= self._MAX_SIZE:
            self.free.append(buffer)


_SCRATCH = _Scratch()
_ONES = np.ones(0)


def _ones(size: int) -> np.ndarray:
    """A read-only vector of ones shared by all threads, grown when a longer one is needed."""
    global _ONES
    ones = _ONES
    if ones.size < size:
        ones = np.ones(size)
        ones.flags.writeable = False
        _ONES = ones
    return ones[:size]


class _Shift:
    """Writes ``values - origin`` in float64 into a buffer, for chunks of rows.

    The origin is exactly representable in the input's type (see :func:`_origin`), so the
    result is the float64 difference of the exact values whatever the route. A subtraction
    that broadcasts the origin over rows of ``d`` elements makes numpy loop over short rows
    (about a nanosecond per row of overhead: as much as the whole read at ``d = 10``), so a
    contiguous chunk is viewed as rows of about a thousand elements, the origin repeated to
    match; this halves the copy at ``d = 10``. Input of another type (float32, integers)
    takes the faster of two measured routes:

    - few columns: one subtraction of same-typed operands with a float64 loop, which reads
      the chunk from memory once (a cast copy then a subtraction is slower there);
    - many columns: a cast copy (numpy's fastest conversion loop), then the subtraction in
      place in cache (10 % faster at ``d = 30`` and 100, where the products dominate).
    """

    _WIDTH = 1024
    _MANY_COLUMNS = 16

    def __init__(self, origin: np.ndarray) -> None:
        self.origin = origin
        self.d = origin.shape[0]
        self.repeat = max(1, self._WIDTH // max(self.d, 1))
        self.tiled = np.tile(origin, self.repeat)
        # Beyond 2^53 float64 cannot hold every integer: 64-bit integers near such an origin
        # are subtracted in their own type first (see _exact_difference).
        self.wide_integers = bool(np.any(np.abs(origin) >= 2.0**53))

    def copy(self, values: np.ndarray, out: np.ndarray) -> None:
        if self.wide_integers and values.dtype.kind in "iu" and values.dtype.itemsize == 8:
            _exact_difference(values, self.origin, out)
            return
        whole = out.shape[0] - out.shape[0] % self.repeat
        wide = out[:whole].reshape(-1, self.tiled.size)
        if values.dtype == np.float64 or self.d < self._MANY_COLUMNS:
            if not values.flags.c_contiguous:
                self._subtract(values, self.origin, out)
                return
            head = values[:whole].reshape(-1, self.tiled.size)
            self._subtract(head, self.tiled, wide)
            self._subtract(values[whole:], self.origin, out[whole:])
        else:
            np.copyto(out, values, casting="unsafe")
            np.subtract(wide, self.tiled, out=wide)
            np.subtract(out[whole:], self.origin, out=out[whole:])

    @staticmethod
    def _subtract(values: np.ndarray, origin: np.ndarray, out: np.ndarray) -> None:
        if values.dtype == np.float64:
            np.subtract(values, origin, out=out)
        else:
            np.subtract(values, origin.astype(values.dtype), out=out, dtype=np.float64,
                        casting="unsafe")


def _exact_difference(values: np.ndarray, origin: np.ndarray, out: np.ndarray) -> None:
    """``values - origin`` for 64-bit integers, rounded once to float64.

    Cast first, integers near 2^63 would lose their last 10 bits, all the spread of a column
    of ids or nanosecond times; their difference from an origin near them is small and exact.
    The difference is taken modulo 2^64; where it is 2^63 or more in size (values far from the
    origin) the float64 difference, within 2^12 of the true one, says which multiple of 2^64
    to add back.
    """
    kind = np.uint64 if values.dtype.kind == "u" else np.int64
    native = values.astype(kind, copy=False)
    shift = origin.astype(kind)
    np.copyto(out, np.subtract(native.view(np.uint64), shift.view(np.uint64)).view(np.int64),
              casting="unsafe")
    rough = np.subtract(native, shift, dtype=np.float64, casting="unsafe")
    out += np.round((rough - out) * 2.0**-64) * 2.0**64


# Up to this many parameters the products of a fit on statistics are small: one BLAS thread
# does them as fast as two, and leaves no BLAS threads spinning to slow the next pass.
_SMALL_PRODUCTS = 512


def blas_for_small_products(route: str, n_features: int) -> contextlib.AbstractContextManager:
    """One BLAS thread for a fit on the statistics (``route="stats"``) of few features.

    The pass over the data splits rows between its own threads; what follows (eigenvalues,
    epochs of d x d products) is too small to gain from BLAS threads. Measured on 2 cores,
    fits at 1e5-1e6 rows x 100 features take 20-35 % less time, because OpenBLAS threads
    left spinning after one fit's small products no longer compete with the next pass.
    """
    if route != "stats" or n_features + 1 > _SMALL_PRODUCTS:
        return contextlib.nullcontext()
    return one_blas_thread()


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """Found once: inspecting the loaded libraries costs milliseconds each time."""
    return ThreadpoolController()


_BLAS_LOCK = threading.Lock()
_BLAS_HOLDER: threading.Thread | None = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while a pass or fit of the process asks for it.

    The limit is the process's, not the thread's, so one limit at a time is set, and it is
    restored by the thread that set it (threadpoolctl lets only that thread change OpenBLAS's
    threads); a pass or fit that starts meanwhile, in this thread or another, runs under the
    limit in force. (Each setting and restoring its own, fits in concurrent threads took a
    limit already set for the number of threads to restore, and left BLAS on one thread.)
    """
    global _BLAS_HOLDER
    with _BLAS_LOCK:
        mine = _BLAS_HOLDER is None
        if mine:
            _BLAS_HOLDER = threading.current_thread()
    if not mine:
        yield
        return
    try:
        with _blas_controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        with _BLAS_LOCK:
            _BLAS_HOLDER = None


_T = TypeVar("_T")
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_IN_POOL = threading.local()


def _mark_worker() -> None:
    _IN_POOL.worker = True


def _forget_pool() -> None:
    """In a forked child, which has none of the parent's threads: a new pool when one is
    needed, and new locks (another thread of the parent may have held one at the fork)."""
    global _POOL, _POOL_LOCK, _BLAS_LOCK
    _POOL = None
    _POOL_LOCK = threading.Lock()
    _BLAS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def map_parts(function: Callable[[int], _T], count: int) -> list[_T]:
    """``[function(0), ..., function(count - 1)]``, run on threads kept from call to call.

    Starting a thread costs about 2 ms on a small virtual machine, a quarter of the pass over
    200,000 x 20 rows; the threads are started once per process (again after a fork, which
    keeps no threads) and reused. A part that itself asks for parts runs them in its own
    thread, so that no part waits for a thread held by its caller.
    """
    global _POOL
    if count <= 1 or getattr(_IN_POOL, "worker", False):
        return [function(i) for i in range(count)]
    with _POOL_LOCK:
        if _POOL is None:  # first use, or first in a forked child (see _forget_pool)
            _POOL = ThreadPoolExecutor(max(_MAX_THREADS, os.cpu_count() or 1),
                                       thread_name_prefix="gradreg", initializer=_mark_worker)
        pool = _POOL
    return list(pool.map(function, range(count)))


def _spans(n: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, step):
        yield start, min(n, start + step)
