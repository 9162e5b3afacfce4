"""Batch endpoints through hubspot-api-client: 100 inputs at most, 207 partial answers, upserts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.contacts.exceptions import ApiException

from tests.sandbox import hubspot_fixtures as fx

portal = fx.portal
Portal = fx.Portal


def _create_many(portal: Portal, count: int, **extra: str) -> list[str]:
    inputs = [
        SimplePublicObjectBatchInputForCreate(
            properties={"email": f"b{n}@example.com", "firstname": f"B{n}", **extra}
        )
        for n in range(count)
    ]
    answer = portal.client.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
    )
    return [c.id for c in answer.results]


def _read(portal: Portal, ids: list[str], **options: object) -> Any:
    return portal.client.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids],
            properties=["email", "lifecyclestage"],
            properties_with_history=[],
            **options,
        )
    )


def test_batch_create_answers_201_complete_and_batch_read_returns_them(portal: Portal) -> None:
    batch = portal.client.crm.contacts.batch_api
    body, status, _ = batch.create_with_http_info(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(properties={"email": f"c{n}@example.com"})
                for n in range(100)
            ]
        )
    )
    assert status == 201 and body.status == "COMPLETE"
    assert len(body.results) == 100 and body.started_at <= body.completed_at
    ids = [c.id for c in body.results]
    read = _read(portal, ids)
    assert [c.id for c in read.results] == ids
    assert read.results[0].properties["email"] == "c0@example.com"
    assert "firstname" not in read.results[0].properties


def _batch_call(portal: Portal, endpoint: str, count: int) -> Any:
    """`count` inputs to one batch endpoint, built with the client's own models."""
    batch = portal.client.crm.contacts.batch_api
    emails = [f"cap{n}@example.com" for n in range(count)]
    if endpoint == "read":
        return _read(portal, [str(n) for n in range(count)])
    if endpoint == "create":
        inputs: Any = [
            SimplePublicObjectBatchInputForCreate(properties={"email": e}) for e in emails
        ]
        return batch.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    if endpoint == "update":
        inputs = [SimplePublicObjectBatchInput(id=str(n), properties={}) for n in range(count)]
        return batch.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))
    if endpoint == "upsert":
        inputs = [
            SimplePublicObjectBatchInputUpsert(id=e, id_property="email", properties={})
            for e in emails
        ]
        return batch.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
    inputs = [SimplePublicObjectId(id=str(n)) for n in range(count)]
    return batch.archive(BatchInputSimplePublicObjectId(inputs=inputs))


@pytest.mark.parametrize("endpoint", ["read", "create", "update", "upsert", "archive"])
def test_more_than_100_inputs_is_a_400_and_writes_nothing(portal: Portal, endpoint: str) -> None:
    with pytest.raises(ApiException) as caught:
        _batch_call(portal, endpoint, 101)
    assert caught.value.status == 400
    body = json.loads(caught.value.body)
    assert body["category"] == "VALIDATION_ERROR" and "101 inputs" in body["message"]
    assert portal.sim.state.all_contacts() == []


@pytest.mark.parametrize("endpoint", ["create", "upsert"])
def test_exactly_100_inputs_are_served(portal: Portal, endpoint: str) -> None:
    assert len(_batch_call(portal, endpoint, 100).results) == 100
    assert len(portal.sim.state.all_contacts()) == 100


def test_batch_read_with_missing_ids_is_a_207_the_client_parses(portal: Portal) -> None:
    ids = _create_many(portal, 2)
    answer, status, _ = portal.client.crm.contacts.batch_api.read_with_http_info(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in [ids[0], "404404", ids[1], "77"]],
            properties=["email"],
            properties_with_history=[],
        )
    )
    assert status == 207
    assert sorted(c.id for c in answer.results) == sorted(ids)
    assert answer.num_errors == 1
    error = answer.errors[0]
    assert (error.status, error.category) == ("error", "OBJECT_NOT_FOUND")
    assert error.context == {"ids": ["404404", "77"]}


def test_batch_read_by_email(portal: Portal) -> None:
    ids = _create_many(portal, 3)
    answer = _read(portal, ["B2@example.com", "b0@example.com"], id_property="email")
    assert [c.id for c in answer.results] == [ids[2], ids[0]]


def test_batch_create_is_all_or_nothing(portal: Portal) -> None:
    existing = _create_many(portal, 1)[0]
    batch = portal.client.crm.contacts.batch_api
    with pytest.raises(ApiException) as caught:
        batch.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(properties={"email": "new@example.com"}),
                    SimplePublicObjectBatchInputForCreate(properties={"email": "b0@example.com"}),
                ]
            )
        )
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["message"].endswith(f"Existing ID: {existing}")
    with pytest.raises(ApiException) as invalid:
        batch.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(properties={"email": "ok@example.com"}),
                    SimplePublicObjectBatchInputForCreate(properties={"hs_lead_status": "HOT"}),
                ]
            )
        )
    assert invalid.value.status == 400
    assert portal.sim.state.find_by_email("new@example.com") is None
    assert portal.sim.state.find_by_email("ok@example.com") is None


def test_batch_update_partial_failure_and_the_forward_only_rule(portal: Portal) -> None:
    ids = _create_many(portal, 2, lifecyclestage="marketingqualifiedlead")
    batch = portal.client.crm.contacts.batch_api
    answer, status, _ = batch.update_with_http_info(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=ids[0], properties={"lifecyclestage": "lead"}),
                SimplePublicObjectBatchInput(id=ids[1], properties={"lifecyclestage": "customer"}),
                SimplePublicObjectBatchInput(id="31337", properties={"firstname": "Nobody"}),
            ]
        )
    )
    assert status == 207 and answer.num_errors == 1
    assert answer.errors[0].context == {"ids": ["31337"]}
    stages = {c.id: c.properties["lifecyclestage"] for c in answer.results}
    assert stages == {ids[0]: "marketingqualifiedlead", ids[1]: "customer"}


def test_batch_update_with_an_invalid_value_writes_nothing(portal: Portal) -> None:
    ids = _create_many(portal, 2)
    with pytest.raises(ApiException) as caught:
        portal.client.crm.contacts.batch_api.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(id=ids[0], properties={"firstname": "Changed"}),
                    SimplePublicObjectBatchInput(id=ids[1], properties={"lifecyclestage": "hot"}),
                ]
            )
        )
    assert caught.value.status == 400
    assert "INVALID_OPTION" in json.loads(caught.value.body)["message"]
    unchanged = portal.sim.state.get_contact(ids[0])
    assert unchanged is not None and unchanged["properties"]["firstname"] == "B0"


def test_upsert_by_email_reports_new_and_keeps_stage_forward_only(portal: Portal) -> None:
    existing = _create_many(portal, 1, lifecyclestage="opportunity")[0]
    answer, status, _ = portal.client.crm.contacts.batch_api.upsert_with_http_info(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="b0@example.com", id_property="email", properties={"lifecyclestage": "lead"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="Fresh@Example.com",
                    id_property="email",
                    properties={"firstname": "Fresh", "lifecyclestage": "lead"},
                ),
            ]
        )
    )
    assert status == 200 and answer.status == "COMPLETE"
    by_id = {c.id: c for c in answer.results}
    assert by_id[existing].new is False
    assert by_id[existing].properties["lifecyclestage"] == "opportunity"
    fresh = next(c for c in answer.results if c.id != existing)
    assert fresh.new is True and fresh.properties["email"] == "fresh@example.com"


def test_upsert_reports_a_bad_input_in_a_207_and_writes_the_rest(portal: Portal) -> None:
    answer, status, _ = portal.client.crm.contacts.batch_api.upsert_with_http_info(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="good@example.com", id_property="email", properties={"firstname": "G"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="bad@example.com", id_property="email", properties={"numemployees": "7"}
                ),
            ]
        )
    )
    assert status == 207 and answer.num_errors == 1
    assert answer.errors[0].category == "VALIDATION_ERROR"
    assert answer.errors[0].context == {"ids": ["bad@example.com"]}
    assert [c.properties["email"] for c in answer.results] == ["good@example.com"]
    assert portal.sim.state.find_by_email("bad@example.com") is None


def test_batch_archive_answers_204(portal: Portal) -> None:
    ids = _create_many(portal, 3)
    result = portal.client.crm.contacts.batch_api.archive_with_http_info(
        BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=i) for i in [*ids[:2], "5"]])
    )
    assert result[1] == 204
    remaining = [c["id"] for c in portal.sim.state.all_contacts()]
    assert remaining == [ids[2]]
