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
    holder_id: str | None = None  # the coordinator working it
    claimed_at: datetime | None = None  # first claim (kept through unassign / take-over)
    contacted_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    verified_by: str | None = None  # person id of the coordinator who verified
    group_message_id: int | None = None  # the notification in the coordinators' group
    route: str = "self"  # how it came: "self" (more routes come with referrals on one's behalf)


@dataclass(frozen=True)
class ThreadEntry:
    id: int
    kind: str  # "note" | "to_referrer" | "from_referrer"
    author_id: str | None  # None once the author is erased (or for the referrer's own words)
    body: bytes
    at: datetime


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    recipient_id: str | None
    referral_id: str | None
    due_at: datetime
    created_at: datetime
    attempts: int
    state: str  # "pending" | "sent" | "failed" | "dropped" | "parked"
    sent_at: datetime | None
    telegram_message_id: int | None
    error: str | None
    slot: str | None = None  # which occurrence of a recurring message ("w0", "door")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor_id: str | None
    action: str
    reference: str | None
    detail: str


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None  # where the problem is (the first entry that fails)


@dataclass(frozen=True)
class Engagement:
    """A referral offered to (and perhaps taken up by) a peer supporter."""

    id: str
    referral_id: str
    supporter_id: str | None  # None once the supporter is erased
    offered_by: str | None
    status: str  # "offered" | "accepted" | "declined" | "withdrawn" | "ended"
    offered_at: datetime
    decided_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Session:
    id: int
    engagement_id: str
    starts_at: datetime
    created_by: str | None
    outcome: str | None  # "happened" | "missed" | "concern"
    logged_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
