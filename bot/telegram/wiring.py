"""The object graph the handlers use, kept in the Application's bot_data."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from telegram.ext import ContextTypes

from bot.services.agreement import AgreementFlow
from bot.services.agreement_phone import PhoneAgreementFlow
from bot.services.applicants import ApplicantsFlow
from bot.services.assessment import AssessmentFlow
from bot.services.casework import CaseworkFlow
from bot.services.checkins import CheckinsFlow
from bot.services.groups import GroupsFlow
from bot.services.intake import IntakeFlow
from bot.services.pro_updates import ProUpdatesFlow
from bot.services.relationship_care import CareFlow
from bot.services.sessions import SessionsFlow
from bot.services.sub_dialogs import SubDialogFlow
from bot.services.supporting import SupportFlow
from bot.services.surveys import SurveyFlow
from bot.services.talk import TalkFlow
from conversations.intake import Intake
from storage import Store

KEY = "peerdoor"

#: Whether the update being handled was applied before (Telegram delivered it again): set by
#: the router's one claim (bot/telegram/router.py), read by the handlers that see repeats.
REPEATED: ContextVar[bool] = ContextVar("peerdoor_repeated", default=False)


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
    sub_dialogs: SubDialogFlow | None = None
    applicants: ApplicantsFlow | None = None
    talk: TalkFlow | None = None
    agreement: AgreementFlow | None = None
    agreement_phone: PhoneAgreementFlow | None = None
    pro_updates: ProUpdatesFlow | None = None
    care: CareFlow | None = None
    assessment: AssessmentFlow | None = None
    groups: GroupsFlow | None = None


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found = context.application.bot_data[KEY]
    assert isinstance(found, Services)
    return found
