"""gradreg and its peers, each fitting ``y ~ X w + b`` by ordinary least squares.

Every peer returns ``(coef, intercept, iterations)``, and a fourth item, the seconds to report,
when the call does more than the timed work (an extrapolation, a calibration run). Iterative
peers stop when the relative optimality gap reaches the target or their time budget runs out;
``gap`` is measured outside.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

Peer = Callable[..., tuple[np.ndarray, float, int]]


def _standardized(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std[std == 0] = 1.0
    return (X - mean) / std, mean, std


def gradreg_default(X, y, target, budget, gap_of):
    from gradreg import GDRegressor

    model = GDRegressor(tol=target).fit(X, y)
    return model.coef_, model.intercept_, model.n_iter_


def floor_read(X, y, target, budget, gap_of):
    X.sum(axis=0)
    return None, None, 0


def floor_gram(X, y, target, budget, gap_of):
    X.T @ X
    return None, None, 0


def lstsq(X, y, target, budget, gap_of):
    A = np.c_[X, np.ones(len(y))]
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    return solution[:-1], solution[-1], 0


def linear_regression(X, y, target, budget, gap_of):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, y)
    return model.coef_, model.intercept_, 0


def lsqr(X, y, target, budget, gap_of):
    from scipy.sparse.linalg import lsqr as solve

    A = np.c_[X, np.ones(len(y))]
    # Iterations are capped so that the slowest case stays within the benchmark's time.
    result = solve(A, y, atol=1e-15, btol=1e-15, iter_lim=300)
    return result[0][:-1], result[0][-1], int(result[2])


def statsmodels_ols(X, y, target, budget, gap_of):
    import statsmodels.api as sm

    result = sm.OLS(y, sm.add_constant(X, has_constant="add")).fit()
    return result.params[1:], result.params[0], 0


def _descent(matmul_x, matmul_xt, n, d, y_mean_free, lipschitz, target, budget, gap_of, to_user):
    """Full-batch gradient descent at 1/L on standardized, centred data."""
    w = np.zeros(d)
    started = time.perf_counter()
    epoch = 0
    while True:
        epoch += 1
        residual = matmul_x(w) - y_mean_free
        w = w - (1.0 / lipschitz) * matmul_xt(residual) / n
        if epoch % 10 == 0:
            if gap_of(*to_user(w)) <= target or time.perf_counter() - started > budget:
                break
    return (*to_user(w), epoch)


def numpy_gd(X, y, target, budget, gap_of):
    Z, mean, std = _standardized(X)
    y_mean = y.mean()
    yc = y - y_mean
    n, d = Z.shape
    lipschitz = np.linalg.eigvalsh(Z.T @ Z / n)[-1]  # given, not counted as a learned constant

    def to_user(w):
        coef = w / std
        return coef, y_mean - mean @ coef

    return _descent(lambda w: Z @ w, lambda r: Z.T @ r, n, d, yc, lipschitz, target, budget,
                    gap_of, to_user)


def torch_gd(X, y, target, budget, gap_of):
    import torch

    torch.set_num_threads(2)
    data = torch.from_numpy(X)
    mean = data.mean(dim=0)
    std = data.std(dim=0, unbiased=False)
    std[std == 0] = 1.0
    Z = (data - mean) / std
    yt = torch.from_numpy(y)
    y_mean = float(yt.mean())
    yc = yt - y_mean
    n, d = Z.shape
    lipschitz = float(torch.linalg.eigvalsh(Z.T @ Z / n)[-1])
    w = torch.zeros(d, dtype=torch.float64)
    mean_np, std_np = mean.numpy(), std.numpy()
    started = time.perf_counter()
    epoch = 0
    while True:
        epoch += 1
        w = w - (1.0 / lipschitz) * (Z.T @ (Z @ w - yc)) / n
        if epoch % 10 == 0:
            coef = w.numpy() / std_np
            intercept = y_mean - mean_np @ coef
            if gap_of(coef, intercept) <= target or time.perf_counter() - started > budget:
                break
    coef = w.numpy() / std_np
    return coef, y_mean - mean_np @ coef, epoch


def sgd_default(X, y, target, budget, gap_of):
    from sklearn.linear_model import SGDRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(StandardScaler(), SGDRegressor(random_state=0)).fit(X, y)
    return (*_unscale(model), int(model[-1].n_iter_))


def sgd_tuned(X, y, target, budget, gap_of):
    """scikit-learn's best schedule for this problem: adaptive steps with averaging.

    It stops on its own criterion. The epochs are capped at 20, and at 5e7 samples in all for
    the largest data (5 epochs of 1e7 rows), where each epoch sees more samples and takes
    seconds.
    """
    from sklearn.linear_model import SGDRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    epochs = max(5, min(20, 50_000_000 // len(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(
            StandardScaler(),
            SGDRegressor(penalty=None, learning_rate="adaptive", eta0=0.01, tol=1e-8,
                         n_iter_no_change=3, max_iter=epochs, average=True, random_state=0),
        ).fit(X, y)
    return (*_unscale(model), int(model[-1].n_iter_))


def _unscale(pipeline):
    scaler, model = pipeline
    coef = model.coef_ / scaler.scale_
    intercept = float(model.intercept_[0]) - scaler.mean_ @ coef
    return coef, intercept


_ITERATION_CAPS: dict[tuple, int] = {}


def _dask_ml(solver):
    def run(X, y, target, budget, gap_of):
        import dask
        import dask.array as da
        from dask_ml.linear_model import LinearRegression

        chunks = max(1, len(y) // 4)
        Xd = da.from_array(X, chunks=(chunks, X.shape[1]))
        yd = da.from_array(y, chunks=chunks)

        def fit(iterations: int):
            # dask-ml has no unpenalised lbfgs: an L2 weight of 1/C = 1e-12 is none in effect.
            penalty = "none" if solver == "gradient_descent" else "l2"
            return LinearRegression(penalty=penalty, C=1e12, solver=solver,
                                    max_iter=iterations, tol=1e-10).fit(Xd, yd)

        with dask.config.set(scheduler="threads", num_workers=2), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # dask-ml has no time budget. Two untimed fits, of one and three iterations,
            # measure the set-up and the cost of an iteration (once per data set: the warm-up
            # and the repeats reuse it); the cap, at most its default of 100, makes the timed
            # fit take about the budget.
            key = (solver, X.shape, float(X[0, 0]), float(X[-1, -1]), budget)  # this data set
            if key not in _ITERATION_CAPS:
                seconds = []
                for count in (1, 3):
                    started = time.perf_counter()
                    fit(count)
                    seconds.append(time.perf_counter() - started)
                per_iteration = max((seconds[1] - seconds[0]) / 2, 1e-6)
                set_up = max(seconds[0] - per_iteration, 0.0)
                _ITERATION_CAPS[key] = int(min(100, max(3, (budget - set_up) / per_iteration)))
            iterations = _ITERATION_CAPS[key]
            started = time.perf_counter()
            model = fit(iterations)
            elapsed = time.perf_counter() - started
        return np.asarray(model.coef_), float(model.intercept_), f"<={iterations}", elapsed

    return run


def classic_loop_extrapolated(X, y, target, budget, gap_of):
    """The tutorial loop in plain Python, timed on a 2,000-row subsample and extrapolated."""
    from gradreg.tutorial import classic_max_stable_learning_rate

    rows = min(2000, len(y))
    xs, ys = X[:rows, 0].tolist(), y[:rows].tolist()
    rate = 0.5 * classic_max_stable_learning_rate(X[:rows, 0])
    epochs = 5
    started = time.perf_counter()
    m = b = 0.0
    n = float(rows)
    for _ in range(epochs):
        predictions = [m * xi + b for xi in xs]
        dm = -(2 / n) * sum(xi * (yi - pi) for xi, yi, pi in zip(xs, ys, predictions, strict=True))
        db = -(2 / n) * sum(yi - pi for yi, pi in zip(ys, predictions, strict=True))
        m, b = m - rate * dm, b - rate * db
    per_row_epoch = (time.perf_counter() - started) / (epochs * rows)
    # Epochs it needs: plain GD at half the stability limit contracts the error by at least
    # (1 - 1/kappa) per epoch on the raw (unstandardized) problem.
    A = np.array([[np.mean(X[:, 0] ** 2), np.mean(X[:, 0])], [np.mean(X[:, 0]), 1.0]])
    eigenvalues = np.linalg.eigvalsh(A)
    kappa = eigenvalues[-1] / eigenvalues[0]
    needed = int(np.ceil(kappa * np.log(1.0 / target)))
    return None, None, needed, per_row_epoch * len(y) * needed


# Modules each peer imports, loaded before the memory baseline is taken.
IMPORTS = {
    "gradreg": ["gradreg"],
    "PyTorch": ["torch"],
    "sklearn": ["sklearn.linear_model", "sklearn.pipeline", "sklearn.preprocessing"],
    "scipy": ["scipy.sparse.linalg"],
    "statsmodels": ["statsmodels.api"],
    "dask-ml": ["dask.array", "dask_ml.linear_model"],
    "classic": ["gradreg"],
}

PEERS: dict[str, Peer] = {
    "gradreg GDRegressor()": gradreg_default,
    "gradreg GDRegressor(), X as float32": gradreg_default,
    "floor: read X once": floor_read,
    "floor: X^T X": floor_gram,
    "classic loop (extrapolated)": classic_loop_extrapolated,
    "numpy full-batch GD": numpy_gd,
    "PyTorch full-batch GD (CPU)": torch_gd,
    "sklearn SGDRegressor (default)": sgd_default,
    "sklearn SGDRegressor (tuned)": sgd_tuned,
    "sklearn LinearRegression": linear_regression,
    "numpy.linalg.lstsq": lstsq,
    "scipy lsqr": lsqr,
    "statsmodels OLS": statsmodels_ols,
    "dask-ml LinearRegression (gradient_descent)": _dask_ml("gradient_descent"),
    "dask-ml LinearRegression (lbfgs)": _dask_ml("lbfgs"),
}
