"""A state database holding the scripted story, on SQLite and on PostgreSQL.

On PostgreSQL each test gets its own schema through the URL's search_path
(as tests/store does), so tests running side by side never share tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from leadbridge.model import Cause, Lead, System, Transition
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade
from leadbridge.store.tables import leads
from tests.report import story

# A duplicate of Dana that was folded into her: its journal must not count twice.
GHOST = "dana-duplicate"


@pytest.fixture
def state_url(database_url: str) -> Iterator[str]:
    """An upgraded, empty state database."""
    if not database_url.startswith("postgresql"):
        upgrade(database_url)
        yield database_url
        return
    schema = f"r_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(database_url)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = sa.make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


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
