"""The object graph the handlers use, kept in the Application's bot_data."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from bot.services.casework import CaseworkFlow
from bot.services.checkins import CheckinsFlow
from bot.services.groups import GroupsFlow
from bot.services.intake import IntakeFlow
from bot.services.sessions import SessionsFlow
from bot.services.supporting import SupportFlow
from bot.services.surveys import SurveyFlow
from conversations.intake import Intake
from storage import Store

KEY = "peerdoor"


@dataclass
class Services:
    store: Store
    intake: Intake
    flow: IntakeFlow
    casework: CaseworkFlow
    checkins: CheckinsFlow | None = None
    surveys: SurveyFlow | None = None
    sessions: SessionsFlow | None = None
    support: SupportFlow | None = None
    groups: GroupsFlow | None = None


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found = context.application.bot_data[KEY]
    assert isinstance(found, Services)
    return found
