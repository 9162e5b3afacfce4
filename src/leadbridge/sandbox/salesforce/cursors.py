"""Open query cursors: the pages behind `nextRecordsUrl`, and when they stop being served.

A query locator lives while it is read: one left idle for 15 minutes of
simulated time is gone (INVALID_QUERY_LOCATOR), and a user holds at most ten
open at once, the oldest closing first, as the real org does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.ids import IdFactory

IDLE_SECONDS = 15 * 60
MAX_OPEN_PER_USER = 10


@dataclass
class _Cursor:
    user_id: str
    rows: list[dict[str, Any]]
    batch: int
    last_used: float


class QueryCursors:
    def __init__(self, clock: SimClock, id_factory: IdFactory) -> None:
        self._clock = clock
        self._ids = id_factory
        self._open: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, user_id: str, rows: list[dict[str, Any]], batch: int) -> str:
        """Keeps the rows after the first page; answers the locator."""
        locator = self._ids.new("01g")
        with self._lock:
            self._open[locator] = _Cursor(user_id, rows, batch, self._clock.time())
            mine = [key for key, c in self._open.items() if c.user_id == user_id]
            for key in mine[:-MAX_OPEN_PER_USER]:
                del self._open[key]
        return locator

    def page(self, user_id: str, locator: str, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The rows from `offset` on (one batch), and the total; the last page closes it."""
        with self._lock:
            cursor = self._open.get(locator)
            now = self._clock.time()
            if cursor is not None and now - cursor.last_used > IDLE_SECONDS:
                del self._open[locator]
                cursor = None
            if cursor is None or cursor.user_id != user_id or not 0 <= offset < len(cursor.rows):
                raise SfError("INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = now
            rows = cursor.rows[offset : offset + cursor.batch]
            if offset + cursor.batch >= len(cursor.rows):
                del self._open[locator]
            return rows, len(cursor.rows)
