"""Remote fields <-> the canonical lead, by the field mappings of fields.yaml. Pure.

Reading (`merge`) folds one change into the lead's canonical fields, field
by field, under each field's direction rule. Only fields whose remote value
differs from what was last read from that record count as changed: a
connector may hand over a whole record for one edited field, and an
unchanged value must not win a two-way race it never ran.

Writing (`project`) says what each system should show: mapped fields in
remote form, and the stage as stages.yaml spells it. The planner compares
this with what the systems show and writes only the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from leadbridge.config import FieldMap, Funnel
from leadbridge.config.funnel import (
    ACCEPT,
    HUBSPOT_OBJECT,
    LATEST,
    UNLESS_BLANK,
    UNLESS_PREFERRED,
)
from leadbridge.config.transforms import Unreadable
from leadbridge.model import (
    Change,
    Lead,
    RemoteValues,
    Side,
    Stage,
    Stamp,
    System,
    Value,
    Values,
)

_HUBSPOT = System.HUBSPOT
_SALESFORCE = System.SALESFORCE
_TEXT = {system: system.value for system in System}  # .value is a descriptor call: once
_ABSENT: Any = object()  # a dict.get default that no remote value can equal
_NOTHING: Mapping[str, Value] = MappingProxyType({})  # a record not read before


class Merged(NamedTuple):  # not a frozen dataclass: one per change, and those build slowly
    """The lead's data after one change, before any rule has looked at it. Its fields and
    stamps are new dicts, never the lead's: the engine adds its own news to them in place."""

    fields: dict[str, Value]
    stamps: dict[str, Stamp]
    seen: Mapping[tuple[System, str, str], Mapping[str, Value]]
    deals: Mapping[str, str]
    notes: tuple[str, ...]


def read(fmap: FieldMap, system: System, raw: Value) -> Value:
    """A remote value in canonical form: value map first, then transforms. Raises Unreadable.
    The field's placeholder (what we wrote for a required value nobody gave) reads as blank."""
    return fmap.readers[system](raw)


def write(fmap: FieldMap, system: System, value: Value) -> tuple[bool, Value]:
    """(writable, remote value): a canonical value with no spelling in `system` is not written."""
    if value is None:
        return True, "" if system is _HUBSPOT else None
    if fmap.values is not None:
        spelled = fmap.write_maps[system].get(value) if isinstance(value, str) else None
        return (spelled is not None), spelled
    return True, remote_form(system, value)


def remote_form(system: System, value: Value) -> Value:
    """HubSpot takes every property as text; Salesforce takes JSON values, dates as ISO text."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if system is _SALESFORCE or value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _accepts(
    how: int, value: Value, stamp: Stamp | None, at: datetime, has: bool, other: System
) -> bool:
    """Whether a field takes a value read from one system; `how` is its direction resolved
    for that system (funnel.Source), `other` the other system."""
    if how == LATEST:
        return stamp is None or at >= stamp.at
    if how == UNLESS_BLANK:
        return value is not None  # a blank never wins: the other side's value stands
    if how == UNLESS_PREFERRED:
        return not (has and stamp is not None and stamp.system is other)
    return how == ACCEPT


def merge(lead: Lead, change: Change, funnel: Funnel) -> Merged:
    system, obj, record, at = change.system, change.object, change.id, change.modified_at
    given = change.fields
    stage = funnel.stage.get(lead.stage)
    sales = stage is not None and stage.owner is Side.SALES
    other = _SALESFORCE if system is _HUBSPOT else _HUBSPOT
    fields: dict[str, Value] = dict(lead.fields)
    stamps = dict(lead.stamps)
    record_key = (system, obj, record)
    # The record's values last read: copied only once this change brings one that differs.
    here: Mapping[str, Value] = lead.seen.get(record_key, _NOTHING)
    fresh: dict[str, Value] | None = None
    stamp = Stamp(at, system)  # immutable: every field this change sets shares it
    deal_field = funnel.deal_field
    notes: list[str] = []
    deal: Value = None
    for remote, name, reader, accepts, sales_accepts in funnel.reading.get((system, obj), ()):
        # One look-up each (get with a marker) rather than `in` then [...]: merge tries
        # every mapped field of every change.
        raw = given.get(remote, _ABSENT)
        if raw is _ABSENT:
            continue
        known = here.get(remote, _ABSENT)
        if known is not _ABSENT and known == raw:
            continue
        if fresh is None:
            here = fresh = dict(here)
        fresh[remote] = raw
        try:
            value = reader(raw)
        except Unreadable as exc:
            notes.append(f"{name}: {exc} (from {_TEXT[system]} {record})")
            value = None
        if name == deal_field:
            deal = value
        current = fields.get(name)
        if value == current:
            continue
        how = sales_accepts if sales else accepts
        if how != ACCEPT and not _accepts(
            how, value, stamps.get(name), at, current is not None, other
        ):
            continue
        fields[name] = value
        stamps[name] = stamp
    deals = lead.deals
    if isinstance(deal, str) and obj == "Opportunity" and lead.deals.get(record) != deal:
        deals = {**lead.deals, record: deal}
    seen = lead.seen if fresh is None else {**lead.seen, record_key: fresh}
    return Merged(fields, stamps, seen, deals, tuple(notes))


def project(lead: Lead, funnel: Funnel) -> RemoteValues:
    """What each system should show; a system is left out where the lead must not be written."""
    stage = funnel.stage.get(lead.stage)
    identity = lead.identity
    desired: dict[System, dict[str, Values]] = {}
    if _HUBSPOT not in lead.blocked and (
        identity.hubspot is not None or (stage is not None and stage.hubspot_create)
    ):
        desired[_HUBSPOT] = {HUBSPOT_OBJECT: _hubspot(lead, funnel, stage)}
    if _SALESFORCE not in lead.blocked and (
        identity.salesforce_lead is not None
        or identity.salesforce_contact is not None
        or (stage is not None and stage.salesforce_create)
    ):
        converted = funnel.converted_field is not None and bool(
            lead.fields.get(funnel.converted_field)
        )
        obj = "Contact" if converted else "Lead"
        desired[_SALESFORCE] = {obj: _salesforce(lead, funnel, stage, obj, converted=converted)}
    return desired


def _hubspot(lead: Lead, funnel: Funnel, stage: Stage | None) -> dict[str, Value]:
    """The contact's mapped fields, then the stage as HubSpot shows it."""
    creating = lead.identity.hubspot is None
    values = _mapped(lead, funnel, stage, _HUBSPOT, None, creating=creating)
    values.update(_scored(lead, funnel, _HUBSPOT, HUBSPOT_OBJECT))
    if stage is None:
        return values
    if stage.hubspot_lifecycle is not None:
        # A value that already counts as the stage stays (an evangelist is a customer too).
        shown = _mirror(lead, funnel, _HUBSPOT, "lifecyclestage")
        accepted = stage.hubspot_lifecycles or (stage.hubspot_lifecycle,)
        values["lifecyclestage"] = _fitting(accepted, shown)
    if funnel.hubspot_stage_property:
        values[funnel.hubspot_stage_property] = stage.name
    if stage.hubspot_lead_status:
        shown = _mirror(lead, funnel, _HUBSPOT, "hs_lead_status")
        values["hs_lead_status"] = _fitting(stage.hubspot_lead_status, shown)
    return values


def _salesforce(
    lead: Lead, funnel: Funnel, stage: Stage | None, obj: str, *, converted: bool
) -> dict[str, Value]:
    """The Lead's (or, once converted, the Contact's) mapped fields, then the Lead Status."""
    identity = lead.identity
    creating = identity.salesforce_lead is None and identity.salesforce_contact is None
    values = _mapped(lead, funnel, stage, _SALESFORCE, obj, creating=creating)
    values.update(_scored(lead, funnel, _SALESFORCE, obj))
    if stage is not None and not converted and stage.salesforce_status:
        shown = _mirror(lead, funnel, _SALESFORCE, "Status")
        values["Status"] = _fitting(stage.salesforce_status, shown)
    return values


def _mapped(
    lead: Lead,
    funnel: Funnel,
    stage: Stage | None,
    system: System,
    obj: str | None,
    *,
    creating: bool,
) -> dict[str, Value]:
    """The fields the stage's owner writes to `system`, then, for a record about to be
    created, those the other side would write (funnel.outputs lists them in that order).

    A record about to be created has no values of its own yet: a field the stage's owner
    would leave to that system (Company once sales owns the lead) is seeded from what we
    know, as the other owner would write it. Otherwise a lead created straight into a
    sales stage lacks Company, which Salesforce requires.

    A field with a placeholder is one Salesforce requires: a new record gets the
    placeholder where the lead has no value (a form that asked only for an email), and
    an existing one is never blanked.
    """
    owner = stage.owner if stage is not None else Side.MARKETING
    outputs = funnel.outputs.get((owner, creating, system, obj or HUBSPOT_OBJECT), ())
    fields, stamps = lead.fields, lead.stamps
    blank: Value = "" if system is _HUBSPOT else None
    values: dict[str, Value] = {}
    for remote_field, name, _, spellings, placeholder in outputs:
        value = fields.get(name)
        remote: Value
        if value is None:
            if placeholder is not None:
                if creating:
                    values.setdefault(remote_field, placeholder)
                continue
            if name not in stamps:
                continue  # never known anywhere: nothing to say, rather than a blank to write
            remote = blank
        elif spellings is not None:
            # A canonical value with no spelling in `system` is not written (see write()).
            remote = spellings.get(value) if isinstance(value, str) else None
            if remote is None:
                continue
        elif type(value) is str:
            remote = value  # text is its own remote form in both systems
        else:
            remote = remote_form(system, value)
        values.setdefault(remote_field, remote)
    return values


def _scored(lead: Lead, funnel: Funnel, system: System, obj: str) -> dict[str, Value]:
    """Score, grade and reasons where scoring.yaml writes them; the planner drops the ones
    the record already shows, so they are written only when they change."""
    if funnel.scoring is None:
        return {}
    scoring = funnel.scoring
    targets = (
        scoring.hubspot_targets if system is _HUBSPOT else scoring.salesforce_targets.get(obj, ())
    )
    values: dict[str, Value] = {}
    for name, remote in targets:
        value = lead.fields.get(name)
        if value is not None:
            values[remote] = value if type(value) is str else remote_form(system, value)
    return values


def with_stage_shown(lead: Lead, desired: RemoteValues, funnel: Funnel, now: datetime) -> Lead:
    """The lead as it knows the systems once the stage fields it is about to write land there.

    A rule's `changed_to` compares a change with what the lead knew before it. Our own
    write of hs_lead_status (or lifecyclestage, or the Lead Status) comes back as an echo,
    which is dropped unread; if the lead still held the value from before the write, the
    next real change would carry our value as if the person had just set it (Noor,
    disqualified in both, re-scored once: `not changed_to UNQUALIFIED` failed, story 11).
    So the values written become the baseline here, as the echo would have made them.
    """
    news, stamps = stage_shown(lead.fields, desired, funnel, now)
    if not news:
        return lead
    return Lead(
        id=lead.id,
        stage=lead.stage,
        stage_entered_at=lead.stage_entered_at,
        owner=lead.owner,
        identity=lead.identity,
        fields={**lead.fields, **news},
        stamps={**lead.stamps, **stamps},
        seen=lead.seen,
        deals=lead.deals,
        blocked=lead.blocked,
    )


def stage_shown(
    known: Values, desired: RemoteValues, funnel: Funnel, now: datetime
) -> tuple[dict[str, Value], dict[str, Stamp]]:
    """What with_stage_shown sets on a lead with fields `known`: the stage values about to be
    written, read back, with their stamps; both empty when the fields would not change."""
    news: dict[str, Value] = {}
    stamps: dict[str, Stamp] = {}
    for system, records in desired.items():
        mirrored = funnel.mirrored.get(system, ())
        for values in records.values():
            for remote, name, reader in mirrored:
                if remote not in values:
                    continue
                try:
                    value = reader(values[remote])
                except Unreadable:
                    continue  # our own value, unreadable by our own map: keep what was read
                if (news[name] if name in news else known.get(name)) != value:
                    news[name] = value
                    stamps[name] = Stamp(now, system)
    for name, value in news.items():
        if name not in known or not (known[name] is value or known[name] == value):
            return news, stamps
    return {}, {}  # none, or set back to what the lead held: its fields stay as they are


def _mirror(lead: Lead, funnel: Funnel, system: System, remote: str) -> Value:
    name = funnel.mirrors.get((system, remote))
    return lead.fields.get(name) if name is not None else None


def _fitting(accepted: tuple[str, ...], shown: Value) -> str:
    """Keep a status that already fits the stage (a rep's Qualified is sql too); else the first."""
    if isinstance(shown, str):
        wanted = shown.casefold()
        for value in accepted:
            if value.casefold() == wanted:
                return value
    return accepted[0]


def lifecycle_steps(fields: Values, known: str | None, funnel: Funnel) -> tuple[Values, ...]:
    """HubSpot writes as ordered steps: a backward lifecyclestage move is cleared first, then set.

    HubSpot only moves lifecyclestage forward, and may silently ignore a
    backward write; clearing it first is the documented way back.
    """
    wanted = fields.get("lifecyclestage")
    order = funnel.lifecycle_order
    if (
        isinstance(wanted, str)
        and isinstance(known, str)
        and known in order
        and wanted in order
        and order.index(wanted) < order.index(known)
    ):
        return ({"lifecyclestage": ""}, fields)
    return (fields,)
