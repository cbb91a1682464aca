"""Figures of a fit, drawn with matplotlib's object API (no global state, no display needed).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes it
atomically.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from ._atomic import atomic_path, atomic_write

__all__ = [
    "plot_cost",
    "plot_fit",
    "plot_path",
    "plot_rates",
    "save_animation",
    "save_figure",
]

_DATA_COLOR = "#4C72B0"
_LINE_COLOR = "#DD5555"
_FIGSIZE = (7.0, 4.5)
_PATH_COLOR = "#222222"
_RATE_COLORS = ["#4C72B0", "#55A868", "#8172B2", "#C44E52", "#DD8452"]
# Costs above this multiple of the starting cost are off the chart in the rates plot.
_RATES_CLIP = 3.0


def _new_figure() -> tuple[Figure, object]:
    figure = Figure(figsize=_FIGSIZE, layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(alpha=0.25)
    return figure, axes


def plot_fit(
    model,
    X: np.ndarray,
    y: np.ndarray,
    xlabel: str | None = None,
    ylabel: str = "target",
    title: str | None = None,
) -> Figure:
    """Data and fitted line (one feature), or predicted against actual (several features).

    Examples
    --------
    >>> from gradreg import GDRegressor, load_study_time
    >>> data = load_study_time()
    >>> figure = plot_fit(GDRegressor().fit(data.X, data.score), data.X, data.score)
    >>> len(figure.axes[0].lines), len(figure.axes[0].collections)
    (1, 1)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    figure, axes = _new_figure()
    if X.shape[1] == 1:
        x = X[:, 0]
        axes.scatter(x, y, s=22, color=_DATA_COLOR, alpha=0.75, edgecolor="white",
                     linewidth=0.5, label="data")
        grid = np.linspace(x.min(), x.max(), 200)
        m, b = float(model.coef_[0]), float(model.intercept_)
        axes.plot(grid, m * grid + b, color=_LINE_COLOR, linewidth=2.5,
                  label=f"fit: y = {m:.3g} x + {b:.3g}")
        names = getattr(model, "feature_names_in_", None)
        axes.set_xlabel(xlabel or (str(names[0]) if names is not None else "x"))
        axes.set_ylabel(ylabel)
    else:
        predicted = model.predict(X)
        axes.scatter(y, predicted, s=18, color=_DATA_COLOR, alpha=0.6, edgecolor="white",
                     linewidth=0.5, label="rows")
        low, high = float(min(y.min(), predicted.min())), float(max(y.max(), predicted.max()))
        axes.plot([low, high], [low, high], color=_LINE_COLOR, linewidth=2,
                  label="perfect prediction")
        axes.set_xlabel(f"actual {ylabel}")
        axes.set_ylabel(f"predicted {ylabel}")
    r2 = getattr(model, "metrics_", {}).get("r2")
    subtitle = f"R² = {r2:.3f}" if r2 is not None else ""
    axes.set_title(title or f"Linear fit by gradient descent  {subtitle}".strip(), loc="left")
    axes.legend(frameon=False)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write ``figure`` to ``path`` (format from the suffix), atomically."""
    suffix = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format=suffix, dpi=dpi)


def plot_cost(model) -> Figure:
    """Cost per epoch (log scale) with the optimum's cost, and the relative gap per epoch.

    Examples
    --------
    >>> from gradreg import GDRegressor, load_study_time
    >>> data = load_study_time()
    >>> model = GDRegressor(solver="gd", optimizer="plain", standardize=False).fit(data.X,
    ...                                                                          data.score)
    >>> [len(axes.lines) for axes in plot_cost(model).axes]
    [2, 2]
    """
    history = model.history_
    epochs = np.arange(len(history["loss"]))
    figure = Figure(figsize=(10.0, 4.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    for axes in (left, right):
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(alpha=0.25, which="both")
        axes.set_xlabel("epoch")
    left.plot(epochs, history["loss"], color=_DATA_COLOR, linewidth=2, label="cost")
    optimum = getattr(model, "optimal_loss_", float("nan"))
    if np.isfinite(optimum):
        left.axhline(optimum, color=_LINE_COLOR, linestyle="--", label=f"optimum {optimum:.4g}")
    left.set_yscale("log")
    left.set_ylabel("cost (half the mean squared error)")
    left.set_title("Cost per epoch", loc="left")
    left.legend(frameon=False)
    gap = np.asarray(history["gap"], dtype=np.float64)
    positive = gap > 0
    right.plot(epochs[positive], gap[positive], color=_DATA_COLOR, linewidth=2,
               label="relative gap (f - f*)/f*")
    right.axhline(model.tol, color=_LINE_COLOR, linestyle="--", label=f"tol = {model.tol:g}")
    right.set_yscale("log")
    verdict = "converged" if model.converged_ else "not converged"
    right.set_title(f"Gap to the exact optimum: {verdict}, {model.n_iter_} epochs", loc="left")
    right.legend(frameon=False)
    return figure


def _cost_grid(X, y, coef_star, intercept_star, axes_index, centre, half_width, size=160):
    """Mean squared error over a grid of two parameters, the others at the optimum."""
    first = np.linspace(centre[0] - half_width[0], centre[0] + half_width[0], size)
    second = np.linspace(centre[1] - half_width[1], centre[1] + half_width[1], size)
    A, B = np.meshgrid(first, second)
    base = X @ coef_star + intercept_star
    i, j = axes_index
    col_i = X[:, i]
    col_j = X[:, j] if j is not None else np.ones(len(y))
    star_j = coef_star[j] if j is not None else intercept_star
    # residual = y - base - (a - w_i) x_i - (b - w_j) x_j, expanded to avoid an n x grid array.
    r0 = y - base
    terms = {
        "rr": r0 @ r0, "ri": r0 @ col_i, "rj": r0 @ col_j,
        "ii": col_i @ col_i, "jj": col_j @ col_j, "ij": col_i @ col_j,
    }
    da, db = A - coef_star[i], B - star_j
    total = (terms["rr"] - 2 * da * terms["ri"] - 2 * db * terms["rj"] + da**2 * terms["ii"]
             + db**2 * terms["jj"] + 2 * da * db * terms["ij"])
    return A, B, np.maximum(total / len(y), 0.0)


def plot_path(
    X: np.ndarray,
    y: np.ndarray,
    learning_rate: float | None = None,
    epochs: int = 200,
    coefficients: tuple[int, int | None] = (0, None),
    names: tuple[str, str] | None = None,
) -> Figure:
    """The classic descent's path over the contours of the cost, start and end marked.

    With one feature the plane is the slope and the intercept ``(m, b)``; otherwise the two
    coefficients named by ``coefficients`` (``None`` for the intercept), the others held at the
    optimum. The default learning rate is 1/L of the raw problem.

    Examples
    --------
    >>> from gradreg import load_study_time
    >>> data = load_study_time()
    >>> figure = plot_path(data.X, data.score, epochs=50)
    >>> len(figure.axes[0].lines) >= 1 and len(figure.axes[0].collections) >= 1
    True
    """
    from .guidance import learning_rate_limits
    from .tutorial import descent_path

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    limits = learning_rate_limits(X, y)
    rate = limits.recommended if learning_rate is None else learning_rate
    path = descent_path(X, y, rate, epochs)
    solution = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)[0]
    coef_star, intercept_star = solution[:-1], solution[-1]
    i, j = coefficients
    track_i = path.coef[:, i]
    track_j = path.coef[:, j] if j is not None else path.intercept
    star = (coef_star[i], coef_star[j] if j is not None else intercept_star)
    finite = np.isfinite(track_i) & np.isfinite(track_j)
    span_i = max(np.abs(track_i[finite] - star[0]).max(), 1e-12) * 1.15
    span_j = max(np.abs(track_j[finite] - star[1]).max(), 1e-12) * 1.15
    A, B, cost = _cost_grid(X, y, coef_star, intercept_star, (i, j), star, (span_i, span_j))
    figure, axes = _new_figure()
    floor = cost.min()
    levels = floor + (cost.max() - floor) * np.geomspace(1e-4, 1.0, 14)
    axes.contourf(A, B, cost, levels=levels, cmap="Blues_r", alpha=0.85)
    axes.contour(A, B, cost, levels=levels, colors="white", linewidths=0.5, alpha=0.6)
    axes.plot(track_i[finite], track_j[finite], color=_PATH_COLOR, linewidth=1.5,
              marker="o", markersize=2.5, label=f"descent, learning rate {rate:.3g}")
    axes.plot(*[t[finite][0] for t in (track_i, track_j)], "o", color="#55A868",
              markersize=9, label="start")
    axes.plot(*[t[finite][-1] for t in (track_i, track_j)], "s", color=_LINE_COLOR,
              markersize=8, label=f"after {len(path.cost) - 1} epochs")
    axes.plot(*star, "*", color="gold", markeredgecolor="black", markersize=14, label="optimum")
    first_name, second_name = names or (
        ("slope m", "intercept b") if X.shape[1] == 1 else
        (f"coefficient {i}", "intercept" if j is None else f"coefficient {j}"))
    axes.set_xlabel(first_name)
    axes.set_ylabel(second_name)
    axes.set_title(f"Gradient descent over the cost surface (condition number "
                   f"{limits.condition_number:.3g})", loc="left")
    axes.legend(frameon=False, loc="best", fontsize=8)
    return figure


def plot_rates(
    X: np.ndarray, y: np.ndarray, fractions=(0.1, 0.5, 0.9, 1.05), epochs: int = 100
) -> Figure:
    """Cost per epoch for several constant learning rates, given as fractions of 2/L.

    A fraction above 1 diverges; the stability limit 2/L is printed in the title.

    Examples
    --------
    >>> from gradreg import load_study_time
    >>> data = load_study_time()
    >>> len(plot_rates(data.X, data.score).axes[0].lines)
    4
    """
    from .guidance import learning_rate_limits
    from .tutorial import descent_path

    limits = learning_rate_limits(X, y)
    figure, axes = _new_figure()
    start = None
    for fraction, color in zip(fractions, _RATE_COLORS, strict=False):
        rate = fraction * limits.max_stable
        path = descent_path(X, y, rate, epochs)
        start = path.cost[0] if start is None else start
        shown = np.minimum(path.cost, _RATES_CLIP * start * 10)
        label = f"{rate:.3g} ({fraction:g} x 2/L)" + (" diverges" if fraction >= 1 else "")
        axes.plot(np.arange(len(shown)), shown, color=color, linewidth=2, label=label)
    axes.set_yscale("log")
    axes.set_ylim(top=_RATES_CLIP * start)
    axes.set_xlabel("epoch")
    axes.set_ylabel("cost (mean squared error)")
    axes.set_title(f"Learning rates compared: stable below 2/L = {limits.max_stable:.4g}",
                   loc="left")
    axes.legend(frameon=False, title="learning rate")
    return figure


def save_animation(
    X: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike,
    learning_rate: float | None = None,
    epochs: int = 300,
    frames: int = 40,
) -> int:
    """Write a GIF of the fitted line moving towards the data; returns the number of frames.

    Frames are spaced geometrically in epochs, so the fast early moves and the slow end both
    show. Needs one feature.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    from .guidance import learning_rate_limits
    from .tutorial import descent_path

    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    x = X[:, 0]
    rate = learning_rate_limits(X, y).recommended if learning_rate is None else learning_rate
    descent = descent_path(X, y, rate, epochs)
    shown = np.unique(np.geomspace(1, len(descent.cost), frames).astype(int) - 1)
    figure, axes = _new_figure()
    axes.scatter(x, y, s=22, color=_DATA_COLOR, alpha=0.75, edgecolor="white", linewidth=0.5)
    grid = np.linspace(x.min(), x.max(), 2)
    (line,) = axes.plot(grid, grid * 0, color=_LINE_COLOR, linewidth=2.5)
    label = axes.text(0.02, 0.95, "", transform=axes.transAxes, va="top")
    axes.set_ylim(min(0.0, y.min()) - 0.05 * np.ptp(y), y.max() + 0.05 * np.ptp(y))
    axes.set_xlabel("x")
    axes.set_ylabel("y")

    def draw(k):
        epoch = shown[k]
        m, b = descent.coef[epoch, 0], descent.intercept[epoch]
        line.set_ydata(m * grid + b)
        label.set_text(f"epoch {epoch}: y = {m:.3g} x + {b:.3g}, cost {descent.cost[epoch]:.4g}")
        return line, label

    animation = FuncAnimation(figure, draw, frames=len(shown), blit=False)
    # PillowWriter writes by file name: it writes the temporary file, moved into place after.
    with atomic_path(path) as temporary:
        animation.save(temporary, writer=PillowWriter(fps=8))
    return len(shown)
