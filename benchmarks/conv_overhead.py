"""Overhead of structured Conv2d layers against a plain ``torch.nn.Conv2d`` of the same shape.

For every constrained Conv2d (each constraint mode with ``enforce='forward'``, the other enforce modes,
the Keras norm constraints, selfeeg's compat layer) and, when importable, ``WSConv2d`` and
``FWS(nn.Conv2d)``, time

* **train**: zero the grads, forward, backward with a fixed output gradient, then a plain SGD update of
  every parameter (the same for every layer; it makes ``'inplace'`` layers re-project as in training,
  and ``'post_step'`` layers call ``project_()`` after it, as users must);
* **eval**: ``model.eval()`` forward under ``torch.no_grad()`` (the kernel is derived from the current
  weight in every forward: no hidden cache);
* **P fwd us** / **eval +%**: what an eval forward adds to the convolution, measured directly: deriving
  the kernel without autograd (the projection in place for ``'inplace'``), in microseconds and as a share
  of the ``nn.Conv2d`` eval forward (robust on a loaded machine, unlike the ratios);
* **cached**: the same eval forward inside :func:`torch.nn.utils.parametrize.cached`, the explicit fast
  path (one kernel per layer per context), which costs what ``export()`` costs;

on a batch of 32 x 16 x 64 x 64 float32 CPU images, 16 -> 32 channels, 3x3 kernel, padding 1.
Layers are timed in interleaved rounds (one sample of each layer per round, order rotated every
round; a sample times ``inner`` consecutive steps) after a warm-up. A layer's ratio is its median
sample time divided by the plain conv's median; the ``min`` columns divide the fastest samples instead
(the least disturbed by other processes on a shared machine). Target: every ratio <= 1.03.

Usage::

    python benchmarks/conv_overhead.py [--quick] [--json PATH] [--clock wall|cpu] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from structconv.compat.selfeeg import ConstrainedConv2d as SelfeegConv2d
from structconv.constraints import CONSTRAINT_NAMES, MaxNorm, MinMaxNorm, UnitNorm
from structconv.nn import ConstrainedConv2d

__all__ = ["run", "main"]

IN_CH, OUT_CH, KERNEL = 16, 32, 3


def _layers() -> list[tuple[str, nn.Module, Callable[[nn.Module], None] | None]]:
    """(name, module, post-step hook) for every layer benchmarked; the first one is the baseline."""
    conv = dict(in_channels=IN_CH, out_channels=OUT_CH, kernel_size=KERNEL, padding=1)
    out: list[tuple[str, nn.Module, Callable[[nn.Module], None] | None]] = [
        ("nn.Conv2d", nn.Conv2d(**conv), None)
    ]
    for name in CONSTRAINT_NAMES:
        out.append((f"{name} [forward]", ConstrainedConv2d(**conv, constraint=name, max_l2=1.0), None))
    out.append(
        ("zero_mean+unit_l2 [forward]", ConstrainedConv2d(**conv, constraint=["zero_mean", "unit_l2"]), None)
    )
    project = lambda m: m.project_()  # noqa: E731
    for name in ("max_l2", "nonneg_sum1"):
        out.append(
            (
                f"{name} [post_step]",
                ConstrainedConv2d(**conv, constraint=name, max_l2=1.0, enforce="post_step"),
                project,
            )
        )
        out.append(
            (
                f"{name} [inplace]",
                ConstrainedConv2d(**conv, constraint=name, max_l2=1.0, enforce="inplace"),
                None,
            )
        )
    for c in (MaxNorm(1.0), MinMaxNorm(0.5, 1.0, rate=0.5), UnitNorm()):
        out.append((f"{type(c).__name__} [forward]", ConstrainedConv2d(**conv, constraint=c), None))
        out.append(
            (
                f"{type(c).__name__} [inplace]",
                ConstrainedConv2d(**conv, constraint=c, enforce="inplace"),
                None,
            )
        )
    out.append(("compat.selfeeg max_norm=2", SelfeegConv2d(IN_CH, OUT_CH, KERNEL, padding=1), None))
    try:  # written by another part of the package: optional here
        from structconv.nn import FWS, WSConv2d

        out.append(("WSConv2d", WSConv2d(**conv), None))
        out.append(("FWS(nn.Conv2d)", FWS(nn.Conv2d(**conv)), None))
    except ImportError:  # pragma: no cover
        pass
    return out


def _train_step(
    m: nn.Module, x: torch.Tensor, g: torch.Tensor, hook: Callable[[nn.Module], None] | None
) -> None:
    for p in m.parameters():
        p.grad = None
    m(x).backward(g)
    with torch.no_grad():
        for p in m.parameters():
            if p.grad is not None:
                p.sub_(p.grad, alpha=1e-6)
    if hook is not None:
        hook(m)


def _eval_step(m: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        m(x)


def _cached_eval_step(m: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad(), parametrize.cached():
        m(x)


def _transform_us(m: nn.Module, reps: int, timer: Callable[[], float]) -> float | None:
    """Microseconds of the kernel map alone, forward + backward (``'forward'`` layers only)."""
    c = getattr(m, "weight_constraint", None)
    if c is None or getattr(m, "enforce", None) != "forward":
        return None
    w = m.weight
    t0 = timer()
    for _ in range(reps):
        k = c(w)
        k.backward(torch.ones_like(k))
    w.grad = None
    return 1e6 * (timer() - t0) / reps


def _kernel_fwd_us(m: nn.Module, reps: int, timer: Callable[[], float]) -> float | None:
    """Microseconds of what an eval forward adds to its convolution: deriving the kernel (no autograd)."""
    if hasattr(m, "weight_constraint"):
        fn = m._kernel  # the projection in place for 'inplace' layers
    elif hasattr(m, "_ws_weight"):
        fn = lambda: m._ws_weight(1e-4)  # noqa: E731
    elif hasattr(m, "standardize_weight"):
        fn = m.standardize_weight
    else:
        return None
    with torch.no_grad():
        fn()
        t0 = timer()
        for _ in range(reps):
            fn()
        return 1e6 * (timer() - t0) / reps


def run(quick: bool = False, clock: str = "wall", rounds: int | None = None) -> list[dict[str, Any]]:
    """Time every layer; return one row per layer (ratios to the plain conv, medians in ms).

    Args:
        quick: a small run (batch 4, 32x32 images, few rounds) to check that the script works.
        clock: ``'wall'`` (``time.perf_counter``) or ``'cpu'`` (``time.process_time``: CPU time of this
            process, less sensitive to other processes competing for the cores).
        rounds: the number of interleaved rounds (default 25, 3 when ``quick``).

    Returns:
        Rows with keys ``layer``, ``train_ratio``, ``eval_ratio`` (medians), ``train_min_ratio``,
        ``eval_min_ratio`` (fastest samples), ``train_ms``, ``eval_ms`` (median ms per step) and
        ``transform_us`` (the kernel map's forward + backward alone; ``None`` for other layers).
    """
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock={clock!r} is not known; expected one of: wall, cpu")
    timer = time.perf_counter if clock == "wall" else time.process_time

    def _time(fn: Callable[[], None]) -> float:
        t0 = timer()
        fn()
        return timer() - t0

    torch.manual_seed(0)
    batch, size, warmup, inner, default_rounds = (4, 32, 1, 1, 3) if quick else (32, 64, 3, 2, 25)
    rounds = default_rounds if rounds is None else rounds
    x = torch.randn(batch, IN_CH, size, size)
    g = torch.randn(batch, OUT_CH, size, size)
    layers = _layers()
    for _, m, hook in layers:
        for _ in range(warmup):
            m.train()
            _train_step(m, x, g, hook)
            m.eval()
            _eval_step(m, x)
    train: list[list[float]] = [[] for _ in layers]
    evals: list[list[float]] = [[] for _ in layers]
    cached: list[list[float]] = [[] for _ in layers]
    n = len(layers)
    for r in range(rounds):
        order = [(i + r) % n for i in range(n)]
        for i in order:
            _, m, hook = layers[i]
            m.train()
            train[i].append(
                _time(lambda m=m, hook=hook: [_train_step(m, x, g, hook) for _ in range(inner)]) / inner
            )
        for i in order:
            _, m, _ = layers[i]
            m.eval()
            evals[i].append(_time(lambda m=m: [_eval_step(m, x) for _ in range(inner)]) / inner)
        for i in order:
            _, m, _ = layers[i]
            cached[i].append(_time(lambda m=m: [_cached_eval_step(m, x) for _ in range(inner)]) / inner)
    rows = []
    for i, (name, _, _) in enumerate(layers):
        rows.append(
            {
                "layer": name,
                "train_ratio": statistics.median(train[i]) / statistics.median(train[0]),
                "eval_ratio": statistics.median(evals[i]) / statistics.median(evals[0]),
                "train_min_ratio": min(train[i]) / min(train[0]),
                "eval_min_ratio": min(evals[i]) / min(evals[0]),
                "cached_ratio": statistics.median(cached[i]) / statistics.median(evals[0]),
                "train_ms": 1e3 * statistics.median(train[i]),
                "eval_ms": 1e3 * statistics.median(evals[i]),
                "transform_us": _transform_us(layers[i][1], 20 if quick else 200, timer),
                "kernel_fwd_us": _kernel_fwd_us(layers[i][1], 20 if quick else 200, timer),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small, fast run")
    parser.add_argument("--json", metavar="PATH", help="also write the rows (and the set-up) as JSON")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="timer (default: wall)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 25)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = run(args.quick, args.clock, args.rounds)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, clock={args.clock}, quick={args.quick}"
    )
    head = ("layer", "train", "eval", "cached", "train min", "eval min", "train ms", "eval ms", "P fwd+bwd us",
            "P fwd us", "eval +%")
    print("{:<30} {:>6} {:>6} {:>6} {:>9} {:>8} {:>9} {:>8} {:>13} {:>9} {:>7}".format(*head))
    conv_eval_us = 1e3 * rows[0]["eval_ms"]
    for row in rows:
        tr = "" if row["transform_us"] is None else f"{row['transform_us']:13.1f}"
        kf = row["kernel_fwd_us"]
        tr = f"{tr:>13} " + ("" if kf is None else f"{kf:9.1f} {100 * kf / conv_eval_us:6.2f}%")
        print(
            f"{row['layer']:<30} {row['train_ratio']:6.3f} {row['eval_ratio']:6.3f} {row['cached_ratio']:6.3f} "
            f"{row['train_min_ratio']:9.3f} {row['eval_min_ratio']:8.3f} "
            f"{row['train_ms']:9.2f} {row['eval_ms']:8.2f} {tr}"
        )
    if args.json:
        setup = {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "clock": args.clock,
            "quick": args.quick,
        }
        with open(args.json, "w") as f:
            json.dump({"setup": setup, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
