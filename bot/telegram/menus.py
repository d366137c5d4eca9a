"""The command menus, per role: the default menu for everyone (in every shipped language) and,
in each supporter's and coordinator's private chat, their own (``BotCommandScopeChat``, in the
language they chose). Published at start and refreshed now and then (``MENU_EVERY``), so a
role granted or taken away in the bot shows in the menu without a restart; a chat whose role
went away gets the default menu back (its own scope is deleted).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application

from bot.services import preferences
from conversations import command_menus
from conversations.command_menus import Role
from conversations.forms import ServiceConfig
from conversations.i18n import SOURCE_LANGUAGE, Catalog
from storage import Store
from storage.people import NoTelegram

log = logging.getLogger("peerdoor.menus")

MENU_EVERY = timedelta(minutes=10)


async def publish_default(app: Application, catalog: Catalog) -> None:
    """The menu everyone sees, in every shipped language."""
    for language in catalog.languages:
        _ = catalog.translator(language)
        commands = [BotCommand(c, d) for c, d in command_menus.for_everyone(_)]
        code = None if language == SOURCE_LANGUAGE else language
        await app.bot.set_my_commands(commands, language_code=code)


async def staff(store: Store, config: ServiceConfig) -> dict[int, tuple[Role, str | None]]:
    """Each supporter's and coordinator's chat id, their role (coordinator wins) and language."""
    found: dict[int, tuple[Role, str | None]] = {}
    async with store.unit() as uow:
        for role in ("supporter", "coordinator"):
            for programme in config.programmes:
                for person in await uow.roles.holders(role, programme.id):
                    try:
                        chat = await uow.people.telegram_id(person)
                    except NoTelegram:
                        continue
                    language = (await preferences.load(uow, person)).language
                    found[chat] = (role, language)
        for programme in config.programmes:
            for chat in programme.coordinators:
                language = found[chat][1] if chat in found else programme.default_language
                found[chat] = ("coordinator", language)
    return found


class RoleMenus:
    """Which chats have their own menu now (to give the default back when a role goes)."""

    def __init__(self, app: Application, store: Store, config: ServiceConfig, catalog: Catalog):
        self.app, self.store, self.config, self.catalog = app, store, config, catalog
        self.published: dict[int, tuple[Role, str]] = {}

    async def refresh(self) -> int:
        """Publish what changed; returns how many chats were (re)published or cleared."""
        wanted: dict[int, tuple[Role, str]] = {}
        for chat, (role, language) in (await staff(self.store, self.config)).items():
            lang = language if language in self.catalog.languages else SOURCE_LANGUAGE
            wanted[chat] = (role, lang)
        changed = 0
        for chat, (role, lang) in wanted.items():
            if self.published.get(chat) == (role, lang):
                continue
            _ = self.catalog.translator(lang)
            commands = [BotCommand(c, d) for c, d in command_menus.for_role(role, _)]
            try:
                await self.app.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat))
            except TelegramError as exc:  # a chat the bot cannot reach yet: next time
                log.info("menus.not_set error=%s", type(exc).__name__)
                continue
            self.published[chat] = (role, lang)
            changed += 1
        for chat in [c for c in self.published if c not in wanted]:
            try:
                await self.app.bot.delete_my_commands(scope=BotCommandScopeChat(chat))
            except TelegramError as exc:
                log.info("menus.not_cleared error=%s", type(exc).__name__)
                continue
            del self.published[chat]
            changed += 1
        if changed:
            log.info("menus.published chats=%d", changed)
        return changed
