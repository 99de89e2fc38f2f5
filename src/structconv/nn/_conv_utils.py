"""Helpers shared by the structured convolution layers: argument checks and export to plain layers.

The argument checks are the one place where every layer family (constrained, weight-standardized and
steerable convolutions, linear layers) validates its constructor arguments: each raises at construction a
``TypeError`` (wrong type) or ``ValueError`` (wrong value) whose message names the layer, the argument, the
value received and what is accepted. The scalar checks (``check_int``, ``check_real``, ``check_bool``,
``check_choice``, ``check_device``) live in :mod:`structconv._validate`, below every layer of the package,
so that the constraints use the very same ones; they are re-exported here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import skip_init

from structconv._validate import (
    _is_int,
    check_bool,
    check_choice,
    check_device,
    check_float_dtype,
    check_int,
    check_real,
)
from structconv._validate import where as _where

__all__ = [
    "ENFORCE_MODES",
    "PADDING_MODES",
    "check_bias",
    "check_bool",
    "check_choice",
    "check_constraint_output",
    "check_conv_args",
    "check_device",
    "check_dtype",
    "check_enforce",
    "check_groups",
    "check_int",
    "check_linear_args",
    "check_padding_mode",
    "check_real",
    "check_size",
    "plain_copy",
]

#: the ``padding_mode`` values of ``torch.nn.ConvNd``
PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular")


def check_size(value: Any, name: str, ndim: int, *, minimum: int = 1, owner: str = "") -> tuple[int, ...]:
    """Return ``value`` (an int, or a tuple/list of ``ndim`` ints) as a tuple of ``ndim`` ints ``>= minimum``.

    Example:
        >>> check_size(3, "kernel_size", 2)
        (3, 3)
        >>> check_size((3, 3, 3), "kernel_size", 2, owner="ConstrainedConv2d")
        Traceback (most recent call last):
        ...
        ValueError: ConstrainedConv2d: kernel_size=(3, 3, 3) is not accepted; expected an int >= 1 or ...
    """
    expected = f"expected an int >= {minimum} or a tuple of {ndim} of them"
    if _is_int(value):
        items: list[Any] = [value] * ndim
    elif isinstance(value, (tuple, list)):
        items = list(value)
        if len(items) != ndim or not all(_is_int(v) for v in items):
            kind = TypeError if not all(_is_int(v) for v in items) else ValueError
            raise kind(f"{_where(owner)}{name}={value!r} is not accepted; {expected}")
    else:
        raise TypeError(f"{_where(owner)}{name}={value!r} is not accepted; {expected}")
    if min(items) < minimum:
        raise ValueError(f"{_where(owner)}{name}={value!r} is not accepted; {expected}")
    return tuple(int(v) for v in items)


def check_bias(bias: Any, owner: str = "") -> bool:
    """Return ``bias`` if it is a bool (``True``/``False``, numpy bools included), else raise ``TypeError``.

    Example:
        >>> check_bias(False)
        False
    """
    return check_bool(bias, "bias", owner=owner)


def check_dtype(dtype: Any, owner: str = "") -> None:
    """Raise ``TypeError`` unless ``dtype`` is ``None`` or a floating-point ``torch.dtype``.

    Example:
        >>> check_dtype(torch.float16)
    """
    try:
        check_float_dtype(dtype, complex_ok=True, owner=owner)
    except TypeError as err:
        raise TypeError(f"{err}: the weights must be trainable") from None


def check_conv_args(
    owner: str,
    ndim: int,
    in_channels: Any,
    out_channels: Any,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
    bias: Any = True,
    padding_mode: Any = "zeros",
    dtype: Any = None,
    output_padding: Any = None,
    device: Any = None,
) -> None:
    """Validate the arguments of an ``ndim``-dimensional (transposed) convolution, as ``torch.nn.ConvNd``'s.

    The transposed convolutions pass ``output_padding`` (which must be smaller than ``stride`` or
    ``dilation`` in every dim) and take no string ``padding``.

    Raises:
        TypeError: for an argument of the wrong type (``'3'`` or ``3.5`` as a size, ``bias='yes'``, an
            integer ``dtype``).
        ValueError: for a wrong value (a size < 1, a negative padding, a tuple of the wrong length,
            channels not divisible by ``groups``, ``output_padding`` too large).

    Example:
        >>> check_conv_args("ConstrainedConv2d", 2, 3, 4, 3, stride=2)
        >>> check_conv_args("ConstrainedConv2d", 2, 3, 4, 0)
        Traceback (most recent call last):
        ...
        ValueError: ConstrainedConv2d: kernel_size=0 is not accepted; expected an int >= 1 or a tuple of 2...
    """
    check_groups(in_channels, out_channels, groups, owner=owner)
    check_size(kernel_size, "kernel_size", ndim, minimum=1, owner=owner)
    strides = check_size(stride, "stride", ndim, minimum=1, owner=owner)
    dilations = check_size(dilation, "dilation", ndim, minimum=1, owner=owner)
    transposed = output_padding is not None
    if isinstance(padding, str) and not transposed:
        if padding not in ("same", "valid"):
            raise ValueError(
                f"{owner}: padding={padding!r} is not accepted; expected an int >= 0, a tuple of {ndim} of "
                "them, 'same' or 'valid'"
            )
        if padding == "same" and any(s != 1 for s in strides):
            raise ValueError(
                f"{owner}: padding='same' is not accepted with stride={stride!r}; expected stride=1"
            )
    else:
        check_size(padding, "padding", ndim, minimum=0, owner=owner)
    if transposed:
        ops = check_size(output_padding, "output_padding", ndim, minimum=0, owner=owner)
        for op, s, d in zip(ops, strides, dilations):
            if op >= max(s, d):
                raise ValueError(
                    f"{owner}: output_padding={output_padding!r} is not accepted with stride={stride!r} and "
                    f"dilation={dilation!r}; expected each output padding smaller than the stride or the "
                    "dilation of its dim"
                )
    check_bias(bias, owner)
    check_padding_mode(padding_mode, owner)
    check_dtype(dtype, owner)
    check_device(device, owner=owner)


def check_padding_mode(padding_mode: Any, owner: str = "") -> str:
    """Return ``padding_mode`` if it is one of :data:`PADDING_MODES`, else raise ``ValueError``.

    Example:
        >>> check_padding_mode("circular")
        'circular'
    """
    return check_choice(padding_mode, "padding_mode", PADDING_MODES, owner=owner)


def check_linear_args(
    owner: str, in_features: Any, out_features: Any, bias: Any = True, dtype: Any = None, device: Any = None
) -> None:
    """Validate the arguments of a linear layer, as ``torch.nn.Linear``'s.

    Example:
        >>> check_linear_args("ConstrainedLinear", 0, 3)
        Traceback (most recent call last):
        ...
        ValueError: ConstrainedLinear: in_features=0 is not accepted; expected an int >= 1
    """
    check_int(in_features, "in_features", minimum=1, owner=owner)
    check_int(out_features, "out_features", minimum=1, owner=owner)
    check_bias(bias, owner)
    check_dtype(dtype, owner)
    check_device(device, owner=owner)


def check_constraint_output(constraint: nn.Module, weight: Tensor, owner: str = "") -> None:
    """Raise ``TypeError`` unless ``constraint(weight)`` is a tensor of ``weight``'s shape.

    A module that is not a kernel map (``torch.nn.Flatten()``, say) is refused when the layer is built
    instead of at its first forward.

    Example:
        >>> check_constraint_output(torch.nn.Flatten(), torch.zeros(4, 3, 3), owner="ConstrainedConv1d")
        Traceback (most recent call last):
        ...
        TypeError: ConstrainedConv1d: constraint=Flatten(...) maps a weight of shape (4, 3, 3) to ...
    """
    with torch.no_grad():
        try:
            out = constraint(weight.detach())
        except Exception as err:  # a module that cannot take a weight tensor at all
            raise TypeError(
                f"{_where(owner)}constraint={constraint!r} fails on a weight of shape {tuple(weight.shape)} "
                f"({type(err).__name__}: {err}); expected a constraint module mapping a weight to a kernel"
            ) from err
    if not isinstance(out, Tensor) or out.shape != weight.shape:
        got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else f"a {type(out).__name__}"
        raise TypeError(
            f"{_where(owner)}constraint={constraint!r} maps a weight of shape {tuple(weight.shape)} "
            f"to {got}; "
            "expected a constraint module that returns a tensor of the weight's shape"
        )


#: the accepted values of ``enforce=``
ENFORCE_MODES: tuple[str, ...] = ("forward", "post_step", "inplace")


def check_enforce(enforce: Any, accepted: tuple[str, ...] = ENFORCE_MODES, owner: str = "") -> str:
    """Return ``enforce`` if it is one of ``accepted``, else raise ``ValueError``.

    Example:
        >>> check_enforce("post_step")
        'post_step'
    """
    return check_choice(enforce, "enforce", accepted, owner=owner)


def check_groups(in_channels: Any, out_channels: Any, groups: Any, owner: str = "") -> None:
    """Raise unless both channel counts are positive integers and multiples of ``groups``.

    Raises:
        TypeError: for a channel count or ``groups`` that is not an integer.
        ValueError: for one that is < 1, or channels not divisible by ``groups``.

    Example:
        >>> check_groups(8, 4, 4)
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not _is_int(value):
            raise TypeError(f"{_where(owner)}{name}={value!r} is not accepted; expected a positive integer")
        if value <= 0:
            raise ValueError(f"{_where(owner)}{name}={value!r} is not accepted; expected a positive integer")
    if in_channels % groups:
        raise ValueError(
            f"{_where(owner)}in_channels={in_channels} is not divisible by groups={groups}; "
            "expected in_channels and out_channels to be multiples of groups"
        )
    if out_channels % groups:
        raise ValueError(
            f"{_where(owner)}out_channels={out_channels} is not divisible by groups={groups}; "
            "expected in_channels and out_channels to be multiples of groups"
        )


def plain_copy(layer: nn.Module, base: type[nn.Module], weight: Tensor) -> nn.Module:
    """A plain ``base`` layer with ``layer``'s hyper-parameters and bias, and ``weight`` as its weight.

    Args:
        layer: a ``torch.nn`` convolution or linear layer (or a subclass of one).
        base: the plain class to build (``nn.Conv2d``, ``nn.ConvTranspose1d``, ``nn.Linear``, ...).
        weight: the weight to give the copy (copied, detached).

    Returns:
        The new layer, in eval mode. Building it draws no random numbers (``torch.nn.utils.skip_init``).

    Example:
        >>> conv = torch.nn.Conv1d(2, 3, 3, padding="same", bias=False)
        >>> plain = plain_copy(conv, torch.nn.Conv1d, torch.ones(3, 2, 3))
        >>> plain.padding, plain.bias is None, plain.weight.sum().item()
        ('same', True, 18.0)
    """
    w = layer.weight
    factory = {"device": w.device, "dtype": w.dtype}
    has_bias = layer.bias is not None
    if issubclass(base, nn.Linear):
        plain = skip_init(base, layer.in_features, layer.out_features, bias=has_bias, **factory)
    else:
        kwargs: dict[str, Any] = {
            "stride": layer.stride,
            "padding": layer.padding,
            "dilation": layer.dilation,
            "groups": layer.groups,
            "bias": has_bias,
            "padding_mode": layer.padding_mode,
        }
        if getattr(layer, "transposed", False):
            kwargs["output_padding"] = layer.output_padding
        plain = skip_init(base, layer.in_channels, layer.out_channels, layer.kernel_size, **kwargs, **factory)
    with torch.no_grad():
        plain.weight.copy_(weight)
        if has_bias:
            plain.bias.copy_(layer.bias)
    return plain.eval()
