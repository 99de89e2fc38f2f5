"""e2cnn's public ``nn`` and ``nn.init`` surface, walked mechanically (oracle: needs e2cnn 0.2.3).

Every name in the ``__all__`` of ``e2cnn.nn`` and ``e2cnn.nn.init`` must exist in ``structconv.nn`` /
``structconv.nn.init``; every public attribute and method of e2cnn's public classes must exist on ours;
every parameter an e2cnn callable accepts must be accepted by ours (by name, or through ``**kwargs`` when
e2cnn's takes ``**kwargs`` too). The test prints what is missing and fails when anything is. Deliberate
exclusions live in ``EXCLUDED``, each with its reason. (The group / gspaces / kernels half of the walk is in
``tests/test_e2cnn_surface.py``.)
"""

from __future__ import annotations

import inspect
import re

import pytest
import torch

pytestmark = pytest.mark.oracle

pytest.importorskip("e2cnn")

import e2cnn.nn  # noqa: E402
import e2cnn.nn.init  # noqa: E402

import structconv.nn  # noqa: E402
import structconv.nn.init  # noqa: E402

#: name -> reason. A name is ``module.Name`` or ``module.Name.attribute`` or ``module.Name.attribute(param)``.
from _e2cnn_deviations import EXCLUDED  # noqa: E402 - the one list of deliberate exclusions

_PAIRS = [("nn", e2cnn.nn, structconv.nn), ("nn.init", e2cnn.nn.init, structconv.nn.init)]


def _parameters(obj):
    try:
        return inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return None


def _signature_gaps(label: str, theirs, ours) -> list[str]:
    """Parameters ``theirs`` accepts that ``ours`` does not."""
    tp, op = _parameters(theirs), _parameters(ours)
    if tp is None or op is None:
        return []
    our_var_kw = any(p.kind is p.VAR_KEYWORD for p in op.values())
    our_var_pos = any(p.kind is p.VAR_POSITIONAL for p in op.values())
    gaps = []
    for name, p in tp.items():
        if p.kind is p.VAR_KEYWORD:
            if not our_var_kw:
                gaps.append(f"{label}(**{name})")
        elif p.kind is p.VAR_POSITIONAL:
            if not our_var_pos:
                gaps.append(f"{label}(*{name})")
        elif name not in op and not our_var_kw:
            gaps.append(f"{label}({name})")
    return gaps


def _walk() -> tuple[int, list[str], list[str]]:
    checked, missing, signatures = 0, [], []
    for label, theirs_mod, ours_mod in _PAIRS:
        for name in theirs_mod.__all__:
            checked += 1
            key = f"{label}.{name}"
            if not hasattr(ours_mod, name):
                missing.append(key)
                continue
            theirs, ours = getattr(theirs_mod, name), getattr(ours_mod, name)
            signatures += _signature_gaps(key, theirs, ours)
            if not inspect.isclass(theirs):
                continue
            for attr in dir(theirs):
                if attr.startswith("_"):
                    continue
                checked += 1
                akey = f"{key}.{attr}"
                if not hasattr(ours, attr):
                    missing.append(akey)
                    continue
                ta, oa = getattr(theirs, attr), getattr(ours, attr)
                if callable(ta) and callable(oa):
                    signatures += _signature_gaps(akey, ta, oa)
    missing = [m for m in missing if m not in EXCLUDED]
    signatures = [s for s in signatures if s not in EXCLUDED]
    return checked, missing, signatures


def test_every_public_name_and_attribute_exists():
    checked, missing, _ = _walk()
    print(f"e2cnn nn surface: {checked} names checked, {len(missing)} missing, {len(EXCLUDED)} excluded")
    for m in missing:
        print("  missing:", m)
    assert checked > 2000
    assert not missing, f"{len(missing)} public names of e2cnn.nn are missing from structconv.nn: {missing}"


def test_every_accepted_parameter_is_accepted():
    _, _, signatures = _walk()
    for s in signatures:
        print("  stricter signature:", s)
    assert not signatures, f"signatures stricter than e2cnn's: {signatures}"


def test_all_lists_cover_e2cnn():
    for label, theirs_mod, ours_mod in _PAIRS:
        absent = sorted(set(theirs_mod.__all__) - set(ours_mod.__all__))
        assert not absent, f"structconv.{label}.__all__ lacks {absent}"


def test_walk_detects_a_missing_attribute(monkeypatch):
    # the walk can fail: remove one method and one parameter and see both reported
    monkeypatch.delattr(structconv.nn.InnerBatchNorm, "reset_running_stats")
    _, missing, _ = _walk()
    assert "nn.InnerBatchNorm.reset_running_stats" in missing

    def strict(self, atol=1e-7, rtol=1e-5):  # no full_space_action
        return []

    monkeypatch.setattr(structconv.nn.MultipleModule, "check_equivariance", strict)
    _, _, signatures = _walk()
    assert "nn.MultipleModule.check_equivariance(full_space_action)" in signatures


# --------------------------------------------------------------------------- attributes set on instances
#: instance attributes of e2cnn modules that are implementation details: e2cnn registers its index
#: buffers, per-size sub-modules and per-representation statistics under public-looking names
#: (``indices_4``, ``batch_norm_[4]``, ``irrep_1_weight``, ``regular_running_var``, ...). They have no
#: documented meaning (their layout is e2cnn's); structconv keeps its own state under its own names.
#: ``branching`` is an attribute e2cnn's gated non-linearities set to ``None`` and never use.
INTERNAL_ATTRIBUTE = re.compile(
    r"^(indices(_\d+)?|in_indices_\d+|out_indices_\d+|input_indices_.*|output_indices_.*|gates_indices|"
    r"batch_norm_\[\d+\]|eps|branching|change_of_basis_.*|fiber_indices_.*|vars_(aggregator|propagator)_.*|"
    r"\w+_(bias|weight|indices|running_mean|running_var|change_of_basis|change_of_basis_inv))$"
)


def _instances(lib, gspaces):
    gs = gspaces.Rot2dOnR2(4)
    reg = lib.FieldType(gs, [gs.regular_repr] * 2)
    irr = lib.FieldType(gs, [gs.irrep(1), gs.irrep(2)])
    mixed = lib.FieldType(gs, [gs.regular_repr, gs.irrep(1)])
    out = {
        "R2Conv": lib.R2Conv(reg, reg, 3),
        "R2ConvTransposed": lib.R2ConvTransposed(reg, reg, 3),
        "InnerBatchNorm": lib.InnerBatchNorm(reg),
        "NormBatchNorm": lib.NormBatchNorm(irr),
        "GNormBatchNorm": lib.GNormBatchNorm(mixed),
        "ReLU": lib.ReLU(reg),
        "ELU": lib.ELU(reg),
        "PointwiseNonLinearity": lib.PointwiseNonLinearity(reg),
        "NormNonLinearity": lib.NormNonLinearity(irr),
        "VectorFieldNonLinearity": lib.VectorFieldNonLinearity(reg),
        "GatedNonLinearity1": lib.GatedNonLinearity1(lib.FieldType(gs, [gs.trivial_repr, gs.irrep(1)])),
        "GroupPooling": lib.GroupPooling(reg),
        "NormPool": lib.NormPool(irr),
        "PointwiseMaxPool": lib.PointwiseMaxPool(reg, 2),
        "PointwiseMaxPoolAntialiased": lib.PointwiseMaxPoolAntialiased(reg, 3),
        "PointwiseAvgPool": lib.PointwiseAvgPool(reg, 2),
        "PointwiseAvgPoolAntialiased": lib.PointwiseAvgPoolAntialiased(reg, 0.6, 2),
        "PointwiseAdaptiveAvgPool": lib.PointwiseAdaptiveAvgPool(reg, 2),
        "NormMaxPool": lib.NormMaxPool(irr, 2),
        "R2Upsampling": lib.R2Upsampling(reg, 2),
        "MaskModule": lib.MaskModule(reg, 9),
        "FieldDropout": lib.FieldDropout(reg),
        "PointwiseDropout": lib.PointwiseDropout(reg),
        "IdentityModule": lib.IdentityModule(reg),
        "ReshuffleModule": lib.ReshuffleModule(reg, [1, 0]),
        "RestrictionModule": lib.RestrictionModule(reg, 2),
        "DisentangleModule": lib.DisentangleModule(reg),
        "SequentialModule": lib.SequentialModule(lib.ReLU(reg)),
        "MultipleModule": lib.MultipleModule(
            mixed,
            ["a", "b"],
            [
                (lib.ReLU(lib.FieldType(gs, [gs.regular_repr])), "a"),
                (lib.NormNonLinearity(lib.FieldType(gs, [gs.irrep(1)])), "b"),
            ],
        ),
        "FieldType": reg,
        "GeometricTensor": lib.GeometricTensor(torch.zeros(1, reg.size, 3, 3), reg),
    }
    return out


def test_instance_attributes_exist():
    import e2cnn.gspaces

    import structconv.gspaces

    theirs, ours = _instances(e2cnn.nn, e2cnn.gspaces), _instances(structconv.nn, structconv.gspaces)
    missing, excluded = [], 0
    for name, obj in theirs.items():
        for attr in dir(obj):
            if attr.startswith("_") or hasattr(ours[name], attr):
                continue
            if INTERNAL_ATTRIBUTE.match(attr):
                excluded += 1
                continue
            missing.append(f"{name}().{attr}")
    print(
        f"instance attributes: {len(theirs)} instances, {len(missing)} missing, {excluded} internal excluded"
    )
    assert not missing, f"instance attributes of e2cnn modules missing here: {missing}"
