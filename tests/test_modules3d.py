"""The equivariant modules on R^3: poolings, upsampling, batch norms (also IIDBatchNorm), masks and the
dimension-agnostic modules on 5-D tensors ``[B, C, D, H, W]`` of fields on the gspaces of space.

Equivariance is asserted at the elements that move the voxel grid exactly (``gspace.grid_elements()``), in
float64 to 1e-12 relative where the operation is exact, and in float32 to 1e-5. escnn 1.0.11's outputs on the
same inputs are stored in ``tests/data/escnn_modules3d.json`` (``tools/escnn_reference_modules3d.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

import structconv.nn as snn
from structconv import gspaces
from structconv.nn import FieldType, GeometricTensor
from structconv.testing import assert_equivariant

DATA = Path(__file__).parent / "data" / "escnn_modules3d.json"
EXACT64 = dict(rtol=1e-12, atol=1e-13, dtype=torch.float64)
EXACT32 = dict(rtol=1e-5, atol=1e-6, dtype=torch.float32)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small volumes: one thread is much faster than several (no contention on a loaded machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@cache
def _gs(name: str):
    return {
        "SO3": lambda: gspaces.rot3dOnR3(maximum_frequency=2),
        "O3": lambda: gspaces.flipRot3dOnR3(maximum_frequency=2),
        "octa": gspaces.octaOnR3,
        "fullocta": gspaces.fullOctaOnR3,
        "ico": gspaces.icoOnR3,
        "C4z": lambda: gspaces.rot2dOnR3(4),
        "cyl": lambda: gspaces.cylindricalOnR3(maximum_frequency=2),
    }[name]()


FINITE = ["octa", "fullocta", "ico", "C4z"]
ALL = ["SO3", "O3", "octa", "ico", "C4z", "cyl"]


def _perm_type(name: str) -> FieldType:
    """Fields supporting pointwise maps: regular (and trivial)."""
    gs = _gs(name)
    # (the trivial irrep of the full octahedral group does not support 'pointwise' in escnn either)
    trivial = [gs.trivial_repr] if "pointwise" in gs.trivial_repr.supported_nonlinearities else []
    return FieldType(gs, [*trivial, gs.regular_repr])


def _any_type(name: str) -> FieldType:
    """A mix of irreps (the first three of the group: degrees 0..2 for SO(3)), out of order."""
    gs = _gs(name)
    irreps = gs.irreps[:3]
    return FieldType(gs, [irreps[1], irreps[0], irreps[2], irreps[1]])


def _tensor(
    t: FieldType, size: int = 7, batch: int = 2, dtype=torch.float64, seed: int = 0
) -> GeometricTensor:
    g = torch.Generator().manual_seed(seed)
    return GeometricTensor(torch.randn(batch, t.size, size, size, size, generator=g, dtype=dtype), t)


def _roundtrip(m: torch.nn.Module) -> torch.nn.Module:
    return pickle.loads(pickle.dumps(m))


def _check_state_dict_and_pickle(m: snn.EquivariantModule, x: GeometricTensor) -> None:
    m.train()
    keys_train = list(m.state_dict())
    m.eval()
    assert list(m.state_dict()) == keys_train
    y = m(x).tensor
    m2 = _roundtrip(m)
    assert torch.equal(m2(x).tensor, y)
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    m2.load_state_dict(torch.load(buf))


def _check_export(m: snn.EquivariantModule, x: GeometricTensor, exact: bool = True) -> torch.nn.Module:
    m.eval()
    e = m.export()
    assert not e.training
    y = m(x).tensor
    got = e(x.tensor)
    if exact:
        assert torch.equal(got, y)
    else:
        f64 = y.dtype == torch.float64
        torch.testing.assert_close(got, y, rtol=1e-12 if f64 else 1e-5, atol=1e-12 if f64 else 1e-6)
    return e


# ------------------------------------------------------------------------------------------------ pooling

POOLS = {
    "max": (lambda g: snn.PointwiseMaxPool3D(_perm_type(g), 3, 2, 1), "MaxPool3d"),
    "max_aa": (lambda g: snn.PointwiseMaxPoolAntialiased3D(_perm_type(g), 3, 2), "Sequential"),
    "avg": (lambda g: snn.PointwiseAvgPool3D(_any_type(g), 3, 2, 1), "AvgPool3d"),
    "avg_aa": (lambda g: snn.PointwiseAvgPoolAntialiased3D(_any_type(g), 0.6, 2), "Conv3d"),
    "adaptive_avg": (lambda g: snn.PointwiseAdaptiveAvgPool3D(_any_type(g), 3), "AdaptiveAvgPool3d"),
    "adaptive_max": (lambda g: snn.PointwiseAdaptiveMaxPool3D(_perm_type(g), 3), "AdaptiveMaxPool3d"),
}
POINTWISE_POOLS = {"max", "max_aa", "adaptive_max"}
POOL_CASES = [(p, g) for p in POOLS for g in (FINITE if p in POINTWISE_POOLS else ALL)]


@pytest.mark.parametrize("pool, gs", POOL_CASES, ids=[f"{p}-{g}" for p, g in POOL_CASES])
def test_pool3d_shape_equivariance_export(pool, gs):
    m = POOLS[pool][0](gs)
    x = _tensor(m.in_type, 7, dtype=torch.float32)
    y = m(x)
    assert y.type == m.out_type
    assert tuple(y.shape) == m.evaluate_output_shape(tuple(x.shape))
    expected = {"max_aa": 3, "adaptive_avg": 3, "adaptive_max": 3}.get(pool, 4)
    assert tuple(y.shape) == (2, m.in_type.size, expected, expected, expected)
    assert_equivariant(m, spatial_size=7, batch_size=1, **EXACT64)
    assert_equivariant(m, spatial_size=7, batch_size=1, **EXACT32)
    e = _check_export(m, x, exact=pool not in ("max_aa", "avg_aa"))
    assert type(e).__name__ == POOLS[pool][1]
    if pool == "max_aa":
        assert [type(c).__name__ for c in e] == ["MaxPool3d", "Conv3d"]
    _check_export(m.double(), _tensor(m.in_type, 7), exact=pool not in ("max_aa", "avg_aa"))
    _check_state_dict_and_pickle(m, _tensor(m.in_type, 7))


def test_pool3d_reference_values():
    # the blur is the normalised product of 1-D Gaussians; the max pool is torch's max_pool3d
    t = _perm_type("octa")
    m = snn.PointwiseMaxPoolAntialiased3D(t, 2, sigma=0.6)
    assert m.filter.shape == (t.size, 1, 5, 5, 5)
    g = np.exp(-(np.arange(-2, 3) ** 2) / (2 * 0.36))
    g /= g.sum()
    ref = np.einsum("i,j,k->ijk", g, g, g)
    np.testing.assert_allclose(m.filter[0, 0].double().numpy(), ref, rtol=1e-6)
    avg = snn.PointwiseAvgPoolAntialiased3D(t, sigma=1.0, stride=1)
    assert avg.kernel_size == (7, 7, 7) and avg.padding == (3, 3, 3)
    x = _tensor(t, 7)
    torch.testing.assert_close(
        avg(x).tensor.sum(dim=(2, 3, 4)), x.tensor.sum(dim=(2, 3, 4)), rtol=0.2, atol=50
    )


def input_volume(shape) -> torch.Tensor:
    """The generator's deterministic input: ``sin(0.37 n + 0.1) + 0.05 (n mod 7)`` over the flat index."""
    n = np.arange(int(np.prod(shape)))
    return torch.from_numpy((np.sin(0.37 * n + 0.1) + 0.05 * (n % 7)).reshape(shape))


@cache
def _reference() -> dict:
    return json.loads(DATA.read_text())


def test_pool3d_escnn_reference():
    ref = _reference()["pooling"]
    t = FieldType(_gs("C4z"), [_gs("C4z").regular_repr])
    x = GeometricTensor(input_volume(ref["input_shape"]), t)
    for name, case in ref["cases"].items():
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
        m = getattr(snn, case["class"])(t, **kwargs).double()
        y = m(x).tensor
        assert list(y.shape) == case["output_shape"], name
        np.testing.assert_allclose(y.numpy().ravel(), case["output"], rtol=1e-5, atol=1e-6, err_msg=name)
        if name != "max_aa_pad":
            assert list(m.evaluate_output_shape(tuple(x.shape))) == case["escnn_evaluate_output_shape"], name
        else:  # escnn's evaluate_output_shape disagrees with its own forward here; ours gives the forward's
            assert list(m.evaluate_output_shape(tuple(x.shape))) == case["output_shape"]
            assert case["escnn_evaluate_output_shape"] != case["output_shape"]


def test_pool_aliases_and_dimension_checks():
    assert snn.PointwiseMaxPool2D is snn.PointwiseMaxPool
    assert snn.PointwiseMaxPoolAntialiased2D is snn.PointwiseMaxPoolAntialiased
    assert snn.PointwiseAvgPool2D is snn.PointwiseAvgPool
    assert snn.PointwiseAvgPoolAntialiased2D is snn.PointwiseAvgPoolAntialiased
    assert snn.PointwiseAdaptiveAvgPool2D is snn.PointwiseAdaptiveAvgPool
    assert snn.PointwiseAdaptiveMaxPool2D is snn.PointwiseAdaptiveMaxPool
    planar = gspaces.Rot2dOnR2(4)
    t2 = FieldType(planar, [planar.regular_repr])
    t3 = _perm_type("octa")
    with pytest.raises(
        ValueError,
        match=r"PointwiseMaxPool3D: in_type lives on the 2-D gspace .*expected a gspace "
        r"of space .*use PointwiseMaxPool",
    ):
        snn.PointwiseMaxPool3D(t2, 2)
    with pytest.raises(
        ValueError, match=r"PointwiseMaxPool: in_type lives on the 3-D gspace .*use PointwiseMaxPool3D"
    ):
        snn.PointwiseMaxPool(t3, 2)
    with pytest.raises(ValueError, match=r"NormMaxPool: in_type lives on the 3-D gspace"):
        snn.NormMaxPool(FieldType(_gs("octa"), [_gs("octa").irrep(1)]), 2)
    with pytest.raises(ValueError, match=r"PointwiseAvgPoolAntialiased: in_type lives on the 3-D"):
        snn.PointwiseAvgPoolAntialiased(t3, 0.6, 2)
    with pytest.raises(ValueError, match=r"PointwiseAdaptiveAvgPool3D: in_type lives on the 2-D"):
        snn.PointwiseAdaptiveAvgPool3D(t2, 1)
    with pytest.raises(TypeError, match=r"kernel_size=\(2, 2\) is not accepted; expected an int or a triple"):
        snn.PointwiseMaxPool3D(t3, (2, 2))
    with pytest.raises(ValueError, match=r"stride=\(1, 0, 1\) is not accepted; expected integers >= 1"):
        snn.PointwiseAvgPool3D(t3, 2, stride=(1, 0, 1))
    with pytest.raises(ValueError, match=r"sigma=0 is not accepted; expected a finite float > 0"):
        snn.PointwiseAvgPoolAntialiased3D(t3, 0, 2)
    with pytest.raises(ValueError, match=r"sigma=-1.0 is not accepted"):
        snn.PointwiseMaxPoolAntialiased3D(t3, 2, sigma=-1.0)
    with pytest.raises(ValueError, match=r"output_size=0 is not accepted"):
        snn.PointwiseAdaptiveMaxPool3D(t3, 0)
    with pytest.raises(
        ValueError, match=r"padding=2 is not accepted; expected at most half of kernel_size=3"
    ):
        snn.PointwiseMaxPool3D(t3, 3, padding=2)
    with pytest.raises(ValueError, match=r"does not support 'pointwise'"):
        snn.PointwiseMaxPool3D(_any_type("octa"), 2)
    with pytest.raises(
        ValueError, match=r"input_shape=\(1, 25, 9, 9\) is not accepted; expected \(B, 25, D, H, W\)"
    ):
        snn.PointwiseMaxPool3D(t3, 2).evaluate_output_shape((1, 25, 9, 9))
    with pytest.raises(ValueError, match="field type"):
        snn.PointwiseMaxPool3D(t3, 2)(_tensor(_any_type("octa")))


# ----------------------------------------------------------------------------------------------- upsampling

UPSAMPLING = [
    ("trilinear", dict(scale_factor=2)),
    ("trilinear_ac", dict(scale_factor=2, align_corners=True)),
    ("nearest", dict(scale_factor=3, mode="nearest")),
]


@pytest.mark.parametrize("gs", ["SO3", "O3", "octa", "ico", "C4z", "cyl"])
@pytest.mark.parametrize("label, kwargs", UPSAMPLING, ids=[u[0] for u in UPSAMPLING])
def test_r3upsampling(gs, label, kwargs):
    t = _any_type(gs)
    m = snn.R3Upsampling(t, **kwargs)
    x = _tensor(t, 4, dtype=torch.float32)
    y = m(x)
    s = kwargs["scale_factor"]
    assert tuple(y.shape) == m.evaluate_output_shape(tuple(x.shape)) == (2, t.size, 4 * s, 4 * s, 4 * s)
    assert_equivariant(m, spatial_size=4, batch_size=1, **EXACT64)
    assert_equivariant(m, spatial_size=4, batch_size=1, **EXACT32)
    e = _check_export(m, x)
    assert isinstance(e, torch.nn.Upsample) and e.mode == kwargs.get("mode", "trilinear")
    _check_state_dict_and_pickle(m, _tensor(t, 4))


def test_r3upsampling_escnn_reference_and_arguments():
    ref = _reference()["upsampling"]
    t = FieldType(_gs("C4z"), [_gs("C4z").regular_repr])
    x = GeometricTensor(input_volume(ref["input_shape"]), t)
    for name, case in ref["cases"].items():
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
        m = snn.R3Upsampling(t, **kwargs)
        y = m(x).tensor
        assert list(y.shape) == case["output_shape"] == list(m.evaluate_output_shape(tuple(x.shape))), name
        np.testing.assert_allclose(y.numpy().ravel(), case["output"], rtol=1e-5, atol=1e-6, err_msg=name)
    assert "mode='trilinear', align_corners=False" in repr(snn.R3Upsampling(t, 2))
    with pytest.raises(
        ValueError,
        match=r"R3Upsampling: mode='bilinear' is not supported; expected one of "
        r"\('trilinear', 'nearest'\)",
    ):
        snn.R3Upsampling(t, 2, mode="bilinear")
    with pytest.raises(ValueError, match=r"R2Upsampling: mode='trilinear' is not supported"):
        snn.R2Upsampling(
            FieldType(gspaces.Rot2dOnR2(4), [gspaces.Rot2dOnR2(4).regular_repr]), 2, mode="trilinear"
        )
    with pytest.raises(ValueError, match=r"R3Upsampling: in_type lives on the 2-D gspace .*use R2Upsampling"):
        snn.R3Upsampling(FieldType(gspaces.Rot2dOnR2(4), [gspaces.Rot2dOnR2(4).regular_repr]), 2)
    with pytest.raises(ValueError, match=r"R2Upsampling: in_type lives on the 3-D gspace .*use R3Upsampling"):
        snn.R2Upsampling(t, 2)
    with pytest.raises(ValueError, match=r"scale_factor=None and size=None; expected exactly one of the two"):
        snn.R3Upsampling(t)
    with pytest.raises(ValueError, match=r"scale_factor=-2 is not accepted; expected a finite number > 0"):
        snn.R3Upsampling(t, -2)
    with pytest.raises(
        TypeError, match=r"size=\(4, 4\) is not accepted; expected an int or a triple of ints"
    ):
        snn.R3Upsampling(t, size=(4, 4))
    with pytest.raises(
        ValueError, match=r"input_shape=\(1, 4, 3, 3\) is not accepted; expected \(B, 4, D, H, W\)"
    ):
        snn.R3Upsampling(t, 2).evaluate_output_shape((1, 4, 3, 3))


# ------------------------------------------------------------------------------------------- batch norms


def _norm_type(name: str) -> FieldType:
    """Fields without a trivial component (NormBatchNorm, NormNonLinearity)."""
    gs = _gs(name)
    irreps = [r for r in gs.irreps if not r.is_trivial()][:2]
    return FieldType(gs, [irreps[0], irreps[1], irreps[0]])


def _mixed_type(name: str) -> FieldType:
    gs = _gs(name)
    reps = [gs.regular_repr] if name in FINITE else []
    return FieldType(gs, [*reps, *_any_type(name).representations])


BATCHNORMS = {
    "inner": (lambda g: snn.InnerBatchNorm(_perm_type(g)), "BatchNorm3d", FINITE),
    "inner_nostats": (
        lambda g: snn.InnerBatchNorm(_perm_type(g), track_running_stats=False),
        "InnerBatchNormGraph",
        ["octa", "C4z"],
    ),
    "norm": (lambda g: snn.NormBatchNorm(_norm_type(g)), "BatchNorm3d", ALL),
    "gnorm": (lambda g: snn.GNormBatchNorm(_mixed_type(g)), "Conv3d", ALL),
    "iid": (lambda g: snn.IIDBatchNorm3d(_mixed_type(g)), "BatchNorm3d", ALL),
    "iid_nostats": (
        lambda g: snn.IIDBatchNorm3d(_mixed_type(g), track_running_stats=False, momentum=None),
        "IIDBatchNorm3dGraph",
        ["octa", "SO3", "cyl"],
    ),
}
BN_CASES = [(b, g) for b, (_, _, spaces) in BATCHNORMS.items() for g in spaces]


def _randomise(m: torch.nn.Module) -> None:
    """Random affine parameters (scales around 1) and one training step on shifted data."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.rand_like(p) + 0.5 if name == "weight" else torch.randn_like(p))
    m.train()
    x = _tensor(m.in_type, 5, batch=3, seed=7)
    m(GeometricTensor(x.tensor * 2.0 + 0.5, m.in_type))


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("bn, gs", BN_CASES, ids=[f"{b}-{g}" for b, g in BN_CASES])
def test_batchnorm3d(bn, gs):
    make, export_name, _ = BATCHNORMS[bn]
    # built in float64: GNormBatchNorm keeps its changes of basis in the default dtype of its construction
    # (as e2cnn, whose float32-rounded bases the planar parity tests reproduce)
    with _default_dtype(torch.float64):
        m = make(gs)
    _randomise(m)
    x = _tensor(m.in_type, 5)
    assert tuple(m(x).shape) == m.evaluate_output_shape(tuple(x.shape)) == tuple(x.shape)
    # batch statistics (training) and running statistics (eval) are both equivariant (NormBatchNorm normalises
    # by its running variance, updated first, in training too, as e2cnn: each call changes its output)
    if bn != "norm":
        assert_equivariant(m, spatial_size=5, train=True, **EXACT64)
    assert_equivariant(m, spatial_size=5, **EXACT64)
    assert_equivariant(m, spatial_size=5, **EXACT32)
    e = _check_export(m, x, exact=False)
    assert type(e).__name__ == export_name
    m32 = make(gs)
    _randomise(m32)
    _check_export(m32, _tensor(m.in_type, 5, dtype=torch.float32), exact=False)
    _check_state_dict_and_pickle(m, x)


def test_batchnorm3d_statistics_run_over_batch_and_three_axes():
    t = _perm_type("octa")
    m = snn.InnerBatchNorm(t, affine=False).double()
    x = _tensor(t, 5, batch=3).tensor * 3.0 + 2.0
    y = m(GeometricTensor(x, t)).tensor
    for start, end in zip(t.fields_start, t.fields_end):
        field = y[:, start:end]
        assert abs(float(field.mean())) < 1e-12
        assert abs(float(field.var(unbiased=False)) - 1.0) < 1e-4
    n = 3 * 5**3 * 24
    expected = x[:, 1:].var(unbiased=False) * n / (n - 1)  # regular field: running var is unbiased
    torch.testing.assert_close(m.running_var[1], 0.9 + 0.1 * expected, rtol=1e-12, atol=0)
    # IIDBatchNorm3d: per field, channel-averaged variance and projected mean over (B, D, H, W)
    t = FieldType(_gs("octa"), [_gs("octa").regular_repr])
    m = snn.IIDBatchNorm3d(t, affine=False, momentum=1.0).double()
    x = _tensor(t, 4, batch=2).tensor + torch.arange(24.0, dtype=torch.float64).view(1, -1, 1, 1, 1)
    m(GeometricTensor(x, t))
    var = x.var(dim=(0, 2, 3, 4), unbiased=True).mean()
    torch.testing.assert_close(m.running_var, var.reshape(1), rtol=1e-12, atol=0)
    torch.testing.assert_close(m.running_mean, x.mean().expand(24), rtol=1e-12, atol=0)


def test_batchnorm3d_escnn_reference():
    ref = _reference()["batchnorm"]
    gs = _gs("octa")
    irrep = {
        "regular": gs.regular_repr,
        "irrep_0": gs.trivial_repr,
        "irrep_1": gs.irrep(1),
        "irrep_2": gs.irrep(2),
    }
    for name, case in ref.items():
        t = FieldType(gs, [irrep[f] for f in case["fields"]])
        x = GeometricTensor(input_volume(case["input_shape"]), t)
        if name.startswith("iid"):
            m = snn.IIDBatchNorm3d(t, **case["kwargs"]).double()
            bias = [
                b for f, b in zip(case["fields"], case["biases"]) if f != "irrep_1"
            ]  # one trivial irrep each
        elif name == "inner":
            m = snn.InnerBatchNorm(t).double()
            bias = case["biases"]
        else:
            m = snn.NormBatchNorm(t).double()
            bias = None
        with torch.no_grad():
            m.weight.copy_(torch.tensor(case["weights"]))
            if bias is not None:
                m.bias.copy_(torch.tensor(bias))
        y = m(x).tensor.detach().numpy().ravel()
        np.testing.assert_allclose(y, case["train_output"], rtol=1e-5, atol=2e-6, err_msg=name)
        if "running_var" in case:
            np.testing.assert_allclose(m.running_var.numpy(), case["running_var"], rtol=1e-6, err_msg=name)
            np.testing.assert_allclose(
                m.running_mean.numpy(),
                np.concatenate(case["running_mean"]),
                rtol=1e-6,
                atol=1e-7,
                err_msg=name,
            )
        m.eval()
        y = m(x).tensor.detach().numpy().ravel()
        np.testing.assert_allclose(y, case["eval_output"], rtol=1e-5, atol=2e-6, err_msg=name)


def test_iidbatchnorm_arguments():
    t3 = _mixed_type("octa")
    planar = gspaces.Rot2dOnR2(4)
    t2 = FieldType(planar, [planar.regular_repr, planar.irrep(1)])
    m = snn.IIDBatchNorm3d(t3)
    assert m.weight.shape == (len(t3),) and m.bias.shape == (2,)  # the trivial irreps of regular and irrep_0
    assert sorted(m.state_dict()) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    assert "track_running_stats=True" in repr(m)
    m2 = snn.IIDBatchNorm2d(t2)
    y = m2(GeometricTensor(torch.randn(2, 6, 5, 5), t2))
    assert y.shape == (2, 6, 5, 5)
    assert_equivariant(m2.double(), train=True, spatial_size=5)
    with pytest.raises(
        ValueError, match=r"IIDBatchNorm3d: in_type lives on the 2-D gspace .*use IIDBatchNorm2d"
    ):
        snn.IIDBatchNorm3d(t2)
    with pytest.raises(
        ValueError, match=r"IIDBatchNorm2d: in_type lives on the 3-D gspace .*use IIDBatchNorm3d"
    ):
        snn.IIDBatchNorm2d(t3)
    with pytest.raises(
        ValueError, match=r"IIDBatchNorm3d: momentum=2 is not accepted; expected a float in \[0, 1\]"
    ):
        snn.IIDBatchNorm3d(t3, momentum=2)
    with pytest.raises(ValueError, match=r"eps=-1 is not accepted; expected a finite float >= 0"):
        snn.IIDBatchNorm3d(t3, eps=-1)
    with pytest.raises(TypeError, match=r"in_type must be a FieldType; received 'x'"):
        snn.IIDBatchNorm3d("x")


# ------------------------------------------------------------------ dimension-agnostic modules on volumes


def _gated_type(name: str) -> FieldType:
    """Two gates (trivial) followed by the gated fields (one of each non-trivial irrep kind)."""
    gs = _gs(name)
    gated = _norm_type(name).representations[:2]
    return FieldType(gs, [gs.trivial_repr, gs.trivial_repr, *gated])


def _multiple(name: str) -> snn.EquivariantModule:
    t = _mixed_type(name)
    labels = ["a" if i % 2 == 0 else "b" for i in range(len(t))]
    ta = FieldType(t.gspace, [r for i, r in enumerate(t.representations) if i % 2 == 0])
    tb = FieldType(t.gspace, [r for i, r in enumerate(t.representations) if i % 2 == 1])
    return snn.MultipleModule(
        t, labels, [(snn.NormPool(ta), "a"), (snn.IdentityModule(tb), "b")], reshuffle=1
    )


#: name -> (constructor on a gspace name, gspaces, exact export (torch.equal), float64 tolerance)
AGNOSTIC = {
    "relu": (lambda g: snn.ReLU(_perm_type(g)), FINITE, True),
    "elu": (lambda g: snn.ELU(_perm_type(g)), ["octa"], True),
    "pointwise_sigmoid": (lambda g: snn.PointwiseNonLinearity(_perm_type(g), "p_sigmoid"), ["ico"], True),
    "concatenated": (
        lambda g: snn.ConcatenatedNonLinearity(FieldType(_gs(g), [_gs(g).regular_repr])),
        ["octa"],
        True,
    ),
    "norm_relu": (lambda g: snn.NormNonLinearity(_norm_type(g)), ALL, False),
    "norm_sigmoid": (lambda g: snn.NormNonLinearity(_norm_type(g), "n_sigmoid", bias=False), ["SO3"], False),
    # (the trivial irrep of the cylindrical group supports no 'gate' in escnn either)
    "gated1": (lambda g: snn.GatedNonLinearity1(_gated_type(g)), ["SO3", "O3", "octa", "ico", "C4z"], False),
    "gated1_keep": (lambda g: snn.GatedNonLinearity1(_gated_type(g), drop_gates=False), ["O3"], False),
    "group_pooling": (lambda g: snn.GroupPooling(_perm_type(g)), FINITE, False),
    "norm_pool": (lambda g: snn.NormPool(_any_type(g)), ALL, False),
    "field_dropout": (lambda g: snn.FieldDropout(_any_type(g), 0.3), ["SO3", "octa"], True),
    "pointwise_dropout": (lambda g: snn.PointwiseDropout(_perm_type(g), 0.3), ["octa"], True),
    "identity": (lambda g: snn.IdentityModule(_any_type(g)), ["O3"], True),
    "sequential": (
        lambda g: snn.SequentialModule(
            snn.GNormBatchNorm(_gated_type(g)), snn.GatedNonLinearity1(_gated_type(g))
        ),
        ["SO3", "octa"],
        False,
    ),
    "module_list": (lambda g: snn.ModuleList([snn.IdentityModule(_any_type(g))]), ["octa"], None),
    "multiple": (_multiple, ["ico", "cyl"], False),
    "reshuffle": (lambda g: snn.ReshuffleModule(_any_type(g), [2, 0, 3, 1]), ["SO3", "C4z"], True),
    "disentangle": (lambda g: snn.DisentangleModule(_mixed_type(g)), ["octa", "C4z"], False),
    "mask": (lambda g: snn.MaskModule(_any_type(g), 7, margin=10), ["SO3", "ico", "C4z"], True),
}
AGNOSTIC_CASES = [(name, g) for name, (_, spaces, _) in AGNOSTIC.items() for g in spaces]


@pytest.mark.parametrize("name, gs", AGNOSTIC_CASES, ids=[f"{n}-{g}" for n, g in AGNOSTIC_CASES])
def test_dimension_agnostic_module_on_volumes(name, gs):
    make, _, exact = AGNOSTIC[name]
    if name == "module_list":  # a container without a forward: test its member
        lst = make(gs)
        assert len(lst) == 1 and isinstance(lst[0], snn.IdentityModule)
        make = lambda g: lst[0]  # noqa: E731
    with _default_dtype(torch.float64):
        m = make(gs)
    m.eval()
    x = _tensor(m.in_type, 7)
    y = m(x)
    assert y.type == m.out_type
    assert y.tensor.dim() == 5 and y.shape[2:] == x.shape[2:]
    assert tuple(y.shape) == m.evaluate_output_shape(tuple(x.shape))
    assert_equivariant(m, spatial_size=7, batch_size=1, **EXACT64)
    m32 = make(gs).float().eval()
    assert_equivariant(m32, spatial_size=7, batch_size=1, **EXACT32)
    x32 = _tensor(m.in_type, 7, dtype=torch.float32)
    if exact is not None:
        _check_export(m, x, exact=exact)
        _check_export(m32, x32, exact=exact)
    _check_state_dict_and_pickle(m, x)
    m.eval()


def test_dropout_on_volumes_drops_whole_fields_and_voxels():
    t = _any_type("octa")
    x = GeometricTensor(torch.ones(4, t.size, 5, 5, 5, dtype=torch.float64), t)
    m = snn.FieldDropout(t, 0.5).train()
    y = m(x).tensor
    for start, end in zip(t.fields_start, t.fields_end):
        field = y[:, start:end]
        # a field is dropped or kept whole at every voxel
        assert bool(((field == 0).all(dim=1) | (field == 2).all(dim=1)).all())
    y = snn.PointwiseDropout(_perm_type("octa"), 0.5).train()(
        GeometricTensor(torch.ones(2, 25, 5, 5, 5), _perm_type("octa"))
    )
    assert set(torch.unique(y.tensor).tolist()) <= {0.0, 2.0}


def test_mask_module_in_space_is_escnn_ball():
    ref = _reference()["mask"]
    t = FieldType(_gs("octa"), [_gs("octa").trivial_repr])
    for name, case in ref.items():
        m = snn.MaskModule(t, **case["kwargs"]).double()
        assert m.mask.shape == (1, 1, *(case["kwargs"]["S"],) * 3)
        np.testing.assert_allclose(m.mask.numpy().ravel(), case["mask"], rtol=1e-6, atol=1e-9, err_msg=name)
    m = snn.MaskModule(t, 7)
    assert float(m.mask[0, 0, 3, 3, 3]) == 1.0 and float(m.mask[0, 0, 0, 0, 0]) < 0.02
    assert "sigma" not in repr(m) and "sigma=1.5" in repr(snn.MaskModule(t, 7, sigma=1.5))
    with pytest.raises(
        ValueError, match=r"MaskModule: input has spatial shape \(7, 7, 6\); expected \(7, 7, 7\)"
    ):
        m(GeometricTensor(torch.ones(1, 1, 7, 7, 6), t))
    with pytest.raises(
        ValueError, match=r"input_shape=\(1, 1, 7, 7\) is not accepted; expected \(B, 1, 7, 7, 7\)"
    ):
        m.evaluate_output_shape((1, 1, 7, 7))
    with pytest.raises(ValueError, match=r"MaskModule: sigma=0 is not accepted; expected a finite number > 0"):
        snn.MaskModule(t, 7, sigma=0)
    # planar masks are unchanged by the volumes (e2cnn's formula, sigma 2)
    planar = gspaces.Rot2dOnR2(4)
    m2 = snn.MaskModule(FieldType(planar, [planar.trivial_repr]), 5)
    coords = np.arange(5) - 2.0
    r2 = coords[:, None] ** 2 + coords[None, :] ** 2
    expected = np.where(r2 <= 4.0, 1.0, np.exp((4.0 - r2) / 4.0))
    np.testing.assert_allclose(m2.mask[0, 0].double().numpy(), expected, rtol=1e-7)


def test_restriction_module_on_volumes():
    t = _any_type("SO3")
    m = snn.RestrictionModule(t, "octa")
    assert m.out_type == t.restrict("octa") and m.out_type.gspace.fibergroup.name == "Octahedral"
    x = _tensor(t, 5)
    y = m(x)
    assert y.tensor is x.tensor or torch.equal(y.tensor, x.tensor)
    # the restricted fields transform under the octahedral group as the SO(3) fields under its image
    octa = m.out_type.gspace
    parent_map = t.gspace.restrict("octa")[1]
    for g in octa.grid_elements():
        torch.testing.assert_close(
            m.out_type.transform(y.tensor, g), t.transform(x.tensor, parent_map(g)), rtol=1e-12, atol=1e-12
        )
    _check_export(m, x)
    _check_state_dict_and_pickle(m, x)


def _induced_type() -> FieldType:
    """Two fields induced from the irrep 1 of the rotations C4 about z to the octahedral group (size 12)."""
    gs = _gs("octa")
    sub = gs.fibergroup.subgroup((False, 4))[0]
    rep = gs.induced_repr((False, 4), sub.irrep(1))
    return FieldType(gs, [rep, rep])


@pytest.mark.parametrize(
    "cls",
    [snn.InducedNormBatchNorm, snn.InducedNormNonLinearity, snn.InducedNormPool],
    ids=lambda c: c.__name__,
)
def test_induced_modules_on_volumes(cls):
    t = _induced_type()
    with _default_dtype(torch.float64):
        m = cls(t)
    x = _tensor(t, 5)
    m.train()
    m(x)
    m.eval()
    assert tuple(m(x).shape) == m.evaluate_output_shape(tuple(x.shape))
    assert_equivariant(m, spatial_size=5, **EXACT64)
    assert_equivariant(cls(t), spatial_size=5, **EXACT32)
    _check_export(m, x, exact=False)
    _check_state_dict_and_pickle(m, x)


def test_gated_nonlinearity2_on_volumes():
    gs = _gs("octa")
    gates = FieldType(gs, [gs.trivial_repr] * 2)
    gated = FieldType(gs, [gs.irrep(1), gs.irrep(2)])
    m = snn.GatedNonLinearity2((gates, gated)).double()
    with torch.no_grad():
        m.bias.normal_()
    xg, xi = _tensor(gates, 5), _tensor(gated, 5, seed=1)
    y = m(xg, xi)
    assert y.type == gated and y.shape == xi.shape
    torch.testing.assert_close(m.export()(xg.tensor, xi.tensor), y.tensor, rtol=1e-12, atol=1e-12)
    for g in gs.grid_elements():
        gy = m(xg.transform(g), xi.transform(g)).tensor
        torch.testing.assert_close(gy, y.transform(g).tensor, rtol=1e-12, atol=1e-12)


def test_gradients_float64():
    gs = _gs("octa")
    t = FieldType(gs, [gs.irrep(1), gs.trivial_repr, gs.irrep(2)])
    x = torch.randn(2, t.size, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    for m in (
        snn.IIDBatchNorm3d(t).double(),
        snn.GNormBatchNorm(t).double(),
        snn.PointwiseAvgPoolAntialiased3D(t, 0.5, 2).double(),
        snn.R3Upsampling(t, 2),
    ):
        assert torch.autograd.gradcheck(lambda v, m=m: m(GeometricTensor(v, t)).tensor, (x,)), type(
            m
        ).__name__
    tp = FieldType(_gs("C4z"), [_gs("C4z").regular_repr])
    xp = torch.randn(1, tp.size, 4, 4, 4, dtype=torch.float64, requires_grad=True)
    for m in (snn.PointwiseMaxPool3D(tp, 2), snn.PointwiseAdaptiveMaxPool3D(tp, 2)):
        assert torch.autograd.gradcheck(lambda v, m=m: m(GeometricTensor(v, tp)).tensor, (xp,)), type(
            m
        ).__name__


@pytest.mark.parametrize("track", [True, False])
def test_iidbatchnorm3d_without_affine_parameters(track):
    t = _mixed_type("C4z")
    with _default_dtype(torch.float64):
        m = snn.IIDBatchNorm3d(t, affine=False, track_running_stats=track, momentum=None)
    assert m.weight is None and m.bias is None and list(m.parameters()) == []
    _randomise(m)
    _randomise(m)
    if track:
        assert int(m.num_batches_tracked) == 2
    x = _tensor(t, 5)
    assert_equivariant(m, spatial_size=5, train=True, **EXACT64)
    assert_equivariant(m, spatial_size=5, **EXACT64)
    _check_export(m, x, exact=False)
    _check_state_dict_and_pickle(m, x)


def test_max_pool_channels_on_volumes():
    m = snn.MaxPoolChannels(4)
    x = torch.randn(2, 8, 3, 4, 5)
    y = m(x)
    assert y.shape == (2, 2, 3, 4, 5)
    assert torch.equal(y, x.unflatten(1, (2, 4)).amax(dim=2))
    assert torch.equal(m.export()(x), y)


def test_a_whole_octahedral_network_on_volumes():
    # convolution -> IID batch norm -> ReLU -> anti-aliased pool -> convolution -> gated / norm non-linearity ->
    # batch norm -> upsampling -> group pooling -> adaptive pool: equivariant (invariant at the end) at the
    # grid elements, exported to plain torch with the same output
    gs = _gs("octa")
    t_in = FieldType(gs, [gs.trivial_repr])
    t_reg = FieldType(gs, [gs.regular_repr] * 2)
    t_gate = FieldType(gs, [gs.trivial_repr] * 2 + [gs.irrep(1), gs.irrep(2)])
    t_norm = FieldType(gs, [gs.irrep(1), gs.irrep(2)])
    t_out = FieldType(gs, [gs.regular_repr])
    net = snn.SequentialModule(
        snn.R3Conv(t_in, t_reg, 3, padding=1),
        snn.IIDBatchNorm3d(t_reg),
        snn.ReLU(t_reg),
        snn.PointwiseAvgPoolAntialiased3D(t_reg, sigma=0.6, stride=2),
        snn.R3Conv(t_reg, t_gate, 3, padding=1),
        snn.GatedNonLinearity1(t_gate),
        snn.NormNonLinearity(t_norm),
        snn.NormBatchNorm(t_norm),
        snn.R3Conv(t_norm, t_out, 1),
        snn.InnerBatchNorm(t_out),
        snn.PointwiseMaxPool3D(t_out, 3, 1, 1),
        snn.R3Upsampling(t_out, 2),
        snn.GroupPooling(t_out),
        snn.PointwiseAdaptiveAvgPool3D(snn.GroupPooling(t_out).out_type, 1),
    ).double()
    _randomise(net)
    net.eval()
    x = _tensor(t_in, 9)
    y = net(x)
    assert y.shape == (2, 1, 1, 1, 1)
    assert_equivariant(net, spatial_size=9, batch_size=1, **EXACT64)
    e = net.export()
    torch.testing.assert_close(e(x.tensor), y.tensor, rtol=1e-10, atol=1e-12)
