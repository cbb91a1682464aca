"""``python -m benchmarks.formula``: a formula with a 50-level factor on a CSV file, out of core.

gradreg streams the file through ``y ~ x1 + x2 + x3 + C(region)`` (a first pass over the
``region`` column for its levels, then one statistics pass), against ``pandas.read_csv`` +
statsmodels' formula OLS on the same file. Each runs in its own process; the table gives
time, peak resident memory and the largest relative difference between the coefficients.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .machine import describe, peak_rss

FORMULA = "y ~ x1 + x2 + x3 + C(region)"
LEVELS = 50


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    names = np.array([f"region{i:02d}" for i in range(LEVELS)])
    effects = rng.normal(0.0, 2.0, LEVELS)
    block = 1_000_000
    with pacsv.CSVWriter(str(path), pa.schema([("x1", pa.float64()), ("x2", pa.float64()),
                                                ("x3", pa.float64()), ("region", pa.string()),
                                                ("y", pa.float64())])) as writer:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            x = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1] + [5.0, -3.0, 0.0]
            region = rng.integers(0, LEVELS, n)
            y = 1.0 + x @ [0.5, -0.2, 3.0] + effects[region] + rng.normal(size=n)
            writer.write_table(pa.table({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2],
                                         "region": names[region], "y": y}))


def child(what: str, path: str) -> dict:
    import pandas as pd
    import statsmodels.formula.api as smf

    import gradreg

    started = time.perf_counter()
    if what == "gradreg":
        model = gradreg.GDRegressor().fit(gradreg.scan(path, formula=FORMULA))
        params = dict(zip(model.feature_names_in_, model.coef_.tolist(), strict=True))
        params["Intercept"] = model.intercept_
    else:
        frame = pd.read_csv(path)
        params = smf.ols(FORMULA, frame).fit().params.to_dict()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss": peak_rss(), "params": params}


def run_child(what: str, path: Path) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.formula", "--child", what, str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "formula.csv"
        write_csv(path, args.rows)
        size = path.stat().st_size
        results = {what: run_child(what, path) for what in ("gradreg", "statsmodels")}
    ours, peer = results["gradreg"], results["statsmodels"]
    names = sorted(peer["params"])
    a = np.array([ours["params"][n] for n in names])
    b = np.array([peer["params"][n] for n in names])
    difference = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
    print(f"# {FORMULA}: {args.rows:,} rows, {LEVELS}-level factor, CSV of {size / 2**20:.0f} MiB")
    print(f"# {describe()}")
    print("| method | seconds | peak RSS MB | x gradreg time |")
    print("|---|---|---|---|")
    for what, label in (("gradreg", "gradreg scan(formula=...) + fit"),
                        ("statsmodels", "pandas.read_csv + statsmodels smf.ols")):
        result = results[what]
        print(f"| {label} | {result['seconds']:.2f} | {result['peak_rss'] / 2**20:.0f} | "
              f"{result['seconds'] / ours['seconds']:.2f} |")
    print(f"largest relative coefficient difference: {difference:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
