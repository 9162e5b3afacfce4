"""One person walked through the funnel in the sandbox, for the per-rule end-to-end tests.

A `Person` acts as the marketer (HubSpot) and the rep (Salesforce) would,
runs sync cycles on the pipeline `leadbridge sync` builds (the one the stories
run) and reads back what landed: the journal, the cycle's summary, the HubSpot
contact and the Salesforce records. The `at_*` helpers bring a person to a stage through
the rules themselves, asserting each step, so a broken setup names its step
instead of surfacing later as a puzzling trigger failure. `Case` and the
HS_* / SF_* values are the vocabulary test_rules.py states each rule's case in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from leadbridge.cli.sync import summary_line
from leadbridge.store.tables import inbox, journal
from leadbridge.sync.pipeline import Summary, cycle
from leadbridge.sync.runtime import Runtime, build, sandbox_env
from tests.sync.conftest import DAY, ROOT, World

FIT: dict[str, Any] = {"industry": "LOGISTICS_AND_SUPPLY_CHAIN", "numemployees": 500}
BANT = ("bant_budget", "bant_authority", "bant_need", "bant_timeline")


@dataclass(frozen=True)
class Entry:
    """One journaled transition, as the tests compare it."""

    lead_id: str
    from_stage: str
    to_stage: str
    rule: str
    reason: str
    cause_system: str
    cause_object: str


@dataclass(frozen=True)
class Cycle:
    """What one sync cycle did, with the line `leadbridge sync --once` prints for it."""

    line: str
    transitions: int
    writes: int
    write_calls: int
    parked: int

    @classmethod
    def of(cls, summary: Summary) -> Cycle:
        return cls(
            summary_line(summary),
            summary.transitions,
            sum(summary.written.values()),
            sum(summary.write_calls.values()),
            summary.parked,
        )


@contextmanager
def person_in(world: World, email: str) -> Iterator[Person]:
    """A person in `world`, and the pipeline `leadbridge sync` builds from the shipped mappings
    and connection files (real connectors over HTTPS to the sandbox, the state database).
    Built once and cycled, as `leadbridge run` does: loading the funnel each cycle, as every
    `sync --once` must, would cost most of this file's runtime and test nothing more."""
    runtime = build(
        ROOT / "mappings",
        ROOT / "connectors",
        world.database,
        sandbox_env(world.sandbox.info()),
        clock=world.sandbox.clock.now,
    )
    try:
        yield Person(world, runtime, email)
    finally:
        runtime.close()


@dataclass
class Person:
    world: World
    runtime: Runtime
    email: str
    last_name: str = "Whitaker"
    company: str = "Northwind"
    sf_lead: str | None = None
    sf_contact: str | None = None
    opportunities: list[str] = field(default_factory=list)

    # ---- the pipeline and what it recorded ----

    def sync(self) -> Cycle:
        # As World.sync: a poll interval passes first, since reads stop at the last whole
        # second before now (a change made in the same second waits for the next poll).
        self.world.later(60)
        summary = cycle(self.runtime.pipeline)
        assert summary.paused is None, summary.paused
        return Cycle.of(summary)

    def journal(self) -> list[Entry]:
        """Every transition in the world's journal, oldest first (any lead: a duplicate lead
        made by mistake would show here too)."""
        with self.runtime.pipeline.store.reading() as uow:
            rows = uow.connection.execute(sa.select(journal).order_by(journal.c.id))
            return [
                Entry(
                    r.lead_id,
                    r.from_stage,
                    r.to_stage,
                    r.rule,
                    r.reason,
                    r.cause_system,
                    r.cause_object,
                )
                for r in rows
            ]

    def set_aside(self) -> list[str]:
        """Inbox items the sync set aside, with why (not all of them reach `leadbridge parked`)."""
        with self.runtime.pipeline.store.reading() as uow:
            rows = uow.connection.execute(
                sa.select(inbox.c.system, inbox.c.object, inbox.c.record_id, inbox.c.reason)
                .where(inbox.c.status == "parked")
                .order_by(inbox.c.id)
            )
            return [f"{r.system} {r.object} {r.record_id}: {r.reason}" for r in rows]

    def step(self, action: Callable[[], object], *rules: str) -> Cycle:
        """Act, sync, and assert exactly these rules fired, in this order (for setups)."""
        before = len(self.journal())
        action()
        cycle = self.sync()
        fired = [entry.rule for entry in self.journal()[before:]]
        assert fired == list(rules), f"setup expected {rules}, journal says {fired}; {cycle.line}"
        assert cycle.parked == 0, cycle.line
        return cycle

    # ---- what landed in each system ----

    def contact(self) -> dict[str, Any]:
        return self.world.contact(self.email)

    def lifecycle_history(self) -> list[str]:
        """The contact's lifecyclestage values, oldest first, as HubSpot's history keeps them."""
        state = self.world.sandbox.hubspot.state
        with state.lock:
            found = state.lookup(self.email, "email")
            if found is None:
                return []
            return [value for value, _, _ in found.history.get("lifecyclestage", [])]

    def salesforce(self, sobject: str, record_id: str) -> dict[str, Any]:
        record = self.world.sandbox.salesforce.state.get(sobject, record_id)
        assert record is not None, (sobject, record_id)
        return dict(record)

    def salesforce_leads(self) -> list[dict[str, Any]]:
        return self.world.leads(self.email)

    def linked_lead(self) -> dict[str, Any]:
        """The one Salesforce Lead with the person's email; remembers its id."""
        lead = self.world.lead(self.email)
        assert self.sf_lead in (None, lead["Id"]), "a second Salesforce Lead appeared"
        self.sf_lead = str(lead["Id"])
        return lead

    # ---- the marketer ----

    def new_contact(self, **properties: Any) -> str:
        given = {"company": self.company, **FIT, **properties}
        return self.world.sandbox.hubspot.marketer.new_contact(
            self.email, "Dana", self.last_name, **given
        )

    def fill_form(self, form: str) -> None:
        self.world.sandbox.hubspot.marketer.fill_form(self.email, form)

    def set_score(self, score: int) -> None:
        self.world.sandbox.hubspot.marketer.set_score(self.email, score)

    def edit(self, **properties: Any) -> None:
        self.world.sandbox.hubspot.marketer.edit(self.email, **properties)
        if "email" in properties:
            self.email = str(properties["email"]).lower()

    def define_bant(self) -> None:
        """The SDR team's BANT properties: custom ones a portal admin creates."""
        state = self.world.sandbox.hubspot.state
        for name in BANT:
            state.define_property(name, type="string", field_type="text")

    # ---- the rep ----

    def create_lead(self, status: str) -> None:
        rep = self.world.sandbox.salesforce.rep
        self.sf_lead = rep.create_lead(
            last_name=self.last_name, company=self.company, email=self.email, status=status
        )

    def set_status(self, status: str, reason: str | None = None) -> None:
        assert self.sf_lead is not None
        self.world.sandbox.salesforce.rep.set_status(self.sf_lead, status, reason=reason)

    def convert(self) -> None:
        assert self.sf_lead is not None
        converted = self.world.sandbox.salesforce.rep.convert(self.sf_lead, amount=40000)
        self.sf_contact = converted["contact_id"]
        assert converted["opportunity_id"] is not None
        self.opportunities.append(converted["opportunity_id"])

    def open_opportunity(self, name: str) -> None:
        assert self.sf_contact is not None
        rep = self.world.sandbox.salesforce.rep
        self.opportunities.append(rep.open_opportunity(self.sf_contact, name, amount=15000))

    def close(self, won: bool, reason: str | None = None) -> None:
        rep = self.world.sandbox.salesforce.rep
        rep.close_opportunity(self.opportunities[-1], won=won, reason=reason)

    def set_deal_stage(self, stage: str) -> None:
        self.world.sandbox.salesforce.rep.set_stage(self.opportunities[-1], stage)


# ---- stages reached through the rules, each step asserted ----


def at_nothing(person: Person) -> None:
    """leadbridge has run against the portals once (cursors set); the person is not there yet."""
    cycle = person.sync()
    assert (cycle.transitions, cycle.writes) == (0, 0), cycle.line


def at_lead(person: Person) -> None:
    at_nothing(person)
    person.new_contact()
    person.set_score(20)
    person.step(lambda: person.fill_form("download"), "known_lead")


def at_mql(person: Person) -> None:
    at_lead(person)
    person.world.later(DAY)
    person.step(lambda: person.set_score(70), "score_and_fit")
    assert person.linked_lead()["Status"] == "Open"


def at_sql(person: Person) -> None:
    at_mql(person)
    person.world.later(DAY)
    person.step(lambda: person.set_status("Working"), "sales_accepted")


def at_opportunity(person: Person) -> None:
    at_sql(person)
    person.world.later(DAY)
    person.step(person.convert, "opportunity_open")


def at_customer(person: Person) -> None:
    at_opportunity(person)
    person.world.later(DAY)
    person.step(lambda: person.close(won=True), "closed_won")


def at_nurture(person: Person) -> None:
    at_mql(person)
    person.world.later(DAY)
    person.step(lambda: person.set_status("Recycled", reason="Bad Timing"), "sales_recycled")


def at_disqualified(person: Person) -> None:
    at_mql(person)
    person.world.later(DAY)
    person.step(lambda: person.edit(hs_lead_status="UNQUALIFIED"), "marketing_disqualified")


def at_lost_deal(person: Person) -> None:
    at_opportunity(person)
    person.world.later(DAY)
    person.step(lambda: person.close(won=False, reason="Price"), "deal_lost")


# ---- the cases' vocabulary: what each stage shows, and one case of a rule ----

EMAIL = "dana.whitaker@northwind.com"

# What each stage shows in HubSpot (stages.yaml), as the rules' writes should leave it.
HS_LEAD = {"lifecyclestage": "lead", "leadbridge_stage": "lead"}
HS_MQL = {
    "lifecyclestage": "marketingqualifiedlead",
    "leadbridge_stage": "mql",
    "hs_lead_status": "NEW",
}
HS_SQL = {
    "lifecyclestage": "salesqualifiedlead",
    "leadbridge_stage": "sql",
    "hs_lead_status": "IN_PROGRESS",
}
HS_OPPORTUNITY = {
    "lifecyclestage": "opportunity",
    "leadbridge_stage": "opportunity",
    "hs_lead_status": "OPEN_DEAL",
}
HS_CUSTOMER = {
    "lifecyclestage": "customer",
    "leadbridge_stage": "customer",
    "hs_lead_status": "OPEN_DEAL",
}


def hs_nurture(reason: str) -> dict[str, str]:
    return {
        "lifecyclestage": "lead",
        "leadbridge_stage": "nurture",
        "hs_lead_status": "BAD_TIMING",
        "leadbridge_handback_reason": reason,
    }


def hs_disqualified(reason: str) -> dict[str, str]:
    return {
        "lifecyclestage": "other",
        "leadbridge_stage": "disqualified",
        "hs_lead_status": "UNQUALIFIED",
        "leadbridge_handback_reason": reason,
    }


# A Salesforce Lead leadbridge created at the handoff (the contact's company and name).
SF_CREATED = {"Company": "Northwind", "LastName": "Whitaker", "Email": EMAIL, "LeadSource": "Web"}
SF_CONVERTED = {"IsConverted": True, "Status": "Converted"}

Action = Callable[[Person], None]


@dataclass(frozen=True)
class Case:
    rule: str
    setup: Action  # brings the person to the rule's starting stage, synced
    trigger: Action  # the change in HubSpot or Salesforce that should fire the rule
    moved: tuple[str, str, str]  # from stage, to stage, reason
    cause: tuple[str, str]  # system and object of the change that moved the lead
    hubspot: Mapping[str, str]  # contact properties afterwards
    # Salesforce afterwards, per object (the person's Lead, Contact, latest Opportunity);
    # None: leadbridge must have put nothing in Salesforce at all.
    salesforce: Mapping[str, Mapping[str, Any]] | None
    backward: bool = False  # HubSpot's lifecyclestage went back: cleared, then set
    variant: str = ""
    check: Action | None = None  # anything else this rule must leave behind

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.variant}" if self.variant else self.rule


def imported(lifecyclestage: str) -> Action:
    """A contact already at this stage in a live portal, met by leadbridge for the first time."""

    def act(person: Person) -> None:
        person.new_contact(lifecyclestage=lifecyclestage)

    return act


def at_customer_with_a_second_deal(person: Person) -> None:
    at_customer(person)
    person.world.later(DAY)
    person.step(lambda: person.open_opportunity("Northwind expansion"))  # no rule fires


def at_lead_with_partial_bant(person: Person) -> None:
    at_lead(person)
    person.define_bant()
    person.world.later(DAY)
    person.step(lambda: person.edit(bant_budget="50k", bant_authority="VP", bant_need="Q3 audit"))


def at_disqualified_with_low_score(person: Person) -> None:
    at_mql(person)
    person.world.later(DAY)
    person.step(lambda: person.set_score(35))  # a score drop moves nobody
    person.world.later(DAY)
    person.step(lambda: person.edit(hs_lead_status="UNQUALIFIED"), "marketing_disqualified")


def both_deals_won(person: Person) -> None:
    stages = [person.salesforce("Opportunity", o)["StageName"] for o in person.opportunities]
    assert stages == ["Closed Won", "Closed Won"]


def assert_salesforce(person: Person, expected: Mapping[str, Mapping[str, Any]] | None) -> None:
    state = person.world.sandbox.salesforce.state
    if expected is None:
        assert state.records("Lead") == [] and state.records("Contact") == []
        return
    found: dict[str, dict[str, Any]] = {}
    for sobject in expected:
        if sobject == "Lead":
            found[sobject] = person.linked_lead()
        elif sobject == "Contact":
            assert person.sf_contact is not None
            found[sobject] = person.salesforce("Contact", person.sf_contact)
        else:
            found[sobject] = person.salesforce(sobject, person.opportunities[-1])
    shown = {
        obj: {name: found[obj].get(name) for name in fields} for obj, fields in expected.items()
    }
    assert shown == {obj: dict(fields) for obj, fields in expected.items()}
