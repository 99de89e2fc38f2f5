"""``RestrictionModule``: view a tensor as a tensor of a subgroup's field type."""

from __future__ import annotations

from typing import Any

import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_field_type, check_input

__all__ = ["RestrictionModule"]


class RestrictionModule(EquivariantModule):
    """Restrict the type of the input to the subgroup identified by ``id``.

    The output type ``in_type.restrict(id)`` is computed once, in the constructor; the forward pass only
    wraps the same tensor (no copy) with it. Valid ids depend on the gspace (see
    :meth:`structconv.gspaces.GSpace.restrict`): e.g. ``M`` for the rotations :math:`C_M` of a rotation
    gspace, ``(None, M)`` or ``(axis, M)`` for the subgroups of a flips-and-rotations gspace.

    Args:
        in_type: the input field type.
        id: the id of a subgroup of ``in_type``'s fiber group.

    Shape:
        ``[B, C, ...] -> [B, C, ...]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, RestrictionModule
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> m = RestrictionModule(FieldType(gs, [gs.regular_repr]), (None, 4))
        >>> m.out_type.gspace.name, m.out_type.size
        ('4-Rotations', 8)
        >>> m.export()
        Identity()
    """

    def __init__(self, in_type: FieldType, id: Any) -> None:
        super().__init__()
        check_field_type(in_type, owner=type(self).__name__)
        try:
            out_type = in_type.restrict(id)
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(
                f"RestrictionModule: id={id!r} is not a valid subgroup id of {in_type.gspace.name}: {err}"
            ) from err
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = out_type
        self._id = id

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Wrap the input's tensor with the restricted type."""
        check_input(self, input)
        return GeometricTensor(input.tensor, self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"RestrictionModule: input_shape={input_shape} does not match in_type")
        return input_shape

    def check_equivariance(self, atol: float = 1e-7, rtol: float = 1e-5) -> list[tuple[Any, float]]:
        """Check that, for every testing element ``h`` of the subgroup, moving the input by ``h`` (seen in the
        parent group) and moving the output by ``h`` agree. Returns ``(h, max error)`` pairs."""
        _, parent, _ = self.in_type.gspace.restrict(self._id)
        x = torch.randn(2, self.in_type.size, 9, 9, dtype=torch.float64)
        out = self(GeometricTensor(x, self.in_type)).tensor
        errors = []
        for h in self.out_type.testing_elements:
            expected = self.out_type.transform(out, h)
            actual = self(GeometricTensor(self.in_type.transform(x, parent(h)), self.in_type)).tensor
            err = float((expected - actual).abs().max())
            if err > atol + rtol * float(expected.abs().max()):
                raise AssertionError(f"RestrictionModule: element {h!r} has error {err:.3g}")
            errors.append((h, err))
        return errors

    def export(self) -> torch.nn.Identity:
        """Return ``torch.nn.Identity`` in eval mode."""
        return torch.nn.Identity().eval()

    def extra_repr(self) -> str:
        return f"{self.in_type}, id={self._id!r}"
