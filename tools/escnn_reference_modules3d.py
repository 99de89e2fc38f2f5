"""Generate tests/data/escnn_modules3d.json: escnn 1.0.11's 3D modules, the reference of test_modules3d.py.

Run with escnn's interpreter (numpy < 2), never imported by the package or the tests:

    /work/.escnn-venv/bin/python tools/escnn_reference_modules3d.py [tests/data/escnn_modules3d.json]

Every input is the deterministic volume ``input_volume(shape)`` (a formula the tests repeat, so inputs are not
stored). Stored: the outputs of escnn's 3D poolings (``PointwiseMaxPool3D``, ..., with escnn's
``evaluate_output_shape``), of ``R3Upsampling``, the 3D ``MaskModule``'s mask, and one training step plus one
eval forward of ``IIDBatchNorm3d``, ``InnerBatchNorm`` and ``NormBatchNorm`` on 5-D inputs (outputs and
running statistics), with the affine parameters set to the values stored next to them.
escnn computes in float32 here; values are rounded to 9 significant digits (compare to about 1e-5).
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from escnn import gspaces, nn  # noqa: E402


def input_volume(shape) -> np.ndarray:
    """``sin(0.37 n + 0.1) + 0.05 (n mod 7)`` over the flat index ``n``, reshaped to ``shape``."""
    n = np.arange(int(np.prod(shape)))
    return (np.sin(0.37 * n + 0.1) + 0.05 * (n % 7)).reshape(shape)


def _r(a) -> list:
    return [float(f"{v:.9g}") for v in np.asarray(a, dtype=np.float64).ravel()]


def _tensor(shape) -> torch.Tensor:
    return torch.tensor(input_volume(shape), dtype=torch.float32)


def pooling() -> dict:
    gs = gspaces.rot2dOnR3(4)
    t = nn.FieldType(gs, [gs.regular_repr])
    shape = (1, 4, 7, 7, 7)
    x = nn.GeometricTensor(_tensor(shape), t)
    cases = {
        "max": ("PointwiseMaxPool3D", dict(kernel_size=3, stride=2, padding=1)),
        "max_dil": ("PointwiseMaxPool3D", dict(kernel_size=2, stride=(1, 2, 3), dilation=2, ceil_mode=True)),
        "max_aa": ("PointwiseMaxPoolAntialiased3D", dict(kernel_size=2, sigma=0.6)),
        "max_aa_pad": ("PointwiseMaxPoolAntialiased3D", dict(kernel_size=3, stride=2, padding=1, sigma=0.8)),
        "avg": ("PointwiseAvgPool3D", dict(kernel_size=3, stride=2, padding=1)),
        "avg_aa": ("PointwiseAvgPoolAntialiased3D", dict(sigma=0.6, stride=2)),
        "avg_aa_s1": ("PointwiseAvgPoolAntialiased3D", dict(sigma=1.0, stride=1, padding=1)),
        "adaptive_avg": ("PointwiseAdaptiveAvgPool3D", dict(output_size=(2, 3, 4))),
        "adaptive_max": ("PointwiseAdaptiveMaxPool3D", dict(output_size=3)),
    }
    out = {"factory": "rot2dOnR3(4)", "input_shape": list(shape), "cases": {}}
    for name, (cls, kwargs) in cases.items():
        m = getattr(nn, cls)(t, **kwargs)
        y = m(x).tensor.detach()
        out["cases"][name] = {
            "class": cls,
            "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
            "output_shape": list(y.shape),
            "escnn_evaluate_output_shape": list(m.evaluate_output_shape(tuple(x.shape))),
            "output": _r(y.numpy()),
        }
    return out


def upsampling() -> dict:
    gs = gspaces.rot2dOnR3(4)
    t = nn.FieldType(gs, [gs.regular_repr])
    shape = (1, 4, 2, 3, 2)
    x = nn.GeometricTensor(_tensor(shape), t)
    cases = {
        "trilinear": dict(scale_factor=2),
        "trilinear_ac": dict(scale_factor=2, align_corners=True),
        "nearest": dict(scale_factor=2, mode="nearest"),
        "size": dict(size=(5, 6, 7)),
    }
    out = {"input_shape": list(shape), "cases": {}}
    for name, kwargs in cases.items():
        y = nn.R3Upsampling(t, **kwargs)(x).tensor.detach()
        out["cases"][name] = {"kwargs": kwargs, "output_shape": list(y.shape), "output": _r(y.numpy())}
    return out


def masks() -> dict:
    gs = gspaces.octaOnR3()
    t = nn.FieldType(gs, [gs.trivial_repr])
    out = {}
    for name, kwargs in {
        "S7": dict(S=7),
        "S8_m10": dict(S=8, margin=10.0),
        "S7_sigma": dict(S=7, sigma=1.5),
    }.items():
        m = nn.MaskModule(t, **kwargs)
        out[name] = {"kwargs": kwargs, "mask": _r(m.mask[0, 0].numpy())}
    return out


def _field_params(n_fields: int) -> tuple[list[float], list[float]]:
    """Affine parameters by field (global order): scales ``1 + 0.25 i``, shifts ``0.1 (i + 1)``."""
    return [1.0 + 0.25 * i for i in range(n_fields)], [0.1 * (i + 1) for i in range(n_fields)]


def _set_by_field(m, t, weights, biases) -> None:
    """Write escnn's per-representation ``<rep>_weight`` / ``<rep>_bias`` from the per-field values."""
    seen: dict[str, int] = {}
    with torch.no_grad():
        for i, rep in enumerate(t.representations):
            k = seen.get(rep.name, 0)
            seen[rep.name] = k + 1
            w = getattr(m, f"{rep.name}_weight", None)
            if w is not None:
                w[k] = weights[i]
            b = getattr(m, f"{rep.name}_bias", None)
            if b is not None:
                b[k] = biases[i]


def batchnorms() -> dict:
    out = {}
    gs = gspaces.octaOnR3()
    shape_of = lambda t: (2, t.size, 2, 2, 2)  # noqa: E731

    # IIDBatchNorm3d: regular, irrep_1, trivial, regular
    t = nn.FieldType(gs, [gs.regular_repr, gs.irrep(1), gs.trivial_repr, gs.regular_repr])
    x = nn.GeometricTensor(_tensor(shape_of(t)), t)
    for name, kwargs in {"iid": {}, "iid_nostats": dict(track_running_stats=False)}.items():
        m = nn.IIDBatchNorm3d(t, **kwargs)
        weights, biases = _field_params(len(t))
        _set_by_field(m, t, weights, biases)
        y_train = m(x).tensor.detach()
        case = {
            "fields": ["regular", "irrep_1", "irrep_0", "regular"],
            "kwargs": kwargs,
            "weights": weights,
            "biases": biases,
            "input_shape": list(shape_of(t)),
            "train_output": _r(y_train.numpy()),
        }
        if m.track_running_stats:
            seen: dict[str, int] = {}
            rm, rv = [], []
            for rep in t.representations:
                k = seen.get(rep.name, 0)
                seen[rep.name] = k + 1
                mean = getattr(m, f"{rep.name}_running_mean", None)
                rm.append(_r(mean[k]) if mean is not None else [0.0] * rep.size)
                rv.append(float(getattr(m, f"{rep.name}_running_var")[k, 0]))
            case["running_mean"] = rm
            case["running_var"] = rv
        m.eval()
        case["eval_output"] = _r(m(x).tensor.detach().numpy())
        out[name] = case

    # InnerBatchNorm on 5-D inputs
    t = nn.FieldType(gs, [gs.regular_repr, gs.trivial_repr, gs.regular_repr])
    x = nn.GeometricTensor(_tensor(shape_of(t)), t)
    m = nn.InnerBatchNorm(t)
    weights, biases = _field_params(len(t))
    seen = {}
    with torch.no_grad():
        # escnn's InnerBatchNorm keeps one torch batch norm per field size ("batch_norm_[<size>]")
        for i, rep in enumerate(t.representations):
            k = seen.get(rep.size, 0)
            seen[rep.size] = k + 1
            getattr(m, f"batch_norm_[{rep.size}]").weight[k] = weights[i]
            getattr(m, f"batch_norm_[{rep.size}]").bias[k] = biases[i]
    y = m(x).tensor.detach()
    m.eval()
    out["inner"] = {
        "fields": ["regular", "irrep_0", "regular"],
        "weights": weights,
        "biases": biases,
        "input_shape": list(shape_of(t)),
        "train_output": _r(y.numpy()),
        "eval_output": _r(m(x).tensor.detach().numpy()),
    }

    # NormBatchNorm: irrep_1, irrep_2, irrep_1
    t = nn.FieldType(gs, [gs.irrep(1), gs.irrep(2), gs.irrep(1)])
    x = nn.GeometricTensor(_tensor(shape_of(t)), t)
    m = nn.NormBatchNorm(t)
    weights, _ = _field_params(len(t))
    seen = {}
    with torch.no_grad():
        # escnn's NormBatchNorm keeps one scale tensor per field size ("<size>_weight", [1, fields, 1])
        for i, rep in enumerate(t.representations):
            k = seen.get(rep.size, 0)
            seen[rep.size] = k + 1
            getattr(m, f"{rep.size}_weight")[0, k, 0] = weights[i]
    y = m(x).tensor.detach()
    m.eval()
    out["norm"] = {
        "fields": ["irrep_1", "irrep_2", "irrep_1"],
        "weights": weights,
        "input_shape": list(shape_of(t)),
        "train_output": _r(y.numpy()),
        "eval_output": _r(m(x).tensor.detach().numpy()),
    }

    # (escnn's GNormBatchNorm cannot take 5-D inputs: its forward's einsum is written for [B, C, size, H, W])
    return out


def main(path: str) -> None:
    torch.manual_seed(0)
    out = {
        "escnn": "1.0.11",
        "pooling": pooling(),
        "upsampling": upsampling(),
        "mask": masks(),
        "batchnorm": batchnorms(),
    }
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/escnn_modules3d.json")
