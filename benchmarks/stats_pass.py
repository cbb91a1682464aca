"""``python -m benchmarks.stats_pass [--quick]``: the statistics pass against its two floors.

gradreg's full-batch fit reads the data once, into its sufficient statistics. That pass can be
no faster than the slower of two floors, measured here in the same process on the same array:
one ``X.T @ X`` (the arithmetic) and one ``X.sum(axis=0)`` (one read of X from memory). The
table gives the pass and the whole default fit as ratios to the slower floor and to each
floor; the target is a pass within 1.3 times the slower floor. A third column reads what the
pass must read, X and y (``X.sum(0)`` and ``y.sum()``): with one feature that is twice the
bytes of ``X.sum(0)``, and no pass can then be within 1.3 times the read of X alone where
reading is what bounds it. Each time is the least of five
runs after a warm-up (other work on the machine only ever adds time), and ``X.T @ X`` is timed
with all BLAS threads and with one, the faster counting (on a busy machine OpenBLAS threads
waiting for each other can be slower than one).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from threadpoolctl import threadpool_limits

from gradreg import GDRegressor
from gradreg.stats import stats_from_arrays

from .data import Case, make
from .machine import describe

RESULTS = Path(__file__).parent / "results"
REPEATS = 5
FEATURES = [1, 10, 20, 50, 100]
HEADER = ["n", "d", "data", "X.T @ X s", "X.sum(0) s", "pass s", "pass / slower floor",
          "pass / X.T@X", "pass / X.sum(0)", "pass / read of X and y", "fit s",
          "fit / slower floor"]


def least_seconds(run: Callable[[], object]) -> float:
    run()  # warm-up: page faults, library loading, thread start
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def floors(X) -> tuple[float, float]:
    """Seconds of one ``X.T @ X`` (the faster of all BLAS threads and one) and one
    ``X.sum(axis=0)``."""
    with threadpool_limits(1, user_api="blas"):
        gram = least_seconds(lambda: X.T @ X)
    started = time.perf_counter()
    X.T @ X
    if time.perf_counter() - started < 2 * gram:  # threads that wait on each other: skipped
        gram = min(gram, least_seconds(lambda: X.T @ X))
    return gram, least_seconds(lambda: X.sum(axis=0))


# "well": independent centred columns, read in place; "ill": correlated columns with offsets
# (means up to about 50 spreads), shifted in a copy of each chunk.
_DATA = {"well": "centred", "ill": "offset, correlated"}


def measure(n: int, d: int, kind: str = "well") -> list[str]:
    X, y = make(Case(n, d, kind))
    gram, read = floors(X)
    both = least_seconds(lambda: (X.sum(axis=0), y.sum()))
    stats = least_seconds(lambda: stats_from_arrays(X, y))
    fit = least_seconds(lambda: GDRegressor().fit(X, y))
    floor = max(gram, read)
    return [f"{n:.0e}", str(d), _DATA[kind], f"{gram:.4f}", f"{read:.4f}", f"{stats:.4f}",
            f"{stats / floor:.2f}", f"{stats / gram:.2f}", f"{stats / read:.2f}",
            f"{stats / both:.2f}", f"{fit:.4f}", f"{fit / floor:.2f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stats_pass", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1e6 rows only")
    parser.add_argument("--rows", type=float, nargs="+", default=None, metavar="N")
    parser.add_argument("--features", type=int, nargs="+", default=FEATURES, metavar="D")
    parser.add_argument("--data", nargs="+", choices=list(_DATA), default=list(_DATA))
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.rows] if args.rows else (
        [1_000_000] if args.quick else [1_000_000, 10_000_000])
    lines = ["### The statistics pass against its floors", "",
             f"Machine: {describe()}", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    print("\n".join(lines), flush=True)
    for n in sizes:
        for d in args.features:
            for kind in args.data:
                lines.append("| " + " | ".join(measure(n, d, kind)) + " |")
                print(lines[-1], flush=True)
    if not args.rows and args.features == FEATURES:
        RESULTS.mkdir(exist_ok=True)
        suffix = "quick" if args.quick else "full"
        (RESULTS / f"stats-pass-{suffix}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
