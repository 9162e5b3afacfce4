"""`leadbridge explain` in plain words: labels, what changed where, times in a chosen zone,
links to both records, each move with the writes it caused, and the same as JSON."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadbridge.cli import main
from leadbridge.model import Cause, Identity, Lead, RecordWrite, System, Transition
from leadbridge.store import Store

ROOT = Path(__file__).resolve().parents[2]
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONTACT, SF_LEAD = "501", "00Q5g00000AbCdE"


def _stage_write(stage: str, status: str) -> RecordWrite:
    return RecordWrite(
        System.HUBSPOT,
        "contact",
        CONTACT,
        ({"leadbridge_stage": stage, "hs_lead_status": status},),
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    """Sam: MQL on Monday (by score, from HubSpot), accepted on Tuesday and disqualified
    by the rep in Salesforce on Wednesday, the last two decided in one round."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    sam = Lead(
        id="sam1",
        stage="disqualified",
        stage_entered_at=MONDAY + timedelta(days=2),
        owner="005OWNER",
        identity=Identity(hubspot=CONTACT, salesforce_lead=SF_LEAD),
        fields={"first_name": "Sam", "last_name": "Rivera", "email": "sam@acme.io"},
    )
    hubspot = Cause(System.HUBSPOT, "contact", CONTACT, MONDAY)
    rep = Cause(System.SALESFORCE, "Lead", SF_LEAD, MONDAY + timedelta(days=2))
    with Store.open(url) as store, store.transaction() as uow:
        uow.leads.save(sam)
        uow.links.link(sam.id, System.HUBSPOT, "contact", CONTACT)
        uow.links.link(sam.id, System.SALESFORCE, "Lead", SF_LEAD)
        uow.journal.append(
            sam.id,
            [Transition("lead", "mql", "score_and_fit", "score_and_fit", hubspot, MONDAY)],
            [_stage_write("mql", "NEW")],
        )
        later = MONDAY + timedelta(days=2)
        uow.journal.append(
            sam.id, [Transition("mql", "sql", "sales_accepted", "sales_accepted", rep, later)]
        )
        uow.journal.append(
            sam.id,
            [Transition("sql", "disqualified", "sales_disqualified", "no_fit", rep, later)],
            [_stage_write("disqualified", "UNQUALIFIED")],
        )
    return url


@pytest.fixture
def linked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped slack.yaml's links, filled in from the environment as in production."""
    monkeypatch.setenv("HUBSPOT_PORTAL_ID", "2424242")
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.delenv("TZ", raising=False)


def explain(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["explain", *argv, "--mappings", str(ROOT / "mappings")])
    return code, out.getvalue()


def test_the_story_in_plain_words_in_a_chosen_time_zone_with_links(
    database: str, linked: None
) -> None:
    code, told = explain("501", "--database", database, "--tz", "Europe/Berlin")
    assert code == 0, told
    lines = told.splitlines()
    assert lines[0] == "Sam Rivera <sam@acme.io>: Disqualified since 2026-03-04 10:00 CET"
    assert "  Owner: 005OWNER; the stage is owned by marketing" in lines
    assert "  HubSpot contact 501: https://app.hubspot.com/contacts/2424242/record/0-1/501" in lines
    assert (
        "  Salesforce Lead 00Q5g00000AbCdE: "
        "https://acme.my.salesforce.com/lightning/r/Lead/00Q5g00000AbCdE/view"
    ) in lines
    assert "  Times in Europe/Berlin (from --tz); lead id sam1" in lines
    assert (
        "2026-03-04 10:00 CET  SQL → Disqualified: Status became Disqualified, reason No fit, "
        "by sales in Salesforce (Salesforce Lead 00Q5g00000AbCdE)"
    ) in lines
    assert (
        "2026-03-02 10:00 CET  Lead → MQL: leadbridge's score (scoring.yaml) passed 60 with a "
        "good fit (grade A or B), in HubSpot (HubSpot contact 501)"
    ) in lines
    # No rule ids, no reason codes, no UTC.
    for code_word in ("sales_disqualified", "no_fit", "score_and_fit", "UTC"):
        assert code_word not in told, code_word
    assert "Note:" not in told


def test_each_move_shows_the_writes_it_caused_not_those_of_a_later_move(
    database: str, linked: None
) -> None:
    _, told = explain("sam1", "--database", database)
    lines = told.splitlines()
    mql = lines.index(next(line for line in lines if "Lead → MQL" in line))
    assert lines[mql + 1] == (
        "    wrote HubSpot contact 501: leadbridge stage = mql, Lead status = NEW"
    )
    accepted = lines.index(next(line for line in lines if "MQL → SQL" in line))
    assert lines[accepted + 1] == (
        "    wrote nothing of its own: the next move, decided with it, wrote for both"
    )
    assert lines[accepted + 3] == (
        "    wrote HubSpot contact 501: leadbridge stage = disqualified, Lead status = UNQUALIFIED"
    )


def test_json_has_the_same_story_for_programs(database: str, linked: None) -> None:
    _, told = explain("00Q5g00000AbCdE", "--database", database, "--format", "json", "--tz", "UTC")
    story: dict[str, Any] = json.loads(told)
    assert (story["lead_id"], story["stage"], story["stage_label"]) == (
        "sam1",
        "disqualified",
        "Disqualified",
    )
    assert story["time_zone"] == "UTC" and story["since"] == "2026-03-04T09:00:00+00:00"
    assert [(m["from_label"], m["to_label"], m["rule"]) for m in story["moves"]] == [
        ("Lead", "MQL", "score_and_fit"),
        ("MQL", "SQL", "sales_accepted"),
        ("SQL", "Disqualified", "sales_disqualified"),
    ]
    last = story["moves"][-1]
    assert (last["reason"], last["reason_label"], last["handback"]) == ("no_fit", "No fit", True)
    assert last["writes"][0]["fields"][1] == {
        "field": "Lead status",
        "api_name": "hs_lead_status",
        "value": "UNQUALIFIED",
    }
    assert story["moves"][1]["written_with_next"] is True
    assert [r["url"] for r in story["records"]] == [
        "https://app.hubspot.com/contacts/2424242/record/0-1/501",
        "https://acme.my.salesforce.com/lightning/r/Lead/00Q5g00000AbCdE/view",
    ]


def test_the_next_step_of_the_stage_the_lead_is_in(
    tmp_path: Path, linked: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    with Store.open(url) as store, store.transaction() as uow:
        uow.leads.save(Lead(id="lee1", stage="mql", stage_entered_at=MONDAY))
    monkeypatch.setenv("TZ", "America/New_York")
    _, told = explain("lee1", "--database", url)
    assert "  Next: accept or reject in Salesforce within 2 days" in told.splitlines()
    assert "lead lee1: MQL since 2026-03-02 04:00 EST" in told
    assert "Times in America/New_York (from $TZ)" in told
    assert "No moves yet" in told and "No records linked yet" in told


def test_unknown_links_and_time_zone_are_said_plainly(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUBSPOT_PORTAL_ID", raising=False)
    monkeypatch.delenv("SALESFORCE_INSTANCE_URL", raising=False)
    monkeypatch.setenv("TZ", "Mars/Olympus_Mons")
    _, told = explain("sam1", "--database", database)
    assert "  HubSpot contact 501" in told.splitlines()
    assert "https://" not in told
    assert "Note: no HubSpot link: the portal id is unknown" in told
    assert "Note: no Salesforce link: the org's address is unknown" in told
    assert "Note: $TZ='Mars/Olympus_Mons' is not a time zone this machine knows" in told
    assert "Times in UTC (the default)" in told


def test_a_wrong_time_zone_option_is_refused_with_an_example(database: str) -> None:
    err = io.StringIO()
    with redirect_stderr(err), pytest.raises(SystemExit):
        main(["explain", "sam1", "--database", database, "--tz", "Berlin"])
    assert "unknown time zone 'Berlin', expected an IANA name such as Europe/Berlin" in (
        err.getvalue()
    )


def test_without_mappings_the_story_is_told_in_codes_made_readable(
    database: str, tmp_path: Path, linked: None
) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        main(["explain", "sam1", "--database", database, "--mappings", str(tmp_path)])
    told = out.getvalue()
    assert "SQL → Disqualified: rule Sales disqualified, by sales in Salesforce" in told
    assert "Note: stages, reasons and rules show as codes" in told
