"""Utilities for training and deploying structconv models at scale.

* :func:`typed_state_dict`, :func:`load_checkpoint`, :func:`checkpoint_problems` -- checkpoints that
  remember the field types of equivariant layers, and a loader that names the layer and the type when a
  checkpoint does not fit.
* :func:`init_distributed`, :func:`shard`, :func:`wrap_ddp`, :func:`cleanup_distributed`,
  :class:`DistributedEnv` -- run the same training script alone or under ``torchrun``.

Example:
    >>> from structconv.utils import load_checkpoint
    >>> m = torch.nn.Linear(2, 2)
    >>> load_checkpoint(m, m.state_dict())
    <All keys matched successfully>
"""

from __future__ import annotations

from structconv.utils.checkpoint import TYPE_KEYS, checkpoint_problems, load_checkpoint, typed_state_dict
from structconv.utils.distributed import (
    DistributedEnv,
    cleanup_distributed,
    distributed_env,
    init_distributed,
    shard,
    wrap_ddp,
)

__all__ = [
    "TYPE_KEYS",
    "DistributedEnv",
    "checkpoint_problems",
    "cleanup_distributed",
    "distributed_env",
    "init_distributed",
    "load_checkpoint",
    "shard",
    "typed_state_dict",
    "wrap_ddp",
]

from structconv._public import public_dir as _public_dir  # noqa: E402

__dir__ = _public_dir(__name__)
