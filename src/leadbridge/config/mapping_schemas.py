"""What config/jsonschema.py needs for stages.yaml, fields.yaml and handoff.yaml: the JSON
shape of each custom type in config/schema.py, and the hover text of their keys (the words
of the files' own header comments, shortened)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from leadbridge.config import schema, scoring_schema, sla, transforms
from leadbridge.config.jsonschema import (
    FileSchema,
    JsonSchema,
    Shape,
    duration,
    fixed,
    text,
)

NAME = text(
    "a name of lowercase letters, digits and _ that starts with a letter",
    pattern=schema._NAME.pattern,
)
SCALAR: JsonSchema = {
    "type": ["string", "number", "boolean", "null"],
    "description": "a single value: text, a number, true or false",
}
NUMBER: JsonSchema = {"type": "number"}
VALUES_OR_LIST: JsonSchema = {
    "anyOf": [
        {"type": "array", "items": SCALAR, "minItems": 1},
        text("the name of a list under `lists:`"),
    ],
    "description": "a list of values, or the name of a list under `lists:`",
}
SLA = duration("90m, 12h, 2d or 1w")
TIME_ZONE = text(
    "an IANA time zone such as Europe/Berlin or America/New_York",
    examples=["Europe/Berlin", "America/New_York", "UTC"],
)
_WINDOW = r"[A-Za-z]{3}(\s*-\s*[A-Za-z]{3})?\s+\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}"
BUSINESS_HOURS = text(
    sla._EXAMPLE + ", or 24/7 for every hour",
    pattern=rf"^\s*(24/7|[Aa]lways|ALWAYS|{_WINDOW}(\s*,\s*{_WINDOW})*)\s*$",
    examples=["Mon-Fri 09:00-17:00", "Mon-Thu 08:00-18:00, Fri 08:00-12:00", "24/7"],
)

# What each field test takes in changed_to's {operator: argument} (schema._test).
_TEST_ARGUMENTS: Mapping[str, JsonSchema] = {
    "eq": SCALAR,
    "in": VALUES_OR_LIST,
    "gte": NUMBER,
    "lte": NUMBER,
    "present": {"const": True},
    "absent": {"const": True},
    "domain_in": VALUES_OR_LIST,
}
# What the transforms that take an argument take (transforms.parse_transform).
_TRANSFORM_ARGUMENTS: Mapping[str, JsonSchema] = {
    "default": SCALAR,
    "truncate": {"type": "integer", "minimum": 1},
    "map": {"type": "object", "minProperties": 1, "description": "values read -> values kept"},
}


def _one_key(properties: Mapping[str, JsonSchema], description: str) -> JsonSchema:
    return {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "description": description,
    }


def _test_shape() -> JsonSchema:
    if set(_TEST_ARGUMENTS) != set(schema._TEST_OPERATORS):
        raise ValueError("changed_to's operators changed: update _TEST_ARGUMENTS")
    return {
        "anyOf": [
            SCALAR,
            {"type": "array", "items": SCALAR, "minItems": 1},
            _one_key(_TEST_ARGUMENTS, "{operator: argument}, e.g. {gte: 60} or {in: a_list}"),
        ],
        "description": "what the field became: a value, [values], or {operator: argument}",
    }


def _transform_shape() -> JsonSchema:
    plain = [name for name, argument in transforms._TRANSFORMS.items() if not argument]
    if set(_TRANSFORM_ARGUMENTS) != set(transforms._TRANSFORMS) - set(plain):
        raise ValueError("the transforms changed: update _TRANSFORM_ARGUMENTS")
    return {
        "anyOf": [
            {"enum": plain},
            _one_key(_TRANSFORM_ARGUMENTS, "{default: X}, {truncate: N} or {map: {read: kept}}"),
        ],
        "description": "a transform applied to every value read: " + ", ".join(plain),
    }


def _one_or_many(generated: JsonSchema) -> JsonSchema:
    return {"anyOf": [generated["items"], generated]}


def _any_stage(generated: JsonSchema) -> JsonSchema:
    every = {"const": "any", "description": "every stage (the default)"}
    return {"anyOf": [every, NAME, *generated["anyOf"]]}


SHAPES: Mapping[Callable[..., Any], Shape] = {
    schema._name: NAME,
    schema._code: text("a reason code", pattern=r"\S"),
    schema._text: text("words on one line", pattern=r"\S"),
    schema._duration: SLA,
    scoring_schema._half_life: SLA,
    scoring_schema._grade: text("a short grade such as A, B, C or D", pattern=r"\S"),
    schema._sla: SLA,
    schema._age: SLA,
    schema._scalar: SCALAR,
    schema._number: NUMBER,
    schema._values_or_list_name: VALUES_OR_LIST,
    schema._test: fixed(_test_shape()),
    schema._transform: fixed(_transform_shape()),
    schema._one_or_many: _one_or_many,
    schema._any_stage: _any_stage,
    sla.parse_hours: BUSINESS_HOURS,
    sla.parse_zone: TIME_ZONE,
}

_FIELD = "a field name from fields.yaml"
_DIRECTION = (
    "who wins: two_way (the newest change), prefer_salesforce_unless_blank, "
    "always_salesforce, prefer_hubspot_unless_blank, always_hubspot, or none (not synced)"
)

DESCRIPTIONS: Mapping[type[BaseModel], Mapping[str, str]] = {
    schema.StagesFile: {
        "hubspot_stage_property": "a custom HubSpot contact property kept equal to the stage name",
        "stages": "every stage a lead can be in, in funnel order",
        "business_hours": "count only working time towards every stage's sla",
        "time_zone": "the time zone of business_hours",
    },
    schema.StageSpec: {
        "name": "the stage's name, as handoff.yaml's rules use it",
        "owner": "the team that must act: marketing or sales (a sales-owned stage is "
        "never left because of a HubSpot change, except forward)",
        "sla": "how long the stage may hold a lead before Slack is told; past twice "
        "this, Slack gets one escalation. Leave it out for no SLA",
        "handback": "entering this stage hands the lead back to marketing: every such "
        "move must carry a reason",
        "description": "what the stage means, for people",
        "label": "what people read for the stage (alerts, explain, report), such as MQL",
        "next_step": "what the stage's owner does next; the SLA is added (within 2 days)",
        "hubspot": "how the stage shows in HubSpot",
        "salesforce": "how the stage shows in Salesforce",
        "business_hours": "this stage's working hours, over the file's",
        "time_zone": "this stage's time zone, over the file's",
        "was": "the names this stage had before a rename: the leads still under an old "
        "name move here on the next sync",
    },
    schema.HubSpotView: {
        "lifecyclestage": "the lifecyclestage to show: the first is written, any counts",
        "lead_status": "the hs_lead_status values that fit: the first is written",
        "create": "false keeps leads of this stage out of HubSpot until they exist there",
    },
    schema.SalesforceView: {
        "lead_status": "the Lead Status values that fit: the first is written",
        "create": "true where a lead first goes to Salesforce (the handoff)",
        "converted": "whether the lead is converted in this stage (read, never done)",
        "opportunity_stage": "the opportunity stages that mean this stage, once converted",
    },
    schema.FieldsFile: {
        "picklists": "the values each system accepts, per picklist leadbridge reads or writes",
        "fields": "the canonical fields: the names handoff.yaml's rules use",
    },
    schema.FieldSpec: {
        "description": "what the field means, for people",
        "hubspot": "the HubSpot contact property",
        "salesforce": "the Salesforce field per object",
        "direction": _DIRECTION,
        "sales_owned": "the direction once the lead is in a sales-owned stage",
        "values": "picklist to picklist: canonical value -> how each system spells it "
        "(reading takes any spelling, writing the first)",
        "labels": "for a field without values: code -> what people read for it",
        "transforms": "applied in order to every value read, after values",
        "placeholder": "what a new Salesforce record gets where it requires a value the "
        "lead has none of; read back, it means blank",
    },
    schema.Spellings: {
        "hubspot": "how HubSpot spells the value (a list: the first is written)",
        "salesforce": "how Salesforce spells the value (a list: the first is written)",
        "label": "what people read for the value (report, explain)",
    },
    schema.HandoffFile: {
        "reason_field": "the field every hand-back's reason is stored in",
        "lists": "named lists of values, for in and domain_in",
        "rules": "looked at in order after every change: the first that applies decides",
    },
    schema.RuleSpec: {
        "name": "the rule's name, as the logs and `leadbridge explain` show it",
        "description": "what the rule is for, for people",
        "from": "the stages it applies to (a list), or any (the default)",
        "when": "the condition under which the rule moves the lead",
        "then": "what happens when the condition holds",
    },
    schema.Action: {
        "move_to": "a stage from stages.yaml",
        "reason": "a code, or {field: F, default: code}; required when moving to a hand-back stage",
        "set": "{field: value} to store on the lead",
        "block": "never write the lead to these systems while it stays",
    },
    schema.AllOf: {"all": "every condition in the list holds"},
    schema.AnyOf: {"any": "at least one condition in the list holds"},
    schema.NotOf: {"not": "the condition does not hold"},
    schema.Eq: {"eq": "{field: value}: the field has this value (text without regard to case)"},
    schema.In: {"in": "{field: [values] or a list name}: the field has one of these values"},
    schema.Gte: {"gte": "{field: number}: the field is at least this number"},
    schema.Lte: {"lte": "{field: number}: the field is at most this number"},
    schema.Present: {"present": f"{_FIELD}, or a list of them, that has a value"},
    schema.Absent: {"absent": f"{_FIELD}, or a list of them, that has no value"},
    schema.DomainIn: {
        "domain_in": "{email: [domains] or a list name}: the domain is one of these "
        "(subdomains count)"
    },
    schema.ChangedTo: {
        "changed_to": "{field: value, [values] or {operator: argument}}: the field "
        "became so with this change"
    },
    schema.OlderThan: {
        "older_than": "{field or stage_entered: 30d}: that date is longer ago than this"
    },
}

STAGES = FileSchema(
    schema.StagesFile,
    "stages.yaml",
    "The funnel: every stage a lead can be in, in order, who owns it, how long it may "
    "hold a lead, and how it shows in HubSpot and Salesforce.",
    SHAPES,
    DESCRIPTIONS,
)
FIELDS = FileSchema(
    schema.FieldsFile,
    "fields.yaml",
    "Which fields leadbridge keeps in step between HubSpot and Salesforce, and which "
    "system wins when they disagree.",
    SHAPES,
    DESCRIPTIONS,
)
SCORING = FileSchema(
    scoring_schema.ScoringFile,
    "scoring.yaml",
    "Who is worth sales' time, and why: a grade from fit, a score from fit and engagement "
    "(criteria in the operators of handoff.yaml's rules).",
    SHAPES,
    DESCRIPTIONS,
    one_key_union="Condition",
)
HANDOFF = FileSchema(
    schema.HandoffFile,
    "handoff.yaml",
    "When a lead moves, and why: rules looked at in order after every change.",
    SHAPES,
    DESCRIPTIONS,
    one_key_union="Condition",
)
