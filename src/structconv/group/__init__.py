"""Symmetry groups of the plane and of space, and their representations (numpy only, float64).

The groups C_N, D_N, SO(2) and O(2) (all subgroups of O(2)), their real irreducible representations,
:class:`Representation` with its decomposition into irreps, the builders :func:`directsum`,
:func:`change_basis` and :func:`disentangle`, and the regular, quotient, induced and restricted
representations. See ``docs/internals.md`` for the conventions.

Example:
    >>> from structconv.group import cyclic_group, directsum
    >>> G = cyclic_group(8)
    >>> rho = directsum([G.regular_representation, G.irrep(1)])
    >>> rho.size, rho.contains_trivial()
    (10, True)
"""

from __future__ import annotations

from structconv.group._matrices import chi, psi, psichi
from structconv.group.constructions import (
    bl_regular_representation,
    decompose_matrices,
    induced_representation,
    quotient_representation,
    regular_representation,
    restrict_representation,
)
from structconv.group.cyclic import CyclicGroup, FlipGroup, cyclic_group, flip_group, trivial_group
from structconv.group.dihedral import DihedralGroup, dihedral_group
from structconv.group.directproduct import (
    DirectProductGroup,
    cylinder_discrete_group,
    cylinder_group,
    direct_product,
    full_cylinder_discrete_group,
    full_cylinder_group,
    full_ico_group,
    full_octa_group,
    klein4_group,
)
from structconv.group.group import Group, SubgroupChildMap, SubgroupParentMap
from structconv.group.group3d import Group3D, GroupElement, tensor_product
from structconv.group.irreps import IrreducibleRepresentation
from structconv.group.o2 import O2, o2_group
from structconv.group.o3 import O3, o3_group
from structconv.group.polyhedral import Icosahedral, Octahedral, ico_group, octa_group
from structconv.group.representation import (
    NONLINEARITIES,
    Representation,
    change_basis,
    directsum,
    disentangle,
)
from structconv.group.so2 import SO2, so2_group
from structconv.group.so3 import SO3, so3_group

__all__ = [
    "Group",
    "CyclicGroup",
    "FlipGroup",
    "DihedralGroup",
    "SO2",
    "O2",
    "cyclic_group",
    "flip_group",
    "dihedral_group",
    "so2_group",
    "o2_group",
    "trivial_group",
    "SubgroupParentMap",
    "SubgroupChildMap",
    "Representation",
    "IrreducibleRepresentation",
    "NONLINEARITIES",
    "directsum",
    "change_basis",
    "disentangle",
    "decompose_matrices",
    "regular_representation",
    "quotient_representation",
    "induced_representation",
    "restrict_representation",
    "bl_regular_representation",
    "psi",
    "chi",
    "psichi",
    # groups of space (escnn's API): SO(3), O(3), the polyhedral groups and their products with inversion
    "Group3D",
    "GroupElement",
    "SO3",
    "O3",
    "Octahedral",
    "Icosahedral",
    "DirectProductGroup",
    "so3_group",
    "o3_group",
    "octa_group",
    "full_octa_group",
    "ico_group",
    "full_ico_group",
    "cylinder_group",
    "full_cylinder_group",
    "cylinder_discrete_group",
    "full_cylinder_discrete_group",
    "klein4_group",
    "direct_product",
    "tensor_product",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
