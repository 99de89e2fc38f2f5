"""Containers: SequentialModule, ModuleList, BranchingModule / MergeModule / MultipleModule."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import pytest
import torch

from structconv import gspaces
from structconv.nn import (
    ELU,
    BranchingModule,
    FieldType,
    GatedNonLinearity2,
    GeometricTensor,
    GroupPooling,
    InnerBatchNorm,
    MergeModule,
    ModuleList,
    MultipleModule,
    NormNonLinearity,
    PointwiseAvgPool,
    PointwiseMaxPool,
    ReLU,
    SequentialModule,
)
from structconv.testing import assert_equivariant

C4 = gspaces.Rot2dOnR2(4)
D4 = gspaces.FlipRot2dOnR2(4)


def _seq(t):
    return SequentialModule(
        InnerBatchNorm(t), ReLU(t), PointwiseMaxPool(t, 3, 2, 1), InnerBatchNorm(t), ELU(t), GroupPooling(t)
    )


def test_sequential_forward_shape_equivariance_export_after_sgd():
    t = FieldType(D4, [D4.regular_repr] * 3)
    net = _seq(t)
    assert net.in_type == t and net.out_type == FieldType(D4, [D4.trivial_repr] * 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(3):
        loss = net(GeometricTensor(torch.randn(4, t.size, 9, 9), t)).tensor.square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    assert_equivariant(net, spatial_size=9)
    x = torch.randn(2, t.size, 9, 9)
    y = net(GeometricTensor(x, t)).tensor
    assert net.evaluate_output_shape(tuple(x.shape)) == tuple(y.shape)
    exported = net.export()
    assert isinstance(exported, torch.nn.Sequential) and not exported.training
    torch.testing.assert_close(exported(x), y)
    state = net.state_dict()
    fresh = _seq(t).eval()
    fresh.load_state_dict(state)
    for other in (fresh, pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        torch.testing.assert_close(other(GeometricTensor(x, t)).tensor, y)


def test_sequential_ordered_dict_and_add_module():
    t = FieldType(C4, [C4.regular_repr])
    net = SequentialModule(OrderedDict([("bn", InnerBatchNorm(t)), ("relu", ReLU(t))]))
    assert list(net.state_dict())[:2] == ["bn.weight", "bn.bias"]
    net.add_module("pool", GroupPooling(t))
    assert net.out_type == FieldType(C4, [C4.trivial_repr]) and len(net) == 3
    assert list(dict(net.export().named_children())) == ["bn", "relu", "pool"]
    with pytest.raises(ValueError, match="module 'relu2' expects input type.*previous module returns"):
        net.add_module("relu2", ReLU(t))
    with pytest.raises(TypeError, match="must be an EquivariantModule"):
        net.add_module("conv", torch.nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="expected"):
        net(GeometricTensor(torch.randn(1, 1, 3, 3), FieldType(C4, [C4.trivial_repr])))


def test_module_list():
    t = FieldType(C4, [C4.regular_repr] * 2)
    layers = ModuleList([ReLU(t), InnerBatchNorm(t)])
    layers.append(ELU(t))
    layers.extend([PointwiseAvgPool(t, 2)])
    layers.insert(0, ReLU(t))
    assert len(layers) == 5
    for bad in (lambda: layers.append(torch.nn.ReLU()), lambda: layers.extend([torch.nn.ReLU()])):
        with pytest.raises(TypeError, match="must be an EquivariantModule"):
            bad()
    with pytest.raises(TypeError, match="must be an EquivariantModule"):
        ModuleList([torch.nn.ReLU()])
    with pytest.raises(TypeError, match="must be an EquivariantModule"):
        layers[0] = torch.nn.ReLU()
    exported = layers.export()
    assert isinstance(exported, torch.nn.ModuleList) and not exported.training
    assert layers.training  # export() leaves the live modules as they were
    layers.eval()
    x = torch.randn(2, t.size, 4, 4)
    gx = GeometricTensor(x, t)
    for m, e in zip(layers, exported):
        torch.testing.assert_close(e(x), m(gx).tensor)


def _labelled(gs):
    v = gs.irrep(1, 1) if gs.fibergroup.name.startswith("D") else gs.irrep(1)
    reps = [gs.regular_repr, v, gs.trivial_repr, gs.regular_repr, v, gs.trivial_repr, gs.trivial_repr]
    labels = ["p", "n", "g", "p", "n", "g", "p"]
    return FieldType(gs, reps), labels


@pytest.mark.parametrize("reshuffle", [0, 1, 2, 3])
def test_multiple_module(reshuffle):
    t, labels = _labelled(D4)
    branches = BranchingModule(t, labels, reshuffle=reshuffle).out_type
    p, n, g = branches["p"], branches["n"], branches["g"]
    modules = [(ELU(p), "p"), (NormNonLinearity(n), "n"), (GatedNonLinearity2((g, n)), ["g", "n"])]
    m = MultipleModule(t, labels, modules, reshuffle=reshuffle)
    assert m.out_type == p + n + n
    assert_equivariant(m, spatial_size=5)
    # e2cnn's full_space_action=False: the channel action alone (these modules act pixel by pixel)
    assert max(e for _, e in m.check_equivariance(full_space_action=False)) < 1e-12
    x = torch.randn(2, t.size, 5, 5)
    y = m(GeometricTensor(x, t))
    assert m.evaluate_output_shape(tuple(x.shape)) == tuple(y.shape)
    # reference: gather the fields of each label by hand
    split = {lb: [i for i in range(len(t)) if labels[i] == lb] for lb in "png"}
    if reshuffle >= 2:
        split["p"] = sorted(split["p"], key=lambda i: (t.representations[i].size, t.representations[i].name))

    def gather(ids):
        return torch.cat([x[:, t.fields_start[i] : t.fields_end[i]] for i in ids], dim=1)

    xp, xn, xg = gather(split["p"]), gather(split["n"]), gather(split["g"])
    ref = torch.cat(
        [
            modules[0][0](GeometricTensor(xp, p)).tensor,
            modules[1][0](GeometricTensor(xn, n)).tensor,
            modules[2][0](GeometricTensor(xg, g), GeometricTensor(xn, n)).tensor,
        ],
        dim=1,
    )
    torch.testing.assert_close(y.tensor, ref)


def test_branching_and_merge_errors():
    t, labels = _labelled(C4)
    with pytest.raises(ValueError, match="expected 7 strings"):
        BranchingModule(t, labels[:-1])
    with pytest.raises(ValueError, match="reshuffle=4"):
        BranchingModule(t, labels, reshuffle=4)
    # e2cnn accepts a bool: False is 0, True is 1
    assert BranchingModule(t, labels, reshuffle=False).reshuffle == 0
    assert BranchingModule(t, labels, reshuffle=True).reshuffle == 1
    b = BranchingModule(t, labels)
    assert b.check_equivariance()[0][1] == 0.0
    with pytest.raises(ValueError, match="label 'p' but the branch has type|expects"):
        MultipleModule(t, labels, [(ReLU(FieldType(C4, [C4.regular_repr])), "p")])
    with pytest.raises(ValueError, match="label 'x', which no field carries"):
        MultipleModule(t, labels, [(ReLU(b.out_type["p"]), "x")])
    with pytest.raises(TypeError, match="must be an EquivariantModule"):
        MergeModule([(torch.nn.ReLU(), "p")])
    merge = MergeModule([(ReLU(b.out_type["p"]), "p")])
    assert len(merge.check_equivariance()) == 4 and merge.in_type is None
    with pytest.raises(ValueError, match=r"labels \['p'\] are missing"):
        merge({})
