"""The ``gradreg`` command: parse, call the library, print. No numerics live here."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import warnings
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import datasets
from ._outputs import check_distinct, check_output, same_file
from .errors import (
    ConvergenceWarning,
    FitInterrupted,
    GradregError,
    GradregWarning,
    InputFileError,
    OutputFileError,
    ParameterError,
)
from .estimator import PENALTIES, SCHEDULES, GDRegressor, load_model
from .optim import OPTIMIZERS
from .solvers import SOLVERS

__all__ = ["main"]

EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM and SIGHUP give 128 + their number
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Stdout:
    """``sys.stdout`` as it is at each call, whose write failures are one OutputFileError.

    rich would otherwise end the process silently on a closed pipe, and a full disk would
    surface as a traceback.
    """

    def write(self, text: str) -> int:
        try:
            return sys.stdout.write(text)
        except OSError as exc:
            raise _stdout_error(exc) from None

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except OSError as exc:
            raise _stdout_error(exc) from None

    def __getattr__(self, name: str):
        return getattr(sys.stdout, name)


def _stdout_error(exc: OSError) -> OutputFileError:
    # What is still buffered would fail again when Python flushes at exit: send it nowhere.
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return OutputFileError(exc.errno, f"cannot write to standard output: {exc.strerror or exc}")


_stdout = _Stdout()
_out = Console(file=_stdout, highlight=False)


class _Stopped(Exception):
    """Ctrl-C during a fit, carried past click (which turns KeyboardInterrupt into Abort)."""

    def __init__(self, epochs: int) -> None:
        super().__init__(epochs)
        self.epochs = epochs


def _warning_line(message, category, filename, lineno, file=None, line=None):
    label = "warning" if issubclass(category, ConvergenceWarning | GradregWarning) else "note"
    print(f"gradreg: {label}: {message}", file=sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradreg")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Linear regression fitted by gradient descent."""
    ctx.obj = {"debug": debug}


def _fit_options(function):
    options = [
        click.option("--solver", type=click.Choice(["auto", *SOLVERS]), default="auto",
                     show_default=True,
                     help="Full-batch GD, mini-batch SGD or conjugate gradient."),
        click.option("--optimizer", type=click.Choice(["auto", *OPTIMIZERS]), default="auto",
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
        click.option("--random-state", type=int, default=None, help="Seed for SGD shuffling."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _cov_type_option(function):
    from .inference import COV_TYPES

    return click.option(
        "--cov-type", type=click.Choice(COV_TYPES), default="nonrobust", show_default=True,
        help="Covariance of the coefficients; the HC types read the data once more.",
    )(function)


def _estimator(options: dict) -> GDRegressor:
    rate = options["learning_rate"]
    if rate != "auto":
        try:
            rate = float(rate)
        except ValueError:
            raise click.BadParameter(
                f"must be 'auto' or a positive number, got {rate!r}", param_hint="--learning-rate"
            ) from None
    tol = options["tol"]
    if isinstance(tol, str):  # the option's text; a number when called from Python
        if tol.strip().lower() == "none":
            tol = None
        else:
            try:
                tol = float(tol)
            except ValueError:
                raise click.BadParameter(
                    f"must be 'none' or a positive number, got {tol!r}", param_hint="--tol"
                ) from None
    return GDRegressor(
        solver=options["solver"],
        optimizer=options["optimizer"],
        learning_rate=rate,
        schedule=options["schedule"],
        momentum=options["momentum"],
        line_search=options["line_search"],
        batch_size=options["batch_size"],
        penalty=options["penalty"],
        alpha=options["alpha"],
        l1_ratio=options["l1_ratio"],
        max_iter=options["max_iter"],
        tol=tol,
        fit_intercept=not options["no_intercept"],
        standardize=options["standardize"],
        random_state=options["random_state"],
    )


def _coefficient_table(model: GDRegressor, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("term")
    table.add_column("coefficient", justify="right")
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(model.n_features_in_)]
    if model.fit_intercept:
        table.add_row("intercept", f"{model.intercept_:.6g}")
    for name, value in zip(names, model.coef_, strict=True):
        table.add_row(str(name), f"{value:.6g}")
    return table


def _print_report(model: GDRegressor) -> None:
    _out.print(model.report(), soft_wrap=True)


@cli.command()
@click.option("--no-plot", is_flag=True, help="Do not write the plots and the page.")
@click.option("--out-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for the plots and the page (created when missing).")
@click.option("--epochs", type=click.IntRange(min=0), default=3, show_default=True,
              help="Epochs of the worked example to print.")
def demo(no_plot: bool, out_dir: str, epochs: int) -> None:
    """Fit the bundled study-time data by the tutorial's gradient descent and explain it."""
    from ._demo import DEMO_OUTPUTS, run_demo

    if not no_plot:
        folder = Path(out_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.UsageError(f"--out-dir: cannot create {out_dir!r}: "
                                   f"{exc.strerror or exc}") from None
        _check_outputs({f"--out-dir ({name})": folder / name for name in DEMO_OUTPUTS},
                       [datasets.study_time_path()])
    run_demo(_out, Path(out_dir), epochs, plots=not no_plot)


def _feature_list(features: str | None) -> list[str] | None:
    """The --features option as column names (None: all columns but the target)."""
    return [f.strip() for f in features.split(",")] if features else None


def _input_files(data) -> list[str]:
    """The files DATA names (folders and globs expanded); those it cannot resolve are left to
    the reader, which reports them (a Dask cluster may read paths this machine cannot)."""
    from .sources.files import resolve_paths

    try:
        return [str(p) for p in resolve_paths(list(data))]
    except GradregError:
        return []


def _check_outputs(outputs: dict, inputs: list) -> None:
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


def _reading_options(function):
    """CSV reading options, named as pandas and pyarrow name them."""
    options = [
        click.option("--delimiter", default=None,
                     help="CSV field delimiter (default: sniffed from the first line among "
                          "',', ';', tab and '|'; write tab as '\\t')."),
        click.option("--decimal", type=click.Choice([".", ","]), default=".",
                     show_default=True, help="Decimal mark of the numbers in CSV files."),
        click.option("--no-header", is_flag=True,
                     help="CSV files have no header line: columns are named 1, 2, ..."),
        click.option("--encoding", default="utf-8", show_default=True,
                     help="Text encoding of CSV files."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _reading(options: dict) -> dict:
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


def _read_training(paths: tuple[str, ...], target: str, features: str | None, reading: dict):
    from .sources import scan

    return scan(list(paths), target=target, features=_feature_list(features), **reading)


def _design_options(function):
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


def _training_formula(data, target, features, formula, categorical, exclude, weights,
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

    names = _inspect(resolve_paths(list(data))[0], CsvOptions(**reading)).names
    chosen = _feature_list(features) or [c for c in names if c != target]
    dropped = set(_feature_list(exclude) or []) | {weights}
    cats = set(_feature_list(categorical) or [])
    unknown = sorted((cats | set(_feature_list(exclude) or [])) - set(names))
    if unknown:
        raise click.UsageError(f"column(s) {unknown} are not in the data; its columns are "
                               f"{names}.")
    terms = [f"C({_quoted(c)})" if c in cats else _quoted(c) for c in chosen if c not in dropped]
    if not terms:
        raise click.UsageError("No feature column is left after --exclude and --weights.")
    return f"{_quoted(target)} ~ " + " + ".join(terms)


def _quoted(name: str) -> str:
    """A column name as a formula term: backticks unless it is a plain identifier."""
    return name if name.isidentifier() else f"`{name}`"


def _parse_levels(levels: tuple[str, ...]) -> dict | None:
    parsed = {}
    for item in levels:
        column, sep, values = item.partition("=")
        if not sep or not column or not values:
            raise click.BadParameter(f"write COL=A,B,..., got {item!r}", param_hint="--levels")
        parsed[column.strip()] = [v.strip() for v in values.split(",")]
    return parsed or None


@cli.command()
@click.argument("data", nargs=-1, required=True)
@click.option("--target", default=None, help="Name of the target column.")
@click.option("--features", default=None, help="Comma-separated feature columns (default: all).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Save the fitted model to this JSON file.")
@click.option("--explain", is_flag=True,
              help="Print the stability limit, recommended rate and conditioning first.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Save the full state of the fit to this file every --checkpoint-every epochs.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue an interrupted fit from its checkpoint file.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Read and summarise the data on this Dask cluster (tcp://host:port).")
@click.option("--dask-workers", type=click.IntRange(min=1), default=None,
              help="Start a local Dask cluster of this many worker processes for the fit.")
@click.option("--summary", "show_summary", is_flag=True,
              help="Print the regression table (standard errors, tests, intervals) after the fit.")
@_cov_type_option
@_fit_options
@_reading_options
@_design_options
def fit(data, target, features, model_path, explain, quiet, checkpoint, checkpoint_every, resume,
        scheduler, dask_workers, show_summary, cov_type, formula, categorical, exclude, weights,
        levels, **options) -> None:
    """Fit a linear model to CSV or Parquet DATA (files, folders or globs)."""
    # A checkpoint resumed and written again is the one file that is both read and written.
    reused = resume is not None and checkpoint is not None and (
        same_file(resume, checkpoint) or os.path.realpath(resume) == os.path.realpath(checkpoint)
    )
    _check_outputs({"--model": model_path, "--checkpoint": checkpoint},
                   [*_input_files(data), *([] if reused or resume is None else [resume])])
    reading = _reading(options)
    with warnings.catch_warnings():  # refuse conflicting settings before reading any data;
        warnings.simplefilter("ignore")  # the fit itself repeats any warning
        _estimator(options)._config()
    formula = _training_formula(data, target, features, formula, categorical, exclude, weights,
                                reading)
    level_lists = _parse_levels(levels)
    if formula is None and level_lists:
        raise click.UsageError("--levels applies to --formula or --categorical columns.")
    if formula is None and exclude:
        from .sources.files import FileSource

        columns = FileSource(list(data), target, **reading).feature_names
        dropped = set(_feature_list(exclude))
        unknown = sorted(dropped - set(columns))
        if unknown:
            raise click.UsageError(f"--exclude: column(s) {unknown} are not features of the "
                                   f"data; they are {columns}.")
        features = ",".join(c for c in (_feature_list(features) or columns) if c not in dropped)
    if formula is not None:
        from .formula import DesignSpec  # noqa: F401  (formulaic is needed: fail early)

        if explain:
            raise click.UsageError("--explain draws on the raw columns; it cannot be used with "
                                   "--formula, --categorical or --weights.")
        if scheduler or dask_workers:
            with _dask_client(scheduler, dask_workers):
                from .sources.dask import read_formula_files

                source = read_formula_files(list(data), formula, level_lists, weights, **reading)
                _fit_formula(source, model_path, quiet, checkpoint, checkpoint_every, resume,
                             options, show_summary, cov_type)
            return
        from .sources import scan

        source = scan(list(data), formula=formula, levels=level_lists, weights=weights,
                      **reading)
        _fit_formula(source, model_path, quiet, checkpoint, checkpoint_every, resume, options,
                     show_summary, cov_type)
        return
    if scheduler or dask_workers:
        if explain:
            raise click.UsageError(
                "--explain reads all rows on this machine; it cannot be used with "
                "--scheduler or --dask-workers."
            )
        with _dask_client(scheduler, dask_workers):
            from .sources.dask import read_files

            source = read_files(list(data), target, _feature_list(features), **reading)
            model = _fit_and_report(source, target, model_path, False, quiet, checkpoint,
                                    checkpoint_every, resume, options)
            if show_summary:
                _print_summary(model, target, cov_type, source)
        return
    source = _read_training(data, target, features, reading)
    model = _fit_and_report(source, target, model_path, explain, quiet, checkpoint,
                            checkpoint_every, resume, options)
    if show_summary:
        _print_summary(model, target, cov_type, source)


def _fit_formula(source, model_path, quiet, checkpoint, checkpoint_every, resume, options,
                 show_summary, cov_type) -> None:
    spec = source.design_spec
    model = _fit_and_report(source, spec.target, model_path, False, quiet, checkpoint,
                            checkpoint_every, resume, options)
    if show_summary:
        _print_summary(model, spec.formula, cov_type, source)


@contextlib.contextmanager
def _dask_client(scheduler: str | None, workers: int | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise click.UsageError(
            "--scheduler and --dask-workers need the Dask extra: pip install 'gradreg[dask]'."
        ) from None
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _fit_and_report(source, target, model_path, explain, quiet, checkpoint, checkpoint_every,
                    resume, options) -> GDRegressor:
    estimator = _estimator(options)
    if explain:
        from .guidance import learning_rate_limits
        from .sources.files import read_all

        X, y = read_all(source)
        _out.print(learning_rate_limits(X, y, estimator.fit_intercept).explain())
        _out.print()
    # The estimator passes the reading-progress callback to the source when verbose.
    estimator.set_params(verbose=0 if quiet else 1)
    try:
        model = estimator.fit(source, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                              resume=resume)
    except FitInterrupted as interrupt:
        raise _Stopped(interrupt.epochs) from None
    # Results first: a report that cannot be printed (a closed pipe, a full disk) must not
    # cost the model.
    if model_path:
        model.save(model_path)
    spec = getattr(source, "design_spec", None)
    title = spec.formula if spec is not None else (
        f"{target} ~ " + " + ".join(source.feature_names))
    _out.print(_coefficient_table(model, title))
    _out.print()
    _print_report(model)
    if model_path:
        _out.print(f"\nmodel written to {model_path}")
    return model


def _print_summary(model: GDRegressor, target: str | None, cov_type: str, source) -> None:
    from dataclasses import replace

    summary = model.summary(cov_type, X=None if cov_type == "nonrobust" else source)
    _out.print()
    _out.print(replace(summary, target=target))


@cli.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1)
@click.option("--target", default=None, help="Name of the target column in DATA.")
@_cov_type_option
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True, help="1 - level of the confidence intervals.")
def summary(model_file: str, data: tuple[str, ...], target: str | None, cov_type: str,
            alpha: float) -> None:
    """Print the regression table of MODEL_FILE (the HC types also read the training DATA)."""
    model = load_model(model_file)
    source = None
    if cov_type != "nonrobust":
        if not data or (target is None and getattr(model, "design_spec_", None) is None):
            raise click.UsageError(
                f"--cov-type {cov_type} needs the residual of every row: give the training "
                "DATA files and --target (the model file holds only the statistics)."
            )
        from .sources.files import FileSource
        from .sources.frames import spec_source

        spec = getattr(model, "design_spec_", None)
        names = getattr(model, "feature_names_in_", None)
        features = None if names is None else [str(n) for n in names]
        source = (spec_source(list(data), spec, with_target=True) if spec is not None else
                  FileSource(list(data), target=target, features=features))
    elif data:
        raise click.UsageError(
            "DATA is read only for --cov-type HC0, HC1, HC2 or HC3; the nonrobust table comes "
            "from the model file alone."
        )
    from dataclasses import replace

    table = model.summary(cov_type, alpha, X=source)
    spec = getattr(model, "design_spec_", None)
    _out.print(replace(table, target=spec.formula if spec is not None else target))


@cli.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write predictions to this CSV file (default: standard output).")
@_reading_options
def predict(model_file: str, data: tuple[str, ...], out: str | None, **options) -> None:
    """Predict with MODEL_FILE for the rows of DATA."""
    from ._atomic import atomic_write
    from .sources.files import FileSource

    _check_outputs({"--out": out}, [model_file, *_input_files(data)])
    reading = _reading(options)
    model = load_model(model_file)
    spec = getattr(model, "design_spec_", None)
    if spec is not None:  # the formula's design, with the levels it was fitted on
        from .sources._dialect import CsvOptions
        from .sources.frames import spec_source

        rows = spec_source(list(data), spec, CsvOptions(**reading))
    else:
        names = getattr(model, "feature_names_in_", None)
        features = None if names is None else [str(n) for n in names]
        rows = FileSource(list(data), target=None, features=features, **reading)
    predictions = model.predict(rows)
    text = "prediction\n" + "".join(f"{p!r}\n" for p in predictions.tolist())
    if out:
        with atomic_write(out) as handle:
            handle.write(text)
        print(f"{len(predictions)} predictions written to {out}", file=sys.stderr)
    else:
        _stdout.write(text)


_PLOT_KINDS = ("line", "cost", "path", "rates", "animation")


def _pair(text: str | None, names: list[str]):
    """--coefficients A,B as indices into the features (B may be 'intercept')."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise click.BadParameter(f"give two names separated by a comma, got {text!r}",
                                 param_hint="--coefficients")
    indices = []
    for part in parts:
        if part == "intercept":
            indices.append(None)
        elif part in names:
            indices.append(names.index(part))
        else:
            raise click.BadParameter(
                f"{part!r} is not a feature; choose from {names} or 'intercept'",
                param_hint="--coefficients")
    if indices[0] is None:
        indices.reverse()
    if indices[0] is None or indices[0] == indices[1]:
        raise click.BadParameter(f"give two different parameters, got {text!r}",
                                 param_hint="--coefficients")
    return tuple(indices)


def _rate(options: dict) -> float | None:
    estimator = _estimator(options)
    return None if estimator.learning_rate == "auto" else float(estimator.learning_rate)


@cli.command()
@click.argument("data", nargs=-1, required=True)
@click.option("--target", required=True, help="Name of the target column.")
@click.option("--features", default=None, help="Comma-separated feature columns (default: all).")
@click.option("--kind", type=click.Choice(_PLOT_KINDS), default="line", show_default=True,
              help="line: data and fit; cost: cost and gap per epoch of the fit; path: the "
                   "classic descent over the cost surface; rates: learning rates compared; "
                   "animation: a GIF of the classic descent.")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Image file to write (.png, .svg, .pdf; .gif for the animation).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Draw the fit saved in this model file (line; cost refits with its "
                   "settings to trace the epochs) instead of fitting with the options.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs of the classic descent for path, rates and animation (default: "
                   "200, 100, and until it reaches the line).")
@click.option("--coefficients", default=None, metavar="A,B",
              help="path with several features: the two parameters of the slice (feature "
                   "names or 'intercept'; default: the most coupled pair).")
@_fit_options
@_reading_options
def plot(data, target, features, kind, out, model_path, epochs, coefficients,
         **options) -> None:
    """Draw a plot of gradient descent on DATA, for the fit the options (or --model) make."""
    from . import plotting
    from .sources.files import read_all

    _check_outputs({"--out": out}, _input_files(data))
    if kind == "animation" and not out.lower().endswith(".gif"):
        raise click.UsageError(
            f"--kind animation writes a GIF: --out must end in .gif, got {out!r}."
        )
    source = _read_training(data, target, features, _reading(options))
    X, y = read_all(source)
    names = list(source.feature_names)
    if kind == "animation" and X.shape[1] != 1:
        raise click.UsageError("--kind animation needs exactly one feature (use --features).")
    if kind in ("line", "cost"):
        if model_path:
            saved = load_model(model_path)
            model = saved if kind == "line" else GDRegressor(**saved.get_params())
        else:
            model = _estimator(options)
        if kind == "cost" or not model_path:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
        if kind == "line":
            figure = plotting.plot_fit(model, X, y, xlabel=names[0], ylabel=target)
        else:
            figure = plotting.plot_cost(model)
    elif kind == "path":
        figure = plotting.plot_path(X, y, _rate(options), epochs or 200,
                                    coefficients=_pair(coefficients, names),
                                    feature_names=names)
    elif kind == "rates":
        figure = plotting.plot_rates(X, y, epochs=epochs or 100)
    else:
        frames = plotting.save_animation(X, y, out, _rate(options), epochs, xlabel=names[0],
                                         ylabel=target)
        print(f"animation of {frames} frames written to {out}", file=sys.stderr)
        return
    plotting.save_figure(figure, out)
    print(f"{kind} plot written to {out}", file=sys.stderr)


class _Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C is: the same clean-up on the way out."""


_received: list[int] = []


def _on_signal(signum, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt if signum == signal.SIGINT else _Signalled()


@contextlib.contextmanager
def _signals_handled():
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread while main runs:
    temporary files are removed, nothing half-written stays, one line is printed."""
    _received.clear()
    try:
        previous = {number: signal.signal(number, _on_signal) for number in _SIGNALS}
    except ValueError:  # not the main thread: leave the handlers alone
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _interrupted(epochs: int | None) -> int:
    number = _received[0] if _received else signal.SIGINT
    after = "" if epochs is None else f" after {epochs} epochs"
    print(f"gradreg: error: interrupted{after} ({signal.Signals(number).name}); no output was "
          "written or replaced", file=sys.stderr)
    return 128 + number


_STREAM_ERRORS = (errno.EPIPE, errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EDQUOT)


@cli.command()
@click.argument("data", nargs=-1, required=True)
@click.option("--target", required=True, help="Name of the target column.")
@click.option("--features", default=None, help="The one feature column (default: the only "
                                                "column besides the target).")
@click.option("--out", type=click.Path(dir_okay=False), default="explore.html",
              show_default=True, help="HTML file to write (self-contained, works offline).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs on the slider (default: until the descent at 1/L reaches the line).")
@_reading_options
def explore(data, target, features, out, epochs, **reading) -> None:
    """Write an interactive page of gradient descent on DATA, y = m*x + b."""
    from .explore import write_explorer
    from .sources.files import read_all

    source = _read_training(data, target, features, _reading(reading))
    X, y = read_all(source)
    if X.shape[1] != 1:
        raise click.UsageError(
            f"explore draws y = m*x + b and needs exactly one feature; the data have "
            f"{X.shape[1]} ({', '.join(source.feature_names)}). Choose one with --features."
        )
    frames = write_explorer(X[:, 0], y, out, xlabel=source.feature_names[0], ylabel=target,
                            epochs=epochs)
    print(f"interactive page written to {out} ({frames['epochs']} epochs, 2/L = "
          f"{frames['limit']:.6g})", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gradreg`` console script; returns the exit code.

    Exit codes: 0 success, 1 data or runtime errors (also a failed write), 2 usage errors
    (also an output refused before any work), 128 + the signal's number on SIGINT, SIGTERM
    or SIGHUP.
    """
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    warnings.showwarning = _warning_line
    with _signals_handled():
        try:
            return _run(args, debug)
        except (FitInterrupted, _Stopped) as interrupt:
            return _interrupted(interrupt.epochs)
        except KeyboardInterrupt:
            return _interrupted(None)


def _run(args: list[str], debug: bool) -> int:
    try:
        # Not cli.main: it would swallow a closed pipe as a silent exit 1, and print a blank
        # line on Ctrl-C.
        with cli.make_context("gradreg", list(args)) as ctx:
            cli.invoke(ctx)
        _stdout.flush()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        if debug:
            raise
        hint = f"{exc.ctx.command_path} --help" if exc.ctx else "gradreg --help"
        print(f"gradreg: error: {exc.format_message()} (see '{hint}')", file=sys.stderr)
        return EXIT_USAGE
    except click.ClickException as exc:
        if debug:
            raise
        print(f"gradreg: error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except click.Abort:
        raise KeyboardInterrupt from None
    except ParameterError as exc:  # settings that contradict each other: a usage error
        if debug:
            raise
        print(f"gradreg: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GradregError as exc:
        if debug:
            raise
        print(f"gradreg: error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except ValueError as exc:  # parameter errors from scikit-learn's own checks
        if debug:
            raise
        print(f"gradreg: error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except OSError as exc:
        if debug:
            raise
        if exc.filename is None and exc.errno in _STREAM_ERRORS:  # click's own output
            exc = _stdout_error(exc)
        print(f"gradreg: error: {exc}", file=sys.stderr)
        return EXIT_DATA
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
