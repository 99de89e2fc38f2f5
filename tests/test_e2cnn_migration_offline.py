"""The e2cnn checkpoint loader without e2cnn: layouts, name matching, the basis map and errors.

``e2cnn_state_dict_of`` writes a structconv model's state in e2cnn's layout (with structconv's own bases);
loading it back must give the same model, for every layer kind the loader converts. The oracle tests
(tests/test_e2cnn_migration*.py) check the change of basis against e2cnn itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from structconv import gspaces as sg
from structconv import nn as sn
from structconv.compat import e2cnn as compat
from structconv.compat.e2cnn import (
    E2cnnCheckpointError,
    convert_e2cnn_state_dict,
    e2cnn_state_dict_of,
    load_e2cnn_state_dict,
)
from structconv.group import directsum

GSPACES = {
    "C4": lambda: sg.Rot2dOnR2(4),
    "D4": lambda: sg.FlipRot2dOnR2(4),
    "SO2": lambda: sg.Rot2dOnR2(-1, maximum_frequency=3),
    "O2": lambda: sg.FlipRot2dOnR2(-1, maximum_frequency=3),
}


def _irr(g, k):
    return g.irrep(1, k) if "Flip" in type(g).__name__ else g.irrep(k)


def _big(g):
    return g.regular_repr if g.fibergroup.order() > 0 else _irr(g, 3)


def _induced(g, k):
    sub_id = (None, 2) if "Flip" in type(g).__name__ else 2
    sub = g.restrict(sub_id)[0]
    return g.induced_repr(sub_id, sub.irrep(k) if k else sub.trivial_repr)


def _layers(gname):
    g = GSPACES[gname]()
    mixed = sn.FieldType(g, [g.trivial_repr, _big(g), _irr(g, 1), g.trivial_repr, _big(g)])
    other = sn.FieldType(g, [_irr(g, 2), g.trivial_repr, _irr(g, 1)])
    vec = sn.FieldType(g, [_irr(g, 1), _irr(g, 2), _irr(g, 1)])
    gated = sn.FieldType(g, [_big(g), g.trivial_repr, _irr(g, 1), g.trivial_repr])
    layers = {
        "R2Conv": lambda: (sn.R2Conv(mixed, other, 3), mixed),
        "R2ConvTransposed": lambda: (sn.R2ConvTransposed(mixed, other, 3, stride=2), mixed),
        "R2Diffop": lambda: (sn.R2Diffop(other, mixed, 3), other),
        "GNormBatchNorm": lambda: (sn.GNormBatchNorm(mixed), mixed),
        "NormBatchNorm": lambda: (sn.NormBatchNorm(vec), vec),
        "NormNonLinearity": lambda: (sn.NormNonLinearity(vec), vec),
        "GatedNonLinearity1": lambda: (
            sn.GatedNonLinearity1(gated, gates=["gated", "gate", "gated", "gate"]),
            gated,
        ),
    }
    if g.fibergroup.order() > 0:
        reg = sn.FieldType(g, [g.regular_repr, g.trivial_repr, g.regular_repr])
        ind = sn.FieldType(g, [_induced(g, 1), _induced(g, 0), _induced(g, 1)])
        ind_gated = sn.FieldType(g, [_induced(g, 0), _induced(g, 1)])
        layers |= {
            "InnerBatchNorm": lambda: (sn.InnerBatchNorm(reg), reg),
            "InducedNormBatchNorm": lambda: (sn.InducedNormBatchNorm(ind.index_select([0, 2])), None),
            "InducedNormNonLinearity": lambda: (sn.InducedNormNonLinearity(ind.index_select([0, 2])), None),
            "InducedGatedNonLinearity1": lambda: (sn.InducedGatedNonLinearity1(ind_gated), ind_gated),
        }
    return layers


CASES = [(g, kind) for g in GSPACES for kind in _layers(g)]


def _randomize(model, seed=0):
    """Random positive values in every saved tensor (parameters and running statistics)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=gen, dtype=t.dtype) + 0.5)
            else:
                t.fill_(7)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_round_trip_through_e2cnn_layout(case):
    gname, kind = case
    torch.manual_seed(0)
    build = _layers(gname)[kind]
    model, t = build()
    model = sn.SequentialModule(model) if t is not None else torch.nn.ModuleDict({"layer": model})
    _randomize(model)
    checkpoint = e2cnn_state_dict_of(model)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in checkpoint.items()} != shapes  # the layouts differ
    fresh, _ = build()
    fresh = sn.SequentialModule(fresh) if t is not None else torch.nn.ModuleDict({"layer": fresh})
    load_e2cnn_state_dict(fresh, checkpoint)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[k], v, rtol=1e-6, atol=1e-6, msg=k)


def test_disentangled_types_round_trip():
    """A restricted, disentangled model (structconv names in the checkpoint) loads back."""
    g = sg.FlipRot2dOnR2(8)
    t = sn.FieldType(g, [g.regular_repr, g.trivial_repr, g.regular_repr])
    res = sn.RestrictionModule(t, (0, 4))
    dis = sn.DisentangleModule(res.out_type)
    h = dis.out_type
    out = sn.FieldType(h.gspace, [h.gspace.regular_repr] * 2)
    build = lambda: sn.SequentialModule(res, dis, sn.GNormBatchNorm(h), sn.R2Conv(h, out, 3))  # noqa: E731
    model = build()
    _randomize(model)
    fresh = build()
    load_e2cnn_state_dict(fresh, e2cnn_state_dict_of(model))
    for k, v in model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[k], v, rtol=1e-6, atol=1e-6, msg=k)


@pytest.mark.parametrize("permuted", [False, True], ids=["directsum", "permuted"])
def test_split_disentangled_names_resolve_by_e2cnn_labels(permuted):
    """e2cnn names the parts of a disentangled 'ds' 'ds_0', 'ds_1', ... and the unsplit 'regular' field
    'regular_0'. structconv returns the summands of a plain direct sum themselves, so 'ds_0' and
    'regular_0' are both structconv's 'regular': only the e2cnn names of the fields, followed through the
    disentangle module, tell them apart. (With a permuted basis the parts are new representations.)"""
    g = sg.FlipRot2dOnR2(4)
    parts = [g.regular_repr, g.irrep(1, 1), g.trivial_repr]
    perm = np.eye(11)[np.random.default_rng(0).permutation(11)] if permuted else None
    ds = directsum(parts, change_of_basis=perm, name="ds")
    t = sn.FieldType(g, [ds, g.regular_repr, ds])
    dis = sn.DisentangleModule(t)
    h = dis.out_type
    out = sn.FieldType(g, [g.trivial_repr, g.regular_repr])
    build = lambda: sn.SequentialModule(dis, sn.GNormBatchNorm(h), sn.R2Conv(h, out, 3))  # noqa: E731
    model = build()
    labels = compat._Names(model).labelings(h)[0]
    assert labels == ["ds_0", "ds_1", "ds_2", "regular_0", "ds_0", "ds_1", "ds_2"]
    ours = [r.name for r in h.representations]
    assert (ours[0] == ours[3] == "regular") != permuted
    _randomize(model)
    checkpoint = e2cnn_state_dict_of(model)
    assert "1.ds_0_running_var" in checkpoint and "1.regular_0_running_var" in checkpoint
    assert "2._basisexpansion.block_expansion_('regular_0', 'regular').sampled_basis" in checkpoint
    fresh = build()
    load_e2cnn_state_dict(fresh, checkpoint)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[k], v, rtol=1e-6, atol=1e-6, msg=k)
    # without the disentangle module, two names of size 8 that no name explains: refused, not guessed
    bare = sn.SequentialModule(sn.IdentityModule(h), sn.GNormBatchNorm(h), sn.R2Conv(h, out, 3))
    if not permuted:
        with pytest.raises(E2cnnCheckpointError, match=r"layer '1' \(GNormBatchNorm\).*matches no single"):
            convert_e2cnn_state_dict(bare, checkpoint)


def test_basis_map_well_and_ill_conditioned():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(12, 200, generator=gen, dtype=torch.float64)
    t = torch.randn(12, 12, generator=gen, dtype=torch.float64)
    sol, residual = compat._basis_map(a, t.T @ a)
    torch.testing.assert_close(sol, t, rtol=1e-12, atol=1e-12)
    assert residual < 1e-14
    est = compat._gram_condition(a @ a.T, torch.linalg.cholesky(a @ a.T))
    true = float(torch.linalg.cond(a @ a.T))
    assert 0.5 * true < est <= true * (1 + 1e-6)
    # condition number 1e6: the SVD path, still exact to rounding
    u, _, vh = torch.linalg.svd(a, full_matrices=False)
    bad = u @ torch.diag(torch.logspace(0, -6, 12, dtype=torch.float64)) @ vh
    sol, residual = compat._basis_map(bad, t.T @ bad)
    assert residual < 1e-12
    # another span: a large residual
    _, residual = compat._basis_map(a, torch.randn(12, 200, generator=gen, dtype=torch.float64))
    assert residual > 0.5


def test_bad_arguments_and_mismatches_name_the_layer_and_load_nothing():
    g = sg.FlipRot2dOnR2(4)
    t = sn.FieldType(g, [g.regular_repr, g.trivial_repr])
    model = sn.SequentialModule(sn.R2Conv(t, t, 3), sn.GNormBatchNorm(t))
    with pytest.raises(TypeError, match="model=dict is not accepted"):
        convert_e2cnn_state_dict({}, {})
    with pytest.raises(TypeError, match="state_dict=list is not accepted"):
        convert_e2cnn_state_dict(model, [])
    _randomize(model)
    good = e2cnn_state_dict_of(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cases = {
        "missing weights": (
            {k: v for k, v in good.items() if k != "0.weights"},
            r"layer '0' \(R2Conv\).*'weights'",
        ),
        "stray key": (good | {"1.stray": torch.zeros(1)}, r"'1.stray'.*layer '1' \(GNormBatchNorm\)"),
        "missing statistics": (
            {k: v for k, v in good.items() if k != "1.regular_running_var"},
            r"layer '1' \(GNormBatchNorm\): the checkpoint lacks 'regular_running_var'",
        ),
        "too many weights": (
            good | {"0.weights": torch.cat([good["0.weights"], torch.zeros(3)])},
            r"layer '0' \(R2Conv\): 'weights' has \d+ entries but the checkpoint's bases account for",
        ),
        "unknown representation": (
            {k.replace("'regular'", "'other'"): v for k, v in good.items()}
            | {"0.weights": good["0.weights"]},
            None,
        ),
    }
    for name, (sd, pattern) in cases.items():
        if pattern is None:  # a lone unknown name of a unique size is matched: no error
            convert_e2cnn_state_dict(model, sd)
            continue
        with pytest.raises(E2cnnCheckpointError, match=pattern):
            load_e2cnn_state_dict(model, sd)
        assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items()), name


def test_norm_nonlinearity_eps_must_be_e2cnn_s():
    g = sg.Rot2dOnR2(4)
    t = sn.FieldType(g, [g.irrep(1)] * 2)
    m = sn.NormNonLinearity(t)
    sd = {"log_bias": torch.zeros(1, 2, 1, 1), "eps": torch.tensor(1e-10), "indices_2": torch.tensor([0, 4])}
    load_e2cnn_state_dict(m, sd)
    with pytest.raises(E2cnnCheckpointError, match=r"'eps' is 0\.001; structconv implements"):
        load_e2cnn_state_dict(m, sd | {"eps": torch.tensor(1e-3)})
