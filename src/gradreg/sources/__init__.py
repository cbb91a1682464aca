"""Where the rows come from: arrays, files, Dask. Every source feeds the same training loop.

A source has ``n_features``, ``stats()`` (one pass, :class:`~gradreg.stats.SufficientStats`)
and ``batches(batch_size, rng)`` (an iterator of ``(X, y, weights)``, shuffled when ``rng`` is
given).
"""

from .arrays import ArraySource
from .files import FileSource, scan

__all__ = ["ArraySource", "FileSource", "is_source", "scan"]


def is_source(obj: object) -> bool:
    """Whether ``obj`` is a gradreg source rather than an array."""
    return hasattr(obj, "batches") and hasattr(obj, "stats") and hasattr(obj, "n_features")
