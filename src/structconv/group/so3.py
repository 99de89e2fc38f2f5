r"""The group SO(3) of rotations of space, its real irreps (Wigner D matrices) and its subgroups.

Elements are :class:`~structconv.group.group3d.GroupElement` objects stored as unit quaternions
``(x, y, z, w)`` (``PARAM = 'Q'``); :meth:`SO3.element` also reads rotation matrices (``'MAT'``), rotation
vectors (``'EV'``) and the 24 Euler-angle sequences (``'xyz'``, ..., ``'ZYZ'``, scipy's names), as escnn.
The irrep ``irrep_l`` (``l ≥ 0``, size ``2l+1``) acts on the real spherical harmonics of degree ``l``
(conventions and evaluation: :mod:`structconv.group._so3_maths`); ``irrep_1`` is the rotation matrix on the
basis ``(y, z, x)`` and :meth:`SO3.standard_representation` the rotation matrix itself.

Subgroup ids (escnn's; ``adj`` is an optional element ``A`` of SO(3): the subgroup becomes
:math:`A^{-1} H A`):

====================================  =====================================================================
``'so3'``                             SO(3) itself
``'octa'`` / ``'ico'``                the octahedral (24) / icosahedral (60) rotations, as
                                      :func:`~structconv.group.polyhedral.octa_group` /
                                      :func:`~structconv.group.polyhedral.ico_group` place them
``(False, -1)`` / ``(False, N)``      SO(2) / C_N: rotations about the z axis (planar ``θ ↦ R_z(θ)``)
``(True, -1)`` / ``(True, N)``, N>1   O(2) / D_N: those and the rotation by π about the x axis (the planar
                                      flip ``(1, θ) ↦ R_z(θ) R_x(π)``)
``(a, -1)`` / ``(a, N)``, float ``a`` the same with the flip axis at angle ``a / 2`` in the xy plane
``(True, 1)`` / ``(a, 1)``            the C2 of that single flip (normalised to ``(False, 2, adj)``)
``('so3', adj)``, ``(False, N, adj)`` ...  any of the above conjugated by ``adj``
====================================  =====================================================================

The planar subgroups are this package's planar groups (:func:`~structconv.group.so2_group` with SO(3)'s
``maximum_frequency``, :func:`~structconv.group.cyclic_group`, ...), whose elements are plain values. The
restriction of ``irrep_l`` to SO(2) / O(2) is closed form (the pairs :math:`(Y_{l,k}, Y_{l,-k})`), to C_N /
D_N that followed by the planar restriction, to the polyhedral groups numerical (group averaging) - the same
irreps and, about an axis, the same change of basis as escnn. ``'tetra'`` is not implemented (nor in escnn).
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
from structconv.group.group import TWO_PI, Group
from structconv.group.group3d import (
    QUAT_ATOL,
    Group3D,
    GroupElement,
    IrreducibleRepresentation3D,
    _axis_quat,
    _check_band_limit,
    _readonly,
)
from structconv.group.irreps import IrreducibleRepresentation
from structconv.group.o2 import o2_group
from structconv.group.representation import Representation
from structconv.group.so2 import so2_group

__all__ = ["SO3", "so3_group", "DEFAULT_MAXIMUM_FREQUENCY_3D"]

#: Default band limit of SO(3) and O(3) (escnn's).
DEFAULT_MAXIMUM_FREQUENCY_3D = 2

#: Supported non-linearities of the trivial irrep and of the others (escnn's).
_TRIVIAL_NL = frozenset({"pointwise", "gate", "gated", "norm"})
_IRREP_NL = frozenset({"gated", "norm"})

#: The change of basis from ``irrep_1`` (basis ``(y, z, x)``) to the rotation matrix (basis ``(x, y, z)``).
STANDARD_CHANGE_OF_BASIS = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _check_max_frequency(maximum_frequency: Any) -> int:
    if (
        isinstance(maximum_frequency, bool)
        or not isinstance(maximum_frequency, numbers.Integral)
        or maximum_frequency < 0
    ):
        raise ValueError(f"maximum_frequency: expected a non-negative int, got {maximum_frequency!r}")
    return int(maximum_frequency)


def _quats(elements: Sequence[GroupElement]) -> np.ndarray:
    return np.array([e.value for e in elements], dtype=np.float64).reshape(-1, 4)


@functools.lru_cache(maxsize=1)
def _ico_quats() -> np.ndarray:
    from structconv.group.polyhedral import ICO_QUATERNIONS

    return ICO_QUATERNIONS


# ---------------------------------------------------------------------- subgroup ids about an axis
def _adjoint_quat(adj: Any) -> np.ndarray:
    """The rotation part (quaternion) of an adjoint element ``adj`` (an element of SO(3) or O(3))."""
    if not isinstance(adj, GroupElement) or adj.group.name not in ("SO(3)", "O(3)"):
        raise ValueError(f"subgroup_id: the adjoint {adj!r} is not an element of SO(3) or O(3)")
    v = adj.value
    return np.asarray(v[1] if isinstance(v, tuple) else v, dtype=np.float64)


def _quat_key(q: np.ndarray | None) -> tuple[float, ...] | None:
    """A hashable canonical form of an adjoint quaternion; ``None`` for the identity."""
    if q is None:
        return None
    c = so3m.quat_canonical(q)
    if np.abs(c - [0.0, 0.0, 0.0, 1.0]).max() < 1e-12:
        return None
    return tuple(float(x) for x in np.round(c, 15))


def _with_adj(key: tuple[Any, ...], adjk: tuple[float, ...] | None) -> tuple[Any, ...]:
    return key if adjk is None else key + (adjk,)


def _split_adj(id: Any) -> tuple[tuple[Any, ...], np.ndarray | None]:
    """``(id without adjoint, adjoint quaternion or None)``."""
    if isinstance(id, str):
        return (id,), None
    if not isinstance(id, (tuple, list)):
        raise ValueError(f"subgroup_id: expected a tuple or a string, got {id!r}")
    id = tuple(id)
    if id and isinstance(id[-1], GroupElement):
        return id[:-1], _adjoint_quat(id[-1])
    if id and isinstance(id[-1], tuple) and len(id[-1]) == 4:  # a normalised key's adjoint
        return id[:-1], np.asarray(id[-1], dtype=np.float64)
    return id, None


def _is_flag(x: Any) -> bool:
    return isinstance(x, (bool, np.bool_)) or (isinstance(x, numbers.Integral) and int(x) in (0, 1))


def _is_float(x: Any) -> bool:
    return isinstance(x, (float, np.floating)) and math.isfinite(x)


def parse_so3_subgroup_id(id: Any, maximum_frequency: int, what: str = "SO(3)") -> tuple[Any, Group]:
    """Validate an SO(3) subgroup id; return ``(key, subgroup)`` with the key normalised as escnn does.

    Keys: ``'so3'``, ``'octa'``, ``'ico'`` or ``(flip: bool, N: int)``, each followed by the adjoint
    quaternion (a 4-tuple) when it is not the identity.

    Raises:
        ValueError: not an id (the message lists the accepted forms).
        NotImplementedError: ``'tetra'`` (not implemented, as in escnn).
    """
    from structconv.group.polyhedral import ico_group, octa_group

    msg = (
        f"subgroup_id: {id!r} is not a subgroup of {what}; expected 'so3', 'octa', 'ico', (False, N) "
        "(C_N about z; N = -1: SO(2)), (True, N) or (a: float, N) (D_N / O(2) with the flip axis at angle "
        "a/2 in the xy plane), optionally followed by an adjoint element of SO(3)"
    )
    try:
        core, adj = _split_adj(id)
    except ValueError as err:
        raise ValueError(f"{msg} ({err})") from err
    if len(core) == 1 and isinstance(core[0], str):
        name = core[0]
        if name == "tetra":
            raise NotImplementedError(
                f"subgroup_id: {id!r}: the tetrahedral subgroup is not implemented (nor in escnn)"
            )
        H = {"so3": None, "octa": octa_group, "ico": ico_group}.get(name, False)
        if H is False:
            raise ValueError(msg)
        adjk = _quat_key(adj)
        key = name if adjk is None else (name, adjk)
        return key, (so3_group(maximum_frequency) if H is None else H())
    if len(core) != 2:
        raise ValueError(msg)
    flag, N = core
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or not (int(N) >= 1 or int(N) == -1):
        raise ValueError(msg)
    N = int(N)
    A = np.array([0.0, 0.0, 0.0, 1.0]) if adj is None else adj
    if _is_float(flag):
        A = so3m.quat_mul(_axis_quat("z", -0.5 * float(flag)), A)  # flip axis at angle flag/2
        flip = True
    elif _is_flag(flag):
        flip = bool(flag)
    else:
        raise ValueError(msg)
    if flip and N == 1:  # one flip about x: C2 about z conjugated by R_y(-π/2)
        A = so3m.quat_mul(_axis_quat("y", -0.5 * math.pi), A)
        flip, N = False, 2
    key = _with_adj((flip, N), _quat_key(A))
    if flip:
        H: Group = o2_group(maximum_frequency) if N == -1 else dihedral_group(N)
    else:
        H = so2_group(maximum_frequency) if N == -1 else cyclic_group(N)
    return key, H


def key_adjoint(key: Any) -> np.ndarray:
    """The adjoint quaternion of a normalised key (the identity when absent)."""
    if isinstance(key, tuple) and key and isinstance(key[-1], tuple) and len(key[-1]) == 4:
        return np.asarray(key[-1], dtype=np.float64)
    return np.array([0.0, 0.0, 0.0, 1.0])


def key_core(key: Any) -> Any:
    """A normalised key without its adjoint: ``'so3'``, ``'octa'``, ``'ico'`` or ``(flip, N)``."""
    if isinstance(key, tuple) and key and isinstance(key[-1], tuple) and len(key[-1]) == 4:
        core = key[:-1]
        return core[0] if len(core) == 1 else core
    return key


def conjugate(q: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``A^{-1} q A`` (quaternions)."""
    return so3m.quat_mul(so3m.quat_inv(A), so3m.quat_mul(q, A))


def planar_to_quat(H: Group, flip: bool, N: int, h: Any, flip_quat: np.ndarray) -> tuple[int, np.ndarray]:
    """``(f, q)``: the planar element ``h`` of ``H`` about the z axis as a rotation ``R_z(θ)`` times
    ``flip_quat`` when ``f = 1`` (a quaternion); ``ValueError`` when ``h`` is not an element of ``H``."""
    if not H.is_element(h):
        raise ValueError(f"element: {h!r} is not an element of {H.name}")
    if flip:
        f, r = int(h[0]), h[1]
    else:
        f, r = 0, h
    theta = float(r) if N == -1 else TWO_PI * int(r) / N
    q = _axis_quat("z", 0.0) if theta == 0.0 else so3m.quat_from_axis_angle([0, 0, 1], theta)
    if f:
        q = so3m.quat_mul(q, flip_quat)
    return f, q


def quat_to_planar(flip: bool, N: int, q: np.ndarray, flip_axis_offset: float | None) -> Any:
    """The planar element (about z) equal to the rotation ``q``, or ``None``.

    ``q`` is a rotation about z (``f = 0``) or, when ``flip``, a rotation by π about an axis in the xy plane
    at angle ``φ``, i.e. the element ``(1, θ)`` with ``θ = 2(φ - flip_axis_offset)``.
    """
    x, y, z, w = q
    if abs(x) <= QUAT_ATOL and abs(y) <= QUAT_ATOL:
        f, theta = 0, 2.0 * math.atan2(z, w)
    elif flip and abs(z) <= QUAT_ATOL and abs(w) <= QUAT_ATOL and flip_axis_offset is not None:
        f, theta = 1, 2.0 * (math.atan2(y, x) - flip_axis_offset)
    else:
        return None
    theta %= TWO_PI
    if N != -1:
        k = theta * N / TWO_PI
        r = round(k)
        if abs(k - r) * TWO_PI / N > 1e-6:
            return None
        theta = r % N
    elif theta >= TWO_PI - 1e-15:
        theta = 0.0
    return (f, theta) if flip else theta


def axial_change_of_basis(
    l: int, flip_matrix: np.ndarray | None, flip_convention: int
) -> tuple[list[str], np.ndarray]:
    r"""The restriction of a degree-``l`` irrep (real spherical harmonics) to SO(2) / O(2) about z, in closed
    form.

    Blocks: ``irrep_0`` (O(2): ``irrep_0,0`` or ``irrep_1,0`` by the flip's sign on :math:`Y_{l,0}`), then for
    ``k = 1..l`` the pair :math:`(Y_{l,k}, Y_{l,-k})` on which :math:`R_z(θ)` acts as the planar
    :math:`R(kθ)`. With a flip acting as ``diag(σ, -σ)`` on the pair, ``σ = -1`` uses the pair
    :math:`(Y_{l,-k}, -Y_{l,k})` (``flip_convention`` 0: the dihedral O(2) of SO(3)) or
    :math:`(-Y_{l,-k}, Y_{l,k})` (1: the conic O(2) of O(3)) - escnn's choices.
    """
    d = 2 * l + 1
    Q = np.zeros((d, d))
    Q[l, 0] = 1.0
    if flip_matrix is None:
        names = ["irrep_0"] + [f"irrep_{k}" for k in range(1, l + 1)]
    else:
        names = ["irrep_0,0" if flip_matrix[l, l] > 0 else "irrep_1,0"] + [
            f"irrep_1,{k}" for k in range(1, l + 1)
        ]
    for k in range(1, l + 1):
        c = 2 * k - 1
        sigma = 1.0 if flip_matrix is None else float(np.sign(flip_matrix[l + k, l + k]))
        if sigma > 0:
            Q[l + k, c], Q[l - k, c + 1] = 1.0, 1.0
        elif flip_convention == 0:
            Q[l - k, c], Q[l + k, c + 1] = 1.0, -1.0
        else:
            Q[l - k, c], Q[l + k, c + 1] = -1.0, 1.0
    return names, Q


def chain_planar(Hc: Group, planar_id: Any, names: list[str], Q: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Compose a restriction to SO(2) / O(2) (``names``, ``Q``) with the planar restriction ``planar_id``."""
    out_names: list[str] = []
    blocks = []
    for n in names:
        r = Hc.restrict_representation(planar_id, Hc.irreps[n])
        out_names.extend(r.irreps)
        blocks.append(np.asarray(r.change_of_basis))
    import scipy.linalg

    return out_names, Q @ scipy.linalg.block_diag(*blocks)


def restrict_axial(
    l: int,
    flip: bool,
    N: int,
    A: np.ndarray,
    maximum_frequency: int,
    flip_quat: np.ndarray,
    flip_sign: float = 1.0,
    flip_convention: int = 0,
) -> tuple[list[str], np.ndarray]:
    """Restriction of a degree-``l`` irrep to the subgroup ``(flip, N)`` about z conjugated by ``A``.

    The flip acts as ``flip_sign * D^l(flip_quat)`` (``flip_sign``: the inversion's sign in O(3)). Closed form
    (:func:`axial_change_of_basis`), then the planar restriction for finite ``N``, then ``Q = D^l(A^{-1}) Q``.
    """
    F = flip_sign * so3m.wigner_D(l, flip_quat[None])[0] if flip else None
    names, Q = axial_change_of_basis(l, F, flip_convention)
    if N != -1:
        Hc = o2_group(maximum_frequency) if flip else so2_group(maximum_frequency)
        names, Q = chain_planar(Hc, (0.0, N) if flip else N, names, Q)
    if _quat_key(A) is not None:
        Q = so3m.wigner_D(l, so3m.quat_inv(A)[None])[0] @ Q
    return names, Q


# ---------------------------------------------------------------------- the group
def _eval_wigner(l: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return so3m.wigner_D(l, b)


class SO3(Group3D):
    """The group SO(3) of rotations of space (see the module docstring for elements, irreps and subgroups).

    Build it with :func:`so3_group`. :attr:`irreps` lists ``irrep_0`` ... ``irrep_L`` (``L`` =
    ``maximum_frequency``); :meth:`irrep` builds any degree.

    Example:
        >>> G = so3_group(2)
        >>> G.name, G.order(), list(G.irreps), G.irrep(3).size
        ('SO(3)', -1, ['irrep_0', 'irrep_1', 'irrep_2'], 7)
        >>> g = G.element([0.0, 0.0, np.pi / 2], "EV")
        >>> G.standard_representation()(g).round(12) + 0.0
        array([[ 0., -1.,  0.],
               [ 1.,  0.,  0.],
               [ 0.,  0.,  1.]])
        >>> G.restrict_representation((False, -1), G.irrep(2)).irreps
        ['irrep_0', 'irrep_1', 'irrep_2']
    """

    _TRIVIAL_ID = (False, 1)
    _SELF_ID = "so3"

    def __init__(self, maximum_frequency: int) -> None:
        self._max_freq = _check_max_frequency(maximum_frequency)
        super().__init__("SO(3)", continuous=True, abelian=False)

    @property
    def maximum_frequency(self) -> int:
        """Largest degree listed in :attr:`irreps`."""
        return self._max_freq

    def _factory_args(self) -> tuple[Callable[..., Group], tuple[Any, ...]]:
        return so3_group, (self._max_freq,)

    def __repr__(self) -> str:
        return f"SO3(maximum_frequency={self._max_freq})"

    def order(self) -> int:
        """``-1`` (continuous)."""
        return -1

    # ------------------------------------------------------------------ elements
    @property
    def identity(self) -> GroupElement:
        """The identity rotation (quaternion ``(0, 0, 0, 1)``)."""
        return GroupElement(self, _axis_quat("z", 0.0))

    def _make_element(self, value: Any, param: str) -> GroupElement:
        if param not in self.PARAMETRIZATIONS:
            raise ValueError(
                f"param: {param!r} is not a parametrization of {self.name}; expected one of "
                f"{list(self.PARAMETRIZATIONS)}"
            )
        return GroupElement(self, _readonly(so3m.to_quat(value, param)))

    def _change_param(self, value: Any, param: str) -> Any:
        return so3m.from_quat(value, param)

    def _hash_key(self, element: GroupElement) -> Any:
        return tuple(np.round(so3m.quat_canonical(element.value), 8) + 0.0)

    def _equal(self, a: GroupElement, b: GroupElement, atol: float) -> bool:
        qa, qb = a.value, b.value
        return bool(min(np.abs(qa - qb).max(), np.abs(qa + qb).max()) <= atol)

    def _combine(self, a: GroupElement, b: GroupElement) -> GroupElement:
        q = so3m.quat_mul(a.value, b.value)
        return GroupElement(self, _readonly(q / np.linalg.norm(q)))

    def _inverse(self, a: GroupElement) -> GroupElement:
        return GroupElement(self, _readonly(so3m.quat_inv(a.value)))

    def _generators(self) -> list[GroupElement]:
        rng = np.random.default_rng(3)
        return [self._sample(rng) for _ in range(3)]

    def _sample(self, rng: np.random.Generator) -> GroupElement:
        q = rng.normal(size=4)
        return GroupElement(self, _readonly(q / np.linalg.norm(q)))

    def testing_elements(self) -> list[GroupElement]:
        """The 60 rotations of the icosahedral group (escnn's choice)."""
        return [GroupElement(self, _readonly(q)) for q in _ico_quats()]

    def sphere_grid(self, type: str, *args: Any, adj: Any = None, **kwargs: Any) -> list[GroupElement]:
        """Points on the sphere ``SO(3)/SO(2)`` as the rotations taking the pole to them (escnn's
        ``sphere_grid``); see :func:`structconv.group.grids.sphere_grid` for the types.

        Example:
            >>> len(so3_group().sphere_grid("cube")), len(so3_group().sphere_grid("fibonacci", 10))
            (6, 10)
        """
        from structconv.group.grids import sphere_grid

        return sphere_grid(self, type, *args, adj=adj, **kwargs)

    def _element_arrays(self, elements: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        parsed = [self._parse(e) for e in elements]
        return np.zeros(len(parsed), dtype=np.int64), _quats(parsed)

    # ------------------------------------------------------------------ irreps
    def _build_irreps3d(self) -> None:
        for l in range(self._max_freq + 1):
            self.irrep(l)

    def irrep(self, l: int, *more: int) -> IrreducibleRepresentation:  # type: ignore[override]
        """The irrep of degree ``l`` (``irrep_l``, size ``2l+1``).

        Raises:
            ValueError: ``l`` is not a non-negative int (or more than one id is given).
        """
        return super().irrep(l, *more)

    def _check_irrep_id(self, id: tuple[Any, ...]) -> tuple[int, ...]:
        if len(id) != 1 or isinstance(id[0], bool) or not isinstance(id[0], numbers.Integral) or id[0] < 0:
            raise ValueError(f"id: {id!r} is not an irrep of SO(3); expected irrep(l) with an int l >= 0")
        return (int(id[0]),)

    def _new_irrep(self, id: tuple[int, ...]) -> IrreducibleRepresentation:
        l = id[0]
        return IrreducibleRepresentation3D(
            self,
            (l,),
            f"irrep_{l}",
            2 * l + 1,
            functools.partial(_eval_wigner, l),
            set(_TRIVIAL_NL if l == 0 else _IRREP_NL),
            {"frequency": l},
            trivial=l == 0,
        )

    def _candidate_irreps(self, max_frequency: int) -> list[IrreducibleRepresentation]:
        return [self.irrep(l) for l in range(max_frequency + 1)]

    def bl_irreps(self, L: int) -> list[tuple[Any, ...]]:
        """``[(0,), (1,), ..., (L,)]``: the ids of the irreps of degree at most ``L``.

        Raises:
            ValueError: ``L`` is not a non-negative int.
        """
        return [(l,) for l in range(_check_band_limit(L) + 1)]

    # ------------------------------------------------------------------ representations
    def standard_representation(self) -> Representation:
        """The rotation matrices ``R`` (``'standard'``): ``irrep_1`` with the change of basis from
        ``(y, z, x)``.

        Example:
            >>> so3_group().standard_representation().change_of_basis
            array([[0., 0., 1.],
                   [1., 0., 0.],
                   [0., 1., 0.]])
        """
        return _named(self, "standard", ["irrep_1"], STANDARD_CHANGE_OF_BASIS, set(_IRREP_NL))

    def bl_regular_representation(self, L: int) -> Representation:
        r"""The regular representation band-limited to degree ``L``: :math:`\bigoplus_{l \le L} (2l+1)\,D^l`
        (``'regular_L'``, identity change of basis, size :math:`\sum_l (2l+1)^2`; as escnn).

        Raises:
            ValueError: ``L`` is not a non-negative int.

        Example:
            >>> r = so3_group().bl_regular_representation(1)
            >>> r.name, r.size, r.irreps
            ('regular_1', 10, ['irrep_0', 'irrep_1', 'irrep_1', 'irrep_1'])
        """
        L = _check_band_limit(L)
        names = [f"irrep_{l}" for l in range(L + 1) for _ in range(2 * l + 1)]
        return _named(self, f"regular_{L}", names, None)

    def bl_quotient_representation(self, L: int, subgroup_id: Any) -> Representation:
        r"""Functions on the quotient ``SO(3)/H`` band-limited to degree ``L``: each :math:`D^l` (``l ≤ L``)
        as many times as ``H`` has invariant vectors in it (``'quotient[<id>]_L'``, identity change of basis).

        Raises:
            ValueError: ``L`` is not a non-negative int, or ``subgroup_id`` is not a subgroup id.

        Example:
            >>> so3_group().bl_quotient_representation(2, (True, -1)).irreps
            ['irrep_0', 'irrep_2']
        """
        L = _check_band_limit(L)
        key, H = self._subgroup3d(subgroup_id)
        names = []
        for l in range(L + 1):
            r = self.restrict_representation(key, self.irrep(l))
            names += [f"irrep_{l}"] * sum(n == H.trivial_representation.name for n in r.irreps)
        return _named(self, f"quotient[{key}]_{L}", names, None)

    def bl_sphere_representation(self, L: int) -> Representation:
        """Functions on the sphere ``SO(3)/SO(2)`` band-limited to degree ``L``: ``irrep_0 ... irrep_L`` once
        each.

        Example:
            >>> so3_group().bl_sphere_representation(2).irreps
            ['irrep_0', 'irrep_1', 'irrep_2']
        """
        return self.bl_quotient_representation(L, (False, -1))

    # ------------------------------------------------------------------ subgroups
    def _subgroup3d(self, subgroup_id: Any) -> tuple[Any, Group]:
        return parse_so3_subgroup_id(subgroup_id, self._max_freq)

    def _subgroup_parent(self, key: Any, h: Any) -> GroupElement:
        H = self._subgroup3d(key)[1]
        A = key_adjoint(key)
        core = key_core(key)
        if isinstance(core, str):
            q = H._parse(h).value if core != "so3" else self._parse(h).value
        else:
            flip, N = core
            _, q = planar_to_quat(H, flip, N, h, _axis_quat("x", math.pi))
        return GroupElement(self, _readonly(conjugate(q, A)))

    def _subgroup_child(self, key: Any, g: GroupElement) -> Any:
        H = self._subgroup3d(key)[1]
        A = key_adjoint(key)
        q = conjugate(g.value, so3m.quat_inv(A))  # A q A^{-1}
        core = key_core(key)
        if core == "so3":
            return GroupElement(self, _readonly(q))
        if isinstance(core, str):
            return H._find(q)  # type: ignore[attr-defined]
        flip, N = core
        return quat_to_planar(flip, N, q, 0.0)

    def _restrict_irrep(self, key: Any, irr: IrreducibleRepresentation) -> tuple[list[str], np.ndarray]:
        core = key_core(key)
        l = irr.id[0]
        A = key_adjoint(key)
        if core == "so3":
            if _quat_key(A) is None:
                return [irr.name], np.eye(irr.size)
            return [irr.name], so3m.wigner_D(l, so3m.quat_inv(A)[None])[0]
        if isinstance(core, str):
            return self._restrict_numerically(key, irr)
        flip, N = core
        return restrict_axial(l, flip, N, A, self._max_freq, _axis_quat("x", math.pi))

    # ------------------------------------------------------------------ tensor products
    def _tensor_product_irreps(self, J: Any, l: Any) -> list[tuple[tuple[Any, ...], int]]:
        a, b = self.irrep(*_id(J)).id[0], self.irrep(*_id(l)).id[0]
        return [((c,), 1) for c in range(abs(a - b), a + b + 1)]

    def _cg(
        self, m: IrreducibleRepresentation, n: IrreducibleRepresentation, j: IrreducibleRepresentation
    ) -> np.ndarray:
        a, b, c = m.id[0], n.id[0], j.id[0]
        if abs(a - b) <= c <= a + b:
            return so3m.clebsch_gordan_real(a, b, c)[:, :, None, :]
        return np.zeros((m.size, n.size, 0, j.size))


def _id(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _named(
    G: Group, name: str, irreps: list[str], Q: np.ndarray | None, supported: set[str] | None = None
) -> Representation:
    """The representation registered as ``name`` (built once; ``Q = None``: the identity;
    ``supported = None``:
    the non-linearities all its irreps support, as escnn's direct sums)."""
    rho = G.representations._peek(name)  # type: ignore[attr-defined]
    if rho is None:
        if supported is None:
            supported = set.intersection(*[set(G.irreps[n].supported_nonlinearities) for n in irreps])
        size = sum(G.irreps[n].size for n in irreps)
        rho = Representation(G, name, irreps, np.eye(size) if Q is None else Q, supported)
        G.representations[name] = rho
    return rho


@functools.cache
def _so3_group(maximum_frequency: int) -> SO3:
    return SO3(maximum_frequency)


def so3_group(maximum_frequency: int = DEFAULT_MAXIMUM_FREQUENCY_3D) -> SO3:
    """The group SO(3) with irreps listed up to degree ``maximum_frequency`` (a cached singleton; default 2 as
    escnn).

    Raises:
        ValueError: ``maximum_frequency`` is not a non-negative int.

    Example:
        >>> so3_group(3) is so3_group(3), so3_group(3) == so3_group(2)
        (True, False)
    """
    return _so3_group(_check_max_frequency(maximum_frequency))
