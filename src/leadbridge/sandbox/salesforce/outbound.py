"""Outbound Messages: SOAP notifications of record changes, POSTed until the listener acks.

Each configured message watches one sObject: every create and update queues a
notification. Changes close together travel in one SOAP message of up to 100
notifications. A message counts as delivered only when the listener answers
200 with `<notificationsResponse><Ack>true</Ack></notificationsResponse>` in a
SOAP envelope; anything else is retried. The body is rendered at each attempt
from the record as it is then, so a retry carries the latest values, as the
real org's do. Fields that are null are left out of the sObject.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from leadbridge.sandbox.delivery import Deliverer
from leadbridge.sandbox.salesforce.ids import IdFactory
from leadbridge.sandbox.salesforce.store import Change, RecordStore

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
MAX_NOTIFICATIONS = 100
# The outbound WSDL's operation declares soapAction=""; SOAP 1.1 sends it quoted.
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


@dataclass(frozen=True)
class OutboundMessage:
    action_id: str  # the 04k... id every notification of this message carries as ActionId
    sobject: str
    url: str
    fields: tuple[str, ...]


@dataclass
class _Batch:
    """Notifications waiting in one queued SOAP message; sealed once its first attempt renders."""

    items: list[tuple[str, str]] = field(default_factory=list)  # (04l id, record id)
    sealed: bool = False


class OutboundMessages:
    def __init__(
        self,
        store: RecordStore,
        deliverer: Deliverer,
        id_factory: IdFactory,
        *,
        org_id: str,
        instance_url: Callable[[], str],
        api_version: str = "59.0",
        batch_window: float = 0.05,
    ) -> None:
        self._store = store
        self._deliverer = deliverer
        self._ids = id_factory
        self._org_id = org_id
        self._instance_url = instance_url
        self._api_version = api_version
        self._window = batch_window
        self._messages: list[OutboundMessage] = []
        self._open: dict[str, _Batch] = {}  # action id -> the batch still taking notifications
        self._lock = threading.Lock()
        self._closed = False
        store.subscribe(self._on_change)

    @property
    def messages(self) -> list[OutboundMessage]:
        return list(self._messages)

    def add(
        self, sobject_name: str, url: str, fields: list[str] | tuple[str, ...]
    ) -> OutboundMessage:
        """Configures a message; raises ValueError for an unknown sObject or field."""
        obj = self._store.schema.sobject(sobject_name)
        if obj is None:
            raise ValueError(f"no sObject named {sobject_name!r}")
        names = ["Id"]
        for name in fields:
            found = obj.field(name)
            if found is None:
                raise ValueError(f"{obj.name} has no field {name!r}")
            if found.name not in names:
                names.append(found.name)
        message = OutboundMessage(self._ids.new("04k"), obj.name, url, tuple(names))
        with self._lock:
            self._messages.append(message)
        return message

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _on_change(self, change: Change) -> None:
        if change.kind == "deleted":
            return
        with self._lock:
            if self._closed:
                return
            for message in self._messages:
                if message.sobject != change.sobject:
                    continue
                batch = self._open.get(message.action_id)
                if batch is None or batch.sealed or len(batch.items) >= MAX_NOTIFICATIONS:
                    batch = self._open[message.action_id] = _Batch()
                    # Queued (so `Deliverer.wait_idle` sees it) but sent only after the window,
                    # which lets the changes close behind it join this message.
                    self._deliverer.enqueue(
                        message.url,
                        self._renderer(message, batch),
                        delay=self._window,
                        accept=acknowledged,
                    )
                batch.items.append((self._ids.new("04l"), change.record_id))

    def _renderer(
        self, message: OutboundMessage, batch: _Batch
    ) -> Callable[[int], tuple[bytes, dict[str, str]]]:
        def render(attempt: int) -> tuple[bytes, dict[str, str]]:
            with self._lock:
                batch.sealed = True
                items = list(batch.items)
            return self.envelope(message, items).encode("utf-8"), dict(HEADERS)

        return render

    def envelope(self, message: OutboundMessage, chunk: list[tuple[str, str]]) -> str:
        base = self._instance_url()
        org15 = self._org_id[:15]
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            " <soapenv:Body>\n"
            f'  <notifications xmlns="{OUTBOUND_NS}">\n'
            f"   <OrganizationId>{self._org_id}</OrganizationId>\n"
            f"   <ActionId>{message.action_id}</ActionId>\n"
            '   <SessionId xsi:nil="true"/>\n'
            f"   <EnterpriseUrl>{escape(base)}/services/Soap/c/{self._api_version}/{org15}"
            "</EnterpriseUrl>\n"
            f"   <PartnerUrl>{escape(base)}/services/Soap/u/{self._api_version}/{org15}"
            "</PartnerUrl>\n"
        ]
        obj = self._store.schema.sobject(message.sobject)
        if obj is None:
            raise RuntimeError(f"outbound message for an unknown sObject {message.sobject}")
        for notification_id, record_id in chunk:
            record = self._store.get(message.sobject, record_id) or {"Id": record_id}
            parts.append(
                "   <Notification>\n"
                f"    <Id>{notification_id}</Id>\n"
                f'    <sObject xsi:type="sf:{obj.name}" xmlns:sf="{SOBJECT_NS}">\n'
            )
            for name in message.fields:
                value = record.get(name)
                if value is not None:
                    text = escape(_soap_text(value, getattr(obj.field(name), "type", "string")))
                    parts.append(f"     <sf:{name}>{text}</sf:{name}>\n")
            parts.append("    </sObject>\n   </Notification>\n")
        parts.append("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n")
        return "".join(parts)


def _soap_text(value: object, kind: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"  # xsd:dateTime, as SOAP writes it
    return str(value)


def acknowledged(status: int, body: bytes) -> bool:
    """Did the listener ack? Only a SOAP notificationsResponse with Ack true counts."""
    if status != 200:
        return False
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        return False
    soap_body = root.find(f"{{{SOAP_NS}}}Body") if root.tag == f"{{{SOAP_NS}}}Envelope" else None
    response = (
        soap_body.find(f"{{{OUTBOUND_NS}}}notificationsResponse") if soap_body is not None else None
    )
    ack = response.find(f"{{{OUTBOUND_NS}}}Ack") if response is not None else None
    return ack is not None and (ack.text or "").strip().lower() in ("true", "1")
