"""A throwaway certificate authority, so the simulators speak HTTPS that clients can verify."""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TLSFiles:
    ca_bundle: Path  # what a client's `verify=` points at
    cert_chain: Path
    private_key: Path


def make_test_ca(directory: Path | None = None) -> TLSFiles:
    """Writes a new CA and a server certificate for 127.0.0.1 and localhost into `directory`."""
    where = directory or Path(tempfile.mkdtemp(prefix="leadbridge-sandbox-tls-"))
    where.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="leadbridge sandbox")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    files = TLSFiles(where / "ca.pem", where / "server-chain.pem", where / "server-key.pem")
    ca.cert_pem.write_to_path(str(files.ca_bundle))
    cert.private_key_pem.write_to_path(str(files.private_key))
    with files.cert_chain.open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    return files


def server_context(files: TLSFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(files.cert_chain), str(files.private_key))
    return context
