"""``structconv demo`` as a newcomer meets it (issue 17): progress, errors, the table, the plot, repeatability."""

from __future__ import annotations

import io
import json
import re

import pytest
import torch

from structconv.cli import DemoConfig, run_demo
from structconv.cli._training import count_held_parameters
from structconv.cli.demo import _batch_text
from structconv.models import ConventionalCNN, EquivariantCNN
from structconv.utils.distributed import DistributedEnv


def _tiny_models(config):
    torch.manual_seed(config.seed)
    cnn = ConventionalCNN(channels=(2, 2, 2))
    torch.manual_seed(config.seed)
    return {"CNN": cnn, "C4-equivariant CNN": EquivariantCNN("C4", fields=(1, 1, 1))}


def _run(tmp_path, name="run"):
    stream = io.StringIO()
    cfg = DemoConfig(quick=True, epochs=1, group="C4", out=str(tmp_path / name))
    return run_demo(cfg, stream=stream, model_factory=_tiny_models), stream.getvalue(), tmp_path / name


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("demo"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_one_line_error_before_anything_is_written(tmp_path, capsys):
    from structconv.__main__ import main

    out = tmp_path / "never"
    assert main(["demo", "--device", "cuda", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # not even the header
    assert captured.err.count("\n") == 1
    assert "device='cuda' is not available" in captured.err and "--device cpu" in captured.err
    assert not out.exists()
    with pytest.raises(ValueError, match="device='cuda:1' is not available"):
        DemoConfig(device="cuda:1").validate()


def test_every_long_phase_shows_progress(tiny_run):
    _, printed, _ = tiny_run
    n = len(DemoConfig(quick=True).angles())
    for name in ("CNN", "C4-equivariant CNN", "C4-equivariant CNN (exported)"):
        assert re.search(rf"^{re.escape(name)} test at {n} angles \|#+\| {n}/{n} ", printed, re.M), name
    for phase in ("exporting C4-equivariant CNN", "saving the exported model to", "reloading it and comparing"):
        assert re.search(rf"^  {phase}.* \.\.\. done in \d+\.\d s$", printed, re.M), phase
    # in the order they run: test, export, test of the export, save, reload
    steps = ("C4-equivariant CNN test at", "exporting", "(exported) test at", "saving", "reloading")
    order = [printed.index(s) for s in steps]
    assert order == sorted(order)


def test_params_column_reports_what_each_model_holds(tiny_run):
    results, printed, out = tiny_run
    eq = results["models"]["C4-equivariant CNN"]
    exported = torch.load(out / "equivariant_exported.pt", weights_only=False)
    held = eq["export"]["parameters"]
    assert held == count_held_parameters(exported) == sum(p.numel() for p in exported.parameters())
    assert held > eq["parameters"]  # the expanded filters outnumber the basis coefficients
    rows = {line[:30].strip(): line for line in printed.splitlines() if line.startswith(("CNN ", "C4-"))}
    assert f" {held} " in rows["C4-equivariant CNN (exported)"]
    assert f" {eq['parameters']} " in rows["C4-equivariant CNN"]


def test_worst_angle_has_one_format(tiny_run):
    _, printed, _ = tiny_run
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    col = lines[header].index("worst angle")
    cells = [line[col : col + len("worst angle")].strip() for line in lines[header + 2 : header + 5]]
    assert len(cells) == 3 and all(re.fullmatch(r"\d+\.\d\d", c) for c in cells), cells


def test_same_seed_same_numbers_on_one_machine(tiny_run, tmp_path):
    first, _, _ = tiny_run
    again, _, _ = _run(tmp_path, "again")

    def strip(d):
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items() if "time" not in k and k != "saved_to"}
        return [strip(x) for x in d] if isinstance(d, list) else d

    assert strip(again["models"]) == strip(first["models"])


def test_batch_text_names_world_size_and_per_rank_batch():
    assert _batch_text(64, DistributedEnv()) == "batch 64"
    assert _batch_text(64, DistributedEnv(0, 2)).endswith("over 2 processes (world size 2): 32 images per rank")
    assert _batch_text(64, DistributedEnv(1, 3)).endswith("(world size 3): 21-22 images per rank")


def test_legend_hides_no_data():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from structconv.cli._plot import _figure

    angles = [float(a) for a in range(0, 360, 15)]
    curves = {"CNN": (angles, [0.0] * len(angles)), "C8-equivariant CNN": (angles, [1.0] * len(angles))}
    fig = _figure(curves, "title", plt)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())  # wholly outside the data area
    assert legend.y1 < ax.get_window_extent().y0
    plt.close(fig)


@pytest.mark.slow
def test_torchrun_prints_world_size(tmp_path):
    import shutil
    import subprocess

    if shutil.which("torchrun") is None:
        pytest.skip("torchrun is not on PATH")
    proc = subprocess.run(
        ["torchrun", "--nproc-per-node", "2", "-m", "structconv", "demo", "--quick", "--epochs", "1"]
        + ["--group", "C4", "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "split over 2 processes (world size 2): 16 images per rank" in proc.stdout
    results = json.loads((tmp_path / "ddp" / "results.json").read_text())
    assert results["environment"]["world_size"] == 2


def test_out_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    from structconv.__main__ import main

    target = tmp_path / "a_file"
    target.write_text("")
    assert main(["demo", "--quick", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "it is a file, expected a folder" in err


def test_default_canvas_keeps_the_equivariant_model_exactly_invariant(tiny_run):
    from structconv.cli.demo import _grid_problems, choose_size

    results, printed, _ = tiny_run
    size = results["data"]["size"]
    models = _tiny_models(DemoConfig())
    assert choose_size(models, None)[0] == size and _grid_problems(models, size) == []
    assert results["models"]["C4-equivariant CNN"]["invariance_error_rot90"] < 1e-5  # float32 rounding
    assert ("note: canvas" in printed) == (size != 21)


def test_a_given_canvas_that_breaks_the_grid_is_named():
    from structconv.cli.demo import _grid_problems, choose_size

    models = _tiny_models(DemoConfig())
    bad = next(n for n in range(17, 31, 2) if _grid_problems(models, n))
    size, note = choose_size(models, bad)
    assert size == bad
    assert f"at {bad}x{bad} the sampling grid is not rotation-symmetric at C4-equivariant CNN: layer" in note
    assert "--size" in note and "not exactly invariant" in note
    good = next(n for n in range(17, 31, 2) if not _grid_problems(models, n))
    assert choose_size(models, good) == (good, "")
