"""The regression table of an :class:`~gradreg.inference.Summary`, drawn with rich."""

from __future__ import annotations

import io
import math

import numpy as np
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ._inference_design import GRAM_CONDITION_LIMIT
from .inference import WANTED_DIGITS

__all__ = ["render", "to_text"]

_WIDTH = 100


def _number(value: float, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.{digits}g}"


def _p(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "<1e-16" if value < 1e-16 else f"{value:.4g}"


def _bound(bound) -> str:
    try:
        values = np.atleast_1d(np.asarray(bound, dtype=np.float64))
    except (TypeError, ValueError):
        return str(bound)
    if values.size == 1:
        return f"{values[0]:.3g}"
    return f"{np.max(values):.3g} (largest)"


def render(summary) -> Group:
    """A rich renderable: the fit's figures, the coefficient table and notes."""
    method = "WLS" if summary.weighted else "OLS"
    title = f"{method} regression results, fitted by gradient descent"
    if summary.target and "~" in summary.target:  # a formula, as the user wrote it
        title += f": {summary.target}"
    elif summary.target:
        title += f": {summary.target} ~ " + " + ".join(
            n for n in summary.names if n != "Intercept"
        )
    centred = "" if summary.fit_intercept else " (uncentred)"
    stat = "t" if summary.use_t else "z"
    left = [
        ("observations", f"{summary.nobs:.0f}"),
        ("df residuals", f"{summary.df_resid:.0f}"),
        ("df model", f"{summary.df_model:.0f}"),
        ("covariance type", summary.cov_type),
    ]
    right = [
        ("R-squared" + centred, _number(summary.rsquared, 6)),
        ("adj. R-squared" + centred, _number(summary.rsquared_adj, 6)),
        ("F-statistic", _number(summary.fvalue, 6)),
        ("Prob (F-statistic)", _p(summary.f_pvalue)),
    ]
    if summary.converged is not None:
        left.append(("converged", "yes" if summary.converged else "no"))
    if summary.coef_error_bound is not None:
        left.append(("coef. rel. error bound", _bound(summary.coef_error_bound)))
    left.append(("design from", "QR factor" if summary.method == "qr" else "cross-products"))
    right.append(("cond. (standardized)", f"{summary.condition_number:.3g}"))
    right.append(("digits vouched for", f"about {summary.digits}"))
    header = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2))
    for _ in range(4):
        header.add_column()
    left += [("", "")] * (len(right) - len(left))
    right += [("", "")] * (len(left) - len(right))
    for (a, b), (c, d) in zip(left, right, strict=True):
        header.add_row(a, b, c, d)

    low, high = summary.alpha / 2, 1 - summary.alpha / 2
    table = Table(show_edge=False, box=None, padding=(0, 1), header_style="bold")
    table.add_column("")
    for heading in ("coef", "std err", stat, f"P>|{stat}|", f"[{low:g}", f"{high:g}]"):
        table.add_column(heading, justify="right")
    intervals = summary.conf_int()
    for i, name in enumerate(summary.names):
        table.add_row(
            name,
            _number(summary.params[i]),
            _number(summary.bse[i]),
            _number(summary.tvalues[i], 4),
            _p(summary.pvalues[i]),
            _number(intervals[i, 0]),
            _number(intervals[i, 1]),
        )
    return Group(Text(title, style="bold"), header, Text(""), table, *_notes(summary))


def _notes(summary) -> list[Text]:
    notes = []
    if summary.cov_type == "nonrobust":
        notes.append("Standard errors assume that the covariance matrix of the errors is "
                     "correctly specified.")
    else:
        notes.append(f"Standard errors are heteroscedasticity robust ({summary.cov_type}); "
                     "p-values and intervals use the normal distribution.")
    if not summary.fit_intercept:
        notes.append("R-squared is computed without centering (uncentred) since the model "
                     "does not contain a constant.")
    if summary.weighted:
        notes.append("Weighted least squares: residuals and sums of squares are weighted by "
                     "sample_weight.")
    hidden = [summary.names[i] for i in np.flatnonzero(~summary.identifiable)]
    unresolved = not math.isfinite(summary.condition_number)
    if hidden:
        precision = " at the precision of the cross-products" if unresolved else ""
        notes.append(f"Rank deficient{precision} (rank {summary.rank} of "
                     f"{len(summary.names)}): {', '.join(hidden)} not identifiable (NaN "
                     "standard errors).")
    if unresolved:
        notes.append("The cross-products cannot tell this design from a rank-deficient one (its "
                     f"standardized condition number is above about {GRAM_CONDITION_LIMIT:.1g}"
                     " if it has full rank), so no digit of the standard errors is vouched "
                     "for. Pass the training data, summary(X=X, y=y), for the QR factor.")
    elif summary.digits < WANTED_DIGITS:
        notes.append(f"The condition number {summary.condition_number:.3g} leaves float64 only "
                     f"about {summary.digits} significant digits in the standard errors.")
    if summary.converged is False:
        notes.append("The fit did not converge: the coefficients, and so the table, are not at "
                     "the least-squares optimum.")
    return [Text(f"[{i}] {note}") for i, note in enumerate(notes, start=1)]


def to_text(summary) -> str:
    """The table as plain text, :data:`_WIDTH` columns wide."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=_WIDTH, color_system=None, force_terminal=False,
                      highlight=False, soft_wrap=False)
    console.print(render(summary))
    return buffer.getvalue().rstrip() + "\n"
