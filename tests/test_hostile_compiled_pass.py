"""The compiled statistics pass and the kept threads, on inputs and environments chosen to
break them: non-finite cells past the head, arrays of every flag numba types apart, the
interpreter instead of the compiler, numba caches that cannot be written or read, fits in
concurrent threads and in a Dask worker, a fork while another thread holds the pool's lock,
and sums built to round the same way at every step."""

import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading

import numba
import numpy as np
import pytest

from conftest import assert_fit_within_rounding, file_size_limit
from gradreg import GDRegressor, _chunks, stats
from gradreg._chunks import map_parts, one_blas_thread
from gradreg._cross_kernel import BLOCK_ROWS, _add_rows, _add_rows_one, shifted_cross_products
from gradreg.errors import DataError
from gradreg.stats import _compiled_route

N_ROWS = stats._COMPILED_MIN_ROWS + 904  # in the compiled route, past the origin's head rows
EPS = float(np.finfo(np.float64).eps)


def _rows(n=N_ROWS, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * 2.0 + 7.0).astype(dtype)
    y = X.astype(np.float64) @ np.arange(1.0, d + 1) + rng.normal(size=n)
    return X, y


def _count_compiled(monkeypatch) -> list:
    rows = []
    original = stats._ShiftedSums._add_compiled

    def counted(self, X, y, w):
        rows.append(len(y))
        return original(self, X, y, w)

    monkeypatch.setattr(stats._ShiftedSums, "_add_compiled", counted)
    return rows


# -- non-finite input: the compiled route names the same cell as the BLAS route ----------------

@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("value", [np.nan, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_non_finite_cell_is_named_as_on_the_blas_route(monkeypatch, where, value, dtype):
    X, y = _rows(dtype=dtype)
    row = N_ROWS - 3
    if where == "X":
        X[row, 1] = value
    else:
        y[row] = value
    compiled = _count_compiled(monkeypatch)
    with pytest.raises(DataError, match=f"Input {where} contains .* at row {row}") as first:
        GDRegressor().fit(X, y)
    assert sum(compiled) == N_ROWS  # the statistics came from the compiled pass
    monkeypatch.setattr(stats, "_COMPILED_MIN_ROWS", 10 * N_ROWS)
    with pytest.raises(DataError) as second:
        GDRegressor().fit(X, y)
    assert sum(compiled) == N_ROWS  # and not this time
    assert str(first.value) == str(second.value)


# -- NUMBA_DISABLE_JIT: the interpreter would run the kernel's loop -----------------------------

def test_without_the_jit_the_blas_route_is_taken(monkeypatch):
    """Interpreted, the loop took 14 s at 1e5 x 23 where the BLAS route takes 0.08 s."""
    X, y = _rows()
    assert _compiled_route(X, y, None)
    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
    assert not _compiled_route(X, y, None)
    compiled = _count_compiled(monkeypatch)
    model = GDRegressor().fit(X, y)
    assert compiled == []
    _check_fit(model, X, y)


# -- flags numba types apart: one compilation per dtype of X -----------------------------------

def _flagged(array, flag, tmp_path, name):
    if flag == "read-only":
        array = array.copy()
        array.flags.writeable = False
    elif flag == "memmap":
        path = tmp_path / f"{name}.bin"
        array.tofile(path)
        array = np.memmap(path, dtype=array.dtype, mode="r", shape=array.shape)
    return array


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [1, 4])
def test_read_only_and_mapped_arrays_share_one_compilation(tmp_path, dtype, d):
    X, y = _rows(n=BLOCK_ROWS + 5, d=d, dtype=dtype)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    origin = np.append(X[0], y[0]).astype(np.float64)
    results = []
    for flag in ["writable", "read-only", "memmap"]:
        arrays = [_flagged(a, flag, tmp_path, name) for a, name in [(X, "X"), (y, "y"), (w, "w")]]
        assert _compiled_route(*arrays)
        results.append(shifted_cross_products(*arrays, origin))
    for weight, sums, cross in results[1:]:  # the same kernel on the same numbers: same bits
        assert weight == results[0][0]
        assert np.array_equal(sums, results[0][1]) and np.array_equal(cross, results[0][2])
    for kernel in (_add_rows, _add_rows_one):
        x_types = [signature[0] for signature in kernel.signatures]
        assert len(x_types) == len(set(x_types))  # one signature per dtype of X
        arrays = [t for signature in kernel.signatures for t in signature
                  if isinstance(t, numba.types.Array)]
        assert all(not t.mutable for t in arrays[:3])


def test_unaligned_rows_take_the_blas_route():
    X, y = _rows()
    raw = np.zeros(X.nbytes + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float64, count=X.size, offset=1)
    unaligned = unaligned.reshape(X.shape)
    unaligned[:] = X
    assert not unaligned.flags.aligned and not _compiled_route(unaligned, y, None)
    assert _compiled_route(X, y, None)


# -- numba's on-disk cache: a help, never a requirement ----------------------------------------

_KERNEL = """
from gradreg._jit import compiled


@compiled(nogil=True)
def twice(x):
    return 2.0 * x
"""


def _load(folder, name):
    """A fresh module (and a fresh compiled function) from ``folder/kernel.py``."""
    spec = importlib.util.spec_from_file_location(name, folder / "kernel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def kernel_folder(tmp_path, monkeypatch):
    folder = tmp_path / "kernels"
    folder.mkdir()
    (folder / "kernel.py").write_text(_KERNEL)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    return folder


def _blocked(tmp_path, monkeypatch, folder):
    """No folder numba could cache in: its own, the one beside the source and the user's all
    lie under a regular file (not writable, even by root)."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(blocked / "cache"))
    monkeypatch.setenv("HOME", str(blocked))
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked / "cache"))
    (folder / "__pycache__").write_text("a file, not a folder")
    return blocked


def test_a_kernel_compiles_where_no_cache_folder_is_writable(kernel_folder, tmp_path,
                                                             monkeypatch):
    _blocked(tmp_path, monkeypatch, kernel_folder)
    assert _load(kernel_folder, "kernel_blocked").twice(1.5) == 3.0


def test_a_cache_file_that_cannot_be_written_leaves_the_kernel_working(kernel_folder):
    module = _load(kernel_folder, "kernel_full_disk")
    with file_size_limit(16):  # every cache file is larger: its write fails (EFBIG)
        assert module.twice(1.5) == 3.0


@pytest.mark.parametrize("damaged", [".nbi", ".nbc"])
def test_an_unreadable_cache_file_is_a_cache_miss(kernel_folder, tmp_path, damaged):
    assert _load(kernel_folder, "kernel_first").twice(1.5) == 3.0  # compiled and cached
    files = [p for p in (tmp_path / "cache").rglob("*") if p.suffix == damaged]
    assert files
    for path in files:
        path.write_bytes(b"garbage" if damaged == ".nbi" else path.read_bytes()[:50])
    assert _load(kernel_folder, "kernel_second").twice(2.5) == 5.0


def test_gradreg_imports_and_fits_where_no_cache_folder_is_writable(tmp_path, monkeypatch):
    """The package as a read-only installation under a read-only home: every compiled kernel
    (statistics pass, measured refinement, SGD epochs) is compiled in the process instead."""
    import gradreg

    package = tmp_path / "site" / "gradreg"
    shutil.copytree(os.path.dirname(gradreg.__file__), package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder, _, _ in os.walk(package):
        with open(os.path.join(folder, "__pycache__"), "w") as handle:
            handle.write("a file, not a folder")
    blocked = _blocked(tmp_path, monkeypatch, tmp_path)
    script = textwrap.dedent(f"""
        import json, numpy as np, gradreg
        from gradreg import stats
        assert gradreg.__file__.startswith({str(package)!r})
        rng = np.random.default_rng(0)
        X = rng.normal(size=({N_ROWS}, 3)) * 2.0 + 7.0
        y = X @ np.arange(1.0, 4.0) + rng.normal(size={N_ROWS})
        assert stats._compiled_route(X, y, None)
        model = gradreg.GDRegressor().fit(X, y)
        print(json.dumps([model.coef_.tolist(), model.intercept_, model.coef_error_bound_]))
    """)
    env = dict(os.environ, PYTHONPATH=str(package.parent), PYTHONDONTWRITEBYTECODE="1",
               NUMBA_CACHE_DIR=str(blocked / "cache"), HOME=str(blocked),
               XDG_CACHE_HOME=str(blocked / "cache"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    coef, intercept, certified = json.loads(done.stdout)
    X, y = _rows()
    reference = np.linalg.lstsq(X - X.mean(axis=0), y - y.mean(), rcond=None)[0]
    assert_fit_within_rounding(np.array(coef), intercept, X, reference,
                               y.mean() - X.mean(axis=0) @ reference, certified=certified)


# -- kept threads after a fork ------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_while_the_pool_lock_is_held_does_not_hang_the_child():
    """Another thread of the parent may hold the lock at the moment of the fork; the child's
    copy of it would then never be released."""
    assert map_parts(lambda i: i, 2) == [0, 1]  # the pool exists
    with _chunks._POOL_LOCK:
        pid = os.fork()
        if pid == 0:  # the child: a pass on threads of its own, then out without cleanup
            signal.alarm(120)  # a hung child ends (killed by SIGALRM) instead of the suite
            ok = map_parts(lambda i: i + 1, 3) == [1, 2, 3]
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# -- fits in concurrent threads and in a Dask worker -------------------------------------------

def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def _blas_threads_found() -> list[int]:
    """The threads of each BLAS loaded, before a test; skips when all have one (nothing to
    restore then). No limit is set around these tests: a thread holding one (threadpoolctl's
    controlling thread) would shield the process's setting from the others."""
    threads = _blas_threads()
    if max(threads, default=1) <= 1:
        pytest.skip("BLAS runs on one thread here: no limit to restore")
    return threads


def _check_fit(model, X, y):
    reference = np.linalg.lstsq(X - X.mean(axis=0), y - y.mean(), rcond=None)[0]
    assert_fit_within_rounding(model.coef_, model.intercept_, X, reference,
                               y.mean() - X.mean(axis=0) @ reference,
                               certified=model.coef_error_bound_)


def test_blas_limits_that_end_out_of_order_restore_the_threads_found():
    """Two threads ask for one BLAS thread, the first to ask leaves first. Each setting and
    restoring its own limit, the second took the first's limit for the number to restore and
    left BLAS on one thread for the rest of the process."""
    found = _blas_threads_found()
    entered, first_left = threading.Event(), threading.Event()
    seen = []

    def second():
        with one_blas_thread():
            entered.set()
            first_left.wait()
        seen.append(_blas_threads())

    helper = threading.Thread(target=second, daemon=True)
    try:
        with one_blas_thread():
            helper.start()
            entered.wait()
            seen.append(_blas_threads())
    finally:
        first_left.set()
        helper.join()
    assert seen == [[1] * len(found), found]
    assert _blas_threads() == found


def test_fits_in_concurrent_threads_are_right_and_leave_blas_as_found():
    """Threaded passes (200,000 rows) from four threads at once share the kept pool."""
    found = _blas_threads_found()
    data = [_rows(n=200_000, d=4, seed=seed) for seed in range(4)]
    models = [None] * len(data)

    def fit(i):
        models[i] = GDRegressor().fit(*data[i])

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(len(data))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _blas_threads() == found
    for model, (X, y) in zip(models, data, strict=True):
        _check_fit(model, X, y)


def _fit_in_worker(n_rows):
    X, y = _rows(n=n_rows, d=4, seed=5)
    model = GDRegressor().fit(X, y)
    return model.coef_, model.intercept_, model.coef_error_bound_


def test_a_fit_inside_a_dask_worker_uses_the_kept_pool(client):
    """A task on a worker thread (the pass splits its 200,000 rows between the kept threads)."""
    coef, intercept, certified = client.submit(_fit_in_worker, 200_000).result()
    X, y = _rows(n=200_000, d=4, seed=5)
    reference = np.linalg.lstsq(X - X.mean(axis=0), y - y.mean(), rcond=None)[0]
    assert_fit_within_rounding(coef, intercept, X, reference,
                               y.mean() - X.mean(axis=0) @ reference, certified=certified)


# -- sums built to round down at every addition -------------------------------------------------

def _stated_bound(n_rows: int, terms: np.ndarray) -> float:
    """The module's bound: ``(8 + BLOCK_ROWS / 8 + n / BLOCK_ROWS + 1) eps sum |terms|``."""
    additions = 8 + BLOCK_ROWS // 8 + -(-n_rows // BLOCK_ROWS)
    return (additions + 1) * EPS * math.fsum(np.abs(terms))


def test_the_weight_sum_is_within_the_stated_bound_when_every_addition_rounds():
    """A weight of 1 then weights of half an ulp of 1: each addition to a running sum at 1
    rounds (to even) down. A running sum over a block lost ``BLOCK_ROWS`` of them, four
    times the bound the module states; the weights in a tree lose at most its depth."""
    n = 2 * BLOCK_ROWS
    w = np.full(n, EPS / 2)
    w[0] = 1.0
    weight, _, _ = shifted_cross_products(np.zeros((n, 2)), np.zeros(n), w, np.zeros(3))
    assert abs(weight - math.fsum(w)) <= _stated_bound(n, w)


def test_one_feature_sums_are_within_the_stated_bound_when_every_addition_rounds():
    """With one feature each sub-block's sums take up to ``BLOCK_ROWS / 8`` additions in the
    order the compiler vectorizes them: the stated bound holds whatever that order."""
    n = BLOCK_ROWS
    x = np.full(n, EPS / 2)
    x[:4] = 1.0
    weight, sums, _ = shifted_cross_products(x[:, None], np.zeros(n), None, np.zeros(2))
    assert weight == n
    assert abs(sums[0] - math.fsum(x)) <= _stated_bound(n, x)
