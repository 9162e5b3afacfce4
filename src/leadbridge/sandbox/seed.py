"""Preloads a sandbox with a plausible mid-life funnel: contacts in HubSpot, leads in Salesforce.

The world is deliberately not in sync, because the product exists to fix
that: most sales-stage contacts have their Salesforce Lead, some MQLs have
none yet (the crack leads fall through), and some leads were born in
Salesforce and never reached HubSpot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from leadbridge.sandbox.hubspot import HubSpotSim
from leadbridge.sandbox.people_data import HUBSPOT_SOURCES, SALESFORCE_SOURCES, Person, make_person
from leadbridge.sandbox.salesforce import SalesforceSim

# (lifecyclestage, weight, score range)
STAGE_MIX = (
    ("subscriber", 30, (0, 15)),
    ("lead", 35, (5, 55)),
    ("marketingqualifiedlead", 15, (60, 85)),
    ("salesqualifiedlead", 8, (65, 95)),
    ("opportunity", 5, (70, 100)),
    ("customer", 4, (70, 100)),
)
SALESFORCE_ONLY_SHARE = 0.1  # leads a rep entered (trade show, phone) that HubSpot never saw
MQL_WITHOUT_LEAD_SHARE = 0.3  # MQLs still waiting for their Salesforce Lead


@dataclass(frozen=True)
class Population:
    contacts: int
    leads: int
    converted: int


def populate(hubspot: HubSpotSim, salesforce: SalesforceSim, count: int, seed: int) -> Population:
    rng = random.Random(seed)
    stages = [stage for stage, _, _ in STAGE_MIX]
    weights = [weight for _, weight, _ in STAGE_MIX]
    scores = {stage: span for stage, _, span in STAGE_MIX}
    contacts = leads = converted = 0
    for serial in range(count):
        person = make_person(rng, serial)
        if rng.random() < SALESFORCE_ONLY_SHARE:
            _salesforce_lead(salesforce, person, rng.choice(SALESFORCE_SOURCES), "Open")
            leads += 1
            continue
        stage = rng.choices(stages, weights)[0]
        hubspot.state.create_contact(
            {
                "email": person.email,
                "firstname": person.first_name,
                "lastname": person.last_name,
                "company": person.company,
                "jobtitle": person.title,
                "phone": person.phone,
                "industry": person.industry,
                "country": person.country,
                "numemployees": person.employees,
                "hs_analytics_source": rng.choice(HUBSPOT_SOURCES),
                "hubspotscore": str(rng.randint(*scores[stage])),
                "lifecyclestage": stage,
            }
        )
        contacts += 1
        if stage in ("subscriber", "lead"):
            continue
        if stage == "marketingqualifiedlead" and rng.random() < MQL_WITHOUT_LEAD_SHARE:
            continue
        status = {"marketingqualifiedlead": "Open", "salesqualifiedlead": "Working"}.get(
            stage, "Qualified"
        )
        lead_id = _salesforce_lead(salesforce, person, "Web", status)
        leads += 1
        if stage in ("opportunity", "customer"):
            ids = salesforce.state.convert_lead(lead_id, create_opportunity=True)
            converted += 1
            opportunity = ids["opportunity_id"]
            if stage == "customer" and opportunity is not None:
                salesforce.state.update(
                    "Opportunity",
                    opportunity,
                    {"StageName": "Closed Won", "Amount": rng.randrange(5_000, 120_000, 500)},
                )
    return Population(contacts, leads, converted)


def _salesforce_lead(salesforce: SalesforceSim, person: Person, source: str, status: str) -> str:
    return salesforce.state.create(
        "Lead",
        {
            "Email": person.email,
            "FirstName": person.first_name,
            "LastName": person.last_name,
            "Company": person.company,
            "Title": person.title,
            "Phone": person.phone,
            "LeadSource": source,
            "Status": status,
        },
    )
