"""Where the factorized filter expansion beats the dense product: the data behind ``_FACTORIZE_MIN_GAIN``.

For regular -> regular representations of C4, D4, C8 and D8 with kernel sizes 3, 5 and 7 (16 input and
16 output fields), prints the multiply-add gain ``dense_cost / cost`` of the factorized plan and the time
of both expansions (forward under ``no_grad``; forward plus the gradient of the weights for a random
cotangent), median of ``--repeats`` calls, in ms, with the speed-ups.  The layer uses the factorized
expansion where the gain is at least ``structconv.nn.conv.basisexpansion._FACTORIZE_MIN_GAIN``.

Usage: ``python benchmarks/expansion_threshold.py [--repeats 25] [--threads 2]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import structconv.nn.conv.basisexpansion as be
from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2
from structconv.kernels import kernel_grid
from structconv.nn.conv.basisexpansion import block_basisexpansion, r2_kernel_basis


def _median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _expansions(gs, k: int):
    basis = r2_kernel_basis(gs.regular_repr, gs.regular_repr, kernel_size=k)
    out = []
    for mode in (False, "always"):
        be._FACTORIZE = mode
        try:
            out.append(block_basisexpansion(basis, kernel_grid(k)))
        finally:
            be._FACTORIZE = True
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fields", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    f = args.fields
    print(
        f"torch {torch.__version__}, {args.threads} threads, {f} -> {f} fields; threshold {be._FACTORIZE_MIN_GAIN}"
    )
    header = f"{'case':8} {'gain':>5} {'dense fwd':>9} {'fwd+bwd':>8} {'fact fwd':>9} {'fwd+bwd':>8} {'speed-up fwd':>12} {'fwd+bwd':>8}"
    print(header)
    print("-" * len(header))
    for n in (4, 8):
        for k in (3, 5, 7):
            for name, gs in ((f"C{n} k{k}", Rot2dOnR2(n)), (f"D{n} k{k}", FlipRot2dOnR2(n))):
                dense, fact = _expansions(gs, k)
                weights = torch.randn(f * f * dense.dimension(), requires_grad=True)
                cotangent = torch.randn_like(dense.expand_fields(weights, f, f))
                times = []
                for m in (dense, fact):
                    with torch.no_grad():
                        fwd = _median_ms(lambda m=m, w=weights: m.expand_fields(w, f, f), args.repeats)
                    fb = _median_ms(
                        lambda m=m, w=weights, g=cotangent: torch.autograd.grad(
                            m.expand_fields(w, f, f), w, g
                        ),
                        args.repeats,
                    )
                    times += [fwd, fb]
                gain = fact._factors.dense_cost / fact._factors.cost
                print(
                    f"{name:8} {gain:5.2f} {times[0]:9.2f} {times[1]:8.2f} {times[2]:9.2f} {times[3]:8.2f} "
                    f"{times[0] / times[2]:12.2f} {times[1] / times[3]:8.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
