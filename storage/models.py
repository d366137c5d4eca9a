"""Records handed to callers. Sensitive fields are not on them; ask the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Person:
    id: str
    created_at: datetime


@dataclass(frozen=True)
class Referral:
    id: str
    reference: str
    person_id: str
    status: str
    urgent: bool
    submitted_at: datetime
    updated_at: datetime
