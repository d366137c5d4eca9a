"""A person's conversations in progress: one stack of dialog frames, stored as one sealed value.

Every multi-step conversation a person is in (their referral form, a survey, what a coordinator
is typing, a meeting being planned, a profile field being changed) is a frame: the dialog's
name, the version of its state's shape, and the dialog's own state. The whole stack is one row
per person (storage/dialogs.py), sealed under the person's key, read once per update.

A frame's ``data`` is the dialog's own serialised state; the dialog defines what is in it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The dialogs that keep state between updates. Their names are stored: never rename one.
DialogName = Literal["intake", "survey", "staff", "talk"]

#: Which dialogs are a referral form in progress (what retention's `drafts_days` applies to).
FORMS: tuple[DialogName, ...] = ("intake",)


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    dialog: DialogName
    version: int = 1
    data: str


class DialogState(BaseModel):
    """The stack, bottom first. At most one frame per dialog."""

    model_config = ConfigDict(extra="ignore")

    frames: list[Frame] = Field(default_factory=list)

    def get(self, dialog: DialogName) -> Frame | None:
        return next((f for f in self.frames if f.dialog == dialog), None)

    def put(self, dialog: DialogName, data: str | None, version: int = 1) -> None:
        """Set a dialog's state (on top of the stack if it is new), or end it with None."""
        kept = [f for f in self.frames if f.dialog != dialog]
        if data is None:
            self.frames = kept
            return
        old = self.get(dialog)
        frame = Frame(dialog=dialog, version=version, data=data)
        if old is None:
            self.frames = [*kept, frame]
        else:
            self.frames = [frame if f.dialog == dialog else f for f in self.frames]

    @property
    def top(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    @property
    def has_form(self) -> bool:
        return any(f.dialog in FORMS for f in self.frames)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> DialogState:
        return cls.model_validate_json(raw)
