"""The words `explain` uses for what the journal holds: stages and reasons by their labels,
what changed and where, and the fields each write set, as a RevOps admin reads them.

Everything here reads the mappings when they loaded (`funnel`), and falls back to the codes
made readable when they did not: a story is still worth telling from the database alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadbridge.config import Funnel, Rule
from leadbridge.config.conditions import All, AnyOf, Became, Cond, Test
from leadbridge.model import Cause, System, readable

# The moves `leadbridge` itself journals when the mappings change (core/redeploy.py).
RENAMED, FUNNEL_CHANGED = "renamed", "funnel_changed"

SYSTEM_NAMES = {System.HUBSPOT: "HubSpot", System.SALESFORCE: "Salesforce"}

# The CRMs' own names for the fields the funnel reads and writes most, as their screens
# show them; any other field reads as its canonical name in fields.yaml, made readable.
_SHOWN_AS = {
    "lifecyclestage": "Lifecycle stage",
    "hs_lead_status": "Lead status",
    "hubspotscore": "HubSpot score",
    "recent_conversion_event_name": "Recent conversion",
    "hs_analytics_source": "Original source",
    "Status": "Status",
    "IsConverted": "Converted",
    "ConvertedOpportunityId": "Converted opportunity",
    "StageName": "Stage",
    "Recycle_Reason__c": "Recycle reason",
}


def stage(funnel: Funnel | None, name: str) -> str:
    return funnel.stage_label(name) if funnel is not None else readable(name)


def reason(funnel: Funnel | None, code: str) -> str:
    return funnel.reason_label(code) if funnel is not None else readable(code)


def record(system: System, obj: str) -> str:
    """HubSpot contact, Salesforce Lead."""
    return f"{SYSTEM_NAMES[system]} {obj}"


def by_whom(cause: Cause) -> str:
    """Where the change was made: a Salesforce record is sales' (a rep's, an admin's, a
    flow's); a HubSpot contact changes by marketing, a form, or the lead's own activity."""
    if cause.system is System.SALESFORCE:
        return "by sales in Salesforce"
    return "in HubSpot"


def what_changed(funnel: Funnel | None, rule_name: str, reason_code: str, cause: Cause) -> str:
    """What the rule saw change, in the words of the system it changed in: "Status became
    Disqualified". From the rule's `changed_to` tests on fields of that system; else its
    description; else its name, readable. The moves a deploy of the mappings made say so."""
    if rule_name == RENAMED:
        return "the stage was renamed in stages.yaml"
    if reason_code == FUNNEL_CHANGED:
        return f"the mappings changed: rule {readable(rule_name)} no longer holds"
    rule = _rule(funnel, rule_name)
    if funnel is None or rule is None:
        gone = " (the mappings no longer have it)" if funnel is not None else ""
        return f"rule {readable(rule_name)}{gone}"
    became = _became_words(funnel, rule.condition, cause)
    return became or rule.description.strip().rstrip(".") or f"rule {readable(rule.name)}"


def _rule(funnel: Funnel | None, name: str) -> Rule | None:
    if funnel is None:
        return None
    return next((rule for rule in funnel.rules if rule.name == name), None)


def _became_words(funnel: Funnel, cond: Cond, cause: Cause) -> str | None:
    """The rule's `changed_to` tests on fields of the system the change came from, as
    words: what must have changed for the rule to move ("and" within all:, "or" within
    any:). None when it tests no such change (a score, an age, a domain)."""
    if isinstance(cond, Became):
        return _became(funnel, cond.test, cause) if _reads(funnel, cond.test, cause) else None
    if isinstance(cond, All | AnyOf):
        found = [text for item in cond.items if (text := _became_words(funnel, item, cause))]
        return (" and " if isinstance(cond, All) else " or ").join(found) or None
    return None  # under not:, a change is what did not happen


def _reads(funnel: Funnel, test: Test, cause: Cause) -> bool:
    fmap = funnel.fields.get(test.field)
    return fmap is not None and cause.system in fmap.reads_from()


def _became(funnel: Funnel, test: Test, cause: Cause) -> str:
    name = field_name(funnel, test.field, cause.system, cause.object)
    if test.op == "in":
        values = ", ".join(funnel.label(test.field, value) for value in test.arg)
        return f"{name} became one of {values}"
    if test.op == "eq" and isinstance(test.arg, bool):
        return name if test.arg else f"no longer {name}"  # "Converted"
    if test.op == "eq":
        return f"{name} became {funnel.label(test.field, test.arg)}"
    return f"{name} became {test.render(with_field=False)}"


def field_name(funnel: Funnel | None, canonical: str, system: System, obj: str) -> str:
    """A canonical field as the system shows it: its own name for the funnel's usual
    fields (Status, Lifecycle stage), else the canonical name made readable."""
    fmap = funnel.fields.get(canonical) if funnel is not None else None
    if fmap is not None:
        remote = fmap.hubspot if system is System.HUBSPOT else fmap.salesforce.get(obj)
        if remote in _SHOWN_AS:
            return _SHOWN_AS[remote]
    return readable(canonical)


def remote_name(funnel: Funnel | None, system: System, obj: str, remote: str) -> str:
    """A field a write set, as people read it: the CRM's own name for the funnel's usual
    fields, else the canonical field it maps, readable; else the remote name itself."""
    if remote in _SHOWN_AS:
        return _SHOWN_AS[remote]
    if funnel is not None:
        if remote == funnel.hubspot_stage_property:
            return "leadbridge stage"
        for fmap in funnel.fields.values():
            if (system, obj, remote) in fmap.remote():
                return readable(fmap.name)
    return remote


def written_fields(
    funnel: Funnel | None, system: System, obj: str, steps: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    """(field as people read it, API name, value) per field a write set, in the order
    written; a field cleared and set again (HubSpot's lifecycle stage moving back) shows
    the value it ended with."""
    final: dict[str, Any] = {}
    for step in steps:
        final.update(step)
    return [
        (remote_name(funnel, system, obj, remote), remote, _value(value))
        for remote, value in final.items()
    ]


def _value(value: Any) -> str:
    return "(cleared)" if value in (None, "") else str(value)
