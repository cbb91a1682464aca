"""The design behind the summary table where cross-products fail: ill-conditioned polynomial
designs and duplicated columns. Condition number, rank, standard errors, intervals and tests
against 50-digit mpmath references, SVDs and statsmodels."""

import json
import math
import warnings

import mpmath
import numpy as np
import pytest
import scipy.stats
import statsmodels.api as sm
from sklearn.datasets import load_diabetes

from conftest import EPS, assert_within, rounding_bound
from gradreg import GDRegressor, load_model
from gradreg.errors import DataError, GradregWarning, ModelFormatError
from gradreg.optimum import RANK_RTOL

DEGREE = 10
ROWS = 200
P = DEGREE + 1  # parameters: the intercept and x, ..., x^10
# x in [0, 1], and x in [20, 80] (ages, years: far from zero in units of their spread, where
# the raw design with its constant, statsmodels', has a condition number past 1/eps).
RANGES = {"unit interval": (0.0, 1.0), "ages 20 to 80": (20.0, 80.0)}


def _polynomial(low, high):
    x = np.linspace(low, high, ROWS)
    X = np.column_stack([x**k for k in range(1, DEGREE + 1)])
    t = (x - low) / (high - low)
    y = np.sin(3.0 * t) + 0.01 * np.random.default_rng(0).normal(size=ROWS)
    return X, y


def _weights(weighted):
    # The largest weight is near 1.5: the fit divides the weights by 2, an odd power of two,
    # and the table takes the factor back to the weights' own units.
    return np.random.default_rng(1).uniform(0.5, 1.5, ROWS) if weighted else None


def _fit(X, y, weights=None):
    with warnings.catch_warnings():
        # Badly conditioned and not certified to tol (the fit says so): what the table says
        # is tested, not the fit's warnings.
        warnings.simplefilter("ignore")
        return GDRegressor().fit(X, y, sample_weight=weights)


def _mp_reference(X, y, weights=None, points=(), robust=False):
    """At 50 digits from the float64 data (``A = [1, X]``): the WLS optimum ``params``, ``ssr``,
    ``tss``, the nonrobust standard errors ``bse``, the standard errors of the mean response at
    ``points`` (rows of X), the HC3 standard errors when ``robust``, and the eigenvalues and
    condition number of the standardized design (weighted centred columns of unit root mean
    square, next to the column of ones) from its correlation matrix."""
    n, d = X.shape
    with mpmath.workdps(50):
        w = [mpmath.mpf(1)] * n if weights is None else [mpmath.mpf(float(v)) for v in weights]
        A = mpmath.matrix([[1, *row] for row in X.tolist()])
        WA = mpmath.matrix(n, d + 1)
        for i in range(n):
            for j in range(d + 1):
                WA[i, j] = w[i] * A[i, j]
        inverse = (A.T * WA) ** -1
        params = inverse * (WA.T * mpmath.matrix(y.tolist()))
        residual = [y[i] - sum(A[i, j] * params[j] for j in range(d + 1)) for i in range(n)]
        ssr = sum(w[i] * residual[i] ** 2 for i in range(n))
        scale = ssr / (n - d - 1)
        total = sum(w)
        mean_y = sum(w[i] * y[i] for i in range(n)) / total
        mean = [sum(w[i] * A[i, j] for i in range(n)) / total for j in range(d + 1)]
        cross = mpmath.matrix(d, d)
        for a in range(d):
            for b in range(a, d):
                cross[a, b] = cross[b, a] = sum(
                    w[i] * (A[i, a + 1] - mean[a + 1]) * (A[i, b + 1] - mean[b + 1])
                    for i in range(n))
        correlation = mpmath.matrix(d + 1, d + 1)
        correlation[0, 0] = 1
        for a in range(d):
            for b in range(d):
                correlation[a + 1, b + 1] = cross[a, b] / mpmath.sqrt(cross[a, a] * cross[b, b])
        eigenvalues = mpmath.eigsy(correlation, eigvals_only=True)
        reference = {
            "params": np.array([float(v) for v in params]),
            "bse": np.array([float(mpmath.sqrt(scale * inverse[j, j])) for j in range(d + 1)]),
            "ssr": float(ssr),
            "tss": float(sum(w[i] * (y[i] - mean_y) ** 2 for i in range(n))),
            "eigenvalues": np.array([float(v) for v in eigenvalues]),
            "condition": float(mpmath.sqrt(max(eigenvalues) / min(eigenvalues))),
            "mean_se": np.array([
                float(mpmath.sqrt(scale * (z * inverse * z.T)[0]))
                for z in (mpmath.matrix([[1, *row]]) for row in np.atleast_2d(points).tolist())
            ]) if len(points) else np.zeros(0),
        }
        if robust:
            meat = mpmath.matrix(d + 1, d + 1)
            for i in range(n):
                row = A[i, :]
                leverage = w[i] * (row * inverse * row.T)[0]
                meat += (w[i] ** 2 * residual[i] ** 2 / (1 - leverage) ** 2) * (row.T * row)
            cov = inverse * meat * inverse
            reference["hc3"] = np.array([float(mpmath.sqrt(cov[j, j])) for j in range(d + 1)])
        return reference


def _variance_bound(condition, p, n):
    """Relative error of a variance ``z^T (A^T W A)^-1 z`` computed from a backward-stable
    triangular factor of the rows (or an SVD of them): it is exact for rows whose columns are
    perturbed by at most ``n p eps`` of their size (Higham 2002, Thm 19.4, worst case), ``sqrt(p)
    n p eps`` in the 2-norm of the design with columns of unit size, which moves the variance by
    twice that over the smallest singular value: ``2 sqrt(p) n p eps cond``."""
    return rounding_bound(condition, 2 * math.sqrt(p), n * p)


def _ssr_bound(X, weights, params, ssr, tss):
    """Relative error of the residual sum of squares from such a factor: the residual of
    perturbed rows moves by ``g (sum_j |w_j| |x_j - m_j| + |y - m_y|) = g sqrt(tss) (|u|_1 + 1)``
    (``g = n p eps``, ``u`` the slopes times each column's spread over the target's), and its
    square by twice that over ``sqrt(ssr)``, plus its square."""
    n, p = X.shape[0], X.shape[1] + 1
    w = np.ones(n) if weights is None else weights
    mean = np.average(X, axis=0, weights=w)
    spread = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))
    u = params[1:] * spread / math.sqrt(tss / w.sum())
    move = rounding_bound(1.0, 1, n * p) * math.sqrt(tss) * (np.abs(u).sum() + 1.0)
    return 2 * move / math.sqrt(ssr) + (move / math.sqrt(ssr)) ** 2


def _bse_bound(X, weights, reference, gap):
    """Relative error of each standard error: half the variance's and the sum of squares'
    (square roots), and half the fit's relative gap, by which its sum of squares exceeds the
    optimum's."""
    variance = _variance_bound(reference["condition"], X.shape[1] + 1, X.shape[0])
    ssr = _ssr_bound(X, weights, reference["params"], reference["ssr"], reference["tss"])
    return 0.5 * (variance + ssr + gap)


@pytest.mark.parametrize("weighted", [False, True], ids=["OLS", "WLS"])
@pytest.mark.parametrize("where", sorted(RANGES))
def test_polynomial_tables_hold_to_the_condition_number_not_its_square(where, weighted):
    low, high = RANGES[where]
    X, y = _polynomial(low, high)
    weights = _weights(weighted)
    model = _fit(X, y, weights)
    points = X[[0, ROWS // 3, ROWS - 1]]
    reference = _mp_reference(X, y, weights, points, robust=not weighted)
    condition = reference["condition"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradregWarning)  # no rank deficiency is reported
        summary = model.summary()
    # Past RANK_RTOL^(-1/2) cross-products cannot tell this design from a rank-deficient one;
    # the table comes from the QR factor the fit gathered, with every direction resolved.
    assert condition > RANK_RTOL**-0.5 and summary.method == "qr"
    assert np.all(reference["eigenvalues"] > 0)
    assert summary.rank == model.rank_ == P and summary.df_model == DEGREE
    assert summary.df_resid == ROWS - P and summary.identifiable.all()
    # The factor is exact for perturbed rows (see _variance_bound), which move each singular
    # value by at most the perturbation: the ratio by twice it over the smallest; the SVD of
    # the p x p factor adds p eps of the largest.
    relative = 0.5 * _variance_bound(condition, P, ROWS) + rounding_bound(condition, P)
    assert_within(summary.condition_number, condition, relative * condition)

    bound = _bse_bound(X, weights, reference, model.optimality_gap_)
    assert_within(summary.bse, reference["bse"], bound * reference["bse"])
    # The table's own claim holds, and vouches for what the condition number allows.
    assert 10.0 ** -summary.digits >= np.max(np.abs(summary.bse / reference["bse"] - 1))
    assert summary.digits >= math.floor(-math.log10(bound - 0.5 * model.optimality_gap_))
    assert_within(summary.ssr, reference["ssr"], reference["ssr"] * (
        _ssr_bound(X, weights, reference["params"], reference["ssr"], reference["tss"])
        + model.optimality_gap_))

    # t, p and intervals at the table's coefficients, from the reference standard errors.
    t_reference = summary.params / reference["bse"]
    t_bound = np.abs(t_reference) * bound / (1 - bound)
    assert_within(summary.tvalues, t_reference, t_bound)
    p_reference = 2 * scipy.stats.t.sf(np.abs(t_reference), ROWS - P)
    assert_within(summary.pvalues, p_reference, 0.8 * t_bound + 4 * EPS)
    quantile = scipy.stats.t.ppf(0.975, ROWS - P)
    half = quantile * reference["bse"]
    assert_within(summary.conf_int(), summary.params[:, None] + np.c_[-half, half],
                  (half * bound + 4 * EPS * (np.abs(summary.params) + half))[:, None])
    # The coefficients themselves, within the fit's certified bound (column-equilibrated
    # slopes, normwise).
    w = np.ones(ROWS) if weights is None else weights
    spread = np.sqrt(np.average((X - np.average(X, axis=0, weights=w)) ** 2, axis=0,
                                weights=w))
    slopes = reference["params"][1:] * spread
    assert np.linalg.norm(summary.params[1:] * spread - slopes) <= (
        model.coef_error_bound_ * np.linalg.norm(slopes))

    # Mean-response intervals: variances of linear combinations, held to the same bound.
    interval = model.predict_interval(points, kind="confidence")
    half_width = (interval[:, 1] - interval[:, 0]) / 2
    expected = quantile * reference["mean_se"]
    rounding = 2 * EPS * np.abs(interval).max(axis=1)
    assert_within(half_width, expected, bound * expected + rounding)

    if not weighted:
        robust = model.summary("HC3", X=X, y=y)
        assert 10.0 ** -robust.digits >= np.max(np.abs(robust.bse / reference["hc3"] - 1))
        # The meat is summed in whitened coordinates: the claim is of the order of cond x eps
        # too, not of cond^2 x eps (which leaves no digit here).
        assert robust.digits >= math.floor(-math.log10(
            _variance_bound(condition, P, ROWS) + 2 * math.sqrt(model.optimality_gap_)))


def test_polynomial_standard_errors_agree_with_statsmodels_within_both_bounds():
    X, y = _polynomial(*RANGES["unit interval"])
    model = _fit(X, y)
    summary = model.summary()
    reference = _mp_reference(X, y)
    exog = sm.add_constant(X)
    result = sm.OLS(y, exog).fit()
    # statsmodels' pseudo-inverse comes from an SVD of the raw design with its constant: the
    # same analysis with that design's condition number.
    singular = np.linalg.svd(exog, compute_uv=False)
    raw = singular[0] / singular[-1]
    bound = _bse_bound(X, None, reference, model.optimality_gap_) + 0.5 * _variance_bound(
        raw, P, ROWS)
    assert_within(summary.bse, result.bse, bound * result.bse)
    assert summary.df_model == result.df_model and summary.df_resid == result.df_resid
    # statsmodels' condition number is that of the raw design (its notes warn above 1000);
    # the table's is that of the standardized one, which the units and offsets do not change.
    assert result.condition_number == pytest.approx(raw, rel=_variance_bound(raw, P, ROWS))
    # (The shifted data carry one rounding of each entry, eps x 7 over each column's spread
    # of at least 0.2, a perturbation far inside the bound.)
    rescaled = _fit(X * np.logspace(0, 3, DEGREE) + 7.0, y).summary()
    relative = _variance_bound(reference["condition"], P, ROWS)
    assert_within(rescaled.condition_number, reference["condition"],
                  relative * reference["condition"])


def _with_duplicate(X, column):
    return np.column_stack([X, X[:, column]])


def test_duplicated_column_of_a_polynomial_leaves_the_rank_one_short():
    X, y = _polynomial(*RANGES["unit interval"])
    duplicated = _with_duplicate(X, 2)  # x^3 twice: x2 and x10
    model = _fit(duplicated, y)
    with pytest.warns(GradregWarning, match=r"The design is rank deficient \(rank 11 of 12\): "
                                            r"the coefficient\(s\) of x2, x10 are not "
                                            "identifiable"):
        summary = model.summary()
    assert summary.method == "qr" and summary.rank == model.rank_ == P
    assert summary.df_resid == ROWS - P and summary.df_model == DEGREE
    hidden = np.isin(summary.names, ["x2", "x10"])
    assert np.array_equal(~summary.identifiable, hidden)
    assert np.all(np.isnan(summary.bse[hidden]))
    # Every other coefficient is that of the design without the copy, whose standard errors
    # the 50-digit reference gives.
    reference = _mp_reference(X, y)
    bound = _bse_bound(X, None, reference, model.optimality_gap_)
    kept = ~hidden[:-1]  # the copy is the last column
    assert_within(summary.bse[:-1][kept], reference["bse"][kept],
                  bound * reference["bse"][kept])
    assert "Rank deficient (rank 11 of 12): x2, x10 not identifiable" in str(summary)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")  # statsmodels'
@pytest.mark.filterwarnings("ignore:covariance of constraints does not have full rank")
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "HC3"])
def test_duplicated_column_matches_statsmodels_and_its_wald_test(cov_type):
    bunch = load_diabetes(as_frame=True)
    X = bunch.data.assign(**{"bmi copy": bunch.data["bmi"]})
    y = bunch.target.to_numpy()
    model = _fit(X, y)
    with pytest.warns(GradregWarning, match=r"rank 11 of 12\): the coefficient\(s\) of bmi, "
                                            "bmi copy are not identifiable"):
        summary = model.summary(cov_type, X=X, y=y)
    exog = np.column_stack([np.ones(len(y)), X])
    result = sm.OLS(y, exog).fit(cov_type=cov_type)
    assert summary.rank == np.linalg.matrix_rank(exog) == 11
    assert summary.df_model == result.df_model and summary.df_resid == result.df_resid
    singular = np.linalg.svd(exog, compute_uv=False)
    raw = singular[0] / singular[-2]  # over the directions both keep
    standardized = (X - X.mean()) / X.std(ddof=0)
    singular = np.linalg.svd(np.column_stack([np.ones(len(y)), standardized]), compute_uv=False)
    condition = singular[0] / singular[-2]
    assert_within(summary.condition_number, condition, _variance_bound(condition, 12, len(y))
                  * condition)
    ok = summary.identifiable
    # Each side's variances within the factor bound for its own design (the table's claim for
    # the HC types), and both sums of squares within the same.
    bound = 0.5 * (_variance_bound(condition, 12, len(y)) + _variance_bound(raw, 12, len(y)))
    bound += 10.0 ** -summary.digits + model.optimality_gap_
    assert_within(summary.bse[ok], result.bse[ok], bound * result.bse[ok])
    # The F (Wald) test of the slopes counts the estimable ones, as statsmodels: inverting a
    # covariance of condition up to the design's squared (statsmodels' route) costs that times
    # the covariance's own error.
    assert_within(summary.fvalue, result.fvalue,
                  (bound + _variance_bound(raw**2, 12, len(y))) * result.fvalue)


def test_cross_products_alone_say_they_cannot_tell_and_the_data_resolve_it():
    X, y = _polynomial(*RANGES["unit interval"])
    model = GDRegressor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows in (slice(0, ROWS // 2), slice(ROWS // 2, None)):
            model.partial_fit(X[rows], y[rows])
    assert not hasattr(model, "qr_stats_")  # the factor of one chunk is not that of all rows
    with pytest.warns(GradregWarning, match="rank deficient at the precision of its "
                                            "cross-products .*pass the training data again"):
        summary = model.summary()
    assert summary.method == "gram" and summary.rank < P
    assert summary.condition_number == math.inf and summary.digits == 0
    assert "cannot tell this design from a rank-deficient one" in str(summary)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradregWarning)
        resolved = model.summary(X=X, y=y)
    condition = _mp_reference(X, y)["condition"]
    assert resolved.method == "qr" and resolved.rank == P
    assert_within(resolved.condition_number, condition,
                  _variance_bound(condition, P, ROWS) * condition)
    with pytest.raises(DataError, match=f"The data passed for the QR factor hold {ROWS - 1} "
                                        f"rows .* fitted on {ROWS} rows"):
        model.summary(X=X[1:], y=y[1:])
    with pytest.raises(DataError, match="The data passed for the QR factor overflow float64 "
                                        "once centred and scaled"):
        model.summary(X=X * 1e300, y=y)


def test_model_file_keeps_the_factor(tmp_path):
    X, y = _polynomial(*RANGES["ages 20 to 80"])
    model = _fit(X, y, _weights(True))
    path = tmp_path / "model.json"
    model.save(path)
    loaded = load_model(path)
    assert str(loaded.summary()) == str(model.summary())
    assert loaded.summary().method == "qr"
    np.testing.assert_array_equal(loaded.summary().bse, model.summary().bse)
    np.testing.assert_array_equal(loaded.predict_interval(X[:3]), model.predict_interval(X[:3]))


def _triangle_entry(factor):
    factor["R"][1][0] = 1.0


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.pop("R"), "must hold exactly n_rows, weight_sum, shift, scale, fit_intercept, R"),
    (lambda f: f.update(fit_intercept=1), "must come with 'fit.statistics' and say fit_intercept"),
    (lambda f: f.update(R=[[1.0]]), r"fit.factor.R' must be a 12 x 12 matrix"),
    (_triangle_entry, "must be upper triangular, and its scales positive"),
    (lambda f: f.update(n_rows=f["n_rows"] + 1), "must hold the rows of 'fit.statistics'"),
])
def test_malformed_factor_in_a_model_file_is_refused(tmp_path, change, message):
    X, y = _polynomial(*RANGES["unit interval"])
    path = tmp_path / "model.json"
    _fit(X, y).save(path)
    content = json.loads(path.read_text())
    change(content["fit"]["factor"])
    path.write_text(json.dumps(content))
    with pytest.raises(ModelFormatError, match=message):
        load_model(path)


def test_factor_without_statistics_in_a_model_file_is_refused(tmp_path):
    X, y = _polynomial(*RANGES["unit interval"])
    path = tmp_path / "model.json"
    _fit(X, y).save(path)
    content = json.loads(path.read_text())
    del content["fit"]["statistics"]
    path.write_text(json.dumps(content))
    with pytest.raises(ModelFormatError, match="must come with 'fit.statistics'"):
        load_model(path)
