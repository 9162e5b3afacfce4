"""HTTP control endpoints every simulated service shares: the clock, the faults, the requests.

They live under /_sandbox/, outside auth, limits and faults, so a test or a
RevOps user can steer a running sandbox with curl.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.clock import SimClock, iso_millis
from leadbridge.sandbox.faults import FaultInjector, FaultSpec
from leadbridge.sandbox.http import JSON, read_json
from leadbridge.sandbox.served import RequestCounts


def control_routes(clock: SimClock, faults: FaultInjector, served: RequestCounts) -> list[Route]:
    async def get_clock(request: Request) -> Response:
        return JSON({"now": iso_millis(clock.now())})

    async def advance_clock(request: Request) -> Response:
        """Body {"seconds": N} (or minutes/hours/days); answers the new time."""
        try:
            body = await read_json(request)
            units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
            seconds = sum(float(body.get(name, 0)) * factor for name, factor in units.items())
            moment = clock.advance(seconds)
        except (ValueError, TypeError, AttributeError) as exc:
            return JSON({"error": str(exc)}, status_code=400)
        return JSON({"now": iso_millis(moment)})

    async def get_faults(request: Request) -> Response:
        return JSON({"spec": faults.spec.__dict__, "injected": faults.counts()})

    async def set_faults(request: Request) -> Response:
        """Body: FaultSpec fields, e.g. {"error_rate": 0.1}; {} heals the service."""
        try:
            body = await read_json(request)
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object of fault settings")
            faults.configure(FaultSpec.from_json(body))
        except (ValueError, TypeError) as exc:
            return JSON({"error": str(exc)}, status_code=400)
        return JSON({"spec": faults.spec.__dict__})

    async def get_requests(request: Request) -> Response:
        """{"total": N, "requests": [{"method", "endpoint", "status", "count"}, ...]}."""
        return JSON(served.report())

    async def reset_requests(request: Request) -> Response:
        """Starts the count afresh (a benchmark's next phase); answers the count it ended."""
        report = served.report()
        served.reset()
        return JSON(report)

    return [
        Route("/_sandbox/clock", get_clock, methods=["GET"]),
        Route("/_sandbox/clock/advance", advance_clock, methods=["POST"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["PUT", "POST"]),
        Route("/_sandbox/requests", get_requests, methods=["GET"]),
        Route("/_sandbox/requests", reset_requests, methods=["DELETE"]),
    ]
