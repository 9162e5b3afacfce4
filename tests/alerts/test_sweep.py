"""The sweep against the simulated Slack, on SQLite and PostgreSQL: exactly once, never lost.

The simulated Slack keeps its real limits (one message a second per webhook, 429 with
Retry-After past it); slack_sdk's retry handlers sleep on the simulator's clock, so those
seconds pass without being waited for.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from leadbridge.alerts.sweep import HOLDER, SweepResult, deliver, health, sweep
from leadbridge.config import Funnel
from leadbridge.model import System
from leadbridge.sandbox.faults import Fault
from leadbridge.store import Store
from leadbridge.store.alerts import DROPPED, FAILED, PENDING, SENT, NewAlert
from tests.alerts.conftest import (
    ALERTS_CHANNEL,
    DAY,
    ESCALATION_CHANNEL,
    MENTION,
    MONDAY,
    SlackWorld,
    lead,
    put,
)

WEDNESDAY = MONDAY + 2 * DAY + timedelta(hours=6)
NOW = WEDNESDAY


def names(world: SlackWorld, channel: str = ALERTS_CHANNEL) -> list[str]:
    return [m.text or "" for m in world.messages(channel)]


def statuses(store: Store) -> dict[str, int]:
    with store.reading() as uow:
        return uow.alerts.counts()


def test_n_overdue_leads_give_exactly_n_messages_and_a_restart_none_more(
    store: Store, url: str, funnel: Funnel, slack_world: SlackWorld
) -> None:
    overdue = [lead(f"L{n}", first=f"Person{n}", hubspot=str(500 + n)) for n in range(6)]
    young = lead("young", entered_at=WEDNESDAY - DAY)
    put(store, *overdue, young)
    slack = slack_world.slack()

    first = sweep(store, funnel, slack, WEDNESDAY)
    assert first == SweepResult(recorded=6, sent=6)
    texts = names(slack_world)
    assert len(texts) == 6
    assert sorted(re.findall(r"Person\d", " ".join(texts))) == [f"Person{n}" for n in range(6)]
    assert len(slack_world.waits) >= 5  # Slack's 1/s answered 429 and slack_sdk waited it out

    assert sweep(store, funnel, slack, WEDNESDAY + timedelta(hours=1)) == SweepResult()
    with Store.open(url) as restarted:  # a new process: new engine, new holder
        again = sweep(restarted, funnel, slack, WEDNESDAY + timedelta(hours=2), holder="other")
    assert again == SweepResult()
    assert len(slack_world.messages()) == 6
    assert statuses(store) == {SENT: 6}


def test_a_run_of_429s_delays_messages_but_loses_none(
    store: Store, funnel: Funnel, slack_world: SlackWorld
) -> None:
    put(store, *[lead(f"L{n}", first=f"Person{n}") for n in range(5)])
    slack = slack_world.slack()
    slack_world.sim.faults.inject_next(Fault.RATE_LIMIT, count=9)  # then 1/s as usual

    def frozen() -> float:  # the sweeps' times are exactly the ones given
        return 0.0

    first = sweep(store, funnel, slack, WEDNESDAY, monotonic=frozen)
    # 1 try + 3 retries honouring Retry-After, then it waits for a later sweep; the webhook
    # is left alone for the rest of this sweep instead of being hammered.
    assert first == SweepResult(recorded=5, deferred=1)
    with store.reading() as uow:
        [waiting] = [a for a in uow.alerts.listing(PENDING) if a.attempts]
    assert waiting.next_try_at == WEDNESDAY + timedelta(seconds=1)  # as Retry-After said
    assert waiting.last_error == "rate_limited"
    assert slack_world.messages() == []

    later = [WEDNESDAY + timedelta(seconds=s) for s in (1, 2, 3)]
    results = [sweep(store, funnel, slack, now, monotonic=frozen) for now in later]
    assert sum(r.sent for r in results) == 5
    texts = names(slack_world)
    assert sorted(re.findall(r"Person\d", " ".join(texts))) == [f"Person{n}" for n in range(5)]
    assert statuses(store) == {SENT: 5}
    assert all(wait >= 1 for wait in slack_world.waits)  # every Retry-After was honoured


def test_random_429_bursts_and_server_errors_still_deliver_each_once(
    store: Store, funnel: Funnel, slack_world: SlackWorld
) -> None:
    put(store, *[lead(f"L{n}", first=f"Person{n}") for n in range(12)])
    slack = slack_world.slack()
    slack_world.sim.faults.configure(rate_limit_rate=0.2, rate_limit_burst=5, error_rate=0.15)
    total = SweepResult()
    for minute in range(40):
        total += sweep(store, funnel, slack, WEDNESDAY + timedelta(minutes=minute))
        if total.sent == 12:
            break
    assert total.sent == 12 and total.recorded == 12
    assert len(slack_world.messages()) == 12
    assert slack_world.sim.faults.counts()  # faults did strike


def test_story_six_one_overdue_wednesday_one_escalation_friday_then_silence(
    store: Store, funnel: Funnel, slack_world: SlackWorld
) -> None:
    put(store, lead("sam", last="Rivera", hubspot="501", salesforce="00Q5g00000AbCdE"))
    slack = slack_world.slack()
    for hours in range(0, 5 * 24, 2):  # a sweep every two hours, Monday to Friday
        sweep(store, funnel, slack, MONDAY + timedelta(hours=hours))
    [overdue] = slack_world.messages(ALERTS_CHANNEL)
    [escalation] = slack_world.messages(ESCALATION_CHANNEL)
    assert overdue.received_at < escalation.received_at
    assert (overdue.text or "").startswith("Overdue: Sam Rivera (Acme Logistics) has been in MQL")
    assert "Next: accept or reject in Salesforce within 2 days" in (overdue.text or "")
    assert (escalation.text or "").startswith(f"{MENTION} Escalation: Sam Rivera")
    assert escalation.blocks is not None
    assert "acme.my.salesforce.com/lightning/r/Lead/00Q5g00000AbCdE/view" in str(escalation.blocks)

    # The rep finally acts: Sam is SQL. Nothing more about Sam for days of sweeps.
    put(store, lead("sam", stage="sql", entered_at=MONDAY + 4 * DAY + timedelta(hours=1)))
    for hours in range(0, 3 * 24, 2):
        sweep(store, funnel, slack, MONDAY + 5 * DAY + timedelta(hours=hours))
    assert len(slack_world.messages(ALERTS_CHANNEL)) == 1
    assert len(slack_world.messages(ESCALATION_CHANNEL)) == 1


def test_an_alert_waiting_on_a_broken_webhook_is_dropped_once_the_lead_moves_on(
    store: Store, funnel: Funnel, slack_world: SlackWorld
) -> None:
    put(store, lead("sam"), lead("dana"))
    slack = slack_world.slack()
    slack_world.sim.archive_channel(ALERTS_CHANNEL)
    assert sweep(store, funnel, slack, WEDNESDAY) == SweepResult(recorded=2, deferred=1)
    put(store, lead("sam", stage="sql", entered_at=WEDNESDAY + timedelta(hours=1)))
    with store.reading() as uow:
        assert {a.last_error for a in uow.alerts.listing() if a.attempts} == {
            "410 channel_is_archived"
        }
    # A person makes a new webhook; the next sweep sends what still holds, drops the rest.
    fixed = slack_world.slack(webhook_url=slack_world.webhook("#revops-alerts-2"))
    later = sweep(store, funnel, fixed, WEDNESDAY + timedelta(hours=2))
    assert later == SweepResult(sent=1, dropped=1)
    assert [m.text[:14] for m in slack_world.messages("#revops-alerts-2") if m.text] == [
        "Overdue: Sam d"
    ]
    assert statuses(store) == {SENT: 1, DROPPED: 1}


def test_a_sender_that_died_holding_a_claim_loses_nothing_and_duplicates_nothing(
    store: Store, url: str, funnel: Funnel, slack_world: SlackWorld
) -> None:
    put(store, lead("sam"))
    slack = slack_world.slack()
    hold = timedelta(seconds=slack.settings.delivery.hold)
    from leadbridge.alerts.sweep import record_overdue

    assert record_overdue(store, funnel, slack, WEDNESDAY) == 1
    with store.transaction() as uow:  # claimed, then the process was killed before sending
        assert uow.alerts.claim(WEDNESDAY, "dead-replica", hold) is not None
    with Store.open(url) as restarted:
        assert sweep(restarted, funnel, slack, WEDNESDAY + timedelta(seconds=10)) == SweepResult()
        assert slack_world.messages() == []
        after = sweep(restarted, funnel, slack, WEDNESDAY + hold)
    assert after == SweepResult(sent=1)
    assert len(slack_world.messages()) == 1


def test_two_replicas_sweeping_at_once_send_each_alert_once(
    store: Store, url: str, funnel: Funnel, slack_world: SlackWorld
) -> None:
    put(store, *[lead(f"L{n}", first=f"Person{n}") for n in range(10)])
    slack_world.sim.per_second = None  # the race, not Slack's pace, is under test here
    errors: list[BaseException] = []
    results: list[SweepResult] = []

    def replica(holder: str) -> None:
        try:
            with Store.open(url) as own:
                results.append(sweep(own, funnel, slack_world.slack(), WEDNESDAY, holder=holder))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(f"replica-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(r.recorded for r in results) == 10 and sum(r.sent for r in results) == 10
    assert len(slack_world.messages()) == 10
    assert len(set(names(slack_world))) == 10


def test_health_change_and_recovery_are_two_messages_over_many_sweeps(
    store: Store, slack_world: SlackWorld
) -> None:
    slack = slack_world.slack()
    fine = {"hubspot": "ok", "salesforce": "ok", "budget.hubspot": "ok"}
    now = MONDAY
    for step in range(30):
        now += timedelta(minutes=1)
        failing = 5 <= step < 20
        reported = {**fine, "salesforce": f"503 from Salesforce (try {step})"} if failing else fine
        health(store, slack, reported, now)
    texts = names(slack_world)
    assert texts == [
        "Unhealthy: salesforce: 503 from Salesforce (try 5).",
        "Recovered: salesforce is healthy again after 15m (it was: 503 from Salesforce (try 19)).",
    ]


def test_a_budget_pause_and_parked_records_piling_up_are_health_changes(
    store: Store, slack_world: SlackWorld
) -> None:
    slack = slack_world.slack(health={"parked_threshold": 3})
    ok: dict[str, str] = {"budget.salesforce": "ok"}
    health(store, slack, ok, MONDAY)
    with store.transaction() as uow:
        for n in range(3):
            uow.parked.park(System.SALESFORCE, "Lead", f"00Q{n}", "ambiguous match", now=MONDAY)
    paused = {"budget.salesforce": "paused: daily API budget spent: 25000 of 25000"}
    for minute in range(1, 6):
        health(store, slack, paused, MONDAY + timedelta(minutes=minute))
    with store.transaction() as uow:
        uow.parked.unpark(System.SALESFORCE, "Lead", "00Q0")
    health(store, slack, ok, MONDAY + timedelta(minutes=10))
    assert sorted(names(slack_world)) == [
        "Recovered: budget.salesforce is healthy again after 9m "
        "(it was: paused: daily API budget spent: 25000 of 25000).",
        "Recovered: parked is healthy again after 9m "
        "(it was: 3 records parked (threshold 3); `leadbridge parked` says why).",
        "Unhealthy: budget.salesforce: paused: daily API budget spent: 25000 of 25000.",
        "Unhealthy: parked: 3 records parked (threshold 3); `leadbridge parked` says why.",
    ]


def test_the_daily_digest_splits_lists_each_lead_once_and_comes_once_a_day(
    store: Store, funnel: Funnel, slack_world: SlackWorld
) -> None:
    # CRM values made of the characters escaping lengthens: a line takes 1,442 characters,
    # so two fill a section, and 48 sections (96 leads) a message.
    count = 100
    leads = [
        lead(
            f"L{n:03d}",
            first="<&>" * 40,
            last="",
            company="&" * 120,
            owner="<>" * 30,
            hubspot=str(9000 + n),
        )
        for n in range(count)
    ]
    put(store, *leads)
    slack_world.sim.per_second = None  # the stuck-lead alerts go out too; pace is not the point
    slack = slack_world.slack(
        digest={"enabled": True, "at": "08:00", "time_zone": "UTC"},
        delivery={"per_sweep": 1000},
    )
    early = MONDAY + 2 * DAY - timedelta(hours=2)  # Wednesday 07:00: before the digest's time
    sweep(store, funnel, slack, early)
    assert not any("Stuck leads" in t for t in names(slack_world))
    sweep(store, funnel, slack, WEDNESDAY)
    sweep(store, funnel, slack, WEDNESDAY + timedelta(hours=3))  # same day: no second digest
    digests = [m for m in slack_world.messages() if (m.text or "").startswith("Stuck leads")]
    assert [len(m.blocks or []) for m in digests] == [50, 4]  # 96 leads, then 4
    assert digests[0].text == f"Stuck leads on 2026-03-04: {count} (part 1 of {len(digests)})"
    listed = re.findall(r"record/0-1/(\d+)\|", " ".join(str(m.blocks) for m in digests))
    assert sorted(listed) == sorted(str(9000 + n) for n in range(count))
    sweep(store, funnel, slack, WEDNESDAY + DAY)
    tomorrow = "Stuck leads on 2026-03-05"
    again = [m for m in slack_world.messages() if (m.text or "").startswith(tomorrow)]
    assert len(again) == len(digests)


def test_deliver_alone_sends_nothing_when_nothing_is_due(
    store: Store, slack_world: SlackWorld
) -> None:
    assert deliver(store, slack_world.slack(), MONDAY, holder=HOLDER) == SweepResult()


def test_a_message_slack_refuses_is_kept_as_failed_not_retried_forever(
    store: Store, slack_world: SlackWorld
) -> None:
    broken = NewAlert("bad", "digest", "digest", "alerts", "x", [{"type": "divider"}] * 51)
    with store.transaction() as uow:
        uow.alerts.record([broken, NewAlert("good", "digest", "digest", "alerts", "fine", [])], NOW)
    result = deliver(store, slack_world.slack(), NOW)
    assert result == SweepResult(sent=1, refused=1)
    assert names(slack_world) == ["fine"]
    with store.reading() as uow:
        refused = uow.alerts.get("bad")
    assert refused is not None
    assert (refused.status, refused.last_error) == (FAILED, "400 invalid_blocks")
    assert deliver(store, slack_world.slack(), NOW + timedelta(days=1)) == SweepResult()


def test_the_one_window_an_answer_lost_after_slack_took_the_message(
    store: Store, slack_world: SlackWorld
) -> None:
    """Slack took it, the answer never came back: we cannot tell that from a message that
    never arrived, so it is sent again (at least once, never lost). Incoming webhooks take
    no idempotency key; this is the duplicate the store's module doc describes."""
    with store.transaction() as uow:
        uow.alerts.record([NewAlert("k", "digest", "digest", "alerts", "hello", [])], NOW)
    slack_world.sim.faults.inject_next(Fault.DROP_AFTER)
    slack = slack_world.slack()

    def at(seconds: int) -> SweepResult:  # a frozen monotonic clock: times are exact
        return deliver(store, slack, NOW + timedelta(seconds=seconds), monotonic=lambda: 0.0)

    assert at(0) == SweepResult(deferred=1)
    assert names(slack_world) == ["hello"]  # it did arrive
    assert at(29) == SweepResult()  # the first back-off is 30s
    assert at(30) == SweepResult(sent=1)
    assert names(slack_world) == ["hello", "hello"]
