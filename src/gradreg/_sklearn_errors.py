"""The two classes of :mod:`gradreg.errors` that derive from scikit-learn's.

They live apart so that importing :mod:`gradreg.errors` does not import scikit-learn (about two
seconds, most of the ``gradreg`` command's start-up before this split). :mod:`gradreg.errors`
imports this module the first time one of the two names is asked for, and both then belong to
it: their ``__module__`` is ``gradreg.errors``, where pickle, ``repr`` and the documentation
find them.
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from .errors import GradregError

__all__ = ["ConvergenceWarning", "NotFittedError"]


class NotFittedError(GradregError, _SklearnNotFittedError):
    """A method that needs a fitted model was called before ``fit``.

    Also scikit-learn's ``NotFittedError``, as its ``check_is_fitted`` contract asks.
    """

    __module__ = "gradreg.errors"


class ConvergenceWarning(_SklearnConvergenceWarning):
    """The fit stopped before it reached the requested tolerance."""

    __module__ = "gradreg.errors"
