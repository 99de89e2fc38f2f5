"""Gated non-linearities: every gated field is multiplied by the sigmoid of an invariant gate.

A gate is a scalar (trivial) field, so :math:`\\sigma(s - b)` is invariant and multiplying any field by it
is equivariant. In the induced variant a gate is a permutation field :math:`\\mathrm{Ind}_H^G 1` whose
channel :math:`j` gates the :math:`j`-th sub-field of an induced field :math:`\\mathrm{Ind}_H^G \\psi`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_field_type, check_input, ignore_extra_kwargs, induced_structure, require_support

__all__ = ["GatedNonLinearity1", "GatedNonLinearity2", "InducedGatedNonLinearity1"]

_GATE = "gate"
_GATED = "gated"


def _parse_gates(in_type: FieldType, gates: Sequence[str] | None, owner: str) -> list[str]:
    n = len(in_type)
    if gates is None:
        if n % 2 != 0:
            raise ValueError(
                f"{owner}: gates=None needs an even number of fields (first half gates, second half gated); "
                f"in_type has {n}"
            )
        return [_GATE] * (n // 2) + [_GATED] * (n // 2)
    if isinstance(gates, str) or not isinstance(gates, Sequence) or len(gates) != n:
        raise ValueError(
            f"{owner}: gates={gates!r} is not accepted; expected a list of {n} strings 'gate' or 'gated', "
            "one "
            "per field of in_type"
        )
    for i, g in enumerate(gates):
        if g not in (_GATE, _GATED):
            raise ValueError(f"{owner}: gates[{i}]={g!r} is not accepted; expected 'gate' or 'gated'")
    return list(gates)


class _GatedBase(EquivariantModule):
    """Index bookkeeping shared by the gated non-linearities (all vectorised with ``index_select``)."""

    _acts_pointwise = True

    def _build(
        self,
        in_type: FieldType,
        labels: list[str],
        drop_gates: bool,
        gate_support: str,
        gated_support: str,
        induced: bool,
    ) -> None:
        name = type(self).__name__
        reps = in_type.representations
        gate_ids = [i for i, g in enumerate(labels) if g == _GATE]
        gated_ids = [i for i, g in enumerate(labels) if g == _GATED]
        if len(gate_ids) != len(gated_ids):
            raise ValueError(
                f"{name}: {len(gate_ids)} gate fields but {len(gated_ids)} gated fields; "
                "the numbers must match"
            )
        for ids, support, role in ((gate_ids, gate_support, "a gate"), (gated_ids, gated_support, "gated")):
            for i in ids:
                if support not in reps[i].supported_nonlinearities:
                    raise ValueError(
                        f"{name}: field {i} of in_type ({role}) has representation '{reps[i].name}', which "
                        f"does not support '{support}' operations; accepted: representations supporting "
                        f"'{support}'"
                    )
        start = np.asarray(in_type.fields_start, dtype=np.int64)
        sizes = np.asarray([r.size for r in reps], dtype=np.int64)
        gate_channels = np.concatenate([np.arange(start[i], start[i] + sizes[i]) for i in gate_ids])
        bias_of_gate_channel = np.repeat(np.arange(len(gate_ids)), sizes[gate_ids])
        gate_offset = np.concatenate([[0], np.cumsum(sizes[gate_ids])[:-1]]).astype(np.int64)
        # for every channel: the position, among the gate channels, of the gate multiplying it
        multiplier = np.zeros(in_type.size, dtype=np.int64)
        is_gate = np.zeros(in_type.size, dtype=bool)
        # as e2cnn: the k-th gate gates the k-th gated field in the order of their sizes (stable; induced
        # fields by size, then sub-field size), which is the field order whenever the sizes are sorted
        def size_key(i: int) -> tuple[int, int]:
            structure = induced_structure(reps[i]) if induced else None
            return int(sizes[i]), (structure[1] if structure is not None else 0)

        paired = sorted(gated_ids, key=size_key)
        for k, (gi, fi) in enumerate(zip(gate_ids, paired)):
            is_gate[start[gi] : start[gi] + sizes[gi]] = True
            multiplier[start[gi] : start[gi] + sizes[gi]] = gate_offset[k] + np.arange(sizes[gi])
            if induced:
                structure = induced_structure(reps[fi])
                if structure is None or structure[0] != sizes[gi]:
                    raise ValueError(
                        f"{name}: gated field {fi} ('{reps[fi].name}') does not have one sub-field per "
                        "channel "
                        f"of its gate field {gi} ('{reps[gi].name}', size {sizes[gi]}); accepted: induced "
                        "representations from the same subgroup"
                    )
                m, d = structure
                pos = gate_offset[k] + np.repeat(np.arange(m), d)
            else:
                if sizes[gi] != 1:
                    raise ValueError(
                        f"{name}: gate field {gi} has size {sizes[gi]}; accepted: trivial fields"
                    )
                pos = np.full(sizes[fi], gate_offset[k])
            multiplier[start[fi] : start[fi] + sizes[fi]] = pos
        self.drop_gates = bool(drop_gates)
        self.register_buffer(
            "_gate_channels", torch.from_numpy(gate_channels.astype(np.int64)), persistent=False
        )
        self.register_buffer(
            "_bias_index", torch.from_numpy(bias_of_gate_channel.astype(np.int64)), persistent=False
        )
        if drop_gates:
            gated_channels = np.concatenate([np.arange(start[i], start[i] + sizes[i]) for i in gated_ids])
            self.register_buffer(
                "_out_channels", torch.from_numpy(gated_channels.astype(np.int64)), persistent=False
            )
            self.register_buffer(
                "_multiplier", torch.from_numpy(multiplier[gated_channels]), persistent=False
            )
            self.register_buffer("_is_gate", None, persistent=False)
            self.out_type = in_type.index_select(gated_ids)
        else:
            self.register_buffer("_out_channels", None, persistent=False)
            self.register_buffer("_multiplier", torch.from_numpy(multiplier), persistent=False)
            self.register_buffer("_is_gate", torch.from_numpy(is_gate), persistent=False)
            self.out_type = in_type
        self.bias = torch.nn.Parameter(torch.zeros(len(gate_ids)))

    def _gate(self, x: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Multiply the channels of ``x`` by the sigmoid of the gates ``gates`` (gate channels only)."""
        shape = (1, -1) + (1,) * (x.dim() - 2)
        g = torch.sigmoid(gates - self.bias.to(x.dtype).index_select(0, self._bias_index).view(shape))
        e = g.index_select(1, self._multiplier)
        if self._out_channels is not None:
            return x.index_select(1, self._out_channels) * e
        if self._is_gate is not None:
            return torch.where(self._is_gate.view(shape), e, x * e)
        return x * e

    def _export_root(self, two_inputs: bool) -> torch.nn.Module:
        """The pure-torch module :meth:`export` traces: the current biases per gate channel (copies)."""
        from .._export import Gate, Gate2

        with torch.no_grad():
            bias = self.bias.index_select(0, self._bias_index)
        if two_inputs:
            return Gate2(bias, self._multiplier, None, self._out_channels, self._is_gate)
        return Gate(bias, self._multiplier, self._gate_channels, self._out_channels, self._is_gate)

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` of torch operations (eval mode).

        The graph gathers the gates, subtracts the current biases (copies), applies the sigmoid and
        multiplies each gated channel by its gate (``index_select`` with the constructor's indices); it
        pickles and loads with PyTorch alone. It takes and returns plain tensors ``(B, C, H, W)``
        (:class:`GatedNonLinearity2`'s takes ``(gates, input)``).

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GatedNonLinearity1, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(8)
            >>> t = FieldType(gs, [gs.trivial_repr] * 2 + [gs.irrep(1), gs.irrep(2)])
            >>> m = GatedNonLinearity1(t)
            >>> x = torch.randn(2, t.size, 5, 5)
            >>> torch.equal(m.export()(x), m(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import to_graph
        from ._graphs import for_volumes, spatial_dim

        two = isinstance(self.in_type, tuple)
        dim = spatial_dim(self.in_type[1] if two else self.in_type)
        root = for_volumes(self._export_root(two), dim, inputs=2 if two else 1)
        return to_graph(root, f"{type(self).__name__}Graph")

    def _shape(self, input_shape: tuple[int, ...], size: int) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != size:
            raise ValueError(
                f"{type(self).__name__}: input_shape={input_shape} does not match in_type (size {size})"
            )
        return (input_shape[0], self.out_type.size, *input_shape[2:])


class GatedNonLinearity1(_GatedBase):
    """Gated non-linearity with gates and gated fields in one tensor.

    .. math::
        y_i = \\sigma(s_i - b_i) \\, v_i

    where the :math:`i`-th gate :math:`s_i` (a trivial field) multiplies the :math:`i`-th gated field
    :math:`v_i` and :math:`b_i` is a learnable bias (initialised to 0). As in e2cnn, the gates are taken in
    the order they appear and the gated fields in the order of their sizes (a stable sort): when the gated
    fields are sorted by size, gate :math:`i` gates the :math:`i`-th gated field.

    Args:
        in_type: the input field type, containing the gates and the gated fields.
        gates: one string per field, ``'gate'`` or ``'gated'``; by default the first half of the fields are
            the gates and the second half the gated fields.
        drop_gates: if ``True`` (default) the output holds only the gated fields; otherwise it has the input
            type and the gates are replaced by :math:`\\sigma(s_i - b_i)`.

    Shape:
        ``[B, C, *S] -> [B, C', *S]``, ``C'`` the size of the gated fields (or ``C``);
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GatedNonLinearity1, GeometricTensor
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.trivial_repr] * 2 + [gs.irrep(1), gs.irrep(2)])
        >>> m = GatedNonLinearity1(t)
        >>> m(GeometricTensor(torch.randn(2, t.size, 5, 5), t)).shape
        torch.Size([2, 4, 5, 5])
    """

    def __init__(
        self, in_type: FieldType, gates: Sequence[str] | None = None, drop_gates: bool = True, **kwargs
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        ignore_extra_kwargs(name, kwargs, {"function": "gated"})
        labels = _parse_gates(in_type, gates, name)
        self.space = in_type.gspace
        self.in_type = in_type
        self._build(in_type, labels, drop_gates, "gate", "gated", induced=False)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply the gates to the gated fields."""
        check_input(self, input)
        x = input.tensor
        return GeometricTensor(self._gate(x, x.index_select(1, self._gate_channels)), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``input_shape``."""
        return self._shape(input_shape, self.in_type.size)

    def extra_repr(self) -> str:
        return f"{self.in_type} -> {self.out_type}, drop_gates={self.drop_gates}"


class InducedGatedNonLinearity1(_GatedBase):
    """Gated non-linearity for induced fields: channel :math:`j` of a gate gates sub-field :math:`j`.

    The gates are fields :math:`\\mathrm{Ind}_H^G 1` (permutation fields supporting ``'induced_gate'``);
    the gated fields are induced fields :math:`\\mathrm{Ind}_H^G \\psi` (supporting ``'induced_gated'``) of
    the same subgroup :math:`H`, so that a gate has one channel per sub-field of its gated field:

    .. math::
        y_{i, j} = \\sigma(s_{i, j} - b_i) \\, v_{i, j}

    with one learnable bias :math:`b_i` per gate field (shared by its channels, which keeps it equivariant).

    Args:
        in_type: the input field type, containing the gates and the gated fields.
        gates: one string per field, ``'gate'`` or ``'gated'``; by default the first half of the fields.
        drop_gates: if ``True`` (default) only the gated fields are returned.

    Shape:
        ``[B, C, *S] -> [B, C', *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, InducedGatedNonLinearity1
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> sub = gs.restrict((None, 4))[0]
        >>> gate = gs.induced_repr((None, 4), sub.trivial_repr)
        >>> gated = gs.induced_repr((None, 4), sub.irrep(1))
        >>> t = FieldType(gs, [gate, gated])
        >>> m = InducedGatedNonLinearity1(t)
        >>> m(GeometricTensor(torch.randn(2, t.size, 5, 5), t)).shape
        torch.Size([2, 4, 5, 5])
    """

    def __init__(
        self, in_type: FieldType, gates: Sequence[str] | None = None, drop_gates: bool = True, **kwargs
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        ignore_extra_kwargs(name, kwargs, {"function": "gated"})
        labels = _parse_gates(in_type, gates, name)
        self.space = in_type.gspace
        self.in_type = in_type
        self._build(in_type, labels, drop_gates, "induced_gate", "induced_gated", induced=True)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply the gates to the sub-fields of the gated fields."""
        check_input(self, input)
        x = input.tensor
        return GeometricTensor(self._gate(x, x.index_select(1, self._gate_channels)), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``input_shape``."""
        return self._shape(input_shape, self.in_type.size)

    def extra_repr(self) -> str:
        return f"{self.in_type} -> {self.out_type}, drop_gates={self.drop_gates}"


class GatedNonLinearity2(_GatedBase):
    """Gated non-linearity with the gates and the gated fields in two separate tensors.

    ``in_type`` is a pair ``(gates_type, gated_type)``; ``forward(gates, input)`` returns
    :math:`y_i = \\sigma(s_i - b_i) v_i` with the type ``gated_type``. Both types must have the same number
    of fields; the gates must be trivial fields. Gates pair with the gated fields sorted by size, as in
    :class:`GatedNonLinearity1`.

    Args:
        in_type: the pair ``(gates_type, gated_type)`` of field types.

    Shape:
        gates ``[B, G, *S]``, input ``[B, C, *S]`` ``-> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GatedNonLinearity2, GeometricTensor
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> gates_type = FieldType(gs, [gs.trivial_repr] * 2)
        >>> gated_type = FieldType(gs, [gs.irrep(1)] * 2)
        >>> m = GatedNonLinearity2((gates_type, gated_type))
        >>> g = GeometricTensor(torch.randn(1, 2, 3, 3), gates_type)
        >>> v = GeometricTensor(torch.randn(1, 4, 3, 3), gated_type)
        >>> m(g, v).shape
        torch.Size([1, 4, 3, 3])
    """

    def __init__(self, in_type: tuple[FieldType, FieldType], **kwargs) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(in_type, (tuple, list)) or len(in_type) != 2:
            raise TypeError(
                f"{name}: in_type={in_type!r} is not accepted; expected a pair (gates_type, gated_type)"
            )
        ignore_extra_kwargs(name, kwargs, {"function": "gated"})
        gates_type, gated_type = in_type
        check_field_type(gates_type, "in_type[0]", owner=name)
        check_field_type(gated_type, "in_type[1]", owner=name)
        if gates_type.gspace != gated_type.gspace:
            raise ValueError(f"{name}: the gates and the gated fields live on different gspaces")
        if len(gates_type) != len(gated_type):
            raise ValueError(
                f"{name}: {len(gates_type)} gate fields but {len(gated_type)} gated fields; "
                "the numbers must match"
            )
        require_support(gates_type, "gate", name, argname="in_type[0]")
        self.space = gated_type.gspace
        self.in_type = (gates_type, gated_type)
        joint = gates_type + gated_type
        labels = [_GATE] * len(gates_type) + [_GATED] * len(gated_type)
        self._build(joint, labels, True, "gate", "gated", induced=False)
        # the gated tensor arrives alone: multiply its channels directly
        self._out_channels = None
        self._gate_channels = torch.arange(gates_type.size)

    def forward(self, gates: GeometricTensor, input: GeometricTensor) -> GeometricTensor:
        """Multiply the fields of ``input`` by the sigmoid of the matching fields of ``gates``."""
        check_input(self, gates, self.in_type[0], argname="gates")
        check_input(self, input, self.in_type[1], argname="input")
        return GeometricTensor(self._gate(input.tensor, gates.tensor), self.out_type)

    def evaluate_output_shape(self, *input_shapes: tuple[int, ...]) -> tuple[int, ...]:
        """Output shape for ``(gates_shape, input_shape)`` (e2cnn's form), a pair of them, or the gated shape.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> m = GatedNonLinearity2((FieldType(gs, [gs.trivial_repr]), FieldType(gs, [gs.irrep(1)])))
            >>> m.evaluate_output_shape((2, 1, 5, 5), (2, 2, 5, 5))
            (2, 2, 5, 5)
        """
        shapes = input_shapes
        if len(shapes) == 1 and len(shapes[0]) == 2 and all(isinstance(s, (tuple, list)) for s in shapes[0]):
            shapes = tuple(shapes[0])
        if len(shapes) == 2:
            gates_shape, input_shape = (tuple(s) for s in shapes)
            self._shape(gates_shape, self.in_type[0].size)
            if gates_shape[0] != input_shape[0] or gates_shape[2:] != input_shape[2:]:
                raise ValueError(
                    f"GatedNonLinearity2: gates_shape={gates_shape} and input_shape={input_shape} differ "
                    "in batch or spatial size"
                )
        elif len(shapes) == 1:
            input_shape = tuple(shapes[0])
        else:
            raise TypeError(f"GatedNonLinearity2.evaluate_output_shape: expected 1 or 2 shapes, got {shapes}")
        return self._shape(input_shape, self.in_type[1].size)

    def _equivariance_setup(self):
        # two inputs: test the joint map from ``gates (+) gated``
        gates_type, gated_type = self.in_type
        return _JointGated(self), gates_type + gated_type, self.out_type, {}

    def extra_repr(self) -> str:
        return f"gates={self.in_type[0]}, gated={self.in_type[1]}"


class _JointGated(torch.nn.Module):
    """Feed a :class:`GatedNonLinearity2` from one tensor holding the gates followed by the gated fields."""

    def __init__(self, module: GatedNonLinearity2) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gates_type, gated_type = self.module.in_type
        g, v = x[:, : gates_type.size], x[:, gates_type.size :]
        return self.module(GeometricTensor(g, gates_type), GeometricTensor(v, gated_type)).tensor
