"""The two Salesforce budget limits: leadbridge's own daily calls (its own count) and a floor of
the org's remaining calls (Sforce-Limit-Info, which counts every integration)."""

from __future__ import annotations

import pytest

from leadbridge.connectors.budget import ORG_READING_SECONDS, BudgetPaused, Governor
from leadbridge.connectors.salesforce.connector import governor_for
from leadbridge.connectors.salesforce.settings import Budget
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.salesforce.support import connector_for, settings_for, shipped_settings
from tests.sandbox.salesforce_fixtures import running_org


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _governor(time: FakeTime, **limits: int | None) -> Governor:
    return Governor(window_limit=None, daily_limit=100_000, clock=time.clock, **limits)


def test_a_busy_org_does_not_pause_leadbridge_above_the_floor() -> None:
    time = FakeTime()
    governor = _governor(time, own_daily_cap=25_000, org_floor=10_000)
    governor.observe(daily_used=30_000, daily_limit=100_000)  # the other integrations
    for _ in range(10):
        governor.acquire()
    state = governor.state()
    assert not state.paused
    assert (state.daily_used, state.daily_allowed, state.org_used) == (10, 25_000, 30_000)
    governor.observe(daily_used=89_999)
    governor.acquire()  # 10,001 left: still above the floor
    governor.observe(daily_used=90_001)
    with pytest.raises(BudgetPaused) as paused:
        governor.acquire()
    assert "min_org_calls_left (10000)" in str(paused.value)
    assert "9999 of its 100000 calls left" in str(paused.value)
    assert "leadbridge itself made 11" in str(paused.value)
    assert governor.state().paused and governor.state().reason == str(paused.value)


def test_own_cap_pauses_at_leadbridges_own_count() -> None:
    time = FakeTime()
    governor = _governor(time, own_daily_cap=3, org_floor=10)
    governor.observe(daily_used=5, daily_limit=100_000)  # a quiet org
    for _ in range(3):
        governor.acquire()
    with pytest.raises(BudgetPaused) as paused:
        governor.acquire()
    assert "own daily cap" in str(paused.value) and "3 of the 3" in str(paused.value)
    assert "max_own_calls_per_day" in str(paused.value)
    time.now += 86_400
    governor.acquire()  # a new day of our own


def test_a_paused_floor_looks_again_after_a_while() -> None:
    time = FakeTime()
    governor = _governor(time, org_floor=1_000)
    governor.observe(daily_used=99_500, daily_limit=100_000)
    with pytest.raises(BudgetPaused):
        governor.acquire()
    time.now += ORG_READING_SECONDS  # the org's rolling 24 hours freed some calls, perhaps
    governor.acquire()  # one call, whose answer's header says where the org stands
    governor.observe(daily_used=50_000)
    governor.acquire()


def test_an_org_with_no_calls_left_pauses_without_a_floor() -> None:
    time = FakeTime()
    governor = _governor(time)
    governor.observe(daily_used=100_000, daily_limit=100_000)
    with pytest.raises(BudgetPaused, match="spent by all its integrations together"):
        governor.acquire()


def test_daily_share_in_an_older_file_caps_leadbridges_own_calls() -> None:
    env = {
        "SALESFORCE_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_CLIENT_ID": "id",
        "SALESFORCE_CLIENT_SECRET": "secret-value",
    }
    settings = shipped_settings(env, budget=Budget(daily_limit=1000, daily_share=0.25))
    governor = governor_for(settings)
    governor.observe(daily_used=900, daily_limit=1000)  # others used most of the day
    governor.acquire()
    assert not governor.state().paused  # once "900 of 250 calls allowed to leadbridge"
    for _ in range(249):
        governor.acquire()
    with pytest.raises(BudgetPaused, match="250 of the 250 daily API calls"):
        governor.acquire()


def test_both_own_caps_at_once_is_a_config_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="keep max_own_calls_per_day"):
        Budget(daily_share=0.5, max_own_calls_per_day=100)


def test_against_the_org_busy_but_not_paused_then_own_cap(tls_files: TLSFiles) -> None:
    with running_org(tls_files, daily_api_limit=1000) as org:
        for _ in range(900):  # every other integration of the org, before leadbridge starts
            assert org.sim.usage.spend().allowed
        lead = org.lead(Email="busy@example.com")
        budget = Budget(daily_limit=1000, max_own_calls_per_day=5, min_org_calls_left=50)
        with connector_for(org, tls_files, budget=budget) as salesforce:
            for _ in range(4):
                assert len(salesforce.read("Lead", [lead])) == 1
            health = salesforce.health()  # 904 of the org's 1000 used, 4 of them by leadbridge
            assert health.healthy, health.detail
            assert "leadbridge made 4 API calls today of 5 allowed" in health.detail
            assert "the org has 96 left today" in health.detail
            assert len(salesforce.read("Lead", [lead])) == 1
            with pytest.raises(BudgetPaused, match="own daily cap"):
                salesforce.read("Lead", [lead])
            health = salesforce.health()
            assert health.paused and "5 of the 5 daily API calls" in health.detail
            assert "max_own_calls_per_day" in health.detail
        assert org.sim.usage.used == 905  # paused before the sixth call, not refused


def test_against_the_org_the_floor_pauses_when_others_spend(tls_files: TLSFiles) -> None:
    with running_org(tls_files, daily_api_limit=1000) as org:
        lead = org.lead()
        budget = Budget(daily_limit=1000, max_own_calls_per_day=500, min_org_calls_left=200)
        with connector_for(org, tls_files, budget=budget) as salesforce:
            assert len(salesforce.read("Lead", [lead])) == 1
            for _ in range(850):  # another integration's nightly job
                org.sim.usage.spend()
            salesforce.read("Lead", [lead])  # its answer says 852 of 1000 are used: 148 left
            with pytest.raises(BudgetPaused) as paused:
                salesforce.read("Lead", [lead])
            assert "min_org_calls_left (200)" in str(paused.value)
            assert "leadbridge itself made 2" in str(paused.value)
            assert "min_org_calls_left" in salesforce.health().detail
        assert org.sim.usage.used == 852


def test_the_shipped_budget_is_the_two_limits(tls_files: TLSFiles) -> None:
    with running_org(tls_files) as org:
        governor = governor_for(settings_for(org, tls_files))
        state = governor.state()
        assert (state.daily_allowed, state.org_floor) == (25_000, 10_000)
