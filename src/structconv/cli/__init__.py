"""The command line jobs: ``structconv demo`` (rotated digits) and ``structconv bench`` (layer timings).

Both are also importable: :func:`run_demo` / :class:`DemoConfig` run the demo from Python, and
:func:`bench_constrained` / :func:`bench_r2conv` return benchmark rows as ``list[dict]``.

Example:
    >>> from structconv.cli import DemoConfig
    >>> DemoConfig(quick=True).resolved_epochs() >= 1
    True
"""

from __future__ import annotations

from structconv.cli._progress import ProgressBar
from structconv.cli._table import format_table
from structconv.cli.bench import bench_constrained, bench_r2conv, run_bench, time_median
from structconv.cli.demo import DemoConfig, run_demo

__all__ = [
    "DemoConfig",
    "ProgressBar",
    "bench_constrained",
    "bench_r2conv",
    "format_table",
    "run_bench",
    "run_demo",
    "time_median",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
