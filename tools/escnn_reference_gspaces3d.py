"""Generate tests/data/escnn_gspaces3d.json: escnn 1.0.11's 3D gspaces (the ``*OnR3`` factories) as reference.

Run with escnn's interpreter (numpy < 2), never imported by the package or the tests:

    /work/.escnn-venv/bin/python tools/escnn_reference_gspaces3d.py [tests/data/escnn_gspaces3d.json]

For every factory call listed in ``CASES`` it stores the gspace's name, dimensionality, fibre group name and
order, the irreps (id and name), the trivial representation's name, the irreps of ``basespace_action``, and
for (up to ``MAX_ELEMENTS``) testing elements the element's value (escnn's parametrization, nested lists) with
the ``3 x 3`` matrix ``basespace_action(g)``. For ``RESTRICT`` it stores the name, fibre group and id (without
the adjoint) of ``gspace.restrict(id)[0]``.
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from escnn import gspaces  # noqa: E402
from escnn.group import GroupElement, o3_group  # noqa: E402

MAX_ELEMENTS = 24
#: a generic rotation (unit quaternion (x, y, z, w)) for the ``adjoint`` arguments
ADJ = [0.2, -0.4, 0.5, float(np.sqrt(1 - 0.04 - 0.16 - 0.25))]

#: (label, factory, kwargs)
CASES = [
    ("rot3dOnR3", "rot3dOnR3", {}),
    ("rot3dOnR3(mf=3)", "rot3dOnR3", {"maximum_frequency": 3}),
    ("flipRot3dOnR3", "flipRot3dOnR3", {}),
    ("octaOnR3", "octaOnR3", {}),
    ("fullOctaOnR3", "fullOctaOnR3", {}),
    ("icoOnR3", "icoOnR3", {}),
    ("fullIcoOnR3", "fullIcoOnR3", {}),
    ("trivialOnR3", "trivialOnR3", {}),
    ("invOnR3", "invOnR3", {}),
    ("mirOnR3", "mirOnR3", {}),
    ("mirOnR3(axis=0)", "mirOnR3", {"axis": 0.0}),
    ("rot2dOnR3", "rot2dOnR3", {}),
    ("rot2dOnR3(8)", "rot2dOnR3", {"n": 8}),
    ("dihedralOnR3", "dihedralOnR3", {}),
    ("dihedralOnR3(4)", "dihedralOnR3", {"n": 4}),
    ("dihedralOnR3(6,axis=0)", "dihedralOnR3", {"n": 6, "axis": 0.0}),
    ("conicalOnR3", "conicalOnR3", {}),
    ("conicalOnR3(4)", "conicalOnR3", {"n": 4}),
    ("conicalOnR3(3,axis=0.3)", "conicalOnR3", {"n": 3, "axis": 0.3}),
    ("cylindricalOnR3", "cylindricalOnR3", {}),
    ("cylindricalOnR3(4)", "cylindricalOnR3", {"n": 4}),
    ("fullCylindricalOnR3", "fullCylindricalOnR3", {}),
    ("fullCylindricalOnR3(4)", "fullCylindricalOnR3", {"n": 4}),
    ("fullCylindricalOnR3(2,axis=0)", "fullCylindricalOnR3", {"n": 2, "axis": 0.0}),
    # adjoint: an O(3) element (inversion flag, quaternion (x, y, z, w)) moving the axis
    ("rot2dOnR3(4,adjoint)", "rot2dOnR3", {"n": 4, "adjoint": [0, ADJ]}),
    ("dihedralOnR3(3,adjoint)", "dihedralOnR3", {"n": 3, "adjoint": [0, ADJ]}),
    ("conicalOnR3(adjoint)", "conicalOnR3", {"adjoint": [1, ADJ]}),
    ("cylindricalOnR3(adjoint)", "cylindricalOnR3", {"adjoint": [0, ADJ]}),
]

RESTRICT = [
    ("rot3dOnR3", (False, -1)),
    ("rot3dOnR3", (False, 4)),
    ("rot3dOnR3", (True, -1)),
    ("rot3dOnR3", (True, 3)),
    ("rot3dOnR3", "octa"),
    ("rot3dOnR3", "ico"),
    ("rot3dOnR3", (False, 1)),
    ("flipRot3dOnR3", "so3"),
    ("flipRot3dOnR3", (False, "octa")),
    ("flipRot3dOnR3", (True, "octa")),
    ("flipRot3dOnR3", (True, "ico")),
    ("flipRot3dOnR3", ("cone", -1)),
    ("flipRot3dOnR3", ("cone", 4)),
    ("flipRot3dOnR3", (True, False, -1)),
    ("flipRot3dOnR3", (True, True, 4)),
    ("flipRot3dOnR3", (False, True, -1)),
    ("flipRot3dOnR3", (True, False, 1)),
    ("flipRot3dOnR3", (False, False, 1)),
]


def plain(v):
    """escnn element value -> nested lists / numbers (a quaternion stays a list of 4 floats)."""
    if isinstance(v, GroupElement):
        return plain(v.value)
    if isinstance(v, np.ndarray):
        return [float(a) for a in v.ravel()]
    if isinstance(v, (tuple, list)):
        return [plain(a) for a in v]
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    return float(v)


def id_str(sg_id):
    """The id without escnn's trailing adjoint element."""
    if isinstance(sg_id, tuple) and sg_id and isinstance(sg_id[-1], GroupElement):
        sg_id = sg_id[:-1]
    return repr(sg_id)


def main() -> None:
    out = {"escnn": "1.0.11", "gspaces": {}, "restrict": []}
    for label, fname, kwargs in CASES:
        kw = dict(kwargs)
        if "adjoint" in kw:
            inv, q = kw["adjoint"]
            kw["adjoint"] = o3_group().element((inv, np.array(q)), "Q")
        gs = getattr(gspaces, fname)(**kw)
        G = gs.fibergroup
        els = list(gs.testing_elements)[:MAX_ELEMENTS]
        out["gspaces"][label] = {
            "factory": fname,
            "kwargs": kwargs,
            "name": gs.name,
            "dimensionality": gs.dimensionality,
            "group": G.name,
            "order": G.order(),
            "continuous": bool(G.continuous),
            "sg_id": id_str(gs._sg_id),
            "irreps": [[repr(irr.id), irr.name] for irr in gs.irreps],
            "trivial": gs.trivial_repr.name,
            "basespace_irreps": [repr(i) for i in gs.basespace_action.irreps],
            "elements": [
                {"param": g.param, "value": plain(g.value), "matrix": gs.basespace_action(g).tolist()}
                for g in els
            ],
        }
    for fname, sid in RESTRICT:
        gs = getattr(gspaces, fname)()
        try:
            sub = gs.restrict(sid)[0]
            out["restrict"].append(
                {
                    "gspace": fname,
                    "id": repr(sid),
                    "name_prefix": sub.name.split("[")[0],
                    "group": sub.fibergroup.name,
                    "sg_id": id_str(sub._sg_id),
                }
            )
        except Exception as err:  # noqa: BLE001 - recorded as escnn's behaviour
            out["restrict"].append({"gspace": fname, "id": repr(sid), "error": type(err).__name__})
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/escnn_gspaces3d.json"
    with open(path, "w") as f:  # escnn's disk cache prints to stdout: write the file directly
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
