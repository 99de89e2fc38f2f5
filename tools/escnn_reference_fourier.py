"""Generate tests/data/escnn_fourier.json: escnn 1.0.11's Fourier non-linearities as reference.

Run with escnn's interpreter (numpy < 2), never imported by the package or the tests:

    /work/.escnn-venv/bin/python tools/escnn_reference_fourier.py [tests/data/escnn_fourier.json]

For every case in ``CASES`` it builds escnn's ``FourierPointwise`` / ``FourierELU`` /
``QuotientFourierPointwise`` / ``QuotientFourierELU`` (a gspace factory, the arguments of the module, the
grid as escnn's grid arguments or, for the quotient modules, ``grid=G.sphere_grid(...)``), feeds it the
deterministic input ``input_tensor(size, shape)`` (a formula the test repeats, so the input is not stored)
and stores escnn's output (float32, 9 significant digits), its sampling matrix ``A`` (rows: grid points) and
its projection ``Ainv``, the input representation's irreps and the number of grid points.

The octahedral group has no grid in escnn (``Octahedral.grid`` raises ``NotImplementedError``, so escnn's
``FourierELU`` cannot be built on ``octaOnR3``). Its reference is escnn's own regular representation
instead: with the grid of all 24 elements and every irrep, the Fourier ELU is ``Q^T elu(Q x)`` with ``Q``
escnn's ``G.regular_representation.change_of_basis`` (the Fourier basis, orthogonal); stored as the case
``octa_regular`` with ``Q`` as ``A`` and ``Q^T`` as ``Ainv``.

escnn's ``'thomson'`` grids are computed by a seeded optimisation in torch (about 4 minutes for 20 points
on one loaded core); they are not stored (our ``'thomson'`` grid is our own, see
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

#: label, module class, gspace factory (+ args), subgroup id (quotient) or None, channels, irreps (ids),
#: out_irreps or None, grid args, grid kwargs, function (FourierPointwise only) or None, normalize,
#: sphere grid (quotient: (type, *args) -> grid=G.sphere_grid(...)) or None, spatial shape
# fmt: off
# ruff: noqa: E501
CASES = [
    ("so2_n6", "FourierELU", ("rot2dOnR2", -1), None, 2, "bl:2", None, [], {"N": 6}, None, True, None, (2, 3)),
    ("so2_relu_out", "FourierPointwise", ("rot2dOnR2", -1), None, 2, "bl:2", "bl:1", [], {"N": 7},
     "p_relu", False, None, (2, 2)),
    ("so2_sigmoid", "FourierPointwise", ("rot2dOnR2", -1), None, 1, "bl:3", None, [8], {}, "p_sigmoid", True,
     None, (2, 2)),
    ("o2_n5", "FourierELU", ("flipRot2dOnR2", -1), None, 2, "bl:2", None, [5], {}, None, True, None, (2, 2)),
    ("c8_reg", "FourierELU", ("rot2dOnR2", 8), None, 2, "all", None, ["regular", 8], {}, None, True, None,
     (2, 2)),
    ("c8_sub4", "FourierPointwise", ("rot2dOnR2", 8), None, 1, "all", None, [], {"type": "regular", "N": 4},
     "p_tanh", True, None, (2, 2)),
    ("d4_reg", "FourierELU", ("flipRot2dOnR2", 4), None, 2, "all", None, ["regular", 4], {}, None, True, None,
     (2, 2)),
    ("so3_cube", "FourierELU", ("rot3dOnR3",), None, 2, "bl:2", None, ["cube"], {}, None, True, None, (1, 2, 2)),
    ("so3_ico", "FourierELU", ("rot3dOnR3",), None, 2, "bl:2", None, [], {"type": "ico"}, None, True, None,
     (1, 2, 2)),
    ("so3_ico_out", "FourierPointwise", ("rot3dOnR3",), None, 1, "bl:2", "bl:1", ["ico"], {}, "p_relu", False,
     None, (1, 2, 2)),
    ("o3_cube", "FourierELU", ("flipRot3dOnR3",), None, 2, "bl:1", None, ["cube"], {}, None, True, None,
     (1, 2, 2)),
    ("o3_ico", "FourierELU", ("flipRot3dOnR3",), None, 1, "bl:2", None, ["ico"], {}, None, True, None,
     (1, 2, 2)),
    ("sphere_ico", "QuotientFourierELU", ("rot3dOnR3",), (False, -1), 2, "bl:2", None, [], {}, None, True,
     ("ico",), (1, 2, 2)),
    ("sphere_ico_unnormalized", "QuotientFourierPointwise", ("rot3dOnR3",), (False, -1), 1, "bl:2", "bl:1", [],
     {}, "p_relu", False, ("ico",), (1, 2, 2)),
    ("sphere_fibonacci", "QuotientFourierELU", ("rot3dOnR3",), (False, -1), 2, "bl:2", None, [], {}, None, True,
     ("fibonacci", 20), (1, 2, 2)),
    ("sphere_cube_relu", "QuotientFourierPointwise", ("rot3dOnR3",), (False, -1), 2, "bl:1", None, [], {},
     "p_relu", True, ("cube",), (1, 2, 2)),
    ("sphere_from_group_grid", "QuotientFourierELU", ("rot3dOnR3",), (False, -1), 1, "bl:2", None, ["ico"],
     {}, None, True, None, (1, 2, 2)),
    ("so3_trivial_quotient", "QuotientFourierELU", ("rot3dOnR3",), (False, 1), 1, "bl:2", None, ["cube"], {},
     None, True, None, (1, 2, 2)),
    ("o3_sphere_ico", "QuotientFourierELU", ("flipRot3dOnR3",), ("cone", -1), 2, "bl:2", None, [], {}, None,
     True, ("ico",), (1, 2, 2)),
    ("d8_flip_quotient", "QuotientFourierELU", ("flipRot2dOnR2", 8), (0, 1), 1, "all", None, ["regular", 8],
     {}, None, True, None, (2, 2)),
]
# fmt: on


def input_tensor(size: int, shape: tuple[int, ...]) -> np.ndarray:
    """The input ``(2, size, *shape)``: ``sin(0.37 n + 0.1) + 0.2`` over the flat index ``n``."""
    n = 2 * size * int(np.prod(shape))
    return (np.sin(0.37 * np.arange(n) + 0.1) + 0.2).reshape(2, size, *shape)


def _irreps(G, spec):
    if spec is None:
        return None
    if spec == "all":
        return [psi.id for psi in G.irreps()]
    return G.bl_irreps(int(spec.split(":")[1]))


def _num(a):
    return [float(f"{v:.9g}") for v in np.asarray(a, dtype=np.float64).ravel()]


def case(spec):
    label, cls, factory, sg, channels, irr, out_irr, gargs, gkw, fn, normalize, sphere, shape = spec
    gs = getattr(gspaces, factory[0])(*factory[1:])
    G = gs.fibergroup
    irreps, out_irreps = _irreps(G, irr), _irreps(G, out_irr)
    kw = dict(gkw)
    if fn is not None:
        kw["function"] = fn
    if sphere is not None:
        kw["grid"] = G.sphere_grid(*sphere)
    args = (gs, sg, channels, irreps) if sg is not None else (gs, channels, irreps)
    m = getattr(nn, cls)(*args, *gargs, out_irreps=out_irreps, normalize=normalize, **kw)
    m.eval()
    size = m.in_type.size
    x = torch.tensor(input_tensor(size, shape), dtype=torch.float32)
    with torch.no_grad():
        y = m(nn.GeometricTensor(x, m.in_type)).tensor.numpy()
    return {
        "label": label,
        "class": cls,
        "factory": list(factory),
        "subgroup_id": sg,
        "channels": channels,
        "irreps": [list(i) for i in irreps],
        "out_irreps": None if out_irreps is None else [list(i) for i in out_irreps],
        "grid_args": gargs,
        "grid_kwargs": gkw,
        "function": fn,
        "normalize": normalize,
        "sphere_grid": sphere,
        "shape": list(shape),
        "in_irreps": [list(i) for i in m.in_type.representations[0].irreps],
        "in_size": m.in_type.representations[0].size,
        "out_size": m.out_type.representations[0].size,
        "in_name": m.in_type.representations[0].name,
        "grid_size": int(m.A.shape[0]),
        "A": _num(m.A.numpy()),
        "Ainv": _num(m.Ainv.numpy()),
        "output": _num(y),
    }


def octa_case():
    """``Q^T elu(Q x)`` on the octahedral group's regular representation in the Fourier basis."""
    gs = gspaces.octaOnR3()
    G = gs.fibergroup
    reg = G.regular_representation
    Q = np.asarray(reg.change_of_basis, dtype=np.float64)
    shape = (1, 2, 2)
    channels = 2
    x = torch.tensor(input_tensor(channels * reg.size, shape), dtype=torch.float64)
    xs = x.reshape(2, channels, reg.size, -1)
    Qt = torch.tensor(Q)
    y = torch.einsum("sf,bcfp->bcsp", Qt.T, torch.nn.functional.elu(torch.einsum("gf,bcfp->bcgp", Qt, xs)))
    return {
        "label": "octa_regular",
        "class": "FourierELU",
        "factory": ["octaOnR3"],
        "subgroup_id": None,
        "channels": channels,
        "irreps": [list(psi.id) for psi in G.irreps()],
        "out_irreps": None,
        "grid_args": [],
        "grid_kwargs": {},
        "function": None,
        "normalize": True,
        "sphere_grid": None,
        "shape": list(shape),
        "in_irreps": [list(i) for i in reg.irreps],
        "in_size": reg.size,
        "out_size": reg.size,
        "in_name": "regular (Fourier basis)",
        "grid_size": G.order(),
        "A": _num(Q),
        "Ainv": _num(Q.T),
        "output": _num(y.reshape(2, channels * reg.size, *shape).numpy()),
    }


def main(path: str) -> None:
    cases = []
    for spec in CASES:
        cases.append(case(spec))
        print(spec[0], cases[-1]["grid_size"], cases[-1]["in_size"], file=sys.stderr)
    cases.append(octa_case())
    with open(path, "w") as f:
        json.dump({"escnn": "1.0.11", "cases": cases}, f)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/escnn_fourier.json")
