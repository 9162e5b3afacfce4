"""Fixtures the HubSpot connector tests share: a served portal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.hubspot.support import Portal, running_portal


@pytest.fixture
def portal(tls_files: TLSFiles) -> Iterator[Portal]:
    with running_portal(tls_files) as served:
        yield served
