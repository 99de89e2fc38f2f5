"""The argument checks of the whole library (private): one message format for every layer family.

Every check raises at the earliest moment, with a message that names the owner (the class or function
receiving the argument), the argument, the value received and what is accepted::

    <Owner>: <name>=<value!r> is not accepted; expected <what is accepted>
    <Owner>: <name>=<value!r> is not known; expected one of: <choices>

A wrong *type* raises ``TypeError``; a value of the right type that is not allowed (a NaN, a number out of
range, an unknown name, a device string torch cannot parse) raises ``ValueError``.

The constraints (:mod:`structconv.constraints`), the layers (:mod:`structconv.nn`, through
:mod:`structconv.nn._conv_utils`) and :mod:`structconv.testing` all call these functions; this module
imports nothing of structconv, so every layer of the package can use it.

Example:
    >>> check_real(float("nan"), "max_value", minimum=0.0, strict=True, owner="MaxNorm")
    Traceback (most recent call last):
    ...
    ValueError: MaxNorm: max_value=nan is not accepted; expected a finite number > 0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch

__all__ = [
    "FLOAT_DTYPES",
    "check_bool",
    "check_choice",
    "check_device",
    "check_float_dtype",
    "check_int",
    "check_real",
    "where",
]

#: the floating dtypes the layers compute in
FLOAT_DTYPES: tuple[torch.dtype, ...] = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def where(owner: str) -> str:
    """The message prefix ``'<owner>: '`` (empty without an owner).

    Example:
        >>> where("R2Conv"), where("")
        ('R2Conv: ', '')
    """
    return f"{owner}: " if owner else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(
    value: Any, name: str, *, minimum: int | None = 1, allow_none: bool = False, owner: str = ""
) -> int:
    """Return ``value`` as an int if it is an integer (``>= minimum`` unless ``minimum`` is ``None``).

    With ``allow_none``, ``None`` is accepted and returned (typed ``int`` for the common case).

    Raises:
        TypeError: if ``value`` is not an integer (a bool, a float, a string, ...).
        ValueError: if it is smaller than ``minimum``.

    Example:
        >>> check_int(3, "kernel_size")
        3
        >>> check_int("3", "kernel_size", owner="WSConv2d")
        Traceback (most recent call last):
        ...
        TypeError: WSConv2d: kernel_size='3' is not accepted; expected an int >= 1
    """
    if value is None and allow_none:
        return None  # type: ignore[return-value]
    expected = ("an int" if minimum is None else f"an int >= {minimum}") + (" or None" if allow_none else "")
    if not _is_int(value):
        raise TypeError(f"{where(owner)}{name}={value!r} is not accepted; expected {expected}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{where(owner)}{name}={value!r} is not accepted; expected {expected}")
    return int(value)


def _bound(minimum: float | None, maximum: float | None, strict: bool) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if strict else '>='} {minimum:g}")
    if maximum is not None:
        parts.append(f"<= {maximum:g}")
    return (" " + " and ".join(parts)) if parts else ""


def check_real(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    allow_none: bool = False,
    owner: str = "",
) -> float | None:
    """Return ``value`` as a float if it is a finite real number within the bounds.

    Args:
        value: the argument.
        name: its name, for the message.
        minimum: the lower bound (``> minimum`` if ``strict``, else ``>= minimum``); ``None``: none.
        maximum: the upper bound (``<= maximum``); ``None``: none.
        strict: whether the lower bound is strict.
        allow_none: accept (and return) ``None``.
        owner: the class or function name, for the message.

    Raises:
        TypeError: if ``value`` is not a real number (a string, a bool, a complex, a tensor, ...).
        ValueError: if it is NaN, infinite or out of bounds.

    Example:
        >>> check_real(0.5, "frequencies_cutoff", minimum=0.0)
        0.5
        >>> check_real(float("nan"), "frequencies_cutoff", minimum=0.0, owner="R2Conv")
        Traceback (most recent call last):
        ...
        ValueError: R2Conv: frequencies_cutoff=nan is not accepted; expected a finite number >= 0
    """
    if value is None and allow_none:
        return None
    expected = f"expected a finite number{_bound(minimum, maximum, strict)}"
    expected += " or None" if allow_none else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where(owner)}{name}={value!r} is not accepted; {expected}")
    v = float(value)
    too_low = minimum is not None and (v <= minimum if strict else v < minimum)
    too_high = maximum is not None and v > maximum
    if not math.isfinite(v) or too_low or too_high:
        raise ValueError(f"{where(owner)}{name}={value!r} is not accepted; {expected}")
    return v


def check_bool(value: Any, name: str, *, owner: str = "") -> bool:
    """Return ``value`` if it is a bool (``True``/``False``, numpy bools included), else raise ``TypeError``.

    Example:
        >>> check_bool(False, "bias")
        False
        >>> check_bool("yes", "initialize", owner="R2Conv")
        Traceback (most recent call last):
        ...
        TypeError: R2Conv: initialize='yes' is not accepted; expected True or False
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise TypeError(f"{where(owner)}{name}={value!r} is not accepted; expected True or False")


def check_choice(value: Any, name: str, choices: Sequence[Any], *, owner: str = "") -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them.

    Example:
        >>> check_choice("post_step", "enforce", ("forward", "post_step"))
        'post_step'
        >>> check_choice("later", "enforce", ("forward", "post_step"), owner="ConstrainedConv2d")
        Traceback (most recent call last):
        ...
        ValueError: ConstrainedConv2d: enforce='later' is not known; expected one of: forward, post_step
    """
    hashable = isinstance(value, (str, int, float, bool, type(None)))
    if not hashable or not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        listed = ", ".join(c if isinstance(c, str) else repr(c) for c in choices)
        raise ValueError(f"{where(owner)}{name}={value!r} is not known; expected one of: {listed}")
    return value


def check_device(device: Any, *, name: str = "device", owner: str = "") -> torch.device | None:
    """Return ``device`` as a :class:`torch.device` (``None`` stays ``None``) if torch can parse it.

    Raises:
        TypeError: for a value that is not ``None``, a ``torch.device``, a string or an int.
        ValueError: for a string torch does not know (``'nope'``, ``'cuda:x'``) or a negative index.

    Example:
        >>> check_device("cpu")
        device(type='cpu')
        >>> check_device("nope", owner="ConstrainedConv2d")
        Traceback (most recent call last):
        ...
        ValueError: ConstrainedConv2d: device='nope' is not accepted; expected None, a torch.device, ...
    """
    if device is None or isinstance(device, torch.device):
        return device
    expected = (
        "expected None, a torch.device, a device string ('cpu', 'cuda', 'cuda:0', 'meta') or a CUDA index"
    )
    if isinstance(device, bool) or not isinstance(device, (str, int)):
        raise TypeError(f"{where(owner)}{name}={device!r} is not accepted; {expected}")
    try:
        return torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{where(owner)}{name}={device!r} is not accepted; {expected}") from None


def check_float_dtype(
    dtype: Any, *, name: str = "dtype", allow_none: bool = True, complex_ok: bool = False, owner: str = ""
) -> torch.dtype | None:
    """Return ``dtype`` if it is a floating-point :class:`torch.dtype` (or ``None`` when allowed).

    Raises:
        TypeError: for anything else (an integer or bool dtype, a string, a numpy dtype).

    Example:
        >>> check_float_dtype(torch.float16)
        torch.float16
        >>> check_float_dtype(torch.int32, owner="assert_equivariant")
        Traceback (most recent call last):
        ...
        TypeError: assert_equivariant: dtype=torch.int32 is not accepted; expected None or a floating...
    """
    if dtype is None and allow_none:
        return None
    ok = isinstance(dtype, torch.dtype) and (dtype.is_floating_point or (complex_ok and dtype.is_complex))
    if not ok:
        listed = ", ".join(str(d) for d in FLOAT_DTYPES)
        head = "None or a" if allow_none else "a"
        raise TypeError(
            f"{where(owner)}{name}={dtype!r} is not accepted; expected {head} floating-point torch.dtype "
            f"({listed})"
        )
    return dtype
