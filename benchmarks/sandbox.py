"""How fast the simulated HubSpot serves batch reads through hubspot-api-client.

Starts `leadbridge sandbox` in its own process (rate limits off), then drives
batch reads of 100 contacts from client processes for a fixed time, twice:

- `served`: the client sends each request and reads the raw answer
  (`_preload_content=False`): what the simulator can serve, the figure the
  issue's target (>= 300 a second) is about;
- `decoded`: the client also builds its model objects from each answer, which
  costs the client ~10 ms per 100 contacts (dateutil parsing every timestamp):
  what a caller that wants objects gets on this machine.

Both share the machine's cores with the simulator, so both are lower bounds.
The last line is one JSON object, with `targets_met` computed from this run's `served`
figures against TARGETS below: at least 300 batch reads a second (issue 2's "Done when":
so the simulators are never the bottleneck of later benchmarks), every answer holding its
100 contacts. Run: `make bench` or
`.venv/bin/python benchmarks/sandbox.py [--clients 2] [--seconds 10]`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.harness
from tests.harness import start_sandbox, stop_process

CONTACTS = 1000
BATCH = 100
PROPERTIES = ["email", "firstname", "lastname", "lifecyclestage", "hs_lead_status"]
TARGETS = {"served_batch_reads_per_second": 300, "served_errors": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="per mode")
    args = parser.parse_args()

    started = time.monotonic()
    sandbox, info = start_sandbox(leads=CONTACTS)
    try:
        start_seconds = time.monotonic() - started
        ids = _contact_ids(info)
        figures: dict[str, Any] = {"sandbox_start_seconds": round(start_seconds, 2)}
        with multiprocessing.Pool(args.clients) as pool:
            for mode in ("served", "decoded"):
                _counted(info, reset=True)
                work = [(info, ids, args.seconds, mode == "decoded")] * args.clients
                results = pool.starmap(_drive, work)
                requests = sum(count for count, _ in results)
                figures[f"{mode}_batch_reads_per_second"] = round(requests / args.seconds, 1)
                figures[f"{mode}_errors"] = sum(failed for _, failed in results)
                # The clients' figure, checked against what the sandbox counted serving.
                figures[f"{mode}_batch_reads_counted_by_sandbox"] = _counted(info)
    finally:
        stop_process(sandbox)
    figures.update(
        contacts_per_read=BATCH,
        clients=args.clients,
        seconds_per_mode=args.seconds,
        cpus=os.cpu_count(),
        target_batch_reads_per_second=TARGETS["served_batch_reads_per_second"],
    )
    figures["targets_met"] = targets_met(figures)
    print(json.dumps(figures))


def targets_met(figures: dict[str, Any]) -> dict[str, bool]:
    rate = figures["served_batch_reads_per_second"]
    return {
        "served_at_least_300_per_second": rate >= TARGETS["served_batch_reads_per_second"],
        "no_errors": figures["served_errors"] <= TARGETS["served_errors"],
    }


def _counted(info: dict[str, Any], *, reset: bool = False) -> int:
    """Batch reads the simulated HubSpot served (GET /_sandbox/requests; DELETE also restarts
    the count)."""
    import requests

    url = info["hubspot"]["url"] + "/_sandbox/requests"
    method = requests.delete if reset else requests.get
    answer = method(url, verify=info["ca_bundle"], timeout=30)
    answer.raise_for_status()
    return sum(
        row["count"]
        for row in answer.json()["requests"]
        if row["endpoint"] == "/crm/v3/objects/contacts/batch/read"
    )


def _client(info: dict[str, Any]) -> Any:
    from hubspot import HubSpot

    hubspot = info["hubspot"]
    return HubSpot(
        access_token=hubspot["token"], host=hubspot["url"], ssl_ca_cert=info["ca_bundle"]
    )


def _contact_ids(info: dict[str, Any]) -> list[str]:
    pages = _client(info).crm.contacts.basic_api
    ids: list[str] = []
    after = None
    while True:
        page = pages.get_page(limit=100, after=after)
        ids.extend(contact.id for contact in page.results)
        if page.paging is None or page.paging.next is None:
            return ids
        after = page.paging.next.after


def _drive(info: dict[str, Any], ids: list[str], seconds: float, decode: bool) -> tuple[int, int]:
    """Batch reads for `seconds`; returns (requests, answers without 100 contacts)."""
    from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

    batch_api = _client(info).crm.contacts.batch_api  # one pool: each access builds a new one
    bodies = [
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids[start : start + BATCH]],
            properties=PROPERTIES,
            properties_with_history=[],
        )
        for start in range(0, len(ids) - BATCH + 1, BATCH)
    ]
    count = failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = bodies[count % len(bodies)]
        if decode:
            got = len(batch_api.read(body).results)
        else:
            raw = batch_api.read(body, _preload_content=False)
            got = len(json.loads(raw.data)["results"]) if raw.status == 200 else 0
        failed += got != BATCH
        count += 1
    return count, failed


if __name__ == "__main__":
    main()
