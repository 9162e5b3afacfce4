"""Issue 12's fault-injected run: one daemon process, start to end, and both CRMs agreeing.

A sandbox (its own process) plays marketers and reps while faults are on: a HubSpot 429
burst while the daemon starts, then 10% errors on both CRMs and expiring Salesforce
sessions, and a PostgreSQL outage of `--outage` seconds in the middle (the daemon's
database is reached through a TCP forwarder that cuts every connection and refuses new
ones). Then the faults stop, the daemon is given time to catch up, and the state it kept
is compared with both CRMs, record by record.

Prints one JSON line: what was injected, what the daemon logged, the disagreements
found, and `targets_met`, computed from this run's figures. The targets are issue 12's
"Done when" (one daemon process alive from start to end, both CRMs agreeing with the
state), made countable: the same process start to end, exit 0 on SIGTERM, every lead's
stage shown in HubSpot and Salesforce, no duplicate Lead, nothing parked.

Run: `.venv/bin/python benchmarks/soak.py` (about four minutes; needs PostgreSQL at
$LEADBRIDGE_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

# The shared harness lives with the tests; this script runs from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import (
    ROOT,
    Daemon,
    Forwarder,
    daemon_env,
    free_port,
    metric,
    start_sandbox,
    stop_process,
    throwaway_database,
)

from leadbridge.config import Funnel, load_funnel
from leadbridge.store import Store

POSTGRES = os.environ.get(
    "LEADBRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STEADY = {"error_rate": 0.1}
SALESFORCE_STEADY = {"error_rate": 0.1, "session_expiry_rate": 0.02}
BURST = {"rate_limit_rate": 1.0, "path_prefix": "/crm/v3/properties"}
# Disagreements allowed once the daemon has caught up (issue 12): none of any kind.
TARGETS = {"hubspot_disagree": 0, "salesforce_disagree": 0, "duplicate_leads": 0, "parked": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=300, help="people preloaded")
    parser.add_argument("--seconds", type=float, default=120.0, help="activity under faults")
    parser.add_argument("--rate", type=float, default=2.0, help="person actions a second")
    parser.add_argument("--outage", type=float, default=30.0, help="PostgreSQL down, seconds")
    parser.add_argument("--burst", type=float, default=15.0, help="HubSpot 429s at start-up")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="leadbridge-soak-") as work,
        throwaway_database(POSTGRES, "leadbridge_soak") as url,
    ):
        figures = run(args, Path(work), url)
    print(json.dumps(figures))


def run(args: argparse.Namespace, work: Path, url: str) -> dict[str, Any]:
    sandbox, info = start_sandbox(work / "tls", leads=args.leads, seed=args.seed)
    real = sa.make_url(url)
    forwarder = Forwarder((real.host or "127.0.0.1", real.port or 5432))
    forwarder.open()
    through = real.set(port=forwarder.port).render_as_string(hide_password=False)
    world = World(info)
    daemon: Daemon | None = None
    rng = random.Random(args.seed)
    figures: dict[str, Any] = {"leads_preloaded": args.leads}
    try:
        world.faults("hubspot", BURST)
        port = free_port()
        argv = ["--connectors", str(ROOT / "connectors"), "--mappings", str(ROOT / "mappings")]
        argv += ["--port", str(port), "--host", "127.0.0.1", "--interval", "5"]
        daemon = Daemon(argv, daemon_env(info, LEADBRIDGE_DATABASE_URL=through))
        pid = daemon.process.pid
        started = time.monotonic()
        # The schema gate's first check is what meets the burst (issue 13): it holds the
        # daemon and asks again, where start-up used to wait.
        daemon.wait_for("schema missing", 120)
        time.sleep(max(args.burst - (time.monotonic() - started), 0.0))
        world.faults("hubspot", STEADY)
        world.faults("salesforce", SALESFORCE_STEADY)
        daemon.wait_for("listening", 300)
        figures["start_up_seconds"] = round(time.monotonic() - started, 1)

        actions: Counter[str] = Counter()
        began = time.monotonic()
        outage_at = began + (args.seconds - args.outage) / 2
        outage_over: float | None = None
        n = 0
        while time.monotonic() - began < args.seconds:
            now = time.monotonic()
            if outage_over is None and now >= outage_at:
                forwarder.close()
                outage_over = now + args.outage
                log(f"PostgreSQL down for {args.outage:.0f} s")
            if outage_over is not None and outage_over > 0 and now >= outage_over:
                forwarder.open()
                outage_over = 0.0
                log("PostgreSQL back")
            actions[world.act(rng, n)] += 1
            n += 1
            time.sleep(max(began + n / args.rate - time.monotonic(), 0.0))
        if outage_over:
            forwarder.open()
        figures["actions"] = dict(actions)

        world.faults("hubspot", {})
        world.faults("salesforce", {})
        settled = settle(daemon, port)
        figures["settle_seconds"] = settled
        figures["injected"] = {"hubspot": world.injected("hubspot")}
        figures["injected"]["salesforce"] = world.injected("salesforce")
        figures["same_process"] = daemon.process.poll() is None and daemon.process.pid == pid
        figures["agreement"] = agreement(url, world)
        events = Counter(str(e.get("event")) for e in daemon.events())
        figures["log"] = {
            name: events[name]
            for name in (
                "start-up waits",
                "schema missing",
                "job failed",
                "not ready",
                "lease lost",
            )
            if events[name]
        }
    finally:
        code = daemon.stop(30) if daemon is not None else None
        forwarder.close()
        stop_process(sandbox)
    figures["exit_code"] = code
    figures["targets_met"] = targets_met(figures)
    return figures


def targets_met(figures: Mapping[str, Any]) -> dict[str, bool]:
    found = figures["agreement"]
    return {
        "one_process_start_to_end": bool(figures["same_process"]),
        "clean_exit": figures["exit_code"] == 0,
        "hubspot_agrees": found["hubspot_disagree"] <= TARGETS["hubspot_disagree"],
        "salesforce_agrees": found["salesforce_disagree"] <= TARGETS["salesforce_disagree"],
        "no_duplicate_record": found["duplicate_leads"] <= TARGETS["duplicate_leads"],
        "nothing_parked": found["parked"] <= TARGETS["parked"],
    }


def settle(daemon: Daemon, port: int, quiet: float = 20.0, limit: float = 300.0) -> float:
    """Seconds until the inbox stayed empty and nothing was written for `quiet` seconds."""
    began = time.monotonic()
    calm_since: float | None = None
    last = (-1.0, -1.0)
    while time.monotonic() - began < limit:
        base = f"http://127.0.0.1:{port}"
        now = (metric(base, "leadbridge_inbox_depth"), writes(port))
        if now[0] == 0 and now == last:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return round(time.monotonic() - began - quiet, 1)
        else:
            calm_since = None
        last = now
        time.sleep(1.0)
    assert daemon.process.poll() is None
    return round(limit, 1)


def writes(port: int) -> float:
    """The sum of leadbridge_writes_total's samples: grows while anything is written."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples = [line for line in text.splitlines() if line.startswith("leadbridge_writes_total{")]
    return sum(float(line.split()[-1]) for line in samples)


def agreement(url: str, world: World) -> dict[str, Any]:
    """Every lead in the state against both CRMs: HubSpot's leadbridge_stage is its stage,
    and an unconverted Salesforce Lead's Status is one the stage accepts."""
    funnel = load_funnel(ROOT / "mappings")
    contacts = {str(c["id"]): c["properties"] for c in world.export("hubspot", "contacts")}
    leads = {str(r["Id"]): r for r in world.export("salesforce", "records/Lead")}
    mismatches: list[str] = []
    hubspot_disagree = salesforce_disagree = 0
    with Store.open(url) as store, store.reading() as uow:
        ids = uow.leads.ids()
        loaded = [uow.leads.load(lead_id) for lead_id in ids]
        parked = uow.parked.count()
    for lead in loaded:
        if lead is None:
            continue
        identity = lead.identity
        if identity.hubspot is not None and "hubspot" not in {s.value for s in lead.blocked}:
            shown = (contacts.get(identity.hubspot) or {}).get("leadbridge_stage")
            if shown != lead.stage:
                hubspot_disagree += 1
                mismatches.append(f"{lead.id}: state {lead.stage}, HubSpot {shown}")
        record = leads.get(identity.salesforce_lead or "")
        if record is not None and not record.get("IsConverted"):
            accepted = _statuses(funnel, lead.stage)
            if accepted and record.get("Status") not in accepted:
                salesforce_disagree += 1
                mismatches.append(f"{lead.id}: state {lead.stage}, Lead {record.get('Status')}")
    emails = Counter(
        str(r.get("Email") or "").lower()
        for r in leads.values()
        if r.get("Email") and not r.get("IsDeleted")
    )
    return {
        "leads": len(ids),
        "hubspot_disagree": hubspot_disagree,
        "salesforce_disagree": salesforce_disagree,
        "duplicate_leads": sum(count - 1 for count in emails.values() if count > 1),
        "parked": parked,
        "examples": mismatches[:5],
    }


def _statuses(funnel: Funnel, stage: str) -> tuple[str, ...]:
    found = funnel.stage.get(stage)
    return found.salesforce_status if found is not None else ()


class World:
    """The sandbox over HTTP: its people, its faults and its exports."""

    def __init__(self, info: Mapping[str, Any]) -> None:
        self.urls = {"hubspot": info["hubspot"]["url"], "salesforce": info["salesforce"]["url"]}
        self.session = requests.Session()
        self.session.verify = info["ca_bundle"]
        self.session.trust_env = False
        self._leads: list[str] = []
        self._emails: list[str] = []

    def post(self, system: str, path: str, body: Mapping[str, Any]) -> Any:
        answer = self.session.post(self.urls[system] + path, json=dict(body), timeout=30)
        answer.raise_for_status()
        return answer.json()

    def faults(self, system: str, spec: Mapping[str, Any]) -> None:
        self.session.put(f"{self.urls[system]}/_sandbox/faults", json=dict(spec), timeout=30)

    def injected(self, system: str) -> Any:
        answer = self.session.get(f"{self.urls[system]}/_sandbox/faults", timeout=30)
        return answer.json().get("injected")

    def export(self, system: str, what: str) -> list[dict[str, Any]]:
        answer = self.session.get(f"{self.urls[system]}/_sandbox/{what}", timeout=120)
        answer.raise_for_status()
        body = answer.json()
        found: list[dict[str, Any]] = body.get("contacts") or body.get("records") or []
        return found

    def act(self, rng: random.Random, n: int) -> str:
        """One person's action: a form fill, a score, a rep's new Lead or status."""
        kind = rng.choice(("demo", "score", "rep", "status"))
        body: dict[str, Any]
        if kind == "demo":
            email = f"soak-{n}@harbor{n % 7}.io"
            self._emails.append(email)
            body = {"contact": email, "form": "demo_request", "fields": {"firstname": "Soak"}}
            self.post("hubspot", "/_sandbox/marketer/forms", body)
        elif kind == "score" and self._emails:
            email = rng.choice(self._emails)
            self.post("hubspot", "/_sandbox/marketer/score", {"contact": email, "score": 80})
        elif kind == "rep" or not self._leads:
            kind = "rep"
            body = {"LastName": f"Rep{n}", "Company": "Acme", "Email": f"soak-rep-{n}@acme.io"}
            self._leads.append(self.post("salesforce", "/_sandbox/rep/leads", body)["id"])
        else:
            lead = rng.choice(self._leads)
            status = rng.choice(("Working", "Disqualified", "Nurture"))
            body = {"status": status, "reason": "Bad Timing" if status == "Nurture" else None}
            self.post("salesforce", f"/_sandbox/rep/leads/{lead}/status", body)
        return kind


def log(message: str) -> None:
    print(f"[soak] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
