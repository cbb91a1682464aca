"""``python -m benchmarks.methods``: epochs each method needs on one ill-conditioned problem.

The problem: 5,000 rows x 20 features whose standardized design has condition number 1e3 (so
the curvature's condition number is about 1e6). Each method runs until the relative optimality
gap is below 1e-8 or its epoch budget is spent.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

from gradreg import GDRegressor

from .machine import describe

RESULTS = Path(__file__).parent / "results"
TARGET = 1e-8
BUDGET = 200_000

METHODS = {
    "gd, plain, 1/L": {"solver": "gd", "optimizer": "plain"},
    "gd, plain, line search": {"solver": "gd", "optimizer": "plain", "line_search": True},
    "gd, momentum 0.9": {"solver": "gd", "optimizer": "momentum"},
    "gd, Nesterov (FISTA + restart)": {"solver": "gd", "optimizer": "nesterov"},
    "gd, Nesterov + line search": {"solver": "gd", "optimizer": "nesterov", "line_search": True},
    "gd, Adam": {"solver": "gd", "optimizer": "adam"},
    "gd, AdaGrad": {"solver": "gd", "optimizer": "adagrad"},
    "conjugate gradient": {"solver": "cg"},
    "sgd, plain, batch 32": {"solver": "sgd", "optimizer": "plain", "random_state": 0},
    "sgd, Adam, batch 32": {"solver": "sgd", "optimizer": "adam", "random_state": 0},
    "sgd, AdaGrad, batch 32": {"solver": "sgd", "optimizer": "adagrad", "random_state": 0},
    "sgd, Adam, batch 256, cosine": {"solver": "sgd", "optimizer": "adam", "batch_size": 256,
                                     "schedule": "cosine", "random_state": 0},
    "lasso (alpha=0.01), FISTA": {"penalty": "l1", "alpha": 0.01},
    "elastic net (0.01, 0.5), FISTA": {"penalty": "elasticnet", "alpha": 0.01, "l1_ratio": 0.5},
}
STOCHASTIC_BUDGET = 200


def problem(n: int = 5000, d: int = 20, condition: float = 1e3, seed: int = 0):
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((n, d)))
    right, _ = np.linalg.qr(rng.standard_normal((d, d)))
    X = (left * np.logspace(0, -np.log10(condition), d)) @ right.T * np.sqrt(n)
    X = X * np.logspace(0, 2, d) + rng.normal(0, 5, d)
    y = X @ rng.standard_normal(d) + 3.0 + rng.standard_normal(n)
    return X, y


def main() -> int:
    X, y = problem()
    lines = [
        f"### Epochs to a relative optimality gap of {TARGET:g}", "",
        f"{X.shape[0]} rows x {X.shape[1]} features, standardized condition number 1e3.", "",
        f"Machine: {describe()}.", "",
        "| method | epochs | gap reached | seconds |", "|---|---|---|---|",
    ]
    for name, settings in METHODS.items():
        budget = STOCHASTIC_BUDGET if settings.get("solver") == "sgd" else BUDGET
        model = GDRegressor(tol=TARGET, max_iter=budget, **settings)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        seconds = time.perf_counter() - started
        epochs = str(model.n_iter_) if model.converged_ else f"> {model.n_iter_} (not reached)"
        lines.append(f"| {name} | {epochs} | {model.optimality_gap_:.1e} | {seconds:.2f} |")
        print(lines[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "methods.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
