"""Options shared by the ``gradreg`` commands: fitting settings, reading options, formulas,
and the checks of the files named on the command line.

The options are built from :mod:`gradreg._choices` alone; the estimator and the readers are
imported when a command runs, so that help and usage errors start quickly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

from ._choices import COV_TYPES, OPTIMIZER_NAMES, PENALTIES, SCHEDULES, SOLVER_NAMES
from ._cli_names import FIT_PARAMETERS
from ._messages import listing
from ._outputs import check_distinct, check_output
from .errors import GradregError, InputFileError, ParameterError

if TYPE_CHECKING:
    from .estimator import GDRegressor


def fit_options(function):
    options = [
        click.option("--solver", type=click.Choice(["auto", *SOLVER_NAMES]), default="auto",
                     show_default=True,
                     help="Full-batch GD, mini-batch SGD or conjugate gradient."),
        click.option("--optimizer", type=click.Choice(["auto", *OPTIMIZER_NAMES]), default="auto",
                     show_default=True, help="Update rule of gd and sgd."),
        click.option("--learning-rate", default="auto", show_default=True,
                     help="'auto' (1/L) or a positive number."),
        click.option("--schedule", type=click.Choice(SCHEDULES), default="auto",
                     show_default=True, help="Learning-rate decay."),
        click.option("--momentum", type=float, default=0.9, show_default=True,
                     help="Momentum of the 'momentum' optimizer (and of sgd's 'nesterov')."),
        click.option("--line-search", is_flag=True, help="Backtracking line search (gd)."),
        click.option("--batch-size", type=int, default=32, show_default=True,
                     help="Rows per SGD step."),
        click.option("--penalty", type=click.Choice([p for p in PENALTIES if p]), default=None,
                     help="Penalty on the coefficients."),
        click.option("--alpha", type=float, default=1e-4, show_default=True,
                     help="Penalty strength."),
        click.option("--l1-ratio", type=float, default=0.15, show_default=True,
                     help="L1 share of the elastic net."),
        click.option("--max-iter", type=int, default=1000, show_default=True,
                     help="Maximum epochs."),
        click.option("--tol", default="1e-8", show_default=True, metavar="TOL|none",
                     help="Target for the certified relative error of the coefficients; "
                          "'none' runs all --max-iter epochs."),
        click.option("--no-intercept", is_flag=True, help="Fit without an intercept."),
        click.option("--standardize/--no-standardize", default=True, show_default=True,
                     help="Descend in standardized coordinates, or on the raw coefficients "
                          "as the tutorial does (then --learning-rate is the tutorial's)."),
        click.option("--random-state", type=click.IntRange(min=0), default=None,
                     help="Seed for SGD shuffling."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def cov_type_option(function):
    return click.option(
        "--cov-type", type=click.Choice(COV_TYPES), default="nonrobust", show_default=True,
        help="Covariance of the coefficients; the HC types read the data once more.",
    )(function)


def _positive(text: str, option: str, word: str) -> float | None:
    """The number of --learning-rate or --tol, checked here: the estimator's own message would
    also offer what only Python can pass (a callable schedule)."""
    if text.strip().lower() == word:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise click.BadParameter(f"must be {word!r} or a positive number, got {text!r}",
                                 param_hint=option)
    return value


def estimator_from(options: dict) -> GDRegressor:
    """The estimator the fitting options describe, each set through the parameter
    FIT_PARAMETERS names for it (the table the messages are translated back with)."""
    values = {}
    for parameter, option in FIT_PARAMETERS.items():
        key = option.flag_name.lstrip("-").replace("-", "_")
        value = options[key]
        if parameter == "learning_rate" and isinstance(value, str):  # the option's text
            value = _positive(value, option.flag_name, "auto") or "auto"
        elif parameter == "tol" and isinstance(value, str):  # a number when called from Python
            value = _positive(value, option.flag_name, "none")
        elif option.inverted:
            value = not value
        values[parameter] = value
    from .estimator import GDRegressor

    return GDRegressor(**values)


def feature_list(features: str | None) -> list[str] | None:
    """The --features option as column names (None: all columns but the target)."""
    return [f.strip() for f in features.split(",")] if features else None


def input_files(data) -> list[str]:
    """The files DATA names (folders and globs expanded); those it cannot resolve are left to
    the reader, which reports them (a Dask cluster may read paths this machine cannot)."""
    from .sources.files import resolve_paths

    try:
        return [str(p) for p in resolve_paths(list(data))]
    except GradregError:
        return []


def check_outputs(outputs: dict, inputs: list) -> None:
    """Refuse, before any work, outputs that cannot be written or would overwrite an input."""
    try:
        for option, path in outputs.items():
            if path is not None:
                try:
                    check_output(path)
                except InputFileError as exc:
                    raise InputFileError(exc.errno, f"{option}: {exc}") from None
        check_distinct(outputs, inputs)
    except InputFileError as exc:
        raise click.UsageError(str(exc)) from None


# What reading_kwargs gives when no reading option is given.
READING_DEFAULTS = {"delimiter": None, "decimal": ".", "header": "infer", "encoding": "utf-8"}


def reading_options(function):
    """CSV reading options, named as pandas and pyarrow name them."""
    options = [
        click.option("--delimiter", default=READING_DEFAULTS["delimiter"],
                     help="CSV field delimiter (default: sniffed from the first line among "
                          "',', ';', tab and '|'; write tab as '\\t')."),
        click.option("--decimal", type=click.Choice([".", ","]),
                     default=READING_DEFAULTS["decimal"],
                     show_default=True, help="Decimal mark of the numbers in CSV files."),
        click.option("--no-header", is_flag=True,
                     help="CSV files have no header line: columns are named 1, 2, ..."),
        click.option("--encoding", default=READING_DEFAULTS["encoding"], show_default=True,
                     help="Text encoding of CSV files."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def reading_kwargs(options: dict) -> dict:
    """The reading options taken out of ``options``, as keyword arguments of scan."""
    delimiter = options.pop("delimiter")
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    reading = {"delimiter": delimiter, "decimal": options.pop("decimal"),
               "header": None if options.pop("no_header") else "infer",
               "encoding": options.pop("encoding")}
    from .sources._dialect import CsvOptions

    try:
        CsvOptions(**reading)
    except ParameterError as exc:
        raise click.UsageError(str(exc)) from None
    return reading


def read_training(paths: tuple[str, ...], target: str, features: str | None, reading: dict):
    from .sources import scan

    return scan(list(paths), target=target, features=feature_list(features), **reading)


def design_options(function):
    """Formulas, categorical columns, excluded columns and a weight column."""
    options = [
        click.option("--formula", default=None, metavar="'Y ~ TERMS'",
                     help="A model formula (formulaic's syntax, as statsmodels and R): "
                          "'invest ~ value + capital + C(firm)'. Replaces --target/--features."),
        click.option("--categorical", default=None, metavar="COL,...",
                     help="Text or code columns to one-hot encode (treatment coding, the first "
                          "level in sorted order as reference), as C(COL) in a formula."),
        click.option("--exclude", default=None, metavar="COL,...",
                     help="Columns to leave out of the features."),
        click.option("--weights", default=None, metavar="COL",
                     help="A column of non-negative sample weights."),
        click.option("--levels", multiple=True, metavar="COL=A,B,...",
                     help="The levels of a categorical column, the first the reference "
                          "(repeat for several columns; default: found in a first pass)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def training_formula(data, target, features, formula, categorical, exclude, weights,
                      reading) -> str | None:
    """The formula a fit reads DATA through: --formula, or one written from --categorical and
    --weights (None when the plain numeric reader serves)."""
    if formula is not None:
        if target is not None or features or categorical or exclude:
            raise click.UsageError(
                "--formula names the target and the terms: give it without --target, "
                "--features, --categorical or --exclude."
            )
        return formula
    if target is None:
        raise click.UsageError("Missing option '--target' (or give --formula).")
    if not categorical and not weights:
        return None
    from .sources._dialect import CsvOptions
    from .sources.files import _inspect, resolve_paths

    first = _inspect(resolve_paths(list(data))[0], CsvOptions(**reading))
    names = first.names
    chosen = feature_list(features) or [c for c in names if c != target]
    dropped = set(feature_list(exclude) or []) | {weights}
    cats = set(feature_list(categorical) or [])
    unknown = sorted((cats | set(feature_list(exclude) or [])) - set(names))
    if unknown:
        raise click.UsageError(f"column(s) {listing(unknown)} are not in {first.name!r}; its "
                               f"columns are {listing(names)}.{first.delimiter_hint}")
    terms = [f"C({_quoted(c)})" if c in cats else _quoted(c) for c in chosen if c not in dropped]
    if not terms:
        raise click.UsageError("No feature column is left after --exclude and --weights.")
    return f"{_quoted(target)} ~ " + " + ".join(terms)


def _quoted(name: str) -> str:
    """A column name as a formula term: backticks unless it is a plain identifier."""
    return name if name.isidentifier() else f"`{name}`"


def parse_levels(levels: tuple[str, ...]) -> dict | None:
    parsed = {}
    for item in levels:
        column, sep, values = item.partition("=")
        if not sep or not column or not values:
            raise click.BadParameter(f"write COL=A,B,..., got {item!r}", param_hint="--levels")
        parsed[column.strip()] = [v.strip() for v in values.split(",")]
    return parsed or None
