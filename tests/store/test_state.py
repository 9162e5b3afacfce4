"""Canonical leads and snapshots survive the round trip exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbridge.model import Identity, Lead, Stamp, System, Value
from leadbridge.store import Store

from .conftest import T0, FixedClock

HS, SF = System.HUBSPOT, System.SALESFORCE


def test_lead_round_trip_keeps_every_type(store: Store) -> None:
    lead = Lead(
        id="L1",
        stage="mql",
        stage_entered_at=T0,
        owner="005X",
        fields={
            "email": "ada@example.com",
            "score": 72,
            "fit": 0.5,
            "bant": True,
            "phone": None,
            "demo_on": date(2026, 3, 9),
            "accepted_at": T0 + timedelta(hours=2),
            "looks_like_a_date": "2026-03-09",
        },
        stamps={"score": Stamp(T0, HS), "stage": Stamp(T0, None)},
        seen={
            (HS, "contact", "101"): {"hs_lead_status": "NEW"},
            (SF, "Lead", "00Q1"): {"Rating": 3},
        },
        deals={"006O1": "open"},
        blocked=frozenset({SF}),
    )
    with store.transaction() as uow:
        uow.links.link("L1", HS, "contact", "101")
        assert uow.leads.load("L1") is None
        uow.leads.save(lead)
    with store.transaction() as uow:
        loaded = uow.leads.load("L1")
    assert loaded == replace(lead, identity=Identity(hubspot="101"))


def test_saving_again_replaces_the_lead(store: Store) -> None:
    with store.transaction() as uow:
        uow.leads.save(Lead("L1", "lead", T0, fields={"score": 1}))
        uow.leads.save(Lead("L1", "mql", T0 + timedelta(days=1)))
    with store.transaction() as uow:
        loaded = uow.leads.load("L1")
    assert loaded is not None
    assert (loaded.stage, loaded.stage_entered_at, dict(loaded.fields)) == (
        "mql",
        T0 + timedelta(days=1),
        {},
    )


def test_snapshots_merge_written_fields_over_read_ones(store: Store, clock: FixedClock) -> None:
    with store.transaction() as uow:
        assert uow.snapshots.get(HS, "contact", "101") is None
        uow.snapshots.put(HS, "contact", "101", {"lifecyclestage": "lead", "email": "a@x.io"})
        clock.advance(60)
        known = uow.snapshots.put(
            HS, "contact", "101", {"lifecyclestage": "marketingqualifiedlead"}, origin="write"
        )
    assert known == {"lifecyclestage": "marketingqualifiedlead", "email": "a@x.io"}
    with store.transaction() as uow:
        assert uow.snapshots.get(HS, "contact", "101") == known
        uow.snapshots.put(HS, "contact", "101", {"email": "b@x.io"}, replace=True)
        assert uow.snapshots.get(HS, "contact", "101") == {"email": "b@x.io"}
        assert uow.snapshots.get(SF, "Lead", "101") is None


# NUL never comes from either API, and PostgreSQL's JSONB cannot hold it.
TEXT = st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=30)
VALUES = st.dictionaries(
    TEXT.filter(bool),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        TEXT,
        st.dates(),
        st.datetimes(timezones=st.just(UTC)),
    ),
    max_size=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=VALUES)
def test_snapshot_values_come_back_equal_and_of_the_same_type(
    store: Store, values: dict[str, Value]
) -> None:
    with store.transaction() as uow:
        uow.snapshots.put(SF, "Lead", "00Q1", values, replace=True)
        back = uow.snapshots.get(SF, "Lead", "00Q1")
    assert back == values
    assert back is not None
    assert {name: type(value) for name, value in back.items()} == {
        name: type(value) for name, value in values.items()
    }


def test_a_leads_snapshots_come_keyed_like_the_planners_known(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", HS, "contact", "101")
        uow.links.link("L1", SF, "Lead", "00Q1")
        uow.links.link("L2", SF, "Lead", "00Q2")
        uow.snapshots.put(HS, "contact", "101", {"lifecyclestage": "lead"}, origin="read")
        uow.snapshots.put(SF, "Lead", "00Q1", {"Status": "Open"}, origin="read")
        uow.snapshots.put(SF, "Lead", "00Q2", {"Status": "Working"}, origin="read")
        assert uow.snapshots.of_lead("L1") == {
            (HS, "contact", "101"): {"lifecyclestage": "lead"},
            (SF, "Lead", "00Q1"): {"Status": "Open"},
        }
        assert uow.snapshots.of_lead("L404") == {}
