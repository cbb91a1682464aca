"""Every plot renders to a valid image with the expected artists (not pixels)."""

import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import make_regression
from gradreg import GDRegressor, load_study_time, plotting


@pytest.fixture(scope="module")
def data():
    return load_study_time()


def check_image(path, min_width=400):
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] >= min_width and image.size[1] >= 200
        return image.n_frames if hasattr(image, "n_frames") else 1


def test_line_plot(data, tmp_path):
    figure = plotting.plot_fit(GDRegressor().fit(data.X, data.score), data.X, data.score)
    axes = figure.axes[0]
    assert len(axes.collections) == 1 and len(axes.lines) == 1
    assert axes.get_legend() is not None
    plotting.save_figure(figure, tmp_path / "line.png")
    check_image(tmp_path / "line.png")


def test_predicted_against_actual_for_several_features(tmp_path):
    X, y = make_regression(100, 3, seed=1)
    figure = plotting.plot_fit(GDRegressor().fit(X, y), X, y)
    assert "predicted" in figure.axes[0].get_ylabel()
    plotting.save_figure(figure, tmp_path / "pred.svg")
    assert (tmp_path / "pred.svg").read_text().startswith("<?xml")


def test_cost_plot_has_the_optimum_and_the_tolerance(data, tmp_path):
    model = GDRegressor(solver="gd", optimizer="plain", standardize=False, max_iter=20_000)
    figure = plotting.plot_cost(model.fit(data.X, data.score))
    left, right = figure.axes
    assert left.get_yscale() == "log" and right.get_yscale() == "log"
    assert left.lines[1].get_ydata()[0] == pytest.approx(model.optimal_loss_)
    plotting.save_figure(figure, tmp_path / "cost.png")
    check_image(tmp_path / "cost.png")


def test_path_plot_marks_start_end_and_optimum(data, tmp_path):
    figure = plotting.plot_path(data.X, data.score, epochs=100)
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert "start" in labels and "optimum" in labels and any("after" in x for x in labels)
    start = figure.axes[0].lines[1].get_xydata()[0]
    np.testing.assert_array_equal(start, [0.0, 0.0])
    plotting.save_figure(figure, tmp_path / "path.png")
    check_image(tmp_path / "path.png")


def test_path_plot_for_two_of_several_coefficients(tmp_path):
    X, y = make_regression(100, 3, seed=2)
    figure = plotting.plot_path(X, y, coefficients=(0, 2), epochs=50)
    assert figure.axes[0].get_ylabel() == "coefficient 2"


def test_rates_plot_includes_a_divergent_rate(data, tmp_path):
    figure = plotting.plot_rates(data.X, data.score)
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert sum("diverges" in label for label in labels) == 1
    assert "2/L" in figure.axes[0].get_title(loc="left")
    plotting.save_figure(figure, tmp_path / "rates.png")
    check_image(tmp_path / "rates.png")


def test_animation_is_a_gif_with_frames(data, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = plotting.save_animation(data.X, data.score, tmp_path / "fit.gif", frames=12,
                                         epochs=100)
    assert frames >= 5
    assert check_image(tmp_path / "fit.gif") == frames
    assert [p.name for p in tmp_path.iterdir()] == ["fit.gif"]
