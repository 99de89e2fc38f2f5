"""lucid-compatible constrained convolutions (``lucid.nn.ConstrainedConv1d/2d/3d``).

Thin subclasses of :mod:`structconv.nn`'s unified layers with lucid's exact signature and defaults
(no ``padding_mode``/``device``/``dtype``: zero padding, default device and dtype). ``enforce`` also
accepts ``'inplace'`` besides lucid's ``'forward'`` and ``'post_step'``.
"""

from __future__ import annotations

from typing import Literal

from structconv.nn.constrained import layers as _c

__all__ = ["ConstrainedConv1d", "ConstrainedConv2d", "ConstrainedConv3d"]

ConstraintName = Literal[
    "none", "nonneg", "sum_to_one", "zero_mean", "nonneg_sum1", "unit_l2", "max_l2", "fixed_center"
]
PaddingStr = Literal["same", "valid"]


class ConstrainedConv1d(_c.ConstrainedConv1d):
    r"""``Conv1d`` with a structural constraint on each kernel slice (lucid's signature).

    See :class:`structconv.nn.ConstrainedConv1d` for the modes, their formulas and ``enforce``.

    Shape:
        Input :math:`(N, C_{in}, L)`, output :math:`(N, C_{out}, L_{out})`,
        :math:`L_{out} = \lfloor (L + 2P - D(K - 1) - 1) / S \rfloor + 1`.

    Args:
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: kernel size.
        stride: stride.
        padding: padding (``'same'``, ``'valid'``, an int or a tuple).
        dilation: dilation.
        groups: grouped convolution factor.
        bias: whether to learn an additive bias.
        constraint: the constraint mode.
        enforce: ``'forward'`` or ``'post_step'`` (or ``'inplace'``).
        eps: stability constant.
        max_l2: upper bound of ``'max_l2'``.
        center_value: centre coefficient of ``'fixed_center'``.
        neighbor_sum: sum of the non-centre coefficients of ``'fixed_center'``.

    Example:
        >>> import structconv.compat.lucid as nn
        >>> x = torch.randn(4, 8, 128)
        >>> m = nn.ConstrainedConv1d(
        ...     8, 16, kernel_size=7, padding=3,
        ...     constraint="nonneg_sum1",
        ... )
        >>> y = m(x)
        >>> y.shape
        torch.Size([4, 16, 128])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: PaddingStr | int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        constraint: ConstraintName = "none",
        enforce: Literal["forward", "post_step"] = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            constraint=constraint,
            enforce=enforce,
            eps=eps,
            max_l2=max_l2,
            center_value=center_value,
            neighbor_sum=neighbor_sum,
        )


class ConstrainedConv2d(_c.ConstrainedConv2d):
    r"""``Conv2d`` with a structural constraint on each kernel slice (lucid's signature).

    See :class:`structconv.nn.ConstrainedConv2d` for the modes, their formulas and ``enforce``.

    Shape:
        Input :math:`(N, C_{in}, H, W)`, output :math:`(N, C_{out}, H_{out}, W_{out})`,
        :math:`H_{out} = \lfloor (H + 2P_0 - D_0(K_0 - 1) - 1) / S_0 \rfloor + 1` (same for :math:`W`).

    Args:
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: kernel size.
        stride: stride.
        padding: padding (``'same'``, ``'valid'``, an int or a tuple).
        dilation: dilation.
        groups: grouped convolution factor.
        bias: whether to learn an additive bias.
        constraint: the constraint mode.
        enforce: ``'forward'`` or ``'post_step'`` (or ``'inplace'``).
        eps: stability constant.
        max_l2: upper bound of ``'max_l2'``.
        center_value: centre coefficient of ``'fixed_center'``.
        neighbor_sum: sum of the non-centre coefficients of ``'fixed_center'``.

    Example:
        >>> import structconv.compat.lucid as nn
        >>> m = nn.ConstrainedConv2d(3, 8, kernel_size=5, padding=2, constraint="fixed_center")
        >>> m(torch.randn(1, 3, 32, 32)).shape
        torch.Size([1, 8, 32, 32])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: PaddingStr | int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        constraint: ConstraintName = "none",
        enforce: Literal["forward", "post_step"] = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            constraint=constraint,
            enforce=enforce,
            eps=eps,
            max_l2=max_l2,
            center_value=center_value,
            neighbor_sum=neighbor_sum,
        )


class ConstrainedConv3d(_c.ConstrainedConv3d):
    r"""``Conv3d`` with a structural constraint on each kernel block (lucid's signature).

    See :class:`structconv.nn.ConstrainedConv3d` for the modes, their formulas and ``enforce``.

    Shape:
        Input :math:`(N, C_{in}, D, H, W)`, output :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`,
        :math:`D_{out} = \lfloor (D + 2P_0 - D_0(K_0 - 1) - 1) / S_0 \rfloor + 1` (same for :math:`H, W`).

    Args:
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: 3-D kernel size.
        stride: stride.
        padding: padding (``'same'``, ``'valid'``, an int or a tuple).
        dilation: dilation.
        groups: grouped convolution factor.
        bias: whether to learn an additive bias.
        constraint: the constraint mode.
        enforce: ``'forward'`` or ``'post_step'`` (or ``'inplace'``).
        eps: stability constant.
        max_l2: upper bound of ``'max_l2'`` (required for it).
        center_value: centre coefficient of ``'fixed_center'``.
        neighbor_sum: sum of the non-centre coefficients of ``'fixed_center'``.

    Example:
        >>> import structconv.compat.lucid as nn
        >>> conv = nn.ConstrainedConv3d(
        ...     8, 8, kernel_size=3, padding=1,
        ...     groups=4,
        ...     constraint="nonneg",
        ... )
        >>> conv(torch.randn(2, 8, 4, 6, 6)).shape
        torch.Size([2, 8, 4, 6, 6])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: PaddingStr | int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        constraint: ConstraintName = "none",
        enforce: Literal["forward", "post_step"] = "forward",
        eps: float = 1e-12,
        max_l2: float | None = None,
        center_value: float = -1.0,
        neighbor_sum: float = 1.0,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            constraint=constraint,
            enforce=enforce,
            eps=eps,
            max_l2=max_l2,
            center_value=center_value,
            neighbor_sum=neighbor_sum,
        )

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
