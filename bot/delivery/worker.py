"""The delivery worker: sends what the outbox holds, when it is due, once.

Every message that must reach someone other than the person writing (a group notice, a
coordinator's copy of a referral, news for a referrer, a relayed message, a reminder) is written
to the outbox in the same transaction as the change that caused it. This worker sends it and
marks it sent. After a crash, a row that was sent but not yet marked is sent again: every
message is written to be harmless if it arrives twice.

One row never holds back another: a row that fails inside the bot (rendering, storage, a bug:
anything but Telegram's answers, which have their own handling) is retried a few times with a
backoff and then parked (state "parked", logged as delivery.parked, counted by
`peerdoor check-config`), while the rows behind it go on. A row about a person who was erased
(their key is gone: rows that came back with a restored backup) is dropped at once: there is
nothing left to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.delivery.port import Blocked, OnWire, Rejected, RetryLater, Unreachable, sending
from storage import Store, Unit, UnknownPerson, crashpoints
from storage.outbox import OutboxItem

log = logging.getLogger("peerdoor.delivery")

MAX_ATTEMPTS = 12
PARK_AFTER = 5  # attempts that failed inside the bot before a row is parked
IDLE_WAKEUP = 30.0  # seconds: look again even when nothing was signalled


class Postponed(Exception):
    """The recipient paused messages: deliver at `until` instead."""

    def __init__(self, until: datetime) -> None:
        super().__init__("postponed")
        self.until = until


class Discard(Exception):
    """Nothing to send any more (too late for its moment, the person blocked the bot): the
    row is dropped, with ``reason`` as its short code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Sent:
    """The outcome of one delivery: Telegram's message id, if one message was sent, and
    anything to record about it, written in the same transaction that marks it sent."""

    message_id: int | None = None
    record: Callable[[Unit], Awaitable[object]] | None = None


#: Sends one outbox item (rendering it from what the database holds now). Returns None when the
#: item has nothing left to do (for example the referral was claimed before a reminder was due).
Send = Callable[[OutboxItem], Awaitable[Sent | None]]
Clock = Callable[[], datetime]
#: Told when the worker goes idle, with when the earliest pending row is due (None: nothing is):
#: arms a timer that wakes the worker then.
Arm = Callable[[datetime | None], None]
#: Told when Telegram said the recipient of a row blocked the bot.
OnBlocked = Callable[[OutboxItem], Awaitable[None]]


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 ... seconds, at most ten minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 600))


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        send: Send,
        clock: Clock,
        *,
        at_most_once: tuple[str, ...] = (),
        arm: Arm | None = None,
        on_blocked: OnBlocked | None = None,
    ) -> None:
        self.store = store
        self.send = send
        self.clock = clock
        self.at_most_once = at_most_once  # kinds claimed on the wire, never sent twice
        self.arm = arm  # with a timer armed at the next due time, idling is only a safety net
        self.on_blocked = on_blocked
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until: datetime | None = None
        self._stopping = False
        self._unmarked: dict[int, Sent | None] = {}
        self._claimed: set[int] = set()  # at-most-once rows on the wire in this round
        self._unrecorded: dict[int, int] = {}  # sent rows whose recording failed: how often
        self._waiting = False

    @property
    def idle(self) -> bool:
        """Waiting for work with no wake-up signalled: what it could do now is done (tests
        drain the bot's work with this, rather than waiting in silence)."""
        return self._waiting and not self._wake.is_set()

    def wake(self) -> None:
        """Something was added to the outbox: look now."""
        self._wake.set()

    def start(self) -> None:
        """Start delivering (again, after ``stop``)."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="peerdoor-delivery")

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the delivery in hand, then stop; cancel only if that takes too long."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        await self._settle_interrupted()
        while not self._stopping:
            # Cleared before the round looks, never after: a wake while the round runs (a row
            # committed after its query) stays set, and the wait below returns at once.
            self._wake.clear()
            try:
                if not await self.drain():
                    await self._sleep()
            except Exception as exc:  # the worker must outlive any one failure
                log.error("delivery.loop_failed error=%s", type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _settle_interrupted(self) -> None:
        """Rows that were on the wire when the bot last died: never twice for at-most-once."""
        if not self.at_most_once:
            return
        try:
            async with self.store.unit() as uow:
                settled = await uow.outbox.settle_interrupted(self.at_most_once, self.clock())
        except Exception as exc:
            log.error("delivery.settle_failed error=%s", type(exc).__name__)
            return
        if settled:
            log.warning("delivery.ambiguous count=%d", settled)

    async def _sleep(self) -> None:
        if self.arm is not None:
            await self._sleep_armed(self.arm)
            return
        async with self.store.unit() as uow:
            next_due = await uow.outbox.next_due_at()
        delay = IDLE_WAKEUP
        if next_due is not None:
            delay = min(max((next_due - self.clock()).total_seconds(), 0.0), IDLE_WAKEUP)
        if delay <= 0 or self._stopping:
            return
        await self._wait(delay)

    async def _sleep_armed(self, arm: Arm) -> None:
        """Arm the timer at the next due time and wait for it (or any wake), at most
        IDLE_WAKEUP. The wake was cleared when the round began (`_run`): none is missed."""
        async with self.store.unit() as uow:
            next_due = await uow.outbox.next_due_at()
        if self._stopping:
            return
        arm(next_due)
        await self._wait(IDLE_WAKEUP)

    async def _wait(self, at_most: float) -> None:
        self._waiting = True
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), at_most)
        finally:
            self._waiting = False

    async def drain(self, limit: int = 50) -> int:
        """Deliver what is due now; returns how many rows were handled."""
        now = self.clock()
        if self._paused_until is not None and now < self._paused_until:
            await asyncio.sleep((self._paused_until - now).total_seconds())
        async with self.store.unit() as uow:
            items = await uow.outbox.due(self.clock(), limit)
        for item in items:
            if self._stopping:
                break
            try:
                await self._deliver(item)
            except Exception as exc:  # this row only: the ones behind it still go
                await self._failed_inside(item, exc)
            finally:
                self._claimed.discard(item.id)
        return len(items)

    async def _failed_inside(self, item: OutboxItem, exc: Exception) -> None:
        """A row failed in the bot, not at Telegram: drop (its person is erased), retry with a
        backoff, or park it after PARK_AFTER attempts. If even that cannot be written, the row
        stays as it was and the next round tries again; the rows behind it still go."""
        error = type(exc).__name__
        unrecorded = item.id in self._unmarked and not isinstance(exc, UnknownPerson)
        tries = self._unrecorded.get(item.id, 0) + 1 if unrecorded else 0
        try:
            if unrecorded and tries < PARK_AFTER:
                # it went out; only recording that failed (the database busy or full): a later
                # round records it without sending it again; not an attempt at sending
                self._unrecorded[item.id] = tries
                log.error("delivery.unrecorded kind=%s error=%s", item.kind, error)
                async with self.store.unit() as uow:
                    await uow.outbox.postpone(item, self.clock() + backoff(tries))
                return
            self._unrecorded.pop(item.id, None)
            if isinstance(exc, UnknownPerson):
                self._unmarked.pop(item.id, None)
                async with self.store.unit() as uow:
                    await uow.outbox.discard(item, self.clock(), "erased")
                log.warning("delivery.dropped kind=%s reason=erased", item.kind)
            elif unrecorded or item.attempts + 1 >= PARK_AFTER or item.id in self._claimed:
                # (claimed: an at-most-once row that may have gone out; never sent again)
                self._unmarked.pop(item.id, None)
                async with self.store.unit() as uow:
                    await uow.outbox.park(item, self.clock(), error)
                log.error("delivery.parked kind=%s error=%s", item.kind, error)
            else:
                async with self.store.unit() as uow:
                    await uow.outbox.retry(item, self.clock() + backoff(item.attempts + 1), error)
                log.error(
                    "delivery.internal_error kind=%s error=%s attempt=%d",
                    item.kind,
                    error,
                    item.attempts + 1,
                )
        except Exception as again:
            log.error(
                "delivery.row_failed kind=%s error=%s then=%s",
                item.kind,
                error,
                type(again).__name__,
            )

    async def _deliver(self, item: OutboxItem) -> None:
        if item.id in self._unmarked:  # it went out; only recording that failed: record it
            await self._mark_sent(item, self._unmarked[item.id])
            return
        # At most once: claimed in its own commit the moment it goes on the wire.
        wire = OnWire(lambda: self._claim(item)) if item.kind in self.at_most_once else None
        try:
            with sending(wire):
                sent = await self.send(item)
        except Discard as skip:
            async with self.store.unit() as uow:
                await uow.outbox.discard(item, self.clock(), skip.reason)
            log.info("delivery.discarded kind=%s reason=%s", item.kind, skip.reason)
            return
        except Postponed as later:
            async with self.store.unit() as uow:
                await uow.outbox.postpone(item, later.until)
            log.info("delivery.postponed kind=%s", item.kind)
            return
        except RetryLater as exc:
            self._paused_until = self.clock() + timedelta(seconds=exc.seconds)
            await self._retry(item, timedelta(seconds=exc.seconds), exc.code)
            return
        except Blocked as exc:
            await self._give_up(item, exc.code)
            if self.on_blocked is not None:
                await self.on_blocked(item)
            return
        except Rejected as exc:
            log.error("delivery.rejected kind=%s reason=%s", item.kind, exc.reason)
            await self._give_up(item, exc.code)
            return
        except Unreachable as exc:
            if exc.timed_out and wire is not None and wire.ran:  # it may have arrived
                await self._give_up(item, "ambiguous")  # never twice
                return
            # Telegram has no idempotency key: after a timeout the message may have arrived.
            # Sending again is the safe side for notifications; each is harmless twice.
            await self._retry(item, backoff(item.attempts + 1), exc.code)
            return
        crashpoints.reached("delivery.sent")
        # Remembered until it is recorded: if the database refuses the write (locked, full),
        # the row stays pending and the next round records it without sending again.
        self._unmarked[item.id] = sent
        await self._mark_sent(item, sent)

    async def _mark_sent(self, item: OutboxItem, sent: Sent | None) -> None:
        async with self.store.unit() as uow:
            await uow.outbox.mark_sent(item, self.clock(), sent.message_id if sent else None)
            if sent is not None and sent.record is not None:
                await sent.record(uow)
        self._unmarked.pop(item.id, None)
        self._unrecorded.pop(item.id, None)
        log.info("delivery.%s kind=%s", "sent" if sent else "dropped", item.kind)

    async def _claim(self, item: OutboxItem) -> None:
        async with self.store.unit() as uow:
            await uow.outbox.claim(item, self.clock())
        self._claimed.add(item.id)

    async def _retry(self, item: OutboxItem, after: timedelta, error: str) -> None:
        if item.attempts + 1 >= MAX_ATTEMPTS:
            await self._give_up(item, error)
            return
        async with self.store.unit() as uow:
            await uow.outbox.retry(item, self.clock() + after, error)
        log.warning(
            "delivery.retry kind=%s error=%s attempt=%d", item.kind, error, item.attempts + 1
        )

    async def _give_up(self, item: OutboxItem, error: str) -> None:
        async with self.store.unit() as uow:
            await uow.outbox.give_up(item, self.clock(), error)
        log.warning("delivery.failed kind=%s error=%s", item.kind, error)
