"""The outbox delivery worker: sends committed outbox rows to Slack's Web API.

Guarantees, in order of importance:
- nothing committed is lost: a row stays pending until Slack accepted it, or fails for good
  with its error recorded;
- no duplicates: a row that may have been accepted by Slack before a crash or a timeout is
  looked up (message metadata carries the row id) before it is posted again;
- order per ticket and lane: a row waits while an earlier row of its ticket and lane is
  pending;
- one slow or rate-limited workspace, method or channel does not stall the others
  (429 Retry-After is honoured for that key only);
- with several processes on PostgreSQL, rows are claimed with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, bindparam, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.core.db import READ_ONLY_OPTION, Database
from bot.ids import OUTBOX_METADATA_EVENT
from bot.outbox import render as outbox_render
from bot.outbox import rows as outbox
from bot.slack import installs
from models import (
    MessageRole,
    Organization,
    OutboxMessage,
    OutboxStatus,
    SlackCommentRef,
    SlackMessageRef,
    TicketComment,
    table_of,
    utcnow,
)
from models.base import UTCDateTime, saved_id

log = logging.getLogger(__name__)

# Errors that no retry can fix: the row fails at once.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "users_not_found",
        "cannot_dm_bot",
        "message_not_found",
        "cant_update_message",
        "missing_scope",
        "not_allowed_token_type",
        "unknown_method",
    }
)
# The workspace took the app's access away: pause its deliveries until a reinstall.
ACCESS_LOST_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
# Errors from posting into a requester's source thread that mean "cannot post there".
CANNOT_POST_THERE = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


@dataclass(frozen=True)
class DeliveryPolicy:
    batch_size: int = 40
    # How long a claimed row belongs to the worker that claimed it (crash recovery).
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 12
    max_backoff: timedelta = timedelta(minutes=5)
    # How long a card waits before looking again for a staff channel that is not set.
    no_staff_channel_wait: timedelta = timedelta(seconds=30)
    # How long the staff channel's messages wait after Slack refused one (not_in_channel,
    # is_archived, channel_not_found) before the next try (sooner on a re-invite or setup).
    staff_channel_retry: timedelta = timedelta(minutes=5)
    # A post that timed out may still land: Slack can carry it out after the client gave
    # up. The next try waits this long (so its look-up sees that post), and once a row
    # that needed more than one try is posted, copies are looked for again after this long
    # and all but the one recorded are deleted.
    uncertain_post_wait: timedelta = timedelta(seconds=30)
    # Rows of one claimed batch sent at once. A batch never holds two rows of the same
    # ticket and lane (the claim skips rows behind a pending one), so order is kept.
    senders: int = 8


ClientFor = Callable[[Organization], WebClient | None]
# A job the worker runs instead of a Web API method (downloading or sharing a file):
# called with the client, the organization, the row and its resolved arguments; returns
# the (channel, ts) it produced, if any. Raise SlackApiError/OSError to retry.
Job = Callable[
    [WebClient, Organization, OutboxMessage, dict[str, Any]], tuple[str | None, str | None]
]
JOB_PREFIX = "ticketbot."
# The worker's own job: delete the copies of a posted row that landed late.
REMOVE_COPIES = "ticketbot.remove_copies"
# Marks the last error of a post that may have reached Slack all the same.
UNCERTAIN = " (may have been posted)"
# How far back the look-up for an already-posted message reads (pages of 200 messages).
MAX_LOOKUP_PAGES = 25


class Undeliverable(Exception):
    """The row can never be delivered, for a reason of ours rather than Slack's (the ticket
    it is drawn from is gone, the message it hangs off was never posted, no such job): it
    fails at once with `reason` recorded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Defer(Exception):
    """The row cannot be delivered yet; try again at `until` without counting an attempt."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        client_for: ClientFor,
        *,
        default_staff_channel: str | None = None,
        policy: DeliveryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.client_for = client_for
        self.default_staff_channel = default_staff_channel
        self.policy = policy or DeliveryPolicy()
        self.clock = clock
        # Who owns a claimed row: a claim that lapsed and was taken by another worker (or
        # another process) is not this worker's any more.
        self.worker_id = uuid.uuid4().hex
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # (organization id, method, channel) → not before; filled from 429 Retry-After.
        self._blocked_until: dict[tuple[int, str, str], datetime] = {}
        # Links to posted cards (App Home and "ticket #N" links use them) are asked of
        # Slack here, off the staff channel's queue; `drain` waits for them.
        self._permalinks: ThreadPoolExecutor | None = None
        self._permalinks_pending: list[Future[None]] = []
        self._permalink_lock = threading.Lock()
        # Links learnt and not yet written: the next claim writes them in its transaction
        # (`wait_for_permalinks`, and so `drain`, at once), instead of one each.
        self._links_to_write: list[dict[str, Any]] = []
        self._jobs: dict[str, Job] = {}
        self._dm_channels: dict[tuple[int, str], str] = {}
        self._senders: ThreadPoolExecutor | None = None
        self._jobs[REMOVE_COPIES] = self._remove_copies
        # Organizations whose state this round changed (a disconnect, a staff channel
        # refused): their rows read the organization again instead of the round's copy.
        self._changed_organizations: set[int] = set()

    def register_job(self, method: str, job: Job) -> None:
        """Let outbox rows of `method` (named "ticketbot.…") run `job` with retries."""
        if not method.startswith(JOB_PREFIX):
            raise ValueError(f"job names start with {JOB_PREFIX!r}")
        self._jobs[method] = job

    # -- running ---------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="outbox-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._senders is not None:
            # Queues check `_stop` between rows; nothing not yet started is waited for.
            self._senders.shutdown(wait=False, cancel_futures=True)
            self._senders = None
        if self._permalinks is not None:
            self._permalinks.shutdown(wait=False, cancel_futures=True)
            self._permalinks = None
        with contextlib.suppress(Exception):  # links learnt and not yet written
            self.wait_for_permalinks(timeout=0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                delivered = self.run_once()
            except Exception:  # the worker must outlive a database hiccup
                log.exception("outbox delivery round failed")
                delivered = 0
            if delivered == 0:
                self._wake.wait(timeout=1.0)

    def drain(self, max_rounds: int = 100) -> None:
        """Deliver until nothing is due (tests and `ticketbot demo`); each round's card
        links are in before the next round draws its messages."""
        for _ in range(max_rounds):
            claimed = self.run_once()
            self.wait_for_permalinks()
            if claimed == 0:
                return

    def wait_for_permalinks(self, timeout: float = 30.0) -> None:
        with self._permalink_lock:
            pending, self._permalinks_pending = self._permalinks_pending, []
        wait(pending, timeout=timeout)
        links = self._take_links()
        if links:
            try:
                with self.db.connection() as connection:
                    connection.execute(_SET_CARD_PERMALINK, links)
            except BaseException:
                self._put_links_back(links)
                raise

    def _take_links(self) -> list[dict[str, Any]]:
        with self._permalink_lock:
            links, self._links_to_write = self._links_to_write, []
        return links

    def _put_links_back(self, links: list[dict[str, Any]]) -> None:
        with self._permalink_lock:
            self._links_to_write[:0] = links

    # -- one round -------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim the due rows and deliver them; returns how many were claimed."""
        with self._lock:  # one round at a time per process
            claimed = self._draw_ahead(self._claim())
            # Rows for one conversation go out one after another, in id order (tickets
            # appear in the staff channel in the order they were filed; a person's DMs
            # arrive in order); different conversations at once, as Slack answers each
            # call in tens of milliseconds.
            by_conversation: dict[str, list[_Claimed]] = {}
            for claim in claimed:
                by_conversation.setdefault(_conversation(claim.row), []).append(claim)
            queues = list(by_conversation.values())
            if len(queues) > 1 and self.policy.senders > 1:
                outcomes = self._deliver_side_by_side(queues)
            else:  # one conversation, or no pool: in this thread
                outcomes = [self._deliver_in_turn(queue) for queue in queues]
            # What the queues posted the usual way is recorded in one transaction.
            self._record_posted(outcomes)
            failure = next((f for f, _ in outcomes if f is not None), None)
            if failure is not None:
                raise failure
            return len(claimed)

    def _deliver_side_by_side(
        self, queues: list[list[_Claimed]]
    ) -> list[tuple[Exception | None, list[_Posted]]]:
        """Each queue on a sender; every queue ends before the round does (one round at a
        time). While a slow queue holds the round up (Slack timing out), what the finished
        ones posted is recorded every quarter lease rather than left to the round's end."""
        if self._senders is None:
            self._senders = ThreadPoolExecutor(
                self.policy.senders, thread_name_prefix="outbox-sender"
            )
        running = {self._senders.submit(self._deliver_in_turn, queue) for queue in queues}
        outcomes: list[tuple[Exception | None, list[_Posted]]] = []
        while running:
            finished, running = wait(running, timeout=self.policy.lease.total_seconds() / 4)
            outcomes += [future.result() for future in finished]
            if running:
                self._record_posted(outcomes)
        return outcomes

    def _deliver_in_turn(self, claims: list[_Claimed]) -> tuple[Exception | None, list[_Posted]]:
        """Deliver rows one after another: every row is tried, whatever happens to the
        others. Returns the first unexpected error, and the rows posted the usual way and
        not yet recorded.

        Those are recorded together, the whole round's in one transaction (instead of one
        per message): earlier, only before a row of this queue that reads what they record
        (a reference to a posted message), before any other outcome of a row here, and
        once the round has taken half the lease (Slack is slow: not left to lapse). A
        crash in between leaves posted rows pending, as a crash between posting and
        recording always could: their next try finds them in Slack by their metadata and
        posts nothing twice. (Rows of other conversations, sent at the same time as these,
        could never count on finding them recorded.)"""
        failure: Exception | None = None
        posted: list[_Posted] = []
        for claim in claims:
            if self._stop.is_set():
                break  # the rest stay claimed; the claim lapses and they go out later
            try:
                if not _needs_no_reads(claim.row) or self._claim_aging(claim):
                    self._record(posted)
                self._deliver(claim, posted)
            except Exception as error:
                failure = failure or error
        return failure, posted

    def _claim(self) -> list[_Claimed]:
        """Claim a batch of due rows, in id order: each row as claimed (detached), with
        the time of the claim."""
        now = self.clock()
        links = self._take_links()
        try:
            return self._claim_writing(now, links)
        except BaseException:
            self._put_links_back(links)
            raise

    def _claim_writing(self, now: datetime, links: list[dict[str, Any]]) -> list[_Claimed]:
        with self.db.session() as session:
            if links:  # the cards' links learnt since the last claim
                session.connection().execute(_SET_CARD_PERMALINK, links)
            rows = list(
                session.exec(
                    self._claim_query,
                    params={"now": now, "batch": self.policy.batch_size},
                ).all()
            )
            claimed_until = now + self.policy.lease
            if rows:
                # One statement for the batch (the ORM would flush each row on its own);
                # the loaded rows are given the same values, as if read after it.
                session.connection().execute(
                    _CLAIM_ROWS,
                    {
                        "row_ids": [row.id for row in rows],
                        "claimed_until": claimed_until,
                        "worker_id": self.worker_id,
                    },
                )
            for row in rows:
                set_committed_value(row, "claimed_until", claimed_until)
                set_committed_value(row, "claimed_by", self.worker_id)
                set_committed_value(row, "attempts", row.attempts + 1)
            session.expunge_all()
        return [_Claimed(row, now) for row in rows if row.id is not None]

    def _draw_ahead(self, claimed: list[_Claimed]) -> list[_Claimed]:
        """Read, for the whole batch at once, the rows' organizations and the cards and
        "received" DMs they draw: one read and a statement per kind, instead of a unit of
        work and a dozen statements per message. A row drawn here is sent as drawn, within
        the round (its ticket's later changes follow it in its lane, as updates). Anything
        that goes wrong here leaves the row to be drawn as it is sent, as before."""
        if not claimed:
            return claimed
        self._changed_organizations.clear()
        try:
            with self.db.read_session() as session:
                organizations = {
                    o.id: o
                    for o in session.exec(
                        select(Organization).where(
                            col(Organization.id).in_({c.row.organization_id for c in claimed})
                        )
                    ).all()
                }
                drawing = [c for c in claimed if _drawn_ahead(c.row)]
                outbox_render.read_ahead(session, (c.row.ticket_id or 0 for c in drawing))
                ahead = [self._drawn(session, organizations, claim) for claim in claimed]
        except Exception:
            log.exception("could not read the outbox batch ahead; drawing row by row")
            return claimed
        return ahead

    def _drawn(
        self, session: Session, organizations: dict[int | None, Organization], claim: _Claimed
    ) -> _Claimed:
        row = claim.row
        organization = organizations.get(row.organization_id)
        if organization is None or not _drawn_ahead(row):
            return replace(claim, organization=organization)
        what = str(row.payload[outbox.RENDER])
        has_staff_channel = bool(organization.staff_channel_id or self.default_staff_channel)
        try:
            drawn = outbox_render.draw(session, row, what, has_staff_channel)
        except outbox_render.TicketGone as gone:
            return replace(claim, organization=organization, gone=gone)
        return replace(claim, organization=organization, drawn=drawn)

    @functools.cached_property
    def _claim_query(self) -> Any:
        """Due rows not claimed by a live worker, oldest first, none behind an earlier
        pending row of its ticket and lane (built once: the worker asks every round)."""
        now = bindparam("now", type_=UTCDateTime)
        earlier = aliased(OutboxMessage)
        waits_for_earlier = (
            select(earlier.id)
            .where(
                earlier.ticket_id == OutboxMessage.ticket_id,
                earlier.lane == OutboxMessage.lane,
                earlier.status == OutboxStatus.PENDING,
                col(earlier.id) < OutboxMessage.id,
            )
            .exists()
        )
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                col(OutboxMessage.next_attempt_at) <= now,
                or_(
                    col(OutboxMessage.claimed_until).is_(None),
                    col(OutboxMessage.claimed_until) < now,
                ),
                or_(col(OutboxMessage.ticket_id).is_(None), ~waits_for_earlier),
            )
            .order_by(col(OutboxMessage.id))
            .limit(bindparam("batch"))
        )
        if self.db.engine.dialect.name == "postgresql":
            # Several processes claim side by side without waiting on each other's rows.
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        return query

    def _still_mine(self, row_id: int) -> bool:
        """Renew this worker's claim on a row just before sending it.

        A batch is sent one row after another; if Slack is slow, the claim of a later row
        can lapse and another worker take it. Then this worker must leave it alone.
        """
        now = self.clock()
        with self.db.session() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row_id,
                    col(OutboxMessage.claimed_by) == self.worker_id,
                    col(OutboxMessage.status) == OutboxStatus.PENDING,
                )
                .values(claimed_until=now + self.policy.lease)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _claim_aging(self, claim: _Claimed) -> bool:
        """Whether the claim is old enough to be renewed before its row is sent."""
        return self.clock() >= claim.at + self.policy.lease / 2

    def _deliver(self, claim: _Claimed, posted: list[_Posted]) -> None:
        """Send one row; a message posted in the usual way joins `posted`, to be recorded
        with the others (see `_deliver_in_turn`), any other outcome is settled now."""
        row, row_id = claim.row, saved_id(claim.row)
        if self._claim_aging(claim) and not self._still_mine(row_id):
            # Late in a slow batch the claim may lapse: renewed first. A fresh claim
            # cannot have lapsed, so it needs no unit of work of its own.
            return
        organization: Organization | None = None
        try:
            prepared = self._prepare_ahead(claim) or self._prepare(row)
            if prepared is None:
                return  # no longer pending (withdrawn), or gone
            organization, client, args = prepared
            result = self._send(client, organization, row, args)
        except Exception as error:
            self._record(posted)  # the rows posted before this one are recorded first
            self._settle_failure(row, organization, error)
            return
        done = _Posted(row, organization, result)
        if self._records_together(done):
            posted.append(done)
            return
        self._record(posted)  # in order: the rows posted before this one first
        self._record([done])

    def _settle_failure(
        self, row: OutboxMessage, organization: Organization | None, error: Exception
    ) -> None:
        row_id = saved_id(row)
        if isinstance(error, _Defer):
            self._finish(row_id, defer_until=error.until, error=error.reason, count_attempt=False)
        elif isinstance(error, Undeliverable):
            self._finish(row_id, failed=f"{row.method}: {error.reason}")
        elif isinstance(error, SlackApiError):
            assert organization is not None  # only sending raises it
            self._handle_api_error(organization, row, error)
        else:  # timeouts, refused connections, DNS: Slack is unreachable
            # A post may have reached Slack all the same: wait for it to show before the
            # look-up that precedes posting again.
            uncertain = row.method == "chat.postMessage"
            self._retry_later(
                row,
                f"{type(error).__name__}: {error}" + (UNCERTAIN if uncertain else ""),
                at_least=self.policy.uncertain_post_wait if uncertain else None,
            )

    def _records_together(self, done: _Posted) -> bool:
        """Whether a posted row is recorded the usual way (two Core statements), which can
        wait for the others of its queue: not a comment's copy, not while its
        organization's staff channel was failing or its state changed this round."""
        row, organization = done.row, done.organization
        return not (
            outbox.RECORD_COMMENT in row.payload
            or (row.channel_ref is not None and organization.staff_channel_error)
            or organization.id in self._changed_organizations
        )

    def _record_posted(self, outcomes: list[tuple[Exception | None, list[_Posted]]]) -> None:
        """Record what the queues posted and have not recorded (and empty their lists)."""
        posted = [done for _, queue_posted in outcomes for done in queue_posted]
        for _, queue_posted in outcomes:
            queue_posted.clear()
        self._record(posted)

    def _record(self, posted: list[_Posted]) -> None:
        """Record the posted rows (and empty `posted`), in order: the usual ones in one
        transaction; one that was taken over or withdrawn meanwhile, and any other
        outcome, through `_finish`. Then the links to the cards are asked for."""
        rows, posted[:] = list(posted), []
        together = [done for done in rows if self._records_together(done)]
        recorded: set[int] = set()
        if together:
            with self.db.connection() as connection:
                recorded = _mark_sent(connection, together, self.clock())
        for done in rows:
            row, (channel, ts) = done.row, done.result
            if saved_id(row) not in recorded:
                self._finish(saved_id(row), sent=done.result, organization=done.organization)
            if row.record_as == MessageRole.STAFF_CARD and channel and ts:
                self._fetch_permalink_later(done.organization, row, channel, ts)

    def _fetch_permalink_later(
        self, organization: Organization, row: OutboxMessage, channel: str, ts: str
    ) -> None:
        """Ask Slack for the link to a posted card beside the queue, and keep it with the
        card's reference. Nice to have: a link not learnt (a failure, a restart) leaves
        "ticket #N" without a link, nothing else."""
        client = self.client_for(organization)
        if client is None or row.ticket_id is None:
            return
        ticket_id = row.ticket_id

        def fetch() -> None:
            link = _permalink(client, channel, ts)
            if link:
                with self._permalink_lock:
                    self._links_to_write.append(
                        {"card_ticket_id": ticket_id, "card_ts": ts, "card_permalink": link}
                    )
                self.wake()  # the next claim writes it

        with self._permalink_lock:
            if self._permalinks is None:
                self._permalinks = ThreadPoolExecutor(2, thread_name_prefix="outbox-permalink")
            self._permalinks_pending = [f for f in self._permalinks_pending if not f.done()]
            self._permalinks_pending.append(self._permalinks.submit(fetch))

    # -- sending ---------------------------------------------------------------------------

    def _prepare_ahead(
        self, claim: _Claimed
    ) -> tuple[Organization, WebClient, dict[str, Any]] | None:
        """`_prepare` for a row the round read ahead and whose arguments need nothing more
        from the database (no references to messages, no names, no card link): one
        statement, the status check. None: `_prepare` does it (and does the check)."""
        row, organization = claim.row, claim.organization
        if (
            organization is None
            or organization.id in self._changed_organizations
            or not _needs_no_reads(row)
            or (outbox.RENDER in row.payload and claim.drawn is None and claim.gone is None)
        ):
            return None
        if self.clock() >= claim.at + self.policy.lease / 2 or outbox.RECORD_COMMENT in row.payload:
            # Only copies of comments are withdrawn by others (see messages.py), and only a
            # lapsed claim lets another worker finish a row: a fresh claim of any other row
            # is still pending. Otherwise the status is read before sending.
            with self._read_only_engine.connect() as connection:
                status = connection.execute(_ROW_STATUS, {"row_id": row.id}).scalar()
            if status != OutboxStatus.PENDING:
                return None  # withdrawn meanwhile: `_prepare` reads again and skips it
        client = self.client_for(organization)
        if client is None:
            raise _Defer(self.clock() + self.policy.no_staff_channel_wait, "no Slack token")
        args = dict(row.payload)
        args.pop(outbox.RECORD_COMMENT, None)  # ours, not Slack's (see _settle)
        if row.channel_ref == outbox.STAFF_CHANNEL:
            channel = self._staff_channel(organization)
            if not channel:
                raise _Defer(
                    self.clock() + self.policy.no_staff_channel_wait, "no staff channel is set"
                )
            args["channel"] = channel
        args.pop("thread_optional", None)
        self._wait_for_staff_channel(organization, row, args)
        if claim.gone is not None:
            raise Undeliverable(f"ticket_not_found: {claim.gone}") from claim.gone
        args.pop(outbox.RENDER, None)
        args.update(claim.drawn or {})
        return organization, client, args

    @functools.cached_property
    def _read_only_engine(self) -> Any:
        return self.db.engine.execution_options(**{READ_ONLY_OPTION: True})

    def _prepare(self, row: OutboxMessage) -> tuple[Organization, WebClient, dict[str, Any]] | None:
        """One read: is the row still to be sent, its organization as it is now, and its
        arguments with references resolved and messages drawn. None: not to be sent."""
        with self.db.read_session() as session:
            status = session.connection().execute(_ROW_STATUS, {"row_id": row.id}).scalar()
            if status != OutboxStatus.PENDING:
                return None
            organization = session.get(Organization, row.organization_id)
            if organization is None:
                return None
            client = self.client_for(organization)
            if client is None:
                raise _Defer(self.clock() + self.policy.no_staff_channel_wait, "no Slack token")
            args = dict(row.payload)
            args.pop(outbox.RECORD_COMMENT, None)  # ours, not Slack's (see _settle)
            self._resolve_refs(session, organization, row, args)
            self._wait_for_staff_channel(organization, row, args)
            try:
                outbox_render.render(
                    session,
                    row,
                    args,
                    has_staff_channel=bool(
                        organization.staff_channel_id or self.default_staff_channel
                    ),
                )
            except outbox_render.TicketGone as gone:
                raise Undeliverable(f"ticket_not_found: {gone}") from gone
        return organization, client, args

    def _send(
        self,
        client: WebClient,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        dm_user = args.pop("dm_user", None)
        fallback_dm_user = args.pop("fallback_dm_user", None)
        if dm_user:
            args["channel"] = self._dm_channel(client, organization, dm_user)
        if row.method.startswith(JOB_PREFIX):
            job = self._jobs.get(row.method)
            if job is None:
                raise Undeliverable(f"unknown_method: no job {row.method}")
            return job(client, organization, row, args)
        key = (organization.id or 0, row.method, str(args.get("channel", "")))
        blocked = self._blocked_until.get(key)
        if blocked and blocked > self.clock():
            raise _Defer(blocked, f"rate limited until {blocked.isoformat()}")
        if row.method == "chat.postMessage":
            args["metadata"] = {
                "event_type": OUTBOX_METADATA_EVENT,
                "event_payload": {"outbox_id": row.id},
            }
            if row.attempts > 1:
                already = self._find_posted(client, row, args)
                if already:
                    log.info("outbox row %s was already posted as %s", row.id, already)
                    if UNCERTAIN in (row.last_error or ""):
                        self._remove_copies_later(organization, row, args["channel"], already, args)
                    return args["channel"], already
            try:
                response = client.chat_postMessage(**args)
            except SlackApiError as error:
                code = error.response.get("error") if error.response else None
                if fallback_dm_user and code in CANNOT_POST_THERE:
                    opened = client.conversations_open(users=fallback_dm_user)
                    response = client.chat_postMessage(
                        channel=opened["channel"]["id"],
                        text=args.get("text", ""),
                    )
                else:
                    raise
            if UNCERTAIN in (row.last_error or ""):
                # The try that timed out may land after this one.
                self._remove_copies_later(
                    organization, row, response["channel"], response["ts"], args
                )
            return response["channel"], response["ts"]
        response = client.api_call(row.method, json=args)
        return response.get("channel"), response.get("ts")

    def _staff_channel(self, organization: Organization) -> str | None:
        return organization.staff_channel_id or self.default_staff_channel

    def _wait_for_staff_channel(
        self, organization: Organization, row: OutboxMessage, args: dict[str, Any]
    ) -> None:
        """Messages for a staff channel Slack refused wait until its next try."""
        retry_at = organization.staff_channel_retry_at
        if (
            organization.staff_channel_error
            and row.channel_ref is not None
            and args.get("channel") == self._staff_channel(organization)
            and retry_at is not None
            and retry_at > self.clock()
        ):
            raise _Defer(retry_at, f"staff channel unreachable: {organization.staff_channel_error}")

    def _dm_channel(self, client: WebClient, organization: Organization, user: str) -> str:
        """The DM channel with `user`; Slack answers conversations.open with the same id
        every time, so it is asked once per person and process."""
        key = (organization.id or 0, user)
        channel = self._dm_channels.get(key)
        if channel is None:
            channel = client.conversations_open(users=user)["channel"]["id"]
            self._dm_channels[key] = channel
        return channel

    def _resolve_refs(
        self, session: Session, organization: Organization, row: OutboxMessage, args: dict[str, Any]
    ) -> None:
        if row.channel_ref == outbox.STAFF_CHANNEL:
            current = session.get(Organization, organization.id)
            channel = (current.staff_channel_id if current else None) or self.default_staff_channel
            if not channel:
                raise _Defer(
                    self.clock() + self.policy.no_staff_channel_wait, "no staff channel is set"
                )
            args["channel"] = channel
        for ref_name, arg in (
            (row.channel_ref, "channel"),
            (row.ts_ref, "ts"),
            (row.thread_ref, "thread_ts"),
        ):
            if ref_name is None or ref_name == outbox.STAFF_CHANNEL:
                continue
            ref = session.exec(
                select(SlackMessageRef).where(
                    SlackMessageRef.ticket_id == row.ticket_id, SlackMessageRef.role == ref_name
                )
            ).first()
            if ref is None and arg == "thread_ts" and args.pop("thread_optional", False):
                continue  # no thread to reply in (its first message failed): post on its own
            if ref is None:
                # The message this one hangs off was never posted (it failed for good).
                raise Undeliverable(
                    f"missing_parent_message: the {ref_name} message of this ticket was never "
                    "posted"
                )
            args[arg] = ref.channel_id if arg == "channel" else ref.ts
        args.pop("thread_optional", None)

    def _find_posted(
        self, client: WebClient, row: OutboxMessage, args: dict[str, Any]
    ) -> str | None:
        """The ts of the message an earlier attempt of `row` already posted, if any."""
        copies = _posted_copies(
            client,
            outbox_id=row.id or 0,
            channel=args["channel"],
            thread_ts=args.get("thread_ts"),
            oldest=row.created_at,
        )
        return copies[0] if copies else None

    def _remove_copies_later(
        self,
        organization: Organization,
        row: OutboxMessage,
        channel: str,
        ts: str,
        args: dict[str, Any],
    ) -> None:
        """An earlier try of `row` timed out, so its post may still land after the one
        kept: look again later, and delete any copy but `ts`."""
        with self.db.session() as session:
            job_id = outbox.enqueue(
                session,
                organization=organization,
                ticket=None,
                method=REMOVE_COPIES,
                payload={
                    "outbox_id": row.id,
                    "channel": channel,
                    "thread_ts": args.get("thread_ts"),
                    "keep_ts": ts,
                    "oldest": row.created_at.timestamp(),
                },
            )
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == job_id)
                .values(next_attempt_at=self.clock() + self.policy.uncertain_post_wait)
                .execution_options(synchronize_session=False)
            )

    def _remove_copies(
        self,
        client: WebClient,
        organization: Organization,
        row: OutboxMessage,
        args: dict[str, Any],
    ) -> tuple[str | None, str | None]:
        copies = _posted_copies(
            client,
            outbox_id=int(args["outbox_id"]),
            channel=args["channel"],
            thread_ts=args.get("thread_ts"),
            oldest=datetime.fromtimestamp(float(args["oldest"]), tz=UTC),
        )
        for ts in copies:
            if ts != args["keep_ts"]:
                log.warning("outbox row %s was posted twice; deleting %s", args["outbox_id"], ts)
                try:
                    client.chat_delete(channel=args["channel"], ts=ts)
                except SlackApiError as error:
                    if (error.response or {}).get("error") != "message_not_found":
                        raise
        return None, None

    # -- outcomes --------------------------------------------------------------------------

    def _handle_api_error(
        self, organization: Organization, row: OutboxMessage, error: SlackApiError
    ) -> None:
        # Handling it may change the organization (a disconnect, a refused staff channel):
        # the round's later rows read it again.
        self._changed_organizations.add(organization.id or 0)
        response = error.response
        status = getattr(response, "status_code", None)
        code = response.get("error") if response is not None else None
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after_seconds(response)
            until = self.clock() + timedelta(seconds=retry_after)
            channel = str(row.payload.get("channel", ""))
            if row.channel_ref == outbox.STAFF_CHANNEL or not channel:
                channel = self._channel_of(organization, row)
            self._blocked_until[(organization.id or 0, row.method, channel)] = until
            self._finish(
                saved_id(row),
                defer_until=until,
                error=f"ratelimited ({retry_after}s)",
                count_attempt=False,
            )
            return
        if code in ACCESS_LOST_ERRORS:
            client = self.client_for(organization)
            if client is not None and installs.token_works(client, organization):
                # One refusal that auth.test does not confirm: not worth pausing a workspace.
                self._retry_later(row, f"{row.method}: {code} (auth.test still works)")
                return
            with self.db.session() as session:
                installs.disconnect(session, organization=organization, reason=str(code))
            self._finish(
                row.id,  # type: ignore[arg-type]
                defer_until=self.clock() + self.policy.no_staff_channel_wait,
                error=f"{row.method}: {code} (workspace disconnected)",
                count_attempt=False,
            )
            return
        if (
            code in CANNOT_POST_THERE
            and row.channel_ref is not None
            and self._channel_of(organization, row) == self._staff_channel(organization)
        ):
            # The staff channel itself is refused: park its messages, in order, instead of
            # losing them; the admins are told once (see installs.staff_channel_unreachable).
            retry_at = self.clock() + self.policy.staff_channel_retry
            with self.db.session() as session:
                installs.staff_channel_unreachable(
                    session,
                    organization_id=organization.id or 0,
                    channel=self._staff_channel(organization) or "",
                    error=str(code),
                    retry_at=retry_at,
                )
            self._finish(
                row.id,  # type: ignore[arg-type]
                defer_until=retry_at,
                error=f"{row.method}: {code} (staff channel unreachable)",
                count_attempt=False,
            )
            return
        dm_user = row.payload.get("dm_user")
        if (
            dm_user
            and code in ("channel_not_found", "is_archived")
            and (self._dm_channels.pop((organization.id or 0, dm_user), None) is not None)
        ):
            self._retry_later(row, f"{row.method}: {code} (DM channel opened again next time)")
            return
        if (row.method, code) in (
            ("chat.delete", "message_not_found"),  # already gone
            ("reactions.add", "already_reacted"),  # already marked
        ):
            self._finish(row.id, sent=(None, None))  # type: ignore[arg-type]
            return
        if code in PERMANENT_ERRORS:
            self._finish(row.id, failed=f"{row.method}: {code}")  # type: ignore[arg-type]
            return
        self._retry_later(row, f"{row.method}: {code or error}")

    def _channel_of(self, organization: Organization, row: OutboxMessage) -> str:
        with self.db.session() as session:
            args: dict[str, Any] = {}
            try:
                self._resolve_refs(session, organization, row, args)
            except Exception:
                return ""
            return str(args.get("channel", ""))

    def _retry_later(
        self, row: OutboxMessage, error: str, *, at_least: timedelta | None = None
    ) -> None:
        if row.attempts >= self.policy.max_attempts:
            self._finish(row.id, failed=f"gave up after {row.attempts} attempts: {error}")  # type: ignore[arg-type]
            return
        backoff = min(timedelta(seconds=2 ** max(row.attempts - 1, 0)), self.policy.max_backoff)
        if at_least is not None:
            backoff = max(backoff, at_least)
        self._finish(row.id, defer_until=self.clock() + backoff, error=error)  # type: ignore[arg-type]

    def _finish(
        self,
        row_id: int,
        *,
        sent: tuple[str | None, str | None] | None = None,
        defer_until: datetime | None = None,
        failed: str | None = None,
        error: str | None = None,
        count_attempt: bool = True,
        organization: Organization | None = None,
    ) -> None:
        duplicate: tuple[str, str] | None = None
        with self.db.session() as session:
            # Locked (PostgreSQL): a requester's deletion may be withdrawing it right now.
            row = session.get(OutboxMessage, row_id, with_for_update=True)
            if row is None:
                return
            if row.status != OutboxStatus.PENDING:
                # Another worker took the row over (this one's claim had lapsed) and got
                # there first. A message this worker posted meanwhile is a duplicate.
                if sent is not None and sent[0] and sent[1] and sent[1] != row.result_ts:
                    duplicate = (sent[0], sent[1])
            else:
                self._settle(session, row, sent, defer_until, failed, error, count_attempt)
        if duplicate is not None and row.method == "chat.postMessage":
            self._delete_duplicate(row, duplicate, organization)

    def _settle(
        self,
        session: Session,
        row: OutboxMessage,
        sent: tuple[str | None, str | None] | None,
        defer_until: datetime | None,
        failed: str | None,
        error: str | None,
        count_attempt: bool,
    ) -> None:
        row.claimed_until = None
        row.claimed_by = None
        if sent is not None:
            channel, ts = sent
            row.status = OutboxStatus.SENT
            row.sent_at = self.clock()
            row.result_channel, row.result_ts = channel, ts
            row.last_error = None
            if row.channel_ref is not None:
                installs.staff_channel_works(session, organization_id=row.organization_id)
                self._changed_organizations.add(row.organization_id)
            if row.record_as and channel and ts and row.ticket_id is not None:
                _record_ref(session, row, channel, ts)
            comment_id = row.payload.get(outbox.RECORD_COMMENT)
            if comment_id and channel and ts and session.get(TicketComment, comment_id):
                session.add(
                    SlackCommentRef(
                        organization_id=row.organization_id,
                        comment_id=comment_id,
                        channel_id=channel,
                        ts=ts,
                    )
                )
        elif failed is not None:
            row.status = OutboxStatus.FAILED
            row.last_error = failed
            log.error("outbox row %s failed for good: %s", row.id, failed)
        else:
            row.next_attempt_at = defer_until or self.clock()
            row.last_error = error
            if not count_attempt:
                row.attempts = max(row.attempts - 1, 0)
            log.warning("outbox row %s deferred: %s", row.id, error)
        session.add(row)

    def _delete_duplicate(
        self, row: OutboxMessage, duplicate: tuple[str, str], organization: Organization | None
    ) -> None:
        client = self.client_for(organization) if organization is not None else None
        if client is None:
            return
        channel, ts = duplicate
        log.warning("outbox row %s was posted twice; deleting the copy %s", row.id, ts)
        try:
            client.chat_delete(channel=channel, ts=ts)
        except (SlackApiError, OSError) as error:
            log.error("could not delete the duplicate %s of outbox row %s: %s", ts, row.id, error)


@dataclass(frozen=True)
class _Claimed:
    """A row this worker claimed (detached, as it was at the claim) and when; with, when
    the round read them ahead, its organization and its drawn message (see `_draw_ahead`)."""

    row: OutboxMessage
    at: datetime
    organization: Organization | None = None
    drawn: dict[str, Any] | None = None
    gone: outbox_render.TicketGone | None = None


@dataclass(frozen=True)
class _Posted:
    """A row Slack accepted: its (channel, ts), to be recorded."""

    row: OutboxMessage
    organization: Organization
    result: tuple[str | None, str | None]


def _mark_sent(connection: Connection, posted: list[_Posted], now: datetime) -> set[int]:
    """The usual outcome of posted rows in three Core statements, however many rows: each
    row sent if it is still pending (the UPDATE's condition, under the row's lock), and its
    message recorded as the ticket's card or DM. Returns the ids of the rows recorded; the
    others were taken over or withdrawn meanwhile (nothing written for them)."""
    updated = connection.execute(
        _MARK_SENT,
        [
            {"row_id": done.row.id, "now": now, "channel": done.result[0], "ts": done.result[1]}
            for done in posted
        ],
    ).rowcount
    if updated == len(posted):
        recorded = posted
    else:  # which of them this UPDATE marked: sent, with this worker's message
        sent_as = dict(
            connection.execute(_SENT_AS, {"row_ids": [done.row.id for done in posted]}).all()
        )
        recorded = [
            done
            for done in posted
            if done.row.id in sent_as and sent_as[done.row.id] == done.result[1]
        ]
    references = [
        {
            "organization_id": done.row.organization_id,
            "ticket_id": done.row.ticket_id,
            "role": done.row.record_as,
            "channel_id": done.result[0],
            "ts": done.result[1],
            "created_at": utcnow(),
        }
        for done in recorded
        if done.row.record_as and done.result[0] and done.result[1] and done.row.ticket_id
    ]
    if references:
        connection.execute(_insert_ref_once(connection.dialect.name), references)
    return {saved_id(done.row) for done in recorded}


_OUTBOX = table_of(OutboxMessage)
_CLAIM_ROWS = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("row_ids", expanding=True)))
    .values(
        claimed_until=bindparam("claimed_until", type_=UTCDateTime),
        claimed_by=bindparam("worker_id"),
        attempts=_OUTBOX.c.attempts + 1,
    )
)
_SENT_AS = core_select(_OUTBOX.c.id, _OUTBOX.c.result_ts).where(
    _OUTBOX.c.id.in_(bindparam("row_ids", expanding=True)),
    _OUTBOX.c.status == OutboxStatus.SENT,
)
_ROW_STATUS = core_select(_OUTBOX.c.status).where(_OUTBOX.c.id == bindparam("row_id"))
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.status == OutboxStatus.PENDING)
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("now", type_=UTCDateTime),
        result_channel=bindparam("channel"),
        result_ts=bindparam("ts"),
        last_error=None,
        claimed_until=None,
        claimed_by=None,
    )
)
_REF = table_of(SlackMessageRef)


@functools.cache
def _insert_ref_once(dialect: str) -> Any:
    """INSERT of a ticket's message reference that does nothing if the ticket has one in
    that role already (uq_slack_message_ref_ticket_role)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_REF).on_conflict_do_nothing(index_elements=["ticket_id", "role"])


_SET_CARD_PERMALINK = (
    update(_REF)
    .where(
        _REF.c.ticket_id == bindparam("card_ticket_id"),
        _REF.c.role == MessageRole.STAFF_CARD,
        _REF.c.ts == bindparam("card_ts"),
    )
    .values(permalink=bindparam("card_permalink"))
)


def _drawn_ahead(row: OutboxMessage) -> bool:
    """Whether the round draws the row's message ahead (a card or a ticket's DM)."""
    return row.ticket_id is not None and row.payload.get(outbox.RENDER) in _DRAWN_AHEAD


_DRAWN_AHEAD = frozenset(
    {outbox.Rendered.TICKET_CARD, outbox.Rendered.REQUESTER_RECEIVED, outbox.Rendered.FILED_NOTICE}
)


def _needs_no_reads(row: OutboxMessage) -> bool:
    """Whether the row's arguments are complete without reading the database (besides the
    organization's staff channel): no message references, names or card link to resolve."""
    return (
        row.channel_ref in (None, outbox.STAFF_CHANNEL)
        and row.ts_ref is None
        and row.thread_ref is None
        and not row.payload.get(outbox.NAMES)
        and not row.payload.get(outbox.LINK_CARD)
        and not row.method.startswith(JOB_PREFIX)
    )


def _conversation(row: OutboxMessage) -> str:
    """Which conversation a row posts into, as far as the row tells before delivery."""
    workspace = row.organization_id
    if row.method.startswith(JOB_PREFIX) and "dm_user" not in row.payload:
        return f"job:{row.id}"  # downloads and shares: no order among them to keep
    if row.payload.get("dm_user"):
        return f"{workspace}:dm:{row.payload['dm_user']}"
    if row.channel_ref is not None:
        return f"{workspace}:staff"  # the staff channel, or a card's thread in it
    return f"{workspace}:channel:{row.payload.get('channel', '')}"


def _posted_copies(
    client: WebClient, *, outbox_id: int, channel: str, thread_ts: str | None, oldest: datetime
) -> list[str]:
    """The ts of every message in `channel` (or in the thread `thread_ts`) that the outbox
    posted for row `outbox_id`, oldest first.

    Reads every page since the row was written (a busy channel may have moved on by
    hundreds of messages since), up to a bound.
    """
    found: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_LOOKUP_PAGES):
        if thread_ts:
            response = client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200, cursor=cursor
            )
        else:
            since = (oldest - timedelta(seconds=5)).timestamp()
            response = client.conversations_history(
                channel=channel,
                oldest=f"{since:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
        message: dict[str, Any]
        for message in response.get("messages", []):
            metadata: dict[str, Any] = message.get("metadata") or {}
            if (
                metadata.get("event_type") == OUTBOX_METADATA_EVENT
                and (metadata.get("event_payload") or {}).get("outbox_id") == outbox_id
                and message.get("ts")
            ):
                found.append(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return sorted(found, key=float)
    log.warning("outbox row %s: gave up looking for copies", outbox_id)
    return sorted(found, key=float)


def _permalink(client: WebClient, channel: str, ts: str) -> str | None:
    """A link to a message, if Slack gives one (nice to have: failures are ignored)."""
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except Exception:
        return None


def _record_ref(session: Session, row: OutboxMessage, channel: str, ts: str) -> None:
    existing = session.exec(
        select(SlackMessageRef).where(
            SlackMessageRef.ticket_id == row.ticket_id, SlackMessageRef.role == row.record_as
        )
    ).first()
    if existing is None:
        session.add(
            SlackMessageRef(
                organization_id=row.organization_id,
                ticket_id=row.ticket_id,  # type: ignore[arg-type]
                role=MessageRole(row.record_as or ""),
                channel_id=channel,
                ts=ts,
            )
        )


def _retry_after_seconds(response: Any) -> int:
    try:
        value = int(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
    except (AttributeError, TypeError, ValueError):
        value = 1
    return max(1, min(value, 3600))


def failed_count(db: Database) -> int:
    with db.read_session() as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.status) == OutboxStatus.FAILED)
            ).one()
        )


def pending_count(db: Database) -> int:
    with db.read_session() as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
            ).one()
        )
