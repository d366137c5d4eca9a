"""Every purpose a questionnaire can have is handled, and every message to a referrer has a
task for the holder when the referrer has no Telegram (issue 13): registries, not scattered ifs."""

from __future__ import annotations

from typing import get_args

from bot.delivery.kinds import KINDS
from bot.services.submissions import HANDLERS
from conversations.forms import PURPOSES
from conversations.referring import Task


def test_every_purpose_has_a_handler_and_every_handler_a_purpose() -> None:
    assert set(PURPOSES) <= set(HANDLERS)
    # "phone" is a purpose only code gives a draft (a coordinator's /newreferral)
    assert set(HANDLERS) - set(PURPOSES) == {"phone"}


def test_every_message_to_a_referrer_becomes_a_task_when_they_have_no_telegram() -> None:
    to_referrer = [k for k in KINDS.values() if k.to == "referrer"]
    assert to_referrer
    for kind in to_referrer:
        assert kind.task in get_args(Task), f"{kind.name}: no task for someone without Telegram"
    assert all(k.task is None for k in KINDS.values() if k.to != "referrer")
