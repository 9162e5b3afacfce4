"""Writes against the simulated portal: batches of 100, upserts, partial failures, ordered steps."""

from __future__ import annotations

from datetime import UTC, date, datetime

from leadbridge.connectors.errors import Action
from leadbridge.connectors.hubspot.writes import remote_value
from leadbridge.model import RecordWrite, System, Values
from tests.connectors.hubspot import support as hs

Portal = hs.Portal
HS = System.HUBSPOT


def _update(
    contact_id: str | None, *steps: Values, key: tuple[str, str] | None = None
) -> RecordWrite:
    return RecordWrite(HS, "contact", contact_id, steps, key)


def test_updates_go_out_100_a_call_and_land(portal: Portal) -> None:
    ids = hs.people(portal, 250)
    connector = portal.connector()
    results = connector.apply([_update(i, {"lastname": f"L{n}"}) for n, i in enumerate(ids)])
    assert [r.ok for r in results] == [True] * 250
    assert [r.id for r in results] == ids
    assert connector.stats.succeeded == {"update": 3}
    assert [portal.contact(i)["properties"]["lastname"] for i in ids] == [
        f"L{n}" for n in range(250)
    ]


def test_creates_are_upserts_by_email_so_applying_twice_creates_nothing_new(
    portal: Portal,
) -> None:
    writes = [
        _update(None, {"firstname": f"N{n}"}, key=("email", f"New{n}@Example.com"))
        for n in range(150)
    ]
    connector = portal.connector()
    first = connector.apply(writes)
    assert all(r.ok and r.created for r in first)
    again = connector.apply(writes)
    assert all(r.ok and not r.created for r in again)
    assert [r.id for r in again] == [r.id for r in first]
    assert len(portal.sim.state.all_contacts()) == 150
    assert connector.stats.succeeded == {"upsert": 4}


def test_a_bad_enumeration_value_parks_that_record_and_the_rest_land(portal: Portal) -> None:
    ids = hs.people(portal, 100)
    writes = [_update(i, {"hs_lead_status": "OPEN"}) for i in ids]
    writes[37] = _update(ids[37], {"hs_lead_status": "MAYBE_LATER"})
    connector = portal.connector()
    results = connector.apply(writes)

    bad = results[37]
    assert not bad.ok and bad.action is Action.PARK and bad.failure is not None
    assert bad.failure.status == 400 and bad.failure.code == "VALIDATION_ERROR"
    assert "MAYBE_LATER was not one of the allowed options" in bad.failure.message
    assert all(r.ok for n, r in enumerate(results) if n != 37)
    statuses = [portal.contact(i)["properties"].get("hs_lead_status") for i in ids]
    assert statuses.count("OPEN") == 99 and statuses[37] is None
    # Refused whole, then the 99 together, then the suspect alone: not a call per record.
    assert connector.stats.requests == {"update": 3}
    assert connector.health().healthy  # a refused record says nothing against the connection


def test_several_bad_records_are_each_parked_with_their_own_message(portal: Portal) -> None:
    ids = hs.people(portal, 60)
    writes = [_update(i, {"lifecyclestage": "lead"}) for i in ids]
    for n in (3, 17, 18, 40, 41, 59):
        writes[n] = _update(ids[n], {"lifecyclestage": f"stage{n}"})
    results = portal.connector().apply(writes)
    parked = {n: r.failure.message for n, r in enumerate(results) if r.failure is not None}
    assert sorted(parked) == [3, 17, 18, 40, 41, 59]
    assert all(message.startswith("Property values were not valid") for message in parked.values())
    assert all(f"stage{n} was not one" in message for n, message in parked.items())
    assert sum(r.ok for r in results) == 54


def test_partial_failures_in_a_207_are_per_record(portal: Portal) -> None:
    first, second, third = hs.people(portal, 3)
    connector = portal.connector()
    results = connector.apply(
        [
            _update(first, {"lastname": "Fine"}),
            _update("100000000001", {"lastname": "Nobody"}),
            _update(third, {"email": "p1@example.com"}),  # second's address
        ]
    )
    assert results[0].ok
    assert results[1].failure is not None and results[1].failure.code == "OBJECT_NOT_FOUND"
    assert results[1].failure.status == 404 and results[1].action is Action.PARK
    assert results[2].failure is not None and results[2].failure.code == "CONFLICT"
    assert f"Existing ID: {second}" in results[2].failure.message
    assert connector.stats.succeeded == {"update": 1}


def test_a_backward_lifecycle_move_clears_then_sets_and_is_read_back(portal: Portal) -> None:
    ids = hs.people(portal, 150, lifecyclestage="customer")
    changes: list[tuple[str, str | None]] = []
    portal.sim.state.listeners.append(
        lambda batch: changes.extend(
            (str(c.object_id), c.value) for c in batch if c.name == "lifecyclestage"
        )
    )
    connector = portal.connector()
    results = connector.apply(
        [_update(i, {"lifecyclestage": ""}, {"lifecyclestage": "lead"}) for i in ids]
    )
    assert all(r.ok for r in results)
    assert {portal.contact(i)["properties"]["lifecyclestage"] for i in ids} == {"lead"}
    assert changes[:150] == [(i, "") for i in ids] and changes[150:] == [(i, "lead") for i in ids]
    # All first steps in two calls, all second steps in two, one read-back per hundred.
    assert connector.stats.succeeded == {"update": 4, "verify": 2}


def test_a_move_hubspot_ignores_is_parked_as_not_verified(portal: Portal) -> None:
    (contact,) = hs.people(portal, 1, lifecyclestage="customer")
    (result,) = portal.connector().apply(
        [_update(contact, {"firstname": "Kept"}, {"lifecyclestage": "lead"})]
    )
    assert result.action is Action.PARK and result.failure is not None
    assert result.failure.code == "NOT_VERIFIED"
    assert "lifecyclestage reads 'customer'" in result.failure.message
    assert portal.contact(contact)["properties"]["firstname"] == "Kept"


def test_writes_to_one_record_land_in_the_order_given(portal: Portal) -> None:
    (contact,) = hs.people(portal, 1)
    connector = portal.connector()
    results = connector.apply(
        [_update(contact, {"lastname": "First"}), _update(contact, {"lastname": "Second"})]
    )
    assert all(r.ok for r in results)
    assert portal.contact(contact)["properties"]["lastname"] == "Second"
    assert connector.stats.succeeded == {"update": 2}  # HubSpot refuses one id twice in a batch


def test_writes_the_connector_cannot_make_are_parked_without_a_call(portal: Portal) -> None:
    connector = portal.connector()
    results = connector.apply(
        [
            RecordWrite(System.SALESFORCE, "Lead", "00Q1", ({"Status": "Open"},)),
            _update(None, {"firstname": "Keyless"}),
        ]
    )
    assert [r.action for r in results] == [Action.PARK, Action.PARK]
    assert connector.stats.requests == {}


def test_values_are_sent_in_hubspot_form() -> None:
    assert remote_value(None) == ""
    assert remote_value(True) == "true"
    assert remote_value(42) == "42"
    assert remote_value(date(2026, 3, 2)) == "2026-03-02"
    moment = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
    assert remote_value(moment) == "2026-03-02T09:30:15.123Z"
