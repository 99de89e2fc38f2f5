"""Tests of the demo: digits data, model builders, progress bars, tables, plots and ``structconv demo``."""

from __future__ import annotations

import copy
import io
import json
import math
import pickle
import sys

import numpy as np
import pytest
import torch

from structconv.cli import DemoConfig, ProgressBar, format_table, run_demo
from structconv.cli._plot import plot_accuracy, text_chart
from structconv.cli._training import accuracy_by_angle, invariance_error, logit_change, train_model
from structconv.cli.demo import _missing_extras
from structconv.data import DigitsSplit, load_rotated_digits, render_digits, rotate_images, upsample_digits
from structconv.models import ConventionalCNN, EquivariantCNN, default_fields, parse_group

# ----------------------------------------------------------------------------------------------- data


def test_upsample_shape_range_and_disc():
    out = upsample_digits(np.full((2, 8, 8), 16.0), size=29)
    assert out.shape == (2, 1, 29, 29) and out.dtype == torch.float32
    assert float(out.min()) == 0.0 and float(out.max()) == 1.0
    # every lit pixel lies inside the inscribed disc, so no rotation cuts the digit
    c = 14.0
    ii, jj = torch.meshgrid(torch.arange(29.0), torch.arange(29.0), indexing="ij")
    radius = torch.sqrt((ii - c) ** 2 + (jj - c) ** 2)
    assert float(out[0, 0][radius > 14.5].abs().max()) == 0.0
    # centred: symmetric under every 90 degree turn
    assert torch.equal(out, torch.rot90(out, 1, dims=(-2, -1)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 28}, "size=28"),
        ({"size": 15, "content": 14}, "content=14"),
        ({"size": 29, "content": 4}, "content=4"),
    ],
)
def test_upsample_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        upsample_digits(np.ones((1, 8, 8)), **kwargs)
    with pytest.raises(ValueError, match="expected \\(N, h, w\\)"):
        upsample_digits(np.ones((8, 8)), size=29)


def test_rotate_convention_and_exact_quarter_turns():
    x = torch.rand(3, 2, 9, 9)
    for k in range(4):
        assert torch.equal(rotate_images(x, 90.0 * k), torch.rot90(x, k, dims=(-2, -1)))
    assert torch.equal(rotate_images(x, -90.0), torch.rot90(x, 3, dims=(-2, -1)))
    # the interpolating path agrees with rot90 next to a quarter turn: positive = counter-clockwise
    assert torch.allclose(rotate_images(x, 90.0 + 1e-6), torch.rot90(x, 1, dims=(-2, -1)), atol=1e-5)
    # a point right of the centre moves up under +45 degrees
    img = torch.zeros(1, 1, 9, 9)
    img[0, 0, 4, 8] = 1.0
    rot = rotate_images(img, 45.0)[0, 0]
    i, j = divmod(int(rot.argmax()), 9)
    assert i < 4 and j > 4
    with pytest.raises(ValueError, match="expected \\(N, C, H, W\\)"):
        rotate_images(torch.zeros(9, 9), 10.0)


def test_render_digits_rotates_the_source_scan_once():
    scans = np.random.default_rng(0).random((3, 8, 8))
    up = render_digits(scans, size=17)
    assert torch.equal(up, upsample_digits(scans, size=17))
    for angle in (90.0, 180.0, 270.0):
        near = render_digits(scans, size=17, angle=angle + 1e-7)
        assert torch.allclose(near, torch.rot90(up, int(angle // 90), dims=(-2, -1)), atol=1e-5)
    # one interpolation at every angle: a 30 degree rendering keeps the ink and the sharpness that
    # rotating the upright image would lose
    rendered = render_digits(scans, size=17, angle=30.0)
    rotated = rotate_images(up, 30.0)
    assert torch.allclose(rendered.sum((1, 2, 3)), up.sum((1, 2, 3)), rtol=0.05)
    assert float(rendered.square().sum()) > float(rotated.square().sum())
    with pytest.raises(ValueError, match="expected \\(N, h, w\\)"):
        render_digits(np.ones((8, 8)))


def test_split_renders_rotated_test_sets():
    split = load_rotated_digits(size=15, max_train=10, max_test=20)
    assert len(split.train_labels) == 10 and split.test_scans.shape == (20, 8, 8)
    assert torch.equal(split.test_images_at(0.0), split.test_images)
    assert torch.equal(split.test_images_at(270.0), torch.rot90(split.test_images, 3, dims=(-2, -1)))
    expected = render_digits(split.test_scans, size=15, angle=20.0, content=split.content)
    assert torch.equal(split.test_images_at(20.0), expected)
    # without source scans the upright images are rotated instead
    bare = DigitsSplit(split.train_images, split.train_labels, split.test_images, split.test_labels, 15)
    assert torch.equal(bare.test_images_at(20.0), rotate_images(split.test_images, 20.0))


def test_load_split_is_seeded_and_stratified():
    a = load_rotated_digits(size=15, seed=1)
    b = load_rotated_digits(size=15, seed=1)
    assert torch.equal(a.test_labels, b.test_labels) and torch.equal(a.train_images, b.train_images)
    assert len(a.train_labels) + len(a.test_labels) == 1797
    assert a.train_images.shape[1:] == (1, 15, 15) and a.num_classes == 10
    assert set(a.test_labels.tolist()) == set(range(10))
    c = load_rotated_digits(size=15, seed=2, max_train=50)
    assert len(c.train_labels) == 50 and not torch.equal(a.test_labels, c.test_labels)
    with pytest.raises(ValueError, match="test_fraction=1.5"):
        load_rotated_digits(test_fraction=1.5)


# --------------------------------------------------------------------------------------------- models


def test_parse_group_and_default_fields():
    assert parse_group("C8") == ("C", 8) and parse_group(" d4 ") == ("D", 4)
    for bad in ("C0", "O2", "8", 8):
        with pytest.raises(ValueError, match="group="):
            parse_group(bad)  # type: ignore[arg-type]
    assert default_fields("C8") == (8, 16, 32)
    assert default_fields("D8") == default_fields("C16")


def test_conventional_cnn_shape_and_errors():
    net = ConventionalCNN(channels=(4, 6, 8), num_classes=3)
    assert net(torch.zeros(2, 1, 21, 21)).shape == (2, 3)
    assert "channels=(4, 6, 8)" in repr(net)
    with pytest.raises(ValueError, match="channels="):
        ConventionalCNN(channels=(4, 6))
    with pytest.raises(ValueError, match="num_classes=0"):
        ConventionalCNN(num_classes=0)


@pytest.fixture(scope="module")
def small_equivariant() -> dict[str, EquivariantCNN]:
    torch.manual_seed(0)
    nets = {g: EquivariantCNN(g, fields=(2, 2, 3)) for g in ("C4", "D4")}
    for net in nets.values():  # a few training-mode passes give the batch norms non-trivial statistics
        net.train()
        with torch.no_grad():
            for _ in range(2):
                net(torch.rand(4, 1, 13, 13))
        net.eval()
    return nets


@pytest.mark.parametrize("group", ["C4", "D4"])
def test_equivariant_cnn_is_invariant_to_quarter_turns(small_equivariant, group):
    net = small_equivariant[group]
    x = torch.rand(3, 1, 19, 19)  # 19 % 4 == 3: both stride-2 poolings see odd sizes
    with torch.no_grad():
        ref = net(x)
        turned = [net(torch.rot90(x, k, dims=(-2, -1))) for k in (1, 2, 3)]
        if group == "D4":
            turned.append(net(torch.flip(x, dims=(-1,))))
    err = logit_change(ref, turned)
    assert err["relative"] < 1e-5, err  # float32 rounding level
    assert "group=" + group in repr(net)


@pytest.mark.parametrize("group", ["C4", "D4"])
def test_trunk_and_exported_trunk_pass_assert_equivariant(small_equivariant, group):
    testing = pytest.importorskip("structconv.testing")
    net = copy.deepcopy(small_equivariant[group])
    trunk = net.features
    testing.assert_equivariant(trunk, spatial_size=19)
    exported = copy.deepcopy(trunk).export()
    testing.assert_equivariant(exported, trunk.in_type, trunk.out_type, spatial_size=19)


def test_equivariant_cnn_export_state_dict_pickle(small_equivariant):
    net = small_equivariant["C4"]
    x = torch.rand(2, 1, 13, 13)
    with torch.no_grad():
        ref = net(x)
        exported = net.export()
        assert isinstance(exported, torch.nn.Sequential)
        assert torch.allclose(exported(x), ref, atol=1e-5)
    clone = EquivariantCNN("C4", fields=(2, 2, 3)).eval()
    clone.load_state_dict(net.state_dict())
    with torch.no_grad():
        assert torch.allclose(clone(x), ref, atol=1e-6)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        with torch.no_grad():
            assert torch.allclose(other.eval()(x), ref, atol=1e-6)
    assert set(net.train().state_dict()) == set(net.eval().state_dict())


def test_equivariant_cnn_bad_input():
    with pytest.raises(ValueError, match="group='Q3'"):
        EquivariantCNN("Q3")
    with pytest.raises(ValueError, match="fields="):
        EquivariantCNN("C4", fields=(1, 0, 1))


# ---------------------------------------------------------------------------------- training helpers


def test_train_and_measure_helpers():
    torch.manual_seed(0)
    net = ConventionalCNN(channels=(2, 2, 2))
    x, y = torch.rand(8, 1, 9, 9), torch.randint(0, 10, (8,))
    out = io.StringIO()
    stats = train_model(net, x, y, epochs=2, batch_size=4, stream=out)
    assert stats["train_time_s"] > 0 and math.isfinite(stats["final_loss"])
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith(" epoch 2/2 |") is False and "epoch 2/2" in lines[1]
    accs, logits = accuracy_by_angle(net, x, y, [0.0, 45.0, 90.0])
    assert len(accs) == 3 and logits.shape == (3, 8, 10)
    err = invariance_error(net, x)
    assert err["max_abs"] > 0  # a plain CNN is not invariant


# ------------------------------------------------------------------------------- progress and tables


def test_progress_bar_plain_lines_when_not_a_tty():
    out = io.StringIO()
    with ProgressBar(4, desc="train", stream=out, width=4) as bar:
        for _ in range(4):
            bar.update(loss=0.25)
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 1
    assert text.startswith("train |####| 4/4") and "loss=0.25" in text


def test_progress_bar_redraws_in_place_on_a_tty():
    out = io.StringIO()
    bar = ProgressBar(3, desc="x", stream=out, width=3, min_interval=0.0, tty=True)
    bar.update()
    bar.update(acc=0.5)
    bar.update()
    bar.close()
    bar.close()  # idempotent
    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and "|###| 3/3" in text
    with pytest.raises(ValueError, match="total=-1"):
        ProgressBar(-1)


def test_format_table_alignment():
    text = format_table(
        [{"m": "cnn", "v": 0.5, "n": 1200, "e": 1e-7}, {"m": "e2", "v": None, "n": 3, "e": float("nan")}],
        [("m", "model"), ("v", "acc"), ("n", "params"), ("e", "err")],
    )
    lines = text.splitlines()
    assert lines[0].split() == ["model", "acc", "params", "err"]
    assert lines[2].split() == ["cnn", "0.500", "1200", "1.00e-07"]
    assert lines[3].split() == ["e2", "-", "3", "-"]
    assert len({len(line) for line in lines[:3]}) == 1


def test_plot_png_and_text_fallback(tmp_path, monkeypatch):
    curves = {"cnn": ([0.0, 90.0, 180.0], [0.9, 0.1, 0.2]), "eq": ([0.0, 90.0, 180.0], [0.9, 0.9, 0.9])}
    png = plot_accuracy(curves, tmp_path / "acc.png", title="t")
    assert png.suffix == ".png" and png.read_bytes()[:4] == b"\x89PNG"
    chart = text_chart(curves, height=5)
    assert "o = cnn" in chart and "x = eq" in chart
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    txt = plot_accuracy(curves, tmp_path / "acc2.png")
    assert txt.suffix == ".txt" and "x = eq" in txt.read_text()


# ------------------------------------------------------------------------------------- the demo job


def test_demo_config_validation():
    assert DemoConfig().resolved_epochs() > DemoConfig(quick=True).resolved_epochs()
    angles = DemoConfig().angles()
    assert {float(a) for a in range(0, 360, 15)} <= set(angles) and len(angles) > 24
    for kwargs, match in (
        ({"epochs": 0}, "epochs=0"),
        ({"group": "X"}, "group='X'"),
        ({"device": "nope"}, "device="),
        ({"size": 20}, "size=20"),
        ({"threads": -1}, "threads=-1"),
        ({"lr": 0.0}, "lr=0.0"),
        ({"batch_size": 0}, "batch_size=0"),
    ):
        with pytest.raises(ValueError, match=match):
            DemoConfig(**kwargs).validate()


def test_demo_reports_missing_extras(monkeypatch, capsys):
    from structconv.__main__ import main

    monkeypatch.setitem(sys.modules, "sklearn", None)
    assert "sklearn" in _missing_extras()
    assert main(["demo", "--quick"]) == 2
    assert 'pip install "structconv[demo]"' in capsys.readouterr().err
    assert main(["demo", "--epochs", "0"]) == 2
    assert "epochs=0" in capsys.readouterr().err


def test_demo_quick_end_to_end(tmp_path, capsys):
    """``structconv demo --quick`` (one epoch here) writes the table, the plot, the JSON and the export."""
    from structconv.__main__ import main

    out = tmp_path / "demo"
    threads = torch.get_num_threads()
    assert main(["demo", "--quick", "--epochs", "1", "--group", "C4", "--out", str(out)]) == 0
    assert torch.get_num_threads() == threads  # the run's thread setting is restored
    assert not torch.distributed.is_initialized()  # a single process joins no process group
    printed = capsys.readouterr().out
    assert "rot90 inv. err" in printed and "(exported)" in printed and "epoch 1/1" in printed
    assert (out / "results.txt").read_text().splitlines()[0].startswith("model")
    assert (out / "accuracy_vs_rotation.png").read_bytes()[:4] == b"\x89PNG"
    results = json.loads((out / "results.json").read_text())
    names = list(results["models"])
    assert len(names) == 2 and names[0] == "CNN" and "C4" in names[1]
    eq = results["models"][names[1]]
    assert eq["invariance_error_rot90"] < 1e-5  # float32 rounding level
    assert eq["export"]["predictions_identical"] and eq["export"]["reloaded_identical"]
    assert eq["export"]["loads_without_structconv"] and eq["export"]["foreign"] == []  # issue 16
    assert eq["export"]["upright_accuracy"] == eq["upright_accuracy"]
    assert len(eq["accuracy_by_angle"]) == len(eq["angles"]) == len(DemoConfig(quick=True).angles())
    reloaded = torch.load(out / "equivariant_exported.pt", weights_only=False)
    assert reloaded(torch.zeros(1, 1, 21, 21)).shape == (1, 10)


def test_run_demo_with_custom_models(tmp_path):
    """``run_demo`` accepts any models; ones without ``export`` are simply not exported."""

    def factory(config):
        torch.manual_seed(0)
        return {"tiny": ConventionalCNN(channels=(2, 2, 2))}

    res = run_demo(
        DemoConfig(quick=True, epochs=1, out=str(tmp_path)), stream=io.StringIO(), model_factory=factory
    )
    assert list(res["models"]) == ["tiny"] and "export" not in res["models"]["tiny"]
    assert not (tmp_path / "equivariant_exported.pt").exists()


@pytest.mark.slow
def test_python_m_structconv_demo_quick_subprocess(tmp_path):
    """The exact README command, in a fresh interpreter (``python -m structconv demo --quick``)."""
    import subprocess

    out = tmp_path / "q"
    proc = subprocess.run(
        [sys.executable, "-m", "structconv", "demo", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "\r" not in proc.stdout  # not a TTY: plain progress lines
    for name in ("results.txt", "results.json", "accuracy_vs_rotation.png", "equivariant_exported.pt"):
        assert (out / name).exists(), name


@pytest.mark.slow
def test_demo_quick_under_torchrun(tmp_path):
    """``torchrun --nproc-per-node 2 -m structconv demo --quick``: shared training, one report from rank 0."""
    import shutil
    import subprocess

    if shutil.which("torchrun") is None:
        pytest.skip("torchrun is not on PATH")
    out = tmp_path / "ddp"
    proc = subprocess.run(
        ["torchrun", "--nproc-per-node", "2", "-m", "structconv", "demo", "--quick", "--epochs", "1"]
        + ["--group", "C4", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("results.json") == 1  # one report, from rank 0
    results = json.loads((out / "results.json").read_text())
    assert results["environment"]["world_size"] == 2
    eq = results["models"][list(results["models"])[1]]
    assert eq["invariance_error_rot90"] < 1e-5 and eq["export"]["predictions_identical"]
