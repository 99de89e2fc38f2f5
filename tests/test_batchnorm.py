"""Batch norms: InnerBatchNorm, NormBatchNorm, InducedNormBatchNorm, GNormBatchNorm."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from structconv import gspaces
from structconv.nn import (
    FieldType,
    GeometricTensor,
    GNormBatchNorm,
    InducedNormBatchNorm,
    InnerBatchNorm,
    NormBatchNorm,
)
from structconv.testing import assert_equivariant

C4 = gspaces.Rot2dOnR2(4)
C8 = gspaces.Rot2dOnR2(8)
D4 = gspaces.FlipRot2dOnR2(4)
SO2 = gspaces.Rot2dOnR2(-1, maximum_frequency=3)
O2 = gspaces.FlipRot2dOnR2(-1, maximum_frequency=3)


def _vec(gs, k=1):
    return gs.irrep(1, k) if gs.fibergroup.name.startswith(("D", "O")) else gs.irrep(k)


def _perm(gs, shuffled):
    quotient = gs.quotient_repr((None, 2) if gs.fibergroup.name.startswith("D") else 2)
    reps = [gs.regular_repr, gs.regular_repr, quotient, gs.trivial_repr]
    return FieldType(gs, [reps[i] for i in (0, 3, 2, 1)] if shuffled else reps)


def _nontrivial(gs, shuffled):
    reps = [_vec(gs), _vec(gs), _vec(gs, 2)]
    return FieldType(gs, [reps[i] for i in (0, 2, 1)] if shuffled else reps)


def _generic(gs, shuffled):
    reps = [_vec(gs), gs.trivial_repr, _vec(gs, 2)] + ([] if gs.fibergroup.continuous else [gs.regular_repr])
    return FieldType(gs, list(reversed(reps)) if shuffled else reps)


def _induced():
    sub = D4.restrict((None, 4))[0]
    return D4.induced_repr((None, 4), sub.irrep(1))


def _trained(m, x, steps=3):
    """A few SGD steps on a random linear loss, so affine parameters and running statistics are not trivial."""
    params = list(m.parameters())
    opt = torch.optim.SGD(params, lr=0.1) if params else None
    target = torch.randn_like(x)
    m.train()
    for _ in range(steps):
        out = m(GeometricTensor(x * 2.0 + 0.5, m.in_type)).tensor
        if opt is not None:
            opt.zero_grad()
            (out * target).sum().backward()
            opt.step()
    return m.eval()


def _orbit(t, x):
    return torch.cat([t.transform(x, g) for g in t.testing_elements])


def _fibre_error(m, x):
    t = m.in_type
    y = m(GeometricTensor(x, t)).tensor
    return max(
        float(
            (m(GeometricTensor(t.transform_fibers(x, g), t)).tensor - t.transform_fibers(y, g))
            .abs()
            .max()
            .detach()
        )
        for g in t.testing_elements
    )


BUILDERS = {
    "inner": (InnerBatchNorm, _perm),
    "norm": (NormBatchNorm, _nontrivial),
    "gnorm": (GNormBatchNorm, _generic),
}


@pytest.mark.parametrize("kind", list(BUILDERS))
@pytest.mark.parametrize("gs, shuffled", [(C4, False), (D4, True)], ids=["C4", "D4-shuffled"])
def test_equivariance_after_training(kind, gs, shuffled):
    cls, make_type = BUILDERS[kind]
    t = make_type(gs, shuffled)
    m = _trained(cls(t), torch.randn(4, t.size, 5, 5))
    assert_equivariant(m, spatial_size=7)
    # train mode is equivariant as well; the norm batch norms normalise by the running variance updated
    # first (as e2cnn), which is the (invariant) batch statistic only with momentum 1
    m.momentum = 1.0
    assert_equivariant(m, spatial_size=7, train=True, elements=t.testing_elements[:3])


@pytest.mark.parametrize("kind", ["norm", "gnorm"])
@pytest.mark.parametrize("gs", [SO2, O2], ids=["SO2", "O2"])
def test_fibre_equivariance_continuous(kind, gs):
    cls, make_type = BUILDERS[kind]
    t = make_type(gs, True)
    m = _trained(cls(t), torch.randn(4, t.size, 3, 3)).double()
    x = torch.randn(2, t.size, 3, 3, dtype=torch.float64)
    assert _fibre_error(m, x) < 1e-10
    m.train()
    m.momentum = 1.0  # NormBatchNorm normalises by the running variance, updated first (e2cnn)
    assert _fibre_error(m, x) < 1e-10


@pytest.mark.parametrize("gs", [C4, D4], ids=["C4", "D4"])
def test_inner_statistics_on_the_orbit(gs):
    t = _perm(gs, True)
    x = _orbit(t, torch.randn(2, t.size, 9, 9, dtype=torch.float64) * 3 + 1)
    m = InnerBatchNorm(t, momentum=1.0, affine=False).double()
    m(GeometricTensor(x, t))
    y = m.eval()(GeometricTensor(x, t)).tensor
    dims = (0, 2, 3)
    torch.testing.assert_close(y.mean(dim=dims), torch.zeros(t.size, dtype=torch.float64), atol=1e-10, rtol=0)
    torch.testing.assert_close(y.std(dim=dims), torch.ones(t.size, dtype=torch.float64), atol=2e-3, rtol=0)


@pytest.mark.parametrize("cls, make_type", [(NormBatchNorm, _nontrivial), (InducedNormBatchNorm, None)])
def test_norm_statistics_on_the_orbit(cls, make_type):
    t = make_type(C4, True) if make_type is not None else FieldType(D4, [_induced(), _induced()])
    x = _orbit(t, torch.randn(2, t.size, 9, 9, dtype=torch.float64) * 3)
    m = cls(t, momentum=1.0, affine=False).double()
    m(GeometricTensor(x, t))
    y = m.eval()(GeometricTensor(x, t)).tensor
    dims = (0, 2, 3)
    torch.testing.assert_close(y.mean(dim=dims), torch.zeros(t.size, dtype=torch.float64), atol=1e-10, rtol=0)
    # the running variance carries Bessel's factor n / (n - 1) (e2cnn): the mean square is (n - 1) / n, with
    # n = batch x pixels, times the sub-fields of an induced field (e2cnn counts each as a sample)
    n = x.shape[0] * x.shape[2] * x.shape[3]
    if cls is InducedNormBatchNorm:
        n *= 2  # Ind_{C4}^{D4}: 2 sub-fields
    expected = torch.full((t.size,), (n - 1) / n, dtype=torch.float64)
    torch.testing.assert_close((y * y).mean(dim=dims), expected, atol=2e-5, rtol=0)  # eps = 1e-5


def test_gnorm_statistics_on_the_orbit():
    t = _generic(C4, True)
    x = _orbit(t, torch.randn(2, t.size, 9, 9, dtype=torch.float64) * 2 + 1)
    m = GNormBatchNorm(t, momentum=1.0, affine=False).double()
    m(GeometricTensor(x, t))
    y = m.eval()(GeometricTensor(x, t)).tensor
    # in the irreps basis: trivial components have mean 0 / variance 1, other irreps mean square norm 1
    z = torch.einsum("ij,bjhw->bihw", t.get_dense_change_of_basis_inv().to(torch.float64), y)
    n = x.shape[0] * x.shape[2] * x.shape[3]  # every block's variance carries Bessel's factor (e2cnn)
    group = t.fibergroup
    c = 0
    for name in t.irreps:
        irr = group.irreps[name]
        block = z[:, c : c + irr.size]
        if irr.is_trivial():
            assert abs(float(block.mean())) < 1e-10
            assert abs(float(block.var()) - 1) < 2e-5  # eps = 1e-5
        else:
            torch.testing.assert_close(
                block.mean(dim=(0, 2, 3)), torch.zeros(irr.size, dtype=torch.float64), atol=1e-10, rtol=0
            )
            assert abs(float((block * block).sum(1).mean()) / irr.size - (n - 1) / n) < 2e-5
        c += irr.size


def test_inner_export_after_sgd():
    t = _perm(C8, True)
    m = _trained(InnerBatchNorm(t), torch.randn(4, t.size, 5, 5))
    exported = m.export()
    assert isinstance(exported, torch.nn.BatchNorm2d) and not exported.training
    x = torch.randn(3, t.size, 6, 6)
    torch.testing.assert_close(exported(x), m(GeometricTensor(x, t)).tensor)
    # the printout of the reference document
    t3 = FieldType(C8, [C8.regular_repr] * 3)
    assert repr(InnerBatchNorm(t3)) == (
        "InnerBatchNorm([8-Rotations: {regular, regular, regular}], eps=1e-05, momentum=0.1, affine=True, "
        "track_running_stats=True)"
    )
    # without running statistics the export is a torch.fx graph of per-field batch statistics (issue 16)
    no_stats = InnerBatchNorm(t, track_running_stats=False).eval()
    assert isinstance(no_stats.export(), torch.fx.GraphModule)
    torch.testing.assert_close(no_stats.export()(x), no_stats(GeometricTensor(x, t)).tensor)


def test_inner_without_running_stats_uses_batch_statistics():
    t = _perm(C4, False)
    m = InnerBatchNorm(t, track_running_stats=False, affine=False).eval()
    assert m.running_mean is None and list(m.state_dict()) == []
    x = torch.randn(4, t.size, 5, 5) * 3 + 2
    y = m(GeometricTensor(x, t)).tensor
    assert abs(float(y.mean())) < 1e-5


def test_cumulative_moving_average():
    t = _perm(C4, False)
    m = InnerBatchNorm(t, momentum=None)
    x1, x2 = torch.randn(4, t.size, 5, 5) + 1, torch.randn(4, t.size, 5, 5) - 3
    m(GeometricTensor(x1, t))
    mean1 = m.running_mean.clone()
    m(GeometricTensor(x2, t))
    m2 = InnerBatchNorm(t, momentum=1.0)
    m2(GeometricTensor(x2, t))
    torch.testing.assert_close(m.running_mean, (mean1 + m2.running_mean) / 2)
    assert int(m.num_batches_tracked) == 2
    n = NormBatchNorm(_nontrivial(C4, False), momentum=None)
    n(GeometricTensor(torch.randn(2, n.in_type.size, 3, 3), n.in_type))
    n(GeometricTensor(torch.randn(2, n.in_type.size, 3, 3), n.in_type))
    assert int(n.num_batches_tracked) == 2


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_state_dict_pickle_gradcheck(kind):
    cls, make_type = BUILDERS[kind]
    t = make_type(C4, True)
    m = _trained(cls(t), torch.randn(4, t.size, 4, 4))
    keys_eval = list(m.state_dict())
    keys_train = list(m.train().state_dict())
    assert keys_eval == keys_train
    fresh = cls(t)
    fresh.load_state_dict(m.state_dict())
    x = GeometricTensor(torch.randn(2, t.size, 3, 3), t)
    m.eval()
    fresh.eval()
    for other in (fresh, pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        torch.testing.assert_close(other(x).tensor, m(x).tensor)
    m = m.double().train()
    m.momentum = 0.0  # NormBatchNorm's training output follows its running variance: keep it fixed
    inp = torch.randn(3, t.size, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: m(GeometricTensor(v, t)).tensor, (inp,))


def test_rejections_and_validation():
    with pytest.raises(ValueError, match="field 1 of in_type has representation 'irrep_1'.*'pointwise'"):
        InnerBatchNorm(FieldType(C4, [C4.regular_repr, C4.irrep(1)]))
    with pytest.raises(
        ValueError, match="field 1 of in_type has representation 'regular'.*contains the trivial"
    ):
        NormBatchNorm(FieldType(C4, [C4.irrep(1), C4.regular_repr]))
    with pytest.raises(ValueError, match="field 0 of in_type.*'induced_norm'"):
        InducedNormBatchNorm(FieldType(D4, [D4.irrep(1, 1)]))
    t = _perm(C4, False)
    with pytest.raises(ValueError, match="momentum=1.5"):
        InnerBatchNorm(t, momentum=1.5)
    with pytest.raises(ValueError, match="eps=-1"):
        GNormBatchNorm(t, eps=-1)
    with pytest.raises(TypeError, match="in_type must be a FieldType"):
        NormBatchNorm("regular")


@pytest.mark.oracle
def test_inner_batch_norm_matches_e2cnn():
    e2cnn = pytest.importorskip("e2cnn")
    egs = e2cnn.gspaces.Rot2dOnR2(4)
    et = e2cnn.nn.FieldType(egs, [egs.regular_repr, egs.trivial_repr, egs.regular_repr])
    t = FieldType(C4, [C4.regular_repr, C4.trivial_repr, C4.regular_repr])
    ref_m, ours = e2cnn.nn.InnerBatchNorm(et), InnerBatchNorm(t)
    x = torch.randn(4, t.size, 5, 5) * 2 + 1
    torch.testing.assert_close(
        ours(GeometricTensor(x, t)).tensor,
        ref_m(e2cnn.nn.GeometricTensor(x, et)).tensor,
        atol=1e-5,
        rtol=1e-5,
    )
    ours.eval()
    ref_m.eval()
    torch.testing.assert_close(
        ours(GeometricTensor(x, t)).tensor,
        ref_m(e2cnn.nn.GeometricTensor(x, et)).tensor,
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("shuffled", [False, True])
def test_inner_batch_norm_export_is_bit_identical(shuffled):
    # eval mode runs the very batch_norm call of the exported BatchNorm2d: 0.0 difference, and a chain of
    # them does not drift from its export
    t = _perm(C8, shuffled)
    layers = [_trained(InnerBatchNorm(t), torch.randn(4, t.size, 5, 5)) for _ in range(4)]
    for m in layers:
        m.eval()
    exported = torch.nn.Sequential(*[m.export() for m in layers])
    x = torch.randn(3, t.size, 7, 7) * 3 + 1
    y = GeometricTensor(x, t)
    for m in layers:
        y = m(y)
    assert torch.equal(exported(x), y.tensor)
    # one layer: the exported module and the live one agree exactly, also in float64
    m64 = copy.deepcopy(layers[0]).double()
    assert torch.equal(m64.export()(x.double()), m64(GeometricTensor(x.double(), t)).tensor)


def _e2cnn_inner_pair(e2cnn, shuffled):
    egs = e2cnn.gspaces.Rot2dOnR2(4)

    def reps(gs):
        r = [gs.regular_repr, gs.trivial_repr, gs.quotient_repr(2), gs.regular_repr, gs.trivial_repr]
        return r if shuffled else sorted(r, key=lambda rep: rep.size)

    et, t = e2cnn.nn.FieldType(egs, reps(egs)), FieldType(C4, reps(C4))
    theirs, ours = e2cnn.nn.InnerBatchNorm(et), InnerBatchNorm(t)
    sizes = [r.size for r in t.representations]
    with torch.no_grad():
        ours.weight.normal_()
        ours.bias.normal_()
        for s in set(sizes):
            ids = [i for i, z in enumerate(sizes) if z == s]
            bn = getattr(theirs, f"batch_norm_[{s}]")
            bn.weight.copy_(ours.weight[ids])
            bn.bias.copy_(ours.bias[ids])
    return et, t, theirs, ours, sizes


@pytest.mark.oracle
@pytest.mark.parametrize("shuffled", [False, True])
def test_inner_batch_norm_bitwise_e2cnn(shuffled):
    # training outputs, input gradients and running statistics equal e2cnn's bit for bit; the eval output
    # equals e2cnn's export when e2cnn can export (consecutive fields of each size)
    e2cnn = pytest.importorskip("e2cnn")
    et, t, theirs, ours, sizes = _e2cnn_inner_pair(e2cnn, shuffled)
    for _ in range(3):
        x = torch.randn(4, t.size, 6, 6) * 2 + 1
        xs, xe = x.clone().requires_grad_(), x.clone().requires_grad_()
        ys = ours(GeometricTensor(xs, t)).tensor
        ye = theirs(e2cnn.nn.GeometricTensor(xe, et)).tensor
        assert torch.equal(ys, ye)
        g = torch.randn_like(ys)
        ys.backward(g)
        ye.backward(g)
        assert torch.equal(xs.grad, xe.grad)
    for s in set(sizes):
        ids = [i for i, z in enumerate(sizes) if z == s]
        bn = getattr(theirs, f"batch_norm_[{s}]")
        assert torch.equal(ours.running_mean[ids], bn.running_mean)
        assert torch.equal(ours.running_var[ids], bn.running_var)
    ours.eval()
    theirs.eval()
    x = torch.randn(2, t.size, 5, 5)
    ys = ours(GeometricTensor(x, t)).tensor
    torch.testing.assert_close(ys, theirs(e2cnn.nn.GeometricTensor(x, et)).tensor, atol=2e-6, rtol=0)
    if not shuffled:
        assert torch.equal(ys, theirs.export()(x))
