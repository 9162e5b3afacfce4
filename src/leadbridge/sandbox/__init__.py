"""Simulated HubSpot, Salesforce and Slack, over real HTTP(S) on loopback.

The sandbox is product, not scaffolding: the demo runs on it and every claim
leadbridge makes is proven against it with the unmodified official clients.
It imports nothing from the rest of leadbridge.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadbridge.sandbox.clock import SimClock
    from leadbridge.sandbox.story import Story
    from leadbridge.sandbox.tls import TLSFiles
    from leadbridge.sandbox.world import Sandbox

__all__ = ["Sandbox", "SimClock", "Story", "TLSFiles"]

# Each name is imported from its module on first use, not here: importing the light
# leadbridge.sandbox.clock must not load sandbox.world (every simulator, starlette, uvicorn)
# nor sandbox.tls (trustme and its cryptography).
_HOMES = {
    "Sandbox": "leadbridge.sandbox.world",
    "SimClock": "leadbridge.sandbox.clock",
    "Story": "leadbridge.sandbox.story",
    "TLSFiles": "leadbridge.sandbox.tls",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
