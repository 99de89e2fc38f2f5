"""Numeric parity of ``structconv.nn`` with ``e2cnn.nn`` (oracle: needs e2cnn 0.2.3).

Every module is built twice, by the same code (``lib.Module(lib.FieldType(gs, ...))`` with ``lib`` either
``e2cnn.nn`` or ``structconv.nn``), on the same field types of C4, C8, D4, D8, SO(2) and O(2) (trivial,
regular, quotient, irrep and mixed fields). The learnable state of ours is copied into e2cnn's, and the two
are compared: whether they accept the type at all, outputs in train and eval mode, input (and parameter)
gradients, running statistics, ``evaluate_output_shape`` and the output representations. R2Conv's weights
live in another basis than e2cnn's, so convolutions are compared by the span of their expanded filters.

Every difference is a failure, or an entry of ``DEVIATIONS`` with its reason. ``NormBatchNorm``,
``InducedNormBatchNorm`` and ``GNormBatchNorm`` are compared in ``tests/test_norm_batchnorm_e2cnn.py``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.oracle

pytest.importorskip("e2cnn")

import e2cnn.gspaces as egspaces  # noqa: E402
import e2cnn.nn as enn  # noqa: E402

import structconv.nn as snn  # noqa: E402

#: documented deviations: (module, what) -> reason
from _e2cnn_deviations import DEVIATIONS  # noqa: E402,F401 - the one list, documented there
from structconv import gspaces as sgspaces  # noqa: E402

#: e2cnn bugs the comparison steps around: module -> what
E2CNN_BUGS: dict[str, str] = {
    "PointwiseAvgPool": "e2cnn's evaluate_output_shape reads self.dilation, which it never sets "
    "(AttributeError); ours is checked against the real output shape instead",
    "PointwiseMaxPoolAntialiased": "e2cnn's evaluate_output_shape gives MaxPool2d's size while its forward "
    "returns a larger one (it pads the blur by `padding` again); ours follows the forward",
    "PointwiseAdaptiveAvgPool": "e2cnn's evaluate_output_shape returns (B, C, (h, w), (h, w)); ours returns "
    "(B, C, h, w), the real output shape",
    "PointwiseAdaptiveMaxPool": "as PointwiseAdaptiveAvgPool",
}

GROUPS: dict[str, tuple[Callable, Callable]] = {
    "C4": (lambda g: g.Rot2dOnR2(4), None),
    "C8": (lambda g: g.Rot2dOnR2(8), None),
    "D4": (lambda g: g.FlipRot2dOnR2(4), None),
    "D8": (lambda g: g.FlipRot2dOnR2(8), None),
    "SO2": (lambda g: g.Rot2dOnR2(-1, maximum_frequency=4), None),
    "O2": (lambda g: g.FlipRot2dOnR2(-1, maximum_frequency=4), None),
}
KINDS = ["trivial", "regular", "quotient", "irrep", "mixed"]

_SPACES: dict[tuple[str, str], object] = {}


def _space(lib: str, group: str):
    key = (lib, group)
    if key not in _SPACES:
        _SPACES[key] = GROUPS[group][0](egspaces if lib == "e2cnn" else sgspaces)
    return _SPACES[key]


def _dihedral(gs) -> bool:
    return gs.fibergroup.name.startswith(("D", "O")) or "Flip" in type(gs).__name__


def _reps(gs, kind: str) -> list | None:
    """The representations of a field kind, or None where the kind does not exist (continuous groups)."""
    continuous = gs.fibergroup.continuous
    dihedral = _dihedral(gs)

    def irrep(k, j=1):
        return gs.irrep(j, k) if dihedral else gs.irrep(k)

    if kind == "trivial":
        return [gs.trivial_repr] * 3
    if kind == "irrep":
        return [irrep(1), irrep(2), irrep(1)] + ([gs.irrep(1, 0)] if dihedral else [])
    if continuous:
        if kind == "mixed":
            return [irrep(1), gs.trivial_repr, irrep(2), gs.trivial_repr, irrep(1)]
        return None
    n = gs.fibergroup.order() // (2 if dihedral else 1)
    quotient = gs.quotient_repr((None, n // 2) if dihedral else n // 2)
    if kind == "regular":
        return [gs.regular_repr] * 2
    if kind == "quotient":
        return [quotient, quotient]
    if kind == "mixed":
        return [gs.regular_repr, irrep(1), gs.trivial_repr, quotient, irrep(2), gs.trivial_repr]
    raise ValueError(kind)


def _types(group: str, kind: str, filt: Callable | None = None, unique: bool = False):
    """``(e2cnn FieldType, structconv FieldType)`` of a kind, or None; ``filt`` keeps some representations,
    ``unique`` one field per representation."""
    pair = []
    for lib, nn_lib in (("e2cnn", enn), ("structconv", snn)):
        gs = _space(lib, group)
        reps = _reps(gs, kind)
        if reps is None:
            return None
        if filt is not None:
            reps = [r for r in reps if filt(r)]
        if unique:
            reps = [r for i, r in enumerate(reps) if r.name not in [q.name for q in reps[:i]]]
        if not reps:
            return None
        pair.append(nn_lib.FieldType(gs, reps))
    return tuple(pair)


def _size_order(ftype) -> list[int]:
    """Fields sorted by size (stable): the order of e2cnn's per-field parameters and gates."""
    reps = ftype.representations
    return sorted(range(len(reps)), key=lambda i: reps[i].size)


@dataclass
class Result:
    compared: int = 0
    rejected_both: int = 0
    max_diff: float = 0.0
    max_grad_diff: float = 0.0


RESULTS: dict[str, Result] = {}


def _record(name: str) -> Result:
    return RESULTS.setdefault(name, Result())


def _compare_pair(
    name: str,
    ours: torch.nn.Module,
    theirs: torch.nn.Module,
    inputs: list[tuple],
    *,
    atol: float = 2e-6,
    modes: tuple[bool, ...] = (True, False),
    grads: bool = True,
    param_pairs: Callable | None = None,
) -> None:
    """Compare outputs (each mode), input gradients, parameter gradients and evaluate_output_shape."""
    res = _record(name)
    res.compared += 1
    for train in modes:
        ours.train(train)
        theirs.train(train)
        xs = [x.clone().requires_grad_(grads) for x, _, _ in inputs]
        xe = [x.clone().requires_grad_(grads) for x, _, _ in inputs]
        yo = ours(*[snn.GeometricTensor(x, t) for x, (_, _, t) in zip(xs, inputs)])
        ye = theirs(*[enn.GeometricTensor(x, t) for x, (_, t, _) in zip(xe, inputs)])
        diff = float((yo.tensor - ye.tensor).detach().abs().max()) if yo.tensor.numel() else 0.0
        res.max_diff = max(res.max_diff, diff)
        assert yo.tensor.shape == ye.tensor.shape, f"{name}: shapes {yo.tensor.shape} vs {ye.tensor.shape}"
        scale = max(1.0, float(ye.tensor.detach().abs().max())) if ye.tensor.numel() else 1.0
        assert diff <= atol * scale, f"{name} ({'train' if train else 'eval'}): outputs differ by {diff:.3g}"
        assert [r.size for r in yo.type.representations] == [r.size for r in ye.type.representations]
        if grads:
            g = torch.randn_like(yo.tensor)
            yo.tensor.backward(g)
            ye.tensor.backward(g)
            for a, b in zip(xs, xe):
                gd = float((a.grad - b.grad).abs().max())
                res.max_grad_diff = max(res.max_grad_diff, gd)
                gscale = max(1.0, float(b.grad.abs().max()))
                assert gd <= 4 * atol * gscale, f"{name}: input gradients differ by {gd:.3g}"
            if param_pairs is not None:
                for po, pe in param_pairs(ours, theirs):
                    gd = float((po - pe).abs().max())
                    res.max_grad_diff = max(res.max_grad_diff, gd)
                    pscale = max(1.0, float(pe.abs().max()))
                    assert gd <= 4 * atol * pscale, f"{name}: parameter gradients differ by {gd:.3g}"
            ours.zero_grad()
            theirs.zero_grad()
    shapes = [tuple(x.shape) for x, _, _ in inputs]
    so = ours.evaluate_output_shape(*shapes)
    assert tuple(so) == tuple(yo.tensor.shape), (
        f"{name}: evaluate_output_shape {so} vs output {yo.tensor.shape}"
    )
    if name in E2CNN_BUGS:
        return
    se = theirs.evaluate_output_shape(*shapes)
    assert tuple(so) == tuple(se), f"{name}: evaluate_output_shape {so} vs {se}"


#: modules that accept more field types than e2cnn: module -> reason
ACCEPTS_MORE: dict[str, str] = {
    "PointwiseAdaptiveAvgPool": "averaging is linear, hence equivariant for every representation: it accepts "
    "any field, like e2cnn's own PointwiseAvgPool (e2cnn's adaptive version asks for 'pointwise' support)",
}


def _both(build: Callable, et, st, name: str = ""):
    """Build with both libraries; None when both reject the type, a failure when only one does."""
    errors = []
    mods = []
    for lib, t in ((snn, st), (enn, et)):
        try:
            mods.append(build(lib, t))
            errors.append(None)
        except (ValueError, AssertionError, TypeError, KeyError) as err:
            mods.append(None)
            errors.append(err)
    if errors[0] is not None and errors[1] is not None:
        return None
    assert errors[0] is None, f"structconv rejects what e2cnn accepts: {errors[0]!r}"
    if errors[1] is not None and name in ACCEPTS_MORE:
        return None
    assert errors[1] is None, f"structconv accepts what e2cnn rejects ({errors[1]!r}); list it as a deviation"
    return mods


def _x(t, size: int = 9, batch: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, t.size, size, size, generator=g)


CASES = [(g, k) for g in GROUPS for k in KINDS]


# --------------------------------------------------------------------------- non-linearities
POINTWISE = {
    "PointwiseNonLinearity(p_relu)": lambda lib, t: lib.PointwiseNonLinearity(t, "p_relu"),
    "PointwiseNonLinearity(p_elu)": lambda lib, t: lib.PointwiseNonLinearity(t, "p_elu"),
    "PointwiseNonLinearity(p_sigmoid)": lambda lib, t: lib.PointwiseNonLinearity(t, "p_sigmoid"),
    "PointwiseNonLinearity(p_tanh)": lambda lib, t: lib.PointwiseNonLinearity(t, "p_tanh"),
    "ReLU": lambda lib, t: lib.ReLU(t),
    "ELU": lambda lib, t: lib.ELU(t, alpha=0.7),
}


@pytest.mark.parametrize("group,kind", CASES)
def test_pointwise_nonlinearities(group, kind):
    types = _types(group, kind)
    if types is None:
        pytest.skip("kind absent for this group")
    et, st = types
    for name, build in POINTWISE.items():
        mods = _both(build, et, st)
        if mods is None:
            _record(name).rejected_both += 1
            continue
        ours, theirs = mods
        _compare_pair(name, ours, theirs, [(_x(st), et, st)], modes=(True,))


def _sync_norm_bias(ours, theirs):
    if getattr(theirs, "log_bias", None) is None:
        return
    order = _size_order(ours.in_type)
    with torch.no_grad():
        ours.log_bias.normal_(0, 0.5)
        theirs.log_bias.copy_(ours.log_bias[order].view_as(theirs.log_bias))


def _norm_param_pairs(ours, theirs):
    if getattr(theirs, "log_bias", None) is None:
        return []
    order = _size_order(ours.in_type)
    return [(ours.log_bias.grad[order], theirs.log_bias.grad.flatten())]


@pytest.mark.parametrize("group,kind", CASES)
@pytest.mark.parametrize("function,bias", [("n_relu", True), ("n_sigmoid", True), ("squash", False)])
def test_norm_nonlinearity(group, kind, function, bias):
    types = _types(group, kind)
    if types is None:
        pytest.skip("kind absent for this group")
    et, st = types
    mods = _both(lambda lib, t: lib.NormNonLinearity(t, function=function, bias=bias), et, st)
    name = f"NormNonLinearity({function})"
    if mods is None:
        _record(name).rejected_both += 1
        return
    ours, theirs = mods
    _sync_norm_bias(ours, theirs)
    x = _x(st)
    x[:, :, 0, 0] = 0.0  # zero fields: both define the output as 0 there
    _compare_pair(name, ours, theirs, [(x, et, st)], modes=(True,), param_pairs=_norm_param_pairs)


def _gated_types(group: str):
    # gated fields of mixed sizes in an unsorted order: e2cnn pairs gates with gated fields sorted by size
    def gated(gs):
        dihedral = _dihedral(gs)
        v = gs.irrep(1, 1) if dihedral else gs.irrep(1)
        w = gs.irrep(1, 2) if dihedral else gs.irrep(2)
        reps = [v, gs.trivial_repr, w, v]
        if not gs.fibergroup.continuous:
            reps = [gs.regular_repr] + reps
        return reps

    out = []
    for lib, nn_lib in (("e2cnn", enn), ("structconv", snn)):
        gs = _space(lib, group)
        g = gated(gs)
        out.append((nn_lib.FieldType(gs, [gs.trivial_repr] * len(g)), nn_lib.FieldType(gs, g)))
    return out


def _sync_gate_bias(ours, theirs):
    with torch.no_grad():
        ours.bias.normal_()
        theirs.bias.copy_(ours.bias.view_as(theirs.bias))


@pytest.mark.parametrize("group", list(GROUPS))
def test_gated_nonlinearities(group):
    (eg, egd), (sg, sgd) = _gated_types(group)
    # GatedNonLinearity2: gates and gated fields in two tensors
    ours, theirs = _both(lambda lib, t: lib.GatedNonLinearity2(t), (eg, egd), (sg, sgd))
    _sync_gate_bias(ours, theirs)
    pairs = lambda o, t: [(o.bias.grad, t.bias.grad.flatten())]  # noqa: E731
    _compare_pair(
        "GatedNonLinearity2", ours, theirs, [(_x(sg), eg, sg), (_x(sgd, seed=1), egd, sgd)], param_pairs=pairs
    )
    # GatedNonLinearity1: one tensor, gates first; and with the gates kept
    for drop in (True, False):
        ours, theirs = _both(
            lambda lib, t, d=drop: lib.GatedNonLinearity1(t, drop_gates=d), eg + egd, sg + sgd
        )
        _sync_gate_bias(ours, theirs)
        name = f"GatedNonLinearity1(drop_gates={drop})"
        _compare_pair(name, ours, theirs, [(_x(sg + sgd), eg + egd, sg + sgd)], param_pairs=pairs)


@pytest.mark.parametrize("group", ["C4", "C8"])
def test_vector_field_nonlinearity(group):
    et, st = _types(group, "regular")
    ours, theirs = _both(lambda lib, t: lib.VectorFieldNonLinearity(t), et, st)
    x = _x(st)
    x[0] = -x[0].abs()  # one sample whose fields are negative everywhere: length relu(max) = 0
    _compare_pair("VectorFieldNonLinearity", ours, theirs, [(x, et, st)], modes=(True,))


def _e2cnn_concatenated(monkeypatch, et):
    """e2cnn's ConcatenatedNonLinearity, its representation decomposed by structconv (e2cnn needs pymanopt)."""
    import e2cnn.group as egroup
    import e2cnn.nn.modules.nonlinearities.concatenated as conc

    from structconv.group import decompose_matrices

    captured = {}

    def build(rep, name, group, supported_nonlinearities):
        elements = list(group.elements)
        mats = np.stack([rep[g] for g in elements])
        captured[name] = (elements, mats)
        ours_group = _our_group(group)
        ours_elements = _our_elements(group, elements)
        cands = [
            (i, np.asarray(i.representation_matrices(ours_elements))) for i in ours_group.irreps.values()
        ]
        names, Q = decompose_matrices(mats, cands, complete=True)
        return egroup.Representation(group, name, names, Q, supported_nonlinearities)

    monkeypatch.setattr(conc, "build_from_discrete_group_representation", build)
    return captured


def _our_group(egroup_obj):
    from structconv.group import cyclic_group, dihedral_group

    n = egroup_obj.rotation_order if hasattr(egroup_obj, "rotation_order") else egroup_obj.order()
    return dihedral_group(n) if "Dihedral" in type(egroup_obj).__name__ else cyclic_group(n)


def _our_elements(egroup_obj, elements):
    return [tuple(e) if isinstance(e, tuple) else e for e in elements]


@pytest.mark.parametrize("group", ["C4", "C8", "D4", "D8"])
def test_concatenated_nonlinearity(group, monkeypatch):
    captured = _e2cnn_concatenated(monkeypatch, None)
    for kind in ("trivial", "regular", "quotient", "irrep", "mixed"):
        types = _types(group, kind, filt=lambda r: "concatenated" in r.supported_nonlinearities)
        if types is None:
            continue
        et, st = types
        ours, theirs = _both(lambda lib, t: lib.ConcatenatedNonLinearity(t, "c_relu"), et, st)
        _compare_pair("ConcatenatedNonLinearity", ours, theirs, [(_x(st), et, st)], modes=(True,))
        # e2cnn's own output matrices equal ours
        for rep in ours.out_type.representations:
            elements, mats = captured[rep.name]
            np.testing.assert_allclose(
                rep.representation_matrices(_our_elements(None, elements)), mats, atol=1e-9
            )


# --------------------------------------------------------------------------- batch norm
def _sync_inner(ours, theirs):
    sizes = [r.size for r in ours.in_type.representations]
    with torch.no_grad():
        ours.weight.normal_()
        ours.bias.normal_()
        for s in set(sizes):
            ids = [i for i, z in enumerate(sizes) if z == s]
            bn = getattr(theirs, f"batch_norm_[{s}]")
            bn.weight.copy_(ours.weight[ids])
            bn.bias.copy_(ours.bias[ids])


def _inner_param_pairs(ours, theirs):
    sizes = [r.size for r in ours.in_type.representations]
    out = []
    for s in set(sizes):
        ids = [i for i, z in enumerate(sizes) if z == s]
        bn = getattr(theirs, f"batch_norm_[{s}]")
        out += [(ours.weight.grad[ids], bn.weight.grad), (ours.bias.grad[ids], bn.bias.grad)]
    return out


@pytest.mark.parametrize("group,kind", CASES)
def test_inner_batch_norm(group, kind):
    types = _types(group, kind)
    if types is None:
        pytest.skip("kind absent for this group")
    et, st = types
    for momentum in (0.1, None):
        mods = _both(lambda lib, t, m=momentum: lib.InnerBatchNorm(t, momentum=m), et, st)
        if mods is None:
            _record("InnerBatchNorm").rejected_both += 1
            return
        ours, theirs = mods
        _sync_inner(ours, theirs)
        for step in range(2):
            x = _x(st, seed=step) * 2 + 1
            _compare_pair(
                "InnerBatchNorm",
                ours,
                theirs,
                [(x, et, st)],
                atol=0.0,
                modes=(True,),
                param_pairs=_inner_param_pairs,
            )
        sizes = [r.size for r in st.representations]
        for s in set(sizes):
            ids = [i for i, z in enumerate(sizes) if z == s]
            bn = getattr(theirs, f"batch_norm_[{s}]")
            assert torch.equal(ours.running_mean[ids], bn.running_mean)
            assert torch.equal(ours.running_var[ids], bn.running_var)
        # eval: the documented deviation (one batch_norm over all channels, as export())
        _compare_pair("InnerBatchNorm", ours, theirs, [(_x(st, seed=5), et, st)], modes=(False,), grads=False)


# --------------------------------------------------------------------------- invariant maps and pooling
@pytest.mark.parametrize("group,kind", CASES)
def test_invariant_maps(group, kind):
    types = _types(group, kind)
    if types is None:
        pytest.skip("kind absent for this group")
    et, st = types
    for name, build in {
        "GroupPooling": lambda lib, t: lib.GroupPooling(t),
        "NormPool": lambda lib, t: lib.NormPool(t),
    }.items():
        mods = _both(build, et, st)
        if mods is None:
            _record(name).rejected_both += 1
            continue
        _compare_pair(name, *mods, [(_x(st), et, st)], modes=(True,))


POOLS = {
    "PointwiseMaxPool": lambda lib, t: lib.PointwiseMaxPool(t, 3, stride=2, padding=1),
    "PointwiseAvgPool": lambda lib, t: lib.PointwiseAvgPool(t, 3, stride=2, padding=1),
    "PointwiseMaxPoolAntialiased": lambda lib, t: lib.PointwiseMaxPoolAntialiased(t, 3, stride=2, padding=1),
    "PointwiseAvgPoolAntialiased": lambda lib, t: lib.PointwiseAvgPoolAntialiased(
        t, 0.6, stride=2, padding=1
    ),
    "PointwiseAdaptiveAvgPool": lambda lib, t: lib.PointwiseAdaptiveAvgPool(t, 4),
    "PointwiseAdaptiveMaxPool": lambda lib, t: lib.PointwiseAdaptiveMaxPool(t, 4),
    "NormMaxPool": lambda lib, t: lib.NormMaxPool(t, 3, stride=2, padding=1),
    "R2Upsampling(bilinear)": lambda lib, t: lib.R2Upsampling(t, 2, mode="bilinear"),
    "R2Upsampling(nearest)": lambda lib, t: lib.R2Upsampling(t, 2, mode="nearest"),
    "MaskModule": lambda lib, t: lib.MaskModule(t, 9, margin=1),
    "IdentityModule": lambda lib, t: lib.IdentityModule(t),
    "PointwiseDropout(eval)": lambda lib, t: lib.PointwiseDropout(t, 0.3),
    "FieldDropout(eval)": lambda lib, t: lib.FieldDropout(t, 0.3),
    "ReshuffleModule": lambda lib, t: lib.ReshuffleModule(t, list(reversed(range(len(t))))),
}


@pytest.mark.parametrize("group,kind", CASES)
def test_pooling_and_spatial_modules(group, kind):
    types = _types(group, kind)
    if types is None:
        pytest.skip("kind absent for this group")
    et, st = types
    for name, build in POOLS.items():
        mods = _both(build, et, st, name)
        if mods is None:
            _record(name).rejected_both += 1
            continue
        modes = (False,) if "Dropout" in name else (True, False)
        _compare_pair(name, *mods, [(_x(st), et, st)], modes=modes)


# --------------------------------------------------------------------------- restriction and disentangling
@pytest.mark.parametrize(
    "group,sub_id",
    [
        ("C8", 4),
        ("C8", 1),
        ("D8", (0, 4)),
        ("D8", (0, 1)),
        ("D8", (3, 1)),
        ("D4", (None, 4)),
        ("O2", (None, -1)),
        ("O2", (0.5, 1)),
    ],
)
@pytest.mark.parametrize("kind", ["regular", "irrep", "mixed"])
def test_restriction_and_disentangle(group, sub_id, kind):
    types = _types(group, kind)
    if types is None:
        pytest.skip("kind absent for this group")
    et, st = types
    mods = _both(lambda lib, t: lib.RestrictionModule(t, sub_id), et, st)
    if mods is None:
        _record("RestrictionModule").rejected_both += 1
        return
    ours, theirs = mods
    _compare_pair("RestrictionModule", ours, theirs, [(_x(st), et, st)], atol=0.0, modes=(True,))
    assert [r.name for r in ours.out_type.representations] == [
        r.name for r in theirs.out_type.representations
    ]
    ot, tt = ours.out_type, theirs.out_type
    mods = _both(lambda lib, t: lib.DisentangleModule(t), tt, ot)
    if mods is None:
        _record("DisentangleModule").rejected_both += 1
        return
    ours_d, theirs_d = mods
    _compare_pair("DisentangleModule", ours_d, theirs_d, [(_x(ot, seed=1), tt, ot)], atol=1e-6, modes=(True,))
    assert ours_d.out_type.irreps == theirs_d.out_type.irreps  # Flip2dOnR2 too: e2cnn's C2 names


# --------------------------------------------------------------------------- convolutions: filter spans
def _filter_basis(conv) -> torch.Tensor:
    """The expanded filters of the basis elements, one column per learnable weight, float64."""
    # a private float64 copy: e2cnn shares its block expansions between layers (a cache), which an in-place
    # .double() would convert for every later e2cnn layer as well
    conv = copy.deepcopy(conv).double()
    expansion = conv.basisexpansion
    n = conv.weights.numel()
    eye = torch.eye(n, dtype=torch.float64)
    with torch.no_grad():  # the expansion is linear: its columns are the images of the unit vectors
        try:
            return torch.func.vmap(expansion)(eye).reshape(n, -1).T
        except Exception:  # an expansion that vmap cannot batch: one unit vector at a time
            return torch.stack([expansion(eye[i]).reshape(-1) for i in range(n)], dim=1)


def _rank(m: torch.Tensor) -> int:
    # e2cnn samples its bases in float32: singular values below 1e-5 of the largest are its rounding
    s = torch.linalg.svdvals(m)
    return int((s > 1e-5 * s.max()).sum()) if s.numel() else 0


CONV_CASES = [pytest.param(g, k, marks=pytest.mark.slow) if k == "mixed" else (g, k) for g, k in CASES]


@pytest.mark.parametrize("group,kind", CONV_CASES)
@pytest.mark.parametrize("kernel_size", [5])
def test_r2conv_filter_span_equals_e2cnn(group, kind, kernel_size):
    # weights live in different bases, so compare the spaces of filters the two layers can express
    # one field of every representation of the kind (the span is a product over pairs of fields)
    types = _types(group, kind, unique=True)
    if types is None:
        pytest.skip("kind absent for this group")
    et, st = types
    ours, theirs = _both(lambda lib, t: lib.R2Conv(t, t, kernel_size, initialize=False), et, st)
    bo, be = _filter_basis(ours), _filter_basis(theirs)
    assert bo.shape[0] == be.shape[0]
    ro, re_ = _rank(bo), _rank(be)
    joint = _rank(torch.cat([bo, be], dim=1))
    res = _record(f"R2Conv span (k={kernel_size})")
    res.compared += 1
    assert ro == re_ == joint, f"filter spaces differ: rank ours {ro}, e2cnn {re_}, together {joint}"
    assert ours.weights.numel() == theirs.weights.numel()
    x = _x(st, size=11)
    so = ours.evaluate_output_shape(tuple(x.shape))
    assert tuple(so) == tuple(theirs.evaluate_output_shape(tuple(x.shape)))
    assert tuple(so) == tuple(ours(snn.GeometricTensor(x, st)).tensor.shape)


def _span_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and _rank(a) == _rank(b) == _rank(torch.cat([a, b], dim=1))


def _flip_error(m, lib, t, element) -> float:
    """Equivariance error of ``m`` under ``element`` (an exact action on the grid), float64."""
    x = _x(t, size=11, batch=1).double()
    y = m(lib.GeometricTensor(x, t))
    gx = lib.GeometricTensor(x, t).transform(element).tensor.double()  # e2cnn's transform returns float32
    return float((y.transform(element).tensor.double() - m(lib.GeometricTensor(gx, t)).tensor).abs().max())


@pytest.mark.parametrize("group", ["C4", "SO2"])
def test_r2diffop_span_equals_e2cnn_without_reflections(group):
    types = _types(group, "mixed", unique=True)
    et, st = types
    ours, theirs = _both(lambda lib, t: lib.R2Diffop(t, t, kernel_size=3, initialize=False), et, st)
    assert ours.weights.numel() == theirs.weights.numel()
    assert _span_equal(_filter_basis(ours), _filter_basis(theirs))


def test_r2diffop_with_reflections_deviation():
    """The documented deviation ("R2Diffop with reflections", "kernel basis"): between two irreps of D4 the
    PDO bases have e2cnn's sizes and, for even angular frequencies, e2cnn's span; for the odd ones (the
    gradient trivial -> irrep_1,1, ...) e2cnn's operators are not equivariant to the reflections (errors of
    order 1 on the grid) and ours are (exactly): there the spans differ."""
    E, S = egspaces.FlipRot2dOnR2(4), sgspaces.FlipRot2dOnR2(4)
    names = list(S.fibergroup.irreps)
    differ = []
    for a in names:
        for b in names:
            et = (enn.FieldType(E, [E.irreps[a]]), enn.FieldType(E, [E.irreps[b]]))
            st = (snn.FieldType(S, [S.irreps[a]]), snn.FieldType(S, [S.irreps[b]]))
            try:
                theirs = enn.R2Diffop(*et, kernel_size=3, recompute=True).double()
            except (ValueError, AssertionError):
                theirs = None
            try:
                ours = snn.R2Diffop(*st, kernel_size=3).double()
            except ValueError:
                ours = None
            assert (ours is None) == (theirs is None), (a, b)
            if ours is None:
                continue
            assert ours.weights.numel() == theirs.weights.numel(), (a, b)
            same = _span_equal(_filter_basis(ours), _filter_basis(theirs))
            ours.eval(), theirs.eval()
            flips = [(1, 0), (1, 1)]
            with torch.no_grad():
                assert max(_flip_error(ours, snn, st[0], g) for g in flips + [(0, 1)]) < 1e-9, (a, b)
                if not same:
                    differ.append((a, b))
                    assert min(_flip_error(theirs, enn, et[0], g) for g in flips) > 0.1, (a, b)
    one_d = ["irrep_0,0", "irrep_1,0", "irrep_1,2", "irrep_0,2"]
    assert sorted(differ) == sorted([(a, "irrep_1,1") for a in one_d] + [("irrep_1,1", a) for a in one_d])


def test_report():
    # runs last in this file: the counts and the worst differences of the sweep
    if not RESULTS:
        pytest.skip("the sweep did not run (run the whole file)")
    total = sum(r.compared for r in RESULTS.values())
    print(f"\ne2cnn nn parity: {total} module builds compared ({len(RESULTS)} modules)")
    for name, r in sorted(RESULTS.items()):
        print(
            f"  {name:40s} compared {r.compared:3d}  both reject {r.rejected_both:3d}  "
            f"max |out diff| {r.max_diff:.2e}  max |grad diff| {r.max_grad_diff:.2e}"
        )
    assert all(math.isfinite(r.max_diff) for r in RESULTS.values())


# --- pins of documented deviations (tests/_e2cnn_deviations.py) ---------------------------------------------


def _c4_convs():
    egs, sgs = egspaces.Rot2dOnR2(4), sgspaces.Rot2dOnR2(4)
    ec = enn.R2Conv(enn.FieldType(egs, [egs.regular_repr]), enn.FieldType(egs, [egs.regular_repr]), 3)
    sc = snn.R2Conv(snn.FieldType(sgs, [sgs.regular_repr]), snn.FieldType(sgs, [sgs.regular_repr]), 3)
    return ec, sc


def test_deviation_raw_weights_are_another_filter():
    assert ("R2Conv / R2Diffop / BasisExpansion", "raw weights") in DEVIATIONS
    ec, sc = _c4_convs()
    w = torch.randn(ec.weights.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ec.weights.copy_(w)
        sc.weights.copy_(w)
    assert ec.weights.shape == sc.weights.shape
    assert (ec.expand_parameters()[0] - sc.expand_parameters()[0]).abs().max() > 0.1


def test_deviation_basis_info_keys():
    assert ("BasisExpansion.get_element_info / get_basis_info", "keys and ids") in DEVIATIONS
    ec, sc = _c4_convs()
    ei, si = ec.basisexpansion.get_element_info(0), sc.basisexpansion.get_element_info(0)
    assert set(ei) - set(si) == {"idx1", "idx2"} and set(si) - set(ei) == {"s"}
    assert "|" in si["id"] and ei["id"] != si["id"]


def test_deviation_continuous_groups_by_frequency():
    assert ("SO(2) / O(2)", "maximum_frequency") in DEVIATIONS
    a, b = sgspaces.Rot2dOnR2(-1, maximum_frequency=3), sgspaces.Rot2dOnR2(-1, maximum_frequency=5)
    assert a.fibergroup is not b.fibergroup and a != b
    assert snn.FieldType(a, [a.irrep(1)]) != snn.FieldType(b, [b.irrep(1)])
    ea, eb = egspaces.Rot2dOnR2(-1, maximum_frequency=3), egspaces.Rot2dOnR2(-1, maximum_frequency=5)
    assert ea.fibergroup is eb.fibergroup


def test_deviation_geometric_tensor_refuses():
    assert ("GeometricTensor", "accepted tensors") in DEVIATIONS
    gs = sgspaces.Rot2dOnR2(4)
    t = snn.FieldType(gs, [gs.regular_repr])
    with pytest.raises(ValueError):
        snn.GeometricTensor(torch.randn(2, 4, 3), t)
    with pytest.raises(TypeError):
        snn.GeometricTensor(torch.zeros(1, 4, 3, 3, dtype=torch.long), t)


def test_deviation_norm_nonlinearity_has_no_eps_parameter():
    assert ("NormNonLinearity / InducedNormNonLinearity", "parameters") in DEVIATIONS
    egs, sgs = egspaces.Rot2dOnR2(4), sgspaces.Rot2dOnR2(4)
    e = enn.NormNonLinearity(enn.FieldType(egs, [egs.irrep(1)]))
    s = snn.NormNonLinearity(snn.FieldType(sgs, [sgs.irrep(1)]))
    assert [n for n, _ in e.named_parameters()] == ["log_bias", "eps"]
    assert [n for n, _ in s.named_parameters()] == ["log_bias"]


def test_deviation_filter_stays_after_train():
    assert ("R2Conv / R2Diffop", "train() and the cached filter") in DEVIATIONS
    ec, sc = _c4_convs()
    ec.eval().train()
    sc.eval().train()
    assert not hasattr(ec, "filter")
    torch.testing.assert_close(sc.filter, sc.expand_parameters()[0])
    with pytest.raises(AttributeError):
        sc.filter = torch.zeros(1)


def test_deviation_disentangle_returns_originals():
    assert ("group.disentangle", "returned representations") in DEVIATIONS
    from e2cnn import group as egroup

    from structconv import group as sgroup

    assert egroup.disentangle(egspaces.FlipRot2dOnR2(4).regular_repr)[1][0].name == "regular_0"
    rho = sgspaces.FlipRot2dOnR2(4).regular_repr
    assert sgroup.disentangle(rho)[1][0] is rho


def test_deviation_directsum_name_hash():
    assert ("group.directsum", "name with a change of basis") in DEVIATIONS
    from structconv import group as sgroup

    gs = sgspaces.Rot2dOnR2(4)
    perm = np.eye(3)[[1, 0, 2]]
    name = sgroup.directsum([gs.irrep(1), gs.trivial_repr], change_of_basis=perm).name
    assert name.startswith("[irrep_1]_[irrep_0]@")


def test_deviation_supported_nonlinearity_tags():
    assert ("quotient / induced representations", "supported_nonlinearities tags") in DEVIATIONS
    gs = sgspaces.FlipRot2dOnR2(4)
    sub = gs.fibergroup.subgroup((None, 2))[0]
    induced = gs.induced_repr((None, 2), sub.irrep(1)).supported_nonlinearities
    assert set(induced) == {
        "gated",
        "norm",
        "induced_gated",
        "induced_norm",
        "induced_gated_1",
        "induced_norm_1",
    }
    quotient = gs.quotient_repr((None, 2)).supported_nonlinearities
    assert {"induced_norm", "induced_gated"} <= set(quotient) and "induced_norm_1" not in quotient


def test_deviation_value_error_not_assertion():
    assert ("*", "exception types") in DEVIATIONS
    a, b = sgspaces.Rot2dOnR2(4), sgspaces.Rot2dOnR2(8)
    with pytest.raises(ValueError):
        snn.FieldType(a, [a.regular_repr]) + snn.FieldType(b, [b.regular_repr])


def test_deviation_check_equivariance():
    assert ("EquivariantModule.check_equivariance", "signature and defaults") in DEVIATIONS
    import inspect

    params = inspect.signature(snn.EquivariantModule.check_equivariance).parameters
    assert params["atol"].default == 1e-7 and params["rtol"].default == 1e-5
    assert params["assertion"].default is True and params["verbose"].default is False


def test_deviation_internal_submodules_absent():
    assert ("e2cnn internal submodules", "not provided") in DEVIATIONS
    import importlib

    for name in ("kernels.irreps_basis", "kernels.utils", "group.utils", "nn.modules.r2_conv"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("structconv." + name)


def test_deviation_flip_kernels_refuse_c2():
    assert ("kernels.kernels_Flip_act_R2", "cyclic_group(2) representations") in DEVIATIONS
    from structconv import group as sgroup
    from structconv import kernels

    rho = sgroup.cyclic_group(2).regular_representation
    with pytest.raises(ValueError, match="flip"):
        kernels.kernels_Flip_act_R2(rho, rho, [0, 1], [1, 1])
