r"""Small helpers to run a training script under ``torchrun`` (one process per rank) or on its own.

``torchrun --nproc-per-node N script.py`` starts ``N`` copies of a script and tells each its place in
the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`init_distributed` reads it, joins the process group when there is more than one process and
returns a :class:`DistributedEnv`; without ``torchrun`` it returns the single-process environment and
does nothing else, so the same script runs both ways. :func:`shard` gives each rank its contiguous
share of a batch (with equal shares, DDP's averaged gradient is the gradient of the whole batch) and
:func:`wrap_ddp` wraps a model in :class:`~torch.nn.parallel.DistributedDataParallel` only when
needed.

Example:
    >>> env = distributed_env({})  # no torchrun variables: one process
    >>> env.world_size, env.rank, env.is_main, env.enabled
    (1, 0, True, False)
    >>> shard(torch.arange(10), DistributedEnv(rank=1, world_size=2)).tolist()
    [5, 6, 7, 8, 9]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
from torch import nn

__all__ = [
    "DistributedEnv",
    "distributed_env",
    "init_distributed",
    "shard",
    "wrap_ddp",
    "cleanup_distributed",
]


@dataclass(frozen=True)
class DistributedEnv:
    """Where this process stands in a multi-process run.

    Args:
        rank: global rank of this process, ``0 <= rank < world_size``.
        world_size: number of processes.
        local_rank: rank on this machine (selects the GPU).

    Example:
        >>> DistributedEnv(rank=1, world_size=2).is_main
        False
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    def __post_init__(self) -> None:
        for name in ("rank", "world_size", "local_rank"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (1 if name == "world_size" else 0)
            ):
                raise ValueError(
                    f"{name}={value!r} is not accepted; expected an int >= {1 if name == 'world_size' else 0}"
                )
        if self.rank >= self.world_size:
            raise ValueError(
                f"rank={self.rank} is not accepted; expected 0 <= rank < world_size={self.world_size}"
            )

    @property
    def enabled(self) -> bool:
        """Whether there is more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the process that prints, evaluates and writes files)."""
        return self.rank == 0


def _int_var(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"environment variable {name}={text!r} is not accepted; expected an integer"
        ) from None


def distributed_env(environ: Mapping[str, str] | None = None) -> DistributedEnv:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (as ``torchrun`` sets them) without joining anything.

    Args:
        environ: the environment to read (default ``os.environ``).

    Returns:
        the process's :class:`DistributedEnv` (single process when the variables are absent).

    Raises:
        ValueError: a variable is not an integer, or the rank is out of range.

    Example:
        >>> distributed_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
        DistributedEnv(rank=1, world_size=2, local_rank=1)
    """
    environ = os.environ if environ is None else environ
    rank = _int_var(environ, "RANK", 0)
    return DistributedEnv(
        rank=rank,
        world_size=_int_var(environ, "WORLD_SIZE", 1),
        local_rank=_int_var(environ, "LOCAL_RANK", rank),
    )


def init_distributed(
    backend: str | None = None, timeout_s: float = 300.0, environ: Mapping[str, str] | None = None
) -> DistributedEnv:
    """Join the default process group when launched by ``torchrun`` with more than one process.

    Args:
        backend: ``"gloo"`` (CPU), ``"nccl"`` (CUDA) or ``None``: ``"nccl"`` when CUDA is available,
            else ``"gloo"``.
        timeout_s: timeout of the collectives, in seconds (a stuck peer fails instead of hanging).
        environ: the environment to read (default ``os.environ``).

    Returns:
        the process's :class:`DistributedEnv`. Single process: nothing is initialised.

    Example:
        >>> init_distributed(environ={}).enabled
        False
    """
    env = distributed_env(environ)
    if not env.enabled:
        return env
    import torch.distributed as dist

    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={env.world_size} but this torch build has no torch.distributed")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend not in ("gloo", "nccl", "mpi", "ucc"):
        raise ValueError(
            f"backend={backend!r} is not accepted; expected 'gloo', 'nccl', 'mpi', 'ucc' or None"
        )
    if not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
        raise ValueError(f"timeout_s={timeout_s!r} is not accepted; expected a number > 0")
    if not dist.is_initialized():
        if backend == "nccl":
            torch.cuda.set_device(env.local_rank)
        dist.init_process_group(backend, timeout=timedelta(seconds=float(timeout_s)))
    return env


def shard(batch: torch.Tensor, env: DistributedEnv) -> torch.Tensor:
    """This rank's contiguous share of ``batch`` along dim 0 (shares differ by at most one item).

    Example:
        >>> [shard(torch.arange(5), DistributedEnv(r, 2)).tolist() for r in range(2)]
        [[0, 1, 2], [3, 4]]
    """
    if not isinstance(env, DistributedEnv):
        raise TypeError(f"env={env!r} is not accepted; expected a DistributedEnv")
    if not env.enabled:
        return batch
    return torch.tensor_split(batch, env.world_size)[env.rank]


def wrap_ddp(model: nn.Module, env: DistributedEnv, **kwargs: Any) -> nn.Module:
    """``DistributedDataParallel(model, **kwargs)`` when there are several processes, else ``model``.

    On CUDA the model must already be on ``cuda:{env.local_rank}``; ``device_ids`` is then set for you.

    Example:
        >>> m = torch.nn.Linear(2, 2)
        >>> wrap_ddp(m, DistributedEnv()) is m
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model={type(model).__name__} is not accepted; expected a torch.nn.Module")
    if not env.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    first = next(model.parameters(), None)
    if first is not None and first.device.type == "cuda":
        kwargs.setdefault("device_ids", [first.device.index])
    return DistributedDataParallel(model, **kwargs)


def cleanup_distributed() -> None:
    """Leave the process group if one was joined (call at the end of the script, on every rank).

    Example:
        >>> cleanup_distributed()  # a no-op in a single process
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
