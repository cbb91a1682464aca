"""An interactive page: the classic descent at several learning rates, epoch by epoch.

One self-contained HTML file (plotly.js embedded, so it works offline). Two sliders, the
learning rate (fractions of the stability limit 2/L, one of them beyond it) and the epoch, move
three views together: the line over the data, the cost per epoch, and the path of ``(m, b)``
over the contours of the cost, with 2/L and the optimum marked. Every frame is computed here,
in Python, by the same descent as :func:`gradreg.gradient_descent`; the page only looks them up.
"""

from __future__ import annotations

import html
import json
import os

import numpy as np
from numpy.typing import ArrayLike

from ._atomic import atomic_write
from ._messages import shown
from ._slices import make_slice
from ._trace import classic_optimum, epochs_needed
from ._validation import as_numeric, check_finite
from .errors import DataError, ParameterError
from .tutorial import classic_max_stable_learning_rate, descent_path

__all__ = ["FRACTIONS", "explorer_frames", "write_explorer"]

# Learning rates shown, as fractions of 2/L: slow, 1/L, fast, oscillating, diverging.
FRACTIONS = (0.1, 0.5, 0.9, 0.99, 1.02)
_START_FRACTION = 0.5
_MAX_EPOCHS = 3000
_DIGITS = 7


def _rounded(values) -> list:
    return [float(f"{v:.{_DIGITS}g}") if np.isfinite(v) else None for v in np.ravel(values)]


def explorer_frames(x: ArrayLike, y: ArrayLike, fractions=FRACTIONS,
                    epochs: int | None = None) -> dict:
    """Every frame of the page: ``m``, ``b`` and cost per epoch for each learning rate.

    ``epochs`` defaults to the epochs the descent at 1/L needs to bring ``m`` and ``b`` within
    1e-4 (relative) of the least-squares line, at most 3000.

    Examples
    --------
    >>> from gradreg import load_study_time
    >>> data = load_study_time()
    >>> frames = explorer_frames(data.hours, data.score, epochs=10)
    >>> round(frames["limit"], 6), len(frames["m"][0])
    (0.029727, 11)
    """
    xs = as_numeric(x, "x").astype(np.float64).ravel()
    ys = as_numeric(y, "y").astype(np.float64).ravel()
    if xs.size != ys.size or xs.size < 2:
        raise DataError(
            f"The page needs x and y of the same length, at least 2; got {xs.size} and "
            f"{ys.size}."
        )
    check_finite(xs, "x")
    check_finite(ys, "y")
    optimum = classic_optimum(xs, ys)
    if optimum is None:
        raise DataError("x is constant: the slope of y = m*x + b is not determined.")
    if any(not 0 < f < 10 for f in fractions):
        raise ParameterError(
            f"fractions of 2/L must be in (0, 10). Got {shown(fractions)} instead."
        )
    limit = classic_max_stable_learning_rate(xs)
    if epochs is None:
        start = -np.array(optimum[:2])
        needed = epochs_needed(xs, start, limit / 2, 1e-4 * float(np.linalg.norm(start)))
        epochs = int(min(max(needed, 10), _MAX_EPOCHS))
    runs = [descent_path(xs.reshape(-1, 1), ys, f * limit, epochs) for f in fractions]
    return {
        "limit": limit,
        "fractions": list(fractions),
        "rates": [f * limit for f in fractions],
        "epochs": epochs,
        "m": [_rounded(run.coef[:, 0]) for run in runs],
        "b": [_rounded(run.intercept) for run in runs],
        "cost": [_rounded(run.cost) for run in runs],
        "optimum": {"m": optimum[0], "b": optimum[1], "cost": optimum[2]},
        "x_ends": [float(xs.min()), float(xs.max())],
    }


def _figure(xs, ys, frames, xlabel, ylabel):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    star = frames["optimum"]
    figure = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.07,
        subplot_titles=("the line over the data", "cost (mean squared error) per epoch",
                        "path of (m, b) over the cost"),
    )
    ends = np.array(frames["x_ends"])
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="data",
                                marker={"color": "#4C72B0", "size": 6, "opacity": 0.7}), 1, 1)
    figure.add_trace(go.Scatter(x=ends, y=[0, 0], mode="lines", name="descent's line",
                                line={"color": "#DD5555", "width": 3}), 1, 1)
    figure.add_trace(go.Scatter(x=ends, y=star["m"] * ends + star["b"], mode="lines",
                                name="least-squares line",
                                line={"color": "#888888", "dash": "dash"}), 1, 1)
    figure.add_trace(go.Scatter(x=[0], y=[1], mode="lines", name="cost",
                                line={"color": "#4C72B0"}), 1, 2)
    figure.add_trace(go.Scatter(x=[0], y=[1], mode="markers", name="this epoch",
                                marker={"color": "#DD5555", "size": 9}), 1, 2)
    figure.add_trace(go.Scatter(x=[0, frames["epochs"]], y=[star["cost"]] * 2, mode="lines",
                                name=f"optimum {star['cost']:.6g}",
                                line={"color": "#DD5555", "dash": "dash"}), 1, 2)
    stable = [i for i, f in enumerate(frames["fractions"]) if f < 1]
    ms = np.array([v for i in stable for v in frames["m"][i] if v is not None])
    bs = np.array([v for i in stable for v in frames["b"][i] if v is not None])
    span_m = max(np.abs(ms - star["m"]).max(), 1e-12) * 1.15
    span_b = max(np.abs(bs - star["b"]).max(), 1e-12) * 1.15
    grid_m = np.linspace(star["m"] - span_m, star["m"] + span_m, 90)
    grid_b = np.linspace(star["b"] - span_b, star["b"] + span_b, 90)
    plane = make_slice(xs.reshape(-1, 1), ys, (0, None))
    cost = plane.cost(*np.meshgrid(grid_m, grid_b))
    figure.add_trace(go.Contour(x=_rounded(grid_m), y=_rounded(grid_b),
                                z=np.log10(cost).round(4).tolist(), colorscale="Blues",
                                reversescale=True, showscale=False, name="log10 cost",
                                contours={"coloring": "fill"}, ncontours=16), 1, 3)
    figure.add_trace(go.Scatter(x=[0], y=[0], mode="lines+markers", name="path",
                                line={"color": "#222222"}, marker={"size": 3}), 1, 3)
    figure.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="(m, b) now",
                                marker={"color": "#DD5555", "size": 10, "symbol": "square"}),
                     1, 3)
    figure.add_trace(go.Scatter(x=[star["m"]], y=[star["b"]], mode="markers", name="optimum",
                                marker={"color": "gold", "size": 16, "symbol": "star",
                                        "line": {"color": "black", "width": 1}}), 1, 3)
    pad = 0.08 * float(np.ptp(ys))
    figure.update_xaxes(title_text=xlabel, row=1, col=1)
    figure.update_yaxes(title_text=ylabel, range=[min(0.0, ys.min()) - pad, ys.max() + pad],
                        row=1, col=1)
    figure.update_xaxes(title_text="epoch", range=[0, frames["epochs"]], row=1, col=2)
    figure.update_yaxes(title_text="cost (MSE)", type="log", row=1, col=2)
    figure.update_xaxes(title_text=f"slope m (per unit of {xlabel})",
                        range=[grid_m[0], grid_m[-1]], row=1, col=3)
    figure.update_yaxes(title_text="intercept b", range=[grid_b[0], grid_b[-1]], row=1, col=3)
    figure.update_layout(
        height=470, margin={"l": 60, "r": 20, "t": 40, "b": 50}, template="plotly_white",
        legend={"orientation": "h", "y": -0.2}, uirevision="fixed",
    )
    return figure


_SCRIPT = """
(function () {
  var F = %(frames)s;
  var div = document.getElementById("gradreg-plot");
  var rate = document.getElementById("rate"), epoch = document.getElementById("epoch");
  function fmt(v) { return v === null ? "overflow" : Number(v.toPrecision(6)).toString(); }
  function state() {
    var q = new URLSearchParams(location.hash.slice(1));
    if (q.has("rate")) rate.value = q.get("rate");
    if (q.has("epoch")) epoch.value = q.get("epoch");
  }
  function update() {
    var i = Number(rate.value), k = Number(epoch.value);
    var m = F.m[i], b = F.b[i], c = F.cost[i];
    var last = m.length - 1, j = Math.min(k, last);
    var f = F.fractions[i];
    document.getElementById("rate-value").textContent = fmt(F.rates[i]) + " (" + f +
      " \\u00d7 2/L)" + (f >= 1 ? " \\u2014 diverges" : "");
    document.getElementById("epoch-value").textContent = String(k);
    document.getElementById("epoch-echo").textContent = String(j);
    document.getElementById("m-value").textContent = fmt(m[j]);
    document.getElementById("b-value").textContent = fmt(b[j]);
    document.getElementById("cost-value").textContent = fmt(c[j]);
    var x0 = F.x_ends[0], x1 = F.x_ends[1], epochs = [];
    for (var e = 0; e <= last; e++) epochs.push(e);
    if (window.Plotly && div.data) {
      Plotly.restyle(div, {
        x: [[x0, x1], epochs, [j], m.slice(0, j + 1), [m[j]]],
        y: [[m[j] * x0 + b[j], m[j] * x1 + b[j]], c, [c[j]], b.slice(0, j + 1), [b[j]]]
      }, [1, 3, 4, 7, 8]);
    }
  }
  state();
  rate.addEventListener("input", update);
  epoch.addEventListener("input", update);
  window.addEventListener("hashchange", function () { state(); update(); });
  update();
  document.body.setAttribute("data-ready", "1");
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>%(title)s</title>
<style>
 body {font-family: sans-serif; margin: 16px 24px; color: #222;}
 .controls {display: grid; grid-template-columns: 9em 30em auto; gap: 6px 12px;
   align-items: center;}
 input[type=range] {width: 100%%;}
 .numbers span {font-family: monospace; font-weight: bold;}
 p {margin: 6px 0;}
</style></head>
<body>
<h2 style="margin: 4px 0">Gradient descent on %(ylabel)s = m &times; %(xlabel)s + b</h2>
<p id="summary">Cost J = mean squared error. The largest stable learning rate is
 <b>2/L = <span id="limit">%(limit)s</span></b> (L: the largest curvature of J); the optimum is
 m* = <span id="m-star">%(m_star)s</span>, b* = <span id="b-star">%(b_star)s</span>,
 J* = <span id="cost-star">%(cost_star)s</span>. Each epoch: m &larr; m &minus; rate &times;
 dJ/dm, b &larr; b &minus; rate &times; dJ/db, from m = b = 0.</p>
<div class="controls">
 <label for="rate">learning rate</label>
 <input type="range" id="rate" min="0" max="%(rate_max)d" step="1" value="%(rate_start)d">
 <output id="rate-value"></output>
 <label for="epoch">epoch</label>
 <input type="range" id="epoch" min="0" max="%(epochs)d" step="1" value="%(epoch_start)d">
 <output id="epoch-value"></output>
</div>
<p class="numbers">After epoch <span id="epoch-echo"></span>: m = <span id="m-value"></span>,
 b = <span id="b-value"></span>, cost = <span id="cost-value"></span></p>
%(plot)s
<script>%(script)s</script>
</body></html>
"""


def write_explorer(
    x: ArrayLike,
    y: ArrayLike,
    path: str | os.PathLike,
    xlabel: str = "x",
    ylabel: str = "y",
    fractions=FRACTIONS,
    epochs: int | None = None,
) -> dict:
    """Write the interactive page for ``y = m*x + b`` to ``path``; returns its frames.

    The page opens at learning rate 1/L (0.5 x 2/L) and epoch 10; ``#rate=I&epoch=K`` at the
    end of its address opens it at the ``I``-th rate of ``fractions`` and epoch ``K``.

    Examples
    --------
    >>> import os, tempfile
    >>> from gradreg import load_study_time
    >>> data = load_study_time()
    >>> page = os.path.join(tempfile.mkdtemp(), "explore.html")
    >>> frames = write_explorer(data.hours, data.score, page, epochs=20)
    >>> os.path.getsize(page) < 6_000_000
    True
    """
    import plotly.io

    xs = as_numeric(x, "x").astype(np.float64).ravel()
    ys = as_numeric(y, "y").astype(np.float64).ravel()
    frames = explorer_frames(xs, ys, fractions, epochs)
    figure = _figure(xs, ys, frames, xlabel, ylabel)
    plot = plotly.io.to_html(figure, include_plotlyjs=True, full_html=False,
                             div_id="gradreg-plot", config={"displaylogo": False})
    star = frames["optimum"]
    start = (min(range(len(fractions)), key=lambda i: abs(fractions[i] - _START_FRACTION)))
    text = _PAGE % {
        "title": html.escape(f"gradreg: gradient descent on {ylabel} ~ {xlabel}"),
        "xlabel": html.escape(xlabel),
        "ylabel": html.escape(ylabel),
        "limit": f"{frames['limit']:.6g}",
        "m_star": f"{star['m']:.6g}",
        "b_star": f"{star['b']:.6g}",
        "cost_star": f"{star['cost']:.6g}",
        "rate_max": len(fractions) - 1,
        "rate_start": start,
        "epochs": frames["epochs"],
        "epoch_start": min(10, frames["epochs"]),
        "plot": plot,
        # "</" cannot end the script early: JSON escapes it.
        "script": _SCRIPT % {"frames": json.dumps(frames).replace("</", "<\\/")},
    }
    with atomic_write(path) as handle:
        handle.write(text)
    return frames
