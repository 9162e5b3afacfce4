"""Python's cyclic garbage collector, paced for reading and deciding a backlog
(`pipeline.poll` and `pipeline.process`).

Deciding a round builds hundreds of thousands of small dicts and tuples that live for the
round (the store's caches, the leads, their snapshots). Each allocation counts towards the
collector's next pass, and the passes of the older generations walk every object the
process holds: the loaded config, the connectors, SQLAlchemy's caches and the round's
data. Almost none of it is garbage: reference counting frees the round when it ends, and
the passes find next to nothing. Measured on a first sync of 10,000 people (SQLite) with
the youngest generation's threshold raised to 3,000: 546 passes took 1.3 of its 9.2 CPU
seconds.

So, while a backlog is read or decided:

- what is alive when it starts (modules, config, connectors, engine: it lives as long as
  the process) is frozen (`gc.freeze`): no pass walks it again; it is unfrozen after;
- automatic passes are off, and `round_done` collects the young generations once a round
  has been decided and sent (or a batch of pages stored): what it left in cycles goes
  then, and what little of it is still alive is walked once instead of at every pass.

Memory stays bounded by a round (its cycles wait at most until it ends). Nothing here
changes what the sync stores or sends; only when Python looks for unreachable cycles.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # blocks open (a daemon thread and a CLI call may overlap)
_was_enabled = True


@contextmanager
def paced() -> Iterator[None]:
    """No automatic collection inside the block (see `round_done`); as before after it."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.freeze()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _was_enabled:
                    gc.enable()
                gc.unfreeze()


def round_done() -> None:
    """A round is over: collect the young generations (its cycles) if a block is open."""
    if _depth > 0:
        gc.collect(1)
