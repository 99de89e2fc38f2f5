"""escnn 1.0.11's Representation methods on every group: multiplicity, endomorphism_basis, tensor."""

from __future__ import annotations

import numpy as np
import pytest

import structconv.group as G

GROUPS = [
    G.cyclic_group(5),
    G.cyclic_group(4),
    G.dihedral_group(4),
    G.so2_group(3),
    G.o2_group(3),
    G.so3_group(2),
    G.o3_group(2),
    G.octa_group(),
    G.ico_group(),
    G.full_octa_group(),
    G.cylinder_group(2),
    G.full_cylinder_group(2),
    G.cylinder_discrete_group(3),
    G.full_cylinder_discrete_group(2),
]


def _irreps(g):
    return list(g.irreps.values()) if isinstance(g.irreps, dict) else list(g.irreps())


def _elements(g):
    return list(g.testing_elements())[:12] if g.continuous else list(g.elements)[:24]


def _representations(g):
    irr = _irreps(g)
    reps = irr[:5]
    if not g.continuous:
        reps.append(g.regular_representation)
    reps.append(G.directsum([irr[min(1, len(irr) - 1)], irr[0], irr[min(1, len(irr) - 1)]], name="mixed_sum"))
    return reps


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_endomorphism_basis_is_the_commutant(g):
    irr = _irreps(g)
    M = None
    for rho in _representations(g):
        E = rho.endomorphism_basis()
        M = rho.representation_matrices(_elements(g))
        # commutes with every matrix, linearly independent, and as many as Schur's lemma says
        assert np.abs(np.einsum("nij,ejk->neik", E, M) - np.einsum("eij,njk->neik", M, E)).max() < 1e-9
        assert np.linalg.matrix_rank(E.reshape(len(E), -1), tol=1e-8) == len(E)
        expected = sum(rho.multiplicity(i) ** 2 * i.sum_of_squares_constituents for i in irr)
        assert len(E) == expected, rho.name
    for i in irr:
        E = i.endomorphism_basis()
        assert np.array_equal(E[0], np.eye(i.size))
        for e in E[1:]:  # complex / quaternionic type: orthogonal, squares to -1
            assert np.allclose(e @ e.T, np.eye(i.size)) and np.allclose(e @ e, -np.eye(i.size))


@pytest.mark.parametrize("g", [g for g in GROUPS if not g.continuous], ids=lambda g: g.name)
def test_multiplicity_in_the_regular_representation(g):
    reg = g.regular_representation
    for i in _irreps(g):  # each real irrep appears size / sum_of_squares_constituents times
        m = i.size // i.sum_of_squares_constituents
        assert reg.multiplicity(i) == reg.multiplicity(i.name) == reg.multiplicity(i.id) == m
    assert sum(reg.multiplicity(i) * i.size for i in _irreps(g)) == g.order()
    with pytest.raises(ValueError, match="is not"):
        reg.multiplicity("irrep_99")
    with pytest.raises(ValueError, match="expected an irrep of"):
        reg.multiplicity(G.cyclic_group(7).irrep(1) if g.name != "C7" else G.cyclic_group(9).irrep(1))


@pytest.mark.parametrize("g", [g for g in GROUPS if isinstance(g, G.group3d.Group3D)], ids=lambda g: g.name)
def test_tensor_is_the_kronecker_product(g):
    a, b = _irreps(g)[1], _irreps(g)[-1]
    t = a.tensor(b)
    assert t.size == a.size * b.size and t.name == f"{a.name} X {b.name}"
    for e in _elements(g)[:6]:
        assert np.abs(t(e) - np.kron(a(e), b(e))).max() < 1e-10


def test_tensor_of_planar_groups_is_refused():
    C = G.cyclic_group(3)
    with pytest.raises(NotImplementedError, match="tensor product of representations of C3"):
        C.irrep(1).tensor(C.irrep(1))
    with pytest.raises(ValueError, match="rho2"):
        G.so3_group(2).irrep(1).tensor(G.o3_group(2).irrep(0, 1))


@pytest.mark.parametrize("g", GROUPS, ids=lambda g: g.name)
def test_irreps_is_a_dict_and_escnn_method(g):
    # e2cnn: G.irreps["irrep_1"]; escnn: G.irreps() (a list)
    listed = g.irreps()
    assert isinstance(listed, list) and listed == list(g.irreps.values())
    assert all(g.irreps[i.name] is i for i in listed)
