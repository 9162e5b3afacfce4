"""Issue 12's figure: a flood of HubSpot webhooks into a PostgreSQL-backed daemon.

`leadbridge sandbox` and `leadbridge run` are subprocesses; the daemon's state lives in a
throwaway PostgreSQL database (created here, dropped after). Once the preloaded people are
synced, THREADS threads POST DELIVERIES HubSpot webhook deliveries, each signed with v3
and naming EVENTS contacts drawn from a small shared pool in a random order: the same
contacts arrive in different orders at once, as HubSpot's batches overlap, while the
daemon's inbox job reads and clears those hints. Every figure is measured at the client.

Prints one JSON object on its last line, with `targets_met` computed from this run's
answers against TARGETS below, issue 12's "Done when": no 5xx answer (nor a connection
error), p99 under 1 s (HubSpot gives up on an answer after 5 s).
Run: `.venv/bin/python benchmarks/webhooks_flood.py [--deliveries 2000] [--threads 8]`
(about a minute; needs PostgreSQL, by default the tests' one at 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.harness
from tests.harness import (
    ROOT,
    Daemon,
    daemon_env,
    free_port,
    metric,
    push_connectors,
    start_sandbox,
    stop_process,
    throwaway_database,
    wait_until,
)

from leadbridge.sandbox.hubspot.signing import signed_headers

ADMIN_URL = os.environ.get(
    "LEADBRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGETS = {"server_errors": 0, "p99_seconds": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--contacts", type=int, default=40, help="the shared pool of contact ids")
    parser.add_argument("--events", type=int, default=10, help="contacts named per delivery")
    parser.add_argument("--leads", type=int, default=100, help="people preloaded")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL to create the db in")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadbridge-flood-"))
    try:
        with throwaway_database(args.admin_url) as url:
            figures = run(args, work, url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))


def run(args: argparse.Namespace, work: Path, database_url: str) -> dict[str, Any]:
    sandbox, info = start_sandbox(
        work / "tls", leads=args.leads, seed=args.seed, limits=False, timeout=120
    )
    daemon: Daemon | None = None
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        public_url = f"{base}/webhooks/hubspot"
        secret = str(info["hubspot"]["app_secret"])
        env = daemon_env(
            info,
            HUBSPOT_APP_SECRET=secret,
            LEADBRIDGE_PUBLIC_URL=public_url,
            LEADBRIDGE_HTTP_HOST="127.0.0.1",
            LEADBRIDGE_HTTP_PORT=str(port),
            LEADBRIDGE_DATABASE_URL=database_url,
        )
        connectors = push_connectors(work / "connectors")
        argv = ["--connectors", str(connectors), "--mappings", str(ROOT / "mappings")]
        daemon = Daemon(argv, env)
        daemon.wait_for("listening", 120)
        daemon.wait_for("synced", 300, lambda e: e.get("leads", 0) > 0)
        wait_until(
            lambda: metric(base, "leadbridge_inbox_depth") == 0, 300, "the preloaded people synced"
        )
        pool = contact_ids(info)[: args.contacts]
        log(f"flooding {public_url}: {args.deliveries} deliveries, {len(pool)} contacts")
        lines_before = len(daemon.lines)
        answers, wall = flood(args, public_url, secret, pool)
        # The hints the flood left are read and cleared by the inbox job: let it finish.
        wait_until(
            lambda: metric(base, "leadbridge_inbox_depth") == 0,
            120,
            "the inbox to empty after the flood",
        )
        time.sleep(2.0)
        after = daemon.lines[lines_before:]
    finally:
        if daemon is not None:
            daemon.stop(timeout=15)
        stop_process(sandbox, timeout=15)
    return figures(args, answers, wall, after)


def contact_ids(info: dict[str, Any]) -> list[str]:
    session = requests.Session()
    session.verify = info["ca_bundle"]
    session.trust_env = False
    answer = session.get(info["hubspot"]["url"] + "/_sandbox/contacts", timeout=60)
    answer.raise_for_status()
    return [str(contact["id"]) for contact in answer.json()["contacts"]]


def flood(
    args: argparse.Namespace, url: str, secret: str, pool: list[str]
) -> tuple[list[tuple[str, float]], float]:
    """(status or error name, seconds) per delivery, and the wall time of the whole flood."""
    answers: list[tuple[str, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(args.threads + 1)
    events = min(args.events, len(pool))

    def sender(index: int) -> None:
        rng = random.Random(args.seed * 1000 + index)
        session = requests.Session()
        session.trust_env = False
        mine: list[tuple[str, float]] = []
        start.wait()
        for delivery in range(index, args.deliveries, args.threads):
            body = json.dumps(payload(rng.sample(pool, events), delivery)).encode()
            headers = signed_headers(secret, url, body, int(time.time() * 1000))
            began = time.perf_counter()
            try:
                status = str(session.post(url, data=body, headers=headers, timeout=30).status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            mine.append((status, time.perf_counter() - began))
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(args.threads)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return answers, time.perf_counter() - began


def payload(contacts: list[str], delivery: int) -> list[dict[str, Any]]:
    """HubSpot's shape: one propertyChange event per contact, in the order given."""
    now = int(time.time() * 1000)
    return [
        {
            "eventId": delivery * 1000 + n,
            "subscriptionId": 1,
            "portalId": 1,
            "appId": 1,
            "occurredAt": now,
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": int(contact),
            "propertyName": "lifecyclestage",
            "propertyValue": "lead",
            "changeSource": "CRM_UI",
        }
        for n, contact in enumerate(contacts)
    ]


def figures(
    args: argparse.Namespace, answers: list[tuple[str, float]], wall: float, lines: list[str]
) -> dict[str, Any]:
    statuses = Counter(status for status, _ in answers)
    seconds = sorted(spent for _, spent in answers)
    server_errors = sum(n for status, n in statuses.items() if not status.startswith(("2", "4")))
    p99 = percentile(seconds, 0.99)
    return {
        "deliveries": len(answers),
        "threads": args.threads,
        "status_counts": dict(sorted(statuses.items())),
        "server_errors": server_errors,
        "p50_ms": ms(percentile(seconds, 0.50)),
        "p99_ms": ms(p99),
        "max_ms": ms(seconds[-1] if seconds else None),
        "throughput_per_s": round(len(answers) / wall, 1) if wall else None,
        # From the daemon's own log, during and just after the flood (not a client figure).
        "daemon_log": {
            "deadlocks": sum("deadlock detected" in line.lower() for line in lines),
            "jobs_failed": sum('"job failed"' in line for line in lines),
            "transactions_retried": sum("transaction retried" in line for line in lines),
        },
        "targets_met": {
            "no_5xx": server_errors <= TARGETS["server_errors"],
            "p99_under_1s": p99 is not None and p99 < TARGETS["p99_seconds"],
        },
    }


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value at least q of them do not exceed."""
    if not values:
        return None
    return values[max(math.ceil(q * len(values)) - 1, 0)]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def log(message: str) -> None:
    print(f"[webhooks_flood] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
