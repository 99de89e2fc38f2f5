r"""Products ``C2 × H`` of the inversion (or another C2) with a group ``H``: the subgroups of O(3) that
contain the inversion ``-I`` (escnn's ``DirectProductGroup``).

* :func:`full_octa_group` ``O_h = C2 × O`` (48 elements: every symmetry of the cube / voxel grid),
  :func:`full_ico_group` ``I_h = C2 × I`` (120);
* :func:`cylinder_group` ``C2 × SO(2)``, :func:`full_cylinder_group` ``C2 × O(2)``,
  :func:`cylinder_discrete_group` ``C2 × C_N``, :func:`full_cylinder_discrete_group` ``C2 × D_N`` and
  :func:`klein4_group` ``C2 × C2`` (the planar factor acting about the z axis,
  see :mod:`structconv.group.o3`).

An element is a :class:`~structconv.group.group3d.GroupElement` with value ``(j, h)``: ``j`` in ``{0, 1}``
(the C2 factor, written first as escnn) and ``h`` an element of ``H`` (a plain value for a planar ``H``, a
quaternion for the polyhedral groups); ``PARAM`` is escnn's ``'[int | <H's parametrization>]'``. Finite
products list their elements ``j``-major (escnn's order).

Irreps: ``ψ_(j),id,0 (j', h) = (-1)^{j j'} ψ_id(h)`` with id ``((j,), id_H, 0)`` and name
``'irrep_[(j,),<id_H>](0)'`` (escnn's); attributes ``{'id1', 'id2', 'i'}``; as escnn, every irrep supports
``'norm'`` and ``'gated'`` only (also the trivial one). (Products of two complex-type irreps would split;
they do not occur with a C2 factor.)

Subgroup ids (escnn's): ``(id1, id2)`` with ``id1`` a subgroup of C2 (``1``: the trivial group, ``2``: C2) and
``id2`` one of ``H``: ``(1, id2)`` is ``H``'s subgroup ``id2``, ``(2, id2)`` the product ``C2 × H'``.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from structconv.group.cyclic import cyclic_group
from structconv.group.group import Group
from structconv.group.group3d import (
    Group3D,
    GroupElement,
    IrreducibleRepresentation3D,
    _readonly,
)
from structconv.group.irreps import IrreducibleRepresentation

__all__ = [
    "DirectProductGroup",
    "direct_product",
    "full_octa_group",
    "full_ico_group",
    "cylinder_group",
    "full_cylinder_group",
    "cylinder_discrete_group",
    "full_cylinder_discrete_group",
    "klein4_group",
]

_NL = frozenset({"gated", "norm"})
_NAME_RE = re.compile(r"^irrep_\[(\(.*?\)),(\(.*\))\]\((\d+)\)$")


def _irrep_name(id1: tuple[int, ...], id2: tuple[Any, ...], i: int) -> str:
    return f"irrep_[{id1},{id2}]({i})"


class DirectProductGroup(Group3D):
    """The product ``C2 × H`` (see the module docstring). Build it with the factories, never directly.

    Args:
        H: the second factor (a planar group of :mod:`structconv.group` or a polyhedral group).
        name: escnn's name of the product (``'FullOctahedral'``, ``'Cylindrical'``, ...).

    Example:
        >>> G = full_octa_group()
        >>> G.name, G.order(), G.PARAM, len(G.irreps())
        ('FullOctahedral', 48, '[int | Q]', 10)
        >>> G.irrep((1,), (1,), 0).name
        'irrep_[(1,),(1,)](0)'
        >>> g = G.element((1, [0.0, 0.0, 0.0, 1.0]))  # the inversion
        >>> G.irrep((1,), (1,), 0)(g) + 0.0
        array([[-1.,  0.,  0.],
               [ 0., -1.,  0.],
               [ 0.,  0., -1.]])
    """

    def __init__(self, H: Group, name: str) -> None:
        self._G1 = cyclic_group(2)
        self._G2 = H
        self._h3d = isinstance(H, Group3D)
        if self._h3d:
            self.PARAM = f"[int | {H.PARAM}]"  # type: ignore[attr-defined]
            self.PARAMETRIZATIONS = tuple(f"[int | {p}]" for p in H.PARAMETRIZATIONS)  # type: ignore[attr-defined]
        else:
            self.PARAM = f"[int | {'radians' if H.continuous else 'int'}]"
            self.PARAMETRIZATIONS = (self.PARAM,)
        self._elements: list[GroupElement] | None = None
        if not H.continuous:
            n2 = H.order()
            sub = list(H.elements)  # type: ignore[arg-type]
            self._sub_index = {self._sub_key(h): i for i, h in enumerate(sub)}
            self._elements = [
                GroupElement(self, (j, self._sub_value(h)), j * n2 + i)
                for j in (0, 1)
                for i, h in enumerate(sub)
            ]
            if self._h3d:
                mul2 = np.asarray(H._cache["cayley"][0])
            else:
                mul2 = np.array([[self._sub_index[self._sub_key(H.combine(a, b))] for b in sub] for a in sub])
            jj = np.repeat([0, 1], n2)
            ii = np.tile(np.arange(n2), 2)
            self._mul = (jj[:, None] ^ jj[None, :]) * n2 + mul2[ii[:, None], ii[None, :]]
            e = self._sub_index[self._sub_key(H.identity)]
            self._inv = np.argmax(self._mul == e, axis=1)
        super().__init__(name, continuous=H.continuous, abelian=getattr(H, "abelian", False))
        if self._elements is not None:
            self._cache["cayley"] = (self._mul, self._inv)  # the finite-group constructions read it

    # ------------------------------------------------------------------ identity
    @property
    def subgroup_trivial_id(self) -> Any:
        """``(1, trivial id of H)`` (escnn's)."""
        return (1, _planar_ids(self._G2)[0])

    @property
    def subgroup_self_id(self) -> Any:
        """``(2, self id of H)`` (escnn's)."""
        return (2, _planar_ids(self._G2)[1])

    @property
    def G1(self) -> Group:
        """The first factor, C2."""
        return self._G1

    @property
    def G2(self) -> Group:
        """The second factor ``H``."""
        return self._G2

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return _direct_product, (self._G2, self._name)

    def __repr__(self) -> str:
        return f"DirectProductGroup({self._name}: C2 x {self._G2.name})"

    def order(self) -> int:
        """``2 |H|``; ``-1`` when ``H`` is continuous."""
        return -1 if self._G2.continuous else 2 * self._G2.order()

    @property
    def maximum_frequency(self) -> int | None:
        """``H``'s band limit (continuous ``H``), else ``None``."""
        return getattr(self._G2, "maximum_frequency", None)

    # ------------------------------------------------------------------ elements of H
    def _sub_key(self, h: Any) -> Any:
        return h._index if self._h3d else h

    def _sub_value(self, h: Any) -> Any:
        return h.value if self._h3d else h

    def _sub(self, value: Any) -> Any:
        """The element of ``H`` with this value (a GroupElement for a group of space)."""
        return self._G2.element(value) if self._h3d else value  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ elements
    @property
    def elements(self) -> list[GroupElement] | None:
        """All elements, ``j``-major (finite ``H``); ``None`` for a continuous ``H``."""
        return None if self._elements is None else list(self._elements)

    @property
    def identity(self) -> GroupElement:
        """``(0, identity of H)``."""
        return self._from(0, self._G2.identity)

    def _from(self, j: int, h: Any) -> GroupElement:
        """The element ``(j, h)`` from an element ``h`` of ``H`` (normalised by ``H``)."""
        if self._elements is not None:
            i = self._sub_index[self._sub_key(h)]
            return self._elements[j * self._G2.order() + i]
        return GroupElement(self, (j, self._sub_value(h)))

    def _split(self, e: GroupElement) -> tuple[int, Any]:
        j, v = e.value
        if self._elements is not None and self._h3d:
            return j, self._G2.elements[e._index % self._G2.order()]  # type: ignore[index]
        return j, self._sub(v)

    def pair_elements(self, a: Any, b: Any) -> GroupElement:
        """The element ``(a, b)`` from an element ``a`` of C2 and ``b`` of ``H`` (escnn's name)."""
        return self._from(int(self._G1.combine(a, 0)), self._G2.combine(b, self._G2.identity))

    def split_element(self, element: Any) -> tuple[int, Any]:
        """``(a, b)``: the element's C2 and ``H`` parts (escnn's name)."""
        return self._split(self._parse(element))

    def _make_element(self, value: Any, param: str) -> GroupElement:
        if param not in self.PARAMETRIZATIONS:
            raise ValueError(
                f"param: {param!r} is not a parametrization of {self.name}; expected one of "
                f"{list(self.PARAMETRIZATIONS)}"
            )
        if (
            not isinstance(value, (tuple, list))
            or len(value) != 2
            or value[0] not in (0, 1)
            or isinstance(value[0], float)
        ):
            raise ValueError(
                f"element: {value!r} is not an element of {self.name}; expected a pair (j, h) with j in "
                "{0, 1}"
            )
        j, v = int(value[0]), value[1]
        if self._h3d:
            h = self._G2.element(v, param[len("[int | ") : -1])  # type: ignore[attr-defined]
        else:
            try:
                h = self._G2.combine(v, self._G2.identity)
            except (ValueError, TypeError) as err:
                raise ValueError(f"element: {value!r} is not an element of {self.name}: {err}") from err
        return self._from(j, h)

    def _change_param(self, value: Any, param: str) -> Any:
        if param not in self.PARAMETRIZATIONS:
            raise ValueError(
                f"param: {param!r} is not a parametrization of {self.name}; expected one of "
                f"{list(self.PARAMETRIZATIONS)}"
            )
        j, v = value
        return (j, self._G2.element(v).to(param[len("[int | ") : -1])) if self._h3d else (j, v)  # type: ignore[attr-defined]

    def _repr_value(self, value: Any) -> str:
        j, v = value
        return f"{j} ; {super()._repr_value(v) if self._h3d else v!r}"

    def _hash_key(self, element: GroupElement) -> Any:
        if element._index is not None:
            return element._index
        j, v = element.value
        if self._h3d:
            h = self._sub(v)
            return (j, h.group._hash_key(h))
        f, t = (int(v[0]), float(v[1])) if isinstance(v, tuple) else (0, float(v))
        return (j, f, round(np.cos(t), 8) + 0.0, round(np.sin(t), 8) + 0.0)

    def _equal(self, a: GroupElement, b: GroupElement, atol: float) -> bool:
        if a._index is not None and b._index is not None:
            return a._index == b._index
        (ja, ha), (jb, hb) = self._split(a), self._split(b)
        return ja == jb and bool(self._G2.equal(ha, hb))

    def _index(self, element: Any) -> int:
        return self._parse(element)._index  # type: ignore[return-value]

    def _combine(self, a: GroupElement, b: GroupElement) -> GroupElement:
        if a._index is not None and b._index is not None and self._elements is not None:
            return self._elements[self._mul[a._index, b._index]]
        (ja, ha), (jb, hb) = self._split(a), self._split(b)
        return self._from(ja ^ jb, self._G2.combine(ha, hb))

    def _inverse(self, a: GroupElement) -> GroupElement:
        if a._index is not None and self._elements is not None:
            return self._elements[self._inv[a._index]]
        j, h = self._split(a)
        return self._from(j, self._G2.inverse(h))

    def _generators(self) -> list[GroupElement]:
        inv = self._from(1, self._G2.identity)
        gens2 = self._G2._generators()
        return [inv] + [self._from(0, self._G2.combine(h, self._G2.identity)) for h in gens2]

    def _sample(self, rng: np.random.Generator) -> GroupElement:
        if self._elements is not None:
            return self._elements[int(rng.integers(len(self._elements)))]
        t = float(rng.uniform(0.0, 2.0 * np.pi))  # a continuous H is SO(2) or O(2)
        h = t if self._G2.name == "SO(2)" else (int(rng.integers(2)), t)
        return self._from(int(rng.integers(2)), h)

    def testing_elements(self) -> list[GroupElement]:
        """All elements (finite), else ``{0, 1} ×`` ``H``'s testing elements."""
        if self._elements is not None:
            return self.elements  # type: ignore[return-value]
        return [self._from(j, h) for j in (0, 1) for h in self._G2.testing_elements()]

    def _element_arrays(self, elements: Sequence[Any]) -> tuple[Any, Any]:
        parsed = [self._parse(e) for e in elements]
        if self._elements is not None:
            return np.zeros(len(parsed), dtype=np.int64), np.array([e._index for e in parsed], dtype=np.int64)
        return np.array([e.value[0] for e in parsed], dtype=np.int64), [e.value[1] for e in parsed]

    def _all_element_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.order()
        return np.zeros(n, dtype=np.int64), np.arange(n)

    # ------------------------------------------------------------------ irreps
    def _build_irreps3d(self) -> None:
        for j in (0, 1):
            for irr in self._G2.irreps.values():
                self.irrep((j,), irr.id, 0)

    def irrep(self, id1: Any, id2: Any = None, i: int = 0) -> IrreducibleRepresentation:  # type: ignore[override]
        """The irrep ``((j,), id2, i)``: the C2 irrep ``j`` times ``H``'s irrep ``id2`` (``i`` is always 0).

        Raises:
            ValueError: not an irrep id of the product.
        """
        return super().irrep(id1, id2, i)

    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[Any, ...]:
        msg = (
            f"id: {id!r} is not an irrep of {self.name}; expected ((j,), id of an irrep of {self._G2.name}, "
            "0) with j in {0, 1}"
        )
        if len(id) != 3 or id[2] != 0:
            raise ValueError(msg)
        id1 = tuple(id[0]) if isinstance(id[0], (tuple, list)) else (id[0],)
        id2 = tuple(id[1]) if isinstance(id[1], (tuple, list)) else (id[1],)
        if id1 not in ((0,), (1,)):
            raise ValueError(msg)
        try:
            self._G2.irrep(*id2)
        except (ValueError, TypeError) as err:
            raise ValueError(msg) from err
        return (id1, self._G2.irrep(*id2).id, 0)

    def _new_irrep(self, id: tuple[Any, ...]) -> IrreducibleRepresentation:
        (j,), id2, _ = id
        irr2 = self._G2.irrep(*id2)
        if self._elements is not None:
            n2 = self._G2.order()
            t2 = irr2.representation_matrices(self._G2.elements)  # type: ignore[arg-type]
            sign = np.repeat([1.0, -1.0 if j else 1.0], n2)
            table = _readonly(sign[:, None, None] * np.concatenate([t2, t2]))
            evaluate: Callable[[Any, Any], np.ndarray] = functools.partial(_lookup, table)
        else:
            evaluate = functools.partial(_evaluate_product, j, irr2)
        return IrreducibleRepresentation3D(
            self,
            id,
            _irrep_name((j,), irr2.id, 0),
            irr2.size,
            evaluate,
            set(_NL),
            {"id1": (j,), "id2": irr2.id, "i": 0},
            sum_of_squares_constituents=irr2.sum_of_squares_constituents,
            trivial=j == 0 and irr2.is_trivial(),
        )

    def _irrep_by_name(self, name: str) -> IrreducibleRepresentation:
        if isinstance(name, tuple):  # an escnn-style id ((j,), id2, i)
            return super()._irrep_by_name(name)
        irr = dict.get(self._irreps, name)
        if irr is not None:
            return irr
        m = _NAME_RE.match(name) if isinstance(name, str) else None
        if m is not None:
            try:
                id1, id2, i = ast.literal_eval(m.group(1)), ast.literal_eval(m.group(2)), int(m.group(3))
                irr = self.irrep(id1, id2, i)
            except (ValueError, SyntaxError, TypeError):
                irr = None
            if irr is not None and irr.name == name:
                return irr
        raise ValueError(
            f"irreps: {name!r} is not an irrep of {self.name}; expected one of {list(self._irreps)}"
        )

    def _irrep_frequency(self, irr: IrreducibleRepresentation) -> int:
        """The frequency of the irrep's ``H`` factor."""
        f = self._G2.irrep(*irr.id[1]).attributes.get("frequency", 0)
        return int(f) if isinstance(f, (int, np.integer)) else 0

    def _candidate_irreps(self, max_frequency: int) -> list[IrreducibleRepresentation]:
        if self._elements is not None:
            return list(self.irreps.values())
        return [self.irrep((j,), c.id, 0) for j in (0, 1) for c in self._G2._candidate_irreps(max_frequency)]

    # ------------------------------------------------------------------ subgroups
    def _subgroup3d(self, subgroup_id: Any) -> tuple[Any, Group]:
        msg = (
            f"subgroup_id: {subgroup_id!r} is not a subgroup of {self.name}; expected (id1, id2) with id1 in "
            f"{{1, 2}} (a subgroup of C2) and id2 a subgroup id of {self._G2.name}"
        )
        if not isinstance(subgroup_id, tuple) or len(subgroup_id) != 2 or subgroup_id[0] not in (1, 2):
            raise ValueError(msg)
        id1, id2 = subgroup_id
        if isinstance(id1, bool):
            raise ValueError(msg)
        H2, _, _ = self._G2.subgroup(id2)
        key2 = self._G2._subgroup(id2)[0]
        if int(id1) == 1:
            return (1, key2), H2
        if H2 is self._G2:
            return (2, key2), self
        return (2, key2), direct_product(H2)

    def _subgroup_parent(self, key: Any, h: Any) -> GroupElement:
        id1, key2 = key
        H, _, _ = self.subgroup(key)
        _, pmap2, _ = self._G2.subgroup(key2)
        if H is self:
            return self._parse(h)
        if id1 == 1:
            return self._from(0, pmap2(h))
        j, h2 = H.split_element(h)  # type: ignore[attr-defined]
        return self._from(j, pmap2(h2))

    def _subgroup_child(self, key: Any, g: GroupElement) -> Any:
        id1, key2 = key
        H, _, _ = self.subgroup(key)
        if H is self:
            return g
        _, _, cmap2 = self._G2.subgroup(key2)
        j, h = self._split(g)
        h2 = cmap2(h)
        if h2 is None or (id1 == 1 and j):
            return None
        return h2 if id1 == 1 else H.pair_elements(j, h2)  # type: ignore[attr-defined]

    def _restrict_irrep(self, key: Any, irr: IrreducibleRepresentation) -> tuple[list[str], np.ndarray]:
        id1, key2 = key
        H, _, _ = self.subgroup(key)
        if H is self:
            return [irr.name], np.eye(irr.size)
        (j,), id2, _ = irr.id
        r2 = self._G2.restrict_representation(key2, self._G2.irrep(*id2))
        Q = np.asarray(r2.change_of_basis)
        if id1 == 1:
            return list(r2.irreps), Q
        H2 = H.G2  # type: ignore[attr-defined]
        return [H.irrep((j,), H2.irreps[n].id, 0).name for n in r2.irreps], Q  # type: ignore[call-arg]


def _planar_ids(H: Group) -> tuple[Any, Any]:
    """``(trivial subgroup id, self id)`` of a factor ``H`` (escnn's ids)."""
    if isinstance(H, Group3D):
        return H.subgroup_trivial_id, H.subgroup_self_id
    flip = H.name.startswith("D") or H.name == "O(2)"
    n = -1 if H.continuous else (H.order() // 2 if flip else H.order())
    return ((None, 1), (0.0, n)) if flip else (1, n)


def _lookup(table: np.ndarray, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return table[idx]


def _evaluate_product(
    j: int, irr2: IrreducibleRepresentation, js: np.ndarray, values: list[Any]
) -> np.ndarray:
    sign = np.where((np.asarray(js) * j) % 2 == 1, -1.0, 1.0)
    return sign[:, None, None] * irr2.representation_matrices(values)


@functools.cache
def _direct_product(H: Group, name: str) -> DirectProductGroup:
    return DirectProductGroup(H, name)


def direct_product(H: Group, name: str | None = None) -> DirectProductGroup:
    """The product ``C2 × H`` (a cached singleton per ``(H, name)``; default name ``'C2 X <H>'``, escnn's).

    Raises:
        TypeError: ``H`` is not a group of :mod:`structconv.group`.

    Example:
        >>> from structconv.group import cyclic_group
        >>> direct_product(cyclic_group(4)).name
        'C2 X C4'
    """
    if not isinstance(H, Group):
        raise TypeError(f"H: expected a structconv.group.Group, got {type(H).__name__} {H!r}")
    return _direct_product(H, name or f"C2 X {H.name}")


def full_octa_group() -> DirectProductGroup:
    """``O_h = C2 × O``: the 48 symmetries of the cube (rotations and their products with the inversion).

    Example:
        >>> full_octa_group().order()
        48
    """
    from structconv.group.polyhedral import octa_group

    return _direct_product(octa_group(), "FullOctahedral")


def full_ico_group() -> DirectProductGroup:
    """``I_h = C2 × I``: the 120 symmetries of the icosahedron.

    Example:
        >>> full_ico_group().order()
        120
    """
    from structconv.group.polyhedral import ico_group

    return _direct_product(ico_group(), "FullIcosahedral")


def cylinder_group(maximum_frequency: int = 3) -> DirectProductGroup:
    """``C2 × SO(2)`` (``'Cylindrical'``): rotations about an axis and the inversion (band limit 3 as escnn).

    Example:
        >>> G = cylinder_group(2)
        >>> G.name, G.order(), len(G.irreps())
        ('Cylindrical', -1, 6)
    """
    from structconv.group.so2 import so2_group

    return _direct_product(so2_group(maximum_frequency), "Cylindrical")


def full_cylinder_group(maximum_frequency: int = 3) -> DirectProductGroup:
    """``C2 × O(2)`` (``'FullCylindrical'``): the symmetries of a cylinder (default band limit 3, escnn's)."""
    from structconv.group.o2 import o2_group

    return _direct_product(o2_group(maximum_frequency), "FullCylindrical")


def cylinder_discrete_group(n: int) -> DirectProductGroup:
    """``C2 × C_n`` (``'CylindricalDiscrete'``).

    Raises:
        ValueError: ``n`` is not a positive int.
    """
    return _direct_product(cyclic_group(n), "CylindricalDiscrete")


def full_cylinder_discrete_group(n: int) -> DirectProductGroup:
    """``C2 × D_n`` (``'FullCylindricalDiscrete'``).

    Raises:
        ValueError: ``n`` is not a positive int.
    """
    from structconv.group.dihedral import dihedral_group

    return _direct_product(dihedral_group(n), "FullCylindricalDiscrete")


def klein4_group() -> DirectProductGroup:
    """``C2 × C2`` (``'Klein4'``).

    Example:
        >>> klein4_group().order()
        4
    """
    return _direct_product(cyclic_group(2), "Klein4")
