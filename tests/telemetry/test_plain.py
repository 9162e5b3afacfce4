"""An error reduced to one plain line: an HTML error page to its title, entities decoded."""

from __future__ import annotations

import pytest

from leadbridge.telemetry.plain import LIMIT, one_line

SALESFORCE_MAINTENANCE = (
    "the last call failed: salesforce 503 : <!DOCTYPE html>\n<html lang='en'><head>"
    "<title>Service Unavailable &ndash; Maintenance</title><style>body{color:red}</style>"
    "<script>var x = '<b>';</script></head><body><h1>Down for maintenance</h1>"
    "<p>We&rsquo;ll be back soon.</p></body></html>"
)
NGINX = (
    "failing: hubspot 502 : <html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
    "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>"
)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            SALESFORCE_MAINTENANCE,
            "the last call failed: salesforce 503: Service Unavailable \u2013 Maintenance",
        ),
        (NGINX, "failing: hubspot 502: 502 Bad Gateway"),
        ("<html><body><h1>Oops</h1><p>try   later</p></body></html>", "Oops try later"),
        ("refused:\n  INVALID_SESSION_ID &amp; more", "refused: INVALID_SESSION_ID & more"),
        ("budget <spent> for today", "budget <spent> for today"),  # no page: text kept
    ],
)
def test_one_plain_line(text: str, line: str) -> None:
    assert one_line(text) == line


def test_a_long_text_is_clipped_to_one_line() -> None:
    shown = one_line("x " * 500)
    assert len(shown) == LIMIT and shown.endswith("…") and "\n" not in shown
