"""Training and evaluation loops of the demo (plain tensors in, logits out)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import torch
import torch.nn.functional as F
from torch import nn

from structconv.cli._progress import ProgressBar
from structconv.data.digits import rotate_images
from structconv.utils.distributed import DistributedEnv, shard, wrap_ddp

__all__ = [
    "train_model",
    "predict",
    "accuracy_by_angle",
    "logit_change",
    "invariance_error",
    "count_parameters",
    "count_held_parameters",
]


def count_parameters(model: nn.Module) -> int:
    """Number of learnable scalars of ``model``.

    Example:
        >>> count_parameters(torch.nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_held_parameters(model: nn.Module) -> int:
    """Number of scalars in all of ``model``'s parameters, learnable or frozen (what the model holds).

    Example:
        >>> net = torch.nn.Linear(3, 2).requires_grad_(False)
        >>> count_held_parameters(net), count_parameters(net)
        (8, 0)
    """
    return sum(p.numel() for p in model.parameters())


def train_model(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    lr: float = 3e-2,
    device: torch.device | str = "cpu",
    desc: str = "",
    stream: TextIO | None = None,
    env: DistributedEnv | None = None,
) -> dict[str, float]:
    """Train ``model`` with AdamW and a one-cycle learning-rate schedule, showing a bar per epoch.

    Under ``torchrun`` (``env.enabled``), every rank draws the same batches, trains on its share of each
    batch through :class:`~torch.nn.parallel.DistributedDataParallel` and drops a last batch too small
    to give every rank an image; the reported loss and accuracy are this rank's.

    Args:
        model: maps ``(N, C, H, W)`` images to ``(N, classes)`` logits.
        images: training images (on any device; batches are moved to ``device``).
        labels: training labels.
        epochs: number of passes over the data.
        batch_size: images per optimizer step.
        seed: seed of the batch order.
        lr: peak learning rate.
        device: where to train.
        desc: name shown in front of the progress bars.
        stream: where the progress bars go (default stdout).
        env: the distributed environment (default: a single process).

    Returns:
        ``{"train_time_s": ..., "final_loss": ..., "final_train_accuracy": ...}``.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> x, y = torch.randn(8, 1, 2, 2), torch.randint(0, 2, (8,))
        >>> import io
        >>> stats = train_model(net, x, y, epochs=1, batch_size=4, stream=io.StringIO())
        >>> sorted(stats)
        ['final_loss', 'final_train_accuracy', 'train_time_s']
    """
    device = torch.device(device)
    model.to(device)
    env = DistributedEnv() if env is None else env
    net = wrap_ddp(model, env)
    steps_per_epoch = math.ceil(len(labels) / batch_size)
    if env.enabled and len(labels) % batch_size and len(labels) % batch_size < env.world_size:
        steps_per_epoch -= 1
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch), pct_start=0.15
    )
    gen = torch.Generator().manual_seed(seed)
    loss_avg, acc_avg = float("nan"), float("nan")
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(labels), generator=gen)
        total_loss, correct, seen = 0.0, 0, 0
        with ProgressBar(steps_per_epoch, desc=f"{desc} epoch {epoch + 1}/{epochs}", stream=stream) as bar:
            for b in range(steps_per_epoch):
                idx = order[b * batch_size : (b + 1) * batch_size]
                if env.enabled:
                    idx = shard(idx, env)
                x, y = images[idx].to(device), labels[idx].to(device)
                logits = net(x)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total_loss += loss.item() * len(idx)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(idx)
                bar.update(loss=total_loss / seen, acc=correct / seen)
        loss_avg, acc_avg = total_loss / max(seen, 1), correct / max(seen, 1)
    model.eval()
    return {
        "train_time_s": time.perf_counter() - start,
        "final_loss": loss_avg,
        "final_train_accuracy": acc_avg,
    }


@torch.no_grad()
def predict(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Logits of ``model`` (in eval mode) on ``images``, computed in batches, returned on the CPU.

    Example:
        >>> predict(torch.nn.Flatten(), torch.ones(3, 1, 2, 2)).shape
        torch.Size([3, 4])
    """
    if isinstance(model, nn.Module):
        model.eval()
    out = [model(images[i : i + batch_size].to(device)).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.empty(0)


def accuracy_by_angle(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    labels: torch.Tensor,
    angles: Sequence[float],
    device: torch.device | str = "cpu",
    render: Callable[[float], torch.Tensor] | None = None,
    progress: Callable[[float, float], object] | None = None,
) -> tuple[list[float], torch.Tensor]:
    """Accuracy on ``images`` rotated by each of ``angles`` (degrees), and all the logits.

    ``render(angle)``, if given, supplies the rotated images instead of :func:`rotate_images` (e.g.
    :meth:`~structconv.data.DigitsSplit.test_images_at`, which renders them from the source scans).
    ``progress(angle, accuracy)``, if given, is called after each angle.

    Returns:
        ``(accuracies, logits)`` with ``logits`` of shape ``(len(angles), N, classes)``.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 2))
        >>> x, y = torch.ones(4, 1, 3, 3), torch.zeros(4, dtype=torch.long)
        >>> accs, logits = accuracy_by_angle(net, x, y, [0, 90])
        >>> len(accs), tuple(logits.shape)
        (2, (2, 4, 2))
    """
    accs: list[float] = []
    logits = []
    for angle in angles:
        rotated = rotate_images(images, float(angle)) if render is None else render(float(angle))
        out = predict(model, rotated, device=device)
        logits.append(out)
        accs.append(float((out.argmax(1) == labels).float().mean()))
        if progress is not None:
            progress(float(angle), accs[-1])
    return accs, torch.stack(logits)


def logit_change(reference: torch.Tensor, others: Sequence[torch.Tensor]) -> dict[str, float]:
    """Largest change of any logit from ``reference`` to each of ``others``, absolute and relative.

    The relative figure divides by the largest absolute logit of ``reference``.

    Example:
        >>> logit_change(torch.tensor([[2.0, -4.0]]), [torch.tensor([[2.0, -3.0]])])
        {'max_abs': 1.0, 'relative': 0.25}
    """
    worst = max((float((o - reference).abs().max()) for o in others), default=0.0)
    scale = float(reference.abs().max()) if reference.numel() else 0.0
    return {"max_abs": worst, "relative": worst / scale if scale > 0 else worst}


def invariance_error(
    model: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, device: torch.device | str = "cpu"
) -> dict[str, float]:
    """How much the logits change when the input turns by 90, 180 and 270 degrees.

    Returns:
        ``{"max_abs": ..., "relative": ...}``: the largest absolute change of any logit, and that divided
        by the largest absolute logit of the upright images.

    Example:
        >>> err = invariance_error(lambda x: x.sum((1, 2, 3))[:, None], torch.rand(2, 1, 5, 5))
        >>> err["relative"] < 1e-6
        True
    """
    ref = predict(model, images, device=device)
    turned = [predict(model, torch.rot90(images, k, dims=(-2, -1)), device=device) for k in (1, 2, 3)]
    return logit_change(ref, turned)
