"""Several objects' reads in one Composite request, which the org counts as one API call.

A poll asks each object for its changes since its cursor and, every deletions_every,
for its deletions: a query and a sobjects/X/deleted call per object. The Composite
resource (POST /services/data/vXX.X/composite) carries up to 25 subrequests, at most 5
of them queries, and answers `{"compositeResponse": [{body, httpHeaders,
httpStatusCode, referenceId}]}` in one response; the whole counts as a single call
against the daily allocation. Only the first page of each query goes this way: the
pages behind nextRecordsUrl are asked as usual.

Every subrequest only reads, so allOrNone is false (one object's refusal does not hold
the others back) and sending the request again after a lost answer is harmless. A
subrequest that failed is left out of what `fetch` returns: its window asks for it
directly, through the retry policy, and reports its error as a direct call would.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from leadbridge.connectors.salesforce.client import SalesforceClient
from leadbridge.connectors.salesforce.reads import Fetched, Plan, deleted_params

_log = logging.getLogger(__name__)

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5  # query, queryAll and query-more subrequests, together


def subrequests(plans: Sequence[Plan]) -> int:
    """How many subrequests these plans make: a query each, and their deletions when due."""
    return sum(1 + (plan.deletions is not None) for plan in plans)


def fetch(client: SalesforceClient, plans: Sequence[Plan], api_version: str) -> dict[str, Fetched]:
    """sobject -> what one Composite request answered for its plan. Plans past what one
    request may carry are left out (they ask for themselves)."""
    chosen: list[Plan] = []
    for plan in plans:
        if len(chosen) < MAX_QUERIES and subrequests([*chosen, plan]) <= MAX_SUBREQUESTS:
            chosen.append(plan)
    if not chosen:
        return {}
    base = f"/services/data/v{api_version}/"
    requests = []
    for plan in chosen:
        requests.append(_get(base + "query/", {"q": plan.query}, _changes(plan)))
        if plan.deletions is not None:
            path = f"{base}sobjects/{plan.sobject}/deleted/"
            requests.append(_get(path, deleted_params(plan), _deletions(plan)))
    body = {"allOrNone": False, "compositeRequest": requests}
    answer = client.call(lambda sf: sf.restful("composite", method="POST", json=body)) or {}
    results = {
        str(item.get("referenceId")): item
        for item in answer.get("compositeResponse") or ()
        if isinstance(item, dict)
    }
    return {
        plan.sobject: Fetched(
            plan,
            _body(results.get(_changes(plan))),
            _body(results.get(_deletions(plan))) if plan.deletions is not None else None,
        )
        for plan in chosen
    }


def _get(url: str, params: dict[str, str], reference: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"{url}?{urlencode(params)}", "referenceId": reference}


def _changes(plan: Plan) -> str:
    # Reference ids may hold letters, digits and underscores only; object names are such.
    return f"{plan.sobject}_changes"


def _deletions(plan: Plan) -> str:
    return f"{plan.sobject}_deletions"


def _body(result: Any) -> dict[str, Any] | None:
    if not isinstance(result, dict):
        return None
    body = result.get("body")
    if result.get("httpStatusCode") != 200 or not isinstance(body, dict):
        _log.info(
            "salesforce composite: %s answered %s %s; asking it directly",
            result.get("referenceId"),
            result.get("httpStatusCode"),
            body,
        )
        return None
    return body
