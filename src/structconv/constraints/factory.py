"""Constraints from names: :func:`make_constraint`, the one reader of every ``constraint=`` argument.

A constraint is given as

* a **name**: the structural modes of :data:`~structconv.constraints.CONSTRAINT_NAMES`, their aliases
  (:data:`CONSTRAINT_ALIASES`), the Keras names of :data:`KERAS_CONSTRAINT_NAMES` with Keras' arguments
  (``max_value``, ``min_value``, ``rate``, ``axis``) and the weight-standardization names of
  :data:`STANDARDIZATION_NAMES`;
* a name **in call form**, as the layers' ``repr`` shows it after ``constraint=``:
  ``'max_norm(max_value=0.5, axis=(1, 2))'``, ``'scaled_weight_standardization(num_filters=8)'``;
* a **constraint class call**, as a constraint's own ``repr`` shows it: ``'MaxNorm(max_value=2, axis=None,
  eps=1e-07)'``, ``'Compose(ZeroMean(), UnitL2(eps=1e-12))'``;
* a **list** of any of these, applied in order (also as text: ``'[zero_mean, unit_l2]'``), or a
  constraint module itself.

So every ``repr`` the library prints of a constraint is a valid ``constraint=`` argument. Texts are read
with :mod:`ast`, never evaluated: only constraint classes and names may be called, and the arguments must be
literals (numbers, ``nan``/``inf``, ``None``, ``True``/``False``, strings, tuples and lists of them).
"""

from __future__ import annotations

import ast
import difflib
import inspect
from collections.abc import Sequence
from typing import Any

from torch import nn

from structconv.constraints._base import Compose
from structconv.constraints.structural import (
    CONSTRAINT_NAMES,
    FixedCenter,
    MaxL2,
    NoConstraint,
    NonNeg,
    NonNegSumToOne,
    SumToOne,
    UnitL2,
    ZeroMean,
)

__all__ = [
    "CONSTRAINT_ALIASES",
    "KERAS_CONSTRAINT_NAMES",
    "STANDARDIZATION_NAMES",
    "constraint_names",
    "make_constraint",
]

#: the Keras constraint names (``tf.keras.constraints``), accepted wherever a constraint is, with their Keras
#: arguments ``max_value``, ``min_value``, ``rate`` and ``axis`` (``axis`` in PyTorch layout)
KERAS_CONSTRAINT_NAMES: tuple[str, ...] = ("max_norm", "min_max_norm", "unit_norm", "non_neg")

#: the weight-standardization names (the ``spec()`` of those constraint modules)
STANDARDIZATION_NAMES: tuple[str, ...] = ("weight_standardization", "scaled_weight_standardization")

#: other spellings of the structural names: ``'nonneg_sum_to_one'`` reads as ``'nonneg_sum1'`` (the name the
#: lucid reference uses, and the one the layers' ``repr`` shows)
CONSTRAINT_ALIASES: dict[str, str] = {"nonneg_sum_to_one": "nonneg_sum1"}

_STRUCTURAL: dict[str, type[nn.Module]] = {
    "none": NoConstraint,
    "nonneg": NonNeg,
    "sum_to_one": SumToOne,
    "zero_mean": ZeroMean,
    "nonneg_sum1": NonNegSumToOne,
    "unit_l2": UnitL2,
    "max_l2": MaxL2,
    "fixed_center": FixedCenter,
}

_STRUCTURAL_EPS = 1e-12
#: the arguments of make_constraint that the named modes take
_NAME_PARAMS = ("eps", "max_l2", "center_value", "neighbor_sum", "dims")
_KERAS_PARAMS = ("max_value", "min_value", "rate", "axis")
_KERAS_ARGS = {
    "max_norm": ("max_value", "axis"),
    "min_max_norm": ("min_value", "max_value", "rate", "axis"),
    "unit_norm": ("axis",),
    "non_neg": (),
}
#: base classes: not constraints by themselves
_ABSTRACT = ("KernelConstraint", "StructuralConstraint", "NormConstraint")


def constraint_names() -> tuple[str, ...]:
    """Every name :func:`make_constraint` accepts (structural, aliases, Keras, weight standardization).

    Example:
        >>> "nonneg_sum_to_one" in constraint_names(), "max_norm" in constraint_names()
        (True, True)
    """
    return CONSTRAINT_NAMES + tuple(CONSTRAINT_ALIASES) + KERAS_CONSTRAINT_NAMES + STANDARDIZATION_NAMES


def _classes() -> dict[str, type[nn.Module]]:
    """The constraint classes a ``repr`` may name (the public, concrete ones)."""
    from structconv import constraints as package

    out = {}
    for n in package.__all__:
        obj = getattr(package, n)
        if isinstance(obj, type) and issubclass(obj, nn.Module) and n not in _ABSTRACT:
            out[n] = obj
    return out


def _name_class(name: str) -> type[nn.Module]:
    from structconv.constraints.standardization import ScaledWeightStandardization, WeightStandardization

    if name == "weight_standardization":
        return WeightStandardization
    if name == "scaled_weight_standardization":
        return ScaledWeightStandardization
    return _STRUCTURAL[name]


def _unknown(text: str, name: str | None = None) -> ValueError:
    """The error for an unknown name, with the accepted names and the closest one."""
    known = constraint_names()
    name = text.strip() if name is None else name
    close = difflib.get_close_matches(name, list(known) + list(_classes()), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    head = f"constraint={text!r}" if name == text else f"constraint={text!r}: {name!r}"
    return ValueError(
        f"{head} is not known; expected one of: {', '.join(known)}{hint}; or a constraint module, a list of "
        "them, or a name with its arguments as the layers' repr shows them"
    )


def _signature(cls: type) -> inspect.Signature:
    return inspect.signature(cls)


def _literal(node: ast.AST, text: str) -> Any:
    """The value of an argument node: a literal, ``nan``/``inf``, or a nested constraint class call."""
    if isinstance(node, ast.Call):
        return _build_call(node, text, None)
    if isinstance(node, ast.Name) and node.id in ("nan", "inf"):
        return float(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, text)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e, text) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise ValueError(
            f"constraint={text!r}: {ast.unparse(node)} is not a literal value; expected numbers, nan, inf, "
            "None, True/False, strings, tuples or lists of them, or constraint classes"
        ) from None


def _build_call(call: ast.Call, text: str, params: dict[str, Any] | None) -> nn.Module:
    """Build the constraint a parsed call names (a constraint class, or a name in call form)."""
    if not isinstance(call.func, ast.Name):
        raise ValueError(
            f"constraint={text!r}: {ast.unparse(call.func)}(...) is not a constraint; expected a constraint "
            "name or class"
        )
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise ValueError(
            f"constraint={text!r}: * and ** arguments are not accepted; expected plain arguments"
        )
    name = call.func.id
    args = [_literal(a, text) for a in call.args]
    kwargs = {k.arg: _literal(k.value, text) for k in call.keywords if k.arg is not None}
    classes = _classes()
    if name in classes:
        cls = classes[name]
        try:
            _signature(cls).bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(
                f"constraint={text!r}: {err}; expected the arguments of {name}{_signature(cls)}"
            ) from None
        return cls(*args, **kwargs)
    if name not in constraint_names():
        raise _unknown(text, name)
    if args:
        raise ValueError(
            f"constraint={text!r}: a name takes its arguments by keyword; "
            f"expected {name}(argument=value, ...)"
        )
    base = params if params is not None else _default_params()
    return _from_name(name, text, base, kwargs)


def _default_params() -> dict[str, Any]:
    named = {"eps": _STRUCTURAL_EPS, "max_l2": None, "center_value": -1.0, "neighbor_sum": 1.0, "dims": None}
    return named | {k: None for k in _KERAS_PARAMS}


def _from_name(name: str, text: str, params: dict[str, Any], given: dict[str, Any]) -> nn.Module:
    """Build the named constraint from ``make_constraint``'s ``params`` and the call form's ``given``."""
    name = CONSTRAINT_ALIASES.get(name, name)
    if name in KERAS_CONSTRAINT_NAMES:
        accepted = _KERAS_ARGS[name] + ("eps",) + (("dims",) if name == "non_neg" else ())
        unknown = sorted(set(given) - set(accepted))
        if unknown:
            raise ValueError(
                f"constraint={text!r}: argument {unknown[0]!r} is not known; expected some of: "
                + ", ".join(accepted)
            )
        keras = {k: given.get(k, params[k]) for k in _KERAS_PARAMS}
        extra = sorted(k for k, v in keras.items() if v is not None and k not in _KERAS_ARGS[name])
        if extra:
            raise ValueError(
                f"{extra[0]}={keras[extra[0]]!r} is not accepted with constraint={name!r}; "
                f"its arguments are: {', '.join(_KERAS_ARGS[name]) or 'none'}"
            )
        eps = given.get("eps", params["eps"])
        if name == "non_neg":
            return NonNeg(dims=given.get("dims", params["dims"]))
        from structconv.constraints.norm import KERAS_EPSILON, MaxNorm, MinMaxNorm, UnitNorm

        # the Keras fuzz factor unless an eps is given in call form or differs from the structural default
        if "eps" not in given and eps == _STRUCTURAL_EPS:
            eps = KERAS_EPSILON
        cls = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "unit_norm": UnitNorm}[name]
        return cls(**{k: v for k, v in keras.items() if v is not None}, eps=eps)
    keras_given = sorted(k for k in _KERAS_PARAMS if given.get(k, params[k]) is not None)
    if keras_given:
        k = keras_given[0]
        raise ValueError(
            f"{k}={given.get(k, params[k])!r} is not accepted with constraint={name!r}; "
            f"it is an argument of the Keras names ({', '.join(KERAS_CONSTRAINT_NAMES)})"
        )
    cls = _name_class(name)
    names = [p for p in list(_signature(cls).parameters)]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(
            f"constraint={text!r}: argument {unknown[0]!r} is not known; expected some of: "
            + ", ".join(names)
        )
    args = dict(given)
    for p in _NAME_PARAMS:
        if p in names and p not in args:
            if name in STANDARDIZATION_NAMES and (
                (p == "eps" and params[p] == _STRUCTURAL_EPS) or (p == "dims" and params[p] is None)
            ):
                continue  # the standardization defaults, not the structural ones
            args[p] = params[p]
    if cls is MaxL2 and args.get("max_l2") is None:
        raise ValueError(
            "max_l2=None is not accepted with constraint='max_l2'; expected a bound, a number > 0 "
            "(max_l2=... or 'max_l2(max_l2=...)')"
        )
    missing = [
        p.name
        for p in _signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in args
    ]
    if missing:
        raise ValueError(
            f"constraint={text!r} needs {missing[0]}; expected {name}({missing[0]}=...) "
            f"(the arguments of {cls.__name__}{_signature(cls)})"
        )
    return cls(**args)


def _parse_list(text: str) -> list[str] | None:
    """``'[zero_mean, unit_l2]'`` (a Compose ``spec()``) -> ``['zero_mean', 'unit_l2']``."""
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    items, depth, start = [], 0, 1
    for i, ch in enumerate(text[1:-1], start=1):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:-1])
    items = [item.strip().strip("'\"") for item in items]
    return [item for item in items if item]


def _from_text(text: str, params: dict[str, Any]) -> nn.Module | list[str]:
    """A constraint (or a list of texts) from a name, a call form or a class call."""
    stripped = text.strip()
    as_list = _parse_list(stripped)
    if as_list is not None:
        return as_list
    if "(" in stripped or ")" in stripped:
        try:
            node = ast.parse(stripped, mode="eval").body
        except SyntaxError:
            raise ValueError(
                f"constraint={text!r} cannot be read; expected a name, name(argument=value, ...) or a "
                "constraint class call as the reprs show them"
            ) from None
        if not isinstance(node, ast.Call):
            raise _unknown(text)
        return _build_call(node, text, params)
    classes = _classes()
    if stripped in classes:
        return _build_call(ast.Call(func=ast.Name(id=stripped), args=[], keywords=[]), stripped, params)
    if stripped not in constraint_names():
        raise _unknown(text)
    return _from_name(stripped, text, params, {})


def make_constraint(
    constraint: str | nn.Module | Sequence[str | nn.Module],
    *,
    eps: float = _STRUCTURAL_EPS,
    max_l2: float | None = None,
    center_value: float = -1.0,
    neighbor_sum: float = 1.0,
    dims: int | Sequence[int] | None = None,
    max_value: float | None = None,
    min_value: float | None = None,
    rate: float | None = None,
    axis: int | Sequence[int] | None = None,
) -> nn.Module:
    """Build a constraint from a name, a module, or a list of them (applied in order).

    Names: :data:`~structconv.constraints.CONSTRAINT_NAMES` (the structural modes) and their aliases
    (:data:`CONSTRAINT_ALIASES`), the Keras names of :data:`KERAS_CONSTRAINT_NAMES` (``'max_norm'``,
    ``'min_max_norm'``, ``'unit_norm'``, ``'non_neg'``, with Keras' arguments ``max_value``, ``min_value``,
    ``rate``, ``axis`` and Keras' defaults) and :data:`STANDARDIZATION_NAMES`. Every ``repr`` of a
    constraint is accepted too: a name in call form (``'max_norm(max_value=0.5)'``, as the layers show it),
    a constraint class call (``'MaxNorm(max_value=0.5, axis=None, eps=1e-07)'``, as the constraint shows
    itself), a list in brackets (``'[zero_mean, unit_l2]'``). See :mod:`structconv.constraints.factory`.

    Args:
        constraint: a name, a constraint module (returned as is), or a list of names/modules, composed
            with :class:`~structconv.constraints.Compose`.
        eps: numerical stability constant of the named modes (the Keras names use Keras' ``1e-7`` and the
            weight-standardization names their own default unless another value than ``1e-12`` is given).
        max_l2: the bound of ``'max_l2'`` (required for it).
        center_value: the centre tap of ``'fixed_center'``.
        neighbor_sum: the off-centre sum of ``'fixed_center'``.
        dims: the slice dims of the named structural modes (see
            :class:`~structconv.constraints.StructuralConstraint`).
        max_value: the maximum norm of ``'max_norm'`` (default 2) and ``'min_max_norm'`` (default 1).
        min_value: the minimum norm of ``'min_max_norm'`` (default 0).
        rate: the rate of ``'min_max_norm'`` (default 1).
        axis: the dims the norm of a Keras norm constraint runs over (default: every dim but the first).

    Returns:
        The constraint module.

    Raises:
        ValueError: for an unknown name (the message lists the accepted ones) or a bad parameter.
        TypeError: for anything that is neither a name, a module nor a list of them.

    Example:
        >>> from structconv.constraints import make_constraint
        >>> make_constraint(["zero_mean", "unit_l2"]).spec()
        '[zero_mean, unit_l2]'
        >>> make_constraint("max_l2", max_l2=2.0)
        MaxL2(max_l2=2, eps=1e-12)
        >>> make_constraint("max_norm", max_value=0.5)
        MaxNorm(max_value=0.5, axis=None, eps=1e-07)
        >>> make_constraint("min_max_norm(min_value=0.5, rate=0.5)")
        MinMaxNorm(min_value=0.5, max_value=1, rate=0.5, axis=None, eps=1e-07)
        >>> make_constraint("Compose(ZeroMean(), UnitL2(eps=1e-12))").spec()
        '[zero_mean, unit_l2]'
    """
    params = {"eps": eps, "max_l2": max_l2, "center_value": center_value, "neighbor_sum": neighbor_sum}
    params |= {"dims": dims, "max_value": max_value, "min_value": min_value, "rate": rate, "axis": axis}
    if isinstance(constraint, (bytes, bytearray)):
        raise TypeError(
            f"constraint={constraint!r} is not accepted; expected a name as a str (for example "
            f"{constraint.decode(errors='replace')!r}), a constraint module, or a list of them"
        )
    if isinstance(constraint, nn.Module):
        return constraint
    if isinstance(constraint, str):
        built = _from_text(constraint, params)
        if isinstance(built, nn.Module):
            return built
        constraint = built
    if isinstance(constraint, Sequence):
        is_keras = [isinstance(c, str) and c in KERAS_CONSTRAINT_NAMES for c in constraint]
        given = sorted(k for k in _KERAS_PARAMS if params[k] is not None)
        if given and not any(is_keras):
            raise ValueError(
                f"{given[0]}={params[given[0]]!r} is not accepted with constraint={list(constraint)!r}; "
                f"it is an argument of the Keras names ({', '.join(KERAS_CONSTRAINT_NAMES)})"
            )
        own = {k: params[k] for k in _NAME_PARAMS}
        parts = [
            make_constraint(c, **own, **({k: params[k] for k in _KERAS_PARAMS} if keras else {}))
            for c, keras in zip(constraint, is_keras)
        ]
        if not parts:
            raise ValueError("constraint=[] is not accepted; expected at least one constraint (or 'none')")
        return parts[0] if len(parts) == 1 else Compose(*parts)
    raise TypeError(
        f"constraint={constraint!r} is not accepted; expected a name ({', '.join(CONSTRAINT_NAMES)}), "
        "a constraint module, or a list of them"
    )
