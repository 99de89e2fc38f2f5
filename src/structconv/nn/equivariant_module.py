"""``EquivariantModule``: the abstract base class of every equivariant ``torch.nn.Module``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from structconv.nn.field_type import FieldType

__all__ = ["EquivariantModule"]


class EquivariantModule(torch.nn.Module, ABC):
    r"""Abstract base class of the equivariant modules: a typed map between two field types.

    A subclass sets ``self.in_type`` and ``self.out_type`` (:class:`FieldType`) in its ``__init__``,
    implements ``forward`` (a :class:`GeometricTensor` of ``in_type`` in, one of ``out_type`` out) and
    :meth:`evaluate_output_shape`, and guarantees

    .. math::
        f(g \cdot x) = g \cdot f(x) \qquad \forall g \in G

    for the group :math:`G` of the types. Modules that can be converted to plain PyTorch override
    :meth:`export`; the default raises ``NotImplementedError``.

    Attributes:
        in_type: type of the ``GeometricTensor`` expected as input.
        out_type: type of the ``GeometricTensor`` returned as output.

    Example:
        >>> from structconv.gspaces import Rot2dOnR2
        >>> from structconv.nn import FieldType, GeometricTensor
        >>> class Scale(EquivariantModule):
        ...     def __init__(self, in_type):
        ...         super().__init__()
        ...         self.in_type = self.out_type = in_type
        ...     def forward(self, x):
        ...         return GeometricTensor(2 * x.tensor, self.out_type)
        ...     def evaluate_output_shape(self, input_shape):
        ...         return input_shape
        >>> gs = Rot2dOnR2(4)
        >>> m = Scale(FieldType(gs, [gs.regular_repr]))
        >>> m
        Scale([4-Rotations: {regular}] -> [4-Rotations: {regular}])
        >>> max(err for _, err in m.check_equivariance()) < 1e-12
        True
    """

    in_type: FieldType
    out_type: FieldType

    def __init__(self) -> None:
        super().__init__()

    @abstractmethod
    def forward(self, *input: Any) -> Any:
        """Apply the module to a :class:`GeometricTensor` of :attr:`in_type`."""

    @abstractmethod
    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return the shape of the output for an input of shape ``input_shape``.

        Args:
            input_shape: shape of the input tensor, ``(B, in_type.size, H, W)``.

        Returns:
            the shape of the output tensor.
        """

    def check_equivariance(self, atol: float = 1e-7, rtol: float = 1e-5) -> list[tuple[Any, float]]:
        """Test the equivariance of this module on the testing elements of its group.

        Runs :func:`structconv.testing.assert_equivariant` on a float64 copy of the module (in eval
        mode, so this module and its running statistics are untouched) with a random input of spatial
        size 17. Elements acting exactly on the pixel grid (multiples of 90°, mirror flips) are compared
        everywhere against ``atol + rtol * max|output|``; the others are compared with a smooth input
        masked to a disc, in the inner disc, with the interpolation tolerance of ``assert_equivariant``.
        Subclasses may override this with a more specific test.

        Args:
            atol: absolute tolerance for exactly-transformed elements.
            rtol: relative tolerance for exactly-transformed elements.

        Returns:
            for each testing element, the pair ``(element, max absolute error)``.

        Raises:
            AssertionError: some element exceeds the tolerance; the message names it.
        """
        from structconv.testing import assert_equivariant

        records = assert_equivariant(self, atol=atol, rtol=rtol)
        return [(r.element, r.abs_error) for r in records]

    def export(self) -> torch.nn.Module:
        """Convert to an equivalent plain ``torch.nn`` module in eval mode.

        Raises:
            NotImplementedError: this module does not implement export (the default).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement export() yet")

    def extra_repr(self) -> str:
        in_type = getattr(self, "in_type", None)
        out_type = getattr(self, "out_type", None)
        if in_type is None and out_type is None:
            return ""
        return f"{in_type} -> {out_type}"
