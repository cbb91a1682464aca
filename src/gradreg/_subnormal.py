"""The rounding of reported coefficients below float64's normal range, added to the certificate.

The certificate of :mod:`gradreg.optimum` bounds the reported ``coef_`` and ``intercept_``
with the rounding of each to float64 taken as relative, ``eps |w_j|``. Below the smallest
normal number (``tiny``, about 2.2e-308) float64 keeps fewer digits: a coefficient there is
rounded to a multiple of ``2^-1074`` (about 4.9e-324), an absolute error of up to half of that
whatever its size, and one of 1e-320 is left with three digits. Such coefficients come from a
target far smaller than the features (``w ~ y / x``: a subnormal target, or features near
1e200 against a target near 1e-120).

With ``delta_j`` the absolute rounding of the reported ``w_j`` (``d_j`` the columns' spreads,
``m_j`` their means, ``b`` the intercept, ``c = b + m . w`` the centred intercept) and ``B`` the
bound before it, the triangle inequality gives

.. math::

    \\frac{|D (w' - w^*)|}{|D w^*|} \\le B + \\frac{(1 + B) |D \\delta|}{|D w'| - |D \\delta|},
    \\qquad
    \\frac{|c' - c^*|}{|c^*|} \\le B + \\frac{(1 + B) (\\delta_b + |m| . \\delta)}
    {\\max(|c'| - \\gamma_{d+1} (|b| + |m| . |w|) - \\delta_b - |m| . \\delta, s_y / 2)},

the sizes bounded from below by the reported values and the target's spread ``s_y`` (the
centred intercept's error is relative to the larger); ``gamma_k = k eps / (1 - k eps)`` is
the rounding of forming ``c'`` (Higham 2002, Lemma 3.1). Nothing changes where no reported number
is below ``tiny``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SUBNORMAL_STEP", "with_subnormal_rounding"]

_EPS = float(np.finfo(float).eps)
_TINY = float(np.finfo(float).tiny)
SUBNORMAL_STEP = math.ldexp(1.0, -1074)  # the spacing of float64 below tiny


def with_subnormal_rounding(
    bound: float,
    coef: np.ndarray,
    intercept: float,
    spread: np.ndarray | None,
    mean: np.ndarray | None,
    fit_intercept: bool,
    delta: np.ndarray | None = None,
    delta_intercept: float | None = None,
    target_spread: float = 0.0,
    underflowed: np.ndarray | None = None,
) -> float:
    """``bound`` with the absolute rounding of reported numbers below ``tiny`` added.

    Parameters
    ----------
    bound : float
        The certificate of ``coef`` and ``intercept`` before their rounding below ``tiny``.
    coef : ndarray of shape (d,)
        The reported slopes.
    intercept : float
        The reported intercept (ignored without one).
    spread, mean : ndarray of shape (d,) or None
        The columns' spreads and (weighted) means, in the units of ``coef``; None where they
        are not known (then any rounding below ``tiny`` leaves nothing certified).
    fit_intercept : bool
    delta, delta_intercept : optional
        Bounds on the absolute rounding of each number; by default one spacing,
        ``2^-1074``, for each number below ``tiny`` (zeros included: a smaller value rounds
        to zero where ``underflowed`` says so) and none for the others; for the intercept,
        ``d + 1`` spacings where it or a coefficient is below ``tiny`` (zero excepted).
    target_spread : float
        The target's spread (root mean squared deviation) or 0: the centred intercept's
        error is relative to the larger of its size and this; half of it is taken, which
        leaves room for its rounding.
    underflowed : ndarray of bool, shape (d,), optional
        The zero coefficients that are a nonzero value rounded (exact zeros otherwise).

    Returns
    -------
    float
        The bound of the module's docstring (``inf`` where a reported size cannot be bounded
        from below).

    Examples
    --------
    >>> import numpy as np
    >>> with_subnormal_rounding(1e-14, np.array([1.0]), 0.0, np.array([1.0]), np.zeros(1), True)
    1e-14
    >>> with_subnormal_rounding(1e-14, np.array([1e-320]), 0.0, np.array([1.0]), np.zeros(1),
    ...                         True, target_spread=1e-320) > 1e-4
    True
    """
    coef = np.asarray(coef, dtype=np.float64)
    if delta is None:
        rounded = (coef != 0) if underflowed is None else (coef != 0) | underflowed
        delta = np.where((np.abs(coef) < _TINY) & rounded, SUBNORMAL_STEP, 0.0)
    if delta_intercept is None:
        # A sum below tiny is exact (gradual underflow), its products are not.
        below = intercept != 0 and abs(intercept) < _TINY
        delta_intercept = (coef.size + 1) * SUBNORMAL_STEP if below or np.any(delta) else 0.0
    if not fit_intercept:
        delta_intercept = 0.0
    if not (np.any(delta > 0) or delta_intercept > 0) or not math.isfinite(bound):
        return bound
    if spread is None or (fit_intercept and mean is None):
        return math.inf
    extra = 0.0
    if np.any(delta > 0) and coef.size:
        extra = _relative(coef, delta, np.asarray(spread, dtype=np.float64))
    if fit_intercept:
        extra = max(extra, _centre(coef, float(intercept), np.asarray(mean, dtype=np.float64),
                                   delta, float(delta_intercept), 0.5 * target_spread))
    if not math.isfinite(extra):
        return math.inf
    return bound + (1.0 + bound) * extra * (1.0 + 4.0 * _EPS)


def _relative(coef, delta, spread) -> float:
    """``|D delta| / (|D w| - |D delta|)``, formed with ``w`` and ``delta`` scaled by a
    power of two (exact) so that neither product underflows."""
    largest = float(np.max(np.abs(coef), initial=0.0))
    largest = max(largest, float(np.max(delta)))
    shift = -math.frexp(largest)[1]
    spread = np.ldexp(spread, -math.frexp(float(np.max(spread, initial=0.0)))[1])
    with np.errstate(under="ignore", over="ignore"):
        size = float(np.linalg.norm(spread * np.ldexp(coef, shift)))
        error = float(np.linalg.norm(spread * np.ldexp(delta, shift)))
    if error == 0:
        return 0.0
    # The two norms round by a few eps each: margins either way.
    margin = 4.0 * (coef.size + 2) * _EPS
    size, error = size * (1.0 - margin), error * (1.0 + margin)
    return error / (size - error) if size > error else math.inf


def _centre(coef, intercept, mean, delta, delta_intercept, floor) -> float:
    """The centred intercept's relative rounding (see the module), relative to at least
    ``floor``."""
    error_terms = delta_intercept + float(np.abs(mean) @ delta) if coef.size else delta_intercept
    if error_terms == 0:
        return 0.0
    with np.errstate(under="ignore", over="ignore"):
        products = mean * coef
        centre = intercept + float(np.sum(products))
        terms = abs(intercept) + float(np.sum(np.abs(products)))
    k = coef.size + 1
    gamma = k * _EPS / (1.0 - k * _EPS)
    size = max(abs(centre) - gamma * terms - error_terms - k * SUBNORMAL_STEP, floor)
    return error_terms / size if size > 0 else math.inf
