"""Inference (summary tables, robust covariances, intervals) against statsmodels and mpmath."""

import json
import math
import warnings

import mpmath
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.api as sm
from sklearn.datasets import load_diabetes

from conftest import assert_within, fit_rounding_bounds, rounding_bound
from gradreg import GDRegressor, load_model, load_study_time, scan
from gradreg.cli import main
from gradreg.datasets import study_time_path
from gradreg.errors import DataError, GradregWarning, ModelFormatError, ParameterError

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")
EPS = np.finfo(np.float64).eps
# Not a rounding bound: the accuracy required of a converged fit against statsmodels (whose
# own error, from its raw design, reaches ~1e-8 on longley). Each test also checks that the
# table's own certified accuracy claim (digits from the condition number and the fit's gap) is
# at least this good, and, against 50-digit references, that it holds.
RTOL = 1e-6
FIELDS = ("params", "bse", "tvalues", "pvalues", "rsquared", "rsquared_adj", "fvalue",
          "f_pvalue", "df_model", "df_resid", "nobs", "ssr")


def _frame(dataset):
    data = dataset.load_pandas()
    return data.exog.astype(float), data.endog.astype(float).to_numpy()


def _diabetes():
    bunch = load_diabetes(as_frame=True)
    return bunch.data, bunch.target.to_numpy()


DATASETS = {
    "diabetes": _diabetes,
    "longley": lambda: _frame(sm.datasets.longley),
    "stackloss": lambda: _frame(sm.datasets.stackloss),
}


def _statsmodels(X, y, weights, fit_intercept, cov_type):
    exog = sm.add_constant(np.asarray(X, dtype=float)) if fit_intercept else np.asarray(X, float)
    if weights is None:
        return sm.OLS(y, exog).fit(cov_type=cov_type)
    return sm.WLS(y, exog, weights=weights).fit(cov_type=cov_type)


def _mp_robust(X, y, weights, fit_intercept, cov_type):
    """Robust standard errors and the Wald F of the slopes by their definitions, at 50 digits
    (small data only)."""
    rows = np.asarray(X, dtype=float).tolist()
    weights = [1.0] * len(y) if weights is None else list(weights)
    with mpmath.workdps(50):
        A = mpmath.matrix([([1] if fit_intercept else []) + row for row in rows])
        w = [mpmath.mpf(v) for v in weights]
        n, k = A.rows, A.cols
        gram = mpmath.matrix(k, k)
        moment = mpmath.matrix(k, 1)
        for i in range(n):
            for a in range(k):
                moment[a] += w[i] * A[i, a] * y[i]
                for b in range(k):
                    gram[a, b] += w[i] * A[i, a] * A[i, b]
        inverse = gram**-1
        theta = inverse * moment
        meat = mpmath.matrix(k, k)
        power = {"HC0": 0, "HC1": 0, "HC2": 1, "HC3": 2}[cov_type]
        for i in range(n):
            row = A[i, :]
            residual = y[i] - (row * theta)[0]
            leverage = w[i] * (row * inverse * row.T)[0]
            u = w[i] ** 2 * residual**2 / (1 - leverage) ** power
            meat += u * (row.T * row)
        cov = inverse * meat * inverse * (mpmath.mpf(n) / (n - k) if cov_type == "HC1" else 1)
        first = 1 if fit_intercept else 0
        slopes = list(range(first, k))
        block = mpmath.matrix([[cov[a, b] for b in slopes] for a in slopes])
        b = mpmath.matrix([theta[a] for a in slopes])
        bse = np.array([float(mpmath.sqrt(cov[a, a])) for a in range(k)])
        return bse, float((b.T * block**-1 * b)[0] / len(slopes))


def _wald_f(result, fit_intercept):
    """Robust F of the slopes from statsmodels' covariance, solved on the correlation scale."""
    slopes = slice(1, None) if fit_intercept else slice(None)
    cov = result.cov_params()[slopes, slopes]
    size = np.sqrt(np.diag(cov))
    b = result.params[slopes] / size
    return float(b @ np.linalg.solve(cov / np.outer(size, size), b)) / b.size


def _assert_like_statsmodels(summary, result, robust_f, rtol=RTOL):
    assert 10.0 ** -summary.digits <= rtol, "the table does not vouch for the tolerance"
    for name in ("params", "bse", "tvalues", "pvalues", "rsquared", "rsquared_adj", "df_model",
                 "df_resid", "nobs", "ssr"):
        np.testing.assert_allclose(getattr(summary, name), getattr(result, name), rtol=rtol,
                                   err_msg=name)
    for alpha in (0.05, 0.1):
        # params -/+ q bse: an error of rtol in both is rtol (|params| + q bse) in the bounds,
        # however close to zero a bound is.
        half = (result.conf_int(alpha)[:, 1] - result.conf_int(alpha)[:, 0]) / 2
        error = np.abs(summary.conf_int(alpha) - result.conf_int(alpha))
        assert np.all(error <= rtol * (np.abs(result.params) + half)[:, None]), "conf_int"
    np.testing.assert_allclose(summary.cov_params(), result.cov_params(), rtol=rtol,
                               atol=rtol * np.abs(result.cov_params()).max())
    if summary.cov_type == "nonrobust":
        np.testing.assert_allclose([summary.fvalue, summary.f_pvalue],
                                   [result.fvalue, result.f_pvalue], rtol=rtol)
    else:
        # Inverting the robust covariance (statsmodels' way) squares its condition number and
        # loses digits on longley; the reference is computed at 50 digits where data are small.
        assert summary.fvalue == pytest.approx(robust_f, rel=rtol)
    assert summary.use_t == result.use_t


@pytest.mark.parametrize("weighted", [False, True], ids=["OLS", "WLS"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_every_number_matches_statsmodels(dataset, fit_intercept, weighted):
    X, y = DATASETS[dataset]()
    weights = np.random.default_rng(7).uniform(0.5, 2.0, len(y)) if weighted else None
    model = GDRegressor(fit_intercept=fit_intercept).fit(X, y, sample_weight=weights)
    assert model.converged_
    for cov_type in COV_TYPES:
        summary = model.summary(cov_type, X=X, y=y, sample_weight=weights)
        result = _statsmodels(X, y, weights, fit_intercept, cov_type)
        robust_f = None
        if cov_type != "nonrobust" and len(y) <= 50:
            # statsmodels' HC3 on longley is itself off by about 6e-9 (its raw design has
            # condition number 5e9); the 50-digit reference holds gradreg to its own claim.
            bse, robust_f = _mp_robust(X, y, weights, fit_intercept, cov_type)
            np.testing.assert_allclose(summary.bse, bse, rtol=10.0 ** -summary.digits)
        elif cov_type != "nonrobust":
            robust_f = _wald_f(result, fit_intercept)
        _assert_like_statsmodels(summary, result, robust_f)
        assert summary.names == (["Intercept"] if fit_intercept else []) + list(X.columns)
        assert summary.weighted == weighted and summary.converged is True


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_prediction_intervals_match_statsmodels(fit_intercept, weighted):
    X, y = _diabetes()
    weights = np.random.default_rng(3).uniform(0.5, 2.0, len(y)) if weighted else None
    model = GDRegressor(fit_intercept=fit_intercept).fit(X, y, sample_weight=weights)
    new = X.iloc[::40]
    result = _statsmodels(X, y, weights, fit_intercept, "nonrobust")
    exog = sm.add_constant(new.to_numpy(), has_constant="add") if fit_intercept else new
    prediction = result.get_prediction(np.asarray(exog, dtype=float))
    for kind, obs in (("confidence", False), ("prediction", True)):
        for alpha in (0.05, 0.2):
            np.testing.assert_allclose(model.predict_interval(new, alpha, kind),
                                       prediction.conf_int(obs=obs, alpha=alpha), rtol=RTOL)


def _collinear():
    X, y = _diabetes()
    X = X.copy()
    X["s1+s2"] = X["s1"] + X["s2"]  # exactly collinear up to one rounding
    return X, y


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")  # statsmodels'
@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_rank_deficient_design_has_nan_for_the_unidentifiable(cov_type):
    X, y = _collinear()
    with pytest.warns(GradregWarning, match="rank deficient"):
        model = GDRegressor().fit(X, y)
    with pytest.warns(GradregWarning, match=r"coefficient\(s\) of s1, s2, s1\+s2 are not "
                                            "identifiable"):
        summary = model.summary(cov_type, X=X, y=y)
    result = _statsmodels(X, y, None, True, cov_type)
    hidden = np.isin(summary.names, ["s1", "s2", "s1+s2"])
    assert np.all(np.isnan(summary.bse[hidden])) and np.all(np.isnan(summary.pvalues[hidden]))
    # The identifiable coefficients are the same whatever generalized inverse is used.
    for name in ("params", "bse", "tvalues", "pvalues"):
        np.testing.assert_allclose(getattr(summary, name)[~hidden],
                                   getattr(result, name)[~hidden], rtol=RTOL, err_msg=name)
    assert summary.rank == result.df_model + 1 == 11
    assert summary.df_resid == result.df_resid
    assert summary.ssr == pytest.approx(result.ssr, rel=RTOL)
    assert summary.rsquared == pytest.approx(result.rsquared, rel=RTOL)
    assert "not identifiable" in str(summary)


def test_constant_column_makes_it_and_the_intercept_unidentifiable():
    X, y = _diabetes()
    with_constant = X.assign(five=5.0)
    with pytest.warns(GradregWarning):
        model = GDRegressor().fit(with_constant, y)
    with pytest.warns(GradregWarning, match="of Intercept, five are not identifiable"):
        summary = model.summary()
    # The column space is that of the design without the constant column.
    result = _statsmodels(X, y, None, True, "nonrobust")
    np.testing.assert_allclose(summary.bse[1:-1], result.bse[1:], rtol=RTOL)
    assert np.isnan(summary.bse[0]) and np.isnan(summary.bse[-1])


def test_streamed_and_in_memory_tables_are_equal(tmp_path):
    rng = np.random.default_rng(11)
    n, d = 3000, 4
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1, 3.0] + [5.0, -2.0, 0.0, 100.0]
    y = X @ rng.normal(size=d) + 4.0 + rng.normal(size=n) * (1.0 + np.abs(X[:, 0] - 5.0))
    names = [f"f{j}" for j in range(d)]
    for part, rows in enumerate((slice(0, 1700), slice(1700, None))):
        frame = pd.DataFrame(X[rows], columns=names).assign(y=y[rows])
        frame.to_csv(tmp_path / f"part{part}.csv", index=False, float_format="%.17g")
    source = scan(tmp_path, target="y")
    streamed = GDRegressor().fit(source)
    memory = GDRegressor().fit(pd.DataFrame(X, columns=names), y)
    for cov_type in COV_TYPES:
        _assert_same(streamed.summary(cov_type, X=source),
                     memory.summary(cov_type, X=pd.DataFrame(X, columns=names), y=y), X)


def _vouched(*summaries):
    """Tables of the same rows agree within the sum of the accuracies they vouch for (their
    digits: rounding amplified by the condition number, and each fit's distance from the
    optimum)."""
    return sum(10.0 ** -summary.digits for summary in summaries)


def _assert_same(actual, expected, X, weights=None, same_names=True):
    """Counts exactly; the standard errors within the digits both tables vouch for; the
    coefficients within both fits' certified bounds (``fit_rounding_bounds``), and what is
    computed from them (t, p, intervals) within what those allow; the sums of squares within
    their rounding, and R^2 and F within what that allows."""
    assert actual.names == expected.names or not same_names
    for name in ("df_model", "df_resid", "nobs"):
        assert getattr(actual, name) == getattr(expected, name), name
    rtol = _vouched(actual, expected)
    np.testing.assert_allclose(actual.bse, expected.bse, rtol=rtol, err_msg="bse")
    first = int(expected.fit_intercept)
    certified = np.sum(actual.coef_error_bound) + np.sum(expected.coef_error_bound)
    coef, intercept = fit_rounding_bounds(
        X, expected.params[first:], expected.params[0] if first else 0.0, weights, fits=2,
        certified=certified, fit_intercept=bool(first))
    params = np.r_[[intercept] * first, coef]
    assert_within(actual.params, expected.params, params)
    # t = params / bse; p = 2 sf(|t|) moves by at most 2 x (the density's maximum, < 0.4) x t's.
    tvalues = params / expected.bse + rtol * np.abs(expected.tvalues)
    assert_within(actual.tvalues, expected.tvalues, tvalues)
    assert_within(actual.pvalues, expected.pvalues, 0.8 * tvalues + rtol * expected.pvalues)
    interval = expected.conf_int()
    assert_within(actual.conf_int(), interval, params[:, None] + rtol * np.abs(interval))
    # The residual sum of squares from statistics cancels terms of the size of the total sum
    # of squares (each route sums n rows, 8 roundings between the two); coefficients off by
    # dv (standardized units) raise it by W dv^T R dv <= W d |dv|^2 (R a correlation matrix).
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = np.average(X, axis=0, weights=w) if first else np.zeros(X.shape[1])
    spread = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))
    size = np.linalg.norm(expected.params[first:] * spread)
    tss = expected.ssr / (1 - expected.rsquared)
    within = rounding_bound(1.0, 8, len(X))
    ssr = within * tss + X.shape[1] * w.sum() * (certified * size) ** 2
    assert_within(actual.ssr, expected.ssr, ssr)
    rsquared = (ssr + within * tss) / tss  # 1 - ssr / tss: both sums' errors over tss
    assert_within(actual.rsquared, expected.rsquared, rsquared)
    assert_within(actual.rsquared_adj, expected.rsquared_adj,
                  rsquared * (expected.nobs - first) / expected.df_resid)
    f_value, df = expected.fvalue, (expected.df_model, expected.df_resid)
    if expected.cov_type == "nonrobust":
        # F = (R^2 / df_model) / ((1 - R^2) / df_resid): dF / F = dR^2 (1/R^2 + 1/(1 - R^2)).
        r2 = expected.rsquared
        f_bound = f_value * rsquared * (1 / r2 + 1 / (1 - r2))
    else:
        # A Wald form b^T V^-1 b: twice the slopes' relative error, and V's (vouched).
        slopes = np.abs(expected.params[first:])
        f_bound = f_value * (rtol + 2 * float(np.max(coef / slopes)))
    assert_within(actual.fvalue, f_value, f_bound)
    # F's tail probability moves by its density (decreasing there) times F's change.
    slope = scipy.stats.f.pdf(max(f_value - f_bound, 0.0), *df)
    assert_within(actual.f_pvalue, expected.f_pvalue, slope * f_bound + rtol * expected.f_pvalue)


@pytest.fixture
def client(process_client):
    """Worker processes: these tests cross a process boundary."""
    return process_client



def test_dask_and_in_memory_tables_are_equal(client):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(5)
    n, d = 2500, 3
    X = rng.normal(size=(n, d)) + [1.0, 2.0, 3.0]
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=n) * (1 + X[:, 1] ** 2)
    w = rng.uniform(0.5, 2.0, n)
    dX, dy, dw = (da.from_array(a, chunks=(1000,) + a.shape[1:]) for a in (X, y, w))
    distributed_fit = GDRegressor().fit(dX, dy, sample_weight=dw)
    memory = GDRegressor().fit(X, y, sample_weight=w)
    # The HC types share one pass and differ only in the leverage's power, tested in memory.
    for cov_type in ("nonrobust", "HC1", "HC3"):
        _assert_same(distributed_fit.summary(cov_type, X=dX, y=dy, sample_weight=dw),
                     memory.summary(cov_type, X=X, y=y, sample_weight=w), X, w)


def test_model_file_round_trip_keeps_the_table(tmp_path):
    X, y = _diabetes()
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    model = GDRegressor().fit(X, y, sample_weight=weights)
    path = tmp_path / "model.json"
    model.save(path)
    loaded = load_model(path)
    assert str(loaded.summary()) == str(model.summary())
    for cov_type in COV_TYPES:
        before = model.summary(cov_type, X=X, y=y, sample_weight=weights)
        after = loaded.summary(cov_type, X=X, y=y, sample_weight=weights)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(after, name), getattr(before, name))
    np.testing.assert_array_equal(loaded.predict_interval(X[:5]), model.predict_interval(X[:5]))


def _mp_standard_errors(X, y):
    """Standard errors of OLS with an intercept, at 50 digits from the float64 data."""
    with mpmath.workdps(50):
        A = mpmath.matrix([[1, *row] for row in X.tolist()])
        b = mpmath.matrix(y.tolist())
        gram = A.T * A
        inverse = gram**-1
        theta = inverse * (A.T * b)
        residual = b - A * theta
        ssr = sum(r**2 for r in residual)
        scale = ssr / (A.rows - A.cols)
        return np.array([float(mpmath.sqrt(scale * inverse[j, j])) for j in range(A.cols)])


@pytest.mark.parametrize("degree", [3, 5, 7])
def test_standard_errors_of_ill_conditioned_polynomials_against_mpmath(degree):
    rng = np.random.default_rng(degree)
    x = np.sort(rng.uniform(0.0, 2.0, 60))
    X = np.column_stack([x**k for k in range(1, degree + 1)])
    y = np.sin(2 * x) + 0.05 * rng.normal(size=x.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradregWarning)  # badly conditioned, said at fit
        model = GDRegressor(max_iter=5000).fit(X, y)
    summary = model.summary()
    reference = _mp_standard_errors(X, y)
    # The table's claim: its digits hold, for a condition number from an independent SVD.
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    singular = np.linalg.svd(np.column_stack([np.ones(x.size), standardized]), compute_uv=False)
    condition = singular[0] / singular[-1]
    # From the cross-products: their rounding (sums of n rows, k = degree + 1 terms per
    # entry) moves the smallest eigenvalue by k n eps of the largest: the condition by cond^2
    # times that (halved by the square root; the reference SVD is good to cond x eps).
    # (The QR factor, which the fit gathers where cross-products cannot resolve its optimum,
    # does better: tests/test_inference_design.py holds it to cond x eps.)
    bound = rounding_bound(condition**2, degree + 1, n_terms=x.size) * condition
    assert_within(summary.condition_number, condition, bound)
    assert summary.digits >= math.floor(-math.log10((degree + 1) * condition**2 * EPS))
    assert summary.digits >= 1
    np.testing.assert_allclose(summary.bse, reference, rtol=10.0 ** -summary.digits)


def test_summary_without_intercept_says_r_squared_is_uncentred():
    X, y = _diabetes()
    summary = GDRegressor(fit_intercept=False).fit(X, y).summary()
    text = str(summary)
    assert "R-squared (uncentred)" in text and "without centering" in text
    assert "Intercept" not in summary.names


def test_table_shows_the_figures():
    data = load_study_time()
    model = GDRegressor().fit(data.X, data.score)
    summary = model.summary("HC3", alpha=0.1, X=data.X, y=data.score)
    text = str(summary)
    assert "HC3" in text and "[0.05" in text and "0.95]" in text and "P>|z|" in text
    assert f"{summary.bse[1]:.6g}" in text and "digits vouched for" in text
    assert "converged" in text and "about 14" in text or "about 15" in text


def test_certified_bound_is_shown_when_the_fit_has_one():
    data = load_study_time()
    model = GDRegressor().fit(data.X, data.score)
    model.coef_error_bound_ = np.array([2.5e-12])
    assert "error bound" in str(model.summary()) and "2.5e-12" in str(model.summary())


def test_partial_fit_summary_uses_the_merged_statistics():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 2))
    y = X @ [1.0, 2.0] + 1.0 + rng.normal(size=600)
    model = GDRegressor(random_state=0)
    for start in range(0, 600, 200):
        model.partial_fit(X[start:start + 200], y[start:start + 200])
    summary = model.summary()
    assert summary.nobs == 600
    # The residuals are those of the stream's (not optimal) coefficients.
    residual = y - model.predict(X)
    # From the statistics the sum of squares cancels terms of the size of the residuals' own
    # terms (|y| + |X| |coef| + |intercept|); each route sums n rows (8 roundings between them).
    terms = np.abs(y) + np.abs(X) @ np.abs(model.coef_) + abs(model.intercept_)
    bound = rounding_bound(1.0, 8, len(y)) * float(terms @ terms)
    assert_within(summary.ssr, float(residual @ residual), bound)
    with pytest.raises(DataError, match="needs the residual of every row"):
        model.summary("HC1")
    assert model.summary("HC1", X=X, y=y).nobs == 600


def test_fit_after_partial_fit_keeps_only_its_own_statistics():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    model = GDRegressor(random_state=0).partial_fit(X[:20], y[:20]).fit(X, y)
    assert model.summary().nobs == 50
    model.partial_fit(X[:10], y[:10])  # continues from the fit's rows
    assert model.summary().nobs == 60


@pytest.mark.parametrize(("penalty", "message"), [
    ("l1", "no classical standard errors"),
    ("elasticnet", "no classical standard errors"),
    ("l2", "ridge coefficients are biased"),
])
def test_penalized_fits_are_refused(penalty, message):
    data = load_study_time()
    model = GDRegressor(penalty=penalty, alpha=0.1).fit(data.X, data.score)
    with pytest.raises(ParameterError, match=message):
        model.summary()
    with pytest.raises(ParameterError, match="Inference needs an unpenalized fit"):
        model.predict_interval(data.X)


def test_zero_penalty_is_least_squares():
    data = load_study_time()
    plain = GDRegressor().fit(data.X, data.score).summary()
    zero = GDRegressor(penalty="l2", alpha=0.0).fit(data.X, data.score).summary()
    np.testing.assert_allclose(zero.bse, plain.bse, rtol=_vouched(zero, plain))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"cov_type": "HC4"}, ParameterError,
     r"The 'cov_type' parameter must be a str among .*Got 'HC4' instead"),
    ({"alpha": 1.5}, ParameterError,
     r"The 'alpha' parameter must be a float in the range \(0.0, 1.0\). Got 1.5 instead"),
    ({"cov_type": "HC2"}, DataError, r"cov_type='HC2' needs the residual of every row"),
])
def test_bad_requests_are_explained(kwargs, error, message):
    data = load_study_time()
    model = GDRegressor().fit(data.X, data.score)
    with pytest.raises(error, match=message):
        model.summary(**kwargs)


def test_other_data_for_the_robust_pass_is_refused():
    data = load_study_time()
    model = GDRegressor().fit(data.X, data.score)
    with pytest.raises(DataError, match="hold 99 rows of weight sum 99, but the model was "
                                        "fitted on 100 rows"):
        model.summary("HC1", X=data.X[1:], y=data.score[1:])


def test_no_more_rows_than_parameters_means_no_inference():
    model = GDRegressor().fit([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [1.0, 2.0, 4.0])
    with pytest.raises(DataError, match="No inference is possible with 3 rows for 3 "
                                        "parameters"):
        model.summary()
    with pytest.raises(DataError, match="No prediction interval is possible with 3 rows"):
        model.predict_interval([[1.0, 1.0]])


def test_bad_interval_kind_is_explained():
    data = load_study_time()
    model = GDRegressor().fit(data.X, data.score)
    with pytest.raises(ParameterError, match="The 'kind' parameter must be a str among"):
        model.predict_interval(data.X, kind="mean")


def test_data_route_keeps_no_statistics():
    data = load_study_time()
    model = GDRegressor(route="data").fit(data.X, data.score)
    with pytest.raises(DataError, match="keeps no sufficient statistics"):
        model.summary()


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("cross"), "must hold exactly n_rows, weight_sum, mean and cross"),
    (lambda s: s.update(n_rows=True), "n_rows' must be a positive integer"),
    (lambda s: s.update(weight_sum=-1.0), "weight_sum' must be positive"),
    (lambda s: s.update(mean=[1.0]), r"mean' must be 2 numbers"),
    (lambda s: s["cross"][0].__setitem__(1, 7.0), "must be symmetric"),
    (lambda s: s.update(cross=[[1.0, 0.0]]), r"cross' must be a 2 x 2 matrix"),
])
def test_malformed_statistics_in_a_model_file_are_refused(tmp_path, change, message):
    data = load_study_time()
    path = tmp_path / "model.json"
    GDRegressor().fit(data.X, data.score).save(path)
    content = json.loads(path.read_text())
    change(content["fit"]["statistics"])
    path.write_text(json.dumps(content))
    with pytest.raises(ModelFormatError, match=message):
        load_model(path)


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_summary_of_a_model_file(capsys, tmp_path):
    model_path = tmp_path / "model.json"
    code, out, err = run(capsys, "fit", study_time_path(), "--target", "score", "--model",
                         model_path, "--summary", "--cov-type", "HC1", "--quiet")
    assert code == 0, err
    data = load_study_time()
    fitted = GDRegressor().fit(data.X, data.score)
    hc1 = fitted.summary("HC1", X=data.X, y=data.score)
    assert "OLS regression results" in out and "score ~ hours" in out
    assert f"{hc1.bse[1]:.6g}" in out and "HC1" in out
    code, out, err = run(capsys, "summary", model_path)
    assert code == 0, err
    assert "hours" in out and f"{fitted.summary().bse[1]:.6g}" in out and "nonrobust" in out
    code, out, err = run(capsys, "summary", model_path, study_time_path(), "--target", "score",
                         "--cov-type", "HC1")
    assert code == 0, err
    assert f"{hc1.bse[1]:.6g}" in out


def test_cli_summary_says_what_it_needs(capsys, tmp_path):
    model_path = tmp_path / "model.json"
    assert run(capsys, "fit", study_time_path(), "--target", "score", "--model", model_path,
               "--quiet")[0] == 0
    code, _, err = run(capsys, "summary", model_path, "--cov-type", "HC3")
    assert code == 2
    assert err.startswith("gradreg: error: --cov-type HC3 needs the residual of every row")
    code, _, err = run(capsys, "summary", model_path, study_time_path())
    assert code == 2 and "DATA is read only for --cov-type" in err
    penalized = tmp_path / "penalized.json"
    assert run(capsys, "fit", study_time_path(), "--target", "score", "--penalty", "l1",
               "--model", penalized, "--quiet")[0] == 0
    code, _, err = run(capsys, "summary", penalized)
    # A parameter error (the fit's penalty), so a usage error as for every ParameterError.
    assert code == 2 and err.startswith("gradreg: error: Inference needs an unpenalized fit")
    assert len(err.strip().splitlines()) == 1


def test_fit_on_rescaled_columns_keeps_no_statistics():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(40, 2)) * 1e200
    y = X @ [1e-200, 2e-200] + rng.normal(size=40)
    model = GDRegressor().fit(X, y)
    assert "rescaled" in model.stop_reason_
    with pytest.raises(DataError, match="with columns rescaled because their squares leave"):
        model.summary()


@pytest.mark.parametrize("formula", ["y ~ x + C(g)", "y ~ x + C(g) - 1"])
def test_formula_fits_get_the_table_of_their_design(formula):
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"x": rng.normal(size=120), "g": rng.choice(["a", "b", "c"], 120)})
    frame["y"] = 2.0 * frame["x"] + (frame["g"] == "b") + rng.normal(size=120) * (1 + frame["x"]**2)
    model = GDRegressor(formula=formula).fit(frame)
    spec = model.design_spec_
    design, target, _ = spec.design(frame)
    plain = GDRegressor(fit_intercept=spec.fit_intercept).fit(design, target)
    for cov_type in ("nonrobust", "HC3"):
        summary = model.summary(cov_type, X=None if cov_type == "nonrobust" else frame)
        assert summary.names == (["Intercept"] if spec.fit_intercept else []) + spec.columns
        _assert_same(summary, plain.summary(cov_type, X=design, y=target), design,
                     same_names=False)
    vouched = _vouched(model.summary(), plain.summary())
    np.testing.assert_allclose(model.predict_interval(frame[:5]),
                               plain.predict_interval(design[:5]), rtol=vouched)
