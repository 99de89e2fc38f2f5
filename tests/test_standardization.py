"""Tests of structconv.constraints.standardization (weight standardization parametrizations)."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from structconv.constraints import (
    ScaledWeightStandardization,
    WeightStandardization,
    scaled_weight_standardize,
    weight_standardize,
)

# (weight shape, channel_dim, groups): conv 1d/2d/3d, grouped conv, linear, transposed, grouped transposed
LAYOUTS = [
    ((6, 4, 3), 0, 1),
    ((6, 2, 3, 3), 0, 1),
    ((4, 3, 2, 3, 3), 0, 1),
    ((5, 7), 0, 1),
    ((4, 6, 3, 3), 1, 1),
    ((4, 3, 3, 3), 1, 2),
    ((6, 2, 3, 3, 3), 1, 3),
]


def _filters(weight: torch.Tensor, channel_dim: int, groups: int) -> list[torch.Tensor]:
    """Slow reference: the flattened entries feeding each output channel, by explicit loops."""
    if channel_dim == 0:
        return [weight[o].reshape(-1) for o in range(weight.shape[0])]
    cin, per = weight.shape[0] // groups, weight.shape[1]
    out = []
    for g in range(groups):
        for j in range(per):
            out.append(weight[g * cin : (g + 1) * cin, j].reshape(-1))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,channel_dim,groups", LAYOUTS)
def test_weight_standardization_per_filter_mean0_std1(shape, channel_dim, groups, dtype):
    w = torch.randn(shape, dtype=dtype) * 3 + 1
    ws = WeightStandardization(eps=1e-12, channel_dim=channel_dim, groups=groups)
    out = ws(w)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    filters = _filters(out, channel_dim, groups)
    assert len(filters) == (shape[1] * groups if channel_dim == 1 else shape[0])
    for f in filters:
        assert abs(f.mean().item()) < tol
        assert abs(f.std(correction=0).item() - 1) < tol  # biased standard deviation is 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,channel_dim,groups", LAYOUTS)
def test_scaled_weight_standardization_matches_loop_reference(shape, channel_dim, groups, dtype):
    w = torch.randn(shape, dtype=dtype)
    n_filters = shape[1] * groups if channel_dim == 1 else shape[0]
    sws = ScaledWeightStandardization(n_filters, channel_dim=channel_dim, groups=groups).to(dtype)
    with torch.no_grad():
        sws.gain.copy_(torch.linspace(0.5, 2.0, n_filters, dtype=dtype))
    out = sws(w)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for o, (f_in, f_out) in enumerate(
        zip(_filters(w, channel_dim, groups), _filters(out, channel_dim, groups))
    ):
        g = sws.gain[o].item()
        expected = (
            g * (f_in - f_in.mean()) / math.sqrt(max(f_in.var(correction=0).item() * f_in.numel(), 1e-4))
        )
        torch.testing.assert_close(f_out, expected, atol=tol, rtol=tol)
        assert abs(f_out.mean().item()) < tol
        assert abs(f_out.pow(2).sum().item() - g * g) < 10 * tol  # squared norm = gain^2


def test_scaled_unbiased_and_custom_fan_in():
    w = torch.randn(3, 4, 3, dtype=torch.float64)
    out = scaled_weight_standardize(w, None, 1e-4, fan_in=w.numel(), unbiased=True)
    var = w.var(dim=(1, 2), keepdim=True, correction=1)
    torch.testing.assert_close(out, (w - w.mean((1, 2), keepdim=True)) / (var * w.numel()).sqrt())


def test_eps_lower_bound_in_scaled_form():
    w = torch.randn(2, 3, 3, dtype=torch.float64) * 1e-6
    out = scaled_weight_standardize(w, None, 1e-4)
    torch.testing.assert_close(out, (w - w.mean((1, 2), keepdim=True)) / math.sqrt(1e-4))


def test_explicit_dims_standardize_each_kernel():
    w = torch.randn(4, 3, 5, 5, dtype=torch.float64)
    out = weight_standardize(w, 1e-12, dims=(2, 3))
    torch.testing.assert_close(out.mean((2, 3)), torch.zeros(4, 3, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(out.std((2, 3), correction=0), torch.ones(4, 3, dtype=torch.float64))


@pytest.mark.parametrize("module", ["ws", "sws"])
def test_gradcheck_float64(module):
    w = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    if module == "ws":
        assert torch.autograd.gradcheck(lambda t: weight_standardize(t, 1e-3), (w,))
    else:
        gain = torch.rand(4, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t, g: scaled_weight_standardize(t, g, 1e-4), (w, gain))


def test_gradcheck_transposed_grouped_float64():
    w = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    gain = torch.rand(6, dtype=torch.float64, requires_grad=True)
    f = lambda t, g: scaled_weight_standardize(t, g, 1e-4, channel_dim=1, groups=2)
    assert torch.autograd.gradcheck(f, (w, gain))


def test_parametrize_conv_and_gain_gradient():
    conv = nn.Conv2d(3, 5, 3)
    parametrize.register_parametrization(conv, "weight", ScaledWeightStandardization(5))
    w = conv.weight
    torch.testing.assert_close(w.pow(2).sum((1, 2, 3)), torch.ones(5), atol=1e-5, rtol=0)
    conv(torch.randn(2, 3, 6, 6)).square().sum().backward()
    sws = conv.parametrizations.weight[0]
    assert sws.gain.grad is not None and conv.parametrizations.weight.original.grad is not None
    keys = set(conv.state_dict())
    assert keys == {"bias", "parametrizations.weight.original", "parametrizations.weight.0.gain"}


def test_parametrize_transposed_grouped():
    conv = nn.ConvTranspose2d(4, 6, 3, groups=2)
    parametrize.register_parametrization(conv, "weight", WeightStandardization(channel_dim=1, groups=2))
    for f in _filters(conv.weight.detach(), 1, 2):
        assert abs(f.mean().item()) < 1e-5 and abs(f.std(correction=0).item() - 1) < 1e-4


def test_project_in_place():
    w = torch.randn(4, 3, 3, 3)
    ws = WeightStandardization()
    assert ws.project_(w) is w
    torch.testing.assert_close(w.mean((1, 2, 3)), torch.zeros(4), atol=1e-6, rtol=0)
    p = nn.Parameter(torch.randn(4, 2, 3))
    sws = ScaledWeightStandardization(4, learnable_gain=False)
    assert sws.project_(p) is p and p.requires_grad
    torch.testing.assert_close(p.detach().pow(2).sum((1, 2)), torch.ones(4), atol=1e-5, rtol=0)
    assert "gain" in dict(sws.named_buffers())


def test_idempotent():
    w = torch.randn(4, 3, 3, dtype=torch.float64)
    sws = ScaledWeightStandardization(4).double()
    with torch.no_grad():
        sws.gain.uniform_(0.5, 2)
    once = sws(w)
    torch.testing.assert_close(sws(once), once)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"eps": 0.0}, ValueError, r"eps=0\.0 .*finite number > 0"),
        ({"eps": -1e-3}, ValueError, "eps=-0.001"),
        ({"eps": float("nan")}, ValueError, "eps=nan"),
        ({"eps": float("inf")}, ValueError, "eps=inf"),
        ({"eps": "1e-4"}, TypeError, "eps='1e-4' is not accepted"),
        ({"eps": True}, TypeError, "eps=True"),
        ({"channel_dim": 2}, ValueError, "channel_dim=2 .*expected 0"),
        ({"groups": 2}, ValueError, "groups=2 is only meaningful with channel_dim=1"),
        ({"groups": 0, "channel_dim": 1}, ValueError, "groups=0"),
        ({"dims": (0, 1)}, ValueError, r"dims=\(0, 1\) .*channel_dim=0"),
        ({"dims": 3}, TypeError, "dims=3"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        WeightStandardization(**kwargs)
    with pytest.raises(exc, match=match):
        ScaledWeightStandardization(4, **kwargs)


def test_bad_num_filters_and_fan_in():
    with pytest.raises(ValueError, match="num_filters=0"):
        ScaledWeightStandardization(0)
    with pytest.raises(ValueError, match="fan_in=-3"):
        ScaledWeightStandardization(4, fan_in=-3)
    with pytest.raises(ValueError, match=r"has 5 filters .*expected num_filters=4"):
        ScaledWeightStandardization(4)(torch.randn(5, 3))
    with pytest.raises(ValueError, match="groups=2"):
        WeightStandardization(channel_dim=1, groups=2)(torch.randn(3, 2, 3))


def test_repr_pickle_deepcopy():
    sws = ScaledWeightStandardization(4, unbiased=True)
    assert "unbiased=True" in repr(sws) and "fan_in=None" in repr(sws)  # valid constructor arguments
    assert repr(eval(repr(WeightStandardization()))) == repr(WeightStandardization())
    w = torch.randn(4, 2, 3)
    for clone in (copy.deepcopy(sws), pickle.loads(pickle.dumps(sws))):
        torch.testing.assert_close(clone(w), sws(w))
    assert sws.spec() == "scaled_weight_standardization(num_filters=4, unbiased=True)"
