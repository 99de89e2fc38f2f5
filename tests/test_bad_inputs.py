"""Bad inputs across the public API: every one raises a clear error (type, argument, value, what is accepted).

One table, one row per bad input: ``(family, id, thunk, exception type, regex of the message's words)``.
``construction`` rows fail when the object is built; ``call`` rows when a method is called with a bad
argument (``evaluate_output_shape``, ``assert_equivariant``, a size-guarded property).
"""

from __future__ import annotations

import collections
import functools
import math
import re

import numpy as np
import pytest
import torch

import structconv
from structconv import constraints as C
from structconv import gspaces
from structconv import nn as snn
from structconv.compat import elektronn3 as e3
from structconv.compat import lucid, selfeeg
from structconv.kernels import kernel_grid, real_spherical_harmonics
from structconv.nn.conv.basisexpansion import BlocksBasisExpansion as BBE
from structconv.nn.conv.basisexpansion import SingleBlockBasisExpansion as SBBE
from structconv.nn.conv.basisexpansion import r2_kernel_basis
from structconv.testing import assert_equivariant

GS = gspaces.Rot2dOnR2(4)
REG = snn.FieldType(GS, [GS.regular_repr] * 2)
VEC = snn.FieldType(GS, [GS.irrep(1)] * 2)
TRIV = snn.FieldType(GS, [GS.trivial_repr])
NAN = float("nan")

CONV = [snn.ConstrainedConv1d, snn.ConstrainedConv2d, snn.ConstrainedConv3d]
TCONV = [snn.ConstrainedConvTranspose1d, snn.ConstrainedConvTranspose2d, snn.ConstrainedConvTranspose3d]
WS = [snn.WSConv1d, snn.WSConv2d, snn.WSConv3d]
WST = [snn.WSConvTranspose1d, snn.WSConvTranspose2d, snn.WSConvTranspose3d]

ROWS: list[tuple[str, str, str, object, type, str]] = []


def _pair_basis():
    return r2_kernel_basis(GS.regular_repr, GS.regular_repr, kernel_size=3)


def row(family: str, name: str, thunk, exc: type, words: str, when: str = "construction") -> None:
    ROWS.append((family, name, when, thunk, exc, words))


# ---------------------------------------------------------------------------------- constrained layers
ARG = "is not accepted; expected"
for cls in CONV + TCONV:
    n = cls.__name__
    row(
        "constrained",
        f"{n}-kernel0",
        lambda c=cls: c(3, 4, 0),
        ValueError,
        rf"{n}: kernel_size=0 {ARG} an int >= 1",
    )
    row(
        "constrained", f"{n}-stride0", lambda c=cls: c(3, 4, 3, stride=0), ValueError, rf"{n}: stride=0 {ARG}"
    )
    row(
        "constrained",
        f"{n}-dilation0",
        lambda c=cls: c(3, 4, 3, dilation=0),
        ValueError,
        rf"dilation=0 {ARG}",
    )
    row(
        "constrained",
        f"{n}-padding-1",
        lambda c=cls: c(3, 4, 3, padding=-1),
        ValueError,
        rf"padding=-1 {ARG}",
    )
    row("constrained", f"{n}-kernel'3'", lambda c=cls: c(3, 4, "3"), TypeError, rf"kernel_size='3' {ARG}")
    row("constrained", f"{n}-kernel3.5", lambda c=cls: c(3, 4, 3.5), TypeError, rf"kernel_size=3.5 {ARG}")
    row("constrained", f"{n}-kernel-1", lambda c=cls: c(3, 4, -1), ValueError, rf"kernel_size=-1 {ARG}")
    row(
        "constrained",
        f"{n}-in'3'",
        lambda c=cls: c("3", 4, 3),
        TypeError,
        rf"in_channels='3' {ARG} a positive",
    )
    row(
        "constrained",
        f"{n}-bias-yes",
        lambda c=cls: c(3, 4, 3, bias="yes"),
        TypeError,
        r"bias='yes' .*True or False",
    )
    row(
        "constrained",
        f"{n}-int64",
        lambda c=cls: c(3, 4, 3, dtype=torch.int64),
        TypeError,
        r"dtype=torch.int64 .*floating",
    )
    row(
        "constrained",
        f"{n}-groups",
        lambda c=cls: c(3, 4, 3, groups=2),
        ValueError,
        r"in_channels=3 is not divisible by groups=2",
    )
    row(
        "constrained",
        f"{n}-padding_mode",
        lambda c=cls: c(3, 4, 3, padding_mode="mirror"),
        ValueError,
        r"padding_mode='mirror' .*zeros",
    )
    row(
        "constrained",
        f"{n}-flatten",
        lambda c=cls: c(3, 4, 3, constraint=torch.nn.Flatten()),
        TypeError,
        r"constraint=Flatten.*weight's shape",
    )
    row(
        "constrained",
        f"{n}-bytes",
        lambda c=cls: c(3, 4, 3, constraint=b"nonneg"),
        TypeError,
        r"constraint=b'nonneg' .*as a str",
    )
    row(
        "constrained",
        f"{n}-name",
        lambda c=cls: c(3, 4, 3, constraint="nonnegative"),
        ValueError,
        r"constraint='nonnegative' is not known",
    )
    row(
        "constrained",
        f"{n}-enforce",
        lambda c=cls: c(3, 4, 3, enforce="later"),
        ValueError,
        rf"{n}: enforce='later' is not known; expected one of: forward, post_step, inplace",
    )
    row(
        "constrained",
        f"{n}-max_l2",
        lambda c=cls: c(3, 4, 3, constraint="max_l2"),
        ValueError,
        r"max_l2=None is not accepted",
    )
    row(
        "constrained",
        f"{n}-even-center",
        lambda c=cls: c(3, 4, 2, constraint="fixed_center"),
        ValueError,
        r"kernel size .* odd",
    )
for cls, size in zip(CONV + TCONV, [(3, 3), (3, 3, 3), (3, 3, 3, 3)] * 2):
    n = cls.__name__
    words = re.escape(f"kernel_size={size} {ARG}")
    row("constrained", f"{n}-kernel-len", lambda c=cls, s=size: c(3, 4, s), ValueError, words)
for cls in CONV + TCONV:
    n = cls.__name__
    row("constrained", f"{n}-device", lambda c=cls: c(3, 4, 3, device="nope"), ValueError,
        rf"{n}: device='nope' is not accepted; expected None, a torch.device")
    row("constrained", f"{n}-device-float", lambda c=cls: c(3, 4, 3, device=1.5), TypeError,
        rf"{n}: device=1.5 is not accepted")
    row("constrained", f"{n}-keras-rate", lambda c=cls: c(3, 4, 3, constraint="max_norm", rate=0.5),
        ValueError, r"rate=0.5 is not accepted with constraint='max_norm'; its arguments are: max_value, axis")
    row("constrained", f"{n}-keras-on-structural", lambda c=cls: c(3, 4, 3, constraint="zero_mean", max_value=1.0),
        ValueError, r"max_value=1.0 is not accepted with constraint='zero_mean'; it is an argument of the Keras")
    row("constrained", f"{n}-keras-nan", lambda c=cls: c(3, 4, 3, constraint="max_norm", max_value=NAN),
        ValueError, r"MaxNorm: max_value=nan is not accepted; expected a finite number > 0")
    row("constrained", f"{n}-call-form-nan", lambda c=cls: c(3, 4, 3, constraint="max_norm(max_value=nan)"),
        ValueError, r"MaxNorm: max_value=nan is not accepted; expected a finite number > 0")
    row("constrained", f"{n}-keras-axis", lambda c=cls: c(3, 4, 3, constraint="unit_norm", axis=7),
        ValueError, r"UnitNorm: axis=7 is out of range")
    row("constrained", f"{n}-zero-mean-1-tap", lambda c=cls: c(3, 4, 1, constraint="zero_mean"), ValueError,
        r"ZeroMean: kernel slices of size \(1(, 1)*,?\) are not accepted .*1 tap is identically 0")
for cls in TCONV:
    n = cls.__name__
    row(
        "constrained",
        f"{n}-output_padding",
        lambda c=cls: c(3, 4, 3, stride=2, output_padding=2),
        ValueError,
        r"output_padding=2 is not accepted with stride=2",
    )
    row(
        "constrained",
        f"{n}-padding-same",
        lambda c=cls: c(3, 4, 3, padding="same"),
        TypeError,
        rf"{n}: padding='same' {ARG} an int >= 0",
    )
row(
    "constrained",
    "ConstrainedLinear-zero-in",
    lambda: snn.ConstrainedLinear(0, 3, constraint="sum_to_one"),
    ValueError,
    r"in_features=0 .*int >= 1",
)
row(
    "constrained",
    "ConstrainedLinear-out'3'",
    lambda: snn.ConstrainedLinear(3, "3"),
    TypeError,
    r"out_features='3'",
)
row(
    "constrained",
    "ConstrainedLinear-bias",
    lambda: snn.ConstrainedLinear(3, 3, bias="yes"),
    TypeError,
    r"bias='yes'",
)
row(
    "constrained",
    "ConstrainedLinear-int64",
    lambda: snn.ConstrainedLinear(3, 3, dtype=torch.int64),
    TypeError,
    r"dtype=torch.int64",
)
row("constrained", "ConstrainedLinear-device", lambda: snn.ConstrainedLinear(3, 3, device="nope"), ValueError,
    r"ConstrainedLinear: device='nope' is not accepted")
row("constrained", "ConstrainedLinear-keras", lambda: snn.ConstrainedLinear(3, 3, constraint="min_max_norm", rate=2.0),
    ValueError, r"MinMaxNorm: rate=2.0 is not accepted")
row("constrained", "ConstrainedLinear-zero-mean-1", lambda: snn.ConstrainedLinear(1, 3, constraint="zero_mean"),
    ValueError, r"ZeroMean: kernel slices of size \(1,\)")
row("constrained", "ConstrainedSeparableConv2d-device", lambda: snn.ConstrainedSeparableConv2d(3, 6, 3, device="nope"),
    ValueError, r"ConstrainedSeparableConv2d: device='nope' is not accepted")
row("constrained", "ConstrainedSeparableConv2d-depth", lambda: snn.ConstrainedSeparableConv2d(3, 6, 3, depth_multiplier=0),
    ValueError, r"ConstrainedSeparableConv2d: depth_multiplier=0 is not accepted; expected an int >= 1")
row("constrained", "ConstrainedSeparableConv2d-enforce", lambda: snn.ConstrainedSeparableConv2d(3, 6, 3, enforce="x"),
    ValueError, r"ConstrainedSeparableConv2d: enforce='x' is not known")
row("constrained", "constrain-zero-mean-1-tap", lambda: structconv.constrain(torch.nn.Conv2d(3, 4, 1), "zero_mean"),
    ValueError, r"ZeroMean: kernel slices of size \(1, 1\)")
row("constrained", "constrain-keras", lambda: structconv.constrain(torch.nn.Conv2d(3, 4, 3), "max_norm", max_value=-1.0),
    ValueError, r"MaxNorm: max_value=-1.0 is not accepted; expected a finite number > 0")
row(
    "constrained",
    "ConstrainedSeparableConv2d-kernel0",
    lambda: snn.ConstrainedSeparableConv2d(3, 6, 0),
    ValueError,
    r"kernel_size=0",
)
row(
    "constrained",
    "ConstrainedSeparableConv2d-stride0",
    lambda: snn.ConstrainedSeparableConv2d(3, 6, 3, stride=0),
    ValueError,
    r"stride=0",
)

# ------------------------------------------------------------------------------ weight-standardized layers
for cls in WS + WST:
    n = cls.__name__
    row("ws", f"{n}-in'3'", lambda c=cls: c("3", 8, 3), TypeError, rf"{n}: in_channels='3' {ARG} a positive")
    row("ws", f"{n}-kernel0", lambda c=cls: c(3, 8, 0), ValueError, rf"{n}: kernel_size=0 {ARG}")
    row("ws", f"{n}-stride0", lambda c=cls: c(3, 8, 3, stride=0), ValueError, rf"{n}: stride=0 {ARG}")
    row("ws", f"{n}-padding-1", lambda c=cls: c(3, 8, 3, padding=-1), ValueError, rf"{n}: padding=-1 {ARG}")
    row("ws", f"{n}-bias", lambda c=cls: c(3, 8, 3, bias="yes"), TypeError, rf"{n}: bias='yes'")
    row(
        "ws", f"{n}-int64", lambda c=cls: c(3, 8, 3, dtype=torch.int64), TypeError, rf"{n}: dtype=torch.int64"
    )
    row(
        "ws",
        f"{n}-one-weight",
        lambda c=cls: c(1, 4, 1),
        ValueError,
        rf"{n}: .*filters of 1 weight.*no variance",
    )
    row("ws", f"{n}-unknown-kwarg", lambda c=cls: c(3, 8, 3, strides=2), TypeError, rf"{n}: .*'strides'")
for cls in WST:
    n = cls.__name__
    row(
        "ws",
        f"{n}-output_padding",
        lambda c=cls: c(3, 8, 3, stride=1, output_padding=1),
        ValueError,
        r"output_padding=1 is not accepted with stride=1",
    )
for cls in WS + WST:
    n = cls.__name__
    row("ws", f"{n}-device", lambda c=cls: c(3, 8, 3, device="nope"), ValueError,
        rf"{n}: device='nope' is not accepted")
    shape = (1, 3) + (5,) * int(n[-2])
    for bad, exc in (("x", TypeError), (-1.0, ValueError), (NAN, ValueError)):
        row("ws", f"{n}-forward-eps-{bad}", lambda c=cls, b=bad, sh=shape: c(3, 8, 3)(torch.randn(sh), eps=b), exc,
            rf"{n}: eps={bad!r} is not accepted; expected a finite number > 0", "call")
    row("ws", f"{n}-export-eps", lambda c=cls: c(3, 8, 3).export(eps=0.0), ValueError,
        rf"{n}: eps=0.0 is not accepted; expected a finite number > 0", "call")
row("ws", "FWS-str", lambda: snn.FWS("conv"), TypeError, r"layer='conv' has type str")
row(
    "ws",
    "FWS-eps",
    lambda: snn.FWS(torch.nn.Conv2d(3, 4, 3), eps=-1),
    ValueError,
    r"FWS: eps=-1 is not accepted; expected a finite number > 0",
)
row(
    "ws",
    "FWS-one-weight",
    lambda: snn.FWS(torch.nn.Conv2d(1, 4, 1)),
    ValueError,
    r"FWS: .*filters of 1 weight",
)
row("ws", "FWS-no-weight", lambda: snn.FWS(torch.nn.ReLU()), TypeError, r"has no 'weight'")

# -------------------------------------------------------------------------------------------- constraints
row(
    "constraints",
    "Compose-name",
    lambda: C.Compose("nonneg"),
    TypeError,
    r"Compose: constraint 'nonneg' is a name, not a module",
)
row("constraints", "Compose-int", lambda: C.Compose(3), TypeError, r"Compose: constraint 3 is not accepted")
row("constraints", "Compose-empty", lambda: C.Compose(), ValueError, r"Compose: no constraint given")
row(
    "constraints",
    "make_constraint-bytes",
    lambda: C.make_constraint(b"nonneg"),
    TypeError,
    r"constraint=b'nonneg' .*as a str",
)
row(
    "constraints",
    "make_constraint-int",
    lambda: C.make_constraint(3),
    TypeError,
    r"constraint=3 is not accepted",
)
row(
    "constraints",
    "NonNeg-dims",
    lambda: C.NonNeg(dims="x"),
    TypeError,
    r"NonNeg: dims='x' contains 'x'; expected ints",
)
row(
    "constraints",
    "SumToOne-eps",
    lambda: C.SumToOne(eps=-1),
    ValueError,
    r"SumToOne: eps=-1 is not accepted; expected a finite number >= 0",
)
row("constraints", "ZeroMean-dims", lambda: C.ZeroMean(dims=1.5), TypeError, r"ZeroMean: dims=1.5")
row(
    "constraints",
    "NonNegSumToOne-eps",
    lambda: C.NonNegSumToOne(eps=NAN),
    ValueError,
    r"NonNegSumToOne: eps=nan is not accepted; expected a finite number >= 0",
)
row(
    "constraints",
    "UnitL2-dims-repeat",
    lambda: C.UnitL2(dims=[1, 1]),
    ValueError,
    r"UnitL2: dims=\[1, 1\] repeats a dimension",
)
row(
    "constraints",
    "MaxL2-negative",
    lambda: C.MaxL2(-1.0),
    ValueError,
    r"MaxL2: max_l2=-1.0 is not accepted; expected a finite number > 0",
)
row("constraints", "MaxL2-none", lambda: C.MaxL2(None), ValueError, r"MaxL2: max_l2=None")
row(
    "constraints",
    "FixedCenter-nan",
    lambda: C.FixedCenter(center_value=NAN),
    ValueError,
    r"FixedCenter: center_value=nan is not accepted; expected a finite number",
)
row(
    "constraints",
    "MaxNorm-zero",
    lambda: C.MaxNorm(0),
    ValueError,
    r"MaxNorm: max_value=0 is not accepted; expected a finite number > 0",
)
row(
    "constraints",
    "MinMaxNorm-order",
    lambda: C.MinMaxNorm(2.0, 1.0),
    ValueError,
    r"min_value=2.0 > max_value=1.0",
)
row("constraints", "MinMaxNorm-rate", lambda: C.MinMaxNorm(rate=2.0), ValueError, r"rate=2.0 .*\(0, 1\]")
row("constraints", "UnitNorm-axis", lambda: C.UnitNorm(axis="a"), TypeError, r"UnitNorm: axis='a'")
row(
    "constraints",
    "WeightStandardization-eps",
    lambda: C.WeightStandardization(eps=0.0),
    ValueError,
    r"WeightStandardization: eps=0.0 is not accepted; expected a finite number > 0",
)
row(
    "constraints",
    "WeightStandardization-channel_dim",
    lambda: C.WeightStandardization(channel_dim=2),
    ValueError,
    r"channel_dim=2",
)
row(
    "constraints",
    "ScaledWeightStandardization-filters",
    lambda: C.ScaledWeightStandardization(0),
    ValueError,
    r"num_filters=0",
)
row(
    "constraints",
    "ScaledWeightStandardization-fan_in",
    lambda: C.ScaledWeightStandardization(4, fan_in=0),
    ValueError,
    r"fan_in=0",
)
row(
    "constraints",
    "NoConstraint-dims-empty",
    lambda: C.NoConstraint(dims=[]),
    ValueError,
    r"dims=\[\] is empty",
)
row("constraints", "StructuralConstraint-eps", lambda: C.StructuralConstraint(eps="x"), TypeError, r"eps='x'")
row("constraints", "NormConstraint-eps", lambda: C.NormConstraint(eps=-1.0), ValueError, r"eps=-1.0")
row(
    "constraints",
    "KernelConstraint-check",
    lambda: C.UnitL2(dims=5).check((4, 3)),
    ValueError,
    r"dims=5 is out of range",
    "call",
)

for text, exc, words in [
    ("max_norm(max_value=nan)", ValueError, r"MaxNorm: max_value=nan is not accepted; expected a finite number > 0"),
    ("max_norm(max_value=-inf)", ValueError, r"MaxNorm: max_value=-inf is not accepted"),
    ("max_norm(max_value=foo)", ValueError, r"constraint='max_norm\(max_value=foo\)': foo is not a literal value"),
    ("max_norm(2.0)", ValueError, r"a name takes its arguments by keyword; expected max_norm\(argument=value"),
    ("MaxL2()", TypeError, r"constraint='MaxL2\(\)': missing a required argument: 'max_l2'"),
    ("MaxNorm(maxvalue=1)", TypeError, r"unexpected keyword argument 'maxvalue'.*expected the arguments of MaxNorm"),
    ("os.system('ls')", ValueError, r"os.system\(...\) is not a constraint"),
    ("__import__('os')", ValueError, r"'__import__' is not known"),
    ("scaled_weight_standardization", ValueError, r"needs num_filters; expected scaled_weight_standardization\(num_filters="),
    ("nonnegative", ValueError, r"constraint='nonnegative' is not known; expected one of: .* \(did you mean"),
    ("max_norm(max_value=1", ValueError, r"cannot be read"),
    ("weight_standardization(eps=0)", ValueError, r"WeightStandardization: eps=0 is not accepted"),
    ("zero_mean(max_value=1.0)", ValueError, r"max_value=1.0 is not accepted with constraint='zero_mean'"),
    ("Compose(ZeroMean(), 3)", TypeError, r"Compose: constraint 3 is not accepted"),
]:
    row("constraints", f"make_constraint-{text}", lambda t=text: C.make_constraint(t), exc, words)
row("constraints", "ScaledWeightStandardization-gain", lambda: C.ScaledWeightStandardization(4, learnable_gain="yes"),
    TypeError, r"ScaledWeightStandardization: learnable_gain='yes' is not accepted; expected True or False")
row("constraints", "ScaledWeightStandardization-filters-float", lambda: C.ScaledWeightStandardization(4.0),
    TypeError, r"ScaledWeightStandardization: num_filters=4.0 is not accepted; expected an int >= 1")
row("constraints", "WeightStandardization-groups", lambda: C.WeightStandardization(channel_dim=1, groups="2"),
    TypeError, r"WeightStandardization: groups='2' is not accepted; expected an int >= 1")
row("constraints", "weight_standardize-eps", lambda: C.weight_standardize(torch.ones(2, 3), eps=-1.0), ValueError,
    r"weight_standardize: eps=-1.0 is not accepted", "call")
row("constraints", "MinMaxNorm-nan", lambda: C.MinMaxNorm(min_value=NAN), ValueError,
    r"MinMaxNorm: min_value=nan is not accepted; expected a finite number")
row("constraints", "MaxNorm-str", lambda: C.MaxNorm("2"), TypeError,
    r"MaxNorm: max_value='2' is not accepted; expected a finite number > 0")
row("constraints", "ZeroMean-check-1-tap", lambda: C.ZeroMean().check((4, 3, 1, 1)), ValueError,
    r"ZeroMean: kernel slices of size \(1, 1\)", "call")

# ------------------------------------------------------------------------------------ steerable convolutions
row(
    "steerable",
    "R2Conv-cutoff-nan",
    lambda: snn.R2Conv(REG, REG, 3, frequencies_cutoff=NAN),
    ValueError,
    r"R2Conv: frequencies_cutoff=nan .*finite number >= 0",
)
row(
    "steerable",
    "R2Conv-cutoff-neg",
    lambda: snn.R2Conv(REG, REG, 3, frequencies_cutoff=-1),
    ValueError,
    r"R2Conv: frequencies_cutoff=-1 ",
)
row(
    "steerable",
    "R2Conv-kernel101",
    lambda: snn.R2Conv(REG, REG, 101),
    ValueError,
    r"kernel_size=101 is above the limit of \d+",
)
row(
    "steerable",
    "R2Conv-kernel0",
    lambda: snn.R2Conv(REG, REG, 0),
    ValueError,
    r"R2Conv: kernel_size=0 .*int >= 1",
)
row("steerable", "R2Conv-kernel'3'", lambda: snn.R2Conv(REG, REG, "3"), TypeError, r"R2Conv: kernel_size='3'")
row(
    "steerable",
    "R2Conv-bias1",
    lambda: snn.R2Conv(REG, REG, 3, bias=1),
    TypeError,
    r"R2Conv: bias=1 .*True or False",
)
row("steerable", "R2Conv-stride0", lambda: snn.R2Conv(REG, REG, 3, stride=0), ValueError, r"R2Conv: stride=0")
row(
    "steerable",
    "R2Conv-padding-1",
    lambda: snn.R2Conv(REG, REG, 3, padding=-1),
    ValueError,
    r"R2Conv: padding=-1",
)
row(
    "steerable",
    "R2Conv-dilation0",
    lambda: snn.R2Conv(REG, REG, 3, dilation=0),
    ValueError,
    r"R2Conv: dilation=0",
)
row(
    "steerable",
    "R2Conv-sigma0",
    lambda: snn.R2Conv(REG, REG, 3, sigma=0.0),
    ValueError,
    r"R2Conv: sigma=0.0 ",
)
row(
    "steerable",
    "R2Conv-rings-inf",
    lambda: snn.R2Conv(REG, REG, 3, rings=[0.0, math.inf]),
    ValueError,
    r"R2Conv: rings=",
)
row(
    "steerable",
    "R2Conv-offset",
    lambda: snn.R2Conv(REG, REG, 3, maximum_offset=-1),
    ValueError,
    r"maximum_offset=-1",
)
row(
    "steerable",
    "R2Conv-in_type",
    lambda: snn.R2Conv([GS.regular_repr], REG, 3),
    TypeError,
    r"in_type must be a structconv.nn.FieldType",
)
row(
    "steerable",
    "R2Conv-padding_mode",
    lambda: snn.R2Conv(REG, REG, 3, padding_mode="mirror"),
    ValueError,
    r"padding_mode='mirror'",
)
row(
    "steerable",
    "R2ConvTransposed-output_padding",
    lambda: snn.R2ConvTransposed(REG, REG, 3, stride=2, output_padding=2),
    ValueError,
    r"R2ConvTransposed: output_padding=2 is not accepted with stride=2 and dilation=1",
)
row(
    "steerable",
    "R2ConvTransposed-kernel0",
    lambda: snn.R2ConvTransposed(REG, REG, 0),
    ValueError,
    r"R2ConvTransposed: kernel_size=0",
)
row(
    "steerable",
    "R2ConvTransposed-cutoff",
    lambda: snn.R2ConvTransposed(REG, REG, 3, frequencies_cutoff=NAN),
    ValueError,
    r"frequencies_cutoff=nan",
)
row(
    "steerable",
    "R2Diffop-cache",
    lambda: snn.R2Diffop(REG, REG, kernel_size=3, cache="yes"),
    ValueError,
    r"cache='yes'",
)
row(
    "steerable",
    "R2Diffop-bias",
    lambda: snn.R2Diffop(REG, REG, kernel_size=3, bias="yes"),
    TypeError,
    r"R2Diffop: bias='yes'",
)
row(
    "steerable",
    "R2Diffop-stride0",
    lambda: snn.R2Diffop(REG, REG, kernel_size=3, stride=0),
    ValueError,
    r"R2Diffop: stride=0",
)
for cls in (snn.R2Conv, snn.R2ConvTransposed):
    n = cls.__name__
    row("steerable", f"{n}-initialize", lambda c=cls: c(REG, REG, 3, initialize="yes"), TypeError,
        rf"{n}: initialize='yes' is not accepted; expected True or False")
    row("steerable", f"{n}-recompute", lambda c=cls: c(REG, REG, 3, recompute=None), TypeError,
        rf"{n}: recompute=None is not accepted; expected True or False")
    row("steerable", f"{n}-basis_filter", lambda c=cls: c(REG, REG, 3, basis_filter=3), TypeError,
        rf"{n}: basis_filter=3 is not accepted; expected None or a callable")
    row("steerable", f"{n}-basisexpansion", lambda c=cls: c(REG, REG, 3, basisexpansion="dense"), ValueError,
        rf"{n}: basisexpansion='dense' is not known; expected one of: blocks")
    row("steerable", f"{n}-groups", lambda c=cls: c(REG, REG, 3, groups=3), ValueError,
        rf"{n}: groups=3 does not divide the 2 fields of in_type")
    row("steerable", f"{n}-out_type", lambda c=cls: c(REG, "x", 3), TypeError,
        rf"{n}: out_type must be a structconv.nn.FieldType; received str")
row("steerable", "R2Conv-padding-full", lambda: snn.R2Conv(REG, REG, 3, padding="full"), ValueError,
    r"R2Conv: padding='full' is not known")
row("steerable", "R2ConvTransposed-padding-same", lambda: snn.R2ConvTransposed(REG, REG, 3, padding="same"),
    ValueError, r"R2ConvTransposed: padding='same' is not valid for a transposed convolution")
for kwargs, exc, words in [
    ({"maximum_order": -1}, ValueError, r"R2Diffop: maximum_order=-1 is not accepted; expected an int >= 0 or None"),
    ({"maximum_order": 1.5}, TypeError, r"R2Diffop: maximum_order=1.5 is not accepted"),
    ({"accuracy": 0}, ValueError, r"R2Diffop: accuracy=0 is not accepted; expected an int >= 1 or None"),
    ({"maximum_power": -1}, ValueError, r"R2Diffop: maximum_power=-1 is not accepted"),
    ({"maximum_offset": "x"}, TypeError, r"R2Diffop: maximum_offset='x' is not accepted"),
    ({"rbffd": "yes"}, TypeError, r"R2Diffop: rbffd='yes' is not accepted; expected True or False"),
    ({"rbffd": True, "radial_basis_function": "tps"}, ValueError, r"R2Diffop: radial_basis_function='tps' is not known"),
    ({"smoothing": -1.0}, ValueError, r"R2Diffop: smoothing=-1.0 is not accepted; expected a finite number > 0"),
    ({"angle_offset": NAN}, ValueError, r"R2Diffop: angle_offset=nan is not accepted"),
    ({"initialize": "yes"}, TypeError, r"R2Diffop: initialize='yes' is not accepted"),
    ({"cache": "yes"}, ValueError, r"R2Diffop: cache='yes' is not known"),
    ({"kernel_size": 3, "maximum_order": 3}, ValueError, r"R2Diffop: maximum_order=3 cannot be discretised"),
]:
    row("steerable", f"R2Diffop-{'-'.join(map(str, kwargs.items()))}",
        lambda kw=kwargs: snn.R2Diffop(REG, REG, **({"kernel_size": 3} | kw) if "maximum_order" not in kw else kw),
        exc, words)
for name, thunk, exc, words in [
    ("in_type", lambda: BBE("x", REG, r2_kernel_basis, kernel_grid(3), kernel_size=3), TypeError,
     r"BlocksBasisExpansion: in_type must be a structconv.nn.FieldType; received str"),
    ("gspaces", lambda: BBE(REG, snn.FieldType(gspaces.Rot2dOnR2(8), [gspaces.Rot2dOnR2(8).regular_repr]),
                            r2_kernel_basis, kernel_grid(3), kernel_size=3), ValueError,
     r"BlocksBasisExpansion: in_type and out_type live on different gspaces"),
    ("generator", lambda: BBE(REG, REG, "r2", kernel_grid(3)), TypeError,
     r"BlocksBasisExpansion: basis_generator='r2' is not accepted; expected a callable"),
    ("points-shape", lambda: BBE(REG, REG, r2_kernel_basis, kernel_grid(3).T, kernel_size=3), ValueError,
     r"BlocksBasisExpansion: points of shape \(9, 2\) is not accepted; expected \(2, P\)"),
    ("points-nan", lambda: BBE(REG, REG, r2_kernel_basis, kernel_grid(3) * NAN, kernel_size=3), ValueError,
     r"BlocksBasisExpansion: points holds NaN"),
    ("points-str", lambda: BBE(REG, REG, r2_kernel_basis, "grid", kernel_size=3), TypeError,
     r"BlocksBasisExpansion: points='grid' is not accepted"),
    ("filter", lambda: BBE(REG, REG, r2_kernel_basis, kernel_grid(3), basis_filter="all", kernel_size=3), TypeError,
     r"BlocksBasisExpansion: basis_filter='all' is not accepted"),
    ("recompute", lambda: BBE(REG, REG, r2_kernel_basis, kernel_grid(3), recompute="no", kernel_size=3), TypeError,
     r"BlocksBasisExpansion: recompute='no' is not accepted; expected True or False"),
]:
    row("steerable", f"BlocksBasisExpansion-{name}", thunk, exc, words)
for name, thunk, exc, words in [
    ("basis", lambda: SBBE("basis", kernel_grid(3)), TypeError,
     r"SingleBlockBasisExpansion: basis='basis' is not accepted; expected a structconv.kernels.SteerableBasis"),
    ("points", lambda: SBBE(_pair_basis(), kernel_grid(5)), ValueError,
     r"SingleBlockBasisExpansion: points of shape \(2, 25\) is not accepted; expected \(2, 9\)"),
    ("filter", lambda: SBBE(_pair_basis(), kernel_grid(3), basis_filter=1), TypeError,
     r"SingleBlockBasisExpansion: basis_filter=1 is not accepted"),
]:
    row("steerable", f"SingleBlockBasisExpansion-{name}", thunk, exc, words)

row(
    "steerable",
    "R2Conv-output-shape",
    lambda: snn.R2Conv(REG, REG, 5).evaluate_output_shape((1, 8, 2, 2)),
    ValueError,
    r"input_shape=\(1, 8, 2, 2\) is too small",
    "call",
)

# ------------------------------------------------------------------------------ steerable convolutions on R^3
OCTA = gspaces.octaOnR3()
OREG = snn.FieldType(OCTA, [OCTA.regular_repr])
for cls in (snn.R3Conv, snn.R3ConvTransposed):
    n = cls.__name__
    row("steerable", f"{n}-kernel0", lambda c=cls: c(OREG, OREG, 0), ValueError,
        rf"{n}: kernel_size=0 is not accepted; expected an int >= 1")
    row("steerable", f"{n}-planar", lambda c=cls: c(REG, REG, 3), ValueError,
        rf"{n}: in_type lives on '4-Rotations', a gspace of dimensionality 2; {n} expects a gspace of "
        r"dimensionality 3")
    row("steerable", f"{n}-gspaces", lambda c=cls: c(OREG, REG, 3), ValueError,
        rf"{n}: in_type and out_type must share one gspace")
    row("steerable", f"{n}-stride0", lambda c=cls: c(OREG, OREG, 3, stride=0), ValueError,
        rf"{n}: stride=0 is not accepted; expected an int >= 1 or a tuple of 3 of them")
    row("steerable", f"{n}-out_type", lambda c=cls: c(OREG, "x", 3), TypeError,
        rf"{n}: out_type must be a structconv.nn.FieldType; received str")

# a callable frequencies_cutoff is checked where it is evaluated (ring by ring); a bias the layer cannot expand
# (set on a bias=False layer, or of another shape) is refused at the forward, for every steerable convolution
def _with_bias(c, t, bias, **kw):
    layer = c(t, t, 3, bias=bias is not None and kw.pop("built_with_bias", False), **kw)
    layer.bias = torch.nn.Parameter(bias)
    x = torch.randn(1, t.size, *([5] * t.gspace.dimensionality))
    return layer(snn.GeometricTensor(x, t))


for cls, t in ((snn.R2Conv, REG), (snn.R2ConvTransposed, REG), (snn.R3Conv, OREG), (snn.R3ConvTransposed, OREG)):
    n = cls.__name__
    for what, f, exc in (
        ("nan", lambda r: NAN, ValueError),
        ("inf", lambda r: float("inf"), ValueError),
        ("str", lambda r: "2", TypeError),
    ):
        row("steerable", f"{n}-cutoff-callable-{what}", lambda c=cls, t=t, f=f: c(t, t, 3, frequencies_cutoff=f), exc,
            r"frequencies_cutoff returned .* for the ring of radius 0\.0; expected a (finite|real) number")
# a cutoff beyond the spherical harmonics float64 computes (a finite group needs every degree): a clear error
for cls in (snn.R3Conv, snn.R3ConvTransposed):
    n = cls.__name__
    row("steerable", f"{n}-cutoff-degree", lambda c=cls: c(OREG, OREG, 3, frequencies_cutoff=lambda r: 1e300),
        ValueError, r"frequencies_cutoff gives 1e\+300 on the ring of radius 0\.0, which needs spherical harmonics "
        r"of degree 86; expected at most 85")
row("kernels", "real_spherical_harmonics-degree", lambda: real_spherical_harmonics(86, np.eye(3)), ValueError,
    r"degree=86 is not computed; expected at most 85", "call")
for cls, t in (
    (snn.R2Conv, REG), (snn.R2ConvTransposed, REG), (snn.R2Diffop, REG), (snn.R3Conv, OREG),
    (snn.R3ConvTransposed, OREG),
):
    n = cls.__name__
    row("steerable", f"{n}-bias-on-bias-free-layer", lambda c=cls, t=t: _with_bias(c, t, torch.ones(2)), RuntimeError,
        rf"{n}: a bias of shape \(2,\) was set on a layer built with bias=False, which has no bias expansion", "call")
    row("steerable", f"{n}-bias-shape", lambda c=cls, t=t: _with_bias(c, t, torch.ones(7), built_with_bias=True),
        RuntimeError, rf"{n}: a bias of shape \(7,\) was set; expected shape \(\d+,\)", "call")

# ----------------------------------------------------------------------------- equivariant modules (in_type)
IN_TYPE_MODULES = [
    snn.ConcatenatedNonLinearity,
    snn.ELU,
    snn.GatedNonLinearity1,
    snn.InducedGatedNonLinearity1,
    snn.InducedNormNonLinearity,
    snn.NormNonLinearity,
    snn.PointwiseNonLinearity,
    snn.ReLU,
    snn.VectorFieldNonLinearity,
    snn.GroupPooling,
    snn.InducedNormPool,
    snn.NormPool,
    snn.FieldDropout,
    snn.GNormBatchNorm,
    snn.InducedNormBatchNorm,
    snn.InnerBatchNorm,
    snn.NormBatchNorm,
    snn.PointwiseDropout,
    snn.DisentangleModule,
    snn.IdentityModule,
    snn.R2Upsampling,
]
for cls in IN_TYPE_MODULES:
    n = cls.__name__
    row(
        "modules",
        f"{n}-in_type",
        lambda c=cls: c("bad"),
        TypeError,
        rf"{n}: in_type must be a FieldType; received 'bad'",
    )
for cls in (snn.NormMaxPool, snn.PointwiseMaxPool, snn.PointwiseAvgPool, snn.PointwiseMaxPoolAntialiased):
    n = cls.__name__
    row("modules", f"{n}-in_type", lambda c=cls: c("bad", 2), TypeError, r"in_type")
    row("modules", f"{n}-kernel0", lambda c=cls: c(REG, 0), ValueError, r"kernel_size=0")
for cls in (snn.PointwiseAdaptiveAvgPool, snn.PointwiseAdaptiveMaxPool):
    row("modules", f"{cls.__name__}-size0", lambda c=cls: c(REG, 0), ValueError, r"output_size=0")
row(
    "modules",
    "PointwiseAvgPoolAntialiased-sigma",
    lambda: snn.PointwiseAvgPoolAntialiased(REG, sigma=-1.0, stride=1),
    ValueError,
    r"sigma=-1",
)
# poolings on R^3 and escnn's planar aliases (*2D: the planar classes); the gspace's dimension is checked
R3_POOLS = {
    "PointwiseMaxPool3D": "PointwiseMaxPool",
    "PointwiseMaxPoolAntialiased3D": "PointwiseMaxPoolAntialiased",
    "PointwiseAvgPool3D": "PointwiseAvgPool",
    "PointwiseAvgPoolAntialiased3D": "PointwiseAvgPoolAntialiased",
    "PointwiseAdaptiveAvgPool3D": "PointwiseAdaptiveAvgPool",
    "PointwiseAdaptiveMaxPool3D": "PointwiseAdaptiveMaxPool",
}
for n3, n2 in R3_POOLS.items():
    c3, alias = getattr(snn, n3), n2 + "2D"
    # good arguments after in_type: (sigma, stride), (kernel_size, stride) or (output_size,)
    args = (0.6, 2) if "AvgPoolAntialiased" in n3 else (2,) if "Adaptive" in n3 else (2, 2)
    row("modules", f"{n3}-in_type", lambda c=c3, a=args: c("bad", *a), TypeError,
        rf"{n3}: in_type must be a FieldType; received 'bad' of type str")
    row("modules", f"{n3}-planar", lambda c=c3, a=args: c(REG, *a), ValueError,
        rf"{n3}: in_type lives on the 2-D gspace '4-Rotations'; expected a gspace of space \(on R\^3\); "
        rf"for 2-D gspaces use {n2}$")
    assert getattr(snn, alias) is getattr(snn, n2)
    row("modules", f"{alias}-in_type", lambda n=alias, a=args: getattr(snn, n)("bad", *a), TypeError,
        rf"{n2}: in_type must be a FieldType; received 'bad'")
    row("modules", f"{alias}-volumetric", lambda n=alias, a=args: getattr(snn, n)(OREG, *a), ValueError,
        rf"{n2}: in_type lives on the 3-D gspace \"Octahedral_on_R3\[\(False, 'octa'\)\]\"; expected a planar "
        rf"gspace \(on R\^2\); for 3-D gspaces use {n3}$")
for n in ("PointwiseMaxPool3D", "PointwiseMaxPoolAntialiased3D", "PointwiseAvgPool3D"):
    row("modules", f"{n}-kernel0", lambda n=n: getattr(snn, n)(OREG, 0), ValueError,
        rf"{n}: kernel_size=0 is not accepted; expected integers >= 1")
for n in ("PointwiseAdaptiveAvgPool3D", "PointwiseAdaptiveMaxPool3D"):
    row("modules", f"{n}-size0", lambda n=n: getattr(snn, n)(OREG, 0), ValueError,
        rf"{n}: output_size=0 is not accepted; expected integers >= 1")
row("modules", "PointwiseAvgPoolAntialiased3D-sigma",
    lambda: snn.PointwiseAvgPoolAntialiased3D(OREG, sigma=-1.0, stride=1), ValueError,
    r"PointwiseAvgPoolAntialiased3D: sigma=-1.0 is not accepted; expected a finite float > 0")
# upsampling and IID batch norms on R^3 (and their planar counterparts' dimension check)
row("modules", "R3Upsampling-in_type", lambda: snn.R3Upsampling("bad", scale_factor=2), TypeError,
    r"R3Upsampling: in_type must be a FieldType; received 'bad'")
row("modules", "R3Upsampling-planar", lambda: snn.R3Upsampling(REG, scale_factor=2), ValueError,
    r"R3Upsampling: in_type lives on the 2-D gspace '4-Rotations'; .* for 2-D gspaces use R2Upsampling$")
row("modules", "R3Upsampling-mode", lambda: snn.R3Upsampling(OREG, scale_factor=2, mode="bilinear"), ValueError,
    r"R3Upsampling: mode='bilinear' is not supported; expected one of \('trilinear', 'nearest'\)")
row("modules", "R3Upsampling-no-size", lambda: snn.R3Upsampling(OREG), ValueError,
    r"R3Upsampling: scale_factor=None and size=None; expected exactly one of the two")
row("modules", "R2Upsampling-volumetric", lambda: snn.R2Upsampling(OREG, scale_factor=2), ValueError,
    r"R2Upsampling: in_type lives on the 3-D gspace .*; for 3-D gspaces use R3Upsampling$")
for cls, good, wrong, other in [
    (snn.IIDBatchNorm2d, REG, OREG, "IIDBatchNorm3d"),
    (snn.IIDBatchNorm3d, OREG, REG, "IIDBatchNorm2d"),
]:
    n = cls.__name__
    row("modules", f"{n}-in_type", lambda c=cls: c("bad"), TypeError,
        rf"{n}: in_type must be a FieldType; received 'bad'")
    row("modules", f"{n}-eps", lambda c=cls, t=good: c(t, eps=-1.0), ValueError,
        rf"{n}: eps=-1.0 is not accepted; expected a finite float >= 0")
    row("modules", f"{n}-momentum", lambda c=cls, t=good: c(t, momentum=2.0), ValueError,
        rf"{n}: momentum=2.0 is not accepted; expected a float in \[0, 1\] or None")
    row("modules", f"{n}-dimension", lambda c=cls, t=wrong: c(t), ValueError,
        rf"{n}: in_type lives on the [23]-D gspace .*; for [23]-D gspaces use {other}$")
# Fourier non-linearities
SO2_GS = gspaces.Rot2dOnR2(-1, maximum_frequency=3)
D4_GS = gspaces.FlipRot2dOnR2(4)
for cls in (snn.FourierPointwise, snn.FourierELU):
    n = cls.__name__
    row("modules", f"{n}-gspace", lambda c=cls: c("bad", 1, [(0,)], N=4), TypeError,
        rf"{n}: gspace='bad' is not accepted; expected a GSpace")
    row("modules", f"{n}-channels0", lambda c=cls: c(SO2_GS, 0, [(0,)], N=4), ValueError,
        rf"{n}: channels=0 is not accepted; expected an int >= 1")
    row("modules", f"{n}-irreps", lambda c=cls: c(SO2_GS, 1, [], N=4), ValueError,
        rf"{n}: irreps=\[\] is not accepted; expected a non-empty list of irrep ids of SO\(2\)")
    row("modules", f"{n}-inplace", lambda c=cls: c(SO2_GS, 1, [(0,)], N=4, inplace="yes"), TypeError,
        rf"{n}: inplace='yes' is not accepted; expected a bool")
row("modules", "FourierPointwise-function",
    lambda: snn.FourierPointwise(SO2_GS, 1, [(0,)], N=4, function="tanh"), ValueError,
    r"FourierPointwise: function='tanh' is not known; expected one of \['p_elu', 'p_relu', 'p_sigmoid', 'p_tanh'\]")
for cls in (snn.QuotientFourierPointwise, snn.QuotientFourierELU):
    n = cls.__name__
    row("modules", f"{n}-gspace", lambda c=cls: c("bad", (False, -1), 1, [(0,)]), TypeError,
        rf"{n}: gspace='bad' is not accepted; expected a GSpace")
    row("modules", f"{n}-irreps", lambda c=cls: c(D4_GS, (0, 1), 1, "x", "regular", 4), ValueError,
        rf"{n}: irreps='x' is not accepted; expected a non-empty list of irrep ids of D4")
row("modules", "QuotientFourierPointwise-function",
    lambda: snn.QuotientFourierPointwise(D4_GS, (0, 1), 1, [(0, 0), (1, 0)], "regular", 4, function="tanh"),
    ValueError, r"QuotientFourierPointwise: function='tanh' is not known")
row(
    "modules",
    "MaxPoolChannels-kernel",
    lambda: snn.MaxPoolChannels("bad"),
    ValueError,
    r"kernel_size='bad' is not accepted",
)
row(
    "modules", "GatedNonLinearity2-pair", lambda: snn.GatedNonLinearity2("bad"), TypeError, r"expected a pair"
)
row(
    "modules",
    "NormNonLinearity-function",
    lambda: snn.NormNonLinearity(VEC, "tanh"),
    ValueError,
    r"function='tanh' is not known",
)
row(
    "modules",
    "NormNonLinearity-support",
    lambda: snn.NormNonLinearity(snn.FieldType(GS, [GS.regular_repr]), "squash", bias=True),
    ValueError,
    r"squash",
)
row(
    "modules",
    "NormBatchNorm-eps",
    lambda: snn.NormBatchNorm(VEC, eps=-1.0),
    ValueError,
    r"eps=-1.0 is not accepted",
)
row(
    "modules",
    "NormBatchNorm-momentum",
    lambda: snn.NormBatchNorm(VEC, momentum=2.0),
    ValueError,
    r"momentum=2.0 is not accepted",
)
row("modules", "NormBatchNorm-trivial", lambda: snn.NormBatchNorm(REG), ValueError, r"contains the trivial")
row(
    "modules",
    "GNormBatchNorm-momentum",
    lambda: snn.GNormBatchNorm(REG, momentum=-0.5),
    ValueError,
    r"momentum=-0.5",
)
row("modules", "PointwiseDropout-p", lambda: snn.PointwiseDropout(REG, p=2.0), ValueError, r"p=2.0")
row(
    "modules",
    "MergeModule-pair",
    lambda: snn.MergeModule(["bad"]),
    TypeError,
    r"modules\[0\]='bad' is not a \(module, label\) pair",
)
row(
    "modules",
    "ModuleList-item",
    lambda: snn.ModuleList(["bad"]),
    TypeError,
    r"ModuleList: modules\[0\] must be an EquivariantModule",
)
row(
    "modules",
    "SequentialModule-item",
    lambda: snn.SequentialModule("bad"),
    TypeError,
    r"SequentialModule: module '0' must be an EquivariantModule",
)
row(
    "modules",
    "BranchingModule-labels",
    lambda: snn.BranchingModule(REG, ["a"]),
    ValueError,
    r"labels=\['a'\] is not accepted; expected 2 strings",
)
row(
    "modules",
    "MultipleModule-labels",
    lambda: snn.MultipleModule(REG, ["a"], []),
    ValueError,
    r"labels=\['a'\] is not accepted",
)
row(
    "modules",
    "MaskModule-S",
    lambda: snn.MaskModule(REG, 0),
    ValueError,
    r"MaskModule: S=0 is not accepted; expected an int >= 1",
)
row(
    "modules",
    "ReshuffleModule-permutation",
    lambda: snn.ReshuffleModule(REG, [0, 0]),
    ValueError,
    r"permutation=\[0, 0\] is not accepted; expected a permutation",
)
row(
    "modules",
    "RestrictionModule-id",
    lambda: snn.RestrictionModule(REG, "nope"),
    ValueError,
    r"id='nope' is not a valid subgroup id.*expected",
)
row(
    "modules",
    "FieldType-gspace",
    lambda: snn.FieldType("gs", [GS.regular_repr]),
    TypeError,
    r"gspace must be a structconv.gspaces.GSpace.*received str",
)
row(
    "modules",
    "FieldType-reps",
    lambda: snn.FieldType(GS, "regular"),
    TypeError,
    r"FieldType: representations='regular' is a string, not a list of representations",
)
row(
    "modules",
    "FieldType-reps-item",
    lambda: snn.FieldType(GS, ["regular"]),
    TypeError,
    r"representations\[0\] must be a structconv.group.Representation",
)
for dtype in (torch.int32, torch.int64, torch.bool, torch.uint8):
    row(
        "modules",
        f"GeometricTensor-{dtype}",
        lambda d=dtype: snn.GeometricTensor(torch.zeros(1, 8, 3, 3, dtype=d), REG),
        TypeError,
        rf"GeometricTensor: tensor has dtype {dtype}, which is not accepted; expected a floating-point",
    )
row(
    "modules",
    "GeometricTensor-type",
    lambda: snn.GeometricTensor(torch.zeros(1, 8, 3, 3), "t"),
    TypeError,
    r"type must be a structconv.nn.FieldType; received str",
)
row(
    "modules",
    "GeometricTensor-channels",
    lambda: snn.GeometricTensor(torch.zeros(1, 3, 3, 3), REG),
    ValueError,
    r"tensor has 3 channels .*size 8",
)

# ------------------------------------------------------------------------------------------ groups, gspaces
row(
    "gspaces",
    "Rot2dOnR2-N0",
    lambda: gspaces.Rot2dOnR2(0),
    ValueError,
    r"N: expected a positive int .* got 0",
)
row(
    "gspaces",
    "FlipRot2dOnR2-N'4'",
    lambda: gspaces.FlipRot2dOnR2("4"),
    ValueError,
    r"N: expected a positive int .* got '4'",
)
row("gspaces", "Flip2dOnR2-axis", lambda: gspaces.Flip2dOnR2(axis=NAN), ValueError, r"axis")
row(
    "gspaces",
    "TrivialOnR2-fibergroup",
    lambda: gspaces.TrivialOnR2(fibergroup="C1"),
    ValueError,
    r"fibergroup: expected C1 .*got 'C1'",
)
# escnn's factories of the planar gspaces
row("gspaces", "rot2dOnR2-N0", lambda: gspaces.rot2dOnR2(0), ValueError, r"N: expected a positive int .* got 0")
row("gspaces", "rot2dOnR2-mf", lambda: gspaces.rot2dOnR2(-1, -1), ValueError,
    r"maximum_frequency: expected a non-negative integer, got -1")
row("gspaces", "flipRot2dOnR2-N'4'", lambda: gspaces.flipRot2dOnR2("4"), ValueError,
    r"N: expected a positive int .* got '4'")
row("gspaces", "flipRot2dOnR2-mf", lambda: gspaces.flipRot2dOnR2(-1, "x"), ValueError,
    r"maximum_frequency: expected a non-negative integer, got 'x'")
row("gspaces", "flip2dOnR2-axis", lambda: gspaces.flip2dOnR2(axis=NAN), ValueError, r"axis")
row("gspaces", "trivialOnR2-args", lambda: gspaces.trivialOnR2(3), TypeError, r"takes 0 positional arguments")
# gspaces on R^3 (escnn's factories)
row("gspaces", "GSpace3D-id", lambda: gspaces.GSpace3D("nope"), ValueError, r"subgroup_id: 'nope' is not a subgroup of O\(3\)")
row("gspaces", "rot3dOnR3-mf", lambda: gspaces.rot3dOnR3(maximum_frequency=-1), ValueError,
    r"maximum_frequency: expected a non-negative int, got -1")
row("gspaces", "flipRot3dOnR3-mf", lambda: gspaces.flipRot3dOnR3(maximum_frequency="2"), ValueError,
    r"maximum_frequency: expected a non-negative int, got '2'")
for _name in ("octaOnR3", "fullOctaOnR3", "icoOnR3", "fullIcoOnR3", "invOnR3", "trivialOnR3"):
    row("gspaces", f"{_name}-args", functools.partial(getattr(gspaces, _name), 3), TypeError, r"takes 0 positional arguments")
for _name in ("rot2dOnR3", "dihedralOnR3", "conicalOnR3", "cylindricalOnR3", "fullCylindricalOnR3"):
    row("gspaces", f"{_name}-n0", functools.partial(getattr(gspaces, _name), n=0), ValueError,
        rf"{_name}: n=0 is not accepted; expected -1 \(all rotations\) or an int >= 1")
for _name in ("rot2dOnR3", "dihedralOnR3", "conicalOnR3", "cylindricalOnR3", "fullCylindricalOnR3"):
    row("gspaces", f"{_name}-n-huge", functools.partial(getattr(gspaces, _name), n=10**6), ValueError,
        rf"{_name}: n=1000000 is not accepted; expected -1 \(all rotations\) or at most 4096 rotations")
for _name in ("rot2dOnR3", "dihedralOnR3", "conicalOnR3", "cylindricalOnR3", "fullCylindricalOnR3", "mirOnR3"):
    row("gspaces", f"{_name}-adjoint", functools.partial(getattr(gspaces, _name), adjoint="z"), ValueError,
        rf"{_name}: adjoint='z' is not accepted; expected None or an element of SO\(3\) or O\(3\)")
for _name in ("dihedralOnR3", "conicalOnR3", "fullCylindricalOnR3", "mirOnR3"):
    row("gspaces", f"{_name}-axis", functools.partial(getattr(gspaces, _name), axis=NAN), ValueError,
        rf"{_name}: axis=nan is not accepted; expected a finite angle")
row("gspaces", "grid_permutation-matrix", lambda: gspaces.grid_permutation([[1.0, 0.0], [0.0, 1.0]], (4, 4, 4)), ValueError,
    r"matrix: expected a 3 x 3 matrix, got shape \(2, 2\)", "call")
row(
    "gspaces",
    "regular_repr-size-guard",
    lambda: gspaces.Rot2dOnR2(2000).regular_repr,
    ValueError,
    r"regular representation of C2000 .*2000 x 2000.*the limit is \d+",
    "call",
)

# ------------------------------------------------------------------------------------------------ testing
row(
    "testing",
    "assert_equivariant-atol",
    lambda: assert_equivariant(snn.IdentityModule(REG), atol=-1),
    ValueError,
    r"assert_equivariant: atol=-1 is not accepted",
    "call",
)
row(
    "testing",
    "assert_equivariant-rtol",
    lambda: assert_equivariant(snn.IdentityModule(REG), rtol=NAN),
    ValueError,
    r"rtol=nan",
    "call",
)
row(
    "testing",
    "assert_equivariant-batch",
    lambda: assert_equivariant(snn.IdentityModule(REG), batch_size=0),
    ValueError,
    r"batch_size=0 .*int >= 1",
    "call",
)

for name, kwargs, exc, words in [
    ("seed", {"seed": "a"}, TypeError, r"assert_equivariant: seed='a' is not accepted; expected an int >= 0"),
    ("dtype", {"dtype": torch.int32}, TypeError, r"assert_equivariant: dtype=torch.int32 is not accepted"),
    ("device", {"device": "nope"}, ValueError, r"assert_equivariant: device='nope' is not accepted"),
    ("interpolation", {"interpolation": "cubic"}, ValueError, r"assert_equivariant: interpolation='cubic' is not known"),
    ("train", {"train": "yes"}, TypeError, r"assert_equivariant: train='yes' is not accepted"),
    ("elements", {"elements": "all"}, TypeError, r"assert_equivariant: elements='all' is not accepted"),
    ("spatial_size", {"spatial_size": 0}, ValueError, r"assert_equivariant: spatial_size=0 is not accepted"),
]:
    row("testing", f"assert_equivariant-{name}", lambda kw=kwargs: assert_equivariant(snn.IdentityModule(REG), **kw),
        exc, words, "call")

# ------------------------------------------------------------------------------------------------- compat
row(
    "compat",
    "selfeeg-ConstrainedConv2d-kernel0",
    lambda: selfeeg.ConstrainedConv2d(3, 4, 0),
    ValueError,
    r"kernel_size=0",
)
row(
    "compat",
    "selfeeg-ConstrainedConv1d-stride0",
    lambda: selfeeg.ConstrainedConv1d(3, 4, 3, stride=0),
    ValueError,
    r"stride=0",
)
row(
    "compat",
    "selfeeg-ConstrainedDense-zero",
    lambda: selfeeg.ConstrainedDense(0, 4),
    ValueError,
    r"in_features=0",
)
row(
    "compat",
    "selfeeg-DepthwiseConv2d-kernel0",
    lambda: selfeeg.DepthwiseConv2d(3, 2, 0),
    ValueError,
    r"kernel_size=0",
)
row(
    "compat",
    "selfeeg-SeparableConv2d-kernel0",
    lambda: selfeeg.SeparableConv2d(3, 4, 0),
    ValueError,
    r"kernel_size=0",
)
row(
    "compat",
    "lucid-ConstrainedConv1d-kernel0",
    lambda: lucid.ConstrainedConv1d(3, 4, 0),
    ValueError,
    r"kernel_size=0",
)
row(
    "compat",
    "lucid-ConstrainedConv2d-bias",
    lambda: lucid.ConstrainedConv2d(3, 4, 3, bias="yes"),
    TypeError,
    r"bias='yes'",
)
for cls in (e3.WSConv1d, e3.WSConv2d, e3.WSConv3d, e3.WSConvTranspose2d, e3.WSConvTranspose3d):
    n = cls.__name__
    row("compat", f"elektronn3-{n}-in'3'", lambda c=cls: c("3", 8, 3), TypeError, rf"{n}: in_channels='3'")
    row(
        "compat", f"elektronn3-{n}-stride0", lambda c=cls: c(3, 8, 3, stride=0), ValueError, rf"{n}: stride=0"
    )
# infinite eps / sigma: finite but meaningless outputs (a zero-scaled batch norm, an all-ones mask)
for cls, t in (
    (snn.InnerBatchNorm, REG), (snn.NormBatchNorm, VEC), (snn.GNormBatchNorm, REG), (snn.IIDBatchNorm2d, REG),
    (snn.IIDBatchNorm3d, OREG),
):
    n = cls.__name__
    row("modules", f"{n}-eps-inf", lambda c=cls, t=t: c(t, eps=float("inf")), ValueError,
        rf"{n}: eps=inf is not accepted; expected a finite float >= 0")
for cls, t in ((snn.R2Upsampling, REG), (snn.R3Upsampling, OREG)):
    row("modules", f"{cls.__name__}-scale-inf", lambda c=cls, t=t: c(t, scale_factor=float("inf")), ValueError,
        rf"{cls.__name__}: scale_factor=inf is not accepted; expected a finite number > 0")
row("modules", "MaskModule-sigma-inf", lambda: snn.MaskModule(REG, 5, sigma=float("inf")), ValueError,
    r"MaskModule: sigma=inf is not accepted; expected a finite number > 0")
for what, alpha in (("nan", NAN), ("inf", float("inf"))):
    row("modules", f"ELU-alpha-{what}", lambda a=alpha: snn.ELU(snn.FieldType(GS, [GS.regular_repr]), alpha=a),
        ValueError, rf"ELU: alpha={alpha!r} is not accepted; expected a finite float")
row("compat", "elektronn3-FWS-eps", lambda: e3.FWS(torch.nn.Conv2d(3, 4, 3), eps=-1), ValueError, r"eps=-1")


@pytest.mark.parametrize("family, name, when, thunk, exc, words", ROWS, ids=[f"{r[0]}:{r[1]}" for r in ROWS])
def test_bad_input_raises_a_clear_error(family, name, when, thunk, exc, words):
    with pytest.raises(exc, match=words):
        thunk()


def test_every_public_constructor_has_a_row():
    covered = {r[1].split("-")[0] for r in ROWS}
    names = [
        n
        for n in snn.__all__
        if isinstance(getattr(snn, n), type)
        and n not in ("EquivariantModule", "ConstrainedLayerMixin", "BasisExpansion")
    ]
    names += [n for n in C.__all__ if isinstance(getattr(C, n), type) and n != "KernelConstraint"]
    names += [n for n in gspaces.__all__ if n not in ("GSpace", "GeneralOnR2")]  # abstract bases
    missing = sorted(set(names) - covered)
    assert not missing, f"public constructors without a bad-input row: {missing}"


def test_counts_by_family():
    counts = collections.Counter((r[0], r[2]) for r in ROWS)
    families = sorted({r[0] for r in ROWS})
    for family in families:
        assert counts[(family, "construction")] + counts[(family, "call")] > 0
    assert sum(counts.values()) == len(ROWS) >= 200


@pytest.mark.parametrize(
    "cls, t",
    [
        (snn.R2Conv, REG),
        (snn.R2ConvTransposed, REG),
        (snn.R2Conv, snn.FieldType(gspaces.rot2dOnR2(-1, 3), [gspaces.rot2dOnR2(-1, 3).irrep(1)] * 2)),
        (snn.R3Conv, OREG),
        (snn.R3ConvTransposed, snn.FieldType(gspaces.rot3dOnR3(), [gspaces.rot3dOnR3().irrep(1)] * 2)),
    ],
)
def test_a_cutoff_of_minus_infinity_leaves_the_ring_out(cls, t):
    """-inf, like any value below 0, leaves a ring out (it used to overflow on the plane); on every ring it
    leaves no basis, a clear error."""

    def cutoff(value):
        return lambda r: value if r > 0.5 else -1.0

    torch.manual_seed(0)
    reference = cls(t, t, 3, frequencies_cutoff=cutoff(1.5))
    torch.manual_seed(0)
    layer = cls(t, t, 3, frequencies_cutoff=lambda r: 1.5 if r > 0.5 else -math.inf)
    assert layer.weights.shape == reference.weights.shape
    torch.testing.assert_close(layer.expand_parameters()[0], reference.expand_parameters()[0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="empty"):
        cls(t, t, 3, frequencies_cutoff=lambda r: -math.inf)
