"""Figures of a fit, drawn with matplotlib's object API (no global state, no display needed).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes it
atomically.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from ._atomic import atomic_path, atomic_write
from ._fit_path import record_path
from .errors import ParameterError

__all__ = [
    "plot_cost",
    "plot_fit",
    "plot_fit_path",
    "plot_path",
    "plot_rates",
    "record_path",
    "save_animation",
    "save_figure",
]

_DATA_COLOR = "#4C72B0"
_LINE_COLOR = "#DD5555"
_FIGSIZE = (7.0, 4.5)
_PATH_COLOR = "#222222"
_RATE_COLORS = ["#4C72B0", "#55A868", "#8172B2", "#C44E52", "#DD8452"]
# The animation's default run to convergence stops here on very slow problems.
_MAX_ANIMATED_EPOCHS = 200_000
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
    axes.set_title(title or f"Linear fit by gradient descent, {subtitle}".strip(", "),
                   loc="left")
    axes.legend(frameon=False)
    return figure


def image_format(path: str | os.PathLike) -> str:
    """The image format named by ``path``'s suffix (``png`` without one).

    Raises
    ------
    ParameterError
        When matplotlib cannot write that format; the message lists those it can.
    """
    suffix = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    formats = sorted(Figure().canvas.get_supported_filetypes())
    if suffix not in formats:
        raise ParameterError(
            f"Cannot write a plot to {str(path)!r}: its suffix .{suffix} names no image format. "
            f"Use one of {', '.join('.' + f for f in formats)}."
        )
    return suffix


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write ``figure`` to ``path`` (format from the suffix), atomically."""
    suffix = image_format(path)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format=suffix, dpi=dpi)


def plot_cost(model, title: str | None = None) -> Figure:
    """Cost per epoch with the optimum's cost, and the relative gap to the optimum per epoch.

    Drawn for fits of any length: a few epochs get markers; epochs at which the gap is exactly
    zero (the optimum to float64 precision) are marked on the floor of the gap panel, and the
    gap axis always shows ``tol`` (which bounds the coefficients' error, not the gap: the legend
    gives the bound reached). The cost is the mean squared error (with a penalty: MSE + 2 x
    alpha x penalty). The figure's title names the solver and the learning rate.

    Examples
    --------
    >>> from gradreg import GDRegressor, load_study_time
    >>> data = load_study_time()
    >>> model = GDRegressor(solver="gd", optimizer="plain", standardize=False).fit(data.X,
    ...                                                                          data.score)
    >>> [len(axes.lines) for axes in plot_cost(model).axes]
    [2, 2]
    """
    from ._units import cost_label

    history = model.history_
    loss = np.asarray(history["loss"], dtype=np.float64)
    epochs = np.arange(loss.size)
    marker = "o" if loss.size <= 60 else None
    figure = Figure(figsize=(10.0, 4.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    for axes in (left, right):
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(alpha=0.25, which="both")
        axes.set_xlabel("epoch")
        if loss.size <= 12:
            axes.set_xticks(epochs)
    left.plot(epochs, loss, color=_DATA_COLOR, linewidth=2, marker=marker, markersize=4,
              label="cost")
    optimum = getattr(model, "optimal_loss_", float("nan"))
    if np.isfinite(optimum):
        left.axhline(optimum, color=_LINE_COLOR, linestyle="--", label=f"optimum {optimum:.6g}")
    positive = loss[np.isfinite(loss) & (loss > 0)]
    if positive.size and positive.max() > 10 * positive.min():
        left.set_yscale("log")
    left.set_ylabel(f"cost ({cost_label(getattr(model, 'penalty', None) is not None)})")
    left.set_title("Cost per epoch", loc="left")
    left.legend(frameon=False)
    _draw_gap(right, np.asarray(history["gap"], dtype=np.float64), model, marker)
    figure.suptitle(title or _fit_summary(model), x=0.01, ha="left", fontsize=10)
    return figure


def _draw_gap(axes, gap: np.ndarray, model, marker) -> None:
    epochs = np.arange(gap.size)
    positive = gap > 0
    zero = gap == 0
    tol = float(model.tol)
    known = gap[positive]
    floor = min(tol, float(known.min())) / 10 if known.size else tol / 10
    top = max(tol, float(known.max())) * 10 if known.size else tol * 100
    axes.plot(epochs[positive], gap[positive], color=_DATA_COLOR, linewidth=2, marker=marker,
              markersize=4, label="relative gap (f - f*)/f*")
    if zero.any():
        axes.plot(epochs[zero], np.full(int(zero.sum()), floor), "v", color="#55A868",
                  markersize=7, linestyle="none", label="gap 0: the optimum, to float64")
    if not (positive.any() or zero.any()):
        axes.text(0.5, 0.5, "gap unknown on this route", transform=axes.transAxes,
                  ha="center", va="center")
    # tol bounds the coefficients' certified error, not the gap: shown for scale, labelled so.
    axes.axhline(tol, color=_LINE_COLOR, linestyle="--",
                 label=f"tol = {tol:g} (target of the coefficients' error bound)")
    axes.set_yscale("log")
    axes.set_ylim(floor / 3, top)
    verdict = "converged" if model.converged_ else "not converged"
    axes.set_title("Relative gap to the exact optimum", loc="left")
    count = f"{model.n_iter_} epoch{'s' if model.n_iter_ != 1 else ''}"
    bound = getattr(model, "coef_error_bound_", None)
    reached = "" if bound is None else f"\ncoefficients' error bound {bound:.2g}"
    axes.legend(frameon=False, title=f"{verdict} after {count}{reached}", fontsize=8,
                title_fontsize=9)


def _fit_summary(model) -> str:
    from ._fit_path import fit_method, steps_text

    scaled = getattr(model, "standardize", False)
    text = f"Fit by {fit_method(model)}" + (" in standardized coordinates" if scaled else "")
    steps = steps_text(model, digits=4)
    if steps:
        # 2/L: the stability limit of a constant rate, for scale.
        text += f"\n{steps.removesuffix(' (standardized problem)')}, "
        text += f"2/L = {2 / model.lipschitz_:.4g}" + (" (standardized problem)" if scaled else "")
    return text


def _label(names, index: int | None, one_feature: bool) -> str:
    if index is None:
        return "intercept b"
    name = str(names[index]) if names is not None else f"x{index}"
    return f"slope m (per unit of {name})" if one_feature else f"coefficient of {name}"


def plot_path(
    X: np.ndarray,
    y: np.ndarray,
    learning_rate: float | None = None,
    epochs: int = 200,
    coefficients: tuple[int, int | None] | None = None,
    names: tuple[str, str] | None = None,
    feature_names=None,
) -> Figure:
    """The classic descent's path over the contours of the cost, start and end marked.

    With one feature the plane is the slope and the intercept ``(m, b)``. With several it is an
    exact 2-D slice through the optimum along two parameters (``coefficients``: two feature
    indices, the second may be ``None`` for the intercept; default: the pair with the strongest
    curvature coupling), the others held at their optimal values; the descent shown is the
    classic one on that slice, from zero, so path and contours are the same function. The
    default learning rate is 1/L of the plane; axes are named from ``feature_names``. To draw
    the path a fit took, use :func:`plot_fit_path`.

    Examples
    --------
    >>> from gradreg import load_study_time
    >>> data = load_study_time()
    >>> figure = plot_path(data.X, data.score, epochs=50, feature_names=["hours"])
    >>> figure.axes[0].get_xlabel()
    'slope m (per unit of hours)'
    """
    from .tutorial import descent_path

    X, y, pair, plane = _plane(X, y, coefficients)
    curvatures = np.linalg.eigvalsh(plane.hessian())
    rate = 1.0 / curvatures[-1] if learning_rate is None else learning_rate
    path = descent_path(plane.columns, plane.target, rate, epochs, fit_intercept=False)
    kind = "1/L" if learning_rate is None else f"{rate * curvatures[-1] / 2:.2g} x 2/L"
    figure, axes = _new_figure()
    first, second = names or (_label(feature_names, pair[0], X.shape[1] == 1),
                              _label(feature_names, pair[1], X.shape[1] == 1))
    _draw_path(axes, plane, path.coef[:, 0], path.coef[:, 1],
               f"descent, learning rate {rate:.3g} ({kind})",
               f"after {len(path.cost) - 1} epochs", (first, second))
    kappa = _condition(curvatures)
    d = X.shape[1]
    if d == 1:
        axes.set_title(f"Gradient descent on the cost (MSE), condition number {kappa:.3g}",
                       loc="left", fontsize=11)
    else:
        held = d - 1  # of the d + 1 parameters, two vary
        axes.set_title(f"Exact 2-D slice through the optimum (condition number {kappa:.3g}):\n"
                       f"{first} and {second} vary, the other {held} parameter"
                       f"{'s' if held != 1 else ''} stay at the optimum",
                       loc="left", fontsize=10)
    return figure


def plot_fit_path(
    path,
    X: np.ndarray,
    y: np.ndarray,
    coefficients: tuple[int, int | None] | None = None,
    names: tuple[str, str] | None = None,
    feature_names=None,
) -> Figure:
    """The iterates a fit took over the contours of the cost, start and end marked.

    ``path`` is the fit's :class:`~gradreg._fit_path.FitPath` (:func:`record_path`): every
    point drawn is one of its recorded iterates, in the data's units, whatever the solver,
    update rule, learning rate and epochs; the legend names them. With one feature the plane
    is ``(m, b)`` and the contours are the mean squared error there. With several, the
    iterates (which move every parameter) are drawn by two of their coordinates
    (``coefficients``, as in :func:`plot_path`) over the contours of an exact slice through
    the least-squares optimum, the other parameters held there; the title says so. The
    contours are the mean squared error, without any penalty of the fit.

    Examples
    --------
    >>> from gradreg import GDRegressor, load_study_time
    >>> data = load_study_time()
    >>> model = GDRegressor(solver="gd", optimizer="plain", max_iter=20)
    >>> path = record_path(model, data.X, data.score)
    >>> line = plot_fit_path(path, data.X, data.score).axes[0].lines[0]
    >>> bool((line.get_xdata() == path.coef[:, 0]).all())
    True
    """
    X, y, pair, plane = _plane(X, y, coefficients)
    d = X.shape[1]
    coef = np.asarray(path.coef, dtype=np.float64).reshape(len(path.intercept), -1)
    if coef.shape[1] != d:
        raise ParameterError(
            f"The path has {coef.shape[1]} coefficients per iterate but X has {d} features: "
            "draw a path with the data it was fitted on."
        )
    first_track = coef[:, pair[0]]
    second_track = path.intercept if pair[1] is None else coef[:, pair[1]]
    rate = f", {path.steps}" if path.steps else ""
    first, second = names or (_label(feature_names, pair[0], d == 1),
                              _label(feature_names, pair[1], d == 1))
    figure, axes = _new_figure()
    count = f"{path.n_iter} epoch{'s' if path.n_iter != 1 else ''}"
    _draw_path(axes, plane, first_track, second_track, f"{path.method}{rate}",
               f"after {count}: the fit", (first, second), "least-squares optimum")
    kappa = _condition(np.linalg.eigvalsh(plane.hessian()))
    if d == 1:
        title = (f"The fit's path on the cost (MSE), condition number {kappa:.3g}:\n"
                 f"{path.method}, {count}")
    else:
        held = d - 1
        title = (f"The fit's iterates by {first} and {second} ({count}),\n"
                 "over an exact 2-D slice of the cost (MSE) through the least-squares optimum,"
                 f"\nthe other {held} parameter{'s' if held != 1 else ''} held there (the fit "
                 f"moves {'them' if held != 1 else 'it'} too)")
    axes.set_title(title, loc="left", fontsize=10)
    return figure


def _plane(X, y, coefficients):
    from ._slices import make_slice, strongest_coupling

    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    pair = coefficients or ((0, None) if X.shape[1] == 1 else strongest_coupling(X))
    return X, y, pair, make_slice(X, y, pair)


def _condition(curvatures: np.ndarray) -> float:
    return curvatures[-1] / curvatures[0] if curvatures[0] > 0 else np.inf


def _draw_path(axes, plane, track_i, track_j, label: str, end: str, names,
               optimum: str = "optimum") -> None:
    """The path ``(track_i, track_j)`` over the plane's contours: its finite points as one
    line (the first artist), then start, end and optimum markers."""
    star = plane.optimum
    finite = np.isfinite(track_i) & np.isfinite(track_j)
    span_i = max(np.abs(track_i[finite] - star[0]).max(), 1e-12) * 1.15
    span_j = max(np.abs(track_j[finite] - star[1]).max(), 1e-12) * 1.15
    A, B = np.meshgrid(np.linspace(star[0] - span_i, star[0] + span_i, 160),
                       np.linspace(star[1] - span_j, star[1] + span_j, 160))
    cost = plane.cost(A, B)
    floor = cost.min()
    levels = floor + (cost.max() - floor) * np.geomspace(1e-4, 1.0, 14)
    axes.contourf(A, B, cost, levels=levels, cmap="Blues_r", alpha=0.85)
    axes.contour(A, B, cost, levels=levels, colors="white", linewidths=0.5, alpha=0.6)
    axes.plot(track_i[finite], track_j[finite], color=_PATH_COLOR, linewidth=1.5,
              marker="o", markersize=2.5, label=label)
    axes.plot(track_i[finite][0], track_j[finite][0], "o", color="#55A868", markersize=9,
              label="start")
    axes.plot(track_i[finite][-1], track_j[finite][-1], "s", color=_LINE_COLOR, markersize=8,
              label=end)
    axes.plot(*star, "*", color="gold", markeredgecolor="black", markersize=14,
              label=optimum)
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    axes.legend(frameon=False, loc="best", fontsize=8)


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


def animated_descent(x, y, learning_rate=None, epochs=None, frames: int = 40):
    """The rate, the classic descent and the epochs shown by :func:`save_animation`.

    The default rate is 1/L; the default ``epochs`` is the exact count the descent needs to
    bring ``m`` and ``b`` within 1e-4 (relative) of the least-squares line.
    """
    from ._trace import classic_optimum, epochs_needed
    from .tutorial import classic_max_stable_learning_rate, descent_path

    rate = classic_max_stable_learning_rate(x) / 2 if learning_rate is None else learning_rate
    optimum = classic_optimum(x, y)
    if epochs is None:
        epochs = 300
        if optimum is not None:
            start = -np.array(optimum[:2])
            needed = epochs_needed(x, start, rate, 1e-4 * float(np.linalg.norm(start)))
            epochs = int(min(max(needed, 1), _MAX_ANIMATED_EPOCHS))
    descent = descent_path(x.reshape(-1, 1), y, rate, epochs)
    shown = np.unique(np.geomspace(1, len(descent.cost), frames).astype(int) - 1)
    return rate, descent, shown


def save_animation(
    X: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike,
    learning_rate: float | None = None,
    epochs: int | None = None,
    frames: int = 40,
    xlabel: str = "x",
    ylabel: str = "y",
) -> int:
    """Write a GIF of the fitted line moving towards the data; returns the number of frames.

    The default rate is 1/L and the default ``epochs`` run to convergence (``m`` and ``b``
    within 1e-4 of the least-squares line, relative; the exact count for this rate), so the
    last frame lies on the dashed least-squares line. Frames are spaced geometrically in
    epochs, so the fast early moves and the slow end both show. Axes are labelled
    ``xlabel``/``ylabel`` in the data's units. Needs one feature.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    from ._trace import classic_optimum

    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(X, dtype=np.float64).reshape(len(y), -1)[:, 0]
    rate, descent, shown = animated_descent(x, y, learning_rate, epochs, frames)
    optimum = classic_optimum(x, y)
    figure, axes = _new_figure()
    axes.scatter(x, y, s=22, color=_DATA_COLOR, alpha=0.75, edgecolor="white", linewidth=0.5,
                 label="data")
    grid = np.linspace(x.min(), x.max(), 2)
    if optimum is not None:
        axes.plot(grid, optimum[0] * grid + optimum[1], color="#888888", linestyle="--",
                  linewidth=1.2, label="least-squares line")
    (line,) = axes.plot(grid, grid * 0, color=_LINE_COLOR, linewidth=2.5, label="descent")
    label = axes.text(0.02, 0.97, "", transform=axes.transAxes, va="top", family="monospace",
                      fontsize=9)
    axes.set_ylim(min(0.0, y.min()) - 0.05 * np.ptp(y), y.max() + 0.15 * np.ptp(y))
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(f"Gradient descent at learning rate {rate:.4g}", loc="left")
    axes.legend(frameon=False, loc="lower right", fontsize=8)

    def draw(k):
        epoch = shown[k]
        m, b = descent.coef[epoch, 0], descent.intercept[epoch]
        line.set_ydata(m * grid + b)
        label.set_text(f"epoch {epoch:>6}: {ylabel} = {m:.4g} {xlabel} + {b:.4g}\n"
                       f"cost (MSE) {descent.cost[epoch]:.5g}")
        return line, label

    animation = FuncAnimation(figure, draw, frames=len(shown), blit=False)
    # PillowWriter writes by file name: it writes the temporary file, moved into place after.
    with atomic_path(path) as temporary:
        animation.save(temporary, writer=PillowWriter(fps=8))
    return len(shown)
