"""``gradreg demo``: the tutorial on the bundled data, worked through, with its plots and page."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from . import datasets
from ._fit_path import FitPath, record_path
from .errors import ConvergenceWarning
from .estimator import GDRegressor
from .guidance import learning_rate_limits
from .tutorial import gradient_descent

__all__ = ["DEMO_OUTPUTS", "TUTORIAL_RATE", "run_demo"]

# The classic tutorial's learning rate, a step on the mean squared error.
TUTORIAL_RATE = 0.01


def _worked_example(out: Console, hours, score, epochs: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        trace = gradient_descent(hours, score, TUTORIAL_RATE, epochs, trace=True)
    n = hours.size
    first = trace.rows()[0]
    out.print(
        f"[bold]The first {epochs} epoch{'s' if epochs != 1 else ''}, worked out[/] "
        f"(N = {n}, learning rate {TUTORIAL_RATE}):\n"
        f"  epoch 1 starts at m = b = 0, so every prediction is 0 and\n"
        f"  cost  J = (1/N) sum (y - (m x + b))^2   = {first[3]:.6g}\n"
        f"  dJ/dm   = -(2/N) sum x (y - (m x + b))  = {first[4]:.6g}\n"
        f"  dJ/db   = -(2/N) sum (y - (m x + b))    = {first[5]:.6g}\n"
        f"  new m = 0 - {TUTORIAL_RATE} x ({first[4]:.6g}) = {-TUTORIAL_RATE * first[4]:.6g}\n"
        f"  new b = 0 - {TUTORIAL_RATE} x ({first[5]:.6g}) = {-TUTORIAL_RATE * first[5]:.6g}"
    )
    table = Table(show_edge=False, box=None)
    for name in ("epoch", "m", "b", "cost (MSE)", "dJ/dm", "dJ/db"):
        table.add_column(name, justify="right")
    for row in trace.rows():
        table.add_row(str(row[0]), *(f"{value:.6g}" for value in row[1:]))
    table.add_row("after", *(f"{value:.6g}" for value in trace.result), "", "")
    out.print(table)
    out.print("  (each row starts from the m and b the row above stepped to; every cost is\n"
              "   the mean squared error at the m and b beside it)\n")


# What the demo writes into its folder.
DEMO_OUTPUTS = ("gradreg-demo-line.png", "gradreg-demo-cost.png", "gradreg-demo-path.png",
                "gradreg-demo-explore.html")


def run_demo(out: Console, out_dir: Path, epochs: int, plots: bool = True) -> None:
    """Print the demo to ``out``; write the plots and the page into ``out_dir`` (created).

    Everything is written before anything is printed, so a closed or full standard output
    never costs a file.
    """
    data = datasets.load_study_time()
    limits = learning_rate_limits(data.hours, data.score)
    model = GDRegressor(solver="gd", optimizer="plain", standardize=False,
                        learning_rate=TUTORIAL_RATE, max_iter=20_000)
    # The path plot draws this fit's own iterates, recorded as it runs.
    path = record_path(model, data.X, data.score)
    model.feature_names_in_ = np.asarray(["hours"], dtype=object)
    written = _write_outputs(model, path, data, out_dir) if plots else []
    out.print(
        "[bold]gradreg demo[/]: hours studied vs test score, "
        f"{len(data.score)} students (bundled data)\n"
        "Plain gradient descent on y = m*x + b from m = b = 0, on the cost\n"
        f"J = mean squared error, with the tutorial's learning rate {TUTORIAL_RATE}\n"
        f"(stable below 2/L = {limits.max_stable:.4g}, L the largest curvature of J)\n"
    )
    if epochs:
        _worked_example(out, data.hours, data.score, epochs)
    table = Table(show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("m (points per hour)", f"{model.coef_[0]:.6f}")
    table.add_row("b (score after 0 hours)", f"{model.intercept_:.6f}")
    table.add_row("final cost (MSE)", f"{model.history_['loss'][-1]:.6f}")
    table.add_row("optimal cost (MSE)", f"{model.optimal_loss_:.6f}")
    table.add_row("R²", f"{model.metrics_['r2']:.6f}")
    table.add_row("epochs", f"{model.n_iter_} of at most {model.max_iter}")
    verdict = "yes" if model.converged_ else "no"
    table.add_row("converged", f"{verdict} (relative optimality gap {model.optimality_gap_:.2g})")
    out.print(table)
    if written:
        out.print()
    for line in written:
        out.print(line)


def _write_outputs(model: GDRegressor, path: FitPath, data, out_dir: Path) -> list[str]:
    """The line, cost and path plots of the fit and the page; returns what to print about
    them."""
    from .explore import write_explorer
    from .plotting import plot_cost, plot_fit, plot_fit_path, save_figure

    figures = {
        "line": plot_fit(model, data.X, data.score, xlabel="hours studied",
                         ylabel="test score"),
        "cost": plot_cost(model),
        "path": plot_fit_path(path, data.X, data.score, feature_names=["hours"]),
    }
    written = []
    for kind, figure in figures.items():
        path = out_dir / f"gradreg-demo-{kind}.png"
        save_figure(figure, path)
        written.append(f"{kind} plot written to {path}")
    page = out_dir / "gradreg-demo-explore.html"
    write_explorer(data.hours, data.score, page, xlabel="hours studied", ylabel="test score")
    written.append(f"interactive page written to {page} (open it in a browser; works offline)")
    return written
