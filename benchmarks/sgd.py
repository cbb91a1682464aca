"""``python -m benchmarks.sgd [--rows N] [--stream-rows N] [--river-rows N]``: SGD and streaming.

**SGD table.** One problem (200,000 x 20 by default, features on scales from 1 to 100 with
offsets, noise of unit variance), fitted for 1 and 5 epochs at batch sizes 1, 32 and 256 by
gradreg's SGD with its defaults (iterate averaging, automatic rate), and on the same data in the
same run by scikit-learn's ``SGDRegressor`` (plain and averaged, after ``StandardScaler``;
per-row only), river's ``LinearRegression`` (``learn_many`` per mini-batch, ``learn_one`` on
a prefix of the rows for batch 1) and Vowpal Wabbit (its own parser on a text file, per row,
where the package is installed). Peers get features standardized by ``StandardScaler``, whose
time (fit and transform) is added to theirs, as gradreg's time includes its own scaling pass.
Times are CPU seconds of the process (all its threads), the least of ``--repeat`` runs for
every method whose run takes under a second, so that other work on a shared machine inflates
them less than wall-clock time. The gap is ``(f - f*)/f*`` of the least-squares objective,
with ``f - f*`` formed as ``delta^T H delta / 2`` from the Gram matrix and the optimum from an
SVD of the centred data.

**Streaming table.** ``partial_fit`` over ``--stream-rows`` rows (1e7 by default) in chunks of
1e5 rows generated on the fly (generation not timed): gradreg's default (exact, on merged
statistics), gradreg's SGD, ``SGDRegressor.partial_fit`` (after ``StandardScaler.partial_fit``,
timed) and river's ``learn_many`` in mini-batches of 32. river (about 1e4 rows/s) runs on the
first ``--river-rows`` rows only; its time is extrapolated linearly to all rows and its gap is
that of the rows it saw, and the table says so.

Results go to ``benchmarks/results/sgd.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from gradreg import GDRegressor

from .machine import describe

RESULTS = Path(__file__).parent / "results"
BATCHES = (1, 32, 256)
EPOCHS = (1, 5)
RIVER_PREFIX = 20_000  # rows river's per-row learn_one is timed on
CHUNK = 100_000
FAST = 1.0  # CPU seconds under which a run is repeated and the least time kept


def make(n: int, d: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    coef = rng.standard_normal(d)
    X = rng.standard_normal((n, d)) * np.logspace(0, 2, d) + rng.normal(0, 5, d)
    y = X @ coef + 3.0 + rng.standard_normal(n)
    return X, y


class Gap:
    """Relative optimality gap of ``(coef, intercept)`` in raw units, from the Gram matrix."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.n = 0
        d = X.shape[1]
        self.gram = np.zeros((d + 2, d + 2))
        self.add(X, y)

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        block = np.c_[X, np.ones(len(y)), y]
        self.gram += block.T @ block
        self.n += len(y)

    def finish(self) -> None:
        d = self.gram.shape[0] - 2
        H = self.gram[: d + 1, : d + 1] / self.n
        b = self.gram[: d + 1, d + 1] / self.n
        # The optimum from an SVD of the centred problem (H = C + m m^T with the mean m).
        mean = H[d, :d]
        centred = H[:d, :d] - np.outer(mean, mean)
        U, s, Vt = np.linalg.svd(centred)
        rhs = b[:d] - mean * b[d]
        coef = Vt.T @ ((U.T @ rhs) / s)
        self.theta = np.append(coef, b[d] - mean @ coef)
        self.H = H
        yy = self.gram[d + 1, d + 1] / self.n
        self.optimum = 0.5 * (yy - b @ self.theta)

    def __call__(self, coef, intercept) -> float:
        delta = np.append(np.asarray(coef, float), float(np.ravel(intercept)[0])) - self.theta
        return float(0.5 * delta @ self.H @ delta / self.optimum)


def raw_coefficients(coef, intercept, scaler):
    """Coefficients in raw units of a model fitted on ``scaler``-standardized features."""
    coef = np.asarray(coef, float) / scaler.scale_
    return coef, float(np.ravel(intercept)[0]) - scaler.mean_ @ coef


def timed(function, *args):
    """CPU seconds of the process (all threads) taken by ``function(*args)``, and its result."""
    started = time.process_time()
    result = function(*args)
    return time.process_time() - started, result


def least_of(run, repeat: int):
    """``run()`` -> ``(seconds, *rest)``, repeated while fast; the least seconds, the last rest."""
    seconds, *rest = run()
    for _ in range(repeat - 1):
        if seconds >= FAST:
            break
        again, *rest = run()
        seconds = min(seconds, again)
    return seconds, *rest


def gradreg_sgd(X, y, batch, epochs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(solver="sgd", batch_size=batch, max_iter=epochs, tol=None,
                            random_state=0)
        seconds, _ = timed(lambda: model.fit(X, y))
    return seconds, model.coef_, model.intercept_


def sklearn_sgd(Xs, y, scaler, epochs, average):
    from sklearn.linear_model import SGDRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SGDRegressor(max_iter=epochs, tol=None, average=average, random_state=0)
        seconds, _ = timed(lambda: model.fit(Xs, y))
    return seconds, *raw_coefficients(model.coef_, model.intercept_, scaler)


def river_weights(model, d):
    coef = np.array([model.weights.get(j, 0.0) for j in range(d)])
    return coef, model.intercept


def river_sgd(Xs, y, scaler, batch, epochs):
    import pandas as pd
    from river import linear_model

    model = linear_model.LinearRegression()
    d = Xs.shape[1]
    if batch == 1:
        rows = [dict(enumerate(row)) for row in Xs[:RIVER_PREFIX].tolist()]
        seconds, _ = timed(lambda: [model.learn_one(x, t) for x, t in zip(rows, y, strict=False)])
        return seconds * Xs.shape[0] / RIVER_PREFIX * epochs, None, None
    frame, target = pd.DataFrame(Xs), pd.Series(y)

    def run():
        for _ in range(epochs):
            for start in range(0, len(y), batch):
                model.learn_many(frame.iloc[start:start + batch], target.iloc[start:start + batch])

    seconds, _ = timed(run)
    return seconds, *raw_coefficients(*river_weights(model, d), scaler)


def vw_available() -> bool:
    try:
        import vowpalwabbit  # noqa: F401
    except ImportError:
        return False
    return True


def vw_sgd(Xs, y, scaler, epochs, folder):
    from vowpalwabbit import pyvw

    data = os.path.join(folder, "data.vw")
    if not os.path.exists(data):
        with open(data, "w") as handle:
            for target, row in zip(y.tolist(), Xs.tolist(), strict=True):
                handle.write(f"{target!r} | " + " ".join(f"{j}:{v!r}" for j, v in enumerate(row))
                             + "\n")
    model_path = os.path.join(folder, f"model{epochs}.vw")
    passes = f"--passes {epochs} -c -k --holdout_off" if epochs > 1 else ""
    arguments = f"-d {data} --quiet --loss_function squared {passes} -f {model_path}"

    def run():
        workspace = pyvw.Workspace(arguments)
        workspace.run_parser()
        workspace.finish()

    seconds, _ = timed(run)
    # The weights: predictions on unit vectors (and zero) of the trained model.
    workspace = pyvw.Workspace(f"-i {model_path} -t --quiet")
    d = Xs.shape[1]
    intercept = workspace.predict("| ")
    coef = np.array([workspace.predict(f"| {j}:1") - intercept for j in range(d)])
    workspace.finish()
    return seconds, *raw_coefficients(coef, intercept, scaler)


def sgd_table(n: int, repeat: int = 3) -> list[str]:
    X, y = make(n)
    gap = Gap(X, y)
    gap.finish()
    scaling, (scaler, Xs) = least_of(lambda: timed(_standardize, X), repeat)
    folder = tempfile.mkdtemp(prefix="gradreg-bench-")
    # Compile gradreg's loop before timing (it is cached on disk afterwards).
    gradreg_sgd(X[:1000], y[:1000], 32, 1)
    lines = [
        f"### SGD: {n:,} rows x {X.shape[1]} features, rows/s and relative gap", "",
        "| batch | method | rows/s, 1 epoch | gap, 1 epoch | rows/s, 5 epochs | gap, 5 epochs |",
        "|---|---|---|---|---|---|",
    ]
    raw = {}  # CPU seconds without the peers' scaling, by (method, batch, epochs)
    for batch in BATCHES:
        methods = {"gradreg SGD (defaults: averaged)": lambda e, b=batch: gradreg_sgd(X, y, b, e)}
        if batch == 1:
            methods["sklearn SGDRegressor"] = lambda e: sklearn_sgd(Xs, y, scaler, e, False)
            methods["sklearn SGDRegressor(average=True)"] = (
                lambda e: sklearn_sgd(Xs, y, scaler, e, True))
            if vw_available():
                methods["Vowpal Wabbit (text file, own parser)"] = (
                    lambda e: vw_sgd(Xs, y, scaler, e, folder))
        methods["river LinearRegression"] = lambda e, b=batch: river_sgd(Xs, y, scaler, b, e)
        for name, run in methods.items():
            cells = []
            for epochs in EPOCHS:
                seconds, coef, intercept = least_of(lambda r=run, e=epochs: r(e), repeat)
                raw[name, batch, epochs] = seconds
                seconds += 0.0 if name.startswith("gradreg") else scaling
                cells.append(f"{n * epochs / seconds:,.0f}")
                cells.append("" if coef is None else f"{gap(coef, intercept):.1e}")
            if name.startswith("river") and batch == 1:
                name += f" (learn_one, timed on {RIVER_PREFIX:,} rows)"
            lines.append(f"| {batch} | {name} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    lines.append("")
    lines += _ratios(raw, scaling)
    lines.append("")
    lines.append(f"Times are CPU seconds, the least of {repeat} runs where a run takes under "
                 f"{FAST:g} s. Peers' times include StandardScaler's fit and transform "
                 f"({scaling:.2f} s); "
                 "Vowpal Wabbit runs with its defaults (adaptive, normalized, invariant updates, "
                 "learning rate 0.5), its time includes parsing its text file.")
    if not vw_available():
        lines.append("")
        lines.append("Vowpal Wabbit: the `vowpalwabbit` package is not installed here; skipped.")
    shutil.rmtree(folder, ignore_errors=True)
    return lines


def _ratios(raw: dict, scaling: float) -> list[str]:
    """gradreg's rows/s over scikit-learn's at each batch size, two ways.

    - *Pipelines* (as the targets are stated: scikit-learn's ``SGDRegressor`` after
      ``StandardScaler``): each side with its own scaling, the peer's ``StandardScaler`` fit and
      transform against gradreg's statistics pass.
    - *Peer without its scaling*: the peer's ``SGDRegressor.fit`` alone on rows already scaled,
      against gradreg's whole fit (statistics pass included): a floor under the first.
    """
    ours = "gradreg SGD (defaults: averaged)"
    peers = {"plain": "sklearn SGDRegressor", "averaged": "sklearn SGDRegressor(average=True)"}
    lines = []
    for title, extra in (
        ("pipelines, each with its own scaling (the peer with `StandardScaler`)", scaling),
        ("the peer without `StandardScaler`'s time, gradreg with its statistics pass", 0.0),
    ):
        lines += [f"gradreg's rows/s over `SGDRegressor`'s (per row), {title}:", ""]
        for batch in BATCHES:
            cells = [
                f"{epochs} epoch{'s' if epochs > 1 else ''}: "
                + " / ".join(f"{(raw[peer, 1, epochs] + extra) / raw[ours, batch, epochs]:.2f}x "
                             f"{kind}" for kind, peer in peers.items())
                for epochs in EPOCHS
            ]
            lines.append(f"- batch {batch}: " + "; ".join(cells))
        lines.append("")
    return lines[:-1]


def stream_table(total: int, river_rows: int) -> list[str]:
    import copy

    import pandas as pd
    from river import linear_model
    from sklearn.linear_model import SGDRegressor
    from sklearn.preprocessing import StandardScaler

    chunks = max(1, total // CHUNK)
    warm_X, warm_y = make(1000)
    with warnings.catch_warnings():  # import and compile gradreg's loop before timing
        warnings.simplefilter("ignore")
        GDRegressor(solver="sgd").partial_fit(warm_X, warm_y)
    river_chunks = min(chunks, max(1, river_rows // CHUNK))
    exact, sgd = GDRegressor(), GDRegressor(solver="sgd", random_state=0)
    scaler, sk = StandardScaler(), SGDRegressor(random_state=0)
    river = linear_model.LinearRegression()
    seconds = {"exact": 0.0, "sgd": 0.0, "sklearn": 0.0, "river": 0.0}
    gap = river_gap = river_scaler = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index in range(chunks):
            X, y = make(CHUNK, seed=1000 + index)
            if gap is None:
                gap, river_gap = Gap(X, y), Gap(X, y)
            else:
                gap.add(X, y)
                if index < river_chunks:
                    river_gap.add(X, y)
            seconds["exact"] += timed(exact.partial_fit, X, y)[0]
            seconds["sgd"] += timed(sgd.partial_fit, X, y)[0]
            seconds["sklearn"] += timed(_sklearn_chunk, scaler, sk, X, y)[0]
            if index < river_chunks:
                frame, target = pd.DataFrame(scaler.transform(X)), pd.Series(y)
                seconds["river"] += timed(_river_chunk, river, frame, target)[0]
                river_scaler = copy.deepcopy(scaler)
    gap.finish()
    river_gap.finish()
    d = gap.theta.shape[0] - 1
    river_name = "river LinearRegression.learn_many, batches of 32"
    if river_chunks < chunks:
        river_name += (f" (run on the first {river_chunks * CHUNK:,} rows: seconds extrapolated "
                       f"x{chunks / river_chunks:g}, gap of those rows)")
    seconds["river"] *= chunks / river_chunks
    results = {
        "gradreg partial_fit (default: exact, merged statistics)":
            (gap, exact.coef_, exact.intercept_),
        "gradreg partial_fit (solver='sgd')": (gap, sgd.coef_, sgd.intercept_),
        "sklearn SGDRegressor.partial_fit (+ StandardScaler.partial_fit)":
            (gap, *raw_coefficients(sk.coef_, sk.intercept_, scaler)),
        river_name: (river_gap, *raw_coefficients(*river_weights(river, d), river_scaler)),
    }
    lines = [
        f"### Streaming: partial_fit over {chunks * CHUNK:,} rows in chunks of {CHUNK:,}", "",
        "| method | CPU seconds | rows/s | final gap |", "|---|---|---|---|",
    ]
    for (name, (reference, coef, intercept)), key in zip(results.items(), seconds, strict=True):
        lines.append(f"| {name} | {seconds[key]:.1f} | {chunks * CHUNK / seconds[key]:,.0f} | "
                     f"{reference(coef, intercept):.1e} |")
        print(lines[-1], flush=True)
    return lines


def _standardize(X):
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    return scaler, scaler.transform(X)


def _sklearn_chunk(scaler, model, X, y):
    scaler.partial_fit(X)
    model.partial_fit(scaler.transform(X), y)


def _river_chunk(model, frame, target, batch=32):
    for start in range(0, len(target), batch):
        model.learn_many(frame.iloc[start:start + batch], target.iloc[start:start + batch])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=200_000, help="rows of the SGD table")
    parser.add_argument("--stream-rows", type=float, default=1e7,
                        help="rows of the streaming table (chunks of 1e5)")
    parser.add_argument("--river-rows", type=float, default=1e6,
                        help="rows river learns in the streaming table (its time extrapolated)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each fast method in the SGD table; the least time is kept")
    parser.add_argument("--skip-sgd", action="store_true", help="only the streaming table")
    parser.add_argument("--skip-stream", action="store_true", help="only the SGD table")
    args = parser.parse_args(argv)
    lines = [describe(), ""]
    print(lines[0], flush=True)
    if not args.skip_sgd:
        lines += sgd_table(int(args.rows), args.repeat) + [""]
    if not args.skip_stream:
        lines += stream_table(int(args.stream_rows), int(args.river_rows))
    if not (args.skip_sgd or args.skip_stream):  # a partial run leaves the results file as it is
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "sgd.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
