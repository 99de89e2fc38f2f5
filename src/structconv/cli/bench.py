"""``structconv bench``: layer timings against ``torch.nn.Conv2d``, measured in the same run.

Two benchmarks, each a function returning one ``dict`` per row:

* :func:`bench_constrained` -- constrained and weight-standardized 2d convolutions (kernel map applied
  on every forward) against ``nn.Conv2d`` of the same shape: train step (forward + backward) and eval
  forward, as times and ratios.
* :func:`bench_r2conv` -- ``R2Conv`` between regular fields: construction time, train step (which
  expands the kernel basis) and eval forward (the filter expanded from the current weights), with
  ratios against the ``nn.Conv2d`` of the same channel counts; when the reference library ``e2cnn`` is
  importable, its numbers for the same layer stand beside ours.

Every time is the median of repeated runs after warm-up runs. The layers compared in one row are timed
in turn, run after run (round robin), so that they share the same machine load: the ratios are far more
stable than the absolute times on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import nn

from structconv.cli._table import format_table

__all__ = [
    "time_interleaved",
    "time_median",
    "bench_constrained",
    "bench_r2conv",
    "run_bench",
    "add_arguments",
    "main",
    "shown_columns",
    "COLUMNS",
]

COLUMNS: list[tuple[str, str]] = [
    ("layer", "layer"),
    ("config", "config"),
    ("construct_first_ms", "1st build ms"),
    ("construct_ms", "build ms"),
    ("train_ms", "train ms"),
    ("train_ratio", "train x"),
    ("eval_ms", "eval ms"),
    ("eval_ratio", "eval x"),
    ("e2cnn_construct_first_ms", "e2cnn 1st build ms"),
    ("e2cnn_construct_ms", "e2cnn build ms"),
    ("e2cnn_train_ratio", "e2cnn train x"),
    ("e2cnn_eval_ratio", "e2cnn eval x"),
]


def time_median(fn: Callable[[], object], repeats: int = 10, warmup: int = 2) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` untimed runs.

    Example:
        >>> time_median(lambda: sum(range(100)), repeats=3, warmup=1) >= 0.0
        True
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats={repeats!r} is not accepted; expected a positive int")
    for _ in range(max(0, warmup)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _train_step(
    module: Callable[[Any], Any], make_input: Callable[[], Any], unwrap: Callable[[Any], torch.Tensor]
):
    def step() -> None:
        out = unwrap(module(make_input()))
        out.sum().backward()

    return step


def _eval_step(module: Callable[[Any], Any], make_input: Callable[[], Any]):
    def step() -> None:
        with torch.no_grad():
            module(make_input())

    return step


def time_interleaved(fns: Sequence[Callable[[], object]], repeats: int = 10, warmup: int = 2) -> list[float]:
    """Median wall-clock seconds of each function, timed in turn (round robin) after warm-up runs.

    Interleaving puts every function under the same machine load, so ratios of the medians stay stable
    on a shared machine even when the absolute times drift.

    Example:
        >>> a, b = time_interleaved([lambda: None, lambda: sum(range(1000))], repeats=3, warmup=1)
        >>> a >= 0.0 and b >= 0.0
        True
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats={repeats!r} is not accepted; expected a positive int")
    for _ in range(max(0, warmup)):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


_Entry = tuple[nn.Module, Callable[[], Any], Callable[[Any], torch.Tensor]]


def _time_modules(entries: Sequence[_Entry], repeats: int, warmup: int) -> list[tuple[float, float]]:
    """(train-step seconds, eval-forward seconds) per ``(module, make_input, unwrap)``, interleaved.

    The modules are left in eval mode.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module, _, _ in entries:
            module.train()
        train = time_interleaved([_train_step(m, mk, un) for m, mk, un in entries], repeats, warmup)
        for module, _, _ in entries:
            module.zero_grad(set_to_none=True)
            module.eval()
        evals = time_interleaved([_eval_step(m, mk) for m, mk, _ in entries], repeats, warmup)
    return list(zip(train, evals))


def _plain(y: Any) -> torch.Tensor:
    return y


def _typed(y: Any) -> torch.Tensor:
    return y.tensor


def _constrained_candidates(c_in: int, c_out: int, k: int) -> list[tuple[str, Callable[[], nn.Module]]]:
    import structconv.nn as snn

    cands: list[tuple[str, Callable[[], nn.Module]]] = []
    conv = getattr(snn, "ConstrainedConv2d", None)
    if conv is not None:
        for mode, extra in (
            ("nonneg", {}),
            ("sum_to_one", {}),
            ("zero_mean", {}),
            ("unit_l2", {}),
            ("max_l2", {"max_l2": 1.0}),
            ("fixed_center", {}),
        ):
            cands.append(
                (
                    f"ConstrainedConv2d({mode})",
                    lambda m=mode, e=extra: conv(c_in, c_out, k, padding=k // 2, constraint=m, **e),
                )
            )
        cands.append(
            (
                "ConstrainedConv2d(zero_mean, post_step)",
                lambda: conv(c_in, c_out, k, padding=k // 2, constraint="zero_mean", enforce="post_step"),
            )
        )
    ws = getattr(snn, "WSConv2d", None)
    if ws is not None:
        cands.append(("WSConv2d", lambda: ws(c_in, c_out, k, padding=k // 2)))
    return cands


def bench_constrained(quick: bool = False, repeats: int | None = None) -> list[dict[str, Any]]:
    """Time constrained / weight-standardized 2d convolutions against ``nn.Conv2d`` of the same shape.

    Args:
        quick: a tiny configuration (seconds), for smoke tests.
        repeats: timed runs per measurement (default 20, 3 with ``quick``).

    Returns:
        One row per layer: ``layer``, ``config``, ``train_ms``, ``eval_ms``, ``train_ratio``,
        ``eval_ratio`` (ratios to the ``nn.Conv2d`` row, which comes first with ratio 1). Layers that
        ``structconv.nn`` does not provide, or that fail to build, get a row with a ``note``.

    Example:
        >>> rows = bench_constrained(quick=True, repeats=1)
        >>> rows[0]["layer"], rows[0]["train_ratio"]
        ('nn.Conv2d', 1.0)
    """
    # full size: batch 32, 16 -> 32 channels, 3x3, 64x64 (the overhead target's configuration)
    batch, c_in, c_out, size, k = (2, 4, 8, 12, 3) if quick else (32, 16, 32, 64, 3)
    repeats = repeats if repeats is not None else (3 if quick else 20)
    warmup = 1 if quick else 3
    config = f"{c_in}->{c_out} k{k} {batch}x{size}x{size}"
    x = torch.randn(batch, c_in, size, size)
    make_input = lambda: x
    torch.manual_seed(0)
    base = nn.Conv2d(c_in, c_out, k, padding=k // 2)
    ((base_train, base_eval),) = _time_modules([(base, make_input, _plain)], repeats, warmup)
    rows: list[dict[str, Any]] = [
        {
            "benchmark": "constrained",
            "layer": "nn.Conv2d",
            "config": config,
            "train_ms": 1e3 * base_train,
            "eval_ms": 1e3 * base_eval,
            "train_ratio": 1.0,
            "eval_ratio": 1.0,
        }
    ]
    for name, factory in _constrained_candidates(c_in, c_out, k):
        row: dict[str, Any] = {"benchmark": "constrained", "layer": name, "config": config}
        try:
            module = factory()
        except (TypeError, ValueError, NotImplementedError) as err:
            rows.append(row | {"note": f"not built: {err}"})
            continue
        (b_train, b_eval), (train_s, eval_s) = _time_modules(
            [(base, make_input, _plain), (module, make_input, _plain)], repeats, warmup
        )
        rows.append(
            row
            | {
                "train_ms": 1e3 * train_s,
                "eval_ms": 1e3 * eval_s,
                "train_ratio": train_s / b_train,
                "eval_ratio": eval_s / b_eval,
                "conv2d_train_ms": 1e3 * b_train,
                "conv2d_eval_ms": 1e3 * b_eval,
            }
        )
    return rows


def _r2conv_configs(quick: bool) -> list[tuple[str, int, int, int, int]]:
    """(group, fields, kernel, batch, size) per configuration."""
    if quick:
        return [("C4", 2, 3, 2, 9)]
    return [("C8", 8, 5, 8, 32), ("D4", 8, 5, 8, 32), ("C8", 16, 3, 8, 32)]


def _build_r2conv(gspaces: Any, enn: Any, group: str, fields: int, k: int):
    from structconv.models.equivariant import _make_gspace

    space = _make_gspace(gspaces, group)
    ftype = enn.FieldType(space, [space.regular_repr] * fields)

    def build() -> nn.Module:
        return enn.R2Conv(ftype, ftype, k, padding=k // 2)

    return ftype, build


def _e2cnn_modules() -> tuple[Any, Any] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import e2cnn.gspaces as e2_gspaces
            import e2cnn.nn as e2_nn
    except Exception:  # noqa: BLE001 - any failure to import the optional reference means "absent"
        return None
    return e2_gspaces, e2_nn


def _build_and_time_construction(
    gspaces: Any, enn: Any, group: str, fields: int, k: int, x: torch.Tensor, build_repeats: int
) -> tuple[_Entry, dict[str, float]]:
    """Build one ``R2Conv`` (timing the first and the repeated constructions) and its timing entry."""
    ftype, build = _build_r2conv(gspaces, enn, group, fields, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        torch.manual_seed(0)
        module = build()
        first = time.perf_counter() - start
        construct = time_median(build, build_repeats, 1)
    entry: _Entry = (module, lambda: enn.GeometricTensor(x, ftype), _typed)
    return entry, {"construct_first_ms": 1e3 * first, "construct_ms": 1e3 * construct}


def bench_r2conv(
    quick: bool = False, repeats: int | None = None, reference: bool = True
) -> list[dict[str, Any]]:
    """Time ``R2Conv`` (regular fields to regular fields) against ``nn.Conv2d`` with the same channels.

    Args:
        quick: a tiny configuration (seconds), for smoke tests.
        repeats: timed runs per measurement (default 10, 3 with ``quick``).
        reference: also time ``e2cnn``'s ``R2Conv`` on the same configuration when it is importable.

    Returns:
        One row per configuration: ``layer``, ``config``, ``construct_ms`` (median of repeated
        constructions; ``construct_first_ms`` is the first one, which fills the basis caches),
        ``train_ms`` / ``eval_ms`` and their ratios to ``nn.Conv2d`` (``conv2d_train_ms``,
        ``conv2d_eval_ms``), and, with e2cnn, ``e2cnn_construct_ms``, ``e2cnn_train_ratio``,
        ``e2cnn_eval_ratio``.

    Example:
        >>> rows = bench_r2conv(quick=True, repeats=1, reference=False)
        >>> rows[0]["layer"]
        'R2Conv'
    """
    from structconv import gspaces
    from structconv import nn as snn

    repeats = repeats if repeats is not None else (3 if quick else 10)
    warmup = 1 if quick else 3
    build_repeats = 3 if quick else 5
    e2 = _e2cnn_modules() if reference else None
    rows: list[dict[str, Any]] = []
    for group, fields, k, batch, size in _r2conv_configs(quick):
        kind_order = int(group[1:]) * (2 if group[0] == "D" else 1)
        channels = fields * kind_order
        x = torch.randn(batch, channels, size, size)
        torch.manual_seed(0)
        base: _Entry = (nn.Conv2d(channels, channels, k, padding=k // 2), lambda x=x: x, _plain)
        ours, ours_build = _build_and_time_construction(gspaces, snn, group, fields, k, x, build_repeats)
        entries = [base, ours]
        if e2 is not None:
            ref, ref_build = _build_and_time_construction(e2[0], e2[1], group, fields, k, x, build_repeats)
            entries.append(ref)
        times = _time_modules(entries, repeats, warmup)
        (base_train, base_eval), (train_s, eval_s) = times[0], times[1]
        row: dict[str, Any] = {
            "benchmark": "r2conv",
            "layer": "R2Conv",
            "config": f"{group} {fields}x regular k{k} {batch}x{size}x{size}",
            **ours_build,
            "train_ms": 1e3 * train_s,
            "eval_ms": 1e3 * eval_s,
            "train_ratio": train_s / base_train,
            "eval_ratio": eval_s / base_eval,
            "conv2d_train_ms": 1e3 * base_train,
            "conv2d_eval_ms": 1e3 * base_eval,
        }
        if e2 is not None:
            ref_train, ref_eval = times[2]
            row |= {
                "e2cnn_construct_ms": ref_build["construct_ms"],
                "e2cnn_construct_first_ms": ref_build["construct_first_ms"],
                "e2cnn_train_ms": 1e3 * ref_train,
                "e2cnn_eval_ms": 1e3 * ref_eval,
                "e2cnn_train_ratio": ref_train / base_train,
                "e2cnn_eval_ratio": ref_eval / base_eval,
            }
        rows.append(row)
    return rows


def run_bench(
    quick: bool = False,
    only: Sequence[str] = ("constrained", "r2conv"),
    json_path: str | Path | None = None,
    repeats: int | None = None,
    reference: bool = True,
    stream: TextIO | None = None,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """Run the selected benchmarks, print one table, optionally write the rows as JSON.

    Args:
        quick: tiny configurations (a smoke test).
        only: which benchmarks to run, among ``"constrained"`` and ``"r2conv"``.
        json_path: if given, write ``{"environment": ..., "rows": [...]}`` there.
        repeats: timed runs per measurement (default: each benchmark's own).
        reference: time e2cnn beside ours when it is importable.
        stream: where the table goes (default stdout).
        threads: PyTorch CPU threads during the run (restored afterwards); ``0`` keeps the current one.

    Example:
        >>> import io
        >>> rows = run_bench(quick=True, only=["constrained"], repeats=1, stream=io.StringIO())
        >>> rows[0]["layer"]
        'nn.Conv2d'
    """
    stream = sys.stdout if stream is None else stream
    known = {"constrained": bench_constrained, "r2conv": bench_r2conv}
    for name in only:
        if name not in known:
            raise ValueError(f"only={list(only)!r} is not accepted; expected names among {sorted(known)}")
    if not isinstance(threads, int) or threads < 0:
        raise ValueError(f"threads={threads!r} is not accepted; expected an int >= 0 (0: PyTorch's default)")
    previous_threads = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        return _run_bench(quick, only, json_path, repeats, reference, stream)
    finally:
        torch.set_num_threads(previous_threads)


def _run_bench(
    quick: bool,
    only: Sequence[str],
    json_path: str | Path | None,
    repeats: int | None,
    reference: bool,
    stream: TextIO,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in only:
        stream.write(f"running {name} benchmark{' (quick)' if quick else ''} ...\n")
        stream.flush()
        if name == "r2conv":
            rows += bench_r2conv(quick, repeats, reference=reference)
        else:
            rows += bench_constrained(quick, repeats)
    stream.write(format_table(rows, shown_columns(rows)) + "\n")
    for row in rows:
        if row.get("note"):
            stream.write(f"note: {row['layer']}: {row['note']}\n")
    stream.write(
        "times: median of repeated runs after warm-up ('1st build': the first construction in this process, "
        "which fills the basis caches; train = forward + backward; eval = no-grad forward, eval mode); "
        f"torch threads: {torch.get_num_threads()}\n"
    )
    stream.write(_ratio_note(quick) + "\n")
    e2cnn_note = _e2cnn_note(rows, reference)
    if e2cnn_note:
        stream.write(e2cnn_note + "\n")
    if json_path is not None:
        payload = {
            "environment": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "quick": quick,
            },
            "rows": rows,
        }
        Path(json_path).write_text(json.dumps(payload, indent=2) + "\n")
        stream.write(f"wrote {json_path}\n")
    stream.flush()
    return rows


def shown_columns(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """The columns of :data:`COLUMNS` that hold a value in some row (``layer`` and ``config`` always).

    A column that no row of this run can fill is left out rather than printed as a column of ``-``: the
    build and e2cnn columns with ``--only constrained``, the e2cnn columns when e2cnn is not installed or
    ``--no-reference`` is given (the table's notes say which and why).

    Example:
        >>> [h for _, h in shown_columns([{"layer": "nn.Conv2d", "train_ms": 1.0}])]
        ['layer', 'config', 'train ms']
    """
    return [
        (key, header)
        for key, header in COLUMNS
        if key in ("layer", "config") or any(row.get(key) is not None for row in rows)
    ]


def _ratio_note(quick: bool) -> str:
    """What the 'x' columns divide by, and why they need not match the ms columns' quotients."""
    text = (
        "'x' columns: the layer's time divided by that of an nn.Conv2d of the same shape timed in turn with "
        "it, in the same runs (paired, so both see the same machine load); the nn.Conv2d row is a separate "
        "measurement, so a row's ms divided by the nn.Conv2d row's ms can differ from its 'x'"
    )
    if quick:
        text += (
            "; with --quick (a few runs of tiny layers, well under a millisecond) timer noise dominates: the "
            "figures check that everything runs, they measure nothing -- use the full run for numbers"
        )
    return text


def _e2cnn_note(rows: Sequence[dict[str, Any]], reference: bool) -> str:
    """Which columns the table leaves out and why (e2cnn not installed, --no-reference, --only constrained),
    or what the e2cnn columns hold."""
    r2 = [r for r in rows if r.get("benchmark") == "r2conv"]
    timed = any(r.get("e2cnn_train_ratio") is not None for r in r2)
    if timed:
        return "e2cnn columns: e2cnn's R2Conv on the same input ('-' on constrained rows: e2cnn has none)"
    if not r2:
        return (
            "build and e2cnn columns left out: they belong to the R2Conv rows (construction times, e2cnn's "
            "R2Conv beside ours); run without --only constrained to see them"
        )
    if not reference:
        return "e2cnn columns left out: --no-reference was given"
    return (
        "e2cnn columns left out: e2cnn is not installed in this environment, so there is no reference "
        "R2Conv to time beside ours (pip install e2cnn, or tools/install-oracles.sh in a source checkout, "
        "which also patches it for numpy 2 / torch 2)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the bench options to ``parser`` and return it.

    Example:
        >>> add_arguments(argparse.ArgumentParser()).parse_args(["--quick"]).quick
        True
    """
    parser.add_argument("--quick", action="store_true", help="tiny configurations (a smoke test)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the rows to this JSON file")
    parser.add_argument(
        "--only",
        choices=("constrained", "r2conv"),
        action="append",
        default=None,
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement")
    parser.add_argument(
        "--threads", type=int, default=1, help="PyTorch CPU threads (default 1; 0 keeps PyTorch's default)"
    )
    parser.add_argument("--no-reference", action="store_true", help="do not time e2cnn even if importable")
    return parser


def run_from_args(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run the benchmarks from parsed arguments; return an exit status."""
    if args.repeats is not None and args.repeats < 1:
        print(
            f"structconv bench: error: --repeats={args.repeats} is not accepted; expected a positive int",
            file=sys.stderr,
        )
        return 2
    if args.threads < 0:
        print(
            f"structconv bench: error: --threads={args.threads} is not accepted; expected an int >= 0",
            file=sys.stderr,
        )
        return 2
    run_bench(
        quick=args.quick,
        only=args.only or ("constrained", "r2conv"),
        json_path=args.json,
        repeats=args.repeats,
        reference=not args.no_reference,
        stream=stream,
        threads=args.threads,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``structconv bench``; return the exit status."""
    parser = add_arguments(
        argparse.ArgumentParser(prog="structconv bench", description=__doc__.splitlines()[0])
    )
    return run_from_args(parser.parse_args(argv))

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
