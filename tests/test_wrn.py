"""Real e2cnn clients, unchanged except the import: an equivariant Wide ResNet and the tutorial's C8 CNN.

The models are written once against the e2cnn API (``gspaces``, ``nn``, ``nn.init``) and built with
structconv or, for the oracle comparisons, with e2cnn itself:

* a Wide ResNet in the style of Weiler & Cesa (2019): regular fields sized from
  ``gspace.fibergroup.order()`` (and ``fibergroup.rotation_order`` for the restriction of dihedral groups),
  ``frequencies_cutoff=lambda r: 3 * r``, 1×1, 3×3, 5×5 and 7×7 ``R2Conv``s initialised by
  ``init.deltaorthonormal_init(conv.weights, conv.basisexpansion)`` (the Parameter itself: e2cnn's own
  init fails on it under torch 2, an in-place write to a leaf that requires grad), residual blocks adding
  ``GeometricTensor``s in place, and ``RestrictionModule`` + ``DisentangleModule`` between stages
  (D8 → D4 → D1, C8 → C4 → C1);
* the C8 model of e2cnn's README and tutorial: ``MaskModule``, ``R2Conv`` → ``InnerBatchNorm`` → ``ReLU``
  blocks, ``PointwiseAvgPoolAntialiased`` and ``GroupPooling``.
"""

from __future__ import annotations

import math
import time
import types

import pytest
import torch

import structconv.gspaces
import structconv.nn
import structconv.nn.init

STRUCTCONV = types.SimpleNamespace(gspaces=structconv.gspaces, nn=structconv.nn, init=structconv.nn.init)


def _e2cnn():
    pytest.importorskip("e2cnn")
    import e2cnn.gspaces
    import e2cnn.nn
    import e2cnn.nn.init

    return types.SimpleNamespace(gspaces=e2cnn.gspaces, nn=e2cnn.nn, init=e2cnn.nn.init)


# --------------------------------------------------------------------------- the Wide ResNet
def make_wrn(lib, *, N=8, flip=True, restrict=(), depth=10, widen=1, num_classes=10, delta_init=True):
    """An equivariant WRN-``depth``-``widen`` on ``C_N`` / ``D_N``; ``restrict`` lists the rotation orders
    of the groups used by the second and third stage (e.g. ``(4, 1)`` for D8 → D4 → D1)."""
    gspaces, nn, init = lib.gspaces, lib.nn, lib.init

    def conv(in_type, out_type, kernel, stride=1):
        c = nn.R2Conv(
            in_type,
            out_type,
            kernel,
            padding=kernel // 2,
            stride=stride,
            bias=False,
            frequencies_cutoff=lambda r: 3 * r,
            initialize=not delta_init,
        )
        if delta_init:
            init.deltaorthonormal_init(c.weights, c.basisexpansion)
        return c

    def regular(gspace, planes):
        # as many regular fields as keep the parameter count of a plain WRN with `planes` channels
        return nn.FieldType(
            gspace, [gspace.regular_repr] * max(1, int(planes / math.sqrt(gspace.fibergroup.order())))
        )

    class WideBlock(nn.EquivariantModule):
        def __init__(self, in_type, out_type, kernel, stride):
            super().__init__()
            self.in_type, self.out_type = in_type, out_type
            self.bn1 = nn.InnerBatchNorm(in_type)
            self.relu1 = nn.ReLU(in_type, inplace=True)
            self.conv1 = conv(in_type, out_type, kernel)
            self.bn2 = nn.InnerBatchNorm(out_type)
            self.relu2 = nn.ReLU(out_type, inplace=True)
            self.conv2 = conv(out_type, out_type, kernel, stride)
            self.shortcut = (
                None if stride == 1 and in_type == out_type else conv(in_type, out_type, 1, stride)
            )

        def forward(self, x):
            x_n = self.relu1(self.bn1(x))
            out = self.conv2(self.relu2(self.bn2(self.conv1(x_n))))
            if self.shortcut is not None:
                out += self.shortcut(x_n)
            else:
                out += x
            return out

        def evaluate_output_shape(self, input_shape):
            return self.conv2.evaluate_output_shape(self.conv1.evaluate_output_shape(input_shape))

    class WRN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            n = (depth - 4) // 6
            widths = [16 * widen, 32 * widen, 64 * widen]
            kernels = [5, 3, 3]
            gspace = gspaces.FlipRot2dOnR2(N) if flip else gspaces.Rot2dOnR2(N)
            self.in_type = nn.FieldType(gspace, [gspace.trivial_repr] * 3)
            t = regular(gspace, 16)
            layers = [conv(self.in_type, t, 7)]
            for stage, (planes, kernel) in enumerate(zip(widths, kernels)):
                if stage > 0 and len(restrict) >= stage:
                    order = restrict[stage - 1]
                    sub_id = (0, order) if flip else order
                    restriction = nn.RestrictionModule(t, sub_id)
                    disentangle = nn.DisentangleModule(restriction.out_type)
                    layers += [restriction, disentangle]
                    t = disentangle.out_type
                    gspace = t.gspace
                for i in range(n):
                    out = regular(gspace, planes)
                    stride = 2 if (stage > 0 and i == 0) else 1
                    layers.append(WideBlock(t, out, kernel, stride))
                    t = out
            layers += [nn.InnerBatchNorm(t), nn.ReLU(t, inplace=True)]
            self.features = nn.SequentialModule(*layers)
            self.pool = nn.GroupPooling(t)
            self.head = torch.nn.Linear(self.pool.out_type.size, num_classes)
            self.final_gspace = gspace

        def forward(self, x):
            x = nn.GeometricTensor(x, self.in_type)
            x = self.pool(self.features(x))
            return self.head(x.tensor.mean(dim=(2, 3)))

    return WRN()


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _invariance_errors(model, elements, size=33, dtype=torch.float64):
    """Worst |f(g x) - f(x)| / max |f(x)| over ``elements`` (exact grid actions), eval mode."""
    model = model.to(dtype).eval()
    x = torch.randn(2, 3, size, size, dtype=dtype, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(x)
        errors = {}
        for g in elements:
            moved = model.in_type.transform(x, g)
            errors[g] = float((model(moved) - ref).abs().max() / ref.abs().max())
    return errors


def test_wrn_d8_d4_d1_restricts_and_keeps_the_flip():
    torch.manual_seed(0)
    model = make_wrn(STRUCTCONV, N=8, flip=True, restrict=(4, 1), depth=10, widen=1, delta_init=False)
    assert model.final_gspace.fibergroup.order() == 2  # D1: the flip only
    errs = _invariance_errors(model, [(0, 0), (1, 0)])
    assert errs[(1, 0)] < 1e-9  # the flip the final group keeps
    # the 90° turn is not kept after restricting to D1: the output changes
    assert _invariance_errors(model, [(0, 2)])[(0, 2)] > 1e-4


@pytest.mark.parametrize("restrict", [(), (2,)], ids=["D4", "D4-D2"])
def test_wrn_d4_with_and_without_restriction(restrict):
    torch.manual_seed(0)
    model = make_wrn(STRUCTCONV, N=4, flip=True, restrict=restrict, depth=10, widen=1, delta_init=False)
    # D4 keeps every flip and 90° turn; D2 keeps the flip and the half turn
    elements = [(f, r) for f in (0, 1) for r in range(4)]
    kept = elements if not restrict else [(0, 0), (0, 2), (1, 0), (1, 2)]
    errs = _invariance_errors(model, kept)
    assert max(errs.values()) < 1e-9, errs
    if restrict:
        assert _invariance_errors(model, [(0, 1)])[(0, 1)] > 1e-4


def test_wrn_c8_delta_orthogonal_init():
    torch.manual_seed(0)
    model = make_wrn(STRUCTCONV, N=8, flip=False, depth=10, widen=1, delta_init=True)
    # delta-orthogonal: every filter is zero outside its centre
    for m in model.modules():
        if isinstance(m, structconv.nn.R2Conv) and m.kernel_size > 1:
            w = m.expand_parameters()[0].detach()
            c = m.kernel_size // 2
            off = w.clone()
            off[..., c, c] = 0
            assert float(off.detach().abs().max()) < 1e-6 * max(1.0, float(w.abs().max()))
            assert float(w[..., c, c].abs().max()) > 0
    # (centre-only filters make the network pixel-wise, hence trivially invariant: perturb every weight so
    # the invariance below tests the steerable filters)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, structconv.nn.R2Conv):
                m.weights.add_(0.1 * torch.randn_like(m.weights))
    errs = _invariance_errors(model, [0, 2, 4, 6])  # the 90° turns (exact on the grid)
    assert max(errs.values()) < 1e-9, errs
    assert model(torch.randn(1, 3, 33, 33, dtype=torch.float64)).shape == (1, 10)


def test_wrn_c8_c4_c1():
    torch.manual_seed(0)
    model = make_wrn(STRUCTCONV, N=8, flip=False, restrict=(4, 1), depth=10, widen=1)
    assert model.final_gspace.fibergroup.order() == 1
    out = model.double()(torch.randn(2, 3, 33, 33, dtype=torch.float64))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.slow
def test_wrn_stl_d8_d4_d1_full_size():
    # STL-10 size: 96 px input, WRN-16-8 on D8 -> D4 -> D1 (about 12M parameters)
    torch.manual_seed(0)
    start = time.perf_counter()
    model = make_wrn(STRUCTCONV, N=8, flip=True, restrict=(4, 1), depth=16, widen=8)
    build = time.perf_counter() - start
    n = _params(model)
    print(f"\nWRN-16-8 D8-D4-D1: {n} parameters, built in {build:.2f} s")
    assert 10e6 < n < 14e6
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 96, 96))
    assert out.shape == (1, 10) and torch.isfinite(out).all()


@pytest.mark.oracle
@pytest.mark.slow
@pytest.mark.parametrize(
    "N,flip,restrict,widen",
    [(8, True, (4, 1), 1), (4, True, (), 1), (4, True, (2,), 1), (8, False, (), 1), (8, False, (4, 1), 1)],
    ids=["D8-D4-D1", "D4", "D4-D2", "C8", "C8-C4-C1"],
)
def test_wrn_parameter_counts_match_e2cnn(N, flip, restrict, widen):
    # the same code built with e2cnn (without delta-orthogonal init, which crashes in e2cnn on torch 2)
    e2 = _e2cnn()
    ours = make_wrn(STRUCTCONV, N=N, flip=flip, restrict=restrict, depth=10, widen=widen, delta_init=False)
    theirs = make_wrn(e2, N=N, flip=flip, restrict=restrict, depth=10, widen=widen, delta_init=False)
    assert _params(ours) == _params(theirs)
    shapes = [tuple(p.shape) for p in theirs.parameters()]
    assert [tuple(p.shape) for p in ours.parameters()] == shapes


@pytest.mark.oracle
def test_e2cnn_delta_orthogonal_init_is_what_structconv_fixes():
    # e2cnn's deltaorthonormal_init(conv.weights, ...) writes in place into the Parameter: torch 2 refuses
    # (a leaf that requires grad); ours initialises the Parameter and keeps it a trainable leaf
    e2 = _e2cnn()
    gs = e2.gspaces.Rot2dOnR2(8)
    t_in, t_out = e2.nn.FieldType(gs, [gs.regular_repr] * 2), e2.nn.FieldType(gs, [gs.regular_repr] * 3)
    conv = e2.nn.R2Conv(t_in, t_out, 3, initialize=False)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        e2.init.deltaorthonormal_init(conv.weights, conv.basisexpansion)
    sgs = structconv.gspaces.Rot2dOnR2(8)
    s_in = structconv.nn.FieldType(sgs, [sgs.regular_repr] * 2)
    s_out = structconv.nn.FieldType(sgs, [sgs.regular_repr] * 3)
    ours = structconv.nn.R2Conv(s_in, s_out, 3, initialize=False)
    structconv.nn.init.deltaorthonormal_init(ours.weights, ours.basisexpansion)
    assert float(ours.weights.detach().abs().max()) > 0
    assert ours.weights.is_leaf and ours.weights.requires_grad and ours.weights.grad_fn is None


# --------------------------------------------------------------------------- the tutorial's C8 CNN
def make_c8_tutorial_cnn(lib, n_classes=10, width=1.0):
    """The C8-steerable CNN of e2cnn's README / tutorial (MNIST-rot, 29 × 29 inputs); ``width`` scales the
    numbers of fields (1 is the tutorial's 24, 48, 48, 96, 96, 64)."""
    gspaces, nn = lib.gspaces, lib.nn

    class C8SteerableCNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.r2_act = gspaces.Rot2dOnR2(N=8)
            in_type = nn.FieldType(self.r2_act, [self.r2_act.trivial_repr])
            self.input_type = in_type

            def block(in_type, n_fields, kernel, padding, mask=False):
                out_type = nn.FieldType(
                    self.r2_act, max(1, int(n_fields * width)) * [self.r2_act.regular_repr]
                )
                layers = [nn.MaskModule(in_type, 29, margin=1)] if mask else []
                layers += [
                    nn.R2Conv(in_type, out_type, kernel_size=kernel, padding=padding, bias=False),
                    nn.InnerBatchNorm(out_type),
                    nn.ReLU(out_type, inplace=True),
                ]
                return nn.SequentialModule(*layers), out_type

            self.block1, t = block(in_type, 24, 7, 1, mask=True)
            self.block2, t = block(t, 48, 5, 2)
            self.pool1 = nn.SequentialModule(nn.PointwiseAvgPoolAntialiased(t, sigma=0.66, stride=2))
            self.block3, t = block(t, 48, 5, 2)
            self.block4, t = block(t, 96, 5, 2)
            self.pool2 = nn.SequentialModule(nn.PointwiseAvgPoolAntialiased(t, sigma=0.66, stride=2))
            self.block5, t = block(t, 96, 5, 2)
            self.block6, t = block(t, 64, 5, 1)
            self.pool3 = nn.PointwiseAvgPoolAntialiased(t, sigma=0.66, stride=1, padding=0)
            self.gpool = nn.GroupPooling(t)
            c = self.gpool.out_type.size
            self.fully_net = torch.nn.Sequential(
                torch.nn.Linear(c, 64),
                torch.nn.BatchNorm1d(64),
                torch.nn.ELU(inplace=True),
                torch.nn.Linear(64, n_classes),
            )

        def invariant_features(self, x):
            x = nn.GeometricTensor(x, self.input_type)
            for m in (self.block1, self.block2, self.pool1, self.block3, self.block4, self.pool2):
                x = m(x)
            x = self.pool3(self.block6(self.block5(x)))
            return self.gpool(x).tensor

        def forward(self, x):
            x = self.invariant_features(x)
            return self.fully_net(x.reshape(x.shape[0], -1))

    return C8SteerableCNN()


def test_tutorial_c8_cnn_runs_and_is_invariant():
    torch.manual_seed(0)
    model = make_c8_tutorial_cnn(STRUCTCONV, width=0.25).double().eval()
    x = torch.randn(2, 1, 29, 29, dtype=torch.float64)
    with torch.no_grad():
        feats = model.invariant_features(x)
        assert feats.shape == (2, 16, 1, 1)
        out = model(x)
        assert out.shape == (2, 10)
        for k in (1, 2, 3):  # 90° turns act exactly on the grid
            moved = torch.rot90(x, k, dims=(2, 3))
            assert float((model(moved) - out).abs().max()) < 1e-9 * max(1.0, float(out.abs().max()))
        # 45°: interpolated, so only approximately invariant
        r45 = model.input_type.transform(x, 1)
        rel = float((model.invariant_features(r45) - feats).abs().max() / feats.abs().max())
        assert rel < 0.25


@pytest.mark.oracle
def test_tutorial_c8_cnn_matches_e2cnn_parameter_count_and_shapes():
    e2 = _e2cnn()
    ours, theirs = make_c8_tutorial_cnn(STRUCTCONV, width=0.25), make_c8_tutorial_cnn(e2, width=0.25)
    assert _params(ours) == _params(theirs)
    # (e2cnn's mask is a Parameter that does not require grad)
    trainable = [tuple(p.shape) for p in theirs.parameters() if p.requires_grad]
    assert [tuple(p.shape) for p in ours.parameters() if p.requires_grad] == trainable
    x = torch.randn(2, 1, 29, 29)
    assert ours.eval()(x).shape == theirs.eval()(x).shape


@pytest.mark.slow
def test_tutorial_c8_cnn_full_size():
    torch.manual_seed(0)
    start = time.perf_counter()
    model = make_c8_tutorial_cnn(STRUCTCONV)
    print(f"\ntutorial C8 CNN: {_params(model)} parameters, built in {time.perf_counter() - start:.2f} s")
    with torch.no_grad():
        out = model.eval()(torch.randn(2, 1, 29, 29))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
