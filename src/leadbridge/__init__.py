"""leadbridge: keeps a B2B lead's funnel stage true in HubSpot and Salesforce."""

# The packages are used through their own imports (leadbridge.cli, leadbridge.sync, ...);
# the top-level package itself offers only its version.
__all__ = ["__version__"]

__version__ = "0.1.0"
