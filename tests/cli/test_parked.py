"""`leadbridge parked`: each parked record by email with what clears it; `parked retry` and
`parked ignore` act on it, logged for good; an empty or old database names `db upgrade`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadbridge.cli import main
from leadbridge.store.migrate import head_revision, upgrade
from leadbridge.sync.pipeline import cycle
from tests.sync.conftest import DAY, World, started_world
from tests.sync.test_refusals import SF, parked_rows, pipeline_for

KIM = "kim@orbit.io"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with started_world(tmp_path, monkeypatch) as started:
        yield started


def leadbridge(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def the_duplicate_trap(world: World) -> tuple[str, str]:
    rep = world.sandbox.salesforce.rep
    first = rep.create_lead(last_name="Lee", company="Orbit", email=KIM, status="Open")
    world.sync()
    world.later(DAY)
    twin = rep.create_lead(last_name="Lee", company="Orbit Inc", email="Kim@Orbit.io")
    world.sync()
    world.later(DAY)
    rep.set_status(first, "Working")  # sales accepts... but which Kim? It waits.
    world.sync()
    return first, twin


def test_the_listing_shows_each_record_by_email_with_what_clears_it(world: World) -> None:
    first, twin = the_duplicate_trap(world)
    listing = world.parked()
    assert "2 records parked, by reason:" in listing
    assert "Two records claim one person (the lead is held meanwhile) (2)" in listing
    assert f"{KIM}  salesforce Lead {first}  since" in listing
    assert f"Kim@Orbit.io  salesforce Lead {twin}  since" in listing
    assert (
        "to clear: in Salesforce, merge or delete the duplicate: the hold lifts by itself once "
        "one record has the email" in listing
    )
    assert f'`leadbridge parked ignore {twin} --why "..."`' in listing
    shown = json.loads(world.run("parked", "--format", "json", "--database", world.database))
    rows = {row["record_id"]: row for row in shown["parked"]}
    assert rows[twin]["email"] == "Kim@Orbit.io" and rows[first]["email"] == KIM
    assert {row["kind"] for row in rows.values()} == {"duplicate"}
    assert rows[twin]["id"] == f"salesforce:Lead:{twin}"
    assert rows[twin]["action"].startswith("in Salesforce, merge or delete the duplicate")
    assert shown["ignored_before"] == 0


def test_ignoring_the_duplicate_lets_the_lead_go_on_and_is_logged(world: World) -> None:
    first, twin = the_duplicate_trap(world)
    assert world.contact(KIM)["lifecyclestage"] != "salesqualifiedlead"
    said = world.run(
        "parked", "ignore", twin, "--why", "the rep's test lead", "--database", world.database
    )
    assert f"ignored salesforce:Lead:{twin} (Kim@Orbit.io): 1 waiting changes settled" in said
    assert f"and salesforce:Lead:{first}, its one duplicate left, goes again" in said
    assert world.parked().startswith("nothing is parked")
    world.sync()
    assert world.contact(KIM)["lifecyclestage"] == "salesqualifiedlead"  # the wait is over
    assert len(world.leads(KIM)) == 2  # nothing was deleted in Salesforce: a person's call
    history = world.run("parked", "--history", "--database", world.database)
    assert f"ignore salesforce Lead {twin} (Kim@Orbit.io) by " in history
    assert "why: the rep's test lead; parked for: ambiguous match: " in history
    assert f"retry salesforce Lead {first} ({KIM})" in history
    assert f"why: its duplicate salesforce:Lead:{twin} was ignored" in history
    assert "1 records were ignored before" in world.parked()


def test_retry_sends_a_failed_write_at_once_instead_of_after_its_back_off(world: World) -> None:
    marketer = world.sandbox.hubspot.marketer
    ida = "ida@kepler.io"
    marketer.new_contact(ida, "Ida", "Berg", company="Kepler")
    marketer.fill_form(ida, "demo_request")
    world.later(60)
    pipeline = pipeline_for(world, salesforce_attempts=2)
    faults = world.sandbox.salesforce.faults
    try:
        connector = pipeline.connectors[SF]
        version = connector.settings.api_version  # type: ignore[attr-defined]
        faults.configure(
            error_rate=1.0, path_prefix=f"/services/data/v{version}/composite/sobjects"
        )
        assert cycle(pipeline).refused[SF] == 1
        faults.configure(error_rate=0.0)
        (row,) = parked_rows(world)
        assert row.next_retry_at is not None
        listing = world.parked()
        assert "Writes that failed and are retried on a timer (1)" in listing
        assert f"{ida}  salesforce Lead" in listing
        world.later(30)
        assert cycle(pipeline).write_calls[SF] == 0  # within the back-off: it waits
        said = world.run("parked", "retry", ida, "--database", world.database)
        assert "1 record go again at the next sync" in said
        summary = cycle(pipeline)  # still within the back-off, but a person asked
        assert (summary.written[SF], summary.parked) == (1, 0)
    finally:
        pipeline.store.close()
    assert world.lead(ida)["LastName"] == "Berg"
    assert "retry salesforce Lead" in world.run("parked", "--history", "--database", world.database)


def test_retry_and_ignore_say_what_they_cannot_find(world: World) -> None:
    the_duplicate_trap(world)
    code, out, _ = leadbridge("parked", "retry", "nobody@x.io", "--database", world.database)
    assert (code, out.strip()) == (
        1,
        "no parked record is 'nobody@x.io': `leadbridge parked` lists them",
    )
    err = io.StringIO()
    with redirect_stderr(err), pytest.raises(SystemExit) as refused:
        main(["parked", "ignore", KIM, "--database", world.database])
    assert refused.value.code == 2 and "required: --why" in err.getvalue()  # a reason, always


def test_retry_all_puts_every_parked_record_back(world: World) -> None:
    the_duplicate_trap(world)
    said = world.run("parked", "retry", "--all", "--database", world.database)
    assert "2 records go again at the next sync" in said
    world.sync()  # nothing changed: the same two records are parked again, with the reason
    listing = world.parked()
    assert "2 records parked" in listing and listing.count("why: ambiguous match: ") == 2


@pytest.mark.parametrize(
    "command", [["parked"], ["status"], ["pause"], ["parked", "retry", "--all"]]
)
def test_a_database_without_tables_or_behind_names_db_upgrade(
    tmp_path: Path, command: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE unrelated (x INTEGER)"))
    engine.dispose()
    code, out, err = leadbridge(*command, "--database", url)
    assert (code, out) == (2, "")
    assert "the state database has no leadbridge tables yet" in err
    assert "fix: run `leadbridge db upgrade --url URL`" in err
    older = f"sqlite:///{tmp_path / 'older.db'}"
    upgrade(older, "0005")
    code, _, err = leadbridge(*command, "--database", older)
    assert code == 2
    needs = head_revision()
    assert f"the state database is at schema 0005; this leadbridge needs {needs}" in err
    assert "Traceback" not in err
