"""The state store: cursors, inbox, identity links, leads, snapshots, journal, write log, parked.

Imports only leadbridge.model. `Store.open(url)` opens it, `migrate.upgrade(url)`
creates or upgrades its schema.
"""

from leadbridge.store.inbox import InboxItem
from leadbridge.store.links import AmbiguousLink, Link
from leadbridge.store.records import JournalEntry, LoggedWrite, ParkedRecord, write_key
from leadbridge.store.repository import Store, UnitOfWork

__all__ = [
    "AmbiguousLink",
    "InboxItem",
    "JournalEntry",
    "Link",
    "LoggedWrite",
    "ParkedRecord",
    "Store",
    "UnitOfWork",
    "write_key",
]
