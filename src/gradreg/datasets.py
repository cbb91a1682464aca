"""The bundled study-time data set: hours studied and test score of 100 students.

The data are synthetic and were made by :func:`make_study_time` with its default seed; the file
shipped in the package is exactly its output (a test checks this). Each student studied between
0.5 and 10 hours (uniform, to a tenth of an hour); the score is ``40 + 5 * hours`` plus normal
noise with a standard deviation of 5 points, clipped to [0, 100] and rounded to a tenth.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["StudyTime", "load_study_time", "make_study_time"]

STUDY_TIME_FILE = "study_time.csv"
_SEED = 20240917
_N_STUDENTS = 100
_TRUE_INTERCEPT = 40.0
_TRUE_SLOPE = 5.0
_NOISE_SD = 5.0


@dataclass(frozen=True)
class StudyTime:
    """Hours studied and test score, as float arrays of equal length."""

    hours: np.ndarray
    score: np.ndarray

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - scikit-learn's name for the feature matrix
        """``hours`` as a one-column matrix, ready for ``GDRegressor.fit``."""
        return self.hours.reshape(-1, 1)


def make_study_time(seed: int = _SEED, n: int = _N_STUDENTS) -> str:
    """Generate the study-time data as CSV text with the header ``hours,score``.

    Examples
    --------
    >>> make_study_time().splitlines()[0]
    'hours,score'
    """
    rng = np.random.default_rng(seed)
    hours = np.round(rng.uniform(0.5, 10.0, size=n), 1)
    score = _TRUE_INTERCEPT + _TRUE_SLOPE * hours + rng.normal(0.0, _NOISE_SD, size=n)
    score = np.round(np.clip(score, 0.0, 100.0), 1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["hours", "score"])
    writer.writerows((f"{h:.1f}", f"{s:.1f}") for h, s in zip(hours, score, strict=True))
    return out.getvalue()


def study_time_path() -> str:
    """Path of the bundled CSV file (for the command line and file-based examples)."""
    return str(resources.files("gradreg") / "data" / STUDY_TIME_FILE)


def load_study_time() -> StudyTime:
    """Load the bundled study-time data.

    Examples
    --------
    >>> data = load_study_time()
    >>> data.hours.shape, data.score.shape
    ((100,), (100,))
    """
    text = (resources.files("gradreg") / "data" / STUDY_TIME_FILE).read_text(encoding="utf-8")
    table = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, dtype=np.float64)
    return StudyTime(hours=table[:, 0].copy(), score=table[:, 1].copy())
