"""A person's conversations in progress: one stack of dialog frames, stored as one sealed value.

Every multi-step conversation a person is in (their referral form, a survey, what a coordinator
is typing, a meeting being planned, a profile field being changed) is a frame: the dialog's
name, the version of its state's shape, and the dialog's own state. The whole stack is one row
per person (storage/dialogs.py), sealed under the person's key, read once per update.

A frame's ``data`` is the dialog's own serialised state; the dialog defines what is in it.

Frames are layered: the form and a survey at the bottom, what a member of staff is in the
middle of (a coordinator's case work, a meeting being planned, a profile field) above them, and
a short sub-dialog (the language being changed) on top, which returns the person to the frame
below when it ends (`push`, `pop`). Typed text is for the top frame. The release before this
one kept every member of staff's state in one "staff" frame, told apart by a prefix of its
``pending`` value; such a frame is converted to its own frame when read (`_own_frame`).
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The dialogs that keep state between updates. Their names are stored: never rename one.
#: "staff" is only read (the release before this one): it is converted when loaded.
DialogName = Literal[
    "intake",
    "survey",
    "talk",
    "casework",
    "meeting",
    "profile",
    "applicant",
    "group",
    "language",
    "staff",
]

#: Which dialogs are a referral form in progress (what retention's `drafts_days` applies to).
FORMS: tuple[DialogName, ...] = ("intake",)
#: What a member of staff is in the middle of: one at a time (starting one ends the others).
STAFF: tuple[DialogName, ...] = ("casework", "meeting", "profile", "applicant", "group")
#: Sub-dialogs: pushed on top of whatever the person is in, popped back to it.
SUB: tuple[DialogName, ...] = ("language",)
#: The layer of each dialog: a new frame goes above every frame of its layer or a lower one.
#: Writing to one's supporter or person ("talk") sits with the form and a survey: the one opened
#: last gets typed text.
LAYER: dict[str, int] = {
    "intake": 0,
    "survey": 0,
    "talk": 0,
    **dict.fromkeys(STAFF, 1),
    "language": 2,
}


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    dialog: DialogName
    version: int = 1
    data: str


class DialogState(BaseModel):
    """The stack, bottom first. At most one frame per dialog."""

    model_config = ConfigDict(extra="ignore")

    frames: list[Frame] = Field(default_factory=list)

    @model_validator(mode="after")
    def _upgraded(self) -> DialogState:
        """The older release's "staff" frame, as the frame of its own dialog."""
        legacy = [f for f in self.frames if f.dialog == "staff"]
        for old in legacy:
            self.frames = [f for f in self.frames if f is not old]
            dialog, data = _own_frame(old.data)
            if self.get(dialog) is None:
                self.put(dialog, data)
        return self

    def get(self, dialog: DialogName) -> Frame | None:
        return next((f for f in self.frames if f.dialog == dialog), None)

    def put(self, dialog: DialogName, data: str | None, version: int = 1) -> None:
        """Set a dialog's state, or end it with None. A new frame goes on top of its layer
        (`LAYER`); a member of staff's frame ends their other one (`STAFF`)."""
        kept = [f for f in self.frames if f.dialog != dialog]
        if data is None:
            self.frames = kept
            return
        frame = Frame(dialog=dialog, version=version, data=data)
        if self.get(dialog) is not None:
            self.frames = [frame if f.dialog == dialog else f for f in self.frames]
            return
        if dialog in STAFF:
            kept = [f for f in kept if f.dialog not in STAFF]
        layer = LAYER.get(dialog, 0)
        at = max((i + 1 for i, f in enumerate(kept) if LAYER.get(f.dialog, 0) <= layer), default=0)
        self.frames = [*kept[:at], frame, *kept[at:]]

    def push(self, dialog: DialogName, data: str, version: int = 1) -> None:
        """Start a sub-dialog on top of the stack (one that was there starts again)."""
        if dialog not in SUB:
            raise ValueError(f"{dialog} is not a sub-dialog: put it, do not push it")
        self.frames = [*(f for f in self.frames if f.dialog != dialog)]
        self.frames.append(Frame(dialog=dialog, version=version, data=data))

    def pop(self, dialog: DialogName) -> Frame | None:
        """End the sub-dialog `dialog`: the frame below it is the top again. Returns the
        frame now on top (where the person was), None if nothing is left."""
        self.frames = [f for f in self.frames if f.dialog != dialog]
        return self.top

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


def _own_frame(data: str) -> tuple[DialogName, str]:
    """Which dialog an older "staff" frame was, from its ``pending`` prefix, and its data in
    that dialog's shape: ``session:...`` a meeting being planned (the same data),
    ``profile:<field>`` a profile field asked (now ``{"asking": field}``), anything else a
    coordinator's case work (the same data)."""
    try:
        found = json.loads(data)
        pending = str(found.get("pending", "")) if isinstance(found, dict) else ""
    except ValueError:
        pending = ""
    if pending.startswith("session:"):
        return "meeting", data
    if pending.startswith("profile:"):
        return "profile", json.dumps({"asking": pending.removeprefix("profile:")})
    return "casework", data
