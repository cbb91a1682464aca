"""The interactive page: its frames, its file, and what a real browser shows of it."""

import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from PIL import Image

from gradreg import ConvergenceWarning, DataError, gradient_descent, load_study_time
from gradreg.cli import main
from gradreg.datasets import study_time_path
from gradreg.explore import FRACTIONS, explorer_frames, write_explorer

EPOCHS = 40


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
        # Frames are stored to 7 significant digits.
        np.testing.assert_allclose(m[:EPOCHS], trace.m, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(b[:EPOCHS], trace.b, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(cost[:EPOCHS], trace.cost, rtol=1e-6)
        np.testing.assert_allclose([m[-1], b[-1]], [trace.final_m, trace.final_b], rtol=1e-6)
    slope, intercept = np.polyfit(data.hours, data.score, 1)
    assert frames["optimum"]["m"] == pytest.approx(slope, rel=1e-10)
    assert frames["optimum"]["b"] == pytest.approx(intercept, rel=1e-10)


def test_default_epochs_reach_the_line_at_one_over_l(data):
    frames = explorer_frames(data.hours, data.score)
    i = FRACTIONS.index(0.5)
    slope, intercept = np.polyfit(data.hours, data.score, 1)
    distance = np.hypot(frames["m"][i][-1] - slope, frames["b"][i][-1] - intercept)
    assert distance <= 1e-4 * np.hypot(slope, intercept) * (1 + 1e-6)


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
    assert float(shown("rate-value").split()[0]) == pytest.approx(frames["rates"][rate],
                                                                   rel=1e-5)
    for name, key in (("m-value", "m"), ("b-value", "b"), ("cost-value", "cost")):
        assert float(shown(name)) == pytest.approx(frames[key][rate][epoch], rel=1e-5)
    assert float(shown("limit")) == pytest.approx(frames["limit"], rel=1e-5)

    screenshot = tmp_path / "page.png"
    chromium(tmp_path, "--window-size=1400,900", f"--screenshot={screenshot}", address)
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
    assert pixels.std() > 10  # not blank
    plots = pixels[200:650]  # the band of the three plots
    assert plots.std() > 10 and colours > 100
