"""Model formulas (``y ~ x1 + C(region) + I(x2**2)``) through formulaic, in memory and streamed.

A :class:`DesignSpec` fixes everything a formula needs to build the same design matrix from any
rows: the formula, the levels of each categorical variable (sorted, as patsy, formulaic and R
order them), the design's column names and whether it has an intercept. Levels come from the
data the spec is made from, or from the user (needed for data streamed in batches, whose first
batch rarely holds every level: :func:`levels_of_batches` finds them in a first pass over the
categorical columns only). Each batch is then turned into design rows by formulaic with those
levels fixed, so every batch, file and Dask partition yields the same columns.

Coding follows formulaic (and patsy): ``C(col)`` is treatment coding with the first level as the
reference when the model has an intercept, ``C(col, Treatment(reference="b"))`` picks another,
and without an intercept the first categorical term gets one column per level. gradreg fits the
intercept itself, so formulaic's ``Intercept`` column sets ``fit_intercept`` and is not a feature.

Transforms whose parameters come from the data (``center``, ``scale``, ``poly``, splines) are
fitted on the data the spec is made from; for data streamed in batches they are refused, since
each batch would give them other parameters.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._messages import delimiter_hint, listing
from .errors import DataError, DataTypeError, ParameterError

__all__ = ["DesignSpec", "FormulaSyntaxError", "formula_target", "levels_of_batches",
           "variables_of"]

_INTERCEPT = "Intercept"
# Identifiers in a formula: backtick-quoted names or Python-style names (Unicode letters
# included, as Python and formulaic allow them: ``größe``).
_NAME = re.compile(r"`([^`]+)`|([^\W\d][\w.]*)")
# formulaic marks the offending token of a syntax error with these two characters.
_MARK_START, _MARK_END = "\u29db", "\u29da"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FormulaSyntaxError(ParameterError):
    """A formula that formulaic cannot parse; the message names the position."""


def _import_formulaic():
    try:
        import formulaic
    except ImportError as missing:  # pragma: no cover - formulaic is a dependency
        raise ParameterError(
            "Formulas need the formulaic package: pip install formulaic."
        ) from missing
    return formulaic


def _frame(data: Any):
    """A pandas DataFrame of ``data`` (pandas, polars, pyarrow or anything narwhals reads)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    raise DataTypeError(
        "A formula needs its data as a DataFrame (pandas, polars or a pyarrow Table); got "
        f"{type(data).__name__}."
    )


def _parse(formula: str):
    """formulaic's parsed formula, with a syntax error turned into one line naming the place."""
    formulaic = _import_formulaic()
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaSyntaxError(
            f"A formula must name the target on the left of '~', as in 'y ~ x1 + x2'. Got "
            f"{formula!r}."
        )
    try:
        parsed = formulaic.Formula(formula)
    except formulaic.errors.FormulaParsingError as error:
        if "`.` operator" in str(error):
            raise FormulaSyntaxError(
                f"Invalid formula {formula!r}: '.' (all other columns) is not supported; name "
                "the columns on the right of '~', as in 'y ~ x1 + x2'."
            ) from None
        raise FormulaSyntaxError(_syntax_message(formula, error)) from None
    if not hasattr(parsed, "lhs"):  # '~ x': formulaic reads it as a right side only
        raise FormulaSyntaxError(
            f"A formula must name the target on the left of '~', as in 'y ~ x1 + x2'. Got "
            f"{formula!r}."
        )
    return parsed.lhs, parsed.rhs


def _syntax_message(formula: str, error: Exception) -> str:
    text = _ANSI.sub("", str(error))
    reason = text.split("\n", 1)[0].rstrip(".")
    marked = next((line for line in text.splitlines() if _MARK_START in line), None)
    if marked is None:
        return f"Invalid formula {formula!r}: {reason}."
    position = marked.index(_MARK_START)
    token = marked[position + 1 : marked.index(_MARK_END)] if _MARK_END in marked else ""
    return (
        f"Invalid formula {formula!r} at position {position + 1} ({token!r}): {reason}."
    )


def variables_of(formula: str, columns: Iterable[str]) -> list[str]:
    """The columns a formula refers to, in the order of ``columns``."""
    names = {quoted or plain for quoted, plain in _NAME.findall(formula)}
    return [c for c in columns if c in names]


def _is_categorical(series) -> bool:
    import pandas as pd

    dtype = series.dtype
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    )


def _categorical_variables(formula: str, frame) -> list[str]:
    """Columns that are strings/categories, and numeric columns wrapped in ``C(...)``."""
    wrapped = set()
    for inner in re.findall(r"\bC\(\s*(`[^`]+`|[^\W\d][\w.]*)", formula):
        wrapped.add(inner.strip("`"))
    used = variables_of(formula, frame.columns)
    return [c for c in used if c in wrapped or _is_categorical(frame[c])]


def _sorted_levels(values: Iterable[Any]) -> list:
    levels = {v for v in values if not _missing(v)}
    try:
        return sorted(levels)
    except TypeError:  # mixed types: order by text, as a stable rule
        return sorted(levels, key=str)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class DesignSpec:
    """What turns rows into the design matrix of a formula, the same way every time.

    Attributes
    ----------
    formula : str
        As given, ``"target ~ terms"``.
    target : str
        The column on the left of ``~``.
    levels : dict of str to list
        Levels of each categorical variable, sorted; the first is the reference level.
    columns : list of str
        The design's columns in formulaic's names (``C(firm)[T.GE]``), without ``Intercept``.
    fit_intercept : bool
        Whether the formula has an intercept (``- 1`` or ``+ 0`` removes it).
    weights : str or None
        A column holding sample weights.
    transform_state : dict
        Parameters of stateful transforms (``center``, ``scale``, ``poly``), when fitted.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "x": [0.0, 1.0, 2.0, 3.0],
    ...                       "g": ["b", "a", "b", "a"]})
    >>> spec = DesignSpec.from_frame("y ~ x + C(g)", frame)
    >>> spec.columns, spec.fit_intercept
    (['x', 'C(g)[T.b]'], True)
    >>> X, y, w = spec.design(frame)
    >>> X.tolist()
    [[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]
    """

    formula: str
    target: str
    levels: dict[str, list]
    columns: list[str]
    fit_intercept: bool
    weights: str | None = None
    transform_state: dict = field(default_factory=dict)
    _model_spec: Any = field(default=None, compare=False, repr=False)

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_frame(
        cls,
        formula: str,
        data: Any,
        levels: Mapping[str, Sequence] | None = None,
        weights: str | None = None,
        stateful: bool = True,
    ) -> DesignSpec:
        """The spec of ``formula`` on ``data`` (all rows, or a sample holding every level
        given in ``levels``). ``stateful=False`` refuses transforms fitted on the data."""
        lhs, _ = _parse(formula)
        frame = _frame(data)
        target = _target_of(lhs, formula, frame.columns)
        right = re.sub(r"'[^']*'|\"[^\"]*\"", "", formula.split("~", 1)[1])  # not in strings
        if target in variables_of(right, [target]):
            raise ParameterError(
                f"The target {target!r} also appears on the right side of {formula!r}: a model "
                "of the target on itself fits exactly and predicts nothing. Remove it from the "
                "right side."
            )
        for name, values in (levels or {}).items():
            if isinstance(values, str | bytes) or not isinstance(values, Iterable):
                raise ParameterError(
                    f"levels[{name!r}] must be a list of the column's levels, as in "
                    f"{{{name!r}: ['a', 'b']}}; got {values!r}."
                )
        given = {str(k): list(v) for k, v in (levels or {}).items()}
        found = {}
        for name in _categorical_variables(formula, frame):
            found[name] = given.pop(name, None) or _sorted_levels(frame[name].tolist())
        unknown = sorted(given)
        if unknown:
            raise ParameterError(
                f"levels names column(s) {unknown} that the formula {formula!r} does not use as "
                "categorical."
            )
        if weights is not None and weights not in frame.columns:
            raise DataError(
                f"Weight column {weights!r} is not in the data; its columns are "
                f"{', '.join(map(repr, frame.columns))}."
            )
        spec = cls(formula, target, found, [], True, weights)
        model_spec, columns = spec._materialize_spec(frame)
        state = _plain_state(model_spec.transform_state)
        if state and not stateful:
            raise DataError(
                f"The formula {formula!r} uses transforms fitted on the data "
                f"({', '.join(sorted(state))}), which batches streamed one at a time would fit "
                "differently. Compute those columns beforehand, or fit data held in memory."
            )
        fit_intercept = _INTERCEPT in columns
        names = [c for c in columns if c != _INTERCEPT]
        if not names:
            raise DataError(f"The formula {formula!r} has no term besides the intercept.")
        return cls(formula, target, found, names, fit_intercept, weights, state, model_spec)

    def _materialize_spec(self, frame):
        formulaic = _import_formulaic()
        _, rhs = _parse(self.formula)
        prepared = self._prepare(frame)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                matrix = formulaic.model_matrix(rhs, prepared, na_action="ignore")
        except (formulaic.errors.FormulaicError, ValueError, TypeError) as error:
            name = _missing_name(error)
            if name is not None and name not in frame.columns:
                self._refuse_missing([name], frame)
            # formulaic raises plain ValueError for some bad terms, e.g. a Treatment reference
            # that is not a level.
            raise DataError(f"Cannot build the design of {self.formula!r}: "
                            f"{_ANSI.sub('', str(error)).splitlines()[0]}") from None
        return matrix.model_spec, list(matrix.columns)

    # --- rows to design -----------------------------------------------------------------------

    def design(
        self, data: Any, with_target: bool = True, row_offset: int = 0
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Design matrix ``X`` (n, len(columns)), target ``y`` and weights of these rows.

        Raises
        ------
        DataError
            A missing value (naming the row and column), a level not in ``levels`` (naming the
            value, the column and the known levels), or a target or weight that is not a number.
        """
        frame = _frame(data)
        if with_target:
            self._check_target_columns(frame)
        model_spec = self._spec()
        self._check_columns(model_spec, frame)
        self._check_missing(frame, with_target, row_offset)
        prepared = self._prepare(frame, row_offset)
        formulaic = _import_formulaic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                matrix = model_spec.get_model_matrix(prepared, na_action="ignore")
        except formulaic.errors.FactorEvaluationError as error:
            # A column read inside a transform (poly(x, 2)) is not among required_variables.
            name = _missing_name(error)
            if name is not None and name not in frame.columns:
                self._refuse_missing([name], frame)
            raise DataError(f"Cannot build the design of {self.formula!r} for these rows: "
                            f"{_ANSI.sub('', str(error)).splitlines()[0]}") from error
        columns = list(matrix.columns)
        names = [c for c in columns if c != _INTERCEPT]
        if names != self.columns:
            raise DataError(
                f"These rows give the design columns {names}, not the model's {self.columns}."
            )
        X = np.asarray(matrix[names], dtype=np.float64)
        y = _numeric(frame, self.target, row_offset) if with_target else None
        weighted = with_target and self.weights is not None  # predictions need no weights
        w = _numeric(frame, self.weights, row_offset) if weighted else None
        return X, y, w

    def _check_columns(self, model_spec, frame) -> None:
        """The columns the formula's terms read are all in ``frame``: one line naming those
        that are not (formulaic would name the first, in a traceback of its own)."""
        have = {str(c) for c in frame.columns}
        missing = sorted((str(n) for n in model_spec.required_variables if str(n) not in have),
                         key=self.formula.find)
        if missing:
            self._refuse_missing(missing, frame)

    def _refuse_missing(self, missing: list[str], frame) -> None:
        _refuse_missing(self.formula, missing, [str(c) for c in frame.columns], "the data")

    def _check_target_columns(self, frame) -> None:
        """The target and weight columns are in ``frame`` (``score`` of a frame reads them)."""
        columns = ", ".join(map(repr, frame.columns))
        if self.target not in frame.columns:
            raise DataError(
                f"The target column {self.target!r} of {self.formula!r} is not in the data; "
                f"its columns are {columns}. Add it, or pass y."
            )
        if self.weights is not None and self.weights not in frame.columns:
            raise DataError(
                f"The weight column {self.weights!r} of the model is not in the data; its "
                f"columns are {columns}. Add it, or pass y and sample_weight."
            )

    def _spec(self):
        spec = self._model_spec
        if spec is None:
            formulaic = _import_formulaic()
            _, rhs = _parse(self.formula)
            spec = formulaic.ModelSpec(formula=rhs, transform_state=dict(self.transform_state))
            object.__setattr__(self, "_model_spec", spec)
        return spec

    def _prepare(self, frame, row_offset: int = 0):
        """The frame with categorical columns cast to the known levels (unseen ones refused)."""
        import pandas as pd

        if not self.levels:
            return frame
        frame = frame.copy()
        for name, levels in self.levels.items():
            if name not in frame.columns:
                raise DataError(f"Column {name!r} of the formula is not in the data.")
            original = frame[name]
            unseen = np.flatnonzero(~original.isin(levels).to_numpy() & original.notna().to_numpy())
            if unseen.size:
                row = int(unseen[0])
                value = original.iloc[row]
                value = value.item() if isinstance(value, np.generic) else value
                shown = levels if len(levels) <= 10 else [*levels[:10], "..."]
                raise DataError(
                    f"Row {row + row_offset + 1}, column {name!r}: level {value!r} "
                    f"was not seen in training; known levels: {shown}."
                )
            frame[name] = pd.Categorical(original, categories=levels)
        return frame

    def _check_missing(self, frame, with_target: bool, row_offset: int) -> None:
        needed = variables_of(self.formula, frame.columns)
        if not with_target:
            needed = [c for c in needed if c != self.target]
        elif self.weights is not None:
            needed.append(self.weights)
        for name in needed:
            missing = np.flatnonzero(frame[name].isna().to_numpy())
            if missing.size:
                raise DataError(
                    f"Row {int(missing[0]) + row_offset + 1}, column {name!r}: missing value. "
                    "Drop or fill missing values first."
                )

    # --- files --------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "formula": self.formula,
            "target": self.target,
            "levels": {k: list(v) for k, v in self.levels.items()},
            "columns": list(self.columns),
            "fit_intercept": self.fit_intercept,
            "weights": self.weights,
            "transform_state": self.transform_state,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> DesignSpec:
        return cls(
            str(data["formula"]),
            str(data["target"]),
            {str(k): list(v) for k, v in dict(data["levels"]).items()},
            [str(c) for c in data["columns"]],
            bool(data["fit_intercept"]),
            None if data.get("weights") is None else str(data["weights"]),
            dict(data.get("transform_state") or {}),
        )


def formula_target(formula: str, columns: Sequence[str], hint: str | None = None,
                   where: str = "the data") -> str:
    """The target column the left side of ``formula`` names, after checking that it and the
    columns its terms read are in ``columns``: before a file is read through the formula.
    ``hint`` ends the message (default: a delimiter the column names suggest)."""
    lhs, rhs = _parse(formula)
    target = _target_of(lhs, formula, columns, hint, where)
    formulaic = _import_formulaic()
    # Columns read inside a stateful transform (poly(x, 2)) are not listed; streamed files
    # refuse those transforms, and the design names such a column when it is missing.
    needed = formulaic.ModelSpec(formula=rhs).required_variables
    missing = sorted((str(n) for n in needed if str(n) not in columns), key=formula.find)
    if missing:
        _refuse_missing(formula, missing, list(columns), where, hint)
    return target


def _refuse_missing(formula: str, missing: list[str], columns: list[str], where: str,
                    hint: str | None = None) -> None:
    raise DataError(
        f"The formula {formula!r} reads the column(s) {listing(missing)}, not in {where}; its "
        f"columns are {listing(columns)}.{delimiter_hint(columns) if hint is None else hint}"
    )


def _target_of(lhs, formula: str, columns, hint: str | None = None,
               where: str = "the data") -> str:
    terms = [str(term) for term in lhs]
    if len(terms) != 1 or terms[0] not in columns:
        raise DataError(
            f"The left side of {formula!r} must be one column of {where}; its columns are "
            f"{listing(list(columns))}."
            f"{delimiter_hint(list(columns)) if hint is None else hint}"
        )
    return terms[0]


def _missing_name(error: Exception) -> str | None:
    """The name a formulaic evaluation error says is not defined, if that is what it says."""
    cause = error.__cause__
    if not isinstance(cause, NameError):
        return None
    if getattr(cause, "name", None):  # Python's own, inside a transform: poly(x, 2)
        return cause.name
    found = re.match(r"`(.+?)` is not present", str(cause))  # formulaic's, for a plain term
    return found.group(1) if found else None


def _numeric(frame, name: str, row_offset: int) -> np.ndarray:
    column = frame[name]
    try:
        return np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(column.tolist()) if not _is_number(v))
        raise DataTypeError(
            f"Row {bad + row_offset + 1}, column {name!r}: {column.iloc[bad]!r} is not a number."
        ) from None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _plain_state(state: Mapping) -> dict:
    """formulaic's transform state as JSON-friendly values (floats, lists, strings)."""

    def plain(value):
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        return value

    return plain(dict(state))


def levels_of_batches(frames: Iterator[Any], columns: Sequence[str]) -> dict[str, list]:
    """Sorted levels of ``columns`` over a stream of frames: the first pass out of core."""
    seen: dict[str, set] = {c: set() for c in columns}
    for data in frames:
        if hasattr(data, "schema") and hasattr(data, "column"):  # Arrow: no pandas copy
            import pyarrow.compute as pc

            for name in columns:
                seen[name].update(pc.unique(data.column(name)).drop_null().to_pylist())
            continue
        frame = _frame(data)
        for name in columns:
            seen[name].update(v for v in frame[name].unique().tolist() if not _missing(v))
    return {name: _sorted_levels(values) for name, values in seen.items()}
