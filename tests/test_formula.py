"""Formulas through formulaic: design names and coefficients as statsmodels' formula API gives
them, in memory, streamed in batches that miss levels, and on Dask; the spec saved and reused."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from conftest import assert_within, fit_rounding_bounds, rounding_bound
from gradreg import GDRegressor, load_model
from gradreg.errors import DataError, ParameterError
from gradreg.formula import DesignSpec, FormulaSyntaxError
from gradreg.sources.frames import FrameSource, streamed_source

smf = pytest.importorskip("statsmodels.formula.api")
grunfeld = pytest.importorskip("statsmodels.datasets.grunfeld")



@pytest.fixture(scope="module")
def firms():
    return grunfeld.load_pandas().data


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({
        "a": rng.normal(2.0, 1.0, n),
        "b": rng.normal(-1.0, 3.0, n),
        "x2": rng.uniform(0.0, 4.0, n),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "kind": rng.choice(["p", "q", "r"], n),
    })
    effect = frame.region.map({"north": 0.0, "south": 1.5, "east": -2.0, "west": 0.7})
    frame["y"] = (1.0 + 2.0 * frame.a - 0.5 * frame.b + 0.3 * frame.a * frame.b
                  + 0.8 * frame.x2**2 + effect + rng.normal(0.0, 0.5, n))
    return frame


def reference(formula: str, frame: pd.DataFrame) -> tuple[pd.Series, float]:
    """Coefficients by name from an SVD least-squares solve of statsmodels' own design, with
    the columns centred and equilibrated (more accurate than the normal equations), and the
    bound a normal-equations solver meets: 10 x p x kappa^2 x eps, kappa the condition number
    of that centred, equilibrated design."""
    fitted = smf.ols(formula, frame).fit()
    exog = pd.DataFrame(fitted.model.exog, columns=fitted.model.exog_names)
    endog = fitted.model.endog
    has_intercept = "Intercept" in exog.columns
    features = exog.drop(columns="Intercept") if has_intercept else exog
    X = features.to_numpy()
    shift = X.mean(axis=0) if has_intercept else np.zeros(X.shape[1])
    centred = X - shift
    scale = np.sqrt((centred**2).sum(axis=0))
    solution, *_ = np.linalg.lstsq(centred / scale, endog - (endog.mean() if has_intercept
                                                             else 0.0), rcond=None)
    coef = solution / scale
    singular = np.linalg.svd(centred / scale, compute_uv=False)
    kappa = singular[0] / singular[-1]
    bound = rounding_bound(kappa**2, 10 * (X.shape[1] + 1))
    return pd.Series(coef, index=features.columns), bound


def relative(actual, expected) -> float:
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


FORMULAS = [
    "invest ~ value + capital + C(firm)",
    "invest ~ value * capital",
    "invest ~ value + I(capital ** 2) + C(firm, Treatment(reference='US Steel'))",
    "invest ~ value + capital + C(firm) - 1",
    "invest ~ 0 + C(firm) + value",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_grunfeld_matches_statsmodels(firms, formula):
    model = GDRegressor(formula=formula).fit(firms)
    expected, bound = reference(formula, firms)
    # The same design columns by name (statsmodels orders terms differently).
    assert sorted(model.feature_names_in_) == sorted(expected.index)
    assert relative(model.coef_, expected[list(model.feature_names_in_)]) <= bound
    assert bound <= 1e-8  # the data: well conditioned enough for the comparison to mean much
    fitted = smf.ols(formula, firms).fit()
    assert model.design_spec_.fit_intercept == ("Intercept" in fitted.params.index)
    # Predictions: the design times the coefficients, within the coefficients' bound applied
    # to the size of each term (statsmodels' own fitted values are less accurate here).
    design = pd.DataFrame(fitted.model.exog, columns=fitted.model.exog_names)
    terms = design[list(model.feature_names_in_)].to_numpy() * model.coef_
    exact = terms.sum(axis=1) + model.intercept_
    size = np.abs(terms).sum(axis=1) + abs(model.intercept_)
    assert np.all(np.abs(model.predict(firms) - exact)
                  <= rounding_bound(1.0, 4, n_terms=terms.shape[1]) * size)


def test_synthetic_interactions_and_powers(synthetic):
    formula = "y ~ a * b + I(x2**2) + C(region) + C(kind)"
    model = GDRegressor(formula=formula).fit(synthetic)
    expected, bound = reference(formula, synthetic)
    assert list(model.feature_names_in_) == [
        "a", "b", "I(x2 ** 2)", "C(region)[T.north]", "C(region)[T.south]",
        "C(region)[T.west]", "C(kind)[T.q]", "C(kind)[T.r]", "a:b",
    ]
    assert relative(model.coef_, expected[list(model.feature_names_in_)]) <= bound


def test_predict_builds_the_same_design_from_reordered_columns(synthetic):
    formula = "y ~ a + C(region)"
    model = GDRegressor(formula=formula).fit(synthetic)
    shuffled = synthetic[["region", "kind", "a"]].iloc[::-1]
    direct = model.predict(synthetic)[::-1]
    np.testing.assert_array_equal(model.predict(shuffled), direct)
    one_level = synthetic[synthetic.region == "east"]
    np.testing.assert_array_equal(model.predict(one_level), model.predict(synthetic)[
        (synthetic.region == "east").to_numpy()])


def test_unseen_level_names_value_column_and_levels(synthetic):
    model = GDRegressor(formula="y ~ a + C(region)").fit(synthetic)
    new = pd.DataFrame({"a": [1.0, 2.0], "region": ["north", "middle"]})
    with pytest.raises(DataError, match=r"Row 2, column 'region': level 'middle' was not seen "
                                        r"in training; known levels: \['east', 'north'"):
        model.predict(new)


def test_missing_value_names_row_and_column(synthetic):
    broken = synthetic.copy()
    broken.loc[7, "b"] = np.nan
    with pytest.raises(DataError, match=r"Row 8, column 'b': missing value"):
        GDRegressor(formula="y ~ a + b").fit(broken)


@pytest.mark.parametrize(
    ("formula", "position"),
    [("y ~ a +* b", 7), ("y ~ a + (b", 9)],
)
def test_syntax_errors_name_the_position(synthetic, formula, position):
    with pytest.raises(FormulaSyntaxError, match=rf"Invalid formula .* at position {position}"):
        GDRegressor(formula=formula).fit(synthetic)


def test_formula_without_target_is_refused(synthetic):
    with pytest.raises(FormulaSyntaxError, match="must name the target on the left of '~'"):
        GDRegressor(formula="a + b").fit(synthetic)


def test_unknown_column_and_target_messages(synthetic):
    with pytest.raises(DataError, match=r"The formula 'y ~ a \+ nope' reads the column\(s\) "
                                        r"'nope', not in the data; its columns are 'a', "):
        GDRegressor(formula="y ~ a + nope").fit(synthetic)
    with pytest.raises(DataError, match="The left side of 'nope ~ a' must be one column"):
        GDRegressor(formula="nope ~ a").fit(synthetic)


def test_prediction_names_every_column_the_formula_reads_that_the_rows_lack(synthetic,
                                                                            tmp_path):
    model = GDRegressor(formula="y ~ a + b + C(region) + x2").fit(synthetic)
    with pytest.raises(DataError) as raised:
        model.predict(synthetic[["a", "kind"]])
    assert str(raised.value) == (
        "The formula 'y ~ a + b + C(region) + x2' reads the column(s) 'b', 'region', 'x2', not "
        "in the data; its columns are 'a', 'kind'.")
    # A column read only inside a transform fitted on the data, by a model read from its file
    # (formulaic does not list such columns among those a formula needs).
    centred = GDRegressor(formula="y ~ a + center(b)").fit(synthetic)
    centred.save(tmp_path / "m.json")
    with pytest.raises(DataError, match=r"^The formula 'y ~ a \+ center\(b\)' reads the "
                                        r"column\(s\) 'b', not in the data; its columns are "
                                        r"'a'\.$"):
        load_model(tmp_path / "m.json").predict(synthetic[["a"]])


def test_formula_and_y_together_are_refused(synthetic):
    with pytest.raises(DataError, match="the target is the formula's left side"):
        GDRegressor(formula="y ~ a").fit(synthetic, synthetic.y)


def test_fit_intercept_false_contradicting_the_formula(synthetic):
    with pytest.raises(DataError, match="fit_intercept=False contradicts the formula"):
        GDRegressor(formula="y ~ a", fit_intercept=False).fit(synthetic)
    model = GDRegressor(formula="y ~ a - 1", fit_intercept=False).fit(synthetic)
    assert model.intercept_ == 0.0


def test_formula_parameter_must_be_a_string():
    with pytest.raises(ParameterError, match="The 'formula' parameter of GDRegressor must be"):
        GDRegressor(formula=3).fit(np.zeros((3, 1)), np.zeros(3))


def test_sample_weight_with_a_formula_is_weighted_least_squares(synthetic):
    weights = np.random.default_rng(1).uniform(0.1, 2.0, len(synthetic))
    formula = "y ~ a + C(kind)"
    model = GDRegressor(formula=formula).fit(synthetic, sample_weight=weights)
    fitted = smf.wls(formula, synthetic, weights=weights).fit()
    _, bound = reference(formula, synthetic)
    expected = fitted.params[list(model.feature_names_in_)]
    # WLS rescales rows by sqrt(w) (ratio of extremes 20): allow that factor on the bound.
    assert relative(model.coef_, expected) <= 20 * bound


def chunks_missing_levels(frame: pd.DataFrame, size: int):
    """Frames sorted by region, so that each chunk holds only one or two of its levels."""
    ordered = frame.sort_values("region", kind="stable").reset_index(drop=True)
    return lambda: (ordered.iloc[i:i + size] for i in range(0, len(ordered), size))


def test_streamed_batches_without_every_level_equal_the_in_memory_fit(synthetic):
    formula = "y ~ a * b + C(region)"
    frames = chunks_missing_levels(synthetic, 37)
    source = streamed_source(formula, frames, ["y", "a", "b", "region"], what="chunks")
    assert isinstance(source, FrameSource)
    assert source.design_spec.levels == {"region": ["east", "north", "south", "west"]}
    streamed = GDRegressor().fit(source)
    in_memory = GDRegressor(formula=formula).fit(synthetic)
    _, bound = reference(formula, synthetic)
    assert list(streamed.feature_names_in_) == list(in_memory.feature_names_in_)
    assert relative(streamed.coef_, in_memory.coef_) <= 2 * bound
    assert streamed.design_spec_ == in_memory.design_spec_


def test_streamed_levels_given_by_the_user_skip_the_first_pass(synthetic):
    passes = []

    def frames():
        passes.append(1)
        return chunks_missing_levels(synthetic, 100)()

    levels = {"region": ["west", "east", "north", "south"]}
    source = streamed_source("y ~ a + C(region)", frames, ["y", "a", "region"], levels=levels)
    assert len(passes) == 1  # only the sample of the first batch
    # Levels given by the user keep their order: the first is the reference.
    assert source.feature_names == ["a", "C(region)[T.east]", "C(region)[T.north]",
                                    "C(region)[T.south]"]


def test_stateful_transforms_are_refused_when_streamed(synthetic):
    frames = chunks_missing_levels(synthetic, 50)
    with pytest.raises(DataError, match=r"uses transforms fitted on the data \(center\(a\)\)"):
        streamed_source("y ~ center(a) + b", frames, ["y", "a", "b"])
    # In memory, the transform is fitted on all rows and reused for prediction.
    model = GDRegressor(formula="y ~ center(a) + b").fit(synthetic)
    plain = GDRegressor(formula="y ~ a + b").fit(synthetic)
    # Two fits of the same column space, each within its certified bound and its rounding:
    # their predictions within those bounds on each row's terms.
    X = synthetic[["a", "b"]].to_numpy()
    coef, offset = fit_rounding_bounds(
        X, plain.coef_, plain.intercept_, fits=2,
        certified=model.coef_error_bound_ + plain.coef_error_bound_)
    assert_within(model.predict(synthetic.iloc[:5]), plain.predict(synthetic.iloc[:5]),
                  np.abs(X[:5]) @ coef + offset)


def test_spec_round_trips_through_plain_data(synthetic):
    spec = DesignSpec.from_frame("y ~ center(a) + C(region) + a:b", synthetic)
    again = DesignSpec.from_dict(spec.to_dict())
    assert again == spec
    np.testing.assert_array_equal(again.design(synthetic)[0], spec.design(synthetic)[0])




def test_dask_frame_equals_in_memory(client, firms):
    dd = pytest.importorskip("dask.dataframe")
    formula = "invest ~ value + capital + C(firm)"
    ordered = firms.sort_values("firm").reset_index(drop=True)
    frame = dd.from_pandas(ordered, npartitions=2)
    distributed_fit = GDRegressor(formula=formula).fit(frame)
    in_memory = GDRegressor(formula=formula).fit(firms)
    _, bound = reference(formula, firms)
    assert list(distributed_fit.feature_names_in_) == list(in_memory.feature_names_in_)
    assert relative(distributed_fit.coef_, in_memory.coef_) <= 2 * bound


def test_scan_with_a_formula_over_files_missing_levels(tmp_path, firms):
    from gradreg import scan

    formula = "invest ~ value + capital + C(firm)"
    ordered = firms.sort_values("firm").reset_index(drop=True)
    parts = [ordered.iloc[:70], ordered.iloc[70:150], ordered.iloc[150:]]
    paths = []
    for i, part in enumerate(parts):
        path = tmp_path / (f"part{i}.parquet" if i == 1 else f"part{i}.csv")
        part.to_parquet(path) if i == 1 else part.to_csv(path, index=False)
        paths.append(path)
    source = scan(paths, formula=formula)
    assert source.design_spec.levels["firm"] == sorted(firms.firm.unique())
    streamed = GDRegressor().fit(source)
    in_memory = GDRegressor(formula=formula).fit(firms)
    _, bound = reference(formula, firms)
    assert list(streamed.feature_names_in_) == list(in_memory.feature_names_in_)
    # Two fits, each within twice the bound of the optimum (its rounding, then its stopping
    # at a hundredth of tol, far inside it here).
    assert relative(streamed.coef_, in_memory.coef_) <= 4 * bound
    # Prediction on new files builds the same design without the target column.
    new = tmp_path / "new.csv"
    firms.drop(columns="invest").iloc[::-1].to_csv(new, index=False)
    from gradreg.sources.frames import spec_source

    features_only = spec_source(new, streamed.design_spec_)
    np.testing.assert_allclose(streamed.predict(features_only),
                               streamed.predict(firms.iloc[::-1]), rtol=0, atol=0)


def test_scan_formula_argument_rules(tmp_path, firms):
    from gradreg import scan

    path = tmp_path / "f.csv"
    firms.to_csv(path, index=False)
    with pytest.raises(DataError, match="Give either a formula or target/features to scan"):
        scan(path, target="invest", formula="invest ~ value")
    with pytest.raises(DataError, match="weights= and levels= of scan need formula="):
        scan(path, target="invest", weights="value")
    with pytest.raises(DataError, match="scan needs target="):
        scan(path)
    with pytest.raises(DataError, match="Weight column 'w' is not in"):
        scan(path, formula="invest ~ value", weights="w")
    weighted = GDRegressor().fit(scan(path, formula="invest ~ value", weights="capital"))
    direct = GDRegressor(formula="invest ~ value").fit(firms, sample_weight=firms.capital)
    # Both solve the same weighted problem; rounding differs by the summation order only:
    # 10 x p x kappa^2 x eps, kappa that of the centred, sqrt(w)-scaled design.
    root = np.sqrt(firms.capital.to_numpy() / firms.capital.sum())
    centred = firms.value.to_numpy() - np.average(firms.value, weights=firms.capital)
    design = np.c_[centred * root, root]
    singular = np.linalg.svd(design / np.linalg.norm(design, axis=0), compute_uv=False)
    bound = rounding_bound((singular[0] / singular[-1]) ** 2, 10 * 2)
    assert relative(weighted.coef_, direct.coef_) <= bound


def test_scan_formula_reads_every_dialect_option(tmp_path, firms):
    """A semicolon file with decimal commas, no header, gzip-compressed, through a formula."""
    import gzip

    from gradreg import scan

    part = firms.sort_values("firm").iloc[:120]
    lines = [";".join([f"{v:.6f}".replace(".", ",") for v in (row.invest, row.value,
                                                                row.capital)] + [row.firm])
             for row in part.itertuples()]
    path = tmp_path / "firms.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    source = scan(path, formula="`1` ~ `2` + `3` + C(`4`)", decimal=",", header=None)
    model = GDRegressor().fit(source)
    plain = part.assign(invest=part.invest.round(6), value=part.value.round(6),
                        capital=part.capital.round(6))
    expected = GDRegressor(formula="invest ~ value + capital + C(firm)").fit(plain)
    _, bound = reference("invest ~ value + capital + C(firm)", plain)
    renamed = {"2": "value", "3": "capital"}
    names = [renamed.get(name, name.replace("C(`4`)", "C(firm)"))
             for name in model.feature_names_in_]
    assert names == list(expected.feature_names_in_)
    assert relative(model.coef_, expected.coef_) <= 4 * bound


def test_scan_formula_reads_codes_as_levels_in_every_file(tmp_path):
    """A categorical column of digits in one file and letters in another is text in both."""
    from gradreg import scan

    rng = np.random.default_rng(5)
    first = pd.DataFrame({"x": rng.normal(size=30), "g": rng.choice(["1", "2"], 30)})
    second = pd.DataFrame({"x": rng.normal(size=30), "g": rng.choice(["a", "2"], 30)})
    for frame, name in ((first, "a.csv"), (second, "b.csv")):
        frame["y"] = frame.x + (frame.g == "2") + rng.normal(size=30) * 0.1
        frame.to_csv(tmp_path / name, index=False)
    source = scan([tmp_path / "a.csv", tmp_path / "b.csv"], formula="y ~ x + C(g)")
    assert source.design_spec.levels == {"g": ["1", "2", "a"]}
    assert GDRegressor().fit(source).n_features_in_ == 3


# ---------------------------------------------------------------------------------------------
# The command line: --formula, --categorical, --exclude, --weights, --levels
# ---------------------------------------------------------------------------------------------


def run_cli(capsys, *args):
    from gradreg.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    # Tables wrap at the terminal's width: compare words, not line breaks.
    return code, " ".join(captured.out.split()), captured.err


@pytest.fixture
def firm_csv(tmp_path, firms):
    path = tmp_path / "grunfeld.csv"
    firms.to_csv(path, index=False)
    return path


def test_cli_formula_fit_summary_model_and_predict(tmp_path, capsys, firm_csv, firms):
    from gradreg import load_model

    formula = "invest ~ value + capital + C(firm)"
    model_path = tmp_path / "m.json"
    code, out, err = run_cli(capsys, "fit", firm_csv, "--formula", formula, "--summary",
                             "--model", model_path, "--quiet")
    assert code == 0, err
    assert "OLS regression results, fitted by gradient descent: invest ~ value" in out
    assert "C(firm)[T.IBM]" in out
    saved = load_model(model_path)
    direct = GDRegressor(formula=formula).fit(firms)
    _, bound = reference(formula, firms)
    assert list(saved.feature_names_in_) == list(direct.feature_names_in_)
    assert relative(saved.coef_, direct.coef_) <= 2 * bound
    # The table again from the model file alone, and predictions on new rows by name.
    code, out, err = run_cli(capsys, "summary", model_path)
    assert code == 0 and "invest ~ value + capital + C(firm)" in out
    new = tmp_path / "new.csv"
    firms[["firm", "capital", "value"]].iloc[:5].to_csv(new, index=False)
    code, out, err = run_cli(capsys, "predict", model_path, new)
    assert code == 0, err
    predicted = np.array([float(v) for v in out.split()[1:]])  # after the "prediction" header
    np.testing.assert_array_equal(predicted, saved.predict(firms.iloc[:5]))
    # Robust standard errors read the training rows again through the saved design.
    code, out, err = run_cli(capsys, "summary", model_path, firm_csv, "--cov-type", "HC1")
    assert code == 0, err
    assert "HC1" in out


def test_cli_categorical_exclude_and_weights_write_the_formula(capsys, firm_csv, firms):
    code, out, _ = run_cli(capsys, "fit", firm_csv, "--target", "invest", "--categorical",
                           "firm", "--exclude", "year", "--quiet")
    assert code == 0 and "invest ~ value + capital + C(firm)" in out
    code, out, err = run_cli(capsys, "fit", firm_csv, "--target", "invest", "--exclude",
                             "firm,year", "--weights", "capital", "--quiet")
    assert code == 0, err
    assert "invest ~ value" in out and "C(firm)" not in out
    code, out, err = run_cli(capsys, "fit", firm_csv, "--target", "invest", "--exclude",
                             "firm,year", "--quiet")
    assert code == 0 and "invest ~ value + capital" in out


def test_cli_levels_choose_the_reference(capsys, firm_csv, firms):
    levels = ["US Steel", *sorted(set(firms.firm) - {"US Steel"})]
    code, out, err = run_cli(capsys, "fit", firm_csv, "--formula",
                             "invest ~ value + C(firm)", "--levels",
                             "firm=" + ",".join(levels), "--quiet")
    assert code == 0, err
    assert "C(firm)[T.General Motors]" in out and "C(firm)[T.US Steel]" not in out


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--formula", "invest ~ value", "--target", "invest"], 2,
     "--formula names the target and the terms"),
    (["--formula", "invest ~ value +* capital"], 2, "at position 16"),
    (["--formula", "invest ~ value", "--levels", "firm"], 2, "write COL=A,B,..."),
    (["--target", "invest", "--exclude", "nope"], 2,
     r"--exclude: column\(s\) 'nope' are not features of the data; they are 'value', "),
    (["--target", "invest", "--categorical", "nope"], 2,
     r"column\(s\) 'nope' are not in '.*grunfeld\.csv'; its columns are 'invest', "),
    (["--target", "invest", "--levels", "firm=a,b"], 2, "--levels applies to --formula"),
    ([], 2, "Missing option '--target'"),
    (["--formula", "invest ~ center(value)"], 1, "uses transforms fitted on the data"),
])
def test_cli_formula_errors_are_one_line(capsys, firm_csv, args, code, message):
    got, _, err = run_cli(capsys, "fit", firm_csv, *args, "--quiet")
    assert got == code
    assert err.count("gradreg: error:") == 1 and "Traceback" not in err
    assert re.search(message, err), err


def test_cli_predict_names_an_unseen_level(tmp_path, capsys, firm_csv):
    model_path = tmp_path / "m.json"
    run_cli(capsys, "fit", firm_csv, "--formula", "invest ~ value + C(firm)", "--model",
            model_path, "--quiet")
    new = tmp_path / "new.csv"
    new.write_text("value,firm\n1.0,Acme\n")
    code, _, err = run_cli(capsys, "predict", model_path, new)
    assert code == 1
    assert "column 'firm': level 'Acme' was not seen in training" in err


def test_cli_formula_on_a_dask_cluster(tmp_path, capsys, client, firms):
    formula = "invest ~ value + capital + C(firm)"
    ordered = firms.sort_values("firm")
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    ordered.iloc[:100].to_csv(paths[0], index=False)
    ordered.iloc[100:].to_csv(paths[1], index=False)
    model_path = tmp_path / "m.json"
    code, out, err = run_cli(capsys, "fit", *paths, "--formula", formula, "--scheduler",
                             client.scheduler.address, "--model", model_path, "--quiet")
    assert code == 0, err
    from gradreg import load_model

    on_cluster = load_model(model_path)
    in_memory = GDRegressor(formula=formula).fit(firms)
    _, bound = reference(formula, firms)
    assert list(on_cluster.feature_names_in_) == list(in_memory.feature_names_in_)
    assert relative(on_cluster.coef_, in_memory.coef_) <= 4 * bound
