"""Real irreducible representations of C_N, D_N, SO(2) and O(2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from structconv.group.group import TWO_PI, Group
from structconv.group.representation import Representation

__all__ = ["IrreducibleRepresentation"]


class IrreducibleRepresentation(Representation):
    r"""A real irreducible representation of a planar group (its change of basis is the identity).

    With :math:`R(\varphi)` the rotation matrix by :math:`\varphi` and :math:`S = \mathrm{diag}(1, -1)`:

    * C_N / SO(2), ``irrep_k``: ``[1]`` for ``k = 0``; :math:`R(k\theta)` for ``0 < k < N/2`` (any
      ``k ≥ 1`` for SO(2)); :math:`[(-1)^r]` for ``k = N/2`` (``N`` even, element ``r``).
    * D_N / O(2), ``irrep_j,k`` at ``(f, θ)``: ``(0,0)`` → 1; ``(1,0)`` → :math:`(-1)^f`;
      ``(1,k)``, ``k ≥ 1`` → :math:`R(k\theta) S^f`; ``N`` even: ``(0,N/2)`` → :math:`(-1)^r`,
      ``(1,N/2)`` → :math:`(-1)^{r+f}`.

    Irreps are created by their group (:meth:`Group.irrep`), never directly.

    Example:
        >>> from structconv.group import dihedral_group
        >>> psi = dihedral_group(4).irrep(1, 1)
        >>> psi.name, psi.id, psi.size, psi.attributes
        ('irrep_1,1', (1, 1), 2, {'frequency': 1, 'flip_frequency': 1})
        >>> psi((1, 1))
        array([[ 0.,  1.],
               [ 1.,  0.]])
    """

    def __init__(self, group: Group, id: tuple[int, ...], size: int, n_rotations: int) -> None:
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
        name = "irrep_" + ",".join(str(i) for i in self._id)
        super().__init__(group, name, [name], np.eye(size), supported)

    def _resolve_irreps(self, irreps: Sequence[str]) -> list[IrreducibleRepresentation]:
        return [self]

    @property
    def size(self) -> int:
        """Dimension (1 or 2)."""
        return self._isize

    @property
    def id(self) -> tuple[int, ...]:
        """``(k,)`` for C_N / SO(2), ``(j, k)`` for D_N / O(2)."""
        return self._id

    @property
    def attributes(self) -> dict[str, int]:
        """``{"frequency": k}`` plus ``"flip_frequency": j`` for D_N / O(2)."""
        return dict(self._attributes)

    @property
    def sum_of_squares_constituents(self) -> int:
        """2 for the 2-dimensional irreps of C_N / SO(2) (complex type), 1 otherwise."""
        return self._sos

    @property
    def irreducible(self) -> bool:
        """Always ``True``."""
        return True

    def is_trivial(self) -> bool:
        """Whether this is the trivial irrep."""
        return self._j == 0 and self._k == 0

    def _evaluate_arrays(self, flips: np.ndarray, rots: np.ndarray) -> np.ndarray:
        E = flips.shape[0]
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

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _rebuild_irrep, (self._group, self._id)


def _rebuild_irrep(group: Group, id: tuple[int, ...]) -> IrreducibleRepresentation:
    return group.irrep(*id)
