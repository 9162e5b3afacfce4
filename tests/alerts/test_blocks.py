"""Block Kit for one alert, the digest split within Slack's limits, and escaping CRM values."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.alerts.blocks import Links, alert_message, digest_messages, health_message
from leadbridge.alerts.due import Alert, HealthChange, Level, stuck
from leadbridge.config import Funnel
from leadbridge.config.sla import Sla
from leadbridge.model import Cause, Side, System, Transition
from leadbridge.sandbox.slack.blocks import check_blocks
from tests.alerts.conftest import DAY, MENTION, MONDAY, lead

LINKS = Links(hubspot_portal="2424242", salesforce_url="https://acme.my.salesforce.com")
NOW = MONDAY + 2 * DAY + timedelta(hours=3)
LAST = Transition(
    "lead",
    "mql",
    "score_and_fit",
    "score_passed",
    Cause(System.HUBSPOT, "contact", "501", MONDAY),
    MONDAY,
)


def sam_alert(funnel: Funnel, now: Any = NOW, **changes: Any) -> Alert:
    sam = lead("sam", last="Rivera", hubspot="501", salesforce="00Q5g00000AbCdE", **changes)
    [alert] = stuck([sam], funnel, now)
    return alert


def texts(blocks: Any) -> str:
    """Every text in the blocks, joined: what a reader could see."""
    if isinstance(blocks, dict):
        return " ".join(
            value if key == "text" and isinstance(value, str) else texts(value)
            for key, value in blocks.items()
        )
    if isinstance(blocks, list | tuple):
        return " ".join(texts(item) for item in blocks)
    return ""


def test_an_alert_says_who_where_how_long_what_next_what_happened_and_links_both_records(
    funnel: Funnel,
) -> None:
    message = alert_message(sam_alert(funnel), LAST, LINKS, NOW, funnel=funnel)
    check_blocks(list(message.blocks))  # what the simulated (and real) Slack accepts
    shown = texts(message.blocks)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Overdue: Sam Rivera in MQL", "emoji": False},
    }
    for fact in (
        "*Sam Rivera* at *Acme Logistics*",
        "for *2d 3h*, past its SLA of *2d*",
        "005OWNER (marketing)",
        "2d 3h of an SLA of 2d",
        "*Stage*\nMQL",
        "*Next:* accept or reject in Salesforce within 2 days",
        "Lead → MQL by rule Score and fit (a change to HubSpot contact 501",
        "<https://app.hubspot.com/contacts/2424242/record/0-1/501|HubSpot contact 501>",
        "<https://acme.my.salesforce.com/lightning/r/Lead/00Q5g00000AbCdE/view|"
        "Salesforce Lead 00Q5g00000AbCdE>",
    ):
        assert fact in shown, fact
    assert message.text == (
        "Overdue: Sam Rivera (Acme Logistics) has been in MQL for 2d 3h, SLA 2d. "
        "Owner: 005OWNER (marketing). Next: accept or reject in Salesforce within 2 days."
    )
    assert MENTION not in shown
    assert "score_and_fit" not in shown and "score_passed" not in shown  # ids stay out


def test_a_hand_back_says_its_reason_by_label(funnel: Funnel) -> None:
    back = Transition("mql", "nurture", "sales_recycled", "bad_timing", LAST.cause, MONDAY)
    shown = texts(alert_message(sam_alert(funnel), back, LINKS, NOW, funnel=funnel).blocks)
    assert "MQL → Nurture by rule Sales recycled, reason _Bad timing_" in shown


def test_without_the_funnel_stages_and_rules_still_read_as_words(funnel: Funnel) -> None:
    shown = texts(alert_message(sam_alert(funnel), LAST, LINKS, NOW).blocks)
    assert "Lead → MQL by rule Score and fit, reason _Score passed_" in shown


def test_an_escalation_mentions_who_must_act(funnel: Funnel) -> None:
    later = MONDAY + 4 * DAY + timedelta(hours=1)
    alert = sam_alert(funnel, later)
    assert alert.level is Level.ESCALATION
    message = alert_message(alert, LAST, LINKS, later, MENTION)
    check_blocks(list(message.blocks))
    assert message.text.startswith(f"{MENTION} Escalation: Sam Rivera")
    assert f"{MENTION} please act" in texts(message.blocks)
    assert "past twice its SLA" in texts(message.blocks)


def test_without_portal_or_instance_the_ids_still_show(funnel: Funnel) -> None:
    message = alert_message(sam_alert(funnel), None, Links(), NOW)
    shown = texts(message.blocks)
    assert "HubSpot contact 501 · Salesforce Lead 00Q5g00000AbCdE" in shown
    assert "none journaled yet" in shown
    assert "https://" not in shown


def test_crm_values_cannot_inject_mentions_or_links(funnel: Funnel) -> None:
    alert = sam_alert(funnel, first="<!channel>", company="A&B <https://evil.example|Bank>")
    message = alert_message(alert, LAST, LINKS, NOW)
    mrkdwn = texts(message.blocks[1:]) + " " + message.text  # the header is plain text
    assert "<!channel>" not in mrkdwn and "&lt;!channel&gt;" in mrkdwn
    assert "A&amp;B &lt;https://evil.example|Bank&gt;" in mrkdwn
    assert "<https://evil" not in mrkdwn
    assert message.blocks[0]["text"]["text"] == "Overdue: <!channel> Rivera in MQL"


crm_text = st.text(
    alphabet=st.sampled_from([*"ab &<>|*_~`\n", "é", "😀", "ß"]), min_size=0, max_size=400
)


@settings(max_examples=150, deadline=None)
@given(crm_text, crm_text, crm_text, st.sampled_from(list(Level)))
def test_any_crm_values_make_a_valid_safe_message(
    first: str, company: str, owner: str, level: Level
) -> None:
    one = lead("x", first=first, last="", company=company, owner=owner or None)
    alert = Alert(one, level, timedelta(days=3), Sla(timedelta(days=2)), Side.SALES)
    message = alert_message(alert, LAST, LINKS, NOW, MENTION)
    check_blocks(list(message.blocks))
    for text in [texts(message.blocks[1:]), message.text]:
        # Only our own markup may open a control sequence: links, dates and the mention.
        opened = re.findall(r"<([^>]*)>", text)
        assert all(o.startswith(("https://", "!date^", "!subteam^")) for o in opened), opened


def many(count: int, name: str = "Dana") -> list[Alert]:
    return [
        Alert(
            lead(f"L{n:05d}", first=name, hubspot=str(1000 + n), owner=f"005{n}"),
            Level.ESCALATION if n % 3 == 0 else Level.OVERDUE,
            timedelta(days=3, hours=n % 24),
            Sla(timedelta(days=2)),
            Side.MARKETING,
        )
        for n in range(count)
    ]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=1500), st.text(min_size=1, max_size=200))
def test_any_number_of_leads_splits_into_valid_messages_listing_each_once(
    count: int, name: str
) -> None:
    alerts = many(count, name)
    messages = digest_messages(alerts, LINKS, NOW, "2026-03-04")
    listed: list[str] = []
    for message in messages:
        blocks = list(message.blocks)
        check_blocks(blocks)  # at most 50 blocks, each section within 3,000 characters
        assert len(blocks) <= 50
        sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        assert all(len(text) <= 3000 for text in sections)
        lines = [line for text in sections for line in text.split("\n")]
        if count:
            assert len(lines) == len(message.lead_ids)
            assert all(line.startswith("• <https://app.hubspot.com/") for line in lines)
        listed += message.lead_ids
    assert sorted(listed) == sorted(a.lead.id for a in alerts)
    assert len(listed) == len(set(listed))
    assert len(messages) >= 1


def test_a_big_digest_takes_several_messages_that_say_so() -> None:
    messages = digest_messages(many(1200), LINKS, NOW, "2026-03-04")
    assert len(messages) == 2  # 20 lines a section, 48 sections a message
    assert messages[0].text == "Stuck leads on 2026-03-04: 1200 (part 1 of 2)"
    assert [len(m.lead_ids) for m in messages] == [960, 240]
    assert "400 past 2x their SLA" in texts(messages[1].blocks)


def test_an_empty_digest_says_all_is_well() -> None:
    [message] = digest_messages([], LINKS, NOW, "2026-03-04")
    assert "none" in message.text


def test_health_messages() -> None:
    down = health_message(HealthChange("hubspot", False, "daily budget <spent>", None), NOW)
    check_blocks(list(down.blocks))
    assert down.text == "Unhealthy: hubspot: daily budget &lt;spent&gt;."
    page = "failing: salesforce 503 : <html><head><title>Maintenance</title></head><body>x</body>"
    outage = health_message(HealthChange("salesforce", False, page + "</html>", None), NOW)
    assert outage.text == "Unhealthy: salesforce: failing: salesforce 503: Maintenance."
    up = health_message(HealthChange("hubspot", True, "daily budget spent", MONDAY), NOW)
    assert (
        up.text == "Recovered: hubspot is healthy again after 2d 3h (it was: daily budget spent)."
    )


def test_print_one_alert_as_slack_receives_it(funnel: Funnel) -> None:
    """`pytest -s -k print_one_alert` prints the payload quoted in the issue note."""
    message = alert_message(sam_alert(funnel), LAST, LINKS, NOW)
    payload = {"text": message.text, "blocks": list(message.blocks)}
    shown = json.dumps(payload, indent=2, ensure_ascii=False)
    print(shown)
    assert json.loads(shown) == payload
