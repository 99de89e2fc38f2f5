r"""The steerable convolution on a grid, planar or volumetric: one implementation for every steerable layer.

:class:`_SteerableConv` validates the arguments, builds the
:class:`~structconv.nn.conv.basisexpansion.BlocksBasisExpansion` of the kernel space between two field
types, initialises the weights and expands the filter and the bias;
:class:`_GridConv` and :class:`_GridConvTransposed` add the forward (:func:`torch.nn.functional.conv2d` /
``conv3d`` / ``conv_transpose2d`` / ``conv_transpose3d``), the output-shape formula and the export to plain
``torch.nn``. The dimension (2 or 3) is the gspace's ``dimensionality``; :class:`~structconv.nn.R2Conv`,
:class:`~structconv.nn.R3Conv` and their transposed counterparts only choose the basis generator and their
reference library's signature.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from structconv._threads import single_blas_thread
from structconv.nn._conv_utils import (
    check_bias,
    check_bool,
    check_choice,
    check_int,
    check_padding_mode,
    check_real,
    check_size,
)
from structconv.nn._derived import derived
from structconv.nn.conv.basisexpansion import BasisExpansion, BlocksBasisExpansion
from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

__all__: list[str] = []  # private: the public layers are re-exported by structconv.nn

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

#: the largest ``kernel_size`` of a planar steerable convolution: sampling its basis takes memory and time of
#: order ``kernel_size ** 4`` (41: about 30 s; 101: several GiB, then ``MemoryError``). Raise it deliberately
#: if you need more.
MAX_KERNEL_SIZE = 49
#: the same limit for volumetric convolutions (``kernel_size ** 3`` sample points per basis element).
MAX_KERNEL_SIZE_3D = 21

#: (layer, dimensionality of the type it was given) -> the hint naming the layer for that dimension
_COUNTERPART = {
    ("R2Conv", 3): " (use R3Conv for gspaces of R^3)",
    ("R2ConvTransposed", 3): " (use R3ConvTransposed for gspaces of R^3)",
    ("R2Diffop", 3): " (steerable PDOs are planar only)",
    ("R3Conv", 2): " (use R2Conv for planar gspaces)",
    ("R3ConvTransposed", 2): " (use R2ConvTransposed for planar gspaces)",
}


def _ntuple(value: Any, name: str, minimum: int, n: int = 2) -> tuple[int, ...]:
    """Validate an int or a tuple of ``n`` ints (``>= minimum``)."""
    items = value if isinstance(value, (tuple, list)) else (value,) * n
    ok = len(items) == n and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in items
    )
    if not ok:
        what = "a pair" if n == 2 else f"a tuple of {n}"
        raise ValueError(f"{name}={value!r} is not valid; expected an int >= {minimum} or {what} of them")
    return tuple(int(v) for v in items)


def _check_basis_kwargs(kwargs: dict[str, Any], owner: str) -> None:
    """Validate the basis arguments ``frequencies_cutoff``, ``sigma``, ``rings`` and ``maximum_offset``."""
    cutoff = kwargs.get("frequencies_cutoff")
    if cutoff is not None and not callable(cutoff):
        check_real(cutoff, "frequencies_cutoff", minimum=0.0, owner=owner)
    offset = kwargs.get("maximum_offset")
    if offset is not None:
        check_int(offset, "maximum_offset", minimum=0, owner=owner)
    for name, minimum, strict in (("sigma", 0.0, True), ("rings", 0.0, False)):
        value = kwargs.get(name)
        if value is None:
            continue
        items = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
        if name == "rings" and not isinstance(value, (list, tuple, np.ndarray)):
            raise TypeError(
                f"{owner}: rings={value!r} is not accepted; expected None or a list of radii >= 0"
            )
        if len(items) == 0:
            raise ValueError(f"{owner}: {name}={value!r} is not accepted; expected at least one value")
        for item in items:
            try:
                check_real(item, name, minimum=minimum, strict=strict, owner=owner)
            except (TypeError, ValueError) as err:
                bound = "> 0" if strict else ">= 0"
                raise type(err)(
                    f"{owner}: {name}={value!r} is not accepted; expected None, a finite number {bound} "
                    "or a list of them"
                ) from None


def _short(sizes: tuple[int, ...]) -> int | tuple[int, ...]:
    """``(a, a)`` prints as ``a`` (as the reference library prints its layers)."""
    return sizes[0] if len(set(sizes)) == 1 else sizes


def _split_groups(ftype: FieldType, groups: int, name: str, owner: str = "") -> FieldType:
    """The field type of one group of channels; ``ftype`` must be ``groups`` copies of it."""
    at = f"{owner}: " if owner else ""
    n = len(ftype.representations)
    if n % groups != 0:
        raise ValueError(f"{at}groups={groups} does not divide the {n} fields of {name}={ftype}")
    sub = ftype.representations[: n // groups]
    if tuple(sub) * groups != tuple(ftype.representations):
        raise ValueError(
            f"{at}groups={groups}: {name}={ftype} must be {groups} copies of the same list of fields "
            f"(here the first group is {[r.name for r in sub]})"
        )
    return FieldType(ftype.gspace, sub)


def _bias_expansion(out_type: FieldType) -> np.ndarray:
    """``[out_size, n_trivial]``: where each trivial irrep of the output type lands in its channels."""
    trivial = out_type.fibergroup.trivial_representation.name
    columns = []
    for rep, start in zip(out_type.representations, out_type.fields_start):
        q = np.asarray(rep.change_of_basis)
        offset = 0
        for name in rep.irreps:
            size = out_type.fibergroup.irreps[name].size
            if name == trivial:
                col = np.zeros(out_type.size)
                col[start : start + rep.size] = q[:, offset]
                columns.append(col)
            offset += size
    if not columns:
        return np.zeros((out_type.size, 0))
    return np.stack(columns, axis=1)


class _SteerableConv(EquivariantModule):
    """Shared machinery of the steerable convolutions, planar and volumetric, direct and transposed.

    A subclass passes its basis generator; the geometry (``self.dim``: 2 or 3 spatial dimensions) comes from
    the gspace's ``dimensionality`` and the subclass's :attr:`_dimensionality` (the one it accepts).
    """

    #: the spatial dimension a subclass accepts (2: planar gspaces, 3: gspaces of R^3)
    _dimensionality = 2

    def _padding_from_string(self, padding: str, stride: Any) -> int:
        """The padding of ``'valid'`` (0) or ``'same'`` (symmetric, output size = input size)."""
        owner = type(self).__name__
        if self._transposed:
            raise ValueError(
                f"{owner}: padding={padding!r} is not valid for a transposed convolution; expected an int "
                ">= 0 or a pair of them"
            )
        if padding == "valid":
            return 0
        if padding != "same":
            raise ValueError(
                f"{owner}: padding={padding!r} is not known; expected an int >= 0, a pair of them, 'same' or "
                "'valid'"
            )
        if any(s != 1 for s in self.stride):
            raise ValueError(f"{owner}: padding='same' needs stride=1; received stride={stride!r}")
        total = self.dilation * (self.kernel_size - 1)
        if total % 2:
            raise ValueError(
                f"{owner}: padding='same' needs dilation * (kernel_size - 1) to be even, so that the padding "
                "is the same on both sides and the layer stays equivariant; received "
                f"kernel_size={self.kernel_size}, dilation={self.dilation}"
            )
        return total // 2

    _transposed = False
    bias_expansion: torch.Tensor

    def __init__(
        self,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        padding: int | tuple[int, int] | str,
        stride: int | tuple[int, int],
        dilation: int,
        padding_mode: str,
        groups: int,
        bias: bool,
        basisexpansion: str,
        recompute: bool,
        basis_filter: Callable[[dict[str, Any]], bool] | None,
        initialize: bool,
        *,
        basis_generator: Callable[..., Any],
        basis_kwargs: dict[str, Any],
        output_padding: int | tuple[int, ...] = 0,
        grid: Callable[[int, int], np.ndarray] | None = None,
    ) -> None:
        """Validate the convolution arguments and build the basis expansion.

        ``basis_generator`` and ``basis_kwargs`` choose the steerable basis (kernels for :class:`R2Conv` and
        :class:`R3Conv`, discretised PDOs for :class:`~structconv.nn.R2Diffop`); the generator also receives
        ``kernel_size``, ``dilation`` and the geometry of the gspace (:meth:`_geometry_kwargs`). ``grid``
        gives the sample points ``(dim, kernel_size ** dim)`` of a kernel (default: the planar
        :func:`~structconv.kernels.kernel_grid`).
        """
        super().__init__()
        owner = type(self).__name__
        for arg, value in (("in_type", in_type), ("out_type", out_type)):
            if not isinstance(value, FieldType):
                raise TypeError(
                    f"{owner}: {arg} must be a structconv.nn.FieldType; received {type(value).__name__}: "
                    f"{value!r}"
                )
        if in_type.gspace != out_type.gspace:
            raise ValueError(
                f"{owner}: in_type and out_type must share one gspace; "
                f"received {in_type.gspace!r} and {out_type.gspace!r}"
            )
        dim = int(getattr(in_type.gspace, "dimensionality", 2))
        if dim != self._dimensionality:
            raise ValueError(
                f"{owner}: in_type lives on {in_type.gspace.name!r}, a gspace of dimensionality {dim}; "
                f"{owner} expects a gspace of dimensionality {self._dimensionality}"
                + _COUNTERPART.get((owner, dim), "")
            )
        self.dim = dim
        limit = MAX_KERNEL_SIZE if dim == 2 else MAX_KERNEL_SIZE_3D
        # the argument checks shared by every convolution family (structconv.nn._conv_utils)
        check_int(kernel_size, "kernel_size", minimum=1, owner=owner)
        if kernel_size > limit:
            name = "MAX_KERNEL_SIZE" if dim == 2 else "MAX_KERNEL_SIZE_3D"
            raise ValueError(
                f"{owner}: kernel_size={kernel_size} is above the limit of {limit} "
                f"(structconv.nn.conv._steerable.{name}): sampling a steerable basis takes memory and "
                f"time of order kernel_size ** {2 * dim}; expected kernel_size <= {limit}"
            )
        check_int(dilation, "dilation", minimum=1, owner=owner)
        check_int(groups, "groups", minimum=1, owner=owner)
        check_size(stride, "stride", dim, minimum=1, owner=owner)
        if not isinstance(padding, str):
            check_size(padding, "padding", dim, minimum=0, owner=owner)
        check_size(output_padding, "output_padding", dim, minimum=0, owner=owner)
        check_padding_mode(padding_mode, owner)
        check_choice(basisexpansion, "basisexpansion", ("blocks",), owner=owner)
        check_bias(bias, owner)
        check_bool(recompute, "recompute", owner=owner)
        check_bool(initialize, "initialize", owner=owner)
        if basis_filter is not None and not callable(basis_filter):
            raise TypeError(
                f"{owner}: basis_filter={basis_filter!r} is not accepted; expected None or a callable taking "
                "a basis element's attributes (a dict) and returning a bool"
            )
        _check_basis_kwargs(basis_kwargs, owner)
        self.in_type, self.out_type = in_type, out_type
        self.space = in_type.gspace
        self.kernel_size = int(kernel_size)
        self.dilation = int(dilation)
        self.stride = _ntuple(stride, "stride", 1, dim)
        if isinstance(padding, str):
            padding = self._padding_from_string(padding, stride)
        self.padding = _ntuple(padding, "padding", 0, dim)
        self.padding_mode = padding_mode
        self.groups = int(groups)
        self.output_padding = _ntuple(output_padding, "output_padding", 0, dim)
        if self._transposed and any(
            op >= max(s, self.dilation) for op, s in zip(self.output_padding, self.stride)
        ):
            raise ValueError(
                f"{owner}: output_padding={output_padding!r} is not accepted with stride={stride!r} and "
                f"dilation={dilation!r}; expected each output padding smaller than the stride or the dilation"
            )
        in_sub = _split_groups(in_type, self.groups, "in_type", owner)
        out_sub = _split_groups(out_type, self.groups, "out_type", owner)
        # a transposed convolution's weight [C_in, C_out / groups] is a steerable kernel from out to in
        src, dst = (out_sub, in_type) if self._transposed else (in_sub, out_type)
        # the transposed convolution samples its basis on the undilated grid (as the reference library
        # does, so that the numbers of parameters agree); dilating a steerable kernel keeps it steerable
        basis_dilation = 1 if self._transposed else self.dilation
        if grid is None:
            from structconv.kernels import kernel_grid as grid
        with single_blas_thread():  # build-time maths: many small matrices (see structconv._threads)
            self._basisexpansion = BlocksBasisExpansion(
                src,
                dst,
                basis_generator,
                grid(self.kernel_size, basis_dilation),
                basis_filter=basis_filter,
                recompute=recompute,
                kernel_size=self.kernel_size,
                dilation=basis_dilation,
                **self._geometry_kwargs(),
                **basis_kwargs,
            )
        self._filter_shape = (dst.size, src.size) + (self.kernel_size,) * dim
        n_weights = self._basisexpansion.dimension()
        if initialize:
            # generalized_he_init, writing the parameter directly instead of filling a zero tensor
            from structconv.nn.init import _he_values

            values = _he_values(self._basisexpansion, True, torch.get_default_dtype(), None)
        else:
            values = torch.zeros(n_weights)
        self.weights = torch.nn.Parameter(values)
        expansion = _bias_expansion(out_type)
        if bias and expansion.shape[1] > 0:
            self.bias: torch.nn.Parameter | None = torch.nn.Parameter(torch.zeros(expansion.shape[1]))
            self.register_buffer(
                "bias_expansion", torch.from_numpy(expansion).to(torch.get_default_dtype()), persistent=False
            )
        else:
            self.bias = None
            self.register_buffer("bias_expansion", None, persistent=False)
        # F.pad's order: last dimension first, both sides of each
        self._reversed_padding_repeated_twice = tuple(p for p in reversed(self.padding) for _ in (0, 1))

    def _export_to(self, conv_class: type[torch.nn.Module], **extra: Any) -> Any:
        """A ``conv_class`` (a ``torch.nn`` convolution) holding the filter and bias expanded from the current
        weights, in eval mode; ``extra``: its own arguments (``padding_mode`` or ``output_padding``)."""
        with torch.no_grad():
            filt, bias = self.expand_parameters()
        conv = torch.nn.utils.skip_init(  # no random initialisation: export draws no random numbers
            conv_class,
            self.in_type.size,
            self.out_type.size,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=bias is not None,
            device=filt.device,
            dtype=filt.dtype,
            **extra,
        )
        with torch.no_grad():
            conv.weight.copy_(filt)
            if bias is not None:
                conv.bias.copy_(bias)
        return conv.eval()

    def _geometry_kwargs(self) -> dict[str, Any]:
        """What the basis generator needs to know of the gspace: the reflection ``axis`` of a planar gspace,
        the gspace itself in space (its fibre group's embedding in O(3))."""
        if self.dim == 3:
            return {"gspace": self.space}
        return {"axis": float(getattr(self.space, "axis", math.pi / 2))}

    def _apply(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _SteerableConv:
        super()._apply(fn, *args, **kwargs)
        expansion = self.bias_expansion
        if expansion is not None and expansion.is_floating_point():
            # any cast: rebuild from the float64 expansion, never from a rounded copy
            exact = torch.from_numpy(_bias_expansion(self.out_type))
            self.register_buffer("bias_expansion", exact.to(expansion), persistent=False)
        return self

    # ------------------------------------------------------------------ parameters
    @property
    def basisexpansion(self) -> BasisExpansion:
        """Submodule that builds the filter from :attr:`weights` (``[c_out, c_in, k ** dim]``)."""
        return self._basisexpansion

    def expand_parameters(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Expand the filter from :attr:`weights` and the bias from :attr:`bias`.

        Returns:
            ``(filter, bias)``: the dense filter (``[c_out, c_in / groups, k, k]`` on the plane,
            ``[c_out, c_in / groups, k, k, k]`` in space; input and output swapped for the transposed
            convolutions) and the expanded bias ``[c_out]`` (``None`` without bias).

        Raises:
            RuntimeError: :attr:`bias` was set on a layer built with ``bias=False`` (it has no bias
                expansion), or to a tensor of another shape than the one it was built with.
        """
        # The expansion is a precision-sensitive contraction: keep it in the parameters' dtype under autocast
        # (the convolution itself still runs in the autocast dtype).
        device_type = self.weights.device.type
        no_autocast = (
            contextlib.nullcontext() if device_type == "meta" else torch.autocast(device_type, enabled=False)
        )
        with no_autocast:
            filt = self._basisexpansion(self.weights).reshape(self._filter_shape)
            bias = None
            if self.bias is not None:
                expansion = self.bias_expansion
                if expansion is None or self.bias.shape != expansion.shape[1:]:
                    raise _bias_error(self, expansion)
                bias = expansion.to(self.bias.dtype) @ self.bias
        return filt, bias

    @property
    def filter(self) -> torch.Tensor:
        """The dense filter expanded from the current :attr:`weights` (detached; a fresh tensor per call).

        The forward expands the filter from :attr:`weights` on every call with autograd on. With autograd
        off it reuses the filter of its previous no-grad forward while a snapshot of the layer still
        describes it: the same parameter, buffer and submodule objects, :attr:`weights` and :attr:`bias`
        equal in value to what that filter was expanded from, the basis buffers unwritten (a comparison of
        a few microseconds per forward; any change of a parameter's value, by any route, re-expands; under a
        parametrization of :attr:`weights` nothing is reused: see :mod:`structconv.nn._derived`). For a
        filter baked in once, :meth:`export` the layer.
        """
        with torch.no_grad():
            return self.expand_parameters()[0]

    @property
    def expanded_bias(self) -> torch.Tensor | None:
        """The bias of every output channel expanded from the current :attr:`bias` (detached), or ``None``."""
        with torch.no_grad():
            return self.expand_parameters()[1]

    def _filter_and_bias(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The filter and bias of this forward: expanded from the current parameters (see :attr:`filter`)."""

        # with autograd off, the filter of the previous no-grad forward is reused while the parameters are
        # equal in value to what it was expanded from and the basis is unchanged (see structconv.nn._derived)
        return derived(self, "filter", self.expand_parameters, reuse=("weights", "bias"))

    def _check_input(self, input: GeometricTensor) -> torch.Tensor:
        if not isinstance(input, GeometricTensor):
            raise TypeError(f"input must be a GeometricTensor; received {type(input).__name__}")
        if input.type is not self.in_type and input.type != self.in_type:
            raise ValueError(f"input has type {input.type}; expected {self.in_type}")
        return input.tensor

    def extra_repr(self) -> str:
        text = f"{self.in_type}, {self.out_type}, kernel_size={self.kernel_size}"
        text += f", stride={_short(self.stride)}"
        if any(self.padding):
            text += f", padding={_short(self.padding)}"
        if self._transposed and any(self.output_padding):
            text += f", output_padding={_short(self.output_padding)}"
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        if self.bias is None:
            text += ", bias=False"
        return text + f", weights={self.weights.numel()}"


def _bias_error(module: _SteerableConv, expansion: torch.Tensor | None) -> RuntimeError:
    """The error for a :attr:`~_SteerableConv.bias` the layer cannot expand (see ``expand_parameters``)."""
    name, bias = type(module).__name__, module.bias
    what = f"bias of shape {tuple(bias.shape) if bias is not None else None}"
    if expansion is None:
        return RuntimeError(
            f"{name}: a {what} was set on a layer built with bias=False, which has no bias expansion; "
            "build the layer with bias=True (or set bias back to None)"
        )
    return RuntimeError(
        f"{name}: a {what} was set; expected shape {tuple(expansion.shape[1:])} (one coefficient per "
        "trivial irrep in out_type)"
    )


_CONV = {2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {2: F.conv_transpose2d, 3: F.conv_transpose3d}
_AXES = {2: "H, W", 3: "D, H, W"}


def _spatial(module: _SteerableConv, input_shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """``(B, spatial sizes)`` of a valid input shape ``(B, in_type.size, *spatial)``, else a ValueError."""
    shape = tuple(input_shape)
    if len(shape) != 2 + module.dim or shape[1] != module.in_type.size:
        raise ValueError(
            f"input_shape={shape} is not valid; expected (B, {module.in_type.size}, {_AXES[module.dim]})"
        )
    return shape[0], shape[2:]


class _GridConv(_SteerableConv):
    """A steerable :func:`torch.nn.functional.conv2d` / ``conv3d`` (R2Conv, R3Conv, R2Diffop)."""

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Convolve the input with the expanded filter and add the expanded bias.

        Args:
            input: a :class:`GeometricTensor` of type :attr:`in_type`.

        Returns:
            a :class:`GeometricTensor` of type :attr:`out_type`.
        """
        x = self._check_input(input)
        filt, bias = self._filter_and_bias()
        conv = _CONV[self.dim]
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            out = conv(x, filt, bias, self.stride, 0, self.dilation, self.groups)
        else:
            out = conv(x, filt, bias, self.stride, self.padding, self.dilation, self.groups)
        return GeometricTensor(out, self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input ``(B, in_type.size, H, W)`` (``(B, C, D, H, W)`` in space).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType, R2Conv
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> R2Conv(t, t, 3, stride=2).evaluate_output_shape((1, 4, 9, 10))
            (1, 4, 4, 4)
        """
        b, spatial = _spatial(self, input_shape)
        size = [
            (n + 2 * p - self.dilation * (self.kernel_size - 1) - 1) // s + 1
            for n, p, s in zip(spatial, self.padding, self.stride)
        ]
        if min(size) < 1:
            span = self.dilation * (self.kernel_size - 1) + 1
            padded = tuple(n + 2 * p for n, p in zip(spatial, self.padding))
            raise ValueError(
                f"{type(self).__name__}: input_shape={tuple(input_shape)} is too small: its padded spatial "
                f"size {padded} is smaller than the dilated kernel ({span}); expected spatial sizes >= "
                f"{span} - 2 * padding"
            )
        return (b, self.out_type.size, *size)

    def export(self) -> torch.nn.Conv2d | torch.nn.Conv3d:
        """Export to an equivalent :class:`torch.nn.Conv2d` (:class:`torch.nn.Conv3d` in space) in eval mode
        (this module is left unchanged).

        Example:
            >>> from structconv.gspaces import FlipRot2dOnR2
            >>> from structconv.nn import FieldType, GeometricTensor, R2Conv
            >>> gs = FlipRot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> conv = R2Conv(t, t, 3, padding=1)
            >>> x = torch.randn(1, 8, 7, 7)
            >>> torch.allclose(conv.export()(x), conv(GeometricTensor(x, t)).tensor, atol=1e-6)
            True
        """
        conv_class = torch.nn.Conv2d if self.dim == 2 else torch.nn.Conv3d
        return self._export_to(conv_class, padding_mode=self.padding_mode)


class _GridConvTransposed(_SteerableConv):
    """A steerable :func:`torch.nn.functional.conv_transpose2d` / ``conv_transpose3d``."""

    _transposed = True

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply the transposed convolution with the expanded filter and add the expanded bias.

        Args:
            input: a :class:`GeometricTensor` of type :attr:`in_type`.

        Returns:
            a :class:`GeometricTensor` of type :attr:`out_type`.
        """
        x = self._check_input(input)
        filt, bias = self._filter_and_bias()
        out = _CONV_TRANSPOSE[self.dim](
            x, filt, bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation
        )
        return GeometricTensor(out, self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input ``(B, in_type.size, H, W)`` (``(B, C, D, H, W)`` in space).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType, R2ConvTransposed
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> R2ConvTransposed(t, t, 3, stride=2).evaluate_output_shape((1, 4, 5, 6))
            (1, 4, 11, 13)
        """
        b, spatial = _spatial(self, input_shape)
        if min(spatial) < 1:
            raise ValueError(f"input_shape={tuple(input_shape)} is not valid; expected spatial sizes >= 1")
        size = [
            (n - 1) * s - 2 * p + self.dilation * (self.kernel_size - 1) + op + 1
            for n, p, s, op in zip(spatial, self.padding, self.stride, self.output_padding)
        ]
        if min(size) < 1:
            raise ValueError(
                f"input_shape={tuple(input_shape)} gives an empty output {tuple(size)} with padding="
                f"{self.padding}; expected an input whose output has every size at least 1"
            )
        return (b, self.out_type.size, *size)

    def export(self) -> torch.nn.ConvTranspose2d | torch.nn.ConvTranspose3d:
        """Export to an equivalent :class:`torch.nn.ConvTranspose2d` (``ConvTranspose3d`` in space) in eval
        mode (this module is unchanged).

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType, GeometricTensor, R2ConvTransposed
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> up = R2ConvTransposed(t, t, 3, stride=2, output_padding=1)
            >>> x = torch.randn(1, 4, 5, 5)
            >>> torch.allclose(up.export()(x), up(GeometricTensor(x, t)).tensor, atol=1e-6)
            True
        """
        conv_class = torch.nn.ConvTranspose2d if self.dim == 2 else torch.nn.ConvTranspose3d
        return self._export_to(conv_class, output_padding=self.output_padding)
