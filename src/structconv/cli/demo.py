"""``structconv demo``: what does equivariance buy? Rotated handwritten digits, on a laptop CPU.

A conventional CNN and a rotation-equivariant CNN (``R2Conv`` on regular fields of ``C_N`` or ``D_N``)
with comparable parameter counts are trained on upright digits only (scikit-learn's 8x8 scans,
upsampled; nothing is downloaded) and tested on the upright test set and on the same set rotated by
every 15 degrees plus random angles. The report gives, per model, parameters, training time, upright
accuracy, rotated accuracy (mean and worst angle) and the invariance error of the logits under 90
degree turns; the equivariant model is then exported to plain PyTorch, checked to give the same
predictions, saved with :func:`torch.save` and reloaded. Everything lands in ``--out``: the table
(``results.txt``), all numbers (``results.json``), the plot (``accuracy_vs_rotation.png``) and the
exported model (``equivariant_exported.pt``).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
from torch import nn

from structconv.cli._plot import plot_accuracy
from structconv.cli._progress import ProgressBar
from structconv.cli._table import format_table
from structconv.cli._training import (
    accuracy_by_angle,
    count_held_parameters,
    count_parameters,
    invariance_error,
    logit_change,
    predict,
    train_model,
)
from structconv.data.digits import DEMO_INSTALL_HINT, DigitsSplit, load_rotated_digits
from structconv.models.equivariant import default_fields, parse_group
from structconv.utils.distributed import DistributedEnv, cleanup_distributed, init_distributed

__all__ = ["DemoConfig", "run_demo", "add_arguments", "check_device_and_out", "main"]

_CNN_CHANNELS = (16, 32, 64)
#: canvas sizes tried in order when ``--size`` is not given (the preferred one first)
_SIZE_CANDIDATES = (21, 23, 19, 25, 17, 27, 29)


@dataclass
class DemoConfig:
    """Settings of one demo run (the command line options).

    Args:
        epochs: training epochs per model; default 6 (4 with ``quick``).
        batch_size: images per optimizer step; default 64 (32 with ``quick``).
        group: symmetry group of the equivariant model, ``"C<N>"`` or ``"D<N>"``.
        seed: seed of the split, the initialisations, the batch order and the random test angles.
        device: torch device to train and test on.
        quick: a small smoke-test run (fewer images, angles and channels) of well under a minute.
        out: output folder.
        size: odd side of the image canvas; default: 21, or the nearest odd size at which the
            equivariant model keeps exact invariance to 90 degree turns (see :func:`choose_size`).
        lr: peak learning rate (one-cycle schedule).
        threads: PyTorch CPU threads during the run (restored afterwards); ``0`` keeps the current
            setting. The default, 1, is fastest for these small models on a busy or small machine.

    Example:
        >>> cfg = DemoConfig(quick=True)
        >>> cfg.resolved_epochs(), cfg.angles()[:3]
        (4, [0.0, 45.0, 90.0])
    """

    epochs: int | None = None
    batch_size: int | None = None
    group: str = "C8"
    seed: int = 0
    device: str = "cpu"
    quick: bool = False
    out: str = "structconv-demo"
    size: int | None = None
    lr: float = 3e-2
    threads: int = 1

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad setting."""
        if self.epochs is not None and (not isinstance(self.epochs, int) or self.epochs < 1):
            raise ValueError(f"epochs={self.epochs!r} is not accepted; expected a positive int")
        if self.batch_size is not None and (not isinstance(self.batch_size, int) or self.batch_size < 1):
            raise ValueError(f"batch_size={self.batch_size!r} is not accepted; expected a positive int")
        if self.size is not None and (not isinstance(self.size, int) or self.size < 9 or self.size % 2 == 0):
            raise ValueError(f"size={self.size!r} is not accepted; expected an odd int >= 9")
        if not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(
                f"threads={self.threads!r} is not accepted; expected an int >= 0 (0: PyTorch's default)"
            )
        if not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is not accepted; expected a positive float")
        parse_group(self.group)
        check_device_and_out(self.device, self.out)

    def resolved_epochs(self) -> int:
        """Epochs actually used."""
        if self.epochs is not None:
            return self.epochs
        return 4 if self.quick else 6

    def resolved_batch_size(self) -> int:
        """Batch size actually used."""
        if self.batch_size is not None:
            return self.batch_size
        return 32 if self.quick else 64

    def resolved_size(self) -> int:
        """The requested image size, or the preferred default 21.

        With ``size=None`` the run may use another odd size near 21: the first of :data:`_SIZE_CANDIDATES`
        at which every strided layer of the equivariant model samples a rotation-symmetric grid (else its
        logits could not be exactly invariant to 90 degree turns); see :func:`choose_size`.
        """
        return self.size if self.size is not None else _SIZE_CANDIDATES[0]

    def max_images(self) -> tuple[int | None, int | None]:
        """Caps on the numbers of training and test images (``None``: all)."""
        return (500, 200) if self.quick else (None, None)

    def angles(self) -> list[float]:
        """Test angles in degrees: a regular sweep (every 15 degrees, 45 with ``quick``) plus random ones."""
        step, n_random = (45, 1) if self.quick else (15, 8)
        rng = np.random.default_rng(self.seed)
        extra = rng.uniform(0.0, 360.0, size=n_random).round(2)
        return sorted({float(a) for a in range(0, 360, step)} | {float(a) for a in extra})

    def cnn_channels(self) -> tuple[int, ...]:
        """Channels of the conventional CNN."""
        return tuple(c // 2 for c in _CNN_CHANNELS) if self.quick else _CNN_CHANNELS

    def equivariant_fields(self) -> tuple[int, ...]:
        """Regular fields of the equivariant CNN."""
        fields = default_fields(self.group)
        return tuple(max(1, f // 2) for f in fields) if self.quick else fields


def _grid_problems(models: dict[str, nn.Module], size: int) -> list[str]:
    """The strided layers of the equivariant models that a ``size`` x ``size`` image makes asymmetric."""
    from structconv.nn import EquivariantModule
    from structconv.testing import sampling_grid_problems

    problems = []
    for name, model in models.items():
        if not any(isinstance(m, EquivariantModule) for m in model.modules()):
            continue  # a conventional model has no symmetry to keep
        channels = next((m.in_type.size for m in model.modules() if isinstance(m, EquivariantModule)), 1)
        try:
            problems += [f"{name}: {p}" for p in sampling_grid_problems(model, (1, channels, size, size))]
        except ValueError as err:
            problems.append(f"{name}: {err}")
    return problems


def choose_size(models: dict[str, nn.Module], size: int | None) -> tuple[int, str]:
    """The canvas size of the run, and a note when it breaks the equivariant models' symmetry.

    A rotation-equivariant model is exactly invariant to 90 degree turns only if each of its strided
    layers samples a grid that the turn maps onto itself, which depends on the image size (see
    :func:`structconv.testing.sampling_grid_problems`). With ``size=None`` the first size of
    ``(21, 23, 19, 25, 17, 27, 29)`` that fits every equivariant model is taken; a given ``size`` is kept,
    with a note naming the layer it breaks and the sizes that would fit.

    Example:
        >>> from structconv.models import EquivariantCNN
        >>> models = {"eq": EquivariantCNN("C4", fields=(1, 1, 1))}
        >>> size, note = choose_size(models, None)
        >>> size in (21, 23, 19), _grid_problems(models, size)
        (True, [])
    """
    if size is not None:
        problems = _grid_problems(models, size)
        if not problems:
            return size, ""
        fits = [n for n in _SIZE_CANDIDATES if not _grid_problems(models, n)]
        nearest = sorted(fits, key=lambda n: abs(n - size))[:2]
        hint = f"; --size {' or '.join(map(str, nearest))} fits" if fits else ""
        return size, (
            f"at {size}x{size} the sampling grid is not rotation-symmetric at {problems[0]}, so the logits "
            f"are not exactly invariant to 90 degree turns{hint}"
        )
    for n in _SIZE_CANDIDATES:
        if not _grid_problems(models, n):
            note = (
                ""
                if n == _SIZE_CANDIDATES[0]
                else (
                    f"canvas {n}x{n} (not {_SIZE_CANDIDATES[0]}): the first size at which every strided "
                    "layer of the equivariant model samples a rotation-symmetric grid"
                )
            )
            return n, note
    problems = _grid_problems(models, _SIZE_CANDIDATES[0])
    return _SIZE_CANDIDATES[0], (
        f"no canvas size of {_SIZE_CANDIDATES} gives every strided layer a rotation-symmetric grid "
        f"({problems[0]}): the logits are not exactly invariant to 90 degree turns"
    )


def check_device_and_out(device: str, out: str | Path) -> None:
    """Validate a demo's ``device`` (a torch device that is available here) and ``out`` (not a file).

    Example:
        >>> check_device_and_out("cpu", "structconv-demo")
    """
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not accepted; expected a torch device, e.g. 'cpu'") from err
    _check_device_available(parsed, device)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"out={out!r} is not accepted; it is a file, expected a folder")
    for parent in folder.absolute().parents:  # the folder is made with its parents: none may be a file
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"out={out!r} is not accepted; {str(parent)!r} is a file, expected a folder")
            break


def _check_device_available(device: torch.device, given: str) -> None:
    """Raise ``ValueError`` (one line) when this torch build or machine cannot use ``device``."""
    if device.type == "cpu":
        return
    if device.type == "cuda" and not torch.cuda.is_available():
        why = (
            "this torch build has no CUDA support (a CPU-only build)"
            if torch.version.cuda is None
            else "no CUDA device is visible"
        )
        raise ValueError(f"device={given!r} is not available: {why}; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={given!r} is not available on this machine; use --device cpu")
    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError, ValueError) as err:
        text = str(err).strip()
        first = text.splitlines()[0].split(". ")[0].rstrip(".") if text else type(err).__name__
        raise ValueError(f"device={given!r} is not available: {first}; use --device cpu") from err


def _default_models(config: DemoConfig) -> dict[str, nn.Module]:
    from structconv.models import ConventionalCNN, EquivariantCNN

    torch.manual_seed(config.seed)
    cnn = ConventionalCNN(config.cnn_channels())
    torch.manual_seed(config.seed)
    eq = EquivariantCNN(config.group, fields=config.equivariant_fields())
    return {"CNN": cnn, f"{parse_group(config.group)[0]}{parse_group(config.group)[1]}-equivariant CNN": eq}


def _say(stream: TextIO, text: str = "") -> None:
    stream.write(text + "\n")
    stream.flush()


def _batch_text(batch_size: int, env: DistributedEnv) -> str:
    """``'batch 64'``, or under ``torchrun`` the world size and the per-rank share of the batch.

    Example:
        >>> _batch_text(64, DistributedEnv()), _batch_text(64, DistributedEnv(0, 2))
        ('batch 64', 'batch 64 split over 2 processes (world size 2): 32 images per rank')
    """
    if env.world_size <= 1:
        return f"batch {batch_size}"
    shares = sorted({len(t) for t in torch.tensor_split(torch.arange(batch_size), env.world_size)})
    per_rank = str(shares[0]) if len(shares) == 1 else f"{shares[0]}-{shares[-1]}"
    return (
        f"batch {batch_size} split over {env.world_size} processes (world size {env.world_size}): "
        f"{per_rank} images per rank"
    )


class _Phase:
    """Announce a step (``'  saving ... done in 0.4 s'``): the text first, its duration when it ends."""

    def __init__(self, stream: TextIO, text: str) -> None:
        self.stream, self.text = stream, text

    def __enter__(self) -> _Phase:
        self.start = time.perf_counter()
        self.stream.write(f"  {self.text} ...")
        self.stream.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        outcome = "done" if exc[0] is None else "failed"
        self.stream.write(f" {outcome} in {time.perf_counter() - self.start:.1f} s\n")
        self.stream.flush()


def _evaluate(
    model: Callable[[torch.Tensor], torch.Tensor],
    data: DigitsSplit,
    angles: Sequence[float],
    device: torch.device,
    name: str = "",
    stream: TextIO | None = None,
) -> tuple[dict[str, Any], torch.Tensor]:
    desc = f"{name} test at {len(angles)} angles".strip()
    with ProgressBar(len(angles), desc=desc, stream=stream if stream is not None else io.StringIO()) as bar:
        accs, logits = accuracy_by_angle(
            model,
            data.test_images,
            data.test_labels,
            angles,
            device=device,
            render=data.test_images_at,
            progress=lambda angle, acc: bar.update(angle=angle, acc=acc),
        )
    rotated = [(a, acc) for a, acc in zip(angles, accs) if a != 0.0]
    worst_angle, worst = min(rotated, key=lambda p: p[1]) if rotated else (0.0, accs[0])
    # angles 90/180/270 are exact rot90 turns of the test set (DigitsSplit.test_images_at): reuse their logits
    index = {float(a): i for i, a in enumerate(angles)}
    if all(a in index for a in (0.0, 90.0, 180.0, 270.0)):
        inv = logit_change(logits[index[0.0]], [logits[index[a]] for a in (90.0, 180.0, 270.0)])
    else:
        inv = invariance_error(model, data.test_images, device=device)
    result = {
        "upright_accuracy": accs[list(angles).index(0.0)] if 0.0 in angles else float("nan"),
        "rotated_accuracy_mean": float(np.mean([acc for _, acc in rotated])) if rotated else float("nan"),
        "rotated_accuracy_worst": worst,
        "worst_angle": worst_angle,
        "invariance_error_rot90": inv["relative"],
        "invariance_error_rot90_abs": inv["max_abs"],
        "angles": list(angles),
        "accuracy_by_angle": accs,
    }
    return result, logits


def run_demo(
    config: DemoConfig,
    stream: TextIO | None = None,
    model_factory: Callable[[DemoConfig], dict[str, nn.Module]] | None = None,
) -> dict[str, Any]:
    """Train, test, export and report; return every number (also written to ``out/results.json``).

    Args:
        config: the run's settings.
        stream: where progress and the report go (default stdout).
        model_factory: builds ``{name: model}``; default: the conventional CNN and the equivariant CNN.
            A model with an ``export()`` method is exported, checked and saved after training.

    Returns:
        The results dictionary written to ``results.json`` (an empty dictionary on the other ranks when
        launched by ``torchrun``: they share the training, rank 0 tests, exports and reports).

    Example:
        >>> results = run_demo(DemoConfig(quick=True, out="/tmp/sc-demo"))  # doctest: +SKIP
    """
    import torch.distributed as dist

    stream = sys.stdout if stream is None else stream
    config.validate()
    previous_threads = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    joined = not (dist.is_available() and dist.is_initialized())
    env = init_distributed()
    joined = joined and env.enabled
    try:
        return _run_demo(config, stream if env.is_main else io.StringIO(), model_factory, env)
    finally:
        torch.set_num_threads(previous_threads)
        if joined:
            cleanup_distributed()


def _run_demo(
    config: DemoConfig,
    stream: TextIO,
    model_factory: Callable[[DemoConfig], dict[str, nn.Module]] | None,
    env: DistributedEnv,
) -> dict[str, Any]:
    started = time.perf_counter()
    device = torch.device(config.device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = config.resolved_epochs()
    angles = config.angles()

    batch_size = config.resolved_batch_size()
    max_train, max_test = config.max_images()
    models = (model_factory or _default_models)(config)
    size, size_note = choose_size(models, config.size)
    data = load_rotated_digits(size=size, seed=config.seed, max_train=max_train, max_test=max_test)
    _say(
        stream,
        f"structconv demo: {len(data.train_labels)} upright training digits, {len(data.test_labels)} "
        f"test digits ({data.size}x{data.size}), tested at {len(angles)} angles; "
        f"{epochs} epochs, {_batch_text(batch_size, env)}, device {device}",
    )
    if size_note:
        _say(stream, f"  note: {size_note}")
    for name, model in models.items():
        _say(stream, f"  {name}: {count_parameters(model):,} parameters")

    results: dict[str, Any] = {
        "config": asdict(config) | {"epochs": epochs, "batch_size": batch_size, "size": data.size},
        "data": {"train": len(data.train_labels), "test": len(data.test_labels), "size": data.size},
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "models": {},
    }
    if env.enabled:
        results["environment"]["world_size"] = env.world_size
    rows: list[dict[str, Any]] = []
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for i, (name, model) in enumerate(models.items()):
        stats = train_model(
            model,
            data.train_images,
            data.train_labels,
            epochs,
            batch_size,
            seed=config.seed + i,
            lr=config.lr,
            device=device,
            desc=name,
            stream=stream,
            env=env,
        )
        if not env.is_main:  # under torchrun, rank 0 alone tests, exports and reports
            continue
        t0 = time.perf_counter()
        res, logits = _evaluate(model, data, angles, device, name, stream)
        res |= {"parameters": count_held_parameters(model), "eval_time_s": time.perf_counter() - t0} | stats
        results["models"][name] = res
        rows.append({"model": name} | res)
        curves[name] = (angles, res["accuracy_by_angle"])
        if hasattr(model, "export"):
            rows.append(_export_and_check(model, name, logits, data, angles, device, out, res, stream))

    if not env.is_main:
        return {}
    table = format_table(
        rows,
        [
            ("model", "model"),
            ("parameters", "params"),
            ("train_time_s", "train s"),
            ("upright_accuracy", "upright acc"),
            ("rotated_accuracy_mean", "rotated mean"),
            ("rotated_accuracy_worst", "rotated worst"),
            ("worst_angle", "worst angle", "{:.2f}"),
            ("invariance_error_rot90", "rot90 inv. err"),
        ],
    )
    plot_path = plot_accuracy(
        curves, out / "accuracy_vs_rotation.png", title=f"trained on upright digits only ({epochs} epochs)"
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
        "accuracies are fractions of the test set; 'worst angle' is in degrees; 'rot90 inv. err' is the "
        "largest change of a logit under 90/180/270 degree turns, relative to the largest logit; 'params' "
        "counts the scalars each model holds (an equivariant model learns basis coefficients, its export "
        "holds the expanded filters)",
    )
    _say(
        stream,
        f"wrote {out / 'results.txt'}, {out / 'results.json'}, {plot_path} "
        f"(total {results['total_time_s']:.0f} s, torch threads: {torch.get_num_threads()})",
    )
    return results


def _export_and_check(
    model: nn.Module,
    name: str,
    logits: torch.Tensor,
    data: DigitsSplit,
    angles: Sequence[float],
    device: torch.device,
    out: Path,
    res: dict[str, Any],
    stream: TextIO,
) -> dict[str, Any]:
    """Export ``model``, compare its predictions, save it, reload it; return the exported model's row.

    The saved model holds torch classes only (``torch.nn`` layers and ``torch.fx`` graphs), so
    ``torch.load(path, weights_only=False)`` works in a Python without structconv; the check is recorded as
    ``export.loads_without_structconv`` (and the offending classes, if any, as ``export.foreign``).
    """
    from structconv.nn._export import foreign_parts

    with _Phase(stream, f"exporting {name} to plain PyTorch"):
        exported = model.export().to(device).eval()
    foreign = foreign_parts(exported)
    ex_res, ex_logits = _evaluate(exported, data, angles, device, f"{name} (exported)", stream)
    up = data.test_images
    logit_diff = float((ex_logits - logits).abs().max())
    path = out / "equivariant_exported.pt"
    with _Phase(stream, f"saving the exported model to {path}"):
        torch.save(exported, path)
    with _Phase(stream, "reloading it and comparing its predictions"):
        reloaded = torch.load(path, weights_only=False)
        reload_same = bool(
            torch.equal(predict(reloaded, up, device=device), predict(exported, up, device=device))
        )
    identical = bool(torch.equal(ex_logits.argmax(-1), logits.argmax(-1)))
    res["export"] = {
        "upright_accuracy": ex_res["upright_accuracy"],
        "rotated_accuracy_mean": ex_res["rotated_accuracy_mean"],
        "rotated_accuracy_worst": ex_res["rotated_accuracy_worst"],
        "invariance_error_rot90": ex_res["invariance_error_rot90"],
        "predictions_identical": identical,
        "max_logit_difference": logit_diff,
        "saved_to": path.name,
        "reloaded_identical": reload_same,
        "module": type(exported).__name__,
        "loads_without_structconv": not foreign,
        "foreign": foreign,
    }
    _say(
        stream,
        f"  exported {name} -> {type(exported).__name__}: predictions identical at every angle: "
        f"{'yes' if identical else 'NO'} (largest logit difference {logit_diff:.2e}); saved to {path}, "
        f"reloaded: {'identical' if reload_same else 'DIFFERENT'}; torch classes only (loads without "
        f"structconv): {'yes' if not foreign else 'NO: ' + '; '.join(foreign)}",
    )
    res["export"]["parameters"] = held = count_held_parameters(exported)
    return {"model": f"{name} (exported)", "parameters": held, "train_time_s": None} | {
        k: ex_res[k]
        for k in (
            "upright_accuracy",
            "rotated_accuracy_mean",
            "rotated_accuracy_worst",
            "worst_angle",
            "invariance_error_rot90",
        )
    }


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the demo's options to ``parser`` and return it.

    Example:
        >>> p = add_arguments(argparse.ArgumentParser())
        >>> p.parse_args(["--quick", "--group", "D4"]).group
        'D4'
    """
    parser.add_argument(
        "--epochs", type=int, default=None, help="training epochs per model (default 6; 4 with --quick)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="images per optimizer step (default 64; 32 with --quick)"
    )
    parser.add_argument(
        "--group", default="C8", help="group of the equivariant model: C4, C8, D4, D8, ... (default C8)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of split, initialisation and angles (default 0)"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--threads", type=int, default=1, help="PyTorch CPU threads (default 1; 0 keeps PyTorch's default)"
    )
    parser.add_argument("--lr", type=float, default=3e-2, help="peak learning rate, one-cycle (default 0.03)")
    parser.add_argument(
        "--size",
        type=int,
        default=None,
        help="odd side of the image canvas (default 21, or the nearest size at which the equivariant model "
        "stays exactly invariant to 90 degree turns)",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke-test run of well under a minute")
    parser.add_argument("--out", default="structconv-demo", help="output folder (default ./structconv-demo/)")
    parser.add_argument(
        "--3d",
        dest="three_d",
        action="store_true",
        help="run the 3D demo instead: 3D Tetris, a Conv3d CNN against octahedral-, SO(3)- and "
        "O(3)-invariant CNNs (its own options: structconv demo --3d --help)",
    )
    return parser


def run_from_args(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run the demo from parsed arguments; return an exit status (2 for bad options or missing extras)."""
    if getattr(args, "three_d", False):  # parsed with the 2-D options: the 3-D demo has its own
        print(
            "structconv demo: error: --3d takes the 3D demo's options; run: structconv demo --3d [options]",
            file=sys.stderr,
        )
        return 2
    config = DemoConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        group=args.group,
        seed=args.seed,
        device=args.device,
        quick=args.quick,
        out=args.out,
        size=args.size,
        lr=args.lr,
        threads=args.threads,
    )
    try:
        config.validate()
    except ValueError as err:
        print(f"structconv demo: error: {err}", file=sys.stderr)
        return 2
    missing = _missing_extras()
    if "sklearn" in missing:
        print(
            f"structconv demo needs scikit-learn (it ships the digits data set); install the demo extras:\n"
            f"    {DEMO_INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    if "matplotlib" in missing:
        print(
            f"note: matplotlib is not installed, the plot is written as text; for a PNG: {DEMO_INSTALL_HINT}",
            file=sys.stderr,
        )
    run_demo(config, stream=stream)
    return 0


def _missing_extras() -> list[str]:
    import importlib.util

    missing = []
    for mod in ("sklearn", "matplotlib"):
        try:
            found = importlib.util.find_spec(mod) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(mod)
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``structconv demo`` (``--3d``: the 3D demo); return the exit status."""
    from structconv.cli.demo3d import strip_3d_flag

    rest = strip_3d_flag(argv)
    if rest is not None:
        from structconv.cli.demo3d import main as main3d

        return main3d(rest)
    parser = add_arguments(
        argparse.ArgumentParser(prog="structconv demo", description=__doc__.splitlines()[0])
    )
    return run_from_args(parser.parse_args(argv))
