r"""A depthwise-separable convolution with a constraint on each part: :class:`ConstrainedSeparableConv2d`."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from structconv.nn._conv_utils import check_conv_args, check_enforce, check_int
from structconv.nn.constrained.layers import ConstrainedConv2d, ConstraintArg

__all__ = ["ConstrainedSeparableConv2d"]


class ConstrainedSeparableConv2d(nn.Module):
    r"""Depthwise-separable 2-D convolution whose depthwise and pointwise kernels are constrained.

    A depthwise :class:`~structconv.nn.ConstrainedConv2d` (``groups=in_channels``,
    :math:`D \cdot C_{in}` outputs, no bias) followed by a 1x1 :class:`~structconv.nn.ConstrainedConv2d`
    to ``out_channels`` (with the bias), as Keras' ``SeparableConv2D``:

    .. math::

        y = \tilde W_p * (\tilde W_d \circledast x) + b, \qquad \tilde W_d = P_d(W_d), \ \tilde W_p = P_p(W_p)

    where :math:`\circledast` convolves every input channel with :math:`D` filters of its own. The
    constraints take every form the constrained layers accept: a name (``'max_norm'``, ``'zero_mean'``,
    ...), a call-form name (``'max_norm(max_value=1.0)'``), a constraint module or a list. EEGNet's
    separable block is ``ConstrainedSeparableConv2d(16, 16, (1, 16), padding="same")``; its spatial
    (depthwise) filters with max-norm 1 are
    ``ConstrainedConv2d(8, 16, (C, 1), groups=8, bias=False, constraint="max_norm(max_value=1.0)")``.

    Args:
        in_channels: number of input channels :math:`C_{in}`.
        out_channels: number of output channels.
        kernel_size: size of the depthwise kernel.
        stride: stride of the depthwise convolution.
        padding: padding of the depthwise convolution (an int, a tuple, ``'same'`` or ``'valid'``).
        dilation: dilation of the depthwise convolution.
        bias: whether the pointwise convolution learns an additive bias.
        padding_mode: padding mode of the depthwise convolution.
        device: the parameters' device.
        dtype: the parameters' dtype.
        depth_multiplier: depthwise filters per input channel, :math:`D`.
        depth_constraint: constraint of the depthwise kernel.
        point_constraint: constraint of the pointwise kernel.
        enforce: ``'forward'``, ``'post_step'`` or ``'inplace'``, for both parts
            (see :mod:`structconv.nn.constrained.layers`).

    Shape:
        Input :math:`(N, C_{in}, H, W)`, output :math:`(N, C_{out}, H_{out}, W_{out})` with
        :math:`H_{out}, W_{out}` those of ``nn.Conv2d`` with the depthwise kernel, stride, padding and
        dilation.

    Example:
        >>> from structconv.nn import ConstrainedSeparableConv2d
        >>> m = ConstrainedSeparableConv2d(4, 8, 3, padding=1, depth_multiplier=2,
        ...     depth_constraint="max_norm(max_value=1.0)", point_constraint="unit_norm")
        >>> m(torch.randn(2, 4, 16, 16)).shape
        torch.Size([2, 8, 16, 16])
        >>> bool((m.depthwise.constrained_weight().flatten(1).norm(dim=1) <= 1 + 1e-6).all())
        True
        >>> torch.allclose(m.export()(torch.ones(1, 4, 5, 5)), m(torch.ones(1, 4, 5, 5)), atol=1e-6)
        True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        depth_multiplier: int = 1,
        depth_constraint: ConstraintArg = "none",
        point_constraint: ConstraintArg = "none",
        enforce: str = "forward",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        dm = check_int(depth_multiplier, "depth_multiplier", minimum=1, owner=owner)
        check_conv_args(
            owner, 2, in_channels, out_channels, kernel_size, stride, padding, dilation, 1, bias,
            padding_mode, dtype, device=device,
        )
        check_enforce(enforce, owner=owner)
        factory = {"device": device, "dtype": dtype}
        self.depthwise = ConstrainedConv2d(
            in_channels,
            dm * in_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups=in_channels,
            bias=False,
            padding_mode=padding_mode,
            **factory,
            constraint=depth_constraint,
            enforce=enforce,
        )
        self.pointwise = ConstrainedConv2d(
            dm * in_channels, out_channels, 1, bias=bias, **factory, constraint=point_constraint,
            enforce=enforce,
        )
        self.depth_multiplier = dm

    def forward(self, input: Tensor) -> Tensor:
        """The depthwise, then the pointwise convolution."""
        return self.pointwise(self.depthwise(input))

    def export(self) -> nn.Sequential:
        """Two plain ``nn.Conv2d`` (depthwise, pointwise), the constrained kernels baked in, in eval mode."""
        return nn.Sequential(self.depthwise.export(), self.pointwise.export()).eval()

    def extra_repr(self) -> str:
        return f"depth_multiplier={self.depth_multiplier}"
