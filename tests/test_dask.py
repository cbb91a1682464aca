"""Fitting through a real Dask cluster (two worker processes on 127.0.0.1)."""

import warnings

import numpy as np
import pytest

from conftest import (
    assert_fit_within_rounding,
    assert_within,
    loss_pinned_bound,
    make_regression,
    rounding_bound,
)

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from gradreg import DataError, GDRegressor  # noqa: E402
from gradreg.cli import main  # noqa: E402


@pytest.fixture
def client(process_client):
    """Worker processes: these tests cross a process boundary."""
    return process_client



@pytest.mark.parametrize("chunks", [997, 2500, 10_000])
def test_any_partitioning_gives_the_in_memory_fit(client, chunks):
    X, y = make_regression(10_000, 5, condition=10, seed=1)
    expected = GDRegressor().fit(X, y)
    model = GDRegressor().fit(da.from_array(X, chunks=(chunks, 5)), da.from_array(y, chunks=chunks))
    assert_fit_within_rounding(model.coef_, model.intercept_, X, expected.coef_,
                               expected.intercept_, fits=2)
    assert model.converged_ and model.route_ == "stats"


def test_dataframes_weights_and_penalties(client):
    pd = pytest.importorskip("pandas")
    X, y = make_regression(3000, 3, seed=2)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, 3000)
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=4)
    target = dd.from_pandas(pd.Series(y), npartitions=4)
    expected = GDRegressor(penalty="l1", alpha=0.1).fit(X, y, sample_weight=weights)
    model = GDRegressor(penalty="l1", alpha=0.1).fit(
        frame, target, sample_weight=da.from_array(weights, chunks=750))
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    # An L1 fit stops at the precision of its loss: each fit is within the loss-pinned distance
    # of the optimum (standardized units), so the two within twice that.
    mean = weights @ X / weights.sum()
    spread = np.sqrt(weights @ (X - mean) ** 2 / weights.sum())
    bound = 2 * loss_pinned_bound(X, weights, float(expected.history_["loss"][-1]))
    assert np.max(np.abs((model.coef_ - expected.coef_) * spread)) <= bound


def test_sgd_iterates_partitions(client):
    X, y = make_regression(4000, 3, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDRegressor(solver="sgd", max_iter=5, random_state=0).fit(
            da.from_array(X, chunks=(1000, 3)), da.from_array(y, chunks=1000))
    # Not rounding: five epochs of SGD come within a 1% gap on these well-conditioned rows.
    assert model.optimality_gap_ < 1e-2


def test_non_finite_values_are_located(client):
    X, y = make_regression(1000, 2, seed=4)
    X[612, 1] = np.nan
    with pytest.raises(DataError, match="NaN or infinity at row 612"):
        GDRegressor().fit(da.from_array(X, chunks=(300, 2)), da.from_array(y, chunks=300))


def test_command_line_on_the_cluster(client, tmp_path, capsys):
    X, y = make_regression(2000, 2, seed=5)
    for part in range(2):
        rows = slice(part * 1000, (part + 1) * 1000)
        pairs = zip(X[rows].tolist(), y[rows].tolist(), strict=True)
        lines = ["a,b,y"] + [f"{r[0]},{r[1]},{t}" for r, t in pairs]
        (tmp_path / f"part{part}.csv").write_text("\n".join(lines) + "\n")
    address = client.scheduler.address
    code = main(["fit", str(tmp_path / "*.csv"), "--target", "y", "--scheduler", address,
                 "--model", str(tmp_path / "m.json"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    from gradreg import load_model

    expected, model = GDRegressor().fit(X, y), load_model(tmp_path / "m.json")
    assert_fit_within_rounding(model.coef_, model.intercept_, X, expected.coef_,
                               expected.intercept_, fits=2)


@pytest.mark.parametrize(("address", "reason"), [
    ("bogus", "no port number"),
    ("tcp://[::1]", "no port number"),
    ("tcp://:8786", "no host"),
    ("tcp://host:x", "port 'x' is not a number in 1-65535"),
    ("tcp://host:99999", "port '99999' is not a number in 1-65535"),
    ("foo://host:8786", "unknown scheme 'foo'"),
])
def test_command_line_scheduler_that_is_no_address(capsys, address, reason):
    """A usage error before any data are read (the file does not exist)."""
    code = main(["fit", "missing.csv", "--target", "y", "--scheduler", address])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"gradreg: error: Invalid value for --scheduler: {address!r} is not the "
                          f"address of a Dask scheduler ({reason}); write it tcp://host:port, "
                          "as the scheduler prints it, e.g. tcp://127.0.0.1:8786.")


def test_command_line_scheduler_and_local_workers_together(capsys):
    code = main(["fit", "missing.csv", "--target", "y", "--scheduler", "tcp://127.0.0.1:8786",
                 "--dask-workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("gradreg: error: --scheduler connects to a running cluster and "
                          "--dask-workers starts a local one: give one of them")


def test_command_line_scheduler_that_does_not_answer(capsys, tmp_path, monkeypatch):
    import socket

    from gradreg import _cli_dask

    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(_cli_dask, "CONNECT_TIMEOUT_S", 0.5)  # the test need not wait 10 s
    (tmp_path / "d.csv").write_text("a,y\n1,2\n2,3\n3,5\n")
    code = main(["fit", str(tmp_path / "d.csv"), "--target", "y", "--quiet", "--scheduler",
                 f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (f"gradreg: error: --scheduler: no Dask scheduler answered at "
                   f"tcp://127.0.0.1:{port} within 0.5 s; check that the scheduler is running "
                   "at that address (it prints it when it starts) and that this machine can "
                   "reach it.\n")


@pytest.mark.parametrize(
    ("make_X", "make_y", "message"),
    [
        (lambda: da.ones(10, chunks=5), lambda: da.ones(10, chunks=5),
         "must be a 2-D dask array or a dask DataFrame"),
        (lambda: da.ones((10, 2), chunks=5), lambda: None, "the target y is None"),
        (lambda: da.ones((10, 2), chunks=5), lambda: da.ones((10, 2), chunks=5),
         r"y must be 1-D \(one target per row\); got shape \(10, 2\)"),
        (lambda: da.from_array(np.array([["a", "b"]] * 10)), lambda: da.ones(10, chunks=5),
         "Input X must be numeric"),
        (lambda: da.ones((10, 2), chunks=5), lambda: da.ones(8, chunks=4),
         "X has 10, y has 8"),
        (lambda: da.ones((10, 0), chunks=5), lambda: da.ones(10, chunks=5),
         "0 feature"),
        (lambda: da.ones((0, 2), chunks=5), lambda: da.ones(0, chunks=5),
         "The Dask data hold no rows"),
    ],
)
def test_bad_dask_input_is_named(make_X, make_y, message):
    with pytest.raises(DataError, match=message):
        GDRegressor().fit(make_X(), make_y())


def test_sample_weight_of_another_length_is_named():
    with pytest.raises(DataError, match=r"sample_weight must be 1-D with 10 values \(one per "
                                        r"row\); got shape \(8,\)"):
        GDRegressor().fit(da.ones((10, 2), chunks=5), da.ones(10, chunks=5),
                          sample_weight=da.ones(8, chunks=4))


def test_the_readme_example_on_small_parquet_files(client, tmp_path, capsys):
    """``dd.read_parquet`` of small files, X a projection of columns and y one column: dask
    fuses the one-column projection's partitions (4 files read as 2 partitions), so its
    lengths must be counted on the optimized frame. Library and command line."""
    import pandas as pd

    X, y = make_regression(5000, 3, seed=6)
    for part in range(4):
        rows = slice(part * 1250, (part + 1) * 1250)
        frame = pd.DataFrame(X[rows], columns=["a", "b", "c"]).assign(y=y[rows])
        frame.to_parquet(tmp_path / f"part{part}.parquet")
    frame = dd.read_parquet(str(tmp_path / "*.parquet"))
    assert frame["y"].optimize().npartitions != frame.npartitions  # the case at hand
    model = GDRegressor().fit(frame[["a", "b", "c"]], frame["y"])
    expected = GDRegressor().fit(X, y)
    assert_fit_within_rounding(model.coef_, model.intercept_, X, expected.coef_,
                               expected.intercept_, fits=2)
    code = main(["fit", str(tmp_path / "*.parquet"), "--target", "y", "--scheduler",
                 client.scheduler.address, "--model", str(tmp_path / "m.json"), "--quiet"])
    assert code == 0, capsys.readouterr().err


def test_predict_and_score_on_dask_collections(client):
    """Predictions of each partition where it lives, equal to those of the same rows in
    memory to the rounding of a (d + 1)-term sum (BLAS sums blocks of other sizes in other
    orders); columns and shapes are checked as in memory."""
    import pandas as pd

    X, y = make_regression(1000, 3, seed=7)
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=3)
    model = GDRegressor().fit(frame, dd.from_pandas(pd.Series(y), npartitions=2))
    expected = model.predict(frame.compute())
    bound = rounding_bound(1, 2, 4) * (np.abs(X) @ np.abs(model.coef_) + abs(model.intercept_))
    assert_within(model.predict(frame), expected, bound)
    blocks = da.from_array(X, chunks=(333, 2))  # uneven rows, columns split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no feature names on an array
        assert_within(model.predict(blocks), model.predict(X), bound)
    residual = y - expected  # R^2 = 1 - |r|^2 / |y - mean|^2; r moves by at most the bound
    moved = 2 * np.sum(np.abs(residual) * bound) / np.sum((y - y.mean()) ** 2)
    assert_within(model.score(frame, dd.from_pandas(pd.Series(y), npartitions=4)),
                  model.score(frame.compute(), y), moved + rounding_bound(1, 4, len(y)))
    with pytest.raises(DataError, match=r"fit: the columns of the Dask DataFrame in another "
                                        r"order; select them in fit's order \(fit saw 'a', 'b', "
                                        r"'c'\)\.$"):
        model.predict(frame[["b", "a", "c"]])
    with pytest.raises(DataError, match=r"fit: 'c' missing from the Dask DataFrame \(fit saw"):
        model.predict(frame[["a", "b"]])
    with pytest.raises(DataError, match="got 1 dimension"):
        model.predict(da.ones(10, chunks=5))
    with pytest.raises(DataError, match="X has 2 features, but GDRegressor is expecting 3"):
        model.predict(da.ones((10, 2), chunks=5))
