"""``ReshuffleModule``: permute the fields of a tensor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_field_type, check_input

__all__ = ["ReshuffleModule"]


class ReshuffleModule(EquivariantModule):
    """Permute the fields of the input: output field ``i`` is input field ``permutation[i]``.

    The output type is ``in_type.index_select(permutation)``; the forward pass is one ``index_select`` over
    the channels (precomputed at construction).

    Args:
        in_type: the input field type.
        permutation: a permutation of ``0, ..., len(in_type) - 1``.

    Shape:
        ``[B, C, ...] -> [B, C, ...]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, ReshuffleModule
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.trivial_repr, gs.irrep(1)])
        >>> m = ReshuffleModule(t, [1, 0])
        >>> m.out_type
        [4-Rotations: {irrep_1, irrep_0}]
        >>> m(GeometricTensor(torch.arange(3.0).view(1, 3, 1, 1), t)).tensor.flatten().tolist()
        [1.0, 2.0, 0.0]
    """

    def __init__(self, in_type: FieldType, permutation: Sequence[int]) -> None:
        super().__init__()
        check_field_type(in_type, owner=type(self).__name__)
        perm = list(permutation)
        if sorted(int(p) for p in perm) != list(range(len(in_type))) or not all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in perm
        ):
            raise ValueError(
                f"ReshuffleModule: permutation={permutation!r} is not accepted; expected a permutation of "
                f"0..{len(in_type) - 1}"
            )
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type.index_select(perm)
        self.permutation = [int(p) for p in perm]
        start, end = np.asarray(in_type.fields_start), np.asarray(in_type.fields_end)
        idx = np.concatenate([np.arange(start[p], end[p]) for p in perm]) if perm else np.zeros(0)
        self.register_buffer("_indices", torch.from_numpy(idx.astype(np.int64)), persistent=False)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Return the input with its fields permuted."""
        check_input(self, input)
        return GeometricTensor(input.tensor.index_select(1, self._indices), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"ReshuffleModule: input_shape={input_shape} does not match in_type")
        return input_shape

    def export(self) -> torch.nn.Module:
        """Return the same map in plain PyTorch (eval mode).

        No ``torch.nn`` class permutes channels arbitrarily, so the export is a :class:`torch.fx.GraphModule`
        holding one ``index_select`` over the channels (loads with PyTorch alone); the identity permutation
        exports to ``torch.nn.Identity``.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.trivial_repr, gs.irrep(1)])
            >>> ReshuffleModule(t, [1, 0]).export()(torch.arange(3.0).view(1, 3, 1, 1)).flatten().tolist()
            [1.0, 2.0, 0.0]
            >>> ReshuffleModule(t, [0, 1]).export()
            Identity()
        """
        from .._export import Gather, to_graph

        if self.permutation == sorted(self.permutation):
            return torch.nn.Identity().eval()
        return to_graph(Gather(self._indices), "ReshuffleModuleGraph")

    def extra_repr(self) -> str:
        return f"{self.in_type} -> {self.out_type}"
