"""The simulated Slack, driven by slack_sdk's own WebhookClient."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.webhook import WebhookClient

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.faults import Fault
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.slack import SlackSim


@pytest.fixture
def slack() -> Iterator[tuple[SlackSim, RunningServer]]:
    sim = SlackSim(SimClock(), seed=5)
    server = serve(sim.app, "slack")
    yield sim, server
    server.stop()


def _hook(sim: SlackSim, server: RunningServer, channel: str = "#revops-alerts") -> WebhookClient:
    return WebhookClient(server.url + sim.add_webhook(channel), timeout=5)


def test_a_message_with_blocks_is_recorded(slack: tuple[SlackSim, RunningServer]) -> None:
    sim, server = slack
    blocks = [
        HeaderBlock(text="Stuck MQL: Sam Rivera"),
        SectionBlock(text="*Acme Logistics* has waited 2d 3h (SLA 2d)"),
        DividerBlock(),
    ]
    answer = _hook(sim, server).send(text="Stuck MQL: Sam Rivera", blocks=blocks)
    assert (answer.status_code, answer.body) == (200, "ok")
    [message] = sim.messages_in("#revops-alerts")
    assert message.text == "Stuck MQL: Sam Rivera"
    assert message.blocks is not None
    assert [b["type"] for b in message.blocks] == ["header", "section", "divider"]
    listed = requests.get(server.url + "/_sandbox/messages", timeout=5).json()
    assert listed[0]["blocks"][1]["text"]["text"].startswith("*Acme Logistics*")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"username": "leadbridge"}, 400, "no_text"),
        ({"text": ""}, 400, "no_text"),
        ({"text": 42}, 400, "invalid_payload"),
        ({"blocks": [{"type": "divider"}] * 51}, 400, "invalid_blocks"),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
            400,
            "invalid_blocks",
        ),
        ({"blocks": [{"type": "section"}]}, 400, "invalid_blocks"),
        ({"blocks": [{"type": "marquee"}]}, 400, "invalid_blocks"),
        ({"blocks": [{"type": ["section"]}]}, 400, "invalid_blocks"),
        ({"blocks": [{"type": "context", "elements": [1]}]}, 400, "invalid_blocks"),
        (
            {"blocks": [{"type": "section", "text": {"type": {}, "text": "x"}}]},
            400,
            "invalid_blocks",
        ),
        ({"text": "x", "blocks": "divider"}, 400, "invalid_blocks"),
    ],
)
def test_bad_payloads_get_slacks_codes(
    slack: tuple[SlackSim, RunningServer], payload: dict[str, object], status: int, code: str
) -> None:
    sim, server = slack
    answer = _hook(sim, server).send_dict(payload)
    assert (answer.status_code, answer.body) == (status, code)  # the bare code, as Slack's
    assert sim.messages == []


def test_fifty_blocks_and_3000_characters_are_the_limits_not_one_less(
    slack: tuple[SlackSim, RunningServer],
) -> None:
    sim, server = slack
    sim.per_second = None
    hook = _hook(sim, server)
    assert hook.send(text="x", blocks=[{"type": "divider"}] * 50).status_code == 200
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3000}}
    assert hook.send(text="y", blocks=[section]).status_code == 200


def test_not_json_is_invalid_payload(slack: tuple[SlackSim, RunningServer]) -> None:
    sim, server = slack
    url = server.url + sim.add_webhook("#x")
    answer = requests.post(
        url, data=b"{nope", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert (answer.status_code, answer.text) == (400, "invalid_payload")


def test_unknown_revoked_and_archived_hooks(slack: tuple[SlackSim, RunningServer]) -> None:
    sim, server = slack
    unknown = WebhookClient(server.url + "/services/T0SANDBOX/BNOPE/nope", timeout=5).send(text="a")
    assert (unknown.status_code, unknown.body) == (404, "no_service")
    path = sim.add_webhook("#old")
    sim.revoke(path)
    revoked = WebhookClient(server.url + path, timeout=5).send(text="a")
    assert (revoked.status_code, revoked.body) == (403, "invalid_token")
    archived_hook = _hook(sim, server, "#gone")
    sim.archive_channel("#gone")
    archived = archived_hook.send(text="a")
    assert (archived.status_code, archived.body) == (410, "channel_is_archived")
    deleted_hook = _hook(sim, server, "#deleted")
    sim.delete_channel("#deleted")
    deleted = deleted_hook.send(text="a")
    assert (deleted.status_code, deleted.body) == (404, "channel_not_found")
    restricted_hook = _hook(sim, server, "#announcements")
    sim.restrict_channel("#announcements")
    restricted = restricted_hook.send(text="a")
    assert (restricted.status_code, restricted.body) == (403, "action_prohibited")
    assert sim.messages == []


def test_why_blocks_were_refused_travels_beside_the_bare_code(
    slack: tuple[SlackSim, RunningServer],
) -> None:
    sim, server = slack
    answer = _hook(sim, server).send(text="x", blocks=[{"type": "divider"}] * 51)
    assert answer.body == "invalid_blocks"
    assert "no more than 50 items" in answer.headers["x-sandbox-detail"]


def test_more_than_one_message_a_second_is_refused_with_retry_after(
    slack: tuple[SlackSim, RunningServer],
) -> None:
    sim, server = slack
    hook = _hook(sim, server)
    assert hook.send(text="first").status_code == 200
    second = hook.send(text="second")
    assert second.status_code == 429
    assert second.body == "rate_limited"
    assert int(second.headers["Retry-After"][0]) >= 1
    assert [m.text for m in sim.messages] == ["first"]


def test_the_retry_handler_honours_retry_after_and_loses_nothing(
    slack: tuple[SlackSim, RunningServer],
) -> None:
    sim, server = slack
    hook = _hook(sim, server)
    hook.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    started = time.monotonic()
    answers = [hook.send(text=f"alert {n}") for n in range(3)]
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [m.text for m in sim.messages] == ["alert 0", "alert 1", "alert 2"]
    assert elapsed >= 1.5, "three messages at 1/s cannot all land in under two seconds"


def test_injected_server_errors_reach_the_client(slack: tuple[SlackSim, RunningServer]) -> None:
    sim, server = slack
    hook = _hook(sim, server)
    sim.faults.inject_next(Fault.SERVER_ERROR, status=503)
    assert hook.send(text="a").status_code == 503
    assert sim.messages == []
