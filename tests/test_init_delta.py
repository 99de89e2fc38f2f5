"""deltaorthonormal_init: the polar factor taken block by block equals the polar factor of the whole matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from structconv import gspaces
from structconv.nn import FieldType, R2Conv
from structconv.nn.init import _equivariant_polar_factor, _polar_factor, deltaorthonormal_init


def _types(gs):
    dihedral = gs.fibergroup.name.startswith(("D", "O"))
    v = gs.irrep(1, 1) if dihedral else gs.irrep(1)
    if gs.fibergroup.continuous:
        return FieldType(gs, [gs.trivial_repr, v, v]), FieldType(gs, [v, gs.trivial_repr, v, v])
    return (
        FieldType(gs, [gs.regular_repr, gs.trivial_repr, v]),
        FieldType(gs, [v, gs.regular_repr, gs.regular_repr, gs.trivial_repr]),
    )


@pytest.mark.parametrize(
    "gs",
    [gspaces.Rot2dOnR2(8), gspaces.FlipRot2dOnR2(4), gspaces.Rot2dOnR2(-1, maximum_frequency=3)],
    ids=["C8", "D4", "SO2"],
)
def test_block_polar_factor_equals_the_whole_svd(gs):
    t_in, t_out = _types(gs)
    conv = R2Conv(t_in, t_out, 3, initialize=False).double()
    torch.manual_seed(0)
    deltaorthonormal_init(conv.weights, conv.basisexpansion)
    centre = conv.expand_parameters()[0][:, :, 1, 1].detach().double().numpy()
    # the centre is (semi-)orthogonal ...
    k = min(centre.shape)
    np.testing.assert_allclose(np.linalg.svd(centre, compute_uv=False), np.ones(k), atol=1e-5)
    # ... and the blockwise polar factor of a random equivariant matrix is the whole SVD's
    conv.weights.data.normal_()
    matrix = conv.expand_parameters()[0][:, :, 1, 1].detach().double().numpy()
    np.testing.assert_allclose(
        _equivariant_polar_factor(matrix, t_in, t_out), _polar_factor(matrix), atol=1e-9
    )
    # a matrix that is not equivariant takes the fallback and still gets its own polar factor
    noise = np.random.default_rng(0).standard_normal(matrix.shape)
    np.testing.assert_allclose(_equivariant_polar_factor(noise, t_in, t_out), _polar_factor(noise), atol=1e-9)


def _r3_types(name):
    if name == "so3":
        gs = gspaces.rot3dOnR3()
        v = [gs.irrep(0), gs.irrep(1), gs.irrep(2)]
        return FieldType(gs, v * 2), FieldType(gs, v[::-1] * 2)
    gs = gspaces.octaOnR3()
    reg = gs.fibergroup.regular_representation
    return FieldType(gs, [reg, gs.trivial_repr]), FieldType(gs, [gs.trivial_repr, reg, reg])


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("name", ["so3", "octa"])
def test_delta_orthonormal_on_volumes(name, kernel_size):
    """escnn's default init of its SE(3) example: on R3Conv the filter is zero off the centre voxel and the
    centre is (semi-)orthogonal, for every odd kernel size (escnn 1.0.11 accepts k = 1, 3, 5)."""
    from structconv.nn import R3Conv

    t_in, t_out = _r3_types(name)
    conv = R3Conv(t_in, t_out, kernel_size, initialize=False).double()
    torch.manual_seed(0)
    deltaorthonormal_init(conv.weights.data, conv.basisexpansion)
    filt = conv.expand_parameters()[0].detach().numpy()
    c = kernel_size // 2
    centre = filt[:, :, c, c, c]
    k = min(centre.shape)
    np.testing.assert_allclose(np.linalg.svd(centre, compute_uv=False), np.ones(k), atol=1e-9)
    rest = filt.copy()
    rest[:, :, c, c, c] = 0
    assert np.abs(rest).max() <= 1e-12
