"""Generate tests/data/escnn_r3conv.json: escnn 1.0.11's parameter counts of whole R3Conv/R3ConvTransposed.

Run with escnn's interpreter (numpy < 2), never imported by the package or the tests:

    /work/.escnn-venv/bin/python tools/escnn_reference_r3conv.py [tests/data/escnn_r3conv.json]

Where ``tools/escnn_reference_r3basis.py`` sweeps single pairs of fields, this sweeps layers as users write
them: several fields of mixed representations with multiplicities, ``groups``, the bias, the transposed
layer, and the rows of issue 19's benchmark table. Fields are described by ids as in that tool
(``{"irrep": name}``, ``{"regular": true}``, ``{"bl_regular": L}``), each with a multiplicity ``n``. Each
row stores ``weights`` (``basisexpansion.dimension()``), ``bias`` (the bias parameter's size, 0 without)
and ``parameters`` (every parameter's ``numel`` summed).
"""

from __future__ import annotations

import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from escnn import gspaces, nn  # noqa: E402
from escnn_reference_r3basis import _IRREPS, _desc, _field, _listed_irreps  # noqa: E402

#: (gspace factory, kwargs, [(in fields), (out fields)], kernel_size, extra kwargs)
LAYERS = [
    # issue 19's table
    ("rot3dOnR3", {}, "table:so3-irreps", 5, {}),
    ("rot3dOnR3", {}, "table:so3-blreg2", 5, {}),
    ("flipRot3dOnR3", {}, "table:o3-irreps", 5, {}),
    ("octaOnR3", {}, "table:octa-regular", 3, {}),
    ("icoOnR3", {}, "table:ico-regular", 3, {}),
    # mixed types, multiplicities, groups, bias, padding-independent
    ("rot3dOnR3", {}, "mixed", 3, {}),
    ("rot3dOnR3", {}, "mixed", 5, {"bias": False}),
    ("rot3dOnR3", {}, "groups2", 3, {"groups": 2}),
    ("flipRot3dOnR3", {}, "mixed", 3, {}),
    ("octaOnR3", {}, "mixed", 3, {}),
    ("octaOnR3", {}, "groups2", 3, {"groups": 2}),
    ("fullOctaOnR3", {}, "mixed", 3, {}),
    ("icoOnR3", {}, "mixed", 3, {}),
    ("fullIcoOnR3", {}, "mixed", 3, {}),
    ("rot2dOnR3", {"n": -1}, "mixed", 5, {}),
    ("rot2dOnR3", {"n": 4}, "mixed", 3, {}),
    ("dihedralOnR3", {"n": 3}, "mixed", 3, {}),
    ("conicalOnR3", {"n": -1}, "mixed", 3, {}),
    ("cylindricalOnR3", {"n": 2}, "mixed", 3, {}),
    ("fullCylindricalOnR3", {"n": -1}, "mixed", 3, {}),
    ("invOnR3", {}, "mixed", 3, {}),
    ("mirOnR3", {}, "mixed", 3, {}),
    ("trivialOnR3", {}, "mixed", 3, {}),
]


def _types(gs, kind):
    listed = _listed_irreps(gs)
    _IRREPS.update({(gs.name, irr.name): irr for irr in listed})
    irr = [_desc(i) for i in listed]
    finite = gs.fibergroup.order() > 0
    if kind == "table:so3-irreps":
        f = [dict(irr[0], n=4), dict(irr[1], n=4), dict(irr[2], n=4)]
        return f, f
    if kind == "table:so3-blreg2":
        f = [{"bl_regular": 2, "n": 4}]
        return f, f
    if kind == "table:o3-irreps":
        f = [dict(i, n=2) for i in irr[:6]]
        return f, f
    if kind == "table:octa-regular":
        f = [{"regular": True, "n": 2}]
        return f, f
    if kind == "table:ico-regular":
        f = [{"regular": True, "n": 1}]
        return f, f
    a, b = irr[0], irr[min(1, len(irr) - 1)]
    c = irr[-1]
    extra = [{"regular": True, "n": 1}] if finite and gs.fibergroup.order() <= 24 else []
    if kind == "mixed":
        return [dict(a, n=2), dict(b, n=1), dict(c, n=1)] + extra, [dict(b, n=2), dict(a, n=1)] + extra
    if kind == "groups2":
        one = [dict(a, n=1), dict(b, n=1)] + extra
        return one + one, one + one
    raise ValueError(kind)


def _ftype(gs, fields):
    reps = []
    for f in fields:
        reps += [_field(gs, f)] * f["n"]
    return nn.FieldType(gs, reps)


def main(path: str) -> None:
    rows = []
    for factory, kwargs, kind, k, extra in LAYERS:
        gs = getattr(gspaces, factory)(**kwargs)
        fin, fout = _types(gs, kind)
        for transposed in (False, True):
            cls = nn.R3ConvTransposed if transposed else nn.R3Conv
            conv = cls(_ftype(gs, fin), _ftype(gs, fout), k, initialize=False, **extra)
            bias = 0 if conv.bias is None else int(conv.bias.numel())
            rows.append(
                {
                    "gspace": factory,
                    "gspace_kwargs": kwargs,
                    "kind": kind,
                    "in": fin,
                    "out": fout,
                    "kernel_size": k,
                    "kwargs": extra,
                    "transposed": transposed,
                    "weights": int(conv.basisexpansion.dimension()),
                    "bias": bias,
                    "parameters": int(sum(p.numel() for p in conv.parameters())),
                }
            )
            print(factory, kind, transposed, rows[-1]["parameters"], file=sys.stderr, flush=True)
    with open(path, "w") as fh:
        meta = {"escnn": "1.0.11", "generator": "tools/escnn_reference_r3conv.py"}
        json.dump({**meta, "rows": rows}, fh, indent=0)
        fh.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/escnn_r3conv.json")
