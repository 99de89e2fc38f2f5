r"""Fourier non-linearities: a pointwise function applied to band-limited functions on a group or a quotient.

A field of the band-limited regular representation :math:`\rho = \bigoplus_{\psi} \psi^{\oplus m_\psi}` of
:math:`G` (the irreps ``irreps``, each with multiplicity :math:`m_\psi = d_\psi / s_\psi`, :math:`s_\psi`
the irrep's ``sum_of_squares_constituents``) holds the Fourier coefficients :math:`\hat f_{\psi, j}` of a
function on :math:`G`

.. math::
    f(g) = \sum_\psi \sqrt{d_\psi} \sum_{j < m_\psi} \langle \psi(g) e_j, \hat f_{\psi, j} \rangle .

It is equivariant: :math:`\rho(h) \hat f` is the transform of :math:`f(h^{-1} \cdot)`. Sampling :math:`f`
at grid points :math:`g_1, \dots, g_n` is a fixed matrix :math:`A` (row :math:`i`: the entries
:math:`\sqrt{d_\psi} \psi(g_i)_{r j}` in the layout of :math:`\rho`, each row scaled to unit norm when
``normalize``); the module computes

.. math::
    y = A_{out}^{+} \, \sigma(A\, x)

per channel and position, with :math:`A_{out}^{+}` the pseudo-inverse of the sampling matrix of the output
band limit (``out_irreps``, by default ``irreps``). This is escnn's ``FourierPointwise`` (same arguments,
representation names and numbers). It is exactly equivariant to the elements :math:`h` that permute the grid
(:math:`h g_i = g_{\pi(i)}`, e.g. a grid that is a subgroup, and :math:`h` in it) when the grid resolves
the band limit (:math:`A^+ A = I`); otherwise it is only approximately equivariant.

The quotient version samples functions on :math:`G / H` (e.g. the sphere :math:`SO(3)/SO(2)`): the vectors
:math:`e_j` become an orthonormal basis :math:`w_j` of the :math:`H`-invariant vectors of :math:`\psi` (from
the group's restriction :math:`\psi|_H`, in its order), so :math:`f(gh) = f(g)`, the weight
:math:`\sqrt{d_\psi}` becomes 1 (as escnn: so the quotient by the trivial subgroup, e.g. ``(False, 1)`` of
SO(3), weighs the irreps differently from :class:`FourierPointwise` before the rows are normalised), and the
grid holds coset representatives (:func:`structconv.group.grids.sphere_grid`).

The sampling is one dense matmul over the channels (``[G, S] @ [B, C, S, P]``), the whole forward three
torch operations; the matrices are float64 buffers ``A`` / ``Ainv`` (escnn's names) cast to the input's
dtype. ``export()`` gives ``Sequential(Conv, activation, Conv)`` (1x1 grouped convolutions).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from structconv.group import Representation, directsum
from structconv.group.grids import grid as group_grid
from structconv.nn.typed.equivariant_module import EquivariantModule
from structconv.nn.typed.field_type import FieldType
from structconv.nn.typed.geometric_tensor import GeometricTensor

from ._utils import check_input

__all__ = ["FourierPointwise", "FourierELU", "QuotientFourierPointwise", "QuotientFourierELU"]


def _sigmoid(x: torch.Tensor, inplace: bool) -> torch.Tensor:
    return x.sigmoid_() if inplace else torch.sigmoid(x)


def _tanh(x: torch.Tensor, inplace: bool) -> torch.Tensor:
    return x.tanh_() if inplace else torch.tanh(x)


#: escnn's function names -> (f(x, inplace), exported torch.nn class)
_FUNCTIONS: dict[str, tuple[Callable[[torch.Tensor, bool], torch.Tensor], type]] = {
    "p_relu": (lambda x, inplace: F.relu(x, inplace=inplace), torch.nn.ReLU),
    "p_elu": (lambda x, inplace: F.elu(x, inplace=inplace), torch.nn.ELU),
    "p_sigmoid": (_sigmoid, torch.nn.Sigmoid),
    "p_tanh": (_tanh, torch.nn.Tanh),
}


def _ids(G: Any, irreps: Any, argname: str, owner: str) -> list[tuple[Any, ...]]:
    if isinstance(irreps, (str, bytes)) or not isinstance(irreps, Sequence) or len(irreps) == 0:
        raise ValueError(
            f"{owner}: {argname}={irreps!r} is not accepted; expected a non-empty list of irrep ids of "
            f"{G.name}, e.g. G.bl_irreps(L)"
        )
    out: list[tuple[Any, ...]] = []
    for i in irreps:
        id = (i,) if isinstance(i, numbers.Integral) else tuple(i) if isinstance(i, (tuple, list)) else None
        if id is None:
            raise ValueError(f"{owner}: {argname} contains {i!r}; expected irrep ids (tuples) of {G.name}")
        try:
            G.irrep(*id)
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(
                f"{owner}: {argname} contains {i!r}, which is not an irrep id of {G.name} ({err})"
            ) from None
        if id in out:
            raise ValueError(f"{owner}: {argname} contains the irrep id {id!r} twice; expected distinct ids")
        out.append(id)
    return out


def _invariant_vectors(G: Any, psi: Any, subgroup_id: Any) -> np.ndarray:
    """Columns: an orthonormal basis of the vectors of ``psi`` fixed by the subgroup (all of them when
    ``subgroup_id`` is ``None``), from the group's restriction of ``psi``."""
    if subgroup_id is None:
        return np.eye(psi.size)
    H = G.subgroup(subgroup_id)[0]
    res = G.restrict_representation(subgroup_id, psi)
    Q = np.asarray(res.change_of_basis, dtype=np.float64)
    cols, p = [], 0
    trivial = H.trivial_representation.name
    for name in res.irreps:
        size = H.irreps[name].size
        if name == trivial:
            cols.append(p)
        p += size
    return Q[:, cols]


def _spectral(
    G: Any, ids: list[tuple[Any, ...]], subgroup_id: Any
) -> tuple[list[Any], list[np.ndarray], list[int]]:
    """The irreps (with repetitions) of the band-limited regular / quotient representation, for each
    distinct irrep the vectors ``w_j`` (columns) of its copies and the dimension of its ``H``-invariant
    subspace."""
    irreps, vectors, dims = [], [], []
    for id in ids:
        psi = G.irrep(*id)
        W = _invariant_vectors(G, psi, subgroup_id)
        m = W.shape[1] // psi.sum_of_squares_constituents
        dims.append(W.shape[1])
        irreps += [psi] * m
        vectors.append(W[:, :m])
    return irreps, vectors, dims


def _sampling_matrix(
    G: Any, ids: list[tuple[Any, ...]], subgroup_id: Any, elements: list[Any], normalize: bool
) -> np.ndarray:
    """``A`` ``(n, size)``: row ``i`` holds ``sqrt(d_psi) psi(g_i) e_j`` (regular) or ``psi(g_i) w_j``
    (quotient) for every copy ``j`` of every irrep (escnn's weights)."""
    _, vectors, _ = _spectral(G, ids, subgroup_id)
    blocks = []
    for id, W in zip(ids, vectors):
        psi = G.irrep(*id)
        if W.shape[1] == 0:
            continue
        M = np.asarray(psi.representation_matrices(elements), dtype=np.float64)  # (n, d, d)
        # copy j occupies the d entries [j*d, (j+1)*d): psi(g) w_j
        weight = np.sqrt(psi.size) if subgroup_id is None else 1.0
        blocks.append(weight * np.einsum("nrd,dj->njr", M, W).reshape(len(elements), -1))
    A = np.concatenate(blocks, axis=1)
    if normalize:
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
    return A


def _representation(G: Any, ids: list[tuple[Any, ...]], subgroup_id: Any) -> Representation:
    irreps = _spectral(G, ids, subgroup_id)[0]
    if not irreps:
        raise ValueError(
            f"irreps={ids!r}: none of them has a vector fixed by the subgroup {subgroup_id!r}; the quotient "
            "representation would be empty"
        )
    tag = "|".join(str(i) for i in ids)
    name = f"regular_[{tag}]" if subgroup_id is None else f"quotient[{subgroup_id}]_[{tag}]"
    return directsum(irreps, name=name)


class _FourierBase(EquivariantModule):
    def _build(
        self,
        owner: str,
        gspace: Any,
        subgroup_id: Any,
        channels: Any,
        irreps: Any,
        grid: list[Any],
        function: Any,
        inplace: Any,
        out_irreps: Any,
        normalize: Any,
    ) -> None:
        from structconv.gspaces.gspace import GSpace

        if not isinstance(gspace, GSpace) and not hasattr(gspace, "fibergroup"):
            raise TypeError(f"{owner}: gspace={gspace!r} is not accepted; expected a GSpace")
        if isinstance(channels, bool) or not isinstance(channels, numbers.Integral) or channels < 1:
            raise ValueError(f"{owner}: channels={channels!r} is not accepted; expected an int >= 1")
        if function not in _FUNCTIONS:
            raise ValueError(
                f"{owner}: function={function!r} is not known; expected one of {sorted(_FUNCTIONS)}"
            )
        for argname, value in (("inplace", inplace), ("normalize", normalize)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{owner}: {argname}={value!r} is not accepted; expected a bool")
        G = gspace.fibergroup
        if subgroup_id is not None:
            try:
                G.subgroup(subgroup_id)
            except (ValueError, TypeError, KeyError, NotImplementedError) as err:
                raise ValueError(
                    f"{owner}: subgroup_id={subgroup_id!r} is not a subgroup of {G.name} ({err})"
                ) from None
        ids = _ids(G, irreps, "irreps", owner)
        out_ids = ids if out_irreps is None else _ids(G, out_irreps, "out_irreps", owner)
        if len(grid) == 0:
            raise ValueError(f"{owner}: the grid is empty; expected at least one group element")

        self.space = gspace
        self.subgroup_id = subgroup_id
        self.channels = int(channels)
        self.function = function
        self.inplace = bool(inplace)
        self.normalize = bool(normalize)
        self.irreps = ids
        self.out_irreps = out_ids
        self.grid = list(grid)
        self.rho = _representation(G, ids, subgroup_id)
        self.rho_out = self.rho if out_ids == ids else _representation(G, out_ids, subgroup_id)
        self.in_type = FieldType(gspace, [self.rho] * self.channels)
        self.out_type = FieldType(gspace, [self.rho_out] * self.channels)
        A = _sampling_matrix(G, ids, subgroup_id, self.grid, self.normalize)
        A_out = A if out_ids == ids else _sampling_matrix(G, out_ids, subgroup_id, self.grid, self.normalize)
        # float64 masters; the buffers hold them in the dtype new tensors get (float32 unless
        # torch.set_default_dtype says otherwise) and are re-cast from the masters by .to() / .double()
        self._exact = {"A": A, "Ainv": np.linalg.pinv(A_out)}
        for name, value in self._exact.items():
            self.register_buffer(name, torch.from_numpy(value).to(torch.get_default_dtype()))

    def _matrix(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Buffer ``name`` for input ``x``: the buffer itself, or (input of another dtype or device) the
        float64 master converted to the input's, so a float64 input is computed with float64 matrices."""
        buffer = getattr(self, name)
        if buffer.dtype == x.dtype and buffer.device == x.device:
            return buffer
        return torch.from_numpy(self._exact[name]).to(device=x.device, dtype=x.dtype)

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> _FourierBase:
        super()._apply(fn, *args, **kwargs)
        for name, value in self._exact.items():
            current = getattr(self, name)
            if current.is_floating_point():  # any cast: from the float64 master, never from a rounded copy
                self.register_buffer(name, torch.from_numpy(value).to(current))
        return self

    def forward(self, input: GeometricTensor) -> GeometricTensor:
        """Sample every field on the grid, apply the function, project back to the output band limit."""
        check_input(self, input)
        x = input.tensor
        b, spatial = x.shape[0], x.shape[2:]
        A, Ainv = self._matrix("A", x), self._matrix("Ainv", x)
        xs = x.reshape(b, self.channels, A.shape[1], -1)
        samples = _FUNCTIONS[self.function][0](torch.matmul(A, xs), self.inplace)
        y = torch.matmul(Ainv, samples)
        return GeometricTensor(y.reshape(b, self.channels * Ainv.shape[0], *spatial), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(B, C_in, ...) -> (B, C_out, ...)``."""
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[1] != self.in_type.size:
            raise ValueError(
                f"{type(self).__name__}: input_shape={input_shape} does not match in_type of size "
                f"{self.in_type.size}; expected (B, {self.in_type.size}, ...)"
            )
        return (input_shape[0], self.out_type.size, *input_shape[2:])

    def export(self) -> torch.nn.Sequential:
        """``Sequential(ConvNd(1x1, groups=channels), activation, ConvNd(1x1, groups=channels))``, eval mode:
        ``A`` and ``Ainv`` per channel, in the dtype and on the device of this module's ``A`` (no random
        initialisation is drawn)."""
        dim = int(getattr(self.space, "dimensionality", 2))
        conv = {2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[dim]
        n, s_in = self.A.shape
        s_out = self.Ainv.shape[0]
        c = self.channels
        kw = {"groups": c, "bias": False, "device": self.A.device, "dtype": self.A.dtype}
        first = torch.nn.utils.skip_init(conv, c * s_in, c * n, 1, **kw)
        last = torch.nn.utils.skip_init(conv, c * n, c * s_out, 1, **kw)
        ones = (1,) * dim
        with torch.no_grad():
            first.weight.copy_(self.A.repeat(c, 1).reshape(c * n, s_in, *ones))
            last.weight.copy_(self.Ainv.repeat(c, 1).reshape(c * s_out, n, *ones))
        act = _FUNCTIONS[self.function][1]
        activation = act(inplace=self.inplace) if act in (torch.nn.ReLU, torch.nn.ELU) else act()
        return torch.nn.Sequential(first, activation, last).eval()

    def extra_repr(self) -> str:
        sg = "" if self.subgroup_id is None else f"subgroup_id={self.subgroup_id!r}, "
        return (
            f"{sg}{self.in_type} -> {self.out_type}, function={self.function!r}, "
            f"grid={len(self.grid)} points, "
            f"normalize={self.normalize}"
        )


class FourierPointwise(_FourierBase):
    r"""A pointwise non-linearity on the band-limited Fourier transform of functions on the group.

    Each of the ``channels`` fields of the band-limited regular representation (``irreps``) is sampled on a
    grid of group elements, :math:`\sigma` is applied to every sample and the result is projected back:
    :math:`y = A_{out}^+ \sigma(A x)` (see the module docstring for :math:`A`). Only approximately
    equivariant in general; exactly for the elements that permute the grid when the grid resolves the band
    limit (e.g. ``type='regular'`` on C_N and its elements, the ``'cube'`` grid of SO(3) and the octahedral
    rotations).

    Args:
        gspace: the gspace; the transform is over ``gspace.fibergroup``.
        channels: the number of fields.
        irreps: the ids of the irreps of the band limit (e.g. ``G.bl_irreps(L)``).
        *grid_args: the grid's arguments (:func:`structconv.group.grids.grid`, escnn's ``G.grid``).
        function: ``'p_relu'`` (default), ``'p_elu'``, ``'p_sigmoid'`` or ``'p_tanh'``.
        inplace: apply the function in place on the samples (they are a fresh tensor; the input is never
            modified).
        out_irreps: the output band limit (default: ``irreps``).
        normalize: scale the rows of :math:`A` to unit norm (before the pseudo-inverse).
        **grid_kwargs: the grid's keyword arguments (e.g. ``type='thomson', N=96``).

    Shape:
        ``[B, channels * |ρ|, *spatial] -> [B, channels * |ρ_out|, *spatial]`` (2-D and 3-D gspaces).

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FourierELU, GeometricTensor
        >>> gs = gspaces.Rot2dOnR2(-1)
        >>> elu = FourierELU(gs, 3, [(0,), (1,), (2,)], N=8)
        >>> elu.in_type.size, elu.A.shape
        (15, torch.Size([8, 5]))
        >>> elu(GeometricTensor(torch.randn(2, 15, 4, 4), elu.in_type)).shape
        torch.Size([2, 15, 4, 4])
    """

    def __init__(
        self,
        gspace: Any,
        channels: int,
        irreps: list[Any],
        *grid_args: Any,
        function: str = "p_relu",
        inplace: bool = True,
        out_irreps: list[Any] | None = None,
        normalize: bool = True,
        **grid_kwargs: Any,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        G = getattr(gspace, "fibergroup", None)
        if G is None:
            raise TypeError(f"{owner}: gspace={gspace!r} is not accepted; expected a GSpace")
        points = group_grid(G, *grid_args, **grid_kwargs)
        self._build(owner, gspace, None, channels, irreps, points, function, inplace, out_irreps, normalize)


class FourierELU(FourierPointwise):
    """:class:`FourierPointwise` with ``function='p_elu'``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.nn import FourierELU
        >>> gs = gspaces.rot3dOnR3()
        >>> elu = FourierELU(gs, 2, gs.fibergroup.bl_irreps(2), type="cube")
        >>> elu.in_type.size, len(elu.grid)
        (70, 24)
    """

    def __init__(
        self,
        gspace: Any,
        channels: int,
        irreps: list[Any],
        *grid_args: Any,
        inplace: bool = True,
        out_irreps: list[Any] | None = None,
        normalize: bool = True,
        **grid_kwargs: Any,
    ) -> None:
        super().__init__(
            gspace,
            channels,
            irreps,
            *grid_args,
            function="p_elu",
            inplace=inplace,
            out_irreps=out_irreps,
            normalize=normalize,
            **grid_kwargs,
        )


class QuotientFourierPointwise(_FourierBase):
    r"""A pointwise non-linearity on band-limited functions on the quotient :math:`G/H` (e.g. the sphere).

    The fields are of the band-limited quotient representation (each irrep of ``irreps`` as many times as
    :math:`H` = ``subgroup_id`` has invariant vectors in it); they are sampled at the points of ``grid``
    (coset representatives, e.g. :func:`structconv.group.grids.sphere_grid`) or of the group grid of
    ``grid_args`` / ``grid_kwargs``, :math:`\sigma` is applied and the samples are projected back.

    Args:
        gspace: the gspace; the transform is over ``gspace.fibergroup``.
        subgroup_id: the id of :math:`H` (SO(3): ``(False, -1)`` for the sphere; O(3): ``('cone', -1)``).
        channels: the number of fields.
        irreps: the ids of the irreps of the band limit.
        *grid_args: the group grid's arguments, used when ``grid`` is ``None``.
        grid: the sample points (group elements), optional.
        function: ``'p_relu'`` (default), ``'p_elu'``, ``'p_sigmoid'`` or ``'p_tanh'``.
        inplace: apply the function in place on the samples.
        out_irreps: the output band limit (default: ``irreps``).
        normalize: scale the rows of :math:`A` to unit norm.
        **grid_kwargs: the group grid's keyword arguments.

    Shape:
        ``[B, channels * |ρ|, *spatial] -> [B, channels * |ρ_out|, *spatial]``.

    Example:
        >>> from structconv import gspaces
        >>> from structconv.group.grids import sphere_grid
        >>> from structconv.nn import QuotientFourierELU
        >>> gs = gspaces.rot3dOnR3()
        >>> G = gs.fibergroup
        >>> elu = QuotientFourierELU(gs, (False, -1), 4, G.bl_irreps(2), grid=sphere_grid(G, "ico"))
        >>> elu.in_type.size, elu.A.shape
        (36, torch.Size([30, 9]))
    """

    def __init__(
        self,
        gspace: Any,
        subgroup_id: Any,
        channels: int,
        irreps: list[Any],
        *grid_args: Any,
        grid: list[Any] | None = None,
        function: str = "p_relu",
        inplace: bool = True,
        out_irreps: list[Any] | None = None,
        normalize: bool = True,
        **grid_kwargs: Any,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        G = getattr(gspace, "fibergroup", None)
        if G is None:
            raise TypeError(f"{owner}: gspace={gspace!r} is not accepted; expected a GSpace")
        if grid is None:
            points = group_grid(G, *grid_args, **grid_kwargs)
        else:
            if grid_args or grid_kwargs:
                raise ValueError(
                    f"{owner}: grid is given together with grid arguments {grid_args!r} {grid_kwargs!r}; "
                    "expected one of them"
                )
            if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
                raise ValueError(
                    f"{owner}: grid={grid!r} is not accepted; expected a list of elements of {G.name}"
                )
            points = list(grid)
            for e in points:
                if not G.is_element(e) and not _is_group_element(G, e):
                    raise ValueError(f"{owner}: grid contains {e!r}, which is not an element of {G.name}")
        self._build(
            owner, gspace, subgroup_id, channels, irreps, points, function, inplace, out_irreps, normalize
        )


def _is_group_element(G: Any, e: Any) -> bool:
    try:
        G.inverse(e)
    except (ValueError, TypeError):
        return False
    return True


class QuotientFourierELU(QuotientFourierPointwise):
    """:class:`QuotientFourierPointwise` with ``function='p_elu'``."""

    def __init__(
        self,
        gspace: Any,
        subgroup_id: Any,
        channels: int,
        irreps: list[Any],
        *grid_args: Any,
        grid: list[Any] | None = None,
        inplace: bool = True,
        out_irreps: list[Any] | None = None,
        normalize: bool = True,
        **grid_kwargs: Any,
    ) -> None:
        super().__init__(
            gspace,
            subgroup_id,
            channels,
            irreps,
            *grid_args,
            grid=grid,
            function="p_elu",
            inplace=inplace,
            out_irreps=out_irreps,
            normalize=normalize,
            **grid_kwargs,
        )
