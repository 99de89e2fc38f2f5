r"""Discretisation of PDOs into convolution stencils on the pixel grid.

A stencil :math:`w` sampled at the plane coordinates :math:`q` of the kernel's pixels (see
:func:`structconv.kernels.sampling.kernel_grid`) approximates the operator :math:`P(\partial)` when the
cross-correlation reproduces it,

.. math::
    \sum_q w(q) \, f(p + q) \approx [P(\partial) f](p).

Three methods are provided; each works monomial by monomial (:math:`\partial_x^a \partial_y^b`) and is
linear in the symbol's coefficients:

* ``"fd"`` (finite differences, the default): the tensor product of two 1-d stencils that use all the
  ``kernel_size`` points of their axis.  Each 1-d stencil solves the Vandermonde system
  :math:`\sum_i w_i t_i^m = m! \, \delta_{m a}` for ``m < kernel_size``, so it is exact on polynomials of
  degree ``< kernel_size`` in each variable (accuracy ``kernel_size - a``, one more for symmetric
  stencils of even parity).
* ``"gauss"`` (when ``smoothing`` is set): derivatives of a Gaussian of standard deviation ``smoothing``
  (pixels), :math:`w = (-1)^{a+b} \partial_x^a \partial_y^b G`, with ``G`` normalised to sum to one on the
  grid; i.e. the PDO applied after Gaussian smoothing.
* ``"rbffd"``: radial-basis-function finite differences on the 2-d grid, with the RBF named by ``phi``
  (``"ga"`` Gaussian :math:`e^{-r^2}`, ``"phs1"``, ``"phs3"``, ``"phs5"``, ``"phs7"`` polyharmonic
  splines :math:`r^k`, ``"imq"``, ``"iq"``, ``"mq"``) augmented with all monomials of total degree up to
  ``max(a + b, m_phi)`` (``m_phi`` the RBF's minimal degree, lowered if the points are too few); the
  stencil solves the saddle-point system of interpolation plus polynomial reproduction.  Derivatives
  of a polyharmonic spline that are singular at the centre are set to 0 there (their symmetric value).
  Polyharmonic splines are scale-free, so their systems are solved on points scaled to the unit square.

All three methods are equivariant under the symmetries of the square grid (90° rotations, reflections
across the axes and diagonals), so the discretised steerable PDOs are exactly equivariant to those.
The monomial stencils are cached in memory by their arguments; see :mod:`structconv.diffops.cache`.

The relation between ``kernel_size``, ``accuracy`` and ``maximum_order``: the symmetric stencil of
derivative order ``d`` on ``n`` points has accuracy :func:`guaranteed_accuracy` ``= 2 ⌊(n - d + 1)/2⌋``;
:func:`required_points` and :func:`largest_possible_order` invert it, and
:func:`resolve_kernel_size` fills in the missing one of the three (default accuracy 2).

Example:
    >>> fd_weights(2, symmetric_points(3))
    array([ 1., -2.,  1.])
    >>> resolve_kernel_size(kernel_size=5)
    (5, 2, 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import eval_hermitenorm

from structconv.diffops import cache as _cache
from structconv.kernels.sampling import kernel_grid

__all__ = [
    "METHODS",
    "RADIAL_BASIS_FUNCTIONS",
    "symmetric_points",
    "guaranteed_accuracy",
    "required_points",
    "largest_possible_order",
    "resolve_kernel_size",
    "fd_weights",
    "monomial_stencils",
    "discretize_homogeneous_polynomial",
]

#: Discretisation methods.
METHODS = ("fd", "gauss", "rbffd")
#: Radial basis functions understood by RBF-FD (``name -> minimal polynomial degree``).
RADIAL_BASIS_FUNCTIONS = {"ga": -1, "imq": -1, "iq": -1, "mq": 0, "phs1": 0, "phs3": 1, "phs5": 2, "phs7": 3}


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; expected an int >= {minimum}")
    return int(value)


def symmetric_points(n: int, dilation: float = 1.0) -> np.ndarray:
    """``n`` equispaced coordinates centred on 0 with spacing ``dilation`` (half-integers for even ``n``).

    Example:
        >>> symmetric_points(4)
        array([-1.5, -0.5,  0.5,  1.5])
    """
    n = _check_int("n", n, 1)
    return (np.arange(n, dtype=np.float64) - (n - 1) / 2) * float(dilation)


def guaranteed_accuracy(num_points: int, order: int) -> int:
    """Accuracy of the symmetric 1-d stencil of derivative ``order`` on ``num_points`` points.

    It is ``2 ⌊(num_points - order + 1) / 2⌋``: a symmetric stencil of ``n`` points is exact on polynomials
    of degree ``< n`` and its error terms have the parity of the derivative.  ``0`` means no consistent
    stencil exists (``order >= num_points``).

    Example:
        >>> [guaranteed_accuracy(5, d) for d in range(6)]
        [6, 4, 4, 2, 2, 0]
    """
    num_points = _check_int("num_points", num_points, 1)
    order = _check_int("order", order, 0)
    if order >= num_points:
        return 0
    return 2 * ((num_points - order + 1) // 2)


def required_points(order: int, accuracy: int) -> int:
    """Smallest number of points whose symmetric stencil of derivative ``order`` reaches ``accuracy``.

    Example:
        >>> [required_points(d, 2) for d in range(5)]
        [1, 2, 3, 4, 5]
    """
    order = _check_int("order", order, 0)
    accuracy = _check_int("accuracy", accuracy, 1)
    return order + 2 * math.ceil(accuracy / 2) - 1


def largest_possible_order(num_points: int, accuracy: int) -> int:
    """Largest derivative order that ``num_points`` points discretise with at least ``accuracy``.

    Raises:
        ValueError: if ``accuracy > num_points`` (as in the reference library) or no order reaches it.

    Example:
        >>> [largest_possible_order(5, a) for a in (1, 2, 3, 4, 5)]
        [4, 4, 2, 2, 0]
    """
    num_points = _check_int("num_points", num_points, 1)
    accuracy = _check_int("accuracy", accuracy, 1)
    order = num_points + 1 - 2 * math.ceil(accuracy / 2)
    if order < 0 or accuracy > num_points:
        raise ValueError(
            f"accuracy={accuracy} cannot be reached with kernel_size={num_points}; "
            f"expected accuracy <= {num_points}"
        )
    return order


def resolve_kernel_size(
    kernel_size: int | None = None, accuracy: int | None = None, maximum_order: int | None = None
) -> tuple[int, int, int]:
    """Fill in the missing ones of ``kernel_size``, ``accuracy`` and ``maximum_order``.

    Any two determine the third (``kernel_size ≈ accuracy + maximum_order``, up to the parity rule of
    :func:`guaranteed_accuracy`); with only ``kernel_size`` or only ``maximum_order`` the accuracy
    defaults to 2.

    Returns:
        ``(kernel_size, accuracy, maximum_order)``, where ``accuracy`` is the one the stencils of the
        highest order actually reach (at least the requested one).

    Raises:
        ValueError: if all three or fewer than one (or only ``accuracy``) are given, a value is not a
            positive int, or the combination is impossible.

    Example:
        >>> resolve_kernel_size(maximum_order=3), resolve_kernel_size(kernel_size=5, accuracy=4)
        ((4, 2, 3), (5, 4, 2))
    """
    given = [v is not None for v in (kernel_size, accuracy, maximum_order)]
    if all(given):
        raise ValueError(
            f"kernel_size={kernel_size!r}, accuracy={accuracy!r} and maximum_order={maximum_order!r} are all "
            "set; expected at most two of them (the third follows from the other two)"
        )
    if kernel_size is None and maximum_order is None:
        raise ValueError(
            f"kernel_size=None and maximum_order=None (accuracy={accuracy!r}); expected kernel_size or "
            "maximum_order to be set"
        )
    if kernel_size is not None:
        kernel_size = _check_int("kernel_size", kernel_size, 1)
    if accuracy is not None:
        accuracy = _check_int("accuracy", accuracy, 1)
    if maximum_order is not None:
        maximum_order = _check_int("maximum_order", maximum_order, 0)
    if kernel_size is not None and maximum_order is not None:
        acc = guaranteed_accuracy(kernel_size, maximum_order)
        if acc == 0:
            raise ValueError(
                f"maximum_order={maximum_order} cannot be discretised with kernel_size={kernel_size}; "
                f"expected maximum_order < kernel_size (at least {maximum_order + 1} points are needed)"
            )
        return kernel_size, acc, maximum_order
    if kernel_size is not None:
        acc = min(2, kernel_size) if accuracy is None else accuracy
        order = largest_possible_order(kernel_size, acc)
        return kernel_size, guaranteed_accuracy(kernel_size, order), order
    order = int(maximum_order)  # type: ignore[arg-type]  # both None is rejected above
    size = required_points(order, 2 if accuracy is None else accuracy)
    return size, guaranteed_accuracy(size, order), order


def fd_weights(derivative: int, points: Sequence[float] | np.ndarray) -> np.ndarray:
    """1-d finite-difference weights of a derivative using all the given points.

    Solves :math:`\\sum_i w_i t_i^m = m! \\, \\delta_{m,d}` for ``m = 0 .. len(points) - 1`` (a Vandermonde
    system, on rescaled points for conditioning); the stencil is exact on polynomials of degree
    ``< len(points)``.

    Args:
        derivative: the derivative order ``d`` (``< len(points)``).
        points: distinct 1-d offsets from the evaluation point.

    Raises:
        ValueError: if there are not more points than the derivative order, or points repeat.

    Example:
        >>> fd_weights(1, [-1.0, 0.0, 1.0])
        array([-0.5,  0. ,  0.5])
    """
    pts = np.asarray(points, dtype=np.float64).ravel()
    derivative = _check_int("derivative", derivative, 0)
    n = len(pts)
    if derivative >= n:
        raise ValueError(
            f"derivative={derivative} cannot be discretised on {n} points; expected at least {derivative + 1}"
        )
    if len(np.unique(pts)) != n:
        raise ValueError(f"points={pts.tolist()} repeat; expected distinct points")
    scale = float(np.abs(pts).max()) or 1.0
    t = pts / scale
    vander = t[None, :] ** np.arange(n)[:, None]
    rhs = np.zeros(n)
    rhs[derivative] = math.factorial(derivative)
    w = np.linalg.solve(vander, rhs) / scale**derivative
    w[np.abs(w) < 1e-13 * np.abs(w).max()] = 0.0
    return w


def _gauss_1d(derivative: int, points: np.ndarray, sigma: float) -> np.ndarray:
    """``(-1)^d`` times the ``d``-th derivative of a Gaussian normalised to sum 1 on ``points``."""
    g = np.exp(-0.5 * (points / sigma) ** 2)
    g /= g.sum()
    return eval_hermitenorm(derivative, points / sigma) * g / sigma**derivative


def _rbf_derivative(phi: str, a: int, b: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:math:`\\partial_x^a \\partial_y^b \\varphi(\\|(x, y)\\|)` for an RBF ``phi = F(r^2)``."""
    # terms {(m, n, t): c} of  c x^m y^n F^(t)(rho),  rho = x^2 + y^2
    terms: dict[tuple[int, int, int], float] = {(0, 0, 0): 1.0}
    for axis, count in ((0, a), (1, b)):
        for _ in range(count):
            new: dict[tuple[int, int, int], float] = {}
            for (m, n, t), c in terms.items():
                e = (m, n)[axis]
                if e:
                    key = (m - 1, n, t) if axis == 0 else (m, n - 1, t)
                    new[key] = new.get(key, 0.0) + c * e
                key = (m + 1, n, t + 1) if axis == 0 else (m, n + 1, t + 1)
                new[key] = new.get(key, 0.0) + 2.0 * c
            terms = new
    rho = x**2 + y**2
    out = np.zeros_like(x)
    for (m, n, t), c in terms.items():
        out += c * x**m * y**n * _rbf_profile_derivative(phi, t, rho)
    return out


def _rbf_profile_derivative(phi: str, t: int, rho: np.ndarray) -> np.ndarray:
    """``F^(t)(rho)`` for ``phi(r) = F(r^2)``; singular values at ``rho = 0`` are set to 0."""
    if phi == "ga":
        return (-1.0) ** t * np.exp(-rho)
    if phi in ("imq", "iq", "mq"):
        s = {"imq": -0.5, "iq": -1.0, "mq": 0.5}[phi]
        coef = math.prod(s - i for i in range(t))
        return coef * (1.0 + rho) ** (s - t)
    k = int(phi[3:])
    s = k / 2.0
    coef = math.prod(s - i for i in range(t))
    with np.errstate(divide="ignore", invalid="ignore"):
        val = coef * np.where(rho > 0, rho, 1.0) ** (s - t)
    return np.where(rho > 0, val, 0.0)


def _rbffd_weights(exponents: list[tuple[int, int]], points: np.ndarray, phi: str) -> np.ndarray:
    """RBF-FD stencils ``(len(exponents), P)`` of the monomials ``∂x^a ∂y^b`` at the origin."""
    # polyharmonic splines are scale-free: solve on points scaled into the unit square (conditioning)
    scale = float(np.abs(points).max()) if phi.startswith("phs") and np.abs(points).max() > 0 else 1.0
    x, y = np.asarray(points, dtype=np.float64) / scale
    n_pts = len(x)
    order = max(a + b for a, b in exponents)
    if (order + 1) * (order + 2) // 2 > n_pts:
        raise ValueError(
            f"RBF-FD of order {order} needs {(order + 1) * (order + 2) // 2} points; the stencil has {n_pts}"
        )
    # the RBF's own minimal degree, as far as the points allow, and at least the derivative order
    degree = order
    while degree < RADIAL_BASIS_FUNCTIONS[phi] and (degree + 2) * (degree + 3) // 2 <= n_pts:
        degree += 1
    poly = [(i - j, j) for i in range(degree + 1) for j in range(i + 1)]
    dx = x[:, None] - x[None, :]
    dy = y[:, None] - y[None, :]
    gram = _rbf_derivative(phi, 0, 0, dx, dy)
    pmat = np.stack([x**a * y**b for a, b in poly], axis=1)
    n_poly = len(poly)
    lhs = np.zeros((n_pts + n_poly, n_pts + n_poly))
    lhs[:n_pts, :n_pts] = gram
    lhs[:n_pts, n_pts:] = pmat
    lhs[n_pts:, :n_pts] = pmat.T
    rhs = np.zeros((n_pts + n_poly, len(exponents)))
    for col, (a, b) in enumerate(exponents):
        rhs[:n_pts, col] = _rbf_derivative(phi, a, b, -x, -y)
        rhs[n_pts + poly.index((a, b)), col] = math.factorial(a) * math.factorial(b)
    sol, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
    orders = np.array([a + b for a, b in exponents], dtype=np.float64)
    return sol[:n_pts].T / scale ** orders[:, None]


def _compute_stencils(
    order: int, method: str, kernel_size: int, dilation: int, smoothing: float | None, phi: str
) -> np.ndarray:
    """Stencils ``(order + 1, k*k)`` of the monomials ``∂x^(order-i) ∂y^i`` (unit grid, then rescaled)."""
    pts = symmetric_points(kernel_size)
    exps = [(order - i, i) for i in range(order + 1)]
    if method == "rbffd":
        grid = kernel_grid(kernel_size, 1)
        out = _rbffd_weights(exps, grid, phi)
    else:
        if method == "fd":
            one_d = {d: fd_weights(d, pts) for d in range(order + 1)}
        else:
            one_d = {d: _gauss_1d(d, pts, float(smoothing) / dilation) for d in range(order + 1)}  # type: ignore[arg-type]
        # pixel (i, j) sits at x = pts[j], y = -pts[i]: rows run along y downwards
        out = np.stack([np.outer(one_d[b][::-1], one_d[a]).ravel() for a, b in exps])
    out = out / float(dilation) ** order
    out[np.abs(out) < 1e-14 * max(np.abs(out).max(), 1e-300)] = 0.0
    return out


def monomial_stencils(
    order: int,
    kernel_size: int,
    dilation: int = 1,
    method: str = "fd",
    smoothing: float | None = None,
    phi: str = "ga",
) -> np.ndarray:
    """Stencils of all monomial derivatives of one order, in the row-major pixel order of the kernel.

    Row ``i`` discretises :math:`\\partial_x^{order-i} \\partial_y^{i}`; the columns follow
    :func:`structconv.kernels.sampling.kernel_grid`.  Results come from (and go to) the shared stencil
    cache of :mod:`structconv.diffops.cache`.

    Args:
        order: the derivative order (``< kernel_size`` for ``"fd"``).
        kernel_size: size of the square stencil.
        dilation: spacing of the stencil's pixels (the derivative is in units of input pixels).
        method: ``"fd"``, ``"gauss"`` or ``"rbffd"``.
        smoothing: standard deviation of the Gaussian in input pixels (``"gauss"`` only).
        phi: the radial basis function (``"rbffd"`` only), a key of :data:`RADIAL_BASIS_FUNCTIONS`.

    Returns:
        read-only float64 array ``(order + 1, kernel_size**2)``.

    Example:
        >>> monomial_stencils(1, 3)[0].reshape(3, 3)  # d/dx: x grows to the right
        array([[ 0. ,  0. ,  0. ],
               [-0.5,  0. ,  0.5],
               [ 0. ,  0. ,  0. ]])
    """
    order = _check_int("order", order, 0)
    kernel_size = _check_int("kernel_size", kernel_size, 1)
    dilation = _check_int("dilation", dilation, 1)
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not known; expected one of {METHODS}")
    if method == "gauss":
        if smoothing is None or not (float(smoothing) > 0) or not math.isfinite(float(smoothing)):
            raise ValueError(f"smoothing={smoothing!r} is not valid; expected a positive float")
        smoothing = float(smoothing)
    else:
        smoothing = None
    if method == "rbffd":
        if phi not in RADIAL_BASIS_FUNCTIONS:
            raise ValueError(
                f"radial_basis_function={phi!r} is not known; "
                f"expected one of {sorted(RADIAL_BASIS_FUNCTIONS)}"
            )
    else:
        phi = ""
    if method == "fd" and order >= kernel_size:
        raise ValueError(
            f"a derivative of order {order} cannot be discretised on kernel_size={kernel_size}; "
            f"expected kernel_size >= {order + 1}"
        )
    key = _cache.StencilKey(method, kernel_size, dilation, smoothing, phi, order)
    found = _cache.lookup(key)
    if found is not None:
        return found
    stencils = _compute_stencils(order, method, kernel_size, dilation, smoothing, phi)
    return _cache.insert(key, stencils)


def discretize_homogeneous_polynomial(
    coefficients: np.ndarray,
    kernel_size: int,
    dilation: int = 1,
    method: str = "fd",
    smoothing: float | None = None,
    phi: str = "ga",
) -> np.ndarray:
    """Discretise PDOs with homogeneous symbols into stencils.

    Args:
        coefficients: ``(..., n + 1)`` symbols of degree ``n`` (see :mod:`structconv.diffops.polynomials`).
        kernel_size: size of the square stencil.
        dilation: spacing of the stencil's pixels.
        method: ``"fd"``, ``"gauss"`` or ``"rbffd"``, see :func:`monomial_stencils`.
        smoothing: Gaussian width for ``"gauss"``.
        phi: radial basis function for ``"rbffd"``.

    Returns:
        float64 stencils ``(..., kernel_size**2)``.

    Example:
        >>> lap = discretize_homogeneous_polynomial(np.array([1.0, 0.0, 1.0]), 3)  # Laplacian
        >>> lap.reshape(3, 3)
        array([[ 0.,  1.,  0.],
               [ 1., -4.,  1.],
               [ 0.,  1.,  0.]])
    """
    coefficients = np.asarray(coefficients, dtype=np.float64)
    order = coefficients.shape[-1] - 1
    sten = monomial_stencils(order, kernel_size, dilation, method, smoothing, phi)
    return coefficients @ sten
