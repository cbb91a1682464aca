"""Where the rows come from: arrays, files, Dask. Every source feeds the same training loop.

A source has ``n_features``, ``stats()`` (one pass, :class:`~gradreg.stats.SufficientStats`)
and ``batches(batch_size, rng)`` (an iterator of ``(X, y, weights)``, shuffled when ``rng`` is
given).
"""

from .arrays import ArraySource
from .files import FileSource, scan

__all__ = ["ArraySource", "FileSource", "given_source", "is_source", "scan"]


def is_source(obj: object) -> bool:
    """Whether ``obj`` is a gradreg source rather than an array."""
    return hasattr(obj, "batches") and hasattr(obj, "stats") and hasattr(obj, "n_features")


def given_source(source, y: object, sample_weight: object):
    """``source`` passed as ``X``: its rows carry the target, so ``y`` and weights must be None.

    Raises
    ------
    DataError
        When ``y`` or ``sample_weight`` is given as well.
    """
    from ..errors import DataError

    if y is not None or sample_weight is not None:
        raise DataError(
            "When X is a data source (from gradreg.scan), the target comes from the source: "
            "pass y=None and no sample_weight."
        )
    return source
