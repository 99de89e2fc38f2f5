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


def _run_workers(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available")
    _require("ConstrainedConv2d", "WSConv2d", "ConstrainedLinear")
    kinds = ["constrained"]
    if all(getattr(snn, n, None) is not None for n in _EQUIVARIANT):
        kinds += ["equivariant", "equivariant_bn"]
    for attempt in range(2):  # the free port may be taken between probing and binding: retry once
        out = tmp_path / f"attempt{attempt}"
        out.mkdir()
        codes, outputs = _spawn(out, kinds)
        if all(c == 0 for c in codes) or "address already in use" not in "".join(outputs).lower():
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


def _compare(kind: str, got: dict[str, Any], ref: dict[str, Any], errors: list[str], buffers: bool) -> None:
    pairs = [("parameter", got["params"], ref["params"])]
    if buffers:
        pairs.append(("buffer", got["buffers"], ref["buffers"]))
    for what, mine, theirs in pairs:
        if sorted(mine) != sorted(theirs):
            errors.append(f"{kind}: {what} names differ: {sorted(mine)} vs {sorted(theirs)}")
            continue
        for name, value in theirs.items():
            if not torch.allclose(mine[name], value, rtol=1e-9, atol=1e-11):
                err = float((mine[name] - value).abs().max())
                errors.append(f"{kind}: {what} {name} differs from single-process training by {err:.3g}")


@pytest.mark.slow
def test_ddp_and_fsdp_match_single_process_training(tmp_path: Path) -> None:
    """Two gloo ranks, each on half of every batch, train exactly like one process on the whole batch.

    One launch trains every kind with DDP and FSDP2 (a single test, so ``pytest -n`` starts it once).
    For each kind: the ranks hold identical parameters; rank 0's parameters, buffers (running statistics,
    cached filters) and eval output equal those of :func:`reference_train` (float64, to rounding).
    """
    results = _run_workers(tmp_path)
    errors: list[str] = []
    for kind in worker.KINDS:
        if kind not in results:
            continue  # needs equivariant modules that structconv.nn does not provide yet
        r0, r1 = results[kind]
        ref = worker.reference_train(kind, WORLD_SIZE)
        if r0["state_dict_keys"] != r1["state_dict_keys"]:
            errors.append(f"{kind}: state-dict keys differ between ranks")
        for name, p in r0["params"].items():
            if not torch.equal(p, r1["params"][name]):
                errors.append(f"{kind}: parameter {name} differs between ranks")
        # running statistics are rank-local after the last step (as with torch.nn.BatchNorm2d): DDP
        # broadcasts rank 0's before every forward, so only rank 0 is compared with the reference
        has_stats = any(k.endswith("running_mean") for k in r0["buffers"])
        if not has_stats and not torch.equal(r0["eval_output"], r1["eval_output"]):
            errors.append(f"{kind}: eval outputs differ between ranks")
        _compare(kind, r0, ref, errors, buffers=True)
        if not torch.allclose(r0["eval_output"], ref["eval_output"], rtol=1e-9, atol=1e-11):
            errors.append(f"{kind}: eval output differs from single-process training")
        if kind + "_fsdp" in results:
            f0, f1 = results[kind + "_fsdp"]
            _compare(kind + " (FSDP)", f0, ref, errors, buffers=False)
            for name, p in f0["params"].items():
                if not torch.equal(p, f1["params"][name]):
                    errors.append(f"{kind} (FSDP): parameter {name} differs between ranks")
    assert not errors, "\n".join(errors)
    assert "constrained" in results


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


def test_fws_has_no_unused_trainable_parameters() -> None:
    _require("FWS")
    m = snn.FWS(torch.nn.Conv2d(2, 3, 3))
    m(torch.randn(1, 2, 5, 5)).sum().backward()
    assert not [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]


# ----------------------------------------------------------------------------- structconv.utils.distributed


def test_distributed_env_from_torchrun_variables() -> None:
    from structconv.utils import DistributedEnv, distributed_env, init_distributed, shard, wrap_ddp

    env = distributed_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert env == DistributedEnv(rank=3, world_size=4, local_rank=1)
    assert env.enabled and not env.is_main
    single = init_distributed(environ={})
    assert single == DistributedEnv() and not dist.is_initialized()
    x = torch.arange(10)
    assert torch.equal(torch.cat([shard(x, DistributedEnv(r, 3)) for r in range(3)]), x)
    assert shard(x, single) is x
    m = torch.nn.Linear(2, 2)
    assert wrap_ddp(m, single) is m


def test_distributed_env_bad_input() -> None:
    from structconv.utils import DistributedEnv, distributed_env, shard

    with pytest.raises(
        ValueError, match=r"environment variable WORLD_SIZE='two' is not accepted; expected an integer"
    ):
        distributed_env({"WORLD_SIZE": "two"})
    with pytest.raises(ValueError, match=r"rank=2 is not accepted; expected 0 <= rank < world_size=2"):
        DistributedEnv(rank=2, world_size=2)
    with pytest.raises(ValueError, match=r"world_size=0 is not accepted; expected an int >= 1"):
        DistributedEnv(world_size=0)
    with pytest.raises(TypeError, match=r"env=.* is not accepted; expected a DistributedEnv"):
        shard(torch.zeros(2), 2)
