"""Invariant maps: turn every field into one invariant (trivial) channel.

:class:`GroupPooling` takes the maximum over the channels of a permutation field, :class:`NormPool` the norm
of an orthogonal field and :class:`InducedNormPool` the largest norm of the sub-fields of an induced field.
:class:`MaxPoolChannels` is a plain module of consecutive-channel maxima (e2cnn's ``GroupPooling`` exports to
it); :meth:`GroupPooling.export` returns a :class:`torch.fx.GraphModule` that needs PyTorch alone.
"""

from __future__ import annotations

import torch

from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import (
    FieldGrouping,
    check_field_type,
    check_input,
    induced_structure,
    register_grouping,
    require_support,
    safe_norm,
)

__all__ = ["MaxPoolChannels", "GroupPooling", "NormPool", "InducedNormPool"]


class MaxPoolChannels(torch.nn.Module):
    """Maximum over consecutive groups of ``kernel_size`` channels (written with torch operations only).

    .. math::
        y_{b, i} = \\max_{0 \\le j < k} x_{b, k i + j}

    It is the module e2cnn's ``GroupPooling.export`` returns. The class itself lives in structconv, so a
    pickled model holding it needs structconv to load; :meth:`export` gives a :class:`torch.fx.GraphModule`
    that does not (and :meth:`GroupPooling.export` no longer returns this class).

    Args:
        kernel_size: the number of consecutive channels pooled together; it must divide the channels.

    Shape:
        ``[B, k F, ...] -> [B, F, ...]``.

    Example:
        >>> from structconv.nn import MaxPoolChannels
        >>> pool = MaxPoolChannels(4)
        >>> pool
        MaxPoolChannels(kernel_size=4)
        >>> pool(torch.arange(8.0).view(1, 8, 1, 1)).flatten().tolist()
        [3.0, 7.0]
    """

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(
                f"MaxPoolChannels: kernel_size={kernel_size!r} is not accepted; expected an int >= 1"
            )
        self.kernel_size = kernel_size

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Return the maximum of every group of ``kernel_size`` consecutive channels."""
        c = input.shape[1]
        # the check is Python control flow on a shape: skipped while tracing (ONNX export), where the
        # channel count is that of the model's own previous layer
        if not torch.jit.is_tracing() and c % self.kernel_size != 0:
            raise ValueError(
                f"MaxPoolChannels: the input has {c} channels, "
                f"not a multiple of kernel_size={self.kernel_size}"
            )
        return input.unflatten(1, (-1, self.kernel_size)).amax(dim=2)

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` that loads without structconv (eval mode).

        Example:
            >>> MaxPoolChannels(2).export()(torch.arange(4.0).view(1, 4, 1, 1)).flatten().tolist()
            [1.0, 3.0]
        """
        from .._export import to_graph

        return to_graph(_ChannelGroupMax(self.kernel_size), "MaxPoolChannelsGraph")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


class _ChannelGroupMax(torch.nn.Module):
    """The traced body of :meth:`MaxPoolChannels.export`: the maximum of consecutive groups of channels."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(1, (-1, self.kernel_size)).amax(dim=2)


class _InvariantMap(EquivariantModule):
    """Shared construction: one trivial output field per input field."""

    def _setup(self, in_type: FieldType, keys) -> None:
        self.space = in_type.gspace
        self.in_type = in_type
        self.out_type = FieldType(in_type.gspace, [in_type.gspace.trivial_repr] * len(in_type))
        self._grouping = FieldGrouping(in_type, keys=keys, out_sizes=[1] * len(in_type))
        register_grouping(self, self._grouping)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the output for an input of shape ``input_shape`` (one channel per field)."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(f"{type(self).__name__}: input_shape={input_shape} does not match in_type")
        return (input_shape[0], self.out_type.size, *input_shape[2:])

    def extra_repr(self) -> str:
        return f"{self.in_type}"


class GroupPooling(_InvariantMap):
    """Group pooling: the maximum over the channels of every permutation field.

    .. math::
        y_i(x) = \\max_c v_{i, c}(x)

    The group permutes the channels of a regular, quotient or trivial field, so their maximum is invariant:
    each output field is trivial (a trivial field is left unchanged).

    Args:
        in_type: the input field type; every field must support ``'pointwise'`` operations (permutation
            representations).

    Shape:
        ``[B, C, *S] -> [B, F, *S]`` with ``F = len(in_type)``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, GroupPooling
        >>> gs = gspaces.Rot2dOnR2(8)
        >>> t = FieldType(gs, [gs.regular_repr] * 3)
        >>> pool = GroupPooling(t)
        >>> pool(GeometricTensor(torch.randn(2, 24, 5, 5), t)).shape
        torch.Size([2, 3, 5, 5])
        >>> pool.export()
        GroupPoolingGraph()
    """

    def __init__(self, in_type: FieldType, **kwargs) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if kwargs:
            raise TypeError(f"{name}: unexpected keyword arguments {sorted(kwargs)}")
        require_support(in_type, "pointwise", name)
        self._setup(in_type, [r.size for r in in_type.representations])

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Return the maximum of every field."""
        check_input(self, input)
        y = self._grouping.apply(
            input.tensor, self._in_perm, self._out_perm, lambda g, v: v.amax(dim=2, keepdim=True)
        )
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.nn.Module:
        """Return the same map in plain PyTorch (eval mode): a :class:`torch.fx.GraphModule`.

        The graph takes the maximum over each field's channels with ``amax`` (one ``unflatten`` and ``amax``
        per field size, fields of mixed sizes gathered and scattered back with ``index_select``); it calls
        torch alone, so it pickles and loads without structconv (e2cnn exports its own ``MaxPoolChannels``,
        which needs e2cnn to load). A type made of trivial fields only exports to ``torch.nn.Identity``.

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.regular_repr, gs.trivial_repr, gs.regular_repr])
            >>> pool = GroupPooling(t)
            >>> x = torch.randn(2, t.size, 3, 3)
            >>> torch.equal(pool.export()(x), pool(GeometricTensor(x, t)).tensor)
            True
        """
        from .._export import FieldMax, to_graph

        if all(r.size == 1 for r in self.in_type.representations):
            return torch.nn.Identity().eval()
        root = FieldMax(self._grouping, self._in_perm, self._out_perm)
        return to_graph(root, "GroupPoolingGraph")


class NormPool(_InvariantMap):
    """Norm pooling: the Euclidean norm of every field.

    .. math::
        y_i(x) = \\| v_i(x) \\|_2

    The norm is invariant for orthogonal representations, so every output field is trivial. The gradient at
    a zero field is zero (never NaN).

    Args:
        in_type: the input field type; every field must support ``'norm'`` operations.

    Shape:
        ``[B, C, *S] -> [B, F, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, NormPool
        >>> gs = gspaces.Rot2dOnR2(4)
        >>> t = FieldType(gs, [gs.irrep(1)])
        >>> NormPool(t)(GeometricTensor(torch.tensor([3.0, 4.0]).view(1, 2, 1, 1), t)).tensor.flatten()
        tensor([5.])
    """

    def __init__(self, in_type: FieldType, **kwargs) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if kwargs:
            raise TypeError(f"{name}: unexpected keyword arguments {sorted(kwargs)}")
        require_support(in_type, "norm", name)
        self._setup(in_type, [r.size for r in in_type.representations])

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Return the norm of every field."""
        check_input(self, input)
        y = self._grouping.apply(input.tensor, self._in_perm, self._out_perm, lambda g, v: safe_norm(v, 2))
        return GeometricTensor(y, self.out_type)

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` of torch operations (eval mode).

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.Rot2dOnR2(4)
            >>> t = FieldType(gs, [gs.irrep(1), gs.regular_repr])
            >>> pool = NormPool(t)
            >>> x = torch.randn(2, t.size, 3, 3)
            >>> bool(torch.allclose(pool.export()(x), pool(GeometricTensor(x, t)).tensor))
            True
        """
        from .._export import NormPool as NormPoolGraph
        from .._export import to_graph

        return to_graph(NormPoolGraph(self._grouping, self._in_perm, self._out_perm), "NormPoolGraph")


class InducedNormPool(_InvariantMap):
    """Induced norm pooling: the largest norm among the sub-fields of every induced field.

    .. math::
        y_i(x) = \\max_j \\| v_{i, j}(x) \\|_2

    The group permutes the sub-fields of :math:`\\mathrm{Ind}_H^G \\psi` and acts on each by an orthogonal
    matrix, so the maximum of their norms is invariant.

    Args:
        in_type: the input field type; every field must support ``'induced_norm'`` operations.

    Shape:
        ``[B, C, *S] -> [B, F, *S]``;
        ``S`` is the spatial size: ``(H, W)`` on the plane, ``(D, H, W)`` in space.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FieldType, GeometricTensor, InducedNormPool
        >>> gs = gspaces.FlipRot2dOnR2(4)
        >>> rep = gs.induced_repr((None, 4), gs.restrict((None, 4))[0].irrep(1))
        >>> t = FieldType(gs, [rep] * 3)
        >>> InducedNormPool(t)(GeometricTensor(torch.randn(2, t.size, 4, 4), t)).shape
        torch.Size([2, 3, 4, 4])
    """

    def __init__(self, in_type: FieldType, **kwargs) -> None:
        super().__init__()
        name = type(self).__name__
        check_field_type(in_type, owner=name)
        if kwargs:
            raise TypeError(f"{name}: unexpected keyword arguments {sorted(kwargs)}")
        require_support(in_type, "induced_norm", name)
        keys = []
        for i, rep in enumerate(in_type.representations):
            structure = induced_structure(rep)
            if structure is None:
                raise ValueError(
                    f"{name}: field {i} of in_type has representation '{rep.name}', which is not an induced "
                    "representation; accepted: induced representations supporting 'induced_norm'"
                )
            keys.append(structure)
        self._setup(in_type, keys)

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Return the largest sub-field norm of every field."""
        check_input(self, input)

        def fn(g: int, v: torch.Tensor) -> torch.Tensor:
            m, d = self._grouping.keys[g]
            w = v.reshape(v.shape[0], v.shape[1], m, d, *v.shape[3:])
            return safe_norm(w, 3).amax(dim=2)

        return GeometricTensor(
            self._grouping.apply(input.tensor, self._in_perm, self._out_perm, fn), self.out_type
        )

    def export(self) -> torch.fx.GraphModule:
        """Return the same map as a :class:`torch.fx.GraphModule` of torch operations (eval mode).

        Example:
            >>> from structconv import gspaces
            >>> from structconv.nn import FieldType, GeometricTensor
            >>> gs = gspaces.FlipRot2dOnR2(4)
            >>> rep = gs.induced_repr((None, 4), gs.restrict((None, 4))[0].irrep(1))
            >>> t = FieldType(gs, [rep] * 2)
            >>> pool = InducedNormPool(t)
            >>> x = torch.randn(2, t.size, 3, 3)
            >>> bool(torch.allclose(pool.export()(x), pool(GeometricTensor(x, t)).tensor))
            True
        """
        from .._export import InducedNormPool as InducedNormPoolGraph
        from .._export import to_graph

        root = InducedNormPoolGraph(self._grouping, self._in_perm, self._out_perm)
        return to_graph(root, "InducedNormPoolGraph")
