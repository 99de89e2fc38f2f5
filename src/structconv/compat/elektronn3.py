"""Exact-signature counterparts of ``elektronn3.modules.wsconv`` (elektronn3 0.1.1).

``WSConv1d/2d/3d``, ``WSConvTranspose2d/3d`` and ``FWS`` with the reference signatures and defaults,
the reference state-dict keys (``weight``, ``bias``, ``gain``; ``gain``, ``fan_in``, ``eps``,
``layer.*`` for ``FWS``) and the reference numerics. Measured on the installed elektronn3 0.1.1, its
standardization of a weight ``W`` with gain ``g`` is, per slice ``i`` along **dim 0**:

.. math::

    \\hat W_i = g_i \\, (W_i - \\mu_i) \\, \\operatorname{rsqrt}\\bigl(\\max(s_i^2 \\, N, \\epsilon)\\bigr)

with the **unbiased** variance :math:`s_i^2` (divide by ``n - 1``) and ``N = weight.numel()``, the size
of the *whole* weight tensor (not the fan-in of one filter, unlike NF-Nets), evaluated as
``W * a - mu * a`` with ``a = rsqrt(max(var * N, eps)) * g``. These classes compute exactly that
(bit-identical in float32 and float64), so same weights give the same outputs and state dicts load
both ways. For the transposed layers dim 0 is the *input* channel, so ``gain`` has ``in_channels``
entries, as in the reference. The unified layers of :mod:`structconv.nn` use NF-Nets' statistics
instead (biased variance, per-filter fan-in, output filters of transposed weights).

Deliberate differences from elektronn3 0.1.1 (where the library contradicts its own documentation or
this project's rules):

* ``WSConvTranspose2d/3d.forward`` applies the standardized weight and honours ``output_size``, as the
  reference document says ("after weight normalization/standardization" and the ``output_size``
  example giving ``torch.Size([1, 16, 12, 12])``); elektronn3 0.1.1 runs the raw weight and ignores
  ``output_size``.
* ``WSConv1d/2d/3d`` honour ``padding_mode`` (elektronn3 0.1.1 zero-pads silently for ``'reflect'`` and
  ``'replicate'`` in 2D). With the default ``padding_mode='zeros'`` outputs are identical.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from structconv.nn.constrained import wsconv as _ws

__all__ = ["FWS", "WSConv1d", "WSConv2d", "WSConv3d", "WSConvTranspose2d", "WSConvTranspose3d"]


class _Elektronn3Stats:
    _ws_unbiased = True
    _ws_numel_fan_in = True
    _ws_transposed_filters = False

    def _ws_extra(self) -> str:
        return ", scaled_ws=elektronn3"


class _Elektronn3Conv(_Elektronn3Stats):
    def forward(self, input: Tensor, eps: float = 0.0001) -> Tensor:  # the reference signature
        return super().forward(input, eps)  # type: ignore[misc]


class _Elektronn3ConvTranspose(_Elektronn3Stats):
    def forward(  # the reference signature
        self, input: Tensor, output_size: list[int] | None = None, eps: float = 0.0001
    ) -> Tensor:
        return super().forward(input, output_size, eps)  # type: ignore[misc]


class WSConv1d(_Elektronn3Conv, _ws.WSConv1d):
    """``elektronn3.modules.wsconv.WSConv1d``: 1D convolution on the elektronn3-standardized weight.

    ``forward(input, eps=0.0001)``; ``standardize_weight(eps)`` returns the kernel used (see the module
    docstring for the formula).

    Example:
        >>> m = WSConv1d(16, 33, 3, stride=2)
        >>> m(torch.randn(20, 16, 50)).shape
        torch.Size([20, 33, 24])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode
        )


class WSConv2d(_Elektronn3Conv, _ws.WSConv2d):
    """``elektronn3.modules.wsconv.WSConv2d``: 2D convolution on the elektronn3-standardized weight.

    ``forward(input, eps=0.0001)``; ``standardize_weight(eps)`` returns the kernel used.

    Example:
        >>> m = WSConv2d(16, 33, 3, stride=2)
        >>> m = WSConv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))
        >>> m = WSConv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
        >>> input = torch.randn(20, 16, 50, 100)
        >>> m(input).shape
        torch.Size([20, 33, 26, 100])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode
        )


class WSConv3d(_Elektronn3Conv, _ws.WSConv3d):
    """``elektronn3.modules.wsconv.WSConv3d``: 3D convolution on the elektronn3-standardized weight.

    Example:
        >>> m = WSConv3d(2, 4, 3, padding=1)
        >>> m(torch.randn(1, 2, 5, 5, 5)).shape
        torch.Size([1, 4, 5, 5, 5])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode
        )


class WSConvTranspose2d(_Elektronn3ConvTranspose, _ws.WSConvTranspose2d):
    """``elektronn3.modules.wsconv.WSConvTranspose2d``: transposed 2D convolution, standardized along dim 0.

    ``gain`` has ``in_channels`` entries; ``forward(input, output_size=None, eps=0.0001)``.

    Example:
        >>> m = WSConvTranspose2d(16, 33, 3, stride=2)
        >>> m = WSConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))
        >>> m(torch.randn(20, 16, 50, 100)).shape
        torch.Size([20, 33, 93, 100])
        >>> input = torch.randn(1, 16, 12, 12)
        >>> downsample = WSConv2d(16, 16, 3, stride=2, padding=1)
        >>> upsample = WSConvTranspose2d(16, 16, 3, stride=2, padding=1)
        >>> h = downsample(input)
        >>> h.size()
        torch.Size([1, 16, 6, 6])
        >>> upsample(h, output_size=input.size()).size()
        torch.Size([1, 16, 12, 12])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int = 1,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
        )


class WSConvTranspose3d(_Elektronn3ConvTranspose, _ws.WSConvTranspose3d):
    """``elektronn3.modules.wsconv.WSConvTranspose3d``: transposed 3D convolution, standardized along dim 0.

    Example:
        >>> m = WSConvTranspose3d(2, 4, 3, stride=2, padding=1)
        >>> m(torch.randn(1, 2, 3, 3, 3), output_size=[6, 6, 6]).shape
        torch.Size([1, 4, 6, 6, 6])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int = 1,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
        )


class FWS(_ws.FWS):
    """``elektronn3.modules.wsconv.FWS``: standardize ``layer.weight`` in place before every forward.

    Statistics along dim 0 of every weight (also of transposed convs), unbiased variance, ``fan_in``
    buffer = ``weight.numel()``; re-standardizes on every forward (training, or eval with
    ``const_eval=False``) exactly like the reference. ``gain`` gets no gradient (the projection runs
    without autograd), as in the reference.

    Example:
        >>> f = FWS(nn.Conv2d(4, 8, 3))
        >>> sorted(f.state_dict())
        ['eps', 'fan_in', 'gain', 'layer.bias', 'layer.weight']
        >>> f(torch.randn(1, 4, 5, 5)).shape
        torch.Size([1, 8, 3, 3])
    """

    _ws_unbiased = True
    _ws_numel_fan_in = True
    _ws_always_dim0 = True

    def __init__(
        self, layer: nn.Module, learnable_gain: bool = True, const_eval: bool = False, eps: float = 0.0001
    ) -> None:
        super().__init__(layer, learnable_gain=learnable_gain, const_eval=const_eval, eps=eps)

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
