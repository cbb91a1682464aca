"""Refinement of the augmented system with double-double residuals (gradreg.refine).

The error-free transformations are checked exactly with fractions; the refined coefficients
against least squares solved by mpmath at 50 digits on the same float64 data.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

import gradreg.problem
from gradreg import GDRegressor
from gradreg.objective import Preconditioner
from gradreg.penalties import Penalty
from gradreg.problem import build_problem
from gradreg.refine import _column_sums, _two_product, _two_sum, dd_dot, refine_augmented
from gradreg.sources import ArraySource

EPS = float(np.finfo(float).eps)


def wide_values(rng, size):
    """Float64 values of both signs over 60 binary orders of magnitude."""
    return rng.choice([-1.0, 1.0], size) * rng.uniform(1.0, 2.0, size) * 2.0 ** rng.integers(
        -30, 30, size
    )


def test_two_sum_and_two_product_are_exact():
    rng = np.random.default_rng(0)
    a, b = wide_values(rng, 300), wide_values(rng, 300)
    s, e = _two_sum(a, b)
    p, f = _two_product(a, b)
    for i in range(a.size):
        assert Fraction(s[i]) + Fraction(e[i]) == Fraction(a[i]) + Fraction(b[i])
        assert Fraction(p[i]) + Fraction(f[i]) == Fraction(a[i]) * Fraction(b[i])


def test_dot_is_as_accurate_as_twice_the_precision():
    # An ill-conditioned dot product: large terms cancel, leaving a small exact result.
    rng = np.random.default_rng(1)
    a, b = wide_values(rng, 200), wide_values(rng, 200)
    a = np.concatenate([a, a, [3.0]])
    b = np.concatenate([b, -b * (1 + 2 * EPS), [0.1]])
    exact = sum(Fraction(x) * Fraction(y) for x, y in zip(a, b, strict=True))
    # Ogita, Rump and Oishi (2005), Proposition 5.5: eps |a.b| + gamma_n^2 sum |a_i b_i|.
    n = a.size
    gamma = n * EPS / (1 - n * EPS)
    bound = EPS * abs(float(exact)) + gamma**2 * float(np.abs(a * b).sum())
    assert abs(Fraction(dd_dot(a, b)) - exact) <= Fraction(bound)
    naive = float(a @ b)
    assert abs(Fraction(naive) - exact) > Fraction(bound)  # the case needs the extra precision


def test_column_sums_of_cancelling_columns():
    rng = np.random.default_rng(2)
    high = wide_values(rng, (501, 3))
    high[250:500] = -high[:250] * (1 + EPS)
    low = wide_values(rng, (501, 3)) * 2.0**-60
    sums = _column_sums(high.copy(), low)
    for j in range(3):
        exact = sum(Fraction(v) for v in high[:, j]) + sum(Fraction(v) for v in low[:, j])
        size = float(np.abs(high[:, j]).sum())
        # Rounded once, plus errors of order n eps^2 of the terms' sizes.
        bound = EPS * abs(float(exact)) + 4 * 501 * EPS**2 * size
        assert abs(Fraction(float(sums[j])) - exact) <= Fraction(bound)


def polynomial(degree, offset, n=40, seed=0, weighted=False, intercept=True):
    rng = np.random.default_rng(seed)
    x = offset + np.sort(rng.uniform(0.0, 1.0, n))
    X = np.column_stack([x**k for k in range(1, degree + 1)])
    coef = rng.normal(size=degree) / X.std(axis=0)
    y = X @ coef + (3.0 if intercept else 0.0) + 1e-3 * rng.normal(size=n) * np.std(X @ coef)
    weights = rng.uniform(0.0, 2.0, n) if weighted else None
    if weighted:
        weights[::7] = 0.0  # rows that do not count
    return X, y, weights


def mp_lstsq(X, y, weights, intercept):
    """Weighted least squares by mpmath's QR at 50 digits, from the float64 data (rows of
    weight zero left out: they do not count)."""
    if weights is not None:
        keep = weights > 0
        X, y, weights = X[keep], y[keep], weights[keep]
    with mpmath.workdps(50):
        roots = [mpmath.sqrt(mpmath.mpf(float(w))) for w in
                 (np.ones(len(y)) if weights is None else weights)]
        rows = [[root * mpmath.mpf(float(v)) for v in row] + ([root] if intercept else [])
                for row, root in zip(X, roots, strict=True)]
        target = [root * mpmath.mpf(float(v)) for v, root in zip(y, roots, strict=True)]
        solution, _ = mpmath.qr_solve(mpmath.matrix(rows), mpmath.matrix(target))
        return np.array([float(solution[j]) for j in range(X.shape[1])])


@pytest.mark.parametrize(
    "degree, offset, weighted, intercept",
    [(9, 0.5, True, True), (10, 0.5, False, True), (8, 1.0, True, False)],
)
def test_refined_coefficients_near_working_precision(degree, offset, weighted, intercept):
    X, y, w = polynomial(degree, offset, weighted=weighted, intercept=intercept)
    weights = np.ones(len(y)) if w is None else w
    mean = np.average(X, axis=0, weights=weights) if intercept else np.zeros(degree)
    spread = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weights))
    canon = Preconditioner(mean, spread, intercept, np.zeros(degree, bool))
    reference = mp_lstsq(X, y, w, intercept)
    Z = (X - mean) / spread
    Z = np.column_stack([Z, np.ones(len(y))]) if intercept else Z
    root = np.sqrt(weights)
    start = np.linalg.lstsq(Z * root[:, None], y * root, rcond=None)[0]
    condition = float(np.linalg.cond(Z * root[:, None]))
    theta = refine_augmented(X, y, w, canon, start)
    coef = canon.to_user(theta)[0]

    def error(c):
        return float(np.linalg.norm(spread * (c - reference)) / np.linalg.norm(spread * reference))

    # Higham (2002), section 20.5: with residuals in extended precision each step contracts
    # the error by about c cond eps, and the limit is the rounding of the solution itself
    # (eps / 2 per coefficient) plus the residuals' own error (n cond eps^2, negligible here);
    # the map to canonical coordinates and back rounds twice more: 1.5 eps, within 4 eps.
    assert condition * EPS < 1e-4
    assert error(coef) <= 4 * EPS
    assert error(canon.to_user(start)[0]) > error(coef)


def test_fallback_only_where_the_condition_asks(monkeypatch):
    calls = []
    original = gradreg.problem.refine_augmented

    def counted(*args):
        calls.append(args[0].shape)
        return original(*args)

    monkeypatch.setattr(gradreg.problem, "refine_augmented", counted)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    GDRegressor().fit(X, X @ [1.0, 2.0, 3.0] + rng.normal(size=200))
    assert calls == []
    X, y, _ = polynomial(10, 0.5)
    problem = build_problem(ArraySource(X, y), Penalty(), True, tol=1e-10)
    assert calls == [X.shape]
    assert problem.optimum.method == "qr"


def test_fewer_rows_than_parameters():
    """The least-squares system of fewer rows than parameters has no square factor to refine
    with: the point comes back as given (scipy raised 'expected square matrix')."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 3))
    y = rng.normal(size=3)
    canon = Preconditioner(X.mean(0), X.std(0), True, np.zeros(3, bool))
    theta = rng.normal(size=4)
    np.testing.assert_array_equal(refine_augmented(X, y, None, canon, theta), theta)


def test_a_fit_of_three_rows_at_an_offset_with_three_features():
    """Columns near 1e12: the factor's rounding makes four parameters look resolved by three
    rows, and the fit refined them (it raised ValueError); it is a rank-deficient design,
    whose certificate is that of the minimum-norm solution or none."""
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(3, 3))
    Z[:, 1:] = Z[:, :1] + 1e-3 * Z[:, 1:]
    X = Z * [1e-2, 1.0, 1e2] + 1e12
    y = Z @ rng.normal(size=3) + 3.0
    with pytest.warns(Warning):  # rank deficient, or not certified
        model = GDRegressor().fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    assert not model.converged_
