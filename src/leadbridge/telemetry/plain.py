"""An error reduced to one plain line a person reads in /readyz or a Slack health alert.

A CRM in trouble often answers with an HTML error page (a proxy's 502, Salesforce's
maintenance page) that the connectors quote whole in their failure. Shown as it is, an
alert is a screen of escaped markup; what the person needs is its title or first words.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

LIMIT = 240  # characters: one line of a Slack message, a /readyz value
_TAG = re.compile(r"<\s*(!doctype|html|head|body|title|div|p|h[1-6]|center|br|hr)\b", re.I)
_HIDDEN = frozenset({"script", "style", "head", "noscript", "template"})


class _Text(HTMLParser):
    """The page's title and visible text, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.text: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "hr", "img", "meta", "link", "input"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "title" in self._open:
            self.title.append(data)
        elif not _HIDDEN.intersection(self._open):
            self.text.append(data)


def one_line(text: str, limit: int = LIMIT) -> str:
    """`text` on one line, an HTML page reduced to its title (else its visible text), entities
    decoded, clipped to `limit` characters."""
    match = _TAG.search(text)
    if match is not None:
        before, page = text[: match.start()], text[match.start() :]
        parser = _Text()
        parser.feed(page)
        parser.close()
        title = " ".join(" ".join(parser.title).split())
        shown = title or " ".join(" ".join(parser.text).split()) or "an HTML page"
        text = f"{before.rstrip(' :')}: {shown}" if before.strip() else shown
    flat = " ".join(html.unescape(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
