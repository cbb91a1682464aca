"""The names the estimator and the ``gradreg`` command accept for their choice parameters.

Kept in a module that imports nothing, so that the command's options (``--solver [auto|gd|
sgd|cg]``) are built without importing the solvers, the optimizers or the inference: its help
and its usage errors need none of them. :data:`SOLVER_NAMES` and :data:`OPTIMIZER_NAMES` are
the keys of the registries :data:`gradreg.solvers.SOLVERS` and
:data:`gradreg.optim.OPTIMIZERS`, in their order (a test keeps them equal).
"""

from __future__ import annotations

__all__ = ["COV_TYPES", "OPTIMIZER_NAMES", "PENALTIES", "SCHEDULES", "SOLVER_NAMES"]

SOLVER_NAMES = ("gd", "sgd", "cg")
OPTIMIZER_NAMES = ("plain", "momentum", "nesterov", "adam", "adagrad")
SCHEDULES = ("auto", "constant", "invscaling", "exponential", "step", "cosine")
PENALTIES = (None, "l2", "l1", "elasticnet")
COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")
