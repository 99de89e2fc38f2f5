"""Anti-aliased pooling: three exact ways to blur every channel with a Gaussian and subsample.

``PointwiseAvgPoolAntialiased(3D)`` and ``PointwiseMaxPoolAntialiased(3D)`` blur every channel with a
Gaussian and subsample; structconv runs one depthwise convolution (what ``export()`` returns). For each shape this times, in the same run and interleaved,

* **fwd ms**: the forward (no autograd);
* **f+b ms**: forward and backward of the input gradient (what a train step pays);

for the module (``ours``: one depthwise convolution), the separable form (``sep``: ``k`` weighted strided
slices per axis, an alternative measured here) and the convolution escnn and e2cnn run (``1ch``: the batch
and channels folded into one axis, one single-channel convolution), and checks that the outputs agree
(largest absolute difference to the exported depthwise convolution). Medians of ``--repeats`` rounds. Not a test:
numbers depend on the machine.

Usage::

    python benchmarks/antialiased_pool.py [--threads N] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from structconv import gspaces
from structconv import nn as enn

#: (label, gspace factory, fields, batch, spatial size, module factory)
CASES = [
    ("avg 3D, SO(3) irreps 0-2 x 4, 17^3, stride 2", "rot3d", 4, 8, (17, 17, 17), "avg3d"),
    ("avg 3D, octahedral regular x 2, 17^3, stride 2", "octa", 2, 8, (17, 17, 17), "avg3d"),
    ("max 3D, octahedral regular x 2, 16^3, stride 2", "octa", 2, 8, (16, 16, 16), "max3d"),
    ("avg 2D, C8 regular x 8, 64^2, stride 2", "c8", 8, 16, (64, 64), "avg2d"),
    ("max 2D, C8 regular x 8, 64^2, stride 2", "c8", 8, 16, (64, 64), "max2d"),
]


def _module(kind: str, fields: int, make: str) -> enn.EquivariantModule:
    if kind == "rot3d":
        gs = gspaces.rot3dOnR3()
        t = enn.FieldType(gs, [gs.irrep(0), gs.irrep(1), gs.irrep(2)] * fields)
    elif kind == "octa":
        gs = gspaces.octaOnR3()
        t = enn.FieldType(gs, [gs.regular_repr] * fields)
    else:
        gs = gspaces.Rot2dOnR2(8)
        t = enn.FieldType(gs, [gs.regular_repr] * fields)
    return {
        "avg3d": lambda: enn.PointwiseAvgPoolAntialiased3D(t, sigma=0.6, stride=2),
        "max3d": lambda: enn.PointwiseMaxPoolAntialiased3D(t, 2, stride=2, sigma=0.6),
        "avg2d": lambda: enn.PointwiseAvgPoolAntialiased(t, sigma=0.66, stride=2),
        "max2d": lambda: enn.PointwiseMaxPoolAntialiased(t, 2, stride=2, sigma=0.66),
    }[make]()


def _separable(
    x: torch.Tensor, taps: torch.Tensor, stride: tuple[int, ...], padding: tuple[int, ...]
) -> torch.Tensor:
    """The Gaussian blur one axis at a time: zero-pad, then sum the ``k`` strided slices weighted by
    ``taps``."""
    k = taps.shape[0]
    for axis, (s, p) in enumerate(zip(stride, padding), start=2):
        n = x.shape[axis] + 2 * p
        if p:
            x = torch.nn.functional.pad(x, [0, 0] * (x.ndim - 1 - axis) + [p, p])
        span = s * ((n - k) // s) + 1
        head = (slice(None),) * axis
        y = x[head + (slice(0, span, s),)] * taps[0]
        for j in range(1, k):
            y = y + x[head + (slice(j, j + span, s),)] * taps[j]
        x = y
    return x


def _time(fn: Callable[[], None], inner: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner * 1e3


def _run_case(
    module: enn.EquivariantModule, batch: int, spatial: tuple[int, ...], repeats: int
) -> tuple[dict[str, float], float]:
    """Median times (ms) of the four forms, forward (``<form> f``) and forward + backward (``<form> fb``),
    and the largest output difference to the depthwise convolution."""
    from structconv.nn.modules.pooling import _blur_filter

    exported = module.export()
    d = len(spatial)
    conv = torch.nn.functional.conv3d if d == 3 else torch.nn.functional.conv2d
    blur = getattr(module, "_blur_padding", module.padding)
    pool = exported[0] if isinstance(exported, torch.nn.Sequential) else torch.nn.Identity()
    kernel = _blur_filter(module)

    def one_channel(v: torch.Tensor) -> torch.Tensor:
        v = pool(v)
        b, c = v.shape[:2]
        y = conv(v.reshape(b * c, 1, *v.shape[2:]), kernel, stride=module.stride, padding=blur)
        return y.reshape(b, c, *y.shape[2:])

    forms = {
        "ours": lambda v: module(enn.GeometricTensor(v, module.in_type)).tensor,
        "sep": lambda v: _separable(pool(v), module._taps, module.stride, blur),
        "1ch": one_channel,
    }
    x = torch.rand(batch, module.in_type.size, *spatial)
    xg = x.clone().requires_grad_()
    with torch.no_grad():
        ref = exported(x)
        diff = max(float((f(x) - ref).abs().max()) for f in forms.values())
    samples: dict[str, list[float]] = {f"{n} {m}": [] for n in forms for m in ("f", "fb")}

    def fb(f: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            xg.grad = None
            f(xg).square().sum().backward()

        return run

    for f in forms.values():  # warm-up
        fb(f)()
    for _ in range(repeats):
        for name, f in forms.items():
            with torch.no_grad():
                samples[f"{name} f"].append(_time(lambda f=f: f(x)))
            samples[f"{name} fb"].append(_time(fb(f)))
    return {k: statistics.median(v) for k, v in samples.items()}, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (default 7)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = ("ours", "sep", "1ch")
    header = f"{'case':50s}  " + "  ".join(f"{n + ' fwd':>8s}" for n in names)
    header += "  " + "  ".join(f"{n + ' f+b':>8s}" for n in names) + "  max |diff|"
    print(header)
    print("-" * len(header))
    for label, kind, fields, batch, spatial, make in CASES:
        med, diff = _run_case(_module(kind, fields, make).eval(), batch, spatial, args.repeats)
        row = "  ".join(f"{med[n + ' f']:8.2f}" for n in names)
        row += "  " + "  ".join(f"{med[n + ' fb']:8.2f}" for n in names)
        print(f"{label:50s}  {row}  {diff:.1e}")


if __name__ == "__main__":
    main()
