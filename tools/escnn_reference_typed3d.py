"""Generate tests/data/escnn_typed3d.json: escnn 1.0.11's ``GeometricTensor.transform`` on R^3 as reference.

Run with escnn's interpreter (numpy < 2), never imported by the package or the tests:

    /work/.escnn-venv/bin/python tools/escnn_reference_typed3d.py [tests/data/escnn_typed3d.json]

For every case in ``CASES`` (a factory, the fields of a field type, a volume shape) it transforms the
deterministic input ``input_volume(size, shape)`` (a formula the test repeats, so the input is not stored) by
each rotation of ``QUATERNIONS`` (unit quaternions ``(x, y, z, w)``; all of them map a cubic voxel grid onto
itself, so escnn permutes voxels exactly) and stores escnn's output, rounded to 9 significant digits (escnn
transforms in float32: compare with a tolerance of about 1e-6).
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from escnn import gspaces, nn  # noqa: E402

R = float(np.sqrt(0.5))
#: 90° about z, 120° about (1, 1, 1), 180° about y, 180° about (x + z)
QUATERNIONS = [[0.0, 0.0, R, R], [0.5, 0.5, 0.5, 0.5], [0.0, 1.0, 0.0, 0.0], [R, 0.0, R, 0.0]]

#: (label, factory, fields: list of ("regular",) / ("irrep", id...), shape (D, H, W))
CASES = [
    ("octa", "octaOnR3", [("regular",), ("irrep", 1), ("irrep", 2)], (3, 3, 3)),
    ("so3", "rot3dOnR3", [("irrep", 1), ("irrep", 2)], (3, 3, 3)),
]


def input_volume(size: int, shape: tuple[int, int, int]) -> np.ndarray:
    """The input ``(1, size, D, H, W)``: ``sin(0.37 n + 0.1)`` over the flat index ``n``."""
    n = size * int(np.prod(shape))
    return np.sin(0.37 * np.arange(n) + 0.1).reshape(1, size, *shape)


def _field(gs, spec):
    return gs.regular_repr if spec[0] == "regular" else gs.irrep(*spec[1:])


def main(path: str) -> None:
    out = {"escnn": "1.0.11", "quaternions": QUATERNIONS, "cases": []}
    for label, factory, fields, shape in CASES:
        gs = getattr(gspaces, factory)()
        ft = nn.FieldType(gs, [_field(gs, f) for f in fields])
        x = torch.tensor(input_volume(ft.size, shape))
        outputs = []
        for q in QUATERNIONS:
            g = gs.fibergroup.element(np.array(q), "Q")
            y = nn.GeometricTensor(x, ft).transform(g).tensor.detach().double().numpy()
            outputs.append([float(f"{v:.9g}") for v in y.ravel()])
        out["cases"].append(
            {"label": label, "factory": factory, "fields": fields, "shape": list(shape), "outputs": outputs}
        )
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/escnn_typed3d.json")
