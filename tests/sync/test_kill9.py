"""Issue 5, item 6: the sync process SIGKILLed at random instants during a 5,000-lead run.

Two `leadbridge sandbox` processes hold the same seeded world. The reference database
syncs its sandbox without faults; the crashy one starts `leadbridge sync --once` over and
over and SIGKILLs it after a seeded random 0.3 s up to a whole run's length (SLEEP), at
least KILLS times while it was still running, then lets it finish. Both are then run once
more, which must write nothing. In the end both simulated systems must hold the same
values, Salesforce no duplicate Lead, and both journals the same transitions, each once
(tests/sync/test_crash.py is the in-process, exception-based version of the same story).

Run with `pytest -s` to see the kills and the per-phase timings.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.harness import LEADBRIDGE, ROOT, daemon_env, launch_sandbox, read_info, stop_process

LEADS = 5000
SEED = 17
KILLS = 20
ATTEMPTS = 80  # bound on the crashy loop: KILLS landed kills are needed out of these
# How long each started process lives before its SIGKILL (KILL9_MIN/KILL9_MAX override). The
# window spans the reference's own first run (at most 9 s): kills within its first second or
# two only ever land in the poll and the first round's uncommitted transaction, so it reaches
# to the sends; a window much longer than a run lets the run end first and the kill miss
# (issue 14 made a 5,000-lead first run ~8 s where it took ~21 s: 19 of 80 kills landed).
SLEEP = (float(os.environ.get("KILL9_MIN", "0.3")), float(os.environ.get("KILL9_MAX", "9.0")))
RUN_TIMEOUT = 240.0

# What leadbridge writes to a HubSpot contact: the stage properties (stages.yaml) and every
# contact property mappings/fields.yaml maps from Salesforce or both ways.
HUBSPOT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "lifecyclestage",
    "hs_lead_status",
    "leadbridge_stage",
    "leadbridge_handback_reason",
)
# What leadbridge writes to (or creates) a Salesforce Lead with, and what tells records apart.
LEAD_FIELDS = (
    "Status",
    "Leadbridge_Id__c",
    "HubSpot_Contact_Id__c",
    "Company",
    "FirstName",
    "LastName",
    "Title",
    "Phone",
    "LeadSource",
    "Recycle_Reason__c",
    "IsConverted",
    "IsDeleted",
)
JOURNAL = (
    "SELECT lead_id, from_stage, to_stage, rule, cause_system, cause_object, cause_id FROM journal"
)
WRITTEN = re.compile(r"written: hubspot (\d+) \((\d+) calls\), salesforce (\d+) \((\d+) calls\)")


class Phases:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.spent: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.spent[name] = time.monotonic() - began
            print(f"[kill9] {name}: {self.spent[name]:.1f} s", flush=True)

    def total(self) -> float:
        return time.monotonic() - self.started


def sync_command(database: str) -> list[str]:
    return [
        *LEADBRIDGE,
        "sync",
        "--once",
        "--mappings",
        str(ROOT / "mappings"),
        "--connectors",
        str(ROOT / "connectors"),
        "--database",
        database,
    ]


def sync_to_end(database: str, env: Mapping[str, str]) -> str:
    done = subprocess.run(
        sync_command(database),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    return done.stdout


def written(output: str) -> tuple[int, ...]:
    found = WRITTEN.search(output)
    assert found is not None, output
    return tuple(int(n) for n in found.groups())


def crash_repeatedly(
    database: str,
    env: Mapping[str, str],
    logs: Path,
    rng: random.Random,
    window: tuple[float, float] = SLEEP,
) -> tuple[int, int]:
    """Start, sleep, SIGKILL while alive, until KILLS kills landed; answers (kills landed,
    those that landed before any run got to its end)."""
    kills = kills_before_first_end = 0
    finished = False
    for attempt in range(ATTEMPTS):
        if kills >= KILLS:
            break
        log = logs / f"attempt-{attempt:02d}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                sync_command(database), env=dict(env), stdout=out, stderr=subprocess.STDOUT
            )
            try:
                time.sleep(rng.uniform(*window))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    code = process.wait(timeout=30)
                    if code == -signal.SIGKILL:  # it was still running when the kill landed
                        kills += 1
                        kills_before_first_end += not finished
                        continue
                code = process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=30)
        assert code == 0, f"attempt {attempt} failed by itself:\n{log.read_text()[-4000:]}"
        finished = True
    return kills, kills_before_first_end


def export(info: Mapping[str, Any]) -> dict[str, Any]:
    """What both simulated systems hold, in the terms leadbridge writes them."""
    ca = info["ca_bundle"]
    hubspot = requests.get(f"{info['hubspot']['url']}/_sandbox/contacts", verify=ca, timeout=60)
    hubspot.raise_for_status()
    salesforce = requests.get(
        f"{info['salesforce']['url']}/_sandbox/records/Lead", verify=ca, timeout=60
    )
    salesforce.raise_for_status()
    contacts: dict[str, Any] = {}
    for contact in hubspot.json()["contacts"]:
        props = contact["properties"]
        email = (props.get("email") or "").lower()
        assert email not in contacts, f"two HubSpot contacts for {email}"
        contacts[email] = {name: props.get(name) or None for name in HUBSPOT_PROPERTIES}
    leads: dict[str, list[tuple[Any, ...]]] = {}
    for record in salesforce.json()["records"]:
        email = (record.get("Email") or "").lower()
        leads.setdefault(email, []).append(tuple(record.get(f) for f in LEAD_FIELDS))
    return {
        "contacts": contacts,
        "leads": {email: sorted(found, key=repr) for email, found in leads.items()},
    }


def journal(database: str) -> Counter[tuple[Any, ...]]:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as connection:
            return Counter(tuple(row) for row in connection.execute(sa.text(JOURNAL)))
    finally:
        engine.dispose()


def first_differences(name: str, want: Mapping[Any, Any], got: Mapping[Any, Any]) -> list[str]:
    keys = sorted(set(want) | set(got), key=repr)
    differing = [k for k in keys if want.get(k) != got.get(k)]
    shown = [
        f"  {k!r}:\n    fault-free {want.get(k)!r}\n    crashed    {got.get(k)!r}"
        for k in differing[:5]
    ]
    return [f"{name}: {len(differing)} differ, first {len(shown)}:", *shown] if differing else []


def progress(database: str) -> str:
    """How far the killed runs got: what they committed to the store."""
    engine = sa.create_engine(database)
    try:
        with engine.connect() as connection:
            inbox = connection.execute(sa.text("SELECT status, count(*) FROM inbox GROUP BY 1"))
            counted = {f"inbox {k}": n for k, n in inbox}
            writes = connection.execute(
                sa.text("SELECT status, count(*) FROM write_log GROUP BY 1")
            )
            counted |= {f"write log {k}": n for k, n in writes}
            journaled = connection.execute(sa.text("SELECT count(*) FROM journal")).scalar()
    finally:
        engine.dispose()
    return ", ".join(f"{k}: {n}" for k, n in {**counted, "journal": journaled}.items())


def doubled(leads: Mapping[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Emails where a Lead leadbridge created (it carries Leadbridge_Id__c) stands beside
    another live Lead: a duplicate we made."""
    ours = LEAD_FIELDS.index("Leadbridge_Id__c")
    deleted = LEAD_FIELDS.index("IsDeleted")
    found = {}
    for email, records in leads.items():
        live = [r for r in records if not r[deleted]]
        if len(live) > 1 and any(r[ours] for r in live):
            found[email] = live
    return found


def duplicates(leads: Mapping[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    """Per email, how many live Leads carry our external id (Leadbridge_Id__c)."""
    ours = LEAD_FIELDS.index("Leadbridge_Id__c")
    deleted = LEAD_FIELDS.index("IsDeleted")
    counts = {
        email: sum(1 for r in found if r[ours] and not r[deleted]) for email, found in leads.items()
    }
    return {email: n for email, n in counts.items() if n}


@pytest.mark.timeout(420)  # a 5,000-lead world synced twice over: the suite's 120 s is too short
def test_sigkilled_at_random_instants_it_ends_as_a_fault_free_run_ends(tmp_path: Path) -> None:
    phases = Phases()
    reference_db = f"sqlite:///{tmp_path / 'reference.db'}"
    crashy_db = f"sqlite:///{tmp_path / 'crashy.db'}"
    logs = tmp_path / "logs"
    logs.mkdir()
    sandboxes: list[subprocess.Popen[str]] = []
    try:
        with phases.phase(f"start two sandboxes of {LEADS} leads"):
            sandboxes = [
                launch_sandbox(tmp_path / f"tls-{n}", leads=LEADS, seed=SEED)
                for n in ("reference", "crashy")
            ]
            reference, crashy = (read_info(p, timeout=120) for p in sandboxes)

        started = time.monotonic()
        with phases.phase("reference: sync to the end"):
            first = sync_to_end(reference_db, daemon_env(reference))
        window = (SLEEP[0], max(SLEEP[0] + 1.0, min(SLEEP[1], time.monotonic() - started)))
        print(f"[kill9] reference first run: {first.strip()}")
        with phases.phase("reference: once more"):
            again = sync_to_end(reference_db, daemon_env(reference))
        print(f"[kill9] reference second run: {again.strip()}")
        assert written(again) == (0, 0, 0, 0), again

        rng = random.Random(SEED)
        with phases.phase("crashy: start, SIGKILL, restart"):
            kills, early = crash_repeatedly(crashy_db, daemon_env(crashy), logs, rng, window)
        print(f"[kill9] kills landed on a live process: {kills} ({early} before any run ended)")
        print(f"[kill9] committed by the killed runs: {progress(crashy_db)}")
        assert kills >= KILLS, f"only {kills} kills landed in {ATTEMPTS} attempts"
        with phases.phase("crashy: sync to the end"):
            last = sync_to_end(crashy_db, daemon_env(crashy))
        print(f"[kill9] crashy run to the end: {last.strip()}")
        with phases.phase("crashy: once more"):
            again = sync_to_end(crashy_db, daemon_env(crashy))
        print(f"[kill9] crashy second run: {again.strip()}")
        assert written(again) == (0, 0, 0, 0), again

        with phases.phase("compare"):
            want, got = export(reference), export(crashy)
            want_journal, got_journal = journal(reference_db), journal(crashy_db)
    finally:
        for process in sandboxes:
            stop_process(process)
    print(f"[kill9] total: {phases.total():.1f} s")

    want_ours, got_ours = duplicates(want["leads"]), duplicates(got["leads"])
    extra = {e: (want_ours.get(e, 0), n) for e, n in got_ours.items() if n > want_ours.get(e, 0)}
    twice = {t: n for t, n in got_journal.items() if n > want_journal[t]}
    want_doubled, got_doubled = doubled(want["leads"]), doubled(got["leads"])
    problems = [
        # Zero duplicate Salesforce Leads, in either run: no Lead of ours beside another one.
        *(
            f"fault-free run: {len(want_doubled)} duplicate Salesforce Leads, e.g. {e}: {found}"
            for e, found in list(want_doubled.items())[:3]
        ),
        *(
            f"crashed run: {len(got_doubled)} duplicate Salesforce Leads, e.g. {e}: {found}"
            for e, found in list(got_doubled.items())[:3]
        ),
        # No email with more of our Leads than the fault-free run made.
        *(
            f"crashed run: {len(extra)} emails with more Leads of ours (fault-free, crashed), "
            f"e.g. {list(extra.items())[:5]}"
            for _ in [extra]
            if extra
        ),
        # Each transition journaled once: none more often than in the fault-free run.
        *(
            f"crashed run: {len(twice)} transitions journaled twice, e.g. {list(twice.items())[:5]}"
            for _ in [twice]
            if twice
        ),
        *first_differences("HubSpot contacts", want["contacts"], got["contacts"]),
        *first_differences("Salesforce Leads", want["leads"], got["leads"]),
        *first_differences("journal", want_journal, got_journal),
    ]
    assert not problems, "\n".join(problems)
    assert sum(want_journal.values()) > 0 and want_ours, "the fault-free run moved nothing"
