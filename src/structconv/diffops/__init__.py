"""structconv.diffops: steerable partial differential operators (Jenner & Weiler, 2021).

A PDO with matrix-valued polynomial symbol ``P`` is equivariant between fields of types ``ρ_in`` and
``ρ_out`` iff ``P(g·x) = ρ_out(g) P(x) ρ_in(g)⁻¹``.  This package builds bases of such operators per pair of
irreps (homogenised Chebyshev polynomials times powers of the Laplacian, :func:`irreps_diffop_basis`),
discretises them into stencils (finite differences, Gaussian derivatives or RBF-FD,
:func:`discretize_homogeneous_polynomial`), assembles them for any pair of representations
(:func:`diffop_basis`) and keeps the stencils in a cache that can be saved and loaded
(:func:`store_cache`, :func:`load_cache`).  Everything is float64 numpy.

Example:
    >>> from structconv.kernels import IrrepSpec
    >>> one = IrrepSpec("so2", None, 0, 1)
    >>> basis = sample_irreps_diffop_basis(one, one, kernel_size=3, maximum_order=2)
    >>> basis.array.shape
    (6, 2, 2, 9)
"""

from __future__ import annotations

from structconv.diffops.basis import (
    DiffopIrrepsBasis,
    aliasing_offset,
    angular_solutions,
    check_equivariance,
    irreps_diffop_basis,
)
from structconv.diffops.cache import DEFAULT_CACHE_PATH, cache_size, clear_cache, load_cache, store_cache
from structconv.diffops.discretization import (
    METHODS,
    RADIAL_BASIS_FUNCTIONS,
    discretize_homogeneous_polynomial,
    fd_weights,
    guaranteed_accuracy,
    largest_possible_order,
    monomial_stencils,
    required_points,
    resolve_kernel_size,
    symmetric_points,
)
from structconv.diffops.polynomials import (
    evaluate_polynomial,
    homogenized_chebyshev,
    laplacian_power,
    multiply_polynomials,
    transform_polynomial,
)
from structconv.diffops.sampling import DiscretizationArgs, diffop_basis, sample_irreps_diffop_basis

__all__: list[str] = [
    "DEFAULT_CACHE_PATH",
    "METHODS",
    "RADIAL_BASIS_FUNCTIONS",
    "DiffopIrrepsBasis",
    "DiscretizationArgs",
    "aliasing_offset",
    "angular_solutions",
    "cache_size",
    "check_equivariance",
    "clear_cache",
    "diffop_basis",
    "discretize_homogeneous_polynomial",
    "evaluate_polynomial",
    "fd_weights",
    "guaranteed_accuracy",
    "homogenized_chebyshev",
    "irreps_diffop_basis",
    "laplacian_power",
    "largest_possible_order",
    "load_cache",
    "monomial_stencils",
    "multiply_polynomials",
    "required_points",
    "resolve_kernel_size",
    "sample_irreps_diffop_basis",
    "store_cache",
    "symmetric_points",
    "transform_polynomial",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
