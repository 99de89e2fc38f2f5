r"""The group O(3) = SO(3) × {I, -I} of rotations and reflections of space, its irreps and its subgroups.

Elements are :class:`~structconv.group.group3d.GroupElement` objects with value ``(j, q)``: ``j = 1`` for the
inversion ``-I`` times the rotation with unit quaternion ``q`` (``PARAM = 'Q'``; the rotation part may be
given in any parametrization of SO(3): ``O3.element((1, R), 'MAT')``). As a matrix: :math:`(-1)^j R(q)`.

Irreps ``irrep_j,l`` (id ``(j, l)``, size ``2l+1``): :math:`\psi_{j,l}(i, q) = (-1)^{j i} D^l(q)` with
:math:`D^l` the real Wigner matrices of :mod:`structconv.group.so3` (``j``: the parity; the standard
representation is ``irrep_1,1``); attributes ``{'frequency': l, 'inv_frequency': j}``, as escnn.

Subgroup ids (escnn's; ``adj``: an optional element of O(3) or SO(3) conjugating the subgroup):

=============================================  =============================================================
``'o3'`` or ``(True, 'so3')``                  O(3) itself
``'so3'`` or ``(False, 'so3')``                SO(3)
``(False, id...)``                             the subgroup ``id`` of SO(3) (``'octa'``, ``'ico'``,
                                               ``(False, N)``, ``(True, N)``, ``(a, N)``, ..., see
                                               :mod:`structconv.group.so3`)
``(True, id...)``                              that subgroup times the inversion: ``C2 × H`` (the products of
                                               :mod:`structconv.group.directproduct`: ``(True, 'octa')``
                                               ``FullOctahedral``, ``(True, False, -1)``
                                               ``Cylindrical``, ...);
                                               ``(True, False, 1)`` is the C2 of the inversion; ``(True, True,
                                               1)`` / ``(True, False, 2)`` the ``Klein4`` group
``('cone', -1)`` / ``('cone', N)``             the *conic* O(2) / D_N: rotations about z and the mirrors
                                               through the z axis (the planar flip ``(1, 0)`` is the mirror
                                               ``y ↦ -y``, i.e. the inversion times ``R_y(π)``)
``('cone', 1)``                                the C2 of that mirror
``('cone', a, N)``, float ``a``                the same with the mirror rotated by ``-a/2`` about z
=============================================  =============================================================

The restrictions are closed form about an axis (with escnn's change of basis for the SO(3) subgroups and the
continuous cone), numerical for the polyhedral ones; the irreps of a restriction to a cone or to a product
with the inversion come sorted by id, as escnn's.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from structconv.group import _so3_maths as so3m
from structconv.group.cyclic import cyclic_group
from structconv.group.dihedral import dihedral_group
from structconv.group.group import Group
from structconv.group.group3d import (
    Group3D,
    GroupElement,
    IrreducibleRepresentation3D,
    _axis_quat,
    _check_band_limit,
    _readonly,
    sort_blocks_by_id,
)
from structconv.group.irreps import IrreducibleRepresentation
from structconv.group.o2 import o2_group
from structconv.group.representation import Representation
from structconv.group.so3 import (
    _IRREP_NL,
    _TRIVIAL_NL,
    DEFAULT_MAXIMUM_FREQUENCY_3D,
    STANDARD_CHANGE_OF_BASIS,
    _check_max_frequency,
    _id,
    _is_float,
    _named,
    _quat_key,
    _split_adj,
    conjugate,
    key_adjoint,
    parse_so3_subgroup_id,
    planar_to_quat,
    quat_to_planar,
    restrict_axial,
    so3_group,
)

__all__ = ["O3", "o3_group"]


def _eval_o3(j: int, l: int, inv: np.ndarray, q: np.ndarray) -> np.ndarray:
    D = so3m.wigner_D(l, q)
    if j:
        D = D * np.where(np.asarray(inv) % 2 == 1, -1.0, 1.0)[:, None, None]
    return D


def _as_flat(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


class O3(Group3D):
    """The group O(3) (see the module docstring for elements, irreps and subgroups). Build it with
    :func:`o3_group`.

    Example:
        >>> G = o3_group(1)
        >>> [irr.name for irr in G.irreps()]
        ['irrep_0,0', 'irrep_0,1', 'irrep_1,0', 'irrep_1,1']
        >>> inv = G.element((1, [0.0, 0.0, 0.0, 1.0]))
        >>> G.standard_representation()(inv) + 0.0
        array([[-1.,  0.,  0.],
               [ 0., -1.,  0.],
               [ 0.,  0., -1.]])
        >>> G.restrict_representation(("cone", -1), G.irrep(1, 1)).irreps
        ['irrep_0,0', 'irrep_1,1']
    """

    _TRIVIAL_ID = (False, False, 1)
    _SELF_ID = "o3"

    def __init__(self, maximum_frequency: int) -> None:
        self._max_freq = _check_max_frequency(maximum_frequency)
        self._so3 = so3_group(self._max_freq)
        super().__init__("O(3)", continuous=True, abelian=False)

    @property
    def maximum_frequency(self) -> int:
        """Largest degree ``l`` listed in :attr:`irreps`."""
        return self._max_freq

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return o3_group, (self._max_freq,)

    def __repr__(self) -> str:
        return f"O3(maximum_frequency={self._max_freq})"

    def order(self) -> int:
        """``-1`` (continuous)."""
        return -1

    # ------------------------------------------------------------------ elements
    @property
    def identity(self) -> GroupElement:
        """``(0, identity rotation)``."""
        return GroupElement(self, (0, _axis_quat("z", 0.0)))

    def _make_element(self, value: Any, param: str) -> GroupElement:
        if param not in self.PARAMETRIZATIONS:
            raise ValueError(
                f"param: {param!r} is not a parametrization of {self.name}; expected one of "
                f"{list(self.PARAMETRIZATIONS)}"
            )
        if (
            not isinstance(value, (tuple, list))
            or len(value) != 2
            or isinstance(value[0], (float, np.floating))
            or value[0] not in (0, 1)
        ):
            raise ValueError(
                f"element: {value!r} is not an element of O(3); expected a pair (j, rotation) with j in "
                "{0, 1} "
                f"(1: times the inversion) and the rotation in the parametrization {param!r}"
            )
        return GroupElement(self, (int(value[0]), _readonly(so3m.to_quat(value[1], param))))

    def _change_param(self, value: Any, param: str) -> Any:
        return (value[0], so3m.from_quat(value[1], param))

    def _repr_value(self, value: Any) -> str:
        return f"{'-' if value[0] else '+'}, {super()._repr_value(value[1])}"

    def _hash_key(self, element: GroupElement) -> Any:
        j, q = element.value
        return (j,) + tuple(np.round(so3m.quat_canonical(q), 8) + 0.0)

    def _equal(self, a: GroupElement, b: GroupElement, atol: float) -> bool:
        (ja, qa), (jb, qb) = a.value, b.value
        return ja == jb and bool(min(np.abs(qa - qb).max(), np.abs(qa + qb).max()) <= atol)

    def _combine(self, a: GroupElement, b: GroupElement) -> GroupElement:
        q = so3m.quat_mul(a.value[1], b.value[1])
        return GroupElement(self, (a.value[0] ^ b.value[0], _readonly(q / np.linalg.norm(q))))

    def _inverse(self, a: GroupElement) -> GroupElement:
        return GroupElement(self, (a.value[0], _readonly(so3m.quat_inv(a.value[1]))))

    def _generators(self) -> list[GroupElement]:
        return [GroupElement(self, (1, g.value)) for g in self._so3._generators()]

    def _sample(self, rng: np.random.Generator) -> GroupElement:
        q = rng.normal(size=4)
        return GroupElement(self, (int(rng.integers(2)), _readonly(q / np.linalg.norm(q))))

    def testing_elements(self) -> list[GroupElement]:
        """The 60 icosahedral rotations, alone and times the inversion (120, escnn's count)."""
        return [GroupElement(self, (j, g.value)) for j in (0, 1) for g in self._so3.testing_elements()]

    def _element_arrays(self, elements: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        parsed = [self._parse(e) for e in elements]
        inv = np.array([e.value[0] for e in parsed], dtype=np.int64)
        return inv, np.array([e.value[1] for e in parsed], dtype=np.float64).reshape(-1, 4)

    # ------------------------------------------------------------------ irreps
    def _build_irreps3d(self) -> None:
        for j in (0, 1):
            for l in range(self._max_freq + 1):
                self.irrep(j, l)

    def irrep(self, j: int, l: int, *more: int) -> IrreducibleRepresentation:  # type: ignore[override]
        """The irrep ``irrep_j,l``: parity ``j`` in ``{0, 1}``, degree ``l ≥ 0``.

        Raises:
            ValueError: not such a pair of ints.
        """
        return super().irrep(j, l, *more)

    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[int, ...]:
        ok = len(id) == 2 and all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in id)
        if not ok or id[0] not in (0, 1) or id[1] < 0:
            raise ValueError(
                f"id: {id!r} is not an irrep of O(3); expected irrep(j, l) with j in {{0, 1}} and an int "
                "l >= 0"
            )
        return (int(id[0]), int(id[1]))

    def _new_irrep(self, id: tuple[int, ...]) -> IrreducibleRepresentation:
        j, l = id
        return IrreducibleRepresentation3D(
            self,
            (j, l),
            f"irrep_{j},{l}",
            2 * l + 1,
            functools.partial(_eval_o3, j, l),
            set(_TRIVIAL_NL if (j, l) == (0, 0) else _IRREP_NL),
            {"frequency": l, "inv_frequency": j},
            trivial=(j, l) == (0, 0),
        )

    def _candidate_irreps(self, max_frequency: int) -> list[IrreducibleRepresentation]:
        return [self.irrep(j, l) for j in (0, 1) for l in range(max_frequency + 1)]

    def bl_irreps(self, L: int) -> list[tuple[Any, ...]]:
        """``[(0, 0), (1, 0), (0, 1), (1, 1), ..., (1, L)]`` (escnn's order).

        Raises:
            ValueError: ``L`` is not a non-negative int.
        """
        return [(j, l) for l in range(_check_band_limit(L) + 1) for j in (0, 1)]

    # ------------------------------------------------------------------ representations
    def standard_representation(self) -> Representation:
        """The orthogonal matrices (``'standard'``): ``irrep_1,1`` with the change of basis from
        ``(y, z, x)``."""
        return _named(self, "standard", ["irrep_1,1"], STANDARD_CHANGE_OF_BASIS, set(_IRREP_NL))

    def bl_regular_representation(self, L: int) -> Representation:
        r"""The regular representation band-limited to degree ``L``: every ``irrep_j,l`` (``l ≤ L``) ``2l+1``
        times (``'regular_L'``, identity change of basis, as escnn).

        Example:
            >>> r = o3_group().bl_regular_representation(1)
            >>> r.size, r.irreps[:4]
            (20, ['irrep_0,0', 'irrep_1,0', 'irrep_0,1', 'irrep_0,1'])
        """
        L = _check_band_limit(L)
        names = [f"irrep_{j},{l}" for l in range(L + 1) for j in (0, 1) for _ in range(2 * l + 1)]
        return _named(self, f"regular_{L}", names, None)

    def bl_quotient_representation(self, L: int, subgroup_id: Any) -> Representation:
        """Functions on ``O(3)/H`` band-limited to degree ``L``: each irrep as many times as ``H`` has
        invariant vectors in it (``'quotient[<id>]_L'``, identity change of basis).

        Raises:
            ValueError: ``L`` is not a non-negative int, or ``subgroup_id`` is not a subgroup id.
        """
        L = _check_band_limit(L)
        key, H = self._subgroup3d(subgroup_id)
        names = []
        for jl in self.bl_irreps(L):
            r = self.restrict_representation(key, self.irrep(*jl))
            names += [self.irrep(*jl).name] * sum(n == H.trivial_representation.name for n in r.irreps)
        return _named(self, f"quotient[{key}]_{L}", names, None)

    def bl_sphere_representation(self, L: int) -> Representation:
        """Functions on the sphere ``O(3)/O(2)`` (the conic ``('cone', -1)``) band-limited to degree ``L``:
        ``irrep_{l mod 2},l`` for ``l ≤ L``.

        Example:
            >>> o3_group().bl_sphere_representation(2).irreps
            ['irrep_0,0', 'irrep_1,1', 'irrep_0,2']
        """
        return self.bl_quotient_representation(L, ("cone", -1))

    def sphere_grid(self, type: str, *args: Any, adj: Any = None, **kwargs: Any) -> list[GroupElement]:
        """Points on the sphere ``O(3)/O(2)`` as the rotations taking the pole to them (escnn's
        ``sphere_grid``); see :func:`structconv.group.grids.sphere_grid` for the types.

        Example:
            >>> len(o3_group().sphere_grid("ico"))
            30
        """
        from structconv.group.grids import sphere_grid

        return sphere_grid(self, type, *args, adj=adj, **kwargs)

    def grid_so3(self, type: str, *args: Any, **kwargs: Any) -> list[GroupElement]:
        """The rotations of O(3) on an SO(3) grid (escnn's ``O3.grid_so3``): ``so3_group().grid(type, ...)``
        embedded as ``(0, g)``; see :func:`structconv.group.grids.grid_so3`.

        Example:
            >>> els = o3_group().grid_so3("cube")
            >>> len(els), {g.value[0] for g in els}
            (24, {0})
        """
        from structconv.group.grids import grid_so3

        return grid_so3(self, type, *args, **kwargs)

    # ------------------------------------------------------------------ subgroups
    def _subgroup3d(self, subgroup_id: Any) -> tuple[Any, Group]:
        from structconv.group import directproduct as dp

        msg = (
            f"subgroup_id: {subgroup_id!r} is not a subgroup of O(3); expected 'o3', 'so3', "
            "(False, <SO(3) id>), (True, <SO(3) id>) (with the inversion), ('cone', N) or "
            "('cone', a: float, N), optionally followed by an adjoint element"
        )
        if subgroup_id in ("o3", "so3"):
            subgroup_id = (subgroup_id == "o3", "so3")
        if subgroup_id == "fulltetra" or (
            isinstance(subgroup_id, tuple) and subgroup_id[:1] == ("fulltetra",)
        ):
            raise NotImplementedError(
                f"subgroup_id: {subgroup_id!r}: the full tetrahedral subgroup is not implemented (nor in "
                "escnn)"
            )
        if not isinstance(subgroup_id, tuple) or not subgroup_id:
            raise ValueError(msg)
        head = subgroup_id[0]
        if isinstance(head, str) and head == "cone":
            return self._cone(subgroup_id, msg)
        if not (
            isinstance(head, (bool, np.bool_)) or (isinstance(head, numbers.Integral) and head in (0, 1))
        ):
            raise ValueError(msg)
        inv = bool(head)
        rest = subgroup_id[1:]
        try:
            so3key, Hs = parse_so3_subgroup_id(rest if len(rest) != 1 else rest[0], self._max_freq, "O(3)")
        except ValueError as err:
            raise ValueError(msg) from err
        key = (inv,) + _as_flat(so3key)
        if not inv:
            return key, Hs
        core = so3key if isinstance(so3key, str) else so3key[:2]
        if core == "so3":
            return key, self
        if core == (False, 1):
            return key, cyclic_group(2)
        if core == (False, 2) and isinstance(Hs, Group) and Hs.order() == 2:
            return key, dp.klein4_group()
        if isinstance(core, str):
            return key, (dp.full_octa_group if core == "octa" else dp.full_ico_group)()
        flip, N = core
        if N == -1:
            return key, (dp.full_cylinder_group if flip else dp.cylinder_group)(self._max_freq)
        return key, (dp.full_cylinder_discrete_group if flip else dp.cylinder_discrete_group)(N)

    def _cone(self, subgroup_id: tuple[Any, ...], msg: str) -> tuple[Any, Group]:
        core, adj = _split_adj(subgroup_id)
        A = np.array([0.0, 0.0, 0.0, 1.0]) if adj is None else adj
        if len(core) == 3 and _is_float(core[1]):
            A = so3m.quat_mul(_axis_quat("z", 0.5 * float(core[1])), A)
            N = core[2]
        elif len(core) == 2:
            N = core[1]
        else:
            raise ValueError(msg)
        if isinstance(N, bool) or not isinstance(N, numbers.Integral) or not (int(N) >= 1 or int(N) == -1):
            raise ValueError(msg)
        N = int(N)
        adjk = _quat_key(A)
        key = ("cone", N) if adjk is None else ("cone", N, adjk)
        H: Group = o2_group(self._max_freq) if N == -1 else (cyclic_group(2) if N == 1 else dihedral_group(N))
        return key, H

    def _split_key(self, key: tuple[Any, ...]) -> tuple[Any, Any]:
        """``(inv flag or 'cone', the SO(3) key / (N,))``."""
        rest = key[1:]
        return key[0], (rest[0] if len(rest) == 1 else rest)

    def _subgroup_parent(self, key: Any, h: Any) -> GroupElement:
        H = self._subgroup3d(key)[1]
        A = key_adjoint(key)
        head, so3key = self._split_key(key)
        if head == "cone":
            N = key[1]
            if N == 1:
                if not H.is_element(h):
                    raise ValueError(f"element: {h!r} is not an element of {H.name}")
                f, q = int(h), (_axis_quat("y", math.pi) if int(h) else _axis_quat("z", 0.0))
            else:
                f, q = planar_to_quat(H, True, N, h, _axis_quat("y", math.pi))
            return GroupElement(self, (f, _readonly(conjugate(q, A))))
        if H is self:
            return self._parse(h)
        if not head:
            g = self._so3.subgroup(so3key)[1](h)
            return GroupElement(self, (0, g.value))
        if so3key == (False, 1) or (isinstance(so3key, tuple) and so3key[:2] == (False, 1)):
            if not H.is_element(h):
                raise ValueError(f"element: {h!r} is not an element of {H.name}")
            return GroupElement(self, (int(h), _axis_quat("z", 0.0)))
        j, hs = H.split_element(h)  # type: ignore[attr-defined]
        g = self._so3.subgroup(so3key)[1](hs)
        return GroupElement(self, (j, g.value))

    def _subgroup_child(self, key: Any, g: GroupElement) -> Any:
        H = self._subgroup3d(key)[1]
        head, so3key = self._split_key(key)
        j, q = g.value
        if head == "cone":
            N = key[1]
            qa = conjugate(q, so3m.quat_inv(key_adjoint(key)))  # A q A^{-1}
            p = quat_to_planar(True, 2 if N == 1 else N, qa, 0.5 * math.pi)
            if p is None or p[0] != j:
                return None
            if N == 1:
                return j if p[1] == 0 else None
            return p
        if H is self:
            return g
        hs = self._so3.subgroup(so3key)[2](GroupElement(self._so3, q))
        if hs is None:
            return None
        if not head:
            return None if j else hs
        if H.order() == 2 and H.name == "C2":
            return j
        return H.pair_elements(j, hs)  # type: ignore[attr-defined]

    def _restrict_irrep(self, key: Any, irr: IrreducibleRepresentation) -> tuple[list[str], np.ndarray]:
        j, l = irr.id
        head, so3key = self._split_key(key)
        H = self._subgroup3d(key)[1]
        if head == "cone":
            N = key[1]
            if N == 1:
                return self._restrict_numerically(key, irr)
            names, Q = restrict_axial(
                l, True, N, key_adjoint(key), self._max_freq, _axis_quat("y", math.pi), -1.0 if j else 1.0, 1
            )
            return sort_blocks_by_id(H, names, Q)  # escnn's order
        if H is self:
            return [irr.name], np.eye(irr.size)
        r = self._so3.restrict_representation(so3key, self._so3.irrep(l))
        Q = np.asarray(r.change_of_basis)
        if not head:
            return list(r.irreps), Q
        if H.order() == 2 and H.name == "C2":  # the inversion alone
            return [f"irrep_{j}"] * irr.size, np.eye(irr.size)
        Hs = H.G2  # type: ignore[attr-defined]
        names = [H.irrep((j,), Hs.irreps[n].id, 0).name for n in r.irreps]  # type: ignore[call-arg]
        return sort_blocks_by_id(H, names, Q)  # escnn's order

    # ------------------------------------------------------------------ tensor products
    def _tensor_product_irreps(self, J: Any, l: Any) -> list[tuple[tuple[Any, ...], int]]:
        (ja, a), (jb, b) = self.irrep(*_id(J)).id, self.irrep(*_id(l)).id
        return [(((ja + jb) % 2, c), 1) for c in range(abs(a - b), a + b + 1)]

    def _cg(
        self, m: IrreducibleRepresentation, n: IrreducibleRepresentation, j: IrreducibleRepresentation
    ) -> np.ndarray:
        (ja, a), (jb, b), (jc, c) = m.id, n.id, j.id
        if jc == (ja + jb) % 2 and abs(a - b) <= c <= a + b:
            return so3m.clebsch_gordan_real(a, b, c)[:, :, None, :]
        return np.zeros((m.size, n.size, 0, j.size))


@functools.cache
def _o3_group(maximum_frequency: int) -> O3:
    return O3(maximum_frequency)


def o3_group(maximum_frequency: int = DEFAULT_MAXIMUM_FREQUENCY_3D) -> O3:
    """The group O(3) with irreps listed up to degree ``maximum_frequency`` (a cached singleton; default 2 as
    escnn).

    Raises:
        ValueError: ``maximum_frequency`` is not a non-negative int.

    Example:
        >>> o3_group(2) is o3_group(2)
        True
    """
    return _o3_group(_check_max_frequency(maximum_frequency))
