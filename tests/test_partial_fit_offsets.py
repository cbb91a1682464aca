"""partial_fit merges its chunks around one origin: a column offset far beyond its spread
keeps its cross-products, and the certificate holds (the chunks are no second pass)."""

import warnings

import numpy as np
from benchmarks.accuracy import equilibration, mp_reference, relative_error

from conftest import rounding_bound
from gradreg import GDRegressor
from gradreg.stats import stats_from_arrays


def _offset_rows(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n) * 2.0, 1e6 + 2e-4 * rng.normal(size=n)])
    y = X[:, 0] * 1.3 + (X[:, 1] - 1e6) * 2e4 - 1.8e8 + 1.5 * rng.normal(size=n)
    return X, y


def _streamed(X, y, rows=50):
    model = GDRegressor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # early calls cannot certify tol, and say so
        for start in range(0, len(y), rows):
            model.partial_fit(X[start:start + rows], y[start:start + rows])
    return model


def test_merged_chunks_keep_the_cross_products_of_an_offset_column():
    X, y = _offset_rows()
    model = _streamed(X, y)
    whole = stats_from_arrays(X, y)
    size = np.sqrt(np.outer(np.diag(whole.cross), np.diag(whole.cross)))
    # Sums of n products of shifted values, then a few merges of shifted means: factor 8.
    # Merged as absolute means the offset column lost eps x 5e9 per merge (1.4e-8 here).
    assert np.all(np.abs(model.stats_.cross - whole.cross) <= rounding_bound(1.0, 8, len(y)) * size)


def test_the_certificate_of_a_stream_of_offset_chunks_holds():
    X, y = _offset_rows()
    model = _streamed(X, y)
    error = relative_error(model.coef_, mp_reference(X, y, None, True),
                           equilibration(X, None, True))
    assert error <= model.coef_error_bound_
    if model.converged_:
        assert error <= model.tol
