"""selfeeg-compatible constrained convolution (``selfeeg.models.layers.ConstrainedConv2d``).

A thin subclass of :class:`structconv.nn.ConstrainedConv2d` with selfeeg's exact signature and defaults,
``enforce='inplace'`` and selfeeg's fuzz factor ``1e-9`` (Keras uses ``1e-7``), so that outputs match
selfeeg's layer for the same weights and selfeeg state dicts (``weight``, ``bias``) load unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from structconv.constraints import MaxNorm, MinMaxNorm, UnitNorm
from structconv.nn.constrained import ConstrainedConv2d as _UnifiedConstrainedConv2d

__all__ = ["ConstrainedConv2d", "SELFEEG_EPSILON"]

#: the fuzz factor selfeeg's ``scale_norm`` uses
SELFEEG_EPSILON = 1e-9


def _selfeeg_constraint(
    max_norm: float | None, min_norm: float | None, axis_norm: Any, minmax_rate: float
) -> tuple[nn.Module | str, int]:
    for name, value in (("max_norm", max_norm), ("min_norm", min_norm)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name}={value!r} is not accepted; expected a number > 0 or None")
            if value <= 0:
                raise ValueError(f"{name}={value!r} is not accepted; expected a number > 0 or None")
    if max_norm is not None and min_norm is not None and min_norm > max_norm:
        raise ValueError(
            f"min_norm={min_norm!r} > max_norm={max_norm!r} is not accepted; expected min_norm <= max_norm"
        )
    if isinstance(minmax_rate, bool) or not isinstance(minmax_rate, (int, float)) or not 0 < minmax_rate <= 1:
        raise ValueError(f"minmax_rate={minmax_rate!r} is not accepted; expected a number in (0, 1]")
    if isinstance(axis_norm, bool) or not isinstance(axis_norm, (int, list, tuple)):
        raise TypeError(
            f"axis_norm={axis_norm!r} is not accepted; expected an int, a list or a tuple of ints"
        )
    axis = axis_norm if isinstance(axis_norm, int) else tuple(axis_norm)
    if max_norm is None:
        return "none", 0
    if min_norm is None:
        return MaxNorm(max_norm, axis=axis, eps=SELFEEG_EPSILON), 1
    if min_norm == 1 and max_norm == 1:
        return UnitNorm(axis=axis, eps=SELFEEG_EPSILON), 3
    return MinMaxNorm(min_norm, max_norm, rate=minmax_rate, axis=axis, eps=SELFEEG_EPSILON), 2


class ConstrainedConv2d(_UnifiedConstrainedConv2d):
    r"""``Conv2d`` with a Keras-style norm constraint along ``axis_norm`` (selfeeg's signature).

    Only ``max_norm`` set: :class:`~structconv.constraints.MaxNorm`; ``min_norm`` and ``max_norm`` set:
    :class:`~structconv.constraints.MinMaxNorm` with rate ``minmax_rate``; both equal to 1:
    :class:`~structconv.constraints.UnitNorm`; ``max_norm=None``: no constraint (``min_norm`` is then
    ignored). The norm is taken over ``axis_norm`` of the ``(out, in / groups, kh, kw)`` weight
    (``[1, 2, 3]``: one norm per filter), with fuzz factor ``1e-9`` as in selfeeg.

    The stored weight is projected in place before a forward, in train and eval mode alike, whenever it
    changed since the last projection (``enforce='inplace'``); :meth:`scale_norm` projects on demand.

    Args:
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: size of the kernel.
        stride: stride of the convolution.
        padding: padding (an int, a tuple, ``'same'`` or ``'valid'``); default ``'same'``.
        dilation: spacing between kernel taps.
        groups: number of blocked connections from input to output channels.
        bias: whether to learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: the parameters' device.
        dtype: the parameters' dtype.
        max_norm: the maximum norm of every unit, or ``None`` for no constraint.
        min_norm: the minimum norm (MinMaxNorm when ``max_norm`` is set too).
        axis_norm: the weight dims the norm runs over.
        minmax_rate: MinMaxNorm's rate, in ``(0, 1]``.

    Shape:
        Input :math:`(N, C_{in}, H, W)`, output :math:`(N, C_{out}, H_{out}, W_{out})` as for ``nn.Conv2d``
        (with the default ``padding='same'`` and stride 1: :math:`H_{out} = H`, :math:`W_{out} = W`).

    The selfeeg documentation's example comments the output shape as ``torch.Size([4, 2, 8, 64])``; the
    layer has 4 output channels, so the shape is ``torch.Size([4, 4, 8, 64])``, as below.

    Example:
        >>> from structconv.compat.selfeeg import ConstrainedConv2d
        >>> x = torch.randn(4, 1, 8, 64)
        >>> mdl = ConstrainedConv2d(1, 4, (1, 15), max_norm = 0.5)
        >>> mdl.weight = torch.nn.Parameter(mdl.weight*10)
        >>> out = mdl(x)
        >>> norms = torch.sqrt(torch.sum(torch.square(mdl.weight), axis=[1,2,3]))
        >>> print(out.shape)
        torch.Size([4, 4, 8, 64])
        >>> print(torch.isnan(out).sum())
        tensor(0)
        >>> print(torch.sum(norms>(0.5+1e-3)).item() == 0)
        True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = "same",
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        max_norm: float | None = 2.0,
        min_norm: float | None = None,
        axis_norm: int | Sequence[int] = [1, 2, 3],  # noqa: B006 - selfeeg's exact default
        minmax_rate: float = 1.0,
    ) -> None:
        constraint, kind = _selfeeg_constraint(max_norm, min_norm, axis_norm, minmax_rate)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            constraint=constraint,
            enforce="inplace",
        )
        self.max_norm = max_norm
        self.min_norm = min_norm
        self.axis_norm = axis_norm
        self.minmax_rate = minmax_rate
        #: selfeeg's code: 0 none, 1 MaxNorm, 2 MinMaxNorm, 3 UnitNorm
        self.constraint_type = kind

    def scale_norm(self) -> None:
        """Apply the norm constraint to the stored weight now, in place (selfeeg's method name)."""
        self.project_()
