"""A state database holding the scripted story, on SQLite and on PostgreSQL.

On PostgreSQL each test gets its own schema through the URL's search_path
(as tests/store does), so tests running side by side never share tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadbridge.model import Cause, Lead, System, Transition
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade
from leadbridge.store.tables import leads
from tests.report import story
from tests.schemas import fresh_schema

# A duplicate of Dana that was folded into her: its journal must not count twice.
GHOST = "dana-duplicate"


@pytest.fixture
def state_url(database_url: str) -> Iterator[str]:
    """An upgraded, empty state database."""
    if not database_url.startswith("postgresql"):
        upgrade(database_url)
        yield database_url
        return
    with fresh_schema(database_url) as url:
        upgrade(url)
        yield url


@pytest.fixture
def story_url(state_url: str) -> str:
    """The story stored the way the sync stores it: leads, links and journal, per lead."""
    fill(state_url)
    return state_url


def fill(url: str) -> None:
    with Store.open(url, clock=lambda: story.NOW) as store, store.transaction() as uow:
        for person in story.PEOPLE:
            uow.leads.save(story.lead(person))
            uow.links.link(person.id, System.HUBSPOT, "contact", f"hs-{person.id}")
            uow.journal.append(person.id, story.transitions(person))
        cause = Cause(System.HUBSPOT, "contact", "hs-ghost", story.at(1))
        uow.leads.save(Lead(GHOST, "lead", story.at(1)))
        uow.journal.append(
            GHOST, [Transition("subscriber", "lead", "to_lead", "", cause, story.at(1))]
        )
        # The store has no public "fold" yet; the pointer is what Leads.resolve follows.
        uow.connection.execute(leads.update().where(leads.c.id == GHOST).values(merged_into="dana"))
