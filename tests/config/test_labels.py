"""Labels and next steps: what people read for stages, values and reasons, and the SLA
said in words; the defaults when the mappings give none, and the mistakes named."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from leadbridge.config import ConfigError, Funnel, funnel_from_texts, load_funnel
from leadbridge.config.sla import Sla
from leadbridge.config.wording import span, within
from leadbridge.model import Side, Stage
from tests.conftest import Edit, shipped


def test_the_shipped_funnel_speaks_in_labels(funnel: Funnel) -> None:
    assert [funnel.stage_label(s.name) for s in funnel.stages] == [
        "Subscriber",
        "Lead",
        "MQL",
        "SQL",
        "Opportunity",
        "Customer",
        "Repeat customer",
        "Nurture",
        "Disqualified",
    ]
    assert funnel.next_step("mql") == "accept or reject in Salesforce within 2 days"
    assert funnel.next_step("sql") == (
        "qualify and convert with an opportunity in Salesforce within 5 days"
    )
    assert funnel.next_step("opportunity") == "work the deal in Salesforce until it closes"
    assert funnel.next_step("customer") is None
    assert funnel.label("source", "paid_social") == "Paid social"
    assert funnel.label("deal_stage", "lost") == "Closed lost"
    assert funnel.label("source", None) == "(none)"
    # A reason reads as the reason field's label, else as the field a rule took it from.
    assert funnel.reason_label("no_fit") == "No fit"
    assert funnel.reason_label("lost_to_competitor") == "Lost to a competitor"
    assert funnel.reason_label("no_decision") == "No decision"
    assert funnel.reason_label("never_heard_of") == "Never heard of"


def test_a_stage_without_a_label_reads_as_its_name() -> None:
    stage = Stage("repeat_customer", 6, Side.SALES, None, False)
    assert (stage.label, stage.next_step) == ("Repeat customer", None)


def test_a_renamed_stage_reads_as_the_stage_it_became() -> None:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    texts["stages"] = texts["stages"].replace(
        "  - name: sql\n", "  - name: sales_accepted\n    was: [sql]\n"
    )
    texts["handoff"] = re.sub(r"\bsql\b", "sales_accepted", texts["handoff"])
    funnel = funnel_from_texts(texts)
    assert funnel.stage_label("sql") == "SQL" == funnel.stage_label("sales_accepted")
    assert funnel.next_step("sql") == funnel.next_step("sales_accepted")
    assert funnel.stage_label("gone_stage") == "Gone stage"


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            "    label: MQL\n",
            "    label: '  '\n",
            "expected words on one line (a label such as MQL, or a next step)",
        ),
        ("    label: MQL\n", "    label: [M, Q, L]\n", "expected words on one line"),
    ],
)
def test_a_label_that_is_not_words_is_named(edited: Edit, old: str, new: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_funnel(edited(("stages", old, new)))
    [problem] = raised.value.problems
    assert problem.field == 'stage "mql" label' and says in problem.message, str(problem)


def test_labels_beside_values_are_refused_with_where_they_go(edited: Edit) -> None:
    directory = edited(
        (
            "fields",
            "    direction: always_hubspot\n    values:\n      organic_search",
            "    direction: always_hubspot\n    labels: {paid_social: Ads}\n    values:\n"
            "      organic_search",
        )
    )
    with pytest.raises(ConfigError) as raised:
        load_funnel(directory)
    [problem] = raised.value.problems
    assert problem.field == "fields.source.labels"
    assert "expected each value's label under values" in problem.message


def test_durations_in_words() -> None:
    cases = {
        timedelta(days=2): "2 days",
        timedelta(days=1): "1 day",
        timedelta(hours=36): "36 hours",
        timedelta(days=3, hours=5): "3 days 5 hours",
        timedelta(weeks=2): "2 weeks",
        timedelta(minutes=90): "1 hour 30 minutes",
    }
    assert {span: span_words for span, span_words in ((k, span(k)) for k in cases)} == cases


def test_an_sla_in_business_hours_says_so(edited: Edit) -> None:
    funnel = load_funnel(
        edited(
            (
                "stages",
                "    sla: 2d # sales accepts or rejects it within two days\n",
                "    sla: 16h\n    business_hours: Mon-Fri 09:00-17:00\n"
                "    time_zone: Europe/Berlin\n",
            )
        )
    )
    assert funnel.next_step("mql") == (
        "accept or reject in Salesforce within 16 hours of working time "
        "(Mon-Fri 09:00-17:00, Europe/Berlin)"
    )
    assert within(Sla(timedelta(days=2))) == "within 2 days"
