"""Issue 3's figure: both connectors, backfill 100,000 and write 10,000 each.

Runs benchmarks/connectors_hubspot.py and benchmarks/connectors_salesforce.py
one after the other (each starts its own simulated system in another process)
and prints their figures as one JSON object on its last line:

    {"hubspot": {...}, "salesforce": {...}, "targets_met": {...}}

The targets are issue 3's "Done when", stated once in each part's TARGETS (calls
<= 1.05x the minimum, peak RSS < 200 MB, zero records failed; HubSpot's limited
run sustains at least 0.9 of its rate limit). Each part computes its `targets_met`
from its own run; this one gathers them under the names it always printed.

Run: `.venv/bin/python benchmarks/connectors.py [--records N] [--updates N]
[--limited-contacts N]` (about two minutes at the defaults, the parts' own).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def _run(script: str, *argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / script), *argv], capture_output=True, text=True, check=True
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, help="contacts and leads backfilled")
    parser.add_argument("--updates", type=int, help="records updated in each system")
    parser.add_argument("--limited-contacts", type=int, help="HubSpot's run with limits on")
    args = parser.parse_args()
    hubspot = _run(
        "connectors_hubspot.py",
        *_given(
            contacts=args.records, updates=args.updates, limited_contacts=args.limited_contacts
        ),
    )
    salesforce = _run("connectors_salesforce.py", *_given(leads=args.records, updates=args.updates))
    hub, sf = hubspot["targets_met"], salesforce["targets_met"]
    targets = {
        "hubspot_calls_within_1.05x": hub["calls_within_1.05x"],
        "salesforce_calls_within_1.05x": sf["api_calls_within_1.05x"],
        "peak_rss_below_200mb": hub["peak_rss_below_200mb"] and sf["peak_rss_below_200mb"],
        "hubspot_limited_share_at_least_0.9": hub["limited_share_at_least_0.9"],
        "zero_records_failed": hub["zero_records_failed"] and sf["zero_records_failed"],
    }
    print(json.dumps({"hubspot": hubspot, "salesforce": salesforce, "targets_met": targets}))


def _given(**options: int | None) -> list[str]:
    """Command-line options for the values given; the part's own defaults for the rest."""
    argv: list[str] = []
    for name, value in options.items():
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


if __name__ == "__main__":
    main()
