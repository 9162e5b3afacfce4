"""API headroom and the Slack webhook (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from leadbridge.connectors.budget import BudgetState
from leadbridge.preflight.checks import Check, failed, passed

# Below this share of leadbridge's daily allowance left, a day's polling may not fit.
LOW = 0.2
_WEBHOOK_PATH = re.compile(r"^/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9_-]+$")
SLACK = "Slack"


USAGE = "API usage"


def budget_check(group: str, file: str, state: BudgetState | None) -> Check:
    name = USAGE
    if state is None or state.daily_used == 0:
        return passed(group, name, "no answer reported usage: not known yet")
    allowed = state.daily_allowed
    if allowed is None:
        return passed(group, name, f"{state.daily_used} calls used today; no limit reported")
    fix = (
        "wait for the daily reset, or raise leadbridge's own cap (budget.max_own_calls_per_day) "
        f"in {file}"
    )
    left = allowed - state.daily_used
    detail = f"{state.daily_used} of the {allowed} daily calls allowed to leadbridge used"
    if state.paused or left <= 0:
        return failed(group, name, f"{detail}: spent, leadbridge would pause", fix)
    if left < allowed * LOW:
        return failed(group, name, f"{detail}: only {left} left today", fix)
    window = ""
    if state.window_limit is not None:
        window = f"; {state.window_used} of {state.window_limit} in the 10-second window"
    return passed(group, name, f"{detail} ({left} left){window}")


@dataclass(frozen=True)
class SlackFacts:
    """What loading connectors/slack.yaml gave: nothing is ever sent."""

    file: str | None  # the file's path; None: there is none
    problems: tuple[str, ...] = ()  # why it did not load
    webhooks: Sequence[tuple[str, str]] = ()  # (route, URL) as configured


def slack_checks(facts: SlackFacts) -> list[Check]:
    """Slack alerts are optional: without slack.yaml or a webhook URL they are off, which
    is said, not failed; a file that does not load, or a URL of the wrong shape, fails."""
    if facts.file is None:
        detail = "alerts off: no slack.yaml beside the connection files"
        return [passed(SLACK, "slack.yaml", detail)]
    if facts.problems:
        detail = "does not load: " + "; ".join(facts.problems)
        fix = f"correct the lines named in {facts.file}"
        return [failed(SLACK, "slack.yaml", detail, fix)]
    checks = [passed(SLACK, "slack.yaml", f"{facts.file} loads")]
    if not facts.webhooks:
        detail = "alerts off: SLACK_WEBHOOK_URL is empty (set it to send SLA alerts)"
        checks.append(passed(SLACK, "webhook", detail))
    checks += [_webhook(route, url) for route, url in facts.webhooks]
    return checks


def _webhook(route: str, url: str) -> Check:
    name = f"{route} webhook"
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}/services/…"  # the rest of the URL is the secret
    if not _WEBHOOK_PATH.match(parts.path) or parts.scheme not in ("http", "https"):
        fix = (
            "use the incoming webhook's URL exactly as Slack shows it: "
            "https://hooks.slack.com/services/T…/B…/…"
        )
        return failed(SLACK, name, f"{shown} is not an incoming webhook's URL", fix)
    if parts.scheme == "https" and parts.netloc == "hooks.slack.com":
        return passed(SLACK, name, f"{shown}: shape checked; no message was sent")
    detail = f"{shown}: not hooks.slack.com (a proxy or the sandbox); shape checked, none sent"
    return passed(SLACK, name, detail)
