"""Invariant maps: GroupPooling (and its plain export MaxPoolChannels), NormPool, InducedNormPool."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.group import change_basis
from structconv.nn import FieldType, GeometricTensor, GroupPooling, InducedNormPool, MaxPoolChannels, NormPool
from structconv.testing import assert_equivariant

C4 = gspaces.Rot2dOnR2(4)
C8 = gspaces.Rot2dOnR2(8)
D4 = gspaces.FlipRot2dOnR2(4)
SO2 = gspaces.Rot2dOnR2(-1, maximum_frequency=3)
O2 = gspaces.FlipRot2dOnR2(-1, maximum_frequency=3)


def _fibre_error(module, x: torch.Tensor) -> float:
    t_in, t_out = module.in_type, module.out_type
    y = module(GeometricTensor(x, t_in)).tensor
    return max(
        float(
            (module(GeometricTensor(t_in.transform_fibers(x, g), t_in)).tensor - t_out.transform_fibers(y, g))
            .abs()
            .max()
        )
        for g in t_in.testing_elements
    )


def _unsupported(gs):
    rep = gs.regular_repr
    return change_basis(rep, np.eye(rep.size), name="no_support_regular", supported_nonlinearities=[])


@pytest.mark.parametrize(
    "gs, reps",
    [
        (C8, lambda gs: [gs.regular_repr, gs.regular_repr, gs.trivial_repr, gs.quotient_repr(2)]),
        (C8, lambda gs: [gs.quotient_repr(2), gs.regular_repr, gs.trivial_repr, gs.regular_repr]),
        (D4, lambda gs: [gs.regular_repr, gs.trivial_repr, gs.quotient_repr((None, 2)), gs.regular_repr]),
    ],
    ids=["C8-sorted", "C8-shuffled", "D4-shuffled"],
)
def test_group_pooling_equivariance_and_values(gs, reps):
    t = FieldType(gs, reps(gs))
    m = GroupPooling(t)
    assert m.out_type == FieldType(gs, [gs.trivial_repr] * len(t))
    assert_equivariant(m, spatial_size=7)
    x = torch.randn(2, t.size, 3, 3, dtype=torch.float64)
    assert _fibre_error(m, x) == 0.0
    y = m(GeometricTensor(x, t)).tensor
    ref = torch.stack([x[:, s:e].amax(dim=1) for s, e in zip(t.fields_start, t.fields_end)], dim=1)
    torch.testing.assert_close(y, ref)
    assert m.evaluate_output_shape((2, t.size, 3, 3)) == (2, len(t), 3, 3)


def test_group_pooling_export_and_repr():
    t = FieldType(C8, [C8.regular_repr])
    m = GroupPooling(t)
    assert repr(m) == "GroupPooling([8-Rotations: {regular}])"
    exported = m.export()
    # issue 16: a torch.fx graph (loads without structconv), not e2cnn's MaxPoolChannels
    assert repr(exported) == "GroupPoolingGraph()"
    assert isinstance(exported, torch.fx.GraphModule) and not exported.training
    t3 = FieldType(C8, [C8.regular_repr] * 3)
    x = torch.randn(4, 24, 5, 5)
    torch.testing.assert_close(GroupPooling(t3).export()(x), GroupPooling(t3)(GeometricTensor(x, t3)).tensor)
    mixed = FieldType(C8, [C8.regular_repr, C8.trivial_repr])
    x = torch.randn(4, 9, 5, 5)
    torch.testing.assert_close(GroupPooling(mixed).export()(x), GroupPooling(mixed)(GeometricTensor(x, mixed)).tensor)


def test_max_pool_channels_is_plain_torch():
    pool = MaxPoolChannels(3)
    # only torch is needed: the class derives from torch.nn.Module alone and pickles with torch
    assert type(pool).__mro__[1] is torch.nn.Module
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(pool(x), x.view(2, 2, 3, 4).amax(dim=2))
    torch.testing.assert_close(pickle.loads(pickle.dumps(pool))(x), pool(x))
    with pytest.raises(ValueError, match="not a multiple of kernel_size=3"):
        pool(torch.randn(1, 4, 2, 2))
    with pytest.raises(ValueError, match="kernel_size=0"):
        MaxPoolChannels(0)


def test_group_pooling_rejects_irreps():
    with pytest.raises(ValueError, match="field 1 of in_type has representation 'irrep_1'.*'pointwise'"):
        GroupPooling(FieldType(C8, [C8.regular_repr, C8.irrep(1)]))


@pytest.mark.oracle
def test_group_pooling_and_norm_pool_match_e2cnn():
    e2cnn = pytest.importorskip("e2cnn")
    egs = e2cnn.gspaces.Rot2dOnR2(8)
    et = e2cnn.nn.FieldType(egs, [egs.regular_repr, egs.trivial_repr, egs.regular_repr])
    t = FieldType(C8, [C8.regular_repr, C8.trivial_repr, C8.regular_repr])
    x = torch.randn(2, t.size, 4, 4)
    ref = e2cnn.nn.GroupPooling(et)(e2cnn.nn.GeometricTensor(x, et)).tensor
    torch.testing.assert_close(GroupPooling(t)(GeometricTensor(x, t)).tensor, ref)
    et = e2cnn.nn.FieldType(egs, [egs.irrep(1), egs.regular_repr, egs.irrep(3)])
    t = FieldType(C8, [C8.irrep(1), C8.regular_repr, C8.irrep(3)])
    x = torch.randn(2, t.size, 4, 4)
    ref = e2cnn.nn.NormPool(et)(e2cnn.nn.GeometricTensor(x, et)).tensor
    torch.testing.assert_close(NormPool(t)(GeometricTensor(x, t)).tensor, ref)


@pytest.mark.parametrize(
    "gs, shuffled",
    [(C8, False), (D4, True), (SO2, True), (O2, False)],
    ids=["C8", "D4-shuffled", "SO2-shuffled", "O2"],
)
def test_norm_pool(gs, shuffled):
    flip = gs.fibergroup.name.startswith(("D", "O"))
    v = gs.irrep(1, 1) if flip else gs.irrep(1)
    w = gs.irrep(1, 2) if flip else gs.irrep(2)
    reps = [v, v, w, gs.trivial_repr]
    t = FieldType(gs, [reps[i] for i in (2, 0, 3, 1)] if shuffled else reps)
    m = NormPool(t)
    x = torch.randn(2, t.size, 3, 3, dtype=torch.float64)
    assert _fibre_error(m, x) < 1e-12
    y = m(GeometricTensor(x, t)).tensor
    ref = torch.stack([x[:, s:e].norm(dim=1) for s, e in zip(t.fields_start, t.fields_end)], dim=1)
    torch.testing.assert_close(y, ref)
    if not gs.fibergroup.continuous:
        assert_equivariant(m, spatial_size=5)


def test_norm_pool_zero_gradient_and_gradcheck():
    t = FieldType(C8, [C8.irrep(1), C8.regular_repr])
    m = NormPool(t)
    x = torch.zeros(1, t.size, 2, 2, requires_grad=True)
    m(GeometricTensor(x, t)).tensor.sum().backward()
    assert torch.isfinite(x.grad).all()
    x = torch.randn(1, t.size, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: m(GeometricTensor(inp, t)).tensor, (x,))
    clone = copy.deepcopy(m)
    torch.testing.assert_close(clone(GeometricTensor(x, t)).tensor, m(GeometricTensor(x, t)).tensor)


def test_norm_pool_rejects_unsupported():
    with pytest.raises(ValueError, match="field 1 of in_type.*does not support 'norm'"):
        NormPool(FieldType(C8, [C8.irrep(1), _unsupported(C8)]))


def test_induced_norm_pool():
    sub = D4.restrict((None, 4))[0]
    ind = D4.induced_repr((None, 4), sub.irrep(1))
    t = FieldType(D4, [ind, ind, ind])
    m = InducedNormPool(t)
    assert_equivariant(m, spatial_size=5)
    x = torch.randn(2, t.size, 3, 3, dtype=torch.float64)
    assert _fibre_error(m, x) < 1e-12
    ref = x.view(2, 3, 2, 2, 3, 3).norm(dim=3).amax(dim=2)
    torch.testing.assert_close(m(GeometricTensor(x, t)).tensor, ref)
    with pytest.raises(ValueError, match="field 0 of in_type.*does not support 'induced_norm'"):
        InducedNormPool(FieldType(D4, [D4.irrep(1, 1)]))
