"""Cycles as a whole: idempotence, echoes, the dry run, parked writes' back-off, the default."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

import pytest

from leadbridge.cli import main
from leadbridge.cli.sync import sync_once
from leadbridge.model import System
from leadbridge.store import Store
from leadbridge.sync import pipeline as sync
from leadbridge.sync.runtime import Runtime, build, sandbox_env
from tests.sync.conftest import World

NOTHING_WRITTEN = "written: hubspot 0 (0 calls), salesforce 0 (0 calls)"


def figures(summary: str) -> dict[str, int]:
    numbers = re.findall(r"(\d+) (changes read|leads decided|transitions|echoes)", summary)
    return {name: int(count) for count, name in numbers}


def test_a_second_cycle_with_no_remote_change_writes_nothing(world: World) -> None:
    world.sandbox.populate(40)
    first = world.sync()
    assert NOTHING_WRITTEN not in first
    assert figures(first)["leads decided"] == 40
    second = world.sync()  # our own writes come back: echoes, nothing decided, nothing written
    assert NOTHING_WRITTEN in second
    assert figures(second)["echoes"] > 0 and figures(second)["transitions"] == 0
    third = world.sync()
    assert NOTHING_WRITTEN in third
    assert figures(third)["changes read"] == 0


def test_plan_shows_the_field_level_diff_and_writes_nothing(world: World) -> None:
    world.sandbox.populate(15)
    before = {c["id"]: c["properties"] for c in world.sandbox.hubspot.state.all_contacts()}
    leads_before = len(world.sandbox.salesforce.state.records("Lead"))
    # A dry run creates nothing, the state database included: it must exist first.
    path = Path(world.database.removeprefix("sqlite:///"))
    catalog = world.sandbox.hubspot.state.catalog
    properties = {definition.name for definition in catalog.all()}
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["plan", *world.files()], clock=world.sandbox.clock.now)
    assert code == 2 and "no state database" in err.getvalue()
    assert not path.exists()
    world.run("db", "upgrade", "--url", world.database)
    shown = world.plan()
    assert {definition.name for definition in catalog.all()} == properties  # none created
    assert "nothing was written" in shown
    assert re.search(r"^hubspot contact \d+: leadbridge_stage None -> '\w+'$", shown, re.M)
    after = {c["id"]: c["properties"] for c in world.sandbox.hubspot.state.all_contacts()}
    assert after == before
    assert len(world.sandbox.salesforce.state.records("Lead")) == leads_before
    assert NOTHING_WRITTEN not in world.sync()  # the plan left the work for the real cycle
    assert "0 fields to write" in world.plan()


def test_a_refused_write_is_parked_with_its_reason_and_retried_after_a_back_off(
    world: World,
) -> None:
    # A lead a rep entered without an email: HubSpot has nothing to create the contact by.
    world.sandbox.salesforce.rep.create_lead(last_name="Nomail", company="Quiet Ltd")
    world.sync()
    listing = world.parked()
    assert "hubspot contact (no key, lead " in listing and "1 attempt\n" in listing
    assert "to clear: give the person an email in Salesforce" in listing
    assert "hubspot 0 (0 calls)" in world.sync()  # within the back-off: not sent again
    world.later(10 * 60)
    world.sync()
    assert "2 attempts" in world.parked()


def test_the_embedded_default_needs_no_credentials(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'embedded.db'}"
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["sync", "--once", "--leads", "20", "--database", database]) == 0
        assert main(["parked", "--database", database]) == 0
    shown = out.getvalue()
    assert "embedded sandbox with 20 people" in shown
    assert figures(shown)["leads decided"] == 20
    assert NOTHING_WRITTEN not in shown


def test_explain_finds_a_lead_by_any_of_its_records_and_says_when_it_knows_none(
    world: World,
) -> None:
    marketer = world.sandbox.hubspot.marketer
    contact = marketer.new_contact("ida@kepler.io", "Ida", "Berg", company="Kepler")
    marketer.fill_form(contact, "webinar")
    world.sync()
    by_id, by_email = world.story(contact), world.story("IDA@kepler.io")
    assert by_id == by_email
    [move] = by_id["moves"]
    assert (move["from_stage"], move["to_stage"], move["rule"]) == (
        "subscriber",
        "lead",
        "known_lead",
    )
    assert move["source"] == f"HubSpot contact {contact}"
    [write] = move["writes"]
    assert (write["system"], write["object"], write["record"]) == ("hubspot", "contact", contact)
    assert {"field": "leadbridge stage", "api_name": "leadbridge_stage", "value": "lead"} in write[
        "fields"
    ]
    told = world.explain(contact)
    assert f"Subscriber → Lead: rule Known lead, in HubSpot (HubSpot contact {contact})" in told
    assert f"wrote HubSpot contact {contact}: " in told and "leadbridge stage = lead" in told
    # The score came with the same change: a form fill, a webinar; no fit known.
    written = {field["api_name"]: field["value"] for field in write["fields"]}
    assert written["leadbridge_grade"] == "D" and written["leadbridge_score"] == "15", written
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["explain", "nobody@nowhere.io", "--database", world.database]) == 1
    assert "no lead is known by nobody@nowhere.io" in out.getvalue()
    assert "nothing is parked" in world.parked()


def test_run_cycles_until_told_to_stop_and_the_second_cycle_writes_nothing(world: World) -> None:
    world.sandbox.hubspot.marketer.new_contact("runner@northwind.io", "Ru", "Ner", "Northwind")
    world.later(60)
    out = world.run("run", "--interval", "0", "--max-cycles", "2", *world.files())
    first, second, last = out.strip().splitlines()[-3:]
    assert first.startswith("sync: ") and "0 changes read" not in first
    assert "written: hubspot 0 (0 calls), salesforce 0 (0 calls)" in second
    assert last == "run: stopped after 2 cycles"


class _Stop(Exception):
    pass


def test_a_backlog_stops_cleanly_between_rounds_and_resumes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the daemon does on SIGTERM mid-backlog: the round in flight is finished and its
    writes sent, the rest of the inbox waits, and the next `process` decides it."""
    world.sandbox.populate(30)
    world.later(60)
    monkeypatch.setattr(sync, "ROUND", 10)
    with _pipeline(world) as runtime:
        pipeline = runtime.pipeline
        first = sync.Summary()
        sync.poll(pipeline, first, pipeline.store.transaction)

        def stop() -> None:
            raise _Stop

        with pytest.raises(_Stop):
            sync.process(pipeline, first, between_rounds=stop)
        assert first.leads_decided == 10
        with pipeline.store.reading() as uow:
            assert uow.inbox.pending_count() > 0
            assert uow.writes.unfinished() == []  # the round's writes went out, none held
        rest = sync.Summary()
        sync.process(pipeline, rest, between_rounds=lambda: None)
        assert rest.leads_decided >= 20
        with pipeline.store.reading() as uow:
            assert uow.inbox.pending_count() == 0


@contextmanager
def _pipeline(world: World) -> Iterator[Runtime]:
    root = Path(__file__).resolve().parents[2]
    runtime = build(
        root / "mappings",
        root / "connectors",
        world.database,
        sandbox_env(world.sandbox.info()),
        clock=world.sandbox.clock.now,
    )
    try:
        yield runtime
    finally:
        runtime.close()


def test_sync_once_refuses_while_a_daemon_holds_the_sync_lease(world: World) -> None:
    world.sandbox.populate(5)
    with Store.open(world.database, clock=world.sandbox.clock.now) as store:
        world.run("db", "upgrade", "--url", world.database)
        with store.transaction() as uow:
            assert uow.leases.acquire("sync", "a-daemon", timedelta(minutes=10))
        with _pipeline(world) as runtime:
            out = io.StringIO()
            assert sync_once(runtime.pipeline, out) == 1
        assert "holds the sync lease" in out.getvalue()
        with store.reading() as uow:
            assert uow.inbox.pending_count() == 0 and uow.leads.ids() == []  # nothing done
            assert uow.leases.holder("sync") == "a-daemon"  # and its lease left alone
        with store.transaction() as uow:
            uow.leases.release("sync", "a-daemon")
    assert "5 leads decided" in world.sync()  # free again: the cycle runs, and lets go
    with Store.open(world.database, clock=world.sandbox.clock.now) as store, store.reading() as uow:
        assert uow.leases.holder("sync") is None


def test_a_refused_write_is_counted_by_system_for_the_metrics(world: World) -> None:
    world.sandbox.salesforce.rep.create_lead(last_name="Nomail", company="Quiet Ltd")
    world.later(60)
    with _pipeline(world) as runtime:
        summary = sync.cycle(runtime.pipeline)
    assert summary.refused == {System.HUBSPOT: 1, System.SALESFORCE: 0}
    assert summary.parked == 1
