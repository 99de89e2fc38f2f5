"""``R2Upsampling``: spatial upsampling of feature fields (``torch.nn.functional.interpolate``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_field_type, check_input, pair

__all__ = ["R2Upsampling"]

_MODES = ("bilinear", "nearest")


class R2Upsampling(EquivariantModule):
    """Upsample every channel with ``torch.nn.functional.interpolate`` (``'bilinear'`` or ``'nearest'``).

    Interpolation acts on every channel alike, so it commutes with the representation; with an integer
    ``scale_factor`` it also commutes with rotations by 90° and flips of the grid. ``'nearest'`` breaks the
    equivariance to other rotations more than ``'bilinear'`` (the default). Prefer ``scale_factor`` to
    ``size``: a ``size`` scaling the two axes differently breaks rotation equivariance.

    Args:
        in_type: the input field type.
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

    def __init__(
        self,
        in_type: FieldType,
        scale_factor: float | None = None,
        size: int | tuple[int, int] | None = None,
        mode: str = "bilinear",
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if mode not in _MODES:
            raise ValueError(f"{name}: mode={mode!r} is not supported; expected one of {_MODES}")
        if (scale_factor is None) == (size is None):
            raise ValueError(
                f"{name}: scale_factor={scale_factor!r} and size={size!r}; expected exactly one of the two"
            )
        if scale_factor is not None and (
            isinstance(scale_factor, bool)
            or not isinstance(scale_factor, (int, float))
            or not scale_factor > 0
        ):
            raise ValueError(f"{name}: scale_factor={scale_factor!r} is not accepted; expected a number > 0")
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self._scale_factor = None if scale_factor is None else float(scale_factor)
        self._size = None if size is None else pair(size, "size", name)
        self._mode = mode
        self._align_corners = bool(align_corners) if mode == "bilinear" else None

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
        """Shape of the output for an input of shape ``(B, C, H, W)``."""
        input_shape = tuple(input_shape)
        if len(input_shape) != 4 or input_shape[1] != self.in_type.size:
            raise ValueError(f"R2Upsampling: input_shape={input_shape} does not match in_type")
        b, c, h, w = input_shape
        if self._size is not None:
            return (b, c, *self._size)
        return (b, c, math.floor(h * self._scale_factor), math.floor(w * self._scale_factor))

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
        extra = f", align_corners={self._align_corners}" if self._mode == "bilinear" else ""
        return f"{self.in_type}, {how}, mode={self._mode!r}{extra}"
