"""leadbridge: keeps a B2B lead's funnel stage true in HubSpot and Salesforce."""

__version__ = "0.1.0"
