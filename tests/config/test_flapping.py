"""The flapping check on random rule sets: what it accepts never cycles, and every cycle it
reports is real (tests/core/test_properties.py: the engine's properties on the shipped funnel)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbridge.config import ConfigError, Funnel, flapping, funnel_from_texts, schema
from leadbridge.config.build import build
from leadbridge.config.load import FILES
from leadbridge.config.source import parse_document
from leadbridge.config.validation import validate
from leadbridge.core import mapping
from leadbridge.core.engine import decide
from leadbridge.model import Change, Lead, System, Value
from tests.conftest import T0

HS, SF = System.HUBSPOT, System.SALESFORCE

STAGES = json.dumps(
    {
        "stages": [
            {"name": "a", "owner": "marketing"},
            {"name": "b", "owner": "marketing"},
            {"name": "c", "owner": "sales"},
            {"name": "d", "owner": "marketing", "handback": True},
        ]
    }
)
FIELDS = json.dumps(
    {
        "picklists": {},
        "fields": {
            "x": {"hubspot": "x", "direction": "always_hubspot", "transforms": ["number"]},
            "y": {"salesforce": {"Lead": "Y"}, "direction": "always_salesforce"},
            "z": {"hubspot": "z", "salesforce": {"Lead": "Z"}, "direction": "two_way"},
        },
    }
)
ATOMS = st.one_of(
    st.builds(lambda n: {"gte": {"x": n}}, st.sampled_from([10, 20])),
    st.builds(lambda n: {"lte": {"x": n}}, st.sampled_from([10, 20])),
    st.builds(lambda v: {"eq": {"y": v}}, st.sampled_from(["p", "q"])),
    st.just({"in": {"y": ["p", "q"]}}),
    st.sampled_from([{"present": "z"}, {"absent": "z"}, {"eq": {"z": "s"}}]),
    st.builds(lambda n: {"changed_to": {"x": {"gte": n}}}, st.sampled_from([10, 20])),
    st.builds(lambda v: {"changed_to": {"y": v}}, st.sampled_from(["p", "q"])),
    st.just({"changed_to": {"z": {"present": True}}}),
)
CONDITIONS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda item: {"not": item}, inner),
    ),
    max_leaves=4,
)
RULES = st.lists(
    st.fixed_dictionaries(
        {
            "from": st.one_of(
                st.just("any"), st.lists(st.sampled_from("abcd"), min_size=1, unique=True)
            ),
            "when": CONDITIONS,
            "then": st.builds(lambda to: {"move_to": to, "reason": "r"}, st.sampled_from("abcd")),
        }
    ),
    min_size=1,
    max_size=5,
)
VALUES = {
    "x": st.integers(0, 30).map(str),
    "y": st.sampled_from(["p", "q", "o"]),
    "z": st.sampled_from(["s", "t", ""]),
}


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(rules=RULES, data=st.data())
def test_accepted_rule_sets_never_cycle_and_decide_idempotently(
    rules: list[dict[str, Any]], data: st.DataObject
) -> None:
    named = [{"name": f"r{i}", **rule} for i, rule in enumerate(rules)]
    try:
        funnel = funnel_from_texts(
            {"stages": STAGES, "fields": FIELDS, "handoff": json.dumps({"rules": named})}
        )
    except ConfigError:
        return
    for _ in range(5):
        before = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "x": st.integers(0, 30).map(float),
                    "y": st.sampled_from(["p", "q"]),
                    "z": st.just("s"),
                },
            )
        )
        lead = Lead("lb-1", data.draw(st.sampled_from("abcd")), T0, fields=before)
        system = data.draw(st.sampled_from([HS, SF]))
        remote = {"x": "x", "z": "z"} if system is HS else {"y": "Y", "z": "Z"}
        picked = data.draw(st.lists(st.sampled_from(sorted(remote)), unique=True))
        values: dict[str, Value] = {remote[name]: data.draw(VALUES[name]) for name in picked}
        obj = "contact" if system is HS else "Lead"
        change = Change(system, obj, "1", values, T0 + timedelta(days=1))
        first = decide(lead, change, funnel, change.modified_at)
        assert not first.notes, (named, lead, change)
        again = decide(first.lead, change, funnel, change.modified_at)
        assert again.transitions == () and again.lead == first.lead, (named, lead, change)


def _unchecked(rules: list[dict[str, Any]]) -> Funnel | None:
    """The funnel the rules make, built without the flapping check (None if otherwise invalid)."""
    texts = {"stages": STAGES, "fields": FIELDS, "handoff": json.dumps({"rules": rules})}
    documents = {}
    for name, text in texts.items():
        document, _ = parse_document(text, name)
        assert document is not None
        documents[name] = document
    stages, fields, handoff = (validate(documents[name], FILES[name])[0] for name in texts)
    if not (
        isinstance(stages, schema.StagesFile)
        and isinstance(fields, schema.FieldsFile)
        and isinstance(handoff, schema.HandoffFile)
    ):
        return None
    funnel, problems = build(documents, stages, fields, handoff)
    return None if problems else funnel


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(rules=RULES)
def test_every_cycle_the_check_reports_is_real(rules: list[dict[str, Any]]) -> None:
    """The check is exact here (no `set`, no older_than): each witness makes the engine cycle."""
    funnel = _unchecked([{"name": f"r{i}", **rule} for i, rule in enumerate(rules)])
    if funnel is None:
        return
    for cycle in flapping.cycles(funnel):
        system, obj = cycle.source
        readable = {name for _, fmap in funnel.sources[cycle.source] for name in [fmap.name]}
        remote = {"x": "x", "z": "z"} if system is HS else {"y": "Y", "z": "Z"}
        before = {name: b for name, (b, _) in cycle.witness.items() if b is not None}
        values: dict[str, Value] = {
            remote[name]: "" if a is None else (mapping.remote_form(HS, a) if name == "x" else a)
            for name, (b, a) in cycle.witness.items()
            if name in readable and a != b
        }
        lead = Lead("lb-1", cycle.steps[0][1], T0, fields=before)
        decision = decide(lead, Change(system, obj, "1", values, T0), funnel, T0)
        assert any("would move the lead back" in note for note in decision.notes), (rules, cycle)
