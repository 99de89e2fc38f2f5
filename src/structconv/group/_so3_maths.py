r"""Float64 maths of SO(3): quaternions, parametrizations, real Wigner D matrices, Clebsch-Gordan.

Conventions (those of escnn 1.0.11, checked against it by ``tests/test_group3d.py``):

* A rotation is a unit quaternion ``q = (x, y, z, w)`` (scalar **last**, as :mod:`scipy.spatial.transform`);
  ``q`` and ``-q`` are the same rotation. Products are Hamilton products, ``q1 q2`` = "apply ``q2`` first".
* Parametrizations (``param``): ``'Q'`` (quaternion), ``'MAT'`` (3x3 rotation matrix), ``'EV'`` (rotation
  vector: axis times angle) and the 24 Euler-angle sequences of scipy (``'xyz'``, ..., ``'zyz'``: extrinsic;
  ``'XYZ'``, ..., ``'ZYZ'``: intrinsic).
* The real irrep of degree ``l`` (size ``2l+1``) is the action :math:`(R\cdot f)(x) = f(R^{-1}x)` on the real
  spherical harmonics :math:`Y_{l,m}`, ``m = -l..l`` in this order, with the Condon-Shortley phase:
  :math:`Y_{l,m} = \tfrac{1}{\sqrt 2}((-1)^m Y_l^m + Y_l^{-m})` for ``m > 0``,
  :math:`Y_{l,0} = Y_l^0`, :math:`Y_{l,m} = \tfrac{i}{\sqrt 2}(Y_l^{m} - (-1)^m Y_l^{-m})` for ``m < 0``
  (e.g. Wikipedia, "Spherical harmonics", real form). For ``l = 1`` the basis is ``(y, z, x)``.
* Evaluation: with the ZYZ Euler angles :math:`R = R_z(\alpha) R_y(\beta) R_z(\gamma)` (read from the
  quaternion with ``atan2``, accurate everywhere, including near :math:`\beta = 0`),

  .. math:: D^l(R) = Z^l(\alpha)\, K^l Z^l(\beta) K^{l\top} Z^l(\gamma), \qquad K^l = D^l(R_x(-\pi/2)),

  where :math:`Z^l(\theta)` (rotation about z) is closed form (cos / sin of :math:`m\theta` on the pairs
  :math:`(Y_{l,m}, Y_{l,-m})`) and
  :math:`K^l = \exp(-\tfrac{\pi}{2} A^l_x)` is computed once per ``l`` (by the eigenvectors of the Hermitian
  :math:`iA^l_x`, whose eigenvalues are the integers ``-l..l``) from
  the real generator :math:`A^l_x = C^\dagger(-iJ_x)C` (angular momentum matrices :math:`J`, ``C`` the change
  to the real basis above). Products of orthogonal matrices: the homomorphism holds to ~1e-14.
* Clebsch-Gordan: complex coefficients :math:`\langle l_1 m_1 l_2 m_2 | J M\rangle` from Racah's formula in
  exact integer arithmetic (Condon-Shortley), taken to the real basis,
  :math:`C = (C_1 \otimes C_2)^\dagger W C_J`, times :math:`(-i)^{(l_1+l_2+J) \bmod 2}` so that it is real
  (escnn's sign). ``C[a, b, c]`` satisfies
  :math:`\sum_{ab} D^{l_1}_{ia} D^{l_2}_{jb} C_{abc} = \sum_k C_{ijk} D^J_{kc}` and has orthonormal columns.

References: Cesa, Lang, Weiler, "A program to build E(N)-equivariant steerable CNNs", ICLR 2022 (escnn);
Varshalovich et al., "Quantum theory of angular momentum" (Racah's formula).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

__all__ = [
    "EULER_SEQUENCES",
    "PARAMETRIZATIONS",
    "quat_mul",
    "quat_inv",
    "quat_canonical",
    "quat_to_matrix",
    "matrix_to_quat",
    "quat_to_rotvec",
    "rotvec_to_quat",
    "quat_from_axis_angle",
    "to_quat",
    "from_quat",
    "zyz_from_quat",
    "real_generators",
    "wigner_D",
    "clebsch_gordan_complex",
    "clebsch_gordan_real",
]

#: The 24 Euler-angle sequences (lower case: extrinsic, upper case: intrinsic), as ``scipy``.
EULER_SEQUENCES: tuple[str, ...] = tuple(
    s
    for case in (str.lower, str.upper)
    for s in map(
        case,
        ["xyz", "xzy", "yxz", "yzx", "zxy", "zyx", "xyx", "xzx", "yxy", "yzy", "zxz", "zyz"],
    )
)

#: Every parametrization of a rotation accepted by ``element(value, param)`` / ``GroupElement.to``.
PARAMETRIZATIONS: tuple[str, ...] = ("Q", "MAT", "EV") + EULER_SEQUENCES

_UNIT_ATOL = 1e-6  # how far from unit norm / orthogonality an input may be


# ---------------------------------------------------------------------- quaternions
def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a b`` of quaternions ``(..., 4)`` (scalar last): the rotation "``b``, then ``a``".

    Example:
        >>> qz = np.array([0.0, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)])  # 90° about z
        >>> quat_mul(qz, qz).round(12) + 0.0  # 180° about z
        array([0., 0., 1., 0.])
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def quat_inv(q: np.ndarray) -> np.ndarray:
    """Inverse (conjugate) of unit quaternions ``(..., 4)``."""
    q = np.array(q, dtype=np.float64, copy=True)
    q[..., :3] *= -1.0
    return q


def quat_canonical(q: np.ndarray) -> np.ndarray:
    """The representative of ``±q`` whose first non-zero entry (order ``w, x, y, z``; ``|.| > 1e-9``) is
    positive, for ``(..., 4)`` arrays."""
    q = np.asarray(q, dtype=np.float64)
    order = q[..., [3, 0, 1, 2]]
    nz = np.abs(order) > 1e-9
    first = np.argmax(nz, axis=-1)
    lead = np.take_along_axis(order, first[..., None], axis=-1)[..., 0]
    sign = np.where(lead < 0, -1.0, 1.0)
    return q * sign[..., None]


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` of unit quaternions ``(..., 4)``."""
    q = np.asarray(q, dtype=np.float64)
    x, y, z, w = np.moveaxis(q, -1, 0)
    R = np.empty(q.shape[:-1] + (3, 3))
    R[..., 0, 0] = 1 - 2 * (y * y + z * z)
    R[..., 0, 1] = 2 * (x * y - z * w)
    R[..., 0, 2] = 2 * (x * z + y * w)
    R[..., 1, 0] = 2 * (x * y + z * w)
    R[..., 1, 1] = 1 - 2 * (x * x + z * z)
    R[..., 1, 2] = 2 * (y * z - x * w)
    R[..., 2, 0] = 2 * (x * z - y * w)
    R[..., 2, 1] = 2 * (y * z + x * w)
    R[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return R


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` of rotation matrices ``(..., 3, 3)`` (Shepperd's method: the largest
    of ``w, x, y, z`` is computed first, so the result is accurate for every rotation)."""
    R = np.asarray(R, dtype=np.float64)
    shape = R.shape[:-2]
    M = R.reshape(-1, 3, 3)
    tr = M[:, 0, 0] + M[:, 1, 1] + M[:, 2, 2]
    cand = np.stack([M[:, 0, 0], M[:, 1, 1], M[:, 2, 2], tr], axis=1)
    k = np.argmax(cand, axis=1)
    q = np.empty((M.shape[0], 4))
    for i in range(M.shape[0]):
        m = M[i]
        if k[i] == 3:
            w = 0.5 * math.sqrt(max(1.0 + tr[i], 0.0))
            q[i] = [
                (m[2, 1] - m[1, 2]) / (4 * w),
                (m[0, 2] - m[2, 0]) / (4 * w),
                (m[1, 0] - m[0, 1]) / (4 * w),
                w,
            ]
        else:
            a = k[i]
            b, c = (a + 1) % 3, (a + 2) % 3
            s = 0.5 * math.sqrt(max(1.0 + m[a, a] - m[b, b] - m[c, c], 0.0))
            v = np.empty(4)
            v[a] = s
            v[b] = (m[b, a] + m[a, b]) / (4 * s)
            v[c] = (m[c, a] + m[a, c]) / (4 * s)
            v[3] = (m[c, b] - m[b, c]) / (4 * s)
            q[i] = v
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.reshape(shape + (4,))


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (axis times angle in ``[0, π]``) ``(..., 3)`` of unit quaternions ``(..., 4)``."""
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., 3:4] < 0, -q, q)
    v = q[..., :3]
    s = np.linalg.norm(v, axis=-1)
    angle = 2.0 * np.arctan2(s, q[..., 3])
    # angle / sin(angle/2), with its series near 0
    small = s < 1e-8
    factor = np.where(small, 2.0 + (angle**2) / 12.0, angle / np.where(small, 1.0, s))
    return v * factor[..., None]


def rotvec_to_quat(v: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` of rotation vectors ``(..., 3)``."""
    v = np.asarray(v, dtype=np.float64)
    angle = np.linalg.norm(v, axis=-1)
    small = angle < 1e-8
    # sin(angle/2) / angle, with its series near 0
    factor = np.where(small, 0.5 - angle**2 / 48.0, np.sin(angle / 2.0) / np.where(small, 1.0, angle))
    return np.concatenate([v * factor[..., None], np.cos(angle / 2.0)[..., None]], axis=-1)


def quat_from_axis_angle(axis: Any, angle: float) -> np.ndarray:
    """The quaternion of the rotation by ``angle`` about ``axis`` (normalised).

    Example:
        >>> quat_from_axis_angle([0, 0, 2], np.pi).round(12) + 0.0
        array([0., 0., 1., 0.])
    """
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    return np.concatenate([a * math.sin(angle / 2.0), [math.cos(angle / 2.0)]])


def _check_param(param: Any) -> str:
    if not isinstance(param, str) or param not in PARAMETRIZATIONS:
        raise ValueError(
            f"param: {param!r} is not a parametrization of a rotation; expected one of "
            f"{list(PARAMETRIZATIONS)}"
        )
    return param


def to_quat(value: Any, param: str = "Q", what: str = "element") -> np.ndarray:
    """Validate a rotation given in parametrization ``param`` and return its unit quaternion ``(4,)``.

    Raises:
        ValueError: ``param`` is unknown, or ``value`` is not a rotation in that parametrization (wrong shape,
            not finite, a quaternion of norm not 1, a matrix that is not orthogonal with determinant 1;
            tolerance 1e-6, the value is then re-normalised).

    Example:
        >>> to_quat(np.eye(3), "MAT")
        array([0., 0., 0., 1.])
        >>> to_quat([np.pi, 0.0, 0.0], "EV").round(12) + 0.0
        array([1., 0., 0., 0.])
    """
    param = _check_param(param)
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}: {value!r} is not a rotation in the parametrization {param!r}") from err
    expected = {"Q": (4,), "MAT": (3, 3)}.get(param, (3,))
    if v.shape != expected:
        raise ValueError(
            f"{what}: {value!r} is not a rotation in the parametrization {param!r}; expected an array of "
            f"shape {expected}, got shape {v.shape}"
        )
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"{what}: {value!r} is not a rotation in the parametrization {param!r}: it contains NaN or "
            "infinite entries; expected finite numbers"
        )
    if param == "Q":
        n = float(np.linalg.norm(v))
        if abs(n - 1.0) > _UNIT_ATOL:
            raise ValueError(f"{what}: {value!r} is not a unit quaternion (norm {n:.6g}); expected norm 1")
        return v / n
    if param == "MAT":
        if not np.allclose(v @ v.T, np.eye(3), atol=_UNIT_ATOL) or abs(np.linalg.det(v) - 1.0) > _UNIT_ATOL:
            raise ValueError(f"{what}: {value!r} is not a rotation matrix (orthogonal, determinant 1)")
        return matrix_to_quat(v)
    if param == "EV":
        return rotvec_to_quat(v)
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler(param, v).as_quat()


def from_quat(q: np.ndarray, param: str = "Q") -> np.ndarray:
    """The rotation with unit quaternion ``q`` ``(4,)`` in parametrization ``param`` (a new array).

    Example:
        >>> q = to_quat([0.0, 0.0, np.pi / 2], "EV")
        >>> from_quat(q, "MAT").round(12) + 0.0
        array([[ 0., -1.,  0.],
               [ 1.,  0.,  0.],
               [ 0.,  0.,  1.]])
    """
    param = _check_param(param)
    q = np.asarray(q, dtype=np.float64)
    if param == "Q":
        return q.copy()
    if param == "MAT":
        return quat_to_matrix(q)
    if param == "EV":
        return quat_to_rotvec(q)
    from scipy.spatial.transform import Rotation

    return Rotation.from_quat(q).as_euler(param)


def zyz_from_quat(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""ZYZ Euler angles ``(α, β, γ)`` of unit quaternions ``(E, 4)``: :math:`R = R_z(α) R_y(β) R_z(γ)`.

    From :math:`w = \cos\frac β2 \cos\frac{α+γ}2`, :math:`z = \cos\frac β2 \sin\frac{α+γ}2`,
    :math:`y = \sin\frac β2 \cos\frac{α-γ}2`, :math:`x = -\sin\frac β2 \sin\frac{α-γ}2`, with ``atan2``
    only (no ``arccos``): accurate to rounding for every rotation.
    """
    x, y, z, w = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    s = np.arctan2(z, w)
    d = np.arctan2(-x, y)
    beta = 2.0 * np.arctan2(np.hypot(x, y), np.hypot(z, w))
    return s + d, beta, s - d


# ---------------------------------------------------------------------- real Wigner D matrices
def _real_basis(l: int) -> np.ndarray:
    """``C``: its column ``l+r`` holds the coefficients of the real ``Y_{l,r}`` on the complex ``Y_l^m``."""
    d = 2 * l + 1
    C = np.zeros((d, d), dtype=np.complex128)
    s2 = math.sqrt(0.5)
    C[l, l] = 1.0
    for m in range(1, l + 1):
        C[l + m, l + m] = (-1) ** m * s2
        C[l - m, l + m] = s2
        C[l - m, l - m] = 1j * s2
        C[l + m, l - m] = -1j * (-1) ** m * s2
    return C


@functools.cache
def real_generators(l: int) -> np.ndarray:
    r"""The real antisymmetric generators :math:`A^l_x, A^l_y, A^l_z` ``(3, 2l+1, 2l+1)``:
    :math:`D^l(\exp(\theta\, n \times)) = \exp(\theta\, n \cdot A^l)` (read-only, cached).

    Example:
        >>> A = real_generators(1)  # on (y, z, x): the generator of rotations about z mixes y and x
        >>> A[2] + 0.0
        array([[ 0.,  0.,  1.],
               [ 0.,  0.,  0.],
               [-1.,  0.,  0.]])
    """
    d = 2 * l + 1
    m = np.arange(-l, l + 1, dtype=np.float64)
    Jp = np.zeros((d, d), dtype=np.complex128)
    Jp[np.arange(1, d), np.arange(d - 1)] = np.sqrt((l - m[:-1]) * (l + m[:-1] + 1))
    Jm = Jp.conj().T
    Js = [(Jp + Jm) / 2.0, (Jp - Jm) / 2.0j, np.diag(m).astype(np.complex128)]
    C = _real_basis(l)
    A = np.stack([(C.conj().T @ (-1j * J) @ C).real for J in Js])
    A = 0.5 * (A - np.transpose(A, (0, 2, 1)))  # exactly antisymmetric
    A.setflags(write=False)
    return A


@functools.cache
def _k_matrix(l: int) -> np.ndarray:
    """``K^l = D^l(R_x(-π/2))`` (maps rotations about z to rotations about y: ``D(R_y(β)) = K Z(β) K^T``)."""
    # exp(-π/2 A_x) through the eigenvectors of the Hermitian i·A_x, whose eigenvalues are the integers
    # -l..l (exactly known): accurate to ~1e-15 for every l (scipy's expm loses ~1e-13 from l = 5)
    w, V = np.linalg.eigh(1j * real_generators(l)[0])
    K = ((V * np.exp(0.5j * math.pi * np.round(w))) @ V.conj().T).real
    u, _, vt = np.linalg.svd(K)
    K = u @ vt  # the nearest orthogonal matrix
    K[np.abs(K) < 1e-15] = 0.0
    K.setflags(write=False)
    return K


def _z_rotation(l: int, theta: np.ndarray) -> np.ndarray:
    """``D^l(R_z(θ))`` for angles ``(E,)``: ``(E, 2l+1, 2l+1)``."""
    E = theta.shape[0]
    Z = np.zeros((E, 2 * l + 1, 2 * l + 1))
    Z[:, l, l] = 1.0
    if l:
        k = np.arange(1, l + 1)
        c, s = np.cos(theta[:, None] * k), np.sin(theta[:, None] * k)
        p, n = l + k, l - k
        Z[:, p, p] = c
        Z[:, n, n] = c
        Z[:, n, p] = s
        Z[:, p, n] = -s
    return Z


def wigner_D(l: int, q: np.ndarray) -> np.ndarray:
    r"""Real Wigner D matrices of degree ``l`` at unit quaternions ``q`` ``(E, 4)``: ``(E, 2l+1, 2l+1)``.

    Example:
        >>> q = to_quat([0.0, 0.0, np.pi / 2], "EV")[None]  # 90° about z, on the basis (y, z, x)
        >>> wigner_D(1, q)[0].round(12) + 0.0
        array([[ 0.,  0.,  1.],
               [ 0.,  1.,  0.],
               [-1.,  0.,  0.]])
    """
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    if l == 0:
        return np.ones((q.shape[0], 1, 1))
    a, b, g = zyz_from_quat(q)
    K = _k_matrix(l)
    return _z_rotation(l, a) @ K @ _z_rotation(l, b) @ K.T @ _z_rotation(l, g)


# ---------------------------------------------------------------------- Clebsch-Gordan coefficients
@functools.cache
def clebsch_gordan_complex(j1: int, j2: int, J: int) -> np.ndarray:
    r"""Complex (Condon-Shortley) coefficients :math:`\langle j_1 m_1 j_2 m_2 | J M\rangle` as a real array
    ``W[m1 + j1, m2 + j2, M + J]`` (Racah's formula in exact integer arithmetic, one rounding; read-only,
    cached).

    Example:
        >>> W = clebsch_gordan_complex(1, 1, 0)
        >>> float(W[2, 0, 0]) ** 2  # <1 1, 1 -1 | 0 0>^2 = 1/3
        0.3333333333333333
    """
    f = math.factorial
    W = np.zeros((2 * j1 + 1, 2 * j2 + 1, 2 * J + 1))
    if not abs(j1 - j2) <= J <= j1 + j2:
        return W
    # exact integers throughout: W = s * sqrt(v) with s = sum_k (-1)^k / N_k, v a ratio of factorials;
    # W^2 = (sum_k (-1)^k L/N_k)^2 v_num / (L^2 v_den) is one correctly rounded division
    pre_num = (2 * J + 1) * f(J + j1 - j2) * f(J - j1 + j2) * f(j1 + j2 - J)
    pre_den = f(j1 + j2 + J + 1)
    for m1 in range(-j1, j1 + 1):
        for m2 in range(-j2, j2 + 1):
            M = m1 + m2
            if abs(M) > J:
                continue
            dens: list[tuple[int, int]] = []
            for k in range(j1 + j2 - J + 1):
                args = (k, j1 + j2 - J - k, j1 - m1 - k, j2 + m2 - k, J - j2 + m1 + k, J - j1 - m2 + k)
                if min(args) < 0:
                    continue
                den = 1
                for a in args:
                    den *= f(a)
                dens.append(((-1) ** k, den))
            if not dens:
                continue
            L = math.lcm(*[d for _, d in dens])
            num = sum(sg * (L // d) for sg, d in dens)
            if num == 0:
                continue
            v_num = pre_num * f(J + M) * f(J - M) * f(j1 - m1) * f(j1 + m1) * f(j2 - m2) * f(j2 + m2)
            W[m1 + j1, m2 + j2, M + J] = math.copysign(
                math.sqrt((num * num * v_num) / (L * L * pre_den)), num
            )
    W.setflags(write=False)
    return W


@functools.cache
def clebsch_gordan_real(j1: int, j2: int, J: int) -> np.ndarray:
    r"""Real Clebsch-Gordan coefficients ``C[a, b, c]`` ``(2j1+1, 2j2+1, 2J+1)`` of the real irreps:
    :math:`(D^{j_1} \otimes D^{j_2}) C = C D^J` with orthonormal columns (all zeros if ``J`` is not in
    ``|j1-j2| .. j1+j2``); escnn's sign. Read-only, cached.

    Example:
        >>> C = clebsch_gordan_real(1, 1, 0)  # the invariant of two vectors: -(their dot product) / sqrt(3)
        >>> (C[:, :, 0] * np.sqrt(3)).round(12) + 0.0
        array([[-1.,  0.,  0.],
               [ 0., -1.,  0.],
               [ 0.,  0., -1.]])
    """
    W = clebsch_gordan_complex(j1, j2, J).astype(np.complex128)
    C1, C2, CJ = _real_basis(j1), _real_basis(j2), _real_basis(J)
    R = np.tensordot(W, CJ, axes=(2, 0))  # (a, b, t)
    R = np.tensordot(C1.conj(), R, axes=(0, 0))  # (r, b, t)
    R = np.tensordot(C2.conj(), R, axes=(0, 1)).transpose(1, 0, 2)  # (r, s, t)
    if (j1 + j2 + J) % 2:
        R = R * (-1j)
    out = np.ascontiguousarray(R.real)
    out[np.abs(out) < 1e-15] = 0.0
    out.setflags(write=False)
    return out
