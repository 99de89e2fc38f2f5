"""Spatial pooling of feature fields: channel-wise (max, average, anti-aliased, adaptive) and norm-based.

Channel-wise max pooling commutes with permutation representations (``'pointwise'`` support); average
pooling and Gaussian blurring are linear and commute with every representation. :class:`NormMaxPool`
keeps, in every window, the whole field of largest norm. The anti-aliased variants blur with a Gaussian
before subsampling (Zhang, *Making Convolutional Networks Shift-Invariant Again*, ICML 2019).

Every pooling has one implementation for both kinds of grids: the planar classes (``PointwiseMaxPool``,
..., also exported under escnn's names ``PointwiseMaxPool2D``, ...) take ``[B, C, H, W]`` tensors of fields
on a planar gspace, the ``*3D`` classes ``[B, C, D, H, W]`` tensors of fields on a gspace of space; they
differ only in their spatial dimension ``_dim`` (hence ``torch``'s ``*2d`` / ``*3d`` functions and export
targets).
:class:`NormMaxPool` is planar only, as escnn's.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ..._numerics import compute_dtype
from ._utils import (
    FieldGrouping,
    check_dimensionality,
    check_field_type,
    check_input,
    field_of_channel,
    gaussian_filter,
    ntuple,
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
    "PointwiseMaxPool2D",
    "PointwiseMaxPoolAntialiased2D",
    "PointwiseAvgPool2D",
    "PointwiseAvgPoolAntialiased2D",
    "PointwiseAdaptiveAvgPool2D",
    "PointwiseAdaptiveMaxPool2D",
    "PointwiseMaxPool3D",
    "PointwiseMaxPoolAntialiased3D",
    "PointwiseAvgPool3D",
    "PointwiseAvgPoolAntialiased3D",
    "PointwiseAdaptiveAvgPool3D",
    "PointwiseAdaptiveMaxPool3D",
]

IntOrPair = int | tuple[int, int]
IntOrTuple = int | tuple[int, ...]

_AXES = {2: "H, W", 3: "D, H, W"}


def _functional(name: str, dim: int):
    """``torch.nn.functional``'s ``<name><dim>d`` (e.g. ``max_pool3d``)."""
    return getattr(F, f"{name}{dim}d")


def _torch_module(name: str, dim: int) -> type:
    """``torch.nn``'s ``<Name><dim>d`` class (e.g. ``MaxPool3d``)."""
    return getattr(torch.nn, f"{name}{dim}d")


def _counterpart(cls: type) -> str | None:
    """The name of the same pooling on the other kind of grid (planar <-> volumetric)."""
    name = cls.__name__
    other = name[:-2] if name.endswith("3D") else name + "3D"
    return other if other in globals() else None


def _check_shape(module: EquivariantModule, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    input_shape = tuple(input_shape)
    d = module._dim
    if len(input_shape) != 2 + d or input_shape[1] != module.in_type.size:
        raise ValueError(
            f"{type(module).__name__}: input_shape={input_shape} is not accepted; expected "
            f"(B, {module.in_type.size}, {_AXES[d]})"
        )
    return input_shape


def _setup_type(module: EquivariantModule, in_type: FieldType) -> str:
    """Check ``in_type`` (on a gspace of the module's dimension) and store it; return the class name."""
    name = type(module).__name__
    check_field_type(in_type, owner=name)
    check_dimensionality(in_type, module._dim, name, _counterpart(type(module)))
    module.space = in_type.gspace
    module.in_type = in_type
    module.out_type = in_type
    return name


class _WindowPool(EquivariantModule):
    """Shared arguments of the window-based poolings (the ones of ``torch.nn.MaxPool2d`` / ``MaxPool3d``).

    ``_dim`` is the number of spatial axes: 2 for the planar classes, 3 for the ``*3D`` ones.
    """

    _dim = 2

    def _setup(
        self,
        in_type: FieldType,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None,
        padding: IntOrTuple,
        dilation: IntOrTuple,
        ceil_mode: bool,
    ) -> None:
        name = _setup_type(self, in_type)
        d = self._dim
        self.kernel_size = ntuple(kernel_size, d, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else ntuple(stride, d, "stride", name)
        self.padding = ntuple(padding, d, "padding", name, allow_zero=True)
        self.dilation = ntuple(dilation, d, "dilation", name)
        self.ceil_mode = bool(ceil_mode)
        for p, k in zip(self.padding, self.kernel_size):
            if p > k // 2:
                raise ValueError(
                    f"{name}: padding={padding!r} is not accepted; "
                    f"expected at most half of kernel_size={kernel_size!r}"
                )

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)`` or ``(B, C, D, H, W)``
        (``torch.nn.MaxPool2d``'s formula on every axis)."""
        b, c, *spatial = _check_shape(self, input_shape)
        out = (
            pool_output_size(s, k, st, p, d, self.ceil_mode)
            for s, k, st, p, d in zip(spatial, self.kernel_size, self.stride, self.padding, self.dilation)
        )
        return (b, self.out_type.size, *out)


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


class _MaxPoolNd(_WindowPool):
    """Channel-wise max pooling on a grid of ``_dim`` axes (see :class:`PointwiseMaxPool`)."""

    def __init__(
        self,
        in_type: FieldType,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(in_type, kernel_size, stride, padding, dilation, ceil_mode)
        require_support(in_type, "pointwise", type(self).__name__)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Max-pool every channel."""
        check_input(self, input)
        y = _functional("max_pool", self._dim)(
            input.tensor, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Module:
        """Return an equivalent ``torch.nn.MaxPool2d`` (``MaxPool3d`` in space) in eval mode."""
        return _torch_module("MaxPool", self._dim)(
            self.kernel_size, self.stride, self.padding, self.dilation, ceil_mode=self.ceil_mode
        ).eval()

    def extra_repr(self) -> str:
        return ""


class PointwiseMaxPool(_MaxPoolNd):
    """Channel-wise max pooling, ``torch.nn.MaxPool2d`` applied to the tensor of a field type.

    Max pooling commutes with permutations of the channels, so only representations supporting
    ``'pointwise'`` operations are accepted. Its ``repr`` is ``PointwiseMaxPool()`` as in the reference
    printout; :meth:`export` gives the ``torch.nn.MaxPool2d`` with all the arguments. escnn's name
    ``PointwiseMaxPool2D`` is this class; :class:`PointwiseMaxPool3D` pools volumes.

    Args:
        in_type: the input field type (on a planar gspace).
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

    _dim = 2


class PointwiseMaxPool3D(_MaxPoolNd):
    """Channel-wise max pooling of volumes, ``torch.nn.MaxPool3d`` applied to the tensor of a field type.

    The volumetric :class:`PointwiseMaxPool` (escnn's name): only representations supporting
    ``'pointwise'`` operations (permutations) are accepted; the window is exactly equivariant to the
    symmetries of the voxel grid when its size, stride and padding are the same on the three axes.

    Args:
        in_type: the input field type (on a gspace of space, ``dimensionality == 3``).
        kernel_size: size of the window, an int or a triple.
        stride: stride of the window; default ``kernel_size``.
        padding: implicit (``-inf``) padding on both sides.
        dilation: spacing of the elements of the window.
        ceil_mode: use ceil instead of floor in the output size.

    Shape:
        ``[B, C, D, H, W] -> [B, C, D_out, H_out, W_out]`` (``torch.nn.MaxPool3d``'s formula).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, PointwiseMaxPool3D
        >>> gs = gspaces.octaOnR3()
        >>> m = PointwiseMaxPool3D(FieldType(gs, [gs.regular_repr]), kernel_size=3, stride=2, padding=1)
        >>> m.export()  # doctest: +NORMALIZE_WHITESPACE
        MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1), dilation=(1, 1, 1),
                  ceil_mode=False)
        >>> m.evaluate_output_shape((2, 24, 9, 9, 9))
        (2, 24, 5, 5, 5)
    """

    _dim = 3


def _too_small(module: EquivariantModule, input_shape: Any, axis: int, why: str) -> ValueError:
    return ValueError(
        f"{type(module).__name__}: an input of shape {tuple(input_shape)} is too small along axis {axis}: "
        f"{why}; expected a larger input or more padding"
    )


class _GaussianTaps:
    """The 1-D factor of an anti-aliased pool's Gaussian, kept twice: ``_taps``, a derived unsaved buffer
    that follows the module's casts and moves (it tells the module's dtype and device), and
    ``_taps_exact``, the same taps in float64 (float32 on MPS, which has no float64) on that device, from
    which every kernel is built and then rounded once to the dtype it is used in. Both are rebuilt from
    ``sigma`` whenever the module's tensors are replaced (``to_empty`` would leave them uninitialised)."""

    _truncate: float
    sigma: float
    _taps_exact: torch.Tensor

    def _setup_taps(self, sigma: Any, truncate: float, name: str) -> torch.Tensor:
        try:
            ok = isinstance(sigma, (int, float)) and not isinstance(sigma, bool) and math.isfinite(sigma)
        except OverflowError:  # an int too large for a float
            ok = False
        if not ok or not sigma > 0:
            raise ValueError(f"{name}: sigma={sigma!r} is not accepted; expected a finite float > 0")
        size = 2 * int(round(truncate * float(sigma))) + 1
        if size > _MAX_TAPS:
            raise ValueError(
                f"{name}: sigma={sigma!r} is not accepted; its Gaussian would have {size} taps per axis, "
                f"expected sigma <= {(_MAX_TAPS - 1) / (2 * truncate):g} ({_MAX_TAPS} taps)"
            )
        self.sigma = float(sigma)
        self._truncate = truncate
        taps = gaussian_filter(self.sigma, truncate, 1)  # the blur is separable: its 1-D factor
        self.register_buffer("_taps", taps.to(torch.get_default_dtype()), persistent=False)  # type: ignore[attr-defined]
        self._taps_exact = taps
        return taps

    @property
    def filter(self) -> torch.Tensor:
        """The Gaussian blur, one copy per channel, as escnn's buffer ``(C, 1, k, k[, k])`` (read-only)."""
        kernel = _blur_filter(self).to(self._taps.dtype)  # type: ignore[arg-type, has-type]
        return kernel.expand(self.in_type.size, 1, *kernel.shape[2:])  # type: ignore[attr-defined]

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        super()._apply(fn, recurse)  # type: ignore[misc]
        taps = self._taps  # type: ignore[has-type]
        exact = gaussian_filter(self.sigma, self._truncate, 1)
        self._taps_exact = exact.to(
            device=taps.device, dtype=torch.float32 if taps.device.type == "mps" else torch.float64
        )
        if taps.device.type != "meta":
            self._taps = exact.to(device=taps.device, dtype=taps.dtype)
        return self


#: the largest Gaussian (taps per axis) an anti-aliased pool builds: sigma up to 128 (max) or 170 (average)
_MAX_TAPS = 1025


class _MaxPoolAntialiasedNd(_GaussianTaps, _MaxPoolNd):
    """Dense max, Gaussian blur and subsampling on ``_dim`` axes (as :class:`PointwiseMaxPoolAntialiased`)."""

    def __init__(
        self,
        in_type: FieldType,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        ceil_mode: bool = False,
        sigma: float = 0.6,
    ) -> None:
        super().__init__(in_type, kernel_size, stride, padding, dilation, ceil_mode)
        taps = self._setup_taps(sigma, 4.0, type(self).__name__)
        radius = (taps.shape[0] - 1) // 2
        self._blur_padding = tuple(p + radius for p in self.padding)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)`` / ``(B, C, D, H, W)`` (see Shape)."""
        b, c, *spatial = _check_shape(self, input_shape)
        k = self._taps.shape[0]
        out = []
        for axis, (size, kk, st, p, d, bp) in enumerate(
            zip(spatial, self.kernel_size, self.stride, self.padding, self.dilation, self._blur_padding),
            start=2,
        ):
            dense = pool_output_size(size, kk, 1, p, d, False)
            if dense < 1:
                why = f"{size} samples + 2 * {p} padding < the max window's {d * (kk - 1) + 1}"
                raise _too_small(self, input_shape, axis, why)
            out.append((dense + 2 * bp - k) // st + 1)
        return (b, self.out_type.size, *out)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Dense max pooling followed by a strided Gaussian blur of every channel."""
        check_input(self, input)
        x = input.tensor
        if not torch.jit.is_tracing():  # a clear error for an input too small (tracers see shapes as tensors)
            self.evaluate_output_shape(tuple(x.shape))
        dense = _functional("max_pool", self._dim)(x, self.kernel_size, 1, self.padding, self.dilation)
        y = _gaussian_blur(self, dense, self.stride, self._blur_padding)
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Sequential:
        """Return an equivalent ``Sequential(MaxPool(stride=1), Conv(groups=C))`` in eval mode
        (``MaxPool2d`` / ``Conv2d`` on the plane, ``MaxPool3d`` / ``Conv3d`` in space).

        The reference exported a bare ``MaxPool2d``, which drops the blur; the blur is kept here (a
        depthwise convolution with the fixed Gaussian, ``requires_grad=False``) so that the output is equal.
        """
        pool = _torch_module("MaxPool", self._dim)(self.kernel_size, 1, self.padding, self.dilation)
        return torch.nn.Sequential(pool, _blur_conv(self, self._blur_padding)).eval()

    def extra_repr(self) -> str:
        k, st, p = self.kernel_size, self.stride, self.padding
        return f"kernel_size={k}, stride={st}, padding={p}, sigma={self.sigma}"


def _gaussian_blur(
    module: EquivariantModule, x: torch.Tensor, stride: tuple[int, ...], padding: tuple[int, ...]
) -> torch.Tensor:
    """Convolve every channel of ``x`` (``(B, C, *spatial)``) with the Gaussian of ``module`` (the outer
    product of its 1-D factor ``_taps``), zero-padded by ``padding`` and subsampled by ``stride``.

    One depthwise convolution (``groups=C``), the operation :meth:`export` returns. escnn and e2cnn fold the
    batch and the channels into one axis and run a single-channel convolution, which gives the same numbers
    3-7x slower in a 3-D train step on CPU (``benchmarks/antialiased_pool.py``).
    """
    kernel = _blur_filter(module).to(x.dtype)
    c = module.in_type.size  # a Python int: tracers (ONNX, fx) see a kernel of known shape
    weight = kernel.expand(c, 1, *kernel.shape[2:])
    return _functional("conv", module._dim)(x, weight, stride=stride, padding=padding, groups=c)


def _blur_filter(module: EquivariantModule) -> torch.Tensor:
    """The ``(1, 1, k, k[, k])`` Gaussian of ``module``, the outer product of its 1-D factor, in float64
    (float32 on MPS): callers round it once to the dtype they use."""
    taps = module._taps_exact
    kernel = taps
    for _ in range(module._dim - 1):
        kernel = kernel[..., None] * taps
    return kernel[None, None]


def _blur_conv(module: EquivariantModule, padding: tuple[int, ...]) -> torch.nn.Module:
    """The depthwise ``Conv2d`` / ``Conv3d`` applying the Gaussian of ``module`` to every channel."""
    c = module.in_type.size
    kernel = _blur_filter(module).to(module._taps.dtype)
    k = kernel.shape[-1]
    conv = torch.nn.utils.skip_init(  # no random initialisation: export draws no random numbers
        _torch_module("Conv", module._dim),
        c,
        c,
        k,
        stride=module.stride,
        padding=padding,
        groups=c,
        bias=False,
        device=kernel.device,
        dtype=kernel.dtype,
    )
    with torch.no_grad():
        conv.weight.copy_(kernel.expand(c, 1, *kernel.shape[2:]))
    conv.weight.requires_grad_(False)
    return conv.eval()


class PointwiseMaxPoolAntialiased(_MaxPoolAntialiasedNd, PointwiseMaxPool):
    """Anti-aliased channel-wise max pooling: dense max, Gaussian blur, then subsampling.

    The maximum over each window is taken densely (stride 1, padding ``padding``); the result is convolved
    channel by channel with a normalised Gaussian of standard deviation ``sigma`` (of size
    :math:`2 \\lfloor 4\\sigma \\rceil + 1`, radius :math:`r`) with the requested stride and padding
    ``padding + r``, as e2cnn does. The padding thus enters twice: with ``padding = 0`` the output has
    :class:`PointwiseMaxPool`'s size, with ``padding = p > 0`` it is larger,
    :math:`\\lfloor (H + 4p - d(k - 1) - 1) / s \\rfloor + 1`. escnn's name
    ``PointwiseMaxPoolAntialiased2D`` is this class; :class:`PointwiseMaxPoolAntialiased3D` pools volumes.

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

    _dim = 2


class PointwiseMaxPoolAntialiased3D(_MaxPoolAntialiasedNd, PointwiseMaxPool3D):
    """Anti-aliased channel-wise max pooling of volumes: dense max, 3-D Gaussian blur, then subsampling.

    The volumetric :class:`PointwiseMaxPoolAntialiased` (escnn's name and arguments): the dense maximum
    (stride 1) is blurred channel by channel with the normalised 3-D Gaussian of standard deviation
    ``sigma`` (size :math:`2 \\lfloor 4\\sigma \\rceil + 1` per axis, radius :math:`r`), with stride
    ``stride`` and padding ``padding + r``.

    Args:
        in_type: the input field type (on a gspace of space); fields must support ``'pointwise'``.
        kernel_size: size of the max window.
        stride: subsampling stride; default ``kernel_size``.
        padding: implicit padding of the max window.
        dilation: spacing of the elements of the max window.
        ceil_mode: accepted for compatibility; it has no effect (as escnn).
        sigma: standard deviation of the Gaussian blur (in voxels), ``> 0``.

    Shape:
        ``[B, C, D, H, W] -> [B, C, D_out, H_out, W_out]``,
        :math:`D_{out} = \\lfloor (D + 4p - d(k - 1) - 1) / s \\rfloor + 1` (likewise the other axes).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, PointwiseMaxPoolAntialiased3D
        >>> gs = gspaces.octaOnR3()
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> m = PointwiseMaxPoolAntialiased3D(t, 2)
        >>> m(GeometricTensor(torch.randn(1, 24, 6, 6, 6), t)).shape
        torch.Size([1, 24, 3, 3, 3])
    """

    _dim = 3


class _AvgPoolNd(_WindowPool):
    """Channel-wise average pooling on ``_dim`` axes (see :class:`PointwiseAvgPool`)."""

    def __init__(
        self,
        in_type: FieldType,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(in_type, kernel_size, stride, padding, 1, ceil_mode)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Average-pool every channel."""
        check_input(self, input)
        y = _functional("avg_pool", self._dim)(
            input.tensor, self.kernel_size, self.stride, self.padding, self.ceil_mode
        )
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Module:
        """Return an equivalent ``torch.nn.AvgPool2d`` (``AvgPool3d`` in space) in eval mode."""
        return _torch_module("AvgPool", self._dim)(
            self.kernel_size, self.stride, self.padding, self.ceil_mode
        ).eval()

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class PointwiseAvgPool(_AvgPoolNd):
    """Channel-wise average pooling, ``torch.nn.AvgPool2d`` applied to the tensor of a field type.

    Averaging is linear, so it commutes with every representation. escnn's name ``PointwiseAvgPool2D`` is
    this class; :class:`PointwiseAvgPool3D` pools volumes.

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

    _dim = 2


class PointwiseAvgPool3D(_AvgPoolNd):
    """Channel-wise average pooling of volumes, ``torch.nn.AvgPool3d`` applied to the tensor of a field type.

    The volumetric :class:`PointwiseAvgPool` (escnn's name); linear, so every representation is accepted.

    Args:
        in_type: the input field type (on a gspace of space).
        kernel_size: size of the window, an int or a triple.
        stride: stride of the window; default ``kernel_size``.
        padding: implicit zero padding on both sides (counted in the average, as in PyTorch).
        ceil_mode: use ceil instead of floor in the output size.

    Shape:
        ``[B, C, D, H, W] -> [B, C, D_out, H_out, W_out]`` (``torch.nn.AvgPool3d``'s formula).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, PointwiseAvgPool3D
        >>> gs = gspaces.rot3dOnR3()
        >>> m = PointwiseAvgPool3D(FieldType(gs, [gs.irrep(1)]), 2)
        >>> m.export()
        AvgPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))
    """

    _dim = 3


class _AvgPoolAntialiasedNd(_GaussianTaps, EquivariantModule):
    """Strided channel-wise Gaussian blur on ``_dim`` axes (see :class:`PointwiseAvgPoolAntialiased`)."""

    _dim = 2

    def __init__(
        self, in_type: FieldType, sigma: float, stride: IntOrTuple | None, padding: IntOrTuple | None = None
    ) -> None:
        super().__init__()
        name = _setup_type(self, in_type)
        d = self._dim
        taps = self._setup_taps(sigma, 3.0, name)
        k = taps.shape[0]
        self.kernel_size = (k,) * d
        # stride None: the Gaussian's size, as in e2cnn and escnn
        self.stride = self.kernel_size if stride is None else ntuple(stride, d, "stride", name)
        self.padding = (
            ((k - 1) // 2,) * d if padding is None else ntuple(padding, d, "padding", name, allow_zero=True)
        )

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Blur every channel with the Gaussian and subsample."""
        check_input(self, input)
        if not torch.jit.is_tracing():  # a clear error for an input too small (tracers see shapes as tensors)
            self.evaluate_output_shape(tuple(input.tensor.shape))
        y = _gaussian_blur(self, input.tensor, self.stride, self.padding)
        return GeometricTensor(y, self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)`` / ``(B, C, D, H, W)``."""
        b, c, *spatial = _check_shape(self, input_shape)
        out = []
        for axis, (size, k, st, p) in enumerate(zip(spatial, self.kernel_size, self.stride, self.padding), 2):
            if size + 2 * p < k:
                raise _too_small(
                    self, input_shape, axis, f"{size} samples + 2 * {p} padding < the blur's {k} taps"
                )
            out.append(pool_output_size(size, k, st, p))
        return (b, c, *out)

    def export(self) -> torch.nn.Module:
        """Return an equivalent depthwise ``torch.nn.Conv2d`` (``Conv3d`` in space; fixed Gaussian weights)
        in eval mode."""
        return _blur_conv(self, self.padding)

    def extra_repr(self) -> str:
        return f"{self.in_type}, sigma={self.sigma}, stride={self.stride}, padding={self.padding}"


class PointwiseAvgPoolAntialiased(_AvgPoolAntialiasedNd):
    """Anti-aliased average pooling: a strided channel-wise convolution with a Gaussian blur.

    The filter is a normalised Gaussian of standard deviation ``sigma`` truncated at 3 standard deviations
    (size ``2 round(3 sigma) + 1``); by default the padding keeps the size when ``stride`` is 1. It is linear,
    so every representation is accepted. escnn's name ``PointwiseAvgPoolAntialiased2D`` is this class;
    :class:`PointwiseAvgPoolAntialiased3D` blurs volumes.

    Args:
        in_type: the input field type.
        sigma: standard deviation of the Gaussian (pixels), ``> 0``.
        stride: stride of the convolution (``None``: the size of the Gaussian, as in e2cnn).
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

    _dim = 2


class PointwiseAvgPoolAntialiased3D(_AvgPoolAntialiasedNd):
    """Anti-aliased average pooling of volumes: a strided channel-wise convolution with a 3-D Gaussian.

    The volumetric :class:`PointwiseAvgPoolAntialiased` (escnn's name and arguments; ``sigma`` has no
    default, as there): the normalised 3-D Gaussian of standard deviation ``sigma`` truncated at 3 standard
    deviations (size ``2 round(3 sigma) + 1`` per axis), padding ``(size - 1) // 2`` by default.

    Args:
        in_type: the input field type (on a gspace of space).
        sigma: standard deviation of the Gaussian (voxels), ``> 0``.
        stride: stride of the convolution (``None``: the size of the Gaussian, as in escnn).
        padding: zero padding on both sides; default ``(filter_size - 1) // 2``.

    Shape:
        ``[B, C, D, H, W] -> [B, C, D_out, H_out, W_out]``,
        :math:`D_{out} = \\lfloor (D + 2p - k) / s \\rfloor + 1` (likewise the other axes).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, PointwiseAvgPoolAntialiased3D
        >>> gs = gspaces.rot3dOnR3()
        >>> t = FieldType(gs, [gs.irrep(1)])
        >>> m = PointwiseAvgPoolAntialiased3D(t, sigma=0.6, stride=2)
        >>> m.filter.shape
        torch.Size([3, 1, 5, 5, 5])
        >>> m(GeometricTensor(torch.randn(1, 3, 9, 9, 9), t)).shape
        torch.Size([1, 3, 5, 5, 5])
    """

    _dim = 3


class _AdaptivePool(EquivariantModule):
    _dim = 2

    def _setup(self, in_type: FieldType, output_size: IntOrTuple) -> None:
        name = _setup_type(self, in_type)
        self.output_size = ntuple(output_size, self._dim, "output_size", name)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)`` / ``(B, C, D, H, W)``:
        ``(B, C, *output_size)``."""
        b, c, *_ = _check_shape(self, input_shape)
        return (b, c, *self.output_size)

    def extra_repr(self) -> str:
        return f"{self.in_type}, output_size={self.output_size}"


class _AdaptiveAvgPoolNd(_AdaptivePool):
    def __init__(self, in_type: FieldType, output_size: IntOrTuple) -> None:
        super().__init__()
        self._setup(in_type, output_size)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Adaptive average pooling of every channel."""
        check_input(self, input)
        y = _functional("adaptive_avg_pool", self._dim)(input.tensor, self.output_size)
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Module:
        """Return an equivalent ``torch.nn.AdaptiveAvgPool2d`` (``AdaptiveAvgPool3d`` in space), eval mode."""
        return _torch_module("AdaptiveAvgPool", self._dim)(self.output_size).eval()


class PointwiseAdaptiveAvgPool(_AdaptiveAvgPoolNd):
    """Channel-wise adaptive average pooling, ``torch.nn.AdaptiveAvgPool2d`` on a field type's tensor.

    Averaging is linear, so every representation is accepted. escnn's name ``PointwiseAdaptiveAvgPool2D``
    is this class; :class:`PointwiseAdaptiveAvgPool3D` pools volumes.

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

    _dim = 2


class PointwiseAdaptiveAvgPool3D(_AdaptiveAvgPoolNd):
    """Channel-wise adaptive average pooling of volumes, ``torch.nn.AdaptiveAvgPool3d`` on a field type's
    tensor (escnn's name); every representation is accepted.

    Args:
        in_type: the input field type (on a gspace of space).
        output_size: the target spatial size, an int (cube) or ``(D_out, H_out, W_out)``.

    Shape:
        ``[B, C, D, H, W] -> [B, C, D_out, H_out, W_out]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, PointwiseAdaptiveAvgPool3D
        >>> gs = gspaces.octaOnR3()
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> PointwiseAdaptiveAvgPool3D(t, 1)(GeometricTensor(torch.randn(2, 24, 5, 5, 5), t)).shape
        torch.Size([2, 24, 1, 1, 1])
    """

    _dim = 3


class _AdaptiveMaxPoolNd(_AdaptivePool):
    def __init__(self, in_type: FieldType, output_size: IntOrTuple) -> None:
        super().__init__()
        self._setup(in_type, output_size)
        require_support(in_type, "pointwise", type(self).__name__)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Adaptive max pooling of every channel."""
        check_input(self, input)
        y = _functional("adaptive_max_pool", self._dim)(input.tensor, self.output_size)
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Module:
        """Return an equivalent ``torch.nn.AdaptiveMaxPool2d`` (``AdaptiveMaxPool3d`` in space) in eval mode.

        (The reference document names ``AdaptiveAvgPool2d`` here, an obvious typo: the max pool is exported.)
        """
        return _torch_module("AdaptiveMaxPool", self._dim)(self.output_size).eval()


class PointwiseAdaptiveMaxPool(_AdaptiveMaxPoolNd):
    """Channel-wise adaptive max pooling, ``torch.nn.AdaptiveMaxPool2d`` on a field type's tensor.

    Only representations supporting ``'pointwise'`` operations (permutations) are accepted. escnn's name
    ``PointwiseAdaptiveMaxPool2D`` is this class; :class:`PointwiseAdaptiveMaxPool3D` pools volumes.

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

    _dim = 2


class PointwiseAdaptiveMaxPool3D(_AdaptiveMaxPoolNd):
    """Channel-wise adaptive max pooling of volumes, ``torch.nn.AdaptiveMaxPool3d`` on a field type's tensor
    (escnn's name); only representations supporting ``'pointwise'`` operations are accepted.

    Args:
        in_type: the input field type (on a gspace of space).
        output_size: the target spatial size, an int (cube) or ``(D_out, H_out, W_out)``.

    Shape:
        ``[B, C, D, H, W] -> [B, C, D_out, H_out, W_out]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, PointwiseAdaptiveMaxPool3D
        >>> gs = gspaces.octaOnR3()
        >>> PointwiseAdaptiveMaxPool3D(FieldType(gs, [gs.regular_repr]), (1, 2, 3)).export()
        AdaptiveMaxPool3d(output_size=(1, 2, 3))
    """

    _dim = 3


# escnn's planar names
PointwiseMaxPool2D = PointwiseMaxPool
PointwiseMaxPoolAntialiased2D = PointwiseMaxPoolAntialiased
PointwiseAvgPool2D = PointwiseAvgPool
PointwiseAvgPoolAntialiased2D = PointwiseAvgPoolAntialiased
PointwiseAdaptiveAvgPool2D = PointwiseAdaptiveAvgPool
PointwiseAdaptiveMaxPool2D = PointwiseAdaptiveMaxPool
