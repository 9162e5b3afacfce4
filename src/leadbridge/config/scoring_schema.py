"""The shape of scoring.yaml, as pydantic models (what one file can say about itself).

Criteria are written in the operators of handoff.yaml's rules (the same condition
models), so a RevOps admin who can write a rule can write a criterion. Whether the
fields they test exist is checked against fields.yaml in `config/scoring.py`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator

from leadbridge.config import schema
from leadbridge.config.values import duration
from leadbridge.config.values import problem as _problem

# The lead fields leadbridge computes, under the names rules and the write targets use.
Target = Literal["score", "grade", "score_reasons"]


def _half_life(value: Any) -> timedelta:
    span = duration(value, "14d, 30d or 6w")
    if span > timedelta(0):
        return span
    raise _problem(f"got {value!r}, a half-life must be longer than zero, expected e.g. 30d")


def _grade(value: Any) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= 8:
        return value.strip()
    raise _problem(f"got {value!r}, expected a short grade such as A, B, C or D")


_Grade = Annotated[str, PlainValidator(_grade)]


class WriteTo(schema.Strict):
    """Where a computed value is written: a HubSpot contact property, Salesforce fields."""

    hubspot: str | None = None
    salesforce: dict[Literal["Lead", "Contact"], str] = Field(default_factory=dict)


class CriterionSpec(schema.Strict):
    name: schema._Name
    description: str = ""
    points: schema._Number
    when: schema._Condition


class EngagementSpec(schema.Strict):
    half_life: Annotated[timedelta, PlainValidator(_half_life)]
    criteria: list[CriterionSpec] = Field(min_length=1)


class ScoringFile(schema.Strict):
    write: dict[Target, WriteTo] = Field(default_factory=dict)
    lists: dict[schema._Name, list[schema._Scalar]] = Field(default_factory=dict)
    grades: dict[_Grade, schema._Number] = Field(min_length=1)
    lowest_grade: _Grade = "D"
    fit: list[CriterionSpec] = Field(default_factory=list)
    engagement: EngagementSpec | None = None


for _model in (CriterionSpec, EngagementSpec, ScoringFile):
    _model.model_rebuild()
