"""The Salesforce-only /_sandbox endpoints: act as the sales rep, end sessions, set up and
watch Outbound Messages. Like the shared ones, they sit outside auth, limits and faults.

    POST /_sandbox/rep/leads                     {"LastName", "Company", ...} -> {"id"}
    POST /_sandbox/rep/leads/{id}/status         {"status", "reason"?}
    POST /_sandbox/rep/leads/{id}/convert        {"with_opportunity"?, "amount"?,
                                                  "opportunity_name"?} -> the new ids
    POST /_sandbox/rep/opportunities             {"account_or_contact", "name", "amount"?,
                                                  "stage"?} -> {"id"}
    POST /_sandbox/rep/opportunities/{id}/stage  {"stage"}
    POST /_sandbox/rep/opportunities/{id}/close  {"won", "reason"?}
    POST /_sandbox/sessions/expire
    GET  /_sandbox/outbound                      configured messages and every delivery attempt
    POST /_sandbox/outbound                      {"sobject", "url", "fields"} -> {"action_id"}
    GET  /_sandbox/records/{sobject}             every record, deleted ones included: what a
                                                 test or the crash check compares between runs
    GET  /_sandbox/setup                         what the org still lacks (fields, Lead Status
                                                 values, plain external ids, field access)
    POST /_sandbox/setup/deploy                  {"fields"?: ["Lead.Leadbridge_Id__c", ...],
                                                  "leadStatuses"?: ["Nurture", ...],
                                                  "permissionSet"?: {"name"?, "fields": [...]}}
                                                 what a Metadata API deploy would do; answers
                                                 what is still lacking
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.delivery import Deliverer
from leadbridge.sandbox.http import JSON, read_json
from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.oauth import Sessions
from leadbridge.sandbox.salesforce.outbound import OutboundMessages
from leadbridge.sandbox.salesforce.people import SalesRep
from leadbridge.sandbox.salesforce.state import OrgState

Action = Callable[[Request, dict[str, Any]], Any]


def _endpoint(action: Action) -> Callable[[Request], Awaitable[Response]]:
    """Runs `action(request, body)`; its result is the JSON answer, its errors a 4xx."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await read_json(request) if await request.body() else {}
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            return JSON(action(request, body))
        except SfError as exc:
            return JSON({"error": exc.code, "message": exc.message}, status_code=exc.status)
        except (ValueError, TypeError, KeyError) as exc:
            return JSON({"error": "BAD_REQUEST", "message": str(exc)}, status_code=400)

    return endpoint


def rep_routes(rep: SalesRep) -> list[Route]:
    def create_lead(request: Request, body: dict[str, Any]) -> Any:
        return {"id": rep.create_lead(body)}

    def set_status(request: Request, body: dict[str, Any]) -> Any:
        rep.set_status(request.path_params["id"], body["status"], body.get("reason"))
        return rep.state.get("Lead", request.path_params["id"])

    def convert(request: Request, body: dict[str, Any]) -> Any:
        return rep.convert(
            request.path_params["id"],
            with_opportunity=bool(body.get("with_opportunity", True)),
            amount=body.get("amount"),
            opportunity_name=body.get("opportunity_name"),
        )

    def open_opportunity(request: Request, body: dict[str, Any]) -> Any:
        opportunity = rep.open_opportunity(
            body["account_or_contact"],
            body["name"],
            body.get("amount"),
            body.get("stage", "Prospecting"),
        )
        return {"id": opportunity}

    def set_stage(request: Request, body: dict[str, Any]) -> Any:
        rep.set_stage(request.path_params["id"], body["stage"])
        return rep.state.get("Opportunity", request.path_params["id"])

    def close(request: Request, body: dict[str, Any]) -> Any:
        rep.close_opportunity(request.path_params["id"], bool(body["won"]), body.get("reason"))
        return rep.state.get("Opportunity", request.path_params["id"])

    prefix = "/_sandbox/rep"
    return [
        Route(f"{prefix}/leads", _endpoint(create_lead), methods=["POST"]),
        Route(f"{prefix}/leads/{{id}}/status", _endpoint(set_status), methods=["POST"]),
        Route(f"{prefix}/leads/{{id}}/convert", _endpoint(convert), methods=["POST"]),
        Route(f"{prefix}/opportunities", _endpoint(open_opportunity), methods=["POST"]),
        Route(f"{prefix}/opportunities/{{id}}/stage", _endpoint(set_stage), methods=["POST"]),
        Route(f"{prefix}/opportunities/{{id}}/close", _endpoint(close), methods=["POST"]),
    ]


def org_routes(
    state: OrgState, sessions: Sessions, outbound: OutboundMessages, deliverer: Deliverer
) -> list[Route]:
    def export(request: Request, body: dict[str, Any]) -> Any:
        rows = state.records(request.path_params["sobject"], include_deleted=True)
        return {"records": [dict(row) for row in rows]}

    def expire(request: Request, body: dict[str, Any]) -> Any:
        sessions.expire_all()
        return {"expired": True}

    def list_outbound(request: Request, body: dict[str, Any]) -> Any:
        return {
            "messages": [m.__dict__ for m in outbound.messages],
            "attempts": [
                {"url": a.url, "attempt": a.attempt, "status": a.status}
                for a in list(deliverer.attempts)
            ],
            "pending": deliverer.pending(),
            "given_up": deliverer.given_up,
        }

    def add_outbound(request: Request, body: dict[str, Any]) -> Any:
        message = outbound.add(body["sobject"], body["url"], list(body.get("fields", [])))
        return {"action_id": message.action_id, "fields": list(message.fields)}

    return [
        Route("/_sandbox/sessions/expire", _endpoint(expire), methods=["POST"]),
        Route("/_sandbox/outbound", _endpoint(list_outbound), methods=["GET"]),
        Route("/_sandbox/outbound", _endpoint(add_outbound), methods=["POST"]),
        Route("/_sandbox/records/{sobject}", _endpoint(export), methods=["GET"]),
    ]


def setup_routes(state: OrgState) -> list[Route]:
    async def status(request: Request) -> Response:
        return JSON(state.schema.status())

    def deploy(request: Request, body: dict[str, Any]) -> Any:
        permission_set = body.get("permissionSet") or {}
        if isinstance(permission_set, list):
            permission_set = {"fields": permission_set}
        if not isinstance(permission_set, dict):
            raise ValueError("permissionSet must be an object with a fields list")
        return state.deploy(
            fields=_names(body.get("fields"), "fields"),
            lead_statuses=_names(body.get("leadStatuses"), "leadStatuses"),
            permission_set=_names(permission_set.get("fields"), "permissionSet.fields"),
        )

    return [
        Route("/_sandbox/setup", status, methods=["GET"]),
        Route("/_sandbox/setup/deploy", _endpoint(deploy), methods=["POST"]),
    ]


def _names(raw: Any, what: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ValueError(f"{what} must be a list of names")
    return raw
