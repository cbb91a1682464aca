"""gradreg: linear regression fitted by gradient descent, from the tutorial loop to a cluster."""

from ._version import __version__
from .datasets import load_study_time
from .errors import (
    ConvergenceWarning,
    DataError,
    DataRangeError,
    DataTypeError,
    DivergenceError,
    FitInterrupted,
    GradregError,
    GradregWarning,
    InputFileError,
    InsufficientMemoryError,
    MissingFileError,
    ModelFormatError,
    NotFittedError,
    OutputFileError,
    ParameterError,
)
from .estimator import GDRegressor, load_model
from .guidance import LearningRateLimits, learning_rate_limits
from .sources import scan
from .stats import SufficientStats
from .tutorial import DescentTrace, classic_max_stable_learning_rate, gradient_descent

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DataRangeError",
    "DataTypeError",
    "DescentTrace",
    "DivergenceError",
    "FitInterrupted",
    "GDRegressor",
    "GradregError",
    "GradregWarning",
    "LearningRateLimits",
    "InputFileError",
    "InsufficientMemoryError",
    "MissingFileError",
    "ModelFormatError",
    "NotFittedError",
    "OutputFileError",
    "ParameterError",
    "SufficientStats",
    "__version__",
    "classic_max_stable_learning_rate",
    "gradient_descent",
    "learning_rate_limits",
    "load_model",
    "load_study_time",
    "scan",
]
