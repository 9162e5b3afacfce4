"""The budget governor paces under the window and pauses at its own cap or the service's floor."""

from __future__ import annotations

import pytest

from leadbridge.connectors.budget import BudgetPaused, Governor


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_paces_under_the_ten_second_window_with_headroom() -> None:
    time = FakeTime()
    governor = Governor(window_limit=100, headroom=0.9, clock=time.clock, sleep=time.sleep)
    for _ in range(90):
        governor.acquire()
    assert time.slept == []
    governor.acquire()  # the 91st must wait for the first to leave the window
    assert len(time.slept) == 1
    assert 9.9 < time.slept[0] <= 10.01
    assert governor.state().window_used <= 90


def test_never_more_than_the_limit_in_any_window() -> None:
    time = FakeTime()
    governor = Governor(window_limit=190, headroom=1.0, clock=time.clock, sleep=time.sleep)
    stamps = []
    for _ in range(1000):
        governor.acquire()
        stamps.append(time.now)
        time.now += 0.001
    for index, stamp in enumerate(stamps):
        inside = [s for s in stamps[index:] if s < stamp + 10.0]
        assert len(inside) <= 190


def test_pauses_at_its_own_share_and_resumes_the_next_day() -> None:
    time = FakeTime()
    governor = Governor(
        window_limit=None,
        daily_limit=1000,
        own_daily_share=0.25,
        clock=time.clock,
        sleep=time.sleep,
    )
    for _ in range(250):
        governor.acquire()
    with pytest.raises(BudgetPaused, match="250 of the 250 daily API calls"):
        governor.acquire()
    assert governor.state().paused
    time.now += 86_400
    governor.acquire()
    assert not governor.state().paused


def test_the_services_count_meets_the_floor_not_our_own_cap() -> None:
    time = FakeTime()
    governor = Governor(
        window_limit=100,
        headroom=1.0,
        daily_limit=1000,
        own_daily_cap=500,
        org_floor=100,
        clock=time.clock,
        sleep=time.sleep,
    )
    governor.observe(daily_used=899)  # the other apps' calls: 101 left, above the floor
    governor.acquire()
    state = governor.state()
    assert (state.daily_used, state.daily_allowed, state.org_used) == (1, 500, 899)
    governor.observe(daily_used=901)
    with pytest.raises(BudgetPaused, match=r"fewer than budget\.min_org_calls_left"):
        governor.acquire()
    governor.observe(daily_used=10)  # the service's day rolled over: calls are free again
    governor.acquire()
    assert governor.state().daily_used == 2  # only our own calls count against our cap
    other = Governor(window_limit=100, headroom=1.0, clock=time.clock, sleep=time.sleep)
    other.observe(window_used=100)  # another app on the portal spent the window
    other.acquire()
    assert time.slept, "a full shared window must make us wait"


def test_the_pause_reasons_name_the_services_whole_and_floor_setting() -> None:
    time = FakeTime()
    governor = Governor(
        window_limit=None,
        daily_limit=1000,
        org_floor=100,
        whole="the portal",
        floor_setting="budget.min_portal_calls_left",
        clock=time.clock,
    )
    governor.observe(daily_used=950)
    with pytest.raises(BudgetPaused) as paused:
        governor.acquire()
    assert str(paused.value) == (
        "the portal's daily API headroom is below the floor: 50 of its 1000 calls left, "
        "fewer than budget.min_portal_calls_left (100); leadbridge itself made 0 of them"
    )
    spent = governor.org_spent()
    assert spent.reason.startswith("the portal's daily API allocation is spent by all its")
    assert "(1000 of 1000)" in spent.reason


def test_fractions_are_checked() -> None:
    with pytest.raises(ValueError, match="fractions"):
        Governor(window_limit=10, own_daily_share=1.5)
    with pytest.raises(ValueError, match="fractions"):
        Governor(window_limit=10, own_daily_share=0.0)


def test_a_slow_answer_does_not_turn_our_own_burst_into_other_apps_calls() -> None:
    time = FakeTime()
    governor = Governor(window_limit=20, headroom=0.9, clock=time.clock, sleep=time.sleep)
    for _ in range(18):  # a burst over 0.17 s; the service counts each as it arrives
        governor.acquire()
        time.now += 0.01
    governor.acquire()  # the 19th waits until the first has left the window
    assert len(time.slept) == 1
    time.now += 0.3  # a loaded machine: its answer comes 0.3 s later
    # The service counted the 19 calls on arrival, a moment after each acquire: the first is
    # still in its window. Ours, compared as of the acquire, are 18: one other call, no more.
    governor.observe(window_used=19)
    # By now the burst has left the window: the 20th goes at once (it waited 9.7 s more when
    # our calls were expired at the answer and the service's count taken for other apps').
    governor.acquire()
    assert len(time.slept) == 1, time.slept
    assert governor.state().window_used == 3  # the 19th, the other app's one, the 20th
