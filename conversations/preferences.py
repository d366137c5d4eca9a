"""A person's choices: language, consent per purpose, discretion, and a pause on messages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Purpose = Literal["referral", "checkins", "feedback"]

#: The choices a person makes at the end of the form. Consents are opt-in (never ticked for
#: them); discretion is on unless they turn it off.
CHOICES: tuple[str, ...] = ("checkins", "feedback", "discreet", "silent")
DEFAULT_CHOICES: dict[str, bool] = {
    "checkins": False,
    "feedback": False,
    "discreet": True,
    "silent": False,
}
#: What /privacy lets a person change: the choices, and reminders before meetings with a supporter
#: (offered once a meeting is planned, so not at the end of the form).
SETTINGS: tuple[str, ...] = (*CHOICES, "session_reminders")
PURPOSES: tuple[Purpose, ...] = ("referral", "checkins", "feedback")


class Consent(BaseModel):
    """Consent for one purpose: which privacy notice version was shown, and when."""

    model_config = ConfigDict(extra="ignore")

    given: bool
    version: str
    at: datetime
    #: How it was given, when not by the person in this chat: "professional" (their
    #: professional said they agreed), "phone" or "in_person" (told to a coordinator).
    how: str | None = None


class Preferences(BaseModel):
    """Stored sealed with the person's key. Private by default."""

    model_config = ConfigDict(extra="ignore")

    language: str | None = None
    consents: dict[str, Consent] = Field(default_factory=dict)
    discreet: bool = True  # first lines never hint at the service
    silent: bool = False  # notifications without sound
    paused_until: datetime | None = None  # no messages from us before then
    blocked: bool = False  # Telegram said they blocked the bot; cleared when they come back
    checkins_stopped_at: datetime | None = None  # /stop: offered to resume at the next /start
    session_reminders: bool = False  # a reminder before each meeting (needs "checkins")

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Preferences:
        return cls.model_validate_json(raw) if raw else cls()

    def agreed(self, purpose: Purpose) -> bool:
        consent = self.consents.get(purpose)
        return consent is not None and consent.given

    def record(self, purpose: Purpose, given: bool, version: str, at: datetime) -> None:
        self.consents[purpose] = Consent(given=given, version=version, at=at)

    def paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until
