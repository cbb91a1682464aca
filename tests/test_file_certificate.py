"""Fits of files measure their error from the rows, as fits of arrays do: the same cases of
the accuracy suite, written to Parquet and CSV, are certified with a bound that holds."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from benchmarks.accuracy import (
    CASES,
    describe_case,
    equilibration,
    make_case,
    mp_reference,
    relative_error,
)

from gradreg import GDRegressor, scan

UNWEIGHTED = [case for case in CASES if not case[5]]


def _write(tmp_path, X, y, kind):
    table = pa.table({**{f"x{j}": X[:, j] for j in range(X.shape[1])}, "y": y})
    path = tmp_path / f"rows.{kind}"
    if kind == "parquet":
        pq.write_table(table, path)
    else:  # shortest repr: every float64 value reads back exactly
        path.write_text(",".join(table.column_names) + "\n" + "\n".join(
            ",".join(repr(float(v)) for v in row) for row in np.c_[X, y]) + "\n")
        assert pacsv.read_csv(path).num_rows == len(y)
    return scan(path, target="y", features=[f"x{j}" for j in range(X.shape[1])])


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("case", UNWEIGHTED, ids=[describe_case(c) for c in UNWEIGHTED])
def test_a_file_fit_is_certified_like_the_array_fit(tmp_path, case, kind):
    X, y, _ = make_case(*case)
    fit_intercept = case[4]
    reference = mp_reference(X, y, None, fit_intercept)
    D = equilibration(X, None, fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cases float64 cannot certify warn; checked below
        array = GDRegressor(fit_intercept=fit_intercept).fit(X, y)
        model = GDRegressor(fit_intercept=fit_intercept).fit(_write(tmp_path, X, y, kind))
    error = relative_error(model.coef_, reference, D)
    assert error <= model.coef_error_bound_
    # Measured from the rows, the file's bound certifies wherever the array's does.
    assert model.converged_ == array.converged_
