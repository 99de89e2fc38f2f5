"""Small models covering the structconv layers, shared by the deployment tests (compile, ONNX, AMP, ...).

Each builder returns ``(model, input)`` where ``model`` takes and returns a plain tensor (the equivariant
ones wrap their typed trunk), so ``torch.compile``, ``torch.onnx.export`` and DDP see ordinary modules.
A builder raises :class:`Missing` when a layer it needs is not in ``structconv.nn`` (tests skip then).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

import structconv.nn as snn

__all__ = [
    "Missing",
    "TypedToPlain",
    "ConstrainedNd",
    "REPROJECTS",
    "CONSTRAINED",
    "EQUIVARIANT",
    "build",
    "require",
    "to_plain",
]


class Missing(Exception):
    """A layer needed by a builder is not importable from ``structconv.nn`` yet."""


def require(*names: str) -> list[Any]:
    """The classes ``structconv.nn.<name>``; raise :class:`Missing` naming the absent ones."""
    found = [getattr(snn, n, None) for n in names]
    missing = [n for n, c in zip(names, found) if c is None]
    if missing:
        raise Missing(f"structconv.nn does not provide {missing} yet")
    return found


class TypedToPlain(nn.Module):
    """``tensor -> GeometricTensor(in_type) -> trunk -> tensor``: an equivariant trunk as a plain module."""

    def __init__(self, in_type: Any, trunk: nn.Module) -> None:
        super().__init__()
        (gt,) = require("GeometricTensor")
        self.in_type = in_type
        self._geometric_tensor = gt
        self.trunk = trunk

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(self._geometric_tensor(x, self.in_type)).tensor


# ----------------------------------------------------------------------------- constrained / WS layers


def _constrained_stack() -> tuple[nn.Module, torch.Tensor]:
    c2, cl = require("ConstrainedConv2d", "ConstrainedLinear")
    model = nn.Sequential(
        c2(3, 4, 3, padding=1, constraint=["zero_mean", "unit_l2"]),
        nn.ReLU(),
        c2(4, 4, 3, padding=1, constraint="nonneg_sum1"),
        nn.ReLU(),
        c2(4, 4, 3, constraint="max_l2", max_l2=0.5, enforce="post_step"),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        cl(4, 3, constraint="nonneg"),
    )
    return model, torch.randn(2, 3, 8, 8)


class ConstrainedNd(nn.Module):
    """1-D and 3-D constrained convolutions and transposed convolutions side by side."""

    def __init__(self) -> None:
        super().__init__()
        c1, t1, c3, t3 = require(
            "ConstrainedConv1d",
            "ConstrainedConvTranspose1d",
            "ConstrainedConv3d",
            "ConstrainedConvTranspose3d",
        )
        self.c1 = c1(2, 3, 3, padding=1, constraint="fixed_center")
        self.t1 = t1(3, 2, 3, stride=2, constraint="sum_to_one")
        self.c3 = c3(2, 2, 3, padding=1, constraint="unit_l2")
        self.t3 = t3(2, 2, 3, constraint="zero_mean", enforce="post_step")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.t1(self.c1(x.flatten(2)[..., :16]))
        b = self.t3(self.c3(x.unsqueeze(2)[..., :4, :4]))
        return torch.cat([a.flatten(1), b.flatten(1)], dim=1)


def _constrained_nd() -> tuple[nn.Module, torch.Tensor]:
    return ConstrainedNd(), torch.randn(2, 2, 4, 4)


def _constrained_inplace() -> tuple[nn.Module, torch.Tensor]:
    (c2,) = require("ConstrainedConv2d")
    model = nn.Sequential(
        c2(3, 4, 3, padding=1, constraint="nonneg_sum1", enforce="inplace"),
        nn.ReLU(),
        c2(4, 2, 3, constraint="max_l2", max_l2=0.5, enforce="inplace"),
    )
    return model, torch.randn(2, 3, 8, 8)


def _ws_stack() -> tuple[nn.Module, torch.Tensor]:
    ws2, wst2, fws = require("WSConv2d", "WSConvTranspose2d", "FWS")
    model = nn.Sequential(
        ws2(3, 4, 3, padding=1),
        nn.ReLU(),
        wst2(4, 4, 3, stride=2, padding=1, groups=2),
        nn.ReLU(),
        fws(nn.Conv2d(4, 2, 3), learnable_gain=False),
    )
    return model, torch.randn(2, 3, 6, 6)


#: models with layers that project their stored weight in place (enforce='inplace', FWS): a copy or a
#: loaded checkpoint is projected again, idempotent up to float rounding only
REPROJECTS = frozenset({"constrained_inplace", "weight_standardized"})

CONSTRAINED: dict[str, Callable[[], tuple[nn.Module, torch.Tensor]]] = {
    "constrained_2d": _constrained_stack,
    "constrained_nd": _constrained_nd,
    "constrained_inplace": _constrained_inplace,
    "weight_standardized": _ws_stack,
}

# ----------------------------------------------------------------------------- equivariant layers


def _d4():
    from structconv.gspaces import FlipRot2dOnR2

    return FlipRot2dOnR2(4)


def _regular_trunk() -> tuple[nn.Module, torch.Tensor]:
    """Permutation fields: conv, inner batch norm, point-wise non-linearities and pools, group pooling."""
    ft, conv, bn, relu, elu, maxpool, avgaa, drop, gpool, seq = require(
        "FieldType",
        "R2Conv",
        "InnerBatchNorm",
        "ReLU",
        "ELU",
        "PointwiseMaxPool",
        "PointwiseAvgPoolAntialiased",
        "PointwiseDropout",
        "GroupPooling",
        "SequentialModule",
    )
    gs = _d4()
    t_in = ft(gs, [gs.trivial_repr] * 2)
    t_reg = ft(gs, [gs.regular_repr] * 2)
    trunk = seq(
        conv(t_in, t_reg, 3, padding=1),
        bn(t_reg),
        relu(t_reg),
        maxpool(t_reg, 2),
        conv(t_reg, t_reg, 3, padding=1, padding_mode="circular"),
        elu(t_reg),
        avgaa(t_reg, sigma=0.6, stride=1, padding=1),
        drop(t_reg, p=0.25),
        gpool(t_reg),
    )
    return TypedToPlain(t_in, trunk), torch.randn(2, 2, 9, 9)


def _irrep_trunk() -> tuple[nn.Module, torch.Tensor]:
    """Non-permutation fields: gated and norm non-linearities, norm batch norms, upsampling, norm pool."""
    ft, conv, gated, nbn, gnbn, norm, up, npool, seq = require(
        "FieldType",
        "R2Conv",
        "GatedNonLinearity1",
        "NormBatchNorm",
        "GNormBatchNorm",
        "NormNonLinearity",
        "R2Upsampling",
        "NormPool",
        "SequentialModule",
    )
    gs = _d4()
    rho = gs.irrep(1, 1)
    t_in = ft(gs, [gs.trivial_repr])
    t_gate = ft(gs, [gs.trivial_repr] * 2 + [rho] * 2)
    t_vec = ft(gs, [rho] * 2)
    t_mix = ft(gs, [gs.trivial_repr, rho, gs.regular_repr])
    trunk = seq(
        conv(t_in, t_gate, 3, padding=1),
        gated(t_gate, gates=["gate", "gate", "gated", "gated"]),
        nbn(t_vec),
        norm(t_vec, "n_relu"),
        conv(t_vec, t_mix, 3, padding=1),
        gnbn(t_mix),
        up(t_mix, scale_factor=2),
        npool(t_mix),
    )
    return TypedToPlain(t_in, trunk), torch.randn(2, 1, 7, 7)


def _transposed_diffop_trunk() -> tuple[nn.Module, torch.Tensor]:
    """Transposed steerable convolution and steerable PDO, with a mask."""
    ft, conv_t, diffop, relu, mask, seq = require(
        "FieldType", "R2ConvTransposed", "R2Diffop", "ReLU", "MaskModule", "SequentialModule"
    )
    gs = _d4()
    t_in = ft(gs, [gs.trivial_repr])
    t_reg = ft(gs, [gs.regular_repr])
    trunk = seq(
        conv_t(t_in, t_reg, 3, stride=2),
        relu(t_reg),
        diffop(t_reg, t_reg, kernel_size=3, padding=1),
        mask(t_reg, 11, margin=1.0),
    )
    return TypedToPlain(t_in, trunk), torch.randn(2, 1, 5, 5)


def _octa_volume_trunk() -> tuple[nn.Module, torch.Tensor]:
    """Volumes, permutation fields: R3Conv, inner / iid batch norms, ReLU, 3D poolings, group pooling."""
    ft, conv, bn, relu, pool, avgaa, gpool, seq = require(
        "FieldType",
        "R3Conv",
        "InnerBatchNorm",
        "ReLU",
        "PointwiseMaxPool3D",
        "PointwiseAvgPoolAntialiased3D",
        "GroupPooling",
        "SequentialModule",
    )
    from structconv.gspaces import octaOnR3

    gs = octaOnR3()
    t_in = ft(gs, [gs.trivial_repr])
    t_reg = ft(gs, [gs.regular_repr])
    trunk = seq(
        conv(t_in, t_reg, 3, padding=1),
        bn(t_reg),
        relu(t_reg),
        pool(t_reg, 2),
        conv(t_reg, t_reg, 3, padding=1),
        avgaa(t_reg, sigma=0.6, stride=1, padding=1),
        gpool(t_reg),
    )
    return TypedToPlain(t_in, trunk), torch.randn(2, 1, 6, 6, 6)


def _so3_volume_trunk() -> tuple[nn.Module, torch.Tensor]:
    """Volumes, SO(3) fields: R3Conv, Fourier ELU, norm batch norm and non-linearity, upsampling, the
    transposed convolution, norm pooling."""
    ft, conv, conv_t, fourier, nbn, norm, up, npool, seq = require(
        "FieldType",
        "R3Conv",
        "R3ConvTransposed",
        "FourierELU",
        "NormBatchNorm",
        "NormNonLinearity",
        "R3Upsampling",
        "NormPool",
        "SequentialModule",
    )
    from structconv.gspaces import rot3dOnR3

    gs = rot3dOnR3()
    t_in = ft(gs, [gs.trivial_repr])
    elu = fourier(gs, 2, [(0,), (1,)], type="ico")
    t_vec = ft(gs, [gs.irrep(1)] * 2)
    trunk = seq(
        conv(t_in, elu.in_type, 3, padding=1),
        elu,
        conv(elu.out_type, t_vec, 3, padding=1),
        nbn(t_vec),
        norm(t_vec, "n_relu"),
        up(t_vec, scale_factor=2),
        conv_t(t_vec, t_vec, 3, padding=1),
        npool(t_vec),
    )
    return TypedToPlain(t_in, trunk), torch.randn(2, 1, 5, 5, 5)


def _demo_model() -> tuple[nn.Module, torch.Tensor]:
    require("R2Conv", "InnerBatchNorm", "ReLU", "PointwiseMaxPool", "GroupPooling", "SequentialModule")
    from structconv.models import EquivariantCNN

    return EquivariantCNN("C8", fields=(2, 2, 2)), torch.randn(2, 1, 13, 13)


EQUIVARIANT: dict[str, Callable[[], tuple[nn.Module, torch.Tensor]]] = {
    "demo_equivariant_cnn": _demo_model,
    "regular_fields": _regular_trunk,
    "irrep_fields": _irrep_trunk,
    "transposed_and_diffop": _transposed_diffop_trunk,
    "octa_volumes": _octa_volume_trunk,
    "so3_volumes": _so3_volume_trunk,
}


def build(name: str, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    """Build zoo entry ``name`` from ``seed`` (raises :class:`Missing` if a layer is absent)."""
    table = {**CONSTRAINED, **EQUIVARIANT}
    torch.manual_seed(seed)
    return table[name]()


def to_plain(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every structconv layer replaced by its ``export()`` (eval mode)."""
    if isinstance(module, TypedToPlain):
        return copy.deepcopy(module.trunk).export()
    if callable(getattr(module, "export", None)):
        return copy.deepcopy(module).export().eval()
    out = copy.deepcopy(module)
    for name, child in module.named_children():
        setattr(out, name, to_plain(child))
    return out.eval()
