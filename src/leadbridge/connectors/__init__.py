"""Connectors: HubSpot and Salesforce behind one protocol (base.Connector)."""
