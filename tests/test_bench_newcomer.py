"""``structconv bench`` explains what it prints (issue 17): empty e2cnn columns, and 'x' against the ms columns."""

from __future__ import annotations

import io

import structconv.cli.bench as bench


def _run(monkeypatch, **kwargs):
    out = io.StringIO()
    bench.run_bench(quick=True, repeats=1, stream=out, **kwargs)
    return out.getvalue()


def test_missing_e2cnn_is_explained(monkeypatch):
    monkeypatch.setattr(bench, "_e2cnn_modules", lambda: None)
    text = _run(monkeypatch, only=["r2conv"])
    assert "e2cnn columns: '-' because e2cnn is not installed" in text
    assert "tools/install-oracles.sh" in text


def test_no_reference_and_constrained_only_are_explained(monkeypatch):
    assert "because --no-reference was given" in _run(monkeypatch, only=["r2conv"], reference=False)
    assert "run without --only constrained" in _run(monkeypatch, only=["constrained"])


def test_ratio_note_says_what_x_divides_by():
    quick, full = bench._ratio_note(True), bench._ratio_note(False)
    for text in (quick, full):
        assert "timed in turn with it" in text and "nn.Conv2d row is a separate measurement" in text
    assert "--quick" in quick and "--quick" not in full


def test_timed_e2cnn_rows_are_labelled():
    rows = [{"benchmark": "r2conv", "e2cnn_train_ratio": 1.0}, {"benchmark": "constrained"}]
    assert "constrained rows" in bench._e2cnn_note(rows, True)
