"""Weights near either end of float64's range.

The pairwise merge's factor ``W_a W_b / (W_a + W_b)`` lies between half the smaller weight sum
and the smaller weight sum, so it is in range whenever the weight sums are; the product
``W_a W_b`` is not (it underflows to zero below about 1e-154 each, overflows above 1e154).
Streams keep their weights' own scale (files, partial_fit): weights whose products with the
data underflow are refused, where the statistics lost their precision or vanished."""

import math
import os

import numpy as np
import pytest

from conftest import EPS, assert_fit_within_rounding, assert_within, cross_bound, lstsq_fit
from gradreg import GDRegressor, scan
from gradreg.errors import DataRangeError
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


def _chunked_rows(seed):
    rng = np.random.default_rng(seed)
    n, d = 9000, 3
    X = rng.normal(size=(n, d)) * np.array([1.0, 3.0, 10.0]) + 5.0
    X[5000:] += 2.0
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=n)
    w = rng.uniform(0.1, 2.0, size=n)
    return X, y, w


# 2^1000: the weight sums' product overflows; 2^-400 (average weight above sqrt(tiny), about
# 1e-154, every product with the data in range): the smallest weights a stream takes.
@pytest.mark.parametrize("exponent", [1000, -400])
def test_partial_fit_in_chunks_with_weights_near_the_ends_of_the_range(exponent):
    """partial_fit keeps the weights' own scale (its chunks share one); its chunks' statistics
    are merged, the second chunk's rows through the compiled pass."""
    X, y, w = _chunked_rows(2)
    model = GDRegressor()
    for a, b in [(0, 5000), (5000, len(y))]:
        model.partial_fit(X[a:b], y[a:b], sample_weight=np.ldexp(w[a:b], exponent))
    coef, intercept = lstsq_fit(X, y, w)  # the same fit: weights scaled by a power of two
    assert_fit_within_rounding(model.coef_, model.intercept_, X, coef, intercept,
                               sample_weight=w, certified=model.coef_error_bound_)


# (weight scale, data scale) whose products w z z underflow: 1e-150 x 1e-85 (about 1e-320,
# a few multiples of 2^-1074 each: coefficients off by 7e-8, certified to 1.5e-13), refused
# for its sizes; 1e-300 x 1e-100 (all zero, as are the weighted means: a fit of zeros,
# reported converged), refused for its average weight below sqrt(tiny); 1e-310 x 1e-5, both.
TOO_SMALL = [(1e-150, 1e-85), (1e-300, 1e-100), (1e-310, 1e-5)]


@pytest.mark.parametrize(("weight_scale", "data_scale"), TOO_SMALL)
def test_partial_fit_refuses_weights_whose_products_underflow(weight_scale, data_scale):
    X, y, w = _chunked_rows(3)
    model = GDRegressor()
    with pytest.raises(DataRangeError, match=r"sample weights \(mean .*\) are so small .* "
                                             r"Multiply the weights by a constant"):
        model.partial_fit(X * data_scale, y * data_scale, sample_weight=w * weight_scale)
    assert not hasattr(model, "coef_")


@pytest.mark.parametrize(("weight_scale", "data_scale"), TOO_SMALL)
def test_a_file_fit_refuses_weights_whose_products_underflow(tmp_path, weight_scale,
                                                             data_scale):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X, y, w = _chunked_rows(4)
    path = os.path.join(tmp_path, "rows.parquet")
    pq.write_table(pa.table({"a": X[:, 0] * data_scale, "b": X[:, 1] * data_scale,
                             "c": X[:, 2] * data_scale, "y": y * data_scale,
                             "w": w * weight_scale}), path)
    with pytest.raises(DataRangeError, match=r"sample weights \(mean .*\) are so small"):
        GDRegressor().fit(scan(path, formula="y ~ a + b + c", weights="w"))
    # The same rows with the weights scaled back into range: the fit of the same problem.
    pq.write_table(pa.table({"a": X[:, 0] * data_scale, "b": X[:, 1] * data_scale,
                             "c": X[:, 2] * data_scale, "y": y * data_scale, "w": w}), path)
    model = GDRegressor().fit(scan(path, formula="y ~ a + b + c", weights="w"))
    coef, intercept = lstsq_fit(X * data_scale, y * data_scale, w)
    assert_fit_within_rounding(model.coef_, model.intercept_, X * data_scale, coef, intercept,
                               sample_weight=w, certified=model.coef_error_bound_)
