"""``IdentityModule``: returns its input unchanged."""

from __future__ import annotations

import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_field_type, check_input

__all__ = ["IdentityModule"]


class IdentityModule(EquivariantModule):
    """An equivariant module that returns its input unchanged (input type = output type).

    Args:
        in_type: the input (and output) field type.

    Shape:
        ``[B, C, ...] -> [B, C, ...]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, IdentityModule
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr])
        >>> x = GeometricTensor(torch.randn(1, 4, 3, 3), t)
        >>> IdentityModule(t)(x) is x
        True
        >>> IdentityModule(t).export()
        Identity()
    """

    def __init__(self, in_type: FieldType) -> None:
        super().__init__()
        check_field_type(in_type, owner=type(self).__name__)
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Return ``input``."""
        check_input(self, input)
        return input

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"IdentityModule: input_shape={input_shape} does not match in_type")
        return input_shape

    def export(self) -> torch.nn.Identity:
        """Return ``torch.nn.Identity`` in eval mode."""
        return torch.nn.Identity().eval()

    def extra_repr(self) -> str:
        return f"{self.in_type}"
