"""Dropout of feature fields: whole fields (:class:`FieldDropout`) or channels (:class:`PointwiseDropout`).

Dropping a whole field (all its channels at once, at a given pixel) commutes with every representation;
dropping single channels only with permutation representations. Both are equivariant in distribution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_field_type, check_input, field_of_channel, require_support

__all__ = ["FieldDropout", "PointwiseDropout"]


def _check_p(p: float, owner: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{owner}: p={p!r} is not accepted; expected a probability in [0, 1]")
    return float(p)


class _DropoutBase(EquivariantModule):
    def _setup(self, in_type: FieldType, p: float, inplace: bool) -> None:
        check_field_type(in_type, owner=type(self).__name__)
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.p = _check_p(p, type(self).__name__)
        self.inplace = bool(inplace)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` (dropout preserves the shape) after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"{type(self).__name__}: input_shape={input_shape} does not match in_type")
        return input_shape

    def extra_repr(self) -> str:
        return f"{self.in_type}, p={self.p}, inplace={self.inplace}"


class FieldDropout(_DropoutBase):
    """Dropout of whole fields: at every pixel, each field is zeroed with probability ``p``.

    In training mode every field :math:`v_i(x)` is multiplied by :math:`m_i(x) / (1 - p)` with
    :math:`m_i(x) \\sim \\mathrm{Bernoulli}(1 - p)` drawn once for all its channels, so the expected output
    equals the input; in eval mode the module is the identity.

    Args:
        in_type: the input field type (any representation).
        p: probability of dropping a field.
        inplace: modify the input tensor in place.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldDropout, FieldType, GeometricTensor
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.irrep(1)] * 3)
        >>> drop = FieldDropout(t, p=0.5).eval()
        >>> x = GeometricTensor(torch.randn(2, 6, 3, 3), t)
        >>> torch.equal(drop(x).tensor, x.tensor)
        True
    """

    def __init__(self, in_type: FieldType, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self._setup(in_type, p, inplace)
        self.register_buffer(
            "_field_of_channel", torch.from_numpy(field_of_channel(in_type)), persistent=False
        )

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Zero whole fields at random (training mode only) and rescale the others by ``1 / (1 - p)``."""
        check_input(self, input)
        x = input.tensor
        if not self.training or self.p == 0.0:
            return input
        if self.p == 1.0:
            y = x.mul_(0.0) if self.inplace else torch.zeros_like(x)
            return GeometricTensor(y, self.out_type)
        shape = (x.shape[0], len(self.in_type), *x.shape[2:])
        keep = torch.empty(shape, device=x.device, dtype=x.dtype).bernoulli_(1.0 - self.p)
        mask = keep.index_select(1, self._field_of_channel) / (1.0 - self.p)
        y = x.mul_(mask) if self.inplace else x * mask
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Identity:
        """Return ``torch.nn.Identity`` (what field dropout computes in eval mode), in eval mode."""
        return torch.nn.Identity().eval()


class PointwiseDropout(_DropoutBase):
    """Dropout of single channels (``torch.nn.functional.dropout``) for permutation fields.

    Args:
        in_type: the input field type; fields must support ``'pointwise'`` operations.
        p: probability of dropping a channel.
        inplace: modify the input tensor in place.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, PointwiseDropout
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> PointwiseDropout(FieldType(gs, [gs.regular_repr]), p=0.3).export()
        Dropout(p=0.3, inplace=False)
    """

    def __init__(self, in_type: FieldType, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self._setup(in_type, p, inplace)
        require_support(in_type, "pointwise", type(self).__name__)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Zero channels at random (training mode only) and rescale the others by ``1 / (1 - p)``."""
        check_input(self, input)
        return GeometricTensor(F.dropout(input.tensor, self.p, self.training, self.inplace), self.out_type)

    def export(self) -> torch.nn.Dropout:
        """Return an equivalent ``torch.nn.Dropout`` in eval mode."""
        return torch.nn.Dropout(self.p, self.inplace).eval()
