"""gradreg: linear regression fitted by gradient descent, from the tutorial loop to a cluster.

The names below are imported the first time they are used (PEP 562), so that ``import
gradreg.cli`` costs only what a command needs: ``gradreg --help`` imports neither
scikit-learn, SciPy, Numba nor matplotlib. ``from gradreg import GDRegressor`` works as
usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._version import __version__
    from .datasets import load_study_time
    from .errors import (
        ClusterConnectionError,
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

# Each public name and the module that defines it.
_ORIGINS = {
    "ClusterConnectionError": "errors",
    "ConvergenceWarning": "errors",
    "DataError": "errors",
    "DataRangeError": "errors",
    "DataTypeError": "errors",
    "DescentTrace": "tutorial",
    "DivergenceError": "errors",
    "FitInterrupted": "errors",
    "GDRegressor": "estimator",
    "GradregError": "errors",
    "GradregWarning": "errors",
    "LearningRateLimits": "guidance",
    "InputFileError": "errors",
    "InsufficientMemoryError": "errors",
    "MissingFileError": "errors",
    "ModelFormatError": "errors",
    "NotFittedError": "errors",
    "OutputFileError": "errors",
    "ParameterError": "errors",
    "SufficientStats": "stats",
    "__version__": "_version",
    "classic_max_stable_learning_rate": "tutorial",
    "gradient_descent": "tutorial",
    "learning_rate_limits": "guidance",
    "load_model": "estimator",
    "load_study_time": "datasets",
    "scan": "sources",
}

__all__ = [
    "ClusterConnectionError",
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


def __getattr__(name: str):
    # PEP 562: called only for names not yet in the package's namespace.
    origin = _ORIGINS.get(name)
    if origin is not None:
        value = getattr(importlib.import_module(f".{origin}", __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):
        # A submodule (gradreg.plotting) was an attribute after a plain ``import gradreg`` when
        # the package imported everything eagerly; it still is.
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
