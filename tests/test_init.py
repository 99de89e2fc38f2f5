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
