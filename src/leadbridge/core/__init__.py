"""The pure core: mapping (fields between the systems and the lead), engine (the handoff
rules), planner (desired values minus known values = writes) and identity (which records
are one person). No I/O, no clock, no globals: state and time come in as arguments."""

from leadbridge.core.engine import decide, new_lead
from leadbridge.core.planner import is_echo, plan

__all__ = ["decide", "is_echo", "new_lead", "plan"]
