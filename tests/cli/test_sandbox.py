"""`leadbridge sandbox`: one JSON line within 5 s, clients connect with it, SIGTERM ends it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce
from slack_sdk.webhook import WebhookClient

from tests.harness import start_sandbox, stop_process

EXPECTED_KEYS = {
    "hubspot": {"url", "token", "app_secret"},
    "salesforce": {"url", "client_id", "client_secret", "username", "password", "org_id"},
    "slack": {"webhook_url"},
}


def test_sandbox_command_serves_all_three_and_stops_on_sigterm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    process, info = start_sandbox(leads=1000, seed=3, limits=True)
    try:
        elapsed = time.monotonic() - started
        assert elapsed < 5.0, f"the JSON line took {elapsed:.1f} s"
        assert {key: set(info[key]) for key in EXPECTED_KEYS} == EXPECTED_KEYS
        assert Path(info["ca_bundle"]).is_file()
        bundle = info["ca_bundle"]
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)  # see tests/conftest.py

        hubspot = HubSpot(
            access_token=info["hubspot"]["token"], host=info["hubspot"]["url"], ssl_ca_cert=bundle
        )
        page = hubspot.crm.contacts.basic_api.get_page(limit=100)
        assert len(page.results) == 100
        assert page.paging.next.after

        token = requests.post(
            info["salesforce"]["url"] + "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": info["salesforce"]["client_id"],
                "client_secret": info["salesforce"]["client_secret"],
            },
            verify=bundle,
            timeout=5,
        ).json()
        assert token["instance_url"] == info["salesforce"]["url"]
        session = requests.Session()
        session.verify = bundle
        sf = Salesforce(
            instance_url=token["instance_url"], session_id=token["access_token"], session=session
        )
        leads = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
        assert 100 < leads < 1000

        slack = WebhookClient(info["slack"]["webhook_url"]).send(text="hello from the test")
        assert (slack.status_code, slack.body) == (200, "ok")

        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        stop_process(process)
