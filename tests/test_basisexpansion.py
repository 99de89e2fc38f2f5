"""Tests of the basis expansion modules against a slow, loop-based reference expansion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2
from structconv.kernels import kernel_grid, steerable_basis
from structconv.nn import BlocksBasisExpansion, FieldType, SingleBlockBasisExpansion, block_basisexpansion
from structconv.nn.basisexpansion import r2_kernel_basis


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def slow_filter(in_type, out_type, weights, kernel_size, **kwargs):
    """Obviously-correct expansion: loop over every (output field, input field) pair."""
    filt = np.zeros((out_type.size, in_type.size, kernel_size * kernel_size))
    w = weights.detach().double().numpy()
    out_reprs = list(dict.fromkeys(out_type.representations))
    in_reprs = list(dict.fromkeys(in_type.representations))
    pos = 0
    for ro in out_reprs:
        for ri in in_reprs:
            basis = steerable_basis(ri, ro, kernel_size, **kwargs).array
            for a, rep_a in enumerate(out_type.representations):
                if rep_a != ro:
                    continue
                for b, rep_b in enumerate(in_type.representations):
                    if rep_b != ri:
                        continue
                    coeff = w[pos : pos + len(basis)]
                    pos += len(basis)
                    block = np.tensordot(coeff, basis, axes=1)
                    filt[
                        out_type.fields_start[a] : out_type.fields_end[a],
                        in_type.fields_start[b] : in_type.fields_end[b],
                    ] = block
    assert pos == len(w)
    return filt


@pytest.mark.parametrize("gs", [Rot2dOnR2(4), FlipRot2dOnR2(2)], ids=lambda g: g.name)
def test_blocks_expansion_matches_loops(gs):
    last_irrep = list(gs.fibergroup.irreps.values())[-1]
    t_in = FieldType(gs, [gs.trivial_repr, gs.regular_repr, gs.trivial_repr, last_irrep])
    t_out = FieldType(gs, [gs.regular_repr, gs.trivial_repr, gs.regular_repr])
    exp = BlocksBasisExpansion(t_in, t_out, r2_kernel_basis, kernel_grid(5), kernel_size=5).double()
    w = torch.randn(exp.dimension(), dtype=torch.float64)
    np.testing.assert_allclose(exp(w).numpy(), slow_filter(t_in, t_out, w, 5), atol=1e-12)


def test_basis_info_names_and_elements():
    gs = Rot2dOnR2(4)
    t_in = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
    t_out = FieldType(gs, [gs.irrep(1), gs.regular_repr])
    exp = BlocksBasisExpansion(t_in, t_out, r2_kernel_basis, kernel_grid(3), kernel_size=3)
    infos = list(exp.get_basis_info())
    names = exp.get_basis_names()
    assert len(infos) == len(names) == exp.dimension() == len(set(names))
    assert exp.get_element_info(names[5]) == infos[5] == exp.get_element_info(5)
    for key in (
        "radius",
        "frequency",
        "in_repr",
        "out_repr",
        "in_field_position",
        "out_field_position",
        "in_irrep",
    ):
        assert key in infos[0]
    with pytest.raises(ValueError, match="name="):
        exp.get_element_info("nope")


def test_buffers_not_in_state_dict_and_follow_dtype():
    gs = Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    exp = BlocksBasisExpansion(t, t, r2_kernel_basis, kernel_grid(3), kernel_size=3)
    assert exp.state_dict() == {}
    assert exp.double()(torch.randn(exp.dimension(), dtype=torch.float64)).dtype == torch.float64


def test_single_block_expansion_and_filter():
    gs = FlipRot2dOnR2(4)
    rep = gs.regular_repr
    basis = r2_kernel_basis(rep, rep, kernel_size=5)
    exp = block_basisexpansion(basis, kernel_grid(5))
    assert isinstance(exp, SingleBlockBasisExpansion)
    assert exp.dimension() == len(basis)
    w = torch.randn(3, exp.dimension(), dtype=torch.float64)
    out = exp.double()(w)
    np.testing.assert_allclose(out.numpy(), np.einsum("nd,doip->noip", w.numpy(), basis.array), atol=1e-12)
    low = block_basisexpansion(basis, kernel_grid(5), basis_filter=lambda a: a["radius"] < 1.5)
    assert 0 < low.dimension() < exp.dimension()
    assert all(info["radius"] < 1.5 for info in low.get_basis_info())
    with pytest.raises(ValueError, match="points"):
        block_basisexpansion(basis, kernel_grid(3))
    with pytest.raises(ValueError, match="empty"):
        block_basisexpansion(basis, kernel_grid(5), basis_filter=lambda a: False)


def test_recompute_gives_equal_basis():
    gs = Rot2dOnR2(4)
    rep = gs.regular_repr
    a = r2_kernel_basis(rep, rep, kernel_size=3)
    b = r2_kernel_basis(rep, rep, kernel_size=3, recompute=True)
    assert a is not b
    np.testing.assert_array_equal(a.array, b.array)
    assert r2_kernel_basis(rep, rep, kernel_size=3) is b


@pytest.mark.parametrize("gs", [Rot2dOnR2(8), FlipRot2dOnR2(4)], ids=lambda g: g.name)
def test_expansion_float32_filtered_and_pickled(gs):
    last_irrep = list(gs.fibergroup.irreps.values())[-1]
    t_in = FieldType(gs, [gs.regular_repr, last_irrep, gs.regular_repr, gs.trivial_repr])
    t_out = FieldType(gs, [gs.trivial_repr, gs.regular_repr, last_irrep])
    exp = BlocksBasisExpansion(t_in, t_out, r2_kernel_basis, kernel_grid(5), kernel_size=5)
    w = torch.randn(exp.dimension(), dtype=torch.float64)
    np.testing.assert_allclose(exp(w.float()).numpy(), slow_filter(t_in, t_out, w, 5), atol=1e-5)
    # with a basis filter (masked elements) and through pickling
    import pickle

    low = BlocksBasisExpansion(
        t_in,
        t_out,
        r2_kernel_basis,
        kernel_grid(5),
        basis_filter=lambda a: a["frequency"] != 1,
        kernel_size=5,
    )
    low = pickle.loads(pickle.dumps(low))
    single = low._pair_modules["block_1_0"]
    v = torch.randn(2, single.dimension())
    dense = np.einsum("nd,doip->noip", v.numpy(), single._basis.array[single._keep])
    np.testing.assert_allclose(single(v).numpy(), dense, atol=1e-5)
    assert low.dimension() < exp.dimension()
