"""The 2x2 building blocks of the planar irreps: rotations ``ψ``, the reflection ``χ`` and their product."""

from __future__ import annotations

import numpy as np

__all__ = ["psi", "chi", "psichi"]


def psi(theta: np.ndarray | float, k: int = 1, gamma: float = 0.0) -> np.ndarray:
    r"""The rotation matrix :math:`R(k\theta + \gamma)`; shape ``(2, 2, *theta.shape)`` for an array.

    Example:
        >>> from structconv.group import psi
        >>> psi(np.pi / 2).round(6) + 0.0
        array([[ 0., -1.],
               [ 1.,  0.]])
    """
    a = k * np.asarray(theta, dtype=np.float64) + gamma
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s], [s, c]])


def chi(s: int) -> np.ndarray:
    r"""The reflection :math:`\mathrm{diag}(1, (-1)^s)` for ``s`` in ``{0, 1}`` (an integer matrix).

    Example:
        >>> from structconv.group import chi
        >>> chi(1)
        array([[ 1,  0],
               [ 0, -1]])
    """
    if s not in (0, 1):
        raise ValueError(f"s: expected 0 or 1, got {s!r}")
    return np.array([[1, 0], [0, -1 if s else 1]])


def psichi(theta: np.ndarray | float, s: int, k: int = 1, gamma: float = 0.0) -> np.ndarray:
    r"""The product :math:`R(k\theta + \gamma)\,\mathrm{diag}(1, (-1)^s)`; for an array of angles,
    shape ``(2, 2, *theta.shape)``.

    Example:
        >>> from structconv.group import psichi
        >>> psichi(0.0, 1) + 0.0
        array([[ 1.,  0.],
               [ 0., -1.]])
    """
    m = psi(theta, k, gamma)
    if chi(s)[1, 1] < 0:
        m[:, 1] = -m[:, 1]
    return m
