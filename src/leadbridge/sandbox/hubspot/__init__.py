"""The simulated HubSpot: CRM v3 contacts over HTTPS, as `hubspot-api-client` 12.x expects them."""

from leadbridge.sandbox.hubspot.sim import HubSpotSim

__all__ = ["HubSpotSim"]
