"""``python -m benchmarks [--quick]``: gradreg and its peers on the same data, side by side.

Each peer runs in its own process (kept from case to case) on the same saved arrays; the table
shows the median of three runs after a warm-up (one run, for methods taking over two seconds),
the ratio to gradreg and to each of the two floors measured in the same run (one ``X^T X``
and one read of X, ``X.sum(axis=0)``), iterations, the relative optimality gap
reached and the peak memory beyond the input. Results go to ``benchmarks/results/`` as JSON
and Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .data import Case, make, oracle, save
from .machine import describe
from .peers import PEERS
from .run_one import REPEATS, WARM_UP
from .workers import Pool

RESULTS = Path(__file__).parent / "results"
TARGET_GAP = 1e-10
GRADREG = "gradreg GDRegressor()"
FLOOR = "floor: X^T X"
READ_FLOOR = "floor: read X once"
# Peers that hold several copies of X: skipped when that would not fit in memory.
COPIES = {
    "numpy.linalg.lstsq": 3, "sklearn LinearRegression": 2, "statsmodels OLS": 4,
    "scipy lsqr": 2, "numpy full-batch GD": 3, "PyTorch full-batch GD (CPU)": 3,
    "sklearn SGDRegressor (default)": 2, "sklearn SGDRegressor (tuned)": 2,
    "dask-ml LinearRegression (gradient_descent)": 3, "dask-ml LinearRegression (lbfgs)": 3,
}
MEMORY_BUDGET = 12 * 2**30
# Iterative peers stop at the target gap or after BUDGET seconds; any peer still running
# LIMIT seconds after its data are loaded is stopped (dask-ml has no time budget of its own).
BUDGET = 5.0
LIMIT = 30.0
# Above this input size only gradreg, the floors and the direct solvers run, to keep the full
# benchmark within about 15 minutes on 2 cores.
LARGE_INPUT = 2 * 2**30
FAST_PEERS = {GRADREG, "gradreg GDRegressor(), X as float32", "floor: read X once", FLOOR,
              "sklearn LinearRegression", "numpy.linalg.lstsq"}


def grid(quick: bool) -> list[Case]:
    sizes = [100_000, 1_000_000] if quick else [100_000, 1_000_000, 10_000_000]
    widths = [1, 10] if quick else [1, 10, 100]
    return [Case(n, d, kind) for n in sizes for d in widths for kind in ("well", "ill")
            if not (kind == "ill" and d == 1)]


def format_row(name, result, reference, floor, read_floor=None):
    if result.get("status") != "ok":
        return [name, result.get("status", ""), "", "", "", "", "", ""]
    seconds = result["median"]
    gap = result["gap"]
    return [
        name,
        f"{seconds:.3f}" + ("*" if "extrapolated" in name else ""),
        f"{seconds / reference:.2f}" if reference else "",
        f"{seconds / floor:.2f}" if floor else "",
        f"{seconds / read_floor:.2f}" if read_floor else "",
        str(result["iterations"]) if result["iterations"] not in (0, -1) else "",
        "" if gap is None else f"{gap:.1e}",
        f"{result['extra_mb']:.0f}",
    ]


HEADER = ["method", "seconds", "x gradreg", "x X^T X", "x read X", "epochs/iter", "gap",
          "extra MB"]


def markdown(title: str, rows: list[list[str]]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(HEADER) + " |",
             "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


SCALING_METHODS = [GRADREG, FLOOR, "sklearn LinearRegression", "numpy.linalg.lstsq"]


def scaling(report: dict, suffix: str) -> str:
    """How time grows with n (d = 10) and with d (n = 1e6), as a table and a PNG plot."""
    from matplotlib.figure import Figure

    cases = report["cases"]

    def seconds(name, n, d):
        result = cases.get(Case(n, d, "well").name, {}).get(name, {})
        return result.get("median") if result.get("status") == "ok" else None

    sizes = sorted({int(float(k.split()[0][2:])) for k in cases})
    widths = sorted({int(k.split()[1][2:]) for k in cases})
    lines = ["### How the time grows (well-conditioned data, seconds)", "",
             f"Machine: {report['machine']}.", "",
             "| method | " + " | ".join(f"n={n:.0e}, d=10" for n in sizes) + " | "
             + " | ".join(f"n=1e+06, d={d}" for d in widths) + " |",
             "|---|" + "---|" * (len(sizes) + len(widths))]
    figure = Figure(figsize=(10, 4), layout="constrained")
    by_n, by_d = figure.subplots(1, 2)
    for name in SCALING_METHODS:
        row_n = [seconds(name, n, 10) for n in sizes]
        row_d = [seconds(name, 1_000_000, d) for d in widths]
        cells = ["" if t is None else f"{t:.4f}" for t in row_n + row_d]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        for axes, xs, ys in ((by_n, sizes, row_n), (by_d, widths, row_d)):
            points = [(x, t) for x, t in zip(xs, ys, strict=True) if t]
            if points:
                axes.plot(*zip(*points, strict=True), marker="o", label=name)
    for axes, label in ((by_n, "rows n (d = 10)"), (by_d, "features d (n = 1e6)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel(label)
        axes.set_ylabel("seconds")
        axes.grid(alpha=0.3, which="both")
    by_n.legend(frameon=False, fontsize=8)
    figure.savefig(RESULTS / f"scaling-{suffix}.png", dpi=110)
    return "\n".join(lines) + "\n"


def machine() -> str:
    """CPU model, cores, BLAS library and kernel, Python and numpy (the workers inherit the
    environment, so they use the same kernel)."""
    return describe()


def scratch_folder(largest: int) -> Path:
    """Shared memory when it has room: writing 8 GB to disk takes longer than any peer."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 2 * largest:
        return Path(tempfile.mkdtemp(prefix="gradreg-bench-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="gradreg-bench-"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small grid: 1e5 and 1e6 rows, 1 and 10 features (about 2 minutes)")
    parser.add_argument("--peer", action="append", default=None, metavar="NAME",
                        help="run only this peer (repeatable; names as in the tables)")
    parser.add_argument("--case", action="append", default=None, metavar="N,D,KIND",
                        help="run only this case, e.g. 10000000,10,ill (repeatable)")
    parser.add_argument("--replot", action="store_true",
                        help="redo the growth table and plot from the saved JSON, run nothing")
    args = parser.parse_args(argv)
    if args.replot:
        suffix = "quick" if args.quick else "full"
        report = json.loads((RESULTS / f"bench-{suffix}.json").read_text())
        markdown_path = RESULTS / f"bench-{suffix}.md"
        kept = markdown_path.read_text().split("### How the time grows")[0].rstrip()
        table = scaling(report, suffix)
        markdown_path.write_text(kept + "\n\n" + table)
        print(table)
        return 0
    budget = BUDGET
    peers = args.peer or list(PEERS)
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peer {unknown[0]!r}; the peers are: " + "; ".join(PEERS))
    RESULTS.mkdir(exist_ok=True)
    folder = scratch_folder(max(case.nbytes for case in grid(args.quick)))
    report = {"machine": machine(), "target_gap": TARGET_GAP, "cases": {}}
    text = [f"# gradreg benchmarks\n\nMachine: {report['machine']}. Target relative gap "
            f"{TARGET_GAP:g}. Each peer runs in its own process; a method is run once, and if that "
            f"took under {WARM_UP:g} s it counts as a warm-up and the median of {REPEATS} more "
            f"runs is shown. Iterative peers stop at the target or after {budget:.0f} s; a peer "
            f"still running after {LIMIT:.0f} s is stopped. * = extrapolated from a "
            "subsample.\n"]
    started = time.perf_counter()
    pool = Pool()
    try:
        cases = grid(args.quick)
        if args.case:
            cases = [Case(int(float(n)), int(d), kind)
                     for n, d, kind in (c.split(",") for c in args.case)]
        for case in cases:
            case_started = time.perf_counter()
            X, y = make(case)
            oracle_path = folder / "oracle.npz"
            np.savez(oracle_path, **oracle(X, y))
            x_path, y_path = save(case, X, y, folder)
            del X, y
            os.sync()  # written out now, not by the kernel in the background while peers run
            request = {"x": str(x_path), "y": str(y_path), "oracle": str(oracle_path),
                       "target": TARGET_GAP, "budget": budget}
            results = {}
            for name in peers:
                if name == "classic loop (extrapolated)" and case.d != 1:
                    continue
                if COPIES.get(name, 1) * case.nbytes > MEMORY_BUDGET:
                    results[name] = {"status": "skipped: needs more memory than the machine"}
                    continue
                if case.nbytes > LARGE_INPUT and name not in FAST_PEERS:
                    results[name] = {"status": "skipped: too slow at this size for the run"}
                    continue
                results[name] = pool.measure(name, request, LIMIT)
            reference = results.get(GRADREG, {}).get("median")
            floor = results.get(FLOOR, {}).get("median")
            read_floor = results.get(READ_FLOOR, {}).get("median")
            rows = [format_row(name, res, reference, floor, read_floor)
                    for name, res in results.items()]
            report["cases"][case.name] = results
            elapsed = time.perf_counter() - case_started
            table = (markdown(case.name, rows) + f"\nMachine: {report['machine']}. "
                     f"(case run in {elapsed:.0f} s)\n")
            text.append(table)
            print(table, flush=True)
            x_path.unlink()
            y_path.unlink()
    finally:
        pool.close()
        shutil.rmtree(folder, ignore_errors=True)
    # A run of chosen cases or peers never overwrites the full grid's results.
    suffix = "cases" if args.case or args.peer else "quick" if args.quick else "full"
    if not args.case and not args.peer:
        text.append(scaling(report, suffix))
        print(text[-1])
    (RESULTS / f"bench-{suffix}.json").write_text(json.dumps(report, indent=1))
    (RESULTS / f"bench-{suffix}.md").write_text("\n".join(text))
    print(f"total {time.perf_counter() - started:.0f} s; written to {RESULTS}/bench-{suffix}.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
