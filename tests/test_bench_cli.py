"""Tests of ``structconv bench``: the timing helper, both benchmarks on tiny configurations and the CLI."""

from __future__ import annotations

import io
import json

import pytest

from structconv.cli.bench import (
    COLUMNS,
    bench_constrained,
    bench_r2conv,
    run_bench,
    time_interleaved,
    time_median,
)


def test_time_median_counts_calls_and_validates():
    calls = []
    t = time_median(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and t >= 0.0
    with pytest.raises(ValueError, match="repeats=0"):
        time_median(lambda: None, repeats=0)


def test_time_interleaved_round_robin():
    order = []
    medians = time_interleaved([lambda: order.append("a"), lambda: order.append("b")], repeats=2, warmup=1)
    assert order == ["a", "b"] * 3 and len(medians) == 2
    with pytest.raises(ValueError, match="repeats=-1"):
        time_interleaved([lambda: None], repeats=-1)


def test_bench_constrained_tiny():
    rows = bench_constrained(quick=True, repeats=1)
    assert rows[0]["layer"] == "nn.Conv2d" and rows[0]["train_ratio"] == 1.0 == rows[0]["eval_ratio"]
    measured = [r for r in rows if "note" not in r]
    assert len(measured) >= 2, rows  # the baseline and at least one structured layer
    for row in measured:
        assert row["benchmark"] == "constrained"
        assert row["train_ms"] > 0 and row["eval_ms"] > 0
        assert row["train_ratio"] > 0 and row["eval_ratio"] > 0
    assert any(r["layer"].startswith("ConstrainedConv2d") for r in measured)


def test_bench_r2conv_tiny_without_reference():
    rows = bench_r2conv(quick=True, repeats=1, reference=False)
    assert len(rows) == 1
    row = rows[0]
    assert row["layer"] == "R2Conv" and row["config"].startswith("C4")
    for key in ("construct_ms", "construct_first_ms", "train_ms", "eval_ms", "train_ratio", "eval_ratio"):
        assert row[key] > 0, key
    assert not any(key.startswith("e2cnn") for key in row)


@pytest.mark.oracle
def test_bench_r2conv_reference_beside_ours():
    pytest.importorskip("e2cnn")
    row = bench_r2conv(quick=True, repeats=1, reference=True)[0]
    for key in ("e2cnn_construct_ms", "e2cnn_train_ratio", "e2cnn_eval_ratio"):
        assert row[key] > 0, key


def test_run_bench_prints_one_table_and_writes_json(tmp_path):
    out = io.StringIO()
    path = tmp_path / "bench.json"
    rows = run_bench(quick=True, json_path=path, repeats=1, reference=False, stream=out)
    text = out.getvalue()
    header = [h for k, h in COLUMNS if not k.startswith("e2cnn")]  # reference=False: no e2cnn columns
    table_lines = [line for line in text.splitlines() if line.startswith("layer")]
    assert len(table_lines) == 1 and all(h in table_lines[0] for h in header)
    assert "e2cnn" not in table_lines[0]
    assert "R2Conv" in text and "nn.Conv2d" in text and "median" in text
    payload = json.loads(path.read_text())
    assert payload["environment"]["quick"] is True
    assert [r["layer"] for r in payload["rows"]] == [r["layer"] for r in rows]
    assert {r["benchmark"] for r in rows} == {"constrained", "r2conv"}
    with pytest.raises(ValueError, match="only="):
        run_bench(quick=True, only=["nope"], stream=io.StringIO())


def test_cli_bench(tmp_path, capsys):
    from structconv.__main__ import main

    path = tmp_path / "b.json"
    assert main(["bench", "--quick", "--only", "constrained", "--repeats", "1", "--json", str(path)]) == 0
    assert "nn.Conv2d" in capsys.readouterr().out
    assert json.loads(path.read_text())["rows"][0]["layer"] == "nn.Conv2d"
    assert main(["bench", "--quick", "--repeats", "0"]) == 2
    assert "--repeats=0" in capsys.readouterr().err
    assert main(["bench", "--quick", "--threads", "-2"]) == 2
    assert "--threads=-2" in capsys.readouterr().err
    with pytest.raises(ValueError, match="threads=-1"):
        run_bench(quick=True, threads=-1, stream=io.StringIO())
    with pytest.raises(SystemExit):
        main(["bench", "--only", "nope"])
