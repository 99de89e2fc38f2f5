"""Real irreducible representations of C_N, D_N, SO(2) and O(2)."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from structconv._threads import one_blas_thread_for
from structconv.group._linalg import canonical_range
from structconv.group.group import TWO_PI, Group
from structconv.group.representation import Representation

__all__ = ["IrreducibleRepresentation", "PlanarIrrepData"]


class PlanarIrrepData(NamedTuple):
    r"""An irrep of a subgroup of O(2) described by its frequencies: what the steerable kernel bases of
    :mod:`structconv.kernels` need to know about it (:attr:`IrreducibleRepresentation.planar_data`).

    With the group's elements written ``(f, θ)`` ("reflect if ``f == 1``, then rotate by ``θ``"), the
    irrep is ``ρ(f, θ) = R(kθ) S^f`` when it is 2-dimensional, and ``(-1)^{j f} \cos(kθ)`` (``k = 0``, or
    ``k = N/2`` on rotations by multiples of ``2π/N``) when it is 1-dimensional.

    Attributes:
        rotations: ``N``, the group's rotations are the multiples of ``2π/N``; ``None`` when it has every
            rotation (SO(2), O(2)).
        reflections: whether the group contains the reflection ``(1, 0)`` (D_N, O(2), the flip group).
        flip_frequency: ``j``, the sign ``(-1)^j`` of a 1-dimensional irrep on that reflection; ``1`` for the
            2-dimensional irreps of a group with reflections; ``0`` without reflections.
        frequency: ``k``, the rotation frequency.

    Example:
        >>> from structconv.group import dihedral_group, flip_group
        >>> dihedral_group(4).irrep(1, 1).planar_data
        PlanarIrrepData(rotations=4, reflections=True, flip_frequency=1, frequency=1)
        >>> flip_group().irrep(1).planar_data  # the flip group's irreps are D_1's
        PlanarIrrepData(rotations=1, reflections=True, flip_frequency=1, frequency=0)
    """

    rotations: int | None
    reflections: bool
    flip_frequency: int
    frequency: int


class IrreducibleRepresentation(Representation):
    r"""A real irreducible representation of a planar group (its change of basis is the identity).

    The irreps of a group are built by the group (:meth:`Group.irrep`, :attr:`Group.irreps`) in closed
    form. With :math:`R(\varphi)` the rotation matrix by :math:`\varphi` and :math:`S = \mathrm{diag}(1, -1)`:

    * C_N / SO(2), ``irrep_k``: ``[1]`` for ``k = 0``; :math:`R(k\theta)` for ``0 < k < N/2`` (any
      ``k ≥ 1`` for SO(2)); :math:`[(-1)^r]` for ``k = N/2`` (``N`` even, element ``r``).
    * D_N / O(2), ``irrep_j,k`` at ``(f, θ)``: ``(0,0)`` → 1; ``(1,0)`` → :math:`(-1)^f`;
      ``(1,k)``, ``k ≥ 1`` → :math:`R(k\theta) S^f`; ``N`` even: ``(0,N/2)`` → :math:`(-1)^r`,
      ``(1,N/2)`` → :math:`(-1)^{r+f}`.

    :attr:`planar_data` reports these frequencies (and the group's rotations and reflections) to the
    steerable kernel bases of :mod:`structconv.kernels`, which take every irrep fact (frequencies,
    :attr:`size`, matrices) from the group's irreps: a new subgroup of O(2) whose irreps are built here
    (``_closed_form``) gets its kernel bases without any change to :mod:`structconv.kernels`.

    The constructor takes the reference library's arguments and builds a user-defined irrep from its
    matrices: ``representation(g)`` (a dict or a callable of the group elements) is its matrix at ``g``.
    Such an irrep evaluates, restricts and reports its attributes like the group's own; it is not one of
    the group's irreps (:attr:`Group.irreps`), so, as in the reference library, it cannot be a summand of
    :func:`~structconv.group.directsum` or a field of a kernel basis.

    Args:
        group: the group.
        name: its name; not the name of a representation registered in ``group.representations``.
        representation: dict or callable ``element -> (size, size) matrix``.
        size: the dimension.
        sum_of_squares_constituents: the dimension of its commutant (1 for real type, 2 for complex type,
            4 for quaternionic type).
        supported_nonlinearities: the non-linearities fields of this irrep allow.
        character: optional dict or callable ``element -> trace`` (default: the trace of the matrix).
        **kwargs: extra attributes (e.g. ``frequency``), kept in :attr:`attributes`.

    Raises:
        TypeError: ``group`` is not a group, or ``representation`` / ``character`` is neither a dict nor
            a callable.
        ValueError: ``name`` is empty or already registered, ``size`` or ``sum_of_squares_constituents``
            is not a positive int, or the matrix at the identity is not ``size x size``.

    Example:
        >>> from structconv.group import cyclic_group, dihedral_group
        >>> psi = dihedral_group(4).irrep(1, 1)
        >>> psi.name, psi.id, psi.size, psi.attributes
        ('irrep_1,1', (1, 1), 2, {'frequency': 1, 'flip_frequency': 1})
        >>> psi((1, 1))
        array([[ 0.,  1.],
               [ 1.,  0.]])
        >>> G = cyclic_group(6)
        >>> sign = IrreducibleRepresentation(G, "sign", lambda k: np.array([[(-1.0) ** k]]), 1, 1,
        ...                                  ["norm"], frequency=3)
        >>> sign(3), sign.attributes, sign.character(2)
        (array([[-1.]]), {'frequency': 3}, 1.0)
    """

    def __init__(
        self,
        group: Group,
        name: str,
        representation: dict[Any, np.ndarray] | Callable[[Any], np.ndarray],
        size: int,
        sum_of_squares_constituents: int,
        supported_nonlinearities: Iterable[str],
        character: dict[Any, float] | Callable[[Any], float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(group, Group):
            raise TypeError(f"group: expected a structconv.group.Group, got {type(group).__name__} {group!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a non-empty string, got {name!r}")
        if name in group.representations:
            raise ValueError(
                f"name: {name!r} is already a representation of {group.name} (registered in "
                "group.representations); expected a new name"
            )
        for arg, given in (("representation", representation), ("character", character)):
            if given is not None and not isinstance(given, dict) and not callable(given):
                raise TypeError(f"{arg}: expected a dict or a callable of the group elements, got {given!r}")
        if representation is None:
            raise TypeError("representation: expected a dict or a callable of the group elements, got None")
        for arg, value in (("size", size), ("sum_of_squares_constituents", sum_of_squares_constituents)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
                raise ValueError(f"{arg}: expected a positive int, got {value!r}")
        self._user = (representation, character)
        self._id = None
        self._n_rot = -1 if group.continuous else group.order()
        self._has_flip = False
        self._j = self._k = -1
        self._attributes = dict(kwargs)
        self._sos = int(sum_of_squares_constituents)
        self._isize = int(size)
        super().__init__(group, name, [name], np.eye(self._isize), supported_nonlinearities)
        self._extra_attributes = {}
        at_identity = np.asarray(self._lookup(representation, group.identity), dtype=np.float64)
        if at_identity.shape != (self._isize, self._isize):
            raise ValueError(
                f"representation: expected ({size}, {size}) matrices (size={size}), got shape "
                f"{at_identity.shape} at the identity"
            )

    @classmethod
    def _closed_form(
        cls, group: Group, id: tuple[int, ...], size: int, n_rotations: int
    ) -> IrreducibleRepresentation:
        """The group's own irrep with this id (used by the groups; see the formulas above)."""
        self = cls.__new__(cls)
        self._user = None
        self._id = tuple(int(i) for i in id)
        self._n_rot = int(n_rotations)  # N of C_N / D_N; -1 when continuous
        self._has_flip = len(self._id) == 2
        if self._has_flip:
            j, k = self._id
            attributes = {"frequency": k, "flip_frequency": j}
        else:
            j, k = 0, self._id[0]
            attributes = {"frequency": k}
        self._j, self._k = j, k
        self._attributes = attributes
        self._sos = 2 if (size == 2 and not self._has_flip) else 1
        trivial = j == 0 and k == 0
        if trivial:
            supported = {"pointwise", "norm", "gated", "gate", "concatenated"}
        elif size == 1:
            supported = {"norm", "gated", "concatenated"}
        else:
            supported = {"norm", "gated"}
        if self._n_rot < 0:  # as in the reference library, continuous groups list no 'concatenated'
            supported.discard("concatenated")
        self._isize = size
        self._planar_closed_form = True  # `planar_data` describes it
        name = "irrep_" + ",".join(str(i) for i in self._id)
        Representation.__init__(self, group, name, [name], np.eye(size), supported)
        return self

    @staticmethod
    def _lookup(table: Any, element: Any) -> Any:
        return table[element] if isinstance(table, dict) else table(element)

    def _resolve_irreps(self, irreps: Sequence[str]) -> list[IrreducibleRepresentation]:
        return [self]

    @property
    def size(self) -> int:
        """Dimension (1 or 2 for the group's own irreps)."""
        return self._isize

    @property
    def id(self) -> tuple[int, ...] | None:
        """``(k,)`` for C_N / SO(2), ``(j, k)`` for D_N / O(2); ``None`` for a user-defined irrep."""
        return self._id

    @property
    def attributes(self) -> dict[str, Any]:
        """``{"frequency": k}`` plus ``"flip_frequency": j`` for D_N / O(2); a user-defined irrep: the
        keyword arguments it was built with."""
        return dict(self._attributes)

    #: Whether the irrep is one of the closed forms above (set by ``_closed_form``).
    _planar_closed_form = False
    _planar: PlanarIrrepData | None = None

    @property
    def planar_data(self) -> PlanarIrrepData:
        """The irrep as an irrep of a subgroup of O(2): the group's rotations ``N`` and reflections and the
        irrep's flip and rotation frequencies ``j`` and ``k`` (see :class:`PlanarIrrepData`).

        Read from the closed form and the group's own description of its elements as ``(flip, angle)``
        pairs, so a group whose element is a reflection without an id ``(j, k)`` (the flip group: C2 whose
        element 1 is the reflection ``(1, 0)``) reports D_1's data, its frequency read from the irrep's
        sign on the reflection.

        Raises:
            ValueError: a user-defined irrep, or an irrep of a group that is not a subgroup of O(2).

        Example:
            >>> from structconv.group import cyclic_group, o2_group
            >>> cyclic_group(8).irrep(4).planar_data
            PlanarIrrepData(rotations=8, reflections=False, flip_frequency=0, frequency=4)
            >>> o2_group(3).irrep(1, 2).planar_data
            PlanarIrrepData(rotations=None, reflections=True, flip_frequency=1, frequency=2)
        """
        if self._planar is None:
            self._planar = self._compute_planar_data()
        return self._planar

    def _compute_planar_data(self) -> PlanarIrrepData:
        G = self._group
        if self._user is not None or not self._planar_closed_form:
            raise ValueError(
                f"{self.name} of {G.name}: only the irreps a planar group (C_N, D_N, SO(2), O(2), the flip "
                "group) builds itself have planar data; a user-defined irrep or an irrep of another group "
                "has none"
            )
        reflection = G._from_flip_angle(1, 0.0)
        reflections = reflection is not None
        rotations = None if G.continuous else (G.order() // 2 if reflections else G.order())
        if self._has_flip or not reflections:
            return PlanarIrrepData(rotations, reflections, self._j, self._k)
        if rotations != 1 or self._isize != 1:
            raise ValueError(
                f"{self.name} of {G.name}: the group has reflections but its irrep ids have no flip "
                "frequency; only the flip group (one reflection) is described that way"
            )
        sign = float(self(reflection)[0, 0])
        return PlanarIrrepData(rotations, reflections, 0 if sign > 0 else 1, 0)

    def endomorphism_basis(self) -> np.ndarray:
        """A basis ``[sum_of_squares_constituents, size, size]`` of the matrices that commute with the irrep.

        The identity first; for complex and quaternionic type the others are orthogonal matrices with
        ``M @ M = -I``, solved once from the irrep's matrices at the group's testing elements and
        Gram-Schmidt-ordered from fixed probes (so they do not depend on the LAPACK build).

        Example:
            >>> from structconv.group import so2_group
            >>> so2_group(3).irrep(1).endomorphism_basis().round(12) + 0.0  # the identity, a quarter turn
            array([[[ 1.,  0.],
                    [ 0.,  1.]],
            <BLANKLINE>
                   [[ 0., -1.],
                    [ 1.,  0.]]])
        """
        cached = self.__dict__.get("_endomorphisms")
        if cached is not None:
            return cached.copy()
        d = self.size
        if self._sos == 1:
            out = np.eye(d)[None]
        else:
            G = self.group
            els = G.testing_elements() if G.continuous else G.elements
            R = self.representation_matrices(list(els)[:64])
            # vec(M) with rho M - M rho = 0 for every element: the null space of the stacked commutators
            A = np.concatenate([np.kron(r, np.eye(d)) - np.kron(np.eye(d), r.T) for r in R])
            one_blas_thread_for(A)
            null = np.linalg.svd(A)[2][-self._sos :]  # the commutant: sum_of_squares_constituents dims
            extra = np.random.default_rng(0).standard_normal((d * d, self._sos - 1))
            probe = np.concatenate([np.eye(d).reshape(-1, 1), extra], 1)  # the identity first
            out = (canonical_range(null.T @ null, probe) * np.sqrt(d)).reshape(self._sos, d, d)
            out[0] = np.eye(d)
        out.setflags(write=False)
        self.__dict__["_endomorphisms"] = out
        return out.copy()

    @property
    def sum_of_squares_constituents(self) -> int:
        """2 for the 2-dimensional irreps of C_N / SO(2) (complex type), 1 otherwise."""
        return self._sos

    @property
    def irreducible(self) -> bool:
        """Always ``True``."""
        return True

    @property
    def representation(self) -> Any:
        """The map ``element -> matrix``: the dict or callable a user-defined irrep was built with (as the
        reference library), else the irrep itself as a callable."""
        if self._user is not None:
            return self._user[0]
        return self.__call__

    def character(self, e: Any) -> float:
        """The character ``tr ρ(e)`` (a user-defined irrep's ``character`` when it was given one)."""
        if self._user is not None and self._user[1] is not None:
            self._group._parse(e)  # validates the element
            return float(self._lookup(self._user[1], e))
        return super().character(e)

    def is_trivial(self) -> bool:
        """Whether this is the trivial irrep (a user-defined one: whether every matrix is the identity,
        on all elements of a finite group or on the testing elements of SO(2) / O(2))."""
        if self._user is not None:
            G = self._group
            elements = G.elements if not G.continuous else G.testing_elements()
            mats = self.representation_matrices(elements)
            return bool(np.allclose(mats, np.eye(self._isize), atol=1e-9))
        return self._j == 0 and self._k == 0

    def _evaluate_arrays(self, flips: np.ndarray, rots: np.ndarray) -> np.ndarray:
        E = flips.shape[0]
        if self._user is not None:
            G, table, d = self._group, self._user[0], self._isize
            out = np.empty((E, d, d))
            for i in range(E):
                m = np.asarray(self._lookup(table, G._element_from_flip_rot(flips[i], rots[i])), np.float64)
                if m.shape != (d, d):
                    raise ValueError(
                        f"representation: expected ({d}, {d}) matrices, got shape {m.shape} at element "
                        f"{G._element_from_flip_rot(flips[i], rots[i])!r}"
                    )
                out[i] = m
            return out
        sign_f = 1.0 - 2.0 * (flips % 2)
        if self._isize == 1:
            out = np.ones(E)
            if self._k != 0:  # k = N/2: (-1)^r on the rotation index
                out = 1.0 - 2.0 * (rots % 2)
            if self._j == 1 and self._has_flip:
                out = out * sign_f
            return out.reshape(E, 1, 1).astype(np.float64)
        if self._n_rot > 0:
            phase = TWO_PI * ((self._k * rots) % self._n_rot) / self._n_rot
        else:
            phase = self._k * rots
        c, s = np.cos(phase), np.sin(phase)
        sg = sign_f if self._has_flip else np.ones(E)
        out = np.empty((E, 2, 2))
        out[:, 0, 0] = c
        out[:, 0, 1] = -s * sg
        out[:, 1, 0] = s
        out[:, 1, 1] = c * sg
        return out

    def __eq__(self, other: object) -> bool:
        if self._user is not None or getattr(other, "_user", None) is not None:
            return self is other  # a user-defined irrep is equal only to itself (its map is opaque)
        return super().__eq__(other)

    __hash__ = Representation.__hash__  # the representation's cached hash (no extra call frame)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if self._user is not None:
            return _rebuild_user_irrep, (
                self._group,
                self._name,
                self._user[0],
                self._isize,
                self._sos,
                sorted(self._supported),
                self._user[1],
                self._attributes,
            )
        return _rebuild_irrep, (self._group, self._id)


def _rebuild_irrep(group: Group, id: tuple[int, ...]) -> IrreducibleRepresentation:
    return group.irrep(*id)


def _rebuild_user_irrep(
    group: Group,
    name: str,
    representation: Any,
    size: int,
    sos: int,
    supported: list[str],
    character: Any,
    attributes: dict[str, Any],
) -> IrreducibleRepresentation:
    return IrreducibleRepresentation(
        group, name, representation, size, sos, supported, character, **attributes
    )
