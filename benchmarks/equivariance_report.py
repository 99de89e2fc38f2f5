"""Equivariance errors of R2Conv, R2ConvTransposed and R2Diffop on every gspace.

For each layer and gspace, prints the worst relative error over the grid-preserving group elements
(rotations by multiples of 90 degrees, flips: exact image transforms, every pixel compared) and over
the other testing elements (interpolated transforms, inner disc compared), in float32 and float64.

Usage: ``python benchmarks/equivariance_report.py [--json PATH]``
"""

from __future__ import annotations

import argparse
import json

import torch

from structconv import gspaces
from structconv.nn import FieldType, R2Conv, R2ConvTransposed, R2Diffop
from structconv.testing import equivariance_errors


def _spaces() -> list[tuple[str, gspaces.GSpace, list]]:
    """(label, gspace, representations of the test field type)."""
    out = []
    for label, gs in (
        ("C4", gspaces.Rot2dOnR2(4)),
        ("C8", gspaces.Rot2dOnR2(8)),
        ("D4", gspaces.FlipRot2dOnR2(4)),
        ("D8", gspaces.FlipRot2dOnR2(8)),
        ("Flips", gspaces.Flip2dOnR2()),
        ("Trivial", gspaces.TrivialOnR2()),
    ):
        out.append((label, gs, [gs.trivial_repr, gs.regular_repr]))
    so2 = gspaces.Rot2dOnR2(-1, maximum_frequency=4)
    out.append(("SO(2)", so2, [so2.irrep(0), so2.irrep(1), so2.irrep(2)]))
    o2 = gspaces.FlipRot2dOnR2(-1, maximum_frequency=4)
    out.append(("O(2)", o2, [o2.irrep(0, 0), o2.irrep(1, 0), o2.irrep(1, 1), o2.irrep(1, 2)]))
    return out


def run() -> list[dict]:
    """Measure the errors; one row per (layer, gspace, dtype)."""
    rows = []
    for label, gs, reprs in _spaces():
        t = FieldType(gs, reprs)
        layers = {
            "R2Conv k5": lambda t=t: R2Conv(t, t, 5, padding=2),
            "R2ConvTransposed k5": lambda t=t: R2ConvTransposed(t, t, 5, padding=2),
            "R2Diffop k5": lambda t=t: R2Diffop(t, t, kernel_size=5, padding=2),
        }
        for name, make in layers.items():
            torch.manual_seed(0)
            layer = make()
            for dtype in (torch.float32, torch.float64):
                records = equivariance_errors(layer, dtype=dtype, spatial_size=29)
                exact = [r.rel_error for r in records if r.exact]
                other = [r.rel_error for r in records if not r.exact]
                rows.append(
                    {
                        "layer": name,
                        "gspace": label,
                        "dtype": str(dtype).replace("torch.", ""),
                        "n_exact": len(exact),
                        "exact_max_rel": max(exact) if exact else None,
                        "n_interpolated": len(other),
                        "interpolated_max_rel": max(other) if other else None,
                    }
                )
    return rows


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()
    rows = run()
    print(
        f"{'layer':22} {'gspace':8} {'dtype':8} {'exact elems':>11} {'max rel err':>12} "
        f"{'other elems':>11} {'max rel err':>12}"
    )
    for r in rows:
        print(
            f"{r['layer']:22} {r['gspace']:8} {r['dtype']:8} {r['n_exact']:>11} {_fmt(r['exact_max_rel']):>12} "
            f"{r['n_interpolated']:>11} {_fmt(r['interpolated_max_rel']):>12}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
