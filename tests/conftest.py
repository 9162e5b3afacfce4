"""Fixtures every test may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.sandbox.tls import TLSFiles, make_test_ca


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """One test CA for the session; its server certificate covers 127.0.0.1."""
    return make_test_ca(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture(autouse=True)
def _trust_sandbox_ca(tls_files: TLSFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own
    # `verify` (psf/requests#3829), and this machine sets both; clients built on
    # requests (simple-salesforce) would then reject the sandbox's certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca_bundle))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tls_files.ca_bundle))
