"""A worker process for one peer: fits it on each data set it is sent and reports measurements.

Usage: ``python -m benchmarks.run_one PEER``. The worker loads the peer's libraries once, prints
``{"ready": true}``, then reads one JSON request per line on standard input
(``{"x": X.npy, "y": y.npy, "oracle": ORACLE.npz, "target": GAP, "budget": SECONDS}``). For
each it loads the arrays, prints ``{"loaded": true}``, measures, and prints the results as one
JSON line. Keeping the process between cases saves starting it and importing its libraries
(one to two seconds) for every case, while each peer still runs in a process of its own.

Timing: a method is run once; if that run took under ``WARM_UP`` seconds it counts as a
warm-up and the median of ``REPEATS`` further runs is reported, otherwise the single run is.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import statistics
import sys
import time

import numpy as np
import psutil

from .machine import peak_rss
from .peers import IMPORTS, PEERS

WARM_UP = 1.0
REPEATS = 3


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


def _release_free_memory() -> None:
    """Return freed heap memory to the system (glibc), so that the memory a method uses is not
    hidden by pages a previous case left resident in this long-lived process."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> int:
    """Reset the kernel's record of peak memory (Linux), and return the memory in use now."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return psutil.Process().memory_info().rss




def measure(name: str, request: dict) -> dict:
    # Mapped, then copied: the saved file is not held twice in memory (it may be in /dev/shm).
    mapped = np.asarray(np.load(request["x"], mmap_mode="r"))
    X = mapped.astype(np.float32) if "float32" in name else mapped.copy()
    del mapped
    y = np.load(request["y"])
    oracle = dict(np.load(request["oracle"]))
    gap_of = gap_function(oracle)
    print(json.dumps({"loaded": True}), flush=True)
    _release_free_memory()
    baseline = _reset_peak()
    peer = PEERS[name]
    target, budget = float(request["target"]), float(request["budget"])

    def run() -> tuple[float, float, tuple]:
        started = time.perf_counter()
        result = peer(X, y, target, budget, gap_of)
        elapsed = time.perf_counter() - started
        # A peer may report the time its timed work took (an extrapolation, a fit after a
        # calibration run); the clock says how long the call ran.
        return (result[3] if len(result) == 4 else elapsed), elapsed, result

    reported, elapsed, result = run()
    seconds = [reported]
    if elapsed < WARM_UP:
        seconds = []
        for _ in range(REPEATS):
            reported, _, result = run()
            seconds.append(reported)
    peak = peak_rss()
    coef, intercept, iterations = result[:3]
    gap = None if coef is None else gap_of(coef, intercept)
    return {
        "seconds": seconds,
        "median": statistics.median(seconds),
        "iterations": iterations,
        "gap": gap,
        "extra_mb": max(0, peak - baseline) / 2**20,
        "input_mb": (X.nbytes + y.nbytes) / 2**20,
    }


def main(argv: list[str]) -> None:
    (name,) = argv
    for key, modules in IMPORTS.items():
        if key in name:
            for module in modules:
                importlib.import_module(module)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        result = measure(name, json.loads(line))
        gc.collect()  # the arrays of this case go before the next one is loaded
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
