"""The collector is paced while a backlog is decided, and left as it was after."""

from __future__ import annotations

import gc

import pytest

from leadbridge.sync import collector


def test_paced_freezes_and_stops_automatic_passes_then_restores_both() -> None:
    assert gc.isenabled()
    with collector.paced():
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_nested_blocks_restore_only_when_the_outer_one_ends() -> None:
    with collector.paced():
        with collector.paced():
            pass
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_an_error_inside_still_restores() -> None:
    with pytest.raises(RuntimeError), collector.paced():
        raise RuntimeError("stop")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collector.paced():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cycles_made_in_a_round_go_when_it_is_done() -> None:
    with collector.paced():
        ring: list[object] = []
        ring.append(ring)
        del ring
        gc.callbacks.append(_count)
        try:
            collector.round_done()
        finally:
            gc.callbacks.remove(_count)
    assert _collected and _collected[-1] >= 1


_collected: list[int] = []


def _count(phase: str, info: dict[str, int]) -> None:
    if phase == "stop":
        _collected.append(info["collected"])
