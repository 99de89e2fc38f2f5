"""Build-time linear algebra shared by the groups and the kernel bases."""

from __future__ import annotations

import numpy as np

from structconv._threads import one_blas_thread_for

__all__ = ["canonical_range"]


def canonical_range(proj: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """An orthonormal basis ``[k, n]`` of the range of the orthogonal projector ``proj [n, n]``, from the
    projections of the fixed ``probe [n, k]`` by Gram-Schmidt (QR with a positive diagonal).

    It depends only on the range (and the probe), not on how the range was found: an eigensolver's basis of
    a degenerate eigenspace, and the signs of its vectors, vary with the LAPACK build and its threads.

    Example:
        >>> P = np.diag([1.0, 1.0, 0.0])
        >>> canonical_range(P, np.array([[2.0], [-1.0], [5.0]])).round(6) + 0.0
        array([[ 0.894427, -0.447214,  0.      ]])
    """
    if probe.shape[1] == 0:
        return np.zeros((0, proj.shape[0]))
    one_blas_thread_for(proj)
    q, r = np.linalg.qr(proj @ probe)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    return np.ascontiguousarray(q.T)
