"""Any partition layout gives the in-memory fit of the same rows.

Dask arrays and DataFrames with partitions of any sizes (empty, one row, uneven, unknown until
computed), ``X``, ``y`` and ``sample_weight`` cut at different rows; files of any lengths
(header-only ones included) read in batches that end anywhere; and the command line on a
cluster. Layouts are drawn by hypothesis; the cluster is a real ``distributed.LocalCluster``
on 127.0.0.1, in this process, shared by the module.

Every layout sums the same rows in another order, so two fits differ by at most twice the
rounding bound of a solution from cross-products: ``rounding_bound(condition**2, 10, n)``,
with the condition of the standardized design from its SVD (well below 1e-10 on these data).
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_fit_within_rounding, make_regression
from gradreg import GDRegressor, scan
from gradreg.cli import main

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
distributed = pytest.importorskip("distributed")

EXAMPLES = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEATURES = ["a", "b", "c"]




# Part sizes: empty and one-row parts as likely as larger ones.
part_size = st.one_of(st.sampled_from([0, 1]), st.integers(2, 40))
part_sizes = st.lists(part_size, min_size=1, max_size=7).filter(lambda sizes: sum(sizes) >= 8)


@st.composite
def other_cut(draw, n):
    """Another partition of the same n rows: one part, or cuts anywhere (repeats make empty
    parts)."""
    if draw(st.booleans()):
        return (n,)
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=1, max_size=6)))
    bounds = [0, *cuts, n]
    return tuple(b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True))


def data(n, seed):
    X, y = make_regression(n, len(FEATURES), condition=2.0, seed=seed)
    weights = np.random.default_rng(seed).uniform(0.5, 2.0, n)
    return X, y, weights


def assert_same_fit(model, expected, X, weights=None):
    assert_fit_within_rounding(model.coef_, model.intercept_, X, expected.coef_,
                               expected.intercept_, weights, fits=2)
    assert model.n_features_in_ == len(FEATURES)


def spans(sizes):
    bounds = np.cumsum([0, *sizes])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def parts_of(table, sizes):
    """A dask DataFrame or Series of ``table`` cut into parts of ``sizes`` (lengths unknown to
    dask, as for any frame built from pieces)."""
    return dd.from_map(lambda span: table.iloc[span[0]:span[1]], spans(sizes),
                       meta=table.iloc[:0], enforce_metadata=False)


@EXAMPLES
@given(st.data(), part_sizes, st.booleans())
def test_dask_arrays_cut_anywhere(client, draw, x_sizes, weighted):
    n = sum(x_sizes)
    X, y, weights = data(n, seed=n)
    y_sizes, w_sizes = draw.draw(other_cut(n)), draw.draw(other_cut(n))
    w = weights if weighted else None
    expected = GDRegressor().fit(X, y, sample_weight=w)
    model = GDRegressor().fit(
        da.from_array(X, chunks=(x_sizes, 3)), da.from_array(y, chunks=(y_sizes,)),
        sample_weight=da.from_array(weights, chunks=(w_sizes,)) if weighted else None,
    )
    assert_same_fit(model, expected, X, w)


@settings(EXAMPLES, max_examples=15)
@given(st.data(), part_sizes, st.booleans())
def test_dataframes_and_series_partitioned_differently(client, draw, x_sizes, weighted):
    n = sum(x_sizes)
    X, y, weights = data(n, seed=n + 1)
    y_sizes, w_sizes = draw.draw(other_cut(n)), draw.draw(other_cut(n))
    w = weights if weighted else None
    expected = GDRegressor().fit(X, y, sample_weight=w)
    frame = parts_of(pd.DataFrame(X, columns=FEATURES), x_sizes)
    target = parts_of(pd.Series(y, name="y"), y_sizes)
    model = GDRegressor().fit(
        frame, target, sample_weight=parts_of(pd.Series(weights), w_sizes) if weighted else None
    )
    assert list(model.feature_names_in_) == FEATURES
    assert_same_fit(model, expected, X, w)


@settings(EXAMPLES, max_examples=12)
@given(st.data(), part_sizes)
def test_unknown_partition_lengths(client, draw, x_sizes):
    """A filtered frame and boolean-masked arrays: lengths known only once computed."""
    n = sum(x_sizes)
    X, y, _ = data(n, seed=n + 2)
    keep = draw.draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(
        lambda kept: sum(kept) >= 8))
    keep = np.asarray(keep)
    expected = GDRegressor().fit(X[keep], y[keep])
    table = pd.DataFrame(X, columns=FEATURES).assign(y=y, keep=keep)
    frame = dd.from_pandas(table, npartitions=len(x_sizes))
    kept = frame[frame["keep"]]
    assert_same_fit(GDRegressor().fit(kept[FEATURES], kept["y"]), expected, X[keep])
    y_sizes = draw.draw(other_cut(n))
    masked_X = da.from_array(X, chunks=(x_sizes, 3))[da.from_array(keep, chunks=(x_sizes,))]
    masked_y = da.from_array(y, chunks=(y_sizes,))[da.from_array(keep, chunks=(y_sizes,))]
    assert np.isnan(masked_X.shape[0])
    assert_same_fit(GDRegressor().fit(masked_X, masked_y), expected, X[keep])


def test_the_readme_layout(client):
    """1000 rows in 3 partitions (334, 333, 333): X and y taken from one frame."""
    X, y, _ = data(1000, seed=3)
    frame = dd.from_pandas(pd.DataFrame(X, columns=FEATURES).assign(y=y), npartitions=3)
    model = GDRegressor().fit(frame[FEATURES], frame["y"])
    assert_same_fit(model, GDRegressor().fit(X, y), X)


def write_csv(path, X, y):
    lines = [",".join([*FEATURES, "y"])]
    lines += [",".join(repr(float(v)) for v in [*row, t]) for row, t in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def write_parts(folder, X, y, sizes):
    folder.mkdir()
    for i, (start, stop) in enumerate(spans(sizes)):
        write_csv(folder / f"part{i:02d}.csv", X[start:stop], y[start:stop])
    return folder


@EXAMPLES
@given(part_sizes, st.integers(150, 4000), st.integers(1, 64))
def test_files_of_any_lengths_read_in_any_batches(tmp_path_factory, monkeypatch_module, sizes,
                                                   block_bytes, batch_rows):
    """``scan`` over files of any lengths (header-only ones included), the reader's blocks
    ending anywhere in a file."""
    from gradreg.sources import files

    n = sum(sizes)
    X, y, _ = data(n, seed=n + 4)
    folder = write_parts(tmp_path_factory.mktemp("scan") / "parts", X, y, sizes)
    monkeypatch_module.setattr(files, "_CSV_BLOCK", block_bytes)
    monkeypatch_module.setattr(files, "_PARQUET_BATCH", batch_rows)
    model = GDRegressor().fit(scan(str(folder / "*.csv"), target="y"))
    assert_same_fit(model, GDRegressor().fit(X, y), X)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@settings(EXAMPLES, max_examples=6)
@given(part_sizes)
def test_command_line_on_the_cluster_over_files_of_any_lengths(client, tmp_path_factory, sizes):
    n = sum(sizes)
    X, y, _ = data(n, seed=n + 5)
    folder = write_parts(tmp_path_factory.mktemp("cli") / "parts", X, y, sizes)
    saved = folder.parent / "model.json"
    code = main(["fit", str(folder / "*.csv"), "--target", "y", "--scheduler",
                 client.scheduler.address, "--model", str(saved), "--quiet"])
    assert code == 0
    from gradreg import load_model

    assert_same_fit(load_model(saved), GDRegressor().fit(X, y), X)


def test_command_line_with_its_own_workers(tmp_path, capsys):
    """``--dask-workers 1`` over files of 200, 300 and 250 rows."""
    X, y, _ = data(750, seed=6)
    folder = write_parts(tmp_path / "parts", X, y, [200, 300, 250])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["fit", str(folder / "*.csv"), "--target", "y", "--dask-workers", "1",
                     "--model", str(tmp_path / "m.json"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    from gradreg import load_model

    assert_same_fit(load_model(tmp_path / "m.json"), GDRegressor().fit(X, y), X)
