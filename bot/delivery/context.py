"""What a renderer is given and returns: the row, what it is about (read in the unit of work of
this send), who receives it (resolved from the kind's audience), and the prompt to send.

Renderers raise ``Discard`` (nothing to send any more) or ``Postponed`` (the person paused
messages) from bot.delivery.worker; returning None means the row has nothing left to do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.delivery.port import Document
from bot.delivery.worker import Discard, Postponed
from bot.services import preferences
from bot.services.case_views import person_language
from bot.services.revocation import has_role
from conversations.forms import Programme, ServiceConfig
from conversations.i18n import Catalog, Translate
from conversations.preferences import Preferences
from conversations.prompts import Prompt, esc
from storage import Person, Referral, Unit
from storage.outbox import OutboxItem

log = logging.getLogger("peerdoor.delivery")

#: The staff roles a person can hold.
ROLES = ("coordinator", "supporter")


@dataclass(frozen=True)
class Target:
    """One chat to send to, in its language. ``protect``: details about a referral, not to be
    forwarded; ``silent`` and ``discreet``: the referrer's choices."""

    chat_id: int
    language: str
    protect: bool = False
    silent: bool = False
    discreet: bool = True


#: The chat of a person without Telegram: none (bot.delivery.dispatch never sends to it).
NO_CHAT = 0

#: Written with the mark "sent", in the same transaction, given the id of the message sent.
Keep = Callable[[Unit, int], Awaitable[object]]


@dataclass(frozen=True)
class Rendered:
    """The prompt for every target; a document goes with it as a file (the prompt its caption).
    ``keep``: something to record about the message, when exactly one was sent."""

    targets: list[Target]
    prompt: Prompt
    document: Document | None = None
    keep: Keep | None = None


@dataclass
class Context:
    """One outbox row being sent, inside the unit of work that reads what it needs."""

    uow: Unit
    item: OutboxItem
    config: ServiceConfig
    catalog: Catalog
    now: datetime
    about: Referral | None = None
    in_programme: Programme | None = None
    #: The kind's audience, resolved (empty for "supporter": its renderer finds them).
    targets: list[Target] = field(default_factory=list)
    #: The referrer's preferences (audience "referrer").
    prefs: Preferences | None = None
    #: For a referrer without Telegram: what the holder is asked to call them about, and the
    #: holder (else each coordinator, privately) who is asked.
    task: str | None = None
    task_for: list[Target] = field(default_factory=list)

    @property
    def referral(self) -> Referral:
        assert self.about is not None  # every kind but "recipient" is about a referral
        return self.about

    @property
    def programme(self) -> Programme:
        assert self.in_programme is not None
        return self.in_programme

    @property
    def to(self) -> Target:
        """The one recipient (audiences "holder" and "referrer")."""
        (target,) = self.targets
        return target

    def t(self, language: str) -> Translate:
        return self.catalog.translator(language)

    async def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(await self.uow.outbox.payload(self.item) or b"{}")
        return loaded

    def discreet(self, prompt: Prompt, target: Target) -> Prompt:
        """The referrer chose plain messages: say who it is from."""
        if target.discreet:
            return prompt
        name = self.programme.text(self.programme.name, target.language)
        return Prompt(f"{esc(name)}\n\n{prompt.text}", prompt.buttons)

    async def owner(self) -> Person:
        person = await self.uow.people.get(self.referral.person_id)
        assert person is not None  # a referral is erased with its person
        return person

    async def owner_prefs(self) -> Preferences:
        return await preferences.load(self.uow, await self.owner())

    async def entry(self, entry_id: object) -> str | None:
        """A thread entry of the referral (a relayed message, a note), if still there."""
        found = next(
            (e for e in await self.uow.thread.list(self.referral) if e.id == entry_id), None
        )
        return found.body.decode() if found is not None else None

    # -- audiences ------------------------------------------------------------------------------

    async def holder(self) -> Target | None:
        """Whoever holds the referral, if they are still a coordinator of its programme (asked
        now, at send time: a row queued before their role went never reaches them)."""
        referral = self.referral
        if referral.holder_id is None:
            return None
        person = await self.uow.people.get(referral.holder_id)
        if person is None:
            return None
        if not await has_role(self.uow, self.config, person, "coordinator", self.programme.id):
            log.warning("delivery.not_sent reason=holder_without_role ref=%s", referral.reference)
            return None
        return Target(
            await self.uow.people.telegram_id(person),
            await person_language(self.uow, person, "en"),
            protect=True,
        )

    async def coordinator_ids(self) -> set[int]:
        programme = self.programme
        ids = set(programme.coordinators)
        for person in await self.uow.roles.holders("coordinator", programme.id):
            ids.add(await self.uow.people.telegram_id(person))
        return ids

    async def coordinators(self) -> list[Target]:
        """The programme's coordinator group, else each coordinator."""
        lang = self.programme.default_language
        if self.programme.coordinator_chat is not None:
            return [Target(self.programme.coordinator_chat, lang)]
        return [Target(i, lang) for i in sorted(await self.coordinator_ids())]

    async def holder_or_coordinators(self) -> list[Target]:
        """The holder; with nobody holding the referral, each coordinator's private chat
        (never a group)."""
        holder = await self.holder()
        if holder is not None:
            return [holder]
        lang = self.programme.default_language
        return [Target(i, lang, protect=True) for i in sorted(await self.coordinator_ids())]

    async def referrer(self) -> tuple[Target, Preferences]:
        """The person who sent the referral, unless they paused messages from us."""
        prefs = await self.owner_prefs()
        if prefs.blocked:
            raise Discard("blocked")  # until they write again
        if prefs.paused(self.now):
            assert prefs.paused_until is not None
            raise Postponed(prefs.paused_until)
        target = Target(
            await self.uow.people.telegram_id(await self.owner()),
            prefs.language or self.programme.default_language,
            silent=prefs.silent,
            discreet=prefs.discreet,
        )
        return target, prefs

    def offline(self, prefs: Preferences) -> Target:
        """The referrer who has no Telegram, as the kind's renderer sees them (their language):
        never sent to, the dispatcher sends the holder a task instead (``task_for``)."""
        return Target(NO_CHAT, prefs.language or self.programme.default_language)

    async def recipient_as_referrer(self) -> Target | None:
        """The professional the row names, if they still made this referral (their details
        gone with an erasure: nobody)."""
        item = self.item
        person = await self.uow.people.get(item.recipient_id) if item.recipient_id else None
        made = await self.uow.referrals.referrer(self.referral)
        if person is None or made is None or made[0] != person.id:
            return None
        prefs = await preferences.load(self.uow, person)
        if prefs.blocked:
            raise Discard("blocked")
        return Target(
            await self.uow.people.telegram_id(person),
            prefs.language or self.programme.default_language,
            protect=True,
        )

    async def recipient(self) -> Target | None:
        """The person the row names (a former holder), in their language, while they are still
        on the staff of some programme (their role taken away since: not even the reference)."""
        item = self.item
        person = await self.uow.people.get(item.recipient_id) if item.recipient_id else None
        if person is None:
            return None
        chat = await self.uow.people.telegram_id(person)
        programmes = self.config.programmes
        ids = [p.id for p in programmes]
        staff = any(chat in p.coordinators for p in programmes) or any(
            [await self.uow.roles.programmes(person, role, ids) for role in ROLES]
        )
        if not staff:
            raise Discard("not_staff")
        return Target(chat, await person_language(self.uow, person, "en"), protect=True)
