"""Construction time of the groups of space, each in a fresh process: structconv against escnn 1.0.11.

For every escnn 3D gspace (``rot3dOnR3``, ``octaOnR3``, ``conicalOnR3``, ...) it builds, in a new interpreter,
what that gspace needs from the group layer: O(3) with its irreps up to degree ``L`` (default 3), the gspace's
subgroup (``O3.subgroup(id)``) and the restriction of every O(3) irrep to it (the fibre group's irreps come with
it). Times:

* ``import``: importing the group package (structconv: ``structconv.group`` and the 3D modules, numpy and
  scipy only; escnn: ``escnn.group``, which imports torch);
* ``cold``: the first construction in the process (structconv builds everything from numpy / scipy; escnn reads
  what it could cache on disk - its irreps of the octahedral and icosahedral groups took 15 s and 50 s to compute
  the first time they were built on this machine, then sit in ``escnn/group/_cache``);
* ``warm``: the same construction again in the same process (the factories' singletons);
* ``regular``: then, for a finite fibre group, its regular representation (built on first use).

Each number is the median over ``--runs`` fresh processes. escnn runs when its interpreter is given
(``--escnn /path/to/python``, default ``../.escnn-venv/bin/python`` beside the checkout) and exists.

Usage: ``python benchmarks/group3d_build.py [--runs 5] [--L 3] [--escnn PATH] [--only name,...]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

#: escnn gspace -> the O(3) subgroup id its fibre group is (as ``gspace._sg_id`` without the adjoint).
GSPACES = {
    "rot3dOnR3": (False, "so3"),
    "flipRot3dOnR3": (True, "so3"),
    "octaOnR3": (False, "octa"),
    "fullOctaOnR3": (True, "octa"),
    "icoOnR3": (False, "ico"),
    "fullIcoOnR3": (True, "ico"),
    "rot2dOnR3": (False, False, -1),
    "rot2dOnR3(8)": (False, False, 8),
    "conicalOnR3": ("cone", -1),
    "conicalOnR3(8)": ("cone", 8),
    "cylindricalOnR3": (True, False, -1),
    "cylindricalOnR3(8)": (True, False, 8),
    "fullCylindricalOnR3": (True, True, -1),
    "fullCylindricalOnR3(8)": (True, True, 8),
    "dihedralOnR3": (False, True, -1),
    "dihedralOnR3(8)": (False, True, 8),
    "invOnR3": (True, False, 1),
    "mirOnR3": ("cone", 1),
}

_CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
sid, L, lib = eval(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
if lib == "structconv":
    from structconv.group.o3 import o3_group
    import structconv.group.so3, structconv.group.polyhedral, structconv.group.directproduct  # noqa: F401
else:
    from escnn.group import o3_group
t1 = time.perf_counter()
def build():
    G = o3_group(L)
    H, _, _ = G.subgroup(sid)
    rs = [G.restrict_representation(sid, G.irrep(j, l)) for l in range(L + 1) for j in (0, 1)]
    return H, rs
H, _ = build()
t2 = time.perf_counter()
build()
t3 = time.perf_counter()
if not H.continuous and H.order() > 1:
    H.regular_representation
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "cold": t2 - t1, "warm": t3 - t2, "regular": t4 - t3}))
"""


def _run(python: str, sid: tuple, L: int, lib: str, cwd: Path) -> dict[str, float]:
    out = subprocess.run(
        [python, "-c", _CHILD, repr(sid), str(L), lib], capture_output=True, text=True, cwd=cwd, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--L", type=int, default=3)
    p.add_argument("--escnn", default=str(root.parent / ".escnn-venv/bin/python"))
    p.add_argument("--only", default="")
    args = p.parse_args()
    names = [n for n in GSPACES if not args.only or n in args.only.split(",")]
    libs = [("structconv", sys.executable)]
    if Path(args.escnn).exists():
        libs.append(("escnn", args.escnn))
    else:
        print(f"(escnn interpreter {args.escnn} not found: structconv only)")
    print(f"median of {args.runs} fresh processes, O(3) irreps up to L = {args.L}; milliseconds")
    header = f"{'gspace':24s}" + "".join(
        f"{lib[:6] + ' ' + k:>15s}" for lib, _ in libs for k in ("import", "cold", "warm", "regular")
    )
    print(header)
    for name in names:
        row = f"{name:24s}"
        for lib, python in libs:
            runs = [_run(python, GSPACES[name], args.L, lib, root / "src") for _ in range(args.runs)]
            for k in ("import", "cold", "warm", "regular"):
                row += f"{1e3 * statistics.median(r[k] for r in runs):15.1f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
