"""The schema gate (daemon.schema): nothing is decided or written until both systems hold
what the mappings need; it says what is missing once per change and asks again, sooner
when a system only did not answer."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from leadbridge.daemon.schema import RECHECK, SchemaGate
from leadbridge.preflight import Check

FIELD = Check(
    "field Lead.Leadbridge_Id__c",
    False,
    "missing",
    "deploy the package `leadbridge setup --apply` writes",
    "Salesforce",
)
BUSY = Check("contact properties", False, "429 RATE_LIMIT", "wait", "HubSpot", transient=True)
USAGE = Check("API usage", False, "90% used", "wait for the reset", "HubSpot")
FINE = Check("token", True, "valid", "", "HubSpot")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Systems:
    """What the doctor's checks say, in turn; counts how often they were asked."""

    def __init__(self, *answers: list[Check]) -> None:
        self.answers = list(answers)
        self.asked = 0

    def __call__(self) -> list[Check]:
        self.asked += 1
        return self.answers[min(self.asked, len(self.answers)) - 1]


def test_missing_schema_holds_the_sync_back_and_is_checked_again_every_recheck() -> None:
    clock, systems = Clock(), Systems([FINE, FIELD], [FINE, FIELD], [FINE])
    gate = SchemaGate(systems, recheck=RECHECK, monotonic=clock)
    assert not gate.ready
    assert gate.status().startswith("checking")
    with capture_logs() as logs:
        assert gate.tick() is False
        clock.now = RECHECK - 1
        assert gate.tick() is False  # not due yet: the systems are not asked
        assert systems.asked == 1
        clock.now = RECHECK
        assert gate.tick() is False  # asked again, still missing: not said twice
    assert systems.asked == 2
    said = [entry for entry in logs if entry["event"].startswith("schema missing")]
    assert len(said) == 1
    assert said[0]["missing"] == [
        {
            "system": "Salesforce",
            "what": "field Lead.Leadbridge_Id__c",
            "found": "missing",
            "fix": FIELD.fix,
        }
    ]
    assert not gate.ready
    status = gate.status()
    assert "nothing is decided or written" in status
    assert "Salesforce field Lead.Leadbridge_Id__c: missing" in status and FIELD.fix in status

    clock.now = 2 * RECHECK
    assert gate.tick() is True  # fixed in the org: ready without a restart
    assert gate.ready and gate.status() == "ok"
    clock.now = 10 * RECHECK
    assert gate.tick() is False
    assert systems.asked == 3  # once ready, never asked again


def test_a_system_that_did_not_answer_is_asked_again_sooner_backing_off() -> None:
    clock, systems = Clock(), Systems([BUSY])
    gate = SchemaGate(systems, recheck=60.0, monotonic=clock)
    asked_at = []
    while clock.now < 200:
        before = systems.asked
        gate.tick()
        if systems.asked > before:
            asked_at.append(clock.now)
        clock.now += 1
    assert asked_at[:6] == [0, 5, 15, 35, 75, 135]  # 5, 10, 20, 40, then the recheck's 60


def test_the_api_usage_does_not_hold_the_sync_back() -> None:
    """A budget running low pauses the connectors by itself; it is no missing schema."""
    gate = SchemaGate(Systems([FINE, USAGE]))
    assert gate.tick() is True and gate.ready


def test_a_check_that_fails_itself_is_said_and_tried_again() -> None:
    clock = Clock()

    def broken() -> list[Check]:
        raise RuntimeError("mappings/stages.yaml vanished")

    gate = SchemaGate(broken, monotonic=clock)
    assert gate.tick() is False and not gate.ready
    assert "vanished" in gate.status()


@pytest.mark.parametrize("count", [1, 3, 7])
def test_the_status_line_names_a_few_and_counts_the_rest(count: int) -> None:
    checks = [
        Check(f"field F{n}__c", False, "missing", "deploy", "Salesforce") for n in range(count)
    ]
    gate = SchemaGate(Systems(checks))
    gate.tick()
    status = gate.status()
    assert f"({count} missing" in status
    assert status.count("fix: deploy") == min(count, 3)
    assert ("more" in status) is (count > 3)
