"""Issue 3's figure: both connectors, backfill 100,000 and write 10,000 each.

Runs benchmarks/connectors_hubspot.py and benchmarks/connectors_salesforce.py
one after the other (each starts its own simulated system in another process)
and prints their figures as one JSON object on its last line:

    {"hubspot": {...}, "salesforce": {...}, "targets_met": {...}}

Run: `.venv/bin/python benchmarks/connectors.py` (about two minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def _run(script: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / script)], capture_output=True, text=True, check=True
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    hubspot = _run("connectors_hubspot.py")
    salesforce = _run("connectors_salesforce.py")
    targets = {
        "hubspot_calls_within_1.05x": hubspot["calls_ratio"] <= 1.05,
        "salesforce_calls_within_1.05x": salesforce["api_calls_ratio"] <= 1.05,
        "peak_rss_below_200mb": max(hubspot["peak_rss_mb"], salesforce["peak_rss_mb"]) < 200,
        "hubspot_limited_share_at_least_0.9": hubspot["limited"]["share_of_limit"] >= 0.9,
        "zero_records_failed": hubspot["records_failed"] == 0
        and hubspot["limited"]["records_failed"] == 0
        and salesforce["records_failed"] == 0,
    }
    print(json.dumps({"hubspot": hubspot, "salesforce": salesforce, "targets_met": targets}))


if __name__ == "__main__":
    main()
