"""The calls `sync` prints are the write requests the connectors counted, which are the ones
the simulated services counted serving; the least possible is printed beside, by that name."""

from __future__ import annotations

import re

from tests.sync.conftest import World

WRITTEN = re.compile(
    r"written: hubspot (\d+) \((\d+) calls, least possible (\d+)\), "
    r"salesforce (\d+) \((\d+) calls, least possible (\d+)\)"
)


def test_the_calls_sync_prints_are_the_write_requests_the_services_served(world: World) -> None:
    world.sandbox.populate(120)
    shown = world.sync()
    found = WRITTEN.search(shown)
    assert found is not None, shown
    _, hs_calls, hs_least, _, sf_calls, sf_least = (int(n) for n in found.groups())
    hubspot, salesforce = world.sandbox.hubspot.served, world.sandbox.salesforce.served
    hs_served = sum(
        hubspot.count("POST", f"/crm/v3/objects/contacts/batch/{kind}", 200)
        for kind in ("update", "upsert")
    )
    sf_served = sum(
        n
        for (method, endpoint, status), n in salesforce.counts().items()
        if method == "PATCH" and "/composite/sobjects" in endpoint and status == 200
    )
    assert (hs_calls, sf_calls) == (hs_served, sf_served)
    assert 0 < hs_least <= hs_calls and 0 < sf_least <= sf_calls
    # Nothing to write: nothing sent, and no least to show.
    assert "written: hubspot 0 (0 calls), salesforce 0 (0 calls)" in world.sync()
