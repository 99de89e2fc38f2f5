"""Orthogonal representations of the planar groups, and the builders that combine them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph

from structconv.group.group import Group

if TYPE_CHECKING:
    from structconv.group.irreps import IrreducibleRepresentation

__all__ = ["Representation", "directsum", "change_basis", "disentangle", "NONLINEARITIES"]

#: Every non-linearity string that a representation may declare support for.
NONLINEARITIES = frozenset(
    {
        "pointwise",
        "norm",
        "gated",
        "gate",
        "concatenated",
        "vectorfield",
        "induced_norm",
        "induced_gated",
        "induced_gate",
    }
)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


def _snap(a: np.ndarray, atol: float = 1e-12) -> np.ndarray:
    """Round entries within ``atol`` of a multiple of 1/2 (exact 0, ±1 for rotations by 90°)."""
    r = np.round(2.0 * a) / 2.0
    return np.where(np.abs(a - r) < atol, r, a)


class Representation:
    r"""A real orthogonal representation of a group, with its decomposition into irreps.

    .. math::

        \rho(g) = Q \Big(\bigoplus_i \psi_i(g)\Big) Q^{-1}

    where :math:`\psi_i` are the irreps named in :attr:`irreps` and :math:`Q` is
    :attr:`change_of_basis` (orthogonal for every representation this package builds). A
    representation is an immutable, picklable value: two representations are equal when they have the
    same group, name, irreps, change of basis and supported non-linearities. Names need not be unique:
    only the irreps and the named constructions (``'regular'``, quotients, induced representations) are
    registered in the group's ``representations`` dict.

    For a finite group every matrix is precomputed once and :meth:`__call__` is a lookup; use
    :meth:`representation_matrices` to evaluate many elements at once.

    Args:
        group: the group.
        name: a name (it identifies the representation in ``repr`` and in the names of constructions).
        irreps: names (e2cnn) or ids (escnn, ``irrep.id``) of the irreps, in the order of the blocks of the
            block-diagonal matrix.
        change_of_basis: the matrix ``Q`` (``size × size``, invertible).
        supported_nonlinearities: the non-linearities the representation allows (see
            :data:`NONLINEARITIES`).
        representation: optional dict or callable ``element -> matrix``; the matrices are always computed
            from ``irreps`` and ``change_of_basis``, and a given map must agree with them (checked on
            the elements, ``ValueError`` otherwise).
        character: optional dict or callable ``element -> trace``, checked the same way.
        change_of_basis_inv: ``Q^{-1}``; computed when omitted.
        **kwargs: extra properties, kept in :attr:`attributes`.

    Example:
        >>> from structconv.group import cyclic_group
        >>> rho = cyclic_group(4).regular_representation
        >>> rho.size, rho.irreps
        (4, ['irrep_0', 'irrep_1', 'irrep_2'])
        >>> rho(1).tolist()
        [[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    """

    def __init__(
        self,
        group: Group,
        name: str,
        irreps: Sequence[str],
        change_of_basis: np.ndarray | None,
        supported_nonlinearities: Iterable[str] = (),
        representation: Any = None,
        character: Any = None,
        change_of_basis_inv: np.ndarray | None = None,
        *,
        matrices: np.ndarray | None = None,
        parts: Sequence[Representation] | None = None,
        outer: tuple[np.ndarray, np.ndarray] | None = None,
        source: tuple[Representation, np.ndarray] | None = None,
        **kwargs: Any,
    ) -> None:
        # `matrices`, `parts`/`outer` and `source` are internal: exact, structured ways to evaluate a
        # representation of a finite group (a table; a direct sum C (⊕ parts) C^{-1}; a restriction
        # that looks up its parent at the given element indices). `change_of_basis` may then be None:
        # it is built lazily.
        if not isinstance(group, Group):
            raise TypeError(f"group: expected a structconv.group.Group, got {type(group).__name__} {group!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a non-empty string, got {name!r}")
        self._group = group
        self._name = name
        self._irrep_objs = self._resolve_irreps(irreps)
        size = sum(irr.size for irr in self._irrep_objs)
        self._size = size
        self._supported = frozenset(supported_nonlinearities)
        self._parts = None if parts is None else tuple(parts)
        self._outer = None if outer is None else (_readonly(outer[0]), _readonly(outer[1]))
        self._source = None if source is None else (source[0], np.asarray(source[1], dtype=np.int64))
        self._Q: np.ndarray | None = None
        self._Qinv: np.ndarray | None = None
        if change_of_basis is None:
            if self._parts is None:
                raise ValueError("change_of_basis: expected a (size, size) matrix, got None")
        else:
            Q = np.asarray(change_of_basis, dtype=np.float64)
            if Q.shape != (size, size):
                raise ValueError(
                    f"change_of_basis: expected a ({size}, {size}) matrix for irreps {list(irreps)}, "
                    f"got shape {Q.shape}"
                )
            if change_of_basis_inv is None:
                if np.allclose(Q @ Q.T, np.eye(size), atol=1e-10):
                    Qinv = Q.T.copy()
                else:
                    try:
                        Qinv = np.linalg.inv(Q)
                    except np.linalg.LinAlgError as err:
                        msg = "change_of_basis: expected an invertible matrix, got a singular one"
                        raise ValueError(msg) from err
            else:
                Qinv = np.asarray(change_of_basis_inv, dtype=np.float64)
                if Qinv.shape != (size, size) or not np.allclose(Q @ Qinv, np.eye(size), atol=1e-8):
                    raise ValueError("change_of_basis_inv: expected the inverse of change_of_basis")
            self._Q = _readonly(Q)
            self._Qinv = _readonly(Qinv)
        self._table: np.ndarray | None = None
        self._table_given = False
        if matrices is not None and not group.continuous:
            m = np.asarray(matrices, dtype=np.float64)
            if m.shape != (group.order(), size, size):  # pragma: no cover - internal use only
                raise ValueError(f"matrices: expected shape {(group.order(), size, size)}, got {m.shape}")
            self._table = _readonly(m)
            self._table_given = True
        self._extra_attributes = dict(kwargs)
        if representation is not None or character is not None:
            self._check_given(representation, character)

    def _check_given(self, representation: Any, character: Any) -> None:
        """Check a user's ``representation`` / ``character`` (dict or callable) against ``Q (⊕ ψ_i) Q^{-1}``.

        The matrices are always computed from the irreps and the change of basis; the given maps are a
        declaration of what they should be, and a mismatch is an error.
        """
        G = self._group
        elements = list(G.elements) if not G.continuous else G.testing_elements()
        for arg, given in (("representation", representation), ("character", character)):
            if given is None:
                continue
            lookup = given.__getitem__ if isinstance(given, dict) else given
            if not callable(lookup):
                raise TypeError(f"{arg}: expected a dict or a callable of the group elements, got {given!r}")
            for e in elements:
                mine = self(e) if arg == "representation" else np.trace(self(e))
                if not np.allclose(np.asarray(lookup(e), dtype=np.float64), mine, atol=1e-8):
                    raise ValueError(
                        f"{arg}: the value at element {e!r} does not match the irreps {self.irreps} and the "
                        "change_of_basis given"
                    )

    # ------------------------------------------------------------------ construction helpers
    def _resolve_irreps(self, irreps: Sequence[str]) -> list[IrreducibleRepresentation]:
        if isinstance(irreps, str) or not isinstance(irreps, Sequence) or len(irreps) == 0:
            raise ValueError(f"irreps: expected a non-empty list of irrep names or ids, got {irreps!r}")
        return [self._group._irrep_by_name(n) for n in irreps]

    def _register(self) -> Representation:
        """Register this representation in its group under its name (named constructions only).

        Returns the one already registered under the name when it has the same content.
        """
        registry = self._group.representations
        existing = registry._peek(self._name)  # type: ignore[attr-defined]
        if existing is not None and existing._same_content(self):
            return existing
        registry[self._name] = self
        return self

    def _same_content_as(self, irreps: list[str], Q: np.ndarray) -> bool:
        if self.irreps != list(irreps):
            return False
        mine = self.change_of_basis
        return mine.shape == Q.shape and np.allclose(mine, Q, atol=1e-9)

    def _same_content(self, other: Representation) -> bool:
        if self._size != other._size or self.irreps != other.irreps:
            return False
        if self._supported != other._supported:
            return False
        if self._parts is not None and other._parts is not None and self._parts == other._parts:
            if self._outer is None or other._outer is None:
                return self._outer is None and other._outer is None
            return bool(np.allclose(self._outer[0], other._outer[0], atol=1e-9))
        return bool(np.allclose(self.change_of_basis, other.change_of_basis, atol=1e-9))

    # ------------------------------------------------------------------ attributes
    @property
    def group(self) -> Group:
        """The group this is a representation of."""
        return self._group

    @property
    def name(self) -> str:
        """Name of the representation."""
        return self._name

    @property
    def attributes(self) -> dict[str, Any]:
        """Extra properties: the keyword arguments given at construction (irreps: their frequencies)."""
        return dict(self._extra_attributes)

    @property
    def representation(self) -> Any:
        """The map ``element -> ρ(element)`` as a callable (the same as calling the representation).

        Example:
            >>> from structconv.group import cyclic_group
            >>> cyclic_group(4).irrep(1).representation(1)
            array([[ 0., -1.],
                   [ 1.,  0.]])
        """
        return self.__call__

    @property
    def size(self) -> int:
        """Dimension of the representation space."""
        return self._size

    @property
    def irreps(self) -> list[str]:
        """Names of the irreps it decomposes into (with repetitions, in block order)."""
        return [irr.name for irr in self._irrep_objs]

    @property
    def irrep_ids(self) -> list[tuple]:
        """Ids of the irreps it decomposes into, in block order (escnn 1.0.11's ``Representation.irreps``).

        ``irreps`` holds their names (e2cnn 0.2.3's convention); the constructor accepts either.

        Example:
            >>> from structconv.group import so3_group
            >>> so3_group(2).standard_representation().irrep_ids
            [(1,)]
        """
        return [irr.id for irr in self._irrep_objs]

    def _build_change_of_basis(self) -> None:
        parts = self._parts or ()
        Q = scipy.linalg.block_diag(*[p.change_of_basis for p in parts])
        Qinv = scipy.linalg.block_diag(*[p.change_of_basis_inv for p in parts])
        if self._outer is not None:
            Q = self._outer[0] @ Q
            Qinv = Qinv @ self._outer[1]
        self._Q, self._Qinv = _readonly(Q), _readonly(Qinv)

    @property
    def change_of_basis(self) -> np.ndarray:
        """``Q`` (read-only): ``ρ(g) = Q (⊕ irreps(g)) Q^{-1}``."""
        if self._Q is None:
            self._build_change_of_basis()
        return self._Q  # type: ignore[return-value]

    @property
    def change_of_basis_inv(self) -> np.ndarray:
        """``Q^{-1}`` (read-only)."""
        if self._Qinv is None:
            self._build_change_of_basis()
        return self._Qinv  # type: ignore[return-value]

    @property
    def supported_nonlinearities(self) -> frozenset[str]:
        """Non-linearities allowed on fields of this type."""
        return self._supported

    @property
    def irreducible(self) -> bool:
        """Whether this is an irrep (its change of basis is the identity)."""
        return False

    def is_trivial(self) -> bool:
        """Whether every element acts as the identity."""
        return all(irr.is_trivial() for irr in self._irrep_objs)

    def contains_trivial(self) -> bool:
        """Whether the trivial irrep is one of the constituents."""
        return any(irr.is_trivial() for irr in self._irrep_objs)

    # ------------------------------------------------------------------ evaluation
    def _evaluate_arrays(self, flips: np.ndarray, rots: np.ndarray) -> np.ndarray:
        """Matrices ``(E, size, size)`` at elements given as arrays (see ``Group._element_arrays``)."""
        if self._parts is not None:  # a direct sum: block by block, without forming Q
            B = _block_diagonal(self._parts, self._size, lambda part: part._evaluate_arrays(flips, rots))
            return B if self._outer is None else self._outer[0] @ B @ self._outer[1]
        B = _block_diagonal(self._irrep_objs, self._size, lambda irr: irr._evaluate_arrays(flips, rots))
        return self.change_of_basis @ B @ self.change_of_basis_inv

    def _finite_matrices(self, idx: np.ndarray) -> np.ndarray:
        """Matrices at the elements with indices ``idx`` (finite group; exact where the structure allows)."""
        if self._table is not None:
            return self._table[idx]
        if self._parts is not None:
            B = _block_diagonal(self._parts, self._size, lambda part: part._finite_matrices(idx))
            if self._outer is not None:
                B = self._outer[0] @ B @ self._outer[1]
            return B
        if self._source is not None:
            parent, parent_idx = self._source
            return parent._finite_matrices(parent_idx[idx])
        flips, rots = self._group._all_element_arrays()
        return _snap(self._evaluate_arrays(flips[idx], rots[idx]))

    def _matrix_table(self) -> np.ndarray:
        """All matrices of a finite group, in the order of ``group.elements`` (read-only, cached)."""
        if self._table is None:
            if self._group.continuous:
                raise ValueError(f"{self._group.name} is continuous: there is no table of all its matrices")
            self._table = _readonly(self._finite_matrices(np.arange(self._group.order())))
        return self._table

    def representation_matrices(self, elements: Sequence[Any]) -> np.ndarray:
        """Matrices ``ρ(g)`` for many elements at once, as a new array ``(len(elements), size, size)``.

        For a finite group and a representation of size at most 256 all matrices are computed once and
        this is a lookup; larger ones are evaluated on demand from their structure (direct sums
        block by block), never as a table of every element.

        Example:
            >>> from structconv.group import so2_group
            >>> so2_group(4).irrep(1).representation_matrices([0.0, np.pi / 2]).round(6) + 0.0
            array([[[ 1.,  0.],
                    [ 0.,  1.]],
            <BLANKLINE>
                   [[ 0., -1.],
                    [ 1.,  0.]]])
        """
        G = self._group
        if not G.continuous:
            idx = np.fromiter((G._index(G._parse(e)) for e in elements), dtype=np.int64)
            if self._table is not None or self._size <= _TABLE_MAX_SIZE:
                return self._matrix_table()[idx]
            return self._finite_matrices(idx)
        flips, rots = G._element_arrays(elements)
        return self._evaluate_arrays(flips, rots)

    def __call__(self, element: Any) -> np.ndarray:
        """The matrix ``ρ(element)`` (a new float64 array)."""
        G = self._group
        if not G.continuous and (self._table is not None or self._size <= _TABLE_MAX_SIZE):
            return self._matrix_table()[G._index(G._parse(element))].copy()
        return self.representation_matrices([element])[0]

    def character(self, e: Any) -> float:
        """The character ``tr ρ(e)``."""
        return float(np.trace(self(e)))

    def multiplicity(self, irrep: Any) -> int:
        """How many times ``irrep`` (an irrep, its name, or its id as escnn names it) is a constituent.

        Raises:
            ValueError: ``irrep`` is not an irrep of the group.

        Example:
            >>> from structconv.group import cyclic_group
            >>> G = cyclic_group(4)
            >>> reg = G.regular_representation
            >>> reg.multiplicity("irrep_1"), reg.multiplicity((2,))
            (1, 1)
        """
        if isinstance(irrep, Representation):
            if irrep.group != self._group or not irrep.irreducible:
                raise ValueError(f"irrep: expected an irrep of {self._group.name}, got {irrep!r}")
            irrep = irrep.name
        target = self._group._irrep_by_name(irrep)
        return sum(1 for irr in self._irrep_objs if irr is target or irr.name == target.name)

    def endomorphism_basis(self) -> np.ndarray:
        """A basis ``[n, size, size]`` (float64) of the matrices commuting with every ``ρ(g)`` (escnn's API).

        Built block by block: for each pair of equal constituents, the irrep's own commutant
        (:meth:`IrreducibleRepresentation.endomorphism_basis`: the identity for real-type irreps, two or four
        matrices for complex or quaternionic type), moved by the change of basis. ``n`` is
        ``sum_i m_i**2 * sum_of_squares_constituents_i`` for multiplicities ``m_i`` (Schur's lemma). The
        span is escnn's; the basis matrices may differ from escnn's by an invertible mixing.

        Example:
            >>> from structconv.group import cyclic_group
            >>> G = cyclic_group(3)
            >>> E = G.regular_representation.endomorphism_basis()
            >>> E.shape  # 1 + 2 (irrep_1 is of complex type): the circulant matrices
            (3, 3, 3)
            >>> R = G.regular_representation(1)
            >>> bool(all(np.allclose(e @ R, R @ e) for e in E))
            True
        """
        offsets = np.concatenate([[0], np.cumsum([irr.size for irr in self._irrep_objs])]).astype(int)
        mats = []
        for a, ia in enumerate(self._irrep_objs):
            for b, ib in enumerate(self._irrep_objs):
                if ia.name != ib.name:
                    continue
                for M in ia.endomorphism_basis():
                    E = np.zeros((self._size, self._size))
                    E[offsets[a] : offsets[a + 1], offsets[b] : offsets[b + 1]] = M
                    mats.append(E)
        out = np.stack(mats) if mats else np.zeros((0, self._size, self._size))
        if not self.irreducible:
            out = self.change_of_basis @ out @ self.change_of_basis_inv
        return out

    def tensor(self, other: Representation) -> Representation:
        """The tensor product ``self ⊗ other`` decomposed into irreps (escnn's ``Representation.tensor``).

        For the groups of space (:func:`structconv.group.group3d.tensor_product`, named ``'<self> X <other>'``
        as escnn names it).

        Raises:
            ValueError: ``other`` is a representation of another group.
            NotImplementedError: a planar group (e2cnn 0.2.3 has no tensor products either).

        Example:
            >>> from structconv.group import so3_group
            >>> G = so3_group(2)
            >>> G.irrep(1).tensor(G.irrep(1)).irreps
            ['irrep_0', 'irrep_1', 'irrep_2']
        """
        from structconv.group.group3d import Group3D, tensor_product

        if not isinstance(self._group, Group3D):
            raise NotImplementedError(
                f"tensor: the tensor product of representations of {self._group.name} is not implemented "
                "(only for the groups of space: SO(3), O(3), the polyhedral and cylinder groups)"
            )
        return tensor_product(self, other)

    # ------------------------------------------------------------------ operations
    def restrict(self, id: Any) -> Representation:
        """Restriction to the subgroup ``id`` (see :meth:`Group.subgroup`)."""
        return self._group.restrict_representation(id, self)

    def __add__(self, other: Representation) -> Representation:
        if not isinstance(other, Representation):
            return NotImplemented
        return directsum([self, other])

    # ------------------------------------------------------------------ value semantics
    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Representation):
            return NotImplemented
        return self._group == other._group and self._name == other._name and self._same_content(other)

    def __hash__(self) -> int:
        cached = self.__dict__.get("_hash_value")  # immutable value: hashed once
        if cached is None:
            cached = hash((self._group, self._name))
            self.__dict__["_hash_value"] = cached
        return cached

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        lazy = self._parts is not None and self._Q is None
        return _rebuild_representation, (
            self._group,
            self._name,
            self.irreps,
            None if lazy else np.array(self.change_of_basis),
            sorted(self._supported),
            None if lazy else np.array(self.change_of_basis_inv),
            np.array(self._table) if self._table_given else None,
            self._parts,
            self._outer,
            self._source,
            self._extra_attributes,
        )

    def __copy__(self) -> Representation:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Representation:
        return self

    def __repr__(self) -> str:
        return f"{self._group.name}|{self._name}:{self._size}"


def _rebuild_representation(
    group: Group,
    name: str,
    irreps: list[str],
    Q: np.ndarray | None,
    supported: list[str],
    Qinv: np.ndarray | None,
    table: np.ndarray | None,
    parts: tuple[Representation, ...] | None = None,
    outer: tuple[np.ndarray, np.ndarray] | None = None,
    source: tuple[Representation, np.ndarray] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Representation:
    rho = Representation(
        group,
        name,
        irreps,
        Q,
        supported,
        change_of_basis_inv=Qinv,
        matrices=table,
        parts=parts,
        outer=outer,
        source=source,
        **(attributes or {}),
    )
    existing = group.representations._peek(name)  # type: ignore[attr-defined]
    if existing is not None and existing._same_content(rho):
        return existing  # a registered construction comes back as the same object
    return rho


_TABLE_MAX_SIZE = 256


def _block_diagonal(blocks: Sequence[Any], size: int, evaluate: Any) -> np.ndarray:
    """Stack the matrices ``evaluate(b)`` ``(E, d, d)`` of the blocks ``b`` on a block diagonal.

    Equal blocks are evaluated once and written with one fancy-indexed assignment.
    """
    offsets: dict[int, list[int]] = {}
    first: dict[int, Any] = {}
    keys: dict[Any, int] = {}
    p = 0
    for b in blocks:
        key = keys.setdefault(b, len(keys))
        first.setdefault(key, b)
        offsets.setdefault(key, []).append(p)
        p += b.size
    B = np.zeros((0, size, size))
    for key, offs in offsets.items():
        b = first[key]
        mats = evaluate(b)  # (E, d, d)
        if B.shape[0] != mats.shape[0]:
            B = np.zeros((mats.shape[0], size, size))
        d = b.size
        idx = np.asarray(offs)[:, None] + np.arange(d)[None, :]  # (m, d)
        B[:, idx[:, :, None], idx[:, None, :]] = mats[:, None, :, :]
    return B


def _check_reprs(reprs: Sequence[Representation], arg: str = "reprs") -> Group:
    reprs = list(reprs)
    if not reprs:
        raise ValueError(f"{arg}: expected a non-empty list of representations, got {reprs!r}")
    for r in reprs:
        if not isinstance(r, Representation):
            raise TypeError(f"{arg}: expected Representation objects, got {type(r).__name__} {r!r}")
    G = reprs[0].group
    for r in reprs[1:]:
        if r.group != G:
            raise ValueError(
                f"{arg}: all representations must be of the same group, got {G.name} and {r.group.name}"
            )
    return G


def _matrix_digest(a: np.ndarray) -> str:
    return hashlib.sha1(np.round(np.asarray(a, dtype=np.float64), 10).tobytes()).hexdigest()[:8]


def directsum(
    reprs: Sequence[Representation], change_of_basis: np.ndarray | None = None, name: str | None = None
) -> Representation:
    r"""Direct sum of representations, optionally followed by a change of basis ``C``.

    .. math:: \rho(g) = C \Big(\bigoplus_i \rho_i(g)\Big) C^{-1}

    Args:
        reprs: representations of the same group.
        change_of_basis: optional invertible ``C`` (``size × size``).
        name: name of the result; default ``"[a]_[b]_..."`` from the summands' names.

    Returns:
        the direct sum; its non-linearities are those every summand supports (with a change of
        basis, at most ``norm`` and ``gated``).

    Example:
        >>> from structconv.group import directsum, dihedral_group
        >>> G = dihedral_group(4)
        >>> rho = directsum([G.irrep(1, 1), G.trivial_representation])
        >>> rho.name, rho.size, rho.irreps
        ('[irrep_1,1]_[irrep_0,0]', 3, ['irrep_1,1', 'irrep_0,0'])
    """
    reprs = list(reprs)
    G = _check_reprs(reprs)
    size = sum(r.size for r in reprs)
    irreps = [n for r in reprs for n in r.irreps]
    supported = frozenset.intersection(*[r.supported_nonlinearities for r in reprs])
    default_name = "_".join(f"[{r.name}]" for r in reprs)
    outer = None
    if change_of_basis is not None:
        C = np.asarray(change_of_basis, dtype=np.float64)
        if C.shape != (size, size):
            raise ValueError(f"change_of_basis: expected a ({size}, {size}) matrix, got shape {C.shape}")
        try:
            Cinv = np.linalg.inv(C)
        except np.linalg.LinAlgError as err:
            raise ValueError("change_of_basis: expected an invertible matrix, got a singular one") from err
        outer = (C, Cinv)
        supported = supported & {"norm", "gated"}
        default_name = f"{default_name}@{_matrix_digest(C)}"
    if name is None:
        name = default_name
    return Representation(G, name, irreps, None, supported, parts=reprs, outer=outer)


def change_basis(
    repr: Representation,
    change_of_basis: np.ndarray,
    name: str,
    supported_nonlinearities: Iterable[str] | None = None,
) -> Representation:
    r"""The representation ``C ρ(g) C^{-1}`` for an invertible ``C``.

    Args:
        repr: the representation.
        change_of_basis: ``C`` (``size × size``, invertible).
        name: name of the new representation.
        supported_nonlinearities: what the new representation supports (default: none).

    Example:
        >>> from structconv.group import change_basis, cyclic_group
        >>> rho = cyclic_group(4).irrep(1)
        >>> swapped = change_basis(rho, np.array([[0.0, 1.0], [1.0, 0.0]]), name="irrep_1_swapped")
        >>> swapped(1)
        array([[ 0.,  1.],
               [-1.,  0.]])
    """
    if not isinstance(repr, Representation):
        raise TypeError(f"repr: expected a Representation, got {type(repr).__name__} {repr!r}")
    C = np.asarray(change_of_basis, dtype=np.float64)
    if C.shape != (repr.size, repr.size):
        raise ValueError(
            f"change_of_basis: expected a ({repr.size}, {repr.size}) matrix, got shape {C.shape}"
        )
    try:
        Cinv = np.linalg.inv(C)
    except np.linalg.LinAlgError as err:
        raise ValueError("change_of_basis: expected an invertible matrix, got a singular one") from err
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    supported = frozenset() if supported_nonlinearities is None else frozenset(supported_nonlinearities)
    return Representation(repr.group, name, repr.irreps, None, supported, parts=[repr], outer=(C, Cinv))


def disentangle(repr: Representation) -> tuple[np.ndarray, list[Representation]]:
    r"""Split a representation into independent parts, up to a permutation of its basis.

    Finds the connected components of the sparsity pattern of ``Q`` (which basis vectors mix which
    irreps) and returns a permutation matrix ``P`` and the parts ``ρ_i`` with

    .. math:: \rho(g) = P^T \Big(\bigoplus_i \rho_i(g)\Big) P,

    the reference library's convention: ``P v`` writes a vector ``v`` of ``ρ`` as the concatenation of
    vectors of the ``ρ_i``. The parts are ordered by their first irrep in ``repr.irreps``; each keeps its
    basis vectors in their original order. A part equal to a known representation (a summand of a direct
    sum, ``'regular'``, ...) is that representation; a representation that does not split is returned
    unchanged (with ``P = I``).

    Args:
        repr: the representation to split.

    Returns:
        ``(P, parts)``: the permutation matrix and the list of representations.

    Example:
        >>> from structconv.group import cyclic_group, directsum, disentangle
        >>> G = cyclic_group(4)
        >>> P, parts = disentangle(G.regular_representation + G.irrep(1))
        >>> [p.name for p in parts]
        ['regular', 'irrep_1']
        >>> rho = directsum(parts)
        >>> bool(np.allclose(P.T @ rho(1) @ P, (G.regular_representation + G.irrep(1))(1)))
        True
    """
    if not isinstance(repr, Representation):
        raise TypeError(f"repr: expected a Representation, got {type(repr).__name__} {repr!r}")
    if repr._parts is not None and repr._outer is None and len(repr._parts) > 1:
        # a plain direct sum: disentangle each summand (no dense change of basis is formed)
        split = [disentangle(p) for p in repr._parts]
        return scipy.linalg.block_diag(*[P for P, _ in split]), [q for _, qs in split for q in qs]
    n = repr.size
    Q = repr.change_of_basis
    nirr = len(repr._irrep_objs)
    col_owner = np.repeat(np.arange(nirr), [irr.size for irr in repr._irrep_objs])
    mask = (np.abs(Q) > 1e-12) | (np.abs(repr.change_of_basis_inv.T) > 1e-12)
    rows, cols = np.nonzero(mask)
    # bipartite graph: nodes 0..n-1 are basis vectors, n..n+nirr-1 are irrep blocks
    adj = scipy.sparse.coo_matrix(
        (np.ones(rows.size), (rows, n + col_owner[cols])), shape=(n + nirr, n + nirr)
    ).tocsr()
    ncomp, labels = scipy.sparse.csgraph.connected_components(adj, directed=False)
    if ncomp == 1:
        return np.eye(n), [repr]
    row_lab = labels[:n]
    irr_lab = labels[n:]
    order = list(dict.fromkeys(irr_lab.tolist()))  # components by their first irrep
    P = np.zeros((n, n))
    parts: list[Representation] = []
    a = 0
    G = repr.group
    for c, lab in enumerate(order):
        r_idx = np.nonzero(row_lab == lab)[0]
        i_idx = np.nonzero(irr_lab == lab)[0]
        c_idx = np.nonzero(np.isin(col_owner, i_idx))[0]
        P[a + np.arange(r_idx.size), r_idx] = 1.0
        a += r_idx.size
        sub_irreps = [repr._irrep_objs[i].name for i in i_idx]
        Qi = Q[np.ix_(r_idx, c_idx)]
        Qi_inv = repr.change_of_basis_inv[np.ix_(c_idx, r_idx)]
        parts.append(_find_or_build_part(G, repr, c, sub_irreps, Qi, Qi_inv))
    return P, parts


def _find_or_build_part(
    G: Group, parent: Representation, c: int, irreps: list[str], Q: np.ndarray, Qinv: np.ndarray
) -> Representation:
    # reuse an existing representation with the same content (e.g. the summands of a direct sum)
    for r in G.representations.values():
        if (
            r.irreps == irreps
            and r.change_of_basis.shape == Q.shape
            and np.allclose(r.change_of_basis, Q, atol=1e-9)
        ):
            return r
    supported = parent.supported_nonlinearities & {"norm", "gated"}
    return Representation(G, f"{parent.name}_{c}", irreps, Q, supported, change_of_basis_inv=Qinv)
