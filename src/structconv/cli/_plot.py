"""Accuracy-against-angle plot of the demo: a PNG with matplotlib, or a text chart without it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_accuracy", "text_chart"]

_MARKERS = "ox^sdv"


def text_chart(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], height: int = 10) -> str:
    """A plain-text chart of accuracy (0 to 1) against angle, one symbol per curve.

    Args:
        curves: ``name -> (angles in degrees, accuracies)``.
        height: rows of the chart.

    Example:
        >>> print(text_chart({"a": ([0, 90], [1.0, 0.0])}, height=2).splitlines()[0])
        1.0 |o
    """
    names = list(curves)
    symbols = {name: _MARKERS[i % len(_MARKERS)] for i, name in enumerate(names)}
    columns = sorted({round(float(a), 1) for xs, _ in curves.values() for a in xs})
    col_index = {a: i for i, a in enumerate(columns)}
    grid = [[" "] * len(columns) for _ in range(height)]
    for name, (xs, ys) in curves.items():
        for a, acc in zip(xs, ys):
            row = height - 1 - min(height - 1, int(round(float(acc) * (height - 1))))
            grid[row][col_index[round(float(a), 1)]] = symbols[name]
    lines = []
    for r, cells in enumerate(grid):
        level = 1.0 - r / max(1, height - 1)
        lines.append(f"{level:3.1f} |" + "".join(cells).rstrip())
    lines.append("    +" + "-" * len(columns))
    lines.append(f"     angle {columns[0]:g} .. {columns[-1]:g} degrees" if columns else "     (no data)")
    lines.append("     " + "  ".join(f"{symbols[n]} = {n}" for n in names))
    return "\n".join(lines)


def plot_accuracy(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: Path, title: str = ""
) -> Path:
    """Plot accuracy against rotation angle for every model.

    Writes a PNG at ``path`` when matplotlib is installed; otherwise writes :func:`text_chart` to the
    same path with the suffix ``.txt``.

    Returns:
        The path actually written.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> plot_accuracy({"cnn": ([0, 90], [0.9, 0.2])}, d / "acc.png").exists()
        True
    """
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        out = path.with_suffix(".txt")
        out.write_text(text_chart(curves) + "\n")
        return out
    fig = _figure(curves, title, plt)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def _figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, plt: Any) -> Any:
    """The accuracy figure; its legend sits below the axes, outside the data area, so it hides no data."""
    fig, ax = plt.subplots(figsize=(6.4, 3.9), dpi=100)
    for i, (name, (xs, ys)) in enumerate(curves.items()):
        pairs = sorted(zip(map(float, xs), map(float, ys)))
        ax.plot(
            [p[0] for p in pairs],
            [100 * p[1] for p in pairs],
            marker=_MARKERS[i % len(_MARKERS)],
            markersize=3,
            linewidth=1.5,
            label=name,
        )
    ax.set_xlabel("rotation of the test digits (degrees)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlim(0, 360)
    ax.set_xticks(range(0, 361, 45))
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=max(1, min(3, len(curves))), fontsize=8,
        frameon=False,
    )
    return fig
