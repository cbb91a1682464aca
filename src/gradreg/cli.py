"""The ``gradreg`` command: parse, call the library, print. No numerics live here.

Each command imports the parts of the library it uses when it runs: the help, the version and
the usage errors import neither scikit-learn, SciPy, Numba nor matplotlib (a test checks it).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._cli_dask import CONNECT_TIMEOUT_S, check_cluster_options, dask_client
from ._cli_names import as_typed
from ._cli_options import (
    READING_DEFAULTS,
    check_outputs,
    cov_type_option,
    design_options,
    estimator_from,
    feature_list,
    fit_options,
    input_files,
    parse_levels,
    read_training,
    reading_kwargs,
    reading_options,
    training_formula,
)
from ._cli_process import Stopped, console, run_command, stdout
from ._messages import listing
from ._outputs import same_file
from .errors import FitInterrupted, ParameterError

if TYPE_CHECKING:
    from rich.table import Table

    from .estimator import GDRegressor

__all__ = ["main"]


def _global_options(command):
    """--version and --debug: the group takes them before the command, and every command
    after its name too (``gradreg fit data.csv --target y --debug``). Help (-h, --help) is
    every command's already. The run reads --debug from the arguments (see run_command)."""
    command = click.version_option(package_name="gradreg", prog_name="gradreg")(command)
    return click.option("--debug", is_flag=True, expose_value=False,
                        help="Show full tracebacks on errors.")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_global_options
def cli() -> None:
    """Linear regression fitted by gradient descent."""


def _coefficient_table(model: GDRegressor, title: str) -> Table:
    from rich.table import Table

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
    console.print(as_typed(model.report()), soft_wrap=True)  # "solver choice": as typed


@_global_options
@cli.command()
@click.option("--no-plot", is_flag=True, help="Do not write the plots and the page.")
@click.option("--out-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for the plots and the page (created when missing).")
@click.option("--epochs", type=click.IntRange(min=0), default=3, show_default=True,
              help="Epochs of the worked example to print.")
def demo(no_plot: bool, out_dir: str, epochs: int) -> None:
    """Fit the bundled study-time data by the tutorial's gradient descent and explain it."""
    from . import datasets
    from ._demo import DEMO_OUTPUTS, run_demo

    if not no_plot:
        folder = Path(out_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.UsageError(f"--out-dir: cannot create {out_dir!r}: "
                                   f"{exc.strerror or exc}") from None
        check_outputs({f"--out-dir ({name})": folder / name for name in DEMO_OUTPUTS},
                       [datasets.study_time_path()])
    run_demo(console, Path(out_dir), epochs, plots=not no_plot)


@_global_options
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
              help="Read and summarise the data on the Dask cluster of this scheduler "
                   f"(tcp://host:port), which must answer within {CONNECT_TIMEOUT_S} s.")
@click.option("--dask-workers", type=click.IntRange(min=1), default=None,
              help="Start a local Dask cluster of this many worker processes for the fit "
                   "(instead of --scheduler).")
@click.option("--summary", "show_summary", is_flag=True,
              help="Print the regression table (standard errors, tests, intervals) after the fit.")
@cov_type_option
@fit_options
@reading_options
@design_options
def fit(data, target, features, model_path, explain, quiet, checkpoint, checkpoint_every, resume,
        scheduler, dask_workers, show_summary, cov_type, formula, categorical, exclude, weights,
        levels, **options) -> None:
    """Fit a linear model to CSV or Parquet DATA (files, folders or globs)."""
    # A checkpoint resumed and written again is the one file that is both read and written.
    reused = resume is not None and checkpoint is not None and (
        same_file(resume, checkpoint) or os.path.realpath(resume) == os.path.realpath(checkpoint)
    )
    check_outputs({"--model": model_path, "--checkpoint": checkpoint},
                   [*input_files(data), *([] if reused or resume is None else [resume])])
    check_cluster_options(scheduler, dask_workers)
    reading = reading_kwargs(options)
    with warnings.catch_warnings():  # refuse conflicting settings before reading any data;
        warnings.simplefilter("ignore")  # the fit itself repeats any warning
        estimator = estimator_from(options)
        estimator._config()
    if show_summary:
        from .inference import check_unpenalized

        try:
            check_unpenalized(estimator.penalty, estimator.alpha)
        except ParameterError as exc:
            raise click.UsageError(f"--summary: {exc}") from None
    formula = training_formula(data, target, features, formula, categorical, exclude, weights,
                                reading)
    level_lists = parse_levels(levels)
    if formula is None and level_lists:
        raise click.UsageError("--levels applies to --formula or --categorical columns.")
    if formula is None and exclude:
        from .sources.files import FileSource

        columns = FileSource(list(data), target, **reading).feature_names
        dropped = set(feature_list(exclude))
        unknown = sorted(dropped - set(columns))
        if unknown:
            raise click.UsageError(f"--exclude: column(s) {listing(unknown)} are not features "
                                   f"of the data; they are {listing(columns)}.")
        features = ",".join(c for c in (feature_list(features) or columns) if c not in dropped)
    if formula is not None:
        from .formula import DesignSpec  # noqa: F401  (formulaic is needed: fail early)

        if explain:
            raise click.UsageError("--explain draws on the raw columns; it cannot be used with "
                                   "--formula, --categorical or --weights.")
        if scheduler or dask_workers:
            with dask_client(scheduler, dask_workers):
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
        with dask_client(scheduler, dask_workers):
            from .sources.dask import read_files

            source = read_files(list(data), target, feature_list(features), **reading)
            model = _fit_and_report(source, target, model_path, False, quiet, checkpoint,
                                    checkpoint_every, resume, options)
            if show_summary:
                _print_summary(model, target, cov_type, source)
        return
    source = read_training(data, target, features, reading)
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


def _fit_and_report(source, target, model_path, explain, quiet, checkpoint, checkpoint_every,
                    resume, options) -> GDRegressor:
    estimator = estimator_from(options)
    if explain:
        from .guidance import learning_rate_limits
        from .sources.files import read_all

        X, y = read_all(source)
        console.print(learning_rate_limits(X, y, estimator.fit_intercept).explain())
        console.print()
    # The estimator passes the reading-progress callback to the source when verbose.
    estimator.set_params(verbose=0 if quiet else 1)
    try:
        model = estimator.fit(source, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                              resume=resume)
    except FitInterrupted as interrupt:
        raise Stopped(interrupt.epochs) from None
    # Results first: a report that cannot be printed (a closed pipe, a full disk) must not
    # cost the model.
    if model_path:
        model.save(model_path)
    spec = getattr(source, "design_spec", None)
    title = spec.formula if spec is not None else (
        f"{target} ~ " + " + ".join(source.feature_names))
    console.print(_coefficient_table(model, title))
    console.print()
    _print_report(model)
    if model_path:
        console.print(f"\nmodel written to {model_path}")
    return model


def _print_summary(model: GDRegressor, target: str | None, cov_type: str, source) -> None:
    from dataclasses import replace

    summary = model.summary(cov_type, X=None if cov_type == "nonrobust" else source)
    console.print()
    console.print(replace(summary, target=target))


@_global_options
@cli.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1)
@click.option("--target", default=None, help="Name of the target column in DATA.")
@cov_type_option
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True, help="1 - level of the confidence intervals.")
@reading_options
def summary(model_file: str, data: tuple[str, ...], target: str | None, cov_type: str,
            alpha: float, **options) -> None:
    """Print the regression table of MODEL_FILE (the HC types also read the training DATA)."""
    from .estimator import load_model

    reading = reading_kwargs(options)
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
        from .sources._dialect import CsvOptions

        source = (spec_source(list(data), spec, CsvOptions(**reading), with_target=True)
                  if spec is not None else
                  FileSource(list(data), target=target, features=features, **reading))
    elif data:
        raise click.UsageError(
            "DATA is read only for --cov-type HC0, HC1, HC2 or HC3; the nonrobust table comes "
            "from the model file alone."
        )
    elif reading != READING_DEFAULTS:
        raise click.UsageError(
            "--delimiter, --decimal, --no-header and --encoding say how to read DATA, which "
            "only the HC types of --cov-type read."
        )
    from dataclasses import replace

    table = model.summary(cov_type, alpha, X=source)
    spec = getattr(model, "design_spec_", None)
    console.print(replace(table, target=spec.formula if spec is not None else target))


@_global_options
@cli.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write predictions to this CSV file (default: standard output).")
@reading_options
def predict(model_file: str, data: tuple[str, ...], out: str | None, **options) -> None:
    """Predict with MODEL_FILE for the rows of DATA."""
    from ._atomic import atomic_write
    from .estimator import load_model
    from .sources.files import FileSource

    check_outputs({"--out": out}, [model_file, *input_files(data)])
    reading = reading_kwargs(options)
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
        stdout.write(text)


_PLOT_KINDS = ("line", "cost", "path", "rates", "animation")
# The kinds that draw the fit the options (or --model) make, not the classic descent.
_FIT_KINDS = ("line", "cost", "path")


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
    estimator = estimator_from(options)
    return None if estimator.learning_rate == "auto" else float(estimator.learning_rate)


@_global_options
@cli.command()
@click.argument("data", nargs=-1, required=True)
@click.option("--target", required=True, help="Name of the target column.")
@click.option("--features", default=None, help="Comma-separated feature columns (default: all).")
@click.option("--kind", type=click.Choice(_PLOT_KINDS), default="line", show_default=True,
              help="line: data and fit; cost: cost and gap per epoch of the fit; path: the "
                   "iterates of the fit over the cost surface; rates: learning rates of the "
                   "classic descent compared; animation: a GIF of the classic descent.")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Image file to write (.png, .svg, .pdf; .gif for the animation).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Draw the fit saved in this model file (line; cost and path refit with "
                   "its settings to trace the epochs) instead of fitting with the options.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs of the classic descent for rates and animation (default: 100, and "
                   "until it reaches the line); line, cost and path draw the fit, whose "
                   "epochs --max-iter bounds.")
@click.option("--coefficients", default=None, metavar="A,B",
              help="path with several features: the two parameters of the slice (feature "
                   "names or 'intercept'; default: the most coupled pair).")
@fit_options
@reading_options
def plot(data, target, features, kind, out, model_path, epochs, coefficients,
         **options) -> None:
    """Draw a plot of gradient descent on DATA, for the fit the options (or --model) make."""
    from . import plotting
    from .errors import ConvergenceWarning
    from .estimator import GDRegressor, load_model
    from .sources.files import read_all

    check_outputs({"--out": out}, input_files(data))
    if kind == "animation" and not out.lower().endswith(".gif"):
        raise click.UsageError(
            f"--kind animation writes a GIF: --out must end in .gif, got {out!r}."
        )
    if kind != "animation":
        try:
            plotting.image_format(out)
        except ParameterError as exc:
            raise click.UsageError(f"--out: {exc}") from None
    if kind in _FIT_KINDS and epochs is not None:
        raise click.UsageError(
            f"--epochs applies to --kind rates and animation; --kind {kind} draws the fit "
            "itself, whose epochs --max-iter bounds."
        )
    source = read_training(data, target, features, reading_kwargs(options))
    X, y = read_all(source)
    names = list(source.feature_names)
    if kind == "animation" and X.shape[1] != 1:
        raise click.UsageError("--kind animation needs exactly one feature (use --features).")
    if kind in _FIT_KINDS:
        pair = _pair(coefficients, names) if kind == "path" else None
        if model_path:
            saved = load_model(model_path)
            model = saved if kind == "line" else GDRegressor(**saved.get_params())
        else:
            model = estimator_from(options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if kind == "path":
                path = plotting.record_path(model, X, y)
            elif kind == "cost" or not model_path:
                model.fit(X, y)
        if kind == "line":
            figure = plotting.plot_fit(model, X, y, xlabel=names[0], ylabel=target)
        elif kind == "cost":
            figure = plotting.plot_cost(model)
        else:
            figure = plotting.plot_fit_path(path, X, y, coefficients=pair,
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


@_global_options
@cli.command()
@click.argument("data", nargs=-1, required=True)
@click.option("--target", required=True, help="Name of the target column.")
@click.option("--features", default=None, help="The one feature column (default: the only "
                                                "column besides the target).")
@click.option("--out", type=click.Path(dir_okay=False), default="explore.html",
              show_default=True, help="HTML file to write (self-contained, works offline).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs on the slider (default: until the descent at 1/L reaches the line).")
@reading_options
def explore(data, target, features, out, epochs, **reading) -> None:
    """Write an interactive page of gradient descent on DATA, y = m*x + b."""
    from .explore import write_explorer
    from .sources.files import read_all

    check_outputs({"--out": out}, input_files(data))
    source = read_training(data, target, features, reading_kwargs(reading))
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


def main(argv: list[str] | None = None, prog_name: str = "gradreg") -> int:
    """Entry point of the ``gradreg`` console script; returns the exit code.

    ``prog_name`` is the command as the usage lines and the hints of usage errors show it
    (``python -m gradreg`` names itself so). Exit codes: 0 success, 1 data or runtime errors
    (also a failed write), 2 usage errors (also an output refused before any work), 128 + the
    signal's number on SIGINT, SIGTERM or SIGHUP, 141 (no message) when the reader of standard
    output has left.
    """
    return run_command(cli, argv, prog_name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
