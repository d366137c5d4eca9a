"""A seeded database for the report and export tests (not a test module).

Everything goes through the storage API, as the bot would write it: people, referrals sent in
different weeks, claims, contacts, status changes with their audit entries, funnel counts and
anonymous feedback counts.
Each referral's answers carry a canary, so a test can check that no answer reaches a report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config_file import load_config
from conversations.forms import ServiceConfig
from storage import KeyRing, Person, Store, Unit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "bot" / "example_config.toml"
CANARY = "CANARY-7Q4Z"

#: Monday 3 March 2025 (ISO 2025-W10), 09:00 UTC.
W10 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SINCE = date(2025, 3, 3)
UNTIL = date(2025, 3, 30)  # Sunday of 2025-W13

#: Hours from sending to claim, for the 12 claimed HIV referrals (in order of sending).
CLAIM_HOURS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 24.0, 36.0, 48.0]
#: Hours from sending to first contact, for the first 6 of them.
CONTACT_HOURS = [5.0, 10.0, 20.0, 30.0, 40.0, 50.0]
#: What happens to each claimed referral after contact/claim (index into the claimed ones).
FATES = {
    0: "matched",
    1: "matched",
    2: "matched+closed",
    3: "matched+closed",
    4: "matched",
    5: "contacted",
    6: "deferred",
    7: "deferred",
    8: "declined",
    9: "withdrawn",
    10: "claimed",
    11: "claimed",
}
#: Anonymous feedback counts of the HIV programme in the period (question -> answer -> count).
#: "helpful" is a 1-5 scale: average (3*1 + 4*3 + 5*6) / 10 = 4.5; its 3 and 4 are below 5.
FEEDBACK = {
    "helpful": {"3": 1, "4": 3, "5": 6},
    "listened": {"yes": 7, "mostly": 5, "no": 2},
    "recommend": {"yes": 9, "no": 1},
}
#: Before the period (January 2025): left out by --since.
EARLY_FEEDBACK = {"helpful": {"1": 4}}

#: The funnel of the HIV form in the period (question id -> how many reached it).
FUNNEL = {
    "start": 30,
    "name": 28,
    "contact_route": 26,
    "phone": 3,
    "call_times": 3,
    "voicemail_ok": 3,
    "age_band": 24,
    "area": 22,
    "clinic": 20,
    "medication": 19,
    "about_you": 18,
}


def answers_for(n: int) -> dict[str, Any]:
    """Answers to the HIV form, every free text carrying the canary."""
    return {
        "name": f"{CANARY} name {n}",
        "contact_route": "chat",
        "age_band": "25_34",
        "area": f"{CANARY} area {n}",
        "clinic": f"{CANARY} clinic {n}",
        "medication": None,
        "change": f"{CANARY} change {n}",
        "support_type": "one_to_one",
        "supporter_gender": "no_preference",
        "languages": ["en", "sv"],
        "availability": ["weekday_eve"],
        "setting": "online",
        "interests": f"{CANARY} interests {n}",
        "heard_from": "clinic",
    }


@dataclass
class Seeded:
    config: ServiceConfig
    references: list[str] = field(default_factory=list)
    #: What the report must say for HIV over [SINCE, UNTIL].
    weeks: dict[str, int] = field(default_factory=dict)


def week_plan() -> list[datetime]:
    """When the 16 HIV referrals of the period were sent: 7 in W10, 3 in W11, 0 in W12, 6 in
    W13 (so W11's 3 is suppressed and, to protect it from subtraction, W13's 6 is hidden too)."""
    times = [W10 + timedelta(hours=5 * i) for i in range(7)]
    times += [W10 + timedelta(days=7, hours=3 * i) for i in range(3)]
    times += [W10 + timedelta(days=21, hours=4 * i) for i in range(6)]
    return times


async def _referral(
    uow: Unit, person: Person, programme: str, answers: dict[str, Any], urgent: bool, at: datetime
) -> Any:
    raw = json.dumps(answers, ensure_ascii=False, sort_keys=True).encode()
    return await uow.referrals.create(person, programme, raw, urgent=urgent, now=at)


async def seed(path: Path, key: bytes) -> Seeded:
    """Seed the database at ``path``; returns what was written."""
    config = load_config(EXAMPLE_CONFIG)
    seeded = Seeded(config, weeks={"2025-W10": 7, "2025-W11": 3, "2025-W12": 0, "2025-W13": 6})
    store = await Store.open(path, KeyRing(key))
    try:
        async with store.unit() as uow:
            coordinator = await uow.people.create(900, W10 - timedelta(days=60))
            # Before the period: one HIV referral and funnel counts that --since leaves out.
            early = W10 - timedelta(days=40)
            old = await uow.people.create(100, early)
            await _referral(uow, old, "hiv", answers_for(99), False, early)
            await uow.funnel.reached("hiv", "start", early.date())
            # One diabetes referral in the period (its own section of the report).
            sugar = await uow.people.create(200, W10)
            await _referral(uow, sugar, "diabetes", {"name": f"{CANARY} d"}, False, W10)
            claimed = 0
            for n, at in enumerate(week_plan()):
                person = await uow.people.create(1000 + n, at)
                referral = await _referral(uow, person, "hiv", answers_for(n), n < 3, at)
                seeded.references.append(referral.reference)
                if n in (1, 8, 12, 15):  # four nobody has claimed yet
                    continue
                i = claimed
                claimed += 1
                claim_at = at + timedelta(hours=CLAIM_HOURS[i])
                assert await uow.referrals.claim(referral, coordinator, claim_at)
                await uow.audit.record(
                    coordinator, "claim", claim_at, reference=referral.reference
                )
                fate = FATES[i]
                later = claim_at + timedelta(hours=1)
                if i < len(CONTACT_HOURS):
                    contact_at = at + timedelta(hours=CONTACT_HOURS[i])
                    later = contact_at + timedelta(hours=1)
                    await uow.referrals.set_status(referral, "contacted", contact_at)
                    await uow.referrals.mark(referral, contacted_at=contact_at)
                    await uow.audit.record(
                        coordinator, "status:contacted", contact_at, reference=referral.reference
                    )
                if fate == "claimed" or fate == "contacted":
                    continue
                outcome = fate.split("+")[0]
                referral = await uow.referrals.set_status(referral, outcome, later)
                await uow.audit.record(
                    coordinator, f"status:{outcome}", later, reference=referral.reference
                )
                if fate.endswith("+closed"):
                    closed_at = later + timedelta(days=2)
                    await uow.referrals.set_status(referral, "closed", closed_at)
                    await uow.referrals.mark(referral, closed_at=closed_at)
                    await uow.audit.record(
                        coordinator, "status:closed", closed_at, reference=referral.reference
                    )
            for when, table in ((W10, FEEDBACK), (early, EARLY_FEEDBACK)):
                for question, answers in table.items():
                    for answer, count in answers.items():
                        for _ in range(count):
                            await uow.surveys.count("hiv", question, answer, when)
            day = SINCE
            for question, count in FUNNEL.items():
                for k in range(count):  # spread over two days of the period
                    await uow.funnel.reached("hiv", question, day + timedelta(days=k % 2))
    finally:
        await store.close()
    return seeded
