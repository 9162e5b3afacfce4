"""Fuzzing POST /webhooks/salesforce in-process.

Whatever arrives, the answer is never 500, no exception escapes the app, nothing but a
stored message is acked, and a hint is stored only from an envelope whose OrganizationId
(read by a regex, not the receiver's parser) is the configured org's, and that has no DTD.
Generated envelopes carry entity tricks half the time; a real envelope gets one byte flipped.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import strategies as st

from leadbridge.sandbox.salesforce.ids import checksum
from tests.webhooks.asgi import Answer
from tests.webhooks.fuzzing import PLAN, RUN, run
from tests.webhooks.support import LEAD_A, ORG_ID, Served, envelope, hooks, serve

pytestmark = pytest.mark.slow  # with the HubSpot fuzz, about 30 s of CPU

SALESFORCE_ANSWERS = {200, 400, 403, 413}


@pytest.fixture(scope="module")
def strict() -> Served:
    return serve(salesforce=hooks())


ORG_FIELD = re.compile(rb"<OrganizationId>\s*([^<]*?)\s*</OrganizationId>")


def _salesforce_ok(served: Served, answer: Answer, body: bytes) -> None:
    assert answer.status in SALESFORCE_ANSWERS, (answer.status, answer.text)
    if served.inbox.hints:
        assert answer.status == 200 and b"<Ack>true</Ack>" in answer.body
        orgs = ORG_FIELD.findall(body)
        assert len(orgs) == 1 and orgs[0][:15] == ORG_ID[:15].encode(), "a hint from another org"
        assert b"<!DOCTYPE" not in body
    else:
        assert b"<Ack>true</Ack>" not in answer.body


def test_random_bytes_never_get_an_ack(strict: Served) -> None:
    def example(body: bytes) -> None:
        strict.inbox.clear()
        _salesforce_ok(strict, strict.salesforce(body), body)
        assert not strict.inbox.hints

    xmlish = st.lists(
        st.sampled_from(
            [
                b"<",
                b">",
                b"/",
                b"&",
                b";",
                b"<?xml ?>",
                b"<!DOCTYPE",
                b"<!ENTITY",
                b"<a>",
                b"</a>",
                b"x",
                b'"',
            ]
        ),
        max_size=40,
    ).map(b"".join)
    run("salesforce random", example, st.binary(max_size=400) | xmlish)


ENTITY_TRICKS = st.just("") | st.sampled_from(  # half the envelopes carry a DTD
    [
        '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE e SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '<!DOCTYPE e [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>',
        "<!DOCTYPE e [<!ELEMENT e ANY>]>",
        "<!DOCTYPE soapenv:Envelope>",
    ]
)
ID15 = st.text(
    st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    min_size=15,
    max_size=15,
)
ORGS = st.one_of(
    st.just(ORG_ID),
    st.just(ORG_ID[:15]),
    st.just(ORG_ID.lower()),
    ID15.map(lambda raw: "00D" + raw[3:] + checksum("00D" + raw[3:])),
    ID15.map(lambda raw: ORG_ID[:15] + raw[:3]),
    st.text(max_size=20),
)
RECORDS = st.one_of(
    ID15.map(lambda raw: raw + checksum(raw)), ID15, st.just(LEAD_A), st.text(max_size=20)
)
KINDS = st.sampled_from(["Lead", "Contact", "Account", "Custom__c"]) | st.text(max_size=10)


def test_generated_envelopes_with_entity_tricks(strict: Served) -> None:
    def example(org: str, records: list[tuple[str, str]], doctype: str, entity_ref: bool) -> None:
        strict.inbox.clear()
        body = envelope(records, org_id=org, doctype=doctype)
        if entity_ref and doctype:
            body = body.replace(b"</ActionId>", b"&x;&b;</ActionId>")
        answer = strict.salesforce(body)
        _salesforce_ok(strict, answer, body)
        if doctype:
            assert answer.status == 400 and not strict.inbox.hints

    run(
        "salesforce envelopes",
        example,
        ORGS,
        st.lists(st.tuples(KINDS, RECORDS), min_size=1, max_size=3),
        ENTITY_TRICKS,
        st.booleans(),
    )


def test_a_real_envelope_with_one_byte_changed(strict: Served) -> None:
    real = envelope([("Lead", LEAD_A), ("Contact", "0035g00000DeFgHAAV")])

    def example(at: int, flip: int) -> None:
        strict.inbox.clear()
        body = real[:at] + bytes([real[at] ^ flip]) + real[at + 1 :]
        _salesforce_ok(strict, strict.salesforce(body), body)

    run("salesforce mutated", example, st.integers(0, len(real) - 1), st.integers(1, 255))


def test_the_fuzz_adds_up() -> None:
    """Runs after both fuzz modules (pytest goes by file name): at least 10,000 in all."""
    if set(RUN) != set(PLAN):
        pytest.skip("only part of the fuzz ran")
    assert sum(RUN.values()) >= 10_000, RUN
