"""Outbound Messages: SOAP notifications, retried until the listener acks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from defusedxml.ElementTree import fromstring
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.salesforce.outbound import acknowledged
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import RunningOrg, running_org

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
OUT = "{http://soap.sforce.com/2005/09/outbound}"
SF = "{urn:sobject.enterprise.soap.sforce.com}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    b'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
    b"</notificationsResponse></soapenv:Body></soapenv:Envelope>"
)


@dataclass
class Listener:
    """Fails its first `failures` deliveries (a 503, then a 200 that is no ack), then acks."""

    failures: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.received.append((dict(request.headers), body))
            attempt = len(self.received)
        if attempt <= self.failures:
            if attempt % 2:
                return Response("busy", 503)
            return Response("<html>ok</html>", 200, media_type="text/html")
        return Response(ACK, 200, media_type="text/xml")

    def wait_for(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture
def listener() -> Iterator[tuple[Listener, RunningServer]]:
    hook = Listener(failures=2)
    server = serve(
        Starlette(routes=[Route("/sfdc/outbound", hook.handle, methods=["POST"])]), "hook"
    )
    yield hook, server
    server.stop()


def test_a_change_is_delivered_as_soap_and_retried_until_acked(
    org: RunningOrg, listener: tuple[Listener, RunningServer]
) -> None:
    hook, server = listener
    action = org.sim.add_outbound_message(
        "Lead",
        f"{server.url}/sfdc/outbound",
        ["Email", "Status", "IsConverted", "LastModifiedDate"],
    )
    lead = org.lead(Email="mei@tanaka.jp", FirstName="Mei")
    assert org.sim.deliveries.wait_idle(10)
    assert [a.status for a in org.sim.deliveries.attempts] == [503, 200, 200]
    assert len(hook.received) == 3
    headers, body = hook.received[-1]
    assert headers["content-type"].startswith("text/xml")
    assert headers["soapaction"] == '""'

    root = fromstring(body)
    assert root.tag == f"{SOAP}Envelope"
    notifications = root.find(f"{SOAP}Body/{OUT}notifications")
    assert notifications is not None
    assert notifications.findtext(f"{OUT}OrganizationId") == "00D5g000004XyzAEAS"
    assert notifications.findtext(f"{OUT}ActionId") == action and action.startswith("04k")
    session = notifications.find(f"{OUT}SessionId")
    assert session is not None and session.get(f"{XSI}nil") == "true"
    assert notifications.findtext(f"{OUT}EnterpriseUrl") == (
        f"{org.url}/services/Soap/c/59.0/00D5g000004XyzA"
    )
    assert notifications.findtext(f"{OUT}PartnerUrl", "").endswith(
        "/services/Soap/u/59.0/00D5g000004XyzA"
    )
    [notification] = notifications.findall(f"{OUT}Notification")
    assert notification.findtext(f"{OUT}Id", "").startswith("04l")
    sobject = notification.find(f"{OUT}sObject")
    assert sobject is not None and sobject.get(f"{XSI}type") == "sf:Lead"
    fields = {child.tag.removeprefix(SF): child.text for child in sobject}
    assert fields == {
        "Id": lead,
        "Email": "mei@tanaka.jp",
        "Status": "Open",
        "IsConverted": "false",
        "LastModifiedDate": org.sim.state.get("Lead", lead)["LastModifiedDate"][:23] + "Z",  # type: ignore[index]
    }
    assert len({body for _, body in hook.received}) == 1, "each retry carries the same news"


def test_a_retry_carries_the_record_as_it_is_then(
    org: RunningOrg, listener: tuple[Listener, RunningServer]
) -> None:
    hook, server = listener
    hook.failures = 1
    org.sim.add_outbound_message("Lead", f"{server.url}/sfdc/outbound", ["Title"])
    lead = org.lead(Title="Analyst")
    hook.wait_for(1)
    org.sim.state.update("Lead", lead, {"Title": "Head of Analytics"})
    assert org.sim.deliveries.wait_idle(10)
    titles = [
        fromstring(body).findtext(
            f"{SOAP}Body/{OUT}notifications/{OUT}Notification/{OUT}sObject/{SF}Title"
        )
        for _, body in hook.received
    ]
    assert titles[0] == "Analyst"
    assert titles[1:] == ["Head of Analytics", "Head of Analytics"], "retry, then the new change"


def test_changes_close_together_travel_in_one_message(
    org: RunningOrg, listener: tuple[Listener, RunningServer]
) -> None:
    hook, server = listener
    hook.failures = 0
    control = org.http()
    added = control.post(
        f"{org.url}/_sandbox/outbound",
        json={"sobject": "lead", "url": f"{server.url}/sfdc/outbound", "fields": ["lastname"]},
        timeout=5,
    )
    assert added.json()["fields"] == ["Id", "LastName"]
    sf = org.client()
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "LastName": f"N{n}", "Company": "Atlas"}
                for n in range(3)
            ]
        },
    )
    assert org.sim.deliveries.wait_idle(10)
    [(_, body)] = hook.received
    notifications = fromstring(body).find(f"{SOAP}Body/{OUT}notifications")
    assert notifications is not None
    ids = [n.findtext(f"{OUT}sObject/{SF}Id") for n in notifications.findall(f"{OUT}Notification")]
    assert ids == [r["id"] for r in results]
    watched = control.get(f"{org.url}/_sandbox/outbound", timeout=5).json()
    assert [a["status"] for a in watched["attempts"]] == [200]
    assert (watched["pending"], watched["given_up"]) == (0, 0)


@pytest.mark.parametrize(("changes", "messages"), [(100, [100]), (101, [1, 100])])
def test_a_message_holds_100_notifications_and_the_101st_travels_in_another(
    org: RunningOrg, listener: tuple[Listener, RunningServer], changes: int, messages: list[int]
) -> None:
    hook, server = listener
    hook.failures = 0
    org.sim.add_outbound_message("Lead", f"{server.url}/sfdc/outbound", ["LastName"])
    with org.sim.state.atomic():  # one commit: every notification is queued at once
        for n in range(changes):
            org.lead(LastName=f"N{n}")
    assert org.sim.deliveries.wait_idle(10)
    sizes = [
        len(fromstring(body).findall(f"{SOAP}Body/{OUT}notifications/{OUT}Notification"))
        for _, body in hook.received
    ]
    assert sorted(sizes) == messages


def test_an_unacked_message_is_retried_past_ten_tries_until_a_day_has_passed(
    org: RunningOrg, listener: tuple[Listener, RunningServer]
) -> None:
    hook, server = listener
    hook.failures = 10_000
    org.sim.deliveries.backoff = lambda attempt: 0.0
    org.sim.add_outbound_message("Lead", f"{server.url}/sfdc/outbound", ["LastName"])
    org.lead()
    hook.wait_for(15)
    assert len(hook.received) >= 15 and org.sim.deliveries.given_up == 0
    org.clock.advance(24 * 3600)
    assert org.sim.deliveries.wait_idle(10)
    assert org.sim.deliveries.given_up == 1


def test_rep_actions_and_rolled_back_writes(
    org: RunningOrg, listener: tuple[Listener, RunningServer]
) -> None:
    hook, server = listener
    hook.failures = 0
    org.sim.add_outbound_message("Opportunity", f"{server.url}/sfdc/outbound", ["StageName"])
    lead = org.lead()
    org.sim.rep.convert(lead)
    assert org.sim.deliveries.wait_idle(10)
    assert len(hook.received) == 1, "only the Opportunity message is configured"
    sf = org.client()
    sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Opportunity"}, "Name": "x", "StageName": "Nope"},
            ],
        },
    )
    assert org.sim.deliveries.wait_idle(10)
    assert len(hook.received) == 1, "a rolled-back write notifies nobody"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, ACK, True),
        (500, ACK, False),
        (200, ACK.replace(b"true", b"false"), False),
        (200, b"<html>OK</html>", False),
        (200, b"not xml at all", False),
        (
            200,
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "true">]>'
            + ACK[ACK.index(b"<soapenv") :].replace(b"true", b"&e;"),
            False,
        ),
        (200, ACK.replace(b"notificationsResponse", b"notifications"), False),
    ],
)
def test_only_a_real_soap_ack_counts(status: int, body: bytes, expected: bool) -> None:
    assert acknowledged(status, body) is expected
