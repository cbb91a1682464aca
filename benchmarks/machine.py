"""The machine a benchmark or test run measures: CPU model, cores and the BLAS kernel in use.

``python -m benchmarks.machine`` prints the one line that every benchmark table carries, so
that figures from different machines (or OpenBLAS kernels, ``OPENBLAS_CORETYPE``) are never
compared unawares.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess

import numpy as np
from threadpoolctl import threadpool_info


def cpu_model() -> str:
    """The CPU's marketing name, as the operating system reports it."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        brand = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        brand = ""
    return brand or platform.processor() or platform.machine()


def blas() -> str:
    """numpy's BLAS library, version and kernel (``architecture``), from threadpoolctl."""
    np.ones((2, 2)) @ np.ones((2, 2))  # loads the library if nothing has yet
    found = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not found:
        return "BLAS unknown"
    return "; ".join(
        f"{i['internal_api']} {i.get('version')}, kernel {i.get('architecture', 'unknown')}, "
        f"{i.get('num_threads')} threads" for i in found
    )


def peak_rss() -> int:
    """This process's peak resident memory in bytes: the kernel's VmHWM (which a write of 5 to
    /proc/self/clear_refs resets), else the peak getrusage reports for the whole process."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def describe() -> str:
    """One line: CPU model, core count, BLAS and kernel, Python and numpy versions."""
    return (f"{cpu_model()}, {os.cpu_count()} cores; {blas()}; "
            f"Python {platform.python_version()}, numpy {np.__version__}")


if __name__ == "__main__":
    print(describe())
