"""Slack hears of leads stuck past their stage's SLA, and of health changes, once each.

`due` decides which alerts are due (pure), `elapsed` measures time in stage (business
hours), `blocks` words the messages, `slack` delivers them, `sweep` ties it to the store.
"""

from leadbridge.alerts.slack import Slack, load_slack
from leadbridge.alerts.sweep import SweepResult, health, sweep

__all__ = ["Slack", "SweepResult", "health", "load_slack", "sweep"]
