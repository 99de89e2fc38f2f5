"""escnn's SE(3) example network, built with structconv's escnn API: the same calls, the same parameter count
as escnn 1.0.11, and invariance of its logits to the cube's rotations of the input (what the example itself
checks).

The architecture is that of ``examples/se3_3Dcnn.py`` in escnn's repository with its defaults (polynomial
fields from tensor products of the vector irrep, residual blocks with ``FourierELU`` on a 96-point
``'thomson_cube'`` grid of SO(3), antialiased pooling, ``QuotientFourierELU`` on the 24-point
``'thomson_cube'`` sphere grid), written here from that description. ``benchmarks/r3conv.py`` times its
construction beside escnn's.
"""

from __future__ import annotations

import pytest
import torch

from structconv import gspaces
from structconv import nn as enn
from structconv.group import directsum

# sum of the parameters of the 14 R3Conv, IIDBatchNorm3d and Fourier modules, printed by escnn 1.0.11 for
# the same calls (its interpreter, /tmp/se3/net.py-style script, 2026-12-01): 161,202
ESCNN_PARAMETERS = 161_202


def _polynomial(gs, K):
    G = gs.fibergroup
    parts = [gs.trivial_repr, G.irrep(1)]
    for _ in range(2, K + 1):
        parts.append(parts[-1].tensor(G.irrep(1)))
    return directsum(parts, name=f"polynomial_{K}")


class _Block(enn.EquivariantModule):
    def __init__(self, t_in, width, t_out):
        super().__init__()
        G = t_in.gspace.fibergroup
        grid = {"type": "thomson_cube", "N": 4}
        act = enn.FourierELU(
            t_in.gspace, round(width / len(G.grid(**grid))), irreps=G.bl_irreps(2), inplace=True, **grid
        )
        self.in_type, self.out_type = t_in, t_out
        self.body = enn.SequentialModule(
            enn.R3Conv(t_in, act.in_type, kernel_size=3, padding=1, bias=False, initialize=False),
            enn.IIDBatchNorm3d(act.in_type, affine=True),
            act,
            enn.R3Conv(act.in_type, t_out, kernel_size=3, padding=1, stride=2, bias=False, initialize=False),
        )
        self.pool = enn.PointwiseAvgPoolAntialiased3D(t_in, 0.33, 2, 1)
        self.skip = enn.R3Conv(t_in, t_out, kernel_size=1, padding=0, bias=False)

    def forward(self, x):
        return self.skip(self.pool(x)) + self.body(x)

    def evaluate_output_shape(self, input_shape):
        return self.body.evaluate_output_shape(input_shape)


def build_se3_example():
    gs = gspaces.rot3dOnR3()
    G = gs.fibergroup
    spec = [(2, 3, 200), (3, 2, 480), (3, 6, 480), (3, 12, 960), (3, 8, None)]
    types = [(enn.FieldType(gs, [_polynomial(gs, K)] * m), w) for K, m, w in spec]
    t0 = enn.FieldType(gs, [gs.trivial_repr])
    mods = [enn.R3Conv(t0, types[0][0], kernel_size=5, padding=2, bias=False, initialize=False)]
    for (t_in, width), (t_out, _) in zip(types[:-1], types[1:]):
        mods.append(_Block(t_in, width, t_out))
    pool = enn.QuotientFourierELU(
        gs,
        (False, -1),
        128,
        irreps=G.bl_irreps(2),
        out_irreps=G.bl_irreps(0),
        grid=G.sphere_grid(type="thomson_cube", N=1),
    )
    mods += [
        enn.R3Conv(types[-1][0], pool.in_type, kernel_size=3, padding=0, bias=False, initialize=False),
        pool,
    ]
    return enn.SequentialModule(*mods)


@pytest.fixture(scope="module")
def se3_example():
    torch.manual_seed(0)
    net = build_se3_example()
    for m in net.modules():
        if isinstance(m, enn.R3Conv):
            enn.init.generalized_he_init(m.weights.data, m.basisexpansion, cache=True)
    return net.eval()


def test_same_modules_and_parameters_as_escnn(se3_example):
    convs = [m for m in se3_example.modules() if isinstance(m, enn.R3Conv)]
    assert len(convs) == 14
    assert sum(p.numel() for p in se3_example.parameters()) == ESCNN_PARAMETERS
    assert se3_example.out_type.size == 128


@pytest.mark.slow
def test_logits_invariant_to_the_cube_rotations(se3_example):
    torch.manual_seed(1)
    x = torch.randn(2, 1, 33, 33, 33)
    t = se3_example.in_type
    with torch.no_grad():
        y = se3_example(enn.GeometricTensor(x, t)).tensor.reshape(2, -1)
        scale = y.abs().max()
        assert scale > 0
        for dims, k in (((2, 3), 1), ((3, 4), 1), ((2, 4), 1), ((2, 4), 2)):
            yr = se3_example(enn.GeometricTensor(x.rot90(k, dims), t)).tensor.reshape(2, -1)
            assert (yr - y).abs().max() <= 1e-4 * scale, (dims, k)
        # not invariant to a generic perturbation: the comparison can fail
        yp = se3_example(enn.GeometricTensor(x + 0.1 * torch.randn_like(x), t)).tensor.reshape(2, -1)
        assert (yp - y).abs().max() > 1e-3 * scale


def test_delta_init_of_the_example():
    """``init='delta'``, the example's default: every R3Conv (k = 5, 3 and 1) takes the delta-orthonormal
    initialisation."""
    net = build_se3_example()
    convs = [m for m in net.modules() if isinstance(m, enn.R3Conv)]
    for m in convs:
        enn.init.deltaorthonormal_init(m.weights.data, m.basisexpansion)
    for m in convs:
        filt = m.expand_parameters()[0].detach()
        c = m.kernel_size // 2
        off = filt.clone()
        off[..., c, c, c] = 0
        assert off.abs().max() == 0 and filt[..., c, c, c].abs().max() > 0
