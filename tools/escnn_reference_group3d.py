"""Generate tests/data/escnn_group3d.json: reference values of escnn 1.0.11's groups of space.

Run with the escnn oracle's interpreter (it needs numpy < 2, so it cannot run in the project's environment):

    /work/.escnn-venv/bin/python tools/escnn_reference_group3d.py [OUTPUT]

(the environment is built by ``tools/install-oracles.sh`` / ``shared/tools/install-escnn.sh``). The test file
``tests/test_group3d.py`` reads the JSON; it does not need escnn. Ids are stored as Python literals
(``repr``),
arrays as nested lists, adjoint elements as quaternions ``(x, y, z, w)`` (rebuilt on both sides).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

from escnn import group as g  # noqa: E402

OUT = (
    Path(sys.argv[1])
    if len(sys.argv) > 1
    else Path(__file__).resolve().parents[1] / "tests/data/escnn_group3d.json"
)

RNG = np.random.RandomState(12345)
QUATS = RNG.randn(8, 4)
QUATS /= np.linalg.norm(QUATS, axis=1, keepdims=True)
ADJ_Q = np.array([0.1, -0.3, 0.2, 0.9])
ADJ_Q /= np.linalg.norm(ADJ_Q)


def arr(x):
    return np.asarray(x, dtype=float).tolist()


def val(v):
    """A group element value as JSON (ints, floats, arrays; tuples as lists)."""
    if isinstance(v, tuple):
        return [val(x) for x in v]
    if isinstance(v, np.ndarray):
        return arr(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return float(v)


def irreps_meta(G):
    return [
        {
            "name": irr.name,
            "id": repr(irr.id),
            "size": irr.size,
            "attributes": repr(irr.attributes),
            "supported": sorted(irr.supported_nonlinearities),
            "sos": irr.sum_of_squares_constituents,
        }
        for irr in G.irreps()
    ]


def restrictions(G, sid, irreps):
    out = []
    for irr in irreps:
        try:
            r = irr.restrict(sid)
        except Exception as err:  # noqa: BLE001 - escnn's own failures are recorded
            out.append({"irrep": repr(irr.id), "error": type(err).__name__})
            continue
        out.append(
            {
                "irrep": repr(irr.id),
                "irreps": [repr(i) for i in r.irreps],
                "Q": arr(r.change_of_basis),
                "name": r.name,
            }
        )
    return out


def subgroup_entry(G, sid, sid_json, irreps, n_elems=6):
    try:
        H, pmap, cmap = G.subgroup(sid)
    except Exception as err:  # noqa: BLE001
        return {"id": sid_json, "error": type(err).__name__}
    elems = list(H.elements) if not H.continuous else list(H.testing_elements())
    step = max(1, len(elems) // n_elems)
    pairs = [[val(h.value), val(pmap(h).value)] for h in elems[::step]]
    return {
        "id": sid_json,
        "name": H.name,
        "order": H.order(),
        "pairs": pairs,
        "restrictions": restrictions(G, sid, irreps),
    }


def main():
    data = {"escnn": "1.0.11", "quats": arr(QUATS), "adj_q": arr(ADJ_Q)}

    # ------------------------------------------------------------------ SO(3)
    S = g.so3_group(4)
    els = [S.element(q, "Q") for q in QUATS]
    data["so3"] = {
        "name": S.name,
        "params": list(S.PARAMETRIZATIONS),
        "conversions": {p: [val(e.to(p)) for e in els[:4]] for p in S.PARAMETRIZATIONS},
        "irreps": irreps_meta(S),
        "matrices": {str(l): [arr(S.irrep(l)(e)) for e in els] for l in range(6)},
        "products": [val((a @ b).value) for a, b in zip(els[:4], els[4:])],
        "inverses": [val((~a).value) for a in els[:4]],
        "bl_irreps": [repr(i) for i in S.bl_irreps(3)],
        "testing_elements": len(list(S.testing_elements())),
        "standard": {
            "irreps": [repr(i) for i in S.standard_representation().irreps],
            "Q": arr(S.standard_representation().change_of_basis),
        },
        "bl_regular": {
            str(L): [
                S.bl_regular_representation(L).name,
                [repr(i) for i in S.bl_regular_representation(L).irreps],
                arr(S.bl_regular_representation(L).change_of_basis),
                sorted(S.bl_regular_representation(L).supported_nonlinearities),
            ]
            for L in range(3)
        },
        "bl_sphere": {
            str(L): [
                S.bl_sphere_representation(L).name,
                [repr(i) for i in S.bl_sphere_representation(L).irreps],
            ]
            for L in range(4)
        },
        "bl_quotient": {
            repr(sid): [
                S.bl_quotient_representation(3, sid).name,
                [repr(i) for i in S.bl_quotient_representation(3, sid).irreps],
            ]
            for sid in [(False, 4), (True, -1), (True, 3), (False, 1), "octa"]
        },
        "tensor": {
            f"{a},{b}": [[repr(i), m] for i, m in S._tensor_product_irreps((a,), (b,))]
            for a in range(4)
            for b in range(4)
        },
        "cg": {
            f"{a},{b},{c}": arr(S._clebsh_gordan_coeff((a,), (b,), (c,)))
            for a in range(4)
            for b in range(4)
            for c in range(abs(a - b), a + b + 1)
        },
        "tensor_rep": [
            S.irrep(1).tensor(S.irrep(2)).name,
            [repr(i) for i in S.irrep(1).tensor(S.irrep(2)).irreps],
        ],
    }
    adj = S.element(ADJ_Q, "Q")
    so3_ids = [
        ("so3", "'so3'"),
        ("octa", "'octa'"),
        ("ico", "'ico'"),
        ((False, -1), "(False, -1)"),
        ((False, 1), "(False, 1)"),
        ((False, 2), "(False, 2)"),
        ((False, 3), "(False, 3)"),
        ((False, 4), "(False, 4)"),
        ((True, -1), "(True, -1)"),
        ((True, 1), "(True, 1)"),
        ((True, 2), "(True, 2)"),
        ((True, 3), "(True, 3)"),
        ((True, 4), "(True, 4)"),
        ((0.5, -1), "(0.5, -1)"),
        ((0.5, 3), "(0.5, 3)"),
        ((0.5, 1), "(0.5, 1)"),
        ((False, -1, adj), "(False, -1, ADJ)"),
        ((True, 3, adj), "(True, 3, ADJ)"),
        ((0.5, 2, adj), "(0.5, 2, ADJ)"),
        (("octa", adj), "('octa', ADJ)"),
        ((True, 1, adj), "(True, 1, ADJ)"),
    ]
    data["so3"]["subgroups"] = [
        subgroup_entry(S, sid, js, [S.irrep(l) for l in range(4)]) for sid, js in so3_ids
    ]

    # ------------------------------------------------------------------ O(3)
    O = g.o3_group(3)
    oels = [O.element((i % 2, q), "Q") for i, q in enumerate(QUATS)]
    data["o3"] = {
        "name": O.name,
        "params": list(O.PARAMETRIZATIONS),
        "conversions": {p: [val(e.to(p)) for e in oels[:4]] for p in ["Q", "MAT", "EV", "zyz", "XYZ"]},
        "irreps": irreps_meta(O),
        "matrices": {repr((j, l)): [arr(O.irrep(j, l)(e)) for e in oels] for j in (0, 1) for l in range(4)},
        "products": [val((a @ b).value) for a, b in zip(oels[:4], oels[4:])],
        "bl_irreps": [repr(i) for i in O.bl_irreps(3)],
        "testing_elements": len(list(O.testing_elements())),
        "standard": {
            "irreps": [repr(i) for i in O.standard_representation().irreps],
            "Q": arr(O.standard_representation().change_of_basis),
        },
        "bl_regular": {
            str(L): [
                O.bl_regular_representation(L).name,
                [repr(i) for i in O.bl_regular_representation(L).irreps],
            ]
            for L in range(3)
        },
        "bl_sphere": {
            str(L): [
                O.bl_sphere_representation(L).name,
                [repr(i) for i in O.bl_sphere_representation(L).irreps],
            ]
            for L in range(4)
        },
        "bl_quotient": {
            repr(sid): [
                O.bl_quotient_representation(3, sid).name,
                [repr(i) for i in O.bl_quotient_representation(3, sid).irreps],
            ]
            for sid in [(True, False, -1), (False, "so3"), ("cone", 4), (True, True, 2), (False, False, 1)]
        },
        "tensor": {
            f"{a};{b}": [[repr(i), m] for i, m in O._tensor_product_irreps(a, b)]
            for a in [(0, 1), (1, 1), (1, 2)]
            for b in [(0, 0), (1, 1), (1, 2), (0, 3)]
        },
    }
    oadj = O.element((0, ADJ_Q), "Q")
    o3_ids = [
        ("so3", "'so3'"),
        ("o3", "'o3'"),
        ((False, "so3"), "(False, 'so3')"),
        ((False, "ico"), "(False, 'ico')"),
        ((False, "octa"), "(False, 'octa')"),
        ((False, False, -1), "(False, False, -1)"),
        ((False, False, 3), "(False, False, 3)"),
        ((False, True, -1), "(False, True, -1)"),
        ((False, True, 3), "(False, True, 3)"),
        ((False, True, 1), "(False, True, 1)"),
        ((False, 0.5, 2), "(False, 0.5, 2)"),
        ((True, "so3"), "(True, 'so3')"),
        ((True, "ico"), "(True, 'ico')"),
        ((True, "octa"), "(True, 'octa')"),
        ((True, False, -1), "(True, False, -1)"),
        ((True, False, 1), "(True, False, 1)"),
        ((True, False, 2), "(True, False, 2)"),
        ((True, False, 3), "(True, False, 3)"),
        ((True, True, -1), "(True, True, -1)"),
        ((True, True, 3), "(True, True, 3)"),
        ((True, True, 1), "(True, True, 1)"),
        ((True, 0.5, 2), "(True, 0.5, 2)"),
        (("cone", -1), "('cone', -1)"),
        (("cone", 1), "('cone', 1)"),
        (("cone", 3), "('cone', 3)"),
        (("cone", 0.5, -1), "('cone', 0.5, -1)"),
        (("cone", 0.5, 3), "('cone', 0.5, 3)"),
        (("cone", 0.5, 1), "('cone', 0.5, 1)"),
        (("cone", np.pi, 4), "('cone', PI, 4)"),
        (("cone", 4, oadj), "('cone', 4, ADJ)"),
        ((False, False, 4, oadj), "(False, False, 4, ADJ)"),
        ((True, True, 3, oadj), "(True, True, 3, ADJ)"),
        ((True, np.pi / 2, 4), "(True, PI/2, 4)"),
    ]
    o3_irreps = [O.irrep(j, l) for l in range(4) for j in (0, 1)]
    data["o3"]["subgroups"] = [subgroup_entry(O, sid, js, o3_irreps) for sid, js in o3_ids]

    # ------------------------------------------------------------------ finite groups
    data["finite"] = {}
    for G in [
        g.octa_group(),
        g.ico_group(),
        g.full_octa_group(),
        g.full_ico_group(),
        g.klein4_group(),
        g.cylinder_discrete_group(3),
        g.full_cylinder_discrete_group(2),
    ]:
        elems = G.elements
        entry = {
            "order": G.order(),
            "param": G.PARAM,
            "elements": [val(e.value) for e in elems],
            "generators": [val(e.value) for e in G.generators],
            "irreps": irreps_meta(G),
            "testing_elements": len(list(G.testing_elements())),
        }
        if G.order() <= 60:
            entry["matrices"] = {irr.name: [arr(irr(e)) for e in elems] for irr in G.irreps()}
        else:
            entry["characters"] = {irr.name: [float(irr.character(e)) for e in elems] for irr in G.irreps()}
        reg = G.regular_representation
        entry["regular"] = {
            "irreps": [repr(i) for i in reg.irreps],
            "supported": sorted(reg.supported_nonlinearities),
        }
        if G.order() <= 24:
            entry["regular"]["Q"] = arr(reg.change_of_basis)
        names = [irr.id for irr in G.irreps()]
        entry["tensor"] = (
            {
                f"{a!r};{b!r}": [[repr(i), m] for i, m in G._tensor_product_irreps(a, b)]
                for a in names
                for b in names
            }
            if G.order() <= 60
            else {}
        )
        data["finite"][G.name] = entry
    O24, I60 = g.octa_group(), g.ico_group()
    for G, ids in [
        (O24, [(False, 1), (False, 2), (False, 3), (False, 4), (True, 1)]),
        (I60, [(False, 1), (False, 2), (False, 3), (False, 5), (True, 1)]),
    ]:
        data["finite"][G.name]["subgroups"] = [
            subgroup_entry(G, sid, repr(sid), list(G.irreps()), n_elems=10) for sid in ids
        ]
    for sid in [(False, 4), (False, 3)]:
        q = O24.quotient_representation(sid)
        data["finite"]["Octahedral"].setdefault("quotient", {})[repr(sid)] = [
            q.name,
            [repr(i) for i in q.irreps],
            q.size,
        ]

    Ico_quot = data["finite"]["Icosahedral"].setdefault("quotient", {})
    for sid in [(False, 2), (False, 3), (False, 5), (True, 1)]:
        q = I60.quotient_representation(sid)
        Ico_quot[repr(sid)] = [q.name, [repr(i) for i in q.irreps], q.size]

    # ------------------------------------------------------------------ subgroups of the product groups
    product_ids = {
        "FullOctahedral": (
            g.full_octa_group(),
            [
                (1, (False, 4)),
                (1, (False, 1)),
                (1, (False, 3)),
                (1, (False, 2)),
                (1, (True, 1)),
                (2, (False, 4)),
                (2, "octa"),
                (1, "octa"),
            ],
        ),
        "FullIcosahedral": (
            g.full_ico_group(),
            [(1, (False, 5)), (1, (False, 1)), (1, (False, 2)), (2, (False, 3)), (1, "ico")],
        ),
        "CylindricalDiscrete": (g.cylinder_discrete_group(4), [(1, 2), (1, 1), (2, 2), (1, 4)]),
        "FullCylindricalDiscrete": (
            g.full_cylinder_discrete_group(4),
            [(1, (None, 2)), (1, (0, 1)), (1, (None, 4)), (2, (0, 2))],
        ),
        "Cylindrical": (g.cylinder_group(3), [(1, 4), (1, 1), (2, 3), (1, -1)]),
        "FullCylindrical": (
            g.full_cylinder_group(3),
            [(1, (None, 4)), (1, (0.0, 2)), (1, (None, 1)), (2, (None, -1))],
        ),
    }
    data["product_subgroups"] = {}
    for name, (G, ids) in product_ids.items():
        irreps = list(G.irreps())[:12]
        data["product_subgroups"][name] = [subgroup_entry(G, sid, repr(sid), irreps) for sid in ids]

    # ------------------------------------------------------------------ O(3) Clebsch-Gordan, mixed parities
    data["o3"]["cg"] = {
        f"{a!r};{b!r};{c!r}": arr(O._clebsh_gordan_coeff(a, b, c))
        for a in [(0, 1), (1, 1), (1, 2)]
        for b in [(1, 1), (0, 2)]
        for c in [(0, 0), (1, 1), (0, 1), (1, 2), (0, 2), (1, 3), (0, 3)]
        if abs(a[1] - b[1]) <= c[1] <= a[1] + b[1] and (a[0] + b[0]) % 2 == c[0]
    }

    # ------------------------------------------------------------------ continuous products
    data["continuous_products"] = {}
    for G in [g.cylinder_group(3), g.full_cylinder_group(3)]:
        data["continuous_products"][G.name] = {
            "param": G.PARAM,
            "irreps": irreps_meta(G),
            "matrices": {
                irr.name: [[val(e.value), arr(irr(e))] for e in list(G.testing_elements())[::17]]
                for irr in G.irreps()
            },
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
