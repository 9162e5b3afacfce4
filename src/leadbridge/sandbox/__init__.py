"""Simulated HubSpot, Salesforce and Slack, over real HTTP(S) on loopback.

The sandbox is product, not scaffolding: the demo runs on it and every claim
leadbridge makes is proven against it with the unmodified official clients.
It imports nothing from the rest of leadbridge.
"""
