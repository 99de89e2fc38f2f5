"""Helpers shared by the structured convolution layers: argument checks and export to plain layers."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["ENFORCE_MODES", "check_enforce", "check_groups", "plain_copy"]

#: the accepted values of ``enforce=``
ENFORCE_MODES: tuple[str, ...] = ("forward", "post_step", "inplace")


def check_enforce(enforce: Any, accepted: tuple[str, ...] = ENFORCE_MODES) -> str:
    """Return ``enforce`` if it is one of ``accepted``, else raise ``ValueError``.

    Example:
        >>> check_enforce("post_step")
        'post_step'
    """
    if not isinstance(enforce, str) or enforce not in accepted:
        raise ValueError(f"enforce={enforce!r} is not known; expected one of: {', '.join(accepted)}")
    return enforce


def check_groups(in_channels: Any, out_channels: Any, groups: Any) -> None:
    """Raise ``ValueError`` unless both channel counts are positive multiples of ``groups``.

    Example:
        >>> check_groups(8, 4, 4)
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}={value!r} is not accepted; expected a positive integer")
    if in_channels % groups:
        raise ValueError(
            f"in_channels={in_channels} is not divisible by groups={groups}; "
            "expected in_channels and out_channels to be multiples of groups"
        )
    if out_channels % groups:
        raise ValueError(
            f"out_channels={out_channels} is not divisible by groups={groups}; "
            "expected in_channels and out_channels to be multiples of groups"
        )


def plain_copy(layer: nn.Module, base: type[nn.Module], weight: Tensor) -> nn.Module:
    """A plain ``base`` layer with ``layer``'s hyper-parameters and bias, and ``weight`` as its weight.

    Args:
        layer: a ``torch.nn`` convolution or linear layer (or a subclass of one).
        base: the plain class to build (``nn.Conv2d``, ``nn.ConvTranspose1d``, ``nn.Linear``, ...).
        weight: the weight to give the copy (copied, detached).

    Returns:
        The new layer, in the same train/eval mode as ``layer``.

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
        plain = base(layer.in_features, layer.out_features, bias=has_bias, **factory)
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
        plain = base(layer.in_channels, layer.out_channels, layer.kernel_size, **kwargs, **factory)
    with torch.no_grad():
        plain.weight.copy_(weight)
        if has_bias:
            plain.bias.copy_(layer.bias)
    return plain.train(layer.training)
