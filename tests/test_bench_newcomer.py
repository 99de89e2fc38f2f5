"""``structconv bench`` explains what it prints (issue 17): empty e2cnn columns, and 'x' against the ms columns."""

from __future__ import annotations

import io

import structconv.cli.bench as bench


def _run(monkeypatch, **kwargs):
    out = io.StringIO()
    bench.run_bench(quick=True, repeats=1, stream=out, **kwargs)
    return out.getvalue()


def _header(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("layer"))


def test_missing_e2cnn_is_explained(monkeypatch):
    monkeypatch.setattr(bench, "_e2cnn_modules", lambda: None)
    text = _run(monkeypatch, only=["r2conv"])
    assert "e2cnn columns left out: e2cnn is not installed" in text
    assert "tools/install-oracles.sh" in text
    assert "e2cnn" not in _header(text) and "build ms" in _header(text)


def test_no_reference_and_constrained_only_are_explained(monkeypatch):
    text = _run(monkeypatch, only=["r2conv"], reference=False)
    assert "e2cnn columns left out: --no-reference was given" in text and "e2cnn" not in _header(text)
    text = _run(monkeypatch, only=["constrained"])
    assert "run without --only constrained" in text
    header = _header(text)  # issue 17: no column that the selection cannot fill
    assert "e2cnn" not in header and "build" not in header
    assert header.split() == ["layer", "config", "train", "ms", "train", "x", "eval", "ms", "eval", "x"]


def test_every_shown_column_has_a_value():
    rows = [{"layer": "a", "config": "c", "train_ms": 1.0}, {"layer": "b", "config": "c", "eval_ms": None}]
    assert [k for k, _ in bench.shown_columns(rows)] == ["layer", "config", "train_ms"]
    assert [k for k, _ in bench.shown_columns([])] == ["layer", "config"]


def test_ratio_note_says_what_x_divides_by():
    quick, full = bench._ratio_note(True), bench._ratio_note(False)
    for text in (quick, full):
        assert "timed in turn with it" in text and "nn.Conv2d row is a separate measurement" in text
    assert "--quick" in quick and "--quick" not in full


def test_timed_e2cnn_rows_are_labelled():
    rows = [{"benchmark": "r2conv", "e2cnn_train_ratio": 1.0}, {"benchmark": "constrained"}]
    assert "constrained rows" in bench._e2cnn_note(rows, True)
