"""HubSpot: private-app token auth and pacing (transport), contact search and batch
reads (reads), batch writes (writes), hubspot.yaml (settings)."""

from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.settings import HubSpotSettings, load_hubspot_settings

__all__ = ["HubSpotConnector", "HubSpotSettings", "load_hubspot_settings"]
