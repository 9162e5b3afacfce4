"""The one pipeline: poll -> inbox -> resolve -> decide -> plan -> write -> commit.

`pipeline` runs it, `resolve` looks identities up in the store, `write` sends the write
log, `removals` follows deletions and merges, `runtime` wires it to connection files.
"""

from leadbridge.sync.pipeline import (
    HINTS_PER_READ,
    Pipeline,
    Summary,
    cycle,
    poll,
    process,
    read_hints,
)

__all__ = ["HINTS_PER_READ", "Pipeline", "Summary", "cycle", "poll", "process", "read_hints"]
