"""selfeeg's norm-constrained family (ConstrainedConv1d, ConstrainedDense, DepthwiseConv2d, SeparableConv2d),
the unified ConstrainedSeparableConv2d, and an EEGNet built from them."""

from __future__ import annotations

import inspect
from collections import OrderedDict

import pytest
import torch

import structconv
from _oracles import import_selfeeg
from structconv import nn as scnn
from structconv.__main__ import available_layers
from structconv.compat import selfeeg as ours


def _selfeeg():
    return import_selfeeg("selfeeg.models")


NAMES = ["ConstrainedConv1d", "ConstrainedConv2d", "ConstrainedDense", "DepthwiseConv2d", "SeparableConv2d"]

# (class name, positional args, keyword args, input shape)
CASES = [
    ("ConstrainedConv1d", (3, 5, 7), {"max_norm": 0.5}, (2, 3, 20)),
    ("ConstrainedConv1d", (3, 5, 7), {"max_norm": 0.5, "padding": "causal", "dilation": 2}, (2, 3, 20)),
    ("ConstrainedConv1d", (4, 6, 3), {"max_norm": 2.0, "min_norm": 1.5, "minmax_rate": 0.5, "groups": 2}, (2, 4, 9)),
    ("ConstrainedConv1d", (3, 5, 3), {"max_norm": 1.0, "min_norm": 1.0, "axis_norm": [2]}, (2, 3, 9)),
    ("ConstrainedDense", (6, 4), {"max_norm": 0.25}, (3, 6)),
    ("ConstrainedDense", (6, 4), {"max_norm": 1.0, "min_norm": 0.5, "axis_norm": 0}, (3, 6)),
    ("ConstrainedDense", (6, 4), {"max_norm": None}, (3, 6)),
    ("DepthwiseConv2d", (4, 2, (5, 1)), {"max_norm": 1.0, "padding": "valid"}, (2, 4, 5, 12)),
    ("DepthwiseConv2d", (3, 1, 3), {"max_norm": 0.3, "min_norm": 0.2, "bias": True, "stride": 2, "padding": 1},
     (2, 3, 9, 9)),
    ("SeparableConv2d", (4, 6, (1, 5)), {"depth_multiplier": 2}, (2, 4, 3, 16)),
    ("SeparableConv2d", (4, 6, (1, 5)),
     {"depth_max_norm": 0.5, "point_max_norm": 1.0, "point_min_norm": 0.5, "bias": True}, (2, 4, 3, 16)),
]


def _weights(layer):
    return {k: v for k, v in layer.state_dict().items() if k.endswith("weight")}


@pytest.mark.oracle
@pytest.mark.parametrize("name", NAMES)
def test_signatures_and_defaults_match_selfeeg(name):
    ref = inspect.signature(getattr(_selfeeg().layers, name).__init__).parameters
    mine = inspect.signature(getattr(ours, name).__init__).parameters
    assert list(mine) == list(ref)
    for arg in ref:
        assert mine[arg].default == ref[arg].default, arg
        assert mine[arg].kind == ref[arg].kind, arg


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[2]}")
def test_outputs_and_norms_match_selfeeg(case):
    name, args, kwargs, shape = case
    torch.manual_seed(0)
    ref = getattr(_selfeeg().layers, name)(*args, **kwargs)
    mine = getattr(ours, name)(*args, **kwargs)
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(10)
    mine.load_state_dict(ref.state_dict())  # selfeeg state dicts load unchanged
    x = torch.randn(*shape)
    for mode in ("train", "eval", "train"):
        getattr(ref, mode)()
        getattr(mine, mode)()
        with torch.no_grad():  # change the weights: both project again on their next forward
            for p, q in zip(ref.parameters(), mine.parameters()):
                p.mul_(3)
                q.mul_(3)
        y_ref, y_mine = ref(x), mine(x)
        assert y_mine.shape == y_ref.shape
        scale = float(y_ref.detach().abs().max()) + 1.0
        torch.testing.assert_close(y_mine, y_ref, rtol=1e-5, atol=1e-6 * scale)
        for key, w in _weights(ref).items():  # the stored weights (their norms) after the forward
            torch.testing.assert_close(_weights(mine)[key], w, rtol=1e-5, atol=1e-7)
    ref.load_state_dict(mine.state_dict())  # and ours load into selfeeg's
    kinds = {n: m.constraint_type for n, m in ref.named_modules() if hasattr(m, "constraint_type")}
    assert kinds
    assert {n: m.constraint_type for n, m in mine.named_modules() if hasattr(m, "constraint_type")} == kinds


@pytest.mark.oracle
def test_scale_norm_with_eps_matches_selfeeg():
    ref = _selfeeg().layers.ConstrainedDense(5, 3, max_norm=0.5)
    mine = ours.ConstrainedDense(5, 3, max_norm=0.5)
    with torch.no_grad():
        ref.weight.mul_(7)
    mine.load_state_dict(ref.state_dict())
    ref.scale_norm(eps=0.1)
    mine.scale_norm(eps=0.1)
    torch.testing.assert_close(mine.weight, ref.weight)


def test_norms_hold_after_forward():
    torch.manual_seed(0)
    layers = [
        (ours.ConstrainedConv1d(3, 4, 5, max_norm=0.5), torch.randn(2, 3, 16), [1, 2], 0.5),
        (ours.ConstrainedDense(8, 4, max_norm=0.25), torch.randn(2, 8), [1], 0.25),
        (ours.DepthwiseConv2d(4, 2, (3, 1), max_norm=1.0, padding="valid"), torch.randn(2, 4, 3, 8), [1, 2, 3], 1.0),
    ]
    for layer, x, dims, bound in layers:
        with torch.no_grad():
            layer.weight.mul_(50)
        layer(x)
        assert layer.weight.square().sum(dims).sqrt().max() <= bound * (1 + 1e-6)


def test_depthwise_structure():
    m = ours.DepthwiseConv2d(8, 2, (22, 1))
    assert (m.in_channels, m.out_channels, m.groups, m.bias) == (8, 16, 8, None)
    assert m.weight.shape == (16, 1, 22, 1)
    with pytest.raises(ValueError, match="depth_multiplier=0 is not accepted"):
        ours.DepthwiseConv2d(8, 0, 3)


def test_causal_conv1d_sees_no_future_and_exports():
    torch.manual_seed(0)
    m = ours.ConstrainedConv1d(2, 3, 4, padding="causal", dilation=3, max_norm=1.0)
    assert (m.pad, m.causal_pad) == (9, True)
    x = torch.randn(1, 2, 30)
    y = m(x)
    assert y.shape == (1, 3, 30)
    x2 = x.clone()
    x2[..., 17:] = torch.randn(1, 2, 13)
    torch.testing.assert_close(m(x2)[..., :17], y[..., :17], rtol=0, atol=0)
    assert not torch.allclose(m(x2)[..., 17:], y[..., 17:])
    torch.testing.assert_close(m.export()(x), y, rtol=0, atol=0)
    k1 = ours.ConstrainedConv1d(2, 3, 1, padding="causal")  # selfeeg would return an empty tensor here
    assert k1(x).shape == (1, 3, 30)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="max_norm=0 is not accepted"):
        ours.ConstrainedDense(3, 2, max_norm=0)
    with pytest.raises(ValueError, match="axis_norm=2 is not accepted"):
        ours.ConstrainedDense(3, 2, axis_norm=2)
    with pytest.raises(ValueError, match="minmax_rate=0 is not accepted"):
        ours.ConstrainedConv1d(3, 2, 3, min_norm=0.5, minmax_rate=0)
    with pytest.raises(ValueError, match="depth_min_norm=2.0 > depth_max_norm=1.0"):
        ours.SeparableConv2d(2, 2, 3, depth_max_norm=1.0, depth_min_norm=2.0)
    with pytest.raises(ValueError, match="point_max_norm=-1"):
        ours.SeparableConv2d(2, 2, 3, point_max_norm=-1)


def test_separable_export_and_state_dict_keys():
    torch.manual_seed(0)
    m = ours.SeparableConv2d(3, 5, 3, bias=True, depth_multiplier=2, depth_max_norm=0.5, point_max_norm=1.0)
    assert sorted(m.state_dict()) == ["depthwise.bias", "depthwise.weight", "pointwise.bias", "pointwise.weight"]
    x = torch.randn(2, 3, 8, 8)
    y = m(x)
    torch.testing.assert_close(m.export()(x), y)
    assert m.depthwise.weight.flatten(1).norm(dim=1).max() <= 0.5 + 1e-6


def test_unified_separable_conv():
    torch.manual_seed(0)
    m = scnn.ConstrainedSeparableConv2d(
        4, 6, 3, padding=1, depth_multiplier=2, depth_constraint="max_norm", point_constraint="unit_norm"
    )
    assert sorted(m.state_dict()) == ["depthwise.weight", "pointwise.bias", "pointwise.weight"]
    x = torch.randn(2, 4, 7, 7)
    y = m(x)
    assert y.shape == (2, 6, 7, 7)
    assert m.depthwise.constrained_weight().flatten(1).norm(dim=1).max() <= 2.0 + 1e-6
    torch.testing.assert_close(m.pointwise.constrained_weight().flatten(1).norm(dim=1), torch.ones(6))
    # a plain reference: depthwise then pointwise conv with the constrained kernels
    ref = torch.nn.functional.conv2d(x, m.depthwise.constrained_weight(), padding=1, groups=4)
    ref = torch.nn.functional.conv2d(ref, m.pointwise.constrained_weight(), m.pointwise.bias)
    torch.testing.assert_close(y, ref)
    torch.testing.assert_close(m.export()(x), y)
    y.sum().backward()  # gradients flow through both constraints (enforce='forward')
    assert m.depthwise.weight.grad is not None and m.pointwise.weight.grad is not None
    assert "ConstrainedSeparableConv2d" in available_layers()
    with pytest.raises(ValueError, match="depth_multiplier=0"):
        scnn.ConstrainedSeparableConv2d(4, 6, 3, depth_multiplier=0)


def _eegnet_compat(nb_classes, chans, samples, f1=8, d=2, f2=16, kern=64, drop=0.5):
    """EEGNet (Lawhern et al. 2018) from the compat layers, with selfeeg's EEGNet module names."""
    encoder = torch.nn.Sequential(
        OrderedDict(
            conv1=torch.nn.Conv2d(1, f1, (1, kern), padding="same", bias=False),
            batchnorm1=torch.nn.BatchNorm2d(f1),
            conv2=ours.DepthwiseConv2d(f1, d, (chans, 1), padding="valid", max_norm=1.0),
            batchnorm2=torch.nn.BatchNorm2d(d * f1),
            elu2=torch.nn.ELU(),
            pooling2=torch.nn.AvgPool2d((1, 4)),
            drop2=torch.nn.Dropout(drop),
            sepconv3=ours.SeparableConv2d(d * f1, f2, (1, 16)),
            batchnorm3=torch.nn.BatchNorm2d(f2),
            elu3=torch.nn.ELU(),
            pooling3=torch.nn.AvgPool2d((1, 8)),
            drop3=torch.nn.Dropout(drop),
            flatten3=torch.nn.Flatten(),
        )
    )
    net = torch.nn.Module()
    net.encoder = encoder
    net.Dense = ours.ConstrainedDense(f2 * (samples // 32), nb_classes, max_norm=0.25)
    net.forward = lambda x: net.Dense(net.encoder(x))
    return net


def _eegnet_unified(nb_classes, chans, samples, f1=8, d=2, f2=16, kern=64):
    """The same EEGNet from the unified API (enforce='post_step' + attach_projection)."""
    kw = {"enforce": "post_step"}
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, f1, (1, kern), padding="same", bias=False),
        torch.nn.BatchNorm2d(f1),
        scnn.ConstrainedConv2d(f1, d * f1, (chans, 1), groups=f1, bias=False, constraint="max_norm(max_value=1.0)",
                               **kw),
        torch.nn.BatchNorm2d(d * f1),
        torch.nn.ELU(),
        torch.nn.AvgPool2d((1, 4)),
        scnn.ConstrainedSeparableConv2d(d * f1, f2, (1, 16), padding="same", bias=False),
        torch.nn.BatchNorm2d(f2),
        torch.nn.ELU(),
        torch.nn.AvgPool2d((1, 8)),
        torch.nn.Flatten(),
        scnn.ConstrainedLinear(f2 * (samples // 32), nb_classes, constraint="max_norm(max_value=0.25)", **kw),
    )


def _norm_bounds(net):
    """(layer, norm dims, bound) of every max-norm-constrained layer of an EEGNet."""
    out = []
    for m in net.modules():
        c = getattr(m, "weight_constraint", None)
        if isinstance(c, structconv.constraints.MaxNorm):
            out.append((m, tuple(range(1, m.weight.ndim)), c.max_value))
    return out


@pytest.mark.parametrize("build", [_eegnet_compat, _eegnet_unified], ids=["compat", "unified"])
def test_eegnet_max_norm_holds_after_every_optimizer_step(build):
    torch.manual_seed(0)
    net = build(3, 6, 64, f1=4, d=2, f2=8, kern=16)
    bounds = _norm_bounds(net)
    assert sorted(b for _, _, b in bounds) == [0.25, 1.0]
    x, y = torch.randn(24, 1, 6, 64), torch.randint(0, 3, (24,))
    opt = torch.optim.SGD(net.parameters(), lr=5.0)  # large steps push the norms out of the ball
    handle = structconv.attach_projection(opt, net)
    losses = []
    for step in range(6):
        loss = torch.nn.functional.cross_entropy(net(x[step * 4 : step * 4 + 4]), y[step * 4 : step * 4 + 4])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        for layer, dims, bound in bounds:
            assert layer.weight.square().sum(dims).sqrt().max() <= bound * (1 + 1e-6), (step, bound)
    assert all(torch.isfinite(torch.tensor(losses)))
    # the check has teeth: without the projection hook the same steps leave the ball
    handle.remove()
    loss = torch.nn.functional.cross_entropy(net(x[:4]), y[:4])
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert any(layer.weight.square().sum(dims).sqrt().max() > bound * 1.01 for layer, dims, bound in bounds)


@pytest.mark.oracle
def test_eegnet_matches_selfeeg_eegnet():
    models = _selfeeg()
    torch.manual_seed(0)
    ref = models.EEGNet(3, 6, 64, kernLength=16, F1=4, D=2, F2=8, dropRate=0.0)
    mine = _eegnet_compat(3, 6, 64, f1=4, d=2, f2=8, kern=16, drop=0.0)
    mine.load_state_dict(ref.state_dict())  # selfeeg's EEGNet checkpoint loads unchanged
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.5)
    opt_mine = torch.optim.SGD(mine.parameters(), lr=0.5)
    x, y = torch.randn(8, 1, 6, 64), torch.randint(0, 3, (8,))  # selfeeg's EEGNet takes (N, chans, samples)
    for _ in range(3):  # train both the same way: same outputs, same (projected) weights
        out_ref, out_mine = ref(x[:, 0]), mine(x)
        torch.testing.assert_close(out_mine, out_ref, rtol=1e-4, atol=1e-5)
        for _net, out, opt in ((ref, out_ref, opt_ref), (mine, out_mine, opt_mine)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(out, y).backward()
            opt.step()
    ref.eval()
    mine.eval()
    torch.testing.assert_close(mine(x), ref(x[:, 0]), rtol=1e-4, atol=1e-5)
    for (k, a), (k2, b) in zip(ref.state_dict().items(), mine.state_dict().items()):
        assert k == k2
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: ours.ConstrainedConv1d(2, 3, 4, padding="causal", dilation=2, max_norm=1.0), (2, 2, 20)),
        (lambda: ours.ConstrainedConv1d(2, 3, 3, padding=1, max_norm=1.0), (2, 2, 20)),
        (lambda: ours.ConstrainedConv2d(2, 3, 3, padding=1, max_norm=1.0), (2, 2, 9, 9)),
        (lambda: ours.ConstrainedDense(5, 3, max_norm=0.25), (4, 5)),
        (lambda: ours.DepthwiseConv2d(2, 2, 3, max_norm=1.0), (2, 2, 9, 9)),
        (lambda: ours.SeparableConv2d(3, 5, 3, depth_multiplier=2, depth_max_norm=0.5), (2, 3, 9, 9)),
    ],
    ids=["conv1d-causal", "conv1d", "conv2d", "dense", "depthwise", "separable"],
)
def test_exports_hold_torch_classes_only_in_eval_mode(make, shape):
    from structconv.nn._export import foreign_parts

    torch.manual_seed(0)
    m = make().train()
    x = torch.randn(shape)
    rng = torch.random.get_rng_state()
    plain = m.export()
    assert torch.equal(torch.random.get_rng_state(), rng)  # no random initialisation drawn
    assert foreign_parts(plain) == []  # loadable with PyTorch alone
    assert not any(p.training for p in plain.modules()) and m.training
    m.eval()
    torch.testing.assert_close(plain(x), m(x), rtol=0, atol=0)
