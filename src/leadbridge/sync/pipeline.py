"""The one pipeline: poll -> inbox -> identity -> decide -> plan -> write log -> send -> commit.

`cycle(pipeline)` runs one sync cycle and returns its `Summary`. Each step
commits what must be true together (DESIGN.md "How data flows"):

1. poll: each page's changes enter the inbox in the transaction that saves
   its cursor, so a crash re-reads a page but never skips one;
2. decide: inbox items are claimed a round at a time, every lead's items in
   order; identity is resolved, echoes are dropped, the engine decides, and
   each lead is planned once from its last decision. Lead state, links, read
   snapshots, journal entries, the write log (planned) and the items marked
   done commit together;
3. send (sync.write): the write log's unfinished writes go out, batched per
   system, and their results (snapshots, links of created records, parked
   failures) commit after. A crash between 2 and 3 leaves the writes
   unfinished in the log, so the next cycle sends them: they are idempotent
   (fixed values by id, creates by upsert on a stable key).

`dry_run` does all of 1 and 2 in one transaction that is rolled back and
returns the plans' field-level diffs instead: nothing is written anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from leadbridge.config import Funnel
from leadbridge.connectors.base import Connector, Cursor, Page, ReadsTogether
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.core import engine, planner
from leadbridge.core.identity import (
    AMBIGUOUS_MATCH,
    Resolution,
    Verdict,
    email_of,
)
from leadbridge.model import (
    Change,
    Decision,
    Hint,
    Lead,
    Removal,
    System,
    Transition,
    WritePlan,
)
from leadbridge.store import AmbiguousLink, InboxItem, Store, UnitOfWork, write_key
from leadbridge.store.links import ACTIVE
from leadbridge.sync import collector, redeploy, resolve
from leadbridge.sync import removals as sync_removals
from leadbridge.sync.write import SendPaused, Sent, flush

_HS, _SF = System.HUBSPOT, System.SALESFORCE
# Leads decided per transaction: bounds its size and memory; their writes go out after it.
# 3,000, not 2,000, since a round's leads shrank (seen by record, snapshots not copied):
# 2% fewer instructions per person, 17 MB more at the peak of a 20,000-person first sync.
ROUND = 3000
# Changes read before they are stored, in one transaction with the last page's cursor: a
# first sync of 100,000 people read 1,000 pages of 100 contacts, each its own commit.
PAGES_STORED_AT = 1000
# Records read by id per call when following pushes (HubSpot's batch read takes 100).
HINTS_PER_READ = 100
# HubSpot's list of the ids merged into a contact; its connector always reads it.
_MERGE_TRAIL = "hs_merged_object_ids"


@dataclass
class Pipeline:
    """What one cycle needs; runtime.build makes it from files, tests from a sandbox."""

    store: Store
    funnel: Funnel
    connectors: Mapping[System, Connector]
    clock: Callable[[], datetime]
    external_id_field: str = planner.EXTERNAL_ID_FIELD
    # Called with the cycle's Summary so far after each page read and each round decided
    # and sent: a progress bar, the daemon's progress line. Must be quick; never raises.
    on_progress: Callable[[Summary], None] | None = None


@dataclass
class Summary:
    changes_read: int = 0
    leads_decided: int = 0
    transitions: int = 0
    echoes: int = 0
    written: dict[System, int] = field(default_factory=lambda: {_HS: 0, _SF: 0})
    # Requests the connectors sent to write (counted: retries and read-backs included) ...
    write_calls: dict[System, int] = field(default_factory=lambda: {_HS: 0, _SF: 0})
    # ... and the least that many writes could cost, computed (batches at the API maximum).
    least_write_calls: dict[System, int] = field(default_factory=lambda: {_HS: 0, _SF: 0})
    refused: dict[System, int] = field(default_factory=lambda: {_HS: 0, _SF: 0})  # writes parked
    parked: int = 0
    paused: str | None = None  # why the cycle stopped early (a spent API budget)
    diffs: list[str] = field(default_factory=list)  # dry run: what would be written
    # Dry run: records to write per (system, object, "create" | "update").
    planned: Counter[tuple[System, str, str]] = field(default_factory=Counter)


@dataclass
class _Work:
    """One lead's decisions in a round: planned once, from the last."""

    lead: Lead
    decision: Decision
    transitions: list[Transition] = field(default_factory=list)
    items: list[int] = field(default_factory=list)  # the inbox items decided into it, in order
    # The records' values as read, stored when the lead is concluded: a round that undoes
    # the lead (a twin held) must leave no snapshot that would pass its items off as echoes.
    reads: list[Change] = field(default_factory=list)
    # What its writes are logged under: the last inbox item decided, or a deployment.
    origin: str = ""

    @property
    def last_item(self) -> int:
        return self.items[-1]


def cycle(pipeline: Pipeline, *, dry_run: bool = False) -> Summary:
    summary = Summary()
    try:
        if dry_run:
            with pipeline.store.reading() as uow:
                poll(pipeline, summary, lambda: _same(uow))
                while _decide_round(pipeline, uow, summary, dry_run=True):
                    _progress(pipeline, summary)
            return summary
        read_hints(pipeline, summary)
        poll(pipeline, summary, pipeline.store.transaction)
        apply_funnel(pipeline, summary)
        process(pipeline, summary)  # loose ends of an earlier cycle go out first
    except BudgetPaused as paused:
        summary.paused = str(paused)
    with pipeline.store.reading() as uow:
        summary.parked = uow.parked.count()
    return summary


def process(
    pipeline: Pipeline, summary: Summary, *, between_rounds: Callable[[], None] | None = None
) -> None:
    """Decide every pending inbox item, a round at a time, each round's writes sent after it.
    Raises BudgetPaused (after settling what landed) when a system's daily share is spent.

    `between_rounds` runs after each round's writes, before the next round is claimed: the
    daemon raises there to stop a long backlog cleanly (a SIGTERM, a lost lease)."""
    with collector.paced():  # an eighth of a first sync's CPU went to GC passes
        _rounds(pipeline, summary, between_rounds)


def _rounds(
    pipeline: Pipeline, summary: Summary, between_rounds: Callable[[], None] | None
) -> None:
    _send(pipeline, summary)
    while True:
        more = _decide_and_commit(pipeline, summary)
        # While rounds follow, only full calls go out; the last flush sends the remainders.
        _send(pipeline, summary, whole_batches=more)
        collector.round_done()
        pipeline.store.refresh_statistics()
        _progress(pipeline, summary)
        if not more:
            return
        if between_rounds is None:
            continue
        try:
            between_rounds()
        except Exception:
            # Stopping: the writes held back to fill whole calls go out now. (Without the
            # lease, the daemon's store refuses this too; the log keeps them for the next.)
            with suppress(Exception):
                _send(pipeline, summary)
            raise


def _decide_and_commit(pipeline: Pipeline, summary: Summary) -> bool:
    """One round in its own transaction. A function of its own so that the round's unit of
    work, with every lead and snapshot it remembers, is freed when it commits instead of
    living on in a caller's variable while the writes go out."""
    with pipeline.store.transaction() as uow:
        return _decide_round(pipeline, uow, summary, dry_run=False)


def _send(pipeline: Pipeline, summary: Summary, *, whole_batches: bool = False) -> None:
    """Send the write log's unfinished writes and count what went out, also when a spent
    budget stops the sending part-way (SendPaused carries what landed before it)."""
    try:
        sent = flush(
            pipeline.store, pipeline.connectors, pipeline.clock(), whole_batches=whole_batches
        )
    except SendPaused as paused:
        _account(summary, paused.sent)
        raise
    _account(summary, sent)


def read_hints(pipeline: Pipeline, summary: Summary, *, limit: int = HINTS_PER_READ) -> int:
    """Read the records a webhook or an Outbound Message named, by id, into the inbox.

    A read by id sees a change at once (HubSpot's search may not index it for ~30 s),
    and what is read takes the same path as a poll's page. The hints are cleared in the
    transaction that enqueues what was read, so a crash in between reads them again.
    Returns how many hints were read.
    """
    wanted = set(objects_to_poll(pipeline.funnel))
    done = 0
    while True:
        with pipeline.store.transaction() as uow:
            taken = uow.hints.take(limit)
        if not taken:
            return done
        changes: list[Change] = []
        removals: list[Removal] = []
        groups: dict[tuple[System, str], list[str]] = {}
        for hint in taken:
            groups.setdefault((hint.system, hint.object), []).append(hint.id)
        for (system, obj), ids in groups.items():
            connector = pipeline.connectors.get(system)
            if connector is None or (system, obj) not in wanted:
                continue  # an object the mappings do not read: nothing to decide from it
            page = connector.fetch(obj, ids)
            changes.extend(page.changes)
            removals.extend(page.removals)
        # Only the database is touched here, so a deadlock victim can simply run again.
        pipeline.store.run(partial(_enqueue_read, changes, removals, taken))
        summary.changes_read += len(changes) + len(removals)
        done += len(taken)
        if len(taken) < limit:
            return done


def _enqueue_read(
    changes: Sequence[Change], removals: Sequence[Removal], taken: Sequence[Hint], uow: UnitOfWork
) -> None:
    uow.inbox.enqueue(changes, removals)
    uow.hints.clear(taken)


def objects_to_poll(funnel: Funnel) -> list[tuple[System, str]]:
    """Every object the mappings read from, HubSpot first so a person usually arrives there
    before their Salesforce records (an email match then links instead of creating)."""
    found = {(system, obj) for fmap in funnel.fields.values() for system, obj, _ in fmap.remote()}
    return sorted(found, key=lambda key: (key[0] is not _HS, key[1]))


def poll(
    pipeline: Pipeline,
    summary: Summary,
    transaction: Callable[[], AbstractContextManager[UnitOfWork]],
    *,
    only: System | None = None,
) -> None:
    """Read every mapped object's changes (of one system with `only`) into the inbox."""
    now = pipeline.clock()
    polled = [
        (system, obj, connector)
        for system, obj in objects_to_poll(pipeline.funnel)
        if (connector := pipeline.connectors.get(system)) is not None
        and (only is None or system is only)
    ]
    cursors: dict[System, dict[str, Cursor | None]] = {}
    with transaction() as uow:
        for system, obj, _ in polled:
            cursors.setdefault(system, {})[obj] = uow.cursors.get(system, obj, Cursor.from_json)
    for system, saved in cursors.items():
        connector = pipeline.connectors[system]
        if isinstance(connector, ReadsTogether):  # all its objects in one call (Composite)
            connector.expect(saved)
    # Paced like the rounds (sync.collector): a first sync's pages are thousands of changes.
    with collector.paced():
        for system, obj, connector in polled:
            read: list[Page] = []
            for page in connector.changes(obj, cursors[system][obj], now=now):
                read.append(page)
                if sum(len(p.changes) + len(p.removals) for p in read) >= PAGES_STORED_AT:
                    _store_pages(pipeline, summary, transaction, system, obj, read)
                    read = []
            _store_pages(pipeline, summary, transaction, system, obj, read)


def _store_pages(
    pipeline: Pipeline,
    summary: Summary,
    transaction: Callable[[], AbstractContextManager[UnitOfWork]],
    system: System,
    obj: str,
    pages: Sequence[Page],
) -> None:
    """Pages read, into the inbox in the transaction that saves the last one's cursor: a
    crash before it commits reads them all again, never skips one."""
    if not pages:
        return
    changes = [change for page in pages for change in page.changes]
    removals = [removal for page in pages for removal in page.removals]
    cursor = next((page.cursor for page in reversed(pages) if page.cursor is not None), None)
    with transaction() as uow:
        news = without_echoes(pipeline, uow, system, obj, changes, summary)
        uow.inbox.enqueue(news, removals)
        if cursor is not None:
            uow.cursors.save(system, obj, cursor)
    collector.round_done()
    pipeline.store.refresh_statistics()
    summary.changes_read += len(changes) + len(removals)
    _progress(pipeline, summary)


def _progress(pipeline: Pipeline, summary: Summary) -> None:
    if pipeline.on_progress is not None:
        pipeline.on_progress(summary)


def without_echoes(
    pipeline: Pipeline,
    uow: UnitOfWork,
    system: System,
    obj: str,
    changes: Sequence[Change],
    summary: Summary,
) -> list[Change]:
    """Drop the changes that only show our own writes (or what we read already) before they
    reach the inbox: after a cycle that wrote, that is most of the next poll. A record with
    items still waiting is kept: its snapshot is not yet the news the waiting items bring,
    and it is compared again when its turn comes."""
    ids = [change.id for change in changes]
    known = uow.snapshots.get_many(system, obj, ids)
    if not known:
        return list(changes)
    waiting = uow.inbox.pending_records(system, obj, ids)
    news = []
    for change in changes:
        shown = known.get(change.id)
        if (
            shown is not None
            and change.id not in waiting
            and planner.is_echo(change, {(system, obj, change.id): shown}, pipeline.funnel)
        ):
            summary.echoes += 1
            continue
        news.append(change)
    return news


def _decide_round(pipeline: Pipeline, uow: UnitOfWork, summary: Summary, *, dry_run: bool) -> bool:
    """Decide up to ROUND leads' pending items; plan and log their writes. False: inbox empty."""
    work: dict[str, _Work] = {}
    now = pipeline.clock()
    taken = 0
    # Items that join no lead's work (echoes, set aside, held) count too: a round is bounded.
    while len(work) < ROUND and taken < 2 * ROUND:
        items = uow.inbox.claim(ROUND - len(work))
        if not items:
            break
        taken += len(items)
        changes = {item.id: item.change() for item in items if item.kind == "change"}
        resolve.prefetch(uow, changes.values(), pipeline.external_id_field)
        for item in items:
            _take(pipeline, uow, item, changes.get(item.id), work, summary, now, dry_run=dry_run)
    for done in work.values():
        _conclude(pipeline, uow, done, summary, dry_run=dry_run)
    return bool(taken)


def _conclude(
    pipeline: Pipeline, uow: UnitOfWork, done: _Work, summary: Summary, *, dry_run: bool
) -> None:
    """Save a lead decided in this round, journal its transitions and log its plan."""
    lead_id = done.lead.id
    uow.leads.save(done.lead)
    for read in done.reads:
        uow.snapshots.put(read.system, read.object, read.id, read.fields, origin="read")
    known = uow.snapshots.of_lead(lead_id)
    # A record deleted in its system stays gone: no rule re-creates it (sync.removals). The
    # block is derived from the links each time, never saved, so a restore lifts it.
    gone = uow.links.deleted_systems(lead_id)
    lead = replace(done.lead, blocked=done.lead.blocked | gone) if gone else done.lead
    email = done.lead.fields.get("email")
    keys = planner.Keys(
        email=email if isinstance(email, str) else None,
        external_id_field=pipeline.external_id_field,
    )
    plan = _wait_for_twins(
        uow, planner.plan(lead, done.decision, known, keys, pipeline.funnel), keys.email
    )
    # The round is planned once, from its last decision: its writes are the last move's.
    # Earlier moves of the round caused none of their own (`explain` says so).
    uow.journal.append(lead_id, done.transitions[:-1])
    uow.journal.append(lead_id, done.transitions[-1:], plan.records)
    summary.transitions += len(done.transitions)
    summary.leads_decided += 1
    if dry_run:
        summary.diffs.extend(planner.diff_lines(plan, known))
        for write in plan.records:
            kind = "create" if write.id is None else "update"
            summary.planned[(write.system, write.object, kind)] += 1
        return
    for write in plan.records:
        key = write_key(lead_id, write, done.origin or f"inbox:{done.last_item}")
        uow.writes.begin(key, lead_id, write)


def apply_funnel(pipeline: Pipeline, summary: Summary) -> int:
    """Move the known leads a changed funnel moves (sync.redeploy), once per change of it;
    raises redeploy.Stranded when leads sit in a stage the funnel no longer has."""
    return redeploy.run(pipeline, summary, partial(_conclude_move, pipeline, summary))


def preview_funnel(pipeline: Pipeline) -> tuple[redeploy.Impact, Summary]:
    """What `apply_funnel` would do now, nothing written: the moves, and in the Summary
    the writes they would cause (`planned`) and their diffs."""
    summary = Summary()
    impact = redeploy.preview(pipeline, partial(_conclude_move, pipeline, summary, dry_run=True))
    return impact, summary


def _conclude_move(
    pipeline: Pipeline,
    summary: Summary,
    uow: UnitOfWork,
    lead: Lead,
    decision: Decision,
    origin: str,
    *,
    dry_run: bool = False,
) -> None:
    work = _Work(decision.lead, decision, list(decision.transitions), origin=origin)
    _conclude(pipeline, uow, work, summary, dry_run=dry_run)


def _wait_for_twins(uow: UnitOfWork, plan: WritePlan, email: str | None) -> WritePlan:
    """Drops creates in a system that still has a record with this email waiting in the inbox.

    That record is most likely this person: decided later in this cycle, it links to the
    lead by email and the lead is written there, instead of a second record being created
    next to it. The rounds a large inbox is decided in must not decide who gets a twin.
    """
    if email is None:
        return plan
    waiting = {
        write.system
        for write in plan.records
        if write.id is None and uow.inbox.pending_with_email(write.system, email)
    }
    if not waiting:
        return plan
    kept = tuple(w for w in plan.records if not (w.id is None and w.system in waiting))
    return replace(plan, records=kept)


def _take(
    pipeline: Pipeline,
    uow: UnitOfWork,
    item: InboxItem,
    change: Change | None,
    work: dict[str, _Work],
    summary: Summary,
    now: datetime,
    *,
    dry_run: bool,
) -> None:
    """Decide one inbox item into its lead's work; `change` is the item's (None: a removal)."""
    if change is None:
        _follow(pipeline, uow, item, work, summary, now, dry_run=dry_run)
        return
    # A survivor of a merge is read with its merge trail: fold first, so it finds its lead
    # instead of being taken for a new person. (Only a record with a trail is looked up:
    # the look-up is not indexed, and a large inbox holds few merges.)
    if change.fields.get(_MERGE_TRAIL):
        for merge in uow.inbox.merges_into(change.system, change.object, change.id):
            _follow(pipeline, uow, merge, work, summary, now, dry_run=dry_run)
    funnel = pipeline.funnel
    # Echoes first: a record whose snapshot already shows everything needs no identity work,
    # and after a cycle that wrote, most changes read are exactly that.
    known = uow.snapshots.get(change.system, change.object, change.id)
    key = (change.system, change.object, change.id)
    if known is not None and planner.is_echo(change, {key: known}, funnel):
        summary.echoes += 1
        uow.inbox.done([item.id])
        return
    try:
        resolution = resolve.look_up(uow, change, pipeline.external_id_field)
    except AmbiguousLink as clash:
        resolution = Resolution(Verdict.AMBIGUOUS, reason=f"{AMBIGUOUS_MATCH}: {clash}")
    if resolution.verdict is Verdict.UNRELATED:
        # An Opportunity or Account no lead names yet: set aside in the inbox until a
        # conversion links it (`leadbridge parked` counts them). Not in the parked table:
        # most deals of an org are no lead's, and they are not failures to fix.
        uow.inbox.park([item.id], resolution.reason)
        return
    if resolution.verdict is Verdict.AMBIGUOUS:
        uow.inbox.park([item.id], resolution.reason)
        uow.parked.park(change.system, change.object, change.id, resolution.reason, now=now)
        _hold_twins(uow, change, resolution.reason, work, now)
        return
    lead_id = resolution.lead_id or resolve.new_lead_id(change)
    if lead_id in work:
        lead = work[lead_id].lead
    else:
        lead = uow.leads.load(lead_id) or engine.new_lead(funnel, lead_id, now)
        lead_id = lead.id  # a folded lead answers as the lead it was folded into
        held = uow.parked.holding(lead_id, AMBIGUOUS_MATCH)
        if held is not None:
            # Which record is the person is for a human to say; until then nothing of the
            # lead is decided or written, and its changes wait (reopened on release).
            uow.inbox.park([item.id], held)
            return
    refresh = resolution.reason != "stored link" or email_of(change) != lead.fields.get("email")
    resolve.link(uow, lead.id, change, resolution.identity, lead.identity, refresh=refresh)
    # dataclasses.replace is costly (28,000 calls a 10,000-person sync): skipped where the
    # identity is already the one it would set.
    identity = resolve.union(lead.identity, resolution.identity)
    if identity != lead.identity:
        lead = lead.with_identity(identity)
    decision = engine.decide(lead, change, funnel, now)
    decided = decision.lead
    if decided.identity != lead.identity:
        decided = decided.with_identity(lead.identity)
    previous = work.get(lead.id)
    entry = _Work(
        decided,
        decision,
        previous.transitions if previous else [],
        [*previous.items, item.id] if previous else [item.id],
        [*previous.reads, change] if previous else [change],
    )
    entry.transitions.extend(decision.transitions)
    work[lead.id] = entry
    uow.inbox.done([item.id])


def _follow(
    pipeline: Pipeline,
    uow: UnitOfWork,
    item: InboxItem,
    work: dict[str, _Work],
    summary: Summary,
    now: datetime,
    *,
    dry_run: bool,
) -> None:
    removal = item.removal()
    # A lead about to be folded or changed is concluded first, as decided so far.
    for lead_id in sync_removals.involved(uow, removal):
        if lead_id in work:
            _conclude(pipeline, uow, work.pop(lead_id), summary, dry_run=dry_run)
    sync_removals.follow(uow, removal, now)
    uow.inbox.done([item.id])


def _hold_twins(
    uow: UnitOfWork, change: Change, reason: str, work: dict[str, _Work], now: datetime
) -> None:
    """A duplicate's twin is held too, before anything more of it is written, whether it was
    decided in this round or cycles ago: which of the two is the person is for a human to
    say (story 7). Its lead stays held until one of the records is deleted or merged."""
    email = email_of(change)
    if email is None:
        return
    for link in uow.links.by_email(email, change.system, change.object):
        if link.record_id != change.id and link.role == ACTIVE:
            undecided = work.pop(link.lead_id, None)
            if undecided is not None:
                # What this round decided for the twin is undone, not dropped: its items wait,
                # parked, and come back in line when a person resolves the duplicate.
                uow.inbox.park(undecided.items, reason)
            uow.parked.park(
                link.system, link.object, link.record_id, reason, now=now, lead_id=link.lead_id
            )


def _account(summary: Summary, sent: Sent) -> None:
    for mine, theirs in (
        (summary.written, sent.written),
        (summary.write_calls, sent.calls),
        (summary.least_write_calls, sent.least_calls),
        (summary.refused, sent.refused),
    ):
        for system, count in theirs.items():
            mine[system] = mine.get(system, 0) + count


@contextmanager
def _same(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """The dry run's one transaction, handed out wherever the real run opens a new one."""
    yield uow
