"""Tests of structconv.nn.init: He statistics and delta-orthogonal initialisation."""

from __future__ import annotations

import pytest
import torch

from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2
from structconv.nn import FieldType, GeometricTensor, R2Conv, init


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize(
    "gs,make",
    [
        (Rot2dOnR2(8), lambda g: [g.regular_repr] * 3),
        (FlipRot2dOnR2(4), lambda g: [g.regular_repr, g.trivial_repr, g.irrep(1, 1)]),
        (Rot2dOnR2(-1, maximum_frequency=3), lambda g: [g.irrep(0), g.irrep(1), g.irrep(2)] * 2),
    ],
    ids=["C8-regular", "D4-mixed", "SO2-irreps"],
)
def test_generalized_he_init_gives_unit_variance_per_channel(gs, make):
    t = FieldType(gs, make(gs))
    conv = R2Conv(t, t, 5, bias=False, initialize=False)
    stds, means = [], []
    for _ in range(8):
        init.generalized_he_init(conv.weights.data, conv.basisexpansion)
        with torch.no_grad():
            y = conv(GeometricTensor(torch.randn(2, t.size, 20, 20), t)).tensor
        stds.append(y.std(dim=(0, 2, 3)))
        means.append(y.mean(dim=(0, 2, 3)))
    rms = torch.stack(stds).pow(2).mean(0).sqrt()
    assert rms.min() > 0.85 and rms.max() < 1.15, rms
    assert torch.stack(means).mean(0).abs().max() < 0.1


def test_he_init_cache_and_errors():
    gs = Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr] * 2)
    conv = R2Conv(t, t, 3, initialize=False)
    assert conv.weights.abs().sum() == 0
    init.generalized_he_init(conv.weights.data, conv.basisexpansion, cache=True)
    first = conv.weights.detach().clone()
    init.generalized_he_init(conv.weights.data, conv.basisexpansion, cache=True)
    assert not torch.equal(first, conv.weights)
    with pytest.raises(ValueError, match="elements"):
        init.generalized_he_init(torch.zeros(3), conv.basisexpansion)
    with pytest.raises(TypeError, match="basisexpansion"):
        init.deltaorthonormal_init(conv.weights.data, object())


@pytest.mark.parametrize("gs", [Rot2dOnR2(8), FlipRot2dOnR2(4)], ids=lambda g: g.name)
def test_deltaorthonormal_init(gs):
    t_in = FieldType(gs, [gs.regular_repr, gs.trivial_repr])
    t_out = FieldType(gs, [gs.regular_repr] * 2 + [gs.trivial_repr])
    conv = R2Conv(t_in, t_out, 5, bias=False, initialize=False).double()
    init.deltaorthonormal_init(conv.weights.data, conv.basisexpansion)
    filt = conv.expand_parameters()[0]
    centre = filt[:, :, 2, 2]
    # semi-orthogonal: orthonormal columns (more outputs than inputs)
    torch.testing.assert_close(
        centre.T @ centre, torch.eye(t_in.size, dtype=torch.float64), atol=1e-10, rtol=0
    )
    off_centre = filt.clone()
    off_centre[:, :, 2, 2] = 0
    assert off_centre.abs().max() < 1e-12
    # still equivariant
    for g in gs.testing_elements:
        rho_out = torch.as_tensor(t_out.representation(g))
        rho_in = torch.as_tensor(t_in.representation(g))
        torch.testing.assert_close(rho_out @ centre, centre @ rho_in, atol=1e-10, rtol=0)


def test_deltaorthonormal_needs_centre_pixel():
    gs = Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    conv = R2Conv(t, t, 4, initialize=False)
    with pytest.raises(ValueError, match="odd"):
        init.deltaorthonormal_init(conv.weights.data, conv.basisexpansion)


# --- generalized_he_init against e2cnn: the exact covariance of the expanded filter --------------------------


def _he_layers(lib):
    gs = lib.gspaces.FlipRot2dOnR2(4)
    yield (
        "D4-mixed-5",
        gs,
        [gs.regular_repr, gs.irrep(1, 1)],
        [gs.regular_repr, gs.trivial_repr, gs.irrep(1, 1)],
        5,
    )
    gs = lib.gspaces.Rot2dOnR2(8)
    yield (
        "C8-3",
        gs,
        [gs.regular_repr] * 2 + [gs.irrep(1)],
        [gs.irrep(2), gs.regular_repr, gs.trivial_repr],
        3,
    )
    gs = lib.gspaces.Rot2dOnR2(-1, maximum_frequency=3)
    yield "SO2-5", gs, [gs.irrep(1), gs.trivial_repr, gs.irrep(2)], [gs.irrep(0), gs.irrep(1), gs.irrep(3)], 5
    gs = lib.gspaces.FlipRot2dOnR2(4)
    q = gs.quotient_repr
    yield "D4-quotient-5", gs, [q((None, 2))] * 2, [gs.regular_repr, q((0, 4)), gs.regular_repr], 5
    gs = lib.gspaces.FlipRot2dOnR2(-1, maximum_frequency=2)
    yield "O2-1", gs, [gs.irrep(1, 1), gs.irrep(1, 2)], [gs.irrep(0, 0), gs.irrep(1, 1), gs.irrep(1, 2)], 1


def _he_filter_covariance(conv, std: torch.Tensor) -> torch.Tensor:
    """``Cov[vec(filter)] = sum_k std_k^2 vec(B_k) vec(B_k)^T`` (B_k: the filter of the k-th unit weight)."""
    rows = []
    with torch.no_grad():
        for k in range(conv.weights.numel()):
            conv.weights.zero_()
            conv.weights[k] = 1.0
            rows.append(conv.expand_parameters()[0].reshape(-1).double().clone())
    basis = torch.stack(rows)
    return (basis.T * std.square()) @ basis


def _our_he_std(basisexpansion) -> torch.Tensor:
    std = torch.zeros(basisexpansion.dimension(), dtype=torch.float64)
    for start, shape, chunk in init._he_stds(basisexpansion):
        n = int(torch.tensor(shape).prod())
        std[start : start + n].view(shape)[...] = chunk
    return std


def _e2cnn_he_std(e2cnn, conv) -> torch.Tensor:
    # e2cnn draws one randn of the weights' shape and scales it: the ratio to the same draw is its std
    w = torch.empty_like(conv.weights.data, dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        e2cnn.nn.init.generalized_he_init(w, conv.basisexpansion)
        torch.manual_seed(0)
        z = torch.randn(w.shape, dtype=torch.float64)
    return (w / z).abs()


@pytest.mark.oracle
@pytest.mark.parametrize("index", range(5))
def test_generalized_he_init_filter_covariance_matches_e2cnn(index):
    # the bases differ (per block by an orthogonal change), so compare the distribution of the expanded
    # filter: its exact covariance (per-pixel and per-block energies included) from the variances
    e2cnn = pytest.importorskip("e2cnn")
    import structconv

    name, egs, ei, eo, k = list(_he_layers(e2cnn))[index]
    _, gs, si, so, _ = list(_he_layers(structconv))[index]
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e2cnn's .double() leaves some sampled bases in float32
    try:
        # recompute=True: e2cnn otherwise reuses a basis cached (in float32) by an earlier test of the process
        ref = e2cnn.nn.R2Conv(
            e2cnn.nn.FieldType(egs, ei), e2cnn.nn.FieldType(egs, eo), k, initialize=False, recompute=True
        )
        c_ref = _he_filter_covariance(ref, _e2cnn_he_std(e2cnn, ref))
    finally:
        torch.set_default_dtype(default)
    ours = R2Conv(FieldType(gs, si), FieldType(gs, so), k, initialize=False).double()
    c_ours = _he_filter_covariance(ours, _our_he_std(ours.basisexpansion))
    scale = float(c_ref.abs().max())
    torch.testing.assert_close(c_ours, c_ref, atol=1e-6 * scale, rtol=0, msg=name)
    # per pixel filter energy E[filter^2] (summed over channels) and the centre pixel, relative 1e-6
    e_ref = torch.diagonal(c_ref).view(ours.out_type.size, ours.in_type.size, k, k)
    e_ours = torch.diagonal(c_ours).view(ours.out_type.size, ours.in_type.size, k, k)
    torch.testing.assert_close(e_ours.sum((0, 1)), e_ref.sum((0, 1)), atol=0, rtol=1e-6)


def test_generalized_he_init_variance_split_per_input_irrep():
    # D4 [regular, irrep_1,1] -> [irrep_1,1], 1x1... 3x3: every output irrep occurrence o gets total variance 1,
    # shared equally by the distinct input irreps that reach it, then equally by their coefficients
    gs = FlipRot2dOnR2(4)
    conv = R2Conv(
        FieldType(gs, [gs.regular_repr, gs.irrep(1, 1)]), FieldType(gs, [gs.irrep(1, 1)]), 3, initialize=False
    )
    std = _our_he_std(conv.basisexpansion)
    names = [a["in_irrep"] for a in conv.basisexpansion.get_basis_info()]
    per_irrep = {}
    for n, s in zip(names, std.tolist()):
        per_irrep[n] = per_irrep.get(n, 0.0) + s * s
    assert len(per_irrep) > 1
    for total in per_irrep.values():
        assert abs(total - 1.0 / len(per_irrep)) < 1e-12
