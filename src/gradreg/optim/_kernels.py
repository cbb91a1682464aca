"""Compiled epochs of mini-batch SGD: every step of a pass over in-memory rows in one call.

The loop is the one of :func:`gradreg.sgd_solver.sgd_epoch` (gradient of the mean loss of a
mini-batch in the scaled coordinates, the update rule, then the L1 proximal step), with the
operations in the same order, compiled by numba so that a step costs no Python overhead. The
update rules are those of :mod:`gradreg.optim` (``plain``, ``momentum``, ``nesterov``, ``adam``,
``adagrad``); the learning rate of each step comes in as an array, computed from the schedule.

Polyak-Ruppert averaging (Polyak & Juditsky 1992; Ruppert 1988) is done in the same loop:
once ``average_start`` rows have been seen, ``avg <- avg + (theta - avg) * (1/k)`` after the k-th
averaged step, as scikit-learn's ``SGDRegressor(average=...)`` does.

Where the time of an epoch goes, and what the loop does about it (200,000 x 20, batch 32):

- *Reading rows in a shuffled order* is a cache miss per row. Rows are gathered a block at a
  time into a contiguous buffer, each one asked for (prefetched) ``_AHEAD`` rows before it is
  read, so that the misses overlap; unit weights are not read at all.
- *Scaling* multiplies by the reciprocal of the scale, computed once per call, instead of
  dividing every element (within an ulp of the division, at a fraction of its cost).
- *The mini-batch gradient* is one fused loop over the batch's rows, four rows side by side:
  their dot products do not wait on each other's additions, each gradient coordinate is
  loaded and stored once for the four, and no temporary arrays are made. Every sum is taken
  in the same order as one row at a time; no ``fastmath`` reassociation is used, so the steps
  stay within a few ulps of the reference Python steps (which sum with BLAS).
- *Averaging* costs ``n_params`` operations per step, small beside a batch's
  ``2 * batch_size * n_features``; it is done at every step, as the reference does.

Steps depend on each other, and a batch is too small to share between threads, so numba's
``parallel`` is not used. The compiled functions are cached on disk where a folder allows it
(:mod:`gradreg._jit`); they have one signature per dtype of the rows (float32 or float64), so
they are compiled at most twice.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import compiled

__all__ = ["RULES", "sgd_steps"]

# The update rules by number, as the compiled loop takes them.
RULES = {"plain": 0, "momentum": 1, "nesterov": 2, "adam": 3, "adagrad": 4}
# Rows gathered into the contiguous buffer at a time (rounded to whole batches).
_BLOCK_ROWS = 256
# Rows ahead of the one being gathered that are asked for from memory: enough misses in flight
# to cover the latency of a shuffled order, few enough that they are still cached when read.
_AHEAD = 16
# Elements of a row one prefetch covers (a 64-byte cache line holds 8 float64 values).
_LINE = 8


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading ``array[index]`` into the cache: a hint, with no result."""
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]],
                                           wraparound=False)
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, int32, int32, int32]),
            "llvm.prefetch.p0i8",
        )
        # A read, kept in all cache levels, into the data cache.
        builder.call(function, [builder.bitcast(pointer, cgutils.voidptr_t), int32(0),
                                int32(3), int32(1)])
        return context.get_dummy_value()

    return signature, codegen


@compiled(nogil=True)
def _gather(X, y, w, weighted, order, start, rows, shift, reciprocal, z, targets, weights):
    """Rows ``order[start:start + rows]``, scaled, into the contiguous buffers.

    Each row is asked for ``_AHEAD`` rows before it is read, so that the cache misses of a
    shuffled order overlap instead of being waited for one at a time.
    """
    n = order.shape[0]
    d = shift.shape[0]
    for r in range(rows):
        ahead = start + r + _AHEAD
        if ahead < n:
            row = X[order[ahead]]
            for j in range(0, d, _LINE):
                _prefetch(row, j)
            _prefetch(row, d - 1)
            _prefetch(y, order[ahead])
            if weighted:
                _prefetch(w, order[ahead])
        i = order[start + r]
        for j in range(d):
            z[r, j] = (np.float64(X[i, j]) - shift[j]) * reciprocal[j]
        targets[r] = y[i]
        weights[r] = w[i] if weighted else 1.0


@compiled(nogil=True)
def _batch_gradient(z, targets, weights, first, last, theta, fit_intercept, grad):
    """Sum over rows ``first:last`` of the buffers of ``weight * residual * (z, 1)`` into
    ``grad``; returns the sum of the weights.

    Four rows are taken side by side: their dot products (each summed in the order of the
    features) do not wait on each other's additions, and each gradient coordinate is loaded
    and stored once for the four. Every sum is still taken row after row, as for one row at
    a time.
    """
    d = z.shape[1]
    intercept = theta[d] if fit_intercept else 0.0
    for j in range(grad.shape[0]):
        grad[j] = 0.0
    total = 0.0
    r = first
    while r + 4 <= last:
        dot0 = dot1 = dot2 = dot3 = 0.0
        for j in range(d):
            t = theta[j]
            dot0 += z[r, j] * t
            dot1 += z[r + 1, j] * t
            dot2 += z[r + 2, j] * t
            dot3 += z[r + 3, j] * t
        weighted0 = (dot0 - targets[r] + intercept) * weights[r]
        weighted1 = (dot1 - targets[r + 1] + intercept) * weights[r + 1]
        weighted2 = (dot2 - targets[r + 2] + intercept) * weights[r + 2]
        weighted3 = (dot3 - targets[r + 3] + intercept) * weights[r + 3]
        for j in range(d):
            g = grad[j]
            g += z[r, j] * weighted0
            g += z[r + 1, j] * weighted1
            g += z[r + 2, j] * weighted2
            g += z[r + 3, j] * weighted3
            grad[j] = g
        if fit_intercept:
            grad[d] = grad[d] + weighted0 + weighted1 + weighted2 + weighted3
        total = total + weights[r] + weights[r + 1] + weights[r + 2] + weights[r + 3]
        r += 4
    while r < last:
        dot = 0.0
        for j in range(d):
            dot += z[r, j] * theta[j]
        weighted = (dot - targets[r] + intercept) * weights[r]
        for j in range(d):
            grad[j] += z[r, j] * weighted
        if fit_intercept:
            grad[d] += weighted
        total += weights[r]
        r += 1
    return total


@compiled(nogil=True)
def _steps(  # noqa: PLR0913 - a compiled loop takes its state as flat arrays
    X, y, w, order, batch_size, shift, scale, fit_intercept, theta, rule, first, second,
    momentum, b1, b2, eps, rates, l2, l1, has_l1, avg, counters,
):
    """Run ``len(rates)`` steps over the rows ``order``; update the arrays in place.

    ``first`` is the momentum trace or Adam's first moment, ``second`` Adam's second moment or
    AdaGrad's sum of squares. ``counters`` holds Adam's step count, the number of averaged
    steps, the rows seen and the row count at which averaging starts.
    """
    n = order.shape[0]
    d = shift.shape[0]
    p = theta.shape[0]
    grad = np.empty(p)
    # Unit weights are not read: one memory access fewer per row of a shuffled order.
    weighted = False
    for i in range(w.shape[0]):
        if w[i] != 1.0:
            weighted = True
            break
    n_steps = rates.shape[0]
    # Scaling multiplies by the reciprocal of the scale: within an ulp of dividing, at a
    # fraction of the cost.
    reciprocal = 1.0 / scale
    # Rows are gathered (and scaled) a block at a time into contiguous buffers.
    block = batch_size * max(1, _BLOCK_ROWS // batch_size)
    z = np.empty((block, d))
    targets = np.empty(block)
    weights = np.empty(block)
    for step in range(n_steps):
        start = step * batch_size
        stop = min(start + batch_size, n)
        offset = start % block
        if offset == 0:
            _gather(X, y, w, weighted, order, start, min(block, n - start), shift, reciprocal,
                    z, targets, weights)
        total = _batch_gradient(z, targets, weights, offset, offset + stop - start, theta,
                                fit_intercept, grad)
        if total == 0.0:  # rows of weight zero only: no data term (its sums are all zero)
            total = 1.0
        eta = rates[step]
        if rule == 3:
            counters[0] += 1
            bias1 = 1.0 - b1 ** counters[0]
            bias2 = 1.0 - b2 ** counters[0]
        for j in range(p):
            g = grad[j] / total + l2[j] * theta[j]
            if rule == 0:
                update = g
            elif rule == 1:
                first[j] = momentum * first[j] + g
                update = first[j]
            elif rule == 2:
                first[j] = momentum * first[j] + g
                update = g + momentum * first[j]
            elif rule == 3:
                first[j] = b1 * first[j] + (1.0 - b1) * g
                second[j] = b2 * second[j] + (1.0 - b2) * g**2
                update = (first[j] / bias1) / (np.sqrt(second[j] / bias2) + eps)
            else:
                second[j] = second[j] + g**2
                update = g / np.sqrt(second[j] + eps)
            value = theta[j] + (-eta * update)
            if has_l1:
                shrunk = abs(value) - eta * l1[j]
                value = np.sign(value) * max(shrunk, 0.0)
            theta[j] = value
        counters[2] += stop - start
        if counters[2] >= counters[3]:
            counters[1] += 1
            if counters[1] == 1:
                for j in range(p):
                    avg[j] = theta[j]
            else:
                inverse = 1.0 / counters[1]
                for j in range(p):
                    avg[j] += (theta[j] - avg[j]) * inverse
        else:
            for j in range(p):
                avg[j] = theta[j]


def sgd_steps(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    order: np.ndarray,
    batch_size: int,
    shift: np.ndarray,
    scale: np.ndarray,
    fit_intercept: bool,
    theta: np.ndarray,
    rule: str,
    moments: tuple[np.ndarray, np.ndarray],
    hyper: tuple[float, float, float, float],
    rates: np.ndarray,
    l2: np.ndarray,
    l1: np.ndarray,
    average: np.ndarray,
    counters: np.ndarray,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """One call of the compiled loop on copies of the state; returns the new state.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float32 or float64
        Raw rows; scaled inside as ``(x - shift) / scale``.
    y : ndarray of shape (n_rows,)
    weights : ndarray of shape (n_rows,) or None
    order : ndarray of int64, shape (n_used,)
        The rows in the order of the steps (a permutation for shuffling).
    batch_size : int
    shift, scale : ndarray of shape (n_features,)
    fit_intercept : bool
    theta : ndarray of shape (n_params,)
    rule : {"plain", "momentum", "nesterov", "adam", "adagrad"}
    moments : pair of ndarray of shape (n_params,)
        Momentum trace or Adam's first moment; Adam's second moment or AdaGrad's accumulator.
    hyper : (momentum, b1, b2, eps)
    rates : ndarray of shape (n_steps,)
        The learning rate of each step, ``n_steps = ceil(n_used / batch_size)``.
    l2, l1 : ndarray of shape (n_params,)
        Per-coordinate penalty weights (zero for the intercept).
    average : ndarray of shape (n_params,)
        The averaged iterate.
    counters : ndarray of int64, shape (4,)
        Adam's step count, averaged steps, rows seen, rows before averaging starts.

    Returns
    -------
    theta, moments, average, counters : the state after the steps

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0]]); y = np.array([1.0, 2.0])
    >>> theta, _, avg, _ = sgd_steps(
    ...     X, y, None, np.arange(2), 2, np.zeros(1), np.ones(1), False, np.zeros(1), "plain",
    ...     (np.zeros(1), np.zeros(1)), (0.9, 0.9, 0.999, 1e-8), np.array([0.5]),
    ...     np.zeros(1), np.zeros(1), np.zeros(1), np.array([0, 0, 0, 1]))
    >>> theta, avg
    (array([1.25]), array([1.25]))
    """
    X = X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
    X = np.ascontiguousarray(X)
    w = np.ones(X.shape[0]) if weights is None else np.ascontiguousarray(weights, np.float64)
    theta, avg = theta.astype(np.float64), average.astype(np.float64)
    counters = np.array(counters, dtype=np.int64)
    first, second = (np.array(m, dtype=np.float64) for m in moments)
    momentum, b1, b2, eps = (float(h) for h in hyper)
    _steps(
        X, np.ascontiguousarray(y, np.float64), w, np.ascontiguousarray(order, np.int64),
        # A batch larger than the rows is all rows (the same steps; no huge scratch array).
        min(int(batch_size), max(len(order), 1)), np.asarray(shift, np.float64),
        np.asarray(scale, np.float64),
        bool(fit_intercept), theta, RULES[rule], first, second, momentum, b1, b2, eps,
        np.ascontiguousarray(rates, np.float64), np.asarray(l2, np.float64),
        np.asarray(l1, np.float64), bool(np.any(l1)), avg, counters,
    )
    return theta, (first, second), avg, counters
