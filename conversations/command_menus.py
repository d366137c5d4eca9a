"""The bot's command menus per role (Telegram's "/" menu): what each kind of user sees.

Everyone gets the person's menu (``screens.command_menu``) plus /talk (a matched person writes
to their supporter there). A supporter's private chat also lists their own commands; a
coordinator's lists the casework commands. The adapter (bot/telegram/menus.py) publishes the
default menu for everyone and a chat's own menu to each supporter and coordinator. Pure.
"""

from __future__ import annotations

from typing import Literal

from conversations import screens
from conversations.i18n import Translate

Role = Literal["supporter", "coordinator"]


def for_everyone(_: Translate) -> list[tuple[str, str]]:
    return [*screens.command_menu(_), ("talk", _("Messages with your supporter"))]


def for_supporter(_: Translate) -> list[tuple[str, str]]:
    return [
        ("talk", _("Messages with the people you support")),
        ("sessions", _("Your meetings: plan and log them")),
        ("profile", _("Your supporter profile")),
        ("help", _("How this chat works")),
        ("language", _("Change the language")),
        ("mydata", _("A copy of what we hold about you")),
    ]


def for_coordinator(_: Translate) -> list[tuple[str, str]]:
    return [
        ("queue", _("Referrals waiting")),
        ("mine", _("Referrals you hold")),
        ("referral", _("One referral: /referral PD-…")),
        ("assess", _("The initial assessment: /assess PD-…")),
        ("newreferral", _("Take a referral by phone")),
        ("persondata", _("A person's data, on request: /persondata PD-…")),
        ("erase", _("Erase a person, on request: /erase PD-…")),
        ("talk", _("Read messages, where allowed: /talk PD-…")),
        ("feedback", _("How it is going, per supporter")),
        ("applicants", _("People who want to volunteer")),
        ("invite", _("Invite a supporter or coordinator")),
        ("sessions", _("Your meetings: plan and log them")),
        ("help", _("How this chat works")),
        ("language", _("Change the language")),
    ]


def for_role(role: Role, _: Translate) -> list[tuple[str, str]]:
    return for_coordinator(_) if role == "coordinator" else for_supporter(_)
