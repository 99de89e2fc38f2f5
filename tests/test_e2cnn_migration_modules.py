"""e2cnn checkpoints of every e2cnn module with a state load into structconv with identical eval outputs.

Walking ``e2cnn.nn.__all__`` (e2cnn 0.2.3), the modules that save parameters or buffers are: ``R2Conv``,
``R2ConvTransposed``, ``R2Diffop``, ``InnerBatchNorm``, ``NormBatchNorm``, ``GNormBatchNorm`` and
``NormNonLinearity`` (tests/test_e2cnn_migration.py), and, here: ``GatedNonLinearity1``,
``GatedNonLinearity2``, ``InducedGatedNonLinearity1``, ``InducedNormNonLinearity``, ``InducedNormBatchNorm``,
the containers (``SequentialModule``, ``ModuleList``, ``MultipleModule`` with its ``BranchingModule``
indices), ``DisentangleModule`` (changes of basis, fiber indices) after a ``RestrictionModule``, and the
stateless modules whose derived buffers e2cnn saves (``MaskModule``, the anti-aliased pools, ``GroupPooling``,
``NormPool``, ``InducedNormPool``, ``NormMaxPool``, ``FieldDropout``, ``ReshuffleModule``).
``test_every_stateful_e2cnn_module_is_covered`` keeps that list honest. (``IIDBatchNorm2d`` is escnn's, not
in e2cnn 0.2.3.)

Each module is built with e2cnn and given a non-trivial state (random parameters, running statistics from
a few training forwards), saved in train and in eval mode, loaded into the structconv build of the same
code, and the eval outputs compared in float32 (relative error <= 1e-6) and float64 (<= 1e-12).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from structconv import gspaces as sg
from structconv import nn as sn
from structconv.compat.e2cnn import E2cnnCheckpointError, convert_e2cnn_state_dict, load_e2cnn_state_dict

pytestmark = pytest.mark.oracle
e2 = pytest.importorskip("e2cnn")
from e2cnn import gspaces as eg  # noqa: E402
from e2cnn import nn as en  # noqa: E402
from e2cnn.group import change_basis as e2_change_basis  # noqa: E402
from e2cnn.group import directsum as e2_directsum  # noqa: E402

from structconv.group import change_basis as sc_change_basis  # noqa: E402
from structconv.group import directsum as sc_directsum  # noqa: E402

DTYPES = pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
MODES = pytest.mark.parametrize("mode", ["train", "eval"])
LIBS = {"e2": (eg, en), "sc": (sg, sn)}


@contextlib.contextmanager
def _default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _gspace(lib, gname):
    return {
        "C8": lambda: lib.Rot2dOnR2(8),
        "D4": lambda: lib.FlipRot2dOnR2(4),
        "SO2": lambda: lib.Rot2dOnR2(-1, maximum_frequency=3),
        "O2": lambda: lib.FlipRot2dOnR2(-1, maximum_frequency=3),
    }[gname]()


def _irr(g, k):
    """A non-trivial irrep of frequency k (flip groups: (1, k))."""
    return g.irrep(1, k) if "Flip" in type(g).__name__ else g.irrep(k)


def _big(g):
    """A larger field: the regular representation of a finite group, an irrep otherwise."""
    return g.regular_repr if g.fibergroup.order() > 0 else _irr(g, 3)


def _induced(g, k):
    """The representation induced from irrep k of the rotation subgroup of order 4 (C8 -> C4, D4 -> C4)."""
    sub_id = (None, 4) if "Flip" in type(g).__name__ else 4
    sub = g.restrict(sub_id)[0]
    return g.induced_repr(sub_id, sub.irrep(k) if k else sub.trivial_repr)


def _randomize(module):
    """Random parameters (positive scales, small log biases) so that every entry matters."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not p.requires_grad:  # e2cnn's frozen constants (the norm non-linearities' eps)
                continue
            if name.endswith("log_bias"):
                p.copy_(0.3 * torch.randn_like(p))
            elif name.endswith("weight"):  # batch-norm scales
                p.copy_(0.5 + torch.rand_like(p))
            else:
                p.copy_(torch.randn_like(p))


def _exact_oracle(module):
    """e2cnn keeps GNormBatchNorm's changes of basis in float32 buffers; for the float64 comparison give the
    oracle the exact matrices (its own representations' float64 ones), so it is exact too."""
    for m in module.modules():
        if isinstance(m, en.GNormBatchNorm):
            for r in m.in_type._unique_representations:
                if hasattr(m, f"{r.name}_change_of_basis"):
                    setattr(m, f"{r.name}_change_of_basis", torch.tensor(r.change_of_basis))
                    setattr(m, f"{r.name}_change_of_basis_inv", torch.tensor(r.change_of_basis_inv))


class _Float64Torch:
    """``torch`` as some e2cnn modules see it, with ``torch.float`` meaning float64. The gated non-linearities,
    ``MergeModule`` (in ``MultipleModule``), ``GroupPooling``, ``NormPool`` and ``InducedNormPool`` allocate
    their output as ``torch.empty(..., dtype=torch.float)`` whatever the input: they are float32 only (and
    some fail on float64 inputs). Under :func:`_oracle_in` they run their own code in float64, so that the
    float64 comparison has a float64 oracle."""

    def __getattr__(self, name):
        return torch.float64 if name == "float" else getattr(torch, name)


@contextlib.contextmanager
def _oracle_in(dtype):
    if dtype != torch.float64:
        yield
        return
    from unittest import mock

    from e2cnn.nn.modules import invariantmaps, merge_module, nonlinearities

    modules = [
        merge_module,
        nonlinearities.gated1,
        nonlinearities.gated2,
        nonlinearities.induced_gated1,
        invariantmaps.gpool,
        invariantmaps.norm,
        invariantmaps.induced_norm,
    ]
    with contextlib.ExitStack() as stack:
        for module in modules:
            stack.enter_context(mock.patch.object(module, "torch", _Float64Torch()))
        yield


def _tensors(types, dtype, size=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(3, t.size, size, size, generator=gen, dtype=dtype) * 1.5 + 0.2 for t in types]


def _call(nnm, module, types, xs):
    return module(*[nnm.GeometricTensor(x, t) for x, t in zip(xs, types)]).tensor


def _relative(y_ref, y):
    return float((y - y_ref.to(y.dtype)).abs().max() / y_ref.abs().max())


def _migrate(build, dtype, mode, steps=3, size=7):
    """Build with e2cnn, randomise, train ``steps`` forwards, save in ``mode``, load into structconv; return
    the two eval outputs on the same inputs. (Builders pass ``recompute=True`` to e2cnn's convolutions: e2cnn
    otherwise reuses bases sampled by earlier layers, in whatever dtype they were sampled.)"""
    with _default_dtype(dtype), _oracle_in(dtype):  # e2cnn samples its bases in the default dtype
        torch.manual_seed(0)
        m_e2, t_e2 = build(*LIBS["e2"])
        m_e2 = m_e2.to(dtype)
        _randomize(m_e2)
        if dtype == torch.float64:
            _exact_oracle(m_e2)
        m_e2.train()
        with torch.no_grad():
            for step in range(steps):
                _call(en, m_e2, t_e2, _tensors(t_e2, dtype, size, seed=10 + step))
        m_e2.train(mode == "train")
        checkpoint = {k: v.clone() for k, v in m_e2.state_dict().items()}
        m_sc, t_sc = build(*LIBS["sc"])
        m_sc = m_sc.to(dtype)
        load_e2cnn_state_dict(m_sc, checkpoint)
        m_e2.eval()
        m_sc.eval()
        xs = _tensors(t_e2, dtype, size, seed=1)
        with torch.no_grad():
            return _call(en, m_e2, t_e2, xs), _call(sn, m_sc, t_sc, xs)


def _assert_identical(y_e2, y_sc, dtype):
    assert y_sc.dtype == y_e2.dtype == dtype and y_sc.shape == y_e2.shape
    bound = 1e-6 if dtype == torch.float32 else 1e-12
    err = _relative(y_e2, y_sc)
    assert err <= bound, f"relative error {err:.3g} > {bound:g}"


# ----------------------------------------------------------------------------- gated non-linearities


def _gated1(gname, drop_gates):
    def build(gspaces, nnm):
        g = _gspace(gspaces, gname)
        # gates and gated fields interleaved, gated fields of different sizes (e2cnn pairs the k-th gate
        # with the k-th gated field in the order of their sizes)
        reps = [_big(g), g.trivial_repr, _irr(g, 1), g.trivial_repr, g.trivial_repr, _irr(g, 2)]
        labels = ["gated", "gate", "gated", "gate", "gate", "gated"]
        t = nnm.FieldType(g, reps)
        return nnm.GatedNonLinearity1(t, gates=labels, drop_gates=drop_gates), [t]

    return build


@DTYPES
@MODES
@pytest.mark.parametrize("drop_gates", [False, True], ids=["keep", "drop"])
@pytest.mark.parametrize("gname", ["C8", "D4", "SO2", "O2"])
def test_gated_nonlinearity1(gname, drop_gates, mode, dtype):
    _assert_identical(*_migrate(_gated1(gname, drop_gates), dtype, mode), dtype)


def _gated2(gname):
    def build(gspaces, nnm):
        g = _gspace(gspaces, gname)
        gates = nnm.FieldType(g, [g.trivial_repr] * 3)
        gated = nnm.FieldType(g, [_irr(g, 1), _big(g), _irr(g, 2)])
        return nnm.GatedNonLinearity2((gates, gated)), [gates, gated]

    return build


@DTYPES
@MODES
@pytest.mark.parametrize("gname", ["C8", "D4", "O2"])
def test_gated_nonlinearity2(gname, mode, dtype):
    _assert_identical(*_migrate(_gated2(gname), dtype, mode), dtype)


def _induced_gated(gname):
    def build(gspaces, nnm):
        g = _gspace(gspaces, gname)
        gate, gated = _induced(g, 0), _induced(g, 1)
        t = nnm.FieldType(g, [gate, gated, gate, gated])
        return nnm.InducedGatedNonLinearity1(t, gates=["gate", "gated", "gate", "gated"]), [t]

    return build


@DTYPES
@MODES
@pytest.mark.parametrize("gname", ["C8", "D4"])
def test_induced_gated_nonlinearity1(gname, mode, dtype):
    _assert_identical(*_migrate(_induced_gated(gname), dtype, mode), dtype)


# ----------------------------------------------------------------------------- induced norms


def _induced_norm(gname, cls):
    def build(gspaces, nnm):
        g = _gspace(gspaces, gname)
        # two (size, sub-field size) groups, interleaved: e2cnn sorts its biases by that key
        a, b = _induced(g, 1), _induced(g, 2)
        t = nnm.FieldType(g, [a, b, a, b, a])
        kwargs = (
            {"function": "n_relu", "bias": True} if cls == "InducedNormNonLinearity" else {"affine": True}
        )
        return getattr(nnm, cls)(t, **kwargs), [t]

    return build


@DTYPES
@MODES
@pytest.mark.parametrize("cls", ["InducedNormNonLinearity", "InducedNormBatchNorm"])
@pytest.mark.parametrize("gname", ["C8", "D4"])
def test_induced_norm_modules(gname, cls, mode, dtype):
    _assert_identical(*_migrate(_induced_norm(gname, cls), dtype, mode), dtype)


# ----------------------------------------------------------------------------- containers


def _containers(gname):
    def build(gspaces, nnm):
        g = _gspace(gspaces, gname)
        t = nnm.FieldType(g, [g.trivial_repr, _irr(g, 1), _big(g), _irr(g, 1), g.trivial_repr])
        labels = ["s", "v", "r", "v", "s"]
        ts = nnm.FieldType(g, [g.trivial_repr] * 2)
        tv = nnm.FieldType(g, [_irr(g, 1)] * 2)
        tr = nnm.FieldType(g, [_big(g)])

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.multiple = nnm.MultipleModule(
                    t,
                    labels,
                    [
                        (
                            nnm.SequentialModule(
                                nnm.R2Conv(ts, ts, 3, padding=1, recompute=True), nnm.GNormBatchNorm(ts)
                            ),
                            "s",
                        ),
                        (nnm.SequentialModule(nnm.NormBatchNorm(tv), nnm.NormNonLinearity(tv)), "v"),
                        (nnm.GNormBatchNorm(tr), "r"),
                    ],
                    reshuffle=1,
                )
                out = self.multiple.out_type
                self.head = nnm.ModuleList(
                    [nnm.R2Conv(out, out, 3, padding=1, recompute=True), nnm.GNormBatchNorm(out)]
                )

            def forward(self, x):
                x = self.multiple(x)
                for m in self.head:
                    x = m(x)
                return x

        return Net(), [t]

    return build


@DTYPES
@MODES
@pytest.mark.parametrize("gname", ["C8", "D4", "O2"])
def test_containers(gname, mode, dtype):
    _assert_identical(*_migrate(_containers(gname), dtype, mode), dtype)


def test_container_keys_are_e2cnn_s():
    """The containers name their children as e2cnn does (the checkpoint's prefixes are the model's)."""
    m_e2, _ = _containers("D4")(eg, en)
    m_sc, _ = _containers("D4")(sg, sn)
    prefixes = {k.rsplit(".", 1)[0] for k in m_sc.state_dict()}
    assert prefixes == {
        "multiple.merging.submodule_0.1",
        "multiple.merging.submodule_1.0",
        "multiple.merging.submodule_1.1",
        "multiple.merging.submodule_2",
        "head.0",
        "head.1",
        "multiple.merging.submodule_0.0",
    }
    assert prefixes <= {k.rsplit(".", 1)[0] for k in m_e2.state_dict()}


def _grouped(gspaces, nnm):
    g = gspaces.Rot2dOnR2(4)
    t = nnm.FieldType(g, [g.regular_repr, g.trivial_repr, g.irrep(1)] * 2)
    return nnm.R2Conv(t, t, 3, groups=2, padding=1, recompute=True), [t]


@DTYPES
def test_grouped_convolution(dtype):
    """``groups=2``: the bases map the first group of input fields to the output fields, in both libraries."""
    _assert_identical(*_migrate(_grouped, dtype, "train"), dtype)


# ----------------------------------------------------------------------------- restriction, disentangle


def _restricted(flip, gnorm):
    """D8 -> D4 (or C8 -> C4): restriction, disentangle (e2cnn names the fields 'D8:regular_0'), then a
    convolution on the subgroup and a batch norm; with ``gnorm`` a GNormBatchNorm keyed by those names
    (on one field per representation: e2cnn's GNormBatchNorm fails in training on two fields of a
    representation with a change of basis, a view of a non-contiguous tensor)."""

    def build(gspaces, nnm):
        g = gspaces.FlipRot2dOnR2(8) if flip else gspaces.Rot2dOnR2(8)
        reps = [g.regular_repr, g.trivial_repr] + ([] if gnorm else [g.regular_repr])
        t = nnm.FieldType(g, reps)
        res = nnm.RestrictionModule(t, (0, 4) if flip else 4)
        dis = nnm.DisentangleModule(res.out_type)
        h = dis.out_type
        sub = h.gspace
        out = nnm.FieldType(sub, [sub.regular_repr] * 2 + [sub.trivial_repr])
        layers = [res, dis] + ([nnm.GNormBatchNorm(h)] if gnorm else [])
        layers += [nnm.R2Conv(h, out, 3, padding=1, recompute=True), nnm.InnerBatchNorm(out)]
        return nnm.SequentialModule(*layers), [t]

    return build


@DTYPES
@MODES
@pytest.mark.parametrize("gnorm", [False, True], ids=["conv", "gnorm"])
@pytest.mark.parametrize("flip", [True, False], ids=["D8-D4", "C8-C4"])
def test_restriction_and_disentangle(flip, gnorm, mode, dtype):
    _assert_identical(*_migrate(_restricted(flip, gnorm), dtype, mode), dtype)


def _split(gspaces, nnm, permuted):
    """A representation that disentangles into several parts, named 'pp_0', 'pp_1', ... by e2cnn: a direct
    sum (structconv returns its summands themselves: 'regular', 'irrep_1,1', 'irrep_0,0'), or the same with
    its basis permuted (structconv builds new parts, except the 1-d trivial one)."""
    g = gspaces.FlipRot2dOnR2(4)
    parts = [g.regular_repr, g.irrep(1, 1), g.trivial_repr]
    perm = np.eye(11)[np.random.default_rng(0).permutation(11)] if permuted else np.eye(11)
    if nnm is en:
        return g, e2_change_basis(e2_directsum(parts), perm, "pp")
    return g, (
        sc_change_basis(sc_directsum(parts), perm, "pp") if permuted else sc_directsum(parts, name="pp")
    )


def _disentangled(permuted):
    def build(gspaces, nnm):
        g, rep = _split(gspaces, nnm, permuted)
        # the regular field gets an e2cnn name ('regular_0') that differs from structconv's ('regular'), which
        # for the direct sum also names the part 'pp_0'; the convolution sees two copies of the split type,
        # the batch norm one (see _restricted)
        t = nnm.FieldType(g, [rep, g.regular_repr])
        dis = nnm.DisentangleModule(t)
        h = dis.out_type
        out = nnm.FieldType(g, [g.regular_repr, g.irrep(1, 1), g.trivial_repr])
        model = nnm.SequentialModule(dis, nnm.GNormBatchNorm(h))
        dis2 = nnm.DisentangleModule(t + t)
        conv = nnm.SequentialModule(dis2, nnm.R2Conv(dis2.out_type, out, 3, padding=1, recompute=True))
        modules = [(model, "a"), (conv, "b")]
        return nnm.MultipleModule(t + t + t, ["a"] * 2 + ["b"] * 4, modules), [t + t + t]

    return build


@DTYPES
@MODES
@pytest.mark.parametrize("permuted", [False, True], ids=["directsum", "permuted"])
def test_disentangle_with_split_representations(permuted, mode, dtype):
    _assert_identical(*_migrate(_disentangled(permuted), dtype, mode), dtype)


def test_disentangle_names_checked():
    """The disentangle module's saved change of basis is compared with the layer's."""
    m_e2, _ = _disentangled(True)(eg, en)
    m_sc, _ = _disentangled(True)(sg, sn)
    sd = dict(m_e2.state_dict())
    key = "merging.submodule_0.0.change_of_basis_pp"
    convert_e2cnn_state_dict(m_sc, sd)
    sd[key] = sd[key].flip(0)
    layer = r"layer 'merging.submodule_0.0' \(DisentangleModule\)"
    with pytest.raises(E2cnnCheckpointError, match=layer + ": the checkpoint's change of basis of 'pp'"):
        convert_e2cnn_state_dict(m_sc, sd)


# ----------------------------------------------------------------------------- stateless modules with buffers


def _stateless(kind):
    def build(gspaces, nnm):
        g = gspaces.FlipRot2dOnR2(4)
        reg = nnm.FieldType(g, [g.regular_repr, g.regular_repr])
        vec = nnm.FieldType(g, [g.irrep(1, 1), g.irrep(1, 0), g.irrep(1, 1)])
        ind = nnm.FieldType(g, [_induced(g, 1), _induced(g, 2), _induced(g, 1)])
        mixed = nnm.FieldType(g, [g.trivial_repr, g.regular_repr, g.irrep(1, 1)])
        return {
            "MaskModule": lambda: (nnm.MaskModule(mixed, 7, margin=1), [mixed]),
            "PointwiseMaxPoolAntialiased": lambda: (nnm.PointwiseMaxPoolAntialiased(reg, 3, stride=2), [reg]),
            "PointwiseAvgPoolAntialiased": lambda: (nnm.PointwiseAvgPoolAntialiased(reg, 0.6, 2), [reg]),
            "GroupPooling": lambda: (nnm.GroupPooling(reg), [reg]),
            "NormPool": lambda: (nnm.NormPool(vec), [vec]),
            "InducedNormPool": lambda: (nnm.InducedNormPool(ind), [ind]),
            "NormMaxPool": lambda: (nnm.NormMaxPool(vec, 2), [vec]),
            "FieldDropout": lambda: (nnm.FieldDropout(reg, 0.5), [reg]),
            "ReshuffleModule": lambda: (nnm.ReshuffleModule(mixed, [2, 0, 1]), [mixed]),
        }[kind]()

    return build


STATELESS = [
    "MaskModule",
    "PointwiseMaxPoolAntialiased",
    "PointwiseAvgPoolAntialiased",
    "GroupPooling",
    "NormPool",
    "InducedNormPool",
    "NormMaxPool",
    "FieldDropout",
    "ReshuffleModule",
]


@pytest.mark.parametrize("kind", STATELESS)
def test_stateless_modules_with_derived_buffers(kind):
    """Their saved buffers (indices, masks, filters) are accepted; the model has no state to load."""
    y_e2, y_sc = _migrate(_stateless(kind), torch.float64, "train", steps=0)
    # e2cnn computes the mask and the anti-aliasing filter in float32 (buffers); structconv in float64
    bound = 1e-7 if kind in ("MaskModule", "PointwiseAvgPoolAntialiased") else 1e-12
    assert _relative(y_e2, y_sc) <= bound


def test_mask_or_filter_built_otherwise_is_refused():
    g_e2, g_sc = eg.FlipRot2dOnR2(4), sg.FlipRot2dOnR2(4)
    t_e2 = en.FieldType(g_e2, [g_e2.regular_repr])
    t_sc = sn.FieldType(g_sc, [g_sc.regular_repr])
    for theirs, ours, key in [
        (en.MaskModule(t_e2, 9, margin=1), sn.MaskModule(t_sc, 9, margin=2), "mask"),
        (
            en.PointwiseAvgPoolAntialiased(t_e2, 0.6, 2),
            sn.PointwiseAvgPoolAntialiased(t_sc, 0.9, 2),
            "filter",
        ),
    ]:
        with pytest.raises(
            E2cnnCheckpointError, match=f"layer '' \\({type(ours).__name__}\\): '{key}' differs"
        ):
            load_e2cnn_state_dict(ours, theirs.state_dict())


# ----------------------------------------------------------------------------- errors, coverage


def test_gated_bias_mismatch_names_the_layer_and_loads_nothing():
    m_e2, _ = _gated1("D4", False)(eg, en)
    m_sc, _ = _gated1("D4", False)(sg, sn)
    model = sn.SequentialModule(m_sc)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sd = {f"0.{k}": v for k, v in m_e2.state_dict().items()}
    sd["0.bias"] = torch.zeros(1, 5, 1, 1)
    with pytest.raises(E2cnnCheckpointError, match=r"layer '0' \(GatedNonLinearity1\): 'bias' has 5 entries"):
        load_e2cnn_state_dict(model, sd)
    sd["0.bias"] = torch.zeros(1, 3, 1, 1)
    sd["0.unexpected"] = torch.zeros(2)
    with pytest.raises(E2cnnCheckpointError, match=r"'0.unexpected'.*layer '0' \(GatedNonLinearity1\)"):
        load_e2cnn_state_dict(model, sd)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_ambiguous_representation_names_are_refused():
    """e2cnn representation names that no name of the layer explains: matched when only one representation of
    that size is left, refused (never guessed) when several are."""
    from structconv.compat.e2cnn import e2cnn_state_dict_of

    g = sg.FlipRot2dOnR2(4)
    t = sn.FieldType(g, [g.irrep(1, 1), g.trivial_repr, g.irrep(1, 0), g.irrep(1, 1)])
    conv = sn.R2Conv(t, t, 3)
    sd = e2cnn_state_dict_of(conv)

    def renamed(mapping):
        out = {}
        for k, v in sd.items():
            for old, new in mapping.items():
                k = k.replace(f"'{old}'", f"'{new}'")
            out[k] = v
        return out

    fresh = sn.R2Conv(t, t, 3)
    load_e2cnn_state_dict(fresh, renamed({"irrep_1,1": "x"}))  # the only size-2 representation
    assert torch.equal(fresh.weights, conv.weights)
    with pytest.raises(E2cnnCheckpointError, match="'y' \\(size 1\\) matches no single representation"):
        convert_e2cnn_state_dict(conv, renamed({"irrep_0,0": "y", "irrep_1,0": "z"}))


def test_every_stateful_e2cnn_module_is_covered():
    """Every module class of e2cnn.nn.__all__ that holds parameters or buffers has a migration test (here or
    in tests/test_e2cnn_migration.py); a new stateful e2cnn module fails this test until it gets one."""
    import inspect

    covered = {
        "R2Conv",
        "R2ConvTransposed",
        "R2Diffop",
        "InnerBatchNorm",
        "NormBatchNorm",
        "GNormBatchNorm",
        "NormNonLinearity",
        "GatedNonLinearity1",
        "GatedNonLinearity2",
        "InducedGatedNonLinearity1",
        "InducedNormNonLinearity",
        "InducedNormBatchNorm",
        "DisentangleModule",
        "BranchingModule",
        *STATELESS,
    }
    stateful = set()
    for name in en.__all__:
        cls = getattr(en, name)
        if not (inspect.isclass(cls) and issubclass(cls, torch.nn.Module)):
            continue
        source = inspect.getsource(cls)
        if "register_buffer" in source or "Parameter(" in source or "BatchNorm3d" in source:
            stateful.add(name)
    assert stateful - covered == set()
