"""The marketer: people acting inside HubSpot (new contacts, form fills, score changes, edits).

Each action is an ordinary change in the portal: it bumps lastmodifieddate,
lands in property history and fires webhooks, with the changeSource HubSpot
would report (CRM_UI for hand edits, FORM for submissions, CALCULATED for scores).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from leadbridge.sandbox.hubspot.errors import ApiError
from leadbridge.sandbox.hubspot.properties import EMPLOYEE_BANDS
from leadbridge.sandbox.hubspot.records import Contact
from leadbridge.sandbox.hubspot.state import ContactStore
from leadbridge.sandbox.hubspot.values import validate_write

FORMS = {
    "download": "Ebook download",
    "webinar": "Webinar registration",
    "contact_sales": "Contact sales",
    "demo_request": "Demo request",
    "consultation": "Consultation request",
}
_BAND_FLOORS = (1, 5, 25, 50, 100, 500, 1000)
T = TypeVar("T")


def employee_band(count: int | str) -> str:
    """HubSpot's numemployees is a dropdown of bands; a head count picks its band."""
    if isinstance(count, str) and not count.isdigit():
        return count
    number = int(count)
    band = EMPLOYEE_BANDS[0]
    for floor, name in zip(_BAND_FLOORS, EMPLOYEE_BANDS, strict=True):
        if number >= floor:
            band = name
    return band


class Marketer:
    def __init__(self, store: ContactStore) -> None:
        self.store = store

    def new_contact(
        self,
        email: str,
        firstname: str | None = None,
        lastname: str | None = None,
        company: str | None = None,
        jobtitle: str | None = None,
        industry: str | None = None,
        numemployees: int | str | None = None,
        source: str = "ORGANIC_SEARCH",
        *,
        lifecyclestage: str = "subscriber",
        **properties: Any,
    ) -> str:
        """A contact entered by hand (or a list import); answers its id."""
        given = {
            "email": email,
            "firstname": firstname,
            "lastname": lastname,
            "company": company,
            "jobtitle": jobtitle,
            "industry": industry,
            "numemployees": employee_band(numemployees) if numemployees is not None else None,
            "hs_analytics_source": source.upper(),
            "lifecyclestage": lifecyclestage,
            **properties,
        }
        values = self._validate({k: v for k, v in given.items() if v is not None}, trusted=True)
        with self.store.transaction():
            return str(self._call(lambda: self.store.create(values, "CRM_UI")).id)

    def fill_form(self, email_or_id: str | int, form: str, **fields: Any) -> str:
        """A form submission: conversion properties move, and a subscriber becomes a lead.
        An unknown email creates the contact, as a real form does."""
        if form not in FORMS:
            raise ValueError(f"unknown form {form!r}; expected one of {sorted(FORMS)}")
        with self.store.transaction():
            contact = self._find(email_or_id, create_ok=True)
            stamp = self.store.now()[1]
            previous = contact.props.get("num_conversion_events") if contact else None
            count = int(float(previous)) if previous else 0
            update: dict[str, Any] = {
                **fields,
                "recent_conversion_event_name": FORMS[form],
                "recent_conversion_date": stamp,
                "num_conversion_events": str(count + 1),
            }
            if count == 0:
                update["first_conversion_event_name"] = FORMS[form]
                update["first_conversion_date"] = stamp
            stage = contact.props.get("lifecyclestage") if contact else None
            if not stage or stage == "subscriber":
                update["lifecyclestage"] = "lead"
            if contact is None:
                update.setdefault("hs_analytics_source", "DIRECT_TRAFFIC")
                update["email"] = str(email_or_id)
                values = self._validate(update, trusted=True)
                return str(self._call(lambda: self.store.create(values, "FORM")).id)
            values = self._validate(update, trusted=True)
            self.store.apply(contact, values, "FORM")
            return str(contact.id)

    def set_score(self, email_or_id: str | int, score: int | float) -> str:
        values = self._validate({"hubspotscore": score}, trusted=True)
        with self.store.transaction():
            contact = self._require(email_or_id)
            self.store.apply(contact, values, "CALCULATED")
            return str(contact.id)

    def edit(self, email_or_id: str | int, **properties: Any) -> str:
        """A hand edit in the UI: calculated properties are out of reach, as they are there,
        but a lifecycle stage may be set back (the UI allows what the API ignores)."""
        values = self._validate(properties, trusted=False)
        with self.store.transaction():
            contact = self._require(email_or_id)
            self._call(lambda: self.store.update(str(contact.id), values, "CRM_UI"))
            return str(contact.id)

    def _find(self, email_or_id: str | int, *, create_ok: bool = False) -> Contact | None:
        key = str(email_or_id)
        by_email = "@" in key
        contact = self.store.lookup(key, "email" if by_email else None)
        if contact is None and not (create_ok and by_email):
            raise KeyError(f"no contact {key}")
        return contact

    def _require(self, email_or_id: str | int) -> Contact:
        contact = self._find(email_or_id)
        assert contact is not None  # _find raises when it finds nothing and may not create
        return contact

    def _validate(self, properties: dict[str, Any], *, trusted: bool) -> dict[str, str]:
        return self._call(lambda: validate_write(self.store.catalog, properties, trusted=trusted))

    @staticmethod
    def _call(action: Callable[[], T]) -> T:
        """HubSpot's refusals reach a Python caller as ValueError with HubSpot's message."""
        try:
            return action()
        except ApiError as exc:
            raise ValueError(exc.message) from None
