"""``python -m benchmarks.accuracy``: correct digits of gradreg, lstsq and statsmodels.

Each case is a polynomial design of degree 1-10 on ``[offset, offset + 1]`` with its columns
scaled over ``10^-s .. 10^s``, noise giving the stated R^2, with or without an intercept,
weighted or not (40 rows). The reference is the weighted least-squares solution at 50 digits
(mpmath, normal equations: a condition number up to 1e20 squared is still resolved). The
error is normwise in column-equilibrated coordinates, ``|D (w - w_ref)| / |D w_ref|`` with
``D`` the columns' (weighted) spreads, the error gradreg certifies; digits are
``-log10(error)``, at most 16. Columns of the table:

- gradreg optimum: the optimum gradreg computes (statistics, then the stable QR form where
  the condition estimate asks for it, then refinement on the rows);
- gradreg fit: ``GDRegressor(fit_intercept=...).fit`` with the defaults, and whether it
  reports ``converged_``; its ``coef_error_bound_`` beside the true error;
- ``numpy.linalg.lstsq`` (SVD) on the raw design with a column of ones;
- statsmodels ``WLS`` (pinv) on the same design.

The tests (``tests/test_accuracy.py``) hold the requirements on these cases; this prints them.
"""

from __future__ import annotations

import argparse
import math
import warnings

import mpmath
import numpy as np

from .machine import describe

# degree, offset, log10 of the largest column scale, R^2, intercept, weighted
CASES = [
    (1, 0.0, 0, 0.9, True, False),
    (1, 1e9, 0, 0.95, True, False),
    (1, 4.16e9, 0, 0.001, True, True),
    (2, 1e3, 3, 0.5, True, False),
    (3, 0.0, 6, 0.9999, True, True),
    (3, 1e2, 0, 0.001, False, False),
    (4, 1.0, 2, 0.99, True, False),
    (5, 0.0, 0, 0.002, True, False),
    (5, 3.0, 6, 0.9, False, True),
    (6, 0.5, 1, 0.9999, True, False),
    (7, 0.0, 4, 0.5, True, True),
    (8, 0.0, 0, 0.9999, True, False),
    (10, 0.5, 0, 0.9999, True, False),
    (10, 0.0, 6, 0.01, False, False),
]


def describe_case(case) -> str:
    degree, offset, scale, r2, intercept, weighted = case
    return f"deg{degree}-off{offset:g}-s{scale}-r2{r2}-{'b' if intercept else 'nob'}-" + (
        "w" if weighted else "u"
    )


def make_case(degree, offset, log_scale, r2, fit_intercept, weighted, n=40, seed=0):
    """A polynomial design on ``[offset, offset + 1]``, its columns scaled, with noise for R^2."""
    rng = np.random.default_rng(seed)
    x = offset + np.sort(rng.uniform(0.0, 1.0, n))
    X = np.column_stack([x**k for k in range(1, degree + 1)])
    X = X * 10.0 ** np.linspace(-log_scale, log_scale, degree)
    beta = rng.normal(size=degree) / X.std(axis=0)
    signal = X @ beta
    centred = signal - signal.mean() if fit_intercept else signal
    spread = math.sqrt(np.mean(centred**2) * (1.0 - r2) / r2)
    y = signal + 3.0 + rng.normal(0.0, spread, n)
    weights = rng.uniform(0.5, 2.0, n) if weighted else None
    return X, y, weights


def mp_reference(X, y, weights, fit_intercept):
    """Weighted least squares at 50 digits by the normal equations (cond^2 < 1e40 is resolved)."""
    with mpmath.workdps(50):
        n, d = X.shape
        columns = d + int(fit_intercept)
        w = [mpmath.mpf(1) if weights is None else mpmath.mpf(float(v))
             for v in (weights if weights is not None else np.ones(n))]
        rows = [[mpmath.mpf(float(v)) for v in X[i]] + ([mpmath.mpf(1)] if fit_intercept else [])
                for i in range(n)]
        target = [mpmath.mpf(float(v)) for v in y]
        gram = mpmath.matrix(columns, columns)
        rhs = mpmath.matrix(columns, 1)
        for i in range(n):
            for a in range(columns):
                wa = w[i] * rows[i][a]
                rhs[a] += wa * target[i]
                for b in range(a, columns):
                    gram[a, b] += wa * rows[i][b]
        for a in range(columns):
            for b in range(a):
                gram[a, b] = gram[b, a]
        solution = mpmath.lu_solve(gram, rhs)
        return np.array([float(solution[j]) for j in range(d)])


def equilibration(X, weights, fit_intercept):
    w = np.ones(len(X)) if weights is None else weights
    mean = np.average(X, axis=0, weights=w) if fit_intercept else np.zeros(X.shape[1])
    return np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))


def relative_error(coef, reference, D):
    return float(np.linalg.norm(D * (coef - reference)) / np.linalg.norm(D * reference))


def digits(error):
    return min(16.0, -math.log10(max(error, 1e-16)))


def lstsq_coef(X, y, weights, fit_intercept):
    A = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    root = np.ones(len(X)) if weights is None else np.sqrt(weights)
    return np.linalg.lstsq(A * root[:, None], y * root, rcond=None)[0][: X.shape[1]]


def statsmodels_coef(X, y, weights, fit_intercept):
    import statsmodels.api as sm

    A = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    w = np.ones(len(X)) if weights is None else weights
    with warnings.catch_warnings():  # a rank-deficient design: pinv's minimum-norm answer
        warnings.simplefilter("ignore")
        return np.asarray(sm.WLS(y, A, weights=w).fit().params)[: X.shape[1]]


def standardized_condition(X, weights, fit_intercept):
    w = np.ones(len(X)) if weights is None else weights
    mean = np.average(X, axis=0, weights=w) if fit_intercept else np.zeros(X.shape[1])
    Z = (X - mean) * np.sqrt(w)[:, None]
    return float(np.linalg.cond(Z / np.linalg.norm(Z, axis=0)))


def gradreg_optimum(X, y, weights, fit_intercept, tol=1e-10):
    """gradreg's optimum of the case (no descent) and its record."""
    from gradreg.penalties import Penalty
    from gradreg.problem import build_problem
    from gradreg.sources import ArraySource

    problem = build_problem(ArraySource(X, y, weights), Penalty(), fit_intercept, tol=tol)
    optimum = problem.optimum
    return problem.precond.to_user(optimum.theta)[0], optimum


def row(case) -> list[str]:
    from gradreg import GDRegressor

    degree, offset, scale, r2, intercept, weighted = case
    X, y, w = make_case(*case)
    reference = mp_reference(X, y, w, intercept)
    D = equilibration(X, w, intercept)
    optimum = gradreg_optimum(X, y, w, intercept)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(fit_intercept=intercept).fit(X, y, sample_weight=w)
    fit_error = relative_error(model.coef_, reference, D)
    return [
        describe_case(case),
        f"{standardized_condition(X, w, intercept):.1e}",
        f"{digits(relative_error(optimum, reference, D)):.1f}",
        f"{digits(fit_error):.1f}",
        "yes" if model.converged_ else "no",
        f"{fit_error:.1e} / {model.coef_error_bound_:.1e}",
        f"{digits(relative_error(lstsq_coef(X, y, w, intercept), reference, D)):.1f}",
        f"{digits(relative_error(statsmodels_coef(X, y, w, intercept), reference, D)):.1f}",
    ]


HEADER = ["case", "condition", "gradreg optimum", "gradreg fit", "converged",
          "fit error / bound", "lstsq", "statsmodels"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__)
    parser.parse_args(argv)
    print("### Correct digits against a 50-digit reference\n")
    print(f"Machine: {describe()}\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for case in CASES:
        print("| " + " | ".join(row(case)) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
