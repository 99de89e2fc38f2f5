"""Tests of the 3D demo: the 3D Tetris networks (``structconv.models.tetris3d``) and ``structconv demo --3d``."""

from __future__ import annotations

import argparse
import io
import json

import numpy as np
import pytest
import torch

from structconv.cli.demo3d import (
    MODEL_NAMES,
    Demo3DConfig,
    add_arguments,
    plot_accuracy_by_set,
    recalibrate_batch_norms,
    run_demo3d,
    run_from_args,
    strip_3d_flag,
)
from structconv.data import Conv3dBaseline as DataConv3dBaseline
from structconv.data.tetris3d import grid_rotations
from structconv.gspaces import grid_permutation
from structconv.models import Conv3dBaseline, O3TetrisNet, OctaTetrisNet, SO3TetrisNet
from structconv.nn._export import foreign_parts

BASELINE_PARAMETERS = 39_764
EQUIVARIANT = (OctaTetrisNet, SO3TetrisNet, O3TetrisNet)
#: small versions of the equivariant models, for the tests that run them many times
SMALL = {
    OctaTetrisNet: {"fields": (1, 2, 2)},
    SO3TetrisNet: {"blocks": ((2, 1, 1), (2, 1, 1)), "last": 4, "hidden": 6},
    O3TetrisNet: {"blocks": ((2, 1, 1), (2, 1, 1)), "last": 4, "hidden": 0},
}


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _grid_rotated(x: torch.Tensor) -> torch.Tensor:
    """``(24 * N, C, S, S, S)``: every volume of ``x`` under each of the 24 rotations of the cube."""
    shape = tuple(x.shape[-3:])
    flat = x.reshape(*x.shape[:2], -1)
    out = []
    for matrix in grid_rotations():
        perm = torch.from_numpy(grid_permutation(matrix, shape))
        out.append(flat[..., perm].reshape(x.shape))
    return torch.cat(out)


def _with_statistics(model: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    """``model`` with non-trivial batch-norm statistics (a few train-mode passes), in eval mode."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model.eval()


# ----------------------------------------------------------------------------------------------- models


def test_baseline_is_reexported():
    assert Conv3dBaseline is DataConv3dBaseline
    assert _n_params(Conv3dBaseline()) == BASELINE_PARAMETERS


@pytest.mark.parametrize("cls", EQUIVARIANT, ids=lambda c: c.__name__)
def test_parameter_count_close_to_baseline(cls):
    n = _n_params(cls())
    assert abs(n - BASELINE_PARAMETERS) <= 0.15 * BASELINE_PARAMETERS, n


@pytest.mark.parametrize("cls", EQUIVARIANT, ids=lambda c: c.__name__)
def test_invariant_to_the_24_grid_rotations_float64(cls):
    """The default models, float64, on 9^3 volumes: the logits move by rounding only (<= 1e-10 relative)."""
    torch.manual_seed(0)
    x = torch.randn(2, 1, 9, 9, 9, dtype=torch.float64)
    model = _with_statistics(cls().double(), _grid_rotated(x)[:8])
    with torch.no_grad():
        ref = model(x)
        out = model(_grid_rotated(x)).reshape(24, *ref.shape)
    rel = float((out - ref).abs().max() / ref.abs().max())
    assert rel <= 1e-10, rel


@pytest.mark.parametrize("cls", EQUIVARIANT, ids=lambda c: c.__name__)
def test_invariant_to_the_24_grid_rotations_float32(cls):
    torch.manual_seed(1)
    x = torch.rand(1, 1, 17, 17, 17)
    model = _with_statistics(cls(**SMALL[cls]), torch.rand(4, 1, 17, 17, 17))
    with torch.no_grad():
        ref = model(x)
        out = model(_grid_rotated(x)).reshape(24, *ref.shape)
    rel = float((out - ref).abs().max() / ref.abs().max())
    assert rel <= 1e-5, rel


def test_baseline_is_not_invariant():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 9, 9, 9)
    model = _with_statistics(Conv3dBaseline(), torch.rand(4, 1, 9, 9, 9))
    with torch.no_grad():
        out = model(_grid_rotated(x))
    assert float((out - out[:1]).abs().max()) > 1e-3


def test_mirror_images_o3_invariant_so3_and_octa_not():
    """O(3) gives a volume and its mirror image the same logits; SO(3) and the octahedral net do not."""
    torch.manual_seed(2)
    x = torch.rand(2, 1, 9, 9, 9, dtype=torch.float64)
    mirrored = torch.flip(x, dims=(-1,))  # x -> -x: a reflection
    for cls in EQUIVARIANT:
        torch.manual_seed(0)
        model = _with_statistics(cls().double(), torch.rand(4, 1, 9, 9, 9, dtype=torch.float64))
        with torch.no_grad():
            ref, out = model(x), model(mirrored)
        rel = float((out - ref).abs().max() / ref.abs().max())
        if cls is O3TetrisNet:
            assert rel <= 1e-10, rel
        else:
            assert rel > 1e-7, (cls.__name__, rel)


@pytest.mark.parametrize("cls", EQUIVARIANT, ids=lambda c: c.__name__)
def test_export_gives_the_same_logits(cls):
    torch.manual_seed(3)
    model = _with_statistics(cls(**SMALL[cls]), torch.rand(4, 1, 9, 9, 9))
    x = torch.rand(3, 1, 9, 9, 9)
    exported = model.export()
    assert isinstance(exported, torch.nn.Sequential) and not exported.training
    assert foreign_parts(exported) == []
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x), atol=1e-5, rtol=1e-5)
    assert not model.training  # the model's mode is left as it was


def test_export_float64_equality():
    torch.manual_seed(4)
    model = _with_statistics(SO3TetrisNet(**SMALL[SO3TetrisNet]).double(), torch.rand(4, 1, 9, 9, 9).double())
    x = torch.rand(2, 1, 9, 9, 9, dtype=torch.float64)
    with torch.no_grad():
        err = float((model.export()(x) - model(x)).abs().max())
    assert err <= 1e-10, err


@pytest.mark.parametrize("cls", EQUIVARIANT, ids=lambda c: c.__name__)
def test_shape_state_dict_and_repr(cls):
    model = cls(**SMALL[cls])
    assert model(torch.zeros(2, 1, 9, 9, 9)).shape == (2, 8)
    twin = cls(**SMALL[cls])
    twin.load_state_dict(model.state_dict())
    model.eval(), twin.eval()
    x = torch.rand(1, 1, 9, 9, 9)
    with torch.no_grad():
        assert torch.equal(model(x), twin(x))
    assert "num_classes=8" in repr(model)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: OctaTetrisNet(fields=(1, 2)), "fields="),
        (lambda: OctaTetrisNet(fields=(1, 0, 2)), "fields=0"),
        (lambda: SO3TetrisNet(blocks=((1, 1, 1),)), "blocks="),
        (lambda: SO3TetrisNet(blocks=((0, 0, 0), (1, 1, 1))), "blocks="),
        (lambda: O3TetrisNet(last=0), "last=0"),
        (lambda: SO3TetrisNet(hidden=-1), "hidden=-1"),
        (lambda: O3TetrisNet(hidden=2.5), "hidden=2.5"),
        (lambda: SO3TetrisNet(num_classes=0), "num_classes=0"),
        (lambda: OctaTetrisNet(in_channels=True), "in_channels=True"),
    ],
)
def test_bad_model_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shape():
    model = OctaTetrisNet(**SMALL[OctaTetrisNet])
    with pytest.raises(ValueError, match=r"expected \(N, 1, D, H, W\)"):
        model(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"expected \(N, 1, D, H, W\)"):
        model(torch.zeros(1, 2, 9, 9, 9))


# ----------------------------------------------------------------------------------------------- helpers


def test_recalibrate_batch_norms_matches_the_data():
    torch.manual_seed(5)
    model = SO3TetrisNet(**SMALL[SO3TetrisNet])
    x = torch.rand(8, 1, 9, 9, 9) * 0.01  # tiny activations: a momentum-0.1 average would lag far behind
    assert recalibrate_batch_norms(model, x, batch_size=8) == 3
    model.eval()
    with torch.no_grad():
        ev = model(x)
        model.train()
        tr = model(x)
    # equal up to Bessel's correction of the running variances (64 samples per channel at the last layer)
    assert torch.allclose(ev, tr, atol=1e-2, rtol=1e-2)
    assert all(m.momentum == 0.1 for m in model.modules() if hasattr(m, "running_var"))


def test_plot_text_fallback_and_png(tmp_path, monkeypatch):
    results = {"a": {"x": 0.5, "y": 1.0}, "b": {"x": 0.0, "y": 0.25}}
    path = plot_accuracy_by_set(results, ["x", "y"], tmp_path / "p.png")
    assert path.exists()
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    text = plot_accuracy_by_set(results, ["x", "y"], tmp_path / "q.png")
    assert text.suffix == ".txt" and "0.250" in text.read_text()


def test_strip_3d_flag():
    assert strip_3d_flag(["--3d", "--quick"]) == ["--quick"]
    assert strip_3d_flag(["--quick"]) is None


# ----------------------------------------------------------------------------------------------- command line


def _args(*argv: str) -> argparse.Namespace:
    return add_arguments(argparse.ArgumentParser()).parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--epochs", "0"], "epochs=0"),
        (["--batch-size", "-1"], "batch_size=-1"),
        (["--lr", "0"], "lr=0.0"),
        (["--threads", "-2"], "threads=-2"),
        (["--seed", "-1"], "seed=-1"),
        (["--lr", "inf"], "lr=inf is not accepted; expected a finite float > 0"),
        (["--size", "13"], "size=13 is not accepted; expected an int >= 14"),
        (["--models", "cnn,resnet"], "models=.*resnet"),
        (["--models", "cnn,cnn"], "models="),
        (["--models", ","], "models="),
        (["--device", "nonsense"], "device='nonsense'"),
    ],
)
def test_bad_arguments_exit_2(argv, match, capsys, tmp_path):
    assert run_from_args(_args(*argv, "--out", str(tmp_path / "o"))) == 2
    err = capsys.readouterr().err
    assert "structconv demo --3d: error:" in err
    import re

    assert re.search(match, err), err


def test_out_below_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert run_from_args(_args("--out", str(f / "sub" / "dir"))) == 2
    assert "is a file, expected a folder" in capsys.readouterr().err


def test_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert run_from_args(_args("--out", str(f))) == 2
    assert "is a file" in capsys.readouterr().err


def test_cli_wiring_dispatches_to_the_3d_demo(capsys, tmp_path):
    from structconv.__main__ import main
    from structconv.cli.demo import main as demo_main

    assert main(["demo", "--3d", "--epochs", "0", "--out", str(tmp_path / "o")]) == 2
    assert "structconv demo --3d: error: epochs=0" in capsys.readouterr().err
    assert demo_main(["--3d", "--models", "nope", "--out", str(tmp_path / "o")]) == 2
    assert "models=" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--3d", "--help"])
    assert "--models" in capsys.readouterr().out


def test_config_defaults():
    cfg = Demo3DConfig()
    assert cfg.models == tuple(MODEL_NAMES) and cfg.resolved_epochs() == 12 and cfg.resolved_batch_size() == 8
    assert cfg.threads == 0 and Demo3DConfig(quick=True).resolved_epochs() == 6
    assert Demo3DConfig(quick=True).data_sizes()["grid_rotations"] == 6


def test_tiny_run_writes_everything(tmp_path):
    """A CNN-only run of one epoch (seconds): table, JSON and plot, no export."""
    out = tmp_path / "run"
    stream = io.StringIO()
    res = run_demo3d(Demo3DConfig(quick=True, epochs=1, models=("cnn",), out=str(out)), stream=stream)
    assert (out / "results.txt").exists() and (out / "results.json").exists()
    assert (out / res["plot"]).exists()
    data = json.loads((out / "results.json").read_text())
    row = data["models"]["CNN (Conv3d)"]
    for key in (
        "upright_accuracy",
        "grid_accuracy",
        "random_accuracy",
        "mirror_accuracy",
        "invariance_error_grid",
    ):
        assert 0.0 <= row[key] <= 1.0 or key == "invariance_error_grid"
    assert "export" not in data
    text = stream.getvalue()
    assert "6 rotations" in text and "24 rotations" not in text and "mirror chiral" in text
    assert "every shape under each of a subset of 6 rotations of the cube" in text


@pytest.mark.slow
def test_quick_end_to_end(tmp_path):
    """``structconv demo --3d --quick``: every model trained and tested, the best invariant one exported."""
    from structconv.__main__ import main

    out = tmp_path / "quick"
    assert main(["demo", "--3d", "--quick", "--out", str(out)]) == 0
    data = json.loads((out / "results.json").read_text())
    assert list(data["models"]) == list(MODEL_NAMES.values())
    for name in ("octahedral CNN", "SO(3) CNN", "O(3) CNN"):
        assert data["models"][name]["invariance_error_grid"] < 1e-5
    o3 = data["models"]["O(3) CNN"]
    assert o3["mirror_chiral_accuracy"] <= 0.5
    # reflections: O(3) keeps its logits to rounding, the rotation-invariant models move theirs
    assert o3["mirror_logit_change"] < 1e-5
    for name in ("octahedral CNN", "SO(3) CNN"):
        assert data["models"][name]["mirror_logit_change"] > 1e-5
    export = data["export"]
    assert export["ok"] and export["predictions_identical"] and export["reloaded_identical"]
    # every number of the table's exported row is in the JSON too
    for key in (
        "grid_accuracy_worst",
        "mirror_logit_change",
        "mirror_chiral_accuracy",
        "invariance_error_grid",
    ):
        assert key in export, key
    assert export["loads_without_structconv"] and export["runs_without_structconv"]["ok"]
    assert export["max_logit_difference_relative"] < 1e-5
    assert (out / "equivariant_exported.pt").exists()
    assert np.isfinite(data["total_time_s"])
