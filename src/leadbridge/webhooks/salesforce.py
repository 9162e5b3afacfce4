"""POST /webhooks/salesforce: an Outbound Message (SOAP) becomes one hint per notified record.

Outbound Messages carry no signature. What identifies the sender is the
OrganizationId inside, checked against the configured org (a secret path or a
network rule in front of the daemon is the operator's second lock). The XML is
parsed by defusedxml with DTDs refused outright: no DOCTYPE means no entity, so
XXE, billion laughs and external references all end in a 400 before any expansion.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from starlette.requests import Request

from leadbridge.connectors.salesforce.settings import SalesforceSettings
from leadbridge.model import Hint, System
from leadbridge.webhooks.intake import Intake, Rejected, malformed, read_body, unique

_SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
_OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
_SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_MAX_NOTIFICATIONS = 100  # the outbound WSDL's maxOccurs
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Z0-5]{3})?")
_SOBJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b'<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
)
CONTENT_TYPE = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class SalesforceHooks:
    """How Outbound Messages are verified: the org they must come from, and whether to check."""

    org_id: str | None
    check_org_id: bool
    token: str | None = None  # the shared secret the configured URL carries (?token=)

    def __post_init__(self) -> None:
        # Checking against no org would refuse every message, silently: fail at startup instead.
        if self.check_org_id and self.org_id is None:
            raise ValueError("check_org_id needs org_id, the org Outbound Messages must come from")
        if self.org_id is not None and not _is_org_id(self.org_id):
            raise ValueError("org_id is not a 15 or 18 character id starting with 00D")


def hooks_from(settings: SalesforceSettings) -> SalesforceHooks | None:
    """The receiver's view of connectors/salesforce.yaml; None while Outbound Messages are off."""
    if not settings.push.outbound_messages:
        return None
    token = settings.push.token
    return SalesforceHooks(
        settings.org_id,
        settings.push.check_org_id,
        token.get_secret_value() if token is not None else None,
    )


async def read_hints(request: Request, hooks: SalesforceHooks | None, now: datetime) -> Intake:
    """Parse and verify one Outbound Message; Rejected says why not (404 while off)."""
    if hooks is None:
        raise Rejected(404, "disabled", "not found")
    if hooks.token is not None:
        given = request.query_params.get("token", "").encode()
        if not hmac.compare_digest(given, hooks.token.encode()):
            raise Rejected(401, "unauthorized", "missing or wrong token")
    body = await read_body(request)
    notifications = _notifications(body)
    org = _one_text(notifications, "OrganizationId")
    if hooks.check_org_id and not same_org(org, hooks.org_id or ""):
        # 403, not 401: the message names its org and it is the wrong one; no credential
        # the sender could add would change the answer, which is what 401 would promise.
        raise Rejected(403, "wrong_org", "OrganizationId is not the configured org")
    hints = (Hint(System.SALESFORCE, kind, id_, now) for kind, id_ in _records(notifications))
    return Intake(unique(hints))


def same_org(given: str, configured: str) -> bool:
    """Same org: both well-formed, and the 15 case-sensitive characters equal
    (an 18-character id is the 15 plus a checksum of their case)."""
    return _is_org_id(given) and _is_org_id(configured) and given[:15] == configured[:15]


def _is_org_id(value: str) -> bool:
    return value.startswith("00D") and is_record_id(value)


def is_record_id(value: str) -> bool:
    """15 characters, or 18 whose last three are the right case checksum of the first 15."""
    return bool(_ID.fullmatch(value)) and (len(value) == 15 or value[15:] == _checksum(value))


def _checksum(id15: str) -> str:
    # Per 5-character chunk, a bit per upper-case letter, as one of 32 symbols.
    chunks = (id15[0:5], id15[5:10], id15[10:15])
    return "".join(
        _SUFFIX[sum(1 << i for i, ch in enumerate(c) if "A" <= ch <= "Z")] for c in chunks
    )


def _notifications(body: bytes) -> Element:
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise Rejected(
            400, "xml_forbidden", "DTDs, entities and external references are refused"
        ) from None
    except (ParseError, LookupError, ValueError):
        # LookupError: an encoding declaration expat does not know; ValueError: one it refuses.
        raise malformed("body is not well-formed XML") from None
    if root.tag != f"{{{_SOAP_NS}}}Envelope":
        raise malformed("not a SOAP envelope")
    return _one(_one(root, f"{{{_SOAP_NS}}}Body"), f"{{{_OUTBOUND_NS}}}notifications")


def _records(notifications: Element) -> Iterator[tuple[str, str]]:
    """(sObject type, record id) of each Notification, in order."""
    found = notifications.findall(f"{{{_OUTBOUND_NS}}}Notification")
    if not 1 <= len(found) <= _MAX_NOTIFICATIONS:
        raise malformed(f"not 1 to {_MAX_NOTIFICATIONS} Notification elements")
    _one_text(notifications, "ActionId")
    for notification in found:
        sobject = _one(notification, f"{{{_OUTBOUND_NS}}}sObject")
        # xsi:type is a QName such as sf:Lead; the prefix is the sender's choice.
        kind = sobject.get(_XSI_TYPE, "").rpartition(":")[2]
        if not _SOBJECT.fullmatch(kind):
            raise malformed("a Notification's sObject has no xsi:type naming its object")
        record = (_one(sobject, f"{{{_SOBJECT_NS}}}Id").text or "").strip()
        if not is_record_id(record):
            raise malformed("a Notification's sObject has no well-formed Id")
        yield kind, record


def _one(parent: Element, tag: str) -> Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise malformed(f"expected exactly one {tag.rpartition('}')[2]}")
    return found[0]


def _one_text(notifications: Element, name: str) -> str:
    text = (_one(notifications, f"{{{_OUTBOUND_NS}}}{name}").text or "").strip()
    if not text:
        raise malformed(f"{name} is empty")
    return text


def fault(reason: str, status: int) -> bytes:
    """A SOAP fault naming why, which Salesforce shows in its outbound message queue.

    SOAP 1.1 sends faults with HTTP 500; this receiver never answers 500 (the status
    says whose fault it was), and Salesforce retries any answer that is not an Ack.
    """
    code = "soapenv:Server" if status >= 500 else "soapenv:Client"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_NS}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{escape(reason)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()
