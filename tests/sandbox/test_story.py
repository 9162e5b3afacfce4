"""The demo's plot: marketing and sales act for weeks, driven by the world's state, repeatably."""

from __future__ import annotations

from collections import Counter

from leadbridge.sandbox.story import Story
from leadbridge.sandbox.world import Sandbox


def _play(seed: int, days: int = 12) -> tuple[Counter[str], Sandbox]:
    world = Sandbox(seed=seed)
    try:
        world.populate(200)
        story = Story(world.hubspot, world.salesforce, world.clock, leads=120, days=days, seed=seed)
        start = world.clock.now()
        for _ in range(days):
            story.play_day()
        assert (world.clock.now() - start).days == days
        return story.acted, world
    finally:
        world.stop()


def test_weeks_of_marketing_and_sales_happen() -> None:
    acted, world = _play(seed=4)
    assert acted["new_contact"] == 120  # every planned newcomer arrived
    assert acted["competitor"] == 2
    assert acted["demo_request"] + acted["contact_sales"] > 0
    assert acted["score_up"] > 50
    # Reps work the Salesforce leads the world already had: every kind of move happens.
    for move in ("accepted", "recycled", "converted", "won", "lost"):
        assert acted[move] > 0, move
    leads = world.salesforce.state.records("Lead")
    statuses = Counter(lead["Status"] for lead in leads)
    assert statuses["Recycled"] > 0
    recycled = [lead for lead in leads if lead["Status"] == "Recycled"]
    assert all(lead["Recycle_Reason__c"] for lead in recycled), "hand-backs carry a reason"
    deals = world.salesforce.state.records("Opportunity")
    assert any(deal["IsWon"] for deal in deals)
    assert any(deal["IsClosed"] and not deal["IsWon"] and deal["Loss_Reason__c"] for deal in deals)


def test_some_leads_are_never_touched_so_they_go_stale() -> None:
    world = Sandbox(seed=4)
    try:
        world.populate(200)
        story = Story(world.hubspot, world.salesforce, world.clock, leads=60, days=10, seed=4)
        story.play_day()  # the reps see today's leads tomorrow: nothing worked yet
        before = {
            lead["Id"]: lead["SystemModstamp"] for lead in world.salesforce.state.records("Lead")
        }
        for _ in range(9):
            story.play_day()
        after = {
            lead["Id"]: lead["SystemModstamp"] for lead in world.salesforce.state.records("Lead")
        }
    finally:
        world.stop()
    assert len(story.untouched) >= 3, "the SLA alerts need stuck leads"
    assert all(after[lead] == before[lead] for lead in story.untouched)
    assert sum(after[lead] != before[lead] for lead in before) > len(before) // 2


def test_the_same_seed_plays_the_same_story() -> None:
    first, _ = _play(seed=9, days=6)
    again, _ = _play(seed=9, days=6)
    other, _ = _play(seed=10, days=6)
    assert first == again
    assert first != other
