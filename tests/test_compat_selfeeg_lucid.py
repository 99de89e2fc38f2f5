"""Exact-signature compatibility classes: selfeeg's ConstrainedConv2d and lucid's ConstrainedConv1d/2d/3d."""

from __future__ import annotations

import inspect

import pytest
import torch

import structconv.compat.lucid as lucid_nn
from _oracles import import_selfeeg
from structconv.compat.selfeeg import ConstrainedConv2d as SelfeegConv2d
from structconv.nn import ConstrainedConv1d, ConstrainedConv2d, ConstrainedConv3d


def _selfeeg_layers():
    return import_selfeeg("selfeeg.models.layers")


SELFEEG_CONFIGS = [
    {"max_norm": 0.5},
    {"max_norm": 2.0, "min_norm": 1.5, "minmax_rate": 0.5},
    {"max_norm": 1.0, "min_norm": 0.5},
    {"max_norm": 1.0, "min_norm": 1.0},
    {"max_norm": None},
    {"max_norm": 0.3, "axis_norm": [0, 2]},
    {"max_norm": 0.3, "axis_norm": 1, "groups": 2, "padding": 1, "padding_mode": "reflect"},
]


@pytest.mark.oracle
@pytest.mark.parametrize("cfg", SELFEEG_CONFIGS, ids=str)
def test_selfeeg_parity(cfg):
    layers = _selfeeg_layers()
    ref = layers.ConstrainedConv2d(4, 6, (3, 5), **cfg)
    ours = SelfeegConv2d(4, 6, (3, 5), **cfg)
    with torch.no_grad():
        ref.weight.mul_(10)
    ours.load_state_dict(ref.state_dict())  # selfeeg state dicts load unchanged
    x = torch.randn(2, 4, 7, 9)
    for mode in ("train", "eval"):
        getattr(ref, mode)()
        getattr(ours, mode)()
        with torch.no_grad():  # change the weights: both layers project again
            ref.weight.mul_(3)
            ours.weight.mul_(3)
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-5, atol=1e-7)
    ref.load_state_dict(ours.state_dict())  # and ours load into selfeeg's
    assert ours.constraint_type == ref.constraint_type


@pytest.mark.oracle
def test_selfeeg_signature_matches_oracle():
    layers = _selfeeg_layers()
    ref = inspect.signature(layers.ConstrainedConv2d.__init__).parameters
    ours = inspect.signature(SelfeegConv2d.__init__).parameters
    assert list(ours) == list(ref)
    for name in ref:
        assert ours[name].default == ref[name].default, name
        assert ours[name].kind == ref[name].kind, name


def test_selfeeg_documented_example():
    # the 000 example, verbatim but for the import; its comment says Size([4, 2, 8, 64]) but the layer
    # has 4 output channels
    x = torch.randn(4, 1, 8, 64)
    mdl = SelfeegConv2d(1, 4, (1, 15), max_norm=0.5)
    mdl.weight = torch.nn.Parameter(mdl.weight * 10)
    out = mdl(x)
    norms = torch.sqrt(torch.sum(torch.square(mdl.weight), axis=[1, 2, 3]))
    assert out.shape == torch.Size([4, 4, 8, 64])
    assert torch.isnan(out).sum() == 0
    assert torch.sum(norms > (0.5 + 1e-3)).item() == 0


def test_selfeeg_note_constraint_choice_and_errors():
    from structconv.constraints import MaxNorm, MinMaxNorm, UnitNorm

    assert isinstance(SelfeegConv2d(1, 2, 3).weight_constraint, MaxNorm)
    assert isinstance(SelfeegConv2d(1, 2, 3, max_norm=2.0, min_norm=1.0).weight_constraint, MinMaxNorm)
    assert isinstance(SelfeegConv2d(1, 2, 3, max_norm=1.0, min_norm=1.0).weight_constraint, UnitNorm)
    none = SelfeegConv2d(1, 2, 3, max_norm=None, min_norm=0.5)
    assert none.constraint_type == 0 and none.enforce == "inplace"
    assert SelfeegConv2d(1, 2, 3).padding == "same"
    with pytest.raises(ValueError, match="max_norm=0"):
        SelfeegConv2d(1, 2, 3, max_norm=0)
    with pytest.raises(ValueError, match=r"min_norm=2.0 > max_norm=1.0"):
        SelfeegConv2d(1, 2, 3, max_norm=1.0, min_norm=2.0)
    with pytest.raises(ValueError, match=r"minmax_rate=0 is not accepted; expected a number in \(0, 1\]"):
        SelfeegConv2d(1, 2, 3, minmax_rate=0)
    with pytest.raises(ValueError, match=r"axis=\(1, 4\) is out of range"):
        SelfeegConv2d(1, 2, 3, axis_norm=[1, 4])
    with pytest.raises(TypeError, match="axis_norm='x'"):
        SelfeegConv2d(1, 2, 3, axis_norm="x")
    m = SelfeegConv2d(2, 2, 3, max_norm=0.1)
    with torch.no_grad():
        m.weight.mul_(100)
    m.scale_norm()
    assert (m.weight.flatten(1).norm(dim=1) <= 0.1 + 1e-6).all()
    assert type(m.export()) is torch.nn.Conv2d


LUCID_PARAMS = [
    ("in_channels", inspect.Parameter.empty),
    ("out_channels", inspect.Parameter.empty),
    ("kernel_size", inspect.Parameter.empty),
    ("stride", 1),
    ("padding", 0),
    ("dilation", 1),
    ("groups", 1),
    ("bias", True),
    ("constraint", "none"),
    ("enforce", "forward"),
    ("eps", 1e-12),
    ("max_l2", None),
    ("center_value", -1.0),
    ("neighbor_sum", 1.0),
]


@pytest.mark.parametrize(
    "cls", [lucid_nn.ConstrainedConv1d, lucid_nn.ConstrainedConv2d, lucid_nn.ConstrainedConv3d]
)
def test_lucid_signature(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == LUCID_PARAMS
    kinds = [p.kind for p in params]
    assert kinds[:8] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 8
    assert kinds[8:] == [inspect.Parameter.KEYWORD_ONLY] * 6
    assert issubclass(cls, (ConstrainedConv1d, ConstrainedConv2d, ConstrainedConv3d))


def test_lucid_conv1d_documented_examples():
    nn = lucid_nn
    x = torch.randn(4, 8, 128)
    m = nn.ConstrainedConv1d(8, 16, kernel_size=7, padding=3, constraint="nonneg_sum1")
    assert m(x).shape == (4, 16, 128)

    x = torch.randn(2, 4, 64)
    m = nn.ConstrainedConv1d(4, 4, kernel_size=5, padding=2, constraint="zero_mean")
    assert m(x).shape == (2, 4, 64)

    x = torch.randn(1, 3, 32)
    m = nn.ConstrainedConv1d(
        3, 8, kernel_size=5, padding=2, constraint="fixed_center", center_value=-1.0, neighbor_sum=1.0
    )
    assert m(x).shape == (1, 8, 32)
    w = m.constrained_weight()
    assert (w[..., 2] == -1.0).all()
    torch.testing.assert_close(w.sum(-1) + 1.0, torch.ones(8, 3))

    x = torch.randn(2, 8, 50)
    m = nn.ConstrainedConv1d(8, 8, kernel_size=3, padding=1, groups=4, constraint="unit_l2")
    assert m(x).shape == (2, 8, 50)

    # training patterns
    conv = nn.ConstrainedConv1d(16, 32, kernel_size=5, constraint="nonneg_sum1", enforce="forward")
    conv = nn.ConstrainedConv1d(16, 32, kernel_size=3, constraint="max_l2", max_l2=1.5, enforce="post_step")
    opt = torch.optim.SGD(conv.parameters(), lr=1e-2)
    conv(torch.randn(2, 16, 10)).mean().backward()
    opt.step()
    conv.project_()
    opt.zero_grad()
    assert (conv.weight.flatten(2).norm(dim=2) <= 1.5 + 1e-6).all()


def test_lucid_conv3d_documented_examples():
    nn = lucid_nn
    x = torch.randn(2, 4, 16, 32, 32)
    conv = nn.ConstrainedConv3d(4, 8, kernel_size=3, padding=1, constraint="unit_l2")
    assert conv(x).shape == (2, 8, 16, 32, 32)

    x = torch.randn(1, 3, 8, 64, 64)
    conv = nn.ConstrainedConv3d(3, 6, kernel_size=3, padding=1, constraint="zero_mean")
    assert conv(x).shape == (1, 6, 8, 64, 64)

    conv = nn.ConstrainedConv3d(
        6, 6, kernel_size=3, padding=1, constraint="max_l2", max_l2=0.8, enforce="post_step"
    )
    opt = torch.optim.SGD(conv.parameters(), lr=1e-2)
    x = torch.randn(2, 6, 6, 24, 24)
    loss = conv(x).mean()
    loss.backward()
    opt.step()
    conv.project_()
    opt.zero_grad()
    assert (conv.weight.flatten(2).norm(dim=2) <= 0.8 + 1e-6).all()

    x = torch.randn(1, 1, 10, 20, 20)
    conv = nn.ConstrainedConv3d(
        1, 4, kernel_size=5, padding=2, constraint="fixed_center", center_value=-1.0, neighbor_sum=1.0
    )
    assert conv(x).shape == (1, 4, 10, 20, 20)

    x = torch.randn(2, 8, 8, 16, 16)
    conv = nn.ConstrainedConv3d(8, 8, kernel_size=3, padding=1, groups=4, constraint="nonneg")
    assert conv(x).shape == (2, 8, 8, 16, 16)


def test_lucid_export_and_errors():
    m = lucid_nn.ConstrainedConv2d(2, 3, 3, padding="same", constraint="zero_mean")
    x = torch.randn(1, 2, 5, 5)
    torch.testing.assert_close(m.export()(x), m(x))
    assert type(m.export()) is torch.nn.Conv2d
    with pytest.raises(ValueError, match="max_l2=None is not accepted"):
        lucid_nn.ConstrainedConv3d(2, 2, 3, constraint="max_l2")
    with pytest.raises(ValueError, match=r"kernel size \(2,\)"):
        lucid_nn.ConstrainedConv1d(2, 2, 2, constraint="fixed_center")
