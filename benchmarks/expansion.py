"""Filter expansion time of R2Conv alone (no convolution around it), dense vs factorized.

For each configuration, times ``conv.expand_parameters()`` (forward, and forward + backward) with the
expansion path chosen automatically, and with the dense product forced, in the same process.
Figures: median of ``--repeats`` runs after warm-up, in milliseconds.

Usage: ``python benchmarks/expansion.py [--repeats 30] [--threads 2]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import structconv.nn.basisexpansion as be
from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2
from structconv.nn import FieldType, R2Conv

CONFIGS = {
    "C8 regular 16->16 k5": (lambda: Rot2dOnR2(8), 16, 5),
    "D8 regular 16->16 k5": (lambda: FlipRot2dOnR2(8), 16, 5),
    "C16 regular 32->32 k7": (lambda: Rot2dOnR2(16), 32, 7),
}


def _median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def run(repeats: int) -> list[dict]:
    """One row per configuration and expansion path."""
    rows = []
    for name, (make_gspace, fields, k) in CONFIGS.items():
        gs = make_gspace()
        t = FieldType(gs, [gs.regular_repr] * fields)
        for label, mode in (("auto", True), ("dense", False)):
            be._FACTORIZE = mode
            try:
                conv = R2Conv(t, t, k)
            finally:
                be._FACTORIZE = True
            factorized = any(getattr(m, "_factors", None) is not None for m in conv.basisexpansion.modules())

            def forward(conv=conv):
                with torch.no_grad():
                    conv.expand_parameters()

            def forward_backward(conv=conv):
                filt, _ = conv.expand_parameters()
                filt.sum().backward()

            rows.append(
                {
                    "config": name,
                    "path": f"{label} ({'factorized' if factorized else 'dense'})",
                    "forward_ms": _median_ms(forward, repeats),
                    "forward_backward_ms": _median_ms(forward_backward, repeats),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}")
    print(f"{'configuration':24} {'path':20} {'fwd ms':>8} {'fwd+bwd ms':>11}")
    for r in run(args.repeats):
        print(f"{r['config']:24} {r['path']:20} {r['forward_ms']:8.2f} {r['forward_backward_ms']:11.2f}")


if __name__ == "__main__":
    main()
