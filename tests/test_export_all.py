"""Every public module exports to plain PyTorch (issue 16).

The constructor table below has one entry per public module class of ``structconv.nn`` (a new class without
an entry fails :func:`test_every_public_module_is_in_the_table`), each built on several groups and field kinds
(C4, C8, D4, SO(2), O(2) where the module accepts them) with random parameters and running statistics. For
every case, in float32 and float64:

* ``export()`` leaves the live module exactly as it was (mode, parameters, buffers) and emits no warning;
* the exported tree holds only torch classes (``torch.nn`` modules or ``torch.fx`` graphs calling torch);
* its output equals the live module's eval output to float rounding, and it holds copies (changing the live
  module afterwards does not change the export).

Then, once per class: ONNX (``torch.onnx.export`` + onnxruntime) gives the same output, and a subprocess in
which ``import structconv`` fails loads every saved export (and two composite models) and reproduces it.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import structconv.nn as snn
from structconv import gspaces
from structconv.group import directsum
from structconv.nn import FieldType, GeometricTensor
from structconv.nn._export import foreign_parts

SRC = Path(snn.__file__).resolve().parents[1]  # .../src/structconv
README = Path(__file__).resolve().parents[1] / "README.md"

# public nn.Module classes of structconv.nn that are not layers, with the reason
NOT_LAYERS = {
    "EquivariantModule": "the abstract base class (its default export() raises for user subclasses)",
    "BasisExpansion": "the filter expansion inside R2Conv / R2ConvTransposed / R2Diffop, exported with them",
    "BlocksBasisExpansion": "the filter expansion inside R2Conv / R2ConvTransposed / R2Diffop",
    "SingleBlockBasisExpansion": "the filter expansion inside R2Conv / R2ConvTransposed / R2Diffop",
}


# ----------------------------------------------------------------------------------------------- gspaces


@cache
def _gs(name: str) -> Any:
    return {
        "C4": lambda: gspaces.Rot2dOnR2(4),
        "C8": lambda: gspaces.Rot2dOnR2(8),
        "D4": lambda: gspaces.FlipRot2dOnR2(4),
        "SO2": lambda: gspaces.Rot2dOnR2(-1, maximum_frequency=3),
        "O2": lambda: gspaces.FlipRot2dOnR2(-1, maximum_frequency=3),
        "SO3": lambda: gspaces.rot3dOnR3(),
        "O3": lambda: gspaces.flipRot3dOnR3(),
        "Octa": lambda: gspaces.octaOnR3(),
        "Ico": lambda: gspaces.icoOnR3(),
    }[name]()


def _ft(gs: str, reps: Callable[[Any], list]) -> FieldType:
    space = _gs(gs)
    return FieldType(space, reps(space))


def _induced(space: Any, subgroup_id: Any, irrep: Any) -> Any:
    sub = space.restrict(subgroup_id)[0]
    return space.induced_repr(subgroup_id, sub.irrep(*irrep) if isinstance(irrep, tuple) else irrep(sub))


def _ind_d4(space: Any) -> Any:
    return _induced(space, (None, 4), (1,))


def _ind_gate_d4(space: Any) -> Any:
    return _induced(space, (None, 4), lambda sub: sub.trivial_repr)


def _ind_o2(space: Any) -> Any:
    return _induced(space, (None, -1), (1,))


# ------------------------------------------------------------------------------------------------ cases


@dataclass
class Case:
    """A live module, an input and the field types of the input (``None`` for plain layers).

    ``inputs`` / ``types`` are a tensor / FieldType, a tuple of them (several inputs) or a dict label -> them
    (MergeModule); a ModuleList case has ``types`` a FieldType shared by all its modules.
    """

    module: torch.nn.Module
    inputs: Any
    types: Any = None


def _x(t: FieldType | int, size: int | tuple[int, ...] = 7, batch: int = 3) -> torch.Tensor:
    """A random input for type ``t`` (or ``t`` channels) with one all-zero pixel (norms of 0)."""
    c = t.size if isinstance(t, FieldType) else t
    spatial = (size, size) if isinstance(size, int) else size
    x = torch.randn(batch, c, *spatial)
    if len(spatial) >= 1:
        x[(slice(None), slice(None)) + (0,) * len(spatial)] = 0.0
    return x


def _typed(module: torch.nn.Module, t: FieldType, size: int | tuple[int, int] = 7) -> Case:
    return Case(module, _x(t, size), t)


def _r2conv(gs, cin, cout, **kw):
    ti, to = _ft(gs, cin), _ft(gs, cout)
    return _typed(snn.R2Conv(ti, to, **kw), ti, 9)


def _r3conv(gs, cin, cout, transposed=False, **kw):
    ti, to = _ft(gs, cin), _ft(gs, cout)
    cls = snn.R3ConvTransposed if transposed else snn.R3Conv
    return _typed(cls(ti, to, **kw), ti, (5, 5, 5))


def _fourier(module: torch.nn.Module, size: int | tuple[int, ...] = 5) -> Case:
    """A Fourier non-linearity (its in_type is built from its arguments) on a random input."""
    return _typed(module, module.in_type, size)


def _sphere(gs: str, kind: str) -> list:
    from structconv.group.grids import sphere_grid

    return sphere_grid(_gs(gs).fibergroup, kind)


VOL = (5, 5, 5)


def _r2convt(gs, cin, cout, **kw):
    ti, to = _ft(gs, cin), _ft(gs, cout)
    return _typed(snn.R2ConvTransposed(ti, to, **kw), ti, 5)


def _r2diffop(gs, cin, cout, **kw):
    ti, to = _ft(gs, cin), _ft(gs, cout)
    return _typed(snn.R2Diffop(ti, to, **kw), ti, 9)


def _unary(cls, gs, reps, spatial=7, **kw):
    t = _ft(gs, reps)
    return _typed(cls(t, **kw), t, spatial)


def _gated2(gs, gates, gated):
    tg, tv = _ft(gs, gates), _ft(gs, gated)
    return Case(snn.GatedNonLinearity2((tg, tv)), (_x(tg), _x(tv)), (tg, tv))


def _merge():
    ta = _ft("C4", lambda s: [s.regular_repr])
    tb = _ft("C4", lambda s: [s.irrep(1), s.irrep(1)])
    tg = _ft("C4", lambda s: [s.trivial_repr] * 2)
    module = snn.MergeModule(
        [
            (snn.ReLU(ta), "a"),
            (snn.NormNonLinearity(tb), "b"),
            (snn.GatedNonLinearity2((tg, tb)), ["g", "b"]),
            (snn.SequentialModule(snn.InnerBatchNorm(ta), snn.GroupPooling(ta)), "a"),
        ]
    )
    types = {"a": ta, "b": tb, "g": tg}
    return Case(module, {k: _x(t) for k, t in types.items()}, types)


def _multiple(reshuffle: int):
    t = _ft("D4", lambda s: [s.trivial_repr, s.irrep(1, 1), s.regular_repr, s.trivial_repr, s.irrep(1, 1)])
    labels = ["g", "n", "p", "g", "n"]
    branches = snn.BranchingModule(t, labels, reshuffle=reshuffle).out_type
    modules = [
        (snn.GatedNonLinearity2((branches["g"], branches["n"])), ["g", "n"]),
        (snn.InnerBatchNorm(branches["p"]), "p"),
        (snn.NormPool(branches["n"]), "n"),
    ]
    return _typed(snn.MultipleModule(t, labels, modules, reshuffle=reshuffle), t)


def _sequential():
    t0 = _ft("C8", lambda s: [s.trivial_repr])
    t1 = _ft("C8", lambda s: [s.trivial_repr] * 2 + [s.irrep(1), s.irrep(2)])
    t2 = _ft("C8", lambda s: [s.irrep(1), s.irrep(2)])
    t3 = _ft("C8", lambda s: [s.regular_repr] * 2)
    gated = snn.GatedNonLinearity1(t1)
    module = snn.SequentialModule(
        snn.R2Conv(t0, t1, 3, padding=1),
        snn.GNormBatchNorm(t1),
        gated,
        snn.NormBatchNorm(t2),
        snn.NormNonLinearity(t2, "n_sigmoid"),
        snn.NormMaxPool(t2, 2),
        snn.R2Conv(t2, t3, 3, padding=1),
        snn.InnerBatchNorm(t3),
        snn.ELU(t3),
        snn.PointwiseMaxPoolAntialiased(t3, 2),
        snn.GroupPooling(t3),
    )
    return _typed(module, t0, 11)


def _shuffled_disentangle():
    space = _gs("C4")
    perm = np.eye(5)[[3, 0, 4, 1, 2]]
    mixed = directsum([space.irrep(1), space.trivial_repr, space.irrep(1)], change_of_basis=perm, name="mixed")
    t = FieldType(space, [space.regular_repr, mixed, mixed])
    return _typed(snn.DisentangleModule(t), t)


def _module_list():
    t = _ft("C4", lambda s: [s.regular_repr] * 2)
    return Case(snn.ModuleList([snn.ReLU(t), snn.NormPool(t), snn.GroupPooling(t)]), _x(t), t)


def _plain(module: torch.nn.Module, *shape: int) -> Case:
    return Case(module, torch.randn(*shape))


def _reg(s):
    return [s.regular_repr]


CASES: dict[str, list[tuple[str, Callable[[], Case]]]] = {
    # steerable convolutions
    "R2Conv": [
        ("C8-regular", lambda: _r2conv("C8", lambda s: [s.trivial_repr] * 2 + _reg(s), lambda s: _reg(s) * 2, kernel_size=3, padding=1)),
        ("D4-mixed-stride2", lambda: _r2conv("D4", lambda s: [*_reg(s), s.irrep(1, 1)], lambda s: [s.trivial_repr, *_reg(s), s.irrep(1, 1)], kernel_size=5, padding=2, stride=2)),
        ("SO2-irreps", lambda: _r2conv("SO2", lambda s: [s.trivial_repr, s.irrep(1), s.irrep(2)], lambda s: [s.irrep(1), s.trivial_repr], kernel_size=5, padding=2)),
        ("O2-irreps", lambda: _r2conv("O2", lambda s: [s.trivial_repr, s.irrep(1, 1)], lambda s: [s.irrep(1, 0), s.irrep(1, 2)], kernel_size=3)),
    ],
    "R2ConvTransposed": [
        ("C4-regular-stride2", lambda: _r2convt("C4", _reg, lambda s: _reg(s) * 2, kernel_size=3, stride=2)),
        ("SO2-irreps", lambda: _r2convt("SO2", lambda s: [s.trivial_repr, s.irrep(1)], lambda s: [s.irrep(1), s.irrep(2)], kernel_size=5, padding=1)),
    ],
    "R3Conv": [
        ("SO3-irreps", lambda: _r3conv("SO3", lambda s: [s.irrep(0), s.irrep(1)], lambda s: [s.irrep(1), s.irrep(2), s.irrep(0)], kernel_size=3, padding=1)),
        ("Octa-regular-stride2", lambda: _r3conv("Octa", lambda s: [s.trivial_repr, *_reg(s)], _reg, kernel_size=3, padding=1, stride=2)),
        ("O3-irreps", lambda: _r3conv("O3", lambda s: [s.irrep(0, 0), s.irrep(1, 1)], lambda s: [s.irrep(1, 0), s.irrep(0, 1)], kernel_size=3)),
    ],
    "R3ConvTransposed": [
        ("SO3-irreps-stride2", lambda: _r3conv("SO3", lambda s: [s.irrep(0), s.irrep(1)], lambda s: [s.irrep(1), s.irrep(0)], transposed=True, kernel_size=3, stride=2)),
        ("Ico-regular", lambda: _r3conv("Ico", _reg, lambda s: [s.trivial_repr], transposed=True, kernel_size=3, padding=1)),
    ],
    "R2Diffop": [
        ("C8-regular", lambda: _r2diffop("C8", lambda s: [s.trivial_repr], _reg, kernel_size=5, padding=2)),
        ("SO2-irreps", lambda: _r2diffop("SO2", lambda s: [s.irrep(1)], lambda s: [s.trivial_repr, s.irrep(1)], kernel_size=5)),
    ],
    # non-linearities
    "NormNonLinearity": [
        ("C8-mixed-n_relu", lambda: _unary(snn.NormNonLinearity, "C8", lambda s: [s.irrep(1), s.irrep(2), *_reg(s), s.irrep(1)])),
        ("SO2-n_sigmoid", lambda: _unary(snn.NormNonLinearity, "SO2", lambda s: [s.irrep(1), s.irrep(3), s.irrep(1)], function="n_sigmoid")),
        ("O2-n_relu", lambda: _unary(snn.NormNonLinearity, "O2", lambda s: [s.irrep(1, 1), s.irrep(1, 0), s.irrep(1, 2)])),
        ("C4-squash", lambda: _unary(snn.NormNonLinearity, "C4", lambda s: [s.irrep(1), *_reg(s)], function="squash", bias=False)),
    ],
    "InducedNormNonLinearity": [
        ("D4-n_relu", lambda: _unary(snn.InducedNormNonLinearity, "D4", lambda s: [_ind_d4(s)] * 2)),
        ("O2-n_sigmoid", lambda: _unary(snn.InducedNormNonLinearity, "O2", lambda s: [_ind_o2(s)] * 2, function="n_sigmoid")),
    ],
    "GatedNonLinearity1": [
        ("C8-default", lambda: _unary(snn.GatedNonLinearity1, "C8", lambda s: [s.trivial_repr] * 2 + [s.irrep(1), s.irrep(2)])),
        ("D4-interleaved-keep-gates", lambda: _unary(snn.GatedNonLinearity1, "D4", lambda s: [s.trivial_repr, s.irrep(1, 1), s.trivial_repr, *_reg(s)], gates=["gate", "gated", "gate", "gated"], drop_gates=False)),
        ("SO2", lambda: _unary(snn.GatedNonLinearity1, "SO2", lambda s: [s.trivial_repr] * 2 + [s.irrep(2), s.irrep(1)])),
        ("O2", lambda: _unary(snn.GatedNonLinearity1, "O2", lambda s: [s.trivial_repr, s.irrep(1, 1)])),
    ],
    "GatedNonLinearity2": [
        ("C4", lambda: _gated2("C4", lambda s: [s.trivial_repr] * 2, lambda s: [s.irrep(1), *_reg(s)])),
        ("O2", lambda: _gated2("O2", lambda s: [s.trivial_repr], lambda s: [s.irrep(1, 2)])),
    ],
    "InducedGatedNonLinearity1": [
        ("D4", lambda: _unary(snn.InducedGatedNonLinearity1, "D4", lambda s: [_ind_gate_d4(s), _ind_d4(s)])),
        ("D4-keep-gates", lambda: _unary(snn.InducedGatedNonLinearity1, "D4", lambda s: [_ind_gate_d4(s)] * 2 + [_ind_d4(s)] * 2, drop_gates=False)),
    ],
    "ConcatenatedNonLinearity": [
        ("C8-c_relu", lambda: _unary(snn.ConcatenatedNonLinearity, "C8", lambda s: [*_reg(s), s.irrep(4)])),
        ("D4-c_tanh", lambda: _unary(snn.ConcatenatedNonLinearity, "D4", lambda s: [*_reg(s), s.trivial_repr], function="c_tanh")),
        ("C4-c_sigmoid", lambda: _unary(snn.ConcatenatedNonLinearity, "C4", _reg, function="c_sigmoid")),
    ],
    "VectorFieldNonLinearity": [
        ("C8", lambda: _unary(snn.VectorFieldNonLinearity, "C8", lambda s: _reg(s) * 2)),
        ("C4", lambda: _unary(snn.VectorFieldNonLinearity, "C4", lambda s: _reg(s) * 3)),
    ],
    "PointwiseNonLinearity": [
        (f"{gs}-{fn}", (lambda gs=gs, fn=fn: _unary(snn.PointwiseNonLinearity, gs, lambda s: _reg(s) * 2, function=fn)))
        for gs, fn in [("C4", "p_relu"), ("D4", "p_elu"), ("C8", "p_sigmoid"), ("D4", "p_tanh")]
    ],
    "ReLU": [("C8", lambda: _unary(snn.ReLU, "C8", lambda s: _reg(s) * 2))],
    "ELU": [("D4-alpha", lambda: _unary(snn.ELU, "D4", _reg, alpha=0.5))],
    "FourierPointwise": [
        ("SO2-p_relu", lambda: _fourier(snn.FourierPointwise(_gs("SO2"), 2, [(0,), (1,), (2,)], N=8))),
        ("SO3-ico-p_tanh", lambda: _fourier(snn.FourierPointwise(_gs("SO3"), 1, [(0,), (1,)], type="ico", function="p_tanh"), (3, 4, 3))),
        ("O2-p_sigmoid-out", lambda: _fourier(snn.FourierPointwise(_gs("O2"), 2, [(0, 0), (1, 0), (1, 1)], N=6, function="p_sigmoid", out_irreps=[(0, 0), (1, 1)]))),
    ],
    "FourierELU": [
        ("SO3-cube", lambda: _fourier(snn.FourierELU(_gs("SO3"), 2, [(0,), (1,)], "cube"), (4, 4, 4))),
        ("Octa-regular-irreps", lambda: _fourier(snn.FourierELU(_gs("Octa"), 1, [p.id for p in _gs("Octa").fibergroup.irreps()]), (3, 3, 3))),
        ("C8-regular", lambda: _fourier(snn.FourierELU(_gs("C8"), 2, [(k,) for k in range(5)], "regular", 8))),
    ],
    "QuotientFourierPointwise": [
        ("D4-flip-p_sigmoid", lambda: _fourier(snn.QuotientFourierPointwise(_gs("D4"), (0, 1), 1, [(0, 0), (1, 0), (1, 1), (1, 2), (0, 2)], "regular", 4, function="p_sigmoid"))),
        ("SO3-sphere-cube", lambda: _fourier(snn.QuotientFourierPointwise(_gs("SO3"), (False, -1), 2, [(0,), (1,)], grid=_sphere("SO3", "cube")), (3, 4, 3))),
    ],
    "QuotientFourierELU": [
        ("SO3-sphere-ico", lambda: _fourier(snn.QuotientFourierELU(_gs("SO3"), (False, -1), 2, [(0,), (1,), (2,)], grid=_sphere("SO3", "ico")), (4, 4, 4))),
        ("O3-cone-ico-out", lambda: _fourier(snn.QuotientFourierELU(_gs("O3"), ("cone", -1), 1, _gs("O3").fibergroup.bl_irreps(2), grid=_sphere("O3", "ico"), out_irreps=_gs("O3").fibergroup.bl_irreps(1)), (3, 3, 3))),
    ],
    # invariant maps and pooling
    "GroupPooling": [
        ("C8-regular", lambda: _unary(snn.GroupPooling, "C8", lambda s: _reg(s) * 3)),
        ("D4-mixed", lambda: _unary(snn.GroupPooling, "D4", lambda s: [*_reg(s), s.quotient_repr((None, 2)), s.trivial_repr, *_reg(s)])),
        ("C4-trivial", lambda: _unary(snn.GroupPooling, "C4", lambda s: [s.trivial_repr] * 2)),
    ],
    "NormPool": [
        ("C8-mixed", lambda: _unary(snn.NormPool, "C8", lambda s: [s.irrep(1), *_reg(s), s.irrep(3)])),
        ("SO2", lambda: _unary(snn.NormPool, "SO2", lambda s: [s.irrep(1), s.irrep(2)])),
        ("O2", lambda: _unary(snn.NormPool, "O2", lambda s: [s.irrep(1, 1), s.irrep(1, 0)])),
    ],
    "InducedNormPool": [
        ("D4", lambda: _unary(snn.InducedNormPool, "D4", lambda s: [_ind_d4(s)] * 2)),
        ("O2", lambda: _unary(snn.InducedNormPool, "O2", lambda s: [_ind_o2(s)])),
    ],
    "MaxPoolChannels": [("k4", lambda: _plain(snn.MaxPoolChannels(4), 3, 8, 5, 5))],
    "NormMaxPool": [
        ("C8-mixed", lambda: _unary(snn.NormMaxPool, "C8", lambda s: [s.irrep(1), *_reg(s), s.irrep(1)], kernel_size=2)),
        ("D4-pad-ceil", lambda: _unary(snn.NormMaxPool, "D4", lambda s: [s.irrep(1, 1), s.irrep(1, 0)], kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ("SO2", lambda: _unary(snn.NormMaxPool, "SO2", lambda s: [s.irrep(1), s.irrep(2)], kernel_size=2, spatial=8)),
    ],
    "PointwiseMaxPool": [("C4", lambda: _unary(snn.PointwiseMaxPool, "C4", _reg, kernel_size=3, stride=2, padding=1))],
    "PointwiseMaxPoolAntialiased": [("D4", lambda: _unary(snn.PointwiseMaxPoolAntialiased, "D4", _reg, kernel_size=2, spatial=8))],
    "PointwiseAvgPool": [("SO2", lambda: _unary(snn.PointwiseAvgPool, "SO2", lambda s: [s.irrep(1)], kernel_size=2, spatial=8))],
    "PointwiseAvgPoolAntialiased": [("C8", lambda: _unary(snn.PointwiseAvgPoolAntialiased, "C8", _reg, sigma=0.66, stride=2, spatial=9))],
    # (first cases: sizes that divide the input, which PyTorch's ONNX exporter needs for adaptive pools)
    "PointwiseAdaptiveAvgPool": [
        ("O2", lambda: _unary(snn.PointwiseAdaptiveAvgPool, "O2", lambda s: [s.irrep(1, 1)], output_size=(2, 3), spatial=(8, 9))),
        ("C4-uneven", lambda: _unary(snn.PointwiseAdaptiveAvgPool, "C4", _reg, output_size=(2, 3))),
    ],
    "PointwiseAdaptiveMaxPool": [
        ("C4", lambda: _unary(snn.PointwiseAdaptiveMaxPool, "C4", _reg, output_size=2, spatial=8)),
        ("D4-uneven", lambda: _unary(snn.PointwiseAdaptiveMaxPool, "D4", _reg, output_size=(3, 2))),
    ],
    # escnn's planar aliases (the same classes as above), on other groups
    "PointwiseMaxPool2D": [
        ("D4-ceil", lambda: _unary(snn.PointwiseMaxPool2D, "D4", lambda s: [s.trivial_repr, *_reg(s)], kernel_size=2, ceil_mode=True)),
        ("C8-dilation2", lambda: _unary(snn.PointwiseMaxPool2D, "C8", _reg, kernel_size=2, stride=1, dilation=2)),
    ],
    "PointwiseMaxPoolAntialiased2D": [
        ("C8-stride1", lambda: _unary(snn.PointwiseMaxPoolAntialiased2D, "C8", _reg, kernel_size=3, stride=1, padding=1)),
        ("O2-trivial-sigma", lambda: _unary(snn.PointwiseMaxPoolAntialiased2D, "O2", lambda s: [s.trivial_repr] * 2, kernel_size=2, sigma=0.9, spatial=8)),
    ],
    "PointwiseAvgPool2D": [
        ("C4-stride2", lambda: _unary(snn.PointwiseAvgPool2D, "C4", _reg, kernel_size=3, stride=2, spatial=9)),
        ("D4-pad-ceil", lambda: _unary(snn.PointwiseAvgPool2D, "D4", _reg, kernel_size=3, stride=2, padding=1, ceil_mode=True, spatial=8)),
    ],
    "PointwiseAvgPoolAntialiased2D": [
        ("D4-pad", lambda: _unary(snn.PointwiseAvgPoolAntialiased2D, "D4", _reg, sigma=0.6, stride=2, padding=1, spatial=8)),
        ("C4-stride1", lambda: _unary(snn.PointwiseAvgPoolAntialiased2D, "C4", lambda s: [*_reg(s), s.trivial_repr], sigma=0.5, stride=1)),
    ],
    "PointwiseAdaptiveAvgPool2D": [
        ("C8", lambda: _unary(snn.PointwiseAdaptiveAvgPool2D, "C8", _reg, output_size=3, spatial=9)),
        ("D4-uneven", lambda: _unary(snn.PointwiseAdaptiveAvgPool2D, "D4", _reg, output_size=(2, 3))),
    ],
    "PointwiseAdaptiveMaxPool2D": [
        ("O2-trivial", lambda: _unary(snn.PointwiseAdaptiveMaxPool2D, "O2", lambda s: [s.trivial_repr] * 2, output_size=(1, 2), spatial=(7, 8))),
        ("C4-uneven", lambda: _unary(snn.PointwiseAdaptiveMaxPool2D, "C4", _reg, output_size=(3, 2))),
    ],
    # poolings on R^3
    "PointwiseMaxPool3D": [
        ("Octa-regular", lambda: _unary(snn.PointwiseMaxPool3D, "Octa", _reg, kernel_size=2, spatial=VOL)),
        ("SO3-trivial-pad", lambda: _unary(snn.PointwiseMaxPool3D, "SO3", lambda s: [s.trivial_repr] * 2, kernel_size=3, stride=2, padding=1, spatial=(5, 6, 4))),
    ],
    "PointwiseMaxPoolAntialiased3D": [
        ("Octa-regular", lambda: _unary(snn.PointwiseMaxPoolAntialiased3D, "Octa", _reg, kernel_size=2, spatial=VOL)),
        ("Ico-trivial-stride1", lambda: _unary(snn.PointwiseMaxPoolAntialiased3D, "Ico", lambda s: [s.trivial_repr, s.trivial_repr], kernel_size=3, stride=1, padding=1, sigma=0.8, spatial=(4, 5, 4))),
    ],
    "PointwiseAvgPool3D": [
        ("Octa-regular", lambda: _unary(snn.PointwiseAvgPool3D, "Octa", _reg, kernel_size=2, spatial=VOL)),
        ("O3-trivial-ceil", lambda: _unary(snn.PointwiseAvgPool3D, "O3", lambda s: [s.trivial_repr] * 3, kernel_size=3, stride=2, ceil_mode=True, spatial=(6, 5, 6))),
    ],
    "PointwiseAvgPoolAntialiased3D": [
        ("Octa-regular", lambda: _unary(snn.PointwiseAvgPoolAntialiased3D, "Octa", _reg, sigma=0.6, stride=2, spatial=VOL)),
        ("SO3-trivial-pad", lambda: _unary(snn.PointwiseAvgPoolAntialiased3D, "SO3", lambda s: [s.trivial_repr] * 2, sigma=0.66, stride=2, padding=1, spatial=(6, 5, 5))),
    ],
    "PointwiseAdaptiveAvgPool3D": [
        ("Octa-regular", lambda: _unary(snn.PointwiseAdaptiveAvgPool3D, "Octa", _reg, output_size=2, spatial=(4, 4, 6))),
        ("SO3-trivial-uneven", lambda: _unary(snn.PointwiseAdaptiveAvgPool3D, "SO3", lambda s: [s.trivial_repr] * 2, output_size=(2, 3, 1), spatial=(5, 7, 4))),
    ],
    "PointwiseAdaptiveMaxPool3D": [
        ("Octa-regular", lambda: _unary(snn.PointwiseAdaptiveMaxPool3D, "Octa", _reg, output_size=(1, 2, 2), spatial=(5, 4, 6))),
        ("Ico-trivial", lambda: _unary(snn.PointwiseAdaptiveMaxPool3D, "Ico", lambda s: [s.trivial_repr], output_size=3, spatial=(6, 5, 7))),
    ],
    # normalisation and dropout
    "InnerBatchNorm": [
        ("C8-regular", lambda: _unary(snn.InnerBatchNorm, "C8", lambda s: _reg(s) * 2)),
        ("D4-mixed-shuffled", lambda: _unary(snn.InnerBatchNorm, "D4", lambda s: [*_reg(s), s.trivial_repr, s.quotient_repr((None, 2)), *_reg(s)], momentum=None)),
        ("D4-no-running-stats", lambda: _unary(snn.InnerBatchNorm, "D4", lambda s: [*_reg(s), s.trivial_repr, *_reg(s)], track_running_stats=False)),
        ("C4-no-affine", lambda: _unary(snn.InnerBatchNorm, "C4", _reg, affine=False)),
    ],
    "NormBatchNorm": [
        ("C8", lambda: _unary(snn.NormBatchNorm, "C8", lambda s: [s.irrep(1), s.irrep(2)])),
        ("SO2-no-affine", lambda: _unary(snn.NormBatchNorm, "SO2", lambda s: [s.irrep(1), s.irrep(2), s.irrep(1)], affine=False)),
        ("O2", lambda: _unary(snn.NormBatchNorm, "O2", lambda s: [s.irrep(1, 1), s.irrep(1, 0)])),
    ],
    "InducedNormBatchNorm": [("D4", lambda: _unary(snn.InducedNormBatchNorm, "D4", lambda s: [_ind_d4(s)] * 2))],
    "GNormBatchNorm": [
        ("C4-mixed", lambda: _unary(snn.GNormBatchNorm, "C4", lambda s: [*_reg(s), s.irrep(1), s.trivial_repr])),
        ("D4-uniform", lambda: _unary(snn.GNormBatchNorm, "D4", lambda s: _reg(s) * 2)),
        ("SO2", lambda: _unary(snn.GNormBatchNorm, "SO2", lambda s: [s.trivial_repr, s.irrep(1), s.irrep(2)])),
        ("O2-no-affine", lambda: _unary(snn.GNormBatchNorm, "O2", lambda s: [s.trivial_repr, s.irrep(1, 1), s.irrep(1, 0)], affine=False)),
    ],
    "IIDBatchNorm2d": [
        ("D4-mixed", lambda: _unary(snn.IIDBatchNorm2d, "D4", lambda s: [*_reg(s), s.irrep(1, 1), s.trivial_repr])),
        ("SO2-irreps-no-running-stats", lambda: _unary(snn.IIDBatchNorm2d, "SO2", lambda s: [s.trivial_repr, s.irrep(1), s.irrep(2)], track_running_stats=False)),
        ("C8-no-affine-cumulative", lambda: _unary(snn.IIDBatchNorm2d, "C8", lambda s: _reg(s) * 2, affine=False, momentum=None)),
    ],
    "IIDBatchNorm3d": [
        ("Octa-regular", lambda: _unary(snn.IIDBatchNorm3d, "Octa", lambda s: _reg(s) * 2, spatial=(4, 4, 4))),
        ("SO3-irreps", lambda: _unary(snn.IIDBatchNorm3d, "SO3", lambda s: [s.irrep(0), s.irrep(1), s.irrep(2)], spatial=VOL)),
        ("O3-no-running-stats", lambda: _unary(snn.IIDBatchNorm3d, "O3", lambda s: [s.irrep(0, 0), s.irrep(1, 1), s.irrep(0, 1)], track_running_stats=False, spatial=(3, 4, 5))),
    ],
    "FieldDropout": [("C4", lambda: _unary(snn.FieldDropout, "C4", lambda s: [*_reg(s), s.irrep(1)], p=0.3))],
    "PointwiseDropout": [("D4", lambda: _unary(snn.PointwiseDropout, "D4", _reg, p=0.2))],
    # containers and other modules
    "IdentityModule": [("C4", lambda: _unary(snn.IdentityModule, "C4", _reg))],
    "RestrictionModule": [("D4-to-C4", lambda: _unary(snn.RestrictionModule, "D4", _reg, id=(None, 4)))],
    "R2Upsampling": [
        ("C4-bilinear", lambda: _unary(snn.R2Upsampling, "C4", _reg, scale_factor=2)),
        ("D4-nearest-size", lambda: _unary(snn.R2Upsampling, "D4", lambda s: [s.irrep(1, 1)], size=(9, 9), mode="nearest")),
    ],
    "R3Upsampling": [
        ("Octa-trilinear", lambda: _unary(snn.R3Upsampling, "Octa", _reg, scale_factor=2, spatial=(3, 3, 3))),
        ("SO3-nearest-size", lambda: _unary(snn.R3Upsampling, "SO3", lambda s: [s.irrep(1), s.trivial_repr], size=(6, 7, 5), mode="nearest", spatial=(3, 3, 3))),
        ("O3-align-corners", lambda: _unary(snn.R3Upsampling, "O3", lambda s: [s.irrep(1, 1)], scale_factor=2, align_corners=True, spatial=(3, 4, 3))),
    ],
    "MaskModule": [("C4", lambda: _unary(snn.MaskModule, "C4", _reg, S=7, margin=20))],
    "ReshuffleModule": [
        ("C4", lambda: _unary(snn.ReshuffleModule, "C4", lambda s: [s.trivial_repr, s.irrep(1), *_reg(s)], permutation=[2, 0, 1])),
        ("C4-identity", lambda: _unary(snn.ReshuffleModule, "C4", lambda s: [s.trivial_repr, s.irrep(1)], permutation=[0, 1])),
    ],
    "DisentangleModule": [("C4-shuffled-sum", _shuffled_disentangle)],
    "BranchingModule": [
        ("C4-interleaved", lambda: _unary(snn.BranchingModule, "C4", lambda s: [*_reg(s), s.irrep(1), *_reg(s), s.trivial_repr], labels=["a", "b", "a", "b"])),
        ("D4-reshuffle2", lambda: _unary(snn.BranchingModule, "D4", lambda s: [*_reg(s), s.irrep(1, 1), s.trivial_repr], labels=["b", "a", "b"], reshuffle=2)),
    ],
    "MergeModule": [("C4", _merge)],
    "MultipleModule": [("D4", lambda: _multiple(0)), ("D4-reshuffle1", lambda: _multiple(1))],
    "SequentialModule": [("C8-trunk", _sequential)],
    "ModuleList": [("C4", _module_list)],
    # constrained and weight-standardized layers (plain tensors)
    "ConstrainedConv1d": [("nonneg", lambda: _plain(snn.ConstrainedConv1d(3, 4, 3, constraint="nonneg"), 2, 3, 9))],
    "ConstrainedConv2d": [("zero_mean-unit_l2", lambda: _plain(snn.ConstrainedConv2d(3, 4, 3, padding=1, constraint=["zero_mean", "unit_l2"]), 2, 3, 7, 7))],
    "ConstrainedConv3d": [("max_l2-post_step", lambda: _plain(snn.ConstrainedConv3d(2, 3, 3, constraint="max_l2", max_l2=0.5, enforce="post_step"), 2, 2, 5, 5, 5))],
    "ConstrainedConvTranspose1d": [("sum_to_one", lambda: _plain(snn.ConstrainedConvTranspose1d(3, 2, 3, stride=2, constraint="sum_to_one"), 2, 3, 6))],
    "ConstrainedConvTranspose2d": [("nonneg_sum1", lambda: _plain(snn.ConstrainedConvTranspose2d(3, 2, 3, constraint="nonneg_sum1"), 2, 3, 5, 5))],
    "ConstrainedConvTranspose3d": [("fixed_center", lambda: _plain(snn.ConstrainedConvTranspose3d(2, 2, 3, constraint="fixed_center"), 1, 2, 4, 4, 4))],
    "ConstrainedLinear": [("nonneg", lambda: _plain(snn.ConstrainedLinear(5, 3, constraint="nonneg"), 4, 5))],
    "ConstrainedSeparableConv2d": [("unit_l2-depth", lambda: _plain(snn.ConstrainedSeparableConv2d(3, 6, 3, depth_multiplier=2, depth_constraint="unit_l2"), 2, 3, 7, 7))],
    "WSConv1d": [("groups", lambda: _plain(snn.WSConv1d(4, 6, 3, padding=1, groups=2), 2, 4, 9))],
    "WSConv2d": [("stride", lambda: _plain(snn.WSConv2d(4, 6, 3, stride=2), 2, 4, 9, 9))],
    "WSConv3d": [("plain", lambda: _plain(snn.WSConv3d(2, 3, 3), 1, 2, 5, 5, 5))],
    "WSConvTranspose1d": [("plain", lambda: _plain(snn.WSConvTranspose1d(3, 2, 3), 2, 3, 6))],
    "WSConvTranspose2d": [("stride", lambda: _plain(snn.WSConvTranspose2d(3, 2, 3, stride=2), 2, 3, 5, 5))],
    "WSConvTranspose3d": [("plain", lambda: _plain(snn.WSConvTranspose3d(2, 2, 3), 1, 2, 4, 4, 4))],
    "FWS": [
        ("conv2d", lambda: _plain(snn.FWS(torch.nn.Conv2d(3, 4, 3)), 2, 3, 7, 7)),
        # eval convolves with the weight as it is: the export must too, whatever mode it is exported from
        ("conv2d-const-eval", lambda: _plain(snn.FWS(torch.nn.Conv2d(3, 4, 3), const_eval=True), 2, 3, 7, 7)),
    ],
}

ALL_CASES = [(cls, cid) for cls, cases in CASES.items() for cid, _ in cases]
FIRST_CASES = [(cls, cases[0][0]) for cls, cases in CASES.items()]


def _build(cls: str, cid: str) -> Case:
    torch.manual_seed(sum(map(ord, cls + cid)))
    case = dict(CASES[cls])[cid]()
    _randomize(case)
    return case


# ------------------------------------------------------------------------------------- live / exported


def _geometric(x: Any, t: Any) -> Any:
    if isinstance(x, dict):
        return {k: GeometricTensor(v, t[k]) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(GeometricTensor(v, ti) for v, ti in zip(x, t))
    return GeometricTensor(x, t)


def _plain_out(y: Any) -> Any:
    if isinstance(y, GeometricTensor):
        return y.tensor
    if isinstance(y, dict):
        return {k: _plain_out(v) for k, v in y.items()}
    if isinstance(y, (tuple, list)):
        return tuple(_plain_out(v) for v in y)
    return y


def _call(module: torch.nn.Module, inputs: Any, types: Any) -> Any:
    """Run a live module (types given: wrap in GeometricTensors) or an exported one; plain tensors out."""
    if isinstance(module, torch.nn.ModuleList):
        return tuple(_call(m, inputs, types) for m in module)
    args = inputs if types is None else _geometric(inputs, types)
    if isinstance(args, tuple):
        return _plain_out(module(*args))
    return _plain_out(module(args))


def _map(fn: Callable[[torch.Tensor], Any], x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _map(fn, v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return tuple(_map(fn, v) for v in x)
    return fn(x)


def _leaves(x: Any) -> list[torch.Tensor]:
    if isinstance(x, dict):
        return [t for v in x.values() for t in _leaves(v)]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _leaves(v)]
    return [x]


def _randomize(case: Case) -> None:
    """Random parameters, then running statistics from a few training batches (offset, scaled inputs)."""
    module = case.module
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
        module.train()
        for _ in range(3):
            _call(module, _map(lambda t: 2.0 * torch.randn_like(t) + 0.5, case.inputs), case.types)


def _snapshot(module: torch.nn.Module) -> tuple[dict[str, torch.Tensor], list[bool]]:
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    return state, [m.training for m in module.modules()]


def _export(module: torch.nn.Module) -> torch.nn.Module:
    rng = torch.random.get_rng_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exported = module.export()
    assert not caught, [str(w.message) for w in caught]
    # exporting mid-training must not change the random draws that follow (no random initialisation)
    assert torch.equal(torch.random.get_rng_state(), rng), "export() drew random numbers"
    return exported


def _max_diff(a: Any, b: Any) -> tuple[float, float]:
    """(largest |a - b|, largest |b|) over the leaves of two outputs of the same structure."""
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb)
    if isinstance(b, dict):
        assert list(a) == list(b), (list(a), list(b))
    diff = max(float((x - y).abs().max()) if x.numel() else 0.0 for x, y in zip(la, lb))
    scale = max(float(y.abs().max()) if y.numel() else 0.0 for y in lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, y.shape, x.dtype, y.dtype)
    return diff, scale


TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("cls,cid", ALL_CASES, ids=[f"{c}-{i}" for c, i in ALL_CASES])
def test_export_equals_eval_output(cls: str, cid: str, dtype: torch.dtype) -> None:
    case = _build(cls, cid)
    module = copy.deepcopy(case.module).to(dtype)
    inputs = _map(lambda t: t.to(dtype), case.inputs)
    module.train()
    state, modes = _snapshot(module)
    exported = _export(module)
    # the live module is untouched: mode, parameters and buffers
    after_state, after_modes = _snapshot(module)
    assert after_modes == modes
    assert after_state.keys() == state.keys()
    assert all(torch.equal(after_state[k], state[k]) for k in state)
    # only torch classes, in eval mode (exported from a module in train mode)
    assert foreign_parts(exported) == []
    assert not any(m.training for m in exported.modules())
    module.eval()
    with torch.no_grad():
        want = _call(module, inputs, case.types)
        got = _call(exported, inputs, None)
        diff, scale = _max_diff(got, want)
        assert scale > 0, f"{cls}/{cid}: the live output is zero, the comparison would prove nothing"
        assert diff <= TOLERANCE[dtype] * max(1.0, scale), f"{cls}/{cid}: max |export - live| = {diff:.3g}"
        # the export holds copies: changing the live module afterwards does not change it
        for t in list(module.parameters()) + list(module.buffers()):
            if t.is_floating_point():
                t.add_(1.0)
        again = _call(exported, inputs, None)
    assert all(torch.equal(x, y) for x, y in zip(_leaves(again), _leaves(got)))


def test_every_public_module_is_in_the_table() -> None:
    classes = {
        name: obj
        for name in snn.__all__
        if isinstance(obj := getattr(snn, name), type) and issubclass(obj, torch.nn.Module)
    }
    missing = sorted(set(classes) - set(CASES) - set(NOT_LAYERS))
    assert not missing, f"public modules without an export case: {missing}"
    assert not set(CASES) - set(classes), "the table names classes that are not public"
    for name in classes.keys() - NOT_LAYERS.keys():
        assert callable(getattr(classes[name], "export", None)), name
        if issubclass(classes[name], snn.EquivariantModule):
            assert classes[name].export is not snn.EquivariantModule.export, f"{name} keeps the default export"
    # every equivariant class is swept on at least two cases (groups / field kinds) unless it has one shape
    single = sorted(n for n, c in CASES.items() if issubclass(classes[n], snn.EquivariantModule) and len(c) < 2)
    assert len(single) < 20, single


def test_user_subclass_without_export_gets_a_clear_error() -> None:
    class Twice(snn.EquivariantModule):
        def __init__(self, t: FieldType) -> None:
            super().__init__()
            self.in_type = self.out_type = t

        def forward(self, x: GeometricTensor) -> GeometricTensor:
            return GeometricTensor(2 * x.tensor, self.out_type)

        def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
            return input_shape

    with pytest.raises(NotImplementedError, match="Twice does not implement export"):
        Twice(_ft("C4", _reg)).export()


def test_group_pooling_export_loads_without_the_library_class() -> None:
    # the demo's last layer: no structconv class (e2cnn's MaxPoolChannels) in the exported tree
    case = _build("GroupPooling", "C8-regular")
    exported = case.module.export()
    assert isinstance(exported, torch.fx.GraphModule)
    assert foreign_parts(exported) == []
    buffer = io.BytesIO()
    torch.save(exported, buffer)
    assert b"structconv" not in buffer.getvalue()


# -------------------------------------------------------------------------------------------------- ONNX


def _onnx_inputs(inputs: Any) -> tuple[tuple, list[torch.Tensor]]:
    """``torch.onnx.export`` args and the flat list of input tensors (a dict input is passed whole)."""
    if isinstance(inputs, dict):
        return (inputs, {}), list(inputs.values())
    if isinstance(inputs, tuple):
        return inputs, list(inputs)
    return (inputs,), [inputs]


@pytest.mark.parametrize("cls,cid", FIRST_CASES, ids=[c for c, _ in FIRST_CASES])
def test_onnx_runtime_matches(cls: str, cid: str) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    case = _build(cls, cid)
    case.module.eval()
    exported = case.module.export().eval()
    modules = list(exported) if isinstance(exported, torch.nn.ModuleList) else [exported]
    for m in modules:
        args, flat = _onnx_inputs(case.inputs)
        buffer = io.BytesIO()
        with torch.no_grad():
            outs = _leaves(_call(m, case.inputs, None))
        in_names = [f"in{i}" for i in range(len(flat))]
        out_names = [f"out{i}" for i in range(len(outs))]
        # batch and spatial sizes are dynamic, except the spatial sizes of adaptive pools (a TorchScript exporter
        # limit) and of MaskModule (its mask has one size, the live module's too)
        spatial = "Adaptive" not in cls and cls != "MaskModule"
        axes = {
            n: {0: "batch", **({d: f"s{d}" for d in range(2, t.dim())} if spatial else {})}
            for n, t in zip(in_names + out_names, flat + outs)
        }
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.onnx.export(
                m, args, buffer, dynamo=False, opset_version=17,
                input_names=in_names, output_names=out_names, dynamic_axes=axes,
            )
        # torch's own deprecation notices about the TorchScript exporter aside, no warning (no TracerWarning)
        ours = [
            w
            for w in caught
            if str(SRC) in str(w.filename) or not issubclass(w.category, (DeprecationWarning, FutureWarning))
        ]
        assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]
        session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])

        def grow(t: torch.Tensor, spatial: bool = spatial) -> torch.Tensor:
            return _x(t.shape[1], tuple(n + 2 * spatial for n in t.shape[2:]), t.shape[0] + 2)

        # the traced shapes, then another batch size and image size (nothing may be frozen at the traced shape)
        for inputs in (case.inputs, _map(grow, case.inputs)):
            flat_inputs = _leaves(inputs)
            feeds = {i.name: t.numpy() for i, t in zip(session.get_inputs(), flat_inputs)}
            assert len(feeds) == len(flat_inputs)
            got = session.run(None, feeds)
            with torch.no_grad():
                want = _leaves(_call(m, inputs, None))
            assert len(got) == len(want)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5 * max(1.0, float(w.abs().max())))


# ------------------------------------------------------------------------- loading without structconv

# first lines of every script run "without structconv": imports of structconv fail, src is off the path
_NO_STRUCTCONV = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    class NoStructconv:
        def find_spec(self, name, path=None, target=None):
            if name == "structconv" or name.startswith("structconv."):
                raise ImportError(f"structconv is blocked in this process ({name})")
            return None

    sys.meta_path.insert(0, NoStructconv())
    sys.path = [p for p in sys.path if not Path(p, "structconv").is_dir()]
    """
)

_LOADER = _NO_STRUCTCONV + textwrap.dedent(
    """
    import json
    import torch

    try:
        import structconv  # noqa: F401
        blocked = False
    except ImportError:
        blocked = True
    report = {"blocked": blocked, "results": {}}
    for path in sorted(Path(sys.argv[1]).glob("*.pt")):
        try:
            saved = torch.load(path, weights_only=False)
            model, inputs, want = saved["model"], saved["inputs"], saved["want"]
            model.eval()
            with torch.no_grad():
                if isinstance(inputs, tuple):
                    got = model(*inputs)
                else:
                    got = model(inputs)
            flat = lambda y: list(y.values()) if isinstance(y, dict) else [y]
            diff = max(float((a - b).abs().max()) for a, b in zip(flat(got), flat(want)))
            report["results"][path.stem] = diff
        except Exception as err:  # noqa: BLE001 - reported to the test
            report["results"][path.stem] = f"{type(err).__name__}: {err}"
    report["structconv_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "structconv")
    print(json.dumps(report))
    """
)


def test_exports_load_in_a_python_without_structconv(tmp_path: Path, monkeypatch) -> None:
    """One subprocess, where ``import structconv`` fails, loads every saved export and runs the README's
    loading snippet on the file its saving snippet wrote."""
    from structconv.models import EquivariantCNN

    saved = {}
    for cls, cid in FIRST_CASES:
        case = _build(cls, cid)
        if isinstance(case.module, torch.nn.ModuleList):
            continue  # no forward; its elements are saved as their own cases
        case.module.eval()
        saved[cls] = (case.module.export(), case.inputs, case.types, case.module)
    demo = EquivariantCNN("C4", fields=(2, 2, 2)).eval()
    saved["demo_EquivariantCNN"] = (demo.export(), torch.randn(2, 1, 19, 19), None, demo)
    trunk = _build("SequentialModule", "C8-trunk")
    saved["composite_trunk"] = (trunk.module.eval().export(), trunk.inputs, trunk.types, trunk.module)
    exports = tmp_path / "exports"
    exports.mkdir()
    for name, (model, inputs, types, live) in saved.items():
        with torch.no_grad():
            want = _call(live, inputs, types)
        torch.save({"model": model, "inputs": inputs, "want": want}, exports / f"{name}.pt")
    # the README: save with structconv here, load in the subprocess
    save, load = _readme_blocks("**Exported models without structconv.**")
    monkeypatch.chdir(tmp_path)
    exec(compile(save, str(README), "exec"), {"__name__": "__readme__"})
    script = tmp_path / "load.py"
    script.write_text(_LOADER + "\n# the README's snippet\n" + load)
    done = subprocess.run(
        [sys.executable, str(script), str(exports)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    report = json.loads(next(line for line in lines if line.startswith("{")))
    assert report["blocked"], "the subprocess could import structconv"
    assert report["structconv_loaded"] == []
    failed = {k: v for k, v in report["results"].items() if not isinstance(v, float) or v > 1e-5}
    assert not failed, failed
    assert set(report["results"]) == set(saved)
    assert lines[-1] == "torch.Size([4, 10])"  # the README snippet's output


# ----------------------------------------------------------------------------------------- README


def _readme_blocks(heading: str) -> list[str]:
    """The python blocks of the README paragraph that starts with ``heading`` (up to the next one)."""
    section = README.read_text(encoding="utf-8").split(heading, 1)[1].split("\n**", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_onnx_export_runs_without_warnings_from_structconv(tmp_path: Path, monkeypatch) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    (block,) = _readme_blocks("**ONNX.**")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(block, str(README), "exec"), namespace)
    ours = [f"{w.category.__name__} {w.filename}:{w.lineno}: {w.message}" for w in caught if str(SRC) in w.filename]
    assert not ours, ours
    x = torch.randn(3, 1, 29, 29)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = namespace["plain"](x).numpy()
    np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], want, rtol=1e-4, atol=1e-5)


class _OnTensors(torch.nn.Module):
    """A live module on plain tensors (``torch.jit.trace`` takes tensors); the structure of the inputs is
    rebuilt from the flat list."""

    def __init__(self, case: Case) -> None:
        super().__init__()
        self.module, self.types, self.template = case.module, case.types, case.inputs

    def forward(self, *flat: torch.Tensor) -> Any:
        it = iter(flat)
        inputs = _map(lambda _: next(it), self.template)
        return tuple(_leaves(_call(self.module, inputs, self.types)))


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("cls,cid", FIRST_CASES, ids=[c for c, _ in FIRST_CASES])
def test_jit_trace_follows_the_parameters(cls: str, cid: str, mode: str) -> None:
    """``torch.jit.trace`` of every public module (live, not exported), in both modes: it passes the tracer's
    own check (a second run gives the same graph: no cached state decides what the graph holds), gives the
    eager output, and still follows the parameters and buffers after they change in place."""
    case = _build(cls, cid)
    module = case.module.train(mode == "train")
    flat = _leaves(case.inputs)
    wrapped = _OnTensors(case)

    tensors = list(module.parameters()) + list(module.buffers())

    def same(seed: int) -> None:
        """The traced and the eager run from the same state (a training forward may update running
        statistics that the next output depends on) with the same random draws (dropout)."""
        before = [t.clone() for t in tensors]
        torch.manual_seed(seed)
        got = traced(*flat)
        for t, b in zip(tensors, before):
            t.copy_(b)
        torch.manual_seed(seed)
        torch.testing.assert_close(got, wrapped(*flat), rtol=1e-5, atol=1e-5)

    with torch.no_grad():
        wrapped(*flat)  # whatever a first eager forward may cache
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # the tracer's check runs the module again without re-seeding: random draws (dropout) differ
            random = mode == "train" and any("Dropout" in type(m).__name__ for m in module.modules())
            traced = torch.jit.trace(wrapped, tuple(flat), check_trace=not random)
        same(0)
        for t in tensors:
            if t.is_floating_point():
                t.mul_(1.5).add_(0.25)
        same(1)


@pytest.mark.parametrize("cls,cid", FIRST_CASES, ids=[c for c, _ in FIRST_CASES])
def test_builds_under_a_meta_device_context(cls: str, cid: str) -> None:
    """Every public module built inside ``with torch.device("meta")`` (how large models are built without
    allocating them) holds all its parameters and buffers on the meta device; after ``to_empty(device="cpu")``
    and loading the state dict of the same module built normally, it gives that module's output."""
    torch.manual_seed(0)
    ref = dict(CASES[cls])[cid]()
    with torch.device("meta"):
        torch.manual_seed(0)
        meta = dict(CASES[cls])[cid]()
    tensors = list(meta.module.parameters()) + list(meta.module.buffers())
    assert {t.device.type for t in tensors} <= {"meta"}, [
        n for n, t in [*meta.module.named_parameters(), *meta.module.named_buffers()] if t.device.type != "meta"
    ]
    real = meta.module.to_empty(device="cpu")
    real.load_state_dict(ref.module.state_dict())
    real.eval()
    ref.module.eval()
    with torch.no_grad():
        got, want = _call(real, ref.inputs, ref.types), _call(ref.module, ref.inputs, ref.types)
    diff, scale = _max_diff(got, want)
    assert diff <= 1e-6 * max(1.0, scale), f"{cls}: max |meta-built - built| = {diff:.3g}"


@pytest.mark.parametrize("cls,cid", ALL_CASES, ids=[f"{c}-{i}" for c, i in ALL_CASES])
def test_functional_call_on_a_meta_copy_is_right_or_raises(cls: str, cid: str) -> None:
    """``torch.func.functional_call(copy.deepcopy(module).to("meta"), state_dict, x)`` (PyTorch's
    ensembling recipe) replaces the parameters and persistent buffers only; the tensors a module builds for
    itself stay on the meta device, and PyTorch computes some operations mixing them with real data (an
    index on meta) into uninitialised memory. Every public module gives the module's own output there or
    raises, naming the tensors and the way out (before: 42 of the cases returned garbage silently). A meta
    module still runs on a meta input (shape inference)."""
    import copy

    from torch.func import functional_call

    case = _build(cls, cid)
    module = case.module.eval()
    with torch.no_grad():
        want = _call(module, case.inputs, case.types)
    meta = copy.deepcopy(module).to("meta")
    args = case.inputs if case.types is None else _geometric(case.inputs, case.types)
    args = args if isinstance(args, tuple) else (args,)
    if isinstance(meta, torch.nn.ModuleList):
        pytest.skip("a ModuleList is not callable")
    try:
        with torch.no_grad():
            got = _plain_out(functional_call(meta, dict(module.state_dict()), args))
    except RuntimeError as err:
        assert "on the meta device" in str(err) and "to_empty" in str(err), err
    else:
        diff, scale = _max_diff(got, want)
        assert diff <= 1e-5 * max(1.0, scale), f"{cls}: silently wrong by {diff:.3g}"
    meta_args = _map(lambda t: t.to("meta"), case.inputs)
    with torch.no_grad():
        out = _call(meta, meta_args, case.types)
    assert all(t.device.type == "meta" for t in _leaves(out))


def test_meta_tensors_reached_by_other_routes_raise() -> None:
    """The check covers a submodule moved to meta alone or swapped in, and the public basis expansions
    called through functional_call on a meta copy (their gather indices are not in the state dict)."""
    import copy

    from torch.func import functional_call

    gs = _gs("C8")
    t = FieldType(gs, [gs.regular_repr] * 2)
    conv = snn.R2Conv(t, t, 3)
    x = GeometricTensor(torch.randn(1, t.size, 7, 7), t)
    moved = copy.deepcopy(conv)
    moved._basisexpansion.to("meta")
    swapped = copy.deepcopy(conv)
    swapped._basisexpansion = copy.deepcopy(conv._basisexpansion).to("meta")
    for module in (moved, swapped):
        with pytest.raises(RuntimeError, match="on the meta device"):
            functional_call(module, conv.state_dict(), (x,))
    expansion = conv._basisexpansion
    for block in (expansion, next(iter(expansion._pair_modules.values()))):
        weights = torch.randn(block.dimension())
        with pytest.raises(RuntimeError, match="on the meta device"):
            functional_call(copy.deepcopy(block).to("meta"), block.state_dict(), (weights,))


def _fixed(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The fixed (non-persistent, derived) tensors of every submodule: buffers and structure attributes."""
    out = {}
    for prefix, m in module.named_modules():
        names = [n for n in m._buffers if n in m._non_persistent_buffers_set and m._buffers[n] is not None]
        names += [n for n in m.__dict__.get("_structure_names", ()) if isinstance(m.__dict__.get(n), torch.Tensor)]
        for n in names:
            out[f"{prefix}.{n}"] = getattr(m, n).detach().clone()
    return out


@pytest.mark.parametrize("cls,cid", FIRST_CASES, ids=[c for c, _ in FIRST_CASES])
def test_fixed_tensors_survive_to_empty_low_precision_and_pickling(cls: str, cid: str) -> None:
    """The derived tensors of every module (indices, masks, changes of basis) come back exact after
    ``to_empty``, after a round trip through half precision, and in an unpickled copy."""
    case = _build(cls, cid)
    module = case.module
    want = _fixed(module)
    with torch.device("meta"):
        torch.manual_seed(0)
        meta = dict(CASES[cls])[cid]().module
    for route in ("to_empty", "half", "pickle", "half-copy", "meta-copy", "meta-pickle"):
        m = copy.deepcopy(module)
        if route == "to_empty":
            m = m.to_empty(device="cpu")
        elif route == "half":
            m = m.half().float()
        elif route == "pickle":
            m = pickle.loads(pickle.dumps(m))
        elif route == "half-copy":  # a copy of a rounded module still knows the exact values
            m = pickle.loads(pickle.dumps(copy.deepcopy(m.half()))).float()
        elif route == "meta-copy":  # a copy of a meta-built module too
            m = copy.deepcopy(meta).to_empty(device="cpu")
        else:
            m = pickle.loads(pickle.dumps(meta)).to_empty(device="cpu")
        got = _fixed(m)
        assert got.keys() == want.keys(), route
        for k in want:  # exact, or rounded once to the dtype the cast asked for (float64 -> float32)
            assert torch.equal(got[k], want[k].to(got[k].dtype)), (route, k)
            if not route.startswith("half") or not want[k].is_floating_point():
                assert got[k].dtype == want[k].dtype, (route, k)


class _Scaled(snn.EquivariantModule):
    """A user module with a non-persistent buffer that it changes after ``__init__`` (its own state)."""

    def __init__(self, t: FieldType) -> None:
        super().__init__()
        self.in_type = self.out_type = t
        self.register_buffer("scale", torch.ones(t.size), persistent=False)

    def forward(self, x: GeometricTensor) -> GeometricTensor:
        return GeometricTensor(x.tensor * self.scale.view(1, -1, 1, 1), self.out_type)

    def evaluate_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape


class _Mixin:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("extra", torch.arange(4) * 1.5, persistent=False)


class _MixedBatchNorm(_Mixin, snn.InnerBatchNorm):
    pass


def test_fixed_tensors_changed_after_init_are_the_users_state() -> None:
    """Only untouched fixed tensors are put back: one written or replaced after ``__init__`` keeps its value
    through ``to`` / ``float`` / ``cpu``, and ``share_memory`` shares them."""
    t = FieldType(_gs("C4"), [_gs("C4").regular_repr] * 2)
    m = _Scaled(t)
    m.scale.fill_(3.0)
    m.to(torch.float32).cpu().float()
    assert m.scale.tolist() == [3.0] * 8
    m.scale = torch.full((8,), 5.0)
    m.double()
    assert m.scale.tolist() == [5.0] * 8 and m.scale.dtype == torch.float64
    mask = snn.MaskModule(t, 9, margin=1)
    mask.mask.zero_()
    mask.to("cpu").float()
    assert float(mask.mask.sum()) == 0.0
    bn = snn.InnerBatchNorm(t).share_memory()
    assert bn._field_of_channel.is_shared()
    # writes that bypass the version counter (.data, numpy) are the user's too, and so are they in copies
    for write in ("data", "numpy", "inplace"):
        mask = snn.MaskModule(t, 9, margin=1)
        if write == "data":
            mask.mask.data.zero_()
        elif write == "numpy":
            mask.mask.numpy()[:] = 0
        else:
            mask.mask.zero_()
        for m in (mask, copy.deepcopy(mask), pickle.loads(pickle.dumps(mask))):
            assert float(m.double().mask.abs().max()) == 0.0, write
    # an in-place copy of the same values (AveragedModel(use_buffers=True)) keeps them exact
    mask = snn.MaskModule(t, 9, margin=1)
    exact = mask.mask.clone()
    avg = torch.optim.swa_utils.AveragedModel(mask, use_buffers=True)
    avg.update_parameters(mask)
    assert torch.equal(avg.module.half().float().mask, exact)
    # a mixin that registers a buffer after the module's own __init__ (first in the bases) is covered
    with torch.device("meta"):
        mixed = _MixedBatchNorm(t)
    assert mixed.extra.device.type == "meta"
    assert mixed.to_empty(device="cpu").extra.tolist() == [0.0, 1.5, 3.0, 4.5]


def test_modules_build_copy_and_cast_under_inference_mode() -> None:
    """Inference tensors have no version counter: building, casting, to_empty, copying and loading modules
    inside ``torch.inference_mode()`` work (serving code builds and loads models there)."""
    import io

    t = FieldType(_gs("C4"), [_gs("C4").regular_repr] * 2)
    x = torch.randn(1, t.size, 9, 9)
    net = snn.SequentialModule(snn.R2Conv(t, t, 3, padding=1), snn.InnerBatchNorm(t), snn.MaskModule(t, 9))
    net.eval()
    want = net(GeometricTensor(x, t)).tensor.detach()
    buf = io.BytesIO()
    torch.save(net, buf)
    with torch.inference_mode():
        built = snn.SequentialModule(snn.InnerBatchNorm(t), snn.MaskModule(t, 9, margin=1)).half().float()
        assert built(GeometricTensor(x, t)).tensor.isfinite().all()
        copied = copy.deepcopy(net).half().float().double().float()
        buf.seek(0)
        loaded = torch.load(buf, weights_only=False)
        for m in (copied, loaded):
            torch.testing.assert_close(m(GeometricTensor(x, t)).tensor, want, rtol=2e-3, atol=2e-3)
        with torch.device("meta"):
            meta = snn.InnerBatchNorm(t)
        meta.to_empty(device="cpu")
        assert meta._field_of_channel[:8].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
