"""How values and names appear inside messages: as a user would type them, one line.

``repr`` of a numpy scalar is ``np.float64(nan)`` (numpy 2); messages show the Python value it
holds (``nan``, ``-1.0``), as scikit-learn's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["LIKELY_DELIMITERS", "delimiter_hint", "listing", "shown"]

# Names shown in a message about columns; more are counted, not listed.
_SHOWN_NAMES = 10


def shown(value: Any) -> str:
    """``repr(value)``, numpy scalars and arrays as the Python values they hold.

    >>> import numpy as np
    >>> shown(np.float64("nan")), shown(np.int64(3)), shown(np.array([0.5, 2.0])), shown("a")
    ('nan', '3', '[0.5, 2.0]', "'a'")
    """
    if isinstance(value, list | tuple):
        value = type(value)(_plain(v) for v in value)
    return repr(_plain(value))


def _plain(value: Any) -> Any:
    # Without importing numpy: the command line's usage errors import none of it.
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def listing(names: Sequence[Any]) -> str:
    """``'a', 'b', 'c'``: names as a message shows them, at most ten and the count of the rest."""
    shown_names = ", ".join(repr(str(n)) for n in names[:_SHOWN_NAMES])
    rest = len(names) - _SHOWN_NAMES
    return shown_names if rest <= 0 else f"{shown_names} and {rest} more"


# The field delimiters a CSV header is sniffed for (and a column name holding one suggests).
LIKELY_DELIMITERS = (",", ";", "\t", "|")


def delimiter_hint(names: Sequence[Any], delimiter: str | None = None) -> str:
    """A sentence for a message about missing columns: when a column name holds a likely
    delimiter other than ``delimiter`` (the one the file was read with), the file was
    probably read with the wrong one. Empty otherwise.

    >>> "pass delimiter=','" in delimiter_hint(["a,b,c,y"], ";"), delimiter_hint(["a,b"], ",")
    (True, '')
    """
    for name in map(str, names):
        found = [d for d in LIKELY_DELIMITERS if d != delimiter and d in name]
        if found:
            likely = max(found, key=name.count)
            return (f" The column name {name!r} holds {likely!r}: if that separates the "
                    f"fields, pass delimiter={likely!r} to read them.")
    return ""
