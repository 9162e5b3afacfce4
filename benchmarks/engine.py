"""How fast the pure core maps and decides: synthetic changes through mapping + engine on one core.

Loads the shipped mappings, draws a seeded stream of changes across a pool
of leads (HubSpot contact edits, score rises and form fills; Salesforce
status changes, recycles with reasons, conversions; opportunities opening,
winning, losing), then times `engine.decide` (which merges the change
through the field mappings, applies the rules and projects both systems)
over the whole stream, carrying each lead's state forward. Prints one JSON
object on its last line:

    {"changes": ..., "seconds": ..., "changes_per_second": ..., "transitions": ...,
     "leads": ..., "peak_rss_mb": ..., "targets_met": {...}}

The target (TARGETS below, from issue 4's "Done when") is at least 20,000 changes a
second; `targets_met` is computed from this run's rate. Run:
`.venv/bin/python benchmarks/engine.py [--changes 100000] [--leads 5000] [--seed 1]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadbridge.config import load_funnel
from leadbridge.core.engine import decide, new_lead
from leadbridge.model import Change, Identity, Lead, System, Value

TARGETS = {"changes_per_second": 20_000}
MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
INDUSTRIES = ("COMPUTER_SOFTWARE", "RETAIL", "LOGISTICS_AND_SUPPLY_CHAIN", "EDUCATION_MANAGEMENT")
SIZES = ("1-5", "25-50", "100-500", "1000+")
FORMS = ("download", "webinar", "download", "webinar", "contact_sales", "demo_request")
DOMAINS = ("northwind.com", "bluepeak.io", "harbor.de", "pipelinehq.com", "mailinator.com")
STATUSES = ("Working", "Working", "Qualified", "Recycled", "Nurture", "Disqualified")
REASONS = ("Bad Timing", "No Budget", "Went Dark", "Other")
DEALS = ("Prospecting", "Needs Analysis", "Closed Won", "Closed Lost", "On Hold")


def synthetic_changes(count: int, leads: int, seed: int) -> list[tuple[int, Change]]:
    rng = random.Random(seed)
    stream = []
    for serial in range(count):
        person = rng.randrange(leads)
        at = START + timedelta(minutes=serial)
        kind = rng.random()
        fields: dict[str, Value]
        if kind < 0.6:
            system, obj, record = System.HUBSPOT, "contact", str(person)
            fields = {
                "email": f"p{person}@{DOMAINS[person % len(DOMAINS)]}",
                "firstname": f"First{person}",
                "lastname": f"Last{person}",
                "company": f"Company {person % 997}",
                "jobtitle": rng.choice(("CFO", "VP Operations", "Student")),
                "industry": INDUSTRIES[person % len(INDUSTRIES)],
                "numemployees": SIZES[person % len(SIZES)],
                "hubspotscore": str(rng.randrange(0, 100)),
                "hs_analytics_source": "PAID_SOCIAL",
                "phone": f"+1 555 {rng.randrange(1000, 9999)}",
            }
            if rng.random() < 0.3:
                fields["recent_conversion_event_name"] = rng.choice(FORMS)
        elif kind < 0.85:
            system, obj, record = System.SALESFORCE, "Lead", f"00Q{person}"
            fields = {"Email": f"p{person}@{DOMAINS[person % len(DOMAINS)]}"}
            fields["Status"] = rng.choice(STATUSES)
            if fields["Status"] in ("Recycled", "Nurture", "Disqualified"):
                fields["Recycle_Reason__c"] = rng.choice(REASONS)
            if rng.random() < 0.1:
                fields.update(IsConverted=True, ConvertedOpportunityId=f"006{person}")
        else:
            system, obj, record = System.SALESFORCE, "Opportunity", f"006{person}{rng.randrange(2)}"
            fields = {"StageName": rng.choice(DEALS), "Amount": rng.randrange(5_000, 90_000)}
        stream.append((person, Change(system, obj, record, fields, at)))
    return stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the issue asks

    funnel = load_funnel(MAPPINGS)
    stream = synthetic_changes(args.changes, args.leads, args.seed)
    state: dict[int, Lead] = {
        person: new_lead(funnel, f"lb-{person}", START, Identity(str(person), f"00Q{person}"))
        for person in range(args.leads)
    }
    transitions = 0
    started = time.perf_counter()
    for person, change in stream:
        decision = decide(state[person], change, funnel, change.modified_at)
        state[person] = decision.lead
        transitions += len(decision.transitions)
    seconds = time.perf_counter() - started

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    stages: dict[str, int] = {}
    for lead in state.values():
        stages[lead.stage] = stages.get(lead.stage, 0) + 1
    print(f"stages at the end: {json.dumps(dict(sorted(stages.items())))}")
    rate = len(stream) / seconds
    figures = {
        "changes": len(stream),
        "seconds": round(seconds, 3),
        "changes_per_second": round(rate),
        "transitions": transitions,
        "leads": args.leads,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "targets_met": {"changes_per_second": rate >= TARGETS["changes_per_second"]},
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
