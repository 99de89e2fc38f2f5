"""``structconv demo --3d``: 3D Tetris (Thomas et al. 2018), a plain 3D CNN against rotation-invariant ones.

Four classifiers of ``17^3`` volumes with about the same number of parameters
(:mod:`structconv.models.tetris3d`) are trained on the eight Tetris polycubes in one orientation only
(upright, shifted by up to a voxel) and tested on held-out upright shapes, on every shape under each of the
24 rotations of the cube, under uniformly random rotations, and on the 24 mirror images of every shape
(where the two chiral shapes swap labels: a mirrored ``chiral_shape_1`` *is* a rotated ``chiral_shape_2``):

- ``cnn``: :class:`~structconv.data.Conv3dBaseline`, plain ``Conv3d`` layers;
- ``octa``: :class:`~structconv.models.OctaTetrisNet`, invariant to the 24 rotations of the cube;
- ``so3``: :class:`~structconv.models.SO3TetrisNet`, invariant to every rotation (exactly on the grid's);
- ``o3``: :class:`~structconv.models.O3TetrisNet`, also invariant to reflections: it gives a shape and its
  mirror image the same logits, so it cannot tell the chiral pair apart.

The report gives, per model, parameters, training time, the accuracy on each test set, the accuracy on the
mirrored chiral shapes and the invariance error of the logits under the 24 grid rotations; the best
rotation-invariant model is then exported to plain PyTorch, checked to give the same logits, saved with
:func:`torch.save`, reloaded, and run in a fresh Python in which structconv cannot be imported. Everything
lands in ``--out``: the table (``results.txt``), all numbers (``results.json``), the plot
(``accuracy_by_test_set.png``, or ``.txt`` without matplotlib) and the exported model
(``equivariant_exported.pt``).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
from torch import nn

from structconv.cli._progress import ProgressBar
from structconv.cli._table import format_table
from structconv.cli._training import count_held_parameters, count_parameters, logit_change, train_model
from structconv.cli.demo import _missing_extras, _Phase, _say, check_device_and_out
from structconv.data.tetris3d import MIRROR_LABELS, TETRIS_CLASSES, Tetris3D, load_tetris3d, render_tetris

__all__ = [
    "Demo3DConfig",
    "MODEL_NAMES",
    "add_arguments",
    "main",
    "plot_accuracy_by_set",
    "recalibrate_batch_norms",
    "run_demo3d",
    "run_from_args",
    "strip_3d_flag",
]

#: the models ``--models`` accepts, in the order they are trained, and their names in the report
MODEL_NAMES: dict[str, str] = {
    "cnn": "CNN (Conv3d)",
    "octa": "octahedral CNN",
    "so3": "SO(3) CNN",
    "o3": "O(3) CNN",
}
_CHIRAL = tuple(n for n, m in enumerate(MIRROR_LABELS) if m != n)  # the labels of the two chiral shapes
_EQUIVARIANT = ("octa", "so3", "o3")
_ROTATION_INVARIANT = ("octa", "so3")  # the models that may tell mirror images apart
#: side of a cube of the shapes and the Gaussian blur of the renders, in voxels: cubes of 1.5 voxels blurred
#: by 0.9 are smooth enough on the grid for the SO(3) and O(3) models to stay nearly invariant under
#: rotations off the grid (with cubes of 2 voxels blurred by 0.6 they lost a third of their accuracy there)
_SCALE = 1.5
_SMOOTHING = 0.9
#: the smallest side that holds every shape moved as the test sets move them (``_check_fit`` of the data)
_MIN_SIZE = 14


@dataclass
class Demo3DConfig:
    """Settings of one 3D demo run (the command line options).

    Args:
        epochs: training epochs per model; default 12 (6 with ``quick``).
        batch_size: volumes per optimizer step; default 8 (more, smaller steps: in the same time, the
            equivariant models learn more than with 16).
        seed: seed of the data, the initialisations and the batch order.
        device: torch device to train and test on.
        quick: a small smoke-test run (smaller models and test sets) of well under a minute.
        out: output folder.
        lr: peak learning rate (one-cycle schedule).
        threads: PyTorch CPU threads during the run (restored afterwards); ``0`` (the default) keeps the
            current setting (PyTorch's: one per core). On a machine busy with other work, ``1`` can be
            faster (contended threads thrash in 3D convolutions).
        models: which models to train, among :data:`MODEL_NAMES` (``cnn``, ``octa``, ``so3``, ``o3``).
        size: side of the volumes, in voxels (>= 14); the equivariant models are exactly invariant to the
            grid rotations at sides ``4k + 1`` (17, 21, ...; their strided poolings then keep the centre; the
            SO(3) and O(3) models pool once and are exact at every odd side).

    Example:
        >>> cfg = Demo3DConfig(quick=True)
        >>> cfg.resolved_epochs(), cfg.data_sizes()["train"]
        (6, 128)
    """

    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    device: str = "cpu"
    quick: bool = False
    out: str = "structconv-demo3d"
    lr: float = 5e-3
    threads: int = 0
    models: tuple[str, ...] = field(default_factory=lambda: tuple(MODEL_NAMES))
    size: int = 17

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad setting."""
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name}={value!r} is not accepted; expected a positive int")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} is not accepted; expected an int >= 0")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < _MIN_SIZE:
            raise ValueError(
                f"size={self.size!r} is not accepted; expected an int >= {_MIN_SIZE} (17: the default)"
            )
        if not isinstance(self.threads, int) or isinstance(self.threads, bool) or self.threads < 0:
            raise ValueError(
                f"threads={self.threads!r} is not accepted; expected an int >= 0 (0: PyTorch's default)"
            )
        if (
            isinstance(self.lr, bool)
            or not isinstance(self.lr, (int, float))
            or not math.isfinite(self.lr)
            or not self.lr > 0
        ):
            raise ValueError(f"lr={self.lr!r} is not accepted; expected a finite float > 0")
        models = tuple(self.models) if isinstance(self.models, (list, tuple)) else None
        if not models or any(m not in MODEL_NAMES for m in models) or len(set(models)) != len(models):
            raise ValueError(
                f"models={self.models!r} is not accepted; expected distinct names among: "
                f"{', '.join(MODEL_NAMES)}"
            )
        check_device_and_out(self.device, self.out)

    def resolved_epochs(self) -> int:
        """Epochs actually used."""
        if self.epochs is not None:
            return self.epochs
        return 6 if self.quick else 12

    def resolved_batch_size(self) -> int:
        """Batch size actually used."""
        return self.batch_size if self.batch_size is not None else 8

    def data_sizes(self) -> dict[str, int]:
        """Numbers of volumes: training, upright test, random-rotation test, and the rotations of the cube
        kept in the grid and mirror test sets (every shape under each; 24: all)."""
        if self.quick:
            return {"train": 128, "upright": 32, "random": 48, "grid_rotations": 6}
        return {"train": 256, "upright": 96, "random": 192, "grid_rotations": 24}

    def build_models(self) -> dict[str, nn.Module]:
        """The models to train, ``{report name: model}``, each initialised from ``seed``.

        Example:
            >>> list(Demo3DConfig(models=("cnn", "so3"), quick=True).build_models())
            ['CNN (Conv3d)', 'SO(3) CNN']
        """
        from structconv.models.tetris3d import Conv3dBaseline, O3TetrisNet, OctaTetrisNet, SO3TetrisNet

        small = {
            "cnn": lambda: Conv3dBaseline(channels=(6, 12, 24)),
            "octa": lambda: OctaTetrisNet(fields=(1, 2, 4)),
            "so3": lambda: SO3TetrisNet(blocks=((2, 1, 1), (4, 2, 1)), last=32, hidden=64),
            "o3": lambda: O3TetrisNet(blocks=((2, 1, 1), (4, 2, 1)), last=32, hidden=64),
        }
        full = {"cnn": Conv3dBaseline, "octa": OctaTetrisNet, "so3": SO3TetrisNet, "o3": O3TetrisNet}
        makers = small if self.quick else full
        models = {}
        for key in self.models:
            torch.manual_seed(self.seed)
            models[MODEL_NAMES[key]] = makers[key]()
        return models


# ---------------------------------------------------------------------- data
@dataclass(frozen=True)
class _TestSet:
    """A named test set: volumes, labels, and for the grid set the rotation index of each volume."""

    name: str
    volumes: torch.Tensor
    labels: torch.Tensor
    rotation: torch.Tensor | None = None


def _keep_rotations(data: Tetris3D, n_rotations: int) -> torch.Tensor:
    """Indices of the volumes of ``data`` (grid or reflect) whose cube symmetry is among the first
    ``n_rotations`` of :func:`~structconv.data.grid_rotations` (spread: every ``24 // n``-th)."""
    from structconv.data.tetris3d import grid_rotations

    mats = grid_rotations()
    step = max(1, 24 // n_rotations)
    wanted = mats[::step][:n_rotations]
    sign = -1.0 if data.rotation == "reflect" else 1.0
    index = [i for i, m in enumerate(data.matrices) if any(np.array_equal(sign * m, w) for w in wanted)]
    return torch.tensor(index, dtype=torch.long)


def _rotation_index(data: Tetris3D) -> torch.Tensor:
    from structconv.data.tetris3d import grid_rotations

    mats = grid_rotations().reshape(24, 9)
    flat = data.matrices.reshape(-1, 9)
    return torch.from_numpy((flat[:, None, :] == mats[None]).all(-1).argmax(1))


def _load_data(config: Demo3DConfig) -> tuple[Tetris3D, list[_TestSet]]:
    sizes = config.data_sizes()
    look = {"size": config.size, "scale": _SCALE, "smoothing": _SMOOTHING}
    split = load_tetris3d(n_train=sizes["train"], n_test_random=sizes["random"], seed=config.seed, **look)
    upright = Tetris3D(sizes["upright"], "none", split.train.translation, seed=config.seed + 10_000, **look)
    keep_g = _keep_rotations(split.test_grid, sizes["grid_rotations"])
    keep_r = _keep_rotations(split.test_reflect, sizes["grid_rotations"])
    sets = [
        _TestSet("upright", upright.volumes, upright.labels),
        _TestSet(
            "grid",
            split.test_grid.volumes[keep_g],
            split.test_grid.labels[keep_g],
            _rotation_index(split.test_grid)[keep_g],
        ),
        _TestSet("random", split.test_random.volumes, split.test_random.labels),
        _TestSet("mirror", split.test_reflect.volumes[keep_r], split.test_reflect.labels[keep_r]),
    ]
    return split.train, sets


# ---------------------------------------------------------------------- evaluation
@torch.no_grad()
def recalibrate_batch_norms(
    model: nn.Module, volumes: torch.Tensor, device: torch.device | str = "cpu", batch_size: int = 32
) -> int:
    """Recompute every batch norm's running statistics of ``model`` on ``volumes`` with its final weights.

    A short training run leaves running averages (momentum 0.1) that still hold a trace of their start
    (variance 1) and of earlier weights, which can swamp the small activations of a first layer on sparse
    volumes; the statistics are reset and accumulated as a plain average over ``volumes`` (``momentum=None``,
    "precise BN"), then each momentum is restored. Works for ``torch.nn`` and ``structconv.nn`` batch norms.

    Returns:
        The number of batch norm layers recalibrated.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 1), torch.nn.BatchNorm3d(2))
        >>> recalibrate_batch_norms(net, torch.randn(4, 1, 2, 2, 2))
        1
    """
    norms = [
        m
        for m in model.modules()
        if hasattr(m, "reset_running_stats")
        and hasattr(m, "momentum")
        and getattr(m, "running_var", None) is not None
    ]
    if not norms:
        return 0
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        for i in range(0, len(volumes), batch_size):
            model(volumes[i : i + batch_size].to(device))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
    return len(norms)


@torch.no_grad()
def _logits(
    model: Callable[[torch.Tensor], torch.Tensor],
    volumes: torch.Tensor,
    device: torch.device,
    bar: ProgressBar,
    batch_size: int = 32,
) -> torch.Tensor:
    if isinstance(model, nn.Module):
        model.eval()
    out = []
    for i in range(0, len(volumes), batch_size):
        out.append(model(volumes[i : i + batch_size].to(device)).cpu())
        bar.update(len(out[-1]))
    return torch.cat(out)


def _evaluate(
    model: Callable[[torch.Tensor], torch.Tensor],
    sets: Sequence[_TestSet],
    device: torch.device,
    name: str,
    stream: TextIO,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Accuracies on every test set, the mirrored chiral shapes' accuracy, the grid invariance error."""
    size = sets[0].volumes.shape[-1]
    # what the grid and mirror sets move (exact voxel permutations of these)
    upright_centred = render_tetris(
        list(range(len(TETRIS_CLASSES))), size=size, scale=_SCALE, smoothing=_SMOOTHING
    )
    total = sum(len(s.labels) for s in sets) + len(upright_centred)
    logits: dict[str, torch.Tensor] = {}
    with ProgressBar(total, desc=f"{name} test", stream=stream) as bar:
        for s in sets:
            logits[s.name] = _logits(model, s.volumes, device, bar)
            acc = float((logits[s.name].argmax(1) == s.labels).float().mean())
            bar.set_postfix(**{s.name: round(acc, 3)})
        reference = _logits(model, upright_centred, device, bar)
    res: dict[str, Any] = {}
    for s in sets:
        res[f"{s.name}_accuracy"] = float((logits[s.name].argmax(1) == s.labels).float().mean())
    mirror = next(s for s in sets if s.name == "mirror")
    chiral = torch.isin(mirror.labels, torch.tensor(_CHIRAL))
    res["mirror_chiral_accuracy"] = float(
        (logits["mirror"][chiral].argmax(1) == mirror.labels[chiral]).float().mean()
    )
    grid = next(s for s in sets if s.name == "grid")
    per_rotation = {
        int(r): float(
            (logits["grid"][grid.rotation == r].argmax(1) == grid.labels[grid.rotation == r]).float().mean()
        )
        for r in torch.unique(grid.rotation)
    }
    res["grid_accuracy_by_rotation"] = per_rotation
    res["grid_accuracy_worst"] = min(per_rotation.values())
    # the grid volumes are exact voxel permutations of the centred upright shapes: compare their logits
    inv = logit_change(reference[grid.labels], [logits["grid"]])
    res["invariance_error_grid"] = inv["relative"]
    res["invariance_error_grid_abs"] = inv["max_abs"]
    # the mirror volumes are exact voxel permutations of the centred upright shapes they mirror: how far
    # the logits move under a reflection (O(3): rounding; a model that can tell mirror images apart: more)
    source = torch.tensor(MIRROR_LABELS)[mirror.labels]
    inv = logit_change(reference[source], [logits["mirror"]])
    res["mirror_logit_change"] = inv["relative"]
    logits["reference"] = reference
    return res, logits


# ---------------------------------------------------------------------- plot
def _bar_text(results: dict[str, dict[str, float]], sets: Sequence[str], width: int = 40) -> str:
    """A plain-text bar chart: one block per test set, one bar per model."""
    lines = []
    label = max(len(m) for m in results)
    for s in sets:
        lines.append(f"{s}:")
        for model, accs in results.items():
            n = int(round(accs[s] * width))
            lines.append(f"  {model.ljust(label)} |{'#' * n}{'.' * (width - n)}| {accs[s]:.3f}")
    return "\n".join(lines)


def plot_accuracy_by_set(
    results: dict[str, dict[str, float]], sets: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Accuracy per test set (groups) per model (bars): a PNG with matplotlib, else a text chart (``.txt``).

    Returns:
        The path actually written.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> plot_accuracy_by_set({"cnn": {"a": 0.9, "b": 0.2}}, ["a", "b"], d / "acc.png").exists()
        True
    """
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        out = path.with_suffix(".txt")
        out.write_text(_bar_text(results, sets) + "\n")
        return out
    fig, ax = plt.subplots(figsize=(7.2, 3.9), dpi=100)
    width = 0.8 / max(1, len(results))
    x = np.arange(len(sets))
    for i, (model, accs) in enumerate(results.items()):
        ax.bar(x + (i - (len(results) - 1) / 2) * width, [100 * accs[s] for s in sets], width, label=model)
    ax.set_xticks(x, list(sets))
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.axhline(100 / len(TETRIS_CLASSES), color="grey", linewidth=0.8, linestyle=":")
    ax.grid(True, axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(4, len(results)), fontsize=8, frameon=False
    )
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


# ---------------------------------------------------------------------- export
_RUN_WITHOUT_STRUCTCONV = """
import sys, importlib.abc
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "structconv" or name.startswith("structconv."):
            raise ImportError("structconv is blocked in this check")
sys.meta_path.insert(0, _Block())
import torch
model = torch.load(sys.argv[1], weights_only=False)
x, expected = torch.load(sys.argv[2])
with torch.no_grad():
    got = model.eval()(x)
print(float((got - expected).abs().max()))
"""


def _check_without_structconv(path: Path, volumes: torch.Tensor, logits: torch.Tensor) -> dict[str, Any]:
    """Load the saved model in a fresh Python that cannot import structconv and compare its logits."""
    probe = path.with_name("export_check_input.pt")
    torch.save((volumes, logits), probe)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUN_WITHOUT_STRUCTCONV, str(path), str(probe)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        probe.unlink(missing_ok=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"ok": False, "error": lines[-1] if lines else f"exit status {done.returncode}"}
    return {"ok": True, "max_logit_difference": float(done.stdout.strip().splitlines()[-1])}


def _export_and_check(
    model: nn.Module,
    name: str,
    logits: dict[str, torch.Tensor],
    sets: Sequence[_TestSet],
    device: torch.device,
    out: Path,
    stream: TextIO,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Export ``model``, compare its logits on every test set, save, reload, run without structconv.

    Returns ``(export results, the exported model's table row or None when the export failed)``.
    """
    from structconv.nn._export import foreign_parts

    try:
        with _Phase(stream, f"exporting {name} to plain PyTorch"):
            exported = model.export().to(device).eval()
            with torch.no_grad():
                exported(sets[0].volumes[:1].to(device))  # the export of a layer may not take volumes yet
    except Exception as err:  # an export this build cannot do yet is reported, not fatal
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        text = f"{type(err).__name__}: {first}"
        _say(stream, f"  export of {name} failed: {text}")
        return {"model": name, "ok": False, "error": text}, None
    foreign = foreign_parts(exported)
    ex_res, ex_logits = _evaluate(exported, sets, device, f"{name} (exported)", stream)
    diff = max(float((ex_logits[k] - logits[k]).abs().max()) for k in logits)
    scale = max(float(logits[k].abs().max()) for k in logits)
    identical = all(torch.equal(ex_logits[k].argmax(1), logits[k].argmax(1)) for k in logits)
    path = out / "equivariant_exported.pt"
    with _Phase(stream, f"saving the exported model to {path}"):
        torch.save(exported, path)
    check_x = sets[0].volumes[:8]
    with torch.no_grad():
        check_y = exported(check_x.to(device)).cpu()
    with _Phase(stream, "reloading it and comparing its logits"):
        reloaded = torch.load(path, weights_only=False).to(device).eval()
        with torch.no_grad():
            reload_same = bool(torch.equal(reloaded(check_x.to(device)).cpu(), check_y))
    with _Phase(stream, "running it in a fresh Python without structconv"):
        alone = _check_without_structconv(path, check_x, check_y)
    res = {
        "model": name,
        "ok": True,
        "module": type(exported).__name__,
        "parameters": count_held_parameters(exported),
        "max_logit_difference": diff,
        "max_logit_difference_relative": diff / scale if scale > 0 else diff,
        "predictions_identical": identical,
        "saved_to": path.name,
        "reloaded_identical": reload_same,
        "loads_without_structconv": not foreign,
        "foreign": foreign,
        "runs_without_structconv": alone,
    } | {k: v for k, v in ex_res.items() if k != "grid_accuracy_by_rotation"}
    alone_text = (
        f"yes (logits within {alone['max_logit_difference']:.1e})" if alone["ok"] else f"NO: {alone['error']}"
    )
    _say(
        stream,
        f"  exported {name} -> {type(exported).__name__}: predictions identical on every test set: "
        f"{'yes' if identical else 'NO'} (largest logit difference {diff:.2e}); saved to {path}, reloaded: "
        f"{'identical' if reload_same else 'DIFFERENT'}; torch classes only: "
        f"{'yes' if not foreign else 'NO: ' + '; '.join(foreign)}; runs in a Python without structconv: "
        f"{alone_text}",
    )
    row = {"model": f"{name} (exported)", "parameters": res["parameters"], "train_time_s": None} | ex_res
    return res, row


# ---------------------------------------------------------------------- the run
_COLUMNS = [
    ("model", "model"),
    ("parameters", "params"),
    ("train_time_s", "train s"),
    ("upright_accuracy", "upright"),
    ("grid_accuracy", "24 rotations"),
    ("grid_accuracy_worst", "worst rotation"),
    ("random_accuracy", "random rot."),
    ("mirror_accuracy", "mirror"),
    ("mirror_chiral_accuracy", "mirror chiral"),
    ("invariance_error_grid", "grid inv. err"),
    ("mirror_logit_change", "mirror change"),
]

_MIRROR_NOTE = (
    "mirror images: a mirrored chiral_shape_1 is a rotated chiral_shape_2 (and the other six shapes are "
    "their own mirror images up to a rotation), so the mirror test set is labelled by geometry. The SO(3)"
    " and octahedral CNNs are invariant to rotations only: they see a mirror image as a rotated shape "
    "they know and can get it right, chiral shapes included. The O(3) CNN is also invariant to "
    "reflections, so it gives a shape and its mirror image the same logits: the two chiral shapes always "
    "get the same prediction and at most half of them can be right ('mirror chiral' <= 0.5). The plain "
    "CNN is not rotation invariant, so mirror images fare like rotated shapes."
)


def run_demo3d(config: Demo3DConfig, stream: TextIO | None = None) -> dict[str, Any]:
    """Train, test, export and report; return every number (also written to ``out/results.json``).

    Example:
        >>> results = run_demo3d(Demo3DConfig(quick=True, out="/tmp/sc-demo3d"))  # doctest: +SKIP
    """
    stream = sys.stdout if stream is None else stream
    config.validate()
    previous_threads = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    try:
        return _run(config, stream)
    finally:
        torch.set_num_threads(previous_threads)


def _run(config: Demo3DConfig, stream: TextIO) -> dict[str, Any]:
    started = time.perf_counter()
    device = torch.device(config.device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs, batch_size = config.resolved_epochs(), config.resolved_batch_size()
    with _Phase(stream, "rendering the 3D Tetris volumes"):
        train, sets = _load_data(config)
    size = train.volumes.shape[-1]
    _say(
        stream,
        f"structconv demo --3d: {len(train)} upright training volumes ({size}^3, shifted by up to "
        f"{train.translation} voxel); tests: {', '.join(f'{s.name} {len(s.labels)}' for s in sets)}; "
        f"{epochs} epochs, batch {batch_size}, device {device}",
    )
    with _Phase(stream, "building the models"):
        models = config.build_models()
    for name, model in models.items():
        _say(stream, f"  {name}: {count_parameters(model):,} parameters")
    results: dict[str, Any] = {
        "config": asdict(config) | {"epochs": epochs, "batch_size": batch_size},
        "data": {"train": len(train), "size": size} | {s.name: len(s.labels) for s in sets},
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "models": {},
    }
    rows: list[dict[str, Any]] = []
    all_logits: dict[str, dict[str, torch.Tensor]] = {}
    for i, (name, model) in enumerate(models.items()):
        stats = train_model(
            model,
            train.volumes,
            train.labels,
            epochs,
            batch_size,
            seed=config.seed + i,
            lr=config.lr,
            device=device,
            desc=name,
            stream=stream,
        )
        with _Phase(stream, f"{name}: batch-norm statistics on the training set"):
            recalibrate_batch_norms(model, train.volumes, device)
        t0 = time.perf_counter()
        res, all_logits[name] = _evaluate(model, sets, device, name, stream)
        res |= {"parameters": count_held_parameters(model), "eval_time_s": time.perf_counter() - t0} | stats
        results["models"][name] = res
        rows.append({"model": name} | res)

    keys = {MODEL_NAMES[k]: k for k in config.models}
    candidates = [n for n in models if keys[n] in _ROTATION_INVARIANT] or [
        n for n in models if keys[n] in _EQUIVARIANT
    ]
    if candidates:
        best = max(
            candidates,
            key=lambda n: results["models"][n]["grid_accuracy"] + results["models"][n]["random_accuracy"],
        )
        export, row = _export_and_check(models[best], best, all_logits[best], sets, device, out, stream)
        all_logits[best].pop("reference", None)
        results["export"] = export
        if row is not None:
            rows.insert(list(models).index(best) + 1, row)

    n_rot = config.data_sizes()["grid_rotations"]
    label = f"{n_rot} rotations"
    table = format_table(rows, [(k, label if k == "grid_accuracy" else h) for k, h in _COLUMNS])
    set_names = [s.name for s in sets] + ["mirror chiral"]
    chart = {
        n: {s.name: r[f"{s.name}_accuracy"] for s in sets} | {"mirror chiral": r["mirror_chiral_accuracy"]}
        for n, r in results["models"].items()
    }
    plot_path = plot_accuracy_by_set(
        chart,
        set_names,
        out / "accuracy_by_test_set.png",
        title=f"3D Tetris, trained on one orientation only ({epochs} epochs)",
    )
    results["plot"] = plot_path.name
    results["total_time_s"] = time.perf_counter() - started
    (out / "results.txt").write_text(table + "\n")
    with open(out / "results.json", "w") as fh:
        json.dump(results, fh, indent=2)
    _say(stream)
    _say(stream, table)
    _say(stream)
    _say(
        stream,
        "accuracies are fractions of each test set: 'upright' held-out shapes in the training orientation, "
        f"'{label}' every shape under each of {'the' if n_rot == 24 else 'a subset of'} {n_rot} rotations "
        "of the cube ('worst rotation': the worst of them), 'random rot.' uniformly random rotations, "
        "'mirror' the mirror images (under as many improper symmetries of the cube), 'mirror chiral' the "
        "mirror images of the two chiral shapes; 'grid inv. err' is the largest change of a logit under "
        "those grid rotations, relative to the largest logit, and 'mirror change' that under those "
        "reflections (for a model invariant to the rotations, what moves the logits is the reflection: "
        "rounding for O(3), more for a model that can tell mirror images apart; for the plain CNN it mixes "
        "both); 'params' counts the scalars each model holds (an equivariant model learns basis "
        "coefficients, its export holds the expanded filters)",
    )
    _say(stream, _MIRROR_NOTE)
    _say(
        stream,
        f"wrote {out / 'results.txt'}, {out / 'results.json'}, {plot_path} "
        f"(total {results['total_time_s']:.0f} s, torch threads: {torch.get_num_threads()})",
    )
    return results


# ---------------------------------------------------------------------- command line
def _parse_models(text: str) -> tuple[str, ...]:
    return tuple(m.strip().lower() for m in text.split(",") if m.strip())


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the 3D demo's options to ``parser`` and return it.

    Example:
        >>> p = add_arguments(argparse.ArgumentParser())
        >>> p.parse_args(["--quick", "--models", "cnn,so3"]).models
        'cnn,so3'
    """
    parser.add_argument(
        "--epochs", type=int, default=None, help="training epochs per model (default 12; 6 with --quick)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="volumes per optimizer step (default 8)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of data, initialisation and batches (default 0)"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="PyTorch CPU threads (default 0: PyTorch's default, one per core; 1 can be faster on a machine "
        "busy with other work)",
    )
    parser.add_argument(
        "--lr", type=float, default=5e-3, help="peak learning rate, one-cycle (default 0.005)"
    )
    parser.add_argument(
        "--size",
        type=int,
        default=17,
        help="side of the volumes, >= 14 (default 17; the invariant models are exact on the grid rotations "
        "at sides 4k + 1, the SO(3) and O(3) ones at every odd side)",
    )
    parser.add_argument(
        "--models",
        default=",".join(MODEL_NAMES),
        help=f"comma-separated models to train (default all: {','.join(MODEL_NAMES)})",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke-test run of well under a minute")
    parser.add_argument(
        "--out", default="structconv-demo3d", help="output folder (default ./structconv-demo3d/)"
    )
    return parser


def run_from_args(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run the 3D demo from parsed arguments; return an exit status (2 for bad options)."""
    config = Demo3DConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        quick=args.quick,
        out=args.out,
        lr=args.lr,
        threads=args.threads,
        models=_parse_models(args.models),
        size=args.size,
    )
    try:
        config.validate()
    except ValueError as err:
        print(f"structconv demo --3d: error: {err}", file=sys.stderr)
        return 2
    if "matplotlib" in _missing_extras():
        print("note: matplotlib is not installed, the plot is written as text", file=sys.stderr)
    run_demo3d(config, stream=stream)
    return 0


def strip_3d_flag(argv: Sequence[str] | None) -> list[str] | None:
    """The arguments without ``--3d`` when they hold it (the 3D demo is asked for), else ``None``.

    Example:
        >>> strip_3d_flag(["--quick", "--3d"]), strip_3d_flag(["--quick"])
        (['--quick'], None)
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if "--3d" not in args:
        return None
    return [a for a in args if a != "--3d"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``structconv demo --3d``; return the exit status."""
    parser = add_arguments(
        argparse.ArgumentParser(
            prog="structconv demo --3d", description=__doc__.splitlines()[0].replace("``", "")
        )
    )
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
