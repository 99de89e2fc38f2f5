"""Benchmark of R2Conv: construction time, filter expansion, train-step and eval ratios vs nn.Conv2d.

For each configuration it prints, for structconv and (when importable) the reference library e2cnn:

* ``build ms``: time to construct the layer (default initialisation) in a fresh Python process, after
  the imports, the field types and a first torch operation;
* ``expand ms``: one filter expansion under ``no_grad``, median of 20;
* ``exp f+b ms``: the expansion and its backward (gradient of the weights for a random cotangent on the
  filter), median of 20; ``exp share``: that time over the ``nn.Conv2d`` train step, i.e. the part of
  the train step the layer adds to the convolution (the rest of its forward is the same ``conv2d`` call);
* ``train x``: forward+backward time of the layer divided by that of ``torch.nn.Conv2d`` with the same
  channels (batch ``--batch``, ``--size`` x ``--size`` pixels, "same" padding, a fixed random cotangent);
* ``eval x``: eval-mode forward time divided by that of ``torch.nn.Conv2d``. structconv expands the filter
  from the current weights in every forward (eval too: no hidden cache), e2cnn convolves with the filter it
  cached when ``eval()`` was called;
* ``cached x`` (structconv): the eval forward inside :func:`torch.nn.utils.parametrize.cached`, the
  explicit fast path (one expansion per context), comparable with e2cnn's eval cache and with ``export()``.

The ratios are medians of per-pair ratios (with their quartiles in brackets): the layer and
``nn.Conv2d`` timed back to back, in alternating order, ``--repeats`` (train) and ``--eval-repeats``
(eval) times; ``min/min`` is the fastest layer time over the fastest ``nn.Conv2d`` time, an estimate
that ignores the (positive) noise of a loaded machine.  ``eval +us`` is what the eval forward adds to
its ``conv2d`` call (expansion, type check, wrapping), measured on a tiny input where it can be timed
precisely; ``cached +us`` the same inside ``parametrize.cached()``.  Not a test: numbers depend on the machine, and on a shared machine the convolution's own
time varies by several per cent from call to call, more than the layer adds (see ``exp share``).

Usage::

    python benchmarks/r2conv.py                      # all configurations, batch 16, 64x64
    python benchmarks/r2conv.py --configs c8,d8 --repeats 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings

import torch

CONFIGS = {
    "c8": ("C8 regular 16->16 k5", "rot", 8, "regular", 16, 5),
    "c16": ("C16 regular 32->32 k7", "rot", 16, "regular", 32, 7),
    "d8": ("D8 regular 16->16 k5", "fliprot", 8, "regular", 16, 5),
    "so2": ("SO(2) irreps 0..3 x8 k5", "rot", -1, "irreps", 8, 5),
}

_BUILD_CODE = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import torch
torch.zeros(8).add_(1); torch.randn(64)
lib, kind, N, field, mult, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
if lib == "structconv":
    from structconv import gspaces
    from structconv import nn
else:
    from e2cnn import gspaces
    from e2cnn import nn
mf = {"maximum_frequency": 4} if N == -1 else {}
gs = gspaces.Rot2dOnR2(N, **mf) if kind == "rot" else gspaces.FlipRot2dOnR2(N, **mf)
reprs = [gs.regular_repr] * mult if field == "regular" else [gs.irrep(i) for i in range(4)] * mult
t = nn.FieldType(gs, reprs)
start = time.perf_counter()
conv = nn.R2Conv(t, t, k)
print((time.perf_counter() - start) * 1e3)
"""


def build_time(lib: str, cfg: tuple) -> float:
    _, kind, N, field, mult, k = cfg
    out = subprocess.run(
        [sys.executable, "-c", _BUILD_CODE, lib, kind, str(N), field, str(mult), str(k)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def make_layer(lib: str, cfg: tuple):
    _, kind, N, field, mult, k = cfg
    if lib == "structconv":
        from structconv import gspaces, nn
    else:
        from e2cnn import gspaces, nn
    mf = {"maximum_frequency": 4} if N == -1 else {}
    gs = gspaces.Rot2dOnR2(N, **mf) if kind == "rot" else gspaces.FlipRot2dOnR2(N, **mf)
    reprs = [gs.regular_repr] * mult if field == "regular" else [gs.irrep(i) for i in range(4)] * mult
    t = nn.FieldType(gs, reprs)
    return nn.R2Conv(t, t, k, padding=k // 2), t, nn.GeometricTensor


_CLOCK = time.perf_counter  # --clock cpu: time.process_time (CPU time of this process)


def _timed(fn) -> float:
    start = _CLOCK()
    fn()
    return _CLOCK() - start


def measure(lib: str, cfg: tuple, batch: int, size: int, repeats: int, eval_repeats: int) -> dict[str, float]:
    layer, t, GT = make_layer(lib, cfg)
    k = cfg[5]
    plain = torch.nn.Conv2d(t.size, t.size, k, padding=k // 2)
    x = torch.randn(batch, t.size, size, size)
    gx = GT(x, t)

    cotangent = torch.randn(batch, t.size, size, size)

    def step_plain():
        plain(x).backward(cotangent)

    def step_layer():
        layer(gx).tensor.backward(cotangent)

    def expand():
        with torch.no_grad():
            layer.expand_parameters()

    filt_cotangent = torch.randn_like(layer.expand_parameters()[0])

    def expand_fwd_bwd():
        filt, _ = layer.expand_parameters()
        torch.autograd.grad(filt, layer.weights, filt_cotangent)

    layer.train()
    step_plain(), step_layer()  # warm up
    train = _paired_ratios(step_layer, step_plain, repeats)
    expand(), expand_fwd_bwd()
    expand_t = [_timed(expand) for _ in range(20)]
    expand_fb = [_timed(expand_fwd_bwd) for _ in range(20)]
    layer.eval()
    plain.eval()
    with torch.no_grad():
        plain(x), layer(gx)
        evals = _paired_ratios(lambda: layer(gx), lambda: plain(x), eval_repeats)
        eval_added = _eval_added_us(layer, t, GT)
        cached, cached_added = None, float("nan")
        if lib == "structconv":
            from torch.nn.utils import parametrize

            with parametrize.cached():
                layer(gx)
                cached = _paired_ratios(lambda: layer(gx), lambda: plain(x), eval_repeats)
                cached_added = _eval_added_us(layer, t, GT)
    med = statistics.median
    return {
        "eval_added_us": eval_added,
        "cached": float("nan") if cached is None else med(cached[0]),
        "cached_added_us": cached_added,
        "expand": med(expand_t) * 1e3,
        "expand_fb": med(expand_fb) * 1e3,
        "share": med(expand_fb) / med(train[1]),
        "train": med(train[0]),
        "train_iqr": _quartiles(train[0]),
        "train_min": min(train[2]) / min(train[1]),
        "eval": med(evals[0]),
        "eval_iqr": _quartiles(evals[0]),
        "eval_min": min(evals[2]) / min(evals[1]),
        "conv_ms": med(train[1]) * 1e3,
        "conv_eval_ms": med(evals[1]) * 1e3,
    }


def _eval_added_us(layer, t, GT, calls: int = 2000) -> float:
    """What an eval-mode forward adds to its ``conv2d`` call, in microseconds: on a tiny input (1 x 8 x 8,
    so that the convolution is short and the timing precise), the fastest of ``calls`` layer calls minus
    the fastest of ``calls`` calls of ``F.conv2d`` with the layer's filter and bias (expanded once)."""
    x = torch.randn(1, t.size, 8, 8)
    gx = GT(x, t)
    pad = layer.padding
    filt, bias = layer.filter, layer.expanded_bias

    def direct():
        return torch.nn.functional.conv2d(x, filt, bias, layer.stride, pad, layer.dilation)

    best_layer = best_direct = float("inf")
    for _ in range(calls):
        best_layer = min(best_layer, _timed(lambda: layer(gx)))
        best_direct = min(best_direct, _timed(direct))
    return (best_layer - best_direct) * 1e6


def _quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"{q[0]:.3f}-{q[2]:.3f}"


def _paired_ratios(layer_fn, plain_fn, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """``repeats`` ratios layer / plain of back-to-back timings, the order alternating between pairs (so
    that neither side always runs first, on warmer caches or a quieter machine), the plain times and the
    layer times."""
    ratios, plain_times, layer_times = [], [], []
    for i in range(repeats):
        if i % 2:
            t_layer, t_plain = _timed(layer_fn), _timed(plain_fn)
        else:
            t_plain, t_layer = _timed(plain_fn), _timed(layer_fn)
        ratios.append(t_layer / t_plain)
        plain_times.append(t_plain)
        layer_times.append(t_layer)
    return ratios, plain_times, layer_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS)
    )
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=11, help="paired train-step timings per layer")
    parser.add_argument("--eval-repeats", type=int, default=21, help="paired eval-forward timings per layer")
    parser.add_argument("--builds", type=int, default=3, help="fresh processes per construction timing")
    parser.add_argument("--no-reference", action="store_true", help="skip e2cnn even if importable")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="timer of the paired ratios")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    global _CLOCK
    _CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    libs = ["structconv"]
    if not args.no_reference:
        try:
            import e2cnn  # noqa: F401

            libs.append("e2cnn")
        except ImportError:
            pass
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, clock={args.clock}, "
        f"batch {args.batch}, {args.size}x{args.size}"
    )
    if "e2cnn" not in libs:  # say why the reference rows are missing
        why = "--no-reference was given" if args.no_reference else (
            "e2cnn is not installed (pip install e2cnn, or tools/install-oracles.sh, which also patches it for "
            "numpy 2 / torch 2)"
        )
        print(f"e2cnn rows left out: {why}")
    header = (
        f"{'configuration':26s} {'library':10s} {'weights':>8s} {'build ms':>9s} {'expand ms':>10s} "
        f"{'exp f+b ms':>10s} {'exp share':>9s} {'train x':>7s} {'[quartiles]':>13s} {'min/min':>7s} "
        f"{'eval x':>7s} {'[quartiles]':>13s} {'min/min':>7s} {'eval +us':>8s} {'cached x':>8s} {'cached +us':>9s} "
        f"{'conv2d f+b ms':>13s} {'conv2d fwd ms':>13s}"
    )
    print(header)
    print("-" * len(header))
    for key in args.configs.split(","):
        cfg = CONFIGS[key]
        for lib in libs:
            build = min(build_time(lib, cfg) for _ in range(args.builds))
            res = measure(lib, cfg, args.batch, args.size, args.repeats, args.eval_repeats)
            n_weights = make_layer(lib, cfg)[0].weights.numel()
            print(
                f"{cfg[0]:26s} {lib:10s} {n_weights:8d} {build:9.1f} {res['expand']:10.2f} "
                f"{res['expand_fb']:10.2f} {100 * res['share']:8.2f}% {res['train']:7.3f} "
                f"{res['train_iqr']:>13s} {res['train_min']:7.3f} {res['eval']:7.3f} {res['eval_iqr']:>13s} "
                f"{res['eval_min']:7.3f} {res['eval_added_us']:8.1f} {res['cached']:8.3f} "
                f"{res['cached_added_us']:9.1f} {res['conv_ms']:13.1f} "
                f"{res['conv_eval_ms']:13.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
