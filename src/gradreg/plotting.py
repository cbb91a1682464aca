"""Figures of a fit, drawn with matplotlib's object API (no global state, no display needed).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes it
atomically.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from ._atomic import atomic_write

__all__ = ["plot_fit", "save_figure"]

_DATA_COLOR = "#4C72B0"
_LINE_COLOR = "#DD5555"
_FIGSIZE = (7.0, 4.5)


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
