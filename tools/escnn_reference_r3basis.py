"""Generate tests/data/escnn_r3basis.json: escnn 1.0.11's R3Conv basis dimensions as reference numbers.

Run with escnn's interpreter (numpy < 2), never imported by the package or the tests:

    /work/.escnn-venv/bin/python tools/escnn_reference_r3basis.py [tests/data/escnn_r3basis.json]

Each row of ``rows`` describes one ``R3Conv(in_type, out_type, kernel_size, ...)`` by ids only: the gspace
factory and its arguments, the input and output field (``{"irrep": name, "id": id}``, ``{"regular": true}``
or ``{"bl_regular": L}``), ``kernel_size``, ``dilation`` and the optional ``rings``, ``sigma`` and
``frequencies_cutoff`` (a float, or ``{"callable": name}`` for one of ``CALLABLES``, which the tests define
identically). It stores ``dimension`` (``conv.basisexpansion.dimension()``, 0 where escnn refuses an empty
basis), ``error`` (the exception's class, e.g. a ring outside the grid) or ``escnn_failure`` (escnn
itself could not build the basis, e.g. ``InsufficientIrrepsException``; the tests skip those rows).
Rows are written after every gspace; ``--only factory ...`` recomputes those factories' rows and keeps the
others. ``fco_default`` samples escnn's
default frequency cut-off of R3Conv (``_manual_fco1``) as ``[max_radius, r, value]``.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from escnn import gspaces, nn  # noqa: E402
from escnn.nn.modules.conv import r3convolution  # noqa: E402

CALLABLES = {
    "lin2.5": lambda r: 2.5 * r,
    "const2": lambda r: 2.0,
    "sqrt3": lambda r: 3.0 * math.sqrt(r),
}

#: (factory, kwargs) of the gspaces swept
GSPACES = [
    ("rot3dOnR3", {}),
    ("flipRot3dOnR3", {}),
    ("octaOnR3", {}),
    ("fullOctaOnR3", {}),
    ("rot2dOnR3", {"n": -1}),
    ("rot2dOnR3", {"n": 4}),
    ("dihedralOnR3", {"n": -1}),
    ("dihedralOnR3", {"n": 3}),
    ("conicalOnR3", {"n": -1}),
    ("conicalOnR3", {"n": 4}),
    ("cylindricalOnR3", {"n": -1}),
    ("cylindricalOnR3", {"n": 2}),
    ("fullCylindricalOnR3", {"n": -1}),
    ("fullCylindricalOnR3", {"n": 2}),
    ("invOnR3", {}),
    ("mirOnR3", {}),
    ("trivialOnR3", {}),
    ("icoOnR3", {}),
    ("fullIcoOnR3", {}),
]


def _listed_irreps(gs):
    G = gs.fibergroup
    if gs.name.startswith("SO(3)"):
        return [G.irrep(l) for l in range(4)]
    if gs.name.startswith("O(3)"):
        return [G.irrep(j, l) for j in range(2) for l in range(3)]
    if gs.name.startswith("SO(2)"):
        return [G.irrep(k) for k in range(4)]
    if gs.name.startswith("O(2)"):
        return [G.irrep(0, 0), G.irrep(1, 0), G.irrep(1, 1), G.irrep(1, 2)]
    return list(G.irreps())


_IRREPS: dict = {}


def _field(gs, desc):
    G = gs.fibergroup
    if "irrep" in desc:
        return _IRREPS[(gs.name, desc["irrep"])]
    if "regular" in desc:
        return G.regular_representation
    return G.bl_regular_representation(desc["bl_regular"])


def _jsonable(x):
    return [_jsonable(v) for v in x] if isinstance(x, (tuple, list)) else x


def _desc(irr):
    return {"irrep": irr.name, "id": _jsonable(irr.id)}


def _dimension(gs, row):
    kw = {"dilation": row["dilation"], "initialize": False}
    for key in ("rings", "sigma"):
        if key in row:
            kw[key] = row[key]
    if "frequencies_cutoff" in row:
        f = row["frequencies_cutoff"]
        kw["frequencies_cutoff"] = CALLABLES[f["callable"]] if isinstance(f, dict) else f
    ti = nn.FieldType(gs, [_field(gs, row["in"])])
    to = nn.FieldType(gs, [_field(gs, row["out"])])
    try:
        conv = nn.R3Conv(ti, to, row["kernel_size"], **kw)
    except ValueError as exc:
        if "empty" in str(exc):
            return {"dimension": 0}
        return {"error": type(exc).__name__}
    except AssertionError:
        return {"error": "AssertionError"}
    except Exception as exc:  # escnn itself fails (e.g. too few irreps instantiated): kept, skipped by tests
        return {"escnn_failure": type(exc).__name__}
    return {"dimension": int(conv.basisexpansion.dimension())}


def _save(path, rows):
    fco = []
    for M in (1, 2, 3):
        fn = r3convolution._manual_fco1(M)
        for r in (0.0, 0.25, 0.5, 0.8, 1.0, 1.2, 1.5, 1.7, 2.0, 2.3, 2.5, 3.0, 3.4, 4.0, 5.0):
            fco.append([M, r, float(fn(r))])
    data = {
        "escnn": "1.0.11",
        "generator": "tools/escnn_reference_r3basis.py",
        "callables": {"lin2.5": "2.5 * r", "const2": "2.0", "sqrt3": "3 * sqrt(r)"},
        "fco_default": fco,
        "rows": rows,
    }
    with open(path, "w") as fh:
        json.dump(data, fh, indent=0)
        fh.write("\n")


def main(path: str, only: list[str]) -> None:
    rows = []
    if only:
        try:
            with open(path) as fh:
                rows = [r for r in json.load(fh)["rows"] if r["gspace"] not in only]
        except FileNotFoundError:
            pass

    def add(factory, kwargs, gs, i, o, k, **extra):
        row = {"gspace": factory, "gspace_kwargs": kwargs, "in": i, "out": o, "kernel_size": k, "dilation": 1}
        row.update(extra)
        row.update(_dimension(gs, row))
        rows.append(row)

    start = time.time()
    for factory, kwargs in GSPACES:
        if only and factory not in only:
            continue
        gs = getattr(gspaces, factory)(**kwargs)
        listed = _listed_irreps(gs)
        _IRREPS.update({(gs.name, irr.name): irr for irr in listed})
        irreps = [_desc(i) for i in listed]
        many = len(irreps) > 6
        for a, i in enumerate(irreps):
            for b, o in enumerate(irreps):
                add(factory, kwargs, gs, i, o, 3)
                if not many or a == b or a == 0 or b == 0:
                    add(factory, kwargs, gs, i, o, 5)
                if a == b or (a, b) in ((0, 1), (1, 2), (2, 1)):
                    add(factory, kwargs, gs, i, o, 1)
                    add(factory, kwargs, gs, i, o, 7)
        finite = 0 < gs.fibergroup.order() <= 60
        if finite:
            reg = {"regular": True}
            order = gs.fibergroup.order()
            add(factory, kwargs, gs, reg, reg, 3)
            add(factory, kwargs, gs, irreps[0], reg, 3)
            if order < 60:
                add(factory, kwargs, gs, reg, irreps[-1], 5)
            if order <= 24 or factory == "icoOnR3":
                add(factory, kwargs, gs, reg, reg, 5)
            if order <= 8:
                add(factory, kwargs, gs, reg, reg, 7)
        if factory in ("rot3dOnR3", "flipRot3dOnR3"):
            for L in (1, 2):
                bl = {"bl_regular": L}
                add(factory, kwargs, gs, bl, bl, 3)
                add(factory, kwargs, gs, irreps[0], bl, 5)
            add(factory, kwargs, gs, {"bl_regular": 1}, {"bl_regular": 2}, 5)
        # dilation, explicit rings / sigma / cut-offs, even sizes
        i, o = irreps[min(1, len(irreps) - 1)], irreps[min(2, len(irreps) - 1)]
        for k in (3, 5):
            add(factory, kwargs, gs, i, o, k, dilation=2)
            add(factory, kwargs, gs, i, i, k, dilation=2)
        for k in (2, 4, 6):
            add(factory, kwargs, gs, i, o, k)
        add(factory, kwargs, gs, i, o, 5, rings=[0.0, 0.7, 1.6, 2.5])
        add(factory, kwargs, gs, i, i, 5, rings=[0.5, 1.5, 2.2], sigma=0.5)
        add(factory, kwargs, gs, i, o, 5, rings=[0.0, 1.0, 2.0], sigma=[0.3, 0.5, 0.7])
        for fco in (0.5, 1.0, 1.5, 2.5):
            add(factory, kwargs, gs, i, o, 5, frequencies_cutoff=fco)
        for name in CALLABLES:
            add(factory, kwargs, gs, i, o, 5, frequencies_cutoff={"callable": name})
            add(factory, kwargs, gs, i, i, 3, frequencies_cutoff={"callable": name}, sigma=0.6)
        add(factory, kwargs, gs, i, o, 3, rings=[0.0, 1.8])
        add(factory, kwargs, gs, i, o, 3, rings=[0.0, 1.7], sigma=0.005)
        print(factory, kwargs, len(rows), f"{time.time() - start:.0f}s", file=sys.stderr, flush=True)
        _save(path, rows)


if __name__ == "__main__":
    args = sys.argv[1:]
    target = args[0] if args and not args[0].startswith("--") else "tests/data/escnn_r3basis.json"
    main(target, args[args.index("--only") + 1 :] if "--only" in args else [])
