"""Non-linearities: pointwise, concatenated, norm, induced norm, gated and vector-field."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.group import change_basis
from structconv.nn import (
    ELU,
    ConcatenatedNonLinearity,
    FieldType,
    GatedNonLinearity1,
    GatedNonLinearity2,
    GeometricTensor,
    InducedGatedNonLinearity1,
    InducedNormNonLinearity,
    NormNonLinearity,
    PointwiseNonLinearity,
    ReLU,
    VectorFieldNonLinearity,
)
from structconv.testing import assert_equivariant

C4 = gspaces.Rot2dOnR2(4)
C8 = gspaces.Rot2dOnR2(8)
D4 = gspaces.FlipRot2dOnR2(4)
SO2 = gspaces.Rot2dOnR2(-1, maximum_frequency=4)
O2 = gspaces.FlipRot2dOnR2(-1, maximum_frequency=4)


def _vector(gs):
    return gs.irrep(1, 1) if gs.fibergroup.name.startswith(("D", "O")) else gs.irrep(1)


def _perm_type(gs, shuffled: bool) -> FieldType:
    reps = [gs.regular_repr, gs.regular_repr, gs.trivial_repr, gs.trivial_repr]
    return FieldType(gs, [reps[i] for i in (0, 2, 1, 3)] if shuffled else reps)


def _norm_type(gs, shuffled: bool) -> FieldType:
    if gs.fibergroup.continuous:
        reps = [gs.irrep(*_vector(gs).id), gs.irrep(*_vector(gs).id), gs.trivial_repr]
        reps = reps + [gs.irrep(2) if len(_vector(gs).id) == 1 else gs.irrep(1, 2)]
    else:
        reps = [_vector(gs), _vector(gs), gs.regular_repr, gs.trivial_repr]
    return FieldType(gs, [reps[i] for i in (0, 2, 1, 3)] if shuffled else reps)


def _fibre_error(module, x: torch.Tensor, in_type=None, out_type=None) -> float:
    """Worst |f(rho(g) x) - rho(g) f(x)| over the testing elements, acting on the fibres only."""
    in_type = in_type or module.in_type
    out_type = out_type or module.out_type
    y = module(GeometricTensor(x, in_type)).tensor
    worst = 0.0
    for g in in_type.testing_elements:
        a = module(GeometricTensor(in_type.transform_fibers(x, g), in_type)).tensor
        b = out_type.transform_fibers(y, g)
        worst = max(worst, float((a - b).abs().max().detach()))
    return worst


def _unsupported(gs):
    """A representation supporting no non-linearity at all."""
    rep = gs.regular_repr
    return change_basis(rep, np.eye(rep.size), name="no_support_regular", supported_nonlinearities=[])


# ---------------------------------------------------------------- pointwise


@pytest.mark.parametrize(
    "gs, shuffled, make",
    [
        (C4, False, lambda t: ReLU(t)),
        (D4, True, lambda t: ReLU(t)),
        (D4, False, lambda t: ELU(t, alpha=0.5)),
        (C4, True, lambda t: PointwiseNonLinearity(t, "p_sigmoid")),
        (D4, True, lambda t: PointwiseNonLinearity(t, "p_tanh")),
        (C4, True, lambda t: ConcatenatedNonLinearity(t, "c_relu")),
        (D4, False, lambda t: ConcatenatedNonLinearity(t, "c_tanh")),
    ],
    ids=[
        "relu-C4",
        "relu-D4-shuffled",
        "elu-D4",
        "p_sigmoid-C4-shuffled",
        "p_tanh-D4-shuffled",
        "c_relu",
        "c_tanh",
    ],
)
def test_pointwise_equivariance(gs, shuffled, make):
    m = make(_perm_type(gs, shuffled))
    assert_equivariant(m, spatial_size=7)
    assert _fibre_error(m.double(), torch.randn(2, m.in_type.size, 3, 3, dtype=torch.float64)) < 1e-12


def test_concatenated_layout_and_shape():
    t = FieldType(C4, [C4.trivial_repr, C4.regular_repr])
    m = ConcatenatedNonLinearity(t, "c_relu")
    x = torch.randn(2, 5, 3, 3)
    y = m(GeometricTensor(x, t)).tensor
    assert m.out_type.size == 10 and len(m.out_type) == 2
    # e2cnn's layout: channel 2i holds f(v_i), channel 2i + 1 holds f(-v_i)
    torch.testing.assert_close(y[:, 0::2], x.relu())
    torch.testing.assert_close(y[:, 1::2], (-x).relu())
    assert m.evaluate_output_shape((2, 5, 3, 3)) == (2, 10, 3, 3)
    assert [r.name for r in m.out_type.representations] == ["concatenated_irrep_0", "concatenated_regular"]


@pytest.mark.parametrize(
    "gs, rep",
    [
        (C8, C8.irrep(4)),
        (D4, D4.irrep(1, 0)),
        (D4, D4.irrep(0, 2)),
    ],
    ids=["C8-irrep4", "D4-irrep10", "D4-irrep02"],
)
def test_concatenated_signed_permutation(gs, rep):
    # sign representations list 'concatenated': the module accepts them, and the output is a permutation
    # representation (an entry -1 of rho(g) swaps the pair f(v), f(-v))
    assert "concatenated" in rep.supported_nonlinearities
    t = FieldType(gs, [rep, gs.trivial_repr, rep])
    m = ConcatenatedNonLinearity(t, "c_relu")
    out = m.out_type.representations[0]
    assert out.name == f"concatenated_{rep.name}" and "pointwise" in out.supported_nonlinearities
    for g in t.testing_elements:
        a = rep(g)[0, 0]
        want = np.eye(2) if a > 0 else np.array([[0.0, 1.0], [1.0, 0.0]])
        np.testing.assert_allclose(out(g), want, atol=1e-12)
    assert _fibre_error(m.double(), torch.randn(2, t.size, 3, 3, dtype=torch.float64)) < 1e-12
    m.check_equivariance()


def test_concatenated_every_listed_representation_is_accepted():
    # 'concatenated' in supported_nonlinearities and the module agree, for every representation of the gspaces
    for gs in (C4, C8, D4, SO2, O2):
        if gs.fibergroup.continuous:
            reps = [gs.trivial_repr, gs.irrep(*_vector(gs).id)] + ([gs.irrep(1, 0)] if gs is O2 else [])
        else:
            reps = [gs.trivial_repr, gs.regular_repr]
            reps += [gs.irrep(*irr.id) for irr in gs.fibergroup.irreps.values()]
        for rep in reps:
            t = FieldType(gs, [rep])
            if "concatenated" in rep.supported_nonlinearities:
                ConcatenatedNonLinearity(t)
            else:
                with pytest.raises(ValueError, match="does not support 'concatenated'"):
                    ConcatenatedNonLinearity(t)


@pytest.mark.parametrize(
    "make, plain",
    [
        (lambda t: ReLU(t, inplace=False), torch.nn.ReLU),
        (lambda t: ELU(t, alpha=0.7), torch.nn.ELU),
        (lambda t: PointwiseNonLinearity(t, "p_sigmoid"), torch.nn.Sigmoid),
        (lambda t: PointwiseNonLinearity(t, "p_tanh"), torch.nn.Tanh),
    ],
)
def test_pointwise_export(make, plain):
    t = _perm_type(C8, shuffled=True)
    m = make(t)
    exported = m.export()
    assert isinstance(exported, plain) and not exported.training
    x = torch.randn(3, t.size, 5, 5)
    torch.testing.assert_close(exported(x.clone()), m(GeometricTensor(x, t)).tensor)


def test_reprs_match_the_reference_printout():
    t = FieldType(C8, [C8.regular_repr] * 3)
    assert (
        repr(ReLU(t, inplace=True)) == "ReLU(inplace=True, type=[8-Rotations: {regular, regular, regular}])"
    )
    t1 = FieldType(C8, [C8.regular_repr])
    assert repr(ELU(t1, inplace=True)) == "ELU(alpha=1.0, inplace=True, type=[8-Rotations: {regular}])"


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda t: ReLU(t), "does not support 'pointwise'"),
        (lambda t: ELU(t), "does not support 'pointwise'"),
        (lambda t: PointwiseNonLinearity(t), "does not support 'pointwise'"),
        (lambda t: ConcatenatedNonLinearity(t), "does not support 'concatenated'"),
        (lambda t: VectorFieldNonLinearity(t), "does not support 'vectorfield'"),
    ],
)
def test_pointwise_rejects_irreps(make, match):
    t = FieldType(C8, [C8.regular_repr, C8.irrep(1)])
    with pytest.raises(ValueError, match=match + r".*field 1|field 1.*" + match):
        make(t)


def test_bad_function_names():
    t = _perm_type(C4, False)
    with pytest.raises(ValueError, match="function='relu' is not known"):
        PointwiseNonLinearity(t, "relu")
    with pytest.raises(ValueError, match="function='c_elu' is not known"):
        ConcatenatedNonLinearity(t, "c_elu")
    with pytest.raises(TypeError, match="in_type must be a FieldType"):
        ReLU([C4.regular_repr])


def test_forward_checks_the_input_type():
    t = _perm_type(C4, False)
    m = ReLU(t)
    with pytest.raises(TypeError, match="must be a GeometricTensor"):
        m(torch.randn(1, t.size, 3, 3))
    other = _perm_type(C4, True)
    with pytest.raises(ValueError, match="expected"):
        m(GeometricTensor(torch.randn(1, other.size, 3, 3), other))


# ---------------------------------------------------------------- norm


@pytest.mark.parametrize(
    "gs, shuffled, function, bias",
    [
        (C8, False, "n_relu", True),
        (C8, True, "squash", False),
        (D4, True, "n_sigmoid", True),
        (SO2, True, "n_relu", True),
        (O2, False, "n_sigmoid", True),
    ],
    ids=["C8-n_relu", "C8-shuffled-squash", "D4-shuffled-n_sigmoid", "SO2-shuffled", "O2"],
)
def test_norm_nonlinearity_fibre_equivariance(gs, shuffled, function, bias):
    t = _norm_type(gs, shuffled)
    m = NormNonLinearity(t, function, bias=bias).double()
    if bias:
        with torch.no_grad():
            m.log_bias.normal_()
    assert _fibre_error(m, torch.randn(2, t.size, 3, 3, dtype=torch.float64)) < 1e-12


@pytest.mark.parametrize("gs", [C4, D4], ids=["C4", "D4"])
def test_norm_nonlinearity_equivariance(gs):
    m = NormNonLinearity(_norm_type(gs, True))
    assert_equivariant(m, spatial_size=7)


def test_norm_nonlinearity_values():
    t = FieldType(C4, [C4.irrep(1)])
    m = NormNonLinearity(t, "n_relu")  # threshold exp(0) = 1
    x = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    y = m(GeometricTensor(x, t)).tensor.flatten()
    torch.testing.assert_close(y, torch.tensor([3.0, 4.0]) * 4.0 / 5.0)
    sq = NormNonLinearity(t, "squash", bias=False)
    torch.testing.assert_close(sq(GeometricTensor(x, t)).tensor.flatten(), torch.tensor([3.0, 4.0]) / 6.0)


def test_norm_nonlinearity_matches_a_loop_over_fields():
    t = _norm_type(C8, shuffled=True)
    m = NormNonLinearity(t, "n_relu")
    with torch.no_grad():
        m.log_bias.normal_()
    x = torch.randn(2, t.size, 3, 3)
    y = m(GeometricTensor(x, t)).tensor
    for i, (s, e) in enumerate(zip(t.fields_start, t.fields_end)):
        v = x[:, s:e]
        n = v.norm(dim=1, keepdim=True)
        torch.testing.assert_close(y[:, s:e], v * torch.relu(n - m.log_bias[i].exp()) / n)


@pytest.mark.parametrize("function, bias", [("n_relu", True), ("n_sigmoid", True), ("squash", False)])
def test_norm_nonlinearity_zero_field_has_finite_gradient(function, bias):
    t = FieldType(C8, [C8.irrep(1), C8.irrep(2)])
    m = NormNonLinearity(t, function, bias=bias)
    x = torch.zeros(1, 4, 2, 2, requires_grad=True)
    y = m(GeometricTensor(x, t)).tensor
    assert torch.isfinite(y).all()
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    if bias:
        assert torch.isfinite(m.log_bias.grad).all()


def test_norm_nonlinearity_gradcheck():
    t = FieldType(C8, [C8.irrep(1), C8.regular_repr, C8.irrep(1)])
    m = NormNonLinearity(t, "n_sigmoid").double()
    x = torch.randn(1, t.size, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: m(GeometricTensor(inp, t)).tensor, (x,))


def test_norm_nonlinearity_errors():
    t = FieldType(C8, [C8.irrep(1), _unsupported(C8)])
    with pytest.raises(ValueError, match="field 1 of in_type.*does not support 'norm'"):
        NormNonLinearity(t)
    t = FieldType(C8, [C8.irrep(1)])
    with pytest.raises(ValueError, match="'squash' takes no bias"):
        NormNonLinearity(t, "squash")
    with pytest.raises(ValueError, match="function='n_tanh' is not known"):
        NormNonLinearity(t, "n_tanh")


def test_norm_nonlinearity_state_dict_pickle_deepcopy():
    t = _norm_type(C8, True)
    m = NormNonLinearity(t)
    with torch.no_grad():
        m.log_bias.normal_()
    assert list(m.state_dict()) == ["log_bias"]
    m.eval()
    assert list(m.state_dict()) == ["log_bias"]
    m2 = NormNonLinearity(t)
    m2.load_state_dict(m.state_dict())
    x = GeometricTensor(torch.randn(2, t.size, 3, 3), t)
    for other in (m2, pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        torch.testing.assert_close(other(x).tensor, m(x).tensor)


@pytest.mark.oracle
def test_norm_nonlinearity_matches_e2cnn():
    e2cnn = pytest.importorskip("e2cnn")
    egs = e2cnn.gspaces.Rot2dOnR2(8)
    et = e2cnn.nn.FieldType(egs, [egs.irrep(1), egs.irrep(2), egs.regular_repr, egs.irrep(1)])
    t = FieldType(C8, [C8.irrep(1), C8.irrep(2), C8.regular_repr, C8.irrep(1)])
    x = torch.randn(2, t.size, 4, 4)
    for function, bias in (("n_relu", True), ("n_sigmoid", True), ("squash", False)):
        ours = NormNonLinearity(t, function, bias=bias)(GeometricTensor(x, t)).tensor
        ref = e2cnn.nn.NormNonLinearity(et, function, bias=bias)(e2cnn.nn.GeometricTensor(x, et)).tensor
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- induced norm


def _induced(gs=D4):
    sub = gs.restrict((None, 4))[0]
    return gs.induced_repr((None, 4), sub.irrep(1)), gs.induced_repr((None, 4), sub.trivial_repr)


def test_induced_norm_nonlinearity():
    ind, _ = _induced()
    t = FieldType(D4, [ind, ind])
    m = InducedNormNonLinearity(t)
    with torch.no_grad():
        m.log_bias.normal_()
    assert_equivariant(m, spatial_size=5)
    x = torch.randn(2, t.size, 3, 3, dtype=torch.float64)
    assert _fibre_error(m.double(), x) < 1e-12
    # every sub-field (of size 2) is rescaled by a function of its own norm, with its field's bias
    y = m(GeometricTensor(x, t)).tensor
    sub = x.view(2, 2, 2, 2, 3, 3)
    norms = sub.norm(dim=3, keepdim=True)
    b = m.log_bias.detach().exp().view(1, 2, 1, 1, 1, 1)
    torch.testing.assert_close(y, (sub * torch.relu(norms - b) / norms).view_as(x))


def test_induced_norm_nonlinearity_rejects_plain_fields():
    with pytest.raises(ValueError, match="field 0 of in_type.*does not support 'induced_norm'"):
        InducedNormNonLinearity(FieldType(D4, [D4.irrep(1, 1)]))


# ---------------------------------------------------------------- gated


@pytest.mark.parametrize(
    "gs, drop_gates", [(C8, True), (D4, False), (SO2, False), (O2, True)], ids=["C8", "D4", "SO2", "O2"]
)
def test_gated1_fibre_equivariance(gs, drop_gates):
    v = _vector(gs)
    reps = [gs.trivial_repr, v, gs.trivial_repr, gs.trivial_repr, v, v]
    labels = ["gate", "gated", "gate", "gate", "gated", "gated"]
    t = FieldType(gs, reps)
    m = GatedNonLinearity1(t, gates=labels, drop_gates=drop_gates).double()
    with torch.no_grad():
        m.bias.normal_()
    assert _fibre_error(m, torch.randn(2, t.size, 3, 3, dtype=torch.float64)) < 1e-12
    assert m.out_type == (t.index_select([1, 4, 5]) if drop_gates else t)


def test_gated1_default_gates_and_values():
    t = FieldType(C8, [C8.trivial_repr, C8.trivial_repr, C8.irrep(1), C8.regular_repr])
    m = GatedNonLinearity1(t)
    x = torch.randn(2, t.size, 3, 3)
    y = m(GeometricTensor(x, t)).tensor
    torch.testing.assert_close(y[:, :2], x[:, 2:4] * torch.sigmoid(x[:, 0:1]))
    torch.testing.assert_close(y[:, 2:], x[:, 4:] * torch.sigmoid(x[:, 1:2]))
    assert_equivariant(m, spatial_size=5, elements=[0, 2, 4, 6])
    keep = GatedNonLinearity1(t, drop_gates=False)
    z = keep(GeometricTensor(x, t)).tensor
    torch.testing.assert_close(z[:, :2], torch.sigmoid(x[:, :2]))
    torch.testing.assert_close(z[:, 2:], y)


def test_gated1_errors():
    t = FieldType(C8, [C8.trivial_repr, C8.irrep(1), C8.irrep(1)])
    with pytest.raises(ValueError, match="even number of fields"):
        GatedNonLinearity1(t)
    with pytest.raises(ValueError, match="1 gate fields but 2 gated"):
        GatedNonLinearity1(t, gates=["gate", "gated", "gated"])
    with pytest.raises(ValueError, match=r"gates\[1\]='gatd'"):
        GatedNonLinearity1(t, gates=["gate", "gatd", "gated"])
    bad = FieldType(C8, [C8.irrep(1), C8.irrep(1)])
    with pytest.raises(ValueError, match=r"field 0 of in_type \(a gate\).*does not support 'gate'"):
        GatedNonLinearity1(bad)


def test_gated1_gradcheck_and_state_dict():
    t = FieldType(C4, [C4.trivial_repr, C4.regular_repr, C4.trivial_repr, C4.irrep(1)])
    m = GatedNonLinearity1(t, gates=["gate", "gated", "gate", "gated"]).double()
    x = torch.randn(1, t.size, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: m(GeometricTensor(inp, t)).tensor, (x,))
    assert list(m.state_dict()) == ["bias"]
    clone = pickle.loads(pickle.dumps(m))
    torch.testing.assert_close(clone(GeometricTensor(x, t)).tensor, m(GeometricTensor(x, t)).tensor)


@pytest.mark.oracle
def test_gated1_matches_e2cnn():
    e2cnn = pytest.importorskip("e2cnn")
    egs = e2cnn.gspaces.Rot2dOnR2(8)
    et = e2cnn.nn.FieldType(egs, [egs.trivial_repr] * 2 + [egs.irrep(1), egs.irrep(2)])
    t = FieldType(C8, [C8.trivial_repr] * 2 + [C8.irrep(1), C8.irrep(2)])
    ref_module = e2cnn.nn.GatedNonLinearity1(et)
    ours = GatedNonLinearity1(t)
    with torch.no_grad():
        ours.bias.copy_(ref_module.bias.view(-1))
    x = torch.randn(2, t.size, 4, 4)
    ref = ref_module(e2cnn.nn.GeometricTensor(x, et)).tensor
    torch.testing.assert_close(ours(GeometricTensor(x, t)).tensor, ref)


def test_gated2():
    gates_type = FieldType(C8, [C8.trivial_repr] * 2)
    gated_type = FieldType(C8, [C8.irrep(1), C8.regular_repr])
    m = GatedNonLinearity2((gates_type, gated_type))
    g, v = torch.randn(2, 2, 5, 5), torch.randn(2, gated_type.size, 5, 5)
    y = m(GeometricTensor(g, gates_type), GeometricTensor(v, gated_type)).tensor
    torch.testing.assert_close(y[:, :2], v[:, :2] * torch.sigmoid(g[:, :1]))
    torch.testing.assert_close(y[:, 2:], v[:, 2:] * torch.sigmoid(g[:, 1:]))
    assert m.out_type == gated_type
    assert len(m.check_equivariance()) == 8
    assert m.evaluate_output_shape((2, gated_type.size, 5, 5)) == (2, gated_type.size, 5, 5)
    with pytest.raises(ValueError, match="2 gate fields but 1 gated"):
        GatedNonLinearity2((gates_type, FieldType(C8, [C8.irrep(1)])))
    with pytest.raises(TypeError, match="expected a pair"):
        GatedNonLinearity2(gates_type)


def test_induced_gated():
    ind, gate = _induced()
    t = FieldType(D4, [gate, ind, gate, ind])
    m = InducedGatedNonLinearity1(t, gates=["gate", "gated", "gate", "gated"])
    with torch.no_grad():
        m.bias.normal_()
    assert_equivariant(m, spatial_size=5)
    assert _fibre_error(m.double(), torch.randn(2, t.size, 3, 3, dtype=torch.float64)) < 1e-12
    x = torch.randn(1, t.size, 1, 1, dtype=torch.float64)
    y = m(GeometricTensor(x, t)).tensor.flatten()
    s = torch.sigmoid(x.flatten()[0:2] - m.bias[0])
    torch.testing.assert_close(y[:4], x.flatten()[2:6] * s.repeat_interleave(2))
    with pytest.raises(ValueError, match="does not support 'induced_gate'"):
        InducedGatedNonLinearity1(FieldType(D4, [ind, ind]))


# ---------------------------------------------------------------- vector field


def test_vectorfield():
    t = FieldType(C8, [C8.regular_repr] * 3)
    m = VectorFieldNonLinearity(t)
    assert m.out_type == FieldType(C8, [C8.irrep(1)] * 3)
    # the argmax is discontinuous: interpolated rotations are checked on the fibres only
    assert_equivariant(m, spatial_size=5, elements=[0, 2, 4, 6])
    assert _fibre_error(m.double(), torch.randn(2, t.size, 3, 3, dtype=torch.float64)) < 1e-12
    x = torch.zeros(1, 24, 1, 1)
    x[0, 2] = 3.0  # field 0: max 3 at rotation 2 (90 degrees)
    y = m(GeometricTensor(x, t)).tensor.flatten()
    torch.testing.assert_close(y[:2], torch.tensor([0.0, 3.0]), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="does not support 'vectorfield'"):
        VectorFieldNonLinearity(FieldType(D4, [D4.regular_repr]))


def test_vectorfield_length_is_relu_of_max():
    # a field whose every entry is negative has length 0 (e2cnn: [0, 0] for C4 regular [-1, -2, -3, -4])
    t = FieldType(C4, [C4.regular_repr, C4.regular_repr])
    m = VectorFieldNonLinearity(t)
    x = torch.tensor([-1.0, -2.0, -3.0, -4.0, -2.0, 5.0, 1.0, 0.0]).view(1, 8, 1, 1)
    y = m(GeometricTensor(x, t)).tensor.flatten()
    assert y[:2].tolist() == [0.0, 0.0]
    torch.testing.assert_close(y[2:], torch.tensor([0.0, 5.0]), atol=1e-6, rtol=0)
    # and on random input: |y| = relu(max), angle = 2 pi argmax / N
    x = torch.randn(3, 8, 4, 4, dtype=torch.float64)
    y = m(GeometricTensor(x, t)).tensor.view(3, 2, 2, 4, 4)
    v = x.view(3, 2, 4, 4, 4)
    torch.testing.assert_close(y.norm(dim=2), v.amax(dim=2).relu())


def test_pointwise_check_equivariance_tests_the_fibres():
    # NormNonLinearity with a discontinuous-looking sigmoid of the norm on C8's sign irrep: exactly
    # equivariant on the fibres; the check must not interpolate a 45 degree turn of a pointwise map
    m = NormNonLinearity(FieldType(C8, [C8.irrep(4)] * 2), function="n_sigmoid")
    errors = m.check_equivariance()
    assert len(errors) == 8 and max(e for _, e in errors) < 1e-12
    v = VectorFieldNonLinearity(FieldType(C8, [C8.regular_repr] * 2))
    assert max(e for _, e in v.check_equivariance()) < 1e-12
    assert max(e for _, e in v.check_equivariance(full_space_action=False)) < 1e-12

    class Broken(VectorFieldNonLinearity):
        def forward(self, input):
            out = super().forward(input)
            return GeometricTensor(out.tensor.flip(1), self.out_type)  # swaps x and y: not equivariant

    with pytest.raises(AssertionError, match="not equivariant"):
        Broken(FieldType(C8, [C8.regular_repr])).check_equivariance()
    report = Broken(FieldType(C8, [C8.regular_repr])).check_equivariance(assertion=False, verbose=True)
    assert max(e for _, e in report) > 0.1


def test_e2cnn_keyword_arguments_are_accepted():
    gates, gated = FieldType(C4, [C4.trivial_repr] * 2), FieldType(C4, [C4.irrep(1)] * 2)
    GatedNonLinearity2((gates, gated), function="gated")
    GatedNonLinearity1(gates + gated, function="gated")
    with pytest.warns(UserWarning, match="ignored keyword arguments"):
        GatedNonLinearity2((gates, gated), functon="gated")
