"""Salesforce record ids: 15 case-sensitive characters plus the 3-character case checksum.

A client may send either form; the 18-character one is case-insensitive because
its suffix encodes which of the first 15 characters are upper case. The
simulator stores the 18-character form and accepts both, as the real org does.
"""

from __future__ import annotations

import random
import string
import threading

_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase  # base 62
_SUFFIX = string.ascii_uppercase + "012345"  # 32 symbols for 5 bits of upper-case flags

KEY_PREFIXES = {
    "Lead": "00Q",
    "Contact": "003",
    "Account": "001",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "LeadStatus": "01J",
    "User": "005",
    "QueryLocator": "01g",
    "WorkflowOutboundMessage": "04k",
    "OutboundNotification": "04l",
}


def checksum(id15: str) -> str:
    """The three suffix characters that make a 15-character id case-insensitive."""
    out = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        flags = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out.append(_SUFFIX[flags])
    return "".join(out)


def to18(id15: str) -> str:
    return id15 + checksum(id15)


def normalize(raw: str) -> str | None:
    """The canonical 18-character id for `raw`, or None when it is not a well-formed id."""
    if len(raw) == 15 and raw.isalnum() and raw.isascii():
        return to18(raw)
    if len(raw) != 18 or not raw.isalnum() or not raw.isascii():
        return None
    suffix = raw[15:].upper()
    if any(ch not in _SUFFIX for ch in suffix):
        return None
    # The suffix says which letters were upper case, so the case the client used does not matter.
    chars = []
    for position, ch in enumerate(raw[:15].lower()):
        flags = _SUFFIX.index(suffix[position // 5])
        chars.append(ch.upper() if flags & (1 << (position % 5)) else ch)
    id15 = "".join(chars)
    if checksum(id15) != suffix:
        return None
    return id15 + suffix


class IdFactory:
    """Mints ids that look like a real pod's: key prefix, pod "5g", a reserved 0, 9 base-62 digits.

    Seeded, so the same seed mints the same ids in the same order.
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            if prefix not in self._next:
                # Start each prefix somewhere in the middle, as a real org's serials would be.
                self._next[prefix] = self._rng.randrange(62**6, 62**7)
            serial = self._next[prefix]
            self._next[prefix] = serial + self._rng.randint(1, 40)
        digits = []
        for _ in range(9):
            serial, rest = divmod(serial, 62)
            digits.append(_ALPHABET[rest])
        return to18(prefix + "5g0" + "".join(reversed(digits)))
