"""The simulated Slack: incoming webhooks that record what leadbridge would post."""

from leadbridge.sandbox.slack.app import Message, SlackSim

__all__ = ["Message", "SlackSim"]
