r"""``R2Conv``: G-steerable convolution on the plane.

The filter of an :class:`R2Conv` lives in the space of steerable kernels
``κ(g·x) = ρ_out(g) κ(x) ρ_in(g)⁻¹``; it is the contraction of the learnable ``weights`` with the sampled
basis of :mod:`structconv.kernels` (see :class:`~structconv.nn.conv.basisexpansion.BlocksBasisExpansion`),
followed by an ordinary :func:`torch.nn.functional.conv2d`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from structconv.kernels import irrep_spec_by_name, kernel_grid
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
from structconv.nn.conv.basisexpansion import BasisExpansion, BlocksBasisExpansion, r2_kernel_basis
from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

__all__ = ["R2Conv"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

#: the largest ``kernel_size`` of a steerable convolution: sampling its basis takes memory and time of order
#: ``kernel_size ** 4`` (41: about 30 s; 101: several GiB, then ``MemoryError``). Raise it deliberately if
#: you need more.
MAX_KERNEL_SIZE = 49


def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """Validate an int or a pair of ints (``>= minimum``)."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    ok = len(items) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in items
    )
    if not ok:
        raise ValueError(f"{name}={value!r} is not valid; expected an int >= {minimum} or a pair of them")
    return int(items[0]), int(items[1])


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


def _short(pair: tuple[int, int]) -> int | tuple[int, int]:
    """``(a, a)`` prints as ``a`` (as the reference library prints its layers)."""
    return pair[0] if pair[0] == pair[1] else pair


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
            size = irrep_spec_by_name(out_type.fibergroup, name).dim
            if name == trivial:
                col = np.zeros(out_type.size)
                col[start : start + rep.size] = q[:, offset]
                columns.append(col)
            offset += size
    if not columns:
        return np.zeros((out_type.size, 0))
    return np.stack(columns, axis=1)


class _SteerableConv(EquivariantModule):
    """Shared machinery of :class:`R2Conv` and :class:`~structconv.nn.R2ConvTransposed`."""

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
        if self.stride != (1, 1):
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
        output_padding: int | tuple[int, int] = 0,
    ) -> None:
        """Validate the convolution arguments and build the basis expansion.

        ``basis_generator`` and ``basis_kwargs`` choose the steerable basis (kernels for :class:`R2Conv`,
        discretised PDOs for :class:`~structconv.nn.R2Diffop`); the generator also receives
        ``kernel_size``, ``dilation`` and the gspace's reflection ``axis``.
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
        # the argument checks shared by every convolution family (structconv.nn._conv_utils)
        check_int(kernel_size, "kernel_size", minimum=1, owner=owner)
        if kernel_size > MAX_KERNEL_SIZE:
            raise ValueError(
                f"{owner}: kernel_size={kernel_size} is above the limit of {MAX_KERNEL_SIZE} "
                "(structconv.nn.conv.r2conv.MAX_KERNEL_SIZE): sampling a steerable basis takes memory and "
                f"time of order kernel_size ** 4; expected kernel_size <= {MAX_KERNEL_SIZE}"
            )
        check_int(dilation, "dilation", minimum=1, owner=owner)
        check_int(groups, "groups", minimum=1, owner=owner)
        check_size(stride, "stride", 2, minimum=1, owner=owner)
        if not isinstance(padding, str):
            check_size(padding, "padding", 2, minimum=0, owner=owner)
        check_size(output_padding, "output_padding", 2, minimum=0, owner=owner)
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
        self.stride = _pair(stride, "stride", 1)
        if isinstance(padding, str):
            padding = self._padding_from_string(padding, stride)
        self.padding = _pair(padding, "padding", 0)
        self.padding_mode = padding_mode
        self.groups = int(groups)
        self.output_padding = _pair(output_padding, "output_padding", 0)
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
        self._basisexpansion = BlocksBasisExpansion(
            src,
            dst,
            basis_generator,
            kernel_grid(self.kernel_size, basis_dilation),
            basis_filter=basis_filter,
            recompute=recompute,
            kernel_size=self.kernel_size,
            dilation=basis_dilation,
            axis=float(getattr(self.space, "axis", math.pi / 2)),
            **basis_kwargs,
        )
        self._filter_shape = (dst.size, src.size, self.kernel_size, self.kernel_size)
        dim = self._basisexpansion.dimension()
        if initialize:
            # generalized_he_init, writing the parameter directly instead of filling a zero tensor
            from structconv.nn.init import _he_values

            values = _he_values(self._basisexpansion, True, torch.get_default_dtype(), None)
        else:
            values = torch.zeros(dim)
        self.weights = torch.nn.Parameter(values)
        expansion = _bias_expansion(out_type)
        if bias and expansion.shape[1] > 0:
            self.bias: torch.nn.Parameter | None = torch.nn.Parameter(torch.zeros(expansion.shape[1]))
            self.register_buffer(
                "bias_expansion", torch.from_numpy(expansion.astype(np.float32)), persistent=False
            )
        else:
            self.bias = None
            self.register_buffer("bias_expansion", None, persistent=False)
        ph, pw = self.padding
        self._reversed_padding_repeated_twice = (pw, pw, ph, ph)

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
        """Submodule that builds the filter from :attr:`weights` (``[c_out, c_in, k²]`` for R2Conv)."""
        return self._basisexpansion

    def expand_parameters(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Expand the filter from :attr:`weights` and the bias from :attr:`bias`.

        Returns:
            ``(filter, bias)``: the dense filter (``[c_out, c_in / groups, k, k]``, or
            ``[c_in, c_out / groups, k, k]`` for the transposed convolution) and the expanded bias
            ``[c_out]`` (``None`` without bias).
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
                bias = self.bias_expansion.to(self.bias.dtype) @ self.bias
        return filt, bias

    @property
    def filter(self) -> torch.Tensor:
        """The dense filter expanded from the current :attr:`weights` (detached; a fresh tensor per call).

        The forward expands the filter from :attr:`weights` on every call, in train and eval mode; nothing
        is cached between forwards (for a cached filter, :meth:`export` the layer or run the forwards inside
        :func:`torch.nn.utils.parametrize.cached`).
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
        return derived(self, "filter", self.expand_parameters)

    def _check_input(self, input: GeometricTensor) -> torch.Tensor:
        if not isinstance(input, GeometricTensor):
            raise TypeError(f"input must be a GeometricTensor; received {type(input).__name__}")
        if input.type is not self.in_type and input.type != self.in_type:
            raise ValueError(f"input has type {input.type}; expected {self.in_type}")
        return input.tensor

    def extra_repr(self) -> str:
        text = f"{self.in_type}, {self.out_type}, kernel_size={self.kernel_size}"
        text += f", stride={_short(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding={_short(self.padding)}"
        if self._transposed and self.output_padding != (0, 0):
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


class _PlanarConv(_SteerableConv):
    """A steerable :func:`torch.nn.functional.conv2d` (shared by :class:`R2Conv` and ``R2Diffop``)."""

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Convolve the input with the expanded filter and add the expanded bias.

        Args:
            input: a :class:`GeometricTensor` of type :attr:`in_type`.

        Returns:
            a :class:`GeometricTensor` of type :attr:`out_type`.
        """
        x = self._check_input(input)
        filt, bias = self._filter_and_bias()
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            out = F.conv2d(x, filt, bias, self.stride, 0, self.dilation, self.groups)
        else:
            out = F.conv2d(x, filt, bias, self.stride, self.padding, self.dilation, self.groups)
        return GeometricTensor(out, self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, in_type.size, H, W)``.

        Example:
            >>> from structconv.gspaces import Rot2dOnR2
            >>> from structconv.nn import FieldType
            >>> gs = Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> R2Conv(t, t, 3, stride=2).evaluate_output_shape((1, 4, 9, 10))
            (1, 4, 4, 4)
        """
        if len(input_shape) != 4 or input_shape[1] != self.in_type.size:
            raise ValueError(
                f"input_shape={tuple(input_shape)} is not valid; expected (B, {self.in_type.size}, H, W)"
            )
        b, _, h, w = input_shape
        size = [
            (n + 2 * p - self.dilation * (self.kernel_size - 1) - 1) // s + 1
            for n, p, s in zip((h, w), self.padding, self.stride)
        ]
        if min(size) < 1:
            span = self.dilation * (self.kernel_size - 1) + 1
            padded = tuple(n + 2 * p for n, p in zip((h, w), self.padding))
            raise ValueError(
                f"{type(self).__name__}: input_shape={tuple(input_shape)} is too small: its padded spatial "
                f"size {padded} is smaller than the dilated kernel ({span}); expected spatial sizes >= "
                f"{span} - 2 * padding"
            )
        return (b, self.out_type.size, size[0], size[1])

    def export(self) -> torch.nn.Conv2d:
        """Export to an equivalent :class:`torch.nn.Conv2d` in eval mode (this module is left unchanged).

        Example:
            >>> from structconv.gspaces import FlipRot2dOnR2
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = FlipRot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> conv = R2Conv(t, t, 3, padding=1)
            >>> x = torch.randn(1, 8, 7, 7)
            >>> torch.allclose(conv.export()(x), conv(GeometricTensor(x, t)).tensor, atol=1e-6)
            True
        """
        with torch.no_grad():
            filt, bias = self.expand_parameters()
        conv = torch.nn.utils.skip_init(  # no random initialisation: export draws no random numbers
            torch.nn.Conv2d,
            self.in_type.size,
            self.out_type.size,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=bias is not None,
            padding_mode=self.padding_mode,
            device=filt.device,
            dtype=filt.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(filt)
            if bias is not None:
                conv.bias.copy_(bias)
        return conv.eval()


class R2Conv(_PlanarConv):
    r"""G-steerable planar convolution between two field types.

    With :math:`\rho_\text{in}`, :math:`\rho_\text{out}` the representations of ``in_type`` and
    ``out_type``, the filter satisfies

    .. math::
        \kappa(g \cdot x) = \rho_\text{out}(g)\, \kappa(x)\, \rho_\text{in}(g)^{-1}
        \qquad \forall g \in G,\ x \in \mathbb{R}^2,

    so that the convolution commutes with the action of :math:`\mathbb{R}^2 \rtimes G`. The filter is
    ``Σ_d weights[d] · basis[d]`` over a complete basis of such kernels (Gaussian rings times circular
    harmonics, see :mod:`structconv.kernels`); the convolution is :func:`torch.nn.functional.conv2d`.
    The filter is expanded from :attr:`weights` at every forward, in train and eval mode, so the output
    always follows the current parameters (optimizer steps, EMA updates, ``functional_call``,
    ``load_state_dict``, ``.to()``) and eval-mode backward reaches :attr:`weights`. The ``state_dict`` keys
    and ``buffers()`` are the same in both modes. For inference at the cost of a plain convolution,
    :meth:`export` the layer, or run it inside :func:`torch.nn.utils.parametrize.cached` (one expansion per
    layer per context).

    Args:
        in_type: type of the input field.
        out_type: type of the output field.
        kernel_size: size of the square filter.
        padding: implicit padding on both sides of the input (int or pair), or ``'same'`` (output as
            large as the input: needs ``stride=1`` and an even ``dilation * (kernel_size - 1)``, so that
            the padding is symmetric) or ``'valid'`` (no padding). Default: 0.
        stride: stride of the convolution (int or pair). Default: 1.
        dilation: spacing between kernel elements. Default: 1.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``. Default: ``'zeros'``.
        groups: number of blocked connections; ``in_type`` and ``out_type`` must each be ``groups``
            copies of one list of fields. Default: 1.
        bias: add a learnable bias to the trivial irreps of the output fields. Default: ``True``.
        basisexpansion: the basis expansion algorithm; only ``'blocks'``.
        sigma: width of each ring, or one float for all rings (default: 0.6, 0.4 for the last ring,
            0.005 for a ring at radius 0).
        frequencies_cutoff: maximum frequency per ring radius: callable, float factor, or ``None`` for
            the default policy (see :class:`~structconv.kernels.ManualFrequencyCutoff`).
        rings: radii of the rings (default: ``ceil(k/2)`` rings up to ``(k-1)//2``, times ``dilation``).
        maximum_offset: number of aliased frequencies kept for finite groups (default: all allowed).
        recompute: rebuild the sampled bases instead of reusing cached ones.
        basis_filter: callable on a basis element's attribute dict returning whether to keep it.
        initialize: initialise :attr:`weights` with :func:`~structconv.nn.init.generalized_he_init`.

    Attributes:
        weights: learnable expansion coefficients (1-D).
        bias: learnable bias of the trivial irreps of ``out_type`` (or ``None``).
        filter: the dense filter expanded from the current weights (read-only, detached).
        expanded_bias: the expanded bias of the current weights (read-only, detached; ``None`` without bias).

    Shape:
        - input: ``(B, in_type.size, H, W)``
        - output: ``(B, out_type.size, H_out, W_out)`` with
          ``H_out = floor((H + 2·padding - dilation·(kernel_size - 1) - 1) / stride + 1)``.

    Raises:
        TypeError: if the types are not :class:`FieldType` or ``bias`` is not a bool.
        ValueError: on any invalid argument, or if the kernel basis is empty (e.g. ``kernel_size=2``).

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> gs = Rot2dOnR2(8)
        >>> t_in = FieldType(gs, [gs.trivial_repr] * 3)
        >>> t_out = FieldType(gs, [gs.regular_repr] * 4)
        >>> conv = R2Conv(t_in, t_out, 5, padding=2)
        >>> conv.weights.numel()
        132
        >>> y = conv(GeometricTensor(torch.randn(2, 3, 16, 16), t_in))
        >>> y.tensor.shape
        torch.Size([2, 32, 16, 16])
    """

    def __init__(
        self,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        padding: int | tuple[int, int] | str = 0,
        stride: int | tuple[int, int] = 1,
        dilation: int = 1,
        padding_mode: str = "zeros",
        groups: int = 1,
        bias: bool = True,
        basisexpansion: str = "blocks",
        sigma: float | list[float] | None = None,
        frequencies_cutoff: float | Callable[[float], float] | None = None,
        rings: list[float] | None = None,
        maximum_offset: int | None = None,
        recompute: bool = False,
        basis_filter: Callable[[dict[str, Any]], bool] | None = None,
        initialize: bool = True,
    ) -> None:
        super().__init__(
            in_type,
            out_type,
            kernel_size,
            padding,
            stride,
            dilation,
            padding_mode,
            groups,
            bias,
            basisexpansion,
            recompute,
            basis_filter,
            initialize,
            basis_generator=r2_kernel_basis,
            basis_kwargs={
                "rings": rings,
                "sigma": sigma,
                "frequencies_cutoff": frequencies_cutoff,
                "maximum_offset": maximum_offset,
            },
        )
