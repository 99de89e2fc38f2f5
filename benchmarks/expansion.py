"""Filter expansion time of R2Conv alone (no convolution around it): structconv's automatic choice, its
dense product forced, and (when importable) the reference library e2cnn, all in the same process.

For each configuration and each variant it times ``conv.expand_parameters()``:

* ``fwd ms``: the expansion under ``torch.no_grad()``;
* ``fwd+bwd ms``: the expansion, then the gradient of the filter with respect to the weights for a fixed
  random cotangent (what a training step does after the convolution's backward).

The variants are timed in interleaved rounds (each round: every variant, ``--repeats`` calls each, the
median kept), so that a change of machine load affects them alike.  The table gives the median over the
``--rounds`` rounds and, in brackets, the lowest and highest round.

Usage: ``python benchmarks/expansion.py [--rounds 5] [--repeats 20] [--threads 2] [--configs c8,d8]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

import structconv.nn.conv.basisexpansion as be

CONFIGS = {
    "c8": ("C8 regular 16->16 k5", "rot", 8, 16, 5),
    "d8": ("D8 regular 16->16 k5", "fliprot", 8, 16, 5),
    "c16": ("C16 regular 32->32 k7", "rot", 16, 32, 7),
}


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _layer(lib: str, kind: str, n: int, fields: int, k: int, factorize: bool | str = True):
    if lib == "structconv":
        from structconv import gspaces, nn
    else:
        from e2cnn import gspaces, nn
    gs = gspaces.Rot2dOnR2(n) if kind == "rot" else gspaces.FlipRot2dOnR2(n)
    t = nn.FieldType(gs, [gs.regular_repr] * fields)
    be._FACTORIZE = factorize
    try:
        return nn.R2Conv(t, t, k)
    finally:
        be._FACTORIZE = True


def variants(cfg: tuple, with_reference: bool) -> dict[str, torch.nn.Module]:
    """The layers to time for one configuration, by label."""
    _, kind, n, fields, k = cfg
    auto = _layer("structconv", kind, n, fields, k)
    factorized = any(getattr(m, "_factors", None) is not None for m in auto.modules())
    out = {
        f"structconv auto ({'factorized' if factorized else 'dense'})": auto,
        "structconv dense": _layer("structconv", kind, n, fields, k, factorize=False),
    }
    if with_reference:
        out["e2cnn"] = _layer("e2cnn", kind, n, fields, k)
    return out


def run(cfg: tuple, rounds: int, repeats: int, with_reference: bool) -> dict[str, tuple[list, list]]:
    """Per variant: the per-round medians (ms) of the forward and of the forward+backward."""
    layers = variants(cfg, with_reference)
    cotangent = torch.randn_like(next(iter(layers.values())).expand_parameters()[0])
    fns = {}
    for label, conv in layers.items():
        conv.train()

        def forward(conv=conv):
            with torch.no_grad():
                conv.expand_parameters()

        def forward_backward(conv=conv):
            filt, _ = conv.expand_parameters()
            torch.autograd.grad(filt, conv.weights, cotangent)

        fns[label] = (forward, forward_backward)
    times: dict[str, tuple[list, list]] = {label: ([], []) for label in fns}
    for _ in range(rounds):
        for label, (forward, forward_backward) in fns.items():
            times[label][0].append(_median_ms(forward, repeats))
            times[label][1].append(_median_ms(forward_backward, repeats))
    return times


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} [{min(values):.2f}-{max(values):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs", default="c8,d8,c16", help="comma-separated subset of " + ",".join(CONFIGS)
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-reference", action="store_true", help="skip e2cnn even if importable")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    with_reference = False
    if not args.no_reference:
        try:
            import e2cnn  # noqa: F401

            with_reference = True
        except ImportError:
            pass
    print(
        f"torch {torch.__version__}, {args.threads} threads; median of {args.rounds} interleaved rounds "
        f"(each the median of {args.repeats} calls) [lowest-highest round], ms"
    )
    header = f"{'configuration':24} {'variant':28} {'fwd ms':>22} {'fwd+bwd ms':>22}"
    print(header)
    print("-" * len(header))
    for key in args.configs.split(","):
        cfg = CONFIGS[key]
        for label, (fwd, fwd_bwd) in run(cfg, args.rounds, args.repeats, with_reference).items():
            print(f"{cfg[0]:24} {label:28} {_cell(fwd):>22} {_cell(fwd_bwd):>22}", flush=True)


if __name__ == "__main__":
    main()
