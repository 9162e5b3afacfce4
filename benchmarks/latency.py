"""Issue 6's figure: how long a change in one system takes to be written in the other, with
webhooks on.

`leadbridge sandbox` (a Professional portal's limits unless --no-limits) delivers HubSpot
webhooks (v3 signed) and Salesforce Outbound Messages to a `leadbridge run` daemon; both
are subprocesses, the daemon on SQLite in a temporary directory unless --database says
otherwise. Once the preloaded people are synced, persona actions make CHANGES changes at
RATE a second, in turn:

    form      a new person fills HubSpot's demo form     -> a Salesforce Lead is created
    rep       a rep enters a lead (Working) in Salesforce -> a HubSpot contact is created
    reform    a known contact (no Lead yet) requests a demo -> a Salesforce Lead is created
    accept    a rep starts working an Open lead           -> HubSpot's stage moves to sql

Both ends are read from the simulated systems, on their one clock: the change's own stamp
(the contact's createdAt or recent_conversion_date, the Lead's CreatedDate or the
LastModifiedDate the rep's save answered) and the write's (the Lead's CreatedDate, the
contact's createdAt, or the history entry of leadbridge_stage becoming sql). API calls are
the requests the services counted while the changes were synced (GET /_sandbox/requests on
each, limits on or off); the requests the daemon counted itself, initial sync included, are
reported beside them.

Prints one JSON object on its last line, with `targets_met` computed from this run's
figures against TARGETS below: p95 < 2 s (issue 6's "Done when"), and every change landed
within SETTLE seconds (a change never written has no latency to count; `target_met`, kept
for earlier readers, is both at once).
Run: `.venv/bin/python benchmarks/latency.py [--changes 500] [--rate 10]` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.harness
from tests.harness import (
    OUTBOUND_TOKEN,
    ROOT,
    Daemon,
    daemon_env,
    free_port,
    metric,
    push_connectors,
    start_sandbox,
    stop_process,
    wait_until,
)

KINDS = ("form", "rep", "reform", "accept")
TARGETS = {"p95_seconds": 2.0, "missing": 0}
SETTLE = 60.0  # after the last change, how long writes may take to land before they count missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0, help="changes a second")
    parser.add_argument("--leads", type=int, default=1000, help="people preloaded")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temp dir)")
    parser.add_argument("--no-limits", action="store_true", help="turn the sandbox's limits off")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadbridge-latency-"))
    try:
        figures = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sandbox, info = start_sandbox(
        work / "tls", leads=args.leads, seed=args.seed, limits=not args.no_limits, timeout=120
    )
    daemon: Daemon | None = None
    try:
        world = World(info)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        world.post("hubspot", "/_sandbox/webhooks", {"url": f"{base}/webhooks/hubspot"})
        for sobject in ("Lead", "Contact"):
            url = f"{base}/webhooks/salesforce?token={OUTBOUND_TOKEN}"
            body = {"sobject": sobject, "url": url, "fields": ["Email"]}
            world.post("salesforce", "/_sandbox/outbound", body)
        env = daemon_env(
            info,
            HUBSPOT_APP_SECRET=info["hubspot"]["app_secret"],
            LEADBRIDGE_PUBLIC_URL=f"{base}/webhooks/hubspot",
            LEADBRIDGE_HTTP_HOST="127.0.0.1",
            LEADBRIDGE_HTTP_PORT=str(port),
            LEADBRIDGE_DATABASE_URL=args.database or f"sqlite:///{work / 'state.db'}",
        )
        connectors = push_connectors(work / "connectors")
        argv = ["--connectors", str(connectors), "--mappings", str(ROOT / "mappings")]
        started = time.monotonic()
        daemon = Daemon(argv, env)
        daemon.wait_for("listening", 120)
        daemon.wait_for("synced", 300, lambda e: e.get("leads", 0) > 0)
        wait_until(
            lambda: metric(base, "leadbridge_inbox_depth") == 0, 300, "the preloaded people synced"
        )
        initial = time.monotonic() - started
        log(f"initial sync of {args.leads} people: {initial:.1f} s")

        plan = world.candidates(args.changes)
        calls_before = world.api_calls()
        changes = make_changes(world, plan, args.changes, args.rate)
        log(f"{len(changes)} changes made; waiting for their writes")
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline and not world.all_landed(changes):
            time.sleep(1.0)
        wait_until(lambda: metric(base, "leadbridge_inbox_depth") == 0, 60, "the inbox to empty")
        calls_after = world.api_calls()
        latencies = world.latencies(changes)
    finally:
        daemon_calls: dict[str, Any] = {}
        if daemon is not None:
            daemon.stop(timeout=15)
            daemon_calls = daemon.last("api requests sent") or {}
        stop_process(sandbox, timeout=15)
    spent = {system: after - calls_before[system] for system, after in calls_after.items()}

    return figures(args, changes, latencies, spent, daemon_calls, initial)


def figures(
    args: argparse.Namespace,
    changes: list[Change],
    latencies: dict[str, list[float]],
    spent: Mapping[str, int],
    daemon_calls: Mapping[str, Any],
    initial: float,
) -> dict[str, Any]:
    every = sorted(value for values in latencies.values() for value in values)
    p50, p95 = percentile(every, 0.50), percentile(every, 0.95)
    met = {
        "p95_under_2s": p95 is not None and p95 < TARGETS["p95_seconds"],
        "every_change_landed": len(changes) - len(every) <= TARGETS["missing"],
    }
    return {
        "changes": len(changes),
        "landed": len(every),
        "missing": len(changes) - len(every),
        "rate_per_second": args.rate,
        "p50_seconds": p50,
        "p95_seconds": p95,
        "max_seconds": round(every[-1], 3) if every else None,
        "by_kind": {
            kind: {
                "changes": sum(1 for c in changes if c.kind == kind),
                "p50_seconds": percentile(sorted(values), 0.50),
                "p95_seconds": percentile(sorted(values), 0.95),
            }
            for kind, values in latencies.items()
        },
        "api_calls": {**spent, "total": sum(spent.values())} if spent else None,
        "api_calls_daemon_total": {key: daemon_calls.get(key) for key in ("hubspot", "salesforce")},
        "preloaded_people": args.leads,
        "initial_sync_seconds": round(initial, 1),
        "limits": not args.no_limits,
        "target_p95_seconds": TARGETS["p95_seconds"],
        "target_met": all(met.values()),
        "targets_met": met,
    }


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value at least q of them do not exceed."""
    if not values:
        return None
    return round(values[max(math.ceil(q * len(values)) - 1, 0)], 3)


class Change:
    def __init__(self, kind: str, email: str, record: str, at: float | None = None) -> None:
        self.kind = kind
        self.email = email
        self.record = record  # the record changed: a HubSpot contact or a Salesforce Lead id
        self.at = at  # the change's stamp, when the answer to the change carried it


class World:
    """The sandbox over HTTP: persona actions, exports, and the services' request counts."""

    def __init__(self, info: Mapping[str, Any]) -> None:
        self.info = info
        self.urls = {"hubspot": info["hubspot"]["url"], "salesforce": info["salesforce"]["url"]}
        self.session = requests.Session()
        self.session.verify = info["ca_bundle"]
        self.session.trust_env = False

    def post(self, system: str, path: str, body: Mapping[str, Any]) -> Any:
        answer = self.session.post(self.urls[system] + path, json=dict(body), timeout=30)
        answer.raise_for_status()
        return answer.json()

    def get(self, system: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.get(self.urls[system] + path, timeout=60, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def contacts(self) -> dict[str, dict[str, Any]]:
        found = self.get("hubspot", "/_sandbox/contacts")["contacts"]
        return {(c["properties"].get("email") or "").lower(): c for c in found}

    def leads(self) -> dict[str, list[dict[str, Any]]]:
        by_email: dict[str, list[dict[str, Any]]] = {}
        for record in self.get("salesforce", "/_sandbox/records/Lead")["records"]:
            if not record.get("IsDeleted") and record.get("Email"):
                by_email.setdefault(record["Email"].lower(), []).append(record)
        return by_email

    def candidates(self, count: int) -> dict[str, list[str]]:
        """Known people each kind of change can use: contacts without a Lead (reform), and
        Open Leads whose contact leadbridge has at lead or mql (accept)."""
        contacts, leads = self.contacts(), self.leads()
        reform = [
            email
            for email, c in contacts.items()
            if email
            and email not in leads
            and c["properties"].get("leadbridge_stage") in ("subscriber", "lead")
        ]
        accept = [
            records[0]["Id"]
            for email, records in leads.items()
            if len(records) == 1
            and records[0].get("Status") == "Open"
            and not records[0].get("IsConverted")
            and (contacts.get(email) or {}).get("properties", {}).get("leadbridge_stage")
            in ("lead", "mql")
        ]
        need = math.ceil(count / len(KINDS))
        if len(reform) < need or len(accept) < need:
            raise SystemExit(
                f"too few known people for {count} changes ({len(reform)} contacts without a "
                f"Lead, {len(accept)} Open Leads, {need} each needed): raise --leads"
            )
        return {"reform": sorted(reform), "accept": sorted(accept)}

    def api_calls(self) -> dict[str, int]:
        """The requests each service served so far, as it counted them (GET /_sandbox/requests:
        every request, limits on or off, its own control requests left out)."""
        return {
            system: int(self.get(system, "/_sandbox/requests")["total"])
            for system in ("hubspot", "salesforce")
        }

    def all_landed(self, changes: list[Change]) -> bool:
        contacts, leads = self.contacts(), self.leads()
        return all(_landed(change, contacts, leads) for change in changes)

    def latencies(self, changes: list[Change]) -> dict[str, list[float]]:
        contacts, leads = self.contacts(), self.leads()
        stage_set = self.stage_history([c for c in changes if c.kind == "accept"], contacts)
        found: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for change in changes:
            contact, records = contacts.get(change.email), leads.get(change.email) or []
            began = change.at
            if change.kind == "form" and contact is not None:
                began = stamp(contact["createdAt"])
            elif change.kind == "reform" and contact is not None:
                began = stamp(contact["properties"]["recent_conversion_date"])
            elif change.kind == "rep" and records:
                began = stamp(records[0]["CreatedDate"])
            if change.kind in ("form", "reform"):
                created = [stamp(r["CreatedDate"]) for r in records]
                ended = min(created) if created else None
            elif change.kind == "rep":
                ended = stamp(contact["createdAt"]) if contact is not None else None
            else:
                ended = stage_set.get(change.email)
            if began is not None and ended is not None:
                found[change.kind].append(max(ended - began, 0.0))
        return found

    def stage_history(
        self, changes: list[Change], contacts: Mapping[str, dict[str, Any]]
    ) -> dict[str, float]:
        """When leadbridge_stage became sql on each contact (after the rep's save), from the
        property history HubSpot keeps."""
        ids = {contacts[c.email]["id"]: c for c in changes if c.email in contacts}
        found: dict[str, float] = {}
        headers = {"Authorization": f"Bearer {self.info['hubspot']['token']}"}
        chunk = list(ids)
        for start in range(0, len(chunk), 100):
            body = {
                "inputs": [{"id": i} for i in chunk[start : start + 100]],
                "properties": ["email"],
                "propertiesWithHistory": ["leadbridge_stage"],
            }
            answer = self.session.post(
                self.urls["hubspot"] + "/crm/v3/objects/contacts/batch/read",
                json=body,
                headers=headers,
                timeout=60,
            )
            answer.raise_for_status()
            for result in answer.json()["results"]:
                change = ids[result["id"]]
                history = result.get("propertiesWithHistory", {}).get("leadbridge_stage", [])
                moments = [
                    stamp(entry["timestamp"])
                    for entry in history
                    if entry.get("value") == "sql"
                    and change.at is not None
                    and stamp(entry["timestamp"]) >= change.at - 0.001
                ]
                if moments:
                    found[change.email] = min(moments)
        return found


def _landed(
    change: Change, contacts: Mapping[str, dict[str, Any]], leads: Mapping[str, Any]
) -> bool:
    if change.kind in ("form", "reform"):
        return change.email in leads
    contact = contacts.get(change.email)
    if change.kind == "rep":
        return contact is not None
    return contact is not None and contact["properties"].get("leadbridge_stage") == "sql"


def make_changes(world: World, plan: dict[str, list[str]], count: int, rate: float) -> list[Change]:
    changes: list[Change] = []
    leads_by_id = {r[0]["Id"]: email for email, r in world.leads().items()}
    began = time.monotonic()
    for n in range(count):
        due = began + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        kind = KINDS[n % len(KINDS)]
        serial = n // len(KINDS)
        if kind == "form":
            email = f"latency-form-{n}@kepler.io"
            fields = {"firstname": "Lat", "lastname": f"Form{n}", "company": "Kepler Labs"}
            body = {"contact": email, "form": "demo_request", "fields": fields}
            contact = world.post("hubspot", "/_sandbox/marketer/forms", body)["id"]
            changes.append(Change(kind, email, contact))
        elif kind == "rep":
            email = f"latency-rep-{n}@acme.io"
            body = {"FirstName": "Lat", "LastName": f"Rep{n}", "Company": "Acme"}
            body |= {"Email": email, "Status": "Working"}
            lead = world.post("salesforce", "/_sandbox/rep/leads", body)["id"]
            changes.append(Change(kind, email, lead))
        elif kind == "reform":
            email = plan["reform"][serial]
            contact = world.post(
                "hubspot", "/_sandbox/marketer/forms", {"contact": email, "form": "demo_request"}
            )["id"]
            changes.append(Change(kind, email, contact))
        else:
            lead = plan["accept"][serial]
            saved = world.post(
                "salesforce", f"/_sandbox/rep/leads/{lead}/status", {"status": "Working"}
            )
            changes.append(Change(kind, leads_by_id[lead], lead, stamp(saved["LastModifiedDate"])))
    took = time.monotonic() - began
    log(f"made {count} changes in {took:.1f} s ({count / took:.1f} a second)")
    return changes


def stamp(text: str) -> float:
    """HubSpot's 2026-01-01T00:00:00.000Z and Salesforce's ...000+0000, as epoch seconds."""
    if text.endswith("+0000"):
        text = text[:-5] + "+00:00"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def log(message: str) -> None:
    print(f"[latency] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
