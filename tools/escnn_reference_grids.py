"""Generate tests/data/escnn_grids.json: escnn 1.0.11's group and sphere grids as reference.

Run with escnn's interpreter (numpy < 2), never imported by the package or the tests:

    /work/.escnn-venv/bin/python tools/escnn_reference_grids.py [tests/data/escnn_grids.json]

Stored (``tests/test_grids_escnn.py`` compares ``structconv.group.grids`` with them):

* ``group``: ``G.grid(*args, **kwargs)`` of SO(3) / O(3) as quaternions ``(x, y, z, w)`` (O(3): with the
  inversion flag ``j``), in escnn's order (for ``'hopf'`` and ``'fibonacci'`` the order of a Python set);
* ``sphere``: the points :math:`g e_z` of ``G.sphere_grid(*args, **kwargs)`` (SO(3): the third column of the
  rotation; O(3): of its standard representation);
* ``sizes``: only the number of elements, for more arguments;
* ``product``: ``G.grid(**kwargs)`` of the direct products ``C2 × H`` (values ``(j, h)``);
* ``fourier``: the output of a Fourier non-linearity on one of these grids for the deterministic input
  ``sin(0.37 n + 0.1) + 0.2`` over the flat index ``n`` of ``(2, size, *shape)`` (float32, 9 digits).

``adj`` is written as a quaternion ``[x, y, z, w]`` (escnn's SO(3) takes an element, its O(3) ``grid`` the
raw quaternion) or, for O(3) sphere grids, ``[j, [x, y, z, w]]``. escnn's ``'thomson'`` / ``'thomson_cube'``
grids come from a seeded optimisation and are not stored (ours are our own, see
``structconv.group.grids``).
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from escnn import gspaces, nn  # noqa: E402
from escnn.group import (  # noqa: E402
    cylinder_discrete_group,
    cylinder_group,
    full_cylinder_discrete_group,
    full_cylinder_group,
    o3_group,
    so3_group,
)

ADJ = [0.1, -0.3, 0.25, 0.9]
ADJ = list(np.asarray(ADJ) / np.linalg.norm(ADJ))

#: label, group ('SO3' / 'O3'), args, kwargs (``adj``: see the module docstring)
GROUP_CASES = [
    ("so3_hopf_20", "SO3", ["hopf", 20], {}),
    ("so3_hopf_100", "SO3", ["hopf", 100], {}),
    ("so3_hopf_200_kw", "SO3", ["hopf"], {"N": 200}),
    ("so3_hopf_60_adj", "SO3", ["hopf", 60], {"adj": ADJ}),
    ("so3_fibonacci_4", "SO3", ["fibonacci", 4], {}),
    ("so3_fibonacci_10", "SO3", ["fibonacci", 10], {}),
    ("so3_fibonacci_100", "SO3", ["fibonacci"], {"N": 100}),
    ("so3_fibonacci_300_param", "SO3", ["fibonacci", 300], {"parametrization": "MAT"}),
    ("so3_fibonacci_30_adj", "SO3", ["fibonacci", 30], {"adj": ADJ}),
    ("so3_cube_adj", "SO3", ["cube"], {"adj": ADJ}),
    ("so3_ico", "SO3", ["ico"], {}),
    ("o3_hopf_20", "O3", ["hopf", 20], {}),
    ("o3_fibonacci_20_adj", "O3", ["fibonacci", 20], {"adj": ADJ}),
    ("o3_tetra", "O3", ["tetra"], {}),
]

SPHERE_CASES = [
    ("so3_healpix_1", "SO3", ["healpix", 1], {}),
    ("so3_healpix_2", "SO3", ["healpix", 2], {}),
    ("so3_healpix_5_kw", "SO3", ["healpix"], {"N_side": 5}),
    ("so3_healpix_2_adj", "SO3", ["healpix", 2], {"adj": ADJ}),
    ("so3_longlat_4_5", "SO3", ["longlat", 4, 5], {}),
    ("so3_longlat_3_4_kw", "SO3", ["longlat"], {"N": 3, "M": 4}),
    ("so3_longlat_7_2", "SO3", ["longlat", 7, 2], {}),
    ("so3_longlat_5_6_adj", "SO3", ["longlat", 5, 6], {"adj": ADJ}),
    ("so3_fibonacci_7", "SO3", ["fibonacci", 7], {}),
    ("so3_fibonacci_9_adj", "SO3", ["fibonacci", 9], {"adj": ADJ}),
    ("so3_cube_vertices", "SO3", ["cube_vertices"], {}),
    ("so3_ico", "SO3", ["ico"], {}),
    ("so3_tetra", "SO3", ["tetra"], {}),
    ("o3_healpix_2", "O3", ["healpix", 2], {}),
    ("o3_longlat_3_4", "O3", ["longlat", 3, 4], {}),
    ("o3_fibonacci_7", "O3", ["fibonacci", 7], {}),
    ("o3_fibonacci_9_adj", "O3", ["fibonacci", 9], {"adj": [0, ADJ]}),
    ("o3_longlat_3_4_adj_inversion", "O3", ["longlat", 3, 4], {"adj": [1, ADJ]}),
    ("o3_cube_vertices", "O3", ["cube_vertices"], {}),
]

SIZE_CASES = (
    [("SO3", "grid", ["hopf", n]) for n in (20, 21, 30, 50, 79, 80, 150, 300, 500, 1000, 2000)]
    + [("SO3", "grid", ["fibonacci", n]) for n in (4, 5, 6, 7, 8, 15, 50, 150, 500, 1000, 3000)]
    + [("SO3", "sphere_grid", ["healpix", n]) for n in (3, 4, 6, 30)]
    + [("SO3", "sphere_grid", ["longlat", n, m]) for n, m in ((1, 2), (3, 2), (4, 3), (10, 7), (1, 5))]
    + [("O3", "grid", ["fibonacci", 50]), ("O3", "grid", ["hopf", 50]), ("O3", "sphere_grid", ["healpix", 3])]
)

#: label, factory name, factory args, grid kwargs
PRODUCT_CASES = [
    ("cylinder", "cylinder_group", [3], {"G1_type": "regular", "G1_N": 2, "G2_N": 3}),
    ("cylinder_c2_identity_only", "cylinder_group", [3], {"G1_type": "regular", "G1_N": 1, "G2_N": 2}),
    ("full_cylinder", "full_cylinder_group", [3], {"G1_type": "regular", "G1_N": 2, "G2_N": 2}),
    (
        "cylinder_discrete",
        "cylinder_discrete_group",
        [6],
        {"G1_type": "regular", "G1_N": 2, "G2_type": "regular", "G2_N": 3},
    ),
    (
        "full_cylinder_discrete",
        "full_cylinder_discrete_group",
        [4],
        {"G1_type": "regular", "G1_N": 2, "G2_type": "regular", "G2_N": 2},
    ),
]
FACTORIES = {
    "cylinder_group": cylinder_group,
    "full_cylinder_group": full_cylinder_group,
    "cylinder_discrete_group": cylinder_discrete_group,
    "full_cylinder_discrete_group": full_cylinder_discrete_group,
}

#: label, module class, gspace factory, subgroup id or None, channels, band limit, grid kwargs, sphere grid
#: args (quotient) or None, function or None, spatial shape
FOURIER_CASES = [
    (
        "so3_hopf_elu",
        "FourierELU",
        "rot3dOnR3",
        None,
        1,
        2,
        {"type": "hopf", "N": 300},
        None,
        None,
        (1, 1, 2),
    ),
    (
        "so3_fibonacci_relu",
        "FourierPointwise",
        "rot3dOnR3",
        None,
        1,
        2,
        {"type": "fibonacci", "N": 150},
        None,
        "p_relu",
        (1, 2, 1),
    ),
    # 29 rotations, band limit 1: the smallest singular value of A is 0.015, where escnn's ridge
    # (A^T A + 1e-8 I)^-1 A^T and the pseudo-inverse differ by 6e-4 (see tests/test_grids_escnn.py)
    (
        "so3_fibonacci_ill_conditioned",
        "FourierPointwise",
        "rot3dOnR3",
        None,
        1,
        1,
        {"type": "fibonacci", "N": 40},
        None,
        "p_relu",
        (1, 2, 1),
    ),
    (
        "o3_hopf_elu",
        "FourierELU",
        "flipRot3dOnR3",
        None,
        1,
        1,
        {"type": "hopf", "N": 30},
        None,
        None,
        (1, 1, 2),
    ),
    (
        "sphere_healpix_elu",
        "QuotientFourierELU",
        "rot3dOnR3",
        (False, -1),
        2,
        2,
        {},
        ["healpix", 2],
        None,
        (1, 1, 2),
    ),
    (
        "o3_sphere_longlat_elu",
        "QuotientFourierELU",
        "flipRot3dOnR3",
        ("cone", -1),
        1,
        2,
        {},
        ["longlat", 6, 5],
        None,
        (1, 2, 1),
    ),
]


def _group(name):
    return so3_group() if name == "SO3" else o3_group()


def _adj(G, adj, sphere):
    """escnn's adj: an SO(3) element; O(3)'s ``grid``: the raw quaternion, its ``sphere_grid``: an element."""
    if G.name == "SO(3)":
        return G.element(np.asarray(adj), "Q")
    if sphere:
        return G.element((adj[0], np.asarray(adj[1])), "Q")
    return np.asarray(adj)


def _kwargs(G, kw, sphere):
    kw = dict(kw)
    if "adj" in kw:
        kw["adj"] = _adj(G, kw["adj"], sphere)
    return kw


def _quat(G, g):
    if G.name == "SO(3)":
        return [float(v) for v in g.to("Q")]
    j, q = g.to("Q")
    return [int(j), [float(v) for v in q]]


def _point(G, g):
    M = g.to("MAT") if G.name == "SO(3)" else G.standard_representation()(g)
    return [float(v) for v in np.asarray(M)[:, 2]]


def _plain(v):
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.integer, int)):
        return int(v)
    return float(v)


def _num(a):
    return [float(f"{v:.9g}") for v in np.asarray(a, dtype=np.float64).ravel()]


def input_tensor(size, shape):
    n = 2 * size * int(np.prod(shape))
    return (np.sin(0.37 * np.arange(n) + 0.1) + 0.2).reshape(2, size, *shape)


def fourier_case(spec):
    label, cls, factory, sg, channels, L, gkw, sphere, fn, shape = spec
    gs = getattr(gspaces, factory)()
    G = gs.fibergroup
    irreps = G.bl_irreps(L)
    kw = dict(gkw)
    if fn is not None:
        kw["function"] = fn
    if sphere is not None:
        kw["grid"] = G.sphere_grid(*sphere)
    head = (gs, sg, channels, irreps) if sg is not None else (gs, channels, irreps)
    m = getattr(nn, cls)(*head, **kw)
    m.eval()
    x = torch.tensor(input_tensor(m.in_type.size, shape), dtype=torch.float32)
    with torch.no_grad():
        y = m(nn.GeometricTensor(x, m.in_type)).tensor.numpy()
    return {
        "label": label,
        "class": cls,
        "factory": factory,
        "subgroup_id": sg,
        "channels": channels,
        "irreps": [list(i) for i in irreps],
        "grid_kwargs": gkw,
        "sphere_grid": sphere,
        "function": fn,
        "shape": list(shape),
        "in_size": m.in_type.size,
        "grid_size": int(m.A.shape[0]),
        "output": _num(y),
    }


def main(path):
    np.random.seed(0)  # escnn's SO(3) sphere grid draws the frames of its representatives (last digits of p)
    out = {"escnn": "1.0.11", "group": [], "sphere": [], "sizes": [], "product": [], "fourier": []}
    for label, gname, args, kw in GROUP_CASES:
        G = _group(gname)
        els = G.grid(*args, **_kwargs(G, kw, sphere=False))
        out["group"].append(
            {
                "label": label,
                "group": gname,
                "args": args,
                "kwargs": kw,
                "elements": [_quat(G, g) for g in els],
            }
        )
    for label, gname, args, kw in SPHERE_CASES:
        G = _group(gname)
        els = G.sphere_grid(*args, **_kwargs(G, kw, sphere=True))
        out["sphere"].append(
            {
                "label": label,
                "group": gname,
                "args": args,
                "kwargs": kw,
                "points": [_point(G, g) for g in els],
            }
        )
    for gname, method, args in SIZE_CASES:
        G = _group(gname)
        out["sizes"].append(
            {"group": gname, "method": method, "args": args, "size": len(getattr(G, method)(*args))}
        )
    for label, factory, fargs, kw in PRODUCT_CASES:
        G = FACTORIES[factory](*fargs)
        els = G.grid(**kw)
        out["product"].append(
            {
                "label": label,
                "factory": factory,
                "factory_args": fargs,
                "kwargs": kw,
                "elements": [_plain(g.to(G.PARAM)) for g in els],
            }
        )
    for spec in FOURIER_CASES:
        out["fourier"].append(fourier_case(spec))
        print(spec[0], out["fourier"][-1]["grid_size"], file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/escnn_grids.json")
