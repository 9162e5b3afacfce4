"""The whole simulated world: HubSpot, Salesforce and Slack on one clock, served on loopback."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.hubspot import HubSpotSim
from leadbridge.sandbox.hubspot.apps import CONTACTS_READ, CONTACTS_WRITE
from leadbridge.sandbox.hubspot.limits import tier_limits
from leadbridge.sandbox.salesforce import SalesforceSim
from leadbridge.sandbox.salesforce.orgschema import UNPREPARED, Unprepared
from leadbridge.sandbox.seed import Population, populate
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.slack import SlackSim
from leadbridge.sandbox.tls import TLSFiles, make_test_ca

ALERT_CHANNEL = "#revops-alerts"
PROFESSIONAL = tier_limits("professional")
# `prepared=False`: a private app made with the contact scopes only (no property schemas).
UNPREPARED_SCOPES = (CONTACTS_READ, CONTACTS_WRITE)
# A prepared portal has what `leadbridge setup --apply` makes for the shipped mappings:
# leadbridge's own contact properties (the daemon never creates schema itself).
PREPARED_PROPERTIES = {
    "leadbridge_stage": "leadbridge stage",
    "leadbridge_handback_reason": "leadbridge hand-back reason",
    "leadbridge_score": "leadbridge score",
    "leadbridge_grade": "leadbridge grade",
    "leadbridge_score_reasons": "leadbridge score why",
}


@dataclass(frozen=True)
class Credentials:
    """What a real deployment would keep in its secret store, drawn from the seed."""

    hubspot_token: str
    hubspot_app_secret: str
    salesforce_client_id: str
    salesforce_client_secret: str
    salesforce_username: str
    salesforce_password: str
    salesforce_org_id: str

    @classmethod
    def draw(cls, rng: random.Random) -> Credentials:
        def hexes(n: int) -> str:
            return "".join(rng.choice("0123456789abcdef") for _ in range(n))

        return cls(
            hubspot_token=f"pat-na1-{hexes(8)}-{hexes(4)}-{hexes(4)}-{hexes(4)}-{hexes(12)}",
            hubspot_app_secret=f"{hexes(8)}-{hexes(4)}-{hexes(4)}-{hexes(4)}-{hexes(12)}",
            salesforce_client_id=f"3MVG9{hexes(40)}",
            salesforce_client_secret=hexes(64).upper(),
            salesforce_username="integration@leadbridge-sandbox.example",
            salesforce_password=hexes(16),
            salesforce_org_id="00D5g000004XyzAEAS",
        )


class Sandbox:
    """Builds the three simulators; `start()` serves them and returns the connection info."""

    def __init__(
        self,
        *,
        seed: int = 0,
        limits: bool = True,
        search_lag_seconds: float = 0.0,
        tls_dir: Path | None = None,
        clock: SimClock | None = None,
        prepared: bool = True,
        hubspot_scopes: Iterable[str] | None = None,
        hubspot_missing_options: Mapping[str, Iterable[str]] | None = None,
        missing_fields: Iterable[str] | None = None,
        missing_statuses: Iterable[str] | None = None,
        read_only_fields: Iterable[str] | None = None,
        plain_external_ids: Iterable[str] | None = None,
        hubspot_daily_limit: int | None = None,
        salesforce_daily_limit: int | None = None,
    ) -> None:
        """The default is the prepared world. `prepared=False` plays a customer before setup:
        the HubSpot private app has the contact scopes only, the portal lacks leadbridge's
        own properties (PREPARED_PROPERTIES), and the org lacks leadbridge's
        custom fields (Lead.Leadbridge_Id__c, Lead.HubSpot_Contact_Id__c,
        Lead.Recycle_Reason__c, Opportunity.Loss_Reason__c) and the Lead Status values
        Nurture, Recycled and Disqualified. Each finer option, when given, replaces what
        `prepared` implies for it:
        - `hubspot_scopes`: the private app's scopes (see sandbox.hubspot.apps.SCOPES);
        - `hubspot_missing_options`: {"hs_lead_status": ["BAD_TIMING"]}, options removed;
        - `missing_fields`: custom fields the org lacks, "Lead.Loss_Reason__c" or a bare name;
        - `missing_statuses`: Lead Status values the org lacks;
        - `read_only_fields`: fields the run-as user may read but not write (field security);
        - `plain_external_ids`: external id fields held as plain text (not External ID,
          not unique), e.g. ["Lead.Leadbridge_Id__c"].
        Fix the org afterwards with `sandbox.salesforce.deploy(...)` or POST
        /_sandbox/setup/deploy, and the app's scopes with POST /_sandbox/private-apps.
        `hubspot_daily_limit` and `salesforce_daily_limit`, when given, replace the portal's
        daily request limit and the org's daily API allocation (limits on or off): a small
        one runs out within a sync, and advancing the clock to the next UTC day renews it."""
        rng = random.Random(seed)
        self.seed = seed
        self.credentials = creds = Credentials.draw(rng)
        self.clock = clock or SimClock()
        self._tls_dir = tls_dir
        self.tls: TLSFiles | None = None
        base = Unprepared() if prepared else UNPREPARED
        unprepared = Unprepared(
            missing_fields=_chosen(missing_fields, base.missing_fields),
            missing_statuses=_chosen(missing_statuses, base.missing_statuses),
            read_only_fields=_chosen(read_only_fields, base.read_only_fields),
            plain_external_ids=_chosen(plain_external_ids, base.plain_external_ids),
        )
        if hubspot_scopes is None and not prepared:
            hubspot_scopes = UNPREPARED_SCOPES
        self.hubspot = HubSpotSim(
            self.clock,
            token=creds.hubspot_token,
            app_secret=creds.hubspot_app_secret,
            seed=seed,
            # A Professional portal's limits (190 per ten seconds, 650,000 a day), or none.
            ten_second_limit=PROFESSIONAL["ten_second_limit"] if limits else None,
            daily_limit=hubspot_daily_limit or (PROFESSIONAL["daily_limit"] if limits else None),
            search_per_second=5 if limits else None,
            search_lag_seconds=search_lag_seconds,
            scopes=hubspot_scopes,
            missing_options=hubspot_missing_options,
            custom_properties=PREPARED_PROPERTIES if prepared else None,
        )
        self.salesforce = SalesforceSim(
            self.clock,
            client_id=creds.salesforce_client_id,
            client_secret=creds.salesforce_client_secret,
            username=creds.salesforce_username,
            password=creds.salesforce_password,
            org_id=creds.salesforce_org_id,
            seed=seed,
            daily_api_limit=salesforce_daily_limit or (100_000 if limits else None),
            unprepared=unprepared if unprepared != Unprepared() else None,
        )
        self.slack = SlackSim(self.clock, seed=seed, per_second=1 if limits else None)
        self.slack_path = self.slack.add_webhook(ALERT_CHANNEL)
        self._servers: dict[str, RunningServer] = {}

    def populate(self, leads: int) -> Population:
        return populate(self.hubspot, self.salesforce, leads, self.seed)

    def start(self) -> dict[str, Any]:
        self.tls = make_test_ca(self._tls_dir)
        self._servers = {
            "hubspot": serve(self.hubspot.app, "hubspot", self.tls),
            "salesforce": serve(self.salesforce.app, "salesforce", self.tls),
            "slack": serve(self.slack.app, "slack"),
        }
        return self.info()

    def requests(self) -> dict[str, dict[str, Any]]:
        """Each service's count of the requests it served (see `HubSpotSim.requests`)."""
        return {
            "hubspot": self.hubspot.requests(),
            "salesforce": self.salesforce.requests(),
            "slack": self.slack.requests(),
        }

    def url(self, service: str) -> str:
        return self._servers[service].url

    def info(self) -> dict[str, Any]:
        """The one JSON line `leadbridge sandbox` prints: everything a client needs to connect."""
        if self.tls is None:
            raise RuntimeError("the sandbox is not started")
        creds = self.credentials
        return {
            "hubspot": {
                "url": self.url("hubspot"),
                "token": creds.hubspot_token,
                "app_secret": creds.hubspot_app_secret,
            },
            "salesforce": {
                "url": self.url("salesforce"),
                "client_id": creds.salesforce_client_id,
                "client_secret": creds.salesforce_client_secret,
                "username": creds.salesforce_username,
                "password": creds.salesforce_password,
                "org_id": creds.salesforce_org_id,
            },
            "slack": {"webhook_url": self.url("slack") + self.slack_path},
            "ca_bundle": str(self.tls.ca_bundle),
        }

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers = {}
        self.hubspot.close()
        self.salesforce.close()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _chosen(given: Iterable[str] | None, implied: tuple[str, ...]) -> tuple[str, ...]:
    return implied if given is None else tuple(given)
