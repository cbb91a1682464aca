"""The library's parameter names, as the command line spells them in its messages.

The library's errors and warnings name parameters as Python code does (``learning_rate=0.1``,
``The 'alpha' parameter of GDRegressor``, ``batch_size``), and library users see them so. The
command prints the same messages with the options that set those parameters
(``--learning-rate 0.1``, ``--alpha``, ``--batch-size``), through one table, :data:`OPTIONS`,
which also turns the options back into the estimator's parameters (see ``estimator_from``).

Only these forms are rewritten, outside quoted strings (column and file names stay as they
are): ``name=value`` with a Python literal value, ``The 'name' parameter of Owner``,
``leave name at its default (value)``, and a bare name with an underscore (a plain word such
as ``solver`` may be English).
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass

__all__ = ["OPTIONS", "FIT_PARAMETERS", "Option", "as_typed"]


@dataclass(frozen=True)
class Option:
    """How the command line sets one parameter.

    ``flag``: the option is a flag that sets ``True`` (``inverted``: ``False``, as
    ``--no-intercept`` sets ``fit_intercept=False``); ``off`` is the flag of the other value
    (``--no-standardize``), if there is one. ``none``: what ``None`` is written as (``none``
    for ``--tol``; the flag alone for ``--no-header``), or ``None`` when ``None`` is the option
    left out. ``metavar``: what stands for a list (``features=[...]``).
    """

    flag_name: str
    flag: bool = False
    inverted: bool = False
    off: str | None = None
    none: str | None = None
    metavar: str = "..."

    def spelled(self, value: object) -> str | None:
        """``--learning-rate 0.1``, ``--no-standardize``; None for the option left out."""
        if self.flag:
            on = bool(value) != self.inverted
            return self.flag_name if on else self.off
        if value is None:
            return None if self.none is None else f"{self.flag_name} {self.none}".rstrip()
        if value is Ellipsis:
            return f"{self.flag_name} {self.metavar}"
        return f"{self.flag_name} {_typed(value)}"


def _typed(value: object) -> str:
    """A value as it is typed after its option: ``sgd``, ``';'``, ``'\\t'``, ``0.1``."""
    if isinstance(value, str):
        return "'\\t'" if value == "\t" else shlex.quote(value)
    return repr(value)


# The estimator's parameters that `fit` and `plot` set, in the order of their options.
FIT_PARAMETERS: dict[str, Option] = {
    "solver": Option("--solver"),
    "optimizer": Option("--optimizer"),
    "learning_rate": Option("--learning-rate"),
    "schedule": Option("--schedule"),
    "momentum": Option("--momentum"),
    "line_search": Option("--line-search", flag=True),
    "batch_size": Option("--batch-size"),
    "penalty": Option("--penalty"),
    "alpha": Option("--alpha"),
    "l1_ratio": Option("--l1-ratio"),
    "max_iter": Option("--max-iter"),
    "tol": Option("--tol", none="none"),
    "fit_intercept": Option("--no-intercept", flag=True, inverted=True),
    "standardize": Option("--standardize", flag=True, off="--no-standardize"),
    "random_state": Option("--random-state"),
}

# Every parameter a message may name that an option sets: the fit's, and those of reading,
# formulas, checkpoints and the summary.
OPTIONS: dict[str, Option] = {
    **FIT_PARAMETERS,
    "target": Option("--target"),
    "features": Option("--features", metavar="COL,..."),
    "formula": Option("--formula"),
    "weights": Option("--weights"),
    "levels": Option("--levels"),
    "cov_type": Option("--cov-type"),
    "checkpoint_every": Option("--checkpoint-every"),
    "delimiter": Option("--delimiter"),
    "decimal": Option("--decimal"),
    "encoding": Option("--encoding"),
    "header": Option("--no-header", none=""),  # header=None: no header line
}

_QUOTED = r"'[^'\\]*(?:\\.[^'\\]*)*'|\"[^\"\\]*(?:\\.[^\"\\]*)*\""
_TOKENS = re.compile(
    rf"""
    (?P<parameter>The\ '(?P<p_name>\w+)'\ parameter\ of\ [A-Za-z_]\w*)
    | (?P<leave>leave\ (?P<l_name>\w+)\ at\ its\ default\ \([^()]*\))
    | (?P<setting>(?:(?P<verb>\b(?:set|with|use|pass)\ ))?
        (?<![\w.-])(?P<s_name>[a-z]\w*)=
        (?P<value>{_QUOTED}|True\b|False\b|None\b|\[\.\.\.\]|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)
        (?P<more>(?:(?:,\ |\ or\ )(?:{_QUOTED}))*))
    | (?P<quoted>(?<!\w)(?:{_QUOTED}))
    | (?P<bare>(?<![\w.'-])(?P<b_name>[a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b(?![=(]))
    """,
    re.VERBOSE,
)


def as_typed(text: str) -> str:
    """``text`` (a library message) with the parameters the options set named as options."""
    return _TOKENS.sub(_respelled, text)


def _respelled(match: re.Match) -> str:
    kind = _kind(match)
    whole = match.group(0)
    if kind == "parameter":
        option = OPTIONS.get(match["p_name"])
        return whole if option is None else option.flag_name
    if kind == "leave":
        option = OPTIONS.get(match["l_name"])
        return whole if option is None else f"leave out {option.flag_name}"
    if kind == "setting":
        option = OPTIONS.get(match["s_name"])
        if option is None:
            return whole
        verb = match["verb"] or ""
        text = match["value"]
        if text == "[...]":
            value = Ellipsis
        else:
            value = ast.literal_eval(text)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{verb}{option.flag_name} {text}"  # the number as the message wrote it
        typed = option.spelled(value)
        if typed is None:  # the option left out
            return {"with ": "without ", "": "without "}.get(verb, "leave out ") + (
                option.flag_name)
        more = re.sub(_QUOTED, lambda m: _typed(ast.literal_eval(m.group(0))), match["more"])
        return f"{verb}{typed}{more}"
    if kind == "bare":
        option = OPTIONS.get(match["b_name"])
        return whole if option is None else option.flag_name
    return whole


def _kind(match: re.Match) -> str:
    for name in ("parameter", "leave", "setting", "quoted", "bare"):
        if match[name] is not None:
            return name
    return "quoted"  # pragma: no cover - one of the groups always matches
