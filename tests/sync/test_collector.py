"""The collector is paced while a backlog is decided, and left as it was after."""

from __future__ import annotations

import gc

import pytest

from leadbridge.sync import collector


def test_paced_freezes_and_raises_the_threshold_then_restores_both() -> None:
    before = gc.get_threshold()
    with collector.paced():
        assert gc.get_threshold()[0] == max(collector.YOUNGEST, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_nested_blocks_restore_only_when_the_outer_one_ends() -> None:
    before = gc.get_threshold()
    with collector.paced():
        with collector.paced():
            pass
        assert gc.get_threshold()[0] == max(collector.YOUNGEST, before[0])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_error_inside_still_restores() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector.paced():
        raise RuntimeError("stop")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_inside_are_still_collected() -> None:
    with collector.paced():
        ring: list[object] = []
        ring.append(ring)
        del ring
        assert gc.collect() >= 1
