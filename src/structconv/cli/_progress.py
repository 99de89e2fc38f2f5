"""A small dependency-free progress bar that degrades to plain lines when the stream is not a TTY."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


def _format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


class ProgressBar:
    """A one-line progress bar: ``desc |#####.....| 12/23 [1.4s<1.2s] key=value``.

    On a terminal the line is redrawn in place (at most every ``min_interval`` seconds) and finished
    with a newline by :meth:`close`. On anything else (a pipe, a log file, a captured stream) nothing is
    drawn while running and :meth:`close` writes one plain line with the final state, so logs stay
    readable.

    Args:
        total: number of steps (``>= 0``).
        desc: text in front of the bar.
        stream: where to write; default ``sys.stdout`` at construction time.
        width: number of characters of the bar itself.
        min_interval: minimum seconds between two redraws on a terminal.
        tty: force terminal (``True``) or plain-line (``False``) behaviour; default: ``stream.isatty()``.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> with ProgressBar(3, desc="epoch 1/1", stream=out, width=6) as bar:
        ...     for _ in range(3):
        ...         bar.update(loss=0.5)
        >>> out.getvalue().startswith("epoch 1/1 |######| 3/3")
        True
    """

    def __init__(
        self,
        total: int,
        desc: str = "",
        stream: TextIO | None = None,
        width: int = 24,
        min_interval: float = 0.1,
        tty: bool | None = None,
    ):
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise ValueError(f"total={total!r} is not accepted; expected an int >= 0")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width={width!r} is not accepted; expected a positive int")
        self.total = total
        self.desc = desc
        self.stream = sys.stdout if stream is None else stream
        self.width = width
        self.min_interval = float(min_interval)
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty()) if callable(isatty) else False
        self.tty = tty
        self.n = 0
        self.postfix: dict[str, object] = {}
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._closed = False
        self._last_len = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the bar was created."""
        return time.perf_counter() - self._start

    def update(self, n: int = 1, **postfix: object) -> None:
        """Advance by ``n`` steps and set the ``key=value`` fields shown after the bar."""
        self.n = min(self.total, self.n + n) if self.total else self.n + n
        self.postfix.update(postfix)
        if self.tty:
            now = time.perf_counter()
            if now - self._last_draw >= self.min_interval or self.n >= self.total:
                self._last_draw = now
                self._draw(end="")

    def set_postfix(self, **postfix: object) -> None:
        """Set the ``key=value`` fields without advancing."""
        self.postfix.update(postfix)

    def render(self) -> str:
        """Return the current line (without carriage return or newline)."""
        frac = self.n / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = self.elapsed
        if 0 < self.n < self.total:
            timing = f"{_format_seconds(elapsed)}<{_format_seconds(elapsed * (self.total - self.n) / self.n)}"
        else:
            timing = _format_seconds(elapsed)
        parts = [f"{self.desc} |{bar}| {self.n}/{self.total} [{timing}]".lstrip()]
        for key, value in self.postfix.items():
            parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
        return " ".join(parts)

    def _draw(self, end: str) -> None:
        line = self.render()
        pad = " " * max(0, self._last_len - len(line))
        self._last_len = len(line)
        self.stream.write(("\r" if self.tty else "") + line + pad + end)
        self.stream.flush()

    def close(self) -> None:
        """Finish the line (terminal) or write the final state as one plain line (otherwise)."""
        if self._closed:
            return
        self._closed = True
        self._draw(end="\n")

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
