"""Identity links: lookups by any record and by email, conversion re-keys, merges fold."""

from __future__ import annotations

import pytest

from leadbridge.model import Identity, Lead, System
from leadbridge.store import AmbiguousLink, Store

from .conftest import T0, change

HS, SF = System.HUBSPOT, System.SALESFORCE


def test_lookup_by_any_record_and_identity(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", HS, "contact", "101", email="Ada@Example.com")
        uow.links.link("L1", SF, "Lead", "00Q1", email="ada@example.com")
        assert uow.links.lead_for(HS, "contact", "101") == "L1"
        assert uow.links.lead_for(SF, "Lead", "00Q1") == "L1"
        assert uow.links.lead_for(SF, "Lead", "00Q9") is None
        assert uow.links.identity("L1") == Identity("101", "00Q1", None)


def test_email_lookup_ignores_case_and_spaces(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", HS, "contact", "101", email="Ada@Example.com")
        found = uow.links.by_email("  ADA@example.COM ")
        assert [(link.lead_id, link.record_id, link.email) for link in found] == [
            ("L1", "101", "ada@example.com")
        ]
        assert uow.links.by_email("ada@example.com", SF) == []


def test_two_salesforce_leads_with_one_email_are_detectable(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", SF, "Lead", "00Q1", email="sam@example.com")
        uow.links.link("L2", SF, "Lead", "00Q2", email="Sam@Example.com")
        uow.links.link("L1", HS, "contact", "101", email="sam@example.com")
        matches = uow.links.by_email("sam@example.com", SF, "Lead")
    assert len(matches) == 2  # ambiguous: the sync parks it rather than guess
    assert {link.lead_id for link in matches} == {"L1", "L2"}


def test_conversion_rekeys_onto_contact_account_and_opportunity(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", HS, "contact", "101", email="ada@example.com")
        uow.links.link("L1", SF, "Lead", "00Q1", email="ada@example.com")
        assert uow.links.convert("00Q1", "003C1", "001A1", "006O1") == "L1"
        assert uow.links.convert("00Q404", "003C2") is None
    with store.transaction() as uow:
        assert uow.links.lead_for(SF, "Contact", "003C1") == "L1"
        assert uow.links.lead_for(SF, "Opportunity", "006O1") == "L1"
        # A late change to the converted Lead still finds its lead.
        assert uow.links.lead_for(SF, "Lead", "00Q1") == "L1"
        roles = {(link.object, link.role) for link in uow.links.links_of("L1")}
        assert ("Lead", "converted") in roles and ("Contact", "active") in roles
        assert uow.links.identity("L1") == Identity("101", "00Q1", "003C1")
        assert [link.record_id for link in uow.links.by_email("ADA@example.com", SF)] == [
            "003C1",
            "00Q1",
        ]


def test_an_account_may_belong_to_several_leads(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", SF, "Account", "001A")
        uow.links.link("L2", SF, "Account", "001A")
        assert uow.links.leads_for(SF, "Account", "001A") == ["L1", "L2"]
        with pytest.raises(AmbiguousLink):
            uow.links.lead_for(SF, "Account", "001A")


def test_remote_merge_of_two_linked_records_folds_their_leads(store: Store) -> None:
    with store.transaction() as uow:
        for lead_id, contact, sf_lead in (("L1", "101", "00Q1"), ("L2", "102", "00Q2")):
            uow.links.link(lead_id, HS, "contact", contact, email=f"{contact}@example.com")
            uow.links.link(lead_id, SF, "Lead", sf_lead)
            uow.links.link(lead_id, SF, "Account", "001A")
            uow.leads.save(Lead(lead_id, "lead", T0))
        uow.inbox.enqueue([change("00Q1", 5, system=SF, obj="Lead")])
        # HubSpot merged contact 101 (lead L1) into 102 (lead L2).
        assert uow.links.merge_records(HS, "contact", "101", "102") == "L2"
    with store.transaction() as uow:
        assert uow.links.lead_for(HS, "contact", "101") == "L2"
        assert uow.links.lead_for(SF, "Lead", "00Q1") == "L2"
        assert uow.links.leads_for(SF, "Account", "001A") == ["L2"]
        assert uow.links.links_of("L1") == []
        folded = uow.leads.load("L1")
        assert folded is not None and folded.id == "L2"
        assert uow.leads.ids() == ["L2"]
        # The folded lead's pending work now waits in the survivor's line.
        (item,) = uow.inbox.claim(10)
        assert item.lead_key == "L2"


def test_remote_merge_into_an_unlinked_record_moves_the_link(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", SF, "Lead", "00Q1", email="ada@example.com")
        assert uow.links.merge_records(SF, "Lead", "00Q1", "00Q7") == "L1"
        assert uow.links.lead_for(SF, "Lead", "00Q7") == "L1"
        assert uow.links.identity("L1").salesforce_lead == "00Q7"
        assert uow.links.merge_records(SF, "Lead", "00Q8", "00Q9") is None


def test_relinking_keeps_the_email_unless_given_a_new_one(store: Store) -> None:
    with store.transaction() as uow:
        uow.links.link("L1", HS, "contact", "101", email="ada@example.com")
        uow.links.link("L1", HS, "contact", "101")
        assert [link.record_id for link in uow.links.by_email("ada@example.com")] == ["101"]
        uow.links.link("L1", HS, "contact", "101", email="ada@newjob.example")
        assert uow.links.by_email("ada@example.com") == []
        assert [link.lead_id for link in uow.links.by_email("ADA@newjob.example")] == ["L1"]
