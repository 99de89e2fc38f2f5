"""Channel-wise non-linearities: pointwise (ReLU, ELU, ...), concatenated and vector-field ones.

A pointwise non-linearity commutes with a representation :math:`\\rho` when every :math:`\\rho(g)` is a
permutation matrix (regular, quotient and trivial representations), so it maps a field to a field of the
same type. A concatenated non-linearity applies :math:`f` to :math:`x` and :math:`-x` and doubles the
channels. The vector-field non-linearity maps a regular field of :math:`C_N` to a planar vector.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_field_type, check_input, ignore_extra_kwargs, require_support

__all__ = [
    "concatenated_representation",
    "PointwiseNonLinearity",
    "ReLU",
    "ELU",
    "ConcatenatedNonLinearity",
    "VectorFieldNonLinearity",
]

_POINTWISE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "p_relu": F.relu,
    "p_elu": F.elu,
    "p_sigmoid": torch.sigmoid,
    "p_tanh": torch.tanh,
}

_CONCATENATED: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "c_relu": F.relu,
    "c_sigmoid": torch.sigmoid,
    "c_tanh": torch.tanh,
}


class _SameTypeModule(EquivariantModule):
    """Base of the modules whose output type equals their input type and shape equals their input shape."""

    _acts_pointwise = True

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``input_shape`` (the module preserves the shape) after checking its channels."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(
                f"{type(self).__name__}: input_shape={input_shape} does not match in_type of size "
                f"{self.in_type.size}; expected (B, {self.in_type.size}, ...)"
            )
        return input_shape


class PointwiseNonLinearity(_SameTypeModule):
    """The same scalar function applied to every channel independently.

    .. math::
        y_c(x) = f(v_c(x)), \\qquad f \\in \\{\\mathrm{relu}, \\mathrm{elu}, \\mathrm{sigmoid}, \\tanh\\}

    It is equivariant for representations made of permutation matrices (those supporting ``'pointwise'``
    non-linearities). The output type equals the input type.

    Args:
        in_type: the input field type; every field must support ``'pointwise'`` non-linearities.
        function: one of ``'p_relu'``, ``'p_elu'``, ``'p_sigmoid'``, ``'p_tanh'``.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, PointwiseNonLinearity
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.regular_repr] * 2)
        >>> m = PointwiseNonLinearity(t, "p_tanh")
        >>> m(GeometricTensor(torch.randn(1, 8, 3, 3), t)).shape
        torch.Size([1, 8, 3, 3])
    """

    def __init__(self, in_type: FieldType, function: str = "p_relu") -> None:
        super().__init__()
        check_field_type(in_type, owner=type(self).__name__)
        if function not in _POINTWISE:
            raise ValueError(
                f"PointwiseNonLinearity: function={function!r} is not known; "
                f"expected one of {sorted(_POINTWISE)}"
            )
        require_support(in_type, "pointwise", type(self).__name__)
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self.function = function

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply the function to every channel."""
        check_input(self, input)
        return GeometricTensor(_POINTWISE[self.function](input.tensor), self.out_type)

    def export(self) -> torch.nn.Module:
        """Return the equivalent plain activation (``ReLU``, ``ELU``, ``Sigmoid``, ``Tanh``) in eval mode."""
        plain = {
            "p_relu": torch.nn.ReLU,
            "p_elu": torch.nn.ELU,
            "p_sigmoid": torch.nn.Sigmoid,
            "p_tanh": torch.nn.Tanh,
        }
        return plain[self.function]().eval()

    def extra_repr(self) -> str:
        return f"{self.in_type}, function={self.function!r}"


class ReLU(_SameTypeModule):
    """Pointwise ReLU applied to every channel independently; the output type equals the input type.

    Only representations supporting ``'pointwise'`` non-linearities (permutation matrices) are accepted.

    Args:
        in_type: the input field type.
        inplace: whether to modify the input tensor in place.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, ReLU
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.regular_repr] * 3)
        >>> relu = ReLU(t, inplace=True)
        >>> relu
        ReLU(inplace=True, type=[8-Rotations: {regular, regular, regular}])
        >>> bool((relu(GeometricTensor(torch.randn(2, 24, 4, 4), t)).tensor >= 0).all())
        True
    """

    def __init__(self, in_type: FieldType, inplace: bool = False) -> None:
        super().__init__()
        check_field_type(in_type, owner=type(self).__name__)
        require_support(in_type, "pointwise", type(self).__name__)
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self._inplace = bool(inplace)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply ``relu`` to every channel."""
        check_input(self, input)
        return GeometricTensor(F.relu(input.tensor, inplace=self._inplace), self.out_type)

    def export(self) -> torch.nn.ReLU:
        """Return an equivalent ``torch.nn.ReLU`` in eval mode."""
        return torch.nn.ReLU(inplace=self._inplace).eval()

    def extra_repr(self) -> str:
        return f"inplace={self._inplace}, type={self.in_type}"


class ELU(_SameTypeModule):
    """Pointwise ELU applied to every channel independently; the output type equals the input type.

    .. math::
        \\mathrm{ELU}(v) = \\max(0, v) + \\min(0, \\alpha (e^{v} - 1))

    Only representations supporting ``'pointwise'`` non-linearities (permutation matrices) are accepted.

    Args:
        in_type: the input field type.
        alpha: the :math:`\\alpha` of the ELU.
        inplace: whether to modify the input tensor in place.

    Raises:
        TypeError: ``alpha`` is not a real number.
        ValueError: ``alpha`` is not finite, or ``in_type`` does not support pointwise non-linearities.

    Shape:
        ``[B, C, *S] -> [B, C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import ELU, FieldType
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> ELU(FieldType(gs, [gs.regular_repr]), inplace=True)
        ELU(alpha=1.0, inplace=True, type=[8-Rotations: {regular}])
    """

    def __init__(self, in_type: FieldType, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        check_field_type(in_type, owner=type(self).__name__)
        require_support(in_type, "pointwise", type(self).__name__)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
            raise TypeError(f"ELU: alpha={alpha!r} is not accepted; expected a float")
        if not math.isfinite(alpha):  # a NaN or infinite alpha turns finite negative inputs into NaN or inf
            raise ValueError(f"ELU: alpha={alpha!r} is not accepted; expected a finite float")
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = in_type
        self._alpha = float(alpha)
        self._inplace = bool(inplace)

    @property
    def alpha(self) -> float:
        """The :math:`\\alpha` of the ELU."""
        return self._alpha

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Apply ``elu`` to every channel."""
        check_input(self, input)
        return GeometricTensor(F.elu(input.tensor, alpha=self._alpha, inplace=self._inplace), self.out_type)

    def export(self) -> torch.nn.ELU:
        """Return an equivalent ``torch.nn.ELU`` in eval mode."""
        return torch.nn.ELU(alpha=self._alpha, inplace=self._inplace).eval()

    def extra_repr(self) -> str:
        return f"alpha={self._alpha}, inplace={self._inplace}, type={self.in_type}"


def _signed_permutation_pattern(mats: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(plus, minus)`` masks of a stack of signed permutation matrices, or ``None`` if they are not."""
    plus = np.abs(mats - 1.0) < 1e-9
    minus = np.abs(mats + 1.0) < 1e-9
    zero = np.abs(mats) < 1e-9
    nonzero = plus | minus
    if not (nonzero | zero).all():
        return None
    if not ((nonzero.sum(axis=1) == 1).all() and (nonzero.sum(axis=2) == 1).all()):
        return None
    return plus, minus


def concatenated_representation(rep):
    """The representation of the output of :class:`ConcatenatedNonLinearity` for an input field ``rep``.

    ``rep`` must be a signed permutation representation (every matrix has one entry :math:`\\pm 1` per row
    and column). The output field interleaves :math:`f(v_i)` (channel :math:`2i`) and :math:`f(-v_i)`
    (channel :math:`2i + 1`), so an entry :math:`+1` of :math:`\\rho(g)` becomes a 2×2 identity block and an
    entry :math:`-1` the 2×2 swap: a permutation representation, named ``'concatenated_<name>'``, that
    supports pointwise non-linearities.

    Raises:
        ValueError: ``rep`` is not a signed permutation representation.

    Example:
        >>> from structconv.group import cyclic_group
        >>> r = concatenated_representation(cyclic_group(8).irrep(4))  # the sign of the half turn
        >>> r.name, bool((r(1) == np.array([[0, 1], [1, 0]])).all())
        ('concatenated_irrep_4', True)
    """
    from ...group import Representation, decompose_matrices

    group = rep.group
    if group.continuous:
        # a connected group acts trivially on a finite set of signed axes; only O(2)'s reflection remains
        testing = group.testing_elements
        elements = list(testing() if callable(testing) else testing)
        candidates = [group.trivial_representation] + _reflection_irrep(group)
    else:
        elements = list(group.elements)
        candidates = list(group.irreps.values())
    mats = np.asarray(rep.representation_matrices(elements), dtype=np.float64)
    pattern = _signed_permutation_pattern(mats)
    if pattern is None:
        raise ValueError(
            f"representation {rep.name!r} of {group.name} is not a signed permutation representation; "
            "accepted: representations whose matrices have one entry +1 or -1 in every row and column"
        )
    plus, minus = pattern
    s, n = mats.shape[0], mats.shape[1]
    out = np.zeros((s, 2 * n, 2 * n))
    out[:, 0::2, 0::2] = plus
    out[:, 1::2, 1::2] = plus
    out[:, 0::2, 1::2] = minus
    out[:, 1::2, 0::2] = minus
    names, Q = decompose_matrices(
        out,
        [(irr, np.asarray(irr.representation_matrices(elements))) for irr in candidates],
        complete=not group.continuous,
    )
    supported = set(rep.supported_nonlinearities) | {"pointwise"}
    return Representation(group, f"concatenated_{rep.name}", names, Q, supported)


def _reflection_irrep(group) -> list:
    """``[the sign of the reflections]`` for O(2), ``[]`` for SO(2)."""
    try:
        return [group.irrep(1, 0)]
    except (TypeError, ValueError, KeyError):
        return []


class ConcatenatedNonLinearity(EquivariantModule):
    """Apply a function to every channel and to its opposite, doubling the channels.

    Every input channel :math:`v_i` becomes the two channels :math:`f(v_i), f(-v_i)` (interleaved: channel
    :math:`2i` holds :math:`f(v_i)`, channel :math:`2i + 1` holds :math:`f(-v_i)`, as in e2cnn). This is
    equivariant when every :math:`\\rho(g)` is a signed permutation matrix (permutation representations
    such as regular, quotient and trivial ones, and sign representations such as :math:`C_8`'s ``irrep_4``
    or :math:`D_N`'s ``irrep_1,0``): the output field has the permutation representation
    :func:`concatenated_representation` (a :math:`+1` entry of :math:`\\rho(g)` keeps the pair, a
    :math:`-1` entry swaps it).

    Args:
        in_type: the input field type; every field must support ``'concatenated'`` non-linearities and be a
            signed permutation representation.
        function: one of ``'c_relu'``, ``'c_sigmoid'``, ``'c_tanh'``.

    Shape:
        ``[B, C, *S] -> [B, 2C, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import ConcatenatedNonLinearity, FieldType, GeometricTensor
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.regular_repr, gs.irrep(4)])
        >>> m = ConcatenatedNonLinearity(t)
        >>> m.out_type
        [8-Rotations: {concatenated_regular, concatenated_irrep_4}]
        >>> x = torch.tensor([-1.0, 2.0] * 4 + [-3.0]).view(1, 9, 1, 1)
        >>> m(GeometricTensor(x, t)).tensor.flatten()[-2:]
        tensor([0., 3.])
    """

    _acts_pointwise = True

    def __init__(self, in_type: FieldType, function: str = "c_relu") -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if function not in _CONCATENATED:
            raise ValueError(
                f"{name}: function={function!r} is not known; expected one of {sorted(_CONCATENATED)}"
            )
        require_support(in_type, "concatenated", name)
        doubled = {}
        for i, rep in enumerate(in_type.representations):
            if rep not in doubled:
                try:
                    doubled[rep] = concatenated_representation(rep)
                except ValueError as err:
                    raise ValueError(f"{name}: field {i} of in_type: {err}") from None
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = FieldType(in_type.gspace, [doubled[r] for r in in_type.representations])
        self.function = function

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Return the channels ``f(v_0), f(-v_0), f(v_1), f(-v_1), ...``."""
        check_input(self, input)
        x = input.tensor
        f = _CONCATENATED[self.function]
        both = torch.stack([f(x), f(-x)], dim=2)
        return GeometricTensor(both.flatten(1, 2), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``input_shape`` (the channels double)."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"{type(self).__name__}: input_shape={input_shape} does not match in_type")
        return (input_shape[0], self.out_type.size, *input_shape[2:])

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` of torch operations (eval mode).

        The graph is ``stack([f(x), f(-x)], dim=2).flatten(1, 2)``; it loads with PyTorch alone.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr])
            >>> m = ConcatenatedNonLinearity(t)
            >>> x = torch.randn(2, 4, 3, 3)
            >>> torch.equal(m.export()(x), m(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import Concatenated, to_graph

        return to_graph(Concatenated(_CONCATENATED[self.function]), "ConcatenatedNonLinearityGraph")

    def extra_repr(self) -> str:
        return f"{self.in_type}, function={self.function!r}"


class VectorFieldNonLinearity(EquivariantModule):
    """Map every regular field of :math:`C_N` to a planar vector: direction of the argmax, length of the max.

    .. math::
        y(x) = \\mathrm{relu}\\big(\\max_k v_k(x)\\big)
        \\, \\big(\\cos \\tfrac{2\\pi k^*}{N}, \\sin \\tfrac{2\\pi k^*}{N}\\big),
        \\qquad k^* = \\arg\\max_k v_k(x)

    Rotating the input by :math:`r` shifts the regular field by :math:`r`, hence rotates the output vector
    by :math:`2\\pi r/N`: the output fields transform under the frequency-1 irrep.

    Args:
        in_type: the input field type; only regular fields of a cyclic group :math:`C_N` (``N >= 3``).

    Shape:
        ``[B, N F, *S] -> [B, 2 F, *S]`` for ``F`` fields;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, VectorFieldNonLinearity
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.regular_repr] * 2)
        >>> m = VectorFieldNonLinearity(t)
        >>> m(GeometricTensor(torch.randn(1, 16, 5, 5), t)).shape
        torch.Size([1, 4, 5, 5])
    """

    _acts_pointwise = True

    def __init__(self, in_type: FieldType, **kwargs) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        ignore_extra_kwargs(name, kwargs)
        require_support(in_type, "vectorfield", name)
        group = in_type.gspace.fibergroup
        n = group.order()
        for i, rep in enumerate(in_type.representations):
            if rep.size != n:
                raise ValueError(
                    f"{name}: field {i} of in_type has representation '{rep.name}' of size {rep.size}; "
                    f"accepted: the regular representation of {group.name} (size {n})"
                )
        out_rep = in_type.gspace.irrep(1)
        if n < 3 or out_rep.size != 2:
            raise ValueError(
                f"{name}: in_type's group {group.name} is not accepted; expected C_N with N >= 3"
            )
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = FieldType(in_type.gspace, [out_rep] * len(in_type))
        self._n = n

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Return one vector per field: the max as length, the argmax rotation as angle."""
        check_input(self, input)
        x = input.tensor
        b, spatial = x.shape[0], x.shape[2:]
        v = x.reshape(b, len(self.in_type), self._n, *spatial)
        m, k = v.max(dim=2)
        m = F.relu(m)
        angle = k.to(x.dtype) * (2.0 * math.pi / self._n)
        y = torch.stack([m * torch.cos(angle), m * torch.sin(angle)], dim=2)
        return GeometricTensor(y.reshape(b, self.out_type.size, *spatial), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``input_shape``."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"{type(self).__name__}: input_shape={input_shape} does not match in_type")
        return (input_shape[0], self.out_type.size, *input_shape[2:])

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` of torch operations (eval mode).

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(8)
            >>> t = FieldType(gs, [gs.regular_repr] * 2)
            >>> m = VectorFieldNonLinearity(t)
            >>> x = torch.randn(1, 16, 5, 5)
            >>> torch.equal(m.export()(x), m(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import VectorField, to_graph

        return to_graph(VectorField(len(self.in_type), self._n), "VectorFieldNonLinearityGraph")

    def extra_repr(self) -> str:
        return f"{self.in_type}"
