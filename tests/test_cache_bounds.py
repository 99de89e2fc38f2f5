"""Process-wide caches are bounded: the He-init standard deviations and the in-memory PDO stencils (LRUs)."""

from __future__ import annotations

import numpy as np
import pytest

from structconv.diffops import cache as dcache
from structconv.nn import init as sinit


def test_he_std_cache_is_a_bounded_lru(monkeypatch):
    from structconv.gspaces import Rot2dOnR2
    from structconv.nn import FieldType, R2Conv

    monkeypatch.setattr(sinit, "STD_CACHE_SIZE", 4)
    monkeypatch.setattr(sinit, "_STD_CACHE", type(sinit._STD_CACHE)())
    gs = Rot2dOnR2(4)
    t_in = FieldType(gs, [gs.trivial_repr])

    def build(width: int):
        R2Conv(t_in, FieldType(gs, [gs.regular_repr] * width), 3)
        return next(reversed(sinit._STD_CACHE))  # the structure just used is the most recent

    keys = {w: build(w) for w in (1, 2, 3, 4)}
    assert len(sinit._STD_CACHE) == 4
    assert build(1) == keys[1]  # a hit: width 1 becomes the most recently used
    keys[5] = build(5)  # evicts the least recently used: width 2
    assert len(sinit._STD_CACHE) == 4
    assert list(sinit._STD_CACHE) == [keys[3], keys[4], keys[1], keys[5]]
    for width in range(6, 12):  # building and discarding ever new widths holds at most 4 arrays
        build(width)
        assert len(sinit._STD_CACHE) == 4


@pytest.fixture
def fresh_stencils():
    saved = dict(dcache._STENCILS)
    dcache.clear_cache()
    yield
    dcache.clear_cache()
    dcache._STENCILS.update(saved)


def test_stencil_cache_is_a_bounded_lru(monkeypatch, fresh_stencils):
    monkeypatch.setattr(dcache, "MAX_ENTRIES", 3)
    keys = [dcache.StencilKey("fd", 3, 1, None, "", order) for order in range(5)]
    for key in keys[:3]:
        dcache.insert(key, np.zeros((key.order + 1, 9)))
    assert dcache.lookup(keys[0]) is not None  # keys[0] becomes the most recently used
    dcache.insert(keys[3], np.zeros((4, 9)))
    dcache.insert(keys[4], np.zeros((5, 9)))
    assert dcache.cache_size() == 3
    assert [k.order for k in dcache._STENCILS] == [0, 3, 4]
