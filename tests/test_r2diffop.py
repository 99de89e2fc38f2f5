"""Tests of structconv.nn.R2Diffop: construction, sizes, equivariance, export, state, cache, errors."""

from __future__ import annotations

import copy
import io
import math
import pickle

import numpy as np
import pytest
import torch

from structconv import diffops, gspaces
from structconv.diffops import cache as dcache
from structconv.nn import FieldType, GeometricTensor, R2Diffop


def _gspace(name: str):
    return {
        "C4": lambda: gspaces.Rot2dOnR2(4),
        "C8": lambda: gspaces.Rot2dOnR2(8),
        "D4": lambda: gspaces.FlipRot2dOnR2(4),
        "SO2": lambda: gspaces.Rot2dOnR2(-1, maximum_frequency=3),
        "O2": lambda: gspaces.FlipRot2dOnR2(-1, maximum_frequency=3),
        "Flip": lambda: gspaces.Flip2dOnR2(),
        "Trivial": lambda: gspaces.TrivialOnR2(),
    }[name]()


def _types(name: str) -> tuple[FieldType, FieldType]:
    gs = _gspace(name)
    if name == "SO2":
        return FieldType(gs, [gs.irrep(0), gs.irrep(1)]), FieldType(
            gs, [gs.irrep(2), gs.irrep(0), gs.irrep(1)]
        )
    if name == "O2":
        g = gs.fibergroup
        return (
            FieldType(gs, [g.irrep(0, 0), g.irrep(1, 1)]),
            FieldType(gs, [g.irrep(1, 2), g.irrep(1, 0), g.irrep(1, 1)]),
        )
    return FieldType(gs, [gs.regular_repr, gs.trivial_repr]), FieldType(
        gs, [gs.trivial_repr, gs.regular_repr]
    )


def _grid_elements(name: str) -> list:
    """Group elements that map the pixel grid onto itself."""
    return {
        "C4": [1, 2, 3],
        "C8": [2, 4, 6],
        "D4": [(0, 1), (1, 0), (1, 1), (1, 3)],
        "SO2": [math.pi / 2, math.pi],
        "O2": [(1, 0.0), (0, math.pi / 2), (1, math.pi / 2)],
        "Flip": [1],  # the flip group C2 (e2cnn's): 1 is the reflection
        "Trivial": [0],
    }[name]


DISCRETIZATIONS = {
    "fd": {},
    "gauss": {"smoothing": 1.0},
    "rbffd_ga": {"rbffd": True},
    "rbffd_phs3": {"rbffd": True, "radial_basis_function": "phs3"},
}


@pytest.mark.parametrize("disc", list(DISCRETIZATIONS))
@pytest.mark.parametrize("group", ["C4", "C8", "D4", "SO2", "O2", "Flip"])
def test_equivariant_on_grid_symmetries(group: str, disc: str) -> None:
    """D[g . f] = g . D[f] for 90° rotations and reflections, in float64, for every discretisation."""
    t_in, t_out = _types(group)
    ks = 4 if disc == "rbffd_phs3" else 3
    pdo = R2Diffop(t_in, t_out, kernel_size=ks, padding=ks // 2 if ks % 2 else 0, **DISCRETIZATIONS[disc])
    pdo = pdo.double()
    with torch.no_grad():
        pdo.weights.normal_()
        if pdo.bias is not None:
            pdo.bias.normal_()
    x = torch.randn(2, t_in.size, 9, 9, dtype=torch.float64)
    y = pdo(GeometricTensor(x, t_in)).tensor
    for g in _grid_elements(group):
        y_of_gx = pdo(GeometricTensor(t_in.transform(x, g), t_in)).tensor
        torch.testing.assert_close(y_of_gx, t_out.transform(y, g), atol=1e-10, rtol=1e-10, msg=f"element {g}")


def test_check_equivariance_helper_passes() -> None:
    t_in, t_out = _types("D4")
    pdo = R2Diffop(t_in, t_out, kernel_size=3, padding=1)
    errors = dict(pdo.check_equivariance(atol=1e-5, rtol=1e-4))
    assert max(errors[g] for g in _grid_elements("D4")) < 1e-4


def test_fd_layer_computes_derivatives() -> None:
    """A trivial-to-vector PDO of order 1 is the gradient (up to scale and rotation within the basis)."""
    gs = gspaces.Rot2dOnR2(-1, maximum_frequency=2)
    t_in, t_out = FieldType(gs, [gs.trivial_repr]), FieldType(gs, [gs.irrep(1)])
    pdo = R2Diffop(t_in, t_out, kernel_size=3, bias=False).double()
    xs = torch.arange(7, dtype=torch.float64) - 3
    yy, xx = torch.meshgrid(-xs, xs, indexing="ij")  # row 0 on top: y up
    f = 0.5 * xx**2 + 2 * xx * yy  # grad = (x + 2y, 2x)
    out = pdo(GeometricTensor(f[None, None], t_in)).tensor[0, :, 2:-2, 2:-2]
    gx, gy = (xx + 2 * yy)[3:-3, 3:-3], (2 * xx)[3:-3, 3:-3]
    # the output lies in span{grad, J grad} as a field: fit the 2x2 rotation-scale matrix
    a = torch.stack([gx.flatten(), gy.flatten()])
    coef = torch.linalg.lstsq(a.T, out.reshape(2, -1).T).solution
    torch.testing.assert_close(a.T @ coef, out.reshape(2, -1).T, atol=1e-9, rtol=0)


# ------------------------------------------------------------------------------------------------ sizes
def test_kernel_size_accuracy_order_relations() -> None:
    t_in, t_out = _types("C4")
    assert (
        R2Diffop(t_in, t_out, kernel_size=5).maximum_order,
        R2Diffop(t_in, t_out, kernel_size=5).accuracy,
    ) == (4, 2)
    pdo = R2Diffop(t_in, t_out, maximum_order=2)
    assert (pdo.kernel_size, pdo.accuracy) == (3, 2)
    pdo = R2Diffop(t_in, t_out, maximum_order=2, accuracy=3)
    assert pdo.kernel_size == 5
    pdo = R2Diffop(t_in, t_out, kernel_size=5, accuracy=3)
    assert pdo.maximum_order == 2
    assert R2Diffop(t_in, t_out, kernel_size=2).filter.shape[-2:] == (2, 2)  # an even kernel builds
    with pytest.raises(ValueError, match="at most two"):
        R2Diffop(t_in, t_out, kernel_size=5, accuracy=2, maximum_order=2)
    with pytest.raises(ValueError, match="kernel_size=None and maximum_order=None"):
        R2Diffop(t_in, t_out)
    with pytest.raises(ValueError, match="maximum_order=3 cannot be discretised with kernel_size=3"):
        R2Diffop(t_in, t_out, kernel_size=3, maximum_order=3)


def test_parameter_counts_and_options() -> None:
    gs = gspaces.Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    # numbers from the reference library (e2cnn 0.2.3, fresh process per configuration)
    assert R2Diffop(t, t, kernel_size=3).weights.numel() == 24
    assert R2Diffop(t, t, kernel_size=5).weights.numel() == 60
    assert R2Diffop(t, t, kernel_size=4).weights.numel() == 40
    assert R2Diffop(t, t, kernel_size=5, maximum_power=0).weights.numel() == 36
    assert R2Diffop(t, t, kernel_size=5, maximum_power=1).weights.numel() == 56
    assert R2Diffop(t, t, kernel_size=7, maximum_offset=0, initialize=False).weights.numel() == 48
    gs = gspaces.FlipRot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    assert R2Diffop(t, t, kernel_size=5).weights.numel() == 120
    pdo = R2Diffop(t, t, kernel_size=5, basis_filter=lambda a: a["order"] <= 2)
    assert pdo.weights.numel() == R2Diffop(t, t, maximum_order=2).weights.numel() == 48
    assert R2Diffop(t, t, kernel_size=7, maximum_offset=0, initialize=False).weights.numel() == 96
    infos = list(pdo.basisexpansion.get_basis_info())
    assert len(infos) == 48 and all(i["order"] <= 2 for i in infos)


@pytest.mark.oracle
def test_parameter_counts_match_oracle() -> None:
    e2nn = pytest.importorskip("e2cnn.nn")
    e2gs = pytest.importorskip("e2cnn.gspaces")
    for ours_gs, ref_gs in [
        (gspaces.Rot2dOnR2(8), e2gs.Rot2dOnR2(8)),
        (gspaces.Rot2dOnR2(-1, maximum_frequency=3), e2gs.Rot2dOnR2(-1, maximum_frequency=3)),
    ]:
        for kw in ({"kernel_size": 3}, {"kernel_size": 5, "accuracy": 3}):
            ref_t = e2nn.FieldType(ref_gs, [ref_gs.irrep(0), ref_gs.irrep(1), ref_gs.irrep(2)])
            ours_t = FieldType(ours_gs, [ours_gs.irrep(0), ours_gs.irrep(1), ours_gs.irrep(2)])
            ref = e2nn.R2Diffop(ref_t, ref_t, initialize=False, **kw)
            ours = R2Diffop(ours_t, ours_t, initialize=False, **kw)
            assert ours.weights.numel() == ref.weights.numel()
            assert (ours.bias is None) == (ref.bias is None)


def _all_filters(module: torch.nn.Module) -> np.ndarray:
    """The filter of every unit coefficient vector, one flattened row each."""
    dim = module.weights.numel()
    rows = []
    with torch.no_grad():
        for i in range(dim):
            module.weights.zero_()
            module.weights[i] = 1.0
            rows.append(module.expand_parameters()[0].double().numpy().ravel())
    return np.array(rows)


@pytest.mark.oracle
def test_fd_filters_span_the_oracle_space() -> None:
    """For rotations, the FD-discretised basis spans exactly the reference library's filters."""
    e2nn = pytest.importorskip("e2cnn.nn")
    e2gs = pytest.importorskip("e2cnn.gspaces")
    ref_gs, gs = e2gs.Rot2dOnR2(4), gspaces.Rot2dOnR2(4)
    for ks, trivial_in in ((5, False), (4, True)):
        ref_in = e2nn.FieldType(ref_gs, [ref_gs.trivial_repr if trivial_in else ref_gs.regular_repr])
        ref_out = e2nn.FieldType(ref_gs, [ref_gs.regular_repr])
        t_in = FieldType(gs, [gs.trivial_repr if trivial_in else gs.regular_repr])
        t_out = FieldType(gs, [gs.regular_repr])
        a = _all_filters(e2nn.R2Diffop(ref_in, ref_out, kernel_size=ks, initialize=False))
        b = _all_filters(R2Diffop(t_in, t_out, kernel_size=ks, initialize=False))
        rank = np.linalg.matrix_rank
        assert rank(a, tol=1e-5) == rank(b, tol=1e-5) == rank(np.vstack([a, b]), tol=1e-5) == len(b)


# ------------------------------------------------------------------------------------ module behaviour
def test_export_train_eval_state_dict_and_pickle() -> None:
    t_in, t_out = _types("D4")
    pdo = R2Diffop(t_in, t_out, kernel_size=3, padding=1, stride=2, smoothing=0.8)
    x = torch.randn(2, t_in.size, 10, 10)
    y_train = pdo(GeometricTensor(x, t_in)).tensor
    keys = set(pdo.state_dict())
    assert keys == {"weights", "bias"}
    pdo.eval()
    assert pdo.filter is not None and set(pdo.state_dict()) == keys
    assert not pdo.filter.requires_grad
    torch.testing.assert_close(pdo(GeometricTensor(x, t_in)).tensor, y_train)
    pdo.train()
    conv = pdo.export()
    assert isinstance(conv, torch.nn.Conv2d)
    torch.testing.assert_close(conv(x), y_train, atol=1e-5, rtol=1e-5)
    # state dict round trip into a fresh layer
    other = R2Diffop(t_in, t_out, kernel_size=3, padding=1, stride=2, smoothing=0.8, initialize=False)
    other.load_state_dict(pdo.state_dict())
    torch.testing.assert_close(other(GeometricTensor(x, t_in)).tensor, y_train)
    for clone in (copy.deepcopy(pdo), pickle.loads(pickle.dumps(pdo))):
        torch.testing.assert_close(clone(GeometricTensor(x, t_in)).tensor, y_train)
    buf = io.BytesIO()
    torch.save(pdo.state_dict(), buf)
    assert pdo.evaluate_output_shape((2, t_in.size, 10, 10)) == tuple(y_train.shape)
    text = repr(pdo)
    assert "R2Diffop" in text and "maximum_order=2" in text and "gauss" in text


def test_initialisations() -> None:
    from structconv.nn import init

    gs = gspaces.Rot2dOnR2(8)
    t = FieldType(gs, [gs.regular_repr] * 2)
    pdo = R2Diffop(t, t, kernel_size=3, initialize=False)
    assert torch.all(pdo.weights == 0)
    init.deltaorthonormal_init(pdo.weights.data, pdo.basisexpansion)  # order-0 FD stencils are deltas
    filt = pdo.expand_parameters()[0].detach()
    centre = filt[:, :, 1, 1]
    torch.testing.assert_close(centre @ centre.T, torch.eye(16), atol=1e-5, rtol=0)
    assert filt[:, :, 0, :].abs().max() == 0
    init.generalized_he_init(pdo.weights.data, pdo.basisexpansion)
    assert pdo.weights.std() > 0
    names = pdo.basisexpansion.get_basis_names()
    assert len(set(names)) == len(names) == pdo.weights.numel()


def test_gradcheck_float64() -> None:
    gs = gspaces.Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr])
    pdo = R2Diffop(t, t, kernel_size=3).double()
    x = torch.randn(1, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    w = pdo.weights.detach().clone().requires_grad_(True)

    def fn(inp: torch.Tensor, ww: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(pdo, {"weights": ww}, (GeometricTensor(inp, t),)).tensor

    assert torch.autograd.gradcheck(fn, (x, w))
    # gradients reach the parameters through the basis expansion
    pdo.weights = torch.nn.Parameter(w.detach().clone())
    pdo(GeometricTensor(x.detach(), t)).tensor.sum().backward()
    assert pdo.weights.grad is not None and pdo.weights.grad.abs().sum() > 0


def test_padding_mode_dilation_groups() -> None:
    gs = gspaces.Rot2dOnR2(4)
    t = FieldType(gs, [gs.regular_repr] * 2)
    x = torch.randn(1, 8, 11, 11)
    for kw in (
        {"padding_mode": "circular", "padding": 1},
        {"dilation": 2, "padding": 2},
        {"groups": 2, "padding": 1},
    ):
        pdo = R2Diffop(t, t, kernel_size=3, **kw)
        y = pdo(GeometricTensor(x, t)).tensor
        torch.testing.assert_close(pdo.export()(x), y, atol=1e-5, rtol=1e-5)
        assert y.shape == (1, 8, 11, 11)
    # with dilation, FD stencils approximate derivatives in input pixels
    gs1 = gspaces.TrivialOnR2()
    t1 = FieldType(gs1, [gs1.trivial_repr])
    pdo = R2Diffop(t1, t1, kernel_size=3, dilation=2, bias=False, basis_filter=lambda a: a["power"] == 1)
    filt = pdo.expand_parameters()[0][0, 0].detach()
    xs = torch.arange(3.0) * 2 - 2  # the dilated stencil's pixels sit 2 input pixels apart
    yy, xx = torch.meshgrid(-xs, xs, indexing="ij")
    assert abs(float(filt.sum())) < 1e-5 and abs(float((filt * xx).sum())) < 1e-5
    # the second moment is that of the Laplacian in input pixels: sum w (x^2 + y^2) / 2 = coefficient
    lap = float((filt * (xx**2 + yy**2)).sum()) / 2
    assert abs(float((filt * xx * yy).sum())) < 1e-5
    np.testing.assert_allclose(float((filt * xx**2).sum()), lap, rtol=1e-5)


def test_bad_arguments() -> None:
    t_in, t_out = _types("C4")
    other = FieldType(gspaces.Rot2dOnR2(8), [gspaces.Rot2dOnR2(8).trivial_repr])
    with pytest.raises(TypeError, match="in_type must be a structconv.nn.FieldType"):
        R2Diffop("x", t_out, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share one gspace"):
        R2Diffop(t_in, other, 3)
    with pytest.raises(ValueError, match="cache='yes'"):
        R2Diffop(t_in, t_out, 3, cache="yes")
    with pytest.raises(ValueError, match="radial_basis_function='tps'"):
        R2Diffop(t_in, t_out, 3, rbffd=True, radial_basis_function="tps")
    with pytest.raises(ValueError, match="smoothing=-1"):
        R2Diffop(t_in, t_out, 3, smoothing=-1.0)
    with pytest.raises(ValueError, match="maximum_power=-1"):
        R2Diffop(t_in, t_out, 3, maximum_power=-1)
    with pytest.raises(ValueError, match="padding_mode='mirror'"):
        R2Diffop(t_in, t_out, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="basisexpansion='single'"):
        R2Diffop(t_in, t_out, 3, basisexpansion="single")
    with pytest.raises(ValueError, match="groups=3"):
        R2Diffop(t_in, t_out, 3, groups=3)
    with pytest.raises(TypeError, match="angle_offset='a'"):
        R2Diffop(t_in, t_out, 3, angle_offset="a")  # type: ignore[arg-type]
    pdo = R2Diffop(t_in, t_out, 3)
    with pytest.raises(ValueError, match="expected"):
        pdo(GeometricTensor(torch.randn(1, t_out.size, 5, 5), t_out))


def test_angle_offset_so2_keeps_the_space() -> None:
    gs = gspaces.Rot2dOnR2(-1, maximum_frequency=2)
    t = FieldType(gs, [gs.irrep(1)])
    a = R2Diffop(t, t, kernel_size=3, initialize=False).basisexpansion
    b = R2Diffop(t, t, kernel_size=3, initialize=False, angle_offset=0.7).basisexpansion
    assert a.dimension() == b.dimension()


# ------------------------------------------------------------------------------------------------- cache
def test_cache_option_round_trip(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    saved = dict(dcache._STENCILS)
    try:
        dcache.clear_cache()
        gs = gspaces.Rot2dOnR2(4)
        t = FieldType(gs, [gs.regular_repr])
        ref = R2Diffop(
            t, t, kernel_size=3, rbffd=True, radial_basis_function="phs5", cache="store", recompute=True
        )
        assert (tmp_path / dcache.DEFAULT_CACHE_PATH).exists()
        dcache.clear_cache()
        assert diffops.load_cache() > 0
        n = dcache.cache_size()
        other = R2Diffop(
            t, t, kernel_size=3, rbffd=True, radial_basis_function="phs5", cache=True, recompute=True
        )
        assert dcache.cache_size() == n  # everything came from the loaded cache
        np.testing.assert_allclose(
            other.basisexpansion(ref.weights.detach()).numpy(),
            ref.basisexpansion(ref.weights.detach()).numpy(),
        )
    finally:
        dcache.clear_cache()
        dcache._STENCILS.update(saved)
