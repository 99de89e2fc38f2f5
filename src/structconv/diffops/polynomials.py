r"""Homogeneous polynomials in two variables, the symbols of partial differential operators.

A partial differential operator with constant coefficients :math:`P(\partial_x, \partial_y)` is described by
its symbol, the polynomial :math:`P(x, y)`.  All operators built here are homogeneous: a polynomial of
degree ``n`` is stored as the coefficient vector ``c`` of length ``n + 1`` with

.. math::
    P(x, y) = \sum_{i=0}^{n} c_i \, x^{n-i} y^{i},

so ``c_i`` is the coefficient of the operator :math:`\partial_x^{n-i} \partial_y^{i}`.  Matrix-valued
polynomials are arrays ``(..., n + 1)``; every function acts on the last axis and broadcasts over the
others.  Multiplying two homogeneous polynomials is the convolution of their coefficient vectors (write
:math:`x^{n-i} y^i = x^n t^i` with :math:`t = y / x`).

Example:
    >>> homogenized_chebyshev(2, "t")  # x^2 - y^2 = r^2 cos(2 phi)
    array([ 1.,  0., -1.])
    >>> multiply_polynomials(laplacian_power(1), np.array([1.0, 0.0]))  # (x^2 + y^2) x
    array([1., 0., 1., 0.])
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import polynomial as npoly

__all__ = [
    "homogenized_chebyshev",
    "laplacian_power",
    "multiply_polynomials",
    "transform_polynomial",
    "evaluate_polynomial",
    "polynomial_degree",
]


def polynomial_degree(coefficients: np.ndarray) -> int:
    """Degree of a homogeneous polynomial given by its coefficients (``len(last axis) - 1``).

    Example:
        >>> polynomial_degree(np.zeros((2, 2, 4)))
        3
    """
    return int(np.shape(coefficients)[-1]) - 1


def homogenized_chebyshev(n: int, kind: str = "t") -> np.ndarray:
    r"""Homogenised Chebyshev polynomial :math:`r^n \cos n\varphi` ("t") or :math:`r^n \sin n\varphi` ("u").

    These are the real and imaginary parts of :math:`(x + iy)^n`, i.e. :math:`r^n T_n(x / r)` and
    :math:`r^{n-1} y \, U_{n-1}(x / r)`: the harmonic polynomials of angular frequency ``n``.

    Args:
        n: the degree (``>= 0``).
        kind: ``"t"`` (cosine part) or ``"u"`` (sine part; identically zero for ``n == 0``).

    Returns:
        float64 coefficients of length ``n + 1``.

    Raises:
        ValueError: on a negative degree or an unknown kind.

    Example:
        >>> homogenized_chebyshev(3, "u")  # 3 x^2 y - y^3
        array([ 0.,  3.,  0., -1.])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n={n!r} is not valid; expected an int >= 0")
    if kind not in ("t", "u"):
        raise ValueError(f"kind={kind!r} is not known; expected 't' or 'u'")
    n = int(n)
    i = np.arange(n + 1)
    binom = np.array([math.comb(n, int(j)) for j in i], dtype=np.float64)
    # (x + iy)^n = sum_i C(n, i) x^(n-i) (i y)^i;  i^i = 1, i, -1, -i, ...
    if kind == "t":
        phase = np.where(i % 2 == 0, np.where(i % 4 == 0, 1.0, -1.0), 0.0)
    else:
        phase = np.where(i % 2 == 1, np.where(i % 4 == 1, 1.0, -1.0), 0.0)
    return binom * phase


def laplacian_power(p: int) -> np.ndarray:
    r"""Coefficients of :math:`(x^2 + y^2)^p`, the symbol of the ``p``-th power of the Laplacian.

    Example:
        >>> laplacian_power(2)
        array([1., 0., 2., 0., 1.])
    """
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0:
        raise ValueError(f"p={p!r} is not valid; expected an int >= 0")
    return np.asarray(npoly.polypow(np.array([1.0, 0.0, 1.0]), int(p)), dtype=np.float64)


def multiply_polynomials(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product of two homogeneous polynomials (broadcast over the leading axes).

    Args:
        a: coefficients ``(..., n + 1)``.
        b: coefficients ``(..., m + 1)``.

    Returns:
        coefficients ``(..., n + m + 1)``.

    Example:
        >>> multiply_polynomials(np.array([1.0, 1.0]), np.array([1.0, -1.0]))  # (x + y)(x - y)
        array([ 1.,  0., -1.])
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n, m = a.shape[-1], b.shape[-1]
    shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    out = np.zeros(shape + (n + m - 1,), dtype=np.float64)
    for j in range(m):  # build-time only: degrees are small
        out[..., j : j + n] += a * b[..., j : j + 1]
    return out


def _transform_matrix(n: int, matrix: np.ndarray) -> np.ndarray:
    """``T`` with ``coeffs(P(M x)) = T @ coeffs(P)`` for homogeneous polynomials of degree ``n``."""
    (a, b), (c, d) = np.asarray(matrix, dtype=np.float64)
    # in t = y / x form, (M x)_1 = x (a + b t), (M x)_2 = x (c + d t)
    out = np.zeros((n + 1, n + 1), dtype=np.float64)
    for i in range(n + 1):
        col = npoly.polymul(npoly.polypow([a, b], n - i), npoly.polypow([c, d], i))
        col = np.asarray(col, dtype=np.float64)[: n + 1]
        out[: len(col), i] = col
    return out


def transform_polynomial(coefficients: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Coefficients of ``x -> P(M x)`` for a 2x2 matrix ``M``.

    Args:
        coefficients: ``(..., n + 1)``.
        matrix: ``(2, 2)``.

    Returns:
        coefficients ``(..., n + 1)`` of the composed polynomial.

    Example:
        >>> swap = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> transform_polynomial(np.array([1.0, 2.0, 3.0]), swap)  # x^2 + 2xy + 3y^2 at (y, x)
        array([3., 2., 1.])
    """
    coefficients = np.asarray(coefficients, dtype=np.float64)
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 2):
        raise ValueError(f"matrix has shape {matrix.shape}; expected (2, 2)")
    t = _transform_matrix(coefficients.shape[-1] - 1, matrix)
    return coefficients @ t.T


def evaluate_polynomial(coefficients: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Evaluate homogeneous polynomials at points of the plane.

    Args:
        coefficients: ``(..., n + 1)``.
        points: ``(2, P)`` plane coordinates ``(x, y)``.

    Returns:
        values ``(..., P)``.

    Example:
        >>> evaluate_polynomial(np.array([0.0, 1.0, 0.0]), np.array([[2.0], [3.0]]))  # x y
        array([6.])
    """
    coefficients = np.asarray(coefficients, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    n = coefficients.shape[-1] - 1
    i = np.arange(n + 1)
    mono = points[0][None, :] ** (n - i)[:, None] * points[1][None, :] ** i[:, None]
    return coefficients @ mono
