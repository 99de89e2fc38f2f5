"""Spatial pooling of feature fields: channel-wise (max, average, anti-aliased, adaptive) and norm-based.

Channel-wise max pooling commutes with permutation representations (``'pointwise'`` support); average
pooling and Gaussian blurring are linear and commute with every representation. :class:`NormMaxPool`
keeps, in every window, the whole field of largest norm. The anti-aliased variants blur with a Gaussian
before subsampling (Zhang, *Making Convolutional Networks Shift-Invariant Again*, ICML 2019).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ..._numerics import compute_dtype
from ._utils import (
    FieldGrouping,
    check_field_type,
    check_input,
    field_of_channel,
    gaussian_filter,
    pair,
    pool_output_size,
    register_grouping,
    require_support,
    safe_norm,
)

__all__ = [
    "NormMaxPool",
    "PointwiseMaxPool",
    "PointwiseMaxPoolAntialiased",
    "PointwiseAvgPool",
    "PointwiseAvgPoolAntialiased",
    "PointwiseAdaptiveAvgPool",
    "PointwiseAdaptiveMaxPool",
]

IntOrPair = int | tuple[int, int]


def _check_shape(module: EquivariantModule, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    input_shape = tuple(input_shape)
    if len(input_shape) != 4 or input_shape[1] != module.in_type.size:
        raise ValueError(
            f"{type(module).__name__}: input_shape={input_shape} is not accepted; expected "
            f"(B, {module.in_type.size}, H, W)"
        )
    return input_shape


class _WindowPool(EquivariantModule):
    """Shared arguments of the window-based poolings (the ones of ``torch.nn.MaxPool2d``)."""

    def _setup(
        self,
        in_type: FieldType,
        kernel_size: IntOrPair,
        stride: IntOrPair | None,
        padding: IntOrPair,
        dilation: IntOrPair,
        ceil_mode: bool,
    ) -> None:
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name)
        self.padding = pair(padding, "padding", name, allow_zero=True)
        self.dilation = pair(dilation, "dilation", name)
        self.ceil_mode = bool(ceil_mode)
        for p, k in zip(self.padding, self.kernel_size):
            if p > k // 2:
                raise ValueError(
                    f"{name}: padding={padding!r} is not accepted; "
                    f"expected at most half of kernel_size={kernel_size!r}"
                )

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)`` (``torch.nn.MaxPool2d``'s formula)."""
        b, c, h, w = _check_shape(self, input_shape)
        ho, wo = (
            pool_output_size(s, k, st, p, d, self.ceil_mode)
            for s, k, st, p, d in zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation)
        )
        return (b, self.out_type.size, ho, wo)


class NormMaxPool(_WindowPool):
    """Max pooling by norm: in every window, each field is taken whole from the position of largest norm.

    .. math::
        y_i(x) = v_i(x^*), \\qquad x^* = \\arg\\max_{x' \\in \\mathrm{window}(x)} \\|v_i(x')\\|

    The other arguments are those of ``torch.nn.MaxPool2d``.

    Args:
        in_type: the input field type; every field must support ``'norm'`` operations.
        kernel_size: size of the window.
        stride: stride of the window; default ``kernel_size``.
        padding: implicit padding on both sides (never selected).
        dilation: spacing of the elements of the window.
        ceil_mode: use ceil instead of floor in the output size.

    Shape:
        ``[B, C, H, W] -> [B, C, H_out, W_out]`` with
        :math:`H_{out} = \\lfloor (H + 2p - d(k - 1) - 1) / s \\rfloor + 1`.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, NormMaxPool
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.irrep(1)] * 2)
        >>> m = NormMaxPool(t, 2)
        >>> m(GeometricTensor(torch.randn(1, 4, 6, 6), t)).shape
        torch.Size([1, 4, 3, 3])
    """

    def __init__(
        self,
        in_type: FieldType,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(in_type, kernel_size, stride, padding, dilation, ceil_mode)
        require_support(in_type, "norm", type(self).__name__)
        self._grouping = FieldGrouping(
            in_type, keys=[r.size for r in in_type.representations], out_sizes=[1] * len(in_type)
        )
        register_grouping(self, self._grouping)
        self.register_buffer(
            "_field_of_channel", torch.from_numpy(field_of_channel(in_type)), persistent=False
        )

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Select, in every window, each field at the position of its largest norm."""
        check_input(self, input)
        x = input.tensor
        with torch.no_grad():
            # field norms without overflow, in float32 at least: ties only between truly equal norms
            sq = self._grouping.apply(
                x.to(compute_dtype(x.dtype)), self._in_perm, self._out_perm, lambda g, v: safe_norm(v, 2)
            )
            _, idx = F.max_pool2d(
                sq,
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                self.ceil_mode,
                return_indices=True,
            )
        b, c, h, w = x.shape
        ho, wo = idx.shape[-2:]
        idx = idx.index_select(1, self._field_of_channel).reshape(b, c, ho * wo)
        y = x.reshape(b, c, h * w).gather(2, idx).reshape(b, c, ho, wo)
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` of torch operations (eval mode).

        The graph computes the field norms, takes ``max_pool2d_with_indices`` of them and gathers every field
        at its window's index; it pickles and loads with PyTorch alone.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.irrep(1), gs.regular_repr])
            >>> m = NormMaxPool(t, 3, stride=2, padding=1)
            >>> x = torch.randn(1, t.size, 7, 7)
            >>> torch.equal(m.export()(x), m(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import NormMaxPool as NormMaxPoolGraph
        from .._export import to_graph

        pool = dict(
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            ceil_mode=self.ceil_mode,
        )
        root = NormMaxPoolGraph(self._grouping, self._in_perm, self._out_perm, self._field_of_channel, pool)
        return to_graph(root, "NormMaxPoolGraph")

    def extra_repr(self) -> str:
        return (
            f"{self.in_type}, kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class PointwiseMaxPool(_WindowPool):
    """Channel-wise max pooling, ``torch.nn.MaxPool2d`` applied to the tensor of a field type.

    Max pooling commutes with permutations of the channels, so only representations supporting
    ``'pointwise'`` operations are accepted. Its ``repr`` is ``PointwiseMaxPool()`` as in the reference
    printout; :meth:`export` gives the ``torch.nn.MaxPool2d`` with all the arguments.

    Args:
        in_type: the input field type.
        kernel_size: size of the window.
        stride: stride of the window; default ``kernel_size``.
        padding: implicit (``-inf``) padding on both sides.
        dilation: spacing of the elements of the window.
        ceil_mode: use ceil instead of floor in the output size.

    Shape:
        ``[B, C, H, W] -> [B, C, H_out, W_out]`` (``torch.nn.MaxPool2d``'s formula).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, PointwiseMaxPool
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> m = PointwiseMaxPool(FieldType(gs, [gs.regular_repr] * 3), kernel_size=3, stride=2, padding=1)
        >>> m
        PointwiseMaxPool()
        >>> m.export()
        MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), ceil_mode=False)
        >>> m.evaluate_output_shape((10, 24, 27, 27))
        (10, 24, 14, 14)
    """

    def __init__(
        self,
        in_type: FieldType,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(in_type, kernel_size, stride, padding, dilation, ceil_mode)
        require_support(in_type, "pointwise", type(self).__name__)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Max-pool every channel."""
        check_input(self, input)
        y = F.max_pool2d(
            input.tensor, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.MaxPool2d:
        """Return an equivalent ``torch.nn.MaxPool2d`` in eval mode."""
        return torch.nn.MaxPool2d(
            self.kernel_size, self.stride, self.padding, self.dilation, ceil_mode=self.ceil_mode
        ).eval()

    def extra_repr(self) -> str:
        return ""


class PointwiseMaxPoolAntialiased(PointwiseMaxPool):
    """Anti-aliased channel-wise max pooling: dense max, Gaussian blur, then subsampling.

    The maximum over each window is taken densely (stride 1, padding ``padding``); the result is convolved
    channel by channel with a normalised Gaussian of standard deviation ``sigma`` (of size
    :math:`2 \\lfloor 4\\sigma \\rceil + 1`, radius :math:`r`) with the requested stride and padding
    ``padding + r``, as e2cnn does. The padding thus enters twice: with ``padding = 0`` the output has
    :class:`PointwiseMaxPool`'s size, with ``padding = p > 0`` it is larger,
    :math:`\\lfloor (H + 4p - d(k - 1) - 1) / s \\rfloor + 1`.

    Args:
        in_type: the input field type; fields must support ``'pointwise'`` operations.
        kernel_size: size of the max window.
        stride: subsampling stride; default ``kernel_size``.
        padding: implicit padding of the max window.
        dilation: spacing of the elements of the max window.
        ceil_mode: accepted for compatibility; it has no effect (the max is taken with stride 1, where
            ceil and floor agree; the subsampling is the blur's convolution), as in e2cnn.
        sigma: standard deviation of the Gaussian blur (in pixels), ``> 0``.

    Shape:
        ``[B, C, H, W] -> [B, C, H_out, W_out]``,
        :math:`H_{out} = \\lfloor (H + 4p - d(k - 1) - 1) / s \\rfloor + 1` (likewise :math:`W_{out}`).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, PointwiseMaxPoolAntialiased
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> m = PointwiseMaxPoolAntialiased(t, 2)
        >>> m(GeometricTensor(torch.randn(1, 4, 8, 8), t)).shape
        torch.Size([1, 4, 4, 4])
    """

    def __init__(
        self,
        in_type: FieldType,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        ceil_mode: bool = False,
        sigma: float = 0.6,
    ) -> None:
        super().__init__(in_type, kernel_size, stride, padding, dilation, ceil_mode)
        name = type(self).__name__
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
            raise ValueError(f"{name}: sigma={sigma!r} is not accepted; expected a float > 0")
        self.sigma = float(sigma)
        kernel = gaussian_filter(self.sigma, 4.0)
        radius = (kernel.shape[0] - 1) // 2
        self._blur_padding = tuple(p + radius for p in self.padding)
        self.register_buffer("_filter", kernel.to(torch.get_default_dtype())[None, None], persistent=False)

    @property
    def filter(self) -> torch.Tensor:
        """The Gaussian blur, one copy per channel, as e2cnn's buffer: shape ``(C, 1, k, k)`` (read-only)."""
        k = self._filter.shape[-1]
        return self._filter.expand(self.in_type.size, 1, k, k)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)`` (see the class's Shape)."""
        b, c, h, w = _check_shape(self, input_shape)
        k = self._filter.shape[-1]
        out = []
        for size, kk, st, p, d, bp in zip(
            (h, w), self.kernel_size, self.stride, self.padding, self.dilation, self._blur_padding
        ):
            dense = pool_output_size(size, kk, 1, p, d, False)
            out.append((dense + 2 * bp - k) // st + 1)
        return (b, self.out_type.size, *out)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Dense max pooling followed by a strided Gaussian blur of every channel."""
        check_input(self, input)
        x = input.tensor
        dense = F.max_pool2d(x, self.kernel_size, 1, self.padding, self.dilation)
        b, c, h, w = dense.shape
        y = F.conv2d(
            dense.reshape(b * c, 1, h, w),
            self._filter.to(x.dtype),
            stride=self.stride,
            padding=self._blur_padding,
        )
        return GeometricTensor(y.reshape(b, c, *y.shape[-2:]), self.out_type)

    def export(self) -> torch.nn.Sequential:
        """Return an equivalent ``Sequential(MaxPool2d(stride=1), Conv2d(groups=C))`` in eval mode.

        The reference exported a bare ``MaxPool2d``, which drops the blur; the blur is kept here (a
        depthwise ``Conv2d`` with the fixed Gaussian, ``requires_grad=False``) so that the output is equal.
        """
        c = self.in_type.size
        k = self._filter.shape[-1]
        blur = torch.nn.utils.skip_init(  # no random initialisation: export draws no random numbers
            torch.nn.Conv2d,
            c,
            c,
            k,
            stride=self.stride,
            padding=self._blur_padding,
            groups=c,
            bias=False,
            device=self._filter.device,
            dtype=self._filter.dtype,
        )
        with torch.no_grad():
            blur.weight.copy_(self._filter.expand(c, 1, k, k))
        blur.weight.requires_grad_(False)
        pool = torch.nn.MaxPool2d(self.kernel_size, 1, self.padding, self.dilation)
        return torch.nn.Sequential(pool, blur).eval()

    def extra_repr(self) -> str:
        k, st, p = self.kernel_size, self.stride, self.padding
        return f"kernel_size={k}, stride={st}, padding={p}, sigma={self.sigma}"


class PointwiseAvgPool(_WindowPool):
    """Channel-wise average pooling, ``torch.nn.AvgPool2d`` applied to the tensor of a field type.

    Averaging is linear, so it commutes with every representation.

    Args:
        in_type: the input field type.
        kernel_size: size of the window.
        stride: stride of the window; default ``kernel_size``.
        padding: implicit zero padding on both sides (counted in the average, as in PyTorch).
        ceil_mode: use ceil instead of floor in the output size.

    Shape:
        ``[B, C, H, W] -> [B, C, H_out, W_out]`` (``torch.nn.AvgPool2d``'s formula).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, PointwiseAvgPool
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> m = PointwiseAvgPool(FieldType(gs, [gs.irrep(1)]), 2)
        >>> m.export()
        AvgPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    """

    def __init__(
        self,
        in_type: FieldType,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(in_type, kernel_size, stride, padding, 1, ceil_mode)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Average-pool every channel."""
        check_input(self, input)
        y = F.avg_pool2d(input.tensor, self.kernel_size, self.stride, self.padding, self.ceil_mode)
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.AvgPool2d:
        """Return an equivalent ``torch.nn.AvgPool2d`` in eval mode."""
        return torch.nn.AvgPool2d(self.kernel_size, self.stride, self.padding, self.ceil_mode).eval()

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class PointwiseAvgPoolAntialiased(EquivariantModule):
    """Anti-aliased average pooling: a strided channel-wise convolution with a Gaussian blur.

    The filter is a normalised Gaussian of standard deviation ``sigma`` truncated at 3 standard deviations
    (size ``2 round(3 sigma) + 1``); by default the padding keeps the size when ``stride`` is 1. It is linear,
    so every representation is accepted.

    Args:
        in_type: the input field type.
        sigma: standard deviation of the Gaussian (pixels), ``> 0``.
        stride: stride of the convolution.
        padding: zero padding on both sides; default ``(filter_size - 1) // 2``.

    Shape:
        ``[B, C, H, W] -> [B, C, H_out, W_out]``,
        :math:`H_{out} = \\lfloor (H + 2p - k) / s \\rfloor + 1`.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, PointwiseAvgPoolAntialiased
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.irrep(1)])
        >>> m = PointwiseAvgPoolAntialiased(t, sigma=0.66, stride=2)
        >>> m(GeometricTensor(torch.randn(1, 2, 9, 9), t)).shape
        torch.Size([1, 2, 5, 5])
    """

    def __init__(
        self, in_type: FieldType, sigma: float, stride: IntOrPair, padding: IntOrPair | None = None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
            raise ValueError(f"{name}: sigma={sigma!r} is not accepted; expected a float > 0")
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.sigma = float(sigma)
        kernel = gaussian_filter(self.sigma, 3.0)
        k = kernel.shape[0]
        self.kernel_size = (k, k)
        self.stride = pair(stride, "stride", name)
        self.padding = (
            ((k - 1) // 2,) * 2 if padding is None else pair(padding, "padding", name, allow_zero=True)
        )
        self.register_buffer("_filter", kernel.to(torch.get_default_dtype())[None, None], persistent=False)

    @property
    def filter(self) -> torch.Tensor:
        """The Gaussian blur, one copy per channel, as e2cnn's buffer: shape ``(C, 1, k, k)`` (read-only)."""
        k = self._filter.shape[-1]
        return self._filter.expand(self.in_type.size, 1, k, k)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Blur every channel with the Gaussian and subsample."""
        check_input(self, input)
        x = input.tensor
        b, c, h, w = x.shape
        y = F.conv2d(
            x.reshape(b * c, 1, h, w), self._filter.to(x.dtype), stride=self.stride, padding=self.padding
        )
        return GeometricTensor(y.reshape(b, c, *y.shape[-2:]), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)``."""
        b, c, h, w = _check_shape(self, input_shape)
        ho, wo = (
            pool_output_size(s, k, st, p)
            for s, k, st, p in zip((h, w), self.kernel_size, self.stride, self.padding)
        )
        return (b, c, ho, wo)

    def export(self) -> torch.nn.Conv2d:
        """Return an equivalent depthwise ``torch.nn.Conv2d`` (fixed Gaussian weights) in eval mode."""
        c = self.in_type.size
        k = self.kernel_size[0]
        conv = torch.nn.utils.skip_init(  # no random initialisation: export draws no random numbers
            torch.nn.Conv2d,
            c,
            c,
            k,
            stride=self.stride,
            padding=self.padding,
            groups=c,
            bias=False,
            device=self._filter.device,
            dtype=self._filter.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(self._filter.expand(c, 1, k, k))
        conv.weight.requires_grad_(False)
        return conv.eval()

    def extra_repr(self) -> str:
        return f"{self.in_type}, sigma={self.sigma}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(EquivariantModule):
    def _setup(self, in_type: FieldType, output_size: IntOrPair) -> None:
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.output_size = pair(output_size, "output_size", name)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)``: ``(B, C, *output_size)``."""
        b, c, _, _ = _check_shape(self, input_shape)
        return (b, c, *self.output_size)

    def extra_repr(self) -> str:
        return f"{self.in_type}, output_size={self.output_size}"


class PointwiseAdaptiveAvgPool(_AdaptivePool):
    """Channel-wise adaptive average pooling, ``torch.nn.AdaptiveAvgPool2d`` on a field type's tensor.

    Averaging is linear, so every representation is accepted.

    Args:
        in_type: the input field type.
        output_size: the target spatial size ``H_out`` (square) or ``(H_out, W_out)``.

    Shape:
        ``[B, C, H, W] -> [B, C, H_out, W_out]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, PointwiseAdaptiveAvgPool
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> PointwiseAdaptiveAvgPool(t, 1)(GeometricTensor(torch.randn(2, 4, 7, 7), t)).shape
        torch.Size([2, 4, 1, 1])
    """

    def __init__(self, in_type: FieldType, output_size: IntOrPair) -> None:
        super().__init__()
        self._setup(in_type, output_size)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Adaptive average pooling of every channel."""
        check_input(self, input)
        return GeometricTensor(F.adaptive_avg_pool2d(input.tensor, self.output_size), self.out_type)

    def export(self) -> torch.nn.AdaptiveAvgPool2d:
        """Return an equivalent ``torch.nn.AdaptiveAvgPool2d`` in eval mode."""
        return torch.nn.AdaptiveAvgPool2d(self.output_size).eval()


class PointwiseAdaptiveMaxPool(_AdaptivePool):
    """Channel-wise adaptive max pooling, ``torch.nn.AdaptiveMaxPool2d`` on a field type's tensor.

    Only representations supporting ``'pointwise'`` operations (permutations) are accepted.

    Args:
        in_type: the input field type.
        output_size: the target spatial size ``H_out`` (square) or ``(H_out, W_out)``.

    Shape:
        ``[B, C, H, W] -> [B, C, H_out, W_out]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, PointwiseAdaptiveMaxPool
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> PointwiseAdaptiveMaxPool(FieldType(gs, [gs.regular_repr]), 2).export()
        AdaptiveMaxPool2d(output_size=(2, 2))
    """

    def __init__(self, in_type: FieldType, output_size: IntOrPair) -> None:
        super().__init__()
        self._setup(in_type, output_size)
        require_support(in_type, "pointwise", type(self).__name__)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Adaptive max pooling of every channel."""
        check_input(self, input)
        return GeometricTensor(F.adaptive_max_pool2d(input.tensor, self.output_size), self.out_type)

    def export(self) -> torch.nn.AdaptiveMaxPool2d:
        """Return an equivalent ``torch.nn.AdaptiveMaxPool2d`` in eval mode.

        (The reference document names ``AdaptiveAvgPool2d`` here, an obvious typo: the max pool is exported.)
        """
        return torch.nn.AdaptiveMaxPool2d(self.output_size).eval()
