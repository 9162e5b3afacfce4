"""The Salesforce connector at volume: load, backfill and update leads through the real client.

Starts `leadbridge sandbox --leads 0` in its own process (the org's default
daily allocation of 100,000 calls on), points the shipped
connectors/salesforce.yaml at it, and through SalesforceConnector:

1. loads 100,000 leads as creates (collection upserts by Leadbridge_Id__c, 200 a call),
2. backfills them (SOQL pages of 2,000 through nextRecordsUrl),
3. writes 10,000 updates (collections of 200).

The simulated org has no per-second request window (Salesforce has none, only
the daily allocation), so the rates below are what the simulator and client
sustain on this machine, sharing its cores. The last line is one JSON object:
records/s per phase, API calls used (the org's own count, from Sforce-Limit-Info)
against the minimum possible, the requests the connector sent (by kind) beside those the
org counted serving (logins included), peak RSS of this process, records failed, and
`targets_met`, computed from those figures against TARGETS below, issue 3's "Done when":
API calls <= 1.05x the minimum, peak RSS < 200 MB, zero records failed (issue 3's
throughput target is about a rate limit, which Salesforce does not have: HubSpot's part).
Run: `.venv/bin/python benchmarks/connectors_salesforce.py [--leads 100000] [--updates 10000]`.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.model import RecordWrite, System
from leadbridge.sync.runtime import sandbox_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests
from tests.connectors.salesforce.support import shipped_settings
from tests.harness import start_sandbox, stop_process

PAGE, COLLECTION = 2000, 200
WRITES_PER_APPLY = 10_000  # what one writer cycle might hand over
TARGETS = {"api_calls_ratio_at_most": 1.05, "peak_rss_mb_below": 200, "records_failed_at_most": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tls_dir:
        sandbox, info = start_sandbox(Path(tls_dir), leads=0, limits=True)
        try:
            figures = run(info, args.leads, args.updates)
        finally:
            stop_process(sandbox, timeout=30)
    figures["targets_met"] = targets_met(figures)
    print(json.dumps(figures))


def targets_met(figures: dict[str, Any]) -> dict[str, bool]:
    return {
        "api_calls_within_1.05x": figures["api_calls_ratio"] <= TARGETS["api_calls_ratio_at_most"],
        "peak_rss_below_200mb": figures["peak_rss_mb"] < TARGETS["peak_rss_mb_below"],
        "zero_records_failed": figures["records_failed"] <= TARGETS["records_failed_at_most"],
    }


def run(info: dict[str, Any], leads: int, updates: int) -> dict[str, Any]:
    settings = shipped_settings(sandbox_env(info))
    failed = 0
    with SalesforceConnector(settings) as salesforce:
        key = settings.external_id_field
        started = time.perf_counter()
        for first in range(0, leads, WRITES_PER_APPLY):
            writes = [
                RecordWrite(
                    System.SALESFORCE,
                    "Lead",
                    None,
                    (
                        {
                            "LastName": f"Lead {n}",
                            "Company": "Bench Co",
                            "Email": f"b{n}@bench.example",
                        },
                    ),
                    key=(key, f"bench-{n}"),
                )
                for n in range(first, min(first + WRITES_PER_APPLY, leads))
            ]
            failed += sum(not result.ok for result in salesforce.apply(writes))
        load_seconds = time.perf_counter() - started
        calls_after_load = _used(salesforce)
        # A window ends at the last whole second, so leads written this second wait a poll.
        time.sleep(1.1)

        started = time.perf_counter()
        read = 0
        keep: list[str] = []
        cursor = None
        for page in salesforce.changes("Lead", None, now=datetime.now(UTC)):
            read += len(page.changes)
            if len(keep) < updates:
                keep.extend(change.id for change in page.changes[: updates - len(keep)])
            cursor = page.cursor  # what the sync would save with the page
        read_seconds = time.perf_counter() - started
        calls_after_read = _used(salesforce)

        started = time.perf_counter()
        for first in range(0, len(keep), WRITES_PER_APPLY):
            writes = [
                RecordWrite(System.SALESFORCE, "Lead", lead, ({"Rating": "Hot", "Title": "Buyer"},))
                for lead in keep[first : first + WRITES_PER_APPLY]
            ]
            failed += sum(not result.ok for result in salesforce.apply(writes))
        update_seconds = time.perf_counter() - started
        calls_used = _used(salesforce)
        connector_requests = dict(salesforce.requests)  # every try and login it sent
        retries = salesforce.stats.retries
    served = _served(info)

    minimum = {
        "load": math.ceil(leads / COLLECTION),
        "backfill": math.ceil(leads / PAGE),
        "updates": math.ceil(len(keep) / COLLECTION),
    }
    used = {
        "load": calls_after_load,
        "backfill": calls_after_read - calls_after_load,
        "updates": calls_used - calls_after_read,
    }
    return {
        "system": "salesforce",
        "leads_loaded_per_second": round(leads / load_seconds, 1),
        "leads_read_per_second": round(read / read_seconds, 1),
        "leads_updated_per_second": round(len(keep) / update_seconds, 1),
        "leads_read": read,
        "leads_updated": len(keep),
        "api_calls_used": calls_used,
        "api_calls_minimum": sum(minimum.values()),
        "api_calls_ratio": round(calls_used / sum(minimum.values()), 3),
        "api_calls_by_phase": used,
        "api_calls_minimum_by_phase": minimum,
        "connector_requests": connector_requests,
        "requests_served": served,
        "retries": retries,
        "cursor_recent_pairs": len(cursor.recent) if cursor else 0,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "records_failed": failed,
    }


def _served(info: dict[str, Any]) -> dict[str, int]:
    """The requests the org served by kind, by its own count (it runs in another process)."""
    answer = requests.get(
        info["salesforce"]["url"] + "/_sandbox/requests", verify=info["ca_bundle"], timeout=30
    )
    answer.raise_for_status()
    rows = answer.json()["requests"]
    logins = sum(r["count"] for r in rows if r["endpoint"] == "/services/oauth2/token")
    return {"total": int(answer.json()["total"]), "logins": logins}


def _used(salesforce: SalesforceConnector) -> int:
    """The org's own count of calls made today, as Sforce-Limit-Info last reported it."""
    budget = salesforce.health().budget
    assert budget is not None
    return budget.daily_used


if __name__ == "__main__":
    main()
