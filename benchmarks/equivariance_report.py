"""Equivariance errors of R2Conv, R2ConvTransposed and R2Diffop on every planar gspace, or (``--3d``) of
R3Conv and R3ConvTransposed on every gspace of R³.

For each layer and gspace, prints the worst relative error over the grid-preserving group elements
(rotations by multiples of 90 degrees, flips; in 3D the cube's rotations and the inversion in the group:
exact image transforms, every pixel compared) and over other elements (interpolated transforms, inner
disc or ball compared), in float32 and float64. In 3D the other elements are up to 4 elements of the finite
groups off the grid, or 4 seeded random elements of the continuous ones.

Usage: ``python benchmarks/equivariance_report.py [--3d] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import torch

from structconv import gspaces
from structconv.nn import FieldType, R2Conv, R2ConvTransposed, R2Diffop, R3Conv, R3ConvTransposed
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


def _spaces_3d() -> list[tuple[str, Any, list, list]]:
    """(label, gspace, representations of the test field type, elements to test) on R³."""
    out = []
    from structconv.gspaces import r3

    # every gspace factory of R³ but the trivial one (escnn's names, in gspaces.r3's order)
    for name in [n for n in r3.__all__ if n.endswith("OnR3") and n != "trivialOnR3"]:
        gs = getattr(gspaces, name)()
        G = gs.fibergroup
        if G.continuous:
            reprs = [gs.trivial_repr] + [
                G.irrep(*i) if isinstance(i, tuple) else G.irrep(i) for i in _low_irreps(G)
            ]
            others = [G.sample(seed) for seed in range(1, 5)] if hasattr(G, "sample") else []
        else:
            reprs = [gs.trivial_repr, G.regular_representation]
            others = list(G.elements)
        out.append((name, gs, reprs, list(gs.testing_elements) + others))
    return out


def _low_irreps(G: Any) -> list:
    """Up to three irrep ids of lowest frequency of a continuous group (escnn's ids)."""
    ids = [irrep.id for irrep in G.irreps()] if callable(G.irreps) else []
    if not ids:
        ids = [G.irreps[n].id for n in list(G.irreps)[:3]]
    return ids[:3]


def run(three_d: bool = False) -> list[dict]:
    """Measure the errors; one row per (layer, gspace, dtype)."""
    rows = []
    spaces = _spaces_3d() if three_d else [(label, gs, reprs, None) for label, gs, reprs in _spaces()]
    for label, gs, reprs, elements in spaces:
        t = FieldType(gs, reprs)
        if three_d:
            layers = {
                "R3Conv k3": lambda t=t: R3Conv(t, t, 3, padding=1),
                "R3ConvTransposed k3": lambda t=t: R3ConvTransposed(t, t, 3, padding=1),
            }
        else:
            layers = {
                "R2Conv k5": lambda t=t: R2Conv(t, t, 5, padding=2),
                "R2ConvTransposed k5": lambda t=t: R2ConvTransposed(t, t, 5, padding=2),
                "R2Diffop k5": lambda t=t: R2Diffop(t, t, kernel_size=5, padding=2),
            }
        for name, make in layers.items():
            torch.manual_seed(0)
            layer = make()
            for dtype in (torch.float32, torch.float64):
                if three_d:
                    records = equivariance_errors(layer, dtype=dtype, spatial_size=11, elements=elements)
                    seen = (
                        set()
                    )  # the finite groups' grid elements come twice (testing elements, all elements)
                    records = [r for r in records if not (str(r.element) in seen or seen.add(str(r.element)))]
                else:
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
    parser.add_argument("--3d", dest="three_d", action="store_true", help="the gspaces of R^3 (R3Conv)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = run(args.three_d)
    print(
        f"{'layer':22} {'gspace':20} {'dtype':8} {'exact elems':>11} {'max rel err':>12} "
        f"{'other elems':>11} {'max rel err':>12}"
    )
    for r in rows:
        print(
            f"{r['layer']:22} {r['gspace']:20} {r['dtype']:8} {r['n_exact']:>11} {_fmt(r['exact_max_rel']):>12} "
            f"{r['n_interpolated']:>11} {_fmt(r['interpolated_max_rel']):>12}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
