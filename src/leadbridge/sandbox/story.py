"""A few scripted weeks of a B2B funnel, acted by the sandbox's people: the demo's plot.

Each simulated day the marketer brings in new people, some respond to
content, scores rise, a few raise their hands; the sales reps work the
Salesforce leads that exist by then: accept most, hand some back with a
reason, disqualify a few, convert the accepted ones, and win, lose or pause
their deals. A few leads are never touched, so they go stale: the stuck
leads the SLA alerts are for. Competitors show up and score high.

Each newcomer has an intent, hidden from the bridge: about a third are buyers, who fit
better (see people_data.BUYER_TITLES), come back to content more often, raise their hands
more, and whom reps accept, convert and win more often. So a score that reads fit and
engagement well puts buyers in its higher bands, and the closed-loop report can show it.

The reps only act on what Salesforce holds, so the story stays true to
whatever the bridge did in between: it is driven by the world's state, not
by a fixed list of ids. Everything is drawn from one seed, so a demo repeats.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.hubspot import HubSpotSim
from leadbridge.sandbox.people_data import HUBSPOT_SOURCES, make_person
from leadbridge.sandbox.salesforce import SalesforceSim

DAY = 86_400.0
COMPETITOR_DOMAINS = ("pipelinehq.com", "funnelforge.io")
RECYCLE_REASONS = ("Bad Timing", "No Budget", "No Authority", "Went Dark")
LOSS_REASONS = ("Competitor", "Price", "No Decision", "Timing")  # Loss_Reason__c values
# Odds per lead per day, for the rep's next move at each status: a base, and what a
# lead's intent (0 to 1) adds. A lead the story did not bring in has NEUTRAL intent.
ACCEPT, RECYCLE, DISQUALIFY = (0.25, 0.40), (0.18, -0.12), (0.10, -0.08)
CONVERT = (0.15, 0.40)
WIN, LOSE, HOLD = (0.08, 0.30), (0.20, -0.14), (0.05, 0.0)
BUYERS = 0.35  # the share of newcomers who will buy
NEUTRAL = 0.4


def _odds(odds: tuple[float, float], intent: float) -> float:
    return odds[0] + odds[1] * intent


@dataclass
class Story:
    """Call `play_day()` once per simulated day; sync between days to let the bridge work."""

    hubspot: HubSpotSim
    salesforce: SalesforceSim
    clock: SimClock
    leads: int = 300
    days: int = 21
    seed: int = 0
    acted: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._day = 0
        self._people = 0
        self._ignored: set[str] = set()  # leads no rep will ever touch: the stuck ones
        self._seen: dict[str, int] = {}  # Salesforce record id -> day the rep first saw it
        self._intent: dict[str, float] = {}  # email -> how likely the person is to buy
        self._deal_intent: dict[str, float] = {}  # opportunity id -> its buyer's intent

    @property
    def day(self) -> int:
        return self._day

    @property
    def untouched(self) -> frozenset[str]:
        """Salesforce leads no rep will ever work: they go stale in their stage."""
        return frozenset(self._ignored)

    def play_day(self) -> None:
        """Advances the clock a day, then lets marketing and sales act."""
        self.clock.advance(DAY)
        self._day += 1
        self._marketing()
        self._sales()

    def _marketing(self) -> None:
        rng = self._rng
        arriving = self.leads // self.days + (1 if self._day <= self.leads % self.days else 0)
        for _ in range(arriving):
            self._newcomer()
        if self._day in (3, 11):
            self._competitor()
        # Engagement: people already known open emails, attend webinars, come back; the
        # more they mean to buy, the more often.
        contacts = sorted(self.hubspot.state.all_contacts(), key=lambda c: int(c["id"]))
        for contact in rng.sample(contacts, k=min(len(contacts), max(arriving, 1) * 2)):
            properties = contact["properties"]
            intent = self._intent.get(str(properties.get("email") or ""), NEUTRAL)
            if rng.random() > 0.4 + 0.6 * intent:
                continue
            score = int(float(properties.get("hubspotscore") or 0))
            if properties.get("lifecyclestage") in ("subscriber", "lead"):
                self.hubspot.marketer.set_score(contact["id"], min(score + rng.randint(8, 30), 100))
                self.acted["score_up"] += 1
                if rng.random() < intent * 0.6:
                    self.hubspot.marketer.fill_form(
                        contact["id"], rng.choice(("webinar", "download"))
                    )
                    self.acted["came_back"] += 1
            elif score < 60 and rng.random() < 0.3:  # a handed-back lead warming up again
                self.hubspot.marketer.set_score(contact["id"], rng.randint(60, 85))
                self.acted["re_engaged"] += 1

    def _newcomer(self) -> None:
        rng = self._rng
        buyer = rng.random() < BUYERS
        person = make_person(rng, 10_000 + self._people, buyer=buyer)
        self._people += 1
        self._intent[person.email] = rng.uniform(0.6, 1.0) if buyer else rng.uniform(0.0, 0.4)
        contact = self.hubspot.marketer.new_contact(
            person.email,
            person.first_name,
            person.last_name,
            person.company,
            person.title,
            person.industry,
            person.employees,
            rng.choice(HUBSPOT_SOURCES),
            country=person.country,
        )
        self.acted["new_contact"] += 1
        demo, sales, content = (0.12, 0.18, 0.85) if buyer else (0.03, 0.05, 0.55)
        roll = rng.random()
        if roll < demo:
            self.hubspot.marketer.fill_form(contact, "demo_request")
            self.acted["demo_request"] += 1
        elif roll < sales:
            self.hubspot.marketer.fill_form(contact, "contact_sales")
            self.acted["contact_sales"] += 1
        elif roll < content:
            self.hubspot.marketer.fill_form(contact, rng.choice(("download", "webinar")))
            self.acted["content"] += 1

    def _competitor(self) -> None:
        person = make_person(self._rng, 10_000 + self._people)
        self._people += 1
        email = f"{person.first_name}.{person.last_name}@{self._rng.choice(COMPETITOR_DOMAINS)}"
        contact = self.hubspot.marketer.new_contact(
            email.lower(), person.first_name, person.last_name, "A Competitor", "Product Manager"
        )
        self.hubspot.marketer.fill_form(contact, "download")
        self.hubspot.marketer.set_score(contact, 90)
        self.acted["competitor"] += 1

    def _sales(self) -> None:
        rep, rng = self.salesforce.rep, self._rng
        for lead in self._records("Lead"):
            if lead.get("IsConverted") or self._stays_untouched(lead["Id"]):
                continue
            intent = self._intent.get(str(lead.get("Email") or "").lower(), NEUTRAL)
            status = lead.get("Status")
            roll = rng.random()
            accept, recycle = _odds(ACCEPT, intent), _odds(RECYCLE, intent)
            if status == "Open":
                if roll < accept:
                    rep.set_status(lead["Id"], "Working")
                    self.acted["accepted"] += 1
                elif roll < accept + recycle:
                    rep.set_status(lead["Id"], "Recycled", rng.choice(RECYCLE_REASONS))
                    self.acted["recycled"] += 1
                elif roll < accept + recycle + _odds(DISQUALIFY, intent):
                    rep.set_status(lead["Id"], "Disqualified", "Other")
                    self.acted["disqualified"] += 1
            elif status in ("Working", "Qualified") and roll < _odds(CONVERT, intent):
                made = rep.convert(lead["Id"], amount=float(rng.randrange(8_000, 90_000, 500)))
                if made["opportunity_id"] is not None:
                    self._deal_intent[made["opportunity_id"]] = intent
                self.acted["converted"] += 1
        for deal in self._records("Opportunity"):
            if deal.get("IsClosed") or deal.get("StageName") == "On Hold":
                continue
            intent = self._deal_intent.get(deal["Id"], NEUTRAL)
            win, lose = _odds(WIN, intent), _odds(LOSE, intent)
            roll = rng.random()
            if roll < win:
                rep.close_opportunity(deal["Id"], won=True)
                self.acted["won"] += 1
            elif roll < win + lose:
                rep.close_opportunity(deal["Id"], won=False, reason=rng.choice(LOSS_REASONS))
                self.acted["lost"] += 1
            elif roll < win + lose + _odds(HOLD, intent):
                rep.set_stage(deal["Id"], "On Hold")
                self.acted["on_hold"] += 1

    def _records(self, sobject: str) -> list[dict[str, Any]]:
        """Records as the rep finds them today; one that appeared today waits until tomorrow."""
        ready = []
        for record in sorted(self.salesforce.state.records(sobject), key=lambda r: str(r["Id"])):
            first = self._seen.setdefault(record["Id"], self._day)
            if first < self._day:
                ready.append(record)
        return ready

    def _stays_untouched(self, lead_id: str) -> bool:
        # About one lead in ten is never worked: nobody owns it, it goes stale.
        if lead_id not in self._seen or self._seen[lead_id] != self._day - 1:
            return lead_id in self._ignored
        if self._rng.random() < 1 / 10:
            self._ignored.add(lead_id)
        return lead_id in self._ignored
