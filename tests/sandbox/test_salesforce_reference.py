"""Every recorded Salesforce body is matched by some test against the simulator's answer."""

from __future__ import annotations

import re
from pathlib import Path

from tests.sandbox.salesforce_fixtures import REFERENCE


def test_every_recorded_body_is_compared_somewhere() -> None:
    recorded = {path.name for path in REFERENCE.glob("*.json")}
    assert len(recorded) >= 13, f"the recorded bodies are missing from {REFERENCE}"
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_salesforce_*.py"))
    compared = set(re.findall(r'reference\("([^"]+\.json)"\)', sources))
    assert recorded - compared == set()
