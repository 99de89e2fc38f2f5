"""selfeeg-compatible norm-constrained layers (``selfeeg.models.layers``).

The building blocks of EEGNet and its relatives, with selfeeg's exact signatures and defaults:

=========================  ==========================================================================
:class:`ConstrainedConv1d`  ``Conv1d`` (``padding='causal'`` too), ``axis_norm=[1, 2]``
:class:`ConstrainedConv2d`  ``Conv2d``, ``axis_norm=[1, 2, 3]``
:class:`ConstrainedDense`   ``Linear``, ``axis_norm=1``
:class:`DepthwiseConv2d`    ``Conv2d`` with ``groups=in_channels`` and ``depth_multiplier * in_channels``
                            outputs, ``bias=False``
:class:`SeparableConv2d`    a :class:`DepthwiseConv2d` (``.depthwise``) then a 1x1 :class:`ConstrainedConv2d`
                            (``.pointwise``), unconstrained unless ``depth_max_norm`` / ``point_max_norm``
=========================  ==========================================================================

Each is a thin subclass of the unified layer (:class:`structconv.nn.ConstrainedConv1d`,
:class:`~structconv.nn.ConstrainedConv2d`, :class:`~structconv.nn.ConstrainedLinear`) with
``enforce='inplace'`` (the stored weight is projected in place before every forward, as selfeeg does) and
selfeeg's fuzz factor ``1e-9`` (Keras uses ``1e-7``), so outputs and stored weights match selfeeg's layers
for the same weights, and selfeeg state dicts load unchanged (and back). The constraint follows selfeeg's
rule: only ``max_norm`` set gives :class:`~structconv.constraints.MaxNorm`; ``min_norm`` and
``max_norm`` set give :class:`~structconv.constraints.MinMaxNorm` with rate ``minmax_rate``; both equal to
1 give :class:`~structconv.constraints.UnitNorm`; ``max_norm=None`` gives no constraint.

Example:
    >>> from structconv.compat.selfeeg import ConstrainedDense, DepthwiseConv2d
    >>> spatial = DepthwiseConv2d(8, 2, (22, 1), max_norm=1.0)  # EEGNet's spatial filter
    >>> head = ConstrainedDense(64, 4, max_norm=0.25)            # EEGNet's classifier
    >>> spatial(torch.randn(2, 8, 22, 128)).shape, head(torch.randn(2, 64)).shape
    (torch.Size([2, 16, 22, 128]), torch.Size([2, 4]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from structconv.constraints import MaxNorm, MinMaxNorm, UnitNorm
from structconv.nn.constrained.layers import ConstrainedConv1d as _UnifiedConstrainedConv1d
from structconv.nn.constrained.layers import ConstrainedConv2d as _UnifiedConstrainedConv2d
from structconv.nn.constrained.layers import ConstrainedLinear as _UnifiedConstrainedLinear

__all__ = [
    "SELFEEG_EPSILON",
    "ConstrainedConv1d",
    "ConstrainedConv2d",
    "ConstrainedDense",
    "DepthwiseConv2d",
    "SeparableConv2d",
]

#: the fuzz factor selfeeg's ``scale_norm`` uses
SELFEEG_EPSILON = 1e-9


def _selfeeg_constraint(
    max_norm: float | None,
    min_norm: float | None,
    axis_norm: Any,
    minmax_rate: float,
    eps: float = SELFEEG_EPSILON,
    prefix: str = "",
) -> tuple[nn.Module | str, int]:
    """selfeeg's checks and its constraint rule; returns the constraint and selfeeg's ``constraint_type``."""
    for name, value in ((f"{prefix}max_norm", max_norm), (f"{prefix}min_norm", min_norm)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name}={value!r} is not accepted; expected a number > 0 or None")
            if value <= 0:
                raise ValueError(f"{name}={value!r} is not accepted; expected a number > 0 or None")
    if max_norm is not None and min_norm is not None and min_norm > max_norm:
        raise ValueError(
            f"{prefix}min_norm={min_norm!r} > {prefix}max_norm={max_norm!r} is not accepted; "
            f"expected {prefix}min_norm <= {prefix}max_norm"
        )
    if isinstance(minmax_rate, bool) or not isinstance(minmax_rate, (int, float)) or not 0 < minmax_rate <= 1:
        raise ValueError(
            f"{prefix}minmax_rate={minmax_rate!r} is not accepted; expected a number in (0, 1]"
        )
    if isinstance(axis_norm, bool) or not isinstance(axis_norm, (int, list, tuple)):
        raise TypeError(
            f"axis_norm={axis_norm!r} is not accepted; expected an int, a list or a tuple of ints"
        )
    axis = axis_norm if isinstance(axis_norm, int) else tuple(axis_norm)
    if max_norm is None:
        return "none", 0
    if min_norm is None:
        return MaxNorm(max_norm, axis=axis, eps=eps), 1
    if min_norm == 1 and max_norm == 1:
        return UnitNorm(axis=axis, eps=eps), 3
    return MinMaxNorm(min_norm, max_norm, rate=minmax_rate, axis=axis, eps=eps), 2


class _SelfeegNorm:
    """selfeeg's attributes (``max_norm``, ..., ``constraint_type``) and its ``scale_norm`` method."""

    weight: nn.Parameter
    weight_constraint: nn.Module
    project_: Any

    def _set_selfeeg_attributes(
        self, max_norm: float | None, min_norm: float | None, axis_norm: Any, minmax_rate: float, kind: int
    ) -> None:
        self.max_norm = max_norm
        self.min_norm = min_norm
        self.axis_norm = axis_norm
        self.minmax_rate = minmax_rate
        #: selfeeg's code: 0 none, 1 MaxNorm, 2 MinMaxNorm, 3 UnitNorm
        self.constraint_type = kind

    def scale_norm(self, eps: float = SELFEEG_EPSILON) -> None:
        """Apply the norm constraint to the stored weight now, in place (selfeeg's method and signature).

        Args:
            eps: the fuzz factor of this projection (selfeeg's default ``1e-9``).
        """
        if self.constraint_type == 0:
            return
        if eps == SELFEEG_EPSILON:
            self.project_()
            return
        once, _ = _selfeeg_constraint(self.max_norm, self.min_norm, self.axis_norm, self.minmax_rate, eps)
        with torch.no_grad():
            self.weight.data.copy_(once(self.weight.data))  # type: ignore[operator]


class ConstrainedConv2d(_SelfeegNorm, _UnifiedConstrainedConv2d):
    r"""``Conv2d`` with a Keras-style norm constraint along ``axis_norm`` (selfeeg's signature).

    Only ``max_norm`` set: :class:`~structconv.constraints.MaxNorm`; ``min_norm`` and ``max_norm`` set:
    :class:`~structconv.constraints.MinMaxNorm` with rate ``minmax_rate``; both equal to 1:
    :class:`~structconv.constraints.UnitNorm`; ``max_norm=None``: no constraint (``min_norm`` is then
    ignored). The norm is taken over ``axis_norm`` of the ``(out, in / groups, kh, kw)`` weight
    (``[1, 2, 3]``: one norm per filter), with fuzz factor ``1e-9`` as in selfeeg.

    The stored weight is projected in place before every forward, in train and eval mode alike
    (``enforce='inplace'``); :meth:`scale_norm` projects on demand.

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
        self._set_selfeeg_attributes(max_norm, min_norm, axis_norm, minmax_rate, kind)


class ConstrainedConv1d(_SelfeegNorm, _UnifiedConstrainedConv1d):
    r"""``Conv1d`` with a Keras-style norm constraint along ``axis_norm`` (selfeeg's signature).

    The constraint rule, the fuzz factor and the in-place projection before every forward are those of
    :class:`ConstrainedConv2d`; the default ``axis_norm=[1, 2]`` gives one norm per filter of the
    ``(out, in / groups, k)`` weight. ``padding='causal'`` (any case) pads ``(kernel_size - 1) * dilation``
    samples on both sides and drops as many from the end of the output, so output sample :math:`t`
    depends only on input samples :math:`\le t` (``self.pad`` and ``self.causal_pad`` as in selfeeg).

    Deviation: with ``padding='causal'`` and ``kernel_size=1`` selfeeg returns an empty tensor (it slices
    ``[..., :-0]``); this layer returns the convolution's output.

    Args:
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: size of the kernel (an int with ``padding='causal'``).
        stride: stride of the convolution.
        padding: padding (an int, a tuple, ``'same'``, ``'valid'`` or ``'causal'``); default ``'same'``.
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
        Input :math:`(N, C_{in}, L)`, output :math:`(N, C_{out}, L_{out})` as for ``nn.Conv1d``;
        ``padding='causal'`` with stride 1 keeps :math:`L_{out} = L`.

    Example:
        >>> from structconv.compat.selfeeg import ConstrainedConv1d
        >>> mdl = ConstrainedConv1d(2, 4, 5, padding="causal", max_norm=0.5)
        >>> x = torch.randn(1, 2, 32)
        >>> y = mdl(x)
        >>> y.shape, bool((mdl.weight.flatten(1).norm(dim=1) <= 0.5 + 1e-6).all())
        (torch.Size([1, 4, 32]), True)
        >>> x2 = x.clone(); x2[..., 20:] = 0.0          # the future does not change the past
        >>> torch.equal(mdl(x2)[..., :20], y[..., :20])
        True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: str | int | tuple[int] = "same",
        dilation: int | tuple[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: torch.dtype | None = None,
        max_norm: float | None = 2.0,
        min_norm: float | None = None,
        axis_norm: int | Sequence[int] = [1, 2],  # noqa: B006 - selfeeg's exact default
        minmax_rate: float = 1.0,
    ) -> None:
        constraint, kind = _selfeeg_constraint(max_norm, min_norm, axis_norm, minmax_rate)
        self.pad: Any = padding
        self.causal_pad = False
        if isinstance(padding, str) and padding.casefold() == "causal":
            k = kernel_size[0] if isinstance(kernel_size, tuple) and len(kernel_size) == 1 else kernel_size
            d = dilation[0] if isinstance(dilation, tuple) and len(dilation) == 1 else dilation
            if not (isinstance(k, int) and isinstance(d, int)):
                raise TypeError(
                    f"kernel_size={kernel_size!r}, dilation={dilation!r} are not accepted with "
                    "padding='causal'; expected ints"
                )
            self.causal_pad = True
            self.pad = (k - 1) * d
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            self.pad,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            constraint=constraint,
            enforce="inplace",
        )
        self._set_selfeeg_attributes(max_norm, min_norm, axis_norm, minmax_rate, kind)

    def forward(self, input: Tensor) -> Tensor:
        """Convolve ``input`` with the projected kernel (and drop the causal tail)."""
        out = super().forward(input)
        return out[..., : out.shape[-1] - self.pad] if self.causal_pad else out

    def export(self) -> nn.Module:
        """A plain ``nn.Conv1d`` with the kernel baked in, in eval mode (with ``'causal'``, followed by a
        ``nn.ZeroPad1d((0, -pad))``: a negative pad cuts the causal tail); only ``torch.nn`` classes."""
        plain = super().export()
        return nn.Sequential(plain, nn.ZeroPad1d((0, -self.pad))).eval() if self.causal_pad else plain


class ConstrainedDense(_SelfeegNorm, _UnifiedConstrainedLinear):
    r"""``Linear`` with a Keras-style norm constraint along ``axis_norm`` (selfeeg's signature).

    The constraint rule, the fuzz factor and the in-place projection before every forward are those of
    :class:`ConstrainedConv2d`; the default ``axis_norm=1`` gives one norm per output unit of the
    ``(out_features, in_features)`` weight. ``axis_norm`` may only name dims 0 and 1, as in selfeeg.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device: the parameters' device.
        dtype: the parameters' dtype.
        max_norm: the maximum norm of every unit, or ``None`` for no constraint.
        min_norm: the minimum norm (MinMaxNorm when ``max_norm`` is set too).
        axis_norm: the weight dims the norm runs over (0, 1 or both).
        minmax_rate: MinMaxNorm's rate, in ``(0, 1]``.

    Shape:
        Input :math:`(*, H_{in})`, output :math:`(*, H_{out})`.

    Example:
        >>> from structconv.compat.selfeeg import ConstrainedDense
        >>> head = ConstrainedDense(16, 4, max_norm=0.25)
        >>> head.weight.data.mul_(100.0).shape
        torch.Size([4, 16])
        >>> y = head(torch.randn(3, 16))
        >>> bool((head.weight.norm(dim=1) <= 0.25 + 1e-6).all())
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: torch.dtype | None = None,
        max_norm: float | None = 2.0,
        min_norm: float | None = None,
        axis_norm: int | Sequence[int] = 1,
        minmax_rate: float = 1.0,
    ) -> None:
        axes = [axis_norm] if isinstance(axis_norm, int) and not isinstance(axis_norm, bool) else axis_norm
        if isinstance(axes, (list, tuple)) and any(
            isinstance(a, int) and not isinstance(a, bool) and a not in (0, 1) for a in axes
        ):
            raise ValueError(
                f"axis_norm={axis_norm!r} is not accepted; a Linear weight has 2 dims: expected 0, 1 or both"
            )
        constraint, kind = _selfeeg_constraint(max_norm, min_norm, axis_norm, minmax_rate)
        super().__init__(
            in_features, out_features, bias, device, dtype, constraint=constraint, enforce="inplace"
        )
        self._set_selfeeg_attributes(max_norm, min_norm, axis_norm, minmax_rate, kind)


class DepthwiseConv2d(_SelfeegNorm, _UnifiedConstrainedConv2d):
    r"""Depthwise ``Conv2d`` with a Keras-style norm constraint (selfeeg's signature).

    A ``Conv2d`` from ``in_channels`` to ``depth_multiplier * in_channels`` channels with
    ``groups=in_channels``: every input channel gets ``depth_multiplier`` filters of its own (EEGNet's
    spatial filters, with ``kernel_size=(channels, 1)`` and ``max_norm=1``). The constraint rule, the fuzz
    factor and the in-place projection before every forward are those of :class:`ConstrainedConv2d`.

    Args:
        in_channels: number of input channels.
        depth_multiplier: filters per input channel.
        kernel_size: size of the kernel.
        stride: stride of the convolution.
        padding: padding (an int, a tuple, ``'same'`` or ``'valid'``); default ``'same'``.
        dilation: spacing between kernel taps.
        bias: whether to learn an additive bias (default ``False``).
        max_norm: the maximum norm of every filter, or ``None`` for no constraint.
        min_norm: the minimum norm (MinMaxNorm when ``max_norm`` is set too).
        axis_norm: the weight dims the norm runs over.
        minmax_rate: MinMaxNorm's rate, in ``(0, 1]``.

    Shape:
        Input :math:`(N, C_{in}, H, W)`, output :math:`(N, D \cdot C_{in}, H_{out}, W_{out})`, :math:`D` =
        ``depth_multiplier``, :math:`H_{out}, W_{out}` as for ``nn.Conv2d``.

    Example:
        >>> from structconv.compat.selfeeg import DepthwiseConv2d
        >>> mdl = DepthwiseConv2d(1, 2, (1, 15), max_norm = 0.5)
        >>> mdl.weight = torch.nn.Parameter(mdl.weight * 10)
        >>> out = mdl(torch.randn(4, 1, 8, 64))
        >>> out.shape, bool((mdl.weight.flatten(1).norm(dim=1) <= 0.5 + 1e-6).all())
        (torch.Size([4, 2, 8, 64]), True)
    """

    def __init__(
        self,
        in_channels: int,
        depth_multiplier: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = "same",
        dilation: int | tuple[int, int] = 1,
        bias: bool = False,
        max_norm: float | None = 2.0,
        min_norm: float | None = None,
        axis_norm: int | Sequence[int] = [1, 2, 3],  # noqa: B006 - selfeeg's exact default
        minmax_rate: float = 1.0,
    ) -> None:
        dm = depth_multiplier
        if isinstance(dm, bool) or not isinstance(dm, int) or dm < 1:
            raise ValueError(f"depth_multiplier={depth_multiplier!r} is not accepted; expected an int >= 1")
        constraint, kind = _selfeeg_constraint(max_norm, min_norm, axis_norm, minmax_rate)
        super().__init__(
            in_channels,
            depth_multiplier * in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            bias=bias,
            constraint=constraint,
            enforce="inplace",
        )
        self._set_selfeeg_attributes(max_norm, min_norm, axis_norm, minmax_rate, kind)


class SeparableConv2d(nn.Module):
    r"""Depthwise-separable ``Conv2d`` with optional norm constraints on both parts (selfeeg's signature).

    ``self.depthwise``: a :class:`DepthwiseConv2d` (``depth_*`` constraint arguments); ``self.pointwise``:
    a 1x1 :class:`ConstrainedConv2d` from ``depth_multiplier * in_channels`` to ``out_channels`` channels
    (``point_*`` arguments). Both parts are unconstrained by default and both share ``axis_norm`` and
    ``bias`` (selfeeg's structure: with ``bias=True`` each part has a bias). State-dict keys:
    ``depthwise.weight``, ``pointwise.weight`` (and ``*.bias``), as in selfeeg.

    Args:
        in_channels: number of input channels.
        out_channels: number of output channels.
        kernel_size: size of the depthwise kernel.
        stride: stride of the depthwise convolution.
        padding: padding of the depthwise convolution; default ``'same'``.
        dilation: dilation of the depthwise convolution.
        bias: whether both parts learn an additive bias (default ``False``).
        depth_multiplier: depthwise filters per input channel.
        depth_max_norm: ``max_norm`` of the depthwise part (``None``: unconstrained).
        depth_min_norm: ``min_norm`` of the depthwise part.
        depth_minmax_rate: ``minmax_rate`` of the depthwise part.
        point_max_norm: ``max_norm`` of the pointwise part (``None``: unconstrained).
        point_min_norm: ``min_norm`` of the pointwise part.
        point_minmax_rate: ``minmax_rate`` of the pointwise part.
        axis_norm: the weight dims the norms run over (both parts).

    Shape:
        Input :math:`(N, C_{in}, H, W)`, output :math:`(N, C_{out}, H_{out}, W_{out})`.

    Example:
        >>> from structconv.compat.selfeeg import SeparableConv2d
        >>> mdl = SeparableConv2d(1, 4, (1, 15), depth_multiplier=4)
        >>> mdl(torch.randn(4, 1, 8, 64)).shape
        torch.Size([4, 4, 8, 64])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = "same",
        dilation: int | tuple[int, int] = 1,
        bias: bool = False,
        depth_multiplier: int = 1,
        depth_max_norm: float | None = None,
        depth_min_norm: float | None = None,
        depth_minmax_rate: float = 1.0,
        point_max_norm: float | None = None,
        point_min_norm: float | None = None,
        point_minmax_rate: float = 1.0,
        axis_norm: int | Sequence[int] = [1, 2, 3],  # noqa: B006 - selfeeg's exact default
    ) -> None:
        super().__init__()
        # checked here so that the messages name this layer's arguments (depth_*, point_*)
        _selfeeg_constraint(depth_max_norm, depth_min_norm, axis_norm, depth_minmax_rate, prefix="depth_")
        _selfeeg_constraint(point_max_norm, point_min_norm, axis_norm, point_minmax_rate, prefix="point_")
        self.depthwise = DepthwiseConv2d(
            in_channels,
            depth_multiplier,
            kernel_size,
            stride,
            padding,
            dilation,
            bias,
            max_norm=depth_max_norm,
            min_norm=depth_min_norm,
            axis_norm=axis_norm,
            minmax_rate=depth_minmax_rate,
        )
        self.pointwise = ConstrainedConv2d(
            in_channels * depth_multiplier,
            out_channels,
            kernel_size=1,
            bias=bias,
            max_norm=point_max_norm,
            min_norm=point_min_norm,
            axis_norm=axis_norm,
            minmax_rate=point_minmax_rate,
        )

    def forward(self, input: Tensor) -> Tensor:
        """The depthwise, then the pointwise convolution."""
        return self.pointwise(self.depthwise(input))

    def export(self) -> nn.Sequential:
        """Plain ``nn.Conv2d`` layers (depthwise, pointwise) with the projected kernels baked in."""
        return nn.Sequential(self.depthwise.export(), self.pointwise.export()).eval()

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
