"""``python -m benchmarks.qr_pass [--quick]``: the stable form's pass against one ``X.T @ X``.

When the Gram matrix of the statistics cannot resolve the optimum to ``tol``, gradreg reads the
data again for the triangular factor R of the shifted, equilibrated ``[X 1 y]``
(:mod:`gradreg.qr_stats`, shifted CholeskyQR started from the Gram matrix). The target is a
cost of at most three times one ``X.T @ X``, measured here in the same process on the same
ill-conditioned array (:mod:`benchmarks.data`). Each time is the least of five runs after a
warm-up; ``X.T @ X`` is timed with all BLAS threads and with one, the faster counting, as in
:mod:`benchmarks.stats_pass`.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from gradreg.optimum import canonical_preconditioner
from gradreg.problem import gather_qr
from gradreg.sources import ArraySource
from gradreg.stats import stats_from_arrays

from .data import Case, make
from .machine import describe
from .stats_pass import RESULTS, floors, least_seconds

HEADER = ["n", "d", "cond", "X.T @ X s", "QR pass s", "QR / X.T@X"]


def measure(n: int, d: int) -> list[str]:
    X, y = make(Case(n, d, "ill"))
    source = ArraySource(X, y)
    stats = stats_from_arrays(X, y)
    canon = canonical_preconditioner(stats, True)
    gram, _ = floors(X)
    qr = gather_qr(source, stats, canon)
    seconds = least_seconds(lambda: gather_qr(source, stats, canon))
    condition = float(np.linalg.cond(qr.R[:-1, :-1]))
    return [f"{n:.0e}", str(d), f"{condition:.1e}", f"{gram:.4f}", f"{seconds:.4f}",
            f"{seconds / gram:.2f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.qr_pass", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1e6 rows only")
    parser.add_argument("--rows", type=float, nargs="+", default=None, metavar="N")
    parser.add_argument("--features", type=int, nargs="+", default=[10, 100], metavar="D")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.rows] if args.rows else (
        [1_000_000] if args.quick else [1_000_000, 10_000_000])
    lines = ["### The stable form's pass (QR factor) against one X.T @ X (ill-conditioned data)",
             "", f"Machine: {describe()}", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    print("\n".join(lines), flush=True)
    for n in sizes:
        for d in args.features:
            lines.append("| " + " | ".join(measure(n, d)) + " |")
            print(lines[-1], flush=True)
    if not args.rows and args.features == [10, 100]:
        RESULTS.mkdir(exist_ok=True)
        suffix = "quick" if args.quick else "full"
        (RESULTS / f"qr-pass-{suffix}.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
