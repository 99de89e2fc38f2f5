"""Norm non-linearities: rescale every field (or sub-field of an induced field) by a function of its norm.

For an orthogonal representation the norm of a field is invariant, so multiplying the field by any function
of its norm is equivariant.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ..._numerics import compute_dtype, slice_scale
from ._utils import (
    FieldGrouping,
    check_field_type,
    check_input,
    induced_structure,
    register_grouping,
    require_support,
)

__all__ = ["NormNonLinearity", "InducedNormNonLinearity"]


def _squash(t: torch.Tensor) -> torch.Tensor:
    return t / (1.0 + t)


_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "n_relu": F.relu,
    "n_sigmoid": torch.sigmoid,
    "squash": _squash,
}


class _NormNonLinearityBase(EquivariantModule):
    _support = "norm"
    _acts_pointwise = True

    def __init__(self, in_type: FieldType, function: str, bias: bool) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if function not in _FUNCTIONS:
            raise ValueError(
                f"{name}: function={function!r} is not known; expected one of {sorted(_FUNCTIONS)}"
            )
        if function == "squash" and bias:
            raise ValueError(f"{name}: function='squash' takes no bias, but bias={bias!r}; pass bias=False")
        require_support(in_type, self._support, name)
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.function = function
        # sub-field structure: (n_subfields, subfield_size) per field; one sub-field for plain norms
        self._structure = [self._subfields(i, r) for i, r in enumerate(in_type.representations)]
        self._grouping = FieldGrouping(in_type, keys=self._structure)
        register_grouping(self, self._grouping)
        self.register_buffer("_bias_order", torch.from_numpy(self._grouping.order), persistent=False)
        if bias:
            # the threshold of field i is exp(log_bias[i]) > 0
            self.log_bias = torch.nn.Parameter(torch.zeros(len(in_type)))
        else:
            self.register_parameter("log_bias", None)

    def _subfields(self, i: int, rep) -> tuple[int, int]:
        return (1, rep.size)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Rescale every (sub-)field :math:`v` to :math:`f(\\|v\\| - b) \\, v / \\|v\\|`."""
        check_input(self, input)
        x = input.tensor
        spatial_ones = (1,) * (x.dim() - 2)
        biases = None
        if self.log_bias is not None:
            biases = torch.exp(self.log_bias).index_select(0, self._bias_order).split(self._grouping.counts)

        def fn(g: int, v: torch.Tensor) -> torch.Tensor:
            m, d = self._grouping.keys[g]
            b, n = v.shape[:2]
            w = v.reshape(b, n, m, d, *v.shape[3:]).to(compute_dtype(v.dtype))
            # v = s u with s = max |v| per (sub-)field: the sum of squares of u cannot overflow, and it is
            # >= 1 unless the field is zero, which maps to zero with a zero gradient
            s = slice_scale(w, 3)
            u = w / s
            sq = u.square().sum(dim=3, keepdim=True)
            nonzero = sq > 0
            r = torch.where(nonzero, sq.clamp_min(0.5).sqrt(), 1.0)
            norms = torch.where(nonzero, s * r, 0.0)
            bias = None if biases is None else biases[g].to(w.dtype).view(1, n, 1, 1, *spatial_ones)
            if self.function == "n_relu":  # relu(s r - b) / r = relu(s - b / r): s multiplies no gradient
                new = F.relu(s - bias / r) if bias is not None else s.expand_as(r)
                mult = torch.where(nonzero, new, 0.0)
            else:
                new = _FUNCTIONS[self.function](norms if bias is None else norms - bias)
                mult = torch.where(nonzero, new / r, 0.0)  # f(|v| - b) / |v|, times s
            return (u * mult).reshape(v.shape).to(v.dtype)

        return GeometricTensor(self._grouping.apply(x, self._in_perm, self._out_perm, fn), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` (the module preserves the shape) after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"{type(self).__name__}: input_shape={input_shape} does not match in_type")
        return input_shape

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` of torch operations (eval mode).

        No ``torch.nn`` class rescales a field by a function of its norm, so the map is traced from a private
        pure-torch module holding the current biases :math:`e^{\beta}` as buffers (copies); the graph pickles
        and loads with PyTorch alone. It takes and returns the plain tensor ``(B, C, H, W)``.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(8)
            >>> t = FieldType(gs, [gs.irrep(1), gs.regular_repr])
            >>> m = NormNonLinearity(t, "n_sigmoid")
            >>> x = torch.randn(2, t.size, 5, 5)
            >>> bool(torch.allclose(m.export()(x), m(GeometricTensor(x, t)).tensor))
            True
        """
        from .._export import NormScale, to_graph

        biases = None
        if self.log_bias is not None:
            with torch.no_grad():
                biases = torch.exp(self.log_bias).index_select(0, self._bias_order)
            biases = biases.split(self._grouping.counts)
        root = NormScale(
            self._grouping, self._in_perm, self._out_perm, _FUNCTIONS[self.function], biases,
            n_relu=self.function == "n_relu",
        )
        from ._graphs import for_volumes, spatial_dim

        return to_graph(for_volumes(root, spatial_dim(self.in_type)), f"{type(self).__name__}Graph")

    def extra_repr(self) -> str:
        return f"{self.in_type}, function={self.function!r}, bias={self.log_bias is not None}"


class NormNonLinearity(_NormNonLinearityBase):
    """Norm non-linearity: each field is rescaled by a function of its norm, shifted by a learnable bias.

    .. math::
        y = \\frac{f(\\|v\\| - b)}{\\|v\\|} v, \\qquad b = e^{\\beta} > 0

    with one bias (parametrised by its logarithm ``log_bias``, initialised to 0) per field and
    :math:`f` one of ``'n_relu'`` (:math:`\\max(0, t)`), ``'n_sigmoid'`` (:math:`\\sigma(t)`) or
    ``'squash'`` (:math:`t / (1 + t)`, no bias allowed). A zero field maps to zero with a finite gradient.
    Norms are computed from the field divided by its largest component (half precision in float32), so
    they neither overflow nor underflow: outputs and gradients are finite in every float dtype.

    Args:
        in_type: the input field type; every field must support ``'norm'`` non-linearities.
        function: ``'n_relu'``, ``'n_sigmoid'`` or ``'squash'``.
        bias: whether to subtract a learnable bias from the norms (must be ``False`` for ``'squash'``).

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, NormNonLinearity
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.irrep(1), gs.irrep(2), gs.regular_repr])
        >>> m = NormNonLinearity(t, "n_relu")
        >>> m(GeometricTensor(torch.randn(2, t.size, 4, 4), t)).shape
        torch.Size([2, 12, 4, 4])
    """

    def __init__(self, in_type: FieldType, function: str = "n_relu", bias: bool = True) -> None:
        super().__init__(in_type, function, bias)


class InducedNormNonLinearity(_NormNonLinearityBase):
    """Norm non-linearity applied to every sub-field of an induced field, with a bias shared by the field.

    An induced representation :math:`\\mathrm{Ind}_H^G \\psi` is made of :math:`|G/H|` sub-fields which the
    group permutes (and transforms by :math:`\\psi`); each sub-field :math:`v_j` is rescaled as in
    :class:`NormNonLinearity`, :math:`y_j = f(\\|v_j\\| - b) v_j / \\|v_j\\|`, with one bias :math:`b` per
    induced field.

    Args:
        in_type: the input field type; every field must support ``'induced_norm'`` non-linearities.
        function: ``'n_relu'``, ``'n_sigmoid'`` or ``'squash'``.
        bias: whether to subtract a learnable bias from the norms (must be ``False`` for ``'squash'``).

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, InducedNormNonLinearity
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> rep = gs.induced_repr((None, 4), gs.restrict((None, 4))[0].irrep(1))
        >>> t = FieldType(gs, [rep] * 2)
        >>> m = InducedNormNonLinearity(t)
        >>> m(GeometricTensor(torch.randn(2, t.size, 4, 4), t)).shape
        torch.Size([2, 8, 4, 4])
    """

    _support = "induced_norm"

    def __init__(self, in_type: FieldType, function: str = "n_relu", bias: bool = True) -> None:
        super().__init__(in_type, function, bias)

    def _subfields(self, i: int, rep) -> tuple[int, int]:
        structure = induced_structure(rep)
        if structure is None:
            raise ValueError(
                f"{type(self).__name__}: field {i} of in_type has representation '{rep.name}', which is not "
                "an induced representation; accepted: induced representations supporting 'induced_norm'"
            )
        return structure
