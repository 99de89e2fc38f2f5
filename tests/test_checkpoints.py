"""Checkpoints: train/eval-mode round trips through ``torch.save`` and field-type checks on load."""

from __future__ import annotations

import io

import pytest
import torch

import _deploy_zoo as zoo
from structconv.utils import checkpoint_problems, load_checkpoint, typed_state_dict

ALL = [*zoo.CONSTRAINED, *zoo.EQUIVARIANT]
# layers that project their stored weight in place (enforce='inplace', FWS) project a loaded weight again:
# the maps are idempotent up to float rounding, so their outputs agree to rounding, not bit for bit
REPROJECTS = zoo.REPROJECTS


def _tol(name: str) -> dict[str, float]:
    return {"rtol": 1e-5, "atol": 1e-6} if name in REPROJECTS else {"rtol": 0.0, "atol": 0.0}


def _build(name: str, seed: int = 0):
    try:
        return zoo.build(name, seed=seed)
    except zoo.Missing as err:
        pytest.skip(str(err))


def _trained(name: str):
    """A model moved away from its initialisation (one SGD step, running statistics updated)."""
    model, x = _build(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    model(x).square().mean().backward()
    opt.step()
    return model, x


def _through_disk(state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def _eval_output(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize("name", ALL)
def test_saved_in_train_mode_loads_in_eval_mode(name: str) -> None:
    src, x = _trained(name)
    state = _through_disk(typed_state_dict(src.train()))
    dst, _ = _build(name, seed=1)
    dst.eval()
    _eval_output(dst, x)  # fill any eval-mode cache with the old weights first
    load_checkpoint(dst, state)
    assert not dst.training
    torch.testing.assert_close(_eval_output(dst, x), _eval_output(src, x), **_tol(name))


@pytest.mark.parametrize("name", ALL)
def test_saved_in_eval_mode_loads_in_train_mode(name: str) -> None:
    src, x = _trained(name)
    expected = _eval_output(src, x)  # src is in eval mode, caches filled
    state = _through_disk(typed_state_dict(src))
    dst, _ = _build(name, seed=1)
    dst.train()
    load_checkpoint(dst, state)
    assert dst.training
    torch.testing.assert_close(_eval_output(dst, x), expected, **_tol(name))


@pytest.mark.parametrize("name", ALL)
def test_state_dict_keys_do_not_depend_on_mode(name: str) -> None:
    model, x = _build(name)
    train_keys = list(model.train().state_dict())
    _eval_output(model, x)
    assert list(model.state_dict()) == train_keys


def _r2conv_pair():
    ft, conv = zoo.require("FieldType", "R2Conv")
    from structconv.gspaces import Rot2dOnR2

    gs = Rot2dOnR2(4)
    t_in = ft(gs, [gs.trivial_repr])
    regular = conv(t_in, ft(gs, [gs.regular_repr] * 2), 3)
    # the regular representation of C4 is irrep_0 + irrep_1 + irrep_2: same number of weights
    irreps = conv(t_in, ft(gs, [gs.irrep(0), gs.irrep(1), gs.irrep(2)] * 2), 3)
    return regular, irreps


def test_same_shapes_different_field_types_are_caught() -> None:
    regular, irreps = _r2conv_pair()
    net_a = torch.nn.Sequential(torch.nn.Identity(), regular)
    net_b = torch.nn.Sequential(torch.nn.Identity(), irreps)
    assert [t.shape for t in net_a.state_dict().values()] == [t.shape for t in net_b.state_dict().values()]
    state = _through_disk(typed_state_dict(net_a))
    with pytest.raises(
        ValueError,
        match=r"layer '1' \(R2Conv\) was saved with out_type .*regular.* but has out_type .*irrep_1",
    ):
        load_checkpoint(net_b, state)
    assert checkpoint_problems(net_a, state) == []


def test_shape_mismatch_names_layer_and_types() -> None:
    ft, conv = zoo.require("FieldType", "R2Conv")
    from structconv.gspaces import Rot2dOnR2

    gs = Rot2dOnR2(4)
    t_in = ft(gs, [gs.trivial_repr])
    small = torch.nn.Sequential(conv(t_in, ft(gs, [gs.regular_repr]), 3))
    big = torch.nn.Sequential(conv(t_in, ft(gs, [gs.regular_repr] * 3), 3))
    plain_state = big.state_dict()  # no recorded types: the shape check still names the layer and type
    with pytest.raises(
        ValueError,
        match=r"layer '0' \(R2Conv, in_type .*, out_type \[4-Rotations: \{regular\}\]\): 'weights' has shape",
    ):
        load_checkpoint(small, plain_state)


def test_plain_state_dict_without_types_loads() -> None:
    src, x = _trained("demo_equivariant_cnn")
    dst, _ = _build("demo_equivariant_cnn", seed=3)
    load_checkpoint(dst, src.state_dict())
    torch.testing.assert_close(_eval_output(dst, x), _eval_output(src, x), rtol=0, atol=0)


def test_typed_state_dict_records_nested_types() -> None:
    model, _ = _build("demo_equivariant_cnn")
    state = typed_state_dict(model)
    assert list(state) == list(model.state_dict())
    meta = state._metadata
    assert meta["features.0"]["structconv.out_type"].startswith("[8-Rotations: {regular")
    assert "structconv.in_type" in meta["features"]


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="model=dict is not accepted; expected a torch.nn.Module"):
        load_checkpoint({}, {})
    with pytest.raises(TypeError, match="state_dict=list is not accepted; expected a mapping"):
        checkpoint_problems(torch.nn.Linear(1, 1), [])


@pytest.mark.parametrize("name", ALL)
def test_whole_model_pickles(name: str) -> None:
    """``torch.save(model)`` / multiprocessing pickle whole models (no lambdas or local classes inside)."""
    model, x = _trained(name)
    expected = _eval_output(model, x)
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    torch.testing.assert_close(_eval_output(torch.load(buf, weights_only=False), x), expected, **_tol(name))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", ALL)
def test_non_finite_values_are_refused_unless_allowed(name: str, bad: float) -> None:
    """A checkpoint whose floating-point tensor holds NaN or infinity is refused by default (naming the key),
    leaving the model unchanged; ``allow_nonfinite=True`` loads it. Every layer of the zoo, its first and its
    last floating-point entry (a parameter, and a buffer where it has one)."""
    model, _ = _build(name)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    keys = [k for k, v in before.items() if v.is_floating_point() and v.numel()]
    for key in dict.fromkeys([keys[0], keys[-1]]):
        state = {k: v.clone() for k, v in before.items()}
        state[key].view(-1)[state[key].numel() // 2] = bad
        with pytest.raises(ValueError, match=rf"key '{key}' holds 1 non-finite value\(s\).*allow_nonfinite=True"):
            load_checkpoint(model, state)
        for k, v in model.state_dict().items():
            assert torch.equal(v, before[k]), k
        load_checkpoint(model, state, allow_nonfinite=True)
        loaded = model.state_dict()[key]
        got = loaded.view(-1)[loaded.numel() // 2]
        torch.testing.assert_close(got, torch.tensor(bad, dtype=loaded.dtype), rtol=0, atol=0, equal_nan=True)
        load_checkpoint(model, before)
    with pytest.raises(TypeError, match="allow_nonfinite='yes' is not accepted; expected True or False"):
        load_checkpoint(model, before, allow_nonfinite="yes")
