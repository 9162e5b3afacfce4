"""The (id, stamp) pairs an incremental read has delivered inside its lag tolerance: what a
cursor's `recent` holds, so the stretch the next read covers again delivers each change once.

After a bulk import, or in the cycle right after a first sync (which wrote every record
back), every record is inside the tolerance. Kept as a dict filtered and copied into a
frozenset for each page's cursor, and sorted into each cursor saved, that cost a pass over
every pair read so far per page: quadratic. At 100,000 people the polls of a first sync and
the cycle after it took 0.32 ms of CPU per person (0.15 with this), each saved cursor
carried the whole portal's pairs, and peak RSS was 231 MB (193 MB with this).

Here a heap orders the pairs by stamp, so dropping those before the cursor's new start
costs O(log n) per pair once, and at most `LIMIT` pairs are kept, the newest. A pair
forgotten early is only delivered again: the next poll's echo check drops it (the record's
snapshot already shows that change) or, while its first delivery still waits in the inbox,
the inbox's unique key does. So the limit bounds work and cursor size, never correctness.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Generic, TypeVar

Pair = tuple[str, str]  # (record id, the stamp it was delivered at)
_Moment = TypeVar("_Moment", int, datetime)

# 10,000 pairs: a bulk change of that many records inside the tolerance (HubSpot's minute,
# Salesforce's ten) is still delivered once by the connector. Such a cursor is ~400 KB of
# JSON and ~7 ms to sort and save, paid with each batch of pages a first sync stores.
LIMIT = 10_000


class Delivered(Generic[_Moment]):
    """Pairs delivered, each with its moment (the stamp, parsed); at most `limit`, newest kept."""

    def __init__(self, limit: int | None = None) -> None:
        self._at: dict[Pair, _Moment] = {}
        self._heap: list[tuple[_Moment, Pair]] = []
        self._limit = LIMIT if limit is None else limit

    def __contains__(self, pair: object) -> bool:
        return pair in self._at

    def add(self, pair: Pair, moment: _Moment) -> None:
        if pair in self._at:
            return
        self._at[pair] = moment
        heapq.heappush(self._heap, (moment, pair))
        if len(self._at) > self._limit:
            self._pop()

    def drop_before(self, bound: _Moment) -> None:
        """Forgets the pairs delivered before `bound`: the next read starts after them."""
        while self._heap and self._heap[0][0] < bound:
            self._pop()

    def pairs(self) -> frozenset[Pair]:
        """What a cursor handed out now remembers."""
        return frozenset(self._at)

    def _pop(self) -> None:
        _, pair = heapq.heappop(self._heap)
        del self._at[pair]
