r"""What the groups of space share: elements, irreps, subgroup maps, restriction, tensor products.

**How elements are represented.** The planar groups use plain values as elements (an ``int`` for C_N, an
angle for SO(2), e2cnn-style) because every one of them is a pair ``(flip, angle)``. A rotation of space
has no such canonical plain form: it may be given as a quaternion, a matrix, a rotation vector or Euler
angles, and escnn code passes :class:`GroupElement` objects around (``G.element(v, 'MAT')``, ``g @ h``,
``~g``, ``g.to('EV')``). The groups of space therefore use :class:`GroupElement` objects, while their
planar subgroups stay the planar groups of :mod:`structconv.group` with their plain elements:

* ``G.element(value, param)`` validates a value in any parametrization and returns a :class:`GroupElement`
  stored in the group's own parametrization ``G.PARAM`` (``'Q'``: unit quaternion ``(x, y, z, w)``);
* every method of a group of space (``combine``, ``inverse``, ``equal``, representations ``rho(g)``)
  accepts a :class:`GroupElement` of that group or a plain value in ``G.PARAM`` (read as
  ``G.element(value)``), and returns :class:`GroupElement` objects;
* subgroup maps go between the two worlds: ``parent_map(h)`` takes the subgroup's element (a plain value
  for a planar subgroup such as SO(2) about the z axis) and returns the parent's :class:`GroupElement`;
  ``child_map(g)`` the other way (``None`` when ``g`` is not in the subgroup).

So escnn-style code runs unchanged on the groups of space and the planar API is untouched. A group of
space is a :class:`~structconv.group.Group`: its representations are ordinary
:class:`~structconv.group.Representation` objects (direct sums, changes of basis, pickling, field types).

Representations are evaluated through the package's vectorised protocol: ``G._element_arrays(elements)``
returns two arrays the irreps understand (for SO(3) / O(3): the inversion flags and the quaternions
``(E, 4)``; for finite groups: the element indices, their matrices being precomputed tables).

Deviation from escnn: ``Representation.irreps`` lists irrep *names* (``'irrep_1'``, as e2cnn and the planar
groups of this package), escnn lists ids (``(1,)``); ``G.irreps`` is a dict of the irreps by name that can
also be called, ``G.irreps()``, for escnn's list.
"""

from __future__ import annotations

import functools
import numbers
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.linalg

from structconv.group import _so3_maths as so3m
from structconv.group.constructions import decompose_matrices
from structconv.group.group import Group, _IrrepDict
from structconv.group.irreps import IrreducibleRepresentation
from structconv.group.representation import Representation

__all__ = [
    "GroupElement",
    "Group3D",
    "IrreducibleRepresentation3D",
    "SubgroupParentMap3D",
    "SubgroupChildMap3D",
    "tensor_product",
    "sort_blocks_by_id",
]

#: Tolerance on quaternion entries when deciding equality / membership of rotations.
QUAT_ATOL = 1e-9


class GroupElement:
    """An element of a group of space (escnn's ``GroupElement``): a value in the group's parametrization.

    Built by :meth:`Group3D.element`, never directly. Immutable, hashable (consistently with ``==`` for
    finite groups; for continuous groups the hash rounds the canonical value to 8 decimals, so two elements
    equal within the tolerance may in rare cases hash differently) and picklable.

    Example:
        >>> from structconv.group.so3 import so3_group
        >>> G = so3_group()
        >>> g = G.element([0.0, 0.0, np.pi / 2], "EV")  # 90° about z
        >>> g.param, g.value.round(6)
        ('Q', array([0.      , 0.      , 0.707107, 0.707107]))
        >>> (g @ g).to("MAT").round(12) + 0.0
        array([[-1.,  0.,  0.],
               [ 0., -1.,  0.],
               [ 0.,  0.,  1.]])
        >>> (g @ ~g) == G.identity
        True
    """

    __slots__ = ("_group", "_value", "_index")

    def __init__(self, group: Group3D, value: Any, index: int | None = None) -> None:
        self._group = group
        self._value = value
        self._index = index

    @property
    def group(self) -> Group3D:
        """The group the element belongs to."""
        return self._group

    @property
    def param(self) -> str:
        """The parametrization of :attr:`value` (the group's ``PARAM``)."""
        return self._group.PARAM

    @property
    def value(self) -> Any:
        """The element in the group's parametrization (a read-only array, or a tuple of such values)."""
        return self._value

    def to(self, param: str) -> Any:
        """The element in parametrization ``param`` (see the group's ``PARAMETRIZATIONS``).

        Raises:
            ValueError: ``param`` is not a parametrization of the group.
        """
        return self._group._change_param(self._value, param)

    def __matmul__(self, other: Any) -> GroupElement:
        return self._group.combine(self, other)

    def __invert__(self) -> GroupElement:
        return self._group.inverse(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GroupElement):
            return NotImplemented
        return other._group == self._group and self._group.equal(self, other)

    def __hash__(self) -> int:
        return hash((self._group, self._group._hash_key(self)))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # the stored value as it is (already validated and normalised): rebuilding through
        # ``group.element`` would normalise it again and could move its last digit
        return _rebuild_element, (self._group, self._value, self._index)

    def __repr__(self) -> str:
        return f"{self._group.name}[{self._group._repr_value(self._value)}]"


def _rebuild_element(group: Group3D, value: Any, index: int | None = None) -> GroupElement:
    return GroupElement(group, value, index)


def _readonly(a: Any) -> np.ndarray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


class Group3D(Group):
    """Base class of the groups of space (subgroups of O(3)) and their products with the inversion.

    Subclasses define the elements (:meth:`_make_element`, :meth:`_combine`, :meth:`_inverse`, ...), the
    irreps, the subgroups (:meth:`_subgroup3d`, :meth:`_subgroup_parent`, :meth:`_subgroup_child`) and the
    restriction of their irreps (:meth:`_restrict_irrep`). See the module docstring for the element design.
    """

    #: The parametrization in which elements are stored.
    PARAM: str = "Q"
    #: Every parametrization accepted by :meth:`element` and :meth:`GroupElement.to`.
    PARAMETRIZATIONS: tuple[str, ...] = so3m.PARAMETRIZATIONS

    def __init__(self, name: str, continuous: bool, abelian: bool) -> None:
        super().__init__(name, continuous, abelian)

    # ------------------------------------------------------------------ elements
    def element(self, element: Any, param: str | None = None) -> GroupElement:
        """The element with value ``element`` in parametrization ``param`` (default ``PARAM``).

        Raises:
            ValueError: ``param`` is not one of :attr:`PARAMETRIZATIONS`, or ``element`` is not an element
                of the group in that parametrization.
        """
        if isinstance(element, GroupElement):
            if element.group == self and param in (None, self.PARAM):
                return element
            raise ValueError(
                f"element: {element!r} is an element of {element.group.name}; expected a value of "
                f"{self.name} in the parametrization {param or self.PARAM!r}"
            )
        return self._make_element(element, self.PARAM if param is None else param)

    @abstractmethod
    def _make_element(self, value: Any, param: str) -> GroupElement:
        """Validate ``value`` in ``param`` and build the element (``ValueError`` otherwise)."""

    @abstractmethod
    def _change_param(self, value: Any, param: str) -> Any:
        """``value`` (in ``PARAM``) converted to ``param``."""

    @abstractmethod
    def _hash_key(self, element: GroupElement) -> Any:
        """A hashable key, equal for equal elements."""

    def _repr_value(self, value: Any) -> str:
        return np.array2string(np.asarray(value), precision=4, suppress_small=True, separator=", ")

    def _parse(self, element: Any) -> GroupElement:
        if isinstance(element, GroupElement):
            if element.group is not self and element.group != self:
                raise ValueError(
                    f"element: {element!r} is an element of {element.group.name}, not of {self.name}; map it "
                    "with a subgroup's parent_map / child_map first"
                )
            return element
        return self.element(element)

    def _is_canonical(self, element: Any) -> bool:
        return isinstance(element, GroupElement) and element.group == self

    def is_element(self, element: Any) -> bool:
        """Whether ``element`` is a :class:`GroupElement` of this group, or a valid value in ``PARAM``.

        Never raises.
        """
        try:
            self._parse(element)
        except Exception:  # noqa: BLE001 - a predicate
            return False
        return True

    @abstractmethod
    def _equal(self, a: GroupElement, b: GroupElement, atol: float) -> bool:
        """Whether two parsed elements are equal."""

    def equal(self, e1: Any, e2: Any, atol: float = QUAT_ATOL) -> bool:
        """Whether two elements are the same (rotations compared on their quaternions ``±q`` within ``atol``).

        Raises:
            ValueError: ``e1`` or ``e2`` is not an element of the group.
        """
        return self._equal(self._parse(e1), self._parse(e2), float(atol))

    def _to_flip_angle(self, element: Any) -> tuple[int, float]:
        raise NotImplementedError(
            f"{self.name} is a group of space: its elements are not (flip, angle) pairs"
        )

    def _from_flip_angle(self, flip: int, angle: float) -> Any:
        raise NotImplementedError(
            f"{self.name} is a group of space: its elements are not (flip, angle) pairs"
        )

    def _element_from_flip_rot(self, flip: int, rot: float | int) -> Any:
        raise NotImplementedError(
            f"{self.name} is a group of space: its elements are not (flip, angle) pairs"
        )

    @abstractmethod
    def _element_arrays(self, elements: Sequence[Any]) -> tuple[Any, Any]:
        """The two arrays the irreps evaluate on (see the module docstring)."""

    @property
    def generators(self) -> list[GroupElement]:
        """A generating set (finite groups).

        Raises:
            ValueError: the group is continuous (as escnn: its generators would be infinitesimal).
        """
        if self.continuous:
            raise ValueError(
                f"{self.name} is a continuous group: its generators are infinitesimal (not supported)"
            )
        return list(self._generators())

    def sample(self, seed: int | np.random.Generator | None = None) -> GroupElement:
        """A random element (uniform: Haar measure), from ``seed`` (an int or a numpy ``Generator``)."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return self._sample(rng)

    @abstractmethod
    def _sample(self, rng: np.random.Generator) -> GroupElement:
        """One uniformly random element."""

    # ------------------------------------------------------------------ irreps
    def _build_irreps(self) -> None:
        self._irreps = _IrrepDict(self)
        self._build_irreps3d()

    @abstractmethod
    def _build_irreps3d(self) -> None:
        """Create the irreps listed in :attr:`irreps` (through :meth:`irrep`)."""

    def _candidate_irreps(self, max_frequency: int) -> list[IrreducibleRepresentation]:
        return list(self.irreps.values())

    def bl_irreps(self, L: int) -> list[tuple[Any, ...]]:
        """The ids of the irreps of frequency at most ``L`` (finite groups: all irreps).

        Raises:
            ValueError: ``L`` is not a non-negative int.
        """
        _check_band_limit(L)
        return [irr.id for irr in self.irreps.values()]

    # ------------------------------------------------------------------ subgroups
    #: escnn's ids of the trivial subgroup and of the group itself (set by each group).
    _TRIVIAL_ID: Any = None
    _SELF_ID: Any = None

    @property
    def subgroup_trivial_id(self) -> Any:
        """The id of the trivial subgroup (escnn's)."""
        return self._TRIVIAL_ID

    @property
    def subgroup_self_id(self) -> Any:
        """The id of the group itself as a subgroup (escnn's)."""
        return self._SELF_ID

    @abstractmethod
    def _subgroup3d(self, subgroup_id: Any) -> tuple[Any, Group]:
        """Validate ``subgroup_id``; return ``(normalised hashable key, subgroup)``."""

    @abstractmethod
    def _subgroup_parent(self, key: Any, h: Any) -> GroupElement:
        """The element of this group that the subgroup element ``h`` is."""

    @abstractmethod
    def _subgroup_child(self, key: Any, g: GroupElement) -> Any:
        """The subgroup element equal to ``g``, or ``None``."""

    def _subgroup(self, subgroup_id: Any) -> tuple[Any, Group, float]:
        key, H = self._subgroup3d(subgroup_id)
        return key, H, 0.0

    def subgroup(self, id: Any) -> tuple[Group, SubgroupParentMap3D, SubgroupChildMap3D]:  # type: ignore[override]
        """The subgroup ``id`` and the maps between its elements and this group's.

        Args:
            id: the subgroup, with escnn's ids (see the class docstring).

        Returns:
            ``(H, parent_map, child_map)``: ``parent_map(h)`` is the :class:`GroupElement` of this group that
            ``h`` is (``h``: a plain value for a planar ``H``); ``child_map(g)`` is the element of ``H`` equal
            to ``g``, or ``None``. Both maps are picklable.

        Raises:
            ValueError: ``id`` is not a subgroup id of this group.
            NotImplementedError: a subgroup escnn names but does not implement either (tetrahedral).
        """
        key, H = self._subgroup3d(id)
        cached = self._subgroups.get(key)
        if cached is None:
            cached = (H, SubgroupParentMap3D(self, key), SubgroupChildMap3D(self, key))
            self._subgroups[key] = cached
        return cached  # type: ignore[return-value]

    # ------------------------------------------------------------------ representations
    def restrict_representation(self, id: Any, repr: Representation) -> Representation:
        """Restrict ``repr`` to the subgroup ``id``, decomposed into the subgroup's irreps (cached).

        The result ``r`` satisfies ``r(h) == repr(parent_map(h))``; its change of basis is
        ``repr.change_of_basis @ ⊕_i Q_i`` where ``Q_i`` decomposes the restriction of the ``i``-th irrep
        (closed form for the subgroups about an axis, as escnn; numerical for the others). Its name is
        ``'<group>:<repr>'`` as escnn.

        Raises:
            ValueError: ``repr`` is not a representation of this group, or ``id`` is not a subgroup id.
        """
        if not isinstance(repr, Representation) or repr.group != self:
            raise ValueError(f"repr: expected a representation of {self.name}, got {repr!r}")
        key, H = self._subgroup3d(id)
        cached = self._restrictions.get((key, repr))
        if cached is not None:
            return cached
        names: list[str] = []
        Qs: list[np.ndarray] = []
        for n in repr.irreps:
            irr = self.irreps[n]
            dec = self._restrictions.get(("irrep", key, n))
            if dec is None:
                dec = self._restrict_irrep(key, irr)
                self._restrictions[("irrep", key, n)] = dec  # type: ignore[assignment]
            names.extend(dec[0])
            Qs.append(dec[1])
        Qr = scipy.linalg.block_diag(*Qs)
        Q = repr.change_of_basis @ Qr
        Qinv = Qr.T @ repr.change_of_basis_inv
        supported = set(repr.supported_nonlinearities) - {"vectorfield"}
        out = Representation(H, f"{self.name}:{repr.name}", names, Q, supported, change_of_basis_inv=Qinv)
        self._restrictions[(key, repr)] = out
        return out

    @abstractmethod
    def _restrict_irrep(self, key: Any, irr: IrreducibleRepresentation) -> tuple[list[str], np.ndarray]:
        """``(names, Q)``: the restriction of ``irr`` to the subgroup ``key`` is ``Q (⊕ names) Q^T``."""

    def _restrict_numerically(self, key: Any, irr: IrreducibleRepresentation) -> tuple[list[str], np.ndarray]:
        """Decompose the restriction of ``irr`` to a finite subgroup by group averaging.

        The blocks are sorted by the ids of the subgroup's irreps (escnn's order for its numerical
        restrictions); when the restricted matrices already are one irrep of the subgroup, the change of basis
        is the identity.
        """
        H, pmap, _ = self.subgroup(key)
        elements = list(H.elements)  # type: ignore[arg-type]
        parents = self._cache.get(("parents", key))
        if parents is None:
            parents = self._cache[("parents", key)] = [pmap(h) for h in elements]
        mats = irr.representation_matrices(parents)
        cands = [(c, c.representation_matrices(elements)) for c in H.irreps.values()]
        exact = _exact_blocks(mats, cands)
        if exact is not None and len(exact) == 1:
            return exact, np.eye(irr.size)
        names, Q = decompose_matrices(mats, cands, complete=True)
        return sort_blocks_by_id(H, names, _tidy_signs(Q))

    def quotient_representation(self, subgroup_id: Any) -> Representation:
        """The permutation representation on the cosets ``G/H`` (finite groups; for SO(3) and O(3) use
        ``bl_quotient_representation``).

        Raises:
            ValueError: the group is continuous.
        """
        if self.continuous:
            raise ValueError(
                f"quotient_representation is only defined for finite groups, not {self.name}; expected "
                "bl_quotient_representation(L, subgroup_id)"
            )
        return super().quotient_representation(subgroup_id)

    def induced_representation(self, subgroup_id: Any, repr: Representation) -> Representation:
        """The representation induced from ``repr`` of the subgroup (finite groups only).

        Raises:
            ValueError: the group is continuous.
        """
        if self.continuous:
            raise ValueError(f"induced_representation is only defined for finite groups, not {self.name}")
        return super().induced_representation(subgroup_id, repr)

    def bl_regular_representation(self, L: int) -> Representation:
        """The band-limited regular representation: finite groups return the regular representation."""
        _check_band_limit(L)
        if not self.continuous:
            return self.regular_representation
        raise NotImplementedError(f"bl_regular_representation is not available for {self.name}")

    # ------------------------------------------------------------------ tensor products
    def _clebsh_gordan_coeff(self, m: Any, n: Any, j: Any) -> np.ndarray:
        """Clebsch-Gordan coefficients ``C`` ``(dim m, dim n, multiplicity, dim j)`` of the irreps with ids
        ``m``, ``n``, ``j`` (escnn's name and shape): ``(ψ_m ⊗ ψ_n)(g) C[..., i, :] = C[..., i, :] ψ_j(g)``,
        the ``multiplicity`` copies orthonormal. Zero multiplicity: shape ``(dim m, dim n, 0, dim j)``.

        Raises:
            ValueError: an id is not an irrep of the group.
        """
        m, n, j = (self.irrep(*_as_id(x)) for x in (m, n, j))
        return self._cg(m, n, j)

    def _cg(
        self, m: IrreducibleRepresentation, n: IrreducibleRepresentation, j: IrreducibleRepresentation
    ) -> np.ndarray:
        """Numerical Clebsch-Gordan coefficients (group averaging / null space); groups override it."""
        key = ("cg", m.name, n.name)
        dec = self._cache.get(key)
        if dec is None:
            samples = list(self.elements) if not self.continuous else self._generators()  # type: ignore[arg-type]
            A, B = m.representation_matrices(samples), n.representation_matrices(samples)
            kron = np.einsum("sij,sab->siajb", A, B).reshape(len(samples), m.size * n.size, m.size * n.size)
            freq = self._irrep_frequency(m) + self._irrep_frequency(n)
            cands = [(c, c.representation_matrices(samples)) for c in self._candidate_irreps(freq)]
            names, Q = decompose_matrices(kron, cands, complete=not self.continuous)
            dec = (names, Q)
            self._cache[key] = dec
        names, Q = dec
        cols = []
        p = 0
        for name in names:
            d = self.irreps[name].size
            if name == j.name:
                cols.append(Q[:, p : p + d])
            p += d
        out = np.stack(cols, axis=1) if cols else np.zeros((m.size * n.size, 0, j.size))
        return out.reshape(m.size, n.size, len(cols), j.size)

    def _tensor_product_irreps(self, J: Any, l: Any) -> list[tuple[tuple[Any, ...], int]]:
        """The irreps in ``ψ_J ⊗ ψ_l`` with their multiplicities ``[(id, multiplicity), ...]`` (escnn's name).

        Raises:
            ValueError: an id is not an irrep of the group.
        """
        a, b = self.irrep(*_as_id(J)), self.irrep(*_as_id(l))
        out = []
        for c in self._tensor_candidates(a, b):
            mult = self._cg(a, b, c).shape[2]
            if mult:
                out.append((c.id, mult))
        return out

    def _tensor_candidates(
        self, a: IrreducibleRepresentation, b: IrreducibleRepresentation
    ) -> list[IrreducibleRepresentation]:
        return self._candidate_irreps(self._irrep_frequency(a) + self._irrep_frequency(b))

    def _irrep_frequency(self, irr: IrreducibleRepresentation) -> int:
        """The band limit an irrep counts for (its ``frequency`` attribute; 0 without one)."""
        f = irr.attributes.get("frequency", 0)
        return int(f) if isinstance(f, (int, np.integer)) else 0


def sort_blocks_by_id(H: Group, names: list[str], Q: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Reorder the blocks of a decomposition ``(names, Q)`` by the ids of ``H``'s irreps (a stable sort:
    copies of one irrep keep their order), permuting the columns of ``Q`` with them (escnn's order)."""
    sizes = [H.irreps[n].size for n in names]
    starts = np.cumsum([0] + sizes[:-1])
    order = sorted(range(len(names)), key=lambda i: H.irreps[names[i]].id)
    if not names:
        return [], Q
    cols = np.concatenate([np.arange(starts[i], starts[i] + sizes[i]) for i in order])
    return [names[i] for i in order], Q[:, cols]


def _as_id(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _check_band_limit(L: Any) -> int:
    if isinstance(L, bool) or not isinstance(L, numbers.Integral) or int(L) < 0:
        raise ValueError(f"L: expected a non-negative int band limit, got {L!r}")
    return int(L)


def _exact_blocks(mats: np.ndarray, cands: list[tuple[Any, np.ndarray]]) -> list[str] | None:
    """The irreps whose matrices sit exactly on the block diagonal of ``mats`` (``None`` if they do not)."""
    n = mats.shape[1]
    names: list[str] = []
    p = 0
    while p < n:
        for c, cm in cands:
            d = c.size
            if p + d > n:
                continue
            block = mats[:, p : p + d, p : p + d]
            if not np.allclose(block, cm, atol=1e-12):
                continue
            off = (
                np.abs(mats[:, p : p + d, :]).sum()
                + np.abs(mats[:, :, p : p + d]).sum()
                - 2 * np.abs(block).sum()
            )
            if off < 1e-10:
                names.append(c.name)
                p += d
                break
        else:
            return None
    return names


def _tidy_signs(Q: np.ndarray) -> np.ndarray:
    """Snap entries within 1e-13 of 0 to 0 (numerical changes of basis)."""
    Q = np.array(Q, copy=True)
    Q[np.abs(Q) < 1e-13] = 0.0
    return Q


class IrreducibleRepresentation3D(IrreducibleRepresentation):
    """An irrep of a group of space, built by its group (:meth:`Group3D.irrep`), never directly.

    ``evaluate(a, b)`` computes the matrices ``(E, size, size)`` from the group's element arrays (see the
    module docstring). It pickles as ``group.irrep(*id)``.
    """

    def __init__(
        self,
        group: Group3D,
        id: tuple[Any, ...],
        name: str,
        size: int,
        evaluate: Callable[[Any, Any], np.ndarray],
        supported_nonlinearities: set[str],
        attributes: dict[str, Any] | None = None,
        sum_of_squares_constituents: int = 1,
        trivial: bool = False,
    ) -> None:
        self._user = None
        self._id = id
        self._isize = int(size)
        self._sos = int(sum_of_squares_constituents)
        self._attributes = dict(attributes or {})
        self._evaluate = evaluate
        self._trivial = bool(trivial)
        self._j, self._k, self._has_flip, self._n_rot = 0, 0, False, -1  # planar fields, unused
        Representation.__init__(self, group, name, [name], np.eye(self._isize), supported_nonlinearities)

    @property
    def size(self) -> int:
        """Dimension."""
        return self._isize

    @property
    def id(self) -> tuple[Any, ...]:  # type: ignore[override]
        """The irrep's id, as escnn: ``(l,)`` for SO(3), ``(j, l)`` for O(3), ``(k,)`` for the polyhedral
        groups, ``(id1, id2, i)`` for a direct product."""
        return self._id

    @property
    def attributes(self) -> dict[str, Any]:
        """escnn's attributes (SO(3): ``frequency``; O(3): ``frequency`` and ``inv_frequency``; ...)."""
        return dict(self._attributes)

    def is_trivial(self) -> bool:
        """Whether this is the trivial irrep."""
        return self._trivial

    def _evaluate_arrays(self, a: Any, b: Any) -> np.ndarray:
        return self._evaluate(a, b)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuild_irrep3d, (self._group, self._id)


def _rebuild_irrep3d(group: Group3D, id: tuple[Any, ...]) -> IrreducibleRepresentation:
    return group.irrep(*id)


class _SubgroupMap3D:
    """Common part of the picklable maps between a group of space and one of its subgroups."""

    def __init__(self, parent: Group3D, key: Any) -> None:
        self.parent = parent
        self.key = key

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), (self.parent, self.key)

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return (self.parent, self.key) == (other.parent, other.key)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.parent, self.key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.parent.name}, {self.key!r})"


class SubgroupParentMap3D(_SubgroupMap3D):
    """Maps an element of a subgroup to the same element of the parent group of space.

    Example:
        >>> from structconv.group.so3 import so3_group
        >>> H, parent_map, child_map = so3_group().subgroup((False, 4))  # C4 about the z axis
        >>> parent_map(1).to("MAT").round(12) + 0.0
        array([[ 0., -1.,  0.],
               [ 1.,  0.,  0.],
               [ 0.,  0.,  1.]])
        >>> child_map(parent_map(3))
        3
    """

    def __call__(self, element: Any) -> GroupElement:
        return self.parent._subgroup_parent(self.key, element)


class SubgroupChildMap3D(_SubgroupMap3D):
    """Maps an element of the parent group of space to the subgroup (``None`` when it is not in it)."""

    def __call__(self, element: Any) -> Any:
        return self.parent._subgroup_child(self.key, self.parent._parse(element))


def tensor_product(rho1: Representation, rho2: Representation, name: str | None = None) -> Representation:
    r"""The tensor product :math:`\rho_1 \otimes \rho_2` decomposed into irreps (groups of space).

    .. math:: (\rho_1 \otimes \rho_2)(g) = \rho_1(g) \otimes \rho_2(g) = Q \Big(\bigoplus_i \psi_i(g)\Big) Q^T

    (``np.kron`` order of the basis). The irreps of each pair of constituents come in the order of
    :meth:`Group3D._tensor_product_irreps`, the change of basis from the Clebsch-Gordan coefficients.

    Args:
        rho1: a representation of a group of space.
        rho2: a representation of the same group.
        name: the name; default ``'<rho1> X <rho2>'`` (escnn's).

    Raises:
        ValueError: the representations are of different groups, or not of a group of space.

    Example:
        >>> from structconv.group.so3 import so3_group
        >>> G = so3_group(2)
        >>> t = tensor_product(G.irrep(1), G.irrep(1))
        >>> t.name, t.irreps
        ('irrep_1 X irrep_1', ['irrep_0', 'irrep_1', 'irrep_2'])
        >>> g = G.sample(0)
        >>> bool(np.allclose(t(g), np.kron(G.irrep(1)(g), G.irrep(1)(g))))
        True
    """
    for arg, r in (("rho1", rho1), ("rho2", rho2)):
        if not isinstance(r, Representation) or not isinstance(r.group, Group3D):
            raise ValueError(f"{arg}: expected a representation of a group of space, got {r!r}")
    G = rho1.group
    if rho2.group != G:
        raise ValueError(f"rho2: expected a representation of {G.name}, got one of {rho2.group.name}")
    n1, n2 = rho1.size, rho2.size
    irr1 = [G.irreps[n] for n in rho1.irreps]
    irr2 = [G.irreps[n] for n in rho2.irreps]
    off1 = np.cumsum([0] + [a.size for a in irr1])
    off2 = np.cumsum([0] + [b.size for b in irr2])
    B = np.zeros((n1 * n2, n1 * n2))
    names: list[str] = []
    col = 0
    for i, a in enumerate(irr1):
        for k, b in enumerate(irr2):
            rows = (
                (off1[i] + np.arange(a.size))[:, None] * n2 + (off2[k] + np.arange(b.size))[None, :]
            ).reshape(-1)
            for cid, _ in G._tensor_product_irreps(a.id, b.id):
                c = G.irrep(*cid)
                C = G._cg(a, b, c)
                for t in range(C.shape[2]):
                    B[rows, col : col + c.size] = C[:, :, t, :].reshape(a.size * b.size, c.size)
                    names.append(c.name)
                    col += c.size
    Q = np.kron(rho1.change_of_basis, rho2.change_of_basis) @ B
    Qinv = B.T @ np.kron(rho1.change_of_basis_inv, rho2.change_of_basis_inv)
    supported = {"norm", "gated"} & set(rho1.supported_nonlinearities) & set(rho2.supported_nonlinearities)
    return Representation(
        G, name or f"{rho1.name} X {rho2.name}", names, Q, supported, change_of_basis_inv=Qinv
    )


@functools.cache
def _axis_quat(axis: str, angle: float) -> np.ndarray:
    """The quaternion of the rotation by ``angle`` about the coordinate axis ``'x'``, ``'y'`` or ``'z'``."""
    return _readonly(so3m.quat_from_axis_angle({"x": [1, 0, 0], "y": [0, 1, 0], "z": [0, 0, 1]}[axis], angle))
