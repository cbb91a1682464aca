"""The pairwise merge of statistics with weight sums near either end of float64's range.

The merge's factor ``W_a W_b / (W_a + W_b)`` lies between half the smaller weight sum and the
smaller weight sum, so it is in range whenever the weight sums are; the product ``W_a W_b``
is not (it underflows to zero below about 1e-154 each, overflows above 1e154)."""

import math

import numpy as np
import pytest

from conftest import EPS, assert_fit_within_rounding, assert_within, cross_bound, lstsq_fit
from gradreg import GDRegressor
from gradreg.stats import moments_from_batches, stats_from_arrays

# Weights scaled by 2**k (exact): their sums' products leave float64's range for |k| >= 540.
EXPONENTS = [-1000, 1000]


def _halves(seed):
    """Two halves of rows whose means differ by several spreads: the merge's term
    ``W_a W_b / W delta delta^T`` is most of the centred cross-products."""
    rng = np.random.default_rng(seed)
    n, d = 600, 3
    X = rng.normal(size=(n, d)) * np.array([1.0, 2.0, 0.5])
    X[n // 2:] += np.array([4.0, -6.0, 3.0])
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    return X, y, w


def _centred(X, y, w):
    """Two-pass weighted centring in float64: an independent computation of the statistics."""
    A = np.c_[X, y]
    mean = w @ A / w.sum()
    mean = mean + w @ (A - mean) / w.sum()
    Z = A - mean
    return mean, (Z * w[:, None]).T @ Z


@pytest.mark.parametrize("exponent", EXPONENTS)
def test_merged_statistics_with_weight_sums_whose_product_leaves_the_range(exponent):
    X, y, w = _halves(0)
    half = len(y) // 2
    scaled = np.ldexp(w, exponent)
    merged = (stats_from_arrays(X[:half], y[:half], scaled[:half])
              + stats_from_arrays(X[half:], y[half:], scaled[half:]))
    mean, cross = _centred(X, y, w)
    assert merged.weight_sum == pytest.approx(math.ldexp(math.fsum(w), exponent),
                                              rel=len(y) * EPS)
    # each part's pass and the reference: sums of the rows (bound of a sum of n terms, for
    # each of the two, 4 operations a term); the merge: a few roundings of its terms.
    assert_within(merged.mean, mean, 8 * len(y) * EPS * np.abs(np.c_[X, y]).max(axis=0))
    assert_within(np.ldexp(merged.cross, -exponent), cross,
                  cross_bound(cross, n_terms=len(y), factor=8))


@pytest.mark.parametrize("exponent", EXPONENTS)
def test_merged_column_moments_with_weight_sums_whose_product_leaves_the_range(exponent):
    X, y, w = _halves(1)
    half = len(y) // 2
    scaled = np.ldexp(w, exponent)
    moments = moments_from_batches(
        [(X[:half], y[:half], scaled[:half]), (X[half:], y[half:], scaled[half:])], 3)
    mean, cross = _centred(X, y, w)
    assert_within(moments.mean, mean, 8 * len(y) * EPS * np.abs(np.c_[X, y]).max(axis=0))
    assert_within(np.ldexp(moments.squares, -exponent), np.diag(cross),
                  np.diag(cross_bound(cross, n_terms=len(y), factor=8)))


@pytest.mark.parametrize("exponent", EXPONENTS)
def test_partial_fit_in_chunks_with_weights_near_the_ends_of_the_range(exponent):
    """partial_fit keeps the weights' own scale (its chunks share one); its chunks' statistics
    are merged, the second chunk's rows through the compiled pass."""
    rng = np.random.default_rng(2)
    n, d = 9000, 3
    X = rng.normal(size=(n, d)) * np.array([1.0, 3.0, 10.0]) + 5.0
    X[5000:] += 2.0
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=n)
    w = rng.uniform(0.1, 2.0, size=n)
    model = GDRegressor()
    for a, b in [(0, 5000), (5000, n)]:
        model.partial_fit(X[a:b], y[a:b], sample_weight=np.ldexp(w[a:b], exponent))
    coef, intercept = lstsq_fit(X, y, w)  # the same fit: weights scaled by a power of two
    assert_fit_within_rounding(model.coef_, model.intercept_, X, coef, intercept,
                               sample_weight=w, certified=model.coef_error_bound_)
