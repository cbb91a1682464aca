"""``python -m benchmarks.summary``: a regression table of a streamed CSV, against statsmodels.

A generated CSV (10M rows x 10 features, about 2 GB, by default) is summarised twice, each in
its own process with its peak resident memory:

- gradreg: ``GDRegressor().fit(scan(...))`` (one pass), ``summary()`` from the statistics, and
  ``summary("HC1", X=source)`` (one more pass for the squared residuals);
- ``pandas.read_csv`` (pyarrow engine) + statsmodels ``OLS(...).fit()`` and
  ``.fit(cov_type="HC1")``.

pyarrow's bare read of the file is the floor. The table also gives the largest relative
difference of gradreg's standard errors from statsmodels'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .data import Case
from .scale import COLUMNS, peak_rss, write_csv

RESULTS = Path(__file__).parent / "results"


def child(what: str, path: str) -> dict:
    # Imports first: the clock measures the work, not loading libraries.
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds
    import statsmodels.api as sm

    from gradreg import GDRegressor, scan

    result: dict = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result[name] = now - clock
        clock = now

    if what == "pyarrow":
        file_format = ds.CsvFileFormat(
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(COLUMNS, pa.float64()))
        )
        for _ in ds.dataset(path, format=file_format).to_batches(columns=COLUMNS):
            pass
        lap("read")
    elif what == "gradreg":
        source = scan(path, target="y")
        model = GDRegressor().fit(source)
        lap("fit")
        plain = model.summary()
        lap("nonrobust")
        robust = model.summary("HC1", X=source)
        lap("HC1")
        result["bse"] = plain.bse.tolist()
        result["bse_HC1"] = robust.bse.tolist()
    else:
        frame = pd.read_csv(path, engine="pyarrow")
        exog = sm.add_constant(frame[COLUMNS[:-1]].to_numpy())
        endog = frame["y"].to_numpy()
        del frame
        lap("read")
        plain = sm.OLS(endog, exog).fit()
        lap("nonrobust")
        robust = plain.get_robustcov_results("HC1")
        lap("HC1")
        result["bse"] = plain.bse.tolist()
        result["bse_HC1"] = robust.bse.tolist()
    result["peak_mb"] = peak_rss() / 2**20
    return result


def run_child(what: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "benchmarks.summary", "--child", what,
                           str(path)], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).parent.parent)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _difference(a, b) -> str:
    a, b = np.asarray(a), np.asarray(b)
    return f"{float(np.max(np.abs(a - b) / np.abs(b))):.1e}"


def table(case: Case, folder: Path) -> list[str]:
    path = folder / "data.csv"
    started = time.perf_counter()
    write_csv(path, case)
    size = path.stat().st_size
    lines = [f"### Summary table of a {size / 2**30:.2f} GiB CSV ({case.n:,} rows x {case.d}; "
             f"written in {time.perf_counter() - started:.0f} s)", "",
             "| method | seconds | x pyarrow read | peak RSS MB | bse vs statsmodels |",
             "|---|---|---|---|---|"]
    results = {what: run_child(what, path) for what in ("pyarrow", "gradreg", "statsmodels")}
    path.unlink()
    failed = [f"| {what} | failed: {r['error'][:70]} | | | |" for what, r in results.items()
              if "error" in r]
    if failed:
        return lines + failed
    floor = results["pyarrow"]["read"]
    ours, theirs = results["gradreg"], results["statsmodels"]
    rows = [
        ("pyarrow read (floor)", floor, results["pyarrow"]["peak_mb"], ""),
        ("gradreg fit, streamed (one pass)", ours["fit"], None, ""),
        ("gradreg summary() nonrobust", ours["nonrobust"], None,
         _difference(ours["bse"], theirs["bse"])),
        ("gradreg summary('HC1'), one more pass", ours["HC1"], None,
         _difference(ours["bse_HC1"], theirs["bse_HC1"])),
        ("gradreg, all three", ours["fit"] + ours["nonrobust"] + ours["HC1"], ours["peak_mb"],
         ""),
        ("pandas.read_csv (pyarrow engine)", theirs["read"], None, ""),
        ("statsmodels OLS nonrobust", theirs["nonrobust"], None, ""),
        ("statsmodels HC1", theirs["HC1"], None, ""),
        ("pandas + statsmodels, all three", theirs["read"] + theirs["nonrobust"] + theirs["HC1"],
         theirs["peak_mb"], ""),
    ]
    for name, seconds, peak, difference in rows:
        memory = "" if peak is None else f"{peak:.0f}"
        lines.append(f"| {name} | {seconds:.3f} | {seconds / floor:.2f} | {memory} | "
                     f"{difference} |")
    lines += ["", f"HC1 pass / statistics pass: {ours['HC1'] / ours['fit']:.2f}; "
              f"gradreg / pandas + statsmodels, all three: "
              f"{rows[4][1] / rows[8][1]:.2f} of the time, "
              f"{ours['peak_mb'] / theirs['peak_mb']:.2f} of the peak memory."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--folder", default=None,
                        help="Folder for the generated CSV (default: a temporary folder).")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    with tempfile.TemporaryDirectory(prefix="gradreg-summary-", dir=args.folder) as folder:
        lines = table(Case(args.rows, 10, "well"), Path(folder))
    print("\n".join(lines), flush=True)
    RESULTS.mkdir(exist_ok=True)
    name = "summary.md" if args.rows == 10_000_000 else f"summary-{args.rows}.md"
    (RESULTS / name).write_text("# Regression table of a streamed CSV\n\n" + "\n".join(lines)
                                + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
