"""The shape of stages.yaml, fields.yaml and handoff.yaml, as pydantic models.

Only what one file can say about itself is checked here (keys, types, the
fixed operator and transform sets); whether a name used in one file exists in
another is `funnel.py`'s job. Every model forbids unknown keys, and every
custom type fails with "got X, expected Y", which `load.py` places at the
line and column the value came from.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, PlainValidator
from pydantic import Tag as T
from pydantic_core import PydanticCustomError

from leadbridge.config.sla import Hours, parse_hours, parse_zone
from leadbridge.config.suggest import nearest_operator
from leadbridge.config.transforms import TransformSpec, parse_transform
from leadbridge.config.values import duration
from leadbridge.config.values import invalid as _fail
from leadbridge.config.values import problem as _problem

Direction = Literal[
    "two_way",
    "prefer_salesforce_unless_blank",
    "always_salesforce",
    "prefer_hubspot_unless_blank",
    "always_hubspot",
    "none",
]
_SalesforceObject = Literal["Lead", "Contact", "Opportunity"]
_SystemName = Literal["hubspot", "salesforce"]
_TEST_OPERATORS = ("eq", "in", "gte", "lte", "present", "absent", "domain_in")
_OPERATORS = ("all", "any", "not", *_TEST_OPERATORS, "changed_to", "older_than")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _name(value: Any) -> str:
    if isinstance(value, str) and _NAME.match(value):
        return value
    raise _fail(value, "a name of lowercase letters, digits and _ that starts with a letter")


def _code(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _fail(value, "a reason code (text, not blank)")


def _text(value: Any) -> str:
    """A label or a next step: words on one line, as people read them."""
    if isinstance(value, str) and value.strip() and "\n" not in value.strip():
        return " ".join(value.split())
    raise _fail(value, "words on one line (a label such as MQL, or a next step)")


def _duration(value: Any) -> timedelta:
    return duration(value, "90m, 12h, 2d or 1w")


_NO_SLA_WORDS = frozenset({"none", "no", "never", "off", "n/a", "-", "0"})


def _sla(value: Any) -> timedelta:
    """A positive duration: a zero SLA would alert the moment a lead arrives, and every
    share of an SLA (the report's time-in-stage against it) would divide by zero."""
    spelled_off = value in (0, False) or (
        isinstance(value, str) and value.strip().lower() in _NO_SLA_WORDS
    )
    if not spelled_off:
        span = _duration(value)
        if span > timedelta(0):
            return span
    raise _problem(
        f"got {value!r}, an SLA must be longer than zero; for no SLA leave `sla` out of "
        "this stage, otherwise write a duration such as 90m, 12h, 2d or 1w"
    )


def _age(value: Any) -> timedelta:
    span = _duration(value)
    if span > timedelta(0):
        return span
    raise _problem(
        f"got {value!r}, an age must be longer than zero, expected a duration such as 30d "
        "(to test only that the field has a value, write present: <field>)"
    )


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | date):
        return value
    raise _fail(value, "a single value (text, number, true or false)")


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _fail(value, "a number")


def _values_or_list_name(value: Any) -> tuple[Any, ...] | str:
    """A list of values, or the name of a list under `lists:` in handoff.yaml."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return tuple(_scalar(item) for item in value)
    raise _fail(value, "a non-empty list of values, or the name of a list under `lists:`")


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _test(value: Any) -> tuple[str, Any]:
    """What a `changed_to` field must have become: a value, a list, or `{operator: argument}`."""
    if isinstance(value, list):
        return "in", _values_or_list_name(value)
    if not isinstance(value, dict):
        return "eq", _scalar(value)
    if len(value) != 1 or next(iter(value)) not in _TEST_OPERATORS:
        unknown = next((key for key in value if key not in _TEST_OPERATORS), None)
        if len(value) == 1 and isinstance(unknown, str):
            raise _not_an_operator(unknown, _TEST_OPERATORS)
        raise _fail(value, f"a value, a list, or one of {{{': …}, {'.join(_TEST_OPERATORS)}: …}}")
    ((operator, arg),) = value.items()
    if operator == "eq":
        return operator, _scalar(arg)
    if operator in ("in", "domain_in"):
        return operator, _values_or_list_name(arg)
    if operator in ("gte", "lte"):
        return operator, _number(arg)
    if arg is not True:
        raise _fail(arg, f"true, as in {{{operator}: true}}")
    return operator, True


def _not_an_operator(word: str, operators: tuple[str, ...]) -> PydanticCustomError:
    """Names the wrong word and the operator it most likely meant; placed at the word's key."""
    meant = nearest_operator(word, operators)
    hint = f"; did you mean `{meant}`?" if meant is not None else ""
    hint += " (gte is at least, lte at most)" if meant in ("gte", "lte") else ""
    return PydanticCustomError(
        "leadbridge",
        "{detail}",
        {
            "detail": f"`{word}` is not an operator{hint}, expected one of: {', '.join(operators)}",
            "at": word,
        },
    )


def _condition_shape(value: Any) -> Any:
    """A condition is a mapping with exactly one operator; say which word is wrong, if any.

    Runs before the tagged union so a typo is named (`gt`) instead of the union's
    "expected one of all, any, ..." with the offending word nowhere in it.
    """
    if isinstance(value, dict):
        unknown = [key for key in value if key not in _OPERATORS]
        if unknown and isinstance(unknown[0], str):
            raise _not_an_operator(unknown[0], _OPERATORS)
        if len(value) > 1:
            both = " and ".join(str(key) for key in value)
            raise _problem(
                f"{both} in one condition, expected one operator per condition: put them in "
                "a list under all: (every one must hold) or any: (one is enough)"
            )
        if not value:
            raise _problem(f"an empty condition, expected one of: {', '.join(_OPERATORS)}")
        return value
    if isinstance(value, list):
        raise _problem(
            "a list where one condition belongs, expected all: [...] when every one must "
            "hold, or any: [...] when one is enough"
        )
    raise _fail(value, "a condition such as {eq: {field: value}} or {all: [conditions]}")


def _transform(value: Any) -> TransformSpec:
    try:
        return parse_transform(value)
    except ValueError as exc:
        raise PydanticCustomError("leadbridge", "{detail}", {"detail": str(exc)}) from None


_Name = Annotated[str, PlainValidator(_name)]
_Code = Annotated[str, PlainValidator(_code)]
_Text = Annotated[str, PlainValidator(_text)]
_Scalar = Annotated[Any, PlainValidator(_scalar)]
_Number = Annotated[float, PlainValidator(_number)]
_ListArg = Annotated[Any, PlainValidator(_values_or_list_name)]
_Test = Annotated[tuple[str, Any], PlainValidator(_test)]
_Names = Annotated[tuple[str, ...], BeforeValidator(_one_or_many)]
_BusinessHours = Annotated[Hours, PlainValidator(parse_hours)]
_TimeZone = Annotated[str, PlainValidator(parse_zone)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- stages.yaml ---------------------------------------------------------------


class HubSpotView(Strict):
    # The first is written; any of them counts as the stage (customer: [customer, evangelist]).
    lifecyclestage: _Names = ()
    lead_status: _Names = ()
    create: bool = True


class SalesforceView(Strict):
    lead_status: _Names = ()
    create: bool = False
    converted: bool | None = None
    opportunity_stage: _Names = ()


class StageSpec(Strict):
    name: _Name
    owner: Literal["marketing", "sales"]
    sla: Annotated[timedelta, PlainValidator(_sla)] | None = None
    handback: bool = False
    description: str = ""
    # What people read (alerts, explain, report); unset: the name, made readable (mql -> Mql).
    label: _Text | None = None
    # What the stage's owner does next, in their words; the SLA is added ("within 2 days").
    next_step: _Text | None = None
    # Names this stage had before (a rename): leads still in one of them belong here.
    was: Annotated[tuple[_Name, ...], BeforeValidator(_one_or_many)] = ()
    hubspot: HubSpotView | None = None
    salesforce: SalesforceView | None = None
    # How the sla is counted here (config/sla.py); unset: the funnel-wide default below.
    business_hours: _BusinessHours | None = None
    time_zone: _TimeZone | None = None


class StagesFile(Strict):
    hubspot_stage_property: str | None = None
    stages: list[StageSpec] = Field(min_length=1)
    # Funnel-wide defaults for counting SLAs in business hours.
    business_hours: _BusinessHours | None = None
    time_zone: _TimeZone | None = None


# --- fields.yaml ---------------------------------------------------------------


class Spellings(Strict):
    hubspot: _Names = ()
    salesforce: _Names = ()
    label: _Text | None = None  # what people read for this value (report, explain)


class Picklists(Strict):
    hubspot: dict[Literal["contact"], dict[str, tuple[str, ...]]] = Field(default_factory=dict)
    salesforce: dict[_SalesforceObject, dict[str, tuple[str, ...]]] = Field(default_factory=dict)


class FieldSpec(Strict):
    description: str = ""
    hubspot: str | None = None
    salesforce: dict[_SalesforceObject, str] = Field(default_factory=dict)
    direction: Direction
    sales_owned: Direction | None = None
    values: dict[str, Spellings] | None = None
    # Labels of the codes of a field without `values` (written as they are), such as the
    # hand-back reasons rules set: code -> what people read.
    labels: dict[str, _Text] | None = None
    transforms: list[Annotated[TransformSpec, PlainValidator(_transform)]] = Field(
        default_factory=list
    )
    # What a new Salesforce record gets where it requires a value the lead has none of
    # (LastName, Company for an email-only form); read back, it means blank.
    placeholder: str | None = Field(default=None, min_length=1)


class FieldsFile(Strict):
    picklists: Picklists
    fields: dict[_Name, FieldSpec] = Field(min_length=1)


# --- handoff.yaml: conditions ----------------------------------------------------


def _operator(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in _OPERATORS else None
    return None


class AllOf(Strict):
    all_: list[_Condition] = Field(alias="all", min_length=1)


class AnyOf(Strict):
    any_: list[_Condition] = Field(alias="any", min_length=1)


class NotOf(Strict):
    not_: _Condition = Field(alias="not")


class Eq(Strict):
    eq: dict[str, _Scalar] = Field(min_length=1)


class In(Strict):
    in_: dict[str, _ListArg] = Field(alias="in", min_length=1)


class Gte(Strict):
    gte: dict[str, _Number] = Field(min_length=1)


class Lte(Strict):
    lte: dict[str, _Number] = Field(min_length=1)


class Present(Strict):
    present: _Names


class Absent(Strict):
    absent: _Names


class DomainIn(Strict):
    domain_in: dict[str, _ListArg] = Field(min_length=1)


class ChangedTo(Strict):
    changed_to: dict[str, _Test] = Field(min_length=1)


class OlderThan(Strict):
    older_than: dict[str, Annotated[timedelta, PlainValidator(_age)]] = Field(min_length=1)


_Condition = Annotated[
    Annotated[AllOf, T("all")]
    | Annotated[AnyOf, T("any")]
    | Annotated[NotOf, T("not")]
    | Annotated[Eq, T("eq")]
    | Annotated[In, T("in")]
    | Annotated[Gte, T("gte")]
    | Annotated[Lte, T("lte")]
    | Annotated[Present, T("present")]
    | Annotated[Absent, T("absent")]
    | Annotated[DomainIn, T("domain_in")]
    | Annotated[ChangedTo, T("changed_to")]
    | Annotated[OlderThan, T("older_than")],
    Discriminator(
        _operator,
        custom_error_type="leadbridge",
        custom_error_message=(
            "expected a condition: a mapping with exactly one of " + ", ".join(_OPERATORS)
        ),
    ),
    BeforeValidator(_condition_shape),
]

# --- handoff.yaml: rules -------------------------------------------------------------


class ReasonFrom(Strict):
    field: _Name
    default: _Code


def _reason_kind(value: Any) -> str | None:
    return "text" if isinstance(value, str) else "from" if isinstance(value, dict) else None


_Reason = Annotated[
    Annotated[_Code, T("text")] | Annotated[ReasonFrom, T("from")],
    Discriminator(
        _reason_kind,
        custom_error_type="leadbridge",
        custom_error_message="expected a reason code, or {field: <field>, default: <code>}",
    ),
]


class Action(Strict):
    move_to: _Name
    reason: _Reason | None = None
    set: dict[_Name, _Scalar] = Field(default_factory=dict)
    block: list[_SystemName] = Field(default_factory=list)


def _any_stage(value: Any) -> Any:
    return None if value == "any" else _one_or_many(value)


class RuleSpec(Strict):
    name: _Name
    description: str = ""
    from_: Annotated[tuple[_Name, ...] | None, BeforeValidator(_any_stage)] = Field(
        default=None, alias="from"
    )
    when: _Condition
    then: Action


class HandoffFile(Strict):
    reason_field: _Name | None = None
    lists: dict[_Name, list[_Scalar]] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(min_length=1)


for _model in (AllOf, AnyOf, NotOf, RuleSpec, HandoffFile):
    _model.model_rebuild()
