"""Plain-text tables for the command line reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["format_table"]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.2e}"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def format_table(rows: Sequence[Mapping[str, object]], columns: Sequence[tuple[str, str]]) -> str:
    """Format rows as an aligned plain-text table (text left-aligned, numbers right-aligned).

    Args:
        rows: one mapping per row; missing keys show as ``-``.
        columns: ``(key, header)`` pairs in display order.

    Returns:
        The table, lines joined with ``\\n`` (no trailing newline).

    Example:
        >>> print(format_table([{"a": "x", "b": 1.5}], [("a", "name"), ("b", "value")]))
        name  value
        ----  -----
        x     1.500
    """
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    numeric = [
        all(isinstance(row.get(key), (int, float)) or row.get(key) is None for row in rows)
        for key, _ in columns
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h) in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        out = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(out).rstrip()

    header = line([h for _, h in columns])
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([header, rule] + [line(c) for c in cells])
