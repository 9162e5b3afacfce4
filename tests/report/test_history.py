"""The report's queries (store/history.py) on SQLite and PostgreSQL, against the stored story."""

from __future__ import annotations

import dataclasses

from leadbridge.model import Identity
from leadbridge.report.build import compute
from leadbridge.store import Store
from leadbridge.store.history import journal_since, live_leads, stories_since
from tests.report import story
from tests.report.conftest import GHOST

# Moves per person, from story.PEOPLE: dana 5, omar 3, lee 5, priya 5, carl 2, sam 2, ivy 3.
ALL_MOVES = 25


def test_journal_since_is_the_window_in_journal_order(story_url: str) -> None:
    with Store.open(story_url) as store, store.reading() as uow:
        everything = journal_since(uow.connection)
        window = journal_since(uow.connection, story.SINCE)
    assert len(everything) == ALL_MOVES + 1  # and the folded duplicate's one
    stamps = [e.transition.at for e in everything]
    assert stamps == sorted(stamps)
    # At or after hour 100: Ivy 100, 100 (the bound is inclusive), Lee 120, Sam 200,
    # Priya 240, Ivy 300, Dana 336, Lee 408.
    assert [(e.lead_id, e.transition.to_stage) for e in window] == [
        ("ivy", "lead"),
        ("ivy", "mql"),
        ("lee", "nurture"),
        ("sam", "mql"),
        ("priya", "nurture"),
        ("ivy", "sql"),
        ("dana", "customer"),
        ("lee", "mql"),
    ]
    assert window[0].transition.at == story.SINCE


def test_stories_since_are_whole_stories_of_the_leads_that_moved(story_url: str) -> None:
    with Store.open(story_url) as store, store.reading() as uow:
        stories = stories_since(uow.connection, story.SINCE)
        everything = stories_since(uow.connection)
    counts: dict[str, int] = {}
    for entry in stories:
        counts[entry.lead_id] = counts.get(entry.lead_id, 0) + 1
    assert counts == {"dana": 5, "lee": 5, "priya": 5, "sam": 2, "ivy": 3}
    ivy = [e.transition for e in stories if e.lead_id == "ivy"]
    assert ivy == story.transitions(story.PEOPLE[6])  # the same moves, cause and time
    assert len(everything) == ALL_MOVES + 1


def test_live_leads_leave_folded_ones_out_and_carry_identity(story_url: str) -> None:
    with Store.open(story_url) as store, store.reading() as uow:
        found = live_leads(uow.connection)
    assert [lead.id for lead in found] == sorted(p.id for p in story.PEOPLE)
    assert GHOST not in {lead.id for lead in found}
    sam = next(lead for lead in found if lead.id == "sam")
    assert sam.identity == Identity(hubspot="hs-sam")
    assert sam.fields["company"] == story.HOSTILE
    assert (sam.stage, sam.stage_entered_at) == ("mql", story.at(200))


def test_the_report_from_the_store_equals_the_report_from_memory(story_url: str) -> None:
    funnel = story.funnel()
    for since in (None, story.SINCE):
        with Store.open(story_url) as store, store.reading() as uow:
            entries = stories_since(uow.connection, since)
            leads = live_leads(uow.connection)
        stored = compute(entries, leads, funnel, story.NOW, since)
        memory = compute(story.entries(), story.leads(), funnel, story.NOW, since)
        # The duplicate's entry is the only difference: left out, and said so.
        assert stored == dataclasses.replace(memory, ignored_entries=1 if since is None else 0)
