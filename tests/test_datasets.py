"""The bundled data are exactly what the documented generator makes."""

from importlib import resources

import numpy as np

from gradreg.datasets import load_study_time, make_study_time


def test_bundled_file_is_the_generator_output():
    shipped = (resources.files("gradreg") / "data" / "study_time.csv").read_text()
    assert shipped == make_study_time()


def test_data_are_plausible():
    data = load_study_time()
    assert data.hours.min() >= 0.5 and data.hours.max() <= 10.0
    assert data.score.min() >= 0 and data.score.max() <= 100
    slope, intercept = np.polyfit(data.hours, data.score, 1)
    assert 4 < slope < 6 and 35 < intercept < 45
