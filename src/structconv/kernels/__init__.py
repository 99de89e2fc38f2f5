"""structconv.kernels: complete bases of steerable kernels on the plane and in space.

For a planar group ``G`` (C_N, D_N, SO(2), O(2) and their special cases, the flips and the trivial
group) and two representations ``ρ_in``, ``ρ_out``, the kernels with
``κ(g·x) = ρ_out(g) κ(x) ρ_in(g)⁻¹`` form a linear space.  This package builds a basis of it: per pair of
irreps analytically (:func:`irreps_harmonics`, :func:`sample_irreps_basis`), and for any pair of
representations through their changes of basis (:func:`steerable_basis`).  Everything is float64
numpy, vectorised and cached. In space, :func:`steerable_basis_r3` (``kernels/r3.py``) builds the
bases of every gspace of :mod:`structconv.gspaces.r3` from spherical harmonics on shells.  Every fact
about an irrep (frequencies, dimension, matrices) comes from the group's own irrep
(:attr:`structconv.group.IrreducibleRepresentation.planar_data`); the :class:`IrrepSpec` keys of the
caches are a thin adapter on it (``docs/internals.md``).

Example:
    >>> from structconv.kernels import IrrepSpec, sample_irreps_basis
    >>> one = IrrepSpec("so2", None, 0, 1)
    >>> len(sample_irreps_basis(one, one, 5))
    10
"""

from __future__ import annotations

from structconv.kernels.basis import SteerableBasis, group_kind, irrep_spec_by_name, steerable_basis
from structconv.kernels.harmonics import Harmonic, irreps_harmonics
from structconv.kernels.irreps import IrrepSpec, element_action, irrep_matrix, irrep_spec_from
from structconv.kernels.polar import (
    Basis,
    EmptyBasisException,
    GaussianRadialProfile,
    IrrepsBasis,
    KernelBasis,
    PolarBasis,
    SteerableKernelBasis,
    chi,
    psi,
    psichi,
)
from structconv.kernels.r2 import (
    kernels_CN_act_R2,
    kernels_DN_act_R2,
    kernels_Flip_act_R2,
    kernels_O2_act_R2,
    kernels_SO2_act_R2,
    kernels_Trivial_act_R2,
)
from structconv.kernels.r3 import (
    R3FrequencyCutoff,
    SampledR3IrrepsBasis,
    evaluate_basis_r3,
    kernel_grid_r3,
    real_spherical_harmonics,
    resolve_r3_basis_params,
    sample_irreps_basis_r3,
    steerable_basis_r3,
)
from structconv.kernels.sampling import (
    LinearFrequencyCutoff,
    ManualFrequencyCutoff,
    SampledIrrepsBasis,
    default_rings,
    default_sigma,
    kernel_grid,
    resolve_basis_params,
    sample_irreps_basis,
)

__all__ = [
    "Basis",
    "EmptyBasisException",
    "GaussianRadialProfile",
    "IrrepsBasis",
    "KernelBasis",
    "PolarBasis",
    "SteerableKernelBasis",
    "chi",
    "kernels_CN_act_R2",
    "kernels_DN_act_R2",
    "kernels_Flip_act_R2",
    "kernels_O2_act_R2",
    "kernels_SO2_act_R2",
    "kernels_Trivial_act_R2",
    "psi",
    "psichi",
    "Harmonic",
    "IrrepSpec",
    "LinearFrequencyCutoff",
    "ManualFrequencyCutoff",
    "R3FrequencyCutoff",
    "SampledIrrepsBasis",
    "SampledR3IrrepsBasis",
    "SteerableBasis",
    "default_rings",
    "default_sigma",
    "element_action",
    "evaluate_basis_r3",
    "group_kind",
    "irrep_matrix",
    "irrep_spec_by_name",
    "irrep_spec_from",
    "irreps_harmonics",
    "kernel_grid",
    "kernel_grid_r3",
    "real_spherical_harmonics",
    "resolve_basis_params",
    "resolve_r3_basis_params",
    "sample_irreps_basis",
    "sample_irreps_basis_r3",
    "steerable_basis",
    "steerable_basis_r3",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
