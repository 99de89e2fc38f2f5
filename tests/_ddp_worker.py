"""Data-parallel training worker of ``tests/test_deploy_ddp.py`` (and a ``torchrun`` smoke script).

Run one process per rank with the usual ``torch.distributed`` environment (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``)::

    torchrun --nproc-per-node 2 tests/_ddp_worker.py --out /tmp/ddp --kinds constrained equivariant

Every rank builds the same float64 model (same seed), wraps it in
:class:`~torch.nn.parallel.DistributedDataParallel` (``find_unused_parameters=False``, so a parameter
without a gradient fails the second step), trains a few SGD steps on its shard of every batch and saves
``{kind}_rank{rank}.pt`` with its parameters, buffers and an eval-mode output. The same module offers
the single-process reference (:func:`reference_train`) that the test compares against.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "KINDS",
    "build_model",
    "make_batches",
    "eval_input",
    "reference_train",
    "ddp_train",
    "fsdp_train",
    "main",
]

KINDS = ("constrained", "equivariant", "equivariant_bn")
STEPS = 3
BATCH = 8  # global batch size (split evenly over the ranks)
LR = 0.05
NUM_CLASSES = 3


class _ToTensor(nn.Module):
    """Wrap an equivariant trunk so the model takes and returns plain tensors."""

    def __init__(self, in_type: Any, trunk: nn.Module, head: nn.Module) -> None:
        super().__init__()
        from structconv.nn import GeometricTensor

        self.in_type = in_type
        self._geometric_tensor = GeometricTensor
        self.trunk = trunk
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.trunk(self._geometric_tensor(x, self.in_type)).tensor
        return self.head(y.mean(dim=(-2, -1)))


def _constrained_model() -> nn.Module:
    from structconv.nn import ConstrainedConv2d, ConstrainedLinear, WSConv2d

    return nn.Sequential(
        ConstrainedConv2d(1, 4, 3, padding=1, constraint="zero_mean"),
        nn.ReLU(),
        WSConv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        ConstrainedConv2d(4, 4, 3, constraint="max_l2", max_l2=1.0, enforce="inplace"),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        ConstrainedLinear(4, NUM_CLASSES, constraint="nonneg", enforce="post_step"),
    )


def _equivariant_model(batch_norm: bool) -> nn.Module:
    from structconv import nn as enn
    from structconv.gspaces import FlipRot2dOnR2, Rot2dOnR2

    gs = FlipRot2dOnR2(2) if batch_norm else Rot2dOnR2(4)
    t_in = enn.FieldType(gs, [gs.trivial_repr])
    t_mid = enn.FieldType(gs, [gs.regular_repr] * 2)
    layers: list[nn.Module] = [enn.R2Conv(t_in, t_mid, 3, padding=1)]
    if batch_norm:
        layers.append(enn.InnerBatchNorm(t_mid))
    layers += [
        enn.ReLU(t_mid),
        enn.PointwiseMaxPool(t_mid, 2),
        enn.R2Conv(t_mid, t_mid, 3, padding=1),
    ]
    if batch_norm:
        layers.append(enn.InnerBatchNorm(t_mid))
    layers += [enn.ReLU(t_mid), enn.GroupPooling(t_mid)]
    return _ToTensor(t_in, enn.SequentialModule(*layers), nn.Linear(2, NUM_CLASSES))


def build_model(kind: str, seed: int = 0) -> nn.Module:
    """The float64 model of ``kind`` (one of :data:`KINDS`), initialised from ``seed``."""
    torch.manual_seed(seed)
    if kind == "constrained":
        model = _constrained_model()
    elif kind == "equivariant":
        model = _equivariant_model(batch_norm=False)
    elif kind == "equivariant_bn":
        model = _equivariant_model(batch_norm=True)
    else:
        raise ValueError(f"kind={kind!r} is not known; expected one of {KINDS}")
    return model.double()


def make_batches(seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``STEPS`` global batches of ``(images [BATCH, 1, 9, 9], labels [BATCH])`` in float64."""
    gen = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(BATCH, 1, 9, 9, generator=gen, dtype=torch.float64),
            torch.randint(0, NUM_CLASSES, (BATCH,), generator=gen),
        )
        for _ in range(STEPS)
    ]


def eval_input() -> torch.Tensor:
    """A fixed batch the trained models are evaluated on (eval mode)."""
    return torch.randn(2, 1, 9, 9, generator=torch.Generator().manual_seed(2), dtype=torch.float64)


def _optimizer(model: nn.Module) -> torch.optim.Optimizer:
    import structconv

    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    structconv.attach_projection(opt, model)
    return opt


def _buffers_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_buffers() if v is not None}


def reference_train(kind: str, world_size: int = 2) -> dict[str, Any]:
    """Single-process training equivalent to :func:`ddp_train` on ``world_size`` ranks.

    Without batch norm, one forward on the whole batch gives the gradient that DDP averages over the
    ranks. With batch norm every rank normalises its own shard, so the reference runs one forward per
    shard (mean of the shards' losses); the running statistics are those of rank 0 (DDP broadcasts
    rank 0's buffers before every forward), so each step replays the other shards on a saved copy.
    """
    model = build_model(kind)
    opt = _optimizer(model)
    per_shard = kind == "equivariant_bn"
    for x, y in make_batches():
        if per_shard:
            saved = {k: v.clone() for k, v in model.state_dict().items() if k in dict(model.named_buffers())}
            losses = []
            for r in reversed(range(world_size)):  # rank 0 last: its running statistics are kept
                model.load_state_dict(saved, strict=False)
                losses.append(F.cross_entropy(model(x.chunk(world_size)[r]), y.chunk(world_size)[r]))
            loss = torch.stack(losses).mean()
        else:
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return _summary(model)


def _summary(model: nn.Module) -> dict[str, Any]:
    model.eval()
    with torch.no_grad():
        out = model(eval_input())
    return {
        "params": {k: v.detach().clone() for k, v in model.named_parameters()},
        "buffers": _buffers_state(model),
        "state_dict_keys": sorted(model.state_dict()),
        "eval_output": out,
    }


def ddp_train(kind: str, env: Any) -> dict[str, Any]:
    """Train ``kind`` under DDP on this rank's shard of every batch; return the rank's summary."""
    from structconv.utils import shard, wrap_ddp

    model = build_model(kind)
    ddp = wrap_ddp(model, env, find_unused_parameters=False)
    opt = _optimizer(model)
    for x, y in make_batches():
        loss = F.cross_entropy(ddp(shard(x, env)), shard(y, env))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        unused = [n for n, p in model.named_parameters() if p.grad is None]
        if unused:
            raise RuntimeError(f"{kind}: parameters without gradient: {unused}")
        opt.step()
    return _summary(model)


def fsdp_train(kind: str, env: Any) -> dict[str, Any]:
    """Train ``kind`` with FSDP2 (``fully_shard`` on every convolution and on the model)."""
    from torch.distributed.fsdp import fully_shard

    from structconv.utils import shard

    model = build_model(kind)
    for module in list(model.modules()):
        # one FSDP unit per convolution (plain conv subclasses or steerable ones); the rest (batch norms,
        # the head) is sharded with the root. (fully_shard on an InnerBatchNorm by itself crashes the
        # backward with SIGSEGV under gloo in torch 2.13, while torch.nn.BatchNorm2d does not.)
        if isinstance(module, torch.nn.modules.conv._ConvNd) or hasattr(module, "basisexpansion"):
            fully_shard(module)
    fully_shard(model)
    opt = _optimizer(model)
    for x, y in make_batches():
        loss = F.cross_entropy(model(shard(x, env)), shard(y, env))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    params = {n: p.full_tensor() if hasattr(p, "full_tensor") else p for n, p in model.named_parameters()}
    return {"params": {n: p.detach().clone() for n, p in params.items()}, "buffers": _buffers_state(model)}


def _fsdp_available() -> bool:
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: join the gloo process group from the environment and train every kind."""
    import torch.distributed as dist

    from structconv.utils import cleanup_distributed, init_distributed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for {kind}_rank{rank}.pt")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--timeout", type=float, default=60.0, help="collective timeout in seconds")
    parser.add_argument("--fsdp", action="store_true", help="also train every kind with FSDP2 (fully_shard)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    env = init_distributed("gloo", timeout_s=args.timeout)
    if not env.enabled:
        raise SystemExit("run one process per rank (torchrun, or RANK / WORLD_SIZE / MASTER_* variables)")
    try:
        rank = env.rank
        for kind in args.kinds:
            summary = ddp_train(kind, env)
            torch.save(summary, os.path.join(args.out, f"{kind}_rank{rank}.pt"))
            if args.fsdp and _fsdp_available():
                summary = fsdp_train(kind, env)
                torch.save(summary, os.path.join(args.out, f"{kind}_fsdp_rank{rank}.pt"))
        dist.barrier()
    finally:
        cleanup_distributed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
