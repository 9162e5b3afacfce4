"""What to write: the values a decision wants each system to show, minus what it shows. Pure.

`plan` compares the decision's desired values with the last known remote
values (snapshots of what was read from or written to each record) and keeps
only the fields that differ, so an unchanged lead costs no write call and a
second cycle with no remote change writes nothing.

How values are compared (`same`), and why:

- Blank: None, "" and a field missing from the snapshot are one value, in
  both systems. HubSpot stores a cleared property as "", Salesforce stores
  "" as null, and a field we never saw is one we never clear.
- Numbers: a number equals a numeric string of the same value (HubSpot
  answers "500" for 500.0, Salesforce answers 5000.0 for "5000"). Two
  strings are compared as text, so a phone "+4930..." never equals "4930...".
- Booleans: True equals "true" (HubSpot's form), case-insensitively.
- Datetimes compare as instants (naive ones are UTC, as the connectors
  write them) at millisecond precision, the finest either API keeps; a
  date equals an ISO date string, and midnight UTC (HubSpot's date form).
- Case: only email addresses compare case-insensitively: both systems match
  them case-insensitively and HubSpot lower-cases them. Picklist values keep
  their case: HubSpot's internal values are case-sensitive, and writing a
  Salesforce value in the funnel's spelling is harmless and happens once.

Echoes: `is_echo` recognises our own writes read back: every mapped field
of the change equals the snapshot, so the change carries nothing new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time

from leadbridge.config import Funnel
from leadbridge.config.conditions import as_number
from leadbridge.config.funnel import HUBSPOT_OBJECT
from leadbridge.core import mapping
from leadbridge.model import (
    Change,
    Decision,
    Lead,
    RecordWrite,
    System,
    Value,
    Values,
    WritePlan,
    value_object,
)

_HS, _SF = System.HUBSPOT, System.SALESFORCE

Known = Mapping[tuple[System, str, str], Values]
"""(system, object, record id) -> remote field -> the value last read from or written there."""

EXTERNAL_ID_FIELD = "Leadbridge_Id__c"
_EXTERNAL_ID_PREFIX = "lb-"
# A converted Lead only says where it went; these are never mapped, yet always tell news.
_CONVERSION_FIELDS = ("IsConverted", "ConvertedContactId")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@value_object
class Keys:
    """What creates are upserted by, so a create retried after a crash finds its record.

    The sync fills it: `email` from the lead (HubSpot upserts contacts by
    email), `external_id_field` from the Salesforce connection's settings.
    """

    email: str | None = None
    external_id_field: str = EXTERNAL_ID_FIELD


def external_id(lead_id: str) -> str:
    """The Salesforce external id of a lead: stable, so every retry upserts the same record."""
    return _EXTERNAL_ID_PREFIX + lead_id


def lead_id_of(external: Value) -> str | None:
    """The lead id an external id names, or None when it is not one of ours."""
    if isinstance(external, str) and external.startswith(_EXTERNAL_ID_PREFIX):
        return external[len(_EXTERNAL_ID_PREFIX) :] or None
    return None


def plan(lead: Lead, decision: Decision, known: Known, keys: Keys, funnel: Funnel) -> WritePlan:
    """The writes that make both systems show `decision.desired`; empty when they already do.

    `lead` is the lead as the sync holds it after the decision (its identity
    resolved); a system blocked on either it or the decision's lead is not
    written, since a missed write is repaired later and a wrong one is not.
    """
    blocked = lead.blocked | decision.lead.blocked
    records: list[RecordWrite] = []
    for system, objects in decision.desired.items():
        if system in blocked:
            continue
        for obj, values in objects.items():
            if system is _SF:
                write = _salesforce(lead, obj, values, known, keys, funnel)
            elif obj == HUBSPOT_OBJECT:
                write = _hubspot(lead, values, known, keys, funnel)
            else:
                continue  # leadbridge writes HubSpot contacts only
            if write is not None:
                records.append(write)
    return WritePlan(lead.id, tuple(records))


def _hubspot(
    lead: Lead, values: Values, known: Known, keys: Keys, funnel: Funnel
) -> RecordWrite | None:
    record = lead.identity.hubspot
    shown = known.get((_HS, HUBSPOT_OBJECT, record), {}) if record is not None else {}
    changed = _changes(values, shown)
    if not changed:
        return None
    current = shown.get("lifecyclestage")
    steps = mapping.lifecycle_steps(changed, current if isinstance(current, str) else None, funnel)
    if record is not None:
        return RecordWrite(_HS, HUBSPOT_OBJECT, record, steps)
    email = keys.email or values.get("email")
    # Without an email there is nothing safe to upsert by: the write goes out keyless and the
    # connector parks it with that reason, so the lead is listed, never silently dropped.
    key = ("email", email.strip().lower()) if isinstance(email, str) and email.strip() else None
    return RecordWrite(_HS, HUBSPOT_OBJECT, None, steps, key)


def _salesforce(
    lead: Lead, obj: str, values: Values, known: Known, keys: Keys, funnel: Funnel
) -> RecordWrite | None:
    identity = lead.identity
    record: str | None
    if identity.salesforce_contact is not None:
        # Converted: Salesforce refuses every write to the Lead, so its fields go to the Contact.
        if obj == "Lead":
            values = _as_contact(values, funnel)
        obj, record = "Contact", identity.salesforce_contact
    elif obj == "Lead":
        record = identity.salesforce_lead
    else:
        # A Contact is made by a rep's conversion, never by us: nothing to write until it exists.
        return None
    shown = known.get((_SF, obj, record), {}) if record is not None else {}
    changed = _changes(values, shown)
    if not changed:
        return None
    if record is not None:
        return RecordWrite(_SF, obj, record, (changed,))
    return RecordWrite(_SF, obj, None, (changed,), (keys.external_id_field, external_id(lead.id)))


def _as_contact(values: Values, funnel: Funnel) -> dict[str, Value]:
    """Lead fields renamed to the Contact's; fields a Contact lacks (Status, Company) drop out."""
    renamed = funnel.contact_names
    return {renamed[name]: value for name, value in values.items() if name in renamed}


def _changes(desired: Values, shown: Values) -> dict[str, Value]:
    """The desired fields whose values differ from what the record shows."""
    changed: dict[str, Value] = {}
    for name, value in desired.items():
        now = shown.get(name)
        if now is None:
            # `same` in short, for what a record being created (or a field never read)
            # shows: a blank is no news, anything else is.
            if value is not None and value != "":
                changed[name] = value
            continue
        # Most desired values are the very text the record shows, and equal text is `same`
        # under every rule: skip its parsing (170,000 _moment calls for 10,000 people).
        if type(value) is str and type(now) is str and value == now:
            continue
        if not same(value, now, fold_case=_is_email(name)):
            changed[name] = value
    return changed


def is_echo(change: Change, known: Known, funnel: Funnel) -> bool:
    """True when the change only shows what we last read or wrote: it must produce nothing.

    Every field the funnel maps for the record's object (and a Lead's
    conversion fields) is compared; unmapped fields (modification stamps,
    ids) never make a change news. A record with no snapshot is never an
    echo: treating news as an echo loses it, while the reverse costs one
    decision that plans nothing.
    """
    shown = known.get((change.system, change.object, change.id))
    if shown is None:
        return False
    tracked = set(funnel.mapped.get((change.system, change.object), ()))
    if change.system is _HS and funnel.hubspot_stage_property:
        tracked.add(funnel.hubspot_stage_property)
    if change.system is _SF and change.object == "Lead":
        tracked.update(_CONVERSION_FIELDS)
    for name, value in change.fields.items():
        if name not in tracked:
            continue
        now = shown.get(name)
        if type(value) is str and type(now) is str and value == now:
            continue  # equal text is `same` under every rule (see _changes)
        if not same(value, now, fold_case=_is_email(name)):
            return False
    return True


def diff_lines(plan: WritePlan, known: Known) -> list[str]:
    """The field-level diff `leadbridge plan` shows, one line per field written.

    "hubspot contact 123: lifecyclestage 'opportunity' -> '' -> 'lead'" (a
    backward move shows its clear); a create names its upsert key instead of an id.
    """
    lines = []
    for write in plan.records:
        if write.id is not None:
            where = write.id
            shown = known.get((write.system, write.object, write.id), {})
        else:
            key = f"{write.key[0]}={write.key[1]}" if write.key is not None else "no key"
            where, shown = f"new ({key})", {}
        trail: dict[str, list[Value]] = {}
        for step in write.steps:
            for name, value in step.items():
                trail.setdefault(name, []).append(value)
        for name, values in trail.items():
            path = " -> ".join(repr(v) for v in [shown.get(name), *values])
            lines.append(f"{write.system.value} {write.object} {where}: {name} {path}")
    return lines


def same(a: Value, b: Value, *, fold_case: bool = False) -> bool:
    """Whether two remote values mean the same (see the module's notes for each rule)."""
    if a is None or a == "" or b is None or b == "":
        return (a is None or a == "") and (b is None or b == "")
    if isinstance(a, bool) or isinstance(b, bool):
        return _flag(a) is not None and _flag(a) == _flag(b)
    moments = _moment(a), _moment(b)
    if moments[0] is not None and moments[1] is not None:
        return _same_moment(moments[0], moments[1])
    if isinstance(a, int | float) or isinstance(b, int | float):
        return as_number(a) is not None and as_number(a) == as_number(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b or (fold_case and a.strip().casefold() == b.strip().casefold())
    return a == b


def _is_email(name: str) -> bool:
    return name.casefold() == "email"


def _flag(value: Value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _moment(value: Value) -> datetime | date | None:
    """A datetime (aware, UTC, milliseconds) or a date; None when the value is neither."""
    if isinstance(value, datetime):
        return _utc_ms(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if _DATETIME.match(text):
            return _utc_ms(datetime.fromisoformat(text))
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


def _utc_ms(moment: datetime) -> datetime:
    aware = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)


def _same_moment(a: datetime | date, b: datetime | date) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b
    if isinstance(a, datetime) or isinstance(b, datetime):
        # A date against a datetime: HubSpot keeps date properties as midnight UTC.
        day, moment = (b, a) if isinstance(a, datetime) else (a, b)
        return moment == datetime.combine(day, time(0), tzinfo=UTC)
    return a == b
