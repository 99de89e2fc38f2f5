"""``R2Upsampling`` / ``R3Upsampling``: upsampling of feature fields (``torch.nn.functional.interpolate``).

One implementation for both grids: the planar class interpolates ``[B, C, H, W]`` tensors (``'bilinear'`` or
``'nearest'``), the volumetric one ``[B, C, D, H, W]`` tensors (``'trilinear'`` or ``'nearest'``), as escnn.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_dimensionality, check_field_type, check_input, ntuple

__all__ = ["R2Upsampling", "R3Upsampling"]

#: accepted modes per spatial dimension (the linear one first: the default)
_MODES = {2: ("bilinear", "nearest"), 3: ("trilinear", "nearest")}
_AXES = {2: "H, W", 3: "D, H, W"}


class _Upsampling(EquivariantModule):
    """Upsampling of every channel on a grid of ``_dim`` axes (see :class:`R2Upsampling`)."""

    _dim = 2
    _counterpart = "R3Upsampling"

    def _setup(
        self,
        in_type: FieldType,
        scale_factor: float | None,
        size: int | tuple[int, ...] | None,
        mode: str,
        align_corners: bool,
    ) -> None:
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        check_dimensionality(in_type, self._dim, name, self._counterpart)
        modes = _MODES[self._dim]
        if mode not in modes:
            raise ValueError(f"{name}: mode={mode!r} is not supported; expected one of {modes}")
        if (scale_factor is None) == (size is None):
            raise ValueError(
                f"{name}: scale_factor={scale_factor!r} and size={size!r}; expected exactly one of the two"
            )
        if scale_factor is not None and (
            isinstance(scale_factor, bool)
            or not isinstance(scale_factor, (int, float))
            or not 0 < scale_factor < math.inf
        ):
            raise ValueError(
                f"{name}: scale_factor={scale_factor!r} is not accepted; expected a finite number > 0"
            )
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self._scale_factor = None if scale_factor is None else float(scale_factor)
        self._size = None if size is None else ntuple(size, self._dim, "size", name)
        self._mode = mode
        self._align_corners = bool(align_corners) if mode == modes[0] else None

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Upsample every channel."""
        check_input(self, input)
        y = F.interpolate(
            input.tensor,
            size=self._size,
            scale_factor=self._scale_factor,
            mode=self._mode,
            align_corners=self._align_corners,
        )
        return GeometricTensor(y, self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``(B, C, H, W)`` (``(B, C, D, H, W)`` in space)."""
        input_shape = tuple(input_shape)
        name = type(self).__name__
        if len(input_shape) != 2 + self._dim or input_shape[1] != self.in_type.size:
            raise ValueError(
                f"{name}: input_shape={input_shape} is not accepted; expected "
                f"(B, {self.in_type.size}, {_AXES[self._dim]})"
            )
        b, c, *spatial = input_shape
        if self._size is not None:
            return (b, c, *self._size)
        return (b, c, *(math.floor(s * self._scale_factor) for s in spatial))

    def export(self) -> torch.nn.Upsample:
        """Return an equivalent ``torch.nn.Upsample`` in eval mode."""
        return torch.nn.Upsample(
            size=self._size,
            scale_factor=self._scale_factor,
            mode=self._mode,
            align_corners=self._align_corners,
        ).eval()

    def extra_repr(self) -> str:
        how = f"size={self._size}" if self._size is not None else f"scale_factor={self._scale_factor}"
        extra = f", align_corners={self._align_corners}" if self._align_corners is not None else ""
        return f"{self.in_type}, {how}, mode={self._mode!r}{extra}"


class R2Upsampling(_Upsampling):
    """Upsample every channel with ``torch.nn.functional.interpolate`` (``'bilinear'`` or ``'nearest'``).

    Interpolation acts on every channel alike, so it commutes with the representation; with an integer
    ``scale_factor`` it also commutes with rotations by 90° and flips of the grid. ``'nearest'`` breaks the
    equivariance to other rotations more than ``'bilinear'`` (the default). Prefer ``scale_factor`` to
    ``size``: a ``size`` scaling the two axes differently breaks rotation equivariance.
    :class:`R3Upsampling` upsamples volumes.

    Args:
        in_type: the input field type (on a planar gspace).
        scale_factor: multiplier of the spatial size (exactly one of ``scale_factor`` and ``size``).
        size: the output spatial size, an int or a pair.
        mode: ``'bilinear'`` (default) or ``'nearest'``.
        align_corners: as in ``interpolate``; only used by ``'bilinear'``.

    Shape:
        ``[B, C, H, W] -> [B, C, floor(s H), floor(s W)]`` (or ``size``).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, R2Upsampling
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.irrep(1)])
        >>> up = R2Upsampling(t, scale_factor=2)
        >>> up(GeometricTensor(torch.randn(1, 2, 5, 5), t)).shape
        torch.Size([1, 2, 10, 10])
        >>> up.export()
        Upsample(scale_factor=2.0, mode='bilinear')
    """

    _dim = 2
    _counterpart = "R3Upsampling"

    def __init__(
        self,
        in_type: FieldType,
        scale_factor: float | None = None,
        size: int | tuple[int, int] | None = None,
        mode: str = "bilinear",
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        self._setup(in_type, scale_factor, size, mode, align_corners)


class R3Upsampling(_Upsampling):
    """Upsample every channel of a volume with ``torch.nn.functional.interpolate`` (``'trilinear'`` or
    ``'nearest'``), escnn's ``R3Upsampling``.

    Interpolation acts on every channel alike, so it commutes with the representation; with an integer
    ``scale_factor`` it also commutes with the symmetries of the voxel grid (the rotations of the cube and
    the inversion). Prefer ``scale_factor`` to ``size``: a ``size`` scaling the axes differently breaks the
    equivariance.

    Args:
        in_type: the input field type (on a gspace of space).
        scale_factor: multiplier of the spatial size (exactly one of ``scale_factor`` and ``size``).
        size: the output spatial size, an int or a triple ``(D, H, W)``.
        mode: ``'trilinear'`` (default) or ``'nearest'``.
        align_corners: as in ``interpolate``; only used by ``'trilinear'``.

    Shape:
        ``[B, C, D, H, W] -> [B, C, floor(s D), floor(s H), floor(s W)]`` (or ``size``).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, R3Upsampling
        >>> gs = gspaces.rot3dOnR3()
        >>> t = FieldType(gs, [gs.irrep(1)])
        >>> up = R3Upsampling(t, scale_factor=2)
        >>> up(GeometricTensor(torch.randn(1, 3, 4, 4, 4), t)).shape
        torch.Size([1, 3, 8, 8, 8])
        >>> up.export()
        Upsample(scale_factor=2.0, mode='trilinear')
    """

    _dim = 3
    _counterpart = "R2Upsampling"

    def __init__(
        self,
        in_type: FieldType,
        scale_factor: float | None = None,
        size: int | tuple[int, int, int] | None = None,
        mode: str = "trilinear",
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        self._setup(in_type, scale_factor, size, mode, align_corners)
