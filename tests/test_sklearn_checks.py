"""scikit-learn's own estimator checks, for representative settings."""

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from gradreg import GDRegressor

ESTIMATORS = [
    GDRegressor(),
    GDRegressor(solver="gd", optimizer="plain", max_iter=5000),
    GDRegressor(solver="sgd", optimizer="adam", random_state=0, max_iter=50),
    GDRegressor(penalty="l1", alpha=0.01),
    GDRegressor(penalty="elasticnet", alpha=0.01, l1_ratio=0.5),
]


# No check is skipped or expected to fail. (The array-API check skips itself unless the
# SCIPY_ARRAY_API environment variable is set; gradreg works on numpy arrays.)
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # Convergence warnings of the short SGD runs are expected and not what is checked.
        warnings.simplefilter("ignore")
        check(estimator)
