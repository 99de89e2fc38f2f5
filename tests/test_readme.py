"""The README's quick start runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _quick_start() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the quick start must hold exactly one python block"
    return blocks[0]


def _printed() -> str:
    """The README's "It prints:" block after the quick start."""
    section = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    after = section.split("It prints:", 1)[1]
    return re.findall(r"```\n(.*?)```", after, re.S)[0]


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?e[-+]?\d+|[-+]?\d+\.\d+")


def _rounding(match: re.Match[str]) -> str:
    value = abs(float(match.group()))
    if value < 1e-12:
        return "<float64 rounding>"
    return "<float32 rounding>" if value < 1e-5 else match.group()


def _rounding_level_masked(text: str) -> str:
    """``text`` with every number at float rounding level (which may differ between machines and BLAS builds)
    replaced by its level: below 1e-12 float64's, below 1e-5 float32's; a float64 error that grew to float32's
    level, or anything else, no longer matches."""
    return _NUMBER.sub(_rounding, text)


def test_quick_start_runs(capsys) -> None:
    exec(compile(_quick_start(), str(README), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "torch.Size([2, 16, 32, 32])" in out
    assert "torch.Size([2, 32, 33, 33])" in out
    assert "torch.Size([2, 6, 9, 9, 9])" in out
    # what the README says it prints is what it prints
    assert _rounding_level_masked(out.strip()) == _rounding_level_masked(_printed().strip())
