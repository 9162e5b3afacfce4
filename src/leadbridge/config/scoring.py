"""scoring.yaml, checked against fields.yaml and ready to run: fit and engagement criteria.

Fit criteria say who a lead is (title, company size, industry, country, BANT): they
are re-tested on the lead's current fields and their points sum to the grade. Engagement
criteria say what the lead did (a form fill, a demo request): each earns its points when
a change makes it so, and those points halve every half-life. The score is fit plus
engagement. Rules in handoff.yaml may test `score` and `grade` like any field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from leadbridge.config import conditions
from leadbridge.config.conditions import DEALS_PREFIX, STAGE_ENTERED, Aged, Cond, Loc, Predicate
from leadbridge.config.scoring_schema import CriterionSpec, ScoringFile
from leadbridge.config.suggest import did_you_mean
from leadbridge.model import Value

if TYPE_CHECKING:  # funnel.py holds a Scoring: importing it here at run time would cycle
    from leadbridge.config.funnel import FieldMap

SCORE, GRADE, REASONS = "score", "grade", "score_reasons"
EVENTS = "score_events"  # the engagement earned so far, with when: the state decay needs
COMPUTED = (SCORE, GRADE)  # what rules may test
FIT, ENGAGEMENT = "fit", "engagement"
_LABELS = {SCORE: "leadbridge score", GRADE: "leadbridge grade", REASONS: "leadbridge score why"}

Report = Callable[[Loc, str], None]


@dataclass(frozen=True)
class Criterion:
    name: str
    kind: str  # FIT or ENGAGEMENT
    points: float
    description: str
    condition: Cond
    test: Predicate  # fit: changed_to read as "is now so"; engagement: as in rules
    # The fields it tests, those tested for a value (eq, in, ...) before those tested only
    # for being there (present): the value shown comes from the first with one.
    fields: tuple[str, ...]
    loc: Loc


@dataclass(frozen=True)
class WriteTarget:
    hubspot: str | None
    salesforce: Mapping[str, str]  # Salesforce object -> field


@dataclass(frozen=True)
class Scoring:
    fit: tuple[Criterion, ...]
    engagement: tuple[Criterion, ...]
    half_life: timedelta
    grades: tuple[tuple[str, float], ...]  # (grade, least fit points), best first
    lowest_grade: str
    write: Mapping[str, WriteTarget]  # SCORE / GRADE / REASONS -> where it is written

    # Cached (the instance is frozen): the engine asks for these on every change.
    @cached_property
    def criteria(self) -> tuple[Criterion, ...]:
        return (*self.fit, *self.engagement)

    @cached_property
    def tested(self) -> frozenset[str]:
        """Every field a criterion tests: only news in one of them rescores a lead."""
        return frozenset(name for criterion in self.criteria for name in criterion.fields)

    @cached_property
    def engagement_by_name(self) -> Mapping[str, Criterion]:
        return {criterion.name: criterion for criterion in self.engagement}

    @cached_property
    def hubspot_targets(self) -> tuple[tuple[str, str], ...]:
        """(SCORE / GRADE / REASONS, HubSpot property) for each one written to HubSpot."""
        return tuple(
            (name, target.hubspot)
            for name, target in self.write.items()
            if target.hubspot is not None
        )

    @cached_property
    def salesforce_targets(self) -> Mapping[str, tuple[tuple[str, str], ...]]:
        """Per Salesforce object: (SCORE / GRADE / REASONS, field) for each one written there."""
        objects = dict.fromkeys(obj for target in self.write.values() for obj in target.salesforce)
        return {
            obj: tuple(
                (name, target.salesforce[obj])
                for name, target in self.write.items()
                if obj in target.salesforce
            )
            for obj in objects
        }

    @property
    def grade_names(self) -> tuple[str, ...]:
        return (*(name for name, _ in self.grades), self.lowest_grade)

    @property
    def hubspot_properties(self) -> dict[str, str]:
        """HubSpot property -> label, for leadbridge's own properties (setup makes them)."""
        return {
            target.hubspot: _LABELS[name]
            for name, target in self.write.items()
            if target.hubspot is not None
        }

    def salesforce_fields(self) -> list[tuple[str, str, str]]:
        """(object, field, what: SCORE / GRADE / REASONS) for every Salesforce target."""
        return [
            (obj, remote, name)
            for name, target in self.write.items()
            for obj, remote in target.salesforce.items()
        ]

    def grade_of(self, fit: float) -> str:
        for name, least in self.grades:
            if fit >= least:
                return name
        return self.lowest_grade


def build_scoring(
    spec: ScoringFile,
    fields: Mapping[str, FieldMap],
    lists: Mapping[str, tuple[Value, ...]],
    report: Report,
) -> Scoring:
    """The runnable scoring; every problem found goes to `report` with its place in the file."""
    merged = dict(lists)
    for name, values in spec.lists.items():
        if name in lists and tuple(lists[name]) != tuple(values):
            report(
                ("lists", name),
                f"list {name!r} is also defined in handoff.yaml with other values, "
                "expected one definition (rename this one, or use handoff.yaml's)",
            )
        merged[name] = tuple(values)
    seen: set[str] = set()
    fit = tuple(
        _criterion(c, FIT, ("fit", i), fields, merged, seen, report) for i, c in enumerate(spec.fit)
    )
    engagement = spec.engagement
    engaged = tuple(
        _criterion(c, ENGAGEMENT, ("engagement", "criteria", i), fields, merged, seen, report)
        for i, c in enumerate(engagement.criteria if engagement else ())
    )
    _check_grades(spec, report)
    _check_targets(spec, fields, report)
    return Scoring(
        fit=fit,
        engagement=engaged,
        half_life=engagement.half_life if engagement else timedelta(days=30),
        grades=tuple(spec.grades.items()),
        lowest_grade=spec.lowest_grade,
        write={
            name: WriteTarget(target.hubspot, {obj: f for obj, f in target.salesforce.items()})
            for name, target in spec.write.items()
        },
    )


def _criterion(
    spec: CriterionSpec,
    kind: str,
    where: Loc,
    fields: Mapping[str, FieldMap],
    lists: Mapping[str, tuple[Value, ...]],
    seen: set[str],
    report: Report,
) -> Criterion:
    if spec.name in seen:
        report(
            (*where, "name"),
            f"criterion {spec.name!r} is defined twice, expected each name once",
        )
    seen.add(spec.name)
    condition = conditions.build(spec.when, (*where, "when"), lists, report)
    tested: list[str] = []
    plain: list[str] = []  # fields only tested for a value: their values say least
    for test in conditions.walk(condition):
        name = test.field
        only_present = not isinstance(test, Aged) and test.op in ("present", "absent")
        found = plain if only_present else tested
        if name not in found:
            found.append(name)
        if (isinstance(test, Aged) and name == STAGE_ENTERED) or name.startswith(DEALS_PREFIX):
            continue
        if name in COMPUTED:
            report(
                test.loc,
                f"a criterion cannot test {name!r}: it is what the criteria compute, expected a "
                "field from fields.yaml (HubSpot's own score is hubspot_score there)",
            )
        elif name not in fields:
            known = list(fields)
            report(
                test.loc,
                f"unknown field {name!r}{did_you_mean(name, known)} Expected one of: "
                + ", ".join(known),
            )
    return Criterion(
        name=spec.name,
        kind=kind,
        points=spec.points,
        description=spec.description,
        condition=condition,
        test=conditions.compile_condition(condition, level=kind == FIT),
        fields=tuple(dict.fromkeys([*tested, *plain])),
        loc=where,
    )


def _check_grades(spec: ScoringFile, report: Report) -> None:
    previous: float | None = None
    for name, least in spec.grades.items():
        if previous is not None and least >= previous:
            report(
                ("grades", name),
                f"grade {name} needs {least:g} fit points, no fewer than the grade above it "
                f"({previous:g}), expected the grades best first with falling thresholds",
            )
        previous = least
    if spec.lowest_grade in spec.grades:
        report(
            ("lowest_grade",),
            f"{spec.lowest_grade!r} is also under grades:, expected the grade for fit below "
            "every threshold (e.g. D)",
        )


def _check_targets(spec: ScoringFile, fields: Mapping[str, FieldMap], report: Report) -> None:
    """A write target must not be a remote field fields.yaml already reads or writes."""
    mapped = {
        (system.value, obj, remote) for f in fields.values() for system, obj, remote in f.remote()
    }
    for name in COMPUTED:
        if name in fields:
            report(
                ("write",),
                f"fields.yaml defines a field {name!r}, but leadbridge computes {name} from "
                f"scoring.yaml, expected the field renamed in fields.yaml (e.g. hubspot_{name})",
            )
    for name, target in spec.write.items():
        places = [("hubspot", "contact", target.hubspot)] if target.hubspot else []
        places += [("salesforce", obj, remote) for obj, remote in target.salesforce.items()]
        for system, obj, remote in places:
            if (system, obj, remote) in mapped:
                report(
                    ("write", name, system),
                    f"{remote} is mapped in fields.yaml already, expected a property or field "
                    f"of leadbridge's own for the {name} (e.g. leadbridge_{name})",
                )
