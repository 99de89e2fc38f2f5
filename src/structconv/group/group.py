"""The abstract symmetry group of the plane and the maps between a group and its subgroups.

Every group in :mod:`structconv.group` is a subgroup of the orthogonal group O(2). Internally an
element is therefore also described by a pair ``(flip, angle)`` meaning "first reflect (if
``flip == 1``), then rotate by ``angle``"; users only ever see the plain forms of each group (an
``int`` for C_N, a ``(flip, k)`` pair for D_N, an angle for SO(2), a ``(flip, angle)`` pair for O(2)).
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from structconv.group.irreps import IrreducibleRepresentation
    from structconv.group.representation import Representation

__all__ = ["Group", "SubgroupParentMap", "SubgroupChildMap"]

TWO_PI = 2.0 * math.pi

#: Absolute tolerance used when deciding whether an angle belongs to a finite group.
ANGLE_ATOL = 1e-6

#: Default tolerance of :meth:`Group.equal` on angles (radians): ``2π · 1e-9``, the window within which the
#: reference library calls two angles equal.
ANGLE_EQUAL_ATOL = TWO_PI * 1e-9

#: How many groups of each family (C_N, D_N, SO(2), O(2)) the factories keep (least recently used first
#: out). A group still referenced elsewhere stays valid after it leaves the cache; asking the factory again
#: then builds a new, equal (``==``) instance.
GROUP_CACHE_SIZE = 128


def _is_int(x: Any) -> bool:
    """An integer scalar (python ``int``/``bool`` or numpy integer)."""
    return isinstance(x, numbers.Integral)


def _is_angle(x: Any) -> bool:
    """A finite float scalar (python ``float`` or numpy floating)."""
    return isinstance(x, (float, np.floating)) and math.isfinite(x)


def _wrap_angle(theta: float) -> float:
    """Return ``theta`` reduced to ``[0, 2π)``."""
    t = float(theta) % TWO_PI
    if t >= TWO_PI - 1e-15:
        t = 0.0
    return t


class _IrrepDict(dict):
    """``name -> irrep``; iterates over the irreps built with the group, but looks up any valid name.

    ``G.irreps["irrep_7"]`` therefore works for SO(2) / O(2) beyond the maximum frequency (as in the
    reference library), while ``list(G.irreps)`` stays the fixed, band-limited list. Calling it,
    ``G.irreps()``, returns that list of irreps (escnn's method).
    """

    def __call__(self) -> list[IrreducibleRepresentation]:
        return list(self.values())

    def __init__(self, group: Group) -> None:
        super().__init__()
        self._group = group

    def __missing__(self, name: str) -> IrreducibleRepresentation:
        try:
            return self._group._irrep_by_name(name)
        except ValueError as err:
            raise KeyError(name) from err

    def __reduce__(self) -> Any:  # pragma: no cover - groups pickle through their factory
        return dict, (dict(self),)


#: Finite groups up to this order list their regular representation in ``representations`` as soon as
#: the dict is read; larger ones build it when ``representations["regular"]`` is asked for.
_AUTO_REGULAR_MAX_ORDER = 128


class _RepresentationDict(dict):
    """``name -> representation`` of a group: its irreps, ``'regular'`` and the named constructions.

    Holds the irreps built with the group and, for a finite group, the regular representation (built
    on the first read, as in the reference library), then every quotient, induced and band-limited
    regular representation built so far. Direct sums and changes of basis are never registered, so
    their names may be reused freely.
    """

    def __init__(self, group: Group) -> None:
        super().__init__()
        self._group = group
        self._regular_done = False

    def _ensure_regular(self) -> None:
        if self._regular_done or self._group._building:
            return
        self._regular_done = True
        G = self._group
        if not G.continuous and G.order() <= _AUTO_REGULAR_MAX_ORDER:
            G.regular_representation  # noqa: B018 - registers itself under 'regular'

    def __missing__(self, name: str) -> Representation:
        if name == "regular" and not self._group.continuous and not dict.__contains__(self, name):
            return self._group.regular_representation
        raise KeyError(name)

    def __getitem__(self, name: str) -> Representation:
        self._ensure_regular()
        return super().__getitem__(name)

    def __setitem__(self, name: str, value: Representation) -> None:
        if name == "regular":  # registering the regular representation itself: nothing left to build
            self._regular_done = True
        else:
            self._ensure_regular()
        super().__setitem__(name, value)

    def __contains__(self, name: object) -> bool:
        self._ensure_regular()
        return super().__contains__(name)

    def __iter__(self) -> Any:
        self._ensure_regular()
        return super().__iter__()

    def __len__(self) -> int:
        self._ensure_regular()
        return super().__len__()

    def get(self, name: str, default: Any = None) -> Any:
        self._ensure_regular()
        return super().get(name, default)

    def keys(self) -> Any:
        self._ensure_regular()
        return super().keys()

    def values(self) -> Any:
        self._ensure_regular()
        return super().values()

    def items(self) -> Any:
        self._ensure_regular()
        return super().items()

    def __repr__(self) -> str:
        self._ensure_regular()
        return super().__repr__()

    def _peek(self, name: str) -> Representation | None:
        """The registered representation ``name`` without building anything (``None`` if absent)."""
        return dict.get(self, name)

    def __reduce__(self) -> Any:  # pragma: no cover - groups pickle through their factory
        return dict, (dict(self),)


class Group(ABC):
    """A compact group of the plane (a subgroup of O(2)): C_N, D_N, SO(2) or O(2).

    Groups are cached singletons built by the factories :func:`~structconv.group.cyclic_group`,
    :func:`~structconv.group.dihedral_group`, :func:`~structconv.group.so2_group` and
    :func:`~structconv.group.o2_group`. They are immutable values: hashable, comparable and
    picklable (a pickle round trip returns the same singleton).

    The group operation is written ``combine(a, b) = a·b`` and means "apply ``b`` first, then ``a``".

    Example:
        >>> from structconv.group import dihedral_group
        >>> G = dihedral_group(4)
        >>> G.combine((1, 1), (0, 1))
        (1, 0)
        >>> G.inverse((0, 1)), G.order()
        ((0, 3), 8)
    """

    #: Whether the group is continuous (SO(2), O(2)).
    continuous: bool = False

    def __init__(self, name: str, continuous: bool, abelian: bool) -> None:
        self._name = name
        self.continuous = bool(continuous)
        self._abelian = bool(abelian)
        self._irreps: dict[str, IrreducibleRepresentation] = _IrrepDict(self)
        self._irreps_by_id: dict[tuple[int, ...], IrreducibleRepresentation] = {}
        self._representations = _RepresentationDict(self)
        self._subgroups: dict[Any, tuple[Group, SubgroupParentMap, SubgroupChildMap]] = {}
        self._restrictions: dict[tuple[Any, str], Representation] = {}
        self._cache: dict[Any, Any] = {}
        self._building = True
        self._build_irreps()
        self._building = False

    # ------------------------------------------------------------------ identity of the object
    @property
    def name(self) -> str:
        """Short name of the group: ``"C8"``, ``"D4"``, ``"SO(2)"``, ``"O(2)"``."""
        return self._name

    @abstractmethod
    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        """The factory and the arguments that rebuild this singleton."""

    def __reduce__(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return self._factory_args()

    def __copy__(self) -> Group:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Group:
        return self

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Group):
            return NotImplemented
        return type(self) is type(other) and self._factory_args()[1] == other._factory_args()[1]

    def __hash__(self) -> int:
        # cached: a group is an immutable value, and its hash is taken for every representation lookup
        cached = self.__dict__.get("_hash_value")
        if cached is None:
            cached = hash((type(self).__name__, self._factory_args()[1]))
            self.__dict__["_hash_value"] = cached
        return cached

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name})"

    @property
    def representations(self) -> dict[str, Representation]:
        """The registered representations by name: the irreps, ``'regular'`` (finite groups) and every
        quotient, induced and band-limited regular representation built so far.

        Direct sums, changes of basis and restrictions are not registered (their names need not be
        unique).

        Example:
            >>> from structconv.group import cyclic_group
            >>> list(cyclic_group(4).representations)[:4]  # then any quotient/induced ones built so far
            ['irrep_0', 'irrep_1', 'irrep_2', 'regular']
        """
        return self._representations

    @property
    def abelian(self) -> bool:
        """Whether the group is flagged commutative: ``True`` for C_N and SO(2), ``False`` for D_N and O(2).

        As in the reference library the flag is per family, so D_1 and D_2 (which happen to be
        commutative) report ``False``.
        """
        return self._abelian

    @property
    def elements_names(self) -> list[str] | None:
        """Readable names of the elements, in the order of :attr:`elements` (``None`` if continuous)."""
        return None

    # ------------------------------------------------------------------ elements
    @abstractmethod
    def order(self) -> int:
        """Number of elements; ``-1`` for a continuous group."""

    @abstractmethod
    def _parse(self, element: Any) -> Any:
        """Normalise a plain element, raising ``ValueError`` when it is not an element."""

    @abstractmethod
    def _to_flip_angle(self, element: Any) -> tuple[int, float]:
        """``(flip, angle)`` of a normalised element."""

    @abstractmethod
    def _from_flip_angle(self, flip: int, angle: float) -> Any:
        """The element with this ``(flip, angle)``, or ``None`` if it is not in the group."""

    @abstractmethod
    def _combine(self, a: Any, b: Any) -> Any:
        """Product of two normalised elements."""

    @abstractmethod
    def _inverse(self, a: Any) -> Any:
        """Inverse of a normalised element."""

    @abstractmethod
    def _generators(self) -> list[Any]:
        """Elements used to identify representations numerically (generators, or generic samples)."""

    @property
    @abstractmethod
    def identity(self) -> Any:
        """The identity element in its plain form."""

    @property
    def elements(self) -> list[Any] | None:
        """All elements in their plain form (finite groups), ``None`` for a continuous group."""
        return None

    def combine(self, e1: Any, e2: Any) -> Any:
        """Return the product ``e1·e2`` (apply ``e2`` first, then ``e1``)."""
        return self._combine(self._parse(e1), self._parse(e2))

    def inverse(self, element: Any) -> Any:
        """Return the inverse of ``element``."""
        return self._inverse(self._parse(element))

    def equal(self, e1: Any, e2: Any, atol: float = ANGLE_EQUAL_ATOL) -> bool:
        """Whether two elements are the same group element.

        Finite groups compare the elements (rotation indices modulo ``N``); SO(2) and O(2) compare the
        flips exactly and the angles modulo 2π, symmetrically, within ``atol`` radians.

        Raises:
            ValueError: ``e1`` or ``e2`` is not an element (see :meth:`combine`).

        Example:
            >>> from structconv.group import so2_group
            >>> G = so2_group(3)
            >>> G.equal(0.0, 2 * np.pi), G.equal(1e-9, 0.0), G.equal(0.0, 1e-3)
            (True, True, False)
        """
        fa, ta = self._to_flip_angle(self._parse(e1))
        fb, tb = self._to_flip_angle(self._parse(e2))
        d = abs(ta - tb) % TWO_PI
        return fa == fb and min(d, TWO_PI - d) <= atol

    def is_element(self, element: Any) -> bool:
        """Whether ``element`` is an element of this group in its canonical plain form.

        As in the reference library: C_N, an int ``0 <= k < N``; D_N, a tuple ``(f, k)`` with ``f`` in
        ``{0, 1}`` and ``0 <= k < N``; SO(2), a float angle (any value: angles are taken modulo 2π);
        O(2), a tuple ``(f, angle)``. Numpy integer and floating scalars count as ints and floats; an
        angle must be finite. Never raises. (:meth:`combine`, :meth:`inverse` and the representations
        also accept rotation indices outside ``[0, N)``, taken modulo ``N``.)

        Example:
            >>> from structconv.group import cyclic_group, so2_group
            >>> cyclic_group(4).is_element(3), cyclic_group(4).is_element(4), so2_group(3).is_element(7.0)
            (True, False, True)
        """
        try:
            return bool(self._is_canonical(element))
        except Exception:  # noqa: BLE001 - a predicate: any odd input is simply not an element
            return False

    @abstractmethod
    def _is_canonical(self, element: Any) -> bool:
        """Whether ``element`` is in the canonical plain form (see :meth:`is_element`)."""

    @abstractmethod
    def testing_elements(self) -> list[Any]:
        """Elements to test properties on: all elements (finite groups) or a grid of angles (× flips)."""

    # ------------------------------------------------------------------ vectorised element arrays
    def _element_arrays(self, elements: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(flips, rotations)`` arrays: integer rotation indices (finite) or angles (continuous)."""
        flips = np.empty(len(elements), dtype=np.int64)
        rots = np.empty(len(elements), dtype=np.float64 if self.continuous else np.int64)
        for i, e in enumerate(elements):
            f, r = self._flip_rot(self._parse(e))
            flips[i] = f
            rots[i] = r
        return flips, rots

    def _element_from_flip_rot(self, flip: int, rot: float | int) -> Any:
        """The plain element with this ``(flip, rotation)`` (the inverse of :meth:`_flip_rot`)."""
        return self._from_flip_angle(int(flip), float(rot))

    def _flip_rot(self, element: Any) -> tuple[int, float | int]:
        """``(flip, rotation)`` with the rotation as an index (finite) or an angle (continuous)."""
        return self._to_flip_angle(element)

    def _index(self, element: Any) -> int:
        """Position of a normalised element in :attr:`elements` (finite groups)."""
        raise NotImplementedError(f"{self.name} is continuous: its elements are not indexed")

    # ------------------------------------------------------------------ irreps
    @abstractmethod
    def _build_irreps(self) -> None:
        """Create the irreps listed in :attr:`irreps`."""

    @abstractmethod
    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[int, ...]:
        """Validate an irrep id, raising ``ValueError`` naming what is accepted."""

    @abstractmethod
    def _new_irrep(self, id: tuple[int, ...]) -> IrreducibleRepresentation:
        """Construct the irrep with a validated id."""

    @property
    def irreps(self) -> dict[str, IrreducibleRepresentation]:
        """The irreducible representations by name (continuous groups: up to the maximum frequency).

        Iterating lists the irreps built with the group; looking up a name of a higher frequency of
        SO(2) / O(2) (``G.irreps["irrep_7"]``) builds it, without adding it to the listing.
        """
        return self._irreps

    def irrep(self, *id: int) -> IrreducibleRepresentation:
        """The irrep with this id: ``irrep(k)`` for C_N / SO(2), ``irrep(j, k)`` for D_N / O(2)."""
        key = self._check_irrep_id(tuple(id))
        irr = self._irreps_by_id.get(key)
        if irr is None:
            irr = self._new_irrep(key)
            self._irreps_by_id[key] = irr
            if self._building:  # `irreps` stays the fixed list built with the group
                self._irreps[irr.name] = irr
                self._representations[irr.name] = irr
        return irr

    def _irrep_by_name(self, name: str) -> IrreducibleRepresentation:
        if isinstance(name, tuple):  # an escnn-style irrep id, e.g. (1,) for SO(3)'s irrep_1
            try:
                irr = self.irrep(*name)
            except (ValueError, TypeError):
                irr = None
            if irr is not None and irr.id == name:
                return irr
            raise ValueError(
                f"irreps: {name!r} is not the id of an irrep of {self.name}; expected a name in "
                f"{list(self._irreps)} or the id of one of them (irrep.id)"
            )
        irr = dict.get(self._irreps, name)
        if irr is not None:
            return irr
        if isinstance(name, str) and name.startswith("irrep_"):
            try:
                id = tuple(int(p) for p in name[len("irrep_") :].split(","))
            except ValueError:
                id = ()
            if id:
                try:
                    irr = Group.irrep(self, *id)
                except ValueError:
                    irr = None
                if irr is not None and irr.name == name:
                    return irr
        raise ValueError(
            f"irreps: {name!r} is not an irrep of {self.name}; expected one of {list(self._irreps)}"
        )

    def _candidate_irreps(self, max_frequency: int) -> list[IrreducibleRepresentation]:
        """Irreps that may appear in a decomposition (continuous groups: frequency ≤ ``max_frequency``)."""
        return list(self._irreps.values())

    @property
    def trivial_representation(self) -> IrreducibleRepresentation:
        """The trivial representation (``irrep_0`` or ``irrep_0,0``)."""
        return next(iter(self._irreps.values()))

    # ------------------------------------------------------------------ representations
    @property
    def regular_representation(self) -> Representation:
        """The regular representation ``ρ(g) e_h = e_{gh}`` (finite groups only)."""
        from structconv.group.constructions import regular_representation

        return regular_representation(self)

    def quotient_representation(self, subgroup_id: Any) -> Representation:
        """The permutation representation on the cosets ``G/H`` of the subgroup ``subgroup_id``."""
        from structconv.group.constructions import quotient_representation

        return quotient_representation(self, subgroup_id)

    def induced_representation(self, subgroup_id: Any, repr: Representation) -> Representation:
        """The representation induced from ``repr`` of the subgroup ``subgroup_id``."""
        from structconv.group.constructions import induced_representation

        return induced_representation(self, subgroup_id, repr)

    def restrict_representation(self, id: Any, repr: Representation) -> Representation:
        """Restrict ``repr`` to the subgroup ``id``, decomposed into the subgroup's irreps."""
        from structconv.group.constructions import restrict_representation

        return restrict_representation(self, id, repr)

    def grid(self, *args: Any, **kwargs: Any) -> list[Any]:
        """A collection of elements (escnn's ``G.grid(...)``): the arguments depend on the group, see
        :func:`structconv.group.grids.grid` (e.g. ``so2_group().grid(8)``, ``so3_group().grid('cube')``,
        ``so3_group().grid('thomson', 20)``, ``so3_group().grid('rand', 10, seed=0)``).

        Raises:
            ValueError: an unknown grid type for this group or a bad count, naming the accepted values.
            TypeError: missing or unexpected arguments.

        Example:
            >>> from structconv.group import so2_group
            >>> so2_group().grid(4)[1]
            1.5707963267948966
        """
        from structconv.group.grids import grid

        return grid(self, *args, **kwargs)

    def bl_regular_representation(self, L: int) -> Representation:
        """Band-limited regular representation (SO(2)/O(2)): the irreps of frequency ≤ ``L``.

        See :func:`structconv.group.bl_regular_representation`.
        """
        from structconv.group.constructions import bl_regular_representation

        return bl_regular_representation(self, L)

    # ------------------------------------------------------------------ subgroups
    @abstractmethod
    def _subgroup(self, subgroup_id: Any) -> tuple[Any, Group, float]:
        """Validate ``subgroup_id``; return ``(normalised id, subgroup, axis shift angle)``."""

    def _normalize_subgroup_id(self, subgroup_id: Any) -> Any:
        return self._subgroup(subgroup_id)[0]

    def subgroup(self, id: Any) -> tuple[Group, SubgroupParentMap, SubgroupChildMap]:
        """The subgroup ``id`` and the maps between its elements and the parent's.

        Args:
            id: the subgroup, as documented by each group (e.g. ``M`` for C_M in C_N,
                ``(axis, M)`` for D_M in D_N, ``(None, -1)`` for SO(2) in O(2)).

        Returns:
            ``(H, parent_map, child_map)``: ``parent_map(h)`` is the element of this group that the
            subgroup element ``h`` is; ``child_map(g)`` is the subgroup element equal to ``g``, or
            ``None`` when ``g`` is not in the subgroup.
        """
        key, H, shift = self._subgroup(id)
        cached = self._subgroups.get(key)
        if cached is None:
            cached = (H, SubgroupParentMap(self, H, shift), SubgroupChildMap(self, H, shift))
            self._subgroups[key] = cached
        return cached


class _SubgroupMap:
    """Common part of the two picklable maps between a group and one of its subgroups."""

    def __init__(self, parent: Group, child: Group, shift: float) -> None:
        self.parent = parent
        self.child = child
        self.shift = float(shift)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), (self.parent, self.child, self.shift)

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return (self.parent, self.child, self.shift) == (other.parent, other.child, other.shift)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.parent, self.child, self.shift))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.parent.name} > {self.child.name}, shift={self.shift:.5f})"


class SubgroupParentMap(_SubgroupMap):
    """Maps an element of a subgroup to the same element of the parent group.

    The subgroup element ``(f, θ)`` is the parent element ``(f, θ + f·shift)``: a subgroup's
    reflections may be the parent's reflections rotated by ``shift``.

    Example:
        >>> from structconv.group import dihedral_group
        >>> H, parent_map, child_map = dihedral_group(8).subgroup((1, 4))
        >>> parent_map((1, 1)), child_map((1, 3)), child_map((1, 2))
        ((1, 3), (1, 1), None)
    """

    def __call__(self, element: Any) -> Any:
        f, theta = self.child._to_flip_angle(self.child._parse(element))
        out = self.parent._from_flip_angle(f, theta + f * self.shift)
        if out is None:  # pragma: no cover - the embedding is exact by construction
            raise ValueError(f"element: {element!r} of {self.child.name} has no image in {self.parent.name}")
        return out


class SubgroupChildMap(_SubgroupMap):
    """Maps an element of the parent group to the subgroup (``None`` when it is not in the subgroup).

    Example:
        >>> from structconv.group import cyclic_group
        >>> H, parent_map, child_map = cyclic_group(8).subgroup(4)
        >>> child_map(6), child_map(3)
        (3, None)
    """

    def __call__(self, element: Any) -> Any:
        f, theta = self.parent._to_flip_angle(self.parent._parse(element))
        return self.child._from_flip_angle(f, theta - f * self.shift)
