"""Distributed data-parallel training of structconv models: two gloo processes on CPU.

The worker (``tests/_ddp_worker.py``) is started twice with ``subprocess`` on a free port of
127.0.0.1, with a collective timeout and a wall-clock timeout, so a stuck rendezvous fails the test
instead of hanging CI. One run trains every model kind; the tests below check its results.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist

import structconv.nn as snn

WORKER = Path(__file__).with_name("_ddp_worker.py")
WORLD_SIZE = 2
TIMEOUT_S = 240.0


def _load_worker() -> Any:
    spec = importlib.util.spec_from_file_location("_structconv_ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # the worker's model classes must pickle
    spec.loader.exec_module(module)
    return module


worker = _load_worker()

_EQUIVARIANT = ("R2Conv", "InnerBatchNorm", "ReLU", "PointwiseMaxPool", "GroupPooling", "SequentialModule")


def _require(*names: str) -> None:
    missing = [n for n in names if getattr(snn, n, None) is None]
    if missing:
        pytest.skip(f"structconv.nn does not provide {missing} yet")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(out: Path, kinds: list[str]) -> tuple[list[int], list[str]]:
    """Start WORLD_SIZE workers; return their exit codes and outputs (kills them all on timeout)."""
    port = _free_port()
    src = str(Path(__file__).resolve().parents[1] / "src")
    procs = []
    for rank in range(WORLD_SIZE):
        env = dict(os.environ)
        env.update(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(WORLD_SIZE),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            OMP_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p),
        )
        if sys.platform.startswith("linux"):
            env.setdefault("GLOO_SOCKET_IFNAME", "lo")
        cmd = [sys.executable, str(WORKER), "--out", str(out), "--timeout", "60", "--fsdp", "--kinds", *kinds]
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    deadline = time.monotonic() + TIMEOUT_S
    outputs: list[str] = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        for p in procs:
            p.communicate()
        pytest.fail(f"DDP workers did not finish within {TIMEOUT_S:.0f} s")
    return [p.returncode for p in procs], outputs


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available")
    _require("ConstrainedConv2d", "WSConv2d", "ConstrainedLinear")
    kinds = ["constrained"]
    if all(getattr(snn, n, None) is not None for n in _EQUIVARIANT):
        kinds += ["equivariant", "equivariant_bn"]
    for _attempt in range(2):  # the free port may be taken between probing and binding: retry once
        out = tmp_path_factory.mktemp("ddp")
        codes, outputs = _spawn(out, kinds)
        if all(c == 0 for c in codes):
            break
        if "address already in use" not in "".join(outputs).lower():
            break
    details = "\n".join(
        f"--- rank {r} (exit {c}) ---\n{o[-4000:]}" for r, (c, o) in enumerate(zip(codes, outputs))
    )
    assert all(c == 0 for c in codes), f"DDP workers failed:\n{details}"
    results = {}
    for k in kinds:
        for suffix in ("", "_fsdp"):
            files = [out / f"{k}{suffix}_rank{r}.pt" for r in range(WORLD_SIZE)]
            if all(f.exists() for f in files):
                results[k + suffix] = [torch.load(f, weights_only=False) for f in files]
    return results


def _kind(results: dict[str, list[dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    if kind not in results:
        pytest.skip(f"the {kind!r} model needs modules not in structconv.nn yet")
    return results[kind]


@pytest.mark.slow
@pytest.mark.parametrize("kind", worker.KINDS)
def test_ddp_parameters_identical_on_both_ranks(ddp_results, kind: str) -> None:
    r0, r1 = _kind(ddp_results, kind)
    assert r0["state_dict_keys"] == r1["state_dict_keys"]
    for name, p in r0["params"].items():
        assert torch.equal(p, r1["params"][name]), f"{kind}: parameter {name} differs between ranks"
    if not any(k.endswith("running_mean") for k in r0["buffers"]):
        # (running statistics are rank-local after the last step, as with torch.nn.BatchNorm2d: DDP
        # broadcasts rank 0's before every forward, so rank 0 holds the reference ones)
        assert torch.equal(r0["eval_output"], r1["eval_output"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", worker.KINDS)
def test_ddp_matches_single_process_training(ddp_results, kind: str) -> None:
    """DDP on the two halves of every batch = one process on the whole batch (float64, to rounding)."""
    r0 = _kind(ddp_results, kind)[0]
    ref = worker.reference_train(kind, WORLD_SIZE)
    assert sorted(ref["params"]) == sorted(r0["params"])
    for name, p in ref["params"].items():
        torch.testing.assert_close(r0["params"][name], p, rtol=1e-9, atol=1e-11, msg=f"{kind}: {name}")
    # rank 0's buffers (running statistics, cached filters) are what DDP broadcasts to the others
    for name, b in ref["buffers"].items():
        torch.testing.assert_close(
            r0["buffers"][name], b, rtol=1e-9, atol=1e-11, msg=f"{kind}: buffer {name}"
        )
    torch.testing.assert_close(r0["eval_output"], ref["eval_output"], rtol=1e-9, atol=1e-11)


@pytest.mark.slow
@pytest.mark.parametrize("kind", worker.KINDS)
def test_fsdp_matches_single_process_training(ddp_results, kind: str) -> None:
    """FSDP2 (``fully_shard`` per structured layer): same parameters as single-process training."""
    r0, r1 = _kind(ddp_results, kind + "_fsdp")
    ref = worker.reference_train(kind, WORLD_SIZE)
    for name, p in ref["params"].items():
        torch.testing.assert_close(r0["params"][name], p, rtol=1e-9, atol=1e-11, msg=f"{kind}: {name}")
        assert torch.equal(r0["params"][name], r1["params"][name]), f"{kind}: {name} differs between ranks"


# ----------------------------------------------------------------------------- single-process checks


def _typed_objects() -> list[Any]:
    _require("FieldType")
    from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2

    gs = FlipRot2dOnR2(4)
    so2 = Rot2dOnR2(-1, maximum_frequency=3)
    ft = snn.FieldType(gs, [gs.regular_repr, gs.irrep(1, 1), gs.trivial_repr])
    return [gs, gs.fibergroup, gs.regular_repr, gs.irrep(1, 1), ft, so2, so2.irrep(2), so2.fibergroup]


def test_groups_gspaces_field_types_pickle() -> None:
    """DDP / multiprocessing data loaders pickle these: they must round-trip to equal objects."""
    for obj in _typed_objects():
        back = pickle.loads(pickle.dumps(obj))
        assert back == obj, f"{obj!r} does not survive pickling"
        assert hash(back) == hash(obj)


@pytest.mark.parametrize("kind", worker.KINDS)
def test_models_pickle_and_deepcopy(kind: str) -> None:
    if kind != "constrained":
        _require(*_EQUIVARIANT)
    model = worker.build_model(kind).eval()
    x = worker.eval_input()
    with torch.no_grad():
        y = model(x)
    for copied in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        with torch.no_grad():
            torch.testing.assert_close(copied(x), y, rtol=0, atol=0)
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    with torch.no_grad():
        torch.testing.assert_close(torch.load(buf, weights_only=False)(x), y, rtol=0, atol=0)


@pytest.mark.parametrize("kind", worker.KINDS)
def test_every_parameter_gets_a_gradient(kind: str) -> None:
    """DDP (``find_unused_parameters=False``) needs a gradient for every parameter at every step."""
    if kind != "constrained":
        _require(*_EQUIVARIANT)
    model = worker.build_model(kind).train()
    x, y = worker.make_batches()[0]
    torch.nn.functional.cross_entropy(model(x), y).backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused


def test_state_dict_keys_do_not_depend_on_mode() -> None:
    _require(*_EQUIVARIANT)
    model = worker.build_model("equivariant_bn")
    keys_train = sorted(model.train().state_dict())
    keys_eval = sorted(model.eval().state_dict())
    assert keys_train == keys_eval


@pytest.mark.parametrize(
    "name",
    [
        "constrained_2d",
        "constrained_nd",
        "weight_standardized",
        "regular_fields",
        "irrep_fields",
        "transposed_and_diffop",
    ],
)
def test_zoo_parameters_all_get_gradients(name: str) -> None:
    """Every structconv layer in the zoo models: no parameter that requires grad goes unused."""
    import _deploy_zoo as zoo

    try:
        model, x = zoo.build(name)
    except zoo.Missing as err:
        pytest.skip(str(err))
    model(x).square().mean().backward()
    assert not [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]


@pytest.mark.xfail(
    strict=True,
    reason="FWS(learnable_gain=True) registers `gain` as a Parameter that never receives a gradient (the "
    "projection runs without autograd), so DDP(find_unused_parameters=False) fails at the 2nd step; fix: "
    "nn.Parameter(gain, requires_grad=False) (same state-dict key; optimizers and DDP skip it)",
)
def test_fws_learnable_gain_gets_a_gradient() -> None:
    _require("FWS")
    m = snn.FWS(torch.nn.Conv2d(2, 3, 3))
    m(torch.randn(1, 2, 5, 5)).sum().backward()
    assert not [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]
