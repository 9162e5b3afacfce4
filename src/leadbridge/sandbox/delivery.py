"""At-least-once delivery of pushed notifications (HubSpot webhooks, Salesforce Outbound Messages).

Both services POST to a subscriber and retry until it answers 2xx. A
`Deliverer` is one background thread with a queue; each message renders its
body and headers per attempt, because HubSpot's body carries `attemptNumber`
and its signature carries the attempt's timestamp.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

log = logging.getLogger(__name__)

Render = Callable[[int], tuple[bytes, dict[str, str]]]  # attempt number (1-based) -> body, headers
Accept = Callable[[int, bytes], bool]  # status, body -> delivered?


def any_2xx(status: int, body: bytes) -> bool:
    return 200 <= status < 300


@dataclass(frozen=True)
class Attempt:
    url: str
    attempt: int
    status: int | None  # None: no answer (refused, timed out)
    body: bytes


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    url: str = field(compare=False)
    render: Render = field(compare=False)
    accept: Accept = field(compare=False)
    first: float = field(compare=False)  # the service's clock when the message was queued
    attempt: int = field(compare=False, default=1)


class Deliverer:
    """POSTs each message until it is accepted (a 2xx answer by default), waiting longer
    after each failure, and gives up after `max_attempts` tries or once `give_up_after`
    seconds of the service's `clock` have passed since the message was queued.

    `backoff(attempt)` gives the wait in real seconds before the next try; the
    real services stretch their tries over a day, the sandbox over seconds, and
    a test that advances the simulated clock past the day sees the give-up.
    """

    def __init__(
        self,
        name: str,
        *,
        timeout: float = 5.0,
        max_attempts: int | None = 10,
        give_up_after: float | None = None,
        clock: Callable[[], float] = time.time,
        backoff: Callable[[int], float] = lambda attempt: min(0.2 * 2 ** (attempt - 1), 5.0),
        verify: str | bool = True,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.give_up_after = give_up_after
        self.clock = clock
        self.backoff = backoff
        self.attempts: list[Attempt] = []  # every try, for tests and the control API
        self.given_up = 0
        self._heap: list[_Pending] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._busy = 0
        self._session = requests.Session()
        self._session.verify = verify
        self._session.trust_env = False  # a proxy from the environment must not eat loopback calls
        self._thread = threading.Thread(target=self._run, name=f"deliver-{name}", daemon=True)
        self._thread.start()

    def enqueue(
        self, url: str, render: Render, delay: float = 0.0, accept: Accept = any_2xx
    ) -> None:
        """Queues a message; `accept` decides from the answer whether it arrived
        (Outbound Messages need a SOAP Ack, not just a 200)."""
        with self._cond:
            due = time.monotonic() + delay
            heapq.heappush(
                self._heap, _Pending(due, next(self._seq), url, render, accept, self.clock())
            )
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._busy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once nothing is queued or in flight (retries scheduled later count as queued)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(5)
        self._session.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (
                    not self._heap or self._heap[0].due > time.monotonic()
                ):
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                item = heapq.heappop(self._heap)
                self._busy += 1
            try:
                self._try(item)
            finally:
                with self._cond:
                    self._busy -= 1

    def _try(self, item: _Pending) -> None:
        status: int | None
        try:
            body, headers = item.render(item.attempt)
            answer = self._session.post(item.url, data=body, headers=headers, timeout=self.timeout)
            status = answer.status_code
            reply = answer.content
            delivered = item.accept(status, reply)
        except requests.RequestException as exc:
            status, reply, delivered = None, str(exc).encode(), False
        except Exception as exc:
            # A bug in rendering must cost this message a try, not the thread every message.
            log.exception("%s: could not deliver to %s", self.name, item.url)
            status, reply, delivered = None, repr(exc).encode(), False
        self.attempts.append(Attempt(item.url, item.attempt, status, reply))
        if delivered:
            return
        out_of_tries = self.max_attempts is not None and item.attempt >= self.max_attempts
        out_of_time = (
            self.give_up_after is not None and self.clock() - item.first >= self.give_up_after
        )
        if out_of_tries or out_of_time:
            self.given_up += 1
            log.warning("%s: gave up on %s after %d attempts", self.name, item.url, item.attempt)
            return
        item.attempt += 1
        self.enqueue_retry(item)

    def enqueue_retry(self, item: _Pending) -> None:
        with self._cond:
            item.due = time.monotonic() + self.backoff(item.attempt - 1)
            item.seq = next(self._seq)
            heapq.heappush(self._heap, item)
            self._cond.notify()
