"""``DisentangleModule``: split every field into the independent parts of its representation."""

from __future__ import annotations

import numpy as np
import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import FieldGrouping, check_field_type, check_input, register_grouping

__all__ = ["DisentangleModule"]


class DisentangleModule(EquivariantModule):
    """Disentangle the representation of every field (:func:`structconv.group.disentangle`).

    Each representation is written :math:`\\rho(g) = P^T (\\bigoplus_i \\rho_i(g)) P` with ``P`` a
    permutation (change of basis), computed once per distinct representation in the constructor. A field
    :math:`v` becomes :math:`P v`, the concatenation of fields of types :math:`\\rho_i`. The forward pass is
    one small matrix product per distinct representation.

    Args:
        in_type: the input field type.

    Shape:
        ``[B, C, ...] -> [B, C, ...]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.group import directsum
        >>> from structconv.nn import DisentangleModule, FieldType
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [directsum([gs.irrep(1), gs.trivial_repr])])
        >>> len(DisentangleModule(t).out_type)
        2
    """

    def __init__(self, in_type: FieldType) -> None:
        super().__init__()
        check_field_type(in_type, owner=type(self).__name__)
        from ...group import disentangle

        self.space = in_type.gspace
        self.in_type = in_type
        self._grouping = FieldGrouping(in_type)
        register_grouping(self, self._grouping)
        parts = {}
        for g, rep in enumerate(self._grouping.reps):
            p, reps = disentangle(rep)
            parts[rep] = reps
            p = np.ascontiguousarray(np.asarray(p, dtype=np.float64))
            self.register_buffer(
                f"_basis_{g}", torch.from_numpy(p).to(torch.get_default_dtype()), persistent=False
            )
        self.out_type = FieldType(in_type.gspace, [q for r in in_type.representations for q in parts[r]])

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Change the basis of every field and return the disentangled fields."""
        check_input(self, input)

        def fn(g: int, v: torch.Tensor) -> torch.Tensor:
            return torch.einsum("ij,bnj...->bni...", getattr(self, f"_basis_{g}").to(v.dtype), v)

        return GeometricTensor(
            self._grouping.apply(input.tensor, self._in_perm, self._out_perm, fn), self.out_type
        )

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"DisentangleModule: input_shape={input_shape} does not match in_type")
        return input_shape

    def export(self) -> torch.nn.Module:
        """Return the same map in plain PyTorch (eval mode).

        Every change of basis is a permutation (:func:`structconv.group.disentangle`), so the map moves
        channels: the export is a :class:`torch.fx.GraphModule` holding one ``index_select`` over the
        channels (loads with PyTorch alone), or ``torch.nn.Identity`` when no field is reordered.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.group import directsum
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [directsum([gs.irrep(1), gs.trivial_repr, gs.irrep(1)])])
            >>> m = DisentangleModule(t)
            >>> x = torch.randn(1, 5, 3, 3)
            >>> torch.equal(m.export()(x), m(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import Gather, to_graph

        index = np.empty(self.in_type.size, dtype=np.int64)
        starts = self.in_type.fields_start
        for g, ids in enumerate(self._grouping.field_ids):
            p = getattr(self, f"_basis_{g}").detach().cpu().double().numpy()
            binary = np.isin(p, (0.0, 1.0)).all()
            if not (binary and (p.sum(axis=0) == 1).all() and (p.sum(axis=1) == 1).all()):
                raise RuntimeError(f"DisentangleModule.export: change of basis {g} is not a permutation")
            source = p.argmax(axis=1)  # output channel a of a field is its input channel source[a]
            for i in ids:
                index[starts[i] : starts[i] + len(source)] = starts[i] + source
        if np.array_equal(index, np.arange(len(index))):
            return torch.nn.Identity().eval()
        device = self._basis_0.device
        return to_graph(Gather(torch.from_numpy(index).to(device)), "DisentangleModuleGraph")

    def extra_repr(self) -> str:
        return f"{self.in_type} -> {self.out_type}"
