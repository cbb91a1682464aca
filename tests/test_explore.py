"""The interactive page: its frames, its file, and what a real browser shows of it."""

import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import (
    assert_fit_within_rounding,
    assert_within,
    classic_descent_bound,
    fit_rounding_bounds,
)
from gradreg import ConvergenceWarning, DataError, gradient_descent, load_study_time
from gradreg.cli import main
from gradreg.datasets import study_time_path
from gradreg.explore import FRACTIONS, explorer_frames, write_explorer

EPOCHS = 40
# Numbers stored or shown to k significant digits are within half a unit of the k-th digit.
STORED = 0.5e-6  # the frames' 7 digits
SHOWN = 0.5e-5  # the page's and the messages' 6 digits


@pytest.fixture(scope="module")
def data():
    return load_study_time()


@pytest.fixture(scope="module")
def page(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "explore.html"
    frames = write_explorer(data.hours, data.score, path, xlabel="hours studied",
                            ylabel="test score", epochs=EPOCHS)
    return path, frames


def test_frames_are_the_tutorial_descent_at_each_rate(data):
    frames = explorer_frames(data.hours, data.score, epochs=EPOCHS)
    limit = frames["limit"]
    assert frames["fractions"] == list(FRACTIONS) and any(f > 1 for f in FRACTIONS)
    for fraction, m, b, cost in zip(FRACTIONS, frames["m"], frames["b"], frames["cost"],
                                    strict=True):
        if fraction >= 1:
            with pytest.raises(Exception, match="2/L"):
                gradient_descent(data.hours, data.score, fraction * limit, EPOCHS)
            assert cost[-1] > cost[0]  # the page shows the divergence the function refuses
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            trace = gradient_descent(data.hours, data.score, fraction * limit, EPOCHS,
                                     trace=True)
        # Another code of the same loop (within its rounding), stored to 7 digits.
        line, bound = classic_descent_bound(data.hours, data.score, fraction * limit, EPOCHS)
        assert_within(m[:EPOCHS], trace.m, STORED * np.abs(trace.m) + line)
        assert_within(b[:EPOCHS], trace.b, STORED * np.abs(trace.b) + line)
        assert_within(cost[:EPOCHS], trace.cost, STORED * np.abs(trace.cost) + bound)
        final = np.array([trace.final_m, trace.final_b])
        assert_within([m[-1], b[-1]], final, STORED * np.abs(final) + line)
    # The optimum from centred sums, against the line from an SVD.
    slope, intercept = exact_line(data.hours, data.score)
    assert_fit_within_rounding([frames["optimum"]["m"]], frames["optimum"]["b"],
                               np.c_[data.hours], [slope], intercept)


def exact_line(x, y):
    (slope, intercept), *_ = np.linalg.lstsq(np.c_[x, np.ones_like(x)], y, rcond=None)
    return slope, intercept


def test_default_epochs_reach_the_line_at_one_over_l(data):
    frames = explorer_frames(data.hours, data.score)
    i = FRACTIONS.index(0.5)
    slope, intercept = exact_line(data.hours, data.score)
    last = np.array([frames["m"][i][-1], frames["b"][i][-1]])
    distance = np.hypot(*(last - [slope, intercept]))
    # Not rounding: 1e-4 (relative) is the page's target for its default epoch count; then
    # the 7-digit storage, and the page's optimum (centred sums) against the SVD's line.
    (coef,), offset = fit_rounding_bounds(np.c_[data.hours], [slope], intercept)
    slack = STORED * np.hypot(*last) + np.hypot(coef, offset)
    assert distance <= 1e-4 * np.hypot(slope, intercept) + slack


def test_frames_refuse_data_without_a_slope():
    with pytest.raises(DataError, match="x is constant"):
        explorer_frames([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])


def test_the_page_is_one_self_contained_file(page):
    path, _ = page
    text = path.read_text()
    assert path.stat().st_size < 6_000_000  # plotly.js itself is most of it
    assert not re.search(r"<script[^>]+src=", text)  # nothing fetched: works offline
    assert "Plotly.newPlot" in text and 'id="rate"' in text and 'id="epoch"' in text


def test_explore_command_writes_the_page(capsys, tmp_path):
    out = tmp_path / "explore.html"
    code = main(["explore", study_time_path(), "--target", "score", "--out", str(out),
                 "--epochs", "20"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"interactive page written to {out}" in err and "2/L = 0.0297266" in err
    assert out.stat().st_size > 1_000_000


def test_explore_command_needs_one_feature(capsys, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("a,b,y\n1,2,3\n2,3,5\n3,5,7\n")
    code = main(["explore", str(path), "--target", "y", "--out", str(tmp_path / "p.html")])
    assert code == 2
    assert "needs exactly one feature; the data have 2 (a, b)" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# In a real browser: headless Chromium (Debian's package; `make browser` installs it)
# ---------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")
browser = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (run `make browser`)"
)


def chromium(tmp_path, *args):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
               "--virtual-time-budget=10000", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@browser
def test_the_page_in_headless_chromium(page, tmp_path):
    path, frames = page
    rate, epoch = FRACTIONS.index(1.02), 25
    address = f"{path.as_uri()}#rate={rate}&epoch={epoch}"
    dom = chromium(tmp_path, "--dump-dom", address)
    assert 'data-ready="1"' in dom and "main-svg" in dom  # the script ran, plotly drew

    def shown(name):
        return re.search(rf'id="{name}"[^>]*>([^<]*)<', dom).group(1)

    assert shown("epoch-value") == str(epoch)
    assert "1.02 × 2/L" in shown("rate-value") and "diverges" in shown("rate-value")
    rate_value = frames["rates"][rate]
    assert_within(float(shown("rate-value").split()[0]), rate_value, SHOWN * rate_value)
    for name, key in (("m-value", "m"), ("b-value", "b"), ("cost-value", "cost")):
        value = frames[key][rate][epoch]
        assert_within(float(shown(name)), value, SHOWN * abs(value))
    assert_within(float(shown("limit")), frames["limit"], SHOWN * frames["limit"])

    screenshot = tmp_path / "page.png"
    chromium(tmp_path, "--window-size=1400,900", f"--screenshot={screenshot}", address)
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
    assert pixels.std() > 10  # not blank
    plots = pixels[200:650]  # the band of the three plots
    assert plots.std() > 10 and colours > 100
