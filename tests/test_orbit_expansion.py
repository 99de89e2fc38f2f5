"""The orbit expansion (basisexpansion._OrbitPlan): permutation representations of a finite group that
permutes the sampling grid (octahedral on the cubic grid, C4 / D4 on the square grid) expand their filter
by one gather from its values on the orbits of the entries. It must give the dense expansion's filter and
gradients for every layer kind, field mix, kernel size and dilation, and survive every module route."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import structconv.nn.conv.basisexpansion as be
from _expansion_checks import assert_module_routes, assert_same_layer
from structconv import gspaces
from structconv.nn import FieldType, R2Conv, R2ConvTransposed, R3Conv, R3ConvTransposed


def _octa():
    gs = gspaces.octaOnR3()
    reg = gs.regular_repr
    return gs, [reg, gs.trivial_repr, reg], [gs.trivial_repr, reg, reg, gs.irrep(1)]


def _c4():
    gs = gspaces.Rot2dOnR2(4)
    return gs, [gs.regular_repr, gs.trivial_repr, gs.regular_repr], [gs.regular_repr] * 2 + [gs.irrep(1)]


def _d4():
    gs = gspaces.FlipRot2dOnR2(4)
    quotient = gs.quotient_repr((0, 1)) if hasattr(gs, "quotient_repr") else gs.regular_repr
    return gs, [gs.regular_repr, quotient], [quotient, gs.regular_repr, gs.trivial_repr]


CASES = {
    # name: (gspace and field reps, layer class, kwargs)
    "octa-k3": (_octa, R3Conv, {"kernel_size": 3, "padding": 1}),
    "octa-k5-dilation2": (_octa, R3Conv, {"kernel_size": 5, "dilation": 2}),
    "octa-transposed": (_octa, R3ConvTransposed, {"kernel_size": 3, "stride": 2}),
    "C4-k5": (_c4, R2Conv, {"kernel_size": 5, "padding": 2}),
    "C4-k3-dilation2": (_c4, R2Conv, {"kernel_size": 3, "dilation": 2}),
    "C4-transposed": (_c4, R2ConvTransposed, {"kernel_size": 5, "stride": 2}),
    "D4-k5": (_d4, R2Conv, {"kernel_size": 5, "padding": 2}),
    "D4-k4-even": (_d4, R2Conv, {"kernel_size": 4}),
}


def _pair(case: str, monkeypatch):
    """The layer with the default plans, and the same layer (same weights) with dense expansions."""
    make, cls, kwargs = CASES[case]
    gs, ins, outs = make()
    t_in, t_out = FieldType(gs, ins), FieldType(gs, outs)
    torch.manual_seed(0)
    layer = cls(t_in, t_out, **kwargs).double()
    monkeypatch.setattr(be, "_FACTORIZE", False)
    dense = cls(t_in, t_out, **kwargs).double()
    monkeypatch.setattr(be, "_FACTORIZE", True)
    dense.load_state_dict(layer.state_dict())
    return layer, dense


def _is_permutation(rep) -> bool:
    G = rep.group
    M = np.asarray(rep.representation_matrices(list(G.elements)))
    return bool(np.all((M == 0) | (M == 1)) and np.all(M.sum(1) == 1))


@pytest.mark.parametrize("case", list(CASES))
def test_orbit_expansion_equals_the_dense_one(case, monkeypatch):
    layer, dense = _pair(case, monkeypatch)
    blocks = [(ro, ri, b) for ro, ri, _, _, _, _, b in layer.basisexpansion.layout() if b is not None]
    for ro, ri, block in blocks:  # the orbit plan exactly where both representations are permutations
        assert (block._orbits is not None) == (_is_permutation(ro) and _is_permutation(ri)), (ro, ri)
    assert any(b._orbits is not None for _, _, b in blocks)
    assert all(b._orbits is None for b in dense.basisexpansion._pair_modules.values())
    assert_same_layer(layer, dense, atol=1e-13, grad_rtol=1e-12, grad_atol=1e-12, size=11)


def test_orbit_expansion_gradcheck_and_other_layouts(monkeypatch):
    layer, dense = _pair("octa-k3", monkeypatch)
    key, block = next((k, b) for k, b in layer.basisexpansion._pair_modules.items() if b._layout == (2, 2))
    ref = dense.basisexpansion._pair_modules[key]
    assert block._orbits is not None and ref._orbits is None
    w = torch.randn(2 * 3, block.dimension(), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(block, (w[:2].detach().requires_grad_(),), fast_mode=True)
    # batched forward, and field layouts other than the layer's own
    torch.testing.assert_close(block(w.reshape(2, 3, -1)), ref(w.reshape(2, 3, -1)), rtol=0, atol=1e-13)
    for n_out, n_in in ((2, 3), (3, 2), (1, 6), block._layout):
        flat = torch.randn(n_out * n_in * block.dimension(), dtype=torch.float64)
        torch.testing.assert_close(
            block.expand_fields(flat, n_out, n_in), ref.expand_fields(flat, n_out, n_in), rtol=0, atol=1e-13
        )


def test_orbit_expansion_not_used_where_it_does_not_apply():
    """C8 moves grid points off the grid, the icosahedral group too; irreps are not permutations."""
    c8 = gspaces.Rot2dOnR2(8)
    ico = gspaces.icoOnR3()
    octa = gspaces.octaOnR3()
    so3 = gspaces.rot3dOnR3()
    layers = [
        R2Conv(FieldType(c8, [c8.regular_repr] * 2), FieldType(c8, [c8.regular_repr]), 5),
        R3Conv(FieldType(ico, [ico.regular_repr]), FieldType(ico, [ico.regular_repr]), 3),
        R3Conv(FieldType(octa, [octa.irrep(1), octa.irrep(2)]), FieldType(octa, [octa.irrep(1)]), 3),
        R3Conv(FieldType(so3, [so3.irrep(1)]), FieldType(so3, [so3.irrep(1)]), 3),
    ]
    for layer in layers:
        assert all(b._orbits is None for b in layer.basisexpansion._pair_modules.values())


def test_orbit_expansion_through_module_routes(monkeypatch):
    """Pickling, copies, dtype round trips, to_empty and the meta device keep the plan and its numbers."""
    layer, dense = _pair("octa-k3", monkeypatch)
    assert_module_routes(layer, dense.filter, "_orbits", "_ocolumns", atol=1e-13)


@pytest.mark.parametrize("which", ["octa-regular", "so3-irreps", "c8-regular"])
def test_basis_values_at_entries_equal_the_dense_samples(which):
    from structconv.nn.conv.basisexpansion import r2_kernel_basis, r3_kernel_basis

    if which == "octa-regular":
        gs = gspaces.octaOnR3()
        basis = r3_kernel_basis(gs.regular_repr, gs.regular_repr, gspace=gs, kernel_size=3)
    elif which == "so3-irreps":
        gs = gspaces.rot3dOnR3()
        rep = gs.fibergroup.bl_regular_representation(1)
        basis = r3_kernel_basis(rep, gs.irrep(2), gspace=gs, kernel_size=5)
    else:
        gs = gspaces.Rot2dOnR2(8)
        basis = r2_kernel_basis(gs.regular_repr, gs.irrep(1), kernel_size=5)
    _, X, Y, P = basis.shape
    rng = np.random.default_rng(0)
    o, i, p = rng.integers(0, X, 50), rng.integers(0, Y, 50), rng.integers(0, P, 50)
    np.testing.assert_allclose(basis.values_at(o, i, p), basis.array[:, o, i, p], rtol=0, atol=1e-14)
