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


def format_table(
    rows: Sequence[Mapping[str, object]], columns: Sequence[tuple[str, str] | tuple[str, str, str]]
) -> str:
    """Format rows as an aligned plain-text table (text left-aligned, numbers right-aligned).

    Args:
        rows: one mapping per row; missing keys show as ``-``.
        columns: ``(key, header)`` pairs in display order, or ``(key, header, format)`` to format every
            number of the column alike (e.g. ``"{:.2f}"``).

    Returns:
        The table, lines joined with ``\\n`` (no trailing newline).

    Example:
        >>> print(format_table([{"a": "x", "b": 1.5}], [("a", "name"), ("b", "value")]))
        name  value
        ----  -----
        x     1.500
        >>> print(format_table([{"a": 45.0}, {"a": 229.34}], [("a", "angle", "{:.2f}")]))
         angle
        ------
         45.00
        229.34
    """
    specs = [(c[0], c[1], c[2] if len(c) > 2 else None) for c in columns]

    def cell(value: object, fmt: str | None) -> str:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if fmt is not None and number and value == value:  # NaN shows as '-'
            return fmt.format(value)
        return _cell(value)

    cells = [[cell(row.get(key), fmt) for key, _, fmt in specs] for row in rows]
    numeric = [
        all(isinstance(row.get(key), (int, float)) or row.get(key) is None for row in rows)
        for key, _, _ in specs
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h, _) in enumerate(specs)]

    def line(values: Sequence[str]) -> str:
        out = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(out).rstrip()

    header = line([h for _, h, _ in specs])
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([header, rule] + [line(c) for c in cells])
