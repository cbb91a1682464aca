"""Run one peer on one data set in this process and print its measurements as JSON.

Usage: ``python -m benchmarks.run_one PEER X.npy y.npy ORACLE.npz TARGET BUDGET REPEATS``
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time

import numpy as np
import psutil

from .peers import IMPORTS, PEERS


def gap_function(oracle):
    """Relative optimality gap of a (coef, intercept), exact for least squares."""
    mean, cov = oracle["mean_x"], oracle["cov"]
    coef_star, intercept_star, f_star = oracle["coef"], float(oracle["intercept"]), float(
        oracle["f_star"]
    )

    def gap(coef, intercept):
        dw = np.asarray(coef, dtype=np.float64).ravel() - coef_star
        db = float(intercept) - intercept_star
        shift = float(mean @ dw) + db
        return 0.5 * (float(dw @ cov @ dw) + shift * shift) / f_star

    return gap


def _reset_peak() -> int:
    """Reset the kernel's record of peak memory (Linux), and return the memory in use now."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return psutil.Process().memory_info().rss


def _peak() -> int:
    """Peak resident memory since the reset, in bytes."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str]) -> None:
    name, x_path, y_path, oracle_path, target, budget, repeats = argv
    for key, modules in IMPORTS.items():
        if key in name:
            for module in modules:
                importlib.import_module(module)
    X = np.load(x_path)
    if "float32" in name:
        X = X.astype(np.float32)
    y = np.load(y_path)
    oracle = dict(np.load(oracle_path))
    gap_of = gap_function(oracle)
    baseline = _reset_peak()
    peer = PEERS[name]
    seconds, result = [], None
    for _ in range(int(repeats)):
        started = time.perf_counter()
        result = peer(X, y, float(target), float(budget), gap_of)
        elapsed = time.perf_counter() - started
        if len(result) == 4:  # extrapolated: the peer computes its own time
            elapsed = result[3]
        seconds.append(elapsed)
        if elapsed > 5.0:
            break
    peak = _peak()
    coef, intercept, iterations = result[:3]
    gap = None if coef is None else gap_of(coef, intercept)
    print(json.dumps({
        "seconds": seconds,
        "iterations": iterations,
        "gap": gap,
        "extra_mb": max(0, peak - baseline) / 2**20,
        "input_mb": (X.nbytes + y.nbytes) / 2**20,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
