"""The scripted story the report tests share: eight people, twenty days, every move written out.

Times are hours after T0 (a Monday); NOW is hour 480 (day 20). Moves of one
person at the same hour are one decision (one cause), the way the engine
journals a change that fires several rules at once. The expected numbers are
worked out by hand in the tests, not here.

    person  source          moves (hour: stage entered)                   at NOW (hour 480)
    dana    paid_social     0 lead, 24 mql, 48 sql, 96 opportunity,        customer
                            336 customer
    omar    organic_search  10 lead + sql (one decision: a demo request),  opportunity
                            82 opportunity
    lee     paid_social     0 lead, 12 mql, 60 sql, 120 nurture            mql, 72h > 2d SLA
                            (bad_timing), 408 mql (re_engaged)
    priya   referrals       0 lead, 24 mql, 36 sql, 72 opportunity,        nurture, 240h < 90d
                            240 nurture (lost_to_competitor)
    carl    paid_social     5 lead, 30 disqualified (competitor)           disqualified
    sam     organic_search  0 lead, 200 mql                                mql, 280h > 2d SLA
    ivy     organic_search  100 lead + mql (one decision), 300 sql         sql, 180h > 5d SLA
    nina    (none)          no moves                                       subscriber
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadbridge.config import Funnel, load_funnel
from leadbridge.model import Cause, Lead, System, Transition

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=480)
SINCE = T0 + timedelta(hours=100)  # ivy's first decision is exactly at it: the bound is inclusive
# Sam's company comes from a CRM: whatever it holds must reach the HTML as text, never markup.
HOSTILE = 'Stone & Sons <script>alert("x")</script>'


@dataclass(frozen=True)
class Person:
    id: str
    first: str
    last: str
    source: str | None
    moves: tuple[tuple[float, str, str], ...]  # (hour, stage entered, reason)
    company: str = "Acme"
    owner: str | None = None

    @property
    def email(self) -> str:
        return f"{self.first.lower()}@example.com"


PEOPLE = (
    Person(
        "dana",
        "Dana",
        "Whitaker",
        "paid_social",
        (
            (0, "lead", "responded"),
            (24, "mql", "score_and_fit"),
            (48, "sql", "sales_accepted"),
            (96, "opportunity", "opportunity"),
            (336, "customer", "closed_won"),
        ),
    ),
    Person(
        "omar",
        "Omar",
        "Haddad",
        "organic_search",
        ((10, "lead", "responded"), (10, "sql", "demo_request"), (82, "opportunity", "opp")),
    ),
    Person(
        "lee",
        "Lee",
        "Park",
        "paid_social",
        (
            (0, "lead", "responded"),
            (12, "mql", "score_and_fit"),
            (60, "sql", "sales_accepted"),
            (120, "nurture", "bad_timing"),
            (408, "mql", "re_engaged"),
        ),
        owner="005LEE",
    ),
    Person(
        "priya",
        "Priya",
        "Raman",
        "referrals",
        (
            (0, "lead", "responded"),
            (24, "mql", "score_and_fit"),
            (36, "sql", "sales_accepted"),
            (72, "opportunity", "opportunity"),
            (240, "nurture", "lost_to_competitor"),
        ),
    ),
    Person(
        "carl",
        "Carl",
        "Rival",
        "paid_social",
        ((5, "lead", "responded"), (30, "disqualified", "competitor")),
    ),
    Person(
        "sam",
        "Sam",
        "Stone",
        "organic_search",
        ((0, "lead", "responded"), (200, "mql", "score_and_fit")),
        company=HOSTILE,
    ),
    Person(
        "ivy",
        "Ivy",
        "Chen",
        "organic_search",
        ((100, "lead", "responded"), (100, "mql", "hand_raise"), (300, "sql", "bant_known")),
        owner="005IVY",
    ),
    Person("nina", "Nina", "Novak", None, ()),
)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@functools.cache
def funnel() -> Funnel:
    """The shipped mappings (a Funnel is frozen: one load serves every test)."""
    return load_funnel(MAPPINGS)


def transitions(person: Person) -> list[Transition]:
    found, stage = [], "subscriber"
    for hours, target, reason in person.moves:
        # One cause per decision: the moves of one hour share it, as the engine's do.
        cause = Cause(System.HUBSPOT, "contact", f"hs-{person.id}", at(hours))
        found.append(Transition(stage, target, f"to_{target}", reason, cause, at(hours)))
        stage = target
    return found


def lead(person: Person) -> Lead:
    moves = transitions(person)
    fields = {
        "first_name": person.first,
        "last_name": person.last,
        "email": person.email,
        "company": person.company,
    }
    if person.source is not None:
        fields["source"] = person.source
    return Lead(
        id=person.id,
        stage=moves[-1].to_stage if moves else "subscriber",
        stage_entered_at=moves[-1].at if moves else at(-48),
        owner=person.owner,
        fields=fields,
    )


@dataclass(frozen=True)
class Entry:
    """A journal entry as compute() reads it, without a database."""

    lead_id: str
    transition: Transition


def entries() -> list[Entry]:
    """The journal in journal order: by time, then as journaled."""
    found = [Entry(p.id, t) for p in PEOPLE for t in transitions(p)]
    return sorted(found, key=lambda e: e.transition.at)  # stable: a decision keeps its order


def leads() -> list[Lead]:
    return [lead(person) for person in PEOPLE]
